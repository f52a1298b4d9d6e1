/*
 * sessions.c — capability `sessions` (SPEC R-PROTO-070..077, R-POOL-040..043): concurrent
 * sessions over the pool of reference/src/pool.c (one shared model per model file, one
 * ggufref_pool per shared model, header section 11).
 *
 *   main thread: open-session ──► a session record + its worker thread ──► pool acquire (FIFO,
 *                                 deadline) ──► result {session}
 *                {"session": N, ...} ──► N's queue ──► N's worker runs them in order on its
 *                                                      checked-out ggufref_session
 *                cancel ──► every session request streaming under that id (R-PROTO-074)
 *
 * Each worker answers through a view of the server (a gr_server whose parent is the server):
 * every event it writes carries "session" and goes out under the server's writer lock, so the
 * events of concurrent sessions interleave by whole lines, never inside one. The single-session
 * protocol (commands without `session`) is untouched: it runs on the main thread on the export
 * layer as before.
 *
 * Ceilings (R-POOL-024): GGUFREF_POOL_SIZE, GGUFREF_MAX_MEMORY, GGUFREF_MAX_EXEC_MS,
 * GGUFREF_MAX_STEPS, GGUFREF_MAX_CONTEXT, read once when the server is created, combined with
 * the model's own setting (its context length) when a model's pool is made, the lower winning.
 * Threads (R-PROTO-062): `serve --threads N`, else GGUFREF_THREADS, read at the same time; every
 * pool gets them before its first session (R-POOL-016).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include "serve_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GR_DEFAULT_POOL_SIZE 4u
#define GR_MAX_MODELS 8u          /* distinct model files with a pool (R-PROTO-071) */
#define GR_MAX_RECORDS 256u       /* sessions open or waiting for a permit at once */
#define GR_DEFAULT_WAIT_MS 60000u /* open-session's wait_ms when absent */

typedef struct gr_job {
    struct gr_job *next;
    cJSON *msg; /* the command, parsed (the job owns it) */
} gr_job;

typedef struct gr_sess gr_sess;

typedef struct gr_model_entry {
    char *path;
    ggufref_shared_model *model;
    ggufref_pool *pool;
    ggufref_pool_limits limits; /* combined: server and model (R-POOL-024) */
    /* R-POOL-043: opens in arrival order; only the head waits inside the pool (whose queue is
     * FIFO among its callers, but threads would reach it in any order). Under set->mu. */
    gr_sess *whead, *wtail;
    pthread_cond_t wcv;         /* the head changed (CLOCK_MONOTONIC) */
} gr_model_entry;

struct gr_sess {
    struct gr_sess *next;
    struct gr_sess *wnext;  /* in model->whead's line while waiting to acquire */
    gr_sessions *set;
    gr_model_entry *model;
    int64_t id;
    pthread_t thread;
    pthread_cond_t cv;  /* a job arrived, or the set finishes */
    cJSON *open_msg;    /* the open-session command (its id answers the acquire) */
    uint64_t deadline_ns;
    /* guarded by set->mu */
    gr_job *head, *tail;
    bool closed;        /* takes no more commands (closed, dropped, never opened) */
    bool exiting;       /* the worker takes no more jobs (it ends) */
    bool done;          /* the worker has ended: join it */
    ggufref_session *ps;      /* checked out of the pool (NULL before / after) */
    const cJSON *streaming;   /* id of the generate running now (cancel's target) */
    /* the worker's own */
    gr_server view;
    int32_t *gen;
    size_t n_gen, gen_cap;
    bool gen_failed;          /* a token event could not be written: request cancelled */
};

struct gr_sessions {
    pthread_mutex_t mu;
    gr_server *server;        /* set by the main thread before the first worker starts */
    gr_sess *list;
    size_t n_records;
    int64_t next_id;
    gr_model_entry models[GR_MAX_MODELS];
    size_t n_models;
    bool finishing;           /* end of input: workers end when their queue is empty */
    uint64_t busy;            /* opens acquiring + jobs queued or running */
    pthread_cond_t idle_cv;   /* busy fell to 0 */
    ggufref_pool_limits env;  /* the server ceilings (R-POOL-024) */
    unsigned threads;         /* of every session's forward pass (R-PROTO-062) */
};

/* ---- the environment (R-POOL-024, R-PROTO-072) ------------------------------------------ */

static char env_reason[200];

/* A decimal integer in [lo, hi] from variable `name`; absent or empty: *out unchanged. false
 * with env_reason set when malformed. */
