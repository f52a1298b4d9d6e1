// core.mjs — the wire protocol (SPEC chapter 9) over the reference's wasm32-wasi module, for any
// host: the part of the seed's Worker (seed 002) that does not depend on the platform.
//
//   entry (platform)                      core
//   Node: host.mjs (worker_threads)  ┐
//   browser: ../browser/worker.mjs   ┴─► createHost(platform) ─► Server ─► gr_wasm_* exports
//
// The platform parts are injected:
//   wasi            { wasiImport, initialize(instance) }: node:wasi, or wasi.mjs in a browser
//   readModel(path) a model source {size, copyTo(dst Uint8Array)} or null (unreadable: the
//                   module's load_model_file then reports IO_ERROR as a native load would)
//   post(msg)       to the main thread: {out: event line} or {done: true} after the end of input
//   poll()          the lines that have arrived since, without waiting (between two tokens);
//                   canPoll false when the platform cannot: then generate runs in one-token
//                   slices (step budget, R-EXP-010..012) and awaits yieldToEvents() between
//                   two, so arriving lines are received; without either, no `cancel` capability
//   waitingFor(item) optional: true while the bytes a queued load-model needs are in transit
//   route(r, text), bootExtras(ev), cancelOthers(target)  optional, the pooled host's hooks
//                   (pool-host.mjs): take a command elsewhere (true: taken), add to boot's
//                   result, cancel other instances' requests with that id (true: one hit)
//
// Token-step scheduling (R-PROTO-041): the token callback runs inside the module, synchronously;
// between two tokens it takes the lines that have arrived (poll) and handles every cancel not
// queued behind another generate; other commands wait. Model bytes are copied once, into memory
// the runtime then owns (R-RT-017; seed 002: model ArrayBuffers are transferred once).

const MAX_LINE = 1 << 20; // R-PROTO-009
const MAX_TOP = 32;       // R-PROTO-030
const VERSION = '0.1.0';

// R-PROTO-001/009: splits a byte stream into lines for Server.receive; a line past the 1 MiB
// limit is discarded whole ({line: null}). onBatch gets the lines completed by one push (all
// of one read together), and after end() the last line and {eof: true}.
export class LineSplitter {
  constructor(onBatch) {
    this.onBatch = onBatch;
    this.parts = [];
    this.len = 0;
    this.discarding = false;
    this.batch = [];
  }

  finishLine() {
    let line = null;
    if (!this.discarding) {
      line = new Uint8Array(this.len);
      let at = 0;
      for (const p of this.parts) {
        line.set(p, at);
        at += p.length;
      }
    }
    this.batch.push({ line });
    this.parts = [];
    this.len = 0;
    this.discarding = false;
  }

  push(chunk) {
    let at = 0;
    while (at < chunk.length) {
      const nl = chunk.indexOf(10, at);
      const end = nl < 0 ? chunk.length : nl;
      if (!this.discarding) {
        if (this.len + (end - at) > MAX_LINE) {
          this.discarding = true;
          this.parts = [];
          this.len = 0;
        } else {
          this.parts.push(chunk.subarray(at, end));
          this.len += end - at;
        }
      }
      if (nl < 0) break;
      this.finishLine();
      at = nl + 1;
    }
    this.flush();
  }

  end() {
    if (this.discarding || this.len > 0) this.finishLine();
    this.batch.push({ eof: true });
    this.flush();
  }

  flush() {
    if (this.batch.length > 0) this.onBatch(this.batch);
    this.batch = [];
  }
}

