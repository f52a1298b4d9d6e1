/*
 * torture_tokenizer.c — the SentencePiece tokenizer (SPEC chapter 5, R-TOK-*).
 *
 *   - the 46 llama.cpp test vectors of ggml-vocab-llama-spm.gguf (skipped without the
 *     shared material), through ggufref_model_load_vocab + ggufref_tokenize;
 *   - a small synthetic vocabulary (built with gguf_builder) where every rule has a case:
 *     score priority, leftmost ties, byte fallback, ill-formed UTF-8, unmatchable types,
 *     duplicate texts, UNK fallback, the prefix flag, BOS, capacity;
 *   - decode rules and the decode(encode(text)) round trip;
 *   - a table of rejected vocabularies with exact statuses, and allocation failures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "files.h"
#include "gguf_builder.h"
#include "ggufref.h"
#include "model.h" /* gr_model_tokenizer; includes tokenizer.h */
#include "oom.h"
#include "vocab_flood.h"

/* ---- shared material --------------------------------------------------------------------- */

/* Path of a material file, or NULL if absent. OUT: buf. */
static const char *material(const char *rel, char *buf, size_t cap) {
    return material_path(rel, buf, cap) ? buf : NULL;
}

/* The whole file, NUL-terminated (must exist). OUT: *len. */
static char *slurp(const char *path, size_t *len) {
    char *b = read_whole_file(path, len);
    assert_non_null(b);
    return b;
}

/* Decode ids after BOS into buf; returns the length. */
static size_t decode_all(const gr_tokenizer *t, int32_t bos, const int32_t *ids, size_t n,
                         char *buf, size_t cap) {
    size_t len = 0;
    int32_t prev = bos;
    for (size_t i = 0; i < n; i++) {
        ggufref_str p = gr_tokenizer_piece(t, prev, ids[i]);
        assert_true(len + p.len <= cap);
        memcpy(buf + len, p.ptr, p.len);
        len += p.len;
        prev = ids[i];
    }
    return len;
}

/* R-TOK-017 (and 010..015, 020..022): all 46 llama.cpp vectors (HF tokenizer output, no BOS), and
 * every one decodes back to its text. */
static void test_tokenize_llama_spm_vectors(void **state) {
    (void)state;
    char p1[1024], p2[1024], p3[1024];
    const char *vocab = material("llama.cpp-vocab/ggml-vocab-llama-spm.gguf", p1, sizeof p1);
    const char *inp = material("llama.cpp-vocab/ggml-vocab-llama-spm.gguf.inp", p2, sizeof p2);
    const char *outp = material("llama.cpp-vocab/ggml-vocab-llama-spm.gguf.out", p3, sizeof p3);
    if (vocab == NULL || inp == NULL || outp == NULL) {
        print_message("SKIP: %s\n", "shared material llama.cpp-vocab/ absent (set GGUFREF_SHARED_DIR)");
        skip();
        return;
    }
    ggufref_gguf *g = NULL;
    ggufref_model *m = NULL;
    ggufref_error err;
    assert_int_equal(ggufref_gguf_open_file(vocab, &g, &err), GGUFREF_OK);
    assert_int_equal(ggufref_model_load_vocab(g, &m, &err), GGUFREF_OK);
    ggufref_model_info info;
    ggufref_model_get_info(m, &info);
    assert_int_equal(info.n_vocab, 32000);
    assert_int_equal(info.bos_id, 1);
    assert_int_equal(info.eos_id, 2);
    assert_int_equal(info.unk_id, 0);
    assert_true(info.add_bos);
    size_t n_in, n_out;
    char *in = slurp(inp, &n_in), *out = slurp(outp, &n_out);
    static const char sep[] = "\n__ggml_vocab_test__\n";
    char *p = in, *o = out;
    int cases = 0;
    static int32_t ids[4096];
    static char text[65536];
    for (char *end; (end = strstr(p, sep)) != NULL; p = end + strlen(sep)) {
        char *eol = strchr(o, '\n');
        assert_non_null(eol);
        *eol = '\0';
        size_t n = 0, len = (size_t)(end - p);
        assert_int_equal(ggufref_tokenize(m, p, len, false, ids, 4096, &n), GGUFREF_OK);
        char got[16384];
        size_t gl = 0;
        got[0] = '\0';
        for (size_t i = 0; i < n; i++) gl += (size_t)snprintf(got + gl, sizeof got - gl, " %d", ids[i]);
        if (strcmp(got, o) != 0) fail_msg("case %d:\n got:%s\nwant:%s", cases + 1, got, o);
        size_t dl = decode_all(gr_model_tokenizer(m), 1, ids, n, text, sizeof text);
        if (dl != len || memcmp(text, p, len) != 0) fail_msg("case %d does not round-trip", cases + 1);
        /* with BOS: the same ids after id 1 */
        size_t nb = 0;
        assert_int_equal(ggufref_tokenize(m, p, len, true, ids, 4096, &nb), GGUFREF_OK);
        assert_int_equal(nb, n + 1);
        assert_int_equal(ids[0], 1);
        o = eol + 1;
        cases++;
    }
    assert_int_equal(cases, 46);
    free(in);
    free(out);
    ggufref_model_free(m);
    ggufref_gguf_close(g);
}

/* ---- the synthetic vocabulary ------------------------------------------------------------- */

#define SP "\xE2\x96\x81" /* U+2581 */
#define BYTE(b) (3 + (b)) /* id of <0xHH> in the test vocabulary */

enum {
    T_SP = 259, T_A, T_B, T_C, T_AB, T_BC, T_AA, T_SP_A, T_E_ACUTE, T_XY_CONTROL, T_X, T_Y,
    T_Q1, T_Q2, T_SP_AB, T_ZZ_UNUSED, T_EMPTY, N_TEST_VOCAB
};

typedef struct tok_def {
    const char *text;
    float score;
    int32_t type;
} tok_def;

static const tok_def EXTRA[] = {
    {SP, -1.0f, 1},       {"a", -2.0f, 1},      {"b", -2.0f, 1},   {"c", -2.0f, 1},
    {"ab", -5.0f, 1},     {"bc", -1.0f, 1},     {"aa", -3.0f, 1},  {SP "a", -4.0f, 1},
    {"\xC3\xA9", -2.0f, 1}, {"xy", 0.0f, 3},    {"x", -2.0f, 1},   {"y", -2.0f, 1},
    {"q", -2.0f, 1},      {"q", -2.5f, 1},      {SP "ab", -0.5f, 1}, {"zz", 0.0f, 5},
    {"", 0.0f, 1},
};

