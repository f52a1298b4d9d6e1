/*
 * tokenizer.c — the SentencePiece ("llama") tokenizer of a GGUF vocabulary (SPEC chapter 5,
 * R-TOK-*).
 *
 * Vocabulary (tokenizer.ggml.*), borrowed from the GGUF mapping at init:
 *
 *   id      text          score      type
 *   0       "<unk>"       0          UNKNOWN (2)   \
 *   1       "<s>"         0          CONTROL (3)    } never produced from text
 *   3..258  "<0x00>".."<0xFF>"       BYTE (6)      /  (bytes come only from byte fallback)
 *   ...     "▁the"        -3.5       NORMAL (1)    <- "matchable": the merge table
 *
 * Encode = llama.cpp's llm_tokenizer_spm, which equals SentencePiece BPE for these vocabs:
 *
 *   "Hi you" ──dummy prefix, ' '→U+2581──► "▁Hi▁you"
 *            ──split into UTF-8 characters──► ▁ H i ▁ y o u      (symbols, a linked list)
 *            ──merge──► repeatedly merge the adjacent pair whose concatenation is a matchable
 *                       piece of the highest score (ties: leftmost), until none is left
 *            ──emit──► each symbol's id; a symbol that is not a piece becomes one <0xXX>
 *                      token per byte (byte fallback), or UNK when that byte token is absent
 *
 * The best pair is kept in a binary heap of candidate bigrams (stale entries are recognised
 * and skipped when popped), so a text of n bytes costs O(n log n) heap work plus one table
 * search per distinct pair of adjacent pieces (a memo answers the repeats: R-TOK-018). Each
 * call allocates one scratch block (normalised text, symbols, keys, heap and memo: about 90
 * bytes per character plus the text) through gr_malloc and frees it before returning.
 *
 * Decode: every token has a precomputed piece (its text with U+2581 as ' ', one raw byte for a
 * byte token, nothing for BOS/EOS/UNK and control tokens), so ggufref_token_to_piece is a view.
 *
 * This file reads the GGUF only; the model binding (model.c) owns a tokenizer and serves the
 * public ggufref_tokenize, ggufref_token_to_piece and ggufref_token_text with it.
 */
#include "tokenizer.h"

#include "bpe.h"

_Static_assert(GR_BPE_ADD_BOS == GGUFREF_TOKENIZE_ADD_BOS && GR_BPE_ADD_EOS == GGUFREF_TOKENIZE_ADD_EOS &&
                   GR_BPE_PARSE_SPECIAL == GGUFREF_TOKENIZE_PARSE_SPECIAL,
               "the BPE flags are the public ones");

#include "gguf.h"
#include "text.h"

#include <string.h>

/* tokenizer.ggml.token_type values (llama.cpp's llama_token_type). */
enum {
    GR_TT_UNDEFINED = 0,
    GR_TT_NORMAL = 1,
    GR_TT_UNKNOWN = 2,
    GR_TT_CONTROL = 3,
    GR_TT_USER_DEFINED = 4,
    GR_TT_UNUSED = 5,
    GR_TT_BYTE = 6,
};

#define GR_NONE UINT32_MAX /* no symbol */

static const char SPACE_MARK[3] = {'\xE2', '\x96', '\x81'}; /* U+2581 LOWER ONE EIGHTH BLOCK */

struct gr_tokenizer {
    uint32_t n_vocab;
    ggufref_str *text;     /* [n_vocab] token strings, views into the GGUF */
    float *score;          /* [n_vocab] merge priority (0 when the file has no scores) */
    uint8_t *type;         /* [n_vocab] GR_TT_* */
    int32_t *sorted;       /* [n_sorted] matchable ids by (length, bytes), one per text (R-TOK-018) */
    uint32_t n_sorted;
    size_t max_piece_len;  /* longest matchable text: longer strings are never looked up */
    int32_t byte_id[256];  /* the <0xXX> token of each byte, -1 if the vocab lacks it */
    char *pieces;          /* decoded bytes of every token, back to back */
    size_t *piece_off;     /* [n_vocab + 1] token i decodes to pieces[piece_off[i]..[i+1]) */
    int32_t bos, eos, unk; /* -1 when none */
    bool add_bos;          /* tokenizer.ggml.add_bos_token */
    bool add_space_prefix; /* tokenizer.ggml.add_space_prefix */
    gr_bpe *bpe;           /* tokenizer.ggml.model = "gpt2": the byte-level BPE tokenizer
                            * (bpe.c, SPEC 5.2) does all the work; the fields above are unused */
};

