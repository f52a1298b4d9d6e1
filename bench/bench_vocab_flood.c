/*
 * bench_vocab_flood.c — the tokenizer against a hostile vocabulary (issue 16 #2, R-TOK-018):
 *
 *   flood   load time of a vocab-only GGUF whose 131,072 token texts all collide in the low
 *           18 bits of FNV-1a 64 (the bucket index of the old open-addressing table: 2^18 slots
 *           for 2^17 tokens), against a vocab of as many ordinary distinct texts;
 *   runs    one 1 MiB prompt of 'a' over the vocab a^1 .. a^4096 (longer pieces score higher,
 *           so every merge grows the same symbol by one byte: the old encoder hashed every
 *           candidate's bytes, O(n * L)).
 *
 *     bench_vocab_flood [ROUNDS [runs]]   (default 3; prints the median of each; `runs`: only
 *                                          the prompt; BENCH_VOCAB_DUMP=FILE writes its vocab)
 *
 * The vocabularies come from conformance/support/vocab_flood.h (how the texts collide).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime (bench_util.h) */

#include "bench_util.h"
#include "ggufref.h"
#include "vocab_flood.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_FLOOD 131072u
#define RUN_VOCAB 4096u
#define PROMPT_BYTES (1u << 20)

/* Seconds to open and bind the vocab (ggufref_model_load_vocab); the model in *out. */
static double load_once(const gb_buf *b, ggufref_gguf **g, ggufref_model **m) {
    ggufref_error err;
    double t0 = bench_now_s();
    if (ggufref_gguf_open_memory(b->data, b->len, g, &err) != GGUFREF_OK ||
        ggufref_model_load_vocab(*g, m, &err) != GGUFREF_OK) {
        fprintf(stderr, "load failed: %s\n", err.message);
        exit(1);
    }
    return bench_now_s() - t0;
}

static double median_load(const gb_buf *b, int rounds) {
    double t[32];
    for (int r = 0; r < rounds; r++) {
        ggufref_gguf *g;
        ggufref_model *m;
        t[r] = load_once(b, &g, &m);
        ggufref_model_free(m);
        ggufref_gguf_close(g);
    }
    return bench_sort_median(t, (size_t)rounds);
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 3;
    if (rounds < 1 || rounds > 32) rounds = 3;

    /* flood: 131,072 texts of 9 bytes, all in one bucket of the old table */
    char **texts = malloc(N_FLOOD * sizeof *texts);
    char *pool = malloc((size_t)N_FLOOD * 10);
    if (texts == NULL || pool == NULL || !vf_colliding_texts(texts, pool, N_FLOOD)) abort();
    gb_buf flood;
    vf_build_vocab(&flood, texts, N_FLOOD);
    /* the same count of ordinary texts: "t0", "t1", ... */
    for (uint32_t i = 0; i < N_FLOOD; i++) snprintf(pool + (size_t)i * 10, 10, "t%u", i);
    gb_buf plain;
    vf_build_vocab(&plain, texts, N_FLOOD);
    if (argc <= 2 || strcmp(argv[2], "runs") != 0) {
        printf("vocab load, %u tokens (median of %d): colliding %.4f s, ordinary %.4f s\n",
               N_FLOOD, rounds, median_load(&flood, rounds), median_load(&plain, rounds));
    }
    gb_free(&flood);
    gb_free(&plain);

    /* runs: a^1 .. a^4096, one 1 MiB prompt of 'a' */
    char *run_pool = malloc((size_t)RUN_VOCAB * (RUN_VOCAB + 1));
    if (run_pool == NULL) abort();
    for (uint32_t i = 0; i < RUN_VOCAB; i++) {
        char *t = run_pool + (size_t)i * (RUN_VOCAB + 1);
        memset(t, 'a', i + 1);
        t[i + 1] = 0;
        texts[i] = t;
    }
    gb_buf runs;
    vf_build_vocab(&runs, texts, RUN_VOCAB);
    if (getenv("BENCH_VOCAB_DUMP") != NULL) gb_write_file(&runs, getenv("BENCH_VOCAB_DUMP"));
    ggufref_gguf *g;
    ggufref_model *m;
    (void)load_once(&runs, &g, &m);
    char *prompt = malloc(PROMPT_BYTES);
    int32_t *ids = malloc((PROMPT_BYTES + 1) * sizeof *ids);
    if (prompt == NULL || ids == NULL) abort();
    memset(prompt, 'a', PROMPT_BYTES);
    double t[32];
    size_t n = 0;
    for (int r = 0; r < rounds; r++) {
        double t0 = bench_now_s();
        if (ggufref_tokenize(m, prompt, PROMPT_BYTES, false, ids, PROMPT_BYTES + 1, &n) !=
            GGUFREF_OK) {
            fprintf(stderr, "tokenize failed\n");
            return 1;
        }
        t[r] = bench_now_s() - t0;
    }
    printf("tokenize 1 MiB of 'a' over a^1..a^%u (median of %d): %.4f s, %zu tokens\n",
           RUN_VOCAB, rounds, bench_sort_median(t, (size_t)rounds), n);
    ggufref_model_free(m);
    ggufref_gguf_close(g);
    gb_free(&runs);
    free(prompt);
    free(ids);
    free(run_pool);
    free(texts);
    free(pool);
    return 0;
}
