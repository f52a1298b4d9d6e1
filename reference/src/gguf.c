/*
 * gguf.c — the GGUF reader (SPEC chapter 2, R-GGUF-*).
 *
 * ggufref_gguf_open_memory parses and validates a whole file in one pass over its metadata:
 *
 *   header    magic, version, n_tensors, n_kv           parse_header
 *   kv[]      key, value type, value (arrays walked)     parse_kv, walk_value
 *             duplicate keys                             check_unique_keys
 *   tensor[]  name, dims, type, offset                   parse_tensor_info
 *             duplicate names                            check_unique_tensors
 *   data      aligned start, contiguous tensors          place_tensors
 *
 * After a successful open every accessor is a lookup that cannot fail on file data. Nothing is
 * copied: keys, strings, arrays and tensor data are views into the caller's bytes. Work and
 * memory are O(metadata): the data section is never read, fixed-size arrays are skipped in
 * O(1), and every table is allocated only after its count has been checked against the bytes
 * that remain (each entry has a minimum encoded size).
 */
#define _POSIX_C_SOURCE 200809L /* open, fstat, fdopen, strerror_r */

#include "gguf.h"

#include "cursor.h"
#include "fault.h"
#include "internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------- */
/* Value types                                                                            */
/* ------------------------------------------------------------------------------------- */

/* Bytes of a fixed-size value; 0 for STRING and ARRAY (variable size). */
static const uint8_t fixed_size[GGUFREF_VALUE_TYPE_COUNT] = {
    [GGUFREF_TYPE_UINT8] = 1,   [GGUFREF_TYPE_INT8] = 1,    [GGUFREF_TYPE_UINT16] = 2,
    [GGUFREF_TYPE_INT16] = 2,   [GGUFREF_TYPE_UINT32] = 4,  [GGUFREF_TYPE_INT32] = 4,
    [GGUFREF_TYPE_FLOAT32] = 4, [GGUFREF_TYPE_BOOL] = 1,    [GGUFREF_TYPE_STRING] = 0,
    [GGUFREF_TYPE_ARRAY] = 0,   [GGUFREF_TYPE_UINT64] = 8,  [GGUFREF_TYPE_INT64] = 8,
    [GGUFREF_TYPE_FLOAT64] = 8,
};

static const char *const value_type_names[GGUFREF_VALUE_TYPE_COUNT] = {
    "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "str", "arr", "u64", "i64", "f64",
};

size_t ggufref_value_type_size(ggufref_value_type type) {
    if ((unsigned)type >= GGUFREF_VALUE_TYPE_COUNT) return 0;
    return fixed_size[type];
}

const char *ggufref_value_type_name(ggufref_value_type type) {
    if ((unsigned)type >= GGUFREF_VALUE_TYPE_COUNT) return "unknown";
    return value_type_names[type];
}

/* Bytes of a count / length field: u32 in version 1, u64 after (R-GGUF-005). */
static size_t count_width(bool narrow) { return narrow ? 4 : 8; }

/* The fewest bytes a value of `type` can take: the floor used to check counts (R-GGUF-011). */
static size_t min_value_size(ggufref_value_type type, bool narrow) {
    if (type == GGUFREF_TYPE_STRING) return count_width(narrow);
    if (type == GGUFREF_TYPE_ARRAY) return 4 + count_width(narrow);
    return fixed_size[type];
}

/* Fewest bytes of one kv (key of >= 1 byte, value type, 1-byte value) and of one tensor info
 * (name of >= 1 byte, n_dims, one dimension, type, offset). */
static size_t min_kv_size(bool narrow) { return count_width(narrow) + 1 + 4 + 1; }
static size_t min_tensor_info_size(bool narrow) {
    return count_width(narrow) + 1 + 4 + count_width(narrow) + 4 + 8;
}

/* ------------------------------------------------------------------------------------- */
/* The parsed file                                                                        */
/* ------------------------------------------------------------------------------------- */

typedef struct gr_kv {
    ggufref_str key;          /* view into the file */
    ggufref_value_type type;
    size_t pos;               /* offset of the kv (its key length field) */
    size_t value_pos;         /* offset of the value's first byte */
    size_t value_size;        /* bytes of the value */
} gr_kv;

typedef struct gr_tensor_entry {
    ggufref_tensor t;         /* data is set by place_tensors */
    size_t pos;               /* offset of the tensor info */
    size_t offset_pos;        /* offset of its offset field */
} gr_tensor_entry;

/* A name and the index of its entry: sorted by (bytes, index) for duplicate checks and
 * O(log n) lookups. */
typedef struct gr_name {
    const char *ptr;
    size_t len;
    size_t index;
} gr_name;

struct ggufref_gguf {
    const uint8_t *bytes;     /* the whole file (borrowed, or `owned` below) */
    size_t size;
    uint32_t version;
    uint32_t alignment;
    uint64_t n_kv;
    uint64_t n_tensors;
    uint64_t data_offset;     /* may exceed size when the data section is empty */
    gr_kv *kvs;               /* [n_kv], file order */
    gr_tensor_entry *tensors; /* [n_tensors], file order */
    gr_name *kv_names;        /* [n_kv], sorted */
    gr_name *tensor_names;    /* [n_tensors], sorted */
    uint8_t *owned;           /* the file's bytes read by open_file (owned), else NULL */
};

typedef struct parser {
    gr_cursor cur;
    bool narrow;              /* version 1: u32 counts, lengths and dims */
} parser;

/* ------------------------------------------------------------------------------------- */
/* Messages                                                                               */
/* ------------------------------------------------------------------------------------- */

