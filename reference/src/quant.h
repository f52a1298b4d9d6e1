/*
 * quant.h — the tensor element decoders of quant.c (SPEC chapter 4, R-TYPE-*), for the
 * dot-product kernels (kernels.c) that decode on the fly. Not installed, not public.
 *
 * The small helpers are inline here (one implementation, used by the block decoders and by
 * the kernels that decode a block straight into their lanes): little-endian loads, the exact
 * binary16 -> binary32 conversion (R-TYPE-002) and the 6-bit scales of Q4_K / Q5_K; and the
 * block decoders themselves (gr_decode_T, each layout drawn beside its decoder), inline so
 * that the portable kernels decode a block into a local buffer without a call.
 */
#ifndef GGUFREF_QUANT_H
#define GGUFREF_QUANT_H

#include "internal.h"

#include <string.h>

static inline float gr_f32_from_bits(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline uint32_t gr_f32_bits(float f) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits;
}

static inline uint16_t gr_rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static inline uint32_t gr_rd32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/*
 * binary16: s eeeee mmmmmmmmmm. Every binary16 value is exactly representable in binary32
 * (R-TYPE-002). Without branches (so that loops over it vectorize): the 15 bits e|m moved up
 * 13 are the binary32 bits of the same value times 2^-112 (for subnormals, e = 0, too: m * 2^-136,
 * a binary32 subnormal), so one multiplication by 2^112 (exact: a power of two, no rounding and
 * no underflow) gives the magnitude. For e = 31 that is 2^16 * 1.m (exponent field 143, bits
 * 0x47800000 | m << 13): setting every exponent bit (a mask for e = 31) gives 0x7f800000 |
 * m << 13, inf or NaN with the payload at the top of the binary32 mantissa, a signalling NaN
 * staying signalling. Then the sign.
 */
static inline float gr_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t em = (uint32_t)(h & 0x7fffu) << 13;
    uint32_t mag = gr_f32_bits(gr_f32_from_bits(em) * 0x1p112f);
    uint32_t special = 0u - (uint32_t)((h & 0x7c00u) == 0x7c00u); /* all ones for e = 31 */
    return gr_f32_from_bits(sign | mag | (special & 0x7f800000u));
}

/*
 * The 6-bit scale and min of sub-block s (0..7) of Q4_K and Q5_K, packed in 12 bytes:
 *
 *   s < 4:  sc = scales[s] & 63,                      m = scales[s + 4] & 63
 *   s >= 4: sc = (scales[s + 4] & 15) | (scales[s - 4] >> 6) << 4,
 *           m  = (scales[s + 4] >> 4) | (scales[s] >> 6) << 4
 */
static inline void gr_k4_scale_min(const uint8_t *scales, int s, int *sc, int *m) {
    if (s < 4) {
        *sc = scales[s] & 63;
        *m = scales[s + 4] & 63;
    } else {
        *sc = (scales[s + 4] & 0x0f) | ((scales[s - 4] >> 6) << 4);
        *m = (scales[s + 4] >> 4) | ((scales[s] >> 6) << 4);
    }
}

/* The multipliers of the two sub-blocks 2c and 2c + 1 of Q4_K / Q5_K chunk c:
 * dN = d * (f32)sc, mN = dmin * (f32)m. OUT: k[0..3] = d1, m1, d2, m2. */
static inline void gr_k4_chunk(const uint8_t *scales, int c, float d, float dmin, float k[4]) {
    for (int half = 0; half < 2; half++) {
        int sc, m;
        gr_k4_scale_min(scales, 2 * c + half, &sc, &m);
        k[2 * half] = d * (float)sc;
        k[2 * half + 1] = dmin * (float)m;
    }
}

/* The 6-bit scale of Q3_K sub-block s (0..15), -32..31 (R-TYPE-021). */
static inline int gr_q3k_scale(const uint8_t *scales, int s) {
    int lo4 = s < 8 ? (scales[s] & 0x0f) : (scales[s - 8] >> 4);
    int hi2 = (scales[8 + s % 4] >> (2 * (s / 4))) & 3;
    return (lo4 | (hi2 << 4)) - 32;
}

