/*
 * bench_sample.c — time of one ggufref_sample call over a 32000-token vocabulary (SPEC
 * chapter 6), per setting: greedy, temperature only (softmax + multinomial), llama2.c top-p,
 * top-k + top-p, min-p, and the repetition penalty over 64 tokens. The logits are a fixed
 * pseudo-random draw in [-10, 10) (flatter than a trained model's, so top-p keeps more
 * candidates than usual: an upper bound for the sort). Each figure is the median of RUNS
 * calls and includes restoring the 32000 logits (sampling edits them in place).
 *
 * Usage: bench_sample [RUNS]   (default 201)
 */
#define _POSIX_C_SOURCE 200809L

#include "bench_util.h"
#include "ggufref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_VOCAB 32000u

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 201;
    if (runs < 1) runs = 1;
    static float base[N_VOCAB], x[N_VOCAB];
    int32_t hist[64];
    ggufref_rng g;
    ggufref_rng_seed(&g, 1);
    for (uint32_t i = 0; i < N_VOCAB; i++) base[i] = (float)(ggufref_rng_u32(&g) % 20000) / 1000.0f - 10.0f;
    for (int i = 0; i < 64; i++) hist[i] = (int32_t)(ggufref_rng_u32(&g) % N_VOCAB);
    ggufref_sampler *sm = NULL;
    if (ggufref_sampler_create(N_VOCAB, &sm) != GGUFREF_OK) return 1;
    double *t = malloc((size_t)runs * sizeof *t);
    if (t == NULL) return 1;
    static const char *names[] = {"greedy", "T=1", "T=1 top_p=0.9", "T=0.8 top_k=40 top_p=0.95",
                                  "T=1 min_p=0.05", "T=1 penalty 1.1/64"};
    for (int m = 0; m < 6; m++) {
        ggufref_sampling s;
        ggufref_sampling_default(&s);
        s.temperature = m == 0 ? 0.0f : m == 3 ? 0.8f : 1.0f;
        if (m == 2) s.top_p = 0.9f;
        if (m == 3) {
            s.top_k = 40;
            s.top_p = 0.95f;
        }
        if (m == 4) s.min_p = 0.05f;
        if (m == 5) s.repeat_penalty = 1.1f;
        for (int r = 0; r < runs; r++) {
            int32_t tok;
            double t0 = bench_now_s();
            memcpy(x, base, sizeof x);
            if (ggufref_sample(sm, &s, x, hist, 64, &g, &tok) != GGUFREF_OK) return 1;
            t[r] = bench_now_s() - t0;
        }
        printf("%-28s %7.3f ms/token\n", names[m], bench_sort_median(t, (size_t)runs) * 1e3);
    }
    free(t);
    ggufref_sampler_free(sm);
    return 0;
}
