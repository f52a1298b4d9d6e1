/*
 * oom.h — the allocation-failure loop of the suites (SQLite's do_malloc_test), written once.
 *
 *     uint64_t n = oom_each(op, check, &ctx);
 *
 * runs op(user) with the Nth allocation failing, for N = 1, 2, ... until a run makes no failed
 * allocation, in both modes (SPEC R-FAULT-001):
 *   OOM_TRANSIENT   only the Nth allocation fails; later ones succeed
 *   OOM_PERSISTENT  the Nth and every later allocation fail (memory stays exhausted)
 * After each run, check(user, run) asserts the outcome and releases what op made (a run with
 * run->fired made no failed allocation only when it is the last one: the operation must then
 * have succeeded); then oom_each asserts that no block leaked (live blocks as before the loop).
 * Returns the allocations of the fault-free run (N - 1 of the last run), the same in both modes.
 * The fault hook is disarmed around check.
 */
#ifndef GGUFREF_OOM_H
#define GGUFREF_OOM_H

#include <stdbool.h>
#include <stdint.h>

typedef enum oom_mode { OOM_TRANSIENT, OOM_PERSISTENT } oom_mode;

typedef struct oom_run {
    oom_mode mode;
    uint64_t n;     /* the first allocation that failed (1-based) */
    bool fired;     /* an allocation failed; false: op ran fault-free (the last run) */
    int status;     /* what op returned */
} oom_run;

/* The operation: returns its status (a ggufref_status), keeps its results in *user. */
typedef int (*oom_op)(void *user);
/* The check of one run: asserts (cmocka) and releases what op made. */
typedef void (*oom_check)(void *user, const oom_run *run);

uint64_t oom_each(oom_op op, oom_check check, void *user);

const char *oom_mode_name(oom_mode mode);

#endif
