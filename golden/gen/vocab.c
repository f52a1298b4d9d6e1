/*
 * vocab.c — SentencePiece ("llama") vocabularies with byte fallback.
 *
 *   id      piece                    type      score
 *   0       <unk>                    2 UNKNOWN 0
 *   1       <s>                      3 CONTROL 0
 *   2       </s>                     3 CONTROL 0
 *   3..258  <0x00> .. <0xFF>         6 BYTE    0
 *   259..   normal pieces            1 NORMAL  len - i/65536
 *
 * Normal pieces use U+2581 ("▁", bytes E2 96 81) for a space. Their score is the piece's
 * length in code points minus i/65536 (i = index among the normal pieces): longer pieces score
 * higher, so SentencePiece's score-priority merges build them, and no two scores tie. Every
 * multi-character piece is reachable by merges: the generator adds all its prefixes too.
 *
 * VOCAB_TINY: single characters, then common English words (with "▁") and suffixes.
 * VOCAB_SYNTH32000: the tiny pieces, then every string of "▁a..z" then a..z of length 2 and 3,
 * then of length 4 in order until the vocabulary has 32000 tokens (llama-2's size).
 */
#include "gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SP "\xE2\x96\x81" /* U+2581, SentencePiece's space */

/* Single characters: lower case, a few capitals, common punctuation, one 2-byte letter.
 * Other capitals, digits and the rest of Unicode are left to byte fallback on purpose. */
/* Single characters: lower case, a few capitals, common punctuation, one 2-byte letter.
 * Other capitals, digits and the rest of Unicode are left to byte fallback on purpose. */
static const char *const tiny_chars[] = {
    SP,  "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q",
    "r", "s", "t", "u", "v", "w", "x", "y", "z", "I", "L", "O", "T", ".", ",", "!", "?", "'",
    "\"", "\xC3\xA9" /* é */,
};

/* Words, each added with all its prefixes. */
static const char *const tiny_words[] = {
    SP "the", SP "and", SP "was", SP "to", SP "he", SP "she", SP "it", SP "in", SP "of",
    SP "a", SP "is", SP "you", SP "that", SP "day", SP "time", SP "Once", SP "upon",
    SP "there", SP "little", SP "girl", SP "Lily", SP "caf\xC3\xA9", "ing", "ed", "er", "ly",
};

static size_t utf8_len(const char *s) {
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0u) != 0x80u;
    return n;
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (!p) gen_die("out of memory");
    memcpy(p, s, n);
    return p;
}

static void push(gen_vocab *v, size_t cap, const char *text, int32_t type, float score) {
    if (v->n == cap) gen_die("vocabulary over %zu tokens", cap);
    v->text[v->n] = dup_str(text);
    v->type[v->n] = type;
    v->score[v->n] = score;
    v->n++;
}

/* True if text is already a piece at an index in [from, to). */
static bool has_piece(const gen_vocab *v, size_t from, size_t to, const char *text) {
    for (size_t i = from; i < to; i++)
        if (strcmp(v->text[i], text) == 0) return true;
    return false;
}

/* Add a normal piece unless present; its score follows the header's rule. */
static void push_normal(gen_vocab *v, size_t cap, size_t first_normal, const char *text) {
    size_t i = v->n - first_normal;
    if (i >= 65536) gen_die("too many normal pieces");
    float score = (float)((int32_t)utf8_len(text) * 65536 - (int32_t)i) / 65536.0f; /* exact */
    push(v, cap, text, TOK_NORMAL, score);
}

/* Add text and all its prefixes that end on a character boundary, shortest first. */
static void push_with_prefixes(gen_vocab *v, size_t cap, size_t first, const char *text) {
    char buf[64];
    size_t n = strlen(text);
    if (n >= sizeof buf) gen_die("piece too long");
    for (size_t len = 1; len <= n; len++) {
        if (len < n && ((unsigned char)text[len] & 0xC0u) == 0x80u) continue; /* mid-char */
        memcpy(buf, text, len);
        buf[len] = '\0';
        if (!has_piece(v, first, v->n, buf)) push_normal(v, cap, first, buf);
    }
}

/* Append every string first+rest (rest over a..z, n_rest letters) in order, skipping pieces
 * already present among the first n_tiny normal pieces, until the vocabulary holds cap. */
static void push_synthetic(gen_vocab *v, size_t cap, size_t first, size_t n_tiny, int n_rest) {
    static const char *const firsts[] = {
        SP, "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p",
        "q", "r", "s", "t", "u", "v", "w", "x", "y", "z",
    };
    char buf[16];
    long combos = 1;
    for (int i = 0; i < n_rest; i++) combos *= 26;
    for (size_t f = 0; f < sizeof firsts / sizeof firsts[0]; f++) {
        for (long c = 0; c < combos; c++) {
            if (v->n == cap) return;
            size_t len = strlen(firsts[f]);
            memcpy(buf, firsts[f], len);
            long x = c;
            for (int i = n_rest - 1; i >= 0; i--, x /= 26) buf[len + (size_t)i] = (char)('a' + x % 26);
            buf[len + (size_t)n_rest] = '\0';
            if (!has_piece(v, first, first + n_tiny, buf)) push_normal(v, cap, first, buf);
        }
    }
}

