/*
 * pool.c — one shared model, a bounded pool of sessions (SPEC chapter 12, header section 11).
 *
 * Seeds 003/004's pooled runtime, on top of the handle API (runtime.c; nothing calls up here):
 *
 *   ggufref_pool
 *   ├── shared            the model, one reference (R-POOL-001)
 *   ├── slots[max]        one ggufref_session per permit, for the pool's life; a slot is
 *   │                     EMPTY (no runtime), IDLE (kept for reuse, no permit) or HELD
 *   ├── permits           max_sessions - HELD slots (the semaphore, R-POOL-010)
 *   └── queue             acquirers waiting for a permit, first come first served
 *
 * Acquire takes the permit BEFORE it looks at the slots, so a session never goes out without
 * one; a release hands the permit straight to the head of the queue (no barging: a newcomer
 * never overtakes a waiter, R-POOL-014). Runtimes are created and destroyed outside the lock.
 *
 * The library never reads the clock: deadlines are absolute CLOCK_MONOTONIC nanoseconds the
 * caller computed; request time ceilings use the clock the caller set (R-POOL-022).
 */
#define _POSIX_C_SOURCE 200809L /* pthread_condattr_setclock, CLOCK_MONOTONIC */

#include "runtime.h"
#include "threads.h" /* gr_pool_max_threads */

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#ifdef __wasi__
/* wasm32-wasi has one thread (R-EXP-009): nobody else can release a permit while we wait, so
 * a wait ends at once with its deadline, and the locks are plain flags. */
typedef struct { bool held; } gr_pool_mutex;
typedef struct { int unused; } gr_pool_cond;
static int pm_init(gr_pool_mutex *m) { m->held = false; return 0; }
static void pm_lock(gr_pool_mutex *m) { m->held = true; }
static void pm_unlock(gr_pool_mutex *m) { m->held = false; }
static void pm_destroy(gr_pool_mutex *m) { (void)m; }
static int pc_init(gr_pool_cond *c) { (void)c; return 0; }
static void pc_destroy(gr_pool_cond *c) { (void)c; }
static void pc_broadcast(gr_pool_cond *c) { (void)c; }
static int pc_wait(gr_pool_cond *c, gr_pool_mutex *m, uint64_t deadline_ns) {
    (void)c, (void)m, (void)deadline_ns;
    return ETIMEDOUT;
}
#else
#include <pthread.h>
typedef pthread_mutex_t gr_pool_mutex;
typedef pthread_cond_t gr_pool_cond;
static int pm_init(gr_pool_mutex *m) { return pthread_mutex_init(m, NULL); }
static void pm_lock(gr_pool_mutex *m) {
    int rc = pthread_mutex_lock(m);
    assert(rc == 0);
    (void)rc;
}
static void pm_unlock(gr_pool_mutex *m) {
    int rc = pthread_mutex_unlock(m);
    assert(rc == 0);
    (void)rc;
}
static void pm_destroy(gr_pool_mutex *m) { pthread_mutex_destroy(m); }
static int pc_init(gr_pool_cond *c) {
    pthread_condattr_t a;
    if (pthread_condattr_init(&a) != 0) return -1;
    int rc = pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    if (rc == 0) rc = pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
    return rc;
}
static void pc_destroy(gr_pool_cond *c) { pthread_cond_destroy(c); }
static void pc_broadcast(gr_pool_cond *c) { pthread_cond_broadcast(c); }
/* Wait until signalled or deadline_ns (CLOCK_MONOTONIC; UINT64_MAX: no deadline). Returns 0 or
 * ETIMEDOUT; spurious wake-ups return 0 (callers re-check their condition). */
static int pc_wait(gr_pool_cond *c, gr_pool_mutex *m, uint64_t deadline_ns) {
    if (deadline_ns == UINT64_MAX) return pthread_cond_wait(c, m);
    struct timespec ts = {.tv_sec = (time_t)(deadline_ns / 1000000000u),
                          .tv_nsec = (long)(deadline_ns % 1000000000u)};
    return pthread_cond_timedwait(c, m, &ts);
}
#endif

