/*
 * torture_gguf.c — the GGUF reader against SPEC chapter 2 (R-GGUF-*).
 *
 * 1. The malformed-GGUF catalog (catalog/gguf_catalog.h: ONE table of {name, build, expected
 *    status, rule}, each build marking the byte offset the error must name; valid edge cases
 *    expect OK): every row is one cmocka test, test_gguf_catalog_<name>.
 * 2. Every prefix of every valid fixture is rejected with TRUNCATED (R-GGUF-002, R-GGUF-029).
 * 3. Fault injection: every allocation of an open fails in turn (R-GGUF-006).
 * 4. Accessors, iterators, lookups (R-GGUF-017, R-GGUF-031), the type table (R-GGUF-023),
 *    open_file (R-GGUF-007), and the real files in ../shared/material (skipped when absent).
 *
 * Files are opened from exact-size heap copies so that ASan catches any read past the end.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ggufref.h"
#include "files.h"
#include "gguf_catalog.h"
#include "oom.h"

/* ===================================================================================== */
/* Opening built files                                                                    */
/* ===================================================================================== */

/* Open b's bytes from an exact-size copy. OUT: *g, *err; *copy must be freed after close. */
static ggufref_status open_built(const gb_buf *b, ggufref_gguf **g, ggufref_error *err,
                                 void **copy) {
    *copy = gb_dup(b);
    memset(err, 0, sizeof *err);
    err->offset = 0xDEADBEEF;
    return ggufref_gguf_open_memory(*copy, b->len, g, err);
}

/* Assert that a rejection is well formed: *g NULL, err filled, a one-line message. */
static void assert_clean_rejection(ggufref_status st, const ggufref_gguf *g,
                                   const ggufref_error *err) {
    assert_int_not_equal(st, GGUFREF_OK);
    assert_null(g);
    assert_int_equal(err->status, st);
    assert_true(strlen(err->message) > 0);
    assert_null(strchr(err->message, '\n'));
}

/* ===================================================================================== */
/* The catalog                                                                            */
/* ===================================================================================== */

/* R-GGUF-051: loading a row's file as a model (what the protocol's load-model does, and what
 * the catalog's index promises every implementation) gives gcat_load_status: the reader's
 * status, or UNSUPPORTED_MODEL for a file the reader accepts; a one-line message. */
static void check_catalog_load(const gcat_case *c, const gb_buf *b) {
    ggufref_runtime *rt = NULL;
    assert_int_equal(ggufref_runtime_create(&rt), GGUFREF_OK);
    ggufref_status st = ggufref_runtime_load_model(rt, b->data, b->len);
    ggufref_error err;
    assert_int_equal(ggufref_runtime_last_error(rt, &err), GGUFREF_OK);
    if (st != gcat_load_status(c)) {
        print_message("%s: load-model expected %s, got %s: %s\n", c->name,
                      ggufref_status_name(gcat_load_status(c)), ggufref_status_name(st),
                      err.message);
    }
    assert_int_equal(st, gcat_load_status(c));
    assert_true(strlen(err.message) > 0);
    assert_null(strchr(err.message, '\n'));
    ggufref_runtime_destroy(rt);
}

/* Build, open, and check one catalog row: the status, and for rejections a one-line message,
 * *out NULL, and the offset the build marked. */
static void run_catalog_case(void **state) {
    const gcat_case *c = *state;
    gb_buf b;
    gb_init(&b, 3);
    c->build(&b);
    ggufref_gguf *g = NULL;
    ggufref_error err;
    void *copy = NULL;
    ggufref_status st = open_built(&b, &g, &err, &copy);
    if (st != c->expect || (st != GGUFREF_OK && b.mark != GB_NO_MARK && err.offset != b.mark)) {
        print_message("%s (%s): expected %s at offset %lld, got %s at offset %lld: %s\n",
                      c->name, c->rule, ggufref_status_name(c->expect),
                      b.mark == GB_NO_MARK ? -1LL : (long long)b.mark, ggufref_status_name(st),
                      (long long)err.offset, st == GGUFREF_OK ? "" : err.message);
    }
    assert_int_equal(st, c->expect);
    if (st == GGUFREF_OK) {
        assert_non_null(g);
        ggufref_gguf_close(g);
    } else {
        assert_clean_rejection(st, g, &err);
        if (b.mark != GB_NO_MARK) assert_int_equal(err.offset, b.mark);
    }
    free(copy);
    check_catalog_load(c, &b);
    gb_free(&b);
}

/* ===================================================================================== */
/* Prefixes, fault injection                                                              */
/* ===================================================================================== */

/* R-GGUF-002, R-GGUF-029: every strict prefix of a file with tensors is TRUNCATED; a prefix
 * of a zero-tensor file is TRUNCATED until the last kv is complete, then valid. */
static void check_prefixes(const uint8_t *bytes, size_t size, bool has_tensors,
                           size_t metadata_end, size_t step) {
    for (size_t len = 0; len < size; len += step) {
        uint8_t *copy = malloc(len == 0 ? 1 : len);
        assert_non_null(copy);
        if (len > 0) memcpy(copy, bytes, len);
        ggufref_gguf *g = NULL;
        ggufref_error err;
        memset(&err, 0, sizeof err);
        ggufref_status st = ggufref_gguf_open_memory(copy, len, &g, &err);
        bool want_ok = !has_tensors && len >= metadata_end;
        if ((st == GGUFREF_OK) != want_ok || (!want_ok && st != GGUFREF_ERR_TRUNCATED)) {
            print_message("prefix of %zu bytes: %s: %s\n", len, ggufref_status_name(st),
                          err.message);
        }
        if (want_ok) {
            assert_int_equal(st, GGUFREF_OK);
            ggufref_gguf_close(g);
        } else {
            assert_int_equal(st, GGUFREF_ERR_TRUNCATED);
            assert_clean_rejection(st, g, &err);
            assert_true(err.offset <= size);
        }
        free(copy);
    }
}

static void test_gguf_prefixes_truncated(void **state) {
    (void)state;
    for (size_t f = 0; f < gcat_n_fixtures; f++) {
        gb_buf b;
        gb_init(&b, 3);
        gcat_fixtures[f].build(&b);
        check_prefixes(b.data, b.len, gcat_fixtures[f].has_tensors, b.len, 1);
        gb_free(&b);
    }
}

