/*
 * quant.c — tensor element decoders (SPEC chapter 4, R-TYPE-*) and the dot-product kernels of
 * the forward pass (R-NUM-010..012).
 *
 * Decoding. Every decoder turns one block of bytes into f32 values with the formulas of ggml's
 * dequantize_row_* (written here from the layouts, not copied), each operation an IEEE
 * binary32 operation rounded to nearest-even, in the order written (no FMA: the whole build
 * uses -ffp-contract=off). Integers are converted to f32 exactly (they are small). The block
 * layouts are drawn next to each decoder; "f16" is IEEE binary16, little-endian.
 *
 * Dot products. Every sum in the forward pass is lane-blocked (R-NUM-010): 16 partial sums,
 * element i goes to lane i mod 16 in ascending i, then the lanes are combined by the fixed tree
 * (l += l+8, l += l+4, l += l+2, l += l+1). A dot product with a quantized row is DEFINED as the
 * dot product with its decoded f32 values (R-NUM-012), so the kernels below that decode on the
 * fly (no dequantized copy of a weight ever exists) give exactly the bits of
 * gr_dot_f32(decode(row), x). The portable C kernels are the reference; the AVX2 kernels
 * (selected at run time on x86-64, same arithmetic per lane: a vector of 8 lanes is 8 scalar
 * operations) exist for speed and are tested bit-for-bit against them.
 */
#include "mathx.h"
#include "model.h"

#include <string.h>

#if !defined(GGUFREF_NO_SIMD) && defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define GR_HAVE_AVX2 1
#include <immintrin.h>
#define GR_TARGET_AVX2 __attribute__((target("avx2")))
#else
#define GR_HAVE_AVX2 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define GR_ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define GR_ALWAYS_INLINE inline
#endif

/* ===================================================================================== */
/* binary16 / bfloat16                                                                    */
/* ===================================================================================== */

static inline float f32_from_bits(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline uint32_t f32_bits(float f) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits;
}

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

/*
 * binary16: s eeeee mmmmmmmmmm. Every binary16 value is exactly representable in binary32:
 * normal numbers move the exponent bias from 15 to 127, subnormals (e = 0) are m * 2^-24
 * (computed exactly: m < 2^10 and the scale is a power of two), e = 31 is inf (m = 0) or NaN
 * with the payload shifted into the top of the binary32 mantissa (R-TYPE-002).
 */
static inline float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0x1fu) return f32_from_bits(sign | 0x7f800000u | (man << 13));
    if (exp != 0) return f32_from_bits(sign | ((exp + 112u) << 23) | (man << 13));
    float mag = (float)man * 5.9604644775390625e-8f; /* 2^-24, exact */
    return sign ? -mag : mag;
}

float ggufref_f16_to_f32(uint16_t h) { return f16_to_f32(h); }

/* bfloat16 is the top half of a binary32 (R-TYPE-003). */
float ggufref_bf16_to_f32(uint16_t h) { return f32_from_bits((uint32_t)h << 16); }

/*
 * binary32 -> binary16, round to nearest, ties to even (R-TYPE-004). |f| >= 65520 rounds to
 * inf; NaN stays NaN (quiet bit set, top payload bits kept); results below 2^-14 are binary16
 * subnormals, rounded the same way.
 */
uint16_t ggufref_f32_to_f16(float f) {
    uint32_t x = f32_bits(f);
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
    float d = f16_to_f32(rd16(blk));
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
    float d = f16_to_f32(rd16(blk));
    float m = f16_to_f32(rd16(blk + 2));
    const uint8_t *qs = blk + 4;
    for (int j = 0; j < 16; j++) {
        y[j] = (float)(qs[j] & 0x0f) * d + m;
        y[j + 16] = (float)(qs[j] >> 4) * d + m;
    }
}