/* ------------------------------------------------------------------------------------- */
/* The table of matchable pieces: sorted, searched (R-TOK-018)                             */
/* ------------------------------------------------------------------------------------- */
/*
 * No hash table: the texts come from a stranger's file, which could choose them to collide
 * (131,072 texts in one bucket took 35 s to load). The ids are sorted by (length, bytes) once,
 * O(n log n) comparisons, and a lookup is a binary search: O(log n) steps, each a length
 * comparison or a memcmp of texts of equal length.
 */

static bool str_eq(ggufref_str a, const char *p, size_t n) {
    return a.len == n && (n == 0 || memcmp(a.ptr, p, n) == 0);
}

/* Order of (p, n) against text a: length first, then bytes. <0, 0, >0. */
static int text_cmp(const char *p, size_t n, ggufref_str a) {
    if (n != a.len) return n < a.len ? -1 : 1;
    return n == 0 ? 0 : memcmp(p, a.ptr, n);
}

/* The id of the matchable piece with text (p, n), or -1. O(log n_sorted) comparisons. */
static int32_t lookup(const gr_tokenizer *t, const char *p, size_t n) {
    if (n == 0 || n > t->max_piece_len) return -1;
    size_t lo = 0, hi = t->n_sorted;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = text_cmp(p, n, t->text[t->sorted[mid]]);
        if (c == 0) return t->sorted[mid];
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return -1;
}

/* Table order: (length, bytes), then id (so the last of equal texts is the highest id). */
static bool id_before(const gr_tokenizer *t, int32_t a, int32_t b) {
    int c = text_cmp(t->text[a].ptr, t->text[a].len, t->text[b]);
    return c != 0 ? c < 0 : a < b;
}

/* Stable bottom-up merge sort of ids[0..n) by id_before, through tmp[0..n). Deterministic,
 * O(n log n) comparisons whatever the texts are. */
static void sort_ids(const gr_tokenizer *t, int32_t *ids, int32_t *tmp, size_t n) {
    int32_t *src = ids, *dst = tmp;
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) dst[k++] = id_before(t, src[j], src[i]) ? src[j++] : src[i++];
            while (i < mid) dst[k++] = src[i++];
            while (j < hi) dst[k++] = src[j++];
        }
        int32_t *swap = src;
        src = dst;
        dst = swap;
    }
    if (src != ids) memcpy(ids, src, n * sizeof *ids);
}

/* Tokens that text can produce: NORMAL, USER_DEFINED and UNDEFINED(0), non-empty (R-TOK-005). */
static bool is_matchable(const gr_tokenizer *t, uint32_t id) {
    uint8_t ty = t->type[id];
    bool ok = ty == GR_TT_NORMAL || ty == GR_TT_USER_DEFINED || ty == GR_TT_UNDEFINED;
    return ok && t->text[id].len > 0;
}

/* ------------------------------------------------------------------------------------- */
/* Init: reading tokenizer.ggml.* (R-TOK-001..006)                                        */
/* ------------------------------------------------------------------------------------- */

/* Optional special-token id (R-TOK-004): absent -> def if def < n_vocab, else -1; negative ->
 * -1 (none); >= n_vocab -> BAD_VALUE; not an integer -> BAD_VALUE_TYPE. OUT: *out. */
static ggufref_status get_special_id(const ggufref_gguf *g, const char *key, int32_t def,
                                     uint32_t n_vocab, int32_t *out, ggufref_error *err) {
    int64_t kv = ggufref_gguf_find_key(g, key);
    *out = (uint32_t)def < n_vocab ? def : -1;
    if (kv < 0) return GGUFREF_OK;
    uint64_t v;
    ggufref_status st = ggufref_gguf_get_uint(g, (uint64_t)kv, &v);
    if (st == GGUFREF_ERR_BAD_VALUE) { /* a negative integer: the file says "none" */
        *out = -1;
        return GGUFREF_OK;
    }
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

/* tokenizer.ggml.model must be the string "llama" (R-TOK-001). */
/* OUT: *bpe = true for "gpt2" (R-TOK-030). */
static ggufref_status check_model_kind(const ggufref_gguf *g, bool *bpe, ggufref_error *err) {
    const char *key = "tokenizer.ggml.model";
    int64_t kv = ggufref_gguf_find_key(g, key);
    if (kv < 0) {
        return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_TOKENIZER, UINT64_MAX, "%s is missing", key);
    }
    ggufref_str s;
    if (ggufref_gguf_get_str(g, (uint64_t)kv, &s) != GGUFREF_OK) {
        return gr_fail(err, GGUFREF_ERR_BAD_VALUE_TYPE, UINT64_MAX, "%s: expected a string, got %s",
                       key, ggufref_value_type_name(ggufref_gguf_kv_type(g, (uint64_t)kv)));
    }
    if (bpe != NULL && str_eq(s, "gpt2", 4)) {
        *bpe = true;
        return GGUFREF_OK;
    }
    if (!str_eq(s, "llama", 5)) {
        char q[GR_QUOTE_MAX];
        return gr_fail(err, GGUFREF_ERR_UNSUPPORTED_TOKENIZER, gr_gguf_offset_of(g, s.ptr),
                       "%s = \"%s\" at offset %llu is not supported (only \"llama\" and \"gpt2\")", key,
                       gr_quote(q, s.ptr, s.len), (unsigned long long)gr_gguf_offset_of(g, s.ptr));
    }
    return GGUFREF_OK;
}