/* An open of b's bytes under oom_each. */
typedef struct open_oom {
    gb_buf b;
    ggufref_gguf *g;
    ggufref_error err;
    void *copy;
} open_oom;

static int open_oom_op(void *user) {
    open_oom *o = user;
    o->g = NULL;
    o->copy = NULL;
    return open_built(&o->b, &o->g, &o->err, &o->copy);
}

static void open_oom_check(void *user, const oom_run *run) {
    open_oom *o = user;
    if (!run->fired) {
        assert_int_equal(run->status, GGUFREF_OK);
        ggufref_gguf_close(o->g);
    } else {
        assert_int_equal(run->status, GGUFREF_ERR_OUT_OF_MEMORY);
        assert_clean_rejection(run->status, o->g, &o->err);
    }
    free(o->copy);
}

/* R-GGUF-006: the Nth allocation fails (alone, then with every later one), for every N until an
 * open succeeds: OUT_OF_MEMORY, *out NULL, nothing leaked. */
static void test_gguf_open_fault_injection(void **state) {
    (void)state;
    open_oom o;
    gb_init(&o.b, 3);
    gcat_build_v3(&o.b);
    assert_true(oom_each(open_oom_op, open_oom_check, &o) > 0); /* at least one was failed */
    gb_free(&o.b);
}

/* ===================================================================================== */
/* Accessors (R-GGUF-017, R-GGUF-031)                                                     */
/* ===================================================================================== */

typedef struct opened {
    gb_buf b;
    void *copy;
    ggufref_gguf *g;
} opened;

static void open_fixture(opened *o, void (*build)(gb_buf *)) {
    gb_init(&o->b, 3);
    build(&o->b);
    ggufref_error err;
    ggufref_status st = open_built(&o->b, &o->g, &err, &o->copy);
    if (st != GGUFREF_OK) print_message("fixture: %s\n", err.message);
    assert_int_equal(st, GGUFREF_OK);
}

static void close_fixture(opened *o) {
    ggufref_gguf_close(o->g);
    free(o->copy);
    gb_free(&o->b);
}

static uint64_t key_index(const ggufref_gguf *g, const char *key) {
    int64_t i = ggufref_gguf_find_key(g, key);
    if (i < 0) print_message("key %s not found\n", key);
    assert_true(i >= 0);
    return (uint64_t)i;
}

static void assert_str_eq(ggufref_str s, const char *want) {
    assert_int_equal(s.len, strlen(want));
    if (s.len > 0) assert_memory_equal(s.ptr, want, s.len);
}

static void check_header_fields(const ggufref_gguf *g, uint32_t version, const gb_buf *b) {
    assert_int_equal(ggufref_gguf_version(g), version);
    assert_int_equal(ggufref_gguf_n_kv(g), GCAT_FIXTURE_N_KV_BASE + 1);
    assert_int_equal(ggufref_gguf_n_tensors(g), GCAT_FIXTURE_N_TENSORS);
    assert_int_equal(ggufref_gguf_alignment(g), 32);
    assert_int_equal(ggufref_gguf_size(g), b->len);
    assert_int_equal(ggufref_gguf_data_offset(g) % 32, 0);
    assert_true(ggufref_gguf_data_offset(g) < b->len);
}

/* Every typed getter on its own key, and the keys' order. */
static void check_scalars(const ggufref_gguf *g) {
    uint8_t u8 = 0;
    int8_t i8 = 0;
    uint16_t u16 = 0;
    int16_t i16 = 0;
    uint32_t u32 = 0;
    int32_t i32 = 0;
    uint64_t u64 = 0;
    int64_t i64 = 0;
    float f32 = 0;
    double f64 = 0;
    bool bl = false;
    ggufref_str s;
    assert_int_equal(ggufref_gguf_get_u8(g, key_index(g, "test.u8"), &u8), GGUFREF_OK);
    assert_int_equal(u8, 200);
    assert_int_equal(ggufref_gguf_get_i8(g, key_index(g, "test.i8"), &i8), GGUFREF_OK);
    assert_int_equal(i8, -5);
    assert_int_equal(ggufref_gguf_get_u16(g, key_index(g, "test.u16"), &u16), GGUFREF_OK);
    assert_int_equal(u16, 60000);
    assert_int_equal(ggufref_gguf_get_i16(g, key_index(g, "test.i16"), &i16), GGUFREF_OK);
    assert_int_equal(i16, -30000);
    assert_int_equal(ggufref_gguf_get_u32(g, key_index(g, "test.u32"), &u32), GGUFREF_OK);
    assert_int_equal(u32, 4000000000u);
    assert_int_equal(ggufref_gguf_get_i32(g, key_index(g, "test.i32"), &i32), GGUFREF_OK);
    assert_int_equal(i32, -7);
    assert_int_equal(ggufref_gguf_get_u64(g, key_index(g, "test.u64"), &u64), GGUFREF_OK);
    assert_int_equal(u64, (1ull << 40) + 3);
    assert_int_equal(ggufref_gguf_get_i64(g, key_index(g, "test.i64"), &i64), GGUFREF_OK);
    assert_true(i64 == -(1ll << 40));
    assert_int_equal(ggufref_gguf_get_f32(g, key_index(g, "test.f32"), &f32), GGUFREF_OK);
    assert_true(f32 == 1.5f);
    assert_int_equal(ggufref_gguf_get_f64(g, key_index(g, "test.f64"), &f64), GGUFREF_OK);
    assert_true(f64 == -2.25);
    assert_int_equal(ggufref_gguf_get_bool(g, key_index(g, "test.bool"), &bl), GGUFREF_OK);
    assert_true(bl);
    assert_int_equal(ggufref_gguf_get_str(g, key_index(g, "general.architecture"), &s),
                     GGUFREF_OK);
    assert_str_eq(s, "llama");
    assert_int_equal(ggufref_gguf_get_str(g, key_index(g, "test.str"), &s), GGUFREF_OK);
    assert_int_equal(s.len, 0);
    /* file order and types */
    assert_str_eq(ggufref_gguf_key(g, 0), "general.architecture");
    assert_int_equal(ggufref_gguf_kv_type(g, 0), GGUFREF_TYPE_STRING);
    assert_str_eq(ggufref_gguf_key(g, 1), "general.alignment");
    assert_int_equal(ggufref_gguf_kv_type(g, key_index(g, "test.deep")), GGUFREF_TYPE_ARRAY);
}

