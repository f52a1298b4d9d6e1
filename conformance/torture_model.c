/*
 * torture_model.c — model binding against SPEC chapter 3 (R-MODEL-*).
 *
 * 1. The binding catalog (catalog/model_catalog.h: ONE table of {name, mutation of a valid tiny
 *    model, expected status, a word the message must contain}): every row builds its model in
 *    memory (support/llama_builder.h), opens it and binds it.
 * 2. Defaults, integer widths, tied output, zero-copy weights, weight_bytes, norms of other
 *    types, vocab-only binding, argument checks, allocation failure at every point.
 * 3. The real files in ../shared/material (skipped with a reason when absent).
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"
#include "ggufref.h"
#include "model_catalog.h"
#include "oom.h"
#include "model.h"

/* A built model, opened and (maybe) bound. */
typedef struct bound {
    void *bytes;
    ggufref_gguf *gguf;
    ggufref_model *model;
    ggufref_error err;
    ggufref_status st;
} bound;

static void bind_config(const lb_config *c, bound *out) {
    gb_buf b;
    lb_build(c, &b);
    memset(out, 0, sizeof *out);
    out->bytes = gb_dup(&b);
    ggufref_error gerr;
    ggufref_status st = ggufref_gguf_open_memory(out->bytes, b.len, &out->gguf, &gerr);
    if (st != GGUFREF_OK) fail_msg("builder made an unreadable file: %s", gerr.message);
    gb_free(&b);
    out->st = ggufref_model_load(out->gguf, &out->model, &out->err);
}

static void unbind(bound *b) {
    ggufref_model_free(b->model);
    ggufref_gguf_close(b->gguf);
    free(b->bytes);
}

/* ===================================================================================== */
/* 1. The binding catalog                                                                 */
/* ===================================================================================== */

/* One catalog row: the expected status, a clean one-line message naming the key or tensor,
 * *model NULL on failure. */
static void run_catalog_row(void **state) {
    const mcat_case *bc = *state;
    lb_config c;
    lb_default(&c);
    bc->mutate(&c);
    bound b;
    bind_config(&c, &b);
    if (b.st != bc->expected) {
        fail_msg("%s (%s): got %s (%s), expected %s", bc->name, bc->rule,
                 ggufref_status_name(b.st), b.err.message, ggufref_status_name(bc->expected));
    }
    if (bc->expected != GGUFREF_OK) {
        assert_null(b.model);
        assert_int_equal(b.err.status, bc->expected);
        assert_null(strchr(b.err.message, '\n'));
        if (bc->message_word && strstr(b.err.message, bc->message_word) == NULL) {
            fail_msg("%s: message '%s' does not name '%s'", bc->name, b.err.message, bc->message_word);
        }
    } else {
        assert_non_null(b.model);
    }
    unbind(&b);
    /* R-GGUF-051: loaded as a model (the protocol's load-model), the same status and word */
    gb_buf file;
    mcat_build(bc, &file);
    ggufref_runtime *rt = NULL;
    assert_int_equal(ggufref_runtime_create(&rt), GGUFREF_OK);
    ggufref_status st = ggufref_runtime_load_model(rt, file.data, file.len);
    ggufref_error err;
    assert_int_equal(ggufref_runtime_last_error(rt, &err), GGUFREF_OK);
    if (st != bc->expected) {
        fail_msg("%s: load-model got %s (%s), expected %s", bc->name, ggufref_status_name(st),
                 err.message, ggufref_status_name(bc->expected));
    }
    if (bc->message_word && strstr(err.message, bc->message_word) == NULL) {
        fail_msg("%s: load-model message '%s' does not name '%s'", bc->name, err.message,
                 bc->message_word);
    }
    ggufref_runtime_destroy(rt);
    gb_free(&file);
}

/* ===================================================================================== */
/* 2. Behaviours                                                                          */
/* ===================================================================================== */

/* R-MODEL-002: absent head_count_kv, rope.dimension_count, rope.freq_base, rms epsilon take
 * their defaults. */
