/*
 * gguf_catalog.c — the malformed-GGUF catalog (SPEC chapter 2) and the valid reader fixtures:
 * build functions grouped as the SPEC rules they break, then the one table (gguf_catalog.h).
 */
#define _POSIX_C_SOURCE 200809L

#include "gguf_catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A broken invariant of a build function (a bug in this file): say which, and abort. */
static void require(bool ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "gguf_catalog: %s\n", what);
        abort();
    }
}

/* ===================================================================================== */
/* Valid fixtures                                                                         */
/* ===================================================================================== */

#define P1(k) (uint8_t)((k) * 13 + 7)
#define P4(k) P1(k), P1((k) + 1), P1((k) + 2), P1((k) + 3)
#define P16(k) P4(k), P4((k) + 4), P4((k) + 8), P4((k) + 12)
#define P64(k) P16(k), P16((k) + 16), P16((k) + 32), P16((k) + 48)
const uint8_t gcat_pattern[256] = {P64(0), P64(64), P64(128), P64(192)};

const char *const gcat_fixture_tokens[GCAT_FIXTURE_N_TOKENS] = {"<unk>", "<s>", "</s>", "", "hello",
                                             "\xe2\x96\x81world"};
const float gcat_fixture_scores[GCAT_FIXTURE_N_TOKENS] = {0.0f, -1.0f, -2.0f, -3.5f, 0.25f, 1e30f};
const int32_t gcat_fixture_types[GCAT_FIXTURE_N_TOKENS] = {2, 3, 3, 1, 1, -6};

const gb_tensor gcat_fixture_tensors[GCAT_FIXTURE_N_TENSORS] = {
    {"token_embd.weight", 2, {8, 6}, GGUFREF_T_F32, gcat_pattern},   /* 192 B */
    {"blk.0.attn_q.weight", 1, {32}, GGUFREF_T_F16, gcat_pattern},    /* 64 B */
    {"blk.0.q4", 2, {64, 2}, GGUFREF_T_Q4_0, gcat_pattern},           /* 72 B */
    {"blk.0.q8", 1, {32}, GGUFREF_T_Q8_0, gcat_pattern},              /* 34 B */
    {"blk.0.k", 1, {256}, GGUFREF_T_Q4_K, gcat_pattern},              /* 144 B */
    {"blk.0.bf", 4, {2, 2, 2, 2}, GGUFREF_T_BF16, gcat_pattern},      /* 32 B */
    {"output_norm.weight", 1, {8}, GGUFREF_T_F32, gcat_pattern},      /* 32 B */
};

/* The kvs of the fixture (GCAT_FIXTURE_N_KV_BASE, plus general.alignment unless 0). */
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
    gb_kv_str_array(b, "tokenizer.ggml.tokens", gcat_fixture_tokens, GCAT_FIXTURE_N_TOKENS);
    gb_kv_f32_array(b, "tokenizer.ggml.scores", gcat_fixture_scores, GCAT_FIXTURE_N_TOKENS);
    gb_kv_i32_array(b, "tokenizer.ggml.token_type", gcat_fixture_types, GCAT_FIXTURE_N_TOKENS);
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
void gcat_build_model(gb_buf *b, uint32_t alignment, size_t n_tensors) {
    uint32_t align = alignment == 0 ? GGUFREF_DEFAULT_ALIGNMENT : alignment;
    gb_header(b, n_tensors, GCAT_FIXTURE_N_KV_BASE + (alignment != 0));
    fixture_kvs(b, alignment);
    gb_tensor_infos(b, gcat_fixture_tensors, n_tensors, align);
    gb_tensor_data(b, gcat_fixture_tensors, n_tensors, align);
}

void gcat_build_v3(gb_buf *b) { gcat_build_model(b, 32, GCAT_FIXTURE_N_TENSORS); }
void gcat_build_v2(gb_buf *b) {
    b->version = 2;
    gcat_build_model(b, 0, GCAT_FIXTURE_N_TENSORS);
}
void gcat_build_v1(gb_buf *b) {
    b->version = 1;
    gcat_build_model(b, 32, GCAT_FIXTURE_N_TENSORS);
}
/* Zero tensors; ends right after the kvs, before the aligned data offset (R-GGUF-029). */
void gcat_build_vocab_only(gb_buf *b) {
    gb_header(b, 0, GCAT_FIXTURE_N_KV_BASE);
    fixture_kvs(b, 0);
    require(b->len % 32 != 0, "the vocab-only fixture must end off the alignment");
}

/* ===================================================================================== */
/* Catalog helpers                                                                        */
/* ===================================================================================== */

/* Header (version b->version) with one kv, general.architecture = "llama". */
static void header_one_kv(gb_buf *b, uint64_t n_tensors) {
    gb_header(b, n_tensors, 1);
    gb_kv_str(b, "general.architecture", "llama");
}

/* One tensor info, marking the field `at`. */
void gcat_tensor_info_at(gb_buf *b, const char *name, uint32_t n_dims, const uint64_t *ne,
                         uint32_t type, uint64_t offset, gcat_mark at) {
    if (at == GCAT_AT_NAME) gb_mark(b);
    gb_str(b, name);
    if (at == GCAT_AT_NDIMS) gb_mark(b);
    gb_u32(b, n_dims);
    for (uint32_t j = 0; j < n_dims; j++) {
        if ((at == GCAT_AT_NE0 && j == 0) || (at == GCAT_AT_NE1 && j == 1) ||
            (at == GCAT_AT_NE2 && j == 2) || (at == GCAT_AT_NE3 && j == 3)) {
            gb_mark(b);
        }
        gb_count(b, ne[j]);
    }
    if (at == GCAT_AT_TYPE) gb_mark(b);
    gb_u32(b, type);
    if (at == GCAT_AT_OFFSET) gb_mark(b);
    gb_u64(b, offset);
}

