#!/usr/bin/env node
// ggufref wire-protocol adapter (SPEC chapter 9) over llama.cpp, through node-llama-cpp 3.22.1
// (its prebuilt CPU build; never built from source, never a GPU backend). See README.md.
//
// JSON Lines on stdin -> events on stdout; logs (llama.cpp's included) on stderr only.
// The runtime state machine of SPEC chapter 7 is implemented here; llama.cpp does the model:
// load (its GGUF reader and validation), tokenize, forward pass, sampling chain.
//
// Internals used (pinned to node-llama-cpp 3.22.1, see README.md): LlamaContext._ctx (the addon
// context: initBatch/addToBatch/decodeBatch/sampleToken/removeTokenCellsFromSequence),
// LlamaModel._model (getTokenString/getTokenAttributes/shouldPrependBosToken/tokenBos/tokenEos)
// and llama._bindings.AddonSampler: the public API only returns logits after the sampler chain.
process.env.NODE_LLAMA_CPP_GPU ??= "false";
process.env.NODE_LLAMA_CPP_SKIP_DOWNLOAD ??= "true";

import { readFileSync, statSync } from "node:fs";

const MAX_LINE = 1048576;
const MAX_TOP = 32;
const STATUS = ["OK", "INVALID_ARGUMENT", "OUT_OF_MEMORY", "IO_ERROR", "TRUNCATED", "BAD_MAGIC",
  "BYTE_SWAPPED", "UNSUPPORTED_VERSION", "BAD_VALUE_TYPE", "BAD_STRING", "DUPLICATE_NAME",
  "MODEL_NOT_LOADED", "INVALID_STATE", "GENERATION_FAILED", "BAD_ALIGNMENT", "BAD_TENSOR_INFO",
  "BAD_TENSOR_DATA", "LIMIT_EXCEEDED", "UNSUPPORTED_MODEL", "UNSUPPORTED_TOKENIZER",
  "CONTEXT_OVERFLOW", "CANCELLED", "BAD_VALUE"];
const S = Object.fromEntries(STATUS.map((n, i) => [n, i]));
const CAPS = (process.env.GGUFREF_LCPP_CAPS ?? "step,cancel,logits,evaluate").split(",").filter(Boolean);
const LEVELS = ["core"];
// KV cache element type: F32 by default (llama.cpp's default is F16, which alone moves f32 logits
// by ~1e-4); GGUFREF_LCPP_KV=F16 measures llama.cpp as configured out of the box.
const KV_TYPE = process.env.GGUFREF_LCPP_KV ?? "F32";
// Every load-model first goes through llama.cpp's own loader alone (llama_model_load_from_file
// through the addon), so the verdict on a file is llama.cpp's; only a file it accepts reaches
// node-llama-cpp's loadModel, whose JS GGUF reader hangs on some malformed counts (README).
// GGUFREF_LCPP_LOADER=node-llama-cpp skips that first pass (catalog_probe.py compares both).
const DIRECT_LOAD = (process.env.GGUFREF_LCPP_LOADER ?? "direct") === "direct";

const log = (...a) => process.stderr.write(`[llamacpp-adapter] ${a.join(" ")}\n`);

// ---------------------------------------------------------------- output
function emit(obj) { process.stdout.write(JSON.stringify(obj) + "\n"); }
class RtError extends Error {
  constructor(code, message) { super(message); this.code = code; }
}
const escapeFileStr = (s) => Buffer.from(s, "utf8").reduce((o, b) =>
  o + ((b < 0x20 || b > 0x7e || b === 0x27 || b === 0x5c) ? "\\x" + b.toString(16).padStart(2, "0") : String.fromCharCode(b)), "");
const oneLine = (s) => String(s).replace(/[\r\n]+/g, " ").trim() || "error";

// ---------------------------------------------------------------- llama.cpp backend (once per process)
let llamaPromise = null;
const llamaLogs = [];
// Loaded at the first boot or load-model, not at process start: importing node-llama-cpp and its
// binary check cost 1-4 s, which a process that never boots (framing tests) skips.
function backend() {
  llamaPromise ??= import("node-llama-cpp").then(({ getLlama, LlamaLogLevel }) => getLlama({
    gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true, progressLogs: false,
    maxThreads: 1, logLevel: LlamaLogLevel.warn,
    logger: (level, message) => {
      const m = String(message).trimEnd();
      if (m) { if (String(level) === "error" || /error|fail|invalid|not supported|wrong type/i.test(m)) llamaLogs.push(m); if (llamaLogs.length > 200) llamaLogs.shift(); process.stderr.write(`[llama.cpp ${level}] ${m}\n`); }
    },
  }));
  return llamaPromise;
}

