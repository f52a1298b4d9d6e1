/*
 * exports.c — the process-global export layer (SPEC chapter 8), the seed's wasm_exports:
 *
 *     static RUNTIME: Mutex<Option<Runtime>>
 *
 * One error-checking pthread mutex guards one optional runtime (NULL = UNINITIALIZED). Every
 * export but cancel takes the lock, runs the handle operation of runtime.c and returns its
 * status as an int. A panic inside the critical section (a handle that comes back POISONED, or
 * the export.locked point) poisons the lock for the rest of the process (R-EXP-004); a lock
 * that cannot be taken returns 13 without poisoning (R-EXP-005). This file and the fault hooks
 * are the only process-global state of the library (R-EXP-001).
 */
#define _POSIX_C_SOURCE 200809L /* PTHREAD_MUTEX_ERRORCHECK */

#include "runtime.h"

#include "fault.h"
#include "threads.h" /* gr_pool_max_threads */

#include <string.h>
#ifdef __wasi__
#include "wasi_pthread.h" /* no threads in wasm32-wasi: a single-threaded lock (R-EXP-009) */
#else
#include <pthread.h>
#endif

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t g_lock;
static bool g_lock_ok;                       /* written once under g_once */
static atomic_bool g_poisoned;               /* read lock-free by cancel */
static _Atomic(ggufref_runtime *) g_rt;      /* NULL = UNINITIALIZED; never read by cancel */
/* The cancel flag of every runtime this layer creates (gr_runtime_share_cancel): cancel sets it
 * without reading g_rt, so it never touches a runtime that a lazy init's failure (settle) or
 * fault_export_reset frees meanwhile (R-EXP-007). Process lifetime, like the lock. */
static atomic_bool g_cancel;
/* Threads of every runtime this layer creates (R-EXP-013): a setting of the layer, written
 * under the lock, read lock-free by ggufref_export_threads. */
static _Atomic uint32_t g_threads = 1;

static void lock_init(void) {
    pthread_mutexattr_t attr;
    if (pthread_mutexattr_init(&attr) != 0) return;
    if (pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK) == 0 &&
        pthread_mutex_init(&g_lock, &attr) == 0) {
        g_lock_ok = true;
    }
    pthread_mutexattr_destroy(&attr);
}

/* Take the lock. false: unavailable (R-EXP-005) or poisoned (R-EXP-004), lock not held. */
static bool lock(void) {
    if (pthread_once(&g_once, lock_init) != 0 || !g_lock_ok) return false;
    if (pthread_mutex_lock(&g_lock) != 0) return false; /* EDEADLK: re-entrant call */
    if (atomic_load(&g_poisoned)) {
        pthread_mutex_unlock(&g_lock);
        return false;
    }
    if (gr_panic_point(GR_PANIC_EXPORT_LOCKED)) {
        atomic_store(&g_poisoned, true);
        pthread_mutex_unlock(&g_lock);
        return false;
    }
    return true;
}

/* Release the lock after a handle operation; a handle that panicked poisons it. */
static int unlock(ggufref_status st) {
    ggufref_runtime *rt = atomic_load(&g_rt);
    if (rt != NULL && ggufref_runtime_state(rt) == GGUFREF_STATE_POISONED) {
        atomic_store(&g_poisoned, true);
        st = GGUFREF_ERR_GENERATION_FAILED;
    }
    pthread_mutex_unlock(&g_lock);
    return (int)st;
}

/* The global runtime for a lazy operation (R-EXP-003), created on first use; NULL when the
 * handle cannot be allocated. The caller holds the lock. */
static ggufref_runtime *runtime_for_lazy(void) {
    ggufref_runtime *rt = atomic_load(&g_rt);
    if (rt == NULL && ggufref_runtime_create(&rt) == GGUFREF_OK) {
        gr_runtime_share_cancel(rt, &g_cancel);
        /* no model yet: the count is only recorded, so this cannot fail */
        (void)ggufref_runtime_set_threads(rt, atomic_load(&g_threads));
        atomic_store(&g_rt, rt);
    }
    return rt;
}

/* After a lazy operation: a runtime whose lazy init failed is no runtime value (R-RT-004). */
static ggufref_status settle(ggufref_status st) {
    ggufref_runtime *rt = atomic_load(&g_rt);
    if (rt != NULL && ggufref_runtime_state(rt) == GGUFREF_STATE_UNINITIALIZED) {
        atomic_store(&g_rt, NULL);
        ggufref_runtime_destroy(rt);
    }
    return st;
}

