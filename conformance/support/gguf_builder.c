/* gguf_builder.c — a byte-level GGUF writer for tests (see gguf_builder.h). */
#define _POSIX_C_SOURCE 200809L

#include "gguf_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what) {
    fprintf(stderr, "gguf_builder: %s\n", what);
    abort();
}

void gb_init(gb_buf *b, uint32_t version) {
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->version = version;
    b->mark = GB_NO_MARK;
}

void gb_free(gb_buf *b) {
    free(b->data);
    gb_init(b, b->version);
}

void *gb_dup(const gb_buf *b) {
    void *p = malloc(b->len == 0 ? 1 : b->len);
    if (p == NULL) die("out of memory");
    if (b->len > 0) memcpy(p, b->data, b->len);
    return p;
}

int gb_write_file(const gb_buf *b, const char *path) {
    FILE *f = fopen(path, "wb");
    if (f == NULL) return -1;
    size_t n = b->len == 0 ? 0 : fwrite(b->data, 1, b->len, f);
    int rc = fclose(f);
    return (n == b->len && rc == 0) ? 0 : -1;
}

void gb_mark(gb_buf *b) { b->mark = b->len; }

/* Room for n more bytes. */
static void reserve(gb_buf *b, size_t n) {
    if (n <= b->cap - b->len) return;
    size_t cap = b->cap == 0 ? 256 : b->cap;
    while (cap - b->len < n) {
        if (cap > SIZE_MAX / 2) die("buffer too large");
        cap *= 2;
    }
    uint8_t *p = realloc(b->data, cap);
    if (p == NULL) die("out of memory");
    b->data = p;
    b->cap = cap;
}

