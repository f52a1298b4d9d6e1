/*
 * cmd_generate.c — `ggufref generate` and `ggufref tokenize` (SPEC R-SAMP-040..042).
 *
 *   ggufref generate --model FILE --prompt TEXT [--max-tokens N | --steps N]
 *                    [--temperature T] [--top-k K] [--top-p P] [--min-p M]
 *                    [--repeat-penalty R] [--repeat-last-n N] [--seed S] [--ctx N]
 *                    [--threads N] [--json]
 *   ggufref tokenize --model FILE [--no-bos] TEXT
 *
 * One loop, the runtime's (ggufref_runtime_generate, R-RT-023), in two modes:
 *   --steps N       llama2.c run.c's -n, so its published outputs come out of this command:
 *                   BOS + prompt forced, positions 0..N-1, a sampled BOS ends the run (the
 *                   token callback cancels the request there);
 *   --max-tokens N  the runtime's request: prompt with the model's add_bos, then up to N
 *                   sampled tokens, stopping after EOS.
 * --ctx N caps the tokens of the run at N (the runtime's context is the model's, R-RT-016).
 * --threads N runs the forward pass on N threads (R-NUM-049; the same output for every N).
 * Text goes to stdout as it is made; --json prints one record per sampled token instead.
 * Exit codes: 0 ok, 1 model or runtime failure, 2 usage (cli.h).
 */
#include "cli.h"
#include "ggufref.h"
#include "internal.h" /* reference/src: gr_quote_n */
#include "sampler.h"  /* reference/src: gr_top_logits */
#include "text.h"    /* reference/src: gr_json_string */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define TOP_N 5 /* logits reported per --json record */

typedef struct gen_args {
    const char *model;
    const char *prompt;
    int32_t steps;        /* 0: --max-tokens mode */
    int32_t ctx;          /* --ctx, 0 = the model's */
    uint32_t threads;     /* --threads, 0 = the default (1) */
    bool json;
    ggufref_sampling s;
} gen_args;

/* ---- argument parsing ------------------------------------------------------------------ */

static int usage_error(const char *cmd, const char *what, const char *arg) {
    fprintf(stderr, "ggufref %s: %s%s%s%s (see ggufref help)\n", cmd, what, arg ? " '" : "",
            arg ? arg : "", arg ? "'" : "");
    return EXIT_USAGE;
}

/* A whole-string integer in [lo, hi] (cli.h). OUT: *out. */
bool cli_parse_i64(const char *s, long long lo, long long hi, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) return false;
    *out = v;
    return true;
}

/* A whole-string unsigned 64-bit integer (decimal or 0x hex). OUT: *out. */
static bool parse_u64(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    if (s[0] == '-' || s[0] == '+') return false;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0') return false;
    *out = (uint64_t)v;
    return true;
}

/* A whole-string float (finite checks are the validator's). OUT: *out. */
static bool parse_f32(const char *s, float *out) {
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (errno != 0 || end == s || *end != '\0') return false;
    *out = v;
    return true;
}

