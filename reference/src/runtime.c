/*
 * runtime.c — the runtime handle: state machine and operations (SPEC chapter 7).
 *
 * Every operation has the same shape:
 *
 *   1. enter()        poisoned → GENERATION_FAILED; UNINITIALIZED → lazy init (R-RT-004)
 *   2. checks         ordering errors (refuse: state unchanged, R-RT-005), input rejection
 *   3. preparation    everything that can fail or allocate, into locals (R-RT-010, R-RT-026)
 *   4. commit         install / clear; from here on nothing can fail but a step of the model
 *   5. next state     per conformance/transitions.tsv
 *
 * A failure in 2-3 goes through op_fail (→ RECOVERABLE_ERROR, R-RT-006) with every resident
 * datum untouched. Panic points (fault.h) sit after partial mutations; a panic drops the
 * operation's locals (as Rust's unwinding would) and poisons the handle (R-RT-050).
 */
#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE (glibc: not in POSIX) */

#include "runtime.h"
#include "threads.h" /* gr_pool_max_threads */

#include "fault.h"
#include "gguf.h"
#include "hash.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#ifdef __linux__
#include <sys/mman.h> /* madvise, MADV_HUGEPAGE: a hint (R-RT-015); not on wasm32-wasi */
#endif

#define GR_DIAG_INITIAL 256u      /* diagnostics bytes reserved by init; grown on demand */
#define GR_BYTES_ALIGN 64u        /* the owned model bytes start on a cache line (R-RT-014) */
#define GR_BYTES_HUGE ((size_t)2 << 20) /* models this large start on a 2 MiB page (R-RT-015) */

/* ------------------------------------------------------------------------------------- */
/* Errors and the common prologue                                                         */
/* ------------------------------------------------------------------------------------- */

/* Failure of a mutating operation (R-RT-006): record err, move to RECOVERABLE_ERROR. */
static ggufref_status op_fail(ggufref_runtime *rt, const ggufref_error *err) {
    rt->last_error = *err;
    rt->state = GGUFREF_STATE_RECOVERABLE_ERROR;
    return err->status;
}

/* op_fail with a message built here. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static ggufref_status op_failf(ggufref_runtime *rt, ggufref_status status, const char *fmt, ...) {
    ggufref_error err = {.status = status, .offset = UINT64_MAX};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err.message, sizeof err.message, fmt, ap);
    va_end(ap);
    return op_fail(rt, &err);
}

/* Ordering error (R-RT-005): record it, keep the state. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static ggufref_status refuse(ggufref_runtime *rt, ggufref_status status, const char *fmt, ...) {
    rt->last_error.status = status;
    rt->last_error.offset = UINT64_MAX;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rt->last_error.message, sizeof rt->last_error.message, fmt, ap);
    va_end(ap);
    return status;
}

/* A panic point fired (R-RT-050): the handle is poisoned for good. */
static ggufref_status poison(ggufref_runtime *rt, const char *point) {
    rt->state = GGUFREF_STATE_POISONED;
    atomic_store(&rt->poisoned, true);
    gr_fail(&rt->last_error, GGUFREF_ERR_GENERATION_FAILED, UINT64_MAX,
            "operation panicked at %s; the runtime is poisoned", point);
    return GGUFREF_ERR_GENERATION_FAILED;
}

static uint64_t now_ns(const ggufref_runtime *rt) {
    return rt->clock != NULL ? rt->clock(rt->clock_user) : 0;
}

/* Prologue of every lazy operation: GENERATION_FAILED when poisoned, then lazy init. */
static ggufref_status enter(ggufref_runtime *rt) {
    if (rt == NULL) return GGUFREF_ERR_INVALID_ARGUMENT;
    if (rt->state == GGUFREF_STATE_POISONED) return GGUFREF_ERR_GENERATION_FAILED;
    return ggufref_runtime_init(rt);
}

/* ------------------------------------------------------------------------------------- */
/* Lifecycle                                                                              */
/* ------------------------------------------------------------------------------------- */

void gr_runtime_init_fields(ggufref_runtime *rt) {
    memset(rt, 0, sizeof *rt);
    rt->state = GGUFREF_STATE_UNINITIALIZED;
    ggufref_sampling_default(&rt->sampling);
    ggufref_rng_seed(&rt->rng, rt->sampling.seed);
    rt->last_error.status = GGUFREF_OK;
    rt->last_error.offset = UINT64_MAX;
    atomic_init(&rt->own_cancel, false);
    rt->cancel = &rt->own_cancel;
    atomic_init(&rt->poisoned, false);
}

ggufref_status ggufref_runtime_create(ggufref_runtime **out) {
    if (out == NULL) return GGUFREF_ERR_INVALID_ARGUMENT;
    *out = gr_malloc(sizeof **out);
    if (*out == NULL) return GGUFREF_ERR_OUT_OF_MEMORY;
    gr_runtime_init_fields(*out);
    return GGUFREF_OK;
}

/* Releases a bundle and everything it owns, in reverse order of construction. NULL is a
 * no-op; a partly built bundle (NULL members) is fine. */
static void bundle_free(gr_bundle *b) {
    if (b == NULL) return;
    gr_free(b->spare);
    gr_free(b->tokens);
    gr_free(b->logits);
    ggufref_sampler_free(b->sampler);
    ggufref_context_free(b->ctx);
    ggufref_shared_model_release(b->shared);
    gr_free(b);
}

void ggufref_runtime_destroy(ggufref_runtime *rt) {
    if (rt == NULL) return;
    bundle_free(rt->model);
    gr_free(rt->result);
    gr_free(rt->diag);
    gr_free(rt);
}

ggufref_state ggufref_runtime_state(const ggufref_runtime *rt) {
    return rt == NULL ? GGUFREF_STATE_UNINITIALIZED : rt->state;
}

void ggufref_runtime_set_clock(ggufref_runtime *rt, ggufref_clock_fn clock, void *user) {
    if (rt == NULL) return;
    rt->clock = clock;
    rt->clock_user = user;
}

