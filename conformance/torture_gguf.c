/*
 * torture_gguf.c — the GGUF reader against SPEC chapter 2 (R-GGUF-*).
 *
 * 1. The malformed-GGUF catalog: ONE table of {name, build, expected status, rule}. Each build
 *    function writes a file byte by byte with the test builder (support/gguf_builder.h) and may
 *    gb_mark() the byte offset the error must name. The table also holds valid edge cases
 *    (expected OK). Every row is one cmocka test, test_gguf_catalog_<name>.
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
#include "gguf_builder.h"

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
/* Valid fixtures                                                                         */
/* ===================================================================================== */

static uint8_t pattern[256]; /* tensor bytes: pattern[k] = k * 13 + 7 */

static void init_pattern(void) {
    for (size_t k = 0; k < sizeof pattern; k++) pattern[k] = (uint8_t)(k * 13 + 7);
}

static const char *const fixture_tokens[] = {"<unk>", "<s>", "</s>", "", "hello",
                                             "\xe2\x96\x81world"};
static const float fixture_scores[] = {0.0f, -1.0f, -2.0f, -3.5f, 0.25f, 1e30f};
static const int32_t fixture_types[] = {2, 3, 3, 1, 1, -6};
#define FIXTURE_N_TOKENS 6u
#define FIXTURE_N_KV_BASE 20u /* kvs without general.alignment */

/* 6 + 1 tensors covering scalar, quantized and 4-dimensional layouts. */
static const gb_tensor fixture_tensors[] = {
    {"token_embd.weight", 2, {8, 6}, GGUFREF_T_F32, pattern},   /* 192 B */
    {"blk.0.attn_q.weight", 1, {32}, GGUFREF_T_F16, pattern},    /* 64 B */
    {"blk.0.q4", 2, {64, 2}, GGUFREF_T_Q4_0, pattern},           /* 72 B */
    {"blk.0.q8", 1, {32}, GGUFREF_T_Q8_0, pattern},              /* 34 B */
    {"blk.0.k", 1, {256}, GGUFREF_T_Q4_K, pattern},              /* 144 B */
    {"blk.0.bf", 4, {2, 2, 2, 2}, GGUFREF_T_BF16, pattern},      /* 32 B */
    {"output_norm.weight", 1, {8}, GGUFREF_T_F32, pattern},      /* 32 B */
};
#define FIXTURE_N_TENSORS (sizeof fixture_tensors / sizeof fixture_tensors[0])

/* The kvs of the fixture (FIXTURE_N_KV_BASE, plus general.alignment when alignment != 0). */
static void fixture_kvs(gb_buf *b, uint32_t alignment) {
    gb_kv_str(b, "general.architecture", "llama");
    if (alignment != 0) gb_kv_u32(b, "general.alignment", alignment);
    gb_kv_u8(b, "test.u8", 200);
    gb_key(b, "test.i8", GGUFREF_TYPE_INT8);
    gb_u8(b, (uint8_t)-5);
    gb_key(b, "test.u16", GGUFREF_TYPE_UINT16);
    gb_u16(b, 60000);
    gb_key(b, "test.i16", GGUFREF_TYPE_INT16);
    gb_u16(b, (uint16_t)-30000);
    gb_kv_u32(b, "test.u32", 4000000000u);
    gb_kv_i32(b, "test.i32", -7);
    gb_kv_f32(b, "test.f32", 1.5f);
    gb_kv_bool(b, "test.bool", true);
    gb_kv_str(b, "test.str", "");
    gb_kv_u64(b, "test.u64", (1ull << 40) + 3);
    gb_key(b, "test.i64", GGUFREF_TYPE_INT64);
    gb_u64(b, (uint64_t)-(1ll << 40));
    gb_key(b, "test.f64", GGUFREF_TYPE_FLOAT64);
    gb_f64(b, -2.25);
    gb_kv_str_array(b, "tokenizer.ggml.tokens", fixture_tokens, FIXTURE_N_TOKENS);
    gb_kv_f32_array(b, "tokenizer.ggml.scores", fixture_scores, FIXTURE_N_TOKENS);
    gb_kv_i32_array(b, "tokenizer.ggml.token_type", fixture_types, FIXTURE_N_TOKENS);
    gb_kv_array(b, "test.bools", GGUFREF_TYPE_BOOL, 3);
    gb_u8(b, 0);
    gb_u8(b, 1);
    gb_u8(b, 1);
    gb_kv_array(b, "test.empty", GGUFREF_TYPE_UINT32, 0);
    /* [[1,2,3] u8, ["a","bc"], [[7] u16]]: arrays of different element types, depth 3 */
    gb_kv_array(b, "test.nested", GGUFREF_TYPE_ARRAY, 3);
    gb_array(b, GGUFREF_TYPE_UINT8, 3);
    gb_u8(b, 1);
    gb_u8(b, 2);
    gb_u8(b, 3);
    gb_array(b, GGUFREF_TYPE_STRING, 2);
    gb_str(b, "a");
    gb_str(b, "bc");
    gb_array(b, GGUFREF_TYPE_ARRAY, 1);
    gb_array(b, GGUFREF_TYPE_UINT16, 1);
    gb_u16(b, 7);
    /* [[[[9, 10] u32]]]: exactly GGUFREF_MAX_ARRAY_DEPTH (4) levels */
    gb_kv_array(b, "test.deep", GGUFREF_TYPE_ARRAY, 1);
    gb_array(b, GGUFREF_TYPE_ARRAY, 1);
    gb_array(b, GGUFREF_TYPE_ARRAY, 1);
    gb_array(b, GGUFREF_TYPE_UINT32, 2);
    gb_u32(b, 9);
    gb_u32(b, 10);
}

/* A complete model: header, kvs, the first n_tensors fixture tensors with their data.
 * alignment 0 = no general.alignment key (default 32). */
static void build_model(gb_buf *b, uint32_t alignment, size_t n_tensors) {
    uint32_t align = alignment == 0 ? GGUFREF_DEFAULT_ALIGNMENT : alignment;
    gb_header(b, n_tensors, FIXTURE_N_KV_BASE + (alignment != 0));
    fixture_kvs(b, alignment);
    gb_tensor_infos(b, fixture_tensors, n_tensors, align);
    gb_tensor_data(b, fixture_tensors, n_tensors, align);
}

static void build_v3(gb_buf *b) { build_model(b, 32, FIXTURE_N_TENSORS); }
static void build_v2(gb_buf *b) {
    b->version = 2;
    build_model(b, 0, FIXTURE_N_TENSORS);
}
static void build_v1(gb_buf *b) {
    b->version = 1;
    build_model(b, 32, FIXTURE_N_TENSORS);
}
/* Zero tensors; ends right after the kvs, before the aligned data offset (R-GGUF-029). */
static void build_vocab_only(gb_buf *b) {
    gb_header(b, 0, FIXTURE_N_KV_BASE);
    fixture_kvs(b, 0);
    assert_true(b->len % 32 != 0);
}

/* ===================================================================================== */
/* Catalog helpers                                                                        */
/* ===================================================================================== */

/* Header (version b->version) with one kv, general.architecture = "llama". */
static void header_one_kv(gb_buf *b, uint64_t n_tensors) {
    gb_header(b, n_tensors, 1);
    gb_kv_str(b, "general.architecture", "llama");
}

enum mark_at { AT_NONE, AT_NAME, AT_NDIMS, AT_NE0, AT_NE1, AT_NE3, AT_TYPE, AT_OFFSET };

/* One tensor info, marking the field `at`. */
static void tensor_info_at(gb_buf *b, const char *name, uint32_t n_dims, const uint64_t *ne,
                           uint32_t type, uint64_t offset, enum mark_at at) {
    if (at == AT_NAME) gb_mark(b);
    gb_str(b, name);
    if (at == AT_NDIMS) gb_mark(b);
    gb_u32(b, n_dims);
    for (uint32_t j = 0; j < n_dims; j++) {
        if ((at == AT_NE0 && j == 0) || (at == AT_NE1 && j == 1) || (at == AT_NE3 && j == 3)) {
            gb_mark(b);
        }
        gb_count(b, ne[j]);
    }
    if (at == AT_TYPE) gb_mark(b);
    gb_u32(b, type);
    if (at == AT_OFFSET) gb_mark(b);
    gb_u64(b, offset);
}

/* A one-tensor file whose tensor info is given; data: 64 zero bytes after the padding. */
static void one_tensor(gb_buf *b, const char *name, uint32_t n_dims, const uint64_t *ne,
                       uint32_t type, uint64_t offset, enum mark_at at) {
    header_one_kv(b, 1);
    tensor_info_at(b, name, n_dims, ne, type, offset, at);
    gb_pad(b, 32);
    gb_zeros(b, 64);
}

