/*
 * text.c — UTF-8 and JSON strings (text.h).
 */
#include "text.h"

#include <string.h>

size_t gr_utf8_len(const uint8_t *p, size_t n) {
    uint8_t b = p[0];
    size_t len;
    uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (b < 0x80) return 1;
    if (b >= 0xC2 && b <= 0xDF) len = 2;
    else if (b >= 0xE0 && b <= 0xEF) len = 3;
    else if (b >= 0xF0 && b <= 0xF4) len = 4;
    else return 0;
    if (b == 0xE0) lo = 0xA0; /* no overlong 3-byte forms */
    if (b == 0xED) hi = 0x9F; /* no surrogates */
    if (b == 0xF0) lo = 0x90; /* no overlong 4-byte forms */
    if (b == 0xF4) hi = 0x8F; /* nothing above U+10FFFF */
    if (n < len || p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
    }
    return len;
}

bool gr_utf8_valid(const char *s, size_t n) {
    const uint8_t *p = (const uint8_t *)s;
    for (size_t i = 0; i < n;) {
        size_t len = gr_utf8_len(p + i, n - i);
        if (len == 0) return false;
        i += len;
    }
    return true;
}

/* \u00XX for byte c. */
static void write_u00(gr_write_fn write, void *user, uint8_t c) {
    static const char digits[] = "0123456789abcdef";
    char esc[6] = {'\\', 'u', '0', '0', digits[c >> 4], digits[c & 15]};
    write(user, esc, sizeof esc);
}

void gr_json_string(gr_write_fn write, void *user, const char *s, size_t n, unsigned flags) {
    const uint8_t *p = (const uint8_t *)s;
    write(user, "\"", 1);
    size_t run = 0; /* start of the bytes copied as they are, not yet written */
    for (size_t i = 0; i < n;) {
        uint8_t c = p[i];
        size_t len = gr_utf8_len(p + i, n - i);
        bool plain = len > 1 || (len == 1 && c >= 0x20 && c != '"' && c != '\\' &&
                                 !(c == 0x7F && (flags & GR_JSON_DEL)));
        if (plain) {
            i += len;
            continue;
        }
        if (i > run) write(user, s + run, i - run);
        if (c == '"') write(user, "\\\"", 2);
        else if (c == '\\') write(user, "\\\\", 2);
        else if (c == '\n') write(user, "\\n", 2);
        else if (c == '\t') write(user, "\\t", 2);
        else if (c == '\r' && (flags & GR_JSON_CR_SHORT)) write(user, "\\r", 2);
        else if (len == 1 || (flags & GR_JSON_BAD_BYTE)) write_u00(write, user, c);
        else write(user, "\\ufffd", 6);
        i++;
        run = i;
    }
    if (n > run) write(user, s + run, n - run);
    write(user, "\"", 1);
}

int gr_byte_token_value(const char *p, size_t len) {
    if (len != 6 || memcmp(p, "<0x", 3) != 0 || p[5] != '>') return -1;
    int v = 0;
    for (int i = 3; i < 5; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                       : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}
