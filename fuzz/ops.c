/*
 * ops.c — fuzz target: bytes to a sequence of runtime operations on one handle (SPEC
 * chapter 7), checked against the transition table after every step.
 *
 * The oracle is conformance/transitions.tsv itself, embedded at build time (fixtures.txt) and
 * parsed once: after each operation the observed (status, next state) must be the outcome of
 * a row for (state before, operation) whose condition is possible in this run — `panic` only
 * if an armed panic point fired, `oom`/`oom-init` only if an armed allocation failure fired,
 * `cancelled` only if the token callback cancelled, `io` never (no file loads), and
 * RECOVERABLE_ERROR's model+/no-model qualifiers per the residency the target tracks (READY
 * and CONTINUATION_READY hold a model; UNINITIALIZED, INITIALIZED and FREED none; a move into
 * RECOVERABLE_ERROR keeps it). REJECTED matches any status but OK, OUT_OF_MEMORY, IO_ERROR and
 * GENERATION_FAILED.
 *
 * Also checked after every step (unless a panic fired):
 *   - a failure other than GENERATION_FAILED and CANCELLED, and every last_error / result /
 *     cancel / diagnostics call, leaves the state digest unchanged (R-STATUS-004, R-RT-005,
 *     R-RT-006, R-RT-010, R-RT-040);
 *   - OUT_OF_MEMORY only when an armed allocation failure fired;
 *   - last_error reports the most recent non-OK status (R-RT-008);
 *   - with the pristine fixture resident: at most n_ctx tokens, and the result bytes are the
 *     pieces of the generated tokens (R-RT-041);
 *   - diagnostics start with the schema and the current state's name (R-RT-030);
 *   - a completed generate on the pristine fixture gives the same tokens as an earlier one
 *     with the same settings and prompt in the same input, whatever ran between (R-RT-024);
 *   - the logits the token callback gets are, bit for bit, those of ggufref_forward over the
 *     same tokens on a context of our own (R-RT-029), for every token of a request on the
 *     pristine fixture;
 *   - evaluate (R-RT-045) calls its callback once per position, in order, with the caller's
 *     token and (pristine fixture) the logits of ggufref_forward over tokens[0..i]; when it
 *     succeeds every position was called back and the request is cleared (no tokens, no
 *     result bytes). Its ids are valid ones, out of range ones (rejected), none, or n_ctx + 1
 *     (overflow), from the input.
 *
 * Input: a sequence of operations, each one opcode byte (taken modulo the number of opcodes)
 * and its arguments; at most FZ_MAX_OPS operations. The model is the micro fixture, or a copy
 * with one byte changed, or a prefix of it, or bytes from the input. Fault hooks are armed only
 * for the one operation that follows the arming opcode and disarmed after it and at the end
 * of the input, so no state survives an input.
 */
#include "fixtures.h"
#include "fuzz.h"

#define FZ_MAX_OPS 48u
#define FZ_MAX_ROWS 400u

/* ---- the transition table ---------------------------------------------------------------- */

enum fz_op {
    OP_INIT, OP_LOAD, OP_CONFIGURE, OP_GENERATE, OP_NEXT, OP_RESET, OP_FREE, OP_DIAGNOSTICS,
    OP_LAST_ERROR, OP_RESULT, OP_CANCEL, OP_EVALUATE, OP_COUNT
};
static const char *const op_names[OP_COUNT] = {
    "init", "load_model", "configure_sampling", "generate", "generate_next_token",
    "reset_context", "free_model", "diagnostics", "last_error", "result", "cancel", "evaluate",
};

#define FZ_REJECTED (-1) /* the table's REJECTED status */

typedef struct fz_row {
    int state, op, status, next; /* ggufref_state, enum fz_op, ggufref_status or FZ_REJECTED */
    char cond[24];               /* condition without qualifier: "-", ok, oom, ... */
    int residency;               /* -1 any, 0 no-model+, 1 model+ */
} fz_row;

static fz_row rows[FZ_MAX_ROWS];
static size_t n_rows;

static int lookup_name(const char *s, size_t n, const char *(*name)(int), int count) {
    for (int i = 0; i < count; i++) {
        const char *c = name(i);
        if (strlen(c) == n && memcmp(c, s, n) == 0) return i;
    }
    return -2;
}
static const char *state_name_i(int i) { return ggufref_state_name((ggufref_state)i); }
static const char *status_name_i(int i) { return ggufref_status_name((ggufref_status)i); }
static const char *op_name_i(int i) { return op_names[i]; }