static bool env_uint(const char *name, uint64_t lo, uint64_t hi, uint64_t *out) {
    const char *v = getenv(name);
    if (v == NULL) return true;
    uint64_t x = 0;
    bool ok = *v != '\0';
    for (const char *p = v; *p != '\0' && ok; p++) {
        if (*p < '0' || *p > '9' || x > (UINT64_MAX - (uint64_t)(*p - '0')) / 10) {
            ok = false;
        } else {
            x = x * 10 + (uint64_t)(*p - '0');
        }
    }
    if (ok && x >= lo && x <= hi) {
        *out = x;
        return true;
    }
    char shown[40];
    size_t n = 0;
    for (const char *p = v; *p != '\0' && n + 4 < sizeof shown; p++) {
        shown[n++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?'; /* one printable line */
    }
    if (strlen(v) > n) memcpy(shown + n, "...", 3), n += 3;
    shown[n] = '\0';
    snprintf(env_reason, sizeof env_reason,
             "environment variable %s='%s' is not a decimal integer in [%llu, %llu]", name,
             shown, (unsigned long long)lo, (unsigned long long)hi);
    return false;
}

gr_sessions *gr_sessions_create(unsigned threads, const char **why) {
    ggufref_pool_limits env;
    ggufref_pool_limits_default(&env);
    uint64_t size = GR_DEFAULT_POOL_SIZE, memory = 0, exec_ms = 0, steps = 0, ctx = 0;
    uint64_t n_threads = threads != 0 ? threads : 1; /* the command line wins (R-PROTO-062) */
    if (!env_uint("GGUFREF_POOL_SIZE", 1, 65536, &size) ||
        !env_uint("GGUFREF_MAX_MEMORY", 0, UINT64_MAX, &memory) ||
        !env_uint("GGUFREF_MAX_EXEC_MS", 0, UINT64_MAX / 1000000u, &exec_ms) ||
        !env_uint("GGUFREF_MAX_STEPS", 0, UINT64_MAX, &steps) ||
        !env_uint("GGUFREF_MAX_CONTEXT", 0, UINT32_MAX, &ctx) ||
        (threads == 0 && !env_uint("GGUFREF_THREADS", 1, GGUFREF_MAX_THREADS, &n_threads))) {
        *why = env_reason;
        return NULL;
    }
    env.max_sessions = (uint32_t)size;
    env.max_memory = memory;
    env.max_exec_ns = exec_ms * 1000000u;
    env.max_steps = steps;
    env.max_context = (uint32_t)ctx;
    gr_sessions *set = gr_srv_malloc(sizeof *set);
    if (set != NULL) memset(set, 0, sizeof *set);
    if (set != NULL && pthread_cond_init(&set->idle_cv, NULL) != 0) {
        gr_srv_free(set);
        set = NULL;
    }
    if (set == NULL || pthread_mutex_init(&set->mu, NULL) != 0) {
        if (set != NULL) pthread_cond_destroy(&set->idle_cv);
        gr_srv_free(set);
        *why = "out of memory";
        return NULL;
    }
    set->env = env;
    set->threads = (unsigned)n_threads;
    set->next_id = 1;
    return set;
}

unsigned gr_sessions_threads(const gr_sessions *set) { return set->threads; }

void gr_sessions_boot_limits(const gr_server *s, cJSON *limits) {
    const ggufref_pool_limits *e = &s->sessions->env;
    gr_add(limits, "max_sessions", gr_json_int(e->max_sessions));
    gr_add(limits, "max_memory", gr_json_int((int64_t)(e->max_memory > INT64_MAX ? INT64_MAX
                                                                                 : e->max_memory)));
    gr_add(limits, "max_exec_ms", gr_json_int((int64_t)(e->max_exec_ns / 1000000u)));
    gr_add(limits, "max_steps", gr_json_int((int64_t)(e->max_steps > INT64_MAX ? INT64_MAX
                                                                               : e->max_steps)));
    gr_add(limits, "max_context", gr_json_int(e->max_context));
}

static uint64_t now_ns(void *user) {
    (void)user;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- events of a session's view ------------------------------------------------------------ */

static cJSON *limits_json(const ggufref_pool_limits *l) {
    cJSON *o = cJSON_CreateObject();
    gr_add(o, "max_sessions", gr_json_int(l->max_sessions));
    gr_add(o, "max_memory", gr_json_int((int64_t)(l->max_memory > INT64_MAX ? INT64_MAX
                                                                            : l->max_memory)));
    gr_add(o, "max_exec_ms", gr_json_int((int64_t)(l->max_exec_ns / 1000000u)));
    gr_add(o, "max_steps", gr_json_int((int64_t)(l->max_steps > INT64_MAX ? INT64_MAX
                                                                          : l->max_steps)));
    gr_add(o, "max_context", gr_json_int(l->max_context));
    return o;
}

static cJSON *result_new(gr_sess *ss, const cJSON *id) {
    cJSON *ev = gr_event_new(id, "result");
    ggufref_runtime *rt = ggufref_session_runtime(ss->ps);
    cJSON_AddStringToObject(ev, "state", ggufref_state_name(ggufref_runtime_state(rt)));
    return ev;
}

/* The error of a failed runtime operation on the session: its status, the runtime's message. */
static void runtime_error(gr_sess *ss, const cJSON *id, ggufref_status st, const char *op,
                          const char *why) {
    ggufref_runtime *rt = ggufref_session_runtime(ss->ps);
    ggufref_error err;
    char msg[GGUFREF_ERROR_MESSAGE_MAX + 96];
    if (why != NULL) {
        snprintf(msg, sizeof msg, "%s: %s", op, why);
    } else if (ggufref_runtime_state(rt) == GGUFREF_STATE_POISONED) {
        snprintf(msg, sizeof msg, "%s: a trap (panic) poisoned the session's runtime: the "
                 "session is dropped", op);
    } else if (ggufref_runtime_last_error(rt, &err) == GGUFREF_OK && err.message[0] != '\0' &&
               err.status == st) {
        snprintf(msg, sizeof msg, "%s: %s", op, err.message);
    } else {
        snprintf(msg, sizeof msg, "%s failed: %s", op, ggufref_status_name(st));
    }
    cJSON *ev = gr_event_new(id, "error");
    cJSON *e = cJSON_AddObjectToObject(ev, "error");
    cJSON_AddNumberToObject(e, "code", (double)st);
    cJSON_AddStringToObject(e, "name", ggufref_status_name(st));
    gr_add_string_sanitized(e, "message", msg, strlen(msg), true);
    cJSON_AddStringToObject(ev, "state", ggufref_state_name(ggufref_runtime_state(rt)));
    if (ggufref_runtime_state(rt) == GGUFREF_STATE_POISONED) {
        cJSON_AddBoolToObject(ev, "closed", true); /* R-PROTO-076: the session is dropped */
    }
    gr_emit(&ss->view, ev);
}

/* ---- the commands a session runs (its worker) --------------------------------------------- */

static bool gen_push(gr_sess *ss, int32_t token) {
    if (ss->n_gen == ss->gen_cap) {
        size_t cap = ss->gen_cap ? ss->gen_cap * 2 : 64;
        int32_t *grown = gr_srv_realloc(ss->gen, cap * sizeof *ss->gen);
        if (grown == NULL) return false;
        ss->gen = grown;
        ss->gen_cap = cap;
    }
    ss->gen[ss->n_gen++] = token;
    return true;
}

/* The token callback of a session's generate: one token event per token (R-PROTO-023), the
 * logits it was drawn from encoded before the view expires (R-PROTO-030). */
static void on_token(int32_t token, const char *piece, size_t len, const float *logits,
                     uint32_t n_vocab, void *user) {
    gr_sess *ss = user;
    gr_server *v = &ss->view;
    if (ss->gen_failed) return;
    bool kept = gen_push(ss, token);
    cJSON *ev = gr_event_new(v->stream_id, "token");
    cJSON_AddNumberToObject(ev, "index", (double)v->stream_index++);
    cJSON_AddNumberToObject(ev, "token", (double)token);
    char *hex = gr_hex_bytes(piece, len);
    if (hex != NULL) cJSON_AddStringToObject(ev, "piece", hex);
    gr_srv_free(hex);
    if (v->stream_top > 0) gr_add_logits(ev, logits, n_vocab, v->stream_top, v->stream_full);
    if (!kept) gr_srv_oom_swap(true);
    if (!gr_emit_try(v, ev) || v->parent->failure != NULL) {
        ss->gen_failed = true; /* answered OUT_OF_MEMORY after the runtime returns */
        (void)ggufref_session_cancel(ss->model->pool, ss->ps);
    }
}

static void stream_mark(gr_sess *ss, const cJSON *id) {
    pthread_mutex_lock(&ss->set->mu);
    ss->streaming = id;
    pthread_mutex_unlock(&ss->set->mu);
}

/* The request's tokens and result bytes, read from the session's runtime. */
static void add_request_fields(cJSON *ev, ggufref_runtime *rt, bool prompt, bool text) {
    const int32_t *all = NULL;
    size_t n_all = 0, n_prompt = 0;
    ggufref_runtime_tokens(rt, &all, &n_all, &n_prompt);
    if (prompt) gr_add(ev, "prompt_tokens", gr_int_array(all, n_prompt));
    cJSON_AddNumberToObject(ev, "n_prompt", (double)n_prompt);
    cJSON_AddNumberToObject(ev, "n_tokens", (double)n_all);
    if (!text) return;
    ggufref_str res = {NULL, 0};
    if (ggufref_runtime_result(rt, &res) == GGUFREF_OK) {
        char *hex = gr_hex_bytes(res.ptr, res.len);
        if (hex != NULL) cJSON_AddStringToObject(ev, "text_hex", hex);
        gr_srv_free(hex);
        gr_add_string_sanitized(ev, "text", res.ptr, res.len, false);
    }
}

/* generate (R-PROTO-023) and generate-next-token (R-PROTO-024) on the session; generate
 * under the pool's step and time ceilings (R-POOL-021, R-POOL-022, R-PROTO-075). */
static void run_stream(gr_sess *ss, gr_req *r, bool next) {
    gr_server *v = &ss->view;
    const char *prompt = NULL;
    if ((!next && !gr_get_string(r, "prompt", &prompt)) || !gr_stream_options(r)) return;
    ggufref_runtime *rt = ggufref_session_runtime(ss->ps);
    v->stream_id = r->id;
    v->stream_index = 0;
    ss->n_gen = 0;
    ss->gen_failed = false;
    stream_mark(ss, r->id);
    ggufref_status st = next ? ggufref_runtime_generate_next_token(rt, on_token, ss)
                             : ggufref_session_generate(ss->ps, prompt, strlen(prompt),
                                                        on_token, ss);
    stream_mark(ss, NULL);
    const char *op = next ? "generate-next-token" : "generate";
    if (ss->gen_failed) {
        gr_emit_oom(v);
        return;
    }
    if (st == GGUFREF_ERR_LIMIT_EXCEEDED && !next) {
        char why[160];
        snprintf(why, sizeof why, "the step ceiling max_steps = %llu positions (prompt and "
                 "generated tokens) is reached", (unsigned long long)ss->model->limits.max_steps);
        runtime_error(ss, r->id, st, op, why);
        return;
    }
    if (st == GGUFREF_ERR_DEADLINE_EXCEEDED && !next) {
        char why[160];
        snprintf(why, sizeof why, "the time ceiling max_exec_ms = %llu ms is reached",
                 (unsigned long long)(ss->model->limits.max_exec_ns / 1000000u));
        runtime_error(ss, r->id, st, op, why);
        return;
    }
    if (st != GGUFREF_OK) {
        runtime_error(ss, r->id, st, op, NULL);
        return;
    }
    cJSON *ev = result_new(ss, r->id);
    add_request_fields(ev, rt, !next, !next);
    gr_add(ev, "tokens", gr_int_array(ss->gen, ss->n_gen));
    gr_emit(v, ev);
}

static void run_evaluate(gr_sess *ss, gr_req *r) {
    int64_t top = 0;
    bool full = false;
    if (!gr_get_int(r, "logits", 0, GR_PROTOCOL_MAX_TOP, &top) ||
        !gr_get_bool(r, "logits_full", &full)) {
        return;
    }
    int32_t *ids = NULL;
    size_t n = 0;
    if (!gr_eval_tokens(r, &ids, &n)) return;
    gr_eval_state e = {cJSON_CreateArray(), (int)top, full, NULL};
    ggufref_status st = ggufref_runtime_evaluate(ggufref_session_runtime(ss->ps), ids, n,
                                                 gr_eval_position, &e);
    gr_srv_free(ids);
    if (st != GGUFREF_OK) {
        cJSON_Delete(e.positions);
        runtime_error(ss, r->id, st, "evaluate", NULL);
        return;
    }
    cJSON *ev = result_new(ss, r->id);
    cJSON_AddNumberToObject(ev, "n_tokens", (double)n);
    gr_add(ev, "positions", e.positions);
    gr_emit(&ss->view, ev);
}

static void run_diagnostics(gr_sess *ss, gr_req *r) {
    ggufref_runtime *rt = ggufref_session_runtime(ss->ps);
    ggufref_str diag = {NULL, 0};
    ggufref_status st = ggufref_runtime_diagnostics(rt, &diag);
    if (st != GGUFREF_OK) {
        runtime_error(ss, r->id, st, "diagnostics", NULL);
        return;
    }
    cJSON *ev = result_new(ss, r->id);
    const int32_t *all = NULL;
    size_t n_all = 0, n_prompt = 0;
    ggufref_runtime_tokens(rt, &all, &n_all, &n_prompt);
    add_request_fields(ev, rt, false, true);
    cJSON_DeleteItemFromObjectCaseSensitive(ev, "text");
    gr_add(ev, "tokens", gr_int_array(all, n_all));
    cJSON_AddBoolToObject(ev, "model", true);
    ggufref_sampling p;
    ggufref_runtime_get_sampling(rt, &p);
    gr_add(ev, "sampling", gr_sampling_json(&p));
    ggufref_error err;
    cJSON *le = cJSON_AddObjectToObject(ev, "last_error");
    if (ggufref_runtime_last_error(rt, &err) == GGUFREF_OK) {
        cJSON_AddNumberToObject(le, "code", (double)err.status);
        cJSON_AddStringToObject(le, "name", ggufref_status_name(err.status));
        gr_add_string_sanitized(le, "message", err.message, strlen(err.message), false);
    }
    cJSON *impl = cJSON_AddObjectToObject(ev, "impl");
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)ggufref_runtime_digest(rt));
    cJSON_AddStringToObject(impl, "digest", hex);
    cJSON_AddNumberToObject(impl, "slot", (double)ggufref_session_slot(ss->ps));
    cJSON *parsed = cJSON_ParseWithLength(diag.ptr, diag.len);
    if (parsed != NULL) gr_add(impl, "runtime", parsed);
    gr_emit(&ss->view, ev);
}

