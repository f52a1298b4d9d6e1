/*
 * bench_runtime.c — what the runtime handle and the export layer cost on top of the bare
 * forward pass (SPEC chapters 7, 8; issue 4: "target < 2%"), on a stories15M-shaped fixture.
 *
 *   bench_runtime <model.gguf> [--tokens N] [--rounds R]
 *
 * Paths, each making the same N tokens (temperature 0.8, top_k 40, top_p 0.95, seed 1234)
 * after the same prompt; all must make identical tokens:
 *   decode loops (the prompt and the first token run untimed, then N-1 timed tokens)
 *     bare      ggufref_forward + copy of the logits + ggufref_sample, the caller's own loop
 *     handle    ggufref_runtime_generate_next_token            figure (a)
 *     export    ggufref_export_generate_next_token             figure (b)
 *   whole requests (tokenize, prompt, N tokens), one call each
 *     bare      the same, by hand
 *     handle    ggufref_runtime_generate                       figure (c)
 *     export    ggufref_export_generate                        figure (c)
 * Overhead = (path - bare) / bare.
 *
 * Same memory. The weights (61 MB in F32) are streamed from DRAM once per token, so where
 * they sit decides the speed: on 4 KiB pages two identically made copies (malloc + memcpy)
 * run up to ~16% apart (TLB and page-walk cost of their physical pages; the 13% that an
 * earlier version of this benchmark saw between the export layer's copy and its own), and a
 * copy 16 bytes past a 64-byte boundary pays for split 32-byte loads (R-RT-014). So every
 * path here runs on the very same buffers:
 *   - glibc serves every allocation from its heap and never gives memory back (mallopt
 *     M_MMAP_MAX 0, M_TRIM_THRESHOLD max): freed memory stays mapped to the same pages;
 *   - a round has two phases. The handle phase loads the model into the handle (its own
 *     gr_malloc'd copy, as the runtime always does), runs bare (borrowing the handle's model,
 *     context, sampler scratch and logits copy: the same weight, KV, scratch and sampling
 *     memory) and handle, and frees the model.
 *     The export phase loads the model into the export layer, which makes the same
 *     allocations in the same order and so gets the same addresses, runs export, frees it.
 *     Phases alternate in order per round, so do bare and handle inside the handle phase.
 *   - checked every round: the export layer's logits (passed to the token callback, R-RT-029)
 *     sit at the address of the handle's, and the handle's weights at the same address each
 *     round; the verdict is printed.
 * Times are thread CPU time (CLOCK_THREAD_CPUTIME_ID): the machine is shared, and time spent
 * descheduled is not the runtime's. Reported: median [min..max] over rounds of each path, the
 * overhead from the medians, and the median [min..max] of the per-round ratio (path / bare of
 * the same round); for the decode loops also the floor, the sum over steps of each step's
 * fastest round (interference only adds time, and a step lasts milliseconds).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "ggufref.h"
#include "runtime.h" /* the bare loop borrows the handle's model, context and sampler */

#define PROMPT "Once upon a time, there was a little girl named Lily"
#define MAX_TOKENS 512
#define MAX_ROUNDS 64

/* Not inlined, so that callgrind can count the timed work alone (see README). */
#if defined(__GNUC__)
#define TIMED __attribute__((noinline))
#else
#define TIMED
#endif

enum { BARE, HANDLE, EXPORT, BARE_REQ, HANDLE_REQ, EXPORT_REQ, N_PATHS };
static const char *const path_names[N_PATHS] = {
    "bare forward + sample", "runtime_generate_next_token", "export_generate_next_token",
    "bare tokenize + prompt + decode", "runtime_generate", "export_generate"};

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
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

/* The caller's own loop: its tokens and RNG. Model, context, sampler scratch and logits copy
 * are the handle's (bare_attach): the same weight, KV, scratch and sampling memory. */
typedef struct bare {
    const ggufref_model *model;
    ggufref_context *ctx;
    ggufref_sampler *sampler;
    ggufref_model_info info;
    float *logits;            /* (n_vocab) */
    int32_t tokens[MAX_TOKENS];
    size_t n;
    ggufref_rng rng;
    ggufref_sampling s;
} bare;

