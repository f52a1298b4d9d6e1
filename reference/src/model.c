/*
 * model.c — binding a llama model to a validated GGUF (SPEC chapter 3, R-MODEL-*).
 *
 * Binding reads the hyperparameters (with the defaults real files rely on), checks that they
 * are consistent, then looks up every tensor the forward pass reads and checks its type and
 * shape against the shape the hyperparameters imply:
 *
 *   tensor                      ne (innermost first)         role
 *   token_embd.weight           [dim, n_vocab]               embedding rows
 *   blk.N.attn_norm.weight      [dim]                        RMSNorm before attention
 *   blk.N.attn_q.weight         [dim, n_heads * head_dim]    Wq
 *   blk.N.attn_k.weight         [dim, n_kv_heads * head_dim] Wk
 *   blk.N.attn_v.weight         [dim, n_kv_heads * head_dim] Wv
 *   blk.N.attn_output.weight    [n_heads * head_dim, dim]    Wo
 *   blk.N.ffn_norm.weight       [dim]                        RMSNorm before the FFN
 *   blk.N.ffn_gate.weight       [dim, ffn_dim]               W1 (SiLU branch)
 *   blk.N.ffn_up.weight         [dim, ffn_dim]               W3
 *   blk.N.ffn_down.weight       [ffn_dim, dim]               W2
 *   output_norm.weight          [dim]                        final RMSNorm
 *   output.weight               [dim, n_vocab]               logits (absent: token_embd, tied)
 *
 * Weights are views into the mapping (no copy, no dequantized copy); norm vectors of a type
 * other than F32 are decoded once into one owned block (dim floats each). Nothing here
 * computes: the forward pass is forward.c.
 */
#include "model.h"

#include <stdio.h>
#include <string.h>

/* Bounds on hyperparameters: sizes stay far from overflow in every product forward.c forms. */
#define MAX_DIM (1u << 20)        /* embedding_length, feed_forward_length */
#define MAX_LAYERS 4096u          /* block_count */
#define MAX_HEADS 4096u           /* head_count, head_count_kv */
#define MAX_CTX (1u << 24)        /* context_length: positions are exact in binary32 */

/* Layer tensors (the tensor table of SPEC chapter 3, R-MODEL-010), in the order of gr_layer. */
enum { T_ATTN_NORM, T_Q, T_K, T_V, T_O, T_FFN_NORM, T_GATE, T_UP, T_DOWN, N_LAYER_TENSORS };
static const char *const layer_tensor_names[N_LAYER_TENSORS] = {
    "attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
    "ffn_norm", "ffn_gate", "ffn_up", "ffn_down",
};

/* ===================================================================================== */
/* Hyperparameters                                                                        */
/* ===================================================================================== */

/* An integer key in [1, max] (R-MODEL-003). OUT: *out, left unchanged when the key is absent
 * and not required. */
static ggufref_status read_count(const ggufref_gguf *g, const char *key, bool required,
                                 uint64_t max, uint32_t *out, ggufref_error *err) {
    int64_t kv = ggufref_gguf_find_key(g, key);
    if (kv < 0) {
        if (!required) return GGUFREF_OK;
        return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_MODEL, UINT64_MAX,
                       "model: required key '%s' is missing", key);
    }
    uint64_t v;
    ggufref_status st = ggufref_gguf_get_uint(g, (uint64_t)kv, &v);
    if (st == GGUFREF_ERR_BAD_VALUE_TYPE) {
        return gr_fail(err, st, UINT64_MAX, "model: key '%s' has type %s, expected an integer",
                       key, ggufref_value_type_name(ggufref_gguf_kv_type(g, (uint64_t)kv)));
    }
    if (st != GGUFREF_OK) {
        return gr_fail(err, GGUFREF_ERR_BAD_VALUE, UINT64_MAX, "model: key '%s' is negative", key);
    }
    if (v == 0 || v > max) {
        return gr_fail(err, GGUFREF_ERR_BAD_VALUE, UINT64_MAX,
                       "model: key '%s' = %llu is outside [1, %llu]", key,
                       (unsigned long long)v, (unsigned long long)max);
    }
    *out = (uint32_t)v;
    return GGUFREF_OK;
}

