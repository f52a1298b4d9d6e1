/*
 * kernels_avx512.c — AVX-512 row kernels for the dispatch of kernels.c (SPEC R-NUM-010..012,
 * R-NUM-044). Same contract as the AVX2 kernels: the bits of the portable C kernels; only the
 * speed changes.
 *
 * Why a second x86 path: the sixteen lanes of R-NUM-010 are exactly one 512-bit register, so
 * a row's sum is one register and every element costs half the vector operations of AVX2. The
 * larger gain is in the decoding: a 4- or 5-bit quantized block (or sub-block) has only 16 or
 * 32 distinct values, y(q) for q = 0..15 (31), each computed by R-TYPE-* from q and the block's
 * scales. The kernels compute those values once per (sub-)block, with the very operations and
 * operands of R-TYPE-* (so the same bits), into a register, and then decode sixteen elements
 * with one permutation (vpermps takes the low 4 index bits, vpermt2ps the low 5) instead of
 * mask, convert, multiply (and add) per element. Types with more distinct values (Q8_0, Q6_K)
 * convert and scale as the AVX2 kernels do, sixteen lanes at a time.
 *
 * F32 has no kernel here: its rows are read from memory at full bandwidth by AVX2 already, and
 * 64-byte loads of rows that GGUF aligns to 32 bytes streamed ~8% slower (bench_decode,
 * stories15M F32); the dispatch sends them to AVX2.
 *
 * Each row driver takes four rows at once, from the four quarters of the matrix (four long
 * sequential streams; see kernels.c), one accumulator register per row: every lane's chain of
 * additions is unchanged. Rows must be whole blocks (n a multiple of the block size); the
 * dispatch of kernels.c sends other rows (F32/F16/BF16 rows of n mod 16 != 0) to AVX2.
 *
 * Layout: the block kernels (one per type: decode one block into the lanes or into memory), the
 * row drivers, the table of the dispatch.
 */
#include "kernels_avx512.h"
#include "quant.h"

#include <string.h>

#if GR_HAVE_AVX512

/* The combining tree of R-NUM-010 on lanes 0-15 of a: w = 8 adds the register's 256-bit
 * halves, w = 4 the 128-bit halves of that, w = 2 and w = 1 within the low quarter. */
GR_TARGET_AVX512 static inline float reduce512(__m512 a) {
    __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(a),
                              _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    __m128 s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
    return _mm_cvtss_f32(s1);
}

/* 16 bytes at p, zero-extended to 16 lanes. */
GR_TARGET_AVX512 static inline __m512i u8x16(const uint8_t *p) {
    return _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)p));
}

/* Bits where mask is 1 from a, the others from b. */
GR_TARGET_AVX512 static inline __m512i select_bits(__m512i mask, __m512i a, __m512i b) {
    return _mm512_ternarylogic_epi32(mask, a, b, 0xCA);
}

/* A binary16 scale at p by vcvtph2ps: exact (R-TYPE-002) except that a signalling NaN comes
 * out quiet, which no result can show: every use of a scale is an arithmetic operation, which
 * quiets it anyway (and R-NUM-002 compares NaNs equal). */
GR_TARGET_AVX512 static inline float f16_scale(const uint8_t *p) { return _cvtsh_ss(gr_rd16(p)); }

/* The same scale in all 16 lanes (broadcast as binary16, then converted: one operation less). */
GR_TARGET_AVX512 static inline __m512 f16_scale16(const uint8_t *p) {
    return _mm512_cvtph_ps(_mm256_set1_epi16((short)gr_rd16(p)));
}

/* The multipliers of the 8 sub-blocks of a Q4_K / Q5_K block (R-TYPE-022): dl[s] = d * (f32)sc_s,
 * ml[s] = dmin * (f32)m_s, the 6-bit values unpacked four at a time from the 12 scale bytes
 * (gr_k4_scale_min's layout). OUT: dl[8], ml[8]. */
GR_TARGET_AVX512 static inline void k4_multipliers(const uint8_t *scales, float d, float dmin,
                                                   float dl[8], float ml[8]) {
    uint32_t u0 = gr_rd32(scales), u1 = gr_rd32(scales + 4), u2 = gr_rd32(scales + 8);
    uint32_t sc_lo = u0 & 0x3f3f3f3fu, m_lo = u1 & 0x3f3f3f3fu;
    uint32_t sc_hi = (u2 & 0x0f0f0f0fu) | ((u0 >> 6) & 0x03030303u) << 4;
    uint32_t m_hi = ((u2 >> 4) & 0x0f0f0f0fu) | ((u1 >> 6) & 0x03030303u) << 4;
    __m256i sc = _mm256_cvtepu8_epi32(_mm_set_epi32(0, 0, (int)sc_hi, (int)sc_lo));
    __m256i m = _mm256_cvtepu8_epi32(_mm_set_epi32(0, 0, (int)m_hi, (int)m_lo));
    _mm256_storeu_ps(dl, _mm256_mul_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sc)));
    _mm256_storeu_ps(ml, _mm256_mul_ps(_mm256_set1_ps(dmin), _mm256_cvtepi32_ps(m)));
    /* Keep them in memory: a table is then built by two operations with a broadcast memory
     * operand, where a register copy costs a shuffle and a broadcast per value. */
    __asm__("" : : "r"(dl), "r"(ml) : "memory");
}

