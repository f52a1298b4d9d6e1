/*
 * bpe.c — the byte-level BPE tokenizer of a GGUF vocabulary (tokenizer.ggml.model = "gpt2"),
 * as llama.cpp's llm_tokenizer_bpe runs it (SPEC chapter 5, R-TOK-030..048).
 *
 * Vocabulary, borrowed from the GGUF mapping at init:
 *
 *   tokenizer.ggml.tokens      "!" ... "Ġthe" ... "<|begin_of_text|>"   texts, id = index
 *   tokenizer.ggml.token_type  NORMAL (1) ... CONTROL (3), USER_DEFINED (4), UNUSED (5)
 *   tokenizer.ggml.merges      "Ġ t", "Ġt he", ...                     rank = index
 *   tokenizer.ggml.pre         "llama-bpe"                              the pre-tokenizer
 *
 * Texts of NORMAL tokens are bytes written in GPT-2's byte-to-unicode alphabet: each byte b is
 * one character, b itself for the printable bytes 0x21-0x7E, 0xA1-0xAC, 0xAE-0xFF, else U+0100
 * + k for the k-th other byte (so ' ' = 0x20 is "Ġ" U+0120, '\n' is "Ċ" U+010A).
 *
 * Encode:
 *
 *   text ──special tokens (R-TOK-041)──► fragments: raw text | a special token
 *        ──pre-tokenizer (pretok.c, R-TOK-032)──► pieces, e.g. "Hello" " world" "!"
 *        ──per piece──► ignore_merges and the piece is a token: that token (R-TOK-035)
 *                       else one symbol per byte (the token of its character), then merge the
 *                       adjacent pair of lowest merge rank (ties: leftmost) until none is left
 *
 * Symbols are token ids and merges a table (left id, right id) -> (rank, merged id) built at
 * load, so encoding never compares strings. The best pair is kept in a binary heap of (rank,
 * left symbol); an entry is stale when its left symbol has since changed or lost its right
 * neighbour's pair, recognised by looking the current pair up again. Each piece of b bytes costs
 * O(b log b); the text costs O(n) besides.
 *
 * Both tables hash with a per-load key (the addresses of the load's own allocations): a file
 * cannot choose its collisions, and nothing the tables' layout decides ever reaches an output.
 */
#include "bpe.h"

#include "gguf.h"
#include "text.h"

#include "pretok.h"
#include "unicode.h"

#include <string.h>

enum { /* tokenizer.ggml.token_type (llama.cpp's llama_token_type) */
    TT_UNDEFINED = 0,
    TT_NORMAL = 1,
    TT_UNKNOWN = 2,
    TT_CONTROL = 3,
    TT_USER_DEFINED = 4,
    TT_UNUSED = 5,
    TT_BYTE = 6,
};

/* ------------------------------------------------------------------------------------- */
/* GPT-2's byte-to-unicode alphabet (R-TOK-031)                                           */
/* ------------------------------------------------------------------------------------- */