/* R-NUM-049: a setting like the clock, not an operation of the state machine. */
ggufref_status ggufref_runtime_set_threads(ggufref_runtime *rt, uint32_t n_threads) {
    if (rt == NULL || n_threads == 0 || n_threads > gr_pool_max_threads()) {
        return GGUFREF_ERR_INVALID_ARGUMENT;
    }
    if (rt->model != NULL) {
        ggufref_status st = ggufref_context_set_threads(rt->model->ctx, n_threads);
        if (st != GGUFREF_OK) return st;
    }
    rt->n_threads = n_threads;
    return GGUFREF_OK;
}

uint32_t ggufref_runtime_threads(const ggufref_runtime *rt) {
    return rt != NULL && rt->n_threads != 0 ? rt->n_threads : 1;
}

/* R-RT-004, R-RT-005: idempotent; allocates the diagnostics bytes. A failure leaves the
 * runtime UNINITIALIZED and last_error untouched (there is no runtime value to hold it). */
ggufref_status ggufref_runtime_init(ggufref_runtime *rt) {
    if (rt == NULL) return GGUFREF_ERR_INVALID_ARGUMENT;
    if (rt->state == GGUFREF_STATE_POISONED) return GGUFREF_ERR_GENERATION_FAILED;
    if (rt->state != GGUFREF_STATE_UNINITIALIZED) return GGUFREF_OK;
    char *diag = gr_malloc(GR_DIAG_INITIAL);
    if (diag == NULL) return GGUFREF_ERR_OUT_OF_MEMORY;
    rt->diag = diag;
    rt->diag_cap = GR_DIAG_INITIAL;
    rt->diag_len = 0;
    if (gr_panic_point(GR_PANIC_INIT_AFTER_ALLOC)) return poison(rt, GR_PANIC_INIT_AFTER_ALLOC);
    rt->state = GGUFREF_STATE_INITIALIZED;
    return GGUFREF_OK;
}

/* Forget the request (R-RT-020, R-RT-027): no allocation, capacities stay. */
static void clear_request(ggufref_runtime *rt) {
    rt->n_tokens = 0;
    rt->n_prompt = 0;
    rt->n_past = 0;
    rt->result_len = 0;
    rt->stop = GR_STOP_NONE;
}

/* ------------------------------------------------------------------------------------- */
/* Loading (R-RT-010..012)                                                                */
/* ------------------------------------------------------------------------------------- */

/* Make sure err describes a failure with `status` (sub-calls that take no err leave it). */
static ggufref_status ensure_err(ggufref_error *err, ggufref_status status, const char *what) {
    if (err->status != status) {
        gr_fail(err, status, UINT64_MAX, "%s failed: %s", what, ggufref_status_name(status));
    }
    return status;
}

/* Longest piece of the vocabulary: one token never adds more result bytes (R-RT-026); a
 * piece after BOS is only ever shorter. */
static size_t longest_piece(const ggufref_model *model, uint32_t n_vocab) {
    size_t max = 0;
    for (uint32_t t = 0; t < n_vocab; t++) {
        size_t len = ggufref_token_to_piece(model, -1, (int32_t)t).len;
        if (len > max) max = len;
    }
    return max;
}

/* The alignment of n owned model bytes: GR_BYTES_ALIGN (R-RT-014), or GR_BYTES_HUGE for models
 * of at least GR_BYTES_HUGE bytes (R-RT-015), so their weights can sit on 2 MiB pages. */
static size_t bytes_alignment(size_t n) {
    return n >= GR_BYTES_HUGE ? GR_BYTES_HUGE : GR_BYTES_ALIGN;
}

/* Room for n model bytes starting on a bytes_alignment(n) boundary, in ONE gr_malloc (the
 * fault-injection counts do not depend on the size). GGUF aligns tensor data relative to the
 * file start, and F32 rows read with 32-byte loads at an address 16 past a line cost ~15% more
 * per token (R-RT-014). For large models the aligned range is offered to the kernel for
 * transparent huge pages (Linux), before anything is written to it (R-RT-015: F32 decoding
 * ~29% faster than from 4 KiB pages); the advice is a hint and its result is ignored.
 * Returns the aligned start, NULL if out of memory.
 * OUT: *block = what gr_malloc returned (to gr_free), NULL on failure. */
static uint8_t *bytes_alloc(size_t n, uint8_t **block) {
    size_t align = bytes_alignment(n), total;
    *block = gr_add_size(n, align - 1, &total) ? gr_malloc(total) : NULL;
    if (*block == NULL) return NULL;
    size_t misalign = (size_t)((uintptr_t)*block % align);
    uint8_t *start = *block + (misalign == 0 ? 0 : align - misalign);
#ifdef MADV_HUGEPAGE
    /* Whole 2 MiB pages inside [start, start + n): start is on one; the tail is left out. */
    size_t huge = n - n % GR_BYTES_HUGE;
    if (align == GR_BYTES_HUGE) (void)madvise(start, huge, MADV_HUGEPAGE);
#endif
    return start;
}

/* ------------------------------------------------------------------------------------- */
/* The shared model (R-POOL-001): the immutable half of a loaded model                    */
/* ------------------------------------------------------------------------------------- */

/* Parse and bind owned bytes (inside block, from bytes_alloc; ownership passes to the shared
 * model, also on failure). OUT: *out with one reference. On failure err is filled and nothing
 * is left allocated. */
static ggufref_status shared_build(uint8_t *block, uint8_t *bytes, size_t size,
                                   ggufref_shared_model **out, ggufref_error *err) {
    *out = NULL;
    err->status = GGUFREF_OK;
    ggufref_shared_model *m = gr_calloc(1, sizeof *m);
    if (m == NULL) {
        gr_free(block);
        return gr_fail(err, GGUFREF_ERR_OUT_OF_MEMORY, UINT64_MAX, "out of memory for the model");
    }
    atomic_init(&m->refs, 1);
    m->block = block;
    m->bytes = bytes;
    m->size = size;
    ggufref_status st = ggufref_gguf_open_memory(bytes, size, &m->gguf, err);
    if (st != GGUFREF_OK) {
        ensure_err(err, st, "GGUF parse");
        goto fail;
    }
    st = ggufref_model_load(m->gguf, &m->model, err);
    if (st != GGUFREF_OK) {
        ensure_err(err, st, "model binding");
        goto fail;
    }
    m->bytes_hash = gr_hash_bytes(bytes, size);
    *out = m;
    return GGUFREF_OK;
fail:
    ggufref_shared_model_release(m);
    return st;
}