static void bare_attach(bare *b, ggufref_runtime *rt) {
    b->model = rt->model->model;
    b->ctx = rt->model->ctx;
    b->sampler = rt->model->sampler;
    b->logits = rt->model->logits;
}

/* One step: forward the tokens not yet run (from pos), sample, append. OUT: *seen = the
 * context's logits (for the same-memory check). */
TIMED static void bare_step(bare *b, size_t pos, const float **seen) {
    const float *logits = NULL;
    int st;
    while (pos < b->n) {
        size_t k = b->n - pos > GGUFREF_MAX_BATCH ? GGUFREF_MAX_BATCH : b->n - pos;
        st = k == 1 ? ggufref_forward(b->ctx, b->tokens[pos], (uint32_t)pos, &logits)
                    : ggufref_forward_batch(b->ctx, b->tokens + pos, k, (uint32_t)pos, &logits);
        if (st != 0) die("forward", st);
        pos += k;
    }
    if (seen != NULL) *seen = logits;
    memcpy(b->logits, logits, b->info.n_vocab * sizeof *b->logits);
    int32_t tok;
    if ((st = ggufref_sample(b->sampler, &b->s, b->logits, b->tokens, b->n, &b->rng, &tok)) != 0) {
        die("sample", st);
    }
    b->tokens[b->n++] = tok;
}

/* Tokenize, run the prompt and sample the first token. */
TIMED static void bare_begin(bare *b, const float **seen) {
    int st = ggufref_tokenize(b->model, PROMPT, strlen(PROMPT), b->info.add_bos, b->tokens,
                              MAX_TOKENS, &b->n);
    if (st != 0) die("tokenize", st);
    ggufref_rng_seed(&b->rng, b->s.seed);
    bare_step(b, 0, seen);
}

/* Token callback of the untimed first step: remembers where the logits live. */
static void note_logits(int32_t token, const char *piece, size_t len, const float *logits,
                        uint32_t n_vocab, void *user) {
    (void)token, (void)piece, (void)len, (void)n_vocab;
    *(const float **)user = logits;
}

static void check_same(const char *what, const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    if (na != nb || memcmp(a, b, na * sizeof *a) != 0) {
        fprintf(stderr, "bench_runtime: %s made other tokens than the bare loop\n", what);
        exit(1);
    }
}

/* The tokens of the handle (export == false) or of the export layer. OUT: out, *n. */
static void tokens_of(ggufref_runtime *rt, bool export, int32_t *out, size_t *n) {
    if (export) {
        int st = ggufref_export_tokens(out, MAX_TOKENS, n, NULL);
        if (st != 0) die("export tokens", st);
        return;
    }
    const int32_t *t;
    ggufref_runtime_tokens(rt, &t, n, NULL);
    if (*n > MAX_TOKENS) die("tokens", GGUFREF_ERR_LIMIT_EXCEEDED);
    if (*n > 0) memcpy(out, t, *n * sizeof *t);
}

/* The whole run of one benchmark process. */
typedef struct bench {
    const uint8_t *bytes;     /* the model file, read once */
    size_t len;
    int32_t n_tokens;
    ggufref_sampling s1, sn;  /* max_tokens 1 (decode loops), n_tokens (requests) */
    ggufref_runtime *rt;
    bare b;
    int32_t ref[MAX_TOKENS];  /* the bare loop's tokens: every path must make them */
    size_t n_ref;
    double t[N_PATHS][MAX_ROUNDS]; /* seconds per path and round */
    double floor[EXPORT + 1][MAX_TOKENS]; /* decode loops: fastest time of each step */
    const void *logits_at;    /* where the context's logits were first seen */
    const void *weights_at;   /* where the handle's copy of the model bytes was first seen */
    bool same_memory;         /* every round: export logits and handle weights where they were */
} bench;

/* The timed part of a decode loop: N-1 tokens of `path`, each timed (B->floor keeps each
 * step's fastest time). Seconds. */