/* Fifth bits of the Q5 formats: qh is a little-endian u32, bit j belongs to element j. */
static inline uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
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
    float d = f16_to_f32(rd16(blk));
    uint32_t qh = rd32(blk + 2);
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
    float d = f16_to_f32(rd16(blk));
    float m = f16_to_f32(rd16(blk + 2));
    uint32_t qh = rd32(blk + 4);
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
    float d = f16_to_f32(rd16(blk));
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
    float d = f16_to_f32(rd16(blk + 80));
    float dmin = f16_to_f32(rd16(blk + 82));
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
    float d = f16_to_f32(rd16(blk + 108));
    for (int h = 0; h < 2; h++) {
        for (int j = 0; j < 4; j++) {
            uint8_t mbit = (uint8_t)(1u << (4 * h + j));
            for (int half = 0; half < 2; half++) {
                int s = 8 * h + 2 * j + half;
                int lo4 = s < 8 ? (scales[s] & 0x0f) : (scales[s - 8] >> 4);
                int hi2 = (scales[8 + s % 4] >> (2 * (s / 4))) & 3;
                float dl = d * (float)((lo4 | (hi2 << 4)) - 32);
                for (int l = 16 * half; l < 16 * half + 16; l++) {
                    int q = ((qs[32 * h + l] >> (2 * j)) & 3) - ((hmask[l] & mbit) ? 0 : 4);
                    *y++ = dl * (float)q;
                }
            }
        }
    }
}

/*
 * The 6-bit scale and min of sub-block s (0..7) of Q4_K and Q5_K, packed in 12 bytes:
 *
 *   s < 4:  sc = scales[s] & 63,                      m = scales[s + 4] & 63
 *   s >= 4: sc = (scales[s + 4] & 15) | (scales[s - 4] >> 6) << 4,
 *           m  = (scales[s + 4] >> 4) | (scales[s] >> 6) << 4
 */
