/*
 * fixtures.c — the fixture table and the llama model each row becomes.
 *
 * Tensors, in the order llama.cpp's converter writes them (ne[0] is the innermost dimension;
 * head_dim = dim / n_heads, kv_dim = n_kv_heads * head_dim):
 *   token_embd.weight          [dim, n_vocab]
 *   blk.N.attn_norm.weight     [dim]             F32
 *   blk.N.attn_q.weight        [dim, dim]
 *   blk.N.attn_k.weight        [dim, kv_dim]
 *   blk.N.attn_v.weight        [dim, kv_dim]
 *   blk.N.attn_output.weight   [dim, dim]
 *   blk.N.ffn_norm.weight      [dim]             F32
 *   blk.N.ffn_gate.weight      [dim, ffn]
 *   blk.N.ffn_down.weight      [ffn, dim]
 *   blk.N.ffn_up.weight        [dim, ffn]
 *   output_norm.weight         [dim]             F32
 *   output.weight              [dim, n_vocab]    (absent when tied)
 * Matrices use the fixture's type, or its fallback when ne[0] is not a multiple of the type's
 * block size (as llama.cpp's quantize does: Q4_K falls back to Q5_0).
 */
#include "gen.h"

#include <stdio.h>
#include <string.h>

#define TINY(name_, type_, dim_, layers_, heads_, kv_, ffn_, tied_, seed_) \
    .name = name_, .type = type_, .fallback = type_, .dim = dim_, .n_layers = layers_, \
    .n_heads = heads_, .n_kv_heads = kv_, .ffn = ffn_, .n_ctx = 96, .tied = tied_, \
    .vocab = VOCAB_TINY, .seed = seed_

/* Three size classes: plain types (dim 48: any ne[0] works), 32-element blocks (dim 96,
 * ffn 160), 256-element super-blocks (dim 256, ffn 256, one layer to stay small). Every
 * combination of MHA/GQA and tied/untied appears; sizes are not powers of two where the type
 * allows. */