// Map a llama.cpp load failure to a status (the strict-errors level is not claimed: at core level
// any error is a conforming rejection; this is a best effort so the report reads well).
function loadStatus(text) {
  const t = text.toLowerCase();
  if (/no such file|enoent|failed to open|cannot open|eisdir|not a regular/.test(t)) return S.IO_ERROR;
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

// ---------------------------------------------------------------- sampling settings (R-SAMP-001/002, R-PROTO-022)
const DEFAULTS = { temperature: 0, top_k: 0, top_p: 1, min_p: 0, repeat_penalty: 1, repeat_last_n: 64,
  seed: 0n, max_tokens: 128, stop_at_eos: true };
const f32 = Math.fround;
function shortestF32(x) {
  if (!Number.isFinite(x)) return x;
  for (let p = 1; p <= 9; p++) { const v = Number(x.toPrecision(p)); if (f32(v) === x) return v; }
  return x;
}
const INT32 = (v) => Number.isInteger(v) && v >= -2147483648 && v <= 2147483647;

// ---------------------------------------------------------------- the runtime (SPEC chapter 7)
const rt = {
  state: "UNINITIALIZED",
  lastError: { code: 0, name: "OK", message: "" },
  sampling: { ...DEFAULTS },
  m: null,              // {model, context, ctx, nVocab, nCtx, bos, eos, addBos, pieces, path}
  tokens: [], nPrompt: 0, result: Buffer.alloc(0), nPast: 0,
  streamingId: undefined, cancelFlag: false,
  totals: { models: 0, requests: 0, tokens: 0 },
};
const hasId = (v) => v !== undefined;
function lazyInit() { if (rt.state === "UNINITIALIZED") rt.state = "INITIALIZED"; }
function fail(code, message, toState) {
  rt.lastError = { code, name: STATUS[code], message: oneLine(message) };
  if (toState) rt.state = toState;
  throw new RtError(code, message);
}
function needModel() { if (!rt.m) fail(S.MODEL_NOT_LOADED, "no model is loaded"); }

async function loadModel(path) {
  lazyInit();
  const llama = await backend();
  // R-RT-012 / R-STATUS-003: the reference reads the whole file; llama.cpp mmaps it. An unreadable
  // path is IO_ERROR here as there.
  let st;
  try { st = statSync(path); } catch (e) { fail(S.IO_ERROR, `cannot open '${escapeFileStr(path)}': ${e.code ?? e.message} (offset 0)`, "RECOVERABLE_ERROR"); }
  if (!st.isFile()) fail(S.IO_ERROR, `'${escapeFileStr(path)}' is not a regular file (offset 0)`, "RECOVERABLE_ERROR");
  llamaLogs.length = 0; // this load's log lines only
  const mark = 0;
  let model, context;
  if (DIRECT_LOAD) {
    // llama.cpp's own loader first (llama_model_load_from_file through the addon), before
    // node-llama-cpp's JS GGUF reader sees the file: a rejection or crash here is llama.cpp's.
    const probe = new llama._bindings.AddonModel(path, { addonExports: llama._bindings, gpuLayers: 0,
      useMmap: false, checkTensors: true });
    let ok = false;
    try { ok = await probe.init(); } catch (e) { llamaLogs.push(String(e.message)); }
    if (ok) await probe.dispose();
    else {
      await new Promise((r) => setTimeout(r, 20)); // llama.cpp's log lines reach JS asynchronously
      fail(loadStatus(llamaLogs.slice(mark).join(" | ")), `llama.cpp refused '${escapeFileStr(path)}': ${llamaLogs.slice(mark).join(" | ").slice(0, 400) || "llama_model_load_from_file failed"}`, "RECOVERABLE_ERROR");
    }
  }
  try {
    model = await llama.loadModel({ modelPath: path, gpuLayers: 0, useMmap: false, checkTensors: true });
  } catch (e) {
    const detail = llamaLogs.slice(mark).concat([e.message]).join(" | ");
    fail(loadStatus(detail), `node-llama-cpp 3.22.1 (llama.cpp) refused '${escapeFileStr(path)}': ${detail.slice(0, 400)}`, "RECOVERABLE_ERROR");
  }
  try {
    const nCtx = model.trainContextSize;
    if (!(nCtx > 0)) throw new Error(`context length ${nCtx}`);
    context = await model.createContext({ contextSize: nCtx + 1, batchSize: nCtx + 1, sequences: 1, threads: 1,
      flashAttention: false, ignoreMemorySafetyChecks: true,
      experimentalKvCacheKeyType: KV_TYPE, experimentalKvCacheValueType: KV_TYPE });
    const mm = model._model;
    const nVocab = model.tokens ? model.fileInsights?.tensorInfo ? null : null : null;
    const vocabSize = mm.getVocabularySize ? mm.getVocabularySize() : model.fileInfo.metadata.tokenizer.ggml.tokens.length;
    const m = { model, context, ctx: context._ctx, nCtx, nVocab: vocabSize, path,
      bos: mm.tokenBos(), eos: mm.tokenEos(), addBos: !!mm.shouldPrependBosToken(),
      fileBytes: st.size, pieceCache: new Map(), greedy: null };
    m.ctx.setThreads(1);
    m.greedy = new llama._bindings.AddonSampler(mm);
    m.greedy.applyConfig({ temperature: 0 });
    // install (R-RT-011): release the old model only now
    const old = rt.m;
    rt.m = m;
    rt.tokens = []; rt.nPrompt = 0; rt.result = Buffer.alloc(0); rt.nPast = 0;
    rt.totals.models++;
    rt.state = "READY";
    if (old) await disposeModel(old);
  } catch (e) {
    if (e instanceof RtError) throw e;
    try { await context?.dispose(); await model?.dispose(); } catch { /* ignore */ }
    fail(S.UNSUPPORTED_MODEL, `llama.cpp could not set up '${escapeFileStr(path)}': ${oneLine(e.message)}`, "RECOVERABLE_ERROR");
  }
}
async function disposeModel(m) {
  try { m.greedy?.dispose(); } catch { /* ignore */ }
  try { await m.context.dispose(); } catch { /* ignore */ }
  try { await m.model.dispose(); } catch { /* ignore */ }
}

// piece of token `tok` after `prev` (R-TOK-020/021), from llama.cpp's own vocabulary text and
// token attributes (llama_token_to_piece's SPM rules: U+2581 -> space, <0xHH> -> the byte,
// control/unknown -> nothing; a leading space dropped after BOS as llama_detokenize does).
const ATTR_UNKNOWN = 1 << 0, ATTR_UNUSED = 1 << 1, ATTR_CONTROL = 1 << 3, ATTR_BYTE = 1 << 5;
const ATTR_USER_DEFINED = 1 << 4;
const VOCAB_BPE = 2;
// GPT-2's byte-level alphabet (bytes_to_unicode), inverted: code point -> byte; llama.cpp's
// llama_decode_text applies it to the text of a BPE token.
const BYTE_OF_CPT = (() => {
  const bs = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const map = new Map(bs.map((b) => [b, b]));
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) map.set(256 + n++, b);
  return map;
})();
function bpeBytes(text) {
  const out = [];
  for (const ch of text) {
    const b = BYTE_OF_CPT.get(ch.codePointAt(0));
    if (b === undefined) out.push(...Buffer.from(`[UNK_BYTE_0x${Buffer.from(ch).toString("hex")}${ch}]`));
    else out.push(b);
  }
  return Buffer.from(out);
}
function rawPiece(m, tok) {
  let p = m.pieceCache.get(tok);
  if (p) return p;
  const mm = m.model._model;
  const text = tok >= 0 && tok < m.nVocab ? mm.getTokenString(tok) : undefined;
  const attr = text === undefined ? 0 : mm.getTokenAttributes(tok);
  m.vocabType ??= mm.getVocabularyType();
  let bytes, isByte = false;
  if (text === undefined || tok === m.bos || tok === m.eos || (attr & (ATTR_CONTROL | ATTR_UNKNOWN))) bytes = Buffer.alloc(0);
  else if (m.vocabType === VOCAB_BPE) bytes = (attr & ATTR_USER_DEFINED) ? Buffer.from(text, "utf8") : bpeBytes(text);
  else if ((attr & ATTR_BYTE) && /^<0x[0-9A-Fa-f]{2}>$/.test(text)) { bytes = Buffer.from([parseInt(text.slice(3, 5), 16)]); isByte = true; }
  else bytes = Buffer.from(text.replaceAll("\u2581", " "), "utf8");
  p = { bytes, isByte };
  m.pieceCache.set(tok, p);
  return p;
}
function piece(m, prev, tok) {
  const p = rawPiece(m, tok);
  if (m.vocabType !== VOCAB_BPE && prev === m.bos && !p.isByte && p.bytes.length > 0 && p.bytes[0] === 0x20) return p.bytes.subarray(1);
  return p.bytes;
}

