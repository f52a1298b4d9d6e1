/*
 * gguf_writer.c — a growable byte buffer and a GGUF v3 writer.
 *
 *   offset  field
 *   0       "GGUF", u32 version (3 unless gw_set_version), u64 n_tensors, u64 n_kv
 *           (version 1: every count and length below is u32 instead of u64)
 *   24      kv[n_kv]          { string key; u32 value_type; value }
 *           tensor[n_tensors] { string name; u32 n_dims; u64 ne[n_dims]; u32 type; u64 offset }
 *           zero padding to a multiple of the alignment (from the start of the file)
 *           data: tensor i at data_offset + offset_i, offsets aligned, ascending, each tensor
 *                 followed by zero padding to the alignment (so tensors are contiguous up to
 *                 padding and the file size is a multiple of the alignment)
 *   string = { u64 len; u8 bytes[len] }   array = { u32 elem_type; u64 count; elems }
 */
#include "gen.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gen_die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("ggufref-fixtures: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

/* ---- gbuf ----------------------------------------------------------------------------- */

uint8_t *gbuf_grow(gbuf *b, size_t n) {
    if (n > SIZE_MAX - b->len) gen_die("buffer size overflow");
    size_t need = b->len + n;
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need) {
            if (cap > SIZE_MAX / 2) gen_die("buffer size overflow");
            cap *= 2;
        }
        uint8_t *p = realloc(b->p, cap);
        if (!p) gen_die("out of memory (%zu bytes)", cap);
        b->p = p;
        b->cap = cap;
    }
    uint8_t *dst = b->p + b->len;
    memset(dst, 0, n);
    b->len = need;
    return dst;
}

void gbuf_put(gbuf *b, const void *src, size_t n) {
    if (n) memcpy(gbuf_grow(b, n), src, n);
}

void put_u16le(uint8_t *dst, uint16_t v) {
    dst[0] = (uint8_t)v;
    dst[1] = (uint8_t)(v >> 8);
}

void put_u32le(uint8_t *dst, uint32_t v) {
    for (int i = 0; i < 4; i++) dst[i] = (uint8_t)(v >> (8 * i));
}

void gbuf_u16(gbuf *b, uint16_t v) { put_u16le(gbuf_grow(b, 2), v); }
void gbuf_u32(gbuf *b, uint32_t v) { put_u32le(gbuf_grow(b, 4), v); }

void gbuf_u64(gbuf *b, uint64_t v) {
    uint8_t *dst = gbuf_grow(b, 8);
    for (int i = 0; i < 8; i++) dst[i] = (uint8_t)(v >> (8 * i));
}

