/* rt_suite.c — see rt_suite.h. */
#include "rt_suite.h"

rts_suite rts_g;

int rts_group_setup(void **state) {
    (void)state;
    return rts_suite_init(&rts_g.table, &rts_g.env, rts_g.skip, sizeof rts_g.skip) ? 0 : -1;
}

int rts_group_teardown(void **state) {
    (void)state;
    rts_env_free(&rts_g.env);
    return 0;
}