/* Split one line into 5 tab-separated fields. */
static bool split5(const char *line, size_t len, const char *f[5], size_t fl[5]) {
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= len && k < 5; i++) {
        if (i == len || line[i] == '\t') {
            f[k] = line + start;
            fl[k++] = i - start;
            start = i + 1;
        }
    }
    return k == 5;
}

static void parse_row(const char *line, size_t len) {
    const char *f[5];
    size_t fl[5];
    FZ_CHECK(split5(line, len, f, fl), "transitions.tsv: a line without 5 fields");
    if (fl[0] == 5 && memcmp(f[0], "state", 5) == 0) return; /* the column header */
    FZ_CHECK(n_rows < FZ_MAX_ROWS, "transitions.tsv: too many rows");
    fz_row *r = &rows[n_rows++];
    r->state = lookup_name(f[0], fl[0], state_name_i, GGUFREF_STATE_COUNT);
    r->op = lookup_name(f[1], fl[1], op_name_i, OP_COUNT);
    r->next = lookup_name(f[4], fl[4], state_name_i, GGUFREF_STATE_COUNT);
    r->status = (fl[3] == 8 && memcmp(f[3], "REJECTED", 8) == 0)
                    ? FZ_REJECTED
                    : lookup_name(f[3], fl[3], status_name_i, GGUFREF_STATUS_COUNT);
    FZ_CHECK(r->state >= 0 && r->op >= 0 && r->next >= 0 && r->status >= FZ_REJECTED,
             "transitions.tsv: unknown name in '%.*s'", (int)len, line);
    const char *c = f[2];
    size_t cl = fl[2];
    r->residency = -1;
    if (cl >= 6 && memcmp(c, "model+", 6) == 0) {
        r->residency = 1;
        c += 6;
        cl -= 6;
    } else if (cl >= 9 && memcmp(c, "no-model+", 9) == 0) {
        r->residency = 0;
        c += 9;
        cl -= 9;
    } else if (cl == 5 && memcmp(c, "model", 5) == 0) {
        r->residency = 1;
        c = "-";
        cl = 1;
    } else if (cl == 8 && memcmp(c, "no-model", 8) == 0) {
        r->residency = 0;
        c = "-";
        cl = 1;
    }
    FZ_CHECK(cl < sizeof r->cond, "transitions.tsv: long condition");
    memcpy(r->cond, c, cl);
    r->cond[cl] = '\0';
}

static void parse_table(const unsigned char *text, size_t size) {
    const char *p = (const char *)text, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (len > 0 && p[0] != '#') parse_row(p, len);
        p += len + 1;
    }
    FZ_CHECK(n_rows > 100, "transitions.tsv: only %zu rows", n_rows);
}

/* ---- fixtures ---------------------------------------------------------------------------- */

static ggufref_gguf *fz_gguf;
static ggufref_model *fz_model; /* the pristine fixture, for expected pieces */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    parse_table(fz_fixture_transitions, fz_fixture_transitions_size);
    ggufref_error err;
    FZ_CHECK(ggufref_gguf_open_memory(fz_fixture_micro, fz_fixture_micro_size, &fz_gguf, &err) ==
                 GGUFREF_OK, "fixture: %s", err.message);
    FZ_CHECK(ggufref_model_load(fz_gguf, &fz_model, &err) == GGUFREF_OK, "fixture: %s",
             err.message);
    return 0;
}

/* ---- one run ----------------------------------------------------------------------------- */

/* One completed request, for R-RT-024: same model, settings and prompt, same tokens. */
typedef struct fz_memo {
    ggufref_sampling s;
    char prompt[48];
    size_t prompt_len;
    int32_t tokens[64];
    size_t n_tokens, n_prompt;
} fz_memo;

#define FZ_MEMOS 4u