function tokenize(m, text) {
  const ids = Array.from(m.model._model.tokenize(text, false));
  return m.addBos ? [m.bos, ...ids] : ids;
}

// ---------------------------------------------------------------- forward + sampling
async function clearKv(m) {
  m.ctx.removeTokenCellsFromSequence(0, 0, -1);
}
// Decode tokens[from..to) (positions from..to-1); returns the batch logit index of the last one.
async function decode(m, toks, from, wantAll = false) {
  m.ctx.initBatch(toks.length);
  const idx = wantAll ? toks.map((_, i) => i) : [toks.length - 1];
  const out = m.ctx.addToBatch(0, from, Uint32Array.from(toks), Uint32Array.from(idx));
  await m.ctx.decodeBatch();
  return Array.from(out);
}
function vocabLogits(m, pairs) {
  // pairs: flat [token, value, token, value, ...] covering the whole vocabulary (greedy chain)
  const v = new Float32Array(m.nVocab);
  for (let i = 0; i < pairs.length; i += 2) v[pairs[i]] = pairs[i + 1];
  return v;
}
async function rawLogits(m, batchIdx) {
  const r = await m.ctx.sampleToken(batchIdx, m.greedy, false, false, true);
  if (!r || !r[3] || r[3].length !== 2 * m.nVocab) throw new Error("llama.cpp returned no full logits vector");
  return { token: r[0], logits: vocabLogits(m, r[3]) };
}
function samplerConfig(s, history) {
  const cfg = { temperature: s.temperature, seed: Number(BigInt.asUintN(32, s.seed)) };
  if (s.temperature > 0) {
    if (s.top_k > 0) cfg.topK = s.top_k;
    if (s.top_p < 1) cfg.topP = s.top_p;
    if (s.min_p > 0) cfg.minP = s.min_p;
  }
  if (s.repeat_penalty !== 1 && s.repeat_last_n > 0) {
    cfg.repeatPenalty = s.repeat_penalty;
    cfg.repeatPenaltyMaxTokens = s.repeat_last_n;
    cfg.repeatPenaltyTokens = Uint32Array.from(history.slice(-s.repeat_last_n));
  }
  return cfg;
}
const plainGreedy = (s) => s.temperature === 0 && !(s.repeat_penalty !== 1 && s.repeat_last_n > 0);

