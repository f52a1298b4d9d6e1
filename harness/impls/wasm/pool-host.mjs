// pool-host.mjs — the pooled WebAssembly host: the wire protocol (SPEC chapter 9) with
// capability `sessions` (R-PROTO-070..077) over the reference compiled to wasm32-wasi, as
// seeds 003/004 describe (R-POOL-050):
//
//   node pool-host.mjs [--fault-injection] build/wasm/ggufref.wasm
//
// The module is compiled ONCE (WebAssembly.Module) on the main thread and posted to every
// Worker; each Worker instantiates it: one instance per controller, each with its own linear
// memory, runtime, model copy and KV cache (a wasm instance cannot share another's memory).
//
//   stdin ─► main: lines ─► legacy Worker (core.mjs: the session-less protocol, as host.mjs)
//                              │ route(): open-session, close-session, {"session": N, ...}
//                              ▼
//            main: pools (pool.mjs, one per model file: permits, FIFO waiters, idle list)
//                  sessions ─► controller Worker N (SessionServer on its instance's session)
//   stdout ◄─ main ◄── every event, whole lines (each carries `session` for a session's)
//
// cancel (without session) is answered by the legacy Worker: its own stream (R-PROTO-041)
// and, through the shared stream table, any controller streaming that id (R-PROTO-074).
// A trap (a WebAssembly.RuntimeError, or a runtime left POISONED) ends that command with 13,
// `closed`, and drops the instance with its Worker (R-POOL-012); the next acquire makes a
// fresh one from the same compiled module. --fault-injection (a module built with
// tools/build-wasm.sh --fault-injection) adds fault-panic (the panic points of R-FAULT-003,
// armed in every controller, disarmed everywhere once one fired, plus the host point
// `wasm.trap`: a real `unreachable` trap after the next token) and fault-status.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { WASI } from 'node:wasi';
import {
  Worker, MessageChannel, isMainThread, parentPort, workerData, receiveMessageOnPort,
} from 'node:worker_threads';
import { createHost, LineSplitter, idCopy, oneLine } from './core.mjs';
import {
  ControllerPool, StreamTable, SessionServer, streamTableBuffer, STREAM_SLOTS, STATUS,
} from './pool.mjs';

const TRAP_POINT = 'wasm.trap';
const TAKEN = ['configure-sampling', 'generate', 'generate-next-token', 'evaluate',
  'reset-context', 'diagnostics', 'close-session'];
const enc = new TextEncoder();

// ---- the server ceilings (R-POOL-040) --------------------------------------------------------

function envCeilings() {
  const read = (name, lo, hi, def) => {
    const v = process.env[name];
    if (v === undefined) return def;
    if (/^[0-9]+$/.test(v) && BigInt(v) >= lo && BigInt(v) <= hi) return Number(BigInt(v));
    const shown = [...v].slice(0, 32).map((c) => (c >= ' ' && c < '\x7f' ? c : '?')).join('');
    process.stderr.write(`ggufref-wasm-pool: environment variable ${name}='${shown}' is not a ` +
      `decimal integer in [${lo}, ${hi}]\n`);
    process.exit(2);
  };
  const U64 = 2n ** 64n - 1n;
  return {
    max_sessions: read('GGUFREF_POOL_SIZE', 1n, 65536n, 4),
    max_memory: read('GGUFREF_MAX_MEMORY', 0n, U64, 0),
    max_exec_ms: read('GGUFREF_MAX_EXEC_MS', 0n, U64 / 1000000n, 0),
    max_steps: read('GGUFREF_MAX_STEPS', 0n, U64, 0),
    max_context: read('GGUFREF_MAX_CONTEXT', 0n, 2n ** 32n - 1n, 0),
  };
}

const lower = (a, b) => (a === 0 ? b : b === 0 ? a : Math.min(a, b));

// ---- main thread -----------------------------------------------------------------------------

