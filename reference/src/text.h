/*
 * text.h — UTF-8 and JSON strings, one implementation each (text.c). Not installed, not public.
 *
 * Users: the tokenizer's split into characters (R-TOK-011), the diagnostics JSON (R-RT-030),
 * the CLI's `info --json` and `generate --json` output, the wire protocol server.
 */
#ifndef GGUFREF_TEXT_H
#define GGUFREF_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length (1..4) of the well-formed UTF-8 sequence (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF) starting at p[0..n), n >= 1; 0 if the first byte does not start one. */
size_t gr_utf8_len(const uint8_t *p, size_t n);

/* True if the n bytes at s are well-formed UTF-8 (NUL included: U+0000 is a character). */
bool gr_utf8_valid(const char *s, size_t n);

/* Where escaped text goes: n bytes at p. */
typedef void (*gr_write_fn)(void *user, const char *p, size_t n);

/* How gr_json_string spells what JSON lets a writer choose (each writer keeps its output). */
enum {
    GR_JSON_CR_SHORT = 1u, /* CR as \r (without: \u000d) */
    GR_JSON_DEL = 2u,      /* 0x7F as \u007f (without: the byte itself) */
    GR_JSON_BAD_BYTE = 4u  /* a byte that starts no well-formed sequence as \u00XX, XX its value
                            * (without: \ufffd, U+REPLACEMENT CHARACTER) */
};

/* The n bytes at s as one JSON string (RFC 8259), quotes included, through write: '"' and '\\'
 * backslashed, LF and TAB as \n and \t, the other C0 controls as \u00XX (lowercase hex),
 * well-formed UTF-8 sequences as they are; flags as above. The output is always valid UTF-8. */
void gr_json_string(gr_write_fn write, void *user, const char *s, size_t n, unsigned flags);

/* The value of a byte token's text "<0xHH>" (two hex digits, either case), or -1. */
int gr_byte_token_value(const char *p, size_t len);

#endif
