/*
 * torture_pool.c — the pool of SPEC chapter 12 (R-POOL-*): one shared model, a bounded pool of
 * sessions, scrub on release, drop on trap, FIFO waiters with deadlines, ceilings, OOM.
 *
 * Threads: the saturation, isolation and ownership tests run real threads; the suite also runs
 * under ThreadSanitizer in tools/test-all.sh.
 */
#define _POSIX_C_SOURCE 200809L

#include "ggufref.h"

#include "files.h"
#include "hash.h"    /* gr_fnv1a_f32: digests of logits streams */

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#define PROMPT "Once upon a time"

static uint8_t *g_model;
static size_t g_model_len;
static char g_skip[1200];

static int suite_setup(void **state) {
    (void)state;
    const char *src = getenv("GGUFREF_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/golden/models/tiny-f32-mha-untied.gguf", src ? src : ".");
    g_model = (uint8_t *)read_whole_file(path, &g_model_len);
    if (g_model == NULL) snprintf(g_skip, sizeof g_skip, "fixture %s not readable", path);
    return 0;
}

static int suite_teardown(void **state) {
    (void)state;
    free(g_model);
    return 0;
}

#define NEED_MODEL()                                         \
    do {                                                     \
        if (g_skip[0] != 0) {                                \
            fprintf(stderr, "skipped: %s\n", g_skip);        \
            skip();                                          \
        }                                                    \
    } while (0)

static ggufref_shared_model *open_shared(void) {
    ggufref_shared_model *m = NULL;
    ggufref_error err;
    assert_int_equal(ggufref_shared_model_open(g_model, g_model_len, &m, &err), GGUFREF_OK);
    return m;
}

static ggufref_pool *make_pool(ggufref_shared_model *m, uint32_t max_sessions) {
    ggufref_pool_limits lim;
    ggufref_pool_limits_default(&lim);
    lim.max_sessions = max_sessions;
    ggufref_pool *p = NULL;
    assert_int_equal(ggufref_pool_create(m, &lim, &p, NULL), GGUFREF_OK);
    return p;
}

/* A request's observable outcome: tokens, result bytes and a digest of every logits vector. */
typedef struct outcome {
    int32_t tokens[256];
    size_t n_tokens;
    char result[2048];
    size_t result_len;
    uint64_t logits_hash;
    int status;
} outcome;

static void hash_cb(int32_t token, const char *piece, size_t len, const float *logits,
                    uint32_t n_vocab, void *user) {
    (void)token, (void)piece, (void)len;
    uint64_t *h = user;
    *h = gr_fnv1a_f32(*h, logits, n_vocab);
}

static void run_request(ggufref_runtime *rt, const ggufref_sampling *s, outcome *o) {
    memset(o, 0, sizeof *o);
    o->logits_hash = GR_FNV_OFFSET;
    assert_int_equal(ggufref_runtime_configure_sampling(rt, s), GGUFREF_OK);
    o->status = ggufref_runtime_generate(rt, PROMPT, strlen(PROMPT), hash_cb, &o->logits_hash);
    const int32_t *toks;
    ggufref_runtime_tokens(rt, &toks, &o->n_tokens, NULL);
    assert_true(o->n_tokens <= 256);
    if (o->n_tokens > 0) memcpy(o->tokens, toks, o->n_tokens * sizeof *toks);
    ggufref_str r;
    assert_int_equal(ggufref_runtime_result(rt, &r), GGUFREF_OK);
    assert_true(r.len < sizeof o->result);
    memcpy(o->result, r.ptr, r.len);
    o->result_len = r.len;
}

static void sampled(ggufref_sampling *s, uint64_t seed) {
    ggufref_sampling_default(s);
    s->temperature = 0.9f;
    s->top_p = 0.95f;
    s->seed = seed;
    s->max_tokens = 24;
}

static void assert_same_outcome(const outcome *a, const outcome *b) {
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->n_tokens, b->n_tokens);
    assert_memory_equal(a->tokens, b->tokens, a->n_tokens * sizeof a->tokens[0]);
    assert_int_equal(a->result_len, b->result_len);
    assert_memory_equal(a->result, b->result, a->result_len);
    assert_true(a->logits_hash == b->logits_hash);
}

/* The outcome of a request on a plain runtime that copied the model (load_model). */
static void baseline(const ggufref_sampling *s, outcome *o) {
    ggufref_runtime *rt;
    assert_int_equal(ggufref_runtime_create(&rt), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_load_model(rt, g_model, g_model_len), GGUFREF_OK);
    run_request(rt, s, o);
    ggufref_runtime_destroy(rt);
}

/* ------------------------------------------------------------------------------------- */
/* R-POOL-001, R-POOL-002: one shared model                                               */
/* ------------------------------------------------------------------------------------- */

/* R-POOL-001, R-POOL-002: loaded once, refcounted; attached runtimes equal a copying one. */
static void test_shared_model_is_loaded_once_and_refcounted(void **state) {
    (void)state;
    NEED_MODEL();
    ggufref_shared_model *m = open_shared();
    assert_int_equal(ggufref_shared_model_refs(m), 1);
    assert_int_equal(ggufref_shared_model_size(m), g_model_len);
    ggufref_runtime *a, *b;
    assert_int_equal(ggufref_runtime_create(&a), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_create(&b), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_load_shared(a, m, 0), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_load_shared(b, m, 0), GGUFREF_OK);
    assert_int_equal(ggufref_shared_model_refs(m), 3);
    assert_int_equal(ggufref_runtime_state(a), GGUFREF_STATE_READY);
    /* no copy of the model bytes: attaching allocates only the session's bytes */
    uint64_t per;
    assert_int_equal(ggufref_runtime_session_bytes(m, 0, &per), GGUFREF_OK);
    assert_true(per < g_model_len);
    ggufref_shared_model_release(m); /* the runtimes keep it alive */
    assert_int_equal(ggufref_shared_model_refs(m), 2);
    ggufref_sampling s;
    sampled(&s, 7);
    outcome oa, ob, base;
    run_request(a, &s, &oa);
    run_request(b, &s, &ob);
    baseline(&s, &base);
    assert_same_outcome(&oa, &base);
    assert_same_outcome(&ob, &base);
    assert_int_equal(ggufref_runtime_free_model(a), GGUFREF_OK);
    assert_int_equal(ggufref_shared_model_refs(m), 1);
    ggufref_runtime_destroy(a);
    ggufref_runtime_destroy(b); /* last reference: the model is freed (ASan/leak counter) */
}