/* Check the session in: to the pool (scrubbed, R-POOL-011), or dropped when its runtime is
 * poisoned (R-POOL-012). Under no lock; the record forgets it first (cancel, R-POOL-013). */
static void check_in(gr_sess *ss, bool drop) {
    pthread_mutex_lock(&ss->set->mu);
    ggufref_session *ps = ss->ps;
    ss->ps = NULL;
    ss->closed = true;
    pthread_mutex_unlock(&ss->set->mu);
    if (ps == NULL) return;
    if (drop) {
        (void)ggufref_pool_drop(ss->model->pool, ps);
    } else {
        (void)ggufref_pool_release(ss->model->pool, ps);
    }
}

/* One command of the session, in the worker. */
static void run_job(gr_sess *ss, cJSON *msg) {
    gr_server *v = &ss->view;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(msg, "cmd");
    gr_req r = {v, msg, id, cmd->valuestring};
    v->cur_id = id;
    gr_srv_oom_clear();
    pthread_mutex_lock(&ss->set->mu);
    bool open = ss->ps != NULL;
    pthread_mutex_unlock(&ss->set->mu);
    if (!open) { /* queued behind a close, a trap or a failed open */
        gr_emit_error(v, id, GGUFREF_ERR_INVALID_ARGUMENT, false,
                      "%s: session %lld is closed", r.cmd, (long long)ss->id);
        return;
    }
    ggufref_runtime *rt = ggufref_session_runtime(ss->ps);
    v->session_rt = rt;
    const char *c = r.cmd;
    if (strcmp(c, "close-session") == 0) {
        v->session_rt = NULL;
        check_in(ss, false);
        gr_emit(v, gr_event_new(id, "result"));
        return;
    }
    if (strcmp(c, "generate") == 0 || strcmp(c, "generate-next-token") == 0) {
        run_stream(ss, &r, c[8] == '-');
    } else if (strcmp(c, "evaluate") == 0) {
        run_evaluate(ss, &r);
    } else if (strcmp(c, "diagnostics") == 0) {
        run_diagnostics(ss, &r);
    } else if (strcmp(c, "configure-sampling") == 0) {
        ggufref_sampling p;
        if (gr_parse_sampling(&r, &p)) {
            ggufref_status st = ggufref_runtime_configure_sampling(rt, &p);
            if (st != GGUFREF_OK) {
                runtime_error(ss, id, st, "configure-sampling", NULL);
            } else {
                cJSON *ev = result_new(ss, id);
                gr_add(ev, "sampling", gr_sampling_json(&p));
                gr_emit(v, ev);
            }
        }
    } else { /* reset-context: gr_sessions_take lets nothing else through */
        ggufref_status st = ggufref_runtime_reset_context(rt);
        if (st != GGUFREF_OK) {
            runtime_error(ss, id, st, "reset-context", NULL);
        } else {
            gr_emit(v, result_new(ss, id));
        }
    }
    v->session_rt = NULL;
    /* R-POOL-012, R-PROTO-076: a trap ends the session; its runtime is never reused */
    if (ggufref_runtime_state(rt) == GGUFREF_STATE_POISONED) check_in(ss, true);
}

