/*
 * kernels_wasm.c — WebAssembly SIMD128 row kernels (kernels_wasm.h): Q8_0, Q5_0 and Q4_K
 * decoded straight into the 16 lanes of R-NUM-010, four f32x4 registers (lanes 0-3, 4-7, 8-11, 12-15), the same
 * operations per lane as the portable kernel: y = (f32)q * d (exact), then s = s + y * x (two
 * roundings; wasm has no fused multiply-add in SIMD128 and -ffp-contract=off keeps C from
 * making one). The portable path decodes each 32-element block through a function pointer
 * into a buffer and then accumulates; here a block never leaves the registers.
 */
#include "kernels_wasm.h"

#if GR_HAVE_WASM_SIMD

#include "quant.h"

#include <wasm_simd128.h>

/* 16 signed bytes as four f32x4 (elements 0-3, 4-7, 8-11, 12-15). */
static inline void i8_to_f32(v128_t q, v128_t w[4]) {
    v128_t lo = wasm_i16x8_extend_low_i8x16(q), hi = wasm_i16x8_extend_high_i8x16(q);
    w[0] = wasm_f32x4_convert_i32x4(wasm_i32x4_extend_low_i16x8(lo));
    w[1] = wasm_f32x4_convert_i32x4(wasm_i32x4_extend_high_i16x8(lo));
    w[2] = wasm_f32x4_convert_i32x4(wasm_i32x4_extend_low_i16x8(hi));
    w[3] = wasm_f32x4_convert_i32x4(wasm_i32x4_extend_high_i16x8(hi));
}

/* Lanes 0-15 += y * x for 16 decoded weights y (R-NUM-010: element i to lane i mod 16). */
static inline void acc16(v128_t a[4], const v128_t y[4], const float *x) {
    for (int k = 0; k < 4; k++) {
        a[k] = wasm_f32x4_add(a[k], wasm_f32x4_mul(y[k], wasm_v128_load(x + 4 * k)));
    }
}

/* Accumulate 16 int8 weights (scaled by d: exact) times 16 floats of x into lanes 0-15. */
static inline void q8_16(v128_t a[4], v128_t q, v128_t d, const float *x) {
    v128_t w[4];
    i8_to_f32(q, w);
    for (int k = 0; k < 4; k++) w[k] = wasm_f32x4_mul(w[k], d);
    acc16(a, w, x);
}

/* The fixed combining tree of R-NUM-010 (w = 8, 4, 2, 1) on lanes 0-15 in a[0..3]. */
static inline float reduce16(const v128_t a[4]) {
    v128_t s = wasm_f32x4_add(wasm_f32x4_add(a[0], a[2]), wasm_f32x4_add(a[1], a[3]));
    float s0 = wasm_f32x4_extract_lane(s, 0) + wasm_f32x4_extract_lane(s, 2);
    float s1 = wasm_f32x4_extract_lane(s, 1) + wasm_f32x4_extract_lane(s, 3);
    return s0 + s1;
}

/* Q8_0: 32 elements in 34 bytes, d (f16) then 32 int8 (R-TYPE-*). */
static float row_dot_q8_0(const uint8_t *row, const float *x, size_t n) {
    v128_t a[4] = {wasm_f32x4_splat(0.0f), wasm_f32x4_splat(0.0f), wasm_f32x4_splat(0.0f),
                   wasm_f32x4_splat(0.0f)};
    for (size_t b = 0; b < n / 32; b++, row += 34, x += 32) {
        v128_t d = wasm_f32x4_splat(gr_f16_to_f32(gr_rd16(row)));
        q8_16(a, wasm_v128_load(row + 2), d, x);
        q8_16(a, wasm_v128_load(row + 18), d, x + 16);
    }
    return reduce16(a);
}

/* Q5_0: 32 elements in 22 bytes: d (f16), qh (32 fifth bits), qs[16] (element j: low nibble of
 * qs[j], element j + 16: its high nibble); y = (f32)(q - 16) * d (exact). */
