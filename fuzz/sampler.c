/*
 * sampler.c — fuzz target: settings, logits and a history from bytes to ggufref_sample (SPEC
 * chapter 6, R-SAMP-*).
 *
 * Input layout (short inputs read as zeros):
 *   byte 0      mode: bit k set = field k taken as raw bits (NaN, inf, negatives, huge values),
 *               clear = mapped into its valid range, so most inputs reach the pipeline:
 *               0 temperature, 1 top_k, 2 top_p, 3 min_p, 4 repeat_penalty, 5 repeat_last_n,
 *               6 history ids, 7 logits
 *   then        n_vocab (1..512), the eight fields above, seed (u64), n_history (0..255),
 *               the history ids, then one logit per token
 * Properties:
 *   - the status is validate()'s verdict for invalid settings (INVALID_ARGUMENT), else OK,
 *     INVALID_ARGUMENT (history id out of range in the window) or GENERATION_FAILED (unusable
 *     logits, R-SAMP-012);
 *   - OK: the token is in [0, n_vocab) (R-SAMP-019); with temperature 0 it is the lowest id of
 *     the largest (penalised) logit (R-SAMP-013);
 *   - exactly one coin is drawn iff the call succeeds with temperature > 0 (R-SAMP-030);
 *   - the same input gives the same status, token, RNG state and logits (a second run from
 *     fresh copies).
 */
#include "fuzz.h"

#define FZ_MAX_VOCAB 512u

typedef struct fz_case {
    ggufref_sampling s;
    uint32_t n_vocab;
    int32_t history[255];
    size_t n_history;
} fz_case;

/* Settings: each field raw or mapped, per the mode bits. */
static void read_settings(fz_bytes *in, uint8_t mode, fz_case *c) {
    ggufref_sampling *s = &c->s;
    ggufref_sampling_default(s);
    c->n_vocab = fz_range(in, 1, FZ_MAX_VOCAB);
    s->temperature = (mode & 1u) ? fz_f32_bits(in) : (float)fz_u8(in) / 64.0f;
    s->top_k = (mode & 2u) ? (int32_t)fz_u32(in) : (int32_t)fz_range(in, 0, c->n_vocab + 1);
    s->top_p = (mode & 4u) ? fz_f32_bits(in) : (float)(fz_u16(in) + 1u) / 65536.0f;
    s->min_p = (mode & 8u) ? fz_f32_bits(in) : (float)fz_u16(in) / 65535.0f;
    s->repeat_penalty = (mode & 16u) ? fz_f32_bits(in) : 0.25f + (float)fz_u8(in) / 64.0f;
    s->repeat_last_n = (mode & 32u) ? (int32_t)fz_u32(in) : (int32_t)fz_u8(in);
    s->seed = fz_u64(in);
    s->max_tokens = 1;
    c->n_history = fz_u8(in);
    for (size_t i = 0; i < c->n_history; i++) {
        c->history[i] = (mode & 64u) ? (int32_t)fz_u32(in) : (int32_t)fz_range(in, 0, c->n_vocab - 1);
    }
}

/* Logits: raw f32 bits, or int16 / 256 (many ties, all usable). */
static void read_logits(fz_bytes *in, uint8_t mode, float *logits, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        logits[i] = (mode & 128u) ? fz_f32_bits(in) : (float)(int16_t)fz_u16(in) / 256.0f;
    }
}

/* Lowest id of the largest value (the reference's argmax contract). */
static int32_t lowest_argmax(const float *v, uint32_t n) {
    uint32_t best = 0;
    for (uint32_t i = 1; i < n; i++) {
        if (v[i] > v[best]) best = i;
    }
    return (int32_t)best;
}

typedef struct fz_run {
    ggufref_status st;
    int32_t token;
    ggufref_rng rng;
} fz_run;

static fz_run run_once(const fz_case *c, float *logits) {
    ggufref_sampler *sampler = NULL;
    fz_run r = {GGUFREF_OK, -1, {0}};
    ggufref_status st = ggufref_sampler_create(c->n_vocab, &sampler);
    FZ_CHECK(st == GGUFREF_OK, "sampler_create(%u): %s", c->n_vocab, ggufref_status_name(st));
    ggufref_rng_seed(&r.rng, c->s.seed);
    r.st = ggufref_sample(sampler, &c->s, logits, c->history, c->n_history, &r.rng, &r.token);
    ggufref_sampler_free(sampler);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_bytes in = fz_bytes_make(data, size);
    uint8_t mode = fz_u8(&in);
    fz_case c;
    read_settings(&in, mode, &c);
    float *input = malloc(c.n_vocab * sizeof *input);
    float *a = malloc(c.n_vocab * sizeof *a);
    float *b = malloc(c.n_vocab * sizeof *b);
    FZ_CHECK(input != NULL && a != NULL && b != NULL, "out of memory in the target");
    read_logits(&in, mode, input, c.n_vocab);
    memcpy(a, input, c.n_vocab * sizeof *a);
    memcpy(b, input, c.n_vocab * sizeof *b);

    ggufref_error err;
    ggufref_status valid = ggufref_sampling_validate(&c.s, &err);
    fz_run r1 = run_once(&c, a);
    fz_run r2 = run_once(&c, b);
    FZ_CHECK(r1.st == r2.st && r1.token == r2.token && r1.rng.state == r2.rng.state,
             "not deterministic: %s/%d vs %s/%d", ggufref_status_name(r1.st), r1.token,
             ggufref_status_name(r2.st), r2.token);
    FZ_CHECK(memcmp(a, b, c.n_vocab * sizeof *a) == 0, "logits differ between two runs");

    ggufref_rng seeded, one_coin;
    ggufref_rng_seed(&seeded, c.s.seed);
    one_coin = seeded;
    (void)ggufref_rng_u32(&one_coin);
    if (valid != GGUFREF_OK) {
        fz_check_error(valid, &err, 0);
        FZ_CHECK(r1.st == GGUFREF_ERR_INVALID_ARGUMENT, "invalid settings (%s) gave %s",
                 err.message, ggufref_status_name(r1.st));
    } else {
        FZ_CHECK(r1.st == GGUFREF_OK || r1.st == GGUFREF_ERR_INVALID_ARGUMENT ||
                     r1.st == GGUFREF_ERR_GENERATION_FAILED,
                 "status %s", ggufref_status_name(r1.st));
    }
    if (r1.st == GGUFREF_OK) {
        FZ_CHECK(r1.token >= 0 && (uint32_t)r1.token < c.n_vocab, "token %d of %u", r1.token,
                 c.n_vocab);
        if (c.s.temperature == 0.0f) {
            FZ_CHECK(r1.token == lowest_argmax(a, c.n_vocab), "argmax %d, expected %d",
                     r1.token, lowest_argmax(a, c.n_vocab));
            FZ_CHECK(r1.rng.state == seeded.state, "a coin was drawn at temperature 0");
        } else {
            FZ_CHECK(r1.rng.state == one_coin.state, "not exactly one coin");
        }
    } else {
        FZ_CHECK(r1.rng.state == seeded.state, "a coin was drawn by a failing call");
    }
    free(input);
    free(a);
    free(b);
    return 0;
}