/* (f32)0 .. (f32)15: the q of every table entry. */
GR_TARGET_AVX512 static inline __m512 iota16(void) {
    return _mm512_set_ps(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
}

/* ---- Block kernels ----------------------------------------------------------------------
 * blk_T(blk, gap, nr, store, x, y, acc): block b of nr rows (nr = 4 or 1, a constant after
 * inlining; row r's block at blk + r * gap), elements by R-TYPE-*, sixteen at a time. !store
 * (also fixed at compile time): acc[r] = acc[r] + w * x[k..k+15] (block element k + i goes to
 * lane i: every block size is a multiple of 16); store (nr = 1): w at y[k..k+15]. The rows are
 * interleaved at every step (ROWS), so that the four chains of additions, one per row, overlap:
 * one row after the other, the chain of one row's block (16 dependent additions for 256
 * elements) held the machine back by a third. */
#define ROWS _Pragma("GCC unroll 4") for (int r = 0; r < nr; r++)
#define EMIT16(w, k)                                                                       \
    do {                                                                                   \
        if (store) _mm512_storeu_ps(y + (k), (w));                                         \
        else acc[r] = _mm512_add_ps(acc[r], _mm512_mul_ps((w), _mm512_loadu_ps(x + (k)))); \
    } while (0)

#define BLK_ARGS const uint8_t *blk, size_t gap, int nr, bool store, const float *x, float *y, __m512 *acc
#define B(r) (blk + (size_t)(r) * gap)

/* F16: 16 elements, converted by vcvtph2ps: exact (R-TYPE-002) except that a signalling NaN
 * comes out quiet, so the decode of this kernel is not used for rows (see kernels.c). */
GR_TARGET_AVX512 static GR_ALWAYS_INLINE void blk_f16(BLK_ARGS) {
    ROWS EMIT16(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)B(r))), 0);
}

/* BF16: 16 elements, each the top half of a binary32 (R-TYPE-003). */
GR_TARGET_AVX512 static GR_ALWAYS_INLINE void blk_bf16(BLK_ARGS) {
    ROWS {
        __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(const void *)B(r)));
        EMIT16(_mm512_castsi512_ps(_mm512_slli_epi32(v, 16)), 0);
    }
}

/* Q4_0 (R-TYPE-010): table t[q] = (f32)(q - 8) * d. Elements 0-15 are the low nibbles of
 * qs[0..15] (vpermps ignores the high nibble), 16-31 the high nibbles. */
GR_TARGET_AVX512 static GR_ALWAYS_INLINE void blk_q4_0(BLK_ARGS) {
    ROWS {
        __m512 t = _mm512_mul_ps(_mm512_sub_ps(iota16(), _mm512_set1_ps(8.0f)), f16_scale16(B(r)));
        __m512i v = u8x16(B(r) + 2);
        EMIT16(_mm512_permutexvar_ps(v, t), 0);
        EMIT16(_mm512_permutexvar_ps(_mm512_srli_epi32(v, 4), t), 16);
    }
}

/* Q4_1 (R-TYPE-011): t[q] = (f32)q * d + m. */
GR_TARGET_AVX512 static GR_ALWAYS_INLINE void blk_q4_1(BLK_ARGS) {
    ROWS {
        __m512 t = _mm512_add_ps(_mm512_mul_ps(iota16(), f16_scale16(B(r))), f16_scale16(B(r) + 2));
        __m512i v = u8x16(B(r) + 4);
        EMIT16(_mm512_permutexvar_ps(v, t), 0);
        EMIT16(_mm512_permutexvar_ps(_mm512_srli_epi32(v, 4), t), 16);
    }
}

/* The 5-bit indices of Q5_0 / Q5_1 elements k .. k+15: nibble | (fifth bit) << 4, the fifth
 * bits being bits k .. k+15 of qh (vpermt2ps reads index bits 0-4). */
GR_TARGET_AVX512 static inline __m512i q5_index(__m512i nibble, uint32_t qh, int k) {
    return _mm512_mask_or_epi32(nibble, (__mmask16)(qh >> k), nibble, _mm512_set1_epi32(16));
}

