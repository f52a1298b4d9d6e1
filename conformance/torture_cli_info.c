/*
 * torture_cli_info.c — `ggufref info FILE [--json]` as a process (SPEC R-GGUF-040): exit codes,
 * output on stdout, the one-line error on stderr, and JSON string escaping.
 *
 * Runs $GGUFREF_BUILD_DIR/ggufref (set by ctest); skipped with a reason when it is absent.
 * Input files are written to /tmp with the test builder.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ggufref.h"
#include "gguf_builder.h"

#define PATH_LEN 512

typedef struct run_result {
    int exit_code;
    char out[65536]; /* stdout */
    char err[4096];  /* stderr */
} run_result;

/* The CLI binary, or skip() with a reason. OUT: path. */
static void cli_path(char path[PATH_LEN]) {
    const char *dir = getenv("GGUFREF_BUILD_DIR");
    if (dir == NULL || dir[0] == '\0') {
        print_message("skipped: GGUFREF_BUILD_DIR is not set (run through ctest)\n");
        skip();
    }
    snprintf(path, PATH_LEN, "%s/ggufref", dir);
    if (access(path, X_OK) != 0) {
        print_message("skipped: %s is not built\n", path);
        skip();
    }
}

/* Read at most cap-1 bytes of a file into buf, NUL-terminated. */
static void slurp(const char *path, char *buf, size_t cap) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Run `ggufref ARGS` with stdout and stderr captured. args is already shell-quoted. */
static void run_cli(const char *args, run_result *r) {
    char cli[PATH_LEN];
    cli_path(cli);
    char out_path[] = "/tmp/ggufref_cli_out_XXXXXX";
    char err_path[] = "/tmp/ggufref_cli_err_XXXXXX";
    int fd_out = mkstemp(out_path);
    int fd_err = mkstemp(err_path);
    assert_true(fd_out >= 0 && fd_err >= 0);
    close(fd_out);
    close(fd_err);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>'%s'", cli, args, out_path, err_path);
    int status = system(cmd);
    assert_true(status != -1 && WIFEXITED(status));
    r->exit_code = WEXITSTATUS(status);
    slurp(out_path, r->out, sizeof r->out);
    slurp(err_path, r->err, sizeof r->err);
    unlink(out_path);
    unlink(err_path);
}