/* Fail with a message prefixed by the item being read ("kv 3: ..."). Returns status. */
static ggufref_status fail(parser *p, ggufref_status status, uint64_t offset, const char *fmt,
                           ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static ggufref_status fail(parser *p, ggufref_status status, uint64_t offset, const char *fmt,
                           ...) {
    char text[GGUFREF_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (p->cur.item == NULL) return gr_fail(p->cur.err, status, offset, "%s", text);
    return gr_fail(p->cur.err, status, offset, "%s %llu: %s", p->cur.item,
                   (unsigned long long)p->cur.index, text);
}

/* ------------------------------------------------------------------------------------- */
/* Strings and values                                                                     */
/* ------------------------------------------------------------------------------------- */

/* Read a string of at most `limit` bytes (R-GGUF-010). OUT: *out views the bytes.
 * BAD_STRING past the limit, TRUNCATED if the bytes are not there. */
static ggufref_status read_string(parser *p, const char *field, uint64_t limit,
                                  ggufref_str *out) {
    size_t at = p->cur.pos;
    uint64_t len = 0;
    ggufref_status st = gr_cursor_count(&p->cur, p->narrow, field, &len);
    if (st != GGUFREF_OK) return st;
    if (len > limit) {
        return fail(p, GGUFREF_ERR_BAD_STRING, at,
                    "%s at offset %zu has length %llu, past the limit of %llu bytes", field, at,
                    (unsigned long long)len, (unsigned long long)limit);
    }
    const uint8_t *bytes = NULL;
    st = gr_cursor_bytes(&p->cur, (size_t)len, field, &bytes);
    if (st != GGUFREF_OK) return st;
    out->ptr = (const char *)bytes;
    out->len = (size_t)len;
    return GGUFREF_OK;
}

/* Check n bools at the cursor are 0 or 1 (R-GGUF-014) and skip them. */
static ggufref_status skip_bools(parser *p, size_t n, const char *field) {
    const uint8_t *b = NULL;
    size_t at = p->cur.pos;
    ggufref_status st = gr_cursor_bytes(&p->cur, n, field, &b);
    if (st != GGUFREF_OK) return st;
    for (size_t i = 0; i < n; i++) {
        if (b[i] > 1) {
            return fail(p, GGUFREF_ERR_BAD_VALUE, at + i, "%s at offset %zu is %u, not 0 or 1",
                        field, at + i, b[i]);
        }
    }
    return GGUFREF_OK;
}

/* Skip one value that is not an array. */
static ggufref_status skip_scalar(parser *p, ggufref_value_type type, const char *field) {
    if (type == GGUFREF_TYPE_STRING) {
        ggufref_str ignored;
        return read_string(p, field, GGUFREF_MAX_STRING_LEN, &ignored);
    }
    if (type == GGUFREF_TYPE_BOOL) return skip_bools(p, 1, field);
    return gr_cursor_skip(&p->cur, fixed_size[type], field);
}

/* One open array on the walk stack: its element type and elements not yet walked. */
typedef struct array_frame {
    ggufref_value_type elem;
    uint64_t left;
} array_frame;

/* Read an array header at nesting level *depth + 1 (R-GGUF-012, R-GGUF-013). Arrays of
 * fixed-size elements are checked and skipped at once; arrays of strings or arrays are pushed
 * on the stack for walk_value to walk element by element. */
static ggufref_status open_array(parser *p, array_frame stack[GGUFREF_MAX_ARRAY_DEPTH],
                                 size_t *depth) {
    size_t at = p->cur.pos;
    if (*depth >= GGUFREF_MAX_ARRAY_DEPTH) {
        return fail(p, GGUFREF_ERR_LIMIT_EXCEEDED, at,
                    "array at offset %zu is nested %zu levels deep, past the limit of %u", at,
                    *depth + 1, GGUFREF_MAX_ARRAY_DEPTH);
    }
    uint32_t elem = 0;
    ggufref_status st = gr_cursor_u32(&p->cur, "array element type", &elem);
    if (st != GGUFREF_OK) return st;
    if (elem >= GGUFREF_VALUE_TYPE_COUNT) {
        return fail(p, GGUFREF_ERR_BAD_VALUE_TYPE, at,
                    "array element type %u at offset %zu is out of range (0..12)", elem, at);
    }
    size_t count_at = p->cur.pos;
    uint64_t count = 0;
    st = gr_cursor_count(&p->cur, p->narrow, "array count", &count);
    if (st != GGUFREF_OK) return st;
    size_t min = min_value_size((ggufref_value_type)elem, p->narrow);
    size_t remaining = gr_cursor_remaining(&p->cur);
    if (count > remaining / min) {
        return fail(p, GGUFREF_ERR_TRUNCATED, count_at,
                    "array count %llu at offset %zu: %llu %s elements need at least %zu bytes "
                    "each, only %zu bytes remain",
                    (unsigned long long)count, count_at, (unsigned long long)count,
                    value_type_names[elem], min, remaining);
    }
    if (fixed_size[elem] != 0) {
        size_t n_bytes = (size_t)count * fixed_size[elem]; /* <= remaining: cannot overflow */
        if (elem == GGUFREF_TYPE_BOOL) return skip_bools(p, n_bytes, "bool array element");
        return gr_cursor_skip(&p->cur, n_bytes, "array elements");
    }
    stack[*depth].elem = (ggufref_value_type)elem;
    stack[*depth].left = count;
    (*depth)++;
    return GGUFREF_OK;
}

/* Check and skip one value of `type` at the cursor. Arrays are walked with an explicit stack
 * of at most GGUFREF_MAX_ARRAY_DEPTH frames: no recursion depth depends on the file. Work is
 * proportional to the bytes walked (every string or nested array takes >= 4 bytes). */
static ggufref_status walk_value(parser *p, ggufref_value_type type) {
    if (type != GGUFREF_TYPE_ARRAY) return skip_scalar(p, type, "value");
    array_frame stack[GGUFREF_MAX_ARRAY_DEPTH];
    size_t depth = 0;
    ggufref_status st = open_array(p, stack, &depth);
    while (st == GGUFREF_OK && depth > 0) {
        array_frame *top = &stack[depth - 1];
        if (top->left == 0) {
            depth--;
            continue;
        }
        top->left--;
        if (top->elem == GGUFREF_TYPE_STRING) {
            st = skip_scalar(p, GGUFREF_TYPE_STRING, "string array element");
        } else {
            st = open_array(p, stack, &depth);
        }
    }
    return st;
}

/* ------------------------------------------------------------------------------------- */
/* Header and metadata                                                                    */
/* ------------------------------------------------------------------------------------- */

/* a + b without wrapping: false (and *out untouched) on overflow. */
static bool gr_add_u64(uint64_t a, uint64_t b, uint64_t *out) {
    if (b > UINT64_MAX - a) return false;
    *out = a + b;
    return true;
}

static uint32_t bswap32(uint32_t v) {
    return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
}

/* Magic and version (R-GGUF-003, R-GGUF-004). */
static ggufref_status parse_magic_version(parser *p, uint32_t *version /* OUT */) {
    static const char magic[4] = {'G', 'G', 'U', 'F'};
    static const char swapped[4] = {'F', 'U', 'G', 'G'};
    size_t have = gr_cursor_remaining(&p->cur) < 4 ? gr_cursor_remaining(&p->cur) : 4;
    if (have == 0 && p->cur.size == 0) {
        return fail(p, GGUFREF_ERR_TRUNCATED, 0, "file is empty (0 bytes): no magic");
    }
    if (memcmp(p->cur.base, magic, have) != 0) {
        if (have == 4 && memcmp(p->cur.base, swapped, 4) == 0) {
            return fail(p, GGUFREF_ERR_BYTE_SWAPPED, 0,
                        "magic at offset 0 reads 'FUGG': a big-endian GGUF file");
        }
        char q[GR_QUOTE_MAX];
        return fail(p, GGUFREF_ERR_BAD_MAGIC, 0, "magic at offset 0 is '%s', not 'GGUF'",
                    gr_quote(q, (const char *)p->cur.base, have));
    }
    ggufref_status st = gr_cursor_skip(&p->cur, 4, "magic");
    if (st != GGUFREF_OK) return st;
    st = gr_cursor_u32(&p->cur, "version", version);
    if (st != GGUFREF_OK) return st;
    if (*version >= 1 && *version <= 3) return GGUFREF_OK;
    uint32_t swapped_version = bswap32(*version);
    if (swapped_version >= 1 && swapped_version <= 3) {
        return fail(p, GGUFREF_ERR_BYTE_SWAPPED, 4,
                    "version at offset 4 reads 0x%08x, which is %u byte-swapped: a big-endian "
                    "GGUF file",
                    *version, swapped_version);
    }
    return fail(p, GGUFREF_ERR_UNSUPPORTED_VERSION, 4,
                "version at offset 4 is %u; supported versions are 1, 2 and 3", *version);
}

/* general.alignment: u32, a power of two in [8, GGUFREF_MAX_ALIGNMENT] (R-GGUF-020). */
static ggufref_status check_alignment(parser *p, const gr_kv *kv, size_t type_pos,
                                      uint32_t *alignment /* OUT */) {
    if (kv->type != GGUFREF_TYPE_UINT32) {
        return fail(p, GGUFREF_ERR_BAD_ALIGNMENT, type_pos,
                    "general.alignment has type %s at offset %zu; it must be u32",
                    ggufref_value_type_name(kv->type), type_pos);
    }
    uint32_t v = gr_load_u32(p->cur.base + kv->value_pos);
    const char *why = NULL;
    if (v == 0 || (v & (v - 1)) != 0) {
        why = "is not a nonzero power of two";
    } else if (v < 8) {
        why = "is below 8";
    } else if (v > GGUFREF_MAX_ALIGNMENT) {
        why = "is past the limit of 2^30";
    }
    if (why != NULL) {
        return fail(p, GGUFREF_ERR_BAD_ALIGNMENT, kv->value_pos,
                    "general.alignment %u at offset %zu %s", v, kv->value_pos, why);
    }
    *alignment = v;
    return GGUFREF_OK;
}

/* One kv: key, value type, value (R-GGUF-010..015). */
static ggufref_status parse_kv(parser *p, gr_kv *kv, uint32_t *alignment /* OUT */) {
    kv->pos = p->cur.pos;
    ggufref_status st = read_string(p, "key", GGUFREF_MAX_KEY_LEN, &kv->key);
    if (st != GGUFREF_OK) return st;
    if (kv->key.len == 0) {
        return fail(p, GGUFREF_ERR_BAD_STRING, kv->pos, "empty key at offset %zu", kv->pos);
    }
    size_t type_pos = p->cur.pos;
    uint32_t type = 0;
    st = gr_cursor_u32(&p->cur, "value type", &type);
    if (st != GGUFREF_OK) return st;
    char q[GR_QUOTE_MAX];
    if (type >= GGUFREF_VALUE_TYPE_COUNT) {
        return fail(p, GGUFREF_ERR_BAD_VALUE_TYPE, type_pos,
                    "key '%s': value type %u at offset %zu is out of range (0..12)",
                    gr_quote(q, kv->key.ptr, kv->key.len), type, type_pos);
    }
    kv->type = (ggufref_value_type)type;
    kv->value_pos = p->cur.pos;
    st = walk_value(p, kv->type);
    if (st != GGUFREF_OK) return st;
    kv->value_size = p->cur.pos - kv->value_pos;
    static const char align_key[] = "general.alignment";
    if (kv->key.len == sizeof align_key - 1 && memcmp(kv->key.ptr, align_key, kv->key.len) == 0) {
        return check_alignment(p, kv, type_pos, alignment);
    }
    return GGUFREF_OK;
}

/* ------------------------------------------------------------------------------------- */
/* Duplicate names (R-GGUF-016, R-GGUF-026)                                               */
/* ------------------------------------------------------------------------------------- */

/* Order by bytes (shorter first on a common prefix), ties by index: a total order. */
static int name_order(const gr_name *x, const gr_name *y) {
    size_t n = x->len < y->len ? x->len : y->len;
    int c = n == 0 ? 0 : memcmp(x->ptr, y->ptr, n);
    if (c != 0) return c;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    return x->index < y->index ? -1 : (x->index > y->index ? 1 : 0);
}

/* Restore the max-heap below node i of names[0..n). */
static void sift_down(gr_name *names, size_t i, size_t n) {
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n) return;
        if (child + 1 < n && name_order(&names[child + 1], &names[child]) > 0) child++;
        if (name_order(&names[child], &names[i]) <= 0) return;
        gr_name tmp = names[i];
        names[i] = names[child];
        names[child] = tmp;
        i = child;
    }
}