void ggufref_shared_model_retain(ggufref_shared_model *m) {
    if (m != NULL) atomic_fetch_add(&m->refs, 1);
}

void ggufref_shared_model_release(ggufref_shared_model *m) {
    if (m == NULL || atomic_fetch_sub(&m->refs, 1) != 1) return;
    ggufref_model_free(m->model);
    ggufref_gguf_close(m->gguf);
    gr_free(m->block);
    gr_free(m);
}

uint64_t ggufref_shared_model_refs(const ggufref_shared_model *m) {
    return m == NULL ? 0 : (uint64_t)atomic_load(&((ggufref_shared_model *)m)->refs);
}

uint64_t ggufref_shared_model_size(const ggufref_shared_model *m) {
    return m == NULL ? 0 : m->size;
}

const ggufref_model *ggufref_shared_model_model(const ggufref_shared_model *m) {
    return m == NULL ? NULL : m->model;
}

/* ------------------------------------------------------------------------------------- */
/* The session half: context, sampler, vectors                                            */
/* ------------------------------------------------------------------------------------- */

/* Bytes bundle_build allocates besides the shared model (R-POOL-020): the bundle, context,
 * sampler (two n_vocab vectors of 8 and 4 bytes), logits copy and two token vectors. */
ggufref_status ggufref_runtime_session_bytes(const ggufref_shared_model *m, uint32_t n_ctx,
                                             uint64_t *out) {
    if (out != NULL) *out = 0;
    if (m == NULL || out == NULL) return GGUFREF_ERR_INVALID_ARGUMENT;
    size_t ctx_bytes;
    ggufref_status st = ggufref_context_bytes(m->model, n_ctx, &ctx_bytes);
    if (st != GGUFREF_OK) return st;
    ggufref_model_info in;
    ggufref_model_get_info(m->model, &in);
    uint64_t positions = n_ctx == 0 ? in.n_ctx_train : n_ctx;
    *out = (uint64_t)ctx_bytes + sizeof(gr_bundle) + 64u /* the sampler struct */ +
           (uint64_t)in.n_vocab * (8u + 4u + 4u) + positions * 2u * sizeof(int32_t);
    return GGUFREF_OK;
}

/* Build a bundle over m (taking a new reference) with a context of n_ctx positions (0: the
 * model's). OUT: *out. On failure err is filled and nothing is left allocated or retained. */
static ggufref_status bundle_build(ggufref_shared_model *m, uint32_t n_ctx, uint32_t n_threads,
                                   gr_bundle **out, ggufref_error *err) {
    *out = NULL;
    err->status = GGUFREF_OK;
    gr_bundle *b = gr_calloc(1, sizeof *b);
    if (b == NULL) {
        return gr_fail(err, GGUFREF_ERR_OUT_OF_MEMORY, UINT64_MAX, "out of memory for the model");
    }
    ggufref_shared_model_retain(m);
    b->shared = m;
    b->bytes = m->bytes;
    b->size = m->size;
    b->bytes_hash = m->bytes_hash;
    b->gguf = m->gguf;
    b->model = m->model;
    ggufref_model_get_info(b->model, &b->info);
    ggufref_status st = ggufref_context_create(b->model, n_ctx, &b->ctx);
    if (st != GGUFREF_OK) {
        if (st == GGUFREF_ERR_INVALID_ARGUMENT) {
            gr_fail(err, st, UINT64_MAX, "n_ctx %u is beyond the model's context_length %u",
                    (unsigned)n_ctx, (unsigned)b->info.n_ctx_train);
        }
        ensure_err(err, st, "context creation (KV cache, scratch)");
        goto fail;
    }
    b->n_ctx = ggufref_context_n_ctx(b->ctx);
    st = ggufref_context_set_threads(b->ctx, n_threads); /* R-NUM-049; 1: nothing to do */
    if (st != GGUFREF_OK) {
        ensure_err(err, st, "starting the forward pass threads");
        goto fail;
    }
    st = ggufref_sampler_create(b->info.n_vocab, &b->sampler);
    if (st != GGUFREF_OK) {
        ensure_err(err, st, "sampler creation");
        goto fail;
    }
    b->logits = gr_calloc(b->info.n_vocab, sizeof *b->logits);
    b->tokens = gr_calloc(b->n_ctx, sizeof *b->tokens);
    b->spare = gr_calloc(b->n_ctx, sizeof *b->spare);
    if (b->logits == NULL || b->tokens == NULL || b->spare == NULL) {
        st = gr_fail(err, GGUFREF_ERR_OUT_OF_MEMORY, UINT64_MAX,
                     "out of memory for logits and token vectors (n_vocab %u, n_ctx %u)",
                     (unsigned)b->info.n_vocab, (unsigned)b->n_ctx);
        goto fail;
    }
    b->max_piece = longest_piece(b->model, b->info.n_vocab);
    *out = b;
    return GGUFREF_OK;
fail:
    bundle_free(b);
    return st;
}

/* Install a bundle over m into rt (after enter()). Transactional: nothing of rt changes until
 * the bundle is complete; the old bundle is freed after the new one is installed (R-RT-011). */
static ggufref_status install_shared(ggufref_runtime *rt, ggufref_shared_model *m,
                                     uint32_t n_ctx, uint64_t t0) {
    ggufref_error err;
    gr_bundle *b;
    if (bundle_build(m, n_ctx, rt->n_threads ? rt->n_threads : 1, &b, &err) != GGUFREF_OK) {
        return op_fail(rt, &err);
    }
    if (gr_panic_point(GR_PANIC_LOAD_AFTER_BUILD)) {
        bundle_free(b);
        return poison(rt, GR_PANIC_LOAD_AFTER_BUILD);
    }
    gr_bundle *old = rt->model;
    rt->model = b;
    if (gr_panic_point(GR_PANIC_LOAD_AFTER_INSTALL)) {
        bundle_free(old);
        return poison(rt, GR_PANIC_LOAD_AFTER_INSTALL);
    }
    clear_request(rt);
    rt->models_loaded++;
    rt->load_ns = now_ns(rt) - t0;
    rt->state = GGUFREF_STATE_READY;
    bundle_free(old);
    return GGUFREF_OK;
}

