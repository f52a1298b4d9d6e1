"""The trace format (SPEC chapter 10): read, write, compare, replay.

A trace is JSON Lines. Line 1 is the header (R-TRACE-001):

    {"format": "ggufref-trace", "version": 1, "name": "...", "requires": ["logits"],
     "models": {"golden/models/x.gguf": "<sha256>"}, "tiers": ["exact", "tolerant"],
     "tolerance": {"abs": 0.001, "rel": 0.001}, "settings": {...}, "margin": {...}}

Every other line is a step (R-TRACE-010):

    {"step": 3, "send": {"id": 3, "cmd": "generate", "prompt": "Hi"},
     "expect": [{"id": 3, "event": "token", "token": 42, ...}, {"id": 3, "event": "result", ...}]}

`send` is one command object, a list of them (written in one write), or `send_raw`, a string
written as it is. The replayer writes the step, reads exactly len(expect) events and matches
them in order (R-TRACE-020): an expected event matches when every field it has is in the actual
event with an equal value; `top` and `digest` follow the tier (R-TRACE-040, R-TRACE-042). An
expected string may instead be a line matcher {"$has": [...]} (R-TRACE-014): one line holding
every listed substring (bug traces use it for error messages).

The reader rejects a malformed trace with a TraceError whose message opens with the rule it
breaks (R-TRACE-001 header, R-TRACE-010 steps, R-TRACE-012 pinned implementation fields,
R-TRACE-013 no boot first; R-TRACE-002 for models at replay); a replay's failure or
not-applicable reason names its rule too (R-TRACE-013, -021, -042).
"""
import hashlib
import json
import os

from . import spec
from .wire import Server, WireViolation


class TraceError(Exception):
    """The trace itself is unusable (bad format, missing or changed model)."""


class Trace:
    def __init__(self, header, steps, path=None):
        self.header = header
        self.steps = steps
        self.path = path

    @property
    def name(self):
        return self.header.get("name") or os.path.basename(self.path or "trace")

    def requires(self):
        return list(self.header.get("requires", []))

    def tolerance(self):
        tol = dict(spec.TOLERANCE)
        tol.update(self.header.get("tolerance", {}))
        return tol

    def n_token_events(self):
        return sum(1 for s in self.steps for e in s.get("expect", [])
                   if e.get("event") == "token")

    def copy(self, steps=None):
        return Trace(json.loads(json.dumps(self.header)),
                     json.loads(json.dumps(self.steps if steps is None else steps)), self.path)


# ---- reading and writing ------------------------------------------------------------------

# R-TRACE-001: the header's members and their JSON types (`margin`: generated traces only).
HEADER_FIELDS = (("format", str), ("version", int), ("name", str), ("description", str),
                 ("requires", list), ("requirements", list), ("models", dict), ("tiers", list),
                 ("tolerance", dict), ("settings", dict))
TIERS = ("exact", "tolerant")


def loads(text, path=None, draft=False):
    """A Trace from its text; TraceError naming the rule (R-TRACE-001, -010, -012, -013) when
    the text is not a valid trace. draft: a hand-written list of steps for `rerecord`, whose
    `step` numbers may be missing (they are written on output)."""
    where = path or "trace"
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if not lines:
        raise TraceError("R-TRACE-001: %s: empty trace (line 1 must be the header)" % where)
    try:
        header = json.loads(lines[0])
    except ValueError as e:
        raise TraceError("R-TRACE-001: %s: the header (line 1) is not JSON: %s" % (where, e))
    _check_header(header, where)
    steps = []
    for i, ln in enumerate(lines[1:]):
        try:
            steps.append(json.loads(ln))
        except ValueError as e:
            raise TraceError("R-TRACE-010: %s: line %d is not JSON: %s" % (where, i + 2, e))
        _check_step(steps[-1], i, where, draft)
    _check_first_step(steps, where)
    _check_free_fields(steps, where)
    return Trace(header, steps, path)


def load(path, draft=False):
    with open(path, encoding="utf-8") as f:
        return loads(f.read(), path, draft)


def _type_name(t):
    return {str: "a string", int: "an integer", list: "an array", dict: "an object"}[t]