/* A float key (FLOAT32, or FLOAT64 rounded to binary32), finite and > `above` (R-MODEL-004).
 * OUT: *out, unchanged when absent. */
static ggufref_status read_real(const ggufref_gguf *g, const char *key, float above, float *out,
                                ggufref_error *err) {
    int64_t kv = ggufref_gguf_find_key(g, key);
    if (kv < 0) return GGUFREF_OK;
    float v;
    ggufref_value_type type = ggufref_gguf_kv_type(g, (uint64_t)kv);
    if (type == GGUFREF_TYPE_FLOAT32) {
        ggufref_gguf_get_f32(g, (uint64_t)kv, &v);
    } else if (type == GGUFREF_TYPE_FLOAT64) {
        double d;
        ggufref_gguf_get_f64(g, (uint64_t)kv, &d);
        v = (d > 3.4028234663852886e38 || d < -3.4028234663852886e38) ? (float)(d * 0.0) : (float)d;
    } else {
        return gr_fail(err, GGUFREF_ERR_BAD_VALUE_TYPE, UINT64_MAX,
                       "model: key '%s' has type %s, expected a float", key,
                       ggufref_value_type_name(type));
    }
    if (!(v > above && v <= 3.4028234663852886e38f)) { /* also rejects NaN */
        return gr_fail(err, GGUFREF_ERR_BAD_VALUE, UINT64_MAX,
                       "model: key '%s' = %g must be finite and > %g", key, (double)v,
                       (double)above);
    }
    *out = v;
    return GGUFREF_OK;
}

/* general.architecture must be the string "llama" (R-MODEL-001). */
static ggufref_status check_architecture(const ggufref_gguf *g, ggufref_error *err) {
    int64_t kv = ggufref_gguf_find_key(g, "general.architecture");
    if (kv < 0) {
        return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_MODEL, UINT64_MAX,
                       "model: required key 'general.architecture' is missing");
    }
    ggufref_str arch;
    if (ggufref_gguf_get_str(g, (uint64_t)kv, &arch) != GGUFREF_OK) {
        return gr_fail(err, GGUFREF_ERR_BAD_VALUE_TYPE, UINT64_MAX,
                       "model: key 'general.architecture' is not a string");
    }
    if (arch.len != 5 || memcmp(arch.ptr, "llama", 5) != 0) {
        char q[GR_QUOTE_MAX];
        return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_MODEL, UINT64_MAX,
                       "model: general.architecture is '%s', only 'llama' is supported",
                       gr_quote(q, arch.ptr, arch.len));
    }
    return GGUFREF_OK;
}

/* Keys whose presence changes the computation in ways this runtime does not implement
 * (R-MODEL-006): mixture of experts, rope scaling, key/value lengths other than head_dim. */
static ggufref_status check_unsupported_keys(const ggufref_gguf *g, const ggufref_model_info *in,
                                             ggufref_error *err) {
    uint32_t experts = 0;
    ggufref_status st = GGUFREF_OK;
    int64_t kv = ggufref_gguf_find_key(g, "llama.expert_count");
    if (kv >= 0) {
        uint64_t v;
        st = ggufref_gguf_get_uint(g, (uint64_t)kv, &v);
        if (st != GGUFREF_OK) {
            return gr_fail(err, st, UINT64_MAX, "model: key 'llama.expert_count' is not a count");
        }
        experts = v > 0;
    }
    if (experts) {
        return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_MODEL, UINT64_MAX,
                       "model: llama.expert_count > 0 (mixture of experts) is not supported");
    }
    kv = ggufref_gguf_find_key(g, "llama.rope.scaling.type");
    if (kv >= 0) {
        ggufref_str s;
        if (ggufref_gguf_get_str(g, (uint64_t)kv, &s) != GGUFREF_OK) {
            return gr_fail(err, GGUFREF_ERR_BAD_VALUE_TYPE, UINT64_MAX,
                           "model: key 'llama.rope.scaling.type' is not a string");
        }
        if (!(s.len == 4 && memcmp(s.ptr, "none", 4) == 0)) {
            char q[GR_QUOTE_MAX];
            return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_MODEL, UINT64_MAX,
                           "model: llama.rope.scaling.type '%s' is not supported (only none)",
                           gr_quote(q, s.ptr, s.len));
        }
    }
    static const char *const length_keys[2] = {"llama.attention.key_length",
                                                "llama.attention.value_length"};
    for (int i = 0; i < 2; i++) {
        uint32_t len = in->head_dim;
        if ((st = read_count(g, length_keys[i], false, MAX_DIM, &len, err)) != GGUFREF_OK) return st;
        if (len != in->head_dim) {
            return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_MODEL, UINT64_MAX,
                           "model: %s = %u differs from embedding_length / head_count = %u",
                           length_keys[i], len, in->head_dim);
        }
    }
    return GGUFREF_OK;
}

