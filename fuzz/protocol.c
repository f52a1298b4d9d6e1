/*
 * protocol.c — fuzz target: bytes to the wire protocol's command loop (SPEC chapter 9,
 * R-PROTO-*), through the library-callable server of reference/serve/serve.h.
 *
 * The input is a JSON Lines stream: split at '\n', each line goes to gr_server_handle_line of a
 * server created with the fault-injection commands on (at most FZ_MAX_LINES lines). Events are
 * written to a memory stream and checked after every line:
 *   - every event is one JSON object on one line with "id" and "event" (token, result, error)
 *     (R-PROTO-001, R-PROTO-003);
 *   - a blank line gets no event; any other line gets exactly one final event (result or
 *     error), the last event it writes, and token events only before it (R-PROTO-003);
 *   - an error carries a status code and its exact name, and a non-empty one-line message
 *     (R-PROTO-004);
 *   - a line that is a JSON object with a valid id (a string of at most 256 bytes or an
 *     integer below 2^53) has that id echoed in its final event (R-PROTO-006), compared as
 *     JSON values (so {"id":-0} answered with "id":0 passes: a client parses both as 0).
 * Then the same bytes run again as a stream through gr_server_run on a pipe (the reader: line
 * framing, a last line without '\n', and the read-ahead that handles `cancel` between tokens,
 * R-PROTO-041): every event is a JSON object, and there is exactly one final event per
 * non-blank line (sandboxed paths are not applied there, so load-model and open-session lines
 * are dropped from the stream; inputs over FZ_MAX_STREAM bytes skip this pass).
 * Files: `load-model` reads files, so paths are sandboxed: at start-up the target writes the
 * micro fixture as micro.gguf and its first 1000 bytes as bad.gguf into a private temporary
 * directory, and every load-model and open-session line whose path has no '/' is rewritten to
 * that directory
 * (session commands are answered by worker threads: each line waits for gr_sessions_wait_idle;
 * an open-session's wait_ms is set to 0, so no open waits for a permit);
 * any other path becomes a missing file there. So a run never depends on or touches other
 * files. After every input the server is destroyed and the process-global export layer and
 * fault hooks are reset (ggufref_fault_export_reset), so no state survives an input.
 */
#define _GNU_SOURCE /* memmem; open_memstream, mkdtemp, pipe */

#include "fixtures.h"
#include "fuzz.h"
#include "serve.h"
#include "serve_internal.h" /* gr_json_check: which lines are JSON to judge */

#include <cjson/cJSON.h>
#include <unistd.h>

#define FZ_MAX_LINES 64u
#define FZ_MAX_STREAM 32768u /* fits a pipe's buffer: written whole before the server reads */

static char fz_dir[64];
static gr_server_config fz_config = {.fault_injection = true};