static bool byte_is_itself(unsigned b) {
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

/* The code point standing for byte b: the 68 bytes that do not stand for themselves take
 * U+0100, U+0101, ... in byte order. */
static uint32_t byte_to_cp(unsigned b) {
    if (byte_is_itself(b)) return b;
    uint32_t k = 0;
    for (unsigned x = 0; x < b; x++) k += !byte_is_itself(x);
    return 256 + k;
}

/* The alphabet both ways, computed once per load. */
typedef struct gr_alphabet {
    char utf8[256][2];  /* UTF-8 of each byte's character (all below U+0800) */
    uint8_t len[256];   /* 1 or 2 */
    int16_t byte[324];  /* code point -> the byte it stands for, -1 for none */
} gr_alphabet;

static void alphabet_init(gr_alphabet *a) {
    for (unsigned cp = 0; cp < 324; cp++) a->byte[cp] = -1;
    for (unsigned b = 0; b < 256; b++) {
        uint32_t cp = byte_to_cp(b);
        a->byte[cp] = (int16_t)b;
        if (cp < 0x80) {
            a->utf8[b][0] = (char)cp;
            a->len[b] = 1;
        } else {
            a->utf8[b][0] = (char)(0xC0 | (cp >> 6));
            a->utf8[b][1] = (char)(0x80 | (cp & 0x3F));
            a->len[b] = 2;
        }
    }
}

typedef struct gr_merge_slot {
    uint64_t key;   /* left id << 32 | right id; UINT64_MAX when empty */
    uint32_t rank;  /* index in tokenizer.ggml.merges */
    int32_t result; /* the token of left text + right text */
} gr_merge_slot;

struct gr_bpe {
    uint32_t n_vocab;
    ggufref_str *text;       /* [n_vocab] views into the GGUF */
    uint8_t *type;           /* [n_vocab] TT_* */
    int32_t *table;          /* [table_mask + 1] text -> id, -1 empty */
    size_t table_mask;
    gr_merge_slot *merges;   /* [merge_mask + 1] */
    size_t merge_mask;
    uint64_t key;            /* per-load hash key */
    int32_t byte_tok[256];   /* the token of each byte's character */
    gr_alphabet abc;
    char *pieces;            /* decoded bytes of every token, back to back */
    size_t *piece_off;       /* [n_vocab + 1] */
    int32_t *special;        /* tokens split out of text before pre-tokenizing (R-TOK-041) */
    uint32_t n_special;
    int32_t bos, eos, unk;   /* -1 when none */
    bool add_bos, add_eos;
    gr_pretok_kind pre;
    bool ignore_merges;
};

/* ------------------------------------------------------------------------------------- */
/* Keyed hashing                                                                          */
/* ------------------------------------------------------------------------------------- */

static uint64_t mix64(uint64_t x) { /* the SplitMix64 finaliser: every bit reaches every bit */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static uint64_t load32(const char *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Hash of n bytes under key: each 8-byte word folded through mix64 with the key; a tail of 4..7
 * bytes read as two overlapping 4-byte words, 1..3 bytes as first, middle and last byte (the
 * length is folded in first, so the overlaps cannot make two texts equal). */
static uint64_t hash_text(uint64_t key, const char *p, size_t n) {
    uint64_t h = key ^ (n * 0x9e3779b97f4a7c15ull);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = mix64(h ^ w) + key;
        p += 8;
        n -= 8;
    }
    uint64_t w;
    if (n >= 4) {
        w = load32(p) | load32(p + n - 4) << 32;
    } else if (n > 0) {
        w = (uint64_t)(uint8_t)p[0] << 16 | (uint64_t)(uint8_t)p[n / 2] << 8 | (uint8_t)p[n - 1];
    } else {
        w = 0;
    }
    return mix64(h ^ w ^ (key << 1));
}

static bool text_eq(ggufref_str a, const char *p, size_t n) {
    return a.len == n && (n == 0 || memcmp(a.ptr, p, n) == 0);
}

#if defined(__GNUC__)
#define GR_PREFETCH(p) __builtin_prefetch(p)
#else
#define GR_PREFETCH(p) ((void)(p))
#endif

/* The token with text (p, n) whose hash_text is h, or -1. */
static int32_t lookup_hashed(const gr_bpe *t, uint64_t h, const char *p, size_t n) {
    size_t i = (size_t)h & t->table_mask;
    while (t->table[i] >= 0) {
        if (text_eq(t->text[t->table[i]], p, n)) return t->table[i];
        i = (i + 1) & t->table_mask;
    }
    return -1;
}

/* The token with text (p, n), or -1. */
static int32_t lookup(const gr_bpe *t, const char *p, size_t n) {
    size_t i = (size_t)hash_text(t->key, p, n) & t->table_mask;
    while (t->table[i] >= 0) {
        if (text_eq(t->text[t->table[i]], p, n)) return t->table[i];
        i = (i + 1) & t->table_mask;
    }
    return -1;
}

/* The merge of (left, right), or NULL. */
static const gr_merge_slot *find_merge(const gr_bpe *t, int32_t left, int32_t right) {
    uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
    size_t i = (size_t)mix64(key ^ t->key) & t->merge_mask;
    while (t->merges[i].key != UINT64_MAX) {
        if (t->merges[i].key == key) return &t->merges[i];
        i = (i + 1) & t->merge_mask;
    }
    return NULL;
}

/* ------------------------------------------------------------------------------------- */
/* Init (R-TOK-030, R-TOK-036..038)                                                       */
/* ------------------------------------------------------------------------------------- */

static ggufref_status oom(ggufref_error *err) {
    return gr_fail(err, GGUFREF_ERR_OUT_OF_MEMORY, UINT64_MAX, "tokenizer: out of memory");
}

/* A string key: absent -> *found = false. OUT: *s, *found. */
static ggufref_status get_str_key(const ggufref_gguf *g, const char *key, ggufref_str *s,
                                  bool *found, ggufref_error *err) {
    int64_t kv = ggufref_gguf_find_key(g, key);
    *found = kv >= 0;
    if (kv < 0) return GGUFREF_OK;
    if (ggufref_gguf_get_str(g, (uint64_t)kv, s) != GGUFREF_OK) {
        return gr_fail(err, GGUFREF_ERR_BAD_VALUE_TYPE, UINT64_MAX, "%s: expected a string, got %s",
                       key, ggufref_value_type_name(ggufref_gguf_kv_type(g, (uint64_t)kv)));
    }
    return GGUFREF_OK;
}

/* Optional special-token id: absent or negative -> -1; >= n_vocab -> BAD_VALUE. */
static ggufref_status get_special_id(const ggufref_gguf *g, const char *key, uint32_t n_vocab,
                                     int32_t *out, ggufref_error *err) {
    int64_t kv = ggufref_gguf_find_key(g, key);
    *out = -1;
    if (kv < 0) return GGUFREF_OK;
    uint64_t v;
    ggufref_status st = ggufref_gguf_get_uint(g, (uint64_t)kv, &v);
    if (st == GGUFREF_ERR_BAD_VALUE) return GGUFREF_OK; /* negative: none */
    if (st != GGUFREF_OK) {
        return gr_fail(err, GGUFREF_ERR_BAD_VALUE_TYPE, UINT64_MAX,
                       "%s: expected an integer, got %s", key,
                       ggufref_value_type_name(ggufref_gguf_kv_type(g, (uint64_t)kv)));
    }
    if (v >= n_vocab) {
        return gr_fail(err, GGUFREF_ERR_BAD_VALUE, UINT64_MAX,
                       "%s: token id %llu is outside the vocabulary of %u tokens", key,
                       (unsigned long long)v, (unsigned)n_vocab);
    }
    *out = (int32_t)v;
    return GGUFREF_OK;
}

/* tokenizer.ggml.pre names a known pre-tokenizer (R-TOK-030). */
static ggufref_status read_pre(const ggufref_gguf *g, gr_bpe *t, ggufref_error *err) {
    const char *key = "tokenizer.ggml.pre";
    ggufref_str s;
    bool found;
    ggufref_status st = get_str_key(g, key, &s, &found, err);
    if (st != GGUFREF_OK) return st;
    if (!found) {
        return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_TOKENIZER, UINT64_MAX,
                       "%s is missing: tokenizer.ggml.model = \"gpt2\" (byte-level BPE) needs "
                       "its pre-tokenizer named", key);
    }
    if (!gr_pretok_lookup(s.ptr, s.len, &t->pre, &t->ignore_merges)) {
        char q[GR_QUOTE_MAX];
        return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_TOKENIZER, gr_gguf_offset_of(g, s.ptr),
                       "%s = \"%s\" at offset %llu is not a supported pre-tokenizer", key,
                       gr_quote(q, s.ptr, s.len), (unsigned long long)gr_gguf_offset_of(g, s.ptr));
    }
    return GGUFREF_OK;
}

