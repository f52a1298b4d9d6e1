#!/usr/bin/env bash
# determinism.sh — the logits of the reference are bit-identical across compilers, optimization
# levels, sanitizers and kernel paths (SPEC R-NUM-044), and thread counts (R-NUM-047).
#
#   tools/determinism.sh [OUT_DIR]        (default build/determinism)
#
# Builds tools/logits_dump.c + every reference/src/*.c with plain cc command lines, once
# per configuration below, runs each build on every fixture model (golden/models/*.gguf: every
# tensor type; plus ../shared/material's stories260K and the ollama F16 model when present),
# and compares the dumped logits bit patterns byte for byte with the first configuration's; then
# runs the first configuration again on 2 and 3 threads (LOGITS_DUMP_THREADS) and compares.
# A configuration whose compiler is missing is skipped with a message (clang: apt install clang).
# Environment: GGUFREF_SHARED_DIR (default ../shared), DETERMINISM_CONFIGS (names to run).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=${1:-$root/build/determinism}
shared=${GGUFREF_SHARED_DIR:-$root/../shared}
mkdir -p "$out"

# name | compiler | flags
configs=(
  "gcc-O0|gcc|-O0"
  "gcc-O2|gcc|-O2"
  "gcc-O3|gcc|-O3"
  "gcc-O3-portable|gcc|-O3 -DGGUFREF_NO_SIMD"
  "gcc-O3-native|gcc|-O3 -march=native"
  "gcc-O2-avx2|gcc|-O2 -DGGUFREF_NO_AVX512"
  "gcc-asan-ubsan|gcc|-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all"
  "clang-O0|clang|-O0"
  "clang-O3|clang|-O3"
  "clang-O2-portable|clang|-O2 -DGGUFREF_NO_SIMD"
  "clang-asan-ubsan|clang|-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all"
)

models=("$root"/golden/models/*.gguf)
for extra in "$shared/material/stories260K-f32.v1.gguf" "$shared/material/ollama/llama-2-tiny-random.gguf"; do
  if [ -f "$extra" ]; then models+=("$extra"); else echo "determinism: skipping absent $extra"; fi
done
if [ ! -f "${models[0]}" ]; then echo "determinism: no fixture models in golden/models" >&2; exit 1; fi

common=(-std=c11 -Wall -Wextra -Wpedantic -ffp-contract=off -fno-fast-math
        -I"$root/reference/include" -I"$root/reference/src")
sources=("$root"/reference/src/*.c "$root/tools/logits_dump.c")

reference="" failed=0 ran=0
for entry in "${configs[@]}"; do
  IFS='|' read -r name cc flags <<<"$entry"
  if [ -n "${DETERMINISM_CONFIGS:-}" ] && [[ " $DETERMINISM_CONFIGS " != *" $name "* ]]; then continue; fi
  if ! command -v "$cc" >/dev/null; then echo "determinism: $name skipped ($cc not installed)"; continue; fi
  extra=()
  [ "$cc" = gcc ] && extra=(-fexcess-precision=standard)
  # shellcheck disable=SC2086 # flags are words on purpose
  "$cc" $flags "${common[@]}" "${extra[@]}" "${sources[@]}" -o "$out/logits_dump-$name" -lm -lpthread
  ASAN_OPTIONS=detect_leaks=1 "$out/logits_dump-$name" "$out/logits-$name.bin" "${models[@]}" \
    >"$out/digests-$name.txt"
  ran=$((ran + 1))
  if [ -z "$reference" ]; then
    reference=$name
    printf 'determinism: %-20s %s bytes of logits from %d models (reference)\n' "$name" \
      "$(wc -c <"$out/logits-$name.bin")" "${#models[@]}"
  elif cmp -s "$out/logits-$reference.bin" "$out/logits-$name.bin"; then
    printf 'determinism: %-20s identical to %s\n' "$name" "$reference"
  else
    printf 'determinism: %-20s DIFFERS from %s; per-model digests:\n' "$name" "$reference"
    diff "$out/digests-$reference.txt" "$out/digests-$name.txt" || true
    failed=1
  fi
done
# R-NUM-047: the reference configuration again with the forward pass on 2 and 3 threads
for threads in 2 3; do
  LOGITS_DUMP_THREADS=$threads ASAN_OPTIONS=detect_leaks=1 "$out/logits_dump-$reference" \
    "$out/logits-$reference-t$threads.bin" "${models[@]}" >"$out/digests-$reference-t$threads.txt"
  if cmp -s "$out/logits-$reference.bin" "$out/logits-$reference-t$threads.bin"; then
    printf 'determinism: %-20s identical to %s\n' "$reference, $threads threads" "$reference"
  else
    printf 'determinism: %-20s DIFFERS from %s\n' "$reference, $threads threads" "$reference"
    diff "$out/digests-$reference.txt" "$out/digests-$reference-t$threads.txt" || true
    failed=1
  fi
done
if [ "$ran" -lt 2 ]; then echo "determinism: fewer than two configurations ran" >&2; exit 1; fi
exit "$failed"
