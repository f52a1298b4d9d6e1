/*
 * gen_seeds.c — writes the generated part of the fuzz seed corpora (a build tool: it prints
 * and aborts on failure).
 *
 *   fuzz-gen-seeds OUTDIR
 *
 * writes OUTDIR/<target>/<name> for:
 *   model_load/  micro llama models (the golden generator's fixture_build with tiny shapes:
 *                dim 16..32, one or two layers, the 362-piece tiny vocabulary), one per plain
 *                and 32-block weight type, tied and untied, MHA and GQA, plus a vocab-only
 *                file: small enough that a load + forward takes well under a millisecond;
 *   gguf_parse/  small hand-built files (gguf_builder) that reach
 *                every accessor: versions 1..3, every value type, arrays of every element type,
 *                nested arrays to the depth limit, alignments, one tensor of every type in the
 *                type table (including the K-quants and the undecodable Q8_1/Q8_K), 1..4 dims,
 *                and the vocab-only file (the micro models stay out: at 20-60 KB they would
 *                cut the reader's exec/s under ASan by a factor of ten for no new coverage);
 *   fixtures/    micro-f32-gqa-tied.gguf, the model the stateful targets embed
 *                (update-seeds.sh copies it to fuzz/fixtures/).
 * fuzz/tools/update-seeds.sh runs it and copies the files into fuzz/corpus/<target>/ named by
 * sha1. Deterministic: the same source gives the same bytes.
 */
#define _POSIX_C_SOURCE 200809L

#include "gen.h"
#include "gguf_builder.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *outdir;

static void write_bytes(const char *target, const char *name, const void *p, size_t n) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", outdir, target);
    if (mkdir(path, 0777) != 0 && errno != EEXIST) gen_die("mkdir %s: %s", path, strerror(errno));
    snprintf(path, sizeof path, "%s/%s/%s", outdir, target, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || (n > 0 && fwrite(p, 1, n, f) != n) || fclose(f) != 0) {
        gen_die("cannot write %s", path);
    }
}

static void write_gb(const char *target, const char *name, const gb_buf *b) {
    write_bytes(target, name, b->data, b->len);
}

/* ---- micro models ------------------------------------------------------------------------ */

#define MICRO(name_, type_, dim_, layers_, heads_, kv_, ffn_, tied_, seed_) \
    {.name = name_, .type = type_, .fallback = type_, .dim = dim_, .n_layers = layers_,  \
     .n_heads = heads_, .n_kv_heads = kv_, .ffn = ffn_, .n_ctx = 16, .tied = tied_,      \
     .vocab = VOCAB_TINY, .wexp = -2, .seed = seed_}

static const gen_fixture micro[] = {
    MICRO("micro-f32-gqa-tied", GT_F32, 16, 2, 4, 2, 24, true, 0xf001),
    MICRO("micro-f32-mha-untied", GT_F32, 16, 1, 2, 2, 20, false, 0xf002),
    MICRO("micro-f16-gqa-untied", GT_F16, 16, 1, 2, 1, 24, false, 0xf003),
    MICRO("micro-bf16-mha-tied", GT_BF16, 16, 1, 2, 2, 24, true, 0xf004),
    MICRO("micro-q4_0-gqa-tied", GT_Q4_0, 32, 1, 2, 1, 32, true, 0xf005),
    MICRO("micro-q4_1-mha-tied", GT_Q4_1, 32, 1, 2, 2, 32, true, 0xf006),
    MICRO("micro-q5_0-gqa-tied", GT_Q5_0, 32, 1, 4, 2, 32, true, 0xf007),
    MICRO("micro-q5_1-mha-tied", GT_Q5_1, 32, 1, 2, 2, 32, true, 0xf008),
    MICRO("micro-q8_0-gqa-untied", GT_Q8_0, 32, 1, 2, 1, 32, false, 0xf009),
    /* the architectures (SPEC R-MODEL-020..026): rope_freqs, qwen2 biases, qwen3 norms and a
     * head size (8) apart from dim / n_heads (4) */
    {.name = "micro-llama3-f32-gqa-tied", .type = GT_F32, .fallback = GT_F32, .dim = 16,
     .n_layers = 1, .n_heads = 4, .n_kv_heads = 2, .ffn = 24, .n_ctx = 16, .tied = true,
     .vocab = VOCAB_TINY, .wexp = -2, .seed = 0xf00a, .flags = FX_ROPE_FREQS},
    {.name = "micro-qwen2-f32-gqa-tied", .type = GT_F32, .fallback = GT_F32, .dim = 16,
     .n_layers = 1, .n_heads = 4, .n_kv_heads = 2, .ffn = 24, .n_ctx = 16, .tied = true,
     .vocab = VOCAB_TINY, .wexp = -2, .seed = 0xf00b, .arch = "qwen2"},
    {.name = "micro-qwen2-q8_0-gqa-untied", .type = GT_Q8_0, .fallback = GT_Q8_0, .dim = 32,
     .n_layers = 1, .n_heads = 2, .n_kv_heads = 1, .ffn = 32, .n_ctx = 16, .tied = false,
     .vocab = VOCAB_TINY, .wexp = -2, .seed = 0xf00c, .arch = "qwen2"},
    {.name = "micro-qwen3-f32-gqa-tied", .type = GT_F32, .fallback = GT_F32, .dim = 16,
     .n_layers = 1, .n_heads = 4, .n_kv_heads = 2, .ffn = 24, .n_ctx = 16, .tied = true,
     .vocab = VOCAB_TINY, .wexp = -2, .seed = 0xf00d, .arch = "qwen3", .head_dim = 8},
};