/* Read and check every hyperparameter (R-MODEL-002..005). OUT: *in (the tokenizer fields are
 * filled later). */
static ggufref_status read_hparams(const ggufref_gguf *g, ggufref_model_info *in,
                                   ggufref_error *err) {
    ggufref_status st;
    if ((st = read_count(g, "llama.context_length", true, MAX_CTX, &in->n_ctx_train, err)) ||
        (st = read_count(g, "llama.embedding_length", true, MAX_DIM, &in->dim, err)) ||
        (st = read_count(g, "llama.block_count", true, MAX_LAYERS, &in->n_layers, err)) ||
        (st = read_count(g, "llama.feed_forward_length", true, MAX_DIM, &in->ffn_dim, err)) ||
        (st = read_count(g, "llama.attention.head_count", true, MAX_HEADS, &in->n_heads, err))) {
        return st;
    }
    in->n_kv_heads = in->n_heads;
    if ((st = read_count(g, "llama.attention.head_count_kv", false, MAX_HEADS, &in->n_kv_heads,
                         err))) {
        return st;
    }
    if (in->dim % in->n_heads != 0) {
        return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_MODEL, UINT64_MAX,
                       "model: llama.embedding_length %u is not a multiple of "
                       "llama.attention.head_count %u", in->dim, in->n_heads);
    }
    if (in->n_heads % in->n_kv_heads != 0) {
        return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_MODEL, UINT64_MAX,
                       "model: llama.attention.head_count %u is not a multiple of "
                       "llama.attention.head_count_kv %u", in->n_heads, in->n_kv_heads);
    }
    in->head_dim = in->dim / in->n_heads;
    in->rope_dim = in->head_dim;
    if ((st = read_count(g, "llama.rope.dimension_count", false, MAX_DIM, &in->rope_dim, err))) {
        return st;
    }
    if (in->rope_dim % 2 != 0 || in->rope_dim > in->head_dim) {
        return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_MODEL, UINT64_MAX,
                       "model: llama.rope.dimension_count %u must be even and <= head dim %u",
                       in->rope_dim, in->head_dim);
    }
    in->rope_freq_base = 10000.0f;
    in->rms_eps = 1e-5f;
    if ((st = read_real(g, "llama.rope.freq_base", 1.0f, &in->rope_freq_base, err)) ||
        (st = read_real(g, "llama.attention.layer_norm_rms_epsilon", 0.0f, &in->rms_eps, err))) {
        return st;
    }
    return check_unsupported_keys(g, in, err);
}

/* ===================================================================================== */
/* Tensors                                                                                */
/* ===================================================================================== */

/* Look up `name`, check its type is decodable and its shape is exactly ne[0..n_dims)
 * (R-MODEL-010..012). OUT: *w. */
