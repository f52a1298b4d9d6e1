#!/usr/bin/env bash
# Installs what is missing, builds ggufref, and runs the main job: the acceptance suite
# (harness/, SPEC chapters 9-10, 13) against the reference and, when tools/deps.sh could install
# it, against llama.cpp (harness/impls/llamacpp, node-llama-cpp) -- a runtime this project did
# not write -- then prints the per-level verdicts of both side by side (SPEC R-LEVEL-003) and
# where their reports are.
# Point the same suite at another implementation with one flag:
#   /usr/bin/python3 -m pytest harness --impl "COMMAND THAT STARTS YOUR PROTOCOL SERVER"
# Exit status: the reference's run (llama.cpp's failures are its own, listed in its report).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh
cmake -S . -B build/release -G Ninja >/dev/null
cmake --build build/release -j "$(nproc)"
report=build/release/harness-report
rc=0
GGUFREF_BUILD_DIR=build/release /usr/bin/python3 -m pytest harness -q -p no:cacheprovider \
  --impl "build/release/ggufref serve" --report-dir "$report" || rc=$?

lcpp_report=build/release/harness-report-llamacpp
lcpp=harness/impls/llamacpp
rm -f "$lcpp_report/report.json"
if command -v node >/dev/null && [ -d "$lcpp/node_modules/node-llama-cpp" ]; then
  echo
  echo "quickstart: the same suite against llama.cpp (node-llama-cpp, $lcpp)"
  xf=()
  [ -f "$lcpp/expected_failures.tsv" ] && xf=(--expected-failures "$lcpp/expected_failures.tsv")
  GGUFREF_BUILD_DIR=build/release /usr/bin/python3 -m pytest harness -q -p no:cacheprovider \
    --impl "node $lcpp/adapter.mjs" "${xf[@]}" --report-dir "$lcpp_report" || true
fi

echo
/usr/bin/python3 - "$report/report.json" "$lcpp_report/report.json" <<'EOF'
import json, os, sys

runs = []
for name, path in (("reference (ggufref)", sys.argv[1]), ("llama.cpp", sys.argv[2])):
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            runs.append((name, json.load(f), os.path.dirname(path)))
    else:
        runs.append((name, None, "not run (node-llama-cpp not installed: tools/deps.sh)"))

levels = ("core", "strict-errors", "sampler-llama2c", "fault-injection")


def cell(rep, lv):
    if rep is None:
        return "-"
    e = rep["levels"][lv]
    c = e["counts"]
    if e["verdict"] in ("not claimed", "nothing to check"):
        return e["verdict"]
    n = c.get("pass", 0) + c.get("unexpected-pass", 0)
    extra = " (+%d expected)" % c["expected-failure"] if c.get("expected-failure") else ""
    return "%s, %d passed%s" % (e["verdict"], n, extra)


width = max(len(cell(r, lv)) for _, r, _ in runs for lv in levels) + 2
print("quickstart: conformance levels (SPEC chapter 13)")
print("  %-17s" % "level" + "".join("%-*s" % (width, n) for n, _, _ in runs))
for lv in levels:
    print("  %-17s" % lv + "".join("%-*s" % (width, cell(r, lv)) for _, r, _ in runs))
print()
for name, rep, where in runs:
    if rep is None:
        print("quickstart: %-20s %s" % (name + ":", where))
    else:
        print("quickstart: %-20s %s: %s/report.html (also report.md, report.json, junit.xml)"
              % (name + ":", rep["verdict"], where))
EOF
echo "quickstart: your implementation: /usr/bin/python3 -m pytest harness --impl \"YOUR COMMAND\""
echo "quickstart: (a level it does not claim in boot's \`levels\` is reported \"not claimed\")"
exit "$rc"
