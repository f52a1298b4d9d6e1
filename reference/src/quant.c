/*
 * quant.c — tensor element decoders (SPEC chapter 4, R-TYPE-*): binary16 / bfloat16
 * conversions and one decoder per block type. The dot-product kernels that use them are in
 * kernels.c.
 *
 * Every decoder turns one block of bytes into f32 values with the formulas of ggml's
 * dequantize_row_* (written here from the layouts, not copied), each operation an IEEE
 * binary32 operation rounded to nearest-even, in the order written (no FMA: the whole build
 * uses -ffp-contract=off). Integers are converted to f32 exactly (they are small). The block
 * layouts are drawn next to each decoder; "f16" is IEEE binary16, little-endian. The small
 * shared helpers (loads, binary16 conversion, K-quant scales) are inline in quant.h.
 */
#include "quant.h"

#include <string.h>

/* ===================================================================================== */
/* binary16 / bfloat16                                                                    */
/* ===================================================================================== */

/* binary16 by R-TYPE-002 (gr_f16_to_f32 in quant.h). */
float ggufref_f16_to_f32(uint16_t h) { return gr_f16_to_f32(h); }

/* bfloat16 is the top half of a binary32 (R-TYPE-003). */
float ggufref_bf16_to_f32(uint16_t h) { return gr_f32_from_bits((uint32_t)h << 16); }

/*
 * binary32 -> binary16, round to nearest, ties to even (R-TYPE-004). |f| >= 65520 rounds to
 * inf; NaN stays NaN (quiet bit set, top payload bits kept); results below 2^-14 are binary16
 * subnormals, rounded the same way.
 */
uint16_t ggufref_f32_to_f16(float f) {
    uint32_t x = gr_f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* >= 65520 (and inf) */
    if (ax >= 0x38800000u) {                                 /* >= 2^-14: normal */
        uint32_t h = ax - (112u << 23);                      /* rebias, 13 extra bits */
        h = (h + 0xfffu + ((h >> 13) & 1u)) >> 13;           /* RNE; carry may bump exp */
        return (uint16_t)(sign | h);
    }
    if (ax <= 0x33000000u) return sign; /* <= 2^-25: ties to even go to 0 */
    uint32_t m = (ax & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126u - (ax >> 23); /* 14..24 */
    uint32_t r = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1u);
    uint32_t half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (r & 1u))) r++;
    return (uint16_t)(sign | r);
}

