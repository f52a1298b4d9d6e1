/*
 * test_fixtures.c — every fixture model is valid for the reference runtime.
 *
 * The fixtures in golden/models (and the build-time stories15m-*.gguf, when built) must:
 *   - open with ggufref_gguf_open_file (R-GGUF-*), version 3, the alignment the manifest says;
 *   - have every tensor sized by the one type table (R-GGUF-023): n_bytes = n_elements /
 *     block_size * type_size, ne[0] a multiple of the block, data aligned inside the file;
 *   - decode (ggufref_dequantize, chapter 4) to finite weights of magnitude below 1;
 *   - bind with ggufref_model_load (chapter 3) to the hyperparameters of manifest.json, and
 *     run a few forward steps to finite, varied logits.
 * Paths come from the environment: GGUFREF_SOURCE_DIR, GGUFREF_BUILD_DIR (set by ctest).
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggufref.h"

#define MAX_FIXTURES 64

/* One manifest.json line, the fields the tests compare. */
typedef struct fixture {
    char file[128];
    char line[1024];
} fixture;

static fixture fixtures[MAX_FIXTURES];
static size_t n_fixtures;
static char models_dir[1024];
static char stories_dir[1024];

/* Unsigned value of "key": N in a manifest line; fails the test if absent. */
static uint64_t json_uint(const char *line, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(line, pat);
    if (!p) fail_msg("manifest line lacks %s: %s", key, line);
    return strtoull(p + strlen(pat), NULL, 10);
}

static bool json_true(const char *line, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": true", key);
    return strstr(line, pat) != NULL;
}

/* Read manifest.json: one fixture object per line. */
static int load_manifest(void **state) {
    (void)state;
    const char *src = getenv("GGUFREF_SOURCE_DIR");
    const char *build = getenv("GGUFREF_BUILD_DIR");
    if (!src || !build) {
        fprintf(stderr, "GGUFREF_SOURCE_DIR and GGUFREF_BUILD_DIR must be set (ctest sets them)\n");
        return -1;
    }
    snprintf(models_dir, sizeof models_dir, "%s/golden/models", src);
    snprintf(stories_dir, sizeof stories_dir, "%s/fixtures", build);
    char path[1100];
    snprintf(path, sizeof path, "%s/manifest.json", models_dir);
    FILE *fp = fopen(path, "r");
    if (!fp) return -1;
    char line[1024];
    while (fgets(line, sizeof line, fp) && n_fixtures < MAX_FIXTURES) {
        const char *f = strstr(line, "\"file\": \"");
        if (!f) continue;
        fixture *fx = &fixtures[n_fixtures++];
        snprintf(fx->line, sizeof fx->line, "%s", line);
        f += strlen("\"file\": \"");
        size_t len = strcspn(f, "\"");
        snprintf(fx->file, sizeof fx->file, "%.*s", (int)len, f);
    }
    fclose(fp);
    return n_fixtures ? 0 : -1;
}

static ggufref_gguf *open_or_fail(const char *dir, const char *file) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    ggufref_gguf *g = NULL;
    ggufref_error err;
    ggufref_status st = ggufref_gguf_open_file(path, &g, &err);
    if (st != GGUFREF_OK) fail_msg("%s: %s: %s", file, ggufref_status_name(st), err.message);
    return g;
}

/* Every tensor is sized by the type table and lies aligned inside the file (R-GGUF-023). */
static void check_tensors(const ggufref_gguf *g, const char *file) {
    uint32_t alignment = ggufref_gguf_alignment(g);
    const uint8_t *base = ggufref_gguf_bytes(g) + ggufref_gguf_data_offset(g);
    assert_int_equal(ggufref_gguf_data_offset(g) % alignment, 0);
    for (uint64_t i = 0; i < ggufref_gguf_n_tensors(g); i++) {
        ggufref_tensor t;
        assert_int_equal(ggufref_gguf_tensor(g, i, &t), GGUFREF_OK);
        const ggufref_type_info *ti = ggufref_type_info_get(t.type);
        if (!ti || !ti->can_decode) fail_msg("%s: %.*s has type %u", file, (int)t.name.len, t.name.ptr, t.type);
        uint64_t n = 1;
        for (uint32_t d = 0; d < t.n_dims; d++) n *= t.ne[d];
        assert_int_equal(t.n_elements, n);
        assert_int_equal(t.ne[0] % ti->block_size, 0);
        assert_int_equal(t.n_bytes, n / ti->block_size * ti->type_size);
        assert_int_equal(t.offset % alignment, 0);
        assert_ptr_equal(t.data, base + t.offset);
        assert_true(ggufref_gguf_data_offset(g) + t.offset + t.n_bytes <= ggufref_gguf_size(g));
    }
}