typedef struct fz_world {
    ggufref_runtime *rt;
    bool resident;          /* the table's residency of the runtime */
    bool pristine;          /* the resident model is the unmodified fixture */
    ggufref_status last;    /* expected last_error status */
    /* per operation */
    bool cancel_requested;
    uint32_t cancel_after;  /* callback cancels at this token (0 = never) */
    uint32_t callbacks;
    char prompt[48];        /* the last generate's prompt */
    size_t prompt_len;
    fz_memo memo[FZ_MEMOS]; /* completed requests on the pristine model */
    size_t n_memo;
    /* R-RT-029: the token sequence of the running request, replayed on a context of our own */
    bool tracking;          /* this generate runs on the pristine fixture */
    ggufref_context *ref;   /* our own context of the pristine fixture, one per input */
    int32_t seq[64];
    size_t n_seq;
    size_t n_ref_run;       /* tokens of seq already run through ref */
    /* evaluate (R-RT-045): its ids and the next position its callback must see */
    int32_t eval_ids[64];
    size_t n_eval;
    uint32_t eval_pos;
} fz_world;

/* R-RT-029: the logits a token was sampled from are, bit for bit, what ggufref_forward gives
 * for the sequence before it: run the sequence on our own context of the pristine fixture. */
static void check_callback_logits(fz_world *w, int32_t token, const float *logits,
                                  uint32_t n_vocab) {
    ggufref_model_info info;
    ggufref_model_get_info(fz_model, &info);
    FZ_CHECK(n_vocab == info.n_vocab, "callback n_vocab %u, model %u", n_vocab, info.n_vocab);
    if (w->n_seq == 0 || w->n_seq >= sizeof w->seq / sizeof w->seq[0]) {
        w->tracking = false;
        return;
    }
    const float *mine = NULL;
    for (; w->n_ref_run < w->n_seq; w->n_ref_run++) {
        ggufref_status st = ggufref_forward(w->ref, w->seq[w->n_ref_run], (uint32_t)w->n_ref_run,
                                            &mine);
        FZ_CHECK(st == GGUFREF_OK, "reference forward at %zu: %s", w->n_ref_run,
                 ggufref_status_name(st));
    }
    FZ_CHECK(memcmp(mine, logits, n_vocab * sizeof *logits) == 0,
             "callback logits differ from ggufref_forward of the same %zu tokens", w->n_seq);
    w->seq[w->n_seq++] = token;
}

/* Start tracking a request on the pristine fixture: seq = the tokens before the first new one
 * (the prompt for generate, all tokens so far for generate_next_token). */
static void track_request(fz_world *w, bool next) {
    w->tracking = false;
    if (!w->pristine || !w->resident) return;
    ggufref_model_info info;
    ggufref_model_get_info(fz_model, &info);
    size_t n = 0;
    if (next) {
        const int32_t *tokens = NULL;
        ggufref_runtime_tokens(w->rt, &tokens, &n, NULL);
        if (n == 0 || n > sizeof w->seq / sizeof w->seq[0]) return;
        memcpy(w->seq, tokens, n * sizeof *tokens);
    } else if (ggufref_tokenize(fz_model, w->prompt, w->prompt_len, info.add_bos, w->seq,
                                sizeof w->seq / sizeof w->seq[0], &n) != GGUFREF_OK) {
        return;
    }
    w->n_seq = n;
    w->n_ref_run = 0; /* rerun from position 0: overwrites the KV rows (R-NUM-040) */
    w->tracking = true;
}

static void on_token(int32_t token, const char *piece, size_t len, const float *logits,
                     uint32_t n_vocab, void *user) {
    fz_world *w = user;
    /* Both views are readable for the whole call (R-RT-029): ASan checks every byte. */
    fz_consume(fz_touch_bytes(piece, len) + fz_touch_f32(logits, n_vocab));
    if (w->tracking) check_callback_logits(w, token, logits, n_vocab);
    w->callbacks++;
    if (w->cancel_after != 0 && w->callbacks == w->cancel_after) {
        w->cancel_requested = true;
        ggufref_runtime_cancel(w->rt);
    }
}