/* What to put in (or break about) a vocabulary file. */
typedef struct vocab_opts {
    const char *model;     /* tokenizer.ggml.model; NULL: absent */
    bool model_as_u32;
    bool no_tokens;
    bool tokens_as_i32;
    bool empty_tokens;
    int scores;            /* 0 normal, 1 absent, 2 one short, 3 NaN at 260, 4 as i32 */
    int types;             /* 0 normal, 1 absent, 2 value 7, 3 value -1, 4 BYTE on "a" */
    bool no_byte_tokens;   /* drop ids 3..258 (then ids shift down by 256) */
    int64_t bos, eos, unk; /* INT64_MIN: absent */
    bool bos_as_str;
    int add_bos;           /* -1 absent, 0/1, 2 written as u8 */
    int add_space_prefix;  /* -1 absent, 0/1 */
} vocab_opts;

static vocab_opts default_opts(void) {
    vocab_opts o = {.model = "llama", .bos = 1, .eos = 2, .unk = 0, .add_bos = -1,
                    .add_space_prefix = -1};
    return o;
}

static char BYTE_TEXT[256][7];

/* Token i of the test vocabulary. */
static tok_def vocab_token(uint32_t i) {
    if (i == 0) return (tok_def){"<unk>", 0.0f, 2};
    if (i == 1) return (tok_def){"<s>", 0.0f, 3};
    if (i == 2) return (tok_def){"</s>", 0.0f, 3};
    if (i < T_SP) {
        snprintf(BYTE_TEXT[i - 3], 7, "<0x%02X>", (unsigned)(i - 3));
        return (tok_def){BYTE_TEXT[i - 3], 0.0f, 6};
    }
    return EXTRA[i - T_SP];
}

/* Write the vocabulary GGUF (version 3, no tensors) described by o. */
static void build_vocab(gb_buf *b, const vocab_opts *o) {
    gb_init(b, 3);
    gb_header(b, 0, 0);
    uint64_t n_kv = 0;
    uint32_t ids[N_TEST_VOCAB];
    size_t n = 0;
    for (uint32_t i = 0; i < N_TEST_VOCAB; i++) {
        if (o->no_byte_tokens && i >= 3 && i < T_SP) continue;
        ids[n++] = i;
    }
    if (o->model != NULL) {
        if (o->model_as_u32) gb_kv_u32(b, "tokenizer.ggml.model", 7);
        else gb_kv_str(b, "tokenizer.ggml.model", o->model);
        n_kv++;
    }
    if (!o->no_tokens) {
        if (o->tokens_as_i32) {
            gb_kv_array(b, "tokenizer.ggml.tokens", GGUFREF_TYPE_INT32, n);
            for (size_t i = 0; i < n; i++) gb_i32(b, 0);
        } else {
            size_t count = o->empty_tokens ? 0 : n;
            gb_kv_array(b, "tokenizer.ggml.tokens", GGUFREF_TYPE_STRING, count);
            for (size_t i = 0; i < count; i++) gb_str(b, vocab_token(ids[i]).text);
        }
        n_kv++;
    }
    if (o->scores != 1) {
        size_t count = o->scores == 2 ? n - 1 : n;
        gb_kv_array(b, "tokenizer.ggml.scores",
                    o->scores == 4 ? GGUFREF_TYPE_INT32 : GGUFREF_TYPE_FLOAT32, count);
        for (size_t i = 0; i < count; i++) {
            float s = vocab_token(ids[i]).score;
            if (o->scores == 3 && ids[i] == T_A) {
                uint32_t nan = 0x7fc00000u;
                memcpy(&s, &nan, sizeof s);
            }
            if (o->scores == 4) gb_i32(b, (int32_t)s);
            else gb_f32(b, s);
        }
        n_kv++;
    }
    if (o->types != 1) {
        gb_kv_array(b, "tokenizer.ggml.token_type", GGUFREF_TYPE_INT32, n);
        for (size_t i = 0; i < n; i++) {
            int32_t ty = vocab_token(ids[i]).type;
            if (ids[i] == T_A && o->types == 2) ty = 7;
            if (ids[i] == T_A && o->types == 3) ty = -1;
            if (ids[i] == T_A && o->types == 4) ty = 6;
            gb_i32(b, ty);
        }
        n_kv++;
    }
    if (o->bos != INT64_MIN) {
        if (o->bos_as_str) gb_kv_str(b, "tokenizer.ggml.bos_token_id", "1");
        else gb_kv_i32(b, "tokenizer.ggml.bos_token_id", (int32_t)o->bos);
        n_kv++;
    }
    if (o->eos != INT64_MIN) {
        gb_kv_u32(b, "tokenizer.ggml.eos_token_id", (uint32_t)o->eos);
        n_kv++;
    }
    if (o->unk != INT64_MIN) {
        gb_kv_i32(b, "tokenizer.ggml.unknown_token_id", (int32_t)o->unk);
        n_kv++;
    }
    if (o->add_bos >= 0) {
        if (o->add_bos == 2) gb_kv_u8(b, "tokenizer.ggml.add_bos_token", 1);
        else gb_kv_bool(b, "tokenizer.ggml.add_bos_token", o->add_bos == 1);
        n_kv++;
    }
    if (o->add_space_prefix >= 0) {
        gb_kv_bool(b, "tokenizer.ggml.add_space_prefix", o->add_space_prefix == 1);
        n_kv++;
    }
    gb_patch_u64(b, 16, n_kv); /* n_kv follows magic, version and n_tensors */
}

/* A tokenizer on a private copy of the file. */
typedef struct vocab_fixture {
    void *bytes;
    ggufref_gguf *g;
    gr_tokenizer *t;
} vocab_fixture;

static ggufref_status open_vocab(const vocab_opts *o, vocab_fixture *f, ggufref_error *err) {
    gb_buf b;
    build_vocab(&b, o);
    f->bytes = gb_dup(&b);
    size_t len = b.len;
    gb_free(&b);
    f->t = NULL;
    assert_int_equal(ggufref_gguf_open_memory(f->bytes, len, &f->g, err), GGUFREF_OK);
    return gr_tokenizer_init(f->g, &f->t, err);
}

static void close_vocab(vocab_fixture *f) {
    gr_tokenizer_free(f->t);
    ggufref_gguf_close(f->g);
    free(f->bytes);
}

/* Encode text and compare with the expected ids. */
static void expect_ids(const gr_tokenizer *t, const char *text, size_t len, bool bos,
                       const int32_t *want, size_t n_want) {
    int32_t ids[64];
    size_t n = 99;
    assert_int_equal(gr_tokenizer_encode(t, text, len, bos, ids, 64, &n), GGUFREF_OK);
    if (n != n_want) fail_msg("'%.*s': %zu ids, want %zu", (int)len, text, n, n_want);
    for (size_t i = 0; i < n; i++) {
        if (ids[i] != want[i]) fail_msg("'%.*s': id %zu is %d, want %d", (int)len, text, i, ids[i], want[i]);
    }
}
#define EXPECT(t, text, bos, ...)                                                           \
    do {                                                                                    \
        const int32_t w_[] = {__VA_ARGS__};                                                 \
        expect_ids((t), (text), sizeof(text) - 1, (bos), w_, sizeof w_ / sizeof w_[0]);    \
    } while (0)

