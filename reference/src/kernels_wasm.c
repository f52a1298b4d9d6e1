/*
 * kernels_wasm.c — WebAssembly SIMD128 row kernels (kernels_wasm.h) for every decodable type
 * (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K .. Q6_K), each block decoded straight into
 * the 16 lanes of R-NUM-010: four f32x4 registers (lanes 0-3, 4-7, 8-11, 12-15), element e of
 * the row to lane e mod 16, the same operations per lane as the portable kernel (R-TYPE-*:
 * every conversion exact, every multiply and add of the decode rounded on its own), then
 * s = s + y * x (two roundings; SIMD128 has no fused multiply-add, relaxed-simd's madd is not
 * used and -ffp-contract=off keeps C from making one). Quants become f32 exactly without
 * f32x4.convert (u8_to_f32: the bits of 2^23 + q, minus 2^23 + bias; clang 14 folds sign
 * extensions into f32x4.convert and then converts lane by lane).
 * The portable path decodes a block into a buffer and then accumulates; here a block never
 * leaves the registers.
 *
 * Several rows at once (GR_WASM_NR, from NR equal parts of the matrix, each row with its own
 * 16 lanes, as kernels.c's AVX2 drivers): each lane's sum is one chain of dependent additions,
 * so one row at a time runs at the latency of an addition; NR rows give NR independent chains
 * without changing any row's order of additions.
 */
#include "kernels_wasm.h"

#if GR_HAVE_WASM_SIMD

#include "quant.h"

#include <wasm_simd128.h>

/* Rows per pass of the row drivers: 2 rows' 8 accumulators and a block's temporaries fit the
 * 16 xmm registers V8 has on x86-64 (4 rows' 16 do not). 1, 2 and 4 measured the same within
 * the noise of a shared 2-core machine (bench_kernels built for wasm32, 2026-12-08). */
#ifndef GR_WASM_NR
#define GR_WASM_NR 2
#endif

#define GR_WASM_INLINE static inline __attribute__((always_inline))
/* The rows of a pass stay in registers only if their loop is unrolled (a[i] indexed by a
 * variable lives in memory). */
#define GR_UNROLL _Pragma("clang loop unroll(full)")

/* 16 unsigned bytes q as four f32x4 of q - bias (bias a small integer), exact: a byte swizzle
 * zero-extends four bytes into the low bytes of four lanes, or-ed into the bits of 2^23 that
 * is 2^23 + q (its ulp is 1), minus 2^23 + bias (exact). Fewer operations than sign
 * extensions and a conversion (Q4_0 +25%, Q4_K +15%, Q8_0 +14% in bench_kernels' product). */
GR_WASM_INLINE void u8_to_f32(v128_t q, float bias, v128_t w[4]) {
    const v128_t magic = wasm_i32x4_splat(0x4b000000);
    const v128_t off = wasm_f32x4_splat(0x1p23f + bias);
#define U8LANES(i) wasm_i8x16_const(i, -1, -1, -1, i + 1, -1, -1, -1, i + 2, -1, -1, -1, i + 3, -1, -1, -1)
    w[0] = wasm_f32x4_sub(wasm_v128_or(wasm_i8x16_swizzle(q, U8LANES(0)), magic), off);
    w[1] = wasm_f32x4_sub(wasm_v128_or(wasm_i8x16_swizzle(q, U8LANES(4)), magic), off);
    w[2] = wasm_f32x4_sub(wasm_v128_or(wasm_i8x16_swizzle(q, U8LANES(8)), magic), off);
    w[3] = wasm_f32x4_sub(wasm_v128_or(wasm_i8x16_swizzle(q, U8LANES(12)), magic), off);
#undef U8LANES
}

/* Lanes 0-15 += y * x for 16 decoded weights y (R-NUM-010: element i to lane i mod 16). */
GR_WASM_INLINE void acc16(v128_t a[4], const v128_t y[4], const float *x) {
    for (int k = 0; k < 4; k++) {
        a[k] = wasm_f32x4_add(a[k], wasm_f32x4_mul(y[k], wasm_v128_load(x + 4 * k)));
    }
}

