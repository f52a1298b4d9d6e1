/*
 * wasm_exports.c — the WebAssembly face of the reference (the seed's `wasm_exports`), for the
 * hosts of harness/impls/wasm (Node) and harness/impls/browser (a browser page's Worker).
 *
 * Compiled with every reference/src C file to wasm32-wasi (tools/build-wasm.sh). The host only passes
 * scalars and offsets into this module's memory:
 *
 *   host                         wasm memory
 *   gr_wasm_alloc(n) ──────────► buffer (model bytes copied in once, prompts, paths)
 *   gr_wasm_load_model(p, n) ──► ggufref_export_load_model (the runtime keeps its own copy)
 *   gr_wasm_generate(p, n) ────► ggufref_export_generate ──► on_token ──► import host_token
 *   gr_wasm_last_error() ──────► g_error (status, message) read by the host afterwards
 *
 * Copy-out results (diagnostics, result bytes, tokens) land in one host-readable buffer owned
 * here (gr_wasm_out_ptr / gr_wasm_out_len), valid until the next copy-out call. The token
 * callback hands the host the runtime's own views (token, piece, logits: R-RT-029, R-EXP-008),
 * valid only during the import call; the host may call gr_wasm_cancel from it (R-EXP-007).
 */
#include "ggufref.h"

#include <stdlib.h>
#include <string.h>

#define WASM_EXPORT(name) __attribute__((export_name(#name)))

/* The host's token callback (module "ggufref_host"): token id, piece view, logits view. */
__attribute__((import_module("ggufref_host"), import_name("token"))) void host_token(
    int32_t token, const char *piece, size_t len, const float *logits, uint32_t n_vocab);

static char *g_out;      /* the last copy-out: g_out[0..g_out_len) */
static size_t g_out_len;
static ggufref_error g_error;

WASM_EXPORT(gr_wasm_alloc) void *gr_wasm_alloc(size_t n) { return malloc(n == 0 ? 1 : n); }
WASM_EXPORT(gr_wasm_free) void gr_wasm_free(void *p) { free(p); }

static void on_token(int32_t token, const char *piece, size_t len, const float *logits,
                     uint32_t n_vocab, void *user) {
    (void)user;
    host_token(token, piece, len, logits, n_vocab);
}

WASM_EXPORT(gr_wasm_init) int gr_wasm_init(void) { return ggufref_export_init_runtime(); }

WASM_EXPORT(gr_wasm_load_model) int gr_wasm_load_model(const void *bytes, size_t len) {
    return ggufref_export_load_model(bytes, len);
}

/* Owned model bytes (R-RT-017): the host asks for room, fills it and gives it away, so the
 * model is in wasm memory once. gr_wasm_model_bytes returns the handle (0: out of memory);
 * gr_wasm_model_bytes_data its bytes; gr_wasm_load_model_owned consumes it in every case. */
WASM_EXPORT(gr_wasm_model_bytes) ggufref_model_bytes *gr_wasm_model_bytes(size_t len) {
    ggufref_model_bytes *m = NULL;
    return ggufref_model_bytes_create(len, &m) == GGUFREF_OK ? m : NULL;
}
WASM_EXPORT(gr_wasm_model_bytes_data) uint8_t *gr_wasm_model_bytes_data(ggufref_model_bytes *m) {
    return ggufref_model_bytes_data(m);
}
WASM_EXPORT(gr_wasm_load_model_owned) int gr_wasm_load_model_owned(ggufref_model_bytes *m) {
    return ggufref_export_load_model_owned(m);
}

/* Only for a file the host could not read: the runtime records the same IO failure a native
 * load would (the module has no preopened directories, so every open fails). */
WASM_EXPORT(gr_wasm_load_model_file) int gr_wasm_load_model_file(const char *path) {
    return ggufref_export_load_model_file(path);
}

/* Sampling settings from scalars; the seed as two 32-bit halves. */
WASM_EXPORT(gr_wasm_configure_sampling)
int gr_wasm_configure_sampling(float temperature, int32_t top_k, float top_p, float min_p,
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
    return ggufref_export_configure_sampling(&s);
}

WASM_EXPORT(gr_wasm_generate) int gr_wasm_generate(const char *prompt, size_t len) {
    return ggufref_export_generate(prompt, len, on_token, NULL);
}

WASM_EXPORT(gr_wasm_generate_next_token) int gr_wasm_generate_next_token(void) {
    return ggufref_export_generate_next_token(on_token, NULL);
}

/* The step budget (R-EXP-010..012): at most `budget` tokens now; gr_wasm_more() afterwards
 * tells whether the request can make more (then gr_wasm_generate_continue goes on). */