const gen_fixture gen_fixtures[] = {
    {TINY("tiny-f32-mha-untied", GT_F32, 48, 2, 6, 6, 72, false, 0x1001), .wexp = -2},
    {TINY("tiny-f32-gqa-tied", GT_F32, 48, 2, 6, 2, 72, true, 0x1002), .wexp = -2,
     .rms_eps = 1e-6f},
    {TINY("tiny-f16-gqa-untied", GT_F16, 48, 2, 6, 3, 72, false, 0x1004), .wexp = -2},
    {TINY("tiny-bf16-mha-tied", GT_BF16, 48, 2, 6, 6, 72, true, 0x1005), .wexp = -2,
     .flags = FX_DEFAULTS},
    {TINY("tiny-q4_0-gqa-untied", GT_Q4_0, 96, 2, 6, 2, 160, false, 0x2001), .wexp = -2},
    {TINY("tiny-q4_1-mha-tied", GT_Q4_1, 96, 2, 6, 6, 160, true, 0x2002), .wexp = -2},
    {TINY("tiny-q5_0-gqa-tied", GT_Q5_0, 96, 2, 6, 3, 160, true, 0x2003), .wexp = -2},
    {TINY("tiny-q5_1-mha-untied", GT_Q5_1, 96, 2, 6, 6, 160, false, 0x2004), .wexp = -2},
    {TINY("tiny-q8_0-gqa-untied", GT_Q8_0, 96, 2, 6, 2, 160, false, 0x2005), .wexp = -2,
     .alignment = 32, .rope_freq_base = 500000.0f},
    {TINY("tiny-q2_k-mha-untied", GT_Q2_K, 256, 1, 8, 8, 256, false, 0x3001), .wexp = -3},
    {TINY("tiny-q3_k-gqa-tied", GT_Q3_K, 256, 1, 8, 4, 256, true, 0x3002), .wexp = -3},
    {TINY("tiny-q4_k-gqa-tied", GT_Q4_K, 256, 1, 8, 2, 256, true, 0x3003), .wexp = -3},
    {TINY("tiny-q5_k-gqa-tied", GT_Q5_K, 256, 1, 8, 2, 256, true, 0x3004), .wexp = -3},
    {TINY("tiny-q6_k-gqa-tied", GT_Q6_K, 256, 1, 8, 1, 256, true, 0x3005), .wexp = -3},
/* A llama model with a byte-level BPE vocabulary (Llama 3's layout: tokenizer.ggml.model gpt2,
 * pre llama-bpe, merges; SPEC 5.2): the suite's tokenization and golden traces on BPE. */
    {.name = "tiny-f32-gqa-untied-bpe", .type = GT_F32, .fallback = GT_F32, .dim = 48,
     .n_layers = 2, .n_heads = 6, .n_kv_heads = 2, .ffn = 72, .n_ctx = 96, .tied = false,
     .vocab = VOCAB_BPE_TINY, .seed = 0x5001, .wexp = -2},
/* Architectures beyond plain llama (SPEC R-MODEL-020..026), each in F32 and one quantized type:
 * llama with Llama 3.1-style rope_freqs.weight (context 256: the divisors change the greedy
 * tokens only some way into a generation), qwen2 (Q/K/V biases, NEOX RoPE), qwen3 (per-head Q/K
 * RMSNorm, NEOX RoPE, head size 32 from key_length with dim 64 / 4 heads = 16). Dim 64 and
 * ffn 96 fit 32-element blocks; the K-quant qwen3 uses dim 256 and head size 128. */
#define FAMILY(name_, type_, dim_, layers_, heads_, kv_, ffn_, ctx_, tied_, seed_) \
    .name = name_, .type = type_, .fallback = type_, .dim = dim_, .n_layers = layers_, \
    .n_heads = heads_, .n_kv_heads = kv_, .ffn = ffn_, .n_ctx = ctx_, .tied = tied_, \
    .vocab = VOCAB_TINY, .seed = seed_
    {FAMILY("tiny-llama3-f32-gqa-tied", GT_F32, 64, 2, 4, 2, 96, 256, true, 0x6001),
     .wexp = -2, .flags = FX_ROPE_FREQS},
    {FAMILY("tiny-llama3-q8_0-gqa-untied", GT_Q8_0, 64, 2, 4, 2, 96, 256, false, 0x6002),
     .wexp = -2, .flags = FX_ROPE_FREQS},
    {FAMILY("tiny-qwen2-f32-gqa-tied", GT_F32, 64, 2, 4, 2, 96, 96, true, 0x6101), .wexp = -2,
     .arch = "qwen2", .rope_freq_base = 1000000.0f, .rms_eps = 1e-6f},
    {FAMILY("tiny-qwen2-q4_0-gqa-untied", GT_Q4_0, 64, 2, 4, 2, 96, 96, false, 0x6102),
     .wexp = -2, .arch = "qwen2", .rope_freq_base = 1000000.0f, .rms_eps = 1e-6f},
    {FAMILY("tiny-qwen3-f32-gqa-tied", GT_F32, 64, 2, 4, 2, 96, 96, true, 0x6201), .wexp = -2,
     .arch = "qwen3", .head_dim = 32, .rope_freq_base = 1000000.0f, .rms_eps = 1e-6f},
    {FAMILY("tiny-qwen3-q4_k-gqa-tied", GT_Q4_K, 256, 1, 4, 2, 256, 96, true, 0x6202),
     .wexp = -3, .arch = "qwen3", .head_dim = 128, .rope_freq_base = 1000000.0f,
     .rms_eps = 1e-6f},
#undef FAMILY
/* Reader edge cases (FX_EDGE: committed in models/edge/, never part of the type test or the
 * golden traces): tiny-f32-gqa-tied's model byte for byte in its tensors (same seed, shapes and
 * values), written as GGUF v1 (u32 counts), GGUF v2, with wide integer hyperparameters (u64
 * context_length, i32 embedding_length: what llama.cpp refuses) and with general.alignment 64.
 * An implementation that loads one must give the same tokens as on tiny-f32-gqa-tied. */
#define EDGE(name_) TINY(name_, GT_F32, 48, 2, 6, 2, 72, true, 0x1002), .wexp = -2, .rms_eps = 1e-6f
    {EDGE("edge-v1-f32-gqa-tied"), .version = 1, .flags = FX_EDGE},
    {EDGE("edge-v2-f32-gqa-tied"), .version = 2, .flags = FX_EDGE},
    {EDGE("edge-wide-ints-f32-gqa-tied"), .flags = FX_EDGE | FX_WIDE_INTS},
    {EDGE("edge-align64-f32-gqa-tied"), .alignment = 64, .flags = FX_EDGE},
#undef EDGE
#define STORIES(name_, type_, fallback_, seed_) \
    .name = name_, .type = type_, .fallback = fallback_, .dim = 288, .n_layers = 6, \
    .n_heads = 6, .n_kv_heads = 6, .ffn = 768, .n_ctx = 256, .tied = true, \
    .vocab = VOCAB_SYNTH32000, .wexp = -3, \
    .seed = seed_, .flags = FX_STORIES
    {STORIES("stories15m-f32", GT_F32, GT_F32, 0x4001)},
    {STORIES("stories15m-q8_0", GT_Q8_0, GT_Q8_0, 0x4002)},
    {STORIES("stories15m-q4_k", GT_Q4_K, GT_Q5_0, 0x4003)},
/* The same shape in the other architectures (bench_decode; golden/CMakeLists.txt target
 * fixtures-families15m, not in `all`): llama with rope_freqs.weight [24], qwen2 (biases, NEOX),
 * qwen3 (Q/K norms, NEOX, key_length 64: q_dim 384 > dim 288). */
#define STORIES_ROPE_FREQS(name_, type_, seed_) \
    .name = name_, .type = type_, .fallback = type_, .dim = 288, .n_layers = 6, .n_heads = 6, \
    .n_kv_heads = 6, .ffn = 768, .n_ctx = 256, .tied = true, .vocab = VOCAB_SYNTH32000, \
    .wexp = -3, .seed = seed_, .flags = FX_STORIES | FX_ROPE_FREQS
    {STORIES_ROPE_FREQS("stories15m-llama3-f32", GT_F32, 0x4101)},
    {STORIES_ROPE_FREQS("stories15m-llama3-q8_0", GT_Q8_0, 0x4102)},
#undef STORIES_ROPE_FREQS
    {STORIES("stories15m-qwen2-f32", GT_F32, GT_F32, 0x4201), .arch = "qwen2"},
    {STORIES("stories15m-qwen2-q8_0", GT_Q8_0, GT_Q8_0, 0x4202), .arch = "qwen2"},
    {STORIES("stories15m-qwen3-f32", GT_F32, GT_F32, 0x4301), .arch = "qwen3", .head_dim = 64},
    {STORIES("stories15m-qwen3-q8_0", GT_Q8_0, GT_Q8_0, 0x4302), .arch = "qwen3",
     .head_dim = 64},
#undef STORIES
/* 100M-parameter-shaped benchmark models (bench/CMakeLists.txt, target bench_models; never
 * committed): dim 1024, 8 layers, GQA 16/4, ffn 2816 (11 super-blocks), 32000 tokens. */
#define BENCH100M(name_, type_, seed_) \
    .name = name_, .type = type_, .fallback = type_, .dim = 1024, .n_layers = 8, \
    .n_heads = 16, .n_kv_heads = 4, .ffn = 2816, .n_ctx = 256, .tied = true, \
    .vocab = VOCAB_SYNTH32000, .wexp = -4, .seed = seed_, .flags = FX_STORIES
    {BENCH100M("bench100m-f16", GT_F16, 0x5001)},
    {BENCH100M("bench100m-bf16", GT_BF16, 0x5002)},
    {BENCH100M("bench100m-q4_0", GT_Q4_0, 0x5003)},
    {BENCH100M("bench100m-q4_1", GT_Q4_1, 0x5004)},
    {BENCH100M("bench100m-q5_0", GT_Q5_0, 0x5005)},
    {BENCH100M("bench100m-q5_1", GT_Q5_1, 0x5006)},
    {BENCH100M("bench100m-q8_0", GT_Q8_0, 0x5007)},
    {BENCH100M("bench100m-q2_k", GT_Q2_K, 0x5008)},
    {BENCH100M("bench100m-q3_k", GT_Q3_K, 0x5009)},
    {BENCH100M("bench100m-q4_k", GT_Q4_K, 0x500a)},
    {BENCH100M("bench100m-q5_k", GT_Q5_K, 0x500b)},
    {BENCH100M("bench100m-q6_k", GT_Q6_K, 0x500c)},
#undef BENCH100M
};
#undef TINY

