/* cmd_info.c — placeholder until its issue lands. */
#include "cli.h"

#include <stdio.h>

int cmd_info(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "ggufref: 'info' is not implemented yet\n");
    return 1;
}
