// budgetcheck.mjs — the step budget exports (SPEC R-EXP-010..012) checked on the real
// wasm32-wasi module: a request made in slices of any size (generate_budget, then
// generate_continue while `more`) gives the tokens, logits, result bytes and state digest of
// one generate; continue on a finished request makes nothing; outside CONTINUATION_READY it is
// refused as generate_next_token is; a cancel inside a slice or between two slices stops the
// (next) slice and the continue after it resumes the same request.
//
//   node budgetcheck.mjs build/wasm/ggufref.wasm MODEL.gguf...
// Exit status 0 when every check holds; each failure is printed.
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';

const [wasmPath, ...models] = process.argv.slice(2);
const wasm = new WebAssembly.Module(readFileSync(wasmPath));
let x;
let seen = [];
let onTok = null;
// A fresh module instance for each run: the digest covers the request counters and totals
// (R-RT-040), so runs are compared from the same start.
function fresh() {
  const wasi = new WASI({ version: 'preview1', args: [], env: {}, preopens: {} });
  const instance = new WebAssembly.Instance(wasm, {
    wasi_snapshot_preview1: wasi.wasiImport,
    ggufref_host: {
      token: (token, piece, len, logits, nVocab) => {
        const bytes = new Uint8Array(x.memory.buffer, logits, nVocab * 4);
        let h = 0x811c9dc5; // FNV-1a 32 of the logits the callback received (R-RT-029)
        for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
        seen.push(`${token}:${h.toString(16)}`);
        if (onTok) onTok(seen.length);
      },
    },
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
    console.log(`FAIL ${what}: got ${g.slice(0, 200)}, want ${w.slice(0, 200)}`);
  }
};
const OK = 0;
const INVALID_STATE = 12;
const CANCELLED = 21;
const CONTINUATION_READY = 3;

function put(bytes) {
  const p = x.gr_wasm_alloc(bytes.length + 1);
  new Uint8Array(x.memory.buffer, p, bytes.length).set(bytes);
  return p;
}
const digest = () => (x.gr_wasm_digest() === OK ?
  `${(x.gr_wasm_digest_hi() >>> 0).toString(16)}:${(x.gr_wasm_digest_lo() >>> 0).toString(16)}` :
  'none');
const result = () => (x.gr_wasm_result() === OK ?
  Array.from(new Uint8Array(x.memory.buffer, x.gr_wasm_out_ptr(), x.gr_wasm_out_len())) : null);

const prompt = new TextEncoder().encode('Once upon');
let pp = 0;
// A fresh instance with the model loaded and sampling set (temperature 0.8 with a seed: the
// RNG state must match too, R-RT-040).
function start(bytes, eos, tag) {
  fresh();
  const mp = put(bytes);
  check(`${tag}: load`, x.gr_wasm_load_model(mp, bytes.length), OK);
  x.gr_wasm_free(mp);
  check(`${tag}: configure`, x.gr_wasm_configure_sampling(0.8, 0, 1, 0, 1, 64, 7, 0, 40, eos), OK);
  pp = put(prompt);
  seen = [];
}

for (const model of models) {
  const bytes = readFileSync(model);
  for (const eos of [0, 1]) {
    const tag = `${model} stop_at_eos=${eos}`;
    start(bytes, eos, tag);
    check(`${tag}: one generate`, x.gr_wasm_generate(pp, prompt.length), OK);
    const want = { tokens: seen, result: result(), digest: digest() };
    for (const slice of [1, 3, 7, 0]) {
      start(bytes, eos, tag);
      const first = slice; // 0: the request committed, nothing forwarded (R-EXP-010)
      const next = slice === 0 ? 5 : slice;
      let st = x.gr_wasm_generate_budget(pp, prompt.length, first);
      let calls = 1;
      check(`${tag} slice ${slice}: the first slice makes its budget (R-EXP-010)`,
        seen.length, Math.min(first, want.tokens.length));
      while (st === OK && x.gr_wasm_more() === 1 && calls < 200) {
        const before = seen.length;
        st = x.gr_wasm_generate_continue(next);
        calls++;
        if (x.gr_wasm_more() === 1) {
          check(`${tag} slice ${slice}: a slice with more to come makes exactly its budget`,
            seen.length - before, next);
        }
      }
      check(`${tag} slice ${slice}: status`, st, OK);
      check(`${tag} slice ${slice}: tokens and logits as one generate (R-EXP-011)`, seen,
        want.tokens);
      check(`${tag} slice ${slice}: result bytes`, result(), want.result);
      check(`${tag} slice ${slice}: digest (R-EXP-011)`, digest(), want.digest);
      check(`${tag} slice ${slice}: state`, x.gr_wasm_state(), CONTINUATION_READY);
      seen = [];
      check(`${tag} slice ${slice}: continue on a finished request is OK (R-EXP-012)`,
        x.gr_wasm_generate_continue(4), OK);
      check(`${tag} slice ${slice}: ... and makes nothing`, [seen.length, x.gr_wasm_more()], [0, 0]);
      check(`${tag} slice ${slice}: ... and changes nothing`, digest(), want.digest);
    }
    // A cancel inside a slice (R-EXP-012): CANCELLED, the request stays open, continue resumes.
    start(bytes, eos, tag);
    check(`${tag}: budget start`, x.gr_wasm_generate_budget(pp, prompt.length, 2), OK);
    onTok = (n) => { if (n === 5) x.gr_wasm_cancel(); };
    const long = want.tokens.length > 5;
    check(`${tag}: cancel inside a slice`, x.gr_wasm_generate_continue(10), long ? CANCELLED : OK);
    onTok = null;
    if (long) check(`${tag}: cancelled after the 5th token`, seen.length, 5);
    check(`${tag}: state after cancel`, x.gr_wasm_state(), CONTINUATION_READY);
    while (x.gr_wasm_generate_continue(16) === OK && x.gr_wasm_more() === 1);
    check(`${tag}: resumed request as one generate`, seen, want.tokens);
    check(`${tag}: resumed result`, result(), want.result);
    // A cancel between two slices stops the next one before its first token; then it resumes.
    start(bytes, eos, tag);
    check(`${tag}: budget start (2)`, x.gr_wasm_generate_budget(pp, prompt.length, 2), OK);
    if (x.gr_wasm_more() === 1) {
      check(`${tag}: cancel between slices`, x.gr_wasm_cancel(), OK);
      check(`${tag}: the next slice is CANCELLED`, x.gr_wasm_generate_continue(3), CANCELLED);
      check(`${tag}: ... before its first token`, seen.length, 2);
      check(`${tag}: ... more stays false after an error`, x.gr_wasm_more(), 0);
      while (x.gr_wasm_generate_continue(16) === OK && x.gr_wasm_more() === 1);
      check(`${tag}: resumed after a cancel between slices`, seen, want.tokens);
    }
  }
  // Outside CONTINUATION_READY: refused as generate_next_token (R-EXP-012).
  check(`${model}: reset`, x.gr_wasm_reset_context(), OK);
  seen = [];
  check(`${model}: continue in READY is INVALID_STATE`, x.gr_wasm_generate_continue(3),
    INVALID_STATE);
  check(`${model}: ... and makes nothing`, [seen.length, x.gr_wasm_more()], [0, 0]);
}
console.log(failed === 0 ? `budgetcheck: ok (R-EXP-010..012, ${models.length} models)` :
  `budgetcheck: ${failed} failure(s)`);
process.exit(failed === 0 ? 0 : 1);
