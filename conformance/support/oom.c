/*
 * oom.c — oom_each (oom.h): every allocation of an operation fails in turn, transient and
 * persistent.
 */
#include "oom.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "ggufref.h"

const char *oom_mode_name(oom_mode mode) {
    return mode == OOM_PERSISTENT ? "persistent" : "transient";
}

/* One mode: N = 1, 2, ... until a run makes no failed allocation. Returns that N - 1. */
static uint64_t each_in_mode(oom_mode mode, oom_op op, oom_check check, void *user) {
    int64_t live = ggufref_fault_alloc_live();
    for (uint64_t n = 1;; n++) {
        if (mode == OOM_PERSISTENT) {
            ggufref_fault_alloc_fail_from(n);
        } else {
            ggufref_fault_alloc_fail_at(n);
        }
        oom_run run = {mode, n, false, 0};
        run.status = op(user);
        run.fired = ggufref_fault_alloc_fired();
        ggufref_fault_alloc_fail_at(0);
        check(user, &run);
        if (ggufref_fault_alloc_live() != live) {
            fail_msg("%s fault at allocation %llu: %lld block(s) leaked", oom_mode_name(mode),
                     (unsigned long long)n, (long long)(ggufref_fault_alloc_live() - live));
        }
        if (!run.fired) return n - 1;
    }
}

uint64_t oom_each(oom_op op, oom_check check, void *user) {
    uint64_t transient = each_in_mode(OOM_TRANSIENT, op, check, user);
    uint64_t persistent = each_in_mode(OOM_PERSISTENT, op, check, user);
    assert_int_equal(persistent, transient);
    return transient;
}