/* A one-tensor file whose tensor info is given; data: 64 zero bytes after the padding. */
static void one_tensor(gb_buf *b, const char *name, uint32_t n_dims, const uint64_t *ne,
                       uint32_t type, uint64_t offset, gcat_mark at) {
    header_one_kv(b, 1);
    gcat_tensor_info_at(b, name, n_dims, ne, type, offset, at);
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
static void c_version_1_valid(gb_buf *b) { gcat_build_v1(b); }
static void c_version_2_valid(gb_buf *b) { gcat_build_v2(b); }
static void c_version_3_valid(gb_buf *b) { gcat_build_v3(b); }

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
    require(key != NULL, "out of memory");
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
    gcat_build_model(b, 8, GCAT_FIXTURE_N_TENSORS);
}
static void c_alignment_2pow30_no_tensors_valid(gb_buf *b) { alignment_value(b, 1u << 30); }
static void c_alignment_64_valid(gb_buf *b) { gcat_build_model(b, 64, GCAT_FIXTURE_N_TENSORS); }
static void c_alignment_64_applies_to_offsets(gb_buf *b) {
    /* with alignment 64, a tensor at a multiple of 32 only is rejected */
    gb_header(b, 2, 2);
    gb_kv_str(b, "general.architecture", "llama");
    gb_kv_u32(b, "general.alignment", 64);
    const uint64_t ne[1] = {8};
    gcat_tensor_info_at(b, "a", 1, ne, GGUFREF_T_F32, 0, GCAT_AT_NONE);
    gcat_tensor_info_at(b, "b", 1, ne, GGUFREF_T_F32, 32, GCAT_AT_OFFSET);
    gb_pad(b, 64);
    gb_zeros(b, 128);
}

/* --- R-GGUF-010, R-GGUF-026 tensor names --------------------------------------------------- */
const uint64_t gcat_ne8[1] = {8};
const char *gcat_name_of_length(size_t n) {
    static char name[128];
    memset(name, 'w', n);
    name[n] = '\0';
    return name;
}
static void c_tensor_name_64(gb_buf *b) {
    one_tensor(b, gcat_name_of_length(GGUFREF_MAX_TENSOR_NAME_LEN), 1, gcat_ne8, GGUFREF_T_F32, 0,
               GCAT_AT_NAME);
}
static void c_tensor_name_63_valid(gb_buf *b) {
    one_tensor(b, gcat_name_of_length(GGUFREF_MAX_TENSOR_NAME_LEN - 1), 1, gcat_ne8,
               GGUFREF_T_F32, 0, GCAT_AT_NONE);
}
static void c_tensor_name_empty(gb_buf *b) {
    one_tensor(b, "", 1, gcat_ne8, GGUFREF_T_F32, 0, GCAT_AT_NAME);
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
    gcat_tensor_info_at(b, "a", 1, gcat_ne8, GGUFREF_T_F32, 0, GCAT_AT_NONE);
    gcat_tensor_info_at(b, "b", 1, gcat_ne8, GGUFREF_T_F32, 32, GCAT_AT_NONE);
    gcat_tensor_info_at(b, "a", 1, gcat_ne8, GGUFREF_T_F32, 64, GCAT_AT_NAME);
    gb_pad(b, 32);
    gb_zeros(b, 96);
}
static void c_tensor_name_duplicate_among_3000(gb_buf *b) {
    header_one_kv(b, 3001);
    char name[32];
    for (int i = 0; i < 3000; i++) {
        snprintf(name, sizeof name, "blk.%d.w", i);
        gcat_tensor_info_at(b, name, 1, gcat_ne8, GGUFREF_T_F32, 32u * (uint64_t)i, GCAT_AT_NONE);
    }
    gcat_tensor_info_at(b, "blk.1234.w", 1, gcat_ne8, GGUFREF_T_F32, 32u * 3000u, GCAT_AT_NAME);
    gb_pad(b, 32);
    gb_zeros(b, 32u * 3001u);
}

/* --- R-GGUF-021, R-GGUF-022 dims ------------------------------------------------------------ */
static void c_n_dims_0(gb_buf *b) {
    one_tensor(b, "t", 0, gcat_ne8, GGUFREF_T_F32, 0, GCAT_AT_NDIMS);
}
static void c_n_dims_5(gb_buf *b) {
    const uint64_t ne[5] = {8, 1, 1, 1, 1};
    one_tensor(b, "t", 5, ne, GGUFREF_T_F32, 0, GCAT_AT_NDIMS);
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
    one_tensor(b, "t", 2, ne, GGUFREF_T_F32, 0, GCAT_AT_NE1);
}
static void c_dim_past_int64(gb_buf *b) {
    const uint64_t ne[2] = {8, 1ull << 63};
    one_tensor(b, "t", 2, ne, GGUFREF_T_F32, 0, GCAT_AT_NE1);
}
static void c_dims_product_past_int64(gb_buf *b) {
    const uint64_t ne[2] = {1ull << 32, 1ull << 31}; /* 2^63 > INT64_MAX */
    one_tensor(b, "t", 2, ne, GGUFREF_T_F32, 0, GCAT_AT_NE1);
}
static void c_dims_product_wraps_2pow64(gb_buf *b) {
    const uint64_t ne[4] = {1ull << 16, 1ull << 16, 1ull << 16, 1ull << 16}; /* 2^64 = 0 */
    one_tensor(b, "t", 4, ne, GGUFREF_T_F32, 0, GCAT_AT_NE3);
}
static void c_byte_size_past_size_max(gb_buf *b) {
    const uint64_t ne[1] = {1ull << 62}; /* 2^62 elements * 4 bytes = 2^64 */
    one_tensor(b, "t", 1, ne, GGUFREF_T_F32, 0, GCAT_AT_TYPE);
}
static void c_byte_size_3x2pow61_f32(gb_buf *b) {
    const uint64_t ne[2] = {1ull << 61, 3}; /* 3 * 2^61 elements * 4 bytes = 1.5 * 2^64 */
    one_tensor(b, "t", 2, ne, GGUFREF_T_F32, 0, GCAT_AT_TYPE);
}
/* the largest Q8_K tensor (2^55 blocks of 292 bytes) is representable: only the file is short */
static void c_byte_size_q8_k_max_representable(gb_buf *b) {
    const uint64_t ne[2] = {256, (1ull << 55) - 1};
    header_one_kv(b, 1);
    gcat_tensor_info_at(b, "t", 2, ne, GGUFREF_T_Q8_K, 0, GCAT_AT_NONE);
    gb_pad(b, 32);
    gb_mark(b);
    gb_zeros(b, 64);
}
static void c_byte_size_huge_but_valid_header(gb_buf *b) {
    /* 2^40 elements is representable; the file is just far too short for it */
    const uint64_t ne[2] = {1ull << 20, 1ull << 20};
    header_one_kv(b, 1);
    gcat_tensor_info_at(b, "t", 2, ne, GGUFREF_T_F32, 0, GCAT_AT_NONE);
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
    one_tensor(b, "t", 2, ne, GGUFREF_T_F32, 0, GCAT_AT_NE1);
}