static void remove_files(void) {
    char path[96];
    snprintf(path, sizeof path, "%s/micro.gguf", fz_dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/bad.gguf", fz_dir);
    unlink(path);
    rmdir(fz_dir);
}

static void write_file(const char *name, const void *data, size_t n) {
    char path[96];
    snprintf(path, sizeof path, "%s/%s", fz_dir, name);
    FILE *f = fopen(path, "wb");
    FZ_CHECK(f != NULL && fwrite(data, 1, n, f) == n && fclose(f) == 0, "cannot write %s", path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(fz_dir, sizeof fz_dir, "%s/ggufref-fuzz-XXXXXX",
             tmp != NULL && strlen(tmp) < 32 ? tmp : "/tmp");
    FZ_CHECK(mkdtemp(fz_dir) != NULL, "mkdtemp %s", fz_dir);
    write_file("micro.gguf", fz_fixture_micro, fz_fixture_micro_size);
    write_file("bad.gguf", fz_fixture_micro, 1000);
    atexit(remove_files);
    return 0;
}

/* A load-model line with its path moved into the sandbox: a malloc'd line, or NULL when the
 * line is anything else (then it is fed unchanged). */
static char *sandbox_line(const char *line, size_t len) {
    const char *end = NULL;
    cJSON *msg = cJSON_ParseWithLengthOpts(line, len, &end, false);
    if (msg == NULL) return NULL;
    char *out = NULL;
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(msg, "cmd");
    cJSON *path = cJSON_GetObjectItemCaseSensitive(msg, "path");
    if (cJSON_IsObject(msg) && cJSON_IsString(cmd) &&
        (strcmp(cmd->valuestring, "load-model") == 0 ||
         strcmp(cmd->valuestring, "open-session") == 0) && /* both read `path` */
        cJSON_IsString(path)) {
        const char *p = path->valuestring;
        char *safe = malloc(strlen(fz_dir) + strlen(p) + 16);
        FZ_CHECK(safe != NULL, "out of memory in the target");
        if (strchr(p, '/') == NULL) {
            sprintf(safe, "%s/%s", fz_dir, p);
        } else {
            sprintf(safe, "%s/missing", fz_dir);
        }
        cJSON_ReplaceItemInObjectCaseSensitive(msg, "path", cJSON_CreateString(safe));
        if (strcmp(cmd->valuestring, "open-session") == 0) { /* never wait for a permit */
            cJSON_DeleteItemFromObjectCaseSensitive(msg, "wait_ms");
            cJSON_AddNumberToObject(msg, "wait_ms", 0);
        }
        free(safe);
        out = cJSON_PrintUnformatted(msg);
    }
    cJSON_Delete(msg);
    return out;
}

/* True if some object of the tree names a member twice (R-PROTO-014), pairwise. */
static bool has_duplicates(const cJSON *v) {
    const cJSON *a, *b;
    cJSON_ArrayForEach(a, v) {
        if (has_duplicates(a)) return true;
        if (!cJSON_IsObject(v)) continue;
        for (b = a->next; b != NULL; b = b->next) {
            if (strcmp(a->string, b->string) == 0) return true;
        }
    }
    return false;
}

/* The id the server must echo, printed, or NULL if the line has no valid id (then "id" must be
 * null or, for lines the server parses differently, is not checked). Only pure printable ASCII
 * lines are judged, so UTF-8 validation cannot make the two parsers disagree; only lines that
 * are RFC 8259 JSON (gr_json_check: cJSON also takes `01`, `1.`) without duplicate names. */
static char *expected_id(const char *line, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] > 0x7e) return NULL;
    }
    if (!gr_json_check(line, len, NULL)) return NULL;
    const char *end = NULL;
    cJSON *msg = cJSON_ParseWithLengthOpts(line, len, &end, false);
    while (msg != NULL && end < line + len && (*end == ' ' || *end == '\t')) end++;
    char *out = NULL;
    if (msg != NULL && end == line + len && cJSON_IsObject(msg) && !has_duplicates(msg)) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
        bool ok = id != NULL &&
                  ((cJSON_IsString(id) && strlen(id->valuestring) <= 256) ||
                   (cJSON_IsNumber(id) && id->valuedouble >= -9007199254740991.0 &&
                    id->valuedouble <= 9007199254740991.0 &&
                    (double)(int64_t)id->valuedouble == id->valuedouble));
        if (ok) out = cJSON_PrintUnformatted(id);
    }
    cJSON_Delete(msg);
    return out;
}

static bool is_blank(const char *line, size_t len) {
    if (len > 0 && line[len - 1] == '\r') len--;
    for (size_t i = 0; i < len; i++) {
        if (line[i] != ' ' && line[i] != '\t') return false;
    }
    return true;
}

/* Check the events one command line wrote: events[0..n). */
static void check_events(const char *events, size_t n, bool blank, const char *want_id) {
    if (blank) {
        FZ_CHECK(n == 0, "a blank line was answered");
        return;
    }
    FZ_CHECK(n > 0 && events[n - 1] == '\n', "no complete event for a command");
    size_t finals = 0;
    bool final_last = false;
    for (size_t at = 0; at < n;) {
        const char *nl = memchr(events + at, '\n', n - at);
        size_t len = (size_t)(nl - (events + at));
        cJSON *ev = cJSON_ParseWithLength(events + at, len);
        FZ_CHECK(cJSON_IsObject(ev), "an event is not a JSON object: %.*s", (int)len, events + at);
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(ev, "event");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(ev, "id");
        FZ_CHECK(cJSON_IsString(kind) && id != NULL, "event without kind or id");
        bool final = strcmp(kind->valuestring, "result") == 0 || strcmp(kind->valuestring, "error") == 0;
        FZ_CHECK(final || strcmp(kind->valuestring, "token") == 0, "event kind %s",
                 kind->valuestring);
        FZ_CHECK(finals == 0, "an event after the final event");
        finals += final;
        final_last = final;
        if (strcmp(kind->valuestring, "error") == 0) {
            const cJSON *e = cJSON_GetObjectItemCaseSensitive(ev, "error");
            const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
            const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
            FZ_CHECK(cJSON_IsNumber(code) && cJSON_IsString(name) && cJSON_IsString(msg),
                     "malformed error event");
            FZ_CHECK(code->valuedouble > 0 && code->valuedouble < GGUFREF_STATUS_COUNT &&
                         strcmp(name->valuestring,
                                ggufref_status_name((ggufref_status)code->valueint)) == 0,
                     "error code %g named %s", code->valuedouble, name->valuestring);
            FZ_CHECK(msg->valuestring[0] != '\0' && strchr(msg->valuestring, '\n') == NULL,
                     "error message empty or not one line");
        }
        if (final && want_id != NULL) {
            /* Equal as JSON values (cJSON_Compare): -0 echoed as 0 or 1.0 as 1 is the same id
             * to a JSON client; the text need not match byte for byte. */
            cJSON *want = cJSON_Parse(want_id);
            char *got = cJSON_PrintUnformatted(id);
            FZ_CHECK(want != NULL && cJSON_Compare(want, id, true), "id %s echoed as %s",
                     want_id, got ? got : "?");
            cJSON_free(got);
            cJSON_Delete(want);
        }
        cJSON_Delete(ev);
        at += len + 1;
    }
    FZ_CHECK(finals == 1 && final_last, "%zu final events", finals);
}