TIMED static double timed_steps(bench *B, int path) {
    int st = 0;
    double total = 0;
    for (int32_t i = 1; i < B->n_tokens; i++) {
        double t = cpu_now();
        if (path == BARE) bare_step(&B->b, B->b.n - 1, NULL);
        else if (path == HANDLE) st = ggufref_runtime_generate_next_token(B->rt, NULL, NULL);
        else st = ggufref_export_generate_next_token(NULL, NULL);
        t = cpu_now() - t;
        if (st != 0) die("next token", st);
        if (t < B->floor[path][i]) B->floor[path][i] = t;
        total += t;
    }
    return total;
}

/* One decode loop of `path`: the prompt and first token untimed, then timed_steps. Seconds.
 * OUT: *seen = where the context's logits are. */
static double decode_loop(bench *B, int path, const float **seen) {
    int st = 0;
    if (path == BARE) {
        bare_begin(&B->b, seen);
    } else if (path == HANDLE) {
        if ((st = ggufref_runtime_configure_sampling(B->rt, &B->s1)) != 0) die("configure", st);
        st = ggufref_runtime_generate(B->rt, PROMPT, strlen(PROMPT), note_logits, (void *)seen);
    } else {
        if ((st = ggufref_export_configure_sampling(&B->s1)) != 0) die("configure", st);
        st = ggufref_export_generate(PROMPT, strlen(PROMPT), note_logits, (void *)seen);
    }
    if (st != 0) die("generate", st);
    return timed_steps(B, path);
}

/* The timed part of a request: one whole request of `path`. Seconds. */
TIMED static double timed_request(bench *B, int path) {
    int st = 0;
    double t = cpu_now();
    if (path == BARE_REQ) {
        bare_begin(&B->b, NULL);
        for (int32_t i = 1; i < B->n_tokens; i++) bare_step(&B->b, B->b.n - 1, NULL);
    } else if (path == HANDLE_REQ) {
        st = ggufref_runtime_generate(B->rt, PROMPT, strlen(PROMPT), NULL, NULL);
    } else {
        st = ggufref_export_generate(PROMPT, strlen(PROMPT), NULL, NULL);
    }
    t = cpu_now() - t;
    if (st != 0) die("generate", st);
    return t;
}

/* One whole request of `path` (sampling configured untimed). Seconds. */
static double request(bench *B, int path) {
    int st = 0;
    if (path == HANDLE_REQ && (st = ggufref_runtime_configure_sampling(B->rt, &B->sn)) != 0) {
        die("configure", st);
    }
    if (path == EXPORT_REQ && (st = ggufref_export_configure_sampling(&B->sn)) != 0) {
        die("configure", st);
    }
    return timed_request(B, path);
}

/* The tokens `path` just made must be the reference tokens. */
static void check_tokens(bench *B, int path) {
    int32_t got[MAX_TOKENS];
    size_t n;
    if (path == BARE || path == BARE_REQ) {
        check_same(path_names[path], B->ref, B->n_ref, B->b.tokens, B->b.n);
        return;
    }
    tokens_of(B->rt, path == EXPORT || path == EXPORT_REQ, got, &n);
    check_same(path_names[path], B->ref, B->n_ref, got, n);
}

/* The same-memory check: *first is where a buffer was first seen (NULL: not yet). */
static void same_place(bench *B, const void **first, const void *now) {
    if (*first == NULL) *first = now;
    if (now != *first) B->same_memory = false;
}

/* Handle phase of round r: load, bare and handle (order by r), free. */
static void handle_phase(bench *B, int r) {
    int st = ggufref_runtime_load_model(B->rt, B->bytes, B->len);
    if (st != 0) die("runtime load", st);
    bare_attach(&B->b, B->rt);
    same_place(B, &B->weights_at, B->rt->model->bytes);
    for (int k = 0; k < 2; k++) {
        int path = (k + r / 2) % 2 == 0 ? BARE : HANDLE;
        const float *seen = NULL;
        B->t[path][r] = decode_loop(B, path, &seen);
        same_place(B, &B->logits_at, seen);
        check_tokens(B, path);
    }
    for (int k = 0; k < 2; k++) {
        int path = (k + r / 2) % 2 == 0 ? BARE_REQ : HANDLE_REQ;
        B->t[path][r] = request(B, path);
        check_tokens(B, path);
    }
    if ((st = ggufref_runtime_free_model(B->rt)) != 0) die("runtime free", st);
}

