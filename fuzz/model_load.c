/*
 * model_load.c — fuzz target: bytes to a whole model load plus forward steps (SPEC chapters
 * 2-5).
 *
 *   bytes ─open─► gguf ─model_load─► model ─context_create─► ctx ─forward─► logits
 *                         └─(UNSUPPORTED_MODEL)─► model_load_vocab ─► tokenizer only
 *
 * Every architecture of SPEC R-MODEL-020 (llama with rope_freqs, qwen2 biases, qwen3 Q/K norms
 * and key_length) is reached from the micro seeds of fuzz/tools/gen_seeds.c.
 *
 * Every rejection must carry a proper error. An accepted model has its vocabulary decoded
 * (every token's piece and text inside the model's memory) and a short fixed text tokenized
 * with it; then, if its shape is inside the caps below, a context of at most FZ_MAX_CTX
 * positions runs token t0 at position 0 and t1 at position 1 with ggufref_forward, then both
 * again as one ggufref_forward_batch from position 0, whose logits must be bit-identical to
 * the second single step (R-NUM-043; two NaNs count as equal). The binding is also run a
 * second time with one of its allocations failing (chosen by the input's hash): that must be a
 * clean OUT_OF_MEMORY.
 *
 * Caps (named so a run stays fast; a model outside them is loaded and released but not run):
 *   FZ_MAX_VOCAB    4096 tokens        FZ_MAX_DIM       512 (embedding and ffn length)
 *   FZ_MAX_LAYERS      8 blocks        FZ_MAX_CTX         8 positions of context
 *   FZ_MAX_WEIGHTS   4 MiB of weights read per token
 * The input itself is capped by max_len in model_load.options (128 KiB), which already bounds
 * the tensors; the caps bound what is not in the file: n_ctx_train and the KV cache it sizes.
 */
#include "fuzz.h"

#define FZ_MAX_VOCAB 4096u
#define FZ_MAX_DIM 512u
#define FZ_MAX_LAYERS 8u
#define FZ_MAX_CTX 8u
#define FZ_MAX_WEIGHTS (4u << 20)

/* A fixed text with spaces, multi-byte UTF-8 and an ill-formed byte. */
static const char fz_text[] = "Once upon a time, \xc3\xa9t\xc3\xa9 \xe2\x96\x81 x\xff!";

static bool same_float(float a, float b) {
    uint32_t x, y;
    memcpy(&x, &a, 4);
    memcpy(&y, &b, 4);
    return x == y || (a != a && b != b);
}

/* Decode every token and tokenize fz_text; every id in range, every view readable. */
static void exercise_tokenizer(const ggufref_model *m, const ggufref_model_info *info) {
    int32_t prev = -1;
    for (uint32_t t = 0; t < info->n_vocab; t++) {
        ggufref_str piece = ggufref_token_to_piece(m, prev, (int32_t)t);
        ggufref_str text = ggufref_token_text(m, (int32_t)t);
        fz_consume(fz_touch_bytes(piece.ptr, piece.len) + fz_touch_bytes(text.ptr, text.len));
        prev = (int32_t)t;
    }
    FZ_CHECK(ggufref_token_text(m, (int32_t)info->n_vocab).len == 0, "text past n_vocab");
    FZ_CHECK(ggufref_token_to_piece(m, -1, -1).len == 0, "piece of -1");
    int32_t ids[128];
    size_t n = 0;
    ggufref_status st = ggufref_tokenize(m, fz_text, sizeof fz_text - 1, info->add_bos, ids,
                                         sizeof ids / sizeof ids[0], &n);
    if (st == GGUFREF_OK) {
        for (size_t i = 0; i < n; i++) {
            FZ_CHECK(ids[i] >= 0 && (uint32_t)ids[i] < info->n_vocab, "token %d of %u", ids[i],
                     info->n_vocab);
        }
    } else {
        FZ_CHECK(st == GGUFREF_ERR_BAD_VALUE || st == GGUFREF_ERR_LIMIT_EXCEEDED ||
                     st == GGUFREF_ERR_OUT_OF_MEMORY,
                 "tokenize: %s", ggufref_status_name(st));
    }
}

static bool within_caps(const ggufref_model_info *info) {
    return info->n_vocab <= FZ_MAX_VOCAB && info->dim <= FZ_MAX_DIM &&
           info->ffn_dim <= FZ_MAX_DIM && info->n_layers <= FZ_MAX_LAYERS &&
           info->weight_bytes <= FZ_MAX_WEIGHTS;
}

