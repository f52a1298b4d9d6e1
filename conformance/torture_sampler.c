/*
 * torture_sampler.c — sampling settings, the sampler pipeline, the RNG and gr_expf
 * (SPEC chapter 6, R-SAMP-*, R-RNG-*; gr_expf: R-SAMP-015).
 *
 * Probabilities in these tests come from logits = ln(p) with comfortable margins, so no case
 * depends on the last bit of an exp; the bit-level agreement with llama2.c is checked by a
 * transcript of its sample_mult / sample_topp (llama2c_* below) over many random inputs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ggufref.h"
#include "mathx.h"
#include "oom.h"

/* ---- helpers ------------------------------------------------------------------------ */

static float f32_from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
static uint32_t bits_of(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Natural log by bisection on gr_expf: avoids libm in the tests too (exact enough for p). */
static float ln_f(float p) {
    float lo = -100.0f, hi = 10.0f;
    for (int i = 0; i < 200; i++) {
        float mid = 0.5f * (lo + hi);
        if (gr_expf(mid) < p) lo = mid;
        else hi = mid;
    }
    return hi;
}

/* logits[i] = ln(p[i]). */
static void logits_from_probs(const float *p, float *logits, size_t n) {
    for (size_t i = 0; i < n; i++) logits[i] = ln_f(p[i]);
}

/* An RNG whose next coin lies in [lo, hi): the first seed >= 1 that gives one. */
static ggufref_rng rng_with_coin_in(float lo, float hi) {
    for (uint64_t seed = 1;; seed++) {
        ggufref_rng r, probe;
        ggufref_rng_seed(&r, seed);
        probe = r;
        float c = ggufref_rng_coin(&probe);
        if (c >= lo && c < hi) return r;
    }
}

/* One sample with settings s over a copy of logits; asserts OK and exactly one RNG step when
 * temperature > 0 (none at temperature 0). Returns the token. */
static int32_t sample_once(const ggufref_sampling *s, const float *logits, size_t n,
                           const int32_t *hist, size_t n_hist, ggufref_rng *rng) {
    ggufref_sampler *sm = NULL;
    assert_int_equal(ggufref_sampler_create((uint32_t)n, &sm), GGUFREF_OK);
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    memcpy(x, logits, n * sizeof *x);
    ggufref_rng expect = *rng;
    if (s->temperature > 0.0f) (void)ggufref_rng_u32(&expect);
    int32_t tok = -1;
    assert_int_equal(ggufref_sample(sm, s, x, hist, n_hist, rng, &tok), GGUFREF_OK);
    assert_true(rng->state == expect.state); /* R-SAMP-030: one coin iff temperature > 0 */
    free(x);
    ggufref_sampler_free(sm);
    return tok;
}

static ggufref_sampling settings(float temp) {
    ggufref_sampling s;
    ggufref_sampling_default(&s);
    s.temperature = temp;
    return s;
}

/* ---- RNG (R-RNG-001..004) ------------------------------------------------------------ */

/* R-RNG-001, R-RNG-003: the first outputs for seed 42, fixed numbers. */
static void test_rng_seed42_first_outputs(void **state) {
    (void)state;
    static const uint32_t expect[5] = {0x56ce4ab7u, 0xc841eb53u, 0xca466be0u, 0xf1acc733u,
                                       0xc3af4dd7u};
    ggufref_rng r;
    ggufref_rng_seed(&r, 42);
    assert_true(r.state == 42u);
    for (int i = 0; i < 5; i++) assert_int_equal(ggufref_rng_u32(&r), expect[i]);
    assert_true(r.state == 0x53e4a303a98ce13eull);
    ggufref_rng_seed(&r, 42);
    float c = ggufref_rng_coin(&r); /* (0x56ce4ab7 >> 8) / 2^24 */
    assert_int_equal(bits_of(c), bits_of((float)(0x56ce4ab7u >> 8) / 16777216.0f));
    assert_true(c > 0.3390852f && c < 0.3390853f);
}

/* R-RNG-002: seed 0 is the fixed state 0x9E3779B97F4A7C15, never the stuck state 0. */
static void test_rng_seed0_is_fixed_constant(void **state) {
    (void)state;
    ggufref_rng a, b;
    ggufref_rng_seed(&a, 0);
    assert_true(a.state == 0x9E3779B97F4A7C15ull);
    ggufref_rng_seed(&b, 0x9E3779B97F4A7C15ull);
    assert_int_equal(ggufref_rng_u32(&a), 0x0d83b3e2u);
    assert_int_equal(ggufref_rng_u32(&a), 0x54c44c79u);
    assert_int_equal(ggufref_rng_u32(&b), 0x0d83b3e2u);
}

/* R-RNG-004: every RNG state is its caller's: two generators interleaved give exactly the
 * streams each gives alone, and a copy of the state replays the stream (no hidden state). */
static void test_rng_state_belongs_to_caller(void **state) {
    (void)state;
    uint32_t alone_a[64], alone_b[64];
    ggufref_rng a, b;
    ggufref_rng_seed(&a, 42);
    for (int i = 0; i < 64; i++) alone_a[i] = ggufref_rng_u32(&a);
    ggufref_rng_seed(&b, 7);
    for (int i = 0; i < 64; i++) alone_b[i] = ggufref_rng_u32(&b);
    ggufref_rng_seed(&a, 42);
    ggufref_rng_seed(&b, 7);
    for (int i = 0; i < 64; i++) {
        assert_int_equal(ggufref_rng_u32(&b), alone_b[i]);
        ggufref_rng copy = a;
        assert_int_equal(ggufref_rng_u32(&a), alone_a[i]);
        assert_int_equal(ggufref_rng_u32(&copy), alone_a[i]);
    }
}

/* R-RNG-003: coins are k / 2^24 in [0, 1). */
static void test_rng_coin_range(void **state) {
    (void)state;
    ggufref_rng r;
    ggufref_rng_seed(&r, 7);
    for (int i = 0; i < 10000; i++) {
        ggufref_rng copy = r;
        uint32_t u = ggufref_rng_u32(&copy);
        float c = ggufref_rng_coin(&r);
        assert_true(r.state == copy.state);
        assert_true(c >= 0.0f && c < 1.0f);
        assert_int_equal(bits_of(c * 16777216.0f), bits_of((float)(u >> 8)));
    }
}

/* ---- gr_expf (R-SAMP-015) --------------------------------------------------------------- */

/* Correctly rounded on fixed points, including inputs where glibc's expf is 1 ulp off. */
static void test_expf_fixed_values(void **state) {
    (void)state;
    static const struct { uint32_t x, y; } cases[] = {
        {0x00000000u, 0x3f800000u}, /* e^0 = 1 */
        {0x80000000u, 0x3f800000u}, /* e^-0 = 1 */
        {0x3f800000u, 0x402df854u}, /* e^1 */
        {0xbf800000u, 0x3ebc5ab2u}, /* e^-1 */
        {0x3f001569u, 0x3fd31af3u}, /* x = 0x1.002ad2p-1: glibc 2.36 gives ...f4 */
        {0xbf001f30u, 0x3f1b32aeu}, /* x = -0x1.003e6p-1: glibc gives ...af */
        {0x42b00623u, 0x7efb81d2u}, /* x = 0x1.600c46p+6: glibc gives ...d3 */
        {0x42b17217u, 0x7f7fff84u}, /* the largest x with a finite result */
        {0x42b17218u, 0x7f800000u}, /* the smallest x that overflows to +inf */
        {0x42b20000u, 0x7f800000u}, /* e^89 */
        {0xc2cff1b4u, 0x00000001u}, /* rounds up to the smallest subnormal */
        {0xc2cff1b5u, 0x00000000u}, /* the largest x that rounds to +0 */
        {0xc2d00000u, 0x00000000u}, /* e^-104 underflows to +0 */
        {0x7f800000u, 0x7f800000u}, /* +inf */
        {0xff800000u, 0x00000000u}, /* -inf */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t got = bits_of(gr_expf(f32_from_bits(cases[i].x)));
        if (got != cases[i].y) fail_msg("expf(0x%08x) = 0x%08x, want 0x%08x", cases[i].x, got, cases[i].y);
    }
    float nan = f32_from_bits(0x7fc00000u);
    float r = gr_expf(nan);
    assert_true(r != r);
}

/* Monotone and within 1 ulp of e^a * e^b identities on a sweep (sanity, not exactness). */
static void test_expf_monotone(void **state) {
    (void)state;
    float prev = 0.0f;
    for (float x = -103.0f; x < 88.0f; x += 0.0371f) {
        float y = gr_expf(x);
        assert_true(y >= prev);
        prev = y;
    }
}

/* ---- settings (R-SAMP-001..003) --------------------------------------------------------- */

/* R-SAMP-001: the defaults. */
static void test_sampling_default_values(void **state) {
    (void)state;
    ggufref_sampling s;
    ggufref_sampling_default(&s);
    assert_true(s.temperature == 0.0f && s.top_k == 0 && s.top_p == 1.0f && s.min_p == 0.0f);
    assert_true(s.repeat_penalty == 1.0f && s.repeat_last_n == 64 && s.seed == 0);
    assert_int_equal(s.max_tokens, 128);
    assert_true(s.stop_at_eos);
    assert_int_equal(ggufref_sampling_validate(&s, NULL), GGUFREF_OK);
}

/* R-SAMP-002: every out-of-range field is INVALID_ARGUMENT with its name in the message. */
static void test_sampling_validate_rejects(void **state) {
    (void)state;
    const float nan = f32_from_bits(0x7fc00000u), inf = f32_from_bits(0x7f800000u);
    static const char *names[] = {"temperature", "temperature", "temperature", "top_k",
                                  "top_p", "top_p", "top_p", "min_p", "min_p",
                                  "repeat_penalty", "repeat_penalty", "repeat_penalty",
                                  "repeat_last_n", "max_tokens", "max_tokens"};
    for (int c = 0; c < 15; c++) {
        ggufref_sampling s;
        ggufref_sampling_default(&s);
        switch (c) {
        case 0: s.temperature = -0.5f; break;
        case 1: s.temperature = nan; break;
        case 2: s.temperature = inf; break;
        case 3: s.top_k = -1; break;
        case 4: s.top_p = 0.0f; break;
        case 5: s.top_p = 1.01f; break;
        case 6: s.top_p = nan; break;
        case 7: s.min_p = -0.1f; break;
        case 8: s.min_p = 1.5f; break;
        case 9: s.repeat_penalty = 0.0f; break;
        case 10: s.repeat_penalty = -1.0f; break;
        case 11: s.repeat_penalty = inf; break;
        case 12: s.repeat_last_n = -1; break;
        case 13: s.max_tokens = 0; break;
        case 14: s.max_tokens = -3; break;
        }
        ggufref_error err;
        memset(&err, 0, sizeof err);
        assert_int_equal(ggufref_sampling_validate(&s, &err), GGUFREF_ERR_INVALID_ARGUMENT);
        assert_int_equal(err.status, GGUFREF_ERR_INVALID_ARGUMENT);
        if (strstr(err.message, names[c]) == NULL) fail_msg("case %d: '%s'", c, err.message);
        /* ggufref_sample refuses the same settings without touching the RNG */
        ggufref_sampler *sm = NULL;
        assert_int_equal(ggufref_sampler_create(4, &sm), GGUFREF_OK);
        float x[4] = {1, 2, 3, 4};
        ggufref_rng r = {5};
        int32_t tok = 77;
        assert_int_equal(ggufref_sample(sm, &s, x, NULL, 0, &r, &tok), GGUFREF_ERR_INVALID_ARGUMENT);
        assert_true(r.state == 5u);
        assert_int_equal(tok, 77);
        ggufref_sampler_free(sm);
    }
    assert_int_equal(ggufref_sampling_validate(NULL, NULL), GGUFREF_ERR_INVALID_ARGUMENT);
}

/* R-SAMP-003: edges that are valid. */
static void test_sampling_validate_accepts_edges(void **state) {
    (void)state;
    ggufref_sampling s = settings(0.0f);
    s.top_p = 1.0f;
    s.min_p = 1.0f;
    s.top_k = 1000000;
    s.repeat_last_n = 0;
    s.repeat_penalty = 0.001f;
    s.max_tokens = 1;
    s.seed = UINT64_MAX;
    assert_int_equal(ggufref_sampling_validate(&s, NULL), GGUFREF_OK);
}

static void test_sampler_create_rejects_zero_vocab(void **state) {
    (void)state;
    ggufref_sampler *sm = (ggufref_sampler *)&sm;
    assert_int_equal(ggufref_sampler_create(0, &sm), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_null(sm);
    assert_int_equal(ggufref_sampler_create(4, NULL), GGUFREF_ERR_INVALID_ARGUMENT);
}

static int sampler_oom_op(void *user) {
    return ggufref_sampler_create(100, (ggufref_sampler **)user);
}

static void sampler_oom_check(void *user, const oom_run *run) {
    ggufref_sampler **sm = user;
    if (!run->fired) {
        assert_int_equal(run->status, GGUFREF_OK);
        ggufref_sampler_free(*sm);
        return;
    }
    assert_int_equal(run->status, GGUFREF_ERR_OUT_OF_MEMORY);
    assert_null(*sm);
}

/* R-FAULT-001: the hook's two kinds of fault. Transient (fail_at): only the Nth allocation
 * fails; persistent (fail_from): the Nth and every later one, until the next arm. */
static void test_fault_alloc_transient_and_persistent(void **state) {
    (void)state;
    ggufref_sampler *a = NULL;
    ggufref_sampler *b = NULL;
    ggufref_fault_alloc_fail_at(1);
    assert_int_equal(ggufref_sampler_create(100, &a), GGUFREF_ERR_OUT_OF_MEMORY);
    assert_int_equal(ggufref_sampler_create(100, &b), GGUFREF_OK);
    assert_true(ggufref_fault_alloc_fired());
    ggufref_sampler_free(b);
    ggufref_fault_alloc_fail_from(1);
    assert_int_equal(ggufref_sampler_create(100, &a), GGUFREF_ERR_OUT_OF_MEMORY);
    assert_int_equal(ggufref_sampler_create(100, &b), GGUFREF_ERR_OUT_OF_MEMORY);
    assert_true(ggufref_fault_alloc_fired());
    assert_true(ggufref_fault_alloc_count() >= 2);
    ggufref_fault_alloc_fail_at(0); /* disarms both */
    assert_false(ggufref_fault_alloc_fired());
    assert_int_equal(ggufref_sampler_create(100, &b), GGUFREF_OK);
    assert_null(a);
    ggufref_sampler_free(b);
}

/* R-FAULT-001: every allocation of sampler_create can fail cleanly (alone, then with every later
 * one). */
static void test_sampler_create_out_of_memory(void **state) {
    (void)state;
    ggufref_sampler *sm = NULL;
    oom_each(sampler_oom_op, sampler_oom_check, &sm);
}

/* ---- argmax (R-SAMP-013) ----------------------------------------------------------------- */

static void test_sample_argmax_lowest_id_wins_tie(void **state) {
    (void)state;
    const float x[6] = {0.5f, 3.0f, -1.0f, 3.0f, 2.9f, 3.0f};
    ggufref_sampling s = settings(0.0f);
    ggufref_rng r = {123};
    assert_int_equal(sample_once(&s, x, 6, NULL, 0, &r), 1);
    assert_true(r.state == 123u); /* no coin at temperature 0 */
    /* filters do not change argmax */
    s.top_k = 1;
    s.top_p = 0.1f;
    s.min_p = 0.9f;
    assert_int_equal(sample_once(&s, x, 6, NULL, 0, &r), 1);
    const float neg[3] = {-5.0f, f32_from_bits(0xff800000u), -5.0f};
    assert_int_equal(sample_once(&s, neg, 3, NULL, 0, &r), 0);
}

/* ---- repetition penalty (R-SAMP-011) ----------------------------------------------------- */

/* Positive logits divided, others multiplied; each distinct id once; only the last N. */
static void test_sample_repeat_penalty_signs(void **state) {
    (void)state;
    ggufref_sampler *sm = NULL;
    assert_int_equal(ggufref_sampler_create(5, &sm), GGUFREF_OK);
    ggufref_sampling s = settings(0.0f);
    s.repeat_penalty = 2.0f;
    s.repeat_last_n = 4;
    float x[5] = {4.0f, -3.0f, 1.0f, 0.0f, 3.0f};
    const int32_t hist[6] = {4, 4, 0, 1, 0, 3}; /* window: 0 1 0 3 (4 is outside) */
    ggufref_rng r = {9};
    int32_t tok = -1;
    assert_int_equal(ggufref_sample(sm, &s, x, hist, 6, &r, &tok), GGUFREF_OK);
    assert_true(x[0] == 2.0f);  /* 4 / 2, once although it appears twice */
    assert_true(x[1] == -6.0f); /* -3 * 2 */
    assert_true(x[2] == 1.0f);  /* not in the window */
    assert_true(x[3] == 0.0f);  /* 0 * 2 */
    assert_true(x[4] == 3.0f);  /* outside the window */
    assert_int_equal(tok, 4);
    /* repeat_last_n = 0 and penalty 1 are off */
    float y[5] = {4.0f, -3.0f, 1.0f, 0.0f, 3.0f};
    s.repeat_last_n = 0;
    assert_int_equal(ggufref_sample(sm, &s, y, hist, 6, &r, &tok), GGUFREF_OK);
    assert_true(y[0] == 4.0f && y[1] == -3.0f);
    assert_int_equal(tok, 0);
    s.repeat_last_n = 64;
    s.repeat_penalty = 1.0f;
    assert_int_equal(ggufref_sample(sm, &s, y, hist, 6, &r, &tok), GGUFREF_OK);
    assert_true(y[0] == 4.0f && y[1] == -3.0f);
    /* a penalty below 1 boosts: 1 / 0.5 = 2 */
    float z[2] = {1.0f, 1.5f};
    ggufref_sampler *sm2 = NULL;
    assert_int_equal(ggufref_sampler_create(2, &sm2), GGUFREF_OK);
    s.repeat_penalty = 0.5f;
    const int32_t h0[1] = {0};
    assert_int_equal(ggufref_sample(sm2, &s, z, h0, 1, &r, &tok), GGUFREF_OK);
    assert_int_equal(tok, 0);
    assert_true(z[0] == 2.0f);
    ggufref_sampler_free(sm2);
    ggufref_sampler_free(sm);
}

/* R-SAMP-004: a history id outside the vocabulary is INVALID_ARGUMENT, nothing drawn. */
static void test_sample_rejects_bad_history(void **state) {
    (void)state;
    ggufref_sampler *sm = NULL;
    assert_int_equal(ggufref_sampler_create(3, &sm), GGUFREF_OK);
    ggufref_sampling s = settings(1.0f);
    s.repeat_penalty = 1.3f;
    float x[3] = {1, 2, 3};
    ggufref_rng r = {77};
    int32_t tok;
    const int32_t h1[2] = {0, 3};
    const int32_t h2[2] = {-1, 0};
    assert_int_equal(ggufref_sample(sm, &s, x, h1, 2, &r, &tok), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_sample(sm, &s, x, h2, 2, &r, &tok), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_sample(sm, &s, x, NULL, 2, &r, &tok), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_sample(sm, &s, NULL, NULL, 0, &r, &tok), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_sample(sm, &s, x, NULL, 0, NULL, &tok), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_true(r.state == 77u);
    assert_true(x[0] == 1.0f && x[2] == 3.0f);
    /* ids outside the window are not looked at */
    s.repeat_last_n = 1;
    const int32_t h3[2] = {99, 2};
    assert_int_equal(ggufref_sample(sm, &s, x, h3, 2, &r, &tok), GGUFREF_OK);
    ggufref_sampler_free(sm);
}

/* R-SAMP-012: NaN, +inf, or nothing above -inf is GENERATION_FAILED, nothing drawn. */
static void test_sample_rejects_unusable_logits(void **state) {
    (void)state;
    ggufref_sampler *sm = NULL;
    assert_int_equal(ggufref_sampler_create(3, &sm), GGUFREF_OK);
    const float nan = f32_from_bits(0x7fc00000u), inf = f32_from_bits(0x7f800000u);
    const float cases[4][3] = {{1, nan, 2}, {1, inf, 2}, {-inf, -inf, -inf}, {1e30f, 0, 0}};
    for (int c = 0; c < 4; c++) {
        for (int t = 0; t < 2; t++) {
            ggufref_sampling s = settings(t == 0 ? 0.0f : 1e-10f);
            float x[3];
            memcpy(x, cases[c], sizeof x);
            ggufref_rng r = {31};
            int32_t tok = 55;
            ggufref_status want = c == 3 && t == 0 ? GGUFREF_OK : GGUFREF_ERR_GENERATION_FAILED;
            /* case 3: 1e30 / 1e-10 overflows to +inf only when the temperature divides */
            assert_int_equal(ggufref_sample(sm, &s, x, NULL, 0, &r, &tok), want);
            if (want != GGUFREF_OK) {
                assert_true(r.state == 31u);
                assert_int_equal(tok, 55);
            }
        }
    }
    ggufref_sampler_free(sm);
}

/* ---- llama2.c transcript (R-SAMP-020) ---------------------------------------------------- */

/* run.c softmax with gr_expf in place of expf. */
static void llama2c_softmax(float *x, int n) {
    float max = x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] > max) max = x[i];
    }
    float sum = 0.0f;
    for (int i = 0; i < n; i++) {
        x[i] = gr_expf(x[i] - max);
        sum += x[i];
    }
    for (int i = 0; i < n; i++) x[i] /= sum;
}
static int llama2c_mult(const float *p, int n, float coin) {
    float cdf = 0.0f;
    for (int i = 0; i < n; i++) {
        cdf += p[i];
        if (coin < cdf) return i;
    }
    return n - 1;
}
typedef struct { float prob; int index; } prob_index;
static int llama2c_cmp(const void *a, const void *b) { /* plus the id tie-break */
    const prob_index *x = a, *y = b;
    if (x->prob > y->prob) return -1;
    if (x->prob < y->prob) return 1;
    return x->index < y->index ? -1 : x->index > y->index;
}
static int llama2c_topp(const float *p, int n, float topp, prob_index *pi, float coin) {
    int n0 = 0;
    const float cutoff = (1.0f - topp) / (n - 1);
    for (int i = 0; i < n; i++) {
        if (p[i] >= cutoff) {
            pi[n0].index = i;
            pi[n0].prob = p[i];
            n0++;
        }
    }
    qsort(pi, (size_t)n0, sizeof *pi, llama2c_cmp);
    float cum = 0.0f;
    int last = n0 - 1;
    for (int i = 0; i < n0; i++) {
        cum += pi[i].prob;
        if (cum > topp) {
            last = i;
            break;
        }
    }
    float r = coin * cum;
    float cdf = 0.0f;
    for (int i = 0; i <= last; i++) {
        cdf += pi[i].prob;
        if (r < cdf) return pi[i].index;
    }
    return pi[last].index;
}

