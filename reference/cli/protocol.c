/*
 * protocol.c — the wire protocol server (SPEC chapter 9, R-PROTO-*), on top of the export layer.
 *
 *   stdin ──reader──► line queue ──dispatch──► handler ──► ggufref_export_* ──► events ──► out
 *                          ▲                                   │ token callback
 *                          └──── read ahead between tokens ◄───┘ (cancel handled at once)
 *
 * One thread. Commands are handled in arrival order, except that while a generate streams the
 * server reads ahead after every token event and handles each `cancel` it finds at once
 * (R-PROTO-041); other commands wait their turn.
 *
 * The `logits` capability (R-PROTO-030) reports what the runtime computed: the token callback
 * receives the logits each token was sampled from (R-RT-029, R-EXP-008), and the server turns
 * them into `top`, `digest` and `logits_hex` inside the callback, before the view expires.
 *
 * Break variants (fault-injection builds only) make the server deliberately wrong in one way,
 * for the harness self-test that proves the suite catches each (harness/selftest). They live
 * here, in the CLI, never in the library.
 */
#include "protocol.h"

#include "ggufref.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- break variants (harness self-test) --------------------------------------------------- */

enum gr_break {
    BRK_NONE = 0,
    BRK_STATUS_NUMBER,      /* MODEL_NOT_LOADED reported as 12 INVALID_STATE */
    BRK_RESET_KEEPS_TOKENS, /* reset-context answers OK but does nothing */
    BRK_IGNORE_CANCEL,      /* cancel answers cancelled:true but never sets the flag */
    BRK_EXTRA_COIN,         /* the RNG is one draw ahead: one extra coin per request */
    BRK_LOAD_NOT_TRANSACTIONAL, /* load-model frees the resident model before loading */
    BRK_POSITION_SHIFT,     /* each token reports the logits of the token before it */
    BRK_OVERSIZE_EXIT,      /* an oversized line ends the server */
    BRK_MALFORMED_SILENT,   /* a malformed line gets no answer */
    BRK_COUNT
};

static const char *const break_names[] = {
#ifdef GGUFREF_FAULT_INJECTION
    [BRK_STATUS_NUMBER] = "status-number",
    [BRK_RESET_KEEPS_TOKENS] = "reset-keeps-tokens",
    [BRK_IGNORE_CANCEL] = "ignore-cancel",
    [BRK_EXTRA_COIN] = "extra-coin",
    [BRK_LOAD_NOT_TRANSACTIONAL] = "load-not-transactional",
    [BRK_POSITION_SHIFT] = "position-shift",
    [BRK_OVERSIZE_EXIT] = "oversize-exit",
    [BRK_MALFORMED_SILENT] = "malformed-silent",
    [BRK_COUNT] = NULL,
#else
    NULL,
#endif
};

const char *const *gr_server_break_names(void) {
#ifdef GGUFREF_FAULT_INJECTION
    return break_names + 1;
#else
    return break_names;
#endif
}

#ifndef GGUFREF_HAVE_CJSON

struct gr_server {
    int unused;
};

gr_server *gr_server_create(FILE *out, const gr_server_config *config, const char **why) {
    (void)out;
    (void)config;
    if (why != NULL) {
        *why = "this ggufref was built without cJSON (libcjson-dev): 'serve' is unavailable; "
               "install it (tools/deps.sh) and rebuild";
    }
    return NULL;
}
void gr_server_destroy(gr_server *server) { (void)server; }
void gr_server_handle_line(gr_server *server, const char *line, size_t len) {
    (void)server;
    (void)line;
    (void)len;
}
int gr_server_run(gr_server *server, int fd) {
    (void)server;
    (void)fd;
    return 1;
}

#else /* GGUFREF_HAVE_CJSON */

#include <cjson/cJSON.h>

/* ---- small helpers ------------------------------------------------------------------------- */

static void *xmalloc(size_t n) {
    void *p = malloc(n == 0 ? 1 : n);
    if (p == NULL) {
        fputs("ggufref serve: out of memory\n", stderr);
        abort();
    }
    return p;
}

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n == 0 ? 1 : n);
    if (q == NULL) {
        fputs("ggufref serve: out of memory\n", stderr);
        abort();
    }
    return q;
}

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = xmalloc(n);
    memcpy(p, s, n);
    return p;
}

/* Length of the valid UTF-8 sequence at s[0..len) (1..4), or 0 if it is not valid
 * (overlong forms, surrogates and code points past U+10FFFF are invalid). */