static ggufref_status bind_tensor(const ggufref_gguf *g, const char *name, uint32_t n_dims,
                                  uint64_t ne0, uint64_t ne1, gr_weight *w, ggufref_error *err) {
    int64_t idx = ggufref_gguf_find_tensor(g, name);
    if (idx < 0) {
        return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_MODEL, UINT64_MAX,
                       "model: required tensor '%s' is missing", name);
    }
    ggufref_tensor t;
    ggufref_gguf_tensor(g, (uint64_t)idx, &t);
    uint64_t data_pos = ggufref_gguf_data_offset(g) + t.offset;
    const ggufref_type_info *ti = ggufref_type_info_get(t.type);
    if (ti == NULL || !ti->can_decode) {
        return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_MODEL, data_pos,
                       "model: tensor '%s' has type %s, which has no decoder", name,
                       ti ? ti->name : "unknown");
    }
    bool shape_ok = t.n_dims == n_dims && t.ne[0] == ne0 && (n_dims < 2 || t.ne[1] == ne1);
    if (!shape_ok) {
        char got[96];
        int k = snprintf(got, sizeof got, "[%llu", (unsigned long long)t.ne[0]);
        for (uint32_t d = 1; d < t.n_dims && k > 0 && (size_t)k < sizeof got; d++) {
            k += snprintf(got + k, sizeof got - (size_t)k, ", %llu", (unsigned long long)t.ne[d]);
        }
        if (k > 0 && (size_t)k < sizeof got) snprintf(got + k, sizeof got - (size_t)k, "]");
        if (n_dims == 1) {
            return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_MODEL, data_pos,
                           "model: tensor '%s' has shape %s, expected [%llu]", name, got,
                           (unsigned long long)ne0);
        }
        return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_MODEL, data_pos,
                       "model: tensor '%s' has shape %s, expected [%llu, %llu]", name, got,
                       (unsigned long long)ne0, (unsigned long long)ne1);
    }
    w->type = t.type;
    w->data = t.data;
    w->n_in = (size_t)ne0;
    w->n_out = n_dims < 2 ? 1 : (size_t)ne1;
    w->row_bytes = (size_t)(ne0 / ti->block_size * ti->type_size);
    return GGUFREF_OK;
}

/* Every tensor of the file must be one the model reads (R-MODEL-013): an unknown tensor
 * (rope_freqs.weight, a layer beyond block_count, ...) may change the computation. */
static ggufref_status check_no_extra_tensors(const ggufref_gguf *g, const ggufref_model_info *in,
                                             ggufref_error *err) {
    for (uint64_t i = 0; i < ggufref_gguf_n_tensors(g); i++) {
        ggufref_tensor t;
        ggufref_gguf_tensor(g, i, &t);
        char name[GGUFREF_MAX_TENSOR_NAME_LEN + 1];
        size_t len = t.name.len < GGUFREF_MAX_TENSOR_NAME_LEN ? t.name.len : GGUFREF_MAX_TENSOR_NAME_LEN;
        memcpy(name, t.name.ptr, len);
        name[len] = '\0';
        bool known = strcmp(name, "token_embd.weight") == 0 ||
                     strcmp(name, "output_norm.weight") == 0 || strcmp(name, "output.weight") == 0;
        unsigned layer;
        int used = 0;
        char role[GGUFREF_MAX_TENSOR_NAME_LEN + 1];
        if (!known && len == t.name.len && sscanf(name, "blk.%u.%64[a-z_].weight%n", &layer, role, &used) == 2 &&
            (size_t)used == len && layer < in->n_layers) {
            char canon[GGUFREF_MAX_TENSOR_NAME_LEN + 32];
            snprintf(canon, sizeof canon, "blk.%u.%s.weight", layer, role);
            for (int r = 0; r < N_LAYER_TENSORS && !known; r++) {
                known = strcmp(role, layer_tensor_names[r]) == 0 && strcmp(canon, name) == 0;
            }
        }
        if (!known) {
            char q[GR_QUOTE_MAX];
            return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_MODEL,
                           ggufref_gguf_data_offset(g) + t.offset,
                           "model: unexpected tensor '%s' (not part of a llama model with %u "
                           "layers)", gr_quote(q, t.name.ptr, t.name.len), in->n_layers);
        }
    }
    return GGUFREF_OK;
}

/* Bytes of one weight read in full per token. */
static uint64_t weight_size(const gr_weight *w) { return (uint64_t)w->row_bytes * w->n_out; }

/* Bind the norm vector `name` ([dim]): F32 (aligned) is used in place, any other type is
 * decoded once into slot `slot` of m->norm_copies, allocated on first need for all
 * 2 * n_layers + 1 norms (R-MODEL-015). OUT: *out; *bytes grows by the tensor's size. */