static void test_model_defaults(void **state) {
    (void)state;
    lb_config c;
    lb_default(&c);
    c.omit_defaults = true;
    c.n_kv_heads = c.n_heads; /* the default: MHA */
    bound b;
    bind_config(&c, &b);
    assert_int_equal(b.st, GGUFREF_OK);
    ggufref_model_info in;
    ggufref_model_get_info(b.model, &in);
    assert_int_equal(in.n_kv_heads, 4);
    assert_int_equal(in.head_dim, 8);
    assert_int_equal(in.rope_dim, 8);
    assert_true(in.rope_freq_base == 10000.0f);
    assert_true(in.rms_eps == 1e-5f);
    assert_int_equal(in.dim, 32);
    assert_int_equal(in.n_layers, 2);
    assert_int_equal(in.ffn_dim, 48);
    assert_int_equal(in.n_ctx_train, 16);
    assert_int_equal(in.n_vocab, 8);
    assert_int_equal(in.bos_id, 1);
    assert_int_equal(in.eos_id, 2);
    unbind(&b);
}

static uint64_t kv_u64_block_count(gb_buf *kv, const void *u) {
    (void)u;
    gb_kv_u64(kv, "llama.block_count", 2);
    return 1;
}

/* R-MODEL-003: counts in any integer width real files use (u64 here). */
static void test_model_accepts_wide_integers(void **state) {
    (void)state;
    lb_config c;
    lb_default(&c);
    c.skip_key = "llama.block_count";
    c.extra_kv = kv_u64_block_count;
    bound b;
    bind_config(&c, &b);
    assert_int_equal(b.st, GGUFREF_OK);
    ggufref_model_info in;
    ggufref_model_get_info(b.model, &in);
    assert_int_equal(in.n_layers, 2);
    unbind(&b);
}

/* R-MODEL-014: no output.weight -> token_embd.weight is the output matrix. */
static void test_model_tied_output(void **state) {
    (void)state;
    lb_config c;
    lb_default(&c);
    c.tied = true;
    bound b;
    bind_config(&c, &b);
    assert_int_equal(b.st, GGUFREF_OK);
    ggufref_model_info in;
    ggufref_model_get_info(b.model, &in);
    assert_true(in.tied_output);
    assert_ptr_equal(b.model->output.data, b.model->token_embd.data);
    unbind(&b);
    lb_default(&c);
    bind_config(&c, &b);
    ggufref_model_get_info(b.model, &in);
    assert_false(in.tied_output);
    assert_ptr_not_equal(b.model->output.data, b.model->token_embd.data);
    unbind(&b);
}

/* R-MODEL-015: weights are views into the file (no copy), F32 norms too. */
static void test_model_weights_are_views(void **state) {
    (void)state;
    lb_config c;
    lb_default(&c);
    bound b;
    bind_config(&c, &b);
    assert_int_equal(b.st, GGUFREF_OK);
    ggufref_tensor t;
    ggufref_gguf_tensor(b.gguf, (uint64_t)ggufref_gguf_find_tensor(b.gguf, "blk.1.attn_v.weight"), &t);
    assert_ptr_equal(b.model->layers[1].wv.data, t.data);
    ggufref_gguf_tensor(b.gguf, (uint64_t)ggufref_gguf_find_tensor(b.gguf, "blk.0.ffn_norm.weight"), &t);
    assert_ptr_equal(b.model->layers[0].ffn_norm, (const void *)t.data);
    assert_null(b.model->norm_copies);
    unbind(&b);
}

/* R-MODEL-015: norms of another type are decoded once (F16 here) and bind fine. */
static void test_model_f16_norms_are_decoded(void **state) {
    (void)state;
    lb_config c;
    lb_default(&c);
    c.norm_type = GGUFREF_T_F16;
    bound b;
    bind_config(&c, &b);
    assert_int_equal(b.st, GGUFREF_OK);
    assert_non_null(b.model->norm_copies);
    ggufref_tensor t;
    ggufref_gguf_tensor(b.gguf, (uint64_t)ggufref_gguf_find_tensor(b.gguf, "output_norm.weight"), &t);
    float want[32];
    assert_int_equal(ggufref_dequantize(GGUFREF_T_F16, t.data, want, 32), GGUFREF_OK);
    assert_memory_equal(b.model->output_norm, want, sizeof want);
    unbind(&b);
}

