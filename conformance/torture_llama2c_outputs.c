/*
 * torture_llama2c_outputs.c — the reference reproduces the five published llama2.c outputs for
 * stories260K exactly (SPEC R-SAMP-020, R-SAMP-040; R-TOK-021; R-RNG-001..003).
 *
 * Material: ../shared/material/stories260K-f32.v1.gguf and goldens/<id>.txt (the texts of
 * goldens/stories260K_llama2c_goldens.json; the run parameters are copied into RUNS below).
 * Skipped with a reason when absent.
 *
 * Two paths, both must match byte for byte:
 *   - the library, driven by run.c's loop written out here (BOS + prompt forced, positions
 *     0..steps-1, a sampled BOS ends the run, text = pieces of every token after BOS);
 *   - the CLI, `ggufref generate --steps ...` (prints the same text and a newline).
 * When a run differs, the message names the first differing byte and token, which tells
 * tokenization (prompt), sampling (seeded runs only) and numerics (greedy runs) apart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli_run.h"
#include "files.h"
#include "ggufref.h"

#define PATH_LEN 1024

typedef struct golden_run {
    const char *id;      /* goldens/<id>.txt */
    float temperature;
    float top_p;         /* 1 when the run has none */
    uint64_t seed;       /* 0 when the run has none (unused at temperature 0) */
    int32_t steps;
    const char *prompt;
} golden_run;

/* From stories260K_llama2c_goldens.json. */
static const golden_run RUNS[] = {
    {"stories260K_greedy_n200_noprompt", 0.0f, 1.0f, 0, 200, ""},
    {"stories260K_t1_p1_s42_n200_noprompt", 1.0f, 1.0f, 42, 200, ""},
    {"stories260K_t1_p095_s42_n200_noprompt", 1.0f, 0.95f, 42, 200, ""},
    {"stories260K_t1_p095_s42_n200_prompt_There_was_a_big", 1.0f, 0.95f, 42, 200, "There was a big"},
    {"stories260K_greedy_n64_prompt_Once_upon_a_time", 0.0f, 1.0f, 0, 64, "Once upon a time"},
};
#define N_RUNS (sizeof RUNS / sizeof RUNS[0])

/* The material file REL, or NULL when absent. OUT: buf. */
static const char *material(const char *rel, char *buf) {
    return material_path(rel, buf, PATH_LEN) ? buf : NULL;
}

/* The whole file (must exist). OUT: *len. */
static char *slurp(const char *path, size_t *len) {
    char *b = read_whole_file(path, len);
    assert_non_null(b);
    return b;
}

typedef struct fixture {
    ggufref_gguf *gguf;
    ggufref_model *model;
    char path[PATH_LEN];
} fixture;

static int setup(void **state) {
    static fixture f;
    *state = NULL;
    if (material("stories260K-f32.v1.gguf", f.path) == NULL) return 0;
    if (ggufref_gguf_open_file(f.path, &f.gguf, NULL) != GGUFREF_OK) return -1;
    if (ggufref_model_load(f.gguf, &f.model, NULL) != GGUFREF_OK) return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    if (f != NULL) {
        ggufref_model_free(f->model);
        ggufref_gguf_close(f->gguf);
    }
    return 0;
}

static fixture *need_material(void **state) {
    if (*state == NULL) {
        print_message("SKIP: shared material stories260K-f32.v1.gguf absent (set GGUFREF_SHARED_DIR)\n");
        skip();
    }
    return *state;
}

/* Text appended to a growing buffer. */
typedef struct text_buf {
    char *p;
    size_t len, cap;
} text_buf;

static void text_append(text_buf *t, ggufref_str s) {
    if (t->len + s.len + 1 > t->cap) {
        t->cap = 2 * (t->len + s.len) + 256;
        t->p = realloc(t->p, t->cap);
        assert_non_null(t->p);
    }
    memcpy(t->p + t->len, s.ptr, s.len);
    t->len += s.len;
    t->p[t->len] = '\0';
}

/* run.c's generate() on the library (R-SAMP-040). OUT: text, *n_sampled. Returns the final
 * RNG so the caller can count coins. */
