/*
 * kernels_avx2.c — AVX2 kernels for the dispatch of kernels.c (SPEC R-NUM-010..012, R-NUM-044):
 * lanes 0-7 of R-NUM-010 in one register, 8-15 in another; the same operations per lane as the
 * portable C kernels, so the same bits (tested bit for bit against them on every type).
 *
 * Why four rows at once: each lane's sum is one chain of dependent additions (the order is
 * fixed), so one row at a time runs at the latency of an addition per 16 elements, whatever the
 * type. Four rows give eight independent chains; the decoded bits and each row's order of
 * additions are unchanged.
 *
 * Layout: reductions; block kernels (one per type: decode one block straight into the lanes, or
 * into memory); row drivers; the batched products; the attention kernels; the table of the
 * dispatch.
 */
#include "kernels_avx2.h"
#include "quant.h"

#include <string.h>

#if GR_HAVE_AVX2

/* The combining tree of R-NUM-010 on lanes 0-7 (a0) and 8-15 (a1): w = 8 is a0 + a1, w = 4
 * adds the register's halves, w = 2 and w = 1 add within the low half. */
GR_TARGET_AVX2 static inline float reduce_avx2(__m256 a0, __m256 a1) {
    __m256 s8 = _mm256_add_ps(a0, a1);
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    __m128 s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
    return _mm_cvtss_f32(s1);
}

GR_TARGET_AVX2 static void lanes_muladd_avx2(float s[GR_LANES], const float *a, const float *b,
                                             size_t n) {
    __m256 s0 = _mm256_loadu_ps(s), s1 = _mm256_loadu_ps(s + 8);
    size_t i = 0;
    for (; i + GR_LANES <= n; i += GR_LANES) {
        s0 = _mm256_add_ps(s0, _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
        s1 = _mm256_add_ps(s1, _mm256_mul_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8)));
    }
    _mm256_storeu_ps(s, s0);
    _mm256_storeu_ps(s + 8, s1);
    for (size_t l = 0; i < n; i++, l++) s[l] = s[l] + a[i] * b[i];
}

GR_TARGET_AVX2 float gr_avx2_dot_f32(const float *a, const float *b, size_t n) {
    if (n % GR_LANES != 0) {
        float s[GR_LANES] = {0};
        lanes_muladd_avx2(s, a, b, n);
        return gr_lanes_reduce(s);
    }
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    for (size_t i = 0; i < n; i += GR_LANES) {
        s0 = _mm256_add_ps(s0, _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
        s1 = _mm256_add_ps(s1, _mm256_mul_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8)));
    }
    return reduce_avx2(s0, s1);
}

/* 8 bytes at p (unaligned) into the low half of a vector. */
GR_TARGET_AVX2 static inline __m128i load8(const uint8_t *p) {
    int64_t v;
    memcpy(&v, p, sizeof v);
    return _mm_cvtsi64_si128(v);
}

GR_TARGET_AVX2 static inline __m256i u8x8(const uint8_t *p) { return _mm256_cvtepu8_epi32(load8(p)); }

/* ---- Block kernels ----------------------------------------------------------------------
 * blk_T(blk, x, y, a0, a1): the elements of one block of type T, decoded by R-TYPE-* (the
 * operations of quant.c's decode_T, 8 lanes at a time). Two modes, fixed at compile time by
 * the always-inlined callers: y == NULL adds w * x[k..k+7] to the lanes (a0 for block
 * elements k = 0, 16, 32.. mod 16 = 0..7, a1 for 8..15; every block size is a multiple of 16,
 * so block element k goes to lane k mod 16), y != NULL stores w at y[k..k+7]. Within each
 * register the elements come in ascending order, as every lane requires. */
#define EMIT8(acc, w, k)                                                                    \
    do {                                                                                    \
        if (y) _mm256_storeu_ps(y + (k), (w));                                              \
        else *(acc) = _mm256_add_ps(*(acc), _mm256_mul_ps((w), _mm256_loadu_ps(x + (k))));  \
    } while (0)

#define BLK_ARGS const uint8_t *blk, const float *x, float *y, __m256 *a0, __m256 *a1

/* F32: 16 elements. */
GR_TARGET_AVX2 static GR_ALWAYS_INLINE void blk_f32(BLK_ARGS) {
    EMIT8(a0, _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)(const void *)blk)), 0);
    EMIT8(a1, _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)(const void *)(blk + 32))), 8);
}

/* F16: 16 elements, converted by F16C, which is exact (R-TYPE-002) except that it quiets a
 * signalling NaN: used for dot products only, where the product quiets it anyway
 * (gr_weight_row decodes F16 with quant.c). */
GR_TARGET_AVX2 static GR_ALWAYS_INLINE void blk_f16(BLK_ARGS) {
    EMIT8(a0, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)blk)), 0);
    EMIT8(a1, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(blk + 16))), 8);
}