/* The fixed combining tree of R-NUM-010 (w = 8, 4, 2, 1) on lanes 0-15 in a[0..3]. */
GR_WASM_INLINE float reduce16(const v128_t a[4]) {
    v128_t s = wasm_f32x4_add(wasm_f32x4_add(a[0], a[2]), wasm_f32x4_add(a[1], a[3]));
    float s0 = wasm_f32x4_extract_lane(s, 0) + wasm_f32x4_extract_lane(s, 2);
    float s1 = wasm_f32x4_extract_lane(s, 1) + wasm_f32x4_extract_lane(s, 3);
    return s0 + s1;
}

/* ---- Block kernels: blk_T(blk, x, a) adds the block's BS elements times x into a. ---- */

/* F32: 16 elements. */
GR_WASM_INLINE void blk_f32(const uint8_t *blk, const float *x, v128_t a[4]) {
    v128_t w[4];
    for (int k = 0; k < 4; k++) w[k] = wasm_v128_load(blk + 16 * k);
    acc16(a, w, x);
}

/* binary16 -> binary32 (R-TYPE-002, exact, NaN payloads kept) of four halves h placed in the
 * high halves of the lanes (h << 16), the bit method of gr_f16_to_f32 with the sign kept in
 * place: an arithmetic shift by 3 and a mask give sign | (e|m) << 13, the binary32 bits of the
 * value times 2^-112; times 2^112 (exact: a power of two, the sign kept, no rounding or
 * underflow) gives the value. e = 31 (bits 23-27 all set before the multiplication) gives
 * exponent 143 there: 0x38000000 more puts it at 255 with the payload unchanged. */
GR_WASM_INLINE v128_t f16x4_to_f32(v128_t h16) {
    v128_t v = wasm_v128_and(wasm_i32x4_shr(h16, 3), wasm_i32x4_splat((int32_t)0x8fffe000u));
    v128_t special = wasm_i32x4_eq(wasm_v128_and(v, wasm_i32x4_splat(0x0f800000)), wasm_i32x4_splat(0x0f800000));
    v128_t mag = wasm_f32x4_mul(v, wasm_f32x4_splat(0x1p112f));
    return wasm_i32x4_add(mag, wasm_v128_and(special, wasm_i32x4_splat(0x38000000)));
}

/* Four halves of v (the low four, or the high four) in the high halves of the lanes, zeros
 * below: a zero extension and a shift (cheaper in V8 than a two-input shuffle). */
GR_WASM_INLINE v128_t hi16_low(v128_t v) { return wasm_i32x4_shl(wasm_u32x4_extend_low_u16x8(v), 16); }
GR_WASM_INLINE v128_t hi16_high(v128_t v) { return wasm_i32x4_shl(wasm_u32x4_extend_high_u16x8(v), 16); }

/* F16: 16 elements. */
GR_WASM_INLINE void blk_f16(const uint8_t *blk, const float *x, v128_t a[4]) {
    v128_t v0 = wasm_v128_load(blk), v1 = wasm_v128_load(blk + 16), w[4];
    w[0] = f16x4_to_f32(hi16_low(v0));
    w[1] = f16x4_to_f32(hi16_high(v0));
    w[2] = f16x4_to_f32(hi16_low(v1));
    w[3] = f16x4_to_f32(hi16_high(v1));
    acc16(a, w, x);
}

/* BF16: 16 elements, each the top half of a binary32 (R-TYPE-003). */
GR_WASM_INLINE void blk_bf16(const uint8_t *blk, const float *x, v128_t a[4]) {
    v128_t v0 = wasm_v128_load(blk), v1 = wasm_v128_load(blk + 16), w[4];
    w[0] = hi16_low(v0);
    w[1] = hi16_high(v0);
    w[2] = hi16_low(v1);
    w[3] = hi16_high(v1);
    acc16(a, w, x);
}

/* The low / high nibbles of 16 bytes (a 16-bit shift: the bits it moves across bytes are
 * masked off). */
