/*
 * torture_quant.c — tensor decoders and numerics against SPEC chapter 4 (R-TYPE-*, R-NUM-*).
 *
 * 1. binary16 / bfloat16 conversions: fixed bit patterns, every binary16 value, every rounding
 *    midpoint (R-TYPE-002..004).
 * 2. Each block decoder against hand-computed elements, and against an independent per-element
 *    implementation of the SPEC formulas on random blocks (R-TYPE-010..024).
 * 3. The lane-blocked reductions against a literal transcription of R-NUM-010..012, and every
 *    kernel path (AVX2 where the machine has it) against the portable one, bit for bit.
 * 4. The elementary functions: fixed bit patterns and libm within 1 ulp (R-NUM-030..032).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggufref.h"
#include "mathx.h"
#include "model.h"

/* ===================================================================================== */
/* Helpers                                                                                */
/* ===================================================================================== */

static uint32_t bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

#define assert_bits(f, expected) assert_int_equal(bits(f), (expected))

/* Distance in ulps between two finite floats of any sign. */
static int64_t ulp_distance(float a, float b) {
    int64_t x = (int32_t)bits(a), y = (int32_t)bits(b);
    if (x < 0) x = INT32_MIN - x;
    if (y < 0) y = INT32_MIN - y;
    return x > y ? x - y : y - x;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) { /* xorshift64*, the test's own stream */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}
static float rnd_float(float scale) { return ((float)(rnd() >> 8) / 16777216.0f - 0.5f) * scale; }

static void put16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* Random bytes for a block, with every f16 field (given by byte offsets) a finite value. */
static void random_block(uint8_t *blk, size_t size, const size_t *f16_at, size_t n_f16) {
    for (size_t i = 0; i < size; i++) blk[i] = (uint8_t)rnd();
    for (size_t i = 0; i < n_f16; i++) put16(blk + f16_at[i], ggufref_f32_to_f16(rnd_float(0.25f)));
}

/* ===================================================================================== */
/* 1. binary16 and bfloat16 (R-TYPE-002..004)                                             */
/* ===================================================================================== */

