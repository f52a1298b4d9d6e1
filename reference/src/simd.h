/*
 * simd.h — what the vector kernels (kernels.c, mathx.c) need to pick a path at run time.
 * Not installed, not public.
 *
 * GR_HAVE_AVX2 is 1 where AVX2 code can be compiled (x86-64, gcc or clang, and not a
 * -DGGUFREF_NO_SIMD build); such code is marked GR_TARGET_AVX2 and only called when
 * gr_have_avx2() says the machine runs it. GR_HAVE_AVX512 likewise for AVX-512 (F), marked
 * GR_TARGET_AVX512 and called where gr_have_avx512(); -DGGUFREF_NO_AVX512 leaves it out (the
 * AVX2 path then runs, as on a machine without AVX-512). Every vector kernel computes the bits
 * of its portable C counterpart (SPEC R-NUM-044), so the choice only changes the speed.
 */
#ifndef GGUFREF_SIMD_H
#define GGUFREF_SIMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

#if GR_HAVE_AVX2 && !defined(GGUFREF_NO_AVX512)
#define GR_HAVE_AVX512 1
#define GR_TARGET_AVX512 __attribute__((target("avx512f,avx2,f16c")))
static inline bool gr_have_avx512(void) { return __builtin_cpu_supports("avx512f"); }
#else
#define GR_HAVE_AVX512 0
static inline bool gr_have_avx512(void) { return false; }
#endif

/* The lane count of every reduction (SPEC R-NUM-010). */
#define GR_LANES 16u

/* The fixed combining tree of R-NUM-010: lanes l and l + w for w = 8, 4, 2, 1; returns lane 0
 * (s is overwritten). Every path ends its sums with it or with its vector form. */
static inline float gr_lanes_reduce(float s[GR_LANES]) {
    for (size_t w = GR_LANES / 2; w >= 1; w /= 2) {
        for (size_t l = 0; l < w; l++) s[l] = s[l] + s[l + w];
    }
    return s[0];
}

/* The row kernels of one tensor type on one vector path (kernels.c, kernels_avx512.c):
 *   rows(row, stride, n_rows, x, n, out): out[r] = dot(row r, x, n) (R-NUM-010, 012) for
 *     r < n_rows, row r at row + r * stride;
 *   decode(row, y, n_blocks): the values of n_blocks blocks (R-TYPE-*). */
typedef struct gr_simd_kernels {
    void (*rows)(const uint8_t *row, size_t stride, size_t n_rows, const float *x, size_t n,
                 float *out);
    void (*decode)(const uint8_t *row, float *y, size_t n_blocks);
    uint32_t block_size, type_size;
    bool exact_decode; /* decode gives R-TYPE-* bits for every input (F16: not for sNaN) */
} gr_simd_kernels;

#if defined(__GNUC__) || defined(__clang__)
#define GR_ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define GR_ALWAYS_INLINE inline
#endif

#endif
