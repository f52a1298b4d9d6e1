/*
 * kernels_wasm.c — WebAssembly SIMD128 row kernels (kernels_wasm.h): Q8_0 decoded straight into
 * the 16 lanes of R-NUM-010, four f32x4 registers (lanes 0-3, 4-7, 8-11, 12-15), the same
 * operations per lane as the portable kernel: y = (f32)q * d (exact), then s = s + y * x (two
 * roundings; wasm has no fused multiply-add in SIMD128 and -ffp-contract=off keeps C from
 * making one). The portable path decodes each 32-element block through a function pointer
 * into a buffer and then accumulates; here a block never leaves the registers.
 */
#include "kernels_wasm.h"

#if GR_HAVE_WASM_SIMD

#include "quant.h"

#include <wasm_simd128.h>

/* Accumulate 16 int8 weights (scaled by d) times 16 floats of x into lanes 0-15. */
static inline void q8_16(v128_t a[4], v128_t q, v128_t d, const float *x) {
    v128_t lo = wasm_i16x8_extend_low_i8x16(q), hi = wasm_i16x8_extend_high_i8x16(q);
    v128_t w[4] = {
        wasm_f32x4_convert_i32x4(wasm_i32x4_extend_low_i16x8(lo)),
        wasm_f32x4_convert_i32x4(wasm_i32x4_extend_high_i16x8(lo)),
        wasm_f32x4_convert_i32x4(wasm_i32x4_extend_low_i16x8(hi)),
        wasm_f32x4_convert_i32x4(wasm_i32x4_extend_high_i16x8(hi)),
    };
    for (int k = 0; k < 4; k++) {
        v128_t y = wasm_f32x4_mul(w[k], d);
        a[k] = wasm_f32x4_add(a[k], wasm_f32x4_mul(y, wasm_v128_load(x + 4 * k)));
    }
}

/* Q8_0: 32 elements in 34 bytes, d (f16) then 32 int8 (R-TYPE-*). */
static float row_dot_q8_0(const uint8_t *row, const float *x, size_t n) {
    v128_t a[4] = {wasm_f32x4_splat(0.0f), wasm_f32x4_splat(0.0f), wasm_f32x4_splat(0.0f),
                   wasm_f32x4_splat(0.0f)};
    for (size_t b = 0; b < n / 32; b++, row += 34, x += 32) {
        v128_t d = wasm_f32x4_splat(gr_f16_to_f32(gr_rd16(row)));
        q8_16(a, wasm_v128_load(row + 2), d, x);
        q8_16(a, wasm_v128_load(row + 18), d, x + 16);
    }
    /* The combining tree of R-NUM-010: w = 8 (lanes l += l+8), w = 4, w = 2, w = 1. */
    v128_t s = wasm_f32x4_add(wasm_f32x4_add(a[0], a[2]), wasm_f32x4_add(a[1], a[3]));
    float s0 = wasm_f32x4_extract_lane(s, 0) + wasm_f32x4_extract_lane(s, 2);
    float s1 = wasm_f32x4_extract_lane(s, 1) + wasm_f32x4_extract_lane(s, 3);
    return s0 + s1;
}

bool gr_wasm_row_type(uint32_t type) { return type == GGUFREF_T_Q8_0; }

float gr_wasm_row_dot(uint32_t type, const uint8_t *row, const float *x, size_t n) {
    (void)type;
    return row_dot_q8_0(row, x, n);
}

#else
typedef int gr_kernels_wasm_unused; /* ISO C: a translation unit declares something */
#endif
