/*
 * sampler.c — settings, validation and the token choice (SPEC chapter 6, R-SAMP-*).
 *
 * The pipeline, in the order the SPEC fixes (R-SAMP-010):
 *
 *   logits ──repetition penalty──► (temperature 0? argmax, no coin)
 *          ──÷ temperature──► softmax (gr_expf) ──coin──►
 *          ├─ no filter active:  multinomial in id order          (llama2.c sample_mult)
 *          └─ any of top-k/min-p/top-p: candidates sorted by (prob desc, id asc),
 *             top-p cutoff prefilter, min-p threshold, first k, top-p truncation,
 *             inverse CDF on coin * kept mass                      (llama2.c sample_topp)
 *
 * With only temperature and top-p set this is llama2.c's run.c operation for operation, so its
 * published outputs are reproduced bit for bit (R-SAMP-020). Sorting uses a total order (ids
 * are unique), so the result never depends on the sort algorithm.
 *
 * ggufref_sample never allocates: the candidate buffer and the penalty's seen-marks are sized
 * for the vocabulary once, in ggufref_sampler_create.
 */
#include "sampler.h"

#include "internal.h"
#include "mathx.h"

#include <math.h> /* INFINITY only: no libm function is called */
#include <stdlib.h>

typedef struct gr_cand {
    float p;    /* probability after softmax */
    int32_t id; /* token id */
} gr_cand;

struct ggufref_sampler {
    uint32_t n_vocab;
    gr_cand *cand;   /* [n_vocab] candidate scratch */
    uint32_t *seen;  /* [n_vocab] stamp of the last penalty pass that saw the token */
    uint32_t stamp;  /* current penalty pass; 0 is never a live stamp */
};

void ggufref_sampling_default(ggufref_sampling *out) {
    out->temperature = 0.0f;
    out->top_k = 0;
    out->top_p = 1.0f;
    out->min_p = 0.0f;
    out->repeat_penalty = 1.0f;
    out->repeat_last_n = 64;
    out->seed = 0;
    out->max_tokens = 128;
    out->stop_at_eos = true;
}

/* True for a finite binary32 (not NaN, not +-inf). */
static bool is_finite(float x) {
    return x == x && x - x == 0.0f;
}

ggufref_status ggufref_sampling_validate(const ggufref_sampling *s, ggufref_error *err) {
    const ggufref_status bad = GGUFREF_ERR_INVALID_ARGUMENT;
    if (s == NULL) return gr_fail(err, bad, UINT64_MAX, "sampling settings are NULL");
    if (!is_finite(s->temperature) || s->temperature < 0.0f) {
        return gr_fail(err, bad, UINT64_MAX, "temperature %g must be finite and >= 0",
                       (double)s->temperature);
    }
    if (s->top_k < 0) return gr_fail(err, bad, UINT64_MAX, "top_k %d must be >= 0", (int)s->top_k);
    if (!(s->top_p > 0.0f && s->top_p <= 1.0f)) {
        return gr_fail(err, bad, UINT64_MAX, "top_p %g must be in (0, 1]", (double)s->top_p);
    }
    if (!(s->min_p >= 0.0f && s->min_p <= 1.0f)) {
        return gr_fail(err, bad, UINT64_MAX, "min_p %g must be in [0, 1]", (double)s->min_p);
    }
    if (!is_finite(s->repeat_penalty) || !(s->repeat_penalty > 0.0f)) {
        return gr_fail(err, bad, UINT64_MAX, "repeat_penalty %g must be finite and > 0",
                       (double)s->repeat_penalty);
    }
    if (s->repeat_last_n < 0) {
        return gr_fail(err, bad, UINT64_MAX, "repeat_last_n %d must be >= 0",
                       (int)s->repeat_last_n);
    }
    if (s->max_tokens <= 0) {
        return gr_fail(err, bad, UINT64_MAX, "max_tokens %d must be > 0", (int)s->max_tokens);
    }
    return GGUFREF_OK;
}

ggufref_status ggufref_sampler_create(uint32_t n_vocab, ggufref_sampler **out) {
    if (out == NULL) return GGUFREF_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (n_vocab == 0 || n_vocab > (uint32_t)INT32_MAX) return GGUFREF_ERR_INVALID_ARGUMENT;
    ggufref_sampler *s = gr_calloc(1, sizeof *s);
    if (s == NULL) return GGUFREF_ERR_OUT_OF_MEMORY;
    s->n_vocab = n_vocab;
    s->cand = gr_calloc(n_vocab, sizeof *s->cand);
    s->seen = gr_calloc(n_vocab, sizeof *s->seen);
    if (s->cand == NULL || s->seen == NULL) {
        ggufref_sampler_free(s);
        return GGUFREF_ERR_OUT_OF_MEMORY;
    }
    *out = s;
    return GGUFREF_OK;
}

