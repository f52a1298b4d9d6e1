/*
 * mathx.c — libm-independent elementary functions (see mathx.h).
 *
 * gr_expf(x), algorithm (every step an IEEE binary64 basic operation, round to nearest):
 *
 *   1. Special cases: NaN -> x; x > 89 -> +inf; x < -104 -> +0 (e^89 > FLT_MAX and
 *      e^-104 < half the smallest subnormal 2^-150, so these are the correctly rounded values).
 *   2. k = nearest integer to x * 64/ln 2 (ties away from zero), |k| <= 9603;
 *      j = k mod 64 in [0, 64), n = (k - j) / 64.
 *   3. r = (x - k * LN2_64_HI) - k * LN2_64_LO, where LN2_64_HI is the top 32 bits of ln 2 / 64
 *      (so k * LN2_64_HI is exact) and LN2_64_LO the next 53; |r| <= ln 2 / 128 + 2^-40.
 *   4. q = e^r - 1 = r * (1 + r * (1/2 + r * (1/6 + r * (1/24 + r * (1/120 + r/720))))),
 *      truncation error < 2^-64 relative.
 *   5. 2^(j/64) = TH[j] + TL[j], a double-double table (TH the binary64 nearest to 2^(j/64),
 *      TL the binary64 nearest to the rest); v = TH + (TH * q + TL) ~ 2^(j/64) e^r.
 *   6. result = (float)(v * 2^n): 2^n is built from its bits (a normal binary64 for every n
 *      above), the product is exact, and the conversion to binary32 rounds to nearest-even,
 *      including into the subnormal range.
 *
 * v is within ~2^-53 relative of e^x, so the final rounding to 24 bits is correct unless e^x
 * lies within that distance of a binary32 rounding boundary. The exhaustive check (all 2^32
 * binary32 inputs against an extended-precision reference, disagreements settled with 60-digit
 * decimal arithmetic) found no such input: gr_expf is correctly rounded everywhere, SPEC states
 * it that way, and any correctly rounded expf is a conforming replacement. (An earlier
 * Taylor-13 version gave the same bits at 1.6x the cost.)
 */
#include "mathx.h"
#include "simd.h"

#include <stdint.h>
#include <string.h>