/* One open answered or one job done (gr_sessions_wait_idle). */
static void work_done(gr_sessions *set) {
    pthread_mutex_lock(&set->mu);
    if (--set->busy == 0) pthread_cond_broadcast(&set->idle_cv);
    pthread_mutex_unlock(&set->mu);
}

static void *worker(void *arg) {
    gr_sess *ss = arg;
    gr_sessions *set = ss->set;
    gr_server *v = &ss->view;
    const cJSON *open_id = cJSON_GetObjectItemCaseSensitive(ss->open_msg, "id");
    v->cur_id = open_id;
    ggufref_session *ps = NULL;
    gr_model_entry *m = ss->model;
    ggufref_status st = GGUFREF_OK;
    pthread_mutex_lock(&set->mu);
    while (m->whead != ss) { /* R-POOL-043: wait for our turn in arrival order */
        struct timespec ts = {.tv_sec = (time_t)(ss->deadline_ns / 1000000000u),
                              .tv_nsec = (long)(ss->deadline_ns % 1000000000u)};
        if (pthread_cond_timedwait(&m->wcv, &set->mu, &ts) == ETIMEDOUT && m->whead != ss) {
            st = GGUFREF_ERR_DEADLINE_EXCEEDED;
            break;
        }
    }
    pthread_mutex_unlock(&set->mu);
    if (st == GGUFREF_OK) st = ggufref_pool_acquire(m->pool, ss->deadline_ns, &ps);
    pthread_mutex_lock(&set->mu);
    gr_sess **link = &m->whead, *prev = NULL; /* leave the line; wake the next in it */
    while (*link != ss) {
        prev = *link;
        link = &(*link)->wnext;
    }
    *link = ss->wnext;
    if (m->wtail == ss) m->wtail = prev;
    pthread_cond_broadcast(&m->wcv);
    ss->ps = ps;
    if (st != GGUFREF_OK) ss->closed = true;
    pthread_mutex_unlock(&set->mu);
    if (st != GGUFREF_OK) {
        const char *why = st == GGUFREF_ERR_DEADLINE_EXCEEDED
                              ? "no session became free before wait_ms ran out (max_sessions %u)"
                          : st == GGUFREF_ERR_LIMIT_EXCEEDED
                              ? "a new session would pass the memory ceiling max_memory (max_sessions %u)"
                              : "cannot make a session (max_sessions %u)";
        v->session_id = 0; /* never opened: its events carry no session */
        gr_emit_error(v, open_id, st, false, why, (unsigned)ss->model->limits.max_sessions);
        v->session_id = ss->id;
    } else {
        ggufref_runtime *rt = ggufref_session_runtime(ps);
        cJSON *ev = gr_event_new(open_id, "result");
        gr_add(ev, "session", gr_json_int(ss->id));
        cJSON_AddStringToObject(ev, "state", ggufref_state_name(ggufref_runtime_state(rt)));
        gr_add(ev, "limits", limits_json(&ss->model->limits));
        gr_emit(v, ev);
    }
    work_done(set);
    for (;;) {
        pthread_mutex_lock(&set->mu);
        while (ss->head == NULL && !set->finishing && !ss->closed) {
            pthread_cond_wait(&ss->cv, &set->mu);
        }
        gr_job *job = ss->head;
        if (job != NULL) {
            ss->head = job->next;
            if (ss->head == NULL) ss->tail = NULL;
        } else {
            ss->exiting = true; /* decided under the lock: nothing is queued after this */
        }
        pthread_mutex_unlock(&set->mu);
        if (job == NULL) break; /* closed or finishing, and nothing queued */
        run_job(ss, job->msg);
        cJSON_Delete(job->msg);
        gr_srv_free(job);
        work_done(set);
    }
    check_in(ss, false); /* end of input: sessions still open go back to the pool */
    gr_srv_free(ss->gen);
    ss->gen = NULL;
    pthread_mutex_lock(&set->mu);
    ss->done = true;
    pthread_mutex_unlock(&set->mu);
    return NULL;
}

