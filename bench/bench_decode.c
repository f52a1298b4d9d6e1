/*
 * bench_decode.c — decode and prompt throughput of the reference forward pass, single thread,
 * on the stories15M-shaped fixtures (dim 288, 6 layers, 6 heads, ffn 768, vocab 32000,
 * ctx 256; golden/gen makes them at build time in <build>/fixtures), against the machine's
 * single-thread memory read bandwidth.
 *
 *   bench_decode [--fixtures DIR] [--tokens N] [--repeat R]
 *
 * Figures:
 *   bandwidth   streaming read of a 512 MiB buffer (>> last-level cache), best of R, the
 *               faster of a 64-bit and (where available) a 256-bit load loop, measured in a
 *               child process before and after the models; the higher one is used
 *   decode      tokens/s of ggufref_forward at positions 0..N-1, each next token the argmax
 *               of the logits (as greedy generation does), best of R runs
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

typedef struct result {
    double decode_tps, prompt_tps;
    uint64_t weight_bytes;
    double file_mb;
    double bound_mb; /* file + KV cache + scratch (R-MODEL-015) */
    double peak_rss_mb;
} result;

static double peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* KiB on Linux */
}

static int bench_model(const char *path, int n_tokens, int repeat, result *out) {
    ggufref_gguf *g;
    ggufref_error err;
    if (ggufref_gguf_open_file(path, &g, &err) != GGUFREF_OK) {
        fprintf(stderr, "bench_decode: %s: %s\n", path, err.message);
        return -1;
    }
    ggufref_model *m;
    if (ggufref_model_load(g, &m, &err) != GGUFREF_OK) {
        fprintf(stderr, "bench_decode: %s: %s\n", path, err.message);
        ggufref_gguf_close(g);
        return -1;
    }
    ggufref_model_info in;
    ggufref_model_get_info(m, &in);
    ggufref_context *ctx;
    if ((uint32_t)n_tokens > in.n_ctx_train ||
        ggufref_context_create(m, (uint32_t)n_tokens, &ctx) != GGUFREF_OK) {
        fprintf(stderr, "bench_decode: %s: cannot make a context of %d tokens\n", path, n_tokens);
        return -1;
    }
    const float *lg;
    double best_decode = 0.0, best_prompt = 0.0;
    for (int r = 0; r < repeat + 1; r++) { /* run 0 warms caches and pages */
        int32_t tok = in.bos_id >= 0 ? in.bos_id : 1;
        double t = bench_now_s();
        for (int p = 0; p < n_tokens; p++) {
            ggufref_forward(ctx, tok, (uint32_t)p, &lg);
            tok = argmax(lg, in.n_vocab);
        }
        t = bench_now_s() - t;
        if (r > 0 && n_tokens / t > best_decode) best_decode = n_tokens / t;
        int32_t toks[GGUFREF_MAX_BATCH];
        for (unsigned i = 0; i < GGUFREF_MAX_BATCH; i++) toks[i] = (int32_t)((i * 7919u + 13u) % in.n_vocab);
        t = bench_now_s();
        for (int p = 0; p < n_tokens; p += (int)GGUFREF_MAX_BATCH) {
            size_t nb = (size_t)(n_tokens - p) < GGUFREF_MAX_BATCH ? (size_t)(n_tokens - p) : GGUFREF_MAX_BATCH;
            ggufref_forward_batch(ctx, toks, nb, (uint32_t)p, &lg);
        }
        t = bench_now_s() - t;
        if (r > 0 && n_tokens / t > best_prompt) best_prompt = n_tokens / t;
    }
    out->decode_tps = best_decode;
    out->prompt_tps = best_prompt;
    out->weight_bytes = in.weight_bytes;
    out->file_mb = (double)ggufref_gguf_size(g) / 1e6;
    out->peak_rss_mb = peak_rss_mb() * 1.048576;
    double kv_dim = (double)in.n_kv_heads * in.head_dim, q_dim = (double)in.n_heads * in.head_dim;
    double max_in = in.ffn_dim > in.dim ? in.ffn_dim : in.dim;
    double scratch = GGUFREF_MAX_BATCH * (3.0 * in.dim + q_dim + 2.0 * in.ffn_dim) +
                     in.n_ctx_train + in.n_vocab + max_in + 1.5 * in.rope_dim;
    out->bound_mb = out->file_mb + (2.0 * in.n_layers * in.n_ctx_train * kv_dim + scratch) * 4.0 / 1e6;
    ggufref_context_free(ctx);
    ggufref_model_free(m);
    ggufref_gguf_close(g);
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
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--fixtures") == 0 && i + 1 < argc) snprintf(dir, sizeof dir, "%s", argv[++i]);
        else if (strcmp(argv[i], "--tokens") == 0 && i + 1 < argc) n_tokens = atoi(argv[++i]);
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) repeat = atoi(argv[++i]);
        else if (argv[i][0] != '-' && n_paths < MAX_MODELS) paths[n_paths++] = argv[i];
        else {
            fprintf(stderr, "usage: bench_decode [--fixtures DIR] [--tokens N] [--repeat R] [MODEL.gguf...]\n");
            return 2;
        }
    }
    if (n_tokens < 1 || n_tokens > 256 || repeat < 1) {
        fprintf(stderr, "bench_decode: --tokens must be 1..256, --repeat >= 1\n");
        return 2;
    }
    /* bandwidth before and after the models (the machine may be shared: the higher one is
     * the roofline); the peak RSS after the first (F32) model is that model's footprint */
    double bw_before = measure_bandwidth(repeat);
    static const char *const stories[] = {"stories15m-f32", "stories15m-q8_0", "stories15m-q4_k"};
    static char stories_paths[3][1200];
    const char *names[MAX_MODELS];
    if (n_paths == 0) { /* the default set: the stories15M-shaped fixtures of the build */
        for (size_t i = 0; i < 3; i++) {
            snprintf(stories_paths[i], sizeof stories_paths[i], "%s/%s.gguf", dir, stories[i]);
            paths[n_paths++] = stories_paths[i];
        }
    }
    result res[MAX_MODELS];
    int failed = 0, ok[MAX_MODELS] = {0};
    for (size_t i = 0; i < n_paths; i++) {
        const char *slash = strrchr(paths[i], '/');
        names[i] = slash ? slash + 1 : paths[i];
        ok[i] = bench_model(paths[i], n_tokens, repeat, &res[i]) == 0;
        if (!ok[i]) failed = 1;
    }
    double bw_after = measure_bandwidth(repeat);
    double bw = bw_before > bw_after ? bw_before : bw_after;
    printf("kernel path: %s, single thread, %d tokens, best of %d\n", gr_kernel_path(), n_tokens, repeat);
    printf("memory read bandwidth: %.2f GB/s (512 MiB streaming read; %.2f before, %.2f after)\n\n",
           bw / 1e9, bw_before / 1e9, bw_after / 1e9);
    printf("%-24s %9s %11s %12s %12s %10s %9s\n", "model", "file MB", "weights MB", "decode tok/s",
           "prompt tok/s", "GB/s read", "roofline");
    for (size_t i = 0; i < n_paths; i++) {
        if (!ok[i]) continue;
        result r = res[i];
        double read = r.decode_tps * (double)r.weight_bytes;
        printf("%-24s %9.1f %11.1f %12.1f %12.1f %10.2f %8.0f%%\n", names[i], r.file_mb,
               (double)r.weight_bytes / 1e6, r.decode_tps, r.prompt_tps, read / 1e9,
               100.0 * read / bw);
    }
    if (ok[0]) {
        printf("\npeak RSS after %s: %.1f MB (file + KV cache + scratch = %.1f MB; + 10%% = %.1f MB)\n",
               names[0], res[0].peak_rss_mb, res[0].bound_mb, res[0].bound_mb * 1.1);
    }
    return failed;
}
