/*
 * bench_decode.c — decode and prompt throughput of the reference forward pass on any GGUF
 * llama models (default: the stories15M-shaped fixtures, dim 288, 6 layers, 6 heads, ffn 768,
 * vocab 32000, ctx 256, that golden/gen makes at build time in <build>/fixtures; the
 * 100M-shaped ones of `--target bench_models` in <build>/bench-models), for one or more thread
 * counts, against the machine's single-thread memory read bandwidth.
 *
 *   bench_decode [--fixtures DIR] [--tokens N] [--repeat R] [--threads T1,T2..] [MODEL.gguf...]
 *
 * Every model is loaded once; then R rounds, each running every model at every thread count
 * in turn (interleaved, so a busy spell of a shared machine hits all of them alike); the
 * figures are the median of the rounds, with the best in brackets.
 *
 * Figures:
 *   bandwidth   streaming read of a 512 MiB buffer (>> last-level cache), best of R, the
 *               faster of a 64-bit and (where available) a 256-bit load loop, measured in a
 *               child process before and after the models; the higher one is used
 *   decode      tokens/s of ggufref_forward at positions 0..N-1, each next token the argmax
 *               of the logits (as greedy generation does)
 *   prompt      tokens/s of ggufref_forward_batch over N positions in batches of 16
 *   roofline    decode tokens/s * weight_bytes (R-MODEL-016) / bandwidth: the fraction of the
 *               memory-bound limit reached (the weights are read once per token; F32 does not
 *               fit in the last-level cache)
 * The kernel path (avx2 or portable) is printed: results are bit-identical on both (R-NUM-044).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>

#include "bench_util.h"
#include "ggufref.h"
#include "kernels.h"

#define MAX_MODELS 64

/* Bytes/s of one sequential read of buf (8 independent sums, vectorizable). */
static double read_bandwidth(const uint64_t *buf, size_t n_words, uint64_t *sink) {
    double t = bench_now_s();
    uint64_t s[8] = {0};
    for (size_t i = 0; i + 8 <= n_words; i += 8) {
        for (int k = 0; k < 8; k++) s[k] += buf[i + (size_t)k];
    }
    t = bench_now_s() - t;
    for (int k = 0; k < 8; k++) *sink += s[k];
    return (double)n_words * 8.0 / t;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
/* The same read with 256-bit loads (4 independent xors), when the machine has AVX2: the
 * fastest plain read, so the roofline is not flattered by a slow reference loop. */
__attribute__((target("avx2"))) static double read_bandwidth_avx2(const uint64_t *buf,
                                                                  size_t n_words, uint64_t *sink) {
    double t = bench_now_s();
    __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
    const __m256i *p = (const __m256i *)(const void *)buf;
    for (size_t i = 0; i + 16 <= n_words; i += 16, p += 4) {
        a = _mm256_xor_si256(a, _mm256_loadu_si256(p));
        b = _mm256_xor_si256(b, _mm256_loadu_si256(p + 1));
        c = _mm256_xor_si256(c, _mm256_loadu_si256(p + 2));
        d = _mm256_xor_si256(d, _mm256_loadu_si256(p + 3));
    }
    t = bench_now_s() - t;
    uint64_t lanes[4];
    _mm256_storeu_si256((__m256i *)(void *)lanes, _mm256_xor_si256(_mm256_xor_si256(a, b), _mm256_xor_si256(c, d)));
    *sink += lanes[0] ^ lanes[1] ^ lanes[2] ^ lanes[3];
    return (double)n_words * 8.0 / t;
}
#define HAVE_AVX2_READ 1
#endif

static double measure_bandwidth_here(int repeat) {
    size_t bytes = (size_t)512 << 20, n = bytes / 8;
    uint64_t *buf = malloc(bytes);
    if (buf == NULL) return 0.0;
    for (size_t i = 0; i < n; i++) buf[i] = i * 2654435761u; /* touch every page */
    uint64_t sink = 0;
    double best = 0.0;
    for (int r = 0; r < repeat + 1; r++) { /* the first pass warms the TLB */
        double bw = read_bandwidth(buf, n, &sink);
#ifdef HAVE_AVX2_READ
        if (__builtin_cpu_supports("avx2")) {
            double bw2 = read_bandwidth_avx2(buf, n, &sink);
            if (bw2 > bw) bw = bw2;
        }
#endif
        if (r > 0 && bw > best) best = bw;
    }
    free(buf);
    if (sink == 42) printf(" ");
    return best;
}

/* In a child process, so the 512 MiB buffer never counts in this process's peak RSS. */
static double measure_bandwidth(int repeat) {
    int fd[2];
    if (pipe(fd) != 0) return measure_bandwidth_here(repeat);
    pid_t pid = fork();
    if (pid == 0) {
        double bw = measure_bandwidth_here(repeat);
        ssize_t w = write(fd[1], &bw, sizeof bw);
        _exit(w == (ssize_t)sizeof bw ? 0 : 1);
    }
    double bw = 0.0;
    if (pid < 0 || read(fd[0], &bw, sizeof bw) != (ssize_t)sizeof bw) bw = 0.0;
    close(fd[0]);
    close(fd[1]);
    if (pid > 0) waitpid(pid, NULL, 0);
    return bw > 0.0 ? bw : measure_bandwidth_here(repeat);
}

static int32_t argmax(const float *v, uint32_t n) {
    uint32_t best = 0;
    for (uint32_t i = 1; i < n; i++) {
        if (v[i] > v[best]) best = i;
    }
    return (int32_t)best;
}

typedef struct model_run {
    const char *path, *name;
    ggufref_gguf *g;
    ggufref_model *m;
    ggufref_context *ctx;
    ggufref_model_info in;
    double file_mb;
    double *decode, *prompt; /* [n_threads * repeat] tokens/s per round */
} model_run;

static double peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0 * 1.048576; /* KiB on Linux */
}