/* tokens and token_type (R-TOK-036). */
static ggufref_status read_tokens(const ggufref_gguf *g, gr_bpe *t, ggufref_error *err) {
    const char *key = "tokenizer.ggml.tokens";
    ggufref_array arr;
    bool found;
    ggufref_status st = gr_gguf_token_list(g, &arr, err);
    if (st != GGUFREF_OK) return st;
    t->n_vocab = (uint32_t)arr.count;
    t->text = gr_calloc(t->n_vocab, sizeof *t->text);
    t->type = gr_calloc(t->n_vocab, sizeof *t->type);
    if (t->text == NULL || t->type == NULL) return oom(err);
    ggufref_array_iter it;
    ggufref_array_iter_init(&it, &arr);
    for (uint32_t i = 0; i < t->n_vocab; i++) {
        if (!ggufref_array_next_str(&it, &t->text[i])) {
            return gr_fail(err, GGUFREF_ERR_BAD_VALUE_TYPE, UINT64_MAX, "%s[%u] is not a string",
                           key, (unsigned)i);
        }
        t->type[i] = TT_NORMAL;
    }
    key = "tokenizer.ggml.token_type";
    st = gr_gguf_array_key(g, key, GGUFREF_TYPE_INT32, t->n_vocab, &arr, &found, err);
    if (st != GGUFREF_OK || !found) return st;
    ggufref_array_iter_init(&it, &arr);
    for (uint32_t i = 0; i < t->n_vocab; i++) {
        int32_t v = -1;
        (void)ggufref_array_next_i32(&it, &v);
        uint64_t off = gr_gguf_offset_of(g, arr.data) + 4u * (uint64_t)i;
        if (v < TT_UNDEFINED || v > TT_BYTE) {
            return gr_fail(err, GGUFREF_ERR_BAD_VALUE, off,
                           "%s[%u] = %d at offset %llu is not a token type (0..6)", key,
                           (unsigned)i, (int)v, (unsigned long long)off);
        }
        if (v == TT_BYTE && gr_byte_token_value(t->text[i].ptr, t->text[i].len) < 0) {
            return gr_fail(err, GGUFREF_ERR_BAD_VALUE, gr_gguf_offset_of(g, t->text[i].ptr),
                           "tokenizer.ggml.tokens[%u] has type BYTE but is not <0xHH> "
                           "(offset %llu)",
                           (unsigned)i, (unsigned long long)gr_gguf_offset_of(g, t->text[i].ptr));
        }
        t->type[i] = (uint8_t)v;
    }
    return GGUFREF_OK;
}

/* The text -> id table; a text given twice is BAD_VALUE (R-TOK-036). */
static ggufref_status build_table(const ggufref_gguf *g, gr_bpe *t, ggufref_error *err) {
    size_t slots = 16;
    while (slots < 2u * (size_t)t->n_vocab) slots *= 2;
    t->table = gr_malloc(slots * sizeof *t->table);
    if (t->table == NULL) return oom(err);
    /* The key: where this load's blocks landed (differs between processes under ASLR and
     * between loads), folded with the vocabulary size. */
    t->key = mix64((uint64_t)(uintptr_t)t->table ^ mix64((uint64_t)(uintptr_t)t) ^ t->n_vocab);
    for (size_t i = 0; i < slots; i++) t->table[i] = -1;
    t->table_mask = slots - 1;
    enum { BATCH = 32 }; /* hash a batch and prefetch its slots, then insert (as read_merges) */
    size_t slot[BATCH];
    for (uint32_t id0 = 0; id0 < t->n_vocab; id0 += BATCH) {
        uint32_t nb = t->n_vocab - id0 < BATCH ? t->n_vocab - id0 : BATCH;
        for (uint32_t k = 0; k < nb; k++) {
            ggufref_str s = t->text[id0 + k];
            slot[k] = (size_t)hash_text(t->key, s.ptr, s.len) & t->table_mask;
            GR_PREFETCH(&t->table[slot[k]]);
        }
        for (uint32_t k = 0; k < nb; k++) {
            uint32_t id = id0 + k;
            ggufref_str s = t->text[id];
            size_t i = slot[k];
            while (t->table[i] >= 0) {
                if (text_eq(t->text[t->table[i]], s.ptr, s.len)) {
                    char q[GR_QUOTE_MAX];
                    return gr_fail(err, GGUFREF_ERR_BAD_VALUE, gr_gguf_offset_of(g, s.ptr),
                                   "tokenizer.ggml.tokens[%u] = \"%s\" at offset %llu repeats "
                                   "token %d",
                                   (unsigned)id, gr_quote(q, s.ptr, s.len),
                                   (unsigned long long)gr_gguf_offset_of(g, s.ptr), (int)t->table[i]);
                }
                i = (i + 1) & t->table_mask;
            }
            t->table[i] = (int32_t)id;
        }
    }
    alphabet_init(&t->abc);
    for (unsigned b = 0; b < 256; b++) { /* -1: the vocabulary lacks it (R-TOK-040) */
        t->byte_tok[b] = lookup(t, t->abc.utf8[b], t->abc.len[b]);
    }
    return GGUFREF_OK;
}