typedef enum gr_slot_state { SLOT_EMPTY = 0, SLOT_IDLE, SLOT_HELD, SLOT_BUILDING } gr_slot_state;
typedef enum gr_limit_hit { HIT_NONE = 0, HIT_STEPS, HIT_TIME } gr_limit_hit;

struct ggufref_session {
    ggufref_pool *pool;
    uint32_t slot;
    gr_slot_state state;      /* guarded by pool->mu */
    ggufref_runtime *rt;      /* NULL when EMPTY or BUILDING; guarded by pool->mu */
    /* per-request ceilings of ggufref_session_generate (holder only) */
    ggufref_token_callback user_cb;
    void *user;
    uint64_t steps, t0;
    gr_limit_hit limit_hit;   /* why the pool cancelled the request, if it did */
};

typedef struct gr_waiter {
    struct gr_waiter *next;
    bool granted;             /* a permit was handed over (R-POOL-014) */
} gr_waiter;

struct ggufref_pool {
    ggufref_shared_model *shared;
    ggufref_pool_limits limits;
    uint32_t n_ctx;           /* of every session: max_context, or the model's */
    uint64_t session_bytes;   /* R-POOL-020 accounting of one session */
    ggufref_clock_fn clock;
    void *clock_user;
    uint32_t n_threads;       /* forward-pass threads of every session (R-POOL-016); 0 = 1 */

    gr_pool_mutex mu;
    gr_pool_cond cond;
    uint32_t permits;
    gr_waiter *head, *tail;
    ggufref_pool_stats stats; /* max_sessions, counters; checked_out/idle/waiting/memory live */
    ggufref_session slots[];  /* max_sessions */
};

/* ------------------------------------------------------------------------------------- */
/* Limits                                                                                 */
/* ------------------------------------------------------------------------------------- */

void ggufref_pool_limits_default(ggufref_pool_limits *out) {
    if (out == NULL) return;
    *out = (ggufref_pool_limits){.max_sessions = 1};
}

/* The lower of two ceilings where 0 means none (R-POOL-024). */
static uint64_t lower(uint64_t a, uint64_t b) {
    if (a == 0) return b;
    if (b == 0) return a;
    return a < b ? a : b;
}

void ggufref_pool_limits_combine(const ggufref_pool_limits *server,
                                 const ggufref_pool_limits *model, ggufref_pool_limits *out) {
    if (server == NULL || model == NULL || out == NULL) return;
    ggufref_pool_limits r;
    r.max_sessions = (uint32_t)lower(server->max_sessions, model->max_sessions);
    r.max_memory = lower(server->max_memory, model->max_memory);
    r.max_exec_ns = lower(server->max_exec_ns, model->max_exec_ns);
    r.max_steps = lower(server->max_steps, model->max_steps);
    r.max_context = (uint32_t)lower(server->max_context, model->max_context);
    *out = r;
}

/* ------------------------------------------------------------------------------------- */
/* Create, destroy                                                                        */
/* ------------------------------------------------------------------------------------- */

/* Model + n live sessions in bytes, saturating. */
static uint64_t accounted(const ggufref_pool *p, uint32_t n) {
    uint64_t sessions;
    if (!gr_mul_u64(p->session_bytes, n, &sessions)) return UINT64_MAX;
    uint64_t total = ggufref_shared_model_size(p->shared) + sessions;
    return total < sessions ? UINT64_MAX : total;
}

