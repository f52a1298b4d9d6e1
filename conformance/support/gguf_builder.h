/*
 * gguf_builder.h — a byte-level GGUF writer for tests and benchmarks (prefix gb_).
 *
 * Tests build valid and deliberately malformed GGUF files in memory, byte by byte: nothing
 * here validates anything, so any field can hold any value. Layout helpers (gb_tensor_infos,
 * gb_tensor_data) place tensors the way SPEC R-GGUF-028 requires; raw writers and patchers
 * (gb_u32, gb_patch_u64, ...) then break whatever a test needs broken.
 *
 *     gb_buf b;
 *     gb_init(&b, 3);                          // version 3: u64 counts and lengths
 *     gb_header(&b, 1, 2);                     // 1 tensor, 2 kvs
 *     gb_kv_str(&b, "general.architecture", "llama");
 *     gb_kv_u32(&b, "general.alignment", 32);
 *     gb_tensor t = {"w", 1, {32}, GGUFREF_T_F32, NULL};
 *     gb_tensor_infos(&b, &t, 1, 32);
 *     gb_tensor_data(&b, &t, 1, 32);
 *     ... ggufref_gguf_open_memory(b.data, b.len, ...) ...
 *     gb_free(&b);
 *
 * Version 1 files get u32 counts, string lengths, array counts and dims (gb_count); a value
 * that does not fit in u32 aborts. Allocation failure aborts (test support, not library code).
 * All integers are written little-endian.
 */
#ifndef GGUFREF_GGUF_BUILDER_H
#define GGUFREF_GGUF_BUILDER_H

#include "ggufref.h"

#include <stddef.h>
#include <stdint.h>

#define GB_NO_MARK UINT64_MAX

typedef struct gb_buf {
    uint8_t *data;    /* the bytes so far (capacity may exceed len: copy with gb_dup) */
    size_t len;
    size_t cap;
    uint32_t version; /* 1: counts, lengths and dims are u32 */
    uint64_t mark;    /* a position a test recorded with gb_mark; GB_NO_MARK if none */
} gb_buf;

/* Begin an empty buffer for a file of `version` (the version only selects count widths:
 * gb_header writes it, and a test may write any other). */
void gb_init(gb_buf *b, uint32_t version);
void gb_free(gb_buf *b);
/* An exact-size malloc'd copy of the bytes (so ASan catches any read past the end); at least
 * one byte is allocated. The caller frees it. */
void *gb_dup(const gb_buf *b);
/* Write the bytes to path; 0 on success, -1 (errno set) on failure. */
int gb_write_file(const gb_buf *b, const char *path);

/* Record the current position as b->mark (e.g. where the error must point). */
void gb_mark(gb_buf *b);

/* --- raw little-endian writers ---------------------------------------------------------- */
void gb_bytes(gb_buf *b, const void *p, size_t n);
void gb_zeros(gb_buf *b, size_t n);
void gb_u8(gb_buf *b, uint8_t v);
void gb_u16(gb_buf *b, uint16_t v);
void gb_u32(gb_buf *b, uint32_t v);
void gb_u64(gb_buf *b, uint64_t v);
void gb_i32(gb_buf *b, int32_t v);
void gb_f32(gb_buf *b, float v);
void gb_f64(gb_buf *b, double v);
void gb_count(gb_buf *b, uint64_t v);             /* u32 in version 1, else u64 */
void gb_strn(gb_buf *b, const char *s, size_t n); /* count + n bytes */
void gb_str(gb_buf *b, const char *s);            /* count + strlen(s) bytes */
void gb_pad(gb_buf *b, uint32_t alignment);       /* zeros up to a multiple of alignment */

/* --- structure -------------------------------------------------------------------------- */
/* "GGUF", b->version, n_tensors, n_kv. */
void gb_header(gb_buf *b, uint64_t n_tensors, uint64_t n_kv);
/* Key and value type of a kv; the caller writes the value. */
void gb_key(gb_buf *b, const char *key, uint32_t value_type);
void gb_kv_u8(gb_buf *b, const char *key, uint8_t v);
void gb_kv_u32(gb_buf *b, const char *key, uint32_t v);
void gb_kv_i32(gb_buf *b, const char *key, int32_t v);
void gb_kv_u64(gb_buf *b, const char *key, uint64_t v);
void gb_kv_f32(gb_buf *b, const char *key, float v);
void gb_kv_bool(gb_buf *b, const char *key, bool v);
void gb_kv_str(gb_buf *b, const char *key, const char *v);
/* Array header (element type, count): the value of an array kv, or a nested array. */
void gb_array(gb_buf *b, uint32_t elem_type, uint64_t count);
/* Key, ARRAY, and the array header; the caller writes `count` elements. */
void gb_kv_array(gb_buf *b, const char *key, uint32_t elem_type, uint64_t count);
void gb_kv_str_array(gb_buf *b, const char *key, const char *const *v, size_t n);
void gb_kv_f32_array(gb_buf *b, const char *key, const float *v, size_t n);
void gb_kv_i32_array(gb_buf *b, const char *key, const int32_t *v, size_t n);
/* One tensor info: name, n_dims, ne[0..n_dims) (u32 each in version 1), type, offset. */
void gb_tensor_info(gb_buf *b, const char *name, uint32_t n_dims, const uint64_t *ne,
                    uint32_t type, uint64_t offset);

/* --- patching (pos must lie inside the bytes written) ----------------------------------- */
void gb_patch_u8(gb_buf *b, size_t pos, uint8_t v);
void gb_patch_u32(gb_buf *b, size_t pos, uint32_t v);
void gb_patch_u64(gb_buf *b, size_t pos, uint64_t v);

/* --- tensor layout ---------------------------------------------------------------------- */
typedef struct gb_tensor {
    const char *name;
    uint32_t n_dims;
    uint64_t ne[GGUFREF_MAX_DIMS];
    uint32_t type;     /* ggufref_tensor_type */
    const void *data;  /* gb_tensor_bytes() bytes, or NULL for zeros */
} gb_tensor;

/* Bytes of a tensor (ne[0..n_dims) elements of `type`); 0 for an unknown type, an ne[0] that
 * is not a multiple of the block, or overflow. */
uint64_t gb_tensor_bytes(uint32_t type, uint32_t n_dims, const uint64_t *ne);
/* Tensor infos with contiguous offsets in file order: each at the end of the previous one
 * rounded up to `alignment`, the first at 0 (R-GGUF-028). */
void gb_tensor_infos(gb_buf *b, const gb_tensor *t, size_t n, uint32_t alignment);
/* Padding to `alignment`, then each tensor's bytes, each padded to `alignment` (as ggml
 * writes them). */
void gb_tensor_data(gb_buf *b, const gb_tensor *t, size_t n, uint32_t alignment);

#endif /* GGUFREF_GGUF_BUILDER_H */