/* tokens, scores and token_type into t (R-TOK-002, R-TOK-003). */
static ggufref_status read_vocab(const ggufref_gguf *g, gr_tokenizer *t, ggufref_error *err) {
    const char *key = "tokenizer.ggml.tokens";
    ggufref_array arr;
    bool found;
    ggufref_status st = gr_gguf_token_list(g, &arr, err);
    if (st != GGUFREF_OK) return st;
    t->n_vocab = (uint32_t)arr.count;
    t->text = gr_calloc(t->n_vocab, sizeof *t->text);
    t->score = gr_calloc(t->n_vocab, sizeof *t->score);
    t->type = gr_calloc(t->n_vocab, sizeof *t->type);
    if (t->text == NULL || t->score == NULL || t->type == NULL) {
        return gr_fail(err, GGUFREF_ERR_OUT_OF_MEMORY, UINT64_MAX, "tokenizer: out of memory");
    }
    ggufref_array_iter it;
    ggufref_array_iter_init(&it, &arr);
    for (uint32_t i = 0; i < t->n_vocab; i++) {
        if (!ggufref_array_next_str(&it, &t->text[i])) {
            return gr_fail(err, GGUFREF_ERR_BAD_VALUE_TYPE, UINT64_MAX, "%s[%u] is not a string",
                           key, (unsigned)i);
        }
    }

    key = "tokenizer.ggml.scores";
    st = gr_gguf_array_key(g, key, GGUFREF_TYPE_FLOAT32, t->n_vocab, &arr, &found, err);
    if (st != GGUFREF_OK) return st;
    if (found) {
        ggufref_array_iter_init(&it, &arr);
        for (uint32_t i = 0; i < t->n_vocab; i++) {
            float v = 0.0f;
            (void)ggufref_array_next_f32(&it, &v);
            if (v != v) {
                return gr_fail(err, GGUFREF_ERR_BAD_VALUE, gr_gguf_offset_of(g, arr.data) + 4u * i,
                               "%s[%u] is NaN at offset %llu", key, (unsigned)i,
                               (unsigned long long)(gr_gguf_offset_of(g, arr.data) + 4u * i));
            }
            t->score[i] = v;
        }
    }

    key = "tokenizer.ggml.token_type";
    st = gr_gguf_array_key(g, key, GGUFREF_TYPE_INT32, t->n_vocab, &arr, &found, err);
    if (st != GGUFREF_OK) return st;
    if (found) {
        ggufref_array_iter_init(&it, &arr);
        for (uint32_t i = 0; i < t->n_vocab; i++) {
            int32_t v = -1;
            (void)ggufref_array_next_i32(&it, &v);
            if (v < GR_TT_UNDEFINED || v > GR_TT_BYTE) {
                return gr_fail(err, GGUFREF_ERR_BAD_VALUE, gr_gguf_offset_of(g, arr.data) + 4u * i,
                               "%s[%u] = %d at offset %llu is not a token type (0..6)", key,
                               (unsigned)i, (int)v,
                               (unsigned long long)(gr_gguf_offset_of(g, arr.data) + 4u * i));
            }
            if (v == GR_TT_BYTE && gr_byte_token_value(t->text[i].ptr, t->text[i].len) < 0) {
                return gr_fail(err, GGUFREF_ERR_BAD_VALUE, gr_gguf_offset_of(g, t->text[i].ptr),
                               "tokenizer.ggml.tokens[%u] has type BYTE but is not <0xHH> "
                               "(offset %llu)",
                               (unsigned)i, (unsigned long long)gr_gguf_offset_of(g, t->text[i].ptr));
            }
            t->type[i] = (uint8_t)v;
        }
    } else {
        /* no types in the file: <0xHH> texts are bytes, the rest normal; the special ids are
         * marked after they are read (R-TOK-003) */
        for (uint32_t i = 0; i < t->n_vocab; i++) {
            t->type[i] = gr_byte_token_value(t->text[i].ptr, t->text[i].len) >= 0 ? GR_TT_BYTE : GR_TT_NORMAL;
        }
    }
    return GGUFREF_OK;
}