def _check_header(h, where):
    """R-TRACE-001: format and version first (a reader rejects what it does not know), then
    every member with its type."""
    if not isinstance(h, dict):
        raise TraceError("R-TRACE-001: %s: the header (line 1) is not a JSON object" % where)
    if h.get("format") != spec.TRACE_FORMAT:
        raise TraceError("R-TRACE-001: %s: header format is %r, want %r" % (
            where, h.get("format"), spec.TRACE_FORMAT))
    if h.get("version") != spec.TRACE_VERSION or isinstance(h.get("version"), bool):
        raise TraceError("R-TRACE-001: %s: trace format version %r; this replayer reads "
                         "version %d" % (where, h.get("version"), spec.TRACE_VERSION))
    for key, typ in HEADER_FIELDS:
        if key not in h:
            raise TraceError("R-TRACE-001: %s: the header has no `%s`" % (where, key))
        if not isinstance(h[key], typ):
            raise TraceError("R-TRACE-001: %s: header `%s` is not %s: %s" % (
                where, key, _type_name(typ), _short(h[key])))
    bad = [t for t in h["tiers"] if t not in TIERS]
    if bad:
        raise TraceError("R-TRACE-001: %s: header `tiers` names %s (tiers: %s, R-TRACE-040)" % (
            where, _short(bad), ", ".join(TIERS)))
    for k in ("abs", "rel"):
        v = h["tolerance"].get(k)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
            raise TraceError("R-TRACE-001: %s: header `tolerance` needs `%s`, a number >= 0" % (
                where, k))
    if not all(isinstance(x, str) for x in h["requires"] + h["requirements"]) or \
            not all(isinstance(v, str) for v in h["models"].values()):
        raise TraceError("R-TRACE-001: %s: `requires` and `requirements` are strings, "
                         "`models` maps paths to sha256 strings" % where)


def _check_step(st, i, where, draft):
    """R-TRACE-010: {step, send | send_raw, expect, margins?, note?} at line i + 2."""
    line = "R-TRACE-010: %s: line %d" % (where, i + 2)
    if not isinstance(st, dict):
        raise TraceError("%s is not a step object" % line)
    if "step" in st or not draft:
        if st.get("step") != i + 1 or isinstance(st.get("step"), bool):
            raise TraceError("%s: `step` is %s, want %d (steps count from 1, in order)" % (
                line, _short(st.get("step")), i + 1))
    if ("send" in st) == ("send_raw" in st):
        raise TraceError("%s: a step has exactly one of `send` and `send_raw` (the command)" %
                         line)
    if "send_raw" in st and not isinstance(st["send_raw"], str):
        raise TraceError("%s: `send_raw` is not a string" % line)
    if "send" in st:
        cmds = st["send"] if isinstance(st["send"], list) else [st["send"]]
        if not cmds or not all(isinstance(c, dict) for c in cmds):
            raise TraceError("%s: `send` is not a command object or a non-empty list of them" %
                             line)
    if not isinstance(st.get("expect"), list) or \
            not all(isinstance(e, dict) for e in st["expect"]):
        raise TraceError("%s: `expect` is not a list of event objects" % line)
    if "note" in st and not isinstance(st["note"], str):
        raise TraceError("%s: `note` is not a string" % line)
    if "margins" in st and not isinstance(st["margins"], list):
        raise TraceError("%s: `margins` is not a list" % line)


def _check_first_step(steps, where):
    """R-TRACE-013: the first step sends `boot` (alone), so the replayer learns the
    capabilities before anything else runs."""
    first = steps[0].get("send") if steps else None
    if not (isinstance(first, dict) and first.get("cmd") == "boot"):
        raise TraceError("R-TRACE-013: %s: the first step must send `boot`, not %s" % (
            where, _short(first if steps and "send" in steps[0] else
                          (steps[0].get("send_raw") if steps else "nothing"))))


# R-TRACE-012: members of a command's result that the spec leaves to the implementation.
_FREE_RESULT_FIELDS = {
    "boot": ("name", "version", "capabilities", "levels", "limits"),
    "diagnostics": ("impl",),
    "generate": ("text",),
    "generate-next-token": ("text",),
    "load-model": ("impl",),
}


def _check_free_fields(steps, where):
    """R-TRACE-012: no expectation pins what the spec leaves to the implementation: an error
    message or diagnostics' last-error message as a plain string (a line matcher is allowed,
    R-TRACE-014), boot's name, version, capabilities and limits, a generate's text,
    diagnostics' impl."""
    cmd_of = {}
    for i, st in enumerate(steps):
        sends = st.get("send", [])
        for c in sends if isinstance(sends, list) else [sends]:
            cmd_of[_idkey(c.get("id"))] = c.get("cmd")
        for j, ev in enumerate(st["expect"]):
            at = "R-TRACE-012: %s: step %d, event %d" % (where, i + 1, j + 1)
            err = ev.get("error")
            if isinstance(err, dict) and "message" in err and not is_matcher(err["message"]):
                raise TraceError("%s expects the error message as a string; messages are the "
                                 "implementation's (use a line matcher, R-TRACE-014)" % at)
            if ev.get("event") != "result":
                continue
            cmd = cmd_of.get(_idkey(ev.get("id")))
            pinned = [k for k in _FREE_RESULT_FIELDS.get(cmd, ()) if k in ev]
            if pinned:
                raise TraceError("%s expects `%s` of %s, which the spec leaves to the "
                                 "implementation" % (at, "`, `".join(pinned), cmd))
            le = ev.get("last_error")
            if isinstance(le, dict) and "message" in le and not is_matcher(le["message"]):
                raise TraceError("%s expects last_error.message as a string; messages are the "
                                 "implementation's (use a line matcher, R-TRACE-014)" % at)


