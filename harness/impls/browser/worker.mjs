// worker.mjs — the browser entry of the wasm host: a dedicated Worker owns the WebAssembly
// instance, the runtime state, the model transfer and the generation loop (seed 002, "Target
// topology"); the page (page.mjs) owns the DOM and sends it protocol lines (SPEC chapter 9:
// typed commands with request ids) and model bytes. Protocol work is core.mjs's, shared with
// the Node entry ../wasm/host.mjs; this file supplies the browser's platform parts:
//   wasi       wasi.mjs (no files)
//   poll       the SharedArrayBuffer ring of channel.mjs (cross-origin-isolated page only;
//              without it lines come by postMessage and generate runs in one-token slices of
//              the step budget, R-EXP-010..012, yielding to the event loop between two)
//   readModel  a model the page transferred ({model: {name, number, buffer | file}}): an
//              ArrayBuffer moved, not copied (seed 002, "Ownership"), or a File read here in
//              chunks straight into wasm memory; else, in bridge mode, a file of the bridge's
//              machine fetched from the local server (/fs, synchronous XHR: Workers may).
//   post       postMessage to the page: {out: event line} | {done: true}
// No pointer into wasm memory ever leaves this Worker: events are JSON text.
import { createHost } from '../wasm/core.mjs';
import { BrowserWasi } from './wasi.mjs';
import { RingReader } from './channel.mjs';

const CHUNK = 16 << 20; // File reads into wasm memory, 16 MiB at a time
const PICKED = /^picked:(\d+):/;

let srv = null;
let reader = null;
let fs = null;           // {token, cwd} in bridge mode
const models = new Map(); // name -> {size, copyTo}
let received = 0;        // highest model number arrived

function modelSource(m) {
  if (m.buffer !== undefined) {
    let buf = m.buffer;
    return {
      size: buf.byteLength,
      copyTo(dst) {
        dst.set(new Uint8Array(buf));
        buf = null; // the only reference: the transferred bytes can go
      },
    };
  }
  const file = m.file;
  return {
    size: file.size,
    copyTo(dst) {
      const r = new FileReaderSync();
      for (let at = 0; at < file.size; at += CHUNK) {
        dst.set(new Uint8Array(r.readAsArrayBuffer(file.slice(at, at + CHUNK))), at);
      }
    },
  };
}

function fetchFile(path) {
  if (fs === null) return null;
  const q = new URLSearchParams({ token: fs.token, cwd: fs.cwd, path });
  const xhr = new XMLHttpRequest();
  xhr.open('GET', `/fs?${q}`, false);
  xhr.responseType = 'arraybuffer';
  try {
    xhr.send();
  } catch {
    return null;
  }
  if (xhr.status !== 200) return null;
  return modelSource({ buffer: xhr.response });
}

const platform = {
  wasi: new BrowserWasi((text) => console.warn(`ggufref-wasm: ${text}`)),
  canPoll: false,
  poll() { return reader !== null ? reader.take() : []; },
  post(msg) { postMessage(msg); },
  // Without the ring: back to the event loop between two one-token slices (a message to
  // ourselves is a task after the page's messages already queued).
  yieldToEvents() {
    return new Promise((resolve) => {
      const c = new MessageChannel();
      c.port1.onmessage = () => {
        c.port1.close();
        resolve();
      };
      c.port2.postMessage(0);
    });
  },
  readModel(path) {
    const m = models.get(path);
    if (m !== undefined) {
      models.delete(path);
      return m;
    }
    return fetchFile(path);
  },
  // A load-model naming a model the page announced but whose message has not arrived yet.
  waitingFor(item) {
    if (!item.line || reader === null) return false;
    const text = new TextDecoder().decode(item.line);
    if (!text.includes('picked:')) return false;
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return false;
    }
    const m = msg && msg.cmd === 'load-model' && typeof msg.path === 'string' ?
      PICKED.exec(msg.path) : null;
    if (m === null) return false;
    const n = Number(m[1]);
    return n > received && n <= reader.announcedModel();
  },
};

onmessage = async (e) => {
  const m = e.data;
  if (m.init) {
    const module = await WebAssembly.compileStreaming(fetch(m.init.wasmUrl));
    if (m.init.ring) {
      reader = new RingReader(m.init.ring);
      platform.canPoll = true;
    }
    fs = m.init.fs || null;
    srv = createHost(module, platform);
    postMessage({ ready: true, canPoll: platform.canPoll });
  } else if (m.model) {
    models.set(m.model.name, modelSource(m.model));
    received = Math.max(received, m.model.number);
    srv.pump();
  } else if (m.fsCwd !== undefined) {
    if (fs !== null) fs.cwd = m.fsCwd;
  } else if (m.wake) {
    srv.receive(reader.take());
  } else if (m.lines) {
    srv.receive(m.lines);
  }
};
