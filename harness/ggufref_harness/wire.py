"""Speak the wire protocol (SPEC chapter 9) with an implementation started as a subprocess.

    with Server(command) as s:
        boot = s.request("boot").expect_ok()
        s.request("load-model", path=model).expect_ok()
        r = s.request("generate", prompt="Hi")     # r.tokens: the streamed token events

The client checks the framing rules as it reads (R-PROTO-001, -003): every line it reads must be
one JSON object with an `event` and an `id`; anything else raises WireViolation, an
AssertionError naming the requirement, so a test reports it as a failure of that requirement.
"""
import json
import os
import select
import shlex
import subprocess
import tempfile
import time

DEFAULT_TIMEOUT = float(os.environ.get("GGUFREF_HARNESS_TIMEOUT", "20"))
FRAMING_TIMEOUT = float(os.environ.get("GGUFREF_HARNESS_FRAMING_TIMEOUT", "3"))
TRANSCRIPT_LINES = 40


class WireViolation(AssertionError):
    """The implementation broke a framing rule of the protocol, or died, or went silent."""


class Reply:
    """Every event answering one command: zero or more `token` events, then the final event."""

    def __init__(self, rid, events, transcript):
        self.id = rid
        self.events = events
        self.final = events[-1]
        self.tokens = [e for e in events if e.get("event") == "token"]
        self._transcript = transcript

    @property
    def ok(self):
        return self.final.get("event") == "result"

    @property
    def error(self):
        """The {code, name, message} object of an error reply, else None."""
        return self.final.get("error") if self.final.get("event") == "error" else None

    @property
    def code(self):
        """0 for a result, the status number for an error."""
        return 0 if self.ok else (self.error or {}).get("code")

    def describe(self):
        return "reply to %r: %s\n--- transcript (last lines) ---\n%s" % (
            self.id, json.dumps(self.final), self._transcript())

    def expect_ok(self):
        """The result event; AssertionError with the transcript if the command failed."""
        assert self.ok, "expected a result, got an error: " + self.describe()
        return self.final

    def expect_error(self, code):
        """The error object; AssertionError unless the reply is an error with this status."""
        from .spec import STATUS
        err = self.error
        assert err is not None, "expected error %d %s, got a result: %s" % (
            code, STATUS.get(code), self.describe())
        assert err.get("code") == code, "expected error %d %s, got %r: %s" % (
            code, STATUS.get(code), err.get("code"), self.describe())
        return err


