/*
 * serve_internal.h — what the files of reference/serve/ share (not for the CLI or the tests:
 * they use serve.h). The layers, each file calling only the ones below it:
 *
 *   server.c ─► cmd_*.c ─► fields.c ─► events.c ─► memory.c (every allocation, cJSON's too)
 *       │          │                                      │
 *       ├──► json_check.c     └──► breaks.c               cJSON, ggufref.h
 *       └──► reader.c
 *
 * The one upward edge is a function pointer: the server gives the generate handlers its
 * `between_tokens` hook (read ahead, handle cancels: R-PROTO-041) through gr_server.
 */
#ifndef GGUFREF_SERVE_INTERNAL_H
#define GGUFREF_SERVE_INTERNAL_H

#include "serve.h"

#include "ggufref.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>

/* ---- breaks.c: the harness self-test's broken variants ------------------------------------ */

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
    BRK_LOGITS_2PCT,        /* the reported logits are 2% off (x 1.02) */
    BRK_ACCEPT_MALFORMED,   /* a load the runtime rejects is answered READY */
    BRK_KV_NOT_RESET,       /* generate keeps the previous request's context (prepended) */
    BRK_ROPE_OFF_BY_ONE,    /* the library's break (R-FAULT-007): queries rotated at p+1 */
    BRK_NO_ROPE_FREQS,      /* the library's break: rope_freqs.weight ignored */
    BRK_COUNT
};

/* The variant named `name`, or BRK_NONE if this build has none of that name. */
int gr_break_parse(const char *name);
/* Arms the library's break hook (R-FAULT-007) for a variant made in the forward pass; nothing
 * for the others. Process-wide: gr_server_destroy disarms it. */
void gr_break_arm_library(int brk);
/* BRK_EXTRA_COIN: the seed whose stream is the real one advanced by one draw. */
uint64_t gr_break_seed_one_draw_ahead(uint64_t seed);

/* BRK_POSITION_SHIFT: the logits of the token before, per request. */
typedef struct gr_shift {
    float *buf[2];   /* [n] each: the previous token's logits in buf[cur] */
    uint32_t n;
    int cur;
    bool valid;      /* buf[cur] belongs to the open request */
} gr_shift;
/* The logits to report for a token whose real logits are x[0..n): the previous token's of the
 * request (its own for the first). The pointer stays valid until the next call. NULL when
 * out of memory. */
const float *gr_break_shift(gr_shift *sh, const float *x, uint32_t n);
void gr_break_shift_free(gr_shift *sh);
/* BRK_LOGITS_2PCT: x[0..n) times 1.02, in sh's first buffer (valid until the next call);
 * NULL when out of memory. */
const float *gr_break_scaled(gr_shift *sh, const float *x, uint32_t n);

/* ---- memory.c: the server's allocator (R-PROTO-016) ----------------------------------------- */

void *gr_srv_malloc(size_t n);           /* NULL (and the OOM flag raised) on failure */
void *gr_srv_realloc(void *p, size_t n); /* NULL on failure, p still valid */
void gr_srv_free(void *p);
char *gr_srv_strdup(const char *s);
void gr_srv_json_hooks(void);            /* cJSON allocates through the above */
/* The out-of-memory flag: raised by any failed allocation of the server, cleared by the event
 * writer after each event. */
bool gr_srv_oom(void);
void gr_srv_oom_clear(void);
bool gr_srv_oom_swap(bool value);        /* set it, returning what it was */
/* Blocks from the library's allocation hook (true) or from malloc (false, the default). */
void gr_srv_count_allocs(bool on);

/* ---- json_check.c: RFC 8259 exactly (R-PROTO-013, R-PROTO-014) ------------------------------ */

/* R-PROTO-013: arrays and objects nest at most this deep in a command line. */
#define GR_PROTOCOL_MAX_DEPTH 128
/* True if text[0..n) is exactly one JSON text of RFC 8259 within the depth; else *where is the
 * offset where it stops being one. */
