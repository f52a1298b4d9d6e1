"""The runtime transition table, conformance/transitions.tsv (SPEC chapter 7, R-RT-002), and how
the wire protocol reaches each of its states and conditions.

The table is the one oracle of the C suites and of this harness: a row is
(state, operation, condition) -> (status, next state). `outcome()` looks a case up; `Driver`
puts a fresh implementation into a state through protocol commands and performs an operation
under a condition.
"""
import collections
import os

from . import fixtures, spec
from .paths import TRANSITIONS

Row = collections.namedtuple("Row", "state op cond status next")

STATES = ("UNINITIALIZED", "INITIALIZED", "READY", "CONTINUATION_READY", "RECOVERABLE_ERROR",
          "FREED", "POISONED")

# Table operation -> protocol command. last_error and result have no command of their own
# (diagnostics reports both), so the harness does not drive them; the C suites do.
OP_COMMAND = {
    "init": "boot",
    "load_model": "load-model",
    "configure_sampling": "configure-sampling",
    "generate": "generate",
    "generate_next_token": "generate-next-token",
    "reset_context": "reset-context",
    "free_model": "free-model",
    "diagnostics": "diagnostics",
    "cancel": "cancel",
}

# Statuses that are not a "rejection" (R-RT-006: REJECTED names the rejection).
NOT_REJECTED = {"OK", "OUT_OF_MEMORY", "IO_ERROR", "GENERATION_FAILED"}


def load(path=TRANSITIONS):
    rows = []
    if not os.path.isfile(path):
        return rows
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t")
            if parts[0] == "state":  # column header
                continue
            rows.append(Row(*parts[:5]))
    return rows


def _parse_cond(cond):
    """'model+ok' -> ('model', 'ok'); 'no-model' -> ('no-model', None); '-' -> (None, None)."""
    qual, base = None, cond
    if "+" in cond:
        qual, base = cond.split("+", 1)
    elif cond in ("model", "no-model"):
        qual, base = cond, None
    if base == "-":
        base = None
    return qual, base


def outcome(rows, state, op, cond, has_model):
    """The row for a case: the one whose condition names `cond` exactly, else the one that
    covers every condition ('-' or a bare model qualifier). None if the table has no row."""
    fallback = None
    for r in rows:
        if r.state != state or r.op != op:
            continue
        qual, base = _parse_cond(r.cond)
        if qual == "model" and not has_model or qual == "no-model" and has_model:
            continue
        if base == cond:
            return r
        if base is None and cond not in ("panic", "oom-init") and fallback is None:
            fallback = r
    return fallback


def conditions(rows, state, op):
    """The base conditions the table lists for (state, op)."""
    out = []
    for r in rows:
        if r.state == state and r.op == op:
            base = _parse_cond(r.cond)[1] or "-"
            if base not in out:
                out.append(base)
    return out


class Driver:
    """Puts a Server into a table state and performs operations under conditions.

    Every method returns the Reply of the operation. `has_model` tracks whether a model is
    resident (the table's model/no-model qualifier for RECOVERABLE_ERROR)."""

    def __init__(self, server, tmpdir):
        self.s = server
        self.tmp = str(tmpdir)
        self.has_model = False
        self.n_prompt = None

    # ---- reaching a state -----------------------------------------------------------------
    def reach(self, state):
        s = self.s
        if state == "UNINITIALIZED":
            return
        if state == "POISONED":
            s.request("boot").expect_ok()
            self.poison()
            return
        s.request("boot").expect_ok()
        # small requests, so that a generate fits the fixtures' n_ctx (96)
        s.request("configure-sampling", max_tokens=2, stop_at_eos=False).expect_ok()
        if state == "INITIALIZED":
            return
        if state == "RECOVERABLE_ERROR_NO_MODEL":
            s.request("load-model", path=fixtures.missing_path(self.tmp)).expect_error(
                spec.CODE["IO_ERROR"])
            return
        s.request("load-model", path=fixtures.path_of(fixtures.PRIMARY)).expect_ok()
        self.has_model = True
        if state == "READY":
            return
        if state == "FREED":
            s.request("free-model").expect_ok()
            self.has_model = False
            return
        g = s.request("generate", prompt="a").expect_ok()
        self.n_prompt = g["n_prompt"]
        if state == "CONTINUATION_READY":
            return
        if state == "CONTINUATION_READY_FULL":  # the context is full: next token overflows
            n_ctx = fixtures.entry(fixtures.PRIMARY)["n_ctx"]
            s.request("configure-sampling", max_tokens=n_ctx - self.n_prompt,
                      stop_at_eos=False).expect_ok()
            s.request("generate", prompt="a").expect_ok()
            return
        if state == "RECOVERABLE_ERROR":  # with a model and a previous request
            s.request("configure-sampling", temperature=-1).expect_error(
                spec.CODE["INVALID_ARGUMENT"])
            return
        raise ValueError(state)

    def poison(self):
        """Arm panic points in turn until one fires in a diagnostics command (R-FAULT-003)."""
        points = self.s.request("fault-status").expect_ok().get("points", [])
        for p in points:
            self.s.request("fault-panic", point=p).expect_ok()
            self.s.request("diagnostics")
            if self.s.request("fault-status").expect_ok()["panic_fired"]:
                return
        self.s.request("fault-panic", point=None).expect_ok()
        raise AssertionError("no panic point fires during diagnostics: cannot reach POISONED")

    # ---- operations -------------------------------------------------------------------------
    def args(self, op, cond):
        """Protocol fields that make `op` meet `cond` (None when the harness cannot)."""
        if op == "load_model":
            if cond == "rejected":
                return {"path": fixtures.bad_model(self.tmp, "magic")}
            if cond == "io":
                return {"path": fixtures.missing_path(self.tmp)}
            return {"path": fixtures.path_of(fixtures.SECONDARY)}
        if op == "configure_sampling":
            if cond == "rejected":
                return {"temperature": -1}
            return {"max_tokens": 3, "stop_at_eos": False}
        if op == "generate":
            if cond == "overflow":
                return {"prompt": "a " * 120}
            if cond == "rejected":
                return None  # needs a model without BOS and an empty prompt: not in fixtures
            return {"prompt": "hello"}
        if op == "cancel":
            return {"target": "not-streaming"}
        return {}

    def perform(self, op, cond):
        s = self.s
        cmd = OP_COMMAND[op]
        fields = self.args(op, cond)
        if op == "generate" and cond == "cancelled":
            s.send_raw('{"id":"tt-g","cmd":"generate","prompt":"hello"}\n'
                       '{"id":"tt-c","cmd":"cancel","target":"tt-g"}\n')
            reply = s.wait("tt-g")
            s.wait("tt-c")
            return reply
        return s.request(cmd, **fields)

    def arm(self, cond, state):
        """Arm the fault a condition needs (fault-injection capability). In UNINITIALIZED the
        first allocation is the lazy initialization's (oom-init); `oom` fails the first one
        after it, counted by booting once and starting over with fault-reset."""
        if cond == "oom-init" or cond == "oom" and state != "UNINITIALIZED":
            self.s.request("fault-alloc", n=1).expect_ok()
        elif cond == "oom":
            self.s.request("fault-alloc", n=0).expect_ok()
            self.s.request("boot").expect_ok()
            k = self.s.request("fault-status").expect_ok()["alloc_count"]
            self.s.request("fault-reset").expect_ok()
            self.s.request("fault-alloc", n=k + 1).expect_ok()

    def disarm(self):
        """The fault status (read first: arming resets it), then disarm."""
        status = self.s.request("fault-status").expect_ok()
        self.s.request("fault-alloc", n=0).expect_ok()
        return status
