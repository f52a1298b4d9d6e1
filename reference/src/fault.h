/*
 * fault.h — the I/O, panic and break hooks (SPEC R-FAULT-002..004, 007), internal side.
 *
 * Library code calls gr_io_read for every read of a model file and gr_panic_point at each
 * named point of an operation. Test builds (GGUFREF_FAULT_INJECTION) route them through the
 * armed schedules of fault.c; release builds compile them to plain fread and constant false,
 * so the hooks cost nothing there (R-FAULT-004).
 */
#ifndef GGUFREF_FAULT_H
#define GGUFREF_FAULT_H

#include "internal.h"

#include <stdio.h>

/* The panic points, in SPEC R-FAULT-003 order (also the order of ggufref_fault_panic_point_name). */
#define GR_PANIC_INIT_AFTER_ALLOC "init.after_alloc"
#define GR_PANIC_LOAD_AFTER_BUILD "load_model.after_build"
#define GR_PANIC_LOAD_AFTER_INSTALL "load_model.after_install"
#define GR_PANIC_CONFIGURE_AFTER_STORE "configure_sampling.after_store"
#define GR_PANIC_GENERATE_AFTER_COMMIT "generate.after_commit"
#define GR_PANIC_GENERATE_AFTER_TOKEN "generate.after_token"
#define GR_PANIC_NEXT_AFTER_FORWARD "generate_next_token.after_forward"
#define GR_PANIC_RESET_AFTER_CLEAR "reset_context.after_clear"
#define GR_PANIC_FREE_AFTER_RELEASE "free_model.after_release"
#define GR_PANIC_DIAGNOSTICS_AFTER_WRITE "diagnostics.after_write"
#define GR_PANIC_EXPORT_LOCKED "export.locked"

/* Read up to n bytes of f into buf; offset is the file offset of buf[0] (the I/O hook's byte
 * numbering). Returns the bytes delivered; *failed is set when the read failed (an armed ERROR
 * fault or a stream error). Fewer than n bytes without *failed is end of file (or an armed
 * SHORT fault). */
size_t gr_io_read(FILE *f, void *buf, size_t n, uint64_t offset, bool *failed);

#ifdef GGUFREF_FAULT_INJECTION
/* True exactly once after ggufref_fault_panic_at(name): the caller aborts its operation there. */
bool gr_panic_point(const char *name);
#else
static inline bool gr_panic_point(const char *name) {
    (void)name;
    return false;
}
#endif

/* The break hook (R-FAULT-007): deliberate bugs of the forward pass for the harness self-test,
 * indices into the table of ggufref_fault_break_name (same order). Release builds: never on. */
enum {
    GR_FAULT_BREAK_ROPE_QUERY_AHEAD,     /* "rope.query_position_plus_one" */
    GR_FAULT_BREAK_ROPE_IGNORE_FACTORS,  /* "rope.ignore_freq_factors" */
    GR_FAULT_BREAK_COUNT
};
#ifdef GGUFREF_FAULT_INJECTION
bool gr_fault_break(int which);
#else
static inline bool gr_fault_break(int which) {
    (void)which;
    return false;
}
#endif

#endif
