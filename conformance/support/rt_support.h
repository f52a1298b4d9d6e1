/*
 * rt_support.h — test support for the runtime suites (prefix rts_): the transition table
 * conformance/transitions.tsv as data, the pure model of it, and a driver that performs an
 * operation under a chosen condition on a handle or on the export layer.
 *
 *   rts_table    the TSV parsed into rows (the oracle; the runtime never reads it)
 *   rts_model    (state, has_model): all the table needs to predict status and next state
 *   rts_env      fixtures: the tiny model's bytes and path, a model whose every token embedding
 *                but BOS is NaN (to make a step fail), prompts
 *   rts_target   a handle or the export layer, plus what the driver must know to realize a
 *                condition (which model is loaded, whether small sampling is configured, ...)
 */
#ifndef GGUFREF_RT_SUPPORT_H
#define GGUFREF_RT_SUPPORT_H

#include "ggufref.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum rts_op {
    RTS_INIT, RTS_LOAD, RTS_CONFIGURE, RTS_GENERATE, RTS_NEXT, RTS_RESET, RTS_FREE, RTS_DIAG,
    RTS_LAST_ERROR, RTS_RESULT, RTS_CANCEL, RTS_EVALUATE, RTS_OP_COUNT
} rts_op;

typedef enum rts_cond {
    RTS_ANY, RTS_OK, RTS_REJECTED, RTS_OOM, RTS_OOM_INIT, RTS_IO, RTS_OVERFLOW, RTS_CANCELLED,
    RTS_FAILED, RTS_PANIC, RTS_COND_COUNT
} rts_cond;

typedef enum rts_res { RTS_RES_ANY, RTS_RES_MODEL, RTS_RES_NO_MODEL } rts_res;

#define RTS_REJECTED_STATUS (-1) /* the table's REJECTED pseudo-status */

typedef struct rts_row {
    ggufref_state state;
    rts_op op;
    rts_res res;
    rts_cond cond;
    int status;          /* a ggufref_status, or RTS_REJECTED_STATUS */
    ggufref_state next;
    int line;            /* in the TSV, for messages */
} rts_row;

typedef struct rts_table {
    rts_row rows[512];
    size_t n;
} rts_table;

const char *rts_op_name(rts_op op);
const char *rts_cond_name(rts_cond cond);
bool rts_op_parse(const char *s, rts_op *out);
bool rts_cond_parse(const char *s, rts_cond *out);

/* Load $GGUFREF_SOURCE_DIR/conformance/transitions.tsv. false: *why says why. */
bool rts_table_load(rts_table *t, char *why, size_t why_len);

typedef struct rts_model {
    ggufref_state state;
    bool has_model;
} rts_model;

/* The row for (model, op, cond), or NULL if the table has none (cond impossible there). */
const rts_row *rts_table_find(const rts_table *t, const rts_model *m, rts_op op, rts_cond cond);
/* Apply a row to the model: next state; residency per the TSV header (R/C hold a model,
 * U/I/F do not, E keeps what there was). */
void rts_model_apply(rts_model *m, const rts_row *row);

/* ---- fixtures ---- */
typedef struct rts_env {
    char model_path[1024];
    uint8_t *model;          /* tiny-f32-mha-untied.gguf */
    size_t model_len;
    uint8_t *nan_model;      /* the same with every token embedding but BOS set to NaN */
    size_t nan_len;
    uint32_t n_ctx;
    size_t n_prompt;         /* tokens of RTS_PROMPT (with BOS) */
    char *long_prompt;       /* more tokens than n_ctx */
    size_t long_len;
} rts_env;

#define RTS_PROMPT "Once upon a time"
#define RTS_MAX_TOKENS 3     /* the small sampling every configure-ok sets */

/* Load the fixtures; false (with *why) if golden/models is missing: the caller skips. */
bool rts_env_init(rts_env *env, char *why, size_t why_len);
void rts_env_free(rts_env *env);

/* A suite's set-up: the table, then the fixtures. false when the table cannot be read (printed:
 * it is part of this repository, so the suite fails). Otherwise true, with skip[0] == 0 when
 * the fixtures loaded, else skip naming why (printed; the fixture tests skip with
 * RTS_NEED_FIXTURES). */
bool rts_suite_init(rts_table *table, rts_env *env, char *skip, size_t skip_len);

/* In a cmocka test: skip() it, naming why, when the suite's fixtures are missing
 * (skip_reason: the buffer rts_suite_init filled). */
#define RTS_NEED_FIXTURES(skip_reason)                          \
    do {                                                        \
        if ((skip_reason)[0] != 0) {                            \
            fprintf(stderr, "skipped: %s\n", (skip_reason));    \
            skip();                                             \
        }                                                       \
    } while (0)

/* SplitMix64: advances *x and returns the next value of the random tests' generator. */
uint64_t rts_splitmix(uint64_t *x);

/* 32 bytes that no parser accepts: the magic is GGUX (load:rejected, BAD_MAGIC). */
extern const uint8_t rts_bad_magic[32];
/* The small sampling of configure-ok: greedy, RTS_MAX_TOKENS, no EOS stop. */
void rts_small_sampling(ggufref_sampling *s, int32_t max_tokens);

/* A minimal valid llama model built byte by byte (8 tokens, dim 8, one layer, n_ctx 32,
 * ~4 KiB) for loops that touch every byte. malloc'd; OUT: *len. */
uint8_t *rts_micro_model(size_t *len);

/* ---- the driver ---- */
typedef enum rts_kind { RTS_KIND_NORMAL, RTS_KIND_NAN } rts_kind;

typedef struct rts_target {
    bool exports;            /* drive the export layer (process-global) instead of rt */
    ggufref_runtime *rt;
    /* what the driver knows beyond the table model */
    rts_kind kind;           /* which model a load-ok installed */
    bool small;              /* a configure-ok happened (max_tokens RTS_MAX_TOKENS) */
    bool diag_fresh;         /* diagnostics never ran: the next one must grow its buffer */
    bool want_nan;           /* the next load-ok installs the NaN model */
    unsigned flip;           /* alternates the export layer's two oom-init allocations */
    const rts_env *env;
} rts_target;

/* A fresh target in UNINITIALIZED (exports: ggufref_fault_export_reset). */
void rts_target_open(rts_target *t, const rts_env *env, bool exports);
void rts_target_close(rts_target *t);
ggufref_state rts_target_state(rts_target *t);
uint64_t rts_target_digest(rts_target *t);

/* Can the driver realize cond for op now? (Some need set-ups the random tests skip.) */
bool rts_can(const rts_target *t, const rts_model *m, rts_op op, rts_cond cond);
/* Perform op under cond; returns the status. Fault hooks are armed and disarmed here. */
int rts_do(rts_target *t, const rts_model *m, rts_op op, rts_cond cond);
/* The status the driver makes a REJECTED row return (BAD_MAGIC for load). */
int rts_rejected_status(rts_op op);

#endif
