#!/usr/bin/env python3
"""Trace tools (SPEC chapter 10, R-TRACE-061).

  traces.py record --impl CMD OUT [--name N] [--description D]
        proxy: forward this process's stdin to the implementation and its events to stdout,
        and write the session to OUT as a trace
  traces.py replay --impl CMD [--tier exact|tolerant] TRACE...
        replay traces; print each first divergence; exit 1 if any trace fails
  traces.py rerecord --impl CMD IN OUT
        run the commands of trace IN against CMD and write them with the events it answers
        as OUT (after an intended change of behaviour, or to turn a hand-written list of
        steps, whose `expect` may be empty, into a trace); the line matchers of IN
        (R-TRACE-014) are kept
  traces.py minimize --impl CMD [--reference CMD] TRACE OUT
        delta-debug a failing trace (steps, then prompt characters) to a smallest trace that
        fails the same way; expectations re-recorded with the reference
CMD is a shell-style command line that starts a protocol server; the default is the
reference's `<build>/ggufref serve`.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from ggufref_harness import paths, tracefmt  # noqa: E402
from golden.tracegen import tracetools  # noqa: E402


def cmd_record(a):
    t = tracetools.proxy(a.impl, a.out, name=a.name, description=a.description or "",
                         root=a.root)
    print("record: %d steps written to %s" % (len(t.steps), a.out), file=sys.stderr)
    return 0


def cmd_replay(a):
    failed = 0
    for path in a.traces:
        try:
            res = tracefmt.replay(tracefmt.load(path), a.impl, tier=a.tier, root=a.root)
        except tracefmt.TraceError as e:
            print("ERROR %s: %s" % (path, e))
            failed += 1
            continue
        if res.status == "fail":
            failed += 1
            print("FAIL  %s\n%s" % (path, res.render()))
        else:
            print("%-5s %s %s" % ("PASS" if res.status == "pass" else "N/A", path, res.reason))
    return 1 if failed else 0


def cmd_rerecord(a):
    trace = tracefmt.load(a.input, draft=True)  # hand-written steps need no numbers
    steps = tracetools.record_steps(a.impl, tracetools._sends(trace.steps), a.root)
    for old, new in zip(trace.steps, steps):
        if "note" in old:
            new["note"] = old["note"]
        new["expect"] = tracefmt.carry_matchers(old["expect"], new["expect"])
    out = tracefmt.Trace(trace.header, steps)
    tracefmt.dump(out, a.out)
    print("rerecord: %d steps written to %s" % (len(steps), a.out), file=sys.stderr)
    return 0


def cmd_minimize(a):
    trace = tracefmt.load(a.trace)
    ref = a.reference or paths.reference_command()
    try:
        small, _ = tracetools.minimize(trace, a.impl, ref, tier=a.tier, root=a.root,
                                       log=sys.stderr)
    except ValueError as e:
        print("minimize: %s" % e, file=sys.stderr)
        return 1
    tracefmt.dump(small, a.out)
    res = tracefmt.replay(small, a.impl, tier=a.tier, root=a.root)
    print("minimize: %d steps -> %s\n%s" % (len(small.steps), a.out, res.render()))
    return 0


def main():
    ap = argparse.ArgumentParser(description="record, replay and minimize protocol traces")
    sub = ap.add_subparsers(dest="what", required=True)
    for name in ("record", "replay", "rerecord", "minimize"):
        p = sub.add_parser(name)
        p.add_argument("--impl", default=None, help="command that starts the implementation")
        p.add_argument("--root", default=paths.ROOT, help="trace root for model paths")
        if name == "record":
            p.add_argument("out")
            p.add_argument("--name")
            p.add_argument("--description")
        else:
            p.add_argument("--tier", default="exact", choices=("exact", "tolerant"))
        if name == "replay":
            p.add_argument("traces", nargs="+")
        if name == "rerecord":
            p.add_argument("input")
            p.add_argument("out")
        if name == "minimize":
            p.add_argument("--reference", default=None)
            p.add_argument("trace")
            p.add_argument("out")
    a = ap.parse_args()
    a.impl = a.impl or paths.reference_command()
    return {"record": cmd_record, "replay": cmd_replay, "rerecord": cmd_rerecord,
            "minimize": cmd_minimize}[a.what](a)


if __name__ == "__main__":
    sys.exit(main())
