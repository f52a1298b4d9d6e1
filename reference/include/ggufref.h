/*
 * ggufref.h — the one public header of the ggufref reference runtime.
 *
 * ggufref is a deliberately simple, fully deterministic GGUF runtime for the llama architecture.
 * Every rule it implements is stated in SPEC.md with a requirement ID; comments here cite them.
 *
 * The GGUF file format, as this reader accepts it (SPEC chapter 2, "GGUF subset"):
 *
 *   offset  field
 *   0       magic          "GGUF" (0x47 0x47 0x55 0x46)
 *   4       version        u32: 1, 2 or 3
 *   8       n_tensors      u64 (u32 in version 1)
 *           n_kv           u64 (u32 in version 1)
 *           kv[n_kv]       { string key; u32 value_type; value }
 *           tensor[n_tensors] { string name; u32 n_dims; u64 ne[n_dims] (u32 in v1);
 *                               u32 type; u64 offset }
 *           padding        to general.alignment (default 32)
 *           data           tensor bytes; each tensor at data_offset + offset
 *
 *   string = { u64 len (u32 in v1); u8 bytes[len] }   (not NUL-terminated)
 *   array  = { u32 elem_type; u64 count (u32 in v1); elem[count] }
 *   All integers are little-endian.
 *
 * Layout of the API, in pipeline order:
 *   1. status codes and errors      5. model binding + tokenizer
 *   2. named limits                 6. context + forward pass
 *   3. GGUF reader                  7. sampling + RNG
 *   4. tensor types + decoders      8. runtime (handle API), 9. exports (global), 10. faults,
 *                                   11. pool (shared model, sessions)
 *
 * Conventions: every function that can fail returns ggufref_status; outputs are pointer
 * parameters marked OUT; sizes and offsets are size_t/uint64_t; the library never prints,
 * exits or reads the clock. Strings from files are views ({ptr, len}) into the caller's buffer.
 */
#ifndef GGUFREF_H
#define GGUFREF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GGUFREF_VERSION_STRING "0.1.0"

/* ===================================================================================== */
/* 1. Status codes and errors (SPEC chapter 1, R-STATUS-*)                                */
/* ===================================================================================== */

/* Stable numbers: never renumber, only append. 13 is fixed by the seed runtime. */
typedef enum ggufref_status {
    GGUFREF_OK = 0,
    GGUFREF_ERR_INVALID_ARGUMENT = 1,    /* caller passed a bad argument or setting */
    GGUFREF_ERR_OUT_OF_MEMORY = 2,       /* an allocation failed; no data changed */
    GGUFREF_ERR_IO = 3,                  /* open/read/map failed or short read */
    GGUFREF_ERR_TRUNCATED = 4,           /* file ends inside a field */
    GGUFREF_ERR_BAD_MAGIC = 5,           /* first four bytes are not "GGUF" */
    GGUFREF_ERR_BYTE_SWAPPED = 6,        /* big-endian GGUF (version reads byte-swapped) */
    GGUFREF_ERR_UNSUPPORTED_VERSION = 7, /* version 0 or > 3 */
    GGUFREF_ERR_BAD_VALUE_TYPE = 8,      /* value type out of range, or wrong type for a key */
    GGUFREF_ERR_BAD_STRING = 9,          /* empty key, string past a limit */
    GGUFREF_ERR_DUPLICATE_NAME = 10,     /* duplicate metadata key or tensor name */
    GGUFREF_ERR_MODEL_NOT_LOADED = 11,   /* operation needs a model and none is loaded */
    GGUFREF_ERR_INVALID_STATE = 12,      /* operation not allowed in the current state */
    GGUFREF_ERR_GENERATION_FAILED = 13,  /* poisoned/unavailable lock, or generation failure */
    GGUFREF_ERR_BAD_ALIGNMENT = 14,      /* general.alignment of wrong type, 0, not pow2 */
    GGUFREF_ERR_BAD_TENSOR_INFO = 15,    /* n_dims, dims, type, block multiple, size overflow */
    GGUFREF_ERR_BAD_TENSOR_DATA = 16,    /* offset unaligned, overlapping, out of the file */
    GGUFREF_ERR_LIMIT_EXCEEDED = 17,     /* past a named limit, or the caller's capacity */
    GGUFREF_ERR_UNSUPPORTED_MODEL = 18,  /* architecture, hyperparameters, tensors or
                                            tokenizer metadata (token list and counts) */
    GGUFREF_ERR_UNSUPPORTED_TOKENIZER = 19, /* tokenizer.ggml.model not supported */
    GGUFREF_ERR_CONTEXT_OVERFLOW = 20,   /* request does not fit the context */
    GGUFREF_ERR_CANCELLED = 21,          /* generation stopped by ggufref_runtime_cancel */
    GGUFREF_ERR_BAD_VALUE = 22,          /* a value out of its domain (bool not 0/1, ...) */
    GGUFREF_ERR_DEADLINE_EXCEEDED = 23,  /* a deadline passed: pool acquire, request time */
    GGUFREF_STATUS_COUNT
} ggufref_status;

/* Upper-case name of a status ("OK", "MODEL_NOT_LOADED", ...); "UNKNOWN" if out of range. */
const char *ggufref_status_name(ggufref_status status);

#define GGUFREF_ERROR_MESSAGE_MAX 256

/* Detail of a failure: the status, the byte offset in the input it concerns (UINT64_MAX when
 * none applies), and a one-line message naming the field and that offset. */
typedef struct ggufref_error {
    ggufref_status status;
    uint64_t offset;
    char message[GGUFREF_ERROR_MESSAGE_MAX];
} ggufref_error;

/* A view of bytes owned by someone else: not NUL-terminated. */
typedef struct ggufref_str {
    const char *ptr;
    size_t len;
} ggufref_str;

/* ===================================================================================== */
/* 2. Named limits (SPEC R-GGUF-LIMITS)                                                   */
/* ===================================================================================== */

#define GGUFREF_MAX_KEY_LEN 65535u         /* bytes in a metadata key */
#define GGUFREF_MAX_STRING_LEN (1u << 30)  /* bytes in any string value */
#define GGUFREF_MAX_TENSOR_NAME_LEN 64u    /* ggml's GGML_MAX_NAME: names have at most 63 bytes */
#define GGUFREF_MAX_DIMS 4u
#define GGUFREF_MAX_ARRAY_DEPTH 4u         /* nesting of arrays in arrays */
#define GGUFREF_MAX_ALIGNMENT (1u << 30)
#define GGUFREF_DEFAULT_ALIGNMENT 32u

/* ===================================================================================== */
/* 3. GGUF reader (SPEC chapter 2, R-GGUF-*)                                              */
/* ===================================================================================== */