const size_t gen_n_fixtures = sizeof gen_fixtures / sizeof gen_fixtures[0];

const gen_fixture *fixture_find(const char *name) {
    for (size_t i = 0; i < gen_n_fixtures; i++)
        if (strcmp(gen_fixtures[i].name, name) == 0) return &gen_fixtures[i];
    return NULL;
}

uint32_t fixture_matrix_type(const gen_fixture *fx, uint64_t ne0) {
    uint32_t type = ne0 % gen_type_get(fx->type)->block_size == 0 ? fx->type : fx->fallback;
    if (ne0 % gen_type_get(type)->block_size != 0)
        gen_die("%s: ne[0] = %llu fits neither type nor fallback", fx->name,
                (unsigned long long)ne0);
    return type;
}

float fixture_rms_eps(const gen_fixture *fx) { return fx->rms_eps != 0.0f ? fx->rms_eps : 1e-5f; }

const char *fixture_arch(const gen_fixture *fx) { return fx->arch ? fx->arch : "llama"; }

uint32_t fixture_head_dim(const gen_fixture *fx) {
    return fx->head_dim ? fx->head_dim : fx->dim / fx->n_heads;
}

float fixture_rope_freq_base(const gen_fixture *fx) {
    return fx->rope_freq_base != 0.0f ? fx->rope_freq_base : 10000.0f;
}