static void test_fixtures_open_all(void **state) {
    (void)state;
    for (size_t i = 0; i < n_fixtures; i++) {
        ggufref_gguf *g = open_or_fail(models_dir, fixtures[i].file);
        assert_int_equal(ggufref_gguf_version(g), 3);
        assert_int_equal(ggufref_gguf_alignment(g), json_uint(fixtures[i].line, "alignment"));
        assert_int_equal(ggufref_gguf_size(g), json_uint(fixtures[i].line, "size"));
        check_tensors(g, fixtures[i].file);
        ggufref_gguf_close(g);
    }
}

/* Decode every tensor; every weight finite and |w| < 1. */
static void check_decode(const ggufref_gguf *g, const char *file) {
    for (uint64_t i = 0; i < ggufref_gguf_n_tensors(g); i++) {
        ggufref_tensor t;
        assert_int_equal(ggufref_gguf_tensor(g, i, &t), GGUFREF_OK);
        float *w = malloc((size_t)t.n_elements * sizeof *w);
        assert_non_null(w);
        assert_int_equal(ggufref_dequantize(t.type, t.data, w, (size_t)t.n_elements), GGUFREF_OK);
        float max = 0.0f;
        for (uint64_t k = 0; k < t.n_elements; k++) {
            if (!isfinite(w[k])) fail_msg("%s: %.*s[%llu] not finite", file, (int)t.name.len, t.name.ptr, (unsigned long long)k);
            if (fabsf(w[k]) > max) max = fabsf(w[k]);
        }
        /* rope_freqs.weight holds divisors of RoPE frequencies in [1, 8] (SPEC R-MODEL-021) */
        bool divisors = t.name.len == 17 && memcmp(t.name.ptr, "rope_freqs.weight", 17) == 0;
        if (max >= (divisors ? 8.5f : 1.25f) || max == 0.0f) fail_msg("%s: %.*s max |w| = %g", file, (int)t.name.len, t.name.ptr, (double)max);
        free(w);
    }
}

static void test_fixtures_decode_all(void **state) {
    (void)state;
    for (size_t i = 0; i < n_fixtures; i++) {
        ggufref_gguf *g = open_or_fail(models_dir, fixtures[i].file);
        check_decode(g, fixtures[i].file);
        ggufref_gguf_close(g);
    }
}

static const char *const stories[] = {
    "stories15m-f32.gguf", "stories15m-q8_0.gguf", "stories15m-q4_k.gguf",
};

/* The build-time benchmark models open, are sized right and bind (skipped if not built). */
static void test_fixtures_stories_open(void **state) {
    (void)state;
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", stories_dir, stories[0]);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "skip: %s not built (target fixtures-stories15m)\n", path);
        skip();
    }
    fclose(fp);
    for (size_t i = 0; i < sizeof stories / sizeof stories[0]; i++) {
        ggufref_gguf *g = open_or_fail(stories_dir, stories[i]);
        check_tensors(g, stories[i]);
        assert_int_equal(ggufref_gguf_n_tensors(g), 2 + 6 * 9);
        ggufref_model *m = NULL;
        ggufref_error err;
        ggufref_status st = ggufref_model_load(g, &m, &err);
        if (st != GGUFREF_OK) fail_msg("%s: %s: %s", stories[i], ggufref_status_name(st), err.message);
        ggufref_model_info info;
        ggufref_model_get_info(m, &info);
        assert_int_equal(info.dim, 288);
        assert_int_equal(info.n_layers, 6);
        assert_int_equal(info.n_heads, 6);
        assert_int_equal(info.n_kv_heads, 6);
        assert_int_equal(info.ffn_dim, 768);
        assert_int_equal(info.n_vocab, 32000);
        assert_int_equal(info.n_ctx_train, 256);
        assert_true(info.tied_output);
        ggufref_model_free(m);
        ggufref_gguf_close(g);
    }
}