typedef enum ggufref_value_type {
    GGUFREF_TYPE_UINT8 = 0,
    GGUFREF_TYPE_INT8 = 1,
    GGUFREF_TYPE_UINT16 = 2,
    GGUFREF_TYPE_INT16 = 3,
    GGUFREF_TYPE_UINT32 = 4,
    GGUFREF_TYPE_INT32 = 5,
    GGUFREF_TYPE_FLOAT32 = 6,
    GGUFREF_TYPE_BOOL = 7,
    GGUFREF_TYPE_STRING = 8,
    GGUFREF_TYPE_ARRAY = 9,
    GGUFREF_TYPE_UINT64 = 10,
    GGUFREF_TYPE_INT64 = 11,
    GGUFREF_TYPE_FLOAT64 = 12,
    GGUFREF_VALUE_TYPE_COUNT
} ggufref_value_type;

const char *ggufref_value_type_name(ggufref_value_type type);
/* Bytes of one value of a fixed-size type (u8 1 ... f64 8, bool 1); 0 for STRING, ARRAY and
 * out-of-range types. */
size_t ggufref_value_type_size(ggufref_value_type type);

/* A parsed, fully validated GGUF file. Opaque. Borrows the bytes it was opened on. */
typedef struct ggufref_gguf ggufref_gguf;

/* Parse and validate (data, size). On success *out borrows `data`, which must outlive it.
 * Costs O(metadata), never O(size); allocates only after counts are checked against the
 * bytes that remain. On failure returns the status, fills err (may be NULL), *out = NULL. */
ggufref_status ggufref_gguf_open_memory(const void *data, size_t size, ggufref_gguf **out,
                                        ggufref_error *err);

/* Map `path` read-only and parse it. The mapping is owned by *out and unmapped on close. */
ggufref_status ggufref_gguf_open_file(const char *path, ggufref_gguf **out, ggufref_error *err);

void ggufref_gguf_close(ggufref_gguf *gguf); /* NULL is a no-op */

uint32_t ggufref_gguf_version(const ggufref_gguf *gguf);
uint64_t ggufref_gguf_n_kv(const ggufref_gguf *gguf);
uint64_t ggufref_gguf_n_tensors(const ggufref_gguf *gguf);
uint32_t ggufref_gguf_alignment(const ggufref_gguf *gguf);
uint64_t ggufref_gguf_data_offset(const ggufref_gguf *gguf); /* aligned start of data */
size_t ggufref_gguf_size(const ggufref_gguf *gguf);          /* bytes of the whole file */
const uint8_t *ggufref_gguf_bytes(const ggufref_gguf *gguf); /* the whole file */

/* Metadata. Keys are indexed 0..n_kv-1 in file order. find returns -1 when absent. */
int64_t ggufref_gguf_find_key(const ggufref_gguf *gguf, const char *key);
ggufref_str ggufref_gguf_key(const ggufref_gguf *gguf, uint64_t kv);
ggufref_value_type ggufref_gguf_kv_type(const ggufref_gguf *gguf, uint64_t kv);

/* Typed getters: GGUFREF_ERR_BAD_VALUE_TYPE if the value has another type. OUT: *out. */
ggufref_status ggufref_gguf_get_u8(const ggufref_gguf *g, uint64_t kv, uint8_t *out);
ggufref_status ggufref_gguf_get_i8(const ggufref_gguf *g, uint64_t kv, int8_t *out);
ggufref_status ggufref_gguf_get_u16(const ggufref_gguf *g, uint64_t kv, uint16_t *out);
ggufref_status ggufref_gguf_get_i16(const ggufref_gguf *g, uint64_t kv, int16_t *out);
ggufref_status ggufref_gguf_get_u32(const ggufref_gguf *g, uint64_t kv, uint32_t *out);
ggufref_status ggufref_gguf_get_i32(const ggufref_gguf *g, uint64_t kv, int32_t *out);
ggufref_status ggufref_gguf_get_u64(const ggufref_gguf *g, uint64_t kv, uint64_t *out);
ggufref_status ggufref_gguf_get_i64(const ggufref_gguf *g, uint64_t kv, int64_t *out);
ggufref_status ggufref_gguf_get_f32(const ggufref_gguf *g, uint64_t kv, float *out);
ggufref_status ggufref_gguf_get_f64(const ggufref_gguf *g, uint64_t kv, double *out);
ggufref_status ggufref_gguf_get_bool(const ggufref_gguf *g, uint64_t kv, bool *out);
ggufref_status ggufref_gguf_get_str(const ggufref_gguf *g, uint64_t kv, ggufref_str *out);
/* Any unsigned or signed integer type that holds a value in [0, UINT64_MAX]; else BAD_VALUE
 * (negative) or BAD_VALUE_TYPE (not an integer). Real files use u32, i32 and u64 for counts. */
ggufref_status ggufref_gguf_get_uint(const ggufref_gguf *g, uint64_t kv, uint64_t *out);

/* Arrays. A validated array can be walked without failure. */
typedef struct ggufref_array {
    ggufref_value_type elem_type; /* GGUFREF_TYPE_ARRAY for nested arrays */
    uint64_t count;
    const uint8_t *data;          /* first element's bytes (unaligned, little-endian) */
    size_t size;                  /* bytes of all elements */
    uint32_t version;             /* file version: string lengths are u32 in v1 */
} ggufref_array;
ggufref_status ggufref_gguf_get_array(const ggufref_gguf *g, uint64_t kv, ggufref_array *out);

/* Sequential walk over a validated array. Element getters return false when the iterator is
 * exhausted or the element has another type. */
typedef struct ggufref_array_iter {
    ggufref_array array;
    uint64_t index;   /* next element */
    size_t pos;       /* byte offset of next element within array.data */
} ggufref_array_iter;
void ggufref_array_iter_init(ggufref_array_iter *it, const ggufref_array *array);
bool ggufref_array_next_str(ggufref_array_iter *it, ggufref_str *out);
bool ggufref_array_next_f32(ggufref_array_iter *it, float *out);
bool ggufref_array_next_i32(ggufref_array_iter *it, int32_t *out);
/* Next element of an array of arrays (R-GGUF-013). OUT: *out views the nested array. */
bool ggufref_array_next_array(ggufref_array_iter *it, ggufref_array *out);
/* Fixed-size element j of a numeric array (u8..f64, bool); false if j >= count. OUT: raw bytes
 * copied into out (little-endian as in the file), out must hold the element size. */
bool ggufref_array_get_raw(const ggufref_array *array, uint64_t j, void *out);