/* tokenizer.ggml.merges: "left right", each side and their concatenation tokens (R-TOK-037). */
static ggufref_status read_merges(const ggufref_gguf *g, gr_bpe *t, ggufref_error *err) {
    const char *key = "tokenizer.ggml.merges";
    ggufref_array arr;
    bool found;
    ggufref_status st = gr_gguf_array_key(g, key, GGUFREF_TYPE_STRING, 0, &arr, &found, err);
    if (st != GGUFREF_OK) return st;
    if (!found) return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_MODEL, UINT64_MAX, "%s is missing", key);
    if (arr.count > (uint64_t)INT32_MAX) {
        return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_MODEL, gr_gguf_offset_of(g, arr.data),
                       "%s: %llu merges (at most 2^31-1)", key, (unsigned long long)arr.count);
    }
    size_t slots = 16; /* load factor at most 2/3 */
    while (slots < (size_t)arr.count + (size_t)arr.count / 2) slots *= 2;
    t->merges = gr_malloc(slots * sizeof *t->merges);
    if (t->merges == NULL) return oom(err);
    for (size_t i = 0; i < slots; i++) t->merges[i].key = UINT64_MAX;
    t->merge_mask = slots - 1;

    /* Merges go in batches: first every string of the batch is split and its three texts
     * hashed, their table slots prefetched; then the lookups. The table is larger than the
     * caches, so this hides most of its latency. The concatenations live in cat. */
    enum { BATCH = 32 };
    struct {
        ggufref_str m;
        size_t nl, nr, cat_off;
        uint64_t h[3];
    } b[BATCH];
    size_t cat_cap = 1024;
    char *cat = gr_malloc(cat_cap);
    if (cat == NULL) return oom(err);
    ggufref_array_iter it;
    ggufref_array_iter_init(&it, &arr);
    for (uint32_t r0 = 0; r0 < (uint32_t)arr.count; r0 += BATCH) {
        uint32_t nb = (uint32_t)arr.count - r0 < BATCH ? (uint32_t)arr.count - r0 : BATCH;
        size_t cat_len = 0;
        for (uint32_t k = 0; k < nb; k++) {
            uint32_t r = r0 + k;
            ggufref_str m;
            if (!ggufref_array_next_str(&it, &m)) {
                gr_free(cat);
                return gr_fail(err, GGUFREF_ERR_BAD_VALUE_TYPE, UINT64_MAX, "%s[%u] is not a string",
                               key, (unsigned)r);
            }
            const char *sp = m.len > 1 ? memchr(m.ptr + 1, ' ', m.len - 1) : NULL;
            if (sp == NULL) {
                char q[GR_QUOTE_MAX];
                gr_free(cat);
                return gr_fail(err, GGUFREF_ERR_BAD_VALUE, gr_gguf_offset_of(g, m.ptr),
                               "%s[%u] = \"%s\" at offset %llu has no space between two tokens", key,
                               (unsigned)r, gr_quote(q, m.ptr, m.len),
                               (unsigned long long)gr_gguf_offset_of(g, m.ptr));
            }
            size_t nl = (size_t)(sp - m.ptr), nr = m.len - nl - 1;
            if (cat_len + nl + nr > cat_cap) {
                char *bigger = gr_malloc(2 * (cat_len + nl + nr));
                if (bigger == NULL) {
                    gr_free(cat);
                    return oom(err);
                }
                memcpy(bigger, cat, cat_len);
                gr_free(cat);
                cat = bigger;
                cat_cap = 2 * (cat_len + nl + nr);
            }
            memcpy(cat + cat_len, m.ptr, nl);
            memcpy(cat + cat_len + nl, sp + 1, nr);
            b[k].m = m;
            b[k].nl = nl;
            b[k].nr = nr;
            b[k].cat_off = cat_len;
            b[k].h[0] = hash_text(t->key, m.ptr, nl);
            b[k].h[1] = hash_text(t->key, sp + 1, nr);
            b[k].h[2] = hash_text(t->key, cat + cat_len, nl + nr);
            for (int j = 0; j < 3; j++) GR_PREFETCH(&t->table[(size_t)b[k].h[j] & t->table_mask]);
            cat_len += nl + nr;
        }
        for (uint32_t k = 0; k < nb; k++) {
            uint32_t r = r0 + k;
            ggufref_str m = b[k].m;
            int32_t left = lookup_hashed(t, b[k].h[0], m.ptr, b[k].nl);
            int32_t right = lookup_hashed(t, b[k].h[1], m.ptr + b[k].nl + 1, b[k].nr);
            int32_t result = left >= 0 && right >= 0
                                 ? lookup_hashed(t, b[k].h[2], cat + b[k].cat_off, b[k].nl + b[k].nr)
                                 : -1;
            if (result < 0) {
                char q[GR_QUOTE_MAX];
                gr_free(cat);
                const char *what = left < 0    ? "its left side"
                                   : right < 0 ? "its right side"
                                               : "their concatenation";
                return gr_fail(err, GGUFREF_ERR_BAD_VALUE, gr_gguf_offset_of(g, m.ptr),
                               "%s[%u] = \"%s\" at offset %llu: %s is not a token", key,
                               (unsigned)r, gr_quote(q, m.ptr, m.len),
                               (unsigned long long)gr_gguf_offset_of(g, m.ptr), what);
            }
            uint64_t mk = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
            size_t i = (size_t)mix64(mk ^ t->key) & t->merge_mask;
            while (t->merges[i].key != UINT64_MAX && t->merges[i].key != mk) {
                i = (i + 1) & t->merge_mask;
            }
            if (t->merges[i].key == UINT64_MAX) { /* a repeated pair keeps its first rank */
                t->merges[i] = (gr_merge_slot){mk, r, result};
            }
        }
    }
    gr_free(cat);
    return GGUFREF_OK;
}

