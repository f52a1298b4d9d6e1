#!/usr/bin/env python3
"""Sessions through the wire protocol (capability `sessions`, SPEC R-PROTO-070..077).

1. Aggregate decode speed: one `ggufref serve` process with GGUFREF_POOL_SIZE=2; per round, one
   session generates N tokens alone, then two sessions generate N tokens each at the same time
   (both generates written in one write). Tokens/s = tokens / wall time from the write to the
   last final event (the prompt is a few tokens: decode dominates). Rounds alternate the order
   of the two modes; the median and best are printed, and the ratio of the medians; also the
   server's CPU time per token in each mode (from /proc: what concurrency costs per token,
   whatever share of the cores the machine gives the process).
2. Saturation: GGUFREF_POOL_SIZE=S sessions, C > S logical clients, each doing R rounds of
   open-session (wait_ms W) -> configure-sampling -> generate M tokens -> close-session. The
   wait of an open is the time from writing it to its answer; printed: longest, median, the
   number of DEADLINE_EXCEEDED answers, and whether every client finished (no starvation).

    /usr/bin/python3 bench/serve_sessions.py --impl "build/release/ggufref serve" \\
        --model build/release/fixtures/stories15m-q8_0.gguf [--tokens 200] [--rounds 5]
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import time


class Proc:
    def __init__(self, impl, env):
        e = dict(os.environ)
        e.update(env)
        self.p = subprocess.Popen(shlex.split(impl), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, env=e)
        self.next_id = 1

    def send(self, cmd, **fields):
        rid = self.next_id
        self.next_id += 1
        msg = {"id": rid, "cmd": cmd}
        msg.update(fields)
        self.p.stdin.write((json.dumps(msg) + "\n").encode())
        self.p.stdin.flush()
        return rid

    def event(self):
        line = self.p.stdout.readline()
        if not line:
            raise SystemExit("the server ended early")
        return json.loads(line)

    def finals(self, rids):
        """Wait for the final events of rids; returns {rid: (event, perf_counter time)}."""
        want, out = set(rids), {}
        while want - set(out):
            ev = self.event()
            if ev.get("event") in ("result", "error") and ev.get("id") in want:
                out[ev["id"]] = (ev, time.perf_counter())
        return out

    def call(self, cmd, **fields):
        rid = self.send(cmd, **fields)
        ev = self.finals([rid])[rid][0]
        if ev["event"] != "result":
            raise SystemExit("%s failed: %s" % (cmd, json.dumps(ev)))
        return ev

    def cpu(self):
        """CPU seconds (user + system) the server has used so far (/proc, Linux)."""
        with open("/proc/%d/stat" % self.p.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self):
        self.p.stdin.close()
        self.p.wait()


def speed(impl, model, tokens, rounds):
    p = Proc(impl, {"GGUFREF_POOL_SIZE": "2"})
    p.call("boot")
    sids = [p.call("open-session", path=model)["session"] for _ in range(2)]
    for sid in sids:
        p.call("configure-sampling", session=sid, max_tokens=tokens, stop_at_eos=False)
    one, two = [], []
    cpu = {1: [0.0, 0], 2: [0.0, 0]}  # CPU seconds, tokens

    def run(n):
        c0 = p.cpu()
        t0 = time.perf_counter()
        rids = [p.send("generate", session=sid, prompt="Once upon a time") for sid in sids[:n]]
        got = p.finals(rids)
        for ev, _ in got.values():
            if ev["event"] != "result" or len(ev["tokens"]) != tokens:
                raise SystemExit("generate failed: %s" % json.dumps(ev)[:300])
        wall = max(t for _, t in got.values()) - t0
        cpu[n][0] += p.cpu() - c0
        cpu[n][1] += n * tokens
        return n * tokens / wall

    run(1)  # warm-up
    for r in range(rounds):
        order = (1, 2) if r % 2 == 0 else (2, 1)
        for n in order:
            (one if n == 1 else two).append(run(n))
    p.close()
    return one, two, {n: c / t * 1000 for n, (c, t) in cpu.items()}


def saturation(impl, model, size, clients, per_client, tokens, wait_ms):
    p = Proc(impl, {"GGUFREF_POOL_SIZE": str(size)})
    p.call("boot")
    sent = {}      # open rid -> (client, time written)
    stage = {}     # rid -> (client, what, session)
    rounds = [0] * clients
    waits, timeouts, order = [], 0, []

    def open_for(c):
        rid = p.send("open-session", path=model, wait_ms=wait_ms)
        sent[rid] = (c, time.perf_counter())
        order.append(c)

    for c in range(clients):
        open_for(c)
    while any(r < per_client for r in rounds):
        ev = p.event()
        rid = ev.get("id")
        if ev.get("event") == "token":
            continue
        if rid in sent:
            c, t0 = sent.pop(rid)
            waits.append(time.perf_counter() - t0)
            if ev["event"] == "error":
                timeouts += 1
                open_for(c)
                continue
            sid = ev["session"]
            p.send("configure-sampling", session=sid, max_tokens=tokens, stop_at_eos=False)
            g = p.send("generate", session=sid, prompt="Once")
            stage[g] = (c, "generate", sid)
        elif rid in stage:
            c, what, sid = stage.pop(rid)
            if what == "generate":
                stage[p.send("close-session", session=sid)] = (c, "close", sid)
            else:
                rounds[c] += 1
                if rounds[c] < per_client:
                    open_for(c)
    p.close()
    return waits, timeouts, rounds


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--impl", default="build/release/ggufref serve")
    ap.add_argument("--model", required=True)
    ap.add_argument("--tokens", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--pool", type=int, default=2)
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--per-client", type=int, default=4)
    ap.add_argument("--sat-tokens", type=int, default=50)
    ap.add_argument("--wait-ms", type=int, default=60000)
    a = ap.parse_args()
    one, two, ms = speed(a.impl, a.model, a.tokens, a.rounds)
    m1, m2 = statistics.median(one), statistics.median(two)
    print("model %s, %d tokens per request, %d rounds" % (os.path.basename(a.model), a.tokens,
                                                          a.rounds))
    print("1 session : %7.1f tok/s median [best %7.1f]" % (m1, max(one)))
    print("2 sessions: %7.1f tok/s aggregate median [best %7.1f]" % (m2, max(two)))
    print("ratio 2/1 : %.2fx" % (m2 / m1))
    print("server CPU per token: 1 session %.2f ms, 2 sessions %.2f ms (load average %s)" % (
        ms[1], ms[2], open("/proc/loadavg").read().split()[0]))
    waits, timeouts, rounds = saturation(a.impl, a.model, a.pool, a.clients, a.per_client,
                                         a.sat_tokens, a.wait_ms)
    print("saturation: pool %d, %d clients x %d rounds of %d tokens: %d opens, longest wait "
          "%.3f s, median %.3f s, %d DEADLINE_EXCEEDED, every client finished: %s" % (
              a.pool, a.clients, a.per_client, a.sat_tokens, len(waits), max(waits),
              statistics.median(waits), timeouts, all(r == a.per_client for r in rounds)))


if __name__ == "__main__":
    main()
