"""Concurrent sessions over the protocol (capability `sessions`, SPEC R-PROTO-070..077 and the
pool of chapter 12, R-POOL-040..043), for any implementation that advertises it; not
applicable otherwise.

Each test starts its own process with the server ceilings it needs in the environment
(GGUFREF_POOL_SIZE, GGUFREF_MAX_MEMORY, GGUFREF_MAX_EXEC_MS, GGUFREF_MAX_STEPS, R-POOL-040) and
reads them back from boot's `limits` (R-PROTO-070). Every wait has a deadline: the wire client's
per-event and per-command ones (wire.py); a line that is not one strict JSON object (two
events interleaved inside a line) fails the read (R-PROTO-001, R-PROTO-073).

- isolation: a session's tokens, top logits and digests are bit-identical whether it runs alone
  or beside other sessions and the session-less runtime, and on a reused or a fresh session
  (R-POOL-042; the implementation compared with itself, so bit-identical at any tier);
- saturation: more opens than sessions wait first come, first served; a wait that runs out is
  DEADLINE_EXCEEDED (23); every waiter is served over a long run (R-PROTO-072, R-POOL-043);
- limits: the step budget (LIMIT_EXCEEDED), the time ceiling (DEADLINE_EXCEEDED) and the memory
  ceiling (LIMIT_EXCEEDED at open) each a clear error, and the session or pool usable after
  (R-PROTO-075, R-PROTO-072);
- trap isolation (level fault-injection): a panic ends one session's request (13) and that
  session only (R-PROTO-076).
"""
import os
import time

import pytest

from ggufref_harness import fixtures, spec
from ggufref_harness.wire import Server

pytestmark = [pytest.mark.cap("sessions"),
              pytest.mark.skipif(not fixtures.have(), reason="golden/models not generated")]
req = pytest.mark.req

MODEL = fixtures.path_of(fixtures.SECONDARY)
LONG = fixtures.path_of("tiny-llama3-f32-gqa-tied")  # n_ctx 256: the longest fixture request
CEILINGS = ("GGUFREF_POOL_SIZE", "GGUFREF_MAX_MEMORY", "GGUFREF_MAX_EXEC_MS",
            "GGUFREF_MAX_STEPS", "GGUFREF_MAX_CONTEXT")
SAMPLING = {"temperature": 0.8, "top_k": 20, "seed": 4242, "max_tokens": 24,
            "stop_at_eos": False}


def start(impl, **ceilings):
    """A fresh implementation with exactly these ceilings in its environment."""
    env = {k: v for k, v in os.environ.items() if k not in CEILINGS}
    env.update({"GGUFREF_" + k.upper(): str(v) for k, v in ceilings.items()})
    return Server(impl, env=env)


def boot_limits(s):
    res = s.request("boot").expect_ok()
    assert "sessions" in spec.caps_of(res)
    lim = res.get("limits")
    assert isinstance(lim, dict), "R-PROTO-070: boot has no `limits` object: %r" % res
    for k in ("max_sessions", "max_memory", "max_exec_ms", "max_steps", "max_context"):
        assert isinstance(lim.get(k), int) and not isinstance(lim.get(k), bool) and \
            lim[k] >= 0, "R-PROTO-070: limits.%s is %r, not an integer >= 0" % (k, lim.get(k))
    assert lim["max_sessions"] >= 1, "R-PROTO-070: max_sessions %r" % lim["max_sessions"]
    return lim


def open_session(s, path=MODEL, **fields):
    """The id of a new session (fails the test with the transcript otherwise)."""
    res = s.request("open-session", path=path, **fields).expect_ok()
    sid = res.get("session")
    assert isinstance(sid, int) and not isinstance(sid, bool) and sid >= 1, \
        "R-PROTO-071: open-session's `session` is %r, not a positive integer" % sid
    assert res.get("state") == "READY", "R-PROTO-071: a new session is %r" % res.get("state")
    return sid