static void micro_models(void) {
    for (size_t i = 0; i < sizeof micro / sizeof micro[0]; i++) {
        gbuf b = {0};
        fixture_build(&micro[i], &b);
        char name[96];
        snprintf(name, sizeof name, "%s.gguf", micro[i].name);
        write_bytes("model_load", name, b.p, b.len);
        if (i == 0) write_bytes("fixtures", name, b.p, b.len);
        gbuf_free(&b);
    }
}

/* A vocab-only file: the tokenizer keys of the tiny vocabulary, no tensors. */
static void vocab_only(void) {
    gen_vocab v;
    vocab_build(&v, VOCAB_TINY);
    gguf_writer w;
    gw_init(&w, 32);
    gw_kv_str(&w, "general.architecture", "llama");
    gw_kv_str(&w, "tokenizer.ggml.model", "llama");
    gw_kv_str_array(&w, "tokenizer.ggml.tokens", v.text, v.n);
    gw_kv_f32_array(&w, "tokenizer.ggml.scores", v.score, v.n);
    gw_kv_i32_array(&w, "tokenizer.ggml.token_type", v.type, v.n);
    gw_kv_u32(&w, "tokenizer.ggml.bos_token_id", VOCAB_BOS);
    gw_kv_u32(&w, "tokenizer.ggml.eos_token_id", VOCAB_EOS);
    gw_kv_u32(&w, "tokenizer.ggml.unknown_token_id", VOCAB_UNK);
    gbuf b = {0};
    gw_finish(&w, &b);
    write_bytes("model_load", "vocab-only.gguf", b.p, b.len);
    write_bytes("gguf_parse", "vocab-only.gguf", b.p, b.len);
    gbuf_free(&b);
    vocab_free(&v);
}

/* ---- hand-built reader seeds ------------------------------------------------------------- */

/* Header, then every scalar value type once, a string, and general.alignment. */
static void every_scalar(uint32_t version) {
    gb_buf b;
    gb_init(&b, version);
    gb_header(&b, 0, 14);
    gb_kv_u8(&b, "t.u8", 200);
    gb_key(&b, "t.i8", GGUFREF_TYPE_INT8);
    gb_u8(&b, 0x80);
    gb_key(&b, "t.u16", GGUFREF_TYPE_UINT16);
    gb_u16(&b, 65535);
    gb_key(&b, "t.i16", GGUFREF_TYPE_INT16);
    gb_u16(&b, 0x8001);
    gb_kv_u32(&b, "t.u32", 4000000000u);
    gb_kv_i32(&b, "t.i32", -7);
    gb_kv_f32(&b, "t.f32", 1.5f);
    gb_kv_bool(&b, "t.bool", true);
    gb_kv_str(&b, "t.str", "hello");
    gb_kv_u64(&b, "t.u64", UINT64_MAX);
    gb_key(&b, "t.i64", GGUFREF_TYPE_INT64);
    gb_u64(&b, (uint64_t)INT64_MIN);
    gb_key(&b, "t.f64", GGUFREF_TYPE_FLOAT64);
    gb_f64(&b, -0.25);
    gb_kv_str(&b, "general.architecture", "llama");
    gb_kv_u32(&b, "general.alignment", 16);
    char name[64];
    snprintf(name, sizeof name, "scalars-v%u.gguf", version);
    write_gb("gguf_parse", name, &b);
    gb_free(&b);
}

