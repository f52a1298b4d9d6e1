/* cmd_generate.c — placeholder until its issue lands. */
#include "cli.h"

#include <stdio.h>

int cmd_generate(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "ggufref: 'generate' is not implemented yet\n");
    return 1;
}

int cmd_tokenize(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "ggufref: 'tokenize' is not implemented yet\n");
    return 1;
}
