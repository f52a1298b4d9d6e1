/*
 * torture_evaluate.c — teacher forcing (SPEC R-RT-045): ggufref_runtime_evaluate and its export
 * (R-EXP-008). The transition rows of `evaluate` run in torture_runtime/torture_props through
 * the table driver (rt_support); this suite checks what the table cannot say: the logits are
 * generate's bit for bit, the runtime is left as reset_context leaves it, every check comes
 * before any change, nothing is allocated, and a failure stops at the failing position.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ggufref.h"
#include "rt_suite.h"


#define MAX_STEPS 8
#define MAX_VOCAB 4096

/* What the callbacks saw: per position/token, the token and a copy of the logits. */
typedef struct seen {
    size_t n;
    int32_t token[MAX_STEPS * 2];
    uint32_t pos[MAX_STEPS * 2];
    uint32_t n_vocab;
    float logits[MAX_STEPS * 2][MAX_VOCAB];
} seen;

static seen g_gen, g_eval;

static void on_token(int32_t token, const char *piece, size_t len, const float *logits,
                     uint32_t n_vocab, void *user) {
    (void)piece;
    (void)len;
    seen *s = user;
    assert_true(s->n < MAX_STEPS * 2 && n_vocab <= MAX_VOCAB);
    s->token[s->n] = token;
    s->n_vocab = n_vocab;
    memcpy(s->logits[s->n++], logits, n_vocab * sizeof *logits);
}

static void on_position(uint32_t pos, int32_t token, const float *logits, uint32_t n_vocab,
                        void *user) {
    seen *s = user;
    assert_true(s->n < MAX_STEPS * 2 && n_vocab <= MAX_VOCAB);
    s->pos[s->n] = pos;
    s->token[s->n] = token;
    s->n_vocab = n_vocab;
    memcpy(s->logits[s->n++], logits, n_vocab * sizeof *logits);
}

/* A runtime with the tiny model, greedy sampling of `steps` tokens, generated once. */
static ggufref_runtime *generated(const uint8_t *model, size_t len, int32_t steps, seen *gen) {
    ggufref_runtime *rt;
    assert_int_equal(ggufref_runtime_create(&rt), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_load_model(rt, model, len), GGUFREF_OK);
    ggufref_sampling s;
    rts_small_sampling(&s, steps);
    assert_int_equal(ggufref_runtime_configure_sampling(rt, &s), GGUFREF_OK);
    memset(gen, 0, sizeof *gen);
    assert_int_equal(ggufref_runtime_generate(rt, RTS_PROMPT, strlen(RTS_PROMPT), on_token, gen),
                     GGUFREF_OK);
    return rt;
}

/* R-RT-045, R-RT-029: evaluating prompt + generated tokens reports, at position m-1+j, the
 * logits generate's token j was sampled from, bit for bit; positions and ids in order. */
static void test_evaluate_logits_are_generates(void **state) {
    (void)state;
    RTS_NEED_FIXTURES(rts_g.skip);
    ggufref_runtime *rt = generated(rts_g.env.model, rts_g.env.model_len, MAX_STEPS, &g_gen);
    const int32_t *toks;
    size_t n, m;
    ggufref_runtime_tokens(rt, &toks, &n, &m);
    assert_int_equal(n, m + MAX_STEPS);
    int32_t ids[64];
    assert_true(n <= 64);
    memcpy(ids, toks, n * sizeof *ids);
    memset(&g_eval, 0, sizeof g_eval);
    assert_int_equal(ggufref_runtime_evaluate(rt, ids, n, on_position, &g_eval), GGUFREF_OK);
    assert_int_equal(g_eval.n, n);
    assert_int_equal(g_eval.n_vocab, g_gen.n_vocab);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(g_eval.pos[i], i);
        assert_int_equal(g_eval.token[i], ids[i]);
    }
    for (size_t j = 0; j < MAX_STEPS; j++) {
        assert_memory_equal(g_eval.logits[m - 1 + j], g_gen.logits[j],
                            g_gen.n_vocab * sizeof(float));
    }
    ggufref_runtime_destroy(rt);
}

/* R-RT-045: the runtime ends as reset_context leaves it (same digest, READY, empty request,
 * the open request not continuable), sampling kept, totals untouched, and nothing allocated. */
static void test_evaluate_leaves_what_reset_context_leaves(void **state) {
    (void)state;
    RTS_NEED_FIXTURES(rts_g.skip);
    ggufref_runtime *a = generated(rts_g.env.model, rts_g.env.model_len, 3, &g_gen);
    ggufref_runtime *b = generated(rts_g.env.model, rts_g.env.model_len, 3, &g_gen);
    int32_t ids[] = {1, 5, 7, 9};
    ggufref_fault_alloc_fail_at(0); /* counts from here */
    assert_int_equal(ggufref_runtime_evaluate(a, ids, 4, NULL, NULL), GGUFREF_OK);
    assert_int_equal(ggufref_fault_alloc_count(), 0);
    assert_int_equal(ggufref_runtime_reset_context(b), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_state(a), GGUFREF_STATE_READY);
    assert_true(ggufref_runtime_digest(a) == ggufref_runtime_digest(b));
    size_t n = 99;
    ggufref_runtime_tokens(a, NULL, &n, NULL);
    assert_int_equal(n, 0);
    ggufref_str da, db;
    assert_int_equal(ggufref_runtime_diagnostics(a, &da), GGUFREF_OK);
    char *copy = malloc(da.len + 1);
    assert_non_null(copy);
    memcpy(copy, da.ptr, da.len);
    assert_int_equal(ggufref_runtime_diagnostics(b, &db), GGUFREF_OK);
    /* totals and counters equal up to the nondeterministic member, which comes last */
    const char *cut = strstr(copy, ",\"nondeterministic\"");
    assert_non_null(cut);
    assert_true(db.len >= (size_t)(cut - copy));
    assert_memory_equal(copy, db.ptr, (size_t)(cut - copy));
    free(copy);
    assert_int_equal(ggufref_runtime_generate_next_token(a, NULL, NULL),
                     GGUFREF_ERR_INVALID_STATE);
    ggufref_runtime_destroy(a);
    ggufref_runtime_destroy(b);
}

