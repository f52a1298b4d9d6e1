/*
 * reader.c — the input side: bytes from a file descriptor cut into lines (R-PROTO-001; lines
 * past R-PROTO-009's limit are dropped whole and queued as a NULL text), and the queue of
 * received lines the server takes from (in order; a `cancel` may be taken from the middle
 * while a generate streams, R-PROTO-041). Every operation is O(1) per line (amortized).
 */
#include "serve_internal.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

/* ---- the queue ------------------------------------------------------------------------------ */

bool gr_queue_push(gr_queue *q, char *text, size_t len) {
    if (q->head + q->count == q->cap) {
        if (q->head >= q->cap / 2 && q->head > 0) { /* front half free: compact, O(count) */
            memmove(q->items, q->items + q->head, q->count * sizeof *q->items);
            q->moves += q->count;
            q->head = 0;
        } else {
            size_t cap = q->cap ? q->cap * 2 : 16;
            gr_line *grown = gr_srv_realloc(q->items, cap * sizeof *q->items);
            if (grown == NULL) return false;
            q->items = grown;
            q->cap = cap;
        }
    }
    q->items[q->head + q->count++] = (gr_line){text, len, LINE_UNKNOWN};
    return true;
}

gr_line *gr_queue_at(gr_queue *q, size_t i) { return &q->items[q->head + i]; }

/* Drop holes at the head. */
static void skip_holes(gr_queue *q) {
    while (q->count > 0 && q->items[q->head].kind == LINE_GONE) {
        q->head++;
        q->count--;
        if (q->scanned > 0) q->scanned--;
    }
    if (q->count == 0) q->head = q->scanned = 0;
}

gr_line gr_queue_take(gr_queue *q, size_t i) {
    gr_line *slot = &q->items[q->head + i];
    gr_line l = *slot;
    *slot = (gr_line){NULL, 0, LINE_GONE};
    skip_holes(q);
    return l;
}

gr_line gr_queue_pop(gr_queue *q) {
    skip_holes(q);
    return gr_queue_take(q, 0);
}

void gr_queue_free(gr_queue *q) {
    for (size_t i = 0; i < q->count; i++) gr_srv_free(q->items[q->head + i].text);
    gr_srv_free(q->items);
    *q = (gr_queue){0};
}

/* ---- the reader ----------------------------------------------------------------------------- */

/* Queue the line in rd->buf[0..len): a copy, or NULL (oversized). false: out of memory. */
static bool queue_line(gr_reader *rd, gr_queue *q, bool oversized) {
    char *text = NULL;
    if (!oversized) {
        text = gr_srv_malloc(rd->len + 1);
        if (text == NULL) return false;
        memcpy(text, rd->buf, rd->len);
        text[rd->len] = '\0';
    }
    if (!gr_queue_push(q, text, rd->len)) {
        gr_srv_free(text);
        return false;
    }
    return true;
}

/* Append the bytes of one read to the reader, queueing every complete line. The limit counts
 * the bytes before the line ending: a CR right before the LF is part of the ending
 * (R-PROTO-009), so up to GR_PROTOCOL_MAX_LINE + 1 bytes are kept while the LF is awaited. */
static void reader_feed(gr_reader *rd, gr_queue *q, const char *data, size_t n) {
    while (n > 0 && !rd->failed) {
        const char *nl = memchr(data, '\n', n);
        size_t part = nl != NULL ? (size_t)(nl - data) : n;
        if (!rd->discarding) {
            if (rd->len + part > GR_PROTOCOL_MAX_LINE + 1) {
                rd->discarding = true; /* R-PROTO-009 */
                rd->len = 0;
            } else {
                if (rd->len + part + 1 > rd->cap) {
                    size_t cap = (rd->len + part + 1) * 2;
                    char *grown = gr_srv_realloc(rd->buf, cap);
                    if (grown == NULL) {
                        rd->failed = true;
                        return;
                    }
                    rd->buf = grown;
                    rd->cap = cap;
                }
                memcpy(rd->buf + rd->len, data, part);
                rd->len += part;
            }
        }
        if (nl == NULL) return;
        /* one byte over the limit is allowed only as the CR of a CRLF ending */
        bool oversized = rd->discarding ||
                         (rd->len > GR_PROTOCOL_MAX_LINE && rd->buf[rd->len - 1] != '\r');
        if (!queue_line(rd, q, oversized)) {
            rd->failed = true;
            return;
        }
        rd->discarding = false;
        rd->len = 0;
        data += part + 1;
        n -= part + 1;
    }
}

void gr_reader_fill(gr_reader *rd, gr_queue *q, bool block) {
    char chunk[65536];
    for (;;) {
        if (rd->eof || rd->failed) return;
        struct pollfd p = {.fd = rd->fd, .events = POLLIN};
        int r = poll(&p, 1, block ? -1 : 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return;
        ssize_t got = read(rd->fd, chunk, sizeof chunk);
        if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (got <= 0) {
            rd->eof = true;
            if (rd->discarding || rd->len > 0) reader_feed(rd, q, "\n", 1);
            return;
        }
        reader_feed(rd, q, chunk, (size_t)got);
        if (block) block = false; /* got something: drain the rest without blocking */
    }
}