/* One "--name value" option into a; returns 0, or the exit code of a usage error. */
static int parse_option(const char *name, const char *val, bool *max_set, gen_args *a) {
    long long v;
    bool ok = true;
    if (strcmp(name, "--model") == 0) a->model = val;
    else if (strcmp(name, "--prompt") == 0) a->prompt = val;
    else if (strcmp(name, "--max-tokens") == 0) {
        ok = cli_parse_i64(val, 1, INT32_MAX, &v);
        a->s.max_tokens = (int32_t)v;
        *max_set = true;
    } else if (strcmp(name, "--steps") == 0) {
        ok = cli_parse_i64(val, 1, INT32_MAX, &v);
        a->steps = (int32_t)v;
    } else if (strcmp(name, "--temperature") == 0) ok = parse_f32(val, &a->s.temperature);
    else if (strcmp(name, "--top-k") == 0) {
        ok = cli_parse_i64(val, 0, INT32_MAX, &v);
        a->s.top_k = (int32_t)v;
    } else if (strcmp(name, "--top-p") == 0) ok = parse_f32(val, &a->s.top_p);
    else if (strcmp(name, "--min-p") == 0) ok = parse_f32(val, &a->s.min_p);
    else if (strcmp(name, "--repeat-penalty") == 0) ok = parse_f32(val, &a->s.repeat_penalty);
    else if (strcmp(name, "--repeat-last-n") == 0) {
        ok = cli_parse_i64(val, 0, INT32_MAX, &v);
        a->s.repeat_last_n = (int32_t)v;
    } else if (strcmp(name, "--seed") == 0) ok = parse_u64(val, &a->s.seed);
    else if (strcmp(name, "--ctx") == 0) {
        ok = cli_parse_i64(val, 0, INT32_MAX, &v);
        a->ctx = (int32_t)v;
    } else if (strcmp(name, "--threads") == 0) {
        ok = cli_parse_i64(val, 1, GGUFREF_MAX_THREADS, &v);
        a->threads = (uint32_t)v;
    } else return usage_error("generate", "unknown option", name);
    if (!ok) {
        char what[64];
        snprintf(what, sizeof what, "bad value for %s:", name);
        return usage_error("generate", what, val);
    }
    return 0;
}

static int parse_generate(int argc, char **argv, gen_args *a) {
    memset(a, 0, sizeof *a);
    ggufref_sampling_default(&a->s);
    bool max_set = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            a->json = true;
            continue;
        }
        if (strncmp(argv[i], "--", 2) != 0) return usage_error("generate", "unexpected argument", argv[i]);
        if (i + 1 >= argc) return usage_error("generate", "missing value for", argv[i]);
        int rc = parse_option(argv[i], argv[i + 1], &max_set, a);
        if (rc != 0) return rc;
        i++;
    }
    if (a->model == NULL) return usage_error("generate", "--model FILE is required", NULL);
    if (a->prompt == NULL) a->prompt = "";
    if (a->steps > 0 && max_set) {
        return usage_error("generate", "--steps and --max-tokens exclude each other", NULL);
    }
    ggufref_error err;
    if (ggufref_sampling_validate(&a->s, &err) != GGUFREF_OK) {
        return usage_error("generate", err.message, NULL);
    }
    return 0;
}

/* ---- output ---------------------------------------------------------------------------- */

static void write_file(void *f, const char *p, size_t n) { fwrite(p, 1, n, f); }

typedef struct top_logit {
    int32_t id;
    float v;
} top_logit;

static void print_json_record(uint32_t pos, int32_t id, ggufref_str piece, const top_logit *top,
                              size_t n_top) {
    printf("{\"pos\":%u,\"id\":%d,\"piece\":", (unsigned)pos, (int)id);
    gr_json_string(write_file, stdout, piece.ptr, piece.len, 0); /* U+FFFD for bad bytes */
    fputs(",\"piece_hex\":\"", stdout);
    for (size_t i = 0; i < piece.len; i++) printf("%02x", (unsigned char)piece.ptr[i]);
    fputs("\",\"top\":[", stdout);
    for (size_t i = 0; i < n_top; i++) {
        uint32_t bits;
        memcpy(&bits, &top[i].v, sizeof bits);
        printf("%s{\"id\":%d,\"bits\":\"0x%08x\"}", i ? "," : "", (int)top[i].id, (unsigned)bits);
    }
    fputs("]}\n", stdout);
}

/* ---- generation: the runtime's loop (SPEC chapter 7) ------------------------------------- */

/* What the token callback needs: both modes run ggufref_runtime_generate, which forwards,
 * samples and hands each token, its piece and the logits it was sampled from to on_token. */
