/*
 * wasm_kernels.c — the WebAssembly SIMD128 row kernels (reference/src/kernels_wasm.c) against
 * the portable C kernel, bit for bit (R-NUM-044; the lane order of R-NUM-010..012). A wasm32-wasi
 * command built with -msimd128 and run under Node by tools/check-wasm-kernels.sh (cmocka is
 * not built for wasm; the native suites, torture_quant.c, test the native paths).
 *
 * For every decodable type (F32, F16, BF16, Q4_0 .. Q8_0, Q2_K .. Q6_K):
 *   1. random rows (random bytes: every scale field random, NaN and Inf included) of several
 *      lengths (F32/F16/BF16 also lengths that are not multiples of 16 and an unaligned F32
 *      row), 1 to 11 rows at once through gr_matmul_rows_on (the several-rows drivers and
 *      their leftover rows) and one at a time through gr_row_dot_on;
 *   2. every binary16 pattern in every binary16 field of a block (d, and dmin or m), with
 *      random quants; F16: every binary16 pattern as an element in every lane.
 * A result equals the portable one when the bits are equal or both are NaN (R-NUM-002).
 * Exit status 1 and the first mismatches named on stderr.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggufref.h"
#include "kernels.h"

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* A float in (-scale, scale), its low mantissa bits random too. */
static float rnd_float(float scale) { return ((float)(int32_t)rnd() / 2147483648.0f) * scale; }

static uint32_t bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static unsigned long checked, failed;

static void same(float got, float want, const char *what, uint32_t type, size_t n, size_t r,
                 unsigned pattern) {
    checked++;
    if (bits(got) == bits(want) || (got != got && want != want)) return;
    if (++failed <= 10) {
        fprintf(stderr, "wasm_kernels: %s: type %u n %zu row %zu pattern 0x%04x: got %08x (%g), "
                "portable %08x (%g)\n", what, (unsigned)type, n, r, pattern, (unsigned)bits(got),
                (double)got, (unsigned)bits(want), (double)want);
    }
}

/* Rows rows of n elements of type at row (row_bytes apart): gr_matmul_rows_on and
 * gr_row_dot_on on the SIMD128 path against gr_row_dot_portable. */
static void check_rows(uint32_t type, const uint8_t *row, size_t row_bytes, size_t rows,
                       const float *x, size_t n, unsigned pattern) {
    float out[16];
    gr_weight w = {type, row, n, rows, row_bytes};
    gr_matmul_rows_on(GR_KPATH_WASM_SIMD128, &w, x, 0, 1, out, 0, 0, rows, NULL);
    for (size_t r = 0; r < rows; r++) {
        float want = gr_row_dot_portable(type, row + r * row_bytes, x, n);
        same(out[r], want, "gr_matmul_rows_on", type, n, r, pattern);
        same(gr_row_dot_on(GR_KPATH_WASM_SIMD128, type, row + r * row_bytes, x, n), want,
             "gr_row_dot_on", type, n, r, pattern);
    }
}

static const uint32_t types[] = {
    GGUFREF_T_F32,  GGUFREF_T_F16,  GGUFREF_T_BF16, GGUFREF_T_Q4_0, GGUFREF_T_Q4_1,
    GGUFREF_T_Q5_0, GGUFREF_T_Q5_1, GGUFREF_T_Q8_0, GGUFREF_T_Q2_K, GGUFREF_T_Q3_K,
    GGUFREF_T_Q4_K, GGUFREF_T_Q5_K, GGUFREF_T_Q6_K,
};

/* The binary16 fields of a block: byte offsets, -1 ends. */
static void f16_fields(uint32_t type, int off[3]) {
    off[0] = off[1] = off[2] = -1;
    switch (type) {
    case GGUFREF_T_Q4_0: case GGUFREF_T_Q5_0: case GGUFREF_T_Q8_0: off[0] = 0; break;
    case GGUFREF_T_Q4_1: case GGUFREF_T_Q5_1: case GGUFREF_T_Q4_K: case GGUFREF_T_Q5_K:
        off[0] = 0, off[1] = 2; break;
    case GGUFREF_T_Q2_K: off[0] = 80, off[1] = 82; break;
    case GGUFREF_T_Q3_K: off[0] = 108; break;
    case GGUFREF_T_Q6_K: off[0] = 208; break;
    default: break;
    }
}

