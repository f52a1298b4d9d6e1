"""The suite against hostile or buggy implementations (harness/selftest/misbehave.py, a proxy in
front of the reference): each must get its verdict (FAIL naming the rule, or PASS for the
conforming one), the run must finish within its time limit, and the report must be written;
never a hang, never a traceback of the harness instead of a verdict (SPEC R-LEVEL-010,
R-LEVEL-030, R-LEVEL-031, R-LEVEL-032, R-LEVEL-033, R-LEVEL-004).

    /usr/bin/python3 -m pytest harness/selftest/test_misbehaving.py
"""
import concurrent.futures
import json
import os
import shlex
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from ggufref_harness import paths, wire  # noqa: E402

PROXY = os.path.join(HERE, "misbehave.py")
REF = paths.reference_command()
REF_BIN = shlex.split(REF)[0]

# mode -> (test files and -k filter, expected verdict, requirements that must be failed,
#          seconds the whole run may take)
CASES = {
    # issue 16 item 0: wrong tokens without `logits`, and another seed, must not pass
    "zz": (["test_golden.py", "test_bug_traces.py"], None, "FAIL", [], 120),
    "seed": (["test_golden.py"], "sampler", "FAIL", [], 120),
    # items 11-13: hangs (R-LEVEL-031), tracebacks (R-LEVEL-032), values JSON forbids
    # (R-LEVEL-030)
    "endless": (["test_protocol.py"], "generate_streams", "FAIL", ["R-PROTO-003"], 60),
    "unknown-ids": (["test_protocol.py"], "generate_streams", "FAIL", ["R-PROTO-003"], 60),
    "deep": (["test_protocol.py"], "boot", "FAIL", ["R-PROTO-001"], 60),
    "caps-int": (["test_protocol.py"], "boot or cancel", "FAIL", ["R-PROTO-020"], 60),
    "nan": (["test_protocol.py"], "boot", "FAIL", ["R-PROTO-001"], 60),
    "mute-input": (["test_protocol.py"], "oversized_line", "FAIL", ["R-PROTO-002"], 60),
    # item 14: a conforming implementation that logs a lot passes (R-LEVEL-033)
    "stderr-spam": (["test_protocol.py"], "cancel or generate", "PASS", [], 60),
    "levels-int": (["test_protocol.py"], "boot", "FAIL", ["R-LEVEL-002"], 60),
    # R-LEVEL-002: an unclaimed level is "not claimed", never a pass
    "core-only": (["test_golden.py", "test_bug_traces.py"], "sampler or tensor or cancel",
                  "PASS", [], 120),
    # expected failures (--expected-failures): the failures charged to a listed requirement do
    # not fail the run (R-LEVEL-004 decides what a failure is charged to)
    "nan-listed": (["test_protocol.py"], "boot", "PASS", [], 60),
    # the control: the proxy itself changes nothing
    "pass": (["test_protocol.py", "test_golden.py"], "cancel or generate or sampler", "PASS",
             [], 120),
}


# runs of a mode with an expected-failures file: name -> (mode, the listed requirements)
EXPECTED = {"nan-listed": ("nan", ["R-PROTO-001"])}


def _run(mode, tmp):
    files, kexpr, _, _, limit = CASES[mode]
    rdir = os.path.join(tmp, mode)
    xf = []
    if mode in EXPECTED:
        path = os.path.join(tmp, mode + ".tsv")
        with open(path, "w", encoding="utf-8") as f:
            f.write("".join("%s\tself-test\thttps://example.org/x\n" % r
                            for r in EXPECTED[mode][1]))
        xf = ["--expected-failures", path]
        mode = EXPECTED[mode][0]
    impl = "%s %s %s -- %s" % (shlex.quote(sys.executable), shlex.quote(PROXY), mode, REF)
    cmd = [sys.executable, "-m", "pytest"] + [os.path.join(paths.HARNESS, f) for f in files]
    cmd += xf + ["-q", "--impl", impl, "--report-dir", rdir, "-p", "no:cacheprovider",
            "--rootdir", paths.HARNESS, "-c", os.path.join(paths.HARNESS, "pytest.ini")]
    if kexpr:
        cmd += ["-k", kexpr]
    env = dict(os.environ, GGUFREF_HARNESS_FRAMING_TIMEOUT="1", GGUFREF_HARNESS_TIMEOUT="4")
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=paths.ROOT, timeout=limit,
                           env=env)
        out, rc = p.stdout + p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = "TIMEOUT after %d s\n%s" % (limit, (e.stdout or b"")[-2000:]), None
    took = time.monotonic() - t0
    try:
        with open(os.path.join(rdir, "report.json"), encoding="utf-8") as f:
            report = json.load(f)
    except (OSError, ValueError):
        report = None
    return rc, report, out[-4000:], took


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    if not os.path.isfile(REF_BIN):
        pytest.skip("no reference build (%s)" % REF_BIN)
    tmp = str(tmp_path_factory.mktemp("misbehave"))
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futs = {m: pool.submit(_run, m, tmp) for m in CASES}
        return {m: f.result() for m, f in futs.items()}


