/*
 * fuzz.h — helpers shared by the fuzz targets (fuzz/<target>.c). Header-only so that every
 * target builds from one .c file under every engine (libFuzzer, AFL++, the replay main,
 * OSS-Fuzz/ClusterFuzzLite).
 *
 * Contract of every target (issue 6):
 *   - deterministic: the same bytes always take the same path;
 *   - no state kept between inputs (read-only fixtures built once in LLVMFuzzerInitialize are
 *     the only globals), nothing leaked (the replay main checks the fault-injection allocator's
 *     live-block counter after every input; libFuzzer runs with LeakSanitizer);
 *   - never exits: a broken property is reported with FZ_CHECK, which prints and aborts, so every
 *     engine records the input as a crash.
 */
#ifndef GGUFREF_FUZZ_H
#define GGUFREF_FUZZ_H

#include "ggufref.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The two entry points every engine calls. LLVMFuzzerInitialize is optional per target. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A broken property: print where and what, then abort (the engines turn this into a crash
 * report with the input saved). Never used for "the input was rejected", which is fine. */
#define FZ_CHECK(cond, ...)                                                                   \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "%s:%d: property failed: %s: ", __FILE__, __LINE__, #cond);       \
            fprintf(stderr, __VA_ARGS__);                                                     \
            fputc('\n', stderr);                                                              \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

/* ------------------------------------------------------------------------------------------ */
/* A cursor over the fuzzer's bytes. Every take succeeds: past the end it yields zeros, so a   */
/* short input is simply a run with zero-valued settings (deterministic, no special cases).   */
/* ------------------------------------------------------------------------------------------ */

typedef struct fz_bytes {
    const uint8_t *p;
    size_t n; /* bytes left */
} fz_bytes;

static inline fz_bytes fz_bytes_make(const uint8_t *data, size_t size) {
    fz_bytes b = {data, size};
    return b;
}

/* Copy up to n bytes into out, zero-filling what the input lacks. */
static inline void fz_take_raw(fz_bytes *b, void *out, size_t n) {
    size_t k = n < b->n ? n : b->n;
    if (k > 0) memcpy(out, b->p, k);
    if (k < n) memset((uint8_t *)out + k, 0, n - k);
    b->p += k;
    b->n -= k;
}

static inline uint8_t fz_u8(fz_bytes *b) {
    uint8_t v;
    fz_take_raw(b, &v, 1);
    return v;
}

static inline uint16_t fz_u16(fz_bytes *b) {
    uint8_t x[2];
    fz_take_raw(b, x, 2);
    return (uint16_t)(x[0] | (x[1] << 8));
}

static inline uint32_t fz_u32(fz_bytes *b) {
    uint8_t x[4];
    fz_take_raw(b, x, 4);
    return (uint32_t)x[0] | ((uint32_t)x[1] << 8) | ((uint32_t)x[2] << 16) |
           ((uint32_t)x[3] << 24);
}

static inline uint64_t fz_u64(fz_bytes *b) {
    uint64_t lo = fz_u32(b);
    uint64_t hi = fz_u32(b);
    return lo | (hi << 32);
}

