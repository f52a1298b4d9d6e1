// page.mjs — the ggufref wire protocol (SPEC chapter 9) served in a browser page by wllama
// (@wllama/wllama 2.3.7: llama.cpp compiled to WebAssembly, running in its own Worker).
//
// The lines come from harness/impls/browser/session.mjs (window.__ggufrefFeed: the bridge's
// stdin split into lines), the events go back through window.__ggufrefOut. The runtime state
// machine of SPEC chapter 7 (states, ordering errors, last_error, transactional load, request
// bookkeeping, context-overflow checks) is implemented here, as harness/impls/llamacpp/adapter.mjs
// does it for node-llama-cpp (this file follows that adapter); wllama does the model work: GGUF
// reading and validation (llama.cpp's loader), tokenize, forward pass (decode) and the sampler
// (samplingInit / samplingSample / samplingAccept). See README.md for what it claims and why.
// wllama's module (270 KB) is imported on the first load-model, not with the page: the many
// sessions that never load a model (framing, state-machine tests) start faster.
let wllamaModule = null;
const wllama = () => (wllamaModule ??= import('./node_modules/@wllama/wllama/esm/index.js'));

const WLLAMA_VERSION = '2.3.7';
const WASM_URL = new URL('./node_modules/@wllama/wllama/esm/single-thread/wllama.wasm',
  import.meta.url).href;
const params = new URLSearchParams(location.search);
const FS_TOKEN = params.get('fs');
let fsCwd = '/';

const MAX_LINE = 1048576;
const MAX_TOP = 32;
const N_CTX_MAX = 4096;  // the context wllama allocates at most (the model's own length if less)
const STATUS = ['OK', 'INVALID_ARGUMENT', 'OUT_OF_MEMORY', 'IO_ERROR', 'TRUNCATED', 'BAD_MAGIC',
  'BYTE_SWAPPED', 'UNSUPPORTED_VERSION', 'BAD_VALUE_TYPE', 'BAD_STRING', 'DUPLICATE_NAME',
  'MODEL_NOT_LOADED', 'INVALID_STATE', 'GENERATION_FAILED', 'BAD_ALIGNMENT', 'BAD_TENSOR_INFO',
  'BAD_TENSOR_DATA', 'LIMIT_EXCEEDED', 'UNSUPPORTED_MODEL', 'UNSUPPORTED_TOKENIZER',
  'CONTEXT_OVERFLOW', 'CANCELLED', 'BAD_VALUE'];
const S = Object.fromEntries(STATUS.map((n, i) => [n, i]));
// No `logits`, no `evaluate`: wllama's getLogits returns softmax probabilities of the last
// position only (not the raw logits the protocol reports, R-PROTO-030), so neither can be
// served honestly. No `fault-injection`. `step` and `cancel`: one wllama call per token.
const CAPS = ['step', 'cancel'];
const LEVELS = ['core'];

const enc = new TextEncoder();
const utf8 = new TextDecoder('utf-8');
const log = (...a) => console.warn(`[wllama-page] ${a.join(' ')}`);

// ---------------------------------------------------------------- bytes
const hex = (u8) => Array.from(u8, (b) => b.toString(16).padStart(2, '0')).join('');
function concat(a, b) {
  const o = new Uint8Array(a.length + b.length);
  o.set(a, 0);
  o.set(b, a.length);
  return o;
}
const escapeFileStr = (s) => Array.from(enc.encode(s), (b) =>
  ((b < 0x20 || b > 0x7e || b === 0x27 || b === 0x5c) ? `\\x${b.toString(16).padStart(2, '0')}`
    : String.fromCharCode(b))).join('');
const oneLine = (s) => String(s).replace(/[\r\n]+/g, ' ').trim() || 'error';

// ---------------------------------------------------------------- output
function emit(obj) { window.__ggufrefOut(`${JSON.stringify(obj)}\n`); }
class RtError extends Error {
  constructor(code, message) { super(message); this.code = code; }
}