/* R-TYPE-002 */
static void test_f16_to_f32_fixed_patterns(void **state) {
    (void)state;
    static const struct { uint16_t h; uint32_t f; } cases[] = {
        {0x0000, 0x00000000}, {0x8000, 0x80000000}, {0x3c00, 0x3f800000}, {0xc000, 0xc0000000},
        {0x7bff, 0x477fe000}, /* 65504, the largest finite */
        {0x0400, 0x38800000}, /* 2^-14, the smallest normal */
        {0x0001, 0x33800000}, /* 2^-24, the smallest subnormal */
        {0x03ff, 0x387fc000}, /* the largest subnormal */
        {0x8001, 0xb3800000}, {0x7c00, 0x7f800000}, {0xfc00, 0xff800000},
        {0x7e00, 0x7fc00000}, /* quiet NaN */
        {0x7d00, 0x7fa00000}, /* signalling NaN: payload shifted, nothing added */
        {0xfe01, 0xffc02000}, {0x3555, 0x3eaaa000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_bits(ggufref_f16_to_f32(cases[i].h), cases[i].f);
    }
}

/* R-TYPE-002, R-TYPE-004: every binary16 value survives f16 -> f32 -> f16 (NaN stays NaN). */
static void test_f16_roundtrip_every_value(void **state) {
    (void)state;
    for (uint32_t h = 0; h < 0x10000; h++) {
        float f = ggufref_f16_to_f32((uint16_t)h);
        uint16_t back = ggufref_f32_to_f16(f);
        bool nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0;
        if (nan) {
            assert_true(f != f);
            assert_int_equal(back & 0x7c00, 0x7c00);
            assert_int_not_equal(back & 0x3ff, 0);
            assert_int_equal(back & 0x8000, h & 0x8000);
        } else {
            assert_int_equal(back, h);
        }
    }
}

/* R-TYPE-004: round to nearest, ties to even, at every midpoint between adjacent finite
 * positive binary16 values (and one binary32 ulp either side of it). */
static void test_f32_to_f16_rounds_to_nearest_even(void **state) {
    (void)state;
    for (uint32_t h = 0; h < 0x7bff; h++) {
        float lo = ggufref_f16_to_f32((uint16_t)h), hi = ggufref_f16_to_f32((uint16_t)(h + 1));
        float mid = lo + (hi - lo) * 0.5f; /* exact: binary16 values are far from f32 limits */
        uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        assert_int_equal(ggufref_f32_to_f16(mid), even);
        assert_int_equal(ggufref_f32_to_f16(nextafterf(mid, 0.0f)), h);
        assert_int_equal(ggufref_f32_to_f16(nextafterf(mid, INFINITY)), h + 1);
        assert_int_equal(ggufref_f32_to_f16(-mid), 0x8000 | even);
    }
    /* overflow: 65520 is the midpoint between 65504 and 2^16 (inf) and rounds to inf */
    assert_int_equal(ggufref_f32_to_f16(65519.996f), 0x7bff);
    assert_int_equal(ggufref_f32_to_f16(65520.0f), 0x7c00);
    assert_int_equal(ggufref_f32_to_f16(-1e30f), 0xfc00);
    assert_int_equal(ggufref_f32_to_f16(INFINITY), 0x7c00);
    /* underflow: 2^-25 is the midpoint between 0 and 2^-24 and rounds to 0 (even) */
    assert_int_equal(ggufref_f32_to_f16(from_bits(0x33000000)), 0x0000);
    assert_int_equal(ggufref_f32_to_f16(from_bits(0x33000001)), 0x0001);
    assert_int_equal(ggufref_f32_to_f16(from_bits(0xb3000000)), 0x8000);
    assert_int_equal(ggufref_f32_to_f16(1e-30f), 0x0000);
    /* NaN stays NaN, quiet */
    uint16_t n = ggufref_f32_to_f16(from_bits(0x7f800001));
    assert_int_equal(n & 0x7e00, 0x7e00);
}

/* R-TYPE-003 */
static void test_bf16_to_f32_fixed_patterns(void **state) {
    (void)state;
    assert_bits(ggufref_bf16_to_f32(0x3f80), 0x3f800000);
    assert_bits(ggufref_bf16_to_f32(0xc049), 0xc0490000);
    assert_bits(ggufref_bf16_to_f32(0x0001), 0x00010000); /* subnormal */
    assert_bits(ggufref_bf16_to_f32(0x8000), 0x80000000);
    assert_bits(ggufref_bf16_to_f32(0x7f80), 0x7f800000);
    assert_bits(ggufref_bf16_to_f32(0xff81), 0xff810000); /* NaN, payload kept */
}

/* ===================================================================================== */
/* 2. Block decoders (R-TYPE-010..024)                                                    */
/* ===================================================================================== */

static float f16(const uint8_t *p) { return ggufref_f16_to_f32((uint16_t)(p[0] | (p[1] << 8))); }

/* Independent per-element transcriptions of the SPEC formulas (element e of one block). */
static float spec_q4_0(const uint8_t *b, int e) {
    int q = e < 16 ? (b[2 + e] & 15) : (b[2 + e - 16] >> 4);
    return (float)(q - 8) * f16(b);
}
static float spec_q4_1(const uint8_t *b, int e) {
    int q = e < 16 ? (b[4 + e] & 15) : (b[4 + e - 16] >> 4);
    return (float)q * f16(b) + f16(b + 2);
}
static int q5_q(const uint8_t *qh4, const uint8_t *qs, int e) {
    uint32_t qh = (uint32_t)qh4[0] | (uint32_t)qh4[1] << 8 | (uint32_t)qh4[2] << 16 | (uint32_t)qh4[3] << 24;
    int lo = e < 16 ? (qs[e] & 15) : (qs[e - 16] >> 4);
    return lo | (int)((qh >> e) & 1) << 4;
}
static float spec_q5_0(const uint8_t *b, int e) { return (float)(q5_q(b + 2, b + 6, e) - 16) * f16(b); }
static float spec_q5_1(const uint8_t *b, int e) {
    return (float)q5_q(b + 4, b + 8, e) * f16(b) + f16(b + 2);
}
static float spec_q8_0(const uint8_t *b, int e) { return (float)(int8_t)b[2 + e] * f16(b); }
static float spec_q2_k(const uint8_t *b, int e) {
    int h = e / 128, j = (e % 128) / 32, l = e % 32, s = 8 * h + 2 * j + (l >= 16);
    int q = (b[16 + 32 * h + l] >> (2 * j)) & 3;
    return (f16(b + 80) * (float)(b[s] & 15)) * (float)q - f16(b + 82) * (float)(b[s] >> 4);
}
static float spec_q3_k(const uint8_t *b, int e) {
    const uint8_t *sc = b + 96;
    int h = e / 128, j = (e % 128) / 32, l = e % 32, s = 8 * h + 2 * j + (l >= 16);
    int lo4 = s < 8 ? (sc[s] & 15) : (sc[s - 8] >> 4);
    int hi2 = (sc[8 + s % 4] >> (2 * (s / 4))) & 3;
    int q = ((b[32 + 32 * h + l] >> (2 * j)) & 3) - ((b[l] >> (4 * h + j)) & 1 ? 0 : 4);
    return (f16(b + 108) * (float)((lo4 | hi2 << 4) - 32)) * (float)q;
}
static void k4(const uint8_t *sc, int s, int *d, int *m) {
    if (s < 4) {
        *d = sc[s] & 63;
        *m = sc[s + 4] & 63;
    } else {
        *d = (sc[s + 4] & 15) | (sc[s - 4] >> 6) << 4;
        *m = (sc[s + 4] >> 4) | (sc[s] >> 6) << 4;
    }
}
static float spec_q4_k(const uint8_t *b, int e) {
    int c = e / 64, l = e % 64, s = e / 32, d, m;
    k4(b + 4, s, &d, &m);
    int q = l < 32 ? (b[16 + 32 * c + l] & 15) : (b[16 + 32 * c + l - 32] >> 4);
    return (f16(b) * (float)d) * (float)q - f16(b + 2) * (float)m;
}
static float spec_q5_k(const uint8_t *b, int e) {
    int c = e / 64, l = e % 64, s = e / 32, d, m;
    k4(b + 4, s, &d, &m);
    int q = l < 32 ? (b[48 + 32 * c + l] & 15) : (b[48 + 32 * c + l - 32] >> 4);
    q += (b[16 + l % 32] >> s) & 1 ? 16 : 0;
    return (f16(b) * (float)d) * (float)q - f16(b + 2) * (float)m;
}
static float spec_q6_k(const uint8_t *b, int e) {
    int h = e / 128, k = (e % 128) / 32, l = e % 32, s = 8 * h + 2 * k + l / 16;
    int byte = b[64 * h + l + (k & 1 ? 32 : 0)];
    int lo4 = k < 2 ? (byte & 15) : (byte >> 4);
    int hi2 = (b[128 + 32 * h + l] >> (2 * k)) & 3;
    return (f16(b + 208) * (float)(int8_t)b[192 + s]) * (float)((lo4 | hi2 << 4) - 32);
}

typedef struct type_case {
    uint32_t type;
    size_t block, bytes;
    size_t f16_at[2];
    size_t n_f16;
    float (*spec)(const uint8_t *b, int e);
} type_case;

static const type_case block_types[] = {
    {GGUFREF_T_Q4_0, 32, 18, {0}, 1, spec_q4_0},       {GGUFREF_T_Q4_1, 32, 20, {0, 2}, 2, spec_q4_1},
    {GGUFREF_T_Q5_0, 32, 22, {0}, 1, spec_q5_0},       {GGUFREF_T_Q5_1, 32, 24, {0, 2}, 2, spec_q5_1},
    {GGUFREF_T_Q8_0, 32, 34, {0}, 1, spec_q8_0},       {GGUFREF_T_Q2_K, 256, 84, {80, 82}, 2, spec_q2_k},
    {GGUFREF_T_Q3_K, 256, 110, {108}, 1, spec_q3_k},   {GGUFREF_T_Q4_K, 256, 144, {0, 2}, 2, spec_q4_k},
    {GGUFREF_T_Q5_K, 256, 176, {0, 2}, 2, spec_q5_k},  {GGUFREF_T_Q6_K, 256, 210, {208}, 1, spec_q6_k},
};
#define N_BLOCK_TYPES (sizeof block_types / sizeof block_types[0])

/* R-TYPE-001: the table sizes the decoders assume are those of the one type table. */
static void test_decode_block_sizes_match_type_table(void **state) {
    (void)state;
    for (size_t i = 0; i < N_BLOCK_TYPES; i++) {
        const ggufref_type_info *ti = ggufref_type_info_get(block_types[i].type);
        assert_non_null(ti);
        assert_true(ti->can_decode);
        assert_int_equal(ti->block_size, block_types[i].block);
        assert_int_equal(ti->type_size, block_types[i].bytes);
    }
}

/* R-TYPE-010..024: 200 random blocks of every type equal the per-element SPEC formulas. */
static void test_decode_random_blocks_match_spec_formulas(void **state) {
    (void)state;
    uint8_t blk[4 * 210];
    float out[4 * 256];
    for (size_t t = 0; t < N_BLOCK_TYPES; t++) {
        const type_case *tc = &block_types[t];
        for (int rep = 0; rep < 200; rep++) {
            for (int k = 0; k < 4; k++) random_block(blk + k * tc->bytes, tc->bytes, tc->f16_at, tc->n_f16);
            assert_int_equal(ggufref_dequantize(tc->type, blk, out, 4 * tc->block), GGUFREF_OK);
            for (int k = 0; k < 4; k++) {
                for (size_t e = 0; e < tc->block; e++) {
                    float want = tc->spec(blk + k * tc->bytes, (int)e);
                    assert_bits(out[k * tc->block + e], bits(want));
                }
            }
        }
    }
}

/* R-TYPE-010 (Q4_0), worked by hand: d = 0.5 (0x3800); qs[0] = 0x9f -> element 0 is
 * (15 - 8) * 0.5 = 3.5 and element 16 is (9 - 8) * 0.5 = 0.5; qs[15] = 0x08 -> element 15
 * is 0, element 31 is (0 - 8) * 0.5 = -4. */
static void test_decode_q4_0_by_hand(void **state) {
    (void)state;
    uint8_t b[18] = {0x00, 0x38, 0x9f};
    b[2 + 15] = 0x08;
    float y[32];
    assert_int_equal(ggufref_dequantize(GGUFREF_T_Q4_0, b, y, 32), GGUFREF_OK);
    assert_true(y[0] == 3.5f && y[16] == 0.5f && y[15] == 0.0f && y[31] == -4.0f);
    assert_true(y[1] == -4.0f); /* qs[1] = 0 -> (0 - 8) * 0.5 */
}

/* R-TYPE-011 (Q4_1): d = 2 (0x4000), m = -1 (0xbc00): qs[3] = 0x5a -> element 3 is
 * 10 * 2 - 1 = 19, element 19 is 5 * 2 - 1 = 9. */
static void test_decode_q4_1_by_hand(void **state) {
    (void)state;
    uint8_t b[20] = {0x00, 0x40, 0x00, 0xbc};
    b[4 + 3] = 0x5a;
    float y[32];
    assert_int_equal(ggufref_dequantize(GGUFREF_T_Q4_1, b, y, 32), GGUFREF_OK);
    assert_true(y[3] == 19.0f && y[19] == 9.0f && y[0] == -1.0f);
}

/* R-TYPE-012 (Q5_0): d = 1; qh bit 0 and bit 17 set; qs[0] = 0x21, qs[1] = 0x0f ->
 * e0 = (1 | 16) - 16 = 1, e16 = 2 - 16 = -14, e1 = 15 - 16 = -1, e17 = (0 | 16) - 16 = 0. */
static void test_decode_q5_0_by_hand(void **state) {
    (void)state;
    uint8_t b[22] = {0x00, 0x3c, 0x01, 0x00, 0x02, 0x00, 0x21, 0x0f};
    float y[32];
    assert_int_equal(ggufref_dequantize(GGUFREF_T_Q5_0, b, y, 32), GGUFREF_OK);
    assert_true(y[0] == 1.0f && y[16] == -14.0f && y[1] == -1.0f && y[17] == 0.0f);
}

/* R-TYPE-013 (Q5_1): d = 0.25, m = 10; qh bit 31 set, qs[15] = 0xf0 -> e31 = 31 * 0.25 + 10
 * = 17.75, e15 = 0 * 0.25 + 10 = 10. */
static void test_decode_q5_1_by_hand(void **state) {
    (void)state;
    uint8_t b[24] = {0x00, 0x34, 0x00, 0x49, 0x00, 0x00, 0x00, 0x80};
    b[8 + 15] = 0xf0;
    float y[32];
    assert_int_equal(ggufref_dequantize(GGUFREF_T_Q5_1, b, y, 32), GGUFREF_OK);
    assert_true(y[31] == 17.75f && y[15] == 10.0f);
}

/* R-TYPE-014 (Q8_0): d = -0.5; qs = -128, 127, 0, 1 -> 64, -63.5, 0 (negative zero), -0.5. */
static void test_decode_q8_0_by_hand(void **state) {
    (void)state;
    uint8_t b[34] = {0x00, 0xb8, 0x80, 0x7f, 0x00, 0x01};
    float y[32];
    assert_int_equal(ggufref_dequantize(GGUFREF_T_Q8_0, b, y, 32), GGUFREF_OK);
    assert_true(y[0] == 64.0f && y[1] == -63.5f && y[3] == -0.5f);
    assert_bits(y[2], 0x80000000u); /* 0 * -0.5 = -0 */
}

/* R-TYPE-020 (Q2_K): d = 1, dmin = 0.5; scales[9] = 0x35 (scale 5, min 3);
 * element 160 (h 1, j 1, l 0, s 8 + 2 = 10)... use s 9: element 144 (h 1, j 0, l 16):
 * q = qs[32 + 16] & 3 = 2 -> 5 * 2 - 0.5 * 3 = 8.5. */
static void test_decode_q2_k_by_hand(void **state) {
    (void)state;
    uint8_t b[84] = {0};
    b[9] = 0x35;
    b[16 + 48] = 0x02;
    put16(b + 80, 0x3c00);
    put16(b + 82, 0x3800);
    float y[256];
    assert_int_equal(ggufref_dequantize(GGUFREF_T_Q2_K, b, y, 256), GGUFREF_OK);
    assert_true(y[144] == 8.5f);
    assert_true(y[145] == -1.5f); /* q = 0 */
    assert_true(y[0] == 0.0f);    /* scale 0, min 0 */
}

/* R-TYPE-021 (Q3_K): d = 2; sub-block 5's scale: lo4 = scales[5] & 15 = 3,
 * hi2 = (scales[9] >> 2) & 3 = 2 -> (3 | 32) - 32 = 3. Element 80 (h 0, j 2, l 16, s 5):
 * qs[16] bits 4..5 = 1, hmask[16] bit 2 clear -> q = 1 - 4 = -3 -> 2 * 3 * -3 = -18. */
static void test_decode_q3_k_by_hand(void **state) {
    (void)state;
    uint8_t b[110] = {0};
    b[96 + 5] = 0x03;
    b[96 + 9] = 0x08;
    b[32 + 16] = 0x10;
    put16(b + 108, 0x4000);
    float y[256];
    assert_int_equal(ggufref_dequantize(GGUFREF_T_Q3_K, b, y, 256), GGUFREF_OK);
    assert_true(y[80] == -18.0f);
    b[16] = 0x04; /* hmask bit 2 of byte 16 set: q = 1 */
    assert_int_equal(ggufref_dequantize(GGUFREF_T_Q3_K, b, y, 256), GGUFREF_OK);
    assert_true(y[80] == 6.0f);
}

/* R-TYPE-022 (Q4_K): d = 1, dmin = 1; sub-block 5: sc = (scales[9] & 15) | (scales[1] >> 6)
 * << 4 = 2 | 16 = 18, m = (scales[9] >> 4) | (scales[5] >> 6) << 4 = 1 | 0 = 1. Element 160
 * (c 2, l 32, high nibble of qs[64]) = 7 -> 18 * 7 - 1 = 125. */
static void test_decode_q4_k_by_hand(void **state) {
    (void)state;
    uint8_t b[144] = {0};
    put16(b, 0x3c00);
    put16(b + 2, 0x3c00);
    b[4 + 9] = 0x12;
    b[4 + 1] = 0x40;
    b[16 + 64] = 0x70;
    float y[256];
    assert_int_equal(ggufref_dequantize(GGUFREF_T_Q4_K, b, y, 256), GGUFREF_OK);
    assert_true(y[160] == 125.0f);
    assert_true(y[128] == 0.0f); /* low nibble 0, sub-block 4 scale/min 0 */
}

/* R-TYPE-023 (Q5_K): as Q4_K plus 16 for qh[l % 32] bit s: sub-block 1 (s < 4: sc =
 * scales[1] & 63 = 3, m = scales[5] & 63 = 2), element 33: high nibble of qs[1] = 4, qh[1]
 * bit 1 set -> (3 * 20) - 2 * 0.5 = 59 with dmin 0.5. */
static void test_decode_q5_k_by_hand(void **state) {
    (void)state;
    uint8_t b[176] = {0};
    put16(b, 0x3c00);
    put16(b + 2, 0x3800);
    b[4 + 1] = 3;
    b[4 + 5] = 2;
    b[16 + 1] = 0x02;
    b[48 + 1] = 0x40;
    float y[256];
    assert_int_equal(ggufref_dequantize(GGUFREF_T_Q5_K, b, y, 256), GGUFREF_OK);
    assert_true(y[33] == 59.0f);
}

/* R-TYPE-024 (Q6_K): d = 0.5, scales[11] = -3; element 200 (h 1, k 2, l 8, s 8 + 4 + 0 = 12)
 * ... use element 184 (h 1, k 1, l 24, s 8 + 2 + 1 = 11): lo4 = ql[64 + 24 + 32] & 15 = 9,
 * hi2 = (qh[32 + 24] >> 2) & 3 = 3 -> q = (9 | 48) - 32 = 25 -> (0.5 * -3) * 25 = -37.5. */
static void test_decode_q6_k_by_hand(void **state) {
    (void)state;
    uint8_t b[210] = {0};
    b[64 + 24 + 32] = 0x09;
    b[128 + 32 + 24] = 0x0c;
    b[192 + 11] = 0xfd;
    put16(b + 208, 0x3800);
    float y[256];
    assert_int_equal(ggufref_dequantize(GGUFREF_T_Q6_K, b, y, 256), GGUFREF_OK);
    assert_true(y[184] == -37.5f);
    assert_true(y[0] == -0.0f); /* scale 0 */
}

/* R-TYPE-005: F32, F16 and BF16 decode element by element. */
static void test_decode_plain_types(void **state) {
    (void)state;
    uint8_t raw[8] = {0x00, 0x3c, 0x00, 0xc0, 0x80, 0x3f, 0x00, 0x00};
    float y[4];
    assert_int_equal(ggufref_dequantize(GGUFREF_T_F16, raw, y, 4), GGUFREF_OK);
    assert_true(y[0] == 1.0f && y[1] == -2.0f);
    assert_int_equal(ggufref_dequantize(GGUFREF_T_BF16, raw, y, 4), GGUFREF_OK);
    assert_true(y[0] == from_bits(0x3c000000) && y[2] == 1.0f && y[3] == 0.0f);
    float src[3] = {1.5f, -0.0f, 3e38f};
    assert_int_equal(ggufref_dequantize(GGUFREF_T_F32, src, y, 3), GGUFREF_OK);
    assert_memory_equal(y, src, sizeof src);
}

/* R-TYPE-006: unknown, removed and non-decodable types, partial blocks and NULLs. */
static void test_decode_rejects_bad_arguments(void **state) {
    (void)state;
    uint8_t raw[292] = {0};
    float y[256];
    assert_int_equal(ggufref_dequantize(4, raw, y, 32), GGUFREF_ERR_INVALID_ARGUMENT);  /* Q4_2 */
    assert_int_equal(ggufref_dequantize(99, raw, y, 32), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_dequantize(GGUFREF_T_Q8_1, raw, y, 32), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_dequantize(GGUFREF_T_Q8_K, raw, y, 256), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_dequantize(GGUFREF_T_Q4_0, raw, y, 31), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_dequantize(GGUFREF_T_Q4_K, raw, y, 32), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_dequantize(GGUFREF_T_F32, NULL, y, 1), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_dequantize(GGUFREF_T_F32, raw, NULL, 1), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_dequantize(GGUFREF_T_F32, NULL, NULL, 0), GGUFREF_OK);
}

/* ===================================================================================== */
/* 3. Reductions and kernels (R-NUM-001, R-NUM-010..012)                                  */
/* ===================================================================================== */

/* R-NUM-010 transcribed literally. */
static float spec_dot(const float *a, const float *b, size_t n) {
    float s[16];
    for (int l = 0; l < 16; l++) s[l] = 0.0f;
    for (size_t i = 0; i < n; i++) s[i % 16] = s[i % 16] + a[i] * b[i];
    for (int w = 8; w >= 1; w /= 2) {
        for (int l = 0; l < w; l++) s[l] = s[l] + s[l + w];
    }
    return s[0];
}

/* R-NUM-010, R-NUM-011: every length 0..300, values of mixed magnitude (rounding visible). */
static void test_dot_and_sum_follow_lane_order(void **state) {
    (void)state;
    float a[300], b[300], ones[300];
    for (int i = 0; i < 300; i++) {
        a[i] = rnd_float(1.0f) * (float)(1 << (rnd() % 20));
        b[i] = rnd_float(1.0f);
        ones[i] = 1.0f;
    }
    for (size_t n = 0; n <= 300; n++) {
        assert_bits(gr_dot_f32(a, b, n), bits(spec_dot(a, b, n)));
        assert_bits(gr_sum_f32(a, n), bits(spec_dot(a, ones, n)));
    }
}

/* The sequential sum differs from the lane order on this input, so the order is observable:
 * 2^24 + 1 + 1 + ... loses every 1 sequentially; lane-blocked, lane 0 loses its one 1
 * (2^24 + 1 ties to 2^24), the other fifteen meet in the tree first: 2^24 + 14. */
static void test_dot_order_is_observable(void **state) {
    (void)state;
    float a[17], one[17];
    a[0] = 16777216.0f;
    for (int i = 1; i < 17; i++) a[i] = 1.0f;
    for (int i = 0; i < 17; i++) one[i] = 1.0f;
    float seq = 0.0f;
    for (int i = 0; i < 17; i++) seq = seq + a[i];
    assert_true(seq == 16777216.0f);
    assert_true(gr_dot_f32(a, one, 17) == 16777230.0f);
}

/* R-NUM-001: each product is rounded before it is added (no contraction to fma) and
 * subnormals are kept (no flush to zero), in gr_dot_f32 and on every row-dot path. Values
 * written as hex bits, so the expected results do not depend on how this file is compiled:
 * lane 0 holds p = (1 + 2^-12)^2 = 1 + 2^-11 + 2^-24 (rounds to 1 + 2^-11, a tie to even)
 * and then adds -p: rounded separately that is +0, fused it would be -2^-24 (0xb3800000).
 * 2^-70 * 2^-70 = 2^-140 is subnormal (0x00000200); flushed it would be +0. */
static void test_dot_rounds_each_product_keeps_subnormals(void **state) {
    (void)state;
    float a[17] = {0}, b[17] = {0};
    a[0] = from_bits(0x3f800800u);  /* 1 + 2^-12 */
    b[0] = from_bits(0x3f800800u);
    a[16] = from_bits(0xbf800800u); /* -(1 + 2^-12) */
    b[16] = from_bits(0x3f800800u);
    assert_bits(gr_dot_f32(a, b, 17), 0x00000000u);
    assert_bits(gr_row_dot_portable(GGUFREF_T_F32, (const uint8_t *)a, b, 17), 0x00000000u);
    assert_bits(gr_row_dot(GGUFREF_T_F32, (const uint8_t *)a, b, 17), 0x00000000u);
    float s[1] = {from_bits(0x1c800000u)}; /* 2^-70 */
    assert_bits(gr_dot_f32(s, s, 1), 0x00000200u);
    assert_bits(gr_row_dot(GGUFREF_T_F32, (const uint8_t *)s, s, 1), 0x00000200u);
    assert_bits(gr_sum_f32((const float[]){from_bits(0x00000200u), from_bits(0x00000001u)}, 2),
                0x00000201u);
}

/* Random row of n elements of tc's type (n a multiple of the block). */
static void random_row(const type_case *tc, uint8_t *row, size_t n) {
    for (size_t k = 0; k < n / tc->block; k++) random_block(row + k * tc->bytes, tc->bytes, tc->f16_at, tc->n_f16);
}

/* R-NUM-012: a row dot equals the dot of the decoded row, on every kernel path. */
static void test_row_dot_equals_decoded_dot_every_type(void **state) {
    (void)state;
    static uint8_t row[8 * 256 * 2];
    static float dec[8 * 256], x[8 * 256];
    for (size_t t = 0; t < N_BLOCK_TYPES; t++) {
        const type_case *tc = &block_types[t];
        for (size_t nb = 1; nb * tc->block <= 8 * 256; nb = nb * 2 + 1) {
            size_t n = nb * tc->block;
            random_row(tc, row, n);
            for (size_t i = 0; i < n; i++) x[i] = rnd_float(4.0f);
            assert_int_equal(ggufref_dequantize(tc->type, row, dec, n), GGUFREF_OK);
            float want = spec_dot(dec, x, n);
            assert_bits(gr_row_dot_portable(tc->type, row, x, n), bits(want));
            assert_bits(gr_row_dot(tc->type, row, x, n), bits(want));
            for (int p = 0; p < GR_KPATH_COUNT; p++) {
                if (gr_kpath_available((gr_kpath)p)) assert_bits(gr_row_dot_on((gr_kpath)p, tc->type, row, x, n), bits(want));
            }
        }
    }
    /* plain types at lengths that are not multiples of 16, and an unaligned F32 row */
    static const uint32_t plain[3] = {GGUFREF_T_F32, GGUFREF_T_F16, GGUFREF_T_BF16};
    for (int p = 0; p < 3; p++) {
        size_t es = plain[p] == GGUFREF_T_F32 ? 4 : 2;
        for (size_t n = 1; n < 700; n += 37) {
            for (size_t i = 0; i < n * es + 1; i++) row[i] = (uint8_t)rnd();
            for (size_t i = 0; i < n; i++) {
                float v = rnd_float(2.0f);
                if (es == 4) memcpy(row + 1 + 4 * i, &v, 4);
                else put16(row + 2 * i, ggufref_f32_to_f16(v));
                x[i] = rnd_float(2.0f);
            }
            const uint8_t *r = es == 4 ? row + 1 : row;
            assert_int_equal(ggufref_dequantize(plain[p], r, dec, n), GGUFREF_OK);
            float want = spec_dot(dec, x, n);
            assert_bits(gr_row_dot_portable(plain[p], r, x, n), bits(want));
            assert_bits(gr_row_dot(plain[p], r, x, n), bits(want));
            for (int k = 0; k < GR_KPATH_COUNT; k++) {
                if (gr_kpath_available((gr_kpath)k)) assert_bits(gr_row_dot_on((gr_kpath)k, plain[p], r, x, n), bits(want));
            }
        }
    }
}

/* R-NUM-012, R-NUM-043: gr_matvec and the batched gr_matmul agree bit for bit. */
static void test_matvec_and_matmul_agree(void **state) {
    (void)state;
    enum { N_IN = 512, N_OUT = 7, B = 3 };
    static uint8_t data[N_OUT * N_IN * 4];
    static float x[B * N_IN], y1[N_OUT], yb[B * N_OUT], row_buf[N_IN];
    for (size_t t = 0; t < N_BLOCK_TYPES; t++) {
        const type_case *tc = &block_types[t];
        size_t row_bytes = N_IN / tc->block * tc->bytes;
        for (int r = 0; r < N_OUT; r++) random_row(tc, data + r * row_bytes, N_IN);
        for (int i = 0; i < B * N_IN; i++) x[i] = rnd_float(1.0f);
        gr_weight w = {tc->type, data, N_IN, N_OUT, row_bytes};
        gr_matmul(&w, x, N_IN, B, yb, N_OUT, row_buf);
        for (int b = 0; b < B; b++) {
            gr_matvec(&w, x + b * N_IN, y1);
            assert_memory_equal(y1, yb + b * N_OUT, sizeof y1);
        }
    }
}

/* R-NUM-012, R-NUM-044: every row of a matrix-vector product (the kernels take several rows
 * at once, from different parts of the matrix) and of a batched product (several vectors at
 * once) is the dot of the decoded row, for every type, row counts around the grouping, plain
 * types at lengths that are not multiples of 16, and any split of the rows into ranges (the
 * rows one thread computes, R-NUM-047). */
static void test_matmul_rows_equal_decoded_dots_every_type(void **state) {
    (void)state;
    enum { N_IN = 512, MAX_OUT = 19, B = 7 };
    static uint8_t data[MAX_OUT * N_IN * 4];
    static float x[B * N_IN], dec[N_IN], y[B * MAX_OUT], ys[B * MAX_OUT], want[B * MAX_OUT], rb[N_IN];
    static const uint32_t plain[3] = {GGUFREF_T_F32, GGUFREF_T_F16, GGUFREF_T_BF16};
    for (size_t t = 0; t < N_BLOCK_TYPES + 3; t++) {
        const type_case *tc = t < N_BLOCK_TYPES ? &block_types[t] : NULL;
        uint32_t type = tc ? tc->type : plain[t - N_BLOCK_TYPES];
        size_t es = type == GGUFREF_T_F32 ? 4 : 2;
        size_t n_in = tc ? N_IN : N_IN - 13; /* plain: a partial last 16 */
        size_t row_bytes = tc ? n_in / tc->block * tc->bytes : n_in * es;
        for (size_t n_out = 1; n_out <= MAX_OUT; n_out += n_out < 9 ? 1 : 10) {
            for (size_t r = 0; r < n_out; r++) {
                uint8_t *row = data + r * row_bytes;
                if (tc) {
                    random_row(tc, row, n_in);
                    continue;
                }
                for (size_t i = 0; i < n_in; i++) {
                    float v = rnd_float(2.0f);
                    if (es == 4) memcpy(row + 4 * i, &v, 4);
                    else if (type == GGUFREF_T_F16) put16(row + 2 * i, ggufref_f32_to_f16(v));
                    else put16(row + 2 * i, (uint16_t)(bits(v) >> 16));
                }
            }
            for (size_t i = 0; i < B * n_in; i++) x[i] = rnd_float(1.0f);
            for (size_t r = 0; r < n_out; r++) {
                assert_int_equal(ggufref_dequantize(type, data + r * row_bytes, dec, n_in), GGUFREF_OK);
                for (size_t b = 0; b < B; b++) want[b * n_out + r] = spec_dot(dec, x + b * n_in, n_in);
            }
            gr_weight w = {type, data, n_in, n_out, row_bytes};
            for (size_t nb = 1; nb <= B; nb += 3) {
                gr_matmul(&w, x, n_in, nb, y, n_out, rb);
                for (size_t b = 0; b < nb; b++) {
                    for (size_t r = 0; r < n_out; r++) assert_bits(y[b * n_out + r], bits(want[b * n_out + r]));
                }
                /* the rows split at every point into two ranges, and into single rows */
                for (size_t cut = 0; cut <= n_out; cut++) {
                    memset(ys, 0xff, sizeof ys);
                    gr_matmul_rows(&w, x, n_in, nb, ys, n_out, 0, cut, rb);
                    gr_matmul_rows(&w, x, n_in, nb, ys, n_out, cut, n_out, rb);
                    assert_memory_equal(ys, y, nb * n_out * sizeof *y);
                }
                memset(ys, 0xff, sizeof ys);
                for (size_t r = n_out; r-- > 0;) gr_matmul_rows(&w, x, n_in, nb, ys, n_out, r, r + 1, rb);
                assert_memory_equal(ys, y, nb * n_out * sizeof *y);
            }
            gr_matvec(&w, x, y);
            for (size_t r = 0; r < n_out; r++) assert_bits(y[r], bits(want[r]));
        }
    }
}

/* R-TYPE-002, R-NUM-012: every binary16 pattern, as an F16 weight, gives on the kernel path in
 * use the dot products of the portable path (the AVX2 path converts with F16C), compared as
 * R-NUM-002 says (any NaN equals any NaN). */
static void test_f16_every_pattern_on_every_path(void **state) {
    (void)state;
    enum { N = 1024 };
    static uint8_t row[2 * N];
    static float x[N], one[N];
    for (size_t i = 0; i < N; i++) {
        x[i] = rnd_float(3.0f);
        one[i] = 0.0f;
    }
    for (uint32_t base = 0; base < 0x10000; base += N) {
        for (size_t i = 0; i < N; i++) put16(row + 2 * i, (uint16_t)(base + i));
        float fast = gr_row_dot(GGUFREF_T_F16, row, x, N);
        float slow = gr_row_dot_portable(GGUFREF_T_F16, row, x, N);
        if (slow != slow) assert_true(fast != fast);
        else assert_bits(fast, bits(slow));
        for (int p = 0; p < GR_KPATH_COUNT; p++) {
            if (!gr_kpath_available((gr_kpath)p)) continue;
            float f = gr_row_dot_on((gr_kpath)p, GGUFREF_T_F16, row, x, N);
            if (slow != slow) assert_true(f != f);
            else assert_bits(f, bits(slow));
        }
        /* each value alone: x = 1 at one element, 0 elsewhere */
        for (size_t i = 0; i < N; i += 1) {
            one[i] = 1.0f;
            float f1 = gr_row_dot(GGUFREF_T_F16, row, one, N);
            float s1 = gr_row_dot_portable(GGUFREF_T_F16, row, one, N);
            one[i] = 0.0f;
            if (s1 != s1) assert_true(f1 != f1);
            else assert_bits(f1, bits(s1));
        }
    }
}

/* Equal as R-NUM-002 says: bit for bit, or both NaN. */
static void assert_same_value(float a, float b) {
    if (b != b) assert_true(a != a);
    else assert_bits(a, bits(b));
}

/* R-TYPE-002, R-NUM-012, R-NUM-044: every binary16 pattern (normals, subnormals, zeros,
 * infinities, quiet and signalling NaNs) in every binary16 field of every block type (d, and m
 * or dmin), on every kernel path of the machine: the row dots equal the dots of the decoded
 * values, the decoded rows equal ggufref_dequantize, compared as R-NUM-002 says. (The vector
 * kernels convert scales with vcvtph2ps, which quiets a signalling NaN; every use of a scale
 * is an operation that quiets it anyway.) */
static void test_every_scale_pattern_on_every_path(void **state) {
    (void)state;
    enum { BLOCKS = 64 };
    static uint8_t row[BLOCKS * 256 * 4];
    static float x[BLOCKS * 256], dec[BLOCKS * 256], got[BLOCKS * 256];
    for (size_t i = 0; i < BLOCKS * 256; i++) x[i] = rnd_float(2.0f);
    for (size_t t = 0; t < N_BLOCK_TYPES; t++) {
        const type_case *tc = &block_types[t];
        size_t n = BLOCKS * tc->block;
        gr_weight w = {tc->type, row, n, 1, BLOCKS * tc->bytes};
        for (size_t f = 0; f < tc->n_f16; f++) {
            for (uint32_t base = 0; base < 0x10000; base += BLOCKS) {
                random_row(tc, row, n);
                for (size_t b = 0; b < BLOCKS; b++) put16(row + b * tc->bytes + tc->f16_at[f], (uint16_t)(base + b));
                assert_int_equal(ggufref_dequantize(tc->type, row, dec, n), GGUFREF_OK);
                float want = spec_dot(dec, x, n);
                for (int p = 0; p < GR_KPATH_COUNT; p++) {
                    if (!gr_kpath_available((gr_kpath)p)) continue;
                    assert_same_value(gr_row_dot_on((gr_kpath)p, tc->type, row, x, n), want);
                    gr_weight_row_on((gr_kpath)p, &w, 0, got);
                    for (size_t i = 0; i < n; i++) assert_same_value(got[i], dec[i]);
                }
            }
        }
    }
}

/* R-NUM-012: the row decoder of the kernels (gr_weight_row, AVX2 where available) gives the
 * values of ggufref_dequantize. */
static void test_weight_row_equals_dequantize(void **state) {
    (void)state;
    enum { N_IN = 768 };
    static uint8_t data[2 * N_IN * 4];
    static float a[N_IN], b[N_IN];
    for (size_t t = 0; t < N_BLOCK_TYPES; t++) {
        const type_case *tc = &block_types[t];
        size_t row_bytes = N_IN / tc->block * tc->bytes;
        random_row(tc, data, N_IN);
        random_row(tc, data + row_bytes, N_IN);
        gr_weight w = {tc->type, data, N_IN, 2, row_bytes};
        gr_weight_row(&w, 1, a);
        assert_int_equal(ggufref_dequantize(tc->type, data + row_bytes, b, N_IN), GGUFREF_OK);
        assert_memory_equal(a, b, sizeof a);
    }
}

/* R-NUM-024: the attention kernels equal their scalar definitions (scores: dot per row;
 * weighted sum: rows added in order onto 0), for head sizes around the vector widths. */
static void test_attention_kernels_match_definitions(void **state) {
    (void)state;
    enum { ROWS = 37, STRIDE = 200 };
    static float q[STRIDE], k[ROWS * STRIDE], w[ROWS], out[STRIDE], want[STRIDE], scores[ROWS];
    for (size_t i = 0; i < ROWS * STRIDE; i++) k[i] = rnd_float(2.0f);
    for (size_t i = 0; i < STRIDE; i++) q[i] = rnd_float(2.0f);
    for (size_t i = 0; i < ROWS; i++) w[i] = rnd_float(1.0f);
    static const size_t sizes[] = {1, 7, 8, 15, 16, 31, 32, 33, 48, 64, 100, 128, 200};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        for (size_t rows = 1; rows <= ROWS; rows += 9) {
            gr_dot_rows(q, k, STRIDE, rows, n, scores);
            for (size_t r = 0; r < rows; r++) assert_bits(scores[r], bits(spec_dot(q, k + r * STRIDE, n)));
            gr_weighted_rows(out, w, k, STRIDE, rows, n);
            for (size_t i = 0; i < n; i++) {
                float a = 0.0f;
                for (size_t r = 0; r < rows; r++) a = a + w[r] * k[r * STRIDE + i];
                want[i] = a;
            }
            assert_memory_equal(out, want, n * sizeof *out);
        }
    }
}

