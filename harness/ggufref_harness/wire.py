"""Speak the wire protocol (SPEC chapter 9) with an implementation started as a subprocess.

    with Server(command) as s:
        boot = s.request("boot").expect_ok()
        s.request("load-model", path=model).expect_ok()
        r = s.request("generate", prompt="Hi")     # r.tokens: the streamed token events

The client checks the framing rules as it reads (R-PROTO-001, -003): every line it reads must be
one JSON object with an `event` and an `id`; anything else raises WireViolation, an
AssertionError naming the requirement, so a test reports it as a failure of that requirement.

It reads as SPEC R-LEVEL-030..033 say, so that no implementation can hang it, kill it or slip a
value past it: events parsed strictly (RFC 8259: no NaN or Infinity, no duplicate member names,
at most MAX_DEPTH levels deep, lines of at most MAX_EVENT_LINE bytes); every wait has a
deadline (per event, per command, per write); an event for an id nobody sent, or a command
answered by more than MAX_EVENTS events, is an R-PROTO-003 failure; standard error is drained
continuously by a thread that keeps its last STDERR_TAIL bytes for the report.
"""
import collections
import json
import os
import select
import shlex
import subprocess
import threading
import time

DEFAULT_TIMEOUT = float(os.environ.get("GGUFREF_HARNESS_TIMEOUT", "20"))
FRAMING_TIMEOUT = float(os.environ.get("GGUFREF_HARNESS_FRAMING_TIMEOUT", "3"))
# R-LEVEL-031: the longest a single command may take, all its events together.
COMMAND_TIMEOUT = float(os.environ.get("GGUFREF_HARNESS_COMMAND_TIMEOUT", "300"))
TRANSCRIPT_LINES = 40
MAX_EVENT_LINE = 64 << 20   # R-LEVEL-030: bytes of one event line
MAX_DEPTH = 64              # R-LEVEL-030: nesting of one event
MAX_EVENTS = 20000          # R-LEVEL-031: events answering one command
MAX_PENDING = 10000         # R-LEVEL-031: events read ahead and not yet claimed
STDERR_TAIL = 64 << 10      # R-LEVEL-033: bytes of standard error kept


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
        self.proc = subprocess.Popen(shlex.split(command), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
                                     env=env)
        # R-LEVEL-033: stderr drained as it comes, its tail kept
        self._stderr_tail = collections.deque()
        self._stderr_kept = 0
        self.stderr_bytes = 0
        self._stderr_thread = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr_thread.start()
        self._sent_ids = set()  # value keys of every id sent (R-PROTO-003: no other ids)
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
        self._stderr_thread.join(timeout=2)
        return self.proc.returncode

    def kill(self):
        """End the process now (a test that found it hung or runaway)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.killed = True
        return self.close()

    def _drain_stderr(self):
        fd = self.proc.stderr.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            self.stderr_bytes += len(chunk)
            self._stderr_tail.append(chunk)
            self._stderr_kept += len(chunk)
            while self._stderr_kept - len(self._stderr_tail[0]) >= STDERR_TAIL:
                self._stderr_kept -= len(self._stderr_tail.popleft())
        try:
            self.proc.stderr.close()
        except OSError:
            pass

    def stderr_tail(self, limit=2000):
        data = b"".join(list(self._stderr_tail))
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

    def send_raw(self, data, newline=True):
        """Write bytes as they are (a newline is appended if missing, unless newline=False)."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        if newline and not data.endswith(b"\n"):
            data += b"\n"
        shown = (data[:-1] if data.endswith(b"\n") else data).decode("utf-8", "replace")
        self._transcript.append(("->", shown))
        self._register_ids(data)
        try:
            self.proc.stdin.flush()
            self._write_all(data)
        except (BrokenPipeError, OSError) as e:
            raise WireViolation("R-PROTO-002: the implementation closed its input (%s); "
                                "exit status %r\n%s" % (e, self.proc.poll(), self.transcript()))

    def _write_all(self, data):
        """Write within a deadline (R-LEVEL-031): an implementation that stops reading its
        input fails, it does not block the suite."""
        fd = self.proc.stdin.fileno()
        os.set_blocking(fd, False)
        deadline = time.monotonic() + self.timeout
        view = memoryview(data)
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WireViolation("R-PROTO-002: the implementation stopped reading its "
                                    "input (%d bytes not taken within %.1f s)\n%s" % (
                                        len(view), self.timeout, self.transcript()))
            _, ready, _ = select.select([], [fd], [], min(left, 1.0))
            if not ready:
                continue
            try:
                n = os.write(fd, view)
            except BlockingIOError:
                continue
            view = view[n:]

    def _register_ids(self, data):
        for line in data.split(b"\n"):
            if b'"id"' not in line:
                continue
            try:
                obj = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if isinstance(obj, dict) and "id" in obj:
                key = id_key(obj["id"])
                if key is not None:
                    self._sent_ids.add(key)

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
            chunk = os.read(fd, 1 << 20)
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
            if len(self._buf) > MAX_EVENT_LINE and b"\n" not in self._buf:
                raise WireViolation("R-PROTO-001: an output line longer than %d bytes\n%s" % (
                    MAX_EVENT_LINE, self.transcript()))
        line, self._buf = self._buf.split(b"\n", 1)
        return line

    def read_event(self, timeout=None):
        """The next event line, parsed and checked for framing (R-PROTO-001, R-PROTO-003)."""
        line = self._read_line(self.timeout if timeout is None else timeout)
        text = line.decode("utf-8", "replace")
        if text.endswith("\r"):
            text = text[:-1]
        self._transcript.append(("<-", text))
        try:
            ev = parse_event(line)
        except ValueError as e:
            raise WireViolation("R-PROTO-001: an output line is not one strict JSON value "
                                "(%s): %r\n%s" % (e, text[:200], self.transcript()))
        if not isinstance(ev, dict) or "event" not in ev or "id" not in ev:
            raise WireViolation("R-PROTO-003: an event must be an object with `id` and "
                                "`event`: %r\n%s" % (text[:200], self.transcript()))
        if not isinstance(ev["event"], str) or ev["event"] not in ("token", "result", "error"):
            raise WireViolation("R-PROTO-003: unknown event kind %r\n%s" % (
                ev["event"], self.transcript()))
        key = id_key(ev["id"])
        if ev["id"] is not None and key not in self._sent_ids:
            raise WireViolation("R-PROTO-003: an event for id %s, which no command carried "
                                "(no event is written except in answer to a command)\n%s" % (
                                    json.dumps(ev["id"])[:80], self.transcript()))
        if ev["event"] == "error":
            _check_error_shape(ev, self.transcript)
        return ev

    def next_event(self, rid=None, timeout=None):
        """The next event (of request rid, if given), taking earlier unclaimed events first."""
        want = id_key(rid) if rid is not None else None
        for i, ev in enumerate(self._pending):
            if rid is None or id_key(ev.get("id")) == want:
                return self._pending.pop(i)
        while True:
            ev = self.read_event(timeout)
            if rid is None or id_key(ev.get("id")) == want:
                return ev
            self._pending.append(ev)
            if len(self._pending) > MAX_PENDING:
                raise WireViolation("R-PROTO-003: %d events of other requests arrived while "
                                    "waiting for %s\n%s" % (len(self._pending),
                                                            json.dumps(rid), self.transcript()))

    def wait(self, rid, timeout=None, command_timeout=None):
        """Every event of request rid up to its final one, as a Reply. Each event must come
        within `timeout`, the whole reply within `command_timeout` and MAX_EVENTS events
        (R-LEVEL-031): a runaway stream is an R-PROTO-003 failure, not a hang."""
        events = []
        deadline = time.monotonic() + (COMMAND_TIMEOUT if command_timeout is None
                                       else command_timeout)
        while True:
            ev = self.next_event(rid, timeout)
            events.append(ev)
            if ev["event"] in ("result", "error"):
                return Reply(rid, events, self.transcript)
            if len(events) > MAX_EVENTS or time.monotonic() > deadline:
                raise WireViolation("R-PROTO-003: request %s is answered by an endless stream "
                                    "(%d events in %.0f s and no final event)\n%s" % (
                                        json.dumps(rid), len(events),
                                        time.monotonic() - deadline + (
                                            COMMAND_TIMEOUT if command_timeout is None
                                            else command_timeout), self.transcript()))

    def request(self, cmd, **fields):
        """Send a command and wait for its final event."""
        return self.wait(self.send(cmd, **fields))

    def raw_request(self, data, timeout=None):
        """Send a raw line that the server cannot attribute to a request; return the one event
        it answers with (R-PROTO-005: an error with id null). Framing errors need no model
        work, so the wait is short (FRAMING_TIMEOUT) unless given."""
        self.send_raw(data)
        wait = FRAMING_TIMEOUT if timeout is None else timeout
        try:
            ev = self.next_event(None, wait)
        except WireViolation as e:
            if str(e).startswith("R-PROTO-003: no event within"):
                raise WireViolation("R-PROTO-005: no answer within %.1f s to a line that "
                                    "names no request\n%s" % (wait, self.transcript()))
            raise
        return Reply(ev.get("id"), [ev], self.transcript)

    def unclaimed(self):
        return list(self._pending)