/* Special ids and flags (R-TOK-038). */
static ggufref_status read_specials(const ggufref_gguf *g, gr_bpe *t, ggufref_error *err) {
    ggufref_status st;
    if ((st = get_special_id(g, "tokenizer.ggml.bos_token_id", t->n_vocab, &t->bos, err)) ||
        (st = get_special_id(g, "tokenizer.ggml.eos_token_id", t->n_vocab, &t->eos, err)) ||
        (st = get_special_id(g, "tokenizer.ggml.unknown_token_id", t->n_vocab, &t->unk, err)) ||
        (st = gr_gguf_bool_key(g, "tokenizer.ggml.add_bos_token", t->ignore_merges, &t->add_bos, err)) ||
        (st = gr_gguf_bool_key(g, "tokenizer.ggml.add_eos_token", false, &t->add_eos, err))) {
        return st;
    }
    return GGUFREF_OK;
}

/* Decoded bytes of token id into dst (R-TOK-046); returns their count (at most the text's
 * length: a character of the alphabet is 1 or 2 bytes and stands for 1). */
static size_t decode_token(const gr_bpe *t, uint32_t id, char *dst) {
    ggufref_str s = t->text[id];
    switch (t->type[id]) {
    case TT_CONTROL:
    case TT_UNKNOWN:
    case TT_UNUSED:
        return 0;
    case TT_BYTE:
        dst[0] = (char)gr_byte_token_value(s.ptr, s.len);
        return 1;
    case TT_USER_DEFINED:
        if (s.len > 0) memcpy(dst, s.ptr, s.len);
        return s.len;
    default: /* NORMAL, UNDEFINED: the byte of each character; others as they are */
        break;
    }
    const uint8_t *u = (const uint8_t *)s.ptr;
    size_t n = 0;
    for (size_t i = 0; i < s.len;) {
        uint32_t cp;
        size_t l;
        if (u[i] < 0x80) { /* fast paths: the alphabet is below U+0800 */
            cp = u[i];
            l = 1;
        } else if (u[i] >= 0xC2 && u[i] <= 0xDF && i + 1 < s.len && (u[i + 1] & 0xC0) == 0x80) {
            cp = (uint32_t)(u[i] & 0x1F) << 6 | (u[i + 1] & 0x3F);
            l = 2;
        } else {
            l = gr_uc_decode(u + i, s.len - i, &cp);
        }
        int b = cp < 324 ? t->abc.byte[cp] : -1;
        if (b >= 0) {
            dst[n++] = (char)b;
        } else {
            memcpy(dst + n, u + i, l);
            n += l;
        }
        i += l;
    }
    return n;
}

static ggufref_status build_pieces(gr_bpe *t, ggufref_error *err) {
    t->piece_off = gr_calloc((size_t)t->n_vocab + 1, sizeof *t->piece_off);
    if (t->piece_off == NULL) return oom(err);
    size_t bound = 1; /* every piece fits in its text's length (BYTE: 1 byte of 6) */
    for (uint32_t i = 0; i < t->n_vocab; i++) bound += t->text[i].len;
    t->pieces = gr_malloc(bound);
    if (t->pieces == NULL) return oom(err);
    size_t total = 0;
    for (uint32_t i = 0; i < t->n_vocab; i++) {
        t->piece_off[i] = total;
        total += decode_token(t, i, t->pieces + total);
    }
    t->piece_off[t->n_vocab] = total;
    return GGUFREF_OK;
}

/* Partition order: longer text first, then lower id (R-TOK-041). */
static bool special_before(const gr_bpe *t, int32_t a, int32_t b) {
    if (t->text[a].len != t->text[b].len) return t->text[a].len > t->text[b].len;
    return a < b;
}

/* CONTROL, UNKNOWN and USER_DEFINED tokens with a non-empty text, sorted (insertion into a
 * bottom-up merge sort would do; the lists are short, so a binary-insertion sort it is). */
