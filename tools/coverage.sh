#!/usr/bin/env bash
# tools/coverage.sh — the coverage gate of the test command (issue 6; tools/test-all.sh runs it).
#
#   tools/coverage.sh               build, run everything, report, gate
#   tools/coverage.sh --per-corpus  also: the coverage each fuzz corpus reaches alone
#
# 1. gcc --coverage build (-DGGUFREF_COVERAGE=ON: -O0) in $BUILD.
# 2. Everything the test command runs on the library, with counters zeroed first: every ctest
#    suite (conformance suites, golden checks, and every fuzz corpus file through its replay
#    main), then the acceptance harness (python3 -m pytest harness --quick) against this build's
#    CLI when pytest is available. The harness's own pass/fail is gated by its own stage, not
#    here; a failing ctest suite fails this stage too.
# 3. lcov 1.16 capture with branch coverage (--rc lcov_branch_coverage=1), kept to
#    reference/src (the library: the gate's scope); genhtml writes the HTML report to
#    $BUILD/coverage-html/index.html.
# 4. Gate: line >= LINE_MIN, branch >= BRANCH_MIN, functions >= FUNC_MIN (percent).
#
# Branches on assert() lines are excluded (lcov_excl_br_line): an assert states a proven
# invariant, so its failing branch is unreachable by construction; the lines themselves count.
# Nothing else is excluded. The summary prints the numbers with and without that exclusion.
#
# Environment
#   BUILD              build directory (default build/coverage)
#   JOBS               parallel build and ctest jobs (default nproc)
#   LINE_MIN           default 95      BRANCH_MIN   default 85      FUNC_MIN   default 100
#   COVERAGE_ENFORCE   1 (default) fails below a threshold; 0 reports only
#   COVERAGE_HARNESS   1 (default) runs the harness when pytest is there; 0 skips it
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
BUILD=${BUILD:-$root/build/coverage}
case "$BUILD" in /*) ;; *) BUILD=$root/$BUILD ;; esac
JOBS=${JOBS:-$(nproc)}
LINE_MIN=${LINE_MIN:-95}
BRANCH_MIN=${BRANCH_MIN:-85}
FUNC_MIN=${FUNC_MIN:-100}
COVERAGE_ENFORCE=${COVERAGE_ENFORCE:-1}
COVERAGE_HARNESS=${COVERAGE_HARNESS:-1}
shared=${GGUFREF_SHARED_DIR:-$root/../shared}
per_corpus=0
[ "${1:-}" = --per-corpus ] && per_corpus=1
start=$(date +%s)
say() { printf '[coverage %4ss] %s\n' "$(( $(date +%s) - start ))" "$*"; }

rc_branch=(--rc lcov_branch_coverage=1)
rc_excl=(--rc 'lcov_excl_br_line=LCOV_EXCL_BR_LINE|assert\(')
mkdir -p "$BUILD"
log=$BUILD/coverage.log
: > "$log"

say "gcc --coverage build in $BUILD"
CC=${COVERAGE_CC:-gcc} cmake -S "$root" -B "$BUILD" -G Ninja -DGGUFREF_SHARED_DIR="$shared" \
  -DGGUFREF_COVERAGE=ON >> "$log"
cmake --build "$BUILD" -j "$JOBS" >> "$log" 2>&1 || { tail -n 30 "$log"; exit 1; }

# Every instrumented line at zero (lcov --initial), added to each capture so that files a run
# never entered count as uncovered instead of disappearing from the report.
say "baseline (every instrumented line at zero)"
lcov --quiet "${rc_branch[@]}" --capture --initial --directory "$BUILD" --base-directory "$root" \
  --output-file "$BUILD/base-raw.info" >> "$log" 2>&1
lcov --quiet "${rc_branch[@]}" "${rc_excl[@]}" --capture --initial --directory "$BUILD" \
  --base-directory "$root" --output-file "$BUILD/base.info" >> "$log" 2>&1

# capture NAME: counters -> $BUILD/NAME.info restricted to reference/src (with the assert
# exclusion) and NAME-raw.info (without it).
capture() {
  local name=$1 v
  for v in raw excl; do
    local rc=("${rc_branch[@]}") base=$BUILD/base-raw.info out=$BUILD/$name-raw.info
    if [ "$v" = excl ]; then rc+=("${rc_excl[@]}"); base=$BUILD/base.info; out=$BUILD/$name.info; fi
    lcov --quiet "${rc[@]}" --capture --directory "$BUILD" --base-directory "$root" \
      --output-file "$BUILD/$name-run.info" >> "$log" 2>&1
    lcov --quiet "${rc[@]}" --add-tracefile "$base" --add-tracefile "$BUILD/$name-run.info" \
      --output-file "$BUILD/$name-all.info" >> "$log" 2>&1
    lcov --quiet "${rc[@]}" --extract "$BUILD/$name-all.info" "$root/reference/src/*" \
      --output-file "$out" >> "$log" 2>&1
  done
}

# summary FILE: "line branch function" percentages (and counts) of an .info file.
summary() {
  lcov "${rc_branch[@]}" --summary "$1" 2>&1 |
    awk '/lines\.\.\.\.\.\.:/ { l = $2; lc = $3 " " $4 " " $5 " " $6 }
         /functions\.\.:/    { f = $2; fc = $3 " " $4 " " $5 " " $6 }
         /branches\.\.\.:/   { b = $2; bc = $3 " " $4 " " $5 " " $6 }
         END { gsub(/%/, "", l); gsub(/%/, "", f); gsub(/%/, "", b);
               printf "%s %s %s|%s|%s|%s\n", (l ? l : 0), (b ? b : 0), (f ? f : 0), lc, bc, fc }'
}

if [ "$per_corpus" = 1 ]; then
  say "each fuzz corpus alone"
  printf '%-12s %8s %8s %8s\n' corpus line% branch% func%
  for dir in "$root"/fuzz/corpus/*/; do
    t=$(basename "$dir")
    [ -x "$BUILD/fuzz/fuzz_${t}_replay" ] || continue
    lcov --quiet --zerocounters --directory "$BUILD" >> "$log" 2>&1
    "$BUILD/fuzz/fuzz_${t}_replay" "$dir" >> "$log" 2>&1 || say "  $t: replay failed (see $log)"
    capture "corpus-$t"
    read -r l b f _ <<< "$(summary "$BUILD/corpus-$t.info" | tr '|' ' ')"
    printf '%-12s %8s %8s %8s\n' "$t" "$l" "$b" "$f"
  done
