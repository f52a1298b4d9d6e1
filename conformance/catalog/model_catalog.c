/*
 * model_catalog.c — the model-binding catalog (model_catalog.h): the metadata writers and
 * mutations of the rows, then the one table.
 */
#include "model_catalog.h"

static uint64_t kv_f32_embedding(gb_buf *kv, const void *u) {
    (void)u;
    gb_kv_f32(kv, "llama.embedding_length", 32.0f);
    return 1;
}
static uint64_t kv_negative_heads(gb_buf *kv, const void *u) {
    (void)u;
    gb_kv_i32(kv, "llama.attention.head_count", -4);
    return 1;
}
static uint64_t kv_arch_u32(gb_buf *kv, const void *u) {
    (void)u;
    gb_kv_u32(kv, "general.architecture", 7);
    return 1;
}
static uint64_t kv_eps_string(gb_buf *kv, const void *u) {
    (void)u;
    gb_kv_str(kv, "llama.attention.layer_norm_rms_epsilon", "1e-5");
    return 1;
}
static uint64_t kv_experts(gb_buf *kv, const void *u) {
    (void)u;
    gb_kv_u32(kv, "llama.expert_count", 8);
    return 1;
}
static uint64_t kv_rope_scaling(gb_buf *kv, const void *u) {
    (void)u;
    gb_kv_str(kv, "llama.rope.scaling.type", "linear");
    return 1;
}
static uint64_t kv_key_length(gb_buf *kv, const void *u) {
    (void)u;
    gb_kv_u32(kv, "llama.attention.key_length", 16);
    return 1;
}

static void m_none(lb_config *c) { (void)c; }
static void m_arch_gpt2(lb_config *c) { c->arch = "gpt2"; }
static void m_arch_missing(lb_config *c) { c->arch = NULL; }
static void m_arch_not_string(lb_config *c) { c->arch = NULL; c->extra_kv = kv_arch_u32; }
static void m_no_block_count(lb_config *c) { c->skip_key = "llama.block_count"; }
static void m_no_context_length(lb_config *c) { c->skip_key = "llama.context_length"; }
static void m_embedding_f32(lb_config *c) {
    c->skip_key = "llama.embedding_length";
    c->extra_kv = kv_f32_embedding;
}
static void m_negative_heads(lb_config *c) {
    c->skip_key = "llama.attention.head_count";
    c->extra_kv = kv_negative_heads;
}
static void m_zero_layers(lb_config *c) { c->n_layers = 0; }
static void m_dim_not_multiple_of_heads(lb_config *c) { c->n_heads = 5; c->n_kv_heads = 5; }
static void m_heads_not_multiple_of_kv(lb_config *c) { c->n_kv_heads = 3; }
static void m_rope_dim_odd(lb_config *c) { c->rope_dim = 5; }
static void m_rope_dim_too_big(lb_config *c) { c->rope_dim = 16; }
static void m_freq_base_nan(lb_config *c) { c->rope_freq_base = 0.0f / 0.0f; }
static void m_freq_base_one(lb_config *c) { c->rope_freq_base = 1.0f; }
static void m_eps_negative(lb_config *c) { c->rms_eps = -1e-5f; }
static void m_eps_string(lb_config *c) {
    c->skip_key = "llama.attention.layer_norm_rms_epsilon";
    c->extra_kv = kv_eps_string;
}
static void m_experts(lb_config *c) { c->extra_kv = kv_experts; }
static void m_rope_scaling(lb_config *c) { c->extra_kv = kv_rope_scaling; }
static void m_key_length(lb_config *c) { c->extra_kv = kv_key_length; }
static void m_missing_ffn_up(lb_config *c) { c->skip_tensor = "blk.1.ffn_up.weight"; }
static void m_missing_embd(lb_config *c) { c->skip_tensor = "token_embd.weight"; }
static void m_missing_output_norm(lb_config *c) { c->skip_tensor = "output_norm.weight"; }
static void m_wrong_shape_k(lb_config *c) {
    c->reshape_tensor = "blk.0.attn_k.weight";
    c->reshape_dims = 2;
    c->reshape_ne[0] = 32;
    c->reshape_ne[1] = 32; /* MHA shape in a GQA model */
}
static void m_transposed_down(lb_config *c) {
    c->reshape_tensor = "blk.1.ffn_down.weight";
    c->reshape_dims = 2;
    c->reshape_ne[0] = 32;
    c->reshape_ne[1] = 48;
}
static void m_norm_2d(lb_config *c) {
    c->reshape_tensor = "blk.0.attn_norm.weight";
    c->reshape_dims = 2;
    c->reshape_ne[0] = 32;
    c->reshape_ne[1] = 1;
}
static void m_embd_wrong_vocab(lb_config *c) {
    c->reshape_tensor = "token_embd.weight";
    c->reshape_dims = 2;
    c->reshape_ne[0] = 32;
    c->reshape_ne[1] = 9;
}
static void m_output_wrong_shape(lb_config *c) {
    c->reshape_tensor = "output.weight";
    c->reshape_dims = 2;
    c->reshape_ne[0] = 48;
    c->reshape_ne[1] = 8;
}
static void m_q8_1_weight(lb_config *c) {
    c->retype_tensor = "blk.0.attn_q.weight";
    c->retype = GGUFREF_T_Q8_1;
}
static void m_extra_rope_freqs(lb_config *c) { c->extra_tensor = "rope_freqs.weight"; }
static void m_extra_layer(lb_config *c) { c->extra_tensor = "blk.2.attn_norm.weight"; }
static void m_extra_odd_name(lb_config *c) { c->extra_tensor = "blk.01.attn_norm.weight"; }
static void m_tokenizer_gpt2(lb_config *c) { c->tok_model = "gpt2"; }
/* Fuzz finding (model_load, crash-c80a84bc): file strings with control bytes must not break the
 * one-line message (R-STATUS-003): they are quoted as \xNN. */
