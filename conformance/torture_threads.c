/*
 * torture_threads.c — the threads of the forward pass (SPEC R-NUM-047..049).
 *
 * 1. Determinism: on every fixture model (golden/models: every tensor type, MHA and GQA, tied
 *    and untied; the build's stories15M-shaped models; with GGUFREF_THREADS_BENCH_MODELS set,
 *    the 100M-shaped benchmark models of `--target bench_models`), the logits of single positions, a batch of 16 and the positions
 *    after it are bit-identical for 1, 2, 3 and 4 threads, and so is every KV row that the next
 *    position reads (a position run again gives the same logits).
 * 2. The setting: bounds, NULL, the count read back, a change in the middle of a sequence, and
 *    allocation failures that leave the context as it was.
 * 3. The runtime's setting (R-NUM-049): kept across a load, changed with a model resident, no
 *    state change, the same generated text and logits for 1, 2 and 3 threads.
 * 4. Attention on threads (R-NUM-047): models built here whose steps are mostly attention
 *    (small matrices, 256+ positions, GQA and MHA), run to the end of their context in calls
 *    of 1 to 16 tokens: every call's logits bit-identical for 1, 2, 3 and 4 threads.
 */
#define _DEFAULT_SOURCE /* scandir, alphasort */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggufref.h"
#include "cli_run.h"
#include "llama_builder.h"
#include "oom.h"

/* Logits of one fixed sequence (the one tools/logits_dump.c writes): positions 0..9 one by
 * one, 16 as one batch, then single positions to the end of a context of min(n_ctx_train, 40).
 * OUT: *out (steps * n_vocab floats, malloc'd), *n_out. */
static void run_sequence(ggufref_context *ctx, const ggufref_model_info *in, uint32_t n_ctx,
                         float **out, size_t *n_out) {
    size_t steps = 10 + 1 + (n_ctx - 26);
    float *all = malloc(steps * in->n_vocab * sizeof *all);
    assert_non_null(all);
    const float *lg;
    size_t s = 0;
    uint32_t pos = 0;
    for (; pos < 10; pos++, s++) {
        int32_t t = (int32_t)((7u * pos + 1u) % in->n_vocab);
        assert_int_equal(ggufref_forward(ctx, t, pos, &lg), GGUFREF_OK);
        memcpy(all + s * in->n_vocab, lg, in->n_vocab * sizeof *lg);
    }
    int32_t batch[GGUFREF_MAX_BATCH];
    for (uint32_t b = 0; b < GGUFREF_MAX_BATCH; b++) batch[b] = (int32_t)((7u * (pos + b) + 1u) % in->n_vocab);
    assert_int_equal(ggufref_forward_batch(ctx, batch, GGUFREF_MAX_BATCH, pos, &lg), GGUFREF_OK);
    memcpy(all + s++ * in->n_vocab, lg, in->n_vocab * sizeof *lg);
    for (pos += GGUFREF_MAX_BATCH; pos < n_ctx; pos++, s++) {
        int32_t t = (int32_t)((7u * pos + 1u) % in->n_vocab);
        assert_int_equal(ggufref_forward(ctx, t, pos, &lg), GGUFREF_OK);
        memcpy(all + s * in->n_vocab, lg, in->n_vocab * sizeof *lg);
    }
    assert_int_equal(s, steps);
    *out = all;
    *n_out = steps * in->n_vocab;
}

