/*
 * kernels.c — the dot-product kernels of the forward pass (SPEC R-NUM-010..012).
 *
 * Every sum in the forward pass is lane-blocked (R-NUM-010): 16 partial sums, element i goes
 * to lane i mod 16 in ascending i, then the lanes are combined by the fixed tree (l += l+8,
 * l += l+4, l += l+2, l += l+1). A dot product with a quantized row is DEFINED as the dot
 * product with its decoded f32 values (R-NUM-012), so the kernels below that decode on the fly
 * (no dequantized copy of a weight ever exists) give exactly the bits of
 * gr_dot_f32(decode(row), x). The portable C kernels here are the reference; the vector paths
 * (kernels_avx2.c and kernels_avx512.c on x86-64, picked at run time; kernels_wasm.c in a
 * wasm32 -msimd128 build) exist for speed, compute the same operations per lane, and are tested
 * bit for bit against them on every type (torture_quant, bench_kernels_bits).
 *
 * Layout of this file: portable reductions; portable row kernels; the dispatch (gr_kpath: the
 * best path of the machine, or one chosen by a test or benchmark).
 */
#include "kernels.h"
#include "kernels_avx2.h"   /* x86-64: the AVX2 kernels */
#include "kernels_avx512.h" /* x86-64: the AVX-512 kernels */
#include "kernels_wasm.h" /* wasm32 -msimd128 only: row kernels of kernels_wasm.c */
#include "quant.h"
#include "simd.h"

#include <assert.h>
#include <string.h>

/* GR_UNROLL(n): unroll the next loop n times; GR_NOINLINE: compile a function on its own (gcc,
 * clang; other compilers go without). */
#if defined(__GNUC__) || defined(__clang__)
#define GR_PRAGMA(x) _Pragma(#x)
#define GR_UNROLL(n) GR_PRAGMA(GCC unroll n)
#define GR_NOINLINE __attribute__((noinline))
#else
#define GR_UNROLL(n)
#define GR_NOINLINE
#endif

/* ===================================================================================== */
/* Lane-blocked reductions: portable reference kernels (R-NUM-010..012)                   */
/* ===================================================================================== */

/* s[l] = s[l] + a[i] * b[i] with l = i mod 16, i ascending. Precondition: the elements already
 * in s number a multiple of GR_LANES, so element 0 here goes to lane 0. (The loop over l
 * unrolled: t is then 16 scalars, kept in vector registers; see lanes_chunk_muladd.) */
static inline void lanes_muladd(float s[GR_LANES], const float *a, const float *b, size_t n) {
    float t[GR_LANES]; /* a local copy the compiler keeps in (vector) registers */
    memcpy(t, s, sizeof t);
    size_t i = 0;
    for (; i + GR_LANES <= n; i += GR_LANES) {
        GR_UNROLL(16) for (size_t l = 0; l < GR_LANES; l++) t[l] = t[l] + a[i + l] * b[i + l];
    }
    for (size_t l = 0; i < n; i++, l++) t[l] = t[l] + a[i] * b[i];
    memcpy(s, t, sizeof t);
}

static float dot_f32_portable(const float *a, const float *b, size_t n) {
    float s[GR_LANES] = {0};
    lanes_muladd(s, a, b, n);
    return gr_lanes_reduce(s);
}

float gr_sum_f32(const float *a, size_t n) {
    float s[GR_LANES] = {0};
    size_t i = 0;
    for (; i + GR_LANES <= n; i += GR_LANES) {
        GR_UNROLL(16) for (size_t l = 0; l < GR_LANES; l++) s[l] = s[l] + a[i + l];
    }
    for (size_t l = 0; i < n; i++, l++) s[l] = s[l] + a[i];
    return gr_lanes_reduce(s);
}

/* ===================================================================================== */
/* Portable row kernels                                                                   */
/* ===================================================================================== */

/*
 * Plain C11 that gcc and clang vectorize at -O2 (the path of ARM, POWER, RISC-V and wasm32
 * without SIMD, and of -DGGUFREF_NO_SIMD builds): every loop over lanes has a trip count of 16
 * known at compile time, over local arrays (no aliasing doubt, no early exit). Four rows are
 * decoded together, PR_CHUNK elements at a time, by quant.h's gr_decode_T into a local buffer
 * (element i of the chunk goes to lane i mod 16: every chunk starts at a multiple of 16), and
 * the chunk is then added into the 16 lanes of each row, two rows at a time with their sums in
 * vector registers, so that the chains of additions of the rows overlap (one lane's chain is
 * one addition per 16 elements, in order). A batch of vectors: each chunk of four rows is
 * decoded once and added into the lanes of every vector. Every (row, vector) sum adds its
 * elements in ascending order into lane e mod 16 and ends with the tree of R-NUM-010: the
 * same bits.
 */

