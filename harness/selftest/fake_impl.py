#!/usr/bin/python3
"""A scripted stand-in for an implementation, for the trace self-tests (test_trace_rules.py):
it speaks just enough of the wire protocol to replay small hand-made traces, and misbehaves in
one chosen way so that a test can watch the replayer report it.

    fake_impl.py [--caps step,cancel,logits] [--at-eof ok|extra|exit3]

boot        result with the given capabilities
load-model  READY if `path` is an absolute path to a file, else IO_ERROR (3): a replayer that
            forgets to resolve a trace's relative model path fails; a path ending in `.bad`
            is rejected with UNSUPPORTED_MODEL (18)
generate    two token events (ids 5, 6, piece "61"), then a result; with `logits` K it adds
            `top` and `digest` when it has the `logits` capability, and answers
            INVALID_ARGUMENT (1) when it has not (a token-only replay must not ask)
evaluate    (capability `evaluate`) a result with one position per token: position p has
            top [[5 + p, 1.0], [0, 0.5]] (as generate's token p), digest
other       a result with state READY
at EOF      ok: exit 0; extra: write one more event first; exit3: exit with status 3
"""
import argparse
import json
import os
import sys


def emit(obj):
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def error(rid, code, name, message):
    emit({"id": rid, "event": "error", "error": {"code": code, "name": name,
                                                 "message": message}})


def handle(msg, caps):
    rid, cmd = msg.get("id"), msg.get("cmd")
    if cmd == "boot":
        emit({"id": rid, "event": "result", "name": "fake", "version": "0", "protocol": 1,
              "capabilities": caps, "limits": {"max_line": 1 << 20, "max_top": 32},
              "state": "INITIALIZED"})
    elif cmd == "load-model":
        path = msg.get("path")
        if isinstance(path, str) and path.endswith(".bad"):
            error(rid, 18, "UNSUPPORTED_MODEL", "not a model")
        elif isinstance(path, str) and os.path.isabs(path) and os.path.isfile(path):
            emit({"id": rid, "event": "result", "state": "READY"})
        else:
            error(rid, 3, "IO_ERROR", "cannot open %r from %s" % (path, os.getcwd()))
    elif cmd == "generate":
        k = msg.get("logits", 0)
        if k and "logits" not in caps:
            error(rid, 1, "INVALID_ARGUMENT", "logits asked of an implementation without it")
            return
        for i, tok in enumerate((5, 6)):
            ev = {"id": rid, "event": "token", "index": i, "token": tok, "piece": "61"}
            if k:
                ev["top"] = [[tok, "3f800000"], [0, "3f000000"]][:k]
                ev["digest"] = "%016x" % (tok * 7919)
            emit(ev)
        emit({"id": rid, "event": "result", "state": "CONTINUATION_READY", "tokens": [5, 6],
              "text_hex": "6161", "text": "aa"})
    elif cmd == "evaluate" and "evaluate" in caps:
        k = msg.get("logits", 0)
        pos = []
        for p, tok in enumerate(msg.get("tokens") or []):
            e = {"index": p, "token": tok, "digest": "%016x" % ((5 + p) * 7919)}
            if k:
                e["top"] = [[5 + p, "3f800000"], [0, "3f000000"]][:k]
            pos.append(e)
        emit({"id": rid, "event": "result", "state": "READY", "n_tokens": len(pos),
              "positions": pos})
    else:
        emit({"id": rid, "event": "result", "state": "READY"})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--caps", default="")
    ap.add_argument("--at-eof", default="ok", choices=("ok", "extra", "exit3"))
    a = ap.parse_args()
    caps = [c for c in a.caps.split(",") if c]
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            msg = json.loads(line)
        except ValueError:
            msg = None
        if not isinstance(msg, dict) or "id" not in msg:
            error(None, 1, "INVALID_ARGUMENT", "not a command")
            continue
        handle(msg, caps)
    if a.at_eof == "extra":
        emit({"id": None, "event": "error",
              "error": {"code": 1, "name": "INVALID_ARGUMENT", "message": "unasked"}})
    return 3 if a.at_eof == "exit3" else 0


if __name__ == "__main__":
    sys.exit(main())
