/*
 * quant.h — the tensor element decoders of quant.c (SPEC chapter 4, R-TYPE-*), for the
 * dot-product kernels (kernels.c) that decode on the fly. Not installed, not public.
 *
 * The small helpers are inline here (one implementation, used by the block decoders and by
 * the kernels that decode a block straight into their lanes): little-endian loads, the exact
 * binary16 -> binary32 conversion (R-TYPE-002) and the 6-bit scales of Q4_K / Q5_K.
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
 * no underflow) gives the magnitude; e = 31 (inf, NaN with the payload at the top of the
 * binary32 mantissa, a signalling NaN staying signalling) takes the bits 0x7f800000 | m << 13
 * instead, selected by a mask; then the sign.
 */
static inline float gr_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t em = (uint32_t)(h & 0x7fffu) << 13;
    uint32_t mag = gr_f32_bits(gr_f32_from_bits(em) * 0x1p112f);
    uint32_t special = 0u - (uint32_t)((h & 0x7c00u) == 0x7c00u); /* all ones for e = 31 */
    return gr_f32_from_bits(sign | (mag & ~special) | ((0x7f800000u | em) & special));
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

/* Decode n elements (a multiple of the type's block size; type decodable: F32, F16, BF16 or a
 * block type with a decoder) of src into dst, by R-TYPE-*. OUT: dst (n floats). */
void gr_decode_run(uint32_t type, const uint8_t *src, float *dst, size_t n);

#endif