// Instantiate the module with the platform's WASI and serve the protocol. Returns the Server;
// feed it with server.receive([{line: Uint8Array | null}, ..., {eof: true}]).
export function createHost(wasmModule, platform) {
  let onToken = () => {};
  const instance = new WebAssembly.Instance(wasmModule, {
    wasi_snapshot_preview1: platform.wasi.wasiImport,
    ggufref_host: { token: (...a) => onToken(...a) },
  });
  platform.wasi.initialize(instance);
  const srv = new Server(instance.exports, platform);
  onToken = (token, piece, len, logits, nVocab) => srv.onToken(token, piece, len, logits, nVocab);
  return srv;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Lossy = new TextDecoder('utf-8');
const enc = new TextEncoder();

// Kinds of a queued line (R-PROTO-041).
const LINE_OTHER = 0;
const LINE_CANCEL = 1;
const LINE_STREAM = 2;

export class Server {
  // x: the instance's exports; platform: { readModel, post, poll } (see createHost).
  constructor(x, platform) {
    this.x = x;
    this.platform = platform;
    this.queue = [];         // pending lines from the main thread: {line} or {eof}
    this.streaming = false;
    this.streamId = null;
    this.streamIndex = 0;
    this.streamTop = 0;
    this.streamFull = false;
    this.gen = [];
    this.modelLoaded = false; // the last accepted load, until free-model (diagnostics `model`)
    this.sampling = defaultSampling();
  }

  // ---- memory helpers ----
  bytes(ptr, n) { return new Uint8Array(this.x.memory.buffer, ptr, n); }
  cstr(ptr) {
    const m = new Uint8Array(this.x.memory.buffer);
    let end = ptr;
    while (m[end] !== 0) end++;
    return utf8Lossy.decode(m.subarray(ptr, end));
  }
  // Copy bytes into a fresh module buffer (NUL-terminated); the caller frees it. 0: no memory.
  put(data) {
    const p = this.x.gr_wasm_alloc(data.length + 1);
    if (p === 0) return 0;
    const m = this.bytes(p, data.length + 1);
    m.set(data);
    m[data.length] = 0;
    return p;
  }

  // ---- input ----
  receive(batch) {
    for (const item of batch) this.queue.push(item);
    this.pump();
  }

  // Handle queued lines in order. A load-model whose bytes have not arrived yet (a browser
  // page transfers them in a message of their own) stays first in the queue: the platform
  // calls pump() again when they are there.
  pump() {
    if (this.busy) return; // a sliced generate is under way (generateSliced)
    while (this.queue.length > 0) {
      const item = this.queue[0];
      if (item.eof) {
        this.queue.length = 0;
        this.platform.post({ done: true });
        return;
      }
      if (this.platform.waitingFor !== undefined && this.platform.waitingFor(item)) return;
      this.queue.shift();
      const pending = this.dispatch(item.line);
      if (pending !== undefined) { // a sliced generate: the rest waits for its end
        this.busy = true;
        pending.then(() => {
          this.busy = false;
          this.pump();
        });
        return;
      }
    }
  }

  // Between two tokens: take what has arrived, handle each cancel not behind a generate.
  handlePendingCancels() {
    for (const item of this.platform.poll()) this.queue.push(item);
    for (let i = 0; i < this.queue.length;) {
      const item = this.queue[i];
      const kind = item.line ? lineKind(item) : LINE_OTHER;
      if (kind === LINE_STREAM) break;
      if (kind === LINE_CANCEL) {
        this.queue.splice(i, 1);
        this.dispatch(item.line);
      } else {
        i++;
      }
    }
  }

  // ---- output ----
  emit(ev) { this.platform.post({ out: JSON.stringify(ev) + '\n' }); }

  stateName() {
    const st = this.x.gr_wasm_state();
    return st < 0 ? 'POISONED' : this.cstr(this.x.gr_wasm_state_name(st));
  }

  statusName(code) { return this.cstr(this.x.gr_wasm_status_name(code)); }

  // R-PROTO-004
  error(id, code, withState, message) {
    const ev = { id: idCopy(id), event: 'error',
      error: { code, name: this.statusName(code), message: oneLine(message) } };
    if (withState) ev.state = this.stateName();
    this.emit(ev);
  }

  // The error of a failed export: its status, the runtime's last error message.
  runtimeError(id, status, op) {
    let msg = 'the runtime is poisoned (GENERATION_FAILED)';
    if (this.x.gr_wasm_last_error() === 0 && this.lastErrorMessage() !== '') {
      msg = `${op}: ${this.lastErrorMessage()}`;
    } else if (status !== 13) {
      msg = `${op} failed: ${this.statusName(status)}`;
    }
    this.error(id, status, true, msg);
  }

  lastErrorMessage() { return this.cstr(this.x.gr_wasm_error_message()); }

  result(id, withState) {
    const ev = { id: idCopy(id), event: 'result' };
    if (withState) ev.state = this.stateName();
    return ev;
  }

  // ---- framing (R-PROTO-005..009) ----
  dispatch(raw) {
    if (raw === null) {
      this.error(null, 17, false, `command line longer than ${MAX_LINE} bytes: discarded`);
      return;
    }
    let line = raw;
    if (line.length > 0 && line[line.length - 1] === 13) line = line.subarray(0, line.length - 1);
    if (line.every((b) => b === 32 || b === 9)) return; // R-PROTO-001
    let text;
    try {
      text = utf8.decode(line);
    } catch {
      this.error(null, 1, false, 'command line is not valid UTF-8');
      return;
    }
    const msg = parseLine(text);
    if (msg === undefined) {
      this.error(null, 1, false, 'command line is not one JSON value');
      return;
    }
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
      this.error(null, 1, false, 'a command must be an object');
      return;
    }
    const id = msg.id;
    if (!idValid(id)) {
      this.error(null, 1, false,
        "field 'id' must be a string of at most 256 bytes or an integer (|id| < 2^53)");
      return;
    }
    if (typeof msg.cmd !== 'string') {
      this.error(id, 1, false, "field 'cmd' (the command name) is missing or not a string");
      return;
    }
    if (hasNulEscape(text)) {
      this.error(id, 1, false, `${msg.cmd}: strings must not contain U+0000`);
      return;
    }
    const r = { id, msg, cmd: msg.cmd };
    // The pooled host (pool-host.mjs) takes session commands elsewhere (R-PROTO-073).
    if (this.platform.route !== undefined && this.platform.route(r, text)) return;
    const run = COMMANDS[msg.cmd];
    if (run === undefined || !Object.hasOwn(COMMANDS, msg.cmd)) {
      this.error(id, 1, false, `unknown command '${[...msg.cmd].slice(0, 64).join('')}'`);
      return;
    }
    return run.call(this, r);
  }

  // ---- fields (R-PROTO-008) ----
  getString(r, name) {
    const f = r.msg[name];
    if (f === undefined) {
      this.error(r.id, 1, false, `${r.cmd}: missing field '${name}' (a string)`);
      return undefined;
    }
    if (typeof f !== 'string') {
      this.error(r.id, 1, false, `${r.cmd}: field '${name}' must be a string`);
      return undefined;
    }
    return f;
  }

  // An optional integer in [lo, hi]: its value, def when absent, undefined after an error.
  getInt(r, name, lo, hi, def) {
    const f = r.msg[name];
    if (f === undefined) return def;
    if (typeof f !== 'number' || !(f >= lo && f <= hi) || !Number.isInteger(f)) {
      this.error(r.id, 1, false,
        `${r.cmd}: field '${name}' must be an integer in [${lo}, ${hi}]`);
      return undefined;
    }
    return f;
  }

  getFloat(r, name, def) {
    const f = r.msg[name];
    if (f === undefined) return def;
    if (typeof f !== 'number') {
      this.error(r.id, 1, false, `${r.cmd}: field '${name}' must be a number`);
      return undefined;
    }
    return Math.fround(f);
  }

  getBool(r, name, def) {
    const f = r.msg[name];
    if (f === undefined) return def;
    if (typeof f !== 'boolean') {
      this.error(r.id, 1, false, `${r.cmd}: field '${name}' must be true or false`);
      return undefined;
    }
    return f;
  }

  // R-PROTO-022: an integer in [0, 2^53] or a decimal string up to 2^64-1, as a BigInt.
  getSeed(r, def) {
    const f = r.msg.seed;
    if (f === undefined) return def;
    if (typeof f === 'number' && f >= 0 && f <= 2 ** 53 && Number.isInteger(f)) return BigInt(f);
    if (typeof f === 'string' && /^[0-9]{1,20}$/.test(f) && BigInt(f) <= 0xffffffffffffffffn) {
      return BigInt(f);
    }
    this.error(r.id, 1, false,
      `${r.cmd}: field 'seed' must be an integer in [0, 2^53] or a decimal string < 2^64`);
    return undefined;
  }

  // logits (K) and logits_full, shared by generate and generate-next-token.
  streamOptions(r) {
    const top = this.getInt(r, 'logits', 0, MAX_TOP, 0);
    if (top === undefined) return false;
    const full = this.getBool(r, 'logits_full', false);
    if (full === undefined) return false;
    this.streamTop = full && top === 0 ? 1 : top;
    this.streamFull = full;
    return true;
  }

  // ---- streaming ----
  streamBegin(r) {
    this.streaming = true;
    this.streamId = r.id;
    this.streamIndex = 0;
    this.gen = [];
  }

  streamEnd() {
    this.streaming = false;
    this.streamId = null;
  }

  // The token import: the runtime's own views, valid only during this call (R-EXP-008).
  onToken(token, piecePtr, pieceLen, logitsPtr, nVocab) {
    this.gen.push(token);
    const ev = { id: idCopy(this.streamId), event: 'token', index: this.streamIndex++, token,
      piece: hex(this.bytes(piecePtr, pieceLen)) };
    if (this.streamTop > 0) {
      const bits = new Uint32Array(this.x.memory.buffer, logitsPtr, nVocab);
      const vals = new Float32Array(this.x.memory.buffer, logitsPtr, nVocab);
      ev.top = topLogits(vals, bits, this.streamTop);
      ev.digest = logitsDigest(bits);
      if (this.streamFull) {
        let s = '';
        for (let i = 0; i < nVocab; i++) s += bits[i].toString(16).padStart(8, '0');
        ev.logits_hex = s;
      }
    }
    this.emit(ev);
    this.handlePendingCancels();
  }

  // A platform that cannot poll (a browser page without cross-origin isolation) makes the
  // request in one-token slices (R-EXP-010, R-EXP-011) and returns to its event loop between
  // two, so lines that arrive meanwhile are received; a cancel that hits sets the runtime's
  // flag and the next slice ends with the runtime's CANCELLED (R-EXP-012, R-PROTO-041).
  // max_tokens and EOS stay the runtime's. Resolves when the generate has answered.
  async generateSliced(r, p, n) {
    let st = this.x.gr_wasm_generate_budget(p, n, 1);
    while (st === 0 && this.x.gr_wasm_more() === 1) {
      await this.platform.yieldToEvents();
      this.handlePendingCancels();
      st = this.x.gr_wasm_generate_continue(1);
    }
    this.generateEnd(r, p, st);
  }

  generateEnd(r, p, st) {
    this.streamEnd();
    if (p !== 0) this.x.gr_wasm_free(p);
    if (st !== 0) {
      this.runtimeError(r.id, st, 'generate');
      return;
    }
    const ev = this.result(r.id, true);
    const t = this.tokens();
    if (t !== null) {
      ev.prompt_tokens = t.all.slice(0, t.nPrompt);
      ev.n_prompt = t.nPrompt;
      ev.n_tokens = t.all.length;
    }
    ev.tokens = this.gen;
    this.addResultText(ev);
    this.emit(ev);
  }

  // The runtime's tokens: {all, nPrompt}, or null.
  tokens() {
    const st = this.x.gr_wasm_tokens();
    if (st !== 0) return null;
    const n = this.x.gr_wasm_out_len() / 4;
    const all = Array.from(new Int32Array(this.x.memory.buffer, this.x.gr_wasm_out_ptr(), n));
    return { all, nPrompt: this.x.gr_wasm_n_prompt() };
  }

  // The request's result bytes as text_hex and (informational) text.
  addResultText(ev) {
    if (this.x.gr_wasm_result() !== 0) return;
    const b = this.bytes(this.x.gr_wasm_out_ptr(), this.x.gr_wasm_out_len());
    ev.text_hex = hex(b);
    ev.text = utf8Sanitize(b);
  }
}