/* R-NUM-044: the portable C path of every kernel entry point (the dispatchers' fallback where
 * the machine has no vector path: gr_matmul_rows_portable, gr_dot_rows_portable,
 * gr_weighted_rows_portable) gives, for every tensor type, 1..19 rows, 1..7 vectors and every
 * split of the rows into two ranges or single rows, the bits of the dots of the decoded rows
 * (R-NUM-012) and of the path the machine takes (gr_matmul_rows, AVX2 here). Row lengths: more
 * than one decode chunk (256) for every type; plain types also at lengths that are not a
 * multiple of 16 (below and above 16), and F32 rows that are not 4-byte aligned (decoded
 * instead of read in place). */
typedef struct portable_case {
    uint32_t type;
    const type_case *tc; /* NULL: a plain type (F32, F16, BF16) */
    size_t n_in;
    size_t misalign; /* bytes added to the data pointer */
} portable_case;

static void plain_row(uint32_t type, uint8_t *row, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float v = rnd_float(2.0f);
        if (type == GGUFREF_T_F32) memcpy(row + 4 * i, &v, 4);
        else if (type == GGUFREF_T_F16) put16(row + 2 * i, ggufref_f32_to_f16(v));
        else put16(row + 2 * i, (uint16_t)(bits(v) >> 16));
    }
}

