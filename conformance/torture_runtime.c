/*
 * torture_runtime.c — the runtime state machine and the export layer against SPEC chapters 7
 * and 8 (R-RT-*, R-EXP-*).
 *
 * 1. Every row of conformance/transitions.tsv (state x operation x condition), on a handle and
 *    on the export layer: set up the state, realize the condition, assert the status and the
 *    next state, and that failures and queries leave the R-RT-040 digest unchanged.
 * 2. The table itself: every state x operation has rows, conditions are disjoint.
 * 3. Request cleanup, context overflow, cancellation, continuation, determinism, replacement,
 *    free, file loading, independence of handles.
 * 4. Diagnostics: JSON syntax, member order, escaping, the nondeterministic member.
 * 5. Export layer: re-entrant calls, copy-out, lazy creation.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h> /* mkfifo */
#include <unistd.h>

#include "ggufref.h"
#include "files.h"
#include "rt_suite.h"
#include "runtime.h" /* R-RT-014: where the owned model bytes sit */
#include "text.h"    /* gr_json_string: the escaper of the diagnostics */


#define NEED_FIXTURES() RTS_NEED_FIXTURES(rts_g.skip)

/* ------------------------------------------------------------------------------------- */
/* Helpers                                                                                */
/* ------------------------------------------------------------------------------------- */

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
    assert_int_equal(ggufref_runtime_load_model(rt, rts_g.env.model, rts_g.env.model_len), GGUFREF_OK);
    configure(rt, max_tokens);
    return rt;
}

static size_t n_tokens(const ggufref_runtime *rt) {
    size_t n;
    ggufref_runtime_tokens(rt, NULL, &n, NULL);
    return n;
}

static void copy_tokens(const ggufref_runtime *rt, int32_t *out, size_t *n) {
    const int32_t *t;
    ggufref_runtime_tokens(rt, &t, n, NULL);
    if (*n > 0) memcpy(out, t, *n * sizeof *t);
}

/* ------------------------------------------------------------------------------------- */
/* 1. Every row of the table                                                              */
/* ------------------------------------------------------------------------------------- */

static void must(int got, int want, const char *what) {
    if (got != want) fail_msg("set-up step %s: %s, expected %s", what, ggufref_status_name(got),
                              ggufref_status_name(want));
}

/* Drive t to the row's state (with the residency and model the condition needs), keeping the
 * pure model m in step. Special conditions get their own set-ups (R-RT-022, R-RT-026). */
static void reach(rts_target *t, rts_model *m, const rts_row *row) {
    static const struct { rts_op op; rts_cond cond; } path_r[] = {
        {RTS_LOAD, RTS_OK}, {RTS_CONFIGURE, RTS_OK}};
    bool nan = row->cond == RTS_FAILED;
    /* RECOVERABLE_ERROR rows hold a model unless they say no-model. */
    bool need_model = row->state == GGUFREF_STATE_RECOVERABLE_ERROR && row->res != RTS_RES_NO_MODEL;
    m->state = GGUFREF_STATE_UNINITIALIZED;
    m->has_model = false;
    t->want_nan = nan;
    switch (row->state) {
    case GGUFREF_STATE_UNINITIALIZED: return;
    case GGUFREF_STATE_INITIALIZED:
        must(rts_do(t, m, RTS_INIT, RTS_OK), GGUFREF_OK, "init");
        break;
    case GGUFREF_STATE_POISONED:
        must(rts_do(t, m, RTS_INIT, RTS_OK), GGUFREF_OK, "init");
        m->state = GGUFREF_STATE_INITIALIZED;
        must(rts_do(t, m, RTS_CONFIGURE, RTS_PANIC), GGUFREF_ERR_GENERATION_FAILED, "panic");
        break;
    case GGUFREF_STATE_RECOVERABLE_ERROR:
        if (need_model) {
            for (size_t i = 0; i < 2; i++) must(rts_do(t, m, path_r[i].op, path_r[i].cond), 0, "R");
        } else {
            must(rts_do(t, m, RTS_INIT, RTS_OK), GGUFREF_OK, "init");
        }
        must(rts_do(t, m, RTS_CONFIGURE, RTS_REJECTED), GGUFREF_ERR_INVALID_ARGUMENT, "E");
        break;
    default: /* READY, CONTINUATION_READY, FREED */
        for (size_t i = 0; i < 2; i++) must(rts_do(t, m, path_r[i].op, path_r[i].cond), 0, "R");
        break;
    }
    m->state = row->state;
    m->has_model = row->state == GGUFREF_STATE_READY ||
                   row->state == GGUFREF_STATE_CONTINUATION_READY || need_model;
    if (row->state == GGUFREF_STATE_FREED) must(rts_do(t, m, RTS_FREE, RTS_OK), 0, "free");
    if (row->state != GGUFREF_STATE_CONTINUATION_READY) return;
    /* CONTINUATION_READY: a generate, shaped by what the row needs. */
    ggufref_sampling s;
    if (row->op == RTS_NEXT && row->cond == RTS_OVERFLOW) { /* fill the context exactly */
        rts_small_sampling(&s, (int32_t)(rts_g.env.n_ctx - rts_g.env.n_prompt));
    } else if (row->op == RTS_NEXT && row->cond == RTS_OOM) { /* result bytes full */
        rts_small_sampling(&s, 1);
    } else {
        rts_small_sampling(&s, RTS_MAX_TOKENS);
    }
    if (t->exports) must(ggufref_export_configure_sampling(&s), 0, "configure");
    else must(ggufref_runtime_configure_sampling(t->rt, &s), 0, "configure");
    m->state = GGUFREF_STATE_READY;
    int want = nan ? GGUFREF_ERR_CANCELLED : GGUFREF_OK; /* the NaN model fails at step 2 */
    must(rts_do(t, m, RTS_GENERATE, nan ? RTS_CANCELLED : RTS_OK), want, "generate");
    m->state = GGUFREF_STATE_CONTINUATION_READY;
}

static bool special(const rts_row *row) {
    return row->op == RTS_NEXT && (row->cond == RTS_OVERFLOW || row->cond == RTS_OOM);
}

static bool is_query(rts_op op) {
    return op == RTS_INIT || op == RTS_DIAG || op == RTS_LAST_ERROR || op == RTS_RESULT ||
           op == RTS_CANCEL;
}

