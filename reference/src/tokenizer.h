/*
 * tokenizer.h — the SentencePiece tokenizer (tokenizer.c) as the model binding (model.c) uses
 * it. The tokenizer reads the GGUF's tokenizer.ggml.* metadata and calls nothing above it; the
 * public encode/decode functions (ggufref_tokenize, ggufref_token_to_piece, ggufref_token_text)
 * live in model.c, which owns the model's tokenizer.
 */
#ifndef GGUFREF_TOKENIZER_H
#define GGUFREF_TOKENIZER_H

#include "internal.h"

typedef struct gr_tokenizer gr_tokenizer; /* defined in tokenizer.c */

/* Build the tokenizer from tokenizer.ggml.* metadata of a validated GGUF (SPEC chapter 5).
 * Borrows string views from gguf. UNSUPPORTED_TOKENIZER naming tokenizer.ggml.model for a
 * model other than "llama"; BAD_VALUE_TYPE / UNSUPPORTED_MODEL with the key for bad metadata;
 * OUT_OF_MEMORY with nothing leaked. */
ggufref_status gr_tokenizer_init(const ggufref_gguf *gguf, gr_tokenizer **out, ggufref_error *err);
void gr_tokenizer_free(gr_tokenizer *tok); /* NULL is a no-op */

uint32_t gr_tokenizer_n_vocab(const gr_tokenizer *tok);
int32_t gr_tokenizer_bos(const gr_tokenizer *tok); /* -1 if none */
int32_t gr_tokenizer_eos(const gr_tokenizer *tok); /* -1 if none */
int32_t gr_tokenizer_unk(const gr_tokenizer *tok); /* -1 if none */
bool gr_tokenizer_add_bos(const gr_tokenizer *tok);

/* ggufref_tokenize, ggufref_token_to_piece and ggufref_token_text on a gr_tokenizer (model.c's
 * public functions call these; tests call them directly). */
ggufref_status gr_tokenizer_encode(const gr_tokenizer *tok, const char *text, size_t len,
                                   bool add_bos, int32_t *out, size_t cap, size_t *n_out);
/* ggufref_tokenize_ex: flags GGUFREF_TOKENIZE_* (= GR_BPE_*, R-TOK-042). */
ggufref_status gr_tokenizer_encode_flags(const gr_tokenizer *tok, const char *text, size_t len,
                                         unsigned flags, int32_t *out, size_t cap, size_t *n_out);
ggufref_str gr_tokenizer_piece(const gr_tokenizer *tok, int32_t prev, int32_t token);
ggufref_str gr_tokenizer_text(const gr_tokenizer *tok, int32_t token);

#endif
