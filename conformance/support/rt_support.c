/* rt_support.c — see rt_support.h. Test support: aborts on its own allocation failures. */
#define _POSIX_C_SOURCE 200809L /* strtok_r */

#include "rt_support.h"

#include "files.h"
#include "gguf_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const op_names[RTS_OP_COUNT] = {
    "init", "load_model", "configure_sampling", "generate", "generate_next_token",
    "reset_context", "free_model", "diagnostics", "last_error", "result", "cancel", "evaluate",
};
static const char *const cond_names[RTS_COND_COUNT] = {
    "-", "ok", "rejected", "oom", "oom-init", "io", "overflow", "cancelled", "failed", "panic",
};

const char *rts_op_name(rts_op op) { return op < RTS_OP_COUNT ? op_names[op] : "?"; }
const char *rts_cond_name(rts_cond c) { return c < RTS_COND_COUNT ? cond_names[c] : "?"; }

bool rts_op_parse(const char *s, rts_op *out) {
    for (int i = 0; i < RTS_OP_COUNT; i++) {
        if (strcmp(s, op_names[i]) == 0) {
            *out = (rts_op)i;
            return true;
        }
    }
    return false;
}

bool rts_cond_parse(const char *s, rts_cond *out) {
    for (int i = 0; i < RTS_COND_COUNT; i++) {
        if (strcmp(s, cond_names[i]) == 0) {
            *out = (rts_cond)i;
            return true;
        }
    }
    return false;
}

static void *xmalloc(size_t n) {
    void *p = malloc(n == 0 ? 1 : n);
    if (p == NULL) abort();
    return p;
}

/* The whole file, NUL-terminated (read_whole_file). false if it cannot be read. OUT: *out, *len. */
static bool read_all(const char *path, uint8_t **out, size_t *len) {
    *out = (uint8_t *)read_whole_file(path, len);
    return *out != NULL;
}

/* ------------------------------------------------------------------------------------- */
/* The table                                                                              */
/* ------------------------------------------------------------------------------------- */

static bool state_parse(const char *s, ggufref_state *out) {
    for (int i = 0; i < GGUFREF_STATE_COUNT; i++) {
        if (strcmp(s, ggufref_state_name((ggufref_state)i)) == 0) {
            *out = (ggufref_state)i;
            return true;
        }
    }
    return false;
}

static bool status_parse(const char *s, int *out) {
    if (strcmp(s, "REJECTED") == 0) {
        *out = RTS_REJECTED_STATUS;
        return true;
    }
    for (int i = 0; i < GGUFREF_STATUS_COUNT; i++) {
        if (strcmp(s, ggufref_status_name((ggufref_status)i)) == 0) {
            *out = i;
            return true;
        }
    }
    return false;
}

/* "model+ok", "no-model", "ok", "-" → residency + condition. */
static bool condition_parse(const char *s, rts_res *res, rts_cond *cond) {
    *res = RTS_RES_ANY;
    if (strncmp(s, "model", 5) == 0) {
        *res = RTS_RES_MODEL;
        s += 5;
    } else if (strncmp(s, "no-model", 8) == 0) {
        *res = RTS_RES_NO_MODEL;
        s += 8;
    }
    if (*res != RTS_RES_ANY) {
        if (*s == '\0') {
            *cond = RTS_ANY;
            return true;
        }
        if (*s != '+') return false;
        s++;
    }
    return rts_cond_parse(s, cond);
}