/* A zero-tensor file with one kv whose key is given; the caller writes type and value. */
static void one_kv_key(gb_buf *b, const char *key) {
    gb_header(b, 0, 1);
    gb_str(b, key);
}

/* A zero-tensor file with one kv "test.k" of `type`; marks the value; caller writes it. */
static void one_kv_value(gb_buf *b, uint32_t type) {
    one_kv_key(b, "test.k");
    gb_u32(b, type);
    gb_mark(b);
}

/* ===================================================================================== */
/* Catalog: build functions (grouped as the SPEC rules they break)                        */
/* ===================================================================================== */

/* --- R-GGUF-003 magic ----------------------------------------------------------------- */
static void c_empty_file(gb_buf *b) { gb_mark(b); }
static void c_magic_partial(gb_buf *b) {
    gb_mark(b);
    gb_bytes(b, "GG", 2);
}
static void c_magic_bad(gb_buf *b) {
    gb_mark(b);
    gb_bytes(b, "GGML", 4);
    gb_u32(b, 3);
    gb_zeros(b, 16);
}
static void c_magic_lowercase(gb_buf *b) {
    gb_mark(b);
    gb_bytes(b, "gguf", 4);
    gb_u32(b, 3);
    gb_zeros(b, 16);
}
static void c_magic_one_wrong_byte(gb_buf *b) {
    gb_mark(b);
    gb_bytes(b, "X", 1);
}
static void c_magic_byte_swapped(gb_buf *b) {
    gb_mark(b);
    gb_bytes(b, "FUGG", 4);
    gb_u32(b, 0x03000000u);
    gb_zeros(b, 16);
}

/* --- R-GGUF-004 version ----------------------------------------------------------------- */
static void version_file(gb_buf *b, uint32_t version) {
    gb_bytes(b, "GGUF", 4);
    gb_mark(b);
    gb_u32(b, version);
    gb_zeros(b, 16);
}
static void c_version_0(gb_buf *b) { version_file(b, 0); }
static void c_version_4(gb_buf *b) { version_file(b, 4); }
static void c_version_ffffffff(gb_buf *b) { version_file(b, 0xFFFFFFFFu); }
static void c_version_swapped_3(gb_buf *b) { version_file(b, 0x03000000u); }
static void c_version_swapped_1(gb_buf *b) { version_file(b, 0x01000000u); }
static void c_version_0x04000000(gb_buf *b) { version_file(b, 0x04000000u); }
static void c_version_truncated(gb_buf *b) {
    gb_bytes(b, "GGUF", 4);
    gb_mark(b);
    gb_u16(b, 3);
}
static void c_version_1_valid(gb_buf *b) { build_v1(b); }
static void c_version_2_valid(gb_buf *b) { build_v2(b); }
static void c_version_3_valid(gb_buf *b) { build_v3(b); }

/* --- R-GGUF-011 counts ------------------------------------------------------------------ */
static void c_n_tensors_truncated(gb_buf *b) {
    gb_bytes(b, "GGUF", 4);
    gb_u32(b, 3);
    gb_mark(b);
    gb_u32(b, 0);
}
static void c_n_kv_truncated(gb_buf *b) {
    gb_bytes(b, "GGUF", 4);
    gb_u32(b, 3);
    gb_u64(b, 0);
    gb_mark(b);
    gb_zeros(b, 7);
}
static void counts_file(gb_buf *b, uint64_t n_tensors, uint64_t n_kv, bool mark_kv) {
    gb_bytes(b, "GGUF", 4);
    gb_u32(b, b->version);
    if (!mark_kv) gb_mark(b);
    gb_count(b, n_tensors);
    if (mark_kv) gb_mark(b);
    gb_count(b, n_kv);
    gb_kv_str(b, "general.architecture", "llama");
    gb_zeros(b, 64);
}
static void c_n_kv_max(gb_buf *b) { counts_file(b, 0, UINT64_MAX, true); }
static void c_n_kv_2pow63(gb_buf *b) { counts_file(b, 0, 1ull << 63, true); }
/* n_kv * 48 (an entry's size) wraps to a small number */
static void c_n_kv_product_wraps(gb_buf *b) { counts_file(b, 0, 0x0555555555555556ull, true); }
static void c_n_tensors_max(gb_buf *b) { counts_file(b, UINT64_MAX, 1, false); }
/* n_tensors * 128 wraps to 128 */
static void c_n_tensors_product_wraps(gb_buf *b) {
    counts_file(b, 0x0200000000000001ull, 1, false);
}
static void c_n_tensors_one_past_file(gb_buf *b) { counts_file(b, 3, 1, false); }
static void c_v1_n_kv_max(gb_buf *b) {
    b->version = 1;
    counts_file(b, 0, UINT32_MAX, true);
}
/* n_kv = 2 passes the minimum-size check, the file holds one kv: ends at kv 1's key */
static void c_n_kv_one_more_than_present(gb_buf *b) {
    gb_header(b, 0, 2);
    gb_kv_str(b, "general.architecture", "a much longer value to pass the count check");
    gb_mark(b);
}
/* one tensor announced, the file ends after the kvs */
static void c_tensor_infos_missing(gb_buf *b) {
    gb_header(b, 1, 1);
    gb_kv_str(b, "general.architecture", "a value long enough for the count check ......");
    gb_mark(b);
}

/* --- R-GGUF-010 strings and keys --------------------------------------------------------- */
static void c_key_empty(gb_buf *b) {
    gb_header(b, 0, 1);
    gb_mark(b);
    gb_key(b, "", GGUFREF_TYPE_UINT32);
    gb_u32(b, 1);
}
static void c_key_len_max(gb_buf *b) {
    gb_header(b, 0, 1);
    gb_mark(b);
    gb_u64(b, UINT64_MAX);
    gb_zeros(b, 32);
}
static void c_key_len_past_limit(gb_buf *b) {
    gb_header(b, 0, 1);
    gb_mark(b);
    gb_u64(b, GGUFREF_MAX_KEY_LEN + 1ull);
    gb_zeros(b, GGUFREF_MAX_KEY_LEN + 16);
}
static void c_key_longer_than_file(gb_buf *b) {
    gb_header(b, 0, 1);
    gb_u64(b, 100);
    gb_mark(b);
    gb_bytes(b, "general.architecture....", 24);
}
/* two kvs announced (28 bytes at least, present), the second's key length cut after 3 bytes */
static void c_key_len_truncated(gb_buf *b) {
    gb_header(b, 0, 2);
    gb_kv_str(b, "general.architecture", "llama");
    gb_mark(b);
    gb_zeros(b, 3);
}
static void c_v1_key_len_max(gb_buf *b) {
    b->version = 1;
    gb_header(b, 0, 1);
    gb_mark(b);
    gb_u32(b, UINT32_MAX);
    gb_zeros(b, 32);
}
static void c_key_at_limit_valid(gb_buf *b) {
    char *key = malloc(GGUFREF_MAX_KEY_LEN + 1);
    assert_non_null(key);
    memset(key, 'k', GGUFREF_MAX_KEY_LEN);
    key[GGUFREF_MAX_KEY_LEN] = '\0';
    gb_header(b, 0, 1);
    gb_kv_u32(b, key, 1);
    free(key);
}
static void c_string_len_max(gb_buf *b) {
    one_kv_value(b, GGUFREF_TYPE_STRING);
    gb_u64(b, UINT64_MAX);
    gb_zeros(b, 16);
}
static void c_string_past_limit(gb_buf *b) {
    one_kv_value(b, GGUFREF_TYPE_STRING);
    gb_u64(b, GGUFREF_MAX_STRING_LEN + 1ull);
    gb_zeros(b, 16);
}
static void c_string_longer_than_file(gb_buf *b) {
    one_kv_value(b, GGUFREF_TYPE_STRING);
    gb_u64(b, 1000);
    gb_mark(b);
    gb_bytes(b, "short", 5);
}
static void c_v1_string_longer_than_file(gb_buf *b) {
    b->version = 1;
    one_kv_value(b, GGUFREF_TYPE_STRING);
    gb_u32(b, 1000);
    gb_mark(b);
    gb_bytes(b, "short", 5);
}
static void c_string_empty_value_valid(gb_buf *b) {
    one_kv_value(b, GGUFREF_TYPE_STRING);
    gb_u64(b, 0);
}

