/*
 * gguf_parse.c — fuzz target: bytes to the GGUF reader (SPEC chapter 2).
 *
 * Opens the input with ggufref_gguf_open_memory. A rejection must carry a proper error
 * (status, message, offset inside the input) and leave *out NULL. An accepted file is walked
 * through every accessor of the public header — header fields, every key with every typed
 * getter, every array with the iterators, every tensor (bounds, sizes, lookup by name) and the
 * decoder on the first and last blocks of every decodable tensor — checking that each view lies inside the input and
 * that "validated at open" holds: afterwards accessors cannot fail. Every input is also opened
 * a second time with one of the first open's allocations failing (chosen by the input's hash):
 * that must be a clean OUT_OF_MEMORY (R-GGUF-006).
 */
#include "fuzz.h"

/* Elements decoded per call: a multiple of every block size (1, 32, 256). */
#define FZ_DECODE_CHUNK 256u

/* Is the view free of NUL bytes (so it can be looked up through a C-string API)? */
static bool no_nul(ggufref_str s) { return s.len == 0 || memchr(s.ptr, '\0', s.len) == NULL; }

/* Copy a view into a NUL-terminated heap string (NULL on allocation failure). */
static char *dup_str(ggufref_str s) {
    char *c = malloc(s.len + 1);
    if (c == NULL) return NULL;
    if (s.len > 0) memcpy(c, s.ptr, s.len);
    c[s.len] = '\0';
    return c;
}

/* The value as a signed/unsigned pair via the typed getter of its own type; false if t is not
 * an integer type. OUT: *neg (value < 0), *mag (the value when !neg). */
static bool typed_integer(const ggufref_gguf *g, uint64_t kv, ggufref_value_type t, bool *neg,
                          uint64_t *mag) {
    ggufref_status st = GGUFREF_ERR_BAD_VALUE_TYPE;
    int64_t s = 0;
    uint64_t u = 0;
    bool is_signed = false;
    switch (t) {
    case GGUFREF_TYPE_UINT8: { uint8_t v; st = ggufref_gguf_get_u8(g, kv, &v); u = v; break; }
    case GGUFREF_TYPE_UINT16: { uint16_t v; st = ggufref_gguf_get_u16(g, kv, &v); u = v; break; }
    case GGUFREF_TYPE_UINT32: { uint32_t v; st = ggufref_gguf_get_u32(g, kv, &v); u = v; break; }
    case GGUFREF_TYPE_UINT64: { st = ggufref_gguf_get_u64(g, kv, &u); break; }
    case GGUFREF_TYPE_INT8: { int8_t v; st = ggufref_gguf_get_i8(g, kv, &v); s = v; is_signed = true; break; }
    case GGUFREF_TYPE_INT16: { int16_t v; st = ggufref_gguf_get_i16(g, kv, &v); s = v; is_signed = true; break; }
    case GGUFREF_TYPE_INT32: { int32_t v; st = ggufref_gguf_get_i32(g, kv, &v); s = v; is_signed = true; break; }
    case GGUFREF_TYPE_INT64: { st = ggufref_gguf_get_i64(g, kv, &s); is_signed = true; break; }
    default: return false;
    }
    FZ_CHECK(st == GGUFREF_OK, "getter of the key's own type %d failed: %d", (int)t, (int)st);
    *neg = is_signed && s < 0;
    *mag = is_signed ? (uint64_t)(s < 0 ? 0 : s) : u;
    return true;
}