/* Run one row; false if the driver cannot realize it on this target (reported, not failed). */
static bool run_row(const rts_row *row, bool exports) {
    rts_target t;
    rts_model m;
    rts_target_open(&t, &rts_g.env, exports);
    reach(&t, &m, row);
    if (rts_target_state(&t) != row->state) {
        fail_msg("line %d: set-up reached %s, not %s", row->line,
                 ggufref_state_name(rts_target_state(&t)), ggufref_state_name(row->state));
    }
    if (!special(row) && !rts_can(&t, &m, row->op, row->cond)) {
        rts_target_close(&t);
        return false;
    }
    uint64_t before = rts_target_digest(&t);
    int64_t live_before = ggufref_fault_alloc_live();
    int st = rts_do(&t, &m, row->op, row->cond);
    int want = row->status == RTS_REJECTED_STATUS ? rts_rejected_status(row->op) : row->status;
    ggufref_state next = rts_target_state(&t);
    if (st != want || next != row->next) {
        fail_msg("transitions.tsv line %d (%s): %s %s [%s] returned %s -> %s, expected %s -> %s",
                 row->line, exports ? "exports" : "handle", ggufref_state_name(row->state),
                 rts_op_name(row->op), rts_cond_name(row->cond), ggufref_status_name(st),
                 ggufref_state_name(next), ggufref_status_name(want),
                 ggufref_state_name(row->next));
    }
    bool unchanged = (st != GGUFREF_OK && row->cond != RTS_CANCELLED &&
                      row->cond != RTS_FAILED && row->cond != RTS_PANIC) ||
                     is_query(row->op);
    if (unchanged && next != GGUFREF_STATE_POISONED && rts_target_digest(&t) != before) {
        fail_msg("line %d (%s): %s %s [%s] changed the state digest (R-RT-006)", row->line,
                 exports ? "exports" : "handle", ggufref_state_name(row->state),
                 rts_op_name(row->op), rts_cond_name(row->cond));
    }
    /* (From UNINITIALIZED the lazy init's blocks legitimately stay.) */
    if (st == GGUFREF_ERR_OUT_OF_MEMORY && ggufref_fault_alloc_live() != live_before &&
        row->state != GGUFREF_STATE_UNINITIALIZED) {
        fail_msg("line %d: a failed allocation leaked %lld blocks", row->line,
                 (long long)(ggufref_fault_alloc_live() - live_before));
    }
    rts_target_close(&t);
    return true;
}

/* R-RT-002..008, R-RT-050: every row, handle API. */
static void test_table_every_row_handle(void **state) {
    (void)state;
    NEED_FIXTURES();
    size_t ran = 0, skipped = 0;
    for (size_t i = 0; i < rts_g.table.n; i++) {
        if (run_row(&rts_g.table.rows[i], false)) {
            ran++;
        } else if (rts_g.table.rows[i].cond == RTS_PANIC) {
            skipped++;
        } else {
            fail_msg("line %d: the driver cannot realize this row on a handle",
                     rts_g.table.rows[i].line);
        }
    }
    /* Only panic rows without a handle-level point may be skipped (the exports cover them). */
    printf("handle: %zu rows run, %zu panic rows without a handle-level point\n", ran, skipped);
    assert_true(ran > rts_g.table.n * 3 / 4);
    assert_int_equal(ggufref_fault_alloc_live(), 0);
}

/* R-EXP-002..004: every row, export layer; every row is realizable there. */
static void test_table_every_row_exports(void **state) {
    (void)state;
    NEED_FIXTURES();
    for (size_t i = 0; i < rts_g.table.n; i++) {
        if (!run_row(&rts_g.table.rows[i], true)) {
            fail_msg("line %d: cannot realize %s %s [%s] on the export layer", rts_g.table.rows[i].line,
                     ggufref_state_name(rts_g.table.rows[i].state), rts_op_name(rts_g.table.rows[i].op),
                     rts_cond_name(rts_g.table.rows[i].cond));
        }
    }
    assert_int_equal(ggufref_fault_alloc_live(), 0);
}

/* ------------------------------------------------------------------------------------- */
/* 2. The table is complete and deterministic (R-RT-002)                                  */
/* ------------------------------------------------------------------------------------- */

static void test_table_complete_and_disjoint(void **state) {
    (void)state;
    for (int s = 0; s < GGUFREF_STATE_COUNT; s++) {
        for (int hm = 0; hm < 2; hm++) {
            for (int op = 0; op < RTS_OP_COUNT; op++) {
                size_t n = 0;
                int seen[RTS_COND_COUNT] = {0};
                for (size_t i = 0; i < rts_g.table.n; i++) {
                    const rts_row *r = &rts_g.table.rows[i];
                    if ((int)r->state != s || (int)r->op != op) continue;
                    if (r->res != RTS_RES_ANY && (r->res == RTS_RES_MODEL) != (hm == 1)) continue;
                    n++;
                    if (seen[r->cond]++ != 0) fail_msg("line %d: duplicate condition", r->line);
                }
                if (n == 0) {
                    fail_msg("no row for %s %s (model %d)", ggufref_state_name((ggufref_state)s),
                             rts_op_name((rts_op)op), hm);
                }
            }
        }
    }
    for (size_t i = 0; i < rts_g.table.n; i++) {
        const rts_row *r = &rts_g.table.rows[i];
        if (r->state == GGUFREF_STATE_POISONED) {
            assert_int_equal(r->status, GGUFREF_ERR_GENERATION_FAILED); /* R-EXP-004 */
            assert_int_equal(r->next, GGUFREF_STATE_POISONED);
        }
        if (r->cond == RTS_PANIC) assert_int_equal(r->next, GGUFREF_STATE_POISONED);
    }
}

/* ------------------------------------------------------------------------------------- */
/* 3. Requests                                                                            */
/* ------------------------------------------------------------------------------------- */

typedef struct collect {
    int32_t tokens[256];
    size_t n;
    char text[4096];
    size_t len;
    size_t cancel_after; /* 0 = never */
    ggufref_runtime *rt;
} collect;

static void collect_cb(int32_t token, const char *piece, size_t len, const float *logits,
                       uint32_t n_vocab, void *user) {
    (void)logits;
    (void)n_vocab;
    collect *c = user;
    c->tokens[c->n++] = token;
    memcpy(c->text + c->len, piece, len);
    c->len += len;
    if (c->cancel_after != 0 && c->n == c->cancel_after) {
        assert_int_equal(ggufref_runtime_cancel(c->rt), GGUFREF_OK);
    }
}

/* R-RT-020, R-RT-023, R-RT-041: a new generate replaces the previous request; the callback
 * sees exactly the generated tokens and the result bytes are their pieces. */
static void test_generate_clears_previous_request(void **state) {
    (void)state;
    NEED_FIXTURES();
    ggufref_runtime *rt = ready_runtime(5);
    assert_int_equal(ggufref_runtime_generate(rt, "Lily", 4, NULL, NULL), GGUFREF_OK);
    collect c = {0};
    assert_int_equal(ggufref_runtime_generate(rt, RTS_PROMPT, strlen(RTS_PROMPT), collect_cb, &c),
                     GGUFREF_OK);
    const int32_t *t;
    size_t n, np;
    ggufref_runtime_tokens(rt, &t, &n, &np);
    assert_int_equal(np, rts_g.env.n_prompt);
    assert_int_equal(n, np + 5);
    assert_int_equal(c.n, 5);
    assert_memory_equal(t + np, c.tokens, 5 * sizeof *t);
    ggufref_str r;
    assert_int_equal(ggufref_runtime_result(rt, &r), GGUFREF_OK);
    assert_int_equal(r.len, c.len);
    assert_memory_equal(r.ptr, c.text, c.len);
    ggufref_str d;
    assert_int_equal(ggufref_runtime_diagnostics(rt, &d), GGUFREF_OK);
    assert_non_null(strstr(d.ptr, "\"n_generated_tokens\":5,"));
    assert_non_null(strstr(d.ptr, "\"requests\":2,"));
    ggufref_runtime_destroy(rt);
}