/* --- R-GGUF-012 value types and values ---------------------------------------------------- */
static void c_value_type_13(gb_buf *b) {
    one_kv_key(b, "test.k");
    gb_mark(b);
    gb_u32(b, 13);
    gb_u32(b, 0);
}
static void c_value_type_max(gb_buf *b) {
    one_kv_key(b, "test.k");
    gb_mark(b);
    gb_u32(b, UINT32_MAX);
    gb_u32(b, 0);
}
static void c_value_type_truncated(gb_buf *b) {
    one_kv_key(b, "test.key.long.enough");
    gb_mark(b);
    gb_u16(b, 4);
}
static void c_value_u32_truncated(gb_buf *b) {
    one_kv_value(b, GGUFREF_TYPE_UINT32);
    gb_u16(b, 1);
}
static void c_value_f64_truncated(gb_buf *b) {
    one_kv_value(b, GGUFREF_TYPE_FLOAT64);
    gb_u32(b, 1);
}
static void c_value_f32_nan_valid(gb_buf *b) {
    one_kv_value(b, GGUFREF_TYPE_FLOAT32);
    gb_u32(b, 0x7FC00001u);
}

/* --- R-GGUF-014 bools -------------------------------------------------------------------- */
static void c_bool_2(gb_buf *b) {
    one_kv_value(b, GGUFREF_TYPE_BOOL);
    gb_u8(b, 2);
}
static void c_bool_ff(gb_buf *b) {
    one_kv_value(b, GGUFREF_TYPE_BOOL);
    gb_u8(b, 0xFF);
}
static void c_bool_array_element(gb_buf *b) {
    one_kv_key(b, "test.k");
    gb_u32(b, GGUFREF_TYPE_ARRAY);
    gb_array(b, GGUFREF_TYPE_BOOL, 4);
    gb_u8(b, 1);
    gb_u8(b, 0);
    gb_mark(b);
    gb_u8(b, 7);
    gb_u8(b, 1);
}

/* --- R-GGUF-011, R-GGUF-012 arrays ------------------------------------------------------- */
/* An array kv; marks the element type field. */
static void array_kv(gb_buf *b, uint32_t elem_type, uint64_t count, bool mark_count) {
    one_kv_key(b, "test.array");
    gb_u32(b, GGUFREF_TYPE_ARRAY);
    if (!mark_count) gb_mark(b);
    gb_u32(b, elem_type);
    if (mark_count) gb_mark(b);
    gb_count(b, count);
}
static void c_array_elem_type_13(gb_buf *b) {
    array_kv(b, 13, 1, false);
    gb_u32(b, 0);
}
static void c_array_count_max_u32(gb_buf *b) {
    array_kv(b, GGUFREF_TYPE_UINT32, UINT64_MAX, true);
    gb_u32(b, 1);
}
/* 2^61 + 1 elements of 8 bytes: count * 8 wraps to 8 */
static void c_array_count_times_size_wraps(gb_buf *b) {
    array_kv(b, GGUFREF_TYPE_UINT64, (1ull << 61) + 1, true);
    gb_u64(b, 1);
}
static void c_array_count_past_file(gb_buf *b) {
    array_kv(b, GGUFREF_TYPE_UINT32, 10, true);
    gb_u32(b, 1);
    gb_u32(b, 2);
}
static void c_array_strings_count_2pow63(gb_buf *b) {
    array_kv(b, GGUFREF_TYPE_STRING, 1ull << 63, true);
    gb_str(b, "x");
}
static void c_array_string_longer_than_file(gb_buf *b) {
    array_kv(b, GGUFREF_TYPE_STRING, 2, false);
    gb_str(b, "first");
    gb_u64(b, 50);
    gb_mark(b);
    gb_bytes(b, "second", 6);
}
static void c_array_string_len_max(gb_buf *b) {
    array_kv(b, GGUFREF_TYPE_STRING, 2, false);
    gb_str(b, "first");
    gb_mark(b);
    gb_u64(b, UINT64_MAX);
    gb_zeros(b, 16);
}
static void c_v1_array_count_max(gb_buf *b) {
    b->version = 1;
    array_kv(b, GGUFREF_TYPE_UINT16, UINT32_MAX, true);
    gb_u16(b, 1);
}
static void c_array_elements_truncated(gb_buf *b) {
    array_kv(b, GGUFREF_TYPE_UINT32, 2, false);
    gb_u32(b, 1);
    gb_u16(b, 2);
    b->mark = GB_NO_MARK; /* the count check catches it at the count field */
}

/* --- R-GGUF-013 nested arrays ------------------------------------------------------------- */
/* `levels` nested array headers, the innermost an array of one u8. Marks the header at
 * level mark_level (1 = outermost; 0 = none). */
static void nested(gb_buf *b, uint32_t levels, uint32_t mark_level) {
    one_kv_key(b, "test.nested");
    gb_u32(b, GGUFREF_TYPE_ARRAY);
    for (uint32_t level = 1; level <= levels; level++) {
        if (level == mark_level) gb_mark(b);
        gb_array(b, level < levels ? GGUFREF_TYPE_ARRAY : GGUFREF_TYPE_UINT8, 1);
    }
    gb_u8(b, 42);
}
static void c_nested_depth_4_valid(gb_buf *b) { nested(b, 4, 0); }
static void c_nested_depth_5(gb_buf *b) { nested(b, 5, 5); }
static void c_nested_depth_100(gb_buf *b) { nested(b, 100, 5); }
static void c_nested_inner_elem_type_bad(gb_buf *b) {
    array_kv(b, GGUFREF_TYPE_ARRAY, 2, false);
    gb_array(b, GGUFREF_TYPE_UINT8, 1);
    gb_u8(b, 1);
    gb_mark(b);
    gb_array(b, 99, 1);
    gb_u8(b, 1);
}
static void c_nested_inner_count_huge(gb_buf *b) {
    array_kv(b, GGUFREF_TYPE_ARRAY, 1, false);
    gb_u32(b, GGUFREF_TYPE_UINT32);
    gb_mark(b);
    gb_u64(b, UINT64_MAX / 2);
    gb_u32(b, 5);
}
static void c_nested_outer_count_past_file(gb_buf *b) {
    array_kv(b, GGUFREF_TYPE_ARRAY, 1000, true);
    gb_array(b, GGUFREF_TYPE_UINT8, 0);
}
static void c_nested_bool_bad(gb_buf *b) {
    array_kv(b, GGUFREF_TYPE_ARRAY, 1, false);
    gb_array(b, GGUFREF_TYPE_BOOL, 2);
    gb_u8(b, 1);
    gb_mark(b);
    gb_u8(b, 3);
}

/* --- R-GGUF-016 duplicate keys ------------------------------------------------------------ */
static void c_duplicate_key(gb_buf *b) {
    gb_header(b, 0, 3);
    gb_kv_str(b, "general.architecture", "llama");
    gb_kv_u32(b, "test.a", 1);
    gb_mark(b);
    gb_kv_str(b, "general.architecture", "llama");
}
static void c_duplicate_key_other_type(gb_buf *b) {
    gb_header(b, 0, 2);
    gb_kv_u32(b, "test.a", 1);
    gb_mark(b);
    gb_kv_str(b, "test.a", "one");
}
static void c_duplicate_alignment(gb_buf *b) {
    gb_header(b, 0, 2);
    gb_kv_u32(b, "general.alignment", 32);
    gb_mark(b);
    gb_kv_u32(b, "general.alignment", 64);
}
/* 2000 distinct keys, then two duplicates: the earlier in file order is reported */
static void c_duplicate_key_among_many(gb_buf *b) {
    gb_header(b, 0, 2003);
    char key[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "test.key.%04d", i);
        gb_kv_u8(b, key, 1);
    }
    gb_kv_u8(b, "test.other", 1);
    gb_mark(b);
    gb_kv_u8(b, "test.key.1999", 2);
    gb_kv_u8(b, "test.key.0000", 2);
}
static void c_keys_prefix_of_each_other_valid(gb_buf *b) {
    gb_header(b, 0, 3);
    gb_kv_u8(b, "a.b", 1);
    gb_kv_u8(b, "a.bc", 1);
    gb_kv_u8(b, "a", 1);
}