static size_t utf8_seq(const unsigned char *s, size_t len) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t n;
    unsigned min;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2, min = 0x80, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3, min = 0x800, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    if (len < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

static bool utf8_valid(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_seq(p + i, len - i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

/* A NUL-terminated, valid UTF-8 copy of bytes: every invalid byte and every NUL becomes
 * U+FFFD; with one_line, CR and LF become spaces. Caller frees. */
static char *utf8_sanitize(const char *s, size_t len, bool one_line) {
    char *out = xmalloc(len * 3 + 1);
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t n = p[i] == 0 ? 0 : utf8_seq(p + i, len - i);
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

/* Lowercase hex of bytes. Caller frees. */
static char *hex_bytes(const void *data, size_t len) {
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = data;
    char *out = xmalloc(len * 2 + 1);
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

/* R-PROTO-031: FNV-1a 64 over the little-endian bytes of n float32 values. */
static uint64_t logits_digest(const float *x, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        uint32_t u = float_bits(x[i]);
        for (int b = 0; b < 4; b++) {
            h ^= (u >> (8 * b)) & 0xFF;
            h *= 0x100000001b3ull;
        }
    }
    return h;
}

/* ---- input: lines and the queue ------------------------------------------------------------- */

typedef struct gr_line {
    char *text;      /* NUL-terminated copy; NULL for an oversized line */
    size_t len;
    int is_cancel;   /* line_kind: -1 not yet looked at */
} gr_line;

typedef struct gr_reader {
    int fd;
    char *buf;          /* bytes of the line being read */
    size_t len, cap;
    bool discarding;    /* inside a line past the limit: drop bytes until its newline */
    bool eof;
} gr_reader;

struct gr_server {
    FILE *out;
    bool fault_injection;
    int brk;
    gr_reader *reader;       /* NULL when lines are fed by gr_server_handle_line only */
    gr_line *queue;          /* pending lines, queue[head..head+count) */
    size_t head, count, qcap;

    /* the command being streamed (generate / generate-next-token) */
    bool streaming;
    cJSON *stream_id;
    size_t stream_index;     /* index of the next token event */
    int stream_top;          /* top logits per token event (0 = none) */
    bool stream_full;        /* also the full logits vector */
    float *prev_logits;      /* BRK_POSITION_SHIFT: [prev_n] the previous token's logits */
    uint32_t prev_n;
    bool prev_valid;         /* prev_logits belong to the open request */
    int32_t *gen;            /* tokens produced by the streaming command */
    size_t n_gen, gen_cap;

    char *model_path;        /* the file of the resident model (last accepted load) */
    ggufref_sampling sampling;
    char *panic_point;       /* copy of the armed panic point name */
    bool stop;               /* BRK_OVERSIZE_EXIT fired */
};

/* ---- output ----------------------------------------------------------------------------------- */

static void emit(gr_server *s, cJSON *ev) {
    char *text = cJSON_PrintUnformatted(ev);
    cJSON_Delete(ev);
    if (text == NULL) {
        fputs("ggufref serve: out of memory printing an event\n", stderr);
        abort();
    }
    fputs(text, s->out);
    fputc('\n', s->out);
    fflush(s->out);
    cJSON_free(text);
}

/* An integer as exact JSON text: cJSON prints large doubles with 15 significant digits. */
static cJSON *json_int(int64_t v) {
    char buf[24];
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    return cJSON_CreateRaw(buf);
}

/* A binary32 as the shortest %.{1..9}g text that reads back as the same float (R-PROTO-022). */
static cJSON *json_float(float f) {
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
static bool id_valid(const cJSON *v) {
    if (cJSON_IsString(v)) return strlen(v->valuestring) <= 256;
    return cJSON_IsNumber(v) && v->valuedouble >= -9007199254740991.0 &&
           v->valuedouble <= 9007199254740991.0 &&
           (double)(int64_t)v->valuedouble == v->valuedouble;
}

/* A copy of a request id for an event (R-PROTO-006: an equal JSON value of the same type; an
 * integer id in plain decimal digits, exactly, whatever its spelling: -0 -> 0, 1e2 -> 100). */
static cJSON *id_copy(const cJSON *id) {
    if (id == NULL) return cJSON_CreateNull();
    if (cJSON_IsNumber(id)) return json_int((int64_t)id->valuedouble);
    return cJSON_Duplicate(id, true);
}

/* Same request id (R-PROTO-006, R-PROTO-040): equal strings, or equal integers (exactly: both
 * are below 2^53); a string never equals a number. */
static bool id_equal(const cJSON *a, const cJSON *b) {
    if (a == NULL || b == NULL) return false;
    if (cJSON_IsString(a) && cJSON_IsString(b)) return strcmp(a->valuestring, b->valuestring) == 0;
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b)) return a->valuedouble == b->valuedouble;
    return false;
}

static cJSON *event_new(const cJSON *id, const char *kind) {
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddItemToObject(ev, "id", id_copy(id));
    cJSON_AddStringToObject(ev, "event", kind);
    return ev;
}

/* The runtime state name for events (R-PROTO-012): POISONED when the state query fails. */
static const char *state_name(void) {
    ggufref_state st;
    if (ggufref_export_state(&st) != GGUFREF_OK) return "POISONED";
    return ggufref_state_name(st);
}

static void add_string_sanitized(cJSON *obj, const char *key, const char *s, size_t len,
                                 bool one_line) {
    char *clean = utf8_sanitize(s, len, one_line);
    cJSON_AddStringToObject(obj, key, clean);
    free(clean);
}

/* R-PROTO-004: {"id", "event": "error", "error": {code, name, message}} (+ "state" when the
 * command reached the runtime or could have: with_state). */
static void emit_error_msg(gr_server *s, const cJSON *id, ggufref_status status, bool with_state,
                           const char *message) {
    if (s->brk == BRK_STATUS_NUMBER && status == GGUFREF_ERR_MODEL_NOT_LOADED) {
        status = GGUFREF_ERR_INVALID_STATE;
    }
    cJSON *ev = event_new(id, "error");
    cJSON *err = cJSON_AddObjectToObject(ev, "error");
    cJSON_AddNumberToObject(err, "code", (double)status);
    cJSON_AddStringToObject(err, "name", ggufref_status_name(status));
    add_string_sanitized(err, "message", message, strlen(message), true);
    if (with_state) cJSON_AddStringToObject(ev, "state", state_name());
    emit(s, ev);
}

static void emit_error(gr_server *s, const cJSON *id, ggufref_status status, bool with_state,
                       const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
static void emit_error(gr_server *s, const cJSON *id, ggufref_status status, bool with_state,
                       const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    emit_error_msg(s, id, status, with_state, msg);
}

/* The error of a failed export call: its status, the runtime's last error message. */
static void emit_runtime_error(gr_server *s, const cJSON *id, int status, const char *op) {
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
    emit_error_msg(s, id, (ggufref_status)status, true, msg);
}

static cJSON *result_new(const cJSON *id, bool with_state) {
    cJSON *ev = event_new(id, "result");
    if (with_state) cJSON_AddStringToObject(ev, "state", state_name());
    return ev;
}

/* ---- fields of a command ---------------------------------------------------------------------- */

typedef struct gr_req {
    gr_server *s;
    const cJSON *msg;
    const cJSON *id;
    const char *cmd;
} gr_req;

static const cJSON *field(const gr_req *r, const char *name) {
    return cJSON_GetObjectItemCaseSensitive(r->msg, name);
}

/* R-PROTO-008: a required string field. */
static bool get_string(const gr_req *r, const char *name, const char **out) {
    const cJSON *f = field(r, name);
    if (f == NULL) {
        emit_error(r->s, r->id, GGUFREF_ERR_INVALID_ARGUMENT, false,
                   "%s: missing field '%s' (a string)", r->cmd, name);
        return false;
    }
    if (!cJSON_IsString(f)) {
        emit_error(r->s, r->id, GGUFREF_ERR_INVALID_ARGUMENT, false,
                   "%s: field '%s' must be a string", r->cmd, name);
        return false;
    }
    *out = f->valuestring;
    return true;
}

/* An optional integer field in [lo, hi]; *out keeps its default when absent. */
static bool get_int(const gr_req *r, const char *name, double lo, double hi, int64_t *out) {
    const cJSON *f = field(r, name);
    if (f == NULL) return true;
    double d = f->valuedouble;
    if (!cJSON_IsNumber(f) || !(d >= lo && d <= hi) || (double)(int64_t)d != d) {
        emit_error(r->s, r->id, GGUFREF_ERR_INVALID_ARGUMENT, false,
                   "%s: field '%s' must be an integer in [%.0f, %.0f]", r->cmd, name, lo, hi);
        return false;
    }
    *out = (int64_t)d;
    return true;
}

/* An optional number field (any JSON number; the runtime checks ranges). */
static bool get_float(const gr_req *r, const char *name, float *out) {
    const cJSON *f = field(r, name);
    if (f == NULL) return true;
    if (!cJSON_IsNumber(f)) {
        emit_error(r->s, r->id, GGUFREF_ERR_INVALID_ARGUMENT, false,
                   "%s: field '%s' must be a number", r->cmd, name);
        return false;
    }
    *out = (float)f->valuedouble;
    return true;
}

static bool get_bool(const gr_req *r, const char *name, bool *out) {
    const cJSON *f = field(r, name);
    if (f == NULL) return true;
    if (!cJSON_IsBool(f)) {
        emit_error(r->s, r->id, GGUFREF_ERR_INVALID_ARGUMENT, false,
                   "%s: field '%s' must be true or false", r->cmd, name);
        return false;
    }
    *out = cJSON_IsTrue(f);
    return true;
}

/* R-PROTO-021: seed is an integer in [0, 2^53] or a decimal string up to 2^64-1. */
static bool get_seed(const gr_req *r, uint64_t *out) {
    const cJSON *f = field(r, "seed");
    if (f == NULL) return true;
    if (cJSON_IsNumber(f)) {
        double d = f->valuedouble;
        if (d >= 0 && d <= 9007199254740992.0 && (double)(uint64_t)d == d) {
            *out = (uint64_t)d;
            return true;
        }
    } else if (cJSON_IsString(f) && f->valuestring[0] != '\0' &&
               strlen(f->valuestring) <= 20) {
        uint64_t v = 0;
        const char *p = f->valuestring;
        for (; *p >= '0' && *p <= '9'; p++) {
            uint64_t digit = (uint64_t)(*p - '0');
            if (v > (UINT64_MAX - digit) / 10) break;
            v = v * 10 + digit;
        }
        if (*p == '\0') {
            *out = v;
            return true;
        }
    }
    emit_error(r->s, r->id, GGUFREF_ERR_INVALID_ARGUMENT, false,
               "%s: field 'seed' must be an integer in [0, 2^53] or a decimal string < 2^64",
               r->cmd);
    return false;
}

/* R-PROTO-030: the k highest logits as [id, "bits"] pairs, highest first, ties by lower id.
 * One pass keeps the best k so far in order; an id enters only above a strictly smaller
 * value, so among equal values the lower id stays first. O(n) plus O(k) per entry. */
static cJSON *top_logits(const float *x, size_t n, int k) {
    int32_t best[GR_PROTOCOL_MAX_TOP];
    int m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m == k && !(x[i] > x[best[m - 1]])) continue;
        int j = m < k ? m++ : m - 1;
        while (j > 0 && x[i] > x[best[j - 1]]) {
            best[j] = best[j - 1];
            j--;
        }
        best[j] = (int32_t)i;
    }
    cJSON *arr = cJSON_CreateArray();
    for (int j = 0; j < m; j++) {
        char bits[9] = {0};
        hex_bits(bits, x[best[j]]);
        cJSON *pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, cJSON_CreateNumber((double)best[j]));
        cJSON_AddItemToArray(pair, cJSON_CreateString(bits));
        cJSON_AddItemToArray(arr, pair);
    }
    return arr;
}

/* Add top, digest (and logits_hex) of the n logits x to ev (R-PROTO-030, R-PROTO-031). */
static void add_logits_of(const gr_server *s, cJSON *ev, const float *x, uint32_t n) {
    cJSON_AddItemToObject(ev, "top", top_logits(x, n, s->stream_top));
    char digest[17];
    snprintf(digest, sizeof digest, "%016llx", (unsigned long long)logits_digest(x, n));
    cJSON_AddStringToObject(ev, "digest", digest);
    if (s->stream_full) {
        char *hex = xmalloc((size_t)n * 8 + 1);
        for (size_t i = 0; i < n; i++) hex_bits(hex + 8 * i, x[i]);
        hex[(size_t)n * 8] = '\0';
        cJSON_AddStringToObject(ev, "logits_hex", hex);
        free(hex);
    }
}

/* The logits fields of a token event, from the n logits x the token was sampled from (the
 * runtime's view, valid only during the token callback). BRK_POSITION_SHIFT reports instead
 * the logits of the token before it in the request (its own for the request's first token). */
static void add_logits(gr_server *s, cJSON *ev, const float *x, uint32_t n) {
    if (s->brk != BRK_POSITION_SHIFT) {
        add_logits_of(s, ev, x, n);
        return;
    }
    if (s->prev_n != n) {
        s->prev_logits = xrealloc(s->prev_logits, (size_t)n * sizeof *x);
        s->prev_n = n;
        s->prev_valid = false;
    }
    add_logits_of(s, ev, s->prev_valid ? s->prev_logits : x, n);
    memcpy(s->prev_logits, x, (size_t)n * sizeof *x);
    s->prev_valid = true;
}

/* ---- line queue ------------------------------------------------------------------------------ */

static void queue_push(gr_server *s, char *text, size_t len) {
    if (s->head > 0 && s->head + s->count == s->qcap) {
        memmove(s->queue, s->queue + s->head, s->count * sizeof *s->queue);
        s->head = 0;
    }
    if (s->head + s->count == s->qcap) {
        s->qcap = s->qcap ? s->qcap * 2 : 16;
        s->queue = xrealloc(s->queue, s->qcap * sizeof *s->queue);
    }
    s->queue[s->head + s->count++] = (gr_line){text, len, -1};
}

static gr_line queue_take(gr_server *s, size_t i) {
    gr_line l = s->queue[s->head + i];
    memmove(s->queue + s->head + i, s->queue + s->head + i + 1,
            (s->count - i - 1) * sizeof *s->queue);
    s->count--;
    if (s->count == 0) s->head = 0;
    return l;
}

/* Append the bytes of one read to the reader, queueing every complete line. */
static void reader_feed(gr_server *s, const char *data, size_t n) {
    gr_reader *rd = s->reader;
    while (n > 0) {
        const char *nl = memchr(data, '\n', n);
        size_t part = nl != NULL ? (size_t)(nl - data) : n;
        if (!rd->discarding) {
            if (rd->len + part > GR_PROTOCOL_MAX_LINE) {
                rd->discarding = true; /* R-PROTO-009 */
                rd->len = 0;
            } else {
                if (rd->len + part + 1 > rd->cap) {
                    rd->cap = (rd->len + part + 1) * 2;
                    rd->buf = xrealloc(rd->buf, rd->cap);
                }
                memcpy(rd->buf + rd->len, data, part);
                rd->len += part;
            }
        }
        if (nl == NULL) return;
        if (rd->discarding) {
            queue_push(s, NULL, 0);
            rd->discarding = false;
        } else {
            char *text = xmalloc(rd->len + 1);
            memcpy(text, rd->buf, rd->len);
            text[rd->len] = '\0';
            queue_push(s, text, rd->len);
        }
        rd->len = 0;
        data += part + 1;
        n -= part + 1;
    }
}

/* Read what is available; block until something arrives when `block`. At end of input a last
 * line without newline is queued as if it had one (R-PROTO-001). */
static void reader_fill(gr_server *s, bool block) {
    gr_reader *rd = s->reader;
    char chunk[65536];
    for (;;) {
        if (rd->eof) return;
        struct pollfd p = {.fd = rd->fd, .events = POLLIN};
        int r = poll(&p, 1, block ? -1 : 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return;
        ssize_t got = read(rd->fd, chunk, sizeof chunk);
        if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (got <= 0) {
            rd->eof = true;
            if (rd->discarding || rd->len > 0) reader_feed(s, "\n", 1);
            return;
        }
        reader_feed(s, chunk, (size_t)got);
        if (block) block = false; /* got something: drain the rest without blocking */
    }
}

/* ---- dispatch ------------------------------------------------------------------------------- */

static void dispatch(gr_server *s, const char *line, size_t len);

/* What a queued line is (parsed once, remembered): LINE_CANCEL, LINE_STREAM (generate or
 * generate-next-token) or LINE_OTHER. */
enum { LINE_UNKNOWN = -1, LINE_OTHER = 0, LINE_CANCEL = 1, LINE_STREAM = 2 };

static int line_kind(gr_line *l) {
    if (l->is_cancel == LINE_UNKNOWN) {
        l->is_cancel = LINE_OTHER;
        if (l->text != NULL) {
            cJSON *msg = cJSON_ParseWithLength(l->text, l->len);
            const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(msg, "cmd");
            if (cJSON_IsString(cmd) && strcmp(cmd->valuestring, "cancel") == 0) {
                l->is_cancel = LINE_CANCEL;
            } else if (cJSON_IsString(cmd) && (strcmp(cmd->valuestring, "generate") == 0 ||
                                              strcmp(cmd->valuestring, "generate-next-token") ==
                                                  0)) {
                l->is_cancel = LINE_STREAM;
            }
            cJSON_Delete(msg);
        }
    }
    return l->is_cancel;
}

/* R-PROTO-041: between two tokens, read ahead and handle every cancel received so far that
 * is not queued behind another generate (such a cancel waits for that generate to start). */
static void handle_pending_cancels(gr_server *s) {
    if (s->reader == NULL) return;
    reader_fill(s, false);
    for (size_t i = 0; i < s->count;) {
        int kind = line_kind(&s->queue[s->head + i]);
        if (kind == LINE_STREAM) break;
        if (kind == LINE_CANCEL) {
            gr_line l = queue_take(s, i);
            dispatch(s, l.text, l.len);
            free(l.text);
        } else {
            i++;
        }
    }
}

static void gen_push(gr_server *s, int32_t token) {
    if (s->n_gen == s->gen_cap) {
        s->gen_cap = s->gen_cap ? s->gen_cap * 2 : 64;
        s->gen = xrealloc(s->gen, s->gen_cap * sizeof *s->gen);
    }
    s->gen[s->n_gen++] = token;
}

/* The token callback (runs inside the export lock: calls only ggufref_export_cancel). */
static void on_token(int32_t token, const char *piece, size_t len, const float *logits,
                     uint32_t n_vocab, void *user) {
    gr_server *s = user;
    gen_push(s, token);
    cJSON *ev = event_new(s->stream_id, "token");
    cJSON_AddNumberToObject(ev, "index", (double)s->stream_index++);
    cJSON_AddNumberToObject(ev, "token", (double)token);
    char *hex = hex_bytes(piece, len);
    cJSON_AddStringToObject(ev, "piece", hex);
    free(hex);
    if (s->stream_top > 0) add_logits(s, ev, logits, n_vocab);
    emit(s, ev);
    handle_pending_cancels(s);
}

/* ---- command handlers -------------------------------------------------------------------- */

static cJSON *capabilities(const gr_server *s) {
    cJSON *caps = cJSON_CreateArray();
    cJSON_AddItemToArray(caps, cJSON_CreateString("step"));
    cJSON_AddItemToArray(caps, cJSON_CreateString("cancel"));
    cJSON_AddItemToArray(caps, cJSON_CreateString("logits"));
    if (s->fault_injection) cJSON_AddItemToArray(caps, cJSON_CreateString("fault-injection"));
    return caps;
}

static void cmd_boot(gr_req *r) {
    int st = ggufref_export_init_runtime();
    if (st != GGUFREF_OK) {
        emit_runtime_error(r->s, r->id, st, "boot");
        return;
    }
    cJSON *ev = result_new(r->id, true);
    cJSON_AddStringToObject(ev, "name", "ggufref");
    cJSON_AddStringToObject(ev, "version", GGUFREF_VERSION_STRING);
    cJSON_AddNumberToObject(ev, "protocol", 1);
    cJSON_AddItemToObject(ev, "capabilities", capabilities(r->s));
    cJSON *limits = cJSON_AddObjectToObject(ev, "limits");
    cJSON_AddNumberToObject(limits, "max_line", (double)GR_PROTOCOL_MAX_LINE);
    cJSON_AddNumberToObject(limits, "max_top", GR_PROTOCOL_MAX_TOP);
    emit(r->s, ev);
}

static void cmd_load_model(gr_req *r) {
    const char *path;
    if (!get_string(r, "path", &path)) return;
    gr_server *s = r->s;
    if (s->brk == BRK_LOAD_NOT_TRANSACTIONAL && s->model_path != NULL) {
        ggufref_export_free_model();
        free(s->model_path);
        s->model_path = NULL;
    }
    int st = ggufref_export_load_model_file(path);
    if (st != GGUFREF_OK) {
        emit_runtime_error(s, r->id, st, "load-model");
        return;
    }
    free(s->model_path);
    s->model_path = xstrdup(path);
    emit(s, result_new(r->id, true));
}

static cJSON *sampling_json(const ggufref_sampling *p) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "temperature", json_float(p->temperature));
    cJSON_AddNumberToObject(o, "top_k", p->top_k);
    cJSON_AddItemToObject(o, "top_p", json_float(p->top_p));
    cJSON_AddItemToObject(o, "min_p", json_float(p->min_p));
    cJSON_AddItemToObject(o, "repeat_penalty", json_float(p->repeat_penalty));
    cJSON_AddNumberToObject(o, "repeat_last_n", p->repeat_last_n);
    if (p->seed <= 9007199254740992ull) {
        cJSON_AddItemToObject(o, "seed", json_int((int64_t)p->seed));
    } else {
        char buf[24];
        snprintf(buf, sizeof buf, "%llu", (unsigned long long)p->seed);
        cJSON_AddStringToObject(o, "seed", buf);
    }
    cJSON_AddNumberToObject(o, "max_tokens", p->max_tokens);
    cJSON_AddBoolToObject(o, "stop_at_eos", p->stop_at_eos);
    return o;
}

