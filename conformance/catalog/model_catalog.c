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
    gb_kv_str(kv, "llama.rope.scaling.type", "yarn"); /* none and linear are supported */
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
static void m_arch_qwen2_llama_keys(lb_config *c) { c->arch = "qwen2"; }
static void m_llama_q_bias(lb_config *c) { c->extra_tensor = "blk.0.attn_q.bias"; }
static void m_llama_q_norm(lb_config *c) { c->extra_tensor = "blk.1.attn_q_norm.weight"; }
static void m_extra_layer(lb_config *c) { c->extra_tensor = "blk.2.attn_norm.weight"; }
static void m_extra_odd_name(lb_config *c) { c->extra_tensor = "blk.01.attn_norm.weight"; }
static void m_tokenizer_gpt2(lb_config *c) { c->tok_model = "gpt2"; }
/* Fuzz finding (model_load, crash-c80a84bc): file strings with control bytes must not break the
 * one-line message (R-STATUS-003): they are quoted as \xNN. */
static void m_extra_name_newline(lb_config *c) { c->extra_tensor = "blk.0.ffn_n\norm\x7f.weight"; }
static void m_arch_newline(lb_config *c) { c->arch = "lla\nma"; }
static void m_tokenizer_newline(lb_config *c) { c->tok_model = "gpt\r\n2"; }

/* --- Tokenizer ids out of bounds (issue 10: the 2024-2026 tokenizer-id class) ---------------
 * Special ids and per-token arrays that index past the vocabulary of 8 tokens. */
static uint64_t kv_bos_8(gb_buf *kv, const void *u) {
    (void)u;
    gb_kv_u32(kv, "tokenizer.ggml.bos_token_id", 8); /* == n_vocab */
    return 1;
}
static uint64_t kv_eos_max(gb_buf *kv, const void *u) {
    (void)u;
    gb_kv_u32(kv, "tokenizer.ggml.eos_token_id", UINT32_MAX);
    return 1;
}
static uint64_t kv_unk_1000(gb_buf *kv, const void *u) {
    (void)u;
    gb_kv_i32(kv, "tokenizer.ggml.unknown_token_id", 1000);
    return 1;
}
/* 2^32 + 1: the id 1 (a valid BOS) once truncated to 32 bits */
static uint64_t kv_bos_2pow32_plus_1(gb_buf *kv, const void *u) {
    (void)u;
    gb_kv_u64(kv, "tokenizer.ggml.bos_token_id", (1ull << 32) + 1);
    return 1;
}
static uint64_t kv_pad_1000(gb_buf *kv, const void *u) {
    (void)u;
    gb_kv_u32(kv, "tokenizer.ggml.padding_token_id", 1000);
    return 1;
}
static uint64_t kv_token_type_short(gb_buf *kv, const void *u) {
    (void)u;
    const int32_t types[7] = {2, 3, 3, 1, 1, 1, 1}; /* one fewer than the 8 tokens */
    gb_kv_i32_array(kv, "tokenizer.ggml.token_type", types, 7);
    return 1;
}
static uint64_t kv_scores_short(gb_buf *kv, const void *u) {
    (void)u;
    const float scores[1] = {0.0f};
    gb_kv_f32_array(kv, "tokenizer.ggml.scores", scores, 1);
    return 1;
}
static uint64_t kv_token_type_7(gb_buf *kv, const void *u) {
    (void)u;
    const int32_t types[8] = {2, 3, 3, 1, 1, 1, 1, 7}; /* 7 is past BYTE (6) */
    gb_kv_i32_array(kv, "tokenizer.ggml.token_type", types, 8);
    return 1;
}
static void m_bos_past_vocab(lb_config *c) {
    c->skip_key = "tokenizer.ggml.bos_token_id";
    c->extra_kv = kv_bos_8;
}
static void m_eos_2pow32_minus_1(lb_config *c) {
    c->skip_key = "tokenizer.ggml.eos_token_id";
    c->extra_kv = kv_eos_max;
}
static void m_unk_past_vocab(lb_config *c) { c->extra_kv = kv_unk_1000; }
static void m_bos_2pow32_plus_1(lb_config *c) {
    c->skip_key = "tokenizer.ggml.bos_token_id";
    c->extra_kv = kv_bos_2pow32_plus_1;
}
static void m_pad_past_vocab(lb_config *c) { c->extra_kv = kv_pad_1000; }
static void m_token_type_short(lb_config *c) {
    c->skip_key = "tokenizer.ggml.token_type";
    c->extra_kv = kv_token_type_short;
}
static void m_scores_short(lb_config *c) {
    c->skip_key = "tokenizer.ggml.scores";
    c->extra_kv = kv_scores_short;
}
static void m_token_type_7(lb_config *c) {
    c->skip_key = "tokenizer.ggml.token_type";
    c->extra_kv = kv_token_type_7;
}

