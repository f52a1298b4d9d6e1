/*
 * torture_cli_generate.c — `ggufref generate` and `ggufref tokenize` (SPEC R-SAMP-040..042,
 * R-TOK-015..017).
 *
 * Runs $GGUFREF_BUILD_DIR/ggufref (ctest sets it). Cases that need a model use the shared
 * material (stories260K, the LLaMA-2 vocab); each skips with a reason when it is absent.
 */
#define _POSIX_C_SOURCE 200809L /* mkfifo, getpid, alarm */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h> /* mkfifo */
#include <unistd.h>

#include <cmocka.h>

#include "cli_run.h"
#include "files.h"

#define PATH_LEN 1024

/* Run or skip. */
static void run(const char *args, cli_result *r) {
    if (!cli_run(args, r)) {
        print_message("SKIP: the ggufref binary is not built (GGUFREF_BUILD_DIR)\n");
        skip();
    }
}

/* A material path or skip. OUT: buf. */
static const char *need(const char *rel, char *buf) {
    if (!material_path(rel, buf, PATH_LEN)) {
        print_message("SKIP: shared material %s absent (set GGUFREF_SHARED_DIR)\n", rel);
        skip();
    }
    return buf;
}

/* Exactly one line on stderr, nothing on stdout, exit code `code`, stderr containing `part`. */
static void expect_failure(const cli_result *r, int code, const char *part, const char *args) {
    if (r->exit_code != code) fail_msg("'%s': exit %d, want %d (stderr: %s)", args, r->exit_code, code, r->err);
    assert_int_equal(r->out_len, 0);
    assert_true(r->err_len > 0 && r->err[r->err_len - 1] == '\n');
    assert_null(memchr(r->err, '\n', r->err_len - 1));
    if (strstr(r->err, part) == NULL) fail_msg("'%s': stderr '%s' lacks '%s'", args, r->err, part);
}