/* ---- the main thread ----------------------------------------------------------------------- */

/* Join and free the records whose worker has ended. Main thread only. */
static void reap(gr_sessions *set, bool wait_all) {
    gr_sess **link = &set->list;
    while (*link != NULL) {
        gr_sess *ss = *link;
        pthread_mutex_lock(&set->mu);
        bool done = ss->done;
        pthread_mutex_unlock(&set->mu);
        if (!done && !wait_all) {
            link = &ss->next;
            continue;
        }
        pthread_join(ss->thread, NULL);
        pthread_mutex_lock(&set->mu);
        *link = ss->next;
        set->n_records--;
        pthread_mutex_unlock(&set->mu);
        pthread_cond_destroy(&ss->cv);
        cJSON_Delete(ss->open_msg);
        gr_srv_free(ss);
    }
}

/* The model entry of `path`: opened once, with its pool (R-PROTO-071). NULL after answering. */
static gr_model_entry *model_for(gr_sessions *set, gr_req *r, const char *path) {
    for (size_t i = 0; i < set->n_models; i++) {
        if (strcmp(set->models[i].path, path) == 0) return &set->models[i];
    }
    if (set->n_models == GR_MAX_MODELS) {
        gr_emit_error(r->s, r->id, GGUFREF_ERR_LIMIT_EXCEEDED, false,
                      "open-session: sessions already use %u model files", GR_MAX_MODELS);
        return NULL;
    }
    gr_model_entry *e = &set->models[set->n_models];
    memset(e, 0, sizeof *e);
    e->path = gr_srv_strdup(path);
    if (e->path == NULL) {
        gr_emit_oom(r->s);
        return NULL;
    }
    ggufref_error err;
    ggufref_status st = ggufref_shared_model_open_file(path, &e->model, &err);
    if (st == GGUFREF_OK) {
        ggufref_model_info info;
        ggufref_model_get_info(ggufref_shared_model_model(e->model), &info);
        ggufref_pool_limits model; /* the model's own setting: its context length */
        ggufref_pool_limits_default(&model);
        model.max_sessions = 0;
        model.max_context = info.n_ctx_train;
        ggufref_pool_limits_combine(&set->env, &model, &e->limits);
        st = ggufref_pool_create(e->model, &e->limits, &e->pool, &err);
        ggufref_shared_model_release(e->model); /* the pool holds its own reference */
        if (st == GGUFREF_OK) ggufref_pool_set_clock(e->pool, now_ns, NULL);
        if (st == GGUFREF_OK && ggufref_pool_set_threads(e->pool, set->threads) != GGUFREF_OK) {
            (void)ggufref_pool_destroy(e->pool); /* R-PROTO-062: a count this build refuses */
            st = GGUFREF_ERR_INVALID_ARGUMENT;
            snprintf(err.message, sizeof err.message, "this build cannot run %u threads",
                     set->threads);
        }
    }
    pthread_condattr_t ca;
    bool cv = false;
    if (st == GGUFREF_OK && pthread_condattr_init(&ca) == 0) {
        cv = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
             pthread_cond_init(&e->wcv, &ca) == 0;
        pthread_condattr_destroy(&ca);
    }
    if (st == GGUFREF_OK && !cv) {
        (void)ggufref_pool_destroy(e->pool);
        st = GGUFREF_ERR_OUT_OF_MEMORY;
        snprintf(err.message, sizeof err.message, "cannot create the open queue");
    }
    if (st != GGUFREF_OK) {
        gr_srv_free(e->path);
        gr_emit_error(r->s, r->id, st, false, "open-session: %s", err.message);
        return NULL;
    }
    set->n_models++;
    return e;
}

