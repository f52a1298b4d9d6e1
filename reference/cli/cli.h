/* cli.h — the `ggufref` command's subcommands, one file each in reference/cli/. Each returns
 * the process exit code: 0 success, 1 runtime/model error (one-line message on stderr),
 * 2 usage error. */
#ifndef GGUFREF_CLI_H
#define GGUFREF_CLI_H

#include <stdbool.h>

int cmd_info(int argc, char **argv);      /* cmd_info.c */
int cmd_generate(int argc, char **argv);  /* cmd_generate.c */
int cmd_tokenize(int argc, char **argv);  /* cmd_generate.c */
int cmd_serve(int argc, char **argv);     /* cmd_serve.c */

/* The option values' parser (cmd_generate.c): true if s is a whole decimal integer in
 * [lo, hi]. OUT: *out. */
bool cli_parse_i64(const char *s, long long lo, long long hi, long long *out);

#endif