/* R-TOK-013: the highest-scoring pair merges first; equal scores merge leftmost first.
 * R-TOK-010: the U+2581 prefix (only with add_space_prefix) and spaces as U+2581. */
static void test_tokenize_merge_priority(void **state) {
    (void)state;
    vocab_fixture f;
    vocab_opts o = default_opts();
    assert_int_equal(open_vocab(&o, &f, NULL), GGUFREF_OK);
    EXPECT(f.t, "abc", false, T_SP_A, T_BC);        /* bc (-1) before ▁a (-4) before ab (-5) */
    EXPECT(f.t, "aaa", false, T_SP, T_AA, T_A);     /* aa ties: leftmost; ▁a is then stale */
    EXPECT(f.t, "ab", false, T_SP_AB);              /* ▁a, then ▁ab */
    EXPECT(f.t, "b a", false, T_SP, T_B, T_SP_A);   /* ' ' is U+2581 */
    EXPECT(f.t, " ", false, T_SP, T_SP);
    close_vocab(&f);
    o.add_space_prefix = 0;
    assert_int_equal(open_vocab(&o, &f, NULL), GGUFREF_OK);
    EXPECT(f.t, "aaa", false, T_AA, T_A);
    EXPECT(f.t, " a", false, T_SP_A);
    close_vocab(&f);
}

/* R-TOK-014: characters that are no piece fall back to <0xHH> tokens, one per byte. */
static void test_tokenize_byte_fallback(void **state) {
    (void)state;
    vocab_fixture f;
    vocab_opts o = default_opts();
    assert_int_equal(open_vocab(&o, &f, NULL), GGUFREF_OK);
    EXPECT(f.t, "z", false, T_SP, BYTE(0x7A));
    EXPECT(f.t, "\xC3\xA9", false, T_SP, T_E_ACUTE);               /* é is a piece */
    EXPECT(f.t, "\xC3\xBC", false, T_SP, BYTE(0xC3), BYTE(0xBC));  /* ü is not */
    EXPECT(f.t, "\xF0\x9F\x99\x82", false, T_SP, BYTE(0xF0), BYTE(0x9F), BYTE(0x99), BYTE(0x82));
    close_vocab(&f);
}

/* R-TOK-011: each byte that does not start a well-formed UTF-8 sequence is a symbol of its own
 * (so a following ASCII character still merges normally). */
static void test_tokenize_invalid_utf8(void **state) {
    (void)state;
    vocab_fixture f;
    vocab_opts o = default_opts();
    assert_int_equal(open_vocab(&o, &f, NULL), GGUFREF_OK);
    EXPECT(f.t, "\xC3" "a", false, T_SP, BYTE(0xC3), T_A);             /* truncated 2-byte */
    EXPECT(f.t, "\x80", false, T_SP, BYTE(0x80));                      /* lone continuation */
    EXPECT(f.t, "\xC0\xAF", false, T_SP, BYTE(0xC0), BYTE(0xAF));      /* overlong */
    EXPECT(f.t, "\xED\xA0\x80", false, T_SP, BYTE(0xED), BYTE(0xA0), BYTE(0x80)); /* surrogate */
    EXPECT(f.t, "\xF4\x90\x80\x80", false, T_SP, BYTE(0xF4), BYTE(0x90), BYTE(0x80), BYTE(0x80));
    EXPECT(f.t, "a\xE2\x96", false, T_SP_A, BYTE(0xE2), BYTE(0x96));   /* cut-off U+2581 */
    EXPECT(f.t, "\xFF" "ab", false, T_SP, BYTE(0xFF), T_AB);
    const char nul[3] = {'a', '\0', 'b'};                               /* NUL is a byte */
    const int32_t want[] = {T_SP_A, BYTE(0x00), T_B};
    expect_ids(f.t, nul, 3, false, want, 3);
    close_vocab(&f);
}

/* R-TOK-005, R-TOK-006: control, unused and byte tokens are never matched from text; of two
 * matchable tokens with one text, the higher id wins. */
static void test_tokenize_matchable_types(void **state) {
    (void)state;
    vocab_fixture f;
    vocab_opts o = default_opts();
    assert_int_equal(open_vocab(&o, &f, NULL), GGUFREF_OK);
    EXPECT(f.t, "xy", false, T_SP, T_X, T_Y);
    EXPECT(f.t, "zz", false, T_SP, BYTE(0x7A), BYTE(0x7A));
    EXPECT(f.t, "q", false, T_SP, T_Q2);
    EXPECT(f.t, "<s>", false, T_SP, BYTE('<'), BYTE('s'), BYTE('>'));
    EXPECT(f.t, "<0x41>", false, T_SP, BYTE('<'), BYTE('0'), T_X, BYTE('4'), BYTE('1'), BYTE('>'));
    close_vocab(&f);
}

/* R-TOK-012, R-TOK-015: empty text is no tokens (BOS alone with add_bos); BOS comes first. */
static void test_tokenize_empty_and_bos(void **state) {
    (void)state;
    vocab_fixture f;
    vocab_opts o = default_opts();
    assert_int_equal(open_vocab(&o, &f, NULL), GGUFREF_OK);
    size_t n = 7;
    assert_int_equal(gr_tokenizer_encode(f.t, NULL, 0, false, NULL, 0, &n), GGUFREF_OK);
    assert_int_equal(n, 0);
    EXPECT(f.t, "", true, 1);
    EXPECT(f.t, "ab", true, 1, T_SP_AB);
    close_vocab(&f);
    o.bos = -1; /* a negative id means none: add_bos adds nothing */
    assert_int_equal(open_vocab(&o, &f, NULL), GGUFREF_OK);
    assert_int_equal(gr_tokenizer_bos(f.t), -1);
    EXPECT(f.t, "ab", true, T_SP_AB);
    close_vocab(&f);
}