bool rts_table_load(rts_table *t, char *why, size_t why_len) {
    const char *src = getenv("GGUFREF_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/conformance/transitions.tsv", src != NULL ? src : ".");
    uint8_t *text;
    size_t len;
    if (!read_all(path, &text, &len)) {
        snprintf(why, why_len, "cannot read %s", path);
        return false;
    }
    t->n = 0;
    int line_no = 0;
    char *next = (char *)text;
    while (next != NULL && *next != '\0') {
        char *line = next;
        char *nl = strchr(line, '\n');
        next = nl != NULL ? nl + 1 : NULL;
        if (nl != NULL) *nl = '\0';
        line_no++;
        if (line[0] == '\0') continue;
        if (line[0] == '#' || strncmp(line, "state\t", 6) == 0) continue;
        char *f[5];
        int nf = 0;
        char *save2 = NULL;
        for (char *p = strtok_r(line, "\t", &save2); p != NULL && nf < 5;
             p = strtok_r(NULL, "\t", &save2)) {
            f[nf++] = p;
        }
        rts_row r = {.line = line_no};
        if (nf != 5 || !state_parse(f[0], &r.state) || !rts_op_parse(f[1], &r.op) ||
            !condition_parse(f[2], &r.res, &r.cond) || !status_parse(f[3], &r.status) ||
            !state_parse(f[4], &r.next) || t->n >= sizeof t->rows / sizeof t->rows[0]) {
            snprintf(why, why_len, "%s: bad row %d", path, line_no);
            free(text);
            return false;
        }
        t->rows[t->n++] = r;
    }
    free(text);
    return true;
}

static bool res_matches(rts_res res, bool has_model) {
    return res == RTS_RES_ANY || (res == RTS_RES_MODEL) == has_model;
}

const rts_row *rts_table_find(const rts_table *t, const rts_model *m, rts_op op, rts_cond cond) {
    for (size_t i = 0; i < t->n; i++) {
        const rts_row *r = &t->rows[i];
        if (r->state == m->state && r->op == op && r->cond == cond &&
            res_matches(r->res, m->has_model)) {
            return r;
        }
    }
    return NULL;
}

void rts_model_apply(rts_model *m, const rts_row *row) {
    m->state = row->next;
    switch (row->next) {
    case GGUFREF_STATE_READY:
    case GGUFREF_STATE_CONTINUATION_READY: m->has_model = true; break;
    case GGUFREF_STATE_UNINITIALIZED:
    case GGUFREF_STATE_INITIALIZED:
    case GGUFREF_STATE_FREED: m->has_model = false; break;
    default: break; /* RECOVERABLE_ERROR keeps the residency; POISONED: irrelevant */
    }
}

/* ------------------------------------------------------------------------------------- */
/* Fixtures                                                                               */
/* ------------------------------------------------------------------------------------- */

void rts_small_sampling(ggufref_sampling *s, int32_t max_tokens) {
    ggufref_sampling_default(s);
    s->max_tokens = max_tokens;
    s->stop_at_eos = false;
}

/* Set every token embedding row but BOS's to NaN: forwarding any token but BOS fails. */
static bool make_nan_model(rts_env *env, char *why, size_t why_len) {
    env->nan_len = env->model_len;
    env->nan_model = xmalloc(env->nan_len);
    memcpy(env->nan_model, env->model, env->nan_len);
    ggufref_gguf *g = NULL;
    ggufref_model *model = NULL;
    ggufref_tensor t;
    int64_t ti;
    bool ok = ggufref_gguf_open_memory(env->nan_model, env->nan_len, &g, NULL) == GGUFREF_OK &&
              ggufref_model_load(g, &model, NULL) == GGUFREF_OK &&
              (ti = ggufref_gguf_find_tensor(g, "token_embd.weight")) >= 0 &&
              ggufref_gguf_tensor(g, (uint64_t)ti, &t) == GGUFREF_OK && t.type == GGUFREF_T_F32;
    if (ok) {
        ggufref_model_info info;
        ggufref_model_get_info(model, &info);
        size_t off = (size_t)(t.data - env->nan_model);
        float nan = strtof("nan", NULL);
        for (uint64_t row = 0; row < t.ne[1]; row++) {
            if ((int64_t)row == info.bos_id) continue;
            for (uint64_t k = 0; k < t.ne[0]; k++) {
                memcpy(env->nan_model + off + (row * t.ne[0] + k) * 4, &nan, 4);
            }
        }
        env->n_ctx = info.n_ctx_train;
        int32_t toks[256];
        ok = ggufref_tokenize(model, RTS_PROMPT, strlen(RTS_PROMPT), info.add_bos, toks, 256,
                              &env->n_prompt) == GGUFREF_OK;
    }
    ggufref_model_free(model);
    ggufref_gguf_close(g);
    if (!ok) snprintf(why, why_len, "cannot build the NaN variant of %s", env->model_path);
    return ok;
}

