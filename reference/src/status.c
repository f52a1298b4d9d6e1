/* status.c — status names (SPEC chapter 1), runtime state names (R-RT-002) and error
 * formatting. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

static const char *const status_names[GGUFREF_STATUS_COUNT] = {
    [GGUFREF_OK] = "OK",
    [GGUFREF_ERR_INVALID_ARGUMENT] = "INVALID_ARGUMENT",
    [GGUFREF_ERR_OUT_OF_MEMORY] = "OUT_OF_MEMORY",
    [GGUFREF_ERR_IO] = "IO_ERROR",
    [GGUFREF_ERR_TRUNCATED] = "TRUNCATED",
    [GGUFREF_ERR_BAD_MAGIC] = "BAD_MAGIC",
    [GGUFREF_ERR_BYTE_SWAPPED] = "BYTE_SWAPPED",
    [GGUFREF_ERR_UNSUPPORTED_VERSION] = "UNSUPPORTED_VERSION",
    [GGUFREF_ERR_BAD_VALUE_TYPE] = "BAD_VALUE_TYPE",
    [GGUFREF_ERR_BAD_STRING] = "BAD_STRING",
    [GGUFREF_ERR_DUPLICATE_NAME] = "DUPLICATE_NAME",
    [GGUFREF_ERR_MODEL_NOT_LOADED] = "MODEL_NOT_LOADED",
    [GGUFREF_ERR_INVALID_STATE] = "INVALID_STATE",
    [GGUFREF_ERR_GENERATION_FAILED] = "GENERATION_FAILED",
    [GGUFREF_ERR_BAD_ALIGNMENT] = "BAD_ALIGNMENT",
    [GGUFREF_ERR_BAD_TENSOR_INFO] = "BAD_TENSOR_INFO",
    [GGUFREF_ERR_BAD_TENSOR_DATA] = "BAD_TENSOR_DATA",
    [GGUFREF_ERR_LIMIT_EXCEEDED] = "LIMIT_EXCEEDED",
    [GGUFREF_ERR_UNSUPPORTED_MODEL] = "UNSUPPORTED_MODEL",
    [GGUFREF_ERR_UNSUPPORTED_TOKENIZER] = "UNSUPPORTED_TOKENIZER",
    [GGUFREF_ERR_CONTEXT_OVERFLOW] = "CONTEXT_OVERFLOW",
    [GGUFREF_ERR_CANCELLED] = "CANCELLED",
    [GGUFREF_ERR_BAD_VALUE] = "BAD_VALUE",
    [GGUFREF_ERR_DEADLINE_EXCEEDED] = "DEADLINE_EXCEEDED",
};

const char *ggufref_status_name(ggufref_status status) {
    if ((unsigned)status >= GGUFREF_STATUS_COUNT || status_names[status] == NULL) {
        return "UNKNOWN";
    }
    return status_names[status];
}

/* The runtime states of R-RT-002, in enum order. */
static const char *const state_names[GGUFREF_STATE_COUNT] = {
    [GGUFREF_STATE_UNINITIALIZED] = "UNINITIALIZED",
    [GGUFREF_STATE_INITIALIZED] = "INITIALIZED",
    [GGUFREF_STATE_READY] = "READY",
    [GGUFREF_STATE_CONTINUATION_READY] = "CONTINUATION_READY",
    [GGUFREF_STATE_RECOVERABLE_ERROR] = "RECOVERABLE_ERROR",
    [GGUFREF_STATE_FREED] = "FREED",
    [GGUFREF_STATE_POISONED] = "POISONED",
};

const char *ggufref_state_name(ggufref_state state) {
    if ((unsigned)state >= GGUFREF_STATE_COUNT) return "UNKNOWN";
    return state_names[state];
}

ggufref_status gr_fail(ggufref_error *err, ggufref_status status, uint64_t offset,
                       const char *fmt, ...) {
    if (err != NULL) {
        err->status = status;
        err->offset = offset;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return status;
}

const char *gr_quote_n(char *buf, size_t cap, const char *p, size_t len) {
    size_t o = 0;
    size_t i = 0;
    for (; i < len && o + 8 < cap; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\'' && ch != '\\') {
            buf[o++] = (char)ch;
        } else {
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", ch);
        }
    }
    if (i < len) o += (size_t)snprintf(buf + o, cap - o, "...");
    buf[o] = '\0';
    return buf;
}

const char *gr_quote(char buf[GR_QUOTE_MAX], const char *p, size_t len) {
    return gr_quote_n(buf, GR_QUOTE_MAX, p, len);
}
