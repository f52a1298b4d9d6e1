/*
 * cmd_evaluate.c — evaluate (R-PROTO-027, capability `evaluate`): teacher forcing over the
 * export layer (R-RT-045). The ids come from the command; each position's logits are encoded
 * inside the runtime's callback, before the view expires, into one result event.
 */
#include "serve_internal.h"

#include <stdlib.h>

void gr_eval_position(uint32_t pos, int32_t token, const float *logits, uint32_t n_vocab,
                      void *user) {
    gr_eval_state *e = user;
    if (e->positions == NULL || gr_srv_oom()) return; /* answered OUT_OF_MEMORY afterwards */
    if (e->scale != NULL && (logits = gr_break_scaled(e->scale, logits, n_vocab)) == NULL) return;
    cJSON *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "index", (double)pos);
    cJSON_AddNumberToObject(p, "token", (double)token);
    gr_add_logits(p, logits, n_vocab, e->top, e->full);
    if (e->top == 0) cJSON_DeleteItemFromObjectCaseSensitive(p, "top");
    gr_push(e->positions, p);
}

/* The `tokens` field: an array of JSON integers in int32 range (R-PROTO-008). Caller frees
 * *out. false after emitting the error. */
bool gr_eval_tokens(const gr_req *r, int32_t **out, size_t *n) {
    const cJSON *f = gr_field(r, "tokens");
    if (!cJSON_IsArray(f)) {
        gr_emit_error(r->s, r->id, GGUFREF_ERR_INVALID_ARGUMENT, false,
                      "evaluate: field 'tokens' (an array of token ids) is %s",
                      f == NULL ? "missing" : "not an array");
        return false;
    }
    size_t count = (size_t)cJSON_GetArraySize(f);
    int32_t *ids = gr_srv_malloc((count + 1) * sizeof *ids);
    if (ids == NULL) {
        gr_emit_oom(r->s);
        return false;
    }
    size_t i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, f) {
        double d = v->valuedouble;
        if (!cJSON_IsNumber(v) || !(d >= -2147483648.0 && d <= 2147483647.0) ||
            (double)(int32_t)d != d) {
            gr_emit_error(r->s, r->id, GGUFREF_ERR_INVALID_ARGUMENT, false,
                          "evaluate: field 'tokens' element %zu must be an integer in "
                          "[-2147483648, 2147483647]", i);
            gr_srv_free(ids);
            return false;
        }
        ids[i++] = (int32_t)d;
    }
    *out = ids;
    *n = i;
    return true;
}

void gr_cmd_evaluate(gr_req *r) {
    int64_t top = 0;
    bool full = false;
    if (!gr_get_int(r, "logits", 0, GR_PROTOCOL_MAX_TOP, &top) ||
        !gr_get_bool(r, "logits_full", &full)) {
        return;
    }
    int32_t *ids = NULL;
    size_t n = 0;
    if (!gr_eval_tokens(r, &ids, &n)) return;
    gr_eval_state e = {cJSON_CreateArray(), (int)top, full,
                       r->s->brk == BRK_LOGITS_2PCT ? &r->s->shift : NULL};
    int st = ggufref_export_evaluate(ids, n, gr_eval_position, &e);
    gr_srv_free(ids);
    if (st != GGUFREF_OK) {
        cJSON_Delete(e.positions);
        gr_emit_runtime_error(r->s, r->id, st, "evaluate");
        return;
    }
    cJSON *ev = gr_result_new(r->id, true);
    cJSON_AddNumberToObject(ev, "n_tokens", (double)n);
    gr_add(ev, "positions", e.positions);
    gr_emit(r->s, ev);
}