// ---------------------------------------------------------------- wllama's log (per load)
// wllama reports a failed load to JavaScript with a generic error; llama.cpp's reason is only in
// its log, which we keep and put into the error message.
const wlLogs = [];
const keep = (level) => (...a) => {
  const m = a.map((x) => (typeof x === 'string' ? x : (() => {
    try { return JSON.stringify(x); } catch { return String(x); }
  })())).join(' ').trimEnd();
  if (!m || m.startsWith('Missing paths to "multi-thread')) return; // we load single-thread
  if (level !== 'debug') {
    wlLogs.push(m);
    if (wlLogs.length > 200) wlLogs.shift();
  }
  // Not printed: a failure's lines go into its error message (load, generate).
};
const LOGGER = { debug: () => {}, log: keep('log'), warn: keep('warn'), error: keep('error') };

// Map a load failure's text to a status (strict-errors is not claimed: at core level any error
// is a conforming rejection; a best effort so the report reads well).
function loadStatus(text) {
  const t = text.toLowerCase();
  if (/invalid magic|bad magic/.test(t)) return S.BAD_MAGIC;
  if (/ggufv1 is no longer supported|unsupported version|version/.test(t) && /gguf/.test(t)) return S.UNSUPPORTED_VERSION;
  if (/wrong type|invalid type|bad type/.test(t)) return S.BAD_VALUE_TYPE;
  if (/duplicate/.test(t)) return S.DUPLICATE_NAME;
  if (/alignment/.test(t)) return S.BAD_ALIGNMENT;
  if (/tokenizer/.test(t)) return S.UNSUPPORTED_TOKENIZER;
  if (/tensor/.test(t) && /(data|offset|bounds|size)/.test(t)) return S.BAD_TENSOR_DATA;
  if (/tensor/.test(t)) return S.BAD_TENSOR_INFO;
  if (/(end of file|truncat|failed to read)/.test(t)) return S.TRUNCATED;
  return S.UNSUPPORTED_MODEL;
}

// ---------------------------------------------------------------- sampling settings
const DEFAULTS = { temperature: 0, top_k: 0, top_p: 1, min_p: 0, repeat_penalty: 1,
  repeat_last_n: 64, seed: 0n, max_tokens: 128, stop_at_eos: true };
const f32 = Math.fround;
function shortestF32(x) {
  if (!Number.isFinite(x)) return x;
  for (let p = 1; p <= 9; p++) { const v = Number(x.toPrecision(p)); if (f32(v) === x) return v; }
  return x;
}
const INT32 = (v) => Number.isInteger(v) && v >= -2147483648 && v <= 2147483647;

// ---------------------------------------------------------------- the runtime (SPEC chapter 7)
const rt = {
  state: 'UNINITIALIZED',
  lastError: { code: 0, name: 'OK', message: '' },
  sampling: { ...DEFAULTS },
  m: null,   // {w (Wllama), nCtx, nVocab, bos, eos, addBos, spm, path, bytes}
  tokens: [], nPrompt: 0, result: new Uint8Array(0), nPast: 0,
  streamingId: undefined, cancelFlag: false,
  totals: { models: 0, requests: 0, tokens: 0 },
};
function lazyInit() { if (rt.state === 'UNINITIALIZED') rt.state = 'INITIALIZED'; }
function fail(code, message, toState) {
  rt.lastError = { code, name: STATUS[code], message: oneLine(message) };
  if (toState) rt.state = toState;
  throw new RtError(code, message);
}
function needModel() { if (!rt.m) fail(S.MODEL_NOT_LOADED, 'no model is loaded'); }

// The file's bytes from the local server (bridge mode: paths relative to the bridge's cwd).
async function fetchModel(path) {
  if (FS_TOKEN === null) return null;
  const q = new URLSearchParams({ token: FS_TOKEN, cwd: fsCwd, path });
  const r = await fetch(`/fs?${q}`);
  if (r.status !== 200) return null;
  return r.blob();
}

