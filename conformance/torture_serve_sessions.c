/*
 * torture_serve_sessions.c — capability `sessions` of the wire protocol server (SPEC R-PROTO-070..077,
 * R-POOL-040..043; reference/serve/sessions.c): sessions on worker threads over the pool of
 * chapter 12, their events interleaved by whole lines on one output.
 *
 * The server writes into a pipe that a collector thread drains into a list of lines, so a test
 * can wait (with a deadline) for an event while session workers keep writing. Also run under
 * ThreadSanitizer by the test command's TSan stage.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ggufref.h"
#include "serve.h"

#ifdef GGUFREF_HAVE_CJSON
#include <cjson/cJSON.h>

#include "serve_internal.h" /* gr_sessions_finish: wait for every session's queued work */

#define MAX_LINES 4096
#define WAIT_S 60

typedef struct fixture {
    gr_server *server;
    FILE *out;
    int rfd;
    pthread_t reader;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *lines[MAX_LINES];
    size_t n_lines;
    bool eof;
    char model[4096];
} fixture;

static void *collect(void *arg) {
    fixture *f = arg;
    FILE *in = fdopen(f->rfd, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, in)) > 0) {
        if (line[n - 1] == '\n') line[n - 1] = '\0';
        pthread_mutex_lock(&f->mu);
        if (f->n_lines < MAX_LINES) f->lines[f->n_lines++] = strdup(line);
        pthread_cond_broadcast(&f->cv);
        pthread_mutex_unlock(&f->mu);
    }
    free(line);
    fclose(in);
    pthread_mutex_lock(&f->mu);
    f->eof = true;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

/* A server with the given environment ceilings ("NAME=value" pairs, NULL-terminated). */
static fixture *start(const char *const *env) {
    static const char *const names[] = {"GGUFREF_POOL_SIZE", "GGUFREF_MAX_MEMORY",
                                        "GGUFREF_MAX_EXEC_MS", "GGUFREF_MAX_STEPS",
                                        "GGUFREF_MAX_CONTEXT"};
    for (size_t i = 0; i < 5; i++) unsetenv(names[i]);
    for (size_t i = 0; env != NULL && env[i] != NULL; i++) {
        char name[64];
        const char *eq = strchr(env[i], '=');
        assert_non_null(eq);
        snprintf(name, sizeof name, "%.*s", (int)(eq - env[i]), env[i]);
        setenv(name, eq + 1, 1);
    }
    ggufref_fault_export_reset();
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    f->rfd = fds[0];
    f->out = fdopen(fds[1], "w");
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    assert_int_equal(pthread_create(&f->reader, NULL, collect, f), 0);
    gr_server_config cfg = {.fault_injection = true};
    const char *why = NULL;
    f->server = gr_server_create(f->out, &cfg, &why);
    assert_non_null(f->server);
    const char *src = getenv("GGUFREF_SOURCE_DIR");
    snprintf(f->model, sizeof f->model, "%s/golden/models/tiny-f32-gqa-tied.gguf",
             src ? src : ".");
    for (size_t i = 0; i < 5; i++) unsetenv(names[i]);
    return f;
}

static void stop(fixture *f) {
    gr_server_destroy(f->server);
    fclose(f->out);
    pthread_join(f->reader, NULL);
    for (size_t i = 0; i < f->n_lines; i++) free(f->lines[i]);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
    ggufref_fault_export_reset();
}