/* R-GGUF-017: a getter of another type is BAD_VALUE_TYPE and leaves *out alone; an index out
 * of range is INVALID_ARGUMENT. */
static void check_wrong_types(const ggufref_gguf *g) {
    uint32_t u32 = 77;
    float f32 = 0;
    ggufref_str s = {"x", 1};
    ggufref_array a;
    bool bl = false;
    assert_int_equal(ggufref_gguf_get_u32(g, key_index(g, "test.i32"), &u32),
                     GGUFREF_ERR_BAD_VALUE_TYPE);
    assert_int_equal(u32, 77);
    assert_int_equal(ggufref_gguf_get_u32(g, key_index(g, "test.u64"), &u32),
                     GGUFREF_ERR_BAD_VALUE_TYPE);
    assert_int_equal(ggufref_gguf_get_f32(g, key_index(g, "test.f64"), &f32),
                     GGUFREF_ERR_BAD_VALUE_TYPE);
    assert_int_equal(ggufref_gguf_get_str(g, key_index(g, "test.u8"), &s),
                     GGUFREF_ERR_BAD_VALUE_TYPE);
    assert_int_equal(ggufref_gguf_get_bool(g, key_index(g, "test.u8"), &bl),
                     GGUFREF_ERR_BAD_VALUE_TYPE);
    assert_int_equal(ggufref_gguf_get_array(g, key_index(g, "test.str"), &a),
                     GGUFREF_ERR_BAD_VALUE_TYPE);
    assert_int_equal(ggufref_gguf_get_str(g, key_index(g, "tokenizer.ggml.tokens"), &s),
                     GGUFREF_ERR_BAD_VALUE_TYPE);
    uint64_t n = ggufref_gguf_n_kv(g);
    assert_int_equal(ggufref_gguf_get_u32(g, n, &u32), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_gguf_get_uint(g, n, &n), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_gguf_kv_type(g, n), GGUFREF_VALUE_TYPE_COUNT);
    assert_int_equal(ggufref_gguf_key(g, n).len, 0);
}

/* R-GGUF-017: get_uint reads any integer type holding a value >= 0. */
static void check_get_uint(const ggufref_gguf *g) {
    uint64_t v = 0;
    assert_int_equal(ggufref_gguf_get_uint(g, key_index(g, "test.u8"), &v), GGUFREF_OK);
    assert_int_equal(v, 200);
    assert_int_equal(ggufref_gguf_get_uint(g, key_index(g, "test.u16"), &v), GGUFREF_OK);
    assert_int_equal(v, 60000);
    assert_int_equal(ggufref_gguf_get_uint(g, key_index(g, "test.u32"), &v), GGUFREF_OK);
    assert_int_equal(v, 4000000000u);
    assert_int_equal(ggufref_gguf_get_uint(g, key_index(g, "test.u64"), &v), GGUFREF_OK);
    assert_int_equal(v, (1ull << 40) + 3);
    v = 99;
    assert_int_equal(ggufref_gguf_get_uint(g, key_index(g, "test.i8"), &v), GGUFREF_ERR_BAD_VALUE);
    assert_int_equal(ggufref_gguf_get_uint(g, key_index(g, "test.i16"), &v),
                     GGUFREF_ERR_BAD_VALUE);
    assert_int_equal(ggufref_gguf_get_uint(g, key_index(g, "test.i32"), &v),
                     GGUFREF_ERR_BAD_VALUE);
    assert_int_equal(ggufref_gguf_get_uint(g, key_index(g, "test.i64"), &v),
                     GGUFREF_ERR_BAD_VALUE);
    assert_int_equal(v, 99);
    assert_int_equal(ggufref_gguf_get_uint(g, key_index(g, "test.f32"), &v),
                     GGUFREF_ERR_BAD_VALUE_TYPE);
    assert_int_equal(ggufref_gguf_get_uint(g, key_index(g, "test.bool"), &v),
                     GGUFREF_ERR_BAD_VALUE_TYPE);
    assert_int_equal(ggufref_gguf_get_uint(g, key_index(g, "test.str"), &v),
                     GGUFREF_ERR_BAD_VALUE_TYPE);
}

/* Arrays: views, iterators of every kind, raw access, exhaustion and type mismatches. */
static void check_arrays(const ggufref_gguf *g) {
    ggufref_array a;
    ggufref_array_iter it;
    ggufref_str s;
    float f = 0;
    int32_t i32 = 0;
    assert_int_equal(ggufref_gguf_get_array(g, key_index(g, "tokenizer.ggml.tokens"), &a),
                     GGUFREF_OK);
    assert_int_equal(a.elem_type, GGUFREF_TYPE_STRING);
    assert_int_equal(a.count, GCAT_FIXTURE_N_TOKENS);
    ggufref_array_iter_init(&it, &a);
    assert_false(ggufref_array_next_f32(&it, &f)); /* wrong type: no progress */
    for (size_t i = 0; i < GCAT_FIXTURE_N_TOKENS; i++) {
        assert_true(ggufref_array_next_str(&it, &s));
        assert_str_eq(s, gcat_fixture_tokens[i]);
    }
    assert_false(ggufref_array_next_str(&it, &s));
    assert_int_equal(it.pos, a.size);

    assert_int_equal(ggufref_gguf_get_array(g, key_index(g, "tokenizer.ggml.scores"), &a),
                     GGUFREF_OK);
    ggufref_array_iter_init(&it, &a);
    for (size_t i = 0; i < GCAT_FIXTURE_N_TOKENS; i++) {
        assert_true(ggufref_array_next_f32(&it, &f));
        assert_true(f == gcat_fixture_scores[i]);
    }
    assert_false(ggufref_array_next_f32(&it, &f));
    uint32_t raw = 0;
    assert_true(ggufref_array_get_raw(&a, 1, &raw));
    assert_int_equal(raw, 0xBF800000u); /* -1.0f */
    assert_false(ggufref_array_get_raw(&a, GCAT_FIXTURE_N_TOKENS, &raw));

    assert_int_equal(ggufref_gguf_get_array(g, key_index(g, "tokenizer.ggml.token_type"), &a),
                     GGUFREF_OK);
    ggufref_array_iter_init(&it, &a);
    for (size_t i = 0; i < GCAT_FIXTURE_N_TOKENS; i++) {
        assert_true(ggufref_array_next_i32(&it, &i32));
        assert_int_equal(i32, gcat_fixture_types[i]);
    }
    assert_false(ggufref_array_next_i32(&it, &i32));

    assert_int_equal(ggufref_gguf_get_array(g, key_index(g, "test.bools"), &a), GGUFREF_OK);
    uint8_t byte = 9;
    assert_true(ggufref_array_get_raw(&a, 2, &byte));
    assert_int_equal(byte, 1);
    assert_int_equal(ggufref_gguf_get_array(g, key_index(g, "test.empty"), &a), GGUFREF_OK);
    assert_int_equal(a.count, 0);
    assert_int_equal(a.size, 0);
    assert_false(ggufref_array_get_raw(&a, 0, &raw));
}