/* Write b to a fresh /tmp file. OUT: path. */
static void write_temp(const gb_buf *b, char path[PATH_LEN]) {
    snprintf(path, PATH_LEN, "/tmp/ggufref_cli_info_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(gb_write_file(b, path), 0);
}

/* Write b to a temporary file, run `ggufref info OPTS FILE` on it, remove it. OUT: r, *path
 * (the name the file had, for messages). */
static void run_info(const gb_buf *b, const char *opts, run_result *r, char path[PATH_LEN]) {
    write_temp(b, path);
    char args[PATH_LEN + 64];
    snprintf(args, sizeof args, "info %s '%s'", opts, path);
    run_cli(args, r);
    unlink(path);
}

/* A valid v3 file: one F32 tensor, a long token array, and a key that needs escaping. */
static void build_valid(gb_buf *b) {
    static const char *const tokens[] = {"<unk>", "a", "b", "c", "d", "e", "f", "g", "h", "i"};
    gb_init(b, 3);
    gb_header(b, 1, 4);
    gb_kv_str(b, "general.architecture", "llama");
    gb_kv_str_array(b, "tokenizer.ggml.tokens", tokens, 10);
    gb_kv_u32(b, "weird\"key\n\x01\xff", 7);
    gb_key(b, "test.f32", GGUFREF_TYPE_FLOAT32);
    gb_u32(b, 0x7FC00000u); /* NaN: JSON null */
    gb_tensor t = {"token_embd.weight", 2, {4, 10}, GGUFREF_T_F32, NULL};
    gb_tensor_infos(b, &t, 1, 32);
    gb_tensor_data(b, &t, 1, 32);
}

static void test_cli_info_text(void **state) {
    (void)state;
    gb_buf b;
    build_valid(&b);
    char path[PATH_LEN];
    run_result *r = malloc(sizeof *r);
    assert_non_null(r);
    run_info(&b, "", r, path);
    assert_int_equal(r->exit_code, 0);
    assert_string_equal(r->err, "");
    assert_non_null(strstr(r->out, "version: 3\n"));
    assert_non_null(strstr(r->out, "metadata: 4 keys\n"));
    assert_non_null(strstr(r->out, "arr[str,10] = [\"<unk>\", \"a\", \"b\", \"c\", \"d\", \"e\", "
                                   "\"f\", \"g\", ...]"));
    assert_non_null(strstr(r->out, "weird\"key\\x0a\\x01\\xff"));
    assert_non_null(strstr(r->out, "tensors: 1\n"));
    assert_non_null(strstr(r->out, "token_embd.weight"));
    assert_non_null(strstr(r->out, "4x10"));
    free(r);
    gb_free(&b);
}

static void test_cli_info_json(void **state) {
    (void)state;
    gb_buf b;
    build_valid(&b);
    char path[PATH_LEN];
    run_result *r = malloc(sizeof *r);
    assert_non_null(r);
    run_info(&b, "--json", r, path);
    assert_int_equal(r->exit_code, 0);
    assert_string_equal(r->err, "");
    assert_int_equal(r->out[0], '{');
    assert_non_null(strstr(r->out, "]}\n"));
    assert_non_null(strstr(r->out, "\"n_tensors\": 1"));
    assert_non_null(strstr(r->out, "\"key\": \"weird\\\"key\\n\\u0001\\ufffd\""));
    assert_non_null(strstr(r->out, "\"count\": 10, \"first\": [\"<unk>\""));
    assert_non_null(strstr(r->out, "\"type\": \"f32\", \"value\": null"));
    assert_non_null(strstr(r->out, "\"dims\": [4, 10]"));
    assert_non_null(strstr(r->out, "\"bytes\": 160"));
    free(r);
    gb_free(&b);
}

/* A rejected file: exit 1, nothing on stdout, one line "ggufref: FILE: STATUS at offset N: ". */
static void test_cli_info_malformed(void **state) {
    (void)state;
    gb_buf b;
    gb_init(&b, 3);
    gb_header(&b, 0, 1);
    gb_key(&b, "test.bool", GGUFREF_TYPE_BOOL);
    gb_mark(&b);
    gb_u8(&b, 2);
    char path[PATH_LEN];
    run_result *r = malloc(sizeof *r);
    assert_non_null(r);
    run_info(&b, "--json", r, path);
    assert_int_equal(r->exit_code, 1);
    assert_string_equal(r->out, "");
    char want[PATH_LEN + 64];
    snprintf(want, sizeof want, "ggufref: %s: BAD_VALUE at offset %llu: ", path,
             (unsigned long long)b.mark);
    assert_memory_equal(r->err, want, strlen(want));
    char *newline = strchr(r->err, '\n');
    assert_non_null(newline);
    assert_string_equal(newline, "\n"); /* exactly one line */
    free(r);
    gb_free(&b);
}

static void test_cli_info_missing_file(void **state) {
    (void)state;
    run_result *r = malloc(sizeof *r);
    assert_non_null(r);
    run_cli("info /tmp/ggufref_cli_info_does_not_exist.gguf", r);
    assert_int_equal(r->exit_code, 1);
    assert_string_equal(r->out, "");
    assert_non_null(strstr(r->err, "ggufref: /tmp/ggufref_cli_info_does_not_exist.gguf: IO_ERROR: "));
    free(r);
}

static void test_cli_info_usage(void **state) {
    (void)state;
    run_result *r = malloc(sizeof *r);
    assert_non_null(r);
    run_cli("info", r);
    assert_int_equal(r->exit_code, 2);
    run_cli("info a.gguf b.gguf", r);
    assert_int_equal(r->exit_code, 2);
    run_cli("info --bogus a.gguf", r);
    assert_int_equal(r->exit_code, 2);
    free(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_info_text),
        cmocka_unit_test(test_cli_info_json),
        cmocka_unit_test(test_cli_info_malformed),
        cmocka_unit_test(test_cli_info_missing_file),
        cmocka_unit_test(test_cli_info_usage),
    };
    return cmocka_run_group_tests_name("cli_info", tests, NULL, NULL);
}
