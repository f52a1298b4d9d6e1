/*
 * kernels_avx2.h — AVX2 kernels (kernels_avx2.c) for the dispatch of kernels.c. Not installed,
 * not public. Same contract as every vector path: the bits of the portable C kernels (SPEC
 * R-NUM-010..012, R-NUM-044); only the speed changes. Call only where gr_have_avx2().
 */
#ifndef GGUFREF_KERNELS_AVX2_H
#define GGUFREF_KERNELS_AVX2_H

#include "internal.h"
#include "simd.h"

#if GR_HAVE_AVX2
/* The AVX2 row kernels of a tensor type (NULL: none); rows of F32/F16/BF16 may end in a
 * partial block of 16. */
const gr_simd_kernels *gr_avx2_for(uint32_t type);
/* dot(a, b, n) by R-NUM-010, n >= 16. */
float gr_avx2_dot_f32(const float *a, const float *b, size_t n);
/* out[r] = dot(q, k + r * stride, n) for r < n_rows (the attention scores), n >= 16. */
void gr_avx2_dot_rows(const float *q, const float *k, size_t stride, size_t n_rows, size_t n,
                      float *out);
/* o[i] = 0, then o[i] = o[i] + w[r] * v[r * stride + i] for r in order (R-NUM-024). */
void gr_avx2_weighted_rows(float *o, const float *w, const float *v, size_t stride,
                           size_t n_rows, size_t n);
/* y[b * y_stride + r] = dot(row r, x + b * x_stride, n) for r < n_rows, b < n_batch; row r
 * at rows + r * row_bytes, of type `type` with the kernels k (of gr_avx2_for or gr_avx512_for).
 * One vector: k's row driver; several: each row decoded once into row_buf (n floats; an
 * aligned F32 row is used in place) and dotted with four vectors at a time. */
void gr_avx2_matmul_rows(const gr_simd_kernels *k, uint32_t type, const uint8_t *rows,
                         size_t row_bytes, size_t n_rows, size_t n, const float *x,
                         size_t x_stride, size_t n_batch, float *y, size_t y_stride,
                         float *row_buf);
#endif

#endif