/* R-RT-022: a request the context cannot hold changes nothing; the boundary is exact. */
static void test_generate_context_overflow_changes_nothing(void **state) {
    (void)state;
    NEED_FIXTURES();
    ggufref_runtime *rt = ready_runtime(3);
    assert_int_equal(ggufref_runtime_generate(rt, RTS_PROMPT, strlen(RTS_PROMPT), NULL, NULL), 0);
    uint64_t d = ggufref_runtime_digest(rt);
    configure(rt, (int32_t)(rts_g.env.n_ctx - rts_g.env.n_prompt + 1));
    assert_int_equal(ggufref_runtime_digest(rt) != d, true); /* settings are in the digest */
    d = ggufref_runtime_digest(rt);
    assert_int_equal(ggufref_runtime_generate(rt, RTS_PROMPT, strlen(RTS_PROMPT), NULL, NULL),
                     GGUFREF_ERR_CONTEXT_OVERFLOW);
    assert_int_equal(ggufref_runtime_state(rt), GGUFREF_STATE_RECOVERABLE_ERROR);
    assert_int_equal(ggufref_runtime_digest(rt), d);
    ggufref_error e;
    assert_int_equal(ggufref_runtime_last_error(rt, &e), GGUFREF_OK);
    assert_int_equal(e.status, GGUFREF_ERR_CONTEXT_OVERFLOW);
    assert_non_null(strstr(e.message, "n_ctx"));
    configure(rt, (int32_t)(rts_g.env.n_ctx - rts_g.env.n_prompt)); /* exactly full: fits */
    assert_int_equal(ggufref_runtime_generate(rt, RTS_PROMPT, strlen(RTS_PROMPT), NULL, NULL), 0);
    assert_int_equal(n_tokens(rt), rts_g.env.n_ctx);
    assert_int_equal(ggufref_runtime_generate_next_token(rt, NULL, NULL),
                     GGUFREF_ERR_CONTEXT_OVERFLOW);
    assert_int_equal(n_tokens(rt), rts_g.env.n_ctx);
    ggufref_runtime_destroy(rt);
}

/* R-RT-021: NULL prompt, empty prompt with BOS (fine), rejected bytes. */
static void test_generate_prompt_arguments(void **state) {
    (void)state;
    NEED_FIXTURES();
    ggufref_runtime *rt = ready_runtime(2);
    assert_int_equal(ggufref_runtime_generate(rt, NULL, 3, NULL, NULL),
                     GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_runtime_generate(rt, NULL, 0, NULL, NULL), GGUFREF_OK);
    size_t np;
    ggufref_runtime_tokens(rt, NULL, NULL, &np);
    assert_int_equal(np, 1); /* BOS only */
    ggufref_runtime_destroy(rt);
}

/* R-RT-025: a cancel from the callback stops before the next token; the tokens made so far
 * are kept, the state is CONTINUATION_READY and the request continues. */
static void test_cancel_keeps_tokens_and_continues(void **state) {
    (void)state;
    NEED_FIXTURES();
    ggufref_runtime *rt = ready_runtime(6);
    collect c = {.cancel_after = 2};
    c.rt = rt;
    assert_int_equal(ggufref_runtime_generate(rt, RTS_PROMPT, strlen(RTS_PROMPT), collect_cb, &c),
                     GGUFREF_ERR_CANCELLED);
    assert_int_equal(ggufref_runtime_state(rt), GGUFREF_STATE_CONTINUATION_READY);
    assert_int_equal(c.n, 2);
    assert_int_equal(n_tokens(rt), rts_g.env.n_prompt + 2);
    ggufref_str d;
    assert_int_equal(ggufref_runtime_diagnostics(rt, &d), GGUFREF_OK);
    assert_non_null(strstr(d.ptr, "\"stop_reason\":\"cancelled\""));
    assert_non_null(strstr(d.ptr, "\"status\":\"CANCELLED\""));
    /* Continue: the same tokens a whole uncancelled request makes (R-RT-024). */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(ggufref_runtime_generate_next_token(rt, collect_cb, &c), GGUFREF_OK);
    }
    int32_t continued[256], whole[256];
    size_t n1, n2;
    copy_tokens(rt, continued, &n1);
    ggufref_runtime *ref = ready_runtime(6);
    assert_int_equal(ggufref_runtime_generate(ref, RTS_PROMPT, strlen(RTS_PROMPT), NULL, NULL), 0);
    copy_tokens(ref, whole, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(continued, whole, n1 * sizeof *whole);
    ggufref_runtime_destroy(ref);
    ggufref_runtime_destroy(rt);
}

/* R-RT-025: a cancel before a generate starts is cleared by it. */
static void test_cancel_before_generate_has_no_effect(void **state) {
    (void)state;
    NEED_FIXTURES();
    ggufref_runtime *rt = ready_runtime(3);
    assert_int_equal(ggufref_runtime_cancel(rt), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_generate(rt, RTS_PROMPT, strlen(RTS_PROMPT), NULL, NULL), 0);
    assert_int_equal(n_tokens(rt), rts_g.env.n_prompt + 3);
    ggufref_runtime_destroy(rt);
}

/* The logits a token callback saw, token by token (R-RT-029). */
#define LOG_TOKENS 8
#define LOG_VOCAB 512
typedef struct logit_log {
    float x[LOG_TOKENS][LOG_VOCAB];
    int32_t tokens[LOG_TOKENS];
    uint32_t n_vocab;
    size_t n;
} logit_log;

static void logits_cb(int32_t token, const char *piece, size_t len, const float *logits,
                      uint32_t n_vocab, void *user) {
    (void)piece;
    (void)len;
    logit_log *l = user;
    assert_true(l->n < LOG_TOKENS);
    assert_true(n_vocab > 0 && n_vocab <= LOG_VOCAB);
    assert_non_null(logits);
    l->n_vocab = n_vocab;
    l->tokens[l->n] = token;
    memcpy(l->x[l->n++], logits, n_vocab * sizeof *logits);
}

/* Sampling that modifies the logits (R-SAMP-*): penalty, temperature, top-k. */
static void modifying_sampling(ggufref_sampling *s, int32_t max_tokens) {
    rts_small_sampling(s, max_tokens);
    s->temperature = 0.8f;
    s->top_k = 20;
    s->repeat_penalty = 1.3f;
    s->seed = 7;
}

/* R-RT-029: log holds, for each generated token of seq (n_prompt prompt tokens first), exactly
 * the logits of ggufref_forward over seq up to the previous position, bit for bit, and
 * ggufref_sample with s on a copy of them, the RNG reseeded as generate does, picks that very
 * token. Also asserts that the sampler changed its copy somewhere: the logits the callback saw
 * were taken before it. */