async function loadModel(path) {
  lazyInit();
  const blob = await fetchModel(path);
  if (blob === null) fail(S.IO_ERROR, `cannot open '${escapeFileStr(path)}': not a readable regular file (offset 0)`, 'RECOVERABLE_ERROR');
  wlLogs.length = 0;
  // One Wllama instance per model (wllama cannot load a second model into an instance); the
  // old model stays until the new one is loaded (R-RT-011).
  const { Wllama } = await wllama();
  const w = new Wllama({ 'single-thread/wllama.wasm': WASM_URL },
    { logger: LOGGER, suppressNativeLog: false });
  try {
    await w.loadModel([blob], { n_ctx: N_CTX_MAX, n_batch: N_CTX_MAX, n_threads: 1, seed: 1,
      cache_type_k: 'f32', cache_type_v: 'f32' });
  } catch (e) {
    try { await w.exit(); } catch { /* ignore */ }
    const detail = wlLogs.concat([`${e?.name ?? 'Error'}: ${e?.message ?? e}`]).join(' | ');
    fail(loadStatus(detail), `wllama ${WLLAMA_VERSION} (llama.cpp) refused '${escapeFileStr(path)}': ${detail.slice(-600)}`, 'RECOVERABLE_ERROR');
  }
  try {
    const info = w.getLoadedContextInfo();
    const md = w.getModelMetadata();
    const nCtx = Math.min(md.hparams.nCtxTrain, info.n_ctx);
    if (!(nCtx > 0)) throw new Error(`context length ${md.hparams.nCtxTrain}`);
    const m = { w, nCtx, nVocab: md.hparams.nVocab, bos: w.getBOS(), eos: w.getEOS(),
      addBos: w.mustAddBosToken(), spm: md.meta['tokenizer.ggml.model'] !== 'gpt2',
      path, bytes: blob.size };
    const old = rt.m;
    rt.m = m;
    rt.tokens = []; rt.nPrompt = 0; rt.result = new Uint8Array(0); rt.nPast = 0;
    rt.totals.models++;
    rt.state = 'READY';
    if (old) await old.w.exit().catch(() => {});
  } catch (e) {
    if (e instanceof RtError) throw e;
    try { await w.exit(); } catch { /* ignore */ }
    fail(S.UNSUPPORTED_MODEL, `wllama could not set up '${escapeFileStr(path)}': ${oneLine(e?.message ?? e)}`, 'RECOVERABLE_ERROR');
  }
}

// The piece of `tok` after `prev` (R-TOK-020/021): wllama's llama_token_to_piece bytes (SPM:
// U+2581 -> space, <0xHH> -> the byte), BOS/EOS -> nothing, one leading space dropped after BOS
// for an SPM vocabulary as llama_detokenize does.
function piece(m, prev, tok, bytes) {
  if (tok === m.bos || tok === m.eos) return new Uint8Array(0);
  if (m.spm && prev === m.bos && bytes.length > 1 && bytes[0] === 0x20) return bytes.subarray(1);
  if (m.spm && prev === m.bos && bytes.length === 1 && bytes[0] === 0x20) return new Uint8Array(0);
  return bytes;
}

async function tokenize(m, text) {
  const ids = text === '' ? [] : Array.from(await m.w.tokenize(text, false));
  return m.addBos ? [m.bos, ...ids] : ids;
}

// wllama's sampler: greedy at temperature 0; otherwise llama.cpp's common chain. The seed is
// fixed when the model is loaded (wllama takes no seed in samplingInit): see README.
function samplerConfig(s) {
  const cfg = { temp: s.temperature };
  if (s.temperature > 0) {
    cfg.top_k = s.top_k > 0 ? s.top_k : 0;
    cfg.top_p = s.top_p;
    cfg.min_p = s.min_p;
  } else {
    cfg.top_k = 0; cfg.top_p = 1; cfg.min_p = 0;
  }
  cfg.penalty_repeat = s.repeat_penalty;
  cfg.penalty_last_n = s.repeat_last_n;
  cfg.penalty_freq = 0; cfg.penalty_present = 0;
  return cfg;
}

// One generation step (R-RT-023): decode the tokens not yet in the KV cache, sample the next.
async function step(m, index, id) {
  const pending = rt.tokens.slice(rt.nPast);
  await m.w.decode(pending, {});
  rt.nPast = rt.tokens.length;
  const r = await m.w.samplingSample();
  const token = r.token;
  if (!(Number.isInteger(token) && token >= 0 && token < m.nVocab)) fail(S.GENERATION_FAILED, `wllama sampled no token at position ${rt.tokens.length}`, 'RECOVERABLE_ERROR');
  await m.w.samplingAccept([token]);
  const prev = rt.tokens[rt.tokens.length - 1];
  const pc = piece(m, prev, token, new Uint8Array(r.piece));
  rt.tokens.push(token);
  rt.result = concat(rt.result, pc);
  rt.totals.tokens++;
  emit({ id, event: 'token', index, token, piece: hex(pc) });
  return token;
}