#define PR_ROWS 4      /* rows decoded together */
#define PR_CHUNK 256u  /* elements of a row decoded at a time: a multiple of every block size */

/* The lanes of nr rows (nr = 1 or 2, constant after inlining) after len more elements:
 * acc[k][l] = acc[k][l] + w[k * PR_CHUNK + i + l] * x[i + l] for i = 0, 16, .. < len. The sums
 * are held in t meanwhile: with the loops over k and l unrolled first, t is 16 or 32 scalars
 * that the compiler keeps in vector registers (gcc: a group of 16 or 32 independent sums, each
 * vector lane one of them, so nothing is reassociated); the loop over i is the vector loop. */
static GR_ALWAYS_INLINE void lanes_chunk_muladd(int nr, float (*acc)[GR_LANES], const float *w,
                                                const float *x, size_t len) {
    float t[2][GR_LANES];
    memcpy(t, acc, (size_t)nr * sizeof t[0]);
    for (size_t i = 0; i < len; i += GR_LANES) {
        GR_UNROLL(2) for (int k = 0; k < nr; k++) {
            GR_UNROLL(16) for (size_t l = 0; l < GR_LANES; l++) {
                t[k][l] = t[k][l] + w[k * PR_CHUNK + i + l] * x[i + l];
            }
        }
    }
    memcpy(acc, t, (size_t)nr * sizeof t[0]);
}

/* lanes_chunk_muladd for one and two rows, compiled on their own (not inlined into the
 * drivers, whose surroundings kept gcc from vectorizing them in some types' drivers). */
static GR_NOINLINE void lanes_chunk1(float (*acc)[GR_LANES], const float *w, const float *x,
                                     size_t len) {
    lanes_chunk_muladd(1, acc, w, x, len);
}
static GR_NOINLINE void lanes_chunk2(float (*acc)[GR_LANES], const float *w, const float *x,
                                     size_t len) {
    lanes_chunk_muladd(2, acc, w, x, len);
}

/* The lanes of nr rows (PR_ROWS or 1) after the len elements of w (row k at w + k * PR_CHUNK)
 * times x: two rows at a time. */
static GR_ALWAYS_INLINE void lanes_rows_chunk(int nr, float (*acc)[GR_LANES], const float *w,
                                              const float *x, size_t len) {
    if (nr == 1) {
        lanes_chunk1(acc, w, x, len);
        return;
    }
    lanes_chunk2(acc, w, x, len);
    lanes_chunk2(acc + 2, w + 2 * PR_CHUNK, x, len);
}

/* The dot product of the lanes s plus the rest_n (< 16) elements of a plain row at rest with
 * x: they go to lanes 0 .. rest_n-1, then the tree. */
static float finish_portable(float s[GR_LANES], uint32_t type, const uint8_t *rest, const float *x,
                             size_t rest_n) {
    if (rest_n > 0) {
        float v[GR_LANES];
        gr_decode_run(type, rest, v, rest_n);
        for (size_t l = 0; l < rest_n; l++) s[l] = s[l] + v[l] * x[l];
    }
    return gr_lanes_reduce(s);
}

/* One pass of a portable kernel over nr rows (nr = PR_ROWS or 1) and nv vectors:
 *   row k (k < nr) at p + k * gap, n elements: n / BS whole blocks of TS bytes, then (plain
 *     types only, BS = 16) n mod 16 elements;
 *   vector v (v < nv <= GGUFREF_MAX_BATCH) at x + v * x_stride;
 *   y[v * y_stride + k * y_gap] = dot(row k, vector v). */
typedef struct pr_pass {
    const uint8_t *p;
    size_t gap;
    const float *x;
    size_t x_stride, nv, n;
    float *y;
    size_t y_gap, y_stride;
} pr_pass;