/* Export phase of round r: load into the export layer, export paths, free. */
static void export_phase(bench *B, int r) {
    int st = ggufref_export_load_model(B->bytes, B->len);
    if (st != 0) die("export load", st);
    const float *seen = NULL;
    B->t[EXPORT][r] = decode_loop(B, EXPORT, &seen);
    same_place(B, &B->logits_at, seen);
    check_tokens(B, EXPORT);
    B->t[EXPORT_REQ][r] = request(B, EXPORT_REQ);
    check_tokens(B, EXPORT_REQ);
    if ((st = ggufref_export_free_model()) != 0) die("export free", st);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median, min and max of v[0..n) (sorts a copy). OUT: *lo, *hi. */
static double median(const double *v, int n, double *lo, double *hi) {
    double s[MAX_ROUNDS];
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    *lo = s[0];
    *hi = s[n - 1];
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* Print one path: time per token, and against base (a bare path) its overhead. */
static void report(const bench *B, int rounds, int path, int base) {
    int steps = path < BARE_REQ ? B->n_tokens - 1 : B->n_tokens;
    double lo, hi, med = median(B->t[path], rounds, &lo, &hi);
    double k = 1e3 / steps;
    printf("  %-32s %7.3f ms/token [%.3f..%.3f]", path_names[path], med * k, lo * k, hi * k);
    if (path != base) {
        double ratio[MAX_ROUNDS], rlo, rhi, blo, bhi;
        for (int r = 0; r < rounds; r++) ratio[r] = B->t[path][r] / B->t[base][r];
        double rmed = median(ratio, rounds, &rlo, &rhi);
        double bmed = median(B->t[base], rounds, &blo, &bhi);
        printf("  %+6.2f%%  (paired %+.2f%% [%+.2f..%+.2f])", (med / bmed - 1) * 100,
               (rmed - 1) * 100, (rlo - 1) * 100, (rhi - 1) * 100);
    }
    printf("\n");
}

/* Print the floor of a decode loop: the sum over steps of each step's fastest round
 * (interference only ever adds time), and its overhead against the bare loop's floor. */
static void report_floor(const bench *B, int path) {
    double sum[EXPORT + 1] = {0};
    for (int p = BARE; p <= EXPORT; p++) {
        for (int32_t i = 1; i < B->n_tokens; i++) sum[p] += B->floor[p][i];
    }
    printf("  %-32s %7.3f ms/token", path_names[path], sum[path] * 1e3 / (B->n_tokens - 1));
    if (path != BARE) printf("  %+6.2f%%", (sum[path] / sum[BARE] - 1) * 100);
    printf("\n");
}

/* Read the whole file. OUT: *len. */
static uint8_t *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0) {
        fprintf(stderr, "bench_runtime: cannot open %s\n", path);
        exit(1);
    }
    long size = ftell(f);
    uint8_t *bytes = size > 0 ? malloc((size_t)size) : NULL;
    if (bytes == NULL || fseek(f, 0, SEEK_SET) != 0 || fread(bytes, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "bench_runtime: cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
    *len = (size_t)size;
    return bytes;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_runtime <model.gguf> [--tokens N] [--rounds R]\n");
        return 2;
    }
    static bench B = {.same_memory = true};
    for (int p = BARE; p <= EXPORT; p++) {
        for (int i = 0; i < MAX_TOKENS; i++) B.floor[p][i] = 1e30;
    }
    B.n_tokens = 128;
    int rounds = 11;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--tokens") == 0) B.n_tokens = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--rounds") == 0) rounds = atoi(argv[i + 1]);
    }
    if (rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "bench_runtime: --rounds must be in [1, %d]\n", MAX_ROUNDS);
        return 2;
    }