/* BOS/EOS/UNK and the two flags (R-TOK-004). */
static ggufref_status read_specials(const ggufref_gguf *g, gr_tokenizer *t, bool typed,
                                    ggufref_error *err) {
    ggufref_status st;
    if ((st = get_special_id(g, "tokenizer.ggml.bos_token_id", 1, t->n_vocab, &t->bos, err)) ||
        (st = get_special_id(g, "tokenizer.ggml.eos_token_id", 2, t->n_vocab, &t->eos, err)) ||
        (st = get_special_id(g, "tokenizer.ggml.unknown_token_id", 0, t->n_vocab, &t->unk, err)) ||
        (st = gr_gguf_bool_key(g, "tokenizer.ggml.add_bos_token", true, &t->add_bos, err)) ||
        (st = gr_gguf_bool_key(g, "tokenizer.ggml.add_space_prefix", true, &t->add_space_prefix,
                           err))) {
        return st;
    }
    if (!typed) {
        if (t->bos >= 0) t->type[t->bos] = GR_TT_CONTROL;
        if (t->eos >= 0) t->type[t->eos] = GR_TT_CONTROL;
        if (t->unk >= 0) t->type[t->unk] = GR_TT_UNKNOWN;
    }
    return GGUFREF_OK;
}

/* The sorted text -> id table and the byte table (R-TOK-005, R-TOK-006, R-TOK-018). */
static ggufref_status build_tables(gr_tokenizer *t, ggufref_error *err) {
    for (int b = 0; b < 256; b++) t->byte_id[b] = -1;
    size_t n = 0;
    for (uint32_t i = 0; i < t->n_vocab; i++) {
        if (is_matchable(t, i)) {
            n++;
            if (t->text[i].len > t->max_piece_len) t->max_piece_len = t->text[i].len;
        } else if (t->type[i] == GR_TT_BYTE) {
            t->byte_id[gr_byte_token_value(t->text[i].ptr, t->text[i].len)] = (int32_t)i; /* later id wins */
        }
    }
    t->sorted = gr_calloc(2 * n + 1, sizeof *t->sorted); /* the table, then sort scratch */
    if (t->sorted == NULL) {
        return gr_fail(err, GGUFREF_ERR_OUT_OF_MEMORY, UINT64_MAX, "tokenizer: out of memory");
    }
    size_t k = 0;
    for (uint32_t i = 0; i < t->n_vocab; i++) {
        if (is_matchable(t, i)) t->sorted[k++] = (int32_t)i;
    }
    sort_ids(t, t->sorted, t->sorted + n, n);
    /* one id per text: the last of a run of equal texts, the highest id (R-TOK-006) */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        bool last = i + 1 == n || !str_eq(t->text[t->sorted[i + 1]],
                                          t->text[t->sorted[i]].ptr, t->text[t->sorted[i]].len);
        if (last) t->sorted[m++] = t->sorted[i];
    }
    t->n_sorted = (uint32_t)m;
    return GGUFREF_OK;
}

/* Is id BOS, EOS or UNK, or of a type that decodes to nothing (R-TOK-020)? */
static bool decodes_to_nothing(const gr_tokenizer *t, uint32_t id) {
    int32_t s = (int32_t)id;
    return s == t->bos || s == t->eos || s == t->unk || t->type[id] == GR_TT_CONTROL ||
           t->type[id] == GR_TT_UNKNOWN;
}

/* Decoded length of token id, and (if dst) its bytes. */
static size_t decode_token(const gr_tokenizer *t, uint32_t id, char *dst) {
    if (decodes_to_nothing(t, id)) return 0;
    ggufref_str s = t->text[id];
    if (t->type[id] == GR_TT_BYTE) {
        if (dst != NULL) dst[0] = (char)gr_byte_token_value(s.ptr, s.len);
        return 1;
    }
    size_t n = 0;
    for (size_t i = 0; i < s.len;) {
        if (s.len - i >= 3 && memcmp(s.ptr + i, SPACE_MARK, 3) == 0) {
            if (dst != NULL) dst[n] = ' ';
            i += 3;
        } else {
            if (dst != NULL) dst[n] = s.ptr[i];
            i++;
        }
        n++;
    }
    return n;
}

