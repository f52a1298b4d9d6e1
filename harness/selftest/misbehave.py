#!/usr/bin/python3
"""Misbehaving implementations for the harness self-test (test_misbehaving.py): a proxy in
front of a real implementation (normally the reference) that changes one thing, as a hostile or
buggy runtime would (SPEC issue 16, "the harness against a hostile implementation").

    misbehave.py MODE -- COMMAND...      # COMMAND starts the implementation behind the proxy

Modes that lie about the output (the suite must FAIL them):
  zz            appends " zz" to every prompt and drops `logits` from boot's capabilities
  seed          samples with another seed (seed + 1) and reports the seed it was given
  nan           every result event carries an extra member `"score": NaN` (not JSON)
Modes that try to hang or kill the suite (it must FAIL them, naming the rule, and finish):
  endless       answers `generate` with token events that never end
  unknown-ids   answers `generate` with events for an id nobody sent, without end
  deep          answers `boot` with a member nested 100,000 levels deep
  caps-int      answers `boot` with `"capabilities": 7`
  levels-int    answers `boot` with `"levels": 7`
  mute-input    stops reading its input after `boot` (a writer to it would block forever)
Conforming modes (the suite must PASS them):
  core-only     claims the level `core` only (boot's `levels`): the other levels' tests are
                "not claimed", never passed
  stderr-spam   writes 64 KiB to standard error for every line it forwards (logs are allowed
                on stderr, R-PROTO-001)

Input is forwarded a read at a time (all complete lines of one read in one write), so a
`cancel` written with its `generate` still reaches the implementation in the same write.
"""
import json
import os
import subprocess
import sys
import threading


def emit(out, obj_or_text):
    text = obj_or_text if isinstance(obj_or_text, str) else json.dumps(
        obj_or_text, separators=(",", ":"))
    out.write(text.encode("utf-8") + b"\n")
    out.flush()


class Proxy:
    def __init__(self, mode, argv):
        self.mode = mode
        self.child = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.out = sys.stdout.buffer
        self.lock = threading.Lock()
        self.seeds = []  # seed as given, for each configure-sampling sent on (mode seed)

    # ---- client -> implementation --------------------------------------------------------
    def command(self, line):
        """The line to forward (bytes), or None when the proxy answers it itself."""
        try:
            msg = json.loads(line)
        except ValueError:
            return line
        if not isinstance(msg, dict):
            return line
        cmd = msg.get("cmd")
        if self.mode == "zz" and cmd == "generate" and isinstance(msg.get("prompt"), str):
            msg["prompt"] += " zz"
            return json.dumps(msg).encode()
        if self.mode == "seed" and cmd == "configure-sampling":
            seed = msg.get("seed", 0)
            if isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed < 2 ** 53:
                self.seeds.append(seed)
                msg["seed"] = seed + 1
                return json.dumps(msg).encode()
            self.seeds.append(None)
            return line
        if self.mode in ("endless", "unknown-ids") and cmd == "generate":
            threading.Thread(target=self.flood, args=(msg.get("id"),), daemon=True).start()
            return None
        if self.mode == "deep" and cmd == "boot":
            with self.lock:
                emit(self.out, '{"id":%s,"event":"result","state":"INITIALIZED","x":%s%s}' % (
                    json.dumps(msg.get("id")), "[" * 100000, "]" * 100000))
            return None
        return line

    def flood(self, rid):
        i = 0
        try:
            while True:
                with self.lock:
                    if self.mode == "endless":
                        emit(self.out, {"id": rid, "event": "token", "index": i, "token": 5,
                                        "piece": "61"})
                    else:
                        emit(self.out, {"id": "nobody-sent-this", "event": "token",
                                        "index": i, "token": 5, "piece": "61"})
                i += 1
        except (BrokenPipeError, OSError, ValueError):
            os._exit(0)

    # ---- implementation -> client --------------------------------------------------------
    def event(self, line):
        try:
            ev = json.loads(line)
        except ValueError:
            return line
        if not isinstance(ev, dict):
            return line
        caps = ev.get("capabilities")
        if self.mode == "zz" and isinstance(caps, list):
            ev["capabilities"] = [c for c in caps if c != "logits"]
            return json.dumps(ev).encode()
        if self.mode == "caps-int" and isinstance(caps, list):
            ev["capabilities"] = 7
            return json.dumps(ev).encode()
        if self.mode in ("core-only", "levels-int") and isinstance(ev.get("levels"), list):
            ev["levels"] = ["core"] if self.mode == "core-only" else 7
            return json.dumps(ev).encode()
        if self.mode == "seed" and isinstance(ev.get("sampling"), dict):
            seed = ev["sampling"].get("seed")
            if isinstance(seed, int) and seed >= 1:
                ev["sampling"]["seed"] = seed - 1  # hide the change
            return json.dumps(ev).encode()
        if self.mode == "nan" and ev.get("event") == "result":
            return line.rstrip(b"}") + b',"score":NaN}'
        return line

    def pump_out(self):
        for line in self.child.stdout:
            line = line.rstrip(b"\n")
            fixed = self.event(line)
            with self.lock:
                self.out.write(fixed + b"\n")
                self.out.flush()
        with self.lock:
            self.out.flush()

    def run(self):
        t = threading.Thread(target=self.pump_out, daemon=True)
        t.start()
        fd = sys.stdin.fileno()
        buf = b""
        booted = False
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            buf += chunk
            *lines, buf = buf.split(b"\n")
            data = b""
            for ln in lines:
                if self.mode == "stderr-spam":
                    sys.stderr.buffer.write(b"log " * (16 << 10))
                    sys.stderr.buffer.flush()
                fwd = self.command(ln)
                if fwd is not None:
                    data += fwd + b"\n"
                if b'"boot"' in ln:
                    booted = True
            if data:
                self.child.stdin.write(data)
                self.child.stdin.flush()
            if self.mode == "mute-input" and booted:
                threading.Event().wait(3600)  # never reads again
        if buf:
            fwd = self.command(buf)
            if fwd is not None:
                self.child.stdin.write(fwd)
        self.child.stdin.close()
        status = self.child.wait()
        t.join()
        return status


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.stderr.write(__doc__)
        return 2
    return Proxy(sys.argv[1], sys.argv[3:]).run()


if __name__ == "__main__":
    sys.exit(main())