#ifdef __GLIBC__
    /* Every block from the heap, none given back: a freed model's memory stays mapped to the
     * same pages and the next identical sequence of allocations gets the same addresses. */
    if (mallopt(M_MMAP_MAX, 0) != 1 || mallopt(M_TRIM_THRESHOLD, -1) != 1) {
        fprintf(stderr, "bench_runtime: mallopt failed\n");
        return 1;
    }
#endif
    B.bytes = read_all(argv[1], &B.len);
    sampling(&B.s1, 1);
    sampling(&B.sn, B.n_tokens);
    sampling(&B.b.s, B.n_tokens);
    int st;
    if ((st = ggufref_runtime_create(&B.rt)) != 0) die("create", st);
    if ((st = ggufref_runtime_init(B.rt)) != 0) die("init", st);
    if ((st = ggufref_export_init_runtime()) != 0) die("export init", st);

    /* The reference tokens (also a warm-up). */
    if ((st = ggufref_runtime_load_model(B.rt, B.bytes, B.len)) != 0) die("runtime load", st);
    bare_attach(&B.b, B.rt);
    ggufref_model_get_info(B.b.model, &B.b.info);
    bare_begin(&B.b, NULL);
    if (B.n_tokens < 2 || B.b.n + (size_t)B.n_tokens > B.b.info.n_ctx_train ||
        B.b.n + (size_t)B.n_tokens > MAX_TOKENS) {
        fprintf(stderr, "bench_runtime: --tokens must be in [2, n_ctx - prompt tokens]\n");
        return 2;
    }
    for (int32_t i = 1; i < B.n_tokens; i++) bare_step(&B.b, B.b.n - 1, NULL);
    memcpy(B.ref, B.b.tokens, B.b.n * sizeof *B.ref);
    B.n_ref = B.b.n;
    if ((st = ggufref_runtime_free_model(B.rt)) != 0) die("runtime free", st);

    for (int r = 0; r < rounds; r++) {
        if (r % 2 == 0) {
            handle_phase(&B, r);
            export_phase(&B, r);
        } else {
            export_phase(&B, r);
            handle_phase(&B, r);
        }
    }

    /* One uncontended export call (lock, state read, unlock), against a bare token. */
    enum { CALLS = 1000000 };
    ggufref_state state;
    double t = cpu_now();
    for (int i = 0; i < CALLS; i++) (void)ggufref_export_state(&state);
    double per_call = (cpu_now() - t) / CALLS, lo, hi;
    double per_token = median(B.t[BARE], rounds, &lo, &hi) / (B.n_tokens - 1);

    printf("bench_runtime: %s (%zu bytes), %d tokens after a %zu-token prompt, %d rounds\n",
           argv[1], B.len, B.n_tokens, B.n_ref - (size_t)B.n_tokens, rounds);
    printf("  thread CPU time per token, median [min..max] over rounds; overhead vs bare from "
           "the medians, (paired: median [min..max] of the per-round ratio)\n");
    printf("  same memory for every path (weights, KV cache, scratch): %s\n",
           B.same_memory ? "yes, checked every round"
                         : "NO: the export layer's buffers moved; export figures compare "
                           "different memory");
    printf(" decode loop (N-1 tokens after an untimed prompt + first token)\n");
    report(&B, rounds, BARE, BARE);
    report(&B, rounds, HANDLE, BARE);
    report(&B, rounds, EXPORT, BARE);
    printf(" decode loop, floor: sum over the steps of each step's fastest round\n");
    for (int p = BARE; p <= EXPORT; p++) report_floor(&B, p);
    printf(" whole request (tokenize, prompt, N tokens)\n");
    report(&B, rounds, BARE_REQ, BARE_REQ);
    report(&B, rounds, HANDLE_REQ, BARE_REQ);
    report(&B, rounds, EXPORT_REQ, BARE_REQ);
    printf("  one uncontended export call (lock + state + unlock): %.1f ns = %.5f%% of a token\n",
           per_call * 1e9, per_call / per_token * 100.0);

    ggufref_runtime_destroy(B.rt);
    free((void *)B.bytes);
    return B.same_memory ? 0 : 3;
}
