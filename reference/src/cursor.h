/*
 * cursor.h — the one bounds-checked reader of untrusted bytes (SPEC R-GGUF-002).
 *
 * Every byte the reference reads from a file goes through a gr_cursor: it knows the whole
 * input (base, size) and the next position, and every read first checks that the bytes are
 * there. A read that does not fit fails with GGUFREF_ERR_TRUNCATED and a message naming the
 * field, the item it belongs to ("kv 3", "tensor info 7") and the field's byte offset:
 *
 *     kv 3: file ends inside value type at offset 1234 (needs 4 bytes, 2 remain)
 *
 * Integers are loaded byte by byte as little-endian (no unaligned pointer casts, no
 * dependence on the host's byte order); compilers turn the loads into single moves.
 *
 *   base                         pos                       size
 *   |<-------- consumed -------->|<------ remaining ------>|
 */
#ifndef GGUFREF_CURSOR_H
#define GGUFREF_CURSOR_H

#include "internal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gr_cursor {
    const uint8_t *base; /* the whole input; never NULL (an empty input uses a static byte) */
    size_t size;         /* bytes in base */
    size_t pos;          /* next byte to read; invariant pos <= size */
    ggufref_error *err;  /* where failures are reported; NULL = status only */
    const char *item;    /* what is being read, for messages ("kv", "tensor info"); NULL = none */
    uint64_t index;      /* index of that item */
} gr_cursor;

/* Little-endian loads from p (any alignment). The caller has checked the bytes exist. */
static inline uint16_t gr_load_u16(const uint8_t *p) {
    return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}
static inline uint32_t gr_load_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t gr_load_u64(const uint8_t *p) {
    return (uint64_t)gr_load_u32(p) | (uint64_t)gr_load_u32(p + 4) << 32;
}

/* A cursor at the start of (base, size). base may be NULL only when size is 0. */
static inline void gr_cursor_init(gr_cursor *c, const void *base, size_t size,
                                  ggufref_error *err) {
    static const uint8_t empty[1] = {0};
    c->base = base != NULL ? (const uint8_t *)base : empty;
    c->size = base != NULL ? size : 0;
    c->pos = 0;
    c->err = err;
    c->item = NULL;
    c->index = 0;
}

/* Name the item that the following reads belong to (for messages); NULL clears it. */
static inline void gr_cursor_item(gr_cursor *c, const char *item, uint64_t index) {
    c->item = item;
    c->index = index;
}

static inline size_t gr_cursor_remaining(const gr_cursor *c) { return c->size - c->pos; }

/* TRUNCATED unless n bytes remain at the cursor; `field` names what was being read. Does
 * not move the cursor. */
static inline ggufref_status gr_cursor_need(gr_cursor *c, size_t n, const char *field) {
    if (n <= gr_cursor_remaining(c)) return GGUFREF_OK;
    if (c->item != NULL) {
        return gr_fail(c->err, GGUFREF_ERR_TRUNCATED, c->pos,
                       "%s %llu: file ends inside %s at offset %zu (needs %zu bytes, %zu remain)",
                       c->item, (unsigned long long)c->index, field, c->pos, n,
                       gr_cursor_remaining(c));
    }
    return gr_fail(c->err, GGUFREF_ERR_TRUNCATED, c->pos,
                   "file ends inside %s at offset %zu (needs %zu bytes, %zu remain)", field,
                   c->pos, n, gr_cursor_remaining(c));
}

/* Take n bytes. OUT: *out points at them (a view into base). TRUNCATED if they are not there. */
static inline ggufref_status gr_cursor_bytes(gr_cursor *c, size_t n, const char *field,
                                             const uint8_t **out) {
    ggufref_status st = gr_cursor_need(c, n, field);
    if (st != GGUFREF_OK) return st;
    *out = c->base + c->pos;
    c->pos += n;
    return GGUFREF_OK;
}

static inline ggufref_status gr_cursor_skip(gr_cursor *c, size_t n, const char *field) {
    const uint8_t *ignored;
    return gr_cursor_bytes(c, n, field, &ignored);
}

/* Fixed-width little-endian reads. OUT: *out. */
static inline ggufref_status gr_cursor_u32(gr_cursor *c, const char *field, uint32_t *out) {
    const uint8_t *p;
    ggufref_status st = gr_cursor_bytes(c, 4, field, &p);
    if (st == GGUFREF_OK) *out = gr_load_u32(p);
    return st;
}
static inline ggufref_status gr_cursor_u64(gr_cursor *c, const char *field, uint64_t *out) {
    const uint8_t *p;
    ggufref_status st = gr_cursor_bytes(c, 8, field, &p);
    if (st == GGUFREF_OK) *out = gr_load_u64(p);
    return st;
}

/* A count, length or dimension: u64, or u32 when `narrow` (GGUF version 1). OUT: *out. */
static inline ggufref_status gr_cursor_count(gr_cursor *c, bool narrow, const char *field,
                                             uint64_t *out) {
    if (!narrow) return gr_cursor_u64(c, field, out);
    uint32_t v = 0;
    ggufref_status st = gr_cursor_u32(c, field, &v);
    if (st == GGUFREF_OK) *out = v;
    return st;
}

#endif /* GGUFREF_CURSOR_H */