fi

say "ctest (all suites and every corpus replay), counters zeroed"
lcov --quiet --zerocounters --directory "$BUILD" >> "$log" 2>&1
ctest --test-dir "$BUILD" -j "$JOBS" --output-on-failure > "$BUILD/ctest.log" 2>&1 || {
  grep -E 'tests passed|Failed|\*\*\*' "$BUILD/ctest.log" | tail -n 20
  say "FAIL: ctest failed under the coverage build (log: $BUILD/ctest.log)"
  exit 1
}
grep -E 'tests passed' "$BUILD/ctest.log" || true

if [ "$COVERAGE_HARNESS" = 1 ] && /usr/bin/python3 -c 'import pytest' 2>/dev/null && [ -d "$root/harness" ]; then
  say "acceptance harness (--quick) against this build"
  if GGUFREF_BUILD_DIR=$BUILD /usr/bin/python3 -m pytest "$root/harness" --quick -q \
       > "$BUILD/harness.log" 2>&1; then
    tail -n 1 "$BUILD/harness.log"
  else
    tail -n 3 "$BUILD/harness.log"
    say "note: the harness reported failures (its own stage gates them; log: $BUILD/harness.log)"
  fi
fi

say "lcov capture (reference/src) and genhtml"
capture total
rm -rf "$BUILD/coverage-html"
genhtml --quiet "${rc_branch[@]}" --branch-coverage --legend --title "ggufref reference/src" \
  --prefix "$root" --output-directory "$BUILD/coverage-html" "$BUILD/total.info" >> "$log" 2>&1
IFS='|' read -r pct lines branches funcs <<< "$(summary "$BUILD/total.info")"
read -r line branch func <<< "$pct"
IFS='|' read -r raw_pct _ raw_branches _ <<< "$(summary "$BUILD/total-raw.info")"
read -r _ raw_branch _ <<< "$raw_pct"
printf 'coverage of reference/src (whole test command):\n'
printf '  lines      %6s%%  %s   (gate >= %s%%)\n' "$line" "$lines" "$LINE_MIN"
printf '  branches   %6s%%  %s   (gate >= %s%%; assert() branches excluded)\n' "$branch" \
  "$branches" "$BRANCH_MIN"
printf '             %6s%%  %s   (same, assert() branches included)\n' "$raw_branch" "$raw_branches"
printf '  functions  %6s%%  %s   (gate >= %s%%)\n' "$func" "$funcs" "$FUNC_MIN"
printf '  report     %s/coverage-html/index.html\n' "$BUILD"
printf 'line\t%s\nbranch\t%s\nbranch_with_asserts\t%s\nfunction\t%s\n' "$line" "$branch" \
  "$raw_branch" "$func" > "$BUILD/coverage-summary.tsv"

below() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }
failed=0
below "$line" "$LINE_MIN" && { say "below gate: lines $line% < $LINE_MIN%"; failed=1; }
below "$branch" "$BRANCH_MIN" && { say "below gate: branches $branch% < $BRANCH_MIN%"; failed=1; }
below "$func" "$FUNC_MIN" && { say "below gate: functions $func% < $FUNC_MIN%"; failed=1; }
if [ "$failed" = 1 ]; then
  # The files furthest from the gate, to know where tests are missing.
  lcov "${rc_branch[@]}" --list "$BUILD/total.info" 2>/dev/null | grep -E '\.c|\.h' |
    sort -t'|' -k2 -n | head -n 8 || true
  if [ "$COVERAGE_ENFORCE" = 1 ]; then say "FAIL: coverage gate"; exit 1; fi
  say "coverage gate not met (COVERAGE_ENFORCE=0: reported only)"
else
  say "coverage gate passed"
fi