/* R-GGUF-013: nested arrays are walked with next_array. */
static void check_nested(const ggufref_gguf *g) {
    ggufref_array a;
    ggufref_array inner;
    ggufref_array_iter it;
    ggufref_array_iter it2;
    ggufref_str s;
    assert_int_equal(ggufref_gguf_get_array(g, key_index(g, "test.nested"), &a), GGUFREF_OK);
    assert_int_equal(a.elem_type, GGUFREF_TYPE_ARRAY);
    assert_int_equal(a.count, 3);
    ggufref_array_iter_init(&it, &a);
    assert_false(ggufref_array_next_str(&it, &s));
    assert_true(ggufref_array_next_array(&it, &inner));
    assert_int_equal(inner.elem_type, GGUFREF_TYPE_UINT8);
    assert_int_equal(inner.count, 3);
    uint8_t v = 0;
    assert_true(ggufref_array_get_raw(&inner, 2, &v));
    assert_int_equal(v, 3);
    assert_true(ggufref_array_next_array(&it, &inner));
    assert_int_equal(inner.elem_type, GGUFREF_TYPE_STRING);
    ggufref_array_iter_init(&it2, &inner);
    assert_true(ggufref_array_next_str(&it2, &s));
    assert_str_eq(s, "a");
    assert_true(ggufref_array_next_str(&it2, &s));
    assert_str_eq(s, "bc");
    assert_false(ggufref_array_next_str(&it2, &s));
    assert_true(ggufref_array_next_array(&it, &inner));
    assert_int_equal(inner.elem_type, GGUFREF_TYPE_ARRAY);
    ggufref_array_iter_init(&it2, &inner);
    ggufref_array leaf;
    assert_true(ggufref_array_next_array(&it2, &leaf));
    assert_int_equal(leaf.elem_type, GGUFREF_TYPE_UINT16);
    uint16_t u16 = 0;
    assert_true(ggufref_array_get_raw(&leaf, 0, &u16));
    assert_int_equal(u16, 7);
    assert_false(ggufref_array_next_array(&it, &inner));
    assert_int_equal(it.pos, a.size);

    /* four levels */
    assert_int_equal(ggufref_gguf_get_array(g, key_index(g, "test.deep"), &a), GGUFREF_OK);
    for (int level = 1; level < 4; level++) {
        ggufref_array_iter_init(&it, &a);
        assert_true(ggufref_array_next_array(&it, &a));
    }
    assert_int_equal(a.elem_type, GGUFREF_TYPE_UINT32);
    uint32_t u32 = 0;
    assert_true(ggufref_array_get_raw(&a, 1, &u32));
    assert_int_equal(u32, 10);
}

/* R-GGUF-031: tensors in file order, views into the buffer, lookups. */
static void check_tensors(const ggufref_gguf *g, const uint8_t *bytes) {
    ggufref_tensor t;
    uint64_t expected_offset = 0;
    for (size_t i = 0; i < GCAT_FIXTURE_N_TENSORS; i++) {
        const gb_tensor *want = &gcat_fixture_tensors[i];
        assert_int_equal(ggufref_gguf_tensor(g, i, &t), GGUFREF_OK);
        assert_str_eq(t.name, want->name);
        assert_int_equal(t.n_dims, want->n_dims);
        uint64_t n = 1;
        for (uint32_t j = 0; j < GGUFREF_MAX_DIMS; j++) {
            uint64_t ne = j < want->n_dims ? want->ne[j] : 1;
            assert_int_equal(t.ne[j], ne);
            n *= ne;
        }
        assert_int_equal(t.type, want->type);
        assert_int_equal(t.n_elements, n);
        assert_int_equal(t.n_bytes, gb_tensor_bytes(want->type, want->n_dims, want->ne));
        assert_int_equal(t.offset, expected_offset);
        assert_ptr_equal(t.data, bytes + ggufref_gguf_data_offset(g) + t.offset);
        assert_memory_equal(t.data, gcat_pattern, t.n_bytes);
        expected_offset = (t.offset + t.n_bytes + 31) / 32 * 32;
        assert_int_equal(ggufref_gguf_find_tensor(g, want->name), (int64_t)i);
        assert_int_equal(ggufref_gguf_find_key(g, want->name), -1);
    }
    assert_int_equal(ggufref_gguf_tensor(g, GCAT_FIXTURE_N_TENSORS, &t),
                     GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_gguf_find_tensor(g, "blk.0"), -1);
    assert_int_equal(ggufref_gguf_find_tensor(g, "blk.0.k.weight"), -1);
    assert_int_equal(ggufref_gguf_find_tensor(g, ""), -1);
    assert_int_equal(ggufref_gguf_find_tensor(g, NULL), -1);
    assert_int_equal(ggufref_gguf_find_key(g, "general"), -1);
    assert_int_equal(ggufref_gguf_find_key(g, "general.architecturex"), -1);
    assert_int_equal(ggufref_gguf_find_key(g, NULL), -1);
    assert_ptr_equal(ggufref_gguf_bytes(g), bytes);
}