/* Tensors, indexed 0..n_tensors-1 in file order. */
typedef struct ggufref_tensor {
    ggufref_str name;
    uint32_t n_dims;
    uint64_t ne[GGUFREF_MAX_DIMS]; /* ne[0] is the innermost (contiguous) dimension; unused = 1 */
    uint32_t type;                 /* ggufref_tensor_type */
    uint64_t offset;               /* relative to the data section */
    uint64_t n_elements;
    uint64_t n_bytes;
    const uint8_t *data;           /* view into the file; never NULL (n_bytes > 0, R-GGUF-022) */
} ggufref_tensor;
ggufref_status ggufref_gguf_tensor(const ggufref_gguf *g, uint64_t index, ggufref_tensor *out);
int64_t ggufref_gguf_find_tensor(const ggufref_gguf *g, const char *name);

/* ===================================================================================== */
/* 4. Tensor types and decoders (SPEC chapter 4, R-TYPE-*)                                */
/* ===================================================================================== */

/* ggml type ids. Ids 4 and 5 (Q4_2, Q4_3) were removed from ggml and are rejected. */
typedef enum ggufref_tensor_type {
    GGUFREF_T_F32 = 0,
    GGUFREF_T_F16 = 1,
    GGUFREF_T_Q4_0 = 2,
    GGUFREF_T_Q4_1 = 3,
    GGUFREF_T_Q5_0 = 6,
    GGUFREF_T_Q5_1 = 7,
    GGUFREF_T_Q8_0 = 8,
    GGUFREF_T_Q8_1 = 9,
    GGUFREF_T_Q2_K = 10,
    GGUFREF_T_Q3_K = 11,
    GGUFREF_T_Q4_K = 12,
    GGUFREF_T_Q5_K = 13,
    GGUFREF_T_Q6_K = 14,
    GGUFREF_T_Q8_K = 15,
    GGUFREF_T_BF16 = 30
} ggufref_tensor_type;

typedef struct ggufref_type_info {
    const char *name;      /* "F32", "Q4_K", ... */
    uint32_t block_size;   /* elements per block */
    uint32_t type_size;    /* bytes per block */
    bool can_decode;       /* a decoder exists (model weights may use it) */
} ggufref_type_info;

/* The one table of tensor types. NULL for unknown or removed ids. */
const ggufref_type_info *ggufref_type_info_get(uint32_t type);

/* Decode n elements (n a multiple of the block size) of `type` at src into f32. Exact:
 * every decoder is specified bit for bit (SPEC R-TYPE-*). INVALID_ARGUMENT otherwise. */
ggufref_status ggufref_dequantize(uint32_t type, const void *src, float *dst, size_t n);

/* IEEE binary16 and bfloat16 conversions, exact (no rounding needed for decoding). */
float ggufref_f16_to_f32(uint16_t h);
float ggufref_bf16_to_f32(uint16_t h);
uint16_t ggufref_f32_to_f16(float f);  /* round to nearest even; used by fixture writers */

/* ===================================================================================== */
/* 5. Model binding and tokenizer (SPEC chapters 3 "model" and 5 "tokenizer")             */
/* ===================================================================================== */

typedef struct ggufref_model ggufref_model;

typedef struct ggufref_model_info {
    uint32_t n_vocab;
    uint32_t dim;          /* llama.embedding_length */
    uint32_t n_layers;     /* llama.block_count */
    uint32_t n_heads;      /* llama.attention.head_count */
    uint32_t n_kv_heads;   /* llama.attention.head_count_kv (default n_heads) */
    uint32_t head_dim;     /* dim / n_heads */
    uint32_t ffn_dim;      /* llama.feed_forward_length */
    uint32_t n_ctx_train;  /* llama.context_length */
    uint32_t rope_dim;     /* llama.rope.dimension_count (default head_dim) */
    float rope_freq_base;  /* llama.rope.freq_base (default 10000) */
    float rms_eps;         /* llama.attention.layer_norm_rms_epsilon (default 1e-5) */
    int32_t bos_id;        /* -1 if none */
    int32_t eos_id;        /* -1 if none */
    int32_t unk_id;        /* -1 if none */
    bool add_bos;          /* tokenizer.ggml.add_bos_token (default true) */
    bool tied_output;      /* no output.weight: token_embd.weight is used */
    uint64_t weight_bytes; /* bytes of all weight tensors read per decoded token */
} ggufref_model_info;

/* Bind a llama model (weights and tokenizer) to an open GGUF. The model borrows `gguf`, which
 * must outlive it. F32 weights are used in place. UNSUPPORTED_MODEL / UNSUPPORTED_TOKENIZER /
 * BAD_VALUE_TYPE with a message naming the key or tensor. */
ggufref_status ggufref_model_load(const ggufref_gguf *gguf, ggufref_model **out,
                                  ggufref_error *err);
void ggufref_model_free(ggufref_model *model);
void ggufref_model_get_info(const ggufref_model *model, ggufref_model_info *out);

/* Bind only the tokenizer (vocab-only files). Same contract as ggufref_model_load. */
ggufref_status ggufref_model_load_vocab(const ggufref_gguf *gguf, ggufref_model **out,
                                        ggufref_error *err);

/* Longest text ggufref_tokenize accepts (R-TOK-016): LIMIT_EXCEEDED beyond. */
#define GGUFREF_MAX_TOKENIZE_BYTES (1u << 28)

/* SentencePiece encode (SPEC R-TOK-*). Writes up to cap ids to out; *n_out is the number of
 * tokens the text needs (may exceed cap: then LIMIT_EXCEEDED and out holds the first cap).
 * Allocates one scratch block per call (64 bytes per character). BAD_VALUE if a byte needs
 * a <0xHH> token the vocabulary lacks and there is no UNK; INVALID_ARGUMENT for NULLs. */
ggufref_status ggufref_tokenize(const ggufref_model *model, const char *text, size_t len,
                                bool add_bos, int32_t *out, size_t cap, size_t *n_out);

/* Flags of ggufref_tokenize_ex (SPEC R-TOK-041, R-TOK-042). */
#define GGUFREF_TOKENIZE_ADD_BOS 1u       /* BOS first, when the vocabulary has one */
#define GGUFREF_TOKENIZE_ADD_EOS 2u       /* EOS last, when the vocabulary has one */
#define GGUFREF_TOKENIZE_PARSE_SPECIAL 4u /* BPE: text of CONTROL tokens becomes those tokens */

/* ggufref_tokenize with flags; ggufref_tokenize(m, t, n, add_bos, ...) is
 * ggufref_tokenize_ex(m, t, n, add_bos ? GGUFREF_TOKENIZE_ADD_BOS : 0, ...). Same contract. */
ggufref_status ggufref_tokenize_ex(const ggufref_model *model, const char *text, size_t len,
                                   unsigned flags, int32_t *out, size_t cap, size_t *n_out);

/* The bytes a token contributes to text, given the token before it (-1 at the start): the
 * piece, with U+2581 as space, the leading space dropped right after BOS, <0xXX> as one byte,
 * control tokens (BOS/EOS/UNK) as nothing. The view stays valid while the model lives. */