/* --- R-GGUF-020 general.alignment --------------------------------------------------------- */
static void alignment_value(gb_buf *b, uint32_t v) {
    gb_header(b, 0, 1);
    gb_key(b, "general.alignment", GGUFREF_TYPE_UINT32);
    gb_mark(b);
    gb_u32(b, v);
}
static void alignment_type(gb_buf *b, uint32_t type) {
    gb_header(b, 0, 1);
    gb_str(b, "general.alignment");
    gb_mark(b);
    gb_u32(b, type);
}
static void c_alignment_u64(gb_buf *b) {
    alignment_type(b, GGUFREF_TYPE_UINT64);
    gb_u64(b, 32);
}
static void c_alignment_i32(gb_buf *b) {
    alignment_type(b, GGUFREF_TYPE_INT32);
    gb_i32(b, 32);
}
static void c_alignment_string(gb_buf *b) {
    alignment_type(b, GGUFREF_TYPE_STRING);
    gb_str(b, "32");
}
static void c_alignment_array(gb_buf *b) {
    alignment_type(b, GGUFREF_TYPE_ARRAY);
    gb_array(b, GGUFREF_TYPE_UINT32, 1);
    gb_u32(b, 32);
}
static void c_alignment_0(gb_buf *b) { alignment_value(b, 0); }
static void c_alignment_13(gb_buf *b) { alignment_value(b, 13); }
static void c_alignment_2pow31(gb_buf *b) { alignment_value(b, 1u << 31); }
static void c_alignment_4(gb_buf *b) { alignment_value(b, 4); }
static void c_alignment_1(gb_buf *b) { alignment_value(b, 1); }
static void c_alignment_8_valid(gb_buf *b) {
    b->mark = GB_NO_MARK;
    build_model(b, 8, FIXTURE_N_TENSORS);
}
static void c_alignment_2pow30_no_tensors_valid(gb_buf *b) { alignment_value(b, 1u << 30); }
static void c_alignment_64_valid(gb_buf *b) { build_model(b, 64, FIXTURE_N_TENSORS); }
static void c_alignment_64_applies_to_offsets(gb_buf *b) {
    /* with alignment 64, a tensor at a multiple of 32 only is rejected */
    gb_header(b, 2, 2);
    gb_kv_str(b, "general.architecture", "llama");
    gb_kv_u32(b, "general.alignment", 64);
    const uint64_t ne[1] = {8};
    tensor_info_at(b, "a", 1, ne, GGUFREF_T_F32, 0, AT_NONE);
    tensor_info_at(b, "b", 1, ne, GGUFREF_T_F32, 32, AT_OFFSET);
    gb_pad(b, 64);
    gb_zeros(b, 128);
}

/* --- R-GGUF-010, R-GGUF-026 tensor names --------------------------------------------------- */
static const uint64_t ne8[1] = {8};
/* A name of n 'w' bytes (n < 128), in a static buffer. */
static const char *name_of_length(size_t n) {
    static char name[128];
    memset(name, 'w', n);
    name[n] = '\0';
    return name;
}
static void c_tensor_name_64(gb_buf *b) {
    one_tensor(b, name_of_length(GGUFREF_MAX_TENSOR_NAME_LEN), 1, ne8, GGUFREF_T_F32, 0,
               AT_NAME);
}
static void c_tensor_name_63_valid(gb_buf *b) {
    one_tensor(b, name_of_length(GGUFREF_MAX_TENSOR_NAME_LEN - 1), 1, ne8, GGUFREF_T_F32, 0,
               AT_NONE);
}
static void c_tensor_name_empty(gb_buf *b) {
    one_tensor(b, "", 1, ne8, GGUFREF_T_F32, 0, AT_NAME);
}
static void c_tensor_name_len_max(gb_buf *b) {
    header_one_kv(b, 1);
    gb_mark(b);
    gb_u64(b, UINT64_MAX);
    gb_zeros(b, 64);
}
static void c_tensor_name_truncated(gb_buf *b) {
    header_one_kv(b, 1);
    gb_u64(b, 40);
    gb_mark(b);
    gb_bytes(b, "blk.0.attn_q.weight", 19);
    gb_zeros(b, 14); /* 33 bytes: passes the count check */
}
static void c_tensor_name_duplicate(gb_buf *b) {
    header_one_kv(b, 3);
    tensor_info_at(b, "a", 1, ne8, GGUFREF_T_F32, 0, AT_NONE);
    tensor_info_at(b, "b", 1, ne8, GGUFREF_T_F32, 32, AT_NONE);
    tensor_info_at(b, "a", 1, ne8, GGUFREF_T_F32, 64, AT_NAME);
    gb_pad(b, 32);
    gb_zeros(b, 96);
}
static void c_tensor_name_duplicate_among_3000(gb_buf *b) {
    header_one_kv(b, 3001);
    char name[32];
    for (int i = 0; i < 3000; i++) {
        snprintf(name, sizeof name, "blk.%d.w", i);
        tensor_info_at(b, name, 1, ne8, GGUFREF_T_F32, 32u * (uint64_t)i, AT_NONE);
    }
    tensor_info_at(b, "blk.1234.w", 1, ne8, GGUFREF_T_F32, 32u * 3000u, AT_NAME);
    gb_pad(b, 32);
    gb_zeros(b, 32u * 3001u);
}

/* --- R-GGUF-021, R-GGUF-022 dims ------------------------------------------------------------ */
static void c_n_dims_0(gb_buf *b) { one_tensor(b, "t", 0, ne8, GGUFREF_T_F32, 0, AT_NDIMS); }
static void c_n_dims_5(gb_buf *b) {
    const uint64_t ne[5] = {8, 1, 1, 1, 1};
    one_tensor(b, "t", 5, ne, GGUFREF_T_F32, 0, AT_NDIMS);
}
static void c_n_dims_max(gb_buf *b) {
    header_one_kv(b, 1);
    gb_str(b, "t");
    gb_mark(b);
    gb_u32(b, UINT32_MAX);
    gb_zeros(b, 64);
}
static void c_dim_zero(gb_buf *b) {
    const uint64_t ne[2] = {8, 0};
    one_tensor(b, "t", 2, ne, GGUFREF_T_F32, 0, AT_NE1);
}
static void c_dim_past_int64(gb_buf *b) {
    const uint64_t ne[2] = {8, 1ull << 63};
    one_tensor(b, "t", 2, ne, GGUFREF_T_F32, 0, AT_NE1);
}
static void c_dims_product_past_int64(gb_buf *b) {
    const uint64_t ne[2] = {1ull << 32, 1ull << 31}; /* 2^63 > INT64_MAX */
    one_tensor(b, "t", 2, ne, GGUFREF_T_F32, 0, AT_NE1);
}
static void c_dims_product_wraps_2pow64(gb_buf *b) {
    const uint64_t ne[4] = {1ull << 16, 1ull << 16, 1ull << 16, 1ull << 16}; /* 2^64 = 0 */
    one_tensor(b, "t", 4, ne, GGUFREF_T_F32, 0, AT_NE3);
}
static void c_byte_size_past_size_max(gb_buf *b) {
    const uint64_t ne[1] = {1ull << 62}; /* 2^62 elements * 4 bytes = 2^64 */
    one_tensor(b, "t", 1, ne, GGUFREF_T_F32, 0, AT_TYPE);
}
static void c_byte_size_3x2pow61_f32(gb_buf *b) {
    const uint64_t ne[2] = {1ull << 61, 3}; /* 3 * 2^61 elements * 4 bytes = 1.5 * 2^64 */
    one_tensor(b, "t", 2, ne, GGUFREF_T_F32, 0, AT_TYPE);
}
/* the largest Q8_K tensor (2^55 blocks of 292 bytes) is representable: only the file is short */
static void c_byte_size_q8_k_max_representable(gb_buf *b) {
    const uint64_t ne[2] = {256, (1ull << 55) - 1};
    header_one_kv(b, 1);
    tensor_info_at(b, "t", 2, ne, GGUFREF_T_Q8_K, 0, AT_NONE);
    gb_pad(b, 32);
    gb_mark(b);
    gb_zeros(b, 64);
}
static void c_byte_size_huge_but_valid_header(gb_buf *b) {
    /* 2^40 elements is representable; the file is just far too short for it */
    const uint64_t ne[2] = {1ull << 20, 1ull << 20};
    header_one_kv(b, 1);
    tensor_info_at(b, "t", 2, ne, GGUFREF_T_F32, 0, AT_NONE);
    gb_pad(b, 32);
    gb_mark(b);
    gb_zeros(b, 64);
}
static void c_dims_truncated(gb_buf *b) {
    header_one_kv(b, 1);
    gb_str(b, "t");
    gb_u32(b, 4);
    gb_u64(b, 8);
    gb_u64(b, 1);
    gb_mark(b);
    gb_u32(b, 1); /* ne[2] cut: the file ends here (33 bytes for the info were there) */
}
static void c_v1_dim_zero(gb_buf *b) {
    b->version = 1;
    const uint64_t ne[2] = {8, 0};
    one_tensor(b, "t", 2, ne, GGUFREF_T_F32, 0, AT_NE1);
}

