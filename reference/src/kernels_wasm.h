/*
 * kernels_wasm.h — WebAssembly SIMD128 row kernels (kernels_wasm.c) for the dispatch of
 * kernels.c, compiled only for wasm32 with -msimd128 (tools/build-wasm.sh --simd). Not
 * installed, not public. Same contract as the AVX2 kernels: the bits of the portable C kernels
 * (SPEC R-NUM-010..012, R-NUM-044); only the speed changes.
 */
#ifndef GGUFREF_KERNELS_WASM_H
#define GGUFREF_KERNELS_WASM_H

#include "kernels.h"

#if defined(__wasm_simd128__) && !defined(GGUFREF_NO_SIMD)
#define GR_HAVE_WASM_SIMD 1
/* Does a SIMD128 row kernel exist for this type? */
bool gr_wasm_row_type(uint32_t type);
/* gr_row_dot for a type gr_wasm_row_type accepts. */
float gr_wasm_row_dot(uint32_t type, const uint8_t *row, const float *x, size_t n);
/* out[r] = gr_wasm_row_dot(type, row + r * stride, x, n) for r < n_rows (several rows at once). */
void gr_wasm_rows(uint32_t type, const uint8_t *row, size_t stride, size_t n_rows, const float *x,
                  size_t n, float *out);
#else
#define GR_HAVE_WASM_SIMD 0
#endif

#endif
