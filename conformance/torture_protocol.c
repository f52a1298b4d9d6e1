/*
 * torture_protocol.c — the wire protocol server (reference/serve/, SPEC chapter 9)
 * driven as a library: gr_server_handle_line (the fuzz target's entry point) and gr_server_run
 * over a pipe (the read-ahead path that honours cancel between tokens).
 *
 * The Python acceptance suite (harness/) checks the same rules over a process; this suite
 * checks them in-process, under the sanitizers, with the fault-injection library. Each test
 * starts from a fresh export layer (ggufref_fault_export_reset).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <setjmp.h>
#include <spawn.h>
#include <sys/wait.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

extern char **environ;

#include "ggufref.h"
#include "serve.h"

#ifdef GGUFREF_HAVE_CJSON
#include <cjson/cJSON.h>

#include "eval_digest.h"
#include "serve_internal.h" /* the queue and the allocator mode (issue 16 tests) */

/* ---- a server writing into memory --------------------------------------------------------- */

typedef struct fixture {
    gr_server *server;
    FILE *out;
    char *buf;
    size_t len;
    size_t read_pos;  /* events already returned by next_event */
} fixture;

static int setup_with(void **state, const char *break_name) {
    ggufref_fault_export_reset();
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->out = open_memstream(&f->buf, &f->len);
    assert_non_null(f->out);
    gr_server_config cfg = {.fault_injection = true, .break_name = break_name};
    const char *why = NULL;
    f->server = gr_server_create(f->out, &cfg, &why);
    assert_non_null(f->server);
    *state = f;
    return 0;
}

static int setup(void **state) { return setup_with(state, NULL); }
static int setup_position_shift(void **state) { return setup_with(state, "position-shift"); }

static int teardown(void **state) {
    fixture *f = *state;
    gr_server_destroy(f->server);
    fclose(f->out);
    free(f->buf);
    free(f);
    ggufref_fault_export_reset();
    return 0;
}

static void send_line(fixture *f, const char *line) {
    gr_server_handle_line(f->server, line, strlen(line));
}

/* The next event the server wrote, parsed (caller deletes); fails the test if there is none. */
static cJSON *next_event(fixture *f) {
    fflush(f->out);
    assert_true(f->read_pos < f->len);
    const char *start = f->buf + f->read_pos;
    const char *nl = memchr(start, '\n', f->len - f->read_pos);
    assert_non_null(nl);
    cJSON *ev = cJSON_ParseWithLength(start, (size_t)(nl - start));
    assert_non_null(ev);
    f->read_pos = (size_t)(nl - f->buf) + 1;
    return ev;
}

static bool no_more_events(fixture *f) {
    fflush(f->out);
    return f->read_pos == f->len;
}

static const char *str_of(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double num_of(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

/* Asserts the next event is an error with `code` and `id` (NULL: id null). */
static void expect_error(fixture *f, int code, const char *id_text) {
    cJSON *ev = next_event(f);
    assert_string_equal(str_of(ev, "event"), "error");
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(ev, "error");
    assert_int_equal((int)num_of(err, "code"), code);
    assert_string_equal(str_of(err, "name"), ggufref_status_name((ggufref_status)code));
    assert_true(strlen(str_of(err, "message")) > 0);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(ev, "id");
    if (id_text == NULL) {
        assert_true(cJSON_IsNull(id));
    } else {
        char *printed = cJSON_PrintUnformatted(id);
        assert_string_equal(printed, id_text);
        cJSON_free(printed);
    }
    cJSON_Delete(ev);
}

static cJSON *expect_result(fixture *f, const char *state) {
    cJSON *ev = next_event(f);
    assert_string_equal(str_of(ev, "event"), "result");
    if (state != NULL) assert_string_equal(str_of(ev, "state"), state);
    return ev;
}

/* Feed `script` (JSON Lines) to the server through a pipe and its own reader loop
 * (gr_server_run: read-ahead, cancel between tokens); the server must end with status 0. */
static void run_script(fixture *f, const char *script) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], script, strlen(script)), (ssize_t)strlen(script));
    close(fds[1]);
    assert_int_equal(gr_server_run(f->server, fds[0]), 0);
    close(fds[0]);
}

static char *fixture_model(const char *name) {
    const char *src = getenv("GGUFREF_SOURCE_DIR");
    char *path = malloc(4096);
    assert_non_null(path);
    snprintf(path, 4096, "%s/golden/models/%s.gguf", src ? src : ".", name);
    return path;
}

static void load_primary(fixture *f) {
    char *path = fixture_model("tiny-f32-mha-untied");
    char line[4300];
    snprintf(line, sizeof line, "{\"id\":\"load\",\"cmd\":\"load-model\",\"path\":\"%s\"}", path);
    free(path);
    send_line(f, line);
    cJSON_Delete(expect_result(f, "READY"));
}

/* ---- tests ------------------------------------------------------------------------------------ */

/* R-PROTO-020, R-PROTO-012 */
static void test_protocol_boot_answers_capabilities(void **state) {
    fixture *f = *state;
    send_line(f, "{\"id\":1,\"cmd\":\"boot\"}");
    cJSON *ev = expect_result(f, "INITIALIZED");
    assert_string_equal(str_of(ev, "name"), "ggufref");
    assert_int_equal((int)num_of(ev, "protocol"), 1);
    const cJSON *caps = cJSON_GetObjectItemCaseSensitive(ev, "capabilities");
    bool fi = false;
    const cJSON *c;
    cJSON_ArrayForEach(c, caps) fi |= strcmp(c->valuestring, "fault-injection") == 0;
    assert_true(fi);
    cJSON_Delete(ev);
    assert_true(no_more_events(f));
}

/* R-PROTO-005, R-PROTO-006, R-PROTO-007, R-PROTO-008, R-PROTO-010 */
static void test_protocol_malformed_lines_get_structured_errors(void **state) {
    fixture *f = *state;
    static const char *const null_id[] = {
        "{", "[1]", "42", "\"boot\"", "{\"id\":1,\"cmd\":\"boot\"} x", "\xff\xfe",
        "{\"cmd\":\"boot\"}", "{\"id\":1.5,\"cmd\":\"boot\"}", "{\"id\":[],\"cmd\":\"boot\"}",
    };
    for (size_t i = 0; i < sizeof null_id / sizeof null_id[0]; i++) {
        send_line(f, null_id[i]);
        expect_error(f, GGUFREF_ERR_INVALID_ARGUMENT, NULL);
    }
    send_line(f, "{\"id\":\"u\",\"cmd\":\"warp-drive\"}");
    expect_error(f, GGUFREF_ERR_INVALID_ARGUMENT, "\"u\"");
    send_line(f, "{\"id\":\"m\",\"cmd\":\"load-model\"}");
    expect_error(f, GGUFREF_ERR_INVALID_ARGUMENT, "\"m\"");
    send_line(f, "{\"id\":\"z\",\"cmd\":\"generate\",\"prompt\":\"a\\u0000b\"}");
    expect_error(f, GGUFREF_ERR_INVALID_ARGUMENT, "\"z\"");
    send_line(f, "{\"id\":\"k\",\"cmd\":\"configure-sampling\",\"top_k\":1.5}");
    expect_error(f, GGUFREF_ERR_INVALID_ARGUMENT, "\"k\"");
    /* none of these reached the runtime (R-PROTO-010) */
    ggufref_state st;
    assert_int_equal(ggufref_export_state(&st), GGUFREF_OK);
    assert_int_equal(st, GGUFREF_STATE_UNINITIALIZED);
    send_line(f, "   ");
    assert_true(no_more_events(f)); /* blank lines are ignored (R-PROTO-001) */
}

