#!/bin/bash -eu
# fuzz/build.sh — builds every fuzz target the OSS-Fuzz way, so the same script serves
# OSS-Fuzz, ClusterFuzzLite (.clusterfuzzlite/build.sh calls it), AFL++ and local libFuzzer runs
# (tools/fuzz.sh).
#
# Environment (OSS-Fuzz conventions; defaults give a local libFuzzer + ASan + UBSan build):
#   CC, CXX              compilers (clang, clang++; afl-clang-fast, afl-clang-fast++ for AFL++)
#   CFLAGS               compile flags: sanitizers and -fsanitize=fuzzer-no-link (OSS-Fuzz sets
#                        them); the project's own flags (C11, -ffp-contract=off, ...) are added
#   LIB_FUZZING_ENGINE   what links the engine in (-fsanitize=fuzzer, /usr/lib/afl/libAFLDriver.a)
#   OUT                  output: <target>, <target>.dict, <target>.options,
#                        <target>_seed_corpus.zip for every fuzz/<target>.c
#   WORK                 scratch for objects (default $OUT/.work)
#   JOBS                 parallel compiles (default 2)
#   FUZZ_TARGETS         space-separated subset of targets to build (default: all)
#   CJSON_SRC            a cJSON source checkout (cJSON.c, cJSON.h) to compile in for the
#                        protocol target (default $SRC/cJSON when it exists, as the
#                        .clusterfuzzlite image provides: runner images lack libcjson.so);
#                        otherwise the system's libcjson (libcjson-dev) is linked
#
# A target is every fuzz/*.c except replay_main.c. The library (every reference/src/*.c) is
# compiled with the same CFLAGS so the engine sees its coverage, with GGUFREF_FAULT_INJECTION
# (allocation counters) as in the cmocka and replay builds.
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${CC:=clang}"
: "${CXX:=clang++}"
: "${CFLAGS:=-O2 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all -fsanitize=fuzzer-no-link}"
: "${LIB_FUZZING_ENGINE:=-fsanitize=fuzzer}"
: "${OUT:=$src/build/fuzz/libfuzzer}"
: "${WORK:=$OUT/.work}"
: "${JOBS:=2}"
: "${FUZZ_TARGETS:=}"
project_flags="-std=c11 -ffp-contract=off -fno-fast-math -Wall -Wextra -Wpedantic
  -DGGUFREF_FAULT_INJECTION=1 -I$src/reference/include -I$src/reference/src -I$src/fuzz
  -I$src/reference/serve -I$WORK/include"

mkdir -p "$OUT" "$WORK/lib" "$WORK/fuzz"
rm -f "$WORK"/lib/*.o "$WORK"/fuzz/*.o

# compile SOURCE OBJECT: one translation unit with the engine's and the project's flags.
compile() {
  # shellcheck disable=SC2086 # CFLAGS and project_flags are word lists by design
  $CC $CFLAGS $project_flags -c "$1" -o "$2"
}
export -f compile
export CC CFLAGS project_flags

# The library, in parallel.
for f in "$src"/reference/src/*.c; do
  printf '%s\0%s\0' "$f" "$WORK/lib/$(basename "${f%.c}").o"
done | xargs -0 -n 2 -P "$JOBS" bash -c 'compile "$1" "$2"' _
rm -f "$WORK/libggufref_fuzz.a"
ar rcs "$WORK/libggufref_fuzz.a" "$WORK"/lib/*.o

# The embedded fixtures (fuzz/fixtures.txt).
embed_args=()
while read -r name path; do
  case "$name" in '' | '#'*) continue ;; esac
  embed_args+=("$name=$src/$path")
done < "$src/fuzz/fixtures.txt"
sh "$src/fuzz/embed.sh" "$WORK/fuzz/fixtures.c" "${embed_args[@]+"${embed_args[@]}"}"
compile "$WORK/fuzz/fixtures.c" "$WORK/fuzz/fixtures.o"

# The protocol target also needs the wire protocol server (reference/serve/) and cJSON: from
# CJSON_SRC (static, instrumented), else the system's libcjson.
: "${CJSON_SRC:=${SRC:-/nonexistent}/cJSON}"
have_cjson=0
cjson_link=(-lcjson)
if [ -f "$CJSON_SRC/cJSON.c" ]; then
  mkdir -p "$WORK/include/cjson"
  cp "$CJSON_SRC/cJSON.h" "$WORK/include/cjson/cJSON.h"
  # shellcheck disable=SC2086
  $CC $CFLAGS -I"$CJSON_SRC" -c "$CJSON_SRC/cJSON.c" -o "$WORK/fuzz/cJSON.o"
  cjson_link=("$WORK/fuzz/cJSON.o")
  have_cjson=1
elif echo '#include <cjson/cJSON.h>' | $CC -E -x c - > /dev/null 2>&1; then
  have_cjson=1
fi
if [ "$have_cjson" = 1 ]; then
  serve_objs=()
  for f in "$src"/reference/serve/*.c; do
    [ "$(basename "$f")" = stub.c ] && continue
    o=$WORK/fuzz/serve_$(basename "${f%.c}").o
    # shellcheck disable=SC2086
    $CC $CFLAGS $project_flags -DGGUFREF_HAVE_CJSON=1 -c "$f" -o "$o"
    serve_objs+=("$o")
  done
fi

# The targets (every fuzz/*.c but replay_main.c, or FUZZ_TARGETS), their dictionaries,
# options and seed corpora.
targets=()
for f in "$src"/fuzz/*.c; do
  t=$(basename "${f%.c}")
  [ "$t" = replay_main ] && continue
  if [ "$t" = protocol ] && [ "$have_cjson" = 0 ]; then
    echo "fuzz/build.sh: cJSON headers not found: skipping the protocol target" >&2
    continue
  fi
  [ -z "$FUZZ_TARGETS" ] || [[ " $FUZZ_TARGETS " == *" $t "* ]] || continue
  targets+=("$t")
done
for t in "${targets[@]}"; do
  f=$src/fuzz/$t.c
  printf '%s\0%s\0' "$f" "$WORK/fuzz/$t.o"
done | xargs -0 -n 2 -P "$JOBS" bash -c 'compile "$1" "$2"' _
for t in "${targets[@]}"; do
  extra=()
  [ "$t" = protocol ] && extra=("${serve_objs[@]}" "${cjson_link[@]}")
  # shellcheck disable=SC2086
  $CXX $CFLAGS "$WORK/fuzz/$t.o" "${extra[@]+"${extra[@]}"}" "$WORK/fuzz/fixtures.o" \
    "$WORK/libggufref_fuzz.a" $LIB_FUZZING_ENGINE -lm -lpthread -o "$OUT/$t"
  [ -f "$src/fuzz/dict/$t.dict" ] && cp "$src/fuzz/dict/$t.dict" "$OUT/$t.dict"
  [ -f "$src/fuzz/$t.options" ] && cp "$src/fuzz/$t.options" "$OUT/$t.options"
  rm -f "$OUT/${t}_seed_corpus.zip"
  if [ -d "$src/fuzz/corpus/$t" ] && [ -n "$(ls -A "$src/fuzz/corpus/$t")" ]; then
    (cd "$src/fuzz/corpus/$t" && zip -q -X -r "$OUT/${t}_seed_corpus.zip" .)
  fi
  echo "fuzz/build.sh: $OUT/$t"
done
