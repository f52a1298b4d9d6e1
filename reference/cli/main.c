/* main.c — `ggufref SUBCOMMAND ...`: dispatch only; each subcommand lives in cmd_*.c. */
#include "cli.h"
#include "ggufref.h"

#include <stdio.h>
#include <string.h>

static int usage(FILE *out) {
    fprintf(out,
            "usage: ggufref COMMAND [ARGS]\n"
            "  info FILE [--json]            header, metadata and tensor table of a GGUF file\n"
            "  generate --model FILE --prompt TEXT [options]   generate text\n"
            "  tokenize --model FILE TEXT    print token ids\n"
            "  serve [--threads N] [--fault-injection]   speak the wire protocol on stdin/stdout\n"
            "  version\n");
    return out == stdout ? 0 : 2;
}

int main(int argc, char **argv) {
    if (argc < 2) return usage(stderr);
    const char *cmd = argv[1];
    if (strcmp(cmd, "info") == 0) return cmd_info(argc - 1, argv + 1);
    if (strcmp(cmd, "generate") == 0) return cmd_generate(argc - 1, argv + 1);
    if (strcmp(cmd, "tokenize") == 0) return cmd_tokenize(argc - 1, argv + 1);
    if (strcmp(cmd, "serve") == 0) return cmd_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("ggufref %s\n", GGUFREF_VERSION_STRING);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        return usage(stdout);
    }
    fprintf(stderr, "ggufref: unknown command '%s'\n", cmd);
    return usage(stderr);
}