def on(s, sid, cmd, **fields):
    """Send a command to session sid; returns the request id."""
    return s.send(cmd, session=sid, **fields)


def wait(s, rid, sid):
    """Every event of request rid; each must carry `session` sid (None: none) (R-PROTO-073)."""
    r = s.wait(rid)
    for ev in r.events:
        assert ev.get("session") == sid, (
            "R-PROTO-073: an event of request %r carries session %r, not %r: %s" % (
                rid, ev.get("session"), sid, r.describe()))
    assert [e.get("index") for e in r.tokens] == list(range(len(r.tokens))), (
        "R-PROTO-073: token events out of order within the session: " + r.describe())
    return r


def stream(r):
    """What must not depend on other sessions: tokens, top logits and digests, the result."""
    r.expect_ok()
    return ([(e.get("token"), e.get("top"), e.get("digest"), e.get("piece")) for e in r.tokens],
            r.final.get("tokens"), r.final.get("text_hex"), r.final.get("prompt_tokens"))


@req("R-PROTO-070", "R-PROTO-071", "R-PROTO-073", "R-POOL-042", "R-POOL-015")
def test_sessions_are_isolated_under_concurrency(impl):
    """Alone, then three sessions and the session-less runtime at once: the same bits."""
    with start(impl, pool_size=3) as s:
        lim = boot_limits(s)
        assert lim["max_sessions"] == 3, "R-POOL-040: GGUFREF_POOL_SIZE=3, boot says %r" % lim
        a = open_session(s)
        wait(s, on(s, a, "configure-sampling", **SAMPLING), a).expect_ok()
        alone = stream(wait(s, on(s, a, "generate", prompt="Once upon", logits=4), a))
        b, c = open_session(s), open_session(s)
        assert len({a, b, c}) == 3, "R-PROTO-071: session ids repeat: %r" % [a, b, c]
        s.request("load-model", path=MODEL).expect_ok()
        s.request("configure-sampling", **SAMPLING).expect_ok()
        for sid in (a, b, c):
            wait(s, on(s, sid, "configure-sampling", **SAMPLING), sid).expect_ok()
        for _ in range(2):
            rids = [(on(s, sid, "generate", prompt="Once upon", logits=4), sid)
                    for sid in (a, b, c)]
            plain = s.send("generate", prompt="Once upon", logits=4)
            for rid, sid in rids:
                assert stream(wait(s, rid, sid)) == alone, (
                    "R-POOL-042: session %d generated other tokens or logits beside other "
                    "sessions than alone" % sid)
            assert stream(wait(s, plain, None)) == alone, (
                "R-POOL-042: the session-less runtime differs from a session on the same model")


@req("R-POOL-042", "R-POOL-011", "R-PROTO-077")
def test_a_reused_session_is_a_fresh_one(impl):
    """With one session in the pool, the session after a close starts as new and generates
    exactly what a fresh process's first session does."""
    with start(impl, pool_size=1) as fresh:
        boot_limits(fresh)
        sid = open_session(fresh)
        wait(fresh, on(fresh, sid, "configure-sampling", **SAMPLING), sid).expect_ok()
        want = stream(wait(fresh, on(fresh, sid, "generate", prompt="Lily", logits=3), sid))
    with start(impl, pool_size=1) as s:
        boot_limits(s)
        first = open_session(s)
        wait(s, on(s, first, "configure-sampling", temperature=1.0, seed=99, max_tokens=40,
                   stop_at_eos=False), first).expect_ok()
        wait(s, on(s, first, "generate", prompt="something else entirely"), first)
        r = wait(s, on(s, first, "close-session"), first)
        r.expect_ok()
        assert "state" not in r.final, "R-PROTO-077: close-session answers with no state"
        gone = wait(s, on(s, first, "diagnostics"), first)
        gone.expect_error(spec.CODE["INVALID_ARGUMENT"])
        again = open_session(s)
        d = wait(s, on(s, again, "diagnostics"), again).expect_ok()
        assert d.get("n_tokens") == 0 and d.get("tokens") == [], (
            "R-POOL-011: a reused session shows the previous request: %r" % d)
        default = s.request("configure-sampling").expect_ok()["sampling"]
        assert d.get("sampling") == default, (
            "R-POOL-011: a reused session keeps the previous sampling settings: %r" % d)
        wait(s, on(s, again, "configure-sampling", **SAMPLING), again).expect_ok()
        got = stream(wait(s, on(s, again, "generate", prompt="Lily", logits=3), again))
        assert got == want, "R-POOL-042: a reused session generates other tokens than a fresh one"


