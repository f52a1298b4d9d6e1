/*
 * events.c — what the server writes (SPEC chapter 9): event objects with their ids
 * (R-PROTO-003, R-PROTO-006), error events (R-PROTO-004), the logits fields of token events
 * (R-PROTO-030, R-PROTO-031), and the result fields read back from the runtime. Also the
 * server's small helpers (allocation, hex, UTF-8 sanitizing on the library's decoder).
 */
#include "serve_internal.h"

#include "hash.h"    /* reference/src: the one FNV-1a */
#include "sampler.h" /* reference/src: the one top-K */
#include "text.h"    /* reference/src: the one UTF-8 decoder */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers ------------------------------------------------------------------------- */

char *gr_utf8_sanitize(const char *s, size_t len, bool one_line) {
    char *out = len > (SIZE_MAX - 1) / 3 ? NULL : gr_srv_malloc(len * 3 + 1);
    if (out == NULL) return NULL;
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t n = p[i] == 0 ? 0 : gr_utf8_len(p + i, len - i);
        if (n == 0) {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i += 1;
            continue;
        }
        if (one_line && (p[i] == '\n' || p[i] == '\r')) {
            out[o++] = ' ';
        } else {
            memcpy(out + o, p + i, n);
            o += n;
        }
        i += n;
    }
    out[o] = '\0';
    return out;
}

char *gr_hex_bytes(const void *data, size_t len) {
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = data;
    char *out = len > (SIZE_MAX - 1) / 2 ? NULL : gr_srv_malloc(len * 2 + 1);
    if (out == NULL) return NULL;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[len * 2] = '\0';
    return out;
}

static uint32_t float_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* The 8 lowercase hex digits of a binary32's bits (R-PROTO-030), at out[0..8) (no NUL). */
static void hex_bits(char out[8], float f) {
    static const char digits[] = "0123456789abcdef";
    uint32_t u = float_bits(f);
    for (int i = 7; i >= 0; i--, u >>= 4) out[i] = digits[u & 15];
}

/* ---- output ----------------------------------------------------------------------------------- */

/* Write one event line and flush (R-PROTO-001); a failed write stops the server (R-PROTO-015:
 * standard output closed, broken pipe, full disk). */
static void write_line(gr_server *s, const char *text, size_t len) {
    if (s->parent != NULL) s = s->parent; /* a session's view writes through its server */
    pthread_mutex_lock(&s->out_mu);       /* one writer at a time: lines never interleave */
    if (s->failure == NULL) {             /* after a failed write nothing more goes out */
        errno = 0;
        if (fwrite(text, 1, len, s->out) != len || fputc('\n', s->out) == EOF ||
            fflush(s->out) != 0) {
            s->write_errno = errno;
            s->failure = "cannot write events";
            s->stop = true;
        }
    }
    pthread_mutex_unlock(&s->out_mu);
}

/* A fixed buffer as gr_json_string's writer (text.h: the library's one JSON escaper). */
typedef struct fixed_buf {
    char *p;
    size_t len, cap;
} fixed_buf;