/* Two single steps, then the same two tokens as one batch: identical logits. */
static void exercise_forward(const ggufref_model *m, const ggufref_model_info *info) {
    uint32_t n_ctx = info->n_ctx_train < FZ_MAX_CTX ? info->n_ctx_train : FZ_MAX_CTX;
    ggufref_context *ctx = NULL;
    ggufref_status st = ggufref_context_create(m, n_ctx, &ctx);
    if (st == GGUFREF_ERR_OUT_OF_MEMORY) return;
    FZ_CHECK(st == GGUFREF_OK, "context_create(%u): %s", n_ctx, ggufref_status_name(st));
    FZ_CHECK(ggufref_context_n_ctx(ctx) == n_ctx, "n_ctx %u", ggufref_context_n_ctx(ctx));
    int32_t tokens[2];
    tokens[0] = info->bos_id >= 0 ? info->bos_id : 0;
    tokens[1] = (int32_t)(info->n_vocab - 1);
    const float *logits = NULL;
    float *single = malloc(info->n_vocab * sizeof *single);
    FZ_CHECK(single != NULL, "out of memory in the target");
    size_t steps = n_ctx >= 2 ? 2 : 1;
    for (size_t pos = 0; pos < steps; pos++) {
        st = ggufref_forward(ctx, tokens[pos], (uint32_t)pos, &logits);
        FZ_CHECK(st == GGUFREF_OK && logits != NULL, "forward(%d, %zu): %s", tokens[pos], pos,
                 ggufref_status_name(st));
        memcpy(single, logits, info->n_vocab * sizeof *single);
    }
    st = ggufref_forward(ctx, 0, n_ctx, &logits);
    FZ_CHECK(st == GGUFREF_ERR_CONTEXT_OVERFLOW || st == GGUFREF_ERR_INVALID_ARGUMENT,
             "forward at n_ctx: %s", ggufref_status_name(st));
    st = ggufref_forward_batch(ctx, tokens, steps, 0, &logits);
    FZ_CHECK(st == GGUFREF_OK && logits != NULL, "forward_batch: %s", ggufref_status_name(st));
    for (uint32_t i = 0; i < info->n_vocab; i++) {
        FZ_CHECK(same_float(single[i], logits[i]), "batch logit %u: %a vs single %a", i,
                 (double)logits[i], (double)single[i]);
    }
    free(single);
    ggufref_context_free(ctx);
}

/* The same binding with one of its n_allocs allocations failing: OUT_OF_MEMORY, *out NULL,
 * nothing leaked (R-MODEL; the replay main and LeakSanitizer check the leak). */
static void check_load_oom(const ggufref_gguf *g, const uint8_t *data, size_t size,
                           uint64_t n_allocs) {
    if (!fz_arm_alloc_failure(data, size, n_allocs)) return;
    ggufref_model *m = (ggufref_model *)&m;
    ggufref_error err;
    ggufref_status st = ggufref_model_load(g, &m, &err);
    bool fired = ggufref_fault_alloc_fired();
    ggufref_fault_alloc_fail_at(0);
    FZ_CHECK(fired && st == GGUFREF_ERR_OUT_OF_MEMORY && m == NULL,
             "model_load with a failing allocation: %s (fired %d)", ggufref_status_name(st),
             (int)fired);
    fz_check_error(st, &err, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ggufref_gguf *g = NULL;
    ggufref_error err;
    ggufref_status st = ggufref_gguf_open_memory(data, size, &g, &err);
    if (st != GGUFREF_OK) {
        fz_check_error(st, &err, size);
        return 0;
    }
    ggufref_model *m = (ggufref_model *)&m; /* sentinel: failure must reset it */
    ggufref_fault_alloc_fail_at(0); /* counts the binding's allocations */
    st = ggufref_model_load(g, &m, &err);
    check_load_oom(g, data, size, ggufref_fault_alloc_count());
    bool full = st == GGUFREF_OK;
    if (!full) {
        fz_check_error(st, &err, size);
        FZ_CHECK(m == NULL, "*out not NULL after %s", ggufref_status_name(st));
        st = ggufref_model_load_vocab(g, &m, &err);
        if (st != GGUFREF_OK) {
            fz_check_error(st, &err, size);
            ggufref_gguf_close(g);
            return 0;
        }
    }
    ggufref_model_info info;
    ggufref_model_get_info(m, &info);
    FZ_CHECK(info.n_vocab > 0, "a model without tokens");
    FZ_CHECK(info.bos_id < (int32_t)info.n_vocab && info.eos_id < (int32_t)info.n_vocab &&
                 info.unk_id < (int32_t)info.n_vocab,
             "special ids %d/%d/%d for %u tokens", info.bos_id, info.eos_id, info.unk_id,
             info.n_vocab);
    if (info.n_vocab <= FZ_MAX_VOCAB) exercise_tokenizer(m, &info);
    if (full) {
        /* R-MODEL-025: the head size is dim / n_heads unless key_length gives it */
        bool key_length = ggufref_gguf_find_key(g, "llama.attention.key_length") >= 0 ||
                          ggufref_gguf_find_key(g, "qwen2.attention.key_length") >= 0 ||
                          ggufref_gguf_find_key(g, "qwen3.attention.key_length") >= 0;
        FZ_CHECK(info.dim > 0 && info.n_heads > 0 && info.head_dim > 0 &&
                     (key_length || (info.dim % info.n_heads == 0 &&
                                     info.head_dim == info.dim / info.n_heads)) &&
                     (uint64_t)info.n_heads * info.head_dim <= (1u << 20) &&
                     info.rope_dim % 2 == 0 && info.rope_dim <= info.head_dim &&
                     info.n_kv_heads > 0 && info.n_heads % info.n_kv_heads == 0 &&
                     info.n_layers > 0,
                 "inconsistent shape accepted");
        if (within_caps(&info)) exercise_forward(m, &info);
    }
    ggufref_model_free(m);
    ggufref_gguf_close(g);
    return 0;
}