/* All pieces into one buffer (R-TOK-020). */
static ggufref_status build_pieces(gr_tokenizer *t, ggufref_error *err) {
    t->piece_off = gr_calloc((size_t)t->n_vocab + 1, sizeof *t->piece_off);
    if (t->piece_off == NULL) {
        return gr_fail(err, GGUFREF_ERR_OUT_OF_MEMORY, UINT64_MAX, "tokenizer: out of memory");
    }
    size_t total = 0;
    for (uint32_t i = 0; i < t->n_vocab; i++) {
        t->piece_off[i] = total;
        total += decode_token(t, i, NULL); /* <= the text bytes, which are in the file */
    }
    t->piece_off[t->n_vocab] = total;
    t->pieces = gr_malloc(total);
    if (t->pieces == NULL) {
        return gr_fail(err, GGUFREF_ERR_OUT_OF_MEMORY, UINT64_MAX, "tokenizer: out of memory");
    }
    for (uint32_t i = 0; i < t->n_vocab; i++) (void)decode_token(t, i, t->pieces + t->piece_off[i]);
    return GGUFREF_OK;
}

ggufref_status gr_tokenizer_init(const ggufref_gguf *gguf, gr_tokenizer **out, ggufref_error *err) {
    if (out == NULL) return gr_fail(err, GGUFREF_ERR_INVALID_ARGUMENT, UINT64_MAX, "out is NULL");
    *out = NULL;
    if (gguf == NULL) return gr_fail(err, GGUFREF_ERR_INVALID_ARGUMENT, UINT64_MAX, "gguf is NULL");
    bool bpe = false;
    ggufref_status st = check_model_kind(gguf, &bpe, err);
    if (st != GGUFREF_OK) return st;
    gr_tokenizer *t = gr_calloc(1, sizeof *t);
    if (t == NULL) {
        return gr_fail(err, GGUFREF_ERR_OUT_OF_MEMORY, UINT64_MAX, "tokenizer: out of memory");
    }
    if (bpe) {
        if ((st = gr_bpe_init(gguf, &t->bpe, err)) != GGUFREF_OK) {
            gr_free(t);
            return st;
        }
        *out = t;
        return GGUFREF_OK;
    }
    bool typed = ggufref_gguf_find_key(gguf, "tokenizer.ggml.token_type") >= 0;
    if ((st = read_vocab(gguf, t, err)) || (st = read_specials(gguf, t, typed, err)) ||
        (st = build_tables(t, err)) || (st = build_pieces(t, err))) {
        gr_tokenizer_free(t);
        return st;
    }
    *out = t;
    return GGUFREF_OK;
}

void gr_tokenizer_free(gr_tokenizer *tok) {
    if (tok == NULL) return;
    gr_bpe_free(tok->bpe);
    gr_free(tok->text);
    gr_free(tok->score);
    gr_free(tok->type);
    gr_free(tok->sorted);
    gr_free(tok->pieces);
    gr_free(tok->piece_off);
    gr_free(tok);
}

uint32_t gr_tokenizer_n_vocab(const gr_tokenizer *tok) {
    return tok->bpe ? gr_bpe_n_vocab(tok->bpe) : tok->n_vocab;
}
int32_t gr_tokenizer_bos(const gr_tokenizer *tok) { return tok->bpe ? gr_bpe_bos(tok->bpe) : tok->bos; }
int32_t gr_tokenizer_eos(const gr_tokenizer *tok) { return tok->bpe ? gr_bpe_eos(tok->bpe) : tok->eos; }
int32_t gr_tokenizer_unk(const gr_tokenizer *tok) { return tok->bpe ? gr_bpe_unk(tok->bpe) : tok->unk; }
bool gr_tokenizer_add_bos(const gr_tokenizer *tok) {
    return tok->bpe ? gr_bpe_add_bos(tok->bpe) : tok->add_bos;
}

/* ------------------------------------------------------------------------------------- */
/* Encode (R-TOK-010..017)                                                                */
/* ------------------------------------------------------------------------------------- */

/* A run of bytes of the normalised text; merged symbols are emptied (n = 0) and unlinked. */
typedef struct gr_symbol {
    uint32_t start, n;  /* bytes [start, start + n) of the normalised text */
    uint32_t prev, next; /* neighbours in the live list, GR_NONE at the ends */
} gr_symbol;

/* A candidate merge of symbols left and its right neighbour right, valid while both still
 * span exactly `size` bytes together. */
typedef struct gr_bigram {
    float score;
    uint32_t left, right, size;
    int32_t id;         /* the piece left + right make */
} gr_bigram;

