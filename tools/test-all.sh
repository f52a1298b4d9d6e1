#!/usr/bin/env bash
# Runs every test of ggufref: the one command CI runs (see README "Testing").
# Stages (each prints a banner; the first failure stops the run with a non-zero exit):
#   1. release build (gcc -O2) + all ctest suites
#   2. ASan+UBSan build (gcc) + all ctest suites
#   H. acceptance harness: golden traces regenerate byte-identical, the suite against the
#      reference (release and ASan, fault-injection CLI), then the broken-variant self-test
#   W. the reference built for wasm32-wasi (tools/build-wasm.sh) under the Node host
#      harness/impls/wasm/host.mjs: the whole suite against it, exact tier (about 1.5 minutes)
#   P. the pooled wasm host (harness/impls/wasm/pool-host.mjs, sessions): poolcheck.mjs, then
#      the sessions, protocol, transition, state and golden tests through it
#   L. llama.cpp (node-llama-cpp 3.22.1, harness/impls/llamacpp): the whole suite, tolerant
#      tier, gated on "no new failures" against its expected_failures.tsv
#   B. the SIMD128 build in a page's Worker in headless chromium (harness/impls/browser): the
#      whole suite through it, exact tier, and a UI test of the page; before that, its row
#      kernels against the portable kernel under Node (tools/check-wasm-kernels.sh)
#   Wl. wllama 2.3.7 (llama.cpp in wasm, harness/impls/wllama) in the same chromium: the suite
#      (quick, no transitions), tolerant tier, gated on its expected_failures.tsv (~1.5 minutes)
#   3. ThreadSanitizer build + the concurrency suite (torture_concurrency)
#   F. fuzz: every corpus replayed, then libFuzzer (ASan+UBSan) on every target and a 30 s
#      AFL++ smoke on gguf_parse (tools/fuzz.sh; about 3.5 minutes on 2 cores)
#   C. coverage gate: gcc --coverage build, ctest + harness, lcov over reference/src
#      (tools/coverage.sh; line >= 95%, branch >= 85%, functions 100%)
# Environment: JOBS (default nproc), GGUFREF_SHARED_DIR (default ../shared).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=${JOBS:-$(nproc)}
shared=${GGUFREF_SHARED_DIR:-$root/../shared}
start=$(date +%s)

stage() { printf '\n=== [%4ss] %s\n' "$(( $(date +%s) - start ))" "$*"; }

build() { # build DIR [cmake args...]
  local dir=$1; shift
  cmake -S "$root" -B "$dir" -G Ninja -DGGUFREF_SHARED_DIR="$shared" "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
}

stage "release build + ctest"
build build/release
ctest --test-dir build/release --output-on-failure -j "$jobs"

stage "ASan+UBSan build + ctest"
build build/asan -DGGUFREF_SANITIZE=ON
# allocator_may_return_null: an impossible request (a 4.4 TB KV cache) returns NULL, so the
# OUT_OF_MEMORY paths run instead of an ASan abort (issue 16)
ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/asan --output-on-failure -j "$jobs"

# Acceptance harness (harness/, SPEC chapters 9-10). pytest exit status 5 means "no tests
# collected": a failure only if the report confirms that nothing ran.
harness() { # harness REPORT_DIR PYTEST_ARGS...
  local rdir=$1; shift
  local rc=0
  /usr/bin/python3 -m pytest "$@" --report-dir "$rdir" -p no:cacheprovider -q || rc=$?
  if [ "$rc" -eq 5 ] && /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); \
      sys.exit(0 if sum(d['totals'].values()) else 1)" "$rdir/report.json" 2>/dev/null; then
    rc=0
  fi
  echo "harness: report $rdir/report.md ($rdir/report.html), junit $rdir/junit.xml"
  return "$rc"
}

stage "acceptance harness: golden traces regenerate byte-identical; suite vs the reference"
GGUFREF_BUILD_DIR=build/release /usr/bin/python3 tools/golden_traces.py --check \
  --impl "build/release/ggufref serve"
GGUFREF_SHARED_DIR="$shared" GGUFREF_BUILD_DIR=build/release \
  harness build/release/harness-report harness --impl "build/release/ggufref-fi serve --fault-injection"
GGUFREF_SHARED_DIR="$shared" GGUFREF_BUILD_DIR=build/asan \
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
  harness build/asan/harness-report harness --impl "build/asan/ggufref-fi serve --fault-injection"