ggufref_status ggufref_pool_create(ggufref_shared_model *m, const ggufref_pool_limits *limits,
                                   ggufref_pool **out, ggufref_error *err) {
    ggufref_error local;
    if (err == NULL) err = &local;
    if (out == NULL) return gr_fail(err, GGUFREF_ERR_INVALID_ARGUMENT, UINT64_MAX, "out is NULL");
    *out = NULL;
    if (m == NULL || limits == NULL) {
        return gr_fail(err, GGUFREF_ERR_INVALID_ARGUMENT, UINT64_MAX, "model or limits is NULL");
    }
    if (limits->max_sessions == 0 || limits->max_sessions > (1u << 16)) {
        return gr_fail(err, GGUFREF_ERR_INVALID_ARGUMENT, UINT64_MAX,
                       "max_sessions %u is outside [1, 65536]", (unsigned)limits->max_sessions);
    }
    uint64_t per;
    ggufref_status st = ggufref_runtime_session_bytes(m, limits->max_context, &per);
    if (st != GGUFREF_OK) {
        return gr_fail(err, st == GGUFREF_ERR_OUT_OF_MEMORY ? GGUFREF_ERR_LIMIT_EXCEEDED : st,
                       UINT64_MAX, "max_context %u is not a context this model can have",
                       (unsigned)limits->max_context);
    }
    size_t size;
    if (!gr_mul_size(limits->max_sessions, sizeof(ggufref_session), &size) ||
        !gr_add_size(size, sizeof(ggufref_pool), &size)) {
        return gr_fail(err, GGUFREF_ERR_OUT_OF_MEMORY, UINT64_MAX, "pool too large");
    }
    ggufref_pool *p = gr_calloc(1, size);
    if (p == NULL) return gr_fail(err, GGUFREF_ERR_OUT_OF_MEMORY, UINT64_MAX, "out of memory for the pool");
    p->shared = m;
    p->limits = *limits;
    ggufref_model_info in;
    ggufref_model_get_info(ggufref_shared_model_model(m), &in);
    p->n_ctx = limits->max_context != 0 ? limits->max_context : in.n_ctx_train;
    p->session_bytes = per;
    if (limits->max_memory != 0 && accounted(p, 1) > limits->max_memory) {
        uint64_t need = accounted(p, 1);
        gr_free(p);
        return gr_fail(err, GGUFREF_ERR_LIMIT_EXCEEDED, UINT64_MAX,
                       "max_memory %llu bytes cannot hold the model and one session (%llu bytes)",
                       (unsigned long long)limits->max_memory, (unsigned long long)need);
    }
    if (pm_init(&p->mu) != 0) {
        gr_free(p);
        return gr_fail(err, GGUFREF_ERR_OUT_OF_MEMORY, UINT64_MAX, "cannot create the pool lock");
    }
    if (pc_init(&p->cond) != 0) {
        pm_destroy(&p->mu);
        gr_free(p);
        return gr_fail(err, GGUFREF_ERR_OUT_OF_MEMORY, UINT64_MAX, "cannot create the pool queue");
    }
    p->permits = limits->max_sessions;
    p->stats.max_sessions = limits->max_sessions;
    p->stats.memory = ggufref_shared_model_size(m);
    for (uint32_t i = 0; i < limits->max_sessions; i++) {
        p->slots[i] = (ggufref_session){.pool = p, .slot = i, .state = SLOT_EMPTY};
    }
    ggufref_shared_model_retain(m);
    *out = p;
    return GGUFREF_OK;
}

ggufref_status ggufref_pool_destroy(ggufref_pool *p) {
    if (p == NULL) return GGUFREF_OK;
    pm_lock(&p->mu);
    bool busy = p->stats.checked_out > 0 || p->head != NULL;
    pm_unlock(&p->mu);
    if (busy) return GGUFREF_ERR_INVALID_STATE;
    for (uint32_t i = 0; i < p->limits.max_sessions; i++) ggufref_runtime_destroy(p->slots[i].rt);
    pc_destroy(&p->cond);
    pm_destroy(&p->mu);
    ggufref_shared_model_release(p->shared);
    gr_free(p);
    return GGUFREF_OK;
}

void ggufref_pool_set_clock(ggufref_pool *p, ggufref_clock_fn clock, void *user) {
    if (p == NULL) return;
    pm_lock(&p->mu);
    p->clock = clock;
    p->clock_user = user;
    pm_unlock(&p->mu);
}

void ggufref_pool_get_stats(ggufref_pool *p, ggufref_pool_stats *out) {
    if (out == NULL) return;
    memset(out, 0, sizeof *out);
    if (p == NULL) return;
    pm_lock(&p->mu);
    *out = p->stats;
    pm_unlock(&p->mu);
}

/* ------------------------------------------------------------------------------------- */
/* Permits (R-POOL-010, R-POOL-014)                                                       */
/* ------------------------------------------------------------------------------------- */

