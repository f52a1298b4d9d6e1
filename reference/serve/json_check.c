/*
 * json_check.c — RFC 8259 exactly, before cJSON sees a line (SPEC R-PROTO-013). cJSON is
 * lenient: it takes any byte up to 0x20 as whitespace (NUL and VT included), raw control
 * characters inside strings, `01` and `1.`. This checker accepts one JSON text and nothing else:
 * whitespace is SP, HTAB, CR or LF; strings hold no byte below 0x20 and only the escapes of
 * RFC 8259 section 7; numbers are -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; arrays and
 * objects nest at most GR_PROTOCOL_MAX_DEPTH deep. Iterative: its stack is that depth.
 * (UTF-8 is checked before, over the whole line; duplicate names after, on the parsed tree.)
 */
#include "serve_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct cursor {
    const unsigned char *s;
    size_t n, i;
} cursor;

static void skip_ws(cursor *c) {
    while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\r' ||
                           c->s[c->i] == '\n')) {
        c->i++;
    }
}

static bool is_digit(const cursor *c) { return c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9'; }

static bool is_hex(unsigned char b) {
    return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F');
}

/* At '"': the string and its closing quote. */
static bool string(cursor *c) {
    c->i++;
    while (c->i < c->n) {
        unsigned char b = c->s[c->i];
        if (b == '"') {
            c->i++;
            return true;
        }
        if (b < 0x20) return false; /* raw control characters, NUL and TAB included */
        if (b != '\\') {
            c->i++;
            continue;
        }
        if (c->i + 1 >= c->n) return false;
        unsigned char e = c->s[c->i + 1];
        if (e == 'u') {
            if (c->i + 6 > c->n) return false;
            for (size_t k = 2; k < 6; k++) {
                if (!is_hex(c->s[c->i + k])) {
                    c->i += k;
                    return false;
                }
            }
            c->i += 6;
        } else if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' &&
                   e != 'r' && e != 't') {
            c->i++;
            return false;
        } else {
            c->i += 2;
        }
    }
    return false;
}

static bool number(cursor *c) {
    if (c->s[c->i] == '-') c->i++;
    if (!is_digit(c)) return false;
    if (c->s[c->i] == '0') {
        c->i++;
    } else {
        while (is_digit(c)) c->i++;
    }
    if (c->i < c->n && c->s[c->i] == '.') {
        c->i++;
        if (!is_digit(c)) return false;
        while (is_digit(c)) c->i++;
    }
    if (c->i < c->n && (c->s[c->i] == 'e' || c->s[c->i] == 'E')) {
        c->i++;
        if (c->i < c->n && (c->s[c->i] == '+' || c->s[c->i] == '-')) c->i++;
        if (!is_digit(c)) return false;
        while (is_digit(c)) c->i++;
    }
    return true;
}

static bool literal(cursor *c, const char *word) {
    size_t len = strlen(word);
    if (c->n - c->i < len || memcmp(c->s + c->i, word, len) != 0) return false;
    c->i += len;
    return true;
}