static inline void k4_scale_min(const uint8_t *scales, int s, int *sc, int *m) {
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
static inline void k4_chunk(const uint8_t *scales, int c, float d, float dmin, float k[4]) {
    for (int half = 0; half < 2; half++) {
        int sc, m;
        k4_scale_min(scales, 2 * c + half, &sc, &m);
        k[2 * half] = d * (float)sc;
        k[2 * half + 1] = dmin * (float)m;
    }
}

/*
 * Q4_K — 256 elements in 144 bytes (R-TYPE-022):
 *
 *   byte 0      2        4           16                           144
 *        +------+--------+-----------+----------------------------+
 *        | d f16|dmin f16| scales[12]| qs[128]                    |
 *        +------+--------+-----------+----------------------------+
 *   eight 32-element sub-blocks s, scale/min as k4_scale_min above.
 *
 *   element e (c = e / 64, l = e % 64, s = e / 32):
 *     q = l < 32 ? qs[32c + l] & 15 : qs[32c + l - 32] >> 4
 *     y = (d * (f32)sc_s) * (f32)q - dmin * (f32)m_s
 */
static void decode_q4_k(const uint8_t *blk, float *y) {
    float d = f16_to_f32(rd16(blk));
    float dmin = f16_to_f32(rd16(blk + 2));
    const uint8_t *scales = blk + 4;
    const uint8_t *qs = blk + 16;
    for (int c = 0; c < 4; c++) {
        float k[4];
        k4_chunk(scales, c, d, dmin, k);
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
    float d = f16_to_f32(rd16(blk));
    float dmin = f16_to_f32(rd16(blk + 2));
    const uint8_t *scales = blk + 4;
    const uint8_t *qh = blk + 16;
    const uint8_t *qs = blk + 48;
    for (int c = 0; c < 4; c++) {
        float k[4];
        k4_chunk(scales, c, d, dmin, k);
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
    float d = f16_to_f32(rd16(blk + 208));
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

/* Decode n elements (a multiple of the block size; type decodable) of src into dst. */
static void decode_run(uint32_t type, const uint8_t *src, float *dst, size_t n) {
    switch (type) {
    case GGUFREF_T_F32:
        memcpy(dst, src, n * sizeof(float));
        return;
    case GGUFREF_T_F16:
        for (size_t i = 0; i < n; i++) dst[i] = f16_to_f32(rd16(src + 2 * i));
        return;
    case GGUFREF_T_BF16:
        for (size_t i = 0; i < n; i++) dst[i] = ggufref_bf16_to_f32(rd16(src + 2 * i));
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
    decode_run(type, (const uint8_t *)src, dst, n);
    return GGUFREF_OK;
}

/* ===================================================================================== */
/* Lane-blocked reductions: portable reference kernels (R-NUM-010..012)                   */
/* ===================================================================================== */

/* Elements per decode chunk: a multiple of GR_LANES and of every block size. */
#define CHUNK 256u

/* s[l] = s[l] + a[i] * b[i] with l = i mod 16, i ascending. Precondition: the elements already
 * in s number a multiple of GR_LANES, so element 0 here goes to lane 0. */
static inline void lanes_muladd(float s[GR_LANES], const float *a, const float *b, size_t n) {
    float t[GR_LANES]; /* a local copy the compiler keeps in (vector) registers */
    memcpy(t, s, sizeof t);
    size_t i = 0;
    for (; i + GR_LANES <= n; i += GR_LANES) {
        for (size_t l = 0; l < GR_LANES; l++) t[l] = t[l] + a[i + l] * b[i + l];
    }
    for (size_t l = 0; i < n; i++, l++) t[l] = t[l] + a[i] * b[i];
    memcpy(s, t, sizeof t);
}

/* The fixed combining tree: lanes l and l + w for w = 8, 4, 2, 1; returns lane 0. */
static float lanes_reduce(float s[GR_LANES]) {
    for (size_t w = GR_LANES / 2; w >= 1; w /= 2) {
        for (size_t l = 0; l < w; l++) s[l] = s[l] + s[l + w];
    }
    return s[0];
}

static float dot_f32_portable(const float *a, const float *b, size_t n) {
    float s[GR_LANES] = {0};
    lanes_muladd(s, a, b, n);
    return lanes_reduce(s);
}

float gr_sum_f32(const float *a, size_t n) {
    float s[GR_LANES] = {0};
    size_t i = 0;
    for (; i + GR_LANES <= n; i += GR_LANES) {
        for (size_t l = 0; l < GR_LANES; l++) s[l] = s[l] + a[i + l];
    }
    for (size_t l = 0; i < n; i++, l++) s[l] = s[l] + a[i];
    return lanes_reduce(s);
}

/* Quantized row dot through a decode buffer: decode CHUNK elements at a time (decode_run),
 * accumulate each chunk into the lanes with muladd (lanes_muladd or a kernel doing the same
 * operations per lane), then combine the lanes (R-NUM-010, 012). */
static GR_ALWAYS_INLINE float row_dot_chunked(uint32_t type, const uint8_t *row, const float *x,
                                              size_t n,
                                              void (*muladd)(float *, const float *, const float *,
                                                             size_t)) {
    const ggufref_type_info *ti = ggufref_type_info_get(type);
    float s[GR_LANES] = {0};
    float buf[CHUNK];
    for (size_t i = 0; i < n; i += CHUNK) {
        size_t len = n - i < CHUNK ? n - i : CHUNK;
        decode_run(type, row + i / ti->block_size * ti->type_size, buf, len);
        muladd(s, buf, x + i, len);
    }
    return lanes_reduce(s);
}

/* Portable quantized row dot: F32 rows in place when aligned, any other through the buffer. */
float gr_row_dot_portable(uint32_t type, const uint8_t *row, const float *x, size_t n) {
    if (type == GGUFREF_T_F32 && ((uintptr_t)row & (sizeof(float) - 1)) == 0) {
        return dot_f32_portable((const float *)(const void *)row, x, n);
    }
    return row_dot_chunked(type, row, x, n, lanes_muladd);
}

/* ===================================================================================== */
/* AVX2 kernels: lanes 0-7 in one register, 8-15 in another; same operations per lane.    */
/* ===================================================================================== */

#if GR_HAVE_AVX2

static bool have_avx2(void) { return __builtin_cpu_supports("avx2"); }

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

GR_TARGET_AVX2 static float dot_f32_avx2(const float *a, const float *b, size_t n) {
    if (n % GR_LANES != 0) {
        float s[GR_LANES] = {0};
        lanes_muladd_avx2(s, a, b, n);
        return lanes_reduce(s);
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

/* Each quantized kernel below has two modes, fixed at compile time by always-inlined
 * wrappers: dot (y == NULL: acc += w * x[off..off+7]) and decode (y[off..off+7] = w, for the
 * batched matmul). Both compute w, the decoded elements, the same way. */
#define EMIT8(acc, w, off)                                                              \
    do {                                                                                \
        if (y) _mm256_storeu_ps(y + (off), (w));                                        \
        else (acc) = _mm256_add_ps((acc), _mm256_mul_ps((w), _mm256_loadu_ps(x + (off)))); \
    } while (0)

/* Q8_0: y = (f32)q * d per element (decode_q8_0), elements 0-7 / 16-23 in lanes 0-7. */
GR_TARGET_AVX2 static GR_ALWAYS_INLINE float kern_q8_0(const uint8_t *row, const float *x, float *y,
                                                 size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    for (size_t b = 0; b < n / 32; b++) {
        const uint8_t *blk = row + b * 34;
        size_t o = b * 32;
        __m256 d = _mm256_set1_ps(f16_to_f32(rd16(blk)));
        for (int k = 0; k < 32; k += 16) {
            __m256 q0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(load8(blk + 2 + k)));
            __m256 q1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(load8(blk + 2 + k + 8)));
            EMIT8(s0, _mm256_mul_ps(q0, d), o + (size_t)k);
            EMIT8(s1, _mm256_mul_ps(q1, d), o + (size_t)k + 8);
        }
    }
    return reduce_avx2(s0, s1);
}

/* Q5_0 high bits: row b holds, for bit i of the byte b, 16 * bit - 16, so that
 * q - 16 = nibble + q5_high[byte][i] (decode_q5_0). 8 KiB, a compile-time constant. */
#define Q5H(b, i) ((((b) >> (i)) & 1) * 16 - 16)
#define Q5ROW(b) {Q5H(b, 0), Q5H(b, 1), Q5H(b, 2), Q5H(b, 3), Q5H(b, 4), Q5H(b, 5), Q5H(b, 6), Q5H(b, 7)}
#define Q5X4(b) Q5ROW(b), Q5ROW(b + 1), Q5ROW(b + 2), Q5ROW(b + 3)
#define Q5X16(b) Q5X4(b), Q5X4(b + 4), Q5X4(b + 8), Q5X4(b + 12)
#define Q5X64(b) Q5X16(b), Q5X16(b + 16), Q5X16(b + 32), Q5X16(b + 48)
static const int32_t q5_high[256][8] = {Q5X64(0), Q5X64(64), Q5X64(128), Q5X64(192)};

/* Q5_0: y = (f32)(q - 16) * d (decode_q5_0). Per block: low nibbles (elements 0-15), then
 * high nibbles (16-31): ascending in every lane. */
GR_TARGET_AVX2 static GR_ALWAYS_INLINE float kern_q5_0(const uint8_t *row, const float *x, float *y,
                                                 size_t n) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    const __m256i low4 = _mm256_set1_epi32(0x0f);
    for (size_t b = 0; b < n / 32; b++) {
        const uint8_t *blk = row + b * 22;
        size_t o = b * 32;
        __m256 d = _mm256_set1_ps(f16_to_f32(rd16(blk)));
        __m256i v0 = _mm256_cvtepu8_epi32(load8(blk + 6)), v1 = _mm256_cvtepu8_epi32(load8(blk + 14));
        const __m256i *h = (const __m256i *)(const void *)q5_high[0];
        /* elements 0-7, 8-15 (low nibbles), then 16-23, 24-31 (high nibbles) */
        __m256i q0 = _mm256_add_epi32(_mm256_and_si256(v0, low4), _mm256_loadu_si256(h + blk[2]));
        __m256i q1 = _mm256_add_epi32(_mm256_and_si256(v1, low4), _mm256_loadu_si256(h + blk[3]));
        __m256i q2 = _mm256_add_epi32(_mm256_srli_epi32(v0, 4), _mm256_loadu_si256(h + blk[4]));
        __m256i q3 = _mm256_add_epi32(_mm256_srli_epi32(v1, 4), _mm256_loadu_si256(h + blk[5]));
        EMIT8(acc0, _mm256_mul_ps(_mm256_cvtepi32_ps(q0), d), o);
        EMIT8(acc1, _mm256_mul_ps(_mm256_cvtepi32_ps(q1), d), o + 8);
        EMIT8(acc0, _mm256_mul_ps(_mm256_cvtepi32_ps(q2), d), o + 16);
        EMIT8(acc1, _mm256_mul_ps(_mm256_cvtepi32_ps(q3), d), o + 24);
    }
    return reduce_avx2(acc0, acc1);
}

/* Q4_K: per 64-element chunk c, the 32 low nibbles (sub-block 2c), then the 32 high nibbles
 * (sub-block 2c + 1): ascending element order, as every lane requires. */
GR_TARGET_AVX2 static GR_ALWAYS_INLINE float kern_q4_k(const uint8_t *row, const float *x, float *y,
                                                 size_t n) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    const __m256i low4 = _mm256_set1_epi32(0x0f);
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *blk = row + b * 144;
        float d = f16_to_f32(rd16(blk));
        float dmin = f16_to_f32(rd16(blk + 2));
        const uint8_t *scales = blk + 4;
        for (int c = 0; c < 4; c++) {
            const uint8_t *q = blk + 16 + 32 * c;
            size_t o = b * 256 + 64 * (size_t)c;
            float k[4];
            k4_chunk(scales, c, d, dmin, k);
            __m256 d1 = _mm256_set1_ps(k[0]), mm1 = _mm256_set1_ps(k[1]);
            __m256 d2 = _mm256_set1_ps(k[2]), mm2 = _mm256_set1_ps(k[3]);
            __m256i v0 = _mm256_cvtepu8_epi32(load8(q)), v1 = _mm256_cvtepu8_epi32(load8(q + 8));
            __m256i v2 = _mm256_cvtepu8_epi32(load8(q + 16)), v3 = _mm256_cvtepu8_epi32(load8(q + 24));
#define Q4K_W(v, dd, mm) _mm256_sub_ps(_mm256_mul_ps((dd), _mm256_cvtepi32_ps(v)), (mm))
            /* low nibbles: elements 64c + 0..31 (sub-block 2c) */
            EMIT8(acc0, Q4K_W(_mm256_and_si256(v0, low4), d1, mm1), o);
            EMIT8(acc1, Q4K_W(_mm256_and_si256(v1, low4), d1, mm1), o + 8);
            EMIT8(acc0, Q4K_W(_mm256_and_si256(v2, low4), d1, mm1), o + 16);
            EMIT8(acc1, Q4K_W(_mm256_and_si256(v3, low4), d1, mm1), o + 24);
            /* high nibbles: elements 64c + 32..63 (sub-block 2c + 1) */
            EMIT8(acc0, Q4K_W(_mm256_srli_epi32(v0, 4), d2, mm2), o + 32);
            EMIT8(acc1, Q4K_W(_mm256_srli_epi32(v1, 4), d2, mm2), o + 40);
            EMIT8(acc0, Q4K_W(_mm256_srli_epi32(v2, 4), d2, mm2), o + 48);
            EMIT8(acc1, Q4K_W(_mm256_srli_epi32(v3, 4), d2, mm2), o + 56);
#undef Q4K_W
        }
    }
    return reduce_avx2(acc0, acc1);
}

/* Q6_K: per 128-element half h and quarter k (32 elements, sub-blocks 8h + 2k, 8h + 2k + 1),
 * y = (d * (f32)sc) * (f32)q (decode_q6_k). */
GR_TARGET_AVX2 static GR_ALWAYS_INLINE float kern_q6_k(const uint8_t *row, const float *x, float *y,
                                                 size_t n) {
    __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    const __m256i low4 = _mm256_set1_epi32(0x0f), three = _mm256_set1_epi32(3);
    const __m256i bias = _mm256_set1_epi32(32);
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *blk = row + b * 210;
        const int8_t *scales = (const int8_t *)(blk + 192);
        float d = f16_to_f32(rd16(blk + 208));
        for (int h = 0; h < 2; h++) {
            for (int k = 0; k < 4; k++) {
                const uint8_t *lo = blk + 64 * h + 32 * (k & 1);
                const uint8_t *qh = blk + 128 + 32 * h;
                size_t o = b * 256 + 128 * (size_t)h + 32 * (size_t)k;
                int shift = (k >> 1) * 4;
                __m256 da = _mm256_set1_ps(d * (float)scales[8 * h + 2 * k]);
                __m256 db = _mm256_set1_ps(d * (float)scales[8 * h + 2 * k + 1]);
                for (int l = 0; l < 32; l += 16) { /* lanes 0-7 then 8-15, twice */
                    __m256 dv = l == 0 ? da : db;
                    for (int u = 0; u < 2; u++) {
                        __m256i v = _mm256_cvtepu8_epi32(load8(lo + l + 8 * u));
                        v = _mm256_and_si256(_mm256_srli_epi32(v, shift), low4);
                        __m256i hi = _mm256_cvtepu8_epi32(load8(qh + l + 8 * u));
                        hi = _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(hi, 2 * k), three), 4);
                        __m256i q = _mm256_sub_epi32(_mm256_or_si256(v, hi), bias);
                        EMIT8(acc[u], _mm256_mul_ps(dv, _mm256_cvtepi32_ps(q)), o + (size_t)(l + 8 * u));
                    }
                }
            }
        }
    }
    return reduce_avx2(acc[0], acc[1]);
}

