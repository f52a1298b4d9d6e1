/*
 * sampler.h — what the sampler (sampler.c) offers besides the public ggufref_sample: the top-K
 * of a logits vector, the one implementation for every writer of top logits (the CLI's
 * `generate --json`, the wire protocol's `top`, R-PROTO-030). Not installed, not public.
 */
#ifndef GGUFREF_SAMPLER_H
#define GGUFREF_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

/* The ids of the k largest of x[0..n), value descending, equal values by id ascending; NaN
 * values are never chosen. O(n k) worst case, O(n) when k is small against n.
 * OUT: ids[0..return); returns min(k, number of non-NaN values). */
size_t gr_top_logits(const float *x, size_t n, size_t k, int32_t *ids);

#endif
