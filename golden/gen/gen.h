/*
 * gen.h — the fixture-model generator's internal interface (golden/gen).
 *
 * ggufref-fixtures writes tiny llama GGUF v3 files byte-for-byte deterministically. Nothing in
 * it depends on the platform: weights come from an integer PRNG (splitmix64) scaled by exact
 * powers of two, every float written is exactly representable in its target type, and every
 * multi-byte value is written little-endian byte by byte. It is a build tool, not library code:
 * it prints, and it aborts on allocation failure or on a broken invariant.
 *
 * Modules, in the order a file is made:
 *   blocks.c   PRNG, exact float encodings, the type table and one random-block writer per type
 *   vocab.c    the SentencePiece vocabulary (tiny English pieces, or 32000 synthetic ones), or a
 *              tiny byte-level BPE one (GPT-2 byte alphabet, merges, tokenizer.ggml.pre)
 *   gguf_writer.c  growable byte buffer + GGUF v3 writer (metadata, tensor infos, aligned data)
 *   fixtures.c the fixture table and the llama model assembly
 *   sha256.c   SHA-256 (for SHA256SUMS and manifest.json)
 *   main.c     command line: --out, --only, --list, --check
 */
#ifndef GGUFREF_GEN_H
#define GGUFREF_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Print "ggufref-fixtures: <message>" to stderr and exit(2). For invariants and OOM. */
void gen_die(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;

/* ---- growable byte buffer (gguf_writer.c) ----------------------------------------------- */

typedef struct gbuf {
    uint8_t *p;
    size_t len;
    size_t cap;
} gbuf;

uint8_t *gbuf_grow(gbuf *b, size_t n);  /* append n zero bytes; returns a pointer to them */
void gbuf_put(gbuf *b, const void *src, size_t n);
void gbuf_u16(gbuf *b, uint16_t v);     /* little-endian */
void gbuf_u32(gbuf *b, uint32_t v);
void gbuf_u64(gbuf *b, uint64_t v);
void gbuf_printf(gbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void gbuf_pad(gbuf *b, size_t align);   /* append zeros until len % align == 0 */
void gbuf_free(gbuf *b);

void put_u16le(uint8_t *dst, uint16_t v);
void put_u32le(uint8_t *dst, uint32_t v);

/* ---- GGUF v3 writer (gguf_writer.c) ---------------------------------------------------- */

/* GGUF value types (the file format's numbers). */
enum {
    GV_U8 = 0, GV_I8 = 1, GV_U16 = 2, GV_I16 = 3, GV_U32 = 4, GV_I32 = 5, GV_F32 = 6,
    GV_BOOL = 7, GV_STRING = 8, GV_ARRAY = 9, GV_U64 = 10, GV_I64 = 11, GV_F64 = 12
};

/* Metadata and tensor infos are collected in file order; gw_finish lays the file out as
 * header | kv | tensor infos | zero padding to `alignment` | data, where every tensor's data
 * starts at an offset that is a multiple of `alignment` and is followed by zero padding up to
 * the next multiple (as ggml's writer does), so the file size is aligned too. */
typedef struct gguf_writer {
    gbuf kv;
    gbuf info;
    gbuf data;
    uint64_t n_kv;
    uint64_t n_tensors;
    uint32_t alignment;
    uint32_t version;        /* 3 unless gw_set_version */
} gguf_writer;

void gw_init(gguf_writer *w, uint32_t alignment);
/* The GGUF version to write (1, 2 or 3; default 3), before the first key or tensor. */
void gw_set_version(gguf_writer *w, uint32_t version);
void gw_kv_str(gguf_writer *w, const char *key, const char *value);
void gw_kv_u32(gguf_writer *w, const char *key, uint32_t value);
void gw_kv_i32(gguf_writer *w, const char *key, int32_t value);
void gw_kv_u64(gguf_writer *w, const char *key, uint64_t value);
void gw_kv_f32(gguf_writer *w, const char *key, float value);
void gw_kv_bool(gguf_writer *w, const char *key, bool value);
void gw_kv_str_array(gguf_writer *w, const char *key, char *const *items, size_t n);
void gw_kv_f32_array(gguf_writer *w, const char *key, const float *values, size_t n);
void gw_kv_i32_array(gguf_writer *w, const char *key, const int32_t *values, size_t n);
/* Declare a tensor (ne[0] innermost) and reserve its n_bytes of data. Returns where the
 * caller writes the data; the pointer is valid until the next gw_* call. */
uint8_t *gw_tensor(gguf_writer *w, const char *name, uint32_t n_dims, const uint64_t *ne,
                   uint32_t type, size_t n_bytes);
/* Write the whole file into *out (appended) and free the writer's buffers. */
void gw_finish(gguf_writer *w, gbuf *out);

/* ---- PRNG, exact encodings, tensor types (blocks.c) ------------------------------------- */

/* splitmix64 (Steele, Lea, Flood 2014): the state advances by the golden gamma. */
typedef struct gen_rng {
    uint64_t state;
} gen_rng;
uint64_t rng_next(gen_rng *r);
/* The stream of one tensor: seeded by the fixture seed and the FNV-1a hash of its name, so a
 * tensor's bytes do not depend on which tensors come before it. */
gen_rng rng_for(uint64_t fixture_seed, const char *tensor_name);

uint32_t f32_bits(float v);
uint16_t f16_bits_exact(float v);  /* dies unless v is exactly a normal binary16 (or 0) */
uint16_t bf16_bits_exact(float v); /* dies unless the low 16 bits of v's f32 are zero */

/* ggml tensor type ids. */
enum {
    GT_F32 = 0, GT_F16 = 1, GT_Q4_0 = 2, GT_Q4_1 = 3, GT_Q5_0 = 6, GT_Q5_1 = 7, GT_Q8_0 = 8,
    GT_Q2_K = 10, GT_Q3_K = 11, GT_Q4_K = 12, GT_Q5_K = 13, GT_Q6_K = 14, GT_BF16 = 30
};

/* Writes one random valid block (or one element for F32/F16/BF16) at dst. wexp sets the size
 * of the values: |weight| stays near or below 2^wexp. */
typedef void gen_fill_fn(uint8_t *dst, gen_rng *r, int wexp);

typedef struct gen_type {
    uint32_t id;
    const char *name;       /* "F32", "Q4_K", ... as ggml names them */
    const char *lower;      /* "f32", "q4_k": used in fixture names */
    uint32_t block_size;    /* elements per block */
    uint32_t type_size;     /* bytes per block */
    gen_fill_fn *fill;
} gen_type;

const gen_type *gen_type_get(uint32_t id); /* dies on an unknown id */

/* Fill n_blocks blocks of `type` at dst. */
void gen_fill_blocks(const gen_type *type, uint8_t *dst, size_t n_blocks, gen_rng *r, int wexp);

/* F32 norm weights in [0.875, 1.125], multiples of 1/64. */
void gen_fill_norm(uint8_t *dst, size_t n, gen_rng *r);

/* ---- vocabulary (vocab.c) ---------------------------------------------------------------- */

enum { VOCAB_TINY = 0, VOCAB_SYNTH32000 = 1, VOCAB_BPE_TINY = 2 };
enum { TOK_NORMAL = 1, TOK_UNKNOWN = 2, TOK_CONTROL = 3, TOK_BYTE = 6 };
enum { VOCAB_UNK = 0, VOCAB_BOS = 1, VOCAB_EOS = 2 };

typedef struct gen_vocab {
    char **text;     /* NUL-terminated UTF-8 pieces, U+2581 for space */
    float *score;
    int32_t *type;   /* TOK_* */
    size_t n;
    char **merges;   /* VOCAB_BPE_TINY: "left right" in rank order (else NULL) */
    size_t n_merges;
    uint32_t bos, eos; /* the BOS and EOS ids */
} gen_vocab;

void vocab_build(gen_vocab *v, int kind);
void vocab_free(gen_vocab *v);

/* ---- fixtures (fixtures.c) --------------------------------------------------------------- */

enum {
    FX_STORIES = 1u << 0,    /* build-time benchmark model, not committed */
    FX_DEFAULTS = 1u << 1,   /* omit head_count_kv, rope.dimension_count, rope.freq_base */
    FX_WIDE_INTS = 1u << 2,  /* context_length as u64, embedding_length as i32 */
    FX_EDGE = 1u << 3,       /* a reader edge case: committed in models/edge/, not a type test */
    FX_ROPE_FREQS = 1u << 4, /* llama: rope_freqs.weight, Llama 3 style divisors (fixtures.c) */
};

typedef struct gen_fixture {
    const char *name;        /* file is <name>.gguf */
    uint32_t type;           /* type of the weight matrices (and token_embd) */
    uint32_t fallback;       /* for matrices whose ne[0] is not a multiple of type's block */
    uint32_t dim, n_layers, n_heads, n_kv_heads, ffn, n_ctx;
    bool tied;               /* no output.weight */
    uint32_t alignment;      /* 0: general.alignment absent (default 32) */
    int vocab;               /* VOCAB_* */
    float rms_eps;           /* 0: 1e-5 */
    float rope_freq_base;    /* 0: 10000 */
    int wexp;                /* weights stay near or below 2^wexp */
    uint64_t seed;
    unsigned flags;          /* FX_* */
    uint32_t version;        /* GGUF version written; 0: 3 */
    const char *arch;        /* general.architecture and key prefix; NULL: "llama". "qwen2" adds
                              * attn_{q,k,v}.bias, "qwen3" attn_{q,k}_norm.weight */
    uint32_t head_dim;       /* 0: dim / n_heads; else written as attention.key_length and
                              * value_length (q_dim = n_heads * head_dim may differ from dim) */
} gen_fixture;

extern const gen_fixture gen_fixtures[];
extern const size_t gen_n_fixtures;

const gen_fixture *fixture_find(const char *name); /* NULL if none */
/* Type of a matrix with inner dimension ne0 in fixture fx (type or its fallback). */
uint32_t fixture_matrix_type(const gen_fixture *fx, uint64_t ne0);
uint32_t fixture_vocab_size(const gen_fixture *fx);
float fixture_rms_eps(const gen_fixture *fx);
float fixture_rope_freq_base(const gen_fixture *fx);
const char *fixture_arch(const gen_fixture *fx);
uint32_t fixture_head_dim(const gen_fixture *fx);
/* The whole GGUF file of fx, appended to *out. */
void fixture_build(const gen_fixture *fx, gbuf *out);

/* ---- SHA-256 (sha256.c) ------------------------------------------------------------------ */

void sha256(const uint8_t *data, size_t len, uint8_t out[32]);
void sha256_hex(const uint8_t *data, size_t len, char out[65]);

#endif /* GGUFREF_GEN_H */
