/*
 * torture_props.c — seeded random operation sequences against the pure model of
 * conformance/transitions.tsv (SPEC R-RT-002..008, R-RT-024, R-RT-050, R-EXP-002).
 *
 * Each sequence starts from a fresh handle (or, one in four, the export layer) and picks random
 * (operation, condition) pairs that the table allows in the model's current state and that the
 * driver can realize. After each step: the status and the next state equal the table's; a
 * failure or a query leaves the R-RT-040 digest unchanged; the tokens of a request on the fixture
 * model are always a prefix of the reference generation (R-RT-024). After the sequence nothing
 * is leaked.
 *
 * A failing sequence is shrunk (one step, then pairs of steps, removed while it still fails) and
 * printed as a replayable list:
 *     GGUFREF_PROPS_REPLAY='exports load_model:ok! generate:cancelled' ./torture_props
 * ('!' after load_model:ok loads the NaN model). GGUFREF_PROPS_SEED and GGUFREF_PROPS_N
 * override the seed and the number of sequences (default 10000).
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
#include <time.h>

#include "ggufref.h"
#include "rt_suite.h"

#define MAX_STEPS 16

typedef struct step {
    rts_op op;
    rts_cond cond;
    bool nan; /* load_model:ok installs the NaN model */
} step;

typedef struct sequence {
    bool exports;
    size_t n;
    step s[MAX_STEPS];
} sequence;

static int32_t g_ref[512]; /* the reference request: RTS_PROMPT, greedy, to the end of n_ctx */
static size_t g_ref_n;
static size_t g_row_hits[512]; /* coverage of rts_g.table's rows by the random sequences */

static int setup_suite(void **state) {
    if (rts_group_setup(state) != 0) return -1;
    if (rts_g.skip[0] != 0) return 0;
    ggufref_runtime *rt;
    ggufref_sampling s;
    rts_small_sampling(&s, (int32_t)(rts_g.env.n_ctx - rts_g.env.n_prompt));
    if (ggufref_runtime_create(&rt) != GGUFREF_OK ||
        ggufref_runtime_load_model(rt, rts_g.env.model, rts_g.env.model_len) != GGUFREF_OK ||
        ggufref_runtime_configure_sampling(rt, &s) != GGUFREF_OK ||
        ggufref_runtime_generate(rt, RTS_PROMPT, strlen(RTS_PROMPT), NULL, NULL) != GGUFREF_OK) {
        return -1;
    }
    const int32_t *t;
    ggufref_runtime_tokens(rt, &t, &g_ref_n, NULL);
    memcpy(g_ref, t, g_ref_n * sizeof *t);
    ggufref_runtime_destroy(rt);
    return 0;
}

/* ------------------------------------------------------------------------------------- */
/* Running a sequence                                                                     */
/* ------------------------------------------------------------------------------------- */

typedef enum outcome { PASS, FAIL, INVALID } outcome;

static size_t target_tokens(rts_target *t, int32_t *out, size_t cap) {
    size_t n = 0;
    if (t->exports) {
        (void)ggufref_export_tokens(out, cap, &n, NULL);
    } else {
        const int32_t *p;
        ggufref_runtime_tokens(t->rt, &p, &n, NULL);
        if (n > 0 && n <= cap) memcpy(out, p, n * sizeof *p);
    }
    return n;
}

/* The target's last error (R-RT-008). OUT: *e. */
static void target_last_error(rts_target *t, ggufref_error *e) {
    memset(e, 0, sizeof *e);
    if (t->exports) (void)ggufref_export_last_error(e);
    else (void)ggufref_runtime_last_error(t->rt, e);
}

/* R-RT-003: the state query observes the state and changes nothing: asked again it gives the
 * same answer, and the digest and the last error are those from before it. */
static bool state_query_changes_nothing(rts_target *t, ggufref_state got) {
    ggufref_error e1, e2;
    target_last_error(t, &e1);
    uint64_t d = rts_target_digest(t);
    bool same = rts_target_state(t) == got && rts_target_state(t) == got;
    target_last_error(t, &e2);
    return same && rts_target_digest(t) == d && e1.status == e2.status &&
           e1.offset == e2.offset && strcmp(e1.message, e2.message) == 0;
}

