#!/usr/bin/env python3
"""Regenerate the golden token traces (SPEC R-TRACE-030) with the reference, or check that a
regeneration is byte-identical to golden/traces/.

    tools/golden_traces.py [--impl CMD] [--out DIR]     regenerate (default: golden/traces)
    tools/golden_traces.py --check [--impl CMD]         regenerate into a temporary folder and
                                                        compare every file; exit 1 on a change
The implementation must be the reference (default: <build>/ggufref serve).
"""
import argparse
import filecmp
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from ggufref_harness import paths  # noqa: E402
from golden.tracegen import golden  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--impl", default=None, help="the reference's serve command")
    ap.add_argument("--out", default=paths.GOLDEN_TRACES)
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    impl = a.impl or paths.reference_command()
    if not a.check:
        idx = golden.generate(impl, a.out)
        print("golden: %d traces, %d steps, %d tokens in %s (%d dropped)" % (
            idx["total_traces"], idx["total_steps"], idx["total_tokens"], a.out,
            len(idx["dropped"])))
        return 0
    with tempfile.TemporaryDirectory(prefix="golden-check-") as tmp:
        golden.generate(impl, tmp)
        want = sorted(f for f in os.listdir(a.out) if f.endswith((".jsonl", ".json")))
        got = sorted(f for f in os.listdir(tmp) if f.endswith((".jsonl", ".json")))
        bad = sorted(set(want) ^ set(got))
        bad += [f for f in sorted(set(want) & set(got))
                if not filecmp.cmp(os.path.join(a.out, f), os.path.join(tmp, f), shallow=False)]
        if bad:
            print("golden: regeneration differs from %s in: %s" % (a.out, ", ".join(bad)))
            print("golden: run tools/golden_traces.py to regenerate, and review the diff")
            return 1
        print("golden: regeneration is byte-identical (%d files)" % len(want))
    return 0


if __name__ == "__main__":
    sys.exit(main())
