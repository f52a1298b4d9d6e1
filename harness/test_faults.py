"""Fault injection over the protocol (capability `fault-injection`, R-PROTO-060): every
allocation of a load and a generate failed in turn (SQLite style), I/O errors at chosen bytes,
and every panic point poisoning the runtime."""
import os

import pytest

from ggufref_harness import fixtures, spec

pytestmark = [pytest.mark.cap("fault-injection"), pytest.mark.level("fault-injection"),
              pytest.mark.skipif(not fixtures.have(), reason="golden/models not generated")]

PRIMARY = fixtures.path_of(fixtures.PRIMARY)
SECONDARY = fixtures.path_of(fixtures.SECONDARY)
MAX_ALLOCS = 500


def _status(s):
    return s.request("fault-status").expect_ok()


def _resident(s):
    d = s.request("diagnostics").expect_ok()
    return {k: d.get(k) for k in ("n_prompt", "n_tokens", "tokens", "text_hex", "model",
                                  "sampling")}


def _baseline(s):
    """fault-reset, then a READY runtime with a finished request; returns (tokens, live)."""
    s.request("fault-reset").expect_ok()
    s.request("boot").expect_ok()
    s.request("load-model", path=PRIMARY).expect_ok()
    s.request("configure-sampling", max_tokens=3, stop_at_eos=False).expect_ok()
    toks = s.request("generate", prompt="base").expect_ok()["tokens"]
    return toks, _status(s)["alloc_live"]


@pytest.mark.req("R-FAULT-001", "R-RT-010", "R-RT-006", "R-PROTO-060")
def test_every_allocation_of_a_load_fails_cleanly(booted):
    s = booted
    for n in range(1, MAX_ALLOCS):
        toks, live = _baseline(s)
        before = _resident(s)
        s.request("fault-alloc", n=n).expect_ok()
        r = s.request("load-model", path=SECONDARY)
        st = _status(s)
        s.request("fault-alloc", n=0).expect_ok()
        if not st["alloc_fired"]:
            r.expect_ok()
            assert n > 1, "a load that allocates nothing?"
            return
        r.expect_error(spec.CODE["OUT_OF_MEMORY"])
        assert r.final["state"] == "RECOVERABLE_ERROR"
        assert _resident(s) == before, "allocation %d: the failed load changed state" % n
        assert _status(s)["alloc_live"] == live, "allocation %d: the failed load leaked" % n
        again = s.request("generate", prompt="base").expect_ok()["tokens"]
        assert again == toks, "allocation %d: the old model no longer generates the same" % n
    pytest.fail("a load still fails after %d allocations" % MAX_ALLOCS)


@pytest.mark.req("R-FAULT-001", "R-RT-026", "R-RT-006", "R-PROTO-060")
def test_every_allocation_of_a_generate_fails_cleanly(booted):
    s = booted
    for n in range(1, MAX_ALLOCS):
        toks, live = _baseline(s)
        s.request("configure-sampling", max_tokens=5, stop_at_eos=False).expect_ok()
        before = _resident(s)
        s.request("fault-alloc", n=n).expect_ok()
        r = s.request("generate", prompt="a longer prompt than before")
        st = _status(s)
        s.request("fault-alloc", n=0).expect_ok()
        if not st["alloc_fired"]:
            r.expect_ok()
            return
        r.expect_error(spec.CODE["OUT_OF_MEMORY"])
        assert not r.tokens, "R-RT-026: tokens streamed before an allocation failure"
        assert _resident(s) == before
    pytest.fail("a generate still fails after %d allocations" % MAX_ALLOCS)


@pytest.mark.req("R-FAULT-002", "R-RT-012", "R-RT-010", "R-PROTO-060")
@pytest.mark.parametrize("kind", ["error", "short"])
def test_io_faults_during_load(booted, kind):
    s = booted
    size = os.path.getsize(SECONDARY)
    for byte in sorted({0, 1, 4, 100, size // 2, size - 1}):
        toks, _ = _baseline(s)
        before = _resident(s)
        s.request("fault-io", byte=byte, kind=kind).expect_ok()
        r = s.request("load-model", path=SECONDARY)
        fired = _status(s)["io_fired"]
        s.request("fault-io", byte=-1).expect_ok()
        assert fired, "byte %d: the I/O hook did not fire" % byte
        r.expect_error(spec.CODE["IO_ERROR"])
        assert _resident(s) == before
        assert s.request("generate", prompt="base").expect_ok()["tokens"] == toks


@pytest.mark.req("R-FAULT-001", "R-RT-028", "R-PROTO-060")
def test_free_model_releases_everything(booted):
    s = booted
    s.request("fault-reset").expect_ok()
    s.request("boot").expect_ok()
    s.request("configure-sampling", max_tokens=4, stop_at_eos=False).expect_ok()
    live0 = _status(s)["alloc_live"]
    for _ in range(3):
        s.request("load-model", path=PRIMARY).expect_ok()
        s.request("generate", prompt="leak?").expect_ok()
        s.request("load-model", path=SECONDARY).expect_ok()
        s.request("generate", prompt="leak?").expect_ok()
        s.request("free-model").expect_ok()
        assert _status(s)["alloc_live"] == live0, "blocks still live after free-model"


SEQUENCE = [("generate", {"prompt": "p"}), ("generate-next-token", {}),
            ("configure-sampling", {"max_tokens": 2, "stop_at_eos": False}),
            ("reset-context", {}), ("diagnostics", {}), ("load-model", {"path": SECONDARY}),
            ("free-model", {}), ("boot", {})]


@pytest.mark.req("R-EXP-004", "R-FAULT-003", "R-STATUS-002", "R-PROTO-060", "R-PROTO-040")
def test_every_panic_point_poisons(booted):
    s = booted
    points = _status(s)["points"]
    assert points, "fault-status lists no panic points"
    fired_any = 0
    for p in points:
        s.request("fault-reset").expect_ok()
        s.request("fault-panic", point=p).expect_ok()
        s.request("boot")
        s.request("configure-sampling", max_tokens=2, stop_at_eos=False)
        s.request("load-model", path=PRIMARY)
        for cmd, fields in SEQUENCE:
            if _status(s)["panic_fired"]:
                break
            s.request(cmd, **fields)
        if not _status(s)["panic_fired"]:
            continue
        fired_any += 1
        for cmd, fields in SEQUENCE + [("cancel", {"target": "x"})]:
            r = s.request(cmd, **fields)
            r.expect_error(spec.CODE["GENERATION_FAILED"])
            if cmd != "cancel":
                assert r.final.get("state") == "POISONED", "point %s: %s" % (p, r.describe())
    s.request("fault-reset").expect_ok()
    assert s.request("boot").expect_ok()["state"] == "INITIALIZED"
    assert fired_any > 0