/* R-TOK-016: capacity and argument errors. */
static void test_tokenize_capacity_and_arguments(void **state) {
    (void)state;
    vocab_fixture f;
    vocab_opts o = default_opts();
    assert_int_equal(open_vocab(&o, &f, NULL), GGUFREF_OK);
    int32_t ids[3] = {-5, -5, -5};
    size_t n = 0;
    assert_int_equal(gr_tokenizer_encode(f.t, "b a", 3, true, ids, 2, &n), GGUFREF_ERR_LIMIT_EXCEEDED);
    assert_int_equal(n, 4); /* BOS ▁ b ▁a */
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], T_SP);
    assert_int_equal(ids[2], -5);
    assert_int_equal(gr_tokenizer_encode(f.t, "ab", 2, false, NULL, 0, &n), GGUFREF_ERR_LIMIT_EXCEEDED);
    assert_int_equal(n, 1); /* a count query */
    assert_int_equal(gr_tokenizer_encode(f.t, NULL, 1, false, ids, 3, &n), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(gr_tokenizer_encode(f.t, "a", 1, false, NULL, 3, &n), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(gr_tokenizer_encode(f.t, "a", 1, false, ids, 3, NULL), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(gr_tokenizer_encode(f.t, "a", (size_t)GGUFREF_MAX_TOKENIZE_BYTES + 1, false,
                                         ids, 3, &n),
                     GGUFREF_ERR_LIMIT_EXCEEDED);
    assert_int_equal(ggufref_tokenize(NULL, "a", 1, false, ids, 3, &n), GGUFREF_ERR_INVALID_ARGUMENT);
    close_vocab(&f);
}

/* R-TOK-003, R-TOK-014: without a type array, <0xHH> texts are byte tokens and BOS/EOS/UNK are
 * control; without byte tokens, an unknown byte is UNK, and without UNK it is BAD_VALUE. */
static void test_tokenize_untyped_and_unk_fallback(void **state) {
    (void)state;
    vocab_fixture f;
    vocab_opts o = default_opts();
    o.types = 1;
    assert_int_equal(open_vocab(&o, &f, NULL), GGUFREF_OK);
    EXPECT(f.t, "z", false, T_SP, BYTE(0x7A));
    EXPECT(f.t, "<s>", false, T_SP, BYTE('<'), BYTE('s'), BYTE('>'));
    EXPECT(f.t, "q", false, T_SP, T_Q2);
    EXPECT(f.t, "zz", false, T_SP, T_ZZ_UNUSED); /* "zz" is NORMAL when untyped */
    close_vocab(&f);

    o = default_opts();
    o.no_byte_tokens = true; /* ids above 2 shift down by 256 */
    assert_int_equal(open_vocab(&o, &f, NULL), GGUFREF_OK);
    EXPECT(f.t, "z" "a", false, T_SP - 256, 0, T_A - 256);
    close_vocab(&f);
    o.unk = -1;
    assert_int_equal(open_vocab(&o, &f, NULL), GGUFREF_OK);
    assert_int_equal(gr_tokenizer_unk(f.t), -1);
    int32_t ids[8];
    size_t n = 5;
    assert_int_equal(gr_tokenizer_encode(f.t, "za", 2, false, ids, 8, &n), GGUFREF_ERR_BAD_VALUE);
    assert_int_equal(n, 0);
    EXPECT(f.t, "a", false, T_SP_A - 256);
    close_vocab(&f);
}

/* R-TOK-004: defaults when keys are absent. */
static void test_tokenizer_defaults(void **state) {
    (void)state;
    vocab_fixture f;
    vocab_opts o = default_opts();
    o.bos = o.eos = o.unk = INT64_MIN;
    assert_int_equal(open_vocab(&o, &f, NULL), GGUFREF_OK);
    assert_int_equal(gr_tokenizer_bos(f.t), 1);
    assert_int_equal(gr_tokenizer_eos(f.t), 2);
    assert_int_equal(gr_tokenizer_unk(f.t), 0);
    assert_true(gr_tokenizer_add_bos(f.t));
    assert_int_equal(gr_tokenizer_n_vocab(f.t), N_TEST_VOCAB);
    close_vocab(&f);
    o.add_bos = 0;
    o.eos = 258;
    assert_int_equal(open_vocab(&o, &f, NULL), GGUFREF_OK);
    assert_false(gr_tokenizer_add_bos(f.t));
    assert_int_equal(gr_tokenizer_eos(f.t), 258);
    close_vocab(&f);
}

/* ---- decode (R-TOK-020..022) -------------------------------------------------------------- */

static void expect_piece(const gr_tokenizer *t, int32_t prev, int32_t id, const char *want,
                         size_t want_len) {
    ggufref_str p = gr_tokenizer_piece(t, prev, id);
    if (p.len != want_len || memcmp(p.ptr, want, want_len) != 0) {
        fail_msg("piece(%d, %d) = '%.*s', want '%.*s'", prev, id, (int)p.len, p.ptr, (int)want_len, want);
    }
}
#define PIECE(t, prev, id, s) expect_piece((t), (prev), (id), (s), sizeof(s) - 1)

static void test_decode_pieces(void **state) {
    (void)state;
    vocab_fixture f;
    vocab_opts o = default_opts();
    assert_int_equal(open_vocab(&o, &f, NULL), GGUFREF_OK);
    PIECE(f.t, -1, T_SP_AB, " ab");
    PIECE(f.t, T_A, T_SP_AB, " ab");
    PIECE(f.t, 1, T_SP_AB, "ab");           /* one leading space dropped after BOS */
    PIECE(f.t, 1, T_SP, "");
    PIECE(f.t, 1, BYTE(0x20), " ");         /* a byte token keeps its space */
    PIECE(f.t, -1, BYTE(0x41), "A");
    PIECE(f.t, -1, BYTE(0xC3), "\xC3");
    PIECE(f.t, -1, 0, "");                  /* UNK */
    PIECE(f.t, -1, 1, "");                  /* BOS */
    PIECE(f.t, -1, 2, "");                  /* EOS */
    PIECE(f.t, -1, T_XY_CONTROL, "");       /* control */
    PIECE(f.t, -1, T_ZZ_UNUSED, "zz");      /* unused: its text */
    PIECE(f.t, -1, -1, "");
    PIECE(f.t, -1, N_TEST_VOCAB, "");
    /* R-TOK-023: the raw vocabulary string (U+2581 kept, <0xHH> and control texts as
     * written); empty outside the vocabulary */
    ggufref_str raw = gr_tokenizer_text(f.t, T_SP_AB);
    assert_int_equal(raw.len, 5);
    assert_memory_equal(raw.ptr, SP "ab", 5);
    raw = gr_tokenizer_text(f.t, BYTE(0x41));
    assert_int_equal(raw.len, 6);
    assert_memory_equal(raw.ptr, "<0x41>", 6);
    raw = gr_tokenizer_text(f.t, 1);
    assert_int_equal(raw.len, 3);
    assert_memory_equal(raw.ptr, "<s>", 3);
    assert_int_equal(gr_tokenizer_text(f.t, -3).len, 0);
    assert_int_equal(gr_tokenizer_text(f.t, N_TEST_VOCAB).len, 0);
    /* byte tokens reassemble characters */
    const int32_t ids[] = {T_SP, BYTE(0xC3), BYTE(0xBC), T_SP_A};
    char buf[32];
    size_t n = decode_all(f.t, 1, ids, 4, buf, sizeof buf);
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "\xC3\xBC a", 4);
    close_vocab(&f);
}

/* R-TOK-022: decode(encode(text)) after BOS is text, for any bytes without a literal U+2581. */
static void test_decode_round_trip_random(void **state) {
    (void)state;
    vocab_fixture f;
    vocab_opts o = default_opts();
    assert_int_equal(open_vocab(&o, &f, NULL), GGUFREF_OK);
    static const char alphabet[] = "abcxyqz \xC3\xA9\xE2\x96\xF0\x80\xFF";
    uint64_t s = 88172645463325252ull;
    for (int trial = 0; trial < 500; trial++) {
        char text[40];
        size_t len = (size_t)(trial % 40);
        for (size_t i = 0; i < len; i++) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            text[i] = alphabet[s % (sizeof alphabet - 1)];
        }
        bool has_mark = false;
        for (size_t i = 0; i + 2 < len; i++) has_mark |= memcmp(text + i, SP, 3) == 0;
        if (has_mark) continue;
        int32_t ids[200];
        size_t n;
        assert_int_equal(gr_tokenizer_encode(f.t, text, len, false, ids, 200, &n), GGUFREF_OK);
        char back[200];
        size_t bl = decode_all(f.t, 1, ids, n, back, sizeof back);
        assert_int_equal(bl, len);
        assert_memory_equal(back, text, len);
    }
    close_vocab(&f);
}