/* --- R-GGUF-023, R-GGUF-024 types ---------------------------------------------------------- */
static void c_type_removed_4(gb_buf *b) { one_tensor(b, "t", 1, gcat_ne8, 4, 0, GCAT_AT_TYPE); }
static void c_type_removed_5(gb_buf *b) { one_tensor(b, "t", 1, gcat_ne8, 5, 0, GCAT_AT_TYPE); }
static void c_type_unknown_16(gb_buf *b) { one_tensor(b, "t", 1, gcat_ne8, 16, 0, GCAT_AT_TYPE); }
static void c_type_unknown_31(gb_buf *b) { one_tensor(b, "t", 1, gcat_ne8, 31, 0, GCAT_AT_TYPE); }
static void c_type_unknown_max(gb_buf *b) {
    one_tensor(b, "t", 1, gcat_ne8, UINT32_MAX, 0, GCAT_AT_TYPE);
}
static void c_ne0_not_block_multiple_q4_0(gb_buf *b) {
    const uint64_t ne[2] = {16, 4};
    one_tensor(b, "t", 2, ne, GGUFREF_T_Q4_0, 0, GCAT_AT_NE0);
}
static void c_ne0_not_block_multiple_q6_k(gb_buf *b) {
    const uint64_t ne[2] = {128, 2}; /* 256 elements in all, but rows of 128 */
    one_tensor(b, "t", 2, ne, GGUFREF_T_Q6_K, 0, GCAT_AT_NE0);
}
static void c_type_q8_1_sized_valid(gb_buf *b) {
    const uint64_t ne[1] = {32};
    one_tensor(b, "t", 1, ne, GGUFREF_T_Q8_1, 0, GCAT_AT_NONE); /* 36 bytes of the 64 */
}

/* --- R-GGUF-028, R-GGUF-029 offsets and data ----------------------------------------------- */
/* Two F32[8] tensors (32 bytes each); the second at `offset2`, marked. */
static void two_tensors(gb_buf *b, uint64_t offset1, uint64_t offset2, gcat_mark at1) {
    header_one_kv(b, 2);
    gcat_tensor_info_at(b, "a", 1, gcat_ne8, GGUFREF_T_F32, offset1, at1);
    gcat_tensor_info_at(b, "b", 1, gcat_ne8, GGUFREF_T_F32, offset2,
                        at1 == GCAT_AT_NONE ? GCAT_AT_OFFSET : GCAT_AT_NONE);
    gb_pad(b, 32);
    gb_zeros(b, 64);
}
static void c_offset_unaligned(gb_buf *b) { two_tensors(b, 0, 48, GCAT_AT_NONE); }
static void c_offset_first_unaligned(gb_buf *b) { two_tensors(b, 1, 32, GCAT_AT_OFFSET); }
static void c_offset_overlap(gb_buf *b) { two_tensors(b, 0, 0, GCAT_AT_NONE); }
static void c_offset_gap(gb_buf *b) { two_tensors(b, 0, 64, GCAT_AT_NONE); }
static void c_offset_first_not_zero(gb_buf *b) { two_tensors(b, 32, 64, GCAT_AT_OFFSET); }
static void c_offset_past_end(gb_buf *b) { two_tensors(b, 0, 1ull << 40, GCAT_AT_NONE); }
static void c_offset_sum_past_2pow64(gb_buf *b) {
    two_tensors(b, 0, UINT64_MAX - 31, GCAT_AT_NONE);
}
static void c_offset_reversed_order(gb_buf *b) {
    header_one_kv(b, 2);
    gcat_tensor_info_at(b, "a", 1, gcat_ne8, GGUFREF_T_F32, 32, GCAT_AT_OFFSET);
    gcat_tensor_info_at(b, "b", 1, gcat_ne8, GGUFREF_T_F32, 0, GCAT_AT_NONE);
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
    two_tensors(b, 0, 32, GCAT_AT_NONE);
    b->len -= 1;
    b->mark = b->len - 31; /* the second tensor's first byte */
}
static void c_data_missing(gb_buf *b) {
    header_one_kv(b, 1);
    gcat_tensor_info_at(b, "t", 1, gcat_ne8, GGUFREF_T_F32, 0, GCAT_AT_NONE);
    gb_pad(b, 32);
    gb_mark(b);
}
static void c_data_ends_in_padding(gb_buf *b) {
    header_one_kv(b, 1);
    gcat_tensor_info_at(b, "t", 1, gcat_ne8, GGUFREF_T_F32, 0, GCAT_AT_NONE);
    size_t end = b->len;
    gb_pad(b, 32);
    gb_mark(b);
    b->len = end + 1;
}
static void c_v1_data_short_by_one(gb_buf *b) {
    b->version = 1;
    two_tensors(b, 0, 32, GCAT_AT_NONE);
    b->len -= 1;
    b->mark = b->len - 31;
}
static void c_data_trailing_bytes_valid(gb_buf *b) {
    two_tensors(b, 0, 32, GCAT_AT_NONE);
    gb_zeros(b, 100);
}
static void c_data_last_unpadded_valid(gb_buf *b) {
    const uint64_t ne[1] = {5}; /* 20 bytes, the file ends right after them */
    header_one_kv(b, 1);
    gcat_tensor_info_at(b, "t", 1, ne, GGUFREF_T_F32, 0, GCAT_AT_NONE);
    gb_pad(b, 32);
    gb_zeros(b, 20);
}
static void c_vocab_only_valid(gb_buf *b) { gcat_build_vocab_only(b); }
static void c_no_kv_no_tensor_valid(gb_buf *b) { gb_header(b, 0, 0); }

