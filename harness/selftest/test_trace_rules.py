"""Self-tests of the trace reader and replayer (SPEC chapter 10) on their failure paths: a
malformed or mismatching trace, or an implementation that misbehaves around a trace, must be
reported naming the rule it breaks. The implementation is harness/selftest/fake_impl.py (a
scripted stand-in, no build needed), so these run in well under a second each."""
import json
import os
import shlex
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from ggufref_harness import tracefmt  # noqa: E402
from ggufref_harness.tracefmt import TraceError  # noqa: E402

FAKE = os.path.join(HERE, "fake_impl.py")


def fake(caps="logits", at_eof="ok"):
    return "%s %s --caps=%s --at-eof %s" % (shlex.quote(sys.executable), shlex.quote(FAKE),
                                            caps, at_eof)


def header(**over):
    h = {"format": "ggufref-trace", "version": 1, "name": "t", "description": "self-test",
         "requires": [], "requirements": [], "models": {}, "tiers": ["exact", "tolerant"],
         "tolerance": {"abs": 0.001, "rel": 0.001}, "settings": {}}
    h.update(over)
    return h


BOOT = {"step": 1, "send": {"id": 1, "cmd": "boot"},
        "expect": [{"id": 1, "event": "result", "state": "INITIALIZED"}]}


def generate_step(n, logits=0):
    cmd = {"id": n, "cmd": "generate", "prompt": "a"}
    toks = []
    for i, tok in enumerate((5, 6)):
        ev = {"id": n, "event": "token", "index": i, "token": tok, "piece": "61"}
        if logits:
            ev["top"] = [[tok, "3f800000"], [0, "3f000000"]][:logits]
            ev["digest"] = "%016x" % (tok * 7919)
        toks.append(ev)
    if logits:
        cmd["logits"] = logits
    return {"step": n, "send": cmd, "expect": toks + [
        {"id": n, "event": "result", "state": "CONTINUATION_READY", "tokens": [5, 6]}]}


def text(head, *steps):
    """Trace text from a header and steps (dicts are written as JSON, strings as they are)."""
    return "".join((s if isinstance(s, str) else json.dumps(s)) + "\n" for s in (head,) + steps)


def rejects(rule, trace_text, match=None):
    """The reader rejects trace_text with a TraceError naming rule (and holding match)."""
    with pytest.raises(TraceError) as e:
        tracefmt.loads(trace_text, "t.jsonl")
    assert str(e.value).startswith(rule + ":"), str(e.value)
    if match:
        assert match in str(e.value), str(e.value)


def test_a_valid_trace_loads_and_replays():
    """The control for every case below: the same material, well formed, passes."""
    t = tracefmt.loads(text(header(), BOOT, generate_step(2)))
    assert len(t.steps) == 2
    assert tracefmt.replay(t, fake()).status == "pass"


# ---- R-TRACE-001: the header --------------------------------------------------------------

def _without(key):
    h = header()
    del h[key]
    return h


@pytest.mark.parametrize("head,match", [
    (header(format="gguf-trace"), "format"),
    (header(version=2), "version 2"),
    (header(version="1"), "version"),
    (header(version=True), "version"),
    ([1, 2], "not a JSON object"),
    ("{not json", "not JSON"),
] + [(_without(k), "no `%s`" % k) for k, _ in tracefmt.HEADER_FIELDS if k not in (
    "format", "version")] + [
    (header(requires="logits"), "`requires` is not an array"),
    (header(models=[]), "`models` is not an object"),
    (header(tiers=["exact", "fuzzy"]), "fuzzy"),
    (header(tolerance={"abs": 0.001}), "`rel`"),
    (header(models={"m.gguf": 5}), "sha256"),
])
def test_header_violations_are_rejected(head, match):
    """R-TRACE-001: another format, an unknown version, a missing or mistyped member."""
    rejects("R-TRACE-001", text(head, BOOT), match)


def test_empty_trace_is_rejected():
    """R-TRACE-001: line 1 is the header."""
    rejects("R-TRACE-001", "\n\n")


# ---- R-TRACE-010: the steps ---------------------------------------------------------------