int main(void) {
    if (gr_kpath_best() != GR_KPATH_WASM_SIMD128 || !gr_kpath_available(GR_KPATH_WASM_SIMD128) ||
        strcmp(gr_kernel_path(), "wasm-simd128") != 0) {
        fprintf(stderr, "wasm_kernels: not a SIMD128 build (path %s)\n", gr_kernel_path());
        return 1;
    }
    enum { MAXN = 4096 };
    static uint8_t buf[12 * MAXN * 4 + 64];
    static float x[MAXN];
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        uint32_t type = types[t];
        const ggufref_type_info *ti = ggufref_type_info_get(type);
        size_t bs = ti->block_size, ts = ti->type_size;
        unsigned long before = checked;
        /* 1. random rows; plain types also at lengths that are not multiples of 16 */
        for (size_t nb = 1; nb * bs <= MAXN; nb = nb * 3 + 1) {
            for (size_t extra = 0; extra < (bs == 1 ? 16 : 1); extra += 5) {
                size_t n = nb * bs + extra, row_bytes = n / bs * ts;
                if (n > MAXN) break;
                for (size_t rows = 1; rows <= 11; rows += rows < 5 ? 1 : 3) {
                    for (size_t i = 0; i < rows * row_bytes + 4; i++) buf[i] = (uint8_t)rnd();
                    if (type == GGUFREF_T_F32 || type == GGUFREF_T_F16 || type == GGUFREF_T_BF16) {
                        /* mostly finite values: a NaN anywhere would hide the other lanes */
                        for (size_t i = 0; i < rows * n; i++) {
                            float v = rnd_float(2.0f);
                            uint32_t u = bits(v);
                            if (type == GGUFREF_T_F32) memcpy(buf + 1 + 4 * i, &u, 4);
                            else if (type == GGUFREF_T_BF16) buf[2 * i] = (uint8_t)(u >> 16), buf[2 * i + 1] = (uint8_t)(u >> 24);
                            else {
                                uint16_t h = ggufref_f32_to_f16(v);
                                buf[2 * i] = (uint8_t)h, buf[2 * i + 1] = (uint8_t)(h >> 8);
                            }
                        }
                    }
                    for (size_t i = 0; i < n; i++) x[i] = rnd_float(4.0f);
                    /* an F32 row one byte off alignment: the kernel loads it unaligned */
                    const uint8_t *row = type == GGUFREF_T_F32 ? buf + 1 : buf;
                    check_rows(type, row, row_bytes, rows, x, n, 0);
                }
            }
        }
        /* 2. every binary16 pattern in the block's binary16 fields (F16: as elements) */
        int off[3];
        f16_fields(type, off);
        size_t n = type == GGUFREF_T_F16 ? 32 : bs < 32 ? 32 : bs;
        size_t row_bytes = n / bs * ts;
        for (unsigned h = 0; h < 65536; h++) {
            if (h % 64 == 0) {
                for (size_t i = 0; i < 3 * row_bytes; i++) buf[i] = (uint8_t)rnd();
                for (size_t i = 0; i < n; i++) x[i] = rnd_float(4.0f);
            }
            if (type == GGUFREF_T_F16) {
                /* pattern h in lane h mod 16 of row 0, h + 1 .. h + 31 around it; row 1 all h */
                for (size_t i = 0; i < n; i++) {
                    uint16_t v = (uint16_t)(h + i - h % 16);
                    buf[2 * i] = (uint8_t)v, buf[2 * i + 1] = (uint8_t)(v >> 8);
                    buf[row_bytes + 2 * i] = (uint8_t)h, buf[row_bytes + 2 * i + 1] = (uint8_t)(h >> 8);
                }
                check_rows(type, buf, row_bytes, 2, x, n, h);
                continue;
            }
            if (off[0] < 0) break;
            for (size_t r = 0; r < 3; r++) {
                for (size_t b = 0; b < n / bs; b++) {
                    uint8_t *blk = buf + r * row_bytes + b * ts;
                    /* row 0: every field h; row 1: d = h, others random; row 2: others = h */
                    for (int f = 0; f < 3 && off[f] >= 0; f++) {
                        if (r == 0 || (r == 1 && f == 0) || (r == 2 && f > 0)) {
                            blk[off[f]] = (uint8_t)h, blk[off[f] + 1] = (uint8_t)(h >> 8);
                        }
                    }
                }
            }
            check_rows(type, buf, row_bytes, 3, x, n, h);
        }
        printf("wasm_kernels: %-5s %lu dot products bit-identical to the portable kernel\n",
               ti->name, checked - before);
    }
    if (failed > 0) {
        fprintf(stderr, "wasm_kernels: FAILED: %lu of %lu dot products differ from the portable kernel\n",
                failed, checked);
        return 1;
    }
    printf("wasm_kernels: OK: %lu dot products, 13 types, path %s\n", checked, gr_kernel_path());
    return 0;
}