/* BF16: 16 elements, each the top half of a binary32 (R-TYPE-003). */
GR_TARGET_AVX2 static GR_ALWAYS_INLINE void blk_bf16(BLK_ARGS) {
    __m256i v0 = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)blk));
    __m256i v1 = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)(blk + 16)));
    EMIT8(a0, _mm256_castsi256_ps(_mm256_slli_epi32(v0, 16)), 0);
    EMIT8(a1, _mm256_castsi256_ps(_mm256_slli_epi32(v1, 16)), 8);
}

/* Q4_0 (R-TYPE-010): y = (f32)(nibble - 8) * d; elements 0-15 are the low nibbles of qs[0..15],
 * 16-31 the high nibbles. */
GR_TARGET_AVX2 static GR_ALWAYS_INLINE void blk_q4_0(BLK_ARGS) {
    const __m256i low4 = _mm256_set1_epi32(0x0f), eight = _mm256_set1_epi32(8);
    __m256 d = _mm256_set1_ps(gr_f16_to_f32(gr_rd16(blk)));
    __m256i v0 = u8x8(blk + 2), v1 = u8x8(blk + 10);
#define Q40(v) _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32((v), eight)), d)
    EMIT8(a0, Q40(_mm256_and_si256(v0, low4)), 0);
    EMIT8(a1, Q40(_mm256_and_si256(v1, low4)), 8);
    EMIT8(a0, Q40(_mm256_srli_epi32(v0, 4)), 16);
    EMIT8(a1, Q40(_mm256_srli_epi32(v1, 4)), 24);
#undef Q40
}

/* Q4_1 (R-TYPE-011): y = (f32)nibble * d + m. */
GR_TARGET_AVX2 static GR_ALWAYS_INLINE void blk_q4_1(BLK_ARGS) {
    const __m256i low4 = _mm256_set1_epi32(0x0f);
    __m256 d = _mm256_set1_ps(gr_f16_to_f32(gr_rd16(blk)));
    __m256 m = _mm256_set1_ps(gr_f16_to_f32(gr_rd16(blk + 2)));
    __m256i v0 = u8x8(blk + 4), v1 = u8x8(blk + 12);
#define Q41(v) _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(v), d), m)
    EMIT8(a0, Q41(_mm256_and_si256(v0, low4)), 0);
    EMIT8(a1, Q41(_mm256_and_si256(v1, low4)), 8);
    EMIT8(a0, Q41(_mm256_srli_epi32(v0, 4)), 16);
    EMIT8(a1, Q41(_mm256_srli_epi32(v1, 4)), 24);
#undef Q41
}

/* The fifth bits of Q5_0 / Q5_1: row b holds, for bit i of the byte b, 16 * bit (q5_bit16)
 * or 16 * bit - 16 (q5_high), so that q = nibble + q5_bit16[byte][i] and
 * q - 16 = nibble + q5_high[byte][i]. 8 KiB each, compile-time constants. */
#define Q5H(b, i) ((((b) >> (i)) & 1) * 16 - 16)
#define Q5ROW(b) {Q5H(b, 0), Q5H(b, 1), Q5H(b, 2), Q5H(b, 3), Q5H(b, 4), Q5H(b, 5), Q5H(b, 6), Q5H(b, 7)}
#define Q5X4(b) Q5ROW(b), Q5ROW(b + 1), Q5ROW(b + 2), Q5ROW(b + 3)
#define Q5X16(b) Q5X4(b), Q5X4(b + 4), Q5X4(b + 8), Q5X4(b + 12)
#define Q5X64(b) Q5X16(b), Q5X16(b + 16), Q5X16(b + 32), Q5X16(b + 48)
static const int32_t q5_high[256][8] = {Q5X64(0), Q5X64(64), Q5X64(128), Q5X64(192)};
#undef Q5H
#define Q5H(b, i) ((((b) >> (i)) & 1) * 16)
static const int32_t q5_bit16[256][8] = {Q5X64(0), Q5X64(64), Q5X64(128), Q5X64(192)};
#undef Q5H
#undef Q5ROW
#undef Q5X4
#undef Q5X16
#undef Q5X64

GR_TARGET_AVX2 static inline __m256i q5_bits(const int32_t (*table)[8], uint8_t byte) {
    return _mm256_loadu_si256((const __m256i *)(const void *)table[byte]);
}

/* Q5_0 (R-TYPE-012): y = (f32)(q - 16) * d; qh byte i holds the fifth bits of elements
 * 8i .. 8i+7. */