/* R-PROTO-009 */
static void test_protocol_oversized_line(void **state) {
    fixture *f = *state;
    size_t n = GR_PROTOCOL_MAX_LINE + 1;
    char *line = malloc(n);
    assert_non_null(line);
    memset(line, ' ', n);
    gr_server_handle_line(f->server, line, n);
    free(line);
    expect_error(f, GGUFREF_ERR_LIMIT_EXCEEDED, NULL);
}

/* R-PROTO-006: integers echoed exactly, also near 2^53 */
static void test_protocol_integer_ids_exact(void **state) {
    fixture *f = *state;
    send_line(f, "{\"id\":9007199254740991,\"cmd\":\"boot\"}");
    fflush(f->out);
    assert_non_null(strstr(f->buf, "\"id\":9007199254740991,"));
    cJSON_Delete(expect_result(f, NULL));
    send_line(f, "{\"id\":-12,\"cmd\":\"configure-sampling\",\"seed\":\"18446744073709551615\","
                 "\"top_p\":0.9}");
    fflush(f->out);
    assert_non_null(strstr(f->buf, "\"id\":-12,"));
    assert_non_null(strstr(f->buf, "\"seed\":\"18446744073709551615\""));
    assert_non_null(strstr(f->buf, "\"top_p\":0.9,"));
    cJSON_Delete(expect_result(f, NULL));
}

/* The text the server wrote for the id of its last event (the event must start with "id"). */
static void expect_id_text(fixture *f, const char *want) {
    fflush(f->out);
    const char *start = f->buf + f->read_pos;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "{\"id\":%s,", want);
    assert_true(strncmp(start, prefix, strlen(prefix)) == 0);
}

/* R-PROTO-006: an integer id is echoed as an equal number in plain digits, whatever its
 * spelling; a number that is not an integer is no id (null). R-PROTO-040, R-PROTO-008: a
 * cancel target follows the same rule and names the request of equal id, never a string. */
static void test_protocol_ids_echoed_as_values(void **state) {
    fixture *f = *state;
    static const struct {
        const char *sent, *echoed;
    } same[] = {{"-0", "0"}, {"-0.0", "0"}, {"1.0", "1"}, {"1e2", "100"}, {"-5E+0", "-5"},
                {"2.50e1", "25"}, {"9007199254740991.0", "9007199254740991"},
                {"-9.007199254740991e15", "-9007199254740991"}};
    char line[128];
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        snprintf(line, sizeof line, "{\"id\":%s,\"cmd\":\"boot\"}", same[i].sent);
        send_line(f, line);
        expect_id_text(f, same[i].echoed);
        cJSON_Delete(expect_result(f, "INITIALIZED"));
    }
    static const char *const not_ids[] = {"2.5e0", "1e-1", "-0.5", "9007199254740992", "1e300"};
    for (size_t i = 0; i < sizeof not_ids / sizeof not_ids[0]; i++) {
        snprintf(line, sizeof line, "{\"id\":%s,\"cmd\":\"boot\"}", not_ids[i]);
        send_line(f, line);
        expect_error(f, GGUFREF_ERR_INVALID_ARGUMENT, NULL);
    }
    send_line(f, "{\"id\":\"t\",\"cmd\":\"cancel\",\"target\":1.5}");
    expect_error(f, GGUFREF_ERR_INVALID_ARGUMENT, "\"t\"");
    send_line(f, "{\"id\":\"t\",\"cmd\":\"cancel\",\"target\":true}");
    expect_error(f, GGUFREF_ERR_INVALID_ARGUMENT, "\"t\"");

    /* through the reader: generate 7.0 streams as id 7; target "7" misses, 7e0 hits */
    char *path = fixture_model("tiny-f32-mha-untied");
    char script[8192];
    snprintf(script, sizeof script,
             "{\"id\":1,\"cmd\":\"load-model\",\"path\":\"%s\"}\n"
             "{\"id\":2,\"cmd\":\"configure-sampling\",\"max_tokens\":6,\"stop_at_eos\":false}\n"
             "{\"id\":7.0,\"cmd\":\"generate\",\"prompt\":\"x\"}\n"
             "{\"id\":\"c1\",\"cmd\":\"cancel\",\"target\":\"7\"}\n"
             "{\"id\":\"c2\",\"cmd\":\"cancel\",\"target\":7e0}\n",
             path);
    free(path);
    run_script(f, script);
    cJSON_Delete(expect_result(f, "READY"));
    cJSON_Delete(expect_result(f, "READY"));
    expect_id_text(f, "7");
    cJSON *ev = next_event(f);
    assert_string_equal(str_of(ev, "event"), "token");
    cJSON_Delete(ev);
    ev = expect_result(f, NULL);
    assert_string_equal(str_of(ev, "id"), "c1");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev, "cancelled")));
    cJSON_Delete(ev);
    ev = expect_result(f, NULL);
    assert_string_equal(str_of(ev, "id"), "c2");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev, "cancelled")));
    cJSON_Delete(ev);
    expect_error(f, GGUFREF_ERR_CANCELLED, "7");
    assert_true(no_more_events(f));
}

/* R-PROTO-023, R-PROTO-030, R-PROTO-031 */
static void test_protocol_generate_streams_tokens_and_logits(void **state) {
    fixture *f = *state;
    load_primary(f);
    send_line(f, "{\"id\":2,\"cmd\":\"configure-sampling\",\"max_tokens\":4,"
                 "\"stop_at_eos\":false}");
    cJSON_Delete(expect_result(f, "READY"));
    send_line(f, "{\"id\":3,\"cmd\":\"generate\",\"prompt\":\"hi\",\"logits\":3}");
    for (int i = 0; i < 4; i++) {
        cJSON *ev = next_event(f);
        assert_string_equal(str_of(ev, "event"), "token");
        assert_int_equal((int)num_of(ev, "index"), i);
        const cJSON *top = cJSON_GetObjectItemCaseSensitive(ev, "top");
        assert_int_equal(cJSON_GetArraySize(top), 3);
        /* greedy: the token is the highest logit */
        assert_int_equal((int)num_of(ev, "token"),
                         (int)cJSON_GetArrayItem(cJSON_GetArrayItem(top, 0), 0)->valuedouble);
        assert_int_equal(strlen(str_of(ev, "digest")), 16);
        cJSON_Delete(ev);
    }
    cJSON *res = expect_result(f, "CONTINUATION_READY");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(res, "tokens")), 4);
    assert_int_equal((int)num_of(res, "n_tokens"), (int)num_of(res, "n_prompt") + 4);
    cJSON_Delete(res);
    /* one more on the step path: same logits as a longer generate would give (R-RT-024) */
    send_line(f, "{\"id\":4,\"cmd\":\"generate-next-token\",\"logits\":1}");
    cJSON_Delete(next_event(f));
    cJSON_Delete(expect_result(f, "CONTINUATION_READY"));
}

