/*
 * serve.h — the wire protocol server behind `ggufref serve` (SPEC chapter 9, R-PROTO-*).
 *
 * JSON Lines: one command object per input line, one event object per output line. The server
 * drives the process-global export layer (ggufref.h section 9), exactly as a Worker drives the
 * WASM exports of seed 002. It is callable as a library so that the CLI, the conformance suite
 * and the fuzz target share it:
 *
 *     gr_server *s = gr_server_create(stdout, &config, &why);
 *     gr_server_handle_line(s, line, len);   // writes the events of that command to `out`
 *     gr_server_destroy(s);
 *
 * gr_server_run adds the input side: it reads lines from a file descriptor, and while a
 * generate streams it reads ahead between tokens so that `cancel` can stop it (R-PROTO-041).
 *
 * Files (reference/serve/, each calls only the ones below it):
 *   server.c     create/destroy, the run loop, framing checks and dispatch, the command table
 *   cmd_*.c      one handler per command, grouped: session, generate, evaluate, fault
 *   sessions.c   capability `sessions`: open-session / close-session and the `session` field,
 *                one worker thread per session on the pool (events under one writer lock)
 *   fields.c     the typed field getters of a command (R-PROTO-008)
 *   json_check.c RFC 8259 exactly, before cJSON (R-PROTO-013, R-PROTO-014)
 *   memory.c     every allocation of the server, cJSON's too (R-PROTO-016)
 *   reader.c     the line reader (R-PROTO-001, R-PROTO-009) and the queue of received lines
 *   events.c     event objects, ids, error events, logits encoding (R-PROTO-030, R-PROTO-031)
 *   breaks.c     the deliberately broken variants of the harness self-test (fault builds)
 *   stub.c       the whole server when cJSON is absent (CMake picks it instead of the above)
 */
#ifndef GGUFREF_SERVE_H
#define GGUFREF_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* R-PROTO-009: longest accepted command line in bytes, newline excluded. */
#define GR_PROTOCOL_MAX_LINE ((size_t)1 << 20)
/* R-PROTO-030: most top logits a token event carries. */
#define GR_PROTOCOL_MAX_TOP 32

typedef struct gr_server gr_server;

typedef struct gr_server_config {
    /* Offer the fault-injection commands (R-PROTO-060). Only honoured when the server is linked
     * with the fault-injection library; gr_server_create fails otherwise. */
    bool fault_injection;
    /* A deliberately broken behaviour for the harness self-test (harness/selftest), or NULL.
     * Only in fault-injection builds; see gr_server_break_names. */
    const char *break_name;
    /* Allocate the server's blocks (cJSON's included) through the library's allocation hook,
     * so that ggufref_fault_alloc_fail_at(k) reaches them too: the server OOM loop
     * (torture_protocol, R-PROTO-016). Off: the hook sees only the runtime's allocations. */
    bool count_allocs;
    /* Threads of the forward pass of every runtime the server computes on: the export layer's
     * and every session's (R-PROTO-062). 1 .. GGUFREF_MAX_THREADS; 0: GGUFREF_THREADS from the
     * environment if set, else 1. */
    unsigned threads;
} gr_server_config;

/* A new server writing events to `out`. NULL if cJSON is absent, if fault injection or a break
 * is asked of a build without it, if the break name is unknown, if an environment setting
 * (R-POOL-040, R-PROTO-062) is malformed, if the threads cannot be had, or if memory runs out; then
 * *why (if not NULL) points at a static one-line reason. It installs the server's allocator as
 * cJSON's (cJSON_InitHooks, process-wide, R-PROTO-016): a caller that also uses cJSON frees
 * each value under the hooks it was made with (make none before the first server). */
gr_server *gr_server_create(FILE *out, const gr_server_config *config, const char **why);
void gr_server_destroy(gr_server *server); /* NULL is a no-op */

/* Handle one command line (no newline; a trailing '\r' is ignored). Writes every event of the
 * command to `out`, flushing after each. A generate runs to its end unless an input source is
 * attached (gr_server_run), in which case queued and newly read `cancel` lines are honoured
 * between tokens. */
void gr_server_handle_line(gr_server *server, const char *line, size_t len);

/* Serve: read lines from fd until end of input, handle each, return the exit code: 0, or 1 if
 * the server stopped early (events could not be written, R-PROTO-015; out of memory where no
 * answer could be given, R-PROTO-016; the oversize-exit break). */
int gr_server_run(gr_server *server, int fd);

/* Why the server stopped early, one line for stderr (NULL: it did not, or the break); *err
 * (if not NULL) the errno of a failed write, else 0. */
const char *gr_server_failure(const gr_server *server, int *err);

/* The names of the break variants this build knows, NULL-terminated (empty in release). */
const char *const *gr_server_break_names(void);

#endif