typedef struct session {
    ggufref_runtime *rt;
    const ggufref_model *model;  /* the runtime's resident model (borrowed) */
    ggufref_model_info info;
    uint32_t n_ctx;              /* the runtime's request capacity (tokens) */
    uint32_t limit;              /* positions the run may use: --ctx, else n_ctx */
    bool json;
    bool steps;                  /* --steps: R-SAMP-040 */
    int32_t n_steps;
    size_t n_printed;            /* tokens of the sequence printed so far (index of the next) */
    bool ended;                  /* --steps: a sampled BOS (or the last step) ended the run */
} session;

static int runtime_error(const char *cmd, const char *what, ggufref_status st, const char *msg) {
    fprintf(stderr, "ggufref %s: %s: %s%s%s\n", cmd, what, ggufref_status_name(st),
            msg && msg[0] ? ": " : "", msg ? msg : "");
    return EXIT_RUNTIME;
}

/* The runtime's last error as a CLI error. */
static int last_error(const session *s, const char *what, ggufref_status st) {
    ggufref_error err = {0};
    (void)ggufref_runtime_last_error(s->rt, &err);
    return runtime_error("generate", what, st, err.message);
}

/* Print tokens[from .. to) of the sequence: each piece with its predecessor (R-TOK-021). */
static void print_pieces(const session *s, const int32_t *tokens, size_t from, size_t to) {
    for (size_t i = from; i < to; i++) {
        ggufref_str piece = ggufref_token_to_piece(s->model, i > 0 ? tokens[i - 1] : -1, tokens[i]);
        fwrite(piece.ptr, 1, piece.len, stdout);
    }
}

/* ggufref_token_callback: token was sampled at position n_tokens - 2 from logits. */
static void on_token(int32_t token, const char *piece, size_t len, const float *logits,
                     uint32_t n_vocab, void *user) {
    session *s = user;
    const int32_t *tokens;
    size_t n, n_prompt;
    ggufref_runtime_tokens(s->rt, &tokens, &n, &n_prompt);
    if (s->ended) return;
    uint32_t pos = (uint32_t)(n - 2); /* the position whose logits chose token */
    if (s->n_printed == 0) { /* the prompt: all of it, or (--steps) the forced tokens after BOS */
        size_t from = s->steps ? 1 : 0, to = n_prompt;
        if (s->steps && to > (size_t)s->n_steps + 1) to = (size_t)s->n_steps + 1;
        if (!s->json) print_pieces(s, tokens, from, to);
        s->n_printed = to;
    }
    if (s->steps && (pos >= (uint32_t)s->n_steps || token == s->info.bos_id)) {
        s->ended = true; /* past the last step, or run.c's BOS that delimits sequences */
        (void)ggufref_runtime_cancel(s->rt);
        fflush(stdout);
        return;
    }
    s->n_printed = n;
    if (s->json) {
        int32_t ids[TOP_N];
        top_logit top[TOP_N];
        size_t k = gr_top_logits(logits, n_vocab, TOP_N, ids);
        for (size_t i = 0; i < k; i++) top[i] = (top_logit){ids[i], logits[ids[i]]};
        print_json_record(pos, token, (ggufref_str){piece, len}, top, k);
    } else {
        fwrite(piece, 1, len, stdout);
    }
    fflush(stdout);
}

static void session_close(session *s) { ggufref_runtime_destroy(s->rt); }

/* Create the runtime, load the model. Returns 0 or an exit code. */
static int session_open(session *s, const gen_args *a) {
    memset(s, 0, sizeof *s);
    ggufref_status st = ggufref_runtime_create(&s->rt);
    if (st != GGUFREF_OK) return runtime_error("generate", "runtime", st, NULL);
    if (a->threads > 1 && (st = ggufref_runtime_set_threads(s->rt, a->threads)) != GGUFREF_OK) {
        return runtime_error("generate", "--threads", st, "cannot use that many threads");
    }
    st = ggufref_runtime_load_model_file(s->rt, a->model);
    if (st != GGUFREF_OK) {
        char qpath[GR_QUOTE_PATH_MAX]; /* one line whatever the path's bytes (R-STATUS-003) */
        return last_error(s, gr_quote_n(qpath, sizeof qpath, a->model, strlen(a->model)), st);
    }
    s->model = ggufref_runtime_model(s->rt);
    ggufref_model_get_info(s->model, &s->info);
    s->n_ctx = s->info.n_ctx_train; /* the runtime's request capacity (R-RT-016) */
    if ((uint32_t)a->ctx > s->n_ctx) {
        return runtime_error("generate", "--ctx", GGUFREF_ERR_INVALID_ARGUMENT,
                             "cannot create the context");
    }
    s->limit = a->ctx > 0 ? (uint32_t)a->ctx : s->n_ctx;
    s->json = a->json;
    return 0;
}

