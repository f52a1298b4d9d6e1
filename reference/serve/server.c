/*
 * server.c — the wire protocol server (SPEC chapter 9, R-PROTO-*): the command table, the
 * framing checks every line passes before its handler (R-PROTO-005..009), and the run loop.
 *
 *   fd ──reader──► line queue ──dispatch──► handler (cmd_*.c) ──► ggufref_export_* ──► events
 *                      ▲                                             │ token callback
 *                      └──── read ahead between tokens ◄─────────────┘ (cancel handled at once)
 *
 * One thread. Commands are handled in arrival order, except that while a generate streams the
 * server reads ahead after every token event and handles each `cancel` it finds at once
 * (R-PROTO-041); other commands wait their turn.
 */
#include "serve_internal.h"

#include "text.h" /* reference/src: gr_utf8_valid */

#include <stdlib.h>
#include <string.h>

typedef struct gr_command {
    const char *name;
    void (*run)(gr_req *r);
    bool fault_only;
} gr_command;

static const gr_command commands[] = {
    {"boot", gr_cmd_boot, false},
    {"load-model", gr_cmd_load_model, false},
    {"configure-sampling", gr_cmd_configure_sampling, false},
    {"generate", gr_cmd_generate, false},
    {"generate-next-token", gr_cmd_generate_next_token, false},
    {"cancel", gr_cmd_cancel, false},
    {"evaluate", gr_cmd_evaluate, false},
    {"reset-context", gr_cmd_reset_context, false},
    {"free-model", gr_cmd_free_model, false},
    {"diagnostics", gr_cmd_diagnostics, false},
    {"fault-alloc", gr_cmd_fault_alloc, true},
    {"fault-io", gr_cmd_fault_io, true},
    {"fault-panic", gr_cmd_fault_panic, true},
    {"fault-status", gr_cmd_fault_status, true},
    {"fault-reset", gr_cmd_fault_reset, true},
    {"open-session", gr_cmd_open_session, false},
    {"close-session", gr_cmd_close_session, false},
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

/* A command name from the client, for a message: at most 64 bytes, valid UTF-8, one line (CR
 * and LF as spaces: server messages are one line, R-PROTO-004). Caller frees; NULL: no memory. */
static char *client_name(const char *cmd) {
    size_t len = strlen(cmd);
    return gr_utf8_sanitize(cmd, len > 64 ? 64 : len, true);
}

/* A line that passed the framing checks. */
typedef struct gr_frame {
    cJSON *msg;       /* the parsed line (caller deletes) */
    const cJSON *id;
    const char *cmd;
} gr_frame;

/* The framing checks of one line (R-PROTO-001, R-PROTO-005..009, R-PROTO-013, R-PROTO-014):
 * true with *f filled, or false; then, if `answer`, the line's error event is written (or none,
 * for a blank line). Without `answer` nothing is written and the OOM flag is left as it was:
 * the read-ahead classifies lines with it (R-PROTO-041). */
static bool frame(gr_server *s, const char *line, size_t len, bool answer, gr_frame *f) {
    bool oom_before = gr_srv_oom();
    *f = (gr_frame){0};
    if (line == NULL) {
        if (!answer) return false;
        if (s->brk == BRK_OVERSIZE_EXIT) {
            s->stop = true;
            return false;
        }
        gr_emit_error(s, NULL, GGUFREF_ERR_LIMIT_EXCEEDED, false,
                      "command line longer than %zu bytes: discarded", GR_PROTOCOL_MAX_LINE);
        return false;
    }
    if (len > 0 && line[len - 1] == '\r') len--;
    bool blank = true;
    for (size_t i = 0; i < len && blank; i++) blank = (line[i] == ' ' || line[i] == '\t');
    if (blank) return false; /* R-PROTO-001: empty lines are ignored */
    const char *why = NULL;
    size_t where = 0;
    if (!gr_utf8_valid(line, len)) {
        why = "command line is not valid UTF-8";
        where = 0;
    } else if (!gr_json_check(line, len, &where)) {
        why = "command line is not one JSON value (RFC 8259; JSON error near byte %zu)";
    }
    if (why != NULL) {
        if (answer && s->brk != BRK_MALFORMED_SILENT) {
            gr_emit_error(s, NULL, GGUFREF_ERR_INVALID_ARGUMENT, false, why, where);
        }
        return false;
    }
    cJSON *msg = cJSON_ParseWithLength(line, len);
    int dup = msg == NULL ? 0 : gr_json_duplicates(msg);
    const char *err = NULL;
    if (msg == NULL || dup < 0) {
        err = "out of memory"; /* the line is valid JSON: only memory can fail here */
    } else if (dup > 0) {
        err = "a command must not name a member twice (duplicate keys)";
    } else if (!cJSON_IsObject(msg)) {
        err = "a command must be an object";
    }
    const cJSON *id = err == NULL ? cJSON_GetObjectItemCaseSensitive(msg, "id") : NULL;
    if (err == NULL && (id == NULL || !gr_id_valid(id))) {
        err = "field 'id' must be a string of at most 256 bytes or an integer (|id| < 2^53)";
    }
    if (err != NULL) {
        cJSON_Delete(msg);
        if (!answer) {
            gr_srv_oom_swap(oom_before);
        } else if (strcmp(err, "out of memory") == 0) {
            size_t a, b; /* answer with the id found without allocating, if it is one */
            s->cur_id = NULL;
            if (gr_json_top_member(line, len, "id", &a, &b)) {
                s->cur_raw_id = line + a;
                s->cur_raw_len = b - a;
            }
            gr_emit_oom(s);
            s->cur_raw_id = NULL;
        } else {
            gr_emit_error(s, NULL, GGUFREF_ERR_INVALID_ARGUMENT, false, "%s", err);
        }
        return false;
    }
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(msg, "cmd");
    if (!cJSON_IsString(cmd)) {
        err = "field 'cmd' (the command name) is missing or not a string";
    } else if (has_nul_escape(line, len)) {
        err = "strings must not contain U+0000";
    }
    if (err != NULL) {
        if (answer) { /* the client's command name, one line (R-PROTO-004) */
            char *name = cJSON_IsString(cmd) ? client_name(cmd->valuestring) : NULL;
            gr_emit_error(s, id, GGUFREF_ERR_INVALID_ARGUMENT, false, "%s%s%s",
                          name != NULL ? name : "", name != NULL ? ": " : "", err);
            gr_srv_free(name);
        }
        cJSON_Delete(msg);
        return false;
    }
    *f = (gr_frame){msg, id, cmd->valuestring};
    return true;
}

/* One command line: framing checks, then the handler. */
static void dispatch(gr_server *s, const char *line, size_t len) {
    const cJSON *outer = s->cur_id; /* a cancel handled while a generate streams */
    s->cur_id = NULL;
    gr_srv_oom_clear();
    gr_frame f;
    if (frame(s, line, len, true, &f)) {
        s->cur_id = f.id;
        gr_req r = {s, f.msg, f.id, f.cmd};
        const gr_command *c = NULL;
        for (size_t i = 0; i < sizeof commands / sizeof commands[0] && c == NULL; i++) {
            if (strcmp(commands[i].name, r.cmd) == 0) c = &commands[i];
        }
        if (gr_sessions_take(&r, &f.msg)) {
            /* names a session: queued on it, or answered (capability `sessions`) */
        } else if (c != NULL && (!c->fault_only || s->fault_injection)) {
            c->run(&r);
        } else {
            char *name = client_name(r.cmd);
            gr_emit_error(s, f.id, GGUFREF_ERR_INVALID_ARGUMENT, false, "unknown command '%s'",
                          name != NULL ? name : "?");
            gr_srv_free(name);
        }
        cJSON_Delete(f.msg);
    }
    s->cur_id = outer;
}

/* What a queued line is: LINE_CANCEL only for a line that passes every framing check and
 * names `cancel` (anything else waits its turn, R-PROTO-011), LINE_STREAM for generate and
 * generate-next-token, LINE_OTHER otherwise. */
static int line_kind(gr_server *s, gr_line *l) {
    if (l->kind != LINE_UNKNOWN) return l->kind;
    l->kind = LINE_OTHER;
    gr_frame f;
    if (frame(s, l->text, l->len, false, &f)) {
        if (strcmp(f.cmd, "cancel") == 0) {
            l->kind = LINE_CANCEL;
        } else if (strcmp(f.cmd, "generate") == 0 || strcmp(f.cmd, "generate-next-token") == 0) {
            l->kind = LINE_STREAM;
        }
        cJSON_Delete(f.msg);
    }
    return l->kind;
}

/* R-PROTO-041: between two tokens, read ahead and handle every cancel received so far that
 * is not queued behind another generate (such a cancel waits for that generate to start).
 * Lines already looked at are not looked at again (queue.scanned): O(1) per line. */
static void handle_pending_cancels(gr_server *s) {
    if (s->reader == NULL) return;
    gr_reader_fill(s->reader, &s->queue, false);
    if (s->reader->failed) {
        s->failure = "out of memory reading commands";
        s->stop = true;
        return;
    }
    gr_queue *q = &s->queue;
    while (q->scanned < q->count) {
        gr_line *l = gr_queue_at(q, q->scanned);
        int kind = l->kind == LINE_GONE ? LINE_OTHER : line_kind(s, l);
        if (kind == LINE_STREAM) break;
        if (kind == LINE_CANCEL) {
            gr_line taken = gr_queue_take(q, q->scanned);
            dispatch(s, taken.text, taken.len);
            gr_srv_free(taken.text);
        } else {
            q->scanned++;
        }
    }
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
        brk = gr_break_parse(config->break_name);
        if (brk == BRK_NONE) reason = "unknown --break variant (see 'ggufref serve --help')";
    }
#endif
    if (reason != NULL) {
        if (why != NULL) *why = reason;
        return NULL;
    }
    gr_srv_json_hooks();
    gr_srv_count_allocs(config->count_allocs);
    if (config->threads > GGUFREF_MAX_THREADS) {
        if (why != NULL) *why = "more threads than GGUFREF_MAX_THREADS (64)";
        return NULL;
    }
    /* the server ceilings (R-POOL-024) and the threads (R-PROTO-062) */
    gr_sessions *sessions = gr_sessions_create(config->threads, &reason);
    if (sessions == NULL) {
        gr_srv_oom_clear();
        if (why != NULL) *why = reason;
        return NULL;
    }
    /* R-PROTO-062: the export layer's runtime too (a poisoned or unavailable lock, 13, leaves
     * it alone: that runtime answers nothing any more) */
    int st = ggufref_export_set_threads(gr_sessions_threads(sessions));
    if (st != GGUFREF_OK && st != (int)GGUFREF_ERR_GENERATION_FAILED) {
        gr_sessions_destroy(sessions);
        gr_srv_oom_clear();
        if (why != NULL) {
            *why = st == (int)GGUFREF_ERR_OUT_OF_MEMORY
                       ? "cannot start the forward pass threads (out of memory)"
                       : "this build cannot run that many threads (one thread without threads)";
        }
        return NULL;
    }
    gr_server *s = gr_srv_malloc(sizeof *s);
    if (s != NULL) memset(s, 0, sizeof *s);
    if (s == NULL || pthread_mutex_init(&s->out_mu, NULL) != 0) {
        gr_srv_free(s);
        gr_sessions_destroy(sessions);
        gr_srv_oom_clear();
        if (why != NULL) *why = "out of memory";
        return NULL;
    }
    s->sessions = sessions;
    s->out = out;
    s->fault_injection = config->fault_injection;
    s->brk = brk;
    s->between_tokens = handle_pending_cancels;
    ggufref_sampling_default(&s->sampling);
    gr_break_arm_library(brk); /* until gr_server_destroy */
    return s;
}

