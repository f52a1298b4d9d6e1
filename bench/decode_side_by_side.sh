#!/usr/bin/env bash
# decode_side_by_side.sh — single-thread (and 2-thread) decode of the reference against llama.cpp
# (node-llama-cpp 3.22.1, harness/impls/llamacpp/bench_decode.mjs) on the same GGUF files, in
# interleaved rounds: round r runs every model on ggufref (1 and 2 threads) and on llama.cpp
# (1 thread) before round r+1 starts, so a busy spell of a shared machine hits all alike.
#
#   bench/decode_side_by_side.sh BUILD_DIR [ROUNDS] [TOKENS] [MODEL.gguf...]
#
# Default models: BUILD_DIR/bench-models/bench100m-*.gguf (`--target bench_models`). Prints one
# line per (model, round) and a median table (tok/s, ratio ggufref 1T / llama.cpp 1T, % of the
# single-thread read roofline: weight bytes per token / bench_decode's measured bandwidth).
# Needs tools/deps.sh (node-llama-cpp under harness/impls/llamacpp/node_modules).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: decode_side_by_side.sh BUILD_DIR [ROUNDS] [TOKENS] [MODEL.gguf...]}
rounds=${2:-3}
tokens=${3:-64}
shift $(( $# < 3 ? $# : 3 ))
models=("$@")
[ ${#models[@]} -gt 0 ] || models=("$build"/bench-models/bench100m-*.gguf)
out=$(mktemp)
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
  for m in "${models[@]}"; do
    name=$(basename "$m" .gguf)
    # ggufref: one round of 1 and 2 threads (bench_decode prints median [best] of its rounds)
    "$build"/bench/bench_decode --tokens "$tokens" --repeat 1 --threads 1,2 "$m" |
      awk -v n="$name" '$2 == 1 || $2 == 2 { print n, "ggufref-" $2 "T", $5, $7, $10 }' >>"$out"
    node harness/impls/llamacpp/bench_decode.mjs "$m" --tokens "$tokens" --rounds 1 --threads 1 --tokenize-bytes 1000 --json |
      /usr/bin/python3 -c 'import json,sys; j=json.loads(sys.stdin.read().strip().splitlines()[-1]); print(sys.argv[1], "llamacpp-1T", j.get("decode_tok_s") or j.get("decode", {}).get("tok_s"))' "$name" >>"$out"
    tail -3 "$out"
  done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$out" <<'PY'
import sys, statistics, collections
rows = collections.defaultdict(list)
roof = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) < 3 or f[2] in ("None", ""):
        continue
    rows[(f[0], f[1])].append(float(f[2]))
    if f[1] == "ggufref-1T" and len(f) >= 5:
        roof.setdefault(f[0], []).append(float(f[4].rstrip("%")))
names = sorted({k[0] for k in rows})
print("| model | ggufref 1T tok/s | ggufref 2T tok/s | llama.cpp 1T tok/s | ratio 1T | roofline 1T |")
print("|---|---|---|---|---|---|")
for n in names:
    g1 = statistics.median(rows.get((n, "ggufref-1T"), [0]))
    g2 = statistics.median(rows.get((n, "ggufref-2T"), [0]))
    lc = statistics.median(rows.get((n, "llamacpp-1T"), [0]))
    rf = statistics.median(roof.get(n, [0]))
    print("| %s | %.1f | %.1f | %.1f | %s | %.0f%% |" % (n, g1, g2, lc, "%.2fx" % (g1 / lc) if lc else "-", rf))
PY
rm -f "$out"