// ---- commands -----------------------------------------------------------------------------------

const COMMANDS = {
  boot(r) {
    const st = this.x.gr_wasm_init();
    if (st !== 0) {
      this.runtimeError(r.id, st, 'boot');
      return;
    }
    const ev = this.result(r.id, true);
    ev.name = 'ggufref-wasm';
    ev.version = VERSION;
    ev.protocol = 1;
    // cancel (R-PROTO-041) only when lines can be taken while a generate streams: polled
    // between tokens, or received between one-token slices (generateSliced).
    ev.capabilities = this.platform.canPoll || this.platform.yieldToEvents ?
      ['step', 'cancel', 'logits'] : ['step', 'logits'];
    ev.limits = { max_line: MAX_LINE, max_top: MAX_TOP, size_bits: 32 }; // wasm32 (R-GGUF-052)
    // R-LEVEL-002: the same module as the native reference: every level but fault-injection
    ev.levels = ['core', 'strict-errors', 'sampler-llama2c'];
    if (this.platform.bootExtras !== undefined) this.platform.bootExtras(ev); // R-PROTO-070
    this.emit(ev);
  },

  'load-model'(r) {
    const path = this.getString(r, 'path');
    if (path === undefined) return;
    // The model source: {size, copyTo(dst)} or null when the platform cannot read it (the
    // module reports the IO failure itself: it has no files to open).
    const src = this.platform.readModel(path);
    let st;
    if (src !== null) {
      // R-RT-017: the bytes go straight into memory the runtime then owns (held once).
      const n = src.size;
      const h = this.x.gr_wasm_model_bytes(n);
      if (h === 0) {
        this.error(r.id, 2, true, `load-model: no room for ${n} model bytes in wasm memory`);
        return;
      }
      src.copyTo(this.bytes(this.x.gr_wasm_model_bytes_data(h), n));
      st = this.x.gr_wasm_load_model_owned(h);
    } else {
      const p = this.put(enc.encode(path));
      st = this.x.gr_wasm_load_model_file(p);
      this.x.gr_wasm_free(p);
    }
    if (st !== 0) {
      this.runtimeError(r.id, st, 'load-model');
      return;
    }
    this.modelLoaded = true;
    this.emit(this.result(r.id, true));
  },

  'configure-sampling'(r) {
    const d = defaultSampling();
    const I32 = [-2147483648, 2147483647];
    const p = {};
    if ((p.temperature = this.getFloat(r, 'temperature', d.temperature)) === undefined) return;
    if ((p.top_k = this.getInt(r, 'top_k', ...I32, d.top_k)) === undefined) return;
    if ((p.top_p = this.getFloat(r, 'top_p', d.top_p)) === undefined) return;
    if ((p.min_p = this.getFloat(r, 'min_p', d.min_p)) === undefined) return;
    if ((p.repeat_penalty = this.getFloat(r, 'repeat_penalty', d.repeat_penalty)) === undefined) {
      return;
    }
    if ((p.repeat_last_n = this.getInt(r, 'repeat_last_n', ...I32, d.repeat_last_n)) ===
        undefined) return;
    if ((p.seed = this.getSeed(r, d.seed)) === undefined) return;
    if ((p.max_tokens = this.getInt(r, 'max_tokens', ...I32, d.max_tokens)) === undefined) return;
    if ((p.stop_at_eos = this.getBool(r, 'stop_at_eos', d.stop_at_eos)) === undefined) return;
    const st = this.x.gr_wasm_configure_sampling(p.temperature, p.top_k, p.top_p, p.min_p,
      p.repeat_penalty, p.repeat_last_n, Number(p.seed & 0xffffffffn), Number(p.seed >> 32n),
      p.max_tokens, p.stop_at_eos ? 1 : 0);
    if (st !== 0) {
      this.runtimeError(r.id, st, 'configure-sampling');
      return;
    }
    this.sampling = p;
    const ev = this.result(r.id, true);
    ev.sampling = samplingJson(p);
    this.emit(ev);
  },

  generate(r) {
    const prompt = this.getString(r, 'prompt');
    if (prompt === undefined || !this.streamOptions(r)) return;
    const bytes = enc.encode(prompt);
    const p = this.put(bytes);
    this.streamBegin(r);
    if (p !== 0 && !this.platform.canPoll && this.platform.yieldToEvents) {
      return this.generateSliced(r, p, bytes.length);
    }
    this.generateEnd(r, p, p === 0 ? 2 : this.x.gr_wasm_generate(p, bytes.length));
    return undefined;
  },

  'generate-next-token'(r) {
    if (!this.streamOptions(r)) return;
    this.streamBegin(r);
    const st = this.x.gr_wasm_generate_next_token();
    this.streamEnd();
    if (st !== 0) {
      this.runtimeError(r.id, st, 'generate-next-token');
      return;
    }
    const ev = this.result(r.id, true);
    const t = this.tokens();
    if (t !== null) {
      ev.n_prompt = t.nPrompt;
      ev.n_tokens = t.all.length;
    }
    ev.tokens = this.gen;
    this.emit(ev);
  },

  // R-PROTO-040
  cancel(r) {
    const target = r.msg.target;
    if (target === undefined || !idValid(target)) {
      this.error(r.id, 1, false,
        "cancel: field 'target' (the id of the request to cancel) must be a string of at most " +
        '256 bytes or an integer (|target| < 2^53)');
      return;
    }
    const hit = this.streaming && target === this.streamId;
    // R-PROTO-074: the pooled host's sessions streaming under that id (pool-host.mjs)
    const hitOther = this.platform.cancelOthers !== undefined && this.platform.cancelOthers(target);
    let st = 0;
    if (hit || !this.streaming) st = this.x.gr_wasm_cancel();
    if (st !== 0) {
      this.runtimeError(r.id, st, 'cancel');
      return;
    }
    const ev = this.result(r.id, false);
    ev.cancelled = hit || hitOther;
    this.emit(ev);
  },

  'reset-context'(r) {
    const st = this.x.gr_wasm_reset_context();
    if (st !== 0) {
      this.runtimeError(r.id, st, 'reset-context');
      return;
    }
    this.emit(this.result(r.id, true));
  },

  'free-model'(r) {
    const st = this.x.gr_wasm_free_model();
    if (st !== 0) {
      this.runtimeError(r.id, st, 'free-model');
      return;
    }
    this.modelLoaded = false;
    this.emit(this.result(r.id, true));
  },

  diagnostics(r) {
    const st = this.x.gr_wasm_diagnostics();
    if (st !== 0) {
      this.runtimeError(r.id, st, 'diagnostics');
      return;
    }
    const diag = utf8Lossy.decode(this.bytes(this.x.gr_wasm_out_ptr(), this.x.gr_wasm_out_len()));
    const ev = this.result(r.id, true);
    const t = this.tokens();
    if (t !== null) {
      ev.n_prompt = t.nPrompt;
      ev.n_tokens = t.all.length;
      ev.tokens = t.all;
    }
    ev.model = this.modelLoaded;
    ev.sampling = samplingJson(this.sampling);
    this.addResultText(ev);
    delete ev.text;
    ev.last_error = {};
    if (this.x.gr_wasm_last_error() === 0) {
      const code = this.x.gr_wasm_error_status();
      ev.last_error = { code, name: this.statusName(code), message: oneLine(this.lastErrorMessage()) };
    }
    ev.impl = { wasm_memory: this.x.memory.buffer.byteLength };
    if (this.x.gr_wasm_digest() === 0) {
      const hi = this.x.gr_wasm_digest_hi() >>> 0;
      const lo = this.x.gr_wasm_digest_lo() >>> 0;
      ev.impl.digest = hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
    }
    try {
      ev.impl.runtime = JSON.parse(diag);
    } catch {
      ev.impl.runtime_text = diag;
    }
    this.emit(ev);
  },
};