/* Every typed getter must succeed exactly for the key's own type (R-GGUF typed access). */
static void check_scalar_getters(const ggufref_gguf *g, uint64_t kv, ggufref_value_type t) {
    uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32;
    uint64_t u64; int64_t i64; float f32; double f64; bool b; ggufref_str s; ggufref_array a;
    struct { ggufref_value_type type; ggufref_status st; } r[] = {
        {GGUFREF_TYPE_UINT8, ggufref_gguf_get_u8(g, kv, &u8)},
        {GGUFREF_TYPE_INT8, ggufref_gguf_get_i8(g, kv, &i8)},
        {GGUFREF_TYPE_UINT16, ggufref_gguf_get_u16(g, kv, &u16)},
        {GGUFREF_TYPE_INT16, ggufref_gguf_get_i16(g, kv, &i16)},
        {GGUFREF_TYPE_UINT32, ggufref_gguf_get_u32(g, kv, &u32)},
        {GGUFREF_TYPE_INT32, ggufref_gguf_get_i32(g, kv, &i32)},
        {GGUFREF_TYPE_UINT64, ggufref_gguf_get_u64(g, kv, &u64)},
        {GGUFREF_TYPE_INT64, ggufref_gguf_get_i64(g, kv, &i64)},
        {GGUFREF_TYPE_FLOAT32, ggufref_gguf_get_f32(g, kv, &f32)},
        {GGUFREF_TYPE_FLOAT64, ggufref_gguf_get_f64(g, kv, &f64)},
        {GGUFREF_TYPE_BOOL, ggufref_gguf_get_bool(g, kv, &b)},
        {GGUFREF_TYPE_STRING, ggufref_gguf_get_str(g, kv, &s)},
        {GGUFREF_TYPE_ARRAY, ggufref_gguf_get_array(g, kv, &a)},
    };
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
        if (r[i].type == t) {
            FZ_CHECK(r[i].st == GGUFREF_OK, "kv %llu: getter for its own type %s failed: %s",
                     (unsigned long long)kv, ggufref_value_type_name(t),
                     ggufref_status_name(r[i].st));
        } else {
            FZ_CHECK(r[i].st == GGUFREF_ERR_BAD_VALUE_TYPE,
                     "kv %llu of type %s: getter for %s returned %s", (unsigned long long)kv,
                     ggufref_value_type_name(t), ggufref_value_type_name(r[i].type),
                     ggufref_status_name(r[i].st));
        }
    }
}

/* get_uint: the value for non-negative integers, BAD_VALUE for negative, BAD_VALUE_TYPE for
 * anything that is not an integer. */
static void check_get_uint(const ggufref_gguf *g, uint64_t kv, ggufref_value_type t) {
    uint64_t u = 0, mag = 0;
    bool neg = false;
    ggufref_status st = ggufref_gguf_get_uint(g, kv, &u);
    if (!typed_integer(g, kv, t, &neg, &mag)) {
        FZ_CHECK(st == GGUFREF_ERR_BAD_VALUE_TYPE, "get_uint on %s: %s",
                 ggufref_value_type_name(t), ggufref_status_name(st));
    } else if (neg) {
        FZ_CHECK(st == GGUFREF_ERR_BAD_VALUE, "get_uint on a negative value: %s",
                 ggufref_status_name(st));
    } else {
        FZ_CHECK(st == GGUFREF_OK && u == mag, "get_uint: %s, %llu vs %llu",
                 ggufref_status_name(st), (unsigned long long)u, (unsigned long long)mag);
    }
}

/* Walk an array with the iterators, nested arrays recursively (depth <= the named limit);
 * every view inside the file, exactly count elements. */
