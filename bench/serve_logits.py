#!/usr/bin/env python3
"""Cost of the protocol's `logits` capability (R-PROTO-030) in `ggufref serve`.

One session per run: boot, load-model MODEL, configure-sampling (greedy, N tokens, no EOS stop),
then `generate` with "logits": K (and "logits_full" with --full), or without logits (--plain),
reading every event. Reported per run: wall time of the generate (first byte sent to its final
event), wall time of the whole session, the server's CPU time (user + system, from wait4: less
disturbed by other load than wall time) and its peak RSS (ru_maxrss, that process only). Runs are repeated and the median is printed; the machine is shared, so
compare figures taken in one sitting.

    /usr/bin/python3 bench/serve_logits.py --impl "build/release/ggufref serve" \\
        --model build/release/fixtures/stories15m-f32.gguf [--tokens 100] [--top 8] [--runs 5]
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import time


def session(impl, model, tokens, top, full, prompt):
    """One server process; returns (generate seconds, session seconds, peak RSS KiB,
    token events, CPU seconds)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(shlex.split(impl), stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def call(cmd):
        p.stdin.write((json.dumps(cmd) + "\n").encode())
        p.stdin.flush()
        events = []
        while True:
            line = p.stdout.readline()
            if not line:
                raise SystemExit("the server ended early (after %d events)" % len(events))
            ev = json.loads(line)
            events.append(ev)
            if ev.get("event") in ("result", "error"):
                if ev["event"] == "error":
                    raise SystemExit("%s failed: %s" % (cmd["cmd"], ev["error"]))
                return events

    call({"id": 1, "cmd": "boot"})
    call({"id": 2, "cmd": "load-model", "path": os.path.abspath(model)})
    call({"id": 3, "cmd": "configure-sampling", "max_tokens": tokens, "stop_at_eos": False})
    gen = {"id": 4, "cmd": "generate", "prompt": prompt}
    if top > 0:
        gen["logits"] = top
    if full:
        gen["logits_full"] = True
    g0 = time.perf_counter()
    events = call(gen)
    g1 = time.perf_counter()
    p.stdin.close()
    _, status, usage = os.wait4(p.pid, 0)
    t1 = time.perf_counter()
    if status != 0:
        raise SystemExit("the server exited with status %d" % status)
    n_tok = sum(1 for e in events if e.get("event") == "token")
    if top > 0 and not all("top" in e for e in events if e.get("event") == "token"):
        raise SystemExit("a token event lacks its logits")
    return g1 - g0, t1 - t0, usage.ru_maxrss, n_tok, usage.ru_utime + usage.ru_stime


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--impl", required=True, help="command that starts the server")
    ap.add_argument("--model", required=True)
    ap.add_argument("--tokens", type=int, default=100)
    ap.add_argument("--top", type=int, default=8, help="logits K (0 = no logits)")
    ap.add_argument("--full", action="store_true", help="also logits_full")
    ap.add_argument("--plain", action="store_true", help="no logits at all (the control)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--prompt", default="Once upon a time")
    a = ap.parse_args()
    top = 0 if a.plain else a.top
    rows = [session(a.impl, a.model, a.tokens, top, a.full and not a.plain, a.prompt)
            for _ in range(a.runs)]
    gen = statistics.median(r[0] for r in rows)
    tot = statistics.median(r[1] for r in rows)
    rss = statistics.median(r[2] for r in rows)
    cpu = statistics.median(r[4] for r in rows)
    what = "plain" if top == 0 else "logits %d%s" % (top, " + full" if a.full else "")
    print("%s: %d tokens (%s), %d runs: generate %.3f s (%.1f tok/s), session %.3f s, "
          "server CPU %.3f s, peak RSS %.1f MiB (model file %.1f MiB)" % (
              os.path.basename(a.model), rows[0][3], what, len(rows), gen, rows[0][3] / gen,
              tot, cpu, rss / 1024.0, os.path.getsize(a.model) / 1048576.0))


if __name__ == "__main__":
    main()