void gr_server_destroy(gr_server *s) {
    if (s == NULL) return;
    gr_sessions_destroy(s->sessions); /* their queued commands answered first */
    pthread_mutex_destroy(&s->out_mu);
    gr_queue_free(&s->queue);
    gr_break_shift_free(&s->shift);
    gr_srv_free(s->gen);
    gr_srv_free(s->model_path);
    ggufref_fault_panic_at(NULL);
    ggufref_fault_break_set(NULL); /* a --break made in the library (R-FAULT-007) */
    gr_srv_free(s->panic_point);
    gr_srv_free(s);
}

void gr_server_handle_line(gr_server *s, const char *line, size_t len) {
    /* R-PROTO-009: the limit counts the bytes before the line ending (a final CR is one) */
    bool crlf = len == GR_PROTOCOL_MAX_LINE + 1 && line[len - 1] == '\r';
    if (len > GR_PROTOCOL_MAX_LINE && !crlf) line = NULL;
    dispatch(s, line, len);
}

int gr_server_run(gr_server *s, int fd) {
    gr_reader rd = {.fd = fd};
    s->reader = &rd;
    while (!s->stop) {
        if (s->queue.count > 0) {
            gr_line l = gr_queue_pop(&s->queue);
            s->queue.scanned = 0; /* a new command: the read-ahead looks again from the head */
            dispatch(s, l.text, l.len);
            gr_srv_free(l.text);
            continue;
        }
        if (rd.failed) {
            s->failure = "out of memory reading commands";
            s->stop = true;
            break;
        }
        if (rd.eof) break;
        gr_reader_fill(&rd, &s->queue, true);
    }
    gr_sessions_finish(s->sessions); /* R-PROTO-002: what the sessions received is finished */
    s->reader = NULL;
    gr_srv_free(rd.buf);
    return s->stop ? 1 : 0;
}

const char *gr_server_failure(const gr_server *s, int *err) {
    if (err != NULL) *err = s->write_errno;
    return s->failure;
}
