"""Bug traces (SPEC R-TRACE-060): every trace in traces/ reproduces a bug fixed in the reference
and is replayed here, against whatever implementation is under test."""
import glob
import os

import pytest

from ggufref_harness import paths, tracefmt

TRACES = sorted(glob.glob(os.path.join(paths.BUG_TRACES, "*.jsonl")))


def _has_matcher(value):
    if tracefmt.is_matcher(value):
        return True
    if isinstance(value, dict):
        return any(_has_matcher(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_matcher(v) for v in value)
    return False


def _params():
    for p in TRACES:
        t = tracefmt.load(p)
        marks = [pytest.mark.req("R-TRACE-060", *t.header.get("requirements", []))]
        if t.requires():
            marks.append(pytest.mark.cap(*t.requires()))
        if _has_matcher(t.steps):
            # a message matcher on malformed input is an exact error check (R-LEVEL-001)
            marks.append(pytest.mark.level("strict-errors"))
        yield pytest.param(p, marks=marks, id=os.path.basename(p)[:-len(".jsonl")])


@pytest.mark.skipif(not TRACES, reason="no traces in traces/")
@pytest.mark.parametrize("path", list(_params()))
def test_bug_trace(path, impl, compare_tier, tokens_only):
    trace = tracefmt.load(path)
    tier = compare_tier if compare_tier in trace.header.get("tiers", []) else "exact"
    res = tracefmt.replay(trace, impl, tier=tier, tokens_only=tokens_only)
    if res.status == "not-applicable":
        pytest.skip("not applicable: " + res.reason)
    if not res:
        raise tracefmt.TraceFailure("%s: %s\n%s" % (
            os.path.basename(path), trace.header.get("description", ""), res.render()),
            res.reqs or ["R-TRACE-060"])
