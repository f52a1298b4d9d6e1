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
 */
#include "fixtures.h"
#include "fuzz.h"

static ggufref_gguf *fz_gguf;
static ggufref_model *fz_model;
static ggufref_model_info fz_info;

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
    return 0;
}