function resultFields(extra) {
  return { state: rt.state, n_prompt: rt.nPrompt, n_tokens: rt.tokens.length, ...extra };
}
const wrapWllama = (e) => {
  if (e instanceof RtError) throw e;
  fail(S.GENERATION_FAILED, `wllama: ${e?.name ?? 'Error'}: ${oneLine(e?.message ?? e)}${wlLogs.length ? ` | ${wlLogs.slice(-3).join(' | ')}` : ''}`, 'RECOVERABLE_ERROR');
};

async function generate(id, cmd) {
  lazyInit();
  if (rt.state === 'FREED' || !rt.m) fail(S.MODEL_NOT_LOADED, 'no model is loaded');
  const m = rt.m;
  let prompt;
  try { prompt = await tokenize(m, cmd.prompt); } catch (e) { fail(S.INVALID_ARGUMENT, `prompt: ${oneLine(e?.message ?? e)}`, 'RECOVERABLE_ERROR'); }
  if (prompt.length === 0) fail(S.INVALID_ARGUMENT, 'prompt: yields no tokens', 'RECOVERABLE_ERROR');
  const s = rt.sampling;
  if (prompt.length + s.max_tokens > m.nCtx) fail(S.CONTEXT_OVERFLOW, `prompt of ${prompt.length} tokens + max_tokens ${s.max_tokens} > n_ctx ${m.nCtx}`, 'RECOVERABLE_ERROR');
  wlLogs.length = 0;
  // commit (R-RT-020)
  try {
    await m.w.kvClear();
    await m.w.samplingInit(samplerConfig(s), prompt);
  } catch (e) { wrapWllama(e); }
  rt.tokens = prompt.slice(); rt.nPrompt = prompt.length; rt.result = new Uint8Array(0); rt.nPast = 0;
  rt.totals.requests++;
  rt.cancelFlag = false;
  rt.streamingId = id;
  rt.state = 'CONTINUATION_READY';
  const made = [];
  try {
    for (let i = 0; i < s.max_tokens; i++) {
      if (i > 0) drainCancels();
      if (rt.cancelFlag) fail(S.CANCELLED, `generate cancelled after ${made.length} tokens`, 'CONTINUATION_READY');
      const t = await step(m, i, id);
      made.push(t);
      if (s.stop_at_eos && t === m.eos) break;
    }
  } catch (e) {
    wrapWllama(e);
  } finally { rt.streamingId = undefined; }
  return resultFields({ prompt_tokens: prompt, tokens: made, text_hex: hex(rt.result), text: utf8.decode(rt.result) });
}

async function generateNext(id) {
  lazyInit();
  if (!rt.m) fail(S.MODEL_NOT_LOADED, 'no model is loaded');
  if (rt.state !== 'CONTINUATION_READY') fail(S.INVALID_STATE, `generate-next-token needs an open request (state ${rt.state})`);
  const m = rt.m;
  if (rt.tokens.length + 1 > m.nCtx) fail(S.CONTEXT_OVERFLOW, `${rt.tokens.length} tokens + 1 > n_ctx ${m.nCtx}`, 'RECOVERABLE_ERROR');
  rt.cancelFlag = false;
  rt.streamingId = id;
  let t;
  try {
    t = await step(m, 0, id);
    drainCancels(); // R-LEVEL-063: a cancel hits it after its token; it still ends with its result
  } catch (e) {
    wrapWllama(e);
  } finally { rt.streamingId = undefined; }
  return resultFields({ tokens: [t] });
}

