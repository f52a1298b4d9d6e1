#!/usr/bin/env bash
# Installs what is missing, builds ggufref, and runs the main job on the bundled fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh
cmake -S . -B build/release -G Ninja >/dev/null
cmake --build build/release -j "$(nproc)"
shopt -s nullglob
models=(golden/models/*.gguf)
if [ ${#models[@]} -eq 0 ]; then echo "quickstart: no fixtures in golden/models yet"; exit 0; fi
for m in "${models[@]}"; do
  echo "== ggufref info $m"
  ./build/release/ggufref info "$m"
done