stage "acceptance harness vs WebAssembly: wasm32-wasi build under the Node host, exact tier"
# The seed's shape (harness/README.md): the reference as a wasm module, a Node Worker owning it.
if command -v node >/dev/null && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ]; then
  tools/build-wasm.sh build/wasm/ggufref.wasm
  # R-EXP-009: the module's single-threaded lock refuses re-entrant exports, lets cancel through
  node --no-warnings harness/impls/wasm/lockcheck.mjs build/wasm/ggufref.wasm \
    golden/models/tiny-f32-mha-untied.gguf
  # R-EXP-010, R-EXP-011, R-EXP-012: the step budget (generate_budget, generate_continue): any
  # slicing equals one generate; continue's transitions, finished requests, cancel and resume
  node --no-warnings harness/impls/wasm/budgetcheck.mjs build/wasm/ggufref.wasm \
    golden/models/tiny-f32-mha-untied.gguf golden/models/tiny-q8_0-gqa-untied.gguf \
    golden/models/tiny-q4_k-gqa-tied.gguf
  # R-RT-017: owned model bytes load as a copy would, fail changing nothing, and are held once
  node --no-warnings harness/impls/wasm/ownedcheck.mjs build/wasm/ggufref.wasm \
    golden/models/tiny-f32-mha-untied.gguf build/release/fixtures/stories15m-f32.gguf
  GGUFREF_SHARED_DIR="$shared" GGUFREF_BUILD_DIR=build/release \
    harness build/wasm/harness-report harness --tier exact \
    --impl "node --no-warnings harness/impls/wasm/host.mjs build/wasm/ggufref.wasm"
else
  echo "wasm: SKIPPED: needs Node.js >= 20 (node:wasi preview1); found: $(node --version 2>&1 || true)"
fi

stage "acceptance harness vs the pooled WebAssembly host: sessions on one compiled module, one instance per Worker"
# R-POOL-050 (harness/impls/wasm/pool-host.mjs): compile once, instantiate per controller, reuse
# of a scrubbed idle instance, a real trap (and a panic) drops only its instance and Worker;
# then the suite's sessions tests and the single-session protocol and state tests through it,
# and the trap test of test_sessions.py with the fault-injection build.
if command -v node >/dev/null && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ]; then
  tools/build-wasm.sh --fault-injection build/wasm/ggufref-fi.wasm
  node --no-warnings harness/impls/wasm/poolcheck.mjs build/wasm/ggufref-fi.wasm \
    golden/models/tiny-f32-gqa-tied.gguf
  GGUFREF_SHARED_DIR="$shared" GGUFREF_BUILD_DIR=build/release \
    harness build/wasm/pool-report harness/test_sessions.py harness/test_protocol.py \
    harness/test_transitions.py harness/test_stateful.py harness/test_golden.py --tier exact \
    --impl "node --no-warnings harness/impls/wasm/pool-host.mjs build/wasm/ggufref.wasm"
  GGUFREF_SHARED_DIR="$shared" GGUFREF_BUILD_DIR=build/release \
    harness build/wasm/pool-fi-report harness/test_sessions.py --tier exact \
    --impl "node --no-warnings harness/impls/wasm/pool-host.mjs --fault-injection build/wasm/ggufref-fi.wasm"
else
  echo "wasm pool: SKIPPED: needs Node.js >= 20 (node:wasi preview1); found: $(node --version 2>&1 || true)"
fi

stage "acceptance harness vs a browser: the page's Worker in headless chromium (SIMD128), exact tier; UI test"
# harness/impls/browser (harness/README.md): Debian's chromium driven by playwright-core (both
# from tools/deps.sh; never a downloaded browser). The SIMD128 build at the exact tier: its
# logits are bit-identical to native on every golden model. Then the page as a person uses it
# (file input, generate, cancel mid-stream, malformed file), screenshots in build/wasm/ui.
chromium=${GGUFREF_CHROMIUM:-/usr/bin/chromium}
if command -v node >/dev/null && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ] &&
   [ -x "$chromium" ] && [ -d harness/impls/browser/node_modules/playwright-core ]; then
  tools/build-wasm.sh --simd build/wasm/ggufref-simd.wasm
  # R-NUM-044: the SIMD128 row kernels against the portable kernel, every type, bit for bit
  tools/check-wasm-kernels.sh build/wasm/wasm-kernels.wasm
  node harness/impls/browser/ui-test.mjs build/wasm/ggufref-simd.wasm \
    build/release/fixtures/stories15m-q8_0.gguf build/wasm/ui
  GGUFREF_SHARED_DIR="$shared" GGUFREF_BUILD_DIR=build/release \
    node harness/impls/browser/with-browser.mjs build/wasm/ggufref-simd.wasm -- \
    /usr/bin/python3 -m pytest harness --tier exact --report-dir build/wasm/browser-report \
    -p no:cacheprovider -q --impl "node harness/impls/browser/bridge.mjs"
