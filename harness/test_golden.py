"""Golden token traces (SPEC chapter 10): every trace in golden/traces/ replayed against the
implementation, in the exact tier (the reference) or the tolerant tier (anything else)."""
import json
import os
import zlib

import pytest

from ggufref_harness import fixtures, paths, spec, tracefmt
from ggufref_harness.wire import WireViolation, spawn


def _entries():
    path = os.path.join(paths.GOLDEN_TRACES, "INDEX.json")
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8") as f:
        return json.load(f)["traces"]


def _params():
    for e in _entries():
        marks = [pytest.mark.req("R-TRACE-020", "R-TRACE-031", "R-TRACE-040",
                                 *e["requirements"])]
        if e["requires"]:
            marks.append(pytest.mark.cap(*e["requires"]))
        if "R-RNG-001" in e["requirements"]:
            # a sampled trace: chapter 6's sampler and RNG exactly (R-LEVEL-001)
            marks.append(pytest.mark.level("sampler-llama2c"))
        yield pytest.param(e["file"], marks=marks, id=e["file"][:-len(".jsonl")])


PARAMS = list(_params())


def _has_margins(trace):
    """A generated trace (per-token margins, R-TRACE-050) replays in the tolerant tier even
    when its header lists the exact tier only: a token whose margin the type's tolerance could
    cross is a legitimate divergence there (R-LEVEL-021), not a failure."""
    return any(st.get("margins") for st in trace.steps)


def trace_tolerance(trace):
    """The tolerant tier's tolerance for a trace: the table's row for the tensor types of the
    models it loads (R-LEVEL-020), the loosest when several."""
    types = []
    by_file = {os.path.basename(m["file"]): m.get("type") for m in fixtures.manifest()}
    for rel in trace.header.get("models", {}):
        types.append(by_file.get(os.path.basename(rel)))
    return spec.type_tolerance(types)


class Shared:
    """One implementation process for the shareable traces of the module (R-LEVEL-050); a
    failure discards it, the next trace gets a fresh one. At the end its input is closed and
    it must exit with status 0 (R-PROTO-002, R-TRACE-021)."""

    def __init__(self, impl):
        self.impl = impl
        self.server = None

    def get(self):
        if self.server is None:
            self.server = spawn(self.impl)
        return self.server

    def discard(self):
        if self.server is not None:
            self.server.kill()
        self.server = None

    def close(self):
        if self.server is None:
            return 0
        s, self.server = self.server, None
        status = s.close()
        extra = s.unclaimed()
        return status if not extra else "events nobody asked for: %r" % extra[:3]


@pytest.fixture(scope="module")
def shared(impl):
    sh = Shared(impl)
    yield sh
    status = sh.close()
    if status != 0:
        raise WireViolation("R-PROTO-002: the process that replayed the shared golden traces "
                            "ended with %r at the end of its input" % (status,))


@pytest.mark.skipif(not PARAMS, reason="golden/traces/INDEX.json missing")
@pytest.mark.parametrize("name", PARAMS)
def test_golden_trace(name, impl, compare_tier, quick, tokens_only, shared, request):
    if quick and zlib.crc32(name.encode()) % 4:
        pytest.skip("not run: --quick replays a quarter of the golden traces")
    trace = tracefmt.load(os.path.join(paths.GOLDEN_TRACES, name))
    if compare_tier not in trace.header.get("tiers", []) and not _has_margins(trace):
        pytest.skip("not applicable: exact tier only (a margin under the tolerance, "
                    "R-TRACE-051)")
    use = shared.get() if tracefmt.shareable(trace) else None
    try:
        res = tracefmt.replay(trace, impl, tier=compare_tier, tokens_only=tokens_only,
                              tolerance=trace_tolerance(trace), shared=use)
    except BaseException:
        if use is not None:
            shared.discard()
        raise
    if use is not None and res.status != "pass":
        shared.discard()
    for note in getattr(res, "notes", []):
        request.node.user_properties.append(("divergence", note))  # R-LEVEL-021: reported
    if res.status == "not-applicable":
        pytest.skip("not applicable: " + res.reason)
    if not res:
        raise tracefmt.TraceFailure("%s (%s tier)\n%s" % (name, compare_tier, res.render()),
                                    res.reqs or ["R-TRACE-020"])