static void sendf(fixture *f, const char *fmt, ...) {
    char line[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    gr_server_handle_line(f->server, line, strlen(line));
}

/* Every line must be one JSON object (never two events interleaved inside a line). */
static cJSON *parse(const char *line) {
    cJSON *ev = cJSON_Parse(line);
    if (ev == NULL || !cJSON_IsObject(ev)) fail_msg("not one JSON object: %s", line);
    return ev;
}

static bool is_final(const cJSON *ev) {
    const cJSON *k = cJSON_GetObjectItem(ev, "event");
    return strcmp(k->valuestring, "token") != 0;
}

/* The final event of request `id` (waits up to WAIT_S seconds); caller deletes. */
static cJSON *final_of(fixture *f, int id) {
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += WAIT_S;
    size_t i = 0;
    pthread_mutex_lock(&f->mu);
    for (;;) {
        for (; i < f->n_lines; i++) {
            cJSON *ev = parse(f->lines[i]);
            const cJSON *rid = cJSON_GetObjectItem(ev, "id");
            if (cJSON_IsNumber(rid) && rid->valueint == id && is_final(ev)) {
                pthread_mutex_unlock(&f->mu);
                return ev;
            }
            cJSON_Delete(ev);
        }
        if (f->eof || pthread_cond_timedwait(&f->cv, &f->mu, &dl) != 0) break;
    }
    pthread_mutex_unlock(&f->mu);
    fail_msg("no final event for request %d within %d s", id, WAIT_S);
    return NULL;
}

/* Waits until request `id` has written at least one token event. */
static void wait_token(fixture *f, int id) {
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += WAIT_S;
    size_t i = 0;
    pthread_mutex_lock(&f->mu);
    for (;;) {
        for (; i < f->n_lines; i++) {
            cJSON *ev = parse(f->lines[i]);
            const cJSON *rid = cJSON_GetObjectItem(ev, "id");
            bool hit = cJSON_IsNumber(rid) && rid->valueint == id && !is_final(ev);
            cJSON_Delete(ev);
            if (hit) {
                pthread_mutex_unlock(&f->mu);
                return;
            }
        }
        if (f->eof || pthread_cond_timedwait(&f->cv, &f->mu, &dl) != 0) break;
    }
    pthread_mutex_unlock(&f->mu);
    fail_msg("no token event for request %d", id);
}

static int code_of(const cJSON *ev) {
    const cJSON *e = cJSON_GetObjectItem(ev, "error");
    return e == NULL ? 0 : cJSON_GetObjectItem(e, "code")->valueint;
}

static int64_t session_of_open(fixture *f, int id) {
    cJSON *ev = final_of(f, id);
    const cJSON *s = cJSON_GetObjectItem(ev, "session");
    if (code_of(ev) != 0 || !cJSON_IsNumber(s)) fail_msg("open-session %d failed", id);
    int64_t v = (int64_t)s->valuedouble;
    cJSON_Delete(ev);
    return v;
}

/* "tokens" of a request's token events joined with their digests, in order; also checks that
 * every event of the request carries `session` = want (0: none) and that token indices rise. */
static char *stream_of(fixture *f, int id, int64_t want) {
    cJSON *fin = final_of(f, id); /* waits for the whole request */
    cJSON_Delete(fin);
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(1, cap);
    int next = 0;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->n_lines; i++) {
        cJSON *ev = parse(f->lines[i]);
        const cJSON *rid = cJSON_GetObjectItem(ev, "id");
        if (cJSON_IsNumber(rid) && rid->valueint == id) {
            const cJSON *s = cJSON_GetObjectItem(ev, "session");
            if (want == 0) assert_null(s);
            else assert_true(cJSON_IsNumber(s) && (int64_t)s->valuedouble == want);
            if (!is_final(ev)) {
                assert_int_equal(cJSON_GetObjectItem(ev, "index")->valueint, next++);
                const cJSON *d = cJSON_GetObjectItem(ev, "digest");
                len += (size_t)snprintf(out + len, cap - len, "%d:%s ",
                                        cJSON_GetObjectItem(ev, "token")->valueint,
                                        cJSON_IsString(d) ? d->valuestring : "-");
            }
        }
        cJSON_Delete(ev);
    }
    pthread_mutex_unlock(&f->mu);
    assert_true(next > 0);
    return out;
}

