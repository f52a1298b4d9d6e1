/*
 * bench_kernels.c — the matrix-vector kernels alone, per tensor type and kernel path (issue 15):
 * where the decode time goes, without the rest of the forward pass.
 *
 *   bench_kernels [--rows N] [--cols N] [--repeat N] [--type NAME]...
 *
 * For every decodable type and every kernel path the machine has (portable, avx2, avx512), one
 * thread computes y = W x over a matrix of random blocks twice: "cache" with a matrix of
 * 256 KiB or less (it stays in L2: the kernels' own speed, compute-bound), "stream" with the
 * --rows x --cols matrix (default 4096 x 4096, tens of MB: read from DRAM each time, as in a
 * decode step), and "batch 16": the cache-sized matrix times 16 vectors at once (the batched
 * prompt: each row decoded once, then 16 dots). Prints G elements/s (per vector: elements x
 * vectors for batch 16) and GB/s of weights read, median of --repeat rounds, and checks that
 * every path gives the bits of the portable path (exit 1 if not).
 */
#define _POSIX_C_SOURCE 200809L
#include "bench_util.h"
#include "ggufref.h"
#include "kernels.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

/* Random bytes with every binary16 field a finite value in [-0.25, 0.25): the scales. Byte
 * positions of the binary16 fields per type (the block layouts of SPEC R-TYPE-010..024). */
static void fill_blocks(uint32_t type, uint8_t *p, size_t n_bytes) {
    const ggufref_type_info *ti = ggufref_type_info_get(type);
    for (size_t i = 0; i < n_bytes; i++) p[i] = (uint8_t)rnd();
    size_t at[2], n_at = 0;
    switch (type) {
    case GGUFREF_T_Q4_0: case GGUFREF_T_Q5_0: case GGUFREF_T_Q8_0: at[0] = 0, n_at = 1; break;
    case GGUFREF_T_Q4_1: case GGUFREF_T_Q5_1: case GGUFREF_T_Q4_K: case GGUFREF_T_Q5_K:
        at[0] = 0, at[1] = 2, n_at = 2; break;
    case GGUFREF_T_Q2_K: at[0] = 80, at[1] = 82, n_at = 2; break;
    case GGUFREF_T_Q3_K: at[0] = 108, n_at = 1; break;
    case GGUFREF_T_Q6_K: at[0] = 208, n_at = 1; break;
    default: break;
    }
    if (type == GGUFREF_T_F32 || type == GGUFREF_T_F16 || type == GGUFREF_T_BF16) {
        size_t es = type == GGUFREF_T_F32 ? 4 : 2;
        for (size_t i = 0; i + es <= n_bytes; i += es) {
            float v = (float)((int32_t)(rnd() % 2001u) - 1000) / 1000.0f;
            if (es == 4) memcpy(p + i, &v, 4);
            else {
                uint16_t h = type == GGUFREF_T_F16 ? ggufref_f32_to_f16(v) : 0;
                if (type == GGUFREF_T_BF16) { uint32_t b; memcpy(&b, &v, 4); h = (uint16_t)(b >> 16); }
                memcpy(p + i, &h, 2);
            }
        }
        return;
    }
    for (size_t b = 0; b + ti->type_size <= n_bytes; b += ti->type_size) {
        for (size_t k = 0; k < n_at; k++) {
            float v = (float)((int32_t)(rnd() % 2001u) - 1000) / 4000.0f;
            uint16_t h = ggufref_f32_to_f16(v);
            memcpy(p + b + at[k], &h, 2);
        }
    }
}

static int differs(const char *type, gr_kpath p, int n_batch) {
    fprintf(stderr, "bench_kernels: %s on %s (%d vectors) differs from the portable path\n", type,
            gr_kpath_name(p), n_batch);
    return 1;
}

/* Median seconds of one y = W x over `repeat` rounds (each round runs the product `inner`
 * times and counts the mean); n_batch vectors x (n_in apart) into y (n_out apart). */
static double time_matvec(gr_kpath p, const gr_weight *w, const float *x, size_t n_batch, float *y,
                          float *row_buf, int repeat, int inner) {
    double t[64];
    if (repeat > 64) repeat = 64;
    for (int r = 0; r < repeat; r++) {
        double t0 = bench_now_s();
        for (int i = 0; i < inner; i++) {
            gr_matmul_rows_on(p, w, x, w->n_in, n_batch, y, w->n_out, 0, w->n_out, row_buf);
        }
        t[r] = (bench_now_s() - t0) / inner;
    }
    return bench_sort_median(t, (size_t)repeat);
}

