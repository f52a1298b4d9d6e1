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
 *
 * Architectures (R-MODEL-020..026): general.architecture selects the key prefix and the extras
 * (llama.cpp's names): llama may carry rope_freqs.weight [rope_dim/2]; qwen2 adds
 * blk.N.attn_{q,k,v}.bias [q_dim | kv_dim] and NEOX RoPE; qwen3 adds blk.N.attn_{q,k}_norm.weight
 * [head_dim] and NEOX RoPE. Every architecture may set attention.key_length (head_dim apart from
 * embedding_length / head_count) and linear RoPE scaling.
 */
#include "model.h"

#include <stdio.h>
#include <string.h>

/* Bounds on hyperparameters: sizes stay far from overflow in every product forward.c forms. */
#define MAX_DIM (1u << 20)        /* embedding_length, feed_forward_length */
#define MAX_LAYERS 4096u          /* block_count */
#define MAX_HEADS 4096u           /* head_count, head_count_kv */
#define MAX_CTX (1u << 24)        /* context_length: positions are exact in binary32 */

#define KEY_MAX 96                /* "<arch>.<suffix>" */

/* Layer tensors (the tensor table of SPEC chapter 3, R-MODEL-010), in the order of gr_layer. */
enum { T_ATTN_NORM, T_Q, T_K, T_V, T_O, T_FFN_NORM, T_GATE, T_UP, T_DOWN, N_LAYER_TENSORS };
static const char *const layer_tensor_names[N_LAYER_TENSORS] = {
    "attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
    "ffn_norm", "ffn_gate", "ffn_up", "ffn_down",
};

/* The architectures (R-MODEL-020): name = key prefix, RoPE style, extras. */
static const gr_arch arch_table[] = {
    {GR_ARCH_LLAMA, "llama", false, false, false, 1.0f, NULL},
    {GR_ARCH_QWEN2, "qwen2", true, true, false, 1.0f, NULL},
    {GR_ARCH_QWEN3, "qwen3", true, false, true, 1.0f, NULL},
};

/* Extra layer tensors of an architecture: "<role>.<suffix>" (R-MODEL-023, R-MODEL-024). */
static const char *const bias_roles[3] = {"attn_q.bias", "attn_k.bias", "attn_v.bias"};
static const char *const qk_norm_roles[2] = {"attn_q_norm.weight", "attn_k_norm.weight"};

/* "<arch>.<suffix>" into buf: the key of a hyperparameter (R-MODEL-002). */
static const char *akey(char buf[KEY_MAX], const gr_arch *a, const char *suffix) {
    snprintf(buf, KEY_MAX, "%s.%s", a->name, suffix);
    return buf;
}

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

/* general.architecture must be one of arch_table (R-MODEL-001, R-MODEL-020). OUT: *arch. */
static ggufref_status check_architecture(const ggufref_gguf *g, gr_arch *out_arch,
                                         ggufref_error *err) {
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
    for (size_t i = 0; i < sizeof arch_table / sizeof arch_table[0]; i++) {
        if (arch.len == strlen(arch_table[i].name) &&
            memcmp(arch.ptr, arch_table[i].name, arch.len) == 0) {
            *out_arch = arch_table[i];
            return GGUFREF_OK;
        }
    }
    char q[GR_QUOTE_MAX];
    return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_MODEL, UINT64_MAX,
                   "model: general.architecture is '%s', which is not supported (supported: "
                   "llama, qwen2, qwen3)", gr_quote(q, arch.ptr, arch.len));
}

/* Keys whose presence changes the computation in ways this runtime does not implement
 * (R-MODEL-006): mixture of experts, rope scaling other than none and linear. Linear scaling
 * sets a->rope_scale (R-MODEL-022). */
