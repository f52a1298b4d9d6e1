/*
 * mathx.h — the reference's own elementary functions (SPEC R-NUM-*, R-SAMP-*).
 *
 * Results of the reference must not depend on the platform's libm, so every transcendental
 * function the generation path evaluates is computed here from IEEE basic operations only
 * (+, -, *, /, conversions), which -ffp-contract=off makes bit-reproducible on every
 * conforming compiler and target.
 *
 * Owner: the sampler (engineer C) created this file first; the forward pass (engineer B) uses
 * gr_expf for SiLU and may add its own functions below with their contract comments.
 */
#ifndef GGUFREF_MATHX_H
#define GGUFREF_MATHX_H

/* e^x for a binary32 x, correctly rounded to nearest-even binary32 for every input (checked
 * exhaustively, see mathx.c). NaN -> NaN, +inf -> +inf, -inf -> +0, overflow -> +inf,
 * underflow -> the correctly rounded subnormal or +0. */
float gr_expf(float x);

#endif