/* R-PROTO-070: boot advertises `sessions` and the server ceilings from the environment. */
static void test_sessions_boot_limits(void **state) {
    (void)state;
    const char *const env[] = {"GGUFREF_POOL_SIZE=3", "GGUFREF_MAX_STEPS=77", NULL};
    fixture *f = start(env);
    sendf(f, "{\"id\":1,\"cmd\":\"boot\"}");
    cJSON *ev = final_of(f, 1);
    const cJSON *caps = cJSON_GetObjectItem(ev, "capabilities");
    bool has = false;
    const cJSON *c;
    cJSON_ArrayForEach(c, caps) has = has || strcmp(c->valuestring, "sessions") == 0;
    assert_true(has);
    const cJSON *lim = cJSON_GetObjectItem(ev, "limits");
    assert_int_equal(cJSON_GetObjectItem(lim, "max_sessions")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItem(lim, "max_steps")->valueint, 77);
    assert_int_equal(cJSON_GetObjectItem(lim, "max_memory")->valueint, 0);
    assert_int_equal(cJSON_GetObjectItem(lim, "max_exec_ms")->valueint, 0);
    assert_int_equal(cJSON_GetObjectItem(lim, "max_context")->valueint, 0);
    cJSON_Delete(ev);
    stop(f);
}

/* R-POOL-040: a malformed ceiling stops the start with one line naming the variable. */
static void test_sessions_env_malformed(void **state) {
    (void)state;
    static const char *const bad[][2] = {
        {"GGUFREF_POOL_SIZE", "0"},        {"GGUFREF_POOL_SIZE", "abc"},
        {"GGUFREF_MAX_MEMORY", "-1"},      {"GGUFREF_MAX_STEPS", "99999999999999999999999"},
        {"GGUFREF_MAX_EXEC_MS", "1.5"},    {"GGUFREF_MAX_CONTEXT", "4294967296"},
        {"GGUFREF_MAX_CONTEXT", ""},       {"GGUFREF_POOL_SIZE", "65537"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv(bad[i][0], bad[i][1], 1);
        gr_server_config cfg = {0};
        const char *why = NULL;
        gr_server *s = gr_server_create(stdout, &cfg, &why);
        unsetenv(bad[i][0]);
        assert_null(s);
        assert_non_null(why);
        assert_non_null(strstr(why, bad[i][0]));
        assert_null(strchr(why, '\n'));
    }
}

/* R-PROTO-073, R-POOL-042, R-PROTO-071: two sessions and the session-less runtime generating
 * at the same time give, token for token and logit digest for logit digest, what one session
 * alone gives; every event of a session carries its id, indices rise within each request. */
static void test_sessions_concurrent_isolation(void **state) {
    (void)state;
    const char *const env[] = {"GGUFREF_POOL_SIZE=2", NULL};
    fixture *f = start(env);
    const char *conf = "\"max_tokens\":24,\"stop_at_eos\":false,\"temperature\":0.8,"
                       "\"seed\":7";
    /* alone first */
    sendf(f, "{\"id\":1,\"cmd\":\"open-session\",\"path\":\"%s\"}", f->model);
    int64_t a = session_of_open(f, 1);
    sendf(f, "{\"id\":2,\"cmd\":\"configure-sampling\",\"session\":%lld,%s}", (long long)a, conf);
    sendf(f, "{\"id\":3,\"cmd\":\"generate\",\"session\":%lld,\"prompt\":\"Once\",\"logits\":2}",
          (long long)a);
    char *alone = stream_of(f, 3, a);
    /* then two sessions and the export layer together */
    sendf(f, "{\"id\":4,\"cmd\":\"open-session\",\"path\":\"%s\"}", f->model);
    int64_t b = session_of_open(f, 4);
    assert_true(b != a);
    sendf(f, "{\"id\":5,\"cmd\":\"load-model\",\"path\":\"%s\"}", f->model);
    sendf(f, "{\"id\":6,\"cmd\":\"configure-sampling\",%s}", conf);
    sendf(f, "{\"id\":7,\"cmd\":\"configure-sampling\",\"session\":%lld,%s}", (long long)b, conf);
    sendf(f, "{\"id\":8,\"cmd\":\"configure-sampling\",\"session\":%lld,%s}", (long long)a, conf);
    sendf(f, "{\"id\":9,\"cmd\":\"generate\",\"session\":%lld,\"prompt\":\"Once\",\"logits\":2}",
          (long long)a);
    sendf(f, "{\"id\":10,\"cmd\":\"generate\",\"session\":%lld,\"prompt\":\"Once\",\"logits\":2}",
          (long long)b);
    sendf(f, "{\"id\":11,\"cmd\":\"generate\",\"prompt\":\"Once\",\"logits\":2}");
    char *s9 = stream_of(f, 9, a), *s10 = stream_of(f, 10, b), *s11 = stream_of(f, 11, 0);
    assert_string_equal(s9, alone);
    assert_string_equal(s10, alone);
    assert_string_equal(s11, alone);
    /* reused: close b, open again (the pool's idle session), same tokens */
    sendf(f, "{\"id\":12,\"cmd\":\"close-session\",\"session\":%lld}", (long long)b);
    cJSON *ev = final_of(f, 12);
    assert_int_equal(code_of(ev), 0);
    assert_null(cJSON_GetObjectItem(ev, "state"));
    cJSON_Delete(ev);
    sendf(f, "{\"id\":13,\"cmd\":\"open-session\",\"path\":\"%s\"}", f->model);
    int64_t c = session_of_open(f, 13);
    sendf(f, "{\"id\":14,\"cmd\":\"diagnostics\",\"session\":%lld}", (long long)c);
    ev = final_of(f, 14); /* scrubbed: no request, default sampling (R-POOL-011) */
    assert_int_equal(cJSON_GetObjectItem(ev, "n_tokens")->valueint, 0);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "sampling"),
                                         "max_tokens")->valueint, 128);
    cJSON_Delete(ev);
    sendf(f, "{\"id\":15,\"cmd\":\"configure-sampling\",\"session\":%lld,%s}", (long long)c, conf);
    sendf(f, "{\"id\":16,\"cmd\":\"generate\",\"session\":%lld,\"prompt\":\"Once\",\"logits\":2}",
          (long long)c);
    char *s16 = stream_of(f, 16, c);
    assert_string_equal(s16, alone);
    /* the closed id names nothing any more */
    sendf(f, "{\"id\":17,\"cmd\":\"reset-context\",\"session\":%lld}", (long long)b);
    ev = final_of(f, 17);
    assert_int_equal(code_of(ev), GGUFREF_ERR_INVALID_ARGUMENT);
    cJSON_Delete(ev);
    free(alone), free(s9), free(s10), free(s11), free(s16);
    stop(f);
}