/* Q5_0 (R-TYPE-012): t[q] = (f32)(q - 16) * d for q = 0..31, in two registers (q < 16, q >= 16). */
GR_TARGET_AVX512 static GR_ALWAYS_INLINE void blk_q5_0(BLK_ARGS) {
    ROWS {
        __m512 d = f16_scale16(B(r));
        __m512 lo = _mm512_mul_ps(_mm512_sub_ps(iota16(), _mm512_set1_ps(16.0f)), d);
        __m512 hi = _mm512_mul_ps(iota16(), d); /* (q - 16) for q = 16..31 is 0..15 */
        uint32_t qh = gr_rd32(B(r) + 2);
        __m512i v = u8x16(B(r) + 6);
        __m512i i0 = q5_index(_mm512_and_si512(v, _mm512_set1_epi32(15)), qh, 0);
        __m512i i1 = q5_index(_mm512_srli_epi32(v, 4), qh, 16);
        EMIT16(_mm512_permutex2var_ps(lo, i0, hi), 0);
        EMIT16(_mm512_permutex2var_ps(lo, i1, hi), 16);
    }
}

/* Q5_1 (R-TYPE-013): t[q] = (f32)q * d + m for q = 0..31. */
GR_TARGET_AVX512 static GR_ALWAYS_INLINE void blk_q5_1(BLK_ARGS) {
    ROWS {
        __m512 d = f16_scale16(B(r)), m = f16_scale16(B(r) + 2);
        __m512 lo = _mm512_add_ps(_mm512_mul_ps(iota16(), d), m);
        __m512 hi = _mm512_add_ps(_mm512_mul_ps(_mm512_add_ps(iota16(), _mm512_set1_ps(16.0f)), d), m);
        uint32_t qh = gr_rd32(B(r) + 4);
        __m512i v = u8x16(B(r) + 8);
        __m512i i0 = q5_index(_mm512_and_si512(v, _mm512_set1_epi32(15)), qh, 0);
        __m512i i1 = q5_index(_mm512_srli_epi32(v, 4), qh, 16);
        EMIT16(_mm512_permutex2var_ps(lo, i0, hi), 0);
        EMIT16(_mm512_permutex2var_ps(lo, i1, hi), 16);
    }
}

/* Q8_0 (R-TYPE-014): y = (f32)q * d. */
GR_TARGET_AVX512 static GR_ALWAYS_INLINE void blk_q8_0(BLK_ARGS) {
    ROWS {
        __m512 d = f16_scale16(B(r));
        __m512i q0 = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(B(r) + 2)));
        __m512i q1 = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(B(r) + 18)));
        EMIT16(_mm512_mul_ps(_mm512_cvtepi32_ps(q0), d), 0);
        EMIT16(_mm512_mul_ps(_mm512_cvtepi32_ps(q1), d), 16);
    }
}

/* Q2_K (R-TYPE-020): sub-block s (16 elements) of half h, plane j, half-plane s mod 2:
 * t[q] = dl * (f32)q - ml with dl = d * (f32)(scales[s] & 15), ml = dmin * (f32)(scales[s] >> 4)
 * (computed eight at a time into memory), the table repeated every 4 entries so that the index
 * needs no mask: (qs >> 2j) mod 16 picks t[(qs >> 2j) & 3]. */
GR_TARGET_AVX512 static inline void q2k_multipliers(const uint8_t *blk, float dl[16], float ml[16]) {
    __m512 d = f16_scale16(blk + 80), dmin = f16_scale16(blk + 82);
    __m512i sc = u8x16(blk);
    _mm512_storeu_ps(dl, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_and_si512(sc, _mm512_set1_epi32(15)))));
    _mm512_storeu_ps(ml, _mm512_mul_ps(dmin, _mm512_cvtepi32_ps(_mm512_srli_epi32(sc, 4))));
    __asm__("" : : "r"(dl), "r"(ml) : "memory"); /* see k4_multipliers */
}