static void fixed_write(void *user, const char *p, size_t n) {
    fixed_buf *b = user;
    if (n > b->cap - 1 - b->len) n = b->cap - 1 - b->len; /* ids fit: R-PROTO-006 bounds them */
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* The id of R-PROTO-006 from its raw JSON text (a line that could not be parsed for want of
 * memory), as an event writes it: an integer in plain digits, a string as spelled (escapes
 * included: the same value), else null. */
static void raw_id(char *out, size_t cap, const char *raw, size_t len) {
    snprintf(out, cap, "null");
    if (len > 0 && raw[0] == '"') {
        if (len <= 256 * 6 + 2 && len < cap) { /* at most 256 bytes once unescaped */
            memcpy(out, raw, len);
            out[len] = '\0';
        }
        return;
    }
    char num[40];
    if (len == 0 || len >= sizeof num) return;
    memcpy(num, raw, len);
    num[len] = '\0';
    char *end = NULL;
    double d = strtod(num, &end);
    if (end == num + len && d >= -9007199254740991.0 && d <= 9007199254740991.0 &&
        (double)(int64_t)d == d) {
        snprintf(out, cap, "%lld", (long long)d);
    }
}

void gr_emit_oom(gr_server *s) {
    char id[256 * 6 + 8];
    const cJSON *cur = s->cur_id;
    if (cur == NULL && s->cur_raw_id != NULL) {
        raw_id(id, sizeof id, s->cur_raw_id, s->cur_raw_len);
    } else if (cur == NULL) {
        snprintf(id, sizeof id, "null");
    } else if (cJSON_IsString(cur)) {
        fixed_buf b = {id, 0, sizeof id};
        gr_json_string(fixed_write, &b, cur->valuestring, strlen(cur->valuestring),
                       GR_JSON_CR_SHORT);
    } else {
        snprintf(id, sizeof id, "%lld", (long long)cur->valuedouble);
    }
    /* the state, except for a cancel answered inside a generate (the export lock is held:
     * the state query would fail; a cancel's events carry no state, R-PROTO-012) */
    char state[64] = "";
    ggufref_state st;
    if (s->session_rt != NULL) { /* a session's view: its runtime's state and its id */
        snprintf(state, sizeof state, ",\"state\":\"%s\",\"session\":%lld",
                 ggufref_state_name(ggufref_runtime_state(s->session_rt)),
                 (long long)s->session_id);
    } else if (s->session_id != 0) {
        snprintf(state, sizeof state, ",\"session\":%lld", (long long)s->session_id);
    } else if (!s->streaming) {
        snprintf(state, sizeof state, ",\"state\":\"%s\"",
                 ggufref_export_state(&st) == GGUFREF_OK ? ggufref_state_name(st) : "POISONED");
    }
    char line[sizeof id + 256];
    int n = snprintf(line, sizeof line,
                     "{\"id\":%s,\"event\":\"error\",\"error\":{\"code\":%d,\"name\":\"%s\","
                     "\"message\":\"ggufref serve ran out of memory answering this command\"}"
                     "%s}",
                     id, (int)GGUFREF_ERR_OUT_OF_MEMORY,
                     ggufref_status_name(GGUFREF_ERR_OUT_OF_MEMORY), state);
    gr_srv_oom_clear();
    write_line(s, line, (size_t)n);
}

bool gr_emit_try(gr_server *s, cJSON *ev) {
    if (ev != NULL && s->session_id != 0 && !cJSON_HasObjectItem(ev, "session")) {
        gr_add(ev, "session", gr_json_int(s->session_id)); /* R-PROTO-073 */
    }
    char *text = ev == NULL || gr_srv_oom() ? NULL : cJSON_PrintUnformatted(ev);
    cJSON_Delete(ev);
    gr_srv_oom_clear();
    if (text == NULL) return false;
    write_line(s, text, strlen(text));
    cJSON_free(text);
    return true;
}

void gr_emit(gr_server *s, cJSON *ev) {
    if (!gr_emit_try(s, ev)) gr_emit_oom(s);
}

void gr_add(cJSON *obj, const char *key, cJSON *item) {
    if (item == NULL) return;
    if (!cJSON_AddItemToObject(obj, key, item)) {
        cJSON_Delete(item);
        gr_srv_oom_swap(true);
    }
}

void gr_push(cJSON *arr, cJSON *item) {
    if (item == NULL) return;
    if (!cJSON_AddItemToArray(arr, item)) {
        cJSON_Delete(item);
        gr_srv_oom_swap(true);
    }
}

/* An integer as exact JSON text: cJSON prints large doubles with 15 significant digits. */
cJSON *gr_json_int(int64_t v) {
    char buf[24];
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    return cJSON_CreateRaw(buf);
}

/* A binary32 as the shortest %.{1..9}g text that reads back as the same float (R-PROTO-022). */
cJSON *gr_json_float(float f) {
    char buf[32];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        if (strtof(buf, NULL) == f) break;
    }
    if (!(f == f) || f - f != 0.0f) snprintf(buf, sizeof buf, "null"); /* not finite */
    return cJSON_CreateRaw(buf);
}

/* True if v can be a request id (R-PROTO-006): a string of at most 256 bytes, or a number whose
 * binary64 value is an integer of magnitude below 2^53 (`1.0`, `1e2` and `-0` are integers). */