def _line(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def dumps(trace):
    """The canonical text of a trace (R-TRACE-003): one compact JSON object per line, keys in
    the order they were built, UTF-8, a newline after every line."""
    out = [_line(trace.header)]
    for i, st in enumerate(trace.steps):
        st = dict(st)
        st["step"] = i + 1
        ordered = {"step": st.pop("step")}
        ordered.update(st)
        out.append(_line(ordered))
    return "\n".join(out) + "\n"


def dump(trace, path):
    with open(path, "w", encoding="utf-8") as f:
        f.write(dumps(trace))


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---- comparison ---------------------------------------------------------------------------

def _within(got, want, tol):
    return abs(got - want) <= tol["abs"] + tol["rel"] * abs(want)


def _compare_top(want, got, tier, tol, path):
    """R-TRACE-040: the `top` list of a token event."""
    if not isinstance(got, list) or len(got) != len(want):
        return ["%s: want %d entries, got %r" % (path, len(want), got)]
    if tier == "exact":
        return [] if got == want else ["%s: want %s, got %s" % (path, want, got)]
    try:
        gmap = {int(i): spec.bits_to_float(b) for i, b in got}
    except (TypeError, ValueError):
        return ["%s: entries must be [token, bits]: %r" % (path, got)]
    last = spec.bits_to_float(want[-1][1])
    got_last = min(gmap.values()) if gmap else last
    twice = {"abs": 2 * tol["abs"], "rel": 2 * tol["rel"]}
    wmap = {int(i): spec.bits_to_float(b) for i, b in want}
    errs = []
    for tid, w in wmap.items():
        if tid in gmap:
            if not _within(gmap[tid], w, tol):
                errs.append("%s: token %d logit %r, want %r within %r" % (
                    path, tid, gmap[tid], w, tol))
        elif not (_within(last, w, twice) and w <= got_last + twice["abs"] +
                  twice["rel"] * abs(got_last)):
            errs.append("%s: token %d (logit %r) missing from %r" % (path, tid, w, got))
    for tid, g in gmap.items():  # a newcomer must be a near-tie at the edge of the list
        if tid not in wmap and g > last + twice["abs"] + twice["rel"] * abs(last):
            errs.append("%s: token %d (logit %r) is not in the expected list" % (path, tid, g))
    return errs


MATCHER_HAS = "$has"


def is_matcher(value):
    """A line matcher (R-TRACE-014): {"$has": [substring, ...]} in place of a string."""
    return isinstance(value, dict) and list(value) == [MATCHER_HAS] and \
        isinstance(value[MATCHER_HAS], list) and \
        all(isinstance(x, str) for x in value[MATCHER_HAS])


def _compare_line(want, got, path):
    """R-TRACE-014: got is a string of one line (no CR, no LF) holding every substring."""
    if not isinstance(got, str):
        return ["%s: want a string, got %s" % (path, _short(got))]
    errs = []
    if "\n" in got or "\r" in got:
        errs.append("%s: %s is not one line" % (path, _short(got)))
    errs += ["%s: %s lacks %s" % (path, _short(got), json.dumps(x, ensure_ascii=False))
             for x in want[MATCHER_HAS] if x not in got]
    return errs


def compare(want, got, tier="exact", tol=None, path=""):
    """Differences between an expected value and an actual one (R-TRACE-020): a list of
    strings, empty when they match. Objects: every expected key must be present and match;
    extra actual keys are ignored. Lists: same length, element-wise. Scalars: equal (an int
    and a float of equal value are equal). A line matcher matches per R-TRACE-014."""
    tol = tol or spec.TOLERANCE
    if is_matcher(want):
        return _compare_line(want, got, path or "value")
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return ["%s: want an object, got %r" % (path or "event", got)]
        errs = []
        for k, w in want.items():
            p = "%s.%s" % (path, k) if path else k
            if k not in got:
                errs.append("%s: missing (want %s)" % (p, _short(w)))
            elif k == "top" and isinstance(w, list):
                errs += _compare_top(w, got[k], tier, tol, p)
            elif k == "digest" and tier != "exact":
                continue
            else:
                errs += compare(w, got[k], tier, tol, p)
        return errs
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return ["%s: want %s, got %s" % (path, _short(want), _short(got))]
        errs = []
        for i, (w, g) in enumerate(zip(want, got)):
            errs += compare(w, g, tier, tol, "%s[%d]" % (path, i))
        return errs
    if isinstance(want, bool) or isinstance(got, bool):
        same = want is got
    elif isinstance(want, (int, float)) and isinstance(got, (int, float)):
        # settings echo binary32 values: a non-integral number matches its binary32 rounding
        fractional = any(isinstance(v, float) and not v.is_integer() for v in (want, got))
        same = want == got or (fractional and _f32(want) == _f32(got))
    else:
        same = want == got
    return [] if same else ["%s: want %s, got %s" % (path, _short(want), _short(got))]


def _f32(x):
    """x rounded to binary32 (R-TRACE-020: settings echo binary32 values), or x if too big."""
    import struct
    try:
        return struct.unpack("<f", struct.pack("<f", x))[0]
    except (OverflowError, struct.error):
        return x


def strip_logits(value):
    """An expectation without `top` and `digest` (R-TRACE-042), recursively."""
    if isinstance(value, dict):
        return {k: strip_logits(v) for k, v in value.items() if k not in ("top", "digest")}
    if isinstance(value, list):
        return [strip_logits(v) for v in value]
    return value


def _short(v, n=160):
    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) <= n else s[:n] + "..."


