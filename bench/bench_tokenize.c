/*
 * bench_tokenize.c — encode throughput: SentencePiece (SPEC R-TOK-013: O(n log n) per text) and
 * byte-level BPE (SPEC 5.2).
 *
 * Vocabulary: ../shared/material/llama.cpp-vocab/ggml-vocab-llama-spm.gguf (LLaMA-2, 32000
 * tokens) or the file given as the first argument. Texts, each about 1 MiB:
 *   prose    the five stories260K golden texts plus the llama.cpp test strings, repeated
 *            (English with some Unicode, byte fallback and whitespace runs);
 *   words    space-free letters "aaaa...": one symbol run where every pair merges (the
 *            heap's worst case for stale entries);
 *   bytes    pseudo-random bytes (mostly ill-formed UTF-8: byte fallback everywhere).
 * For each, the median of RUNS encodes: tokens/s, MiB/s and tokens per text; then the same
 * prose text at 1/256 (4 KiB, a long prompt), 1/64, 1/16, 1/4 and 1x length, to show the cost
 * grows like n log n, not n^2.
 *
 * Usage: bench_tokenize [VOCAB.gguf [RUNS [MIXED_OUT]]]   (default RUNS 7)
 *
 * With a byte-level BPE vocabulary (tokenizer.ggml.model = gpt2, SPEC 5.2) it also measures:
 *   load     open + tokenizer init of the vocabulary, median of RUNS loads (Llama 3: < 50 ms);
 *   mixed    ~1 MiB of prose (the material's texts and test strings), C code (this project's
 *            reference/src, $GGUFREF_SOURCE_DIR or .) and CJK (a fixed Chinese/Japanese passage)
 *            in 4 KiB / 4 KiB / 1 KiB turns; written to MIXED_OUT when given, so that
 *            bench/bench_tokenize_llamacpp.mjs tokenizes the same bytes with llama.cpp
 *            (bench/bench_bpe_side_by_side.sh runs both, interleaved);
 *   1 MiB runs of one class (letters, digits, spaces, newlines, punctuation, CJK, ill-formed
 *            bytes): the worst cases of R-TOK-033 (one piece of 1 MiB for letters).
 */
#define _POSIX_C_SOURCE 200809L

#include "bench_util.h"
#include "ggufref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_BYTES (1u << 20)

/* Append the whole file at path to buf (up to cap bytes); returns the new length. */
static size_t append_file(const char *path, char *buf, size_t len, size_t cap) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return len;
    len += fread(buf + len, 1, cap - len, f);
    fclose(f);
    return len;
}

/* ~TEXT_BYTES of prose: the material texts repeated. */
static size_t make_prose(const char *shared, char *buf) {
    static const char *files[] = {
        "goldens/stories260K_greedy_n200_noprompt.txt",
        "goldens/stories260K_t1_p1_s42_n200_noprompt.txt",
        "goldens/stories260K_t1_p095_s42_n200_noprompt.txt",
        "goldens/stories260K_t1_p095_s42_n200_prompt_There_was_a_big.txt",
        "llama.cpp-vocab/ggml-vocab-llama-spm.gguf.inp",
    };
    char seed[16384];
    size_t n = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/material/%s", shared, files[i]);
        n = append_file(path, seed, n, sizeof seed);
    }
    if (n == 0) {
        static const char fallback[] = "Once upon a time, there was a little girl named Lily. ";
        n = sizeof fallback - 1;
        memcpy(seed, fallback, n);
    }
    size_t len = 0;
    while (len + n <= TEXT_BYTES) {
        memcpy(buf + len, seed, n);
        len += n;
    }
    return len;
}

/* Median seconds of runs encodes of (text, len). OUT: *n_tokens. */
static double time_encode(const ggufref_model *m, const char *text, size_t len, int32_t *ids,
                          size_t cap, int runs, size_t *n_tokens) {
    double t[64];
    if (runs > 64) runs = 64;
    for (int r = 0; r < runs; r++) {
        double t0 = bench_now_s();
        ggufref_status st = ggufref_tokenize(m, text, len, false, ids, cap, n_tokens);
        t[r] = bench_now_s() - t0;
        if (st != GGUFREF_OK) {
            fprintf(stderr, "tokenize failed: %s\n", ggufref_status_name(st));
            exit(1);
        }
    }
    return bench_sort_median(t, (size_t)runs);
}

