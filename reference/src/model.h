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
} gr_layer;

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
};

/* The tokenizer of a loaded model (never NULL), for tests (model.c). */
const gr_tokenizer *gr_model_tokenizer(const ggufref_model *model);

#endif