/* ---- Per type ----------------------------------------------------------------------------
 * pass_T(nr, a): the pass a over nr rows (nr constant after inlining): the rows are decoded
 *   PR_CHUNK elements at a time into w (row k at w + k * PR_CHUNK), once for all vectors, and
 *   added into acc[v][k], the lanes of (row k, vector v);
 * prows_T(row, stride, n_rows, x, n, out): out[r] = dot(row r, x) for r < n_rows (row r at
 *   row + r * stride), four rows at a time from the four quarters of the rows (four long
 *   sequential streams, as the vector drivers);
 * pbatch_T(row, stride, n_rows, x, x_stride, n_batch, n, y, y_stride): y[b * y_stride + r] =
 *   dot(row r, vector b) for r < n_rows, b < n_batch: four consecutive rows at a time, up to
 *   GGUFREF_MAX_BATCH vectors per pass. */
#define GR_PORTABLE_ROWS(T, TYPE, BS, TS, DECODE)                                                  \
    static GR_ALWAYS_INLINE void pass_##T(int nr, const pr_pass *a) {                              \
        float acc[GGUFREF_MAX_BATCH][PR_ROWS][GR_LANES], w[PR_ROWS * PR_CHUNK];                    \
        size_t nb = a->n / (BS), whole = nb * (BS);                                                \
        memset(acc, 0, a->nv * sizeof acc[0]);                                                     \
        for (size_t e = 0; e < whole; e += PR_CHUNK) {                                             \
            size_t len = whole - e < PR_CHUNK ? whole - e : PR_CHUNK;                              \
            const uint8_t *q = a->p + e / (BS) * (TS);                                             \
            for (int k = 0; k < nr; k++) {                                                         \
                for (size_t j = 0; j < len / (BS); j++) {                                          \
                    DECODE(q + k * a->gap + j * (TS), w + k * PR_CHUNK + j * (BS));                \
                }                                                                                  \
            }                                                                                      \
            for (size_t v = 0; v < a->nv; v++) {                                                   \
                lanes_rows_chunk(nr, acc[v], w, a->x + v * a->x_stride + e, len);                  \
            }                                                                                      \
        }                                                                                          \
        for (size_t v = 0; v < a->nv; v++) {                                                       \
            for (int k = 0; k < nr; k++) {                                                         \
                a->y[v * a->y_stride + k * a->y_gap] = finish_portable(                            \
                    acc[v][k], TYPE, a->p + k * a->gap + nb * (TS), a->x + v * a->x_stride + whole, \
                    a->n - whole);                                                                 \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
    static void prows_##T(const uint8_t *row, size_t stride, size_t n_rows, const float *x,       \
                          size_t n, float *out) {                                                  \
        size_t quarter = n_rows / PR_ROWS;                                                         \
        for (size_t r = 0; r < quarter; r++) {                                                     \
            pr_pass a = {row + r * stride, quarter * stride, x, 0, 1, n, out + r, quarter, 0};      \
            pass_##T(PR_ROWS, &a);                                                                 \
        }                                                                                          \
        for (size_t r = PR_ROWS * quarter; r < n_rows; r++) {                                      \
            pr_pass a = {row + r * stride, 0, x, 0, 1, n, out + r, 0, 0};                          \
            pass_##T(1, &a);                                                                       \
        }                                                                                          \
    }                                                                                              \
    static void pbatch_##T(const uint8_t *row, size_t stride, size_t n_rows, const float *x,      \
                           size_t x_stride, size_t n_batch, size_t n, float *y, size_t y_stride) { \
        for (size_t v0 = 0; v0 < n_batch; v0 += GGUFREF_MAX_BATCH) {                               \
            size_t nv = n_batch - v0 < GGUFREF_MAX_BATCH ? n_batch - v0 : GGUFREF_MAX_BATCH;       \
            const float *xv = x + v0 * x_stride;                                                   \
            float *yv = y + v0 * y_stride;                                                         \
            size_t r = 0;                                                                          \
            for (; r + PR_ROWS <= n_rows; r += PR_ROWS) {                                          \
                pr_pass a = {row + r * stride, stride, xv, x_stride, nv, n, yv + r, 1, y_stride};  \
                pass_##T(PR_ROWS, &a);                                                             \
            }                                                                                      \
            for (; r < n_rows; r++) {                                                              \
                pr_pass a = {row + r * stride, 0, xv, x_stride, nv, n, yv + r, 0, y_stride};       \
                pass_##T(1, &a);                                                                   \
            }                                                                                      \
        }                                                                                          \
    }

