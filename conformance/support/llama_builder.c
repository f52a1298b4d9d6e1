/* llama_builder.c — see llama_builder.h. Test support: aborts on allocation failure. */
#include "llama_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lb_default(lb_config *c) {
    memset(c, 0, sizeof *c);
    c->arch = "llama";
    c->tok_model = "llama";
    c->dim = 32;
    c->n_layers = 2;
    c->n_heads = 4;
    c->n_kv_heads = 2;
    c->ffn = 48;
    c->n_ctx = 16;
    c->n_vocab = 8;
    c->mat_type = GGUFREF_T_F32;
    c->norm_type = GGUFREF_T_F32;
    c->rope_freq_base = 10000.0f;
    c->rms_eps = 1e-5f;
    c->weight_scale = 0.5f;
    c->seed = 1;
}

static bool skipped(const char *name, const char *skip) { return skip && strcmp(name, skip) == 0; }

/* ---- metadata --------------------------------------------------------------------------- */

static uint64_t write_kvs(const lb_config *c, gb_buf *kv) {
    uint64_t n = 0;
#define KV(key, call)                   \
    do {                                \
        if (!skipped(key, c->skip_key)) { \
            call;                       \
            n++;                        \
        }                               \
    } while (0)
    if (c->arch) KV("general.architecture", gb_kv_str(kv, "general.architecture", c->arch));
    KV("llama.context_length", gb_kv_u32(kv, "llama.context_length", c->n_ctx));
    KV("llama.embedding_length", gb_kv_u32(kv, "llama.embedding_length", c->dim));
    KV("llama.block_count", gb_kv_u32(kv, "llama.block_count", c->n_layers));
    KV("llama.feed_forward_length", gb_kv_u32(kv, "llama.feed_forward_length", c->ffn));
    KV("llama.attention.head_count", gb_kv_u32(kv, "llama.attention.head_count", c->n_heads));
    if (!c->omit_defaults) {
        KV("llama.attention.head_count_kv",
           gb_kv_u32(kv, "llama.attention.head_count_kv", c->n_kv_heads));
        KV("llama.rope.dimension_count",
           gb_kv_u32(kv, "llama.rope.dimension_count", c->rope_dim ? c->rope_dim : c->dim / c->n_heads));
        KV("llama.rope.freq_base", gb_kv_f32(kv, "llama.rope.freq_base", c->rope_freq_base));
        KV("llama.attention.layer_norm_rms_epsilon",
           gb_kv_f32(kv, "llama.attention.layer_norm_rms_epsilon", c->rms_eps));
    }
    KV("tokenizer.ggml.model", gb_kv_str(kv, "tokenizer.ggml.model", c->tok_model));
    char **tokens = calloc(c->n_vocab, sizeof *tokens);
    float *scores = calloc(c->n_vocab, sizeof *scores);
    int32_t *types = calloc(c->n_vocab, sizeof *types);
    if (!tokens || !scores || !types) abort();
    static const char *const special[3] = {"<unk>", "<s>", "</s>"};
    for (uint32_t i = 0; i < c->n_vocab; i++) {
        tokens[i] = malloc(16);
        if (!tokens[i]) abort();
        if (i < 3) snprintf(tokens[i], 16, "%s", special[i]);
        else snprintf(tokens[i], 16, "\xe2\x96\x81t%u", i);
        scores[i] = -(float)i;
        types[i] = i == 0 ? 2 : i < 3 ? 3 : 1;
    }
    KV("tokenizer.ggml.tokens",
       gb_kv_str_array(kv, "tokenizer.ggml.tokens", (const char *const *)tokens, c->n_vocab));
    KV("tokenizer.ggml.scores", gb_kv_f32_array(kv, "tokenizer.ggml.scores", scores, c->n_vocab));
    KV("tokenizer.ggml.token_type",
       gb_kv_i32_array(kv, "tokenizer.ggml.token_type", types, c->n_vocab));
    KV("tokenizer.ggml.bos_token_id", gb_kv_u32(kv, "tokenizer.ggml.bos_token_id", 1));
    KV("tokenizer.ggml.eos_token_id", gb_kv_u32(kv, "tokenizer.ggml.eos_token_id", 2));
#undef KV
    for (uint32_t i = 0; i < c->n_vocab; i++) free(tokens[i]);
    free(tokens);
    free(scores);
    free(types);
    if (c->extra_kv) n += c->extra_kv(kv, c->extra_user);
    return n;
}

/* ---- tensors ---------------------------------------------------------------------------- */

typedef struct lb_rng {
    uint64_t s;
} lb_rng;

static uint32_t next_u32(lb_rng *r) {
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return (uint32_t)((r->s * 0x2545F4914F6CDD1Dull) >> 32);
}

static float next_float(lb_rng *r) { return (float)(next_u32(r) >> 8) / 16777216.0f - 0.5f; }

static void put16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* Offsets of the f16 fields of one block of each quantized type. */
static size_t f16_fields(uint32_t type, size_t at[2]) {
    switch (type) {
    case GGUFREF_T_Q4_0: case GGUFREF_T_Q5_0: case GGUFREF_T_Q8_0: at[0] = 0; return 1;
    case GGUFREF_T_Q4_1: case GGUFREF_T_Q5_1: case GGUFREF_T_Q4_K: case GGUFREF_T_Q5_K:
        at[0] = 0; at[1] = 2; return 2;
    case GGUFREF_T_Q2_K: at[0] = 80; at[1] = 82; return 2;
    case GGUFREF_T_Q3_K: at[0] = 108; return 1;
    case GGUFREF_T_Q6_K: at[0] = 208; return 1;
    default: return 0;
    }
}

