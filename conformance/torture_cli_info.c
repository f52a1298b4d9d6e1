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
#include <sys/stat.h> /* mkfifo */
#include <unistd.h>

#include "cli_run.h"
#include "ggufref.h"
#include "gguf_builder.h"

#define PATH_LEN 512

/* Run `ggufref ARGS` (already shell-quoted) with stdout and stderr captured, or skip() when the
 * binary is not built; the process must exit normally. OUT: r (cli_result_free it). */
static void run_cli(const char *args, cli_result *r) {
    if (!cli_run(args, r)) {
        print_message("skipped: the ggufref binary is not built (GGUFREF_BUILD_DIR)\n");
        skip();
    }
    assert_int_not_equal(r->exit_code, -1);
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
static void run_info(const gb_buf *b, const char *opts, cli_result *r, char path[PATH_LEN]) {
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

/* `ggufref info OPTS` on build_valid's file: exit 0, nothing on stderr. OUT: r. */
static void run_info_valid(const char *opts, cli_result *r) {
    gb_buf b;
    build_valid(&b);
    char path[PATH_LEN];
    run_info(&b, opts, r, path);
    gb_free(&b);
    assert_int_equal(r->exit_code, 0);
    assert_string_equal(r->err, "");
}

static void test_cli_info_text(void **state) {
    (void)state;
    cli_result r;
    run_info_valid("", &r);
    assert_non_null(strstr(r.out, "version: 3\n"));
    assert_non_null(strstr(r.out, "metadata: 4 keys\n"));
    assert_non_null(strstr(r.out, "arr[str,10] = [\"<unk>\", \"a\", \"b\", \"c\", \"d\", \"e\", "
                                   "\"f\", \"g\", ...]"));
    assert_non_null(strstr(r.out, "weird\"key\\x0a\\x01\\xff"));
    assert_non_null(strstr(r.out, "tensors: 1\n"));
    assert_non_null(strstr(r.out, "token_embd.weight"));
    assert_non_null(strstr(r.out, "4x10"));
    cli_result_free(&r);
}

static void test_cli_info_json(void **state) {
    (void)state;
    cli_result r;
    run_info_valid("--json", &r);
    assert_int_equal(r.out[0], '{');
    assert_non_null(strstr(r.out, "]}\n"));
    assert_non_null(strstr(r.out, "\"n_tensors\": 1"));
    assert_non_null(strstr(r.out, "\"key\": \"weird\\\"key\\n\\u0001\\ufffd\""));
    assert_non_null(strstr(r.out, "\"count\": 10, \"first\": [\"<unk>\""));
    assert_non_null(strstr(r.out, "\"type\": \"f32\", \"value\": null"));
    assert_non_null(strstr(r.out, "\"dims\": [4, 10]"));
    assert_non_null(strstr(r.out, "\"bytes\": 160"));
    cli_result_free(&r);
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
    cli_result r;
    run_info(&b, "--json", &r, path);
    assert_int_equal(r.exit_code, 1);
    assert_string_equal(r.out, "");
    char want[PATH_LEN + 64];
    snprintf(want, sizeof want, "ggufref: %s: BAD_VALUE at offset %llu: ", path,
             (unsigned long long)b.mark);
    assert_memory_equal(r.err, want, strlen(want));
    char *newline = strchr(r.err, '\n');
    assert_non_null(newline);
    assert_string_equal(newline, "\n"); /* exactly one line */
    cli_result_free(&r);
    gb_free(&b);
}

static void test_cli_info_missing_file(void **state) {
    (void)state;
    cli_result r;
    run_cli("info /tmp/ggufref_cli_info_does_not_exist.gguf", &r);
    assert_int_equal(r.exit_code, 1);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "ggufref: /tmp/ggufref_cli_info_does_not_exist.gguf: IO_ERROR: "));
    cli_result_free(&r);
}

/* R-GGUF-040, R-STATUS-003 (issue 16 #10): a path with a newline is quoted like the library
 * quotes it (\x0a): the rejection stays exactly one line on stderr. */
static void test_cli_info_newline_path(void **state) {
    (void)state;
    char path[PATH_LEN];
    snprintf(path, sizeof path, "/tmp/ggufref_cli_info_%d_new\nline.gguf", (int)getpid());
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("NOPE", f); /* BAD_MAGIC */
    fclose(f);
    char args[PATH_LEN + 16];
    snprintf(args, sizeof args, "info '%s'", path);
    cli_result r;
    run_cli(args, &r);
    unlink(path);
    assert_int_equal(r.exit_code, 1);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "_new\\x0aline.gguf: BAD_MAGIC at offset 0: "));
    assert_non_null(strchr(r.err, '\n'));
    assert_int_equal(strchr(r.err, '\n') - r.err + 1, (long)r.err_len); /* one line */
    cli_result_free(&r);
    snprintf(args, sizeof args, "info '/tmp/ggufref_cli_info_no\nsuch.gguf'");
    run_cli(args, &r);
    assert_int_equal(r.exit_code, 1);
    assert_non_null(strstr(r.err, "ggufref: /tmp/ggufref_cli_info_no\\x0asuch.gguf: IO_ERROR: "));
    assert_int_equal(strchr(r.err, '\n') - r.err + 1, (long)r.err_len);
    cli_result_free(&r);
}

/* R-GGUF-007 (issue 16 #4): `info` on a FIFO with no writer is IO_ERROR at once (alarm: it
 * used to wait forever in open). */
static void test_cli_info_fifo(void **state) {
    (void)state;
    char path[PATH_LEN], args[PATH_LEN + 16];
    snprintf(path, sizeof path, "/tmp/ggufref_cli_info_fifo_%d", (int)getpid());
    unlink(path);
    assert_int_equal(mkfifo(path, 0600), 0);
    snprintf(args, sizeof args, "info '%s'", path);
    cli_result r;
    alarm(30);
    run_cli(args, &r);
    alarm(0);
    unlink(path);
    assert_int_equal(r.exit_code, 1);
    assert_non_null(strstr(r.err, "IO_ERROR"));
    assert_non_null(strstr(r.err, "not a regular file"));
    cli_result_free(&r);
}

static void test_cli_info_usage(void **state) {
    (void)state;
    static const char *const usage_errors[] = {"info", "info a.gguf b.gguf", "info --bogus a.gguf"};
    for (size_t i = 0; i < sizeof usage_errors / sizeof usage_errors[0]; i++) {
        cli_result r;
        run_cli(usage_errors[i], &r);
        assert_int_equal(r.exit_code, 2);
        cli_result_free(&r);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_info_text),
        cmocka_unit_test(test_cli_info_json),
        cmocka_unit_test(test_cli_info_malformed),
        cmocka_unit_test(test_cli_info_missing_file),
        cmocka_unit_test(test_cli_info_newline_path),
        cmocka_unit_test(test_cli_info_fifo),
        cmocka_unit_test(test_cli_info_usage),
    };
    return cmocka_run_group_tests_name("cli_info", tests, NULL, NULL);
}