GR_PORTABLE_ROWS(f32, GGUFREF_T_F32, 16, 64, gr_decode_f32x16)
GR_PORTABLE_ROWS(f16, GGUFREF_T_F16, 16, 32, gr_decode_f16x16)
GR_PORTABLE_ROWS(bf16, GGUFREF_T_BF16, 16, 32, gr_decode_bf16x16)
GR_PORTABLE_ROWS(q4_0, GGUFREF_T_Q4_0, 32, 18, gr_decode_q4_0)
GR_PORTABLE_ROWS(q4_1, GGUFREF_T_Q4_1, 32, 20, gr_decode_q4_1)
GR_PORTABLE_ROWS(q5_0, GGUFREF_T_Q5_0, 32, 22, gr_decode_q5_0)
GR_PORTABLE_ROWS(q5_1, GGUFREF_T_Q5_1, 32, 24, gr_decode_q5_1)
GR_PORTABLE_ROWS(q8_0, GGUFREF_T_Q8_0, 32, 34, gr_decode_q8_0)
GR_PORTABLE_ROWS(q2_k, GGUFREF_T_Q2_K, 256, 84, gr_decode_q2_k)
GR_PORTABLE_ROWS(q3_k, GGUFREF_T_Q3_K, 256, 110, gr_decode_q3_k)
GR_PORTABLE_ROWS(q4_k, GGUFREF_T_Q4_K, 256, 144, gr_decode_q4_k)
GR_PORTABLE_ROWS(q5_k, GGUFREF_T_Q5_K, 256, 176, gr_decode_q5_k)
GR_PORTABLE_ROWS(q6_k, GGUFREF_T_Q6_K, 256, 210, gr_decode_q6_k)

/* The portable kernels of a decodable type (every one has them). */
typedef struct portable_kernels {
    void (*rows)(const uint8_t *row, size_t stride, size_t n_rows, const float *x, size_t n,
                 float *out);
    void (*batch)(const uint8_t *row, size_t stride, size_t n_rows, const float *x,
                  size_t x_stride, size_t n_batch, size_t n, float *y, size_t y_stride);
} portable_kernels;

static const portable_kernels *portable_for(uint32_t type) {
#define K(T) {prows_##T, pbatch_##T}
    static const portable_kernels table[] = {K(f32),  K(f16),  K(bf16), K(q4_0), K(q4_1),
                                             K(q5_0), K(q5_1), K(q8_0), K(q2_k), K(q3_k),
                                             K(q4_k), K(q5_k), K(q6_k)};
#undef K
    switch (type) {
    case GGUFREF_T_F32: return &table[0];
    case GGUFREF_T_F16: return &table[1];
    case GGUFREF_T_BF16: return &table[2];
    case GGUFREF_T_Q4_0: return &table[3];
    case GGUFREF_T_Q4_1: return &table[4];
    case GGUFREF_T_Q5_0: return &table[5];
    case GGUFREF_T_Q5_1: return &table[6];
    case GGUFREF_T_Q8_0: return &table[7];
    case GGUFREF_T_Q2_K: return &table[8];
    case GGUFREF_T_Q3_K: return &table[9];
    case GGUFREF_T_Q4_K: return &table[10];
    case GGUFREF_T_Q5_K: return &table[11];
    case GGUFREF_T_Q6_K: return &table[12];
    default: return NULL;
    }
}

/* Portable quantized row dot (R-NUM-010, 012): the row kernel of its type on one row. */
float gr_row_dot_portable(uint32_t type, const uint8_t *row, const float *x, size_t n) {
    const portable_kernels *k = portable_for(type);
    assert(k != NULL); /* a decodable type */
    float out;
    k->rows(row, 0, 1, x, n, &out);
    return out;
}

/* Rows r0 .. r1-1 of w times n_batch vectors, portable (row_buf unused: no row is decoded
 * whole). */
void gr_matmul_rows_portable(const gr_weight *w, const float *x, size_t x_stride, size_t n_batch,
                             float *y, size_t y_stride, size_t r0, size_t r1, float *row_buf) {
    (void)row_buf;
    if (r0 >= r1) return;
    const portable_kernels *k = portable_for(w->type);
    assert(k != NULL);
    const uint8_t *rows = w->data + r0 * w->row_bytes;
    if (n_batch == 1) k->rows(rows, w->row_bytes, r1 - r0, x, w->n_in, y + r0);
    else k->batch(rows, w->row_bytes, r1 - r0, x, x_stride, n_batch, w->n_in, y + r0, y_stride);
}

/* The attention kernels, portable (R-NUM-010, R-NUM-024). The scores: the cached keys as the
 * rows of an F32 matrix. */