/* With only temperature and top-p set, ggufref_sample = run.c's sample(), over random logits
 * (with deliberate ties), temperatures, top-p values and seeds. */
static void test_sample_matches_llama2c(void **state) {
    (void)state;
    enum { N = 512 };
    static float logits[N], ref[N];
    static prob_index pi[N];
    static const float temps[] = {1.0f, 0.8f, 1.3f, 0.25f};
    static const float topps[] = {1.0f, 0.95f, 0.9f, 0.5f, 0.05f};
    ggufref_rng gen;
    ggufref_rng_seed(&gen, 2024);
    int checked = 0;
    for (int trial = 0; trial < 40; trial++) {
        for (int i = 0; i < N; i++) {
            /* quantised to 1/8 so that equal probabilities (ties) occur */
            logits[i] = (float)(int)(ggufref_rng_u32(&gen) % 96) / 8.0f - 6.0f;
        }
        for (size_t ti = 0; ti < sizeof temps / sizeof temps[0]; ti++) {
            for (size_t pj = 0; pj < sizeof topps / sizeof topps[0]; pj++) {
                ggufref_sampling s = settings(temps[ti]);
                s.top_p = topps[pj];
                s.seed = (uint64_t)trial * 7919u + 1u;
                ggufref_rng r, rr;
                ggufref_rng_seed(&r, s.seed);
                ggufref_rng_seed(&rr, s.seed);
                int32_t got = sample_once(&s, logits, N, NULL, 0, &r);
                memcpy(ref, logits, sizeof ref);
                for (int q = 0; q < N; q++) ref[q] /= s.temperature;
                llama2c_softmax(ref, N);
                float coin = ggufref_rng_coin(&rr);
                int want = s.top_p >= 1.0f ? llama2c_mult(ref, N, coin)
                                           : llama2c_topp(ref, N, s.top_p, pi, coin);
                if (got != want) fail_msg("trial %d T %g p %g: got %d want %d", trial,
                                          (double)s.temperature, (double)s.top_p, got, want);
                checked++;
            }
        }
    }
    assert_int_equal(checked, 800);
}