GR_TARGET_AVX2 static float dot_q8_0_avx2(const uint8_t *r, const float *x, size_t n) { return kern_q8_0(r, x, NULL, n); }
GR_TARGET_AVX2 static float dot_q5_0_avx2(const uint8_t *r, const float *x, size_t n) { return kern_q5_0(r, x, NULL, n); }
GR_TARGET_AVX2 static float dot_q4_k_avx2(const uint8_t *r, const float *x, size_t n) { return kern_q4_k(r, x, NULL, n); }
GR_TARGET_AVX2 static float dot_q6_k_avx2(const uint8_t *r, const float *x, size_t n) { return kern_q6_k(r, x, NULL, n); }

/* Decode one row of n elements into y with the AVX2 kernels where a type has one (the same
 * values as decode_run, R-NUM-012); false if it has none. */
GR_TARGET_AVX2 static bool decode_row_avx2(uint32_t type, const uint8_t *row, float *y, size_t n) {
    switch (type) {
    case GGUFREF_T_Q8_0: kern_q8_0(row, NULL, y, n); return true;
    case GGUFREF_T_Q5_0: kern_q5_0(row, NULL, y, n); return true;
    case GGUFREF_T_Q4_K: kern_q4_k(row, NULL, y, n); return true;
    case GGUFREF_T_Q6_K: kern_q6_k(row, NULL, y, n); return true;
    default: return false;
    }
}