static ggufref_status check_unsupported_keys(const ggufref_gguf *g, gr_arch *a,
                                             ggufref_error *err) {
    char key[KEY_MAX];
    uint32_t experts = 0;
    ggufref_status st = GGUFREF_OK;
    int64_t kv = ggufref_gguf_find_key(g, akey(key, a, "expert_count"));
    if (kv >= 0) {
        uint64_t v;
        st = ggufref_gguf_get_uint(g, (uint64_t)kv, &v);
        if (st != GGUFREF_OK) {
            return gr_fail(err, st, UINT64_MAX, "model: key '%s' is not a count", key);
        }
        experts = v > 0;
    }
    if (experts) {
        return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_MODEL, UINT64_MAX,
                       "model: %s > 0 (mixture of experts) is not supported", key);
    }
    bool linear = true; /* rope.scaling.type absent: linear, as llama.cpp */
    kv = ggufref_gguf_find_key(g, akey(key, a, "rope.scaling.type"));
    if (kv >= 0) {
        ggufref_str s;
        if (ggufref_gguf_get_str(g, (uint64_t)kv, &s) != GGUFREF_OK) {
            return gr_fail(err, GGUFREF_ERR_BAD_VALUE_TYPE, UINT64_MAX,
                           "model: key '%s' is not a string", key);
        }
        linear = s.len == 6 && memcmp(s.ptr, "linear", 6) == 0;
        if (!linear && !(s.len == 4 && memcmp(s.ptr, "none", 4) == 0)) {
            char q[GR_QUOTE_MAX];
            return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_MODEL, UINT64_MAX,
                           "model: %s '%s' is not supported (only none and linear)", key,
                           gr_quote(q, s.ptr, s.len));
        }
    }
    float factor = 0.0f; /* rope.scale_linear first, then rope.scaling.factor (llama.cpp) */
    if ((st = read_real(g, akey(key, a, "rope.scale_linear"), 0.0f, &factor, err))) return st;
    if (factor == 0.0f &&
        (st = read_real(g, akey(key, a, "rope.scaling.factor"), 0.0f, &factor, err))) {
        return st;
    }
    a->rope_scale = linear && factor != 0.0f ? factor : 1.0f;
    return GGUFREF_OK;
}

/* Read and check every hyperparameter (R-MODEL-002..006, R-MODEL-025) of architecture a.
 * OUT: *in (the tokenizer fields are filled later), a->rope_scale. */
static ggufref_status read_hparams(const ggufref_gguf *g, gr_arch *a, ggufref_model_info *in,
                                   ggufref_error *err) {
    ggufref_status st;
    char k[KEY_MAX], k2[KEY_MAX];
    if ((st = read_count(g, akey(k, a, "context_length"), true, MAX_CTX, &in->n_ctx_train, err)) ||
        (st = read_count(g, akey(k, a, "embedding_length"), true, MAX_DIM, &in->dim, err)) ||
        (st = read_count(g, akey(k, a, "block_count"), true, MAX_LAYERS, &in->n_layers, err)) ||
        (st = read_count(g, akey(k, a, "feed_forward_length"), true, MAX_DIM, &in->ffn_dim, err)) ||
        (st = read_count(g, akey(k, a, "attention.head_count"), true, MAX_HEADS, &in->n_heads,
                         err))) {
        return st;
    }
    in->n_kv_heads = in->n_heads;
    if ((st = read_count(g, akey(k, a, "attention.head_count_kv"), false, MAX_HEADS,
                         &in->n_kv_heads, err))) {
        return st;
    }
    /* R-MODEL-025: key_length / value_length give the head size, default dim / n_heads */
    uint32_t key_len = 0, value_len = 0;
    if ((st = read_count(g, akey(k, a, "attention.key_length"), false, MAX_DIM, &key_len, err)) ||
        (st = read_count(g, akey(k, a, "attention.value_length"), false, MAX_DIM, &value_len,
                         err))) {
        return st;
    }
    if ((key_len == 0 || value_len == 0) && in->dim % in->n_heads != 0) {
        return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_MODEL, UINT64_MAX,
                       "model: %s %u is not a multiple of %s %u", akey(k, a, "embedding_length"),
                       in->dim, akey(k2, a, "attention.head_count"), in->n_heads);
    }
    if (in->n_heads % in->n_kv_heads != 0) {
        return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_MODEL, UINT64_MAX,
                       "model: %s %u is not a multiple of %s %u", akey(k, a, "attention.head_count"),
                       in->n_heads, akey(k2, a, "attention.head_count_kv"), in->n_kv_heads);
    }
    in->head_dim = key_len ? key_len : in->dim / in->n_heads;
    if (value_len == 0) value_len = in->dim / in->n_heads;
    if (value_len != in->head_dim) {
        return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_MODEL, UINT64_MAX,
                       "model: %s head size %u differs from the value head size %u "
                       "(key_length and value_length must agree)",
                       a->name, in->head_dim, value_len);
    }
    if ((uint64_t)in->n_heads * in->head_dim > MAX_DIM) {
        return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_MODEL, UINT64_MAX,
                       "model: %s x key_length = %llu is above %u",
                       akey(k, a, "attention.head_count"),
                       (unsigned long long)in->n_heads * in->head_dim, MAX_DIM);
    }
    in->rope_dim = in->head_dim;
    if ((st = read_count(g, akey(k, a, "rope.dimension_count"), false, MAX_DIM, &in->rope_dim,
                         err))) {
        return st;
    }
    if (in->rope_dim % 2 != 0 || in->rope_dim > in->head_dim) {
        return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_MODEL, UINT64_MAX,
                       "model: %s %u must be even and <= head dim %u", k, in->rope_dim,
                       in->head_dim);
    }
    in->rope_freq_base = 10000.0f;
    in->rms_eps = 1e-5f;
    if ((st = read_real(g, akey(k, a, "rope.freq_base"), 1.0f, &in->rope_freq_base, err)) ||
        (st = read_real(g, akey(k, a, "attention.layer_norm_rms_epsilon"), 0.0f, &in->rms_eps,
                        err))) {
        return st;
    }
    return check_unsupported_keys(g, a, err);
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