static int open_model(model_run *mr, int n_tokens) {
    ggufref_error err;
    if (ggufref_gguf_open_file(mr->path, &mr->g, &err) != GGUFREF_OK) {
        fprintf(stderr, "bench_decode: %s: %s\n", mr->path, err.message);
        return -1;
    }
    if (ggufref_model_load(mr->g, &mr->m, &err) != GGUFREF_OK) {
        fprintf(stderr, "bench_decode: %s: %s\n", mr->path, err.message);
        ggufref_gguf_close(mr->g);
        return -1;
    }
    ggufref_model_get_info(mr->m, &mr->in);
    if ((uint32_t)n_tokens > mr->in.n_ctx_train ||
        ggufref_context_create(mr->m, (uint32_t)n_tokens, &mr->ctx) != GGUFREF_OK) {
        fprintf(stderr, "bench_decode: %s: cannot make a context of %d tokens\n", mr->path, n_tokens);
        ggufref_model_free(mr->m);
        ggufref_gguf_close(mr->g);
        return -1;
    }
    mr->file_mb = (double)ggufref_gguf_size(mr->g) / 1e6;
    return 0;
}

static void close_model(model_run *mr) {
    ggufref_context_free(mr->ctx);
    ggufref_model_free(mr->m);
    ggufref_gguf_close(mr->g);
}

/* One round of one model at one thread count. OUT: tokens/s of decode and prompt. */
static int run_round(model_run *mr, uint32_t threads, int n_tokens, double *decode_tps,
                     double *prompt_tps) {
    const ggufref_model_info *in = &mr->in;
    if (ggufref_context_set_threads(mr->ctx, threads) != GGUFREF_OK) return -1;
    const float *lg;
    int32_t tok = in->bos_id >= 0 ? in->bos_id : 1;
    double t = bench_now_s();
    for (int p = 0; p < n_tokens; p++) {
        ggufref_forward(mr->ctx, tok, (uint32_t)p, &lg);
        tok = argmax(lg, in->n_vocab);
    }
    *decode_tps = n_tokens / (bench_now_s() - t);
    int32_t toks[GGUFREF_MAX_BATCH];
    for (unsigned i = 0; i < GGUFREF_MAX_BATCH; i++) toks[i] = (int32_t)((i * 7919u + 13u) % in->n_vocab);
    t = bench_now_s();
    for (int p = 0; p < n_tokens; p += (int)GGUFREF_MAX_BATCH) {
        size_t nb = (size_t)(n_tokens - p) < GGUFREF_MAX_BATCH ? (size_t)(n_tokens - p) : GGUFREF_MAX_BATCH;
        ggufref_forward_batch(mr->ctx, toks, nb, (uint32_t)p, &lg);
    }
    *prompt_tps = n_tokens / (bench_now_s() - t);
    return 0;
}

