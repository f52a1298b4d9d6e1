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
        gr_emit_error(s, NULL, GGUFREF_ERR_LIMIT_EXCEEDED, false,
                      "command line longer than %zu bytes: discarded", GR_PROTOCOL_MAX_LINE);
        return;
    }
    if (len > 0 && line[len - 1] == '\r') len--;
    bool blank = true;
    for (size_t i = 0; i < len && blank; i++) blank = (line[i] == ' ' || line[i] == '\t');
    if (blank) return; /* R-PROTO-001: empty lines are ignored */
    if (!gr_utf8_valid(line, len)) {
        if (s->brk != BRK_MALFORMED_SILENT) {
            gr_emit_error(s, NULL, GGUFREF_ERR_INVALID_ARGUMENT, false,
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
            gr_emit_error(s, NULL, GGUFREF_ERR_INVALID_ARGUMENT, false,
                          "command line is not one JSON value (JSON error near byte %zu)",
                          (size_t)((end != NULL ? end : line) - line));
        }
        return;
    }
    if (!cJSON_IsObject(msg)) {
        cJSON_Delete(msg);
        gr_emit_error(s, NULL, GGUFREF_ERR_INVALID_ARGUMENT, false,
                      "a command must be an object");
        return;
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
    if (id == NULL || !gr_id_valid(id)) {
        gr_emit_error(s, NULL, GGUFREF_ERR_INVALID_ARGUMENT, false,
                      "field 'id' must be a string of at most 256 bytes or an integer "
                      "(|id| < 2^53)");
        cJSON_Delete(msg);
        return;
    }
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(msg, "cmd");
    if (!cJSON_IsString(cmd)) {
        gr_emit_error(s, id, GGUFREF_ERR_INVALID_ARGUMENT, false,
                      "field 'cmd' (the command name) is missing or not a string");
        cJSON_Delete(msg);
        return;
    }
    if (has_nul_escape(line, len)) {
        gr_emit_error(s, id, GGUFREF_ERR_INVALID_ARGUMENT, false,
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
    char *name = gr_utf8_sanitize(r.cmd, strlen(r.cmd) > 64 ? 64 : strlen(r.cmd), true);
    gr_emit_error(s, id, GGUFREF_ERR_INVALID_ARGUMENT, false, "unknown command '%s'", name);
    free(name);
    cJSON_Delete(msg);
}

/* R-PROTO-041: between two tokens, read ahead and handle every cancel received so far that
 * is not queued behind another generate (such a cancel waits for that generate to start). */
static void handle_pending_cancels(gr_server *s) {
    if (s->reader == NULL) return;
    gr_reader_fill(s->reader, &s->queue, false);
    for (size_t i = 0; i < s->queue.count;) {
        int kind = gr_line_kind(gr_queue_at(&s->queue, i));
        if (kind == LINE_STREAM) break;
        if (kind == LINE_CANCEL) {
            gr_line l = gr_queue_take(&s->queue, i);
            dispatch(s, l.text, l.len);
            free(l.text);
        } else {
            i++;
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
    gr_server *s = gr_xmalloc(sizeof *s);
    memset(s, 0, sizeof *s);
    s->out = out;
    s->fault_injection = config->fault_injection;
    s->brk = brk;
    s->between_tokens = handle_pending_cancels;
    ggufref_sampling_default(&s->sampling);
    return s;
}

void gr_server_destroy(gr_server *s) {
    if (s == NULL) return;
    gr_queue_free(&s->queue);
    gr_break_shift_free(&s->shift);
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
        if (s->queue.count > 0) {
            gr_line l = gr_queue_take(&s->queue, 0);
            dispatch(s, l.text, l.len);
            free(l.text);
            continue;
        }
        if (rd.eof) break;
        gr_reader_fill(&rd, &s->queue, true);
    }
    s->reader = NULL;
    free(rd.buf);
    return s->stop ? 1 : 0;
}
