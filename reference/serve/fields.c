/*
 * fields.c — the typed fields of a command (R-PROTO-008): each getter either stores the value
 * or answers the command with INVALID_ARGUMENT naming the field, and returns false.
 */
#include "serve_internal.h"

#include <string.h>

const cJSON *gr_field(const gr_req *r, const char *name) {
    return cJSON_GetObjectItemCaseSensitive(r->msg, name);
}

/* A required string field. */
bool gr_get_string(const gr_req *r, const char *name, const char **out) {
    const cJSON *f = gr_field(r, name);
    if (f == NULL) {
        gr_emit_error(r->s, r->id, GGUFREF_ERR_INVALID_ARGUMENT, false,
                      "%s: missing field '%s' (a string)", r->cmd, name);
        return false;
    }
    if (!cJSON_IsString(f)) {
        gr_emit_error(r->s, r->id, GGUFREF_ERR_INVALID_ARGUMENT, false,
                      "%s: field '%s' must be a string", r->cmd, name);
        return false;
    }
    *out = f->valuestring;
    return true;
}

/* An optional integer field in [lo, hi]; *out keeps its default when absent. */
bool gr_get_int(const gr_req *r, const char *name, double lo, double hi, int64_t *out) {
    const cJSON *f = gr_field(r, name);
    if (f == NULL) return true;
    double d = f->valuedouble;
    if (!cJSON_IsNumber(f) || !(d >= lo && d <= hi) || (double)(int64_t)d != d) {
        gr_emit_error(r->s, r->id, GGUFREF_ERR_INVALID_ARGUMENT, false,
                      "%s: field '%s' must be an integer in [%.0f, %.0f]", r->cmd, name, lo, hi);
        return false;
    }
    *out = (int64_t)d;
    return true;
}

/* An optional number field (any JSON number; the runtime checks ranges). */
bool gr_get_float(const gr_req *r, const char *name, float *out) {
    const cJSON *f = gr_field(r, name);
    if (f == NULL) return true;
    if (!cJSON_IsNumber(f)) {
        gr_emit_error(r->s, r->id, GGUFREF_ERR_INVALID_ARGUMENT, false,
                      "%s: field '%s' must be a number", r->cmd, name);
        return false;
    }
    *out = (float)f->valuedouble;
    return true;
}

bool gr_get_bool(const gr_req *r, const char *name, bool *out) {
    const cJSON *f = gr_field(r, name);
    if (f == NULL) return true;
    if (!cJSON_IsBool(f)) {
        gr_emit_error(r->s, r->id, GGUFREF_ERR_INVALID_ARGUMENT, false,
                      "%s: field '%s' must be true or false", r->cmd, name);
        return false;
    }
    *out = cJSON_IsTrue(f);
    return true;
}

/* R-PROTO-022: seed is an integer in [0, 2^53] or a decimal string up to 2^64-1. */
bool gr_get_seed(const gr_req *r, uint64_t *out) {
    const cJSON *f = gr_field(r, "seed");
    if (f == NULL) return true;
    if (cJSON_IsNumber(f)) {
        double d = f->valuedouble;
        if (d >= 0 && d <= 9007199254740992.0 && (double)(uint64_t)d == d) {
            *out = (uint64_t)d;
            return true;
        }
    } else if (cJSON_IsString(f) && f->valuestring[0] != '\0' &&
               strlen(f->valuestring) <= 20) {
        uint64_t v = 0;
        const char *p = f->valuestring;
        for (; *p >= '0' && *p <= '9'; p++) {
            uint64_t digit = (uint64_t)(*p - '0');
            if (v > (UINT64_MAX - digit) / 10) break;
            v = v * 10 + digit;
        }
        if (*p == '\0') {
            *out = v;
            return true;
        }
    }
    gr_emit_error(r->s, r->id, GGUFREF_ERR_INVALID_ARGUMENT, false,
                  "%s: field 'seed' must be an integer in [0, 2^53] or a decimal string < 2^64",
                  r->cmd);
    return false;
}
