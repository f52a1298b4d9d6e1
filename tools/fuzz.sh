#!/usr/bin/env bash
# tools/fuzz.sh — the fuzz stage of the test command (issue 6; tools/test-all.sh runs it).
#
#   tools/fuzz.sh              build, replay every corpus, fuzz every target briefly, AFL++ smoke
#   tools/fuzz.sh --speed      exec/s of every target alone on one core (SPEED_TIME s each,
#                              default 20), with the sanitizer build CI uses and a plain
#                              -O2 build (no sanitizers); no replay, no AFL++
#   tools/fuzz.sh --replay     steps 1 and 2 only
#
# Steps
#   1. build every fuzz/<target>.c with clang + libFuzzer + ASan + UBSan through fuzz/build.sh
#      (the OSS-Fuzz build script) into $BUILD/libfuzzer
#   2. regression: every file of fuzz/corpus/<target>/ runs once, file by file (so no input is
#      cut to max_len); any crash, leak (LeakSanitizer) or timeout fails
#   3. fuzz every target for its budget, JOBS targets at a time (one core each), starting from
#      its corpus; new inputs go to a scratch corpus under $BUILD, never into the repository;
#      a crash, leak or timeout leaves its input in $BUILD/artifacts/<target>/ and fails
#   4. AFL++: gguf_parse built with afl-clang-fast (ASan + UBSan) through the same build script,
#      afl-fuzz for AFL_TIME seconds on its corpus; any crash or hang fails
# Prints exec/s and coverage per target (libFuzzer's final stats) and writes
# $BUILD/fuzz-stats.tsv. The long campaign that grows the corpus is tools/fuzz-campaign.sh.
#
# Environment
#   BUILD            output directory (default build/fuzz)
#   JOBS             fuzzers run at once (default nproc)
#   FUZZ_TIME_<t>    seconds for target t (defaults: gguf_parse, model_load 60; others 45:
#                    300 s of fuzzing in all, about 150 s of wall time on two cores)
#   FUZZ_SCALE       multiplies every libFuzzer budget (e.g. 0.1 for a quick check; default 1)
#   AFL_TIME         seconds of AFL++ (default 30; 0 skips AFL++)
#   TARGETS          space-separated subset of targets (default: every fuzz/*.c)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mode=${1:-all}
BUILD=${BUILD:-$root/build/fuzz}
FUZZ_SCALE=${FUZZ_SCALE:-1}
AFL_TIME=${AFL_TIME:-30}
SPEED_TIME=${SPEED_TIME:-20}
start=$(date +%s)
say() { printf '[fuzz %4ss] %s\n' "$(( $(date +%s) - start ))" "$*"; }
# shellcheck source=tools/fuzz-common.sh
. "$root/tools/fuzz-common.sh" # targets, options, san, fuzz_build, libfuzzer_build

# Seconds of libFuzzer for a target: FUZZ_TIME_<t>, else the default, times FUZZ_SCALE.
budget() {
  local t=$1 var="FUZZ_TIME_$1" base
  case "$t" in gguf_parse | model_load) base=60 ;; *) base=45 ;; esac
  base=${!var:-$base}
  awk -v b="$base" -v s="$FUZZ_SCALE" 'BEGIN { v = int(b * s + 0.5); print (v < 1 ? 1 : v) }'
}

# stats LOG: "exec/s units cov ft" from libFuzzer's -print_final_stats and last status line.
stats() {
  awk '/stat::average_exec_per_sec:/ { e = $2 } /stat::number_of_executed_units:/ { u = $2 }
       / cov: / { for (i = 1; i < NF; i++) { if ($i == "cov:") c = $(i + 1); if ($i == "ft:") f = $(i + 1) } }
       END { printf "%s %s %s %s\n", e ? e : "?", u ? u : "?", c ? c : "?", f ? f : "?" }' "$1"
}

lf=$BUILD/libfuzzer

