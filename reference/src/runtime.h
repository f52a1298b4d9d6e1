/*
 * runtime.h — the runtime object (SPEC chapter 7), shared by runtime.c (the state machine and
 * the operations) and diagnostics.c (the JSON writer and the state digest). Not public.
 *
 * Ownership (R-RT-001):
 *
 *   ggufref_runtime
 *   ├── gr_bundle *model        everything load_model builds, installed as one pointer (R-RT-010)
 *   │   ├── shared              one reference to the immutable model (R-POOL-001): owned copy
 *   │   │                       of the file, gguf, model and tokenizer (private to this runtime
 *   │   │                       after load_model, shared by a pool's sessions after load_shared)
 *   │   ├── gguf → model        parsed GGUF, model binding + tokenizer
 *   │   ├── ctx                 KV cache, forward scratch, logits (ggufref_context)
 *   │   ├── sampler, logits     sampler scratch and a mutable copy of the logits (n_vocab)
 *   │   └── tokens, spare       token vectors of n_ctx each (current request, next request)
 *   ├── result                  result bytes of the current request
 *   ├── diag                    diagnostics bytes (allocated by init)
 *   └── sampling, rng, counters, last_error, cancel flag
 */
#ifndef GGUFREF_RUNTIME_H
#define GGUFREF_RUNTIME_H

#include "internal.h"

#include <stdatomic.h>

/* The immutable half of a loaded model (R-POOL-001): owned bytes, GGUF and model binding,
 * reference-counted. load_model makes a private one; the pool shares one between sessions. */
struct ggufref_shared_model {
    atomic_uint_fast64_t refs;
    uint8_t *block;           /* owned allocation holding bytes (what gr_free takes) */
    uint8_t *bytes;           /* copy of the model file, on a 64-byte boundary in block */
    size_t size;
    uint64_t bytes_hash;      /* gr_hash_bytes (hash.h) of bytes, computed at load (R-RT-040) */
    ggufref_gguf *gguf;       /* borrows bytes */
    ggufref_model *model;     /* borrows gguf */
};

typedef struct gr_bundle {
    ggufref_shared_model *shared; /* one reference; the five fields below alias it */
    const uint8_t *bytes;
    size_t size;
    uint64_t bytes_hash;
    const ggufref_gguf *gguf;
    const ggufref_model *model;
    ggufref_context *ctx;
    ggufref_sampler *sampler;
    float *logits;            /* (n_vocab) mutable copy of the context's logits for sampling */
    int32_t *tokens;          /* (n_ctx) prompt then generated tokens of the current request */
    int32_t *spare;           /* (n_ctx) tokenization target of the next request */
    ggufref_model_info info;
    uint32_t n_ctx;
    size_t max_piece;         /* bytes of the longest piece: bounds one token's result bytes */
} gr_bundle;

typedef enum gr_stop {
    GR_STOP_NONE = 0,
    GR_STOP_MAX_TOKENS,
    GR_STOP_EOS,
    GR_STOP_CANCELLED
} gr_stop;

struct ggufref_runtime {
    ggufref_state state;
    gr_bundle *model;         /* NULL when no model is resident */

    /* the request (R-RT-020): tokens live in model->tokens */
    size_t n_tokens;          /* prompt + generated */
    size_t n_prompt;
    uint32_t n_past;          /* positions in the KV cache: tokens[0 .. n_past-1] */
    char *result;             /* result bytes (R-RT-041) */
    size_t result_len;
    size_t result_cap;
    gr_stop stop;

    ggufref_sampling sampling;
    ggufref_rng rng;

    char *diag;               /* diagnostics bytes (R-RT-030) */
    size_t diag_len;
    size_t diag_cap;

    uint64_t models_loaded;   /* totals: never cleared */
    uint64_t requests;
    uint64_t tokens_generated;

    uint32_t n_threads;       /* forward-pass threads of every context (R-NUM-049); 0 = 1 */
    ggufref_clock_fn clock;   /* optional, for the nondeterministic diagnostics */
    void *clock_user;
    uint64_t load_ns, prefill_ns, decode_ns;

    ggufref_error last_error;
    atomic_bool *cancel;      /* the flag cancel sets from any thread (R-RT-025): &own_cancel,
                               * or one that outlives the runtime (gr_runtime_share_cancel) */
    atomic_bool own_cancel;
    atomic_bool poisoned;     /* mirrors state == POISONED for the lock-free cancel */
};

/* Make a session look brand new for the next holder of a pooled runtime (R-POOL-011):
 * forget the request, zero the result, token, logits and diagnostics bytes, restore default
 * sampling and RNG, clear last_error, the counters and the cancel flag; state READY. Keeps the
 * model, the context's capacity and every allocation. Needs a model (asserted). */
void gr_runtime_scrub(ggufref_runtime *rt);

/* Make rt check and clear *flag instead of its own cancel flag, for a caller whose cancel
 * must never touch a runtime that another thread may free (the export layer, R-EXP-007): the
 * flag lives as long as that caller. Before rt is shared with other threads. */
void gr_runtime_share_cancel(ggufref_runtime *rt, atomic_bool *flag);

/* Set a runtime to the values ggufref_runtime_create gives it (no allocation). */
void gr_runtime_init_fields(ggufref_runtime *rt);

/* Write the diagnostics JSON into rt->diag, growing it; OUT_OF_MEMORY leaves rt->diag as it
 * was (diagnostics.c). */
ggufref_status gr_diagnostics_write(ggufref_runtime *rt);

#endif
