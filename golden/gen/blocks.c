/*
 * blocks.c — PRNG, exact float encodings, and random valid blocks of every tensor type.
 *
 * The fixtures test decoders, not quantizers: a block is random bytes with its f16 scales set
 * to small exact values, (1 + m/8) * 2^e with m in 0..7 (never Inf/NaN, never subnormal). Any
 * byte pattern is a valid quant/scale field in these formats, so every block decodes. The
 * exponents are chosen so that decoded weights stay near or below 2^wexp.
 *
 * Block layouts written here (ggml's, little-endian; d/m/dmin are IEEE binary16):
 *   Q4_0  18 B / 32: d | qs[16]                         w = d * (nibble - 8)
 *   Q4_1  20 B / 32: d | m | qs[16]                     w = d * nibble + m
 *   Q5_0  22 B / 32: d | qh[4] | qs[16]                 w = d * (q5 - 16)
 *   Q5_1  24 B / 32: d | m | qh[4] | qs[16]             w = d * q5 + m
 *   Q8_0  34 B / 32: d | i8 qs[32]                      w = d * q
 *   Q2_K  84 B /256: scales[16] | qs[64] | d | dmin     w = d*sc*q2 - dmin*mn   (4-bit sc, mn)
 *   Q3_K 110 B /256: hmask[32] | qs[64] | scales[12] | d  w = d*(sc-32)*q3, q3 in -4..3
 *   Q4_K 144 B /256: d | dmin | scales[12] | qs[128]    w = d*sc*q4 - dmin*mn   (6-bit sc, mn)
 *   Q5_K 176 B /256: d | dmin | scales[12] | qh[32] | qs[128]   w = d*sc*q5 - dmin*mn
 *   Q6_K 210 B /256: ql[128] | qh[64] | i8 scales[16] | d       w = d*sc*(q6-32)
 */
#include "gen.h"

#include <float.h>
#include <string.h>

#if FLT_MANT_DIG != 24 || FLT_MAX_EXP != 128
#error "float must be IEEE binary32"
#endif