# ---- normalising recorded events ------------------------------------------------------------

def normalize_event(ev, cmd_of):
    """The expectation to store for an actual event: the fields the spec leaves to the
    implementation removed (R-TRACE-012, _FREE_RESULT_FIELDS and messages). cmd_of maps a
    request id to the command name it was."""
    ev = json.loads(json.dumps(ev))
    if ev.get("event") == "error" and isinstance(ev.get("error"), dict):
        ev["error"].pop("message", None)
    if ev.get("event") == "result":
        for k in _FREE_RESULT_FIELDS.get(cmd_of.get(_idkey(ev.get("id"))), ()):
            ev.pop(k, None)
        le = ev.get("last_error")
        if isinstance(le, dict):
            le.pop("message", None)
    return ev


def _idkey(rid):
    return json.dumps(rid)


def carry_matchers(old, new):
    """A re-recorded expectation `new` with the line matchers (R-TRACE-014) of the expectation
    `old` it replaces put back where they were (a recorder drops messages, R-TRACE-012)."""
    if is_matcher(old):
        return old
    if isinstance(old, dict) and isinstance(new, dict):
        out = dict(new)
        for k, v in old.items():
            if k in new:
                out[k] = carry_matchers(v, new[k])
            elif is_matcher(v):
                out[k] = v
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [carry_matchers(o, n) for o, n in zip(old, new)]
    return new


# ---- replay -------------------------------------------------------------------------------

class Divergence:
    """The first place where an implementation departs from a trace."""

    def __init__(self, step_index, step, expected, got, problems, before):
        self.step_index = step_index  # 0-based
        self.step = step
        self.expected = expected
        self.got = got
        self.problems = problems
        self.before = before          # the sends of the steps before it

    def signature(self):
        """What minimize keeps constant: the failing command and the first differing field
        (its path with list indices removed)."""
        cmd = _step_cmd(self.step)
        first = self.problems[0].split(":")[0] if self.problems else "?"
        import re
        return (cmd, re.sub(r"\[\d+\]", "[]", first))

    def render(self, limit=8):
        lines = ["first divergence at step %d (%s)" % (self.step_index + 1,
                                                          _step_cmd(self.step))]
        for p in self.problems[:limit]:
            lines.append("  " + p)
        lines.append("  expected: %s" % _short(self.expected, 600))
        lines.append("  got:      %s" % _short(self.got, 600))
        if self.before:
            lines.append("  commands before it:")
            for i, s in self.before[-limit:]:
                lines.append("    %3d %s" % (i + 1, _short(s, 200)))
        lines.append("  command: %s" % _short(self.step.get("send", self.step.get("send_raw")),
                                             300))
        return "\n".join(lines)


class ReplayResult:
    def __init__(self, status, divergence=None, reason=""):
        self.status = status          # "pass", "fail", "not-applicable"
        self.divergence = divergence
        self.reason = reason
        self.reqs = None              # a failure's requirements (charge())
        self.notes = []               # legitimate divergences of a pass (R-LEVEL-021)

    def __bool__(self):
        return self.status != "fail"

    def render(self):
        if self.status == "fail":
            return self.divergence.render() if self.divergence else self.reason
        return "%s %s" % (self.status, self.reason)