static void check_portable_matmul(const portable_case *pc) {
    enum { MAX_IN = 768, MAX_OUT = 19, B = 7 };
    static uint8_t store[MAX_OUT * MAX_IN * 4 + 8];
    static float x[B * MAX_IN], dec[MAX_IN], want[B * MAX_OUT], yp[B * MAX_OUT], yf[B * MAX_OUT];
    static float ys[B * MAX_OUT], rb[MAX_IN];
    size_t n_in = pc->n_in;
    size_t es = pc->type == GGUFREF_T_F32 ? 4 : 2;
    size_t row_bytes = pc->tc ? n_in / pc->tc->block * pc->tc->bytes : n_in * es;
    uint8_t *data = store + pc->misalign;
    for (size_t n_out = 1; n_out <= MAX_OUT; n_out++) {
        for (size_t r = 0; r < n_out; r++) {
            if (pc->tc) random_row(pc->tc, data + r * row_bytes, n_in);
            else plain_row(pc->type, data + r * row_bytes, n_in);
        }
        for (size_t i = 0; i < B * n_in; i++) x[i] = rnd_float(1.0f);
        for (size_t r = 0; r < n_out; r++) {
            assert_int_equal(ggufref_dequantize(pc->type, data + r * row_bytes, dec, n_in), GGUFREF_OK);
            for (size_t b = 0; b < B; b++) want[b * n_out + r] = spec_dot(dec, x + b * n_in, n_in);
        }
        gr_weight w = {pc->type, data, n_in, n_out, row_bytes};
        for (size_t nb = 1; nb <= B; nb++) {
            memset(yp, 0xff, sizeof yp);
            memset(yf, 0xff, sizeof yf);
            gr_matmul_rows_portable(&w, x, n_in, nb, yp, n_out, 0, n_out, nb == 1 ? NULL : rb);
            gr_matmul_rows(&w, x, n_in, nb, yf, n_out, 0, n_out, rb);
            for (size_t i = 0; i < nb * n_out; i++) assert_bits(yp[i], bits(want[i]));
            assert_memory_equal(yp, yf, nb * n_out * sizeof *yp);
            /* every vector path of the machine (AVX-512 and AVX2 on one that has both) */
            for (int p = 0; p < GR_KPATH_COUNT; p++) {
                if (!gr_kpath_available((gr_kpath)p)) continue;
                memset(yf, 0xff, sizeof yf);
                gr_matmul_rows_on((gr_kpath)p, &w, x, n_in, nb, yf, n_out, 0, n_out, rb);
                assert_memory_equal(yp, yf, nb * n_out * sizeof *yp);
            }
            /* every split into two ranges (an empty range included), then single rows */
            for (size_t cut = 0; cut <= n_out; cut++) {
                memset(ys, 0xff, sizeof ys);
                gr_matmul_rows_portable(&w, x, n_in, nb, ys, n_out, 0, cut, rb);
                gr_matmul_rows_portable(&w, x, n_in, nb, ys, n_out, cut, n_out, rb);
                assert_memory_equal(ys, yp, nb * n_out * sizeof *ys);
            }
            memset(ys, 0xff, sizeof ys);
            for (size_t r = n_out; r-- > 0;) gr_matmul_rows_portable(&w, x, n_in, nb, ys, n_out, r, r + 1, rb);
            assert_memory_equal(ys, yp, nb * n_out * sizeof *ys);
        }
        /* one vector: the portable row dot, gr_row_dot and gr_matvec agree row by row */
        gr_matvec(&w, x, yf);
        for (size_t r = 0; r < n_out; r++) {
            const uint8_t *row = data + r * row_bytes;
            assert_bits(gr_row_dot_portable(pc->type, row, x, n_in), bits(want[r]));
            assert_bits(gr_row_dot(pc->type, row, x, n_in), bits(want[r]));
            assert_bits(yf[r], bits(want[r]));
        }
        /* the row decoder (AVX2 where exact, quant.c otherwise) gives the decoded values */
        gr_weight_row(&w, n_out - 1, rb);
        assert_int_equal(ggufref_dequantize(pc->type, data + (n_out - 1) * row_bytes, dec, n_in), GGUFREF_OK);
        assert_memory_equal(rb, dec, n_in * sizeof *rb);
        for (int p = 0; p < GR_KPATH_COUNT; p++) {
            if (!gr_kpath_available((gr_kpath)p)) continue;
            memset(rb, 0xff, n_in * sizeof *rb);
            gr_weight_row_on((gr_kpath)p, &w, n_out - 1, rb);
            assert_memory_equal(rb, dec, n_in * sizeof *rb);
        }
    }
}