static void check_fixture(void (*build)(gb_buf *), uint32_t version) {
    opened o;
    open_fixture(&o, build);
    if (version == 2) {
        /* no general.alignment key: default 32, one kv fewer; the rest is the same */
        assert_int_equal(ggufref_gguf_n_kv(o.g), GCAT_FIXTURE_N_KV_BASE);
        assert_int_equal(ggufref_gguf_alignment(o.g), 32);
        assert_int_equal(ggufref_gguf_find_key(o.g, "general.alignment"), -1);
    } else {
        check_header_fields(o.g, version, &o.b);
        check_scalars(o.g);
    }
    assert_int_equal(ggufref_gguf_version(o.g), version);
    check_wrong_types(o.g);
    check_get_uint(o.g);
    check_arrays(o.g);
    check_nested(o.g);
    check_tensors(o.g, o.copy);
    close_fixture(&o);
}

static void test_gguf_accessors_v3(void **state) {
    (void)state;
    check_fixture(gcat_build_v3, 3);
}
static void test_gguf_accessors_v2(void **state) {
    (void)state;
    check_fixture(gcat_build_v2, 2);
}
static void test_gguf_accessors_v1(void **state) {
    (void)state;
    check_fixture(gcat_build_v1, 1);
}

/* R-GGUF-029: a zero-tensor file that ends before its aligned data offset. */
static void test_gguf_vocab_only_data_offset_past_end(void **state) {
    (void)state;
    opened o;
    open_fixture(&o, gcat_build_vocab_only);
    assert_int_equal(ggufref_gguf_n_tensors(o.g), 0);
    assert_true(ggufref_gguf_data_offset(o.g) > ggufref_gguf_size(o.g));
    assert_int_equal(ggufref_gguf_data_offset(o.g) % 32, 0);
    assert_int_equal(ggufref_gguf_find_tensor(o.g, "token_embd.weight"), -1);
    close_fixture(&o);
}

/* A file with a u8 array kv "test.blob" of `blob` bytes and one F32 tensor of `data` bytes
 * (multiples of 4). OUT: *blob_at, *data_at: where the blob's elements and the data start. */
static void build_blob_file(gb_buf *b, size_t blob, size_t data, size_t *blob_at,
                            size_t *data_at) {
    const uint64_t ne[1] = {data / 4};
    gb_init(b, 3);
    gb_header(b, 1, 1);
    gb_kv_array(b, "test.blob", GGUFREF_TYPE_UINT8, blob);
    *blob_at = b->len;
    gb_zeros(b, blob);
    gcat_tensor_info_at(b, "t", 1, ne, GGUFREF_T_F32, 0, GCAT_AT_NONE);
    gb_pad(b, GGUFREF_DEFAULT_ALIGNMENT);
    *data_at = b->len;
    gb_zeros(b, data);
}

/* Allocations made by opening b's bytes (which must be valid). */
static uint64_t open_alloc_count(const gb_buf *b) {
    ggufref_gguf *g = NULL;
    ggufref_error err;
    void *copy = NULL;
    ggufref_fault_alloc_fail_at(0); /* resets the counter */
    assert_int_equal(open_built(b, &g, &err, &copy), GGUFREF_OK);
    uint64_t n = ggufref_fault_alloc_count();
    ggufref_gguf_close(g);
    free(copy);
    return n;
}

/* R-GGUF-001: open reads only the metadata: with every page that lies inside the elements of
 * a u8 array or inside the data section made unreadable (PROT_NONE), the file still opens,
 * and the array and tensor are views into the caller's bytes. Open allocates as often for
 * 64 KiB of array and data as for 4 bytes of each. */
static void test_gguf_open_reads_metadata_only(void **state) {
    (void)state;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t big = 16 * page, blob_at = 0, data_at = 0;
    gb_buf b;
    build_blob_file(&b, big, big, &blob_at, &data_at);
    size_t map_len = (b.len + page - 1) / page * page;
    int fd = open("/dev/zero", O_RDONLY);
    assert_true(fd >= 0);
    uint8_t *base = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    close(fd);
    assert_true(base != MAP_FAILED);
    memcpy(base, b.data, b.len);
    size_t ranges[2][2] = {{blob_at, blob_at + big}, {data_at, data_at + big}};
    for (int r = 0; r < 2; r++) {
        size_t lo = (ranges[r][0] + page - 1) / page * page, hi = ranges[r][1] / page * page;
        assert_true(hi - lo >= 8 * page);
        assert_int_equal(mprotect(base + lo, hi - lo, PROT_NONE), 0);
    }
    ggufref_gguf *g = NULL;
    ggufref_error err;
    assert_int_equal(ggufref_gguf_open_memory(base, b.len, &g, &err), GGUFREF_OK);
    ggufref_array a;
    assert_int_equal(ggufref_gguf_get_array(g, 0, &a), GGUFREF_OK);
    assert_ptr_equal(a.data, base + blob_at);
    assert_int_equal(a.size, big);
    ggufref_tensor t;
    assert_int_equal(ggufref_gguf_tensor(g, 0, &t), GGUFREF_OK);
    assert_ptr_equal(t.data, base + data_at);
    assert_ptr_equal(ggufref_gguf_bytes(g), base);
    ggufref_gguf_close(g);
    assert_int_equal(munmap(base, map_len), 0);

    gb_buf small;
    build_blob_file(&small, 4, 4, &blob_at, &data_at);
    assert_int_equal(open_alloc_count(&b), open_alloc_count(&small));
    gb_free(&small);
    gb_free(&b);
}

/* R-GGUF-027: the data section starts at the end of the tensor infos rounded up to the
 * alignment (32 by default, 64 when general.alignment says so), whatever the padding holds. */