GR_TARGET_AVX512 static GR_ALWAYS_INLINE void blk_q2_k(BLK_ARGS) {
    const __m512 q4 = _mm512_set_ps(3, 2, 1, 0, 3, 2, 1, 0, 3, 2, 1, 0, 3, 2, 1, 0);
    float dl[4][16], ml[4][16];
    ROWS q2k_multipliers(B(r), dl[r], ml[r]);
    for (int h = 0; h < 2; h++) {
        for (int j = 0; j < 4; j++) {
            int s = 8 * h + 2 * j, k = 128 * h + 32 * j;
            ROWS {
                const uint8_t *qs = B(r) + 16 + 32 * h;
                __m512 t0 = _mm512_sub_ps(_mm512_mul_ps(_mm512_set1_ps(dl[r][s]), q4), _mm512_set1_ps(ml[r][s]));
                __m512 t1 = _mm512_sub_ps(_mm512_mul_ps(_mm512_set1_ps(dl[r][s + 1]), q4), _mm512_set1_ps(ml[r][s + 1]));
                __m512i v0 = _mm512_srli_epi32(u8x16(qs), 2 * j), v1 = _mm512_srli_epi32(u8x16(qs + 16), 2 * j);
                EMIT16(_mm512_permutexvar_ps(v0, t0), k);
                EMIT16(_mm512_permutexvar_ps(v1, t1), k + 16);
            }
        }
    }
}

/* Q3_K (R-TYPE-021): sub-block s: t[i] = (d * (f32)sc_s) * (f32)q(i) for the index
 * i = (qs >> 2j) & 3 | hmask bit << 2, q(i) = (i & 3) - (i & 4 ? 0 : 4), repeated every 8
 * entries (vpermps reads index bits 0-3; bit 3 is whatever the shifted qs holds). */
GR_TARGET_AVX512 static inline void q3k_multipliers(const uint8_t *blk, float dl[16]) {
    /* sc_s + 32 = lo4 | hi2 << 4, four sub-blocks per word (gr_q3k_scale's layout) */
    uint32_t a0 = gr_rd32(blk + 96), a1 = gr_rd32(blk + 100), a2 = gr_rd32(blk + 104);
    const uint32_t m4 = 0x0f0f0f0fu, m2 = 0x03030303u;
    __m128i sc = _mm_set_epi32((int)(((a1 >> 4) & m4) | ((a2 >> 6) & m2) << 4),
                               (int)(((a0 >> 4) & m4) | ((a2 >> 4) & m2) << 4),
                               (int)((a1 & m4) | ((a2 >> 2) & m2) << 4), (int)((a0 & m4) | (a2 & m2) << 4));
    __m512i v = _mm512_sub_epi32(_mm512_cvtepu8_epi32(sc), _mm512_set1_epi32(32));
    _mm512_storeu_ps(dl, _mm512_mul_ps(f16_scale16(blk + 108), _mm512_cvtepi32_ps(v)));
    __asm__("" : : "r"(dl) : "memory"); /* see k4_multipliers */
}

GR_TARGET_AVX512 static GR_ALWAYS_INLINE void blk_q3_k(BLK_ARGS) {
    const __m512 q8 = _mm512_set_ps(3, 2, 1, 0, -1, -2, -3, -4, 3, 2, 1, 0, -1, -2, -3, -4);
    const __m512i low2 = _mm512_set1_epi32(3);
    float dl[4][16];
    ROWS q3k_multipliers(B(r), dl[r]);
    for (int h = 0; h < 2; h++) {
        for (int j = 0; j < 4; j++) {
            int s = 8 * h + 2 * j, k = 128 * h + 32 * j, hb = 4 * h + j;
            ROWS {
                const uint8_t *hmask = B(r), *qs = B(r) + 32 + 32 * h;
                __m512 t0 = _mm512_mul_ps(_mm512_set1_ps(dl[r][s]), q8);
                __m512 t1 = _mm512_mul_ps(_mm512_set1_ps(dl[r][s + 1]), q8);
                /* bits 0-1 from qs >> 2j, bits 2.. from hmask >> hb << 2: select by 3 */
                __m512i m0 = _mm512_srli_epi32(_mm512_slli_epi32(u8x16(hmask), 2), hb);
                __m512i m1 = _mm512_srli_epi32(_mm512_slli_epi32(u8x16(hmask + 16), 2), hb);
                __m512i i0 = select_bits(low2, _mm512_srli_epi32(u8x16(qs), 2 * j), m0);
                __m512i i1 = select_bits(low2, _mm512_srli_epi32(u8x16(qs + 16), 2 * j), m1);
                EMIT16(_mm512_permutexvar_ps(i0, t0), k);
                EMIT16(_mm512_permutexvar_ps(i1, t1), k + 16);
            }
        }
    }
}

/* Q4_K (R-TYPE-022): chunk c (64 elements): sub-block 2c is the low nibbles of qs[32c ..],
 * 2c + 1 the high nibbles; t[q] = dl_s * (f32)q - ml_s (k4_multipliers). */