/* BRK_EXTRA_COIN: the seed whose stream is the real one advanced by one draw. */
static uint64_t seed_one_draw_ahead(uint64_t seed) {
    ggufref_rng rng;
    ggufref_rng_seed(&rng, seed);
    (void)ggufref_rng_u32(&rng);
    return rng.state;
}

/* R-PROTO-021: absent fields take the defaults, not the previous values. */
static void cmd_configure_sampling(gr_req *r) {
    ggufref_sampling p;
    ggufref_sampling_default(&p);
    int64_t top_k = p.top_k, last_n = p.repeat_last_n, max_tokens = p.max_tokens;
    if (!get_float(r, "temperature", &p.temperature) ||
        !get_int(r, "top_k", -2147483648.0, 2147483647.0, &top_k) ||
        !get_float(r, "top_p", &p.top_p) || !get_float(r, "min_p", &p.min_p) ||
        !get_float(r, "repeat_penalty", &p.repeat_penalty) ||
        !get_int(r, "repeat_last_n", -2147483648.0, 2147483647.0, &last_n) ||
        !get_seed(r, &p.seed) ||
        !get_int(r, "max_tokens", -2147483648.0, 2147483647.0, &max_tokens) ||
        !get_bool(r, "stop_at_eos", &p.stop_at_eos)) {
        return;
    }
    p.top_k = (int32_t)top_k;
    p.repeat_last_n = (int32_t)last_n;
    p.max_tokens = (int32_t)max_tokens;
    ggufref_sampling sent = p;
    if (r->s->brk == BRK_EXTRA_COIN) sent.seed = seed_one_draw_ahead(p.seed);
    int st = ggufref_export_configure_sampling(&sent);
    if (st != GGUFREF_OK) {
        emit_runtime_error(r->s, r->id, st, "configure-sampling");
        return;
    }
    r->s->sampling = p;
    cJSON *ev = result_new(r->id, true);
    cJSON_AddItemToObject(ev, "sampling", sampling_json(&p));
    emit(r->s, ev);
}

