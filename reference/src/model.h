/*
 * model.h — internal contract between the model binding (model.c) and the forward pass
 * (forward.c). Not installed, not public. Weights (gr_weight) and the kernels that read them
 * are in kernels.h.
 *
 * A bound model is three kinds of data (the llama2.c split):
 *   - hyperparameters (ggufref_model_info),
 *   - borrowed weight views into the GGUF mapping (gr_weight: type + bytes + shape), never
 *     copied or dequantized, except norm vectors of a type other than F32 (a few KiB),
 *   - the tokenizer (owned).
 * The run buffers and the KV cache belong to ggufref_context (forward.c).
 */
#ifndef GGUFREF_MODEL_H
#define GGUFREF_MODEL_H

#include "internal.h"
#include "kernels.h"
#include "tokenizer.h"

typedef struct gr_layer {
    const float *attn_norm; /* (dim) */
    gr_weight wq;           /* (dim -> n_heads * head_dim) */
    gr_weight wk;           /* (dim -> n_kv_heads * head_dim) */
    gr_weight wv;           /* (dim -> n_kv_heads * head_dim) */
    gr_weight wo;           /* (n_heads * head_dim -> dim) */
    const float *ffn_norm;  /* (dim) */
    gr_weight w_gate;       /* (dim -> ffn_dim), "w1" */
    gr_weight w_up;         /* (dim -> ffn_dim), "w3" */
    gr_weight w_down;       /* (ffn_dim -> dim), "w2" */
    /* Per-architecture extras (SPEC R-MODEL-020..026); NULL when the architecture has none. */
    const float *bq;        /* (q_dim) qwen2: added to Wq xb */
    const float *bk;        /* (kv_dim) */
    const float *bv;        /* (kv_dim) */
    const float *q_norm;    /* (head_dim) qwen3: RMSNorm of each query head */
    const float *k_norm;    /* (head_dim) qwen3: RMSNorm of each key head */
} gr_layer;

/* Architectures (general.architecture, R-MODEL-001, R-MODEL-020). */
enum { GR_ARCH_LLAMA = 0, GR_ARCH_QWEN2 = 1, GR_ARCH_QWEN3 = 2 };

/* What the forward pass does differently per architecture (filled by model.c). */
typedef struct gr_arch {
    uint32_t id;            /* GR_ARCH_* */
    const char *name;       /* "llama", ...: also the prefix of every hyperparameter key */
    bool rope_neox;         /* RoPE pairs (j, j + rope_dim/2) instead of (2j, 2j+1) (R-NUM-026) */
    bool qkv_bias;          /* q, k, v biases (R-NUM-027) */
    bool qk_norm;           /* per-head RMSNorm of q and k before RoPE (R-NUM-028) */
    float rope_scale;       /* linear RoPE scaling factor, 1 when none (R-MODEL-022) */
    const float *rope_freqs;/* (rope_dim / 2) divisors of each frequency, or NULL (R-MODEL-021) */
} gr_arch;

struct ggufref_model {
    const ggufref_gguf *gguf;  /* borrowed */
    ggufref_model_info info;
    gr_tokenizer *tok;         /* owned */
    bool has_weights;          /* false for ggufref_model_load_vocab */
    gr_weight token_embd;      /* (n_vocab rows of dim) */
    gr_layer *layers;          /* owned array [n_layers] */
    const float *output_norm;  /* (dim) */
    gr_weight output;          /* (dim -> n_vocab); token_embd when tied */
    float *norm_copies;        /* owned f32 copies of non-F32 norm vectors, or NULL */
    gr_arch arch;              /* architecture of the weights (llama for vocab-only models) */
    float *vec_copies;         /* owned f32 copies of non-F32 bias / q,k norm / rope_freqs
                                * vectors, or NULL (R-MODEL-015) */
};

/* The tokenizer of a loaded model (never NULL), for tests (model.c). */
const gr_tokenizer *gr_model_tokenizer(const ggufref_model *model);

#endif
