/*
 * torture_faults.c — the fault-injection guarantees (SPEC R-FAULT-002..007, R-RT-006,
 * R-RT-010, R-RT-026, R-RT-050, R-EXP-004).
 *
 * 1. SQLite-style OOM loops: for N = 1, 2, ... until a run completes without a fault, fail the
 *    Nth allocation of an operation (load into a runtime that holds a model and a request,
 *    load from a file, generate, generate_next_token, configure, init, diagnostics; on handles
 *    and on the export layer). Each failure returns OUT_OF_MEMORY, leaves the state digest
 *    unchanged, leaks nothing, and the next generate equals a fault-free control run.
 * 2. I/O faults (ERROR and SHORT) at every byte of a model file: IO_ERROR naming the byte,
 *    same guarantees.
 * 3. Panic at every panic point reachable from every export: 13 from then on, for every export;
 *    the test reset releases everything. On handles: POISONED, and destroy leaks nothing.
 *
 * 4. The breaks of the forward pass (R-FAULT-007) change the logits, and only while armed.
 *
 * The number of fault points each loop covered is printed (the figures of the closing note).
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "eval_digest.h"
#include "files.h"
#include "ggufref.h"
#include "rt_support.h"

#define PROMPT2 "Lily went to the park"

static rts_env g_env;
static char g_skip[1200];
static uint8_t *g_other;          /* tiny-f32-gqa-tied.gguf: the replacement model */
static size_t g_other_len;
static char g_other_path[1024];
static char g_micro_path[1024];   /* the micro model, written to a temporary file */
static size_t g_micro_len;

static int setup_suite(void **state) {
    (void)state;
    if (!rts_env_init(&g_env, g_skip, sizeof g_skip)) return 0;
    snprintf(g_other_path, sizeof g_other_path, "%s/golden/models/tiny-f32-gqa-tied.gguf",
             getenv("GGUFREF_SOURCE_DIR"));
    g_other = (uint8_t *)read_whole_file(g_other_path, &g_other_len);
    if (g_other == NULL) {
        snprintf(g_skip, sizeof g_skip, "fixture %s is missing", g_other_path);
        return 0;
    }
    uint8_t *micro = rts_micro_model(&g_micro_len);
    const char *dir = getenv("GGUFREF_BUILD_DIR");
    snprintf(g_micro_path, sizeof g_micro_path, "%s/torture_faults_micro_%ld.gguf",
             dir != NULL ? dir : "/tmp", (long)getpid());
    FILE *f = fopen(g_micro_path, "wb");
    if (f == NULL || fwrite(micro, 1, g_micro_len, f) != g_micro_len) return -1;
    fclose(f);
    free(micro);
    g_skip[0] = 0;
    return 0;
}

static int teardown_suite(void **state) {
    (void)state;
    if (g_micro_path[0] != 0) remove(g_micro_path);
    free(g_other);
    rts_env_free(&g_env);
    return 0;
}

#define NEED_FIXTURES() RTS_NEED_FIXTURES(g_skip)

/* ------------------------------------------------------------------------------------- */
/* Operations on a target (handle or export layer)                                        */
/* ------------------------------------------------------------------------------------- */

static int t_load(rts_target *t, const uint8_t *b, size_t n) {
    return t->exports ? ggufref_export_load_model(b, n) : (int)ggufref_runtime_load_model(t->rt, b, n);
}
static int t_load_file(rts_target *t, const char *path) {
    return t->exports ? ggufref_export_load_model_file(path)
                      : (int)ggufref_runtime_load_model_file(t->rt, path);
}
static int t_configure(rts_target *t, int32_t max_tokens) {
    ggufref_sampling s;
    rts_small_sampling(&s, max_tokens);
    s.temperature = 0.7f; /* exercise the RNG: its state is in the digest */
    s.seed = 99;
    return t->exports ? ggufref_export_configure_sampling(&s)
                      : (int)ggufref_runtime_configure_sampling(t->rt, &s);
}
static int t_generate(rts_target *t, const char *prompt) {
    return t->exports ? ggufref_export_generate(prompt, strlen(prompt), NULL, NULL)
                      : (int)ggufref_runtime_generate(t->rt, prompt, strlen(prompt), NULL, NULL);
}
static int t_next(rts_target *t) {
    return t->exports ? ggufref_export_generate_next_token(NULL, NULL)
                      : (int)ggufref_runtime_generate_next_token(t->rt, NULL, NULL);
}
static int t_init(rts_target *t) {
    return t->exports ? ggufref_export_init_runtime() : (int)ggufref_runtime_init(t->rt);
}
static int t_diag(rts_target *t) {
    static char buf[1 << 14];
    size_t len;
    ggufref_str v;
    return t->exports ? ggufref_export_diagnostics(buf, sizeof buf, &len)
                      : (int)ggufref_runtime_diagnostics(t->rt, &v);
}