/* One entry of the pair memo: the lookup of the text of key lk followed by the text of key rk
 * (R-TOK-018). A symbol's key is its piece id, or for a character that is no piece
 * GR_CHAR_KEY | length << 32 | its bytes: equal keys, equal texts. */
typedef struct gr_memo {
    uint64_t lk, rk;
    int32_t id;         /* lookup's answer, -1 for none */
    bool used;
} gr_memo;
#define GR_CHAR_KEY (1ull << 40)
#define GR_MEMO_MAX 65536u /* entries at most (1.5 MiB) */

typedef struct gr_encoder {
    const gr_tokenizer *tok;
    const char *text;   /* normalised text */
    gr_symbol *sym;
    uint64_t *key;      /* [n_sym] the key of each live symbol */
    gr_bigram *heap;
    size_t n_heap;
    gr_memo *memo;      /* [memo_mask + 1], a direct-mapped cache */
    size_t memo_mask;
    uint64_t memo_seed; /* from addresses: a file cannot aim at the slots; only speed depends
                         * on it, every answer is lookup's */
} gr_encoder;

/* Heap order: higher score first, then the leftmost pair (R-TOK-013). */
static bool bigram_before(const gr_bigram *a, const gr_bigram *b) {
    if (a->score != b->score) return a->score > b->score;
    return a->left < b->left;
}

static void heap_push(gr_encoder *e, gr_bigram b) {
    size_t i = e->n_heap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!bigram_before(&b, &e->heap[parent])) break;
        e->heap[i] = e->heap[parent];
        i = parent;
    }
    e->heap[i] = b;
}

static gr_bigram heap_pop(gr_encoder *e) {
    gr_bigram top = e->heap[0];
    gr_bigram last = e->heap[--e->n_heap];
    size_t n = e->n_heap, i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && bigram_before(&e->heap[c + 1], &e->heap[c])) c++;
        if (!bigram_before(&e->heap[c], &last)) break;
        e->heap[i] = e->heap[c];
        i = c;
    }
    if (n > 0) e->heap[i] = last;
    return top;
}

/* The memo slot of a pair of keys (a splitmix64 finalizer of both, keyed). */
static size_t memo_slot(const gr_encoder *e, uint64_t lk, uint64_t rk) {
    uint64_t h = (lk * 0x9E3779B97F4A7C15ull) ^ rk ^ e->memo_seed;
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ull;
    h = (h ^ (h >> 27)) * 0x94D049BB133111EBull;
    return (size_t)(h ^ (h >> 31)) & e->memo_mask;
}

/* Queue the pair (left, right) if their concatenation is a matchable piece. A pair of symbols
 * already looked up (the same two keys) is answered by the memo, so the bytes of a long
 * candidate are compared once per distinct pair, not once per position (R-TOK-018). */
static void try_add_bigram(gr_encoder *e, uint32_t left, uint32_t right) {
    if (left == GR_NONE || right == GR_NONE) return;
    uint32_t size = e->sym[left].n + e->sym[right].n;
    if (size > e->tok->max_piece_len) return;
    uint64_t lk = e->key[left], rk = e->key[right];
    gr_memo *m = &e->memo[memo_slot(e, lk, rk)];
    if (!m->used || m->lk != lk || m->rk != rk) {
        *m = (gr_memo){lk, rk, lookup(e->tok, e->text + e->sym[left].start, size), true};
    }
    if (m->id < 0) return;
    heap_push(e, (gr_bigram){e->tok->score[m->id], left, right, size, m->id});
}

/* Normalise (R-TOK-010): optional U+2581 prefix, each ' ' as U+2581. OUT: dst; returns bytes. */
static size_t normalise(const char *text, size_t len, bool prefix, char *dst) {
    size_t n = 0;
    if (prefix) {
        memcpy(dst, SPACE_MARK, 3);
        n = 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(dst + n, SPACE_MARK, 3);
            n += 3;
        } else {
            dst[n++] = text[i];
        }
    }
    return n;
}

/* Append id to out if it fits; count it either way. */
static void emit(int32_t id, int32_t *out, size_t cap, size_t *n) {
    if (*n < cap) out[*n] = id;
    (*n)++;
}

/* Emit symbol s: its piece id, or one byte token per byte (R-TOK-014). */
static ggufref_status emit_symbol(const gr_encoder *e, const gr_symbol *s, int32_t *out,
                                  size_t cap, size_t *n) {
    const char *p = e->text + s->start;
    int32_t id = lookup(e->tok, p, s->n);
    if (id >= 0) {
        emit(id, out, cap, n);
        return GGUFREF_OK;
    }
    for (uint32_t i = 0; i < s->n; i++) {
        int32_t b = e->tok->byte_id[(uint8_t)p[i]];
        if (b < 0) b = e->tok->unk;
        if (b < 0) return GGUFREF_ERR_BAD_VALUE; /* no <0xHH> token and no UNK */
        emit(b, out, cap, n);
    }
    return GGUFREF_OK;
}