/* --- R-GGUF-023, R-GGUF-024 types ---------------------------------------------------------- */
static void c_type_removed_4(gb_buf *b) { one_tensor(b, "t", 1, ne8, 4, 0, AT_TYPE); }
static void c_type_removed_5(gb_buf *b) { one_tensor(b, "t", 1, ne8, 5, 0, AT_TYPE); }
static void c_type_unknown_16(gb_buf *b) { one_tensor(b, "t", 1, ne8, 16, 0, AT_TYPE); }
static void c_type_unknown_31(gb_buf *b) { one_tensor(b, "t", 1, ne8, 31, 0, AT_TYPE); }
static void c_type_unknown_max(gb_buf *b) { one_tensor(b, "t", 1, ne8, UINT32_MAX, 0, AT_TYPE); }
static void c_ne0_not_block_multiple_q4_0(gb_buf *b) {
    const uint64_t ne[2] = {16, 4};
    one_tensor(b, "t", 2, ne, GGUFREF_T_Q4_0, 0, AT_NE0);
}
static void c_ne0_not_block_multiple_q6_k(gb_buf *b) {
    const uint64_t ne[2] = {128, 2}; /* 256 elements in all, but rows of 128 */
    one_tensor(b, "t", 2, ne, GGUFREF_T_Q6_K, 0, AT_NE0);
}
static void c_type_q8_1_sized_valid(gb_buf *b) {
    const uint64_t ne[1] = {32};
    one_tensor(b, "t", 1, ne, GGUFREF_T_Q8_1, 0, AT_NONE); /* 36 bytes of the 64 */
}

/* --- R-GGUF-028, R-GGUF-029 offsets and data ----------------------------------------------- */
/* Two F32[8] tensors (32 bytes each); the second at `offset2`, marked. */
static void two_tensors(gb_buf *b, uint64_t offset1, uint64_t offset2, enum mark_at at1) {
    header_one_kv(b, 2);
    tensor_info_at(b, "a", 1, ne8, GGUFREF_T_F32, offset1, at1);
    tensor_info_at(b, "b", 1, ne8, GGUFREF_T_F32, offset2, at1 == AT_NONE ? AT_OFFSET : AT_NONE);
    gb_pad(b, 32);
    gb_zeros(b, 64);
}
static void c_offset_unaligned(gb_buf *b) { two_tensors(b, 0, 48, AT_NONE); }
static void c_offset_first_unaligned(gb_buf *b) { two_tensors(b, 1, 32, AT_OFFSET); }
static void c_offset_overlap(gb_buf *b) { two_tensors(b, 0, 0, AT_NONE); }
static void c_offset_gap(gb_buf *b) { two_tensors(b, 0, 64, AT_NONE); }
static void c_offset_first_not_zero(gb_buf *b) { two_tensors(b, 32, 64, AT_OFFSET); }
static void c_offset_past_end(gb_buf *b) { two_tensors(b, 0, 1ull << 40, AT_NONE); }
static void c_offset_sum_past_2pow64(gb_buf *b) { two_tensors(b, 0, UINT64_MAX - 31, AT_NONE); }
static void c_offset_reversed_order(gb_buf *b) {
    header_one_kv(b, 2);
    tensor_info_at(b, "a", 1, ne8, GGUFREF_T_F32, 32, AT_OFFSET);
    tensor_info_at(b, "b", 1, ne8, GGUFREF_T_F32, 0, AT_NONE);
    gb_pad(b, 32);
    gb_zeros(b, 64);
}
static void c_offset_truncated(gb_buf *b) {
    header_one_kv(b, 1);
    gb_str(b, "t");
    gb_u32(b, 1);
    gb_u64(b, 8);
    gb_u32(b, GGUFREF_T_F32);
    gb_mark(b);
    gb_u32(b, 0); /* 4 of the offset's 8 bytes */
}
static void c_data_short_by_one(gb_buf *b) {
    two_tensors(b, 0, 32, AT_NONE);
    b->len -= 1;
    b->mark = b->len - 31; /* the second tensor's first byte */
}
static void c_data_missing(gb_buf *b) {
    header_one_kv(b, 1);
    tensor_info_at(b, "t", 1, ne8, GGUFREF_T_F32, 0, AT_NONE);
    gb_pad(b, 32);
    gb_mark(b);
}
static void c_data_ends_in_padding(gb_buf *b) {
    header_one_kv(b, 1);
    tensor_info_at(b, "t", 1, ne8, GGUFREF_T_F32, 0, AT_NONE);
    size_t end = b->len;
    gb_pad(b, 32);
    gb_mark(b);
    b->len = end + 1;
}
static void c_v1_data_short_by_one(gb_buf *b) {
    b->version = 1;
    two_tensors(b, 0, 32, AT_NONE);
    b->len -= 1;
    b->mark = b->len - 31;
}
static void c_data_trailing_bytes_valid(gb_buf *b) {
    two_tensors(b, 0, 32, AT_NONE);
    gb_zeros(b, 100);
}
static void c_data_last_unpadded_valid(gb_buf *b) {
    const uint64_t ne[1] = {5}; /* 20 bytes, the file ends right after them */
    header_one_kv(b, 1);
    tensor_info_at(b, "t", 1, ne, GGUFREF_T_F32, 0, AT_NONE);
    gb_pad(b, 32);
    gb_zeros(b, 20);
}
static void c_vocab_only_valid(gb_buf *b) { build_vocab_only(b); }
static void c_no_kv_no_tensor_valid(gb_buf *b) { gb_header(b, 0, 0); }

/* --- R-GGUF-027 padding ------------------------------------------------------------------- */
/* The padding before the data section holds 0xA5 bytes, not zeros: never read, so valid. */
static void c_padding_not_zero_valid(gb_buf *b) {
    header_one_kv(b, 1);
    tensor_info_at(b, "t", 1, ne8, GGUFREF_T_F32, 0, AT_NONE);
    while (b->len % 32 != 0) gb_u8(b, 0xA5);
    gb_zeros(b, 32);
}

/* --- R-GGUF-008 order of checks: the first violation in file order, except duplicates and
 * data placement, which are checked after the last kv / tensor info ------------------------- */
/* kv 0 is a bool 2 (BAD_VALUE), kv 1 has value type 13 (BAD_VALUE_TYPE): kv 0 is reported. */
static void c_order_first_violation_wins(gb_buf *b) {
    gb_header(b, 0, 2);
    gb_key(b, "test.a", GGUFREF_TYPE_BOOL);
    gb_mark(b);
    gb_u8(b, 2);
    gb_str(b, "test.b");
    gb_u32(b, 13);
    gb_u32(b, 0);
}
/* kvs 0 and 1 share a key, kv 2 has value type 13: the duplicate waits for the last kv. */
static void c_order_duplicate_key_after_last_kv(gb_buf *b) {
    gb_header(b, 0, 3);
    gb_kv_u32(b, "test.a", 1);
    gb_kv_u32(b, "test.a", 2);
    gb_str(b, "test.b");
    gb_mark(b);
    gb_u32(b, 13);
    gb_u32(b, 0);
}
/* Duplicate keys, then a tensor info with n_dims 0: the duplicate is reported first (it is
 * checked when the kvs end, before the tensor infos). */
static void c_order_duplicate_key_before_tensor_infos(gb_buf *b) {
    gb_header(b, 1, 2);
    gb_kv_u32(b, "test.a", 1);
    gb_mark(b);
    gb_kv_u32(b, "test.a", 2);
    tensor_info_at(b, "t", 0, ne8, GGUFREF_T_F32, 0, AT_NONE);
    gb_pad(b, 32);
    gb_zeros(b, 64);
}
/* Tensors "a", "a", then one with n_dims 0: the duplicate name waits for the last info. */
static void c_order_duplicate_tensor_after_last_info(gb_buf *b) {
    header_one_kv(b, 3);
    tensor_info_at(b, "a", 1, ne8, GGUFREF_T_F32, 0, AT_NONE);
    tensor_info_at(b, "a", 1, ne8, GGUFREF_T_F32, 32, AT_NONE);
    tensor_info_at(b, "c", 0, ne8, GGUFREF_T_F32, 64, AT_NDIMS);
    gb_pad(b, 32);
    gb_zeros(b, 96);
}
/* Tensor "a" leaves a gap (offset 64, BAD_TENSOR_DATA), tensor "b" has type 16
 * (BAD_TENSOR_INFO): placement is checked after the last info, so "b" is reported. */