uint32_t fixture_vocab_size(const gen_fixture *fx) {
    gen_vocab v;
    vocab_build(&v, fx->vocab);
    uint32_t n = (uint32_t)v.n;
    vocab_free(&v);
    return n;
}

/* One model being written: the fixture and where its tensors go. */
typedef struct model_writer {
    const gen_fixture *fx;
    gguf_writer w;
} model_writer;

/* A 2-D weight matrix [ne0, ne1] of the fixture's type (or fallback), random blocks. */
static void put_matrix(model_writer *m, const char *name, uint64_t ne0, uint64_t ne1) {
    const gen_type *type = gen_type_get(fixture_matrix_type(m->fx, ne0));
    uint64_t ne[2] = {ne0, ne1};
    size_t n_blocks = (size_t)(ne0 / type->block_size * ne1);
    uint8_t *dst = gw_tensor(&m->w, name, 2, ne, type->id, n_blocks * type->type_size);
    gen_rng r = rng_for(m->fx->seed, name);
    gen_fill_blocks(type, dst, n_blocks, &r, m->fx->wexp);
}

/* A 1-D F32 bias [n]: random values near 2^wexp. */
static void put_bias(model_writer *m, const char *name, uint64_t n) {
    const gen_type *f32 = gen_type_get(GT_F32);
    uint8_t *dst = gw_tensor(&m->w, name, 1, &n, GT_F32, (size_t)n * 4);
    gen_rng r = rng_for(m->fx->seed, name);
    gen_fill_blocks(f32, dst, (size_t)n, &r, m->fx->wexp);
}

/* rope_freqs.weight [n] (F32): Llama 3.1's shape of divisors, in exact eighths: 1 for the
 * first half of the frequencies (the fast ones), 8 for the last quarter, a ramp between. */