/* The floats of a logits_hex field (R-PROTO-030). OUT: x[0..count). */
static size_t hex_logits(const char *hex, float *x, size_t cap) {
    size_t len = strlen(hex);
    assert_int_equal(len % 8, 0);
    assert_true(len / 8 <= cap);
    for (size_t i = 0; i < len / 8; i++) {
        char word[9];
        memcpy(word, hex + 8 * i, 8);
        word[8] = '\0';
        uint32_t u = (uint32_t)strtoul(word, NULL, 16);
        memcpy(&x[i], &u, sizeof u);
    }
    return len / 8;
}

#define P_TOKENS 3
#define P_VOCAB 512

/* Streams a sampled generate (penalty, temperature, top-k) of P_TOKENS tokens with logits_full
 * and checks every token event's logits bit for bit against ggufref_forward over the same
 * sequence in a context of its own: token i reports the logits of its own position minus
 * `shift` (0: the logits it was sampled from; 1: BRK_POSITION_SHIFT, the previous token's, and
 * token 0 its own). */
static void check_reported_logits(fixture *f, size_t shift) {
    load_primary(f);
    send_line(f, "{\"id\":2,\"cmd\":\"configure-sampling\",\"max_tokens\":3,\"stop_at_eos\":false,"
                 "\"temperature\":0.8,\"top_k\":10,\"repeat_penalty\":1.5,\"seed\":5}");
    cJSON_Delete(expect_result(f, "READY"));
    send_line(f, "{\"id\":3,\"cmd\":\"generate\",\"prompt\":\"hi there\",\"logits\":2,"
                 "\"logits_full\":true}");
    static float got[P_TOKENS][P_VOCAB], want[P_TOKENS][P_VOCAB];
    size_t n_vocab = 0;
    for (int i = 0; i < P_TOKENS; i++) {
        cJSON *ev = next_event(f);
        assert_string_equal(str_of(ev, "event"), "token");
        n_vocab = hex_logits(str_of(ev, "logits_hex"), got[i], P_VOCAB);
        cJSON_Delete(ev);
    }
    cJSON *res = expect_result(f, "CONTINUATION_READY");
    int32_t seq[64];
    size_t n = 0, n_prompt;
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(res, "prompt_tokens")) {
        seq[n++] = (int32_t)t->valuedouble;
    }
    n_prompt = n;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(res, "tokens")) {
        seq[n++] = (int32_t)t->valuedouble;
    }
    cJSON_Delete(res);
    assert_int_equal(n, n_prompt + P_TOKENS);
    char *path = fixture_model("tiny-f32-mha-untied");
    ggufref_gguf *g;
    ggufref_model *m;
    ggufref_context *ctx;
    assert_int_equal(ggufref_gguf_open_file(path, &g, NULL), GGUFREF_OK);
    free(path);
    assert_int_equal(ggufref_model_load(g, &m, NULL), GGUFREF_OK);
    assert_int_equal(ggufref_context_create(m, 0, &ctx), GGUFREF_OK);
    for (size_t pos = 0; pos + 1 < n; pos++) {
        const float *out;
        assert_int_equal(ggufref_forward(ctx, seq[pos], (uint32_t)pos, &out), GGUFREF_OK);
        if (pos + 1 >= n_prompt) memcpy(want[pos + 1 - n_prompt], out, n_vocab * sizeof *out);
    }
    for (size_t i = 0; i < P_TOKENS; i++) {
        assert_memory_equal(got[i], want[i >= shift ? i - shift : i], n_vocab * sizeof(float));
    }
    assert_memory_not_equal(want[0], want[1], n_vocab * sizeof(float));
    ggufref_context_free(ctx);
    ggufref_model_free(m);
    ggufref_gguf_close(g);
}

/* R-PROTO-030, R-RT-029: the logits reported are those the runtime sampled each token from. */
static void test_protocol_logits_are_the_runtimes(void **state) {
    check_reported_logits(*state, 0);
}

/* The harness self-test's position-shift variant reports each token the previous one's. */
static void test_protocol_break_position_shift(void **state) {
    check_reported_logits(*state, 1);
}

/* R-PROTO-012 with the table: ordering errors and a failed load */
static void test_protocol_runtime_errors_carry_state(void **state) {
    fixture *f = *state;
    send_line(f, "{\"id\":1,\"cmd\":\"generate\",\"prompt\":\"x\"}");
    expect_error(f, GGUFREF_ERR_MODEL_NOT_LOADED, "1");
    send_line(f, "{\"id\":2,\"cmd\":\"load-model\",\"path\":\"/nonexistent/x.gguf\"}");
    cJSON *ev = next_event(f);
    assert_string_equal(str_of(ev, "state"), "RECOVERABLE_ERROR");
    cJSON_Delete(ev);
    send_line(f, "{\"id\":3,\"cmd\":\"diagnostics\"}");
    cJSON *d = expect_result(f, "RECOVERABLE_ERROR");
    const cJSON *le = cJSON_GetObjectItemCaseSensitive(d, "last_error");
    assert_int_equal((int)num_of(le, "code"), GGUFREF_ERR_IO);
    cJSON_Delete(d);
}

/* R-PROTO-040, R-PROTO-041 through gr_server_run: lines written together with a generate are
 * read ahead between tokens; a cancel of the generate stops it after one token, a cancel of
 * another id does not stop it. */
static void test_protocol_cancel_through_the_reader(void **state) {
    fixture *f = *state;
    char *path = fixture_model("tiny-f32-mha-untied");
    char script[8192];
    snprintf(script, sizeof script,
             "{\"id\":1,\"cmd\":\"load-model\",\"path\":\"%s\"}\n"
             "{\"id\":2,\"cmd\":\"configure-sampling\",\"max_tokens\":6,\"stop_at_eos\":false}\n"
             "{\"id\":\"g\",\"cmd\":\"generate\",\"prompt\":\"x\"}\n"
             "{\"id\":\"c\",\"cmd\":\"cancel\",\"target\":\"other\"}\n"
             "{\"id\":\"h\",\"cmd\":\"generate\",\"prompt\":\"x\"}\n"
             "{\"id\":\"d\",\"cmd\":\"cancel\",\"target\":\"h\"}\n"
             "{\"id\":9,\"cmd\":\"diagnostics\"}",   /* no final newline (R-PROTO-001) */
             path);
    free(path);
    run_script(f, script);
    cJSON_Delete(expect_result(f, "READY"));
    cJSON_Delete(expect_result(f, "READY"));
    /* g: token 0, then the foreign cancel's result, then tokens 1..5 and g's result */
    cJSON *ev = next_event(f);
    assert_string_equal(str_of(ev, "id"), "g");
    cJSON_Delete(ev);
    ev = expect_result(f, NULL);
    assert_string_equal(str_of(ev, "id"), "c");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev, "cancelled")));
    cJSON_Delete(ev);
    for (int i = 1; i < 6; i++) {
        ev = next_event(f);
        assert_string_equal(str_of(ev, "event"), "token");
        cJSON_Delete(ev);
    }
    cJSON_Delete(expect_result(f, "CONTINUATION_READY"));
    /* h: one token, the cancel's result, then CANCELLED */
    ev = next_event(f);
    assert_string_equal(str_of(ev, "event"), "token");
    cJSON_Delete(ev);
    ev = expect_result(f, NULL);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev, "cancelled")));
    cJSON_Delete(ev);
    expect_error(f, GGUFREF_ERR_CANCELLED, "\"h\"");
    cJSON *d = expect_result(f, "CONTINUATION_READY");
    assert_int_equal((int)num_of(d, "n_tokens"), (int)num_of(d, "n_prompt") + 1);
    cJSON_Delete(d);
    assert_true(no_more_events(f));
}