/* Load owned bytes into rt (after enter()) through a private shared model. */
static ggufref_status install(ggufref_runtime *rt, uint8_t *block, uint8_t *bytes, size_t size,
                              uint64_t t0) {
    ggufref_error err;
    ggufref_shared_model *m;
    if (shared_build(block, bytes, size, &m, &err) != GGUFREF_OK) return op_fail(rt, &err);
    ggufref_status st = install_shared(rt, m, 0, t0);
    ggufref_shared_model_release(m); /* the bundle holds its own reference, if installed */
    return st;
}

ggufref_status ggufref_runtime_load_shared(ggufref_runtime *rt, ggufref_shared_model *m,
                                           uint32_t n_ctx) {
    ggufref_status st = enter(rt);
    if (st != GGUFREF_OK) return st;
    if (m == NULL) return op_failf(rt, GGUFREF_ERR_INVALID_ARGUMENT, "shared model is NULL");
    return install_shared(rt, m, n_ctx, now_ns(rt));
}

ggufref_status ggufref_runtime_load_model(ggufref_runtime *rt, const void *bytes, size_t len) {
    ggufref_status st = enter(rt);
    if (st != GGUFREF_OK) return st;
    uint64_t t0 = now_ns(rt);
    if (bytes == NULL && len > 0) {
        return op_failf(rt, GGUFREF_ERR_INVALID_ARGUMENT, "model bytes are NULL (len %zu)", len);
    }
    uint8_t *block;
    uint8_t *copy = bytes_alloc(len, &block);
    if (copy == NULL) {
        return op_failf(rt, GGUFREF_ERR_OUT_OF_MEMORY, "cannot copy %zu model bytes", len);
    }
    if (len > 0) memcpy(copy, bytes, len);
    return install(rt, block, copy, len, t0);
}

/* ------------------------------------------------------------------------------------- */
/* Owned model bytes (R-RT-017): a host fills memory the runtime will own, so a model is held */
/* once (a browser Worker: the transferred ArrayBuffer's bytes go straight into wasm memory). */
/* ------------------------------------------------------------------------------------- */

struct ggufref_model_bytes {
    uint8_t *block; /* from bytes_alloc: what gr_free takes */
    uint8_t *data;  /* len bytes on the alignment of R-RT-014/015 */
    size_t len;
};

ggufref_status ggufref_model_bytes_create(size_t len, ggufref_model_bytes **out) {
    if (out == NULL) return GGUFREF_ERR_INVALID_ARGUMENT;
    *out = NULL;
    ggufref_model_bytes *m = gr_malloc(sizeof *m);
    if (m == NULL) return GGUFREF_ERR_OUT_OF_MEMORY;
    m->data = bytes_alloc(len, &m->block);
    if (m->data == NULL) {
        gr_free(m);
        return GGUFREF_ERR_OUT_OF_MEMORY;
    }
    m->len = len;
    *out = m;
    return GGUFREF_OK;
}

uint8_t *ggufref_model_bytes_data(ggufref_model_bytes *m) { return m != NULL ? m->data : NULL; }

void ggufref_model_bytes_destroy(ggufref_model_bytes *m) {
    if (m == NULL) return;
    gr_free(m->block);
    gr_free(m);
}

ggufref_status ggufref_runtime_load_model_owned(ggufref_runtime *rt, ggufref_model_bytes *m) {
    ggufref_status st = enter(rt);
    if (st != GGUFREF_OK) {
        ggufref_model_bytes_destroy(m);
        return st;
    }
    if (m == NULL) return op_failf(rt, GGUFREF_ERR_INVALID_ARGUMENT, "model bytes are NULL");
    uint64_t t0 = now_ns(rt);
    uint8_t *block = m->block, *bytes = m->data;
    size_t len = m->len;
    gr_free(m);
    return install(rt, block, bytes, len, t0); /* block is the bundle's from here, also on failure */
}

/* Read the whole file at path into owned, aligned memory (R-RT-012, R-RT-014): the GGUF
 * reader's file reader (gguf.h) with bytes_alloc. OUT: *block (to gr_free), *out, *out_size. */
static ggufref_status read_file(const char *path, uint8_t **block, uint8_t **out,
                                size_t *out_size, ggufref_error *err) {
    return gr_gguf_read_file(path, bytes_alloc, 0, block, out, out_size, err);
}

ggufref_status ggufref_runtime_load_model_file(ggufref_runtime *rt, const char *path) {
    ggufref_status st = enter(rt);
    if (st != GGUFREF_OK) return st;
    uint64_t t0 = now_ns(rt);
    ggufref_error err = {.status = GGUFREF_OK};
    uint8_t *block, *bytes;
    size_t size;
    if (read_file(path, &block, &bytes, &size, &err) != GGUFREF_OK) return op_fail(rt, &err);
    return install(rt, block, bytes, size, t0);
}

ggufref_status ggufref_shared_model_open(const void *bytes, size_t len, ggufref_shared_model **out,
                                         ggufref_error *err) {
    ggufref_error local;
    if (err == NULL) err = &local;
    if (out == NULL) return gr_fail(err, GGUFREF_ERR_INVALID_ARGUMENT, UINT64_MAX, "out is NULL");
    *out = NULL;
    if (bytes == NULL && len > 0) {
        return gr_fail(err, GGUFREF_ERR_INVALID_ARGUMENT, UINT64_MAX,
                       "model bytes are NULL (len %zu)", len);
    }
    uint8_t *block;
    uint8_t *copy = bytes_alloc(len, &block);
    if (copy == NULL) {
        return gr_fail(err, GGUFREF_ERR_OUT_OF_MEMORY, UINT64_MAX, "cannot copy %zu model bytes",
                       len);
    }
    if (len > 0) memcpy(copy, bytes, len);
    return shared_build(block, copy, len, out, err);
}

/* Owned bytes (R-RT-017) as a shared model: the handle's bytes are taken over, not copied
 * (a wasm controller holds its model once); the handle is consumed in every case. */
