/*
 * cmd_generate.c — the streaming commands and their cancel: generate (R-PROTO-023),
 * generate-next-token (R-PROTO-024), cancel (R-PROTO-040). Token events carry what the
 * runtime's token callback receives (R-PROTO-030, R-RT-029): the logits are encoded inside the
 * callback, before the view expires. After each token event the server's between_tokens hook
 * reads ahead and handles cancels (R-PROTO-041).
 */
#include "serve_internal.h"

#include <stdlib.h>
#include <string.h>

/* Options shared by generate and generate-next-token: logits (K) and logits_full.
 * false after emitting an error. */
static bool stream_options(gr_req *r) {
    gr_server *s = r->s;
    int64_t top = 0;
    bool full = false;
    if (!gr_get_int(r, "logits", 0, GR_PROTOCOL_MAX_TOP, &top) ||
        !gr_get_bool(r, "logits_full", &full)) {
        return false;
    }
    if (full && top == 0) top = 1;
    s->stream_top = (int)top;
    s->stream_full = full;
    return true;
}

static void stream_begin(gr_req *r) {
    gr_server *s = r->s;
    s->streaming = true;
    s->stream_failed = false;
    s->stream_id = r->id; /* the command's line outlives the stream: no copy */
    s->stream_index = 0;
    s->n_gen = 0;
}

/* Ends the stream; true if it failed (a token could not be reported: then the command is
 * answered OUT_OF_MEMORY, R-PROTO-016). */
static bool stream_end(gr_server *s) {
    s->streaming = false;
    s->stream_id = NULL;
    return s->stream_failed;
}

static bool gen_push(gr_server *s, int32_t token) {
    if (s->n_gen == s->gen_cap) {
        size_t cap = s->gen_cap ? s->gen_cap * 2 : 64;
        int32_t *grown = gr_srv_realloc(s->gen, cap * sizeof *s->gen);
        if (grown == NULL) return false;
        s->gen = grown;
        s->gen_cap = cap;
    }
    s->gen[s->n_gen++] = token;
    return true;
}

/* The token callback (runs inside the export lock: calls only ggufref_export_cancel). */
static void on_token(int32_t token, const char *piece, size_t len, const float *logits,
                     uint32_t n_vocab, void *user) {
    gr_server *s = user;
    if (s->stream_failed) return; /* cancelled: the runtime stops before the next token */
    bool kept = gen_push(s, token);
    cJSON *ev = gr_event_new(s->stream_id, "token");
    cJSON_AddNumberToObject(ev, "index", (double)s->stream_index++);
    cJSON_AddNumberToObject(ev, "token", (double)token);
    char *hex = gr_hex_bytes(piece, len);
    if (hex != NULL) cJSON_AddStringToObject(ev, "piece", hex);
    gr_srv_free(hex);
    if (s->stream_top > 0) {
        const float *x = logits;
        if (s->brk == BRK_POSITION_SHIFT) {
            /* report the logits of the token before (its own for the request's first) */
            const float *shifted = gr_break_shift(&s->shift, logits, n_vocab);
            if (shifted != NULL) x = shifted;
        }
        gr_add_logits(ev, x, n_vocab, s->stream_top, s->stream_full);
    }
    if (!kept) gr_srv_oom_swap(true);
    if (!gr_emit_try(s, ev) || s->failure != NULL) {
        /* The token cannot be reported (or nothing can be written): stop the request; it is
         * answered OUT_OF_MEMORY once the runtime returns (outside its lock). */
        s->stream_failed = true;
        (void)ggufref_export_cancel();
        return;
    }
    if (s->between_tokens != NULL) s->between_tokens(s);
}

void gr_cmd_generate(gr_req *r) {
    gr_server *s = r->s;
    const char *prompt;
    if (!gr_get_string(r, "prompt", &prompt) || !stream_options(r)) return;
    size_t plen = strlen(prompt);
    s->shift.valid = false; /* a new request (BRK_POSITION_SHIFT) */
    stream_begin(r);
    int st = ggufref_export_generate(prompt, plen, on_token, s);
    if (stream_end(s)) {
        gr_emit_oom(s);
        return;
    }
    if (st != GGUFREF_OK) {
        gr_emit_runtime_error(s, r->id, st, "generate");
        return;
    }
    cJSON *ev = gr_result_new(r->id, true);
    int32_t *all = NULL;
    size_t n_all = 0, n_prompt = 0;
    if (gr_runtime_tokens(&all, &n_all, &n_prompt)) {
        gr_add(ev, "prompt_tokens", gr_int_array(all, n_prompt));
        cJSON_AddNumberToObject(ev, "n_prompt", (double)n_prompt);
        cJSON_AddNumberToObject(ev, "n_tokens", (double)n_all);
    }
    gr_srv_free(all);
    gr_add(ev, "tokens", gr_int_array(s->gen, s->n_gen));
    gr_add_result_text(ev);
    gr_emit(s, ev);
}

void gr_cmd_generate_next_token(gr_req *r) {
    gr_server *s = r->s;
    if (!stream_options(r)) return;
    stream_begin(r);
    int st = ggufref_export_generate_next_token(on_token, s);
    if (stream_end(s)) {
        gr_emit_oom(s);
        return;
    }
    if (st != GGUFREF_OK) {
        gr_emit_runtime_error(s, r->id, st, "generate-next-token");
        return;
    }
    cJSON *ev = gr_result_new(r->id, true);
    int32_t *all = NULL;
    size_t n_all = 0, n_prompt = 0;
    if (gr_runtime_tokens(&all, &n_all, &n_prompt)) {
        cJSON_AddNumberToObject(ev, "n_prompt", (double)n_prompt);
        cJSON_AddNumberToObject(ev, "n_tokens", (double)n_all);
    }
    gr_srv_free(all);
    gr_add(ev, "tokens", gr_int_array(s->gen, s->n_gen));
    gr_emit(s, ev);
}

/* R-PROTO-040: cancel names the request to stop. */
void gr_cmd_cancel(gr_req *r) {
    gr_server *s = r->s;
    const cJSON *target = gr_field(r, "target");
    if (target == NULL || !gr_id_valid(target)) {
        gr_emit_error(s, r->id, GGUFREF_ERR_INVALID_ARGUMENT, false,
                      "cancel: field 'target' (the id of the request to cancel) must be a string "
                      "of at most 256 bytes or an integer (|target| < 2^53)");
        return;
    }
    bool hit = s->streaming && gr_id_equal(target, s->stream_id);
    int st = GGUFREF_OK;
    /* The flag is the runtime's, not the request's: set it only to stop the target, or when
     * nothing streams (then it only reports the table's status; the next generate clears it). */
    if ((hit && s->brk != BRK_IGNORE_CANCEL) || !s->streaming) st = ggufref_export_cancel();
    if (st != GGUFREF_OK) {
        gr_emit_runtime_error(s, r->id, st, "cancel");
        return;
    }
    cJSON *ev = gr_result_new(r->id, false);
    cJSON_AddBoolToObject(ev, "cancelled", hit);
    gr_emit(s, ev);
}