/* ---- filters in isolation and combined (R-SAMP-016..019) --------------------------------- */

/* Multinomial path walks ids in order: p = {0.1, 0.6, 0.3}. */
static void test_sample_mult_id_order(void **state) {
    (void)state;
    const float p[3] = {0.1f, 0.6f, 0.3f};
    float x[3];
    logits_from_probs(p, x, 3);
    ggufref_sampling s = settings(1.0f);
    ggufref_rng r = rng_with_coin_in(0.0f, 0.09f);
    assert_int_equal(sample_once(&s, x, 3, NULL, 0, &r), 0);
    r = rng_with_coin_in(0.11f, 0.69f);
    assert_int_equal(sample_once(&s, x, 3, NULL, 0, &r), 1);
    r = rng_with_coin_in(0.71f, 1.0f);
    assert_int_equal(sample_once(&s, x, 3, NULL, 0, &r), 2);
}

/* Filtered path walks probability order: with top_k = 3 (of 4) the same coins map to the
 * sorted list {1: 0.5, 2: 0.3, 0: 0.15}, mass 0.95. */
static void test_sample_top_k(void **state) {
    (void)state;
    const float p[4] = {0.15f, 0.5f, 0.3f, 0.05f};
    float x[4];
    logits_from_probs(p, x, 4);
    ggufref_sampling s = settings(1.0f);
    s.top_k = 1;
    for (uint64_t seed = 1; seed < 50; seed++) {
        ggufref_rng r;
        ggufref_rng_seed(&r, seed);
        assert_int_equal(sample_once(&s, x, 4, NULL, 0, &r), 1);
    }
    s.top_k = 3;
    ggufref_rng r = rng_with_coin_in(0.0f, 0.5f); /* r < 0.475 */
    assert_int_equal(sample_once(&s, x, 4, NULL, 0, &r), 1);
    r = rng_with_coin_in(0.52f, 0.82f); /* 0.494 .. 0.779 */
    assert_int_equal(sample_once(&s, x, 4, NULL, 0, &r), 2);
    r = rng_with_coin_in(0.86f, 1.0f); /* > 0.817 */
    assert_int_equal(sample_once(&s, x, 4, NULL, 0, &r), 0);
    /* top_k >= n_vocab is off: the multinomial path (id order) */
    s.top_k = 4;
    r = rng_with_coin_in(0.0f, 0.14f);
    assert_int_equal(sample_once(&s, x, 4, NULL, 0, &r), 0);
}