/* The `top` array and `digest` of an event object, printed (caller frees). */
static char *logits_text(const cJSON *o) {
    cJSON *copy = cJSON_CreateObject();
    cJSON_AddItemToObject(copy, "top",
                          cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(o, "top"), true));
    cJSON_AddStringToObject(copy, "digest", str_of(o, "digest"));
    char *text = cJSON_PrintUnformatted(copy);
    cJSON_Delete(copy);
    return text;
}

/* R-PROTO-027, R-PROTO-020, R-PROTO-008: evaluate of a generate's prompt and tokens gives at
 * position m-1+j the top and digest of token event j; logits_hex only when asked, top only for
 * K >= 1; the runtime ends READY with an empty request; a malformed `tokens` never reaches the
 * runtime; an empty array and an id outside the vocabulary are the runtime's rejections. */
static void test_protocol_evaluate(void **state) {
    fixture *f = *state;
    send_line(f, "{\"id\":0,\"cmd\":\"boot\"}");
    cJSON *boot = expect_result(f, NULL);
    bool cap = false;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(boot, "capabilities")) {
        cap |= strcmp(c->valuestring, "evaluate") == 0;
    }
    assert_true(cap);
    cJSON_Delete(boot);
    load_primary(f);
    send_line(f, "{\"id\":2,\"cmd\":\"configure-sampling\",\"max_tokens\":4,"
                 "\"stop_at_eos\":false}");
    cJSON_Delete(expect_result(f, "READY"));
    send_line(f, "{\"id\":3,\"cmd\":\"generate\",\"prompt\":\"hi\",\"logits\":3}");
    char *tokens_top[4];
    for (int i = 0; i < 4; i++) {
        cJSON *ev = next_event(f);
        tokens_top[i] = logits_text(ev);
        cJSON_Delete(ev);
    }
    cJSON *res = expect_result(f, "CONTINUATION_READY");
    cJSON *ids = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(res, "prompt_tokens"), true);
    int m = cJSON_GetArraySize(ids);
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(res, "tokens")) {
        cJSON_AddItemToArray(ids, cJSON_Duplicate(c, true));
    }
    cJSON_Delete(res);
    char *ids_text = cJSON_PrintUnformatted(ids);
    cJSON_Delete(ids);
    char line[1024];
    snprintf(line, sizeof line, "{\"id\":\"e\",\"cmd\":\"evaluate\",\"tokens\":%s,\"logits\":3}",
             ids_text);
    send_line(f, line);
    res = expect_result(f, "READY");
    const cJSON *pos = cJSON_GetObjectItemCaseSensitive(res, "positions");
    assert_int_equal(cJSON_GetArraySize(pos), m + 4);
    assert_int_equal((int)num_of(res, "n_tokens"), m + 4);
    for (int j = 0; j < 4; j++) {
        const cJSON *p = cJSON_GetArrayItem(pos, m - 1 + j);
        assert_int_equal((int)num_of(p, "index"), m - 1 + j);
        assert_null(cJSON_GetObjectItemCaseSensitive(p, "logits_hex"));
        char *text = logits_text(p);
        assert_string_equal(text, tokens_top[j]);
        cJSON_free(text);
        cJSON_free(tokens_top[j]);
    }
    cJSON_Delete(res);
    send_line(f, "{\"id\":\"d\",\"cmd\":\"diagnostics\"}");
    res = expect_result(f, "READY");
    assert_int_equal((int)num_of(res, "n_tokens"), 0);
    cJSON_Delete(res);
    snprintf(line, sizeof line, "{\"id\":\"f\",\"cmd\":\"evaluate\",\"tokens\":%s,"
             "\"logits_full\":true}", ids_text);
    cJSON_free(ids_text);
    send_line(f, line);
    res = expect_result(f, "READY");
    const cJSON *p0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(res, "positions"), 0);
    assert_null(cJSON_GetObjectItemCaseSensitive(p0, "top"));
    assert_int_equal(strlen(str_of(p0, "logits_hex")), 362 * 8);
    assert_int_equal(strlen(str_of(p0, "digest")), 16);
    cJSON_Delete(res);
    static const char *const malformed[] = {
        "{\"id\":\"x\",\"cmd\":\"evaluate\"}",
        "{\"id\":\"x\",\"cmd\":\"evaluate\",\"tokens\":\"1 2\"}",
        "{\"id\":\"x\",\"cmd\":\"evaluate\",\"tokens\":[1,2.5]}",
        "{\"id\":\"x\",\"cmd\":\"evaluate\",\"tokens\":[1,2147483648]}",
        "{\"id\":\"x\",\"cmd\":\"evaluate\",\"tokens\":[1,\"2\"]}",
        "{\"id\":\"x\",\"cmd\":\"evaluate\",\"tokens\":[1],\"logits\":33}",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        send_line(f, malformed[i]);
        cJSON *ev = next_event(f);
        assert_null(cJSON_GetObjectItemCaseSensitive(ev, "state")); /* never reached it */
        cJSON_Delete(ev);
    }
    send_line(f, "{\"id\":\"r\",\"cmd\":\"evaluate\",\"tokens\":[]}");
    expect_error(f, GGUFREF_ERR_INVALID_ARGUMENT, "\"r\"");
    send_line(f, "{\"id\":\"v\",\"cmd\":\"evaluate\",\"tokens\":[1,362]}");
    expect_error(f, GGUFREF_ERR_INVALID_ARGUMENT, "\"v\"");
    ggufref_state st;
    assert_int_equal(ggufref_export_state(&st), GGUFREF_OK);
    assert_int_equal(st, GGUFREF_STATE_RECOVERABLE_ERROR);
}

/* R-PROTO-004: the server passes the library's message through as the library wrote it (no
 * flattening of CR/LF: a library that breaks R-STATUS-003 must be visible to the suite), in the
 * error event and in diagnostics' last_error. A path with a LF is the probe. */