static bool is_query(rts_op op) {
    return op == RTS_INIT || op == RTS_DIAG || op == RTS_LAST_ERROR || op == RTS_RESULT ||
           op == RTS_CANCEL;
}

/* One random step: an operation, then one of the conditions the table has for it in the
 * model's state that the driver can realize. Panics are rare (they end everything). */
static bool pick(const rts_table *table, uint64_t *rng, const rts_target *t, const rts_model *m,
                 step *out) {
    rts_op op = (rts_op)(rts_splitmix(rng) % RTS_OP_COUNT);
    const rts_row *cands[16];
    size_t nc = 0;
    for (size_t i = 0; i < table->n && nc < 16; i++) {
        const rts_row *r = &table->rows[i];
        if (r->state != m->state || r->op != op) continue;
        if (r->res != RTS_RES_ANY && (r->res == RTS_RES_MODEL) != m->has_model) continue;
        if (r->cond == RTS_PANIC && rts_splitmix(rng) % 8 != 0) continue;
        if (!rts_can(t, m, op, r->cond)) continue;
        cands[nc++] = r;
    }
    if (nc == 0) return false;
    /* Weighted: successes keep sequences alive long enough to reach the deeper states. */
    unsigned weight[16], total = 0;
    for (size_t i = 0; i < nc; i++) {
        rts_cond c = cands[i]->cond;
        weight[i] = c == RTS_OK ? 12u : c == RTS_ANY || c == RTS_CANCELLED ? 4u : 1u;
        total += weight[i];
    }
    unsigned x = (unsigned)(rts_splitmix(rng) % total);
    size_t k = 0;
    while (x >= weight[k]) x -= weight[k++];
    const rts_row *r = cands[k];
    out->op = op;
    out->cond = r->cond;
    out->nan = op == RTS_LOAD && r->cond == RTS_OK && rts_splitmix(rng) % 4 == 0;
    return true;
}

/* Run seq against `table` as the oracle; with rng, generate the steps as it goes (into seq).
 * INVALID: a step has no row or cannot be realized (only after shrinking removed what it
 * needed). *why names the first divergence. */
static outcome run(const rts_table *table, sequence *seq, uint64_t *rng, char *why,
                   size_t why_len) {
    rts_target t;
    rts_model m = {GGUFREF_STATE_UNINITIALIZED, false};
    int64_t live = ggufref_fault_alloc_live();
    if (rng != NULL) {
        memset(seq, 0, sizeof *seq);
        seq->exports = rts_splitmix(rng) % 4 == 0;
    }
    rts_target_open(&t, &rts_g.env, seq->exports);
    outcome out = PASS;
    size_t len = rng != NULL ? 1 + rts_splitmix(rng) % MAX_STEPS : seq->n;
    for (size_t i = 0; i < len && out == PASS; i++) {
        if (rng != NULL && !pick(table, rng, &t, &m, &seq->s[i])) {
            i--; /* no realizable condition for that operation: pick again */
            continue;
        }
        if (rng != NULL) seq->n = i + 1;
        const step *s = &seq->s[i];
        const rts_row *row = rts_table_find(table, &m, s->op, s->cond);
        if (row == NULL || !rts_can(&t, &m, s->op, s->cond)) {
            out = INVALID;
            break;
        }
        if (table == &rts_g.table) g_row_hits[row - table->rows]++;
        t.want_nan = s->nan;
        uint64_t before = rts_target_digest(&t);
        int st = rts_do(&t, &m, s->op, s->cond);
        int want = row->status == RTS_REJECTED_STATUS ? rts_rejected_status(s->op) : row->status;
        ggufref_state got = rts_target_state(&t);
        rts_model_apply(&m, row);
        if (st != want || got != row->next) {
            snprintf(why, why_len, "step %zu %s:%s returned %s -> %s, table line %d says %s -> %s",
                     i + 1, rts_op_name(s->op), rts_cond_name(s->cond), ggufref_status_name(st),
                     ggufref_state_name(got), row->line, ggufref_status_name(want),
                     ggufref_state_name(row->next));
            out = FAIL;
            break;
        }
        if (!state_query_changes_nothing(&t, got)) {
            snprintf(why, why_len, "step %zu %s:%s: the state query changed something (R-RT-003)",
                     i + 1, rts_op_name(s->op), rts_cond_name(s->cond));
            out = FAIL;
            break;
        }
        /* R-STATUS-004, R-RT-006: a rejection (and a query) changes no resident datum */
        bool unchanged = is_query(s->op) || (st != GGUFREF_OK && s->cond != RTS_CANCELLED &&
                                             s->cond != RTS_FAILED && s->cond != RTS_PANIC);
        if (unchanged && got != GGUFREF_STATE_POISONED && rts_target_digest(&t) != before) {
            snprintf(why, why_len, "step %zu %s:%s changed the state digest", i + 1,
                     rts_op_name(s->op), rts_cond_name(s->cond));
            out = FAIL;
            break;
        }
        if (m.has_model && t.kind == RTS_KIND_NORMAL && got != GGUFREF_STATE_POISONED) {
            int32_t toks[512];
            size_t n = target_tokens(&t, toks, 512);
            if (n > g_ref_n || memcmp(toks, g_ref, n * sizeof *toks) != 0) {
                snprintf(why, why_len, "step %zu %s:%s: the tokens left the reference (R-RT-024)",
                         i + 1, rts_op_name(s->op), rts_cond_name(s->cond));
                out = FAIL;
            }
        }
    }
    rts_target_close(&t);
    if (out == PASS && ggufref_fault_alloc_live() != live) {
        snprintf(why, why_len, "%lld blocks leaked", (long long)(ggufref_fault_alloc_live() - live));
        out = FAIL;
    }
    return out;
}

