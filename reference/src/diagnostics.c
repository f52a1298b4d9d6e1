/*
 * diagnostics.c — the diagnostics JSON (SPEC R-RT-030, R-RT-031) and the state digest
 * (R-RT-040) of a runtime. JSON is written by hand (no dependency), in two passes: the first
 * only measures, so the buffer can be grown before anything is written and an allocation
 * failure leaves the old diagnostics bytes as they were.
 */
#include "runtime.h"

#include "hash.h"
#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------- */
/* A measuring writer: bytes past cap are counted, not stored                             */
/* ------------------------------------------------------------------------------------- */

typedef struct gr_jw {
    char *buf;   /* NULL in the measuring pass */
    size_t cap;
    size_t len;  /* bytes written (or that would have been) */
} gr_jw;

static void jw_bytes(gr_jw *w, const char *p, size_t n) {
    if (w->buf != NULL && w->len + n <= w->cap) memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static void jw_raw(gr_jw *w, const char *s) { jw_bytes(w, s, strlen(s)); }

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void jw_fmt(gr_jw *w, const char *fmt, ...) {
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) jw_bytes(w, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void jw_write(void *w, const char *p, size_t n) { jw_bytes(w, p, n); }

/* A JSON string of n bytes (R-RT-030 escaping: CR as \r, DEL and each byte of ill-formed UTF-8
 * as \u00XX). */
static void jw_str(gr_jw *w, const char *s, size_t n) {
    gr_json_string(jw_write, w, s, n, GR_JSON_CR_SHORT | GR_JSON_DEL | GR_JSON_BAD_BYTE);
}

/* The shortest %.{1..9}g that reads back as f (R-RT-030); null if f is not finite. */
static void jw_f32(gr_jw *w, float f) {
    if (f != f || f - f != 0.0f) {
        jw_raw(w, "null");
        return;
    }
    char tmp[32];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, (double)f);
        if (strtof(tmp, NULL) == f) break;
    }
    for (char *c = tmp; *c != '\0'; c++) {
        if (*c == ',') *c = '.'; /* a locale's decimal comma is not JSON */
    }
    jw_raw(w, tmp);
}

/* Members: key then value; `first` decides the comma. */
static void jw_key(gr_jw *w, const char *key, bool first) {
    if (!first) jw_raw(w, ",");
    jw_str(w, key, strlen(key));
    jw_raw(w, ":");
}
static void jw_u64(gr_jw *w, const char *key, uint64_t v, bool first) {
    jw_key(w, key, first);
    jw_fmt(w, "%llu", (unsigned long long)v);
}
static void jw_i64(gr_jw *w, const char *key, int64_t v, bool first) {
    jw_key(w, key, first);
    jw_fmt(w, "%lld", (long long)v);
}
static void jw_bool(gr_jw *w, const char *key, bool v, bool first) {
    jw_key(w, key, first);
    jw_raw(w, v ? "true" : "false");
}
static void jw_name(gr_jw *w, const char *key, const char *v, bool first) {
    jw_key(w, key, first);
    jw_str(w, v, strlen(v));
}
static void jw_float(gr_jw *w, const char *key, float v, bool first) {
    jw_key(w, key, first);
    jw_f32(w, v);
}

/* ------------------------------------------------------------------------------------- */
/* The document (R-RT-030)                                                                */
/* ------------------------------------------------------------------------------------- */

static const char *stop_name(gr_stop stop) {
    switch (stop) {
    case GR_STOP_MAX_TOKENS: return "max_tokens";
    case GR_STOP_EOS: return "eos";
    case GR_STOP_CANCELLED: return "cancelled";
    default: return "none";
    }
}

static void write_model(gr_jw *w, const gr_bundle *b) {
    jw_key(w, "model", false);
    if (b == NULL) {
        jw_raw(w, "null");
        return;
    }
    const ggufref_model_info *m = &b->info;
    jw_raw(w, "{");
    jw_u64(w, "file_bytes", b->size, true);
    jw_u64(w, "gguf_version", ggufref_gguf_version(b->gguf), false);
    jw_u64(w, "n_tensors", ggufref_gguf_n_tensors(b->gguf), false);
    jw_u64(w, "n_vocab", m->n_vocab, false);
    jw_u64(w, "dim", m->dim, false);
    jw_u64(w, "n_layers", m->n_layers, false);
    jw_u64(w, "n_heads", m->n_heads, false);
    jw_u64(w, "n_kv_heads", m->n_kv_heads, false);
    jw_u64(w, "head_dim", m->head_dim, false);
    jw_u64(w, "ffn_dim", m->ffn_dim, false);
    jw_u64(w, "n_ctx_train", m->n_ctx_train, false);
    jw_u64(w, "n_ctx", b->n_ctx, false);
    jw_i64(w, "bos_id", m->bos_id, false);
    jw_i64(w, "eos_id", m->eos_id, false);
    jw_bool(w, "add_bos", m->add_bos, false);
    jw_bool(w, "tied_output", m->tied_output, false);
    jw_u64(w, "weight_bytes", m->weight_bytes, false);
    jw_raw(w, "}");
}

static void write_sampling(gr_jw *w, const ggufref_sampling *s) {
    jw_key(w, "sampling", false);
    jw_raw(w, "{");
    jw_float(w, "temperature", s->temperature, true);
    jw_i64(w, "top_k", s->top_k, false);
    jw_float(w, "top_p", s->top_p, false);
    jw_float(w, "min_p", s->min_p, false);
    jw_float(w, "repeat_penalty", s->repeat_penalty, false);
    jw_i64(w, "repeat_last_n", s->repeat_last_n, false);
    jw_u64(w, "seed", s->seed, false);
    jw_i64(w, "max_tokens", s->max_tokens, false);
    jw_bool(w, "stop_at_eos", s->stop_at_eos, false);
    jw_raw(w, "}");
}

