/*
 * reader.c — the input side: bytes from a file descriptor cut into lines (R-PROTO-001; lines
 * past R-PROTO-009's limit are dropped whole and queued as a NULL text), and the queue of
 * received lines the server takes from (in order; a `cancel` may be taken from the middle
 * while a generate streams, R-PROTO-041).
 */
#include "serve_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the queue ------------------------------------------------------------------------------ */

void gr_queue_push(gr_queue *q, char *text, size_t len) {
    if (q->head > 0 && q->head + q->count == q->cap) {
        memmove(q->items, q->items + q->head, q->count * sizeof *q->items);
        q->head = 0;
    }
    if (q->head + q->count == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 16;
        q->items = gr_xrealloc(q->items, q->cap * sizeof *q->items);
    }
    q->items[q->head + q->count++] = (gr_line){text, len, LINE_UNKNOWN};
}

gr_line *gr_queue_at(gr_queue *q, size_t i) { return &q->items[q->head + i]; }

gr_line gr_queue_take(gr_queue *q, size_t i) {
    gr_line l = q->items[q->head + i];
    memmove(q->items + q->head + i, q->items + q->head + i + 1,
            (q->count - i - 1) * sizeof *q->items);
    q->count--;
    if (q->count == 0) q->head = 0;
    return l;
}

void gr_queue_free(gr_queue *q) {
    for (size_t i = 0; i < q->count; i++) free(q->items[q->head + i].text);
    free(q->items);
    *q = (gr_queue){0};
}

/* ---- the reader ----------------------------------------------------------------------------- */

/* Append the bytes of one read to the reader, queueing every complete line. */
static void reader_feed(gr_reader *rd, gr_queue *q, const char *data, size_t n) {
    while (n > 0) {
        const char *nl = memchr(data, '\n', n);
        size_t part = nl != NULL ? (size_t)(nl - data) : n;
        if (!rd->discarding) {
            if (rd->len + part > GR_PROTOCOL_MAX_LINE) {
                rd->discarding = true; /* R-PROTO-009 */
                rd->len = 0;
            } else {
                if (rd->len + part + 1 > rd->cap) {
                    rd->cap = (rd->len + part + 1) * 2;
                    rd->buf = gr_xrealloc(rd->buf, rd->cap);
                }
                memcpy(rd->buf + rd->len, data, part);
                rd->len += part;
            }
        }
        if (nl == NULL) return;
        if (rd->discarding) {
            gr_queue_push(q, NULL, 0);
            rd->discarding = false;
        } else {
            char *text = gr_xmalloc(rd->len + 1);
            memcpy(text, rd->buf, rd->len);
            text[rd->len] = '\0';
            gr_queue_push(q, text, rd->len);
        }
        rd->len = 0;
        data += part + 1;
        n -= part + 1;
    }
}

void gr_reader_fill(gr_reader *rd, gr_queue *q, bool block) {
    char chunk[65536];
    for (;;) {
        if (rd->eof) return;
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

/* LINE_CANCEL, LINE_STREAM (generate or generate-next-token) or LINE_OTHER. */
int gr_line_kind(gr_line *l) {
    if (l->kind == LINE_UNKNOWN) {
        l->kind = LINE_OTHER;
        if (l->text != NULL) {
            cJSON *msg = cJSON_ParseWithLength(l->text, l->len);
            const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(msg, "cmd");
            if (cJSON_IsString(cmd) && strcmp(cmd->valuestring, "cancel") == 0) {
                l->kind = LINE_CANCEL;
            } else if (cJSON_IsString(cmd) && (strcmp(cmd->valuestring, "generate") == 0 ||
                                              strcmp(cmd->valuestring, "generate-next-token") ==
                                                  0)) {
                l->kind = LINE_STREAM;
            }
            cJSON_Delete(msg);
        }
    }
    return l->kind;
}