# R-LEVEL-050: a started process kept ready per command (nothing sent to it yet), so a test that
# needs a fresh process does not wait for the implementation's start-up (llama.cpp's backend:
# about 1-3 s). GGUFREF_HARNESS_PRESTART=0 turns it off.
PRESTART = os.environ.get("GGUFREF_HARNESS_PRESTART", "1") != "0"
_SPARES = {}


def spawn(command, timeout=DEFAULT_TIMEOUT):
    """A fresh implementation process (nothing sent to it yet): the spare started for this
    command when there is one still running, else a new one; then a new spare is started."""
    s = _SPARES.pop(command, None)
    if s is not None and s.proc.poll() is not None:
        s.close()
        s = None
    if s is None:
        s = Server(command, timeout=timeout)
    s.timeout = timeout
    if PRESTART:
        try:
            _SPARES[command] = Server(command, timeout=timeout)
        except OSError:
            pass
    return s


def close_spares():
    """End the spare processes (their input closed; their exit status is not judged: they
    were never used)."""
    while _SPARES:
        _, s = _SPARES.popitem()
        s.exit_grace = 2.0
        s.close()


def _no_constant(name):
    raise ValueError("%s is not JSON (RFC 8259)" % name)


def _no_duplicates(pairs):
    obj = {}
    for k, v in pairs:
        if k in obj:
            raise ValueError("duplicate member name %r" % k)
        obj[k] = v
    return obj