static void test_gguf_data_offset_rounds_up(void **state) {
    (void)state;
    for (uint32_t align = 32; align <= 64; align *= 2) {
        for (size_t name_len = 1; name_len <= 40; name_len++) {
            gb_buf b;
            gb_init(&b, 3);
            gb_header(&b, 1, 1);
            gb_kv_u32(&b, "general.alignment", align);
            gcat_tensor_info_at(&b, gcat_name_of_length(name_len), 1, gcat_ne8, GGUFREF_T_F32, 0,
                                GCAT_AT_NONE);
            size_t infos_end = b.len;
            while (b.len % align != 0) gb_u8(&b, 0xFF);
            gb_zeros(&b, 32);
            ggufref_gguf *g = NULL;
            ggufref_error err;
            void *copy = NULL;
            assert_int_equal(open_built(&b, &g, &err, &copy), GGUFREF_OK);
            assert_int_equal(ggufref_gguf_data_offset(g), (infos_end + align - 1) / align * align);
            ggufref_tensor t;
            assert_int_equal(ggufref_gguf_tensor(g, 0, &t), GGUFREF_OK);
            assert_ptr_equal(t.data, (const uint8_t *)copy + ggufref_gguf_data_offset(g));
            ggufref_gguf_close(g);
            free(copy);
            gb_free(&b);
        }
    }
}

/* R-GGUF-016, R-GGUF-031: 3000 tensors and 2000 keys, all found by binary search. */
static void build_many(gb_buf *b) {
    gb_header(b, 3000, 2000);
    char name[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(name, sizeof name, "k%d", 1999 - i);
        gb_kv_u32(b, name, (uint32_t)i);
    }
    for (int i = 0; i < 3000; i++) {
        snprintf(name, sizeof name, "blk.%d.w", i);
        gb_tensor_info(b, name, 1, gcat_ne8, GGUFREF_T_F32, 32u * (uint64_t)i);
    }
    gb_pad(b, 32);
    gb_zeros(b, 32u * 3000u);
}

static void test_gguf_find_many(void **state) {
    (void)state;
    opened o;
    open_fixture(&o, build_many);
    char name[32];
    for (int i = 0; i < 3000; i++) {
        snprintf(name, sizeof name, "blk.%d.w", i);
        assert_int_equal(ggufref_gguf_find_tensor(o.g, name), i);
    }
    for (int i = 0; i < 2000; i++) {
        snprintf(name, sizeof name, "k%d", 1999 - i);
        assert_int_equal(ggufref_gguf_find_key(o.g, name), i);
    }
    assert_int_equal(ggufref_gguf_find_key(o.g, "k2000"), -1);
    close_fixture(&o);
}

