/*
 * llama_builder.h — tiny llama GGUF models built in memory for the model-binding and forward
 * suites (prefix lb_). Built on gguf_builder.h; nothing here validates anything.
 *
 *     lb_config c;
 *     lb_default(&c);              // dim 32, 2 layers, 4 heads, 2 KV heads, ffn 48, ...
 *     c.tied = true;               // no output.weight
 *     c.skip_tensor = "blk.1.ffn_up.weight";
 *     gb_buf b;
 *     lb_build(&c, &b);            // a GGUF v3 file in b.data[0..b.len)
 *
 * Weights come from a fixed xorshift stream seeded by c.seed: same config, same bytes.
 * Mutations (skip/override a key, skip/reshape/retype/add a tensor) build the broken models
 * the binding must reject.
 */
#ifndef GGUFREF_LLAMA_BUILDER_H
#define GGUFREF_LLAMA_BUILDER_H

#include "gguf_builder.h"

typedef struct lb_config {
    const char *arch;           /* general.architecture; NULL: key absent */
    const char *tok_model;      /* tokenizer.ggml.model ("llama") */
    uint32_t dim, n_layers, n_heads, n_kv_heads, ffn, n_ctx, n_vocab;
    uint32_t mat_type;          /* type of the 2-D weights (ggufref_tensor_type) */
    uint32_t norm_type;         /* type of the norm vectors */
    bool tied;                  /* no output.weight */
    bool omit_defaults;         /* no head_count_kv, rope.dimension_count, freq_base, eps */
    float rope_freq_base;       /* written unless omit_defaults */
    float rms_eps;              /* written unless omit_defaults */
    uint32_t rope_dim;          /* 0: dim / n_heads */
    float weight_scale;         /* matrices uniform in +-weight_scale / 2 (F32) */
    uint64_t seed;
    const char *skip_key;       /* this key is not written */
    /* extra metadata, written after the standard keys (count returned) */
    uint64_t (*extra_kv)(gb_buf *kv, const void *user);
    const void *extra_user;
    const char *skip_tensor;    /* this tensor is not written */
    const char *reshape_tensor; /* this tensor gets reshape_dims / reshape_ne instead */
    uint32_t reshape_dims;
    uint64_t reshape_ne[2];
    const char *retype_tensor;  /* this tensor gets retype */
    uint32_t retype;
    const char *extra_tensor;   /* an extra 1-D F32 tensor of dim elements */
} lb_config;

/* A valid GQA model: dim 32, 2 layers, 4 heads, 2 KV heads, ffn 48, ctx 16, vocab 8, F32. */
void lb_default(lb_config *c);
/* Write the model (GGUF v3, alignment 32) into *b (initialized here; gb_free it). */
void lb_build(const lb_config *c, gb_buf *b);

#endif
