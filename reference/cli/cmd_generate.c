/*
 * cmd_generate.c — `ggufref generate` and `ggufref tokenize` (SPEC R-SAMP-040..042).
 *
 *   ggufref generate --model FILE --prompt TEXT [--max-tokens N | --steps N]
 *                    [--temperature T] [--top-k K] [--top-p P] [--min-p M]
 *                    [--repeat-penalty R] [--repeat-last-n N] [--seed S] [--ctx N] [--json]
 *   ggufref tokenize --model FILE [--no-bos] TEXT
 *
 * Two loops over the library's stages (model -> tokenizer -> forward -> sampler):
 *   --steps N       llama2.c run.c's -n, so its published outputs come out of this command:
 *                   BOS + prompt forced, positions 0..N-1, a sampled BOS ends the run;
 *   --max-tokens N  the runtime's request (R-RT-023): prompt with the model's add_bos, then up
 *                   to N sampled tokens, stopping after EOS.
 * Text goes to stdout as it is made; --json prints one record per sampled token instead.
 * Exit codes: 0 ok, 1 model or runtime failure, 2 usage (cli.h).
 */
#include "cli.h"
#include "ggufref.h"
#include "sampler.h" /* reference/src: gr_top_logits */
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
    bool json;
    ggufref_sampling s;
} gen_args;

/* ---- argument parsing ------------------------------------------------------------------ */

static int usage_error(const char *cmd, const char *what, const char *arg) {
    fprintf(stderr, "ggufref %s: %s%s%s%s (see ggufref help)\n", cmd, what, arg ? " '" : "",
            arg ? arg : "", arg ? "'" : "");
    return EXIT_USAGE;
}

