/*
 * torture_budget.c — owned model bytes (SPEC R-RT-017) and the step budget (R-EXP-010,
 * R-EXP-011, R-EXP-012) on a handle and on the export layer: the native counterpart of
 * harness/impls/wasm/ownedcheck.mjs and budgetcheck.mjs.
 *
 * 1. Slices of 1, 2, 3, 7 tokens and a committed-only start give the tokens, callback logits
 *    (bit for bit), result bytes and digest of one generate; budget 0 commits and forwards
 *    nothing; a finished request makes nothing; wrong states are refused, changing nothing;
 *    a cancel inside or between slices ends the (next) slice and the request resumes; EOS.
 * 2. Owned load: the same status and digest as load_model of the same bytes, wrong sizes,
 *    transactional failure (R-RT-010), the bytes consumed in every case.
 * 3. Out of memory over the owned load and the budget generate: OUT_OF_MEMORY, digest
 *    unchanged, nothing leaked.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggufref.h"
#include "oom.h"
#include "rt_suite.h"

#define NEED_FIXTURES() RTS_NEED_FIXTURES(rts_g.skip)
#define MAX_REC 64

/* ------------------------------------------------------------------------------------- */
/* Helpers                                                                                */
/* ------------------------------------------------------------------------------------- */

/* What the token callback saw: ids and an FNV-1a 64 of each token's logits bytes (R-RT-029). */
typedef struct rec {
    int32_t tok[MAX_REC];
    uint64_t logits[MAX_REC];
    size_t n;
    size_t cancel_at; /* call ggufref_runtime_cancel(rt) on this call (1-based); 0: never */
    ggufref_runtime *rt;
    bool export_cancel;
    bool reenter;     /* call the exports re-entrantly (the lock is taken: 13) */
    int reenter_status[3];
} rec;