GR_TARGET_AVX2 static float row_dot_avx2(uint32_t type, const uint8_t *row, const float *x,
                                         size_t n) {
    switch (type) {
    case GGUFREF_T_Q8_0: return dot_q8_0_avx2(row, x, n);
    case GGUFREF_T_Q5_0: return dot_q5_0_avx2(row, x, n);
    case GGUFREF_T_Q4_K: return dot_q4_k_avx2(row, x, n);
    case GGUFREF_T_Q6_K: return dot_q6_k_avx2(row, x, n);
    case GGUFREF_T_F32:
        /* Rows are f32-aligned in any file with alignment >= 4; otherwise go through a copy. */
        if (((uintptr_t)row & (sizeof(float) - 1)) == 0) {
            return dot_f32_avx2((const float *)(const void *)row, x, n);
        }
        break;
    default: break;
    }
    return row_dot_chunked(type, row, x, n, lanes_muladd_avx2);
}

/* One row at a time: on the machines measured, interleaving several rows' streams was slower
 * than one sequential stream (bench/bench_decode.c). */
GR_TARGET_AVX2 static void matvec_avx2(const gr_weight *w, const float *x, float *y) {
    for (size_t r = 0; r < w->n_out; r++) {
        y[r] = row_dot_avx2(w->type, w->data + r * w->row_bytes, x, w->n_in);
    }
}

