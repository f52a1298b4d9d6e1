/*
 * alloc.c — the one allocation hook (SPEC R-FAULT-001).
 *
 * Test builds define GGUFREF_FAULT_INJECTION: the allocator then counts allocations and live
 * blocks and can fail the Nth allocation after ggufref_fault_alloc_fail_at(N) (transient), or the
 * Nth and every later one after ggufref_fault_alloc_fail_from(N) (persistent). This is the one
 * piece of process-global state besides the export layer, and it exists only in test builds.
 */
#include "internal.h"

#include <stdlib.h>

#ifdef GGUFREF_FAULT_INJECTION
#include <stdatomic.h>

static _Atomic uint64_t fail_at;   /* 0 = disarmed */
static _Atomic bool persistent;    /* fail every allocation from fail_at on */
static _Atomic uint64_t count;     /* allocations since the last arm */
static _Atomic int64_t live;       /* live blocks */
static _Atomic bool fired;

static void arm(uint64_t n, bool persist) {
    atomic_store(&count, 0);
    atomic_store(&fired, false);
    atomic_store(&persistent, persist);
    atomic_store(&fail_at, n);
}
void ggufref_fault_alloc_fail_at(uint64_t n) { arm(n, false); }
void ggufref_fault_alloc_fail_from(uint64_t n) { arm(n, true); }
uint64_t ggufref_fault_alloc_count(void) { return atomic_load(&count); }
int64_t ggufref_fault_alloc_live(void) { return atomic_load(&live); }
bool ggufref_fault_alloc_fired(void) { return atomic_load(&fired); }

static bool should_fail(void) {
    uint64_t n = atomic_fetch_add(&count, 1) + 1;
    uint64_t target = atomic_load(&fail_at);
    if (target != 0 && (n == target || (n > target && atomic_load(&persistent)))) {
        atomic_store(&fired, true);
        return true;
    }
    return false;
}

void *gr_malloc(size_t size) {
    if (should_fail()) return NULL;
    void *p = malloc(size == 0 ? 1 : size);
    if (p != NULL) atomic_fetch_add(&live, 1);
    return p;
}

void *gr_calloc(size_t n, size_t size) {
    size_t total;
    if (!gr_mul_size(n, size, &total)) return NULL;
    if (should_fail()) return NULL;
    void *p = calloc(total == 0 ? 1 : total, 1);
    if (p != NULL) atomic_fetch_add(&live, 1);
    return p;
}

void gr_free(void *ptr) {
    if (ptr == NULL) return;
    atomic_fetch_sub(&live, 1);
    free(ptr);
}

#else /* release build: no hooks, no counters */

void ggufref_fault_alloc_fail_at(uint64_t n) { (void)n; }
void ggufref_fault_alloc_fail_from(uint64_t n) { (void)n; }
uint64_t ggufref_fault_alloc_count(void) { return 0; }
int64_t ggufref_fault_alloc_live(void) { return 0; }
bool ggufref_fault_alloc_fired(void) { return false; }

void *gr_malloc(size_t size) { return malloc(size == 0 ? 1 : size); }
void *gr_calloc(size_t n, size_t size) {
    size_t total;
    if (!gr_mul_size(n, size, &total)) return NULL;
    return calloc(total == 0 ? 1 : total, 1);
}
void gr_free(void *ptr) { free(ptr); }

#endif