GR_TARGET_AVX2 static GR_ALWAYS_INLINE void blk_q5_0(BLK_ARGS) {
    const __m256i low4 = _mm256_set1_epi32(0x0f);
    __m256 d = _mm256_set1_ps(gr_f16_to_f32(gr_rd16(blk)));
    __m256i v0 = u8x8(blk + 6), v1 = u8x8(blk + 14);
#define Q50(v, i) _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32((v), q5_bits(q5_high, blk[2 + (i)]))), d)
    EMIT8(a0, Q50(_mm256_and_si256(v0, low4), 0), 0);
    EMIT8(a1, Q50(_mm256_and_si256(v1, low4), 1), 8);
    EMIT8(a0, Q50(_mm256_srli_epi32(v0, 4), 2), 16);
    EMIT8(a1, Q50(_mm256_srli_epi32(v1, 4), 3), 24);
#undef Q50
}

/* Q5_1 (R-TYPE-013): y = (f32)q * d + m. */
GR_TARGET_AVX2 static GR_ALWAYS_INLINE void blk_q5_1(BLK_ARGS) {
    const __m256i low4 = _mm256_set1_epi32(0x0f);
    __m256 d = _mm256_set1_ps(gr_f16_to_f32(gr_rd16(blk)));
    __m256 m = _mm256_set1_ps(gr_f16_to_f32(gr_rd16(blk + 2)));
    __m256i v0 = u8x8(blk + 8), v1 = u8x8(blk + 16);
#define Q51(v, i) \
    _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32((v), q5_bits(q5_bit16, blk[4 + (i)]))), d), m)
    EMIT8(a0, Q51(_mm256_and_si256(v0, low4), 0), 0);
    EMIT8(a1, Q51(_mm256_and_si256(v1, low4), 1), 8);
    EMIT8(a0, Q51(_mm256_srli_epi32(v0, 4), 2), 16);
    EMIT8(a1, Q51(_mm256_srli_epi32(v1, 4), 3), 24);
#undef Q51
}

/* Q8_0 (R-TYPE-014): y = (f32)q * d. */
GR_TARGET_AVX2 static GR_ALWAYS_INLINE void blk_q8_0(BLK_ARGS) {
    __m256 d = _mm256_set1_ps(gr_f16_to_f32(gr_rd16(blk)));
    for (int k = 0; k < 32; k += 16) {
        __m256 q0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(load8(blk + 2 + k)));
        __m256 q1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(load8(blk + 2 + k + 8)));
        EMIT8(a0, _mm256_mul_ps(q0, d), k);
        EMIT8(a1, _mm256_mul_ps(q1, d), k + 8);
    }
}

/* Q2_K (R-TYPE-020): per 16-element sub-block s, y = dl * (f32)q - ml with
 * dl = d * (f32)(scales[s] & 15), ml = dmin * (f32)(scales[s] >> 4). The 32 qs bytes of a half
 * serve its four 2-bit planes j: loaded once, shifted down two bits per plane. */
GR_TARGET_AVX2 static GR_ALWAYS_INLINE void blk_q2_k(BLK_ARGS) {
    const uint8_t *scales = blk, *qs = blk + 16;
    float d = gr_f16_to_f32(gr_rd16(blk + 80)), dmin = gr_f16_to_f32(gr_rd16(blk + 82));
    const __m256i three = _mm256_set1_epi32(3);
    for (int h = 0; h < 2; h++) {
        const uint8_t *q = qs + 32 * h;
        __m256i q0 = u8x8(q), q1 = u8x8(q + 8), q2 = u8x8(q + 16), q3 = u8x8(q + 24);
        for (int j = 0; j < 4; j++) {
            uint8_t sa = scales[8 * h + 2 * j], sb = scales[8 * h + 2 * j + 1];
            __m256 da = _mm256_set1_ps(d * (float)(sa & 0x0f)), ma = _mm256_set1_ps(dmin * (float)(sa >> 4));
            __m256 db = _mm256_set1_ps(d * (float)(sb & 0x0f)), mb = _mm256_set1_ps(dmin * (float)(sb >> 4));
            int k = 128 * h + 32 * j;
#define Q2K(v, dl, ml) _mm256_sub_ps(_mm256_mul_ps((dl), _mm256_cvtepi32_ps(_mm256_and_si256((v), three))), (ml))
            EMIT8(a0, Q2K(q0, da, ma), k);
            EMIT8(a1, Q2K(q1, da, ma), k + 8);
            EMIT8(a0, Q2K(q2, db, mb), k + 16);
            EMIT8(a1, Q2K(q3, db, mb), k + 24);
#undef Q2K
            q0 = _mm256_srli_epi32(q0, 2), q1 = _mm256_srli_epi32(q1, 2);
            q2 = _mm256_srli_epi32(q2, 2), q3 = _mm256_srli_epi32(q3, 2);
        }
    }
}