/* The runtime's tokens (prompt then generated). Caller frees *out. */
static bool runtime_tokens(int32_t **out, size_t *n, size_t *n_prompt) {
    size_t need = 0, np = 0;
    *out = NULL;
    int st = ggufref_export_tokens(NULL, 0, &need, &np);
    if (st != GGUFREF_OK && st != GGUFREF_ERR_LIMIT_EXCEEDED) return false;
    int32_t *buf = xmalloc((need + 1) * sizeof *buf);
    if (ggufref_export_tokens(buf, need + 1, n, n_prompt) != GGUFREF_OK) {
        free(buf);
        return false;
    }
    *out = buf;
    return true;
}

static cJSON *int_array(const int32_t *v, size_t n) {
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(arr, cJSON_CreateNumber(v[i]));
    return arr;
}

/* The result bytes of the current request as text_hex and (informational) text. */
static void add_result_text(cJSON *ev) {
    size_t need = 0;
    int st = ggufref_export_result(NULL, 0, &need);
    if (st != GGUFREF_OK && st != GGUFREF_ERR_LIMIT_EXCEEDED) return;
    char *buf = xmalloc(need + 1);
    size_t len = 0;
    if (ggufref_export_result(buf, need + 1, &len) == GGUFREF_OK) {
        char *hex = hex_bytes(buf, len);
        cJSON_AddStringToObject(ev, "text_hex", hex);
        free(hex);
        add_string_sanitized(ev, "text", buf, len, false);
    }
    free(buf);
}