function diagnostics() {
  lazyInit();
  return {
    state: rt.state, n_prompt: rt.nPrompt, n_tokens: rt.tokens.length, tokens: rt.tokens,
    text_hex: hex(rt.result), model: !!rt.m, sampling: samplingOut(rt.sampling),
    last_error: rt.lastError,
    impl: { backend: `wllama ${WLLAMA_VERSION} (llama.cpp in WebAssembly, single-thread) in ${navigator.userAgent}`,
      model_path: rt.m?.path ?? null, n_ctx: rt.m?.nCtx ?? null, n_vocab: rt.m?.nVocab ?? null,
      totals: rt.totals },
  };
}
function samplingOut(s) {
  return { temperature: shortestF32(s.temperature), top_k: s.top_k, top_p: shortestF32(s.top_p),
    min_p: shortestF32(s.min_p), repeat_penalty: shortestF32(s.repeat_penalty), repeat_last_n: s.repeat_last_n,
    seed: s.seed <= 2n ** 53n ? Number(s.seed) : s.seed.toString(), max_tokens: s.max_tokens, stop_at_eos: s.stop_at_eos };
}

// ---------------------------------------------------------------- command validation (R-PROTO-005..008)
class ProtoError extends Error { constructor(code, message, id) { super(message); this.code = code; this.id = id; } }
const badField = (id, f, why) => { throw new ProtoError(S.INVALID_ARGUMENT, `field '${f}': ${why}`, id); };
function checkString(id, o, f, required) {
  if (!(f in o)) { if (required) badField(id, f, 'missing'); return undefined; }
  if (typeof o[f] !== 'string') badField(id, f, 'must be a string');
  if (o[f].includes('\u0000')) badField(id, f, 'contains U+0000');
  return o[f];
}
function checkInt(id, o, f, lo = -2147483648, hi = 2147483647) {
  if (!(f in o)) return undefined;
  const v = o[f];
  if (typeof v !== 'number' || !Number.isInteger(v)) badField(id, f, 'must be an integer');
  if (v < lo || v > hi) badField(id, f, `out of range [${lo}, ${hi}]`);
  return v === 0 ? 0 : v;
}
function checkNum(id, o, f) {
  if (!(f in o)) return undefined;
  if (typeof o[f] !== 'number') badField(id, f, 'must be a number');
  return f32(o[f]);
}
function checkBool(id, o, f) {
  if (!(f in o)) return undefined;
  if (typeof o[f] !== 'boolean') badField(id, f, 'must be a boolean');
  return o[f];
}
function logitsReq(id, o) {
  const k = checkInt(id, o, 'logits', 0, MAX_TOP) ?? 0;
  checkBool(id, o, 'logits_full');
  if (k > 0) badField(id, 'logits', 'capability not advertised');
}
function validId(v) {
  if (typeof v === 'string') return enc.encode(v).length <= 256;
  return typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 2 ** 53;
}
const normId = (v) => (typeof v === 'number' && v === 0 ? 0 : v);

function parseSampling(id, o) {
  const s = { ...DEFAULTS };
  const t = checkNum(id, o, 'temperature'); if (t !== undefined) s.temperature = t;
  const k = checkInt(id, o, 'top_k'); if (k !== undefined) s.top_k = k;
  const p = checkNum(id, o, 'top_p'); if (p !== undefined) s.top_p = p;
  const mp = checkNum(id, o, 'min_p'); if (mp !== undefined) s.min_p = mp;
  const rp = checkNum(id, o, 'repeat_penalty'); if (rp !== undefined) s.repeat_penalty = rp;
  const rl = checkInt(id, o, 'repeat_last_n'); if (rl !== undefined) s.repeat_last_n = rl;
  const mt = checkInt(id, o, 'max_tokens'); if (mt !== undefined) s.max_tokens = mt;
  const se = checkBool(id, o, 'stop_at_eos'); if (se !== undefined) s.stop_at_eos = se;
  if ('seed' in o) {
    const v = o.seed;
    if (typeof v === 'number') {
      if (!Number.isInteger(v) || v < 0 || v > 2 ** 53) badField(id, 'seed', 'must be an integer in [0, 2^53] or a decimal string');
      s.seed = BigInt(v);
    } else if (typeof v === 'string') {
      if (!/^[0-9]{1,20}$/.test(v) || BigInt(v) > 2n ** 64n - 1n) badField(id, 'seed', 'must be a decimal string up to 2^64-1');
      s.seed = BigInt(v);
    } else badField(id, 'seed', 'must be an integer or a decimal string');
  }
  return s;
}
function validateSampling(s) {
  if (!(Number.isFinite(s.temperature) && s.temperature >= 0)) return 'temperature';
  if (s.top_k < 0) return 'top_k';
  if (!(s.top_p > 0 && s.top_p <= 1)) return 'top_p';
  if (!(s.min_p >= 0 && s.min_p <= 1)) return 'min_p';
  if (!(Number.isFinite(s.repeat_penalty) && s.repeat_penalty > 0)) return 'repeat_penalty';
  if (s.repeat_last_n < 0) return 'repeat_last_n';
  if (s.max_tokens <= 0) return 'max_tokens';
  return null;
}