ggufref_str ggufref_token_to_piece(const ggufref_model *model, int32_t prev, int32_t token);

/* The raw vocabulary string of a token (for diagnostics); empty view if out of range. */
ggufref_str ggufref_token_text(const ggufref_model *model, int32_t token);

/* ===================================================================================== */
/* 6. Context and forward pass (SPEC chapter 4 "numerics")                                */
/* ===================================================================================== */

/* A KV cache plus the run buffers, allocated once: forward never allocates. */
typedef struct ggufref_context ggufref_context;

/* n_ctx = 0 means the model's n_ctx_train; a larger value is INVALID_ARGUMENT. */
ggufref_status ggufref_context_create(const ggufref_model *model, uint32_t n_ctx,
                                      ggufref_context **out);
void ggufref_context_free(ggufref_context *ctx);
/* Bytes ggufref_context_create(model, n_ctx) would allocate (KV cache + scratch), without
 * allocating (R-POOL-020). Same argument rules as create. OUT: *out. */
ggufref_status ggufref_context_bytes(const ggufref_model *model, uint32_t n_ctx, size_t *out);
uint32_t ggufref_context_n_ctx(const ggufref_context *ctx);

/* Run token at position pos (0-based; all positions < pos must have been run). OUT: *logits
 * points at n_vocab floats owned by ctx, valid until the next call. */
ggufref_status ggufref_forward(ggufref_context *ctx, int32_t token, uint32_t pos,
                               const float **logits);
/* Errors of both (R-NUM-040..042): INVALID_ARGUMENT for NULLs, a token outside [0, n_vocab)
 * or pos beyond the positions already run (a gap); CONTEXT_OVERFLOW when pos + n > n_ctx
 * (n = 1 for ggufref_forward) and every argument is otherwise valid: a gap past the end is
 * INVALID_ARGUMENT (R-NUM-041).
 * Running position p again overwrites its KV row and forgets every later position. */

/* Tokens per ggufref_forward_batch call. */
#define GGUFREF_MAX_BATCH 16u

/* Prompt processing: run tokens[0..n) at positions pos..pos+n-1 (1 <= n <= GGUFREF_MAX_BATCH).
 * Every value, the KV cache and the logits of the last token are bit-identical to n calls of
 * ggufref_forward (R-NUM-043); each weight row is read once per batch. OUT: *logits = those of
 * tokens[n-1]. */
ggufref_status ggufref_forward_batch(ggufref_context *ctx, const int32_t *tokens, size_t n,
                                     uint32_t pos, const float **logits);

/* Threads of the forward pass (R-NUM-047..049): each matrix product is split by rows, and each
 * step's attention by (token, query head), over n_threads threads (the caller and n_threads - 1
 * workers the context keeps until it is freed or the count changes); every value is
 * bit-identical for any count. Default 1.
 * INVALID_ARGUMENT for NULL, 0, more than GGUFREF_MAX_THREADS, or more than 1 in a build
 * without threads (wasm32-wasi); OUT_OF_MEMORY when a thread cannot be started. On an error
 * the context keeps its threads. */
#define GGUFREF_MAX_THREADS 64u
ggufref_status ggufref_context_set_threads(ggufref_context *ctx, uint32_t n_threads);
uint32_t ggufref_context_threads(const ggufref_context *ctx); /* 1 for NULL */

/* ===================================================================================== */
/* 7. Sampling and RNG (SPEC chapter 6 "sampling")                                        */
/* ===================================================================================== */

typedef struct ggufref_sampling {
    float temperature;      /* 0 = argmax (lowest id wins a tie) */
    int32_t top_k;          /* 0 = off */
    float top_p;            /* 1 = off */
    float min_p;            /* 0 = off */
    float repeat_penalty;   /* 1 = off */
    int32_t repeat_last_n;  /* tokens of history the penalty looks at; 0 = off */
    uint64_t seed;
    int32_t max_tokens;     /* tokens generated per request, > 0 */
    bool stop_at_eos;
} ggufref_sampling;

/* The defaults: temperature 0, top_k 0, top_p 1, min_p 0, repeat_penalty 1, repeat_last_n 64,
 * seed 0, max_tokens 128, stop_at_eos true. */
void ggufref_sampling_default(ggufref_sampling *out);
/* INVALID_ARGUMENT with a message naming the field if a setting is out of range. */
ggufref_status ggufref_sampling_validate(const ggufref_sampling *s, ggufref_error *err);

/* xorshift64* as llama2.c (SPEC R-RNG-*). */
typedef struct ggufref_rng {
    uint64_t state;
} ggufref_rng;
void ggufref_rng_seed(ggufref_rng *rng, uint64_t seed);
uint32_t ggufref_rng_u32(ggufref_rng *rng);
float ggufref_rng_coin(ggufref_rng *rng); /* (u32 >> 8) / 16777216.0f, in [0, 1) */

/* Sampler scratch, sized for a vocabulary once. */
typedef struct ggufref_sampler ggufref_sampler;
ggufref_status ggufref_sampler_create(uint32_t n_vocab, ggufref_sampler **out);
void ggufref_sampler_free(ggufref_sampler *sampler);

/* Choose the next token from logits (n_vocab floats; modified in place) given the history of
 * tokens so far. Draws exactly one coin from rng iff temperature > 0. OUT: *token. */
ggufref_status ggufref_sample(ggufref_sampler *sampler, const ggufref_sampling *s,
                              float *logits, const int32_t *history, size_t n_history,
                              ggufref_rng *rng, int32_t *token);

/* ===================================================================================== */
/* 8. Runtime: handle API (SPEC chapter 7 "runtime")                                      */
/* ===================================================================================== */
/*
 * A runtime owns everything one inference session needs (R-RT-001): an owned copy of the model
 * bytes with its GGUF, model binding and tokenizer, the KV cache with forward scratch and logits
 * (ggufref_context), the sampler scratch, the sampling configuration, the RNG, the prompt and
 * generated token vector, the result bytes (text of the generated tokens), the diagnostics bytes
 * and the last error. No global state: runtimes are independent (the export layer, section 9,
 * is the one process-global owner).
 *
 * Every operation moves the runtime through the state machine of SPEC chapter 7; the complete
 * table (state x operation -> status, next state) is conformance/transitions.tsv. Failures of
 * load/configure/generate/next-token leave every resident datum unchanged (transactional, R-RT-010)
 * and move to RECOVERABLE_ERROR; only last_error and the state record the failure.
 *
 * Threading: a handle is used by one thread at a time (the export layer adds the lock), except
 * ggufref_runtime_cancel, which any thread may call at any time.
 */