/* Count the events of a whole stream: every line a JSON object with "event"; OUT: finals. */
static size_t count_finals(const char *events, size_t n) {
    size_t finals = 0;
    for (size_t at = 0; at < n;) {
        const char *nl = memchr(events + at, '\n', n - at);
        FZ_CHECK(nl != NULL, "an event without its newline");
        size_t len = (size_t)(nl - (events + at));
        cJSON *ev = cJSON_ParseWithLength(events + at, len);
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(ev, "event");
        FZ_CHECK(cJSON_IsObject(ev) && cJSON_IsString(kind), "a malformed event: %.*s", (int)len,
                 events + at);
        finals += strcmp(kind->valuestring, "token") != 0;
        cJSON_Delete(ev);
        at += len + 1;
    }
    return finals;
}

/* The stream pass: the input's lines (load-model lines left out: their paths are not
 * sandboxed here) through gr_server_run on a pipe; one final event per non-blank line. */
static void run_stream(const uint8_t *data, size_t size) {
    if (size > FZ_MAX_STREAM) return;
    int fds[2];
    FZ_CHECK(pipe(fds) == 0, "pipe");
    size_t expected = 0;
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (memmem(p, len, "load-model", 10) == NULL && memmem(p, len, "open-session", 12) == NULL) {
            FZ_CHECK(write(fds[1], p, len) == (ssize_t)len && write(fds[1], "\n", 1) == 1,
                     "write to the pipe");
            expected += !is_blank(p, len);
        }
        p += len + 1;
    }
    close(fds[1]);
    char *buf = NULL;
    size_t buf_len = 0;
    FILE *out = open_memstream(&buf, &buf_len);
    FZ_CHECK(out != NULL, "open_memstream");
    gr_server *server = gr_server_create(out, &fz_config, NULL);
    FZ_CHECK(server != NULL, "gr_server_create");
    int rc = gr_server_run(server, fds[0]);
    gr_server_destroy(server);
    fclose(out);
    close(fds[0]);
    FZ_CHECK(rc == 0, "gr_server_run returned %d", rc);
    size_t finals = count_finals(buf, buf_len);
    FZ_CHECK(finals == expected, "%zu final events for %zu command lines", finals, expected);
    free(buf);
}

static void reset_globals(void) {
    ggufref_fault_alloc_fail_at(0);
    ggufref_fault_io_fail_at(UINT64_MAX, GGUFREF_IO_FAULT_ERROR);
    ggufref_fault_panic_at(NULL);
    ggufref_fault_export_reset();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *buf = NULL;
    size_t buf_len = 0;
    FILE *out = open_memstream(&buf, &buf_len);
    FZ_CHECK(out != NULL, "open_memstream");
    const char *why = NULL;
    gr_server *server = gr_server_create(out, &fz_config, &why);
    FZ_CHECK(server != NULL, "gr_server_create: %s", why ? why : "?");
    const char *p = (const char *)data, *end = p + size;
    size_t seen = 0;
    for (unsigned n = 0; p < end && n < FZ_MAX_LINES; n++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char *sandboxed = sandbox_line(p, len);
        const char *line = sandboxed ? sandboxed : p;
        size_t line_len = sandboxed ? strlen(sandboxed) : len;
        char *want_id = expected_id(line, line_len);
        gr_server_handle_line(server, line, line_len);
        gr_sessions_wait_idle(server->sessions); /* session commands: answered by workers */
        fflush(out);
        check_events(buf + seen, buf_len - seen, is_blank(line, line_len), want_id);
        seen = buf_len;
        cJSON_free(want_id);
        cJSON_free(sandboxed);
        p += len + 1;
    }
    gr_server_destroy(server);
    fclose(out);
    free(buf);
    reset_globals();
    run_stream(data, size);
    reset_globals();
    return 0;
}