def _step_cmd(step):
    s = step.get("send")
    if isinstance(s, dict):
        return s.get("cmd", "?")
    if isinstance(s, list):
        return "+".join(str(c.get("cmd", "?")) for c in s if isinstance(c, dict))
    return "raw"


def resolve_command(cmd, root):
    """R-TRACE-011: a relative model path in load-model is relative to the trace root."""
    if isinstance(cmd, dict) and cmd.get("cmd") == "load-model" and \
            isinstance(cmd.get("path"), str) and not os.path.isabs(cmd["path"]):
        cmd = dict(cmd)
        cmd["path"] = os.path.join(root, cmd["path"])
    return cmd


def check_models(trace, root):
    """R-TRACE-002: every model the header names exists under root with its sha256."""
    for rel, digest in trace.header.get("models", {}).items():
        p = os.path.join(root, rel)
        if not os.path.isfile(p):
            raise TraceError("R-TRACE-002: %s: model %s is missing" % (trace.name, p))
        got = sha256_file(p)
        if got != digest:
            raise TraceError("R-TRACE-002: %s: model %s has sha256 %s, the trace was made "
                             "with %s" % (trace.name, rel, got, digest))


def send_step(server, step, root, no_logits=False):
    if "send_raw" in step:
        server.send_raw(step["send_raw"])
        return
    s = step["send"]
    cmds = s if isinstance(s, list) else [s]
    if no_logits:
        cmds = [{k: v for k, v in c.items() if k not in ("logits", "logits_full")}
                if isinstance(c, dict) else c for c in cmds]
    data = "".join(json.dumps(resolve_command(c, root), separators=(",", ":"),
                              ensure_ascii=False) + "\n" for c in cmds)
    server.send_raw(data)


class TraceFailure(AssertionError):
    """A replay that failed, charged to the requirements whose check failed (R-LEVEL-004)."""

    def __init__(self, message, reqs):
        super().__init__(message)
        self.reqs = sorted(set(reqs))


_REQ_RE = __import__("re").compile(r"R-[A-Z]+-[0-9A-Z]+")


def charge(trace, div, sampled=False, prompt_differs=False):
    """The requirements a divergence is charged to (R-LEVEL-004): the rule a wire violation
    names; else the requirement behind the first field that differs (a logit: R-PROTO-030; a
    token: the tokenizer's rules when the prompt's tokens differ too, the sampler's when the
    step samples, else the generation step R-RT-023; a status or state: the transition table,
    R-RT-002); else the trace header's own list."""
    head = [r for r in trace.header.get("requirements", []) if isinstance(r, str)]
    first = div.problems[0] if div.problems else ""
    m = _REQ_RE.match(first.strip())
    if m:
        return [m.group(0)]
    import re
    path = re.sub(r"^event \d+: ", "", first).split(":")[0]
    path = re.sub(r"\[\d+\]", "", path)
    leaf = path.split(".")[0]
    if leaf == "top":
        return ["R-PROTO-030"]
    if leaf == "digest":
        return ["R-PROTO-031"]
    if leaf in ("prompt_tokens", "n_prompt") or (
            leaf in ("token", "piece", "tokens", "text_hex", "n_tokens") and prompt_differs):
        return [r for r in head if r.startswith("R-TOK-")] or ["R-TOK-011"]
    if leaf in ("piece", "text_hex") and not any(
            re.sub(r"^event \d+: ", "", p).split(":")[0] in ("token", "tokens")
            for p in div.problems):
        return ["R-RT-041"]  # the same token, other bytes
    if leaf in ("token", "piece", "tokens", "text_hex", "n_tokens", "index"):
        if sampled:
            return [r for r in head if r.startswith(("R-SAMP-", "R-RNG-"))] or ["R-SAMP-030"]
        return ["R-RT-023", "R-SAMP-013"]
    if leaf in ("state", "event") or path in ("error.code", "error.name"):
        return ["R-RT-002"]
    if path == "error.message" or path.startswith("last_error.message"):
        return ["R-PROTO-004"]
    if leaf == "sampling":
        return ["R-PROTO-022"]
    if leaf == "id":
        return ["R-PROTO-006"]
    return head or ["R-TRACE-020"]


def margin_is_safe(gap, coin_gap, tol_logit, temperature):
    """R-TRACE-051, R-LEVEL-021: no logit error within tol_logit can change the token: the
    greedy (or filter) gap exceeds twice the error, and the coin's distance to a boundary
    exceeds twice the largest shift such an error makes (a logit error d moves each
    probability by a factor within e^(+-2d/T))."""
    import math
    if gap is not None and gap <= 2.0 * tol_logit:
        return False
    if coin_gap is not None:
        shift = math.expm1(2.0 * tol_logit / temperature) if temperature > 0 else math.inf
        if coin_gap <= 2.0 * shift:
            return False
    return True


