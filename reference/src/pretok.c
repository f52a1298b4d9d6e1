/*
 * pretok.c — hand-written pre-tokenizers of byte-level BPE vocabularies (pretok.h, SPEC
 * R-TOK-031..033). Each stage below is one regular expression of llama.cpp's lists, matched at
 * one position the way a backtracking engine would (leftmost alternative first, greedy), but
 * computed directly: the only "backtracking" those expressions need is `\s+(?!\S)` (a run of
 * whitespace gives back its last character when a non-space follows) and `\s*[\r\n]+` (the run
 * up to its last CR or LF), both read off one scan of the run.
 *
 * Classes: \p{L} letters (Lu Ll Lt Lm Lo), \p{N} numbers (Nd Nl No), \p{P} punctuation (Pc Pd
 * Ps Pe Pi Pf Po), \s White_Space (unicode.h). A byte that starts no well-formed UTF-8 sequence
 * is a character of its own in none of these classes.
 */
#include "pretok.h"

#include "unicode.h"

#include <string.h>

typedef enum gr_stage {
    /* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S) */
    GR_STAGE_GPT2,
    /* (?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|
     * \p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ */
    GR_STAGE_LLAMA3,
    /* the same with \p{N} for \p{N}{1,3} */
    GR_STAGE_QWEN2,
    GR_STAGE_CRLF,            /* [\r\n] */
    GR_STAGE_DSL_LETTERS,     /* \s?[A-Za-zµÀ-ÖØ-ö ... 𞤀-𞥃]+ (cased letters, dsl_letters) */
    GR_STAGE_DSL_PUNCT,       /* \s?[!-/:-~！-／：-～‘-‟　-。]+ */
    GR_STAGE_SPACE_AT_END,    /* \s+$ */
    GR_STAGE_CJK,             /* [一-龥ࠀ-一가-퟿]+ */
    GR_STAGE_NUMBERS,         /* \p{N}+ */
    GR_STAGE_NUMBER,          /* \p{N} */
    GR_STAGE_SPACE_LETTERS,   /* \s?\p{L}+ */
    GR_STAGE_SPACE_PUNCT,     /* \s?\p{P}+ */
    GR_STAGE_PUNCT_FALCON,    /* [\p{P}\$\+<=>\^~\|`]+ */
    GR_STAGE_PUNCT_DEFAULT,   /* [\p{P}\$\+<=>\^~\|]+ */
    GR_STAGE_DIGITS3,         /* [0-9][0-9][0-9] */
    GR_STAGE_END
} gr_stage;

#define GR_MAX_STAGES 6

/* The stages of each pre-tokenizer, in llama.cpp's order (llm_tokenizer_bpe). */
static const uint8_t STAGES[][GR_MAX_STAGES + 1] = {
    [GR_PRE_DEFAULT] = {GR_STAGE_PUNCT_DEFAULT, GR_STAGE_GPT2, GR_STAGE_NUMBERS, GR_STAGE_DIGITS3,
                        GR_STAGE_END},
    [GR_PRE_GPT2] = {GR_STAGE_GPT2, GR_STAGE_END},
    [GR_PRE_LLAMA3] = {GR_STAGE_LLAMA3, GR_STAGE_END},
    [GR_PRE_QWEN2] = {GR_STAGE_QWEN2, GR_STAGE_END},
    [GR_PRE_DEEPSEEK_LLM] = {GR_STAGE_CRLF, GR_STAGE_DSL_LETTERS, GR_STAGE_DSL_PUNCT,
                             GR_STAGE_SPACE_AT_END, GR_STAGE_CJK, GR_STAGE_NUMBERS, GR_STAGE_END},
    [GR_PRE_DEEPSEEK_CODER] = {GR_STAGE_CRLF, GR_STAGE_SPACE_LETTERS, GR_STAGE_SPACE_PUNCT,
                               GR_STAGE_CJK, GR_STAGE_NUMBER, GR_STAGE_END},
    [GR_PRE_FALCON] = {GR_STAGE_PUNCT_FALCON, GR_STAGE_GPT2, GR_STAGE_DIGITS3, GR_STAGE_END},
    [GR_PRE_STARCODER] = {GR_STAGE_NUMBER, GR_STAGE_GPT2, GR_STAGE_END},
};