static void test_portable_matmul_equals_decoded_dots_and_simd(void **state) {
    (void)state;
    for (size_t t = 0; t < N_BLOCK_TYPES; t++) {
        const type_case *tc = &block_types[t];
        /* more than one decode chunk: 9 blocks of 32, 3 blocks of 256 */
        portable_case pc = {tc->type, tc, tc->block == 32 ? 9 * 32 : 3 * 256, 0};
        check_portable_matmul(&pc);
    }
    static const uint32_t plain[3] = {GGUFREF_T_F32, GGUFREF_T_F16, GGUFREF_T_BF16};
    static const size_t lengths[] = {7, 16, 45, 277};
    for (int p = 0; p < 3; p++) {
        for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
            portable_case pc = {plain[p], NULL, lengths[li], 0};
            check_portable_matmul(&pc);
            if (plain[p] == GGUFREF_T_F32) { /* rows not 4-byte aligned */
                pc.misalign = 1;
                check_portable_matmul(&pc);
            }
        }
    }
}

/* R-NUM-012, R-NUM-044: the portable batched product takes at most GGUFREF_MAX_BATCH vectors
 * per pass over the rows; more vectors (19: a second pass of 3) give every (row, vector) the
 * dot of the decoded row, for every type, 6 rows (a group of four and two single rows). */