/* What a follow-up generate produced: compared with a fault-free control run. */
typedef struct outcome {
    int status;
    int32_t tokens[128];
    size_t n;
} outcome;

static void follow_up(rts_target *t, outcome *o) {
    memset(o, 0, sizeof *o);
    o->status = t_generate(t, PROMPT2);
    if (t->exports) {
        (void)ggufref_export_tokens(o->tokens, 128, &o->n, NULL);
    } else {
        const int32_t *p;
        ggufref_runtime_tokens(t->rt, &p, &o->n, NULL);
        if (o->n > 0 && o->n <= 128) memcpy(o->tokens, p, o->n * sizeof *p);
    }
}

/* ------------------------------------------------------------------------------------- */
/* 1. OOM loops (R-FAULT-005)                                                             */
/* ------------------------------------------------------------------------------------- */

typedef struct oom_case {
    const char *name;
    void (*setup)(rts_target *t);  /* fault-free */
    int (*op)(rts_target *t);      /* under the armed fault */
    ggufref_state on_fail;         /* GGUFREF_STATE_COUNT: the state stays as it was */
    uint64_t lazy;                 /* failures 1..lazy hit the lazy init: stays UNINITIALIZED */
} oom_case;

static void s_none(rts_target *t) { (void)t; }
static void s_request(rts_target *t) { /* a model and an open request */
    assert_int_equal(t_load(t, g_env.model, g_env.model_len), 0);
    assert_int_equal(t_configure(t, 3), 0);
    assert_int_equal(t_generate(t, RTS_PROMPT), 0);
}
static void s_bigger(rts_target *t) { /* the next request needs more result bytes */
    s_request(t);
    assert_int_equal(t_configure(t, 8), 0);
}
static void s_one(rts_target *t) { /* result bytes full: a next token must grow them */
    assert_int_equal(t_load(t, g_env.model, g_env.model_len), 0);
    assert_int_equal(t_configure(t, 1), 0);
    assert_int_equal(t_generate(t, RTS_PROMPT), 0);
}
static int o_load(rts_target *t) { return t_load(t, g_other, g_other_len); }
static int o_load_fixture(rts_target *t) { return t_load(t, g_env.model, g_env.model_len); }
static int o_load_file(rts_target *t) { return t_load_file(t, g_other_path); }
static int o_generate(rts_target *t) { return t_generate(t, PROMPT2); }
static int o_next(rts_target *t) { return t_next(t); }
static int o_configure(rts_target *t) { return t_configure(t, 5); }
static int o_init(rts_target *t) { return t_init(t); }
static int o_diag(rts_target *t) { return t_diag(t); }

#define KEEP GGUFREF_STATE_COUNT
#define RE GGUFREF_STATE_RECOVERABLE_ERROR
#define UN GGUFREF_STATE_UNINITIALIZED

static const oom_case oom_cases[] = {
    {"load_model into a runtime with a model and a request", s_request, o_load, RE, 0},
    {"load_model_file into a runtime with a model and a request", s_request, o_load_file, RE, 0},
    {"load_model into an UNINITIALIZED runtime", s_none, o_load_fixture, RE, 1},
    {"generate", s_bigger, o_generate, RE, 0},
    {"generate_next_token", s_one, o_next, RE, 0},
    {"configure_sampling (initialized)", s_request, o_configure, RE, 0},
    {"configure_sampling (lazy init)", s_none, o_configure, RE, 1},
    {"init", s_none, o_init, UN, 0},
    {"diagnostics", s_request, o_diag, KEEP, 0},
};
#define N_OOM_CASES (sizeof oom_cases / sizeof oom_cases[0])