/* R-PROTO-072, R-POOL-043: with one session, opens wait first come first served; a wait that
 * runs out is DEADLINE_EXCEEDED; closing admits the next waiter. */
static void test_sessions_saturation_fifo_deadline(void **state) {
    (void)state;
    const char *const env[] = {"GGUFREF_POOL_SIZE=1", NULL};
    fixture *f = start(env);
    sendf(f, "{\"id\":1,\"cmd\":\"open-session\",\"path\":\"%s\"}", f->model);
    int64_t a = session_of_open(f, 1);
    sendf(f, "{\"id\":2,\"cmd\":\"open-session\",\"path\":\"%s\",\"wait_ms\":60000}", f->model);
    sendf(f, "{\"id\":3,\"cmd\":\"open-session\",\"path\":\"%s\",\"wait_ms\":60000}", f->model);
    sendf(f, "{\"id\":4,\"cmd\":\"open-session\",\"path\":\"%s\",\"wait_ms\":50}", f->model);
    cJSON *ev = final_of(f, 4);
    assert_int_equal(code_of(ev), GGUFREF_ERR_DEADLINE_EXCEEDED);
    assert_null(cJSON_GetObjectItem(ev, "session"));
    cJSON_Delete(ev);
    sendf(f, "{\"id\":5,\"cmd\":\"boot\"}"); /* served while opens wait */
    cJSON_Delete(final_of(f, 5));
    sendf(f, "{\"id\":6,\"cmd\":\"close-session\",\"session\":%lld}", (long long)a);
    int64_t b = session_of_open(f, 2);
    /* 3 still waits: only 2 got the permit */
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->n_lines; i++) {
        cJSON *e = parse(f->lines[i]);
        assert_false(cJSON_GetObjectItem(e, "id")->valueint == 3);
        cJSON_Delete(e);
    }
    pthread_mutex_unlock(&f->mu);
    sendf(f, "{\"id\":7,\"cmd\":\"close-session\",\"session\":%lld}", (long long)b);
    int64_t c = session_of_open(f, 3);
    assert_true(a < b && b < c);
    stop(f);
}