/* Stable numbers (the wire protocol and diagnostics use the names). */
typedef enum ggufref_state {
    GGUFREF_STATE_UNINITIALIZED = 0,      /* no runtime value yet (lazy init on most operations) */
    GGUFREF_STATE_INITIALIZED = 1,        /* configuration and diagnostics only, no model */
    GGUFREF_STATE_READY = 2,              /* model, tokenizer, KV cache, scratch, logits */
    GGUFREF_STATE_CONTINUATION_READY = 3, /* plus an open request: generate_next_token allowed */
    GGUFREF_STATE_RECOVERABLE_ERROR = 4,  /* last operation failed; model may remain resident */
    GGUFREF_STATE_FREED = 5,              /* model released; load_model to continue */
    GGUFREF_STATE_POISONED = 6,           /* an operation panicked; every operation fails (13) */
    GGUFREF_STATE_COUNT
} ggufref_state;

/* Upper-case name ("READY", "CONTINUATION_READY", ...); "UNKNOWN" if out of range. */
const char *ggufref_state_name(ggufref_state state);

typedef struct ggufref_runtime ggufref_runtime;

/* Called once per generated token during generate / generate_next_token: the token id, the bytes
 * it appended to the result, the n_vocab logits the token was sampled from (R-RT-029: the
 * forward pass output for the previous position, bit for bit what ggufref_forward returns,
 * before repetition penalty, temperature or any filter), and the caller's pointer. Both views
 * are valid only during the call. It runs inside the operation: it may call
 * ggufref_runtime_cancel (or ggufref_export_cancel) and nothing else on the same runtime. */
typedef void (*ggufref_token_callback)(int32_t token, const char *piece, size_t len,
                                       const float *logits, uint32_t n_vocab, void *user);

/* Optional clock for the "nondeterministic" diagnostics fields (the library never reads the
 * clock itself): returns monotonic nanoseconds. */
typedef uint64_t (*ggufref_clock_fn)(void *user);

/* A new runtime in UNINITIALIZED; nothing but the handle is allocated. OUT_OF_MEMORY. OUT: *out. */
ggufref_status ggufref_runtime_create(ggufref_runtime **out);
/* Releases everything, in any state (also POISONED, also mid-way states left by a panic).
 * NULL is a no-op. */
void ggufref_runtime_destroy(ggufref_runtime *rt);
ggufref_state ggufref_runtime_state(const ggufref_runtime *rt);
void ggufref_runtime_set_clock(ggufref_runtime *rt, ggufref_clock_fn clock, void *user);
/* Threads of the forward pass (R-NUM-049): a setting like the clock, not an operation (the state
 * never changes): applied to the resident model's context at once and to every context a later
 * load makes; results are bit-identical for any count (R-NUM-047). Default 1 (also for the
 * export layer's runtime). INVALID_ARGUMENT for NULL, 0, more than GGUFREF_MAX_THREADS or more
 * than 1 in a build without threads; OUT_OF_MEMORY when a thread cannot be started (nothing
 * changes). Not concurrently with an operation on rt. */
ggufref_status ggufref_runtime_set_threads(ggufref_runtime *rt, uint32_t n_threads);
uint32_t ggufref_runtime_threads(const ggufref_runtime *rt); /* 1 for NULL */

/* The operations. Each returns the status of conformance/transitions.tsv and moves to its next
 * state. Operations marked (lazy) first initialize an UNINITIALIZED runtime (R-RT-004). */
ggufref_status ggufref_runtime_init(ggufref_runtime *rt); /* idempotent */
/* (lazy) Copies (bytes, len) into owned memory, parses, validates and builds everything (model,
 * context, sampler) before installing it; the old model is freed after the new one is installed.
 * Any failure leaves every resident datum unchanged (R-RT-010). */
ggufref_status ggufref_runtime_load_model(ggufref_runtime *rt, const void *bytes, size_t len);
/* Owned model bytes (SPEC R-RT-017): room for len model bytes that a load takes over instead of
 * copying, placed as the runtime's own copy would be (R-RT-014/015). Fill data, then hand it to
 * load_model_owned (or destroy it). create: OUT_OF_MEMORY or INVALID_ARGUMENT; OUT: *out. */
typedef struct ggufref_model_bytes ggufref_model_bytes;
ggufref_status ggufref_model_bytes_create(size_t len, ggufref_model_bytes **out);
uint8_t *ggufref_model_bytes_data(ggufref_model_bytes *m); /* len writable bytes */
void ggufref_model_bytes_destroy(ggufref_model_bytes *m);  /* NULL is a no-op */
/* (lazy) load_model from owned bytes: the same statuses, transitions and transactional failure
 * (R-RT-010), without the copy. Consumes m in every case: the runtime keeps it on success and
 * frees it on any failure. */
ggufref_status ggufref_runtime_load_model_owned(ggufref_runtime *rt, ggufref_model_bytes *m);
/* (lazy) As load_model, reading the file through the I/O hook (section 10): IO_ERROR on open or
 * read failure and on a short read, naming the byte offset. */
ggufref_status ggufref_runtime_load_model_file(ggufref_runtime *rt, const char *path);
/* (lazy) Validates with ggufref_sampling_validate and stores a copy; never allocates once
 * initialized. The settings apply from the next generate (which reseeds the RNG). */
ggufref_status ggufref_runtime_configure_sampling(ggufref_runtime *rt, const ggufref_sampling *s);
void ggufref_runtime_get_sampling(const ggufref_runtime *rt, ggufref_sampling *out); /* OUT */
/* (lazy) A whole request: clears the previous request (tokens, result, request counters),
 * tokenizes `prompt` (add_bos per the model), reseeds the RNG from the sampling seed, and
 * generates up to max_tokens tokens, stopping early at EOS when stop_at_eos. A request whose
 * prompt tokens + max_tokens exceed n_ctx is rejected with CONTEXT_OVERFLOW before anything
 * changes. Checks the cancel flag before every token: CANCELLED keeps the tokens made so far
 * and ends in CONTINUATION_READY. cb may be NULL. */
ggufref_status ggufref_runtime_generate(ggufref_runtime *rt, const char *prompt, size_t len,
                                        ggufref_token_callback cb, void *user);
/* (lazy) One more token of the open request (CONTINUATION_READY only). cb may be NULL. */
ggufref_status ggufref_runtime_generate_next_token(ggufref_runtime *rt,
                                                   ggufref_token_callback cb, void *user);
/* Step budget (SPEC R-EXP-010..012), for a host that returns to its event loop between slices
 * of a request (a browser Worker). generate_budget is generate making at most `budget` tokens
 * now (0: the request is committed, nothing forwarded); generate_continue makes at most `budget`
 * more tokens of the open request under the request's own rules (max_tokens, stop_at_eos;
 * cancel flag as generate_next_token, R-RT-025). Transitions: those of generate and of
 * generate_next_token. OUT: *more, true while the request can make more tokens. Slices of any
 * sizes end with the tokens, result and digest of one generate. */