/* Options shared by generate and generate-next-token: logits (K) and logits_full.
 * false after emitting an error. */
static bool stream_options(gr_req *r) {
    gr_server *s = r->s;
    int64_t top = 0;
    bool full = false;
    if (!get_int(r, "logits", 0, GR_PROTOCOL_MAX_TOP, &top) ||
        !get_bool(r, "logits_full", &full)) {
        return false;
    }
    if (full && top == 0) top = 1;
    s->stream_top = (int)top;
    s->stream_full = full;
    return true;
}

static void stream_begin(gr_req *r) {
    gr_server *s = r->s;
    s->streaming = true;
    s->stream_id = cJSON_Duplicate(r->id, true);
    s->stream_index = 0;
    s->n_gen = 0;
}

static void stream_end(gr_server *s) {
    s->streaming = false;
    cJSON_Delete(s->stream_id);
    s->stream_id = NULL;
}

static void cmd_generate(gr_req *r) {
    gr_server *s = r->s;
    const char *prompt;
    if (!get_string(r, "prompt", &prompt) || !stream_options(r)) return;
    size_t plen = strlen(prompt);
    s->prev_valid = false; /* a new request (BRK_POSITION_SHIFT) */
    stream_begin(r);
    int st = ggufref_export_generate(prompt, plen, on_token, s);
    stream_end(s);
    if (st != GGUFREF_OK) {
        emit_runtime_error(s, r->id, st, "generate");
        return;
    }
    cJSON *ev = result_new(r->id, true);
    int32_t *all = NULL;
    size_t n_all = 0, n_prompt = 0;
    if (runtime_tokens(&all, &n_all, &n_prompt)) {
        cJSON_AddItemToObject(ev, "prompt_tokens", int_array(all, n_prompt));
        cJSON_AddNumberToObject(ev, "n_prompt", (double)n_prompt);
        cJSON_AddNumberToObject(ev, "n_tokens", (double)n_all);
    }
    free(all);
    cJSON_AddItemToObject(ev, "tokens", int_array(s->gen, s->n_gen));
    add_result_text(ev);
    emit(s, ev);
}

