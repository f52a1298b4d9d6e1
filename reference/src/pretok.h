/*
 * pretok.h — the pre-tokenizers of byte-level BPE vocabularies (SPEC R-TOK-031..033): the text
 * is cut into pieces before merging, as llama.cpp's llama-vocab.cpp cuts it for each value of
 * tokenizer.ggml.pre. Not installed, not public.
 *
 * Each pre-tokenizer is a list of stages, each stage the hand-written equivalent of one regular
 * expression of llama.cpp's list (the regex in the comment of each GR_STAGE_*). A stage refines
 * the pieces of the previous one: within each piece it finds the matches left to right (the
 * leftmost match, then the next from where it ended); every match and every run of characters
 * between matches becomes a piece. No backtracking engine, no recursion: each stage visits every
 * character a bounded number of times, so the whole split is linear in the text and uses no
 * stack beyond a few locals (a 1 MiB run of one class is as cheap as any other 1 MiB).
 */
#ifndef GGUFREF_PRETOK_H
#define GGUFREF_PRETOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum gr_pretok_kind {
    GR_PRE_DEFAULT,        /* "default" */
    GR_PRE_GPT2,           /* "gpt-2", "mpt" */
    GR_PRE_LLAMA3,         /* "llama-bpe", "llama3", "llama-v3", "falcon3", "dbrx", "smaug-bpe" */
    GR_PRE_QWEN2,          /* "qwen2", "deepseek-r1-qwen" */
    GR_PRE_DEEPSEEK_LLM,   /* "deepseek-llm" */
    GR_PRE_DEEPSEEK_CODER, /* "deepseek-coder" */
    GR_PRE_FALCON,         /* "falcon" */
    GR_PRE_STARCODER,      /* "starcoder", "refact", "smollm" */
} gr_pretok_kind;

/* The pre-tokenizer named by a tokenizer.ggml.pre value (n bytes at name). OUT: *kind, and
 * *ignore_merges (true for the Llama 3 family, R-TOK-035). False for an unknown name. */
bool gr_pretok_lookup(const char *name, size_t n, gr_pretok_kind *kind, bool *ignore_merges);

/* Cut n characters (code points cp[i], table bytes props[i] = gr_uc_props(cp[i])) into pieces.
 * OUT: brk[0..n], brk[i] = 1 iff a piece starts at character i (brk[0] = brk[n] = 1), 0
 * elsewhere. No allocation; O(n) time. Returns the number of character probes the stages made
 * (the linearity check of R-TOK-033: at most a constant times n). */
size_t gr_pretok_split(gr_pretok_kind kind, const uint32_t *cp, const uint8_t *props, size_t n,
                     uint8_t *brk);

#endif