static void c_order_placement_after_last_info(gb_buf *b) {
    header_one_kv(b, 2);
    tensor_info_at(b, "a", 1, ne8, GGUFREF_T_F32, 64, AT_NONE);
    tensor_info_at(b, "b", 1, ne8, 16, 96, AT_TYPE);
    gb_pad(b, 32);
    gb_zeros(b, 128);
}
/* n_kv = 1000 in a file with room for a few kvs, whose first key is empty: the count is
 * checked when read (TRUNCATED at n_kv), before kv 0's BAD_STRING. */
static void c_order_count_before_kvs(gb_buf *b) {
    gb_bytes(b, "GGUF", 4);
    gb_u32(b, 3);
    gb_u64(b, 0);
    gb_mark(b);
    gb_u64(b, 1000);
    gb_str(b, "");
    gb_u32(b, GGUFREF_TYPE_UINT32);
    gb_u32(b, 1);
    gb_zeros(b, 64);
}

/* ===================================================================================== */
/* The catalog                                                                            */
/* ===================================================================================== */

typedef struct catalog_case {
    const char *name;
    void (*build)(gb_buf *b);
    ggufref_status expect;
    const char *rule; /* the SPEC rule the case exercises */
} catalog_case;

#define OK_ GGUFREF_OK
#define E(x) GGUFREF_ERR_##x