ggufref_status ggufref_runtime_generate_budget(ggufref_runtime *rt, const char *prompt,
                                               size_t len, uint32_t budget,
                                               ggufref_token_callback cb, void *user, bool *more);
ggufref_status ggufref_runtime_generate_continue(ggufref_runtime *rt, uint32_t budget,
                                                 ggufref_token_callback cb, void *user,
                                                 bool *more);
/* Called once per position by evaluate: the position, its token, and the n_vocab logits of the
 * forward pass at that position (the prediction for the next one; R-RT-045), valid only during
 * the call. It may call ggufref_runtime_cancel (or ggufref_export_cancel) and nothing else. */
typedef void (*ggufref_logits_callback)(uint32_t pos, int32_t token, const float *logits,
                                        uint32_t n_vocab, void *user);
/* (lazy) Teacher forcing (R-RT-045): runs tokens[0..n) at positions 0..n-1 from an empty KV
 * cache, calling cb (may be NULL) after each position. INVALID_ARGUMENT for NULL, n = 0 or an
 * id outside [0, n_vocab), CONTEXT_OVERFLOW for n > n_ctx, before anything changes; then the
 * request is cleared as by reset_context and the runtime ends READY (GENERATION_FAILED, in
 * RECOVERABLE_ERROR, on non-finite logits). Never allocates; sampling, RNG, cancel flag kept. */
ggufref_status ggufref_runtime_evaluate(ggufref_runtime *rt, const int32_t *tokens, size_t n,
                                        ggufref_logits_callback cb, void *user);
/* (lazy) Clears the request (tokens, result, counters, KV position); keeps model and sampling. */
ggufref_status ggufref_runtime_reset_context(ggufref_runtime *rt);
/* (lazy) Releases model bytes, GGUF, model, tokenizer, KV cache, scratch, logits, sampler,
 * tokens and result; keeps sampling settings and last_error. Ends in FREED. */
ggufref_status ggufref_runtime_free_model(ggufref_runtime *rt);
/* (lazy) Writes the diagnostics JSON (SPEC R-RT-030 schema) into the runtime's diagnostics
 * bytes. OUT: *out views them, valid until the next operation on rt. */
ggufref_status ggufref_runtime_diagnostics(ggufref_runtime *rt, ggufref_str *out);
/* The most recent failure (status OK and empty message if none). OUT: *out (a copy). */
ggufref_status ggufref_runtime_last_error(const ggufref_runtime *rt, ggufref_error *out);
/* The result bytes of the current request. OUT: *out, valid until the next operation on rt. */
ggufref_status ggufref_runtime_result(const ggufref_runtime *rt, ggufref_str *out);
/* Lock-free and thread-safe: sets the cancel flag that generate checks between tokens. The
 * flag is cleared when a generate or generate_next_token has passed its checks (R-RT-025).
 * Returns OK; GENERATION_FAILED once poisoned, INVALID_ARGUMENT for NULL. */
ggufref_status ggufref_runtime_cancel(ggufref_runtime *rt);

/* Inspection for tests, digests and the protocol server. OUT: *tokens (prompt then generated,
 * valid until the next operation), *n_tokens, *n_prompt; any may be NULL. */
void ggufref_runtime_tokens(const ggufref_runtime *rt, const int32_t **tokens, size_t *n_tokens,
                            size_t *n_prompt);
/* The resident model (R-RT-016): read-only, borrowed, valid until the next load_model,
 * free_model or destroy of rt; NULL when no model is resident. Its n_ctx_train is the request
 * capacity in tokens (prompt plus generated). For the CLI's `generate` (token pieces, model
 * info) and other callers that drive generation through the runtime. */
const ggufref_model *ggufref_runtime_model(const ggufref_runtime *rt);
/* FNV-1a 64 over the observable resident state (R-RT-040): model bytes identity, n_ctx, KV
 * position, tokens, result bytes, sampling settings, RNG state, request counters. Not the
 * lifecycle state, not last_error. Equal digests before and after a failed operation prove it
 * changed nothing. */
uint64_t ggufref_runtime_digest(const ggufref_runtime *rt);

/* ===================================================================================== */
/* 9. Exports: the process-global layer (SPEC chapter 8 "exports")                        */
/* ===================================================================================== */
/*
 * Mirrors the seed's wasm_exports: one process-global mutex over an optional runtime (NULL =
 * UNINITIALIZED). Every export except ggufref_export_cancel takes the lock, runs the handle
 * operation of section 8 and returns its status as an int. A panic inside the critical section
 * poisons the lock: from then on every export returns 13 (GENERATION_FAILED) for the rest of
 * the process (only the test hook ggufref_fault_export_reset clears it). A lock that cannot be
 * taken (re-entrant call from a token callback) also returns 13, without poisoning (R-EXP-*).
 * Byte results are copied out under the lock; no pointer into the runtime escapes.
 */
int ggufref_export_init_runtime(void);
int ggufref_export_load_model(const void *bytes, size_t len);
int ggufref_export_load_model_file(const char *path);
int ggufref_export_configure_sampling(const ggufref_sampling *s);
/* cb runs inside the critical section; it may call ggufref_export_cancel only. Its piece and
 * logits views (R-RT-029) are the one exception to copy-out: they are valid only during the
 * call, under the lock (R-EXP-008). */
int ggufref_export_generate(const char *prompt, size_t len, ggufref_token_callback cb,
                            void *user);
int ggufref_export_generate_next_token(ggufref_token_callback cb, void *user);
/* R-RT-017 through the lock: m is consumed in every case (also when the lock is unavailable). */
int ggufref_export_load_model_owned(ggufref_model_bytes *m);
/* The step budget of R-EXP-010..012 (ggufref_runtime_generate_budget / _continue). */
int ggufref_export_generate_budget(const char *prompt, size_t len, uint32_t budget,
                                   ggufref_token_callback cb, void *user, bool *more);
int ggufref_export_generate_continue(uint32_t budget, ggufref_token_callback cb, void *user,
                                     bool *more);
/* R-RT-045 under the lock; cb runs inside the critical section like generate's (R-EXP-008). */
int ggufref_export_evaluate(const int32_t *tokens, size_t n, ggufref_logits_callback cb,
                            void *user);
int ggufref_export_reset_context(void);
int ggufref_export_free_model(void);
/* Copy-out exports: *len (if not NULL) receives the full byte length; the bytes are copied only
 * if cap >= that length, else LIMIT_EXCEEDED (nothing else changes). cap 0 / buf NULL queries. */