static float row_dot_q5_0(const uint8_t *row, const float *x, size_t n) {
    v128_t a[4] = {wasm_f32x4_splat(0.0f), wasm_f32x4_splat(0.0f), wasm_f32x4_splat(0.0f),
                   wasm_f32x4_splat(0.0f)};
    const v128_t bits = wasm_u8x16_make(1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128);
    const v128_t nib = wasm_u8x16_splat(0x0f), five = wasm_u8x16_splat(0x10);
    const v128_t sixteen = wasm_i8x16_splat(16);
    for (size_t b = 0; b < n / 32; b++, row += 22, x += 32) {
        v128_t d = wasm_f32x4_splat(gr_f16_to_f32(gr_rd16(row)));
        uint32_t qh = gr_rd32(row + 2);
        v128_t qs = wasm_v128_load(row + 6);
        for (int half = 0; half < 2; half++) {
            uint32_t h = qh >> (16 * half);
            /* byte j: bit j of h (j < 8 from the low byte, else the high byte), as 0x10 */
            v128_t hb = wasm_i16x8_splat((int16_t)(h & 0xffff));
            hb = wasm_i8x16_shuffle(hb, hb, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
            hb = wasm_v128_and(wasm_i8x16_ne(wasm_v128_and(hb, bits), wasm_i8x16_splat(0)), five);
            v128_t q = half == 0 ? wasm_v128_and(qs, nib) : wasm_u8x16_shr(qs, 4);
            q = wasm_i8x16_sub(wasm_v128_or(q, hb), sixteen);
            q8_16(a, q, d, x + 16 * half);
        }
    }
    return reduce16(a);
}

/* Q4_K: 256 elements in 144 bytes: d, dmin (f16), 12 bytes of 6-bit scales and mins, qs[128];
 * chunk c (64 elements): k = gr_k4_chunk; elements 64c + l (l < 32): k0 * (f32)(low nibble of
 * qs[32c + l]) - k1, elements 64c + 32 + l: k2 * (f32)(high nibble) - k3 (two roundings each). */
static float row_dot_q4_k(const uint8_t *row, const float *x, size_t n) {
    v128_t a[4] = {wasm_f32x4_splat(0.0f), wasm_f32x4_splat(0.0f), wasm_f32x4_splat(0.0f),
                   wasm_f32x4_splat(0.0f)};
    const v128_t nib = wasm_u8x16_splat(0x0f);
    for (size_t b = 0; b < n / 256; b++, row += 144) {
        float d = gr_f16_to_f32(gr_rd16(row));
        float dmin = gr_f16_to_f32(gr_rd16(row + 2));
        for (int c = 0; c < 4; c++, x += 64) {
            float k[4];
            gr_k4_chunk(row + 4, c, d, dmin, k);
            const uint8_t *q = row + 16 + 32 * c;
            for (int half = 0; half < 2; half++) {
                v128_t mul = wasm_f32x4_splat(k[2 * half]), sub = wasm_f32x4_splat(k[2 * half + 1]);
                for (int g = 0; g < 2; g++) {
                    v128_t v = wasm_v128_load(q + 16 * g);
                    v = half == 0 ? wasm_v128_and(v, nib) : wasm_u8x16_shr(v, 4);
                    v128_t w[4];
                    i8_to_f32(v, w); /* 0..15: the same as unsigned */
                    for (int i = 0; i < 4; i++) {
                        w[i] = wasm_f32x4_sub(wasm_f32x4_mul(mul, w[i]), sub);
                    }
                    acc16(a, w, x + 32 * half + 16 * g);
                }
            }
        }
    }
    return reduce16(a);
}

bool gr_wasm_row_type(uint32_t type) {
    return type == GGUFREF_T_Q8_0 || type == GGUFREF_T_Q5_0 || type == GGUFREF_T_Q4_K;
}

float gr_wasm_row_dot(uint32_t type, const uint8_t *row, const float *x, size_t n) {
    switch (type) {
    case GGUFREF_T_Q5_0: return row_dot_q5_0(row, x, n);
    case GGUFREF_T_Q4_K: return row_dot_q4_k(row, x, n);
    default: return row_dot_q8_0(row, x, n);
    }
}

#else
typedef int gr_kernels_wasm_unused; /* ISO C: a translation unit declares something */
#endif