/* ===================================================================================== */
/* Block decoders (R-TYPE-010..024), inline: ggufref_dequantize (quant.c) and the portable  */
/* kernels (kernels.c), which decode a block straight into a local buffer, use these.      */
/* ===================================================================================== */

/*
 * Each gr_decode_T(blk, y) writes the block_size floats of one block to y, with the formulas of
 * ggml's dequantize_row_* (written here from the layouts, not copied), each operation an IEEE
 * binary32 operation rounded to nearest-even, in the order written (no FMA: the whole build
 * uses -ffp-contract=off). Integers are converted to f32 exactly (they are small).
 *
 * Written so that gcc and clang vectorize them at -O2 on any target (the portable C path runs
 * on ARM, POWER, RISC-V and wasm32 without SIMD too): every loop has a trip count of 16 or 32
 * known at compile time, no branch (a choice between two constants becomes a mask), no shift
 * by the loop index (SSE2 has no per-lane shift) and where possible shifts by constants (x86
 * has no byte shift: a variable one costs an unpack and a pack), the scales of a sub-block
 * computed once before its loop, and y does not alias blk (restrict). The same integers and
 * the same binary32 operations as the per-element formulas of SPEC chapter 4, hence the same
 * bits (torture_quant compares with a transcription).
 */

/* F16 (R-TYPE-002): 16 elements, 32 bytes. */
static inline void gr_decode_f16x16(const uint8_t *restrict p, float *restrict y) {
    for (int l = 0; l < 16; l++) y[l] = gr_f16_to_f32(gr_rd16(p + 2 * l));
}

/* BF16 (R-TYPE-003): 16 elements, 32 bytes, each the top half of a binary32. Under clang on a
 * little-endian host the 16 u16 are copied first: clang vectorizes that and not the byte
 * loads (3x faster); gcc vectorizes the byte loads, and is a sixth slower with the copy. */
static inline void gr_decode_bf16x16(const uint8_t *restrict p, float *restrict y) {
    uint16_t h[16];
#if defined(__clang__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(h, p, sizeof h);
#else
    for (int l = 0; l < 16; l++) h[l] = gr_rd16(p + 2 * l);
#endif
    for (int l = 0; l < 16; l++) y[l] = gr_f32_from_bits((uint32_t)h[l] << 16);
}

/* F32 (R-TYPE-005): 16 elements, 64 bytes, used as stored (memcpy: any alignment). */
static inline void gr_decode_f32x16(const uint8_t *restrict p, float *restrict y) {
    memcpy(y, p, 16 * sizeof(float));
}

/*
 * Q4_0 — 32 elements in 18 bytes (R-TYPE-010):
 *
 *   byte 0      2                                  18
 *        +------+----------------------------------+
 *        | d f16| qs[16]: lo nibble = element j,    |
 *        |      |         hi nibble = element j+16  |
 *        +------+----------------------------------+
 *
 *   y[j] = (f32)((qs[j] & 15) - 8) * d,  y[j+16] = (f32)((qs[j] >> 4) - 8) * d
 */
static inline void gr_decode_q4_0(const uint8_t *restrict blk, float *restrict y) {
    float d = gr_f16_to_f32(gr_rd16(blk));
    const uint8_t *qs = blk + 2;
    for (int j = 0; j < 16; j++) y[j] = (float)((qs[j] & 0x0f) - 8) * d;
    for (int j = 0; j < 16; j++) y[j + 16] = (float)((qs[j] >> 4) - 8) * d;
}