/* Run one case's loop; returns the number of allocation fault points (N that fired). */
static uint64_t oom_loop(const oom_case *c, bool exports) {
    uint64_t lazy = c->lazy == 0 ? 0 : exports ? 2 : 1; /* exports also allocate the handle */
    rts_target t;
    outcome control, o;
    int64_t base = ggufref_fault_alloc_live();
    rts_target_open(&t, &g_env, exports);
    c->setup(&t);
    follow_up(&t, &control);
    rts_target_close(&t);
    for (uint64_t n = 1;; n++) {
        rts_target_open(&t, &g_env, exports);
        c->setup(&t);
        uint64_t d0 = rts_target_digest(&t);
        int64_t l0 = ggufref_fault_alloc_live();
        ggufref_state s0 = rts_target_state(&t);
        ggufref_fault_alloc_fail_at(n);
        int st = c->op(&t);
        bool fired = ggufref_fault_alloc_fired();
        ggufref_fault_alloc_fail_at(0);
        if (!fired) {
            if (st != GGUFREF_OK) fail_msg("%s: fault-free run returned %s", c->name,
                                           ggufref_status_name(st));
            rts_target_close(&t);
            assert_int_equal(ggufref_fault_alloc_live(), base);
            return n - 1;
        }
        ggufref_state want = n <= lazy ? UN : c->on_fail == KEEP ? s0 : c->on_fail;
        if (st != GGUFREF_ERR_OUT_OF_MEMORY || rts_target_state(&t) != want) {
            fail_msg("%s, allocation %llu: %s -> %s, expected OUT_OF_MEMORY -> %s", c->name,
                     (unsigned long long)n, ggufref_status_name(st),
                     ggufref_state_name(rts_target_state(&t)), ggufref_state_name(want));
        }
        if (rts_target_digest(&t) != d0) {
            fail_msg("%s, allocation %llu: the state digest changed", c->name,
                     (unsigned long long)n);
        }
        /* From UNINITIALIZED, a lazy init that succeeded before the fault stays (R-RT-004). */
        int64_t leak = ggufref_fault_alloc_live() - l0 - (n > lazy ? (int64_t)lazy : 0);
        if (leak != 0) {
            fail_msg("%s, allocation %llu: %lld blocks leaked", c->name, (unsigned long long)n,
                     (long long)leak);
        }
        follow_up(&t, &o);
        if (o.status != control.status || o.n != control.n ||
            memcmp(o.tokens, control.tokens, o.n * sizeof o.tokens[0]) != 0) {
            fail_msg("%s, allocation %llu: the next generate differs from the control run",
                     c->name, (unsigned long long)n);
        }
        rts_target_close(&t);
        assert_int_equal(ggufref_fault_alloc_live(), base);
    }
}

static void run_oom_cases(bool exports) {
    uint64_t total = 0;
    for (size_t i = 0; i < N_OOM_CASES; i++) {
        uint64_t points = oom_loop(&oom_cases[i], exports);
        printf("%s OOM loop, %-58s %3llu allocation fault points\n",
               exports ? "exports" : "handle ", oom_cases[i].name, (unsigned long long)points);
        total += points;
        /* configure never allocates once initialized (R-RT-013); the others do. */
        if (oom_cases[i].op == o_configure && oom_cases[i].setup == s_request) {
            assert_int_equal(points, 0);
        } else {
            assert_true(points > 0);
        }
    }
    printf("%s OOM loops: %llu allocation fault points in all\n", exports ? "exports" : "handle",
           (unsigned long long)total);
}

static void test_faults_oom_loops_handle(void **state) {
    (void)state;
    NEED_FIXTURES();
    run_oom_cases(false);
}

static void test_faults_oom_loops_exports(void **state) {
    (void)state;
    NEED_FIXTURES();
    run_oom_cases(true);
    ggufref_fault_export_reset();
}

/* ------------------------------------------------------------------------------------- */
/* 2. I/O faults at every byte (R-FAULT-002, R-FAULT-006)                                 */
/* ------------------------------------------------------------------------------------- */

/* Fault every stride-th byte of path (and its last byte) with both kinds, loading into a
 * runtime that holds a model and a request; finally a fault-free load succeeds. Returns the
 * number of fault points. */