void ggufref_sampler_free(ggufref_sampler *sampler) {
    if (sampler == NULL) return;
    gr_free(sampler->cand);
    gr_free(sampler->seen);
    gr_free(sampler);
}

/* R-SAMP-011: each distinct id among the last n of history, once: a positive logit is divided
 * by the penalty, any other multiplied (llama.cpp). Ids were checked to be < n_vocab. */
static void apply_repeat_penalty(ggufref_sampler *s, float penalty, const int32_t *hist,
                                 size_t n, float *logits) {
    if (++s->stamp == 0) { /* wrapped: forget every old mark */
        for (uint32_t i = 0; i < s->n_vocab; i++) s->seen[i] = 0;
        s->stamp = 1;
    }
    for (size_t i = 0; i < n; i++) {
        int32_t t = hist[i];
        if (s->seen[t] == s->stamp) continue;
        s->seen[t] = s->stamp;
        logits[t] = logits[t] > 0.0f ? logits[t] / penalty : logits[t] * penalty;
    }
}

/* R-SAMP-012: logits a softmax can use: no NaN, no +inf, at least one above -inf. One
 * branch-free pass (the compiler vectorizes it). */
static bool logits_usable(const float *x, uint32_t n) {
    const float inf = INFINITY;
    int bad = 0, any = 0;
    for (uint32_t i = 0; i < n; i++) {
        bad |= (x[i] != x[i]) | (x[i] == inf);
        any |= x[i] > -inf;
    }
    return !bad && any;
}

/* Index of the largest value; the lowest index wins a tie (R-SAMP-013). */
static int32_t argmax(const float *x, uint32_t n) {
    uint32_t best = 0;
    float v = x[0];
    for (uint32_t i = 1; i < n; i++) {
        if (x[i] > v) {
            v = x[i];
            best = i;
        }
    }
    return (int32_t)best;
}

/* x[i] = x[i] / d for every i (binary32 division). */
static void divide_all(float *x, uint32_t n, float d) {
    for (uint32_t i = 0; i < n; i++) x[i] /= d;
}

/* In place: x[i] = e^(x[i] - max) / sum, the sum taken in id order in binary32 (R-SAMP-015). */
static void softmax(float *x, uint32_t n) {
    float m = x[argmax(x, n)];
    for (uint32_t i = 0; i < n; i++) x[i] -= m;
    gr_expf_inplace(x, n); /* the same bits as gr_expf one at a time, several lanes at once */
    float sum = 0.0f;
    for (uint32_t i = 0; i < n; i++) sum += x[i];
    divide_all(x, n, sum);
}

/* Candidate order: probability descending, then id ascending. A total order. */
static int cand_before(const gr_cand *a, const gr_cand *b) {
    if (a->p != b->p) return a->p > b->p;
    return a->id < b->id;
}
static int cand_cmp(const void *va, const void *vb) {
    const gr_cand *a = va;
    const gr_cand *b = vb;
    if (cand_before(a, b)) return -1;
    if (cand_before(b, a)) return 1;
    return 0;
}

/* Min-heap on the candidate order (root = the one that sorts LAST), for top-k selection. */
static void heap_sift_down(gr_cand *h, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && cand_before(&h[w], &h[l])) w = l;
        if (r < n && cand_before(&h[w], &h[r])) w = r;
        if (w == i) return;
        gr_cand t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

/* Reorder c[0..n) so that c[0..k) are the k candidates that sort first (any order), k < n.
 * O(n log k). */
static void select_first_k(gr_cand *c, size_t n, size_t k) {
    for (size_t i = k / 2; i-- > 0;) heap_sift_down(c, k, i);
    for (size_t i = k; i < n; i++) {
        if (cand_before(&c[i], &c[0])) {
            c[0] = c[i];
            heap_sift_down(c, k, 0);
        }
    }
}