@req("R-PROTO-073")
def test_session_field_errors(impl):
    with start(impl, pool_size=1) as s:
        boot_limits(s)
        sid = open_session(s)
        bad = [("diagnostics", {"session": sid + 1000}), ("diagnostics", {"session": "1"}),
               ("diagnostics", {"session": 0}), ("load-model", {"session": sid, "path": MODEL}),
               ("free-model", {"session": sid}), ("boot", {"session": sid}),
               ("close-session", {})]
        for cmd, fields in bad:
            s.request(cmd, **fields).expect_error(spec.CODE["INVALID_ARGUMENT"])
        s.request("open-session").expect_error(spec.CODE["INVALID_ARGUMENT"])
        missing = s.request("open-session", path=MODEL + ".missing", wait_ms=0)
        assert missing.code not in (0, None), "R-PROTO-071: a missing file opened a session"
        assert "session" not in missing.final
        # the open session is untouched by all of that
        wait(s, on(s, sid, "configure-sampling", max_tokens=2), sid).expect_ok()
        wait(s, on(s, sid, "generate", prompt="ok"), sid).expect_ok()


@req("R-PROTO-072", "R-POOL-043", "R-POOL-014")
def test_saturation_is_fifo_with_typed_deadlines(impl):
    """Two sessions, six waiting opens: every close admits the longest-waiting open; an open
    whose wait runs out is DEADLINE_EXCEEDED and leaves the queue as it was; over a long run
    every waiter is served (no starvation)."""
    with start(impl, pool_size=2) as s:
        lim = boot_limits(s)
        assert lim["max_sessions"] == 2
        held = [open_session(s), open_session(s)]
        waiting = [s.send("open-session", path=MODEL, wait_ms=120000) for _ in range(6)]
        quick = s.request("open-session", path=MODEL, wait_ms=0)
        quick.expect_error(spec.CODE["DEADLINE_EXCEEDED"])
        assert "session" not in quick.final
        short = s.request("open-session", path=MODEL, wait_ms=150)
        short.expect_error(spec.CODE["DEADLINE_EXCEEDED"])
        s.request("boot").expect_ok()  # served while opens wait
        served = []
        for i in range(len(waiting)):
            victim = held.pop(0)
            wait(s, on(s, victim, "close-session"), victim).expect_ok()
            ev = s.next_event(waiting[i])
            assert ev.get("event") == "result", (
                "R-POOL-043: the open waiting longest (%r) was not admitted by a close: %r" % (
                    waiting[i], ev))
            for later in waiting[i + 1:]:
                assert all(p.get("id") != later for p in s.unclaimed()), (
                    "R-POOL-043: open %r overtook %r" % (later, waiting[i]))
            held.append(ev["session"])
            served.append(ev["session"])
            # the new holder works
            sid = ev["session"]
            wait(s, on(s, sid, "configure-sampling", max_tokens=2), sid).expect_ok()
            wait(s, on(s, sid, "generate", prompt="go"), sid).expect_ok()
        assert len(set(served)) == len(waiting)