/* Unlink w from the queue (it timed out before a permit reached it). Under mu. */
static void queue_remove(ggufref_pool *p, gr_waiter *w) {
    gr_waiter **link = &p->head, *prev = NULL;
    while (*link != w) {
        prev = *link;
        link = &(*link)->next;
    }
    *link = w->next;
    if (p->tail == w) p->tail = prev;
    p->stats.waiting--;
}

/* Take a permit, first come first served, until deadline_ns. Under mu. */
static ggufref_status permit_take(ggufref_pool *p, uint64_t deadline_ns) {
    if (p->permits > 0 && p->head == NULL) {
        p->permits--;
        return GGUFREF_OK;
    }
    if (deadline_ns == 0) {
        p->stats.timeouts++;
        return GGUFREF_ERR_DEADLINE_EXCEEDED;
    }
    gr_waiter w = {.next = NULL, .granted = false};
    if (p->tail != NULL) p->tail->next = &w;
    else p->head = &w;
    p->tail = &w;
    p->stats.waiting++;
    while (!w.granted) {
        if (pc_wait(&p->cond, &p->mu, deadline_ns) == ETIMEDOUT && !w.granted) {
            queue_remove(p, &w);
            p->stats.timeouts++;
            return GGUFREF_ERR_DEADLINE_EXCEEDED;
        }
    }
    return GGUFREF_OK; /* the releaser popped w and handed its permit over */
}

/* Give a permit back: to the head waiter if any, else to the pool. Under mu. */
static void permit_give(ggufref_pool *p) {
    gr_waiter *w = p->head;
    if (w == NULL) {
        p->permits++;
        return;
    }
    p->head = w->next;
    if (p->head == NULL) p->tail = NULL;
    p->stats.waiting--;
    w->granted = true;
    pc_broadcast(&p->cond);
}

/* ------------------------------------------------------------------------------------- */
/* Acquire, release, drop                                                                 */
/* ------------------------------------------------------------------------------------- */

/* The slot a permit holder gets: the lowest IDLE one (reuse), else the lowest EMPTY one. One
 * of them exists: slots = max_sessions >= HELD + permits taken. Under mu. */
static ggufref_session *slot_pick(ggufref_pool *p) {
    ggufref_session *empty = NULL;
    for (uint32_t i = 0; i < p->limits.max_sessions; i++) {
        ggufref_session *s = &p->slots[i];
        if (s->state == SLOT_IDLE) return s;
        if (s->state == SLOT_EMPTY && empty == NULL) empty = s;
    }
    assert(empty != NULL);
    return empty;
}

/* Live sessions (IDLE, HELD or being built). Under mu. */
static uint32_t live_sessions(const ggufref_pool *p) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->limits.max_sessions; i++) n += p->slots[i].state != SLOT_EMPTY;
    return n;
}

/* R-POOL-016: before any session exists, so every session of the pool has the same count. */
ggufref_status ggufref_pool_set_threads(ggufref_pool *p, uint32_t n_threads) {
    if (p == NULL || n_threads == 0 || n_threads > gr_pool_max_threads()) {
        return GGUFREF_ERR_INVALID_ARGUMENT; /* the bounds of ggufref_runtime_set_threads */
    }
    pm_lock(&p->mu);
    ggufref_status st = GGUFREF_ERR_INVALID_STATE;
    if (live_sessions(p) == 0) {
        p->n_threads = n_threads;
        st = GGUFREF_OK;
    }
    pm_unlock(&p->mu);
    return st;
}

uint32_t ggufref_pool_threads(ggufref_pool *p) {
    if (p == NULL) return 1;
    pm_lock(&p->mu);
    uint32_t n = p->n_threads != 0 ? p->n_threads : 1;
    pm_unlock(&p->mu);
    return n;
}

/* A fresh session's runtime: create, set its threads, init, attach the shared model (outside
 * mu; the threads start with the context, R-POOL-016). */
static ggufref_status session_build(ggufref_pool *p, uint32_t n_threads, ggufref_runtime **out) {
    ggufref_runtime *rt;
    ggufref_status st = ggufref_runtime_create(&rt);
    if (st != GGUFREF_OK) return st;
    if (n_threads > 1) (void)ggufref_runtime_set_threads(rt, n_threads); /* recorded: no model yet */
    st = ggufref_runtime_load_shared(rt, p->shared, p->n_ctx);
    if (st != GGUFREF_OK) {
        ggufref_runtime_destroy(rt);
        return st;
    }
    *out = rt;
    return GGUFREF_OK;
}