/* 2^k as a binary64, for -1022 <= k <= 1023. */
static double pow2_int(int k) {
    uint64_t bits = (uint64_t)(k + 1023) << 52;
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* Nearest integer to d (ties away from zero), |d| < 2^62. */
static int64_t round_to_i64(double d) { return (int64_t)(d >= 0.0 ? d + 0.5 : d - 0.5); }

/* c[0] + z * (c[1] + z * (... + z * c[n - 1])) by Horner's rule in binary64, n >= 1: p = c[n - 1],
 * then p = p * z + c[i] for i = n - 2 down to 0, each operation rounded in that order. */
static double horner(const double *c, int n, double z) {
    double p = c[n - 1];
    for (int i = n - 2; i >= 0; i--) p = p * z + c[i];
    return p;
}

/* 2^(j/64) for j = 0..63 as {TH, TL}: TH the binary64 nearest to 2^(j/64), TL the binary64
 * nearest to 2^(j/64) - TH (computed with 80-digit decimal arithmetic). */
static const double EXP2_J64[64][2] = {
    {0x1.0000000000000p+0, 0x0.0p+0},
    {0x1.02c9a3e778061p+0, -0x1.19083535b085dp-56},
    {0x1.059b0d3158574p+0, 0x1.d73e2a475b465p-55},
    {0x1.0874518759bc8p+0, 0x1.186be4bb284ffp-57},
    {0x1.0b5586cf9890fp+0, 0x1.8a62e4adc610bp-54},
    {0x1.0e3ec32d3d1a2p+0, 0x1.03a1727c57b53p-59},
    {0x1.11301d0125b51p+0, -0x1.6c51039449b3ap-54},
    {0x1.1429aaea92de0p+0, -0x1.32fbf9af1369ep-54},
    {0x1.172b83c7d517bp+0, -0x1.19041b9d78a76p-55},
    {0x1.1a35beb6fcb75p+0, 0x1.e5b4c7b4968e4p-55},
    {0x1.1d4873168b9aap+0, 0x1.e016e00a2643cp-54},
    {0x1.2063b88628cd6p+0, 0x1.dc775814a8495p-55},
    {0x1.2387a6e756238p+0, 0x1.9b07eb6c70573p-54},
    {0x1.26b4565e27cddp+0, 0x1.2bd339940e9d9p-55},
    {0x1.29e9df51fdee1p+0, 0x1.612e8afad1255p-55},
    {0x1.2d285a6e4030bp+0, 0x1.0024754db41d5p-54},
    {0x1.306fe0a31b715p+0, 0x1.6f46ad23182e4p-55},
    {0x1.33c08b26416ffp+0, 0x1.32721843659a6p-54},
    {0x1.371a7373aa9cbp+0, -0x1.63aeabf42eae2p-54},
    {0x1.3a7db34e59ff7p+0, -0x1.5e436d661f5e3p-56},
    {0x1.3dea64c123422p+0, 0x1.ada0911f09ebcp-55},
    {0x1.4160a21f72e2ap+0, -0x1.ef3691c309278p-58},
    {0x1.44e086061892dp+0, 0x1.89b7a04ef80d0p-59},
    {0x1.486a2b5c13cd0p+0, 0x1.3c1a3b69062f0p-56},
    {0x1.4bfdad5362a27p+0, 0x1.d4397afec42e2p-56},
    {0x1.4f9b2769d2ca7p+0, -0x1.4b309d25957e3p-54},
    {0x1.5342b569d4f82p+0, -0x1.07abe1db13cadp-55},
    {0x1.56f4736b527dap+0, 0x1.9bb2c011d93adp-54},
    {0x1.5ab07dd485429p+0, 0x1.6324c054647adp-54},
    {0x1.5e76f15ad2148p+0, 0x1.ba6f93080e65ep-54},
    {0x1.6247eb03a5585p+0, -0x1.383c17e40b497p-54},
    {0x1.6623882552225p+0, -0x1.bb60987591c34p-54},
    {0x1.6a09e667f3bcdp+0, -0x1.bdd3413b26456p-54},
    {0x1.6dfb23c651a2fp+0, -0x1.bbe3a683c88abp-57},
    {0x1.71f75e8ec5f74p+0, -0x1.16e4786887a99p-55},
    {0x1.75feb564267c9p+0, -0x1.0245957316dd3p-54},
    {0x1.7a11473eb0187p+0, -0x1.41577ee04992fp-55},
    {0x1.7e2f336cf4e62p+0, 0x1.05d02ba15797ep-56},
    {0x1.82589994cce13p+0, -0x1.d4c1dd41532d8p-54},
    {0x1.868d99b4492edp+0, -0x1.fc6f89bd4f6bap-54},
    {0x1.8ace5422aa0dbp+0, 0x1.6e9f156864b27p-54},
    {0x1.8f1ae99157736p+0, 0x1.5cc13a2e3976cp-55},
    {0x1.93737b0cdc5e5p+0, -0x1.75fc781b57ebcp-57},
    {0x1.97d829fde4e50p+0, -0x1.d185b7c1b85d1p-54},
    {0x1.9c49182a3f090p+0, 0x1.c7c46b071f2bep-56},
    {0x1.a0c667b5de565p+0, -0x1.359495d1cd533p-54},
    {0x1.a5503b23e255dp+0, -0x1.d2f6edb8d41e1p-54},
    {0x1.a9e6b5579fdbfp+0, 0x1.0fac90ef7fd31p-54},
    {0x1.ae89f995ad3adp+0, 0x1.7a1cd345dcc81p-54},
    {0x1.b33a2b84f15fbp+0, -0x1.2805e3084d708p-57},
    {0x1.b7f76f2fb5e47p+0, -0x1.5584f7e54ac3bp-56},
    {0x1.bcc1e904bc1d2p+0, 0x1.23dd07a2d9e84p-55},
    {0x1.c199bdd85529cp+0, 0x1.11065895048ddp-55},
    {0x1.c67f12e57d14bp+0, 0x1.2884dff483cadp-54},
    {0x1.cb720dcef9069p+0, 0x1.503cbd1e949dbp-56},
    {0x1.d072d4a07897cp+0, -0x1.cbc3743797a9cp-54},
    {0x1.d5818dcfba487p+0, 0x1.2ed02d75b3707p-55},
    {0x1.da9e603db3285p+0, 0x1.c2300696db532p-54},
    {0x1.dfc97337b9b5fp+0, -0x1.1a5cd4f184b5cp-54},
    {0x1.e502ee78b3ff6p+0, 0x1.39e8980a9cc8fp-55},
    {0x1.ea4afa2a490dap+0, -0x1.e9c23179c2893p-54},
    {0x1.efa1bee615a27p+0, 0x1.dc7f486a4b6b0p-54},
    {0x1.f50765b6e4540p+0, 0x1.9d3e12dd8a18bp-54},
    {0x1.fa7c1819e90d8p+0, 0x1.74853f3a5931ep-55},
};

float gr_expf(float x) {
    static const double INV_LN2_64 = 0x1.71547652b82fep+6; /* 64 / ln 2 */
    static const double LN2_64_HI = 0x1.62e42fee00000p-7;  /* ln 2 / 64, top 32 bits */
    static const double LN2_64_LO = 0x1.a39ef35793c76p-39; /* ln 2 / 64, the next 53 bits */
    if (x != x) return x;
    if (x > 89.0f) return (float)pow2_int(1023) * 2.0f; /* +inf without <math.h> */
    if (x < -104.0f) return 0.0f;
    double xd = (double)x;
    double kd = xd * INV_LN2_64;
    int k = (int)round_to_i64(kd);
    double r = (xd - (double)k * LN2_64_HI) - (double)k * LN2_64_LO;
    double q = r * (1.0 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (1.0 / 720))))));
    int j = ((k % 64) + 64) % 64;
    int n = (k - j) / 64;
    double th = EXP2_J64[j][0], tl = EXP2_J64[j][1];
    double v = th + (th * q + tl);
    return (float)(v * pow2_int(n));
}

