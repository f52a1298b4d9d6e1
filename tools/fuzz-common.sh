# tools/fuzz-common.sh — what tools/fuzz.sh and tools/fuzz-campaign.sh share. Sourced, not run.
#
# The sourcing script first sets root (the repository root) and BUILD (its output directory,
# relative paths taken from root) and defines say MESSAGE (its progress line). This file
# makes BUILD absolute, defaults JOBS to nproc, creates $BUILD/logs and defines:
#   targets            array: TARGETS (space-separated), else every fuzz/*.c but replay_main
#   options T          libFuzzer flags from fuzz/T.options ([libfuzzer] key = value), one per
#                      line, as OSS-Fuzz reads them
#   san                the sanitizer CFLAGS of the CI build (ASan + UBSan, no recovery)
#   fuzz_build OUT [VAR=value...]
#                      fuzz/build.sh for ${targets[@]} into OUT with the given environment;
#                      log $BUILD/logs/build-<basename OUT>.log; on failure its tail, then exit 1
#   libfuzzer_build OUT
#                      fuzz_build with clang, libFuzzer and $san (the build CI fuzzes with)
# shellcheck shell=bash

: "${root:?tools/fuzz-common.sh: the sourcing script sets root}" "${BUILD:?}"
case "$BUILD" in /*) ;; *) BUILD=$root/$BUILD ;; esac
JOBS=${JOBS:-$(nproc)}
mkdir -p "$BUILD/logs"

all_targets() {
  for f in "$root"/fuzz/*.c; do
    t=$(basename "${f%.c}")
    [ "$t" = replay_main ] || echo "$t"
  done
}
read -r -a targets <<< "${TARGETS:-$(all_targets | tr '\n' ' ')}"

options() {
  local f=$root/fuzz/$1.options
  [ -f "$f" ] || return 0
  awk '/^\[/ { s = $0; next }
       s == "[libfuzzer]" && /=/ { k = $0; sub(/=.*/, "", k); v = $0; sub(/^[^=]*=/, "", v);
         gsub(/[ \t]/, "", k); gsub(/^[ \t]+|[ \t]+$/, "", v); print "-" k "=" v }' "$f"
}

san="-O2 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"

fuzz_build() {
  local out=$1; shift
  env "$@" OUT="$out" FUZZ_TARGETS="${targets[*]}" JOBS="$JOBS" bash "$root/fuzz/build.sh" \
    > "$BUILD/logs/build-$(basename "$out").log" 2>&1 || {
    tail -n 40 "$BUILD/logs/build-$(basename "$out").log"
    say "FAIL: fuzz/build.sh for $(basename "$out")"
    exit 1
  }
}

libfuzzer_build() {
  fuzz_build "$1" CC=clang CXX=clang++ CFLAGS="$san -fsanitize=fuzzer-no-link" \
    LIB_FUZZING_ENGINE=-fsanitize=fuzzer
}