ggufref_status ggufref_pool_acquire(ggufref_pool *p, uint64_t deadline_ns,
                                    ggufref_session **out) {
    if (out != NULL) *out = NULL;
    if (p == NULL || out == NULL) return GGUFREF_ERR_INVALID_ARGUMENT;
    pm_lock(&p->mu);
    ggufref_status st = permit_take(p, deadline_ns);
    if (st != GGUFREF_OK) {
        pm_unlock(&p->mu);
        return st;
    }
    ggufref_session *s = slot_pick(p);
    if (s->state == SLOT_IDLE) { /* reuse: scrubbed at release (R-POOL-011) */
        s->state = SLOT_HELD;
        p->stats.idle--;
        p->stats.checked_out++;
        p->stats.reused++;
        pm_unlock(&p->mu);
        *out = s;
        return GGUFREF_OK;
    }
    /* A new session: the memory ceiling is checked before anything is allocated (R-POOL-020). */
    if (p->limits.max_memory != 0 && accounted(p, live_sessions(p) + 1) > p->limits.max_memory) {
        permit_give(p);
        pm_unlock(&p->mu);
        return GGUFREF_ERR_LIMIT_EXCEEDED;
    }
    s->state = SLOT_BUILDING;
    p->stats.memory = accounted(p, live_sessions(p));
    ggufref_clock_fn clock = p->clock;
    void *clock_user = p->clock_user;
    uint32_t n_threads = p->n_threads;
    pm_unlock(&p->mu);

    ggufref_runtime *rt = NULL;
    st = session_build(p, n_threads, &rt);
    if (st == GGUFREF_OK) ggufref_runtime_set_clock(rt, clock, clock_user);

    pm_lock(&p->mu);
    if (st != GGUFREF_OK) {
        s->state = SLOT_EMPTY;
        p->stats.memory = accounted(p, live_sessions(p));
        permit_give(p);
        pm_unlock(&p->mu);
        return st;
    }
    s->rt = rt;
    s->state = SLOT_HELD;
    p->stats.checked_out++;
    p->stats.created++;
    pm_unlock(&p->mu);
    *out = s;
    return GGUFREF_OK;
}

/* Is s a session of p that is checked out? Under mu. */
static bool held_here(const ggufref_pool *p, const ggufref_session *s) {
    return s >= p->slots && s < p->slots + p->limits.max_sessions && s->state == SLOT_HELD;
}

/* Check s in: kept (scrubbed) or dropped. */
static ggufref_status check_in(ggufref_pool *p, ggufref_session *s, bool drop) {
    if (p == NULL || s == NULL) return GGUFREF_ERR_INVALID_ARGUMENT;
    pm_lock(&p->mu);
    if (!held_here(p, s)) {
        pm_unlock(&p->mu);
        return GGUFREF_ERR_INVALID_ARGUMENT;
    }
    ggufref_runtime *rt = s->rt;
    /* R-POOL-012: a trap (POISONED) or a runtime that no longer holds the pool's model (freed,
     * replaced, never loaded) is never reused. */
    if (!drop) {
        drop = ggufref_runtime_state(rt) == GGUFREF_STATE_POISONED || rt->model == NULL ||
               rt->model->shared != p->shared || rt->model->n_ctx != p->n_ctx;
    }
    if (drop) {
        s->rt = NULL; /* from here on a cancel cannot reach rt (R-POOL-013) */
        s->state = SLOT_EMPTY;
        p->stats.dropped++;
        p->stats.memory = accounted(p, live_sessions(p));
    } else {
        gr_runtime_scrub(rt); /* no holder: nobody else touches rt (cancel only sets a flag) */
        s->state = SLOT_IDLE;
        p->stats.idle++;
    }
    s->user_cb = NULL;
    s->user = NULL;
    p->stats.checked_out--;
    permit_give(p);
    pm_unlock(&p->mu);
    if (drop) ggufref_runtime_destroy(rt);
    return GGUFREF_OK;
}

ggufref_status ggufref_pool_release(ggufref_pool *p, ggufref_session *s) {
    return check_in(p, s, false);
}