// ---- helpers ------------------------------------------------------------------------------------

export function defaultSampling() {
  // Chapter 6 defaults (ggufref_sampling_default).
  return { temperature: 0, top_k: 0, top_p: 1, min_p: 0, repeat_penalty: 1, repeat_last_n: 64,
    seed: 0n, max_tokens: 128, stop_at_eos: true };
}

// A binary32 as the shortest %.{1..9}g decimal that reads back as the same binary32.
function jsonFloat(f) {
  if (!Number.isFinite(f)) return null;
  for (let p = 1; p <= 9; p++) {
    const v = Number(f.toPrecision(p));
    if (Math.fround(v) === f) return v;
  }
  return f;
}

function samplingJson(p) {
  return { temperature: jsonFloat(p.temperature), top_k: p.top_k, top_p: jsonFloat(p.top_p),
    min_p: jsonFloat(p.min_p), repeat_penalty: jsonFloat(p.repeat_penalty),
    repeat_last_n: p.repeat_last_n,
    seed: p.seed <= 2n ** 53n ? Number(p.seed) : p.seed.toString(),
    max_tokens: p.max_tokens, stop_at_eos: p.stop_at_eos };
}

// R-PROTO-006
export function idValid(v) {
  if (typeof v === 'string') return enc.encode(v).length <= 256;
  return typeof v === 'number' && Number.isInteger(v) && Math.abs(v) <= 2 ** 53 - 1;
}