const fnv = (f32arr) => {
  const b = new Uint8Array(f32arr.buffer, f32arr.byteOffset, f32arr.byteLength);
  let h = 0xcbf29ce484222325n;
  for (const x of b) { h ^= BigInt(x); h = (h * 0x100000001b3n) & 0xffffffffffffffffn; }
  return h.toString(16).padStart(16, "0");
};
const bitsHex = (x) => { const a = new Float32Array([x]); return new Uint32Array(a.buffer)[0].toString(16).padStart(8, "0"); };
function topK(logits, k) {
  const ids = Array.from(logits.keys());
  ids.sort((a, b) => (logits[b] - logits[a]) || (a - b));
  return ids.slice(0, k).map((i) => [i, bitsHex(logits[i])]);
}
function logitFields(logits, req) {
  const o = {};
  if (req.k > 0) { o.top = topK(logits, req.k); o.digest = fnv(logits); }
  if (req.k > 0 && req.full) o.logits_hex = Array.from(logits, bitsHex).join("");
  return o;
}

// One generation step (R-RT-023): forward the tokens not yet in the KV cache, choose the next one.
async function step(m, req, index, id) {
  const pending = rt.tokens.slice(rt.nPast);
  const [bi] = await decode(m, pending, rt.nPast);
  rt.nPast = rt.tokens.length;
  const s = rt.sampling;
  let token, logits = null;
  if (plainGreedy(s)) {
    if (req.k > 0) ({ token, logits } = await rawLogits(m, bi));
    else token = (await m.ctx.sampleToken(bi, m.greedy))?.valueOf();
  } else {
    if (req.k > 0) ({ logits } = await rawLogits(m, bi));
    m.sampler.applyConfig(samplerConfig(s, rt.tokens));
    token = await m.ctx.sampleToken(bi, m.sampler);
  }
  if (Array.isArray(token)) token = token[0];
  if (!(Number.isInteger(token) && token >= 0 && token < m.nVocab)) fail(S.GENERATION_FAILED, `llama.cpp sampled no token at position ${rt.tokens.length}`, "RECOVERABLE_ERROR");
  const prev = rt.tokens[rt.tokens.length - 1];
  const pc = piece(m, prev, token);
  rt.tokens.push(token);
  rt.result = Buffer.concat([rt.result, pc]);
  rt.totals.tokens++;
  emit({ id, event: "token", index, token, piece: pc.toString("hex"), ...(logits ? logitFields(logits, req) : {}) });
  return token;
}