/* Fill a tensor of n elements: uniform values in +-scale/2 around `center` for plain types;
 * random blocks with small finite scales for quantized ones. */
static void fill(uint8_t *p, uint32_t type, size_t n, float center, float scale, lb_rng *r) {
    const ggufref_type_info *ti = ggufref_type_info_get(type);
    if (type == GGUFREF_T_F32 || type == GGUFREF_T_F16 || type == GGUFREF_T_BF16) {
        for (size_t i = 0; i < n; i++) {
            float v = center + next_float(r) * scale;
            if (type == GGUFREF_T_F32) {
                memcpy(p + 4 * i, &v, 4);
            } else if (type == GGUFREF_T_F16) {
                put16(p + 2 * i, ggufref_f32_to_f16(v));
            } else {
                uint32_t u;
                memcpy(&u, &v, 4);
                put16(p + 2 * i, (uint16_t)(u >> 16));
            }
        }
        return;
    }
    if (ti == NULL) return; /* unknown types: zeros */
    size_t at[2], k = f16_fields(type, at);
    for (size_t b = 0; b < n / ti->block_size; b++) {
        uint8_t *blk = p + b * ti->type_size;
        for (size_t i = 0; i < ti->type_size; i++) blk[i] = (uint8_t)next_u32(r);
        for (size_t i = 0; i < k; i++) put16(blk + at[i], ggufref_f32_to_f16(next_float(r) * scale * 0.125f));
    }
}

typedef struct lb_tensor {
    char name[64];
    uint32_t n_dims;
    uint64_t ne[2];
    uint32_t type;
    bool norm;
} lb_tensor;

static size_t list_tensors(const lb_config *c, lb_tensor *t) {
    size_t n = 0, hd = c->dim / c->n_heads;
    uint64_t q = (uint64_t)c->n_heads * hd, kv = (uint64_t)c->n_kv_heads * hd;
#define T(nd, a, b, isnorm, ...)                                   \
    do {                                                           \
        snprintf(t[n].name, sizeof t[n].name, __VA_ARGS__);        \
        t[n].n_dims = nd;                                          \
        t[n].ne[0] = a;                                            \
        t[n].ne[1] = b;                                            \
        t[n].norm = isnorm;                                        \
        t[n].type = isnorm ? c->norm_type : c->mat_type;           \
        n++;                                                       \
    } while (0)
    T(2, c->dim, c->n_vocab, false, "token_embd.weight");
    for (uint32_t l = 0; l < c->n_layers; l++) {
        T(1, c->dim, 1, true, "blk.%u.attn_norm.weight", l);
        T(2, c->dim, q, false, "blk.%u.attn_q.weight", l);
        T(2, c->dim, kv, false, "blk.%u.attn_k.weight", l);
        T(2, c->dim, kv, false, "blk.%u.attn_v.weight", l);
        T(2, q, c->dim, false, "blk.%u.attn_output.weight", l);
        T(1, c->dim, 1, true, "blk.%u.ffn_norm.weight", l);
        T(2, c->dim, c->ffn, false, "blk.%u.ffn_gate.weight", l);
        T(2, c->ffn, c->dim, false, "blk.%u.ffn_down.weight", l);
        T(2, c->dim, c->ffn, false, "blk.%u.ffn_up.weight", l);
    }
    T(1, c->dim, 1, true, "output_norm.weight");
    if (!c->tied) T(2, c->dim, c->n_vocab, false, "output.weight");
    if (c->extra_tensor) T(1, c->dim, 1, true, "%s", c->extra_tensor);
#undef T
    return n;
}

void lb_build(const lb_config *c, gb_buf *b) {
    gb_buf kv;
    gb_init(&kv, 3);
    uint64_t n_kv = write_kvs(c, &kv);
    size_t cap = 4 + 9 * (size_t)c->n_layers + 2;
    lb_tensor *lt = calloc(cap, sizeof *lt);
    gb_tensor *gt = calloc(cap, sizeof *gt);
    uint8_t **data = calloc(cap, sizeof *data);
    if (!lt || !gt || !data) abort();
    size_t n_all = list_tensors(c, lt), n = 0;
    lb_rng r = {c->seed * 0x9E3779B97F4A7C15ull + 1};
    for (size_t i = 0; i < n_all; i++) {
        if (skipped(lt[i].name, c->skip_tensor)) continue;
        gb_tensor *g = &gt[n];
        g->name = lt[i].name;
        g->n_dims = lt[i].n_dims;
        g->ne[0] = lt[i].ne[0];
        g->ne[1] = lt[i].ne[1];
        g->type = lt[i].type;
        if (skipped(lt[i].name, c->reshape_tensor)) {
            g->n_dims = c->reshape_dims;
            g->ne[0] = c->reshape_ne[0];
            g->ne[1] = c->reshape_ne[1];
        }
        if (skipped(lt[i].name, c->retype_tensor)) g->type = c->retype;
        if (g->n_dims < 2) g->ne[1] = 1;
        uint64_t bytes = gb_tensor_bytes(g->type, g->n_dims, g->ne);
        data[n] = calloc(bytes ? bytes : 1, 1);
        if (!data[n]) abort();
        fill(data[n], g->type, (size_t)(g->ne[0] * g->ne[1]), lt[i].norm ? 1.0f : 0.0f,
             lt[i].norm ? 0.25f : c->weight_scale, &r);
        g->data = data[n];
        n++;
    }
    gb_init(b, 3);
    gb_header(b, n, n_kv);
    gb_bytes(b, kv.data, kv.len);
    gb_tensor_infos(b, gt, n, 32);
    gb_tensor_data(b, gt, n, 32);
    for (size_t i = 0; i < n; i++) free(data[i]);
    free(data);
    free(gt);
    free(lt);
    gb_free(&kv);
}