/* R-POOL-002: a failed attach retains nothing; n_ctx past the model is named. */
static void test_load_shared_rejects_bad_arguments(void **state) {
    (void)state;
    NEED_MODEL();
    ggufref_shared_model *m = open_shared();
    ggufref_runtime *rt;
    assert_int_equal(ggufref_runtime_create(&rt), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_load_shared(rt, NULL, 0), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_runtime_state(rt), GGUFREF_STATE_RECOVERABLE_ERROR);
    ggufref_model_info in;
    ggufref_model_get_info(ggufref_shared_model_model(m), &in);
    assert_int_equal(ggufref_runtime_load_shared(rt, m, in.n_ctx_train + 1),
                     GGUFREF_ERR_INVALID_ARGUMENT);
    ggufref_error e;
    ggufref_runtime_last_error(rt, &e);
    assert_non_null(strstr(e.message, "n_ctx"));
    assert_int_equal(ggufref_shared_model_refs(m), 1); /* nothing retained by a failure */
    assert_int_equal(ggufref_runtime_load_shared(rt, m, 16), GGUFREF_OK);
    ggufref_runtime_destroy(rt);
    ggufref_shared_model_release(m);
}

/* R-POOL-001: the statuses and messages of load_model. */
static void test_shared_model_open_rejects_malformed_bytes(void **state) {
    (void)state;
    NEED_MODEL();
    ggufref_shared_model *m = (void *)1;
    ggufref_error err;
    static const uint8_t junk[] = "GGUX not a model";
    assert_int_equal(ggufref_shared_model_open(junk, sizeof junk, &m, &err), GGUFREF_ERR_BAD_MAGIC);
    assert_null(m);
    assert_int_equal(err.status, GGUFREF_ERR_BAD_MAGIC);
    assert_int_equal(ggufref_shared_model_open(NULL, 5, &m, &err), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_shared_model_open_file("/nonexistent/x.gguf", &m, &err),
                     GGUFREF_ERR_IO);
    assert_non_null(strstr(err.message, "nonexistent"));
}

/* R-POOL-050, R-RT-017: owned bytes become a shared model without a copy: the same model
 * (a session over it has the digest of one over a copied open); malformed or NULL bytes fail
 * as open does, and the handle is consumed in every case (nothing leaks). */
static void test_shared_model_open_owned_takes_the_bytes(void **state) {
    (void)state;
    NEED_MODEL();
    int64_t live0 = ggufref_fault_alloc_live();
    ggufref_model_bytes *mb = NULL;
    assert_int_equal(ggufref_model_bytes_create(g_model_len, &mb), GGUFREF_OK);
    memcpy(ggufref_model_bytes_data(mb), g_model, g_model_len);
    ggufref_shared_model *owned = NULL, *copied = open_shared();
    ggufref_error err;
    assert_int_equal(ggufref_shared_model_open_owned(mb, &owned, &err), GGUFREF_OK);
    assert_int_equal(ggufref_shared_model_size(owned), g_model_len);
    ggufref_runtime *a, *b;
    assert_int_equal(ggufref_runtime_create(&a), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_create(&b), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_load_shared(a, owned, 0), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_load_shared(b, copied, 0), GGUFREF_OK);
    assert_true(ggufref_runtime_digest(a) == ggufref_runtime_digest(b));
    ggufref_runtime_destroy(a);
    ggufref_runtime_destroy(b);
    ggufref_shared_model_release(owned);
    ggufref_shared_model_release(copied);

    static const uint8_t junk[] = "GGUX not a model";
    assert_int_equal(ggufref_model_bytes_create(sizeof junk, &mb), GGUFREF_OK);
    memcpy(ggufref_model_bytes_data(mb), junk, sizeof junk);
    owned = (void *)1;
    assert_int_equal(ggufref_shared_model_open_owned(mb, &owned, &err), GGUFREF_ERR_BAD_MAGIC);
    assert_null(owned);
    assert_int_equal(err.status, GGUFREF_ERR_BAD_MAGIC);
    assert_int_equal(ggufref_shared_model_open_owned(NULL, &owned, &err),
                     GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_model_bytes_create(8, &mb), GGUFREF_OK);
    assert_int_equal(ggufref_shared_model_open_owned(mb, NULL, &err), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_fault_alloc_live(), live0); /* every handle consumed */
}

/* ------------------------------------------------------------------------------------- */
/* R-POOL-011: a released session looks brand new                                        */
/* ------------------------------------------------------------------------------------- */

