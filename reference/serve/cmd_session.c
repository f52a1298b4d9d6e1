/*
 * cmd_session.c — the commands that set up and inspect a session: boot (R-PROTO-020),
 * load-model (R-PROTO-021), configure-sampling (R-PROTO-022), reset-context and free-model
 * (R-PROTO-025), diagnostics (R-PROTO-026). One handler each; each runs one export.
 */
#include "serve_internal.h"

#include <stdlib.h>
#include <string.h>

static cJSON *capabilities(const gr_server *s) {
    cJSON *caps = cJSON_CreateArray();
    gr_push(caps, cJSON_CreateString("step"));
    gr_push(caps, cJSON_CreateString("cancel"));
    gr_push(caps, cJSON_CreateString("logits"));
    gr_push(caps, cJSON_CreateString("evaluate"));
    gr_push(caps, cJSON_CreateString("sessions"));
    if (s->fault_injection) gr_push(caps, cJSON_CreateString("fault-injection"));
    return caps;
}

/* R-LEVEL-002: the conformance levels the reference claims; fault-injection with the capability. */
static cJSON *levels(const gr_server *s) {
    cJSON *lv = cJSON_CreateArray();
    gr_push(lv, cJSON_CreateString("core"));
    gr_push(lv, cJSON_CreateString("strict-errors"));
    gr_push(lv, cJSON_CreateString("sampler-llama2c"));
    if (s->fault_injection) gr_push(lv, cJSON_CreateString("fault-injection"));
    return lv;
}

void gr_cmd_boot(gr_req *r) {
    int st = ggufref_export_init_runtime();
    if (st != GGUFREF_OK) {
        gr_emit_runtime_error(r->s, r->id, st, "boot");
        return;
    }
    cJSON *ev = gr_result_new(r->id, true);
    cJSON_AddStringToObject(ev, "name", "ggufref");
    cJSON_AddStringToObject(ev, "version", GGUFREF_VERSION_STRING);
    cJSON_AddNumberToObject(ev, "protocol", 1);
    gr_add(ev, "capabilities", capabilities(r->s));
    gr_add(ev, "levels", levels(r->s));
    cJSON *limits = cJSON_AddObjectToObject(ev, "limits");
    cJSON_AddNumberToObject(limits, "max_line", (double)GR_PROTOCOL_MAX_LINE);
    cJSON_AddNumberToObject(limits, "max_top", GR_PROTOCOL_MAX_TOP);
    gr_sessions_boot_limits(r->s, limits); /* R-PROTO-070 */
    gr_emit(r->s, ev);
}

void gr_cmd_load_model(gr_req *r) {
    const char *path;
    if (!gr_get_string(r, "path", &path)) return;
    gr_server *s = r->s;
    char *copy = gr_srv_strdup(path); /* before the load: a load that works is never lost */
    if (copy == NULL) {
        gr_emit_oom(s);
        return;
    }
    if (s->brk == BRK_LOAD_NOT_TRANSACTIONAL && s->model_path != NULL) {
        ggufref_export_free_model();
        gr_srv_free(s->model_path);
        s->model_path = NULL;
    }
    int st = ggufref_export_load_model_file(path);
    if (st != GGUFREF_OK && s->brk == BRK_ACCEPT_MALFORMED && st != GGUFREF_ERR_IO &&
        st != GGUFREF_ERR_OUT_OF_MEMORY) {
        gr_srv_free(copy);
        cJSON *ev = gr_event_new(r->id, "result");
        cJSON_AddStringToObject(ev, "state", "READY");
        gr_emit(s, ev);
        return;
    }
    if (st != GGUFREF_OK) {
        gr_srv_free(copy);
        gr_emit_runtime_error(s, r->id, st, "load-model");
        return;
    }
    gr_srv_free(s->model_path);
    s->model_path = copy;
    gr_emit(s, gr_result_new(r->id, true));
}

/* R-PROTO-022: absent fields take the defaults, not the previous values. */
bool gr_parse_sampling(gr_req *r, ggufref_sampling *out) {
    ggufref_sampling p;
    ggufref_sampling_default(&p);
    int64_t top_k = p.top_k, last_n = p.repeat_last_n, max_tokens = p.max_tokens;
    if (!gr_get_float(r, "temperature", &p.temperature) ||
        !gr_get_int(r, "top_k", -2147483648.0, 2147483647.0, &top_k) ||
        !gr_get_float(r, "top_p", &p.top_p) || !gr_get_float(r, "min_p", &p.min_p) ||
        !gr_get_float(r, "repeat_penalty", &p.repeat_penalty) ||
        !gr_get_int(r, "repeat_last_n", -2147483648.0, 2147483647.0, &last_n) ||
        !gr_get_seed(r, &p.seed) ||
        !gr_get_int(r, "max_tokens", -2147483648.0, 2147483647.0, &max_tokens) ||
        !gr_get_bool(r, "stop_at_eos", &p.stop_at_eos)) {
        return false;
    }
    p.top_k = (int32_t)top_k;
    p.repeat_last_n = (int32_t)last_n;
    p.max_tokens = (int32_t)max_tokens;
    *out = p;
    return true;
}