static void put_rope_freqs(model_writer *m, uint64_t n) {
    uint8_t *dst = gw_tensor(&m->w, "rope_freqs.weight", 1, &n, GT_F32, (size_t)n * 4);
    uint64_t h = n / 2, q = n / 4;
    for (uint64_t j = 0; j < n; j++) {
        uint64_t eighths = j < h ? 8 : j >= h + q ? 64 : 8 + 56 * (j - h + 1) / (q + 1);
        put_u32le(dst + 4 * j, f32_bits((float)eighths / 8.0f));
    }
}

/* A 1-D F32 norm weight [n]. */
static void put_norm(model_writer *m, const char *name, uint64_t n) {
    uint8_t *dst = gw_tensor(&m->w, name, 1, &n, GT_F32, (size_t)n * 4);
    gen_rng r = rng_for(m->fx->seed, name);
    gen_fill_norm(dst, (size_t)n, &r);
}

static void put_metadata(model_writer *m, const gen_vocab *v) {
    const gen_fixture *fx = m->fx;
    gguf_writer *w = &m->w;
    char name[96], key[96];
    const char *arch = fixture_arch(fx);
#define KEY(suffix) (snprintf(key, sizeof key, "%s." suffix, arch), key)
    snprintf(name, sizeof name, "ggufref %s", fx->name);
    gw_kv_str(w, "general.architecture", arch);
    gw_kv_str(w, "general.name", name);
    if (fx->alignment) gw_kv_u32(w, "general.alignment", fx->alignment);
    if (fx->flags & FX_WIDE_INTS) {
        gw_kv_u64(w, KEY("context_length"), fx->n_ctx);
        gw_kv_i32(w, KEY("embedding_length"), (int32_t)fx->dim);
    } else {
        gw_kv_u32(w, KEY("context_length"), fx->n_ctx);
        gw_kv_u32(w, KEY("embedding_length"), fx->dim);
    }
    gw_kv_u32(w, KEY("block_count"), fx->n_layers);
    gw_kv_u32(w, KEY("feed_forward_length"), fx->ffn);
    if (!(fx->flags & FX_DEFAULTS)) gw_kv_u32(w, KEY("rope.dimension_count"), fixture_head_dim(fx));
    gw_kv_u32(w, KEY("attention.head_count"), fx->n_heads);
    if (!(fx->flags & FX_DEFAULTS)) gw_kv_u32(w, KEY("attention.head_count_kv"), fx->n_kv_heads);
    if (fx->head_dim) {
        gw_kv_u32(w, KEY("attention.key_length"), fx->head_dim);
        gw_kv_u32(w, KEY("attention.value_length"), fx->head_dim);
    }
    gw_kv_f32(w, KEY("attention.layer_norm_rms_epsilon"), fixture_rms_eps(fx));
    if (!(fx->flags & FX_DEFAULTS)) gw_kv_f32(w, KEY("rope.freq_base"), fixture_rope_freq_base(fx));
#undef KEY
    if (fx->vocab == VOCAB_BPE_TINY) { /* byte-level BPE, laid out as llama.cpp's converter */
        gw_kv_str(w, "tokenizer.ggml.model", "gpt2");
        gw_kv_str(w, "tokenizer.ggml.pre", "llama-bpe");
        gw_kv_str_array(w, "tokenizer.ggml.tokens", v->text, v->n);
        gw_kv_i32_array(w, "tokenizer.ggml.token_type", v->type, v->n);
        gw_kv_str_array(w, "tokenizer.ggml.merges", v->merges, v->n_merges);
        gw_kv_u32(w, "tokenizer.ggml.bos_token_id", v->bos);
        gw_kv_u32(w, "tokenizer.ggml.eos_token_id", v->eos);
        gw_kv_bool(w, "tokenizer.ggml.add_bos_token", true);
        gw_kv_bool(w, "tokenizer.ggml.add_eos_token", false);
        return;
    }
    gw_kv_str(w, "tokenizer.ggml.model", "llama");
    gw_kv_str_array(w, "tokenizer.ggml.tokens", v->text, v->n);
    gw_kv_f32_array(w, "tokenizer.ggml.scores", v->score, v->n);
    gw_kv_i32_array(w, "tokenizer.ggml.token_type", v->type, v->n);
    gw_kv_u32(w, "tokenizer.ggml.bos_token_id", VOCAB_BOS);
    gw_kv_u32(w, "tokenizer.ggml.eos_token_id", VOCAB_EOS);
    gw_kv_u32(w, "tokenizer.ggml.unknown_token_id", VOCAB_UNK);
    gw_kv_bool(w, "tokenizer.ggml.add_bos_token", true);
    gw_kv_bool(w, "tokenizer.ggml.add_eos_token", false);
}

