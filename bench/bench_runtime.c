/*
 * bench_runtime.c — what the runtime state machine and the export layer cost on top of the bare
 * forward pass (SPEC chapters 7, 8), on the stories15M-shaped fixture.
 *
 *   bench_runtime <stories15m-f32.gguf> [--tokens N] [--repeat R]
 *
 * Three decode loops do the same work after the same prompt (the prompt is processed and the
 * first token sampled outside the timing), N-1 more tokens each:
 *   bare      ggufref_forward + copy of the logits + ggufref_sample, the caller's own loop
 *             (on the handle's model and context: the same memory as `handle`)
 *   handle    ggufref_runtime_generate_next_token (state checks, result bytes, counters)
 *   exports   ggufref_export_generate_next_token (plus the global lock)
 * and three whole requests (tokenize, prompt, N tokens): bare, ggufref_runtime_generate,
 * ggufref_export_generate. Runs are interleaved. The machine is shared, so the decode loops
 * time every step and sum, over the steps, the best of R runs of that step (interference
 * lasts milliseconds, a step ~5 ms); the requests are one call each: best of R. All loops must
 * make identical tokens.
 * `exports` runs on the export layer's own copy of the model, so exports vs bare also measures
 * page placement; the export layer's own cost is better seen in the cost of one uncontended
 * export call (lock + unlock), from ggufref_export_state, against the time of a token.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ggufref.h"
#include "runtime.h" /* the bare loop borrows the handle's model and context */

#define PROMPT "Once upon a time, there was a little girl named Lily"
#define MAX_TOKENS 512

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die(const char *what, int st) {
    fprintf(stderr, "bench_runtime: %s: %s\n", what, ggufref_status_name((ggufref_status)st));
    exit(1);
}

static void sampling(ggufref_sampling *s, int32_t max_tokens) {
    ggufref_sampling_default(s);
    s->temperature = 0.8f;
    s->top_k = 40;
    s->top_p = 0.95f;
    s->seed = 1234;
    s->max_tokens = max_tokens;
    s->stop_at_eos = false;
}

/* The caller's own loop: model, context, sampler, RNG. */
typedef struct bare {
    ggufref_model *model;     /* borrowed from the handle */
    ggufref_context *ctx;     /* borrowed from the handle */
    ggufref_sampler *sampler;
    ggufref_model_info info;
    float *logits;
    int32_t tokens[MAX_TOKENS];
    size_t n;
    ggufref_rng rng;
    ggufref_sampling s;
} bare;

/* The bare loop runs on the handle's own model and context (the same weight and KV memory:
 * separate copies of 60 MB of weights differ by up to ~10% in speed, from page placement
 * alone), with its own sampler scratch, logits copy, tokens and RNG. */
static void bare_open(bare *b, ggufref_runtime *rt, int32_t n_tokens) {
    int st;
    b->model = rt->model->model;
    b->ctx = rt->model->ctx;
    ggufref_model_get_info(b->model, &b->info);
    if ((st = ggufref_sampler_create(b->info.n_vocab, &b->sampler)) != 0) die("sampler", st);
    b->logits = malloc(b->info.n_vocab * sizeof *b->logits);
    sampling(&b->s, n_tokens);
}

/* One step: forward the tokens not yet run (from pos), sample, append. */
static void bare_step(bare *b, size_t pos) {
    const float *logits = NULL;
    int st;
    while (pos < b->n) {
        size_t k = b->n - pos > GGUFREF_MAX_BATCH ? GGUFREF_MAX_BATCH : b->n - pos;
        st = k == 1 ? ggufref_forward(b->ctx, b->tokens[pos], (uint32_t)pos, &logits)
                    : ggufref_forward_batch(b->ctx, b->tokens + pos, k, (uint32_t)pos, &logits);
        if (st != 0) die("forward", st);
        pos += k;
    }
    memcpy(b->logits, logits, b->info.n_vocab * sizeof *b->logits);
    int32_t tok;
    if ((st = ggufref_sample(b->sampler, &b->s, b->logits, b->tokens, b->n, &b->rng, &tok)) != 0) {
        die("sample", st);
    }
    b->tokens[b->n++] = tok;
}