static void test_protocol_library_messages_passed_through(void **state) {
    fixture *f = *state;
    send_line(f, "{\"id\":1,\"cmd\":\"load-model\",\"path\":\"/nonexistent/a\\nb\\r.gguf\"}");
    cJSON *ev = next_event(f);
    ggufref_error err;
    assert_int_equal(ggufref_export_last_error(&err), GGUFREF_OK);
    char want[GGUFREF_ERROR_MESSAGE_MAX + 64];
    snprintf(want, sizeof want, "load-model: %s", err.message);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(ev, "error");
    assert_string_equal(str_of(e, "message"), want);
    cJSON_Delete(ev);
    send_line(f, "{\"id\":2,\"cmd\":\"diagnostics\"}");
    ev = expect_result(f, "RECOVERABLE_ERROR");
    e = cJSON_GetObjectItemCaseSensitive(ev, "last_error");
    assert_string_equal(str_of(e, "message"), err.message);
    cJSON_Delete(ev);
}

/* R-PROTO-060: fault commands; a failed allocation is a structured OUT_OF_MEMORY */
static void test_protocol_fault_commands(void **state) {
    fixture *f = *state;
    send_line(f, "{\"id\":1,\"cmd\":\"boot\"}");
    cJSON_Delete(expect_result(f, "INITIALIZED"));
    send_line(f, "{\"id\":2,\"cmd\":\"fault-alloc\",\"n\":1}");
    cJSON_Delete(expect_result(f, NULL));
    char *path = fixture_model("tiny-f32-gqa-tied");
    char line[4300];
    snprintf(line, sizeof line, "{\"id\":3,\"cmd\":\"load-model\",\"path\":\"%s\"}", path);
    free(path);
    send_line(f, line);
    expect_error(f, GGUFREF_ERR_OUT_OF_MEMORY, "3");
    send_line(f, "{\"id\":4,\"cmd\":\"fault-status\"}");
    cJSON *st = expect_result(f, NULL);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "alloc_fired")));
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(st, "points")) > 0);
    cJSON_Delete(st);
    send_line(f, "{\"id\":5,\"cmd\":\"fault-panic\",\"point\":\"export.locked\"}");
    cJSON_Delete(expect_result(f, NULL));
    send_line(f, "{\"id\":6,\"cmd\":\"diagnostics\"}");
    expect_error(f, GGUFREF_ERR_GENERATION_FAILED, "6");
    send_line(f, "{\"id\":7,\"cmd\":\"cancel\",\"target\":1}");
    expect_error(f, GGUFREF_ERR_GENERATION_FAILED, "7");
    send_line(f, "{\"id\":8,\"cmd\":\"fault-reset\"}");
    cJSON_Delete(expect_result(f, "UNINITIALIZED"));
}

/* ---- issue 16: the server against hostile input, a closed stdout, and OOM ---------------------- */

/* Feed bytes to gr_server_run from a temporary regular file (any size: a pipe would block);
 * returns the run's exit code. */
static int run_bytes(gr_server *server, const char *bytes, size_t len) {
    FILE *in = tmpfile();
    assert_non_null(in);
    assert_int_equal(fwrite(bytes, 1, len, in), len);
    assert_int_equal(fflush(in), 0);
    assert_int_equal(lseek(fileno(in), 0, SEEK_SET), 0);
    int rc = gr_server_run(server, fileno(in));
    fclose(in);
    return rc;
}

/* Sends a line given with its length (it may hold NUL bytes). */
static void send_bytes(fixture *f, const char *line, size_t len) {
    gr_server_handle_line(f->server, line, len);
}

/* R-PROTO-013, R-PROTO-005, R-PROTO-010: RFC 8259 exactly. Raw NUL or controls in strings, NUL
 * or VT as whitespace, non-canonical numbers, bad escapes and nesting past 128 are not JSON
 * (id null, nothing reaches the runtime); CR as whitespace and nesting of exactly 128 are. */
