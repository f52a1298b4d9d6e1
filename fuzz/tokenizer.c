/*
 * tokenizer.c — fuzz target: SentencePiece encode/decode over a fixed vocabulary (SPEC
 * chapter 5, R-TOK-*).
 *
 * The vocabulary is the micro fixture's (fixtures.h): 362 pieces, every <0xXX> byte token,
 * "\u2581" as a piece, add_space_prefix true (the default). It is loaded once, read-only.
 *
 * Input: byte 0 = flags (bit 0 add_bos; bits 1..7 a small output capacity), bytes 1..8 = a
 * (prev, token) pair for one arbitrary token_to_piece call, the rest = the text.
 * Properties:
 *   - encode succeeds (the vocabulary has every byte token, so no text is unencodable) and is
 *     deterministic; every id is in [0, n_vocab); BOS leads iff add_bos; no other control
 *     token (BOS, EOS) comes out of text (R-TOK-005);
 *   - a too-small capacity gives LIMIT_EXCEEDED with the full count and the same prefix;
 *   - round trip: the pieces of the ids, each decoded after the one before it, give back the
 *     text exactly, with every U+2581 of the text read as the space it denotes — after BOS the
 *     dummy-prefix space is dropped (R-TOK-021); without BOS it stays as one leading space;
 *   - token_to_piece of any (prev, token) is a view inside the model, empty out of range.
 *
 * Byte-level BPE (SPEC 5.2): the same text is also encoded with a small BPE vocabulary built
 * at initialization (every byte's character, a few merges, a CONTROL and a USER_DEFINED token),
 * once per pre-tokenizer (the (prev) word picks one of eight), with flags from the token word:
 *   - encode succeeds and is deterministic, every id in range, BOS leads iff asked, EOS ends iff
 *     asked, no CONTROL token without PARSE_SPECIAL; a small capacity keeps count and prefix;
 *   - without PARSE_SPECIAL the pieces give the text back byte for byte (R-TOK-049), whatever
 *     the bytes (ill-formed UTF-8 included); with it, every id is still in range.
 */
#include "fixtures.h"
#include "fuzz.h"

static ggufref_gguf *fz_gguf;
static ggufref_model *fz_model;
static ggufref_model_info fz_info;

/* ---- the BPE vocabularies --------------------------------------------------------------- */

#define FZ_N_PRE 8
static const char *const FZ_PRES[FZ_N_PRE] = {"gpt-2", "llama-bpe", "qwen2", "deepseek-llm",
                                              "deepseek-coder", "falcon", "starcoder", "default"};
static uint8_t *fz_bpe_bytes[FZ_N_PRE];
static ggufref_gguf *fz_bpe_gguf[FZ_N_PRE];
static ggufref_model *fz_bpe[FZ_N_PRE];
enum { FZ_BPE_CTL = 261, FZ_BPE_USER = 262, FZ_BPE_EOT = 263, FZ_BPE_N = 264 };
static const char *const FZ_BPE_EXTRA[] = {"ab", "\xc4\xa0t", "he", "\xc4\xa0the", "11",
                                           "<|ctl|>", "<u>", "<|eot|>"};
static const int32_t FZ_BPE_TYPES[] = {1, 1, 1, 1, 1, 3, 4, 3};
static const char *const FZ_BPE_MERGES[] = {"a b", "\xc4\xa0 t", "h e", "\xc4\xa0t he", "1 1"};

typedef struct fz_buf {
    uint8_t *p;
    size_t n, cap;
} fz_buf;