GR_TARGET_AVX512 static GR_ALWAYS_INLINE void blk_q4_k(BLK_ARGS) {
    float dl[4][8], ml[4][8];
    ROWS k4_multipliers(B(r) + 4, f16_scale(B(r)), f16_scale(B(r) + 2), dl[r], ml[r]);
    for (int c = 0; c < 4; c++) {
        ROWS {
            const uint8_t *q = B(r) + 16 + 32 * c;
            __m512 t1 = _mm512_sub_ps(_mm512_mul_ps(_mm512_set1_ps(dl[r][2 * c]), iota16()),
                                      _mm512_set1_ps(ml[r][2 * c]));
            __m512 t2 = _mm512_sub_ps(_mm512_mul_ps(_mm512_set1_ps(dl[r][2 * c + 1]), iota16()),
                                      _mm512_set1_ps(ml[r][2 * c + 1]));
            __m512i v0 = u8x16(q), v1 = u8x16(q + 16);
            EMIT16(_mm512_permutexvar_ps(v0, t1), 64 * c);
            EMIT16(_mm512_permutexvar_ps(v1, t1), 64 * c + 16);
            EMIT16(_mm512_permutexvar_ps(_mm512_srli_epi32(v0, 4), t2), 64 * c + 32);
            EMIT16(_mm512_permutexvar_ps(_mm512_srli_epi32(v1, 4), t2), 64 * c + 48);
        }
    }
}

/* Q5_K (R-TYPE-023): Q4_K with q += 16 where bit s of qh[l mod 32] is set: 32-entry tables
 * t[q] = dl_s * (f32)q - ml_s (q < 16 in one register, q >= 16 in another); index bits 0-3
 * from the nibble, bit 4 from qh (shifted so that bit s is at bit 4; bits above are ignored). */
GR_TARGET_AVX512 static GR_ALWAYS_INLINE void blk_q5_k(BLK_ARGS) {
    const __m512i low4 = _mm512_set1_epi32(15);
    const __m512 hi16 = _mm512_add_ps(iota16(), _mm512_set1_ps(16.0f));
    float dl[4][8], ml[4][8];
    ROWS k4_multipliers(B(r) + 4, f16_scale(B(r)), f16_scale(B(r) + 2), dl[r], ml[r]);
    for (int c = 0; c < 4; c++) {
        ROWS {
            const uint8_t *q = B(r) + 48 + 32 * c;
            __m512 dd1 = _mm512_set1_ps(dl[r][2 * c]), mm1 = _mm512_set1_ps(ml[r][2 * c]);
            __m512 dd2 = _mm512_set1_ps(dl[r][2 * c + 1]), mm2 = _mm512_set1_ps(ml[r][2 * c + 1]);
            __m512 lo1 = _mm512_sub_ps(_mm512_mul_ps(dd1, iota16()), mm1);
            __m512 hi1 = _mm512_sub_ps(_mm512_mul_ps(dd1, hi16), mm1);
            __m512 lo2 = _mm512_sub_ps(_mm512_mul_ps(dd2, iota16()), mm2);
            __m512 hi2 = _mm512_sub_ps(_mm512_mul_ps(dd2, hi16), mm2);
            /* bit 2c of qh moved to bit 4 (bit 2c + 1 to bit 5) */
            __m512i h0 = _mm512_srli_epi32(_mm512_slli_epi32(u8x16(B(r) + 16), 4), 2 * c);
            __m512i h1 = _mm512_srli_epi32(_mm512_slli_epi32(u8x16(B(r) + 32), 4), 2 * c);
            __m512i v0 = u8x16(q), v1 = u8x16(q + 16);
            __m512i a0 = select_bits(low4, v0, h0), a1 = select_bits(low4, v1, h1);
            __m512i b0 = select_bits(low4, _mm512_srli_epi32(v0, 4), _mm512_srli_epi32(h0, 1));
            __m512i b1 = select_bits(low4, _mm512_srli_epi32(v1, 4), _mm512_srli_epi32(h1, 1));
            EMIT16(_mm512_permutex2var_ps(lo1, a0, hi1), 64 * c);
            EMIT16(_mm512_permutex2var_ps(lo1, a1, hi1), 64 * c + 16);
            EMIT16(_mm512_permutex2var_ps(lo2, b0, hi2), 64 * c + 32);
            EMIT16(_mm512_permutex2var_ps(lo2, b1, hi2), 64 * c + 48);
        }
    }
}

/* Q6_K (R-TYPE-024): per half h and quarter k (sub-blocks 8h + 2k, 8h + 2k + 1, 16 elements
 * each), q = (lo4 | hi2 << 4) - 32, y = (d * (f32)sc) * (f32)q; dl_s = d * (f32)sc_s computed
 * sixteen at a time into memory. */
GR_TARGET_AVX512 static inline void q6k_multipliers(const uint8_t *blk, float dl[16]) {
    __m512i sc = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(blk + 192)));
    _mm512_storeu_ps(dl, _mm512_mul_ps(f16_scale16(blk + 208), _mm512_cvtepi32_ps(sc)));
    __asm__("" : : "r"(dl) : "memory"); /* see k4_multipliers */
}