def _sampling_after(step, settings):
    """The sampling settings generates after `step` use (configure-sampling: absent fields
    take their defaults), given those before it."""
    s = step.get("send")
    for c in (s if isinstance(s, list) else [s]):
        if isinstance(c, dict) and c.get("cmd") == "configure-sampling":
            settings = {k: v for k, v in c.items() if k not in ("id", "cmd")}
    return settings


def _is_sampled(settings):
    t = settings.get("temperature", 0)
    return isinstance(t, (int, float)) and t > 0


_TOKEN_FIELDS = ("token", "piece")


def _token_differs(want, got):
    """A different token id (a piece that differs for the same id is no divergence: R-RT-041)."""
    return want.get("event") == "token" and got.get("event") == "token" and \
        "token" in want and want["token"] != got.get("token")


def _tol_logit(want, tol, settings):
    """The largest logit error the tolerance allows around a token event (R-TRACE-051's t):
    abs + rel * the largest |logit| of its expected `top`, times the repetition penalty."""
    worst = 0.0
    for _, bits in want.get("top") or []:
        try:
            worst = max(worst, abs(spec.bits_to_float(bits)))
        except (TypeError, ValueError):
            pass
    pen = settings.get("repeat_penalty", 1.0)
    pen = float(pen) if isinstance(pen, (int, float)) and pen > 0 else 1.0
    return (tol["abs"] + tol["rel"] * worst) * max(pen, 1.0 / pen)


# R-RT-006: the statuses that are not a "rejection" of the input.
_NOT_REJECTED = ("OK", "OUT_OF_MEMORY", "IO_ERROR", "GENERATION_FAILED")


def _any_rejection(want, got, step, rejected_as):
    """R-LEVEL-060: in the tolerant tier a load-model that the reference rejects matches any
    rejection status (which status is strict-errors' business, test_catalog.py); the message
    matchers of the expectation are dropped with it, and a later diagnostics' `last_error`
    that repeats the reference's status expects the implementation's."""
    if not isinstance(want, dict) or not isinstance(got, dict):
        return want
    le = want.get("last_error")
    if isinstance(le, dict) and le.get("code") in rejected_as and \
            isinstance(got.get("last_error"), dict):
        want = dict(want)
        code, name = rejected_as[le["code"]]
        want["last_error"] = dict(le, code=code, name=name)
        want["last_error"].pop("message", None)
        return want
    if _step_cmd(step) != "load-model" or want.get("event") != "error" or \
            got.get("event") != "error":
        return want
    we, ge = want.get("error") or {}, got.get("error") or {}
    if we.get("name") in _NOT_REJECTED or ge.get("name") in _NOT_REJECTED or \
            not isinstance(ge.get("code"), int):
        return want
    rejected_as[we.get("code")] = (ge.get("code"), ge.get("name"))
    want = dict(want)
    want["error"] = {k: v for k, v in we.items() if k not in ("code", "name", "message")}
    return want


def _drain_step(server, want_all, j):
    """Read the rest of a step's events after event j (up to its final event)."""
    for _ in range(j + 1, len(want_all)):
        ev = server.next_event()
        if ev.get("event") in ("result", "error"):
            return ev
    return None


def _teacher_forced(server, want_all, k, tol, margins, settings):
    """R-LEVEL-021: past a legitimate divergence at token k, the implementation's logits on
    the reference's own tokens (evaluate, R-PROTO-027): each later expected `top` within the
    tolerance, and the greedy token agreed wherever the reference's margin is safe. Problems
    as strings (empty: it agrees)."""
    toks = [w for w in want_all if isinstance(w, dict) and w.get("event") == "token"]
    final = want_all[-1] if want_all else {}
    prompt, gen = final.get("prompt_tokens"), final.get("tokens")
    if not isinstance(prompt, list) or not isinstance(gen, list) or len(gen) != len(toks):
        return None  # the step does not say which tokens the reference made
    kk = max((len(w.get("top") or []) for w in toks), default=0) or 1
    r = server.wait(server.send("evaluate", rid="teacher-forced",
                                tokens=prompt + gen[:-1] if len(gen) > 1 else prompt,
                                logits=kk))
    if not r.ok:
        return ["evaluate failed: %s" % r.describe().split("\n")[0]]
    positions = r.final.get("positions")
    if not isinstance(positions, list):
        return ["evaluate: no `positions` array"]
    problems = []
    for i in range(k, len(toks)):
        at = len(prompt) - 1 + i
        if at >= len(positions) or not isinstance(positions[at], dict):
            problems.append("evaluate: no position %d" % at)
            break
        got_top = positions[at].get("top")
        if "top" in toks[i]:
            problems += _compare_top(toks[i]["top"], got_top, "tolerant", tol,
                                     "evaluate position %d top" % at)
        gap = margins[i][0] if i < len(margins) and isinstance(margins[i], list) else None
        if not _is_sampled(settings) and margin_is_safe(
                gap, None, _tol_logit(toks[i], tol, settings), 0) and \
                isinstance(got_top, list) and got_top and got_top[0][0] != gen[i]:
            problems.append("R-RT-023: teacher-forced at position %d the implementation's "
                            "greedy token is %r, the reference's %d (margin %r)" % (
                                at, got_top[0][0], gen[i], gap))
    return problems


