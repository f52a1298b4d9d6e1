// host.mjs — the Node entry of the wasm host: the wire protocol (SPEC chapter 9) for the
// reference compiled to wasm32-wasi (tools/build-wasm.sh).
//
//   node host.mjs build/wasm/ggufref.wasm
//
// The shape of the seed's browser runtime (seed 002): the main thread owns the I/O and talks
// to a Worker with messages; the Worker owns the WebAssembly instance, the model transfer and
// the generation loop (core.mjs, shared with the browser entry ../browser/worker.mjs).
//
//   stdin ─► main: lines (1 MiB limit) ─► port ─► Worker: core.mjs ─► gr_wasm_* exports
//   stdout ◄─ main ◄──────── events ◄──── Worker ◄── token import (between tokens: poll)
//
// Node's platform parts: node:wasi, readFileSync for model files, worker_threads for the port
// and receiveMessageOnPort as the poll between two tokens (no waiting). No npm packages.
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';
import {
  Worker, MessageChannel, isMainThread, parentPort, workerData, receiveMessageOnPort,
} from 'node:worker_threads';
import { createHost, LineSplitter } from './core.mjs';

// ---- main thread: stdin lines to the Worker, its events to stdout --------------------------

function main() {
  const wasmPath = process.argv[2];
  if (!wasmPath) {
    process.stderr.write('usage: node host.mjs GGUFREF_WASM\n');
    process.exit(2);
  }
  const { port1, port2 } = new MessageChannel();
  const w = new Worker(new URL(import.meta.url), {
    workerData: { wasmPath, port: port2 }, transferList: [port2],
  });
  w.on('message', (m) => {
    if (m.out !== undefined) process.stdout.write(m.out);
    if (m.done) process.exit(0);
  });
  w.on('error', (e) => {
    process.stderr.write(`ggufref-wasm: worker failed: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
  });

  // R-PROTO-001/009: lines (core.mjs LineSplitter); the lines of one read reach the Worker in
  // one message: a cancel written together with its generate must be there when the first
  // token is out (R-PROTO-041), not a thread hop later.
  const lines = new LineSplitter((batch) => port1.postMessage(batch));
  process.stdin.on('data', (chunk) => lines.push(chunk));
  process.stdin.on('end', () => lines.end());
}

// ---- Worker: the module and the protocol (core.mjs) with Node's platform parts -------------

function worker() {
  const port = workerData.port;
  const wasi = new WASI({ version: 'preview1', args: ['ggufref'], env: {}, preopens: {} });
  const srv = createHost(new WebAssembly.Module(readFileSync(workerData.wasmPath)), {
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
  });
  port.on('message', (m) => srv.receive(m));
}

if (isMainThread) main(); else worker();
