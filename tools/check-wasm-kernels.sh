#!/usr/bin/env bash
# The WebAssembly SIMD128 row kernels (reference/src/kernels_wasm.c) against the portable C
# kernel, bit for bit, on every decodable type (R-NUM-044): builds conformance/wasm_kernels.c
# with the reference as a wasm32-wasi command (-msimd128, the flags of tools/build-wasm.sh) and
# runs it under Node's WASI. Exit status: the check's (1: a dot product differs).
#   tools/check-wasm-kernels.sh [OUT.wasm]      (default build/wasm/wasm-kernels.wasm)
# Needs the toolchain of tools/build-wasm.sh and Node.js >= 20.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/wasm/wasm-kernels.wasm}
cc=${WASM_CC:-clang-14}
sysroot=${WASI_SYSROOT:-/usr}
mkdir -p "$(dirname "$out")"
"$cc" --target=wasm32-wasi --sysroot="$sysroot" -std=c11 -O2 -ffp-contract=off -msimd128 \
  -Wall -Wextra -Wpedantic -Werror -Ireference/include -Ireference/src -D_WASI_EMULATED_MMAN \
  reference/src/*.c conformance/wasm_kernels.c -lwasi-emulated-mman -o "$out"
node --no-warnings --input-type=module -e '
import { readFileSync } from "node:fs";
import { WASI } from "node:wasi";
const wasi = new WASI({ version: "preview1", args: ["wasm_kernels"], env: {}, returnOnExit: true });
const m = await WebAssembly.compile(readFileSync(process.argv[1]));
const inst = await WebAssembly.instantiate(m, { wasi_snapshot_preview1: wasi.wasiImport });
process.exitCode = wasi.start(inst);
' "$out"