/* R-POOL-011, R-POOL-010: released, reused, indistinguishable from fresh. */
static void test_released_session_is_scrubbed_like_a_fresh_one(void **state) {
    (void)state;
    NEED_MODEL();
    ggufref_shared_model *m = open_shared();
    ggufref_pool *p = make_pool(m, 2);
    ggufref_session *fresh_s, *used_s;
    assert_int_equal(ggufref_pool_acquire(p, 0, &fresh_s), GGUFREF_OK);
    assert_int_equal(ggufref_pool_acquire(p, 0, &used_s), GGUFREF_OK);
    ggufref_runtime *fresh = ggufref_session_runtime(fresh_s);
    ggufref_runtime *used = ggufref_session_runtime(used_s);
    uint64_t fresh_digest = ggufref_runtime_digest(fresh);
    ggufref_str d;
    assert_int_equal(ggufref_runtime_diagnostics(fresh, &d), GGUFREF_OK);
    char fresh_diag[4096];
    assert_true(d.len < sizeof fresh_diag);
    memcpy(fresh_diag, d.ptr, d.len);
    size_t fresh_diag_len = d.len;

    ggufref_sampling s;
    sampled(&s, 99);
    outcome o;
    run_request(used, &s, &o);
    assert_true(o.n_tokens > 0);
    assert_int_equal(ggufref_runtime_generate(used, NULL, 3, NULL, NULL),
                     GGUFREF_ERR_INVALID_ARGUMENT); /* leaves a last_error */
    uint32_t slot = ggufref_session_slot(used_s);
    assert_int_equal(ggufref_pool_release(p, used_s), GGUFREF_OK);

    ggufref_session *again;
    assert_int_equal(ggufref_pool_acquire(p, 0, &again), GGUFREF_OK);
    assert_int_equal(ggufref_session_slot(again), slot); /* the idle one, reused */
    ggufref_runtime *rt = ggufref_session_runtime(again);
    assert_int_equal(ggufref_runtime_state(rt), GGUFREF_STATE_READY);
    assert_true(ggufref_runtime_digest(rt) == fresh_digest);
    size_t n_tokens = 99;
    ggufref_runtime_tokens(rt, NULL, &n_tokens, NULL);
    assert_int_equal(n_tokens, 0);
    ggufref_str r;
    assert_int_equal(ggufref_runtime_result(rt, &r), GGUFREF_OK);
    assert_int_equal(r.len, 0);
    ggufref_error e;
    ggufref_runtime_last_error(rt, &e);
    assert_int_equal(e.status, GGUFREF_OK);
    assert_string_equal(e.message, "");
    ggufref_sampling got, def;
    ggufref_runtime_get_sampling(rt, &got);
    ggufref_sampling_default(&def);
    assert_true(got.temperature == def.temperature && got.top_k == def.top_k &&
                got.top_p == def.top_p && got.min_p == def.min_p &&
                got.repeat_penalty == def.repeat_penalty &&
                got.repeat_last_n == def.repeat_last_n && got.seed == def.seed &&
                got.max_tokens == def.max_tokens && got.stop_at_eos == def.stop_at_eos);
    assert_int_equal(ggufref_runtime_diagnostics(rt, &d), GGUFREF_OK);
    /* the deterministic part of the diagnostics equals a fresh session's, byte for byte */
    assert_int_equal(d.len, fresh_diag_len);
    assert_memory_equal(d.ptr, fresh_diag, d.len);
    /* and the next request is the same as on a fresh session */
    outcome o2, base;
    run_request(rt, &s, &o2);
    baseline(&s, &base);
    assert_same_outcome(&o2, &base);

    ggufref_pool_stats st;
    ggufref_pool_get_stats(p, &st);
    assert_int_equal(st.created, 2);
    assert_int_equal(st.reused, 1);
    assert_int_equal(ggufref_pool_release(p, again), GGUFREF_OK);
    assert_int_equal(ggufref_pool_release(p, fresh_s), GGUFREF_OK);
    assert_int_equal(ggufref_pool_destroy(p), GGUFREF_OK);
    ggufref_shared_model_release(m);
}

/* ------------------------------------------------------------------------------------- */
/* R-POOL-012: drop on trap                                                               */
/* ------------------------------------------------------------------------------------- */

/* R-POOL-012, R-POOL-015: drop on trap; the others go on. */
static void test_poisoned_session_is_dropped_and_replaced(void **state) {
    (void)state;
    NEED_MODEL();
    ggufref_shared_model *m = open_shared();
    ggufref_pool *p = make_pool(m, 2);
    ggufref_session *a, *b;
    assert_int_equal(ggufref_pool_acquire(p, 0, &a), GGUFREF_OK);
    assert_int_equal(ggufref_pool_acquire(p, 0, &b), GGUFREF_OK);
    ggufref_sampling s;
    sampled(&s, 5);
    outcome before;
    run_request(ggufref_session_runtime(b), &s, &before);

    assert_int_equal(ggufref_runtime_configure_sampling(ggufref_session_runtime(a), &s), GGUFREF_OK);
    ggufref_fault_panic_at("generate.after_token");
    ggufref_status gst = ggufref_runtime_generate(ggufref_session_runtime(a), PROMPT,
                                                  strlen(PROMPT), NULL, NULL);
    ggufref_fault_panic_at(NULL);
    assert_int_equal(gst, GGUFREF_ERR_GENERATION_FAILED);
    assert_int_equal(ggufref_runtime_state(ggufref_session_runtime(a)), GGUFREF_STATE_POISONED);
    assert_int_equal(ggufref_pool_release(p, a), GGUFREF_OK); /* dropped, not kept */
    ggufref_pool_stats st;
    ggufref_pool_get_stats(p, &st);
    assert_int_equal(st.dropped, 1);
    assert_int_equal(st.idle, 0);
    assert_int_equal(st.checked_out, 1);

    /* the other session goes on untouched */
    outcome after;
    run_request(ggufref_session_runtime(b), &s, &after);
    assert_same_outcome(&before, &after);

    /* the pool refills with a fresh session */
    ggufref_session *c;
    assert_int_equal(ggufref_pool_acquire(p, 0, &c), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_state(ggufref_session_runtime(c)), GGUFREF_STATE_READY);
    ggufref_pool_get_stats(p, &st);
    assert_int_equal(st.created, 3);
    outcome fresh;
    run_request(ggufref_session_runtime(c), &s, &fresh);
    assert_same_outcome(&fresh, &before);

    /* an explicit drop, and a session whose model was freed: neither is reused */
    assert_int_equal(ggufref_pool_drop(p, c), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_free_model(ggufref_session_runtime(b)), GGUFREF_OK);
    assert_int_equal(ggufref_pool_release(p, b), GGUFREF_OK);
    ggufref_pool_get_stats(p, &st);
    assert_int_equal(st.dropped, 3);
    assert_int_equal(st.idle, 0);
    assert_int_equal(st.checked_out, 0);
    /* releasing twice, or a session of no pool, is refused without effect */
    assert_int_equal(ggufref_pool_release(p, b), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_pool_destroy(p), GGUFREF_OK);
    ggufref_shared_model_release(m);
}