bool gr_id_valid(const cJSON *v) {
    if (cJSON_IsString(v)) return strlen(v->valuestring) <= 256;
    return cJSON_IsNumber(v) && v->valuedouble >= -9007199254740991.0 &&
           v->valuedouble <= 9007199254740991.0 &&
           (double)(int64_t)v->valuedouble == v->valuedouble;
}

/* A copy of a request id for an event (R-PROTO-006: an equal JSON value of the same type; an
 * integer id in plain decimal digits, exactly, whatever its spelling: -0 -> 0, 1e2 -> 100). */
static cJSON *id_copy(const cJSON *id) {
    if (id == NULL) return cJSON_CreateNull();
    if (cJSON_IsNumber(id)) return gr_json_int((int64_t)id->valuedouble);
    return cJSON_Duplicate(id, true);
}

/* Same request id (R-PROTO-006, R-PROTO-040): equal strings, or equal integers (exactly: both
 * are below 2^53); a string never equals a number. */
bool gr_id_equal(const cJSON *a, const cJSON *b) {
    if (a == NULL || b == NULL) return false;
    if (cJSON_IsString(a) && cJSON_IsString(b)) return strcmp(a->valuestring, b->valuestring) == 0;
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b)) return a->valuedouble == b->valuedouble;
    return false;
}

cJSON *gr_event_new(const cJSON *id, const char *kind) {
    cJSON *ev = cJSON_CreateObject();
    gr_add(ev, "id", id_copy(id));
    cJSON_AddStringToObject(ev, "event", kind);
    return ev;
}

/* The runtime state name for events (R-PROTO-012): POISONED when the state query fails. */
static const char *state_name(void) {
    ggufref_state st;
    if (ggufref_export_state(&st) != GGUFREF_OK) return "POISONED";
    return ggufref_state_name(st);
}

cJSON *gr_result_new(const cJSON *id, bool with_state) {
    cJSON *ev = gr_event_new(id, "result");
    if (with_state) cJSON_AddStringToObject(ev, "state", state_name());
    return ev;
}

void gr_add_string_sanitized(cJSON *obj, const char *key, const char *s, size_t len,
                             bool one_line) {
    char *clean = gr_utf8_sanitize(s, len, one_line);
    if (clean == NULL) return;
    cJSON_AddStringToObject(obj, key, clean);
    gr_srv_free(clean);
}

/* R-PROTO-004: {"id", "event": "error", "error": {code, name, message}} (+ "state" when the
 * command reached the runtime or could have: with_state). */
void gr_emit_error_msg(gr_server *s, const cJSON *id, ggufref_status status, bool with_state,
                       const char *message) {
    if (s->brk == BRK_STATUS_NUMBER && status == GGUFREF_ERR_MODEL_NOT_LOADED) {
        status = GGUFREF_ERR_INVALID_STATE;
    }
    cJSON *ev = gr_event_new(id, "error");
    cJSON *err = cJSON_AddObjectToObject(ev, "error");
    cJSON_AddNumberToObject(err, "code", (double)status);
    cJSON_AddStringToObject(err, "name", ggufref_status_name(status));
    gr_add_string_sanitized(err, "message", message, strlen(message), false);
    if (with_state) cJSON_AddStringToObject(ev, "state", state_name());
    gr_emit(s, ev);
}

void gr_emit_error(gr_server *s, const cJSON *id, ggufref_status status, bool with_state,
                   const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    gr_emit_error_msg(s, id, status, with_state, msg);
}

/* The error of a failed export call: its status, the runtime's last error message. */
void gr_emit_runtime_error(gr_server *s, const cJSON *id, int status, const char *op) {
    ggufref_error err;
    const char *msg = "the runtime is poisoned (GENERATION_FAILED)";
    char buf[GGUFREF_ERROR_MESSAGE_MAX + 64];
    if (ggufref_export_last_error(&err) == GGUFREF_OK && err.message[0] != '\0') {
        snprintf(buf, sizeof buf, "%s: %s", op, err.message);
        msg = buf;
    } else if (status != GGUFREF_ERR_GENERATION_FAILED) {
        snprintf(buf, sizeof buf, "%s failed: %s", op, ggufref_status_name(status));
        msg = buf;
    }
    gr_emit_error_msg(s, id, (ggufref_status)status, true, msg);
}

/* ---- logits (R-PROTO-030, R-PROTO-031) ----------------------------------------------------- */

