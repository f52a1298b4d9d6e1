"""Trace tools (SPEC R-TRACE-061): record a session through a proxy, record a list of commands,
and minimize a failing trace by delta debugging."""
import json
import os
import select
import sys

from ggufref_harness import spec, tracefmt
from ggufref_harness.paths import ROOT
from ggufref_harness.wire import Server


# ---- recording ------------------------------------------------------------------------------

def _relative_paths(cmds, root):
    """load-model paths under root become relative (R-TRACE-011); returns the models seen."""
    models = {}
    for c in cmds:
        if isinstance(c, dict) and c.get("cmd") == "load-model" and isinstance(c.get("path"),
                                                                                 str):
            p = c["path"] if os.path.isabs(c["path"]) else os.path.join(os.getcwd(), c["path"])
            p = os.path.normpath(p)
            if p.startswith(os.path.normpath(root) + os.sep):
                c["path"] = os.path.relpath(p, root)
            full = os.path.join(root, c["path"]) if not os.path.isabs(c["path"]) else c["path"]
            if os.path.isfile(full) and full.endswith(".gguf"):
                models[c["path"]] = tracefmt.sha256_file(full)
    return models


def make_header(name, description, models, requires=(), requirements=()):
    return {"format": spec.TRACE_FORMAT, "version": spec.TRACE_VERSION, "name": name,
            "description": description, "requires": list(requires),
            "requirements": list(requirements), "models": dict(sorted(models.items())),
            "tiers": ["exact", "tolerant"], "tolerance": dict(spec.TOLERANCE), "settings": {}}


def record_steps(impl, sends, root=ROOT, timeout=20):
    """Run step sends (each a command, a list of commands, or {"send_raw": text}) against impl
    and return the steps with their normalised expectations."""
    out = []
    cmd_of = {}
    with Server(impl, cwd=root, timeout=timeout) as s:
        for send in sends:
            if isinstance(send, dict) and "send_raw" in send:
                s.send_raw(send["send_raw"])
                ev = s.next_event()
                out.append({"send_raw": send["send_raw"],
                            "expect": [tracefmt.normalize_event(ev, cmd_of)]})
                continue
            cmds = send if isinstance(send, list) else [send]
            for c in cmds:
                cmd_of[tracefmt._idkey(c.get("id"))] = c.get("cmd")
            tracefmt.send_step(s, {"send": send}, root)
            waiting = {tracefmt._idkey(c.get("id")) for c in cmds}
            evs = []
            while waiting:
                ev = s.next_event()
                evs.append(ev)
                if ev["event"] in ("result", "error"):
                    waiting.discard(tracefmt._idkey(ev["id"]))
                    if ev["id"] is None:  # a framing error answers some unparsable line
                        waiting = set() if len(cmds) == 1 else waiting
            out.append({"send": send,
                        "expect": [tracefmt.normalize_event(e, cmd_of) for e in evs]})
    return out