static void cmd_generate_next_token(gr_req *r) {
    gr_server *s = r->s;
    if (!stream_options(r)) return;
    stream_begin(r);
    int st = ggufref_export_generate_next_token(on_token, s);
    stream_end(s);
    if (st != GGUFREF_OK) {
        emit_runtime_error(s, r->id, st, "generate-next-token");
        return;
    }
    cJSON *ev = result_new(r->id, true);
    int32_t *all = NULL;
    size_t n_all = 0, n_prompt = 0;
    if (runtime_tokens(&all, &n_all, &n_prompt)) {
        cJSON_AddNumberToObject(ev, "n_prompt", (double)n_prompt);
        cJSON_AddNumberToObject(ev, "n_tokens", (double)n_all);
    }
    free(all);
    cJSON_AddItemToObject(ev, "tokens", int_array(s->gen, s->n_gen));
    emit(s, ev);
}

/* R-PROTO-040: cancel names the request to stop. */
static void cmd_cancel(gr_req *r) {
    gr_server *s = r->s;
    const cJSON *target = field(r, "target");
    if (target == NULL || !id_valid(target)) {
        emit_error(s, r->id, GGUFREF_ERR_INVALID_ARGUMENT, false,
                   "cancel: field 'target' (the id of the request to cancel) must be a string "
                   "of at most 256 bytes or an integer (|target| < 2^53)");
        return;
    }
    bool hit = s->streaming && id_equal(target, s->stream_id);
    int st = GGUFREF_OK;
    /* The flag is the runtime's, not the request's: set it only to stop the target, or when
     * nothing streams (then it only reports the table's status; the next generate clears it). */
    if ((hit && s->brk != BRK_IGNORE_CANCEL) || !s->streaming) st = ggufref_export_cancel();
    if (st != GGUFREF_OK) {
        emit_runtime_error(s, r->id, st, "cancel");
        return;
    }
    cJSON *ev = result_new(r->id, false);
    cJSON_AddBoolToObject(ev, "cancelled", hit);
    emit(s, ev);
}

static void cmd_reset_context(gr_req *r) {
    if (r->s->brk == BRK_RESET_KEEPS_TOKENS) {
        cJSON *ev = event_new(r->id, "result");
        cJSON_AddStringToObject(ev, "state", "READY");
        emit(r->s, ev);
        return;
    }
    int st = ggufref_export_reset_context();
    if (st != GGUFREF_OK) {
        emit_runtime_error(r->s, r->id, st, "reset-context");
        return;
    }
    emit(r->s, result_new(r->id, true));
}

static void cmd_free_model(gr_req *r) {
    int st = ggufref_export_free_model();
    if (st != GGUFREF_OK) {
        emit_runtime_error(r->s, r->id, st, "free-model");
        return;
    }
    free(r->s->model_path);
    r->s->model_path = NULL;
    emit(r->s, result_new(r->id, true));
}