int ggufref_export_diagnostics(char *buf, size_t cap, size_t *len);
int ggufref_export_result(char *buf, size_t cap, size_t *len);
int ggufref_export_tokens(int32_t *buf, size_t cap, size_t *n_tokens, size_t *n_prompt);
int ggufref_export_last_error(ggufref_error *out);              /* OUT: *out */
int ggufref_export_state(ggufref_state *out); /* OUT: *out; POISONED -> 13; unavailable -> 13, *out untouched */
int ggufref_export_digest(uint64_t *out);                       /* OUT: ggufref_runtime_digest */
/* Lock-free: sets the cancel flag of the global runtime (no-op if none). 13 once poisoned. */
int ggufref_export_cancel(void);
/* Threads of the global runtime's forward pass (R-EXP-013): a setting of the layer, not an
 * operation (no state changes, no runtime is created, last_error untouched). It applies at once
 * to the resident model's context, and to every runtime the layer creates later (it outlives
 * them). The bounds and statuses of ggufref_runtime_set_threads; 13 when the lock is
 * unavailable or poisoned. ggufref_export_threads reads the setting (default 1). */
int ggufref_export_set_threads(uint32_t n_threads);
uint32_t ggufref_export_threads(void);

/* ===================================================================================== */
/* 10. Fault injection (test builds only: GGUFREF_FAULT_INJECTION)                        */
/* ===================================================================================== */

/* Allocation hook: the Nth allocation from now fails (1-based); 0 disarms. In builds without
 * fault injection these are no-ops and the counters stay 0. */
void ggufref_fault_alloc_fail_at(uint64_t n);
/* Persistent: the Nth allocation from now and every later one fail, until the next arm (memory
 * stays exhausted, as SQLite's persistent malloc faults); 0 disarms. fired/count as above. */
void ggufref_fault_alloc_fail_from(uint64_t n);
uint64_t ggufref_fault_alloc_count(void);    /* allocations since the last arm */
int64_t ggufref_fault_alloc_live(void);      /* live allocations (leak counter) */
bool ggufref_fault_alloc_fired(void);        /* did the armed failure happen? */

/* I/O hook (R-FAULT-002): every file read of ggufref_runtime_load_model_file goes through it.
 * Armed at byte k (0-based offset in the file): ERROR makes the read that would deliver byte k
 * fail after delivering the bytes before k; SHORT makes the file end at byte k (a short read).
 * Fires once, then disarms. UINT64_MAX disarms. */
typedef enum ggufref_io_fault {
    GGUFREF_IO_FAULT_ERROR = 1,
    GGUFREF_IO_FAULT_SHORT = 2
} ggufref_io_fault;
void ggufref_fault_io_fail_at(uint64_t byte, ggufref_io_fault kind);
uint64_t ggufref_fault_io_bytes(void);       /* bytes delivered since the last arm */
bool ggufref_fault_io_fired(void);

/* Panic hook (R-FAULT-003): named points inside operations, after partial mutation. Armed with
 * a point name, the next operation (any thread) that reaches it aborts there; the handle becomes
 * POISONED and the export layer poisons its lock. Fires once, then disarms. NULL disarms. */
void ggufref_fault_panic_at(const char *point);
bool ggufref_fault_panic_fired(void);
size_t ggufref_fault_panic_point_count(void);        /* the table of point names (all builds) */
const char *ggufref_fault_panic_point_name(size_t i); /* NULL if i >= count */
/* Break hook (R-FAULT-007): named deliberate bugs of the forward pass, for the harness
 * self-test's broken variants (bugs a protocol server cannot fake): "rope.query_position_plus_one"
 * (each query rotated at position p+1, its key at p), "rope.ignore_freq_factors" (rope_freqs
 * ignored; takes effect at the next load). Arming accumulates; breaks stay armed, for every
 * runtime of the process, until ggufref_fault_break_set(NULL) disarms them all. Returns true
 * when armed (or disarmed, NULL); false for an unknown name, and for every name in release
 * builds, where nothing can be armed (R-FAULT-004). */
bool ggufref_fault_break_set(const char *name);
size_t ggufref_fault_break_count(void);        /* the table of break names (all builds) */
const char *ggufref_fault_break_name(size_t i); /* NULL if i >= count */
/* Test-only recovery of the export layer: destroys the global runtime and clears the poison
 * (back to UNINITIALIZED). No concurrent exports may run. A no-op in release builds. */
void ggufref_fault_export_reset(void);

/* ===================================================================================== */
/* 11. Pool: one shared model, a bounded pool of sessions (SPEC chapter 12, R-POOL-*)      */
/* ===================================================================================== */
/*
 * Seeds 003/004's pooled runtime on top of the handle API (reference/src/pool.c):
 *
 *   ggufref_shared_model   loaded once, immutable, reference-counted (the compiled module)
 *   ggufref_session        one controller: a runtime attached to the shared model, with its own
 *                          KV cache, scratch, RNG, tokens and sampling settings; single-threaded
 *   ggufref_pool           at most max_sessions sessions checked out (the semaphore's permits);
 *                          idle sessions are kept for reuse and hold no permit; waiters are
 *                          served first come, first served; a released session is scrubbed so
 *                          the next user sees nothing of the previous request; a poisoned
 *                          session (a trap) is dropped, never reused.
 *
 * Threading: the pool and shared model functions are thread-safe; a session is used by one
 * thread at a time (its holder), except ggufref_session_cancel, which any thread may call.
 * Deadlines are absolute CLOCK_MONOTONIC nanoseconds chosen by the caller (the library never
 * reads the clock): 0 = do not wait, UINT64_MAX = wait as long as it takes.
 */
typedef struct ggufref_shared_model ggufref_shared_model;

/* Copy (bytes, len) into owned memory, parse, validate and bind it once (R-POOL-001). The
 * caller holds the one reference. Statuses and messages as ggufref_runtime_load_model. */
ggufref_status ggufref_shared_model_open(const void *bytes, size_t len, ggufref_shared_model **out,
                                         ggufref_error *err);
/* As above, reading `path` (a regular file) through the I/O hook. */
ggufref_status ggufref_shared_model_open_file(const char *path, ggufref_shared_model **out,
                                              ggufref_error *err);
/* As ggufref_shared_model_open, taking over owned bytes (R-RT-017, R-POOL-001) instead of
 * copying them; consumes `bytes` in every case (the wasm pool's controllers, R-POOL-050). */
ggufref_status ggufref_shared_model_open_owned(ggufref_model_bytes *bytes,
                                               ggufref_shared_model **out, ggufref_error *err);