static void test_portable_matmul_more_vectors_than_max_batch(void **state) {
    (void)state;
    enum { N_OUT = 6, B = GGUFREF_MAX_BATCH + 3, MAX_IN = 512 };
    static uint8_t data[N_OUT * MAX_IN * 4];
    static float x[B * MAX_IN], dec[MAX_IN], y[B * N_OUT];
    static const uint32_t plain[3] = {GGUFREF_T_F32, GGUFREF_T_F16, GGUFREF_T_BF16};
    for (size_t t = 0; t < N_BLOCK_TYPES + 3; t++) {
        const type_case *tc = t < N_BLOCK_TYPES ? &block_types[t] : NULL;
        uint32_t type = tc ? tc->type : plain[t - N_BLOCK_TYPES];
        size_t n_in = tc ? (tc->block == 32 ? 9 * 32 : 2 * 256) : 45;
        size_t row_bytes = tc ? n_in / tc->block * tc->bytes : n_in * (type == GGUFREF_T_F32 ? 4 : 2);
        for (size_t r = 0; r < N_OUT; r++) {
            if (tc) random_row(tc, data + r * row_bytes, n_in);
            else plain_row(type, data + r * row_bytes, n_in);
        }
        for (size_t i = 0; i < B * n_in; i++) x[i] = rnd_float(1.0f);
        gr_weight w = {type, data, n_in, N_OUT, row_bytes};
        memset(y, 0xff, sizeof y);
        gr_matmul_rows_portable(&w, x, n_in, B, y, N_OUT, 0, N_OUT, dec);
        for (size_t r = 0; r < N_OUT; r++) {
            assert_int_equal(ggufref_dequantize(type, data + r * row_bytes, dec, n_in), GGUFREF_OK);
            for (size_t b = 0; b < B; b++) assert_bits(y[b * N_OUT + r], bits(spec_dot(dec, x + b * n_in, n_in)));
        }
    }
}