bool rts_env_init(rts_env *env, char *why, size_t why_len) {
    memset(env, 0, sizeof *env);
    const char *src = getenv("GGUFREF_SOURCE_DIR");
    if (src == NULL) {
        snprintf(why, why_len, "GGUFREF_SOURCE_DIR is not set (run through ctest)");
        return false;
    }
    snprintf(env->model_path, sizeof env->model_path, "%s/golden/models/tiny-f32-mha-untied.gguf",
             src);
    if (!read_all(env->model_path, &env->model, &env->model_len)) {
        snprintf(why, why_len, "fixture %s is missing", env->model_path);
        return false;
    }
    if (!make_nan_model(env, why, why_len)) return false;
    const char *unit = "Once upon a time there was a tiny model. ";
    size_t reps = 64;
    env->long_len = strlen(unit) * reps;
    env->long_prompt = xmalloc(env->long_len + 1);
    for (size_t i = 0; i < reps; i++) memcpy(env->long_prompt + i * strlen(unit), unit, strlen(unit));
    env->long_prompt[env->long_len] = 0;
    return true;
}

void rts_env_free(rts_env *env) {
    free(env->model);
    free(env->nan_model);
    free(env->long_prompt);
    memset(env, 0, sizeof *env);
}

bool rts_suite_init(rts_table *table, rts_env *env, char *skip, size_t skip_len) {
    char why[256];
    if (!rts_table_load(table, why, sizeof why)) {
        fprintf(stderr, "%s\n", why);
        return false;
    }
    if (!rts_env_init(env, skip, skip_len)) fprintf(stderr, "skip: %s\n", skip);
    else skip[0] = 0;
    return true;
}