/* R-NUM-047: one model, threads 1..4 (and 4 -> 1 -> 3 changed on the same context). */
static int check_model(const char *path) {
    ggufref_gguf *g;
    ggufref_error err;
    ggufref_model *m;
    if (ggufref_gguf_open_file(path, &g, &err) != GGUFREF_OK) return 0;
    if (ggufref_model_load(g, &m, &err) != GGUFREF_OK) {
        ggufref_gguf_close(g);
        return 0;
    }
    ggufref_model_info in;
    ggufref_model_get_info(m, &in);
    uint32_t n_ctx = in.n_ctx_train < 40 ? in.n_ctx_train : 40;
    assert_true(n_ctx >= 26);
    float *want = NULL;
    size_t n_want = 0;
    for (uint32_t threads = 1; threads <= 4; threads++) {
        ggufref_context *ctx;
        assert_int_equal(ggufref_context_create(m, n_ctx, &ctx), GGUFREF_OK);
        assert_int_equal(ggufref_context_set_threads(ctx, threads), GGUFREF_OK);
        assert_int_equal(ggufref_context_threads(ctx), threads);
        float *got;
        size_t n_got;
        run_sequence(ctx, &in, n_ctx, &got, &n_got);
        if (want == NULL) {
            want = got;
            n_want = n_got;
        } else {
            assert_int_equal(n_got, n_want);
            if (memcmp(got, want, n_want * sizeof *got) != 0) {
                fail_msg("%s: logits with %u threads differ from 1 thread", path, threads);
            }
            free(got);
        }
        /* the same context, its threads changed between runs: the same bits again */
        if (threads == 4) {
            assert_int_equal(ggufref_context_set_threads(ctx, 1), GGUFREF_OK);
            assert_int_equal(ggufref_context_set_threads(ctx, 3), GGUFREF_OK);
            run_sequence(ctx, &in, n_ctx, &got, &n_got);
            assert_memory_equal(got, want, n_want * sizeof *got);
            free(got);
        }
        ggufref_context_free(ctx);
    }
    free(want);
    ggufref_model_free(m);
    ggufref_gguf_close(g);
    return 1;
}

/* Every *.gguf of dir (sorted names); returns how many were models that loaded. */
static int check_dir(const char *dir, const char *prefix) {
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0) return 0;
    int checked = 0;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        size_t len = strlen(name);
        if (len > 5 && strcmp(name + len - 5, ".gguf") == 0 && strncmp(name, prefix, strlen(prefix)) == 0) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, name);
            int ok = check_model(path);
            if (ok) print_message("threads 1..4 identical: %s\n", name);
            checked += ok;
        }
        free(names[i]);
    }
    free(names);
    return checked;
}

static void test_logits_identical_for_1_to_4_threads_every_fixture(void **state) {
    (void)state;
    char dir[4096];
    const char *src = getenv("GGUFREF_SOURCE_DIR");
    const char *build = getenv("GGUFREF_BUILD_DIR");
    snprintf(dir, sizeof dir, "%s/golden/models", src ? src : ".");
    int n = check_dir(dir, "tiny-");
    assert_true(n >= 14); /* every tensor type */
    if (build) {
        snprintf(dir, sizeof dir, "%s/fixtures", build);
        n += check_dir(dir, "stories15m-");
        if (getenv("GGUFREF_THREADS_BENCH_MODELS")) { /* minutes: on request only */
            snprintf(dir, sizeof dir, "%s/bench-models", build);
            n += check_dir(dir, "bench100m-");
        }
    }
    print_message("%d fixture models checked\n", n);
}

/* ---- attention on threads (R-NUM-047) ---- */

/* The logits of every call of one pass over all n_ctx positions of ctx, in calls of 1 to 16
 * tokens (sizes cycling 16, 1, 7, 16, 3, 1, 12, ...: batches reach the last positions as single
 * tokens do). OUT: *n_calls; returns the calls' logits (malloc'd, n_calls * n_vocab). */
static float *run_long(ggufref_context *ctx, const ggufref_model_info *in, size_t *n_calls) {
    static const size_t sizes[] = {16, 1, 7, 16, 3, 1, 12, 16, 2, 9};
    uint32_t n_ctx = ggufref_context_n_ctx(ctx);
    float *all = malloc((size_t)n_ctx * in->n_vocab * sizeof *all);
    assert_non_null(all);
    size_t calls = 0;
    for (uint32_t pos = 0; pos < n_ctx; calls++) {
        size_t n = sizes[calls % (sizeof sizes / sizeof sizes[0])];
        if (n > n_ctx - pos) n = n_ctx - pos;
        int32_t toks[GGUFREF_MAX_BATCH];
        for (size_t b = 0; b < n; b++) toks[b] = (int32_t)((5u * (pos + b) + 3u) % in->n_vocab);
        const float *lg;
        assert_int_equal(ggufref_forward_batch(ctx, toks, n, pos, &lg), GGUFREF_OK);
        memcpy(all + calls * in->n_vocab, lg, in->n_vocab * sizeof *lg);
        pos += (uint32_t)n;
    }
    *n_calls = calls;
    return all;
}

