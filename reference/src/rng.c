/*
 * rng.c — the reference's only source of randomness: xorshift64* exactly as llama2.c's run.c
 * (SPEC R-RNG-001..004). The state is 64 bits and lives in the caller's ggufref_rng; nothing
 * here is global, so two generators never interfere.
 */
#include "internal.h"

/* Seed 0 would leave xorshift stuck at state 0 (every output 0, every coin 0.0): it is mapped
 * to this fixed nonzero state instead (R-RNG-002). 2^64 / golden ratio, an arbitrary constant
 * with mixed bits. llama2.c itself replaces seed 0 by the clock, which a reference cannot do. */
#define GR_RNG_SEED0_STATE 0x9E3779B97F4A7C15ull

void ggufref_rng_seed(ggufref_rng *rng, uint64_t seed) {
    rng->state = seed != 0 ? seed : GR_RNG_SEED0_STATE;
}

/* One xorshift64* step: three shifts of the state, then the high 32 bits of state * M. */
uint32_t ggufref_rng_u32(ggufref_rng *rng) {
    uint64_t s = rng->state;
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    rng->state = s;
    return (uint32_t)((s * 0x2545F4914F6CDD1Dull) >> 32);
}

/* The top 24 bits of one u32 as a binary32 in [0, 1): exact, since 24 bits fit the mantissa. */
float ggufref_rng_coin(ggufref_rng *rng) {
    return (float)(ggufref_rng_u32(rng) >> 8) / 16777216.0f;
}