/* Tokenize, run the prompt and sample the first token. */
static void bare_begin(bare *b) {
    int st = ggufref_tokenize(b->model, PROMPT, strlen(PROMPT), b->info.add_bos, b->tokens,
                              MAX_TOKENS, &b->n);
    if (st != 0) die("tokenize", st);
    ggufref_rng_seed(&b->rng, b->s.seed);
    bare_step(b, 0);
}

static void keep(double *best, double t) {
    if (t < *best) *best = t;
}

static void check_same(const char *what, const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    if (na != nb || memcmp(a, b, na * sizeof *a) != 0) {
        fprintf(stderr, "bench_runtime: %s made other tokens than the bare loop\n", what);
        exit(1);
    }
}

static void tokens_of_handle(ggufref_runtime *rt, int32_t *out, size_t *n) {
    const int32_t *t;
    ggufref_runtime_tokens(rt, &t, n, NULL);
    if (*n > 0) memcpy(out, t, *n * sizeof *t);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_runtime <stories15m-f32.gguf> [--tokens N] [--repeat R]\n");
        return 2;
    }
    int32_t n_tokens = 200;
    int repeat = 5;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--tokens") == 0) n_tokens = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--repeat") == 0) repeat = atoi(argv[i + 1]);
    }
    FILE *f = fopen(argv[1], "rb");
    if (f == NULL) {
        fprintf(stderr, "bench_runtime: cannot open %s\n", argv[1]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    size_t len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *bytes = malloc(len);
    if (bytes == NULL || fread(bytes, 1, len, f) != len) return 1;
    fclose(f);

    bare b = {0};
    ggufref_runtime *rt;
    ggufref_sampling s1, sn;
    sampling(&s1, 1);
    sampling(&sn, n_tokens);
    int st;
    if ((st = ggufref_runtime_create(&rt)) != 0) die("create", st);
    if ((st = ggufref_runtime_load_model(rt, bytes, len)) != 0) die("runtime load", st);
    if ((st = ggufref_export_load_model(bytes, len)) != 0) die("export load", st);
    bare_open(&b, rt, n_tokens);
    if (b.n + (size_t)n_tokens > b.info.n_ctx_train || n_tokens < 2) {
        fprintf(stderr, "bench_runtime: --tokens must be in [2, n_ctx - prompt]\n");
        return 2;
    }

    enum { BARE, HANDLE, EXPORTS, BARE_REQ, HANDLE_REQ, EXPORTS_REQ, N_VARIANTS };
    static const char *const names[N_VARIANTS] = {
        "decode loop: bare forward + sample", "decode loop: runtime_generate_next_token",
        "decode loop: export_generate_next_token", "request: bare tokenize+prompt+decode",
        "request: runtime_generate", "request: export_generate"};
    double best[N_VARIANTS];
    for (int v = 0; v < N_VARIANTS; v++) best[v] = 1e30;
    static double step_best[3][MAX_TOKENS]; /* decode loops: best time of each step */
    for (int v = 0; v < 3; v++) {
        for (int i = 0; i < MAX_TOKENS; i++) step_best[v][i] = 1e30;
    }
    int32_t ref[MAX_TOKENS], got[MAX_TOKENS];
    size_t n_ref = 0, n_got;

    /* The reference tokens (and a warm-up). */
    bare_begin(&b);
    for (int32_t i = 1; i < n_tokens; i++) bare_step(&b, b.n - 1);
    memcpy(ref, b.tokens, b.n * sizeof *ref);
    n_ref = b.n;

    for (int r = 0; r < repeat; r++) {
        for (int k = 0; k < 3; k++) { /* decode loops, in an order rotated per run */
            int v = (k + r) % 3;
            double t;
            if (v == BARE) {
                bare_begin(&b);
            } else if (v == HANDLE) {
                if ((st = ggufref_runtime_configure_sampling(rt, &s1)) != 0) die("configure", st);
                st = ggufref_runtime_generate(rt, PROMPT, strlen(PROMPT), NULL, NULL);
            } else {
                if ((st = ggufref_export_configure_sampling(&s1)) != 0) die("configure", st);
                st = ggufref_export_generate(PROMPT, strlen(PROMPT), NULL, NULL);
            }
            if (v != BARE && st != 0) die("generate", st);
            for (int32_t i = 1; i < n_tokens; i++) {
                t = now();
                if (v == BARE) bare_step(&b, b.n - 1);
                else if (v == HANDLE) st = ggufref_runtime_generate_next_token(rt, NULL, NULL);
                else st = ggufref_export_generate_next_token(NULL, NULL);
                keep(&step_best[v][i], now() - t);
                if (st != 0) die("next token", st);
            }
            if (v == BARE) check_same("the bare loop", ref, n_ref, b.tokens, b.n);
            if (v == HANDLE) tokens_of_handle(rt, got, &n_got);
            if (v == EXPORTS && (st = ggufref_export_tokens(got, MAX_TOKENS, &n_got, NULL)) != 0) {
                die("tokens", st);
            }
            if (v != BARE) check_same(names[v], ref, n_ref, got, n_got);
        }
        for (int k = 0; k < 3; k++) { /* whole requests, rotated likewise */
            int v = BARE_REQ + (k + r) % 3;
            if (v == HANDLE_REQ && (st = ggufref_runtime_configure_sampling(rt, &sn)) != 0) {
                die("configure", st);
            }
            if (v == EXPORTS_REQ && (st = ggufref_export_configure_sampling(&sn)) != 0) {
                die("configure", st);
            }
            double t = now();
            if (v == BARE_REQ) {
                bare_begin(&b);
                for (int32_t i = 1; i < n_tokens; i++) bare_step(&b, b.n - 1);
            } else if (v == HANDLE_REQ) {
                st = ggufref_runtime_generate(rt, PROMPT, strlen(PROMPT), NULL, NULL);
            } else {
                st = ggufref_export_generate(PROMPT, strlen(PROMPT), NULL, NULL);
            }
            keep(&best[v], now() - t);
            if (v != BARE_REQ && st != 0) die("generate", st);
            if (v == BARE_REQ) continue;
            if (v == HANDLE_REQ) tokens_of_handle(rt, got, &n_got);
            if (v == EXPORTS_REQ && (st = ggufref_export_tokens(got, MAX_TOKENS, &n_got, NULL)) != 0) {
                die("tokens", st);
            }
            check_same(names[v], ref, n_ref, got, n_got);
        }
    }

    for (int v = 0; v < 3; v++) {
        best[v] = 0;
        for (int32_t i = 1; i < n_tokens; i++) best[v] += step_best[v][i];
    }

    /* One uncontended export call: lock, state read, unlock. */
    enum { CALLS = 2000000 };
    ggufref_state state;
    double t = now();
    for (int i = 0; i < CALLS; i++) (void)ggufref_export_state(&state);
    double per_call = (now() - t) / CALLS;

    printf("bench_runtime: %s, %d tokens after a %zu-token prompt, best of %d per step, "
           "identical tokens\n",
           argv[1], n_tokens, n_ref - (size_t)n_tokens, repeat);
    printf("  (temperature 0.8, top_k 40, top_p 0.95; one thread)\n");
    for (int v = 0; v < N_VARIANTS; v++) {
        int steps = v < BARE_REQ ? n_tokens - 1 : n_tokens;
        printf("  %-42s %8.2f ms  %7.3f ms/token", names[v], best[v] * 1e3, best[v] * 1e3 / steps);
        if (v == HANDLE || v == EXPORTS) {
            printf("  %+6.2f%% vs bare", (best[v] / best[BARE] - 1.0) * 100.0);
        }
        if (v == HANDLE_REQ || v == EXPORTS_REQ) {
            printf("  %+6.2f%% vs bare", (best[v] / best[BARE_REQ] - 1.0) * 100.0);
        }
        printf("\n");
    }
    printf("  export layer alone: %+.2f%% (decode loop), %+.2f%% (request)\n",
           (best[EXPORTS] / best[HANDLE] - 1.0) * 100.0,
           (best[EXPORTS_REQ] / best[HANDLE_REQ] - 1.0) * 100.0);
    printf("  one uncontended export call (lock + state + unlock): %.1f ns = %.5f%% of a token\n",
           per_call * 1e9, per_call / (best[BARE] / (n_tokens - 1)) * 100.0);

    ggufref_sampler_free(b.sampler);
    free(b.logits);
    ggufref_runtime_destroy(rt);
    ggufref_fault_export_reset(); /* a no-op in this release build: the process ends anyway */
    free(bytes);
    return 0;
}