GR_WASM_INLINE v128_t lo4(v128_t v) { return wasm_v128_and(v, wasm_i8x16_splat(0x0f)); }
GR_WASM_INLINE v128_t hi4(v128_t v) {
    return wasm_v128_and(wasm_u16x8_shr(v, 4), wasm_i8x16_splat(0x0f));
}

/* Bits (b >> s) & mask of 16 bytes b, s + width of mask <= 8 (the 16-bit shift moves bits of
 * the next byte only to positions >= 8 - s, masked off). */
GR_WASM_INLINE v128_t bits8(v128_t b, int s, int mask) {
    return wasm_v128_and(wasm_u16x8_shr(b, s), wasm_i8x16_splat((int8_t)mask));
}

/* y = (f32)(q - bias) * d for 16 unsigned bytes q (Q4_0, Q5_0, Q8_0, Q3_K, Q6_K; exact for
 * Q4_0/Q5_0/Q8_0: at most 8 x 11 significant bits). */
GR_WASM_INLINE void q_bias_mul(v128_t q, float bias, v128_t d, const float *x, v128_t a[4]) {
    v128_t w[4];
    u8_to_f32(q, bias, w);
    for (int k = 0; k < 4; k++) w[k] = wasm_f32x4_mul(w[k], d);
    acc16(a, w, x);
}

/* y = (f32)q * d + m (Q4_1, Q5_1: two roundings). */
GR_WASM_INLINE void q_mul_add(v128_t q, v128_t d, v128_t m, const float *x, v128_t a[4]) {
    v128_t w[4];
    u8_to_f32(q, 0.0f, w);
    for (int k = 0; k < 4; k++) w[k] = wasm_f32x4_add(wasm_f32x4_mul(w[k], d), m);
    acc16(a, w, x);
}

/* y = k * (f32)q - m (Q2_K, Q4_K, Q5_K: two roundings). */
GR_WASM_INLINE void q_kmul_sub(v128_t q, v128_t k, v128_t m, const float *x, v128_t a[4]) {
    v128_t w[4];
    u8_to_f32(q, 0.0f, w);
    for (int i = 0; i < 4; i++) w[i] = wasm_f32x4_sub(wasm_f32x4_mul(k, w[i]), m);
    acc16(a, w, x);
}

GR_WASM_INLINE v128_t f16_splat(const uint8_t *p) { return wasm_f32x4_splat(gr_f16_to_f32(gr_rd16(p))); }

/* Q4_0 (R-TYPE-010): y = (f32)(nibble - 8) * d; elements 0-15 the low nibbles of qs[0..15],
 * 16-31 the high nibbles. */
GR_WASM_INLINE void blk_q4_0(const uint8_t *blk, const float *x, v128_t a[4]) {
    v128_t d = f16_splat(blk), qs = wasm_v128_load(blk + 2);
    q_bias_mul(lo4(qs), 8.0f, d, x, a);
    q_bias_mul(hi4(qs), 8.0f, d, x + 16, a);
}

/* Q4_1 (R-TYPE-011): y = (f32)nibble * d + m. */
GR_WASM_INLINE void blk_q4_1(const uint8_t *blk, const float *x, v128_t a[4]) {
    v128_t d = f16_splat(blk), m = f16_splat(blk + 2), qs = wasm_v128_load(blk + 4);
    q_mul_add(lo4(qs), d, m, x, a);
    q_mul_add(hi4(qs), d, m, x + 16, a);
}

/* The fifth bits of Q5_0 / Q5_1 elements 16 * half + j (j < 16): bit j of h = qh >> 16 * half,
 * as 0x10 in byte j. */