export function idCopy(id) {
  if (id === null || id === undefined) return null;
  return typeof id === 'number' ? id + 0 : id; // -0 -> 0
}

// JSON.parse, made as strict as the reference's reader: no lone surrogates (\ud800), no
// nesting past 1000 levels. undefined: not one JSON value.
function parseLine(text) {
  let v;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  return wellFormed(v, 0) ? v : undefined;
}

const LONE_SURROGATE = /\p{Cs}/u;

function wellFormed(v, depth) {
  if (typeof v === 'string') return !LONE_SURROGATE.test(v);
  if (v === null || typeof v !== 'object') return true;
  if (depth >= 1000) return false;
  if (Array.isArray(v)) return v.every((e) => wellFormed(e, depth + 1));
  for (const k of Object.keys(v)) {
    if (LONE_SURROGATE.test(k) || !wellFormed(v[k], depth + 1)) return false;
  }
  return true;
}

// True if the JSON text has a \u0000 escape (an odd run of backslashes before 'u0000').
function hasNulEscape(s) {
  for (let i = s.indexOf('\\u0000'); i >= 0; i = s.indexOf('\\u0000', i + 1)) {
    let run = 0;
    while (run < i && s[i - 1 - run] === '\\') run++;
    if (run % 2 === 0) return true;
  }
  return false;
}

