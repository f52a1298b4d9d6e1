/*
 * quant.c — tensor element decoders (SPEC chapter 4, R-TYPE-*): binary16 / bfloat16
 * conversions, the decoder of a run of elements of any decodable type (gr_decode_run) and
 * ggufref_dequantize. The dot-product kernels that use them are in kernels.c.
 *
 * The block decoders (one per block type, gr_decode_T: the formulas of ggml's dequantize_row_*
 * written from the layouts, each operation an IEEE binary32 operation in the order written, no
 * FMA) are inline in quant.h with their layouts drawn beside them, as are the small shared
 * helpers (loads, binary16 conversion, K-quant scales): the portable kernels decode a block
 * straight into a local buffer with them. "f16" is IEEE binary16, little-endian.
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

/* Decoder table: one entry per decodable block type. F32/F16/BF16 are handled element-wise. */
typedef void (*block_decoder)(const uint8_t *blk, float *y);

static block_decoder decoder_for(uint32_t type) {
    switch (type) {
    case GGUFREF_T_Q4_0: return gr_decode_q4_0;
    case GGUFREF_T_Q4_1: return gr_decode_q4_1;
    case GGUFREF_T_Q5_0: return gr_decode_q5_0;
    case GGUFREF_T_Q5_1: return gr_decode_q5_1;
    case GGUFREF_T_Q8_0: return gr_decode_q8_0;
    case GGUFREF_T_Q2_K: return gr_decode_q2_k;
    case GGUFREF_T_Q3_K: return gr_decode_q3_k;
    case GGUFREF_T_Q4_K: return gr_decode_q4_k;
    case GGUFREF_T_Q5_K: return gr_decode_q5_k;
    case GGUFREF_T_Q6_K: return gr_decode_q6_k;
    default: return NULL;
    }
}

void gr_decode_run(uint32_t type, const uint8_t *src, float *dst, size_t n) {
    switch (type) {
    case GGUFREF_T_F32:
        memcpy(dst, src, n * sizeof(float));
        return;
    case GGUFREF_T_F16: {
        size_t i = 0;
        for (; i + 16 <= n; i += 16) gr_decode_f16x16(src + 2 * i, dst + i);
        for (; i < n; i++) dst[i] = gr_f16_to_f32(gr_rd16(src + 2 * i));
        return;
    }
    case GGUFREF_T_BF16: {
        size_t i = 0;
        for (; i + 16 <= n; i += 16) gr_decode_bf16x16(src + 2 * i, dst + i);
        for (; i < n; i++) dst[i] = ggufref_bf16_to_f32(gr_rd16(src + 2 * i));
        return;
    }
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