static const catalog_case catalog[] = {
    /* magic */
    {"empty_file", c_empty_file, E(TRUNCATED), "R-GGUF-003"},
    {"magic_partial", c_magic_partial, E(TRUNCATED), "R-GGUF-003"},
    {"magic_one_wrong_byte", c_magic_one_wrong_byte, E(BAD_MAGIC), "R-GGUF-003"},
    {"magic_bad", c_magic_bad, E(BAD_MAGIC), "R-GGUF-003"},
    {"magic_lowercase", c_magic_lowercase, E(BAD_MAGIC), "R-GGUF-003"},
    {"magic_byte_swapped", c_magic_byte_swapped, E(BYTE_SWAPPED), "R-GGUF-003"},
    /* version */
    {"version_0", c_version_0, E(UNSUPPORTED_VERSION), "R-GGUF-004"},
    {"version_4", c_version_4, E(UNSUPPORTED_VERSION), "R-GGUF-004"},
    {"version_ffffffff", c_version_ffffffff, E(UNSUPPORTED_VERSION), "R-GGUF-004"},
    {"version_0x04000000", c_version_0x04000000, E(UNSUPPORTED_VERSION), "R-GGUF-004"},
    {"version_0x03000000_swapped", c_version_swapped_3, E(BYTE_SWAPPED), "R-GGUF-004"},
    {"version_0x01000000_swapped", c_version_swapped_1, E(BYTE_SWAPPED), "R-GGUF-004"},
    {"version_truncated", c_version_truncated, E(TRUNCATED), "R-GGUF-002"},
    {"version_1_valid", c_version_1_valid, OK_, "R-GGUF-005"},
    {"version_2_valid", c_version_2_valid, OK_, "R-GGUF-004"},
    {"version_3_valid", c_version_3_valid, OK_, "R-GGUF-004"},
    /* counts */
    {"n_tensors_truncated", c_n_tensors_truncated, E(TRUNCATED), "R-GGUF-002"},
    {"n_kv_truncated", c_n_kv_truncated, E(TRUNCATED), "R-GGUF-002"},
    {"n_kv_2pow64_minus_1", c_n_kv_max, E(TRUNCATED), "R-GGUF-011"},
    {"n_kv_2pow63", c_n_kv_2pow63, E(TRUNCATED), "R-GGUF-011"},
    {"n_kv_product_wraps", c_n_kv_product_wraps, E(TRUNCATED), "R-GGUF-011"},
    {"n_tensors_2pow64_minus_1", c_n_tensors_max, E(TRUNCATED), "R-GGUF-011"},
    {"n_tensors_product_wraps", c_n_tensors_product_wraps, E(TRUNCATED), "R-GGUF-011"},
    {"n_tensors_past_file", c_n_tensors_one_past_file, E(TRUNCATED), "R-GGUF-011"},
    {"v1_n_kv_2pow32_minus_1", c_v1_n_kv_max, E(TRUNCATED), "R-GGUF-011"},
    {"n_kv_one_more_than_present", c_n_kv_one_more_than_present, E(TRUNCATED), "R-GGUF-002"},
    {"tensor_infos_missing", c_tensor_infos_missing, E(TRUNCATED), "R-GGUF-011"},
    {"no_kv_no_tensor_valid", c_no_kv_no_tensor_valid, OK_, "R-GGUF-029"},
    /* keys and strings */
    {"key_empty", c_key_empty, E(BAD_STRING), "R-GGUF-010"},
    {"key_len_2pow64_minus_1", c_key_len_max, E(BAD_STRING), "R-GGUF-010"},
    {"key_len_past_limit", c_key_len_past_limit, E(BAD_STRING), "R-GGUF-010"},
    {"key_at_limit_valid", c_key_at_limit_valid, OK_, "R-GGUF-010"},
    {"key_longer_than_file", c_key_longer_than_file, E(TRUNCATED), "R-GGUF-010"},
    {"key_len_truncated", c_key_len_truncated, E(TRUNCATED), "R-GGUF-002"},
    {"v1_key_len_2pow32_minus_1", c_v1_key_len_max, E(BAD_STRING), "R-GGUF-010"},
    {"string_len_2pow64_minus_1", c_string_len_max, E(BAD_STRING), "R-GGUF-010"},
    {"string_past_limit", c_string_past_limit, E(BAD_STRING), "R-GGUF-010"},
    {"string_longer_than_file", c_string_longer_than_file, E(TRUNCATED), "R-GGUF-010"},
    {"v1_string_longer_than_file", c_v1_string_longer_than_file, E(TRUNCATED), "R-GGUF-005"},
    {"string_empty_value_valid", c_string_empty_value_valid, OK_, "R-GGUF-010"},
    /* value types */
    {"value_type_13", c_value_type_13, E(BAD_VALUE_TYPE), "R-GGUF-012"},
    {"value_type_2pow32_minus_1", c_value_type_max, E(BAD_VALUE_TYPE), "R-GGUF-012"},
    {"value_type_truncated", c_value_type_truncated, E(TRUNCATED), "R-GGUF-002"},
    {"value_u32_truncated", c_value_u32_truncated, E(TRUNCATED), "R-GGUF-002"},
    {"value_f64_truncated", c_value_f64_truncated, E(TRUNCATED), "R-GGUF-002"},
    {"value_f32_nan_valid", c_value_f32_nan_valid, OK_, "R-GGUF-015"},
    /* bools */
    {"bool_2", c_bool_2, E(BAD_VALUE), "R-GGUF-014"},
    {"bool_ff", c_bool_ff, E(BAD_VALUE), "R-GGUF-014"},
    {"bool_array_element_7", c_bool_array_element, E(BAD_VALUE), "R-GGUF-014"},
    /* arrays */
    {"array_elem_type_13", c_array_elem_type_13, E(BAD_VALUE_TYPE), "R-GGUF-012"},
    {"array_count_2pow64_minus_1", c_array_count_max_u32, E(TRUNCATED), "R-GGUF-011"},
    {"array_count_times_size_wraps", c_array_count_times_size_wraps, E(TRUNCATED),
     "R-GGUF-011"},
    {"array_count_past_file", c_array_count_past_file, E(TRUNCATED), "R-GGUF-011"},
    {"array_elements_truncated", c_array_elements_truncated, E(TRUNCATED), "R-GGUF-011"},
    {"array_strings_count_2pow63", c_array_strings_count_2pow63, E(TRUNCATED), "R-GGUF-011"},
    {"array_string_longer_than_file", c_array_string_longer_than_file, E(TRUNCATED),
     "R-GGUF-010"},
    {"array_string_len_2pow64_minus_1", c_array_string_len_max, E(BAD_STRING), "R-GGUF-010"},
    {"v1_array_count_2pow32_minus_1", c_v1_array_count_max, E(TRUNCATED), "R-GGUF-011"},
    /* nested arrays */
    {"nested_depth_4_valid", c_nested_depth_4_valid, OK_, "R-GGUF-013"},
    {"nested_depth_5", c_nested_depth_5, E(LIMIT_EXCEEDED), "R-GGUF-013"},
    {"nested_depth_100", c_nested_depth_100, E(LIMIT_EXCEEDED), "R-GGUF-013"},
    {"nested_inner_elem_type_99", c_nested_inner_elem_type_bad, E(BAD_VALUE_TYPE), "R-GGUF-012"},
    {"nested_inner_count_huge", c_nested_inner_count_huge, E(TRUNCATED), "R-GGUF-011"},
    {"nested_outer_count_past_file", c_nested_outer_count_past_file, E(TRUNCATED),
     "R-GGUF-011"},
    {"nested_bool_3", c_nested_bool_bad, E(BAD_VALUE), "R-GGUF-014"},
    /* duplicate keys */
    {"duplicate_key", c_duplicate_key, E(DUPLICATE_NAME), "R-GGUF-016"},
    {"duplicate_key_other_type", c_duplicate_key_other_type, E(DUPLICATE_NAME), "R-GGUF-016"},
    {"duplicate_alignment_32_64", c_duplicate_alignment, E(DUPLICATE_NAME), "R-GGUF-016"},
    {"duplicate_key_among_2000", c_duplicate_key_among_many, E(DUPLICATE_NAME), "R-GGUF-016"},
    {"keys_prefix_of_each_other_valid", c_keys_prefix_of_each_other_valid, OK_, "R-GGUF-016"},
    /* alignment */
    {"alignment_u64", c_alignment_u64, E(BAD_ALIGNMENT), "R-GGUF-020"},
    {"alignment_i32", c_alignment_i32, E(BAD_ALIGNMENT), "R-GGUF-020"},
    {"alignment_string", c_alignment_string, E(BAD_ALIGNMENT), "R-GGUF-020"},
    {"alignment_array", c_alignment_array, E(BAD_ALIGNMENT), "R-GGUF-020"},
    {"alignment_0", c_alignment_0, E(BAD_ALIGNMENT), "R-GGUF-020"},
    {"alignment_13", c_alignment_13, E(BAD_ALIGNMENT), "R-GGUF-020"},
    {"alignment_2pow31", c_alignment_2pow31, E(BAD_ALIGNMENT), "R-GGUF-020"},
    {"alignment_4", c_alignment_4, E(BAD_ALIGNMENT), "R-GGUF-020"},
    {"alignment_1", c_alignment_1, E(BAD_ALIGNMENT), "R-GGUF-020"},
    {"alignment_8_valid", c_alignment_8_valid, OK_, "R-GGUF-020"},
    {"alignment_64_valid", c_alignment_64_valid, OK_, "R-GGUF-020"},
    {"alignment_2pow30_no_tensors_valid", c_alignment_2pow30_no_tensors_valid, OK_,
     "R-GGUF-020"},
    {"alignment_64_applies_to_offsets", c_alignment_64_applies_to_offsets, E(BAD_TENSOR_DATA),
     "R-GGUF-028"},
    /* tensor names */
    {"tensor_name_64_bytes", c_tensor_name_64, E(BAD_STRING), "R-GGUF-010"},
    {"tensor_name_63_bytes_valid", c_tensor_name_63_valid, OK_, "R-GGUF-010"},
    {"tensor_name_empty", c_tensor_name_empty, E(BAD_STRING), "R-GGUF-010"},
    {"tensor_name_len_2pow64_minus_1", c_tensor_name_len_max, E(BAD_STRING), "R-GGUF-010"},
    {"tensor_name_truncated", c_tensor_name_truncated, E(TRUNCATED), "R-GGUF-002"},
    {"tensor_name_duplicate", c_tensor_name_duplicate, E(DUPLICATE_NAME), "R-GGUF-026"},
    {"tensor_name_duplicate_among_3000", c_tensor_name_duplicate_among_3000, E(DUPLICATE_NAME),
     "R-GGUF-026"},
    /* dims */
    {"n_dims_0", c_n_dims_0, E(BAD_TENSOR_INFO), "R-GGUF-021"},
    {"n_dims_5", c_n_dims_5, E(BAD_TENSOR_INFO), "R-GGUF-021"},
    {"n_dims_2pow32_minus_1", c_n_dims_max, E(BAD_TENSOR_INFO), "R-GGUF-021"},
    {"dim_zero", c_dim_zero, E(BAD_TENSOR_INFO), "R-GGUF-022"},
    {"v1_dim_zero", c_v1_dim_zero, E(BAD_TENSOR_INFO), "R-GGUF-022"},
    {"dim_2pow63", c_dim_past_int64, E(BAD_TENSOR_INFO), "R-GGUF-022"},
    {"dims_product_past_int64", c_dims_product_past_int64, E(BAD_TENSOR_INFO), "R-GGUF-022"},
    {"dims_product_wraps_2pow64", c_dims_product_wraps_2pow64, E(BAD_TENSOR_INFO),
     "R-GGUF-022"},
    {"byte_size_past_size_max", c_byte_size_past_size_max, E(BAD_TENSOR_INFO), "R-GGUF-025"},
    {"byte_size_3x2pow61_f32_past_size_max", c_byte_size_3x2pow61_f32, E(BAD_TENSOR_INFO),
     "R-GGUF-025"},
    {"byte_size_q8_k_max_larger_than_file", c_byte_size_q8_k_max_representable, E(TRUNCATED),
     "R-GGUF-029"},
    {"byte_size_larger_than_file", c_byte_size_huge_but_valid_header, E(TRUNCATED),
     "R-GGUF-029"},
    {"dims_truncated", c_dims_truncated, E(TRUNCATED), "R-GGUF-002"},
    /* types */
    {"type_removed_4", c_type_removed_4, E(BAD_TENSOR_INFO), "R-GGUF-023"},
    {"type_removed_5", c_type_removed_5, E(BAD_TENSOR_INFO), "R-GGUF-023"},
    {"type_unknown_16", c_type_unknown_16, E(BAD_TENSOR_INFO), "R-GGUF-023"},
    {"type_unknown_31", c_type_unknown_31, E(BAD_TENSOR_INFO), "R-GGUF-023"},
    {"type_unknown_2pow32_minus_1", c_type_unknown_max, E(BAD_TENSOR_INFO), "R-GGUF-023"},
    {"type_q8_1_sized_valid", c_type_q8_1_sized_valid, OK_, "R-GGUF-023"},
    {"ne0_not_block_multiple_q4_0", c_ne0_not_block_multiple_q4_0, E(BAD_TENSOR_INFO),
     "R-GGUF-024"},
    {"ne0_not_block_multiple_q6_k", c_ne0_not_block_multiple_q6_k, E(BAD_TENSOR_INFO),
     "R-GGUF-024"},
    /* offsets and data */
    {"offset_unaligned", c_offset_unaligned, E(BAD_TENSOR_DATA), "R-GGUF-028"},
    {"offset_first_unaligned", c_offset_first_unaligned, E(BAD_TENSOR_DATA), "R-GGUF-028"},
    {"offset_overlap", c_offset_overlap, E(BAD_TENSOR_DATA), "R-GGUF-028"},
    {"offset_gap", c_offset_gap, E(BAD_TENSOR_DATA), "R-GGUF-028"},
    {"offset_first_not_zero", c_offset_first_not_zero, E(BAD_TENSOR_DATA), "R-GGUF-028"},
    {"offset_reversed_order", c_offset_reversed_order, E(BAD_TENSOR_DATA), "R-GGUF-028"},
    {"offset_past_end", c_offset_past_end, E(BAD_TENSOR_DATA), "R-GGUF-028"},
    {"offset_sum_past_2pow64", c_offset_sum_past_2pow64, E(BAD_TENSOR_DATA), "R-GGUF-028"},
    {"offset_truncated", c_offset_truncated, E(TRUNCATED), "R-GGUF-002"},
    {"data_short_by_one", c_data_short_by_one, E(TRUNCATED), "R-GGUF-029"},
    {"v1_data_short_by_one", c_v1_data_short_by_one, E(TRUNCATED), "R-GGUF-029"},
    {"data_missing", c_data_missing, E(TRUNCATED), "R-GGUF-029"},
    {"data_ends_in_padding", c_data_ends_in_padding, E(TRUNCATED), "R-GGUF-029"},
    {"data_trailing_bytes_valid", c_data_trailing_bytes_valid, OK_, "R-GGUF-029"},
    {"data_last_tensor_unpadded_valid", c_data_last_unpadded_valid, OK_, "R-GGUF-029"},
    {"vocab_only_ends_before_data_offset_valid", c_vocab_only_valid, OK_, "R-GGUF-029"},
    {"padding_not_zero_valid", c_padding_not_zero_valid, OK_, "R-GGUF-027"},
    /* order of checks */
    {"order_first_violation_wins", c_order_first_violation_wins, E(BAD_VALUE), "R-GGUF-008"},
    {"order_duplicate_key_after_last_kv", c_order_duplicate_key_after_last_kv,
     E(BAD_VALUE_TYPE), "R-GGUF-008"},
    {"order_duplicate_key_before_tensor_infos", c_order_duplicate_key_before_tensor_infos,
     E(DUPLICATE_NAME), "R-GGUF-008"},
    {"order_duplicate_tensor_after_last_info", c_order_duplicate_tensor_after_last_info,
     E(BAD_TENSOR_INFO), "R-GGUF-008"},
    {"order_placement_after_last_info", c_order_placement_after_last_info, E(BAD_TENSOR_INFO),
     "R-GGUF-008"},
    {"order_count_before_kvs", c_order_count_before_kvs, E(TRUNCATED), "R-GGUF-008"},
};
#define CATALOG_SIZE (sizeof catalog / sizeof catalog[0])

