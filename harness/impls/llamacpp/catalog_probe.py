#!/usr/bin/env python3
"""What llama.cpp does with each file of the malformed catalog (<build>/catalog/index.json,
SPEC R-GGUF-050): `load-model` through the adapter with a per-file timeout; one adapter process,
restarted after a crash or a hang. Verdict per file:

  accept   a result (the model loaded)
  reject   an error event (any code), the process still answers a `diagnostics` afterwards
  crash    the process died (exit status / signal and the last stderr line are recorded)
  hang     no answer within the timeout (the process is killed)

    /usr/bin/python3 harness/impls/llamacpp/catalog_probe.py [--catalog DIR] [--timeout 10]
        [--impl "node harness/impls/llamacpp/adapter.mjs"] [--tsv OUT.tsv]

Prints a summary (counts per verdict, and where llama.cpp's verdict differs from the reference's
`verdict`), writes one TSV row per file with --tsv.
"""
import argparse
import json
import os
import select
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "harness"))
from ggufref_harness import paths  # noqa: E402


class Proc:
    def __init__(self, command):
        self.p = subprocess.Popen(shlex.split(command), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
        self.buf = b""
        self.err = b""
        self.n = 0

    def request(self, cmd, timeout, **fields):
        """The final event, or ("crash", detail) / ("hang", None)."""
        self.n += 1
        try:
            self.p.stdin.write((json.dumps(dict(id=self.n, cmd=cmd, **fields)) + "\n").encode())
            self.p.stdin.flush()
        except BrokenPipeError:
            return self.died()
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                ev = json.loads(line)
                if ev.get("id") == self.n and ev.get("event") in ("result", "error"):
                    return ev
            left = deadline - time.monotonic()
            if left <= 0:
                return ("hang", None)
            r, _, _ = select.select([self.p.stdout, self.p.stderr], [], [], left)
            for f in r:
                chunk = os.read(f.fileno(), 1 << 20)
                if f is self.p.stderr:
                    self.err = (self.err + chunk)[-4000:]
                elif not chunk:
                    return self.died()
                else:
                    self.buf += chunk

    def died(self):
        try:
            rc = self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            rc = None
        try:
            self.err += self.p.stderr.read() or b""
        except (OSError, ValueError):
            pass
        lines = [l for l in self.err.decode("utf-8", "replace").splitlines() if l.strip()]
        return ("crash", "exit %s; stderr: %s" % (rc, lines[-1][:200] if lines else ""))

    def kill(self):
        try:
            self.p.kill()
            self.p.wait(timeout=5)
        except Exception:  # noqa: BLE001
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--catalog", default=os.path.join(paths.build_dir(), "catalog"))
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--impl", default="node %s" % os.path.join(HERE, "adapter.mjs"))
    ap.add_argument("--tsv", default=None)
    ap.add_argument("--only", nargs="*", default=None)
    args = ap.parse_args()
    with open(os.path.join(args.catalog, "index.json"), encoding="utf-8") as f:
        index = json.load(f)
    entries = [e for e in index["entries"] if not args.only or e["name"] in args.only]
    proc = None
    rows = []
    for e in entries:
        if proc is None:
            proc = Proc(args.impl)
            ev = proc.request("boot", 60)
            assert isinstance(ev, dict) and ev.get("event") == "result", ev
        path = os.path.join(args.catalog, e["file"])
        t0 = time.monotonic()
        ev = proc.request("load-model", args.timeout, path=path)
        dt = time.monotonic() - t0
        if isinstance(ev, tuple):
            verdict, detail = ev
            if verdict == "hang":
                detail = "no answer in %.0f s" % args.timeout
            proc.kill()
            proc = None
        elif ev["event"] == "result":
            verdict, detail = "accept", "state %s" % ev.get("state")
            proc.request("free-model", args.timeout)
        else:
            verdict = "reject"
            detail = "%s %s" % (ev["error"]["name"], ev["error"]["message"][:200])
            ping = proc.request("diagnostics", args.timeout)
            if isinstance(ping, tuple):
                verdict, detail = ping[0], "after its rejection: " + (ping[1] or "no answer")
                proc.kill()
                proc = None
        rows.append(dict(name=e["name"], file=e["file"], cls=e["class"], cve=e["cve"] or "",
                         ref=e["verdict"], ref_status=e["status_name"], lcpp=verdict,
                         seconds=round(dt, 3), detail=" ".join(detail.split())))
        print("%-8s %-6s %6.2fs %s: %s" % (verdict, e["verdict"], dt, e["name"], rows[-1]["detail"][:150]),
              file=sys.stderr)
    if proc:
        proc.kill()
    counts = {}
    for r in rows:
        counts[r["lcpp"]] = counts.get(r["lcpp"], 0) + 1
    print("llama.cpp on %d catalog files: %s" % (len(rows), ", ".join(
        "%s %d" % kv for kv in sorted(counts.items()))))
    for r in rows:
        if r["lcpp"] != r["ref"]:
            print("  %-7s (reference: %s %s) %s [%s%s]: %s" % (
                r["lcpp"], r["ref"], r["ref_status"], r["name"], r["cls"],
                ", " + r["cve"] if r["cve"] else "", r["detail"][:160]))
    if args.tsv:
        with open(args.tsv, "w", encoding="utf-8") as f:
            cols = ["name", "file", "cls", "cve", "ref", "ref_status", "lcpp", "seconds", "detail"]
            f.write("\t".join(cols) + "\n")
            for r in rows:
                f.write("\t".join(str(r[c]).replace("\t", " ") for c in cols) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
