"""The transition table (SPEC chapter 7, conformance/transitions.tsv) over the wire protocol:
every state x operation x condition the protocol can produce, from a fresh implementation."""
import pytest

from ggufref_harness import spec, table

ROWS = table.load()
PRODUCIBLE = {"-", "ok", "rejected", "io", "overflow", "cancelled", "oom", "oom-init", "panic",
              "model", "no-model"}
FAULTS = {"oom", "oom-init", "panic"}


def _recipes(state):
    if state == "RECOVERABLE_ERROR":
        return ["RECOVERABLE_ERROR", "RECOVERABLE_ERROR_NO_MODEL"]
    return [state]


def _reqs(state, op, cond, row):
    out = {"R-RT-002", "R-PROTO-012"}
    if state == "UNINITIALIZED":
        out.add("R-RT-004")
    if row is not None:
        if row.status in ("MODEL_NOT_LOADED", "INVALID_STATE"):
            out.add("R-RT-005")
        if row.status not in ("OK", "GENERATION_FAILED", "CANCELLED") and \
                row.next == "RECOVERABLE_ERROR":
            out.add("R-RT-006")
        if op == "load_model" and row.status != "OK":
            out.add("R-RT-010")
        if row.next == "POISONED":
            out.add("R-EXP-004")
    if state == "RECOVERABLE_ERROR" and cond in ("ok", "-"):
        out.add("R-RT-007")
    out.update({"overflow": {"R-RT-022"}, "cancelled": {"R-RT-025", "R-PROTO-041"},
                "oom": {"R-FAULT-001"}, "oom-init": {"R-FAULT-001"},
                "panic": {"R-FAULT-003"}}.get(cond, set()))
    out.update({"reset_context": {"R-RT-027"}, "free_model": {"R-RT-028"},
                "configure_sampling": {"R-RT-013"}, "load_model": {"R-RT-011"}}.get(op, set())
               if cond in ("ok", "-") else set())
    return sorted(out)


def _cases():
    seen = set()
    for r in ROWS:
        if r.op not in table.OP_COMMAND:
            continue
        for recipe in _recipes(r.state):
            has_model = recipe not in ("UNINITIALIZED", "INITIALIZED", "FREED",
                                       "RECOVERABLE_ERROR_NO_MODEL")
            base = table._parse_cond(r.cond)[1] or "-"
            if base not in PRODUCIBLE:
                continue
            if r.op == "generate" and base == "rejected":
                continue
            if r.op == "generate_next_token" and base == "overflow":
                recipe = "CONTINUATION_READY_FULL"
            row = table.outcome(ROWS, r.state, r.op, "ok" if base == "-" else base, has_model)
            if row is not r:
                continue  # the row's qualifier does not apply to this recipe
            key = (recipe, r.op, base)
            if key in seen:
                continue
            seen.add(key)
            marks = [pytest.mark.req(*_reqs(r.state, r.op, base, r))]
            caps = set()
            if base in FAULTS or r.state == "POISONED":
                caps.add("fault-injection")
            if base == "cancelled":
                caps.add("cancel")
            if r.op == "generate_next_token":
                caps.add("step")
            if caps:
                marks.append(pytest.mark.cap(*sorted(caps)))
            if "fault-injection" in caps:
                marks.append(pytest.mark.level("fault-injection"))  # R-LEVEL-001
            if recipe in ("UNINITIALIZED", "INITIALIZED") or "fault-injection" in caps:
                # the state a new process starts in, or faults: a process of its own
                # (R-LEVEL-050); the other states are reached from the shared one's reset
                marks.append(pytest.mark.fresh)
            yield pytest.param(r.state, recipe, r.op, base, marks=marks,
                               id="%s-%s-%s" % (recipe, r.op, base))


CASES = list(_cases())


def _resident(server):
    d = server.request("diagnostics").expect_ok()
    return {k: d.get(k) for k in ("n_prompt", "n_tokens", "tokens", "text_hex", "model",
                                  "sampling")}


def _panic_op(drv, op, cond):
    """Arm panic points in turn until one fires during `op`; the reply, or None."""
    s = drv.s
    points = s.request("fault-status").expect_ok().get("points", [])
    for p in points:
        s.request("fault-panic", point=p).expect_ok()
        reply = drv.perform(op, cond)
        if s.request("fault-status").expect_ok()["panic_fired"]:
            return reply
        s.request("fault-panic", point=None).expect_ok()
        # the operation ran without a panic: start over from the same state
        s.request("fault-reset").expect_ok()
        drv.reach(drv.recipe)
    return None


@pytest.mark.skipif(not ROWS, reason="conformance/transitions.tsv missing")
@pytest.mark.parametrize("state,recipe,op,cond", CASES)
def test_transition(server, tmp_path, state, recipe, op, cond):
    drv = table.Driver(server, tmp_path)
    drv.recipe = recipe
    drv.reach(recipe)
    watch = state not in ("UNINITIALIZED", "POISONED") and cond != "cancelled"
    before = _resident(server) if watch else None
    actual = "ok" if cond in ("-", "model", "no-model") else cond
    if cond == "panic":
        reply = _panic_op(drv, op, cond)
        if reply is None:
            pytest.skip("not applicable: no panic point of the implementation fires in " + op)
    else:
        drv.arm(cond, state)
        reply = drv.perform(op, cond)
        if cond in ("oom", "oom-init"):
            status = drv.disarm()
            if not status["alloc_fired"]:
                actual = "ok"  # the operation did not allocate: its ordinary row applies
    row = table.outcome(ROWS, state, op, actual, drv.has_model)
    assert row is not None, "no table row for %s %s %s" % (state, op, actual)
    got = reply.code
    if row.status == "REJECTED":
        assert got not in (spec.CODE[s] for s in table.NOT_REJECTED), reply.describe()
    else:
        assert got == spec.CODE[row.status], "table row %s: want %s, got %s\n%s" % (
            "\t".join(row), row.status, spec.STATUS.get(got, got), reply.describe())
    if op == "cancel":
        if row.next not in ("UNINITIALIZED", "POISONED"):
            assert server.request("diagnostics").expect_ok()["state"] == row.next
    else:
        assert reply.final.get("state") == row.next, "table row %s: want state %s\n%s" % (
            "\t".join(row), row.next, reply.describe())
    if watch and row.status != "OK" and row.next != "POISONED":
        assert _resident(server) == before, \
            "R-RT-006: a failed %s changed resident data\n%s" % (op, reply.describe())