/* Build, open, and check one catalog row: the status, and for rejections a one-line message,
 * *out NULL, and the offset the build marked. */
static void run_catalog_case(void **state) {
    const catalog_case *c = *state;
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
    gb_free(&b);
}

/* ===================================================================================== */
/* Prefixes, fault injection                                                              */
/* ===================================================================================== */

typedef struct fixture {
    const char *name;
    void (*build)(gb_buf *b);
    bool has_tensors;
} fixture;

static const fixture fixtures[] = {
    {"v3", build_v3, true},
    {"v2", build_v2, true},
    {"v1", build_v1, true},
    {"vocab_only", build_vocab_only, false},
};
#define N_FIXTURES (sizeof fixtures / sizeof fixtures[0])

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
    for (size_t f = 0; f < N_FIXTURES; f++) {
        gb_buf b;
        gb_init(&b, 3);
        fixtures[f].build(&b);
        check_prefixes(b.data, b.len, fixtures[f].has_tensors, b.len, 1);
        gb_free(&b);
    }
}

/* R-GGUF-006: the Nth allocation fails, for every N until an open succeeds: OUT_OF_MEMORY,
 * *out NULL, nothing leaked. */
static void test_gguf_open_fault_injection(void **state) {
    (void)state;
    gb_buf b;
    gb_init(&b, 3);
    build_v3(&b);
    int64_t live_before = ggufref_fault_alloc_live();
    uint64_t n = 1;
    for (;; n++) {
        ggufref_fault_alloc_fail_at(n);
        ggufref_gguf *g = NULL;
        ggufref_error err;
        void *copy = NULL;
        ggufref_status st = open_built(&b, &g, &err, &copy);
        bool fired = ggufref_fault_alloc_fired();
        ggufref_fault_alloc_fail_at(0);
        if (!fired) {
            assert_int_equal(st, GGUFREF_OK);
            ggufref_gguf_close(g);
            free(copy);
            break;
        }
        assert_int_equal(st, GGUFREF_ERR_OUT_OF_MEMORY);
        assert_clean_rejection(st, g, &err);
        assert_int_equal(ggufref_fault_alloc_live(), live_before);
        free(copy);
    }
    assert_true(n > 1); /* at least one allocation was failed */
    assert_int_equal(ggufref_fault_alloc_live(), live_before);
    gb_free(&b);
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
    assert_int_equal(ggufref_gguf_n_kv(g), FIXTURE_N_KV_BASE + 1);
    assert_int_equal(ggufref_gguf_n_tensors(g), FIXTURE_N_TENSORS);
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
    assert_int_equal(a.count, FIXTURE_N_TOKENS);
    ggufref_array_iter_init(&it, &a);
    assert_false(ggufref_array_next_f32(&it, &f)); /* wrong type: no progress */
    for (size_t i = 0; i < FIXTURE_N_TOKENS; i++) {
        assert_true(ggufref_array_next_str(&it, &s));
        assert_str_eq(s, fixture_tokens[i]);
    }
    assert_false(ggufref_array_next_str(&it, &s));
    assert_int_equal(it.pos, a.size);

    assert_int_equal(ggufref_gguf_get_array(g, key_index(g, "tokenizer.ggml.scores"), &a),
                     GGUFREF_OK);
    ggufref_array_iter_init(&it, &a);
    for (size_t i = 0; i < FIXTURE_N_TOKENS; i++) {
        assert_true(ggufref_array_next_f32(&it, &f));
        assert_true(f == fixture_scores[i]);
    }
    assert_false(ggufref_array_next_f32(&it, &f));
    uint32_t raw = 0;
    assert_true(ggufref_array_get_raw(&a, 1, &raw));
    assert_int_equal(raw, 0xBF800000u); /* -1.0f */
    assert_false(ggufref_array_get_raw(&a, FIXTURE_N_TOKENS, &raw));

    assert_int_equal(ggufref_gguf_get_array(g, key_index(g, "tokenizer.ggml.token_type"), &a),
                     GGUFREF_OK);
    ggufref_array_iter_init(&it, &a);
    for (size_t i = 0; i < FIXTURE_N_TOKENS; i++) {
        assert_true(ggufref_array_next_i32(&it, &i32));
        assert_int_equal(i32, fixture_types[i]);
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
    for (size_t i = 0; i < FIXTURE_N_TENSORS; i++) {
        const gb_tensor *want = &fixture_tensors[i];
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
        assert_memory_equal(t.data, pattern, t.n_bytes);
        expected_offset = (t.offset + t.n_bytes + 31) / 32 * 32;
        assert_int_equal(ggufref_gguf_find_tensor(g, want->name), (int64_t)i);
        assert_int_equal(ggufref_gguf_find_key(g, want->name), -1);
    }
    assert_int_equal(ggufref_gguf_tensor(g, FIXTURE_N_TENSORS, &t),
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
        assert_int_equal(ggufref_gguf_n_kv(o.g), FIXTURE_N_KV_BASE);
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
    check_fixture(build_v3, 3);
}
static void test_gguf_accessors_v2(void **state) {
    (void)state;
    check_fixture(build_v2, 2);
}
static void test_gguf_accessors_v1(void **state) {
    (void)state;
    check_fixture(build_v1, 1);
}

/* R-GGUF-029: a zero-tensor file that ends before its aligned data offset. */
static void test_gguf_vocab_only_data_offset_past_end(void **state) {
    (void)state;
    opened o;
    open_fixture(&o, build_vocab_only);
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
    tensor_info_at(b, "t", 1, ne, GGUFREF_T_F32, 0, AT_NONE);
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
            tensor_info_at(&b, name_of_length(name_len), 1, ne8, GGUFREF_T_F32, 0, AT_NONE);
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
        gb_tensor_info(b, name, 1, ne8, GGUFREF_T_F32, 32u * (uint64_t)i);
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
    build_v3(&b);
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
    c_bool_2(&b);
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

/* The path of a material file, or skip() with a reason. OUT: path (512 bytes). */
static void material_path(const char *rel, char path[512]) {
    const char *shared = getenv("GGUFREF_SHARED_DIR");
    if (shared == NULL || shared[0] == '\0') {
        print_message("skipped: GGUFREF_SHARED_DIR is not set (needs material/%s)\n", rel);
        skip();
    }
    snprintf(path, 512, "%s/material/%s", shared, rel);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        print_message("skipped: %s is absent (third-party material, see README)\n", path);
        skip();
    }
}

static void open_material(const char *rel, ggufref_gguf **g) {
    char path[512];
    material_path(rel, path);
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
    init_pattern();
    static struct CMUnitTest catalog_tests[CATALOG_SIZE];
    static char names[CATALOG_SIZE][96];
    for (size_t i = 0; i < CATALOG_SIZE; i++) {
        snprintf(names[i], sizeof names[i], "test_gguf_catalog_%s", catalog[i].name);
        catalog_tests[i] = (struct CMUnitTest){names[i], run_catalog_case, NULL, NULL,
                                               (void *)&catalog[i]};
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
        cmocka_unit_test(test_gguf_material_stories260k_v1),
        cmocka_unit_test(test_gguf_material_ollama_tiny),
        cmocka_unit_test(test_gguf_material_vocab_spm),
    };
    int failed = _cmocka_run_group_tests("gguf_catalog", catalog_tests, CATALOG_SIZE, NULL, NULL);
    failed += cmocka_run_group_tests_name("gguf", tests, NULL, NULL);
    return failed == 0 ? 0 : 1;
}