@pytest.mark.parametrize("step,match", [
    ({"step": 2, "expect": []}, "exactly one of `send` and `send_raw`"),
    ({"step": 2, "send": {"id": 2, "cmd": "diagnostics"}, "send_raw": "x", "expect": []},
     "exactly one"),
    ({"step": 2, "send": "diagnostics", "expect": []}, "`send` is not"),
    ({"step": 2, "send": [], "expect": []}, "`send` is not"),
    ({"step": 2, "send": [{"id": 2, "cmd": "boot"}, 7], "expect": []}, "`send` is not"),
    ({"step": 2, "send_raw": {"id": 2}, "expect": []}, "`send_raw` is not a string"),
    ({"step": 2, "send": {"id": 2, "cmd": "boot"}}, "`expect`"),
    ({"step": 2, "send": {"id": 2, "cmd": "boot"}, "expect": {}}, "`expect`"),
    ({"step": 2, "send": {"id": 2, "cmd": "boot"}, "expect": [3]}, "`expect`"),
    ({"step": 3, "send": {"id": 2, "cmd": "boot"}, "expect": []}, "want 2"),
    ({"send": {"id": 2, "cmd": "boot"}, "expect": []}, "want 2"),
    ({"step": 2, "send": {"id": 2, "cmd": "boot"}, "expect": [], "note": 5}, "`note`"),
    ({"step": 2, "send": {"id": 2, "cmd": "boot"}, "expect": [], "margins": 5}, "`margins`"),
    ([2], "not a step object"),
    ('{"step": 2, "send":', "not JSON"),
])
def test_step_violations_are_rejected(step, match):
    """R-TRACE-010: {step (1-based, in order), send | send_raw, expect, margins?, note?}."""
    rejects("R-TRACE-010", text(header(), BOOT, step), match)


def test_a_draft_may_leave_out_step_numbers():
    """R-TRACE-010: `rerecord` reads hand-written steps without numbers, nothing else."""
    steps = [{"send": {"id": 1, "cmd": "boot"}, "expect": []},
             {"send": {"id": 2, "cmd": "diagnostics"}, "expect": []}]
    assert len(tracefmt.loads(text(header(), *steps), draft=True).steps) == 2
    with pytest.raises(TraceError, match="R-TRACE-010"):
        tracefmt.loads(text(header(), *steps))
    with pytest.raises(TraceError, match="R-TRACE-010"):
        tracefmt.loads(text(header(), steps[0], {"expect": []}), draft=True)


# ---- R-TRACE-011: relative model paths -----------------------------------------------------

def _model_trace(tmp_path):
    model = tmp_path / "models" / "m.gguf"
    model.parent.mkdir()
    model.write_bytes(b"GGUF not really")
    sha = tracefmt.sha256_file(str(model))
    load = {"step": 2, "send": {"id": 2, "cmd": "load-model", "path": "models/m.gguf"},
            "expect": [{"id": 2, "event": "result", "state": "READY"}]}
    return tracefmt.loads(text(header(models={"models/m.gguf": sha}), BOOT, load)), model


def test_relative_model_paths_are_resolved_against_the_trace_root(tmp_path):
    """R-TRACE-011: the replayer sends an absolute path, whatever the working directory (the
    fake answers IO_ERROR to a relative one)."""
    trace, model = _model_trace(tmp_path)
    assert tracefmt.resolve_command(trace.steps[1]["send"], str(tmp_path))["path"] == \
        str(model)
    assert tracefmt.resolve_command({"cmd": "load-model", "path": "/x/m.gguf"}, "/r")[
        "path"] == "/x/m.gguf"
    assert tracefmt.replay(trace, fake(), root=str(tmp_path)).status == "pass"
    # the control: the same command written unresolved fails with the fake
    raw = trace.copy()
    raw.steps[1] = {"step": 2, "send_raw": json.dumps(trace.steps[1]["send"]),
                    "expect": trace.steps[1]["expect"]}
    res = tracefmt.replay(raw, fake(), root=str(tmp_path))
    assert res.status == "fail" and "IO_ERROR" in res.render()


def test_a_missing_or_changed_model_is_an_error_of_the_trace(tmp_path):
    """R-TRACE-002, R-TRACE-011: the models are looked up under the trace root and checked by
    sha256 before anything runs: a trace error, not a failure of the implementation."""
    trace, model = _model_trace(tmp_path)
    with pytest.raises(TraceError, match=r"^R-TRACE-002: .*missing"):
        tracefmt.replay(trace, fake(), root=str(tmp_path / "elsewhere"))
    model.write_bytes(b"GGUF changed")
    with pytest.raises(TraceError, match=r"^R-TRACE-002: .*sha256"):
        tracefmt.replay(trace, fake(), root=str(tmp_path))


# ---- R-TRACE-012: what expectations leave out ----------------------------------------------

