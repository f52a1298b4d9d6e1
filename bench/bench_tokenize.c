/*
 * bench_tokenize.c — SentencePiece encode throughput (SPEC R-TOK-013: O(n log n) per text).
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
 * Usage: bench_tokenize [VOCAB.gguf [RUNS]]   (default RUNS 7)
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

static void report(const char *name, double secs, size_t len, size_t n_tokens) {
    printf("%-10s %9zu bytes %9zu tokens  %8.2f ms  %12.0f tokens/s  %7.2f MiB/s\n", name, len,
           n_tokens, secs * 1e3, (double)n_tokens / secs, (double)len / secs / (1024.0 * 1024.0));
}

int main(int argc, char **argv) {
    const char *shared = getenv("GGUFREF_SHARED_DIR");
    if (shared == NULL) shared = "../shared";
    char vocab[1024];
    snprintf(vocab, sizeof vocab, "%s/material/llama.cpp-vocab/ggml-vocab-llama-spm.gguf", shared);
    const char *path = argc > 1 ? argv[1] : vocab;
    int runs = argc > 2 ? atoi(argv[2]) : 7;
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