/* Arrays of every element type (two elements each, one empty), and nested arrays down to the
 * depth limit. */
static void every_array(uint32_t version) {
    gb_buf b;
    gb_init(&b, version);
    gb_header(&b, 0, 15);
    for (uint32_t t = 0; t < GGUFREF_VALUE_TYPE_COUNT; t++) {
        if (t == GGUFREF_TYPE_ARRAY) continue;
        char key[32];
        snprintf(key, sizeof key, "a.%s", ggufref_value_type_name((ggufref_value_type)t));
        gb_kv_array(&b, key, t, 2);
        for (int k = 0; k < 2; k++) {
            switch (t) {
            case GGUFREF_TYPE_UINT8: case GGUFREF_TYPE_INT8: gb_u8(&b, (uint8_t)(k + 1)); break;
            case GGUFREF_TYPE_BOOL: gb_u8(&b, (uint8_t)k); break;
            case GGUFREF_TYPE_UINT16: case GGUFREF_TYPE_INT16: gb_u16(&b, (uint16_t)(k + 1)); break;
            case GGUFREF_TYPE_UINT32: case GGUFREF_TYPE_INT32: gb_u32(&b, (uint32_t)(k + 1)); break;
            case GGUFREF_TYPE_FLOAT32: gb_f32(&b, 0.5f * (float)k); break;
            case GGUFREF_TYPE_STRING: gb_str(&b, k ? "\xe2\x96\x81x" : ""); break;
            default: gb_u64(&b, (uint64_t)k); break; /* u64, i64, f64 */
            }
        }
    }
    gb_kv_array(&b, "a.empty", GGUFREF_TYPE_UINT32, 0);
    /* [[1, 2], []] */
    gb_kv_array(&b, "a.nested", GGUFREF_TYPE_ARRAY, 2);
    gb_array(&b, GGUFREF_TYPE_INT32, 2);
    gb_i32(&b, 1);
    gb_i32(&b, 2);
    gb_array(&b, GGUFREF_TYPE_STRING, 0);
    /* Depth GGUFREF_MAX_ARRAY_DEPTH: [[[["deep"]]]] */
    gb_kv_array(&b, "a.deep", GGUFREF_TYPE_ARRAY, 1);
    for (uint32_t d = 2; d < GGUFREF_MAX_ARRAY_DEPTH; d++) gb_array(&b, GGUFREF_TYPE_ARRAY, 1);
    gb_array(&b, GGUFREF_TYPE_STRING, 1);
    gb_str(&b, "deep");
    char name[64];
    snprintf(name, sizeof name, "arrays-v%u.gguf", version);
    write_gb("gguf_parse", name, &b);
    gb_free(&b);
}