/* R-PROTO-075: the step ceiling stops a generate with LIMIT_EXCEEDED, its tokens kept; the
 * session goes on. R-PROTO-072: the memory ceiling refuses a second session, and a close
 * makes room again. */
static void test_sessions_limits(void **state) {
    (void)state;
    const char *const env[] = {"GGUFREF_MAX_STEPS=8", NULL};
    fixture *f = start(env);
    sendf(f, "{\"id\":1,\"cmd\":\"open-session\",\"path\":\"%s\"}", f->model);
    int64_t a = session_of_open(f, 1);
    sendf(f, "{\"id\":2,\"cmd\":\"configure-sampling\",\"session\":%lld,\"max_tokens\":20,"
             "\"stop_at_eos\":false}", (long long)a);
    sendf(f, "{\"id\":3,\"cmd\":\"generate\",\"session\":%lld,\"prompt\":\"Hi\"}", (long long)a);
    cJSON *ev = final_of(f, 3); /* "Hi": 4 prompt tokens, so 4 generated */
    assert_int_equal(code_of(ev), GGUFREF_ERR_LIMIT_EXCEEDED);
    assert_string_equal(cJSON_GetObjectItem(ev, "state")->valuestring, "CONTINUATION_READY");
    assert_non_null(strstr(cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "error"),
                                               "message")->valuestring, "max_steps"));
    cJSON_Delete(ev);
    sendf(f, "{\"id\":4,\"cmd\":\"configure-sampling\",\"session\":%lld,\"max_tokens\":2}",
          (long long)a);
    sendf(f, "{\"id\":5,\"cmd\":\"generate\",\"session\":%lld,\"prompt\":\"Hi\"}", (long long)a);
    ev = final_of(f, 5);
    assert_int_equal(code_of(ev), 0);
    cJSON_Delete(ev);
    stop(f);

    /* memory: the model and exactly one session */
    ggufref_shared_model *m = NULL;
    ggufref_error err;
    char path[4096];
    const char *src = getenv("GGUFREF_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/golden/models/tiny-f32-gqa-tied.gguf", src ? src : ".");
    assert_int_equal(ggufref_shared_model_open_file(path, &m, &err), GGUFREF_OK);
    uint64_t per = 0;
    assert_int_equal(ggufref_runtime_session_bytes(m, 0, &per), GGUFREF_OK);
    char mem[64];
    snprintf(mem, sizeof mem, "GGUFREF_MAX_MEMORY=%llu",
             (unsigned long long)(ggufref_shared_model_size(m) + per + per / 2));
    ggufref_shared_model_release(m);
    const char *const env2[] = {mem, NULL};
    f = start(env2);
    sendf(f, "{\"id\":1,\"cmd\":\"open-session\",\"path\":\"%s\"}", f->model);
    a = session_of_open(f, 1);
    sendf(f, "{\"id\":2,\"cmd\":\"open-session\",\"path\":\"%s\",\"wait_ms\":0}", f->model);
    ev = final_of(f, 2);
    assert_int_equal(code_of(ev), GGUFREF_ERR_LIMIT_EXCEEDED);
    cJSON_Delete(ev);
    sendf(f, "{\"id\":3,\"cmd\":\"close-session\",\"session\":%lld}", (long long)a);
    cJSON_Delete(final_of(f, 3));
    sendf(f, "{\"id\":4,\"cmd\":\"open-session\",\"path\":\"%s\",\"wait_ms\":0}", f->model);
    (void)session_of_open(f, 4); /* the idle session is reused: no new bytes */
    stop(f);
}

/* R-PROTO-076: a trap in one session ends that request (13) and the session; the other session
 * finishes its request with the tokens it would have made alone. R-PROTO-074: cancel reaches a
 * session's streaming request. */