/* R-GGUF-006: bad arguments; a NULL err is allowed. */
static void test_gguf_open_memory_arguments(void **state) {
    (void)state;
    ggufref_gguf *g = NULL;
    ggufref_error err;
    assert_int_equal(ggufref_gguf_open_memory(NULL, 10, &g, &err), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_null(g);
    assert_int_equal(ggufref_gguf_open_memory("GGUF", 4, NULL, &err),
                     GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_gguf_open_memory(NULL, 0, &g, &err), GGUFREF_ERR_TRUNCATED);
    assert_int_equal(err.offset, 0);
    assert_int_equal(ggufref_gguf_open_memory("GGUF\x04\0\0\0", 8, &g, NULL),
                     GGUFREF_ERR_UNSUPPORTED_VERSION);
    assert_null(g);
    ggufref_gguf_close(NULL);
}

/* ===================================================================================== */
/* Type table (R-GGUF-023)                                                                */
/* ===================================================================================== */

static void test_types_table(void **state) {
    (void)state;
    static const struct {
        uint32_t id;
        const char *name;
        uint32_t block, bytes;
        bool decode;
    } want[] = {
        {0, "F32", 1, 4, true},       {1, "F16", 1, 2, true},       {2, "Q4_0", 32, 18, true},
        {3, "Q4_1", 32, 20, true},    {6, "Q5_0", 32, 22, true},    {7, "Q5_1", 32, 24, true},
        {8, "Q8_0", 32, 34, true},    {9, "Q8_1", 32, 36, false},   {10, "Q2_K", 256, 84, true},
        {11, "Q3_K", 256, 110, true}, {12, "Q4_K", 256, 144, true}, {13, "Q5_K", 256, 176, true},
        {14, "Q6_K", 256, 210, true}, {15, "Q8_K", 256, 292, false}, {30, "BF16", 1, 2, true},
    };
    size_t found = 0;
    for (uint32_t id = 0; id < 64; id++) {
        const ggufref_type_info *info = ggufref_type_info_get(id);
        size_t k = 0;
        while (k < sizeof want / sizeof want[0] && want[k].id != id) k++;
        if (k == sizeof want / sizeof want[0]) {
            assert_null(info);
            continue;
        }
        found++;
        assert_non_null(info);
        assert_string_equal(info->name, want[k].name);
        assert_int_equal(info->block_size, want[k].block);
        assert_int_equal(info->type_size, want[k].bytes);
        assert_int_equal(info->can_decode, want[k].decode);
    }
    assert_int_equal(found, sizeof want / sizeof want[0]);
    assert_null(ggufref_type_info_get(UINT32_MAX));
}

static void test_value_type_names_and_sizes(void **state) {
    (void)state;
    assert_string_equal(ggufref_value_type_name(GGUFREF_TYPE_UINT8), "u8");
    assert_string_equal(ggufref_value_type_name(GGUFREF_TYPE_STRING), "str");
    assert_string_equal(ggufref_value_type_name(GGUFREF_TYPE_ARRAY), "arr");
    assert_string_equal(ggufref_value_type_name(GGUFREF_TYPE_FLOAT64), "f64");
    assert_string_equal(ggufref_value_type_name(GGUFREF_VALUE_TYPE_COUNT), "unknown");
    assert_int_equal(ggufref_value_type_size(GGUFREF_TYPE_BOOL), 1);
    assert_int_equal(ggufref_value_type_size(GGUFREF_TYPE_INT16), 2);
    assert_int_equal(ggufref_value_type_size(GGUFREF_TYPE_FLOAT32), 4);
    assert_int_equal(ggufref_value_type_size(GGUFREF_TYPE_FLOAT64), 8);
    assert_int_equal(ggufref_value_type_size(GGUFREF_TYPE_STRING), 0);
    assert_int_equal(ggufref_value_type_size(GGUFREF_TYPE_ARRAY), 0);
    assert_int_equal(ggufref_value_type_size(GGUFREF_VALUE_TYPE_COUNT), 0);
}

/* ===================================================================================== */
/* open_file (R-GGUF-007)                                                                 */
/* ===================================================================================== */

/* A fresh temporary path. OUT: path (PATH_LEN bytes). */
#define PATH_LEN 64
static void temp_path(char path[PATH_LEN]) {
    snprintf(path, PATH_LEN, "/tmp/ggufref_torture_gguf_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
}

static void test_gguf_open_file_valid(void **state) {
    (void)state;
    char path[PATH_LEN];
    temp_path(path);
    gb_buf b;
    gb_init(&b, 3);
    gcat_build_v3(&b);
    assert_int_equal(gb_write_file(&b, path), 0);
    ggufref_gguf *g = NULL;
    ggufref_error err;
    assert_int_equal(ggufref_gguf_open_file(path, &g, &err), GGUFREF_OK);
    assert_int_equal(ggufref_gguf_size(g), b.len);
    assert_memory_equal(ggufref_gguf_bytes(g), b.data, b.len);
    check_tensors(g, ggufref_gguf_bytes(g));
    ggufref_gguf_close(g);
    unlink(path);
    gb_free(&b);
}

/* R-GGUF-007 (issue 16 #4, #5): open_file never blocks and never maps. A FIFO with no writer
 * is IO_ERROR at once (alarm: the old open waited forever); a 1 GiB sparse file of zeros is
 * BAD_MAGIC after reading its first 8 bytes; a file truncated after open leaves the parsed
 * bytes readable (a mapping would raise SIGBUS here). */
static void test_gguf_open_file_never_blocks_or_maps(void **state) {
    (void)state;
    ggufref_gguf *g = NULL;
    ggufref_error err;
    char fifo[PATH_LEN];
    snprintf(fifo, sizeof fifo, "/tmp/ggufref_torture_gguf_fifo_%d", (int)getpid());
    unlink(fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    alarm(20);
    assert_int_equal(ggufref_gguf_open_file(fifo, &g, &err), GGUFREF_ERR_IO);
    alarm(0);
    assert_null(g);
    assert_non_null(strstr(err.message, "not a regular file"));
    assert_int_equal(err.offset, UINT64_MAX);
    unlink(fifo);

    char path[PATH_LEN];
    temp_path(path);
    assert_int_equal(truncate(path, (off_t)1 << 30), 0); /* sparse: no disk blocks */
    ggufref_fault_io_fail_at(UINT64_MAX, GGUFREF_IO_FAULT_SHORT); /* counts bytes read */
    assert_int_equal(ggufref_gguf_open_file(path, &g, &err), GGUFREF_ERR_BAD_MAGIC);
    assert_int_equal(err.offset, 0);
    assert_int_equal(ggufref_fault_io_bytes(), 8);
    assert_null(g);

    gb_buf b;
    gb_init(&b, 3);
    gcat_build_v3(&b);
    assert_int_equal(gb_write_file(&b, path), 0);
    assert_int_equal(ggufref_gguf_open_file(path, &g, &err), GGUFREF_OK);
    assert_int_equal(truncate(path, 0), 0);
    const uint8_t *bytes = ggufref_gguf_bytes(g);
    unsigned sum = 0, want = 0;
    for (size_t i = 0; i < b.len; i++) {
        sum += bytes[i];
        want += b.data[i];
    }
    assert_int_equal(sum, want);
    check_tensors(g, bytes);
    ggufref_gguf_close(g);
    unlink(path);
    gb_free(&b);
}

static void test_gguf_open_file_errors(void **state) {
    (void)state;
    ggufref_gguf *g = NULL;
    ggufref_error err;
    const char *missing = "/tmp/ggufref_torture_gguf_does_not_exist.gguf";
    assert_int_equal(ggufref_gguf_open_file(missing, &g, &err), GGUFREF_ERR_IO);
    assert_null(g);
    assert_non_null(strstr(err.message, missing));
    assert_non_null(strstr(err.message, "No such file"));
    assert_int_equal(err.offset, UINT64_MAX);
    assert_int_equal(ggufref_gguf_open_file("/tmp", &g, &err), GGUFREF_ERR_IO);
    assert_non_null(strstr(err.message, "not a regular file"));
    assert_int_equal(ggufref_gguf_open_file(NULL, &g, &err), GGUFREF_ERR_INVALID_ARGUMENT);

    char path[PATH_LEN];
    temp_path(path); /* empty file */
    assert_int_equal(ggufref_gguf_open_file(path, &g, &err), GGUFREF_ERR_TRUNCATED);
    assert_int_equal(err.offset, 0);
    gb_buf b;
    gb_init(&b, 3);
    gcat_find("bool_2")->build(&b);
    assert_int_equal(gb_write_file(&b, path), 0);
    assert_int_equal(ggufref_gguf_open_file(path, &g, &err), GGUFREF_ERR_BAD_VALUE);
    assert_int_equal(err.offset, b.mark);
    assert_null(g);
    unlink(path);
    gb_free(&b);
}

/* ===================================================================================== */
/* Real files from ../shared/material (skipped when absent)                               */
/* ===================================================================================== */

/* Open a material file, or skip() with a reason. OUT: *g. */
static void open_material(const char *rel, ggufref_gguf **g) {
    char path[512];
    if (!material_path(rel, path, sizeof path)) {
        print_message("skipped: %s is absent (third-party material, see README)\n", path);
        skip();
    }
    ggufref_error err;
    ggufref_status st = ggufref_gguf_open_file(path, g, &err);
    if (st != GGUFREF_OK) print_message("%s: %s\n", path, err.message);
    assert_int_equal(st, GGUFREF_OK);
}

static void check_tokens(const ggufref_gguf *g, uint64_t n_vocab) {
    ggufref_array a;
    assert_int_equal(ggufref_gguf_get_array(g, key_index(g, "tokenizer.ggml.tokens"), &a),
                     GGUFREF_OK);
    assert_int_equal(a.count, n_vocab);
    ggufref_array_iter it;
    ggufref_array_iter_init(&it, &a);
    ggufref_str s;
    uint64_t n = 0;
    while (ggufref_array_next_str(&it, &s)) {
        if (n == 0) assert_str_eq(s, "<unk>");
        if (n == 1) assert_str_eq(s, "<s>");
        n++;
    }
    assert_int_equal(n, n_vocab);
    assert_int_equal(it.pos, a.size);
}

/* stories260K: GGUF v1, 48 F32 tensors, 18 kvs, 512 tokens. */
static void test_gguf_material_stories260k_v1(void **state) {
    (void)state;
    ggufref_gguf *g = NULL;
    open_material("stories260K-f32.v1.gguf", &g);
    assert_int_equal(ggufref_gguf_version(g), 1);
    assert_int_equal(ggufref_gguf_n_tensors(g), 48);
    assert_int_equal(ggufref_gguf_n_kv(g), 18);
    assert_int_equal(ggufref_gguf_alignment(g), 32);
    check_tokens(g, 512);
    uint32_t dim = 0;
    assert_int_equal(ggufref_gguf_get_u32(g, key_index(g, "llama.embedding_length"), &dim),
                     GGUFREF_OK);
    assert_int_equal(dim, 64);
    ggufref_tensor t;
    int64_t i = ggufref_gguf_find_tensor(g, "token_embd.weight");
    assert_int_equal(i, 0);
    assert_int_equal(ggufref_gguf_tensor(g, (uint64_t)i, &t), GGUFREF_OK);
    assert_int_equal(t.type, GGUFREF_T_F32);
    assert_int_equal(t.n_dims, 2);
    assert_int_equal(t.ne[0], 64);
    assert_int_equal(t.ne[1], 512);
    assert_int_equal(t.n_bytes, 64 * 512 * 4);
    assert_int_equal(ggufref_gguf_tensor(g, 47, &t), GGUFREF_OK);
    assert_int_equal(ggufref_gguf_data_offset(g) + t.offset + t.n_bytes, ggufref_gguf_size(g));
    /* every prefix through the metadata, and a sample through the data, is TRUNCATED */
    size_t meta = (size_t)ggufref_gguf_data_offset(g);
    check_prefixes(ggufref_gguf_bytes(g), meta + 64, true, 0, 1);
    check_prefixes(ggufref_gguf_bytes(g), ggufref_gguf_size(g), true, 0, 65537);
    ggufref_gguf_close(g);
}

/* ollama's llama-2-tiny-random: v3, 12 tensors (F16 and F32), 18 kvs, 32000 tokens. */
static void test_gguf_material_ollama_tiny(void **state) {
    (void)state;
    ggufref_gguf *g = NULL;
    open_material("ollama/llama-2-tiny-random.gguf", &g);
    assert_int_equal(ggufref_gguf_version(g), 3);
    assert_int_equal(ggufref_gguf_n_tensors(g), 12);
    assert_int_equal(ggufref_gguf_n_kv(g), 18);
    check_tokens(g, 32000);
    ggufref_tensor t;
    int64_t i = ggufref_gguf_find_tensor(g, "blk.0.attn_q.weight");
    assert_true(i >= 0);
    assert_int_equal(ggufref_gguf_tensor(g, (uint64_t)i, &t), GGUFREF_OK);
    assert_int_equal(t.type, GGUFREF_T_F16);
    assert_int_equal(t.n_bytes, 8 * 8 * 2);
    ggufref_gguf_close(g);
}

/* llama.cpp's vocab-only llama-spm: v3, 0 tensors, 22 kvs, ends before the data offset. */
static void test_gguf_material_vocab_spm(void **state) {
    (void)state;
    ggufref_gguf *g = NULL;
    open_material("llama.cpp-vocab/ggml-vocab-llama-spm.gguf", &g);
    assert_int_equal(ggufref_gguf_version(g), 3);
    assert_int_equal(ggufref_gguf_n_tensors(g), 0);
    assert_int_equal(ggufref_gguf_n_kv(g), 22);
    assert_true(ggufref_gguf_data_offset(g) > ggufref_gguf_size(g));
    check_tokens(g, 32000);
    bool add_bos = false;
    assert_int_equal(
        ggufref_gguf_get_bool(g, key_index(g, "tokenizer.ggml.add_bos_token"), &add_bos),
        GGUFREF_OK);
    assert_true(add_bos);
    /* sampled prefixes: TRUNCATED until the last kv is complete (the whole file) */
    check_prefixes(ggufref_gguf_bytes(g), ggufref_gguf_size(g), false, ggufref_gguf_size(g),
                   4099);
    ggufref_gguf_close(g);
}

/* ===================================================================================== */

int main(void) {
    struct CMUnitTest *catalog_tests = calloc(gcat_n_cases, sizeof *catalog_tests);
    char (*names)[96] = calloc(gcat_n_cases, sizeof *names);
    if (catalog_tests == NULL || names == NULL) return 1;
    for (size_t i = 0; i < gcat_n_cases; i++) {
        snprintf(names[i], sizeof names[i], "test_gguf_catalog_%s", gcat_cases[i].name);
        catalog_tests[i] = (struct CMUnitTest){names[i], run_catalog_case, NULL, NULL,
                                               (void *)&gcat_cases[i]};
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gguf_prefixes_truncated),
        cmocka_unit_test(test_gguf_open_fault_injection),
        cmocka_unit_test(test_gguf_accessors_v3),
        cmocka_unit_test(test_gguf_accessors_v2),
        cmocka_unit_test(test_gguf_accessors_v1),
        cmocka_unit_test(test_gguf_vocab_only_data_offset_past_end),
        cmocka_unit_test(test_gguf_open_reads_metadata_only),
        cmocka_unit_test(test_gguf_data_offset_rounds_up),
        cmocka_unit_test(test_gguf_find_many),
        cmocka_unit_test(test_gguf_open_memory_arguments),
        cmocka_unit_test(test_types_table),
        cmocka_unit_test(test_value_type_names_and_sizes),
        cmocka_unit_test(test_gguf_open_file_valid),
        cmocka_unit_test(test_gguf_open_file_errors),
        cmocka_unit_test(test_gguf_open_file_never_blocks_or_maps),
        cmocka_unit_test(test_gguf_material_stories260k_v1),
        cmocka_unit_test(test_gguf_material_ollama_tiny),
        cmocka_unit_test(test_gguf_material_vocab_spm),
    };
    int failed = _cmocka_run_group_tests("gguf_catalog", catalog_tests, gcat_n_cases, NULL, NULL);
    failed += cmocka_run_group_tests_name("gguf", tests, NULL, NULL);
    free(names);
    free(catalog_tests);
    return failed == 0 ? 0 : 1;
}