static void cmd_diagnostics(gr_req *r) {
    gr_server *s = r->s;
    size_t need = 0;
    int st = ggufref_export_diagnostics(NULL, 0, &need);
    char *diag = NULL;
    size_t dlen = 0;
    if (st == GGUFREF_OK || st == GGUFREF_ERR_LIMIT_EXCEEDED) {
        diag = xmalloc(need + 1);
        st = ggufref_export_diagnostics(diag, need + 1, &dlen);
    }
    if (st != GGUFREF_OK) {
        free(diag);
        emit_runtime_error(s, r->id, st, "diagnostics");
        return;
    }
    cJSON *ev = result_new(r->id, true);
    int32_t *all = NULL;
    size_t n_all = 0, n_prompt = 0;
    if (runtime_tokens(&all, &n_all, &n_prompt)) {
        cJSON_AddNumberToObject(ev, "n_prompt", (double)n_prompt);
        cJSON_AddNumberToObject(ev, "n_tokens", (double)n_all);
        cJSON_AddItemToObject(ev, "tokens", int_array(all, n_all));
    }
    free(all);
    cJSON_AddBoolToObject(ev, "model", s->model_path != NULL);
    cJSON_AddItemToObject(ev, "sampling", sampling_json(&s->sampling));
    add_result_text(ev);
    cJSON_DeleteItemFromObjectCaseSensitive(ev, "text");
    ggufref_error err;
    cJSON *le = cJSON_AddObjectToObject(ev, "last_error");
    if (ggufref_export_last_error(&err) == GGUFREF_OK) {
        cJSON_AddNumberToObject(le, "code", (double)err.status);
        cJSON_AddStringToObject(le, "name", ggufref_status_name(err.status));
        add_string_sanitized(le, "message", err.message, strlen(err.message), true);
    }
    cJSON *impl = cJSON_AddObjectToObject(ev, "impl");
    uint64_t digest = 0;
    if (ggufref_export_digest(&digest) == GGUFREF_OK) {
        char hex[17];
        snprintf(hex, sizeof hex, "%016llx", (unsigned long long)digest);
        cJSON_AddStringToObject(impl, "digest", hex);
    }
    cJSON *parsed = cJSON_ParseWithLength(diag, dlen);
    if (parsed != NULL) {
        cJSON_AddItemToObject(impl, "runtime", parsed);
    } else {
        add_string_sanitized(impl, "runtime_text", diag, dlen, false);
    }
    free(diag);
    emit(s, ev);
}

/* ---- fault injection (R-PROTO-060) ------------------------------------------------------ */

static void cmd_fault_alloc(gr_req *r) {
    int64_t n = 0;
    if (field(r, "n") == NULL) {
        emit_error(r->s, r->id, GGUFREF_ERR_INVALID_ARGUMENT, false,
                   "fault-alloc: missing field 'n' (fail the nth allocation; 0 disarms)");
        return;
    }
    if (!get_int(r, "n", 0, 9007199254740992.0, &n)) return;
    ggufref_fault_alloc_fail_at((uint64_t)n);
    emit(r->s, result_new(r->id, false));
}

static void cmd_fault_io(gr_req *r) {
    int64_t byte = -1;
    const char *kind = "error";
    if (!get_int(r, "byte", -1, 9007199254740992.0, &byte)) return;
    if (field(r, "kind") != NULL && !get_string(r, "kind", &kind)) return;
    ggufref_io_fault k;
    if (strcmp(kind, "error") == 0) {
        k = GGUFREF_IO_FAULT_ERROR;
    } else if (strcmp(kind, "short") == 0) {
        k = GGUFREF_IO_FAULT_SHORT;
    } else {
        emit_error(r->s, r->id, GGUFREF_ERR_INVALID_ARGUMENT, false,
                   "fault-io: field 'kind' must be \"error\" or \"short\"");
        return;
    }
    ggufref_fault_io_fail_at(byte < 0 ? UINT64_MAX : (uint64_t)byte, k);
    emit(r->s, result_new(r->id, false));
}

static void cmd_fault_panic(gr_req *r) {
    const cJSON *f = field(r, "point");
    if (f != NULL && !cJSON_IsNull(f) && !cJSON_IsString(f)) {
        emit_error(r->s, r->id, GGUFREF_ERR_INVALID_ARGUMENT, false,
                   "fault-panic: field 'point' must be a point name or null");
        return;
    }
    char *copy = cJSON_IsString(f) ? xstrdup(f->valuestring) : NULL;
    ggufref_fault_panic_at(copy);
    free(r->s->panic_point);
    r->s->panic_point = copy;
    emit(r->s, result_new(r->id, false));
}

static void cmd_fault_status(gr_req *r) {
    cJSON *ev = result_new(r->id, false);
    cJSON_AddNumberToObject(ev, "alloc_count", (double)ggufref_fault_alloc_count());
    cJSON_AddNumberToObject(ev, "alloc_live", (double)ggufref_fault_alloc_live());
    cJSON_AddBoolToObject(ev, "alloc_fired", ggufref_fault_alloc_fired());
    cJSON_AddNumberToObject(ev, "io_bytes", (double)ggufref_fault_io_bytes());
    cJSON_AddBoolToObject(ev, "io_fired", ggufref_fault_io_fired());
    cJSON_AddBoolToObject(ev, "panic_fired", ggufref_fault_panic_fired());
    cJSON *points = cJSON_AddArrayToObject(ev, "points");
    for (size_t i = 0; i < ggufref_fault_panic_point_count(); i++) {
        cJSON_AddItemToArray(points, cJSON_CreateString(ggufref_fault_panic_point_name(i)));
    }
    emit(r->s, ev);
}

static void cmd_fault_reset(gr_req *r) {
    gr_server *s = r->s;
    ggufref_fault_alloc_fail_at(0);
    ggufref_fault_io_fail_at(UINT64_MAX, GGUFREF_IO_FAULT_ERROR);
    ggufref_fault_panic_at(NULL);
    ggufref_fault_export_reset();
    free(s->model_path);
    s->model_path = NULL;
    ggufref_sampling_default(&s->sampling);
    emit(s, result_new(r->id, true));
}

typedef struct gr_command {
    const char *name;
    void (*run)(gr_req *r);
    bool fault_only;
} gr_command;

static const gr_command commands[] = {
    {"boot", cmd_boot, false},
    {"load-model", cmd_load_model, false},
    {"configure-sampling", cmd_configure_sampling, false},
    {"generate", cmd_generate, false},
    {"generate-next-token", cmd_generate_next_token, false},
    {"cancel", cmd_cancel, false},
    {"reset-context", cmd_reset_context, false},
    {"free-model", cmd_free_model, false},
    {"diagnostics", cmd_diagnostics, false},
    {"fault-alloc", cmd_fault_alloc, true},
    {"fault-io", cmd_fault_io, true},
    {"fault-panic", cmd_fault_panic, true},
    {"fault-status", cmd_fault_status, true},
    {"fault-reset", cmd_fault_reset, true},
};

