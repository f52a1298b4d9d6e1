/*
 * bpe.h — the byte-level BPE tokenizer of a GGUF vocabulary (tokenizer.ggml.model = "gpt2";
 * SPEC chapter 5, R-TOK-030..048). Not installed, not public. tokenizer.c dispatches to it; it
 * reads the GGUF's tokenizer.ggml.* metadata and calls nothing above it.
 */
#ifndef GGUFREF_BPE_H
#define GGUFREF_BPE_H

#include "internal.h"

typedef struct gr_bpe gr_bpe; /* defined in bpe.c */

/* Flags of gr_bpe_encode (the same bits as the public GGUFREF_TOKENIZE_*). */
#define GR_BPE_ADD_BOS 1u       /* BOS first, when the vocabulary has one */
#define GR_BPE_ADD_EOS 2u       /* EOS last, when the vocabulary has one */
#define GR_BPE_PARSE_SPECIAL 4u /* text of CONTROL / UNKNOWN tokens becomes those tokens */

/* Build the tokenizer from a validated GGUF whose tokenizer.ggml.model is "gpt2" (R-TOK-030,
 * R-TOK-036..038). Borrows string views from gguf. Errors (nothing leaked): UNSUPPORTED_TOKENIZER
 * naming tokenizer.ggml.pre when it is missing or unknown; BAD_VALUE_TYPE / UNSUPPORTED_MODEL /
 * BAD_VALUE naming the key, index and offset for malformed metadata; OUT_OF_MEMORY. */
ggufref_status gr_bpe_init(const ggufref_gguf *gguf, gr_bpe **out, ggufref_error *err);
void gr_bpe_free(gr_bpe *bpe); /* NULL is a no-op */

uint32_t gr_bpe_n_vocab(const gr_bpe *bpe);
int32_t gr_bpe_bos(const gr_bpe *bpe); /* -1 if none */
int32_t gr_bpe_eos(const gr_bpe *bpe); /* -1 if none */
int32_t gr_bpe_unk(const gr_bpe *bpe); /* -1 if none */
bool gr_bpe_add_bos(const gr_bpe *bpe);
bool gr_bpe_add_eos(const gr_bpe *bpe);

/* Encode len bytes of text (any bytes) with flags GR_BPE_* (R-TOK-039..042). Writes up to cap ids;
 * *n_out is the number the text needs (LIMIT_EXCEEDED when above cap, out holds the first cap).
 * INVALID_ARGUMENT for NULLs, LIMIT_EXCEEDED above GGUFREF_MAX_TOKENIZE_BYTES, OUT_OF_MEMORY. */
ggufref_status gr_bpe_encode(const gr_bpe *bpe, const char *text, size_t len, unsigned flags,
                             int32_t *out, size_t cap, size_t *n_out);

/* The bytes token contributes to text (R-TOK-046); empty for an id outside the vocabulary. */
ggufref_str gr_bpe_piece(const gr_bpe *bpe, int32_t token);
/* The raw vocabulary string (R-TOK-023); empty outside the vocabulary. */
ggufref_str gr_bpe_text(const gr_bpe *bpe, int32_t token);

#endif