/* ggufref_model_load binds every fixture to the manifest's hyperparameters (chapter 3). */
static void test_fixtures_model_load(void **state) {
    (void)state;
    for (size_t i = 0; i < n_fixtures; i++) {
        const char *line = fixtures[i].line;
        ggufref_gguf *g = open_or_fail(models_dir, fixtures[i].file);
        ggufref_model *m = NULL;
        ggufref_error err;
        ggufref_status st = ggufref_model_load(g, &m, &err);
        if (st != GGUFREF_OK) fail_msg("%s: %s: %s", fixtures[i].file, ggufref_status_name(st), err.message);
        ggufref_model_info info;
        ggufref_model_get_info(m, &info);
        assert_int_equal(info.dim, json_uint(line, "dim"));
        assert_int_equal(info.n_layers, json_uint(line, "n_layers"));
        assert_int_equal(info.n_heads, json_uint(line, "n_heads"));
        assert_int_equal(info.n_kv_heads, json_uint(line, "n_kv_heads"));
        assert_int_equal(info.head_dim, json_uint(line, "head_dim"));
        assert_int_equal(info.ffn_dim, json_uint(line, "ffn"));
        assert_int_equal(info.n_vocab, json_uint(line, "n_vocab"));
        assert_int_equal(info.n_ctx_train, json_uint(line, "n_ctx"));
        assert_int_equal(info.tied_output, json_true(line, "tied"));
        assert_int_equal(info.rope_dim, info.head_dim);
        if (strstr(line, "\"tokenizer\": \"gpt2\"") != NULL) { /* BPE: BOS, EOS last; no UNK */
            assert_int_equal(info.bos_id, (int32_t)info.n_vocab - 2);
            assert_int_equal(info.eos_id, (int32_t)info.n_vocab - 1);
            assert_int_equal(info.unk_id, -1);
        } else {
            assert_int_equal(info.bos_id, 1);
            assert_int_equal(info.eos_id, 2);
            assert_int_equal(info.unk_id, 0);
        }
        assert_true(info.add_bos);
        /* A few steps: logits finite and not all equal (the fixtures are meant to give
         * varied logits: scales small and finite). */
        ggufref_context *ctx = NULL;
        assert_int_equal(ggufref_context_create(m, 0, &ctx), GGUFREF_OK);
        const int32_t prompt[] = {1, 259 + 40, 259 + 5, 7};
        for (uint32_t pos = 0; pos < 4; pos++) {
            const float *logits = NULL;
            assert_int_equal(ggufref_forward(ctx, prompt[pos], pos, &logits), GGUFREF_OK);
            float lo = logits[0], hi = logits[0];
            for (uint32_t k = 0; k < info.n_vocab; k++) {
                if (!isfinite(logits[k])) fail_msg("%s: logit %u not finite at pos %u", fixtures[i].file, k, pos);
                lo = logits[k] < lo ? logits[k] : lo;
                hi = logits[k] > hi ? logits[k] : hi;
            }
            if (!(hi - lo > 0.5f)) fail_msg("%s: logits span only %g at pos %u", fixtures[i].file, (double)(hi - lo), pos);
        }
        ggufref_context_free(ctx);
        ggufref_model_free(m);
        ggufref_gguf_close(g);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures_open_all),
        cmocka_unit_test(test_fixtures_decode_all),
        cmocka_unit_test(test_fixtures_stories_open),
        cmocka_unit_test(test_fixtures_model_load),
    };
    return cmocka_run_group_tests(tests, load_manifest, NULL);
}