function main() {
  const args = process.argv.slice(2);
  const fault = args[0] === '--fault-injection';
  if (fault) args.shift();
  if (args.length !== 1) {
    process.stderr.write('usage: node pool-host.mjs [--fault-injection] GGUFREF_WASM\n');
    process.exit(2);
  }
  const env = envCeilings();
  const t0 = performance.now();
  const module = new WebAssembly.Module(readFileSync(args[0])); // once per process
  const compileMs = performance.now() - t0;
  const streams = streamTableBuffer();
  const streamSlots = new Array(STREAM_SLOTS).fill(false);
  const url = new URL(import.meta.url);

  let names = [];                 // status names, from the legacy instance
  let points = [];                // panic point names (fault-status)
  const pools = new Map();        // path -> {state, model, waiting, pool, limits}
  const sessions = new Map();     // id -> {id, ctl, outstanding: [ids], closed}
  const controllers = new Set();
  let nextSession = 1;
  let armed = null;               // the armed panic point (fault-injection)
  let panicFired = false;
  let legacyDone = false;

  const out = (ev) => process.stdout.write(JSON.stringify(ev) + '\n');
  const emitError = (id, code, message, extra) => out({ id: idCopy(id), event: 'error',
    error: { code, name: names[code] ?? 'UNKNOWN', message: oneLine(message) }, ...extra });

  // -- controllers --
  function dropController(ctl) {
    ctl.dead = true;
    controllers.delete(ctl);
    streamSlots[ctl.streamSlot] = false;
    ctl.worker.terminate();
  }

  // A new controller of entry e: a Worker instantiating the module and loading the model.
  function spawnController(e) {
    const slot = streamSlots.indexOf(false);
    if (slot < 0) {
      return Promise.resolve({ ok: false, status: STATUS.LIMIT_EXCEEDED,
        message: `the pooled host runs at most ${STREAM_SLOTS} controllers` });
    }
    streamSlots[slot] = true;
    return new Promise((resolve) => {
      const w = new Worker(url, { workerData: { role: 'controller', module, model: e.model,
        env, streams, slot, armed } });
      const ctl = { worker: w, streamSlot: slot, session: null, dead: false, entry: e,
        ready: false, info: null };
      const fail = (why) => {
        if (ctl.dead) return;
        if (!ctl.ready) {
          ctl.dead = true;
          streamSlots[slot] = false;
          w.terminate();
          resolve({ ok: false, status: STATUS.OUT_OF_MEMORY, message: `cannot start a controller: ${why}` });
          return;
        }
        trapped(ctl, why);
      };
      w.on('message', (m) => {
        if (ctl.dead) return;
        if (m.ready !== undefined) {
          const r = m.ready;
          if (r.status !== 0) {
            ctl.dead = true;
            streamSlots[slot] = false;
            w.terminate();
            resolve({ ok: false, status: r.status, message: r.message });
            return;
          }
          ctl.ready = true;
          ctl.info = r;
          process.stderr.write(`ggufref-wasm-pool: controller instantiated in ${r.instMs.toFixed(1)} ` +
            `ms, model loaded in ${r.loadMs.toFixed(1)} ms, linear memory ${r.memory} bytes ` +
            `('${e.path}')\n`);
          controllers.add(ctl);
          resolve({ ok: true, ctl });
          return;
        }
        onControllerMessage(ctl, m);
      });
      w.on('error', (err) => fail(err && err.message ? err.message : String(err)));
      w.on('exit', (code) => fail(`its Worker exited (${code})`));
    });
  }

  // The held controller trapped: the command it ran ends with 13, closed; the rest of its
  // session's queue is answered `closed`; the instance and its Worker are dropped.
  function trapped(ctl, why) {
    const ss = ctl.session;
    ctl.session = null;
    if (ss !== null) {
      ss.closed = true;
      const id = why !== null ? ss.outstanding.shift() : undefined; // null: already answered
      if (id !== undefined) {
        emitError(id, STATUS.GENERATION_FAILED,
          `the instance trapped (${why}); session ${ss.id} is dropped with its instance`,
          { state: 'POISONED', session: ss.id, closed: true });
      }
      for (const later of ss.outstanding) {
        emitError(later, STATUS.INVALID_ARGUMENT, `session ${ss.id} is closed`, { session: ss.id });
      }
      ss.outstanding = [];
    }
    if (ctl.entry.pool !== null) ctl.entry.pool.drop(ctl, ss !== null);
    else dropController(ctl);
    maybeExit();
  }

  function onControllerMessage(ctl, m) {
    if (m.out !== undefined && m.final && ctl.session !== null) ctl.session.outstanding.shift();
    if (m.released !== undefined) {
      // Back in the pool before close-session's result is written: a client that opens
      // again on reading it finds the controller idle (R-PROTO-077, R-POOL-011).
      const ss = ctl.session;
      ctl.session = null;
      if (ss !== null) ss.closed = true;
      if (m.released) ctl.entry.pool.release(ctl);
      else ctl.entry.pool.drop(ctl, true);
    }
    if (m.out !== undefined) process.stdout.write(m.out);
    if (m.poisoned) trapped(ctl, null); // the error event above says closed (R-PROTO-076)
    if (m.released !== undefined) maybeExit();
    if (m.trap !== undefined) {
      trapped(ctl, m.trap);
    } else if (m.fired) {
      panicFired = true;
      armed = null;
      for (const c of controllers) if (c !== ctl) c.worker.postMessage({ fault: null });
    }
  }

  // -- open-session (R-PROTO-071, R-PROTO-072) --
  // The session id is given when the open is read (as the reference does); commands naming
  // it before the pool grants a controller wait in ss.early.
  function grantTo(e, ss, openId) {
    return (ctl) => {
      ss.ctl = ctl;
      ctl.session = ss;
      ctl.worker.postMessage({ bind: ss.id, limits: e.limits });
      out({ id: idCopy(openId), event: 'result', session: ss.id, state: 'READY', limits: e.limits });
      for (const text of ss.early) ctl.worker.postMessage({ line: text });
      ss.early = null;
      if (legacyDone && !ss.closed) {
        ss.closed = true;
        ctl.worker.postMessage({ eof: true });
      }
    };
  }

  function acquireFor(e, ss, msg, waitMs) {
    e.pool.acquire(waitMs, grantTo(e, ss, msg.id), (status, message) => {
      emitError(msg.id, status, `open-session: ${message}`);
      failed(ss);
      maybeExit();
    });
  }

  // An open that failed: what was queued on its session is answered `closed`.
  function failed(ss) {
    ss.closed = true;
    ss.early = null;
    for (const id of ss.outstanding) {
      emitError(id, STATUS.INVALID_ARGUMENT, `session ${ss.id} is closed`, { session: ss.id });
    }
    ss.outstanding = [];
  }

  function modelReady(e, r) {
    const path = e.path;
    if (!r.ok) {
      pools.delete(path);
      for (const w of e.waiting) {
        emitError(w.msg.id, r.status, `open-session: ${r.message}`);
        failed(w.ss);
      }
      maybeExit();
      return;
    }
    const ctl = r.ctl;
    const per = ctl.info.modelBytes + ctl.info.sessionBytes;
    if (env.max_memory !== 0 && per > env.max_memory) { // R-POOL-020: refused at creation
      pools.delete(path);
      dropController(ctl);
      for (const w of e.waiting) {
        emitError(w.msg.id, STATUS.LIMIT_EXCEEDED, `open-session: max_memory ${env.max_memory} ` +
          `bytes cannot hold the model and one session (${per} bytes)`);
        failed(w.ss);
      }
      maybeExit();
      return;
    }
    e.limits = { ...env, max_context: lower(env.max_context, ctl.info.nCtxTrain) };
    e.pool = new ControllerPool(e.limits, per, () => spawnController(e),
      (c) => dropController(c));
    e.pool.adopt(ctl);
    e.state = 'ready';
    for (const w of e.waiting) {
      acquireFor(e, w.ss, w.msg, Math.max(0, w.waitMs - (Date.now() - w.at)));
    }
    e.waiting = [];
  }

  function openSession(msg) {
    const id = msg.id;
    const path = msg.path;
    if (typeof path !== 'string') {
      emitError(id, STATUS.INVALID_ARGUMENT, path === undefined ?
        "open-session: missing field 'path' (a string)" : "open-session: field 'path' must be a string");
      return;
    }
    let waitMs = 60000;
    if (msg.wait_ms !== undefined) {
      waitMs = msg.wait_ms;
      if (typeof waitMs !== 'number' || !Number.isInteger(waitMs) || waitMs < 0 || waitMs > 2147483647) {
        emitError(id, STATUS.INVALID_ARGUMENT,
          "open-session: field 'wait_ms' must be an integer in [0, 2147483647]");
        return;
      }
    }
    let e = pools.get(path);
    if (e === undefined) {
      let bytes;
      try {
        bytes = readFileSync(path);
      } catch (err) {
        emitError(id, 3, `open-session: cannot read '${path}': ${err.code ?? err.message}`);
        return;
      }
      // The model bytes, once in this process, shared by every controller's Worker (each
      // copies them into its own linear memory).
      const model = new SharedArrayBuffer(bytes.length);
      new Uint8Array(model).set(bytes);
      e = { path, state: 'loading', model, waiting: [], pool: null, limits: null };
      pools.set(path, e);
      const entry = e;
      spawnController(e).then((r) => modelReady(entry, r));
    }
    const ss = { id: nextSession++, ctl: null, outstanding: [], closed: false, early: [] };
    sessions.set(ss.id, ss);
    if (e.state === 'loading') {
      e.waiting.push({ msg, ss, waitMs, at: Date.now() });
      return;
    }
    acquireFor(e, ss, msg, waitMs);
  }

  // -- fault injection (R-PROTO-060 subset, R-POOL-050) --
  function faultPanic(msg) {
    const p = msg.point;
    if (p !== undefined && p !== null && typeof p !== 'string') {
      emitError(msg.id, STATUS.INVALID_ARGUMENT, "fault-panic: field 'point' must be a point name or null");
      return;
    }
    armed = typeof p === 'string' ? p : null;
    panicFired = false;
    for (const c of controllers) c.worker.postMessage({ fault: armed });
    out({ id: idCopy(msg.id), event: 'result' });
  }

  function faultStatus(msg) {
    out({ id: idCopy(msg.id), event: 'result', alloc_count: 0, alloc_live: 0, alloc_fired: false,
      io_bytes: 0, io_fired: false, panic_fired: panicFired, points });
  }

  // -- commands the legacy Worker routes here, in arrival order --
  function route(msg, text) {
    const id = msg.id;
    const cmd = msg.cmd;
    if (cmd === 'open-session') return openSession(msg);
    if (fault && cmd === 'fault-panic') return faultPanic(msg);
    if (fault && cmd === 'fault-status') return faultStatus(msg);
    if (!Object.hasOwn(msg, 'session')) {
      return emitError(id, STATUS.INVALID_ARGUMENT,
        "close-session: missing field 'session' (the id open-session answered)");
    }
    const f = msg.session;
    if (typeof f !== 'number' || !Number.isInteger(f) || f < 1 || f > 2 ** 53 - 1) {
      return emitError(id, STATUS.INVALID_ARGUMENT,
        "field 'session' must be a session id (a positive integer)");
    }
    if (!TAKEN.includes(cmd)) {
      return emitError(id, STATUS.INVALID_ARGUMENT, "this command does not take a 'session' " +
        '(only configure-sampling, generate, generate-next-token, evaluate, reset-context, ' +
        'diagnostics and close-session do)');
    }
    const ss = sessions.get(f);
    if (ss === undefined) return emitError(id, STATUS.INVALID_ARGUMENT, `${cmd}: no open session ${f}`);
    if (ss.closed) {
      return emitError(id, STATUS.INVALID_ARGUMENT, `${cmd}: session ${f} is closed`, { session: f });
    }
    ss.outstanding.push(id);
    if (cmd === 'close-session') ss.closed = true; // nothing after it (R-PROTO-077)
    if (ss.ctl === null) ss.early.push(text);
    else ss.ctl.worker.postMessage({ line: text });
    return undefined;
  }

  // -- end of input: every session's queue answered, then exit (R-PROTO-077, R-PROTO-002) --
  function maybeExit() {
    if (!legacyDone) return;
    for (const e of pools.values()) {
      if (e.state === 'loading' || (e.pool !== null && e.pool.busy())) return;
    }
    process.exit(0);
  }

  function finish() {
    legacyDone = true;
    for (const ss of sessions.values()) {
      if (!ss.closed && ss.ctl !== null) ss.ctl.worker.postMessage({ eof: true });
      if (ss.ctl !== null) ss.closed = true; // not yet granted: closed after its grant
    }
    maybeExit();
  }

  // -- the legacy Worker: the session-less protocol --
  const { port1, port2 } = new MessageChannel();
  const legacy = new Worker(url, { workerData: { role: 'legacy', module, port: port2, streams,
    fault, env }, transferList: [port2] });
  const pending = [];
  let started = false;
  legacy.on('message', (m) => {
    if (m.init !== undefined) {
      names = m.init.names;
      points = [...m.init.points, TRAP_POINT];
      if (fault && !m.init.faultBuild) {
        process.stderr.write('ggufref-wasm-pool: --fault-injection needs a module built with ' +
          'tools/build-wasm.sh --fault-injection\n');
        process.exit(2);
      }
      started = true;
      for (const b of pending) port1.postMessage(b);
      pending.length = 0;
      process.stderr.write(`ggufref-wasm-pool: module compiled once in ${compileMs.toFixed(1)} ms\n`);
      return;
    }
    if (m.route !== undefined) route(m.route.msg, m.route.text);
    if (m.out !== undefined) process.stdout.write(m.out);
    if (m.done) finish();
  });
  legacy.on('error', (e) => {
    process.stderr.write(`ggufref-wasm-pool: worker failed: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
  });
  const lines = new LineSplitter((batch) => {
    if (started) port1.postMessage(batch);
    else pending.push(batch);
  });
  process.stdin.on('data', (chunk) => lines.push(chunk));
  process.stdin.on('end', () => lines.end());
}

// ---- Workers ---------------------------------------------------------------------------------

function newWasi() {
  return new WASI({ version: 'preview1', args: ['ggufref'], env: {}, preopens: {} });
}

// The session-less protocol, as host.mjs, plus the pooled host's hooks.
function legacyWorker() {
  const { port, streams, fault, env } = workerData;
  const table = new StreamTable(streams);
  const wasi = newWasi();
  const routed = (r) => r.cmd === 'open-session' || r.cmd === 'close-session' ||
    (Object.hasOwn(r.msg, 'session') && r.cmd !== 'cancel') ||
    (fault && (r.cmd === 'fault-panic' || r.cmd === 'fault-status'));
  const srv = createHost(workerData.module, {
    wasi,
    readModel(path) {
      let data;
      try {
        data = readFileSync(path);
      } catch {
        return null;
      }
      return { size: data.length, copyTo(dst) { dst.set(data); data = null; } };
    },
    post(msg) { parentPort.postMessage(msg); },
    canPoll: true,
    poll() {
      const items = [];
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
        for (const item of m.message) items.push(item);
      }
      return items;
    },
    route(r, text) {
      if (!routed(r)) return false;
      parentPort.postMessage({ route: { msg: r.msg, text } });
      return true;
    },
    bootExtras(ev) {
      ev.name = 'ggufref-wasm-pool';
      ev.capabilities.push('sessions');
      if (fault) {
        ev.capabilities.push('fault-injection');
        ev.levels = ['core', 'fault-injection'];
      }
      Object.assign(ev.limits, env);
    },
    cancelOthers(target) { return table.cancel(target); },
  });
  const x = srv.x;
  const names = [];
  for (let c = 0; ; c++) {
    const n = srv.statusName(c);
    if (n === 'UNKNOWN') break;
    names.push(n);
  }
  const points = [];
  for (let i = 0; i < x.gr_wasm_fault_point_count(); i++) points.push(srv.cstr(x.gr_wasm_fault_point_name(i)));
  parentPort.postMessage({ init: { names, points, faultBuild: x.gr_wasm_fault_build() === 1 } });
  port.on('message', (m) => srv.receive(m));
}

// One controller: one instance, its model, its session (wasm_pool.c), served by a
// SessionServer while checked out.
function controllerWorker() {
  const { module, model, env, streams, slot } = workerData;
  const table = new StreamTable(streams);
  const head = table.head(slot);
  if ((Atomics.load(head, 0) & 1) === 1) Atomics.add(head, 0, 1); // a dropped one's leftover
  let onToken = () => {};
  const wasi = newWasi();
  const t0 = performance.now();
  const inst = new WebAssembly.Instance(module, {
    wasi_snapshot_preview1: wasi.wasiImport,
    ggufref_host: { token: (...a) => onToken(...a) },
  });
  wasi.initialize(inst);
  const instMs = performance.now() - t0;
  const x = inst.exports;
  const post = (m) => parentPort.postMessage(m);
  const cstr = (p) => {
    const m = new Uint8Array(x.memory.buffer);
    let e = p;
    while (m[e] !== 0) e++;
    return new TextDecoder().decode(m.subarray(p, e));
  };

  // The model: from the host's one shared buffer into this instance's memory, owned (once).
  const t1 = performance.now();
  const n = model.byteLength;
  const h = x.gr_wasm_model_bytes(n);
  if (h === 0) {
    post({ ready: { status: STATUS.OUT_OF_MEMORY, message: `no room for ${n} model bytes in wasm memory` } });
    return;
  }
  new Uint8Array(x.memory.buffer, x.gr_wasm_model_bytes_data(h), n).set(new Uint8Array(model));
  const st = x.gr_wasm_s_open(h, env.max_context, env.max_steps, env.max_exec_ms);
  if (st !== 0) {
    post({ ready: { status: st, message: cstr(x.gr_wasm_s_open_message()) } });
    return;
  }
  let nCtxTrain = 0;
  if (x.gr_wasm_s_diagnostics() === 0) {
    const d = JSON.parse(new TextDecoder().decode(
      new Uint8Array(x.memory.buffer, x.gr_wasm_s_out_ptr(), x.gr_wasm_s_out_len())));
    nCtxTrain = d.model.n_ctx_train;
  }
  const loadMs = performance.now() - t1;

  let srv = null;
  let dead = false;
  let streamSeq = 0;
  let cancelled = false;
  let trapArmed = false;
  let panicArmed = false;

  const armPanic = (point) => {
    trapArmed = point === TRAP_POINT;
    panicArmed = typeof point === 'string' && !trapArmed;
    if (!panicArmed) {
      x.gr_wasm_fault_panic(0);
      return;
    }
    const b = enc.encode(point);
    const p = x.gr_wasm_alloc(b.length + 1);
    new Uint8Array(x.memory.buffer, p, b.length + 1).set([...b, 0]);
    x.gr_wasm_fault_panic(p);
    x.gr_wasm_free(p); // the hook keeps its own table's name
  };
  if (workerData.armed) armPanic(workerData.armed);

  const platform = {
    wasi,
    readModel: () => null,
    post(m) {
      if (m.done) { // the end of input reached this session's queue: release (R-PROTO-077)
        post({ released: x.gr_wasm_s_release() === 0 });
        return;
      }
      if (m.final && panicArmed && x.gr_wasm_fault_panic_fired() === 1) {
        panicArmed = false;
        post({ fired: true });
      }
      post(m);
    },
    canPoll: true,
    poll() { // between two tokens: a cancel asked through the stream table (R-PROTO-074)
      if (streamSeq !== 0 && !cancelled && table.cancelAsked(slot, streamSeq)) {
        cancelled = true;
        x.gr_wasm_s_cancel();
      }
      return [];
    },
    route(r) {
      if (dead) return true;
      if (r.cmd !== 'close-session') return false;
      const ok = x.gr_wasm_s_release() === 0; // scrubbed for the next holder (R-POOL-011)
      const ev = { id: idCopy(r.id), event: 'result', session: srv.sessionId };
      post({ out: JSON.stringify(ev) + '\n', final: true, released: ok }); // one message
      return true;
    },
    streamBegin(id) {
      streamSeq = table.begin(slot, id);
      cancelled = false;
    },
    streamEnd() {
      if (streamSeq !== 0) table.end(slot);
      streamSeq = 0;
    },
  };
  onToken = (...a) => {
    srv.onToken(...a);
    if (trapArmed) { // fault-injection: a real trap in the middle of the generate
      trapArmed = false;
      post({ fired: true });
      x.gr_wasm_trap();
    }
  };

  const handle = (m) => {
    if (m.bind !== undefined) {
      srv = new SessionServer(x, platform, m.bind, m.limits);
    } else if (m.line !== undefined) {
      srv.receive([{ line: enc.encode(m.line) }]);
    } else if (m.eof) {
      srv.receive([{ eof: true }]);
    } else if (m.fault !== undefined) {
      armPanic(m.fault);
    }
  };
  parentPort.on('message', (m) => {
    if (dead) return;
    try {
      handle(m);
    } catch (e) {
      if (!(e instanceof WebAssembly.RuntimeError)) throw e;
      dead = true; // R-POOL-012: this instance is never used again
      post({ trap: `${e.name}: ${e.message}` });
    }
  });
  post({ ready: { status: 0, modelBytes: x.gr_wasm_s_model_bytes(),
    sessionBytes: x.gr_wasm_s_session_bytes(), nCtxTrain, memory: x.memory.buffer.byteLength,
    instMs, loadMs } });
}

if (isMainThread) main();
else if (workerData.role === 'legacy') legacyWorker();
else controllerWorker();