/* Q3_K (R-TYPE-021): q = ((qs >> 2j) & 3) - (hmask bit set ? 0 : 4), y = (d * (f32)sc_s) * (f32)q.
 * The qs bytes of a half are loaded once and shifted two bits per plane j; the 32 hmask bytes
 * once per block, shifted one bit per (h, j) (bit 4h + j is then bit 0): q = (lo + 4 bit) - 4. */
GR_TARGET_AVX2 static GR_ALWAYS_INLINE void blk_q3_k(BLK_ARGS) {
    const uint8_t *hmask = blk, *qs = blk + 32, *scales = blk + 96;
    float d = gr_f16_to_f32(gr_rd16(blk + 108));
    const __m256i three = _mm256_set1_epi32(3), four = _mm256_set1_epi32(4);
    const __m256i one = _mm256_set1_epi32(1);
    __m256i m0 = u8x8(hmask), m1 = u8x8(hmask + 8), m2 = u8x8(hmask + 16), m3 = u8x8(hmask + 24);
    for (int h = 0; h < 2; h++) {
        const uint8_t *q = qs + 32 * h;
        __m256i q0 = u8x8(q), q1 = u8x8(q + 8), q2 = u8x8(q + 16), q3 = u8x8(q + 24);
        for (int j = 0; j < 4; j++) {
            __m256 da = _mm256_set1_ps(d * (float)gr_q3k_scale(scales, 8 * h + 2 * j));
            __m256 db = _mm256_set1_ps(d * (float)gr_q3k_scale(scales, 8 * h + 2 * j + 1));
            int k = 128 * h + 32 * j;
#define Q3K(v, m, dl)                                                                                 \
    _mm256_mul_ps((dl), _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_add_epi32(                         \
        _mm256_and_si256((v), three), _mm256_slli_epi32(_mm256_and_si256((m), one), 2)), four)))
            EMIT8(a0, Q3K(q0, m0, da), k);
            EMIT8(a1, Q3K(q1, m1, da), k + 8);
            EMIT8(a0, Q3K(q2, m2, db), k + 16);
            EMIT8(a1, Q3K(q3, m3, db), k + 24);
#undef Q3K
            q0 = _mm256_srli_epi32(q0, 2), q1 = _mm256_srli_epi32(q1, 2);
            q2 = _mm256_srli_epi32(q2, 2), q3 = _mm256_srli_epi32(q3, 2);
            m0 = _mm256_srli_epi32(m0, 1), m1 = _mm256_srli_epi32(m1, 1);
            m2 = _mm256_srli_epi32(m2, 1), m3 = _mm256_srli_epi32(m3, 1);
        }
    }
}

/* Q4_K (R-TYPE-022): per 64-element chunk c, the 32 low nibbles (sub-block 2c), then the 32
 * high nibbles (sub-block 2c + 1); y = (d * (f32)sc) * (f32)q - dmin * (f32)m. */
GR_TARGET_AVX2 static GR_ALWAYS_INLINE void blk_q4_k(BLK_ARGS) {
    const __m256i low4 = _mm256_set1_epi32(0x0f);
    float d = gr_f16_to_f32(gr_rd16(blk)), dmin = gr_f16_to_f32(gr_rd16(blk + 2));
    const uint8_t *scales = blk + 4;
    for (int c = 0; c < 4; c++) {
        const uint8_t *q = blk + 16 + 32 * c;
        float kk[4];
        gr_k4_chunk(scales, c, d, dmin, kk);
        __m256 d1 = _mm256_set1_ps(kk[0]), m1 = _mm256_set1_ps(kk[1]);
        __m256 d2 = _mm256_set1_ps(kk[2]), m2 = _mm256_set1_ps(kk[3]);
        __m256i v0 = u8x8(q), v1 = u8x8(q + 8), v2 = u8x8(q + 16), v3 = u8x8(q + 24);
#define Q4K(v, dd, mm) _mm256_sub_ps(_mm256_mul_ps((dd), _mm256_cvtepi32_ps(v)), (mm))
        EMIT8(a0, Q4K(_mm256_and_si256(v0, low4), d1, m1), 64 * c);
        EMIT8(a1, Q4K(_mm256_and_si256(v1, low4), d1, m1), 64 * c + 8);
        EMIT8(a0, Q4K(_mm256_and_si256(v2, low4), d1, m1), 64 * c + 16);
        EMIT8(a1, Q4K(_mm256_and_si256(v3, low4), d1, m1), 64 * c + 24);
        EMIT8(a0, Q4K(_mm256_srli_epi32(v0, 4), d2, m2), 64 * c + 32);
        EMIT8(a1, Q4K(_mm256_srli_epi32(v1, 4), d2, m2), 64 * c + 40);
        EMIT8(a0, Q4K(_mm256_srli_epi32(v2, 4), d2, m2), 64 * c + 48);
        EMIT8(a1, Q4K(_mm256_srli_epi32(v3, 4), d2, m2), 64 * c + 56);
    }
}

