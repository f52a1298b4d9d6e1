/*
 * diagnostics.c — the diagnostics JSON (SPEC R-RT-030, R-RT-031) and the state digest
 * (R-RT-040) of a runtime. JSON is written by hand (no dependency), in two passes: the first
 * only measures, so the buffer can be grown before anything is written and an allocation
 * failure leaves the old diagnostics bytes as they were.
 */
#include "runtime.h"

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

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if the bytes there are not one. */
static size_t utf8_len(const uint8_t *p, size_t n) {
    uint8_t c = p[0];
    size_t len;
    uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;      /* no overlong forms */
        if (c == 0xED) hi = 0x9F;      /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;      /* <= U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < len; i++) {
        if (p[i] < 0x80 || p[i] > 0xBF) return 0;
    }
    return len;
}

/* A JSON string of n bytes (R-RT-030 escaping). */
static void jw_str(gr_jw *w, const char *s, size_t n) {
    const uint8_t *p = (const uint8_t *)s;
    jw_raw(w, "\"");
    for (size_t i = 0; i < n;) {
        uint8_t c = p[i];
        size_t len = utf8_len(p + i, n - i);
        if (c == '"') jw_raw(w, "\\\"");
        else if (c == '\\') jw_raw(w, "\\\\");
        else if (c == '\n') jw_raw(w, "\\n");
        else if (c == '\r') jw_raw(w, "\\r");
        else if (c == '\t') jw_raw(w, "\\t");
        else if (c < 0x20 || c == 0x7F || len == 0) jw_fmt(w, "\\u%04x", (unsigned)c);
        else {
            jw_bytes(w, s + i, len);
            i += len;
            continue;
        }
        i++;
    }
    jw_raw(w, "\"");
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

uint64_t gr_fnv1a(uint64_t h, const void *data, size_t n) {
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t gr_hash_bytes(const uint8_t *data, size_t n) {
    uint64_t h = GR_FNV_OFFSET;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w = 0;
        for (int k = 7; k >= 0; k--) w = (w << 8) | data[i + (size_t)k];
        h ^= w;
        h *= 0x100000001b3ull;
    }
    uint64_t w = 0;
    for (size_t k = n; k > i; k--) w = (w << 8) | data[k - 1];
    h ^= w ^ (uint64_t)n; /* the length tells a zero tail from no tail */
    h *= 0x100000001b3ull;
    return h;
}

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
