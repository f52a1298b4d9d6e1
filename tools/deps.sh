#!/usr/bin/env bash
# Installs the Debian packages ggufref needs, if any are missing (run as root on Debian 12).
set -euo pipefail
pkgs=(build-essential cmake ninja-build clang-14 llvm-14 libclang-rt-14-dev lld-14
      libcmocka-dev libcjson-dev lcov afl++ python3-pytest python3-hypothesis python3-numpy valgrind
      wasi-libc libclang-rt-14-dev-wasm32 nodejs)
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