@req("R-PROTO-075", "R-POOL-021", "R-POOL-040")
def test_step_budget_is_a_clear_error_and_the_session_goes_on(impl):
    with start(impl, max_steps=10) as s:
        lim = boot_limits(s)
        assert lim["max_steps"] == 10, "R-POOL-040: GGUFREF_MAX_STEPS=10, boot says %r" % lim
        sid = open_session(s)
        wait(s, on(s, sid, "configure-sampling", max_tokens=40, stop_at_eos=False),
             sid).expect_ok()
        r = wait(s, on(s, sid, "generate", prompt="Hi"), sid)
        r.expect_error(spec.CODE["LIMIT_EXCEEDED"])
        assert r.final.get("state") == "CONTINUATION_READY", r.describe()
        d = wait(s, on(s, sid, "diagnostics"), sid).expect_ok()
        assert d["n_tokens"] == 10 and len(r.tokens) == 10 - d["n_prompt"], (
            "R-PROTO-075: the budget of 10 positions was not what stopped it: " + r.describe())
        wait(s, on(s, sid, "configure-sampling", max_tokens=3), sid).expect_ok()
        wait(s, on(s, sid, "generate", prompt="Hi"), sid).expect_ok()
        long_prompt = "a b c d e f g h i j k l"
        wait(s, on(s, sid, "generate", prompt=long_prompt), sid).expect_error(
            spec.CODE["LIMIT_EXCEEDED"])


@req("R-PROTO-075", "R-POOL-022")
def test_time_ceiling_is_a_clear_error_and_the_session_goes_on(impl):
    with start(impl, max_exec_ms=1) as s:
        lim = boot_limits(s)
        assert lim["max_exec_ms"] == 1
        sid = open_session(s, path=LONG)
        wait(s, on(s, sid, "configure-sampling", max_tokens=240, stop_at_eos=False),
             sid).expect_ok()
        codes = []
        for _ in range(10):  # 240 tokens take far more than 1 ms; a fast machine gets 10 tries
            r = wait(s, on(s, sid, "generate", prompt="Once"), sid)
            codes.append(r.code)
            if r.code:
                r.expect_error(spec.CODE["DEADLINE_EXCEEDED"])
                assert r.final.get("state") == "CONTINUATION_READY", r.describe()
                break
        assert spec.CODE["DEADLINE_EXCEEDED"] in codes, (
            "R-PROTO-075: ten 240-token requests under max_exec_ms=1 all finished: %r" % codes)
        wait(s, on(s, sid, "configure-sampling", max_tokens=1), sid).expect_ok()
        wait(s, on(s, sid, "reset-context"), sid).expect_ok()


def _opens(impl, memory):
    """How many sessions open at once under GGUFREF_MAX_MEMORY=memory (0, 1 or 2)."""
    with start(impl, max_memory=memory, pool_size=4) as s:
        lim = boot_limits(s)
        assert lim["max_memory"] == memory
        n = 0
        for _ in range(2):
            r = s.request("open-session", path=MODEL, wait_ms=0)
            if not r.ok:
                r.expect_error(spec.CODE["LIMIT_EXCEEDED"])
                break
            n += 1
        return n


