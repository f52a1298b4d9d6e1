#!/usr/bin/env bash
# Installs what is missing, builds ggufref, and runs the main job: the acceptance suite
# (harness/, SPEC chapters 9-10) against the reference, then prints where the report is.
# Point the same suite at another implementation with one flag:
#   /usr/bin/python3 -m pytest harness --impl "COMMAND THAT STARTS YOUR PROTOCOL SERVER"
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh
cmake -S . -B build/release -G Ninja >/dev/null
cmake --build build/release -j "$(nproc)"
report=build/release/harness-report
rc=0
GGUFREF_BUILD_DIR=build/release /usr/bin/python3 -m pytest harness -q -p no:cacheprovider \
  --impl "build/release/ggufref serve" --report-dir "$report" || rc=$?
echo
echo "quickstart: conformance report: $report/report.html (also report.md, report.json)"
echo "quickstart: JUnit XML:          $report/junit.xml"
echo "quickstart: your implementation: /usr/bin/python3 -m pytest harness --impl \"YOUR COMMAND\""
exit "$rc"