/* R-SAMP-042: usage errors exit 2 with one line. */
static void test_cli_generate_usage_errors(void **state) {
    (void)state;
    static const struct { const char *args, *part; } cases[] = {
        {"generate", "--model"},
        {"generate --model m.gguf --bogus 1", "--bogus"},
        {"generate --model m.gguf --top-k x", "--top-k"},
        {"generate --model m.gguf --top-k -1", "--top-k"},
        {"generate --model m.gguf --max-tokens 0", "--max-tokens"},
        {"generate --model m.gguf --steps 1x", "--steps"},
        {"generate --model m.gguf --seed -3", "--seed"},
        {"generate --model m.gguf --temperature", "missing value"},
        {"generate --model m.gguf --top-p 0", "top_p"},
        {"generate --model m.gguf --temperature -1", "temperature"},
        {"generate --model m.gguf --min-p 2", "min_p"},
        {"generate --model m.gguf --repeat-penalty 0", "repeat_penalty"},
        {"generate --model m.gguf --steps 5 --max-tokens 5", "exclude"},
        {"generate --model m.gguf stray", "stray"},
        {"tokenize", "usage"},
        {"tokenize --model", "--model"},
        {"tokenize --model m.gguf", "usage"},
        {"tokenize --model m.gguf a b", "'b'"},
        {"tokenize --model m.gguf --bogus a", "--bogus"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cli_result r;
        run(cases[i].args, &r);
        expect_failure(&r, 2, cases[i].part, cases[i].args);
        cli_result_free(&r);
    }
}

/* R-SAMP-042: model and runtime failures exit 1 with the status name (R-SAMP-040, R-RT-016:
 * --steps as long as the context is refused). */
static void test_cli_generate_model_errors(void **state) {
    (void)state;
    cli_result r;
    run("generate --model /tmp/ggufref_no_such_model.gguf", &r);
    expect_failure(&r, 1, "IO_ERROR", "missing file");
    cli_result_free(&r);
    run("tokenize --model /tmp/ggufref_no_such_model.gguf hi", &r);
    expect_failure(&r, 1, "IO_ERROR", "missing file");
    cli_result_free(&r);
    /* R-STATUS-003: a path with a newline stays one line of stderr, quoted as the library does */
    run("generate --model '/tmp/ggufref_no\nsuch.gguf'", &r);
    expect_failure(&r, 1, "/tmp/ggufref_no\\x0asuch.gguf", "newline path");
    assert_int_equal(strchr(r.err, '\n') - r.err + 1, (long)r.err_len);
    cli_result_free(&r);
    run("tokenize --model '/tmp/ggufref_no\nsuch.gguf' hi", &r);
    expect_failure(&r, 1, "/tmp/ggufref_no\\x0asuch.gguf", "newline path");
    assert_int_equal(strchr(r.err, '\n') - r.err + 1, (long)r.err_len);
    cli_result_free(&r);
    /* R-RT-012 (issue 16 #4): a FIFO with no writer is IO_ERROR at once, for generate too */
    char fifo[PATH_LEN], fargs[PATH_LEN + 32];
    snprintf(fifo, sizeof fifo, "/tmp/ggufref_cli_generate_fifo_%d", (int)getpid());
    unlink(fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    snprintf(fargs, sizeof fargs, "generate --model '%s'", fifo);
    alarm(30);
    run(fargs, &r);
    alarm(0);
    unlink(fifo);
    expect_failure(&r, 1, "not a regular file", fargs);
    cli_result_free(&r);

    char vocab[PATH_LEN], stories[PATH_LEN], args[3 * PATH_LEN];
    need("llama.cpp-vocab/ggml-vocab-llama-spm.gguf", vocab);
    snprintf(args, sizeof args, "generate --model '%s' --prompt hi", vocab); /* no weights */
    run(args, &r);
    expect_failure(&r, 1, "UNSUPPORTED_MODEL", args);
    cli_result_free(&r);

    need("stories260K-f32.v1.gguf", stories);
    snprintf(args, sizeof args, "generate --model '%s' --steps 513", stories); /* ctx 512 */
    run(args, &r);
    expect_failure(&r, 1, "CONTEXT_OVERFLOW", args);
    cli_result_free(&r);
    /* N steps make N + 1 tokens: the runtime's context of 512 holds at most 511 steps */
    snprintf(args, sizeof args, "generate --model '%s' --steps 512", stories);
    run(args, &r);
    expect_failure(&r, 1, "CONTEXT_OVERFLOW", args);
    cli_result_free(&r);
    snprintf(args, sizeof args, "generate --model '%s' --max-tokens 510 --prompt 'Once upon'", stories);
    run(args, &r);
    expect_failure(&r, 1, "CONTEXT_OVERFLOW", args);
    cli_result_free(&r);
    snprintf(args, sizeof args, "generate --model '%s' --ctx 1024", stories);
    run(args, &r);
    expect_failure(&r, 1, "--ctx", args);
    cli_result_free(&r);
}

/* R-TOK-015, R-TOK-017: tokenize prints the ids, BOS per add_bos_token unless --no-bos. */
static void test_cli_tokenize_ids(void **state) {
    (void)state;
    char vocab[PATH_LEN], args[2 * PATH_LEN];
    need("llama.cpp-vocab/ggml-vocab-llama-spm.gguf", vocab);
    cli_result r;
    snprintf(args, sizeof args, "tokenize --model '%s' 'Hello world'", vocab);
    run(args, &r);
    assert_int_equal(r.exit_code, 0);
    assert_string_equal(r.out, "1 15043 3186\n");
    cli_result_free(&r);
    snprintf(args, sizeof args, "tokenize --model '%s' --no-bos ' Hello, world!'", vocab);
    run(args, &r);
    assert_int_equal(r.exit_code, 0);
    assert_string_equal(r.out, "29871 15043 29892 3186 29991\n");
    cli_result_free(&r);
    snprintf(args, sizeof args, "tokenize --model '%s' ''", vocab);
    run(args, &r);
    assert_int_equal(r.exit_code, 0);
    assert_string_equal(r.out, "1\n");
    cli_result_free(&r);
}

/* R-SAMP-041: --max-tokens k after a prompt of p tokens (BOS included) prints what --steps
 * (p - 1 + k) prints, when no EOS comes: the same sequence, two loops. */
static void test_cli_generate_max_tokens_equals_steps(void **state) {
    (void)state;
    char stories[PATH_LEN], a1[2 * PATH_LEN], a2[2 * PATH_LEN];
    need("stories260K-f32.v1.gguf", stories);
    /* "Once upon a time" is 5 tokens with BOS in stories260K's vocab: steps 64 = 60 new */
    snprintf(a1, sizeof a1, "generate --model '%s' --steps 64 --prompt 'Once upon a time'", stories);
    snprintf(a2, sizeof a2, "generate --model '%s' --max-tokens 60 --prompt 'Once upon a time'", stories);
    cli_result r1, r2;
    run(a1, &r1);
    run(a2, &r2);
    assert_int_equal(r1.exit_code, 0);
    assert_int_equal(r2.exit_code, 0);
    assert_string_equal(r1.out, r2.out);
    assert_true(strncmp(r1.out, "Once upon a time, there was", 27) == 0);
    cli_result_free(&r1);
    cli_result_free(&r2);
    /* sampled too: same seed, same settings */
    snprintf(a1, sizeof a1, "generate --model '%s' --steps 40 --temperature 0.8 --top-p 0.9 --top-k 40 --seed 7 --prompt 'There was'", stories);
    snprintf(a2, sizeof a2, "generate --model '%s' --max-tokens 37 --temperature 0.8 --top-p 0.9 --top-k 40 --seed 7 --prompt 'There was'", stories);
    run(a1, &r1);
    run(a2, &r2);
    assert_int_equal(r1.exit_code, 0);
    assert_string_equal(r1.out, r2.out);
    cli_result_free(&r1);
    cli_result_free(&r2);
}

/* Count occurrences of needle in hay. */
static size_t count(const char *hay, const char *needle) {
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

/* R-SAMP-041: --json prints one record per sampled token with five top logits as bit patterns;
 * greedy, the chosen id is the first of them. */
static void test_cli_generate_json_records(void **state) {
    (void)state;
    char stories[PATH_LEN], args[2 * PATH_LEN];
    need("stories260K-f32.v1.gguf", stories);
    snprintf(args, sizeof args, "generate --model '%s' --max-tokens 12 --json --prompt 'Once upon a time'", stories);
    cli_result r;
    run(args, &r);
    assert_int_equal(r.exit_code, 0);
    assert_int_equal(count(r.out, "\n"), 12);
    assert_int_equal(count(r.out, "{\"pos\":"), 12);
    assert_int_equal(count(r.out, "\"bits\":\"0x"), 60);
    assert_true(strncmp(r.out, "{\"pos\":4,\"id\":", 14) == 0); /* BOS + 4 prompt tokens */
    int id = -1, top0 = -2;
    char *p = strstr(r.out, "\"id\":");
    assert_non_null(p);
    id = atoi(p + 5);
    p = strstr(r.out, "\"top\":[{\"id\":");
    assert_non_null(p);
    top0 = atoi(p + 13);
    assert_int_equal(id, top0);
    /* the first token's piece: ',' after "Once upon a time" */
    assert_non_null(strstr(r.out, "\"piece\":\",\",\"piece_hex\":\"2c\""));
    cli_result_free(&r);
}

/* R-SAMP-040, R-RT-016: --steps runs on the runtime, which adds BOS only as the model says, so
 * a model whose add_bos_token is false is refused (UNSUPPORTED_MODEL) for --steps; --max-tokens
 * takes it. The model: golden/models/tiny-f32-gqa-tied.gguf with that bool patched to 0. */
static void test_cli_generate_steps_needs_add_bos(void **state) {
    (void)state;
    const char *src = getenv("GGUFREF_SOURCE_DIR");
    if (src == NULL) {
        print_message("skipped: GGUFREF_SOURCE_DIR is not set (run through ctest)\n");
        skip();
    }
    char path[PATH_LEN], tmp[PATH_LEN], args[2 * PATH_LEN];
    snprintf(path, sizeof path, "%s/golden/models/tiny-f32-gqa-tied.gguf", src);
    size_t len = 0;
    char *bytes = read_whole_file(path, &len);
    assert_non_null(bytes);
    static const char key[] = "tokenizer.ggml.add_bos_token";
    char *at = NULL;
    for (size_t i = 0; i + sizeof key + 4 < len && at == NULL; i++) {
        if (memcmp(bytes + i, key, sizeof key - 1) == 0) at = bytes + i + sizeof key - 1;
    }
    assert_non_null(at);
    assert_int_equal(at[0], 7); /* value type BOOL (7) as u32 LE, then the value byte */
    assert_int_equal(at[4], 1);
    at[4] = 0;
    snprintf(tmp, sizeof tmp, "/tmp/ggufref_cli_generate_nobos_%d.gguf", (int)getpid());
    FILE *f = fopen(tmp, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    fclose(f);
    free(bytes);
    cli_result r;
    snprintf(args, sizeof args, "generate --model '%s' --steps 4 --prompt hi", tmp);
    run(args, &r);
    expect_failure(&r, 1, "UNSUPPORTED_MODEL", args);
    cli_result_free(&r);
    snprintf(args, sizeof args, "generate --model '%s' --max-tokens 2 --prompt hi", tmp);
    run(args, &r);
    assert_int_equal(r.exit_code, 0);
    cli_result_free(&r);
    unlink(tmp);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_generate_usage_errors),
        cmocka_unit_test(test_cli_generate_model_errors),
        cmocka_unit_test(test_cli_tokenize_ids),
        cmocka_unit_test(test_cli_generate_max_tokens_equals_steps),
        cmocka_unit_test(test_cli_generate_json_records),
        cmocka_unit_test(test_cli_generate_steps_needs_add_bos),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