/* open-session {path, wait_ms?} (R-PROTO-071): a session of the model at `path`, answered by
 * the new session's worker once the pool gives it one (FIFO, until wait_ms: R-PROTO-072). */
void gr_cmd_open_session(gr_req *r) {
    gr_server *s = r->s;
    gr_sessions *set = s->sessions;
    set->server = s;
    reap(set, false);
    const char *path;
    int64_t wait_ms = GR_DEFAULT_WAIT_MS;
    if (!gr_get_string(r, "path", &path) ||
        !gr_get_int(r, "wait_ms", 0, 2147483647.0, &wait_ms)) {
        return;
    }
    if (set->n_records >= GR_MAX_RECORDS) {
        gr_emit_error(s, r->id, GGUFREF_ERR_LIMIT_EXCEEDED, false,
                      "open-session: %u sessions are open or waiting", GR_MAX_RECORDS);
        return;
    }
    gr_model_entry *model = model_for(set, r, path);
    if (model == NULL) return;
    gr_sess *ss = gr_srv_malloc(sizeof *ss);
    cJSON *copy = cJSON_Duplicate(r->msg, true);
    if (ss == NULL || copy == NULL) {
        gr_srv_free(ss);
        cJSON_Delete(copy);
        gr_emit_oom(s);
        return;
    }
    memset(ss, 0, sizeof *ss);
    ss->set = set;
    ss->model = model;
    ss->open_msg = copy;
    ss->deadline_ns = now_ns(NULL) + (uint64_t)wait_ms * 1000000u;
    ss->view.parent = s;
    ss->view.fault_injection = s->fault_injection;
    ss->view.sessions = NULL;
    if (pthread_cond_init(&ss->cv, NULL) != 0) {
        cJSON_Delete(copy);
        gr_srv_free(ss);
        gr_emit_error(s, r->id, GGUFREF_ERR_OUT_OF_MEMORY, false, "open-session: no condition");
        return;
    }
    pthread_mutex_lock(&set->mu);
    ss->id = set->next_id++;
    ss->view.session_id = ss->id;
    ss->next = set->list;
    set->list = ss;
    set->n_records++;
    if (model->wtail != NULL) model->wtail->wnext = ss; /* arrival order (R-POOL-043) */
    else model->whead = ss;
    model->wtail = ss;
    set->busy++;
    pthread_mutex_unlock(&set->mu);
    if (pthread_create(&ss->thread, NULL, worker, ss) != 0) {
        pthread_mutex_lock(&set->mu);
        set->list = ss->next;
        set->n_records--;
        gr_sess **link = &model->whead, *prev = NULL;
        while (*link != ss) {
            prev = *link;
            link = &(*link)->wnext;
        }
        *link = ss->wnext;
        if (model->wtail == ss) model->wtail = prev;
        pthread_cond_broadcast(&model->wcv);
        if (--set->busy == 0) pthread_cond_broadcast(&set->idle_cv);
        pthread_mutex_unlock(&set->mu);
        pthread_cond_destroy(&ss->cv);
        cJSON_Delete(copy);
        gr_srv_free(ss);
        gr_emit_error(s, r->id, GGUFREF_ERR_OUT_OF_MEMORY, false,
                      "open-session: cannot start a thread");
    }
}