/* Count the prompt's tokens (with BOS when add_bos) and check that they and `room` more fit
 * the limit. OUT: *n. Returns 0 or an exit code. */
static int count_prompt(const session *s, const char *prompt, bool add_bos, size_t room, size_t *n) {
    ggufref_status st = ggufref_tokenize(s->model, prompt, strlen(prompt), add_bos, NULL, 0, n);
    if (st != GGUFREF_OK && st != GGUFREF_ERR_LIMIT_EXCEEDED) {
        return runtime_error("generate", "--prompt", st, "cannot tokenize");
    }
    if (*n == 0) return runtime_error("generate", "--prompt", GGUFREF_ERR_INVALID_ARGUMENT, "the prompt has no tokens");
    if (*n > s->limit || room > s->limit - *n) {
        char msg[128];
        snprintf(msg, sizeof msg, "%zu prompt tokens + %zu do not fit the context of %u", *n, room,
                 (unsigned)s->limit);
        return runtime_error("generate", "--prompt", GGUFREF_ERR_CONTEXT_OVERFLOW, msg);
    }
    return 0;
}

/* Run one request with settings set and print as on_token goes. Returns 0 or an exit code. */
static int run_request(session *s, const gen_args *a, const ggufref_sampling *set) {
    ggufref_status st = ggufref_runtime_configure_sampling(s->rt, set);
    if (st == GGUFREF_OK) {
        st = ggufref_runtime_generate(s->rt, a->prompt, strlen(a->prompt), on_token, s);
    }
    if (st == GGUFREF_ERR_CANCELLED && s->ended) st = GGUFREF_OK; /* our own cancel */
    if (st != GGUFREF_OK) return last_error(s, "--prompt", st);
    if (s->n_printed == 0 && s->steps && !s->json) { /* no token sampled: print the forced */
        const int32_t *tokens;
        size_t n_prompt;
        ggufref_runtime_tokens(s->rt, &tokens, NULL, &n_prompt);
        print_pieces(s, tokens, 1, n_prompt);
    }
    return 0;
}

/* llama2.c run.c's loop (R-SAMP-040) on the runtime: the prompt (BOS always: the model's
 * add_bos must be set) is forced, then tokens are sampled for the positions left of
 * 0 .. n_steps-1, a sampled BOS ending the run; EOS does not stop it. The sequence of N steps
 * has N + 1 tokens, so N must stay below the context length (the runtime holds n_ctx tokens). */
static int run_steps(session *s, const gen_args *a) {
    if (!s->info.add_bos || s->info.bos_id < 0) {
        return runtime_error("generate", "--steps", GGUFREF_ERR_UNSUPPORTED_MODEL,
                             "run.c's loop starts with BOS; this model adds none (use --max-tokens)");
    }
    if ((uint32_t)a->steps >= s->limit) {
        char msg[128];
        snprintf(msg, sizeof msg, "--steps %d needs %d tokens; the context holds %u",
                 (int)a->steps, (int)a->steps + 1, (unsigned)s->limit);
        return runtime_error("generate", "--steps", GGUFREF_ERR_CONTEXT_OVERFLOW, msg);
    }
    size_t n_prompt;
    int rc = count_prompt(s, a->prompt, true, 0, &n_prompt);
    if (rc != 0) return rc;
    s->steps = true;
    s->n_steps = a->steps;
    ggufref_sampling set = a->s;
    set.stop_at_eos = false;
    /* the tokens sampled at positions n_prompt-1 .. n_steps-1; at least one (ignored) */
    set.max_tokens = (size_t)a->steps >= n_prompt ? a->steps - (int32_t)n_prompt + 1 : 1;
    return run_request(s, a, &set);
}