static void write_document(gr_jw *w, const ggufref_runtime *rt) {
    jw_raw(w, "{");
    jw_name(w, "schema", "ggufref-diagnostics-1", true);
    jw_name(w, "state", ggufref_state_name(rt->state), false);
    write_model(w, rt->model);
    write_sampling(w, &rt->sampling);

    jw_key(w, "request", false);
    jw_raw(w, "{");
    jw_u64(w, "n_prompt_tokens", rt->n_prompt, true);
    jw_u64(w, "n_generated_tokens", rt->n_tokens - rt->n_prompt, false);
    jw_u64(w, "n_past", rt->n_past, false);
    jw_u64(w, "result_bytes", rt->result_len, false);
    jw_name(w, "stop_reason", stop_name(rt->stop), false);
    jw_raw(w, "}");

    jw_key(w, "totals", false);
    jw_raw(w, "{");
    jw_u64(w, "models_loaded", rt->models_loaded, true);
    jw_u64(w, "requests", rt->requests, false);
    jw_u64(w, "tokens_generated", rt->tokens_generated, false);
    jw_raw(w, "}");

    const ggufref_error *e = &rt->last_error;
    jw_key(w, "last_error", false);
    jw_raw(w, "{");
    jw_name(w, "status", ggufref_status_name(e->status), true);
    jw_u64(w, "code", (uint64_t)e->status, false);
    jw_key(w, "offset", false);
    if (e->offset == UINT64_MAX) jw_raw(w, "null");
    else jw_fmt(w, "%llu", (unsigned long long)e->offset);
    jw_key(w, "message", false);
    const char *nul = memchr(e->message, '\0', sizeof e->message);
    jw_str(w, e->message, nul != NULL ? (size_t)(nul - e->message) : sizeof e->message);
    jw_raw(w, "}");

    jw_key(w, "nondeterministic", false);
    jw_raw(w, "{");
    jw_bool(w, "clock", rt->clock != NULL, true);
    if (rt->clock != NULL) {
        jw_u64(w, "load_ns", rt->load_ns, false);
        jw_u64(w, "prefill_ns", rt->prefill_ns, false);
        jw_u64(w, "decode_ns", rt->decode_ns, false);
    }
    jw_raw(w, "}");
    jw_raw(w, "}");
}

ggufref_status gr_diagnostics_write(ggufref_runtime *rt) {
    gr_jw measure = {NULL, 0, 0};
    write_document(&measure, rt);
    if (measure.len > rt->diag_cap) {
        char *buf = gr_malloc(measure.len);
        if (buf == NULL) return GGUFREF_ERR_OUT_OF_MEMORY;
        gr_free(rt->diag);
        rt->diag = buf;
        rt->diag_cap = measure.len;
    }
    gr_jw w = {rt->diag, rt->diag_cap, 0};
    write_document(&w, rt);
    rt->diag_len = w.len;
    return GGUFREF_OK;
}

/* ------------------------------------------------------------------------------------- */
/* The state digest (R-RT-040)                                                            */
/* ------------------------------------------------------------------------------------- */

/* Fold v in as 8 little-endian bytes (so the digest does not depend on the host). */
static uint64_t fold_u64(uint64_t h, uint64_t v) {
    uint8_t le[8];
    for (int i = 0; i < 8; i++) le[i] = (uint8_t)(v >> (8 * i));
    return gr_fnv1a(h, le, sizeof le);
}

static uint64_t fold_f32(uint64_t h, float f) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return fold_u64(h, bits);
}

uint64_t ggufref_runtime_digest(const ggufref_runtime *rt) {
    uint64_t h = GR_FNV_OFFSET;
    if (rt == NULL) return h;
    const gr_bundle *b = rt->model;
    h = fold_u64(h, b != NULL);
    if (b != NULL) {
        h = fold_u64(h, b->size);
        h = fold_u64(h, b->bytes_hash);
        h = fold_u64(h, b->n_ctx);
        for (size_t i = 0; i < rt->n_tokens; i++) h = fold_u64(h, (uint32_t)b->tokens[i]);
    }
    h = fold_u64(h, rt->n_tokens);
    h = fold_u64(h, rt->n_prompt);
    h = fold_u64(h, rt->n_past);
    h = fold_u64(h, rt->result_len);
    if (rt->result_len > 0) h = gr_fnv1a(h, rt->result, rt->result_len);
    h = fold_u64(h, (uint64_t)rt->stop);
    const ggufref_sampling *s = &rt->sampling;
    h = fold_f32(h, s->temperature);
    h = fold_u64(h, (uint32_t)s->top_k);
    h = fold_f32(h, s->top_p);
    h = fold_f32(h, s->min_p);
    h = fold_f32(h, s->repeat_penalty);
    h = fold_u64(h, (uint32_t)s->repeat_last_n);
    h = fold_u64(h, s->seed);
    h = fold_u64(h, (uint32_t)s->max_tokens);
    h = fold_u64(h, s->stop_at_eos);
    h = fold_u64(h, rt->rng.state);
    h = fold_u64(h, rt->models_loaded);
    h = fold_u64(h, rt->requests);
    h = fold_u64(h, rt->tokens_generated);
    return h;
}