/* R-NUM-024, R-NUM-044: the portable attention kernels equal their scalar definitions and the
 * path the machine takes, for head sizes 0..70 (every tail of the 8-, 16- and 32-wide loops)
 * and 1..19 cached rows. */
static void test_portable_attention_kernels_equal_simd(void **state) {
    (void)state;
    enum { ROWS = 19, STRIDE = 73, MAX_N = 70 };
    static float q[STRIDE], k[ROWS * STRIDE], w[ROWS];
    static float sp[ROWS], sf[ROWS], op[STRIDE], of[STRIDE], want[STRIDE];
    for (size_t i = 0; i < ROWS * STRIDE; i++) k[i] = rnd_float(2.0f);
    for (size_t i = 0; i < STRIDE; i++) q[i] = rnd_float(2.0f);
    for (size_t i = 0; i < ROWS; i++) w[i] = rnd_float(1.0f);
    for (size_t n = 0; n <= MAX_N; n++) {
        for (size_t rows = 1; rows <= ROWS; rows++) {
            memset(sp, 0xff, sizeof sp);
            gr_dot_rows_portable(q, k, STRIDE, rows, n, sp);
            gr_dot_rows(q, k, STRIDE, rows, n, sf);
            for (size_t r = 0; r < rows; r++) assert_bits(sp[r], bits(spec_dot(q, k + r * STRIDE, n)));
            assert_memory_equal(sp, sf, rows * sizeof *sp);
            memset(op, 0xff, sizeof op);
            gr_weighted_rows_portable(op, w, k, STRIDE, rows, n);
            gr_weighted_rows(of, w, k, STRIDE, rows, n);
            for (size_t i = 0; i < n; i++) {
                float a = 0.0f;
                for (size_t r = 0; r < rows; r++) a = a + w[r] * k[r * STRIDE + i];
                want[i] = a;
            }
            if (n > 0) {
                assert_memory_equal(op, want, n * sizeof *op);
                assert_memory_equal(op, of, n * sizeof *op);
            }
            /* every path of the machine (AVX2 and AVX-512 on one that has both) */
            for (int p = 0; p < GR_KPATH_COUNT; p++) {
                if (!gr_kpath_available((gr_kpath)p)) continue;
                memset(sf, 0xff, sizeof sf);
                gr_dot_rows_on((gr_kpath)p, q, k, STRIDE, rows, n, sf);
                assert_memory_equal(sp, sf, rows * sizeof *sp);
                memset(of, 0xff, sizeof of);
                gr_weighted_rows_on((gr_kpath)p, of, w, k, STRIDE, rows, n);
                if (n > 0) assert_memory_equal(op, of, n * sizeof *op);
            }
        }
    }
}

/* R-NUM-030: the vectorized exponential equals gr_expf on every 97th binary32 pattern (all
 * signs, NaNs, infinities, subnormals, both overflow sides) and odd lengths; compared as
 * R-NUM-002 says: bit for bit, except that any NaN equals any NaN. */
static void test_expf_inplace_equals_gr_expf(void **state) {
    (void)state;
    enum { N = 4099 };
    static float x[N], y[N];
    uint64_t checked = 0;
    for (uint64_t u = 0; u <= 0xffffffffull; u += 97 * N) {
        for (size_t j = 0; j < N; j++) x[j] = from_bits((uint32_t)(u + 97 * j));
        memcpy(y, x, sizeof y);
        gr_expf_inplace(y, N - (u & 3));
        for (size_t j = 0; j < N - (u & 3); j++) {
            float want = gr_expf(x[j]);
            if (want != want) assert_true(y[j] != y[j]);
            else assert_bits(y[j], bits(want));
        }
        checked += N;
    }
    assert_true(checked > 40000000);
}

/* The kernel path in use is named, and is the best one the machine has (every path is tested
 * above, through gr_*_on). */
static void test_kernel_path_is_named(void **state) {
    (void)state;
    const char *p = gr_kernel_path();
    static const char *names[GR_KPATH_COUNT] = {"portable", "avx2", "avx512", "wasm-simd128"};
    assert_true(gr_kpath_available(GR_KPATH_PORTABLE));
    assert_string_equal(p, names[gr_kpath_best()]);
    for (int k = gr_kpath_best() + 1; k < GR_KPATH_COUNT; k++) assert_false(gr_kpath_available((gr_kpath)k));
    assert_false(gr_kpath_available(GR_KPATH_COUNT));
    print_message("kernel path: %s\n", p);
}