static ggufref_status bind_norm(const ggufref_gguf *g, ggufref_model *m, const char *name,
                                size_t slot, const float **out, uint64_t *bytes,
                                ggufref_error *err) {
    gr_weight w;
    size_t dim = m->info.dim;
    ggufref_status st = bind_tensor(g, name, 1, dim, 1, &w, err);
    if (st != GGUFREF_OK) return st;
    *bytes += weight_size(&w);
    if (w.type == GGUFREF_T_F32 && ((uintptr_t)w.data & (sizeof(float) - 1)) == 0) {
        *out = (const float *)(const void *)w.data;
        return GGUFREF_OK;
    }
    if (m->norm_copies == NULL) {
        m->norm_copies = gr_calloc(((size_t)m->info.n_layers * 2 + 1) * dim, sizeof(float));
        if (m->norm_copies == NULL) {
            return gr_fail(err, GGUFREF_ERR_OUT_OF_MEMORY, UINT64_MAX, "model: out of memory");
        }
    }
    float *copy = m->norm_copies + slot * dim;
    gr_weight_row(&w, 0, copy);
    *out = copy;
    return GGUFREF_OK;
}

/* Bind every tensor (R-MODEL-010..016) and fill tied_output and weight_bytes. */
static ggufref_status bind_weights(const ggufref_gguf *g, ggufref_model *m, ggufref_error *err) {
    ggufref_model_info *in = &m->info;
    uint64_t dim = in->dim, q_dim = (uint64_t)in->n_heads * in->head_dim;
    uint64_t kv_dim = (uint64_t)in->n_kv_heads * in->head_dim, ffn = in->ffn_dim;
    uint64_t bytes = 0;
    ggufref_status st;
    if ((st = check_no_extra_tensors(g, in, err))) return st;
    if ((st = bind_tensor(g, "token_embd.weight", 2, dim, in->n_vocab, &m->token_embd, err))) {
        return st;
    }
    m->layers = gr_calloc(in->n_layers, sizeof *m->layers);
    if (m->layers == NULL) {
        return gr_fail(err, GGUFREF_ERR_OUT_OF_MEMORY, UINT64_MAX, "model: out of memory");
    }
    char name[64];
    for (uint32_t l = 0; l < in->n_layers; l++) {
        gr_layer *L = &m->layers[l];
        const struct { int id; uint64_t ne0, ne1; gr_weight *w; } mats[] = {
            {T_Q, dim, q_dim, &L->wq},        {T_K, dim, kv_dim, &L->wk},
            {T_V, dim, kv_dim, &L->wv},       {T_O, q_dim, dim, &L->wo},
            {T_GATE, dim, ffn, &L->w_gate},   {T_UP, dim, ffn, &L->w_up},
            {T_DOWN, ffn, dim, &L->w_down},
        };
        for (size_t i = 0; i < sizeof mats / sizeof mats[0]; i++) {
            snprintf(name, sizeof name, "blk.%u.%s.weight", l, layer_tensor_names[mats[i].id]);
            if ((st = bind_tensor(g, name, 2, mats[i].ne0, mats[i].ne1, mats[i].w, err))) return st;
            bytes += weight_size(mats[i].w);
        }
        snprintf(name, sizeof name, "blk.%u.attn_norm.weight", l);
        if ((st = bind_norm(g, m, name, 2 * (size_t)l, &L->attn_norm, &bytes, err))) return st;
        snprintf(name, sizeof name, "blk.%u.ffn_norm.weight", l);
        if ((st = bind_norm(g, m, name, 2 * (size_t)l + 1, &L->ffn_norm, &bytes, err))) return st;
    }
    if ((st = bind_norm(g, m, "output_norm.weight", 2 * (size_t)in->n_layers, &m->output_norm,
                        &bytes, err))) {
        return st;
    }
    in->tied_output = ggufref_gguf_find_tensor(g, "output.weight") < 0;
    if (in->tied_output) {
        m->output = m->token_embd; /* R-MODEL-014 */
    } else if ((st = bind_tensor(g, "output.weight", 2, dim, in->n_vocab, &m->output, err))) {
        return st;
    }
    /* R-MODEL-016: every layer tensor, the final norm, the output matrix and one embedding row */
    in->weight_bytes = bytes + weight_size(&m->output) + m->token_embd.row_bytes;
    m->has_weights = true;
    return GGUFREF_OK;
}

/* ===================================================================================== */
/* Public API                                                                             */
/* ===================================================================================== */