/* Heapsort by name_order: O(n log n) worst case, in place, no allocation (qsort may call
 * malloc behind the allocation hook); the order is total, so the result is deterministic. */
static void sort_names(gr_name *names, size_t n) {
    for (size_t i = n / 2; i-- > 0;) sift_down(names, i, n);
    for (size_t end = n; end-- > 1;) {
        gr_name tmp = names[0];
        names[0] = names[end];
        names[end] = tmp;
        sift_down(names, 0, end);
    }
}

static bool same_name(const gr_name *x, const gr_name *y) {
    return x->len == y->len && (x->len == 0 || memcmp(x->ptr, y->ptr, x->len) == 0);
}

/* Sort names and find the first entry, in file order, whose name an earlier entry already has.
 * O(n log n). OUT: *dup, *first (indices); returns false when all names are distinct. */
static bool find_duplicate(gr_name *names, size_t n, size_t *dup, size_t *first) {
    sort_names(names, n);
    bool found = false;
    for (size_t k = 0; k + 1 < n; k++) {
        /* names[k] starts a run of equals when it differs from names[k-1]; the second of the
         * run is the earliest duplicate of that name. */
        bool run_start = k == 0 || !same_name(&names[k - 1], &names[k]);
        if (run_start && same_name(&names[k], &names[k + 1]) &&
            (!found || names[k + 1].index < *dup)) {
            *dup = names[k + 1].index;
            *first = names[k].index;
            found = true;
        }
    }
    return found;
}

/* Binary search of a sorted name table; -1 when absent. */
static int64_t lookup_name(const gr_name *names, size_t n, const char *name) {
    if (name == NULL) return -1;
    gr_name key = {name, strlen(name), 0};
    size_t lo = 0;
    size_t hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        size_t len = key.len < names[mid].len ? key.len : names[mid].len;
        int c = len == 0 ? 0 : memcmp(names[mid].ptr, key.ptr, len);
        if (c == 0 && names[mid].len != key.len) c = names[mid].len < key.len ? -1 : 1;
        if (c == 0) return (int64_t)names[mid].index;
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return -1;
}

static ggufref_status check_unique_keys(parser *p, ggufref_gguf *g) {
    for (size_t i = 0; i < g->n_kv; i++) {
        g->kv_names[i] = (gr_name){g->kvs[i].key.ptr, g->kvs[i].key.len, i};
    }
    size_t dup = 0;
    size_t first = 0;
    if (!find_duplicate(g->kv_names, (size_t)g->n_kv, &dup, &first)) return GGUFREF_OK;
    char q[GR_QUOTE_MAX];
    gr_cursor_item(&p->cur, "kv", dup);
    return fail(p, GGUFREF_ERR_DUPLICATE_NAME, g->kvs[dup].pos,
                "duplicate key '%s' at offset %zu (first as kv %zu at offset %zu)",
                gr_quote(q, g->kvs[dup].key.ptr, g->kvs[dup].key.len), g->kvs[dup].pos, first,
                g->kvs[first].pos);
}