/* close-session without `session` (with it, it is queued on the session). */
void gr_cmd_close_session(gr_req *r) {
    gr_emit_error(r->s, r->id, GGUFREF_ERR_INVALID_ARGUMENT, false,
                  "close-session: missing field 'session' (the id open-session answered)");
}

bool gr_sessions_take(gr_req *r, cJSON **msg) {
    const cJSON *f = gr_field(r, "session");
    if (f == NULL || strcmp(r->cmd, "cancel") == 0 || strcmp(r->cmd, "open-session") == 0) {
        return false;
    }
    gr_server *s = r->s;
    gr_sessions *set = s->sessions;
    set->server = s;
    reap(set, false);
    static const char *const taken[] = {"configure-sampling", "generate", "generate-next-token",
                                        "evaluate", "reset-context", "diagnostics",
                                        "close-session"};
    bool known = false;
    for (size_t i = 0; i < sizeof taken / sizeof taken[0] && !known; i++) {
        known = strcmp(taken[i], r->cmd) == 0;
    }
    double d = cJSON_IsNumber(f) ? f->valuedouble : 0;
    if (!cJSON_IsNumber(f) || !(d >= 1 && d <= 9007199254740991.0) || (double)(int64_t)d != d) {
        gr_emit_error(s, r->id, GGUFREF_ERR_INVALID_ARGUMENT, false,
                      "field 'session' must be a session id (a positive integer)");
        return true;
    }
    int64_t id = (int64_t)d;
    s->session_id = id; /* R-PROTO-073: every answer to it names the session */
    if (!known) {
        gr_emit_error(s, r->id, GGUFREF_ERR_INVALID_ARGUMENT, false,
                      "%s: this command does not take a 'session' (only configure-sampling, "
                      "generate, generate-next-token, evaluate, reset-context, diagnostics and "
                      "close-session do)", r->cmd);
        s->session_id = 0;
        return true;
    }
    gr_job *job = gr_srv_malloc(sizeof *job);
    if (job == NULL) {
        gr_emit_oom(s);
        s->session_id = 0;
        return true;
    }
    job->next = NULL;
    job->msg = *msg;
    pthread_mutex_lock(&set->mu);
    gr_sess *ss = set->list;
    while (ss != NULL && ss->id != id) ss = ss->next;
    bool queued = ss != NULL && !ss->exiting; /* after a close: answered in order, closed */
    if (queued) {
        if (ss->tail != NULL) ss->tail->next = job;
        else ss->head = job;
        ss->tail = job;
        if (strcmp(r->cmd, "close-session") == 0) ss->closed = true; /* nothing after it */
        set->busy++;
        pthread_cond_signal(&ss->cv);
    }
    pthread_mutex_unlock(&set->mu);
    if (!queued) {
        gr_srv_free(job);
        gr_emit_error(s, r->id, GGUFREF_ERR_INVALID_ARGUMENT, false,
                      "%s: no open session %lld", r->cmd, (long long)id);
        s->session_id = 0;
        return true;
    }
    s->session_id = 0;
    *msg = NULL; /* the session's now */
    return true;
}