static ggufref_status bind_tokenizer(const ggufref_gguf *g, ggufref_model *m, ggufref_error *err) {
    ggufref_status st = gr_tokenizer_init(g, &m->tok, err);
    if (st != GGUFREF_OK) return st;
    m->info.n_vocab = gr_tokenizer_n_vocab(m->tok);
    m->info.bos_id = gr_tokenizer_bos(m->tok);
    m->info.eos_id = gr_tokenizer_eos(m->tok);
    m->info.unk_id = gr_tokenizer_unk(m->tok);
    m->info.add_bos = gr_tokenizer_add_bos(m->tok);
    return GGUFREF_OK;
}

/* Shared body of load and load_vocab: on failure nothing is left allocated. */
static ggufref_status load(const ggufref_gguf *gguf, bool weights, ggufref_model **out,
                           ggufref_error *err) {
    if (out == NULL) return gr_fail(err, GGUFREF_ERR_INVALID_ARGUMENT, UINT64_MAX, "model: out is NULL");
    *out = NULL;
    if (gguf == NULL) return gr_fail(err, GGUFREF_ERR_INVALID_ARGUMENT, UINT64_MAX, "model: gguf is NULL");
    ggufref_model_info info;
    memset(&info, 0, sizeof info);
    ggufref_status st;
    if (weights && ((st = check_architecture(gguf, err)) || (st = read_hparams(gguf, &info, err)))) {
        return st;
    }
    ggufref_model *m = gr_calloc(1, sizeof *m);
    if (m == NULL) return gr_fail(err, GGUFREF_ERR_OUT_OF_MEMORY, UINT64_MAX, "model: out of memory");
    m->gguf = gguf;
    m->info = info;
    st = bind_tokenizer(gguf, m, err);
    if (st == GGUFREF_OK && weights) st = bind_weights(gguf, m, err);
    if (st != GGUFREF_OK) {
        ggufref_model_free(m);
        return st;
    }
    *out = m;
    return GGUFREF_OK;
}

ggufref_status ggufref_model_load(const ggufref_gguf *gguf, ggufref_model **out,
                                  ggufref_error *err) {
    return load(gguf, true, out, err);
}

ggufref_status ggufref_model_load_vocab(const ggufref_gguf *gguf, ggufref_model **out,
                                        ggufref_error *err) {
    return load(gguf, false, out, err);
}

void ggufref_model_free(ggufref_model *model) {
    if (model == NULL) return;
    gr_tokenizer_free(model->tok);
    gr_free(model->layers);
    gr_free(model->norm_copies);
    gr_free(model);
}

void ggufref_model_get_info(const ggufref_model *model, ggufref_model_info *out) {
    if (out == NULL) return;
    if (model == NULL) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = model->info;
}

const gr_tokenizer *gr_model_tokenizer(const ggufref_model *model) { return model->tok; }

/* ------------------------------------------------------------------------------------- */
/* The model's tokenizer (SPEC chapter 5; the tokenizer itself is tokenizer.c)            */
/* ------------------------------------------------------------------------------------- */

ggufref_status ggufref_tokenize(const ggufref_model *model, const char *text, size_t len,
                                bool add_bos, int32_t *out, size_t cap, size_t *n_out) {
    if (model == NULL) {
        if (n_out != NULL) *n_out = 0;
        return GGUFREF_ERR_INVALID_ARGUMENT;
    }
    return gr_tokenizer_encode(model->tok, text, len, add_bos, out, cap, n_out);
}

ggufref_status ggufref_tokenize_ex(const ggufref_model *model, const char *text, size_t len,
                                   unsigned flags, int32_t *out, size_t cap, size_t *n_out) {
    if (model == NULL) {
        if (n_out != NULL) *n_out = 0;
        return GGUFREF_ERR_INVALID_ARGUMENT;
    }
    return gr_tokenizer_encode_flags(model->tok, text, len, flags, out, cap, n_out);
}

ggufref_str ggufref_token_to_piece(const ggufref_model *model, int32_t prev, int32_t token) {
    if (model == NULL) return (ggufref_str){"", 0};
    return gr_tokenizer_piece(model->tok, prev, token);
}

ggufref_str ggufref_token_text(const ggufref_model *model, int32_t token) {
    if (model == NULL) return (ggufref_str){"", 0};
    return gr_tokenizer_text(model->tok, token);
}
