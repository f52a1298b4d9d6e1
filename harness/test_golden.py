"""Golden token traces (SPEC chapter 10): every trace in golden/traces/ replayed against the
implementation, in the exact tier (the reference) or the tolerant tier (anything else)."""
import json
import os
import zlib

import pytest

from ggufref_harness import paths, tracefmt


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


@pytest.mark.skipif(not PARAMS, reason="golden/traces/INDEX.json missing")
@pytest.mark.parametrize("name", PARAMS)
def test_golden_trace(name, impl, compare_tier, quick, tokens_only):
    if quick and zlib.crc32(name.encode()) % 4:
        pytest.skip("not run: --quick replays a quarter of the golden traces")
    trace = tracefmt.load(os.path.join(paths.GOLDEN_TRACES, name))
    if compare_tier not in trace.header.get("tiers", []):
        pytest.skip("not applicable: exact tier only (a margin under the tolerance, "
                    "R-TRACE-051)")
    res = tracefmt.replay(trace, impl, tier=compare_tier, tokens_only=tokens_only)
    if res.status == "not-applicable":
        pytest.skip("not applicable: " + res.reason)
    if not res:
        raise tracefmt.TraceFailure("%s (%s tier)\n%s" % (name, compare_tier, res.render()),
                                    res.reqs or ["R-TRACE-020"])