static void check_logits_are_forward(const logit_log *log, const int32_t *seq, size_t n_seq,
                                     size_t n_prompt, const ggufref_sampling *s) {
    assert_int_equal(n_seq, n_prompt + log->n);
    ggufref_gguf *g;
    ggufref_model *m;
    ggufref_context *ctx;
    ggufref_sampler *sampler;
    ggufref_model_info info;
    assert_int_equal(ggufref_gguf_open_memory(rts_g.env.model, rts_g.env.model_len, &g, NULL), 0);
    assert_int_equal(ggufref_model_load(g, &m, NULL), 0);
    ggufref_model_get_info(m, &info);
    assert_int_equal(log->n_vocab, info.n_vocab);
    assert_int_equal(ggufref_context_create(m, 0, &ctx), 0);
    assert_int_equal(ggufref_sampler_create(info.n_vocab, &sampler), 0);
    ggufref_rng rng;
    ggufref_rng_seed(&rng, s->seed);
    static float work[LOG_VOCAB];
    bool modified = false;
    for (size_t pos = 0; pos + 1 < n_seq; pos++) {
        const float *out;
        assert_int_equal(ggufref_forward(ctx, seq[pos], (uint32_t)pos, &out), GGUFREF_OK);
        if (pos + 1 < n_prompt) continue;
        size_t i = pos + 1 - n_prompt;
        assert_memory_equal(out, log->x[i], info.n_vocab * sizeof *out);
        memcpy(work, out, info.n_vocab * sizeof *out);
        int32_t tok;
        assert_int_equal(ggufref_sample(sampler, s, work, seq, pos + 1, &rng, &tok), GGUFREF_OK);
        assert_int_equal(tok, seq[pos + 1]);
        assert_int_equal(tok, log->tokens[i]);
        modified |= memcmp(work, out, info.n_vocab * sizeof *out) != 0;
    }
    assert_true(modified);
    ggufref_sampler_free(sampler);
    ggufref_context_free(ctx);
    ggufref_model_free(m);
    ggufref_gguf_close(g);
}

/* R-RT-029, R-RT-023: the callback of generate (prompt in a batch) and of generate_next_token
 * gets the raw forward output each token was sampled from, before penalty and temperature. */
static void test_callback_logits_are_the_forward_output(void **state) {
    (void)state;
    NEED_FIXTURES();
    ggufref_sampling s;
    modifying_sampling(&s, 4);
    ggufref_runtime *rt = new_runtime();
    assert_int_equal(ggufref_runtime_load_model(rt, rts_g.env.model, rts_g.env.model_len), 0);
    assert_int_equal(ggufref_runtime_configure_sampling(rt, &s), 0);
    static logit_log log;
    memset(&log, 0, sizeof log);
    assert_int_equal(ggufref_runtime_generate(rt, RTS_PROMPT, strlen(RTS_PROMPT), logits_cb, &log),
                     GGUFREF_OK);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ggufref_runtime_generate_next_token(rt, logits_cb, &log), GGUFREF_OK);
    }
    assert_int_equal(log.n, 6);
    int32_t seq[256];
    size_t n;
    copy_tokens(rt, seq, &n);
    check_logits_are_forward(&log, seq, n, rts_g.env.n_prompt, &s);
    ggufref_runtime_destroy(rt);
}

/* R-EXP-008: the export layer's callback sees the same logits as the handle's. */
static void test_export_callback_logits_equal_the_handles(void **state) {
    (void)state;
    NEED_FIXTURES();
    ggufref_fault_export_reset();
    ggufref_sampling s;
    modifying_sampling(&s, 3);
    static logit_log via_export, via_handle;
    memset(&via_export, 0, sizeof via_export);
    memset(&via_handle, 0, sizeof via_handle);
    assert_int_equal(ggufref_export_load_model(rts_g.env.model, rts_g.env.model_len), GGUFREF_OK);
    assert_int_equal(ggufref_export_configure_sampling(&s), GGUFREF_OK);
    assert_int_equal(ggufref_export_generate(RTS_PROMPT, strlen(RTS_PROMPT), logits_cb,
                                             &via_export), GGUFREF_OK);
    assert_int_equal(ggufref_export_generate_next_token(logits_cb, &via_export), GGUFREF_OK);
    ggufref_runtime *rt = new_runtime();
    assert_int_equal(ggufref_runtime_load_model(rt, rts_g.env.model, rts_g.env.model_len), 0);
    assert_int_equal(ggufref_runtime_configure_sampling(rt, &s), 0);
    assert_int_equal(ggufref_runtime_generate(rt, RTS_PROMPT, strlen(RTS_PROMPT), logits_cb,
                                              &via_handle), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_generate_next_token(rt, logits_cb, &via_handle), 0);
    assert_int_equal(via_export.n, 4);
    assert_memory_equal(&via_export, &via_handle, sizeof via_export);
    int32_t seq[256];
    size_t n, np;
    assert_int_equal(ggufref_export_tokens(seq, 256, &n, &np), GGUFREF_OK);
    check_logits_are_forward(&via_export, seq, n, np, &s);
    ggufref_runtime_destroy(rt);
    ggufref_fault_export_reset();
}

/* R-RT-024: with sampling (temperature > 0), generate(k) + j x next == generate(k + j), and a
 * generate does not depend on what ran before (RNG reseeded, R-RT-020). */