static ggufref_status check_unique_tensors(parser *p, ggufref_gguf *g) {
    for (size_t i = 0; i < g->n_tensors; i++) {
        const ggufref_str *name = &g->tensors[i].t.name;
        g->tensor_names[i] = (gr_name){name->ptr, name->len, i};
    }
    size_t dup = 0;
    size_t first = 0;
    if (!find_duplicate(g->tensor_names, (size_t)g->n_tensors, &dup, &first)) {
        return GGUFREF_OK;
    }
    char q[GR_QUOTE_MAX];
    const ggufref_str *name = &g->tensors[dup].t.name;
    gr_cursor_item(&p->cur, "tensor info", dup);
    return fail(p, GGUFREF_ERR_DUPLICATE_NAME, g->tensors[dup].pos,
                "duplicate tensor name '%s' at offset %zu (first as tensor %zu at offset %zu)",
                gr_quote(q, name->ptr, name->len), g->tensors[dup].pos, first,
                g->tensors[first].pos);
}

/* ------------------------------------------------------------------------------------- */
/* Tensor infos (R-GGUF-021..027)                                                         */
/* ------------------------------------------------------------------------------------- */

/* n_dims and dims: 1..4 dims, each in [1, INT64_MAX], product <= INT64_MAX. OUT: t->n_dims,
 * t->ne, t->n_elements; *ne0_pos = offset of ne[0]. */
static ggufref_status parse_dims(parser *p, ggufref_tensor *t, const char *qname,
                                 size_t *ne0_pos) {
    size_t at = p->cur.pos;
    ggufref_status st = gr_cursor_u32(&p->cur, "n_dims", &t->n_dims);
    if (st != GGUFREF_OK) return st;
    if (t->n_dims == 0 || t->n_dims > GGUFREF_MAX_DIMS) {
        return fail(p, GGUFREF_ERR_BAD_TENSOR_INFO, at,
                    "tensor '%s': n_dims %u at offset %zu is not in 1..4", qname, t->n_dims, at);
    }
    *ne0_pos = p->cur.pos;
    uint64_t n = 1;
    for (uint32_t j = 0; j < GGUFREF_MAX_DIMS; j++) t->ne[j] = 1;
    for (uint32_t j = 0; j < t->n_dims; j++) {
        size_t ne_pos = p->cur.pos;
        st = gr_cursor_count(&p->cur, p->narrow, "dimension", &t->ne[j]);
        if (st != GGUFREF_OK) return st;
        if (t->ne[j] == 0 || t->ne[j] > (uint64_t)INT64_MAX) {
            return fail(p, GGUFREF_ERR_BAD_TENSOR_INFO, ne_pos,
                        "tensor '%s': ne[%u] = %llu at offset %zu is not in 1..INT64_MAX", qname,
                        j, (unsigned long long)t->ne[j], ne_pos);
        }
        if (t->ne[j] > (uint64_t)INT64_MAX / n) {
            return fail(p, GGUFREF_ERR_BAD_TENSOR_INFO, ne_pos,
                        "tensor '%s': element count overflows INT64_MAX at ne[%u] (offset %zu)",
                        qname, j, ne_pos);
        }
        n *= t->ne[j];
    }
    t->n_elements = n;
    return GGUFREF_OK;
}

/* Type: in the one type table; ne[0] a multiple of its block; byte size <= SIZE_MAX.
 * OUT: t->type, t->n_bytes. */
static ggufref_status parse_type(parser *p, ggufref_tensor *t, const char *qname,
                                 size_t ne0_pos) {
    size_t at = p->cur.pos;
    ggufref_status st = gr_cursor_u32(&p->cur, "tensor type", &t->type);
    if (st != GGUFREF_OK) return st;
    const ggufref_type_info *info = ggufref_type_info_get(t->type);
    if (info == NULL) {
        const char *why = (t->type == 4 || t->type == 5) ? "was removed from ggml"
                                                         : "is not supported";
        return fail(p, GGUFREF_ERR_BAD_TENSOR_INFO, at,
                    "tensor '%s': type %u at offset %zu %s", qname, t->type, at, why);
    }
    if (t->ne[0] % info->block_size != 0) {
        return fail(p, GGUFREF_ERR_BAD_TENSOR_INFO, ne0_pos,
                    "tensor '%s': ne[0] = %llu at offset %zu is not a multiple of the %s block "
                    "size %u",
                    qname, (unsigned long long)t->ne[0], ne0_pos, info->name, info->block_size);
    }
    uint64_t n_bytes = 0;
    if (!gr_mul_u64(t->n_elements / info->block_size, info->type_size, &n_bytes) ||
        n_bytes > SIZE_MAX) {
        return fail(p, GGUFREF_ERR_BAD_TENSOR_INFO, at,
                    "tensor '%s': byte size of %llu %s elements overflows SIZE_MAX", qname,
                    (unsigned long long)t->n_elements, info->name);
    }
    t->n_bytes = n_bytes;
    return GGUFREF_OK;
}

/* One tensor info: name, dims, type, offset. */
static ggufref_status parse_tensor_info(parser *p, gr_tensor_entry *e) {
    ggufref_tensor *t = &e->t;
    e->pos = p->cur.pos;
    ggufref_status st =
        read_string(p, "tensor name", GGUFREF_MAX_TENSOR_NAME_LEN - 1, &t->name);
    if (st != GGUFREF_OK) return st;
    if (t->name.len == 0) {
        return fail(p, GGUFREF_ERR_BAD_STRING, e->pos, "empty tensor name at offset %zu",
                    e->pos);
    }
    char q[GR_QUOTE_MAX];
    gr_quote(q, t->name.ptr, t->name.len);
    size_t ne0_pos = 0;
    st = parse_dims(p, t, q, &ne0_pos);
    if (st == GGUFREF_OK) st = parse_type(p, t, q, ne0_pos);
    if (st != GGUFREF_OK) return st;
    e->offset_pos = p->cur.pos;
    return gr_cursor_u64(&p->cur, "tensor offset", &t->offset);
}

/* Data offsets (R-GGUF-028, R-GGUF-029): each tensor starts at a multiple of the alignment,
 * exactly where the previous one ends rounded up to the alignment (the first at 0), and its
 * bytes lie inside the file. Sets every t.data. */