ggufref_status ggufref_shared_model_open_owned(ggufref_model_bytes *mb, ggufref_shared_model **out,
                                               ggufref_error *err) {
    ggufref_error local;
    if (err == NULL) err = &local;
    if (out == NULL) {
        ggufref_model_bytes_destroy(mb);
        return gr_fail(err, GGUFREF_ERR_INVALID_ARGUMENT, UINT64_MAX, "out is NULL");
    }
    *out = NULL;
    if (mb == NULL) return gr_fail(err, GGUFREF_ERR_INVALID_ARGUMENT, UINT64_MAX, "model bytes are NULL");
    uint8_t *block = mb->block, *bytes = mb->data;
    size_t len = mb->len;
    gr_free(mb);
    return shared_build(block, bytes, len, out, err); /* block is the model's, also on failure */
}

ggufref_status ggufref_shared_model_open_file(const char *path, ggufref_shared_model **out,
                                              ggufref_error *err) {
    ggufref_error local;
    if (err == NULL) err = &local;
    if (out == NULL) return gr_fail(err, GGUFREF_ERR_INVALID_ARGUMENT, UINT64_MAX, "out is NULL");
    *out = NULL;
    err->status = GGUFREF_OK;
    uint8_t *block, *bytes;
    size_t size;
    ggufref_status st = read_file(path, &block, &bytes, &size, err);
    if (st != GGUFREF_OK) return st;
    return shared_build(block, bytes, size, out, err);
}

/* ------------------------------------------------------------------------------------- */
/* Scrub for reuse by a pool (R-POOL-011)                                                 */
/* ------------------------------------------------------------------------------------- */

void gr_runtime_scrub(ggufref_runtime *rt) {
    gr_bundle *b = rt->model;
    assert(b != NULL);
    clear_request(rt);
    memset(b->tokens, 0, (size_t)b->n_ctx * sizeof *b->tokens);
    memset(b->spare, 0, (size_t)b->n_ctx * sizeof *b->spare);
    memset(b->logits, 0, (size_t)b->info.n_vocab * sizeof *b->logits);
    if (rt->result != NULL) memset(rt->result, 0, rt->result_cap);
    if (rt->diag != NULL) memset(rt->diag, 0, rt->diag_cap);
    rt->diag_len = 0;
    ggufref_sampling_default(&rt->sampling);
    ggufref_rng_seed(&rt->rng, rt->sampling.seed);
    rt->models_loaded = 1; /* as a fresh session: one load_shared */
    rt->requests = 0;
    rt->tokens_generated = 0;
    rt->load_ns = rt->prefill_ns = rt->decode_ns = 0;
    rt->last_error = (ggufref_error){.status = GGUFREF_OK, .offset = UINT64_MAX};
    atomic_store(rt->cancel, false);
    rt->state = GGUFREF_STATE_READY;
}

/* ------------------------------------------------------------------------------------- */
/* Configuration (R-RT-013)                                                               */
/* ------------------------------------------------------------------------------------- */

ggufref_status ggufref_runtime_configure_sampling(ggufref_runtime *rt, const ggufref_sampling *s) {
    ggufref_status st = enter(rt);
    if (st != GGUFREF_OK) return st;
    ggufref_error err = {.status = GGUFREF_OK};
    if (ggufref_sampling_validate(s, &err) != GGUFREF_OK) return op_fail(rt, &err);
    rt->sampling = *s;
    if (gr_panic_point(GR_PANIC_CONFIGURE_AFTER_STORE)) {
        return poison(rt, GR_PANIC_CONFIGURE_AFTER_STORE);
    }
    switch (rt->state) {
    case GGUFREF_STATE_READY:
    case GGUFREF_STATE_CONTINUATION_READY: rt->state = GGUFREF_STATE_READY; break;
    case GGUFREF_STATE_RECOVERABLE_ERROR:
        rt->state = rt->model != NULL ? GGUFREF_STATE_READY : GGUFREF_STATE_INITIALIZED;
        break;
    default: break; /* INITIALIZED, FREED stay */
    }
    return GGUFREF_OK;
}

void ggufref_runtime_get_sampling(const ggufref_runtime *rt, ggufref_sampling *out) {
    if (rt != NULL && out != NULL) *out = rt->sampling;
}

/* ------------------------------------------------------------------------------------- */
/* Generation (R-RT-020..026)                                                             */
/* ------------------------------------------------------------------------------------- */

/* One generation step (R-RT-023): forward the tokens not yet in the KV cache, sample from the
 * last logits, append the token and its piece, call cb. Never allocates: the caller reserved
 * n_ctx tokens and max_piece result bytes. GENERATION_FAILED (err filled) if the model fails.
 * The sampler works on a copy (b->logits) because it modifies its input; cb gets the context's
 * own logits, untouched since the forward pass (R-RT-029): no copy, valid until the next
 * forward, i.e. for the whole callback. */
static ggufref_status step(ggufref_runtime *rt, ggufref_token_callback cb, void *user,
                           int32_t *token, ggufref_error *err) {
    gr_bundle *b = rt->model;
    const float *logits = NULL;
    while (rt->n_past < rt->n_tokens) { /* the prompt in batches, then one token per step */
        size_t p = rt->n_past, n = rt->n_tokens - p;
        if (n > GGUFREF_MAX_BATCH) n = GGUFREF_MAX_BATCH;
        ggufref_status st =
            n == 1 ? ggufref_forward(b->ctx, b->tokens[p], (uint32_t)p, &logits)
                   : ggufref_forward_batch(b->ctx, b->tokens + p, n, (uint32_t)p, &logits);
        if (st != GGUFREF_OK) {
            return gr_fail(err, GGUFREF_ERR_GENERATION_FAILED, UINT64_MAX,
                           "forward pass failed at position %zu: %s", p, ggufref_status_name(st));
        }
        rt->n_past = (uint32_t)(p + n);
    }
    assert(logits != NULL); /* every step forwards at least the previous token */
    memcpy(b->logits, logits, (size_t)b->info.n_vocab * sizeof *b->logits);
    int32_t tok;
    ggufref_status st = ggufref_sample(b->sampler, &rt->sampling, b->logits, b->tokens,
                                       rt->n_tokens, &rt->rng, &tok);
    if (st != GGUFREF_OK) {
        return gr_fail(err, GGUFREF_ERR_GENERATION_FAILED, UINT64_MAX,
                       "sampling failed at position %zu: %s", rt->n_tokens,
                       ggufref_status_name(st));
    }
    int32_t prev = b->tokens[rt->n_tokens - 1];
    b->tokens[rt->n_tokens++] = tok;
    ggufref_str piece = ggufref_token_to_piece(b->model, prev, tok);
    assert(rt->result_len + piece.len <= rt->result_cap); /* reserved by the caller */
    if (piece.len > 0) memcpy(rt->result + rt->result_len, piece.ptr, piece.len);
    rt->result_len += piece.len;
    rt->tokens_generated++;
    *token = tok;
    if (cb != NULL) cb(tok, piece.ptr, piece.len, logits, b->info.n_vocab, user);
    return GGUFREF_OK;
}