static void test_protocol_strict_json(void **state) {
    fixture *f = *state;
    static const struct {
        const char *text;
        size_t len; /* 0: strlen */
    } bad[] = {
        {"{\"id\":1,\"cmd\":\"boot\",\"x\":\"a\0b\"}", 32},
        {"{\"id\":1,\"cmd\":\"load-model\",\"path\":\"/tmp/a\0.gguf\"}", 49},
        {"{\"id\":1,\"cmd\":\"boot\",\"x\":\"a\tb\"}", 0},
        {"{\"id\":1,\"cmd\":\"boot\",\"x\":\"a\x01" "b\"}", 0},
        {"{\"id\":1,\"cmd\":\"boot\",\"x\":\"a\x1f" "b\"}", 0},
        {"{\"id\":1,\0\"cmd\":\"boot\"}", 22},
        {"{\"id\":1,\v\"cmd\":\"boot\"}", 0},
        {"{\"id\":1,\f\"cmd\":\"boot\"}", 0},
        {"\v{\"id\":1,\"cmd\":\"boot\"}", 0},
        {"{\"id\":01,\"cmd\":\"boot\"}", 0},
        {"{\"id\":1.,\"cmd\":\"boot\"}", 0},
        {"{\"id\":-,\"cmd\":\"boot\"}", 0},
        {"{\"id\":.5,\"cmd\":\"boot\"}", 0},
        {"{\"id\":+1,\"cmd\":\"boot\"}", 0},
        {"{\"id\":1e,\"cmd\":\"boot\"}", 0},
        {"{\"id\":1,\"cmd\":\"boot\",\"x\":-01}", 0},
        {"{\"id\":1,\"cmd\":\"boot\",\"x\":\"\\x41\"}", 0},
        {"{\"id\":1,\"cmd\":\"boot\",\"x\":\"\\u12\"}", 0},
        {"{\"id\":1,\"cmd\":\"boot\",}", 0},
        {"{\"id\":1,\"cmd\":\"boot\"} {}", 0},
        {"{\"id\":1,\"cmd\":\"boot\",\"x\":tru}", 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t len = bad[i].len != 0 ? bad[i].len : strlen(bad[i].text);
        send_bytes(f, bad[i].text, len);
        expect_error(f, GGUFREF_ERR_INVALID_ARGUMENT, NULL);
    }
    /* nesting in a field the command does not define: 128 levels (the command object is one)
     * are accepted, 129 are not (R-PROTO-008: undefined fields are part of the line) */
    char deep[600];
    for (int levels = 127; levels <= 128; levels++) {
        int n = snprintf(deep, sizeof deep, "{\"id\":1,\"cmd\":\"boot\",\"x\":");
        for (int i = 0; i < levels; i++) deep[n++] = '[';
        for (int i = 0; i < levels; i++) deep[n++] = ']';
        deep[n++] = '}';
        if (levels == 127) { /* none of the lines so far reached the runtime */
            ggufref_state st;
            assert_int_equal(ggufref_export_state(&st), GGUFREF_OK);
            assert_int_equal(st, GGUFREF_STATE_UNINITIALIZED);
        }
        send_bytes(f, deep, (size_t)n);
        if (levels == 127) {
            cJSON_Delete(expect_result(f, "INITIALIZED"));
        } else {
            expect_error(f, GGUFREF_ERR_INVALID_ARGUMENT, NULL);
        }
    }
    send_line(f, "{\"id\":2,\r\"cmd\":\"diagnostics\",\"x\":[0,-0,1.5e-3,-2E+2,\"\\u00e9\\/\"]}");
    cJSON_Delete(expect_result(f, "INITIALIZED"));
    /* U+0000 in a field the command does not define: rejected, the id known */
    send_line(f, "{\"id\":3,\"cmd\":\"boot\",\"x\":\"\\u0000\"}");
    expect_error(f, GGUFREF_ERR_INVALID_ARGUMENT, "3");
    assert_true(no_more_events(f));
}

/* R-PROTO-014: a member named twice, at any depth, spelled alike or not, is INVALID_ARGUMENT
 * with id null; nothing reaches the runtime. */
static void test_protocol_duplicate_keys(void **state) {
    fixture *f = *state;
    static const char *const dup[] = {
        "{\"id\":1,\"cmd\":\"boot\",\"cmd\":\"free-model\"}",
        "{\"id\":1,\"id\":2,\"cmd\":\"boot\"}",
        "{\"id\":1,\"cmd\":\"boot\",\"c\\u006dd\":\"boot\"}",
        "{\"id\":1,\"cmd\":\"boot\",\"x\":[{\"a\":1,\"b\":2,\"a\":3}]}",
    };
    for (size_t i = 0; i < sizeof dup / sizeof dup[0]; i++) {
        send_line(f, dup[i]);
        expect_error(f, GGUFREF_ERR_INVALID_ARGUMENT, NULL);
    }
    ggufref_state st;
    assert_int_equal(ggufref_export_state(&st), GGUFREF_OK);
    assert_int_equal(st, GGUFREF_STATE_UNINITIALIZED);
    send_line(f, "{\"id\":1,\"cmd\":\"boot\",\"x\":{\"a\":1},\"y\":{\"a\":1}}");
    cJSON_Delete(expect_result(f, "INITIALIZED"));
}

/* A line of exactly `len` bytes: {"id":ID,"cmd":"boot","pad":"xxx..."}. */
static size_t boot_line(char *out, size_t len, int id) {
    int head = snprintf(out, len, "{\"id\":%d,\"cmd\":\"boot\",\"pad\":\"", id);
    memset(out + head, 'x', len - (size_t)head - 2);
    memcpy(out + len - 2, "\"}", 2);
    return len;
}

/* R-PROTO-009: the 1 MiB limit counts the bytes before the line ending; a CR before the LF is
 * part of the ending. Through the reader and through gr_server_handle_line. */
static void test_protocol_line_limit_and_crlf(void **state) {
    fixture *f = *state;
    size_t max = GR_PROTOCOL_MAX_LINE;
    char *buf = malloc(3 * (max + 3));
    assert_non_null(buf);
    size_t n = 0;
    n += boot_line(buf + n, max, 1);      /* exactly 1 MiB, CRLF: accepted */
    memcpy(buf + n, "\r\n", 2), n += 2;
    n += boot_line(buf + n, max + 1, 2);  /* 1 MiB + 1, LF: too long */
    buf[n++] = '\n';
    n += boot_line(buf + n, max, 3);      /* exactly 1 MiB, LF */
    buf[n++] = '\n';
    assert_int_equal(run_bytes(f->server, buf, n), 0);
    cJSON *ev = expect_result(f, "INITIALIZED");
    assert_int_equal((int)num_of(ev, "id"), 1);
    cJSON_Delete(ev);
    expect_error(f, GGUFREF_ERR_LIMIT_EXCEEDED, NULL);
    ev = expect_result(f, "INITIALIZED");
    assert_int_equal((int)num_of(ev, "id"), 3);
    cJSON_Delete(ev);
    boot_line(buf, max, 4);
    buf[max] = '\r';
    send_bytes(f, buf, max + 1);
    cJSON_Delete(expect_result(f, "INITIALIZED"));
    boot_line(buf, max + 1, 5);
    send_bytes(f, buf, max + 1);
    expect_error(f, GGUFREF_ERR_LIMIT_EXCEEDED, NULL);
    free(buf);
    assert_true(no_more_events(f));
}

/* R-PROTO-011, R-PROTO-041: while a generate streams only well-formed cancels jump the queue;
 * a malformed line naming cancel (no id, trailing bytes, a duplicate key, a raw control
 * character) gets its error after every event of the generate. */
static void test_protocol_malformed_lines_wait_for_the_stream(void **state) {
    fixture *f = *state;
    char *path = fixture_model("tiny-f32-mha-untied");
    char script[8192];
    snprintf(script, sizeof script,
             "{\"id\":1,\"cmd\":\"load-model\",\"path\":\"%s\"}\n"
             "{\"id\":2,\"cmd\":\"configure-sampling\",\"max_tokens\":4,\"stop_at_eos\":false}\n"
             "{\"id\":\"g\",\"cmd\":\"generate\",\"prompt\":\"x\"}\n"
             "{\"cmd\":\"cancel\",\"target\":\"g\"}\n"
             "{\"id\":\"c1\",\"cmd\":\"cancel\",\"target\":\"g\"} x\n"
             "{\"id\":\"c2\",\"cmd\":\"cancel\",\"target\":\"g\",\"target\":\"g\"}\n"
             "{\"id\":\"c3\",\"cmd\":\"cancel\",\"target\":\"g\",\"x\":\"\x01\"}\n"
             "{\"id\":\"c4\",\"cmd\":\"cancel\",\"target\":\"zz\"}\n",
             path);
    free(path);
    run_script(f, script);
    cJSON_Delete(expect_result(f, "READY"));
    cJSON_Delete(expect_result(f, "READY"));
    /* token 0, then the well-formed foreign cancel c4 (it may jump), then tokens 1..3 */
    cJSON *ev = next_event(f);
    assert_string_equal(str_of(ev, "event"), "token");
    cJSON_Delete(ev);
    ev = expect_result(f, NULL);
    assert_string_equal(str_of(ev, "id"), "c4");
    cJSON_Delete(ev);
    for (int i = 1; i < 4; i++) {
        ev = next_event(f);
        assert_string_equal(str_of(ev, "event"), "token");
        cJSON_Delete(ev);
    }
    cJSON_Delete(expect_result(f, "CONTINUATION_READY"));
    for (int i = 0; i < 4; i++) expect_error(f, GGUFREF_ERR_INVALID_ARGUMENT, NULL);
    assert_true(no_more_events(f));
}

/* R-PROTO-015: events that cannot be written (here: a full device) stop the server with a
 * non-zero exit code and a reason; nothing is reported as success. */
static void test_protocol_write_failure_is_not_success(void **state) {
    (void)state;
    ggufref_fault_export_reset();
    FILE *full = fopen("/dev/full", "w");
    if (full == NULL) skip();
    gr_server_config cfg = {.fault_injection = true};
    const char *why = NULL;
    gr_server *s = gr_server_create(full, &cfg, &why);
    assert_non_null(s);
    static const char script[] = "{\"id\":1,\"cmd\":\"boot\"}\n{\"id\":2,\"cmd\":\"boot\"}\n";
    assert_int_equal(run_bytes(s, script, sizeof script - 1), 1);
    int err = 0;
    assert_non_null(gr_server_failure(s, &err));
    assert_int_equal(err, ENOSPC);
    gr_server_destroy(s);
    fclose(full);
    ggufref_fault_export_reset();
}

/* R-PROTO-015 through the CLI: `ggufref serve` with its standard output closed by the client
 * exits 1 with one line on stderr (it used to exit 0 with every event lost). */
static void test_protocol_cli_closed_stdout(void **state) {
    (void)state;
    const char *dir = getenv("GGUFREF_BUILD_DIR");
    char exe[4096];
    snprintf(exe, sizeof exe, "%s/ggufref", dir != NULL ? dir : ".");
    if (access(exe, X_OK) != 0) {
        fprintf(stderr, "skipped: %s is not built\n", exe);
        skip();
    }
    FILE *in = tmpfile(), *err = tmpfile();
    assert_non_null(in);
    assert_non_null(err);
    fputs("{\"id\":1,\"cmd\":\"boot\"}\n", in);
    fflush(in);
    rewind(in);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fileno(in), 0);
    posix_spawn_file_actions_addclose(&fa, 1);
    posix_spawn_file_actions_adddup2(&fa, fileno(err), 2);
    char *argv[] = {exe, "serve", NULL};
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, exe, &fa, NULL, argv, environ), 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    posix_spawn_file_actions_destroy(&fa);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    char msg[512] = {0};
    rewind(err);
    size_t n = fread(msg, 1, sizeof msg - 1, err);
    assert_true(n > 0 && msg[n - 1] == '\n' && memchr(msg, '\n', n) == msg + n - 1);
    assert_non_null(strstr(msg, "cannot write events"));
    fclose(in);
    fclose(err);
}