static ggufref_status place_tensors(parser *p, ggufref_gguf *g) {
    uint64_t expected = 0;
    char q[GR_QUOTE_MAX];
    for (size_t i = 0; i < g->n_tensors; i++) {
        gr_tensor_entry *e = &g->tensors[i];
        ggufref_tensor *t = &e->t;
        gr_cursor_item(&p->cur, "tensor", i);
        gr_quote(q, t->name.ptr, t->name.len);
        if (t->offset % g->alignment != 0) {
            return fail(p, GGUFREF_ERR_BAD_TENSOR_DATA, e->offset_pos,
                        "tensor '%s': offset %llu (field at %zu) is not a multiple of the "
                        "alignment %u",
                        q, (unsigned long long)t->offset, e->offset_pos, g->alignment);
        }
        if (t->offset != expected) {
            const char *how = t->offset < expected ? "overlaps the previous tensor"
                                                   : "leaves a gap after the previous tensor";
            if (i == 0) how = "leaves a gap: the first tensor starts at 0";
            return fail(p, GGUFREF_ERR_BAD_TENSOR_DATA, e->offset_pos,
                        "tensor '%s': offset %llu (field at %zu) %s; expected %llu", q,
                        (unsigned long long)t->offset, e->offset_pos, how,
                        (unsigned long long)expected);
        }
        /* offset == expected <= file size here, so these sums cannot wrap; checked anyway */
        uint64_t start = 0;
        uint64_t end = 0;
        if (!gr_add_u64(g->data_offset, t->offset, &start) ||
            !gr_add_u64(start, t->n_bytes, &end)) {
            return fail(p, GGUFREF_ERR_BAD_TENSOR_DATA, e->offset_pos,
                        "tensor '%s': data offset + offset + size overflows 2^64", q);
        }
        if (end > g->size) {
            return fail(p, GGUFREF_ERR_TRUNCATED, start,
                        "tensor '%s': file ends inside its data (bytes %llu..%llu, file has %zu)",
                        q, (unsigned long long)start, (unsigned long long)end, g->size);
        }
        t->data = g->bytes + start;
        uint64_t mask = g->alignment - 1u;
        uint64_t rel_end = t->offset + t->n_bytes; /* <= size: no overflow below */
        expected = (rel_end + mask) & ~mask;
    }
    return GGUFREF_OK;
}

/* ------------------------------------------------------------------------------------- */
/* Open and close                                                                         */
/* ------------------------------------------------------------------------------------- */

void ggufref_gguf_close(ggufref_gguf *gguf) {
    if (gguf == NULL) return;
    gr_free(gguf->kvs);
    gr_free(gguf->tensors);
    gr_free(gguf->kv_names);
    gr_free(gguf->tensor_names);
    gr_free(gguf->owned);
    gr_free(gguf);
}

static ggufref_status out_of_memory(parser *p, const char *what, uint64_t n) {
    gr_cursor_item(&p->cur, NULL, 0);
    return fail(p, GGUFREF_ERR_OUT_OF_MEMORY, UINT64_MAX, "out of memory for %llu %s",
                (unsigned long long)n, what);
}

/* Header: magic, version, counts; checks the counts fit the bytes that remain (R-GGUF-011). */
static ggufref_status parse_header(parser *p, ggufref_gguf *g) {
    ggufref_status st = parse_magic_version(p, &g->version);
    if (st != GGUFREF_OK) return st;
    p->narrow = g->version == 1;
    size_t tensors_at = p->cur.pos;
    st = gr_cursor_count(&p->cur, p->narrow, "tensor count", &g->n_tensors);
    if (st != GGUFREF_OK) return st;
    size_t kv_at = p->cur.pos;
    st = gr_cursor_count(&p->cur, p->narrow, "kv count", &g->n_kv);
    if (st != GGUFREF_OK) return st;
    size_t remaining = gr_cursor_remaining(&p->cur);
    size_t kv_min = min_kv_size(p->narrow);
    if (g->n_kv > remaining / kv_min) {
        return fail(p, GGUFREF_ERR_TRUNCATED, kv_at,
                    "kv count %llu at offset %zu: kvs take at least %zu bytes each, only %zu "
                    "bytes remain",
                    (unsigned long long)g->n_kv, kv_at, kv_min, remaining);
    }
    remaining -= (size_t)g->n_kv * kv_min;
    size_t ti_min = min_tensor_info_size(p->narrow);
    if (g->n_tensors > remaining / ti_min) {
        return fail(p, GGUFREF_ERR_TRUNCATED, tensors_at,
                    "tensor count %llu at offset %zu: with %llu kvs, tensor infos take at least "
                    "%zu bytes each, only %zu bytes remain",
                    (unsigned long long)g->n_tensors, tensors_at, (unsigned long long)g->n_kv,
                    ti_min, remaining);
    }
    return GGUFREF_OK;
}

/* Every kv, then the duplicate check. Sets g->alignment. */
static ggufref_status parse_metadata(parser *p, ggufref_gguf *g) {
    g->kvs = gr_calloc((size_t)g->n_kv, sizeof *g->kvs);
    g->kv_names = gr_calloc((size_t)g->n_kv, sizeof *g->kv_names);
    if (g->kvs == NULL || g->kv_names == NULL) return out_of_memory(p, "kvs", g->n_kv);
    g->alignment = GGUFREF_DEFAULT_ALIGNMENT;
    for (size_t i = 0; i < g->n_kv; i++) {
        gr_cursor_item(&p->cur, "kv", i);
        ggufref_status st = parse_kv(p, &g->kvs[i], &g->alignment);
        if (st != GGUFREF_OK) return st;
    }
    return check_unique_keys(p, g);
}

/* Every tensor info, the duplicate check, the data offset and the placement. */
static ggufref_status parse_tensors(parser *p, ggufref_gguf *g) {
    g->tensors = gr_calloc((size_t)g->n_tensors, sizeof *g->tensors);
    g->tensor_names = gr_calloc((size_t)g->n_tensors, sizeof *g->tensor_names);
    if (g->tensors == NULL || g->tensor_names == NULL) {
        return out_of_memory(p, "tensor infos", g->n_tensors);
    }
    for (size_t i = 0; i < g->n_tensors; i++) {
        gr_cursor_item(&p->cur, "tensor info", i);
        ggufref_status st = parse_tensor_info(p, &g->tensors[i]);
        if (st != GGUFREF_OK) return st;
    }
    ggufref_status st = check_unique_tensors(p, g);
    if (st != GGUFREF_OK) return st;
    /* pos <= size <= SIZE_MAX and alignment <= 2^30: the sum fits in 64 bits. */
    uint64_t mask = g->alignment - 1u;
    g->data_offset = ((uint64_t)p->cur.pos + mask) & ~mask;
    return place_tensors(p, g);
}

