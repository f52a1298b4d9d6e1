/*
 * internal.h — helpers shared by the reference's modules. Not installed, not public.
 *
 * Every allocation of the library goes through gr_malloc/gr_calloc/gr_free so that test
 * builds (GGUFREF_FAULT_INJECTION) can fail the Nth allocation and count live blocks.
 * In release builds they are plain malloc/calloc/free.
 */
#ifndef GGUFREF_INTERNAL_H
#define GGUFREF_INTERNAL_H

#include "ggufref.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

void *gr_malloc(size_t size);              /* NULL on failure (or injected failure) */
void *gr_calloc(size_t count, size_t size); /* NULL on overflow or failure */
void gr_free(void *ptr);                   /* NULL is a no-op */

/* Checked arithmetic: false (and *out untouched) on overflow. */
static inline bool gr_mul_size(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return false;
    *out = a * b;
    return true;
}
static inline bool gr_add_size(size_t a, size_t b, size_t *out) {
    if (b > SIZE_MAX - a) return false;
    *out = a + b;
    return true;
}
static inline bool gr_mul_u64(uint64_t a, uint64_t b, uint64_t *out) {
    if (a != 0 && b > UINT64_MAX / a) return false;
    *out = a * b;
    return true;
}

/* Fill err (if not NULL) and return status. offset = UINT64_MAX when none applies. */
ggufref_status gr_fail(ggufref_error *err, ggufref_status status, uint64_t offset,
                       const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* A one-line, printable rendering of a string from a file, for error messages (R-STATUS-003):
 * at most 48 source bytes; bytes outside printable ASCII, quotes and backslashes as \xNN;
 * "..." when cut. Every string that comes from untrusted bytes goes through it before it
 * enters a message. Returns buf. */
#define GR_QUOTE_MAX 80
const char *gr_quote(char buf[GR_QUOTE_MAX], const char *p, size_t len);
/* The same rendering into buf[0..cap) (cap >= 12), for longer strings: caller-given paths go
 * into messages through it, with cap GR_QUOTE_PATH_MAX (R-STATUS-003). Returns buf. */
#define GR_QUOTE_PATH_MAX 168
const char *gr_quote_n(char *buf, size_t cap, const char *p, size_t len);

#endif /* GGUFREF_INTERNAL_H */
