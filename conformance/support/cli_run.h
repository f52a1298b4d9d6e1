/*
 * cli_run.h — run the `ggufref` binary from a test.
 *
 * Tests that exercise the CLI run $GGUFREF_BUILD_DIR/ggufref (ctest sets the variable) with
 * stdout and stderr captured in full; absence of the binary is reported instead of failing, so
 * the caller can skip with a reason. (Whole-file reads and the shared material: files.h.)
 */
#ifndef GGUFREF_CLI_RUN_H
#define GGUFREF_CLI_RUN_H

#include <stdbool.h>
#include <stddef.h>

typedef struct cli_result {
    int exit_code;  /* the process exit status; -1 if it did not exit normally */
    char *out;      /* all of stdout, NUL-terminated (malloc'd) */
    size_t out_len;
    char *err;      /* all of stderr, NUL-terminated (malloc'd) */
    size_t err_len;
} cli_result;

/* Run `ggufref ARGS` (args already shell-quoted). false when the binary is not built or
 * GGUFREF_BUILD_DIR is unset (then *r is empty). Aborts the test process on I/O failure. */
bool cli_run(const char *args, cli_result *r);
void cli_result_free(cli_result *r);

#endif
