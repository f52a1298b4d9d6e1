#!/usr/bin/env bash
# Builds the reference for wasm32-wasi: build/wasm/ggufref.wasm (or OUT), the module the hosts
# harness/impls/wasm/host.mjs (Node) and harness/impls/browser/ (a page's Worker) serve the wire
# protocol with (harness/README.md).
#   tools/build-wasm.sh [--simd] [--fault-injection] [OUT]
# --simd: with WebAssembly SIMD128 (-msimd128; every browser since 2021, Node >= 16). The
# kernels keep the lane order of SPEC R-NUM-010, so the logits stay bit-identical to native
# (the suite's golden traces at the exact tier check it).
# Needs clang-14, lld-14, wasi-libc and libclang-rt-14-dev-wasm32 (tools/deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
simd=()
if [ "${1:-}" = --simd ]; then
  simd=(-msimd128)
  shift
fi
# --fault-injection: the panic points of SPEC chapter 11 can fire (the pooled host's trap
# tests, harness/impls/wasm/pool.mjs --fault-injection); release behaviour otherwise.
if [ "${1:-}" = --fault-injection ]; then
  simd+=(-DGGUFREF_FAULT_INJECTION)
  shift
fi
out=${1:-build/wasm/ggufref.wasm}
cc=${WASM_CC:-clang-14}
sysroot=${WASI_SYSROOT:-/usr}
missing=()
command -v "$cc" >/dev/null || missing+=("$cc (clang-14)")
command -v wasm-ld-14 >/dev/null || command -v wasm-ld >/dev/null || missing+=("wasm-ld (lld-14)")
[ -f "$sysroot/lib/wasm32-wasi/libc.a" ] || missing+=("wasi-libc ($sysroot/lib/wasm32-wasi/libc.a)")
"$cc" --target=wasm32-wasi -print-libgcc-file-name 2>/dev/null | xargs -r test -f ||
  missing+=("libclang-rt-14-dev-wasm32 (compiler-rt builtins for wasm32)")
if [ ${#missing[@]} -gt 0 ]; then
  echo "build-wasm: missing toolchain: ${missing[*]}; install with tools/deps.sh" >&2
  exit 1
fi
mkdir -p "$(dirname "$out")"
# Same numerics as native: no contraction, no fast-math (SPEC chapter 4). A reactor module
# (no main): the host calls _initialize, then the gr_wasm_* exports. 8 MiB of stack.
# gguf.c's mmap path (ggufref_gguf_open_file) links against wasi-libc's mmap emulation (a
# read into memory); the host never maps files: it copies model bytes into the module.
"$cc" --target=wasm32-wasi --sysroot="$sysroot" -std=c11 -O2 -ffp-contract=off \
  "${simd[@]}" -Wall -Wextra -Wpedantic -Werror -Ireference/include -Ireference/src \
  -D_WASI_EMULATED_MMAN -mexec-model=reactor -Wl,-z,stack-size=8388608 \
  reference/src/*.c reference/wasm/wasm_exports.c reference/wasm/wasm_pool.c -lwasi-emulated-mman -o "$out"
echo "build-wasm: $out ($(wc -c <"$out") bytes)"
