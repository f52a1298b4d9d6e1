/*
 * torture_concurrency.c — the export layer under 8 threads (SPEC R-EXP-002, R-EXP-007,
 * R-RT-025). Also run under ThreadSanitizer by tools/test-all.sh.
 *
 * Each history: the export layer starts UNINITIALIZED; 8 threads each issue OPS_PER_THREAD
 * random exports (load, configure, generate, next token, reset, free, diagnostics, queries,
 * cancel, state), recording for each call its invocation and response on one global logical
 * clock, its status and its output (the state for `state`, the tokens made for `generate`).
 * The history must be linearizable against the sequential model: the pure table model of
 * conformance/transitions.tsv plus what the driver set (whether small sampling is configured,
 * the token count for the context limit). A `generate` may return CANCELLED only if a `cancel`
 * overlapped it in real time.
 *
 * The checker is Wing & Gong's search with Lowe's memoization (as in Porcupine): repeatedly
 * linearize one pending call that no other pending call's response precedes, with the model
 * accepting its status and output; memoize (set of linearized calls, model state).
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ggufref.h"
#include "rt_suite.h"

#define THREADS 8
#define OPS_PER_THREAD 6
#define N_EVENTS (THREADS * OPS_PER_THREAD) /* <= 64: the linearized set is a bit mask */

typedef enum cop {
    C_INIT, C_LOAD_OK, C_LOAD_BAD, C_CONF_OK, C_CONF_BAD, C_GENERATE, C_NEXT, C_RESET, C_FREE,
    C_DIAG, C_LAST_ERROR, C_RESULT, C_CANCEL, C_STATE, C_COUNT
} cop;
static const char *const cop_names[C_COUNT] = {
    "init", "load:ok", "load:rejected", "configure:ok", "configure:rejected", "generate",
    "next", "reset", "free", "diagnostics", "last_error", "result", "cancel", "state"};
static const unsigned cop_weight[C_COUNT] = {1, 2, 1, 2, 1, 4, 3, 1, 1, 1, 1, 1, 3, 2};

typedef struct event {
    cop op;
    int thread;
    int status;
    int out;          /* C_STATE: the state; C_GENERATE: tokens made */
    uint64_t call, ret;
} event;

static _Atomic uint64_t g_clock;

/* ------------------------------------------------------------------------------------- */
/* Running a history                                                                      */
/* ------------------------------------------------------------------------------------- */

static void count_cb(int32_t token, const char *piece, size_t len, const float *logits,
                     uint32_t n_vocab, void *user) {
    (void)logits;
    (void)n_vocab;
    (void)token;
    (void)piece;
    (void)len;
    (*(int *)user)++;
}

static int perform(cop op, int *out) {
    static _Thread_local char buf[1 << 14];
    size_t len;
    ggufref_sampling s;
    ggufref_error e;
    ggufref_state st;
    rts_small_sampling(&s, RTS_MAX_TOKENS);
    switch (op) {
    case C_INIT: return ggufref_export_init_runtime();
    case C_LOAD_OK: return ggufref_export_load_model(rts_g.env.model, rts_g.env.model_len);
    case C_LOAD_BAD: return ggufref_export_load_model(rts_bad_magic, sizeof rts_bad_magic);
    case C_CONF_OK: return ggufref_export_configure_sampling(&s);
    case C_CONF_BAD:
        s.top_p = 2.0f;
        return ggufref_export_configure_sampling(&s);
    case C_GENERATE:
        *out = 0;
        return ggufref_export_generate(RTS_PROMPT, strlen(RTS_PROMPT), count_cb, out);
    case C_NEXT: return ggufref_export_generate_next_token(NULL, NULL);
    case C_RESET: return ggufref_export_reset_context();
    case C_FREE: return ggufref_export_free_model();
    case C_DIAG: return ggufref_export_diagnostics(buf, sizeof buf, &len);
    case C_LAST_ERROR: return ggufref_export_last_error(&e);
    case C_RESULT: return ggufref_export_result(buf, sizeof buf, &len);
    case C_CANCEL: return ggufref_export_cancel();
    case C_STATE: {
        int r = ggufref_export_state(&st);
        *out = (int)st;
        return r;
    }
    default: abort();
    }
}