def _with_expect(send, expect):
    return text(header(), BOOT, {"step": 2, "send": send, "expect": [expect]})


@pytest.mark.parametrize("send,expect,match", [
    ({"id": 2, "cmd": "load-model"},
     {"id": 2, "event": "error", "error": {"code": 1, "message": "field 'path' is missing"}},
     "error message"),
    ({"id": 2, "cmd": "boot"}, {"id": 2, "event": "result", "name": "ggufref"}, "`name`"),
    ({"id": 2, "cmd": "boot"}, {"id": 2, "event": "result", "capabilities": []},
     "`capabilities`"),
    ({"id": 2, "cmd": "boot"}, {"id": 2, "event": "result", "version": "1", "limits": {}},
     "`version`, `limits`"),
    ({"id": 2, "cmd": "generate", "prompt": "a"}, {"id": 2, "event": "result", "text": "aa"},
     "`text`"),
    ({"id": 2, "cmd": "diagnostics"}, {"id": 2, "event": "result", "impl": {}}, "`impl`"),
    ({"id": 2, "cmd": "diagnostics"},
     {"id": 2, "event": "result", "last_error": {"code": 0, "message": "none"}},
     "last_error.message"),
])
def test_expectations_may_not_pin_what_the_spec_leaves_open(send, expect, match):
    """R-TRACE-012: messages, boot's name/version/capabilities/limits, a generate's text and
    diagnostics' impl are the implementation's; a trace that expects them is rejected."""
    rejects("R-TRACE-012", _with_expect(send, expect), match)


def test_line_matchers_and_other_commands_fields_are_allowed():
    """R-TRACE-012, R-TRACE-014: a message checked by a line matcher is fine, and so is a
    `text` member in the result of a command that does not leave it open."""
    m = {"$has": ["path"]}
    tracefmt.loads(_with_expect({"id": 2, "cmd": "load-model"}, {
        "id": 2, "event": "error", "error": {"code": 1, "message": m}}))
    tracefmt.loads(_with_expect({"id": 2, "cmd": "diagnostics"}, {
        "id": 2, "event": "result", "last_error": {"code": 0, "message": m}}))
    tracefmt.loads(_with_expect({"id": 2, "cmd": "reset-context"}, {
        "id": 2, "event": "result", "text": "x"}))


def test_the_recorder_leaves_out_what_the_spec_leaves_open():
    """R-TRACE-012: normalize_event (record, rerecord, the golden generator) drops them, so a
    recorded trace always loads."""
    cmd_of = {"1": "boot", "2": "diagnostics", "3": "generate", "4": "load-model"}
    evs = [{"id": 1, "event": "result", "name": "x", "version": "1", "capabilities": [],
            "limits": {}, "protocol": 1},
           {"id": 2, "event": "result", "impl": {}, "last_error": {"code": 3, "message": "m"}},
           {"id": 3, "event": "result", "text": "aa", "text_hex": "6161"},
           {"id": 4, "event": "error", "error": {"code": 3, "name": "IO_ERROR", "message": "m"}}]
    got = [tracefmt.normalize_event(e, cmd_of) for e in evs]
    assert got == [{"id": 1, "event": "result", "protocol": 1},
                   {"id": 2, "event": "result", "last_error": {"code": 3}},
                   {"id": 3, "event": "result", "text_hex": "6161"},
                   {"id": 4, "event": "error", "error": {"code": 3, "name": "IO_ERROR"}}]
    steps = [{"step": i + 1, "send": {"id": i + 1, "cmd": cmd_of[str(i + 1)]}, "expect": [e]}
             for i, e in enumerate(got)]
    tracefmt.loads(text(header(), *steps))


# ---- R-TRACE-013: boot first; capabilities --------------------------------------------------

@pytest.mark.parametrize("first", [
    {"step": 1, "send": {"id": 1, "cmd": "diagnostics"}, "expect": []},
    {"step": 1, "send": [{"id": 1, "cmd": "boot"}, {"id": 2, "cmd": "diagnostics"}],
     "expect": []},
    {"step": 1, "send_raw": '{"id":1,"cmd":"boot"}', "expect": []},
])
def test_the_first_step_must_be_boot(first):
    """R-TRACE-013: a trace that does not open with `boot` alone is rejected."""
    rejects("R-TRACE-013", text(header(), first), "must send `boot`")


def test_a_trace_with_no_steps_is_rejected():
    """R-TRACE-013: not even the boot."""
    rejects("R-TRACE-013", text(header()))