ggufref_status ggufref_gguf_open_memory(const void *data, size_t size, ggufref_gguf **out,
                                        ggufref_error *err) {
    if (out == NULL || (data == NULL && size != 0)) {
        return gr_fail(err, GGUFREF_ERR_INVALID_ARGUMENT, UINT64_MAX,
                       "ggufref_gguf_open_memory: NULL %s", out == NULL ? "out" : "data");
    }
    *out = NULL;
    parser p;
    gr_cursor_init(&p.cur, data, size, err);
    p.narrow = false;
    ggufref_gguf *g = gr_calloc(1, sizeof *g);
    if (g == NULL) return out_of_memory(&p, "the file handle", 1);
    g->bytes = p.cur.base;
    g->size = p.cur.size;
    ggufref_status st = parse_header(&p, g);
    if (st == GGUFREF_OK) st = parse_metadata(&p, g);
    if (st == GGUFREF_OK) st = parse_tensors(&p, g);
    if (st != GGUFREF_OK) {
        ggufref_gguf_close(g);
        return st;
    }
    *out = g;
    return GGUFREF_OK;
}

/* ------------------------------------------------------------------------------------- */
/* Files: read, never mapped (R-GGUF-007, R-RT-012)                                        */
/* ------------------------------------------------------------------------------------- */

#define GR_HEAD_BYTES 8u          /* magic + version: checked before the rest is read */
#define GR_READ_CHUNK (1u << 20)  /* bytes per read */

/* IO_ERROR naming the (quoted) path, the failed call and errno's text. */
static ggufref_status io_fail(ggufref_error *err, const char *qpath, uint64_t offset,
                              const char *call, int errnum) {
    char text[128];
    if (strerror_r(errnum, text, sizeof text) != 0) {
        snprintf(text, sizeof text, "errno %d", errnum);
    }
    return gr_fail(err, GGUFREF_ERR_IO, offset, "'%s': %s failed: %s", qpath, call, text);
}

/* The magic and version checks of the parser on the first n bytes of a file (n: at most
 * GR_HEAD_BYTES, fewer only when the file is that short): the same status, offset and
 * message as a parse of the whole file, as those checks read nothing else. */
static ggufref_status check_head(const uint8_t *head, size_t n, ggufref_error *err) {
    parser p;
    gr_cursor_init(&p.cur, head, n, err);
    p.narrow = false;
    uint32_t version;
    return parse_magic_version(&p, &version);
}

/* Read n bytes at offset off of f into buf through the I/O hook, in chunks. IO_ERROR at the
 * offset where reading stopped. */
static ggufref_status read_range(FILE *f, uint8_t *buf, size_t off, size_t end, size_t size,
                                 const char *qpath, ggufref_error *err) {
    while (off < end) {
        size_t want = end - off < GR_READ_CHUNK ? end - off : GR_READ_CHUNK;
        bool failed;
        size_t got = gr_io_read(f, buf + off, want, off, &failed);
        off += got;
        if (failed) {
            return gr_fail(err, GGUFREF_ERR_IO, off, "read error in '%s' at byte %zu", qpath, off);
        }
        if (got < want) {
            return gr_fail(err, GGUFREF_ERR_IO, off, "short read: '%s' ends at byte %zu of %zu",
                           qpath, off, size);
        }
    }
    return GGUFREF_OK;
}

ggufref_status gr_gguf_read_file(const char *path, gr_bytes_alloc_fn alloc, uint64_t pre_offset,
                                 uint8_t **block, uint8_t **bytes, size_t *size,
                                 ggufref_error *err) {
    *block = NULL;
    *bytes = NULL;
    *size = 0;
    if (path == NULL) return gr_fail(err, GGUFREF_ERR_INVALID_ARGUMENT, UINT64_MAX, "path is NULL");
    char qpath[GR_QUOTE_PATH_MAX];
    gr_quote_n(qpath, sizeof qpath, path, strlen(path));
    /* O_NONBLOCK: opening a FIFO without a writer must not wait (it is refused below) */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return io_fail(err, qpath, pre_offset, "open", errno);
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return io_fail(err, qpath, pre_offset, "stat", e);
    }
    if (!S_ISREG(sb.st_mode) || sb.st_size < 0 || (uintmax_t)sb.st_size > SIZE_MAX) {
        close(fd);
        return gr_fail(err, GGUFREF_ERR_IO, pre_offset, "'%s': %s", qpath,
                       S_ISREG(sb.st_mode) ? "file too large" : "not a regular file");
    }
    FILE *f = fdopen(fd, "rb");
    if (f == NULL) {
        int e = errno;
        close(fd);
        return io_fail(err, qpath, pre_offset, "fdopen", e);
    }
    size_t n = (size_t)sb.st_size;
    uint8_t head[GR_HEAD_BYTES];
    size_t n_head = n < GR_HEAD_BYTES ? n : GR_HEAD_BYTES;
    ggufref_status st = read_range(f, head, 0, n_head, n, qpath, err);
    if (st == GGUFREF_OK) st = check_head(head, n_head, err);
    if (st != GGUFREF_OK) {
        fclose(f);
        return st;
    }
    uint8_t *mem;
    uint8_t *buf = alloc(n, &mem);
    if (buf == NULL) {
        fclose(f);
        return gr_fail(err, GGUFREF_ERR_OUT_OF_MEMORY, UINT64_MAX,
                       "cannot allocate %zu bytes for '%s'", n, qpath);
    }
    memcpy(buf, head, n_head);
    st = read_range(f, buf, n_head, n, n, qpath, err);
    fclose(f);
    if (st != GGUFREF_OK) {
        gr_free(mem);
        return st;
    }
    *block = mem;
    *bytes = buf;
    *size = n;
    return GGUFREF_OK;
}

/* gr_bytes_alloc_fn of ggufref_gguf_open_file: a plain block. */
static uint8_t *plain_alloc(size_t n, uint8_t **block) {
    *block = gr_malloc(n);
    return *block;
}

ggufref_status ggufref_gguf_open_file(const char *path, ggufref_gguf **out, ggufref_error *err) {
    if (out == NULL || path == NULL) {
        return gr_fail(err, GGUFREF_ERR_INVALID_ARGUMENT, UINT64_MAX,
                       "ggufref_gguf_open_file: NULL %s", out == NULL ? "out" : "path");
    }
    *out = NULL;
    uint8_t *block, *bytes;
    size_t size;
    ggufref_status st = gr_gguf_read_file(path, plain_alloc, UINT64_MAX, &block, &bytes, &size, err);
    if (st != GGUFREF_OK) return st;
    st = ggufref_gguf_open_memory(bytes, size, out, err);
    if (st != GGUFREF_OK) {
        gr_free(block);
        return st;
    }
    (*out)->owned = block; /* freed by ggufref_gguf_close */
    return GGUFREF_OK;
}

/* ------------------------------------------------------------------------------------- */
/* Accessors                                                                              */
/* ------------------------------------------------------------------------------------- */

uint32_t ggufref_gguf_version(const ggufref_gguf *g) { return g->version; }
uint64_t ggufref_gguf_n_kv(const ggufref_gguf *g) { return g->n_kv; }
uint64_t ggufref_gguf_n_tensors(const ggufref_gguf *g) { return g->n_tensors; }
uint32_t ggufref_gguf_alignment(const ggufref_gguf *g) { return g->alignment; }
uint64_t ggufref_gguf_data_offset(const ggufref_gguf *g) { return g->data_offset; }
size_t ggufref_gguf_size(const ggufref_gguf *g) { return g->size; }
const uint8_t *ggufref_gguf_bytes(const ggufref_gguf *g) { return g->bytes; }

