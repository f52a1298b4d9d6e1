/*
 * torture_wasi_lock.c — the single-threaded export lock of wasm32-wasi builds
 * (reference/src/wasi_pthread.h, SPEC R-EXP-009), compiled natively: the header is plain C.
 * The same behaviour inside the real module is checked by harness/impls/wasm/lockcheck.mjs
 * (tools/test-all.sh, stage W).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "wasi_pthread.h"

static int g_runs;
static void count_run(void) { g_runs++; }

/* R-EXP-009: the once-flag runs its function exactly once. */
static void test_wasi_lock_once_runs_once(void **state) {
    (void)state;
    pthread_once_t once = PTHREAD_ONCE_INIT;
    g_runs = 0;
    assert_int_equal(pthread_once(&once, count_run), 0);
    assert_int_equal(pthread_once(&once, count_run), 0);
    assert_int_equal(g_runs, 1);
}

/* R-EXP-009, R-EXP-005: a re-entrant lock fails with EDEADLK and leaves the lock held. */
static void test_wasi_lock_reentrant_lock_is_refused(void **state) {
    (void)state;
    pthread_mutexattr_t attr;
    pthread_mutex_t m;
    assert_int_equal(pthread_mutexattr_init(&attr), 0);
    assert_int_equal(pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK), 0);
    assert_int_equal(pthread_mutex_init(&m, &attr), 0);
    assert_int_equal(pthread_mutexattr_destroy(&attr), 0);
    assert_int_equal(pthread_mutex_lock(&m), 0);
    assert_int_equal(pthread_mutex_lock(&m), EDEADLK);
    assert_int_equal(pthread_mutex_unlock(&m), 0);
    assert_int_equal(pthread_mutex_lock(&m), 0); /* free again after the unlock */
    assert_int_equal(pthread_mutex_unlock(&m), 0);
}

/* R-EXP-009: unlocking a free lock is an error (EPERM), as for an error-checking mutex. */
static void test_wasi_lock_unlock_of_free_lock_fails(void **state) {
    (void)state;
    pthread_mutex_t m;
    assert_int_equal(pthread_mutex_init(&m, NULL), 0);
    assert_int_equal(pthread_mutex_unlock(&m), EPERM);
    assert_int_equal(pthread_mutex_lock(&m), 0);
    assert_int_equal(pthread_mutex_unlock(&m), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wasi_lock_once_runs_once),
        cmocka_unit_test(test_wasi_lock_reentrant_lock_is_refused),
        cmocka_unit_test(test_wasi_lock_unlock_of_free_lock_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