static void check_array(const ggufref_array *a, const uint8_t *data, size_t size, uint32_t depth) {
    FZ_CHECK(depth <= GGUFREF_MAX_ARRAY_DEPTH, "array nesting %u accepted", depth);
    FZ_CHECK(a->elem_type < GGUFREF_VALUE_TYPE_COUNT, "elem_type %d", (int)a->elem_type);
    FZ_CHECK(fz_within(a->data, a->size, data, size) || (a->size == 0),
             "array bytes outside the file");
    ggufref_array_iter it;
    ggufref_array_iter_init(&it, a);
    size_t esize = ggufref_value_type_size(a->elem_type);
    if (a->elem_type == GGUFREF_TYPE_STRING) {
        ggufref_str s;
        float f;
        ggufref_array_iter probe;
        ggufref_array_iter_init(&probe, a);
        FZ_CHECK(!ggufref_array_next_f32(&probe, &f), "next_f32 on a string array");
        for (uint64_t j = 0; j < a->count; j++) {
            FZ_CHECK(ggufref_array_next_str(&it, &s), "string %llu of %llu missing",
                     (unsigned long long)j, (unsigned long long)a->count);
            FZ_CHECK(fz_within(s.ptr, s.len, data, size), "string element outside the file");
            fz_consume(fz_touch_bytes(s.ptr, s.len));
        }
        FZ_CHECK(!ggufref_array_next_str(&it, &s), "iterator not exhausted after count");
    } else if (esize > 0) {
        FZ_CHECK(a->size / esize == a->count && a->size % esize == 0,
                 "array size %zu for %llu elements of %zu bytes", a->size,
                 (unsigned long long)a->count, esize);
        uint8_t raw[8];
        for (uint64_t j = 0; j < a->count; j++) {
            FZ_CHECK(ggufref_array_get_raw(a, j, raw), "get_raw %llu", (unsigned long long)j);
            fz_consume(fz_touch_bytes(raw, esize));
        }
        FZ_CHECK(!ggufref_array_get_raw(a, a->count, raw), "get_raw past count");
        if (a->elem_type == GGUFREF_TYPE_FLOAT32) {
            float f;
            for (uint64_t j = 0; j < a->count; j++) {
                FZ_CHECK(ggufref_array_next_f32(&it, &f), "f32 element %llu", (unsigned long long)j);
            }
            FZ_CHECK(!ggufref_array_next_f32(&it, &f), "f32 iterator not exhausted");
        } else if (a->elem_type == GGUFREF_TYPE_INT32) {
            int32_t v;
            for (uint64_t j = 0; j < a->count; j++) {
                FZ_CHECK(ggufref_array_next_i32(&it, &v), "i32 element %llu", (unsigned long long)j);
            }
            FZ_CHECK(!ggufref_array_next_i32(&it, &v), "i32 iterator not exhausted");
        } else {
            ggufref_str s;
            FZ_CHECK(a->count == 0 || !ggufref_array_next_str(&it, &s), "next_str on numbers");
        }
    } else if (a->elem_type == GGUFREF_TYPE_ARRAY) {
        ggufref_array inner;
        for (uint64_t j = 0; j < a->count; j++) {
            FZ_CHECK(ggufref_array_next_array(&it, &inner), "nested array %llu missing",
                     (unsigned long long)j);
            FZ_CHECK(fz_within(inner.data, inner.size, a->data, a->size),
                     "nested array outside its parent");
            check_array(&inner, data, size, depth + 1);
        }
        FZ_CHECK(!ggufref_array_next_array(&it, &inner), "nested iterator not exhausted");
    }
}

static void check_kv(const ggufref_gguf *g, uint64_t kv, const uint8_t *data, size_t size) {
    ggufref_str key = ggufref_gguf_key(g, kv);
    FZ_CHECK(key.len > 0, "empty key accepted");
    FZ_CHECK(fz_within(key.ptr, key.len, data, size), "key outside the file");
    if (no_nul(key)) {
        char *c = dup_str(key);
        if (c != NULL) {
            int64_t found = ggufref_gguf_find_key(g, c);
            FZ_CHECK(found == (int64_t)kv, "find_key('%s') = %lld, expected %llu", c,
                     (long long)found, (unsigned long long)kv);
            free(c);
        }
    }
    ggufref_value_type t = ggufref_gguf_kv_type(g, kv);
    FZ_CHECK(t < GGUFREF_VALUE_TYPE_COUNT, "kv type %d", (int)t);
    check_scalar_getters(g, kv, t);
    check_get_uint(g, kv, t);
    if (t == GGUFREF_TYPE_STRING) {
        ggufref_str s;
        FZ_CHECK(ggufref_gguf_get_str(g, kv, &s) == GGUFREF_OK, "get_str");
        FZ_CHECK(fz_within(s.ptr, s.len, data, size), "string value outside the file");
        fz_consume(fz_touch_bytes(s.ptr, s.len));
    } else if (t == GGUFREF_TYPE_ARRAY) {
        ggufref_array a;
        FZ_CHECK(ggufref_gguf_get_array(g, kv, &a) == GGUFREF_OK, "get_array");
        check_array(&a, data, size, 1);
    }
}