/* Q5_K (R-TYPE-023): Q4_K with 16 added to q when bit s of qh[l mod 32] is set. The 32 qh
 * bytes serve every chunk: loaded once, shifted down two bits per chunk (bit 2c is then bit 0,
 * bit 2c + 1 bit 1). */
GR_TARGET_AVX2 static GR_ALWAYS_INLINE void blk_q5_k(BLK_ARGS) {
    const __m256i low4 = _mm256_set1_epi32(0x0f), one = _mm256_set1_epi32(1);
    const __m256i two = _mm256_set1_epi32(2);
    float d = gr_f16_to_f32(gr_rd16(blk)), dmin = gr_f16_to_f32(gr_rd16(blk + 2));
    const uint8_t *scales = blk + 4, *qh = blk + 16;
    __m256i h0 = u8x8(qh), h1 = u8x8(qh + 8), h2 = u8x8(qh + 16), h3 = u8x8(qh + 24);
    for (int c = 0; c < 4; c++) {
        const uint8_t *q = blk + 48 + 32 * c;
        float kk[4];
        gr_k4_chunk(scales, c, d, dmin, kk);
        __m256 d1 = _mm256_set1_ps(kk[0]), m1 = _mm256_set1_ps(kk[1]);
        __m256 d2 = _mm256_set1_ps(kk[2]), m2 = _mm256_set1_ps(kk[3]);
        __m256i v0 = u8x8(q), v1 = u8x8(q + 8), v2 = u8x8(q + 16), v3 = u8x8(q + 24);
#define Q4K(v, dd, mm) _mm256_sub_ps(_mm256_mul_ps((dd), _mm256_cvtepi32_ps(v)), (mm))
#define Q5LO(v, h) _mm256_add_epi32(_mm256_and_si256((v), low4), _mm256_slli_epi32(_mm256_and_si256((h), one), 4))
#define Q5HI(v, h) _mm256_add_epi32(_mm256_srli_epi32((v), 4), _mm256_slli_epi32(_mm256_and_si256((h), two), 3))
        EMIT8(a0, Q4K(Q5LO(v0, h0), d1, m1), 64 * c);
        EMIT8(a1, Q4K(Q5LO(v1, h1), d1, m1), 64 * c + 8);
        EMIT8(a0, Q4K(Q5LO(v2, h2), d1, m1), 64 * c + 16);
        EMIT8(a1, Q4K(Q5LO(v3, h3), d1, m1), 64 * c + 24);
        EMIT8(a0, Q4K(Q5HI(v0, h0), d2, m2), 64 * c + 32);
        EMIT8(a1, Q4K(Q5HI(v1, h1), d2, m2), 64 * c + 40);
        EMIT8(a0, Q4K(Q5HI(v2, h2), d2, m2), 64 * c + 48);
        EMIT8(a1, Q4K(Q5HI(v3, h3), d2, m2), 64 * c + 56);
#undef Q5LO
#undef Q5HI
#undef Q4K
        h0 = _mm256_srli_epi32(h0, 2), h1 = _mm256_srli_epi32(h1, 2);
        h2 = _mm256_srli_epi32(h2, 2), h3 = _mm256_srli_epi32(h3, 2);
    }
}

/* Q6_K (R-TYPE-024): per 128-element half h and quarter k (32 elements, sub-blocks 8h + 2k,
 * 8h + 2k + 1), y = (d * (f32)sc) * (f32)q. The 32 qh bytes of a half serve its four quarters:
 * loaded once, shifted down two bits per quarter. */
GR_TARGET_AVX2 static GR_ALWAYS_INLINE void blk_q6_k(BLK_ARGS) {
    const __m256i low4 = _mm256_set1_epi32(0x0f), three = _mm256_set1_epi32(3);
    const __m256i bias = _mm256_set1_epi32(32);
    const int8_t *scales = (const int8_t *)(blk + 192);
    float d = gr_f16_to_f32(gr_rd16(blk + 208));
    for (int h = 0; h < 2; h++) {
        const uint8_t *qh = blk + 128 + 32 * h;
        __m256i h0 = u8x8(qh), h1 = u8x8(qh + 8), h2 = u8x8(qh + 16), h3 = u8x8(qh + 24);
        for (int k = 0; k < 4; k++) {
            const uint8_t *lo = blk + 64 * h + 32 * (k & 1);
            __m128i shift = _mm_cvtsi32_si128((k >> 1) * 4);
            __m256 da = _mm256_set1_ps(d * (float)scales[8 * h + 2 * k]);
            __m256 db = _mm256_set1_ps(d * (float)scales[8 * h + 2 * k + 1]);
#define Q6K(l, hv) _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_or_si256(                             \
    _mm256_and_si256(_mm256_srl_epi32(u8x8(lo + (l)), shift), low4),                                   \
    _mm256_slli_epi32(_mm256_and_si256((hv), three), 4)), bias))
            EMIT8(a0, _mm256_mul_ps(da, Q6K(0, h0)), 128 * h + 32 * k);
            EMIT8(a1, _mm256_mul_ps(da, Q6K(8, h1)), 128 * h + 32 * k + 8);
            EMIT8(a0, _mm256_mul_ps(db, Q6K(16, h2)), 128 * h + 32 * k + 16);
            EMIT8(a1, _mm256_mul_ps(db, Q6K(24, h3)), 128 * h + 32 * k + 24);