/*
 * Q4_1 — 32 elements in 20 bytes (R-TYPE-011):
 *
 *   byte 0      2      4                           20
 *        +------+------+---------------------------+
 *        | d f16| m f16| qs[16] (nibbles as Q4_0)  |
 *        +------+------+---------------------------+
 *
 *   y[j] = (f32)(qs[j] & 15) * d + m,  y[j+16] = (f32)(qs[j] >> 4) * d + m
 */
static inline void gr_decode_q4_1(const uint8_t *restrict blk, float *restrict y) {
    float d = gr_f16_to_f32(gr_rd16(blk));
    float m = gr_f16_to_f32(gr_rd16(blk + 2));
    const uint8_t *qs = blk + 4;
    for (int j = 0; j < 16; j++) y[j] = (float)(qs[j] & 0x0f) * d + m;
    for (int j = 0; j < 16; j++) y[j + 16] = (float)(qs[j] >> 4) * d + m;
}

/* Bit j of a u32 (j < 32), for the fifth bits of Q5_0 / Q5_1: tested with a mask from this
 * table, not a shift by j (which does not vectorize on SSE2). */
static inline uint32_t gr_bit32(int j) {
    static const uint32_t bit[32] = {
        1u << 0,  1u << 1,  1u << 2,  1u << 3,  1u << 4,  1u << 5,  1u << 6,  1u << 7,
        1u << 8,  1u << 9,  1u << 10, 1u << 11, 1u << 12, 1u << 13, 1u << 14, 1u << 15,
        1u << 16, 1u << 17, 1u << 18, 1u << 19, 1u << 20, 1u << 21, 1u << 22, 1u << 23,
        1u << 24, 1u << 25, 1u << 26, 1u << 27, 1u << 28, 1u << 29, 1u << 30, 1u << 31};
    return bit[j];
}

/*
 * Q5_0 — 32 elements in 22 bytes (R-TYPE-012):
 *
 *   byte 0      2            6                     22
 *        +------+------------+---------------------+
 *        | d f16| qh u32 LE  | qs[16] (as Q4_0)     |
 *        +------+------------+---------------------+
 *   qh bit j = 5th bit of element j (j = 0..31)
 *
 *   q_j = (qs[j] & 15) | ((qh >> j) & 1) << 4,  q_{j+16} = (qs[j] >> 4) | ((qh >> (j+16)) & 1) << 4
 *   y = (f32)(q - 16) * d
 */
static inline void gr_decode_q5_0(const uint8_t *restrict blk, float *restrict y) {
    float d = gr_f16_to_f32(gr_rd16(blk));
    uint32_t qh = gr_rd32(blk + 2);
    const uint8_t *qs = blk + 6;
    for (int j = 0; j < 16; j++) {
        y[j] = (float)(((qs[j] & 0x0f) | ((qh & gr_bit32(j)) ? 16 : 0)) - 16) * d;
    }
    for (int j = 0; j < 16; j++) {
        y[j + 16] = (float)(((qs[j] >> 4) | ((qh & gr_bit32(j + 16)) ? 16 : 0)) - 16) * d;
    }
}

/*
 * Q5_1 — 32 elements in 24 bytes (R-TYPE-013):
 *
 *   byte 0      2      4            8              24
 *        +------+------+------------+--------------+
 *        | d f16| m f16| qh u32 LE  | qs[16]       |
 *        +------+------+------------+--------------+
 *
 *   q as Q5_0;  y = (f32)q * d + m
 */
static inline void gr_decode_q5_1(const uint8_t *restrict blk, float *restrict y) {
    float d = gr_f16_to_f32(gr_rd16(blk));
    float m = gr_f16_to_f32(gr_rd16(blk + 2));
    uint32_t qh = gr_rd32(blk + 4);
    const uint8_t *qs = blk + 8;
    for (int j = 0; j < 16; j++) {
        y[j] = (float)((qs[j] & 0x0f) | ((qh & gr_bit32(j)) ? 16 : 0)) * d + m;
    }
    for (int j = 0; j < 16; j++) {
        y[j + 16] = (float)((qs[j] >> 4) | ((qh & gr_bit32(j + 16)) ? 16 : 0)) * d + m;
    }
}