int64_t ggufref_gguf_find_key(const ggufref_gguf *g, const char *key) {
    return lookup_name(g->kv_names, (size_t)g->n_kv, key);
}

ggufref_str ggufref_gguf_key(const ggufref_gguf *g, uint64_t kv) {
    if (kv >= g->n_kv) return (ggufref_str){"", 0};
    return g->kvs[kv].key;
}

ggufref_value_type ggufref_gguf_kv_type(const ggufref_gguf *g, uint64_t kv) {
    if (kv >= g->n_kv) return GGUFREF_VALUE_TYPE_COUNT;
    return g->kvs[kv].type;
}

/* The value bytes of kv if it has `type`. OUT: *bytes. INVALID_ARGUMENT for an index out of
 * range, BAD_VALUE_TYPE for another type. */
static ggufref_status value_of(const ggufref_gguf *g, uint64_t kv, ggufref_value_type type,
                               const uint8_t **bytes) {
    if (kv >= g->n_kv) return GGUFREF_ERR_INVALID_ARGUMENT;
    if (g->kvs[kv].type != type) return GGUFREF_ERR_BAD_VALUE_TYPE;
    *bytes = g->bytes + g->kvs[kv].value_pos;
    return GGUFREF_OK;
}

/* Getter of a fixed-size value: load the little-endian bits as `utype`, copy them into the
 * C type of the same size (no host byte-order or signed-conversion dependence). */
#define DEFINE_GETTER(fn, ctype, vtype, utype, load)                                       \
    ggufref_status fn(const ggufref_gguf *g, uint64_t kv, ctype *out) {                    \
        _Static_assert(sizeof(ctype) == sizeof(utype), "same size");                       \
        const uint8_t *b = NULL;                                                           \
        ggufref_status st = value_of(g, kv, vtype, &b);                                    \
        if (st != GGUFREF_OK) return st;                                                   \
        utype bits = load(b);                                                              \
        memcpy(out, &bits, sizeof *out);                                                   \
        return GGUFREF_OK;                                                                 \
    }

static uint8_t load_u8(const uint8_t *p) { return p[0]; }

DEFINE_GETTER(ggufref_gguf_get_u8, uint8_t, GGUFREF_TYPE_UINT8, uint8_t, load_u8)
DEFINE_GETTER(ggufref_gguf_get_i8, int8_t, GGUFREF_TYPE_INT8, uint8_t, load_u8)
DEFINE_GETTER(ggufref_gguf_get_u16, uint16_t, GGUFREF_TYPE_UINT16, uint16_t, gr_load_u16)
DEFINE_GETTER(ggufref_gguf_get_i16, int16_t, GGUFREF_TYPE_INT16, uint16_t, gr_load_u16)
DEFINE_GETTER(ggufref_gguf_get_u32, uint32_t, GGUFREF_TYPE_UINT32, uint32_t, gr_load_u32)
DEFINE_GETTER(ggufref_gguf_get_i32, int32_t, GGUFREF_TYPE_INT32, uint32_t, gr_load_u32)
DEFINE_GETTER(ggufref_gguf_get_u64, uint64_t, GGUFREF_TYPE_UINT64, uint64_t, gr_load_u64)
DEFINE_GETTER(ggufref_gguf_get_i64, int64_t, GGUFREF_TYPE_INT64, uint64_t, gr_load_u64)
DEFINE_GETTER(ggufref_gguf_get_f32, float, GGUFREF_TYPE_FLOAT32, uint32_t, gr_load_u32)
DEFINE_GETTER(ggufref_gguf_get_f64, double, GGUFREF_TYPE_FLOAT64, uint64_t, gr_load_u64)

ggufref_status ggufref_gguf_get_bool(const ggufref_gguf *g, uint64_t kv, bool *out) {
    const uint8_t *b = NULL;
    ggufref_status st = value_of(g, kv, GGUFREF_TYPE_BOOL, &b);
    if (st == GGUFREF_OK) *out = b[0] != 0; /* validated: 0 or 1 */
    return st;
}

/* A validated string at p in a file of `version`. OUT: *len_bytes = bytes of its length. */
static ggufref_str load_string(const uint8_t *p, uint32_t version, size_t *len_bytes) {
    bool narrow = version == 1;
    *len_bytes = count_width(narrow);
    uint64_t len = narrow ? gr_load_u32(p) : gr_load_u64(p);
    return (ggufref_str){(const char *)p + *len_bytes, (size_t)len};
}

ggufref_status ggufref_gguf_get_str(const ggufref_gguf *g, uint64_t kv, ggufref_str *out) {
    const uint8_t *b = NULL;
    ggufref_status st = value_of(g, kv, GGUFREF_TYPE_STRING, &b);
    size_t ignored;
    if (st == GGUFREF_OK) *out = load_string(b, g->version, &ignored);
    return st;
}

ggufref_status ggufref_gguf_get_uint(const ggufref_gguf *g, uint64_t kv, uint64_t *out) {
    if (kv >= g->n_kv) return GGUFREF_ERR_INVALID_ARGUMENT;
    const uint8_t *b = g->bytes + g->kvs[kv].value_pos;
    int64_t s = 0; /* signed value, for the signed types */
    switch (g->kvs[kv].type) {
    case GGUFREF_TYPE_UINT8: *out = b[0]; return GGUFREF_OK;
    case GGUFREF_TYPE_UINT16: *out = gr_load_u16(b); return GGUFREF_OK;
    case GGUFREF_TYPE_UINT32: *out = gr_load_u32(b); return GGUFREF_OK;
    case GGUFREF_TYPE_UINT64: *out = gr_load_u64(b); return GGUFREF_OK;
    case GGUFREF_TYPE_INT8: { int8_t v; memcpy(&v, b, 1); s = v; break; }
    case GGUFREF_TYPE_INT16: { int16_t v; uint16_t u = gr_load_u16(b); memcpy(&v, &u, 2); s = v; break; }
    case GGUFREF_TYPE_INT32: { int32_t v; uint32_t u = gr_load_u32(b); memcpy(&v, &u, 4); s = v; break; }
    case GGUFREF_TYPE_INT64: { uint64_t u = gr_load_u64(b); memcpy(&s, &u, 8); break; }
    default: return GGUFREF_ERR_BAD_VALUE_TYPE;
    }
    if (s < 0) return GGUFREF_ERR_BAD_VALUE;
    *out = (uint64_t)s;
    return GGUFREF_OK;
}

/* The array whose header (element type, count) starts at p; size = bytes of the elements,
 * given the bytes of the whole array value. */
static ggufref_array array_at(const uint8_t *p, size_t value_size, uint32_t version) {
    bool narrow = version == 1;
    size_t header = 4 + count_width(narrow);
    ggufref_array a;
    a.elem_type = (ggufref_value_type)gr_load_u32(p);
    a.count = narrow ? gr_load_u32(p + 4) : gr_load_u64(p + 4);
    a.data = p + header;
    a.size = value_size - header;
    a.version = version;
    return a;
}