bool gr_json_check(const char *text, size_t n, size_t *where);
/* The raw text [*start, *end) of the top-level member `name` (spelled as is) of a checked
 * object, without allocating: the id of a line that could not be parsed for want of memory. */
bool gr_json_top_member(const char *text, size_t n, const char *name, size_t *start,
                        size_t *end);
/* 1 if some object of the tree has two members of the same name, 0 if not, -1 out of memory. */
int gr_json_duplicates(const cJSON *v);

/* ---- reader.c: lines and the queue --------------------------------------------------------- */

/* What a queued line is (classified once, remembered; LINE_GONE: taken out of the middle). */
enum { LINE_UNKNOWN = -1, LINE_OTHER = 0, LINE_CANCEL = 1, LINE_STREAM = 2, LINE_GONE = 3 };

typedef struct gr_line {
    char *text;      /* NUL-terminated copy; NULL for an oversized line */
    size_t len;
    int kind;        /* LINE_*: LINE_UNKNOWN until gr_line_kind looked */
} gr_line;

/* O(1) per line (issue 16): lines are taken from the head by advancing it; a cancel taken from
 * the middle leaves a LINE_GONE hole the head skips; the array is compacted only when it is
 * full and its front half is free, so every line moves O(1) times. */
typedef struct gr_queue {
    gr_line *items;  /* items[head..head+count): pending lines, holes included */
    size_t head, count, cap;
    size_t scanned;  /* items[head..head+scanned) hold no cancel (handle_pending_cancels) */
    uint64_t moves;  /* lines moved by compaction, for the queue's regression test */
} gr_queue;

typedef struct gr_reader {
    int fd;
    char *buf;          /* bytes of the line being read */
    size_t len, cap;
    bool discarding;    /* inside a line past the limit: drop bytes until its newline */
    bool eof;
    bool failed;        /* out of memory: a line could not be kept (the server stops) */
} gr_reader;

bool gr_queue_push(gr_queue *q, char *text, size_t len); /* false: out of memory */
gr_line *gr_queue_at(gr_queue *q, size_t i);            /* i < count */
gr_line gr_queue_take(gr_queue *q, size_t i); /* removes the i-th (i = 0: the head) */
gr_line gr_queue_pop(gr_queue *q);            /* the first line that is not a hole; count > 0 */
void gr_queue_free(gr_queue *q);
/* Read what is available into q; block until something arrives when `block`. At end of input
 * a last line without newline is queued as if it had one (R-PROTO-001). */
void gr_reader_fill(gr_reader *rd, gr_queue *q, bool block);

/* ---- the server ------------------------------------------------------------------------------ */

typedef struct gr_sessions gr_sessions; /* sessions.c: capability `sessions` */

struct gr_server {
    FILE *out;
    /* Capability `sessions` (sessions.c): session workers answer through a view of their own
     * (a gr_server whose parent is the server): events go to the parent's `out` under its
     * out_mu (one writer lock: a line is never interleaved), a failed write stops the parent. */
    gr_server *parent;       /* NULL for the server itself */
    pthread_mutex_t out_mu;  /* the server's writer lock (unused in views) */
    gr_sessions *sessions;   /* the server's sessions (NULL in views) */
    int64_t session_id;      /* a view: every event it writes carries "session" (0: none) */
    ggufref_runtime *session_rt; /* a view: the runtime whose state its OOM answer names */
    bool fault_injection;
    int brk;
    gr_reader *reader;       /* NULL when lines are fed by gr_server_handle_line only */
    gr_queue queue;
    void (*between_tokens)(gr_server *s); /* server.c: read ahead, handle cancels */
    const cJSON *cur_id;     /* id of the command being answered (NULL: none / null) */
    const char *cur_raw_id;  /* else its raw JSON text when parsing ran out of memory */
    size_t cur_raw_len;