/* One built model: threads 1..4 give the same logits at every call. */
static void check_long(const lb_config *c) {
    gb_buf b;
    lb_build(c, &b);
    ggufref_gguf *g;
    ggufref_model *m;
    ggufref_error err;
    assert_int_equal(ggufref_gguf_open_memory(b.data, b.len, &g, &err), GGUFREF_OK);
    assert_int_equal(ggufref_model_load(g, &m, &err), GGUFREF_OK);
    ggufref_model_info in;
    ggufref_model_get_info(m, &in);
    float *want = NULL;
    size_t n_want = 0;
    for (uint32_t threads = 1; threads <= 4; threads++) {
        ggufref_context *ctx;
        assert_int_equal(ggufref_context_create(m, 0, &ctx), GGUFREF_OK);
        assert_int_equal(ggufref_context_set_threads(ctx, threads), GGUFREF_OK);
        size_t n_got;
        float *got = run_long(ctx, &in, &n_got);
        if (want == NULL) {
            want = got;
            n_want = n_got;
        } else {
            assert_int_equal(n_got, n_want);
            for (size_t i = 0; i < n_want; i++) {
                if (memcmp(got + i * in.n_vocab, want + i * in.n_vocab, in.n_vocab * sizeof *got) != 0) {
                    fail_msg("%u heads / %u KV heads, n_ctx %u: call %zu's logits with %u threads "
                             "differ from 1 thread", in.n_heads, in.n_kv_heads, in.n_ctx_train, i,
                             threads);
                }
            }
            free(got);
        }
        ggufref_context_free(ctx);
    }
    free(want);
    ggufref_model_free(m);
    ggufref_gguf_close(g);
    gb_free(&b);
}

static void test_attention_identical_for_1_to_4_threads_long_context(void **state) {
    (void)state;
    lb_config c;
    /* At the last positions attention is more than half of each model's multiply-adds. */
    lb_default(&c); /* GQA 8/2 heads of 8, 288 positions */
    c.dim = 64;
    c.n_heads = 8;
    c.n_kv_heads = 2;
    c.ffn = 32;
    c.n_ctx = 288;
    c.n_vocab = 32;
    check_long(&c);
    lb_default(&c); /* MHA, 3 heads of 16, one layer, F16 matrices, 260 positions */
    c.dim = 48;
    c.n_layers = 1;
    c.n_heads = 3;
    c.n_kv_heads = 3;
    c.ffn = 64;
    c.n_ctx = 260;
    c.n_vocab = 16;
    c.mat_type = GGUFREF_T_F16;
    c.seed = 5;
    check_long(&c);
    lb_default(&c); /* one KV head for 16 query heads of 4 */
    c.dim = 64;
    c.n_heads = 16;
    c.n_kv_heads = 1;
    c.n_ctx = 257;
    c.n_vocab = 16;
    c.seed = 9;
    check_long(&c);
}

/* ---- the setting (R-NUM-048) ---- */

/* A small model of the committed fixtures, or skip. */
static bool load_small(ggufref_gguf **g, ggufref_model **m) {
    char path[4096];
    const char *src = getenv("GGUFREF_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/golden/models/tiny-q8_0-gqa-untied.gguf", src ? src : ".");
    ggufref_error err;
    if (ggufref_gguf_open_file(path, g, &err) != GGUFREF_OK) return false;
    assert_int_equal(ggufref_model_load(*g, m, &err), GGUFREF_OK);
    return true;
}