void gr_cmd_configure_sampling(gr_req *r) {
    ggufref_sampling p;
    if (!gr_parse_sampling(r, &p)) return;
    ggufref_sampling sent = p;
    if (r->s->brk == BRK_EXTRA_COIN) sent.seed = gr_break_seed_one_draw_ahead(p.seed);
    int st = ggufref_export_configure_sampling(&sent);
    if (st != GGUFREF_OK) {
        gr_emit_runtime_error(r->s, r->id, st, "configure-sampling");
        return;
    }
    r->s->sampling = p;
    cJSON *ev = gr_result_new(r->id, true);
    gr_add(ev, "sampling", gr_sampling_json(&p));
    gr_emit(r->s, ev);
}

void gr_cmd_reset_context(gr_req *r) {
    if (r->s->brk == BRK_RESET_KEEPS_TOKENS) {
        cJSON *ev = gr_event_new(r->id, "result");
        cJSON_AddStringToObject(ev, "state", "READY");
        gr_emit(r->s, ev);
        return;
    }
    int st = ggufref_export_reset_context();
    if (st != GGUFREF_OK) {
        gr_emit_runtime_error(r->s, r->id, st, "reset-context");
        return;
    }
    gr_emit(r->s, gr_result_new(r->id, true));
}

void gr_cmd_free_model(gr_req *r) {
    int st = ggufref_export_free_model();
    if (st != GGUFREF_OK) {
        gr_emit_runtime_error(r->s, r->id, st, "free-model");
        return;
    }
    gr_srv_free(r->s->model_path);
    r->s->model_path = NULL;
    gr_emit(r->s, gr_result_new(r->id, true));
}

void gr_cmd_diagnostics(gr_req *r) {
    gr_server *s = r->s;
    size_t need = 0;
    int st = ggufref_export_diagnostics(NULL, 0, &need);
    char *diag = NULL;
    size_t dlen = 0;
    if (st == GGUFREF_OK || st == GGUFREF_ERR_LIMIT_EXCEEDED) {
        diag = gr_srv_malloc(need + 1);
        if (diag == NULL) {
            gr_emit_oom(s);
            return;
        }
        st = ggufref_export_diagnostics(diag, need + 1, &dlen);
    }
    if (st != GGUFREF_OK) {
        gr_srv_free(diag);
        gr_emit_runtime_error(s, r->id, st, "diagnostics");
        return;
    }
    cJSON *ev = gr_result_new(r->id, true);
    int32_t *all = NULL;
    size_t n_all = 0, n_prompt = 0;
    if (gr_runtime_tokens(&all, &n_all, &n_prompt)) {
        cJSON_AddNumberToObject(ev, "n_prompt", (double)n_prompt);
        cJSON_AddNumberToObject(ev, "n_tokens", (double)n_all);
        gr_add(ev, "tokens", gr_int_array(all, n_all));
    }
    gr_srv_free(all);
    cJSON_AddBoolToObject(ev, "model", s->model_path != NULL);
    gr_add(ev, "sampling", gr_sampling_json(&s->sampling));
    gr_add_result_text(ev);
    cJSON_DeleteItemFromObjectCaseSensitive(ev, "text");
    ggufref_error err;
    cJSON *le = cJSON_AddObjectToObject(ev, "last_error");
    if (ggufref_export_last_error(&err) == GGUFREF_OK) {
        cJSON_AddNumberToObject(le, "code", (double)err.status);
        cJSON_AddStringToObject(le, "name", ggufref_status_name(err.status));
        gr_add_string_sanitized(le, "message", err.message, strlen(err.message), false);
    }
    cJSON *impl = cJSON_AddObjectToObject(ev, "impl");
    uint64_t digest = 0;
    if (ggufref_export_digest(&digest) == GGUFREF_OK) {
        char hex[17];
        snprintf(hex, sizeof hex, "%016llx", (unsigned long long)digest);
        cJSON_AddStringToObject(impl, "digest", hex);
    }
    cJSON *parsed = cJSON_ParseWithLength(diag, dlen);
    if (parsed != NULL) {
        gr_add(impl, "runtime", parsed);
    } else {
        gr_add_string_sanitized(impl, "runtime_text", diag, dlen, false);
    }
    gr_srv_free(diag);
    gr_emit(s, ev);
}