/* Decode a tensor's first and last blocks (up to FZ_DECODE_CHUNK elements each): every
 * decoder reads exactly its blocks (ASan checks the ends), at a cost independent of the
 * tensor's size so that big tensors do not slow the fuzzer down. */
static void decode_tensor(const ggufref_tensor *t, const ggufref_type_info *info) {
    float out[FZ_DECODE_CHUNK];
    size_t n = t->n_elements < FZ_DECODE_CHUNK ? (size_t)t->n_elements : FZ_DECODE_CHUNK;
    ggufref_status st = ggufref_dequantize(t->type, t->data, out, n);
    FZ_CHECK(st == GGUFREF_OK, "dequantize %s of %zu elements: %s", info->name, n,
             ggufref_status_name(st));
    fz_consume(fz_touch_f32(out, n));
    if (t->n_elements > n) {
        uint64_t last = t->n_bytes - (uint64_t)(n / info->block_size) * info->type_size;
        st = ggufref_dequantize(t->type, t->data + last, out, n);
        FZ_CHECK(st == GGUFREF_OK, "dequantize the last %zu elements: %s", n,
                 ggufref_status_name(st));
        fz_consume(fz_touch_f32(out, n));
    }
}

static void check_tensor(const ggufref_gguf *g, uint64_t i, const uint8_t *data, size_t size) {
    ggufref_tensor t;
    ggufref_status st = ggufref_gguf_tensor(g, i, &t);
    FZ_CHECK(st == GGUFREF_OK, "tensor %llu: %s", (unsigned long long)i, ggufref_status_name(st));
    FZ_CHECK(t.name.len < GGUFREF_MAX_TENSOR_NAME_LEN, "tensor name of %zu bytes", t.name.len);
    FZ_CHECK(fz_within(t.name.ptr, t.name.len, data, size), "tensor name outside the file");
    FZ_CHECK(t.n_dims <= GGUFREF_MAX_DIMS, "n_dims %u", t.n_dims);
    uint64_t n = 1;
    for (uint32_t d = 0; d < GGUFREF_MAX_DIMS; d++) {
        if (d >= t.n_dims) FZ_CHECK(t.ne[d] == 1, "unused ne[%u] = %llu", d, (unsigned long long)t.ne[d]);
        FZ_CHECK(t.ne[d] == 0 || n <= UINT64_MAX / t.ne[d], "element count overflows");
        n *= t.ne[d];
    }
    FZ_CHECK(n == t.n_elements, "n_elements %llu, product %llu",
             (unsigned long long)t.n_elements, (unsigned long long)n);
    const ggufref_type_info *info = ggufref_type_info_get(t.type);
    FZ_CHECK(info != NULL, "unknown tensor type %u accepted", t.type);
    FZ_CHECK(info->block_size > 0 && t.ne[0] % info->block_size == 0,
             "ne[0] %llu not a multiple of the block size %u", (unsigned long long)t.ne[0],
             info->block_size);
    FZ_CHECK(t.n_bytes == t.n_elements / info->block_size * info->type_size,
             "n_bytes %llu for %llu elements of %s", (unsigned long long)t.n_bytes,
             (unsigned long long)t.n_elements, info->name);
    FZ_CHECK(t.offset % ggufref_gguf_alignment(g) == 0, "tensor offset unaligned");
    FZ_CHECK(t.data != NULL && t.n_bytes > 0, "tensor without bytes (R-GGUF-022)");
    {
        const uint8_t *section = data + ggufref_gguf_data_offset(g);
        FZ_CHECK(t.data == section + t.offset, "tensor data not at data_offset + offset");
        FZ_CHECK(t.n_bytes <= SIZE_MAX && fz_within(t.data, (size_t)t.n_bytes, data, size),
                 "tensor bytes outside the file");
        if (info->can_decode) decode_tensor(&t, info);
    }
    if (no_nul(t.name) && t.name.len > 0) {
        char *c = dup_str(t.name);
        if (c != NULL) {
            int64_t found = ggufref_gguf_find_tensor(g, c);
            FZ_CHECK(found == (int64_t)i, "find_tensor('%s') = %lld, expected %llu", c,
                     (long long)found, (unsigned long long)i);
            free(c);
        }
    }
}