/* Does the table allow (status, next) after op from `before` in this run? */
static bool allowed(ggufref_state before, int op, ggufref_status st, ggufref_state next,
                    const fz_world *w, bool panicked, bool oom) {
    for (size_t i = 0; i < n_rows; i++) {
        const fz_row *r = &rows[i];
        if (r->state != (int)before || r->op != op || r->next != (int)next) continue;
        if (r->residency >= 0 && r->residency != (int)w->resident) continue;
        if (r->status == FZ_REJECTED) {
            if (st == GGUFREF_OK || st == GGUFREF_ERR_OUT_OF_MEMORY || st == GGUFREF_ERR_IO ||
                st == GGUFREF_ERR_GENERATION_FAILED) {
                continue;
            }
        } else if (r->status != (int)st) {
            continue;
        }
        if (strcmp(r->cond, "panic") == 0 && !panicked) continue;
        if ((strcmp(r->cond, "oom") == 0 || strcmp(r->cond, "oom-init") == 0) && !oom) continue;
        if (strcmp(r->cond, "io") == 0) continue;
        if (strcmp(r->cond, "cancelled") == 0 && !w->cancel_requested) continue;
        return true;
    }
    return false;
}

/* Sampling settings: valid ones mapped from bytes, or (flag) raw bits that may be invalid. */
static void read_sampling(fz_bytes *in, ggufref_sampling *s) {
    ggufref_sampling_default(s);
    uint8_t mode = fz_u8(in);
    s->temperature = (mode & 1u) ? fz_f32_bits(in) : (float)fz_u8(in) / 32.0f;
    s->top_k = (int32_t)fz_range(in, 0, 40);
    s->top_p = (float)(fz_u8(in) + 1u) / 256.0f;
    s->min_p = (float)fz_u8(in) / 512.0f;
    s->repeat_penalty = 0.5f + (float)fz_u8(in) / 64.0f;
    s->repeat_last_n = (int32_t)fz_u8(in);
    s->seed = fz_u64(in);
    s->max_tokens = (mode & 2u) ? (int32_t)fz_u32(in) : (int32_t)fz_range(in, 1, 20);
    s->stop_at_eos = (mode & 4u) != 0;
}

/* Load: the fixture, a copy with one byte set, a prefix of it, or bytes of the input. */
static ggufref_status op_load(fz_world *w, fz_bytes *in, bool *pristine) {
    uint8_t kind = fz_u8(in) % 4u;
    size_t n = fz_fixture_micro_size;
    *pristine = kind == 0;
    if (kind == 0) return ggufref_runtime_load_model(w->rt, fz_fixture_micro, n);
    if (kind == 3) {
        size_t len = fz_u8(in);
        uint8_t buf[256];
        fz_take_raw(in, buf, len);
        return ggufref_runtime_load_model(w->rt, buf, len);
    }
    uint8_t *copy = malloc(n);
    FZ_CHECK(copy != NULL, "out of memory in the target");
    memcpy(copy, fz_fixture_micro, n);
    size_t pos = fz_u32(in) % n;
    if (kind == 1) {
        copy[pos] = fz_u8(in);
    } else {
        n = pos;
    }
    ggufref_status st = ggufref_runtime_load_model(w->rt, copy, n);
    free(copy);
    return st;
}

/* A generate's arguments, read before any fault is armed. */
typedef struct fz_gen_args {
    bool null_prompt, no_callback;
} fz_gen_args;

static fz_gen_args read_generate(fz_world *w, fz_bytes *in) {
    uint8_t flags = fz_u8(in);
    w->cancel_after = fz_u8(in) % 8u;
    size_t len = fz_u8(in) % 48u;
    fz_take_raw(in, w->prompt, len);
    w->prompt_len = len;
    fz_gen_args a = {(flags & 1u) != 0, (flags & 2u) != 0};
    return a;
}

static ggufref_status op_generate(fz_world *w, fz_gen_args a) {
    const char *p = a.null_prompt ? NULL : w->prompt; /* NULL with len > 0 is rejected */
    return ggufref_runtime_generate(w->rt, p, w->prompt_len, a.no_callback ? NULL : on_token, w);
}

/* evaluate's ids, read before any fault is armed: n in 0..17 (the micro fixture's n_ctx is 16,
 * so 17 overflows), each a byte mapped into the vocabulary, or (flag) raw 32 bits. */
static void read_evaluate(fz_world *w, fz_bytes *in) {
    uint8_t flags = fz_u8(in);
    w->n_eval = fz_range(in, 0, 17);
    w->cancel_after = fz_u8(in) % 8u; /* a cancel from the callback must change nothing */
    for (size_t i = 0; i < w->n_eval; i++) {
        w->eval_ids[i] = (flags & 1u) && fz_u8(in) == 0 ? (int32_t)fz_u32(in)
                                                        : (int32_t)fz_u8(in);
    }
    w->eval_pos = 0;
}

