/*
 * model.h — internal contract between the model binding (model.c), the tensor kernels
 * (quant.c) and the forward pass (forward.c). Not installed, not public.
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
#include "tokenizer.h"

/* The lane count of every reduction (SPEC R-NUM-010). */
#define GR_LANES 16u

/* A matrix of weights in the file's layout: n_out rows of n_in elements each, row r at
 * data + r * row_bytes (ggml: ne[0] = n_in is contiguous, ne[1] = n_out). A vector is one row. */
typedef struct gr_weight {
    uint32_t type;          /* ggufref_tensor_type, can_decode */
    const uint8_t *data;    /* view into the mapping (or an owned f32 copy for norms) */
    size_t n_in;            /* elements per row (ne[0]) */
    size_t n_out;           /* rows (ne[1]; 1 for vectors) */
    size_t row_bytes;       /* n_in / block_size * type_size */
} gr_weight;

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

/* ---- Kernels (quant.c). Every result is bit-identical on every path (SPEC R-NUM-010..). ---- */

/* Lane-blocked dot product of n floats (R-NUM-010). */
float gr_dot_f32(const float *a, const float *b, size_t n);
/* out[r] = dot(q, k + r * stride, n) for r < n_rows (R-NUM-010): the attention scores of one
 * head against n_rows cached keys. */
void gr_dot_rows(const float *q, const float *k, size_t stride, size_t n_rows, size_t n, float *out);
/* o[i] = 0, then o[i] = o[i] + w[r] * v[r * stride + i] for r = 0 .. n_rows-1 in order, for
 * i < n (R-NUM-024: element-wise, so any vector width gives the same bits). OUT: o. */
void gr_weighted_rows(float *o, const float *w, const float *v, size_t stride, size_t n_rows,
                      size_t n);
/* Lane-blocked sum of n floats (R-NUM-011). */
float gr_sum_f32(const float *a, size_t n);
/* Dot product of row `row` (n elements of `type`, n a multiple of the block size) with x,
 * equal bit for bit to gr_dot_f32(decode(row), x, n) (R-NUM-012). */
float gr_row_dot(uint32_t type, const uint8_t *row, const float *x, size_t n);
/* The same computed by the portable C kernels only (no SIMD): tests compare the two. */
float gr_row_dot_portable(uint32_t type, const uint8_t *row, const float *x, size_t n);
/* y[r] = gr_row_dot(row r of w, x) for r < w->n_out. OUT: y (n_out floats). */
void gr_matvec(const gr_weight *w, const float *x, float *y);
/* Batched: for b < n_batch, y[b * y_stride + r] = row r of w . x[b * x_stride ...]; every
 * value bit-identical to gr_matvec of that one vector (weights read once per batch). */
void gr_matmul(const gr_weight *w, const float *x, size_t x_stride, size_t n_batch, float *y,
               size_t y_stride, float *row_scratch /* n_in floats */);
/* Decode row `index` of w into out (w->n_in floats). */
void gr_weight_row(const gr_weight *w, size_t index, float *out);
/* Name of the SIMD path gr_row_dot takes on this machine ("avx2" or "portable"). */
const char *gr_kernel_path(void);

#endif
