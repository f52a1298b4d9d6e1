#!/usr/bin/env bash
# fuzz/tools/update-seeds.sh — (re)generate the generated seeds and add them to the corpora.
#
#   fuzz/tools/update-seeds.sh [BUILD_DIR]     (default build/seeds, gcc)
#
# Builds fuzz-gen-seeds (fuzz/tools/gen_seeds.c: micro models from the golden generator,
# hand-built reader files from the conformance GGUF builder, tokenizer/sampler/ops/protocol
# inputs) and the catalog dumps (every row of the malformed-GGUF catalog and of the binding
# catalog, conformance/catalog/), then copies every file into fuzz/corpus/<target>/ named by
# its sha1 (existing files are
# kept: the corpus only grows), and refreshes fuzz/fixtures/ (the models the targets embed).
# Commit the new files.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
build=${1:-$root/build/seeds}
cmake -S "$root" -B "$build" -G Ninja >/dev/null
cmake --build "$build" --target fuzz-gen-seeds >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/fuzz-gen-seeds" "$tmp"
cmake --build "$build" --target fuzz-dump-gguf-catalog fuzz-dump-model-catalog >/dev/null
"$build/fuzz-dump-gguf-catalog" "$tmp/gguf_parse"
"$build/fuzz-dump-model-catalog" "$tmp/model_load"
mkdir -p "$root/fuzz/fixtures"
cp "$tmp"/fixtures/* "$root/fuzz/fixtures/"
for dir in "$tmp"/*/; do
  t=$(basename "$dir")
  [ "$t" = fixtures ] && continue
  mkdir -p "$root/fuzz/corpus/$t"
  added=0
  for f in "$dir"*; do
    h=$(sha1sum < "$f" | cut -c1-40)
    if [ ! -e "$root/fuzz/corpus/$t/$h" ]; then cp "$f" "$root/fuzz/corpus/$t/$h"; added=$((added + 1)); fi
  done
  echo "update-seeds: $t: $added new file(s), $(ls "$root/fuzz/corpus/$t" | wc -l) in all"
done