static void on_position(uint32_t pos, int32_t token, const float *logits, uint32_t n_vocab,
                        void *user) {
    fz_world *w = user;
    fz_consume(fz_touch_f32(logits, n_vocab));
    FZ_CHECK(pos == w->eval_pos && pos < w->n_eval && token == w->eval_ids[pos],
             "evaluate called back position %u token %d, expected position %u of %zu", pos,
             token, w->eval_pos, w->n_eval);
    w->eval_pos++;
    if (w->pristine && w->resident) { /* R-RT-045: ggufref_forward over tokens[0..pos] */
        ggufref_model_info info;
        ggufref_model_get_info(fz_model, &info);
        FZ_CHECK(n_vocab == info.n_vocab, "evaluate callback n_vocab %u, model %u", n_vocab,
                 info.n_vocab);
        const float *mine = NULL;
        ggufref_status st = ggufref_forward(w->ref, token, pos, &mine);
        FZ_CHECK(st == GGUFREF_OK, "reference forward at %u: %s", pos, ggufref_status_name(st));
        FZ_CHECK(memcmp(mine, logits, n_vocab * sizeof *logits) == 0,
                 "evaluate logits at position %u differ from ggufref_forward", pos);
    }
    w->callbacks++;
    if (w->cancel_after != 0 && w->callbacks == w->cancel_after) {
        w->cancel_requested = true;
        ggufref_runtime_cancel(w->rt);
    }
}

static ggufref_status op_evaluate(fz_world *w) {
    return ggufref_runtime_evaluate(w->rt, w->eval_ids, w->n_eval, on_position, w);
}

/* Check the result bytes against the pieces of the generated tokens (pristine model). */
static void check_tokens_and_result(const fz_world *w) {
    const int32_t *tokens = NULL;
    size_t n_tokens = 0, n_prompt = 0;
    ggufref_runtime_tokens(w->rt, &tokens, &n_tokens, &n_prompt);
    FZ_CHECK(n_prompt <= n_tokens, "n_prompt %zu > n_tokens %zu", n_prompt, n_tokens);
    ggufref_str result;
    FZ_CHECK(ggufref_runtime_result(w->rt, &result) == GGUFREF_OK, "result");
    if (!w->pristine || !w->resident) return;
    ggufref_model_info info;
    ggufref_model_get_info(fz_model, &info);
    FZ_CHECK(n_tokens <= info.n_ctx_train, "%zu tokens in a context of %u", n_tokens,
             info.n_ctx_train);
    size_t at = 0;
    for (size_t i = n_prompt; i < n_tokens; i++) {
        FZ_CHECK(tokens[i] >= 0 && (uint32_t)tokens[i] < info.n_vocab, "token %d", tokens[i]);
        ggufref_str piece = ggufref_token_to_piece(fz_model, i > 0 ? tokens[i - 1] : -1, tokens[i]);
        FZ_CHECK(at + piece.len <= result.len &&
                     (piece.len == 0 || memcmp(result.ptr + at, piece.ptr, piece.len) == 0),
                 "result bytes differ from the pieces at token %zu", i);
        at += piece.len;
    }
    FZ_CHECK(at == result.len, "result has %zu bytes, pieces %zu", result.len, at);
}

/* R-RT-024: a completed generate on the pristine model depends only on the settings and the
 * prompt: the same pair gives the same tokens as the first time it was seen in this input. */
