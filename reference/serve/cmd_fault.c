/*
 * cmd_fault.c — the fault-injection commands (R-PROTO-060; chapter 11), served only with the
 * `fault-injection` capability (`ggufref-fi serve --fault-injection`).
 */
#include "serve_internal.h"

#include <stdlib.h>
#include <string.h>

void gr_cmd_fault_alloc(gr_req *r) {
    int64_t n = 0;
    if (gr_field(r, "n") == NULL) {
        gr_emit_error(r->s, r->id, GGUFREF_ERR_INVALID_ARGUMENT, false,
                      "fault-alloc: missing field 'n' (fail the nth allocation; 0 disarms)");
        return;
    }
    if (!gr_get_int(r, "n", 0, 9007199254740992.0, &n)) return;
    ggufref_fault_alloc_fail_at((uint64_t)n);
    gr_emit(r->s, gr_result_new(r->id, false));
}

void gr_cmd_fault_io(gr_req *r) {
    int64_t byte = -1;
    const char *kind = "error";
    if (!gr_get_int(r, "byte", -1, 9007199254740992.0, &byte)) return;
    if (gr_field(r, "kind") != NULL && !gr_get_string(r, "kind", &kind)) return;
    ggufref_io_fault k;
    if (strcmp(kind, "error") == 0) {
        k = GGUFREF_IO_FAULT_ERROR;
    } else if (strcmp(kind, "short") == 0) {
        k = GGUFREF_IO_FAULT_SHORT;
    } else {
        gr_emit_error(r->s, r->id, GGUFREF_ERR_INVALID_ARGUMENT, false,
                      "fault-io: field 'kind' must be \"error\" or \"short\"");
        return;
    }
    ggufref_fault_io_fail_at(byte < 0 ? UINT64_MAX : (uint64_t)byte, k);
    gr_emit(r->s, gr_result_new(r->id, false));
}

void gr_cmd_fault_panic(gr_req *r) {
    const cJSON *f = gr_field(r, "point");
    if (f != NULL && !cJSON_IsNull(f) && !cJSON_IsString(f)) {
        gr_emit_error(r->s, r->id, GGUFREF_ERR_INVALID_ARGUMENT, false,
                      "fault-panic: field 'point' must be a point name or null");
        return;
    }
    char *copy = NULL;
    if (cJSON_IsString(f) && (copy = gr_srv_strdup(f->valuestring)) == NULL) {
        gr_emit_oom(r->s);
        return;
    }
    ggufref_fault_panic_at(copy);
    gr_srv_free(r->s->panic_point);
    r->s->panic_point = copy;
    gr_emit(r->s, gr_result_new(r->id, false));
}

void gr_cmd_fault_status(gr_req *r) {
    cJSON *ev = gr_result_new(r->id, false);
    cJSON_AddNumberToObject(ev, "alloc_count", (double)ggufref_fault_alloc_count());
    cJSON_AddNumberToObject(ev, "alloc_live", (double)ggufref_fault_alloc_live());
    cJSON_AddBoolToObject(ev, "alloc_fired", ggufref_fault_alloc_fired());
    cJSON_AddNumberToObject(ev, "io_bytes", (double)ggufref_fault_io_bytes());
    cJSON_AddBoolToObject(ev, "io_fired", ggufref_fault_io_fired());
    cJSON_AddBoolToObject(ev, "panic_fired", ggufref_fault_panic_fired());
    cJSON *points = cJSON_AddArrayToObject(ev, "points");
    for (size_t i = 0; i < ggufref_fault_panic_point_count(); i++) {
        gr_push(points, cJSON_CreateString(ggufref_fault_panic_point_name(i)));
    }
    gr_emit(r->s, ev);
}

void gr_cmd_fault_reset(gr_req *r) {
    gr_server *s = r->s;
    ggufref_fault_alloc_fail_at(0);
    ggufref_fault_io_fail_at(UINT64_MAX, GGUFREF_IO_FAULT_ERROR);
    ggufref_fault_panic_at(NULL);
    ggufref_fault_export_reset();
    gr_srv_free(s->model_path);
    s->model_path = NULL;
    ggufref_sampling_default(&s->sampling);
    gr_emit(s, gr_result_new(r->id, true));
}