/*
 * Q8_0 — 32 elements in 34 bytes (R-TYPE-014):
 *
 *   byte 0      2                                  34
 *        +------+----------------------------------+
 *        | d f16| qs[32]: i8, element j             |
 *        +------+----------------------------------+
 *
 *   y[j] = (f32)qs[j] * d      (exact: 11 x 8 significant bits)
 */
static inline void gr_decode_q8_0(const uint8_t *restrict blk, float *restrict y) {
    float d = gr_f16_to_f32(gr_rd16(blk));
    for (int j = 0; j < 32; j++) y[j] = (float)(int8_t)blk[2 + j] * d;
}

/*
 * Q2_K — 256 elements in 84 bytes (R-TYPE-020):
 *
 *   byte 0            16                     80      82       84
 *        +------------+----------------------+-------+--------+
 *        | scales[16] | qs[64]               | d f16 | dmin f16|
 *        +------------+----------------------+-------+--------+
 *   scales[s]: lo nibble = scale, hi nibble = min of 16-element sub-block s
 *
 *   element e (h = e / 128, j = (e % 128) / 32, l = e % 32, s = 8h + 2j + (l >= 16)):
 *     q = (qs[32h + l] >> 2j) & 3
 *     y = (d * (f32)(scales[s] & 15)) * (f32)q - dmin * (f32)(scales[s] >> 4)
 */
static inline void gr_decode_q2_k(const uint8_t *restrict blk, float *restrict y) {
    const uint8_t *scales = blk, *qs = blk + 16;
    float d = gr_f16_to_f32(gr_rd16(blk + 80));
    float dmin = gr_f16_to_f32(gr_rd16(blk + 82));
    for (int g = 0; g < 4; g++) { /* h = g / 2, l from 16 (g % 2): the four planes j at once */
        int h = g / 2, l0 = 16 * (g % 2), s = 8 * h + g % 2; /* sub-block of plane j: s + 2j */
        float dl[4], ml[4];
        for (int j = 0; j < 4; j++) {
            dl[j] = d * (float)(scales[s + 2 * j] & 0x0f);
            ml[j] = dmin * (float)(scales[s + 2 * j] >> 4);
        }
        const uint8_t *q = qs + 32 * h + l0;
        float *yg = y + 128 * h + l0;
        for (int l = 0; l < 16; l++) { /* shifts by constants: cheap on every vector unit */
            yg[l] = dl[0] * (float)(q[l] & 3) - ml[0];
            yg[32 + l] = dl[1] * (float)((q[l] >> 2) & 3) - ml[1];
            yg[64 + l] = dl[2] * (float)((q[l] >> 4) & 3) - ml[2];
            yg[96 + l] = dl[3] * (float)(q[l] >> 6) - ml[3];
        }
    }
}

/*
 * Q3_K — 256 elements in 110 bytes (R-TYPE-021):
 *
 *   byte 0          32                  96          108     110
 *        +----------+-------------------+-----------+-------+
 *        | hmask[32]| qs[64]            | scales[12]| d f16 |
 *        +----------+-------------------+-----------+-------+
 *   sixteen 6-bit scales packed in 12 bytes, for sub-block s = 0..15 (gr_q3k_scale):
 *     lo4 = s < 8 ? scales[s] & 15 : scales[s - 8] >> 4
 *     hi2 = (scales[8 + s % 4] >> (2 * (s / 4))) & 3
 *     sc_s = (lo4 | hi2 << 4) - 32                       (in -32..31)
 *
 *   element e (h = e / 128, j = (e % 128) / 32, l = e % 32, s = 8h + 2j + (l >= 16)):
 *     q = ((qs[32h + l] >> 2j) & 3) - (hmask[l] bit (4h + j) set ? 0 : 4)     (in -4..3)
 *     y = (d * (f32)sc_s) * (f32)q
 *   (the four planes j of 16 qs bytes at once: shifts by constants, the hmask bits by masks)
 */