static void test_set_threads_bounds(void **state) {
    (void)state;
    ggufref_gguf *g;
    ggufref_model *m;
    if (!load_small(&g, &m)) skip();
    ggufref_context *ctx;
    assert_int_equal(ggufref_context_create(m, 0, &ctx), GGUFREF_OK);
    assert_int_equal(ggufref_context_threads(ctx), 1); /* the default */
    assert_int_equal(ggufref_context_threads(NULL), 1);
    assert_int_equal(ggufref_context_set_threads(NULL, 2), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_context_set_threads(ctx, 0), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_context_set_threads(ctx, GGUFREF_MAX_THREADS + 1), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_context_threads(ctx), 1);
    assert_int_equal(ggufref_context_set_threads(ctx, 3), GGUFREF_OK);
    assert_int_equal(ggufref_context_set_threads(ctx, 0), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_context_threads(ctx), 3); /* a rejected call changes nothing */
    assert_int_equal(ggufref_context_set_threads(ctx, GGUFREF_MAX_THREADS), GGUFREF_OK);
    assert_int_equal(ggufref_context_threads(ctx), GGUFREF_MAX_THREADS);
    const float *lg;
    assert_int_equal(ggufref_forward(ctx, 1, 0, &lg), GGUFREF_OK); /* more threads than rows */
    assert_int_equal(ggufref_context_set_threads(ctx, 1), GGUFREF_OK);
    assert_int_equal(ggufref_context_threads(ctx), 1);
    ggufref_context_free(ctx); /* with workers: ggufref_context_free joins them (leak check) */
    assert_int_equal(ggufref_context_create(m, 0, &ctx), GGUFREF_OK);
    assert_int_equal(ggufref_context_set_threads(ctx, 2), GGUFREF_OK);
    ggufref_context_free(ctx);
    ggufref_model_free(m);
    ggufref_gguf_close(g);
}

/* R-NUM-048: a failed allocation while setting threads leaves the old threads and no leak. */
typedef struct oom_ctx {
    ggufref_context *ctx;
} oom_ctx;

static int op_set_threads(void *user) {
    oom_ctx *o = user;
    return ggufref_context_set_threads(o->ctx, 4);
}

static void check_set_threads(void *user, const oom_run *run) {
    oom_ctx *o = user;
    if (run->status == GGUFREF_OK) {
        assert_int_equal(ggufref_context_threads(o->ctx), 4);
    } else {
        assert_int_equal(run->status, GGUFREF_ERR_OUT_OF_MEMORY);
        assert_int_equal(ggufref_context_threads(o->ctx), 2);
    }
    assert_int_equal(ggufref_context_set_threads(o->ctx, 2), GGUFREF_OK); /* back for the next run */
}

static void test_set_threads_out_of_memory(void **state) {
    (void)state;
    ggufref_gguf *g;
    ggufref_model *m;
    if (!load_small(&g, &m)) skip();
    oom_ctx o;
    assert_int_equal(ggufref_context_create(m, 0, &o.ctx), GGUFREF_OK);
    assert_int_equal(ggufref_context_set_threads(o.ctx, 2), GGUFREF_OK);
    uint64_t n = oom_each(op_set_threads, check_set_threads, &o);
    assert_true(n >= 2); /* the pool and its workers */
    ggufref_context_free(o.ctx);
    ggufref_model_free(m);
    ggufref_gguf_close(g);
}

/* ---- the runtime setting (R-NUM-049) ---- */

typedef struct gen_out {
    char text[8192];
    size_t len;
    float last_logit0;
} gen_out;

static void on_token(int32_t token, const char *piece, size_t len, const float *logits,
                     uint32_t n_vocab, void *user) {
    (void)token;
    gen_out *g = user;
    if (g->len + len < sizeof g->text) {
        memcpy(g->text + g->len, piece, len);
        g->len += len;
    }
    if (n_vocab > 0) g->last_logit0 = logits[0];
}

static void generate_with(ggufref_runtime *rt, gen_out *out) {
    memset(out, 0, sizeof *out);
    ggufref_sampling s;
    ggufref_sampling_default(&s);
    s.max_tokens = 24;
    s.seed = 7;
    s.stop_at_eos = false;
    assert_int_equal(ggufref_runtime_configure_sampling(rt, &s), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_generate(rt, "Once upon a time", 16, on_token, out), GGUFREF_OK);
}

