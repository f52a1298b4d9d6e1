/*
 * cmd_info.c — `ggufref info FILE [--json]`: the header, metadata and tensor table of a GGUF
 * file (SPEC R-GGUF-040).
 *
 * Text output is for people; --json prints one JSON document, written here by hand so that
 * `info` works without cJSON. Arrays longer than ARRAY_SHOWN elements are summarized as their
 * element type, count and first ARRAY_SHOWN elements. On a rejected file nothing goes to stdout,
 * and stderr gets one line:
 *
 *     ggufref: FILE: STATUS_NAME at offset N: message
 *
 * Exit codes (cli.h): 0 success, 1 the file was rejected or output failed, 2 usage error.
 */
#include "cli.h"
#include "ggufref.h"
#include "internal.h" /* reference/src: gr_quote_n, the quoting of messages */
#include "text.h"     /* reference/src: the one UTF-8 decoder and JSON escaper */

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define ARRAY_SHOWN 8u   /* elements of an array shown before "..." */
#define TEXT_STR_MAX 80u /* bytes of a string shown in text output */

/* ------------------------------------------------------------------------------------- */
/* Strings                                                                                */
/* ------------------------------------------------------------------------------------- */

static void write_file(void *f, const char *p, size_t n) { fwrite(p, 1, n, f); }

/* A JSON string: quotes, backslashes and control characters (DEL too) escaped; ill-formed
 * UTF-8 bytes become U+FFFD, so the document is always valid UTF-8. */
static void json_str(FILE *f, const char *s, size_t n) {
    gr_json_string(write_file, f, s, n, GR_JSON_DEL);
}

/* A string for people: in quotes, non-printable bytes as \xNN (UTF-8 kept), at most
 * TEXT_STR_MAX bytes then "...(N bytes)". */
static void text_str(FILE *f, const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', f);
    size_t i = 0;
    while (i < n && i < TEXT_STR_MAX) {
        size_t len = p[i] >= 0x80 ? gr_utf8_len(p + i, n - i) : 1;
        if (p[i] >= 0x20 && p[i] != 0x7F && len > 0) {
            if (p[i] == '"' || p[i] == '\\') fputc('\\', f);
            fwrite(p + i, 1, len, f);
            i += len;
        } else {
            fprintf(f, "\\x%02x", p[i]);
            i++;
        }
    }
    fputc('"', f);
    if (i < n) fprintf(f, "...(%zu bytes)", n);
}

/* A name (key or tensor name) for a text column: valid UTF-8 kept, other bytes and control
 * characters as \xNN, cut with "..." to fit buf. Returns buf. */
static const char *text_name(char *buf, size_t cap, ggufref_str s) {
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t o = 0;
    size_t i = 0;
    while (i < s.len && o + 8 < cap) {
        size_t len = p[i] >= 0x80 ? gr_utf8_len(p + i, s.len - i) : 1;
        if (p[i] >= 0x20 && p[i] != 0x7F && len > 0) {
            memcpy(buf + o, p + i, len);
            o += len;
            i += len;
        } else {
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", p[i]);
            i++;
        }
    }
    if (i < s.len) o += (size_t)snprintf(buf + o, cap - o, "...");
    buf[o] = '\0';
    return buf;
}

static void put_str(FILE *f, bool json, ggufref_str s) {
    if (json) {
        json_str(f, s.ptr, s.len);
    } else {
        text_str(f, s.ptr, s.len);
    }
}

/* ------------------------------------------------------------------------------------- */
/* Values                                                                                 */
/* ------------------------------------------------------------------------------------- */

