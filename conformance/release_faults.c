/*
 * release_faults.c — the release library has no fault injection (SPEC R-FAULT-001, -004, -007).
 *
 * Linked with the release library `ggufref` (not `ggufref_fi`, as the torture_* suites are; see
 * conformance/CMakeLists.txt): every hook is armed as a fault build would fail on it, and every
 * operation still succeeds; the counters read 0, nothing fires, and the panic point table is
 * still there (all builds list it). Needs golden/models (GGUFREF_SOURCE_DIR); skips without it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval_digest.h"
#include "ggufref.h"

/* The path of a committed fixture model, or skip(). OUT: path (cap bytes). */
static void fixture_path(char *path, size_t cap) {
    const char *src = getenv("GGUFREF_SOURCE_DIR");
    snprintf(path, cap, "%s/golden/models/tiny-f32-gqa-tied.gguf", src ? src : ".");
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        print_message("skipped: %s not found (set GGUFREF_SOURCE_DIR)\n", path);
        skip();
    }
    fclose(f);
}

static void assert_counters_zero(void) {
    assert_int_equal(ggufref_fault_alloc_count(), 0);
    assert_int_equal(ggufref_fault_alloc_live(), 0);
    assert_false(ggufref_fault_alloc_fired());
    assert_int_equal(ggufref_fault_io_bytes(), 0);
    assert_false(ggufref_fault_io_fired());
    assert_false(ggufref_fault_panic_fired());
}

/* R-FAULT-001, R-FAULT-004: with the allocation hook armed at the 1st allocation, the I/O hook
 * at byte 0 and a panic point armed, a whole session (load from a file, generate, next token,
 * diagnostics, free) succeeds; no counter moves and nothing fires. */
static void test_release_hooks_do_nothing(void **state) {
    (void)state;
    char path[2048];
    fixture_path(path, sizeof path);
    ggufref_fault_alloc_fail_at(1);
    ggufref_fault_alloc_fail_from(1); /* persistent: would fail every allocation */
    ggufref_fault_io_fail_at(0, GGUFREF_IO_FAULT_ERROR);
    assert_true(ggufref_fault_panic_point_count() > 0);
    ggufref_fault_panic_at("load_model.after_install");
    ggufref_runtime *rt = NULL;
    assert_int_equal(ggufref_runtime_create(&rt), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_load_model_file(rt, path), GGUFREF_OK);
    ggufref_fault_panic_at("generate.after_token");
    ggufref_sampling s;
    ggufref_sampling_default(&s);
    s.max_tokens = 4;
    assert_int_equal(ggufref_runtime_configure_sampling(rt, &s), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_generate(rt, "Once", 4, NULL, NULL), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_generate_next_token(rt, NULL, NULL), GGUFREF_OK);
    ggufref_str diag;
    assert_int_equal(ggufref_runtime_diagnostics(rt, &diag), GGUFREF_OK);
    assert_true(diag.len > 0);
    assert_int_equal(ggufref_runtime_state(rt), GGUFREF_STATE_CONTINUATION_READY);
    assert_int_equal(ggufref_runtime_free_model(rt), GGUFREF_OK);
    ggufref_runtime_destroy(rt);
    assert_counters_zero();
}

/* R-FAULT-004: the export layer cannot be poisoned by a panic point, and the test reset is a
 * no-op: an armed export.locked point does not fire. */
static void test_release_export_not_poisoned(void **state) {
    (void)state;
    ggufref_fault_panic_at("export.locked");
    ggufref_state st = GGUFREF_STATE_POISONED;
    assert_int_equal(ggufref_export_init_runtime(), GGUFREF_OK);
    assert_int_equal(ggufref_export_state(&st), GGUFREF_OK);
    assert_int_equal(st, GGUFREF_STATE_INITIALIZED);
    ggufref_fault_export_reset();
    assert_int_equal(ggufref_export_state(&st), GGUFREF_OK);
    assert_int_equal(st, GGUFREF_STATE_INITIALIZED);
    assert_int_equal(ggufref_export_free_model(), GGUFREF_OK);
    assert_counters_zero();
}

/* R-FAULT-007, R-FAULT-004: the breaks compile out. Every name of the table refuses to arm, and
 * with all of them "armed" before the load, a teacher-forced run of the rope_freqs fixture gives
 * the golden trace's logits bit for bit (torture_faults shows each break changes them in the
 * fault-injection library). */
static void test_release_breaks_compiled_out(void **state) {
    (void)state;
    char path[2048];
    fixture_path(path, sizeof path);
    const char *src = getenv("GGUFREF_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/%s", src ? src : ".", ED_LLAMA3_MODEL);
    assert_int_equal(ggufref_fault_break_count(), 2);
    for (size_t i = 0; i < ggufref_fault_break_count(); i++) {
        assert_non_null(ggufref_fault_break_name(i));
        assert_false(ggufref_fault_break_set(ggufref_fault_break_name(i)));
    }
    assert_null(ggufref_fault_break_name(ggufref_fault_break_count()));
    ggufref_runtime *rt = NULL;
    assert_int_equal(ggufref_runtime_create(&rt), GGUFREF_OK);
    assert_int_equal(ggufref_runtime_load_model_file(rt, path), GGUFREF_OK);
    uint64_t got[ED_N];
    assert_int_equal(ed_evaluate(rt, got), GGUFREF_OK);
    for (int i = 0; i < ED_N; i++) assert_int_equal(got[i], ed_llama3_digests[i]);
    assert_true(ggufref_fault_break_set(NULL));
    ggufref_runtime_destroy(rt);
    assert_counters_zero();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_release_hooks_do_nothing),
        cmocka_unit_test(test_release_export_not_poisoned),
        cmocka_unit_test(test_release_breaks_compiled_out),
    };
    return cmocka_run_group_tests_name("release_faults", tests, NULL, NULL);
}
