"""Stateful property test (Hypothesis RuleBasedStateMachine) against the table model.

Random sequences of protocol commands run against one implementation process; a model built on
conformance/transitions.tsv predicts every status and next state, and tracks what the request
must hold (token count, determinism of repeated requests, nothing changed by a failure)."""
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition,
                                 rule, run_state_machine_as_test)

from ggufref_harness import fixtures, spec, table
from ggufref_harness.wire import spawn

ROWS = table.load()
MODELS = [fixtures.PRIMARY, fixtures.SECONDARY]
PROMPTS = ["", "a", "hello world", "h\u00e9", "\U0001f999"]


class RuntimeMachine(RuleBasedStateMachine):
    impl = None
    caps = frozenset()
    tmp = None
    shared = None  # the process of the previous example, reused (R-LEVEL-050)

    def __init__(self):
        super().__init__()
        self.state = "UNINITIALIZED"
        s = RuntimeMachine.shared
        RuntimeMachine.shared = None
        if s is not None:
            # a process that ran an example before: reset through the protocol to FREED (no
            # model, no request, default settings); the first example starts UNINITIALIZED
            try:
                s.request("boot")
                s.request("free-model").expect_ok()
                s.request("configure-sampling").expect_ok()
                self.state = "FREED"
            except AssertionError:
                s.kill()
                s = None
        self.s = s if s is not None else spawn(self.impl)
        self.drv = table.Driver(self.s, self.tmp)
        self.has_model = False
        self.model = None
        self.sampling = {"max_tokens": 128, "stop_at_eos": True, "temperature": 0, "seed": 0}
        self.n_tokens = 0
        self.seen = {}          # (model, sampling, prompt) -> tokens (R-RT-024)
        self.resident = None    # diagnostics snapshot before a failing command

    def teardown(self):
        if self.state != "POISONED" and not self.s.unclaimed() and not self.s.closed:
            RuntimeMachine.shared = self.s  # the next example resets and reuses it
            return
        status = self.s.close()
        assert status == 0 or self.state == "POISONED", \
            "R-PROTO-002: exit status %r" % status

    # ---- helpers --------------------------------------------------------------------------
    def expect(self, op, cond, reply):
        row = table.outcome(ROWS, self.state, op, cond, self.has_model)
        assert row is not None, (self.state, op, cond)
        if row.status == "REJECTED":
            assert reply.code not in (spec.CODE[s] for s in table.NOT_REJECTED), \
                reply.describe()
        else:
            assert reply.code == spec.CODE[row.status], "%s: want %s\n%s" % (
                "\t".join(row), row.status, reply.describe())
        if op != "cancel":
            assert reply.final.get("state") == row.next, "%s: want state %s\n%s" % (
                "\t".join(row), row.next, reply.describe())
        self.state = row.next
        return row

    def snapshot(self):
        if self.state in ("UNINITIALIZED", "POISONED"):
            return None
        d = self.s.request("diagnostics").expect_ok()
        return {k: d.get(k) for k in ("tokens", "text_hex", "model", "sampling")}

    def unchanged_since(self, snap):
        if snap is not None and self.state != "POISONED":
            assert self.snapshot() == snap, "R-RT-006: a failed command changed resident data"

    # ---- rules ----------------------------------------------------------------------------
    @initialize()
    def start(self):
        pass

    @rule()
    def boot(self):
        self.expect("init", "ok", self.s.request("boot"))

    @rule(name=st.sampled_from(MODELS))
    def load_good(self, name):
        row = self.expect("load_model", "ok", self.s.request(
            "load-model", path=fixtures.path_of(name)))
        if row.status == "OK":
            self.has_model, self.model, self.n_tokens = True, name, 0

    @rule(kind=st.sampled_from(["magic", "truncated", "missing"]))
    def load_bad(self, kind):
        snap = self.snapshot()
        path = fixtures.missing_path(self.tmp) if kind == "missing" else \
            fixtures.bad_model(self.tmp, kind)
        cond = "io" if kind == "missing" else "rejected"
        if self.state == "UNINITIALIZED":
            cond = "io" if kind == "missing" else "rejected"
        self.expect("load_model", cond, self.s.request("load-model", path=path))
        self.unchanged_since(snap)

    @rule(max_tokens=st.sampled_from([1, 2, 3, 200]), temperature=st.sampled_from([0, 0.7]),
          seed=st.integers(0, 3))
    def configure_ok(self, max_tokens, temperature, seed):
        fields = {"max_tokens": max_tokens, "temperature": temperature, "seed": seed,
                  "stop_at_eos": False}
        row = self.expect("configure_sampling", "ok",
                          self.s.request("configure-sampling", **fields))
        if row.status == "OK":
            self.sampling = fields

    @rule(field=st.sampled_from([("temperature", -1), ("top_p", 0), ("max_tokens", 0),
                                 ("min_p", 2), ("repeat_penalty", 0)]))
    def configure_bad(self, field):
        snap = self.snapshot()
        self.expect("configure_sampling", "rejected",
                    self.s.request("configure-sampling", **{field[0]: field[1]}))
        self.unchanged_since(snap)

    @rule(prompt=st.sampled_from(PROMPTS))
    def generate(self, prompt):
        snap = self.snapshot()
        r = self.s.request("generate", prompt=prompt)
        overflow = False
        if self.has_model and r.code == spec.CODE["CONTEXT_OVERFLOW"]:
            overflow = True
        row = self.expect("generate", "overflow" if overflow else "ok", r)
        if row.status == "OK":
            res = r.final
            assert len(res["tokens"]) == self.sampling["max_tokens"], "stop_at_eos is false"
            key = (self.model, tuple(sorted(self.sampling.items())), prompt)
            if key in self.seen:
                assert res["tokens"] == self.seen[key], "R-RT-024: same request, other tokens"
            self.seen[key] = res["tokens"]
            self.n_tokens = res["n_tokens"]
        elif row.status != "OK":
            self.unchanged_since(snap)

    @precondition(lambda self: "cancel" in self.caps)
    @rule()
    def generate_cancelled(self):
        if self.state == "POISONED":
            return
        self.s.send_raw('{"id":"sm-g","cmd":"generate","prompt":"zz"}\n'
                        '{"id":"sm-c","cmd":"cancel","target":"sm-g"}\n')
        r = self.s.wait("sm-g")
        c = self.s.wait("sm-c")
        if r.code == spec.CODE["CANCELLED"]:
            assert c.final.get("cancelled") is True
            self.expect("generate", "cancelled", r)
            self.n_tokens = self.snapshot_n()
        else:  # not streaming: no model, overflow, or max_tokens 1 finished first
            cond = "overflow" if r.code == spec.CODE["CONTEXT_OVERFLOW"] else "ok"
            row = self.expect("generate", cond, r)
            if row.status == "OK":
                self.n_tokens = r.final["n_tokens"]

    def snapshot_n(self):
        return self.s.request("diagnostics").expect_ok()["n_tokens"]

    @precondition(lambda self: "step" in self.caps)
    @rule()
    def next_token(self):
        snap = self.snapshot()
        r = self.s.request("generate-next-token")
        cond = "overflow" if r.code == spec.CODE["CONTEXT_OVERFLOW"] else "ok"
        if self.state == "RECOVERABLE_ERROR":
            cond = "model" if self.has_model else "no-model"
        row = self.expect("generate_next_token", cond, r)
        if row.status == "OK":
            assert r.final["n_tokens"] == self.n_tokens + 1
            self.n_tokens += 1
        else:
            self.unchanged_since(snap)

    @rule()
    def reset(self):
        row = self.expect("reset_context", "ok", self.s.request("reset-context"))
        if row.status == "OK":
            self.n_tokens = 0

    @rule()
    def free(self):
        row = self.expect("free_model", "ok", self.s.request("free-model"))
        if row.status == "OK":
            self.has_model, self.model, self.n_tokens = False, None, 0

    @rule()
    def cancel_idle(self):
        self.expect("cancel", "ok", self.s.request("cancel", target="idle"))

    @rule(line=st.sampled_from(["{", "[]", '{"id":5}', '{"id":6,"cmd":"warp"}',
                                '{"id":7,"cmd":"generate"}']))
    def garbage(self, line):
        snap = self.snapshot()
        r = self.s.raw_request(line)
        assert r.final["event"] == "error"
        self.unchanged_since(snap)

    @precondition(lambda self: "fault-injection" in self.caps)
    @rule(op=st.sampled_from(["load", "generate"]))
    def out_of_memory(self, op):
        if self.state == "POISONED":
            return
        snap = self.snapshot()
        self.drv.arm("oom" if self.state != "UNINITIALIZED" else "oom-init", self.state)
        if op == "load":
            r = self.s.request("load-model", path=fixtures.path_of(fixtures.PRIMARY))
        else:
            r = self.s.request("generate", prompt="m")
        fired = self.drv.disarm()["alloc_fired"]
        name = "load_model" if op == "load" else "generate"
        if fired:
            cond = "oom-init" if r.final.get("state") == "UNINITIALIZED" else "oom"
            self.expect(name, cond, r)
            self.unchanged_since(snap)
        else:
            cond = "overflow" if r.code == spec.CODE["CONTEXT_OVERFLOW"] else "ok"
            row = self.expect(name, cond, r)
            if row.status == "OK":
                if op == "load":
                    self.has_model, self.model, self.n_tokens = True, fixtures.PRIMARY, 0
                else:
                    self.n_tokens = r.final["n_tokens"]

    @invariant()
    def token_count(self):
        if self.state not in ("UNINITIALIZED", "POISONED"):
            d = self.s.request("diagnostics").expect_ok()
            assert d["state"] == self.state
            assert d["n_tokens"] == self.n_tokens, "diagnostics n_tokens %d, model %d" % (
                d["n_tokens"], self.n_tokens)
            assert d["model"] is self.has_model


@pytest.mark.req("R-RT-002", "R-RT-005", "R-RT-006", "R-RT-010", "R-RT-024", "R-PROTO-010",
                 "R-PROTO-012")
@pytest.mark.skipif(not ROWS or not fixtures.have(), reason="table or fixture models missing")
def test_random_command_sequences_follow_the_table(impl, caps, quick, tmp_path):
    RuntimeMachine.impl = impl
    RuntimeMachine.caps = frozenset(caps)
    RuntimeMachine.tmp = str(tmp_path)
    phases = [Phase.explicit, Phase.reuse, Phase.generate] + ([] if quick else [Phase.shrink])
    RuntimeMachine.shared = None
    try:
        run_state_machine_as_test(RuntimeMachine, settings=settings(
            max_examples=8 if quick else 40, stateful_step_count=15, deadline=None,
            derandomize=True, database=None, phases=phases,
            suppress_health_check=list(HealthCheck)))
    finally:
        s, RuntimeMachine.shared = RuntimeMachine.shared, None
        if s is not None:
            status = s.close()
            assert status == 0, "R-PROTO-002: exit status %r at the end of its input" % status
