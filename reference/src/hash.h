/*
 * hash.h — FNV-1a 64, the one hash of the reference (hash.c). Not installed, not public.
 *
 * Users: the state digest and the model-file hash (R-RT-040, diagnostics.c and runtime.c), the
 * logits digest of the wire protocol (R-PROTO-031, the server). The tokenizer's vocabulary table
 * does not use it: a file must not be able to choose its collisions (tokenizer.c).
 */
#ifndef GGUFREF_HASH_H
#define GGUFREF_HASH_H

#include <stddef.h>
#include <stdint.h>

#define GR_FNV_OFFSET 0xcbf29ce484222325ull /* FNV-1a 64 offset basis */
#define GR_FNV_PRIME 0x100000001b3ull       /* FNV-1a 64 prime */

/* FNV-1a 64 of n bytes, continuing from h (GR_FNV_OFFSET to start). */
uint64_t gr_fnv1a(uint64_t h, const void *data, size_t n);

/* FNV-1a 64 of the little-endian bytes of n binary32 values, continuing from h: the same as
 * gr_fnv1a over their 4n bytes on a little-endian host, on any host (R-PROTO-031). */
uint64_t gr_fnv1a_f32(uint64_t h, const float *x, size_t n);

/* FNV-1a 64 over the bytes as little-endian 64-bit words (the tail zero-padded, then the
 * length folded in): 8x faster than byte-wise FNV, for hashing whole model files at load
 * (R-RT-040). */
uint64_t gr_hash_bytes(const uint8_t *data, size_t n);

#endif