bool gr_sessions_cancel(gr_server *s, const cJSON *target) {
    gr_sessions *set = s->sessions;
    if (set == NULL) return false;
    bool hit = false;
    pthread_mutex_lock(&set->mu);
    for (gr_sess *ss = set->list; ss != NULL; ss = ss->next) {
        if (ss->ps != NULL && ss->streaming != NULL && gr_id_equal(target, ss->streaming)) {
            (void)ggufref_session_cancel(ss->model->pool, ss->ps);
            hit = true;
        }
    }
    pthread_mutex_unlock(&set->mu);
    return hit;
}

void gr_sessions_finish(gr_sessions *set) {
    if (set == NULL) return;
    pthread_mutex_lock(&set->mu);
    set->finishing = true;
    for (gr_sess *ss = set->list; ss != NULL; ss = ss->next) pthread_cond_signal(&ss->cv);
    pthread_mutex_unlock(&set->mu);
    reap(set, true);
    pthread_mutex_lock(&set->mu);
    set->finishing = false;
    pthread_mutex_unlock(&set->mu);
}

void gr_sessions_wait_idle(gr_sessions *set) {
    if (set == NULL) return;
    pthread_mutex_lock(&set->mu);
    while (set->busy > 0) pthread_cond_wait(&set->idle_cv, &set->mu);
    pthread_mutex_unlock(&set->mu);
}

void gr_sessions_destroy(gr_sessions *set) {
    if (set == NULL) return;
    gr_sessions_finish(set);
    pthread_cond_destroy(&set->idle_cv);
    for (size_t i = 0; i < set->n_models; i++) {
        pthread_cond_destroy(&set->models[i].wcv);
        (void)ggufref_pool_destroy(set->models[i].pool);
        gr_srv_free(set->models[i].path);
    }
    pthread_mutex_destroy(&set->mu);
    gr_srv_free(set);
}