#define GENERATION_FAILED ((int)GGUFREF_ERR_GENERATION_FAILED)
#define OUT_OF_MEMORY GGUFREF_ERR_OUT_OF_MEMORY

/* The body of every lazy export: lock, get or create the runtime, run `call`, settle, unlock. */
#define LAZY_EXPORT(call)                                              \
    do {                                                               \
        if (!lock()) return GENERATION_FAILED;                         \
        ggufref_runtime *rt = runtime_for_lazy();                      \
        ggufref_status st_ = rt == NULL ? OUT_OF_MEMORY : settle(call); \
        return unlock(st_);                                            \
    } while (0)

int ggufref_export_init_runtime(void) { LAZY_EXPORT(ggufref_runtime_init(rt)); }

int ggufref_export_load_model(const void *bytes, size_t len) {
    LAZY_EXPORT(ggufref_runtime_load_model(rt, bytes, len));
}

int ggufref_export_load_model_file(const char *path) {
    LAZY_EXPORT(ggufref_runtime_load_model_file(rt, path));
}

int ggufref_export_configure_sampling(const ggufref_sampling *s) {
    LAZY_EXPORT(ggufref_runtime_configure_sampling(rt, s));
}

int ggufref_export_generate(const char *prompt, size_t len, ggufref_token_callback cb,
                            void *user) {
    LAZY_EXPORT(ggufref_runtime_generate(rt, prompt, len, cb, user));
}

int ggufref_export_generate_next_token(ggufref_token_callback cb, void *user) {
    LAZY_EXPORT(ggufref_runtime_generate_next_token(rt, cb, user));
}
/* R-RT-017: owned model bytes; consumed even when the lock cannot be taken. */
int ggufref_export_load_model_owned(ggufref_model_bytes *m) {
    if (!lock()) {
        ggufref_model_bytes_destroy(m);
        return GENERATION_FAILED;
    }
    ggufref_runtime *rt = runtime_for_lazy();
    ggufref_status st = OUT_OF_MEMORY;
    if (rt == NULL) {
        ggufref_model_bytes_destroy(m);
    } else {
        st = settle(ggufref_runtime_load_model_owned(rt, m));
    }
    return unlock(st);
}
/* R-EXP-010..012: the step budget (added for the browser Worker). */
int ggufref_export_generate_budget(const char *prompt, size_t len, uint32_t budget,
                                   ggufref_token_callback cb, void *user, bool *more) {
    if (more != NULL) *more = false; /* also when the lock is unavailable */
    LAZY_EXPORT(ggufref_runtime_generate_budget(rt, prompt, len, budget, cb, user, more));
}
int ggufref_export_generate_continue(uint32_t budget, ggufref_token_callback cb, void *user,
                                     bool *more) {
    if (more != NULL) *more = false;
    LAZY_EXPORT(ggufref_runtime_generate_continue(rt, budget, cb, user, more));
}

int ggufref_export_evaluate(const int32_t *tokens, size_t n, ggufref_logits_callback cb,
                            void *user) {
    LAZY_EXPORT(ggufref_runtime_evaluate(rt, tokens, n, cb, user));
}

int ggufref_export_reset_context(void) { LAZY_EXPORT(ggufref_runtime_reset_context(rt)); }

int ggufref_export_free_model(void) { LAZY_EXPORT(ggufref_runtime_free_model(rt)); }

/* Copy n bytes out (R-EXP-006). */
static ggufref_status copy_out(void *buf, size_t cap, const void *src, size_t n, size_t *len) {
    if (len != NULL) *len = n;
    if (n > cap || (buf == NULL && n > 0)) return n == 0 ? GGUFREF_OK : GGUFREF_ERR_LIMIT_EXCEEDED;
    if (n > 0) memcpy(buf, src, n);
    return GGUFREF_OK;
}

static ggufref_status diagnostics_copy(ggufref_runtime *rt, char *buf, size_t cap, size_t *len) {
    ggufref_str view;
    ggufref_status st = ggufref_runtime_diagnostics(rt, &view);
    if (len != NULL) *len = 0;
    if (st != GGUFREF_OK) return st;
    return copy_out(buf, cap, view.ptr, view.len, len);
}

int ggufref_export_diagnostics(char *buf, size_t cap, size_t *len) {
    LAZY_EXPORT(diagnostics_copy(rt, buf, cap, len));
}

int ggufref_export_result(char *buf, size_t cap, size_t *len) {
    if (!lock()) return GENERATION_FAILED;
    ggufref_runtime *rt = atomic_load(&g_rt);
    ggufref_str view = {"", 0};
    if (rt != NULL) (void)ggufref_runtime_result(rt, &view);
    return unlock(copy_out(buf, cap, view.ptr, view.len, len));
}