GR_TARGET_AVX512 static GR_ALWAYS_INLINE void blk_q6_k(BLK_ARGS) {
    const __m512i low4 = _mm512_set1_epi32(15), hi2 = _mm512_set1_epi32(0x30);
    /* q | 2^23 as the bits of a binary32 is 2^23 + q; minus 2^23 + 32 (exact) is (f32)(q - 32) */
    const __m512i magic = _mm512_set1_epi32(0x4B000000);
    const __m512 magic32 = _mm512_set1_ps(8388640.0f);
    float dl[4][16];
    ROWS q6k_multipliers(B(r), dl[r]);
    for (int h = 0; h < 2; h++) {
        __m512i qh0[4], qh1[4]; /* qh << 4 of rows 0..3: bits 2k, 2k+1 at bits 4, 5 after >> 2k */
        ROWS {
            const uint8_t *qh = B(r) + 128 + 32 * h;
            qh0[r] = _mm512_slli_epi32(u8x16(qh), 4), qh1[r] = _mm512_slli_epi32(u8x16(qh + 16), 4);
        }
        for (int k = 0; k < 4; k++) {
            int s = 8 * h + 2 * k, e = 128 * h + 32 * k;
            ROWS {
                const uint8_t *ql = B(r) + 64 * h + 32 * (k & 1);
                __m512i a = _mm512_srli_epi32(u8x16(ql), 4 * (k >> 1));
                __m512i b = _mm512_srli_epi32(u8x16(ql + 16), 4 * (k >> 1));
                /* (hi2 << 4) | 2^23, then the low nibble: the bits of 2^23 + q */
                __m512i ha = _mm512_ternarylogic_epi32(_mm512_srli_epi32(qh0[r], 2 * k), hi2, magic, 0xEA);
                __m512i hb = _mm512_ternarylogic_epi32(_mm512_srli_epi32(qh1[r], 2 * k), hi2, magic, 0xEA);
                __m512 fa = _mm512_sub_ps(_mm512_castsi512_ps(select_bits(low4, a, ha)), magic32);
                __m512 fb = _mm512_sub_ps(_mm512_castsi512_ps(select_bits(low4, b, hb)), magic32);
                EMIT16(_mm512_mul_ps(_mm512_set1_ps(dl[r][s]), fa), e);
                EMIT16(_mm512_mul_ps(_mm512_set1_ps(dl[r][s + 1]), fb), e + 16);
            }
        }
    }
}

/* ---- Row drivers -------------------------------------------------------------------------
 * rows512_T(row, stride, n_rows, x, n, out): out[r] = dot(row r, x) for r < n_rows (row r at
 *   row + r * stride; n a multiple of BS), four rows at a time from the four quarters;
 * decode512_T(row, y, n_blocks): the values of n_blocks blocks. */
#define GR_AVX512_ROWS(T, BS, TS)                                                                  \
    GR_TARGET_AVX512 static void rows512_##T(const uint8_t *row, size_t stride, size_t n_rows,     \
                                             const float *x, size_t n, float *out) {               \
        size_t nb = n / (BS), r = 0, quarter = n_rows / 4;                                         \
        const size_t gap = quarter * stride;                                                       \
        for (; r < quarter; r++) {                                                                 \
            const uint8_t *p = row + r * stride;                                                   \
            __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),        \
                             _mm512_setzero_ps()};                                                 \
            for (size_t b = 0; b < nb; b++) blk_##T(p + b * (TS), gap, 4, false, x + b * (BS), NULL, acc); \
            for (int k = 0; k < 4; k++) out[r + (size_t)k * quarter] = reduce512(acc[k]);          \
        }                                                                                          \
        for (r = 4 * quarter; r < n_rows; r++) {                                                   \
            const uint8_t *p = row + r * stride;                                                   \
            __m512 acc[1] = {_mm512_setzero_ps()};                                                 \
            for (size_t b = 0; b < nb; b++) blk_##T(p + b * (TS), 0, 1, false, x + b * (BS), NULL, acc);  \
            out[r] = reduce512(acc[0]);                                                            \
        }                                                                                          \
    }                                                                                              \
    GR_TARGET_AVX512 static void decode512_##T(const uint8_t *row, float *y, size_t n_blocks) {    \
        __m512 unused[1] = {_mm512_setzero_ps()};                                                  \
        for (size_t b = 0; b < n_blocks; b++) blk_##T(row + b * (TS), 0, 1, true, NULL, y + b * (BS), unused); \
    }