/* Issue 16 #3: the command queue is O(1) per line. 200,000 lines pushed and taken (with a
 * cancel taken from the middle now and then) move each line a bounded number of times; the old
 * queue moved the whole queue for every line taken (2 * 10^10 moves here). The wall-clock
 * figure comes from bench/bench_serve_queue. */
static void test_protocol_queue_is_linear(void **state) {
    (void)state;
    gr_queue q = {0};
    const size_t n = 200000;
    for (size_t i = 0; i < n; i++) assert_true(gr_queue_push(&q, NULL, i));
    size_t taken = 0;
    for (size_t i = 0; q.count > 0; i++) {
        if (i % 7 == 3 && q.count > 2) {
            gr_line l = gr_queue_take(&q, 2); /* a cancel from the middle */
            assert_int_not_equal(l.kind, LINE_GONE);
        } else {
            (void)gr_queue_pop(&q);
        }
        taken++;
        if (i % 3 == 0) assert_true(gr_queue_push(&q, NULL, i)), taken--;
    }
    assert_true(q.moves <= 2 * n);
    gr_queue_free(&q);
    (void)taken;
}

/* ---- R-PROTO-016: every allocation of the server and the library fails in turn ------------- */

/* A script touching every handler but the fault commands (they re-arm the hook). */
static char *oom_script(void) {
    char *path = fixture_model("tiny-f32-mha-untied");
    char *script = malloc(8192);
    assert_non_null(script);
    snprintf(script, 8192,
             "{\"id\":1,\"cmd\":\"boot\"}\n"
             "{\"id\":\"load\",\"cmd\":\"load-model\",\"path\":\"%s\"}\n"
             "{\"id\":2,\"cmd\":\"configure-sampling\",\"max_tokens\":3,\"stop_at_eos\":false}\n"
             "{\"id\":3,\"cmd\":\"generate\",\"prompt\":\"hi \\u00e9\",\"logits\":3,"
             "\"logits_full\":true}\n"
             "{\"id\":4,\"cmd\":\"cancel\",\"target\":3}\n"
             "{\"id\":5,\"cmd\":\"generate-next-token\",\"logits\":2}\n"
             "{\"id\":6,\"cmd\":\"evaluate\",\"tokens\":[1,5,7],\"logits\":2,\"logits_full\":true}\n"
             "{\"id\":7,\"cmd\":\"diagnostics\"}\n"
             "{\"id\":8,\"cmd\":\"warp\"}\n"
             "{\"id\":9,\"cmd\":\"load-model\",\"path\":\"/nonexistent/\\n.gguf\"}\n"
             "not json\n"
             "{\"id\":10,\"cmd\":\"reset-context\"}\n"
             "{\"id\":11,\"cmd\":\"free-model\"}\n",
             path);
    free(path);
    return script;
}

enum { OOM_SAME, OOM_ANSWERED, OOM_STOPPED, OOM_BAD, OOM_KINDS };

static int by_text(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The ids of the final events of an output, printed, sorted, joined by spaces (a cancel that
 * hits answers before its generate, so the order may change; the set may not). */
static void final_ids(const char *out, size_t len, char *ids, size_t cap) {
    char *list[64];
    size_t n = 0;
    for (size_t at = 0; at < len && n < 64;) {
        const char *nl = memchr(out + at, '\n', len - at);
        if (nl == NULL) break;
        cJSON *ev = cJSON_ParseWithLength(out + at, (size_t)(nl - (out + at)));
        if (strcmp(str_of(ev, "event"), "token") != 0) {
            list[n++] = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(ev, "id"));
        }
        cJSON_Delete(ev);
        at = (size_t)(nl - out) + 1;
    }
    qsort(list, n, sizeof *list, by_text);
    ids[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        strncat(ids, list[i] != NULL ? list[i] : "?", cap - strlen(ids) - 2);
        strcat(ids, " ");
        cJSON_free(list[i]);
    }
}

/* Judge one run's output: every line one JSON object with id and event (an error with code,
 * name and one-line message); `commands` final events with the ids of the unfaulted run, or
 * fewer when the server stopped with a reason; identical to the unfaulted output, or not. */
static int judge(const char *out, size_t len, size_t commands, int rc, const char *failure,
                 const char *clean) {
    size_t finals = 0;
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(out + at, '\n', len - at);
        if (nl == NULL) return OOM_BAD;
        cJSON *ev = cJSON_ParseWithLength(out + at, (size_t)(nl - (out + at)));
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(ev, "id");
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(ev, "event");
        bool ok = cJSON_IsObject(ev) && id != NULL && cJSON_IsString(kind);
        if (ok && strcmp(kind->valuestring, "token") != 0) finals++;
        if (ok && strcmp(kind->valuestring, "error") == 0) {
            const cJSON *e = cJSON_GetObjectItemCaseSensitive(ev, "error");
            const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
            const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
            ok = cJSON_IsNumber(code) && cJSON_IsString(msg) && msg->valuestring[0] != '\0' &&
                 strcmp(str_of(e, "name"), ggufref_status_name((ggufref_status)code->valueint)) ==
                     0;
        }
        cJSON_Delete(ev);
        if (!ok) return OOM_BAD;
        at = (size_t)(nl - out) + 1;
    }
    if (rc != 0) return failure != NULL && finals <= commands ? OOM_STOPPED : OOM_BAD;
    if (finals != commands) return OOM_BAD;
    char want[1024], got[1024];
    final_ids(clean, strlen(clean), want, sizeof want);
    final_ids(out, len, got, sizeof got);
    if (strcmp(want, got) != 0) return OOM_BAD;
    return strlen(clean) == len && memcmp(clean, out, len) == 0 ? OOM_SAME : OOM_ANSWERED;
}