/* Equal probabilities: top-k keeps the lowest ids (R-SAMP-017 tie-break). */
static void test_sample_top_k_ties_by_id(void **state) {
    (void)state;
    const float x[6] = {1.0f, 2.0f, 2.0f, 1.0f, 2.0f, 2.0f};
    ggufref_sampling s = settings(1.0f);
    s.top_k = 2;
    for (uint64_t seed = 1; seed < 200; seed++) {
        ggufref_rng r;
        ggufref_rng_seed(&r, seed);
        int32_t t = sample_once(&s, x, 6, NULL, 0, &r);
        assert_true(t == 1 || t == 2);
    }
}

/* min-p: tokens below min_p * max are out. p = {0.4, 0.05, 0.35, 0.2}, min_p 0.3 -> cut 0.12. */
static void test_sample_min_p(void **state) {
    (void)state;
    const float p[4] = {0.4f, 0.05f, 0.35f, 0.2f};
    float x[4];
    logits_from_probs(p, x, 4);
    ggufref_sampling s = settings(1.0f);
    s.min_p = 0.3f;
    for (uint64_t seed = 1; seed < 300; seed++) {
        ggufref_rng r;
        ggufref_rng_seed(&r, seed);
        assert_int_not_equal(sample_once(&s, x, 4, NULL, 0, &r), 1);
    }
    s.min_p = 1.0f; /* only the top token survives */
    for (uint64_t seed = 1; seed < 50; seed++) {
        ggufref_rng r;
        ggufref_rng_seed(&r, seed);
        assert_int_equal(sample_once(&s, x, 4, NULL, 0, &r), 0);
    }
}