def _prompt_differs(server, want_all, j, got, tier, tol):
    """After a divergence at event j of a step: read the step's remaining events (briefly)
    and tell whether its final event's `prompt_tokens` differ from the expected ones."""
    final_want = want_all[-1] if want_all else None
    if not isinstance(final_want, dict) or "prompt_tokens" not in final_want:
        return False
    final_got = got
    try:
        for _ in range(j + 1, len(want_all)):
            final_got = server.next_event(timeout=2)
            if final_got.get("event") in ("result", "error"):
                break
    except WireViolation:
        return False
    if not isinstance(final_got, dict) or "prompt_tokens" not in final_got:
        return False
    return final_got["prompt_tokens"] != final_want["prompt_tokens"]


def shareable(trace):
    """Whether a trace may replay on a process that served other traces before (R-LEVEL-050):
    it sends `boot` first, then only load-model, configure-sampling, generate and
    generate-next-token, each alone (no raw lines, no cancel), its first load before anything
    else, and expects no error; so nothing it checks depends on the state a fresh process
    starts in, beyond what boot's own `state` says (not compared when shared)."""
    seen_load = False
    for i, st in enumerate(trace.steps):
        s = st.get("send")
        if not isinstance(s, dict):
            return False
        cmd = s.get("cmd")
        if i == 0:
            if cmd != "boot":
                return False
            continue
        if cmd == "load-model":
            seen_load = True
        elif cmd not in ("configure-sampling", "generate", "generate-next-token") or \
                not seen_load:
            return False
        if any(isinstance(e, dict) and e.get("event") == "error" for e in st.get("expect", [])):
            return False
    return seen_load


def replay(trace, impl, tier="exact", root=None, timeout=None, server_factory=None,
           tokens_only=False, tolerance=None, shared=None):
    """Run a trace against the implementation `impl` (a command string) and return a
    ReplayResult; a failure's `reqs` are the requirements it is charged to (charge()). The
    first step must be `boot` (R-TRACE-013): if the implementation lacks a capability the
    trace requires, the result is not-applicable. Without the `logits` capability the trace
    is compared on tokens only, in every tier (R-TRACE-042); `tokens_only` does the same for
    one that advertises it (--tokens-only, R-LEVEL-061). `shared`: a running Server that
    served other traces (only for shareable() traces, R-LEVEL-050): boot's `state` is not
    compared and the end of input (R-TRACE-021) is not part of the replay; the caller
    discards the server after a failure."""
    res = _replay(trace, impl, tier, root, timeout, server_factory, tokens_only, tolerance,
                  shared)
    if res.status == "fail" and res.divergence is not None and res.reqs is None:
        res.reqs = charge(trace, res.divergence)
    return res