int main(int argc, char **argv) {
    char dir[1024];
    const char *build = getenv("GGUFREF_BUILD_DIR");
    if (build) {
        snprintf(dir, sizeof dir, "%s/fixtures", build);
    } else { /* <build>/bench/bench_decode -> <build>/fixtures */
        snprintf(dir, sizeof dir, "%s", argv[0]);
        char *slash = strrchr(dir, '/');
        if (slash) *slash = '\0';
        else snprintf(dir, sizeof dir, ".");
        strncat(dir, "/../fixtures", sizeof dir - strlen(dir) - 1);
    }
    int n_tokens = 128, repeat = 3;
    const char *paths[MAX_MODELS];
    size_t n_paths = 0;
    uint32_t threads[16] = {1};
    size_t n_threads = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--fixtures") == 0 && i + 1 < argc) snprintf(dir, sizeof dir, "%s", argv[++i]);
        else if (strcmp(argv[i], "--tokens") == 0 && i + 1 < argc) n_tokens = atoi(argv[++i]);
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) repeat = atoi(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            n_threads = 0;
            for (char *p = argv[++i]; *p && n_threads < 16;) {
                long v = strtol(p, &p, 10);
                if (v < 1 || v > (long)GGUFREF_MAX_THREADS) n_threads = 99;
                else threads[n_threads++] = (uint32_t)v;
                if (*p == ',') p++;
                else if (*p) n_threads = 99;
                if (n_threads == 99) break;
            }
            if (n_threads == 0 || n_threads == 99) {
                fprintf(stderr, "bench_decode: --threads takes counts 1..%u, e.g. 1,2\n", GGUFREF_MAX_THREADS);
                return 2;
            }
        } else if (argv[i][0] != '-' && n_paths < MAX_MODELS) paths[n_paths++] = argv[i];
        else {
            fprintf(stderr, "usage: bench_decode [--fixtures DIR] [--tokens N] [--repeat R] "
                            "[--threads T1,T2..] [MODEL.gguf...]\n");
            return 2;
        }
    }
    if (n_tokens < 1 || n_tokens > 256 || repeat < 1) {
        fprintf(stderr, "bench_decode: --tokens must be 1..256, --repeat >= 1\n");
        return 2;
    }
    /* bandwidth before and after the models (the machine may be shared: the higher one is
     * the roofline); the peak RSS after the first model is that model's footprint */
    double bw_before = measure_bandwidth(repeat);
    static const char *const stories[] = {"stories15m-f32", "stories15m-q8_0", "stories15m-q4_k"};
    static char stories_paths[3][1200];
    if (n_paths == 0) { /* the default set: the stories15M-shaped fixtures of the build */
        for (size_t i = 0; i < 3; i++) {
            snprintf(stories_paths[i], sizeof stories_paths[i], "%s/%s.gguf", dir, stories[i]);
            paths[n_paths++] = stories_paths[i];
        }
    }
    static model_run runs[MAX_MODELS];
    size_t n_runs = 0;
    int failed = 0;
    double first_rss = 0.0, first_bound = 0.0;
    for (size_t i = 0; i < n_paths; i++) {
        model_run *mr = &runs[n_runs];
        memset(mr, 0, sizeof *mr);
        mr->path = paths[i];
        const char *slash = strrchr(paths[i], '/');
        mr->name = slash ? slash + 1 : paths[i];
        if (open_model(mr, n_tokens) != 0) {
            failed = 1;
            continue;
        }
        mr->decode = calloc(n_threads * (size_t)repeat, sizeof *mr->decode);
        mr->prompt = calloc(n_threads * (size_t)repeat, sizeof *mr->prompt);
        if (!mr->decode || !mr->prompt) return 1;
        if (n_runs == 0) {
            double d0, p0; /* warm-up of the first model, then its footprint */
            run_round(mr, 1, n_tokens, &d0, &p0);
            const ggufref_model_info *in = &mr->in;
            double kv_dim = (double)in->n_kv_heads * in->head_dim, q_dim = (double)in->n_heads * in->head_dim;
            double scratch = GGUFREF_MAX_BATCH * (3.0 * in->dim + q_dim + 2.0 * in->ffn_dim) +
                             n_tokens + in->n_vocab + 1.5 * in->rope_dim;
            first_bound = mr->file_mb + (2.0 * in->n_layers * n_tokens * kv_dim + scratch) * 4.0 / 1e6;
            first_rss = peak_rss_mb();
        }
        n_runs++;
    }
    for (int r = 0; r < repeat + 1; r++) { /* round 0 warms caches and pages, uncounted */
        for (size_t i = 0; i < n_runs; i++) {
            for (size_t t = 0; t < n_threads; t++) {
                double d, p;
                if (run_round(&runs[i], threads[t], n_tokens, &d, &p) != 0) {
                    fprintf(stderr, "bench_decode: %s: cannot use %u threads\n", runs[i].name, threads[t]);
                    return 1;
                }
                if (r > 0) {
                    runs[i].decode[t * (size_t)repeat + (size_t)(r - 1)] = d;
                    runs[i].prompt[t * (size_t)repeat + (size_t)(r - 1)] = p;
                }
            }
        }
    }
    double bw_after = measure_bandwidth(repeat);
    double bw = bw_before > bw_after ? bw_before : bw_after;
    printf("kernel path: %s, %d tokens, %d interleaved rounds: median [best]\n", gr_kernel_path(),
           n_tokens, repeat);
    printf("memory read bandwidth: %.2f GB/s (512 MiB streaming read, one thread; %.2f before, "
           "%.2f after)\n\n", bw / 1e9, bw_before / 1e9, bw_after / 1e9);
    printf("%-24s %7s %9s %10s %-18s %-18s %10s %9s\n", "model", "threads", "file MB", "weights MB",
           "decode tok/s", "prompt tok/s", "GB/s read", "roofline");
    for (size_t i = 0; i < n_runs; i++) {
        model_run *mr = &runs[i];
        for (size_t t = 0; t < n_threads; t++) {
            double *d = mr->decode + t * (size_t)repeat, *p = mr->prompt + t * (size_t)repeat;
            double dm = bench_sort_median(d, (size_t)repeat), pm = bench_sort_median(p, (size_t)repeat);
            char dbuf[32], pbuf[32];
            snprintf(dbuf, sizeof dbuf, "%.1f [%.1f]", dm, d[repeat - 1]);
            snprintf(pbuf, sizeof pbuf, "%.1f [%.1f]", pm, p[repeat - 1]);
            double read = dm * (double)mr->in.weight_bytes;
            printf("%-24s %7u %9.1f %10.1f %-18s %-18s %10.2f %8.0f%%\n", mr->name, threads[t],
                   mr->file_mb, (double)mr->in.weight_bytes / 1e6, dbuf, pbuf, read / 1e9,
                   100.0 * read / bw);
        }
        free(mr->decode);
        free(mr->prompt);
        close_model(mr);
    }
    if (n_runs > 0) {
        printf("\npeak RSS after %s: %.1f MB (file + KV cache + scratch = %.1f MB; + 10%% = %.1f MB)\n",
               runs[0].name, first_rss, first_bound, first_bound * 1.1);
    }
    return failed;
}
