/*
 * rt_suite.h — the one cmocka group set-up and teardown of the runtime suites (torture_runtime,
 * torture_concurrency, torture_props, torture_faults, ...): the transition table, the fixtures,
 * and why the fixture tests skip, in one process-wide rts_g.
 *
 *     return cmocka_run_group_tests(tests, rts_group_setup, rts_group_teardown);
 *     ...
 *     RTS_NEED_FIXTURES(rts_g.skip);   // in a test that needs the fixtures
 *
 * A suite with more to set up calls them from its own group functions.
 */
#ifndef GGUFREF_RT_SUITE_H
#define GGUFREF_RT_SUITE_H

#include "rt_support.h"

typedef struct rts_suite {
    rts_table table; /* conformance/transitions.tsv */
    rts_env env;     /* the fixtures */
    char skip[256];  /* why the fixture tests skip; empty when the fixtures loaded */
} rts_suite;

extern rts_suite rts_g;

/* rts_suite_init into rts_g: -1 (the suite fails) when the table cannot be read, else 0. */
int rts_group_setup(void **state);
/* Frees rts_g's fixtures. */
int rts_group_teardown(void **state);

#endif
