/*
 * wasm_pool.c — one pool controller per WebAssembly instance (SPEC chapter 12, R-POOL-050),
 * for the pooled host harness/impls/wasm/pool.mjs.
 *
 * The host compiles the module once and instantiates it in N Workers; each instance is one
 * controller: its own linear memory holding the model (owned bytes, no second copy), a
 * ggufref_pool of one session over it (the library's own step and time ceilings, scrub on
 * release), and that session checked out for the controller's whole life. The host's permits,
 * FIFO waiters, idle list and drop-on-trap live in JavaScript (pool.mjs); in here there is no
 * waiting (wasm32-wasi has one thread).
 *
 *   host                           this instance
 *   gr_wasm_s_open(bytes, ...) ──► shared model (owned) ─► pool(1) ─► acquire ─► session
 *   gr_wasm_s_generate(p, n) ────► ggufref_session_generate ─► on_token ─► import host_token
 *   gr_wasm_s_release() ─────────► ggufref_pool_release (scrubbed, R-POOL-011) + acquire again
 *   gr_wasm_trap() ──────────────► `unreachable`: a real trap (fault-injection, R-POOL-050)
 *
 * The other gr_wasm_s_* exports are the session's versions of wasm_exports.c's, same
 * signatures, so the host's protocol core (core.mjs) drives a session like the export layer.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include "ggufref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WASM_EXPORT(name) __attribute__((export_name(#name)))

__attribute__((import_module("ggufref_host"), import_name("token"))) void host_token(
    int32_t token, const char *piece, size_t len, const float *logits, uint32_t n_vocab);

static ggufref_pool *g_pool;
static ggufref_session *g_sess;
static uint64_t g_session_bytes, g_model_bytes;
static ggufref_error g_err;      /* the last error of open (the load's message) */
static char *g_out;
static size_t g_out_len;
static size_t g_n_prompt;
static uint64_t g_digest;
static ggufref_error g_error;    /* gr_wasm_s_last_error's copy */

static void on_token(int32_t token, const char *piece, size_t len, const float *logits,
                     uint32_t n_vocab, void *user) {
    (void)user;
    host_token(token, piece, len, logits, n_vocab);
}

