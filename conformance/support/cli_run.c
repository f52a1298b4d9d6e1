/* cli_run.c — see cli_run.h. */
#define _POSIX_C_SOURCE 200809L

#include "cli_run.h"
#include "files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* A fresh empty temp file. OUT: path (a copy of the template, filled in). */
static void temp_file(char *path) {
    int fd = mkstemp(path);
    if (fd < 0) abort();
    close(fd);
}

bool cli_run(const char *args, cli_result *r) {
    memset(r, 0, sizeof *r);
    r->exit_code = -1;
    const char *dir = getenv("GGUFREF_BUILD_DIR");
    char cli[1024];
    if (dir == NULL || dir[0] == '\0') return false;
    int w = snprintf(cli, sizeof cli, "%s/ggufref", dir);
    if (w < 0 || (size_t)w >= sizeof cli || access(cli, X_OK) != 0) return false;
    char out_path[] = "/tmp/ggufref_cli_out_XXXXXX";
    char err_path[] = "/tmp/ggufref_cli_err_XXXXXX";
    temp_file(out_path);
    temp_file(err_path);
    size_t cap = strlen(cli) + strlen(args) + 2 * sizeof out_path + 32;
    char *cmd = malloc(cap);
    if (cmd == NULL) abort();
    snprintf(cmd, cap, "'%s' %s >'%s' 2>'%s'", cli, args, out_path, err_path);
    int status = system(cmd);
    free(cmd);
    if (status != -1 && WIFEXITED(status)) r->exit_code = WEXITSTATUS(status);
    r->out = read_whole_file(out_path, &r->out_len);
    r->err = read_whole_file(err_path, &r->err_len);
    unlink(out_path);
    unlink(err_path);
    if (r->out == NULL || r->err == NULL) abort();
    return true;
}

void cli_result_free(cli_result *r) {
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof *r);
}