@pytest.mark.parametrize("mode", sorted(CASES))
def test_misbehaving_implementation_gets_its_verdict(results, mode):
    rc, report, out, took = results[mode]
    _, _, verdict, reqs, limit = CASES[mode]
    assert rc is not None, "mode %s: the suite hung (%s)" % (mode, out)
    assert "INTERNALERROR" not in out and "Traceback" not in out, \
        "mode %s: a traceback of the harness instead of a verdict:\n%s" % (mode, out)
    assert report is not None, "mode %s: no report written:\n%s" % (mode, out)
    tests = report["totals"]
    assert tests.get("pass", 0) + tests.get("fail", 0) > 0, "mode %s: nothing ran: %s" % (
        mode, tests)
    assert report["verdict"] == verdict, "mode %s: verdict %s, want %s (%s)\n%s" % (
        mode, report["verdict"], verdict, tests, out)
    assert (rc == 0) == (verdict == "PASS"), "mode %s: exit status %r" % (mode, rc)
    failed = sorted(r for r, e in report["requirements"].items() if e["status"] == "fail")
    missing = [r for r in reqs if r not in failed]
    assert not missing, "mode %s: failed %s but not %s" % (mode, failed, missing)
    print("mode %s: %s in %.1f s (failed %s; %s)" % (mode, verdict, took, ", ".join(failed),
                                                     report.get("level_summary")))
    LEVEL_CHECKS.get(mode, lambda r: None)(report)


def _core_only(report):
    """R-LEVEL-002, R-LEVEL-003: the levels it does not claim are reported not claimed, and
    none of their tests counts as a pass."""
    lv = report["levels"]
    assert lv["sampler-llama2c"]["verdict"] == "not claimed", lv
    assert lv["strict-errors"]["verdict"] == "not claimed", lv
    assert lv["sampler-llama2c"]["counts"].get("not-claimed", 0) > 0, lv
    assert not lv["sampler-llama2c"]["counts"].get("pass"), lv
    assert lv["core"]["verdict"] == "conforms", lv
    assert report["level_summary"].startswith("conforms to core; strict-errors: not claimed;"), \
        report["level_summary"]


def _seed(report):
    """R-LEVEL-003: the failures are the sampler level's; core still conforms."""
    lv = report["levels"]
    assert lv["sampler-llama2c"]["verdict"].endswith("failures"), lv
    assert lv["core"]["verdict"] == "conforms", lv


def _zz(report):
    """R-LEVEL-004: wrong prompt tokens are charged to the tokenizer's rules, not to every
    requirement a golden trace's header lists (R-PROTO-030 and R-TRACE-031 stay clean)."""
    failed = {r for r, e in report["requirements"].items() if e["status"] == "fail"}
    assert any(r.startswith("R-TOK-") for r in failed), failed
    assert "R-TRACE-031" not in failed and "R-PROTO-030" not in failed, failed
    assert report["levels"]["core"]["verdict"].endswith("failures"), report["levels"]


def _nan_listed(report):
    """The listed requirement's failures are expected failures; nothing else failed."""
    st = report["requirements"]["R-PROTO-001"]["status"]
    assert st == "expected-failure", st
    assert report["totals"].get("expected-failure", 0) >= 1, report["totals"]
    assert not report["totals"].get("fail"), report["totals"]


LEVEL_CHECKS = {"core-only": _core_only, "seed": _seed, "zz": _zz, "nan-listed": _nan_listed}


def test_the_tier_does_not_come_from_boot():
    """R-LEVEL-010: a proxy whose boot says name "ggufref" is still judged in the tolerant
    tier; this checkout's own binary gets the exact one."""
    proxy = "%s %s pass -- %s" % (sys.executable, PROXY, REF)
    assert not paths.is_reference_command(proxy)
    assert paths.is_reference_command(REF) or not os.path.isfile(REF_BIN)
    assert not paths.is_reference_command("/bin/ggufref serve")


@pytest.mark.parametrize("line,why", [
    (b'{"id":1,"event":"result","x":NaN}', "NaN"),
    (b'{"id":1,"event":"result","x":-Infinity}', "Infinity"),
    (b'{"id":1,"event":"result","event":"error"}', "duplicate"),
    (b'{"id":1,"event":"result","x":' + b"[" * 5000 + b"]" * 5000 + b"}", "nested"),
    (b'{"id":1,"event":"result","x":' + b"[" * 70 + b"]" * 70 + b"}", "nested"),
    (b'{"id":1,"event":"result","x":"a\tb"}', "control"),
    (b'{"id":1,"event":"result"}\xff', "UTF-8"),
    (b'{"id":1,"event":"result"} x', "Extra data"),
])
def test_events_are_parsed_strictly(line, why):
    """R-LEVEL-030: what RFC 8259 forbids, or deeper than 64 levels, is a ValueError (never
    another exception)."""
    with pytest.raises(ValueError) as e:
        wire.parse_event(line)
    assert why.lower() in str(e.value).lower(), str(e.value)


def test_strict_parse_accepts_what_json_allows():
    ev = wire.parse_event(b'{"id":"x","event":"result","a":[1,-0.5e3,"\\u00e9",null,true]}\r')
    assert ev["a"] == [1, -500.0, "\u00e9", None, True]


def test_ids_are_keyed_by_value():
    """R-PROTO-006: 7, 7.0 and 7e0 are one id, "7" another; booleans are not ids."""
    assert wire.id_key(7) == wire.id_key(7.0) != wire.id_key("7")
    assert wire.id_key(True) is None and wire.id_key(1.5) != wire.id_key(1)