uint64_t rng_next(gen_rng *r) {
    uint64_t z = (r->state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

gen_rng rng_for(uint64_t fixture_seed, const char *tensor_name) {
    uint64_t h = 0xCBF29CE484222325u; /* FNV-1a 64 */
    for (const unsigned char *p = (const unsigned char *)tensor_name; *p; p++) {
        h ^= *p;
        h *= 0x100000001B3u;
    }
    gen_rng r = {fixture_seed ^ h};
    rng_next(&r);
    return r;
}

/* Uniform integer in [-k, k] (the modulo bias is irrelevant: only determinism matters). */
static int64_t rng_sym(gen_rng *r, int64_t k) {
    return (int64_t)(rng_next(r) % (uint64_t)(2 * k + 1)) - k;
}

static void rng_bytes(gen_rng *r, uint8_t *dst, size_t n) {
    while (n) {
        uint64_t x = rng_next(r);
        for (int i = 0; i < 8 && n; i++, n--) *dst++ = (uint8_t)(x >> (8 * i));
    }
}

/* 2^e as a float, exactly (|e| small enough that no step rounds). */
static float pow2f(int e) {
    float v = 1.0f;
    for (; e > 0; e--) v *= 2.0f;
    for (; e < 0; e++) v *= 0.5f;
    return v;
}

uint32_t f32_bits(float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    return u;
}

uint16_t f16_bits_exact(float v) {
    uint32_t u = f32_bits(v);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    if ((u & 0x7FFFFFFFu) == 0) return sign;
    int e = (int)((u >> 23) & 0xFFu) - 127;
    uint32_t mant = u & 0x7FFFFFu;
    if (e < -14 || e > 15 || (mant & 0x1FFFu)) gen_die("%.9g is not an exact normal f16", v);
    return (uint16_t)(sign | (uint32_t)(e + 15) << 10 | mant >> 13);
}

uint16_t bf16_bits_exact(float v) {
    uint32_t u = f32_bits(v);
    if (u & 0xFFFFu) gen_die("%.9g is not an exact bf16", v);
    return (uint16_t)(u >> 16);
}

/* A block scale: (1 + m/8) * 2^e, m random in 0..7, e clamped to the normal f16 range. */
static uint16_t f16_scale(gen_rng *r, int e) {
    if (e < -14) e = -14;
    if (e > 15) e = 15;
    return (uint16_t)((uint32_t)(e + 15) << 10 | (uint32_t)(rng_next(r) & 7u) << 7);
}

/* ---- plain types: one element per "block" --------------------------------------------- */
/* A weight is k * 2^(wexp - bits) with k uniform in [-2^bits, 2^bits]: |w| <= 2^wexp and k
 * fits the type's significand (F32 24 bits, F16 11, BF16 8), so the value is exact. */

static float plain_weight(gen_rng *r, int wexp, int bits) {
    return (float)rng_sym(r, (int64_t)1 << bits) * pow2f(wexp - bits);
}

static void fill_f32(uint8_t *dst, gen_rng *r, int wexp) {
    put_u32le(dst, f32_bits(plain_weight(r, wexp, 20)));
}

static void fill_f16(uint8_t *dst, gen_rng *r, int wexp) {
    put_u16le(dst, f16_bits_exact(plain_weight(r, wexp, 10)));
}

static void fill_bf16(uint8_t *dst, gen_rng *r, int wexp) {
    put_u16le(dst, bf16_bits_exact(plain_weight(r, wexp, 7)));
}

/* ---- 32-element blocks ---------------------------------------------------------------- */

static void fill_q4_0(uint8_t *b, gen_rng *r, int t) {
    put_u16le(b, f16_scale(r, t - 3));            /* |q - 8| <= 8 */
    rng_bytes(r, b + 2, 16);
}

static void fill_q4_1(uint8_t *b, gen_rng *r, int t) {
    put_u16le(b, f16_scale(r, t - 4));            /* q <= 15 */
    put_u16le(b + 2, 0x8000u | f16_scale(r, t - 1)); /* m < 0 centres the range */
    rng_bytes(r, b + 4, 16);
}

static void fill_q5_0(uint8_t *b, gen_rng *r, int t) {
    put_u16le(b, f16_scale(r, t - 4));            /* |q - 16| <= 16 */
    rng_bytes(r, b + 2, 4 + 16);
}

static void fill_q5_1(uint8_t *b, gen_rng *r, int t) {
    put_u16le(b, f16_scale(r, t - 5));            /* q <= 31 */
    put_u16le(b + 2, 0x8000u | f16_scale(r, t - 1));
    rng_bytes(r, b + 4, 4 + 16);
}

static void fill_q8_0(uint8_t *b, gen_rng *r, int t) {
    put_u16le(b, f16_scale(r, t - 7));            /* |q| <= 128 */
    rng_bytes(r, b + 2, 32);
}

/* ---- 256-element super-blocks ---------------------------------------------------------- */

static void fill_q2_k(uint8_t *b, gen_rng *r, int t) {
    rng_bytes(r, b, 16 + 64);                      /* scales, qs */
    put_u16le(b + 80, f16_scale(r, t - 6));       /* sc*q <= 45 */
    put_u16le(b + 82, f16_scale(r, t - 6));       /* dmin */
}

static void fill_q3_k(uint8_t *b, gen_rng *r, int t) {
    rng_bytes(r, b, 32 + 64 + 12);                 /* hmask, qs, scales */
    put_u16le(b + 108, f16_scale(r, t - 7));      /* |(sc-32)*q3| <= 128 */
}

static void fill_q4_k(uint8_t *b, gen_rng *r, int t) {
    put_u16le(b, f16_scale(r, t - 10));           /* sc*q <= 945 */
    put_u16le(b + 2, f16_scale(r, t - 7));        /* dmin * mn <= 63 dmin */
    rng_bytes(r, b + 4, 12 + 128);
}

static void fill_q5_k(uint8_t *b, gen_rng *r, int t) {
    put_u16le(b, f16_scale(r, t - 11));           /* sc*q <= 1953 */
    put_u16le(b + 2, f16_scale(r, t - 7));
    rng_bytes(r, b + 4, 12 + 32 + 128);
}

static void fill_q6_k(uint8_t *b, gen_rng *r, int t) {
    rng_bytes(r, b, 128 + 64 + 16);                /* ql, qh, scales */
    put_u16le(b + 208, f16_scale(r, t - 12));     /* |sc*(q-32)| <= 4096 */
}

static const gen_type types[] = {
    {GT_F32, "F32", "f32", 1, 4, fill_f32},
    {GT_F16, "F16", "f16", 1, 2, fill_f16},
    {GT_BF16, "BF16", "bf16", 1, 2, fill_bf16},
    {GT_Q4_0, "Q4_0", "q4_0", 32, 18, fill_q4_0},
    {GT_Q4_1, "Q4_1", "q4_1", 32, 20, fill_q4_1},
    {GT_Q5_0, "Q5_0", "q5_0", 32, 22, fill_q5_0},
    {GT_Q5_1, "Q5_1", "q5_1", 32, 24, fill_q5_1},
    {GT_Q8_0, "Q8_0", "q8_0", 32, 34, fill_q8_0},
    {GT_Q2_K, "Q2_K", "q2_k", 256, 84, fill_q2_k},
    {GT_Q3_K, "Q3_K", "q3_k", 256, 110, fill_q3_k},
    {GT_Q4_K, "Q4_K", "q4_k", 256, 144, fill_q4_k},
    {GT_Q5_K, "Q5_K", "q5_k", 256, 176, fill_q5_k},
    {GT_Q6_K, "Q6_K", "q6_k", 256, 210, fill_q6_k},
};

const gen_type *gen_type_get(uint32_t id) {
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (types[i].id == id) return &types[i];
    gen_die("unknown tensor type %u", id);
}

void gen_fill_blocks(const gen_type *type, uint8_t *dst, size_t n_blocks, gen_rng *r,
                     int wexp) {
    for (size_t i = 0; i < n_blocks; i++) type->fill(dst + i * type->type_size, r, wexp);
}

void gen_fill_norm(uint8_t *dst, size_t n, gen_rng *r) {
    for (size_t i = 0; i < n; i++)
        put_u32le(dst + 4 * i, f32_bits((float)(64 + rng_sym(r, 8)) * pow2f(-6)));
}