static void test_runtime_threads_setting(void **state) {
    (void)state;
    char path[4096];
    const char *build = getenv("GGUFREF_BUILD_DIR");
    snprintf(path, sizeof path, "%s/fixtures/stories15m-q4_k.gguf", build ? build : ".");
    ggufref_runtime *rt;
    assert_int_equal(ggufref_runtime_create(&rt), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_threads(rt), 1); /* the default */
    assert_int_equal(ggufref_runtime_threads(NULL), 1);
    assert_int_equal(ggufref_runtime_set_threads(NULL, 2), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_runtime_set_threads(rt, 0), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_runtime_set_threads(rt, GGUFREF_MAX_THREADS + 1), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_runtime_state(rt), GGUFREF_STATE_UNINITIALIZED); /* not an operation */
    /* set before the load: the load's context gets the threads */
    assert_int_equal(ggufref_runtime_set_threads(rt, 3), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_state(rt), GGUFREF_STATE_UNINITIALIZED);
    if (ggufref_runtime_load_model_file(rt, path) != GGUFREF_OK) {
        ggufref_runtime_destroy(rt);
        skip(); /* the build's fixtures are missing */
    }
    assert_int_equal(ggufref_runtime_threads(rt), 3);
    gen_out three, one, two;
    generate_with(rt, &three);
    /* changed with the model resident after a request: same state, same tokens and logits */
    ggufref_state before = ggufref_runtime_state(rt);
    assert_int_equal(ggufref_runtime_set_threads(rt, 1), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_state(rt), before);
    generate_with(rt, &one);
    assert_int_equal(ggufref_runtime_set_threads(rt, 2), GGUFREF_OK);
    generate_with(rt, &two);
    assert_true(one.len > 0);
    assert_int_equal(three.len, one.len);
    assert_memory_equal(three.text, one.text, one.len);
    assert_memory_equal(&three.last_logit0, &one.last_logit0, sizeof one.last_logit0);
    assert_int_equal(two.len, one.len);
    assert_memory_equal(two.text, one.text, one.len);
    assert_memory_equal(&two.last_logit0, &one.last_logit0, sizeof one.last_logit0);
    assert_int_equal(ggufref_runtime_set_threads(rt, 0), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_runtime_threads(rt), 2); /* a rejected call changes nothing */
    ggufref_runtime_destroy(rt); /* joins the workers */
}

/* R-NUM-049: `ggufref generate --threads N` prints the same text and --json logits for N = 1, 2,
 * 3; 0 and more than the maximum are usage errors (exit 2). */
static void test_cli_generate_threads(void **state) {
    (void)state;
    const char *build = getenv("GGUFREF_BUILD_DIR");
    char base[4096], args[4300];
    snprintf(base, sizeof base, "--model '%s/fixtures/stories15m-q4_k.gguf' --prompt 'Once upon' "
             "--max-tokens 24 --seed 3 --json", build ? build : ".");
    cli_result one;
    snprintf(args, sizeof args, "generate %s", base);
    if (!cli_run(args, &one)) skip();
    assert_int_equal(one.exit_code, 0);
    assert_true(one.out_len > 0);
    for (int t = 1; t <= 3; t++) {
        cli_result r;
        snprintf(args, sizeof args, "generate %s --threads %d", base, t);
        assert_true(cli_run(args, &r));
        assert_int_equal(r.exit_code, 0);
        assert_int_equal(r.out_len, one.out_len);
        assert_memory_equal(r.out, one.out, one.out_len);
        cli_result_free(&r);
    }
    static const char *const bad[] = {"0", "65", "x", "-1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cli_result r;
        snprintf(args, sizeof args, "generate %s --threads %s", base, bad[i]);
        assert_true(cli_run(args, &r));
        assert_int_equal(r.exit_code, 2);
        assert_non_null(strstr(r.err, "--threads"));
        cli_result_free(&r);
    }
    cli_result_free(&one);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logits_identical_for_1_to_4_threads_every_fixture),
        cmocka_unit_test(test_attention_identical_for_1_to_4_threads_long_context),
        cmocka_unit_test(test_set_threads_bounds),
        cmocka_unit_test(test_set_threads_out_of_memory),
        cmocka_unit_test(test_runtime_threads_setting),
        cmocka_unit_test(test_cli_generate_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