/* ~TEXT_BYTES of prose, code and CJK in turns (see the header). */
static size_t make_mixed(const char *shared, const char *prose, size_t n_prose, char *buf) {
    static const char *code_files[] = {"reference/src/bpe.c", "reference/src/pretok.c",
                                       "reference/src/tokenizer.c", "reference/src/gguf.c",
                                       "reference/src/forward.c", "reference/src/sampler.c"};
    static const char cjk[] =
        "\xE4\xBB\x8E\xE5\x89\x8D\xE6\x9C\x89\xE4\xB8\x80\xE5\xBA\xA7\xE5\xB1\xB1\xEF\xBC\x8C"
        "\xE5\xB1\xB1\xE9\x87\x8C\xE6\x9C\x89\xE4\xB8\x80\xE5\xBA\xA7\xE5\xBA\x99\xE3\x80\x82"
        "\xE5\xBA\x99\xE9\x87\x8C\xE6\x9C\x89\xE4\xB8\xAA\xE8\x80\x81\xE5\x92\x8C\xE5\xB0\x9A"
        "\xE5\x9C\xA8\xE7\xBB\x99\xE5\xB0\x8F\xE5\x92\x8C\xE5\xB0\x9A\xE8\xAE\xB2\xE6\x95\x85"
        "\xE4\xBA\x8B\xE3\x80\x82\xE4\xBB\x8A\xE6\x97\xA5\xE3\x81\xAF\xE3\x81\x84\xE3\x81\x84"
        "\xE5\xA4\xA9\xE6\xB0\x97\xE3\x81\xA7\xE3\x81\x99\xE3\x81\xAD\xE3\x80\x82\xE6\x9D\xB1"
        "\xE4\xBA\xAC\xE3\x81\xAB\xE8\xA1\x8C\xE3\x81\x8D\xE3\x81\xBE\xE3\x81\x97\xE3\x82\x87"
        "\xE3\x81\x86\xE3\x80\x82\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4 \xED\x85\x8D\xEC\x8A\xA4"
        "\xED\x8A\xB8\xEC\x9E\x85\xEB\x8B\x88\xEB\x8B\xA4. ";
    const char *src = getenv("GGUFREF_SOURCE_DIR");
    static char code[1u << 18];
    size_t n_code = 0;
    for (size_t i = 0; i < sizeof code_files / sizeof code_files[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", src ? src : ".", code_files[i]);
        n_code = append_file(path, code, n_code, sizeof code);
    }
    if (n_code == 0) {
        static const char fallback[] = "for (size_t i = 0; i < n; i++) { sum += x[i] * y[i]; }\n";
        n_code = sizeof fallback - 1;
        memcpy(code, fallback, n_code);
    }
    (void)shared;
    size_t len = 0, ip = 0, ic = 0;
    const size_t turn = 4096;
    while (len + 2 * turn + 8 + turn / 4 + sizeof cjk <= TEXT_BYTES) {
        /* whole characters only: the text is valid UTF-8 for both tokenizers */
        for (size_t k = 0; k < turn || (prose[ip % n_prose] & 0xC0) == 0x80; k++) {
            buf[len++] = prose[ip++ % n_prose];
        }
        for (size_t k = 0; k < turn || (code[ic % n_code] & 0xC0) == 0x80; k++) {
            buf[len++] = code[ic++ % n_code];
        }
        for (size_t k = 0; k + sizeof cjk - 1 <= turn / 4; k += sizeof cjk - 1) {
            memcpy(buf + len, cjk, sizeof cjk - 1);
            len += sizeof cjk - 1;
        }
    }
    return len;
}

static void report(const char *name, double secs, size_t len, size_t n_tokens) {
    printf("%-10s %9zu bytes %9zu tokens  %8.2f ms  %12.0f tokens/s  %7.2f MiB/s\n", name, len,
           n_tokens, secs * 1e3, (double)n_tokens / secs, (double)len / secs / (1024.0 * 1024.0));
}

/* Is the vocabulary byte-level BPE (tokenizer.ggml.model = "gpt2")? */
static bool is_bpe(const ggufref_gguf *g) {
    int64_t kv = ggufref_gguf_find_key(g, "tokenizer.ggml.model");
    ggufref_str s;
    return kv >= 0 && ggufref_gguf_get_str(g, (uint64_t)kv, &s) == GGUFREF_OK && s.len == 4 &&
           memcmp(s.ptr, "gpt2", 4) == 0;
}

int main(int argc, char **argv) {
    const char *shared = getenv("GGUFREF_SHARED_DIR");
    if (shared == NULL) shared = "../shared";
    char vocab[1024];
    snprintf(vocab, sizeof vocab, "%s/material/llama.cpp-vocab/ggml-vocab-llama-spm.gguf", shared);
    const char *path = argc > 1 ? argv[1] : vocab;
    int runs = argc > 2 ? atoi(argv[2]) : 7;
    const char *mixed_out = argc > 3 ? argv[3] : NULL;
    if (runs < 1) runs = 1;

    ggufref_gguf *g = NULL;
    ggufref_model *m = NULL;
    ggufref_error err;
    double t0 = bench_now_s();
    if (ggufref_gguf_open_file(path, &g, &err) != GGUFREF_OK ||
        ggufref_model_load_vocab(g, &m, &err) != GGUFREF_OK) {
        fprintf(stderr, "bench_tokenize: %s: %s (set GGUFREF_SHARED_DIR or pass a vocab file)\n",
                path, err.message);
        ggufref_gguf_close(g);
        return 1;
    }
    ggufref_model_info info;
    ggufref_model_get_info(m, &info);
    printf("vocab %s: %u tokens, open + tokenizer init %.2f ms\n", path, (unsigned)info.n_vocab,
           (bench_now_s() - t0) * 1e3);

    char *text = malloc(TEXT_BYTES);
    size_t cap = 4u * TEXT_BYTES + 16;
    int32_t *ids = malloc(cap * sizeof *ids);
    if (text == NULL || ids == NULL) return 1;
    size_t n_tokens;

    size_t len = make_prose(shared, text);
    double secs = time_encode(m, text, len, ids, cap, runs, &n_tokens);
    report("prose", secs, len, n_tokens);
    for (size_t div = 256; div >= 4; div /= 4) {
        char name[32];
        snprintf(name, sizeof name, "prose/%zu", div);
        secs = time_encode(m, text, len / div, ids, cap, runs, &n_tokens);
        report(name, secs, len / div, n_tokens);
    }

    memset(text, 'a', TEXT_BYTES);
    secs = time_encode(m, text, TEXT_BYTES, ids, cap, runs, &n_tokens);
    report("words", secs, TEXT_BYTES, n_tokens);

    if (is_bpe(g)) {
        double loads[64], cpu[64];
        int n_loads = runs > 64 ? 64 : runs;
        for (int r = 0; r < n_loads; r++) {
            ggufref_gguf *g2 = NULL;
            ggufref_model *m2 = NULL;
            struct timespec c0, c1;
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
            double a = bench_now_s();
            if (ggufref_gguf_open_file(path, &g2, &err) != GGUFREF_OK ||
                ggufref_model_load_vocab(g2, &m2, &err) != GGUFREF_OK) {
                return 1;
            }
            loads[r] = bench_now_s() - a;
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
            cpu[r] = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) * 1e-9;
            ggufref_model_free(m2);
            ggufref_gguf_close(g2);
        }
        printf("load       open + tokenizer init, median of %d: %.2f ms (thread CPU %.2f ms)\n",
               n_loads, bench_sort_median(loads, (size_t)n_loads) * 1e3,
               bench_sort_median(cpu, (size_t)n_loads) * 1e3);
        char *prose = malloc(TEXT_BYTES);
        if (prose == NULL) return 1;
        size_t n_prose = make_prose(shared, prose);
        size_t mlen = make_mixed(shared, prose, n_prose, text);
        free(prose);
        if (mixed_out != NULL) {
            FILE *f = fopen(mixed_out, "wb");
            if (f == NULL || fwrite(text, 1, mlen, f) != mlen || fclose(f) != 0) {
                fprintf(stderr, "bench_tokenize: cannot write %s\n", mixed_out);
                return 1;
            }
        }
        secs = time_encode(m, text, mlen, ids, cap, runs, &n_tokens);
        report("mixed", secs, mlen, n_tokens);
        if (mixed_out != NULL) { /* the ids, one per line, for the side-by-side comparison */
            char idp[1100];
            snprintf(idp, sizeof idp, "%s.ids", mixed_out);
            FILE *f = fopen(idp, "w");
            if (f == NULL) return 1;
            for (size_t i = 0; i < n_tokens; i++) fprintf(f, "%d\n", ids[i]);
            fclose(f);
        }
        static const struct {
            const char *name, *unit;
        } worst[] = {{"run:letter", "a"}, {"run:digit", "7"},     {"run:space", " "},
                     {"run:newline", "\n"}, {"run:punct", "!"}, {"run:cjk", "\xE4\xB8\xAD"},
                     {"run:badbyte", "\xFF"}};
        for (size_t w = 0; w < sizeof worst / sizeof worst[0]; w++) {
            size_t ul = strlen(worst[w].unit), wl = TEXT_BYTES - TEXT_BYTES % ul;
            for (size_t i = 0; i < wl; i++) text[i] = worst[w].unit[i % ul];
            secs = time_encode(m, text, wl, ids, cap, runs < 3 ? runs : 3, &n_tokens);
            report(worst[w].name, secs, wl, n_tokens);
        }
    }

    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < TEXT_BYTES; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        text[i] = (char)(s >> 24);
    }
    secs = time_encode(m, text, TEXT_BYTES, ids, cap, runs, &n_tokens);
    report("bytes", secs, TEXT_BYTES, n_tokens);

    free(ids);
    free(text);
    ggufref_model_free(m);
    ggufref_gguf_close(g);
    return 0;
}