typedef struct worker {
    int thread;
    uint64_t seed;
    event *events; /* OPS_PER_THREAD of them */
} worker;

static void *worker_main(void *arg) {
    worker *w = arg;
    uint64_t rng = w->seed;
    unsigned total = 0;
    for (int i = 0; i < C_COUNT; i++) total += cop_weight[i];
    for (int k = 0; k < OPS_PER_THREAD; k++) {
        unsigned x = (unsigned)(rts_splitmix(&rng) % total);
        int op = 0;
        while (x >= cop_weight[op]) x -= cop_weight[op++];
        event *e = &w->events[k];
        e->op = (cop)op;
        e->thread = w->thread;
        e->out = -1;
        e->call = atomic_fetch_add(&g_clock, 1);
        e->status = perform(e->op, &e->out);
        e->ret = atomic_fetch_add(&g_clock, 1);
    }
    return NULL;
}

static void run_history(uint64_t seed, event *events) {
    pthread_t threads[THREADS];
    worker workers[THREADS];
    ggufref_fault_export_reset();
    for (int t = 0; t < THREADS; t++) {
        workers[t] = (worker){t, seed * 1000003u + (uint64_t)t, events + t * OPS_PER_THREAD};
        assert_int_equal(pthread_create(&threads[t], NULL, worker_main, &workers[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) pthread_join(threads[t], NULL);
}

/* ------------------------------------------------------------------------------------- */
/* The sequential model and the linearizability checker                                   */
/* ------------------------------------------------------------------------------------- */

typedef struct mstate {
    uint8_t state;
    uint8_t has_model;
    uint8_t small;    /* configure:ok happened: generate fits the context */
    uint8_t n_tokens; /* of the open request (n_ctx of the fixture is < 256) */
} mstate;

static const rts_row *find(const rts_model *m, rts_op op, rts_cond cond) {
    const rts_row *r = rts_table_find(&rts_g.table, m, op, cond);
    return r != NULL ? r : rts_table_find(&rts_g.table, m, op, RTS_ANY);
}

/* Apply e to *s if the model accepts its status and output. cancel_overlaps: a cancel call
 * overlapped e in real time (the only way a generate may be CANCELLED). */
static bool model_step(mstate *s, const event *e, bool cancel_overlaps) {
    rts_model m = {(ggufref_state)s->state, s->has_model != 0};
    if (e->op == C_STATE) return e->status == GGUFREF_OK && e->out == s->state;
    rts_op op;
    rts_cond cond = RTS_OK;
    switch (e->op) {
    case C_INIT: op = RTS_INIT; break;
    case C_LOAD_OK: op = RTS_LOAD; break;
    case C_LOAD_BAD: op = RTS_LOAD; cond = RTS_REJECTED; break;
    case C_CONF_OK: op = RTS_CONFIGURE; break;
    case C_CONF_BAD: op = RTS_CONFIGURE; cond = RTS_REJECTED; break;
    case C_GENERATE:
        op = RTS_GENERATE;
        if (e->status == GGUFREF_ERR_CANCELLED) {
            if (!cancel_overlaps || !s->small || e->out < 0 || e->out >= RTS_MAX_TOKENS) {
                return false;
            }
            cond = RTS_CANCELLED;
        } else if (!s->small) {
            cond = RTS_OVERFLOW;
        }
        break;
    case C_NEXT:
        op = RTS_NEXT;
        if ((size_t)s->n_tokens + 1 > rts_g.env.n_ctx) cond = RTS_OVERFLOW;
        break;
    case C_RESET: op = RTS_RESET; break;
    case C_FREE: op = RTS_FREE; break;
    case C_DIAG: op = RTS_DIAG; break;
    case C_LAST_ERROR: op = RTS_LAST_ERROR; break;
    case C_RESULT: op = RTS_RESULT; break;
    case C_CANCEL: op = RTS_CANCEL; break;
    default: return false;
    }
    const rts_row *row = find(&m, op, cond);
    if (row == NULL) return false;
    int want = row->status == RTS_REJECTED_STATUS ? rts_rejected_status(op) : row->status;
    if (e->status != want) return false;
    if (e->op == C_GENERATE && want == GGUFREF_OK && e->out != RTS_MAX_TOKENS) return false;
    rts_model_apply(&m, row);
    bool ok = want == GGUFREF_OK;
    if (e->op == C_CONF_OK && ok) s->small = 1;
    if ((e->op == C_LOAD_OK || e->op == C_RESET || e->op == C_FREE) && ok) s->n_tokens = 0;
    if (e->op == C_GENERATE && (ok || want == GGUFREF_ERR_CANCELLED)) {
        s->n_tokens = (uint8_t)(rts_g.env.n_prompt + (size_t)e->out);
    }
    if (e->op == C_NEXT && ok) s->n_tokens++;
    s->state = (uint8_t)m.state;
    s->has_model = m.has_model;
    return true;
}

/* Memo of visited (linearized set, model state): open addressing, generation-tagged. */
#define MEMO_BITS 18
typedef struct memo_entry {
    uint64_t mask;
    uint32_t model;
    uint32_t gen;
} memo_entry;
static memo_entry g_memo[1u << MEMO_BITS];
static uint32_t g_memo_gen;

static uint32_t pack(const mstate *s) {
    return (uint32_t)s->state | (uint32_t)s->has_model << 8 | (uint32_t)s->small << 9 |
           (uint32_t)s->n_tokens << 16;
}

/* true if newly inserted; false if seen (or the table is full: then keep searching). */
static bool memo_insert(uint64_t mask, uint32_t model) {
    uint64_t h = (mask ^ ((uint64_t)model << 32)) * 0x9e3779b97f4a7c15ull;
    for (size_t probe = 0; probe < 64; probe++) {
        memo_entry *e = &g_memo[((h >> (64 - MEMO_BITS)) + probe) & ((1u << MEMO_BITS) - 1)];
        if (e->gen != g_memo_gen) {
            *e = (memo_entry){mask, model, g_memo_gen};
            return true;
        }
        if (e->mask == mask && e->model == model) return false;
    }
    return true;
}

typedef struct history {
    const event *ev;
    size_t n;
    bool cancel_overlaps[64];
    uint64_t steps;
} history;

static bool search(history *h, uint64_t done, mstate s) {
    if (done == (h->n == 64 ? UINT64_MAX : (1ull << h->n) - 1)) return true;
    if (!memo_insert(done, pack(&s))) return false;
    h->steps++;
    uint64_t first_ret = UINT64_MAX;
    for (size_t i = 0; i < h->n; i++) {
        if (!(done >> i & 1) && h->ev[i].ret < first_ret) first_ret = h->ev[i].ret;
    }
    for (size_t i = 0; i < h->n; i++) { /* minimal calls: invoked before any pending return */
        if (done >> i & 1 || h->ev[i].call > first_ret) continue;
        mstate t = s;
        if (model_step(&t, &h->ev[i], h->cancel_overlaps[i]) && search(h, done | 1ull << i, t)) {
            return true;
        }
    }
    return false;
}

/* Is the history linearizable from an UNINITIALIZED export layer? */
static bool linearizable(const event *ev, size_t n, uint64_t *steps) {
    history h = {ev, n, {0}, 0};
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            if (ev[j].op == C_CANCEL && ev[j].call < ev[i].ret && ev[j].ret > ev[i].call) {
                h.cancel_overlaps[i] = true;
            }
        }
    }
    g_memo_gen++;
    mstate s0 = {GGUFREF_STATE_UNINITIALIZED, 0, 0, 0};
    bool ok = search(&h, 0, s0);
    *steps = h.steps;
    return ok;
}

static void print_history(const event *ev, size_t n) {
    for (size_t i = 0; i < n; i++) {
        fprintf(stderr, "  t%d [%4llu, %4llu] %-20s -> %s out %d\n", ev[i].thread,
                (unsigned long long)ev[i].call, (unsigned long long)ev[i].ret, cop_names[ev[i].op],
                ggufref_status_name(ev[i].status), ev[i].out);
    }
}

/* ------------------------------------------------------------------------------------- */
/* Tests                                                                                  */
/* ------------------------------------------------------------------------------------- */

/* R-EXP-002: every recorded history of 8 threads is linearizable. */
static void test_concurrency_histories_are_linearizable(void **state) {
    (void)state;
    RTS_NEED_FIXTURES(rts_g.skip);
    const char *v = getenv("GGUFREF_CONCURRENCY_HISTORIES");
    size_t histories = v != NULL ? (size_t)strtoull(v, NULL, 0) : 200;
    static event ev[N_EVENTS];
    uint64_t steps = 0, max_steps = 0, cancelled = 0, generated = 0;
    clock_t c0 = clock();
    for (size_t k = 0; k < histories; k++) {
        run_history(k + 1, ev);
        uint64_t st;
        if (!linearizable(ev, N_EVENTS, &st)) {
            print_history(ev, N_EVENTS);
            fail_msg("history %zu is not linearizable against the table", k + 1);
        }
        steps += st;
        if (st > max_steps) max_steps = st;
        for (size_t i = 0; i < N_EVENTS; i++) {
            cancelled += ev[i].op == C_GENERATE && ev[i].status == GGUFREF_ERR_CANCELLED;
            generated += ev[i].op == C_GENERATE && ev[i].status == GGUFREF_OK;
        }
    }
    ggufref_fault_export_reset();
    printf("concurrency: %zu histories x %d calls on %d threads linearizable (%llu search "
           "steps, at most %llu per history); %llu generates completed, %llu cancelled "
           "mid-request; %.2f s CPU\n", histories, N_EVENTS, THREADS, (unsigned long long)steps,
           (unsigned long long)max_steps, (unsigned long long)generated,
           (unsigned long long)cancelled, (double)(clock() - c0) / CLOCKS_PER_SEC);
    assert_int_equal(ggufref_fault_alloc_live(), 0);
}

/* A thread that cancels as fast as it can until told to stop. */
static void *cancel_main(void *arg) {
    atomic_bool *stop = arg;
    uint64_t n = 0;
    while (!atomic_load(stop)) {
        int st = ggufref_export_cancel();
        assert_true(st == GGUFREF_OK || st == GGUFREF_ERR_GENERATION_FAILED);
        n++;
    }
    return (void *)(uintptr_t)n;
}

/* R-EXP-007 (issue 16 #1): the lock-free cancel never touches a runtime that another thread's
 * export frees. Here the export layer frees its runtime over and over (a lazy init whose
 * diagnostics allocation fails: settle() destroys the runtime it just made, R-RT-004; and
 * fault_export_reset) while three threads cancel: the cancel used to read that runtime's
 * poisoned flag and set its cancel flag (a heap use-after-free ASan reports in every run, a
 * race TSan reports). Run by the ASan and TSan stages of tools/test-all.sh. */
static void test_concurrency_cancel_never_touches_a_freed_runtime(void **state) {
    (void)state;
    ggufref_fault_export_reset();
    atomic_bool stop;
    atomic_init(&stop, false);
    pthread_t cancellers[3];
    for (int t = 0; t < 3; t++) {
        assert_int_equal(pthread_create(&cancellers[t], NULL, cancel_main, &stop), 0);
    }
    int failed_inits = 0;
    for (int i = 0; i < 100000; i++) {
        ggufref_fault_alloc_fail_at(2); /* 1: the handle, 2: its diagnostics bytes */
        if (ggufref_export_init_runtime() == GGUFREF_ERR_OUT_OF_MEMORY) failed_inits++;
        ggufref_fault_alloc_fail_at(0);
        if (i % 2 == 1) {
            assert_int_equal(ggufref_export_init_runtime(), GGUFREF_OK);
            ggufref_fault_export_reset(); /* frees the initialized runtime */
        }
    }
    atomic_store(&stop, true);
    uintptr_t cancels = 0;
    for (int t = 0; t < 3; t++) {
        void *n;
        assert_int_equal(pthread_join(cancellers[t], &n), 0);
        cancels += (uintptr_t)n;
    }
    ggufref_state st;
    assert_int_equal(ggufref_export_state(&st), GGUFREF_OK);
    assert_int_equal(st, GGUFREF_STATE_UNINITIALIZED); /* every failed init left no runtime */
    assert_int_equal(failed_inits, 100000);
    assert_true(cancels > 0);
    ggufref_fault_export_reset();
    assert_int_equal(ggufref_fault_alloc_live(), 0);
}

/* The checker can fail: histories that no sequential order explains are rejected. */
static void test_concurrency_checker_rejects_impossible_histories(void **state) {
    (void)state;
    RTS_NEED_FIXTURES(rts_g.skip);
    uint64_t steps;
    /* A generate that succeeded before any model was loaded (sequential). */
    event a[2] = {{C_GENERATE, 0, GGUFREF_OK, RTS_MAX_TOKENS, 0, 1},
                  {C_LOAD_OK, 1, GGUFREF_OK, -1, 2, 3}};
    assert_false(linearizable(a, 2, &steps));
    /* The same overlapping the load is still impossible: generate needs configure too. */
    a[0].call = 0;
    a[0].ret = 3;
    a[1].call = 1;
    a[1].ret = 2;
    assert_false(linearizable(a, 2, &steps));
    /* Load, configure, generate overlapping: linearizable in the order load, configure, gen. */
    event b[3] = {{C_GENERATE, 0, GGUFREF_OK, RTS_MAX_TOKENS, 0, 5},
                  {C_CONF_OK, 1, GGUFREF_OK, -1, 1, 4},
                  {C_LOAD_OK, 2, GGUFREF_OK, -1, 2, 3}};
    assert_true(linearizable(b, 3, &steps));
    /* A state read that contradicts real time: READY seen after free returned. */
    event c[3] = {{C_LOAD_OK, 0, GGUFREF_OK, -1, 0, 1},
                  {C_FREE, 0, GGUFREF_OK, -1, 2, 3},
                  {C_STATE, 1, GGUFREF_OK, GGUFREF_STATE_READY, 4, 5}};
    assert_false(linearizable(c, 3, &steps));
    c[2].call = 1; /* overlapping the free: fine */
    assert_true(linearizable(c, 3, &steps));
    /* CANCELLED needs an overlapping cancel. */
    event d[4] = {{C_LOAD_OK, 0, GGUFREF_OK, -1, 0, 1},
                  {C_CONF_OK, 0, GGUFREF_OK, -1, 2, 3},
                  {C_GENERATE, 0, GGUFREF_ERR_CANCELLED, 1, 4, 7},
                  {C_CANCEL, 1, GGUFREF_OK, -1, 8, 9}};
    assert_false(linearizable(d, 4, &steps));
    d[3].call = 5;
    d[3].ret = 6;
    assert_true(linearizable(d, 4, &steps));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrency_checker_rejects_impossible_histories),
        cmocka_unit_test(test_concurrency_histories_are_linearizable),
        cmocka_unit_test(test_concurrency_cancel_never_touches_a_freed_runtime),
    };
    return cmocka_run_group_tests(tests, rts_group_setup, rts_group_teardown);
}