/* top-p keeps up to and including the token that crosses top_p. p = {0.5, 0.3, 0.2}:
 * top_p 0.6 keeps {0, 1} (mass 0.8); top_p 0.4 keeps {0}. */
static void test_sample_top_p(void **state) {
    (void)state;
    const float p[3] = {0.5f, 0.3f, 0.2f};
    float x[3];
    logits_from_probs(p, x, 3);
    ggufref_sampling s = settings(1.0f);
    s.top_p = 0.6f;
    ggufref_rng r = rng_with_coin_in(0.66f, 1.0f); /* r = coin * 0.8 > 0.5 */
    assert_int_equal(sample_once(&s, x, 3, NULL, 0, &r), 1);
    for (uint64_t seed = 1; seed < 100; seed++) {
        ggufref_rng_seed(&r, seed);
        assert_int_not_equal(sample_once(&s, x, 3, NULL, 0, &r), 2);
    }
    s.top_p = 0.4f;
    for (uint64_t seed = 1; seed < 100; seed++) {
        ggufref_rng_seed(&r, seed);
        assert_int_equal(sample_once(&s, x, 3, NULL, 0, &r), 0);
    }
}

/* top-p's llama2.c crop at (1 - top_p) / (n - 1) can remove every token (uniform, top_p below
 * 1/n): then the argmax (lowest id), after exactly one coin. */