static inline void gr_decode_q3_k(const uint8_t *restrict blk, float *restrict y) {
    const uint8_t *hmask = blk, *qs = blk + 32, *scales = blk + 96;
    float d = gr_f16_to_f32(gr_rd16(blk + 108));
    for (int g = 0; g < 4; g++) { /* h = g / 2, l from 16 (g % 2): the four planes j at once */
        int h = g / 2, l0 = 16 * (g % 2), s = 8 * h + g % 2; /* sub-block of plane j: s + 2j */
        float dl[4];
        uint8_t bit[4]; /* the hmask bit of plane j: 4h + j */
        for (int j = 0; j < 4; j++) {
            dl[j] = d * (float)gr_q3k_scale(scales, s + 2 * j);
            bit[j] = (uint8_t)(1u << (4 * h + j));
        }
        const uint8_t *q = qs + 32 * h + l0, *m = hmask + l0;
        float *yg = y + 128 * h + l0;
        for (int l = 0; l < 16; l++) { /* shifts by constants, the hmask bits by masks */
            yg[l] = dl[0] * (float)((q[l] & 3) - ((m[l] & bit[0]) ? 0 : 4));
            yg[32 + l] = dl[1] * (float)(((q[l] >> 2) & 3) - ((m[l] & bit[1]) ? 0 : 4));
            yg[64 + l] = dl[2] * (float)(((q[l] >> 4) & 3) - ((m[l] & bit[2]) ? 0 : 4));
            yg[96 + l] = dl[3] * (float)((q[l] >> 6) - ((m[l] & bit[3]) ? 0 : 4));
        }
    }
}

/*
 * Q4_K — 256 elements in 144 bytes (R-TYPE-022):
 *
 *   byte 0      2        4           16                           144
 *        +------+--------+-----------+----------------------------+
 *        | d f16|dmin f16| scales[12]| qs[128]                    |
 *        +------+--------+-----------+----------------------------+
 *   eight 32-element sub-blocks s, scale/min by gr_k4_scale_min.
 *
 *   element e (c = e / 64, l = e % 64, s = e / 32):
 *     q = l < 32 ? qs[32c + l] & 15 : qs[32c + l - 32] >> 4
 *     y = (d * (f32)sc_s) * (f32)q - dmin * (f32)m_s
 */
static inline void gr_decode_q4_k(const uint8_t *restrict blk, float *restrict y) {
    float d = gr_f16_to_f32(gr_rd16(blk));
    float dmin = gr_f16_to_f32(gr_rd16(blk + 2));
    const uint8_t *scales = blk + 4, *qs = blk + 16;
    for (int c = 0; c < 4; c++) {
        float k[4];
        gr_k4_chunk(scales, c, d, dmin, k);
        const uint8_t *q = qs + 32 * c;
        float *yc = y + 64 * c;
        for (int l = 0; l < 32; l++) yc[l] = k[0] * (float)(q[l] & 0x0f) - k[1];
        for (int l = 0; l < 32; l++) yc[32 + l] = k[2] * (float)(q[l] >> 4) - k[3];
    }
}

/*
 * Q5_K — 256 elements in 176 bytes (R-TYPE-023):
 *
 *   byte 0      2        4           16         48                 176
 *        +------+--------+-----------+----------+------------------+
 *        | d f16|dmin f16| scales[12]| qh[32]   | qs[128]          |
 *        +------+--------+-----------+----------+------------------+
 *
 *   element e (c = e / 64, l = e % 64, s = e / 32):
 *     q = (l < 32 ? qs[32c + l] & 15 : qs[32c + l - 32] >> 4) + (qh[l % 32] bit s set ? 16 : 0)
 *     y = (d * (f32)sc_s) * (f32)q - dmin * (f32)m_s
 */