static void test_continuation_equals_longer_generate(void **state) {
    (void)state;
    NEED_FIXTURES();
    ggufref_sampling s;
    rts_small_sampling(&s, 2);
    s.temperature = 0.9f;
    s.seed = 42;
    ggufref_runtime *a = new_runtime(), *b = new_runtime();
    assert_int_equal(ggufref_runtime_load_model(a, rts_g.env.model, rts_g.env.model_len), 0);
    assert_int_equal(ggufref_runtime_load_model_file(b, rts_g.env.model_path), 0);
    assert_int_equal(ggufref_runtime_configure_sampling(a, &s), 0);
    assert_int_equal(ggufref_runtime_generate(a, "Lily", 4, NULL, NULL), 0); /* history */
    assert_int_equal(ggufref_runtime_generate(a, RTS_PROMPT, strlen(RTS_PROMPT), NULL, NULL), 0);
    for (int i = 0; i < 6; i++) assert_int_equal(ggufref_runtime_generate_next_token(a, NULL, NULL), 0);
    s.max_tokens = 8;
    assert_int_equal(ggufref_runtime_configure_sampling(b, &s), 0);
    assert_int_equal(ggufref_runtime_generate(b, RTS_PROMPT, strlen(RTS_PROMPT), NULL, NULL), 0);
    int32_t ta[256], tb[256];
    size_t na, nb;
    copy_tokens(a, ta, &na);
    copy_tokens(b, tb, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(ta, tb, na * sizeof *ta);
    ggufref_str ra, rb;
    ggufref_runtime_result(a, &ra);
    ggufref_runtime_result(b, &rb);
    assert_int_equal(ra.len, rb.len);
    assert_memory_equal(ra.ptr, rb.ptr, ra.len);
    ggufref_runtime_destroy(a);
    ggufref_runtime_destroy(b);
}

/* R-RT-010, R-RT-011: replacing a model frees the old one after installing the new one,
 * clears the request, keeps the sampling settings. */
static void test_load_replacement(void **state) {
    (void)state;
    NEED_FIXTURES();
    int64_t base = ggufref_fault_alloc_live();
    ggufref_runtime *rt = ready_runtime(3);
    int64_t one = ggufref_fault_alloc_live();
    assert_int_equal(ggufref_runtime_generate(rt, RTS_PROMPT, strlen(RTS_PROMPT), NULL, NULL), 0);
    ggufref_sampling before, after;
    ggufref_runtime_get_sampling(rt, &before);
    assert_int_equal(ggufref_runtime_load_model(rt, rts_g.env.nan_model, rts_g.env.nan_len), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_state(rt), GGUFREF_STATE_READY);
    assert_int_equal(n_tokens(rt), 0);
    ggufref_runtime_get_sampling(rt, &after);
    assert_memory_equal(&before, &after, sizeof before);
    assert_int_equal(ggufref_fault_alloc_live() - base, one - base + 1); /* + result bytes */
    ggufref_str r;
    assert_int_equal(ggufref_runtime_result(rt, &r), GGUFREF_OK);
    assert_int_equal(r.len, 0);
    ggufref_runtime_destroy(rt);
    assert_int_equal(ggufref_fault_alloc_live(), base);
}

/* R-RT-028: free_model releases everything but the diagnostics bytes; FREED; load again. */
static void test_free_releases_everything(void **state) {
    (void)state;
    NEED_FIXTURES();
    int64_t base = ggufref_fault_alloc_live();
    ggufref_runtime *rt = new_runtime();
    assert_int_equal(ggufref_runtime_init(rt), GGUFREF_OK);
    int64_t empty = ggufref_fault_alloc_live();
    assert_int_equal(ggufref_runtime_load_model(rt, rts_g.env.model, rts_g.env.model_len), 0);
    configure(rt, 3);
    assert_int_equal(ggufref_runtime_generate(rt, RTS_PROMPT, strlen(RTS_PROMPT), NULL, NULL), 0);
    assert_int_equal(ggufref_runtime_free_model(rt), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_state(rt), GGUFREF_STATE_FREED);
    assert_int_equal(ggufref_fault_alloc_live(), empty);
    assert_int_equal(ggufref_runtime_generate(rt, "x", 1, NULL, NULL),
                     GGUFREF_ERR_MODEL_NOT_LOADED);
    assert_int_equal(ggufref_runtime_load_model(rt, rts_g.env.model, rts_g.env.model_len), 0);
    ggufref_runtime_destroy(rt);
    assert_int_equal(ggufref_fault_alloc_live(), base);
}

/* R-RT-016: the resident model as a read-only view: NULL before a load and after free_model;
 * its n_ctx_train bounds a request (prompt + max_tokens); reading it changes nothing. */
static void test_runtime_model_view(void **state) {
    (void)state;
    NEED_FIXTURES();
    ggufref_runtime *rt = new_runtime();
    assert_null(ggufref_runtime_model(rt));
    assert_null(ggufref_runtime_model(NULL));
    assert_int_equal(ggufref_runtime_load_model(rt, rts_g.env.model, rts_g.env.model_len), 0);
    uint64_t digest = ggufref_runtime_digest(rt);
    const ggufref_model *m = ggufref_runtime_model(rt);
    assert_non_null(m);
    assert_int_equal(ggufref_runtime_digest(rt), digest);
    ggufref_model_info info;
    ggufref_model_get_info(m, &info);
    size_t n = 0;
    (void)ggufref_tokenize(m, RTS_PROMPT, strlen(RTS_PROMPT), info.add_bos, NULL, 0, &n);
    assert_true(n > 0 && n < info.n_ctx_train);
    ggufref_sampling s;
    ggufref_sampling_default(&s);
    s.max_tokens = (int32_t)(info.n_ctx_train - n) + 1; /* one token too many */
    assert_int_equal(ggufref_runtime_configure_sampling(rt, &s), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_generate(rt, RTS_PROMPT, strlen(RTS_PROMPT), NULL, NULL),
                     GGUFREF_ERR_CONTEXT_OVERFLOW);
    s.max_tokens = 2;
    assert_int_equal(ggufref_runtime_configure_sampling(rt, &s), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_generate(rt, RTS_PROMPT, strlen(RTS_PROMPT), NULL, NULL), 0);
    assert_ptr_equal(ggufref_runtime_model(rt), m);
    assert_int_equal(ggufref_runtime_free_model(rt), GGUFREF_OK);
    assert_null(ggufref_runtime_model(rt));
    ggufref_runtime_destroy(rt);
}

/* R-RT-012: file errors name the path and the byte. */
static void test_load_file_errors(void **state) {
    (void)state;
    NEED_FIXTURES();
    ggufref_runtime *rt = new_runtime();
    ggufref_error e;
    assert_int_equal(ggufref_runtime_load_model_file(rt, "/nonexistent/model.gguf"),
                     GGUFREF_ERR_IO);
    ggufref_runtime_last_error(rt, &e);
    assert_non_null(strstr(e.message, "/nonexistent/model.gguf"));
    ggufref_fault_io_fail_at(1000, GGUFREF_IO_FAULT_SHORT);
    assert_int_equal(ggufref_runtime_load_model_file(rt, rts_g.env.model_path), GGUFREF_ERR_IO);
    ggufref_runtime_last_error(rt, &e);
    assert_int_equal(e.offset, 1000);
    assert_non_null(strstr(e.message, "short read"));
    ggufref_fault_io_fail_at(77, GGUFREF_IO_FAULT_ERROR);
    assert_int_equal(ggufref_runtime_load_model_file(rt, rts_g.env.model_path), GGUFREF_ERR_IO);
    ggufref_runtime_last_error(rt, &e);
    assert_int_equal(e.offset, 77);
    assert_non_null(strstr(e.message, "read error"));
    assert_true(ggufref_fault_io_fired());
    assert_int_equal(ggufref_runtime_load_model_file(rt, rts_g.env.model_path), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_load_model_file(rt, "/"), GGUFREF_ERR_IO); /* a directory */
    assert_int_equal(ggufref_runtime_state(rt), GGUFREF_STATE_RECOVERABLE_ERROR);
    ggufref_runtime_destroy(rt);
}

/* R-RT-012, R-GGUF-007 (issue 16 #4): load_model_file on a FIFO with no writer is IO_ERROR at
 * once (alarm: the old fopen waited forever), on a 1 GiB sparse file of zeros BAD_MAGIC after
 * 8 bytes read (the old reader read the whole GiB first); nothing is loaded either time. */
static void test_load_file_never_blocks_or_reads_a_non_gguf_whole(void **state) {
    (void)state;
    NEED_FIXTURES();
    ggufref_runtime *rt = new_runtime();
    char path[128];
    snprintf(path, sizeof path, "/tmp/ggufref_torture_runtime_fifo_%d", (int)getpid());
    unlink(path);
    assert_int_equal(mkfifo(path, 0600), 0);
    alarm(20);
    assert_int_equal(ggufref_runtime_load_model_file(rt, path), GGUFREF_ERR_IO);
    alarm(0);
    ggufref_error e;
    ggufref_runtime_last_error(rt, &e);
    assert_non_null(strstr(e.message, "not a regular file"));
    unlink(path);
    snprintf(path, sizeof path, "/tmp/ggufref_torture_runtime_sparse_%d", (int)getpid());
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(truncate(path, (off_t)1 << 30), 0);
    ggufref_fault_io_fail_at(UINT64_MAX, GGUFREF_IO_FAULT_SHORT); /* counts bytes read */
    assert_int_equal(ggufref_runtime_load_model_file(rt, path), GGUFREF_ERR_BAD_MAGIC);
    assert_int_equal(ggufref_fault_io_bytes(), 8);
    ggufref_runtime_last_error(rt, &e);
    assert_int_equal(e.offset, 0);
    assert_null(ggufref_runtime_model(rt));
    assert_int_equal(ggufref_runtime_state(rt), GGUFREF_STATE_RECOVERABLE_ERROR);
    unlink(path);
    ggufref_runtime_destroy(rt);
}

/* R-RT-014: the owned copy of the model bytes starts on a 64-byte boundary wherever the
 * allocator puts its block: eight runtimes alive at once, loaded from bytes and from a file,
 * each after a spacer block of another size (16..128 bytes: the blocks land at every
 * 16-byte offset of a line). */
static void test_load_owned_bytes_on_a_cache_line(void **state) {
    (void)state;
    NEED_FIXTURES();
    enum { N = 8 };
    ggufref_runtime *rt[N];
    void *spacer[N];
    for (int k = 0; k < N; k++) {
        spacer[k] = malloc(16 * (size_t)(k + 1));
        rt[k] = new_runtime();
        ggufref_status st = k % 2 ? ggufref_runtime_load_model_file(rt[k], rts_g.env.model_path)
                                  : ggufref_runtime_load_model(rt[k], rts_g.env.model, rts_g.env.model_len);
        assert_int_equal(st, GGUFREF_OK);
        assert_int_equal((uintptr_t)rt[k]->model->bytes % 64, 0);
        assert_int_equal(rt[k]->model->size, rts_g.env.model_len);
        assert_memory_equal(rt[k]->model->bytes, rts_g.env.model, rts_g.env.model_len);
    }
    for (int k = 0; k < N; k++) {
        ggufref_runtime_destroy(rt[k]);
        free(spacer[k]);
    }
}

/* R-RT-015: the owned bytes of a model of at least 2 MiB start on a 2 MiB boundary, loaded from
 * memory and from a file; the bytes are the model's (alignment only, never timing). The model:
 * the stories15M Q4_K fixture the build makes (10.9 MB). */
static void test_load_owned_bytes_of_a_large_model_on_a_huge_page(void **state) {
    (void)state;
    const char *dir = getenv("GGUFREF_BUILD_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/fixtures/stories15m-q4_k.gguf", dir != NULL ? dir : ".");
    size_t len = 0;
    char *model = read_whole_file(path, &len);
    if (model == NULL) {
        print_message("SKIP: fixture %s is missing (built with the project)\n", path);
        skip();
    }
    assert_true(len >= ((size_t)2 << 20));
    for (int k = 0; k < 2; k++) {
        ggufref_runtime *rt = new_runtime();
        ggufref_status st = k ? ggufref_runtime_load_model_file(rt, path)
                              : ggufref_runtime_load_model(rt, model, len);
        assert_int_equal(st, GGUFREF_OK);
        assert_int_equal((uintptr_t)rt->model->bytes % ((uintptr_t)2 << 20), 0);
        assert_int_equal(rt->model->size, len);
        assert_memory_equal(rt->model->bytes, model, len);
        ggufref_runtime_destroy(rt);
    }
    free(model);
}

/* R-RT-001: runtimes are independent. */
static void test_runtimes_are_independent(void **state) {
    (void)state;
    NEED_FIXTURES();
    ggufref_runtime *a = ready_runtime(3), *b = ready_runtime(3);
    uint64_t db = ggufref_runtime_digest(b);
    assert_int_equal(ggufref_runtime_generate(a, RTS_PROMPT, strlen(RTS_PROMPT), NULL, NULL), 0);
    assert_int_equal(ggufref_runtime_cancel(a), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_free_model(a), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_digest(b), db);
    assert_int_equal(ggufref_runtime_state(b), GGUFREF_STATE_READY);
    assert_int_equal(ggufref_runtime_generate(b, RTS_PROMPT, strlen(RTS_PROMPT), NULL, NULL), 0);
    ggufref_runtime_destroy(a);
    ggufref_runtime_destroy(b);
}

/* ------------------------------------------------------------------------------------- */
/* 4. Diagnostics (R-RT-030, R-RT-031)                                                    */
/* ------------------------------------------------------------------------------------- */

/* A strict JSON syntax check (RFC 8259 grammar, no extensions). */
typedef struct jp {
    const char *p, *end;
} jp;
static bool j_value(jp *j, int depth);
static void j_ws(jp *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t')) j->p++;
}
static bool j_lit(jp *j, const char *s) {
    size_t n = strlen(s);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, s, n) != 0) return false;
    j->p += n;
    return true;
}
static bool j_string(jp *j) {
    if (j->p >= j->end || *j->p != '"') return false;
    for (j->p++; j->p < j->end; j->p++) {
        unsigned char c = (unsigned char)*j->p;
        if (c == '"') {
            j->p++;
            return true;
        }
        if (c < 0x20) return false;
        if (c == '\\') {
            j->p++;
            if (j->p >= j->end) return false;
            if (*j->p == 'u') {
                for (int i = 0; i < 4; i++) {
                    j->p++;
                    if (j->p >= j->end || strchr("0123456789abcdefABCDEF", *j->p) == NULL) return false;
                }
            } else if (strchr("\"\\/bfnrt", *j->p) == NULL) {
                return false;
            }
        }
    }
    return false;
}
static bool j_number(jp *j) {
    const char *s = j->p;
    if (j->p < j->end && *j->p == '-') j->p++;
    if (j->p >= j->end || *j->p < '0' || *j->p > '9') return false;
    if (*j->p == '0') j->p++;
    else while (j->p < j->end && *j->p >= '0' && *j->p <= '9') j->p++;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (j->p >= j->end || *j->p < '0' || *j->p > '9') return false;
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9') j->p++;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-')) j->p++;
        if (j->p >= j->end || *j->p < '0' || *j->p > '9') return false;
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9') j->p++;
    }
    return j->p > s;
}
static bool j_value(jp *j, int depth) {
    if (depth > 16) return false;
    j_ws(j);
    if (j->p >= j->end) return false;
    char c = *j->p;
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        j->p++;
        j_ws(j);
        if (j->p < j->end && *j->p == close) {
            j->p++;
            return true;
        }
        for (;;) {
            if (c == '{') {
                j_ws(j);
                if (!j_string(j)) return false;
                j_ws(j);
                if (j->p >= j->end || *j->p++ != ':') return false;
            }
            if (!j_value(j, depth + 1)) return false;
            j_ws(j);
            if (j->p >= j->end) return false;
            if (*j->p == ',') {
                j->p++;
                continue;
            }
            if (*j->p++ != close) return false;
            return true;
        }
    }
    if (c == '"') return j_string(j);
    if (c == 't') return j_lit(j, "true");
    if (c == 'f') return j_lit(j, "false");
    if (c == 'n') return j_lit(j, "null");
    return j_number(j);
}
static bool json_valid(const char *s, size_t n) {
    jp j = {s, s + n};
    if (!j_value(&j, 0)) return false;
    j_ws(&j);
    return j.p == j.end;
}