static ggufref_rng run_llama2c(const fixture *f, const golden_run *r, text_buf *text,
                               int32_t *tokens, size_t *n_sampled) {
    ggufref_model_info info;
    ggufref_model_get_info(f->model, &info);
    ggufref_context *ctx = NULL;
    ggufref_sampler *sm = NULL;
    assert_int_equal(ggufref_context_create(f->model, 0, &ctx), GGUFREF_OK);
    assert_int_equal(ggufref_sampler_create(info.n_vocab, &sm), GGUFREF_OK);
    assert_true((uint32_t)r->steps <= ggufref_context_n_ctx(ctx));
    ggufref_sampling s;
    ggufref_sampling_default(&s);
    s.temperature = r->temperature;
    s.top_p = r->top_p;
    s.seed = r->seed;
    ggufref_rng rng;
    ggufref_rng_seed(&rng, s.seed);
    size_t n = 0;
    assert_int_equal(ggufref_tokenize(f->model, r->prompt, strlen(r->prompt), true, tokens,
                                      (size_t)r->steps, &n),
                     GGUFREF_OK);
    assert_int_equal(tokens[0], info.bos_id);
    size_t n_prompt = n;
    float *work = malloc(info.n_vocab * sizeof *work);
    assert_non_null(work);
    *n_sampled = 0;
    for (uint32_t pos = 0; pos < (uint32_t)r->steps; pos++) {
        const float *logits;
        assert_int_equal(ggufref_forward(ctx, tokens[pos], pos, &logits), GGUFREF_OK);
        int32_t next;
        if (pos + 1 < n_prompt) {
            next = tokens[pos + 1];
        } else {
            memcpy(work, logits, info.n_vocab * sizeof *work);
            assert_int_equal(ggufref_sample(sm, &s, work, tokens, n, &rng, &next), GGUFREF_OK);
            (*n_sampled)++;
            if (next == info.bos_id) break;
            tokens[n++] = next;
        }
        text_append(text, ggufref_token_to_piece(f->model, tokens[pos], next));
    }
    free(work);
    ggufref_sampler_free(sm);
    ggufref_context_free(ctx);
    return rng;
}

/* fail_msg naming the first differing byte and the token around it. */
static void compare_text(const golden_run *r, const char *got, size_t got_len, const char *want,
                         size_t want_len, const char *path) {
    size_t i = 0;
    while (i < got_len && i < want_len && got[i] == want[i]) i++;
    if (i == got_len && i == want_len) return;
    size_t from = i > 30 ? i - 30 : 0;
    fail_msg("%s (%s): first difference at byte %zu of %zu (want %zu)\n  got:  ...%.60s\n  want: ...%.60s",
             r->id, path, i, got_len, want_len, got + from, want + from);
}

/* R-SAMP-020, R-SAMP-030, R-SAMP-040: each run through the library. */
static void test_goldens_library(void **state) {
    fixture *f = need_material(state);
    for (size_t k = 0; k < N_RUNS; k++) {
        char rel[256], path[PATH_LEN];
        snprintf(rel, sizeof rel, "goldens/%s.txt", RUNS[k].id);
        if (material(rel, path) == NULL) {
            print_message("SKIP: %s absent\n", rel);
            skip();
        }
        size_t want_len;
        char *want = slurp(path, &want_len);
        text_buf text = {0};
        int32_t tokens[512];
        size_t n_sampled;
        ggufref_rng end = run_llama2c(f, &RUNS[k], &text, tokens, &n_sampled);
        compare_text(&RUNS[k], text.p ? text.p : "", text.len, want, want_len, "library");
        /* exactly one coin per sampled token (none when greedy) */
        ggufref_rng expect;
        ggufref_rng_seed(&expect, RUNS[k].seed);
        if (RUNS[k].temperature > 0.0f) {
            for (size_t i = 0; i < n_sampled; i++) (void)ggufref_rng_u32(&expect);
        }
        assert_true(end.state == expect.state);
        free(text.p);
        free(want);
    }
}

/* R-SAMP-040: `ggufref generate --steps` prints each golden text and a newline. */
static void test_goldens_cli(void **state) {
    fixture *f = need_material(state);
    for (size_t k = 0; k < N_RUNS; k++) {
        const golden_run *r = &RUNS[k];
        char rel[256], path[PATH_LEN];
        snprintf(rel, sizeof rel, "goldens/%s.txt", r->id);
        if (material(rel, path) == NULL) skip();
        char args[3 * PATH_LEN];
        snprintf(args, sizeof args,
                 "generate --model '%s' --steps %d --temperature %g --top-p %g --seed %llu --prompt '%s'",
                 f->path, (int)r->steps, (double)r->temperature, (double)r->top_p,
                 (unsigned long long)r->seed, r->prompt);
        cli_result res;
        if (!cli_run(args, &res)) {
            print_message("SKIP: the ggufref binary is not built (GGUFREF_BUILD_DIR)\n");
            skip();
        }
        assert_int_equal(res.exit_code, 0);
        size_t want_len;
        char *want = slurp(path, &want_len);
        assert_true(res.out_len >= 1 && res.out[res.out_len - 1] == '\n');
        compare_text(r, res.out, res.out_len - 1, want, want_len, "cli");
        cli_result_free(&res);
        free(want);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_goldens_library),
        cmocka_unit_test(test_goldens_cli),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