/* ===================================================================================== */
/* Block decoders. Each writes block_size floats to y.                                    */
/* ===================================================================================== */

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
static void decode_q4_0(const uint8_t *blk, float *y) {
    float d = gr_f16_to_f32(gr_rd16(blk));
    const uint8_t *qs = blk + 2;
    for (int j = 0; j < 16; j++) {
        y[j] = (float)((qs[j] & 0x0f) - 8) * d;
        y[j + 16] = (float)((qs[j] >> 4) - 8) * d;
    }
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
static void decode_q4_1(const uint8_t *blk, float *y) {
    float d = gr_f16_to_f32(gr_rd16(blk));
    float m = gr_f16_to_f32(gr_rd16(blk + 2));
    const uint8_t *qs = blk + 4;
    for (int j = 0; j < 16; j++) {
        y[j] = (float)(qs[j] & 0x0f) * d + m;
        y[j + 16] = (float)(qs[j] >> 4) * d + m;
    }
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
static void decode_q5_0(const uint8_t *blk, float *y) {
    float d = gr_f16_to_f32(gr_rd16(blk));
    uint32_t qh = gr_rd32(blk + 2);
    const uint8_t *qs = blk + 6;
    for (int j = 0; j < 16; j++) {
        int q0 = (qs[j] & 0x0f) | (int)(((qh >> j) & 1u) << 4);
        int q1 = (qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1u) << 4);
        y[j] = (float)(q0 - 16) * d;
        y[j + 16] = (float)(q1 - 16) * d;
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
static void decode_q5_1(const uint8_t *blk, float *y) {
    float d = gr_f16_to_f32(gr_rd16(blk));
    float m = gr_f16_to_f32(gr_rd16(blk + 2));
    uint32_t qh = gr_rd32(blk + 4);
    const uint8_t *qs = blk + 8;
    for (int j = 0; j < 16; j++) {
        int q0 = (qs[j] & 0x0f) | (int)(((qh >> j) & 1u) << 4);
        int q1 = (qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1u) << 4);
        y[j] = (float)q0 * d + m;
        y[j + 16] = (float)q1 * d + m;
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
static void decode_q8_0(const uint8_t *blk, float *y) {
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
static void decode_q2_k(const uint8_t *blk, float *y) {
    const uint8_t *scales = blk;
    const uint8_t *qs = blk + 16;
    float d = gr_f16_to_f32(gr_rd16(blk + 80));
    float dmin = gr_f16_to_f32(gr_rd16(blk + 82));
    for (int h = 0; h < 2; h++) {
        for (int j = 0; j < 4; j++) {
            for (int half = 0; half < 2; half++) {
                uint8_t sc = scales[8 * h + 2 * j + half];
                float dl = d * (float)(sc & 0x0f);
                float ml = dmin * (float)(sc >> 4);
                const uint8_t *q = qs + 32 * h + 16 * half;
                for (int l = 0; l < 16; l++) *y++ = dl * (float)((q[l] >> (2 * j)) & 3) - ml;
            }
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
 *   sixteen 6-bit scales packed in 12 bytes, for sub-block s = 0..15:
 *     lo4 = s < 8 ? scales[s] & 15 : scales[s - 8] >> 4
 *     hi2 = (scales[8 + s % 4] >> (2 * (s / 4))) & 3
 *     sc_s = (lo4 | hi2 << 4) - 32                       (in -32..31)
 *
 *   element e (h = e / 128, j = (e % 128) / 32, l = e % 32, s = 8h + 2j + (l >= 16)):
 *     q = ((qs[32h + l] >> 2j) & 3) - (hmask[l] bit (4h + j) set ? 0 : 4)     (in -4..3)
 *     y = (d * (f32)sc_s) * (f32)q
 */
static void decode_q3_k(const uint8_t *blk, float *y) {
    const uint8_t *hmask = blk;
    const uint8_t *qs = blk + 32;
    const uint8_t *scales = blk + 96;
    float d = gr_f16_to_f32(gr_rd16(blk + 108));
    for (int h = 0; h < 2; h++) {
        for (int j = 0; j < 4; j++) {
            uint8_t mbit = (uint8_t)(1u << (4 * h + j));
            for (int half = 0; half < 2; half++) {
                int s = 8 * h + 2 * j + half;
                float dl = d * (float)gr_q3k_scale(scales, s);
                for (int l = 16 * half; l < 16 * half + 16; l++) {
                    int q = ((qs[32 * h + l] >> (2 * j)) & 3) - ((hmask[l] & mbit) ? 0 : 4);
                    *y++ = dl * (float)q;
                }
            }
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
 *   eight 32-element sub-blocks s, scale/min by gr_k4_scale_min (quant.h).
 *
 *   element e (c = e / 64, l = e % 64, s = e / 32):
 *     q = l < 32 ? qs[32c + l] & 15 : qs[32c + l - 32] >> 4
 *     y = (d * (f32)sc_s) * (f32)q - dmin * (f32)m_s
 */
static void decode_q4_k(const uint8_t *blk, float *y) {
    float d = gr_f16_to_f32(gr_rd16(blk));
    float dmin = gr_f16_to_f32(gr_rd16(blk + 2));
    const uint8_t *scales = blk + 4;
    const uint8_t *qs = blk + 16;
    for (int c = 0; c < 4; c++) {
        float k[4];
        gr_k4_chunk(scales, c, d, dmin, k);
        const uint8_t *q = qs + 32 * c;
        for (int l = 0; l < 32; l++) *y++ = k[0] * (float)(q[l] & 0x0f) - k[1];
        for (int l = 0; l < 32; l++) *y++ = k[2] * (float)(q[l] >> 4) - k[3];
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
static void decode_q5_k(const uint8_t *blk, float *y) {
    float d = gr_f16_to_f32(gr_rd16(blk));
    float dmin = gr_f16_to_f32(gr_rd16(blk + 2));
    const uint8_t *scales = blk + 4;
    const uint8_t *qh = blk + 16;
    const uint8_t *qs = blk + 48;
    for (int c = 0; c < 4; c++) {
        float k[4];
        gr_k4_chunk(scales, c, d, dmin, k);
        const uint8_t *q = qs + 32 * c;
        uint8_t u1 = (uint8_t)(1u << (2 * c)), u2 = (uint8_t)(2u << (2 * c));
        for (int l = 0; l < 32; l++) {
            *y++ = k[0] * (float)((q[l] & 0x0f) + ((qh[l] & u1) ? 16 : 0)) - k[1];
        }
        for (int l = 0; l < 32; l++) {
            *y++ = k[2] * (float)((q[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - k[3];
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
static void decode_q6_k(const uint8_t *blk, float *y) {
    const uint8_t *ql = blk;
    const uint8_t *qh = blk + 128;
    const int8_t *scales = (const int8_t *)(blk + 192);
    float d = gr_f16_to_f32(gr_rd16(blk + 208));
    for (int h = 0; h < 2; h++) {
        for (int k = 0; k < 4; k++) {
            const uint8_t *lo = ql + 64 * h + 32 * (k & 1);
            int shift = (k >> 1) * 4;
            for (int l = 0; l < 32; l++) {
                int s = 8 * h + 2 * k + l / 16;
                int q = (((lo[l] >> shift) & 0x0f) | (((qh[32 * h + l] >> (2 * k)) & 3) << 4)) - 32;
                y[128 * h + 32 * k + l] = (d * (float)scales[s]) * (float)q;
            }
        }
    }
}

/* Decoder table: one entry per decodable block type. F32/F16/BF16 are handled element-wise. */
typedef void (*block_decoder)(const uint8_t *blk, float *y);

static block_decoder decoder_for(uint32_t type) {
    switch (type) {
    case GGUFREF_T_Q4_0: return decode_q4_0;
    case GGUFREF_T_Q4_1: return decode_q4_1;
    case GGUFREF_T_Q5_0: return decode_q5_0;
    case GGUFREF_T_Q5_1: return decode_q5_1;
    case GGUFREF_T_Q8_0: return decode_q8_0;
    case GGUFREF_T_Q2_K: return decode_q2_k;
    case GGUFREF_T_Q3_K: return decode_q3_k;
    case GGUFREF_T_Q4_K: return decode_q4_k;
    case GGUFREF_T_Q5_K: return decode_q5_k;
    case GGUFREF_T_Q6_K: return decode_q6_k;
    default: return NULL;
    }
}

void gr_decode_run(uint32_t type, const uint8_t *src, float *dst, size_t n) {
    switch (type) {
    case GGUFREF_T_F32:
        memcpy(dst, src, n * sizeof(float));
        return;
    case GGUFREF_T_F16:
        for (size_t i = 0; i < n; i++) dst[i] = gr_f16_to_f32(gr_rd16(src + 2 * i));
        return;
    case GGUFREF_T_BF16:
        for (size_t i = 0; i < n; i++) dst[i] = ggufref_bf16_to_f32(gr_rd16(src + 2 * i));
        return;
    default: break;
    }
    const ggufref_type_info *ti = ggufref_type_info_get(type);
    block_decoder decode = decoder_for(type);
    for (size_t b = 0; b < n / ti->block_size; b++) {
        decode(src + b * ti->type_size, dst + b * ti->block_size);
    }
}

static bool type_decodable(uint32_t type) {
    const ggufref_type_info *ti = ggufref_type_info_get(type);
    if (ti == NULL || !ti->can_decode) return false;
    return type == GGUFREF_T_F32 || type == GGUFREF_T_F16 || type == GGUFREF_T_BF16 ||
           decoder_for(type) != NULL;
}

ggufref_status ggufref_dequantize(uint32_t type, const void *src, float *dst, size_t n) {
    if (!type_decodable(type)) return GGUFREF_ERR_INVALID_ARGUMENT;
    const ggufref_type_info *ti = ggufref_type_info_get(type);
    if (n % ti->block_size != 0 || (n > 0 && (src == NULL || dst == NULL))) {
        return GGUFREF_ERR_INVALID_ARGUMENT;
    }
    if (n == 0) return GGUFREF_OK;
    gr_decode_run(type, (const uint8_t *)src, dst, n);
    return GGUFREF_OK;
}
