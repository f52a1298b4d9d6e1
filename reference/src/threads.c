/*
 * threads.c — the persistent worker pool (see threads.h; SPEC R-NUM-047..049).
 *
 * A run publishes (fn, arg), bumps the generation and wakes the workers; each worker runs its
 * part and counts itself done; the caller runs part 0, then waits for the count to reach 0.
 * Waiting first spins a short while (a forward pass runs a few dozen jobs per token, microseconds
 * apart, and a sleeping thread takes longer to wake than that), then sleeps on a condition
 * variable, so idle workers cost nothing between requests. Every shared field is written under
 * the mutex or through an atomic with release/acquire ordering.
 */
#include "threads.h"

#if defined(__wasi__) && !defined(GGUFREF_NO_THREADS)
#define GGUFREF_NO_THREADS 1 /* wasi-libc without the threads proposal: one thread */
#endif

#ifdef GGUFREF_NO_THREADS

ggufref_status gr_pool_create(uint32_t n_threads, gr_pool **out) {
    *out = NULL;
    return n_threads == 1 ? GGUFREF_OK : GGUFREF_ERR_INVALID_ARGUMENT;
}
void gr_pool_free(gr_pool *pool) { (void)pool; }
uint32_t gr_pool_max_threads(void) { return 1; }
uint32_t gr_pool_threads(const gr_pool *pool) {
    (void)pool;
    return 1;
}
void gr_pool_run(gr_pool *pool, gr_pool_fn fn, void *arg) {
    (void)pool;
    fn(arg, 0, 1);
}

#else

#include <pthread.h>
#include <stdatomic.h>

/* Iterations of the spin before a wait sleeps (each a pause of ~10-100 cycles). */
#ifndef GR_POOL_SPIN
#define GR_POOL_SPIN 4096
#endif

typedef struct gr_worker {
    gr_pool *pool;
    uint32_t index; /* 1 .. n_threads - 1 */
    pthread_t thread;
} gr_worker;

struct gr_pool {
    uint32_t n_threads;
    gr_worker *workers;     /* [n_threads - 1] */
    pthread_mutex_t mu;
    pthread_cond_t wake;    /* generation changed */
    pthread_cond_t done;    /* pending reached 0 */
    atomic_uint generation; /* bumped by every run (and by free) */
    atomic_uint pending;    /* workers still in the current run */
    atomic_bool stop;
    gr_pool_fn fn;          /* the current run, published before the generation */
    void *arg;
};

static inline void cpu_relax(void) {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_ia32_pause();
#endif
}

static void *worker_main(void *p) {
    gr_worker *w = p;
    gr_pool *pool = w->pool;
    unsigned seen = 0;
    for (;;) {
        unsigned g = atomic_load_explicit(&pool->generation, memory_order_acquire);
        for (int i = 0; g == seen && i < GR_POOL_SPIN; i++) {
            cpu_relax();
            g = atomic_load_explicit(&pool->generation, memory_order_acquire);
        }
        if (g == seen) {
            pthread_mutex_lock(&pool->mu);
            while ((g = atomic_load_explicit(&pool->generation, memory_order_acquire)) == seen) {
                pthread_cond_wait(&pool->wake, &pool->mu);
            }
            pthread_mutex_unlock(&pool->mu);
        }
        seen = g;
        if (atomic_load_explicit(&pool->stop, memory_order_acquire)) return NULL;
        pool->fn(pool->arg, w->index, pool->n_threads);
        if (atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&pool->mu);
            pthread_cond_signal(&pool->done);
            pthread_mutex_unlock(&pool->mu);
        }
    }
}

/* Stop the first n_started workers and free everything. */
static void pool_teardown(gr_pool *pool, uint32_t n_started) {
    pthread_mutex_lock(&pool->mu);
    atomic_store_explicit(&pool->stop, true, memory_order_release);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_release);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mu);
    for (uint32_t i = 0; i < n_started; i++) pthread_join(pool->workers[i].thread, NULL);
    pthread_cond_destroy(&pool->done);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->mu);
    gr_free(pool->workers);
    gr_free(pool);
}

ggufref_status gr_pool_create(uint32_t n_threads, gr_pool **out) {
    *out = NULL;
    if (n_threads == 0 || n_threads > GGUFREF_MAX_THREADS) return GGUFREF_ERR_INVALID_ARGUMENT;
    if (n_threads == 1) return GGUFREF_OK;
    gr_pool *pool = gr_calloc(1, sizeof *pool);
    gr_worker *workers = pool ? gr_calloc(n_threads - 1, sizeof *workers) : NULL;
    if (workers == NULL) {
        gr_free(pool);
        return GGUFREF_ERR_OUT_OF_MEMORY;
    }
    if (pthread_mutex_init(&pool->mu, NULL) != 0) goto fail_mutex;
    if (pthread_cond_init(&pool->wake, NULL) != 0) goto fail_wake;
    if (pthread_cond_init(&pool->done, NULL) != 0) goto fail_done;
    pool->n_threads = n_threads;
    pool->workers = workers;
    atomic_init(&pool->generation, 0);
    atomic_init(&pool->pending, 0);
    atomic_init(&pool->stop, false);
    for (uint32_t i = 0; i < n_threads - 1; i++) {
        workers[i].pool = pool;
        workers[i].index = i + 1;
        if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
            pool_teardown(pool, i);
            return GGUFREF_ERR_OUT_OF_MEMORY;
        }
    }
    *out = pool;
    return GGUFREF_OK;
fail_done:
    pthread_cond_destroy(&pool->wake);
fail_wake:
    pthread_mutex_destroy(&pool->mu);
fail_mutex:
    gr_free(workers);
    gr_free(pool);
    return GGUFREF_ERR_OUT_OF_MEMORY;
}

void gr_pool_free(gr_pool *pool) {
    if (pool != NULL) pool_teardown(pool, pool->n_threads - 1);
}

uint32_t gr_pool_threads(const gr_pool *pool) { return pool ? pool->n_threads : 1; }

uint32_t gr_pool_max_threads(void) { return GGUFREF_MAX_THREADS; }

void gr_pool_run(gr_pool *pool, gr_pool_fn fn, void *arg) {
    if (pool == NULL) {
        fn(arg, 0, 1);
        return;
    }
    pool->fn = fn;
    pool->arg = arg;
    atomic_store_explicit(&pool->pending, pool->n_threads - 1, memory_order_release);
    pthread_mutex_lock(&pool->mu);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_release);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mu);
    fn(arg, 0, pool->n_threads);
    for (int i = 0; i < GR_POOL_SPIN; i++) {
        if (atomic_load_explicit(&pool->pending, memory_order_acquire) == 0) return;
        cpu_relax();
    }
    pthread_mutex_lock(&pool->mu);
    while (atomic_load_explicit(&pool->pending, memory_order_acquire) != 0) {
        pthread_cond_wait(&pool->done, &pool->mu);
    }
    pthread_mutex_unlock(&pool->mu);
}

#endif
