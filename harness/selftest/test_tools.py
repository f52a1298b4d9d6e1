"""Self-tests of the trace tooling (SPEC chapter 10): golden regeneration, record, replay,
minimize, and the comparison tiers. These test the harness, not an implementation: they always
use the reference (and its broken variants)."""
import json
import os
import shlex
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

from ggufref_harness import paths, spec, tracefmt  # noqa: E402
from golden.tracegen import margins, tracetools  # noqa: E402

BUILD = paths.build_dir() or ""
REF = "%s serve" % shlex.quote(os.path.join(BUILD, "ggufref"))
FI = os.path.join(BUILD, "ggufref-fi")
TOOLS = os.path.join(paths.ROOT, "tools")
needs_build = pytest.mark.skipif(not os.path.isfile(os.path.join(BUILD, "ggufref")),
                                 reason="no reference build")
needs_fi = pytest.mark.skipif(not os.path.isfile(FI), reason="no ggufref-fi build")


def broken(name):
    return "%s serve --break %s" % (shlex.quote(FI), name)


@needs_build
def test_golden_regeneration_is_byte_identical():
    """R-TRACE-030, R-TRACE-003."""
    p = subprocess.run([sys.executable, os.path.join(TOOLS, "golden_traces.py"), "--check",
                        "--impl", REF], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr


@needs_build
def test_record_proxy_writes_a_replayable_trace(tmp_path):
    """R-TRACE-061: the proxy forwards every event and the trace replays."""
    out = tmp_path / "rec.jsonl"
    model = os.path.join(paths.MODELS, "tiny-f32-gqa-tied.gguf")
    lines = [{"id": 1, "cmd": "boot"}, {"id": 2, "cmd": "load-model", "path": model},
             {"id": 3, "cmd": "configure-sampling", "max_tokens": 4, "stop_at_eos": False},
             {"id": 4, "cmd": "generate", "prompt": "rec", "logits": 2}]
    text = "".join(json.dumps(x) + "\n" for x in lines) + "not json\n" + \
        json.dumps({"id": 5, "cmd": "diagnostics"}) + "\n"
    p = subprocess.run([sys.executable, os.path.join(TOOLS, "traces.py"), "record", "--impl",
                        REF, str(out)], input=text, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    events = [json.loads(ln) for ln in p.stdout.splitlines()]
    assert [e["id"] for e in events if e["event"] != "token"] == [1, 2, 3, 4, None, 5]
    trace = tracefmt.load(str(out))
    assert len(trace.steps) == 6
    assert trace.steps[1]["send"]["path"] == "golden/models/tiny-f32-gqa-tied.gguf"
    assert "golden/models/tiny-f32-gqa-tied.gguf" in trace.header["models"]
    assert tracefmt.replay(trace, REF).status == "pass"


@needs_fi
def test_replay_reports_the_first_divergence():
    """R-TRACE-022: step, command, expected vs got, commands before it."""
    trace = tracefmt.load(os.path.join(paths.GOLDEN_TRACES, "seq-reset.jsonl"))
    res = tracefmt.replay(trace, broken("reset-keeps-tokens"))
    assert res.status == "fail"
    text = res.render()
    reset_step = next(i for i, s in enumerate(trace.steps)
                      if s.get("send", {}).get("cmd") == "reset-context")
    assert "step %d" % (reset_step + 1) in text or "step %d" % (reset_step + 2) in text, text
    assert "commands before it" in text and "expected:" in text and "got:" in text


@needs_fi
def test_minimize_shrinks_a_failing_trace():
    """R-TRACE-061: fewer steps, same failure signature."""
    trace = tracefmt.load(os.path.join(paths.GOLDEN_TRACES, "seq-errors.jsonl"))
    impl = broken("status-number")
    before = tracefmt.replay(trace, impl)
    assert before.status == "fail"
    small, tried = tracetools.minimize(trace, impl, REF)
    after = tracefmt.replay(small, impl)
    assert after.status == "fail"
    assert after.divergence.signature() == before.divergence.signature()
    assert len(small.steps) < len(trace.steps)
    assert len(small.steps) <= 3, [s.get("send") for s in small.steps]
    assert tracefmt.replay(small, REF).status == "pass"


def _token_event(vals, ids=(5, 9, 2, 7)):
    return {"id": 1, "event": "token", "token": ids[0],
            "top": [[i, spec.float_to_bits(v)] for i, v in zip(ids, vals)],
            "digest": "0123456789abcdef"}


def test_tiers():
    """R-TRACE-040: exact is bitwise, tolerant allows the stated tolerance."""
    want = _token_event([3.0, 2.5, 2.0, 1.0])
    ulp = _token_event([3.0000002, 2.5, 2.0, 1.0])
    close = dict(_token_event([3.001, 2.501, 1.999, 1.0]), digest="ffffffffffffffff")
    far = _token_event([3.1, 2.5, 2.0, 1.0])
    assert tracefmt.compare(want, want, "exact") == []
    assert tracefmt.compare(want, ulp, "exact") != []
    assert tracefmt.compare(want, close, "tolerant") == []
    assert tracefmt.compare(want, far, "tolerant") != []
    tie = _token_event([3.0, 2.5, 2.0, 1.0], ids=(5, 9, 2, 8))
    assert tracefmt.compare(want, tie, "tolerant") == []  # an exact tie at the K-th place
    swapped = _token_event([3.0, 2.5, 2.0, 1.0], ids=(5, 9, 8, 7))
    assert tracefmt.compare(want, swapped, "tolerant") != []  # token 2 (2.0) went missing
    edge = _token_event([3.0, 2.5, 2.0, 1.002], ids=(5, 9, 2, 8))
    edge_want = _token_event([3.0, 2.5, 2.0, 1.0], ids=(5, 9, 2, 7))
    edge_want["top"][3] = [7, spec.float_to_bits(1.001)]
    edge["top"][3] = [8, spec.float_to_bits(1.0015)]
    assert tracefmt.compare(edge_want, edge, "tolerant") == []  # a near-tie at the K-th place
    wrong_token = dict(close, token=6)
    assert tracefmt.compare(want, wrong_token, "tolerant") != []


def test_number_matching():
    """R-TRACE-020: integers exactly; non-integral numbers by binary32."""
    assert tracefmt.compare(0.1, 0.10000000149011612) == []
    assert tracefmt.compare(9007199254740991, 9007199254740990.0) != []
    assert tracefmt.compare(True, 1) != []


def test_line_matcher():
    """R-TRACE-014: one line holding every substring; rerecord keeps matchers."""
    m = {"$has": ["ffn_n\\x0aorm", "tensor"]}
    assert tracefmt.compare(m, "unexpected tensor 'blk.0.ffn_n\\x0aorm.weight'") == []
    assert tracefmt.compare(m, "unexpected tensor 'blk.0.ffn_n orm.weight'") != []
    assert tracefmt.compare(m, "tensor ffn_n\\x0aorm\nsecond line") != []  # not one line
    assert tracefmt.compare(m, "tensor ffn_n\\x0aorm\r") != []
    assert tracefmt.compare(m, 5) != []
    want = {"id": 3, "event": "error", "error": {"code": 18, "message": m}}
    assert tracefmt.compare(want, {"id": 3, "event": "error",
                                   "error": {"code": 18, "message": "tensor ffn_n orm"}}) != []
    recorded = [{"id": 3, "event": "error", "error": {"code": 18, "name": "UNSUPPORTED_MODEL"}}]
    kept = tracefmt.carry_matchers([want], recorded)
    assert kept == [{"id": 3, "event": "error",
                     "error": {"code": 18, "name": "UNSUPPORTED_MODEL", "message": m}}]
    assert tracefmt.carry_matchers([want], []) == []  # other events: nothing to carry


def test_crafted_models_regenerate_byte_identical(tmp_path):
    """R-TRACE-014, R-TRACE-002: traces/models/*.gguf are what make_models.py writes."""
    models = os.path.join(paths.BUG_TRACES, "models")
    p = subprocess.run([sys.executable, os.path.join(models, "make_models.py"), str(tmp_path)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    made = sorted(f for f in os.listdir(tmp_path) if f.endswith(".gguf"))
    assert made == sorted(f for f in os.listdir(models) if f.endswith(".gguf"))
    for f in made:
        with open(os.path.join(models, f), "rb") as a, open(os.path.join(tmp_path, f), "rb") as b:
            assert a.read() == b.read(), "traces/models/%s differs from make_models.py" % f


def test_margins_greedy_and_sampled():
    """R-TRACE-050: the margin model agrees with the sampler's choice."""
    import numpy as np
    x = np.array([1.0, 3.0, 2.9, -1.0], dtype=np.float32)
    tok, gap, coin = margins.step_margin(x, {"temperature": 0}, [], None)
    assert tok == 1 and abs(gap - 0.1) < 1e-6 and coin is None
    pen = {"temperature": 0, "repeat_penalty": 2.0, "repeat_last_n": 4}
    tok, _, _ = margins.step_margin(x, pen, [1], None)
    assert tok == 2  # 3.0 / 2 < 2.9
    tok, gap, coin = margins.step_margin(x, {"temperature": 1.0}, [], 0.0)
    assert tok == 0 and coin == 0.0
    rng = margins.Rng(42)
    assert [rng.u32() for _ in range(2)] == [margins.Rng(42).u32(), _second(42)]


def _second(seed):
    r = margins.Rng(seed)
    r.u32()
    return r.u32()


@needs_build
@pytest.mark.parametrize("args", [["--fault-injection"], ["--break", "extra-coin"]])
def test_release_serve_refuses_test_only_flags(args):
    """R-PROTO-061: fault injection and break variants exist only in ggufref-fi."""
    p = subprocess.run([os.path.join(BUILD, "ggufref"), "serve"] + args, input="",
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 2 and "ggufref-fi" in p.stderr and p.stdout == ""