/* ---- the tiny byte-level BPE vocabulary (VOCAB_BPE_TINY, SPEC 5.2) -----------------------
 *
 *   id      token                              type       merges
 *   0..255  the character of byte i in GPT-2's alphabet (0x20 " " is "Ġ" U+0120)   NORMAL
 *   256..   every prefix of the words below, in that alphabet, each made by merging the
 *           previous prefix with the next character ("Ġ t", "Ġt h", "Ġth e", ...)  NORMAL
 *   last 2  "<|begin_of_text|>" (BOS), "<|end_of_text|>" (EOS)            CONTROL
 */
static const char *const bpe_words[] = {
    " the", " and", " was", " to", " he", " she", " it", " in", " of", " a", " is", " you",
    " that", " day", " time", "Once", " upon", " there", " little", " girl", " Lily",
    " caf\xC3\xA9", "ing", "ed", "er", "ly", "ll", ", ", ".\n",
};

/* UTF-8 of byte b's character in GPT-2's alphabet into out (NUL-terminated). */
static void bpe_char(unsigned b, char out[3]) {
#define SELF(x) (((x) >= 0x21 && (x) <= 0x7E) || ((x) >= 0xA1 && (x) <= 0xAC) || (x) >= 0xAE)
    unsigned cp = b, k = 0;
    if (!SELF(b)) {
        for (unsigned x = 0; x < b; x++) k += !SELF(x);
        cp = 256 + k;
    }
#undef SELF
    if (cp < 0x80) {
        out[0] = (char)cp;
        out[1] = '\0';
    } else {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        out[2] = '\0';
    }
}

static int find_piece(const gen_vocab *v, const char *text) {
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->text[i], text) == 0) return (int)i;
    return -1;
}

static void bpe_build(gen_vocab *v, size_t cap) {
    v->merges = calloc(cap, sizeof *v->merges);
    if (!v->merges) gen_die("out of memory");
    for (unsigned b = 0; b < 256; b++) {
        char c[3];
        bpe_char(b, c);
        push(v, cap, c, TOK_NORMAL, 0.0f);
    }
    for (size_t w = 0; w < sizeof bpe_words / sizeof bpe_words[0]; w++) {
        char prefix[64] = "", merge[80];
        for (const unsigned char *p = (const unsigned char *)bpe_words[w]; *p; p++) {
            char c[3];
            bpe_char(*p, c);
            if (strlen(prefix) + strlen(c) >= sizeof prefix) gen_die("bpe word too long");
            if (prefix[0] != '\0') {
                snprintf(merge, sizeof merge, "%s %s", prefix, c);
                strcat(prefix, c);
                if (find_piece(v, prefix) < 0) {
                    push(v, cap, prefix, TOK_NORMAL, 0.0f);
                    if (v->n_merges == cap) gen_die("too many merges");
                    v->merges[v->n_merges++] = dup_str(merge);
                }
            } else {
                strcat(prefix, c);
            }
        }
    }
    v->bos = (uint32_t)v->n;
    push(v, cap, "<|begin_of_text|>", TOK_CONTROL, 0.0f);
    v->eos = (uint32_t)v->n;
    push(v, cap, "<|end_of_text|>", TOK_CONTROL, 0.0f);
}

void vocab_build(gen_vocab *v, int kind) {
    size_t cap = kind == VOCAB_SYNTH32000 ? 32000 : 1024;
    v->text = calloc(cap, sizeof *v->text);
    v->score = calloc(cap, sizeof *v->score);
    v->type = calloc(cap, sizeof *v->type);
    v->n = 0;
    v->merges = NULL;
    v->n_merges = 0;
    v->bos = VOCAB_BOS;
    v->eos = VOCAB_EOS;
    if (!v->text || !v->score || !v->type) gen_die("out of memory");
    if (kind == VOCAB_BPE_TINY) {
        bpe_build(v, cap);
        return;
    }

    push(v, cap, "<unk>", TOK_UNKNOWN, 0.0f);
    push(v, cap, "<s>", TOK_CONTROL, 0.0f);
    push(v, cap, "</s>", TOK_CONTROL, 0.0f);
    for (int b = 0; b < 256; b++) {
        char piece[8];
        snprintf(piece, sizeof piece, "<0x%02X>", b);
        push(v, cap, piece, TOK_BYTE, 0.0f);
    }
    size_t first = v->n;
    for (size_t i = 0; i < sizeof tiny_chars / sizeof tiny_chars[0]; i++)
        push_normal(v, cap, first, tiny_chars[i]);
    for (size_t i = 0; i < sizeof tiny_words / sizeof tiny_words[0]; i++)
        push_with_prefixes(v, cap, first, tiny_words[i]);
    if (kind == VOCAB_SYNTH32000) {
        size_t n_tiny = v->n - first;
        for (int n_rest = 1; v->n < cap; n_rest++) push_synthetic(v, cap, first, n_tiny, n_rest);
    }
}

void vocab_free(gen_vocab *v) {
    for (size_t i = 0; i < v->n; i++) free(v->text[i]);
    for (size_t i = 0; i < v->n_merges; i++) free(v->merges[i]);
    free(v->merges);
    free(v->text);
    free(v->score);
    free(v->type);
    memset(v, 0, sizeof *v);
}