const mcat_case mcat_cases[] = {
    {"valid", m_none, GGUFREF_OK, NULL, "R-MODEL-001", "architecture", NULL},
    {"arch_gpt2", m_arch_gpt2, GGUFREF_ERR_UNSUPPORTED_MODEL,
     "general.architecture", "R-MODEL-001", "architecture", NULL},
    {"arch_missing", m_arch_missing, GGUFREF_ERR_UNSUPPORTED_MODEL,
     "general.architecture", "R-MODEL-001", "architecture", NULL},
    {"arch_not_string", m_arch_not_string, GGUFREF_ERR_BAD_VALUE_TYPE,
     "general.architecture", "R-MODEL-001", "architecture", NULL},
    {"no_block_count", m_no_block_count, GGUFREF_ERR_UNSUPPORTED_MODEL,
     "llama.block_count", "R-MODEL-002", "hyperparameters", NULL},
    {"no_context_length", m_no_context_length, GGUFREF_ERR_UNSUPPORTED_MODEL,
     "llama.context_length", "R-MODEL-002", "hyperparameters", NULL},
    {"embedding_f32", m_embedding_f32, GGUFREF_ERR_BAD_VALUE_TYPE,
     "llama.embedding_length", "R-MODEL-003", "hyperparameters", NULL},
    {"negative_heads", m_negative_heads, GGUFREF_ERR_BAD_VALUE,
     "llama.attention.head_count", "R-MODEL-003", "hyperparameters", NULL},
    {"zero_layers", m_zero_layers, GGUFREF_ERR_BAD_VALUE,
     "llama.block_count", "R-MODEL-003", "hyperparameters", NULL},
    {"dim_not_multiple_of_heads", m_dim_not_multiple_of_heads, GGUFREF_ERR_UNSUPPORTED_MODEL,
     "head_count", "R-MODEL-005", "hyperparameters", NULL},
    {"heads_not_multiple_of_kv", m_heads_not_multiple_of_kv, GGUFREF_ERR_UNSUPPORTED_MODEL,
     "head_count_kv", "R-MODEL-005", "hyperparameters", NULL},
    {"rope_dim_odd", m_rope_dim_odd, GGUFREF_ERR_UNSUPPORTED_MODEL,
     "rope.dimension_count", "R-MODEL-005", "hyperparameters", NULL},
    {"rope_dim_too_big", m_rope_dim_too_big, GGUFREF_ERR_UNSUPPORTED_MODEL,
     "rope.dimension_count", "R-MODEL-005", "hyperparameters", NULL},
    {"freq_base_nan", m_freq_base_nan, GGUFREF_ERR_BAD_VALUE,
     "llama.rope.freq_base", "R-MODEL-004", "hyperparameters", NULL},
    {"freq_base_one", m_freq_base_one, GGUFREF_ERR_BAD_VALUE,
     "llama.rope.freq_base", "R-MODEL-004", "hyperparameters", NULL},
    {"eps_negative", m_eps_negative, GGUFREF_ERR_BAD_VALUE,
     "layer_norm_rms_epsilon", "R-MODEL-004", "hyperparameters", NULL},
    {"eps_string", m_eps_string, GGUFREF_ERR_BAD_VALUE_TYPE,
     "layer_norm_rms_epsilon", "R-MODEL-004", "hyperparameters", NULL},
    {"experts", m_experts, GGUFREF_ERR_UNSUPPORTED_MODEL,
     "expert_count", "R-MODEL-006", "hyperparameters", NULL},
    {"rope_scaling", m_rope_scaling, GGUFREF_ERR_UNSUPPORTED_MODEL,
     "rope.scaling.type", "R-MODEL-022", "hyperparameters", NULL},
    {"key_length", m_key_length, GGUFREF_ERR_UNSUPPORTED_MODEL,
     "key_length", "R-MODEL-025", "hyperparameters", NULL},
    {"arch_qwen2_llama_keys", m_arch_qwen2_llama_keys, GGUFREF_ERR_UNSUPPORTED_MODEL,
     "qwen2.context_length", "R-MODEL-020", "hyperparameters", NULL},
    {"missing_ffn_up", m_missing_ffn_up, GGUFREF_ERR_UNSUPPORTED_MODEL,
     "blk.1.ffn_up.weight", "R-MODEL-010", "tensors", NULL},
    {"missing_token_embd", m_missing_embd, GGUFREF_ERR_UNSUPPORTED_MODEL,
     "token_embd.weight", "R-MODEL-010", "tensors", NULL},
    {"missing_output_norm", m_missing_output_norm, GGUFREF_ERR_UNSUPPORTED_MODEL,
     "output_norm.weight", "R-MODEL-010", "tensors", NULL},
    {"wrong_shape_attn_k", m_wrong_shape_k, GGUFREF_ERR_UNSUPPORTED_MODEL,
     "blk.0.attn_k.weight", "R-MODEL-011", "tensors", NULL},
    {"transposed_ffn_down", m_transposed_down, GGUFREF_ERR_UNSUPPORTED_MODEL,
     "blk.1.ffn_down.weight", "R-MODEL-011", "tensors", NULL},
    {"norm_2d", m_norm_2d, GGUFREF_ERR_UNSUPPORTED_MODEL,
     "blk.0.attn_norm.weight", "R-MODEL-011", "tensors", NULL},
    {"embd_wrong_vocab", m_embd_wrong_vocab, GGUFREF_ERR_UNSUPPORTED_MODEL,
     "token_embd.weight", "R-MODEL-011", "tensors", NULL},
    {"output_wrong_shape", m_output_wrong_shape, GGUFREF_ERR_UNSUPPORTED_MODEL,
     "output.weight", "R-MODEL-011", "tensors", NULL},
    {"q8_1_weight", m_q8_1_weight, GGUFREF_ERR_UNSUPPORTED_MODEL,
     "Q8_1", "R-MODEL-012", "tensors", NULL},
    {"extra_rope_freqs", m_extra_rope_freqs, GGUFREF_ERR_UNSUPPORTED_MODEL,
     "rope_freqs.weight", "R-MODEL-021", "tensors", NULL},
    {"llama_with_q_bias", m_llama_q_bias, GGUFREF_ERR_UNSUPPORTED_MODEL,
     "blk.0.attn_q.bias", "R-MODEL-023", "tensors", NULL},
    {"llama_with_q_norm", m_llama_q_norm, GGUFREF_ERR_UNSUPPORTED_MODEL,
     "blk.1.attn_q_norm.weight", "R-MODEL-024", "tensors", NULL},
    {"extra_layer", m_extra_layer, GGUFREF_ERR_UNSUPPORTED_MODEL,
     "blk.2.attn_norm.weight", "R-MODEL-013", "tensors", NULL},
    {"extra_odd_name", m_extra_odd_name, GGUFREF_ERR_UNSUPPORTED_MODEL,
     "blk.01.attn_norm.weight", "R-MODEL-013", "tensors", NULL},
    {"extra_name_newline", m_extra_name_newline, GGUFREF_ERR_UNSUPPORTED_MODEL,
     "blk.0.ffn_n\\x0aorm\\x7f.weight", "R-STATUS-003", "message_quoting", NULL},
    {"arch_newline", m_arch_newline, GGUFREF_ERR_UNSUPPORTED_MODEL,
     "'lla\\x0ama'", "R-STATUS-003", "message_quoting", NULL},
    {"tokenizer_newline", m_tokenizer_newline, GGUFREF_ERR_UNSUPPORTED_TOKENIZER,
     "gpt\\x0d\\x0a2", "R-STATUS-003", "message_quoting", NULL},
    {"tokenizer_gpt2", m_tokenizer_gpt2, GGUFREF_ERR_UNSUPPORTED_TOKENIZER,
     "tokenizer.ggml.model", "R-MODEL-007", "tokenizer", NULL},

    /* tokenizer ids out of bounds (issue 10) */
    {"bos_id_past_vocab", m_bos_past_vocab, GGUFREF_ERR_BAD_VALUE,
     "bos_token_id", "R-TOK-004", "tokenizer_ids", NULL},
    {"eos_id_2pow32_minus_1", m_eos_2pow32_minus_1, GGUFREF_ERR_BAD_VALUE,
     "eos_token_id", "R-TOK-004", "tokenizer_ids", NULL},
    {"unk_id_past_vocab", m_unk_past_vocab, GGUFREF_ERR_BAD_VALUE,
     "unknown_token_id", "R-TOK-004", "tokenizer_ids", NULL},
    {"bos_id_2pow32_plus_1", m_bos_2pow32_plus_1, GGUFREF_ERR_BAD_VALUE,
     "bos_token_id", "R-TOK-004", "tokenizer_ids", NULL},
    {"pad_id_past_vocab_ignored_valid", m_pad_past_vocab, GGUFREF_OK,
     NULL, "R-TOK-004", "tokenizer_ids", NULL},
    {"token_type_shorter_than_tokens", m_token_type_short, GGUFREF_ERR_UNSUPPORTED_MODEL,
     "tokenizer.ggml.token_type", "R-TOK-003", "tokenizer_ids", NULL},
    {"scores_shorter_than_tokens", m_scores_short, GGUFREF_ERR_UNSUPPORTED_MODEL,
     "tokenizer.ggml.scores", "R-TOK-002", "tokenizer_ids", NULL},
    {"token_type_7", m_token_type_7, GGUFREF_ERR_BAD_VALUE,
     "token_type", "R-TOK-003", "tokenizer_ids", NULL},
};

const size_t mcat_n_cases = sizeof mcat_cases / sizeof mcat_cases[0];

void mcat_build(const mcat_case *c, gb_buf *b) {
    lb_config cfg;
    lb_default(&cfg);
    c->mutate(&cfg);
    lb_build(&cfg, b);
}
