/*
 * simd.h — what the vector kernels (kernels.c, mathx.c) need to pick a path at run time.
 * Not installed, not public.
 *
 * GR_HAVE_AVX2 is 1 where AVX2 code can be compiled (x86-64, gcc or clang, and not a
 * -DGGUFREF_NO_SIMD build); such code is marked GR_TARGET_AVX2 and only called when
 * gr_have_avx2() says the machine runs it. Every vector kernel computes the bits of its
 * portable C counterpart (SPEC R-NUM-044), so the choice only changes the speed.
 */
#ifndef GGUFREF_SIMD_H
#define GGUFREF_SIMD_H

#include <stdbool.h>

#if !defined(GGUFREF_NO_SIMD) && defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define GR_HAVE_AVX2 1
#include <immintrin.h>
/* AVX2 and F16C: every processor with AVX2 also has F16C (Intel since Haswell, AMD since
 * Excavator), and clang's __builtin_cpu_supports cannot name F16C. */
#define GR_TARGET_AVX2 __attribute__((target("avx2,f16c")))
static inline bool gr_have_avx2(void) { return __builtin_cpu_supports("avx2"); }
#else
#define GR_HAVE_AVX2 0
static inline bool gr_have_avx2(void) { return false; }
#endif

#if defined(__GNUC__) || defined(__clang__)
#define GR_ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define GR_ALWAYS_INLINE inline
#endif

#endif
