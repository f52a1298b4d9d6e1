// ownedcheck.mjs — owned model bytes (SPEC R-RT-017) on the real wasm32-wasi module: a load of
// bytes the host wrote into room the library gave it (gr_wasm_model_bytes, then
// gr_wasm_load_model_owned) equals a copying load of the same bytes (status, state, last error,
// diagnostics, digest, generated tokens), a failing one changes nothing resident, and the model
// is held once: wasm memory grows by about one model, not two.
//
//   node ownedcheck.mjs build/wasm/ggufref.wasm MODEL.gguf...   (give one model of >= 8 MiB
//   for the memory check, e.g. the build's fixtures/stories15m-f32.gguf)
// Exit status 0 when every check holds; each failure is printed.
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';

const [wasmPath, ...models] = process.argv.slice(2);
const wasm = new WebAssembly.Module(readFileSync(wasmPath));
let x;
let seen = [];
function fresh() {
  const wasi = new WASI({ version: 'preview1', args: [], env: {}, preopens: {} });
  const instance = new WebAssembly.Instance(wasm, {
    wasi_snapshot_preview1: wasi.wasiImport,
    ggufref_host: { token: (token) => seen.push(token) },
  });
  wasi.initialize(instance);
  x = instance.exports;
}

let failed = 0;
const check = (what, got, want) => {
  const g = JSON.stringify(got);
  const w = JSON.stringify(want);
  if (g !== w) {
    failed++;
    console.log(`FAIL ${what}: got ${g.slice(0, 300)}, want ${w.slice(0, 300)}`);
  }
};
const cstr = (p) => {
  const m = new Uint8Array(x.memory.buffer);
  let e = p;
  while (m[e] !== 0) e++;
  return new TextDecoder().decode(m.subarray(p, e));
};

function loadCopy(bytes) {
  const p = x.gr_wasm_alloc(bytes.length);
  new Uint8Array(x.memory.buffer, p, bytes.length).set(bytes);
  const st = x.gr_wasm_load_model(p, bytes.length);
  x.gr_wasm_free(p);
  return st;
}
function loadOwned(bytes) {
  const h = x.gr_wasm_model_bytes(bytes.length);
  if (h === 0) return 'no room';
  new Uint8Array(x.memory.buffer, x.gr_wasm_model_bytes_data(h), bytes.length).set(bytes);
  return x.gr_wasm_load_model_owned(h);
}
// Everything observable after a load (diagnostics without its nondeterministic member).
function observe(st) {
  const o = { status: st, state: x.gr_wasm_state() };
  if (x.gr_wasm_last_error() === 0) {
    o.error = [x.gr_wasm_error_status(), cstr(x.gr_wasm_error_message())];
  }
  if (x.gr_wasm_digest() === 0) o.digest = [x.gr_wasm_digest_hi(), x.gr_wasm_digest_lo()];
  if (x.gr_wasm_diagnostics() === 0) {
    const d = JSON.parse(new TextDecoder().decode(
      new Uint8Array(x.memory.buffer, x.gr_wasm_out_ptr(), x.gr_wasm_out_len())));
    delete d.nondeterministic;
    o.diagnostics = d;
  }
  return o;
}
function generate() {
  const prompt = new TextEncoder().encode('Once');
  const p = x.gr_wasm_alloc(prompt.length);
  new Uint8Array(x.memory.buffer, p, prompt.length).set(prompt);
  seen = [];
  x.gr_wasm_configure_sampling(0, 0, 1, 0, 1, 64, 0, 0, 8, 0);
  const st = x.gr_wasm_generate(p, prompt.length);
  x.gr_wasm_free(p);
  return [st, seen];
}

const bad = Buffer.from('GGUX\x03\x00\x00\x00 not a GGUF file');
let sawLarge = false;
for (const model of models) {
  const bytes = readFileSync(model);
  const runs = {};
  for (const [how, load] of [['copy', loadCopy], ['owned', loadOwned]]) {
    fresh();
    const m0 = x.memory.buffer.byteLength;
    const o = observe(load(bytes));
    const grew = x.memory.buffer.byteLength - m0;
    o.generated = generate();
    // A malformed load after it: the same failure, nothing resident changed (R-RT-010).
    const before = observe(0).digest;
    o.bad = observe(load(bad));
    o.badKeptDigest = JSON.stringify(o.bad.digest) === JSON.stringify(before);
    delete o.bad.digest;
    delete o.bad.diagnostics;
    o.badGenerated = generate();
    runs[how] = { o, grew };
  }
  check(`${model}: an owned load equals a copying load (R-RT-017)`, runs.owned.o, runs.copy.o);
  check(`${model}: loads succeed`, runs.owned.o.status, 0);
  check(`${model}: a failed owned load changes nothing resident`, runs.owned.o.badKeptDigest, true);
  check(`${model}: BAD_MAGIC`, runs.owned.o.bad.status, 5);
  const mib = (n) => (n / 1048576).toFixed(1);
  console.log(`${model}: ${mib(bytes.length)} MiB; wasm memory grew ${mib(runs.copy.grew)} MiB ` +
    `copying, ${mib(runs.owned.grew)} MiB owned`);
  if (bytes.length >= 8 << 20) {
    sawLarge = true;
    check(`${model}: held once: owned growth + 0.9 model <= copying growth`,
      runs.owned.grew + 0.9 * bytes.length <= runs.copy.grew, true);
  }
}
check('a model of >= 8 MiB was given for the memory check', sawLarge, true);
console.log(failed === 0 ? `ownedcheck: ok (R-RT-017, ${models.length} models)` :
  `ownedcheck: ${failed} failure(s)`);
process.exit(failed === 0 ? 0 : 1);
