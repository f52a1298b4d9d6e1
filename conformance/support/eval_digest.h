/*
 * eval_digest.h — the R-PROTO-031 digest of each position's logits of a teacher-forced run
 * (ggufref_runtime_evaluate): FNV-1a 64 over the little-endian binary32 bytes, as a golden
 * trace's `digest` fields carry them. Header-only, because release_faults links no support code.
 *
 * The golden positions: tiny-llama3-f32-gqa-tied.gguf (rope_freqs.weight) fed BOS and the first
 * greedy tokens of golden/traces/model-tiny-llama3-f32-gqa-tied-long-context.jsonl; position i's
 * digest is that trace's token event i's (the evaluate/generate equivalence, R-RT-045).
 */
#ifndef GGUFREF_EVAL_DIGEST_H
#define GGUFREF_EVAL_DIGEST_H

#include <stdint.h>
#include <string.h>

#include "ggufref.h"

#define ED_LLAMA3_MODEL "golden/models/tiny-llama3-f32-gqa-tied.gguf"
#define ED_N 8
static const int32_t ed_llama3_tokens[ED_N] = {1, 258, 250, 66, 66, 349, 3, 3};
static const uint64_t ed_llama3_digests[ED_N] = {
    0x32effd65cba46385u, 0xf1e4023bf89f4c2cu, 0x6d25c9b498e527d8u, 0x06c09eb98fcbaea1u,
    0x302b27c7973b6e8du, 0x4ea4826e11729e38u, 0xec5d42254cd61c03u, 0x417a855f2a287da8u,
};

/* ggufref_logits_callback: out[pos] = the digest of the position's logits (user: uint64_t[]). */
static inline void ed_position(uint32_t pos, int32_t token, const float *logits,
                               uint32_t n_vocab, void *user) {
    (void)token;
    uint64_t h = 0xcbf29ce484222325u;
    for (uint32_t i = 0; i < n_vocab; i++) {
        uint32_t bits;
        memcpy(&bits, &logits[i], sizeof bits);
        for (int b = 0; b < 4; b++) {
            h ^= (bits >> (8 * b)) & 0xffu;
            h *= 0x100000001b3u;
        }
    }
    if (pos < ED_N) ((uint64_t *)user)[pos] = h;
}

/* Teacher-forces ed_llama3_tokens through rt (a model loaded). OUT: out[ED_N]. */
static inline ggufref_status ed_evaluate(ggufref_runtime *rt, uint64_t out[ED_N]) {
    memset(out, 0, ED_N * sizeof out[0]);
    return ggufref_runtime_evaluate(rt, ed_llama3_tokens, ED_N, ed_position, out);
}

#endif