static inline void gr_decode_q5_k(const uint8_t *restrict blk, float *restrict y) {
    float d = gr_f16_to_f32(gr_rd16(blk));
    float dmin = gr_f16_to_f32(gr_rd16(blk + 2));
    const uint8_t *scales = blk + 4, *qh = blk + 16, *qs = blk + 48;
    for (int c = 0; c < 4; c++) {
        float k[4];
        gr_k4_chunk(scales, c, d, dmin, k);
        const uint8_t *q = qs + 32 * c;
        float *yc = y + 64 * c;
        /* the qh bits of sub-blocks 2c (low nibbles) and 2c + 1 (high), tested by masks */
        uint8_t b1 = (uint8_t)(1u << (2 * c)), b2 = (uint8_t)(2u << (2 * c));
        for (int l = 0; l < 32; l++) {
            yc[l] = k[0] * (float)((q[l] & 0x0f) + ((qh[l] & b1) ? 16 : 0)) - k[1];
        }
        for (int l = 0; l < 32; l++) {
            yc[32 + l] = k[2] * (float)((q[l] >> 4) + ((qh[l] & b2) ? 16 : 0)) - k[3];
        }
    }
}

/*
 * Q6_K — 256 elements in 210 bytes (R-TYPE-024):
 *
 *   byte 0                  128           192          208     210
 *        +------------------+-------------+------------+-------+
 *        | ql[128]          | qh[64]      | scales[16] | d f16 |
 *        +------------------+-------------+------------+-------+
 *   scales: i8, one per 16-element sub-block
 *
 *   element e (h = e / 128, k = (e % 128) / 32, l = e % 32, s = 8h + 2k + l / 16):
 *     lo4: k = 0: ql[64h + l] & 15      k = 1: ql[64h + l + 32] & 15
 *       k = 2: ql[64h + l] >> 4      k = 3: ql[64h + l + 32] >> 4
 *     hi2 = (qh[32h + l] >> 2k) & 3
 *     q = (lo4 | hi2 << 4) - 32                                            (in -32..31)
 *     y = (d * (f32)scales[s]) * (f32)q
 */
static inline void gr_decode_q6_k(const uint8_t *restrict blk, float *restrict y) {
    const uint8_t *ql = blk, *qh = blk + 128;
    const int8_t *scales = (const int8_t *)(blk + 192);
    float d = gr_f16_to_f32(gr_rd16(blk + 208));
    for (int g = 0; g < 4; g++) { /* h = g / 2, l from 16 (g % 2): the four quarters k at once */
        int h = g / 2, l0 = 16 * (g % 2), s = 8 * h + g % 2; /* sub-block of quarter k: s + 2k */
        float d0 = d * (float)scales[s], d1 = d * (float)scales[s + 2];
        float d2 = d * (float)scales[s + 4], d3 = d * (float)scales[s + 6];
        const uint8_t *lo = ql + 64 * h + l0, *hi = qh + 32 * h + l0;
        float *yg = y + 128 * h + l0;
        for (int l = 0; l < 16; l++) { /* shifts by constants: cheap on every vector unit */
            yg[l] = d0 * (float)(((lo[l] & 0x0f) | ((hi[l] & 3) << 4)) - 32);
            yg[32 + l] = d1 * (float)(((lo[32 + l] & 0x0f) | (((hi[l] >> 2) & 3) << 4)) - 32);
            yg[64 + l] = d2 * (float)(((lo[l] >> 4) | (((hi[l] >> 4) & 3) << 4)) - 32);
            yg[96 + l] = d3 * (float)(((lo[32 + l] >> 4) | (((hi[l] >> 6) & 3) << 4)) - 32);
        }
    }
}

/* Decode n elements (a multiple of the type's block size; type decodable: F32, F16, BF16 or a
 * block type with a decoder) of src into dst, by R-TYPE-*. OUT: dst (n floats). */
void gr_decode_run(uint32_t type, const uint8_t *src, float *dst, size_t n);

#endif