static ggufref_status build_specials(gr_bpe *t, ggufref_error *err) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < t->n_vocab; i++) {
        uint8_t ty = t->type[i];
        n += (ty == TT_CONTROL || ty == TT_UNKNOWN || ty == TT_USER_DEFINED) && t->text[i].len > 0;
    }
    t->special = gr_malloc((n > 0 ? n : 1) * sizeof *t->special);
    if (t->special == NULL) return oom(err);
    for (uint32_t i = 0; i < t->n_vocab; i++) {
        uint8_t ty = t->type[i];
        if (!((ty == TT_CONTROL || ty == TT_UNKNOWN || ty == TT_USER_DEFINED) && t->text[i].len > 0)) {
            continue;
        }
        uint32_t lo = 0, hi = t->n_special;
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (special_before(t, t->special[mid], (int32_t)i)) lo = mid + 1;
            else hi = mid;
        }
        memmove(t->special + lo + 1, t->special + lo, (t->n_special - lo) * sizeof *t->special);
        t->special[lo] = (int32_t)i;
        t->n_special++;
    }
    return GGUFREF_OK;
}

ggufref_status gr_bpe_init(const ggufref_gguf *gguf, gr_bpe **out, ggufref_error *err) {
    if (out == NULL) return gr_fail(err, GGUFREF_ERR_INVALID_ARGUMENT, UINT64_MAX, "out is NULL");
    *out = NULL;
    if (gguf == NULL) return gr_fail(err, GGUFREF_ERR_INVALID_ARGUMENT, UINT64_MAX, "gguf is NULL");
    gr_bpe *t = gr_calloc(1, sizeof *t);
    if (t == NULL) return oom(err);
    ggufref_status st;
    if ((st = read_pre(gguf, t, err)) || (st = read_tokens(gguf, t, err)) ||
        (st = build_table(gguf, t, err)) || (st = read_merges(gguf, t, err)) ||
        (st = read_specials(gguf, t, err)) || (st = build_pieces(t, err)) ||
        (st = build_specials(t, err))) {
        gr_bpe_free(t);
        return st;
    }
    *out = t;
    return GGUFREF_OK;
}

void gr_bpe_free(gr_bpe *t) {
    if (t == NULL) return;
    gr_free(t->text);
    gr_free(t->type);
    gr_free(t->table);
    gr_free(t->merges);
    gr_free(t->pieces);
    gr_free(t->piece_off);
    gr_free(t->special);
    gr_free(t);
}

uint32_t gr_bpe_n_vocab(const gr_bpe *t) { return t->n_vocab; }
int32_t gr_bpe_bos(const gr_bpe *t) { return t->bos; }
int32_t gr_bpe_eos(const gr_bpe *t) { return t->eos; }
int32_t gr_bpe_unk(const gr_bpe *t) { return t->unk; }
bool gr_bpe_add_bos(const gr_bpe *t) { return t->add_bos; }
bool gr_bpe_add_eos(const gr_bpe *t) { return t->add_eos; }

/* ------------------------------------------------------------------------------------- */
/* Encode (R-TOK-039..042)                                                                */
/* ------------------------------------------------------------------------------------- */

/* Output: ids counted always, written while they fit. */
typedef struct gr_sink {
    int32_t *out;
    size_t cap, n;
} gr_sink;

static void emit(gr_sink *s, int32_t id) {
    if (s->n < s->cap) s->out[s->n] = id;
    s->n++;
}

#define GR_DEAD (-2) /* a symbol merged into its left neighbour */

typedef struct gr_sym {
    int32_t id; /* the token, -1 for a byte the vocabulary lacks, GR_DEAD */
    uint32_t prev, next; /* UINT32_MAX at the ends */
} gr_sym;

typedef struct gr_cand {
    uint32_t rank, left;
} gr_cand;

/* Scratch of one encode call, grown as pieces need (no allocation per piece once grown). */
typedef struct gr_scratch {
    uint32_t *cp;   /* [n] code points of the fragment being split */
    uint8_t *props; /* [n] */
    uint32_t *off;  /* [n + 1] byte offset of each character */
    uint8_t *brk;   /* [n + 1] */
    size_t n_chars;
    gr_sym *sym;    /* [piece_cap] */
    gr_cand *heap;  /* [3 * piece_cap] */
    char *mapped;   /* [2 * piece_cap] the piece in the byte alphabet (ignore_merges) */
    size_t piece_cap;
    size_t n_heap;
} gr_scratch;

static bool cand_before(gr_cand a, gr_cand b) {
    return a.rank != b.rank ? a.rank < b.rank : a.left < b.left;
}

static void heap_push(gr_scratch *w, gr_cand c) {
    size_t i = w->n_heap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!cand_before(c, w->heap[parent])) break;
        w->heap[i] = w->heap[parent];
        i = parent;
    }
    w->heap[i] = c;
}

static gr_cand heap_pop(gr_scratch *w) {
    gr_cand top = w->heap[0], last = w->heap[--w->n_heap];
    size_t n = w->n_heap, i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && cand_before(w->heap[c + 1], w->heap[c])) c++;
        if (!cand_before(w->heap[c], last)) break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (n > 0) w->heap[i] = last;
    return top;
}

static void try_pair(const gr_bpe *t, gr_scratch *w, uint32_t left) {
    if (left == UINT32_MAX) return;
    uint32_t right = w->sym[left].next;
    if (right == UINT32_MAX) return;
    const gr_merge_slot *m = find_merge(t, w->sym[left].id, w->sym[right].id);
    if (m != NULL) heap_push(w, (gr_cand){m->rank, left});
}