static uint64_t io_loop(const char *path, size_t size, size_t stride, bool exports) {
    rts_target t;
    outcome control, o;
    int64_t base = ggufref_fault_alloc_live();
    rts_target_open(&t, &g_env, exports);
    s_request(&t);
    follow_up(&t, &control);
    rts_target_close(&t);

    rts_target_open(&t, &g_env, exports);
    s_request(&t);
    uint64_t d0 = rts_target_digest(&t);
    int64_t l0 = ggufref_fault_alloc_live();
    uint64_t points = 0;
    for (size_t k = 0;; k += stride) {
        if (k >= size) k = size - 1; /* the last byte always */
        for (int kind = GGUFREF_IO_FAULT_ERROR; kind <= GGUFREF_IO_FAULT_SHORT; kind++) {
            ggufref_fault_io_fail_at(k, (ggufref_io_fault)kind);
            int st = t_load_file(&t, path);
            bool fired = ggufref_fault_io_fired();
            ggufref_fault_io_fail_at(UINT64_MAX, GGUFREF_IO_FAULT_ERROR);
            ggufref_error e = {0};
            if (exports) (void)ggufref_export_last_error(&e);
            else (void)ggufref_runtime_last_error(t.rt, &e);
            if (!fired || st != GGUFREF_ERR_IO || e.offset != k ||
                rts_target_state(&t) != GGUFREF_STATE_RECOVERABLE_ERROR) {
                fail_msg("%s byte %zu kind %d: fired %d, %s at offset %llu", path, k, kind, fired,
                         ggufref_status_name(st), (unsigned long long)e.offset);
            }
            if (rts_target_digest(&t) != d0 || ggufref_fault_alloc_live() != l0) {
                fail_msg("%s byte %zu kind %d: state changed or leaked", path, k, kind);
            }
            points++;
        }
        if (k == size - 1) break;
    }
    follow_up(&t, &o); /* after all of them: exactly the control run (R-RT-010) */
    assert_int_equal(o.status, control.status);
    assert_int_equal(o.n, control.n);
    assert_memory_equal(o.tokens, control.tokens, o.n * sizeof o.tokens[0]);
    assert_int_equal(t_load_file(&t, path), GGUFREF_OK); /* the run with no fault */
    rts_target_close(&t);
    assert_int_equal(ggufref_fault_alloc_live(), base);
    return points;
}

static void test_faults_io_every_byte_micro_model(void **state) {
    (void)state;
    NEED_FIXTURES();
    clock_t c0 = clock();
    uint64_t h = io_loop(g_micro_path, g_micro_len, 1, false);
    uint64_t e = io_loop(g_micro_path, g_micro_len, 1, true);
    printf("I/O loop, micro model (%zu bytes), every byte x {ERROR, SHORT}: %llu handle + %llu "
           "export fault points, %.2f s CPU\n", g_micro_len, (unsigned long long)h,
           (unsigned long long)e, (double)(clock() - c0) / CLOCKS_PER_SEC);
    assert_int_equal(h, 2 * g_micro_len);
}