ggufref_status ggufref_pool_drop(ggufref_pool *p, ggufref_session *s) {
    return check_in(p, s, true);
}

/* ------------------------------------------------------------------------------------- */
/* Sessions                                                                               */
/* ------------------------------------------------------------------------------------- */

ggufref_runtime *ggufref_session_runtime(ggufref_session *s) {
    return s == NULL ? NULL : s->rt;
}

uint32_t ggufref_session_slot(const ggufref_session *s) {
    return s == NULL ? UINT32_MAX : s->slot;
}

ggufref_status ggufref_session_cancel(ggufref_pool *p, ggufref_session *s) {
    if (p == NULL || s == NULL) return GGUFREF_ERR_INVALID_ARGUMENT;
    if (s < p->slots || s >= p->slots + p->limits.max_sessions) return GGUFREF_ERR_INVALID_ARGUMENT;
    pm_lock(&p->mu);
    ggufref_status st = GGUFREF_OK;
    if (s->state == SLOT_HELD) st = ggufref_runtime_cancel(s->rt); /* a flag: never waits */
    pm_unlock(&p->mu);
    return st;
}

/* The pool's wrapper of the holder's token callback: counts steps, watches the clock, and
 * stops the request through the runtime's own cancel flag (R-POOL-021, R-POOL-022). */
static void budget_cb(int32_t token, const char *piece, size_t len, const float *logits,
                      uint32_t n_vocab, void *user) {
    ggufref_session *s = user;
    const ggufref_pool *p = s->pool;
    if (s->user_cb != NULL) s->user_cb(token, piece, len, logits, n_vocab, s->user);
    s->steps++;
    if (s->limit_hit != HIT_NONE) return;
    if (p->limits.max_steps != 0 && s->steps >= p->limits.max_steps) {
        s->limit_hit = HIT_STEPS;
        ggufref_runtime_cancel(s->rt);
    } else if (p->limits.max_exec_ns != 0 && p->clock != NULL &&
               p->clock(p->clock_user) - s->t0 >= p->limits.max_exec_ns) {
        s->limit_hit = HIT_TIME;
        ggufref_runtime_cancel(s->rt);
    }
}

ggufref_status ggufref_session_generate(ggufref_session *s, const char *prompt, size_t len,
                                        ggufref_token_callback cb, void *user) {
    if (s == NULL || s->rt == NULL) return GGUFREF_ERR_INVALID_ARGUMENT;
    ggufref_pool *p = s->pool;
    ggufref_runtime *rt = s->rt;
    uint64_t n_prompt = 0;
    if (p->limits.max_steps != 0 && rt->model != NULL && (prompt != NULL || len == 0)) {
        /* R-POOL-021: a prompt that alone needs max_steps positions is refused up front. */
        size_t n = 0;
        int32_t none; /* capacity 0: only the count is wanted */
        ggufref_status st = ggufref_tokenize(rt->model->model, prompt, len,
                                             rt->model->info.add_bos, &none, 0, &n);
        if ((st == GGUFREF_OK || st == GGUFREF_ERR_LIMIT_EXCEEDED) && n >= p->limits.max_steps) {
            return GGUFREF_ERR_LIMIT_EXCEEDED;
        }
        n_prompt = n;
    }
    s->user_cb = cb;
    s->user = user;
    s->steps = n_prompt;
    s->limit_hit = HIT_NONE;
    s->t0 = p->clock != NULL ? p->clock(p->clock_user) : 0;
    ggufref_status st = ggufref_runtime_generate(rt, prompt, len, budget_cb, s);
    gr_limit_hit hit = s->limit_hit;
    s->user_cb = NULL;
    s->user = NULL;
    if (hit == HIT_NONE) return st;
    if (st == GGUFREF_OK) {
        /* The ceiling fell on the last token: the request is complete; the flag it raised must
         * not cancel the next one (generate clears it after its checks anyway, R-RT-025). */
        return GGUFREF_OK;
    }
    if (st != GGUFREF_ERR_CANCELLED) return st;
    return hit == HIT_STEPS ? GGUFREF_ERR_LIMIT_EXCEEDED : GGUFREF_ERR_DEADLINE_EXCEEDED;
}