uint64_t rts_splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint8_t *rts_micro_model(size_t *len) {
    enum { DIM = 8, FFN = 16, VOCAB = 8 };
    static const char *const tokens[VOCAB] = {"<unk>", "<s>", "</s>", "\xe2\x96\x81", "a", "b",
                                              "c", "\xe2\x96\x81\x61"}; /* "_a" */
    static const float scores[VOCAB] = {0, 0, 0, -1, -2, -3, -4, -0.5f};
    static const int32_t types[VOCAB] = {2, 3, 3, 1, 1, 1, 1, 1};
    static float w[7][FFN * DIM]; /* deterministic weights in [-0.5, 0.5) */
    static float ones[DIM];
    uint32_t x = 12345;
    for (size_t i = 0; i < 7; i++) {
        for (size_t k = 0; k < FFN * DIM; k++) {
            x = x * 1664525u + 1013904223u;
            w[i][k] = (float)(x >> 8) / 16777216.0f - 0.5f;
        }
    }
    for (size_t k = 0; k < DIM; k++) ones[k] = 1.0f;
    const gb_tensor t[] = {
        {"token_embd.weight", 2, {DIM, VOCAB}, GGUFREF_T_F32, w[0]},
        {"blk.0.attn_norm.weight", 1, {DIM}, GGUFREF_T_F32, ones},
        {"blk.0.attn_q.weight", 2, {DIM, DIM}, GGUFREF_T_F32, w[1]},
        {"blk.0.attn_k.weight", 2, {DIM, DIM}, GGUFREF_T_F32, w[2]},
        {"blk.0.attn_v.weight", 2, {DIM, DIM}, GGUFREF_T_F32, w[3]},
        {"blk.0.attn_output.weight", 2, {DIM, DIM}, GGUFREF_T_F32, w[4]},
        {"blk.0.ffn_norm.weight", 1, {DIM}, GGUFREF_T_F32, ones},
        {"blk.0.ffn_gate.weight", 2, {DIM, FFN}, GGUFREF_T_F32, w[5]},
        {"blk.0.ffn_down.weight", 2, {FFN, DIM}, GGUFREF_T_F32, w[6]},
        {"blk.0.ffn_up.weight", 2, {DIM, FFN}, GGUFREF_T_F32, w[5]},
        {"output_norm.weight", 1, {DIM}, GGUFREF_T_F32, ones},
    };
    size_t nt = sizeof t / sizeof t[0];
    gb_buf b;
    gb_init(&b, 3);
    gb_header(&b, nt, 15);
    gb_kv_str(&b, "general.architecture", "llama");
    gb_kv_u32(&b, "llama.context_length", 32);
    gb_kv_u32(&b, "llama.embedding_length", DIM);
    gb_kv_u32(&b, "llama.block_count", 1);
    gb_kv_u32(&b, "llama.feed_forward_length", FFN);
    gb_kv_u32(&b, "llama.attention.head_count", 2);
    gb_kv_u32(&b, "llama.attention.head_count_kv", 2);
    gb_kv_f32(&b, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    gb_kv_str(&b, "tokenizer.ggml.model", "llama");
    gb_kv_str_array(&b, "tokenizer.ggml.tokens", tokens, VOCAB);
    gb_kv_f32_array(&b, "tokenizer.ggml.scores", scores, VOCAB);
    gb_kv_i32_array(&b, "tokenizer.ggml.token_type", types, VOCAB);
    gb_kv_u32(&b, "tokenizer.ggml.bos_token_id", 1);
    gb_kv_u32(&b, "tokenizer.ggml.eos_token_id", 2);
    gb_kv_u32(&b, "tokenizer.ggml.unknown_token_id", 0);
    gb_tensor_infos(&b, t, nt, 32);
    gb_tensor_data(&b, t, nt, 32);
    *len = b.len;
    uint8_t *out = gb_dup(&b);
    gb_free(&b);
    return out;
}

/* ------------------------------------------------------------------------------------- */
/* The driver                                                                             */
/* ------------------------------------------------------------------------------------- */

void rts_target_open(rts_target *t, const rts_env *env, bool exports) {
    memset(t, 0, sizeof *t);
    t->env = env;
    t->exports = exports;
    t->diag_fresh = true;
    if (exports) {
        ggufref_fault_export_reset();
    } else if (ggufref_runtime_create(&t->rt) != GGUFREF_OK) {
        abort();
    }
}

void rts_target_close(rts_target *t) {
    if (t->exports) ggufref_fault_export_reset();
    else ggufref_runtime_destroy(t->rt);
    t->rt = NULL;
}

ggufref_state rts_target_state(rts_target *t) {
    if (!t->exports) return ggufref_runtime_state(t->rt);
    ggufref_state s;
    (void)ggufref_export_state(&s);
    return s;
}

uint64_t rts_target_digest(rts_target *t) {
    if (!t->exports) return ggufref_runtime_digest(t->rt);
    uint64_t d = 0;
    (void)ggufref_export_digest(&d);
    return d;
}

static size_t target_tokens(rts_target *t) {
    size_t n = 0;
    if (t->exports) (void)ggufref_export_tokens(NULL, 0, &n, NULL);
    else ggufref_runtime_tokens(t->rt, NULL, &n, NULL);
    return n;
}

static bool is_lazy(rts_op op) {
    return op != RTS_LAST_ERROR && op != RTS_RESULT && op != RTS_CANCEL;
}

/* Allocations the lazy initialization makes before the operation's own (R-RT-004). */
static uint64_t lazy_allocs(const rts_target *t, const rts_model *m, rts_op op) {
    if (m->state != GGUFREF_STATE_UNINITIALIZED || !is_lazy(op) || op == RTS_INIT) return 0;
    return t->exports ? 2 : 1; /* exports: the handle, then init's diagnostics bytes */
}

/* The panic point that an operation reaches at the handle level, or NULL. */
static const char *handle_point(const rts_target *t, const rts_model *m, rts_op op) {
    if (m->state == GGUFREF_STATE_UNINITIALIZED) return is_lazy(op) ? "init.after_alloc" : NULL;
    switch (op) {
    case RTS_LOAD: return "load_model.after_build";
    case RTS_CONFIGURE: return "configure_sampling.after_store";
    case RTS_GENERATE: return m->has_model && t->small ? "generate.after_commit" : NULL;
    case RTS_NEXT:
        return m->state == GGUFREF_STATE_CONTINUATION_READY && t->kind == RTS_KIND_NORMAL
                   ? "generate_next_token.after_forward" : NULL;
    case RTS_RESET: return m->has_model ? "reset_context.after_clear" : NULL;
    case RTS_FREE: return "free_model.after_release";
    case RTS_DIAG: return "diagnostics.after_write";
    default: return NULL;
    }
}

bool rts_can(const rts_target *t_, const rts_model *m, rts_op op, rts_cond cond) {
    rts_target *t = (rts_target *)t_; /* token queries take the lock; nothing changes */
    bool cont = m->state == GGUFREF_STATE_CONTINUATION_READY;
    switch (cond) {
    case RTS_PANIC: return t->exports || handle_point(t, m, op) != NULL;
    case RTS_OOM:
        if (op == RTS_DIAG) return t->diag_fresh;
        if (op == RTS_NEXT) return false; /* needs a set-up (torture_runtime builds it) */
        return true;
    default: break;
    }
    if (op == RTS_GENERATE) {
        if (cond == RTS_OK) return t->small && t->kind == RTS_KIND_NORMAL;
        if (cond == RTS_CANCELLED) return t->small;
        if (cond == RTS_FAILED) return t->small && t->kind == RTS_KIND_NAN;
    }
    if (op == RTS_EVALUATE) { /* the NaN model fails at the first non-BOS position */
        if (cond == RTS_OK) return t->kind == RTS_KIND_NORMAL;
        if (cond == RTS_FAILED) return t->kind == RTS_KIND_NAN;
    }
    if (op == RTS_NEXT && cont) {
        size_t n = target_tokens(t);
        if (cond == RTS_OK) return t->kind == RTS_KIND_NORMAL && n + 1 <= t->env->n_ctx;
        if (cond == RTS_FAILED) return t->kind == RTS_KIND_NAN && n + 1 <= t->env->n_ctx;
        if (cond == RTS_OVERFLOW) return n >= t->env->n_ctx;
    }
    return true;
}

int rts_rejected_status(rts_op op) {
    return op == RTS_LOAD ? GGUFREF_ERR_BAD_MAGIC : GGUFREF_ERR_INVALID_ARGUMENT;
}

static void cancel_cb(int32_t token, const char *piece, size_t len, const float *logits,
                      uint32_t n_vocab, void *user) {
    (void)logits;
    (void)n_vocab;
    (void)token;
    (void)piece;
    (void)len;
    rts_target *t = user;
    if (t->exports) (void)ggufref_export_cancel();
    else (void)ggufref_runtime_cancel(t->rt);
}

const uint8_t rts_bad_magic[32] = {'G', 'G', 'U', 'X', 3};

static int do_load(rts_target *t, rts_cond cond, bool nan) {
    const rts_env *env = t->env;
    if (cond == RTS_IO) {
        if (t->exports) return ggufref_export_load_model_file(env->model_path);
        return ggufref_runtime_load_model_file(t->rt, env->model_path);
    }
    const uint8_t *bytes = cond == RTS_REJECTED ? rts_bad_magic : nan ? env->nan_model : env->model;
    size_t len = cond == RTS_REJECTED ? sizeof rts_bad_magic : nan ? env->nan_len : env->model_len;
    if (t->exports) return ggufref_export_load_model(bytes, len);
    return ggufref_runtime_load_model(t->rt, bytes, len);
}

static int do_generate(rts_target *t, rts_cond cond) {
    const char *p = t->kind == RTS_KIND_NAN ? "" : RTS_PROMPT;
    size_t len = strlen(p);
    ggufref_token_callback cb = NULL;
    if (cond == RTS_REJECTED) {
        p = NULL;
        len = 5;
    } else if (cond == RTS_OVERFLOW) {
        p = t->env->long_prompt;
        len = t->env->long_len;
    } else if (cond == RTS_OOM) {
        p = RTS_PROMPT; /* the tokenizer's scratch is the first allocation */
        len = strlen(p);
    } else if (cond == RTS_CANCELLED) {
        cb = cancel_cb;
    }
    if (t->exports) return ggufref_export_generate(p, len, cb, t);
    return ggufref_runtime_generate(t->rt, p, len, cb, t);
}

/* evaluate (R-RT-045): three ids (ok, failed: BOS then NaN embeddings on the NaN model), none
 * (rejected), or n_ctx + 1 (overflow). */
static int do_evaluate(rts_target *t, rts_cond cond) {
    static int32_t ids[4096];
    size_t n = 3;
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) ids[i] = (int32_t)(1 + i % 3);
    if (cond == RTS_REJECTED) n = 0;
    if (cond == RTS_OVERFLOW) n = (size_t)t->env->n_ctx + 1;
    if (n > sizeof ids / sizeof ids[0]) abort(); /* a fixture with a larger n_ctx */
    if (t->exports) return ggufref_export_evaluate(ids, n, NULL, NULL);
    return ggufref_runtime_evaluate(t->rt, ids, n, NULL, NULL);
}