/* ------------------------------------------------------------------------------------- */
/* R-POOL-010, R-POOL-014: permits, FIFO, deadlines                                       */
/* ------------------------------------------------------------------------------------- */

static uint64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* R-POOL-014, R-POOL-010: DEADLINE_EXCEEDED (23) at the deadline; recovers after release. */
static void test_acquire_deadline_is_typed(void **state) {
    (void)state;
    NEED_MODEL();
    ggufref_shared_model *m = open_shared();
    ggufref_pool *p = make_pool(m, 1);
    ggufref_session *a, *b = (void *)1;
    assert_int_equal(ggufref_pool_acquire(p, 0, &a), GGUFREF_OK);
    assert_int_equal(ggufref_pool_acquire(p, 0, &b), GGUFREF_ERR_DEADLINE_EXCEEDED);
    assert_null(b);
    uint64_t t0 = mono_ns();
    assert_int_equal(ggufref_pool_acquire(p, t0 + 20000000u, &b), GGUFREF_ERR_DEADLINE_EXCEEDED);
    assert_true(mono_ns() - t0 >= 20000000u);
    ggufref_pool_stats st;
    ggufref_pool_get_stats(p, &st);
    assert_int_equal(st.timeouts, 2);
    assert_int_equal(st.waiting, 0);
    assert_int_equal(st.checked_out, 1);
    assert_int_equal(ggufref_pool_destroy(p), GGUFREF_ERR_INVALID_STATE); /* a session is out */
    assert_int_equal(ggufref_pool_release(p, a), GGUFREF_OK);
    assert_int_equal(ggufref_pool_acquire(p, 0, &b), GGUFREF_OK); /* recovers after release */
    assert_int_equal(ggufref_pool_release(p, b), GGUFREF_OK);
    assert_int_equal(ggufref_pool_destroy(p), GGUFREF_OK);
    ggufref_shared_model_release(m);
}

#define N_WAITERS 6

typedef struct fifo_ctx {
    ggufref_pool *p;
    pthread_mutex_t mu;
    int order[N_WAITERS];
    int n_served;
} fifo_ctx;

typedef struct fifo_arg {
    fifo_ctx *c;
    int id;
} fifo_arg;

static void *fifo_waiter(void *arg) {
    fifo_arg *a = arg;
    ggufref_session *s;
    ggufref_status st = ggufref_pool_acquire(a->c->p, UINT64_MAX, &s);
    if (st != GGUFREF_OK) return (void *)1;
    pthread_mutex_lock(&a->c->mu);
    a->c->order[a->c->n_served++] = a->id;
    pthread_mutex_unlock(&a->c->mu);
    ggufref_pool_release(a->c->p, s);
    return NULL;
}