/* Split, merge and emit the normalised text (n_text bytes, > 0). */
static ggufref_status encode_normalised(gr_encoder *e, uint32_t n_text, int32_t *out, size_t cap,
                                        size_t *n) {
    const uint8_t *u = (const uint8_t *)e->text;
    uint32_t n_sym = 0;
    for (uint32_t pos = 0; pos < n_text;) {
        size_t len = gr_utf8_len(u + pos, n_text - pos);
        if (len == 0) len = 1; /* an ill-formed byte is a symbol of its own (R-TOK-011) */
        e->sym[n_sym] = (gr_symbol){pos, (uint32_t)len, n_sym - 1, n_sym + 1};
        int32_t id = lookup(e->tok, e->text + pos, len);
        uint64_t bytes = 0;
        for (size_t i = 0; i < len; i++) bytes |= (uint64_t)u[pos + i] << (8 * i);
        e->key[n_sym] = id >= 0 ? (uint64_t)id : GR_CHAR_KEY | (uint64_t)len << 32 | bytes;
        pos += (uint32_t)len;
        n_sym++;
    }
    e->sym[0].prev = GR_NONE;
    e->sym[n_sym - 1].next = GR_NONE;
    for (uint32_t i = 1; i < n_sym; i++) try_add_bigram(e, i - 1, i);
    while (e->n_heap > 0) {
        gr_bigram b = heap_pop(e);
        gr_symbol *l = &e->sym[b.left], *r = &e->sym[b.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size) continue; /* stale */
        l->n += r->n;
        r->n = 0;
        e->key[b.left] = (uint64_t)b.id;
        l->next = r->next;
        if (r->next != GR_NONE) e->sym[r->next].prev = b.left;
        try_add_bigram(e, l->prev, b.left);
        try_add_bigram(e, b.left, l->next);
    }
    for (uint32_t i = 0; i != GR_NONE; i = e->sym[i].next) {
        ggufref_status st = emit_symbol(e, &e->sym[i], out, cap, n);
        if (st != GGUFREF_OK) return st;
    }
    return GGUFREF_OK;
}

/* Symbols the normalised text will have: one per well-formed character or ill-formed byte of
 * text (a ' ' becomes one U+2581 character), plus the prefix. */
static size_t count_symbols(const char *text, size_t len, bool prefix) {
    size_t n = prefix ? 1 : 0;
    for (size_t pos = 0; pos < len; n++) {
        size_t l = gr_utf8_len((const uint8_t *)text + pos, len - pos);
        pos += l == 0 ? 1 : l;
    }
    return n;
}

/* Bytes of the normalised text: each ' ' grows from 1 to 3 bytes, the prefix adds 3. */
static size_t normalised_len(const char *text, size_t len, bool prefix) {
    size_t n = len + (prefix ? 3 : 0);
    for (size_t i = 0; i < len; i++) n += text[i] == ' ' ? 2 : 0;
    return n;
}