/* ===================================================================================== */
/* RoPE functions: sin/cos of the rotation angle and the frequency power.                */
/* ===================================================================================== */

static float nan_f32(void) {
    uint32_t bits = 0x7fc00000u;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

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
    double sv = r + r * z * horner(S, 8, z);
    double cv = 1.0 + z * horner(C, 9, z);
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
    static const double INV_FACT[14] = { /* 1/i! */
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
    return (float)(horner(INV_FACT, 14, r) * pow2_int(n));
}

/* ---- gr_expf over a vector (R-NUM-030): the softmax and SiLU exponentials ---- */

#if GR_HAVE_AVX2
/* gr_expf of mathx.c, step for step, on four binary64 lanes (the same IEEE operations per
 * lane, so the same bits); a group with a NaN or an argument outside [-104, 89] goes to the
 * scalar function. */
GR_TARGET_AVX2 static void expf_avx2(float *x, size_t n) {
    static const double C[14] = {
        1.0, 1.0, 1.0 / 2.0, 1.0 / 6.0, 1.0 / 24.0, 1.0 / 120.0, 1.0 / 720.0, 1.0 / 5040.0,
        1.0 / 40320.0, 1.0 / 362880.0, 1.0 / 3628800.0, 1.0 / 39916800.0, 1.0 / 479001600.0,
        1.0 / 6227020800.0,
    };
    const __m256d log2e = _mm256_set1_pd(1.4426950408889634);
    const __m256d ln2_hi = _mm256_set1_pd(6.93147180369123816490e-01);
    const __m256d ln2_lo = _mm256_set1_pd(1.90821492927058770002e-10);
    const __m256d half = _mm256_set1_pd(0.5), zero = _mm256_setzero_pd();
    const __m128 hi = _mm_set1_ps(89.0f), lo = _mm_set1_ps(-104.0f);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m128 xf = _mm_loadu_ps(x + i);
        __m128 in = _mm_and_ps(_mm_cmp_ps(xf, hi, _CMP_LE_OQ), _mm_cmp_ps(xf, lo, _CMP_GE_OQ));
        if (_mm_movemask_ps(in) != 0xf) {
            for (size_t j = i; j < i + 4; j++) x[j] = gr_expf(x[j]);
            continue;
        }
        __m256d xd = _mm256_cvtps_pd(xf);
        __m256d kd = _mm256_mul_pd(xd, log2e);
        __m256d nearest = _mm256_blendv_pd(_mm256_sub_pd(kd, half), _mm256_add_pd(kd, half),
                                           _mm256_cmp_pd(kd, zero, _CMP_GE_OQ));
        __m128i k = _mm256_cvttpd_epi32(nearest);
        __m256d kk = _mm256_cvtepi32_pd(k);
        __m256d r = _mm256_sub_pd(_mm256_sub_pd(xd, _mm256_mul_pd(kk, ln2_hi)), _mm256_mul_pd(kk, ln2_lo));
        __m256d p = _mm256_set1_pd(C[13]);
        for (int j = 12; j >= 0; j--) p = _mm256_add_pd(_mm256_mul_pd(p, r), _mm256_set1_pd(C[j]));
        __m256i e = _mm256_slli_epi64(_mm256_add_epi64(_mm256_cvtepi32_epi64(k), _mm256_set1_epi64x(1023)), 52);
        _mm_storeu_ps(x + i, _mm256_cvtpd_ps(_mm256_mul_pd(p, _mm256_castsi256_pd(e))));
    }
    for (; i < n; i++) x[i] = gr_expf(x[i]);
}
#endif

void gr_expf_inplace(float *x, size_t n) {
#if GR_HAVE_AVX2
    if (gr_have_avx2()) {
        expf_avx2(x, n);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++) x[i] = gr_expf(x[i]);
}