/* Remove steps while the sequence still fails: singles, then adjacent pairs, to a fixpoint. */
static void shrink(const rts_table *table, sequence *seq) {
    char why[512];
    bool progress = true;
    while (progress) {
        progress = false;
        for (size_t width = 1; width <= 2 && !progress; width++) {
            for (size_t i = 0; i + width <= seq->n && !progress; i++) {
                sequence c = *seq;
                memmove(&c.s[i], &c.s[i + width], (c.n - i - width) * sizeof c.s[0]);
                c.n -= width;
                if (run(table, &c, NULL, why, sizeof why) == FAIL) {
                    *seq = c;
                    progress = true;
                }
            }
        }
    }
}

static void format_sequence(const sequence *seq, char *out, size_t cap) {
    size_t at = (size_t)snprintf(out, cap, "%s", seq->exports ? "exports" : "handle");
    for (size_t i = 0; i < seq->n && at < cap; i++) {
        at += (size_t)snprintf(out + at, cap - at, " %s:%s%s", rts_op_name(seq->s[i].op),
                               rts_cond_name(seq->s[i].cond), seq->s[i].nan ? "!" : "");
    }
}

static bool parse_sequence(const char *text, sequence *seq) {
    memset(seq, 0, sizeof *seq);
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", text);
    char *save = NULL;
    for (char *w = strtok_r(buf, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
        if (strcmp(w, "exports") == 0 || strcmp(w, "handle") == 0) {
            seq->exports = w[0] == 'e';
            continue;
        }
        char *colon = strchr(w, ':');
        if (colon == NULL || seq->n >= MAX_STEPS) return false;
        *colon = 0;
        step *s = &seq->s[seq->n++];
        size_t cl = strlen(colon + 1);
        s->nan = cl > 0 && colon[cl] == '!';
        if (s->nan) colon[cl] = 0;
        if (!rts_op_parse(w, &s->op) || !rts_cond_parse(colon + 1, &s->cond)) return false;
    }
    return true;
}

/* Run n random sequences from seed; on a failure shrink it into *failing. */
static bool search(const rts_table *table, uint64_t seed, size_t n, sequence *failing,
                   char *why, size_t why_len, size_t *steps) {
    uint64_t rng = seed;
    *steps = 0;
    for (size_t k = 0; k < n; k++) {
        sequence seq;
        outcome o = run(table, &seq, &rng, why, why_len);
        *steps += seq.n;
        if (o == FAIL) {
            shrink(table, &seq);
            (void)run(table, &seq, NULL, why, why_len);
            *failing = seq;
            return false;
        }
    }
    return true;
}

static uint64_t env_u64(const char *name, uint64_t dflt) {
    const char *v = getenv(name);
    return v != NULL ? strtoull(v, NULL, 0) : dflt;
}

/* R-RT-002: >= 10,000 random sequences agree with the table. */
static void test_props_random_sequences_follow_the_table(void **state) {
    (void)state;
    RTS_NEED_FIXTURES(rts_g.skip);
    char why[512], text[2048];
    const char *replay = getenv("GGUFREF_PROPS_REPLAY");
    if (replay != NULL) {
        sequence seq;
        assert_true(parse_sequence(replay, &seq));
        outcome o = run(&rts_g.table, &seq, NULL, why, sizeof why);
        if (o != PASS) fail_msg("replay %s: %s", o == FAIL ? "fails" : "is invalid", why);
        return;
    }
    uint64_t seed = env_u64("GGUFREF_PROPS_SEED", 0x6767756672656601ull);
    size_t n = (size_t)env_u64("GGUFREF_PROPS_N", 10000);
    clock_t c0 = clock();
    sequence failing;
    size_t steps;
    bool ok = search(&rts_g.table, seed, n, &failing, why, sizeof why, &steps);
    double secs = (double)(clock() - c0) / CLOCKS_PER_SEC;
    if (!ok) {
        format_sequence(&failing, text, sizeof text);
        fail_msg("%s\n  minimal sequence (replay with GGUFREF_PROPS_REPLAY='%s')", why, text);
    }
    size_t covered = 0;
    for (size_t i = 0; i < rts_g.table.n; i++) covered += g_row_hits[i] > 0;
    printf("props: %zu sequences, %zu steps, %zu/%zu table rows covered, seed 0x%llx, %.2f s CPU\n",
           n, steps, covered, rts_g.table.n, (unsigned long long)seed, secs);
    for (size_t i = 0; i < rts_g.table.n && getenv("GGUFREF_PROPS_VERBOSE") != NULL; i++) {
        const rts_row *r = &rts_g.table.rows[i];
        if (g_row_hits[i] == 0) {
            printf("  not covered: line %d %s %s %s\n", r->line, ggufref_state_name(r->state),
                   rts_op_name(r->op), rts_cond_name(r->cond));
        }
    }
    assert_int_equal(ggufref_fault_alloc_live(), 0);
}

/* The checker can fail: a table with one wrong row (reset_context in CONTINUATION_READY says
 * CONTINUATION_READY) is caught, and the shrunk witness is short. */
static void test_props_detects_a_mutated_table(void **state) {
    (void)state;
    RTS_NEED_FIXTURES(rts_g.skip);
    static rts_table mutated;
    mutated = rts_g.table;
    bool changed = false;
    for (size_t i = 0; i < mutated.n; i++) {
        rts_row *r = &mutated.rows[i];
        if (r->state == GGUFREF_STATE_CONTINUATION_READY && r->op == RTS_RESET &&
            r->cond == RTS_OK) {
            r->next = GGUFREF_STATE_CONTINUATION_READY;
            changed = true;
        }
    }
    assert_true(changed);
    sequence failing;
    char why[512], text[2048];
    size_t steps;
    assert_false(search(&mutated, 7, 5000, &failing, why, sizeof why, &steps));
    format_sequence(&failing, text, sizeof text);
    printf("mutated table caught: %s\n  witness: %s\n", why, text);
    assert_true(failing.n <= 5); /* load, configure, generate, reset (+ a lazy init) */
    assert_int_equal(failing.s[failing.n - 1].op, RTS_RESET);
}

/* The replay format round-trips. */
static void test_props_replay_format(void **state) {
    (void)state;
    sequence a;
    memset(&a, 0, sizeof a);
    a.exports = true;
    a.n = 3;
    a.s[0] = (step){RTS_LOAD, RTS_OK, true};
    a.s[1] = (step){RTS_CONFIGURE, RTS_OK, false};
    a.s[2] = (step){RTS_GENERATE, RTS_CANCELLED, false};
    char text[256];
    format_sequence(&a, text, sizeof text);
    assert_string_equal(text, "exports load_model:ok! configure_sampling:ok generate:cancelled");
    sequence b;
    assert_true(parse_sequence(text, &b));
    assert_memory_equal(&a, &b, sizeof a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_props_replay_format),
        cmocka_unit_test(test_props_random_sequences_follow_the_table),
        cmocka_unit_test(test_props_detects_a_mutated_table),
    };
    return cmocka_run_group_tests(tests, setup_suite, rts_group_teardown);
}
