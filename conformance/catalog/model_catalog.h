/*
 * model_catalog.h — the model-binding catalog of SPEC chapters 3 and 5, as data (prefix mcat_).
 *
 * ONE table of {name, mutation of a valid tiny llama model, expected status, a word the message
 * must contain, rule}. A row's model is support/llama_builder.h's default model (dim 32, two
 * layers, GQA, vocabulary of 8) with the row's mutation applied: a file that the GGUF reader
 * accepts and the binding (or the tokenizer it binds) must reject with the row's status, or
 * accept (expected OK).
 *
 * Who uses it: conformance/torture_model.c (one cmocka test per row), the fuzz seed tools
 * (fuzz/tools/dump_model_catalog.c), and the catalog writer (write_catalog.c).
 */
#ifndef GGUFREF_MODEL_CATALOG_H
#define GGUFREF_MODEL_CATALOG_H

#include "llama_builder.h"

#include <stddef.h>

typedef struct mcat_case {
    const char *name;                /* unique, [a-z0-9_] */
    void (*mutate)(lb_config *c);    /* applied to lb_default() */
    ggufref_status expected;         /* what ggufref_model_load returns */
    const char *message_word;        /* must occur in the message (NULL: none checked) */
    const char *rule;                /* the SPEC rule the case exercises */
    const char *cls;                 /* the class of defect (what the mutation breaks) */
    const char *cve;                 /* a published vulnerability of this class; NULL if none */
} mcat_case;

extern const mcat_case mcat_cases[];
extern const size_t mcat_n_cases;

/* The row's model: lb_default, the row's mutation, lb_build (GGUF v3) into *b (gb_free it). */
void mcat_build(const mcat_case *c, gb_buf *b);

#endif /* GGUFREF_MODEL_CATALOG_H */