/* One run of the script with the k-th allocation failing (0: none; persistent: and every
 * later one). Returns the outcome; *fired whether the failure happened. */
static int oom_run(const char *script, uint64_t k, bool persistent, char **clean, bool *fired) {
    ggufref_fault_export_reset();
    int64_t live = ggufref_fault_alloc_live();
    char *out = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&out, &len);
    assert_non_null(mem);
    gr_server_config cfg = {.count_allocs = true};
    if (persistent) {
        ggufref_fault_alloc_fail_from(k);
    } else {
        ggufref_fault_alloc_fail_at(k);
    }
    const char *why = NULL;
    gr_server *s = gr_server_create(mem, &cfg, &why);
    int rc = 1;
    const char *failure = why;
    if (s != NULL) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        assert_int_equal(write(fds[1], script, strlen(script)), (ssize_t)strlen(script));
        close(fds[1]);
        rc = gr_server_run(s, fds[0]);
        close(fds[0]);
        failure = gr_server_failure(s, NULL);
        gr_server_destroy(s);
    }
    *fired = ggufref_fault_alloc_fired();
    ggufref_fault_alloc_fail_at(0);
    gr_srv_count_allocs(false);
    ggufref_fault_export_reset();
    assert_int_equal(ggufref_fault_alloc_live(), live); /* nothing leaked */
    fclose(mem);
    size_t commands = 0;
    for (const char *p = script; *p != '\0'; p++) commands += *p == '\n';
    int outcome;
    if (k == 0) {
        assert_int_equal(rc, 0);
        *clean = out;
        outcome = judge(out, len, commands, rc, failure, out);
        assert_int_equal(outcome, OOM_SAME);
        return outcome;
    }
    outcome = judge(out, len, commands, rc, failure, *clean);
    if (outcome == OOM_BAD) {
        fprintf(stderr, "k=%llu%s: rc %d (%s), output:\n%.*s\n", (unsigned long long)k,
                persistent ? " persistent" : "", rc, failure ? failure : "-", (int)len, out);
    }
    free(out);
    return outcome;
}

static void test_protocol_server_under_oom(void **state) {
    (void)state;
    char *script = oom_script();
    char *clean = NULL;
    bool fired;
    oom_run(script, 0, false, &clean, &fired);
    static const char *const names[OOM_KINDS] = {"same", "answered", "stopped", "bad"};
    for (int persistent = 0; persistent <= 1; persistent++) {
        int counts[OOM_KINDS] = {0};
        uint64_t k = 1;
        for (;; k++) {
            int outcome = oom_run(script, k, persistent, &clean, &fired);
            if (!fired) break;
            counts[outcome]++;
        }
        fprintf(stderr, "server OOM loop (%s): k = 1..%llu: %s %d, %s %d, %s %d, %s %d\n",
                persistent ? "persistent" : "transient", (unsigned long long)(k - 1), names[0],
                counts[0], names[1], counts[1], names[2], counts[2], names[3], counts[3]);
        assert_int_equal(counts[OOM_BAD], 0);
        assert_true(k > 100); /* the script allocates: the loop did run */
    }
    free(clean);
    free(script);
}

/* R-PROTO-061: break variants exist only in this build; unknown names are refused */
static void test_protocol_break_variants(void **state) {
    (void)state;
    const char *const *names = gr_server_break_names();
    assert_non_null(names[0]);
    gr_server_config cfg = {.break_name = "no-such-variant"};
    const char *why = NULL;
    assert_null(gr_server_create(stdout, &cfg, &why));
    assert_non_null(why);
    cfg.break_name = names[0];
    gr_server *s = gr_server_create(stdout, &cfg, &why);
    assert_non_null(s);
    gr_server_destroy(s);
}

/* The positions of eval_digest.h whose logits are the golden's, evaluated on a new runtime. */
static int golden_positions_now(void) {
    char *path = fixture_model("tiny-llama3-f32-gqa-tied");
    ggufref_runtime *rt = NULL;
    assert_int_equal(ggufref_runtime_create(&rt), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_load_model_file(rt, path), GGUFREF_OK);
    free(path);
    uint64_t got[ED_N];
    assert_int_equal(ed_evaluate(rt, got), GGUFREF_OK);
    ggufref_runtime_destroy(rt);
    int n = 0;
    for (int i = 0; i < ED_N; i++) n += got[i] == ed_llama3_digests[i];
    return n;
}

/* R-FAULT-007: the variants made in the forward pass (rope-off-by-one, no-rope-freqs) arm the
 * library's break hook for the server's lifetime: the rope_freqs fixture's logits differ from
 * the golden at every position but the first while the server exists, and are the golden's
 * again once it is destroyed (a later server or test is not broken). */
static void test_protocol_break_variants_in_the_library(void **state) {
    (void)state;
    const char *const rope[] = {"rope-off-by-one", "no-rope-freqs"};
    for (size_t i = 0; i < 2; i++) {
        gr_server_config cfg = {.break_name = rope[i]};
        const char *why = NULL;
        gr_server *s = gr_server_create(stdout, &cfg, &why);
        assert_non_null(s);
        assert_int_equal(golden_positions_now(), 1);
        gr_server_destroy(s);
        assert_int_equal(golden_positions_now(), ED_N);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_protocol_boot_answers_capabilities, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_protocol_malformed_lines_get_structured_errors,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_protocol_oversized_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protocol_integer_ids_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protocol_ids_echoed_as_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protocol_generate_streams_tokens_and_logits, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_protocol_logits_are_the_runtimes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protocol_break_position_shift, setup_position_shift,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_protocol_runtime_errors_carry_state, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_protocol_cancel_through_the_reader, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_protocol_evaluate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protocol_library_messages_passed_through, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_protocol_fault_commands, setup, teardown),
        cmocka_unit_test(test_protocol_break_variants),
        cmocka_unit_test(test_protocol_break_variants_in_the_library),
        cmocka_unit_test_setup_teardown(test_protocol_strict_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protocol_duplicate_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protocol_line_limit_and_crlf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protocol_malformed_lines_wait_for_the_stream, setup,
                                        teardown),
        cmocka_unit_test(test_protocol_write_failure_is_not_success),
        cmocka_unit_test(test_protocol_cli_closed_stdout),
        cmocka_unit_test(test_protocol_queue_is_linear),
        cmocka_unit_test(test_protocol_server_under_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#else /* no cJSON: serve is unavailable and says so */

static void test_protocol_unavailable_without_cjson(void **state) {
    (void)state;
    gr_server_config cfg = {0};
    const char *why = NULL;
    assert_null(gr_server_create(stdout, &cfg, &why));
    assert_non_null(strstr(why, "cJSON"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_protocol_unavailable_without_cjson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