static void test_sessions_trap_and_cancel(void **state) {
    (void)state;
    const char *const env[] = {"GGUFREF_POOL_SIZE=2", NULL};
    fixture *f = start(env);
    sendf(f, "{\"id\":1,\"cmd\":\"open-session\",\"path\":\"%s\"}", f->model);
    sendf(f, "{\"id\":2,\"cmd\":\"open-session\",\"path\":\"%s\"}", f->model);
    int64_t a = session_of_open(f, 1), b = session_of_open(f, 2);
    sendf(f, "{\"id\":3,\"cmd\":\"configure-sampling\",\"session\":%lld,\"max_tokens\":6,"
             "\"stop_at_eos\":false}", (long long)b);
    sendf(f, "{\"id\":4,\"cmd\":\"generate\",\"session\":%lld,\"prompt\":\"Hi\",\"logits\":1}",
          (long long)b);
    char *before = stream_of(f, 4, b);
    sendf(f, "{\"id\":5,\"cmd\":\"configure-sampling\",\"session\":%lld,\"max_tokens\":6,"
             "\"stop_at_eos\":false}", (long long)a);
    cJSON_Delete(final_of(f, 5));
    sendf(f, "{\"id\":6,\"cmd\":\"fault-panic\",\"point\":\"generate.after_token\"}");
    cJSON_Delete(final_of(f, 6));
    sendf(f, "{\"id\":7,\"cmd\":\"generate\",\"session\":%lld,\"prompt\":\"Hi\"}", (long long)a);
    cJSON *ev = final_of(f, 7);
    assert_int_equal(code_of(ev), GGUFREF_ERR_GENERATION_FAILED);
    assert_string_equal(cJSON_GetObjectItem(ev, "state")->valuestring, "POISONED");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(ev, "closed")));
    cJSON_Delete(ev);
    sendf(f, "{\"id\":8,\"cmd\":\"diagnostics\",\"session\":%lld}", (long long)a);
    ev = final_of(f, 8);
    assert_int_equal(code_of(ev), GGUFREF_ERR_INVALID_ARGUMENT);
    cJSON_Delete(ev);
    sendf(f, "{\"id\":9,\"cmd\":\"generate\",\"session\":%lld,\"prompt\":\"Hi\",\"logits\":1}",
          (long long)b);
    char *after = stream_of(f, 9, b);
    assert_string_equal(before, after);
    /* the dropped session's permit came back: a fresh one opens */
    sendf(f, "{\"id\":10,\"cmd\":\"open-session\",\"path\":\"%s\",\"wait_ms\":0}", f->model);
    int64_t c = session_of_open(f, 10);
    /* cancel: a long request on c, cancelled after its first token */
    sendf(f, "{\"id\":11,\"cmd\":\"configure-sampling\",\"session\":%lld,\"max_tokens\":90,"
             "\"stop_at_eos\":false}", (long long)c);
    sendf(f, "{\"id\":12,\"cmd\":\"generate\",\"session\":%lld,\"prompt\":\"Hi\"}", (long long)c);
    wait_token(f, 12);
    sendf(f, "{\"id\":13,\"cmd\":\"cancel\",\"target\":12}");
    ev = final_of(f, 13);
    const cJSON *hit = cJSON_GetObjectItem(ev, "cancelled");
    bool cancelled = cJSON_IsTrue(hit);
    cJSON_Delete(ev);
    ev = final_of(f, 12);
    /* either the cancel hit (CANCELLED) or the 90 tokens were all done before it was read */
    if (cancelled) {
        assert_int_equal(code_of(ev), GGUFREF_ERR_CANCELLED);
        assert_string_equal(cJSON_GetObjectItem(ev, "state")->valuestring, "CONTINUATION_READY");
    } else {
        assert_int_equal(code_of(ev), 0);
    }
    cJSON_Delete(ev);
    free(before);
    free(after);
    stop(f);
}

/* R-PROTO-077, R-POOL-041: at the end of input every queued session command is answered (one
 * worker per session), the sessions go
 * back to their pools (gr_server_run returns 0). */