if [ "$mode" = --speed ]; then
  say "building (sanitizers, and plain -O2) for ${targets[*]}"
  libfuzzer_build "$lf"
  fuzz_build "$BUILD/plain" CC=clang CXX=clang++ CFLAGS="-O2 -g -fsanitize=fuzzer-no-link" \
    LIB_FUZZING_ENGINE=-fsanitize=fuzzer
  printf '%-12s %14s %14s\n' target 'asan+ubsan/s' 'plain -O2/s'
  for t in "${targets[@]}"; do
    row=("$t")
    for variant in "$lf" "$BUILD/plain"; do
      mkdir -p "$BUILD/speed/$t"
      (cd "$variant" && ASAN_OPTIONS=detect_leaks=1 ./"$t" $(options "$t") \
        -max_total_time="$SPEED_TIME" -print_final_stats=1 -close_fd_mask=1 \
        "$BUILD/speed/$t" "$root/fuzz/corpus/$t") > "$BUILD/logs/speed-$t.log" 2>&1 || true
      row+=("$(stats "$BUILD/logs/speed-$t.log" | cut -d' ' -f1)")
      rm -rf "$BUILD/speed/$t"
    done
    printf '%-12s %14s %14s\n' "${row[@]}"
  done
  exit 0
fi

say "step 1: libFuzzer build (clang, ASan+UBSan) of ${targets[*]}"
libfuzzer_build "$lf"

say "step 2: corpus replay (regression)"
for t in "${targets[@]}"; do
  corpus=$root/fuzz/corpus/$t
  mkdir -p "$corpus"
  n=$(find "$corpus" -maxdepth 1 -type f | wc -l)
  if [ "$n" -eq 0 ]; then say "  $t: empty corpus"; continue; fi
  # One process per batch of files; libFuzzer runs each file once and reports leaks at exit.
  if ! (cd "$lf" && find "$corpus" -maxdepth 1 -type f -print0 | sort -z |
        ASAN_OPTIONS=detect_leaks=1 xargs -0 -n 200 ./"$t" -timeout=30 -rss_limit_mb=2048 \
        > "$BUILD/logs/replay-$t.log" 2>&1); then
    grep -E 'ERROR|SUMMARY|Running:|property failed' "$BUILD/logs/replay-$t.log" | tail -n 20
    say "FAIL: $t corpus replay (log: $BUILD/logs/replay-$t.log)"
    exit 1
  fi
  say "  $t: $n input(s) ok"
done
[ "$mode" = --replay ] && exit 0

say "step 3: libFuzzer, $JOBS at a time"
rm -rf "$BUILD/scratch" "$BUILD/artifacts"
run_one() { # target seconds
  local t=$1 secs=$2
  mkdir -p "$BUILD/scratch/$t" "$BUILD/artifacts/$t"
  set +e
  (cd "$lf" && ASAN_OPTIONS=detect_leaks=1 ./"$t" $(options "$t") -max_total_time="$secs" \
    -rss_limit_mb=2048 -print_final_stats=1 -close_fd_mask=1 \
    -artifact_prefix="$BUILD/artifacts/$t/" "$BUILD/scratch/$t" "$root/fuzz/corpus/$t") \
    > "$BUILD/logs/fuzz-$t.log" 2>&1
  echo $? > "$BUILD/logs/fuzz-$t.rc"
}
# Longest budgets first, so the two 60 s targets share the cores.
mapfile -t order < <(for t in "${targets[@]}"; do echo "$(budget "$t") $t"; done | sort -rn)
running=0
for line in "${order[@]}"; do
  read -r secs t <<< "$line"
  [ -d "$root/fuzz/corpus/$t" ] || mkdir -p "$root/fuzz/corpus/$t"
  say "  $t: ${secs}s"
  run_one "$t" "$secs" &
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then wait -n || true; running=$((running - 1)); fi
done
wait || true
: > "$BUILD/fuzz-stats.tsv"
failed=0
printf '%-12s %6s %10s %12s %8s %8s  %s\n' target secs 'exec/s' executions cov ft result
for line in "${order[@]}"; do
  read -r secs t <<< "$line"
  rc=$(cat "$BUILD/logs/fuzz-$t.rc")
  read -r eps units cov ft <<< "$(stats "$BUILD/logs/fuzz-$t.log")"
  result=ok
  if [ "$rc" -ne 0 ]; then result="FAIL (exit $rc)"; failed=1; fi
  printf '%-12s %6s %10s %12s %8s %8s  %s\n' "$t" "$secs" "$eps" "$units" "$cov" "$ft" "$result"
  printf 'libfuzzer\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$secs" "$eps" "$units" "$cov" "$rc" \
    >> "$BUILD/fuzz-stats.tsv"
  if [ "$rc" -ne 0 ]; then
    grep -E 'ERROR|SUMMARY|property failed|Test unit written' "$BUILD/logs/fuzz-$t.log" | tail -n 20
  fi
