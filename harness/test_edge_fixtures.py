"""Reader edge cases as their own fixtures (golden/models/edge, made by golden/gen; issue 10
"portable fixtures"): tiny-f32-gqa-tied's model, tensors byte for byte, written as GGUF v1, as
GGUF v2, with wide integer hyperparameters (u64 context_length, i32 embedding_length) and with
general.alignment 64. The type test (golden traces) uses only plain GGUF v3 files with u32
hyperparameters, as llama.cpp's converter writes them, so a runtime that refuses an edge case
fails exactly the edge-case test and nothing else.

core: the file is loaded, or rejected with an error event, and the implementation keeps serving;
      when loaded, greedy decoding gives the tokens the same implementation gives on
      tiny-f32-gqa-tied (the same weights), and the same logits.
strict-errors: the reference's verdict: every edge case is accepted (R-GGUF-004, R-GGUF-005,
      R-GGUF-020, R-MODEL-003).
"""
import json
import os

import pytest

from ggufref_harness import fixtures, paths

EDGE_DIR = os.path.join(paths.MODELS, "edge")
BASE = "tiny-f32-gqa-tied"
PROMPT = "Once upon a time"
N_TOKENS = 8


def _edge():
    path = os.path.join(EDGE_DIR, "manifest.json")
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8") as f:
        return json.load(f)


EDGE = _edge()
REQS = {"edge-v1-f32-gqa-tied": ("R-GGUF-004", "R-GGUF-005"),
        "edge-v2-f32-gqa-tied": ("R-GGUF-004",),
        "edge-wide-ints-f32-gqa-tied": ("R-MODEL-003",),
        "edge-align64-f32-gqa-tied": ("R-GGUF-020",)}


PARAMS = [pytest.param(m, id=m["name"], marks=pytest.mark.req(*REQS.get(m["name"], ())))
          for m in EDGE]


@pytest.mark.req("R-GGUF-004")
def test_edge_manifest_lists_every_edge_case():
    names = sorted(m["name"] for m in EDGE)
    assert names == sorted(REQS), "golden/models/edge/manifest.json: %r" % names
    for m in EDGE:
        assert m["n_ctx"] == fixtures.entry(BASE)["n_ctx"] and m["type"] == "F32"


def _logits(caps):
    """`logits` only where advertised (R-TRACE-042: without it, tokens only)."""
    return {"logits": 4} if "logits" in caps else {}


def _greedy(s, path, caps):
    """Load path and decode greedily; the reply of load-model, then the token events."""
    load = s.request("load-model", path=path)
    if not load.ok:
        return load, None
    s.request("configure-sampling", max_tokens=N_TOKENS, stop_at_eos=False).expect_ok()
    gen = s.request("generate", prompt=PROMPT, **_logits(caps))
    return load, gen


def _base_tokens(s, caps):
    _, gen = _greedy(s, fixtures.path_of(BASE), caps)
    gen.expect_ok()
    return gen


def _same_run(gen, base, caps):
    got = [t["token"] for t in gen.tokens]
    want = [t["token"] for t in base.tokens]
    assert got == want, "tokens %r, on %s %r" % (got, BASE, want)
    if "logits" in caps:
        for a, b in zip(gen.tokens, base.tokens):
            assert a["top"] == b["top"] and a["digest"] == b["digest"], \
                "logits differ from %s's at index %d" % (BASE, a["index"])


@pytest.mark.level("core")
@pytest.mark.req("R-RT-010", "R-PROTO-010")
@pytest.mark.parametrize("case", PARAMS)
def test_edge_case_loads_or_is_rejected_cleanly(booted, caps, case):
    s = booted
    base = _base_tokens(s, caps)
    load, gen = _greedy(s, os.path.join(EDGE_DIR, case["file"]), caps)
    if load.ok:
        gen.expect_ok()
        _same_run(gen, base, caps)
    else:
        assert load.error["code"] != 0 and load.error["message"], load.describe()
        # still serving, and the resident model is intact (R-RT-010)
        s.request("diagnostics").expect_ok()
        again = s.request("generate", prompt=PROMPT, **_logits(caps))
        again.expect_ok()
        _same_run(again, base, caps)


@pytest.mark.level("strict-errors")
@pytest.mark.parametrize("case", PARAMS)
def test_edge_case_is_accepted(booted, caps, case):
    s = booted
    base = _base_tokens(s, caps)
    load, gen = _greedy(s, os.path.join(EDGE_DIR, case["file"]), caps)
    load.expect_ok()
    gen.expect_ok()
    _same_run(gen, base, caps)