function lineKind(item) {
  if (item.kind === undefined) {
    item.kind = LINE_OTHER;
    let msg;
    try {
      msg = JSON.parse(utf8.decode(item.line));
    } catch {
      msg = null;
    }
    const cmd = msg && typeof msg === 'object' ? msg.cmd : undefined;
    if (cmd === 'cancel') item.kind = LINE_CANCEL;
    else if (cmd === 'generate' || cmd === 'generate-next-token') item.kind = LINE_STREAM;
  }
  return item.kind;
}

// Length of the valid UTF-8 sequence at b[i..] (1..4), or 0 (overlong, surrogate, > U+10FFFF).
function utf8Seq(b, i) {
  const c = b[i];
  if (c < 0x80) return 1;
  let n;
  let min;
  let cp;
  if (c >= 0xc2 && c <= 0xdf) [n, min, cp] = [2, 0x80, c & 0x1f];
  else if (c >= 0xe0 && c <= 0xef) [n, min, cp] = [3, 0x800, c & 0x0f];
  else if (c >= 0xf0 && c <= 0xf4) [n, min, cp] = [4, 0x10000, c & 0x07];
  else return 0;
  if (b.length - i < n) return 0;
  for (let k = 1; k < n; k++) {
    if ((b[i + k] & 0xc0) !== 0x80) return 0;
    cp = (cp << 6) | (b[i + k] & 0x3f);
  }
  return cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? 0 : n;
}

