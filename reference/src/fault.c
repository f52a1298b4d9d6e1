/*
 * fault.c — the I/O, panic and break hooks (SPEC R-FAULT-002..004, 007). The allocation hook
 * is in alloc.c. Like it, this is process-global state that exists only in test builds; release
 * builds keep the names (so tests and the CLI link) but arming does nothing.
 */
#include "fault.h"

#include <string.h>

static const char *const panic_points[] = {
    GR_PANIC_INIT_AFTER_ALLOC,      GR_PANIC_LOAD_AFTER_BUILD,
    GR_PANIC_LOAD_AFTER_INSTALL,    GR_PANIC_CONFIGURE_AFTER_STORE,
    GR_PANIC_GENERATE_AFTER_COMMIT, GR_PANIC_GENERATE_AFTER_TOKEN,
    GR_PANIC_NEXT_AFTER_FORWARD,    GR_PANIC_RESET_AFTER_CLEAR,
    GR_PANIC_FREE_AFTER_RELEASE,    GR_PANIC_DIAGNOSTICS_AFTER_WRITE,
    GR_PANIC_EXPORT_LOCKED,
};
#define N_PANIC_POINTS (sizeof panic_points / sizeof panic_points[0])

size_t ggufref_fault_panic_point_count(void) { return N_PANIC_POINTS; }

const char *ggufref_fault_panic_point_name(size_t i) {
    return i < N_PANIC_POINTS ? panic_points[i] : NULL;
}

/* The break names, in the order of the GR_FAULT_BREAK_* indices (fault.h). */
static const char *const break_names[GR_FAULT_BREAK_COUNT] = {
    [GR_FAULT_BREAK_ROPE_QUERY_AHEAD] = "rope.query_position_plus_one",
    [GR_FAULT_BREAK_ROPE_IGNORE_FACTORS] = "rope.ignore_freq_factors",
};

size_t ggufref_fault_break_count(void) { return GR_FAULT_BREAK_COUNT; }

const char *ggufref_fault_break_name(size_t i) {
    return i < GR_FAULT_BREAK_COUNT ? break_names[i] : NULL;
}

#ifdef GGUFREF_FAULT_INJECTION
#include <stdatomic.h>

/* ---- I/O: fail or end the file at byte io_at (UINT64_MAX = disarmed) ---- */
static _Atomic uint64_t io_at = UINT64_MAX;
static _Atomic int io_kind;
static _Atomic uint64_t io_bytes;
static _Atomic bool io_fired;

void ggufref_fault_io_fail_at(uint64_t byte, ggufref_io_fault kind) {
    atomic_store(&io_bytes, 0);
    atomic_store(&io_fired, false);
    atomic_store(&io_kind, (int)kind);
    atomic_store(&io_at, byte);
}
uint64_t ggufref_fault_io_bytes(void) { return atomic_load(&io_bytes); }
bool ggufref_fault_io_fired(void) { return atomic_load(&io_fired); }

size_t gr_io_read(FILE *f, void *buf, size_t n, uint64_t offset, bool *failed) {
    *failed = false;
    uint64_t at = atomic_load(&io_at);
    bool hit = at != UINT64_MAX && at >= offset && at - offset < n;
    size_t want = hit ? (size_t)(at - offset) : n;
    size_t got = want > 0 ? fread(buf, 1, want, f) : 0;
    atomic_fetch_add(&io_bytes, got);
    if (got < want) {
        *failed = ferror(f) != 0;
        return got;
    }
    if (hit) {
        atomic_store(&io_at, UINT64_MAX); /* fires once */
        atomic_store(&io_fired, true);
        *failed = atomic_load(&io_kind) == GGUFREF_IO_FAULT_ERROR;
    }
    return got;
}

/* ---- panic: the armed point name (NULL = disarmed), one of panic_points ---- */
static _Atomic(const char *) panic_armed;
static _Atomic bool panic_fired;

void ggufref_fault_panic_at(const char *point) {
    const char *match = NULL;
    for (size_t i = 0; point != NULL && i < N_PANIC_POINTS; i++) {
        if (strcmp(point, panic_points[i]) == 0) match = panic_points[i];
    }
    atomic_store(&panic_fired, false);
    atomic_store(&panic_armed, match);
}
bool ggufref_fault_panic_fired(void) { return atomic_load(&panic_fired); }

bool gr_panic_point(const char *name) {
    const char *armed = atomic_load(&panic_armed);
    if (armed == NULL || strcmp(armed, name) != 0) return false;
    /* Exactly one thread wins the point even if several reach it at once. */
    if (!atomic_compare_exchange_strong(&panic_armed, &armed, NULL)) return false;
    atomic_store(&panic_fired, true);
    return true;
}

/* ---- breaks: one bit per armed break (R-FAULT-007); they stay armed until disarmed ---- */
static _Atomic unsigned breaks_armed;

bool ggufref_fault_break_set(const char *name) {
    if (name == NULL) {
        atomic_store(&breaks_armed, 0u);
        return true;
    }
    for (int i = 0; i < GR_FAULT_BREAK_COUNT; i++) {
        if (strcmp(name, break_names[i]) == 0) {
            atomic_fetch_or(&breaks_armed, 1u << i);
            return true;
        }
    }
    return false;
}

bool gr_fault_break(int which) { return (atomic_load(&breaks_armed) >> which) & 1u; }

#else /* release build: hooks compiled out (R-FAULT-004) */

void ggufref_fault_io_fail_at(uint64_t byte, ggufref_io_fault kind) {
    (void)byte;
    (void)kind;
}
uint64_t ggufref_fault_io_bytes(void) { return 0; }
bool ggufref_fault_io_fired(void) { return false; }

size_t gr_io_read(FILE *f, void *buf, size_t n, uint64_t offset, bool *failed) {
    (void)offset;
    size_t got = fread(buf, 1, n, f);
    *failed = got < n && ferror(f) != 0;
    return got;
}

void ggufref_fault_panic_at(const char *point) { (void)point; }
bool ggufref_fault_panic_fired(void) { return false; }

bool ggufref_fault_break_set(const char *name) { return name == NULL; }

#endif