static bool grow_piece(gr_scratch *w, size_t n) {
    if (n <= w->piece_cap) return true;
    size_t cap = w->piece_cap * 2 > n ? w->piece_cap * 2 : n;
    gr_free(w->sym);
    gr_free(w->heap);
    gr_free(w->mapped);
    size_t heap_bytes;
    w->sym = NULL;
    w->heap = NULL;
    w->mapped = NULL;
    if (gr_mul_size(cap, 3 * sizeof *w->heap, &heap_bytes)) {
        w->sym = gr_calloc(cap, sizeof *w->sym);
        w->heap = gr_malloc(heap_bytes);
        w->mapped = gr_calloc(cap, 2);
    }
    w->piece_cap = w->sym && w->heap && w->mapped ? cap : 0;
    return w->piece_cap != 0;
}

/* Emit a final symbol: its token, or for a byte the vocabulary lacks the UNK token; with no
 * UNK either, BAD_VALUE (R-TOK-040). */
static ggufref_status emit_symbol(const gr_bpe *t, int32_t id, gr_sink *s) {
    if (id < 0) id = t->unk;
    if (id < 0) return GGUFREF_ERR_BAD_VALUE;
    emit(s, id);
    return GGUFREF_OK;
}

/* One piece p[0..n) (R-TOK-035, R-TOK-039, R-TOK-040). */
static ggufref_status encode_piece(const gr_bpe *t, gr_scratch *w, const uint8_t *p, size_t n,
                                   gr_sink *s) {
    if (n == 1) return emit_symbol(t, t->byte_tok[p[0]], s);
    if (!grow_piece(w, n)) return GGUFREF_ERR_OUT_OF_MEMORY;
    if (t->ignore_merges) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            memcpy(w->mapped + m, t->abc.utf8[p[i]], 2);
            m += t->abc.len[p[i]];
        }
        int32_t id = lookup(t, w->mapped, m);
        if (id >= 0) {
            emit(s, id);
            return GGUFREF_OK;
        }
    }
    for (size_t i = 0; i < n; i++) {
        w->sym[i] = (gr_sym){t->byte_tok[p[i]], i == 0 ? UINT32_MAX : (uint32_t)(i - 1),
                             i + 1 == n ? UINT32_MAX : (uint32_t)(i + 1)};
    }
    w->n_heap = 0;
    for (size_t i = 0; i + 1 < n; i++) try_pair(t, w, (uint32_t)i);
    while (w->n_heap > 0) {
        gr_cand c = heap_pop(w);
        gr_sym *l = &w->sym[c.left];
        if (l->id == GR_DEAD || l->next == UINT32_MAX) continue; /* merged away, or at the end */
        gr_sym *r = &w->sym[l->next];
        const gr_merge_slot *m = find_merge(t, l->id, r->id);
        if (m == NULL || m->rank != c.rank) continue; /* stale: the pair has changed */
        l->id = m->result;
        r->id = GR_DEAD;
        l->next = r->next;
        if (r->next != UINT32_MAX) w->sym[r->next].prev = c.left;
        try_pair(t, w, l->prev);
        try_pair(t, w, c.left);
    }
    for (uint32_t i = 0; i != UINT32_MAX; i = w->sym[i].next) {
        ggufref_status st = emit_symbol(t, w->sym[i].id, s);
        if (st != GGUFREF_OK) return st;
    }
    return GGUFREF_OK;
}

/* Raw text (no special tokens in it): pre-tokenize, then each piece. */
static ggufref_status encode_raw(const gr_bpe *t, gr_scratch *w, const uint8_t *p, size_t len,
                                 gr_sink *s) {
    size_t n = 0;
    for (size_t pos = 0; pos < len; n++) {
        size_t l = gr_uc_decode(p + pos, len - pos, &w->cp[n]);
        w->props[n] = gr_uc_props(w->cp[n]);
        w->off[n] = (uint32_t)pos;
        pos += l;
    }
    w->off[n] = (uint32_t)len;
    (void)gr_pretok_split(t->pre, w->cp, w->props, n, w->brk);
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        while (!w->brk[b]) b++;
        ggufref_status st = encode_piece(t, w, p + w->off[a], w->off[b] - w->off[a], s);
        if (st != GGUFREF_OK) return st;
        a = b;
    }
    return GGUFREF_OK;
}

/* First occurrence of needle (m > 0 bytes) in hay[0..n), or NULL. */
static const uint8_t *find_bytes(const uint8_t *hay, size_t n, const char *needle, size_t m) {
    const uint8_t *end = hay + n;
    while ((size_t)(end - hay) >= m) {
        const uint8_t *c = memchr(hay, (uint8_t)needle[0], (size_t)(end - hay) - m + 1);
        if (c == NULL) return NULL;
        if (memcmp(c, needle, m) == 0) return c;
        hay = c + 1;
    }
    return NULL;
}

/* A fragment of the text: raw bytes [start, start + len) or one special token (id >= 0). */
typedef struct gr_frag_span {
    size_t start, len;
    int32_t id;
} gr_frag_span;

static bool special_applies(const gr_bpe *t, int32_t id, unsigned flags) {
    return t->type[id] == TT_USER_DEFINED || (flags & GR_BPE_PARSE_SPECIAL) != 0;
}