// The result bytes as text, as the reference writes them: each invalid byte and each NUL
// becomes U+FFFD (one per byte, not per maximal subpart as TextDecoder does).
function utf8Sanitize(b) {
  let out = '';
  for (let i = 0; i < b.length;) {
    const n = b[i] === 0 ? 0 : utf8Seq(b, i);
    if (n === 0) {
      out += '\ufffd';
      i++;
    } else {
      out += utf8Lossy.decode(b.subarray(i, i + n));
      i += n;
    }
  }
  return out;
}

export function oneLine(s) {
  return s.replace(/[\r\n]/g, ' ').replace(/\0/g, '\ufffd');
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]];
  return s;
}

// R-PROTO-030: the k highest logits, highest first, ties by lower id.
function topLogits(x, bits, k) {
  const best = [];
  for (let i = 0; i < x.length; i++) {
    if (best.length === k && !(x[i] > x[best[k - 1]])) continue;
    let j = best.length < k ? best.length : k - 1;
    if (best.length < k) best.push(0);
    while (j > 0 && x[i] > x[best[j - 1]]) {
      best[j] = best[j - 1];
      j--;
    }
    best[j] = i;
  }
  return best.map((i) => [i, bits[i].toString(16).padStart(8, '0')]);
}

// R-PROTO-031: FNV-1a 64 over the little-endian bytes, in two 32-bit halves.
function logitsDigest(bits) {
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  for (let i = 0; i < bits.length; i++) {
    const u = bits[i];
    for (let b = 0; b < 32; b += 8) {
      lo = (lo ^ ((u >>> b) & 0xff)) >>> 0;
      // h * 0x100000001b3 = h * 0x1b3 + (h << 40) (mod 2^64)
      const t = lo * 0x1b3;
      const carry = Math.floor(t / 4294967296);
      hi = (Math.imul(hi, 0x1b3) + carry + (lo << 8)) >>> 0;
      lo = t >>> 0;
    }
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