function resultFields(extra) {
  return { state: rt.state, n_prompt: rt.nPrompt, n_tokens: rt.tokens.length, ...extra };
}

async function generate(id, cmd, req) {
  lazyInit();
  if (rt.state === "FREED" || !rt.m) fail(S.MODEL_NOT_LOADED, "no model is loaded");
  const m = rt.m;
  let prompt;
  try { prompt = tokenize(m, cmd.prompt); } catch (e) { fail(S.INVALID_ARGUMENT, `prompt: ${oneLine(e.message)}`, "RECOVERABLE_ERROR"); }
  if (prompt.length === 0) fail(S.INVALID_ARGUMENT, "prompt: yields no tokens", "RECOVERABLE_ERROR");
  const s = rt.sampling;
  if (prompt.length + s.max_tokens > m.nCtx) fail(S.CONTEXT_OVERFLOW, `prompt of ${prompt.length} tokens + max_tokens ${s.max_tokens} > n_ctx ${m.nCtx}`, "RECOVERABLE_ERROR");
  // commit (R-RT-020)
  await clearKv(m);
  rt.tokens = prompt.slice(); rt.nPrompt = prompt.length; rt.result = Buffer.alloc(0); rt.nPast = 0;
  rt.totals.requests++;
  try { m.sampler?.dispose(); } catch { /* ignore */ }
  m.sampler = plainGreedy(s) ? null : new (await backend())._bindings.AddonSampler(m.model._model);
  rt.cancelFlag = false;
  rt.streamingId = id;
  rt.state = "CONTINUATION_READY";
  const made = [];
  try {
    for (let i = 0; i < s.max_tokens; i++) {
      if (i > 0) drainCancels();
      if (rt.cancelFlag) fail(S.CANCELLED, `generate cancelled after ${made.length} tokens`, "CONTINUATION_READY");
      const t = await step(m, req, i, id);
      made.push(t);
      if (s.stop_at_eos && t === m.eos) break;
    }
  } catch (e) {
    if (!(e instanceof RtError)) fail(S.GENERATION_FAILED, `llama.cpp: ${oneLine(e.message)}`, "RECOVERABLE_ERROR");
    throw e;
  } finally { rt.streamingId = undefined; }
  return resultFields({ prompt_tokens: prompt, tokens: made, text_hex: rt.result.toString("hex"), text: rt.result.toString("utf8") });
}

async function generateNext(id, req) {
  lazyInit();
  if (!rt.m) fail(S.MODEL_NOT_LOADED, "no model is loaded");
  if (rt.state !== "CONTINUATION_READY") fail(S.INVALID_STATE, `generate-next-token needs an open request (state ${rt.state})`);
  const m = rt.m;
  if (rt.tokens.length + 1 > m.nCtx) fail(S.CONTEXT_OVERFLOW, `${rt.tokens.length} tokens + 1 > n_ctx ${m.nCtx}`, "RECOVERABLE_ERROR");
  rt.cancelFlag = false;
  rt.streamingId = id;
  let t;
  try {
    t = await step(m, req, 0, id);
    drainCancels(); // R-LEVEL-063: a cancel hits it after its token; it still ends with its result
  } catch (e) {
    if (!(e instanceof RtError)) fail(S.GENERATION_FAILED, `llama.cpp: ${oneLine(e.message)}`, "RECOVERABLE_ERROR");
    throw e;
  } finally { rt.streamingId = undefined; }
  return resultFields({ tokens: [t] });
}

// evaluate {tokens, logits?, logits_full?} (R-PROTO-027, R-RT-045; capability `evaluate`): the
// logits at every position of the given ids (no BOS added), from one llama.cpp batch on an empty
// KV cache; leaves the runtime as reset-context does (READY, request cleared).
async function evaluate(cmd) {
  lazyInit();
  if (!rt.m) fail(S.MODEL_NOT_LOADED, "no model is loaded");
  const m = rt.m;
  const toks = cmd.tokens;
  if (toks.length === 0) fail(S.INVALID_ARGUMENT, "tokens: empty", "RECOVERABLE_ERROR");
  for (const [i, t] of toks.entries()) if (!(t >= 0 && t < m.nVocab)) fail(S.INVALID_ARGUMENT, `tokens[${i}]: ${t} outside [0, ${m.nVocab})`, "RECOVERABLE_ERROR");
  if (toks.length > m.nCtx) fail(S.CONTEXT_OVERFLOW, `${toks.length} tokens > n_ctx ${m.nCtx}`, "RECOVERABLE_ERROR");
  await clearKv(m);
  rt.tokens = []; rt.nPrompt = 0; rt.result = Buffer.alloc(0); rt.nPast = 0;
  let positions = [];
  try {
    const idx = await decode(m, toks, 0, true);
    for (const [i, bi] of idx.entries()) {
      const { logits } = await rawLogits(m, bi);
      if (!logits.every(Number.isFinite)) fail(S.GENERATION_FAILED, `non-finite logits at position ${i}`, "RECOVERABLE_ERROR");
      const p = { index: i, token: toks[i], digest: fnv(logits) };
      if (cmd.k > 0) p.top = topK(logits, cmd.k);
      if (cmd.full) p.logits_hex = Array.from(logits, bitsHex).join("");
      positions.push(p);
    }
  } finally { await clearKv(m); }
  rt.state = "READY";
  return { state: rt.state, n_tokens: toks.length, positions };
}

