/*
 * mathx.c — libm-independent elementary functions (see mathx.h).
 *
 * gr_expf(x), algorithm (every step an IEEE binary64 basic operation, round to nearest):
 *
 *   1. Special cases: NaN -> x; x > 89 -> +inf; x < -104 -> +0 (e^89 > FLT_MAX and
 *      e^-104 < half the smallest subnormal 2^-150, so these are the correctly rounded values).
 *   2. k = nearest integer to x * log2(e) (ties away from zero), an int in [-151, 129].
 *   3. r = (x - k * LN2_HI) - k * LN2_LO, with LN2_HI holding the top 32 bits of ln 2 so that
 *      k * LN2_HI is exact; |r| <= 0.3466 + 2^-40.
 *   4. p = e^r by Horner's rule on the degree-13 Taylor polynomial (coefficients 1/i!, as
 *      binary64 constants), truncation error < 2^-59 relative.
 *   5. result = (float)(p * 2^k): 2^k is built from its bits (a normal binary64 for every k
 *      above), so the product is exact-or-one-rounding, and the conversion to binary32 rounds
 *      to nearest-even, including into the subnormal range.
 *
 * The binary64 value carries ~52 correct bits, so the final rounding to 24 bits is correct
 * unless e^x lies within ~2^-52 relative of a binary32 rounding boundary. The exhaustive check
 * (all 2^32 binary32 inputs against an extended-precision reference) found no such input, so
 * gr_expf is correctly rounded everywhere; SPEC states it that way and any correctly rounded
 * expf is a conforming replacement.
 */
#include "mathx.h"

#include <stdint.h>
#include <string.h>