class Server:
    """One running implementation. `command` is a shell-style string (split with shlex)."""

    def __init__(self, command, cwd=None, env=None, timeout=DEFAULT_TIMEOUT):
        self.command = command
        self.timeout = timeout
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(shlex.split(command), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._stderr, cwd=cwd,
                                     env=env)
        self._buf = b""
        self._pending = []     # events read but not yet claimed by a reader
        self._next_id = 1
        self._transcript = []  # ("->" | "<-", text)
        self.closed = False
        self.killed = False    # close() had to kill it
        self.exit_grace = 5.0  # seconds close() waits for an exit

    # ---- lifecycle ----------------------------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Close stdin and wait for a clean exit (R-PROTO-002); kill after a grace period.
        Returns the exit status."""
        if self.closed:
            return self.proc.returncode
        self.closed = True
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=self.exit_grace)
        except subprocess.TimeoutExpired:
            self.killed = True
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        return self.proc.returncode

    def stderr_tail(self, limit=2000):
        self._stderr.seek(0)
        data = self._stderr.read()
        return data[-limit:].decode("utf-8", "replace")

    def transcript(self):
        lines = ["%s %s" % (d, t if len(t) < 400 else t[:400] + "...")
                 for d, t in self._transcript[-TRANSCRIPT_LINES:]]
        tail = self.stderr_tail(600).strip()
        if tail:
            lines.append("--- stderr tail ---\n" + tail)
        return "\n".join(lines)

    # ---- sending ------------------------------------------------------------------------
    def new_id(self):
        rid = self._next_id
        self._next_id += 1
        return rid

    def send_raw(self, data):
        """Write bytes as they are (a newline is appended if missing)."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        if not data.endswith(b"\n"):
            data += b"\n"
        shown = data[:-1].decode("utf-8", "replace")
        self._transcript.append(("->", shown))
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise WireViolation("R-PROTO-002: the implementation closed its input (%s); "
                                "exit status %r\n%s" % (e, self.proc.poll(), self.transcript()))

    def send(self, cmd, rid=None, **fields):
        """Send one command; returns its id."""
        if rid is None:
            rid = self.new_id()
        msg = {"id": rid, "cmd": cmd}
        msg.update(fields)
        self.send_raw(json.dumps(msg, separators=(",", ":")))
        return rid

    def send_obj(self, obj):
        """Send a command object exactly as given (traces use this)."""
        self.send_raw(json.dumps(obj, separators=(",", ":")))

    # ---- reading ------------------------------------------------------------------------
    def _read_line(self, timeout):
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WireViolation("R-PROTO-003: no event within %.1f s\n%s" % (
                    timeout, self.transcript()))
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                status = self.proc.poll()
                if status is None:
                    try:
                        status = self.proc.wait(timeout=2)
                    except subprocess.TimeoutExpired:
                        pass
                raise WireViolation("R-PROTO-002: the implementation closed its output "
                                    "(exit status %r)\n%s" % (status, self.transcript()))
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line

    def read_event(self, timeout=None):
        """The next event line, parsed and checked for framing (R-PROTO-001, R-PROTO-003)."""
        line = self._read_line(self.timeout if timeout is None else timeout)
        text = line.decode("utf-8", "replace")
        self._transcript.append(("<-", text))
        try:
            ev = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise WireViolation("R-PROTO-001: an output line is not JSON (%s): %r\n%s" % (
                e, text[:200], self.transcript()))
        if not isinstance(ev, dict) or "event" not in ev or "id" not in ev:
            raise WireViolation("R-PROTO-003: an event must be an object with `id` and "
                                "`event`: %r\n%s" % (text[:200], self.transcript()))
        if ev["event"] not in ("token", "result", "error"):
            raise WireViolation("R-PROTO-003: unknown event kind %r\n%s" % (
                ev["event"], self.transcript()))
        if ev["event"] == "error":
            _check_error_shape(ev, self.transcript)
        return ev

    def next_event(self, rid=None, timeout=None):
        """The next event (of request rid, if given), taking earlier unclaimed events first."""
        for i, ev in enumerate(self._pending):
            if rid is None or ev.get("id") == rid:
                return self._pending.pop(i)
        while True:
            ev = self.read_event(timeout)
            if rid is None or ev.get("id") == rid:
                return ev
            self._pending.append(ev)

    def wait(self, rid, timeout=None):
        """Every event of request rid up to its final one, as a Reply."""
        events = []
        while True:
            ev = self.next_event(rid, timeout)
            events.append(ev)
            if ev["event"] in ("result", "error"):
                return Reply(rid, events, self.transcript)

    def request(self, cmd, **fields):
        """Send a command and wait for its final event."""
        return self.wait(self.send(cmd, **fields))

    def raw_request(self, data, timeout=None):
        """Send a raw line that the server cannot attribute to a request; return the one event
        it answers with (R-PROTO-005: an error with id null). Framing errors need no model
        work, so the wait is short (FRAMING_TIMEOUT) unless given."""
        self.send_raw(data)
        ev = self.next_event(None, FRAMING_TIMEOUT if timeout is None else timeout)
        return Reply(ev.get("id"), [ev], self.transcript)

    def unclaimed(self):
        return list(self._pending)


def _check_error_shape(ev, transcript):
    """R-PROTO-004: {code, name, message}, code and name from the status table."""
    from .spec import STATUS
    err = ev.get("error")
    ok = (isinstance(err, dict) and isinstance(err.get("code"), int)
          and isinstance(err.get("name"), str) and isinstance(err.get("message"), str))
    if not ok:
        raise WireViolation("R-PROTO-004: an error event needs error {code, name, message}: "
                            "%r\n%s" % (ev, transcript()))
    if STATUS.get(err["code"]) != err["name"]:
        raise WireViolation("R-STATUS-001: status %r is named %r, the table says %r\n%s" % (
            err["code"], err["name"], STATUS.get(err["code"]), transcript()))
