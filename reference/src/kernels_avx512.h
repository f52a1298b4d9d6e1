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
#endif

#endif