static bool same_float_bits(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

static bool same_sampling(const ggufref_sampling *a, const ggufref_sampling *b) {
    return same_float_bits(a->temperature, b->temperature) && a->top_k == b->top_k &&
           same_float_bits(a->top_p, b->top_p) && same_float_bits(a->min_p, b->min_p) &&
           same_float_bits(a->repeat_penalty, b->repeat_penalty) &&
           a->repeat_last_n == b->repeat_last_n && a->seed == b->seed &&
           a->max_tokens == b->max_tokens && a->stop_at_eos == b->stop_at_eos;
}

static void check_determinism(fz_world *w) {
    fz_memo now;
    memset(&now, 0, sizeof now);
    ggufref_runtime_get_sampling(w->rt, &now.s);
    memcpy(now.prompt, w->prompt, w->prompt_len);
    now.prompt_len = w->prompt_len;
    const int32_t *tokens = NULL;
    ggufref_runtime_tokens(w->rt, &tokens, &now.n_tokens, &now.n_prompt);
    if (now.n_tokens > sizeof now.tokens / sizeof now.tokens[0]) return;
    memcpy(now.tokens, tokens, now.n_tokens * sizeof *tokens);
    for (size_t i = 0; i < w->n_memo; i++) {
        const fz_memo *m = &w->memo[i];
        if (m->prompt_len != now.prompt_len || memcmp(m->prompt, now.prompt, now.prompt_len) != 0 ||
            !same_sampling(&m->s, &now.s)) {
            continue;
        }
        FZ_CHECK(m->n_tokens == now.n_tokens && m->n_prompt == now.n_prompt &&
                     memcmp(m->tokens, now.tokens, now.n_tokens * sizeof *tokens) == 0,
                 "the same request gave other tokens (%zu vs %zu) after other operations",
                 now.n_tokens, m->n_tokens);
        return;
    }
    if (w->n_memo < FZ_MEMOS) w->memo[w->n_memo++] = now;
}

static void check_diagnostics(const fz_world *w, ggufref_str d) {
    static const char schema[] = "{\"schema\":\"ggufref-diagnostics-1\",\"state\":\"";
    FZ_CHECK(d.len > sizeof schema && memcmp(d.ptr, schema, sizeof schema - 1) == 0,
             "diagnostics do not start with the schema");
    const char *name = ggufref_state_name(ggufref_runtime_state(w->rt));
    size_t nl = strlen(name);
    FZ_CHECK(d.len > sizeof schema - 1 + nl && memcmp(d.ptr + sizeof schema - 1, name, nl) == 0 &&
                 d.ptr[sizeof schema - 1 + nl] == '"',
             "diagnostics state is not %s", name);
}

/* Run one operation of the input and check it. */
static void step(fz_world *w, fz_bytes *in) {
    uint8_t code = fz_u8(in);
    int op = code % (OP_COUNT + 2);
    uint32_t fail_alloc = 0;
    const char *panic_point = NULL;
    if (op >= OP_COUNT) { /* arm a fault for the next operation */
        if (op == OP_COUNT) {
            fail_alloc = fz_range(in, 1, 64);
        } else {
            size_t n = ggufref_fault_panic_point_count();
            panic_point = n ? ggufref_fault_panic_point_name(fz_u8(in) % n) : NULL;
        }
        op = fz_u8(in) % OP_COUNT;
    }
    ggufref_state before = ggufref_runtime_state(w->rt);
    uint64_t digest_before = ggufref_runtime_digest(w->rt);
    w->cancel_requested = false;
    w->cancel_after = 0;
    w->callbacks = 0;
    bool pristine = w->pristine;
    ggufref_sampling s;
    ggufref_str view = {NULL, 0};
    ggufref_error err;
    fz_gen_args gen = {false, false};
    /* Arguments and tracking first: they may allocate, and must not meet an armed fault. */
    if (op == OP_CONFIGURE) read_sampling(in, &s);
    if (op == OP_GENERATE) gen = read_generate(w, in);
    if (op == OP_EVALUATE) read_evaluate(w, in);
    w->tracking = false;
    if (op == OP_GENERATE && !gen.null_prompt) track_request(w, false);
    if (op == OP_NEXT) track_request(w, true);
    if (fail_alloc) ggufref_fault_alloc_fail_at(fail_alloc);
    if (panic_point) ggufref_fault_panic_at(panic_point);

    ggufref_status st = GGUFREF_OK;
    switch (op) {
    case OP_INIT: st = ggufref_runtime_init(w->rt); break;
    case OP_LOAD: st = op_load(w, in, &pristine); break;
    case OP_CONFIGURE: st = ggufref_runtime_configure_sampling(w->rt, &s); break;
    case OP_GENERATE: st = op_generate(w, gen); break;
    case OP_NEXT: st = ggufref_runtime_generate_next_token(w->rt, on_token, w); break;
    case OP_RESET: st = ggufref_runtime_reset_context(w->rt); break;
    case OP_FREE: st = ggufref_runtime_free_model(w->rt); break;
    case OP_DIAGNOSTICS: st = ggufref_runtime_diagnostics(w->rt, &view); break;
    case OP_LAST_ERROR: st = ggufref_runtime_last_error(w->rt, &err); break;
    case OP_RESULT: st = ggufref_runtime_result(w->rt, &view); break;
    case OP_EVALUATE: st = op_evaluate(w); break;
    default: st = ggufref_runtime_cancel(w->rt); break;
    }
    bool oom = fail_alloc && ggufref_fault_alloc_fired();
    bool panicked = panic_point && ggufref_fault_panic_fired();
    ggufref_fault_alloc_fail_at(0);
    ggufref_fault_panic_at(NULL);

    ggufref_state after = ggufref_runtime_state(w->rt);
    FZ_CHECK(allowed(before, op, st, after, w, panicked, oom),
             "%s in %s returned %s and moved to %s: no row of transitions.tsv allows it "
             "(model %d, oom fired %d, panic fired %d, cancel %d)", op_names[op],
             ggufref_state_name(before), ggufref_status_name(st), ggufref_state_name(after),
             (int)w->resident, (int)oom, (int)panicked, (int)w->cancel_requested);
    FZ_CHECK(st != GGUFREF_ERR_OUT_OF_MEMORY || oom, "OUT_OF_MEMORY without a failed allocation");
    if (after == GGUFREF_STATE_POISONED) return;

    bool changes = st == GGUFREF_OK || st == GGUFREF_ERR_CANCELLED ||
                   st == GGUFREF_ERR_GENERATION_FAILED;
    if (op == OP_LAST_ERROR || op == OP_RESULT || op == OP_CANCEL || op == OP_DIAGNOSTICS) {
        changes = false;
    }
    if (!changes) {
        FZ_CHECK(ggufref_runtime_digest(w->rt) == digest_before,
                 "%s returned %s in %s but changed the state digest", op_names[op],
                 ggufref_status_name(st), ggufref_state_name(before));
    }
    if (op == OP_LAST_ERROR) {
        FZ_CHECK(st == GGUFREF_OK && err.status == w->last, "last_error %s, expected %s",
                 ggufref_status_name(err.status), ggufref_status_name(w->last));
    } else if (op != OP_RESULT && op != OP_CANCEL && st != GGUFREF_OK &&
               !(st == GGUFREF_ERR_OUT_OF_MEMORY && after == GGUFREF_STATE_UNINITIALIZED)) {
        w->last = st; /* R-RT-008; oom-init has no runtime value to record it in */
    }
    if (op == OP_DIAGNOSTICS && st == GGUFREF_OK) check_diagnostics(w, view);

    if (after == GGUFREF_STATE_READY || after == GGUFREF_STATE_CONTINUATION_READY) {
        w->resident = true;
    } else if (after != GGUFREF_STATE_RECOVERABLE_ERROR) {
        w->resident = false;
    }
    if (op == OP_LOAD && st == GGUFREF_OK) w->pristine = pristine;
    if (op == OP_EVALUATE && st == GGUFREF_OK) { /* every position, then a cleared request */
        const int32_t *tokens = NULL;
        size_t n_tokens = 0;
        ggufref_str result;
        ggufref_runtime_tokens(w->rt, &tokens, &n_tokens, NULL);
        FZ_CHECK(w->eval_pos == w->n_eval && n_tokens == 0 &&
                     ggufref_runtime_result(w->rt, &result) == GGUFREF_OK && result.len == 0,
                 "evaluate OK after %u of %zu positions with %zu tokens left", w->eval_pos,
                 w->n_eval, n_tokens);
    }
    check_tokens_and_result(w);
    if (op == OP_GENERATE && st == GGUFREF_OK && w->pristine && !w->cancel_requested) {
        check_determinism(w);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_bytes in = fz_bytes_make(data, size);
    fz_world w = {0};
    w.last = GGUFREF_OK;
    FZ_CHECK(ggufref_runtime_create(&w.rt) == GGUFREF_OK, "runtime_create");
    /* Created before any fault is armed: the callback's reference forward never allocates. */
    FZ_CHECK(ggufref_context_create(fz_model, 0, &w.ref) == GGUFREF_OK, "context_create");
    FZ_CHECK(ggufref_runtime_state(w.rt) == GGUFREF_STATE_UNINITIALIZED, "a new runtime's state");
    for (uint32_t i = 0; i < FZ_MAX_OPS && in.n > 0; i++) step(&w, &in);
    ggufref_runtime_destroy(w.rt);
    ggufref_context_free(w.ref);
    return 0;
}