    /* the command being streamed (generate / generate-next-token) */
    bool streaming;
    bool stream_failed;      /* a token could not be reported (out of memory): cancelled */
    const cJSON *stream_id;  /* its id (in the command's parsed line, alive while it runs) */
    size_t stream_index;     /* index of the next token event */
    int stream_top;          /* top logits per token event (0 = none) */
    bool stream_full;        /* also the full logits vector */
    gr_shift shift;          /* BRK_POSITION_SHIFT */
    int32_t *gen;            /* tokens produced by the streaming command */
    size_t n_gen, gen_cap;

    char *model_path;        /* the file of the resident model (last accepted load) */
    ggufref_sampling sampling;
    char *panic_point;       /* copy of the armed panic point name */
    atomic_bool stop;        /* stop serving: BRK_OVERSIZE_EXIT, a failed write, out of memory */
    _Atomic(const char *) failure; /* why, for the CLI's one stderr line (NULL for the break) */
    int write_errno;         /* errno of the failed write */
};

/* ---- events.c: helpers, event objects, errors, logits -------------------------------------- */

/* A NUL-terminated, valid UTF-8 copy of bytes: every invalid byte and every NUL becomes
 * U+FFFD; with one_line, CR and LF become spaces. Caller frees (gr_srv_free); NULL when out of
 * memory (so are the other builders'). */
char *gr_utf8_sanitize(const char *s, size_t len, bool one_line);
char *gr_hex_bytes(const void *data, size_t len); /* lowercase hex; caller frees */

/* Writes and deletes ev: one line, flushed (R-PROTO-001). If the server ran out of memory
 * since the last event (ev incomplete, or NULL), writes gr_emit_oom's event instead. A failed
 * write stops the server (R-PROTO-015). */
void gr_emit(gr_server *s, cJSON *ev);
/* gr_emit without the replacement: false (nothing written, ev deleted) when out of memory. */
bool gr_emit_try(gr_server *s, cJSON *ev);
/* R-PROTO-016: OUT_OF_MEMORY for s->cur_id, with state, written without allocating. */
void gr_emit_oom(gr_server *s);
/* Add item to obj under key / to the array arr; on failure item is deleted (no leak) and the
 * OOM flag is up. */
void gr_add(cJSON *obj, const char *key, cJSON *item);
void gr_push(cJSON *arr, cJSON *item);
cJSON *gr_json_int(int64_t v);
cJSON *gr_json_float(float f);
bool gr_id_valid(const cJSON *v);
bool gr_id_equal(const cJSON *a, const cJSON *b);
cJSON *gr_event_new(const cJSON *id, const char *kind);
cJSON *gr_result_new(const cJSON *id, bool with_state);
void gr_add_string_sanitized(cJSON *obj, const char *key, const char *s, size_t len,
                             bool one_line);
void gr_emit_error_msg(gr_server *s, const cJSON *id, ggufref_status status, bool with_state,
                       const char *message);