/* R-RT-045, R-RT-006, R-RT-022: NULL, no token, an id outside [0, n_vocab) and more ids than
 * n_ctx are refused before anything changes (digest, tokens); MODEL_NOT_LOADED keeps the state. */
static void test_evaluate_checks_before_changing(void **state) {
    (void)state;
    RTS_NEED_FIXTURES(rts_g.skip);
    ggufref_runtime *rt = generated(rts_g.env.model, rts_g.env.model_len, 3, &g_gen);
    uint64_t digest = ggufref_runtime_digest(rt);
    static int32_t many[4096];
    for (size_t i = 0; i < 4096; i++) many[i] = 1;
    int32_t bad[] = {1, 2, -1};
    int32_t big[] = {1, 2, 1 << 30};
    struct {
        const int32_t *ids;
        size_t n;
        ggufref_status want;
    } cases[] = {
        {NULL, 3, GGUFREF_ERR_INVALID_ARGUMENT},     {bad, 0, GGUFREF_ERR_INVALID_ARGUMENT},
        {bad, 3, GGUFREF_ERR_INVALID_ARGUMENT},      {big, 3, GGUFREF_ERR_INVALID_ARGUMENT},
        {many, (size_t)rts_g.env.n_ctx + 1, GGUFREF_ERR_CONTEXT_OVERFLOW},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(ggufref_runtime_evaluate(rt, cases[i].ids, cases[i].n, on_position,
                                                  &g_eval),
                         cases[i].want);
        assert_int_equal(ggufref_runtime_state(rt), GGUFREF_STATE_RECOVERABLE_ERROR);
        assert_true(ggufref_runtime_digest(rt) == digest);
    }
    assert_int_equal(ggufref_runtime_evaluate(rt, many, rts_g.env.n_ctx, NULL, NULL), GGUFREF_OK);
    ggufref_runtime_destroy(rt);

    ggufref_runtime *empty;
    assert_int_equal(ggufref_runtime_create(&empty), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_evaluate(empty, bad, 1, NULL, NULL),
                     GGUFREF_ERR_MODEL_NOT_LOADED);
    assert_int_equal(ggufref_runtime_state(empty), GGUFREF_STATE_INITIALIZED);
    ggufref_runtime_destroy(empty);
}

/* R-RT-045: non-finite logits stop evaluate at that position (GENERATION_FAILED,
 * RECOVERABLE_ERROR), after the callbacks of the positions before it; the request is cleared.
 * The NaN model's BOS row is finite and every other row NaN. */
static void test_evaluate_fails_at_the_first_nonfinite_position(void **state) {
    (void)state;
    RTS_NEED_FIXTURES(rts_g.skip);
    ggufref_runtime *rt;
    assert_int_equal(ggufref_runtime_create(&rt), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_load_model(rt, rts_g.env.nan_model, rts_g.env.nan_len), GGUFREF_OK);
    const ggufref_model *model = ggufref_runtime_model(rt);
    assert_non_null(model);
    int32_t bos = 1, other = 5;
    int32_t ids[] = {bos, bos, other, bos};
    memset(&g_eval, 0, sizeof g_eval);
    assert_int_equal(ggufref_runtime_evaluate(rt, ids, 4, on_position, &g_eval),
                     GGUFREF_ERR_GENERATION_FAILED);
    assert_int_equal(g_eval.n, 2);
    assert_int_equal(ggufref_runtime_state(rt), GGUFREF_STATE_RECOVERABLE_ERROR);
    ggufref_error err;
    assert_int_equal(ggufref_runtime_last_error(rt, &err), GGUFREF_OK);
    assert_non_null(strstr(err.message, "position 2"));
    ggufref_runtime_destroy(rt);
}

/* R-EXP-008: the export runs the handle operation under the lock with the same callback. */
static void test_export_evaluate(void **state) {
    (void)state;
    RTS_NEED_FIXTURES(rts_g.skip);
    ggufref_fault_export_reset();
    int32_t ids[] = {1, 5, 7};
    assert_int_equal(ggufref_export_evaluate(ids, 3, NULL, NULL), GGUFREF_ERR_MODEL_NOT_LOADED);
    assert_int_equal(ggufref_export_load_model(rts_g.env.model, rts_g.env.model_len), GGUFREF_OK);
    memset(&g_eval, 0, sizeof g_eval);
    assert_int_equal(ggufref_export_evaluate(ids, 3, on_position, &g_eval), GGUFREF_OK);
    assert_int_equal(g_eval.n, 3);
    ggufref_state st;
    assert_int_equal(ggufref_export_state(&st), GGUFREF_OK);
    assert_int_equal(st, GGUFREF_STATE_READY);
    ggufref_fault_export_reset();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_evaluate_logits_are_generates),
        cmocka_unit_test(test_evaluate_leaves_what_reset_context_leaves),
        cmocka_unit_test(test_evaluate_checks_before_changing),
        cmocka_unit_test(test_evaluate_fails_at_the_first_nonfinite_position),
        cmocka_unit_test(test_export_evaluate),
    };
    return cmocka_run_group_tests(tests, rts_group_setup, rts_group_teardown);
}