def _depth(value):
    """Nesting depth of a parsed JSON value, without recursion."""
    best = 0
    stack = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            v = list(v.values())
        if isinstance(v, list):
            best = max(best, d)
            if d > MAX_DEPTH:
                return d
            stack.extend((x, d + 1) for x in v if isinstance(x, (list, dict)))
    return best


def parse_event(line):
    """One event line parsed as R-LEVEL-030 says (RFC 8259 strictly: UTF-8, no NaN or
    Infinity, no control characters in strings, no duplicate member names, at most MAX_DEPTH
    levels). ValueError with the reason otherwise, never another exception."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError("not UTF-8: %s" % e)
    if line.endswith("\r"):
        line = line[:-1]
    try:
        value = json.loads(line, parse_constant=_no_constant, object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise ValueError("nested deeper than this reader goes (more than %d levels)" %
                         MAX_DEPTH)
    except ValueError:
        raise
    except Exception as e:  # anything else json may raise on hostile input
        raise ValueError("%s: %s" % (type(e).__name__, e))
    if _depth(value) > MAX_DEPTH:
        raise ValueError("nested more than %d levels deep" % MAX_DEPTH)
    return value


def id_key(rid):
    """A hashable key under which equal ids (R-PROTO-006: 7, 7.0 and 7e0) are one; a string
    never equals a number. None for values that are not ids."""
    if isinstance(rid, bool):
        return None
    if isinstance(rid, str):
        return ("s", rid)
    if isinstance(rid, int):
        return ("n", rid)
    if isinstance(rid, float):
        if rid != rid or rid in (float("inf"), float("-inf")):
            return None
        return ("n", int(rid)) if rid.is_integer() else ("n", rid)
    if rid is None:
        return ("null",)
    return None


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