@req("R-PROTO-072", "R-POOL-020", "R-POOL-040")
def test_memory_ceiling_is_a_clear_error_and_recovers(impl):
    """The smallest ceiling that holds the model and one session (found by bisection over
    processes) refuses a second session with LIMIT_EXCEEDED; a close makes room again."""
    assert _opens(impl, 1) == 0, "R-POOL-020: a 1-byte ceiling held a model and a session"
    lo, hi = 1, os.path.getsize(MODEL) * 64
    assert _opens(impl, hi) >= 1
    while hi - lo > max(1, lo // 64):
        mid = (lo + hi) // 2
        if _opens(impl, mid) >= 1:
            hi = mid
        else:
            lo = mid
    with start(impl, max_memory=hi, pool_size=4) as s:
        boot_limits(s)
        a = open_session(s, wait_ms=0)
        r = s.request("open-session", path=MODEL, wait_ms=0)
        r.expect_error(spec.CODE["LIMIT_EXCEEDED"])
        assert "session" not in r.final
        wait(s, on(s, a, "close-session"), a).expect_ok()
        b = open_session(s, wait_ms=0)
        wait(s, on(s, b, "configure-sampling", max_tokens=2), b).expect_ok()
        wait(s, on(s, b, "generate", prompt="ok"), b).expect_ok()


@req("R-PROTO-074")
def test_cancel_reaches_a_session_request(impl):
    with start(impl, pool_size=2) as s:
        boot_limits(s)
        a, b = open_session(s), open_session(s)
        for sid in (a, b):
            wait(s, on(s, sid, "configure-sampling", max_tokens=90, stop_at_eos=False),
                 sid).expect_ok()
        ra = on(s, a, "generate", prompt="Hi")
        rb = on(s, b, "generate", prompt="Hi")
        first = s.next_event(ra)  # a streams now
        assert first.get("event") == "token", first
        s._pending.insert(0, first)  # left for wait() below: the request's events in order
        c = s.request("cancel", target=ra).expect_ok()
        got_a, got_b = wait(s, ra, a), wait(s, rb, b)
        got_b.expect_ok()  # the other session's request is not touched
        assert len(got_b.tokens) == 90
        if c.get("cancelled"):
            got_a.expect_error(spec.CODE["CANCELLED"])
            assert got_a.final.get("state") == "CONTINUATION_READY"
            assert len(got_a.tokens) < 90
        else:  # the request ended before the cancel was read: a late cancel is no error
            got_a.expect_ok()


@pytest.mark.cap("fault-injection")
@pytest.mark.level("fault-injection")
@req("R-PROTO-076", "R-POOL-012")
def test_a_trap_ends_one_session_only(impl):
    with start(impl, pool_size=2) as s:
        boot_limits(s)
        a, b = open_session(s), open_session(s)
        for sid in (a, b):
            wait(s, on(s, sid, "configure-sampling", **SAMPLING), sid).expect_ok()
        before = stream(wait(s, on(s, b, "generate", prompt="Hi", logits=2), b))
        points = s.request("fault-status").expect_ok().get("points", [])
        point = "generate.after_token" if "generate.after_token" in points else points[0]
        s.request("fault-panic", point=point).expect_ok()
        r = wait(s, on(s, a, "generate", prompt="Hi"), a)
        r.expect_error(spec.CODE["GENERATION_FAILED"])
        assert r.final.get("state") == "POISONED" and r.final.get("closed") is True, (
            "R-PROTO-076: " + r.describe())
        wait(s, on(s, a, "diagnostics"), a).expect_error(spec.CODE["INVALID_ARGUMENT"])
        after = stream(wait(s, on(s, b, "generate", prompt="Hi", logits=2), b))
        assert after == before, "R-PROTO-076: the trap in session %d changed session %d" % (a, b)
        c = open_session(s, wait_ms=0)  # the dropped session's permit is back
        wait(s, on(s, c, "configure-sampling", **SAMPLING), c).expect_ok()
        assert stream(wait(s, on(s, c, "generate", prompt="Hi", logits=2), c)) == before


@req("R-POOL-040")
def test_a_malformed_ceiling_stops_the_start(impl):
    """One line on standard error naming the variable, a non-zero status, no event."""
    for key, value in (("pool_size", "0"), ("max_steps", "12x"), ("max_memory", "-5"),
                       ("max_exec_ms", "99999999999999999999999")):
        s = start(impl, **{key: value})
        try:
            status = s.proc.wait(timeout=10)
            out = s.proc.stdout.read()
        finally:
            s.close()
        name = "GGUFREF_" + key.upper()
        assert status not in (0, None), "R-POOL-040: %s=%s started (status %r)" % (
            name, value, status)
        assert out == b"", "R-POOL-040: events written before the start failed: %r" % out[:200]
        err = s.stderr_tail().strip()
        assert name in err and "\n" not in err, (
            "R-POOL-040: the error does not name %s on one line: %r" % (name, err))