static void test_faults_io_every_byte_fixture(void **state) {
    (void)state;
    NEED_FIXTURES();
    /* Every byte of the 300 KB fixture: ~7 s (mostly the kernel mapping and unmapping the
     * file buffer). Sanitizer builds take every 7th byte (a prime, so every offset class of
     * every field alignment is still hit) plus the last; GGUFREF_FAULTS_IO_STRIDE overrides. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    size_t stride = 7;
#else
    size_t stride = 1;
#endif
    const char *v = getenv("GGUFREF_FAULTS_IO_STRIDE");
    if (v != NULL) stride = (size_t)strtoull(v, NULL, 0);
    if (stride == 0) stride = 1;
    clock_t c0 = clock();
    uint64_t points = io_loop(g_env.model_path, g_env.model_len, stride, false);
    printf("I/O loop, %s (%zu bytes), every %zu. byte x {ERROR, SHORT}: %llu fault points, "
           "%.2f s CPU\n", g_env.model_path, g_env.model_len, stride, (unsigned long long)points,
           (double)(clock() - c0) / CLOCKS_PER_SEC);
}

/* ------------------------------------------------------------------------------------- */
/* 3. Panics (R-FAULT-003, R-EXP-004, R-RT-050)                                           */
/* ------------------------------------------------------------------------------------- */

static char g_buf[1 << 14];
static int ex_init(void) { return ggufref_export_init_runtime(); }
static int ex_load(void) { return ggufref_export_load_model(g_env.model, g_env.model_len); }
static int ex_load_file(void) { return ggufref_export_load_model_file(g_env.model_path); }
static int ex_configure(void) {
    ggufref_sampling s;
    rts_small_sampling(&s, 3);
    return ggufref_export_configure_sampling(&s);
}
static int ex_generate(void) { return ggufref_export_generate(RTS_PROMPT, strlen(RTS_PROMPT), NULL, NULL); }
static int ex_next(void) { return ggufref_export_generate_next_token(NULL, NULL); }
static int ex_reset(void) { return ggufref_export_reset_context(); }
static int ex_free(void) { return ggufref_export_free_model(); }
static int ex_diag(void) {
    size_t len;
    return ggufref_export_diagnostics(g_buf, sizeof g_buf, &len);
}
static int ex_result(void) {
    size_t len;
    return ggufref_export_result(g_buf, sizeof g_buf, &len);
}
static int ex_tokens(void) {
    size_t n, np;
    return ggufref_export_tokens((int32_t *)(void *)g_buf, sizeof g_buf / 4, &n, &np);
}
static int ex_last_error(void) {
    ggufref_error e;
    return ggufref_export_last_error(&e);
}
static int ex_state(void) {
    ggufref_state s;
    return ggufref_export_state(&s);
}
static int ex_digest(void) {
    uint64_t d;
    return ggufref_export_digest(&d);
}
static int ex_cancel(void) { return ggufref_export_cancel(); }

static const struct {
    const char *name;
    int (*fn)(void);
} exports[] = {
    {"init_runtime", ex_init}, {"load_model", ex_load}, {"load_model_file", ex_load_file},
    {"configure_sampling", ex_configure}, {"generate", ex_generate},
    {"generate_next_token", ex_next}, {"reset_context", ex_reset}, {"free_model", ex_free},
    {"diagnostics", ex_diag}, {"result", ex_result}, {"tokens", ex_tokens},
    {"last_error", ex_last_error}, {"state", ex_state}, {"digest", ex_digest},
    {"cancel", ex_cancel},
};
#define N_EXPORTS (sizeof exports / sizeof exports[0])

/* Which runtime point each export can reach (besides export.locked, which all but cancel
 * reach): the expectation the observed matrix must equal. */
static bool expected_reach(const char *ex, const char *point) {
    static const char *const lazy[] = {"init_runtime", "load_model", "load_model_file",
                                       "configure_sampling", "generate", "generate_next_token",
                                       "reset_context", "free_model", "diagnostics"};
    if (strcmp(ex, "cancel") == 0) return false;
    if (strcmp(point, "export.locked") == 0) return true;
    if (strcmp(point, "init.after_alloc") == 0) {
        for (size_t i = 0; i < sizeof lazy / sizeof lazy[0]; i++) {
            if (strcmp(ex, lazy[i]) == 0) return true;
        }
        return false;
    }
    if (strncmp(point, "load_model.", 11) == 0) return strncmp(ex, "load_model", 10) == 0;
    size_t n = strcspn(point, ".");
    return strlen(ex) == n && strncmp(ex, point, n) == 0;
}

typedef void (*export_setup)(void);
static void es_none(void) {}
static void es_ready(void) {
    assert_int_equal(ex_load(), 0);
    assert_int_equal(ex_configure(), 0);
}
static void es_request(void) {
    es_ready();
    assert_int_equal(ex_generate(), 0);
}

static void test_faults_panic_every_point_every_export(void **state) {
    (void)state;
    NEED_FIXTURES();
    static const export_setup setups[] = {es_none, es_ready, es_request};
    int64_t base = ggufref_fault_alloc_live();
    size_t n_points = ggufref_fault_panic_point_count(), covered = 0;
    assert_int_equal(n_points, 11);
    assert_null(ggufref_fault_panic_point_name(n_points));
    for (size_t e = 0; e < N_EXPORTS; e++) {
        for (size_t p = 0; p < n_points; p++) {
            const char *point = ggufref_fault_panic_point_name(p);
            bool reached = false;
            for (size_t s = 0; s < sizeof setups / sizeof setups[0]; s++) {
                ggufref_fault_export_reset();
                setups[s]();
                ggufref_fault_panic_at(point);
                int st = exports[e].fn();
                bool fired = ggufref_fault_panic_fired();
                ggufref_fault_panic_at(NULL);
                if (!fired) {
                    if (st == GGUFREF_ERR_GENERATION_FAILED) {
                        fail_msg("%s returned 13 without a panic", exports[e].name);
                    }
                    continue;
                }
                reached = true;
                if (st != GGUFREF_ERR_GENERATION_FAILED) {
                    fail_msg("%s panicking at %s returned %s", exports[e].name, point,
                             ggufref_status_name(st));
                }
                for (size_t k = 0; k < N_EXPORTS; k++) { /* every later export: 13 */
                    if (exports[k].fn() != GGUFREF_ERR_GENERATION_FAILED) {
                        fail_msg("after %s panicked at %s, %s did not return 13", exports[e].name,
                                 point, exports[k].name);
                    }
                }
                ggufref_state ps = GGUFREF_STATE_READY;
                assert_int_equal(ggufref_export_state(&ps), GGUFREF_ERR_GENERATION_FAILED);
                assert_int_equal(ps, GGUFREF_STATE_POISONED);
            }
            if (reached != expected_reach(exports[e].name, point)) {
                fail_msg("%s %s panic point %s", exports[e].name,
                         reached ? "unexpectedly reaches" : "does not reach", point);
            }
            covered += reached;
        }
    }
    ggufref_fault_export_reset();
    assert_int_equal(ggufref_fault_alloc_live(), base); /* partial mutations leak nothing */
    assert_int_equal(ex_init(), GGUFREF_OK);            /* only the test reset recovers */
    ggufref_fault_export_reset();
    printf("panic: %zu (export, point) pairs poisoned the lock; every later export returned 13\n",
           covered);
}

/* R-RT-050: a panicked handle is POISONED for every operation and destroy frees it all. */
static void test_faults_panic_handle_points(void **state) {
    (void)state;
    NEED_FIXTURES();
    int64_t base = ggufref_fault_alloc_live();
    size_t fired_points = 0;
    for (size_t p = 0; p + 1 < ggufref_fault_panic_point_count(); p++) { /* not export.locked */
        const char *point = ggufref_fault_panic_point_name(p);
        bool fired = false;
        for (int op = 0; op < 9 && !fired; op++) {
            for (int setup = 0; setup < 3 && !fired; setup++) {
                rts_target t;
                rts_target_open(&t, &g_env, false);
                if (setup >= 1) {
                    assert_int_equal(t_load(&t, g_env.model, g_env.model_len), 0);
                    assert_int_equal(t_configure(&t, 3), 0);
                }
                if (setup == 2) assert_int_equal(t_generate(&t, RTS_PROMPT), 0);
                ggufref_fault_panic_at(point);
                int st;
                switch (op) {
                case 0: st = t_init(&t); break;
                case 1: st = o_load(&t); break;
                case 2: st = o_configure(&t); break;
                case 3: st = o_generate(&t); break;
                case 4: st = t_next(&t); break;
                case 5: st = (int)ggufref_runtime_reset_context(t.rt); break;
                case 6: st = (int)ggufref_runtime_free_model(t.rt); break;
                case 7: st = t_diag(&t); break;
                default: st = (int)ggufref_runtime_load_model_file(t.rt, g_env.model_path); break;
                }
                fired = ggufref_fault_panic_fired();
                ggufref_fault_panic_at(NULL);
                if (fired) {
                    assert_int_equal(st, GGUFREF_ERR_GENERATION_FAILED);
                    assert_int_equal(ggufref_runtime_state(t.rt), GGUFREF_STATE_POISONED);
                    assert_int_equal(t_generate(&t, RTS_PROMPT), GGUFREF_ERR_GENERATION_FAILED);
                    assert_int_equal(ggufref_runtime_cancel(t.rt), GGUFREF_ERR_GENERATION_FAILED);
                    ggufref_error e;
                    assert_int_equal(ggufref_runtime_last_error(t.rt, &e),
                                     GGUFREF_ERR_GENERATION_FAILED);
                    assert_non_null(strstr(e.message, point));
                }
                rts_target_close(&t);
                assert_int_equal(ggufref_fault_alloc_live(), base);
            }
        }
        if (!fired) fail_msg("handle panic point %s is never reached", point);
        fired_points++;
    }
    printf("panic: all %zu handle-level points poison the handle; destroy leaks nothing\n",
           fired_points);
}

/* R-FAULT-002: the hooks disarm after firing, and UINT64_MAX / NULL disarm. */
static void test_faults_hooks_fire_once(void **state) {
    (void)state;
    NEED_FIXTURES();
    ggufref_runtime *rt;
    assert_int_equal(ggufref_runtime_create(&rt), 0);
    ggufref_fault_io_fail_at(10, GGUFREF_IO_FAULT_ERROR);
    assert_int_equal(ggufref_runtime_load_model_file(rt, g_micro_path), GGUFREF_ERR_IO);
    assert_int_equal(ggufref_runtime_load_model_file(rt, g_micro_path), GGUFREF_OK);
    assert_int_equal(ggufref_fault_io_bytes(), g_micro_len + 10);
    ggufref_fault_panic_at("no.such.point");
    assert_int_equal(ggufref_runtime_free_model(rt), GGUFREF_OK);
    assert_false(ggufref_fault_panic_fired());
    ggufref_runtime_destroy(rt);
}

/* Evaluates the golden positions (eval_digest.h) on rt. OUT: same[i] = position i's logits are
 * the golden's bit for bit. Returns how many are. */
static int golden_positions(ggufref_runtime *rt, bool same[ED_N]) {
    uint64_t got[ED_N];
    assert_int_equal(ed_evaluate(rt, got), GGUFREF_OK);
    int n = 0;
    for (int i = 0; i < ED_N; i++) n += (same[i] = got[i] == ed_llama3_digests[i]);
    return n;
}

/* R-FAULT-007: the breaks of the forward pass. Each changes the logits of every position but
 * the first (position 0 attends to itself only, at angle 0), takes effect when documented
 * (query ahead: the next forward pass; rope_freqs ignored: the next load), and disarming
 * restores the golden logits bit for bit. Unknown names arm nothing. */
static void test_faults_breaks_change_logits(void **state) {
    (void)state;
    NEED_FIXTURES();
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", getenv("GGUFREF_SOURCE_DIR"), ED_LLAMA3_MODEL);
    assert_int_equal(ggufref_fault_break_count(), 2);
    assert_string_equal(ggufref_fault_break_name(0), "rope.query_position_plus_one");
    assert_string_equal(ggufref_fault_break_name(1), "rope.ignore_freq_factors");
    assert_null(ggufref_fault_break_name(2));
    assert_false(ggufref_fault_break_set("rope.no_such_break"));
    assert_false(ggufref_fault_break_set(""));

    ggufref_runtime *rt;
    bool same[ED_N];
    assert_int_equal(ggufref_runtime_create(&rt), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_load_model_file(rt, path), GGUFREF_OK);
    assert_int_equal(golden_positions(rt, same), ED_N); /* the control */

    assert_true(ggufref_fault_break_set("rope.query_position_plus_one"));
    assert_int_equal(golden_positions(rt, same), 1);
    assert_true(same[0]);
    assert_true(ggufref_fault_break_set(NULL));
    assert_int_equal(golden_positions(rt, same), ED_N);

    assert_true(ggufref_fault_break_set("rope.ignore_freq_factors"));
    assert_int_equal(golden_positions(rt, same), ED_N); /* the frequencies are set at load */
    assert_int_equal(ggufref_runtime_load_model_file(rt, path), GGUFREF_OK);
    assert_int_equal(golden_positions(rt, same), 1);
    assert_true(same[0]);
    uint64_t one[ED_N], both[ED_N];
    assert_int_equal(ed_evaluate(rt, one), GGUFREF_OK);
    assert_true(ggufref_fault_break_set("rope.query_position_plus_one")); /* accumulates */
    assert_int_equal(ed_evaluate(rt, both), GGUFREF_OK);
    for (int i = 1; i < ED_N; i++) assert_true(both[i] != one[i]);

    assert_true(ggufref_fault_break_set(NULL));
    assert_int_equal(ggufref_runtime_load_model_file(rt, path), GGUFREF_OK);
    assert_int_equal(golden_positions(rt, same), ED_N);
    ggufref_runtime_destroy(rt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_faults_hooks_fire_once),
        cmocka_unit_test(test_faults_breaks_change_logits),
        cmocka_unit_test(test_faults_oom_loops_handle),
        cmocka_unit_test(test_faults_oom_loops_exports),
        cmocka_unit_test(test_faults_io_every_byte_micro_model),
        cmocka_unit_test(test_faults_io_every_byte_fixture),
        cmocka_unit_test(test_faults_panic_every_point_every_export),
        cmocka_unit_test(test_faults_panic_handle_points),
    };
    return cmocka_run_group_tests(tests, setup_suite, teardown_suite);
}