/* True if `role` ("<name>.<suffix>") is a layer tensor of architecture a (R-MODEL-010,
 * R-MODEL-023, R-MODEL-024). */
static bool is_layer_role(const gr_arch *a, const char *role) {
    char full[GGUFREF_MAX_TENSOR_NAME_LEN + 8];
    for (int r = 0; r < N_LAYER_TENSORS; r++) {
        snprintf(full, sizeof full, "%s.weight", layer_tensor_names[r]);
        if (strcmp(role, full) == 0) return true;
    }
    for (int r = 0; a->qkv_bias && r < 3; r++) {
        if (strcmp(role, bias_roles[r]) == 0) return true;
    }
    for (int r = 0; a->qk_norm && r < 2; r++) {
        if (strcmp(role, qk_norm_roles[r]) == 0) return true;
    }
    return false;
}

/* Every tensor of the file must be one the model reads (R-MODEL-013): an unknown tensor
 * (rope_freqs.weight outside llama, a layer beyond block_count, ...) may change the
 * computation. */
static ggufref_status check_no_extra_tensors(const ggufref_gguf *g, const gr_arch *a,
                                             const ggufref_model_info *in, ggufref_error *err) {
    for (uint64_t i = 0; i < ggufref_gguf_n_tensors(g); i++) {
        ggufref_tensor t;
        ggufref_gguf_tensor(g, i, &t);
        char name[GGUFREF_MAX_TENSOR_NAME_LEN + 1];
        size_t len = t.name.len < GGUFREF_MAX_TENSOR_NAME_LEN ? t.name.len : GGUFREF_MAX_TENSOR_NAME_LEN;
        memcpy(name, t.name.ptr, len);
        name[len] = '\0';
        bool known = strcmp(name, "token_embd.weight") == 0 ||
                     strcmp(name, "output_norm.weight") == 0 || strcmp(name, "output.weight") == 0 ||
                     (a->id == GR_ARCH_LLAMA && strcmp(name, "rope_freqs.weight") == 0);
        unsigned layer;
        int used = 0;
        char role[GGUFREF_MAX_TENSOR_NAME_LEN + 1], suffix[8];
        if (!known && len == t.name.len &&
            sscanf(name, "blk.%u.%64[a-z_].%7[a-z]%n", &layer, role, suffix, &used) == 3 &&
            (size_t)used == len && layer < in->n_layers) {
            char canon[GGUFREF_MAX_TENSOR_NAME_LEN + 32];
            snprintf(canon, sizeof canon, "blk.%u.%s.%s", layer, role, suffix);
            size_t rl = strlen(role);
            snprintf(role + rl, sizeof role - rl, ".%s", suffix);
            known = strcmp(canon, name) == 0 && is_layer_role(a, role);
        }
        if (!known) {
            char q[GR_QUOTE_MAX];
            return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_MODEL,
                           ggufref_gguf_data_offset(g) + t.offset,
                           "model: unexpected tensor '%s' (not part of a %s model with %u "
                           "layers)", gr_quote(q, t.name.ptr, t.name.len), a->name, in->n_layers);
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

/* Floats per layer in m->vec_copies: q bias, k bias, v bias, q norm, k norm; rope_freqs after
 * the last layer. */
static size_t vec_stride(const ggufref_model_info *in) {
    return ((size_t)in->n_heads + 2 * (size_t)in->n_kv_heads + 2) * in->head_dim;
}

/* Bind the vector `name` ([n]) as bind_norm does, its copy (non-F32) at `offset` of
 * m->vec_copies, allocated on first need for every vector (R-MODEL-015). OUT: *out. */
static ggufref_status bind_vector(const ggufref_gguf *g, ggufref_model *m, const char *name,
                                  size_t n, size_t offset, const float **out, uint64_t *bytes,
                                  ggufref_error *err) {
    gr_weight w;
    ggufref_status st = bind_tensor(g, name, 1, n, 1, &w, err);
    if (st != GGUFREF_OK) return st;
    *bytes += weight_size(&w);
    if (w.type == GGUFREF_T_F32 && ((uintptr_t)w.data & (sizeof(float) - 1)) == 0) {
        *out = (const float *)(const void *)w.data;
        return GGUFREF_OK;
    }
    if (m->vec_copies == NULL) {
        size_t total = (size_t)m->info.n_layers * vec_stride(&m->info) + m->info.rope_dim / 2;
        m->vec_copies = gr_calloc(total, sizeof(float));
        if (m->vec_copies == NULL) {
            return gr_fail(err, GGUFREF_ERR_OUT_OF_MEMORY, UINT64_MAX, "model: out of memory");
        }
    }
    float *copy = m->vec_copies + offset;
    gr_weight_row(&w, 0, copy);
    *out = copy;
    return GGUFREF_OK;
}

/* The extra tensors of each layer (R-MODEL-023, R-MODEL-024). *bytes grows by their size. */
static ggufref_status bind_layer_extras(const ggufref_gguf *g, ggufref_model *m, uint32_t l,
                                        uint64_t *bytes, ggufref_error *err) {
    const ggufref_model_info *in = &m->info;
    gr_layer *L = &m->layers[l];
    size_t hd = in->head_dim, q_dim = in->n_heads * hd, kv_dim = in->n_kv_heads * hd;
    size_t base = l * vec_stride(in);
    char name[64];
    ggufref_status st;
    if (m->arch.qkv_bias) {
        const struct { size_t n, off; const float **out; } b[3] = {
            {q_dim, 0, &L->bq}, {kv_dim, q_dim, &L->bk}, {kv_dim, q_dim + kv_dim, &L->bv}};
        for (int i = 0; i < 3; i++) {
            snprintf(name, sizeof name, "blk.%u.%s", l, bias_roles[i]);
            if ((st = bind_vector(g, m, name, b[i].n, base + b[i].off, b[i].out, bytes, err))) {
                return st;
            }
        }
    }
    if (m->arch.qk_norm) {
        const float **out[2] = {&L->q_norm, &L->k_norm};
        for (int i = 0; i < 2; i++) {
            snprintf(name, sizeof name, "blk.%u.%s", l, qk_norm_roles[i]);
            size_t off = base + q_dim + 2 * kv_dim + (size_t)i * hd;
            if ((st = bind_vector(g, m, name, hd, off, out[i], bytes, err))) return st;
        }
    }
    return GGUFREF_OK;
}

/* llama's optional rope_freqs.weight [rope_dim / 2]: every value finite and > 0 (R-MODEL-021). */
static ggufref_status bind_rope_freqs(const ggufref_gguf *g, ggufref_model *m, ggufref_error *err) {
    int64_t idx = ggufref_gguf_find_tensor(g, "rope_freqs.weight");
    if (idx < 0) return GGUFREF_OK;
    size_t n = m->info.rope_dim / 2;
    uint64_t once = 0; /* read once per context, not per token: not in weight_bytes */
    ggufref_status st = bind_vector(g, m, "rope_freqs.weight", n,
                                    (size_t)m->info.n_layers * vec_stride(&m->info),
                                    &m->arch.rope_freqs, &once, err);
    if (st != GGUFREF_OK) return st;
    for (size_t j = 0; j < n; j++) {
        float f = m->arch.rope_freqs[j];
        if (!(f > 0.0f && f <= 3.4028234663852886e38f)) {
            ggufref_tensor t;
            ggufref_gguf_tensor(g, (uint64_t)idx, &t);
            return gr_fail(err, GGUFREF_ERR_BAD_VALUE, ggufref_gguf_data_offset(g) + t.offset,
                           "model: tensor 'rope_freqs.weight' element %zu = %g must be finite "
                           "and > 0", j, (double)f);
        }
    }
    return GGUFREF_OK;
}

/* Bind every tensor (R-MODEL-010..016) and fill tied_output and weight_bytes. */
static ggufref_status bind_weights(const ggufref_gguf *g, ggufref_model *m, ggufref_error *err) {
    ggufref_model_info *in = &m->info;
    uint64_t dim = in->dim, q_dim = (uint64_t)in->n_heads * in->head_dim;
    uint64_t kv_dim = (uint64_t)in->n_kv_heads * in->head_dim, ffn = in->ffn_dim;
    uint64_t bytes = 0;
    ggufref_status st;
    if ((st = check_no_extra_tensors(g, &m->arch, in, err))) return st;
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
        if ((st = bind_layer_extras(g, m, l, &bytes, err))) return st;
    }
    if ((st = bind_rope_freqs(g, m, err))) return st;
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
    gr_arch arch = arch_table[0];
    if (weights && ((st = check_architecture(gguf, &arch, err)) ||
                    (st = read_hparams(gguf, &arch, &info, err)))) {
        return st;
    }
    ggufref_model *m = gr_calloc(1, sizeof *m);
    if (m == NULL) return gr_fail(err, GGUFREF_ERR_OUT_OF_MEMORY, UINT64_MAX, "model: out of memory");
    m->gguf = gguf;
    m->info = info;
    m->arch = arch;
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
    gr_free(model->vec_copies);
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