elif [ "${CI:-}" = true ]; then
  echo "browser: $chromium or harness/impls/browser/node_modules missing: run tools/deps.sh" >&2
  exit 1
else
  echo "browser: SKIPPED: needs Node.js >= 20, $chromium and playwright-core (tools/deps.sh)"
fi

stage "acceptance harness vs wllama (@wllama/wllama 2.3.7, llama.cpp in wasm) in headless chromium: no new failures"
# A second third-party runtime, in the same browser (harness/impls/wllama/README.md): the suite
# at the tolerant tier, quick, without test_transitions.py (its 182 fresh sessions judge the
# adapter's own state machine, not wllama: about 1.5 minutes more), gated on the deviations
# listed with their evidence in harness/impls/wllama/expected_failures.tsv.
if command -v node >/dev/null && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ] &&
   [ -x "$chromium" ] && [ -d harness/impls/browser/node_modules/playwright-core ] &&
   [ -d harness/impls/wllama/node_modules/@wllama/wllama ]; then
  GGUFREF_SHARED_DIR="$shared" GGUFREF_BUILD_DIR=build/release \
    node harness/impls/wllama/with-browser.mjs -- \
    /usr/bin/python3 -m pytest harness --quick --ignore=harness/test_transitions.py \
    --tier tolerant --report-dir build/wllama/harness-report -p no:cacheprovider -q \
    --impl "node harness/impls/wllama/bridge.mjs" \
    --expected-failures harness/impls/wllama/expected_failures.tsv
elif [ "${CI:-}" = true ]; then
  echo "wllama: $chromium, playwright-core or @wllama/wllama missing: run tools/deps.sh" >&2
  exit 1
else
  echo "wllama: SKIPPED: needs Node.js >= 20, $chromium, playwright-core and @wllama/wllama (tools/deps.sh)"
fi

stage "acceptance harness vs llama.cpp (node-llama-cpp 3.22.1, prebuilt CPU): no new failures"
# A real second implementation (harness/impls/llamacpp/README.md): gates on the deviations listed,
# with their evidence, in harness/impls/llamacpp/expected_failures.tsv. tools/deps.sh installs it.
if command -v node >/dev/null && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ] &&
   [ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ]; then
  if [ ! -d harness/impls/llamacpp/node_modules/@node-llama-cpp/linux-x64 ]; then
    echo "llama.cpp: node-llama-cpp is not installed: run tools/deps.sh" >&2
    exit 1
  fi
  GGUFREF_SHARED_DIR="$shared" GGUFREF_BUILD_DIR=build/release \
    harness build/llamacpp/harness-report harness \
    --impl "node harness/impls/llamacpp/adapter.mjs" \
    --expected-failures harness/impls/llamacpp/expected_failures.tsv
else
  echo "llama.cpp: SKIPPED: needs Node.js >= 20 on linux-x64 (prebuilt binaries); found: $(node --version 2>&1 || true), $(uname -s)-$(uname -m)"
fi

stage "acceptance harness self-test: the suite fails every broken variant of the reference"
GGUFREF_SHARED_DIR="$shared" GGUFREF_BUILD_DIR=build/release \
  harness build/release/harness-selftest harness/selftest

stage "ThreadSanitizer build + torture_concurrency (export layer under 8 threads) + torture_pool (8 threads, 3 sessions)"
# Only the concurrency suites (the pool, the server's sessions): the rest is single-threaded. TSAN_CC=clang if gcc's TSan fails.
CC=${TSAN_CC:-${CC:-cc}} cmake -S "$root" -B build/tsan -G Ninja -DGGUFREF_SHARED_DIR="$shared" \
  -DGGUFREF_TSAN=ON >/dev/null
cmake --build build/tsan -j "$jobs" --target torture_concurrency torture_pool torture_serve_sessions
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
  ctest --test-dir build/tsan --output-on-failure \
  -R '^(torture_concurrency|torture_pool|torture_serve_sessions)$'

stage "determinism: logits bit-identical across gcc/clang, -O0..-O3, sanitizers, kernel paths"; tools/determinism.sh build/determinism

stage "fuzz: corpus replay, libFuzzer on every target, AFL++ smoke (tools/fuzz.sh)"
BUILD=build/fuzz JOBS="$jobs" tools/fuzz.sh

stage "coverage gate: lcov over reference/src (tools/coverage.sh)"
BUILD=build/coverage JOBS="$jobs" GGUFREF_SHARED_DIR="$shared" tools/coverage.sh

stage "all stages passed"