/* Every member of R-RT-030 appears, in order. */
static void assert_schema_order(const char *doc) {
    static const char *const keys[] = {
        "\"schema\":\"ggufref-diagnostics-1\"", "\"state\":", "\"model\":", "\"sampling\":{",
        "\"temperature\":", "\"top_k\":", "\"top_p\":", "\"min_p\":", "\"repeat_penalty\":",
        "\"repeat_last_n\":", "\"seed\":", "\"max_tokens\":", "\"stop_at_eos\":", "\"request\":{",
        "\"n_prompt_tokens\":", "\"n_generated_tokens\":", "\"n_past\":", "\"result_bytes\":",
        "\"stop_reason\":", "\"totals\":{", "\"models_loaded\":", "\"requests\":",
        "\"tokens_generated\":", "\"last_error\":{", "\"status\":", "\"code\":", "\"offset\":",
        "\"message\":", "\"nondeterministic\":{", "\"clock\":",
    };
    const char *at = doc;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *k = strstr(at, keys[i]);
        if (k == NULL) fail_msg("diagnostics lack %s after offset %zu: %s", keys[i],
                                (size_t)(at - doc), doc);
        at = k + strlen(keys[i]);
    }
}

static void test_diagnostics_schema_every_state(void **state) {
    (void)state;
    NEED_FIXTURES();
    ggufref_runtime *rt = new_runtime();
    ggufref_str d;
    assert_int_equal(ggufref_runtime_diagnostics(rt, &d), GGUFREF_OK); /* lazy init */
    assert_true(json_valid(d.ptr, d.len));
    assert_schema_order(d.ptr);
    assert_non_null(strstr(d.ptr, "\"state\":\"INITIALIZED\",\"model\":null,"));
    assert_int_equal(ggufref_runtime_load_model(rt, rts_g.env.model, rts_g.env.model_len), 0);
    configure(rt, 3);
    assert_int_equal(ggufref_runtime_generate(rt, RTS_PROMPT, strlen(RTS_PROMPT), NULL, NULL), 0);
    assert_int_equal(ggufref_runtime_diagnostics(rt, &d), GGUFREF_OK);
    char doc[8192];
    memcpy(doc, d.ptr, d.len);
    doc[d.len] = 0;
    assert_true(json_valid(doc, d.len));
    assert_schema_order(doc);
    assert_non_null(strstr(doc, "\"state\":\"CONTINUATION_READY\",\"model\":{\"file_bytes\":"));
    assert_non_null(strstr(doc, "\"max_tokens\":3,\"stop_at_eos\":false"));
    assert_non_null(strstr(doc, "\"stop_reason\":\"max_tokens\""));
    assert_non_null(strstr(doc, "\"offset\":null"));
    assert_non_null(strstr(doc, "\"nondeterministic\":{\"clock\":false}}"));
    ggufref_runtime_destroy(rt);
}