static void test_sessions_end_of_input_finishes(void **state) {
    (void)state;
    fixture *f = start(NULL);
    char buf[16384];
    int n = snprintf(buf, sizeof buf,
                     "{\"id\":1,\"cmd\":\"open-session\",\"path\":\"%s\"}\n"
                     "{\"id\":2,\"cmd\":\"open-session\",\"path\":\"%s\"}\n"
                     "{\"id\":3,\"cmd\":\"configure-sampling\",\"session\":1,\"max_tokens\":5}\n"
                     "{\"id\":4,\"cmd\":\"generate\",\"session\":1,\"prompt\":\"a\"}\n"
                     "{\"id\":5,\"cmd\":\"configure-sampling\",\"session\":2,\"max_tokens\":5}\n"
                     "{\"id\":6,\"cmd\":\"generate\",\"session\":2,\"prompt\":\"b\"}\n"
                     "{\"id\":7,\"cmd\":\"evaluate\",\"session\":2,\"tokens\":[1,2,3]}\n",
                     f->model, f->model);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], buf, (size_t)n), n);
    close(fds[1]);
    assert_int_equal(gr_server_run(f->server, fds[0]), 0);
    close(fds[0]);
    for (int id = 1; id <= 7; id++) {
        cJSON *ev = final_of(f, id);
        assert_int_equal(code_of(ev), 0);
        cJSON_Delete(ev);
    }
    stop(f);
}

/* R-PROTO-016, R-PROTO-073 for sessions: every allocation of the server (cJSON's and the
 * session workers' included) and of the library failed in turn, on a script of session
 * commands: each line gets exactly one final event, every line written is one JSON object, a
 * session command's final event names its session (but the OUT_OF_MEMORY of a line that could
 * not be parsed), and destroying the server frees every block. */
static void test_sessions_under_oom(void **state) {
    (void)state;
    const char *src = getenv("GGUFREF_SOURCE_DIR");
    char model[4096], lines[8][4200];
    snprintf(model, sizeof model, "%s/golden/models/tiny-f32-gqa-tied.gguf", src ? src : ".");
    snprintf(lines[0], sizeof lines[0], "{\"id\":1,\"cmd\":\"open-session\",\"path\":\"%s\","
             "\"wait_ms\":0}", model);
    snprintf(lines[1], sizeof lines[1], "{\"id\":2,\"cmd\":\"configure-sampling\",\"session\":1,"
             "\"max_tokens\":3,\"temperature\":0.5}");
    snprintf(lines[2], sizeof lines[2], "{\"id\":3,\"cmd\":\"generate\",\"session\":1,"
             "\"prompt\":\"Hi\",\"logits\":2}");
    snprintf(lines[3], sizeof lines[3], "{\"id\":4,\"cmd\":\"evaluate\",\"session\":1,"
             "\"tokens\":[1,2,3],\"logits\":1}");
    snprintf(lines[4], sizeof lines[4], "{\"id\":5,\"cmd\":\"diagnostics\",\"session\":1}");
    snprintf(lines[5], sizeof lines[5], "{\"id\":6,\"cmd\":\"generate-next-token\",\"session\":1}");
    snprintf(lines[6], sizeof lines[6], "{\"id\":7,\"cmd\":\"close-session\",\"session\":1}");
    snprintf(lines[7], sizeof lines[7], "{\"id\":8,\"cmd\":\"diagnostics\",\"session\":1}");
    unsigned answered = 0, stopped = 0;
    uint64_t k = 1;
    for (;; k++) {
        ggufref_fault_export_reset();
        int64_t live0 = ggufref_fault_alloc_live();
        char *buf = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&buf, &len);
        gr_server_config cfg = {.fault_injection = true, .count_allocs = true};
        ggufref_fault_alloc_fail_at(k);
        const char *why = NULL;
        gr_server *s = gr_server_create(out, &cfg, &why);
        bool fired = false;
        if (s == NULL) {
            stopped++;
        } else {
            for (int i = 0; i < 8; i++) {
                gr_server_handle_line(s, lines[i], strlen(lines[i]));
                gr_sessions_wait_idle(s->sessions);
            }
            gr_server_destroy(s);
        }
        fired = ggufref_fault_alloc_fired();
        ggufref_fault_alloc_fail_at(0);
        fclose(out);
        if (s != NULL) {
            int finals[9] = {0};
            for (char *line = buf, *nl; line < buf + len; line = nl + 1) {
                nl = strchr(line, '\n');
                assert_non_null(nl);
                *nl = '\0';
                cJSON *ev = parse(line);
                const cJSON *id = cJSON_GetObjectItem(ev, "id");
                assert_true(cJSON_IsNumber(id) && id->valueint >= 1 && id->valueint <= 8);
                if (is_final(ev)) {
                    finals[id->valueint]++;
                    const cJSON *sess = cJSON_GetObjectItem(ev, "session");
                    bool unparsed = code_of(ev) == GGUFREF_ERR_OUT_OF_MEMORY &&
                                    strstr(line, "\"state\"") != NULL && sess == NULL;
                    if (id->valueint >= 2 && !cJSON_IsNumber(sess) && !unparsed) {
                        fail_msg("k=%llu: no session in %s", (unsigned long long)k, line);
                    }
                    if (code_of(ev) == GGUFREF_ERR_OUT_OF_MEMORY) answered++;
                }
                cJSON_Delete(ev);
            }
            for (int id = 1; id <= 8; id++) {
                if (finals[id] != 1) fail_msg("k=%llu: request %d has %d final events",
                                              (unsigned long long)k, id, finals[id]);
            }
        }
        free(buf);
        assert_int_equal(ggufref_fault_alloc_live(), live0); /* nothing leaks */
        if (!fired) break;
    }
    fprintf(stderr, "sessions OOM loop: k = 1..%llu, %u OUT_OF_MEMORY answers, %u refused starts\n",
            (unsigned long long)(k - 1), answered, stopped);
    assert_true(k > 100 && answered > 0);
}