void gr_dot_rows_portable(const float *q, const float *k, size_t stride, size_t n_rows, size_t n,
                          float *out) {
    prows_f32((const uint8_t *)(const void *)k, stride * sizeof(float), n_rows, q, n, out);
}

/* 16 outputs stay in a local array while every row adds into them (element-wise: the same
 * operations in the same order as one output at a time). */
void gr_weighted_rows_portable(float *o, const float *w, const float *v, size_t stride,
                               size_t n_rows, size_t n) {
    size_t i = 0;
    for (; i + GR_LANES <= n; i += GR_LANES) {
        float a[GR_LANES] = {0};
        for (size_t r = 0; r < n_rows; r++) {
            const float *vr = v + r * stride + i;
            GR_UNROLL(16) for (size_t l = 0; l < GR_LANES; l++) a[l] = a[l] + w[r] * vr[l];
        }
        memcpy(o + i, a, sizeof a);
    }
    for (; i < n; i++) {
        float a = 0.0f;
        for (size_t r = 0; r < n_rows; r++) a = a + w[r] * v[r * stride + i];
        o[i] = a;
    }
}

/* ===================================================================================== */
/* Dispatch                                                                               */
/* ===================================================================================== */

float gr_dot_f32(const float *a, const float *b, size_t n) {
#if GR_HAVE_AVX2
    if (n >= GR_LANES && gr_have_avx2()) return gr_avx2_dot_f32(a, b, n);
#endif
    return dot_f32_portable(a, b, n);
}

void gr_dot_rows_on(gr_kpath p, const float *q, const float *k, size_t stride, size_t n_rows,
                    size_t n, float *out) {
#if GR_HAVE_AVX2
    if (n >= GR_LANES && p != GR_KPATH_PORTABLE) {
        gr_avx2_dot_rows(q, k, stride, n_rows, n, out); /* F32: AVX2 on the AVX-512 path too */
        return;
    }
#endif
    (void)p;
    gr_dot_rows_portable(q, k, stride, n_rows, n, out);
}

void gr_dot_rows(const float *q, const float *k, size_t stride, size_t n_rows, size_t n,
                 float *out) {
    gr_dot_rows_on(gr_kpath_best(), q, k, stride, n_rows, n, out);
}

void gr_weighted_rows_on(gr_kpath p, float *o, const float *w, const float *v, size_t stride,
                         size_t n_rows, size_t n) {
#if GR_HAVE_AVX512
    if (p == GR_KPATH_AVX512) {
        gr_avx512_weighted_rows(o, w, v, stride, n_rows, n);
        return;
    }
#endif
#if GR_HAVE_AVX2
    if (p != GR_KPATH_PORTABLE) {
        gr_avx2_weighted_rows(o, w, v, stride, n_rows, n);
        return;
    }
#endif
    (void)p;
    gr_weighted_rows_portable(o, w, v, stride, n_rows, n);
}

void gr_weighted_rows(float *o, const float *w, const float *v, size_t stride, size_t n_rows,
                      size_t n) {
    gr_weighted_rows_on(gr_kpath_best(), o, w, v, stride, n_rows, n);
}

#if GR_HAVE_AVX2
/* The row kernels path p uses for rows of n elements of a type: AVX-512 for whole blocks,
 * else AVX2 (the AVX-512 path's rows of F32/F16/BF16 with n mod 16 != 0); NULL: portable C
 * (or no vector kernel for the type). p must be available. */
static const gr_simd_kernels *kernels_on(gr_kpath p, uint32_t type, size_t n) {
    (void)n; /* unused without AVX-512 */
#if GR_HAVE_AVX512
    if (p == GR_KPATH_AVX512) {
        const gr_simd_kernels *k = gr_avx512_for(type);
        if (k != NULL && n % k->block_size == 0) return k;
    }
#endif
    return p != GR_KPATH_PORTABLE ? gr_avx2_for(type) : NULL;
}
#endif

bool gr_kpath_available(gr_kpath p) {
    switch (p) {
    case GR_KPATH_PORTABLE: return true;
    case GR_KPATH_AVX2: return gr_have_avx2();
    case GR_KPATH_AVX512: return gr_have_avx512();
    case GR_KPATH_WASM_SIMD128: return GR_HAVE_WASM_SIMD;
    default: return false;
    }
}

gr_kpath gr_kpath_best(void) {
    return gr_have_avx512() ? GR_KPATH_AVX512 : gr_have_avx2() ? GR_KPATH_AVX2
           : GR_HAVE_WASM_SIMD ? GR_KPATH_WASM_SIMD128 : GR_KPATH_PORTABLE;
}