/* A float: shortest round-trip digits; JSON has no NaN or infinities (null). */
static void put_float(FILE *f, bool json, double v, int digits) {
    if (isfinite(v)) {
        fprintf(f, "%.*g", digits, v);
    } else {
        fputs(json ? "null" : (isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf")), f);
    }
}

/* A fixed-size value given its bit pattern (the value's bytes as an unsigned integer). */
static void put_bits(FILE *f, bool json, ggufref_value_type type, uint64_t bits) {
    uint8_t u8 = (uint8_t)bits;
    uint16_t u16 = (uint16_t)bits;
    uint32_t u32 = (uint32_t)bits;
    int8_t i8;
    int16_t i16;
    int32_t i32;
    int64_t i64;
    float f32;
    double f64;
    switch (type) {
    case GGUFREF_TYPE_UINT8: fprintf(f, "%u", u8); break;
    case GGUFREF_TYPE_INT8: memcpy(&i8, &u8, 1); fprintf(f, "%d", i8); break;
    case GGUFREF_TYPE_UINT16: fprintf(f, "%u", u16); break;
    case GGUFREF_TYPE_INT16: memcpy(&i16, &u16, 2); fprintf(f, "%d", i16); break;
    case GGUFREF_TYPE_UINT32: fprintf(f, "%" PRIu32, u32); break;
    case GGUFREF_TYPE_INT32: memcpy(&i32, &u32, 4); fprintf(f, "%" PRId32, i32); break;
    case GGUFREF_TYPE_FLOAT32: memcpy(&f32, &u32, 4); put_float(f, json, f32, 9); break;
    case GGUFREF_TYPE_BOOL: fputs(u8 ? "true" : "false", f); break;
    case GGUFREF_TYPE_UINT64: fprintf(f, "%" PRIu64, bits); break;
    case GGUFREF_TYPE_INT64: memcpy(&i64, &bits, 8); fprintf(f, "%" PRId64, i64); break;
    case GGUFREF_TYPE_FLOAT64: memcpy(&f64, &bits, 8); put_float(f, json, f64, 17); break;
    default: fputs("?", f); break;
    }
}

/* "arr[str,32000]" (text) — the summary of an array's type. */
static void text_array_type(FILE *f, const ggufref_array *a) {
    fprintf(f, "arr[%s,%" PRIu64 "]", ggufref_value_type_name(a->elem_type), a->count);
}

/* The first ARRAY_SHOWN elements: "[a, b, ...]" (text) or a JSON list. Nested arrays are
 * shown by their type and count only. */
static void put_array_elements(FILE *f, bool json, const ggufref_array *a) {
    ggufref_array_iter it;
    ggufref_array_iter_init(&it, a);
    uint64_t shown = a->count < ARRAY_SHOWN ? a->count : ARRAY_SHOWN;
    size_t size = ggufref_value_type_size(a->elem_type);
    fputc('[', f);
    for (uint64_t j = 0; j < shown; j++) {
        if (j > 0) fputs(", ", f);
        ggufref_str s;
        ggufref_array inner;
        uint8_t raw[8] = {0};
        if (size != 0 && ggufref_array_get_raw(a, j, raw)) {
            uint64_t bits = 0;
            for (size_t k = size; k-- > 0;) bits = bits << 8 | raw[k]; /* little-endian */
            put_bits(f, json, a->elem_type, bits);
        } else if (ggufref_array_next_str(&it, &s)) {
            put_str(f, json, s);
        } else if (ggufref_array_next_array(&it, &inner)) {
            if (json) {
                fprintf(f, "{\"type\": \"arr\", \"elem_type\": \"%s\", \"count\": %" PRIu64 "}",
                        ggufref_value_type_name(inner.elem_type), inner.count);
            } else {
                text_array_type(f, &inner);
            }
        }
    }
    if (!json && shown < a->count) fputs(", ...", f);
    fputc(']', f);
}

/* The bit pattern of the fixed-size scalar kv `i` of `type`, read with its typed getter. */
#define BITS(getter, ctype, utype)                                                         \
    {                                                                                      \
        ctype v;                                                                           \
        utype w;                                                                           \
        getter(g, i, &v);                                                                  \
        memcpy(&w, &v, sizeof w);                                                          \
        return w;                                                                          \
    }
static uint64_t scalar_bits(const ggufref_gguf *g, uint64_t i, ggufref_value_type type) {
    switch (type) {
    case GGUFREF_TYPE_UINT8: BITS(ggufref_gguf_get_u8, uint8_t, uint8_t)
    case GGUFREF_TYPE_INT8: BITS(ggufref_gguf_get_i8, int8_t, uint8_t)
    case GGUFREF_TYPE_UINT16: BITS(ggufref_gguf_get_u16, uint16_t, uint16_t)
    case GGUFREF_TYPE_INT16: BITS(ggufref_gguf_get_i16, int16_t, uint16_t)
    case GGUFREF_TYPE_UINT32: BITS(ggufref_gguf_get_u32, uint32_t, uint32_t)
    case GGUFREF_TYPE_INT32: BITS(ggufref_gguf_get_i32, int32_t, uint32_t)
    case GGUFREF_TYPE_FLOAT32: BITS(ggufref_gguf_get_f32, float, uint32_t)
    case GGUFREF_TYPE_UINT64: BITS(ggufref_gguf_get_u64, uint64_t, uint64_t)
    case GGUFREF_TYPE_INT64: BITS(ggufref_gguf_get_i64, int64_t, uint64_t)
    case GGUFREF_TYPE_FLOAT64: BITS(ggufref_gguf_get_f64, double, uint64_t)
    case GGUFREF_TYPE_BOOL: {
        bool v = false;
        ggufref_gguf_get_bool(g, i, &v);
        return v;
    }
    default: return 0;
    }
}
#undef BITS

/* The value of kv `i`: a scalar, a string, or an array summary. */
static void put_value(FILE *f, bool json, const ggufref_gguf *g, uint64_t i) {
    ggufref_value_type type = ggufref_gguf_kv_type(g, i);
    ggufref_str s;
    ggufref_array a;
    if (ggufref_gguf_get_str(g, i, &s) == GGUFREF_OK) {
        put_str(f, json, s);
    } else if (ggufref_gguf_get_array(g, i, &a) == GGUFREF_OK) {
        if (json) {
            fprintf(f, "{\"elem_type\": \"%s\", \"count\": %" PRIu64 ", \"first\": ",
                    ggufref_value_type_name(a.elem_type), a.count);
            put_array_elements(f, true, &a);
            fputc('}', f);
        } else {
            put_array_elements(f, false, &a);
        }
    } else {
        put_bits(f, json, type, scalar_bits(g, i, type));
    }
}

/* ------------------------------------------------------------------------------------- */
/* The document                                                                           */
/* ------------------------------------------------------------------------------------- */

static void put_dims(FILE *f, const ggufref_tensor *t) {
    fputc('[', f);
    for (uint32_t j = 0; j < t->n_dims; j++) {
        fprintf(f, "%s%" PRIu64, j > 0 ? ", " : "", t->ne[j]);
    }
    fputc(']', f);
}

static const char *type_name(uint32_t type) {
    const ggufref_type_info *info = ggufref_type_info_get(type);
    return info != NULL ? info->name : "?";
}

static void print_text(FILE *f, const char *path, const ggufref_gguf *g) {
    fprintf(f, "file: %s\n", path);
    fprintf(f, "version: %" PRIu32 "\n", ggufref_gguf_version(g));
    fprintf(f, "size: %zu bytes\n", ggufref_gguf_size(g));
    fprintf(f, "alignment: %" PRIu32 "\n", ggufref_gguf_alignment(g));
    fprintf(f, "data offset: %" PRIu64 "\n", ggufref_gguf_data_offset(g));
    uint64_t n_kv = ggufref_gguf_n_kv(g);
    fprintf(f, "metadata: %" PRIu64 " keys\n", n_kv);
    for (uint64_t i = 0; i < n_kv; i++) {
        ggufref_str key = ggufref_gguf_key(g, i);
        ggufref_array a;
        char name[128];
        fprintf(f, "  %-40s ", text_name(name, sizeof name, key));
        if (ggufref_gguf_get_array(g, i, &a) == GGUFREF_OK) {
            text_array_type(f, &a);
        } else {
            fputs(ggufref_value_type_name(ggufref_gguf_kv_type(g, i)), f);
        }
        fputs(" = ", f);
        put_value(f, false, g, i);
        fputc('\n', f);
    }
    uint64_t n_tensors = ggufref_gguf_n_tensors(g);
    fprintf(f, "tensors: %" PRIu64 "\n", n_tensors);
    if (n_tensors > 0) {
        fprintf(f, "  %6s  %-40s %-5s %-24s %14s %14s\n", "#", "name", "type", "dims", "offset",
                "bytes");
    }
    for (uint64_t i = 0; i < n_tensors; i++) {
        ggufref_tensor t;
        ggufref_gguf_tensor(g, i, &t);
        char dims[96];
        int n = 0;
        for (uint32_t j = 0; j < t.n_dims && n >= 0 && (size_t)n < sizeof dims; j++) {
            n += snprintf(dims + n, sizeof dims - (size_t)n, "%s%" PRIu64, j > 0 ? "x" : "",
                          t.ne[j]);
        }
        char name[128];
        fprintf(f, "  %6" PRIu64 "  %-40s %-5s %-24s %14" PRIu64 " %14" PRIu64 "\n", i,
                text_name(name, sizeof name, t.name), type_name(t.type), dims, t.offset,
                t.n_bytes);
    }
}

static void print_json(FILE *f, const char *path, const ggufref_gguf *g) {
    fputs("{\"file\": ", f);
    json_str(f, path, strlen(path));
    fprintf(f,
            ", \"version\": %" PRIu32 ", \"size\": %zu, \"alignment\": %" PRIu32
            ", \"data_offset\": %" PRIu64 ", \"n_kv\": %" PRIu64 ", \"n_tensors\": %" PRIu64
            ",\n \"metadata\": [",
            ggufref_gguf_version(g), ggufref_gguf_size(g), ggufref_gguf_alignment(g),
            ggufref_gguf_data_offset(g), ggufref_gguf_n_kv(g), ggufref_gguf_n_tensors(g));
    for (uint64_t i = 0; i < ggufref_gguf_n_kv(g); i++) {
        ggufref_str key = ggufref_gguf_key(g, i);
        fputs(i > 0 ? ",\n  {\"key\": " : "\n  {\"key\": ", f);
        json_str(f, key.ptr, key.len);
        fprintf(f, ", \"type\": \"%s\", \"value\": ",
                ggufref_value_type_name(ggufref_gguf_kv_type(g, i)));
        put_value(f, true, g, i);
        fputc('}', f);
    }
    fputs("],\n \"tensors\": [", f);
    for (uint64_t i = 0; i < ggufref_gguf_n_tensors(g); i++) {
        ggufref_tensor t;
        ggufref_gguf_tensor(g, i, &t);
        fputs(i > 0 ? ",\n  {\"name\": " : "\n  {\"name\": ", f);
        json_str(f, t.name.ptr, t.name.len);
        fprintf(f, ", \"type\": \"%s\", \"type_id\": %" PRIu32 ", \"dims\": ", type_name(t.type),
                t.type);
        put_dims(f, &t);
        fprintf(f, ", \"n_elements\": %" PRIu64 ", \"offset\": %" PRIu64 ", \"bytes\": %" PRIu64
                   "}",
                t.n_elements, t.offset, t.n_bytes);
    }
    fputs("]}\n", f);
}

static int usage(void) {
    fputs("usage: ggufref info FILE [--json]\n", stderr);
    return 2;
}

int cmd_info(int argc, char **argv) {
    const char *path = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs("usage: ggufref info FILE [--json]\n", stdout);
            return 0;
        } else if (path == NULL && (argv[i][0] != '-' || argv[i][1] == '\0')) {
            path = argv[i];
        } else {
            return usage();
        }
    }
    if (path == NULL) return usage();
    ggufref_gguf *g = NULL;
    ggufref_error err;
    ggufref_status st = ggufref_gguf_open_file(path, &g, &err);
    /* the path as the library quotes it in messages: one line whatever its bytes (R-GGUF-040) */
    char qpath[GR_QUOTE_PATH_MAX];
    gr_quote_n(qpath, sizeof qpath, path, strlen(path));
    if (st != GGUFREF_OK) {
        if (err.offset == UINT64_MAX) {
            fprintf(stderr, "ggufref: %s: %s: %s\n", qpath, ggufref_status_name(st), err.message);
        } else {
            fprintf(stderr, "ggufref: %s: %s at offset %" PRIu64 ": %s\n", qpath,
                    ggufref_status_name(st), err.offset, err.message);
        }
        return 1;
    }
    if (json) {
        print_json(stdout, path, g);
    } else {
        print_text(stdout, path, g);
    }
    ggufref_gguf_close(g);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "ggufref: %s: writing the output failed\n", qpath);
        return 1;
    }
    return 0;
}
