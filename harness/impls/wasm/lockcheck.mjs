// lockcheck.mjs — the export lock inside the wasm32-wasi module (SPEC R-EXP-009, R-EXP-005,
// R-EXP-007), checked on the real module: from a token callback, a re-entrant export returns
// 13 GENERATION_FAILED without poisoning, cancel takes no lock and stops the request.
//
//   node lockcheck.mjs build/wasm/ggufref.wasm golden/models/tiny-f32-mha-untied.gguf
// Exit status 0 when every check holds; each failure is printed.
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';

const [wasmPath, modelPath] = process.argv.slice(2);
const wasi = new WASI({ version: 'preview1', args: [], env: {}, preopens: {} });
const calls = [];
let x;
const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(wasmPath)), {
  wasi_snapshot_preview1: wasi.wasiImport,
  ggufref_host: {
    token: () => calls.push({ state: x.gr_wasm_state(), reset: x.gr_wasm_reset_context(),
      cancel: x.gr_wasm_cancel() }),
  },
});
wasi.initialize(instance);
x = instance.exports;

let failed = 0;
const check = (what, got, want) => {
  if (got !== want) {
    failed++;
    console.log(`FAIL ${what}: got ${got}, want ${want}`);
  }
};
const model = readFileSync(modelPath);
const p = x.gr_wasm_alloc(model.length);
new Uint8Array(x.memory.buffer, p, model.length).set(model);
check('load', x.gr_wasm_load_model(p, model.length), 0);
x.gr_wasm_free(p);
check('configure', x.gr_wasm_configure_sampling(0, 0, 1, 0, 1, 64, 0, 0, 8, 0), 0);
const prompt = new TextEncoder().encode('lock');
const q = x.gr_wasm_alloc(prompt.length);
new Uint8Array(x.memory.buffer, q, prompt.length).set(prompt);
check('generate (cancelled from its first token)', x.gr_wasm_generate(q, prompt.length), 21);
check('token callbacks', calls.length, 1);
check('re-entrant state from the callback (R-EXP-005)', calls[0]?.state, -1);
check('re-entrant reset from the callback (R-EXP-005)', calls[0]?.reset, 13);
check('cancel from the callback (R-EXP-007)', calls[0]?.cancel, 0);
check('state after: not poisoned, CONTINUATION_READY (3)', x.gr_wasm_state(), 3);
check('reset after the request', x.gr_wasm_reset_context(), 0);
console.log(failed === 0 ? 'lockcheck: ok (R-EXP-009)' : `lockcheck: ${failed} failure(s)`);
process.exit(failed === 0 ? 0 : 1);