/* A result buffer of at least `need` bytes holding the current result bytes, or NULL (with
 * *ok true) when the current buffer already suffices. *ok false: out of memory. OUT: *cap. */
static char *result_grow(const ggufref_runtime *rt, size_t need, size_t *cap, bool *ok) {
    *ok = true;
    *cap = rt->result_cap;
    if (need <= rt->result_cap) return NULL;
    *cap = rt->result_cap > need / 2 ? rt->result_cap * 2 : need;
    char *buf = gr_malloc(*cap);
    if (buf == NULL) {
        *ok = false;
        return NULL;
    }
    if (rt->result_len > 0) memcpy(buf, rt->result, rt->result_len);
    return buf;
}

/* Install a buffer from result_grow (NULL: keep the current one). */
static void result_install(ggufref_runtime *rt, char *buf, size_t cap) {
    if (buf == NULL) return;
    gr_free(rt->result);
    rt->result = buf;
    rt->result_cap = cap;
}

/* generate with at most `budget` tokens made now (R-EXP-010; SIZE_MAX: the whole request). */
static ggufref_status generate_request(ggufref_runtime *rt, const char *prompt, size_t len,
                                       size_t budget, ggufref_token_callback cb, void *user) {
    ggufref_status st = enter(rt);
    if (st != GGUFREF_OK) return st;
    gr_bundle *b = rt->model;
    if (b == NULL) return refuse(rt, GGUFREF_ERR_MODEL_NOT_LOADED, "generate needs a model");
    if (prompt == NULL && len > 0) {
        return op_failf(rt, GGUFREF_ERR_INVALID_ARGUMENT, "prompt is NULL (len %zu)", len);
    }
    /* Preparation: tokenize into the spare vector, check the context, reserve the result. */
    size_t n = 0;
    st = ggufref_tokenize(b->model, prompt, len, b->info.add_bos, b->spare, b->n_ctx, &n);
    if (st == GGUFREF_ERR_LIMIT_EXCEEDED) { /* more tokens than n_ctx, or too many bytes */
        return op_failf(rt, GGUFREF_ERR_CONTEXT_OVERFLOW,
                        "prompt of %zu bytes does not fit n_ctx %u (needs %zu tokens)", len,
                        (unsigned)b->n_ctx, n);
    }
    if (st != GGUFREF_OK) {
        return op_failf(rt, st, "tokenizing the prompt failed: %s", ggufref_status_name(st));
    }
    if (n == 0) {
        return op_failf(rt, GGUFREF_ERR_INVALID_ARGUMENT,
                        "the prompt yields no token (empty prompt, model adds no BOS)");
    }
    size_t max = (size_t)rt->sampling.max_tokens;
    if (n > b->n_ctx || max > b->n_ctx - n) {
        return op_failf(rt, GGUFREF_ERR_CONTEXT_OVERFLOW,
                        "prompt tokens %zu + max_tokens %zu exceed n_ctx %u", n, max,
                        (unsigned)b->n_ctx);
    }
    size_t need;
    if (!gr_mul_size(max, b->max_piece, &need)) need = SIZE_MAX; /* then malloc fails */
    bool ok;
    size_t cap;
    char *grown = result_grow(rt, need, &cap, &ok);
    if (!ok) {
        return op_failf(rt, GGUFREF_ERR_OUT_OF_MEMORY, "cannot reserve %zu result bytes", need);
    }
    /* Commit (R-RT-020). */
    result_install(rt, grown, cap);
    int32_t *swap = b->tokens;
    b->tokens = b->spare;
    b->spare = swap;
    clear_request(rt);
    rt->n_tokens = n;
    rt->n_prompt = n;
    ggufref_rng_seed(&rt->rng, rt->sampling.seed);
    atomic_store(rt->cancel, false);
    rt->requests++;
    if (gr_panic_point(GR_PANIC_GENERATE_AFTER_COMMIT)) {
        return poison(rt, GR_PANIC_GENERATE_AFTER_COMMIT);
    }
    uint64_t t0 = now_ns(rt), t1 = t0;
    rt->prefill_ns = rt->decode_ns = 0;
    rt->stop = GR_STOP_MAX_TOKENS;
    for (size_t i = 0; i < max; i++) {
        if (i == budget) { /* R-EXP-010: the request stays open, generate_continue goes on */
            rt->stop = GR_STOP_NONE;
            break;
        }
        if (atomic_load(rt->cancel)) {
            rt->stop = GR_STOP_CANCELLED;
            rt->state = GGUFREF_STATE_CONTINUATION_READY;
            return refuse(rt, GGUFREF_ERR_CANCELLED, "generation cancelled after %zu tokens", i);
        }
        int32_t tok;
        ggufref_error err;
        if (step(rt, cb, user, &tok, &err) != GGUFREF_OK) {
            rt->stop = GR_STOP_NONE;
            return op_fail(rt, &err);
        }
        if (i == 0) {
            t1 = now_ns(rt);
            rt->prefill_ns = t1 - t0;
            if (gr_panic_point(GR_PANIC_GENERATE_AFTER_TOKEN)) {
                return poison(rt, GR_PANIC_GENERATE_AFTER_TOKEN);
            }
        }
        if (rt->sampling.stop_at_eos && tok == b->info.eos_id) {
            rt->stop = GR_STOP_EOS;
            break;
        }
    }
    rt->decode_ns = now_ns(rt) - t1;
    rt->state = GGUFREF_STATE_CONTINUATION_READY;
    return GGUFREF_OK;
}

ggufref_status ggufref_runtime_generate(ggufref_runtime *rt, const char *prompt, size_t len,
                                        ggufref_token_callback cb, void *user) {
    return generate_request(rt, prompt, len, SIZE_MAX, cb, user);
}

