/*
 * breaks.c — the deliberately broken variants of `ggufref-fi serve --break NAME` (harness
 * self-test, harness/selftest): each makes the server wrong in one way the suite must catch.
 * They exist only in fault-injection builds, and here, in the server, except the two made in
 * the forward pass (rope-off-by-one, no-rope-freqs): those arm the library's break hook
 * (R-FAULT-007), which only the fault-injection library has.
 * Compiled with and without cJSON (the CLI's usage lists the names either way).
 */
#include "serve.h"

#include "ggufref.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef GGUFREF_HAVE_CJSON
#include "serve_internal.h"
#endif

#ifdef GGUFREF_FAULT_INJECTION
static const char *const break_names[] = {
    [1] = "status-number",     /* BRK_STATUS_NUMBER */
    [2] = "reset-keeps-tokens", /* BRK_RESET_KEEPS_TOKENS */
    [3] = "ignore-cancel",     /* BRK_IGNORE_CANCEL */
    [4] = "extra-coin",        /* BRK_EXTRA_COIN */
    [5] = "load-not-transactional", /* BRK_LOAD_NOT_TRANSACTIONAL */
    [6] = "position-shift",    /* BRK_POSITION_SHIFT */
    [7] = "oversize-exit",     /* BRK_OVERSIZE_EXIT */
    [8] = "malformed-silent",  /* BRK_MALFORMED_SILENT */
    [9] = "logits-2pct",       /* BRK_LOGITS_2PCT */
    [10] = "accept-malformed", /* BRK_ACCEPT_MALFORMED */
    [11] = "kv-not-reset",     /* BRK_KV_NOT_RESET */
    [12] = "rope-off-by-one",  /* BRK_ROPE_OFF_BY_ONE */
    [13] = "no-rope-freqs",    /* BRK_NO_ROPE_FREQS */
    [14] = NULL,               /* BRK_COUNT */
};
#else
static const char *const break_names[] = {NULL};
#endif

const char *const *gr_server_break_names(void) {
#ifdef GGUFREF_FAULT_INJECTION
    return break_names + 1;
#else
    return break_names;
#endif
}

#ifdef GGUFREF_HAVE_CJSON

_Static_assert(BRK_COUNT == 14, "break_names lists every variant");

int gr_break_parse(const char *name) {
#ifdef GGUFREF_FAULT_INJECTION
    for (int i = 1; i < BRK_COUNT; i++) {
        if (strcmp(break_names[i], name) == 0) return i;
    }
#else
    (void)name;
#endif
    return BRK_NONE;
}

void gr_break_arm_library(int brk) {
    if (brk == BRK_ROPE_OFF_BY_ONE) (void)ggufref_fault_break_set("rope.query_position_plus_one");
    if (brk == BRK_NO_ROPE_FREQS) (void)ggufref_fault_break_set("rope.ignore_freq_factors");
}

uint64_t gr_break_seed_one_draw_ahead(uint64_t seed) {
    ggufref_rng rng;
    ggufref_rng_seed(&rng, seed);
    (void)ggufref_rng_u32(&rng);
    return rng.state;
}

const float *gr_break_shift(gr_shift *sh, const float *x, uint32_t n) {
    if (sh->n != n || sh->buf[0] == NULL) {
        gr_break_shift_free(sh);
        sh->buf[0] = gr_srv_malloc((size_t)n * sizeof *x + 1);
        sh->buf[1] = gr_srv_malloc((size_t)n * sizeof *x + 1);
        if (sh->buf[0] == NULL || sh->buf[1] == NULL) {
            gr_break_shift_free(sh);
            return NULL;
        }
        sh->n = n;
    }
    const float *report = sh->valid ? sh->buf[sh->cur] : x;
    sh->cur ^= 1;
    memcpy(sh->buf[sh->cur], x, (size_t)n * sizeof *x);
    sh->valid = true;
    return report;
}

const float *gr_break_scaled(gr_shift *sh, const float *x, uint32_t n) {
    if (sh->n != n || sh->buf[0] == NULL) {
        gr_break_shift_free(sh);
        sh->buf[0] = gr_srv_malloc((size_t)n * sizeof *x + 1);
        if (sh->buf[0] == NULL) return NULL;
        sh->n = n;
    }
    for (uint32_t i = 0; i < n; i++) sh->buf[0][i] = x[i] * 1.02f;
    return sh->buf[0];
}

void gr_break_shift_free(gr_shift *sh) {
    gr_srv_free(sh->buf[0]);
    gr_srv_free(sh->buf[1]);
    sh->buf[0] = sh->buf[1] = NULL;
    sh->n = 0;
    sh->valid = false;
}

#endif