/* R-MODEL-016: weight_bytes = every layer tensor + output_norm + output + one embedding row. */
static void test_model_weight_bytes(void **state) {
    (void)state;
    lb_config c;
    lb_default(&c);
    bound b;
    bind_config(&c, &b);
    ggufref_model_info in;
    ggufref_model_get_info(b.model, &in);
    uint64_t layer = 4 * (32 * 32 + 32 * 16 * 2 + 32 * 32 + 3 * 32 * 48 + 2 * 32);
    uint64_t want = 2 * layer + 4 * 32 + 4 * 32 * 8 + 4 * 32;
    assert_int_equal(in.weight_bytes, want);
    unbind(&b);
    c.mat_type = GGUFREF_T_Q8_0; /* 34 bytes per 32 elements */
    c.ffn = 64;
    bind_config(&c, &b);
    assert_int_equal(b.st, GGUFREF_OK);
    ggufref_model_get_info(b.model, &in);
    uint64_t qlayer = (32 * 32 + 32 * 16 * 2 + 32 * 32 + 3 * 32 * 64) / 32 * 34 + 4 * 2 * 32;
    assert_int_equal(in.weight_bytes, 2 * qlayer + 4 * 32 + 32 * 8 / 32 * 34 + 34);
    unbind(&b);
}

/* R-MODEL-008: vocab-only binding needs no llama keys or tensors; a context cannot be made. */
static void test_model_load_vocab(void **state) {
    (void)state;
    lb_config c;
    lb_default(&c);
    c.arch = "gpt2"; /* ignored by load_vocab */
    bound b;
    bind_config(&c, &b);
    assert_int_equal(b.st, GGUFREF_ERR_UNSUPPORTED_MODEL);
    ggufref_model *m = NULL;
    ggufref_error err;
    assert_int_equal(ggufref_model_load_vocab(b.gguf, &m, &err), GGUFREF_OK);
    ggufref_model_info in;
    ggufref_model_get_info(m, &in);
    assert_int_equal(in.n_vocab, 8);
    assert_int_equal(in.n_layers, 0);
    ggufref_context *ctx = (ggufref_context *)&ctx;
    assert_int_equal(ggufref_context_create(m, 0, &ctx), GGUFREF_ERR_MODEL_NOT_LOADED);
    assert_null(ctx);
    ggufref_model_free(m);
    unbind(&b);
}