static void test_sample_top_p_crop_empty(void **state) {
    (void)state;
    const float x[4] = {0.0f, 0.0f, 0.0f, 0.0f}; /* p = 0.25 each; cut = 0.9 / 3 = 0.3 */
    ggufref_sampling s = settings(1.0f);
    s.top_p = 0.1f;
    ggufref_rng r = {99};
    assert_int_equal(sample_once(&s, x, 4, NULL, 0, &r), 0);
}

/* Combined: top-p works on the softmax probabilities, not renormalised after top-k / min-p
 * (R-SAMP-018). p = {0.4, 0.35, 0.25}, top_k 2, top_p 0.5: the running mass 0.4 does not
 * exceed 0.5, so both kept tokens stay (renormalised, 0.53 would have kept only token 0). */
static void test_sample_combined_order(void **state) {
    (void)state;
    const float p[3] = {0.4f, 0.35f, 0.25f};
    float x[3];
    logits_from_probs(p, x, 3);
    ggufref_sampling s = settings(1.0f);
    s.top_k = 2;
    s.top_p = 0.5f;
    ggufref_rng r = rng_with_coin_in(0.6f, 1.0f); /* r = coin * 0.75 >= 0.45 > 0.4 */
    assert_int_equal(sample_once(&s, x, 3, NULL, 0, &r), 1);
    /* penalty applies before temperature: logits {2, 1}, history {0}, penalty 4 -> {0.5, 1} */
    const float y[2] = {2.0f, 1.0f};
    ggufref_sampling g = settings(0.0f);
    g.repeat_penalty = 4.0f;
    const int32_t h[1] = {0};
    ggufref_rng r2 = {3};
    assert_int_equal(sample_once(&g, y, 2, h, 1, &r2), 1);
    /* and min-p after it: p ~ {0.38, 0.62} at T = 1, min_p 0.7 keeps only token 1 */
    g = settings(1.0f);
    g.repeat_penalty = 4.0f;
    g.min_p = 0.7f;
    for (uint64_t seed = 1; seed < 40; seed++) {
        ggufref_rng_seed(&r2, seed);
        assert_int_equal(sample_once(&g, y, 2, h, 1, &r2), 1);
    }
}