/* ---- rejected vocabularies (R-TOK-001, R-TOK-002, R-TOK-003, R-TOK-004) ------------------ */

typedef struct reject_case {
    const char *name;
    void (*edit)(vocab_opts *o);
    ggufref_status want;
    const char *in_message; /* must appear in the message */
} reject_case;

static void e_gpt2(vocab_opts *o) { o->model = "gpt2"; }
static void e_bert(vocab_opts *o) { o->model = "bert"; }
static void e_no_model(vocab_opts *o) { o->model = NULL; }
static void e_model_u32(vocab_opts *o) { o->model_as_u32 = true; }
static void e_no_tokens(vocab_opts *o) { o->no_tokens = true; }
static void e_tokens_i32(vocab_opts *o) { o->tokens_as_i32 = true; }
static void e_empty_tokens(vocab_opts *o) { o->empty_tokens = true; o->scores = 1; o->types = 1; }
static void e_scores_short(vocab_opts *o) { o->scores = 2; }
static void e_scores_nan(vocab_opts *o) { o->scores = 3; }
static void e_scores_i32(vocab_opts *o) { o->scores = 4; }
static void e_type_7(vocab_opts *o) { o->types = 2; }
static void e_type_neg(vocab_opts *o) { o->types = 3; }
static void e_type_byte_text(vocab_opts *o) { o->types = 4; }
static void e_bos_range(vocab_opts *o) { o->bos = N_TEST_VOCAB; }
static void e_eos_range(vocab_opts *o) { o->eos = 1u << 31; }
static void e_bos_str(vocab_opts *o) { o->bos_as_str = true; }
static void e_add_bos_u8(vocab_opts *o) { o->add_bos = 2; }

static const reject_case REJECTS[] = {
    {"model gpt2", e_gpt2, GGUFREF_ERR_UNSUPPORTED_TOKENIZER, "tokenizer.ggml.model"},
    {"model bert", e_bert, GGUFREF_ERR_UNSUPPORTED_TOKENIZER, "\"bert\""},
    {"model missing", e_no_model, GGUFREF_ERR_UNSUPPORTED_TOKENIZER, "tokenizer.ggml.model"},
    {"model not a string", e_model_u32, GGUFREF_ERR_BAD_VALUE_TYPE, "tokenizer.ggml.model"},
    {"tokens missing", e_no_tokens, GGUFREF_ERR_UNSUPPORTED_MODEL, "tokenizer.ggml.tokens"},
    {"tokens not strings", e_tokens_i32, GGUFREF_ERR_BAD_VALUE_TYPE, "tokenizer.ggml.tokens"},
    {"tokens empty", e_empty_tokens, GGUFREF_ERR_UNSUPPORTED_MODEL, "tokenizer.ggml.tokens"},
    {"scores count", e_scores_short, GGUFREF_ERR_UNSUPPORTED_MODEL, "tokenizer.ggml.scores"},
    {"score NaN", e_scores_nan, GGUFREF_ERR_BAD_VALUE, "tokenizer.ggml.scores[260]"},
    {"scores not f32", e_scores_i32, GGUFREF_ERR_BAD_VALUE_TYPE, "tokenizer.ggml.scores"},
    {"token type 7", e_type_7, GGUFREF_ERR_BAD_VALUE, "tokenizer.ggml.token_type[260]"},
    {"token type -1", e_type_neg, GGUFREF_ERR_BAD_VALUE, "tokenizer.ggml.token_type[260]"},
    {"BYTE type on 'a'", e_type_byte_text, GGUFREF_ERR_BAD_VALUE, "tokenizer.ggml.tokens[260]"},
    {"bos out of range", e_bos_range, GGUFREF_ERR_BAD_VALUE, "tokenizer.ggml.bos_token_id"},
    {"eos out of range", e_eos_range, GGUFREF_ERR_BAD_VALUE, "tokenizer.ggml.eos_token_id"},
    {"bos a string", e_bos_str, GGUFREF_ERR_BAD_VALUE_TYPE, "tokenizer.ggml.bos_token_id"},
    {"add_bos a u8", e_add_bos_u8, GGUFREF_ERR_BAD_VALUE_TYPE, "tokenizer.ggml.add_bos_token"},
};

static void test_tokenizer_init_rejects(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof REJECTS / sizeof REJECTS[0]; i++) {
        vocab_opts o = default_opts();
        REJECTS[i].edit(&o);
        vocab_fixture f;
        ggufref_error err;
        memset(&err, 0, sizeof err);
        int64_t live = ggufref_fault_alloc_live();
        ggufref_status st = open_vocab(&o, &f, &err);
        if (st != REJECTS[i].want) {
            fail_msg("%s: %s, want %s (%s)", REJECTS[i].name, ggufref_status_name(st),
                     ggufref_status_name(REJECTS[i].want), err.message);
        }
        assert_int_equal(err.status, REJECTS[i].want);
        assert_null(f.t);
        if (strstr(err.message, REJECTS[i].in_message) == NULL) {
            fail_msg("%s: message '%s' lacks '%s'", REJECTS[i].name, err.message, REJECTS[i].in_message);
        }
        close_vocab(&f);
        assert_int_equal(ggufref_fault_alloc_live(), live); /* nothing leaked */
    }
}

