/*
 * types.c — the one table of tensor types (SPEC R-GGUF-023, chapter 4).
 *
 * Block sizes and bytes per block are those of ggml's type_traits. A tensor of n elements of a
 * type takes n / block_size * type_size bytes; its innermost dimension ne[0] is a multiple of
 * block_size. The bytes of each block (the struct it is in ggml):
 *
 *   F32    1 elem    4 B   f32
 *   F16    1 elem    2 B   binary16
 *   BF16   1 elem    2 B   bfloat16
 *   Q4_0   32 elem  18 B   f16 d | u8 qs[16]
 *   Q4_1   32 elem  20 B   f16 d | f16 m | u8 qs[16]
 *   Q5_0   32 elem  22 B   f16 d | u8 qh[4] | u8 qs[16]
 *   Q5_1   32 elem  24 B   f16 d | f16 m | u8 qh[4] | u8 qs[16]
 *   Q8_0   32 elem  34 B   f16 d | i8 qs[32]
 *   Q8_1   32 elem  36 B   f16 d | f16 s | i8 qs[32]
 *   Q2_K  256 elem  84 B   u8 scales[16] | u8 qs[64] | f16 d | f16 dmin
 *   Q3_K  256 elem 110 B   u8 hmask[32] | u8 qs[64] | u8 scales[12] | f16 d
 *   Q4_K  256 elem 144 B   f16 d | f16 dmin | u8 scales[12] | u8 qs[128]
 *   Q5_K  256 elem 176 B   f16 d | f16 dmin | u8 scales[12] | u8 qh[32] | u8 qs[128]
 *   Q6_K  256 elem 210 B   u8 ql[128] | u8 qh[64] | i8 scales[16] | f16 d
 *   Q8_K  256 elem 292 B   f32 d | i8 qs[256] | i16 bsums[16]
 *
 * Q8_1 and Q8_K are ggml's intermediate (activation) formats: files may carry them, the
 * reader sizes them, but no decoder is specified (can_decode = false).
 */
#include "internal.h"

#define TYPE_TABLE_SIZE 31u /* ids 0..30 (BF16 is 30) */

static const ggufref_type_info type_table[TYPE_TABLE_SIZE] = {
    [GGUFREF_T_F32] = {"F32", 1, 4, true},
    [GGUFREF_T_F16] = {"F16", 1, 2, true},
    [GGUFREF_T_Q4_0] = {"Q4_0", 32, 18, true},
    [GGUFREF_T_Q4_1] = {"Q4_1", 32, 20, true},
    /* 4 (Q4_2) and 5 (Q4_3) were removed from ggml: no entry, rejected. */
    [GGUFREF_T_Q5_0] = {"Q5_0", 32, 22, true},
    [GGUFREF_T_Q5_1] = {"Q5_1", 32, 24, true},
    [GGUFREF_T_Q8_0] = {"Q8_0", 32, 34, true},
    [GGUFREF_T_Q8_1] = {"Q8_1", 32, 36, false},
    [GGUFREF_T_Q2_K] = {"Q2_K", 256, 84, true},
    [GGUFREF_T_Q3_K] = {"Q3_K", 256, 110, true},
    [GGUFREF_T_Q4_K] = {"Q4_K", 256, 144, true},
    [GGUFREF_T_Q5_K] = {"Q5_K", 256, 176, true},
    [GGUFREF_T_Q6_K] = {"Q6_K", 256, 210, true},
    [GGUFREF_T_Q8_K] = {"Q8_K", 256, 292, false},
    /* 16..29 are ggml's IQ* and integer types: not in the subset (no entry). */
    [GGUFREF_T_BF16] = {"BF16", 1, 2, true},
};

const ggufref_type_info *ggufref_type_info_get(uint32_t type) {
    if (type >= TYPE_TABLE_SIZE || type_table[type].name == NULL) return NULL;
    return &type_table[type];
}