/* R-GGUF-006: the same open with one of its n_allocs allocations failing is OUT_OF_MEMORY,
 * offset UINT64_MAX, *out NULL, nothing leaked (the replay main and LeakSanitizer check). */
static void check_open_oom(const uint8_t *data, size_t size, uint64_t n_allocs) {
    if (!fz_arm_alloc_failure(data, size, n_allocs)) return;
    ggufref_gguf *g = (ggufref_gguf *)&g;
    ggufref_error err;
    ggufref_status st = ggufref_gguf_open_memory(data, size, &g, &err);
    bool fired = ggufref_fault_alloc_fired();
    ggufref_fault_alloc_fail_at(0);
    FZ_CHECK(fired && st == GGUFREF_ERR_OUT_OF_MEMORY && g == NULL,
             "open with a failing allocation: %s (fired %d)", ggufref_status_name(st), (int)fired);
    fz_check_error(st, &err, size);
    FZ_CHECK(err.offset == UINT64_MAX, "OUT_OF_MEMORY at offset %llu",
             (unsigned long long)err.offset);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ggufref_gguf *g = (ggufref_gguf *)&g; /* a non-NULL sentinel: failure must reset it */
    ggufref_error err;
    ggufref_fault_alloc_fail_at(0); /* counts this open's allocations */
    ggufref_status st = ggufref_gguf_open_memory(data, size, &g, &err);
    check_open_oom(data, size, ggufref_fault_alloc_count());
    if (st != GGUFREF_OK) {
        FZ_CHECK(g == NULL, "*out not NULL after %s", ggufref_status_name(st));
        fz_check_error(st, &err, size);
        return 0;
    }
    FZ_CHECK(g != NULL, "OK without a handle");
    uint32_t version = ggufref_gguf_version(g);
    FZ_CHECK(version >= 1 && version <= 3, "version %u accepted", version);
    uint32_t align = ggufref_gguf_alignment(g);
    FZ_CHECK(align > 0 && (align & (align - 1)) == 0 && align <= GGUFREF_MAX_ALIGNMENT,
             "alignment %u", align);
    FZ_CHECK(ggufref_gguf_data_offset(g) % align == 0, "data offset unaligned");
    FZ_CHECK(ggufref_gguf_size(g) == size && ggufref_gguf_bytes(g) == data,
             "size/bytes do not describe the input");
    uint64_t n_kv = ggufref_gguf_n_kv(g), n_tensors = ggufref_gguf_n_tensors(g);
    FZ_CHECK(n_kv <= size && n_tensors <= size, "more entries than bytes");
    for (uint64_t kv = 0; kv < n_kv; kv++) check_kv(g, kv, data, size);
    for (uint64_t i = 0; i < n_tensors; i++) check_tensor(g, i, data, size);
    FZ_CHECK(ggufref_gguf_find_key(g, "") == -1, "the empty key was found");
    /* Indexes past the end are caller errors with defined answers, not crashes. */
    uint8_t u8;
    ggufref_tensor t;
    FZ_CHECK(ggufref_gguf_key(g, n_kv).len == 0, "key past n_kv");
    FZ_CHECK(ggufref_gguf_kv_type(g, n_kv) == GGUFREF_VALUE_TYPE_COUNT, "kv_type past n_kv");
    FZ_CHECK(ggufref_gguf_get_u8(g, n_kv, &u8) == GGUFREF_ERR_INVALID_ARGUMENT, "get past n_kv");
    FZ_CHECK(ggufref_gguf_tensor(g, n_tensors, &t) == GGUFREF_ERR_INVALID_ARGUMENT,
             "tensor past n_tensors");
    ggufref_gguf_close(g);
    return 0;
}