def test_a_missing_capability_makes_the_trace_not_applicable():
    """R-TRACE-013: the boot result lacks a capability in `requires`: not applicable (not a
    failure, and nothing after the boot runs: the fake would fail the generate)."""
    t = tracefmt.loads(text(header(requires=["cancel"]), BOOT, generate_step(2)))
    res = tracefmt.replay(t, fake(caps="logits,step"))
    assert res.status == "not-applicable" and res.reason.startswith("R-TRACE-013:"), \
        res.render()
    assert "cancel" in res.reason
    assert tracefmt.replay(t, fake(caps="logits,cancel")).status == "pass"


# ---- R-TRACE-021: after the last step -------------------------------------------------------

def test_an_event_after_the_last_step_fails():
    """R-TRACE-021: the implementation writes an event nobody asked for at the end of input."""
    t = tracefmt.loads(text(header(), BOOT, generate_step(2)))
    res = tracefmt.replay(t, fake(at_eof="extra"))
    assert res.status == "fail" and "R-TRACE-021: an event after the last step" in \
        res.render(), res.render()


def test_an_event_the_trace_does_not_expect_fails():
    """R-TRACE-021: a step that expects fewer events than its commands answer (two commands,
    one expectation) leaves an event over after the last step."""
    two = {"step": 2, "send": [{"id": 2, "cmd": "reset-context"}, {"id": 3, "cmd": "x"}],
           "expect": [{"id": 2, "event": "result"}]}
    res = tracefmt.replay(tracefmt.loads(text(header(), BOOT, two)), fake())
    assert res.status == "fail" and "R-TRACE-021" in res.render(), res.render()
    assert '"id": 3' in res.render()


def test_an_unclean_exit_fails():
    """R-TRACE-021, R-PROTO-002: once its input closes the implementation exits with 0."""
    t = tracefmt.loads(text(header(), BOOT, generate_step(2)))
    res = tracefmt.replay(t, fake(at_eof="exit3"))
    assert res.status == "fail", res.render()
    assert "R-TRACE-021" in res.render() and "exited with status 3" in res.render()


# ---- R-TRACE-042: the token-only tier -------------------------------------------------------

def test_without_logits_the_tolerant_tier_compares_tokens_only():
    """R-TRACE-042: against an implementation without `logits`, the tolerant tier sends no
    `logits` (the fake would answer INVALID_ARGUMENT) and expects no `top` or `digest`."""
    t = tracefmt.loads(text(header(), BOOT, generate_step(2, logits=2)))
    assert tracefmt.replay(t, fake(caps=""), tier="tolerant").status == "pass"
    # tokens are still compared: a wrong token id fails
    bad = t.copy()
    bad.steps[1]["expect"][0]["token"] = 9
    res = tracefmt.replay(bad, fake(caps=""), tier="tolerant")
    assert res.status == "fail" and "token" in res.render(), res.render()


def test_without_logits_the_exact_tier_compares_tokens_too():
    """R-TRACE-042, R-LEVEL-010: dropping `logits` from boot never makes a trace not
    applicable: the exact tier compares the tokens, and a wrong token fails (issue 16 item 0:
    a proxy that changed every prompt and dropped `logits` passed)."""
    t = tracefmt.loads(text(header(), BOOT, generate_step(2, logits=2)))
    assert tracefmt.replay(t, fake(caps=""), tier="exact").status == "pass"
    bad = t.copy()
    bad.steps[1]["expect"][0]["token"] = 9
    res = tracefmt.replay(bad, fake(caps=""), tier="exact")
    assert res.status == "fail" and "token" in res.render(), res.render()
    assert res.reqs == ["R-RT-023", "R-SAMP-013"], res.reqs  # R-LEVEL-004: a greedy token
    assert tracefmt.replay(t, fake(caps="logits"), tier="exact").status == "pass"


def test_tokens_only_strips_logits_even_when_advertised():
    """R-LEVEL-061: --tokens-only compares tokens only against an implementation that has
    `logits`: a wrong `top` passes, a wrong token still fails."""
    t = tracefmt.loads(text(header(), BOOT, generate_step(2, logits=2)))
    top = t.copy()
    top.steps[1]["expect"][0]["top"][0][1] = "40000000"
    assert tracefmt.replay(top, fake(caps="logits"), tier="tolerant",
                           tokens_only=True).status == "pass"
    bad = t.copy()
    bad.steps[1]["expect"][0]["token"] = 9
    assert tracefmt.replay(bad, fake(caps="logits"), tier="tolerant",
                           tokens_only=True).status == "fail"