/* True if the JSON text has a \u0000 escape (an odd run of backslashes before 'u0000'). */
static bool has_nul_escape(const char *s, size_t len) {
    for (size_t i = 0; i + 6 <= len; i++) {
        if (s[i] != '\\' || memcmp(s + i + 1, "u0000", 5) != 0) continue;
        size_t run = 0;
        while (run < i && s[i - 1 - run] == '\\') run++;
        if (run % 2 == 0) return true;
    }
    return false;
}

/* One command line: framing checks (R-PROTO-005..009), then the handler. */
static void dispatch(gr_server *s, const char *line, size_t len) {
    if (line == NULL) {
        if (s->brk == BRK_OVERSIZE_EXIT) {
            s->stop = true;
            return;
        }
        emit_error(s, NULL, GGUFREF_ERR_LIMIT_EXCEEDED, false,
                   "command line longer than %zu bytes: discarded", GR_PROTOCOL_MAX_LINE);
        return;
    }
    if (len > 0 && line[len - 1] == '\r') len--;
    bool blank = true;
    for (size_t i = 0; i < len && blank; i++) blank = (line[i] == ' ' || line[i] == '\t');
    if (blank) return; /* R-PROTO-001: empty lines are ignored */
    if (!utf8_valid(line, len)) {
        if (s->brk != BRK_MALFORMED_SILENT) {
            emit_error(s, NULL, GGUFREF_ERR_INVALID_ARGUMENT, false,
                       "command line is not valid UTF-8");
        }
        return;
    }
    const char *end = NULL;
    cJSON *msg = cJSON_ParseWithLengthOpts(line, len, &end, false);
    while (msg != NULL && end < line + len && (*end == ' ' || *end == '\t')) end++;
    if (msg == NULL || end != line + len) {
        cJSON_Delete(msg);
        if (s->brk != BRK_MALFORMED_SILENT) {
            emit_error(s, NULL, GGUFREF_ERR_INVALID_ARGUMENT, false,
                       "command line is not one JSON value (JSON error near byte %zu)",
                       (size_t)((end != NULL ? end : line) - line));
        }
        return;
    }
    if (!cJSON_IsObject(msg)) {
        cJSON_Delete(msg);
        emit_error(s, NULL, GGUFREF_ERR_INVALID_ARGUMENT, false, "a command must be an object");
        return;
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
    if (id == NULL || !id_valid(id)) {
        emit_error(s, NULL, GGUFREF_ERR_INVALID_ARGUMENT, false,
                   "field 'id' must be a string of at most 256 bytes or an integer "
                   "(|id| < 2^53)");
        cJSON_Delete(msg);
        return;
    }
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(msg, "cmd");
    if (!cJSON_IsString(cmd)) {
        emit_error(s, id, GGUFREF_ERR_INVALID_ARGUMENT, false,
                   "field 'cmd' (the command name) is missing or not a string");
        cJSON_Delete(msg);
        return;
    }
    if (has_nul_escape(line, len)) {
        emit_error(s, id, GGUFREF_ERR_INVALID_ARGUMENT, false,
                   "%s: strings must not contain U+0000", cmd->valuestring);
        cJSON_Delete(msg);
        return;
    }
    gr_req r = {s, msg, id, cmd->valuestring};
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(commands[i].name, r.cmd) != 0) continue;
        if (commands[i].fault_only && !s->fault_injection) break;
        commands[i].run(&r);
        cJSON_Delete(msg);
        return;
    }
    char *name = utf8_sanitize(r.cmd, strlen(r.cmd) > 64 ? 64 : strlen(r.cmd), true);
    emit_error(s, id, GGUFREF_ERR_INVALID_ARGUMENT, false, "unknown command '%s'", name);
    free(name);
    cJSON_Delete(msg);
}

/* ---- public entry points ---------------------------------------------------------------- */

gr_server *gr_server_create(FILE *out, const gr_server_config *config, const char **why) {
    const char *reason = NULL;
    int brk = BRK_NONE;
#ifndef GGUFREF_FAULT_INJECTION
    if (config->fault_injection) {
        reason = "--fault-injection needs the fault-injection build (ggufref-fi, "
                 "cmake -DGGUFREF_CLI_FAULTS=ON)";
    } else if (config->break_name != NULL) {
        reason = "--break needs the fault-injection build (ggufref-fi)";
    }
#else
    if (config->break_name != NULL) {
        for (int i = 1; i < BRK_COUNT; i++) {
            if (strcmp(break_names[i], config->break_name) == 0) brk = i;
        }
        if (brk == BRK_NONE) reason = "unknown --break variant (see 'ggufref serve --help')";
    }
#endif
    if (reason != NULL) {
        if (why != NULL) *why = reason;
        return NULL;
    }
    gr_server *s = xmalloc(sizeof *s);
    memset(s, 0, sizeof *s);
    s->out = out;
    s->fault_injection = config->fault_injection;
    s->brk = brk;
    ggufref_sampling_default(&s->sampling);
    return s;
}

void gr_server_destroy(gr_server *s) {
    if (s == NULL) return;
    for (size_t i = 0; i < s->count; i++) free(s->queue[s->head + i].text);
    free(s->queue);
    free(s->prev_logits);
    cJSON_Delete(s->stream_id);
    free(s->gen);
    free(s->model_path);
    ggufref_fault_panic_at(NULL);
    free(s->panic_point);
    free(s);
}

void gr_server_handle_line(gr_server *s, const char *line, size_t len) {
    if (len > GR_PROTOCOL_MAX_LINE) line = NULL;
    dispatch(s, line, len);
}

int gr_server_run(gr_server *s, int fd) {
    gr_reader rd = {.fd = fd};
    s->reader = &rd;
    while (!s->stop) {
        if (s->count > 0) {
            gr_line l = queue_take(s, 0);
            dispatch(s, l.text, l.len);
            free(l.text);
            continue;
        }
        if (rd.eof) break;
        reader_fill(s, true);
    }
    s->reader = NULL;
    free(rd.buf);
    return s->stop ? 1 : 0;
}

#endif /* GGUFREF_HAVE_CJSON */
