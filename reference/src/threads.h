/*
 * threads.h — the persistent worker pool of the forward pass (threads.c, SPEC R-NUM-047..049).
 * Not installed, not public.
 *
 * A pool of n threads is the caller plus n - 1 workers that live as long as the pool (created
 * once, by ggufref_context_set_threads, never per call). gr_pool_run hands every thread one
 * part of a job and returns when all parts are done. Parts never share an output element, so
 * the results do not depend on n or on timing: the forward pass splits each matrix product by
 * rows and each step's attention by (token, query head), each computed exactly as with one
 * thread (R-NUM-047).
 *
 * Builds without threads (wasm32-wasi, or -DGGUFREF_NO_THREADS) have only n = 1.
 */
#ifndef GGUFREF_THREADS_H
#define GGUFREF_THREADS_H

#include "internal.h"

typedef struct gr_pool gr_pool;

/* One part of a job: part (0 .. n_parts-1) of n_parts, run by one thread. */
typedef void (*gr_pool_fn)(void *arg, size_t part, size_t n_parts);

/* A pool of n_threads threads (1 .. GGUFREF_MAX_THREADS). n_threads = 1 gives *out = NULL (the
 * caller alone; every function here takes NULL as that pool). INVALID_ARGUMENT for 0, more
 * than the maximum, or more than 1 in a build without threads; OUT_OF_MEMORY when memory or a
 * thread cannot be had (nothing is left behind). OUT: *out. */
ggufref_status gr_pool_create(uint32_t n_threads, gr_pool **out);
/* Stop and join the workers, free the pool. NULL is a no-op. */
void gr_pool_free(gr_pool *pool);
/* The most threads a pool of this build can have: GGUFREF_MAX_THREADS, or 1 without threads. */
uint32_t gr_pool_max_threads(void);
/* Threads of the pool (1 for NULL). */
uint32_t gr_pool_threads(const gr_pool *pool);
/* fn(arg, t, n) for every t < n = gr_pool_threads(pool): t = 0 on the calling thread, the
 * others on the workers; returns when every part has returned. Not re-entrant. */
void gr_pool_run(gr_pool *pool, gr_pool_fn fn, void *arg);

#endif