static void fz_put(fz_buf *b, const void *d, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = 2 * (b->n + n);
        b->p = realloc(b->p, b->cap);
        FZ_CHECK(b->p != NULL, "out of memory in the target");
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void fz_put_u32(fz_buf *b, uint32_t v) {
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    fz_put(b, x, 4);
}
static void fz_put_u64(fz_buf *b, uint64_t v) {
    fz_put_u32(b, (uint32_t)v);
    fz_put_u32(b, (uint32_t)(v >> 32));
}
static void fz_put_str(fz_buf *b, const char *s, size_t n) {
    fz_put_u64(b, n);
    fz_put(b, s, n);
}
static void fz_put_key(fz_buf *b, const char *k, uint32_t type) {
    fz_put_str(b, k, strlen(k));
    fz_put_u32(b, type);
}

/* The UTF-8 of byte v's character in GPT-2's alphabet (R-TOK-031). OUT: c; returns its length. */
static size_t fz_byte_char(unsigned v, char c[2]) {
    unsigned cp = v, k = 0;
#define FZ_SELF(x) (((x) >= 0x21 && (x) <= 0x7E) || ((x) >= 0xA1 && (x) <= 0xAC) || (x) >= 0xAE)
    if (!FZ_SELF(v)) {
        for (unsigned x = 0; x < v; x++) k += !FZ_SELF(x);
        cp = 256 + k;
    }
#undef FZ_SELF
    if (cp < 0x80) {
        c[0] = (char)cp;
        return 1;
    }
    c[0] = (char)(0xC0 | (cp >> 6));
    c[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

static void fz_build_bpe(int k) {
    fz_buf b = {0};
    fz_put(&b, "GGUF", 4);
    fz_put_u32(&b, 3);
    fz_put_u64(&b, 0); /* tensors */
    fz_put_u64(&b, 8); /* kvs */
    fz_put_key(&b, "general.architecture", 8);
    fz_put_str(&b, "llama", 5);
    fz_put_key(&b, "tokenizer.ggml.model", 8);
    fz_put_str(&b, "gpt2", 4);
    fz_put_key(&b, "tokenizer.ggml.pre", 8);
    fz_put_str(&b, FZ_PRES[k], strlen(FZ_PRES[k]));
    fz_put_key(&b, "tokenizer.ggml.tokens", 9);
    fz_put_u32(&b, 8);
    fz_put_u64(&b, FZ_BPE_N);
    for (unsigned i = 0; i < 256; i++) {
        char c[2];
        fz_put_str(&b, c, fz_byte_char(i, c));
    }
    for (size_t i = 0; i < FZ_BPE_N - 256; i++) fz_put_str(&b, FZ_BPE_EXTRA[i], strlen(FZ_BPE_EXTRA[i]));
    fz_put_key(&b, "tokenizer.ggml.token_type", 9);
    fz_put_u32(&b, 5);
    fz_put_u64(&b, FZ_BPE_N);
    for (size_t i = 0; i < FZ_BPE_N; i++) fz_put_u32(&b, i < 256 ? 1u : (uint32_t)FZ_BPE_TYPES[i - 256]);
    size_t nm = sizeof FZ_BPE_MERGES / sizeof FZ_BPE_MERGES[0];
    fz_put_key(&b, "tokenizer.ggml.merges", 9);
    fz_put_u32(&b, 8);
    fz_put_u64(&b, nm);
    for (size_t i = 0; i < nm; i++) fz_put_str(&b, FZ_BPE_MERGES[i], strlen(FZ_BPE_MERGES[i]));
    fz_put_key(&b, "tokenizer.ggml.bos_token_id", 4);
    fz_put_u32(&b, FZ_BPE_CTL);
    fz_put_key(&b, "tokenizer.ggml.eos_token_id", 4);
    fz_put_u32(&b, FZ_BPE_EOT);
    ggufref_error err;
    fz_bpe_bytes[k] = b.p;
    ggufref_status st = ggufref_gguf_open_memory(b.p, b.n, &fz_bpe_gguf[k], &err);
    FZ_CHECK(st == GGUFREF_OK, "BPE vocabulary %s: %s", FZ_PRES[k], err.message);
    st = ggufref_model_load_vocab(fz_bpe_gguf[k], &fz_bpe[k], &err);
    FZ_CHECK(st == GGUFREF_OK, "BPE vocabulary %s: %s", FZ_PRES[k], err.message);
}

/* The BPE properties of the header on one text. */
static void fz_check_bpe(int k, unsigned flags, size_t small_cap, const uint8_t *text, size_t len) {
    ggufref_model *m = fz_bpe[k];
    size_t need = 0;
    ggufref_status st = ggufref_tokenize_ex(m, (const char *)text, len, flags, NULL, 0, &need);
    FZ_CHECK(st == GGUFREF_OK || (st == GGUFREF_ERR_LIMIT_EXCEEDED && need > 0), "BPE count: %s",
             ggufref_status_name(st));
    int32_t *ids = malloc((need + 1) * sizeof *ids), *again = malloc((need + 1) * sizeof *again);
    FZ_CHECK(ids != NULL && again != NULL, "out of memory in the target");
    size_t n = 0, n2 = 0;
    st = ggufref_tokenize_ex(m, (const char *)text, len, flags, ids, need, &n);
    FZ_CHECK(st == GGUFREF_OK && n == need, "BPE encode %s: %s", FZ_PRES[k], ggufref_status_name(st));
    st = ggufref_tokenize_ex(m, (const char *)text, len, flags, again, need, &n2);
    FZ_CHECK(st == GGUFREF_OK && n2 == n && memcmp(ids, again, n * sizeof *ids) == 0,
             "BPE encode is not deterministic (%s)", FZ_PRES[k]);
    if (small_cap < n) {
        st = ggufref_tokenize_ex(m, (const char *)text, len, flags, again, small_cap, &n2);
        FZ_CHECK(st == GGUFREF_ERR_LIMIT_EXCEEDED && n2 == n &&
                     memcmp(ids, again, small_cap * sizeof *ids) == 0,
                 "BPE capacity %zu of %zu", small_cap, n);
    }
    size_t first = (flags & GGUFREF_TOKENIZE_ADD_BOS) ? 1 : 0, last = n;
    if (first) FZ_CHECK(n >= 1 && ids[0] == FZ_BPE_CTL, "BPE: BOS does not lead");
    if (flags & GGUFREF_TOKENIZE_ADD_EOS) {
        FZ_CHECK(n >= 1 + first && ids[n - 1] == FZ_BPE_EOT, "BPE: EOS does not end");
        last = n - 1;
    }
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        FZ_CHECK(ids[i] >= 0 && ids[i] < FZ_BPE_N, "BPE id %d", ids[i]);
        if (!(flags & GGUFREF_TOKENIZE_PARSE_SPECIAL) && i >= first && i < last) {
            FZ_CHECK(ids[i] != FZ_BPE_CTL && ids[i] != FZ_BPE_EOT, "BPE: CONTROL token from text");
        }
        total += ggufref_token_to_piece(m, -1, ids[i]).len;
    }
    if (!(flags & GGUFREF_TOKENIZE_PARSE_SPECIAL)) {
        FZ_CHECK(total == len, "BPE round trip (%s): %zu bytes back for %zu", FZ_PRES[k], total, len);
        size_t off = 0;
        for (size_t i = 0; i < n; i++) {
            ggufref_str p = ggufref_token_to_piece(m, -1, ids[i]);
            FZ_CHECK(p.len == 0 || memcmp(p.ptr, text + off, p.len) == 0,
                     "BPE round trip (%s): bytes differ at %zu", FZ_PRES[k], off);
            off += p.len;
        }
    }
    free(ids);
    free(again);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    ggufref_error err;
    ggufref_status st = ggufref_gguf_open_memory(fz_fixture_micro, fz_fixture_micro_size,
                                                 &fz_gguf, &err);
    FZ_CHECK(st == GGUFREF_OK, "fixture: %s", err.message);
    st = ggufref_model_load_vocab(fz_gguf, &fz_model, &err);
    FZ_CHECK(st == GGUFREF_OK, "fixture vocabulary: %s", err.message);
    ggufref_model_get_info(fz_model, &fz_info);
    FZ_CHECK(fz_info.bos_id >= 0, "fixture without BOS");
    for (int k = 0; k < FZ_N_PRE; k++) fz_build_bpe(k);
    return 0;
}

/* The text with every U+2581 (E2 96 81) replaced by ' ', optionally after one ' '.
 * OUT: returns a malloc'd buffer, *n its length. */
static char *expected_text(const uint8_t *text, size_t len, bool lead_space, size_t *n) {
    char *out = malloc(len + 2);
    FZ_CHECK(out != NULL, "out of memory in the target");
    size_t k = 0;
    if (lead_space) out[k++] = ' ';
    for (size_t i = 0; i < len; i++) {
        if (i + 2 < len && text[i] == 0xE2 && text[i + 1] == 0x96 && text[i + 2] == 0x81) {
            out[k++] = ' ';
            i += 2;
        } else {
            out[k++] = (char)text[i];
        }
    }
    *n = k;
    return out;
}

/* Concatenate the pieces of ids (each given the id before it). OUT: malloc'd bytes, *n. */
static char *decode(const int32_t *ids, size_t n_ids, size_t *n) {
    size_t total = 0;
    for (size_t i = 0; i < n_ids; i++) {
        total += ggufref_token_to_piece(fz_model, i ? ids[i - 1] : -1, ids[i]).len;
    }
    char *out = malloc(total + 1);
    FZ_CHECK(out != NULL, "out of memory in the target");
    size_t k = 0;
    for (size_t i = 0; i < n_ids; i++) {
        ggufref_str p = ggufref_token_to_piece(fz_model, i ? ids[i - 1] : -1, ids[i]);
        if (p.len > 0) memcpy(out + k, p.ptr, p.len);
        k += p.len;
    }
    *n = k;
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_bytes in = fz_bytes_make(data, size);
    uint8_t flags = fz_u8(&in);
    bool add_bos = (flags & 1u) != 0;
    size_t small_cap = flags >> 1;
    int32_t any_prev = (int32_t)fz_u32(&in), any_token = (int32_t)fz_u32(&in);
    size_t len;
    const uint8_t *text = fz_rest(&in, &len);

    ggufref_str any = ggufref_token_to_piece(fz_model, any_prev, any_token);
    if (any_token < 0 || (uint32_t)any_token >= fz_info.n_vocab) {
        FZ_CHECK(any.len == 0, "piece of out-of-range token %d", any_token);
    }
    fz_consume(fz_touch_bytes(any.ptr, any.len));

    /* Count, then encode into an exact-size buffer, then again for determinism. */
    size_t need = 0;
    ggufref_status st = ggufref_tokenize(fz_model, (const char *)text, len, add_bos, NULL, 0, &need);
    FZ_CHECK(st == GGUFREF_OK || (st == GGUFREF_ERR_LIMIT_EXCEEDED && need > 0),
             "count: %s (need %zu)", ggufref_status_name(st), need);
    int32_t *ids = malloc((need + 1) * sizeof *ids);
    int32_t *again = malloc((need + 1) * sizeof *again);
    FZ_CHECK(ids != NULL && again != NULL, "out of memory in the target");
    size_t n = 0, n2 = 0;
    st = ggufref_tokenize(fz_model, (const char *)text, len, add_bos, ids, need, &n);
    FZ_CHECK(st == GGUFREF_OK && n == need, "encode: %s, %zu of %zu", ggufref_status_name(st),
             n, need);
    st = ggufref_tokenize(fz_model, (const char *)text, len, add_bos, again, need, &n2);
    FZ_CHECK(st == GGUFREF_OK && n2 == n && memcmp(ids, again, n * sizeof *ids) == 0,
             "encode is not deterministic");
    if (small_cap < n) {
        size_t n3 = 0;
        st = ggufref_tokenize(fz_model, (const char *)text, len, add_bos, again, small_cap, &n3);
        FZ_CHECK(st == GGUFREF_ERR_LIMIT_EXCEEDED && n3 == n &&
                     memcmp(ids, again, small_cap * sizeof *ids) == 0,
                 "capacity %zu of %zu: %s, n %zu", small_cap, n, ggufref_status_name(st), n3);
    }

    size_t first = 0;
    if (add_bos) {
        FZ_CHECK(n >= 1 && ids[0] == fz_info.bos_id, "BOS does not lead");
        first = 1;
    }
    for (size_t i = 0; i < n; i++) {
        FZ_CHECK(ids[i] >= 0 && (uint32_t)ids[i] < fz_info.n_vocab, "id %d", ids[i]);
        if (i >= first) {
            FZ_CHECK(ids[i] != fz_info.bos_id && ids[i] != fz_info.eos_id,
                     "control token %d from text at %zu", ids[i], i);
        }
    }
    FZ_CHECK(len > 0 || n == first, "empty text gave %zu tokens", n);

    size_t n_got, n_want;
    char *got = decode(ids, n, &n_got);
    char *want = expected_text(text, len, !add_bos && len > 0, &n_want);
    FZ_CHECK(n_got == n_want && memcmp(got, want, n_got) == 0,
             "round trip: %zu bytes back for %zu expected (add_bos %d)", n_got, n_want,
             (int)add_bos);
    free(got);
    free(want);
    free(ids);
    free(again);

    /* BPE: the (prev) word picks the pre-tokenizer, the token word's low bits the flags. */
    fz_check_bpe((int)((uint32_t)any_prev % FZ_N_PRE), (uint32_t)any_token & 7u, small_cap, text, len);
    return 0;
}