GR_TARGET_AVX2 static void dot_rows_avx2(const float *q, const float *k, size_t stride,
                                         size_t n_rows, size_t n, float *out) {
    for (size_t r = 0; r < n_rows; r++) out[r] = dot_f32_avx2(q, k + r * stride, n);
}

/* gr_expf of mathx.c, step for step, on four binary64 lanes (the same IEEE operations per
 * lane, so the same bits); a group with a NaN or an argument outside [-104, 89] goes to the
 * scalar function. */
GR_TARGET_AVX2 static void expf_avx2(float *x, size_t n) {
    static const double C[14] = {
        1.0, 1.0, 1.0 / 2.0, 1.0 / 6.0, 1.0 / 24.0, 1.0 / 120.0, 1.0 / 720.0, 1.0 / 5040.0,
        1.0 / 40320.0, 1.0 / 362880.0, 1.0 / 3628800.0, 1.0 / 39916800.0, 1.0 / 479001600.0,
        1.0 / 6227020800.0,
    };
    const __m256d log2e = _mm256_set1_pd(1.4426950408889634);
    const __m256d ln2_hi = _mm256_set1_pd(6.93147180369123816490e-01);
    const __m256d ln2_lo = _mm256_set1_pd(1.90821492927058770002e-10);
    const __m256d half = _mm256_set1_pd(0.5), zero = _mm256_setzero_pd();
    const __m128 hi = _mm_set1_ps(89.0f), lo = _mm_set1_ps(-104.0f);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m128 xf = _mm_loadu_ps(x + i);
        __m128 in = _mm_and_ps(_mm_cmp_ps(xf, hi, _CMP_LE_OQ), _mm_cmp_ps(xf, lo, _CMP_GE_OQ));
        if (_mm_movemask_ps(in) != 0xf) {
            for (size_t j = i; j < i + 4; j++) x[j] = gr_expf(x[j]);
            continue;
        }
        __m256d xd = _mm256_cvtps_pd(xf);
        __m256d kd = _mm256_mul_pd(xd, log2e);
        __m256d nearest = _mm256_blendv_pd(_mm256_sub_pd(kd, half), _mm256_add_pd(kd, half),
                                           _mm256_cmp_pd(kd, zero, _CMP_GE_OQ));
        __m128i k = _mm256_cvttpd_epi32(nearest);
        __m256d kk = _mm256_cvtepi32_pd(k);
        __m256d r = _mm256_sub_pd(_mm256_sub_pd(xd, _mm256_mul_pd(kk, ln2_hi)), _mm256_mul_pd(kk, ln2_lo));
        __m256d p = _mm256_set1_pd(C[13]);
        for (int j = 12; j >= 0; j--) p = _mm256_add_pd(_mm256_mul_pd(p, r), _mm256_set1_pd(C[j]));
        __m256i e = _mm256_slli_epi64(_mm256_add_epi64(_mm256_cvtepi32_epi64(k), _mm256_set1_epi64x(1023)), 52);
        _mm_storeu_ps(x + i, _mm256_cvtpd_ps(_mm256_mul_pd(p, _mm256_castsi256_pd(e))));
    }
    for (; i < n; i++) x[i] = gr_expf(x[i]);
}