static void m_extra_name_newline(lb_config *c) { c->extra_tensor = "blk.0.ffn_n\norm\x7f.weight"; }
static void m_arch_newline(lb_config *c) { c->arch = "lla\nma"; }
static void m_tokenizer_newline(lb_config *c) { c->tok_model = "gpt\r\n2"; }

const mcat_case mcat_cases[] = {
    {"valid", m_none, GGUFREF_OK, NULL, "R-MODEL-001"},
    {"arch_gpt2", m_arch_gpt2, GGUFREF_ERR_UNSUPPORTED_MODEL, "general.architecture", "R-MODEL-001"},
    {"arch_missing", m_arch_missing, GGUFREF_ERR_UNSUPPORTED_MODEL, "general.architecture", "R-MODEL-001"},
    {"arch_not_string", m_arch_not_string, GGUFREF_ERR_BAD_VALUE_TYPE, "general.architecture", "R-MODEL-001"},
    {"no_block_count", m_no_block_count, GGUFREF_ERR_UNSUPPORTED_MODEL, "llama.block_count", "R-MODEL-002"},
    {"no_context_length", m_no_context_length, GGUFREF_ERR_UNSUPPORTED_MODEL, "llama.context_length", "R-MODEL-002"},
    {"embedding_f32", m_embedding_f32, GGUFREF_ERR_BAD_VALUE_TYPE, "llama.embedding_length", "R-MODEL-003"},
    {"negative_heads", m_negative_heads, GGUFREF_ERR_BAD_VALUE, "llama.attention.head_count", "R-MODEL-003"},
    {"zero_layers", m_zero_layers, GGUFREF_ERR_BAD_VALUE, "llama.block_count", "R-MODEL-003"},
    {"dim_not_multiple_of_heads", m_dim_not_multiple_of_heads, GGUFREF_ERR_UNSUPPORTED_MODEL, "head_count", "R-MODEL-005"},
    {"heads_not_multiple_of_kv", m_heads_not_multiple_of_kv, GGUFREF_ERR_UNSUPPORTED_MODEL, "head_count_kv", "R-MODEL-005"},
    {"rope_dim_odd", m_rope_dim_odd, GGUFREF_ERR_UNSUPPORTED_MODEL, "rope.dimension_count", "R-MODEL-005"},
    {"rope_dim_too_big", m_rope_dim_too_big, GGUFREF_ERR_UNSUPPORTED_MODEL, "rope.dimension_count", "R-MODEL-005"},
    {"freq_base_nan", m_freq_base_nan, GGUFREF_ERR_BAD_VALUE, "llama.rope.freq_base", "R-MODEL-004"},
    {"freq_base_one", m_freq_base_one, GGUFREF_ERR_BAD_VALUE, "llama.rope.freq_base", "R-MODEL-004"},
    {"eps_negative", m_eps_negative, GGUFREF_ERR_BAD_VALUE, "layer_norm_rms_epsilon", "R-MODEL-004"},
    {"eps_string", m_eps_string, GGUFREF_ERR_BAD_VALUE_TYPE, "layer_norm_rms_epsilon", "R-MODEL-004"},
    {"experts", m_experts, GGUFREF_ERR_UNSUPPORTED_MODEL, "expert_count", "R-MODEL-006"},
    {"rope_scaling", m_rope_scaling, GGUFREF_ERR_UNSUPPORTED_MODEL, "rope.scaling.type", "R-MODEL-006"},
    {"key_length", m_key_length, GGUFREF_ERR_UNSUPPORTED_MODEL, "key_length", "R-MODEL-006"},
    {"missing_ffn_up", m_missing_ffn_up, GGUFREF_ERR_UNSUPPORTED_MODEL, "blk.1.ffn_up.weight", "R-MODEL-010"},
    {"missing_token_embd", m_missing_embd, GGUFREF_ERR_UNSUPPORTED_MODEL, "token_embd.weight", "R-MODEL-010"},
    {"missing_output_norm", m_missing_output_norm, GGUFREF_ERR_UNSUPPORTED_MODEL, "output_norm.weight", "R-MODEL-010"},
    {"wrong_shape_attn_k", m_wrong_shape_k, GGUFREF_ERR_UNSUPPORTED_MODEL, "blk.0.attn_k.weight", "R-MODEL-011"},
    {"transposed_ffn_down", m_transposed_down, GGUFREF_ERR_UNSUPPORTED_MODEL, "blk.1.ffn_down.weight", "R-MODEL-011"},
    {"norm_2d", m_norm_2d, GGUFREF_ERR_UNSUPPORTED_MODEL, "blk.0.attn_norm.weight", "R-MODEL-011"},
    {"embd_wrong_vocab", m_embd_wrong_vocab, GGUFREF_ERR_UNSUPPORTED_MODEL, "token_embd.weight", "R-MODEL-011"},
    {"output_wrong_shape", m_output_wrong_shape, GGUFREF_ERR_UNSUPPORTED_MODEL, "output.weight", "R-MODEL-011"},
    {"q8_1_weight", m_q8_1_weight, GGUFREF_ERR_UNSUPPORTED_MODEL, "Q8_1", "R-MODEL-012"},
    {"extra_rope_freqs", m_extra_rope_freqs, GGUFREF_ERR_UNSUPPORTED_MODEL, "rope_freqs.weight", "R-MODEL-013"},
    {"extra_layer", m_extra_layer, GGUFREF_ERR_UNSUPPORTED_MODEL, "blk.2.attn_norm.weight", "R-MODEL-013"},
    {"extra_odd_name", m_extra_odd_name, GGUFREF_ERR_UNSUPPORTED_MODEL, "blk.01.attn_norm.weight", "R-MODEL-013"},
    {"extra_name_newline", m_extra_name_newline, GGUFREF_ERR_UNSUPPORTED_MODEL, "blk.0.ffn_n\\x0aorm\\x7f.weight", "R-STATUS-003"},
    {"arch_newline", m_arch_newline, GGUFREF_ERR_UNSUPPORTED_MODEL, "'lla\\x0ama'", "R-STATUS-003"},
    {"tokenizer_newline", m_tokenizer_newline, GGUFREF_ERR_UNSUPPORTED_TOKENIZER, "gpt\\x0d\\x0a2", "R-STATUS-003"},
    {"tokenizer_gpt2", m_tokenizer_gpt2, GGUFREF_ERR_UNSUPPORTED_TOKENIZER, "tokenizer.ggml.model", "R-MODEL-007"},
};

const size_t mcat_n_cases = sizeof mcat_cases / sizeof mcat_cases[0];

void mcat_build(const mcat_case *c, gb_buf *b) {
    lb_config cfg;
    lb_default(&cfg);
    c->mutate(&cfg);
    lb_build(&cfg, b);
}