/* A one-token vocabulary always yields 0 and still draws one coin when sampling. */
static void test_sample_single_token_vocab(void **state) {
    (void)state;
    const float x[1] = {-3.0f};
    for (int mode = 0; mode < 4; mode++) {
        ggufref_sampling s = settings(1.0f);
        if (mode == 1) s.top_p = 0.5f;
        if (mode == 2) s.top_k = 1;
        if (mode == 3) s.min_p = 0.5f;
        ggufref_rng r = {1234};
        assert_int_equal(sample_once(&s, x, 1, NULL, 0, &r), 0);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng_seed42_first_outputs),
        cmocka_unit_test(test_rng_seed0_is_fixed_constant),
        cmocka_unit_test(test_rng_state_belongs_to_caller),
        cmocka_unit_test(test_rng_coin_range),
        cmocka_unit_test(test_expf_fixed_values),
        cmocka_unit_test(test_expf_monotone),
        cmocka_unit_test(test_sampling_default_values),
        cmocka_unit_test(test_sampling_validate_rejects),
        cmocka_unit_test(test_sampling_validate_accepts_edges),
        cmocka_unit_test(test_sampler_create_rejects_zero_vocab),
        cmocka_unit_test(test_sampler_create_out_of_memory),
        cmocka_unit_test(test_fault_alloc_transient_and_persistent),
        cmocka_unit_test(test_sample_argmax_lowest_id_wins_tie),
        cmocka_unit_test(test_sample_repeat_penalty_signs),
        cmocka_unit_test(test_sample_rejects_bad_history),
        cmocka_unit_test(test_sample_rejects_unusable_logits),
        cmocka_unit_test(test_sample_matches_llama2c),
        cmocka_unit_test(test_sample_mult_id_order),
        cmocka_unit_test(test_sample_top_k),
        cmocka_unit_test(test_sample_top_k_ties_by_id),
        cmocka_unit_test(test_sample_min_p),
        cmocka_unit_test(test_sample_top_p),
        cmocka_unit_test(test_sample_top_p_crop_empty),
        cmocka_unit_test(test_sample_combined_order),
        cmocka_unit_test(test_sample_single_token_vocab),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
