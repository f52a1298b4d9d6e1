/*
 * fixtures.h — fixture files embedded into the fuzz targets at build time (fuzz/fixtures.txt,
 * fuzz/embed.sh), so targets never read the filesystem.
 */
#ifndef GGUFREF_FUZZ_FIXTURES_H
#define GGUFREF_FUZZ_FIXTURES_H

#include <stddef.h>

extern const int fz_fixtures_embedded; /* how many fixtures the build embedded */

/* fuzz/fixtures/micro-f32-gqa-tied.gguf: a micro llama model made by fuzz/tools/gen_seeds.c
 * with the golden generator (F32, dim 16, 2 layers, 4/2 heads, ffn 24, n_ctx 16, the 362-piece
 * tiny SentencePiece vocabulary with all 256 byte tokens and "\u2581"; add_space_prefix default
 * true). Used by the tokenizer, ops and protocol targets. */
extern const unsigned char fz_fixture_micro[];
extern const size_t fz_fixture_micro_size;

/* conformance/transitions.tsv: the runtime's transition table (the ops target's oracle). */
extern const unsigned char fz_fixture_transitions[];
extern const size_t fz_fixture_transitions_size;

#endif
