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
 * 5. The export layer's setting (R-EXP-013) and the pool's (R-POOL-016): bounds, no state
 *    change, the workers really started (counted in /proc/self/task), the same outputs.
 * 6. `ggufref serve --threads N` and GGUFREF_THREADS (R-PROTO-062): the server starts N - 1
 *    workers for the session-less runtime and for each session (in process), its events are
 *    byte-identical for every N (the CLI, session-less and in a session), and a bad value is
 *    one stderr line naming the option or variable with exit status 2.
 */
#define _DEFAULT_SOURCE /* scandir, alphasort, setenv, mkstemp */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ggufref.h"
#include "cli_run.h"
#include "llama_builder.h"
#include "oom.h"
#include "serve.h"
#ifdef GGUFREF_HAVE_CJSON
#include "serve_internal.h" /* gr_sessions_wait_idle: the session's open answered */
#endif

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

/* ---- the export layer's and the pool's settings (R-EXP-013, R-POOL-016) ---- */

/* Threads of this process now (entries of /proc/self/task); -1 where there is no /proc. */
static int task_count(void) {
    DIR *d = opendir("/proc/self/task");
    if (d == NULL) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* task_count() once it equals want, waiting up to 2 s: a joined thread's /proc/self/task entry
 * can outlive pthread_join for a moment (the kernel wakes the joiner before the thread is
 * reaped), so a count taken right after a pool is freed may still include it. Returns the
 * last count (not want: the caller's assertion then fails). */
static int task_count_settled(int want) {
    int n = task_count();
    for (int i = 0; i < 200 && n != want; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        n = task_count();
    }
    return n;
}

/* The thread count before a test starts its own, once two counts 50 ms apart agree (a thread
 * joined by an earlier test may still be listed for a moment, as above). */
static int task_count_base(void) {
    int n = task_count();
    for (int i = 0; i < 40; i++) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        int m = task_count();
        if (m == n) break;
        n = m;
    }
    return n;
}

/* The build's stories15M-shaped Q4_K fixture, or false (skip). OUT: path. */
static bool fixture_path(char *path, size_t cap) {
    const char *build = getenv("GGUFREF_BUILD_DIR");
    if (build == NULL) return false;
    snprintf(path, cap, "%s/fixtures/stories15m-q4_k.gguf", build);
    FILE *f = fopen(path, "rb");
    if (f == NULL) return false;
    fclose(f);
    return true;
}

static void export_generate(gen_out *out) {
    memset(out, 0, sizeof *out);
    ggufref_sampling s;
    ggufref_sampling_default(&s);
    s.max_tokens = 20;
    s.temperature = 0.9f;
    s.seed = 11;
    s.stop_at_eos = false;
    assert_int_equal(ggufref_export_configure_sampling(&s), GGUFREF_OK);
    assert_int_equal(ggufref_export_generate("Once upon a time", 16, on_token, out), GGUFREF_OK);
}

static void test_export_threads_setting(void **state) {
    (void)state;
    char path[4096];
    if (!fixture_path(path, sizeof path) || task_count() < 1) skip();
    assert_int_equal(ggufref_export_threads(), 1); /* the default */
    ggufref_state st;
    assert_int_equal(ggufref_export_state(&st), GGUFREF_OK);
    assert_int_equal(st, GGUFREF_STATE_UNINITIALIZED);
    assert_int_equal(ggufref_export_set_threads(0), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_export_set_threads(GGUFREF_MAX_THREADS + 1), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_export_threads(), 1); /* a rejected call changes nothing */
    int base = task_count_base();
    /* a setting, not an operation: no runtime is made for it, no thread started yet */
    assert_int_equal(ggufref_export_set_threads(3), GGUFREF_OK);
    assert_int_equal(ggufref_export_threads(), 3);
    assert_int_equal(ggufref_export_state(&st), GGUFREF_OK);
    assert_int_equal(st, GGUFREF_STATE_UNINITIALIZED);
    assert_int_equal(task_count_settled(base), base);
    /* the lazily created runtime takes it: its load starts 2 workers */
    assert_int_equal(ggufref_export_load_model_file(path), GGUFREF_OK);
    assert_int_equal(task_count_settled(base + 2), base + 2);
    gen_out three, one, two;
    export_generate(&three);
    /* changed with the model resident: at once, state and last error untouched */
    ggufref_error before, after;
    assert_int_equal(ggufref_export_last_error(&before), GGUFREF_OK);
    assert_int_equal(ggufref_export_set_threads(1), GGUFREF_OK);
    assert_int_equal(task_count_settled(base), base);
    assert_int_equal(ggufref_export_state(&st), GGUFREF_OK);
    assert_int_equal(st, GGUFREF_STATE_CONTINUATION_READY);
    assert_int_equal(ggufref_export_last_error(&after), GGUFREF_OK);
    assert_memory_equal(&before, &after, sizeof before);
    export_generate(&one);
    assert_int_equal(ggufref_export_set_threads(2), GGUFREF_OK);
    assert_int_equal(task_count_settled(base + 1), base + 1);
    export_generate(&two);
    assert_true(one.len > 0);
    assert_int_equal(three.len, one.len);
    assert_memory_equal(three.text, one.text, one.len);
    assert_memory_equal(&three.last_logit0, &one.last_logit0, sizeof one.last_logit0);
    assert_int_equal(two.len, one.len);
    assert_memory_equal(two.text, one.text, one.len);
    assert_memory_equal(&two.last_logit0, &one.last_logit0, sizeof one.last_logit0);
    /* the setting outlives the runtime: a fresh one (after the test reset) loads on 2 threads */
    ggufref_fault_export_reset();
    assert_int_equal(task_count_settled(base), base);
    assert_int_equal(ggufref_export_threads(), 2);
    assert_int_equal(ggufref_export_load_model_file(path), GGUFREF_OK);
    assert_int_equal(task_count_settled(base + 1), base + 1);
    assert_int_equal(ggufref_export_set_threads(1), GGUFREF_OK);
    ggufref_fault_export_reset();
    assert_int_equal(task_count_settled(base), base);
}

/* A session's generate: text and the last token's logit 0. */
static void session_generate(ggufref_session *ss, gen_out *out) {
    memset(out, 0, sizeof *out);
    ggufref_runtime *rt = ggufref_session_runtime(ss);
    ggufref_sampling s;
    ggufref_sampling_default(&s);
    s.max_tokens = 20;
    s.temperature = 0.7f;
    s.seed = 5;
    s.stop_at_eos = false;
    assert_int_equal(ggufref_runtime_configure_sampling(rt, &s), GGUFREF_OK);
    assert_int_equal(ggufref_session_generate(ss, "Lily had", 8, on_token, out), GGUFREF_OK);
}

/* One request on a fresh pool of max_sessions 2 whose sessions have `threads` threads. */
static void pool_generate(ggufref_shared_model *m, uint32_t threads, gen_out *out) {
    ggufref_pool_limits lim;
    ggufref_pool_limits_default(&lim);
    lim.max_sessions = 2;
    ggufref_pool *pool;
    assert_int_equal(ggufref_pool_create(m, &lim, &pool, NULL), GGUFREF_OK);
    assert_int_equal(ggufref_pool_set_threads(pool, threads), GGUFREF_OK);
    ggufref_session *ss;
    assert_int_equal(ggufref_pool_acquire(pool, 0, &ss), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_threads(ggufref_session_runtime(ss)), threads);
    session_generate(ss, out);
    assert_int_equal(ggufref_pool_release(pool, ss), GGUFREF_OK);
    assert_int_equal(ggufref_pool_destroy(pool), GGUFREF_OK);
}

static void test_pool_threads_setting(void **state) {
    (void)state;
    char path[4096];
    if (!fixture_path(path, sizeof path) || task_count() < 1) skip();
    ggufref_shared_model *m;
    assert_int_equal(ggufref_shared_model_open_file(path, &m, NULL), GGUFREF_OK);
    ggufref_pool_limits lim;
    ggufref_pool_limits_default(&lim);
    lim.max_sessions = 2;
    ggufref_pool *pool;
    assert_int_equal(ggufref_pool_create(m, &lim, &pool, NULL), GGUFREF_OK);
    assert_int_equal(ggufref_pool_threads(pool), 1); /* the default */
    assert_int_equal(ggufref_pool_threads(NULL), 1);
    assert_int_equal(ggufref_pool_set_threads(NULL, 2), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_pool_set_threads(pool, 0), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_pool_set_threads(pool, GGUFREF_MAX_THREADS + 1), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_pool_threads(pool), 1);
    int base = task_count_base();
    assert_int_equal(ggufref_pool_set_threads(pool, 3), GGUFREF_OK);
    assert_int_equal(ggufref_pool_threads(pool), 3);
    assert_int_equal(task_count_settled(base), base); /* threads start with a session, not before */
    ggufref_session *a, *b;
    assert_int_equal(ggufref_pool_acquire(pool, 0, &a), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_threads(ggufref_session_runtime(a)), 3);
    assert_int_equal(task_count_settled(base + 2), base + 2);
    assert_int_equal(ggufref_pool_acquire(pool, 0, &b), GGUFREF_OK);
    assert_int_equal(task_count_settled(base + 4), base + 4);
    /* with sessions (checked out, then idle): INVALID_STATE, nothing changes */
    assert_int_equal(ggufref_pool_set_threads(pool, 2), GGUFREF_ERR_INVALID_STATE);
    assert_int_equal(ggufref_pool_release(pool, b), GGUFREF_OK);
    assert_int_equal(ggufref_pool_set_threads(pool, 2), GGUFREF_ERR_INVALID_STATE);
    assert_int_equal(ggufref_pool_threads(pool), 3);
    assert_int_equal(task_count_settled(base + 4), base + 4); /* an idle session keeps its workers */
    /* a dropped session's workers end with it; a reused one has the pool's count */
    assert_int_equal(ggufref_pool_drop(pool, a), GGUFREF_OK);
    assert_int_equal(task_count_settled(base + 2), base + 2);
    assert_int_equal(ggufref_pool_acquire(pool, 0, &a), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_threads(ggufref_session_runtime(a)), 3);
    assert_int_equal(ggufref_pool_release(pool, a), GGUFREF_OK);
    assert_int_equal(ggufref_pool_destroy(pool), GGUFREF_OK);
    assert_int_equal(task_count_settled(base), base);
    /* the same tokens and logits on 1, 2 and 4 threads */
    gen_out one, two, four;
    pool_generate(m, 1, &one);
    pool_generate(m, 2, &two);
    pool_generate(m, 4, &four);
    assert_true(one.len > 0);
    assert_int_equal(two.len, one.len);
    assert_memory_equal(two.text, one.text, one.len);
    assert_memory_equal(&two.last_logit0, &one.last_logit0, sizeof one.last_logit0);
    assert_int_equal(four.len, one.len);
    assert_memory_equal(four.text, one.text, one.len);
    assert_memory_equal(&four.last_logit0, &one.last_logit0, sizeof one.last_logit0);
    ggufref_shared_model_release(m);
}

/* R-POOL-016, R-POOL-030: an acquire that creates a session on 3 threads, with each allocation
 * failing in turn: OK or OUT_OF_MEMORY, the pool's counts as before, nothing leaked. */
typedef struct oom_pool {
    ggufref_pool *pool;
    ggufref_session *got;
} oom_pool;

static int op_acquire(void *user) {
    oom_pool *o = user;
    return ggufref_pool_acquire(o->pool, 0, &o->got);
}

static void check_acquire(void *user, const oom_run *run) {
    oom_pool *o = user;
    ggufref_pool_stats st;
    ggufref_pool_get_stats(o->pool, &st);
    if (run->status == GGUFREF_OK) {
        assert_int_equal(ggufref_runtime_threads(ggufref_session_runtime(o->got)), 3);
        assert_int_equal(st.checked_out, 1);
        assert_int_equal(ggufref_pool_drop(o->pool, o->got), GGUFREF_OK); /* fresh next time */
    } else {
        assert_int_equal(run->status, GGUFREF_ERR_OUT_OF_MEMORY);
        assert_null(o->got);
        assert_int_equal(st.checked_out, 0);
        assert_int_equal(st.idle, 0);
    }
}

static void test_pool_threads_acquire_out_of_memory(void **state) {
    (void)state;
    char path[4096];
    if (!fixture_path(path, sizeof path)) skip();
    ggufref_shared_model *m;
    assert_int_equal(ggufref_shared_model_open_file(path, &m, NULL), GGUFREF_OK);
    ggufref_pool_limits lim;
    ggufref_pool_limits_default(&lim);
    oom_pool o = {NULL, NULL};
    assert_int_equal(ggufref_pool_create(m, &lim, &o.pool, NULL), GGUFREF_OK);
    ggufref_shared_model_release(m);
    assert_int_equal(ggufref_pool_set_threads(o.pool, 3), GGUFREF_OK);
    uint64_t n = oom_each(op_acquire, check_acquire, &o);
    assert_true(n >= 3); /* runtime, context, the threads' pool and scratch, ... */
    assert_int_equal(ggufref_pool_destroy(o.pool), GGUFREF_OK);
}

/* ---- the server: serve --threads, GGUFREF_THREADS (R-PROTO-062) ---- */

#ifdef GGUFREF_HAVE_CJSON
/* In process: a server made with `threads` (0: the environment's) starts that many workers
 * for the session-less runtime's load and for a session. */
static void server_line(gr_server *s, const char *line) { gr_server_handle_line(s, line, strlen(line)); }

static void check_server_threads(unsigned threads, const char *env, int want, const char *path) {
    if (env != NULL) setenv("GGUFREF_THREADS", env, 1);
    FILE *out = tmpfile();
    assert_non_null(out);
    gr_server_config config = {.threads = threads};
    const char *why = NULL;
    int base = task_count_base();
    gr_server *s = gr_server_create(out, &config, &why);
    unsetenv("GGUFREF_THREADS");
    assert_non_null(s);
    assert_int_equal(ggufref_export_threads(), (uint32_t)want);
    char line[4400];
    snprintf(line, sizeof line, "{\"id\":1,\"cmd\":\"load-model\",\"path\":\"%s\"}", path);
    server_line(s, line);
    assert_int_equal(task_count_settled(base + want - 1), base + want - 1);
    snprintf(line, sizeof line, "{\"id\":2,\"cmd\":\"open-session\",\"path\":\"%s\"}", path);
    server_line(s, line);
    server_line(s, "{\"id\":3,\"cmd\":\"diagnostics\",\"session\":1}");
    gr_sessions_wait_idle(s->sessions);
    /* the session's worker thread and its runtime's want - 1 workers */
    assert_int_equal(task_count_settled(base + want - 1 + 1 + want - 1), base + want - 1 + 1 + want - 1);
    server_line(s, "{\"id\":4,\"cmd\":\"free-model\"}");
    gr_server_destroy(s);
    assert_int_equal(task_count_settled(base), base);
    fclose(out);
}

static void test_server_threads_in_process(void **state) {
    (void)state;
    char path[4096];
    if (!fixture_path(path, sizeof path) || task_count() < 1) skip();
    check_server_threads(3, NULL, 3, path);
    check_server_threads(0, "2", 2, path);    /* from the environment */
    check_server_threads(2, "x", 2, path);    /* the option wins; the variable is not read */
    check_server_threads(0, NULL, 1, path);   /* the default */
    setenv("GGUFREF_THREADS", "0", 1);
    gr_server_config config = {0};
    const char *why = NULL;
    assert_null(gr_server_create(stdout, &config, &why));
    unsetenv("GGUFREF_THREADS");
    assert_non_null(why);
    assert_non_null(strstr(why, "GGUFREF_THREADS"));
    config.threads = GGUFREF_MAX_THREADS + 1;
    assert_null(gr_server_create(stdout, &config, &why));
}
#else
static void test_server_threads_in_process(void **state) {
    (void)state;
    skip(); /* a build without cJSON has no server */
}
#endif

/* The CLI: the same stdout for every count, session-less and in a session. */
static void write_script(const char *file, const char *text) {
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void test_serve_threads_cli(void **state) {
    (void)state;
    char path[4096];
    if (!fixture_path(path, sizeof path)) skip();
    char plain[] = "/tmp/ggufref_thr_plain_XXXXXX", sess[] = "/tmp/ggufref_thr_sess_XXXXXX";
    int fd1 = mkstemp(plain), fd2 = mkstemp(sess);
    assert_true(fd1 >= 0 && fd2 >= 0);
    close(fd1);
    close(fd2);
    char text[16384];
    snprintf(text, sizeof text,
             "{\"id\":1,\"cmd\":\"boot\"}\n"
             "{\"id\":2,\"cmd\":\"load-model\",\"path\":\"%s\"}\n"
             "{\"id\":3,\"cmd\":\"configure-sampling\",\"temperature\":0.8,\"top_k\":40,"
             "\"seed\":77,\"max_tokens\":24,\"stop_at_eos\":false}\n"
             "{\"id\":4,\"cmd\":\"generate\",\"prompt\":\"Once upon a time, there was\","
             "\"logits\":5,\"logits_full\":true}\n"
             "{\"id\":5,\"cmd\":\"generate-next-token\",\"logits\":3}\n"
             "{\"id\":6,\"cmd\":\"evaluate\",\"tokens\":[1,403,1058,931,263,931,29892,727,"
             "471,263,2217,7826,4257,365,2354,29889,2296,5131,304,1708,3412],\"logits\":4,"
             "\"logits_full\":true}\n"
             "{\"id\":7,\"cmd\":\"diagnostics\"}\n", path);
    write_script(plain, text); /* (a session's diagnostics would carry its timings) */
    snprintf(text, sizeof text,
             "{\"id\":1,\"cmd\":\"open-session\",\"path\":\"%s\"}\n"
             "{\"id\":2,\"cmd\":\"configure-sampling\",\"session\":1,\"temperature\":0.7,"
             "\"seed\":3,\"max_tokens\":24,\"stop_at_eos\":false}\n"
             "{\"id\":3,\"cmd\":\"generate\",\"session\":1,\"prompt\":\"Lily and Ben\","
             "\"logits\":5,\"logits_full\":true}\n"
             "{\"id\":4,\"cmd\":\"evaluate\",\"session\":1,\"tokens\":[1,365,2354,322,4111,"
             "526,7875,29889,1724,896],\"logits_full\":true}\n"
             "{\"id\":5,\"cmd\":\"close-session\",\"session\":1}\n", path);
    write_script(sess, text);
    static const char *const runs[][2] = {
        {NULL, ""}, {NULL, "--threads 1"}, {NULL, "--threads 2"}, {NULL, "--threads 3"},
        {"2", ""}, {"4", ""}, {"x", "--threads 3"}, /* the option wins over the variable */
    };
    const char *scripts[2] = {plain, sess};
    for (int k = 0; k < 2; k++) {
        cli_result want;
        char args[4300];
        for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
            if (runs[i][0] != NULL) setenv("GGUFREF_THREADS", runs[i][0], 1);
            snprintf(args, sizeof args, "serve %s <'%s'", runs[i][1], scripts[k]);
            cli_result r;
            bool ran = cli_run(args, &r);
            unsetenv("GGUFREF_THREADS");
            if (!ran) skip();
            assert_int_equal(r.exit_code, 0);
            assert_non_null(strstr(r.out, k == 0 ? "\"event\":\"token\"" : "\"session\":1"));
            assert_null(strstr(r.out, "\"event\":\"error\""));
            if (i == 0) {
                want = r;
                continue;
            }
            if (r.out_len != want.out_len || memcmp(r.out, want.out, want.out_len) != 0) {
                fail_msg("serve %s (GGUFREF_THREADS=%s), %s: events differ from one thread",
                         runs[i][1], runs[i][0] ? runs[i][0] : "unset",
                         k == 0 ? "session-less" : "in a session");
            }
            cli_result_free(&r);
        }
        cli_result_free(&want);
    }
    unlink(plain);
    unlink(sess);
}

/* A bad value: one stderr line naming the option or the variable, exit 2, no event. */
static void test_serve_threads_bad_values(void **state) {
    (void)state;
    static const char *const bad_option[] = {"--threads 0", "--threads 65", "--threads x",
                                             "--threads -1", "--threads 2x", "--threads ''",
                                             "--threads"};
    for (size_t i = 0; i < sizeof bad_option / sizeof bad_option[0]; i++) {
        cli_result r;
        char args[256];
        snprintf(args, sizeof args, "serve %s </dev/null", bad_option[i]);
        if (!cli_run(args, &r)) skip();
        assert_int_equal(r.exit_code, 2);
        assert_int_equal(r.out_len, 0);
        assert_non_null(strstr(r.err, "--threads"));
        assert_non_null(strchr(r.err, '\n'));
        assert_int_equal(strchr(r.err, '\n') - r.err + 1, (long)r.err_len); /* one line */
        cli_result_free(&r);
    }
    static const char *const bad_env[] = {"0", "65", "x", "", "-2", " 2", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad_env / sizeof bad_env[0]; i++) {
        cli_result r;
        setenv("GGUFREF_THREADS", bad_env[i], 1);
        bool ran = cli_run("serve </dev/null", &r);
        unsetenv("GGUFREF_THREADS");
        if (!ran) skip();
        assert_int_equal(r.exit_code, 2);
        assert_int_equal(r.out_len, 0);
        assert_non_null(strstr(r.err, "GGUFREF_THREADS"));
        assert_int_equal(strchr(r.err, '\n') - r.err + 1, (long)r.err_len);
        cli_result_free(&r);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logits_identical_for_1_to_4_threads_every_fixture),
        cmocka_unit_test(test_attention_identical_for_1_to_4_threads_long_context),
        cmocka_unit_test(test_set_threads_bounds),
        cmocka_unit_test(test_set_threads_out_of_memory),
        cmocka_unit_test(test_runtime_threads_setting),
        cmocka_unit_test(test_cli_generate_threads),
        cmocka_unit_test(test_export_threads_setting),
        cmocka_unit_test(test_pool_threads_setting),
        cmocka_unit_test(test_pool_threads_acquire_out_of_memory),
        cmocka_unit_test(test_server_threads_in_process),
        cmocka_unit_test(test_serve_threads_cli),
        cmocka_unit_test(test_serve_threads_bad_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