done
if [ "$failed" -ne 0 ]; then
  say "FAIL: libFuzzer found a problem; inputs in $BUILD/artifacts/ (add them to fuzz/corpus/)"
  exit 1
fi

if [ "$AFL_TIME" -gt 0 ] && printf '%s\n' "${targets[@]}" | grep -qx gguf_parse; then
  say "step 4: AFL++ build (afl-clang-fast, ASan+UBSan) + ${AFL_TIME}s on gguf_parse"
  afl=$BUILD/afl
  saved=("${targets[@]}")
  targets=(gguf_parse)
  fuzz_build "$afl" CC=afl-clang-fast CXX=afl-clang-fast++ CFLAGS="-O2 -g" AFL_USE_ASAN=1 \
    AFL_USE_UBSAN=1 AFL_QUIET=1 LIB_FUZZING_ENGINE=/usr/lib/afl/libAFLDriver.a
  targets=("${saved[@]}")
  rm -rf "$afl/findings"
  set +e
  env -u ASAN_OPTIONS -u UBSAN_OPTIONS AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
    AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_FAST_CAL=1 AFL_SKIP_CRASHES=0 AFL_NO_CRASH_README=1 \
    afl-fuzz -V "$AFL_TIME" -m none -t 5000 -i "$root/fuzz/corpus/gguf_parse" \
      -o "$afl/findings" -x "$afl/gguf_parse.dict" -- "$afl/gguf_parse" \
    > "$BUILD/logs/afl-gguf_parse.log" 2>&1
  rc=$?
  set -e
  st=$afl/findings/default/fuzzer_stats
  if [ "$rc" -ne 0 ] || [ ! -f "$st" ]; then
    tail -n 30 "$BUILD/logs/afl-gguf_parse.log"
    say "FAIL: afl-fuzz exited $rc"
    exit 1
  fi
  field() { awk -F: -v k="$1" '{ gsub(/[ \t]/, "", $1) } $1 == k { gsub(/[ \t]/, "", $2); print $2 }' "$st"; }
  crashes=$(find "$afl/findings/default/crashes" -type f ! -name README.txt | wc -l)
  hangs=$(find "$afl/findings/default/hangs" -type f | wc -l)
  printf 'afl++ gguf_parse: %s exec/s, %s executions, %s paths, %s crashes, %s hangs\n' \
    "$(field execs_per_sec)" "$(field execs_done)" "$(field corpus_count)" "$crashes" "$hangs"
  printf 'afl++\tgguf_parse\t%s\t%s\t%s\t%s\t%s\n' "$AFL_TIME" "$(field execs_per_sec)" \
    "$(field execs_done)" "$(field bitmap_cvg)" "$((crashes + hangs))" >> "$BUILD/fuzz-stats.tsv"
  if [ "$crashes" -ne 0 ] || [ "$hangs" -ne 0 ]; then
    say "FAIL: AFL++ found crashes/hangs in $afl/findings/default/"
    exit 1
  fi
fi
say "fuzz stage passed"