static uint64_t now_ns(void *user) {
    (void)user;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static ggufref_runtime *rt(void) { return ggufref_session_runtime(g_sess); }

/* The controller's model and session (once per instance). max_steps and max_exec_ms come as
 * doubles (integers below 2^53; 0: none). Consumes mb. On failure the status, and the message
 * through gr_wasm_s_open_message; nothing is left. */
WASM_EXPORT(gr_wasm_s_open)
int gr_wasm_s_open(ggufref_model_bytes *mb, uint32_t max_context, double max_steps,
                   double max_exec_ms) {
    memset(&g_err, 0, sizeof g_err);
    if (g_pool != NULL) {
        ggufref_model_bytes_destroy(mb);
        return GGUFREF_ERR_INVALID_STATE;
    }
    ggufref_shared_model *m = NULL;
    ggufref_status st = ggufref_shared_model_open_owned(mb, &m, &g_err);
    if (st != GGUFREF_OK) return st;
    ggufref_model_info info;
    ggufref_model_get_info(ggufref_shared_model_model(m), &info);
    ggufref_pool_limits server, model, lim;
    ggufref_pool_limits_default(&server);
    server.max_steps = (uint64_t)max_steps;
    server.max_exec_ns = (uint64_t)max_exec_ms * 1000000u;
    server.max_context = max_context;
    ggufref_pool_limits_default(&model);
    model.max_context = info.n_ctx_train; /* the model's own setting (R-POOL-024) */
    ggufref_pool_limits_combine(&server, &model, &lim);
    lim.max_sessions = 1;
    st = ggufref_pool_create(m, &lim, &g_pool, &g_err);
    g_model_bytes = ggufref_shared_model_size(m);
    if (st == GGUFREF_OK) {
        (void)ggufref_runtime_session_bytes(m, lim.max_context, &g_session_bytes);
    }
    ggufref_shared_model_release(m); /* the pool holds its own reference */
    if (st != GGUFREF_OK) return st;
    ggufref_pool_set_clock(g_pool, now_ns, NULL);
    st = ggufref_pool_acquire(g_pool, 0, &g_sess);
    if (st != GGUFREF_OK) {
        (void)ggufref_pool_destroy(g_pool);
        g_pool = NULL;
        snprintf(g_err.message, sizeof g_err.message, "cannot make the session: %s",
                 ggufref_status_name(st));
    }
    return st;
}
WASM_EXPORT(gr_wasm_s_open_message) const char *gr_wasm_s_open_message(void) {
    return g_err.message;
}
/* R-POOL-020's accounting of this controller: its model bytes and its session's bytes. */
WASM_EXPORT(gr_wasm_s_model_bytes) double gr_wasm_s_model_bytes(void) {
    return (double)g_model_bytes;
}
WASM_EXPORT(gr_wasm_s_session_bytes) double gr_wasm_s_session_bytes(void) {
    return (double)g_session_bytes;
}

/* Check the session in (scrubbed: R-POOL-011, allocates nothing) and out again for the next
 * holder. A poisoned session is never released: the host drops the whole instance. */
WASM_EXPORT(gr_wasm_s_release) int gr_wasm_s_release(void) {
    if (g_sess == NULL) return GGUFREF_ERR_INVALID_STATE;
    if (ggufref_runtime_state(rt()) == GGUFREF_STATE_POISONED) return GGUFREF_ERR_GENERATION_FAILED;
    ggufref_status st = ggufref_pool_release(g_pool, g_sess);
    g_sess = NULL;
    if (st == GGUFREF_OK) st = ggufref_pool_acquire(g_pool, 0, &g_sess);
    return st;
}

WASM_EXPORT(gr_wasm_s_configure_sampling)
int gr_wasm_s_configure_sampling(float temperature, int32_t top_k, float top_p, float min_p,
                                 float repeat_penalty, int32_t repeat_last_n, uint32_t seed_lo,
                                 uint32_t seed_hi, int32_t max_tokens, int32_t stop_at_eos) {
    ggufref_sampling s = {
        .temperature = temperature,
        .top_k = top_k,
        .top_p = top_p,
        .min_p = min_p,
        .repeat_penalty = repeat_penalty,
        .repeat_last_n = repeat_last_n,
        .seed = (uint64_t)seed_hi << 32 | seed_lo,
        .max_tokens = max_tokens,
        .stop_at_eos = stop_at_eos != 0,
    };
    return ggufref_runtime_configure_sampling(rt(), &s);
}

/* generate under the pool's step and time ceilings (R-POOL-021, R-POOL-022). */
WASM_EXPORT(gr_wasm_s_generate) int gr_wasm_s_generate(const char *prompt, size_t len) {
    return ggufref_session_generate(g_sess, prompt, len, on_token, NULL);
}
WASM_EXPORT(gr_wasm_s_generate_next_token) int gr_wasm_s_generate_next_token(void) {
    return ggufref_runtime_generate_next_token(rt(), on_token, NULL);
}
WASM_EXPORT(gr_wasm_s_cancel) int gr_wasm_s_cancel(void) {
    return ggufref_session_cancel(g_pool, g_sess);
}
WASM_EXPORT(gr_wasm_s_reset_context) int gr_wasm_s_reset_context(void) {
    return ggufref_runtime_reset_context(rt());
}
WASM_EXPORT(gr_wasm_s_state) int gr_wasm_s_state(void) { return (int)ggufref_runtime_state(rt()); }

static bool out_reserve(size_t n) {
    char *p = realloc(g_out, n == 0 ? 1 : n);
    if (p == NULL) return false;
    g_out = p;
    return true;
}
static int out_copy(const void *p, size_t n) {
    g_out_len = 0;
    if (!out_reserve(n)) return GGUFREF_ERR_OUT_OF_MEMORY;
    if (n > 0) memcpy(g_out, p, n);
    g_out_len = n;
    return GGUFREF_OK;
}
WASM_EXPORT(gr_wasm_s_out_ptr) const char *gr_wasm_s_out_ptr(void) { return g_out; }
WASM_EXPORT(gr_wasm_s_out_len) size_t gr_wasm_s_out_len(void) { return g_out_len; }

WASM_EXPORT(gr_wasm_s_diagnostics) int gr_wasm_s_diagnostics(void) {
    ggufref_str d = {NULL, 0};
    ggufref_status st = ggufref_runtime_diagnostics(rt(), &d);
    return st != GGUFREF_OK ? st : out_copy(d.ptr, d.len);
}
WASM_EXPORT(gr_wasm_s_result) int gr_wasm_s_result(void) {
    ggufref_str d = {NULL, 0};
    ggufref_status st = ggufref_runtime_result(rt(), &d);
    return st != GGUFREF_OK ? st : out_copy(d.ptr, d.len);
}
WASM_EXPORT(gr_wasm_s_tokens) int gr_wasm_s_tokens(void) {
    const int32_t *all = NULL;
    size_t n = 0;
    ggufref_runtime_tokens(rt(), &all, &n, &g_n_prompt);
    return out_copy(all, n * sizeof *all);
}
WASM_EXPORT(gr_wasm_s_n_prompt) size_t gr_wasm_s_n_prompt(void) { return g_n_prompt; }

WASM_EXPORT(gr_wasm_s_last_error) int gr_wasm_s_last_error(void) {
    memset(&g_error, 0, sizeof g_error);
    return ggufref_runtime_last_error(rt(), &g_error);
}
WASM_EXPORT(gr_wasm_s_error_status) int gr_wasm_s_error_status(void) { return (int)g_error.status; }
WASM_EXPORT(gr_wasm_s_error_message) const char *gr_wasm_s_error_message(void) {
    return g_error.message;
}
WASM_EXPORT(gr_wasm_s_digest) int gr_wasm_s_digest(void) {
    g_digest = ggufref_runtime_digest(rt());
    return GGUFREF_OK;
}
WASM_EXPORT(gr_wasm_s_digest_lo) uint32_t gr_wasm_s_digest_lo(void) { return (uint32_t)g_digest; }
WASM_EXPORT(gr_wasm_s_digest_hi) uint32_t gr_wasm_s_digest_hi(void) {
    return (uint32_t)(g_digest >> 32);
}

/* ---- fault injection (R-POOL-050): a real trap, and the panic hook of chapter 11 ---- */

/* Executes `unreachable`: the host sees a WebAssembly.RuntimeError in the middle of whatever
 * this instance was doing (called from the token import: inside a generate). */
WASM_EXPORT(gr_wasm_trap) void gr_wasm_trap(void) { __builtin_trap(); }

/* 1 in a fault-injection build (-DGGUFREF_FAULT_INJECTION: panic points can fire). */
WASM_EXPORT(gr_wasm_fault_build) int gr_wasm_fault_build(void) {
#ifdef GGUFREF_FAULT_INJECTION
    return 1;
#else
    return 0;
#endif
}
/* Arm panic point `point` (NULL or unknown: disarm), R-FAULT-003. */
WASM_EXPORT(gr_wasm_fault_panic) void gr_wasm_fault_panic(const char *point) {
    ggufref_fault_panic_at(point);
}
WASM_EXPORT(gr_wasm_fault_panic_fired) int gr_wasm_fault_panic_fired(void) {
    return ggufref_fault_panic_fired() ? 1 : 0;
}
WASM_EXPORT(gr_wasm_fault_point_count) size_t gr_wasm_fault_point_count(void) {
    return ggufref_fault_panic_point_count();
}
WASM_EXPORT(gr_wasm_fault_point_name) const char *gr_wasm_fault_point_name(size_t i) {
    return ggufref_fault_panic_point_name(i);
}