#undef Q6K
            h0 = _mm256_srli_epi32(h0, 2), h1 = _mm256_srli_epi32(h1, 2);
            h2 = _mm256_srli_epi32(h2, 2), h3 = _mm256_srli_epi32(h3, 2);
        }
    }
}

/* ---- Row drivers -------------------------------------------------------------------------
 * For each type T with blocks of BS elements in TS bytes:
 *   rows_T(row, stride, n_rows, x, n, out): out[r] = dot(row r, x) for r < n_rows (row r at
 *     row + r * stride), four rows at a time, each with its own 16 lanes;
 *   decode_T(row, y, n_blocks): the decoded values of n_blocks blocks.
 * Rows of F32/F16/BF16 (BS 16) may end in a partial block: its elements go to the first lanes
 * through the portable decoder (finish_lanes). */

/* The dot product of the lanes (a0, a1) plus the rest elements of the row from `done` on. */
GR_TARGET_AVX2 static inline float finish_lanes(__m256 a0, __m256 a1, uint32_t type,
                                                const uint8_t *rest, const float *x, size_t rest_n) {
    if (rest_n == 0) return reduce_avx2(a0, a1);
    float s[GR_LANES], v[GR_LANES];
    _mm256_storeu_ps(s, a0);
    _mm256_storeu_ps(s + 8, a1);
    gr_decode_run(type, rest, v, rest_n);
    for (size_t l = 0; l < rest_n; l++) s[l] = s[l] + v[l] * x[l];
    return gr_lanes_reduce(s);
}

#define GR_AVX2_ROWS(T, TYPE, BS, TS)                                                              \
    GR_TARGET_AVX2 static void rows_##T(const uint8_t *row, size_t stride, size_t n_rows,          \
                                        const float *x, size_t n, float *out) {                    \
        size_t nb = n / (BS), r = 0, rest = n - nb * (BS), quarter = n_rows / 4;                   \
        const float *xr = x + nb * (BS);                                                           \
        const size_t gap = quarter * stride;                                                       \
        for (; r < quarter; r++) {                                                                 \
            const uint8_t *p = row + r * stride;                                                   \
            __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00;                     \
            __m256 a20 = a00, a21 = a00, a30 = a00, a31 = a00;                                     \
            for (size_t b = 0; b < nb; b++) {                                                      \
                const float *xb = x + b * (BS);                                                    \
                const uint8_t *q = p + b * (TS);                                                   \
                blk_##T(q, xb, NULL, &a00, &a01);                                                  \
                blk_##T(q + gap, xb, NULL, &a10, &a11);                                            \
                blk_##T(q + 2 * gap, xb, NULL, &a20, &a21);                                        \
                blk_##T(q + 3 * gap, xb, NULL, &a30, &a31);                                        \
            }                                                                                      \
            const uint8_t *e = p + nb * (TS);                                                      \
            out[r] = finish_lanes(a00, a01, TYPE, e, xr, rest);                                    \
            out[r + quarter] = finish_lanes(a10, a11, TYPE, e + gap, xr, rest);                    \
            out[r + 2 * quarter] = finish_lanes(a20, a21, TYPE, e + 2 * gap, xr, rest);            \
            out[r + 3 * quarter] = finish_lanes(a30, a31, TYPE, e + 3 * gap, xr, rest);            \
        }                                                                                          \
        r = 4 * quarter;                                                                           \
        for (; r < n_rows; r++) {                                                                  \
            const uint8_t *p = row + r * stride;                                                   \
            __m256 a0 = _mm256_setzero_ps(), a1 = a0;                                              \
            for (size_t b = 0; b < nb; b++) blk_##T(p + b * (TS), x + b * (BS), NULL, &a0, &a1);   \
            out[r] = finish_lanes(a0, a1, TYPE, p + nb * (TS), xr, rest);                          \
        }                                                                                          \
    }                                                                                              \
    GR_TARGET_AVX2 static void decode_##T(const uint8_t *row, float *y, size_t n_blocks) {         \
        __m256 unused = _mm256_setzero_ps();                                                       \
        for (size_t b = 0; b < n_blocks; b++) {                                                    \
            blk_##T(row + b * (TS), NULL, y + b * (BS), &unused, &unused);                         \
        }                                                                                          \
    }