void gbuf_printf(gbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) gen_die("format error");
    char *dst = (char *)gbuf_grow(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(dst, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len--; /* drop the NUL */
}

void gbuf_pad(gbuf *b, size_t align) {
    size_t rem = b->len % align;
    if (rem) gbuf_grow(b, align - rem);
}

void gbuf_free(gbuf *b) {
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* ---- GGUF writer --------------------------------------------------------------------- */

/* A count or length: u64 in versions 2 and 3, u32 in version 1 (SPEC R-GGUF-005). */
static void put_count(const gguf_writer *w, gbuf *b, uint64_t n) {
    if (w->version == 1) {
        if (n > UINT32_MAX) gen_die("count %llu does not fit GGUF v1", (unsigned long long)n);
        gbuf_u32(b, (uint32_t)n);
    } else {
        gbuf_u64(b, n);
    }
}

static void put_str(const gguf_writer *w, gbuf *b, const char *s) {
    size_t n = strlen(s);
    put_count(w, b, n);
    gbuf_put(b, s, n);
}

/* Key and value type; the caller appends the value. */
static void kv_head(gguf_writer *w, const char *key, uint32_t type) {
    put_str(w, &w->kv, key);
    gbuf_u32(&w->kv, type);
    w->n_kv++;
}

void gw_init(gguf_writer *w, uint32_t alignment) {
    memset(w, 0, sizeof *w);
    if (alignment == 0 || (alignment & (alignment - 1))) gen_die("bad alignment %u", alignment);
    w->alignment = alignment;
    w->version = 3;
}

void gw_set_version(gguf_writer *w, uint32_t version) {
    if (version < 1 || version > 3) gen_die("bad GGUF version %u", version);
    if (w->n_kv || w->n_tensors) gen_die("gw_set_version after the first key or tensor");
    w->version = version;
}

void gw_kv_str(gguf_writer *w, const char *key, const char *value) {
    kv_head(w, key, GV_STRING);
    put_str(w, &w->kv, value);
}

void gw_kv_u32(gguf_writer *w, const char *key, uint32_t value) {
    kv_head(w, key, GV_U32);
    gbuf_u32(&w->kv, value);
}

void gw_kv_i32(gguf_writer *w, const char *key, int32_t value) {
    kv_head(w, key, GV_I32);
    gbuf_u32(&w->kv, (uint32_t)value);
}

void gw_kv_u64(gguf_writer *w, const char *key, uint64_t value) {
    kv_head(w, key, GV_U64);
    gbuf_u64(&w->kv, value);
}

void gw_kv_f32(gguf_writer *w, const char *key, float value) {
    kv_head(w, key, GV_F32);
    gbuf_u32(&w->kv, f32_bits(value));
}

void gw_kv_bool(gguf_writer *w, const char *key, bool value) {
    kv_head(w, key, GV_BOOL);
    *gbuf_grow(&w->kv, 1) = value ? 1 : 0;
}

static void array_head(gguf_writer *w, const char *key, uint32_t elem_type, size_t n) {
    kv_head(w, key, GV_ARRAY);
    gbuf_u32(&w->kv, elem_type);
    put_count(w, &w->kv, n);
}

void gw_kv_str_array(gguf_writer *w, const char *key, char *const *items, size_t n) {
    array_head(w, key, GV_STRING, n);
    for (size_t i = 0; i < n; i++) put_str(w, &w->kv, items[i]);
}

void gw_kv_f32_array(gguf_writer *w, const char *key, const float *values, size_t n) {
    array_head(w, key, GV_F32, n);
    for (size_t i = 0; i < n; i++) gbuf_u32(&w->kv, f32_bits(values[i]));
}

void gw_kv_i32_array(gguf_writer *w, const char *key, const int32_t *values, size_t n) {
    array_head(w, key, GV_I32, n);
    for (size_t i = 0; i < n; i++) gbuf_u32(&w->kv, (uint32_t)values[i]);
}

uint8_t *gw_tensor(gguf_writer *w, const char *name, uint32_t n_dims, const uint64_t *ne,
                   uint32_t type, size_t n_bytes) {
    put_str(w, &w->info, name);
    gbuf_u32(&w->info, n_dims);
    for (uint32_t i = 0; i < n_dims; i++) put_count(w, &w->info, ne[i]);
    gbuf_u32(&w->info, type);
    gbuf_u64(&w->info, w->data.len); /* aligned: every tensor is padded after its data */
    w->n_tensors++;
    size_t offset = w->data.len;
    gbuf_grow(&w->data, n_bytes);
    gbuf_pad(&w->data, w->alignment);
    return w->data.p + offset;
}

void gw_finish(gguf_writer *w, gbuf *out) {
    size_t start = out->len;
    gbuf_put(out, "GGUF", 4);
    gbuf_u32(out, w->version);
    put_count(w, out, w->n_tensors);
    put_count(w, out, w->n_kv);
    gbuf_put(out, w->kv.p, w->kv.len);
    gbuf_put(out, w->info.p, w->info.len);
    size_t rem = (out->len - start) % w->alignment;
    if (rem) gbuf_grow(out, w->alignment - rem);
    gbuf_put(out, w->data.p, w->data.len);
    gbuf_free(&w->kv);
    gbuf_free(&w->info);
    gbuf_free(&w->data);
}