static bool g_more;
WASM_EXPORT(gr_wasm_generate_budget)
int gr_wasm_generate_budget(const char *prompt, size_t len, uint32_t budget) {
    return ggufref_export_generate_budget(prompt, len, budget, on_token, NULL, &g_more);
}
WASM_EXPORT(gr_wasm_generate_continue) int gr_wasm_generate_continue(uint32_t budget) {
    return ggufref_export_generate_continue(budget, on_token, NULL, &g_more);
}
WASM_EXPORT(gr_wasm_more) int gr_wasm_more(void) { return g_more ? 1 : 0; }

WASM_EXPORT(gr_wasm_cancel) int gr_wasm_cancel(void) { return ggufref_export_cancel(); }
WASM_EXPORT(gr_wasm_reset_context) int gr_wasm_reset_context(void) {
    return ggufref_export_reset_context();
}
WASM_EXPORT(gr_wasm_free_model) int gr_wasm_free_model(void) {
    return ggufref_export_free_model();
}

/* -1 when the state query fails (poisoned lock), else the ggufref_state number. */
WASM_EXPORT(gr_wasm_state) int gr_wasm_state(void) {
    ggufref_state st;
    return ggufref_export_state(&st) == GGUFREF_OK ? (int)st : -1;
}

WASM_EXPORT(gr_wasm_state_name) const char *gr_wasm_state_name(int st) {
    return ggufref_state_name((ggufref_state)st);
}
WASM_EXPORT(gr_wasm_status_name) const char *gr_wasm_status_name(int st) {
    return ggufref_status_name((ggufref_status)st);
}

/* Make room for n bytes of copy-out. false if out of memory. */
static bool out_reserve(size_t n) {
    char *p = realloc(g_out, n == 0 ? 1 : n);
    if (p == NULL) return false;
    g_out = p;
    return true;
}

WASM_EXPORT(gr_wasm_out_ptr) const char *gr_wasm_out_ptr(void) { return g_out; }
WASM_EXPORT(gr_wasm_out_len) size_t gr_wasm_out_len(void) { return g_out_len; }

/* The copy-out protocol of R-EXP-006: ask the length, reserve, copy. */
typedef int (*copy_fn)(char *buf, size_t cap, size_t *len);

static int copy_out(copy_fn fn) {
    size_t need = 0;
    g_out_len = 0;
    int st = fn(NULL, 0, &need);
    if (st != GGUFREF_OK && st != GGUFREF_ERR_LIMIT_EXCEEDED) return st;
    if (!out_reserve(need)) return GGUFREF_ERR_OUT_OF_MEMORY;
    return fn(g_out, need, &g_out_len);
}

WASM_EXPORT(gr_wasm_diagnostics) int gr_wasm_diagnostics(void) {
    return copy_out(ggufref_export_diagnostics);
}
WASM_EXPORT(gr_wasm_result) int gr_wasm_result(void) { return copy_out(ggufref_export_result); }

/* Tokens (prompt then generated) as int32 into the copy-out buffer; *n_prompt via gr_wasm_n_prompt. */
static size_t g_n_prompt;
WASM_EXPORT(gr_wasm_tokens) int gr_wasm_tokens(void) {
    size_t n = 0;
    g_out_len = 0;
    int st = ggufref_export_tokens(NULL, 0, &n, &g_n_prompt);
    if (st != GGUFREF_OK && st != GGUFREF_ERR_LIMIT_EXCEEDED) return st;
    if (!out_reserve(n * sizeof(int32_t))) return GGUFREF_ERR_OUT_OF_MEMORY;
    st = ggufref_export_tokens((int32_t *)(void *)g_out, n, &n, &g_n_prompt);
    if (st == GGUFREF_OK) g_out_len = n * sizeof(int32_t);
    return st;
}
WASM_EXPORT(gr_wasm_n_prompt) size_t gr_wasm_n_prompt(void) { return g_n_prompt; }

/* The last error (R-RT-008) into g_error; its fields through the getters below. */
WASM_EXPORT(gr_wasm_last_error) int gr_wasm_last_error(void) {
    memset(&g_error, 0, sizeof g_error);
    return ggufref_export_last_error(&g_error);
}
WASM_EXPORT(gr_wasm_error_status) int gr_wasm_error_status(void) { return (int)g_error.status; }
WASM_EXPORT(gr_wasm_error_message) const char *gr_wasm_error_message(void) {
    return g_error.message;
}

/* The state digest (R-RT-040) as two 32-bit halves: gr_wasm_digest_hi after gr_wasm_digest. */
static uint64_t g_digest;
WASM_EXPORT(gr_wasm_digest) int gr_wasm_digest(void) { return ggufref_export_digest(&g_digest); }
WASM_EXPORT(gr_wasm_digest_lo) uint32_t gr_wasm_digest_lo(void) { return (uint32_t)g_digest; }
WASM_EXPORT(gr_wasm_digest_hi) uint32_t gr_wasm_digest_hi(void) {
    return (uint32_t)(g_digest >> 32);
}
