/*
 * kernels.c — the dot-product kernels of the forward pass (SPEC R-NUM-010..012).
 *
 * Every sum in the forward pass is lane-blocked (R-NUM-010): 16 partial sums, element i goes
 * to lane i mod 16 in ascending i, then the lanes are combined by the fixed tree (l += l+8,
 * l += l+4, l += l+2, l += l+1). A dot product with a quantized row is DEFINED as the dot
 * product with its decoded f32 values (R-NUM-012), so the kernels below that decode on the fly
 * (no dequantized copy of a weight ever exists) give exactly the bits of
 * gr_dot_f32(decode(row), x). The portable C kernels are the reference; the AVX2 kernels
 * (selected at run time on x86-64, same arithmetic per lane: a vector of 8 lanes is 8 scalar
 * operations) exist for speed and are tested bit-for-bit against them.
 */
#include "kernels.h"
#include "quant.h"
#include "simd.h"

#include <string.h>

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
        gr_decode_run(type, row + i / ti->block_size * ti->type_size, buf, len);
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
        __m256 d = _mm256_set1_ps(gr_f16_to_f32(gr_rd16(blk)));
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
        __m256 d = _mm256_set1_ps(gr_f16_to_f32(gr_rd16(blk)));
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
        float d = gr_f16_to_f32(gr_rd16(blk));
        float dmin = gr_f16_to_f32(gr_rd16(blk + 2));
        const uint8_t *scales = blk + 4;
        for (int c = 0; c < 4; c++) {
            const uint8_t *q = blk + 16 + 32 * c;
            size_t o = b * 256 + 64 * (size_t)c;
            float k[4];
            gr_k4_chunk(scales, c, d, dmin, k);
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
        float d = gr_f16_to_f32(gr_rd16(blk + 208));
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

#endif

/* ===================================================================================== */
/* Dispatch                                                                               */
/* ===================================================================================== */

float gr_dot_f32(const float *a, const float *b, size_t n) {
#if GR_HAVE_AVX2
    if (n >= GR_LANES && gr_have_avx2()) return dot_f32_avx2(a, b, n);
#endif
    return dot_f32_portable(a, b, n);
}

void gr_dot_rows(const float *q, const float *k, size_t stride, size_t n_rows, size_t n,
                 float *out) {
#if GR_HAVE_AVX2
    if (n >= GR_LANES && gr_have_avx2()) {
        dot_rows_avx2(q, k, stride, n_rows, n, out);
        return;
    }
#endif
    for (size_t r = 0; r < n_rows; r++) out[r] = dot_f32_portable(q, k + r * stride, n);
}
void gr_weighted_rows(float *o, const float *w, const float *v, size_t stride, size_t n_rows,
                      size_t n) {
#if GR_HAVE_AVX2
    if (gr_have_avx2()) {
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
    if (gr_have_avx2()) return row_dot_avx2(type, row, x, n);
#endif
    return gr_row_dot_portable(type, row, x, n);
}

const char *gr_kernel_path(void) { return gr_have_avx2() ? "avx2" : "portable"; }

void gr_matvec(const gr_weight *w, const float *x, float *y) {
#if GR_HAVE_AVX2
    if (gr_have_avx2()) {
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
    if (gr_have_avx2() && decode_row_avx2(w->type, row, out, w->n_in)) return;
#endif
    gr_decode_run(w->type, row, out, w->n_in);
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