GR_AVX2_ROWS(f32, GGUFREF_T_F32, 16, 64)
GR_AVX2_ROWS(f16, GGUFREF_T_F16, 16, 32)
GR_AVX2_ROWS(bf16, GGUFREF_T_BF16, 16, 32)
GR_AVX2_ROWS(q4_0, GGUFREF_T_Q4_0, 32, 18)
GR_AVX2_ROWS(q4_1, GGUFREF_T_Q4_1, 32, 20)
GR_AVX2_ROWS(q5_0, GGUFREF_T_Q5_0, 32, 22)
GR_AVX2_ROWS(q5_1, GGUFREF_T_Q5_1, 32, 24)
GR_AVX2_ROWS(q8_0, GGUFREF_T_Q8_0, 32, 34)
GR_AVX2_ROWS(q2_k, GGUFREF_T_Q2_K, 256, 84)
GR_AVX2_ROWS(q3_k, GGUFREF_T_Q3_K, 256, 110)
GR_AVX2_ROWS(q4_k, GGUFREF_T_Q4_K, 256, 144)
GR_AVX2_ROWS(q5_k, GGUFREF_T_Q5_K, 256, 176)
GR_AVX2_ROWS(q6_k, GGUFREF_T_Q6_K, 256, 210)

/* out[b] = dot(w, x + b * x_stride, n) for b < 4: one load of w serves four vectors, whose
 * lanes (eight registers) add independently. */
GR_TARGET_AVX2 static void dots4_avx2(const float *w, const float *x, size_t x_stride, size_t n,
                                      float out[4]) {
    const float *x0 = x, *x1 = x + x_stride, *x2 = x + 2 * x_stride, *x3 = x + 3 * x_stride;
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00;
    __m256 a20 = a00, a21 = a00, a30 = a00, a31 = a00;
    size_t i = 0;
    for (; i + GR_LANES <= n; i += GR_LANES) {
        __m256 w0 = _mm256_loadu_ps(w + i), w1 = _mm256_loadu_ps(w + i + 8);
        a00 = _mm256_add_ps(a00, _mm256_mul_ps(w0, _mm256_loadu_ps(x0 + i)));
        a01 = _mm256_add_ps(a01, _mm256_mul_ps(w1, _mm256_loadu_ps(x0 + i + 8)));
        a10 = _mm256_add_ps(a10, _mm256_mul_ps(w0, _mm256_loadu_ps(x1 + i)));
        a11 = _mm256_add_ps(a11, _mm256_mul_ps(w1, _mm256_loadu_ps(x1 + i + 8)));
        a20 = _mm256_add_ps(a20, _mm256_mul_ps(w0, _mm256_loadu_ps(x2 + i)));
        a21 = _mm256_add_ps(a21, _mm256_mul_ps(w1, _mm256_loadu_ps(x2 + i + 8)));
        a30 = _mm256_add_ps(a30, _mm256_mul_ps(w0, _mm256_loadu_ps(x3 + i)));
        a31 = _mm256_add_ps(a31, _mm256_mul_ps(w1, _mm256_loadu_ps(x3 + i + 8)));
    }
    const uint8_t *rest = (const uint8_t *)(const void *)(w + i);
    out[0] = finish_lanes(a00, a01, GGUFREF_T_F32, rest, x0 + i, n - i);
    out[1] = finish_lanes(a10, a11, GGUFREF_T_F32, rest, x1 + i, n - i);
    out[2] = finish_lanes(a20, a21, GGUFREF_T_F32, rest, x2 + i, n - i);
    out[3] = finish_lanes(a30, a31, GGUFREF_T_F32, rest, x3 + i, n - i);
}

GR_TARGET_AVX2 void gr_avx2_dot_rows(const float *q, const float *k, size_t stride,
                                         size_t n_rows, size_t n, float *out) {
    if (n % GR_LANES == 0) {
        /* k rows as an F32 "weight" of row_bytes stride * 4: four keys at a time */
        rows_f32((const uint8_t *)(const void *)k, stride * sizeof(float), n_rows, q, n, out);
        return;
    }
    for (size_t r = 0; r < n_rows; r++) out[r] = gr_avx2_dot_f32(q, k + r * stride, n);
}