/* R-TOK-001 through the public loader: model_load_vocab reports the same status. */
static void test_model_load_vocab_rejects_gpt2(void **state) {
    (void)state;
    vocab_opts o = default_opts();
    o.model = "gpt2";
    gb_buf b;
    build_vocab(&b, &o);
    void *bytes = gb_dup(&b);
    ggufref_gguf *g = NULL;
    ggufref_model *m = (ggufref_model *)&m;
    ggufref_error err;
    assert_int_equal(ggufref_gguf_open_memory(bytes, b.len, &g, &err), GGUFREF_OK);
    assert_int_equal(ggufref_model_load_vocab(g, &m, &err), GGUFREF_ERR_UNSUPPORTED_TOKENIZER);
    assert_null(m);
    assert_non_null(strstr(err.message, "tokenizer.ggml.model"));
    ggufref_gguf_close(g);
    free(bytes);
    gb_free(&b);
}

/* ---- a naive transcript of R-TOK-010..014 (llama2.c's O(n^2) rescan) --------------------- */

/* The vocabulary as the GGUF states it, read independently of tokenizer.c. */
typedef struct naive_vocab {
    uint32_t n;
    ggufref_str *text;
    float *score;
    int32_t *type;
    uint32_t *sorted; /* ids by (text, id) */
} naive_vocab;

static const naive_vocab *SORT_VOCAB;

static int naive_cmp_text(const ggufref_str *a, const char *p, size_t n) {
    size_t m = a->len < n ? a->len : n;
    int c = m > 0 ? memcmp(a->ptr, p, m) : 0;
    if (c != 0) return c;
    return a->len < n ? -1 : a->len > n;
}

static int naive_cmp_ids(const void *x, const void *y) {
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    int c = naive_cmp_text(&SORT_VOCAB->text[a], SORT_VOCAB->text[b].ptr, SORT_VOCAB->text[b].len);
    return c != 0 ? c : (a < b ? -1 : a > b);
}

static void naive_load(const ggufref_gguf *g, naive_vocab *v) {
    ggufref_array arr;
    ggufref_array_iter it;
    assert_int_equal(ggufref_gguf_get_array(g, (uint64_t)ggufref_gguf_find_key(g, "tokenizer.ggml.tokens"), &arr), GGUFREF_OK);
    v->n = (uint32_t)arr.count;
    v->text = calloc(v->n, sizeof *v->text);
    v->score = calloc(v->n, sizeof *v->score);
    v->type = calloc(v->n, sizeof *v->type);
    v->sorted = calloc(v->n, sizeof *v->sorted);
    assert_true(v->text && v->score && v->type && v->sorted);
    ggufref_array_iter_init(&it, &arr);
    for (uint32_t i = 0; i < v->n; i++) assert_true(ggufref_array_next_str(&it, &v->text[i]));
    assert_int_equal(ggufref_gguf_get_array(g, (uint64_t)ggufref_gguf_find_key(g, "tokenizer.ggml.scores"), &arr), GGUFREF_OK);
    ggufref_array_iter_init(&it, &arr);
    for (uint32_t i = 0; i < v->n; i++) assert_true(ggufref_array_next_f32(&it, &v->score[i]));
    assert_int_equal(ggufref_gguf_get_array(g, (uint64_t)ggufref_gguf_find_key(g, "tokenizer.ggml.token_type"), &arr), GGUFREF_OK);
    ggufref_array_iter_init(&it, &arr);
    for (uint32_t i = 0; i < v->n; i++) assert_true(ggufref_array_next_i32(&it, &v->type[i]));
    for (uint32_t i = 0; i < v->n; i++) v->sorted[i] = i;
    SORT_VOCAB = v;
    qsort(v->sorted, v->n, sizeof *v->sorted, naive_cmp_ids);
}

static void naive_free(naive_vocab *v) {
    free(v->text);
    free(v->score);
    free(v->type);
    free(v->sorted);
}

/* The highest id with this text among tokens of the wanted kind (matchable, or BYTE), or -1:
 * a linear scan over the equal-text run of the sorted index. */
static int32_t naive_find(const naive_vocab *v, const char *p, size_t n, bool want_byte) {
    size_t lo = 0, hi = v->n;
    while (lo < hi) { /* first index whose text is >= (p, n) */
        size_t mid = (lo + hi) / 2;
        if (naive_cmp_text(&v->text[v->sorted[mid]], p, n) < 0) lo = mid + 1;
        else hi = mid;
    }
    int32_t best = -1;
    for (; lo < v->n && naive_cmp_text(&v->text[v->sorted[lo]], p, n) == 0; lo++) {
        int32_t ty = v->type[v->sorted[lo]];
        bool ok = want_byte ? ty == 6 : (n > 0 && (ty == 0 || ty == 1 || ty == 4));
        if (ok) best = (int32_t)v->sorted[lo];
    }
    return best;
}

/* R-TOK-011 written out: bytes of the well-formed sequence at p, or 0. */
static size_t naive_utf8(const unsigned char *p, size_t n) {
    unsigned cp;
    size_t len;
    if (p[0] < 0x80) return 1;
    if ((p[0] & 0xE0) == 0xC0) { len = 2; cp = p[0] & 0x1Fu; }
    else if ((p[0] & 0xF0) == 0xE0) { len = 3; cp = p[0] & 0x0Fu; }
    else if ((p[0] & 0xF8) == 0xF0) { len = 4; cp = p[0] & 0x07u; }
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (p[i] & 0x3Fu);
    }
    static const unsigned min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

/* Encode without BOS, prefix on: normalise, split, then repeatedly merge the best adjacent
 * pair found by a full rescan (strictly higher score wins, so the leftmost of equals). */
static size_t naive_encode(const naive_vocab *v, const char *text, size_t len, int32_t *out) {
    char norm[1024];
    size_t start[512], n_sym = 0, nn = 0;
    if (len == 0) return 0;
    memcpy(norm, SP, 3);
    nn = 3;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') { memcpy(norm + nn, SP, 3); nn += 3; }
        else norm[nn++] = text[i];
    }
    for (size_t pos = 0; pos < nn; n_sym++) {
        start[n_sym] = pos;
        size_t l = naive_utf8((const unsigned char *)norm + pos, nn - pos);
        pos += l == 0 ? 1 : l;
    }
    start[n_sym] = nn;
    for (;;) {
        size_t best = SIZE_MAX;
        float best_score = 0.0f;
        for (size_t i = 0; i + 1 < n_sym; i++) {
            int32_t id = naive_find(v, norm + start[i], start[i + 2] - start[i], false);
            if (id >= 0 && (best == SIZE_MAX || v->score[id] > best_score)) {
                best = i;
                best_score = v->score[id];
            }
        }
        if (best == SIZE_MAX) break;
        memmove(start + best + 1, start + best + 2, (n_sym - best - 1) * sizeof start[0]);
        n_sym--;
    }
    size_t n = 0;
    for (size_t i = 0; i < n_sym; i++) {
        int32_t id = naive_find(v, norm + start[i], start[i + 1] - start[i], false);
        if (id >= 0) {
            out[n++] = id;
            continue;
        }
        for (size_t b = start[i]; b < start[i + 1]; b++) {
            char hex[7];
            snprintf(hex, sizeof hex, "<0x%02X>", (unsigned char)norm[b]);
            int32_t bid = naive_find(v, hex, 6, true);
            out[n++] = bid >= 0 ? bid : 0;
        }
    }
    return n;
}