/* A whole-string integer in [lo, hi]. OUT: *out. */
static bool parse_i64(const char *s, long long lo, long long hi, long long *out) {
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
        ok = parse_i64(val, 1, INT32_MAX, &v);
        a->s.max_tokens = (int32_t)v;
        *max_set = true;
    } else if (strcmp(name, "--steps") == 0) {
        ok = parse_i64(val, 1, INT32_MAX, &v);
        a->steps = (int32_t)v;
    } else if (strcmp(name, "--temperature") == 0) ok = parse_f32(val, &a->s.temperature);
    else if (strcmp(name, "--top-k") == 0) {
        ok = parse_i64(val, 0, INT32_MAX, &v);
        a->s.top_k = (int32_t)v;
    } else if (strcmp(name, "--top-p") == 0) ok = parse_f32(val, &a->s.top_p);
    else if (strcmp(name, "--min-p") == 0) ok = parse_f32(val, &a->s.min_p);
    else if (strcmp(name, "--repeat-penalty") == 0) ok = parse_f32(val, &a->s.repeat_penalty);
    else if (strcmp(name, "--repeat-last-n") == 0) {
        ok = parse_i64(val, 0, INT32_MAX, &v);
        a->s.repeat_last_n = (int32_t)v;
    } else if (strcmp(name, "--seed") == 0) ok = parse_u64(val, &a->s.seed);
    else if (strcmp(name, "--ctx") == 0) {
        ok = parse_i64(val, 0, INT32_MAX, &v);
        a->ctx = (int32_t)v;
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

/* The TOP_N largest logits, value descending then id ascending. OUT: top; returns the count. */
static size_t top_logits(const float *x, uint32_t n, top_logit *top) {
    int32_t ids[TOP_N];
    size_t k = gr_top_logits(x, n, TOP_N, ids);
    for (size_t i = 0; i < k; i++) top[i] = (top_logit){ids[i], x[ids[i]]};
    return k;
}

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

/* ---- the generation session ------------------------------------------------------------ */

typedef struct session {
    ggufref_gguf *gguf;
    ggufref_model *model;
    ggufref_context *ctx;
    ggufref_sampler *sampler;
    ggufref_model_info info;
    int32_t *seq;     /* [n_ctx] BOS, prompt, generated */
    size_t n_seq;
    uint32_t n_ctx;
} session;

static int runtime_error(const char *cmd, const char *what, ggufref_status st, const char *msg) {
    fprintf(stderr, "ggufref %s: %s: %s%s%s\n", cmd, what, ggufref_status_name(st),
            msg && msg[0] ? ": " : "", msg ? msg : "");
    return EXIT_RUNTIME;
}

static void session_close(session *s) {
    free(s->seq);
    ggufref_sampler_free(s->sampler);
    ggufref_context_free(s->ctx);
    ggufref_model_free(s->model);
    ggufref_gguf_close(s->gguf);
}

/* Open, bind, and allocate context, sampler and the token vector. Returns 0 or an exit code. */
static int session_open(session *s, const gen_args *a) {
    memset(s, 0, sizeof *s);
    ggufref_error err = {0};
    ggufref_status st = ggufref_gguf_open_file(a->model, &s->gguf, &err);
    if (st != GGUFREF_OK) return runtime_error("generate", a->model, st, err.message);
    st = ggufref_model_load(s->gguf, &s->model, &err);
    if (st != GGUFREF_OK) return runtime_error("generate", a->model, st, err.message);
    ggufref_model_get_info(s->model, &s->info);
    st = ggufref_context_create(s->model, (uint32_t)a->ctx, &s->ctx);
    if (st != GGUFREF_OK) return runtime_error("generate", "--ctx", st, "cannot create the context");
    s->n_ctx = ggufref_context_n_ctx(s->ctx);
    st = ggufref_sampler_create(s->info.n_vocab, &s->sampler);
    if (st != GGUFREF_OK) return runtime_error("generate", "sampler", st, NULL);
    s->seq = malloc((size_t)s->n_ctx * sizeof *s->seq);
    if (s->seq == NULL) return runtime_error("generate", "tokens", GGUFREF_ERR_OUT_OF_MEMORY, NULL);
    return 0;
}

/* Tokenize the prompt into s->seq; it must leave room for `room` more tokens. */
static int session_prompt(session *s, const char *prompt, bool add_bos, size_t room) {
    size_t n = 0, len = strlen(prompt);
    ggufref_status st = ggufref_tokenize(s->model, prompt, len, add_bos, s->seq, s->n_ctx, &n);
    if (st != GGUFREF_OK && st != GGUFREF_ERR_LIMIT_EXCEEDED) {
        return runtime_error("generate", "--prompt", st, "cannot tokenize");
    }
    if (n == 0) return runtime_error("generate", "--prompt", GGUFREF_ERR_INVALID_ARGUMENT, "the prompt has no tokens");
    if (n > s->n_ctx || room > s->n_ctx - n) {
        char msg[128];
        snprintf(msg, sizeof msg, "%zu prompt tokens + %zu do not fit the context of %u", n, room,
                 (unsigned)s->n_ctx);
        return runtime_error("generate", "--prompt", GGUFREF_ERR_CONTEXT_OVERFLOW, msg);
    }
    s->n_seq = n;
    return 0;
}

/* Print token i of the sequence: its piece, or (json, sampled) its record. */
static void emit_token(const session *s, size_t i, bool json, const top_logit *top, size_t n_top) {
    ggufref_str piece = ggufref_token_to_piece(s->model, i > 0 ? s->seq[i - 1] : -1, s->seq[i]);
    if (json) {
        if (top != NULL) print_json_record((uint32_t)(i - 1), s->seq[i], piece, top, n_top);
    } else {
        fwrite(piece.ptr, 1, piece.len, stdout);
    }
    fflush(stdout);
}

/* Sample the token that follows the sequence from logits (copied first: sampling edits them);
 * with --json also the top logits. OUT: *token, top[0..*n_top). */
static int sample_from(session *s, const gen_args *a, const float *logits, float *work,
                       ggufref_rng *rng, int32_t *token, top_logit *top, size_t *n_top) {
    *n_top = a->json ? top_logits(logits, s->info.n_vocab, top) : 0;
    memcpy(work, logits, (size_t)s->info.n_vocab * sizeof *work);
    ggufref_status st = ggufref_sample(s->sampler, &a->s, work, s->seq, s->n_seq, rng, token);
    return st == GGUFREF_OK ? 0 : runtime_error("generate", "sampling", st, NULL);
}

/* llama2.c run.c's loop (R-SAMP-040). */
static int run_steps(session *s, const gen_args *a, float *work, ggufref_rng *rng) {
    if ((uint32_t)a->steps > s->n_ctx) {
        char msg[96];
        snprintf(msg, sizeof msg, "--steps %d exceeds the context of %u", (int)a->steps, (unsigned)s->n_ctx);
        return runtime_error("generate", "--steps", GGUFREF_ERR_CONTEXT_OVERFLOW, msg);
    }
    int rc = session_prompt(s, a->prompt, true, 0);
    if (rc != 0) return rc;
    size_t n_prompt = s->n_seq;
    for (uint32_t pos = 0; pos < (uint32_t)a->steps; pos++) {
        const float *logits;
        ggufref_status st = ggufref_forward(s->ctx, s->seq[pos], pos, &logits);
        if (st != GGUFREF_OK) return runtime_error("generate", "forward", st, NULL);
        if (pos + 1 < n_prompt) { /* forced prompt token */
            emit_token(s, pos + 1, a->json, NULL, 0);
            continue;
        }
        int32_t next;
        top_logit top[TOP_N];
        size_t n_top;
        rc = sample_from(s, a, logits, work, rng, &next, top, &n_top);
        if (rc != 0) return rc;
        if (next == s->info.bos_id) break; /* run.c: BOS delimits sequences */
        s->seq[s->n_seq++] = next;
        emit_token(s, s->n_seq - 1, a->json, top, n_top);
    }
    return 0;
}

/* The runtime's request (R-SAMP-041). */
static int run_max_tokens(session *s, const gen_args *a, float *work, ggufref_rng *rng) {
    int rc = session_prompt(s, a->prompt, s->info.add_bos, (size_t)a->s.max_tokens);
    if (rc != 0) return rc;
    for (size_t i = 0; i < s->n_seq && !a->json; i++) emit_token(s, i, false, NULL, 0);
    const float *logits = NULL;
    for (size_t pos = 0; pos < s->n_seq; pos++) {
        ggufref_status st = ggufref_forward(s->ctx, s->seq[pos], (uint32_t)pos, &logits);
        if (st != GGUFREF_OK) return runtime_error("generate", "forward", st, NULL);
    }
    for (int32_t g = 0; g < a->s.max_tokens; g++) {
        int32_t next;
        top_logit top[TOP_N];
        size_t n_top;
        rc = sample_from(s, a, logits, work, rng, &next, top, &n_top);
        if (rc != 0) return rc;
        s->seq[s->n_seq++] = next;
        emit_token(s, s->n_seq - 1, a->json, top, n_top);
        if (a->s.stop_at_eos && next == s->info.eos_id) break;
        if (g + 1 == a->s.max_tokens) break;
        ggufref_status st = ggufref_forward(s->ctx, next, (uint32_t)(s->n_seq - 1), &logits);
        if (st != GGUFREF_OK) return runtime_error("generate", "forward", st, NULL);
    }
    return 0;
}

int cmd_generate(int argc, char **argv) {
    gen_args a;
    int rc = parse_generate(argc, argv, &a);
    if (rc != 0) return rc;
    session s;
    rc = session_open(&s, &a);
    float *work = rc == 0 ? malloc((size_t)s.info.n_vocab * sizeof *work) : NULL;
    if (rc == 0 && work == NULL) rc = runtime_error("generate", "logits", GGUFREF_ERR_OUT_OF_MEMORY, NULL);
    if (rc == 0) {
        ggufref_rng rng;
        ggufref_rng_seed(&rng, a.s.seed);
        rc = a.steps > 0 ? run_steps(&s, &a, work, &rng) : run_max_tokens(&s, &a, work, &rng);
        if (rc == 0 && !a.json) putchar('\n');
    }
    free(work);
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
        return runtime_error("tokenize", model, st, err.message);
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