function diagnostics() {
  lazyInit();
  const s = rt.sampling;
  return {
    state: rt.state, n_prompt: rt.nPrompt, n_tokens: rt.tokens.length, tokens: rt.tokens,
    text_hex: rt.result.toString("hex"), model: !!rt.m, sampling: samplingOut(s),
    last_error: rt.lastError,
    impl: { backend: "llama.cpp via node-llama-cpp 3.22.1 (CPU)", model_path: rt.m?.path ?? null,
      n_ctx: rt.m?.nCtx ?? null, n_vocab: rt.m?.nVocab ?? null, totals: rt.totals },
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
  if (!(f in o)) { if (required) badField(id, f, "missing"); return undefined; }
  if (typeof o[f] !== "string") badField(id, f, "must be a string");
  if (o[f].includes("\u0000")) badField(id, f, "contains U+0000");
  return o[f];
}
function checkInt(id, o, f, lo = -2147483648, hi = 2147483647) {
  if (!(f in o)) return undefined;
  const v = o[f];
  if (typeof v !== "number" || !Number.isInteger(v)) badField(id, f, "must be an integer");
  if (v < lo || v > hi) badField(id, f, `out of range [${lo}, ${hi}]`);
  return v === 0 ? 0 : v;
}
function checkNum(id, o, f) {
  if (!(f in o)) return undefined;
  if (typeof o[f] !== "number") badField(id, f, "must be a number");
  return f32(o[f]);
}
function checkBool(id, o, f) {
  if (!(f in o)) return undefined;
  if (typeof o[f] !== "boolean") badField(id, f, "must be a boolean");
  return o[f];
}
function logitsReq(id, o) {
  const k = checkInt(id, o, "logits", 0, MAX_TOP) ?? 0;
  const full = checkBool(id, o, "logits_full") ?? false;
  if (k > 0 && !CAPS.includes("logits")) badField(id, "logits", "capability not advertised");
  return { k, full };
}
function validId(v) {
  if (typeof v === "string") return Buffer.byteLength(v) <= 256;
  return typeof v === "number" && Number.isInteger(v) && Math.abs(v) < 2 ** 53;
}
const normId = (v) => (typeof v === "number" && v === 0 ? 0 : v);

function parseSampling(id, o) {
  const s = { ...DEFAULTS };
  const t = checkNum(id, o, "temperature"); if (t !== undefined) s.temperature = t;
  const k = checkInt(id, o, "top_k"); if (k !== undefined) s.top_k = k;
  const p = checkNum(id, o, "top_p"); if (p !== undefined) s.top_p = p;
  const mp = checkNum(id, o, "min_p"); if (mp !== undefined) s.min_p = mp;
  const rp = checkNum(id, o, "repeat_penalty"); if (rp !== undefined) s.repeat_penalty = rp;
  const rl = checkInt(id, o, "repeat_last_n"); if (rl !== undefined) s.repeat_last_n = rl;
  const mt = checkInt(id, o, "max_tokens"); if (mt !== undefined) s.max_tokens = mt;
  const se = checkBool(id, o, "stop_at_eos"); if (se !== undefined) s.stop_at_eos = se;
  if ("seed" in o) {
    const v = o.seed;
    if (typeof v === "number") {
      if (!Number.isInteger(v) || v < 0 || v > 2 ** 53) badField(id, "seed", "must be an integer in [0, 2^53] or a decimal string");
      s.seed = BigInt(v);
    } else if (typeof v === "string") {
      if (!/^[0-9]{1,20}$/.test(v) || BigInt(v) > 2n ** 64n - 1n) badField(id, "seed", "must be a decimal string up to 2^64-1");
      s.seed = BigInt(v);
    } else badField(id, "seed", "must be an integer or a decimal string");
  }
  return s;
}
function validateSampling(s) {
  // R-SAMP-002 (condition `rejected`: INVALID_ARGUMENT naming the field)
  if (!(Number.isFinite(s.temperature) && s.temperature >= 0)) return "temperature";
  if (s.top_k < 0) return "top_k";
  if (!(s.top_p > 0 && s.top_p <= 1)) return "top_p";
  if (!(s.min_p >= 0 && s.min_p <= 1)) return "min_p";
  if (!(Number.isFinite(s.repeat_penalty) && s.repeat_penalty > 0)) return "repeat_penalty";
  if (s.repeat_last_n < 0) return "repeat_last_n";
  if (s.max_tokens <= 0) return "max_tokens";
  return null;
}

// ---------------------------------------------------------------- dispatch
const COMMANDS = new Set(["boot", "load-model", "configure-sampling", "generate", "generate-next-token",
  "reset-context", "free-model", "diagnostics", "cancel", ...(CAPS.includes("evaluate") ? ["evaluate"] : [])]);

// Parse a raw line into {id, cmd, o} or throw ProtoError.
function parseLine(buf) {
  let text;
  try { text = new TextDecoder("utf-8", { fatal: true }).decode(buf); } catch { throw new ProtoError(S.INVALID_ARGUMENT, "line is not valid UTF-8", null); }
  let o;
  try { o = JSON.parse(text); } catch (e) { throw new ProtoError(S.INVALID_ARGUMENT, `line is not one JSON value: ${oneLine(e.message)}`, null); }
  if (o === null || typeof o !== "object" || Array.isArray(o)) throw new ProtoError(S.INVALID_ARGUMENT, "line is not a JSON object", null);
  if (!("id" in o) || !validId(o.id)) throw new ProtoError(S.INVALID_ARGUMENT, "field 'id': missing or not a string (<= 256 bytes) or integer (< 2^53)", null);
  const id = normId(o.id);
  if (typeof o.cmd !== "string") badField(id, "cmd", "missing or not a string");
  if (!COMMANDS.has(o.cmd)) throw new ProtoError(S.INVALID_ARGUMENT, `unknown command '${escapeFileStr(o.cmd)}'`, id);
  return { id, cmd: o.cmd, o };
}

async function handle({ id, cmd, o }) {
  // field checks first: a command answered under R-PROTO-008 never reaches the runtime
  let req, s, path, prompt, target, evalArgs;
  switch (cmd) {
    case "load-model": path = checkString(id, o, "path", true); break;
    case "configure-sampling": s = parseSampling(id, o); break;
    case "generate": prompt = checkString(id, o, "prompt", true); req = logitsReq(id, o); break;
    case "generate-next-token":
      if (!CAPS.includes("step")) throw new ProtoError(S.INVALID_ARGUMENT, "unknown command 'generate-next-token'", id);
      req = logitsReq(id, o); break;
    case "cancel":
      if (!("target" in o) || !validId(o.target)) badField(id, "target", "missing or not a string or integer id");
      target = normId(o.target); break;
    case "evaluate": {
      if (!Array.isArray(o.tokens)) badField(id, "tokens", "must be an array of token ids");
      o.tokens.forEach((t, i) => { if (!INT32(t)) badField(id, `tokens[${i}]`, "must be an integer"); });
      const k = checkInt(id, o, "logits", 0, MAX_TOP) ?? 0;
      evalArgs = { tokens: o.tokens, k, full: checkBool(id, o, "logits_full") ?? false };
      break;
    }
  }
  try {
    let res;
    switch (cmd) {
      case "boot":
        lazyInit();
        await backend(); // start-up at boot, so a first load-model is not charged for it
        res = { name: "llama.cpp (node-llama-cpp 3.22.1, CPU) via ggufref adapter", version: "3.22.1", protocol: 1,
          capabilities: CAPS, levels: LEVELS, limits: { max_line: MAX_LINE, max_top: MAX_TOP }, state: rt.state };
        break;
      case "load-model": await loadModel(path); res = { state: rt.state }; break;
      case "configure-sampling": {
        lazyInit();
        const bad = validateSampling(s);
        if (bad) fail(S.INVALID_ARGUMENT, `${bad}: out of range`, "RECOVERABLE_ERROR");
        rt.sampling = s;
        rt.state = rt.state === "FREED" ? "FREED" : (rt.m ? "READY" : "INITIALIZED");
        res = { state: rt.state, sampling: samplingOut(s) };
        break;
      }
      case "generate": res = await generate(id, { prompt }, req); break;
      case "generate-next-token": res = await generateNext(id, req); break;
      case "reset-context":
        lazyInit(); needModel();
        await clearKv(rt.m);
        rt.tokens = []; rt.nPrompt = 0; rt.result = Buffer.alloc(0); rt.nPast = 0;
        rt.state = "READY"; res = { state: rt.state }; break;
      case "free-model":
        lazyInit();
        if (rt.m) { const old = rt.m; rt.m = null; await disposeModel(old); }
        rt.tokens = []; rt.nPrompt = 0; rt.result = Buffer.alloc(0); rt.nPast = 0;
        rt.state = "FREED"; res = { state: rt.state }; break;
      case "diagnostics": res = diagnostics(); break;
      case "cancel": res = { cancelled: false }; break;
      case "evaluate": res = await evaluate(evalArgs); break;
    }
    emit({ id, event: "result", ...res });
  } catch (e) {
    if (e instanceof RtError) {
      const ev = { id, event: "error", error: { code: e.code, name: STATUS[e.code], message: oneLine(e.message) } };
      if (cmd !== "cancel") ev.state = rt.state;
      emit(ev);
    } else throw e;
  }
}

// ---------------------------------------------------------------- input: lines, cancels while streaming
const queue = [];          // {buf} | {oversized: true}
let pending = [];          // chunks of the current line
let pendingLen = 0, oversized = false, ended = false;
let wake = null;
function pushLine(item) { queue.push(item); if (wake) { const w = wake; wake = null; w(); } }
function takeLine(buf) {
  if (buf.length && buf[buf.length - 1] === 0x0d) buf = buf.subarray(0, buf.length - 1);
  if (/^[ \t\r]*$/.test(buf.toString("latin1"))) return; // blank: JSON whitespace only (R-LEVEL-062)
  pushLine({ buf });
}
process.stdin.on("data", (chunk) => {
  let start = 0;
  for (;;) {
    const nl = chunk.indexOf(0x0a, start);
    const part = chunk.subarray(start, nl < 0 ? chunk.length : nl);
    if (!oversized) {
      if (pendingLen + part.length > MAX_LINE) { oversized = true; pending = []; pendingLen = 0; }
      else { pending.push(part); pendingLen += part.length; }
    }
    if (nl < 0) break;
    if (oversized) pushLine({ oversized: true });
    else takeLine(Buffer.concat(pending));
    pending = []; pendingLen = 0; oversized = false;
    start = nl + 1;
  }
});
process.stdin.on("end", () => {
  if (oversized) pushLine({ oversized: true });
  else if (pendingLen > 0) takeLine(Buffer.concat(pending));
  pending = []; pendingLen = 0; oversized = false;
  ended = true;
  if (wake) { const w = wake; wake = null; w(); }
});

// R-PROTO-041: between two tokens, handle every cancel that arrived, except one queued behind
// another generate / generate-next-token.
function drainCancels() {
  for (let i = 0; i < queue.length; i++) {
    const item = queue[i];
    if (item.oversized) continue;
    let p;
    try { p = parseLine(item.buf); } catch { continue; }
    if (p.cmd === "generate" || p.cmd === "generate-next-token") break;
    if (p.cmd !== "cancel") continue;
    if (!("target" in p.o) || !validId(p.o.target)) continue; // answered in turn (R-PROTO-008)
    queue.splice(i, 1); i--;
    const hit = rt.streamingId !== undefined && normId(p.o.target) === rt.streamingId;
    if (hit) rt.cancelFlag = true;
    emit({ id: p.id, event: "result", cancelled: hit });
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
    if (item.oversized) { emit({ id: null, event: "error", error: { code: S.LIMIT_EXCEEDED, name: "LIMIT_EXCEEDED", message: `line longer than ${MAX_LINE} bytes discarded` } }); continue; }
    let p;
    try { p = parseLine(item.buf); await handle(p); } catch (e) {
      if (e instanceof ProtoError) emit({ id: e.id, event: "error", error: { code: e.code, name: STATUS[e.code], message: oneLine(e.message) } });
      else {
        log("internal error:", e?.stack ?? e);
        const ev = { id: p?.id ?? null, event: "error", error: { code: S.GENERATION_FAILED, name: "GENERATION_FAILED", message: oneLine(`adapter: ${e?.message ?? e}`) } };
        emit(ev);
      }
    }
  }
  if (rt.m) await disposeModel(rt.m);
  process.exitCode = 0;
  // node-llama-cpp keeps handles open; leave once stdout has drained.
  process.stdout.write("", () => process.exit(0));
}
main().catch((e) => { log("fatal:", e?.stack ?? e); process.exit(1); });
