/* cmd_serve.c — `ggufref serve`: speak the wire protocol (SPEC chapter 9) on stdin/stdout.
 * The protocol itself is the server of reference/serve/ (serve.h), shared with the conformance
 * suite and the fuzz target. */
#include "cli.h"
#include "ggufref.h" /* GGUFREF_MAX_THREADS */
#include "serve.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int usage(FILE *out) {
    fprintf(out,
            "usage: ggufref serve [--threads N] [--fault-injection] [--break NAME]\n"
            "  Reads JSON Lines commands on stdin, writes JSON Lines events on stdout\n"
            "  (SPEC chapter 9). Logs go to stderr.\n"
            "  Sessions (open-session): ceilings from the environment (SPEC R-POOL-040):\n"
            "  GGUFREF_POOL_SIZE (default 4), GGUFREF_MAX_MEMORY (bytes), GGUFREF_MAX_EXEC_MS,\n"
            "  GGUFREF_MAX_STEPS, GGUFREF_MAX_CONTEXT (0 or unset: none).\n"
            "  --threads N        run the forward pass of every runtime (the session-less one\n"
            "                     and each session's) on N threads, 1..%u (SPEC R-PROTO-062;\n"
            "                     the same events for every N); default: the environment's\n"
            "                     GGUFREF_THREADS, else 1\n"
            "  --fault-injection  offer the fault-* commands (fault-injection build only)\n"
            "  --break NAME       misbehave on purpose, for the harness self-test\n"
            "                     (fault-injection build only). NAME is one of:",
            GGUFREF_MAX_THREADS);
    const char *const *names = gr_server_break_names();
    if (names[0] == NULL) fprintf(out, " (none in this build)");
    for (size_t i = 0; names[i] != NULL; i++) fprintf(out, " %s", names[i]);
    fprintf(out, "\n");
    return out == stdout ? 0 : 2;
}

int cmd_serve(int argc, char **argv) {
    gr_server_config config = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--fault-injection") == 0) {
            config.fault_injection = true;
        } else if (strcmp(argv[i], "--break") == 0 && i + 1 < argc) {
            config.break_name = argv[++i];
        } else if (strcmp(argv[i], "--threads") == 0) { /* R-PROTO-062 */
            long long n;
            if (i + 1 >= argc) {
                fprintf(stderr, "ggufref serve: missing value for --threads (an integer in [1, %u])\n",
                        GGUFREF_MAX_THREADS);
                return 2;
            }
            if (!cli_parse_i64(argv[++i], 1, GGUFREF_MAX_THREADS, &n)) {
                fprintf(stderr, "ggufref serve: bad value for --threads: '%s' (an integer in [1, %u])\n",
                        argv[i], GGUFREF_MAX_THREADS);
                return 2;
            }
            config.threads = (unsigned)n;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return usage(stdout);
        } else {
            fprintf(stderr, "ggufref serve: unknown argument '%s'\n", argv[i]);
            return usage(stderr);
        }
    }
    const char *why = NULL;
    gr_server *server = gr_server_create(stdout, &config, &why);
    if (server == NULL) {
        fprintf(stderr, "ggufref serve: %s\n", why);
        return 2;
    }
    int rc = gr_server_run(server, STDIN_FILENO);
    int err = 0;
    const char *failure = gr_server_failure(server, &err);
    if (failure != NULL) { /* R-PROTO-015, R-PROTO-016: one line, non-zero exit */
        fprintf(stderr, "ggufref serve: %s%s%s\n", failure, err != 0 ? ": " : "",
                err != 0 ? strerror(err) : "");
    }
    gr_server_destroy(server);
    return rc;
}
