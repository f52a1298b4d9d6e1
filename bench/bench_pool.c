/*
 * bench_pool.c — the pool of SPEC chapter 12 (issue 13's figures; a benchmark, not a test).
 *
 *   bench_pool MODEL.gguf [--tokens N] [--rounds R] [--sessions S]
 *
 * Prints, for one shared model:
 *   (a) aggregate decode tokens/s with 1 session (one thread) and with S concurrent sessions
 *       (S threads, each its own session and request), median over rounds; the ratio S vs 1;
 *   (b) resident memory (VmRSS) with 1..S sessions created, against model + N x session bytes
 *       (ggufref_runtime_session_bytes: the R-POOL-020 accounting);
 *   (c) acquire + release of an idle session: ns per pair, against one token's time;
 *   (d) saturation: 4 S clients on S sessions, each doing short requests for a while: the
 *       longest wait for a permit and how many acquires completed.
 * Every concurrent request must give the same tokens as the solo run (checked, R-POOL-015).
 */
#define _POSIX_C_SOURCE 200809L

#include "ggufref.h"

#include "bench_util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROMPT "Once upon a time"

static ggufref_shared_model *g_model;
static ggufref_pool *g_pool;
static int g_tokens = 128;

static long rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) return -1;
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) kib = strtol(line + 6, NULL, 10);
    }
    fclose(f);
    return kib;
}

static void die(const char *what, ggufref_status st) {
    fprintf(stderr, "bench_pool: %s: %s\n", what, ggufref_status_name(st));
    exit(1);
}

typedef struct job {
    double seconds;          /* decode time: first token to last */
    int tokens;
    int32_t out[1024];
    size_t n_out;
    double t_first, t_last;
} job;

static void tick(int32_t token, const char *piece, size_t len, const float *logits,
                 uint32_t n_vocab, void *user) {
    (void)token, (void)piece, (void)len, (void)logits, (void)n_vocab;
    job *j = user;
    double now = bench_now_s();
    if (j->tokens == 0) j->t_first = now;
    j->t_last = now;
    j->tokens++;
}

static void *run_job(void *arg) {
    job *j = arg;
    ggufref_session *s;
    ggufref_status st = ggufref_pool_acquire(g_pool, UINT64_MAX, &s);
    if (st != GGUFREF_OK) die("acquire", st);
    ggufref_runtime *rt = ggufref_session_runtime(s);
    ggufref_sampling smp;
    ggufref_sampling_default(&smp);
    smp.max_tokens = g_tokens;
    smp.stop_at_eos = false;
    if ((st = ggufref_runtime_configure_sampling(rt, &smp)) != GGUFREF_OK) die("configure", st);
    j->tokens = 0;
    if ((st = ggufref_session_generate(s, PROMPT, strlen(PROMPT), tick, j)) != GGUFREF_OK) {
        die("generate", st);
    }
    const int32_t *toks;
    ggufref_runtime_tokens(rt, &toks, &j->n_out, NULL);
    if (j->n_out > 1024) j->n_out = 1024;
    memcpy(j->out, toks, j->n_out * sizeof *toks);
    j->seconds = j->t_last - j->t_first; /* tokens-1 decode steps */
    ggufref_pool_release(g_pool, s);
    return NULL;
}

/* Aggregate decode tok/s of n concurrent requests (n threads). */
static double aggregate(int n, const job *solo, int *mismatch) {
    pthread_t th[64];
    job *jobs = calloc((size_t)n, sizeof *jobs);
    double t0 = bench_now_s();
    for (int i = 0; i < n; i++) pthread_create(&th[i], NULL, run_job, &jobs[i]);
    for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
    double first = 1e300, last = 0;
    int steps = 0;
    for (int i = 0; i < n; i++) {
        if (jobs[i].t_first < first) first = jobs[i].t_first;
        if (jobs[i].t_last > last) last = jobs[i].t_last;
        steps += jobs[i].tokens - 1;
        if (solo != NULL && (jobs[i].n_out != solo->n_out ||
                             memcmp(jobs[i].out, solo->out, solo->n_out * sizeof(int32_t)) != 0)) {
            (*mismatch)++;
        }
    }
    (void)t0;
    free(jobs);
    return steps / (last - first);
}

typedef struct sat_arg {
    double until;
    double max_wait;
    long acquires;
} sat_arg;

