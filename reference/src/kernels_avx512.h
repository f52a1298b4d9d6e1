/*
 * kernels_avx512.h — AVX-512 row kernels (kernels_avx512.c) for the dispatch of kernels.c.
 * Not installed, not public. Same contract as every vector path: the bits of the portable C
 * kernels (SPEC R-NUM-010..012, R-NUM-044); only the speed changes.
 */
#ifndef GGUFREF_KERNELS_AVX512_H
#define GGUFREF_KERNELS_AVX512_H

#include "internal.h"
#include "simd.h"

#if GR_HAVE_AVX512
/* The AVX-512 kernels of a tensor type (NULL: none). Their rows must be whole blocks. Call only
 * where gr_have_avx512(). */
const gr_simd_kernels *gr_avx512_for(uint32_t type);
/* y[v * y_stride + r] = dot(row r, x + v * x_stride, n) (R-NUM-012, 043) for r < n_rows and
 * v < n_batch <= GGUFREF_MAX_BATCH; row r at rows + r * row_bytes, of the type of k (k from
 * gr_avx512_for), n a multiple of 16 and of the block size. Allocates nothing. */
/* gr_weighted_rows of kernels.h (R-NUM-024, element-wise: the same bits at any width). */
void gr_avx512_weighted_rows(float *o, const float *w, const float *v, size_t stride,
                             size_t n_rows, size_t n);
void gr_avx512_matmul_batch(const gr_simd_kernels *k, const uint8_t *rows, size_t row_bytes,
                            size_t n_rows, size_t n, const float *x, size_t x_stride,
                            size_t n_batch, float *y, size_t y_stride);
#endif

#endif