/* ===================================================================================== */
/* 4. Elementary functions (R-NUM-030..032)                                               */
/* ===================================================================================== */

/* R-NUM-031: fixed bit patterns (the values the reference computes on every platform). */
static void test_sincosf_fixed_patterns(void **state) {
    (void)state;
    static const struct { float x; uint32_t s, c; } cases[] = {
        {0x0p+0f, 0x00000000u, 0x3f800000u},        {0x1p+0f, 0x3f576aa4u, 0x3f0a5140u},
        {-0x1p+0f, 0xbf576aa4u, 0x3f0a5140u},       {0x1p-1f, 0x3ef57744u, 0x3f60a940u},
        {0x1.921fb6p+1f, 0xb3bbbd2eu, 0xbf800000u}, {0x1.9p+6f, 0xbf01a12eu, 0x3f5cc0eeu},
        {0x1.98cccep+5f, 0x3f3db07bu, 0x3f2be99fu}, {0x1.81cd6cp+13f, 0xbf344b08u, 0x3f35be20u},
        {0x1.0c6f7ap-20f, 0x358637bdu, 0x3f800000u}, {0x1.e848p+19f, 0xbeb33259u, 0x3f6fcefdu},
        {0x1.fffffep+23f, 0xbf72bf60u, 0xbea29962u},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        float s, c;
        gr_sincosf(cases[i].x, &s, &c);
        assert_bits(s, cases[i].s);
        assert_bits(c, cases[i].c);
        assert_bits(gr_sinf(cases[i].x), cases[i].s);
        assert_bits(gr_cosf(cases[i].x), cases[i].c);
    }
}

/* R-NUM-031: within 1 ulp of libm (long double where available) on RoPE-like arguments
 * (pos * freq) and random ones; NaN outside the domain. */
static void test_sincosf_close_to_libm(void **state) {
    (void)state;
    int64_t worst = 0;
    for (int i = 0; i < 200000; i++) {
        float x = (i % 2) ? (float)(i % 4096) * from_bits(0x3dcccccd + (uint32_t)(i % 64))
                          : rnd_float(2.0e6f);
        float s, c;
        gr_sincosf(x, &s, &c);
        int64_t ds = ulp_distance(s, (float)sinl((long double)x));
        int64_t dc = ulp_distance(c, (float)cosl((long double)x));
        if (ds > worst) worst = ds;
        if (dc > worst) worst = dc;
    }
    assert_true(worst <= 1);
    float s, c;
    gr_sincosf(NAN, &s, &c);
    assert_true(s != s && c != c);
    gr_sincosf(INFINITY, &s, &c);
    assert_true(s != s && c != c);
    gr_sincosf(33554432.0f, &s, &c); /* 2^25: outside the domain */
    assert_true(s != s && c != c);
    gr_sincosf(33554430.0f, &s, &c);
    assert_true(s == s && c == c);
}

/* R-NUM-032 */
static void test_powf_fixed_patterns_and_libm(void **state) {
    (void)state;
    static const struct { float b, e; uint32_t r; } cases[] = {
        {0x1.388p+13f, 0x1p-2f, 0x41200000u},  {0x1.388p+13f, 0x1p-1f, 0x42c80000u},
        {0x1.388p+13f, 0x1.8p-1f, 0x447a0000u}, {0x1.388p+13f, 0x1.555556p-5f, 0x3fbbe0d9u},
        {0x1.e848p+18f, 0x1p-3f, 0x40a503a0u},  {0x1p+1f, 0x1p-1f, 0x3fb504f3u},
        {0x1.388p+13f, 0x0p+0f, 0x3f800000u},  {0x1.e848p+19f, 0x1.f8p-1f, 0x4944bd23u},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_bits(gr_powf(cases[i].b, cases[i].e), cases[i].r);
    }
    static const float bases[] = {10000.0f, 500000.0f, 1000000.0f, 2.0f, 1.5f};
    for (size_t k = 0; k < 5; k++) {
        for (int hd = 2; hd <= 256; hd += 2) {
            for (int i = 0; i < hd; i += 2) {
                float e = (float)i / (float)hd;
                assert_true(ulp_distance(gr_powf(bases[k], e), (float)powl(bases[k], e)) <= 1);
            }
        }
    }
    assert_true(gr_powf(0.0f, 1.0f) != gr_powf(0.0f, 1.0f));
    assert_true(gr_powf(-2.0f, 1.0f) != gr_powf(-2.0f, 1.0f));
    assert_true(gr_powf(2.0f, INFINITY) != gr_powf(2.0f, INFINITY));
    assert_true(gr_powf(10.0f, 100.0f) == INFINITY);
    assert_true(gr_powf(10.0f, -100.0f) == 0.0f);
}

/* R-NUM-030: gr_expf (shared with the sampler) at the points the forward pass relies on. */
static void test_expf_fixed_patterns_and_libm(void **state) {
    (void)state;
    assert_bits(gr_expf(0.0f), 0x3f800000u);
    assert_bits(gr_expf(-INFINITY), 0x00000000u);
    assert_bits(gr_expf(INFINITY), 0x7f800000u);
    assert_bits(gr_expf(1.0f), 0x402df854u);
    assert_bits(gr_expf(-1.0f), 0x3ebc5ab2u);
    assert_bits(gr_expf(88.72283f), 0x7f7fff84u); /* just below FLT_MAX */
    for (int i = 0; i < 100000; i++) {
        float x = rnd_float(180.0f);
        assert_true(ulp_distance(gr_expf(x), (float)expl((long double)x)) <= 1);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f16_to_f32_fixed_patterns),
        cmocka_unit_test(test_f16_roundtrip_every_value),
        cmocka_unit_test(test_f32_to_f16_rounds_to_nearest_even),
        cmocka_unit_test(test_bf16_to_f32_fixed_patterns),
        cmocka_unit_test(test_decode_block_sizes_match_type_table),
        cmocka_unit_test(test_decode_random_blocks_match_spec_formulas),
        cmocka_unit_test(test_decode_q4_0_by_hand),
        cmocka_unit_test(test_decode_q4_1_by_hand),
        cmocka_unit_test(test_decode_q5_0_by_hand),
        cmocka_unit_test(test_decode_q5_1_by_hand),
        cmocka_unit_test(test_decode_q8_0_by_hand),
        cmocka_unit_test(test_decode_q2_k_by_hand),
        cmocka_unit_test(test_decode_q3_k_by_hand),
        cmocka_unit_test(test_decode_q4_k_by_hand),
        cmocka_unit_test(test_decode_q5_k_by_hand),
        cmocka_unit_test(test_decode_q6_k_by_hand),
        cmocka_unit_test(test_decode_plain_types),
        cmocka_unit_test(test_decode_rejects_bad_arguments),
        cmocka_unit_test(test_dot_and_sum_follow_lane_order),
        cmocka_unit_test(test_dot_order_is_observable),
        cmocka_unit_test(test_dot_rounds_each_product_keeps_subnormals),
        cmocka_unit_test(test_row_dot_equals_decoded_dot_every_type),
        cmocka_unit_test(test_matvec_and_matmul_agree),
        cmocka_unit_test(test_matmul_rows_equal_decoded_dots_every_type),
        cmocka_unit_test(test_f16_every_pattern_on_every_path),
        cmocka_unit_test(test_weight_row_equals_dequantize),
        cmocka_unit_test(test_attention_kernels_match_definitions),
        cmocka_unit_test(test_portable_matmul_equals_decoded_dots_and_simd),
        cmocka_unit_test(test_portable_matmul_more_vectors_than_max_batch),
        cmocka_unit_test(test_portable_attention_kernels_equal_simd),
        cmocka_unit_test(test_expf_inplace_equals_gr_expf),
        cmocka_unit_test(test_kernel_path_is_named),
        cmocka_unit_test(test_every_scale_pattern_on_every_path),
        cmocka_unit_test(test_sincosf_fixed_patterns),
        cmocka_unit_test(test_sincosf_close_to_libm),
        cmocka_unit_test(test_powf_fixed_patterns_and_libm),
        cmocka_unit_test(test_expf_fixed_patterns_and_libm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