/* A float from raw bits: NaN, infinities and subnormals included on purpose. */
static inline float fz_f32_bits(fz_bytes *b) {
    uint32_t u = fz_u32(b);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* An integer in [lo, hi] (hi >= lo) from one, two or four bytes: the fewest that cover the
 * span, so a layout stays stable while the span keeps its size class. */
static inline uint32_t fz_range(fz_bytes *b, uint32_t lo, uint32_t hi) {
    uint32_t span = hi - lo;
    if (span == UINT32_MAX) return fz_u32(b);
    uint32_t raw = span < 256u ? fz_u8(b) : span < 65536u ? fz_u16(b) : fz_u32(b);
    return lo + raw % (span + 1u);
}

static inline bool fz_bool(fz_bytes *b) { return (fz_u8(b) & 1u) != 0; }

/* The rest of the input as a view; the cursor is left empty. */
static inline const uint8_t *fz_rest(fz_bytes *b, size_t *n) {
    const uint8_t *p = b->p;
    *n = b->n;
    b->p += b->n;
    b->n = 0;
    return p;
}

/* ------------------------------------------------------------------------------------------ */
/* Checks shared by the targets.                                                             */
/* ------------------------------------------------------------------------------------------ */

/* Does the view [p, p+len) lie inside [base, base+size)? (Empty views anywhere inside count.) */
static inline bool fz_within(const void *p, size_t len, const void *base, size_t size) {
    uintptr_t a = (uintptr_t)p, lo = (uintptr_t)base;
    if (len == 0 && p == NULL) return true;
    return a >= lo && a - lo <= size && len <= size - (size_t)(a - lo);
}

/* A rejection must carry its status and a non-empty one-line NUL-terminated message
 * (R-STATUS-003), and an offset that is UINT64_MAX or inside the input (or its end). The one
 * exception is TRUNCATED for tensor data: its offset is the first byte of the tensor's data,
 * which lies past the end of a file cut before it (R-GGUF-029). */
static inline void fz_check_error(ggufref_status st, const ggufref_error *err, uint64_t size) {
    FZ_CHECK(st > GGUFREF_OK && st < GGUFREF_STATUS_COUNT, "status %d", (int)st);
    FZ_CHECK(err->status == st, "err.status %d != returned %d", (int)err->status, (int)st);
    FZ_CHECK(memchr(err->message, '\0', sizeof err->message) != NULL, "message not terminated");
    FZ_CHECK(err->message[0] != '\0', "empty message for status %s", ggufref_status_name(st));
    FZ_CHECK(strchr(err->message, '\n') == NULL, "message of more than one line: %s",
             err->message);
    FZ_CHECK(err->offset == UINT64_MAX || err->offset <= size || st == GGUFREF_ERR_TRUNCATED,
             "offset %llu outside input of %llu bytes (%s)", (unsigned long long)err->offset,
             (unsigned long long)size, err->message);
}

/* A cheap deterministic hash of an input (its size and first 256 bytes): picks which allocation
 * an allocation-failure check fails, so the choice varies with the input yet replays exactly. */
static inline uint64_t fz_hash(const uint8_t *data, size_t size) {
    uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)size;
    for (size_t i = 0; i < size && i < 256; i++) h = (h ^ data[i]) * 0x100000001b3ull;
    return h;
}

/* Arm the fault-injection allocator to fail the k-th allocation from now, with k in
 * [1, n_allocs] chosen by fz_hash; false (nothing armed) when n_allocs is 0, as in builds
 * without fault injection. Disarm with ggufref_fault_alloc_fail_at(0). */
static inline bool fz_arm_alloc_failure(const uint8_t *data, size_t size, uint64_t n_allocs) {
    if (n_allocs == 0) return false;
    ggufref_fault_alloc_fail_at(1 + fz_hash(data, size) % n_allocs);
    return true;
}

/* Write-only sink for checksums, so that reads made only for ASan are not optimized away. It
 * never influences a run. */
static volatile uint32_t fz_sink;
static inline void fz_consume(uint32_t v) { fz_sink = v; }

/* Read every float of a buffer so that ASan sees any out-of-bounds view; returns a checksum
 * the caller may ignore (keeps the loads from being optimized away). */
static inline uint32_t fz_touch_f32(const float *v, size_t n) {
    uint32_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], sizeof u);
        acc = acc * 31u + u;
    }
    return acc;
}

static inline uint32_t fz_touch_bytes(const void *p, size_t n) {
    const uint8_t *b = p;
    uint32_t acc = 0;
    for (size_t i = 0; i < n; i++) acc = acc * 31u + b[i];
    return acc;
}

#endif /* GGUFREF_FUZZ_H */