/* Split the text at special tokens (R-TOK-041): for each applicable token in order (longest
 * first), every occurrence in what is still raw text, left to right, becomes that token.
 * OUT: *frags (gr_malloc'd, caller frees), *n_frags. */
static ggufref_status partition(const gr_bpe *t, const uint8_t *text, size_t len, unsigned flags,
                                gr_frag_span **frags, size_t *n_frags) {
    size_t cap = 16, n = 1;
    gr_frag_span *f = gr_malloc(cap * sizeof *f);
    if (f == NULL) return GGUFREF_ERR_OUT_OF_MEMORY;
    f[0] = (gr_frag_span){0, len, -1};
    for (uint32_t k = 0; k < t->n_special; k++) {
        int32_t id = t->special[k];
        if (!special_applies(t, id, flags)) continue;
        ggufref_str s = t->text[id];
        for (size_t i = 0; i < n; i++) {
            if (f[i].id >= 0) continue;
            const uint8_t *hit = find_bytes(text + f[i].start, f[i].len, s.ptr, s.len);
            if (hit == NULL) continue;
            if (n + 2 > cap) { /* room for the token and the rest after it */
                gr_frag_span *g = gr_malloc(2 * cap * sizeof *g);
                if (g == NULL) {
                    gr_free(f);
                    return GGUFREF_ERR_OUT_OF_MEMORY;
                }
                memcpy(g, f, n * sizeof *f);
                gr_free(f);
                f = g;
                cap *= 2;
            }
            size_t at = (size_t)(hit - text), end = f[i].start + f[i].len;
            size_t before = at - f[i].start, after = end - at - s.len;
            /* [before][token][after]: before stays at i (dropped if empty) */
            gr_frag_span tail[2] = {{at, s.len, id}, {at + s.len, after, -1}};
            size_t add = after > 0 ? 2 : 1;
            size_t keep = before > 0 ? 1 : 0;
            memmove(f + i + keep + add, f + i + 1, (n - i - 1) * sizeof *f);
            if (keep) f[i].len = before;
            memcpy(f + i + keep, tail, add * sizeof *f);
            n += add + keep - 1;
            i += keep; /* continue with the rest after the token */
        }
    }
    *frags = f;
    *n_frags = n;
    return GGUFREF_OK;
}

static void scratch_free(gr_scratch *w) {
    gr_free(w->cp);
    gr_free(w->props);
    gr_free(w->off);
    gr_free(w->brk);
    gr_free(w->sym);
    gr_free(w->heap);
    gr_free(w->mapped);
}

ggufref_status gr_bpe_encode(const gr_bpe *t, const char *text, size_t len, unsigned flags,
                             int32_t *out, size_t cap, size_t *n_out) {
    if (t == NULL || n_out == NULL || (text == NULL && len > 0) || (out == NULL && cap > 0)) {
        if (n_out != NULL) *n_out = 0;
        return GGUFREF_ERR_INVALID_ARGUMENT;
    }
    *n_out = 0;
    if (len > GGUFREF_MAX_TOKENIZE_BYTES) return GGUFREF_ERR_LIMIT_EXCEEDED;
    gr_sink s = {out, cap, 0};
    if ((flags & GR_BPE_ADD_BOS) && t->bos >= 0) emit(&s, t->bos);
    ggufref_status st = GGUFREF_OK;
    if (len > 0) {
        const uint8_t *u = (const uint8_t *)text;
        gr_frag_span *frags = NULL;
        size_t n_frags = 0;
        gr_scratch w = {0};
        st = partition(t, u, len, flags, &frags, &n_frags);
        if (st == GGUFREF_OK) {
            w.cp = gr_calloc(len, sizeof *w.cp);
            w.props = gr_malloc(len);
            w.off = gr_calloc(len + 1, sizeof *w.off);
            w.brk = gr_malloc(len + 1);
            if (w.cp == NULL || w.props == NULL || w.off == NULL || w.brk == NULL) {
                st = GGUFREF_ERR_OUT_OF_MEMORY;
            }
        }
        for (size_t i = 0; st == GGUFREF_OK && i < n_frags; i++) {
            if (frags[i].id >= 0) emit(&s, frags[i].id);
            else st = encode_raw(t, &w, u + frags[i].start, frags[i].len, &s);
        }
        scratch_free(&w);
        gr_free(frags);
        if (st != GGUFREF_OK) return st;
    }
    if ((flags & GR_BPE_ADD_EOS) && t->eos >= 0) emit(&s, t->eos);
    *n_out = s.n;
    return s.n > cap ? GGUFREF_ERR_LIMIT_EXCEEDED : GGUFREF_OK;
}

/* ------------------------------------------------------------------------------------- */
/* Decode (R-TOK-046)                                                                     */
/* ------------------------------------------------------------------------------------- */

ggufref_str gr_bpe_piece(const gr_bpe *t, int32_t token) {
    ggufref_str s = {"", 0};
    if (t == NULL || token < 0 || (uint32_t)token >= t->n_vocab) return s;
    s.ptr = t->pieces + t->piece_off[token];
    s.len = t->piece_off[token + 1] - t->piece_off[token];
    return s;
}

ggufref_str gr_bpe_text(const gr_bpe *t, int32_t token) {
    ggufref_str s = {"", 0};
    if (t == NULL || token < 0 || (uint32_t)token >= t->n_vocab) return s;
    return t->text[token];
}