// ---------------------------------------------------------------- dispatch
const COMMANDS = new Set(['boot', 'load-model', 'configure-sampling', 'generate',
  'generate-next-token', 'reset-context', 'free-model', 'diagnostics', 'cancel']);
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function parseLine(buf) {
  let text;
  try { text = strictUtf8.decode(buf); } catch { throw new ProtoError(S.INVALID_ARGUMENT, 'line is not valid UTF-8', null); }
  let o;
  try { o = JSON.parse(text); } catch (e) { throw new ProtoError(S.INVALID_ARGUMENT, `line is not one JSON value: ${oneLine(e.message)}`, null); }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new ProtoError(S.INVALID_ARGUMENT, 'line is not a JSON object', null);
  if (!('id' in o) || !validId(o.id)) throw new ProtoError(S.INVALID_ARGUMENT, "field 'id': missing or not a string (<= 256 bytes) or integer (< 2^53)", null);
  const id = normId(o.id);
  if (typeof o.cmd !== 'string') badField(id, 'cmd', 'missing or not a string');
  if (!COMMANDS.has(o.cmd)) throw new ProtoError(S.INVALID_ARGUMENT, `unknown command '${escapeFileStr(o.cmd)}'`, id);
  return { id, cmd: o.cmd, o };
}

async function handle({ id, cmd, o }) {
  let s, path, prompt, target;
  switch (cmd) {
    case 'load-model': path = checkString(id, o, 'path', true); break;
    case 'configure-sampling': s = parseSampling(id, o); break;
    case 'generate': prompt = checkString(id, o, 'prompt', true); logitsReq(id, o); break;
    case 'generate-next-token': logitsReq(id, o); break;
    case 'cancel':
      if (!('target' in o) || !validId(o.target)) badField(id, 'target', 'missing or not a string or integer id');
      target = normId(o.target); break;
    default: break;
  }
  void target;
  try {
    let res;
    switch (cmd) {
      case 'boot':
        lazyInit();
        res = { name: `wllama ${WLLAMA_VERSION} (llama.cpp in WebAssembly) in a browser page via ggufref adapter`,
          version: WLLAMA_VERSION, protocol: 1, capabilities: CAPS, levels: LEVELS,
          limits: { max_line: MAX_LINE, max_top: MAX_TOP }, state: rt.state };
        break;
      case 'load-model': await loadModel(path); res = { state: rt.state }; break;
      case 'configure-sampling': {
        lazyInit();
        const bad = validateSampling(s);
        if (bad) fail(S.INVALID_ARGUMENT, `${bad}: out of range`, 'RECOVERABLE_ERROR');
        rt.sampling = s;
        rt.state = rt.state === 'FREED' ? 'FREED' : (rt.m ? 'READY' : 'INITIALIZED');
        res = { state: rt.state, sampling: samplingOut(s) };
        break;
      }
      case 'generate': res = await generate(id, { prompt }); break;
      case 'generate-next-token': res = await generateNext(id); break;
      case 'reset-context':
        lazyInit(); needModel();
        try { await rt.m.w.kvClear(); } catch (e) { wrapWllama(e); }
        rt.tokens = []; rt.nPrompt = 0; rt.result = new Uint8Array(0); rt.nPast = 0;
        rt.state = 'READY'; res = { state: rt.state }; break;
      case 'free-model':
        lazyInit();
        if (rt.m) { const old = rt.m; rt.m = null; await old.w.exit().catch(() => {}); }
        rt.tokens = []; rt.nPrompt = 0; rt.result = new Uint8Array(0); rt.nPast = 0;
        rt.state = 'FREED'; res = { state: rt.state }; break;
      case 'diagnostics': res = diagnostics(); break;
      case 'cancel': res = { cancelled: false }; break;
      default: break;
    }
    emit({ id, event: 'result', ...res });
  } catch (e) {
    if (e instanceof RtError) {
      const ev = { id, event: 'error', error: { code: e.code, name: STATUS[e.code], message: oneLine(e.message) } };
      if (cmd !== 'cancel') ev.state = rt.state;
      emit(ev);
    } else throw e;
  }
}