void gb_bytes(gb_buf *b, const void *p, size_t n) {
    if (n == 0) return;
    reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void gb_zeros(gb_buf *b, size_t n) {
    if (n == 0) return;
    reserve(b, n);
    memset(b->data + b->len, 0, n);
    b->len += n;
}

/* Little-endian bytes of v into out[0..n). */
static void put_le(uint8_t *out, uint64_t v, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = (uint8_t)(v >> (8 * i));
}

static void write_le(gb_buf *b, uint64_t v, size_t n) {
    uint8_t tmp[8];
    put_le(tmp, v, n);
    gb_bytes(b, tmp, n);
}

void gb_u8(gb_buf *b, uint8_t v) { write_le(b, v, 1); }
void gb_u16(gb_buf *b, uint16_t v) { write_le(b, v, 2); }
void gb_u32(gb_buf *b, uint32_t v) { write_le(b, v, 4); }
void gb_u64(gb_buf *b, uint64_t v) { write_le(b, v, 8); }
void gb_i32(gb_buf *b, int32_t v) { write_le(b, (uint32_t)v, 4); }

void gb_f32(gb_buf *b, float v) {
    uint32_t bits;
    memcpy(&bits, &v, 4);
    gb_u32(b, bits);
}

void gb_f64(gb_buf *b, double v) {
    uint64_t bits;
    memcpy(&bits, &v, 8);
    gb_u64(b, bits);
}

void gb_count(gb_buf *b, uint64_t v) {
    if (b->version != 1) {
        gb_u64(b, v);
        return;
    }
    if (v > UINT32_MAX) die("count does not fit a version 1 (u32) field");
    gb_u32(b, (uint32_t)v);
}

void gb_strn(gb_buf *b, const char *s, size_t n) {
    gb_count(b, n);
    gb_bytes(b, s, n);
}

void gb_str(gb_buf *b, const char *s) { gb_strn(b, s, strlen(s)); }

void gb_pad(gb_buf *b, uint32_t alignment) {
    if (alignment == 0) return;
    gb_zeros(b, (alignment - b->len % alignment) % alignment);
}

void gb_header(gb_buf *b, uint64_t n_tensors, uint64_t n_kv) {
    gb_bytes(b, "GGUF", 4);
    gb_u32(b, b->version);
    gb_count(b, n_tensors);
    gb_count(b, n_kv);
}

void gb_key(gb_buf *b, const char *key, uint32_t value_type) {
    gb_str(b, key);
    gb_u32(b, value_type);
}

void gb_kv_u8(gb_buf *b, const char *key, uint8_t v) {
    gb_key(b, key, GGUFREF_TYPE_UINT8);
    gb_u8(b, v);
}
void gb_kv_u32(gb_buf *b, const char *key, uint32_t v) {
    gb_key(b, key, GGUFREF_TYPE_UINT32);
    gb_u32(b, v);
}
void gb_kv_i32(gb_buf *b, const char *key, int32_t v) {
    gb_key(b, key, GGUFREF_TYPE_INT32);
    gb_i32(b, v);
}
void gb_kv_u64(gb_buf *b, const char *key, uint64_t v) {
    gb_key(b, key, GGUFREF_TYPE_UINT64);
    gb_u64(b, v);
}
void gb_kv_f32(gb_buf *b, const char *key, float v) {
    gb_key(b, key, GGUFREF_TYPE_FLOAT32);
    gb_f32(b, v);
}
void gb_kv_bool(gb_buf *b, const char *key, bool v) {
    gb_key(b, key, GGUFREF_TYPE_BOOL);
    gb_u8(b, v ? 1 : 0);
}
void gb_kv_str(gb_buf *b, const char *key, const char *v) {
    gb_key(b, key, GGUFREF_TYPE_STRING);
    gb_str(b, v);
}

void gb_array(gb_buf *b, uint32_t elem_type, uint64_t count) {
    gb_u32(b, elem_type);
    gb_count(b, count);
}

void gb_kv_array(gb_buf *b, const char *key, uint32_t elem_type, uint64_t count) {
    gb_key(b, key, GGUFREF_TYPE_ARRAY);
    gb_array(b, elem_type, count);
}

void gb_kv_str_array(gb_buf *b, const char *key, const char *const *v, size_t n) {
    gb_kv_array(b, key, GGUFREF_TYPE_STRING, n);
    for (size_t i = 0; i < n; i++) gb_str(b, v[i]);
}

void gb_kv_f32_array(gb_buf *b, const char *key, const float *v, size_t n) {
    gb_kv_array(b, key, GGUFREF_TYPE_FLOAT32, n);
    for (size_t i = 0; i < n; i++) gb_f32(b, v[i]);
}

void gb_kv_i32_array(gb_buf *b, const char *key, const int32_t *v, size_t n) {
    gb_kv_array(b, key, GGUFREF_TYPE_INT32, n);
    for (size_t i = 0; i < n; i++) gb_i32(b, v[i]);
}

void gb_tensor_info(gb_buf *b, const char *name, uint32_t n_dims, const uint64_t *ne,
                    uint32_t type, uint64_t offset) {
    gb_str(b, name);
    gb_u32(b, n_dims);
    for (uint32_t j = 0; j < n_dims; j++) gb_count(b, ne[j]);
    gb_u32(b, type);
    gb_u64(b, offset);
}

static void patch(gb_buf *b, size_t pos, uint64_t v, size_t n) {
    if (pos > b->len || n > b->len - pos) die("patch outside the buffer");
    put_le(b->data + pos, v, n);
}
void gb_patch_u8(gb_buf *b, size_t pos, uint8_t v) { patch(b, pos, v, 1); }
void gb_patch_u32(gb_buf *b, size_t pos, uint32_t v) { patch(b, pos, v, 4); }
void gb_patch_u64(gb_buf *b, size_t pos, uint64_t v) { patch(b, pos, v, 8); }

uint64_t gb_tensor_bytes(uint32_t type, uint32_t n_dims, const uint64_t *ne) {
    const ggufref_type_info *info = ggufref_type_info_get(type);
    if (info == NULL || n_dims == 0 || ne[0] % info->block_size != 0) return 0;
    uint64_t n = 1;
    for (uint32_t j = 0; j < n_dims; j++) {
        if (ne[j] != 0 && n > UINT64_MAX / ne[j]) return 0;
        n *= ne[j];
    }
    uint64_t blocks = n / info->block_size;
    if (blocks > UINT64_MAX / info->type_size) return 0;
    return blocks * info->type_size;
}

static uint64_t align_up(uint64_t v, uint32_t alignment) {
    return (v + alignment - 1) / alignment * alignment;
}

void gb_tensor_infos(gb_buf *b, const gb_tensor *t, size_t n, uint32_t alignment) {
    uint64_t offset = 0;
    for (size_t i = 0; i < n; i++) {
        gb_tensor_info(b, t[i].name, t[i].n_dims, t[i].ne, t[i].type, offset);
        offset = align_up(offset + gb_tensor_bytes(t[i].type, t[i].n_dims, t[i].ne), alignment);
    }
}

void gb_tensor_data(gb_buf *b, const gb_tensor *t, size_t n, uint32_t alignment) {
    gb_pad(b, alignment);
    for (size_t i = 0; i < n; i++) {
        uint64_t bytes = gb_tensor_bytes(t[i].type, t[i].n_dims, t[i].ne);
        if (bytes > SIZE_MAX) die("tensor too large for memory");
        if (t[i].data != NULL) {
            gb_bytes(b, t[i].data, (size_t)bytes);
        } else {
            gb_zeros(b, (size_t)bytes);
        }
        gb_pad(b, alignment);
    }
}