def proxy(impl, out_path, name=None, description="", root=ROOT, stdin=None, stdout=None):
    """Sit between a client (stdin/stdout) and an implementation; write the session as a trace
    (R-TRACE-061). Each command line is a step; an event belongs to the step that sent its id
    (an event with id null to the oldest unanswered raw line). A cancel whose target is still
    streaming joins its target's step, so the replay writes them together (R-PROTO-041).
    Returns the trace."""
    import shlex
    import subprocess
    fd_in = (stdin or sys.stdin.buffer).fileno()
    out = stdout or sys.stdout.buffer
    proc = subprocess.Popen(shlex.split(impl), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    fd_out = proc.stdout.fileno()
    steps, cmd_of, step_of, streaming, raw_waiting = [], {}, {}, set(), []
    inbuf = outbuf = b""
    open_in = True

    def add_line(raw):
        text = raw.decode("utf-8", "replace").rstrip("\r")
        if not text.strip():
            return
        try:
            obj = json.loads(text)
        except ValueError:
            obj = None
        if not (isinstance(obj, dict) and "cmd" in obj and "id" in obj):
            raw_waiting.append(len(steps))
            steps.append({"send_raw": text, "expect": []})
            return
        key = tracefmt._idkey(obj["id"])
        cmd_of[key] = obj["cmd"]
        target = tracefmt._idkey(obj.get("target"))
        if obj["cmd"] == "cancel" and target in streaming:
            st = steps[step_of[target]]
            st["send"] = (st["send"] if isinstance(st["send"], list) else [st["send"]]) + [obj]
            step_of[key] = step_of[target]
            return
        step_of[key] = len(steps)
        if obj["cmd"] in ("generate", "generate-next-token"):
            streaming.add(key)
        steps.append({"send": obj, "expect": []})

    def add_event(ev):
        key = tracefmt._idkey(ev.get("id"))
        if ev.get("id") is None and raw_waiting:
            i = raw_waiting.pop(0)
        else:
            i = step_of.get(key, len(steps) - 1)
        if ev.get("event") in ("result", "error"):
            streaming.discard(key)
        if steps:
            steps[i]["expect"].append(tracefmt.normalize_event(ev, cmd_of))

    while True:
        ready, _, _ = select.select([fd_out] + ([fd_in] if open_in else []), [], [])
        if fd_in in ready:
            chunk = os.read(fd_in, 1 << 20)
            if not chunk:
                open_in = False
                chunk = b"\n" if inbuf else b""
            inbuf += chunk
            if b"\n" in inbuf:
                complete, _, inbuf = inbuf.rpartition(b"\n")
                for line in complete.split(b"\n"):
                    add_line(line)
                proc.stdin.write(complete + b"\n")
                proc.stdin.flush()
            if not open_in:
                proc.stdin.close()
        if fd_out in ready:
            chunk = os.read(fd_out, 1 << 20)
            if not chunk:
                break
            outbuf += chunk
            while b"\n" in outbuf:
                line, outbuf = outbuf.split(b"\n", 1)
                out.write(line + b"\n")
                out.flush()
                try:
                    add_event(json.loads(line.decode("utf-8")))
                except ValueError:
                    add_event({"id": None, "unparsable": line.decode("utf-8", "replace")})
    proc.wait()
    flat = [c for st in steps if "send" in st
            for c in (st["send"] if isinstance(st["send"], list) else [st["send"]])]
    models = _relative_paths(flat, root)
    header = make_header(name or os.path.splitext(os.path.basename(out_path))[0],
                         description, models)
    trace = tracefmt.Trace(header, steps)
    tracefmt.dump(trace, out_path)
    return trace


# ---- minimizing -------------------------------------------------------------------------------

def ddmin(items, fails):
    """Zeller's delta debugging: a 1-minimal sublist of items for which fails() holds."""
    n = 2
    while len(items) >= 2:
        size = -(-len(items) // n)
        chunks = [items[i:i + size] for i in range(0, len(items), size)]
        reduced = False
        for i, ch in enumerate(chunks):
            if fails(ch):
                items, n, reduced = ch, 2, True
                break
        if not reduced:
            for i in range(len(chunks)):
                comp = [x for j, c in enumerate(chunks) if j != i for x in c]
                if fails(comp):
                    items, n, reduced = comp, max(n - 1, 2), True
                    break
        if not reduced:
            if n >= len(items):
                break
            n = min(len(items), n * 2)
    if len(items) == 1 and fails([]):
        return []
    return items


def _sends(steps):
    return [({"send_raw": s["send_raw"]} if "send_raw" in s else s["send"]) for s in steps]


def minimize(trace, impl, reference, tier="exact", root=ROOT, log=None):
    """A smallest trace that fails against impl the same way as `trace` (same failing command,
    same first differing field), its expectations re-recorded with the reference. Returns
    (trace, number of candidates tried); raises ValueError if the trace does not fail."""
    first = tracefmt.replay(trace, impl, tier=tier, root=root)
    if first.status != "fail":
        raise ValueError("the trace does not fail against %s (%s)" % (impl, first.status))
    want = first.divergence.signature()
    tried = [0]

    def attempt(sends):
        tried[0] += 1
        try:
            steps = record_steps(reference, sends, root)
        except AssertionError:
            return None
        cand = tracefmt.Trace(dict(trace.header), steps)
        try:
            res = tracefmt.replay(cand, impl, tier=tier, root=root)
        except tracefmt.TraceError:
            return None
        if res.status == "fail" and res.divergence.signature() == want:
            return cand
        return None

    sends = _sends(trace.steps)
    head, body = sends[:1], sends[1:]  # keep boot (R-TRACE-013)
    body = ddmin(body, lambda sub: attempt(head + sub) is not None)
    sends = head + body
    # then the prompts, character by character (code points)
    for i, send in enumerate(sends):
        cmds = send if isinstance(send, list) else [send]
        for j, c in enumerate(cmds):
            if not (isinstance(c, dict) and c.get("cmd") == "generate" and
                    isinstance(c.get("prompt"), str) and c["prompt"]):
                continue

            def with_prompt(chars, i=i, j=j):
                new = json.loads(json.dumps(sends))
                tgt = new[i] if isinstance(new[i], dict) and "cmd" in new[i] else new[i][j]
                tgt["prompt"] = "".join(chars)
                return new
            chars = ddmin(list(c["prompt"]), lambda ch: attempt(with_prompt(ch)) is not None)
            sends = with_prompt(chars)
    final = attempt(sends)
    assert final is not None, "the minimized trace no longer fails"
    final.header = dict(trace.header)
    final.header["name"] = trace.name + "-min"
    final.header["description"] = "minimized from %s (%d -> %d steps): %s" % (
        trace.name, len(trace.steps), len(final.steps), trace.header.get("description", ""))
    if log:
        print("minimize: %d candidates tried; %d -> %d steps" % (
            tried[0], len(trace.steps), len(final.steps)), file=log)
    return final, tried[0]