GR_WASM_INLINE v128_t q5_bit16(uint32_t h) {
    const v128_t bits = wasm_u8x16_make(1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128);
    v128_t hb = wasm_i16x8_splat((int16_t)(h & 0xffff));
    hb = wasm_i8x16_swizzle(hb, wasm_i8x16_const(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
    return wasm_v128_and(wasm_i8x16_eq(wasm_v128_and(hb, bits), bits), wasm_i8x16_splat(0x10));
}

/* Q5_0 (R-TYPE-012): y = (f32)(q - 16) * d, q = nibble | fifth bit << 4. */
GR_WASM_INLINE void blk_q5_0(const uint8_t *blk, const float *x, v128_t a[4]) {
    v128_t d = f16_splat(blk), qs = wasm_v128_load(blk + 6);
    uint32_t qh = gr_rd32(blk + 2);
    q_bias_mul(wasm_v128_or(lo4(qs), q5_bit16(qh)), 16.0f, d, x, a);
    q_bias_mul(wasm_v128_or(hi4(qs), q5_bit16(qh >> 16)), 16.0f, d, x + 16, a);
}

/* Q5_1 (R-TYPE-013): y = (f32)q * d + m. */
GR_WASM_INLINE void blk_q5_1(const uint8_t *blk, const float *x, v128_t a[4]) {
    v128_t d = f16_splat(blk), m = f16_splat(blk + 2), qs = wasm_v128_load(blk + 8);
    uint32_t qh = gr_rd32(blk + 4);
    q_mul_add(wasm_v128_or(lo4(qs), q5_bit16(qh)), d, m, x, a);
    q_mul_add(wasm_v128_or(hi4(qs), q5_bit16(qh >> 16)), d, m, x + 16, a);
}

/* Q8_0 (R-TYPE-014): y = (f32)q * d. */
GR_WASM_INLINE void blk_q8_0(const uint8_t *blk, const float *x, v128_t a[4]) {
    v128_t d = f16_splat(blk), flip = wasm_i8x16_splat(-128); /* q + 128 as unsigned bytes */
    q_bias_mul(wasm_v128_xor(wasm_v128_load(blk + 2), flip), 128.0f, d, x, a);
    q_bias_mul(wasm_v128_xor(wasm_v128_load(blk + 18), flip), 128.0f, d, x + 16, a);
}

/* Q2_K (R-TYPE-020): element 128h + 32j + l: q = (qs[32h + l] >> 2j) & 3, sub-block
 * s = 8h + 2j + (l >= 16): y = (d * (f32)(scales[s] & 15)) * (f32)q - dmin * (f32)(scales[s] >> 4). */
GR_WASM_INLINE void blk_q2_k(const uint8_t *blk, const float *x, v128_t a[4]) {
    const uint8_t *scales = blk, *qs = blk + 16;
    float d = gr_f16_to_f32(gr_rd16(blk + 80)), dmin = gr_f16_to_f32(gr_rd16(blk + 82));
    for (int h = 0; h < 2; h++) {
        v128_t v0 = wasm_v128_load(qs + 32 * h), v1 = wasm_v128_load(qs + 32 * h + 16);
        for (int j = 0; j < 4; j++) {
            uint8_t sa = scales[8 * h + 2 * j], sb = scales[8 * h + 2 * j + 1];
            const float *xs = x + 128 * h + 32 * j;
            q_kmul_sub(bits8(v0, 2 * j, 3), wasm_f32x4_splat(d * (float)(sa & 0x0f)),
                       wasm_f32x4_splat(dmin * (float)(sa >> 4)), xs, a);
            q_kmul_sub(bits8(v1, 2 * j, 3), wasm_f32x4_splat(d * (float)(sb & 0x0f)),
                       wasm_f32x4_splat(dmin * (float)(sb >> 4)), xs + 16, a);
        }
    }
}

/* Q3_K (R-TYPE-021): q = ((qs[32h + l] >> 2j) & 3) - (hmask[l] bit 4h + j set ? 0 : 4),
 * y = (d * (f32)sc_s) * (f32)q. */
GR_WASM_INLINE void blk_q3_k(const uint8_t *blk, const float *x, v128_t a[4]) {
    const uint8_t *qs = blk + 32, *scales = blk + 96;
    float d = gr_f16_to_f32(gr_rd16(blk + 108));
    v128_t m0 = wasm_v128_load(blk), m1 = wasm_v128_load(blk + 16);
    for (int h = 0; h < 2; h++) {
        v128_t v0 = wasm_v128_load(qs + 32 * h), v1 = wasm_v128_load(qs + 32 * h + 16);
        for (int j = 0; j < 4; j++) {
            int mb = 4 * h + j;
            v128_t q0 = wasm_v128_or(bits8(v0, 2 * j, 3), wasm_i16x8_shl(bits8(m0, mb, 1), 2));
            v128_t q1 = wasm_v128_or(bits8(v1, 2 * j, 3), wasm_i16x8_shl(bits8(m1, mb, 1), 2));
            const float *xs = x + 128 * h + 32 * j;
            q_bias_mul(q0, 4.0f, wasm_f32x4_splat(d * (float)gr_q3k_scale(scales, 8 * h + 2 * j)), xs, a);
            q_bias_mul(q1, 4.0f, wasm_f32x4_splat(d * (float)gr_q3k_scale(scales, 8 * h + 2 * j + 1)), xs + 16, a);
        }
    }
}

/* Q4_K (R-TYPE-022): chunk c (64 elements), k = gr_k4_chunk: elements 64c + l (l < 32):
 * k0 * (f32)(low nibble of qs[32c + l]) - k1, elements 64c + 32 + l: k2 * (f32)(high) - k3. */
GR_WASM_INLINE void blk_q4_k(const uint8_t *blk, const float *x, v128_t a[4]) {
    float d = gr_f16_to_f32(gr_rd16(blk)), dmin = gr_f16_to_f32(gr_rd16(blk + 2));
    for (int c = 0; c < 4; c++) {
        float k[4];
        gr_k4_chunk(blk + 4, c, d, dmin, k);
        const uint8_t *q = blk + 16 + 32 * c;
        const float *xc = x + 64 * c;
        v128_t v0 = wasm_v128_load(q), v1 = wasm_v128_load(q + 16);
        v128_t k0 = wasm_f32x4_splat(k[0]), k1 = wasm_f32x4_splat(k[1]);
        v128_t k2 = wasm_f32x4_splat(k[2]), k3 = wasm_f32x4_splat(k[3]);
        q_kmul_sub(lo4(v0), k0, k1, xc, a);
        q_kmul_sub(lo4(v1), k0, k1, xc + 16, a);
        q_kmul_sub(hi4(v0), k2, k3, xc + 32, a);
        q_kmul_sub(hi4(v1), k2, k3, xc + 48, a);
    }
}

/* Q5_K (R-TYPE-023): Q4_K with 16 added to q when bit s of qh[l mod 32] is set. */
GR_WASM_INLINE void blk_q5_k(const uint8_t *blk, const float *x, v128_t a[4]) {
    float d = gr_f16_to_f32(gr_rd16(blk)), dmin = gr_f16_to_f32(gr_rd16(blk + 2));
    v128_t h0 = wasm_v128_load(blk + 16), h1 = wasm_v128_load(blk + 32);
    for (int c = 0; c < 4; c++) {
        float k[4];
        gr_k4_chunk(blk + 4, c, d, dmin, k);
        const uint8_t *q = blk + 48 + 32 * c;
        const float *xc = x + 64 * c;
        v128_t v0 = wasm_v128_load(q), v1 = wasm_v128_load(q + 16);
        v128_t k0 = wasm_f32x4_splat(k[0]), k1 = wasm_f32x4_splat(k[1]);
        v128_t k2 = wasm_f32x4_splat(k[2]), k3 = wasm_f32x4_splat(k[3]);
#define Q5B(h, s) wasm_i16x8_shl(bits8((h), (s), 1), 4)
        q_kmul_sub(wasm_v128_or(lo4(v0), Q5B(h0, 2 * c)), k0, k1, xc, a);
        q_kmul_sub(wasm_v128_or(lo4(v1), Q5B(h1, 2 * c)), k0, k1, xc + 16, a);
        q_kmul_sub(wasm_v128_or(hi4(v0), Q5B(h0, 2 * c + 1)), k2, k3, xc + 32, a);
        q_kmul_sub(wasm_v128_or(hi4(v1), Q5B(h1, 2 * c + 1)), k2, k3, xc + 48, a);
#undef Q5B
    }
}

/* Q6_K (R-TYPE-024): half h, quarter k: lo4 of ql[64h + 32(k & 1) + l] >> 4(k >> 1),
 * hi2 = (qh[32h + l] >> 2k) & 3, q = (lo4 | hi2 << 4) - 32, y = (d * (f32)scales[s]) * (f32)q. */
GR_WASM_INLINE void blk_q6_k(const uint8_t *blk, const float *x, v128_t a[4]) {
    const int8_t *scales = (const int8_t *)(blk + 192);
    float d = gr_f16_to_f32(gr_rd16(blk + 208));
    for (int h = 0; h < 2; h++) {
        v128_t qh0 = wasm_v128_load(blk + 128 + 32 * h), qh1 = wasm_v128_load(blk + 144 + 32 * h);
        for (int k = 0; k < 4; k++) {
            const uint8_t *lo = blk + 64 * h + 32 * (k & 1);
            v128_t l0 = wasm_v128_load(lo), l1 = wasm_v128_load(lo + 16);
            l0 = k >> 1 ? hi4(l0) : lo4(l0);
            l1 = k >> 1 ? hi4(l1) : lo4(l1);
            v128_t q0 = wasm_v128_or(l0, wasm_i16x8_shl(bits8(qh0, 2 * k, 3), 4));
            v128_t q1 = wasm_v128_or(l1, wasm_i16x8_shl(bits8(qh1, 2 * k, 3), 4));
            const float *xs = x + 128 * h + 32 * k;
            q_bias_mul(q0, 32.0f, wasm_f32x4_splat(d * (float)scales[8 * h + 2 * k]), xs, a);
            q_bias_mul(q1, 32.0f, wasm_f32x4_splat(d * (float)scales[8 * h + 2 * k + 1]), xs + 16, a);
        }
    }
}

/* ---- Row drivers ---------------------------------------------------------------------------
 * rows_T(row, stride, n_rows, x, n, out): out[r] = dot(row r, x) for r < n_rows (row r at
 * row + r * stride), GR_WASM_NR rows at a time (one from each of NR equal parts of the range),
 * each with its own 16 lanes. Rows of F32/F16/BF16 (blocks of 16) may end in a partial block:
 * its elements go to the first lanes through the portable decoder. */

/* The dot product of the lanes a plus the rest_n elements of the row at rest. */
static float finish_lanes(const v128_t a[4], uint32_t type, const uint8_t *rest, const float *x,
                          size_t rest_n) {
    if (rest_n == 0) return reduce16(a);
    float s[16], v[16];
    for (int k = 0; k < 4; k++) wasm_v128_store(s + 4 * k, a[k]);
    gr_decode_run(type, rest, v, rest_n);
    for (size_t l = 0; l < rest_n; l++) s[l] = s[l] + v[l] * x[l];
    return gr_lanes_reduce(s);
}

#define GR_WASM_ROWS(T, TYPE, BS, TS)                                                              \
    static void rows_##T(const uint8_t *row, size_t stride, size_t n_rows, const float *x,        \
                         size_t n, float *out) {                                                   \
        size_t nb = n / (BS), rest = n - nb * (BS), part = n_rows / GR_WASM_NR, r = 0;            \
        const float *xr = x + nb * (BS);                                                           \
        const size_t gap = part * stride;                                                          \
        for (; r < part; r++) {                                                                    \
            const uint8_t *p = row + r * stride;                                                   \
            v128_t a[GR_WASM_NR][4];                                                               \
            GR_UNROLL for (int i = 0; i < GR_WASM_NR; i++) {                                       \
                for (int k = 0; k < 4; k++) a[i][k] = wasm_f32x4_splat(0.0f);                      \
            }                                                                                      \
            for (size_t b = 0; b < nb; b++) {                                                      \
                GR_UNROLL for (int i = 0; i < GR_WASM_NR; i++) {                                   \
                    blk_##T(p + i * gap + b * (TS), x + b * (BS), a[i]);                           \
                }                                                                                  \
            }                                                                                      \
            GR_UNROLL for (int i = 0; i < GR_WASM_NR; i++) {                                       \
                out[r + i * part] = finish_lanes(a[i], TYPE, p + i * gap + nb * (TS), xr, rest);   \
            }                                                                                      \
        }                                                                                          \
        for (r = GR_WASM_NR * part; r < n_rows; r++) {                                             \
            const uint8_t *p = row + r * stride;                                                   \
            v128_t a[4];                                                                           \
            for (int k = 0; k < 4; k++) a[k] = wasm_f32x4_splat(0.0f);                             \
            for (size_t b = 0; b < nb; b++) blk_##T(p + b * (TS), x + b * (BS), a);                \
            out[r] = finish_lanes(a, TYPE, p + nb * (TS), xr, rest);                               \
        }                                                                                          \
    }

GR_WASM_ROWS(f32, GGUFREF_T_F32, 16, 64)
GR_WASM_ROWS(f16, GGUFREF_T_F16, 16, 32)
GR_WASM_ROWS(bf16, GGUFREF_T_BF16, 16, 32)
GR_WASM_ROWS(q4_0, GGUFREF_T_Q4_0, 32, 18)
GR_WASM_ROWS(q4_1, GGUFREF_T_Q4_1, 32, 20)
GR_WASM_ROWS(q5_0, GGUFREF_T_Q5_0, 32, 22)
GR_WASM_ROWS(q5_1, GGUFREF_T_Q5_1, 32, 24)
GR_WASM_ROWS(q8_0, GGUFREF_T_Q8_0, 32, 34)
GR_WASM_ROWS(q2_k, GGUFREF_T_Q2_K, 256, 84)
GR_WASM_ROWS(q3_k, GGUFREF_T_Q3_K, 256, 110)
GR_WASM_ROWS(q4_k, GGUFREF_T_Q4_K, 256, 144)
GR_WASM_ROWS(q5_k, GGUFREF_T_Q5_K, 256, 176)
GR_WASM_ROWS(q6_k, GGUFREF_T_Q6_K, 256, 210)

typedef void (*rows_fn)(const uint8_t *row, size_t stride, size_t n_rows, const float *x,
                        size_t n, float *out);

static rows_fn rows_for(uint32_t type) {
    switch (type) {
    case GGUFREF_T_F32: return rows_f32;
    case GGUFREF_T_F16: return rows_f16;
    case GGUFREF_T_BF16: return rows_bf16;
    case GGUFREF_T_Q4_0: return rows_q4_0;
    case GGUFREF_T_Q4_1: return rows_q4_1;
    case GGUFREF_T_Q5_0: return rows_q5_0;
    case GGUFREF_T_Q5_1: return rows_q5_1;
    case GGUFREF_T_Q8_0: return rows_q8_0;
    case GGUFREF_T_Q2_K: return rows_q2_k;
    case GGUFREF_T_Q3_K: return rows_q3_k;
    case GGUFREF_T_Q4_K: return rows_q4_k;
    case GGUFREF_T_Q5_K: return rows_q5_k;
    case GGUFREF_T_Q6_K: return rows_q6_k;
    default: return NULL;
    }
}

bool gr_wasm_row_type(uint32_t type) { return rows_for(type) != NULL; }

void gr_wasm_rows(uint32_t type, const uint8_t *row, size_t stride, size_t n_rows, const float *x,
                  size_t n, float *out) {
    rows_for(type)(row, stride, n_rows, x, n, out);
}

float gr_wasm_row_dot(uint32_t type, const uint8_t *row, const float *x, size_t n) {
    float out;
    rows_for(type)(row, 0, 1, x, n, &out);
    return out;
}

#else
typedef int gr_kernels_wasm_unused; /* ISO C: a translation unit declares something */
#endif