/* --- R-GGUF-027 padding ------------------------------------------------------------------- */
/* The padding before the data section holds 0xA5 bytes, not zeros: never read, so valid. */
static void c_padding_not_zero_valid(gb_buf *b) {
    header_one_kv(b, 1);
    gcat_tensor_info_at(b, "t", 1, gcat_ne8, GGUFREF_T_F32, 0, GCAT_AT_NONE);
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
    gcat_tensor_info_at(b, "t", 0, gcat_ne8, GGUFREF_T_F32, 0, GCAT_AT_NONE);
    gb_pad(b, 32);
    gb_zeros(b, 64);
}
/* Tensors "a", "a", then one with n_dims 0: the duplicate name waits for the last info. */
static void c_order_duplicate_tensor_after_last_info(gb_buf *b) {
    header_one_kv(b, 3);
    gcat_tensor_info_at(b, "a", 1, gcat_ne8, GGUFREF_T_F32, 0, GCAT_AT_NONE);
    gcat_tensor_info_at(b, "a", 1, gcat_ne8, GGUFREF_T_F32, 32, GCAT_AT_NONE);
    gcat_tensor_info_at(b, "c", 0, gcat_ne8, GGUFREF_T_F32, 64, GCAT_AT_NDIMS);
    gb_pad(b, 32);
    gb_zeros(b, 96);
}
/* Tensor "a" leaves a gap (offset 64, BAD_TENSOR_DATA), tensor "b" has type 16
 * (BAD_TENSOR_INFO): placement is checked after the last info, so "b" is reported. */