ggufref_status gr_tokenizer_encode(const gr_tokenizer *tok, const char *text, size_t len,
                                   bool add_bos, int32_t *out, size_t cap, size_t *n_out) {
    if (tok != NULL && tok->bpe != NULL) {
        return gr_bpe_encode(tok->bpe, text, len, add_bos ? GR_BPE_ADD_BOS : 0, out, cap, n_out);
    }
    if (tok == NULL || n_out == NULL || (text == NULL && len > 0) || (out == NULL && cap > 0)) {
        if (n_out != NULL) *n_out = 0;
        return GGUFREF_ERR_INVALID_ARGUMENT;
    }
    *n_out = 0;
    if (len > GGUFREF_MAX_TOKENIZE_BYTES) return GGUFREF_ERR_LIMIT_EXCEEDED;
    size_t n = 0;
    if (add_bos && tok->bos >= 0) emit(tok->bos, out, cap, &n);
    if (len > 0) {
        /* One scratch block: memo [n_memo] (a power of two, about n_sym / 2, at most
         * GR_MEMO_MAX), keys [n_sym], heap [3 n_sym] (n_sym - 1 seeds plus at most two per
         * merge), symbols [n_sym], normalised text [n_text]; the 8-byte members first. n_text
         * < 2^32 as len <= 2^28. */
        size_t n_sym = count_symbols(text, len, tok->add_space_prefix);
        size_t n_text = normalised_len(text, len, tok->add_space_prefix);
        size_t n_memo = 16;
        while (n_memo < GR_MEMO_MAX && n_memo < n_sym / 2) n_memo *= 2;
        size_t per_sym = 3 * sizeof(gr_bigram) + sizeof(uint64_t) + sizeof(gr_symbol), bytes;
        if (!gr_mul_size(n_sym, per_sym, &bytes) || !gr_add_size(bytes, n_text, &bytes) ||
            !gr_add_size(bytes, n_memo * sizeof(gr_memo), &bytes)) {
            return GGUFREF_ERR_OUT_OF_MEMORY;
        }
        void *scratch = gr_malloc(bytes);
        if (scratch == NULL) return GGUFREF_ERR_OUT_OF_MEMORY;
        gr_encoder e = {.tok = tok};
        e.memo = scratch;
        e.memo_mask = n_memo - 1;
        e.memo_seed = ((uint64_t)(uintptr_t)scratch * 0x9E3779B97F4A7C15ull) ^
                      (uint64_t)(uintptr_t)tok ^ (uint64_t)(uintptr_t)&e;
        for (size_t i = 0; i < n_memo; i++) e.memo[i].used = false;
        e.key = (uint64_t *)(e.memo + n_memo); /* 8-byte aligned: right after the memo */
        e.heap = (gr_bigram *)(e.key + n_sym);
        e.sym = (gr_symbol *)(e.heap + 3 * n_sym);
        char *norm = (char *)(e.sym + n_sym);
        e.text = norm;
        (void)normalise(text, len, tok->add_space_prefix, norm);
        ggufref_status st = encode_normalised(&e, (uint32_t)n_text, out, cap, &n);
        gr_free(scratch);
        if (st != GGUFREF_OK) return st;
    }
    *n_out = n;
    return n > cap ? GGUFREF_ERR_LIMIT_EXCEEDED : GGUFREF_OK;
}

/* ------------------------------------------------------------------------------------- */
/* Decode (R-TOK-020..022)                                                                */
/* ------------------------------------------------------------------------------------- */

/* R-TOK-042: flags GR_BPE_*; SentencePiece honours ADD_BOS and ADD_EOS (PARSE_SPECIAL has no
 * effect: R-TOK-010). */
ggufref_status gr_tokenizer_encode_flags(const gr_tokenizer *tok, const char *text, size_t len,
                                         unsigned flags, int32_t *out, size_t cap, size_t *n_out) {
    if (tok != NULL && tok->bpe != NULL) {
        return gr_bpe_encode(tok->bpe, text, len, flags, out, cap, n_out);
    }
    bool add_bos = (flags & GR_BPE_ADD_BOS) != 0;
    ggufref_status st = gr_tokenizer_encode(tok, text, len, add_bos, out, cap, n_out);
    if (!(flags & GR_BPE_ADD_EOS) || (st != GGUFREF_OK && st != GGUFREF_ERR_LIMIT_EXCEEDED) ||
        *n_out == 0 || tok->eos < 0) {
        return st; /* (LIMIT_EXCEEDED with nothing counted: the text is over the limit) */
    }
    if (*n_out < cap) out[*n_out] = tok->eos;
    (*n_out)++;
    return *n_out > cap ? GGUFREF_ERR_LIMIT_EXCEEDED : GGUFREF_OK;
}

ggufref_str gr_tokenizer_piece(const gr_tokenizer *tok, int32_t prev, int32_t token) {
    ggufref_str s = {"", 0};
    if (tok != NULL && tok->bpe != NULL) return gr_bpe_piece(tok->bpe, token);
    if (tok == NULL || token < 0 || (uint32_t)token >= tok->n_vocab) return s;
    s.ptr = tok->pieces + tok->piece_off[token];
    s.len = tok->piece_off[token + 1] - tok->piece_off[token];
    /* the space SentencePiece's dummy prefix put there, dropped right after BOS (R-TOK-021) */
    if (prev >= 0 && prev == tok->bos && s.len > 0 && s.ptr[0] == ' ' &&
        tok->type[token] != GR_TT_BYTE) {
        s.ptr++;
        s.len--;
    }
    return s;
}

ggufref_str gr_tokenizer_text(const gr_tokenizer *tok, int32_t token) {
    ggufref_str s = {"", 0};
    if (tok != NULL && tok->bpe != NULL) return gr_bpe_text(tok->bpe, token);
    if (tok == NULL || token < 0 || (uint32_t)token >= tok->n_vocab) return s;
    return tok->text[token];
}
