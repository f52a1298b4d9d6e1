/*
 * kernels.h — the dot-product kernels of the forward pass (kernels.c, SPEC R-NUM-010..012):
 * lane-blocked dot products and sums, and matrix-vector products over weights in any
 * decodable tensor type, decoded on the fly (quant.h). Not installed, not public.
 *
 * Every result is bit-identical on every path (portable C, AVX2) and for any number of
 * threads (R-NUM-044).
 */
#ifndef GGUFREF_KERNELS_H
#define GGUFREF_KERNELS_H

#include "internal.h"
#include "simd.h" /* GR_LANES */


/* A matrix of weights in the file's layout: n_out rows of n_in elements each, row r at
 * data + r * row_bytes (ggml: ne[0] = n_in is contiguous, ne[1] = n_out). A vector is one row. */
typedef struct gr_weight {
    uint32_t type;          /* ggufref_tensor_type, can_decode */
    const uint8_t *data;    /* view into the mapping (or an owned f32 copy for norms) */
    size_t n_in;            /* elements per row (ne[0]) */
    size_t n_out;           /* rows (ne[1]; 1 for vectors) */
    size_t row_bytes;       /* n_in / block_size * type_size */
} gr_weight;

/* Lane-blocked dot product of n floats (R-NUM-010). */
float gr_dot_f32(const float *a, const float *b, size_t n);
/* out[r] = dot(q, k + r * stride, n) for r < n_rows (R-NUM-010): the attention scores of one
 * head against n_rows cached keys. */
void gr_dot_rows(const float *q, const float *k, size_t stride, size_t n_rows, size_t n, float *out);
/* o[i] = 0, then o[i] = o[i] + w[r] * v[r * stride + i] for r = 0 .. n_rows-1 in order, for
 * i < n (R-NUM-024: element-wise, so any vector width gives the same bits). OUT: o. */
void gr_weighted_rows(float *o, const float *w, const float *v, size_t stride, size_t n_rows,
                      size_t n);
/* Lane-blocked sum of n floats (R-NUM-011). */
float gr_sum_f32(const float *a, size_t n);
/* Dot product of row `row` (n elements of `type`, n a multiple of the block size) with x,
 * equal bit for bit to gr_dot_f32(decode(row), x, n) (R-NUM-012). */
float gr_row_dot(uint32_t type, const uint8_t *row, const float *x, size_t n);
/* The same computed by the portable C kernels only (no SIMD): tests compare the two. */
float gr_row_dot_portable(uint32_t type, const uint8_t *row, const float *x, size_t n);
/* y[r] = gr_row_dot(row r of w, x) for r < w->n_out. OUT: y (n_out floats). */
void gr_matvec(const gr_weight *w, const float *x, float *y);
/* Batched: for b < n_batch, y[b * y_stride + r] = row r of w . x[b * x_stride ...]; every
 * value bit-identical to gr_matvec of that one vector (each row decoded once per batch, into
 * row_buf: w->n_in floats, unused when n_batch == 1 and then may be NULL). */
void gr_matmul(const gr_weight *w, const float *x, size_t x_stride, size_t n_batch, float *y,
               size_t y_stride, float *row_buf);
/* gr_matmul for rows r0 .. r1-1 only (the rows one thread computes, with its own row_buf; no
 * row depends on another, so any split gives the same bits). */
void gr_matmul_rows(const gr_weight *w, const float *x, size_t x_stride, size_t n_batch, float *y,
                    size_t y_stride, size_t r0, size_t r1, float *row_buf);
/* gr_matmul_rows, gr_dot_rows and gr_weighted_rows computed by the portable C kernels only (no
 * SIMD; the dispatchers' fallback): tests compare them with the paths the machine takes. */
void gr_matmul_rows_portable(const gr_weight *w, const float *x, size_t x_stride, size_t n_batch,
                             float *y, size_t y_stride, size_t r0, size_t r1, float *row_buf);
void gr_dot_rows_portable(const float *q, const float *k, size_t stride, size_t n_rows, size_t n,
                          float *out);
void gr_weighted_rows_portable(float *o, const float *w, const float *v, size_t stride,
                               size_t n_rows, size_t n);
/* Decode row `index` of w into out (w->n_in floats). */
void gr_weight_row(const gr_weight *w, size_t index, float *out);
/* Name of the SIMD path gr_row_dot takes on this machine ("avx512", "avx2", "wasm-simd128"
 * or "portable"). */
const char *gr_kernel_path(void);

/* The kernel paths, for tests and benchmarks that run one on purpose (the entry points above
 * take the best the machine has, gr_kpath_best). Every path gives the same bits (R-NUM-044).
 * AVX512 falls back to AVX2 for rows that are not whole blocks. */
typedef enum gr_kpath {
    GR_KPATH_PORTABLE, GR_KPATH_AVX2, GR_KPATH_AVX512,
    GR_KPATH_WASM_SIMD128, /* wasm32 built with -msimd128: kernels_wasm.c */
    GR_KPATH_COUNT
} gr_kpath;
/* Does this build on this machine have path p? (PORTABLE always.) */
bool gr_kpath_available(gr_kpath p);
gr_kpath gr_kpath_best(void);
/* The name of path p ("portable", "avx2", "avx512", "wasm-simd128"; "unknown" out of range). */
const char *gr_kpath_name(gr_kpath p);
/* gr_row_dot, gr_matmul_rows, gr_weight_row on path p (p available). */
float gr_row_dot_on(gr_kpath p, uint32_t type, const uint8_t *row, const float *x, size_t n);
void gr_matmul_rows_on(gr_kpath p, const gr_weight *w, const float *x, size_t x_stride,
                       size_t n_batch, float *y, size_t y_stride, size_t r0, size_t r1,
                       float *row_buf);
void gr_weight_row_on(gr_kpath p, const gr_weight *w, size_t index, float *out);
/* gr_dot_rows, gr_weighted_rows on path p (p available). */
void gr_dot_rows_on(gr_kpath p, const float *q, const float *k, size_t stride, size_t n_rows,
                    size_t n, float *out);
void gr_weighted_rows_on(gr_kpath p, float *o, const float *w, const float *v, size_t stride,
                         size_t n_rows, size_t n);

#endif
