#!/usr/bin/env bash
# tools/fuzz-campaign.sh — a long fuzzing campaign that grows the regression corpus (issue 6).
#
#   TIME=3600 tools/fuzz-campaign.sh                  every target for an hour, JOBS at a time
#   TIME=600 TARGETS="gguf_parse model_load" tools/fuzz-campaign.sh
#
# 1. Builds every target with libFuzzer + ASan + UBSan through fuzz/build.sh.
# 2. Fuzzes each target for TIME seconds in libFuzzer's fork mode (-fork=1: a crash, leak,
#    timeout or OOM is saved and the campaign goes on), JOBS targets at a time, from a working
#    corpus under $BUILD/work/<target> that persists between campaigns (seeded from
#    fuzz/corpus/<target>) with the target's dictionary and options.
# 3. Minimizes every crash/leak/timeout/oom input it found (-minimize_crash) and adds it, named
#    by its sha1, to fuzz/corpus/<target>/: every crash ever found stays in the corpus, and
#    from then on is a regression test (ctest fuzz.<target>.<sha1> and tools/fuzz.sh replay).
# 4. Merges the working corpus into fuzz/corpus/<target>/ (-merge=1 -use_counters=0: only
#    inputs that reach an edge the corpus does not, so the committed corpus grows slowly and
#    stays small; libFuzzer names them by sha1). Files already there are never removed.
# Then prints what it added. Review and commit fuzz/corpus/; report crashes to the owner of the
# code (see fuzz/README.md). A new crash input makes the test command fail until it is fixed.
#
# Environment: TIME (seconds per target, required), TARGETS (default all), JOBS (default
# nproc), BUILD (default build/fuzz-campaign), RSS_LIMIT_MB (default 2048).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
: "${TIME:?set TIME=seconds per target, e.g. TIME=3600 tools/fuzz-campaign.sh}"
BUILD=${BUILD:-$root/build/fuzz-campaign}
RSS_LIMIT_MB=${RSS_LIMIT_MB:-2048}
start=$(date +%s)
say() { printf '[campaign %5ss] %s\n' "$(( $(date +%s) - start ))" "$*"; }
# shellcheck source=tools/fuzz-common.sh
. "$root/tools/fuzz-common.sh" # targets, options, libfuzzer_build

lf=$BUILD/libfuzzer
say "building ${targets[*]}"
libfuzzer_build "$lf"

campaign() { # target
  local t=$1
  mkdir -p "$BUILD/work/$t" "$BUILD/artifacts/$t" "$root/fuzz/corpus/$t"
  (cd "$lf" && ASAN_OPTIONS=detect_leaks=1 ./"$t" $(options "$t") -fork=1 -ignore_crashes=1 \
     -ignore_timeouts=1 -ignore_ooms=1 -max_total_time="$TIME" -rss_limit_mb="$RSS_LIMIT_MB" \
     -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$t/" \
     "$BUILD/work/$t" "$root/fuzz/corpus/$t") > "$BUILD/logs/campaign-$t.log" 2>&1 || true
}
say "fuzzing ${#targets[@]} target(s) for ${TIME}s each, $JOBS at a time"
running=0
for t in "${targets[@]}"; do
  campaign "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then wait -n || true; running=$((running - 1)); fi
done
wait || true

added_crashes=0
for t in "${targets[@]}"; do
  corpus=$root/fuzz/corpus/$t
  before=$(find "$corpus" -maxdepth 1 -type f | wc -l)
  for a in "$BUILD/artifacts/$t"/*; do
    [ -f "$a" ] || continue
    case "$(basename "$a")" in *.min) continue ;; crash-* | leak-* | timeout-* | oom-*) ;; *) continue ;; esac
    min="$a.min"
    (cd "$lf" && ./"$t" $(options "$t") -minimize_crash=1 -runs=20000 \
       -exact_artifact_path="$min" "$a") > "$BUILD/logs/minimize-$t.log" 2>&1 || true
    [ -s "$min" ] || cp "$a" "$min"
    h=$(sha1sum < "$min" | cut -c1-40)
    if [ ! -e "$corpus/$h" ]; then
      cp "$min" "$corpus/$h"
      added_crashes=$((added_crashes + 1))
      say "$t: NEW FINDING $(basename "$a") -> fuzz/corpus/$t/$h"
    fi
    mkdir -p "$BUILD/artifacts/$t/done"
    mv "$a" "$min" "$BUILD/artifacts/$t/done/"
  done
  (cd "$lf" && ./"$t" $(options "$t") -merge=1 -use_counters=0 "$corpus" "$BUILD/work/$t") \
    > "$BUILD/logs/merge-$t.log" 2>&1 || say "$t: merge failed (see $BUILD/logs/merge-$t.log)"
  after=$(find "$corpus" -maxdepth 1 -type f | wc -l)
  # Fork mode's status lines: "#N: cov: C ft: F corp: K exec/s E oom/timeout/crash: a/b/c time: Ts"
  read -r units cov eps found <<< "$(awk '/^#[0-9]+: cov:/ { u = substr($1, 2); sub(/:/, "", u);
      for (i = 1; i < NF; i++) { if ($i == "cov:") c = $(i + 1); if ($i == "exec/s") e = $(i + 1);
        if ($i == "oom/timeout/crash:") f = $(i + 1) } }
      END { print (u ? u : "?"), (c ? c : "?"), (e ? e : "?"), (f ? f : "?") }' \
      "$BUILD/logs/campaign-$t.log")"
  say "$t: ${TIME}s, $units executions (last $eps exec/s), cov $cov, oom/timeout/crash $found, corpus $before -> $after files"
done
if [ "$added_crashes" -gt 0 ]; then
  say "$added_crashes new crash input(s) added to fuzz/corpus: they fail the test command until fixed"
fi
say "done: review and commit fuzz/corpus/"