static uint64_t fnv(const void *p, size_t n) {
    const uint8_t *b = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static void on_token(int32_t token, const char *piece, size_t len, const float *logits,
                     uint32_t n_vocab, void *user) {
    (void)piece;
    (void)len;
    rec *r = user;
    if (r->n < MAX_REC) {
        r->tok[r->n] = token;
        r->logits[r->n] = fnv(logits, (size_t)n_vocab * sizeof *logits);
    }
    r->n++;
    if (r->cancel_at != 0 && r->n == r->cancel_at) {
        if (r->export_cancel) {
            assert_int_equal(ggufref_export_cancel(), GGUFREF_OK);
        } else {
            assert_int_equal(ggufref_runtime_cancel(r->rt), GGUFREF_OK);
        }
    }
    if (r->reenter) {
        r->reenter = false;
        /* R-RT-017: the bytes are consumed even when the lock is unavailable */
        ggufref_model_bytes *m;
        assert_int_equal(ggufref_model_bytes_create(16, &m), GGUFREF_OK);
        r->reenter_status[0] = ggufref_export_load_model_owned(m);
        bool more = true;
        r->reenter_status[1] = ggufref_export_generate_continue(1, NULL, NULL, &more);
        assert_false(more);
        more = true;
        r->reenter_status[2] = ggufref_export_generate_budget("a", 1, 1, NULL, NULL, &more);
        assert_false(more);
    }
}

static ggufref_runtime *new_runtime(void) {
    ggufref_runtime *rt;
    assert_int_equal(ggufref_runtime_create(&rt), GGUFREF_OK);
    return rt;
}

static void configure(ggufref_runtime *rt, int32_t max_tokens) {
    ggufref_sampling s;
    rts_small_sampling(&s, max_tokens);
    assert_int_equal(ggufref_runtime_configure_sampling(rt, &s), GGUFREF_OK);
}

static ggufref_runtime *ready_runtime(int32_t max_tokens) {
    ggufref_runtime *rt = new_runtime();
    assert_int_equal(ggufref_runtime_load_model(rt, rts_g.env.model, rts_g.env.model_len),
                     GGUFREF_OK);
    configure(rt, max_tokens);
    return rt;
}

/* Everything one request left: tokens, result bytes, digest, what the callback saw. */
typedef struct outcome {
    int32_t tokens[128];
    size_t n_tokens, n_prompt;
    char result[4096];
    size_t result_len;
    uint64_t digest;
    rec r;
} outcome;

static void capture(ggufref_runtime *rt, const rec *r, outcome *o) {
    const int32_t *t;
    ggufref_runtime_tokens(rt, &t, &o->n_tokens, &o->n_prompt);
    assert_true(o->n_tokens <= 128);
    memcpy(o->tokens, t, o->n_tokens * sizeof *t);
    ggufref_str s;
    assert_int_equal(ggufref_runtime_result(rt, &s), GGUFREF_OK);
    assert_true(s.len <= sizeof o->result);
    o->result_len = s.len;
    if (s.len > 0) memcpy(o->result, s.ptr, s.len);
    o->digest = ggufref_runtime_digest(rt);
    o->r = *r;
}

static void assert_same(const outcome *a, const outcome *b) {
    assert_int_equal(a->n_tokens, b->n_tokens);
    assert_int_equal(a->n_prompt, b->n_prompt);
    assert_memory_equal(a->tokens, b->tokens, a->n_tokens * sizeof a->tokens[0]);
    assert_int_equal(a->result_len, b->result_len);
    assert_memory_equal(a->result, b->result, a->result_len);
    assert_int_equal(a->r.n, b->r.n);
    assert_memory_equal(a->r.tok, b->r.tok, a->r.n * sizeof a->r.tok[0]);
    assert_memory_equal(a->r.logits, b->r.logits, a->r.n * sizeof a->r.logits[0]);
    assert_true(a->digest == b->digest);
}

static const char *diag_stop(ggufref_runtime *rt, char *buf, size_t cap) {
    ggufref_str d;
    assert_int_equal(ggufref_runtime_diagnostics(rt, &d), GGUFREF_OK);
    const char *key = "\"stop_reason\":\"";
    char *json = malloc(d.len + 1);
    assert_non_null(json);
    memcpy(json, d.ptr, d.len);
    json[d.len] = 0;
    const char *p = strstr(json, key);
    assert_non_null(p);
    p += strlen(key);
    size_t n = strcspn(p, "\"");
    assert_true(n < cap);
    memcpy(buf, p, n);
    buf[n] = 0;
    free(json);
    return buf;
}

/* The reference: one generate of RTS_PROMPT with max_tokens on a fresh ready runtime. */
static void one_generate(int32_t max_tokens, outcome *o) {
    ggufref_runtime *rt = ready_runtime(max_tokens);
    rec r = {0};
    assert_int_equal(ggufref_runtime_generate(rt, RTS_PROMPT, strlen(RTS_PROMPT), on_token, &r),
                     GGUFREF_OK);
    capture(rt, &r, o);
    ggufref_runtime_destroy(rt);
}

/* The same request in slices: first budget `first`, then `each` while more. */
static void sliced(int32_t max_tokens, uint32_t first, uint32_t each, outcome *o) {
    ggufref_runtime *rt = ready_runtime(max_tokens);
    rec r = {0};
    bool more = false;
    assert_int_equal(ggufref_runtime_generate_budget(rt, RTS_PROMPT, strlen(RTS_PROMPT), first,
                                                     on_token, &r, &more),
                     GGUFREF_OK);
    assert_int_equal(ggufref_runtime_state(rt), GGUFREF_STATE_CONTINUATION_READY);
    /* R-EXP-010: a slice that reports more made exactly its budget */
    if (more) assert_int_equal(r.n, first);
    size_t guard = 0;
    while (more) {
        size_t before = r.n;
        char stop[32];
        assert_string_equal(diag_stop(rt, stop, sizeof stop), "none"); /* R-EXP-010 */
        assert_int_equal(ggufref_runtime_generate_continue(rt, each, on_token, &r, &more),
                         GGUFREF_OK);
        assert_int_equal(ggufref_runtime_state(rt), GGUFREF_STATE_CONTINUATION_READY);
        if (more) assert_int_equal(r.n - before, each); /* R-EXP-011 */
        assert_true(++guard < 200);
    }
    capture(rt, &r, o);
    ggufref_runtime_destroy(rt);
}

/* ------------------------------------------------------------------------------------- */
/* 1. Step budget on a handle                                                             */
/* ------------------------------------------------------------------------------------- */

/* R-EXP-010, R-EXP-011: slices of 1, 2, 3, 7 (and longer than the request), and a
 * committed-only start, equal one generate: tokens, logits, result bytes, digest. */
static void test_budget_slices_equal_generate(void **state) {
    (void)state;
    NEED_FIXTURES();
    static outcome ref, got;
    one_generate(7, &ref);
    assert_int_equal(ref.n_tokens - ref.n_prompt, 7);
    const uint32_t sizes[][2] = {{1, 1}, {2, 2}, {3, 3}, {7, 1}, {100, 1}, {0, 3}, {0, 1}, {1, 7}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        memset(&got, 0, sizeof got);
        sliced(7, sizes[i][0], sizes[i][1], &got);
        assert_same(&ref, &got);
    }
}

/* R-EXP-010: budget 0 commits the request (previous request cleared, prompt tokens in),
 * forwards nothing and reports more; stop_reason none. */
static void test_budget_zero_commits(void **state) {
    (void)state;
    NEED_FIXTURES();
    ggufref_runtime *rt = ready_runtime(4);
    rec r = {0};
    assert_int_equal(ggufref_runtime_generate(rt, RTS_PROMPT, strlen(RTS_PROMPT), NULL, NULL),
                     GGUFREF_OK);
    bool more = false;
    assert_int_equal(ggufref_runtime_generate_budget(rt, "a", 1, 0, on_token, &r, &more),
                     GGUFREF_OK);
    assert_true(more);
    assert_int_equal(r.n, 0);
    size_t n, np;
    ggufref_runtime_tokens(rt, NULL, &n, &np);
    assert_int_equal(n, np);
    ggufref_str s;
    assert_int_equal(ggufref_runtime_result(rt, &s), GGUFREF_OK);
    assert_int_equal(s.len, 0);
    assert_int_equal(ggufref_runtime_state(rt), GGUFREF_STATE_CONTINUATION_READY);
    char stop[32];
    assert_string_equal(diag_stop(rt, stop, sizeof stop), "none");
    /* budget 0 on continue: OK, nothing made, more still true, nothing changed */
    uint64_t d = ggufref_runtime_digest(rt);
    assert_int_equal(ggufref_runtime_generate_continue(rt, 0, on_token, &r, &more), GGUFREF_OK);
    assert_true(more);
    assert_int_equal(r.n, 0);
    assert_true(ggufref_runtime_digest(rt) == d);
    /* more may be NULL */
    assert_int_equal(ggufref_runtime_generate_continue(rt, 2, NULL, NULL, NULL), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_generate_budget(rt, "a", 1, 1, NULL, NULL, NULL),
                     GGUFREF_OK);
    ggufref_runtime_destroy(rt);
}

/* R-EXP-010, R-EXP-011, R-EXP-012: continue until max_tokens; a budget covering the request
 * reports no more; a finished request: OK, no token, nothing changed; stop_reason max_tokens. */
static void test_continue_until_max_then_finished(void **state) {
    (void)state;
    NEED_FIXTURES();
    ggufref_runtime *rt = ready_runtime(3);
    rec r = {0};
    bool more = true;
    /* a budget of exactly max_tokens: the whole request, no more */
    assert_int_equal(ggufref_runtime_generate_budget(rt, RTS_PROMPT, strlen(RTS_PROMPT), 3,
                                                     on_token, &r, &more),
                     GGUFREF_OK);
    assert_false(more);
    assert_int_equal(r.n, 3);
    char stop[32];
    assert_string_equal(diag_stop(rt, stop, sizeof stop), "max_tokens");
    uint64_t d = ggufref_runtime_digest(rt);
    more = true;
    assert_int_equal(ggufref_runtime_generate_continue(rt, 5, on_token, &r, &more), GGUFREF_OK);
    assert_false(more);
    assert_int_equal(r.n, 3);
    assert_true(ggufref_runtime_digest(rt) == d);
    assert_int_equal(ggufref_runtime_state(rt), GGUFREF_STATE_CONTINUATION_READY);
    assert_string_equal(diag_stop(rt, stop, sizeof stop), "max_tokens");

    /* slices: 2 then a continue of 5 that stops at max_tokens after 1 */
    memset(&r, 0, sizeof r);
    assert_int_equal(ggufref_runtime_generate_budget(rt, RTS_PROMPT, strlen(RTS_PROMPT), 2,
                                                     on_token, &r, &more),
                     GGUFREF_OK);
    assert_true(more);
    assert_int_equal(ggufref_runtime_generate_continue(rt, 5, on_token, &r, &more), GGUFREF_OK);
    assert_false(more);
    assert_int_equal(r.n, 3);
    assert_string_equal(diag_stop(rt, stop, sizeof stop), "max_tokens");
    ggufref_runtime_destroy(rt);
}

static void expect_refused(ggufref_runtime *rt, ggufref_status want, ggufref_state st) {
    uint64_t d = ggufref_runtime_digest(rt);
    bool more = true;
    rec r = {0};
    assert_int_equal(ggufref_runtime_generate_continue(rt, 3, on_token, &r, &more), want);
    assert_false(more);
    assert_int_equal(r.n, 0);
    assert_int_equal(ggufref_runtime_state(rt), st);
    assert_true(ggufref_runtime_digest(rt) == d);
    ggufref_error e;
    assert_int_equal(ggufref_runtime_last_error(rt, &e), GGUFREF_OK);
    assert_int_equal(e.status, want);
}

/* R-EXP-012: outside CONTINUATION_READY continue is refused as generate_next_token is
 * (MODEL_NOT_LOADED without a model, else INVALID_STATE), changing nothing. */
static void test_continue_wrong_state(void **state) {
    (void)state;
    NEED_FIXTURES();
    ggufref_runtime *rt = new_runtime();
    /* UNINITIALIZED: lazy init, then no model */
    expect_refused(rt, GGUFREF_ERR_MODEL_NOT_LOADED, GGUFREF_STATE_INITIALIZED);
    expect_refused(rt, GGUFREF_ERR_MODEL_NOT_LOADED, GGUFREF_STATE_INITIALIZED);
    assert_int_equal(ggufref_runtime_load_model(rt, rts_g.env.model, rts_g.env.model_len),
                     GGUFREF_OK);
    configure(rt, 3);
    expect_refused(rt, GGUFREF_ERR_INVALID_STATE, GGUFREF_STATE_READY);
    /* RECOVERABLE_ERROR with the model resident ends the request */
    assert_int_equal(ggufref_runtime_generate(rt, RTS_PROMPT, strlen(RTS_PROMPT), NULL, NULL),
                     GGUFREF_OK);
    assert_int_equal(ggufref_runtime_load_model(rt, rts_bad_magic, sizeof rts_bad_magic),
                     GGUFREF_ERR_BAD_MAGIC);
    expect_refused(rt, GGUFREF_ERR_INVALID_STATE, GGUFREF_STATE_RECOVERABLE_ERROR);
    /* READY after reset_context */
    assert_int_equal(ggufref_runtime_reset_context(rt), GGUFREF_OK);
    expect_refused(rt, GGUFREF_ERR_INVALID_STATE, GGUFREF_STATE_READY);
    /* FREED: MODEL_NOT_LOADED wins */
    assert_int_equal(ggufref_runtime_free_model(rt), GGUFREF_OK);
    expect_refused(rt, GGUFREF_ERR_MODEL_NOT_LOADED, GGUFREF_STATE_FREED);
    /* budget generate without a model: generate's MODEL_NOT_LOADED, more false */
    bool more = true;
    assert_int_equal(ggufref_runtime_generate_budget(rt, "a", 1, 1, NULL, NULL, &more),
                     GGUFREF_ERR_MODEL_NOT_LOADED);
    assert_false(more);
    ggufref_runtime_destroy(rt);
    /* NULL handle */
    more = true;
    assert_int_equal(ggufref_runtime_generate_continue(NULL, 1, NULL, NULL, &more),
                     GGUFREF_ERR_INVALID_ARGUMENT);
    assert_false(more);
}

/* R-EXP-010: the budget generate keeps generate's checks: context overflow and a NULL prompt
 * are rejected before anything changes (more false). */
static void test_budget_checks_as_generate(void **state) {
    (void)state;
    NEED_FIXTURES();
    ggufref_runtime *rt = ready_runtime(3);
    assert_int_equal(ggufref_runtime_generate(rt, RTS_PROMPT, strlen(RTS_PROMPT), NULL, NULL),
                     GGUFREF_OK);
    uint64_t d = ggufref_runtime_digest(rt);
    bool more = true;
    assert_int_equal(ggufref_runtime_generate_budget(rt, rts_g.env.long_prompt,
                                                     rts_g.env.long_len, 1, NULL, NULL, &more),
                     GGUFREF_ERR_CONTEXT_OVERFLOW);
    assert_false(more);
    assert_true(ggufref_runtime_digest(rt) == d);
    assert_int_equal(ggufref_runtime_state(rt), GGUFREF_STATE_RECOVERABLE_ERROR);
    more = true;
    assert_int_equal(ggufref_runtime_generate_budget(rt, NULL, 3, 1, NULL, NULL, &more),
                     GGUFREF_ERR_INVALID_ARGUMENT);
    assert_false(more);
    assert_true(ggufref_runtime_digest(rt) == d);
    ggufref_runtime_destroy(rt);
}

/* R-EXP-012: a cancel between two slices ends the next one before its first token with
 * CANCELLED in CONTINUATION_READY, tokens kept; it consumes the flag, so the next continue
 * resumes and the whole request equals one generate. A cancel inside a slice likewise. */
static void test_cancel_between_and_inside_slices(void **state) {
    (void)state;
    NEED_FIXTURES();
    static outcome ref, got;
    one_generate(6, &ref);

    ggufref_runtime *rt = ready_runtime(6);
    rec r = {0};
    bool more = false;
    assert_int_equal(ggufref_runtime_generate_budget(rt, RTS_PROMPT, strlen(RTS_PROMPT), 2,
                                                     on_token, &r, &more),
                     GGUFREF_OK);
    assert_true(more);
    assert_int_equal(ggufref_runtime_cancel(rt), GGUFREF_OK);
    size_t n_before;
    ggufref_runtime_tokens(rt, NULL, &n_before, NULL);
    more = true;
    assert_int_equal(ggufref_runtime_generate_continue(rt, 2, on_token, &r, &more),
                     GGUFREF_ERR_CANCELLED);
    assert_false(more);
    assert_int_equal(r.n, 2);
    size_t n_after;
    ggufref_runtime_tokens(rt, NULL, &n_after, NULL);
    assert_int_equal(n_after, n_before);
    assert_int_equal(ggufref_runtime_state(rt), GGUFREF_STATE_CONTINUATION_READY);
    ggufref_error e;
    assert_int_equal(ggufref_runtime_last_error(rt, &e), GGUFREF_OK);
    assert_int_equal(e.status, GGUFREF_ERR_CANCELLED);
    assert_non_null(strstr(e.message, "after 2 tokens"));
    char stop[32];
    assert_string_equal(diag_stop(rt, stop, sizeof stop), "cancelled");
    /* the flag is consumed: the next continue resumes; a cancel inside it (on its 2nd token,
     * the request's 4th) ends it before the 3rd */
    r.cancel_at = 4;
    r.rt = rt;
    assert_int_equal(ggufref_runtime_generate_continue(rt, 3, on_token, &r, &more),
                     GGUFREF_ERR_CANCELLED);
    assert_int_equal(r.n, 4);
    assert_int_equal(ggufref_runtime_last_error(rt, &e), GGUFREF_OK);
    assert_non_null(strstr(e.message, "after 4 tokens"));
    r.cancel_at = 0;
    while (true) {
        assert_int_equal(ggufref_runtime_generate_continue(rt, 1, on_token, &r, &more),
                         GGUFREF_OK);
        if (!more) break;
    }
    /* the digest counts the request, not how it was sliced or cancelled */
    capture(rt, &r, &got);
    assert_same(&ref, &got);
    ggufref_runtime_destroy(rt);
}

/* R-EXP-011, R-RT-006: a step that fails inside a continue (every embedding but BOS is NaN)
 * fails as generate_next_token's does: GENERATION_FAILED, RECOVERABLE_ERROR, no token kept,
 * and the request cannot be continued (tokens kept). Default sampling (stop_at_eos) with budget 0: the open
 * request has made no token, so it is not at EOS. */
static void test_continue_step_fails(void **state) {
    (void)state;
    NEED_FIXTURES();
    ggufref_runtime *rt = new_runtime();
    assert_int_equal(ggufref_runtime_load_model(rt, rts_g.env.nan_model, rts_g.env.nan_len),
                     GGUFREF_OK);
    ggufref_sampling s;
    rts_small_sampling(&s, 3);
    s.stop_at_eos = true;
    assert_int_equal(ggufref_runtime_configure_sampling(rt, &s), GGUFREF_OK);
    bool more = false;
    assert_int_equal(ggufref_runtime_generate_budget(rt, RTS_PROMPT, strlen(RTS_PROMPT), 0, NULL,
                                                     NULL, &more),
                     GGUFREF_OK);
    assert_true(more);
    size_t n0, n1;
    ggufref_runtime_tokens(rt, NULL, &n0, NULL);
    rec r = {0};
    more = true;
    assert_int_equal(ggufref_runtime_generate_continue(rt, 2, on_token, &r, &more),
                     GGUFREF_ERR_GENERATION_FAILED);
    assert_false(more);
    assert_int_equal(r.n, 0);
    assert_int_equal(ggufref_runtime_state(rt), GGUFREF_STATE_RECOVERABLE_ERROR);
    ggufref_runtime_tokens(rt, NULL, &n1, NULL);
    assert_int_equal(n1, n0); /* (the digest: as a failed step of torture_runtime, not compared) */
    expect_refused(rt, GGUFREF_ERR_INVALID_STATE, GGUFREF_STATE_RECOVERABLE_ERROR);
    ggufref_runtime_destroy(rt);
}

/* The micro model (8 tokens, EOS 2, n_ctx 32) sampled at temperature 1: the first seed whose
 * request of up to 20 tokens ends at EOS before max_tokens. OUT: *seed, *n_gen. */
static bool find_eos_seed(const uint8_t *model, size_t len, uint64_t *seed, size_t *n_gen) {
    for (uint64_t s = 1; s < 200; s++) {
        ggufref_runtime *rt = new_runtime();
        assert_int_equal(ggufref_runtime_load_model(rt, model, len), GGUFREF_OK);
        ggufref_sampling sm;
        rts_small_sampling(&sm, 20);
        sm.temperature = 1.0f;
        sm.seed = s;
        sm.stop_at_eos = true;
        assert_int_equal(ggufref_runtime_configure_sampling(rt, &sm), GGUFREF_OK);
        assert_int_equal(ggufref_runtime_generate(rt, "a", 1, NULL, NULL), GGUFREF_OK);
        size_t n, np;
        const int32_t *t;
        ggufref_runtime_tokens(rt, &t, &n, &np);
        bool eos = n - np >= 2 && n - np < 20 && t[n - 1] == 2;
        ggufref_runtime_destroy(rt);
        if (eos) {
            *seed = s;
            *n_gen = n - np;
            return true;
        }
    }
    return false;
}

static ggufref_runtime *eos_runtime(const uint8_t *model, size_t len, uint64_t seed) {
    ggufref_runtime *rt = new_runtime();
    assert_int_equal(ggufref_runtime_load_model(rt, model, len), GGUFREF_OK);
    ggufref_sampling sm;
    rts_small_sampling(&sm, 20);
    sm.temperature = 1.0f;
    sm.seed = seed;
    sm.stop_at_eos = true;
    assert_int_equal(ggufref_runtime_configure_sampling(rt, &sm), GGUFREF_OK);
    return rt;
}

/* R-EXP-010, R-EXP-011: a request that ends at EOS (stop_at_eos): slices of 1 and 2 stop at
 * the EOS as one generate does (more false, stop_reason eos), a budget covering the EOS
 * reports no more, and a continue after it makes nothing. */
static void test_budget_eos(void **state) {
    (void)state;
    size_t len;
    uint8_t *model = rts_micro_model(&len);
    uint64_t seed = 0;
    size_t n_gen = 0;
    assert_true(find_eos_seed(model, len, &seed, &n_gen));
    static outcome ref, got;
    ggufref_runtime *rt = eos_runtime(model, len, seed);
    rec r = {0};
    assert_int_equal(ggufref_runtime_generate(rt, "a", 1, on_token, &r), GGUFREF_OK);
    capture(rt, &r, &ref);
    ggufref_runtime_destroy(rt);
    for (uint32_t each = 1; each <= 3; each++) {
        rt = eos_runtime(model, len, seed);
        memset(&r, 0, sizeof r);
        bool more = false;
        assert_int_equal(ggufref_runtime_generate_budget(rt, "a", 1, each, on_token, &r, &more),
                         GGUFREF_OK);
        while (more) {
            assert_int_equal(ggufref_runtime_generate_continue(rt, each, on_token, &r, &more),
                             GGUFREF_OK);
        }
        char stop[32];
        assert_string_equal(diag_stop(rt, stop, sizeof stop), "eos");
        capture(rt, &r, &got);
        assert_same(&ref, &got);
        /* finished at EOS: OK, nothing made, nothing changed */
        more = true;
        assert_int_equal(ggufref_runtime_generate_continue(rt, 4, on_token, &r, &more),
                         GGUFREF_OK);
        assert_false(more);
        assert_int_equal(r.n, n_gen);
        assert_true(ggufref_runtime_digest(rt) == ref.digest);
        ggufref_runtime_destroy(rt);
    }
    /* a budget that covers the EOS: the first slice already reports no more */
    rt = eos_runtime(model, len, seed);
    bool more = true;
    assert_int_equal(ggufref_runtime_generate_budget(rt, "a", 1, (uint32_t)n_gen + 1, NULL, NULL,
                                                     &more),
                     GGUFREF_OK);
    assert_false(more);
    assert_true(ggufref_runtime_digest(rt) == ref.digest);
    ggufref_runtime_destroy(rt);
    free(model);
}

/* ------------------------------------------------------------------------------------- */
/* 2. Owned model bytes (R-RT-017)                                                        */
/* ------------------------------------------------------------------------------------- */

static ggufref_model_bytes *owned_copy(const void *bytes, size_t len) {
    ggufref_model_bytes *m = NULL;
    assert_int_equal(ggufref_model_bytes_create(len, &m), GGUFREF_OK);
    assert_non_null(m);
    uint8_t *d = ggufref_model_bytes_data(m);
    assert_non_null(d);
    if (len > 0) memcpy(d, bytes, len);
    return m;
}

/* R-RT-017: create/data/destroy; an owned load equals load_model of the same bytes (status,
 * state, digest); NULL arguments are rejected and the bytes consumed. */
static void test_owned_load_equals_load(void **state) {
    (void)state;
    NEED_FIXTURES();
    int64_t live = ggufref_fault_alloc_live();
    assert_int_equal(ggufref_model_bytes_create(8, NULL), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_null(ggufref_model_bytes_data(NULL));
    ggufref_model_bytes_destroy(NULL);
    ggufref_model_bytes *m = (ggufref_model_bytes *)1;
    assert_int_equal(ggufref_model_bytes_create(SIZE_MAX, &m), GGUFREF_ERR_OUT_OF_MEMORY);
    assert_null(m);
    /* R-RT-014: placed as the runtime's own copy: at least 64-byte aligned */
    m = owned_copy(rts_g.env.model, rts_g.env.model_len);
    assert_int_equal((uintptr_t)ggufref_model_bytes_data(m) % 64, 0);
    ggufref_model_bytes_destroy(m);
    assert_int_equal(ggufref_fault_alloc_live(), live);

    ggufref_runtime *a = new_runtime(), *b = new_runtime();
    assert_int_equal(ggufref_runtime_load_model(a, rts_g.env.model, rts_g.env.model_len),
                     GGUFREF_OK);
    assert_int_equal(ggufref_runtime_load_model_owned(
                         b, owned_copy(rts_g.env.model, rts_g.env.model_len)),
                     GGUFREF_OK);
    assert_int_equal(ggufref_runtime_state(b), GGUFREF_STATE_READY);
    assert_true(ggufref_runtime_digest(a) == ggufref_runtime_digest(b));
    configure(a, 3);
    configure(b, 3);
    assert_int_equal(ggufref_runtime_generate(a, RTS_PROMPT, strlen(RTS_PROMPT), NULL, NULL),
                     GGUFREF_OK);
    assert_int_equal(ggufref_runtime_generate(b, RTS_PROMPT, strlen(RTS_PROMPT), NULL, NULL),
                     GGUFREF_OK);
    assert_true(ggufref_runtime_digest(a) == ggufref_runtime_digest(b));
    /* NULL bytes: INVALID_ARGUMENT, state RECOVERABLE_ERROR, nothing changed */
    uint64_t d = ggufref_runtime_digest(b);
    assert_int_equal(ggufref_runtime_load_model_owned(b, NULL), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_runtime_state(b), GGUFREF_STATE_RECOVERABLE_ERROR);
    assert_true(ggufref_runtime_digest(b) == d);
    ggufref_runtime_destroy(a);
    ggufref_runtime_destroy(b);
    /* NULL runtime: refused, the bytes consumed (no leak) */
    assert_int_equal(ggufref_runtime_load_model_owned(
                         NULL, owned_copy(rts_g.env.model, rts_g.env.model_len)),
                     GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_fault_alloc_live(), live);
}

/* R-RT-017, R-RT-010: wrong sizes (truncated, trailing bytes, empty, bad magic) give
 * load_model's status and message for the same bytes; a failed owned load leaves the resident
 * model and request (digest) unchanged, frees the bytes, and moves to RECOVERABLE_ERROR. */
static void test_owned_load_failures_transactional(void **state) {
    (void)state;
    NEED_FIXTURES();
    size_t len = rts_g.env.model_len;
    uint8_t *padded = calloc(len + 64, 1);
    assert_non_null(padded);
    memcpy(padded, rts_g.env.model, len);
    const struct { const uint8_t *p; size_t n; } cases[] = {
        {rts_g.env.model, len - 1}, {rts_g.env.model, len / 2}, {rts_g.env.model, 7},
        {padded, len + 64},         {rts_g.env.model, 0},       {rts_bad_magic, sizeof rts_bad_magic},
    };
    int64_t live = ggufref_fault_alloc_live();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ggufref_runtime *a = ready_runtime(3), *b = ready_runtime(3);
        assert_int_equal(ggufref_runtime_generate(a, RTS_PROMPT, strlen(RTS_PROMPT), NULL, NULL),
                         GGUFREF_OK);
        assert_int_equal(ggufref_runtime_generate(b, RTS_PROMPT, strlen(RTS_PROMPT), NULL, NULL),
                         GGUFREF_OK);
        uint64_t d = ggufref_runtime_digest(b);
        ggufref_status want = ggufref_runtime_load_model(a, cases[i].p, cases[i].n);
        ggufref_status got = ggufref_runtime_load_model_owned(b, owned_copy(cases[i].p, cases[i].n));
        assert_int_equal(got, want);
        ggufref_error ea, eb;
        ggufref_runtime_last_error(a, &ea);
        ggufref_runtime_last_error(b, &eb);
        if (want != GGUFREF_OK) {
            assert_string_equal(ea.message, eb.message);
            assert_true(ea.offset == eb.offset);
            assert_int_equal(ggufref_runtime_state(b), GGUFREF_STATE_RECOVERABLE_ERROR);
            assert_true(ggufref_runtime_digest(b) == d);
            /* the request stays readable and the model resident */
            assert_non_null(ggufref_runtime_model(b));
        }
        assert_int_equal(ggufref_runtime_state(a), ggufref_runtime_state(b));
        ggufref_runtime_destroy(a);
        ggufref_runtime_destroy(b);
        assert_int_equal(ggufref_fault_alloc_live(), live);
    }
    free(padded);
}

/* ------------------------------------------------------------------------------------- */
/* 3. The export layer                                                                    */
/* ------------------------------------------------------------------------------------- */

static uint64_t export_digest(void) {
    uint64_t d = 0;
    assert_int_equal(ggufref_export_digest(&d), GGUFREF_OK);
    return d;
}

/* R-RT-017, R-EXP-010..012 through the lock: owned load, slices equal one export generate,
 * continue refused without a request, cancel between slices, re-entrant calls refused (13)
 * with the bytes consumed, the runtime's creation failing (OUT_OF_MEMORY, bytes consumed). */
static void test_exports_owned_and_budget(void **state) {
    (void)state;
    NEED_FIXTURES();
    int64_t live;
    ggufref_sampling s;
    rts_small_sampling(&s, 5);
    /* reference: one export generate */
    ggufref_fault_export_reset();
    live = ggufref_fault_alloc_live();
    assert_int_equal(ggufref_export_load_model(rts_g.env.model, rts_g.env.model_len), 0);
    assert_int_equal(ggufref_export_configure_sampling(&s), 0);
    rec ref = {0};
    assert_int_equal(ggufref_export_generate(RTS_PROMPT, strlen(RTS_PROMPT), on_token, &ref), 0);
    uint64_t ref_digest = export_digest();

    /* lazy: continue on a fresh layer creates the runtime, then MODEL_NOT_LOADED */
    ggufref_fault_export_reset();
    bool more = true;
    assert_int_equal(ggufref_export_generate_continue(1, NULL, NULL, &more),
                     GGUFREF_ERR_MODEL_NOT_LOADED);
    assert_false(more);
    assert_int_equal(ggufref_export_load_model_owned(
                         owned_copy(rts_g.env.model, rts_g.env.model_len)),
                     0);
    ggufref_state st;
    assert_int_equal(ggufref_export_state(&st), 0);
    assert_int_equal(st, GGUFREF_STATE_READY);
    assert_int_equal(ggufref_export_configure_sampling(&s), 0);
    assert_int_equal(ggufref_export_generate_continue(1, NULL, NULL, &more),
                     GGUFREF_ERR_INVALID_STATE);
    /* slices of 2 with a cancel between the first two; re-entrant exports refused */
    rec r = {.reenter = true};
    assert_int_equal(ggufref_export_generate_budget(RTS_PROMPT, strlen(RTS_PROMPT), 2, on_token,
                                                    &r, &more),
                     0);
    assert_true(more);
    assert_int_equal(r.reenter_status[0], 13);
    assert_int_equal(r.reenter_status[1], 13);
    assert_int_equal(r.reenter_status[2], 13);
    assert_int_equal(ggufref_export_cancel(), 0);
    assert_int_equal(ggufref_export_generate_continue(2, on_token, &r, &more),
                     GGUFREF_ERR_CANCELLED);
    assert_false(more);
    /* a cancel inside a slice, through the export */
    r.cancel_at = 3;
    r.export_cancel = true;
    assert_int_equal(ggufref_export_generate_continue(2, on_token, &r, &more),
                     GGUFREF_ERR_CANCELLED);
    r.cancel_at = 0;
    do {
        assert_int_equal(ggufref_export_generate_continue(2, on_token, &r, &more), 0);
    } while (more);
    assert_int_equal(r.n, ref.n);
    assert_memory_equal(r.tok, ref.tok, r.n * sizeof r.tok[0]);
    assert_memory_equal(r.logits, ref.logits, r.n * sizeof r.logits[0]);
    assert_true(export_digest() == ref_digest);
    /* finished: OK, nothing  */
    assert_int_equal(ggufref_export_generate_continue(2, on_token, &r, &more), 0);
    assert_false(more);
    assert_int_equal(r.n, ref.n);
    /* a failed owned load through the lock: status of load_model, digest unchanged */
    assert_int_equal(ggufref_export_load_model_owned(owned_copy(rts_bad_magic,
                                                                sizeof rts_bad_magic)),
                     GGUFREF_ERR_BAD_MAGIC);
    assert_true(export_digest() == ref_digest);
    assert_int_equal(ggufref_export_load_model_owned(NULL), GGUFREF_ERR_INVALID_ARGUMENT);
    /* more may be NULL */
    assert_int_equal(ggufref_export_generate_continue(2, NULL, NULL, NULL),
                     GGUFREF_ERR_INVALID_STATE); /* RECOVERABLE_ERROR after that failure */
    assert_int_equal(ggufref_export_generate_budget("a", 1, 0, NULL, NULL, NULL), 0);
    assert_int_equal(ggufref_export_generate_continue(5, NULL, NULL, NULL), 0);
    /* the runtime cannot be created: OUT_OF_MEMORY, the bytes consumed */
    ggufref_fault_export_reset();
    ggufref_model_bytes *m = owned_copy(rts_g.env.model, rts_g.env.model_len);
    ggufref_fault_alloc_fail_at(1);
    assert_int_equal(ggufref_export_load_model_owned(m), GGUFREF_ERR_OUT_OF_MEMORY);
    ggufref_fault_alloc_fail_at(0);
    ggufref_fault_alloc_fail_at(1);
    assert_int_equal(ggufref_export_generate_budget("a", 1, 1, NULL, NULL, &more),
                     GGUFREF_ERR_OUT_OF_MEMORY);
    ggufref_fault_alloc_fail_at(0);
    assert_false(more);
    more = true;
    ggufref_fault_alloc_fail_at(1);
    assert_int_equal(ggufref_export_generate_continue(1, NULL, NULL, &more),
                     GGUFREF_ERR_OUT_OF_MEMORY);
    ggufref_fault_alloc_fail_at(0);
    assert_false(more);
    ggufref_fault_export_reset();
    assert_int_equal(ggufref_fault_alloc_live(), live);
}

/* ------------------------------------------------------------------------------------- */
/* 4. Out of memory                                                                       */
/* ------------------------------------------------------------------------------------- */

typedef struct oom_ctx {
    ggufref_runtime *rt; /* ready, with a request of 3 tokens made */
    uint64_t digest;
    bool owned;          /* the op: owned load (else: budget generate) */
    bool create_failed;  /* the op failed creating the bytes: the runtime was not called */
} oom_ctx;

static void oom_setup(oom_ctx *c) {
    c->rt = ready_runtime(3);
    assert_int_equal(ggufref_runtime_generate(c->rt, RTS_PROMPT, strlen(RTS_PROMPT), NULL, NULL),
                     GGUFREF_OK);
    configure(c->rt, 40); /* the next request needs a larger result buffer */
    c->digest = ggufref_runtime_digest(c->rt);
}

static int budget_oom_op(void *user) {
    oom_ctx *c = user;
    c->create_failed = false;
    if (c->owned) {
        ggufref_model_bytes *m = NULL;
        ggufref_status st = ggufref_model_bytes_create(rts_g.env.model_len, &m);
        if (st != GGUFREF_OK) {
            assert_null(m);
            c->create_failed = true;
            return st;
        }
        memcpy(ggufref_model_bytes_data(m), rts_g.env.model, rts_g.env.model_len);
        return ggufref_runtime_load_model_owned(c->rt, m);
    }
    bool more = false;
    ggufref_status st = ggufref_runtime_generate_budget(c->rt, "a", 1, 2, NULL, NULL, &more);
    if (st == GGUFREF_OK) assert_true(more);
    return st;
}

static void budget_oom_check(void *user, const oom_run *run) {
    oom_ctx *c = user;
    if (run->fired) {
        assert_int_equal(run->status, GGUFREF_ERR_OUT_OF_MEMORY);
        assert_true(ggufref_runtime_digest(c->rt) == c->digest); /* R-RT-010 */
        /* a failed create never reached the runtime: its state is as it was (READY) */
        assert_int_equal(ggufref_runtime_state(c->rt), c->create_failed
                                                           ? GGUFREF_STATE_READY
                                                           : GGUFREF_STATE_RECOVERABLE_ERROR);
    } else {
        assert_int_equal(run->status, GGUFREF_OK);
        ggufref_runtime_destroy(c->rt);
        oom_setup(c); /* the same start (and the same live blocks) for the next mode */
    }
}

/* R-RT-017, R-RT-010: the Nth allocation of an owned load (creating the bytes included)
 * fails, alone and with every later one: OUT_OF_MEMORY, the resident model and request
 * unchanged, nothing leaked. */
static void test_owned_load_oom(void **state) {
    (void)state;
    NEED_FIXTURES();
    oom_ctx c = {.owned = true};
    oom_setup(&c);
    assert_true(oom_each(budget_oom_op, budget_oom_check, &c) > 1);
    ggufref_runtime_destroy(c.rt);
}

/* R-EXP-010: the budget generate's allocation (the result reservation) fails: generate's
 * OUT_OF_MEMORY, nothing changed, nothing leaked. */
static void test_budget_generate_oom(void **state) {
    (void)state;
    NEED_FIXTURES();
    oom_ctx c = {.owned = false};
    oom_setup(&c);
    assert_true(oom_each(budget_oom_op, budget_oom_check, &c) >= 1);
    ggufref_runtime_destroy(c.rt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_budget_slices_equal_generate),
        cmocka_unit_test(test_budget_zero_commits),
        cmocka_unit_test(test_continue_until_max_then_finished),
        cmocka_unit_test(test_continue_wrong_state),
        cmocka_unit_test(test_budget_checks_as_generate),
        cmocka_unit_test(test_cancel_between_and_inside_slices),
        cmocka_unit_test(test_continue_step_fails),
        cmocka_unit_test(test_budget_eos),
        cmocka_unit_test(test_owned_load_equals_load),
        cmocka_unit_test(test_owned_load_failures_transactional),
        cmocka_unit_test(test_exports_owned_and_budget),
        cmocka_unit_test(test_owned_load_oom),
        cmocka_unit_test(test_budget_generate_oom),
    };
    return cmocka_run_group_tests(tests, rts_group_setup, rts_group_teardown);
}