bool gr_json_check(const char *text, size_t n, size_t *where) {
    cursor c = {(const unsigned char *)text, n, 0};
    char stack[GR_PROTOCOL_MAX_DEPTH];
    size_t depth = 0;
    enum { VALUE, KEY, AFTER } want = VALUE;
    for (;;) {
        skip_ws(&c);
        if (want == KEY) { /* a member name and its colon, then a value */
            if (c.i >= c.n || c.s[c.i] != '"' || !string(&c)) break;
            skip_ws(&c);
            if (c.i >= c.n || c.s[c.i] != ':') break;
            c.i++;
            want = VALUE;
            continue;
        }
        if (want == AFTER) {
            if (depth == 0) {
                if (c.i == c.n) return true;
                break;
            }
            if (c.i >= c.n) break;
            unsigned char b = c.s[c.i];
            char top = stack[depth - 1];
            if (b == ',') {
                c.i++;
                want = top == '{' ? KEY : VALUE;
            } else if ((top == '{' && b == '}') || (top == '[' && b == ']')) {
                c.i++;
                depth--;
            } else {
                break;
            }
            continue;
        }
        /* VALUE */
        if (c.i >= c.n) break;
        unsigned char b = c.s[c.i];
        if (b == '{' || b == '[') {
            if (depth == GR_PROTOCOL_MAX_DEPTH) break;
            stack[depth++] = (char)b;
            c.i++;
            skip_ws(&c);
            if (c.i < c.n && c.s[c.i] == (b == '{' ? '}' : ']')) {
                c.i++;
                depth--;
                want = AFTER;
            } else {
                want = b == '{' ? KEY : VALUE;
            }
            continue;
        }
        bool ok = b == '"'               ? string(&c)
                  : b == '-' || (b >= '0' && b <= '9') ? number(&c)
                  : b == 't'             ? literal(&c, "true")
                  : b == 'f'             ? literal(&c, "false")
                  : b == 'n'             ? literal(&c, "null")
                                         : false;
        if (!ok) break;
        want = AFTER;
    }
    if (where != NULL) *where = c.i;
    return false;
}

/* Duplicate member names (R-PROTO-014), compared decoded, in every object of the tree. */
static int by_name(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int gr_json_duplicates(const cJSON *v) {
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v)) return 0;
    size_t n = 0;
    const cJSON *child;
    cJSON_ArrayForEach(child, v) {
        int sub = gr_json_duplicates(child); /* depth is bounded by gr_json_check */
        if (sub != 0) return sub;
        n++;
    }
    if (!cJSON_IsObject(v) || n < 2) return 0;
    const char **names = gr_srv_malloc(n * sizeof *names);
    if (names == NULL) return -1;
    size_t i = 0;
    cJSON_ArrayForEach(child, v) names[i++] = child->string;
    qsort(names, n, sizeof *names, by_name);
    int dup = 0;
    for (i = 1; i < n && dup == 0; i++) dup = strcmp(names[i - 1], names[i]) == 0;
    gr_srv_free(names);
    return dup;
}

/* Past the value starting at c->i (text already checked by gr_json_check). */
static void skip_value(cursor *c) {
    size_t depth = 0;
    do {
        unsigned char b = c->s[c->i];
        if (b == '"') {
            (void)string(c);
        } else if (b == '{' || b == '[') {
            depth++;
            c->i++;
        } else if (b == '}' || b == ']') {
            depth--;
            c->i++;
        } else if (depth == 0) {
            while (c->i < c->n && c->s[c->i] != ',' && c->s[c->i] != '}' && c->s[c->i] != ']' &&
                   c->s[c->i] != ' ' && c->s[c->i] != '\t' && c->s[c->i] != '\r' &&
                   c->s[c->i] != '\n') {
                c->i++;
            }
        } else {
            c->i++;
        }
    } while (depth > 0 && c->i < c->n);
}

bool gr_json_top_member(const char *text, size_t n, const char *name, size_t *start,
                        size_t *end) {
    cursor c = {(const unsigned char *)text, n, 0};
    size_t name_len = strlen(name);
    skip_ws(&c);
    if (c.i >= c.n || c.s[c.i] != '{') return false;
    c.i++;
    for (;;) {
        skip_ws(&c);
        if (c.i >= c.n || c.s[c.i] != '"') return false;
        size_t key = c.i;
        (void)string(&c);
        bool match = c.i - key == name_len + 2 && memcmp(text + key + 1, name, name_len) == 0;
        skip_ws(&c);
        c.i++; /* ':' */
        skip_ws(&c);
        size_t value = c.i;
        skip_value(&c);
        if (match) {
            *start = value;
            *end = c.i;
            return true;
        }
        skip_ws(&c);
        if (c.i >= c.n || c.s[c.i] != ',') return false;
        c.i++;
    }
}