static int do_plain(rts_target *t, rts_op op) {
    static char buf[1 << 14];
    size_t len;
    ggufref_error e;
    ggufref_str view;
    if (t->exports) {
        switch (op) {
        case RTS_INIT: return ggufref_export_init_runtime();
        case RTS_NEXT: return ggufref_export_generate_next_token(NULL, NULL);
        case RTS_RESET: return ggufref_export_reset_context();
        case RTS_FREE: return ggufref_export_free_model();
        case RTS_DIAG: return ggufref_export_diagnostics(buf, sizeof buf, &len);
        case RTS_LAST_ERROR: return ggufref_export_last_error(&e);
        case RTS_RESULT: return ggufref_export_result(buf, sizeof buf, &len);
        case RTS_CANCEL: return ggufref_export_cancel();
        default: abort();
        }
    }
    switch (op) {
    case RTS_INIT: return ggufref_runtime_init(t->rt);
    case RTS_NEXT: return ggufref_runtime_generate_next_token(t->rt, NULL, NULL);
    case RTS_RESET: return ggufref_runtime_reset_context(t->rt);
    case RTS_FREE: return ggufref_runtime_free_model(t->rt);
    case RTS_DIAG: return ggufref_runtime_diagnostics(t->rt, &view);
    case RTS_LAST_ERROR: return ggufref_runtime_last_error(t->rt, &e);
    case RTS_RESULT: return ggufref_runtime_result(t->rt, &view);
    case RTS_CANCEL: return ggufref_runtime_cancel(t->rt);
    default: abort();
    }
}

