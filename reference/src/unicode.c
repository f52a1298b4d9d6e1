/* unicode.c — UTF-8 decoding for the pre-tokenizers (unicode.h); the class table itself is
 * generated (unicode_table.c). The well-formedness rule is text.c's (gr_utf8_len). */
#include "unicode.h"

#include "text.h"

size_t gr_uc_decode(const uint8_t *p, size_t n, uint32_t *cp) {
    size_t len = gr_utf8_len(p, n);
    switch (len) {
    case 1:
        *cp = p[0];
        return 1;
    case 2:
        *cp = ((uint32_t)(p[0] & 0x1Fu) << 6) | (p[1] & 0x3Fu);
        return 2;
    case 3:
        *cp = ((uint32_t)(p[0] & 0x0Fu) << 12) | ((uint32_t)(p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
        return 3;
    case 4:
        *cp = ((uint32_t)(p[0] & 0x07u) << 18) | ((uint32_t)(p[1] & 0x3Fu) << 12) |
              ((uint32_t)(p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu);
        return 4;
    default:
        *cp = GR_UC_BAD_BYTE + p[0];
        return 1;
    }
}