/* 32 outputs stay in four registers while every row adds into them. */
GR_TARGET_AVX2 void gr_avx2_weighted_rows(float *o, const float *w, const float *v,
                                              size_t stride, size_t n_rows, size_t n) {
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (size_t r = 0; r < n_rows; r++) {
            const float *vr = v + r * stride + i;
            __m256 wr = _mm256_set1_ps(w[r]);
            a0 = _mm256_add_ps(a0, _mm256_mul_ps(wr, _mm256_loadu_ps(vr)));
            a1 = _mm256_add_ps(a1, _mm256_mul_ps(wr, _mm256_loadu_ps(vr + 8)));
            a2 = _mm256_add_ps(a2, _mm256_mul_ps(wr, _mm256_loadu_ps(vr + 16)));
            a3 = _mm256_add_ps(a3, _mm256_mul_ps(wr, _mm256_loadu_ps(vr + 24)));
        }
        _mm256_storeu_ps(o + i, a0);
        _mm256_storeu_ps(o + i + 8, a1);
        _mm256_storeu_ps(o + i + 16, a2);
        _mm256_storeu_ps(o + i + 24, a3);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 a0 = _mm256_setzero_ps();
        for (size_t r = 0; r < n_rows; r++) {
            a0 = _mm256_add_ps(a0, _mm256_mul_ps(_mm256_set1_ps(w[r]), _mm256_loadu_ps(v + r * stride + i)));
        }
        _mm256_storeu_ps(o + i, a0);
    }
    for (; i < n; i++) {
        float a = 0.0f;
        for (size_t r = 0; r < n_rows; r++) a = a + w[r] * v[r * stride + i];
        o[i] = a;
    }
}

const gr_simd_kernels *gr_avx2_for(uint32_t type) {
#define K(T, BS, TS, EXACT) {rows_##T, decode_##T, BS, TS, EXACT}
    static const gr_simd_kernels f32 = K(f32, 16, 64, true), f16 = K(f16, 16, 32, false);
    static const gr_simd_kernels bf16 = K(bf16, 16, 32, true), q4_0 = K(q4_0, 32, 18, true);
    static const gr_simd_kernels q4_1 = K(q4_1, 32, 20, true), q5_0 = K(q5_0, 32, 22, true);
    static const gr_simd_kernels q5_1 = K(q5_1, 32, 24, true), q8_0 = K(q8_0, 32, 34, true);
    static const gr_simd_kernels q2_k = K(q2_k, 256, 84, true), q3_k = K(q3_k, 256, 110, true);
    static const gr_simd_kernels q4_k = K(q4_k, 256, 144, true), q5_k = K(q5_k, 256, 176, true);
    static const gr_simd_kernels q6_k = K(q6_k, 256, 210, true);
#undef K
    switch (type) {
    case GGUFREF_T_F32: return &f32;
    case GGUFREF_T_F16: return &f16;
    case GGUFREF_T_BF16: return &bf16;
    case GGUFREF_T_Q4_0: return &q4_0;
    case GGUFREF_T_Q4_1: return &q4_1;
    case GGUFREF_T_Q5_0: return &q5_0;
    case GGUFREF_T_Q5_1: return &q5_1;
    case GGUFREF_T_Q8_0: return &q8_0;
    case GGUFREF_T_Q2_K: return &q2_k;
    case GGUFREF_T_Q3_K: return &q3_k;
    case GGUFREF_T_Q4_K: return &q4_k;
    case GGUFREF_T_Q5_K: return &q5_k;
    case GGUFREF_T_Q6_K: return &q6_k;
    default: return NULL;
    }
}

/* Rows r0 .. r1-1 of w times n_batch vectors. One vector: the row drivers. Several: each row
 * is decoded once (into row_buf; an aligned F32 row is used in place) and dotted with four
 * vectors at a time. */
GR_TARGET_AVX2 void gr_avx2_matmul_rows(const gr_simd_kernels *k, uint32_t type,
                                        const uint8_t *rows, size_t row_bytes, size_t n_rows,
                                        size_t n, const float *x, size_t x_stride, size_t n_batch,
                                        float *y, size_t y_stride, float *row_buf) {
    if (n_batch == 1) {
        k->rows(rows, row_bytes, n_rows, x, n, y);
        return;
    }
    size_t nb = n / k->block_size, done = nb * k->block_size;
    for (size_t r = 0; r < n_rows; r++) {
        const uint8_t *row = rows + r * row_bytes;
        const float *v;
        if (type == GGUFREF_T_F32 && ((uintptr_t)row & (sizeof(float) - 1)) == 0) {
            v = (const float *)(const void *)row;
        } else {
            k->decode(row, row_buf, nb);
            if (done < n) gr_decode_run(type, row + nb * k->type_size, row_buf + done, n - done);
            v = row_buf;
        }
        size_t b = 0;
        for (; b + 4 <= n_batch; b += 4) {
            float out[4];
            dots4_avx2(v, x + b * x_stride, x_stride, n, out);
            for (size_t j = 0; j < 4; j++) y[(b + j) * y_stride + r] = out[j];
        }
        for (; b < n_batch; b++) y[b * y_stride + r] = gr_avx2_dot_f32(v, x + b * x_stride, n);
    }
}

#endif