/* ------------------------------------------------------------------------------------- */
/* Step budget (R-EXP-010..012): a request made in slices, so a browser Worker can return to */
/* its event loop between them. Added for harness/impls/browser (see SPEC chapter 8).     */
/* ------------------------------------------------------------------------------------- */

/* The open request made max_tokens tokens / its last token is EOS and stop_at_eos holds. */
static bool request_at_max(const ggufref_runtime *rt) {
    return rt->n_tokens - rt->n_prompt >= (size_t)rt->sampling.max_tokens;
}
static bool request_at_eos(const ggufref_runtime *rt) {
    return rt->sampling.stop_at_eos && rt->n_tokens > rt->n_prompt &&
           rt->model->tokens[rt->n_tokens - 1] == rt->model->info.eos_id;
}
/* Has the open request stopped by its own rules (max_tokens reached, or EOS with stop_at_eos)? */
static bool request_finished(const ggufref_runtime *rt) {
    return request_at_max(rt) || request_at_eos(rt);
}

ggufref_status ggufref_runtime_generate_budget(ggufref_runtime *rt, const char *prompt,
                                               size_t len, uint32_t budget,
                                               ggufref_token_callback cb, void *user, bool *more) {
    if (more != NULL) *more = false;
    ggufref_status st = generate_request(rt, prompt, len, budget, cb, user);
    if (st == GGUFREF_OK && more != NULL) *more = !request_finished(rt);
    return st;
}

ggufref_status ggufref_runtime_generate_continue(ggufref_runtime *rt, uint32_t budget,
                                                 ggufref_token_callback cb, void *user,
                                                 bool *more) {
    if (more != NULL) *more = false;
    ggufref_status st = enter(rt);
    if (st != GGUFREF_OK) return st;
    gr_bundle *b = rt->model;
    if (b == NULL) return refuse(rt, GGUFREF_ERR_MODEL_NOT_LOADED, "generate_continue needs a model");
    if (rt->state != GGUFREF_STATE_CONTINUATION_READY) {
        return refuse(rt, GGUFREF_ERR_INVALID_STATE,
                      "generate_continue needs an open request; the state is %s",
                      ggufref_state_name(rt->state));
    }
    /* Within max_tokens the request's reservation holds (R-RT-022, R-RT-026): no allocation.
     * The cancel flag is not cleared here: a cancel between two slices stops the next one; the
     * CANCELLED it causes consumes it, so the continue after that resumes (R-EXP-012). */
    uint64_t t0 = now_ns(rt);
    for (uint32_t i = 0; i < budget && !request_finished(rt); i++) {
        if (atomic_load(rt->cancel)) {
            atomic_store(rt->cancel, false);
            rt->stop = GR_STOP_CANCELLED;
            return refuse(rt, GGUFREF_ERR_CANCELLED, "generation cancelled after %zu tokens",
                          rt->n_tokens - rt->n_prompt);
        }
        int32_t tok;
        ggufref_error err;
        if (step(rt, cb, user, &tok, &err) != GGUFREF_OK) {
            rt->stop = GR_STOP_NONE;
            return op_fail(rt, &err);
        }
    }
    rt->decode_ns = now_ns(rt) - t0;
    /* EOS wins when both hold, as in generate */
    rt->stop = request_at_eos(rt) ? GR_STOP_EOS : request_at_max(rt) ? GR_STOP_MAX_TOKENS
                                                                     : GR_STOP_NONE;
    if (more != NULL) *more = rt->stop == GR_STOP_NONE;
    return GGUFREF_OK;
}

ggufref_status ggufref_runtime_generate_next_token(ggufref_runtime *rt,
                                                   ggufref_token_callback cb, void *user) {
    ggufref_status st = enter(rt);
    if (st != GGUFREF_OK) return st;
    gr_bundle *b = rt->model;
    if (b == NULL) {
        return refuse(rt, GGUFREF_ERR_MODEL_NOT_LOADED, "generate_next_token needs a model");
    }
    if (rt->state != GGUFREF_STATE_CONTINUATION_READY) {
        return refuse(rt, GGUFREF_ERR_INVALID_STATE,
                      "generate_next_token needs an open request; the state is %s",
                      ggufref_state_name(rt->state));
    }
    if (rt->n_tokens >= b->n_ctx) {
        return op_failf(rt, GGUFREF_ERR_CONTEXT_OVERFLOW,
                        "the request already holds n_ctx %u tokens", (unsigned)b->n_ctx);
    }
    size_t need;
    if (!gr_add_size(rt->result_len, b->max_piece, &need)) need = SIZE_MAX;
    bool ok;
    size_t cap;
    char *grown = result_grow(rt, need, &cap, &ok);
    if (!ok) {
        return op_failf(rt, GGUFREF_ERR_OUT_OF_MEMORY, "cannot reserve %zu result bytes", need);
    }
    result_install(rt, grown, cap); /* same bytes, more room: nothing observable changes */
    atomic_store(rt->cancel, false);
    uint64_t t0 = now_ns(rt);
    int32_t tok;
    ggufref_error err;
    if (step(rt, cb, user, &tok, &err) != GGUFREF_OK) {
        rt->stop = GR_STOP_NONE;
        return op_fail(rt, &err);
    }
    if (gr_panic_point(GR_PANIC_NEXT_AFTER_FORWARD)) return poison(rt, GR_PANIC_NEXT_AFTER_FORWARD);
    rt->decode_ns = now_ns(rt) - t0;
    rt->stop = tok == b->info.eos_id ? GR_STOP_EOS : GR_STOP_MAX_TOKENS;
    return GGUFREF_OK;
}

/* R-RT-045: teacher forcing. Every check first; then reset_context's clear and the positions
 * one at a time (each position's logits are reported, so no batch: ggufref_forward gives the
 * same bits, R-NUM-043). Never allocates; the KV position ends at 0 as after reset_context. */
