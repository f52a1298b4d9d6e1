/*
 * gguf_catalog.h — the malformed-GGUF catalog of SPEC chapter 2, as data (prefix gcat_).
 *
 * ONE table of {name, build, expected status, rule}: each build function writes a file byte by
 * byte with the test builder (support/gguf_builder.h) and may gb_mark() the byte offset the
 * error must name (R-STATUS-003). The table also holds valid edge cases (expected OK). Beside
 * it, the valid reader fixtures (versions 1 to 3 with every value type, a vocab-only file) that
 * the prefix, accessor and fault tests open.
 *
 * Who uses it: conformance/torture_gguf.c (one cmocka test per row), the fuzz seed tools
 * (fuzz/tools/dump_gguf_catalog.c), and the catalog writer (write_catalog.c), which writes every
 * row as a file with an index so that every implementation faces the same files.
 *
 * Build functions are deterministic (same source, same bytes) and abort only when the process
 * runs out of memory (test support, not library code).
 */
#ifndef GGUFREF_GGUF_CATALOG_H
#define GGUFREF_GGUF_CATALOG_H

#include "gguf_builder.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the valid reader fixtures ----------------------------------------------------------- */

#define GCAT_FIXTURE_N_TOKENS 6u
#define GCAT_FIXTURE_N_KV_BASE 20u /* kvs without general.alignment */
#define GCAT_FIXTURE_N_TENSORS 7u

/* Tensor bytes of the fixtures: gcat_pattern[k] = k * 13 + 7. */
extern const uint8_t gcat_pattern[256];
extern const char *const gcat_fixture_tokens[GCAT_FIXTURE_N_TOKENS];
extern const float gcat_fixture_scores[GCAT_FIXTURE_N_TOKENS];
extern const int32_t gcat_fixture_types[GCAT_FIXTURE_N_TOKENS];
/* 6 + 1 tensors covering scalar, quantized and 4-dimensional layouts. */
extern const gb_tensor gcat_fixture_tensors[GCAT_FIXTURE_N_TENSORS];

/* A complete file: header, the fixture kvs (general.alignment = alignment unless 0, which
 * means no key: default 32), the first n_tensors fixture tensors with their data. */
void gcat_build_model(gb_buf *b, uint32_t alignment, size_t n_tensors);
void gcat_build_v3(gb_buf *b);         /* alignment 32, every tensor */
void gcat_build_v2(gb_buf *b);         /* no general.alignment */
void gcat_build_v1(gb_buf *b);         /* u32 counts */
void gcat_build_vocab_only(gb_buf *b); /* zero tensors, ends before the aligned data offset */

typedef struct gcat_fixture {
    const char *name;
    void (*build)(gb_buf *b);
    bool has_tensors;
} gcat_fixture;

extern const gcat_fixture gcat_fixtures[];
extern const size_t gcat_n_fixtures;

/* ---- helpers the suite's own files use --------------------------------------------------- */

/* Which field of a tensor info gcat_tensor_info_at marks. */
typedef enum gcat_mark {
    GCAT_AT_NONE, GCAT_AT_NAME, GCAT_AT_NDIMS, GCAT_AT_NE0, GCAT_AT_NE1, GCAT_AT_NE2,
    GCAT_AT_NE3, GCAT_AT_TYPE, GCAT_AT_OFFSET
} gcat_mark;

/* One tensor info, gb_mark()ing the field `at`. */
void gcat_tensor_info_at(gb_buf *b, const char *name, uint32_t n_dims, const uint64_t *ne,
                         uint32_t type, uint64_t offset, gcat_mark at);
/* A name of n 'w' bytes (n < 128), in a static buffer. */
const char *gcat_name_of_length(size_t n);
/* {8}: the shape of the one-dimensional F32 tensors of the catalog. */
extern const uint64_t gcat_ne8[1];

/* ---- the catalog -------------------------------------------------------------------------- */

typedef struct gcat_case {
    const char *name;         /* unique, [a-z0-9_] */
    void (*build)(gb_buf *b); /* writes the file into a gb_init'ed buffer; may gb_mark() */
    ggufref_status expect;    /* what ggufref_gguf_open_memory returns */
    const char *rule;         /* the SPEC rule the case exercises */
    const char *cls;          /* the class of defect: the part of the format it breaks */
    const char *cve;          /* the published vulnerability (CVE, GHSA, or the report) of
                                 this class in another GGUF reader; NULL if none */
} gcat_case;

extern const gcat_case gcat_cases[];
extern const size_t gcat_n_cases;

/* What loading the row's file as a model gives (ggufref_runtime_load_model, the protocol's
 * load-model): the reader's status when it rejects the file; UNSUPPORTED_MODEL when it accepts
 * it, since no row is a complete llama model (R-MODEL-001, R-MODEL-002). */
ggufref_status gcat_load_status(const gcat_case *c);

/* The row called name, or NULL. */
const gcat_case *gcat_find(const char *name);

#endif /* GGUFREF_GGUF_CATALOG_H */