float gr_row_dot_on(gr_kpath p, uint32_t type, const uint8_t *row, const float *x, size_t n) {
    (void)p;
#if GR_HAVE_AVX2
    const gr_simd_kernels *k = kernels_on(p, type, n);
    if (k != NULL) {
        float out;
        k->rows(row, 0, 1, x, n, &out);
        return out;
    }
#endif
#if GR_HAVE_WASM_SIMD
    if (p == GR_KPATH_WASM_SIMD128 && gr_wasm_row_type(type)) return gr_wasm_row_dot(type, row, x, n);
#endif
    return gr_row_dot_portable(type, row, x, n);
}

float gr_row_dot(uint32_t type, const uint8_t *row, const float *x, size_t n) {
    return gr_row_dot_on(gr_kpath_best(), type, row, x, n);
}

const char *gr_kpath_name(gr_kpath p) {
    static const char *const names[GR_KPATH_COUNT] = {"portable", "avx2", "avx512", "wasm-simd128"};
    return (unsigned)p < GR_KPATH_COUNT ? names[p] : "unknown";
}

const char *gr_kernel_path(void) { return gr_kpath_name(gr_kpath_best()); }

void gr_matmul_rows_on(gr_kpath p, const gr_weight *w, const float *x, size_t x_stride,
                       size_t n_batch, float *y, size_t y_stride, size_t r0, size_t r1,
                       float *row_buf) {
    (void)p;
    if (r0 >= r1) return;
#if GR_HAVE_AVX2
    const gr_simd_kernels *k = kernels_on(p, w->type, w->n_in);
    if (k != NULL) {
#if GR_HAVE_AVX512
        if (p == GR_KPATH_AVX512 && n_batch > 1 && n_batch <= GGUFREF_MAX_BATCH &&
            w->n_in % GR_LANES == 0 && w->n_in % k->block_size == 0) {
            gr_avx512_matmul_batch(k, w->data + r0 * w->row_bytes, w->row_bytes, r1 - r0, w->n_in,
                                   x, x_stride, n_batch, y + r0, y_stride);
            return;
        }
#endif
        gr_avx2_matmul_rows(k, w->type, w->data + r0 * w->row_bytes, w->row_bytes, r1 - r0, w->n_in,
                            x, x_stride, n_batch, y + r0, y_stride, row_buf);
        return;
    }
#endif
#if GR_HAVE_WASM_SIMD
    if (p == GR_KPATH_WASM_SIMD128 && n_batch == 1 && gr_wasm_row_type(w->type)) {
        gr_wasm_rows(w->type, w->data + r0 * w->row_bytes, w->row_bytes, r1 - r0, x, w->n_in, y + r0);
        return;
    }
#endif
    gr_matmul_rows_portable(w, x, x_stride, n_batch, y, y_stride, r0, r1, row_buf);
}

void gr_matmul_rows(const gr_weight *w, const float *x, size_t x_stride, size_t n_batch, float *y,
                    size_t y_stride, size_t r0, size_t r1, float *row_buf) {
    gr_matmul_rows_on(gr_kpath_best(), w, x, x_stride, n_batch, y, y_stride, r0, r1, row_buf);
}

void gr_matvec(const gr_weight *w, const float *x, float *y) {
    gr_matmul_rows(w, x, 0, 1, y, 0, 0, w->n_out, NULL);
}

void gr_matmul(const gr_weight *w, const float *x, size_t x_stride, size_t n_batch, float *y,
               size_t y_stride, float *row_buf) {
    gr_matmul_rows(w, x, x_stride, n_batch, y, y_stride, 0, w->n_out, row_buf);
}

void gr_weight_row_on(gr_kpath p, const gr_weight *w, size_t index, float *out) {
    const uint8_t *row = w->data + index * w->row_bytes;
#if GR_HAVE_AVX2
    const gr_simd_kernels *k = kernels_on(p, w->type, w->n_in);
    if (k != NULL && k->exact_decode) {
        size_t nb = w->n_in / k->block_size, done = nb * k->block_size;
        k->decode(row, out, nb);
        if (done < w->n_in) gr_decode_run(w->type, row + nb * k->type_size, out + done, w->n_in - done);
        return;
    }
#endif
    (void)p;
    gr_decode_run(w->type, row, out, w->n_in);
}

void gr_weight_row(const gr_weight *w, size_t index, float *out) {
    gr_weight_row_on(gr_kpath_best(), w, index, out);
}