int main(int argc, char **argv) {
    size_t rows = 4096, cols = 4096;
    int repeat = 5;
    const char *only[32];
    int n_only = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc) rows = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--cols") == 0 && i + 1 < argc) cols = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) repeat = atoi(argv[++i]);
        else if (strcmp(argv[i], "--type") == 0 && i + 1 < argc && n_only < 32) only[n_only++] = argv[++i];
        else {
            fprintf(stderr, "usage: bench_kernels [--rows N] [--cols N] [--repeat N] [--type NAME]...\n");
            return 2;
        }
    }
    if (cols % 256 != 0 || rows < 4 || repeat < 1) {
        fprintf(stderr, "bench_kernels: --cols must be a multiple of 256, --rows >= 4, --repeat >= 1\n");
        return 2;
    }
    static const uint32_t types[] = {GGUFREF_T_F32, GGUFREF_T_F16, GGUFREF_T_BF16, GGUFREF_T_Q4_0,
                                     GGUFREF_T_Q4_1, GGUFREF_T_Q5_0, GGUFREF_T_Q5_1, GGUFREF_T_Q8_0,
                                     GGUFREF_T_Q2_K, GGUFREF_T_Q3_K, GGUFREF_T_Q4_K, GGUFREF_T_Q5_K,
                                     GGUFREF_T_Q6_K};
    enum { BATCH = 16 };
    float *x = malloc(BATCH * cols * sizeof *x), *y = malloc(BATCH * rows * sizeof *y);
    float *yp = malloc(rows * sizeof *yp), *ypb = malloc(BATCH * rows * sizeof *ypb);
    float *row_buf = malloc(cols * sizeof *row_buf);
    if (!x || !y || !yp || !ypb || !row_buf) return 1;
    for (size_t i = 0; i < BATCH * cols; i++) x[i] = (float)((int32_t)(rnd() % 2001u) - 1000) / 500.0f;
    printf("kernel path of this machine: %s; one thread; G elements/s [GB/s of weights], median of %d\n",
           gr_kernel_path(), repeat);
    printf("%-6s %-9s %22s %22s %12s\n", "type", "path", "cache (<= 256 KiB)", "stream", "batch 16");
    int bad = 0;
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        const ggufref_type_info *ti = ggufref_type_info_get(types[t]);
        if (n_only > 0) {
            int hit = 0;
            for (int k = 0; k < n_only; k++) hit |= strcmp(only[k], ti->name) == 0;
            if (!hit) continue;
        }
        size_t row_bytes = cols / ti->block_size * ti->type_size;
        size_t small_rows = (256u * 1024u / row_bytes) & ~(size_t)3;
        if (small_rows < 4) small_rows = 4;
        if (small_rows > rows) small_rows = rows;
        uint8_t *data = aligned_alloc(64, (rows * row_bytes + 63) / 64 * 64);
        if (!data) return 1;
        fill_blocks(types[t], data, rows * row_bytes);
        gr_weight big = {types[t], data, cols, rows, row_bytes};
        gr_weight small = {types[t], data, cols, small_rows, row_bytes};
        for (int p = 0; p < GR_KPATH_COUNT; p++) {
            if (!gr_kpath_available((gr_kpath)p)) continue;
            double tc = time_matvec((gr_kpath)p, &small, x, 1, y, row_buf, repeat, 20);
            double ts = time_matvec((gr_kpath)p, &big, x, 1, y, row_buf, repeat, 1);
            if (p == GR_KPATH_PORTABLE) memcpy(yp, y, rows * sizeof *y);
            else if (memcmp(y, yp, rows * sizeof *y) != 0) bad |= differs(ti->name, (gr_kpath)p, 1);
            double tb = time_matvec((gr_kpath)p, &small, x, BATCH, y, row_buf, repeat, 2);
            if (p == GR_KPATH_PORTABLE) memcpy(ypb, y, BATCH * small_rows * sizeof *y);
            else if (memcmp(y, ypb, BATCH * small_rows * sizeof *y) != 0) bad |= differs(ti->name, (gr_kpath)p, BATCH);
            double ec = (double)small_rows * cols / tc * 1e-9, es = (double)rows * cols / ts * 1e-9;
            printf("%-6s %-9s %11.2f [%6.2f] %11.2f [%6.2f] %12.2f\n", ti->name, gr_kpath_name((gr_kpath)p), ec,
                   (double)small_rows * row_bytes / tc * 1e-9, es, (double)rows * row_bytes / ts * 1e-9,
                   (double)BATCH * small_rows * cols / tb * 1e-9);
        }
        free(data);
    }
    free(x), free(y), free(yp), free(ypb), free(row_buf);
    return bad;
}