/* R-MODEL-009: NULL arguments; free(NULL) and get_info(NULL) are harmless. */
static void test_model_rejects_null_arguments(void **state) {
    (void)state;
    ggufref_model *m = (ggufref_model *)&m;
    ggufref_error err;
    assert_int_equal(ggufref_model_load(NULL, &m, &err), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_null(m);
    assert_int_equal(ggufref_model_load(NULL, NULL, NULL), GGUFREF_ERR_INVALID_ARGUMENT);
    assert_int_equal(ggufref_model_load_vocab(NULL, &m, NULL), GGUFREF_ERR_INVALID_ARGUMENT);
    ggufref_model_free(NULL);
    ggufref_model_info in;
    ggufref_model_get_info(NULL, &in);
    assert_int_equal(in.n_vocab, 0);
}

/* A bind under oom_each. */
typedef struct bind_oom {
    const ggufref_gguf *g;
    ggufref_model *m;
    ggufref_error err;
} bind_oom;

static int bind_oom_op(void *user) {
    bind_oom *o = user;
    o->m = NULL;
    return ggufref_model_load(o->g, &o->m, &o->err);
}

static void bind_oom_check(void *user, const oom_run *run) {
    bind_oom *o = user;
    if (!run->fired) {
        assert_int_equal(run->status, GGUFREF_OK);
        ggufref_model_free(o->m);
        return;
    }
    assert_int_equal(run->status, GGUFREF_ERR_OUT_OF_MEMORY);
    assert_null(o->m);
}

/* R-MODEL-009, R-FAULT-001: every allocation of a bind fails in turn (alone, then with every
 * later one): OUT_OF_MEMORY, nothing leaked, and the bind after the last one succeeds. */
static void test_model_allocation_failures(void **state) {
    (void)state;
    lb_config c;
    lb_default(&c);
    c.norm_type = GGUFREF_T_BF16; /* exercise the norm copies too */
    gb_buf b;
    lb_build(&c, &b);
    void *bytes = gb_dup(&b);
    ggufref_gguf *g;
    assert_int_equal(ggufref_gguf_open_memory(bytes, b.len, &g, NULL), GGUFREF_OK);
    bind_oom o = {g, NULL, {0}};
    assert_true(oom_each(bind_oom_op, bind_oom_check, &o) > 2); /* more than 2 allocations */
    ggufref_gguf_close(g);
    free(bytes);
    gb_free(&b);
}

/* ===================================================================================== */
/* 2b. Architectures (the family fixtures of golden/models)                               */
/* ===================================================================================== */

/* golden/models/<name>.gguf into memory, the architecture `from` (5 bytes) replaced by `to`
 * in general.architecture's value and in every key prefix "<from>.", opened and bound. Skips
 * without the fixtures. */
static void bind_family(const char *name, const char *from, const char *to, bound *out) {
    const char *src = getenv("GGUFREF_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/golden/models/%s.gguf", src ? src : ".", name);
    size_t len = 0;
    char *bytes = read_whole_file(path, &len);
    if (bytes == NULL) {
        print_message("skipped: %s is absent (set GGUFREF_SOURCE_DIR)\n", path);
        skip();
    }
    for (size_t i = 0; from && i + 32 + 5 <= len; i++) {
        if (memcmp(bytes + i, from, 5) == 0 && bytes[i + 5] == '.') memcpy(bytes + i, to, 5);
        if (memcmp(bytes + i, "general.architecture", 20) == 0) memcpy(bytes + i + 32, to, 5);
    }
    memset(out, 0, sizeof *out);
    out->bytes = bytes;
    assert_int_equal(ggufref_gguf_open_memory(bytes, len, &out->gguf, NULL), GGUFREF_OK);
    out->st = ggufref_model_load(out->gguf, &out->model, &out->err);
}

static void expect_family_error(const char *name, const char *from, const char *to,
                                ggufref_status want, const char *word) {
    bound b;
    bind_family(name, from, to, &b);
    if (b.st != want || strstr(b.err.message, word) == NULL) {
        fail_msg("%s as %s: got %s (%s), expected %s naming '%s'", name, to ? to : "itself",
                 ggufref_status_name(b.st), b.err.message, ggufref_status_name(want), word);
    }
    assert_null(b.model);
    unbind(&b);
}

/* R-MODEL-020, R-MODEL-021, R-MODEL-023, R-MODEL-024, R-MODEL-025, R-MODEL-026: each family
 * binds with its extras (and its key prefix); moved to another architecture, its extras are
 * unexpected tensors; rope_freqs.weight must hold finite divisors > 0. */
static void test_model_families(void **state) {
    (void)state;
    bound b;
    bind_family("tiny-llama3-f32-gqa-tied", NULL, NULL, &b);
    assert_int_equal(b.st, GGUFREF_OK);
    assert_int_equal(b.model->arch.id, GR_ARCH_LLAMA);
    assert_false(b.model->arch.rope_neox);
    assert_non_null(b.model->arch.rope_freqs);
    assert_true(b.model->arch.rope_freqs[0] == 1.0f && b.model->arch.rope_freqs[7] == 8.0f);
    assert_null(b.model->layers[0].bq);
    assert_null(b.model->layers[0].q_norm);
    /* a negative divisor in the tensor's data: BAD_VALUE naming it (R-MODEL-021) */
    ggufref_model_free(b.model);
    int64_t idx = ggufref_gguf_find_tensor(b.gguf, "rope_freqs.weight");
    assert_true(idx >= 0);
    ggufref_tensor t;
    ggufref_gguf_tensor(b.gguf, (uint64_t)idx, &t);
    float minus = -1.0f;
    memcpy((char *)b.bytes + ggufref_gguf_data_offset(b.gguf) + t.offset + 12, &minus, 4);
    b.st = ggufref_model_load(b.gguf, &b.model, &b.err);
    assert_int_equal(b.st, GGUFREF_ERR_BAD_VALUE);
    assert_non_null(strstr(b.err.message, "rope_freqs.weight"));
    assert_non_null(strstr(b.err.message, "element 3"));
    unbind(&b);

    bind_family("tiny-qwen2-f32-gqa-tied", NULL, NULL, &b);
    assert_int_equal(b.st, GGUFREF_OK);
    assert_int_equal(b.model->arch.id, GR_ARCH_QWEN2);
    assert_true(b.model->arch.rope_neox);
    assert_non_null(b.model->layers[1].bq);
    assert_non_null(b.model->layers[1].bk);
    assert_non_null(b.model->layers[1].bv);
    assert_null(b.model->layers[1].q_norm);
    assert_null(b.model->arch.rope_freqs);
    unbind(&b);

    bind_family("tiny-qwen3-f32-gqa-tied", NULL, NULL, &b);
    assert_int_equal(b.st, GGUFREF_OK);
    ggufref_model_info in;
    ggufref_model_get_info(b.model, &in);
    assert_int_equal(in.head_dim, 32); /* key_length, while dim / n_heads = 16 (R-MODEL-025) */
    assert_int_equal(in.rope_dim, 32);
    assert_int_equal(b.model->arch.id, GR_ARCH_QWEN3);
    assert_true(b.model->arch.rope_neox);
    assert_non_null(b.model->layers[0].q_norm);
    assert_non_null(b.model->layers[0].k_norm);
    assert_null(b.model->layers[0].bq);
    assert_int_equal(b.model->layers[0].wq.n_out, 128);
    assert_int_equal(b.model->layers[0].wo.n_in, 128);
    /* R-MODEL-016: the q/k norms count in weight_bytes */
    uint64_t want = 0;
    for (uint64_t i = 0; i < ggufref_gguf_n_tensors(b.gguf); i++) {
        ggufref_gguf_tensor(b.gguf, i, &t);
        if (t.name.len != 17 || memcmp(t.name.ptr, "token_embd.weight", 17) != 0) want += t.n_bytes;
    }
    want += (uint64_t)in.dim * 4 * 2; /* tied: the output matrix (whole) + one embedding row */
    want += b.model->token_embd.row_bytes * in.n_vocab - (uint64_t)in.dim * 4 * 2;
    assert_int_equal(in.weight_bytes, want + b.model->token_embd.row_bytes);
    unbind(&b);

    /* R-MODEL-026: extras of one architecture are unexpected tensors in another */
    expect_family_error("tiny-qwen2-f32-gqa-tied", "qwen2", "llama", GGUFREF_ERR_UNSUPPORTED_MODEL,
                        "attn_q.bias");
    expect_family_error("tiny-qwen3-f32-gqa-tied", "qwen3", "qwen2", GGUFREF_ERR_UNSUPPORTED_MODEL,
                        "attn_q_norm.weight");
    expect_family_error("tiny-llama3-f32-gqa-tied", "llama", "qwen2", GGUFREF_ERR_UNSUPPORTED_MODEL,
                        "rope_freqs.weight");
    /* R-MODEL-020: an architecture none of the table is named */
    expect_family_error("tiny-qwen2-f32-gqa-tied", "qwen2", "qwen9", GGUFREF_ERR_UNSUPPORTED_MODEL,
                        "'qwen9'");
}

/* ===================================================================================== */
/* 3. Real files                                                                          */
/* ===================================================================================== */

/* Open and bind ../shared/material/<rel>, or skip() with the reason. OUT: *g, *m, *in. */
static void bind_material(const char *rel, ggufref_gguf **g, ggufref_model **m,
                          ggufref_model_info *in) {
    char path[1024];
    if (!material_path(rel, path, sizeof path)) {
        print_message("skipped: %s is absent\n", path);
        skip();
    }
    ggufref_error err;
    assert_int_equal(ggufref_gguf_open_file(path, g, &err), GGUFREF_OK);
    assert_int_equal(ggufref_model_load(*g, m, &err), GGUFREF_OK);
    ggufref_model_get_info(*m, in);
}

/* R-MODEL-001..016 on stories260K (GGUF v1, GQA, separate but equal output.weight). */
static void test_model_stories260k(void **state) {
    (void)state;
    ggufref_gguf *g;
    ggufref_model *m;
    ggufref_model_info in;
    bind_material("stories260K-f32.v1.gguf", &g, &m, &in);
    assert_int_equal(in.n_vocab, 512);
    assert_int_equal(in.dim, 64);
    assert_int_equal(in.n_layers, 5);
    assert_int_equal(in.n_heads, 8);
    assert_int_equal(in.n_kv_heads, 4);
    assert_int_equal(in.head_dim, 8);
    assert_int_equal(in.ffn_dim, 172);
    assert_int_equal(in.n_ctx_train, 512);
    assert_int_equal(in.rope_dim, 8);
    assert_true(in.rope_freq_base == 10000.0f);
    assert_true(in.rms_eps == 1e-5f);
    assert_false(in.tied_output);
    assert_int_equal(in.weight_bytes, 1040384);
    ggufref_model_free(m);
    ggufref_gguf_close(g);
}

/* The ollama tiny model: F16 matrices, F32 norms, dim 8, the full 32000 vocab. */
static void test_model_ollama_tiny_f16(void **state) {
    (void)state;
    ggufref_gguf *g;
    ggufref_model *m;
    ggufref_model_info in;
    bind_material("ollama/llama-2-tiny-random.gguf", &g, &m, &in);
    assert_int_equal(in.n_vocab, 32000);
    assert_int_equal(in.dim, 8);
    assert_int_equal(in.head_dim, 4);
    assert_int_equal(m->layers[0].wq.type, GGUFREF_T_F16);
    ggufref_model_free(m);
    ggufref_gguf_close(g);
}

int main(void) {
    struct CMUnitTest *tests = calloc(mcat_n_cases + 16, sizeof *tests);
    char (*names)[96] = calloc(mcat_n_cases, sizeof *names);
    if (tests == NULL || names == NULL) return 1;
    size_t n = 0;
    for (size_t i = 0; i < mcat_n_cases; i++) {
        snprintf(names[i], sizeof names[i], "test_model_catalog_%s", mcat_cases[i].name);
        tests[n++] = (struct CMUnitTest){names[i], run_catalog_row, NULL, NULL,
                                         (void *)&mcat_cases[i]};
    }
    const struct CMUnitTest more[] = {
        cmocka_unit_test(test_model_defaults),
        cmocka_unit_test(test_model_accepts_wide_integers),
        cmocka_unit_test(test_model_tied_output),
        cmocka_unit_test(test_model_weights_are_views),
        cmocka_unit_test(test_model_f16_norms_are_decoded),
        cmocka_unit_test(test_model_weight_bytes),
        cmocka_unit_test(test_model_load_vocab),
        cmocka_unit_test(test_model_rejects_null_arguments),
        cmocka_unit_test(test_model_allocation_failures),
        cmocka_unit_test(test_model_families),
        cmocka_unit_test(test_model_stories260k),
        cmocka_unit_test(test_model_ollama_tiny_f16),
    };
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) tests[n++] = more[i];
    int failed = _cmocka_run_group_tests("torture_model", tests, n, NULL, NULL);
    free(names);
    free(tests);
    return failed;
}