/* 32 outputs stay in four registers while every row adds into them. */
GR_TARGET_AVX2 static void weighted_rows_avx2(float *o, const float *w, const float *v,
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

#else
static bool have_avx2(void) { return false; }
#endif

/* ===================================================================================== */
/* Dispatch                                                                               */
/* ===================================================================================== */

float gr_dot_f32(const float *a, const float *b, size_t n) {
#if GR_HAVE_AVX2
    if (n >= GR_LANES && have_avx2()) return dot_f32_avx2(a, b, n);
#endif
    return dot_f32_portable(a, b, n);
}

void gr_dot_rows(const float *q, const float *k, size_t stride, size_t n_rows, size_t n,
                 float *out) {
#if GR_HAVE_AVX2
    if (n >= GR_LANES && have_avx2()) {
        dot_rows_avx2(q, k, stride, n_rows, n, out);
        return;
    }
#endif
    for (size_t r = 0; r < n_rows; r++) out[r] = dot_f32_portable(q, k + r * stride, n);
}

void gr_expf_inplace(float *x, size_t n) {
#if GR_HAVE_AVX2
    if (have_avx2()) {
        expf_avx2(x, n);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++) x[i] = gr_expf(x[i]);
}

void gr_weighted_rows(float *o, const float *w, const float *v, size_t stride, size_t n_rows,
                      size_t n) {
#if GR_HAVE_AVX2
    if (have_avx2()) {
        weighted_rows_avx2(o, w, v, stride, n_rows, n);
        return;
    }
#endif
    memset(o, 0, n * sizeof *o);
    for (size_t r = 0; r < n_rows; r++) {
        for (size_t i = 0; i < n; i++) o[i] = o[i] + w[r] * v[r * stride + i];
    }
}

float gr_row_dot(uint32_t type, const uint8_t *row, const float *x, size_t n) {
#if GR_HAVE_AVX2
    if (have_avx2()) return row_dot_avx2(type, row, x, n);
#endif
    return gr_row_dot_portable(type, row, x, n);
}

const char *gr_kernel_path(void) { return have_avx2() ? "avx2" : "portable"; }

void gr_matvec(const gr_weight *w, const float *x, float *y) {
#if GR_HAVE_AVX2
    if (have_avx2()) {
        matvec_avx2(w, x, y);
        return;
    }
#endif
    for (size_t r = 0; r < w->n_out; r++) {
        y[r] = gr_row_dot_portable(w->type, w->data + r * w->row_bytes, x, w->n_in);
    }
}

void gr_weight_row(const gr_weight *w, size_t index, float *out) {
    const uint8_t *row = w->data + index * w->row_bytes;
#if GR_HAVE_AVX2
    if (have_avx2() && decode_row_avx2(w->type, row, out, w->n_in)) return;
#endif
    decode_run(w->type, row, out, w->n_in);
}

void gr_matmul(const gr_weight *w, const float *x, size_t x_stride, size_t n_batch, float *y,
               size_t y_stride, float *row_scratch) {
    if (n_batch == 1) {
        gr_matvec(w, x, y);
        return;
    }
    for (size_t r = 0; r < w->n_out; r++) {
        /* Decode the row once; each dot then equals gr_row_dot by R-NUM-012. F32 rows are
         * used in place. */
        const float *row;
        const uint8_t *src = w->data + r * w->row_bytes;
        if (w->type == GGUFREF_T_F32 && ((uintptr_t)src & (sizeof(float) - 1)) == 0) {
            row = (const float *)(const void *)src;
        } else {
            gr_weight_row(w, r, row_scratch);
            row = row_scratch;
        }
        for (size_t b = 0; b < n_batch; b++) {
            y[b * y_stride + r] = gr_dot_f32(row, x + b * x_stride, w->n_in);
        }
    }
}