static void wait_for_waiters(ggufref_pool *p, uint32_t n) {
    for (;;) {
        ggufref_pool_stats st;
        ggufref_pool_get_stats(p, &st);
        if (st.waiting == n) return;
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
}

/* R-POOL-014: FIFO, no barging. */
static void test_waiters_are_served_first_come_first_served(void **state) {
    (void)state;
    NEED_MODEL();
    ggufref_shared_model *m = open_shared();
    fifo_ctx c = {.p = make_pool(m, 1)};
    pthread_mutex_init(&c.mu, NULL);
    ggufref_session *held;
    assert_int_equal(ggufref_pool_acquire(c.p, 0, &held), GGUFREF_OK);
    pthread_t th[N_WAITERS];
    fifo_arg args[N_WAITERS];
    for (int i = 0; i < N_WAITERS; i++) {
        args[i] = (fifo_arg){&c, i};
        assert_int_equal(pthread_create(&th[i], NULL, fifo_waiter, &args[i]), 0);
        wait_for_waiters(c.p, (uint32_t)i + 1); /* queued in id order */
    }
    /* the permit goes to the head waiter; a newcomer never overtakes the queue (no barging):
     * it gets a permit only once every waiter has been served */
    assert_int_equal(ggufref_pool_release(c.p, held), GGUFREF_OK);
    ggufref_session *late = NULL;
    ggufref_status lst = ggufref_pool_acquire(c.p, 0, &late);
    if (lst == GGUFREF_OK) {
        pthread_mutex_lock(&c.mu);
        int served = c.n_served;
        pthread_mutex_unlock(&c.mu);
        assert_int_equal(served, N_WAITERS);
        assert_int_equal(ggufref_pool_release(c.p, late), GGUFREF_OK);
    } else {
        assert_int_equal(lst, GGUFREF_ERR_DEADLINE_EXCEEDED);
    }
    for (int i = 0; i < N_WAITERS; i++) {
        void *rv;
        pthread_join(th[i], &rv);
        assert_null(rv);
    }
    assert_int_equal(c.n_served, N_WAITERS);
    for (int i = 0; i < N_WAITERS; i++) assert_int_equal(c.order[i], i);
    assert_int_equal(ggufref_pool_destroy(c.p), GGUFREF_OK);
    pthread_mutex_destroy(&c.mu);
    ggufref_shared_model_release(m);
}

/* ------------------------------------------------------------------------------------- */
/* R-POOL-015: concurrent sessions are isolated (slot invariance)                         */
/* ------------------------------------------------------------------------------------- */

#define N_THREADS 8
#define ROUNDS 6

typedef struct iso_arg {
    ggufref_pool *p;
    int id;
    outcome expect;      /* what this thread's request gives alone */
    int failures;
    int overlap;         /* a session seen held by two threads at once */
} iso_arg;

static int g_holder[N_THREADS];
static pthread_mutex_t g_holder_mu = PTHREAD_MUTEX_INITIALIZER;

static void *iso_worker(void *arg) {
    iso_arg *a = arg;
    for (int r = 0; r < ROUNDS; r++) {
        ggufref_session *s;
        if (ggufref_pool_acquire(a->p, UINT64_MAX, &s) != GGUFREF_OK) {
            a->failures++;
            continue;
        }
        uint32_t slot = ggufref_session_slot(s);
        pthread_mutex_lock(&g_holder_mu);
        if (g_holder[slot] != 0) a->overlap++;
        g_holder[slot] = a->id + 1;
        pthread_mutex_unlock(&g_holder_mu);
        ggufref_sampling smp;
        sampled(&smp, (uint64_t)a->id * 7919u + 1u);
        outcome o;
        ggufref_runtime *rt = ggufref_session_runtime(s);
        memset(&o, 0, sizeof o);
        o.logits_hash = GR_FNV_OFFSET;
        if (ggufref_runtime_configure_sampling(rt, &smp) != GGUFREF_OK) a->failures++;
        o.status = ggufref_runtime_generate(rt, PROMPT, strlen(PROMPT), hash_cb, &o.logits_hash);
        const int32_t *toks;
        ggufref_runtime_tokens(rt, &toks, &o.n_tokens, NULL);
        if (o.status != a->expect.status || o.logits_hash != a->expect.logits_hash ||
            o.n_tokens != a->expect.n_tokens ||
            memcmp(toks, a->expect.tokens, o.n_tokens * sizeof *toks) != 0) {
            a->failures++;
        }
        if (r % 3 == 2) ggufref_session_cancel(a->p, s); /* a stale cancel never leaks */
        pthread_mutex_lock(&g_holder_mu);
        g_holder[slot] = 0;
        pthread_mutex_unlock(&g_holder_mu);
        if (ggufref_pool_release(a->p, s) != GGUFREF_OK) a->failures++;
    }
    return NULL;
}

/* R-POOL-015, R-POOL-010, R-POOL-013: 8 threads, 3 sessions; stale cancels never leak. */
static void test_concurrent_sessions_match_solo_runs_bit_for_bit(void **state) {
    (void)state;
    NEED_MODEL();
    ggufref_shared_model *m = open_shared();
    ggufref_pool *p = make_pool(m, 3);
    iso_arg args[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        args[i] = (iso_arg){.p = p, .id = i};
        ggufref_sampling smp;
        sampled(&smp, (uint64_t)i * 7919u + 1u);
        baseline(&smp, &args[i].expect);
    }
    pthread_t th[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, iso_worker, &args[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < N_THREADS; i++) {
        assert_int_equal(args[i].failures, 0);
        assert_int_equal(args[i].overlap, 0);
    }
    ggufref_pool_stats st;
    ggufref_pool_get_stats(p, &st);
    assert_int_equal(st.checked_out, 0);
    assert_int_equal(st.waiting, 0);
    assert_true(st.created <= 3);
    assert_int_equal(st.created + st.reused, N_THREADS * ROUNDS);
    assert_int_equal(ggufref_pool_destroy(p), GGUFREF_OK);
    ggufref_shared_model_release(m);
}

/* ------------------------------------------------------------------------------------- */
/* R-POOL-020..024: ceilings                                                              */
/* ------------------------------------------------------------------------------------- */

/* R-POOL-020 */
static void test_memory_ceiling_refuses_before_allocating(void **state) {
    (void)state;
    NEED_MODEL();
    ggufref_shared_model *m = open_shared();
    uint64_t per;
    assert_int_equal(ggufref_runtime_session_bytes(m, 0, &per), GGUFREF_OK);
    ggufref_pool_limits lim;
    ggufref_pool_limits_default(&lim);
    lim.max_sessions = 4;
    lim.max_memory = g_model_len + 2 * per; /* room for two sessions */
    ggufref_pool *p;
    assert_int_equal(ggufref_pool_create(m, &lim, &p, NULL), GGUFREF_OK);
    ggufref_session *a, *b, *c = (void *)1;
    assert_int_equal(ggufref_pool_acquire(p, 0, &a), GGUFREF_OK);
    assert_int_equal(ggufref_pool_acquire(p, 0, &b), GGUFREF_OK);
    int64_t live = ggufref_fault_alloc_live();
    ggufref_fault_alloc_fail_at(0);
    uint64_t before = ggufref_fault_alloc_count();
    assert_int_equal(ggufref_pool_acquire(p, 0, &c), GGUFREF_ERR_LIMIT_EXCEEDED);
    assert_null(c);
    assert_int_equal(ggufref_fault_alloc_count(), before); /* nothing allocated */
    assert_int_equal(ggufref_fault_alloc_live(), live);
    ggufref_pool_stats st;
    ggufref_pool_get_stats(p, &st);
    assert_int_equal(st.checked_out, 2);
    assert_true(st.memory == g_model_len + 2 * per);
    assert_int_equal(ggufref_pool_release(p, a), GGUFREF_OK);
    assert_int_equal(ggufref_pool_acquire(p, 0, &c), GGUFREF_OK); /* recovers: reuses a */
    assert_int_equal(ggufref_pool_release(p, b), GGUFREF_OK);
    assert_int_equal(ggufref_pool_release(p, c), GGUFREF_OK);
    assert_int_equal(ggufref_pool_destroy(p), GGUFREF_OK);
    /* a ceiling below the model and one session refuses the pool itself */
    lim.max_memory = g_model_len + per - 1;
    ggufref_error err;
    p = (void *)1;
    assert_int_equal(ggufref_pool_create(m, &lim, &p, &err), GGUFREF_ERR_LIMIT_EXCEEDED);
    assert_null(p);
    assert_non_null(strstr(err.message, "max_memory"));
    ggufref_shared_model_release(m);
}

/* R-POOL-021 */
static void test_step_budget_stops_a_request_deterministically(void **state) {
    (void)state;
    NEED_MODEL();
    ggufref_shared_model *m = open_shared();
    ggufref_runtime *probe;
    ggufref_pool_limits lim;
    ggufref_pool_limits_default(&lim);
    ggufref_pool *p0 = make_pool(m, 1);
    ggufref_session *s0;
    assert_int_equal(ggufref_pool_acquire(p0, 0, &s0), GGUFREF_OK);
    probe = ggufref_session_runtime(s0);
    ggufref_sampling smp;
    sampled(&smp, 3);
    smp.stop_at_eos = false;
    outcome full;
    run_request(probe, &smp, &full);
    size_t n_prompt;
    ggufref_runtime_tokens(probe, NULL, NULL, &n_prompt);
    assert_int_equal(ggufref_pool_release(p0, s0), GGUFREF_OK);
    assert_int_equal(ggufref_pool_destroy(p0), GGUFREF_OK);

    lim.max_steps = n_prompt + 5;
    ggufref_pool *p;
    assert_int_equal(ggufref_pool_create(m, &lim, &p, NULL), GGUFREF_OK);
    ggufref_session *s;
    assert_int_equal(ggufref_pool_acquire(p, 0, &s), GGUFREF_OK);
    ggufref_runtime *rt = ggufref_session_runtime(s);
    assert_int_equal(ggufref_runtime_configure_sampling(rt, &smp), GGUFREF_OK);
    for (int round = 0; round < 2; round++) { /* the same every time: no timing involved */
        assert_int_equal(ggufref_session_generate(s, PROMPT, strlen(PROMPT), NULL, NULL),
                         GGUFREF_ERR_LIMIT_EXCEEDED);
        size_t n;
        const int32_t *toks;
        ggufref_runtime_tokens(rt, &toks, &n, NULL);
        assert_int_equal(n, n_prompt + 5);
        assert_memory_equal(toks, full.tokens, n * sizeof *toks); /* a prefix of the full run */
        assert_int_equal(ggufref_runtime_state(rt), GGUFREF_STATE_CONTINUATION_READY);
    }
    /* a prompt that alone needs max_steps positions is refused before anything changes */
    uint64_t digest = ggufref_runtime_digest(rt);
    static const char long_prompt[] = "Once upon a time there was a little girl who liked cats";
    assert_int_equal(ggufref_session_generate(s, long_prompt, strlen(long_prompt), NULL, NULL),
                     GGUFREF_ERR_LIMIT_EXCEEDED);
    assert_true(ggufref_runtime_digest(rt) == digest);
    assert_int_equal(ggufref_pool_release(p, s), GGUFREF_OK);
    assert_int_equal(ggufref_pool_destroy(p), GGUFREF_OK);
    ggufref_shared_model_release(m);
}

/* A clock that advances 1 ms per reading: a time ceiling without real time. */
static uint64_t fake_clock(void *user) {
    uint64_t *t = user;
    return *t += 1000000u;
}

/* R-POOL-022 */
static void test_time_ceiling_stops_a_request_with_deadline_exceeded(void **state) {
    (void)state;
    NEED_MODEL();
    ggufref_shared_model *m = open_shared();
    ggufref_pool_limits lim;
    ggufref_pool_limits_default(&lim);
    lim.max_exec_ns = 10000000u; /* 10 fake milliseconds */
    ggufref_pool *p;
    assert_int_equal(ggufref_pool_create(m, &lim, &p, NULL), GGUFREF_OK);
    uint64_t t = 0;
    ggufref_pool_set_clock(p, fake_clock, &t);
    ggufref_session *s;
    assert_int_equal(ggufref_pool_acquire(p, 0, &s), GGUFREF_OK);
    ggufref_runtime *rt = ggufref_session_runtime(s);
    ggufref_sampling smp;
    sampled(&smp, 11);
    smp.stop_at_eos = false;
    smp.max_tokens = 40;
    assert_int_equal(ggufref_runtime_configure_sampling(rt, &smp), GGUFREF_OK);
    assert_int_equal(ggufref_session_generate(s, PROMPT, strlen(PROMPT), NULL, NULL),
                     GGUFREF_ERR_DEADLINE_EXCEEDED);
    size_t n, n_prompt;
    ggufref_runtime_tokens(rt, NULL, &n, &n_prompt);
    assert_true(n > n_prompt && n < n_prompt + 40);
    assert_int_equal(ggufref_runtime_state(rt), GGUFREF_STATE_CONTINUATION_READY);
    /* released, the session is clean; the next request starts its own clock */
    assert_int_equal(ggufref_pool_release(p, s), GGUFREF_OK);
    assert_int_equal(ggufref_pool_destroy(p), GGUFREF_OK);
    ggufref_shared_model_release(m);
}

/* R-POOL-023 */
static void test_context_ceiling_bounds_each_session(void **state) {
    (void)state;
    NEED_MODEL();
    ggufref_shared_model *m = open_shared();
    int32_t none;
    size_t n_prompt;
    assert_int_equal(ggufref_tokenize(ggufref_shared_model_model(m), PROMPT, strlen(PROMPT), true,
                                      &none, 0, &n_prompt),
                     GGUFREF_ERR_LIMIT_EXCEEDED);
    ggufref_pool_limits lim;
    ggufref_pool_limits_default(&lim);
    lim.max_context = (uint32_t)n_prompt + 4;
    ggufref_pool *p;
    assert_int_equal(ggufref_pool_create(m, &lim, &p, NULL), GGUFREF_OK);
    ggufref_session *s;
    assert_int_equal(ggufref_pool_acquire(p, 0, &s), GGUFREF_OK);
    ggufref_runtime *rt = ggufref_session_runtime(s);
    ggufref_sampling smp;
    ggufref_sampling_default(&smp);
    smp.max_tokens = 5;
    assert_int_equal(ggufref_runtime_configure_sampling(rt, &smp), GGUFREF_OK);
    assert_int_equal(ggufref_session_generate(s, PROMPT, strlen(PROMPT), NULL, NULL),
                     GGUFREF_ERR_CONTEXT_OVERFLOW);
    smp.max_tokens = 4;
    assert_int_equal(ggufref_runtime_configure_sampling(rt, &smp), GGUFREF_OK);
    assert_int_equal(ggufref_session_generate(s, PROMPT, strlen(PROMPT), NULL, NULL), GGUFREF_OK);
    assert_int_equal(ggufref_pool_release(p, s), GGUFREF_OK);
    assert_int_equal(ggufref_pool_destroy(p), GGUFREF_OK);
    ggufref_model_info in;
    ggufref_model_get_info(ggufref_shared_model_model(m), &in);
    lim.max_context = in.n_ctx_train + 1;
    p = (void *)1;
    assert_int_equal(ggufref_pool_create(m, &lim, &p, NULL), GGUFREF_ERR_INVALID_ARGUMENT);
    lim.max_context = 0;
    lim.max_sessions = 0;
    assert_int_equal(ggufref_pool_create(m, &lim, &p, NULL), GGUFREF_ERR_INVALID_ARGUMENT);
    ggufref_shared_model_release(m);
}

/* R-POOL-024 */
static void test_limits_combine_lower_wins_and_zero_is_none(void **state) {
    (void)state;
    ggufref_pool_limits server = {.max_sessions = 8, .max_memory = 1000, .max_exec_ns = 0,
                                  .max_steps = 50, .max_context = 0};
    ggufref_pool_limits model = {.max_sessions = 2, .max_memory = 0, .max_exec_ns = 77,
                                 .max_steps = 90, .max_context = 64};
    ggufref_pool_limits out;
    ggufref_pool_limits_combine(&server, &model, &out);
    assert_int_equal(out.max_sessions, 2);
    assert_int_equal(out.max_memory, 1000);
    assert_int_equal(out.max_exec_ns, 77);
    assert_int_equal(out.max_steps, 50);
    assert_int_equal(out.max_context, 64);
    ggufref_pool_limits_combine(&model, &server, &out); /* symmetric */
    assert_int_equal(out.max_sessions, 2);
    assert_int_equal(out.max_memory, 1000);
    assert_int_equal(out.max_steps, 50);
}

/* ------------------------------------------------------------------------------------- */
/* R-POOL-030: OOM at every allocation of create / acquire / release                      */
/* ------------------------------------------------------------------------------------- */

static void assert_consistent(ggufref_pool *p, uint32_t out_expected) {
    ggufref_pool_stats st;
    ggufref_pool_get_stats(p, &st);
    assert_int_equal(st.checked_out, out_expected);
    assert_int_equal(st.waiting, 0);
    assert_true(st.idle + st.checked_out <= st.max_sessions);
}

/* R-POOL-030 */
static void test_oom_at_every_allocation_keeps_the_pool_consistent(void **state) {
    (void)state;
    NEED_MODEL();
    int64_t live0 = ggufref_fault_alloc_live();
    ggufref_shared_model *m = open_shared();
    int points = 0;
    for (uint64_t k = 1;; k++) { /* pool_create */
        ggufref_pool_limits lim;
        ggufref_pool_limits_default(&lim);
        lim.max_sessions = 2;
        ggufref_pool *p = NULL;
        ggufref_fault_alloc_fail_at(k);
        ggufref_status st = ggufref_pool_create(m, &lim, &p, NULL);
        bool fired = ggufref_fault_alloc_fired();
        ggufref_fault_alloc_fail_at(0);
        if (!fired) {
            assert_int_equal(st, GGUFREF_OK);
            ggufref_pool_destroy(p);
            break;
        }
        assert_int_equal(st, GGUFREF_ERR_OUT_OF_MEMORY);
        assert_null(p);
        assert_int_equal(ggufref_shared_model_refs(m), 1);
        points++;
    }
    ggufref_pool *p = make_pool(m, 2);
    for (uint64_t k = 1;; k++) { /* acquire of a fresh session */
        ggufref_session *s = (void *)1;
        ggufref_fault_alloc_fail_at(k);
        ggufref_status st = ggufref_pool_acquire(p, 0, &s);
        bool fired = ggufref_fault_alloc_fired();
        ggufref_fault_alloc_fail_at(0);
        if (!fired) {
            assert_int_equal(st, GGUFREF_OK);
            assert_consistent(p, 1);
            /* release and re-acquire (reuse) allocate nothing */
            ggufref_fault_alloc_fail_at(1);
            assert_int_equal(ggufref_pool_release(p, s), GGUFREF_OK);
            assert_int_equal(ggufref_pool_acquire(p, 0, &s), GGUFREF_OK);
            assert_false(ggufref_fault_alloc_fired());
            ggufref_fault_alloc_fail_at(0);
            assert_int_equal(ggufref_pool_release(p, s), GGUFREF_OK);
            break;
        }
        assert_int_equal(st, GGUFREF_ERR_OUT_OF_MEMORY);
        assert_null(s);
        assert_consistent(p, 0);
        ggufref_pool_stats stats;
        ggufref_pool_get_stats(p, &stats);
        assert_true(stats.memory == g_model_len); /* nothing left accounted */
        points++;
    }
    assert_true(points > 5);
    assert_int_equal(ggufref_pool_destroy(p), GGUFREF_OK);
    ggufref_shared_model_release(m);
    assert_int_equal(ggufref_fault_alloc_live(), live0); /* nothing leaked */
}

/* R-POOL-001, R-POOL-010, R-POOL-013: every entry point refuses bad arguments without effect. */
static void test_pool_api_refuses_bad_arguments(void **state) {
    (void)state;
    NEED_MODEL();
    ggufref_shared_model *m = open_shared();
    ggufref_pool_limits lim;
    ggufref_pool_limits_default(&lim);
    ggufref_pool_limits_default(NULL);
    ggufref_pool_limits_combine(NULL, &lim, &lim);
    ggufref_pool_limits_combine(&lim, NULL, &lim);
    ggufref_pool_limits_combine(&lim, &lim, NULL);
    ggufref_pool *p = (void *)1;
    ggufref_error err;
    assert_int_equal(ggufref_pool_create(m, &lim, NULL, &err), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_pool_create(NULL, &lim, &p, NULL), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_null(p);
    assert_int_equal(ggufref_pool_create(m, NULL, &p, &err), GGUFREF_ERR_INVALID_ARGUMENT);
    lim.max_sessions = (1u << 16) + 1;
    assert_int_equal(ggufref_pool_create(m, &lim, &p, &err), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "max_sessions"));
    assert_int_equal(ggufref_shared_model_refs(m), 1);

    p = make_pool(m, 1);
    ggufref_session *s = (void *)1;
    assert_int_equal(ggufref_pool_acquire(NULL, 0, &s), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_null(s);
    assert_int_equal(ggufref_pool_acquire(p, 0, NULL), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_pool_release(NULL, NULL), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_pool_release(p, NULL), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_pool_drop(p, NULL), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_session_cancel(NULL, NULL), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_null(ggufref_session_runtime(NULL));
    assert_int_equal(ggufref_session_slot(NULL), UINT32_MAX);
    assert_int_equal(ggufref_session_generate(NULL, PROMPT, strlen(PROMPT), NULL, NULL),
                     GGUFREF_ERR_INVALID_ARGUMENT);
    ggufref_pool_set_clock(NULL, fake_clock, NULL);
    ggufref_pool_get_stats(p, NULL);
    ggufref_pool_stats st;
    ggufref_pool_get_stats(NULL, &st);
    assert_int_equal(st.max_sessions, 0);
    /* a session of another pool, and a session not checked out, are refused */
    ggufref_pool *q = make_pool(m, 1);
    ggufref_session *other;
    assert_int_equal(ggufref_pool_acquire(q, 0, &other), GGUFREF_OK);
    assert_int_equal(ggufref_pool_release(p, other), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_session_cancel(p, other), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_session_cancel(q, other), GGUFREF_OK);
    assert_int_equal(ggufref_pool_release(q, other), GGUFREF_OK);
    assert_int_equal(ggufref_session_cancel(q, other), GGUFREF_OK); /* idle: nothing to cancel */
    assert_int_equal(ggufref_pool_release(q, other), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_pool_destroy(q), GGUFREF_OK);
    assert_int_equal(ggufref_pool_destroy(p), GGUFREF_OK);
    assert_int_equal(ggufref_pool_destroy(NULL), GGUFREF_OK);

    /* shared-model entry points */
    ggufref_shared_model_retain(NULL);
    ggufref_shared_model_release(NULL);
    assert_int_equal(ggufref_shared_model_refs(NULL), 0);
    assert_int_equal(ggufref_shared_model_size(NULL), 0);
    assert_null(ggufref_shared_model_model(NULL));
    assert_int_equal(ggufref_shared_model_open(g_model, g_model_len, NULL, NULL),
                     GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_shared_model_open_file("x", NULL, NULL), GGUFREF_ERR_INVALID_ARGUMENT);
    uint64_t bytes = 1;
    assert_int_equal(ggufref_runtime_session_bytes(NULL, 0, &bytes), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(bytes, 0);
    assert_int_equal(ggufref_runtime_session_bytes(m, 0, NULL), GGUFREF_ERR_INVALID_ARGUMENT);
    ggufref_model_info in;
    ggufref_model_get_info(ggufref_shared_model_model(m), &in);
    assert_int_equal(ggufref_runtime_session_bytes(m, in.n_ctx_train + 1, &bytes),
                     GGUFREF_ERR_INVALID_ARGUMENT);
    ggufref_shared_model_release(m);
}

/* R-POOL-021: with a step ceiling, a NULL prompt is still the runtime's INVALID_ARGUMENT. */
static void test_step_ceiling_leaves_argument_errors_to_the_runtime(void **state) {
    (void)state;
    NEED_MODEL();
    ggufref_shared_model *m = open_shared();
    ggufref_pool_limits lim;
    ggufref_pool_limits_default(&lim);
    lim.max_steps = 1000;
    ggufref_pool *p;
    assert_int_equal(ggufref_pool_create(m, &lim, &p, NULL), GGUFREF_OK);
    ggufref_session *s;
    assert_int_equal(ggufref_pool_acquire(p, 0, &s), GGUFREF_OK);
    assert_int_equal(ggufref_session_generate(s, NULL, 4, NULL, NULL),
                     GGUFREF_ERR_INVALID_ARGUMENT);
    /* a budget far above the request: the request completes as without the pool */
    ggufref_sampling smp;
    sampled(&smp, 21);
    assert_int_equal(ggufref_runtime_configure_sampling(ggufref_session_runtime(s), &smp),
                     GGUFREF_OK);
    assert_int_equal(ggufref_session_generate(s, PROMPT, strlen(PROMPT), NULL, NULL), GGUFREF_OK);
    assert_int_equal(ggufref_pool_release(p, s), GGUFREF_OK);
    assert_int_equal(ggufref_pool_destroy(p), GGUFREF_OK);
    ggufref_shared_model_release(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_model_is_loaded_once_and_refcounted),
        cmocka_unit_test(test_load_shared_rejects_bad_arguments),
        cmocka_unit_test(test_shared_model_open_rejects_malformed_bytes),
        cmocka_unit_test(test_shared_model_open_owned_takes_the_bytes),
        cmocka_unit_test(test_released_session_is_scrubbed_like_a_fresh_one),
        cmocka_unit_test(test_poisoned_session_is_dropped_and_replaced),
        cmocka_unit_test(test_acquire_deadline_is_typed),
        cmocka_unit_test(test_waiters_are_served_first_come_first_served),
        cmocka_unit_test(test_concurrent_sessions_match_solo_runs_bit_for_bit),
        cmocka_unit_test(test_memory_ceiling_refuses_before_allocating),
        cmocka_unit_test(test_step_budget_stops_a_request_deterministically),
        cmocka_unit_test(test_time_ceiling_stops_a_request_with_deadline_exceeded),
        cmocka_unit_test(test_context_ceiling_bounds_each_session),
        cmocka_unit_test(test_limits_combine_lower_wins_and_zero_is_none),
        cmocka_unit_test(test_oom_at_every_allocation_keeps_the_pool_consistent),
        cmocka_unit_test(test_pool_api_refuses_bad_arguments),
        cmocka_unit_test(test_step_ceiling_leaves_argument_errors_to_the_runtime),
    };
    return cmocka_run_group_tests_name("torture_pool", tests, suite_setup, suite_teardown);
}