/* The runtime's request (R-SAMP-041): prompt with the model's add_bos, up to max_tokens
 * sampled tokens, stopping after EOS. */
static int run_max_tokens(session *s, const gen_args *a) {
    size_t n_prompt;
    int rc = count_prompt(s, a->prompt, s->info.add_bos, (size_t)a->s.max_tokens, &n_prompt);
    if (rc != 0) return rc;
    s->n_steps = a->s.max_tokens;
    return run_request(s, a, &a->s);
}

int cmd_generate(int argc, char **argv) {
    gen_args a;
    int rc = parse_generate(argc, argv, &a);
    if (rc != 0) return rc;
    session s;
    rc = session_open(&s, &a);
    if (rc == 0) {
        rc = a.steps > 0 ? run_steps(&s, &a) : run_max_tokens(&s, &a);
        if (rc == 0 && !a.json) putchar('\n');
    }
    session_close(&s);
    return rc;
}

/* ---- tokenize ---------------------------------------------------------------------------- */

int cmd_tokenize(int argc, char **argv) {
    const char *model = NULL, *text = NULL;
    bool no_bos = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--model") == 0) {
            if (++i >= argc) return usage_error("tokenize", "missing value for", "--model");
            model = argv[i];
        } else if (strcmp(argv[i], "--no-bos") == 0) {
            no_bos = true;
        } else if (strncmp(argv[i], "--", 2) == 0 && argv[i][2] != '\0') {
            return usage_error("tokenize", "unknown option", argv[i]);
        } else if (text != NULL) {
            return usage_error("tokenize", "unexpected argument", argv[i]);
        } else {
            text = argv[i];
        }
    }
    if (model == NULL || text == NULL) return usage_error("tokenize", "usage: tokenize --model FILE [--no-bos] TEXT", NULL);
    ggufref_gguf *g = NULL;
    ggufref_model *m = NULL;
    ggufref_error err = {0};
    int32_t *ids = NULL;
    ggufref_status st = ggufref_gguf_open_file(model, &g, &err);
    if (st == GGUFREF_OK) st = ggufref_model_load_vocab(g, &m, &err);
    if (st != GGUFREF_OK) {
        ggufref_gguf_close(g);
        char qpath[GR_QUOTE_PATH_MAX]; /* one line whatever the path's bytes (R-STATUS-003) */
        return runtime_error("tokenize", gr_quote_n(qpath, sizeof qpath, model, strlen(model)), st,
                             err.message);
    }
    ggufref_model_info info;
    ggufref_model_get_info(m, &info);
    size_t len = strlen(text), n = 0;
    st = ggufref_tokenize(m, text, len, info.add_bos && !no_bos, NULL, 0, &n);
    if (st == GGUFREF_OK || st == GGUFREF_ERR_LIMIT_EXCEEDED) {
        ids = malloc((n > 0 ? n : 1) * sizeof *ids);
        st = ids == NULL ? GGUFREF_ERR_OUT_OF_MEMORY
                         : ggufref_tokenize(m, text, len, info.add_bos && !no_bos, ids, n, &n);
    }
    if (st == GGUFREF_OK) {
        for (size_t i = 0; i < n; i++) printf("%s%d", i ? " " : "", (int)ids[i]);
        putchar('\n');
    }
    free(ids);
    ggufref_model_free(m);
    ggufref_gguf_close(g);
    return st == GGUFREF_OK ? 0 : runtime_error("tokenize", "TEXT", st, NULL);
}