void ggufref_shared_model_retain(ggufref_shared_model *m);   /* NULL is a no-op */
void ggufref_shared_model_release(ggufref_shared_model *m);  /* frees on the last reference */
uint64_t ggufref_shared_model_refs(const ggufref_shared_model *m);  /* references held now */
uint64_t ggufref_shared_model_size(const ggufref_shared_model *m);  /* owned model bytes */
const ggufref_model *ggufref_shared_model_model(const ggufref_shared_model *m);

/* (lazy) load_model without a copy (R-POOL-002): the runtime takes a reference to m and builds
 * its own context of n_ctx positions (0 = the model's; more is INVALID_ARGUMENT), sampler and
 * token vectors. The same rows of conformance/transitions.tsv as load_model. */
ggufref_status ggufref_runtime_load_shared(ggufref_runtime *rt, ggufref_shared_model *m,
                                           uint32_t n_ctx);
/* Bytes load_shared(m, n_ctx) allocates: the accounting of the pool's memory ceiling
 * (R-POOL-020). INVALID_ARGUMENT for NULLs or an n_ctx the model refuses. OUT: *out. */
ggufref_status ggufref_runtime_session_bytes(const ggufref_shared_model *m, uint32_t n_ctx,
                                             uint64_t *out);

/* Ceilings (R-POOL-020..024). 0 means "no ceiling" for every field but max_sessions. */
typedef struct ggufref_pool_limits {
    uint32_t max_sessions;  /* sessions checked out at once, and kept; >= 1 */
    uint64_t max_memory;    /* bytes: the shared model + every live session's bytes */
    uint64_t max_exec_ns;   /* wall-clock nanoseconds per generate (needs the pool's clock) */
    uint64_t max_steps;     /* forward positions per generate: prompt tokens + generated */
    uint32_t max_context;   /* positions of each session's context (n_ctx) */
} ggufref_pool_limits;

/* max_sessions 1, every ceiling 0 (none). */
void ggufref_pool_limits_default(ggufref_pool_limits *out);
/* Seed 004: server ceilings combined with a model's settings: field by field the lower one
 * wins, and a ceiling of 0 (none) loses to any set value (R-POOL-024). OUT: *out. */
void ggufref_pool_limits_combine(const ggufref_pool_limits *server,
                                 const ggufref_pool_limits *model, ggufref_pool_limits *out);

typedef struct ggufref_pool ggufref_pool;
typedef struct ggufref_session ggufref_session;

/* A pool over m (retained until destroy). INVALID_ARGUMENT for max_sessions 0 or a
 * max_context the model refuses; LIMIT_EXCEEDED when max_memory cannot hold the model and one
 * session; OUT_OF_MEMORY. No session is created yet. OUT: *out. */
ggufref_status ggufref_pool_create(ggufref_shared_model *m, const ggufref_pool_limits *limits,
                                   ggufref_pool **out, ggufref_error *err);
/* Destroys the idle sessions and the pool, releasing m. INVALID_STATE (nothing changes) while
 * sessions are checked out. NULL is OK. */
ggufref_status ggufref_pool_destroy(ggufref_pool *pool);
/* The clock that max_exec_ns measures with (monotonic ns); without one, max_exec_ns is not
 * enforced. Set before sessions are acquired. */
void ggufref_pool_set_clock(ggufref_pool *pool, ggufref_clock_fn clock, void *user);
/* Threads of every session's forward pass (R-POOL-016, R-NUM-049): 1 .. GGUFREF_MAX_THREADS,
 * default 1. INVALID_ARGUMENT for NULL, 0, more than the maximum or more than 1 in a build
 * without threads; INVALID_STATE while the pool has a session (idle or checked out): set it
 * before the first acquire. A thread that cannot be started fails the acquire that creates the
 * session with OUT_OF_MEMORY. ggufref_pool_threads reads it (1 for NULL). */
ggufref_status ggufref_pool_set_threads(ggufref_pool *pool, uint32_t n_threads);
uint32_t ggufref_pool_threads(ggufref_pool *pool);

/* Check a session out (R-POOL-010): takes a permit first (FIFO among waiters, until
 * deadline_ns: DEADLINE_EXCEEDED), then reuses an idle session or creates one (memory ceiling:
 * LIMIT_EXCEEDED before anything is allocated; OUT_OF_MEMORY). On failure the permit goes to
 * the next waiter and *out = NULL. OUT: *out, READY, as fresh (R-POOL-011). */
ggufref_status ggufref_pool_acquire(ggufref_pool *pool, uint64_t deadline_ns,
                                    ggufref_session **out);
/* Check a session in (R-POOL-011): scrubbed and kept for reuse; dropped instead (R-POOL-012)
 * when its runtime is POISONED or no longer holds the pool's model. Returns OK or, for a
 * session not checked out of this pool, INVALID_ARGUMENT. */
ggufref_status ggufref_pool_release(ggufref_pool *pool, ggufref_session *session);
/* Check a session in and destroy it, never to be reused (after a trap, R-POOL-012). */
ggufref_status ggufref_pool_drop(ggufref_pool *pool, ggufref_session *session);

/* The session's runtime, for every chapter 7 operation (its holder only). */
ggufref_runtime *ggufref_session_runtime(ggufref_session *session);
/* ggufref_runtime_generate under the pool's per-request ceilings (R-POOL-021, R-POOL-022):
 * LIMIT_EXCEEDED when max_steps stops it (before anything changes if the prompt alone needs
 * max_steps positions), DEADLINE_EXCEEDED when max_exec_ns does; a stopped request keeps its
 * tokens and ends in CONTINUATION_READY, as a cancelled one. */
ggufref_status ggufref_session_generate(ggufref_session *session, const char *prompt, size_t len,
                                        ggufref_token_callback cb, void *user);
/* Any thread, any time while the pool lives: cancels the session's running request (R-POOL-013). */
ggufref_status ggufref_session_cancel(ggufref_pool *pool, ggufref_session *session);
/* Index of the session's slot in [0, max_sessions): stable for the pool's life. */
uint32_t ggufref_session_slot(const ggufref_session *session);

typedef struct ggufref_pool_stats {
    uint32_t max_sessions;
    uint32_t checked_out;   /* sessions held by callers (= permits taken) */
    uint32_t idle;          /* sessions kept for reuse (hold no permit) */
    uint32_t waiting;       /* acquirers queued for a permit */
    uint64_t created;       /* sessions made */
    uint64_t reused;        /* acquires served by an idle session */
    uint64_t dropped;       /* sessions destroyed by drop or a poisoned release */
    uint64_t timeouts;      /* acquires that ended DEADLINE_EXCEEDED */
    uint64_t memory;        /* accounted bytes: the model + live sessions (R-POOL-020) */
} ggufref_pool_stats;
void ggufref_pool_get_stats(ggufref_pool *pool, ggufref_pool_stats *out); /* OUT */

#ifdef __cplusplus
}
#endif

#endif /* GGUFREF_H */
