/*
 * vocab_flood.h — hostile vocabularies for the tokenizer's table (SPEC R-TOK-018, issue 16 #2),
 * shared by torture_tokenizer.c and bench/bench_vocab_flood.c.
 *
 * vf_colliding_texts writes n distinct 9-byte texts whose FNV-1a 64 hashes agree in their low
 * 18 bits (one bucket of a 2^18-slot table, the size the old open-addressing table had for
 * 2^17 tokens). The low 18 bits of the FNV-1a state depend only on the low 18 bits of the
 * state before (the prime multiplies mod 2^64), so a 3-byte block taking the offset basis'
 * low bits back to themselves can be repeated; about 64 of the 2^24 blocks do, and three of
 * them make 64^3 > 2^17 texts. vf_build_vocab writes a vocab-only GGUF of "<unk>" and texts
 * with scores ascending by index and no BOS/EOS, so every text is a matchable piece.
 */
#ifndef GGUFREF_VOCAB_FLOOD_H
#define GGUFREF_VOCAB_FLOOD_H

#include "gguf_builder.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define VF_LOW_MASK 0x3FFFFull

/* texts[i] = pool + 10 i, NUL-terminated 9-byte texts (no NUL inside); false if n is too
 * large for the blocks found. pool: 10 n bytes. */
static inline bool vf_colliding_texts(char **texts, char *pool, uint32_t n) {
    const uint64_t s0 = 0xcbf29ce484222325ull & VF_LOW_MASK;
    uint8_t blocks[3 * 128];
    size_t nb = 0;
    for (uint32_t v = 0; v < (1u << 24) && nb < 128; v++) {
        uint8_t b[3] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16)};
        if (b[0] == 0 || b[1] == 0 || b[2] == 0) continue; /* C strings */
        uint64_t h = s0;
        for (int i = 0; i < 3; i++) h = (h ^ b[i]) * 0x100000001b3ull;
        if ((h & VF_LOW_MASK) == s0) memcpy(blocks + 3 * nb++, b, 3);
    }
    if ((uint64_t)nb * nb * nb < n) return false;
    for (uint32_t i = 0; i < n; i++) {
        char *t = pool + (size_t)i * 10;
        size_t k[3] = {i % nb, (i / nb) % nb, i / (nb * nb)};
        for (int j = 0; j < 3; j++) memcpy(t + 3 * j, blocks + 3 * k[j], 3);
        t[9] = 0;
        texts[i] = t;
    }
    return true;
}

/* A vocab-only GGUF: "<unk>" (id 0) then texts[0..n) (ids 1..n), score of id i = i - 1. */
static inline void vf_build_vocab(gb_buf *b, char **texts, uint32_t n) {
    const char **all = malloc(((size_t)n + 1) * sizeof *all);
    float *scores = malloc(((size_t)n + 1) * sizeof *scores);
    if (all == NULL || scores == NULL) abort();
    all[0] = "<unk>";
    scores[0] = 0.0f;
    for (uint32_t i = 0; i < n; i++) {
        all[i + 1] = texts[i];
        scores[i + 1] = (float)i;
    }
    gb_init(b, 3);
    gb_header(b, 0, 6);
    gb_kv_str(b, "tokenizer.ggml.model", "llama");
    gb_kv_str_array(b, "tokenizer.ggml.tokens", all, (size_t)n + 1);
    gb_kv_f32_array(b, "tokenizer.ggml.scores", scores, (size_t)n + 1);
    gb_kv_bool(b, "tokenizer.ggml.add_space_prefix", false);
    gb_kv_i32(b, "tokenizer.ggml.bos_token_id", -1); /* no BOS/EOS: every text is a piece */
    gb_kv_i32(b, "tokenizer.ggml.eos_token_id", -1);
    free(all);
    free(scores);
}

#endif
