#!/usr/bin/python3
"""Instructions the runtime handle and the export layer add per token: bench_runtime under
valgrind's callgrind, counting only its timed functions (timed_*), then the inclusive counts of
each path from the call tree. Unlike times, these counts repeat exactly.

    /usr/bin/python3 bench/runtime_instructions.py <build>/bench/bench_runtime MODEL.gguf [TOKENS]

Per path (the same tokens on the same memory, see bench_runtime.c):
  decode loop  bare = bare_step called from timed_steps; handle, export = the
               generate_next_token calls from timed_steps
  request      bare = bare_begin + bare_step called from timed_request; handle, export = the
               generate calls from timed_request
Prints instructions per token and (path - bare) / bare. Needs valgrind; stdlib only.
"""
import os
import re
import subprocess
import sys
import tempfile

# "  491,256,152 (15.51%)  < /path/bench_runtime.c:timed_steps.constprop.0 (31x) [...]" is a
# caller line; the callee follows on a "*" line.
LINE = re.compile(r"^\s*([\d,]+) \([^)]*\)\s+([<*>])\s+\S*?:([\w.]+)")


def call_tree(annotated):
    """{(caller, callee): inclusive instructions} and {function: inclusive instructions}."""
    edges, totals, callers = {}, {}, []
    for line in annotated.splitlines():
        m = LINE.match(line)
        if m is None:
            callers = []
            continue
        count, kind, name = int(m.group(1).replace(",", "")), m.group(2), m.group(3).split(".")[0]
        if kind == "<":
            callers.append((name, count))
        elif kind == "*":
            totals[name] = count
            for caller, c in callers:
                edges[(caller, name)] = edges.get((caller, name), 0) + c
            callers = []
    return edges, totals


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    bench, model = sys.argv[1], sys.argv[2]
    tokens = int(sys.argv[3]) if len(sys.argv) > 3 else 32
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        subprocess.run(["valgrind", "--tool=callgrind", "--toggle-collect=timed_*",
                        f"--callgrind-out-file={out}", bench, model, "--rounds", "1",
                        "--tokens", str(tokens)], check=True, capture_output=True)
        annotated = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--tree=caller",
                                    out], check=True, capture_output=True, text=True).stdout
    edges, _ = call_tree(annotated)
    steps = "timed_steps"
    req = "timed_request"
    rows = [
        ("decode loop", tokens - 1, [
            ("bare forward + sample", edges.get((steps, "bare_step"), 0)),
            ("runtime_generate_next_token",
             edges.get((steps, "ggufref_runtime_generate_next_token"), 0)),
            ("export_generate_next_token",
             edges.get((steps, "ggufref_export_generate_next_token"), 0))]),
        ("request", tokens, [
            ("bare tokenize + prompt + decode",
             edges.get((req, "bare_begin"), 0) + edges.get((req, "bare_step"), 0)),
            ("runtime_generate", edges.get((req, "ggufref_runtime_generate"), 0)),
            ("export_generate", edges.get((req, "ggufref_export_generate"), 0))]),
    ]
    print(f"runtime_instructions: {model}, {tokens} tokens, instructions (callgrind Ir)")
    for title, n, paths in rows:
        print(f" {title}")
        base = paths[0][1]
        if base == 0 or any(count == 0 for _, count in paths):
            print("  a path was not found in the call tree (inlined?)", file=sys.stderr)
            return 1
        for name, count in paths:
            extra = "" if count == base else \
                f"  {count - base:+,d} ({(count - base) / n:+.0f}/token, " \
                f"{(count / base - 1) * 100:+.4f}%)"
            print(f"  {name:<32} {count / n:14,.0f} per token{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