/* Dies unless the hyperparameters make a valid llama model. */
static void check_shape(const gen_fixture *fx) {
    bool ok = fx->n_heads && fx->n_kv_heads && fx->n_layers &&
              (fx->head_dim || fx->dim % fx->n_heads == 0) &&
              fx->n_heads % fx->n_kv_heads == 0 && fixture_head_dim(fx) % 2 == 0;
    if (!ok) gen_die("%s: inconsistent hyperparameters", fx->name);
    if ((fx->n_heads == fx->n_kv_heads) != (strstr(fx->name, "-mha") != NULL) &&
        !(fx->flags & FX_STORIES))
        gen_die("%s: name says mha/gqa, heads say otherwise", fx->name);
}

void fixture_build(const gen_fixture *fx, gbuf *out) {
    check_shape(fx);
    uint64_t dim = fx->dim, ffn = fx->ffn, hd = fixture_head_dim(fx);
    uint64_t q_dim = (uint64_t)fx->n_heads * hd, kv_dim = (uint64_t)fx->n_kv_heads * hd;
    bool qwen2 = strcmp(fixture_arch(fx), "qwen2") == 0, qwen3 = strcmp(fixture_arch(fx), "qwen3") == 0;
    gen_vocab v;
    vocab_build(&v, fx->vocab);
    model_writer m = {.fx = fx};
    gw_init(&m.w, fx->alignment ? fx->alignment : 32);
    if (fx->version) gw_set_version(&m.w, fx->version);
    put_metadata(&m, &v);

    char name[64];
    put_matrix(&m, "token_embd.weight", dim, v.n);
    if (fx->flags & FX_ROPE_FREQS) put_rope_freqs(&m, hd / 2);
    for (uint32_t l = 0; l < fx->n_layers; l++) {
#define NAME(suffix) (snprintf(name, sizeof name, "blk.%u." suffix, l), name)
        put_norm(&m, NAME("attn_norm.weight"), dim);
        put_matrix(&m, NAME("attn_q.weight"), dim, q_dim);
        if (qwen2) put_bias(&m, NAME("attn_q.bias"), q_dim);
        put_matrix(&m, NAME("attn_k.weight"), dim, kv_dim);
        if (qwen2) put_bias(&m, NAME("attn_k.bias"), kv_dim);
        put_matrix(&m, NAME("attn_v.weight"), dim, kv_dim);
        if (qwen2) put_bias(&m, NAME("attn_v.bias"), kv_dim);
        if (qwen3) put_norm(&m, NAME("attn_q_norm.weight"), hd);
        if (qwen3) put_norm(&m, NAME("attn_k_norm.weight"), hd);
        put_matrix(&m, NAME("attn_output.weight"), q_dim, dim);
        put_norm(&m, NAME("ffn_norm.weight"), dim);
        put_matrix(&m, NAME("ffn_gate.weight"), dim, ffn);
        put_matrix(&m, NAME("ffn_down.weight"), ffn, dim);
        put_matrix(&m, NAME("ffn_up.weight"), dim, ffn);
#undef NAME
    }
    put_norm(&m, "output_norm.weight", dim);
    if (!fx->tied) put_matrix(&m, "output.weight", dim, v.n);
    gw_finish(&m.w, out);
    vocab_free(&v);
}
