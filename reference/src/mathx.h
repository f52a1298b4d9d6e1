/*
 * mathx.h — the reference's own elementary functions (SPEC R-NUM-*, R-SAMP-*).
 *
 * Results of the reference must not depend on the platform's libm, so every transcendental
 * function the generation path evaluates is computed here from IEEE basic operations only
 * (+, -, *, /, conversions), which -ffp-contract=off makes bit-reproducible on every
 * conforming compiler and target. Users: the sampler (softmax), the forward pass (SiLU,
 * softmax of attention, RoPE).
 */
#ifndef GGUFREF_MATHX_H
#define GGUFREF_MATHX_H

#include <stddef.h>

/* e^x for a binary32 x, correctly rounded to nearest-even binary32 for every input (checked
 * exhaustively, see mathx.c). NaN -> NaN, +inf -> +inf, -inf -> +0, overflow -> +inf,
 * underflow -> the correctly rounded subnormal or +0. */
float gr_expf(float x);

/* x[i] = gr_expf(x[i]) for i < n, bit for bit (R-NUM-030), several lanes at a time
 * (AVX2 where the machine has it). */
void gr_expf_inplace(float *x, size_t n);

/* ---- RoPE (SPEC R-NUM-030..032) ---- */

/* sin(x) and cos(x) for |x| < 2^25, each the binary32 rounding of a binary64 evaluation
 * (Cody-Waite reduction by pi/2 in four exact-product parts, then Taylor polynomials; see
 * mathx.c). NaN, +-inf and |x| >= 2^25 give NaN for both. OUT: *s, *c. */
void gr_sincosf(float x, float *s, float *c);
float gr_sinf(float x);
float gr_cosf(float x);

/* b^e for finite b > 0 and finite e: the binary32 rounding of exp(e * ln b) evaluated in
 * binary64 (see mathx.c). Any other input gives NaN. */
float gr_powf(float b, float e);

#endif