static const struct {
    const char *name;
    gr_pretok_kind kind;
    bool ignore_merges;
} NAMES[] = {
    {"default", GR_PRE_DEFAULT, false},
    {"gpt-2", GR_PRE_GPT2, false},
    {"mpt", GR_PRE_GPT2, false},
    {"llama-bpe", GR_PRE_LLAMA3, true},
    {"llama3", GR_PRE_LLAMA3, true},
    {"llama-v3", GR_PRE_LLAMA3, true},
    {"falcon3", GR_PRE_LLAMA3, true},
    {"dbrx", GR_PRE_LLAMA3, false},
    {"smaug-bpe", GR_PRE_LLAMA3, false},
    {"qwen2", GR_PRE_QWEN2, false},
    {"deepseek-r1-qwen", GR_PRE_QWEN2, false},
    {"deepseek-llm", GR_PRE_DEEPSEEK_LLM, false},
    {"deepseek-coder", GR_PRE_DEEPSEEK_CODER, false},
    {"falcon", GR_PRE_FALCON, false},
    {"starcoder", GR_PRE_STARCODER, false},
    {"refact", GR_PRE_STARCODER, false},
    {"smollm", GR_PRE_STARCODER, false},
};

bool gr_pretok_lookup(const char *name, size_t n, gr_pretok_kind *kind, bool *ignore_merges) {
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) {
        if (strlen(NAMES[i].name) == n && memcmp(NAMES[i].name, name, n) == 0) {
            *kind = NAMES[i].kind;
            *ignore_merges = NAMES[i].ignore_merges;
            return true;
        }
    }
    return false;
}

/* ---- character sets -------------------------------------------------------------------- */

typedef struct gr_range {
    uint32_t lo, hi;
} gr_range;

/* deepseek-llm's letter class, sorted (the ranges of llama.cpp's expression, which are the
 * cased letters of an older Unicode). */
static const gr_range DSL_LETTERS[] = {
    {0x0041, 0x005A}, {0x0061, 0x007A}, {0x00B5, 0x00B5}, {0x00C0, 0x00D6}, {0x00D8, 0x00F6},
    {0x00F8, 0x01BA}, {0x01BC, 0x01BF}, {0x01C4, 0x0293}, {0x0295, 0x02AF}, {0x0370, 0x0373},
    {0x0376, 0x0377}, {0x037B, 0x037D}, {0x037F, 0x037F}, {0x0386, 0x0386}, {0x0388, 0x038A},
    {0x038C, 0x038C}, {0x038E, 0x03A1}, {0x03A3, 0x03F5}, {0x03F7, 0x0481}, {0x048A, 0x052F},
    {0x0531, 0x0556}, {0x10A0, 0x10C5}, {0x13A0, 0x13F5}, {0x13F8, 0x13FD}, {0x1C90, 0x1CBA},
    {0x1CBD, 0x1CBF}, {0x1D00, 0x1D2B}, {0x1D6B, 0x1D77}, {0x1D79, 0x1D9A}, {0x1E00, 0x1F15},
    {0x1F18, 0x1F1D}, {0x1F20, 0x1F45}, {0x1F48, 0x1F4D}, {0x1F50, 0x1F57}, {0x1F59, 0x1F59},
    {0x1F5B, 0x1F5B}, {0x1F5D, 0x1F5D}, {0x1F5F, 0x1F7D}, {0x1F80, 0x1FB4}, {0x1FB6, 0x1FBC},
    {0x1FBE, 0x1FBE}, {0x1FC2, 0x1FC4}, {0x1FC6, 0x1FCC}, {0x1FD0, 0x1FD3}, {0x1FD6, 0x1FDB},
    {0x1FE0, 0x1FEC}, {0x1FF2, 0x1FF4}, {0x1FF6, 0x1FFC}, {0x2102, 0x2102}, {0x2107, 0x2107},
    {0x210A, 0x2113}, {0x2115, 0x2115}, {0x2119, 0x211D}, {0x2124, 0x2124}, {0x2126, 0x2126},
    {0x2128, 0x2128}, {0x212A, 0x212D}, {0x212F, 0x2134}, {0x2139, 0x2139}, {0x213C, 0x213F},
    {0x2145, 0x2149}, {0x214E, 0x214E}, {0x2183, 0x2184}, {0x2C00, 0x2C7B}, {0x2C7E, 0x2CE4},
    {0x2CEB, 0x2CEE}, {0x2CF2, 0x2CF3}, {0xA640, 0xA66D}, {0xA680, 0xA69B}, {0xA722, 0xA76F},
    {0xA771, 0xA787}, {0xA78B, 0xA78E}, {0xAB70, 0xABBF}, {0xFB00, 0xFB06}, {0xFB13, 0xFB17},
    {0xFF21, 0xFF3A}, {0xFF41, 0xFF5A}, {0x10400, 0x1044F}, {0x104B0, 0x104D3},
    {0x104D8, 0x104FB}, {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF},
    {0x1E900, 0x1E943},
};

