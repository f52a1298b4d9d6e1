// page.mjs — the page's side of the browser host: DOM, commands, events (seed 002: "the main
// thread owns DOM state and sends typed commands with request IDs"). Commands are wire
// protocol lines (SPEC chapter 9) written into the ring the Worker polls (channel.mjs); model
// bytes go by postMessage, transferred (the page's ArrayBuffer is detached: moved, not
// copied), or as a File the Worker reads itself. Events come back as JSON lines.
//
// Bridge mode (?bridge=1&fs=TOKEN, session.mjs): the same Worker serves the lines the
// acceptance suite writes to the bridge process; its events go back through
// window.__ggufrefOut. The person's UI is then idle.
import { createRing, RingWriter } from './channel.mjs';

const params = new URLSearchParams(location.search);
const bridge = params.get('bridge') === '1';
const $ = (id) => document.getElementById(id);
const enc = new TextEncoder();

const worker = new Worker('worker.mjs', { type: 'module' });
// ?ring=0: no ring even when isolated (tests the sliced generate of a non-isolated page).
const ring = crossOriginIsolated && params.get('ring') !== '0' ? createRing() : null;
const writer = ring ? new RingWriter(ring) : null;
const backlog = [];

// ---- sending lines ------------------------------------------------------------------------

function flush() {
  while (backlog.length > 0 && writer.tryWrite(backlog[0])) backlog.shift();
  worker.postMessage({ wake: true });
  if (backlog.length > 0) setTimeout(flush, 1); // the ring is full: the Worker is reading
}

// items: [{line: Uint8Array | null} | {eof: true}]
function sendItems(items) {
  if (writer === null) {
    worker.postMessage({ lines: items });
    return;
  }
  backlog.push(...items);
  flush();
}

let nextId = 1;
const pending = new Map(); // id -> {onToken, resolve}

// A typed command: resolves with its final event (result or error).
function command(cmd, fields = {}, onToken = null) {
  const id = nextId++;
  const line = JSON.stringify({ id, cmd, ...fields });
  log(`-> ${line}`);
  return new Promise((resolve) => {
    pending.set(id, { onToken, resolve });
    sendItems([{ line: enc.encode(line) }]);
  });
}

let modelNumber = 0;
// Hand a picked file to the Worker: its bytes transferred, or the File itself (chunked read).
async function sendModel(file, chunked) {
  const number = ++modelNumber;
  const name = `picked:${number}:${file.name}`;
  writer?.announceModel(number);
  if (chunked) {
    worker.postMessage({ model: { name, number, file } });
  } else {
    const buffer = await file.arrayBuffer();
    worker.postMessage({ model: { name, number, buffer } }, [buffer]);
    window.__lastTransfer = { bytes: file.size, detached: buffer.byteLength === 0 };
  }
  return name;
}

// ---- events -------------------------------------------------------------------------------

function onLine(text) {
  if (bridge) {
    window.__ggufrefOut(text);
    return;
  }
  for (const line of text.split('\n')) {
    if (line === '') continue;
    log(`<- ${line.length > 300 ? `${line.slice(0, 300)}...` : line}`);
    const ev = JSON.parse(line);
    if (ev.state !== undefined) setState(ev.state);
    const p = pending.get(ev.id);
    if (p === undefined) continue;
    if (ev.event === 'token') {
      p.onToken?.(ev);
    } else {
      pending.delete(ev.id);
      p.resolve(ev);
    }
  }
}

worker.onmessage = (e) => {
  const m = e.data;
  if (m.out !== undefined) onLine(m.out);
  else if (m.done && bridge) window.__ggufrefDone();
  else if (m.ready) ready(m.canPoll);
};
worker.onerror = (e) => {
  const msg = `worker failed: ${e.message || e}`;
  if (bridge) window.__ggufrefError?.(msg);
  else showError(msg);
};

const wasmUrl = new URL('/ggufref.wasm', location.href).href;
worker.postMessage({
  init: {
    wasmUrl, ring,
    fs: bridge && params.get('fs') ? { token: params.get('fs'), cwd: params.get('cwd') || '/' }
      : null,
  },
});

// ---- bridge mode --------------------------------------------------------------------------

function fromBase64(s) {
  const bin = atob(s);
  const b = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) b[i] = bin.charCodeAt(i);
  return b;
}

// From session.mjs: the session's working directory (load-model paths), before any line.
window.__ggufrefCwd = (cwd) => worker.postMessage({ fsCwd: cwd });