/* Random texts from pieces that merge a lot, spaces, Unicode and stray bytes. */
static size_t random_text(uint64_t *s, char *buf, size_t max) {
    static const char *parts[] = {"the", "a", "an", "in", "ing", " ", " ", "  ", "on", "ce", "up",
                                  "time", "s", "ed", "Hello", "world", ",", ".", "!", "'", "\n",
                                  "3", "33", "\xC3\xA9", "\xE2\x96\x81", "\xF0\x9F\x98\x81",
                                  "\xE6\x88\x91", "\xC3", "\x80", "\xFF", "ab", "bc", "aa", "q",
                                  "x", "y", "z", "zz", "<s>", "<0x41>"};
    size_t n = 0;
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    size_t k = *s % 12;
    for (size_t i = 0; i < k; i++) {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        const char *p = parts[*s % (sizeof parts / sizeof parts[0])];
        size_t l = strlen(p);
        if (n + l > max) break;
        memcpy(buf + n, p, l);
        n += l;
    }
    return n;
}

/* Heap encoder = naive rescan (R-TOK-013) on random texts. */
static void check_against_naive(const ggufref_gguf *g, const gr_tokenizer *t, int trials) {
    naive_vocab v;
    naive_load(g, &v);
    uint64_t s = 0x243F6A8885A308D3ull;
    for (int trial = 0; trial < trials; trial++) {
        char text[80];
        size_t len = random_text(&s, text, sizeof text);
        int32_t a[256], b[256];
        size_t na = 0;
        assert_int_equal(gr_tokenizer_encode(t, text, len, false, a, 256, &na), GGUFREF_OK);
        size_t nb = naive_encode(&v, text, len, b);
        bool same = na == nb && (na == 0 || memcmp(a, b, na * sizeof a[0]) == 0);
        if (!same) fail_msg("trial %d: '%.*s': heap %zu tokens, naive %zu", trial, (int)len, text, na, nb);
    }
    naive_free(&v);
}

static void test_tokenize_matches_naive_synthetic(void **state) {
    (void)state;
    vocab_fixture f;
    vocab_opts o = default_opts();
    assert_int_equal(open_vocab(&o, &f, NULL), GGUFREF_OK);
    check_against_naive(f.g, f.t, 3000);
    close_vocab(&f);
}

static void test_tokenize_matches_naive_llama_spm(void **state) {
    (void)state;
    char p[1024];
    const char *path = material("llama.cpp-vocab/ggml-vocab-llama-spm.gguf", p, sizeof p);
    if (path == NULL) {
        print_message("SKIP: %s\n", "shared material llama.cpp-vocab/ absent (set GGUFREF_SHARED_DIR)");
        skip();
    }
    ggufref_gguf *g = NULL;
    gr_tokenizer *t = NULL;
    assert_int_equal(ggufref_gguf_open_file(path, &g, NULL), GGUFREF_OK);
    assert_int_equal(gr_tokenizer_init(g, &t, NULL), GGUFREF_OK);
    check_against_naive(g, t, 3000);
    gr_tokenizer_free(t);
    ggufref_gguf_close(g);
}

/* ---- allocation failures (R-FAULT-001) ---------------------------------------------------- */

/* A tokenizer bind under oom_each. */
typedef struct tokenizer_oom {
    const ggufref_gguf *g;
    gr_tokenizer *t;
    ggufref_error err;
} tokenizer_oom;

static int tokenizer_oom_op(void *user) {
    tokenizer_oom *o = user;
    o->t = NULL;
    return gr_tokenizer_init(o->g, &o->t, &o->err);
}

static void tokenizer_oom_check(void *user, const oom_run *run) {
    tokenizer_oom *o = user;
    if (run->fired) {
        assert_int_equal(run->status, GGUFREF_ERR_OUT_OF_MEMORY);
        assert_int_equal(o->err.status, GGUFREF_ERR_OUT_OF_MEMORY);
        assert_null(o->t);
        return;
    }
    assert_int_equal(run->status, GGUFREF_OK);
    /* encode: its one scratch allocation fails cleanly too */
    int32_t ids[8];
    size_t n = 3;
    ggufref_fault_alloc_fail_at(1);
    assert_int_equal(gr_tokenizer_encode(o->t, "ab", 2, true, ids, 8, &n), GGUFREF_ERR_OUT_OF_MEMORY);
    assert_true(ggufref_fault_alloc_fired());
    ggufref_fault_alloc_fail_at(0);
    assert_int_equal(n, 0);
    assert_int_equal(gr_tokenizer_encode(o->t, "ab", 2, true, ids, 8, &n), GGUFREF_OK);
    assert_int_equal(n, 2);
    gr_tokenizer_free(o->t);
}

static void test_tokenizer_out_of_memory(void **state) {
    (void)state;
    vocab_opts o = default_opts();
    gb_buf b;
    build_vocab(&b, &o);
    void *bytes = gb_dup(&b);
    ggufref_gguf *g = NULL;
    assert_int_equal(ggufref_gguf_open_memory(bytes, b.len, &g, NULL), GGUFREF_OK);
    tokenizer_oom to = {g, NULL, {0}};
    /* every allocation of the bind, alone and with every later one */
    assert_true(oom_each(tokenizer_oom_op, tokenizer_oom_check, &to) > 2);
    ggufref_gguf_close(g);
    free(bytes);
    gb_free(&b);
}