size_t gr_top_logits(const float *x, size_t n, size_t k, int32_t *ids) {
    size_t m = 0; /* ids[0..m): the best so far, in order */
    for (size_t i = 0; i < n && k > 0; i++) {
        if (x[i] != x[i]) continue;
        if (m == k && !(x[i] > x[ids[m - 1]])) continue; /* ties keep the lower id */
        size_t j = m < k ? m++ : m - 1;
        while (j > 0 && x[i] > x[ids[j - 1]]) {
            ids[j] = ids[j - 1];
            j--;
        }
        ids[j] = (int32_t)i;
    }
    return m;
}

/* llama2.c sample_mult: first id whose running CDF exceeds the coin; the last id if rounding
 * leaves the total at or below it (R-SAMP-016). */
static int32_t sample_mult(const float *p, uint32_t n, float coin) {
    float cdf = 0.0f;
    for (uint32_t i = 0; i < n; i++) {
        cdf += p[i];
        if (coin < cdf) return (int32_t)i;
    }
    return (int32_t)(n - 1);
}

/* The filtered path (R-SAMP-017): gather candidates, sort, truncate, invert the CDF. */
static int32_t sample_filtered(ggufref_sampler *s, const ggufref_sampling *set, const float *p,
                               float coin) {
    uint32_t n = s->n_vocab;
    bool top_p_on = set->top_p < 1.0f;
    /* the thresholds: llama2.c's top-p crop and min-p's fraction of the top probability */
    float cut = 0.0f;
    if (top_p_on && n > 1) cut = (1.0f - set->top_p) / (float)(n - 1);
    if (set->min_p > 0.0f) {
        float m = set->min_p * p[argmax(p, n)];
        if (m > cut) cut = m;
    }
    size_t n0 = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (p[i] >= cut) s->cand[n0++] = (gr_cand){p[i], (int32_t)i};
    }
    if (n0 == 0) return argmax(p, n); /* the crop removed everything (top_p < 1/n) */
    if (set->top_k > 0 && (size_t)set->top_k < n0) {
        select_first_k(s->cand, n0, (size_t)set->top_k);
        n0 = (size_t)set->top_k;
    }
    qsort(s->cand, n0, sizeof *s->cand, cand_cmp);
    /* truncate where the running mass first exceeds top_p (llama2.c keeps that token) */
    float mass = 0.0f;
    size_t last = n0 - 1;
    for (size_t i = 0; i < n0; i++) {
        mass += s->cand[i].p;
        if (top_p_on && mass > set->top_p) {
            last = i;
            break;
        }
    }
    float r = coin * mass;
    float cdf = 0.0f;
    for (size_t i = 0; i <= last; i++) {
        cdf += s->cand[i].p;
        if (r < cdf) return s->cand[i].id;
    }
    return s->cand[last].id;
}

ggufref_status ggufref_sample(ggufref_sampler *sampler, const ggufref_sampling *s,
                              float *logits, const int32_t *history, size_t n_history,
                              ggufref_rng *rng, int32_t *token) {
    if (sampler == NULL || logits == NULL || token == NULL || rng == NULL ||
        (history == NULL && n_history > 0)) {
        return GGUFREF_ERR_INVALID_ARGUMENT;
    }
    if (ggufref_sampling_validate(s, NULL) != GGUFREF_OK) return GGUFREF_ERR_INVALID_ARGUMENT;
    uint32_t n = sampler->n_vocab;
    size_t window = (size_t)s->repeat_last_n < n_history ? (size_t)s->repeat_last_n : n_history;
    const int32_t *recent = window > 0 ? history + (n_history - window) : NULL;
    for (size_t i = 0; i < window; i++) {
        if (recent[i] < 0 || (uint32_t)recent[i] >= n) return GGUFREF_ERR_INVALID_ARGUMENT;
    }
    if (s->repeat_penalty != 1.0f && window > 0) {
        apply_repeat_penalty(sampler, s->repeat_penalty, recent, window, logits);
    }
    if (!logits_usable(logits, n)) return GGUFREF_ERR_GENERATION_FAILED;
    if (s->temperature == 0.0f) {
        *token = argmax(logits, n);
        return GGUFREF_OK;
    }
    divide_all(logits, n, s->temperature);
    if (!logits_usable(logits, n)) return GGUFREF_ERR_GENERATION_FAILED;
    softmax(logits, n);
    float coin = ggufref_rng_coin(rng);
    bool filtered = (s->top_k > 0 && (uint32_t)s->top_k < n) || s->min_p > 0.0f || s->top_p < 1.0f;
    *token = filtered ? sample_filtered(sampler, s, logits, coin) : sample_mult(logits, n, coin);
    return GGUFREF_OK;
}