GR_AVX512_ROWS(f16, 16, 32)
GR_AVX512_ROWS(bf16, 16, 32)
GR_AVX512_ROWS(q4_0, 32, 18)
GR_AVX512_ROWS(q4_1, 32, 20)
GR_AVX512_ROWS(q5_0, 32, 22)
GR_AVX512_ROWS(q5_1, 32, 24)
GR_AVX512_ROWS(q8_0, 32, 34)
GR_AVX512_ROWS(q2_k, 256, 84)
GR_AVX512_ROWS(q3_k, 256, 110)
GR_AVX512_ROWS(q4_k, 256, 144)
GR_AVX512_ROWS(q5_k, 256, 176)
GR_AVX512_ROWS(q6_k, 256, 210)

/* ---- Batched products (the prompt) ---------------------------------------------------------
 * The rows of a matrix times n_batch vectors. Each row is decoded once, CHUNK elements at a
 * time, four rows together; their 16-lane sums with every vector stay in acc between chunks, so
 * each element of a vector is loaded once for four rows (instead of once per row: a batch of
 * vectors does not fit in L1). Every (row, vector) sum adds its elements in ascending order
 * into lane e mod 16 and ends with the tree of R-NUM-010: the bits of the one-vector kernels. */
#define BATCH_CHUNK 256u

/* acc[r][v] += buf[r][0..len) * x_v[0..len) for r < 4 (the four chains side by side). */
GR_TARGET_AVX512 static void batch_chunk4(const float *buf, const float *x, size_t x_stride,
                                          size_t n_batch, size_t len, __m512 (*acc)[GGUFREF_MAX_BATCH]) {
    const float *b0 = buf, *b1 = buf + BATCH_CHUNK, *b2 = buf + 2 * BATCH_CHUNK, *b3 = buf + 3 * BATCH_CHUNK;
    for (size_t v = 0; v < n_batch; v++) {
        const float *xv = x + v * x_stride;
        __m512 a0 = acc[0][v], a1 = acc[1][v], a2 = acc[2][v], a3 = acc[3][v];
        for (size_t i = 0; i < len; i += 16) {
            __m512 xi = _mm512_loadu_ps(xv + i);
            a0 = _mm512_add_ps(a0, _mm512_mul_ps(_mm512_loadu_ps(b0 + i), xi));
            a1 = _mm512_add_ps(a1, _mm512_mul_ps(_mm512_loadu_ps(b1 + i), xi));
            a2 = _mm512_add_ps(a2, _mm512_mul_ps(_mm512_loadu_ps(b2 + i), xi));
            a3 = _mm512_add_ps(a3, _mm512_mul_ps(_mm512_loadu_ps(b3 + i), xi));
        }
        acc[0][v] = a0, acc[1][v] = a1, acc[2][v] = a2, acc[3][v] = a3;
    }
}

/* acc[0][v] += buf[0..len) * x_v[0..len): one row, four vectors side by side. */
GR_TARGET_AVX512 static void batch_chunk1(const float *buf, const float *x, size_t x_stride,
                                          size_t n_batch, size_t len, __m512 *acc) {
    size_t v = 0;
    for (; v + 4 <= n_batch; v += 4) {
        const float *x0 = x + v * x_stride, *x1 = x0 + x_stride, *x2 = x1 + x_stride, *x3 = x2 + x_stride;
        __m512 a0 = acc[v], a1 = acc[v + 1], a2 = acc[v + 2], a3 = acc[v + 3];
        for (size_t i = 0; i < len; i += 16) {
            __m512 w = _mm512_loadu_ps(buf + i);
            a0 = _mm512_add_ps(a0, _mm512_mul_ps(w, _mm512_loadu_ps(x0 + i)));
            a1 = _mm512_add_ps(a1, _mm512_mul_ps(w, _mm512_loadu_ps(x1 + i)));
            a2 = _mm512_add_ps(a2, _mm512_mul_ps(w, _mm512_loadu_ps(x2 + i)));
            a3 = _mm512_add_ps(a3, _mm512_mul_ps(w, _mm512_loadu_ps(x3 + i)));
        }
        acc[v] = a0, acc[v + 1] = a1, acc[v + 2] = a2, acc[v + 3] = a3;
    }
    for (; v < n_batch; v++) {
        const float *xv = x + v * x_stride;
        __m512 a = acc[v];
        for (size_t i = 0; i < len; i += 16) a = _mm512_add_ps(a, _mm512_mul_ps(_mm512_loadu_ps(buf + i), _mm512_loadu_ps(xv + i)));
        acc[v] = a;
    }
}

