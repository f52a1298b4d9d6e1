/*
 * wasi_pthread.h — the pthread calls of exports.c for wasm32-wasi builds (R-EXP-009).
 *
 * wasi-libc has no threads: a WebAssembly instance runs on one thread (the browser Worker or
 * the host that owns it), so the export lock needs no atomic hardware, only its error-checking
 * behaviour. This header gives exports.c the same names with single-threaded bodies: a
 * re-entrant lock still fails with EDEADLK (R-EXP-005), an unlock of a free lock with EPERM,
 * and the once-flag runs its function exactly once. Included only `#ifdef __wasi__`, after the
 * system headers (the names are macros, so they must not reach wasi-libc's own typedefs).
 */
#ifndef GGUFREF_WASI_PTHREAD_H
#define GGUFREF_WASI_PTHREAD_H

#include <errno.h>
#include <stdbool.h>
#include <sys/types.h>

typedef struct gr_wasi_once { bool done; } gr_wasi_once;
typedef struct gr_wasi_mutex { bool held; } gr_wasi_mutex;
typedef struct gr_wasi_mutexattr { int type; } gr_wasi_mutexattr;

#define pthread_once_t gr_wasi_once
#define pthread_mutex_t gr_wasi_mutex
#define pthread_mutexattr_t gr_wasi_mutexattr
#undef PTHREAD_ONCE_INIT
#define PTHREAD_ONCE_INIT {false}
#undef PTHREAD_MUTEX_ERRORCHECK
#define PTHREAD_MUTEX_ERRORCHECK 2

static inline int gr_wasi_once_run(gr_wasi_once *once, void (*fn)(void)) {
    if (!once->done) {
        once->done = true;
        fn();
    }
    return 0;
}

static inline int gr_wasi_attr_init(gr_wasi_mutexattr *a) { a->type = 0; return 0; }
static inline int gr_wasi_attr_destroy(gr_wasi_mutexattr *a) { (void)a; return 0; }
static inline int gr_wasi_attr_settype(gr_wasi_mutexattr *a, int type) { a->type = type; return 0; }

static inline int gr_wasi_mutex_init(gr_wasi_mutex *m, const gr_wasi_mutexattr *a) {
    (void)a; /* always error-checking: the only kind exports.c asks for */
    m->held = false;
    return 0;
}

/* One thread: a held lock can only be held by the caller itself (a re-entrant export). */
static inline int gr_wasi_mutex_lock(gr_wasi_mutex *m) {
    if (m->held) return EDEADLK;
    m->held = true;
    return 0;
}

static inline int gr_wasi_mutex_unlock(gr_wasi_mutex *m) {
    if (!m->held) return EPERM;
    m->held = false;
    return 0;
}

#define pthread_once gr_wasi_once_run
#define pthread_mutexattr_init gr_wasi_attr_init
#define pthread_mutexattr_destroy gr_wasi_attr_destroy
#define pthread_mutexattr_settype gr_wasi_attr_settype
#define pthread_mutex_init gr_wasi_mutex_init
#define pthread_mutex_lock gr_wasi_mutex_lock
#define pthread_mutex_unlock gr_wasi_mutex_unlock

#endif /* GGUFREF_WASI_PTHREAD_H */
