"""golden.tracegen — what writes traces (issue 9 item 8): the golden-trace generator and its
matrix (`golden`), per-token margins for the tolerant tier (`margins`), and the trace tools that
record, re-record and minimize (`tracetools`). They sit next to what they generate
(golden/traces); the acceptance suite's library (harness/ggufref_harness: the trace reader and
replayer, the wire client, the transition table, the report) reads traces and never writes
them. Used by tools/golden_traces.py and tools/traces.py.
"""
import os
import sys

_HARNESS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "harness")
if os.path.abspath(_HARNESS) not in [os.path.abspath(p) for p in sys.path]:
    sys.path.insert(0, os.path.abspath(_HARNESS))
