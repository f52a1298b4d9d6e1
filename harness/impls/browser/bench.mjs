// bench.mjs — decode tokens/s of the reference: native (`ggufref serve`), the wasm module in
// Node (scalar and SIMD128 builds) and in headless Debian chromium (a page's Worker); and the
// wasm memory a model takes. Greedy decoding of N tokens after a short prompt; best of R.
//
//   node harness/impls/browser/bench.mjs --native build/release/ggufref \
//     --wasm build/wasm/ggufref.wasm --simd build/wasm/ggufref-simd.wasm \
//     [--tokens 128] [--repeats 3] MODEL.gguf...
// (the models: the build's fixtures/stories15m-{f32,q8_0,q4_k}.gguf). Prints a Markdown table.
// native decode tok/s = (N - 1) / (arrival of the last token event - arrival of the first),
// through the wire protocol (a few microseconds per event); wasm: the same span measured in
// the token callback (bench-core.mjs).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { WASI } from 'node:wasi';
import { benchDecode } from './bench-core.mjs';
import { launchBrowser } from './chromium.mjs';
import { startServer } from './server.mjs';

const opts = { tokens: 128, repeats: 3, models: [] };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (['--native', '--wasm', '--simd', '--tokens', '--repeats'].includes(a)) {
    opts[a.slice(2)] = argv[++i];
  } else {
    opts.models.push(a);
  }
}
opts.tokens = Number(opts.tokens);
opts.repeats = Number(opts.repeats);

function nativeDecode(bin, model) {
  return new Promise((done, fail) => {
    const p = spawn(bin, ['serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let buf = '';
    let stamps = [];
    let best = 0;
    let runs = 0;
    const send = (o) => p.stdin.write(`${JSON.stringify(o)}\n`);
    p.stdout.on('data', (d) => {
      const now = performance.now();
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const ev = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (ev.event === 'error') fail(new Error(JSON.stringify(ev)));
        if (ev.event === 'token') stamps.push(now);
        if (ev.event === 'result' && ev.id === 'g') {
          best = Math.max(best, (stamps.length - 1) / ((stamps[stamps.length - 1] - stamps[0]) / 1000));
          stamps = [];
          if (++runs < opts.repeats) send({ id: 'g', cmd: 'generate', prompt: 'Once upon a time' });
          else p.stdin.end();
        }
      }
    });
    p.on('exit', () => done(best));
    send({ id: 'l', cmd: 'load-model', path: resolve(model) });
    send({ id: 'c', cmd: 'configure-sampling', max_tokens: opts.tokens, stop_at_eos: false });
    send({ id: 'g', cmd: 'generate', prompt: 'Once upon a time' });
  });
}

function nodeDecode(wasmPath, model) {
  return benchDecode({
    wasmModule: new WebAssembly.Module(readFileSync(wasmPath)),
    wasi: new WASI({ version: 'preview1', args: [], env: {}, preopens: {} }),
    now: () => performance.now(), bytes: readFileSync(model), tokens: opts.tokens,
    repeats: opts.repeats,
  });
}

// The largest model the 4 GiB of wasm32 memory can hold: the largest n (1 MiB steps) for which
// a fresh instance gives room for n model bytes (owned load, R-RT-017: held once), and for
// which it also holds a second copy of n bytes (the copying load: the host's buffer and the
// runtime's copy).
function probeLargest(wasmPath) {
  const wasmModule = new WebAssembly.Module(readFileSync(wasmPath));
  const fits = (n, copies) => {
    const wasi = new WASI({ version: 'preview1', args: [], env: {}, preopens: {} });
    const inst = new WebAssembly.Instance(wasmModule, {
      wasi_snapshot_preview1: wasi.wasiImport, ggufref_host: { token: () => {} },
    });
    wasi.initialize(inst);
    const x = inst.exports;
    if (copies === 2 && x.gr_wasm_alloc(n) === 0) return false;
    return x.gr_wasm_model_bytes(n) !== 0;
  };
  const search = (copies) => {
    let lo = 0;
    let hi = 4096; // MiB
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (fits(mid * 1048576, copies)) lo = mid;
      else hi = mid;
    }
    return lo;
  };
  return { owned: search(1), copying: search(2) };
}

const mib = (n) => (n / 1048576).toFixed(1);
const rows = [];
let browser = null;
let server = null;
let page = null;
if (opts.simd) {
  const extra = {};
  opts.models.forEach((m, i) => { extra[`/model${i}.gguf`] = resolve(m); });
  if (opts.wasm) extra['/scalar.wasm'] = resolve(opts.wasm);
  server = await startServer({ wasmPath: opts.simd, extra });
  browser = await launchBrowser();
  page = await browser.newPage();
  await page.goto(`${server.url}/browser/bench.html`);
}
for (const [i, model] of opts.models.entries()) {
  const row = { model: basename(model), size: readFileSync(model).length };
  if (opts.native) row.native = await nativeDecode(opts.native, model);
  if (opts.wasm) row.node = nodeDecode(opts.wasm, model);
  if (opts.simd) row.nodeSimd = nodeDecode(opts.simd, model);
  if (page) {
    const r = await page.evaluate((a) => window.runBench(a), {
      wasmUrl: '/ggufref.wasm', modelUrl: `/model${i}.gguf`, tokens: opts.tokens,
      repeats: opts.repeats,
    });
    if (r.error) throw new Error(`chromium: ${r.error}`);
    row.chromium = r.ok;
  }
  rows.push(row);
  process.stderr.write(`bench: ${row.model} done\n`);
}
if (browser) await browser.close();
if (server) await server.close();

const largest = opts.wasm || opts.simd ? probeLargest(opts.simd || opts.wasm) : null;
const f = (v) => (v === undefined ? '-' : v.toFixed(1));
console.log(`decode tokens/s, greedy, ${opts.tokens} tokens, best of ${opts.repeats}; ` +
  'wasm memory (MiB) before load / after load / after generating (Node SIMD build)\n');
console.log('| model | MiB | native | Node scalar | Node SIMD128 | Chromium SIMD128 | wasm memory |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  const m = r.nodeSimd || r.node;
  console.log(`| ${r.model} | ${mib(r.size)} | ${f(r.native)} | ${f(r.node?.decode)} | ` +
    `${f(r.nodeSimd?.decode)} | ${f(r.chromium?.decode)} | ` +
    `${m ? `${mib(m.memBefore)} / ${mib(m.memLoaded)} / ${mib(m.memAfter)}` : '-'} |`);
}
if (largest) {
  console.log(`\nlargest model bytes that fit in wasm32 memory (4 GiB), 1 MiB steps: ` +
    `${largest.owned} MiB held once (owned load), ${largest.copying} MiB with a copying load`);
}