/* A gr_write_fn collecting into a fixed buffer. */
typedef struct sink {
    char buf[256];
    size_t len;
} sink;
static void sink_write(void *user, const char *p, size_t n) {
    sink *k = user;
    assert_true(k->len + n < sizeof k->buf);
    memcpy(k->buf + k->len, p, n);
    k->len += n;
    k->buf[k->len] = 0;
}

/* R-STATUS-003, R-RT-030: a caller-given path enters the message quoted like a string from a
 * file (one printable line: quote kept, backslash, newline, tab, DEL and bytes >= 0x80 as \xNN),
 * so the diagnostics carry it as plain ASCII; the escaper of the diagnostics itself is fed the
 * raw bytes directly (its flags: CR as \r, DEL and each ill-formed byte as \u00XX). */
static void test_diagnostics_escapes_messages(void **state) {
    (void)state;
    NEED_FIXTURES();
    ggufref_runtime *rt = new_runtime();
    static const char path[] = "/no/\"q\\b\n\t\x7f\xff\xc3\xa9.gguf";
    assert_int_equal(ggufref_runtime_load_model_file(rt, path), GGUFREF_ERR_IO);
    ggufref_error e;
    ggufref_runtime_last_error(rt, &e);
    assert_null(strchr(e.message, '\n'));
    assert_non_null(strstr(e.message, "'/no/\"q\\x5cb\\x0a\\x09\\x7f\\xff\\xc3\\xa9.gguf'"));
    ggufref_str d;
    assert_int_equal(ggufref_runtime_diagnostics(rt, &d), GGUFREF_OK);
    assert_true(json_valid(d.ptr, d.len));
    char doc[8192];
    memcpy(doc, d.ptr, d.len);
    doc[d.len] = 0;
    assert_non_null(strstr(doc, "'/no/\\\"q\\\\x5cb\\\\x0a\\\\x09\\\\x7f\\\\xff\\\\xc3\\\\xa9.gguf'"));
    assert_non_null(strstr(doc, "\"status\":\"IO_ERROR\",\"code\":3,\"offset\":0,"));
    ggufref_runtime_destroy(rt);

    /* the escaper, on bytes no message carries any more: the three spellings in use */
    static const char raw[] = "\"q\\b\n\r\t\x01\x7f\xff\xc3\xa9\xe2\x82";
    static const struct {
        unsigned flags;
        const char *want;
    } cases[] = {
        {GR_JSON_CR_SHORT | GR_JSON_DEL | GR_JSON_BAD_BYTE, /* the diagnostics (R-RT-030) */
         "\"\\\"q\\\\b\\n\\r\\t\\u0001\\u007f\\u00ff\xc3\xa9\\u00e2\\u0082\""},
        {0, /* generate --json (R-SAMP-041) */
         "\"\\\"q\\\\b\\n\\u000d\\t\\u0001\x7f\\ufffd\xc3\xa9\\ufffd\\ufffd\""},
        {GR_JSON_DEL, /* info --json (R-GGUF-040) */
         "\"\\\"q\\\\b\\n\\u000d\\t\\u0001\\u007f\\ufffd\xc3\xa9\\ufffd\\ufffd\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sink k = {{0}, 0};
        gr_json_string(sink_write, &k, raw, sizeof raw - 1, cases[i].flags);
        assert_string_equal(k.buf, cases[i].want);
    }
}

static uint64_t fake_clock(void *user) {
    uint64_t *t = user;
    return *t += 1000;
}

/* R-RT-031: two runtimes with the same history have identical diagnostics except the
 * nondeterministic member; a clock only adds to that member. */
static void test_diagnostics_deterministic_except_timings(void **state) {
    (void)state;
    NEED_FIXTURES();
    uint64_t now = 0;
    ggufref_runtime *a = new_runtime(), *b = new_runtime();
    ggufref_runtime_set_clock(b, fake_clock, &now);
    char doc[2][8192];
    ggufref_runtime *rts[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ggufref_runtime_load_model(rts[i], rts_g.env.model, rts_g.env.model_len), 0);
        configure(rts[i], 4);
        assert_int_equal(ggufref_runtime_generate(rts[i], "Lily", 4, NULL, NULL), 0);
        ggufref_str d;
        assert_int_equal(ggufref_runtime_diagnostics(rts[i], &d), GGUFREF_OK);
        assert_true(json_valid(d.ptr, d.len));
        memcpy(doc[i], d.ptr, d.len);
        doc[i][d.len] = 0;
    }
    char *na = strstr(doc[0], ",\"nondeterministic\":"), *nb = strstr(doc[1], ",\"nondeterministic\":");
    assert_non_null(na);
    assert_non_null(nb);
    assert_int_equal(na - doc[0], nb - doc[1]);
    assert_memory_equal(doc[0], doc[1], (size_t)(na - doc[0]));
    assert_non_null(strstr(nb, "\"clock\":true,\"load_ns\":"));
    assert_non_null(strstr(nb, "\"decode_ns\":"));
    ggufref_runtime_destroy(a);
    ggufref_runtime_destroy(b);
}