// From session.mjs: [{l: base64 line} | {d: 1} (discarded) | {e: 1} (end of input)]
window.__ggufrefFeed = (items) => {
  sendItems(items.map((it) => (it.e ? { eof: true } : { line: it.d ? null : fromBase64(it.l) })));
};

// ---- the person's UI ----------------------------------------------------------------------

const buttons = ['load', 'free', 'configure', 'generate', 'cancel', 'reset', 'diagnostics'];
let state = 'UNINITIALIZED';
let streaming = null;  // id of the generate in flight
let loaded = false;

function log(s) {
  if (bridge) return;
  const el = $('log');
  el.textContent += `${s}\n`;
  if (el.textContent.length > 200000) el.textContent = el.textContent.slice(-100000);
}

function showError(msg) { $('error').textContent = msg; }

function setState(s) {
  state = s;
  $('state').textContent = s;
  refresh();
}

function refresh() {
  const busy = streaming !== null;
  $('load').disabled = busy || $('model-file').files.length === 0;
  $('free').disabled = busy || !loaded;
  $('configure').disabled = busy;
  $('generate').disabled = busy || !loaded;
  $('cancel').disabled = !busy;
  $('reset').disabled = busy || !loaded;
  $('diagnostics').disabled = busy;
}

function errorText(ev) {
  return `${ev.error.name} (${ev.error.code}): ${ev.error.message}`;
}

function samplingFields() {
  const num = (id) => Number($(id).value);
  const seed = $('seed').value.trim();
  return {
    temperature: num('temperature'), top_k: num('top_k'), top_p: num('top_p'),
    min_p: num('min_p'), repeat_penalty: num('repeat_penalty'),
    repeat_last_n: num('repeat_last_n'),
    seed: /^\d{1,15}$/.test(seed) ? Number(seed) : seed,
    max_tokens: num('max_tokens'), stop_at_eos: $('stop_at_eos').checked,
  };
}

async function configure() {
  const ev = await command('configure-sampling', samplingFields());
  if (ev.event === 'error') showError(errorText(ev));
  return ev.event === 'result';
}

function hexBytes(h) {
  const b = new Uint8Array(h.length / 2);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(h.substr(2 * i, 2), 16);
  return b;
}

async function ready(canPoll) {
  if (bridge) {
    window.__ggufrefReady = true;
    return;
  }
  $('isolation').textContent = canPoll ? 'cross-origin isolated: cancel between tokens' :
    'not cross-origin isolated: generate in one-token slices, cancel between them';
  const ev = await command('boot');
  $('isolation').textContent += ` · ${ev.name} ${ev.version}, capabilities ${ev.capabilities}`;
  refresh();
}

$('model-file').onchange = refresh;

$('load').onclick = async () => {
  const file = $('model-file').files[0];
  showError('');
  const path = await sendModel(file, $('chunked').checked);
  const ev = await command('load-model', { path });
  if (ev.event === 'error') {
    showError(errorText(ev));
  } else {
    loaded = true;
  }
  $('output').textContent = ev.event === 'result' ? `loaded ${file.name} (${file.size} bytes)` : '';
  refresh();
};

$('free').onclick = async () => {
  const ev = await command('free-model');
  if (ev.event === 'error') showError(errorText(ev));
  else loaded = false;
  refresh();
};

$('configure').onclick = () => configure();

$('generate').onclick = async () => {
  showError('');
  if (!(await configure())) return;
  const out = $('output');
  out.textContent = '';
  const dec = new TextDecoder();
  let n = 0;
  $('count').textContent = '';
  const started = performance.now();
  const p = command('generate', { prompt: $('prompt').value }, (ev) => {
    out.textContent += dec.decode(hexBytes(ev.piece), { stream: true });
    n++;
    $('count').textContent = `${n} tokens`;
  });
  streaming = nextId - 1;
  refresh();
  const ev = await p;
  streaming = null;
  out.textContent += dec.decode();
  const s = (performance.now() - started) / 1000;
  $('count').textContent = `${n} tokens in ${s.toFixed(2)} s`;
  if (ev.event === 'error') showError(errorText(ev));
  refresh();
};

$('cancel').onclick = async () => {
  if (streaming === null) return;
  await command('cancel', { target: streaming });
};

$('reset').onclick = async () => {
  const ev = await command('reset-context');
  if (ev.event === 'error') showError(errorText(ev));
  else $('output').textContent = '';
};

$('diagnostics').onclick = async () => {
  const ev = await command('diagnostics');
  $('diag').textContent = JSON.stringify(ev, null, 2);
  $('diag').parentElement.open = true;
};