/* Deterministic filler bytes (xorshift32); not meaningful, only varied. */
static void filler(uint8_t *p, size_t n, uint32_t seed) {
    uint32_t x = seed | 1u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

/* One file per tensor type: a 2-D tensor of two blocks by two rows, random bytes, with the
 * given alignment. */
static void tensor_of_type(uint32_t type, uint32_t version, uint32_t alignment) {
    const ggufref_type_info *info = ggufref_type_info_get(type);
    if (info == NULL) return;
    gb_tensor t = {"w", 2, {2u * info->block_size, 2, 1, 1}, type, NULL};
    uint64_t n = gb_tensor_bytes(type, t.n_dims, t.ne);
    uint8_t *data = malloc((size_t)n);
    if (data == NULL) gen_die("out of memory");
    filler(data, (size_t)n, type * 7919u + 1u);
    if (type == GGUFREF_T_F32 || type == GGUFREF_T_F16 || type == GGUFREF_T_BF16) {
        memset(data, 0, (size_t)n); /* no NaN patterns in plain floats */
    }
    t.data = data;
    gb_buf b;
    gb_init(&b, version);
    gb_header(&b, 1, alignment == GGUFREF_DEFAULT_ALIGNMENT ? 0 : 1);
    if (alignment != GGUFREF_DEFAULT_ALIGNMENT) gb_kv_u32(&b, "general.alignment", alignment);
    gb_tensor_infos(&b, &t, 1, alignment);
    gb_tensor_data(&b, &t, 1, alignment);
    char name[64];
    snprintf(name, sizeof name, "tensor-%s-v%u-a%u.gguf", info->name, version, alignment);
    write_gb("gguf_parse", name, &b);
    gb_free(&b);
    free(data);
}

/* Several tensors: 1 to 4 dims, names that sort apart, one zero-padded layout. */
static void tensor_shapes(void) {
    static const uint8_t zeros[4096];
    gb_tensor t[] = {
        {"a", 1, {8, 1, 1, 1}, GGUFREF_T_F32, zeros},
        {"blk.0.attn_q.weight", 2, {4, 3, 1, 1}, GGUFREF_T_F16, zeros},
        {"b3", 3, {2, 2, 2, 1}, GGUFREF_T_BF16, zeros},
        {"c4", 4, {32, 1, 2, 1}, GGUFREF_T_Q8_0, zeros},
    };
    size_t n = sizeof t / sizeof t[0];
    gb_buf b;
    gb_init(&b, 3);
    gb_header(&b, n, 1);
    gb_kv_str(&b, "general.architecture", "llama");
    gb_tensor_infos(&b, t, n, 32);
    gb_tensor_data(&b, t, n, 32);
    write_gb("gguf_parse", "tensor-shapes.gguf", &b);
    gb_free(&b);
}

static void empty_files(void) {
    for (uint32_t v = 1; v <= 3; v++) {
        gb_buf b;
        gb_init(&b, v);
        gb_header(&b, 0, 0);
        char name[32];
        snprintf(name, sizeof name, "empty-v%u.gguf", v);
        write_gb("gguf_parse", name, &b);
        gb_free(&b);
    }
}

/* ---- tokenizer and sampler seeds --------------------------------------------------------- */

/* Tokenizer input: flags (bit 0 add_bos, bits 1..7 a small capacity), a (prev, token) pair,
 * then the text (fuzz/tokenizer.c). */
static void tokenizer_seeds(void) {
    static const char *const texts[] = {
        "", "Once upon a time, there was a little girl named Lily.", "the the the",
        " leading and  double  spaces ", "caf\xc3\xa9 \xc3\xa9t\xc3\xa9", "ZQX 0123456789",
        "\xe2\x96\x81literal\xe2\x96\x81marks", "bad \xff\xfe utf8 \xc0\xaf \xed\xa0\x80",
        "emoji \xf0\x9f\x98\x80 and \xe4\xb8\xad", "she was happy.\nThe end!",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        for (uint8_t flags = 0; flags < 2; flags++) {
            gb_buf b;
            gb_init(&b, 3);
            gb_u8(&b, (uint8_t)(flags | (i % 4) << 1));
            gb_u32(&b, 1);             /* prev = BOS */
            gb_u32(&b, (uint32_t)(259 + i)); /* a normal piece */
            gb_bytes(&b, texts[i], strlen(texts[i]));
            char name[32];
            snprintf(name, sizeof name, "text-%zu-%u", i, flags);
            write_gb("tokenizer", name, &b);
            gb_free(&b);
        }
    }
}

/* Sampler input (fuzz/sampler.c): mode, n_vocab, settings, seed, history, logits. */
static void sampler_seed(const char *name, uint8_t mode, uint8_t n_vocab, uint8_t temp64,
                         uint8_t top_k, uint16_t top_p, uint16_t min_p, uint8_t penalty,
                         uint8_t last_n, uint8_t n_history) {
    gb_buf b;
    gb_init(&b, 3);
    gb_u8(&b, mode);
    gb_u16(&b, (uint16_t)(n_vocab - 1)); /* fz_range(1, 512): two bytes; top_k and history
                                           * ids then take one byte each (n_vocab <= 254) */
    gb_u8(&b, temp64);
    gb_u8(&b, top_k);
    gb_u16(&b, top_p);
    gb_u16(&b, min_p);
    gb_u8(&b, penalty);
    gb_u8(&b, last_n);
    gb_u64(&b, 42);
    gb_u8(&b, n_history);
    for (uint8_t i = 0; i < n_history; i++) gb_u8(&b, (uint8_t)(i * 7));
    for (unsigned i = 0; i < 512; i++) gb_u16(&b, (uint16_t)((i * 2654435761u) >> 20));
    write_gb("sampler", name, &b);
    gb_free(&b);
}

static void sampler_seeds(void) {
    /* penalty byte 48: 0.25 + 48/64 = 1 (off) */
    sampler_seed("greedy", 0, 32, 0, 0, 65535, 0, 48, 0, 0);
    sampler_seed("temp1", 0, 64, 64, 0, 65535, 0, 48, 0, 0);
    sampler_seed("topp09", 0, 64, 64, 0, 58981, 0, 48, 0, 0);
    sampler_seed("topk5", 0, 64, 32, 5, 65535, 0, 48, 0, 0);
    sampler_seed("minp", 0, 64, 64, 0, 65535, 6553, 48, 0, 0);
    sampler_seed("penalty", 0, 64, 64, 0, 65535, 0, 100, 16, 20);
    sampler_seed("all", 0, 200, 80, 10, 60000, 1000, 80, 64, 40);
    sampler_seed("raw", 0xff, 16, 0, 0, 0, 0, 0, 0, 4);
}

/* ---- ops seeds (fuzz/ops.c: opcode byte, then its arguments) ----------------------------- */

enum { O_INIT, O_LOAD, O_CONF, O_GEN, O_NEXT, O_RESET, O_FREE, O_DIAG, O_LASTERR, O_RESULT,
       O_CANCEL, O_ARM_ALLOC, O_ARM_PANIC };

static void op_load(gb_buf *b, uint8_t kind) {
    gb_u8(b, O_LOAD);
    gb_u8(b, kind);
    if (kind == 3) { /* bytes of the input */
        gb_u8(b, 8);
        gb_bytes(b, "GGUF\x03\0\0\0", 8);
    } else if (kind != 0) {
        gb_u32(b, kind == 1 ? 40000u : 1000u); /* position; kind 1 sets the byte there */
        if (kind == 1) gb_u8(b, 0xff);
    }
}

/* configure_sampling with valid mapped settings: temperature t/32, top_k, max_tokens. */
static void op_conf(gb_buf *b, uint8_t temp32, uint8_t top_k, uint8_t max_tokens, bool eos) {
    gb_u8(b, O_CONF);
    gb_u8(b, eos ? 4 : 0);
    gb_u8(b, temp32);
    gb_u8(b, top_k);
    gb_u8(b, 230); /* top_p 0.9 */
    gb_u8(b, 0);   /* min_p 0 */
    gb_u8(b, 32);  /* repeat_penalty 1 */
    gb_u8(b, 0);   /* repeat_last_n */
    gb_u64(b, 42);
    gb_u8(b, (uint8_t)(max_tokens - 1)); /* fz_range(1, 20) */
}

static void op_gen(gb_buf *b, const char *prompt, uint8_t cancel_after) {
    gb_u8(b, O_GEN);
    gb_u8(b, 0);
    gb_u8(b, cancel_after);
    gb_u8(b, (uint8_t)strlen(prompt));
    gb_bytes(b, prompt, strlen(prompt));
}

static void ops_seeds(void) {
    gb_buf b;
    /* The lifecycle: load, configure, generate, continue, inspect, reset, cancel, free. */
    gb_init(&b, 3);
    op_load(&b, 0);
    op_conf(&b, 32, 0, 4, true);
    op_gen(&b, "Once upon", 0);
    gb_u8(&b, O_NEXT);
    gb_u8(&b, O_NEXT);
    gb_u8(&b, O_RESULT);
    gb_u8(&b, O_DIAG);
    gb_u8(&b, O_RESET);
    op_gen(&b, "the little girl", 2);
    gb_u8(&b, O_NEXT);
    gb_u8(&b, O_LASTERR);
    gb_u8(&b, O_CANCEL);
    gb_u8(&b, O_FREE);
    op_gen(&b, "x", 0);
    gb_u8(&b, O_LASTERR);
    gb_u8(&b, O_NEXT);
    gb_u8(&b, O_DIAG);
    write_gb("ops", "lifecycle", &b);
    gb_free(&b);

    /* Errors: ordering errors, rejected loads and settings, overflow, recovery. */
    gb_init(&b, 3);
    gb_u8(&b, O_GEN);
    gb_u8(&b, 0); gb_u8(&b, 0); gb_u8(&b, 0);
    gb_u8(&b, O_RESET);
    op_load(&b, 3);
    gb_u8(&b, O_LASTERR);
    op_load(&b, 2);
    op_load(&b, 1);
    op_conf(&b, 0, 0, 20, false);
    op_gen(&b, "Once upon a time there was", 0); /* overflows n_ctx 16 with 20 tokens */
    gb_u8(&b, O_LASTERR);
    gb_u8(&b, O_NEXT);
    op_load(&b, 0);
    gb_u8(&b, O_CONF);
    gb_u8(&b, 1);           /* raw temperature */
    gb_u32(&b, 0x7fc00000); /* NaN: rejected */
    gb_zeros(&b, 14);
    gb_u8(&b, O_LASTERR);
    gb_u8(&b, O_RESET);
    gb_u8(&b, O_DIAG);
    gb_u8(&b, O_INIT);
    write_gb("ops", "errors", &b);
    gb_free(&b);

    /* Allocation failures in load, generate and diagnostics, and lazy init. */
    for (uint8_t n = 1; n <= 12; n++) {
        gb_init(&b, 3);
        gb_u8(&b, O_ARM_ALLOC);
        gb_u8(&b, (uint8_t)(n - 1));
        gb_u8(&b, O_LOAD);
        gb_u8(&b, 0);
        op_load(&b, 0);
        gb_u8(&b, O_ARM_ALLOC);
        gb_u8(&b, (uint8_t)(n - 1));
        op_gen(&b, "Lily", 0);
        gb_u8(&b, O_ARM_ALLOC);
        gb_u8(&b, 0);
        gb_u8(&b, O_DIAG);
        gb_u8(&b, O_LASTERR);
        char name[32];
        snprintf(name, sizeof name, "oom-%u", n);
        write_gb("ops", name, &b);
        gb_free(&b);
    }
    /* Every panic point, armed before the operation that has it. */
    static const uint8_t panic_ops[] = {O_INIT, O_LOAD, O_LOAD, O_CONF, O_GEN, O_GEN, O_NEXT,
                                        O_RESET, O_FREE, O_DIAG, O_GEN};
    for (uint8_t i = 0; i < sizeof panic_ops; i++) {
        gb_init(&b, 3);
        if (panic_ops[i] != O_INIT) op_load(&b, 0);
        if (panic_ops[i] == O_NEXT) op_gen(&b, "the", 0);
        gb_u8(&b, O_ARM_PANIC);
        gb_u8(&b, i);
        if (panic_ops[i] == O_LOAD) op_load(&b, 0);
        else if (panic_ops[i] == O_CONF) op_conf(&b, 16, 5, 3, true);
        else if (panic_ops[i] == O_GEN) op_gen(&b, "she", 0);
        else gb_u8(&b, panic_ops[i]);
        gb_u8(&b, O_LASTERR);
        gb_u8(&b, O_DIAG);
        char name[32];
        snprintf(name, sizeof name, "panic-%u", i);
        write_gb("ops", name, &b);
        gb_free(&b);
    }
}

/* ---- protocol seeds (fuzz/protocol.c: JSON Lines; model files micro.gguf, bad.gguf) ----- */

static const char *const protocol_sessions[] = {
    /* the lifecycle with logits */
    "{\"id\":1,\"cmd\":\"boot\"}\n"
    "{\"id\":\"a\",\"cmd\":\"load-model\",\"path\":\"micro.gguf\"}\n"
    "{\"id\":2,\"cmd\":\"configure-sampling\",\"max_tokens\":4,\"temperature\":0.5,"
    "\"seed\":7,\"top_k\":8,\"top_p\":0.9,\"min_p\":0.01,\"repeat_penalty\":1.1,"
    "\"repeat_last_n\":4,\"stop_at_eos\":false}\n"
    "{\"id\":3,\"cmd\":\"generate\",\"prompt\":\"Once upon\",\"logits\":3}\n"
    "{\"id\":4,\"cmd\":\"generate-next-token\",\"logits\":1,\"logits_full\":true}\n"
    "{\"id\":5,\"cmd\":\"cancel\",\"target\":3}\n"
    "{\"id\":6,\"cmd\":\"diagnostics\"}\n"
    "{\"id\":7,\"cmd\":\"reset-context\"}\n"
    "{\"id\":8,\"cmd\":\"free-model\"}\n"
    "{\"id\":9,\"cmd\":\"generate\",\"prompt\":\"x\"}\n",
    /* framing and field errors */
    "\n   \r\n"
    "not json\n"
    "[1,2]\n"
    "{\"cmd\":\"boot\"}\n"
    "{\"id\":1.5,\"cmd\":\"boot\"}\n"
    "{\"id\":9007199254740992,\"cmd\":\"boot\"}\n"
    "{\"id\":1,\"cmd\":\"nope\"}\n"
    "{\"id\":2,\"cmd\":\"generate\",\"prompt\":\"a\\u0000b\"}\n"
    "{\"id\":3,\"cmd\":\"configure-sampling\",\"top_k\":1.5}\n"
    "{\"id\":4,\"cmd\":\"configure-sampling\",\"seed\":\"99999999999999999999\"}\n"
    "{\"id\":5,\"cmd\":\"load-model\"}\n"
    "{\"id\":6,\"cmd\":\"load-model\",\"path\":\"bad.gguf\"}\n"
    "{\"id\":7,\"cmd\":\"load-model\",\"path\":\"/etc/passwd\"}\n"
    "{\"id\":8,\"cmd\":\"generate-next-token\"}\n"
    "{\"id\":\"\xff\",\"cmd\":\"boot\"}\n"
    "{\"id\":9,\"cmd\":\"boot\"} trailing\n",
    /* faults: allocation, I/O, panic, status, reset */
    "{\"id\":1,\"cmd\":\"fault-alloc\",\"n\":3}\n"
    "{\"id\":2,\"cmd\":\"load-model\",\"path\":\"micro.gguf\"}\n"
    "{\"id\":3,\"cmd\":\"fault-io\",\"byte\":100,\"kind\":\"short\"}\n"
    "{\"id\":4,\"cmd\":\"load-model\",\"path\":\"micro.gguf\"}\n"
    "{\"id\":5,\"cmd\":\"fault-io\",\"byte\":0,\"kind\":\"error\"}\n"
    "{\"id\":6,\"cmd\":\"load-model\",\"path\":\"micro.gguf\"}\n"
    "{\"id\":7,\"cmd\":\"fault-status\"}\n"
    "{\"id\":8,\"cmd\":\"load-model\",\"path\":\"micro.gguf\"}\n"
    "{\"id\":9,\"cmd\":\"fault-panic\",\"point\":\"generate.after_token\"}\n"
    "{\"id\":10,\"cmd\":\"generate\",\"prompt\":\"the\"}\n"
    "{\"id\":11,\"cmd\":\"cancel\",\"target\":10}\n"
    "{\"id\":12,\"cmd\":\"diagnostics\"}\n"
    "{\"id\":13,\"cmd\":\"fault-reset\"}\n"
    "{\"id\":14,\"cmd\":\"boot\"}\n",
};

static void protocol_seeds(void) {
    for (size_t i = 0; i < sizeof protocol_sessions / sizeof protocol_sessions[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "session-%zu", i);
        write_bytes("protocol", name, protocol_sessions[i], strlen(protocol_sessions[i]));
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    outdir = argv[1];
    micro_models();
    vocab_only();
    for (uint32_t v = 1; v <= 3; v++) {
        every_scalar(v);
        every_array(v);
    }
    for (uint32_t type = 0; type < 32; type++) tensor_of_type(type, 3, 32);
    tensor_of_type(GGUFREF_T_F32, 1, 32);
    tensor_of_type(GGUFREF_T_Q4_0, 2, 64);
    tensor_of_type(GGUFREF_T_Q6_K, 3, 256);
    tensor_shapes();
    empty_files();
    tokenizer_seeds();
    sampler_seeds();
    ops_seeds();
    protocol_seeds();
    return 0;
}