/* R-PROTO-015, R-PROTO-073: a session worker that cannot write its events (here: a full
 * device) stops the server: gr_server_run returns 1 with a reason, never 0. */
static void test_sessions_write_failure_is_not_success(void **state) {
    (void)state;
    ggufref_fault_export_reset();
    FILE *full = fopen("/dev/full", "w");
    if (full == NULL) skip();
    gr_server_config cfg = {0};
    const char *why = NULL;
    gr_server *s = gr_server_create(full, &cfg, &why);
    assert_non_null(s);
    const char *src = getenv("GGUFREF_SOURCE_DIR");
    char buf[8192];
    int n = snprintf(buf, sizeof buf,
                     "{\"id\":1,\"cmd\":\"open-session\",\"path\":\"%s/golden/models/"
                     "tiny-f32-gqa-tied.gguf\"}\n"
                     "{\"id\":2,\"cmd\":\"configure-sampling\",\"session\":1,\"max_tokens\":4}\n"
                     "{\"id\":3,\"cmd\":\"generate\",\"session\":1,\"prompt\":\"a\"}\n",
                     src ? src : ".");
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], buf, (size_t)n), n);
    close(fds[1]);
    assert_int_equal(gr_server_run(s, fds[0]), 1);
    close(fds[0]);
    int err = 0;
    assert_non_null(gr_server_failure(s, &err));
    assert_int_equal(err, ENOSPC);
    gr_server_destroy(s);
    fclose(full);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sessions_boot_limits),
        cmocka_unit_test(test_sessions_write_failure_is_not_success),
        cmocka_unit_test(test_sessions_under_oom),
        cmocka_unit_test(test_sessions_env_malformed),
        cmocka_unit_test(test_sessions_concurrent_isolation),
        cmocka_unit_test(test_sessions_saturation_fifo_deadline),
        cmocka_unit_test(test_sessions_limits),
        cmocka_unit_test(test_sessions_trap_and_cancel),
        cmocka_unit_test(test_sessions_end_of_input_finishes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#else

static void test_sessions_unavailable_without_cjson(void **state) {
    (void)state;
    gr_server_config cfg = {0};
    const char *why = NULL;
    assert_null(gr_server_create(stdout, &cfg, &why));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sessions_unavailable_without_cjson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