/* ------------------------------------------------------------------------------------- */
/* 5. Export layer (R-EXP-*)                                                              */
/* ------------------------------------------------------------------------------------- */

static int g_reentrant_status = -1;
static int g_reentrant_state_status = -1;
static ggufref_state g_reentrant_state = GGUFREF_STATE_POISONED;
static void reentrant_cb(int32_t token, const char *piece, size_t len, const float *logits,
                         uint32_t n_vocab, void *user) {
    (void)logits;
    (void)n_vocab;
    (void)token;
    (void)piece;
    (void)len;
    (void)user;
    g_reentrant_status = ggufref_export_reset_context(); /* the lock is held: unavailable */
    /* R-EXP-005 (issue 16): state() is unavailable too, and says nothing: it does not claim
     * POISONED for a lock that is not poisoned; *out keeps what the caller put there */
    ggufref_state st = GGUFREF_STATE_FREED;
    g_reentrant_state_status = ggufref_export_state(&st);
    g_reentrant_state = st;
    assert_int_equal(ggufref_export_cancel(), GGUFREF_OK); /* lock-free: allowed */
}

/* R-EXP-005, R-EXP-007: a re-entrant export gets 13 without poisoning; cancel works inside. */
static void test_export_reentrant_call_is_unavailable_not_poisoned(void **state) {
    (void)state;
    NEED_FIXTURES();
    ggufref_fault_export_reset();
    ggufref_sampling s;
    rts_small_sampling(&s, 3);
    assert_int_equal(ggufref_export_load_model(rts_g.env.model, rts_g.env.model_len), GGUFREF_OK);
    assert_int_equal(ggufref_export_configure_sampling(&s), GGUFREF_OK);
    assert_int_equal(ggufref_export_generate(RTS_PROMPT, strlen(RTS_PROMPT), reentrant_cb, NULL),
                     GGUFREF_ERR_CANCELLED);
    assert_int_equal(g_reentrant_status, GGUFREF_ERR_GENERATION_FAILED);
    assert_int_equal(g_reentrant_state_status, GGUFREF_ERR_GENERATION_FAILED);
    assert_int_equal(g_reentrant_state, GGUFREF_STATE_FREED); /* untouched, not POISONED */
    ggufref_state st;
    assert_int_equal(ggufref_export_state(&st), GGUFREF_OK);
    assert_int_equal(st, GGUFREF_STATE_CONTINUATION_READY);
    assert_int_equal(ggufref_export_generate_next_token(NULL, NULL), GGUFREF_OK);
    ggufref_fault_export_reset();
}

/* R-EXP-006: copy-out reports the length and copies only what fits. R-EXP-001, R-EXP-003: no
 * global runtime is UNINITIALIZED, and the queries answer for it without creating it. */
static void test_export_copy_out(void **state) {
    (void)state;
    NEED_FIXTURES();
    ggufref_fault_export_reset();
    size_t len = 0;
    assert_int_equal(ggufref_export_result(NULL, 0, &len), GGUFREF_OK); /* absent runtime */
    assert_int_equal(len, 0);
    ggufref_state st;
    assert_int_equal(ggufref_export_state(&st), GGUFREF_OK);
    assert_int_equal(st, GGUFREF_STATE_UNINITIALIZED); /* queries do not create it */
    ggufref_sampling s;
    rts_small_sampling(&s, 3);
    assert_int_equal(ggufref_export_load_model(rts_g.env.model, rts_g.env.model_len), GGUFREF_OK);
    assert_int_equal(ggufref_export_configure_sampling(&s), GGUFREF_OK);
    assert_int_equal(ggufref_export_generate(RTS_PROMPT, strlen(RTS_PROMPT), NULL, NULL), 0);
    char small[2], big[8192];
    assert_int_equal(ggufref_export_diagnostics(small, sizeof small, &len),
                     GGUFREF_ERR_LIMIT_EXCEEDED);
    assert_true(len > sizeof small);
    size_t len2;
    assert_int_equal(ggufref_export_diagnostics(big, sizeof big, &len2), GGUFREF_OK);
    assert_int_equal(len, len2);
    assert_true(json_valid(big, len2));
    int32_t toks[256];
    size_t n, np;
    assert_int_equal(ggufref_export_tokens(toks, 1, &n, &np), GGUFREF_ERR_LIMIT_EXCEEDED);
    assert_int_equal(ggufref_export_tokens(toks, 256, &n, &np), GGUFREF_OK);
    assert_int_equal(n, np + 3);
    ggufref_error e;
    assert_int_equal(ggufref_export_last_error(&e), GGUFREF_OK);
    assert_int_equal(e.status, GGUFREF_OK); /* a copy-out failure is not an operation error */
    ggufref_fault_export_reset();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_complete_and_disjoint),
        cmocka_unit_test(test_table_every_row_handle),
        cmocka_unit_test(test_table_every_row_exports),
        cmocka_unit_test(test_generate_clears_previous_request),
        cmocka_unit_test(test_generate_context_overflow_changes_nothing),
        cmocka_unit_test(test_generate_prompt_arguments),
        cmocka_unit_test(test_cancel_keeps_tokens_and_continues),
        cmocka_unit_test(test_cancel_before_generate_has_no_effect),
        cmocka_unit_test(test_callback_logits_are_the_forward_output),
        cmocka_unit_test(test_continuation_equals_longer_generate),
        cmocka_unit_test(test_load_replacement),
        cmocka_unit_test(test_free_releases_everything),
        cmocka_unit_test(test_runtime_model_view),
        cmocka_unit_test(test_load_file_never_blocks_or_reads_a_non_gguf_whole),
        cmocka_unit_test(test_load_file_errors),
        cmocka_unit_test(test_load_owned_bytes_on_a_cache_line),
        cmocka_unit_test(test_load_owned_bytes_of_a_large_model_on_a_huge_page),
        cmocka_unit_test(test_runtimes_are_independent),
        cmocka_unit_test(test_diagnostics_schema_every_state),
        cmocka_unit_test(test_diagnostics_escapes_messages),
        cmocka_unit_test(test_diagnostics_deterministic_except_timings),
        cmocka_unit_test(test_export_reentrant_call_is_unavailable_not_poisoned),
        cmocka_unit_test(test_export_copy_out),
        cmocka_unit_test(test_export_callback_logits_equal_the_handles),
    };
    return cmocka_run_group_tests(tests, rts_group_setup, rts_group_teardown);
}