int rts_do(rts_target *t, const rts_model *m, rts_op op, rts_cond cond) {
    uint64_t lazy = lazy_allocs(t, m, op);
    if (cond == RTS_OOM) ggufref_fault_alloc_fail_at(lazy + 1);
    if (cond == RTS_OOM_INIT) ggufref_fault_alloc_fail_at(t->exports && (t->flip++ & 1) ? 2 : 1);
    if (cond == RTS_IO) ggufref_fault_io_fail_at(0, GGUFREF_IO_FAULT_ERROR);
    if (cond == RTS_PANIC) {
        const char *point = handle_point(t, m, op);
        ggufref_fault_panic_at(t->exports && (point == NULL || (t->flip++ & 1)) ? "export.locked"
                                                                             : point);
    }
    bool nan = t->kind == RTS_KIND_NAN;
    int st;
    ggufref_sampling s;
    switch (op) {
    case RTS_LOAD:
        nan = cond == RTS_OK && t->want_nan;
        st = do_load(t, cond, nan);
        break;
    case RTS_CONFIGURE:
        rts_small_sampling(&s, RTS_MAX_TOKENS);
        if (cond == RTS_REJECTED) s.temperature = -1.0f;
        st = t->exports ? ggufref_export_configure_sampling(&s)
                        : (int)ggufref_runtime_configure_sampling(t->rt, &s);
        break;
    case RTS_GENERATE: st = do_generate(t, cond); break;
    case RTS_EVALUATE: st = do_evaluate(t, cond); break;
    default: st = do_plain(t, op); break;
    }
    ggufref_fault_alloc_fail_at(0);
    ggufref_fault_io_fail_at(UINT64_MAX, GGUFREF_IO_FAULT_ERROR);
    ggufref_fault_panic_at(NULL);
    if (st == GGUFREF_OK && op == RTS_LOAD) t->kind = nan ? RTS_KIND_NAN : RTS_KIND_NORMAL;
    if (st == GGUFREF_OK && op == RTS_CONFIGURE) t->small = true;
    if (st == GGUFREF_OK && op == RTS_DIAG) t->diag_fresh = false;
    if (rts_target_state(t) == GGUFREF_STATE_UNINITIALIZED) t->diag_fresh = true;
    return st;
}