static const gr_range DSL_PUNCT[] = {
    {0x0021, 0x002F}, {0x003A, 0x007E}, {0x2018, 0x201F}, {0x3000, 0x3002},
    {0xFF01, 0xFF0F}, {0xFF1A, 0xFF5E},
};

static const gr_range CJK[] = {{0x0800, 0x9FA5}, {0xAC00, 0xD7FF}};

static bool in_ranges(const gr_range *r, size_t n, uint32_t c) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c < r[mid].lo) hi = mid;
        else if (c > r[mid].hi) lo = mid + 1;
        else return true;
    }
    return false;
}
#define IN(set, c) in_ranges(set, sizeof set / sizeof set[0], c)

/* ---- one fragment ------------------------------------------------------------------------ */

/* The characters [.., end) of the fragment being split, and a stage's memory within it. */
typedef struct gr_frag {
    const uint32_t *cp;
    const uint8_t *pr;
    size_t end;
    size_t no_match_below; /* GR_STAGE_SPACE_AT_END: no match starts before this position */
    size_t *probes;        /* characters looked at, for the linearity check (R-TOK-033) */
} gr_frag;

static bool is_l(const gr_frag *f, size_t i) { ++*f->probes; return i < f->end && gr_uc_is_letter(f->pr[i]); }
static bool is_n(const gr_frag *f, size_t i) { ++*f->probes; return i < f->end && gr_uc_is_number(f->pr[i]); }
static bool is_s(const gr_frag *f, size_t i) { ++*f->probes; return i < f->end && gr_uc_is_space(f->pr[i]); }
static bool is_p(const gr_frag *f, size_t i) { ++*f->probes; return i < f->end && gr_uc_is_punct(f->pr[i]); }
/* [^\s\p{L}\p{N}]: any character inside the fragment in none of the three classes. */
static bool is_other(const gr_frag *f, size_t i) {
    ++*f->probes;
    return i < f->end && !gr_uc_is_space(f->pr[i]) && !gr_uc_is_letter(f->pr[i]) &&
           !gr_uc_is_number(f->pr[i]);
}
static uint32_t cp_at(const gr_frag *f, size_t i) { ++*f->probes; return i < f->end ? f->cp[i] : UINT32_MAX; }
static bool is_crlf(const gr_frag *f, size_t i) {
    uint32_t c = cp_at(f, i);
    return c == '\r' || c == '\n';
}
static uint32_t ascii_lower(uint32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* Length of the contraction 's 't 're 've 'm 'll 'd at i (case-insensitive when fold), or 0. */
static size_t contraction(const gr_frag *f, size_t i, bool fold) {
    if (cp_at(f, i) != '\'') return 0;
    uint32_t a = cp_at(f, i + 1), b = cp_at(f, i + 2);
    if (fold) {
        a = ascii_lower(a);
        b = ascii_lower(b);
    }
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    return 0;
}

/* End of the run of whitespace starting at i (i itself if none). OUT: *last_crlf = one past
 * the last CR or LF of the run, 0 if it has none. */
static size_t space_run(const gr_frag *f, size_t i, size_t *last_crlf) {
    *last_crlf = 0;
    while (is_s(f, i)) {
        if (is_crlf(f, i)) *last_crlf = i + 1;
        i++;
    }
    return i;
}

/* `\s+(?!\S)|\s+` at i: the whitespace run, less its last character when a non-space follows
 * and the run has more than one. 0 if i is not whitespace. */
static size_t space_tail(const gr_frag *f, size_t i, size_t run_end) {
    size_t k = run_end - i;
    if (k > 1 && run_end < f->end) return k - 1;
    return k;
}

/* GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S) */
static size_t match_gpt2(const gr_frag *f, size_t i) {
    size_t n = contraction(f, i, false);
    if (n > 0) return n;
    size_t j = cp_at(f, i) == ' ' ? i + 1 : i; /* the optional leading space */
    if (is_l(f, j)) {
        while (is_l(f, j)) j++;
        return j - i;
    }
    if (is_n(f, j)) {
        while (is_n(f, j)) j++;
        return j - i;
    }
    if (is_other(f, j)) {
        while (is_other(f, j)) j++;
        return j - i;
    }
    size_t crlf, end = space_run(f, i, &crlf);
    return space_tail(f, i, end); /* \s+(?!\S), and the lone space llama.cpp's \s+ takes */
}

/* Llama 3 (max_digits 3) and Qwen2 (max_digits 1). */
static size_t match_llama3(const gr_frag *f, size_t i, size_t max_digits) {
    size_t n = contraction(f, i, true);
    if (n > 0) return n;
    /* [^\r\n\p{L}\p{N}]?\p{L}+ */
    if (!is_crlf(f, i) && !is_n(f, i) && (is_l(f, i) || is_l(f, i + 1))) {
        size_t j = i + 1;
        while (is_l(f, j)) j++;
        return j - i;
    }
    /* \p{N}{1,3} */
    if (is_n(f, i)) {
        size_t j = i;
        while (j - i < max_digits && is_n(f, j)) j++;
        return j - i;
    }
    /*  ?[^\s\p{L}\p{N}]+[\r\n]* */
    size_t j = cp_at(f, i) == ' ' ? i + 1 : i;
    if (is_other(f, j)) {
        while (is_other(f, j)) j++;
        while (is_crlf(f, j)) j++;
        return j - i;
    }
    /* \s*[\r\n]+ | \s+(?!\S) | \s+ */
    size_t crlf, end = space_run(f, i, &crlf);
    if (crlf > 0) return crlf - i;
    return space_tail(f, i, end);
}

static size_t run_of(const gr_frag *f, size_t i, const gr_range *set, size_t n_set) {
    size_t j = i;
    while (++*f->probes, j < f->end && in_ranges(set, n_set, f->cp[j])) j++;
    return j - i;
}

/* \s?X+ for a class X given as a predicate (letters, punctuation) or a set of ranges. */
static size_t space_opt_run(const gr_frag *f, size_t i, bool (*in)(const gr_frag *, size_t)) {
    if (in(f, i)) {
        size_t j = i;
        while (in(f, j)) j++;
        return j - i;
    }
    if (is_s(f, i) && in(f, i + 1)) {
        size_t j = i + 1;
        while (in(f, j)) j++;
        return j - i;
    }
    return 0;
}
static bool in_dsl_letters(const gr_frag *f, size_t i) { ++*f->probes; return i < f->end && IN(DSL_LETTERS, f->cp[i]); }
static bool in_dsl_punct(const gr_frag *f, size_t i) { ++*f->probes; return i < f->end && IN(DSL_PUNCT, f->cp[i]); }

/* [\p{P}\$\+<=>\^~\|`]+ (with_backquote) or [\p{P}\$\+<=>\^~\|]+ */
static bool is_falcon_punct(const gr_frag *f, size_t i, bool with_backquote) {
    ++*f->probes;
    if (i >= f->end) return false;
    uint32_t c = f->cp[i];
    return gr_uc_is_punct(f->pr[i]) || c == '$' || c == '+' || c == '<' || c == '=' || c == '>' ||
           c == '^' || c == '~' || c == '|' || (with_backquote && c == '`');
}

static bool is_digit(const gr_frag *f, size_t i) {
    uint32_t c = cp_at(f, i);
    return c >= '0' && c <= '9';
}

/* Length of the stage's match at i in f (0: none starts at i). */
static size_t match(gr_stage s, gr_frag *f, size_t i) {
    size_t j = i;
    switch (s) {
    case GR_STAGE_GPT2:
        return match_gpt2(f, i);
    case GR_STAGE_LLAMA3:
        return match_llama3(f, i, 3);
    case GR_STAGE_QWEN2:
        return match_llama3(f, i, 1);
    case GR_STAGE_CRLF:
        return is_crlf(f, i) ? 1 : 0;
    case GR_STAGE_DSL_LETTERS:
        return space_opt_run(f, i, in_dsl_letters);
    case GR_STAGE_DSL_PUNCT:
        return space_opt_run(f, i, in_dsl_punct);
    case GR_STAGE_SPACE_AT_END:
        /* \s+$: the whitespace from i must reach the end of the fragment; a run that stops
         * before it rules out every start inside it (so each character is scanned once). */
        if (i < f->no_match_below || !is_s(f, i)) return 0;
        while (is_s(f, j)) j++;
        if (j == f->end) return j - i;
        f->no_match_below = j;
        return 0;
    case GR_STAGE_CJK:
        return run_of(f, i, CJK, sizeof CJK / sizeof CJK[0]);
    case GR_STAGE_NUMBERS:
        while (is_n(f, j)) j++;
        return j - i;
    case GR_STAGE_NUMBER:
        return is_n(f, i) ? 1 : 0;
    case GR_STAGE_SPACE_LETTERS:
        return space_opt_run(f, i, is_l);
    case GR_STAGE_SPACE_PUNCT:
        return space_opt_run(f, i, is_p);
    case GR_STAGE_PUNCT_FALCON:
    case GR_STAGE_PUNCT_DEFAULT:
        while (is_falcon_punct(f, j, s == GR_STAGE_PUNCT_FALCON)) j++;
        return j - i;
    case GR_STAGE_DIGITS3:
        return is_digit(f, i) && is_digit(f, i + 1) && is_digit(f, i + 2) ? 3 : 0;
    case GR_STAGE_END:
        break;
    }
    return 0;
}

size_t gr_pretok_split(gr_pretok_kind kind, const uint32_t *cp, const uint8_t *props, size_t n,
                       uint8_t *brk) {
    size_t probes = 0;
    memset(brk, 0, n + 1);
    brk[0] = 1;
    brk[n] = 1;
    for (const uint8_t *s = STAGES[kind]; *s != GR_STAGE_END; s++) {
        for (size_t a = 0; a < n;) {
            size_t b = a + 1;
            while (!brk[b]) b++; /* the fragment [a, b) of the previous stage */
            gr_frag f = {cp, props, b, 0, &probes};
            for (size_t i = a; i < b;) {
                size_t m = match((gr_stage)*s, &f, i);
                if (m == 0) {
                    i++; /* part of the run between matches */
                    continue;
                }
                brk[i] = 1;
                brk[i + m] = 1;
                i += m;
            }
            a = b;
        }
    }
    return probes;
}