/* 2^k as a binary64, for -1022 <= k <= 1023. */
static double pow2_int(int k) {
    uint64_t bits = (uint64_t)(k + 1023) << 52;
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

float gr_expf(float x) {
    static const double LOG2E = 1.4426950408889634;        /* 0x3FF71547652B82FE */
    static const double LN2_HI = 6.93147180369123816490e-01; /* 0x3FE62E42FEE00000 */
    static const double LN2_LO = 1.90821492927058770002e-10; /* 0x3DEA39EF35793C76 */
    if (x != x) return x;
    if (x > 89.0f) return (float)pow2_int(1023) * 2.0f; /* +inf without <math.h> */
    if (x < -104.0f) return 0.0f;
    double xd = (double)x;
    double kd = xd * LOG2E;
    int k = (int)(kd >= 0.0 ? kd + 0.5 : kd - 0.5);
    double r = (xd - (double)k * LN2_HI) - (double)k * LN2_LO;
    /* Horner on sum_{i=0..13} r^i / i! */
    static const double C[14] = {
        1.0,
        1.0,
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5040.0,
        1.0 / 40320.0,
        1.0 / 362880.0,
        1.0 / 3628800.0,
        1.0 / 39916800.0,
        1.0 / 479001600.0,
        1.0 / 6227020800.0,
    };
    double p = C[13];
    for (int i = 12; i >= 0; i--) p = p * r + C[i];
    return (float)(p * pow2_int(k));
}

/* ===================================================================================== */
/* RoPE functions (engineer B): sin/cos of the rotation angle and the frequency power.    */
/* ===================================================================================== */

static float nan_f32(void) {
    uint32_t bits = 0x7fc00000u;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Nearest integer to d (ties away from zero), |d| < 2^62. */
static int64_t round_to_i64(double d) { return (int64_t)(d >= 0.0 ? d + 0.5 : d - 0.5); }

/*
 * gr_sincosf(x), algorithm (binary64 basic operations, round to nearest):
 *
 *   1. NaN, +-inf, |x| >= 2^25 -> NaN, NaN.
 *   2. k = nearest integer to x * (2/pi) (ties away from zero); |k| < 2^25.
 *   3. r = (((x - k*P1) - k*P2) - k*P3) - k*P4, where P1..P3 are consecutive 28-bit pieces of
 *      pi/2 (so each k*Pi is exact) and P4 the next 53 bits; |r| <= pi/4 + 2^-30.
 *   4. S = r + r*z*(S3 + z*(S5 + ... + z*S17)), C = 1 + z*(C2 + z*(C4 + ... + z*C18)),
 *      z = r*r, Sn = (-1)^((n-1)/2)/n!, Cn = (-1)^(n/2)/n! as binary64 constants (Horner).
 *   5. by k mod 4: (sin, cos) = (S, C), (C, -S), (-S, -C), (-C, S); each rounded to binary32.
 *
 * The reduction is accurate to a few binary64 ulps of r (every k*Pi is exact and each
 * subtraction rounds relative to its own, already reduced, result), so both values are within
 * ~2^-50 relative of the true ones: correctly rounded except within 2^-50 of a rounding
 * boundary. The test suite compares them with libm over a range of arguments.
 */
void gr_sincosf(float x, float *s_out, float *c_out) {
    static const double TWO_OVER_PI = 6.36619772367581382433e-01; /* 0x3FE45F306DC9C883 */
    static const double P1 = 1.570796325802803039551e+00;         /* 0x1.921fb54p+0 */
    static const double P2 = 9.920935739593517035246e-10;         /* 0x1.10b461p-30 */
    static const double P3 = 5.721188709663575392916e-18;         /* 0x1.a62633p-58 */
    static const double P4 = 1.644625693632425781963e-26;         /* 0x1.45c06e0e68948p-86 */
    static const double S[8] = {
        -1.0 / 6.0,
        1.0 / 120.0,
        -1.0 / 5040.0,
        1.0 / 362880.0,
        -1.0 / 39916800.0,
        1.0 / 6227020800.0,
        -1.0 / 1307674368000.0,
        1.0 / 355687428096000.0,
    };
    static const double C[9] = {
        -1.0 / 2.0,
        1.0 / 24.0,
        -1.0 / 720.0,
        1.0 / 40320.0,
        -1.0 / 3628800.0,
        1.0 / 479001600.0,
        -1.0 / 87178291200.0,
        1.0 / 20922789888000.0,
        -1.0 / 6402373705728000.0,
    };
    float ax = x < 0.0f ? -x : x;
    if (x != x || !(ax < 33554432.0f)) { /* NaN, inf, >= 2^25 */
        *s_out = nan_f32();
        *c_out = nan_f32();
        return;
    }
    double xd = (double)x;
    int64_t k = round_to_i64(xd * TWO_OVER_PI);
    double kd = (double)k;
    double r = xd - kd * P1;
    r = r - kd * P2;
    r = r - kd * P3;
    r = r - kd * P4;
    double z = r * r;
    double ps = S[7];
    for (int i = 6; i >= 0; i--) ps = ps * z + S[i];
    double sv = r + r * z * ps;
    double pc = C[8];
    for (int i = 7; i >= 0; i--) pc = pc * z + C[i];
    double cv = 1.0 + z * pc;
    switch ((unsigned)(k & 3)) {
    case 0: *s_out = (float)sv; *c_out = (float)cv; break;
    case 1: *s_out = (float)cv; *c_out = (float)-sv; break;
    case 2: *s_out = (float)-sv; *c_out = (float)-cv; break;
    default: *s_out = (float)-cv; *c_out = (float)sv; break;
    }
}

float gr_sinf(float x) {
    float s, c;
    gr_sincosf(x, &s, &c);
    return s;
}

float gr_cosf(float x) {
    float s, c;
    gr_sincosf(x, &s, &c);
    return c;
}

/*
 * gr_powf(b, e), algorithm (binary64 basic operations, round to nearest):
 *
 *   1. b NaN, inf or <= 0, or e NaN or inf -> NaN.
 *   2. ln b: b = m * 2^j with m in [sqrt(1/2), sqrt(2)) (from the bits of (double)b);
 *      f = m - 1, s = f / (2 + f), w = s*s,
 *      ln m = 2s + 2s*w*(1/3 + w*(1/5 + ... + w*(1/23))) (Horner), and
 *      L = j*LN2_HI + (j*LN2_LO + ln m), LN2_HI holding the top 32 bits of ln 2.
 *   3. y = e * L; y > 89 -> +inf, y < -104 -> +0 (outside binary32 range).
 *   4. exp y as gr_expf does it in binary64: n = nearest integer to y * log2(e),
 *      r = (y - n*LN2_HI) - n*LN2_LO, p = sum_{i=0..13} r^i / i! (Horner), result
 *      (float)(p * 2^n).
 *
 * ln b carries ~2^-52 relative error, so the result is within ~|y| * 2^-52 relative of b^e:
 * correctly rounded except near rounding boundaries. RoPE calls it with b = freq_base and
 * e in [0, 1).
 */
float gr_powf(float b, float e) {
    static const double LN2_HI = 6.93147180369123816490e-01; /* 0x3FE62E42FEE00000 */
    static const double LN2_LO = 1.90821492927058770002e-10; /* 0x3DEA39EF35793C76 */
    static const double LOG2E = 1.4426950408889634;          /* 0x3FF71547652B82FE */
    static const double SQRT2 = 1.4142135623730951;          /* 0x3FF6A09E667F3BCD */
    float ae = e < 0.0f ? -e : e;
    if (b != b || !(b > 0.0f) || b > 3.4028234663852886e38f || e != e || ae > 3.4028234663852886e38f) {
        return nan_f32();
    }
    double bd = (double)b;
    uint64_t bits;
    memcpy(&bits, &bd, sizeof bits);
    int j = (int)((bits >> 52) & 0x7ff) - 1023; /* b is normal as a binary64 */
    bits = (bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
    double m;
    memcpy(&m, &bits, sizeof m);
    if (m > SQRT2) {
        m = m * 0.5;
        j = j + 1;
    }
    double f = m - 1.0;
    double s = f / (2.0 + f);
    double w = s * s;
    double q = 1.0 / 23.0;
    for (int i = 21; i >= 3; i -= 2) q = q * w + 1.0 / (double)i;
    double ln_m = 2.0 * s + 2.0 * s * w * q;
    double L = (double)j * LN2_HI + ((double)j * LN2_LO + ln_m);
    double y = (double)e * L;
    if (y > 89.0) return (float)pow2_int(1023) * 2.0f;
    if (y < -104.0) return 0.0f;
    int n = (int)round_to_i64(y * LOG2E);
    double r = (y - (double)n * LN2_HI) - (double)n * LN2_LO;
    double p = 1.0 / 6227020800.0; /* 1/13! */
    static const double INV_FACT[13] = {
        1.0,
        1.0,
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5040.0,
        1.0 / 40320.0,
        1.0 / 362880.0,
        1.0 / 3628800.0,
        1.0 / 39916800.0,
        1.0 / 479001600.0,
    };
    for (int i = 12; i >= 0; i--) p = p * r + INV_FACT[i];
    return (float)(p * pow2_int(n));
}