def test_a_rejected_load_matches_any_rejection_in_the_tolerant_tier():
    """R-LEVEL-060: which rejection status a malformed file gets is strict-errors' business;
    the tolerant tier accepts any rejection where the trace expects BAD_MAGIC, the exact tier
    does not, and a result where an error is expected fails both."""
    bad = {"step": 2, "send": {"id": 2, "cmd": "load-model", "path": "x.bad"},
           "expect": [{"id": 2, "event": "error", "error": {"code": 5, "name": "BAD_MAGIC"}}]}
    t = tracefmt.loads(text(header(), BOOT, bad))
    assert tracefmt.replay(t, fake(), tier="tolerant").status == "pass"
    assert tracefmt.replay(t, fake(), tier="exact").status == "fail"
    io = t.copy()
    io.steps[1]["send"]["path"] = "relative-and-missing"  # IO_ERROR is not a rejection
    assert tracefmt.replay(io, fake(), tier="tolerant").status == "fail"


def test_a_token_may_differ_only_within_the_margin():
    """R-LEVEL-021: in the tolerant tier a different token whose reference margin the tolerance
    could cross is a legitimate divergence (a pass with a note, nothing compared after it); the
    same difference with a safe margin fails, charged to the generation step (R-RT-023); the
    exact tier never allows it."""
    step = generate_step(2, logits=2)
    step["expect"][0]["token"] = 7       # the fake answers 5 (its logits equal the trace's)
    step["margins"] = [[0.0005, None], [1.0, None]]
    t = tracefmt.loads(text(header(), BOOT, step))
    res = tracefmt.replay(t, fake(caps="logits"), tier="tolerant")
    assert res.status == "pass", res.render()
    assert res.notes and "legitimate divergence" in res.notes[0], res.notes
    assert tracefmt.replay(t, fake(caps="logits"), tier="exact").status == "fail"
    safe = t.copy()
    safe.steps[1]["margins"] = [[1.0, None], [1.0, None]]
    res = tracefmt.replay(safe, fake(caps="logits"), tier="tolerant")
    assert res.status == "fail" and res.reqs == ["R-RT-023", "R-SAMP-013"], (res.reqs,
                                                                           res.render())


def test_past_a_divergence_the_check_goes_on_teacher_forced():
    """R-LEVEL-021: with `evaluate` the rest of the generation is checked on the reference's
    own tokens: the later expected `top` within the tolerance (a wrong one fails, charged to
    R-PROTO-030), never the implementation's different continuation."""
    step = generate_step(2, logits=2)
    step["expect"][0]["token"] = 7
    step["expect"][-1].update({"prompt_tokens": [1], "tokens": [7, 6]})
    step["margins"] = [[0.0005, None], [1.0, None]]
    t = tracefmt.loads(text(header(), BOOT, step))
    res = tracefmt.replay(t, fake(caps="logits,evaluate"), tier="tolerant")
    assert res.status == "pass" and "teacher-forced" in res.notes[0], (res.render(), res.notes)
    bad = t.copy()
    bad.steps[1]["expect"][1]["top"][0][1] = "40000000"  # the reference's 2.0 at token 1
    res = tracefmt.replay(bad, fake(caps="logits,evaluate"), tier="tolerant")
    assert res.status == "fail" and res.reqs == ["R-PROTO-030"], (res.reqs, res.render())
    assert "evaluate position 1" in res.render(), res.render()


def test_with_logits_the_logits_are_compared():
    """R-TRACE-042, R-TRACE-040: with the capability nothing is stripped: a wrong `top` fails
    both tiers, a wrong `digest` only the exact one."""
    t = tracefmt.loads(text(header(), BOOT, generate_step(2, logits=2)))
    top = t.copy()
    top.steps[1]["expect"][0]["top"][0][1] = "40000000"  # 2.0 instead of 1.0
    for tier in ("exact", "tolerant"):
        res = tracefmt.replay(top, fake(caps="logits"), tier=tier)
        assert res.status == "fail" and "top" in res.render(), (tier, res.render())
        assert res.reqs == ["R-PROTO-030"], res.reqs  # R-LEVEL-004: charged to the logits
    dig = t.copy()
    dig.steps[1]["expect"][1]["digest"] = "ffffffffffffffff"
    assert tracefmt.replay(dig, fake(caps="logits"), tier="exact").status == "fail"
    assert tracefmt.replay(dig, fake(caps="logits"), tier="tolerant").status == "pass"