int ggufref_export_tokens(int32_t *buf, size_t cap, size_t *n_tokens, size_t *n_prompt) {
    if (!lock()) return GENERATION_FAILED;
    const int32_t *tokens = NULL;
    size_t n = 0, np = 0;
    ggufref_runtime_tokens(atomic_load(&g_rt), &tokens, &n, &np);
    if (n_prompt != NULL) *n_prompt = np;
    if (n_tokens != NULL) *n_tokens = n;
    ggufref_status st = GGUFREF_OK;
    if (n > cap || (buf == NULL && n > 0)) st = GGUFREF_ERR_LIMIT_EXCEEDED;
    else if (n > 0) memcpy(buf, tokens, n * sizeof *tokens);
    return unlock(st);
}

int ggufref_export_last_error(ggufref_error *out) {
    if (!lock()) return GENERATION_FAILED;
    ggufref_runtime *rt = atomic_load(&g_rt);
    ggufref_status st = GGUFREF_OK;
    if (out == NULL) st = GGUFREF_ERR_INVALID_ARGUMENT;
    else if (rt != NULL) st = ggufref_runtime_last_error(rt, out);
    else *out = (ggufref_error){.status = GGUFREF_OK, .offset = UINT64_MAX};
    return unlock(st);
}

/* R-EXP-004, R-EXP-005: POISONED only for a poisoned lock; an unavailable lock (a call from a
 * token callback) leaves *out as it was: the state cannot be read, and it is not POISONED. */
int ggufref_export_state(ggufref_state *out) {
    if (!lock()) {
        if (out != NULL && atomic_load(&g_poisoned)) *out = GGUFREF_STATE_POISONED;
        return GENERATION_FAILED;
    }
    ggufref_runtime *rt = atomic_load(&g_rt);
    if (out != NULL) *out = rt != NULL ? ggufref_runtime_state(rt) : GGUFREF_STATE_UNINITIALIZED;
    return unlock(GGUFREF_OK);
}

int ggufref_export_digest(uint64_t *out) {
    if (!lock()) return GENERATION_FAILED;
    ggufref_runtime *rt = atomic_load(&g_rt);
    if (out != NULL) {
        ggufref_runtime fresh; /* an absent runtime digests as a new one (R-EXP-003) */
        if (rt == NULL) gr_runtime_init_fields(&fresh);
        *out = ggufref_runtime_digest(rt != NULL ? rt : &fresh);
    }
    return unlock(out != NULL ? GGUFREF_OK : GGUFREF_ERR_INVALID_ARGUMENT);
}

/* Lock-free (R-EXP-007): only the process-lifetime flags are touched, never the runtime. A
 * cancel with no runtime, or before a generate, has no effect: generate clears the flag when
 * its checks have passed (R-RT-025). A runtime poisoned inside an export poisons the lock on
 * the way out (unlock), so g_poisoned answers for it. */
int ggufref_export_cancel(void) {
    if (atomic_load(&g_poisoned)) return GENERATION_FAILED;
    atomic_store(&g_cancel, true);
    return GGUFREF_OK;
}

/* R-EXP-013: a setting, not an operation: no runtime is created for it (a later lazy creation
 * takes the count), the state and the last error never change. */
int ggufref_export_set_threads(uint32_t n_threads) {
    if (!lock()) return GENERATION_FAILED;
    ggufref_runtime *rt = atomic_load(&g_rt);
    ggufref_status st = GGUFREF_OK;
    if (n_threads == 0 || n_threads > gr_pool_max_threads()) {
        st = GGUFREF_ERR_INVALID_ARGUMENT; /* the bounds of ggufref_runtime_set_threads */
    } else if (rt != NULL) {
        st = ggufref_runtime_set_threads(rt, n_threads);
    }
    if (st == GGUFREF_OK) atomic_store(&g_threads, n_threads);
    return unlock(st);
}

uint32_t ggufref_export_threads(void) { return atomic_load(&g_threads); }

#ifdef GGUFREF_FAULT_INJECTION
void ggufref_fault_export_reset(void) {
    if (pthread_once(&g_once, lock_init) != 0 || !g_lock_ok) return;
    if (pthread_mutex_lock(&g_lock) != 0) return;
    ggufref_runtime *rt = atomic_load(&g_rt);
    atomic_store(&g_rt, NULL);
    ggufref_runtime_destroy(rt);
    atomic_store(&g_poisoned, false);
    pthread_mutex_unlock(&g_lock);
}
#else
void ggufref_fault_export_reset(void) {}
#endif