static void c_order_placement_after_last_info(gb_buf *b) {
    header_one_kv(b, 2);
    gcat_tensor_info_at(b, "a", 1, gcat_ne8, GGUFREF_T_F32, 64, GCAT_AT_NONE);
    gcat_tensor_info_at(b, "b", 1, gcat_ne8, 16, 96, GCAT_AT_TYPE);
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

/* --- Classes of defects other GGUF readers shipped (2024-2026 advisories, issue 10) ---------
 * Each row gives the shape of a published defect in a file the reference must reject (or
 * accept) per the rule cited in the table; the cve column names the advisory. */

/* Deeply nested arrays: 100000 levels (1.2 MB). A reader that recurses per level runs out of
 * stack (node-llama-cpp 3.22.1 crashed V8 on such a file; gguf-py raises RecursionError). */
static void c_nested_depth_100000(gb_buf *b) { nested(b, 100000, 5); }

/* String lengths that make position + length wrap past 2^64 (to just before the length). */
static void c_string_len_wraps(gb_buf *b) {
    one_kv_value(b, GGUFREF_TYPE_STRING);
    gb_u64(b, UINT64_MAX - 7);
    gb_bytes(b, "wrapped?", 8);
}
static void c_key_len_wraps(gb_buf *b) {
    gb_header(b, 0, 1);
    gb_mark(b);
    gb_u64(b, UINT64_MAX - 15);
    gb_zeros(b, 32);
}
static void c_tensor_name_len_wraps(gb_buf *b) {
    header_one_kv(b, 1);
    gb_mark(b);
    gb_u64(b, UINT64_MAX - 3);
    gb_zeros(b, 64);
}
/* a length that truncates to 0 in 32 bits (a reader keeping lengths in u32) */
static void c_string_len_2pow32(gb_buf *b) {
    one_kv_value(b, GGUFREF_TYPE_STRING);
    gb_u64(b, 1ull << 32);
    gb_zeros(b, 16);
}
static void c_v1_string_len_2pow32_minus_1(gb_buf *b) {
    b->version = 1;
    one_kv_value(b, GGUFREF_TYPE_STRING);
    gb_u32(b, UINT32_MAX);
    gb_zeros(b, 16);
}

/* Counts whose product with an entry size wraps, or that truncate to 1 in 32 bits. */
static void c_n_kv_times_24_wraps(gb_buf *b) { counts_file(b, 0, 0x0AAAAAAAAAAAAAABull, true); }
static void c_n_kv_2pow32_plus_1(gb_buf *b) { counts_file(b, 0, (1ull << 32) + 1, true); }
static void c_n_tensors_times_8_wraps(gb_buf *b) { counts_file(b, 1ull << 61, 1, false); }
static void c_n_tensors_2pow32_plus_1(gb_buf *b) { counts_file(b, (1ull << 32) + 1, 1, false); }

/* Dimensions whose product overflows, or that are negative as ggml's int64 ne. */
static void c_dims_product_wraps_to_2pow32(gb_buf *b) {
    const uint64_t ne[2] = {1ull << 32, (1ull << 32) + 1}; /* 2^64 + 2^32 wraps to 2^32 */
    one_tensor(b, "t", 2, ne, GGUFREF_T_F32, 0, GCAT_AT_NE1);
}
static void c_dims_product_2pow63_in_3_dims(gb_buf *b) {
    const uint64_t ne[3] = {1ull << 21, 1ull << 21, 1ull << 21};
    one_tensor(b, "t", 3, ne, GGUFREF_T_F32, 0, GCAT_AT_NE2);
}
static void c_dim_2pow64_minus_1(gb_buf *b) {
    const uint64_t ne[1] = {UINT64_MAX}; /* -1 as int64 */
    one_tensor(b, "t", 1, ne, GGUFREF_T_F32, 0, GCAT_AT_NE0);
}

/* Byte sizes: ne[0] * type size wraps before the division by the block size (Q4_0: ne[0] *
 * 18 = 2^64 + 64), and two tensors of 2^63 bytes each, whose sizes sum to 2^64. Both are
 * representable here (division first, R-GGUF-025): the file is just far too short for the
 * data (R-GGUF-029, at the first tensor's data). */
static void c_byte_size_q4_0_ne0_times_18_wraps(gb_buf *b) {
    const uint64_t ne[1] = {5124095576030431008ull};
    header_one_kv(b, 1);
    gcat_tensor_info_at(b, "t", 1, ne, GGUFREF_T_Q4_0, 0, GCAT_AT_NONE);
    gb_pad(b, 32);
    gb_mark(b);
    gb_zeros(b, 64);
}
/* A byte size of 2^64 - 4 (F32, 2^62 - 1 elements): representable, but the tensor's end in the
 * file, data offset + offset + size, passes 2^64 (R-GGUF-030); padded to the alignment it wraps
 * to 0 in a reader without overflow checks (llama.cpp's GGML_PAD). */
static void c_byte_size_padding_wraps(gb_buf *b) {
    const uint64_t ne[1] = {(1ull << 62) - 1};
    header_one_kv(b, 1);
    gcat_tensor_info_at(b, "t", 1, ne, GGUFREF_T_F32, 0, GCAT_AT_OFFSET);
    gb_pad(b, 32);
    gb_zeros(b, 64);
}
static void c_byte_sizes_sum_past_2pow64(gb_buf *b) {
    const uint64_t ne[1] = {1ull << 61}; /* 2^63 bytes each */
    header_one_kv(b, 2);
    gcat_tensor_info_at(b, "a", 1, ne, GGUFREF_T_F32, 0, GCAT_AT_NONE);
    gcat_tensor_info_at(b, "b", 1, ne, GGUFREF_T_F32, 1ull << 63, GCAT_AT_NONE);
    gb_pad(b, 32);
    gb_mark(b);
    gb_zeros(b, 64);
}
/* Tensor "a" ends at 2^64 - 4; the next aligned offset is 2^64, which wraps to 0 in a reader
 * that pads without an overflow check, so "b" at 0 would be in place. Here "a" already passes
 * 2^64 (R-GGUF-030, at its offset field). */
static void c_offset_expected_wraps(gb_buf *b) {
    const uint64_t ne[1] = {(1ull << 62) - 1};
    header_one_kv(b, 2);
    gcat_tensor_info_at(b, "a", 1, ne, GGUFREF_T_F32, 0, GCAT_AT_OFFSET);
    gcat_tensor_info_at(b, "b", 1, gcat_ne8, GGUFREF_T_F32, 0, GCAT_AT_NONE);
    gb_pad(b, 32);
    gb_zeros(b, 64);
}

/* ===================================================================================== */
/* The catalog                                                                            */
/* ===================================================================================== */

#define OK_ GGUFREF_OK
#define E(x) GGUFREF_ERR_##x

const gcat_case gcat_cases[] = {
    /* magic */
    {"empty_file", c_empty_file, E(TRUNCATED), "R-GGUF-003", "magic", NULL},
    {"magic_partial", c_magic_partial, E(TRUNCATED), "R-GGUF-003", "magic", NULL},
    {"magic_one_wrong_byte", c_magic_one_wrong_byte, E(BAD_MAGIC), "R-GGUF-003", "magic", NULL},
    {"magic_bad", c_magic_bad, E(BAD_MAGIC), "R-GGUF-003", "magic", NULL},
    {"magic_lowercase", c_magic_lowercase, E(BAD_MAGIC), "R-GGUF-003", "magic", NULL},
    {"magic_byte_swapped", c_magic_byte_swapped, E(BYTE_SWAPPED), "R-GGUF-003", "magic", NULL},
    /* version */
    {"version_0", c_version_0, E(UNSUPPORTED_VERSION), "R-GGUF-004", "version", NULL},
    {"version_4", c_version_4, E(UNSUPPORTED_VERSION), "R-GGUF-004", "version", NULL},
    {"version_ffffffff", c_version_ffffffff, E(UNSUPPORTED_VERSION), "R-GGUF-004", "version", NULL},
    {"version_0x04000000", c_version_0x04000000, E(UNSUPPORTED_VERSION), "R-GGUF-004",
     "version", NULL},
    {"version_0x03000000_swapped", c_version_swapped_3, E(BYTE_SWAPPED), "R-GGUF-004",
     "version", NULL},
    {"version_0x01000000_swapped", c_version_swapped_1, E(BYTE_SWAPPED), "R-GGUF-004",
     "version", NULL},
    {"version_truncated", c_version_truncated, E(TRUNCATED), "R-GGUF-002", "version", NULL},
    {"version_1_valid", c_version_1_valid, OK_, "R-GGUF-005", "version", NULL},
    {"version_2_valid", c_version_2_valid, OK_, "R-GGUF-004", "version", NULL},
    {"version_3_valid", c_version_3_valid, OK_, "R-GGUF-004", "version", NULL},
    /* counts */
    {"n_tensors_truncated", c_n_tensors_truncated, E(TRUNCATED), "R-GGUF-002", "counts", NULL},
    {"n_kv_truncated", c_n_kv_truncated, E(TRUNCATED), "R-GGUF-002", "counts", NULL},
    {"n_kv_2pow64_minus_1", c_n_kv_max, E(TRUNCATED), "R-GGUF-011",
     "count_overflow", "CVE-2024-23605"},
    {"n_kv_2pow63", c_n_kv_2pow63, E(TRUNCATED), "R-GGUF-011", "count_overflow", "CVE-2024-23605"},
    {"n_kv_product_wraps", c_n_kv_product_wraps, E(TRUNCATED), "R-GGUF-011",
     "count_overflow", "CVE-2024-23605"},
    {"n_tensors_2pow64_minus_1", c_n_tensors_max, E(TRUNCATED), "R-GGUF-011",
     "count_overflow", "llama.cpp#15711"},
    {"n_tensors_product_wraps", c_n_tensors_product_wraps, E(TRUNCATED), "R-GGUF-011",
     "count_overflow", "llama.cpp#15711"},
    {"n_tensors_past_file", c_n_tensors_one_past_file, E(TRUNCATED), "R-GGUF-011", "counts", NULL},
    {"v1_n_kv_2pow32_minus_1", c_v1_n_kv_max, E(TRUNCATED), "R-GGUF-011",
     "count_overflow", "CVE-2024-23605"},
    {"n_kv_one_more_than_present", c_n_kv_one_more_than_present, E(TRUNCATED), "R-GGUF-002",
     "counts", NULL},
    {"tensor_infos_missing", c_tensor_infos_missing, E(TRUNCATED), "R-GGUF-011", "counts", NULL},
    {"no_kv_no_tensor_valid", c_no_kv_no_tensor_valid, OK_, "R-GGUF-029", "counts", NULL},
    /* keys and strings */
    {"key_empty", c_key_empty, E(BAD_STRING), "R-GGUF-010", "strings", NULL},
    {"key_len_2pow64_minus_1", c_key_len_max, E(BAD_STRING), "R-GGUF-010",
     "string_length_wrap", NULL},
    {"key_len_past_limit", c_key_len_past_limit, E(BAD_STRING), "R-GGUF-010", "strings", NULL},
    {"key_at_limit_valid", c_key_at_limit_valid, OK_, "R-GGUF-010", "strings", NULL},
    {"key_longer_than_file", c_key_longer_than_file, E(TRUNCATED), "R-GGUF-010", "strings", NULL},
    {"key_len_truncated", c_key_len_truncated, E(TRUNCATED), "R-GGUF-002", "strings", NULL},
    {"v1_key_len_2pow32_minus_1", c_v1_key_len_max, E(BAD_STRING), "R-GGUF-010",
     "string_length_wrap", NULL},
    {"string_len_2pow64_minus_1", c_string_len_max, E(BAD_STRING), "R-GGUF-010",
     "string_length_wrap", NULL},
    {"string_past_limit", c_string_past_limit, E(BAD_STRING), "R-GGUF-010", "strings", NULL},
    {"string_longer_than_file", c_string_longer_than_file, E(TRUNCATED), "R-GGUF-010",
     "strings", NULL},
    {"v1_string_longer_than_file", c_v1_string_longer_than_file, E(TRUNCATED), "R-GGUF-005",
     "strings", NULL},
    {"string_empty_value_valid", c_string_empty_value_valid, OK_, "R-GGUF-010", "strings", NULL},
    /* value types */
    {"value_type_13", c_value_type_13, E(BAD_VALUE_TYPE), "R-GGUF-012", "value_types", NULL},
    {"value_type_2pow32_minus_1", c_value_type_max, E(BAD_VALUE_TYPE), "R-GGUF-012",
     "value_types", NULL},
    {"value_type_truncated", c_value_type_truncated, E(TRUNCATED), "R-GGUF-002",
     "value_types", NULL},
    {"value_u32_truncated", c_value_u32_truncated, E(TRUNCATED), "R-GGUF-002", "value_types", NULL},
    {"value_f64_truncated", c_value_f64_truncated, E(TRUNCATED), "R-GGUF-002", "value_types", NULL},
    {"value_f32_nan_valid", c_value_f32_nan_valid, OK_, "R-GGUF-015", "value_types", NULL},
    /* bools */
    {"bool_2", c_bool_2, E(BAD_VALUE), "R-GGUF-014", "bools", NULL},
    {"bool_ff", c_bool_ff, E(BAD_VALUE), "R-GGUF-014", "bools", NULL},
    {"bool_array_element_7", c_bool_array_element, E(BAD_VALUE), "R-GGUF-014", "bools", NULL},
    /* arrays */
    {"array_elem_type_13", c_array_elem_type_13, E(BAD_VALUE_TYPE), "R-GGUF-012", "arrays", NULL},
    {"array_count_2pow64_minus_1", c_array_count_max_u32, E(TRUNCATED), "R-GGUF-011",
     "arrays", NULL},
    {"array_count_times_size_wraps", c_array_count_times_size_wraps, E(TRUNCATED), "R-GGUF-011",
     "count_overflow", NULL},
    {"array_count_past_file", c_array_count_past_file, E(TRUNCATED), "R-GGUF-011", "arrays", NULL},
    {"array_elements_truncated", c_array_elements_truncated, E(TRUNCATED), "R-GGUF-011",
     "arrays", NULL},
    {"array_strings_count_2pow63", c_array_strings_count_2pow63, E(TRUNCATED), "R-GGUF-011",
     "arrays", NULL},
    {"array_string_longer_than_file", c_array_string_longer_than_file, E(TRUNCATED), "R-GGUF-010",
     "arrays", NULL},
    {"array_string_len_2pow64_minus_1", c_array_string_len_max, E(BAD_STRING), "R-GGUF-010",
     "string_length_wrap", NULL},
    {"v1_array_count_2pow32_minus_1", c_v1_array_count_max, E(TRUNCATED), "R-GGUF-011",
     "arrays", NULL},
    /* nested arrays */
    {"nested_depth_4_valid", c_nested_depth_4_valid, OK_, "R-GGUF-013", "nested_arrays", NULL},
    {"nested_depth_5", c_nested_depth_5, E(LIMIT_EXCEEDED), "R-GGUF-013", "nested_arrays", NULL},
    {"nested_depth_100", c_nested_depth_100, E(LIMIT_EXCEEDED), "R-GGUF-013",
     "nested_arrays", "node-llama-cpp 3.22.1 V8 crash"},
    {"nested_inner_elem_type_99", c_nested_inner_elem_type_bad, E(BAD_VALUE_TYPE), "R-GGUF-012",
     "nested_arrays", NULL},
    {"nested_inner_count_huge", c_nested_inner_count_huge, E(TRUNCATED), "R-GGUF-011",
     "nested_arrays", NULL},
    {"nested_outer_count_past_file", c_nested_outer_count_past_file, E(TRUNCATED), "R-GGUF-011",
     "nested_arrays", NULL},
    {"nested_bool_3", c_nested_bool_bad, E(BAD_VALUE), "R-GGUF-014", "nested_arrays", NULL},
    /* duplicate keys */
    {"duplicate_key", c_duplicate_key, E(DUPLICATE_NAME), "R-GGUF-016", "duplicate_keys", NULL},
    {"duplicate_key_other_type", c_duplicate_key_other_type, E(DUPLICATE_NAME), "R-GGUF-016",
     "duplicate_keys", NULL},
    {"duplicate_alignment_32_64", c_duplicate_alignment, E(DUPLICATE_NAME), "R-GGUF-016",
     "duplicate_keys", NULL},
    {"duplicate_key_among_2000", c_duplicate_key_among_many, E(DUPLICATE_NAME), "R-GGUF-016",
     "duplicate_keys", NULL},
    {"keys_prefix_of_each_other_valid", c_keys_prefix_of_each_other_valid, OK_, "R-GGUF-016",
     "duplicate_keys", NULL},
    /* alignment */
    {"alignment_u64", c_alignment_u64, E(BAD_ALIGNMENT), "R-GGUF-020", "alignment", NULL},
    {"alignment_i32", c_alignment_i32, E(BAD_ALIGNMENT), "R-GGUF-020", "alignment", NULL},
    {"alignment_string", c_alignment_string, E(BAD_ALIGNMENT), "R-GGUF-020", "alignment", NULL},
    {"alignment_array", c_alignment_array, E(BAD_ALIGNMENT), "R-GGUF-020", "alignment", NULL},
    {"alignment_0", c_alignment_0, E(BAD_ALIGNMENT), "R-GGUF-020", "alignment", NULL},
    {"alignment_13", c_alignment_13, E(BAD_ALIGNMENT), "R-GGUF-020", "alignment", NULL},
    {"alignment_2pow31", c_alignment_2pow31, E(BAD_ALIGNMENT), "R-GGUF-020",
     "alignment", "llama.cpp#24997"},
    {"alignment_4", c_alignment_4, E(BAD_ALIGNMENT), "R-GGUF-020", "alignment", NULL},
    {"alignment_1", c_alignment_1, E(BAD_ALIGNMENT), "R-GGUF-020", "alignment", NULL},
    {"alignment_8_valid", c_alignment_8_valid, OK_, "R-GGUF-020", "alignment", NULL},
    {"alignment_64_valid", c_alignment_64_valid, OK_, "R-GGUF-020", "alignment", NULL},
    {"alignment_2pow30_no_tensors_valid", c_alignment_2pow30_no_tensors_valid, OK_, "R-GGUF-020",
     "alignment", NULL},
    {"alignment_64_applies_to_offsets", c_alignment_64_applies_to_offsets,
     E(BAD_TENSOR_DATA), "R-GGUF-028", "alignment", NULL},
    /* tensor names */
    {"tensor_name_64_bytes", c_tensor_name_64, E(BAD_STRING), "R-GGUF-010", "tensor_names", NULL},
    {"tensor_name_63_bytes_valid", c_tensor_name_63_valid, OK_, "R-GGUF-010", "tensor_names", NULL},
    {"tensor_name_empty", c_tensor_name_empty, E(BAD_STRING), "R-GGUF-010", "tensor_names", NULL},
    {"tensor_name_len_2pow64_minus_1", c_tensor_name_len_max, E(BAD_STRING), "R-GGUF-010",
     "string_length_wrap", NULL},
    {"tensor_name_truncated", c_tensor_name_truncated, E(TRUNCATED), "R-GGUF-002",
     "tensor_names", NULL},
    {"tensor_name_duplicate", c_tensor_name_duplicate, E(DUPLICATE_NAME), "R-GGUF-026",
     "tensor_names", NULL},
    {"tensor_name_duplicate_among_3000", c_tensor_name_duplicate_among_3000,
     E(DUPLICATE_NAME), "R-GGUF-026", "tensor_names", NULL},
    /* dims */
    {"n_dims_0", c_n_dims_0, E(BAD_TENSOR_INFO), "R-GGUF-021", "dims", NULL},
    {"n_dims_5", c_n_dims_5, E(BAD_TENSOR_INFO), "R-GGUF-021", "dims", NULL},
    {"n_dims_2pow32_minus_1", c_n_dims_max, E(BAD_TENSOR_INFO), "R-GGUF-021",
     "huge_n_dims", "node-llama-cpp 3.22.1 hang"},
    {"dim_zero", c_dim_zero, E(BAD_TENSOR_INFO), "R-GGUF-022", "dims", NULL},
    {"v1_dim_zero", c_v1_dim_zero, E(BAD_TENSOR_INFO), "R-GGUF-022", "dims", NULL},
    {"dim_2pow63", c_dim_past_int64, E(BAD_TENSOR_INFO), "R-GGUF-022",
     "ne_product_overflow", "CVE-2024-21802"},
    {"dims_product_past_int64", c_dims_product_past_int64, E(BAD_TENSOR_INFO), "R-GGUF-022",
     "ne_product_overflow", "CVE-2024-21802"},
    {"dims_product_wraps_2pow64", c_dims_product_wraps_2pow64, E(BAD_TENSOR_INFO), "R-GGUF-022",
     "ne_product_overflow", "CVE-2024-21802"},
    {"byte_size_past_size_max", c_byte_size_past_size_max, E(BAD_TENSOR_INFO), "R-GGUF-025",
     "nbytes_overflow", "CVE-2026-33298"},
    {"byte_size_3x2pow61_f32_past_size_max", c_byte_size_3x2pow61_f32,
     E(BAD_TENSOR_INFO), "R-GGUF-025", "nbytes_overflow", "CVE-2026-33298"},
    {"byte_size_q8_k_max_larger_than_file", c_byte_size_q8_k_max_representable,
     E(TRUNCATED), "R-GGUF-029", "dims", NULL},
    {"byte_size_larger_than_file", c_byte_size_huge_but_valid_header, E(TRUNCATED), "R-GGUF-029",
     "data", "CVE-2026-7482"},
    {"dims_truncated", c_dims_truncated, E(TRUNCATED), "R-GGUF-002", "dims", NULL},
    /* types */
    {"type_removed_4", c_type_removed_4, E(BAD_TENSOR_INFO), "R-GGUF-023", "tensor_types", NULL},
    {"type_removed_5", c_type_removed_5, E(BAD_TENSOR_INFO), "R-GGUF-023", "tensor_types", NULL},
    {"type_unknown_16", c_type_unknown_16, E(BAD_TENSOR_INFO), "R-GGUF-023", "tensor_types", NULL},
    {"type_unknown_31", c_type_unknown_31, E(BAD_TENSOR_INFO), "R-GGUF-023", "tensor_types", NULL},
    {"type_unknown_2pow32_minus_1", c_type_unknown_max, E(BAD_TENSOR_INFO), "R-GGUF-023",
     "tensor_types", NULL},
    {"type_q8_1_sized_valid", c_type_q8_1_sized_valid, OK_, "R-GGUF-023", "tensor_types", NULL},
    {"ne0_not_block_multiple_q4_0", c_ne0_not_block_multiple_q4_0, E(BAD_TENSOR_INFO), "R-GGUF-024",
     "tensor_types", NULL},
    {"ne0_not_block_multiple_q6_k", c_ne0_not_block_multiple_q6_k, E(BAD_TENSOR_INFO), "R-GGUF-024",
     "tensor_types", NULL},
    /* offsets and data */
    {"offset_unaligned", c_offset_unaligned, E(BAD_TENSOR_DATA), "R-GGUF-028", "data", NULL},
    {"offset_first_unaligned", c_offset_first_unaligned, E(BAD_TENSOR_DATA), "R-GGUF-028",
     "data", NULL},
    {"offset_overlap", c_offset_overlap, E(BAD_TENSOR_DATA), "R-GGUF-028", "data", NULL},
    {"offset_gap", c_offset_gap, E(BAD_TENSOR_DATA), "R-GGUF-028", "data", NULL},
    {"offset_first_not_zero", c_offset_first_not_zero, E(BAD_TENSOR_DATA), "R-GGUF-028",
     "data", NULL},
    {"offset_reversed_order", c_offset_reversed_order, E(BAD_TENSOR_DATA), "R-GGUF-028",
     "data", NULL},
    {"offset_past_end", c_offset_past_end, E(BAD_TENSOR_DATA), "R-GGUF-028", "data", NULL},
    {"offset_sum_past_2pow64", c_offset_sum_past_2pow64, E(BAD_TENSOR_DATA), "R-GGUF-028",
     "offset_overflow", NULL},
    {"offset_truncated", c_offset_truncated, E(TRUNCATED), "R-GGUF-002", "data", NULL},
    {"data_short_by_one", c_data_short_by_one, E(TRUNCATED), "R-GGUF-029", "data", "CVE-2026-7482"},
    {"v1_data_short_by_one", c_v1_data_short_by_one, E(TRUNCATED), "R-GGUF-029", "data", NULL},
    {"data_missing", c_data_missing, E(TRUNCATED), "R-GGUF-029", "data", NULL},
    {"data_ends_in_padding", c_data_ends_in_padding, E(TRUNCATED), "R-GGUF-029", "data", NULL},
    {"data_trailing_bytes_valid", c_data_trailing_bytes_valid, OK_, "R-GGUF-029", "data", NULL},
    {"data_last_tensor_unpadded_valid", c_data_last_unpadded_valid, OK_, "R-GGUF-029",
     "data", NULL},
    {"vocab_only_ends_before_data_offset_valid", c_vocab_only_valid, OK_, "R-GGUF-029",
     "data", NULL},
    {"padding_not_zero_valid", c_padding_not_zero_valid, OK_, "R-GGUF-027", "data", NULL},
    /* order of checks */
    {"order_first_violation_wins", c_order_first_violation_wins, E(BAD_VALUE), "R-GGUF-008",
     "order", NULL},
    {"order_duplicate_key_after_last_kv", c_order_duplicate_key_after_last_kv,
     E(BAD_VALUE_TYPE), "R-GGUF-008", "order", NULL},
    {"order_duplicate_key_before_tensor_infos", c_order_duplicate_key_before_tensor_infos,
     E(DUPLICATE_NAME), "R-GGUF-008", "order", NULL},
    {"order_duplicate_tensor_after_last_info", c_order_duplicate_tensor_after_last_info,
     E(BAD_TENSOR_INFO), "R-GGUF-008", "order", NULL},
    {"order_placement_after_last_info", c_order_placement_after_last_info,
     E(BAD_TENSOR_INFO), "R-GGUF-008", "order", NULL},
    {"order_count_before_kvs", c_order_count_before_kvs, E(TRUNCATED), "R-GGUF-008", "order", NULL},
    /* classes of defects other readers shipped (issue 10); cve: the advisory or report */
    {"nested_depth_100000", c_nested_depth_100000, E(LIMIT_EXCEEDED), "R-GGUF-013",
     "nested_arrays", "node-llama-cpp 3.22.1 V8 crash"},
    {"string_len_wraps", c_string_len_wraps, E(BAD_STRING), "R-GGUF-010",
     "string_length_wrap", NULL},
    {"key_len_wraps", c_key_len_wraps, E(BAD_STRING), "R-GGUF-010", "string_length_wrap", NULL},
    {"tensor_name_len_wraps", c_tensor_name_len_wraps, E(BAD_STRING), "R-GGUF-010",
     "string_length_wrap", NULL},
    {"string_len_2pow32", c_string_len_2pow32, E(BAD_STRING), "R-GGUF-010",
     "string_length_wrap", NULL},
    {"v1_string_len_2pow32_minus_1", c_v1_string_len_2pow32_minus_1, E(BAD_STRING), "R-GGUF-010",
     "string_length_wrap", NULL},
    {"n_kv_times_24_wraps", c_n_kv_times_24_wraps, E(TRUNCATED), "R-GGUF-011",
     "count_overflow", "CVE-2024-23605"},
    {"n_kv_2pow32_plus_1", c_n_kv_2pow32_plus_1, E(TRUNCATED), "R-GGUF-011",
     "count_overflow", "CVE-2024-23605"},
    {"n_tensors_times_8_wraps", c_n_tensors_times_8_wraps, E(TRUNCATED), "R-GGUF-011",
     "count_overflow", "llama.cpp#15711"},
    {"n_tensors_2pow32_plus_1", c_n_tensors_2pow32_plus_1, E(TRUNCATED), "R-GGUF-011",
     "count_overflow", "llama.cpp#15711"},
    {"dims_product_wraps_to_2pow32", c_dims_product_wraps_to_2pow32,
     E(BAD_TENSOR_INFO), "R-GGUF-022", "ne_product_overflow", "CVE-2024-21802"},
    {"dims_product_2pow63_in_3_dims", c_dims_product_2pow63_in_3_dims,
     E(BAD_TENSOR_INFO), "R-GGUF-022", "ne_product_overflow", "CVE-2024-21802"},
    {"dim_2pow64_minus_1", c_dim_2pow64_minus_1, E(BAD_TENSOR_INFO), "R-GGUF-022",
     "ne_product_overflow", "CVE-2024-21802"},
    {"byte_size_q4_0_ne0_times_18_wraps", c_byte_size_q4_0_ne0_times_18_wraps,
     E(TRUNCATED), "R-GGUF-025", "nbytes_overflow", "llama.cpp#27200"},
    {"byte_size_padding_wraps", c_byte_size_padding_wraps, E(BAD_TENSOR_DATA), "R-GGUF-030",
     "nbytes_overflow", "llama.cpp#24759"},
    {"byte_sizes_sum_past_2pow64", c_byte_sizes_sum_past_2pow64, E(TRUNCATED), "R-GGUF-029",
     "nbytes_overflow", "CVE-2025-53630"},
    {"offset_expected_wraps", c_offset_expected_wraps, E(BAD_TENSOR_DATA), "R-GGUF-030",
     "offset_overflow", "llama.cpp#24759"},
};
const size_t gcat_n_cases = sizeof gcat_cases / sizeof gcat_cases[0];

ggufref_status gcat_load_status(const gcat_case *c) {
    return c->expect != GGUFREF_OK ? c->expect : GGUFREF_ERR_UNSUPPORTED_MODEL;
}

const gcat_case *gcat_find(const char *name) {
    for (size_t i = 0; i < gcat_n_cases; i++) {
        if (strcmp(gcat_cases[i].name, name) == 0) return &gcat_cases[i];
    }
    return NULL;
}

/* The valid fixtures the prefix and fault tests walk. */
const gcat_fixture gcat_fixtures[] = {
    {"v3", gcat_build_v3, true},
    {"v2", gcat_build_v2, true},
    {"v1", gcat_build_v1, true},
    {"vocab_only", gcat_build_vocab_only, false},
};
const size_t gcat_n_fixtures = sizeof gcat_fixtures / sizeof gcat_fixtures[0];