/* Real files: stories260K (v1, no unknown_token_id key) binds and encodes the golden prompts. */
static void test_tokenize_stories260k_prompts(void **state) {
    (void)state;
    char p[1024];
    const char *path = material("stories260K-f32.v1.gguf", p, sizeof p);
    if (path == NULL) {
        print_message("SKIP: %s\n", "shared material stories260K-f32.v1.gguf absent (set GGUFREF_SHARED_DIR)");
        skip();
        return;
    }
    ggufref_gguf *g = NULL;
    gr_tokenizer *t = NULL;
    assert_int_equal(ggufref_gguf_open_file(path, &g, NULL), GGUFREF_OK);
    assert_int_equal(gr_tokenizer_init(g, &t, NULL), GGUFREF_OK);
    assert_int_equal(gr_tokenizer_n_vocab(t), 512);
    assert_int_equal(gr_tokenizer_unk(t), 0);
    static const char *prompts[] = {"Once upon a time", "There was a big"};
    for (int i = 0; i < 2; i++) {
        int32_t ids[32];
        size_t n;
        size_t len = strlen(prompts[i]);
        assert_int_equal(gr_tokenizer_encode(t, prompts[i], len, true, ids, 32, &n), GGUFREF_OK);
        assert_int_equal(ids[0], 1);
        assert_true(n > 2 && n < len);
        char back[64];
        size_t bl = decode_all(t, 1, ids + 1, n - 1, back, sizeof back);
        assert_int_equal(bl, len);
        assert_memory_equal(back, prompts[i], len);
    }
    gr_tokenizer_free(t);
    ggufref_gguf_close(g);
}

/* CPU seconds since c0. */
static double cpu_since(clock_t c0) { return (double)(clock() - c0) / CLOCKS_PER_SEC; }

/* Load a vocab-only model from b. OUT: *g, *m. */
static void load_vocab(const gb_buf *b, ggufref_gguf **g, ggufref_model **m) {
    ggufref_error err;
    assert_int_equal(ggufref_gguf_open_memory(b->data, b->len, g, &err), GGUFREF_OK);
    assert_int_equal(ggufref_model_load_vocab(*g, m, &err), GGUFREF_OK);
}

/* R-TOK-018 (issue 16 #2): a file cannot choose collisions. 131,072 texts that all fall in
 * one bucket of the old FNV-1a table (it loaded them in 7.6 s of CPU, 35 s on a busy machine)
 * load in a fraction of a second. The bound is 40x
 * what this takes (bench/bench_vocab_flood.c measures it), not a speed figure. */
static void test_tokenizer_vocab_texts_cannot_collide(void **state) {
    (void)state;
    enum { N = 131072 };
    char **texts = malloc(N * sizeof *texts);
    char *pool = malloc((size_t)N * 10);
    assert_true(texts != NULL && pool != NULL && vf_colliding_texts(texts, pool, N));
    gb_buf b;
    vf_build_vocab(&b, texts, N);
    clock_t c0 = clock();
    ggufref_gguf *g;
    ggufref_model *m;
    load_vocab(&b, &g, &m);
    double load_s = cpu_since(c0);
    ggufref_model_info info;
    ggufref_model_get_info(m, &info);
    assert_int_equal(info.n_vocab, N + 1);
    /* no text is reachable by merges (no 2-byte pieces): each encodes to its 9 bytes, every
     * one of them UNK (no byte tokens), the full-text search answered "no" for each symbol */
    int32_t ids[16];
    size_t n = 0;
    assert_int_equal(ggufref_tokenize(m, texts[7], 9, false, ids, 16, &n), GGUFREF_OK);
    assert_int_equal(n, 9);
    for (size_t i = 0; i < n; i++) assert_int_equal(ids[i], 0);
    print_message("colliding vocab of %d texts: loaded in %.3f s CPU\n", N, load_s);
    assert_true(load_s < 4.0);
    ggufref_model_free(m);
    ggufref_gguf_close(g);
    gb_free(&b);
    free(texts);
    free(pool);
}

/* R-TOK-018 (issue 16 #2): a 2 MiB prompt of 'a' over the vocab a^1..a^4096 (longer scores
 * higher: every merge grows a symbol by one byte) costs one table search per distinct pair
 * of pieces, not the bytes of every candidate (the old encoder: 4.8 s of CPU, O(n L)); the
 * result is 512 tokens of a^4096. Bound: 6x what this takes under ASan. */
static void test_tokenizer_long_runs_are_bounded(void **state) {
    (void)state;
    enum { L = 4096, BYTES = 2 << 20 };
    char **texts = malloc(L * sizeof *texts);
    char *pool = malloc((size_t)L * (L + 1));
    assert_true(texts != NULL && pool != NULL);
    for (uint32_t i = 0; i < L; i++) {
        texts[i] = pool + (size_t)i * (L + 1);
        memset(texts[i], 'a', i + 1);
        texts[i][i + 1] = 0;
    }
    gb_buf b;
    vf_build_vocab(&b, texts, L);
    ggufref_gguf *g;
    ggufref_model *m;
    load_vocab(&b, &g, &m);
    char *prompt = malloc(BYTES);
    int32_t *ids = malloc(1024 * sizeof *ids);
    assert_true(prompt != NULL && ids != NULL);
    memset(prompt, 'a', BYTES);
    clock_t c0 = clock();
    size_t n = 0;
    assert_int_equal(ggufref_tokenize(m, prompt, BYTES, false, ids, 1024, &n), GGUFREF_OK);
    double s = cpu_since(c0);
    assert_int_equal(n, BYTES / L);
    for (size_t i = 0; i < n; i++) assert_int_equal(ids[i], L); /* a^4096 */
    print_message("2 MiB run over a^1..a^%d: %.3f s CPU\n", L, s);
    assert_true(s < 3.0);
    ggufref_model_free(m);
    ggufref_gguf_close(g);
    gb_free(&b);
    free(prompt);
    free(ids);
    free(texts);
    free(pool);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokenize_llama_spm_vectors),
        cmocka_unit_test(test_tokenize_merge_priority),
        cmocka_unit_test(test_tokenize_byte_fallback),
        cmocka_unit_test(test_tokenize_invalid_utf8),
        cmocka_unit_test(test_tokenize_matchable_types),
        cmocka_unit_test(test_tokenize_empty_and_bos),
        cmocka_unit_test(test_tokenize_capacity_and_arguments),
        cmocka_unit_test(test_tokenize_untyped_and_unk_fallback),
        cmocka_unit_test(test_tokenizer_defaults),
        cmocka_unit_test(test_decode_pieces),
        cmocka_unit_test(test_decode_round_trip_random),
        cmocka_unit_test(test_tokenize_matches_naive_synthetic),
        cmocka_unit_test(test_tokenize_matches_naive_llama_spm),
        cmocka_unit_test(test_tokenizer_init_rejects),
        cmocka_unit_test(test_model_load_vocab_rejects_gpt2),
        cmocka_unit_test(test_tokenizer_out_of_memory),
        cmocka_unit_test(test_tokenizer_vocab_texts_cannot_collide),
        cmocka_unit_test(test_tokenizer_long_runs_are_bounded),
        cmocka_unit_test(test_tokenize_stories260k_prompts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