def _replay(trace, impl, tier, root, timeout, server_factory, tokens_only=False,
            tolerance=None, shared=None):
    from .paths import ROOT
    root = root or ROOT
    check_models(trace, root)
    if tier not in trace.header.get("tiers", ["exact", "tolerant"]) and not any(
            st.get("margins") for st in trace.steps):
        return ReplayResult("not-applicable", reason="trace has no %s tier" % tier)
    tol = trace.tolerance()
    if tier == "tolerant" and tolerance is not None:
        tol = {"abs": tolerance["abs"], "rel": tolerance["rel"]}  # the type's (R-LEVEL-020)
    import contextlib
    from .wire import spawn
    make = server_factory or (lambda: spawn(impl, timeout=timeout or 20))
    if shared is not None:
        make = lambda: contextlib.nullcontext(shared)  # noqa: E731
    no_logits = False
    caps = set()
    settings = {}
    notes = []
    rejected_as = {}  # the reference's rejection status -> the implementation's (R-LEVEL-060)
    with make() as server:
        before = []
        for i, step in enumerate(trace.steps):
            send_step(server, step, root, no_logits)
            settings = _sampling_after(step, settings)
            sampled = _is_sampled(settings)
            want_all = step["expect"]
            if no_logits:
                want_all = strip_logits(want_all)
            n_tok = 0
            stop = False
            for j, want in enumerate(want_all):
                try:
                    got = server.next_event()
                except WireViolation as e:
                    return ReplayResult("fail", Divergence(i, step, want, None,
                                                           [str(e).split("\n")[0]], before))
                if shared is not None and i == 0 and isinstance(want, dict):
                    want = {a: b for a, b in want.items() if a != "state"}
                if tier == "tolerant":
                    want = _any_rejection(want, got, step, rejected_as)
                problems = compare(want, got, tier, tol)
                k = n_tok
                if isinstance(want, dict) and want.get("event") == "token":
                    n_tok += 1
                if problems and tier == "tolerant" and isinstance(want, dict) and \
                        isinstance(got, dict) and _token_differs(want, got):
                    # R-LEVEL-021: a token may differ only where the reference's margin is
                    # within what the tolerance allows
                    margins = step.get("margins") or []
                    m = margins[k] if k < len(margins) and isinstance(margins[k], list) else None
                    t = _tol_logit(want, tol, settings)
                    temp = settings.get("temperature", 0) or 0
                    if m is not None and not margin_is_safe(m[0], m[1], t, temp):
                        rest = compare({a: b for a, b in want.items() if a not in _TOKEN_FIELDS},
                                       got, tier, tol)
                        if not rest:
                            _drain_step(server, want_all, j)
                            how = "not checked further (no `evaluate` capability)"
                            if "evaluate" in caps and not no_logits:
                                tf = _teacher_forced(server, want_all, k, tol, margins, settings)
                                if tf:
                                    div = Divergence(i, step, want, got, [
                                        "after a legitimate divergence at token %d: %s" % (
                                            k, p) for p in tf], before)
                                    res = ReplayResult("fail", div)
                                    res.reqs = ["R-RT-023"] if any(
                                        p.startswith("R-RT-023") for p in tf) else ["R-PROTO-030"]
                                    return res
                                how = "teacher-forced on the reference's tokens (evaluate)" \
                                    if tf is not None else "not checked further"
                            notes.append("step %d token %d: a legitimate divergence (margin %r "
                                         "within the tolerance %.3g); %s" % (
                                             i + 1, k, m, t, how))
                            stop = True
                            break
                if problems:
                    div = Divergence(i, step, want, got, ["event %d: %s" % (j + 1, p)
                                                          for p in problems], before)
                    differs = _prompt_differs(server, want_all, j, got, tier, tol)
                    res = ReplayResult("fail", div)
                    res.reqs = charge(trace, div, sampled, differs)
                    if differs:
                        div.problems.append("the prompt's tokens differ from the trace's")
                    return res
                if i == 0 and j == 0 and _step_cmd(step) == "boot" and got.get("event") == \
                        "result":
                    caps = spec.caps_of(got)
                    # R-TRACE-042: without the logits capability, compare tokens only, in
                    # every tier: the token checks never depend on the capability
                    no_logits = "logits" not in caps or tokens_only
                    missing = [c for c in trace.requires() if c not in caps and c != "logits"]
                    if missing:
                        return ReplayResult("not-applicable", reason="R-TRACE-013: needs "
                                            "capability %s" % ", ".join(missing))
            before.append((i, step.get("send", step.get("send_raw"))))
            if stop:
                break  # past a divergence, never compare a different continuation
        if shared is not None:
            res = ReplayResult("pass")
            res.notes = notes
            return res
        # R-TRACE-021: nothing more after the last step; the server exits cleanly at EOF.
        server.proc.stdin.close()
        try:
            extra = server.next_event(timeout=5)
        except WireViolation:
            extra = None
        last = len(trace.steps) - 1
        if extra is not None:
            res = ReplayResult("fail", Divergence(last, trace.steps[-1], None, extra, [
                "R-TRACE-021: an event after the last step"], before))
            res.reqs = ["R-TRACE-021", "R-PROTO-003"]
            return res
        status = server.close()
        if status != 0:
            why = ("did not exit within %.0f s of its input closing" % server.exit_grace
                   if server.killed else "exited with status %r" % status)
            res = ReplayResult("fail", Divergence(last, trace.steps[-1], None, None, [
                "R-TRACE-021: after the last step the implementation %s (R-PROTO-002: "
                "it exits with status 0)" % why], before))
            res.reqs = ["R-TRACE-021", "R-PROTO-002"]
            return res
    res = ReplayResult("pass")
    res.notes = notes
    return res