/* The k highest logits as [id, "bits"] pairs, highest first, ties by lower id (the library's
 * one top-K, sampler.h). */
static cJSON *top_logits(const float *x, size_t n, int k) {
    int32_t best[GR_PROTOCOL_MAX_TOP];
    int m = (int)gr_top_logits(x, n, (size_t)k, best);
    cJSON *arr = cJSON_CreateArray();
    for (int j = 0; j < m; j++) {
        char bits[9] = {0};
        hex_bits(bits, x[best[j]]);
        cJSON *pair = cJSON_CreateArray();
        gr_push(pair, cJSON_CreateNumber((double)best[j]));
        gr_push(pair, cJSON_CreateString(bits));
        gr_push(arr, pair);
    }
    return arr;
}

void gr_add_logits(cJSON *ev, const float *x, uint32_t n, int k, bool full) {
    gr_add(ev, "top", top_logits(x, n, k));
    char digest[17];
    snprintf(digest, sizeof digest, "%016llx", (unsigned long long)gr_fnv1a_f32(GR_FNV_OFFSET, x, n));
    cJSON_AddStringToObject(ev, "digest", digest);
    if (full) {
        char *hex = gr_srv_malloc((size_t)n * 8 + 1);
        if (hex == NULL) return;
        for (size_t i = 0; i < n; i++) hex_bits(hex + 8 * i, x[i]);
        hex[(size_t)n * 8] = '\0';
        cJSON_AddStringToObject(ev, "logits_hex", hex);
        gr_srv_free(hex);
    }
}

/* ---- result fields read back from the runtime ------------------------------------------------ */

cJSON *gr_int_array(const int32_t *v, size_t n) {
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) gr_push(arr, cJSON_CreateNumber(v[i]));
    return arr;
}

cJSON *gr_sampling_json(const ggufref_sampling *p) {
    cJSON *o = cJSON_CreateObject();
    gr_add(o, "temperature", gr_json_float(p->temperature));
    cJSON_AddNumberToObject(o, "top_k", p->top_k);
    gr_add(o, "top_p", gr_json_float(p->top_p));
    gr_add(o, "min_p", gr_json_float(p->min_p));
    gr_add(o, "repeat_penalty", gr_json_float(p->repeat_penalty));
    cJSON_AddNumberToObject(o, "repeat_last_n", p->repeat_last_n);
    if (p->seed <= 9007199254740992ull) {
        gr_add(o, "seed", gr_json_int((int64_t)p->seed));
    } else {
        char buf[24];
        snprintf(buf, sizeof buf, "%llu", (unsigned long long)p->seed);
        cJSON_AddStringToObject(o, "seed", buf);
    }
    cJSON_AddNumberToObject(o, "max_tokens", p->max_tokens);
    cJSON_AddBoolToObject(o, "stop_at_eos", p->stop_at_eos);
    return o;
}

bool gr_runtime_tokens(int32_t **out, size_t *n, size_t *n_prompt) {
    size_t need = 0, np = 0;
    *out = NULL;
    int st = ggufref_export_tokens(NULL, 0, &need, &np);
    if (st != GGUFREF_OK && st != GGUFREF_ERR_LIMIT_EXCEEDED) return false;
    int32_t *buf = gr_srv_malloc((need + 1) * sizeof *buf);
    if (buf == NULL) return false;
    if (ggufref_export_tokens(buf, need + 1, n, n_prompt) != GGUFREF_OK) {
        gr_srv_free(buf);
        return false;
    }
    *out = buf;
    return true;
}

void gr_add_result_text(cJSON *ev) {
    size_t need = 0;
    int st = ggufref_export_result(NULL, 0, &need);
    if (st != GGUFREF_OK && st != GGUFREF_ERR_LIMIT_EXCEEDED) return;
    char *buf = gr_srv_malloc(need + 1);
    if (buf == NULL) return;
    size_t len = 0;
    if (ggufref_export_result(buf, need + 1, &len) == GGUFREF_OK) {
        char *hex = gr_hex_bytes(buf, len);
        if (hex != NULL) cJSON_AddStringToObject(ev, "text_hex", hex);
        gr_srv_free(hex);
        gr_add_string_sanitized(ev, "text", buf, len, false);
    }
    gr_srv_free(buf);
}