ggufref_status ggufref_gguf_get_array(const ggufref_gguf *g, uint64_t kv, ggufref_array *out) {
    const uint8_t *b = NULL;
    ggufref_status st = value_of(g, kv, GGUFREF_TYPE_ARRAY, &b);
    if (st == GGUFREF_OK) *out = array_at(b, g->kvs[kv].value_size, g->version);
    return st;
}

void ggufref_array_iter_init(ggufref_array_iter *it, const ggufref_array *array) {
    it->array = *array;
    it->index = 0;
    it->pos = 0;
}

/* The next element's bytes if the iterator is not exhausted and holds `type`. */
static const uint8_t *next_elem(const ggufref_array_iter *it, ggufref_value_type type) {
    if (it->index >= it->array.count || it->array.elem_type != type) return NULL;
    return it->array.data + it->pos;
}

bool ggufref_array_next_str(ggufref_array_iter *it, ggufref_str *out) {
    const uint8_t *p = next_elem(it, GGUFREF_TYPE_STRING);
    if (p == NULL) return false;
    size_t len_bytes = 0;
    *out = load_string(p, it->array.version, &len_bytes);
    it->pos += len_bytes + out->len;
    it->index++;
    return true;
}

/* The next 4-byte element of an array of `type`. OUT: *bits, little-endian loaded. */
static bool next_u32(ggufref_array_iter *it, ggufref_value_type type, uint32_t *bits) {
    const uint8_t *p = next_elem(it, type);
    if (p == NULL) return false;
    *bits = gr_load_u32(p);
    it->pos += 4;
    it->index++;
    return true;
}

bool ggufref_array_next_f32(ggufref_array_iter *it, float *out) {
    uint32_t bits = 0;
    if (!next_u32(it, GGUFREF_TYPE_FLOAT32, &bits)) return false;
    memcpy(out, &bits, sizeof *out);
    return true;
}

bool ggufref_array_next_i32(ggufref_array_iter *it, int32_t *out) {
    uint32_t bits = 0;
    if (!next_u32(it, GGUFREF_TYPE_INT32, &bits)) return false;
    memcpy(out, &bits, sizeof *out);
    return true;
}

bool ggufref_array_next_array(ggufref_array_iter *it, ggufref_array *out) {
    const uint8_t *p = next_elem(it, GGUFREF_TYPE_ARRAY);
    if (p == NULL) return false;
    /* Measure the nested array by walking it again; it was validated at open, so the walk
     * cannot fail (err = NULL, bounded by the outer array's bytes). */
    parser q;
    gr_cursor_init(&q.cur, p, it->array.size - it->pos, NULL);
    q.narrow = it->array.version == 1;
    ggufref_status st = walk_value(&q, GGUFREF_TYPE_ARRAY);
    assert(st == GGUFREF_OK);
    (void)st;
    *out = array_at(p, q.cur.pos, it->array.version);
    it->pos += q.cur.pos;
    it->index++;
    return true;
}

bool ggufref_array_get_raw(const ggufref_array *array, uint64_t j, void *out) {
    if ((unsigned)array->elem_type >= GGUFREF_VALUE_TYPE_COUNT) return false;
    size_t size = fixed_size[array->elem_type];
    if (size == 0 || j >= array->count) return false;
    memcpy(out, array->data + (size_t)j * size, size);
    return true;
}

ggufref_status ggufref_gguf_tensor(const ggufref_gguf *g, uint64_t index, ggufref_tensor *out) {
    if (index >= g->n_tensors) return GGUFREF_ERR_INVALID_ARGUMENT;
    *out = g->tensors[index].t;
    return GGUFREF_OK;
}

int64_t ggufref_gguf_find_tensor(const ggufref_gguf *g, const char *name) {
    return lookup_name(g->tensor_names, (size_t)g->n_tensors, name);
}

/* ===================================================================================== */
/* Metadata readers shared by the tokenizers                                              */
/* ===================================================================================== */

uint64_t gr_gguf_offset_of(const ggufref_gguf *g, const void *p) {
    return (uint64_t)((const uint8_t *)p - ggufref_gguf_bytes(g));
}

ggufref_status gr_gguf_bool_key(const ggufref_gguf *g, const char *key, bool def, bool *out,
                                ggufref_error *err) {
    int64_t kv = ggufref_gguf_find_key(g, key);
    *out = def;
    if (kv < 0) return GGUFREF_OK;
    if (ggufref_gguf_get_bool(g, (uint64_t)kv, out) != GGUFREF_OK) {
        return gr_fail(err, GGUFREF_ERR_BAD_VALUE_TYPE, UINT64_MAX, "%s: expected a bool, got %s",
                       key, ggufref_value_type_name(ggufref_gguf_kv_type(g, (uint64_t)kv)));
    }
    return GGUFREF_OK;
}

ggufref_status gr_gguf_array_key(const ggufref_gguf *g, const char *key,
                                 ggufref_value_type elem_type, uint64_t n, ggufref_array *arr,
                                 bool *found, ggufref_error *err) {
    int64_t kv = ggufref_gguf_find_key(g, key);
    *found = kv >= 0;
    if (kv < 0) return GGUFREF_OK;
    if (ggufref_gguf_get_array(g, (uint64_t)kv, arr) != GGUFREF_OK ||
        arr->elem_type != elem_type) {
        return gr_fail(err, GGUFREF_ERR_BAD_VALUE_TYPE, UINT64_MAX,
                       "%s: expected an array of %s", key, ggufref_value_type_name(elem_type));
    }
    if (n != 0 && arr->count != n) {
        return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_MODEL, gr_gguf_offset_of(g, arr->data),
                       "%s has %llu elements but tokenizer.ggml.tokens has %llu (offset %llu)",
                       key, (unsigned long long)arr->count, (unsigned long long)n,
                       (unsigned long long)gr_gguf_offset_of(g, arr->data));
    }
    return GGUFREF_OK;
}

ggufref_status gr_gguf_token_list(const ggufref_gguf *g, ggufref_array *arr, ggufref_error *err) {
    const char *key = "tokenizer.ggml.tokens";
    bool found;
    ggufref_status st = gr_gguf_array_key(g, key, GGUFREF_TYPE_STRING, 0, arr, &found, err);
    if (st != GGUFREF_OK) return st;
    if (!found) return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_MODEL, UINT64_MAX, "%s is missing", key);
    if (arr->count == 0 || arr->count > (uint64_t)INT32_MAX) {
        return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_MODEL, gr_gguf_offset_of(g, arr->data),
                       "%s: %llu tokens at offset %llu (need 1 to 2^31-1)", key,
                       (unsigned long long)arr->count,
                       (unsigned long long)gr_gguf_offset_of(g, arr->data));
    }
    return GGUFREF_OK;
}