ggufref_status ggufref_runtime_evaluate(ggufref_runtime *rt, const int32_t *tokens, size_t n,
                                        ggufref_logits_callback cb, void *user) {
    ggufref_status st = enter(rt);
    if (st != GGUFREF_OK) return st;
    gr_bundle *b = rt->model;
    if (b == NULL) return refuse(rt, GGUFREF_ERR_MODEL_NOT_LOADED, "evaluate needs a model");
    if (tokens == NULL || n == 0) {
        return op_failf(rt, GGUFREF_ERR_INVALID_ARGUMENT, "evaluate needs at least one token (%s)",
                        tokens == NULL ? "tokens is NULL" : "n is 0");
    }
    uint32_t n_vocab = b->info.n_vocab;
    for (size_t i = 0; i < n; i++) {
        if (tokens[i] < 0 || (uint32_t)tokens[i] >= n_vocab) {
            return op_failf(rt, GGUFREF_ERR_INVALID_ARGUMENT,
                            "token %zu is %ld, outside [0, n_vocab %u)", i,
                            (long)tokens[i], (unsigned)n_vocab);
        }
    }
    if (n > b->n_ctx) {
        return op_failf(rt, GGUFREF_ERR_CONTEXT_OVERFLOW, "%zu tokens exceed n_ctx %u",
                        n, (unsigned)b->n_ctx);
    }
    clear_request(rt);
    for (size_t i = 0; i < n; i++) {
        const float *logits = NULL;
        st = ggufref_forward(b->ctx, tokens[i], (uint32_t)i, &logits);
        if (st != GGUFREF_OK) {
            return op_failf(rt, GGUFREF_ERR_GENERATION_FAILED,
                            "forward pass failed at position %zu: %s", i,
                            ggufref_status_name(st));
        }
        for (uint32_t v = 0; v < n_vocab; v++) {
            if (!(logits[v] - logits[v] == 0.0f)) { /* NaN or infinite */
                return op_failf(rt, GGUFREF_ERR_GENERATION_FAILED,
                                "logit %u at position %zu is not finite", (unsigned)v,
                                i);
            }
        }
        if (cb != NULL) cb((uint32_t)i, tokens[i], logits, n_vocab, user);
    }
    rt->state = GGUFREF_STATE_READY;
    return GGUFREF_OK;
}

void gr_runtime_share_cancel(ggufref_runtime *rt, atomic_bool *flag) { rt->cancel = flag; }

ggufref_status ggufref_runtime_cancel(ggufref_runtime *rt) {
    if (rt == NULL) return GGUFREF_ERR_INVALID_ARGUMENT;
    if (atomic_load(&rt->poisoned)) return GGUFREF_ERR_GENERATION_FAILED;
    atomic_store(rt->cancel, true);
    return GGUFREF_OK;
}

/* ------------------------------------------------------------------------------------- */
/* Reset, free (R-RT-027, R-RT-028)                                                       */
/* ------------------------------------------------------------------------------------- */

ggufref_status ggufref_runtime_reset_context(ggufref_runtime *rt) {
    ggufref_status st = enter(rt);
    if (st != GGUFREF_OK) return st;
    if (rt->model == NULL) return refuse(rt, GGUFREF_ERR_MODEL_NOT_LOADED, "reset_context needs a model");
    clear_request(rt);
    if (gr_panic_point(GR_PANIC_RESET_AFTER_CLEAR)) return poison(rt, GR_PANIC_RESET_AFTER_CLEAR);
    rt->state = GGUFREF_STATE_READY;
    return GGUFREF_OK;
}

ggufref_status ggufref_runtime_free_model(ggufref_runtime *rt) {
    ggufref_status st = enter(rt);
    if (st != GGUFREF_OK) return st;
    gr_bundle *old = rt->model;
    rt->model = NULL;
    clear_request(rt);
    gr_free(rt->result);
    rt->result = NULL;
    rt->result_cap = 0;
    bundle_free(old);
    if (gr_panic_point(GR_PANIC_FREE_AFTER_RELEASE)) return poison(rt, GR_PANIC_FREE_AFTER_RELEASE);
    rt->state = GGUFREF_STATE_FREED;
    return GGUFREF_OK;
}

/* ------------------------------------------------------------------------------------- */
/* Queries                                                                                */
/* ------------------------------------------------------------------------------------- */

ggufref_status ggufref_runtime_diagnostics(ggufref_runtime *rt, ggufref_str *out) {
    if (out != NULL) *out = (ggufref_str){"", 0};
    ggufref_status st = enter(rt);
    if (st != GGUFREF_OK) return st;
    if (gr_diagnostics_write(rt) != GGUFREF_OK) {
        return refuse(rt, GGUFREF_ERR_OUT_OF_MEMORY, "out of memory writing diagnostics");
    }
    if (gr_panic_point(GR_PANIC_DIAGNOSTICS_AFTER_WRITE)) {
        return poison(rt, GR_PANIC_DIAGNOSTICS_AFTER_WRITE);
    }
    if (out != NULL) *out = (ggufref_str){rt->diag, rt->diag_len};
    return GGUFREF_OK;
}

ggufref_status ggufref_runtime_last_error(const ggufref_runtime *rt, ggufref_error *out) {
    if (rt == NULL || out == NULL) return GGUFREF_ERR_INVALID_ARGUMENT;
    *out = rt->last_error;
    return rt->state == GGUFREF_STATE_POISONED ? GGUFREF_ERR_GENERATION_FAILED : GGUFREF_OK;
}

ggufref_status ggufref_runtime_result(const ggufref_runtime *rt, ggufref_str *out) {
    if (rt == NULL || out == NULL) return GGUFREF_ERR_INVALID_ARGUMENT;
    *out = (ggufref_str){"", 0};
    if (rt->state == GGUFREF_STATE_POISONED) return GGUFREF_ERR_GENERATION_FAILED;
    if (rt->result != NULL) *out = (ggufref_str){rt->result, rt->result_len};
    return GGUFREF_OK;
}

const ggufref_model *ggufref_runtime_model(const ggufref_runtime *rt) {
    return rt != NULL && rt->model != NULL ? rt->model->model : NULL;
}

void ggufref_runtime_tokens(const ggufref_runtime *rt, const int32_t **tokens, size_t *n_tokens,
                            size_t *n_prompt) {
    bool any = rt != NULL && rt->model != NULL;
    if (tokens != NULL) *tokens = any ? rt->model->tokens : NULL;
    if (n_tokens != NULL) *n_tokens = any ? rt->n_tokens : 0;
    if (n_prompt != NULL) *n_prompt = any ? rt->n_prompt : 0;
}