void gr_emit_error(gr_server *s, const cJSON *id, ggufref_status status, bool with_state,
                   const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
void gr_emit_runtime_error(gr_server *s, const cJSON *id, int status, const char *op);

/* R-PROTO-030, R-PROTO-031: top (k pairs), digest and, with full, logits_hex of x[0..n). */
void gr_add_logits(cJSON *ev, const float *x, uint32_t n, int k, bool full);
cJSON *gr_int_array(const int32_t *v, size_t n);
cJSON *gr_sampling_json(const ggufref_sampling *p);
/* The runtime's tokens (prompt then generated). Caller frees *out. */
bool gr_runtime_tokens(int32_t **out, size_t *n, size_t *n_prompt);
/* The result bytes of the current request as text_hex and (informational) text. */
void gr_add_result_text(cJSON *ev);

/* ---- fields.c: a command and its fields (R-PROTO-008) -------------------------------------- */

typedef struct gr_req {
    gr_server *s;
    const cJSON *msg;
    const cJSON *id;
    const char *cmd;
} gr_req;

const cJSON *gr_field(const gr_req *r, const char *name);
/* Each getter: false after emitting INVALID_ARGUMENT naming the field. Optional fields keep
 * *out when absent; get_string's field is required. */
bool gr_get_string(const gr_req *r, const char *name, const char **out);
bool gr_get_int(const gr_req *r, const char *name, double lo, double hi, int64_t *out);
bool gr_get_float(const gr_req *r, const char *name, float *out);
bool gr_get_bool(const gr_req *r, const char *name, bool *out);
bool gr_get_seed(const gr_req *r, uint64_t *out);

/* ---- the handlers: cmd_session.c, cmd_generate.c, cmd_evaluate.c, cmd_fault.c -------------- */

void gr_cmd_boot(gr_req *r);
void gr_cmd_load_model(gr_req *r);
void gr_cmd_configure_sampling(gr_req *r);
void gr_cmd_reset_context(gr_req *r);
void gr_cmd_free_model(gr_req *r);
void gr_cmd_diagnostics(gr_req *r);
void gr_cmd_generate(gr_req *r);
void gr_cmd_generate_next_token(gr_req *r);
void gr_cmd_cancel(gr_req *r);
void gr_cmd_evaluate(gr_req *r);
void gr_cmd_fault_alloc(gr_req *r);
void gr_cmd_fault_io(gr_req *r);
void gr_cmd_fault_panic(gr_req *r);
void gr_cmd_fault_status(gr_req *r);
void gr_cmd_fault_reset(gr_req *r);
void gr_cmd_open_session(gr_req *r);
void gr_cmd_close_session(gr_req *r);

/* Shared with sessions.c: configure-sampling's fields (R-PROTO-022; false after answering the
 * error), generate's logits options into r->s->stream_top/stream_full, evaluate's ids and its
 * per-position callback (user: a gr_eval_state). */
bool gr_parse_sampling(gr_req *r, ggufref_sampling *out);
bool gr_stream_options(gr_req *r);
bool gr_eval_tokens(const gr_req *r, int32_t **out, size_t *n);
typedef struct gr_eval_state {
    cJSON *positions; /* the result's array, one object per position */
    int top;          /* K: top pairs per position (0: none) */
    bool full;        /* logits_hex too */
    gr_shift *scale;  /* BRK_LOGITS_2PCT: report the logits x 1.02 through it (else NULL) */
} gr_eval_state;
void gr_eval_position(uint32_t pos, int32_t token, const float *logits, uint32_t n_vocab,
                      void *user);

/* ---- sessions.c: capability `sessions` (SPEC R-PROTO-070..077, R-POOL-040..043) ----------- */

/* The server ceilings from the environment (R-POOL-024) and the threads of every session
 * (R-PROTO-062): `threads`, or when 0 GGUFREF_THREADS from the environment, else 1. NULL and
 * *why (a one-line reason naming the variable) when one is malformed, or when memory runs out. */
gr_sessions *gr_sessions_create(unsigned threads, const char **why);
/* The threads gr_sessions_create settled on (for the export layer's runtime too). */
unsigned gr_sessions_threads(const gr_sessions *set);
/* Finishes every session's queued commands, joins the workers, releases everything. */
void gr_sessions_destroy(gr_sessions *set);
void gr_sessions_finish(gr_sessions *set); /* the queued work done, workers joined */
/* Waits until no open is waiting for its answer and no session command is queued or running
 * (sessions stay open): the fuzz target's one-line-at-a-time checks. */
void gr_sessions_wait_idle(gr_sessions *set);
/* A command that names a session (field `session`; every command but cancel and
 * open-session): queued on that session, or answered at once (unknown session, a command a
 * session does not take). true when taken; *msg is then the session's (set to NULL). */
bool gr_sessions_take(gr_req *r, cJSON **msg);
/* R-PROTO-074: set the cancel flag of every session request streaming under id `target`;
 * true if there was one. */
bool gr_sessions_cancel(gr_server *s, const cJSON *target);
/* boot: the server ceilings as `limits` fields. */
void gr_sessions_boot_limits(const gr_server *s, cJSON *limits);

#endif