static void *saturate(void *arg) {
    sat_arg *a = arg;
    while (bench_now_s() < a->until) {
        double t = bench_now_s();
        ggufref_session *s;
        ggufref_status st = ggufref_pool_acquire(g_pool, UINT64_MAX, &s);
        if (st != GGUFREF_OK) die("acquire", st);
        double w = bench_now_s() - t;
        if (w > a->max_wait) a->max_wait = w;
        a->acquires++;
        ggufref_runtime *rt = ggufref_session_runtime(s);
        ggufref_sampling smp;
        ggufref_sampling_default(&smp);
        smp.max_tokens = 4;
        ggufref_runtime_configure_sampling(rt, &smp);
        ggufref_session_generate(s, PROMPT, strlen(PROMPT), NULL, NULL);
        ggufref_pool_release(g_pool, s);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_pool MODEL.gguf [--tokens N] [--rounds R] [--sessions S]\n");
        return 2;
    }
    int rounds = 5, sessions = 2;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--tokens") == 0) g_tokens = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--rounds") == 0) rounds = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--sessions") == 0) sessions = atoi(argv[i + 1]);
    }
    if (sessions < 1 || sessions > 64 || rounds < 1 || rounds > 99 || g_tokens < 2) return 2;
    long rss0 = rss_kib();
    ggufref_error err;
    ggufref_status st = ggufref_shared_model_open_file(argv[1], &g_model, &err);
    if (st != GGUFREF_OK) {
        fprintf(stderr, "bench_pool: %s: %s\n", argv[1], err.message);
        return 1;
    }
    long rss_model = rss_kib();
    ggufref_pool_limits lim;
    ggufref_pool_limits_default(&lim);
    lim.max_sessions = (uint32_t)sessions;
    if ((st = ggufref_pool_create(g_model, &lim, &g_pool, &err)) != GGUFREF_OK) die("pool", st);
    uint64_t per;
    ggufref_runtime_session_bytes(g_model, 0, &per);

    /* (b) memory with 1..S sessions, each touched by one short request */
    printf("model %s: %.1f MB, session bytes %.2f MB (R-POOL-020)\n", argv[1],
           ggufref_shared_model_size(g_model) / 1e6, per / 1e6);
    printf("(b) resident memory (VmRSS) vs model + N x session bytes, each session's context "
           "filled:\n");
    ggufref_model_info info;
    ggufref_model_get_info(ggufref_shared_model_model(g_model), &info);
    size_t n_prompt;
    int32_t none;
    ggufref_tokenize(ggufref_shared_model_model(g_model), PROMPT, strlen(PROMPT), info.add_bos,
                     &none, 0, &n_prompt);
    ggufref_session *held[64];
    for (int n = 1; n <= sessions; n++) {
        if ((st = ggufref_pool_acquire(g_pool, 0, &held[n - 1])) != GGUFREF_OK) die("acquire", st);
        ggufref_runtime *rt = ggufref_session_runtime(held[n - 1]);
        ggufref_sampling smp;
        ggufref_sampling_default(&smp);
        smp.max_tokens = (int32_t)(info.n_ctx_train - n_prompt);
        smp.stop_at_eos = false;
        ggufref_runtime_configure_sampling(rt, &smp);
        ggufref_session_generate(held[n - 1], PROMPT, strlen(PROMPT), NULL, NULL);
        double got = (rss_kib() - rss0) * 1024.0;
        double want = (double)ggufref_shared_model_size(g_model) + n * (double)per;
        printf("    %d session(s): rss +%.1f MB, accounted %.1f MB, ratio %.3f\n", n, got / 1e6,
               want / 1e6, got / want);
    }
    for (int n = 0; n < sessions; n++) ggufref_pool_release(g_pool, held[n]);
    (void)rss_model;

    /* (a) aggregate decode throughput, rounds interleaved */
    job solo = {0};
    run_job(&solo);
    double *one = calloc((size_t)rounds, sizeof *one), *many = calloc((size_t)rounds, sizeof *many);
    int mismatch = 0;
    for (int r = 0; r < rounds; r++) {
        one[r] = aggregate(1, &solo, &mismatch);
        many[r] = aggregate(sessions, &solo, &mismatch);
    }
    double m1 = bench_sort_median(one, (size_t)rounds), mn = bench_sort_median(many, (size_t)rounds);
    printf("(a) aggregate decode: 1 session %.1f tok/s, %d sessions %.1f tok/s: %.2fx "
           "(median of %d rounds, %d tokens each; token mismatches vs solo: %d)\n",
           m1, sessions, mn, mn / m1, rounds, g_tokens, mismatch);

    /* (c) acquire + release of an idle session vs one token */
    int pairs = 20000;
    double t = bench_now_s();
    for (int i = 0; i < pairs; i++) {
        ggufref_session *s;
        ggufref_pool_acquire(g_pool, 0, &s);
        ggufref_pool_release(g_pool, s);
    }
    double pair_ns = (bench_now_s() - t) / pairs * 1e9;
    double token_ns = 1e9 / m1;
    printf("(c) acquire + release: %.0f ns per pair = %.3f%% of one token (%.0f ns)\n", pair_ns,
           100.0 * pair_ns / token_ns, token_ns);

    /* (d) saturation: 4 S clients on S sessions for 3 s */
    int clients = 4 * sessions;
    sat_arg args[256];
    pthread_t th[256];
    double until = bench_now_s() + 3.0;
    for (int i = 0; i < clients; i++) {
        args[i] = (sat_arg){.until = until};
        pthread_create(&th[i], NULL, saturate, &args[i]);
    }
    double worst = 0;
    long total = 0, fewest = -1;
    for (int i = 0; i < clients; i++) {
        pthread_join(th[i], NULL);
        if (args[i].max_wait > worst) worst = args[i].max_wait;
        total += args[i].acquires;
        if (fewest < 0 || args[i].acquires < fewest) fewest = args[i].acquires;
    }
    printf("(d) saturation: %d clients on %d sessions for 3 s: %ld acquires, longest wait "
           "%.1f ms, fewest acquires by one client %ld (no starvation: > 0)\n",
           clients, sessions, total, worst * 1e3, fewest);
    free(one);
    free(many);
    ggufref_pool_destroy(g_pool);
    ggufref_shared_model_release(g_model);
    return mismatch == 0 ? 0 : 1;
}
