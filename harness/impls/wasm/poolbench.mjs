// poolbench.mjs — figures of the pooled WebAssembly host (SPEC R-POOL-050; numbers in
// harness/README.md). Not a test: it measures.
//   1. compile once vs instantiate: WebAssembly.Module from the bytes, against one
//      WebAssembly.Instance of it (+ WASI initialize), and against a whole controller's start
//      in a Worker (Worker + instantiate + model copy + load), median of R runs each;
//   2. memory per controller: the instance's linear memory after its model is loaded, against
//      the accounting of R-POOL-020 (model bytes + session bytes), and the host process's
//      resident memory (VmRSS) with 0, 1 and 2 sessions open (pool-host.mjs, one model file);
//   3. acquire + release: open-session on an idle controller and close-session (its scrub),
//      as protocol round trips, against one decode token's wall time.
// Aggregate decode tokens/s with 2 sessions against 1 comes from bench/serve_sessions.py run
// with --impl "node harness/impls/wasm/pool-host.mjs WASM" (the same bench as the native server).
//
//   node poolbench.mjs build/wasm/ggufref.wasm MODEL.gguf... [--runs R]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { WASI } from 'node:wasi';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

function instantiate(module) {
  const wasi = new WASI({ version: 'preview1', args: [], env: {}, preopens: {} });
  const inst = new WebAssembly.Instance(module, {
    wasi_snapshot_preview1: wasi.wasiImport, ggufref_host: { token: () => {} } });
  wasi.initialize(inst);
  return inst.exports;
}

// A controller's start in a Worker, as pool-host.mjs does it: instantiate, copy, load.
function workerMain() {
  const { module, model } = workerData;
  const t0 = performance.now();
  const x = instantiate(module);
  const t1 = performance.now();
  const h = x.gr_wasm_model_bytes(model.byteLength);
  new Uint8Array(x.memory.buffer, x.gr_wasm_model_bytes_data(h), model.byteLength)
    .set(new Uint8Array(model));
  const st = x.gr_wasm_s_open(h, 0, 0, 0);
  const t2 = performance.now();
  parentPort.postMessage({ st, inst: t1 - t0, load: t2 - t1, memory: x.memory.buffer.byteLength,
    modelBytes: x.gr_wasm_s_model_bytes(), sessionBytes: x.gr_wasm_s_session_bytes() });
}

async function controllerStart(module, model) {
  const t0 = performance.now();
  const r = await new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: { module, model } });
    w.once('message', (m) => { w.terminate(); resolve(m); });
    w.once('error', reject);
  });
  r.total = performance.now() - t0;
  return r;
}

function rssOf(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) * 1024;
}

// VmRSS of pool-host.mjs (main thread and Workers: one process) with 0, 1, 2 sessions.
async function hostRss(wasmPath, modelPath) {
  const host = fileURLToPath(new URL('./pool-host.mjs', import.meta.url));
  const p = spawn('node', ['--no-warnings', host, wasmPath], {
    env: { ...process.env, GGUFREF_POOL_SIZE: '2' }, stdio: ['pipe', 'pipe', 'ignore'] });
  let buf = '';
  const waiting = new Map();
  p.stdout.on('data', (d) => {
    buf += d;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const ev = JSON.parse(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      if (ev.event !== 'token' && waiting.has(ev.id)) waiting.get(ev.id)(ev);
    }
  });
  let id = 0;
  const call = (cmd, f) => new Promise((resolve) => {
    waiting.set(++id, resolve);
    p.stdin.write(JSON.stringify({ id, cmd, ...f }) + '\n');
  });
  await call('boot');
  const rss = [rssOf(p.pid)];
  const held = [];
  for (let i = 0; i < 2; i++) {
    const s = (await call('open-session', { path: modelPath })).session;
    await call('configure-sampling', { session: s, max_tokens: 4 });
    await call('generate', { session: s, prompt: 'Once' });
    rss.push(rssOf(p.pid));
    held.push(s);
  }
  for (const s of held) await call('close-session', { session: s });
  // acquire + release through the protocol: open-session (an idle controller, reused) and
  // close-session (scrub), round trips from the client, against one decode token's time
  const s = (await call('open-session', { path: modelPath })).session;
  await call('configure-sampling', { session: s, max_tokens: 64, stop_at_eos: false });
  let t = performance.now();
  await call('generate', { session: s, prompt: 'Once' });
  const perToken = (performance.now() - t) / 64;
  await call('close-session', { session: s });
  const cycle = [];
  for (let i = 0; i < 21; i++) {
    t = performance.now();
    const o = (await call('open-session', { path: modelPath })).session;
    await call('close-session', { session: o });
    cycle.push(performance.now() - t);
  }
  p.stdin.end();
  await new Promise((r) => p.on('exit', r));
  return { rss, perToken, cycle: median(cycle) };
}

async function main() {
  const args = process.argv.slice(2);
  let runs = 7;
  const ri = args.indexOf('--runs');
  if (ri >= 0) runs = Number(args.splice(ri, 2)[1]);
  const [wasmPath, ...models] = args;
  const bytes = readFileSync(wasmPath);
  const comp = [];
  const inst = [];
  let module;
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    module = new WebAssembly.Module(bytes);
    comp.push(performance.now() - t);
    t = performance.now();
    instantiate(module);
    inst.push(performance.now() - t);
  }
  const mib = (b) => (b / 1048576).toFixed(1);
  console.log(`module ${wasmPath} (${bytes.length} bytes), ${runs} runs, medians:`);
  console.log(`  compile (WebAssembly.Module): first ${comp[0].toFixed(2)} ms, again ` +
    `${median(comp.slice(1)).toFixed(2)} ms (V8 caches the same bytes); instantiate + WASI ` +
    `initialize: ${median(inst).toFixed(2)} ms`);
  for (const path of models) {
    const b = readFileSync(path);
    const model = new SharedArrayBuffer(b.length);
    new Uint8Array(model).set(b);
    const starts = [];
    for (let i = 0; i < runs; i++) starts.push(await controllerStart(module, model));
    const s = starts[0];
    if (s.st !== 0) throw new Error(`${path}: load status ${s.st}`);
    console.log(`${path} (${mib(b.length)} MiB):`);
    console.log(`  controller start in a Worker: ${median(starts.map((x) => x.total)).toFixed(1)} ms ` +
      `(instantiate ${median(starts.map((x) => x.inst)).toFixed(2)} ms, model copy + load ` +
      `${median(starts.map((x) => x.load)).toFixed(1)} ms)`);
    console.log(`  linear memory per controller: ${mib(s.memory)} MiB; accounted (R-POOL-020): ` +
      `model ${mib(s.modelBytes)} + session ${mib(s.sessionBytes)} = ` +
      `${mib(s.modelBytes + s.sessionBytes)} MiB`);
    const { rss, perToken, cycle } = await hostRss(wasmPath, path);
    console.log(`  pool-host VmRSS: 0 sessions ${mib(rss[0])} MiB, 1: ${mib(rss[1])} MiB, ` +
      `2: ${mib(rss[2])} MiB (second controller +${mib(rss[2] - rss[1])} MiB)`);
    console.log(`  open-session + close-session on an idle controller (protocol round trips): ` +
      `${cycle.toFixed(2)} ms median; one decode token (64-token generate, wall): ` +
      `${perToken.toFixed(2)} ms`);
  }
}

if (isMainThread) await main();
else workerMain();