// ---------------------------------------------------------------- input: lines, cancels while streaming
const queue = [];   // {buf} | {oversized: true}
let ended = false;
let wake = null;
function pushItem(item) { queue.push(item); if (wake) { const w = wake; wake = null; w(); } }
function isBlank(buf) {
  for (const b of buf) if (b !== 0x20 && b !== 0x09 && b !== 0x0d) return false;
  return true;
}

// R-PROTO-041: between two tokens, handle every cancel that arrived, except one queued behind
// another generate / generate-next-token.
function drainCancels() {
  for (let i = 0; i < queue.length; i++) {
    const item = queue[i];
    if (item.oversized) continue;
    let p;
    try { p = parseLine(item.buf); } catch { continue; }
    if (p.cmd === 'generate' || p.cmd === 'generate-next-token') break;
    if (p.cmd !== 'cancel') continue;
    if (!('target' in p.o) || !validId(p.o.target)) continue; // answered in turn (R-PROTO-008)
    queue.splice(i, 1); i--;
    const hit = rt.streamingId !== undefined && normId(p.o.target) === rt.streamingId;
    if (hit) rt.cancelFlag = true;
    emit({ id: p.id, event: 'result', cancelled: hit });
  }
}

async function main() {
  for (;;) {
    if (queue.length === 0) {
      if (ended) break;
      await new Promise((r) => { wake = r; });
      continue;
    }
    const item = queue.shift();
    if (item.oversized) { emit({ id: null, event: 'error', error: { code: S.LIMIT_EXCEEDED, name: 'LIMIT_EXCEEDED', message: `line longer than ${MAX_LINE} bytes discarded` } }); continue; }
    let p;
    try { p = parseLine(item.buf); await handle(p); } catch (e) {
      if (e instanceof ProtoError) emit({ id: e.id, event: 'error', error: { code: e.code, name: STATUS[e.code], message: oneLine(e.message) } });
      else {
        log('internal error:', e?.stack ?? e);
        emit({ id: p?.id ?? null, event: 'error', error: { code: S.GENERATION_FAILED, name: 'GENERATION_FAILED', message: oneLine(`adapter: ${e?.message ?? e}`) } });
      }
    }
    document.getElementById('state').textContent = rt.state;
  }
  if (rt.m) await rt.m.w.exit().catch(() => {});
  window.__ggufrefDone();
}

// ---------------------------------------------------------------- the bridge's side (session.mjs)
function fromBase64(s) {
  const bin = atob(s);
  const b = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) b[i] = bin.charCodeAt(i);
  return b;
}
window.__ggufrefCwd = (cwd) => { fsCwd = cwd; };
// [{l: base64 line} | {d: 1} (an oversized line, discarded) | {e: 1} (end of input)]
window.__ggufrefFeed = (items) => {
  for (const it of items) {
    if (it.e) {
      ended = true;
      if (wake) { const w = wake; wake = null; w(); }
    } else if (it.d) pushItem({ oversized: true });
    else {
      let buf = fromBase64(it.l);
      if (buf.length && buf[buf.length - 1] === 0x0d) buf = buf.subarray(0, buf.length - 1);
      if (!isBlank(buf)) pushItem({ buf }); // blank: JSON whitespace only (R-LEVEL-062)
    }
  }
};
main().catch((e) => { log('fatal:', e?.stack ?? e); window.__ggufrefError?.(`fatal: ${e?.message ?? e}`); });
window.__ggufrefReady = true;