GR_TARGET_AVX512 void gr_avx512_matmul_batch(const gr_simd_kernels *k, const uint8_t *rows,
                                             size_t row_bytes, size_t n_rows, size_t n,
                                             const float *x, size_t x_stride, size_t n_batch,
                                             float *y, size_t y_stride) {
    float buf[4 * BATCH_CHUNK];
    __m512 acc[4][GGUFREF_MAX_BATCH];
    for (size_t r0 = 0; r0 < n_rows; r0 += 4) {
        int nr = n_rows - r0 < 4 ? (int)(n_rows - r0) : 4;
        for (int r = 0; r < nr; r++) {
            for (size_t v = 0; v < n_batch; v++) acc[r][v] = _mm512_setzero_ps();
        }
        for (size_t e = 0; e < n; e += BATCH_CHUNK) {
            size_t len = n - e < BATCH_CHUNK ? n - e : BATCH_CHUNK;
            for (int r = 0; r < nr; r++) {
                const uint8_t *row = rows + (r0 + (size_t)r) * row_bytes + e / k->block_size * k->type_size;
                k->decode(row, buf + (size_t)r * BATCH_CHUNK, len / k->block_size);
            }
            if (nr == 4) {
                batch_chunk4(buf, x + e, x_stride, n_batch, len, acc);
            } else {
                for (int r = 0; r < nr; r++) batch_chunk1(buf + (size_t)r * BATCH_CHUNK, x + e, x_stride, n_batch, len, acc[r]);
            }
        }
        for (int r = 0; r < nr; r++) {
            for (size_t v = 0; v < n_batch; v++) y[v * y_stride + r0 + (size_t)r] = reduce512(acc[r][v]);
        }
    }
}

/* o[i] = 0, then o[i] = o[i] + w[r] * v[r * stride + i] for r in order (R-NUM-024), 64
 * outputs in four registers while every row adds into them. */
GR_TARGET_AVX512 void gr_avx512_weighted_rows(float *o, const float *w, const float *v, size_t stride,
                                              size_t n_rows, size_t n) {
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (size_t r = 0; r < n_rows; r++) {
            const float *vr = v + r * stride + i;
            __m512 wr = _mm512_set1_ps(w[r]);
            a0 = _mm512_add_ps(a0, _mm512_mul_ps(wr, _mm512_loadu_ps(vr)));
            a1 = _mm512_add_ps(a1, _mm512_mul_ps(wr, _mm512_loadu_ps(vr + 16)));
            a2 = _mm512_add_ps(a2, _mm512_mul_ps(wr, _mm512_loadu_ps(vr + 32)));
            a3 = _mm512_add_ps(a3, _mm512_mul_ps(wr, _mm512_loadu_ps(vr + 48)));
        }
        _mm512_storeu_ps(o + i, a0);
        _mm512_storeu_ps(o + i + 16, a1);
        _mm512_storeu_ps(o + i + 32, a2);
        _mm512_storeu_ps(o + i + 48, a3);
    }
    for (; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1u);
        __m512 a = _mm512_setzero_ps();
        for (size_t r = 0; r < n_rows; r++) {
            a = _mm512_add_ps(a, _mm512_mul_ps(_mm512_set1_ps(w[r]), _mm512_maskz_loadu_ps(m, v + r * stride + i)));
        }
        _mm512_mask_storeu_ps(o + i, m, a);
    }
}

const gr_simd_kernels *gr_avx512_for(uint32_t type) {
#define K(T, BS, TS, EXACT) {rows512_##T, decode512_##T, BS, TS, EXACT}
    static const gr_simd_kernels table[] = {
        K(f16, 16, 32, false),  K(bf16, 16, 32, true),
        K(q4_0, 32, 18, true),  K(q4_1, 32, 20, true),  K(q5_0, 32, 22, true),
        K(q5_1, 32, 24, true),  K(q8_0, 32, 34, true),  K(q2_k, 256, 84, true),
        K(q3_k, 256, 110, true), K(q4_k, 256, 144, true), K(q5_k, 256, 176, true),
        K(q6_k, 256, 210, true),
    };
#undef K
    switch (type) {
    case GGUFREF_T_F16: return &table[0];
    case GGUFREF_T_BF16: return &table[1];
    case GGUFREF_T_Q4_0: return &table[2];
    case GGUFREF_T_Q4_1: return &table[3];
    case GGUFREF_T_Q5_0: return &table[4];
    case GGUFREF_T_Q5_1: return &table[5];
    case GGUFREF_T_Q8_0: return &table[6];
    case GGUFREF_T_Q2_K: return &table[7];
    case GGUFREF_T_Q3_K: return &table[8];
    case GGUFREF_T_Q4_K: return &table[9];
    case GGUFREF_T_Q5_K: return &table[10];
    case GGUFREF_T_Q6_K: return &table[11];
    default: return NULL;
    }
}

#endif
