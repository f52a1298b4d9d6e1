#!/usr/bin/env node
// llama.cpp side of the side-by-side benchmarks (issue 15): single-thread greedy decode tok/s and
// tokenizer throughput on any GGUF, through node-llama-cpp 3.22.1 (prebuilt CPU build), the same
// objects the protocol adapter uses (README.md).
//
//   node harness/impls/llamacpp/bench_decode.mjs MODEL.gguf [--tokens N] [--rounds R]
//        [--threads T] [--prompt TEXT] [--tokenize-file FILE] [--tokenize-bytes N] [--kv F32|F16]
//        [--json]
//
// decode: BOS + prompt forwarded as one batch (prefill), then N greedy steps of one token each
// (forward + argmax); each round starts from an empty KV cache; the figure is the median of R
// rounds of N steps (tok/s = N / median seconds). tokenize: llama_tokenize (no BOS) on the file's
// text (default: a deterministic mix of words, digits, punctuation and non-ASCII of about
// --tokenize-bytes bytes), median of R rounds, MB/s and tokens/s.
process.env.NODE_LLAMA_CPP_GPU ??= "false";
process.env.NODE_LLAMA_CPP_SKIP_DOWNLOAD ??= "true";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import { readFileSync } from "node:fs";

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); if (i < 0) return dflt; const v = args[i + 1]; args.splice(i, 2); return v; };
const flag = (name) => { const i = args.indexOf(name); if (i < 0) return false; args.splice(i, 1); return true; };
const nTok = Number(opt("--tokens", "128"));
const rounds = Number(opt("--rounds", "5"));
const threads = Number(opt("--threads", "1"));
const prompt = opt("--prompt", "Once upon a time");
const tokFile = opt("--tokenize-file", null);
const tokBytes = Number(opt("--tokenize-bytes", "1000000"));
const kv = opt("--kv", "F32");
const json = flag("--json");
const model = args[0];
if (!model || args.length !== 1) {
  process.stderr.write("usage: bench_decode.mjs MODEL.gguf [--tokens N] [--rounds R] [--threads T] [--prompt TEXT] [--tokenize-file FILE] [--tokenize-bytes N] [--kv F32|F16] [--json]\n");
  process.exit(2);
}
const now = () => Number(process.hrtime.bigint()) / 1e9;
const median = (a) => { const s = [...a].sort((x, y) => x - y); const n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };

const t0 = now();
const llama = await getLlama({ gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true,
  progressLogs: false, maxThreads: threads, logLevel: LlamaLogLevel.error, logger: (l, m) => process.stderr.write(`[llama.cpp ${l}] ${m}\n`) });
const tBackend = now() - t0;
const t1 = now();
const m = await llama.loadModel({ modelPath: model, gpuLayers: 0, useMmap: false });
const tLoad = now() - t1;
const nCtx = Math.min(m.trainContextSize, 4096);
const context = await m.createContext({ contextSize: nCtx, batchSize: nCtx, sequences: 1, threads,
  flashAttention: false, ignoreMemorySafetyChecks: true, experimentalKvCacheKeyType: kv, experimentalKvCacheValueType: kv });
const ctx = context._ctx, mm = m._model;
ctx.setThreads(threads);
const greedy = new llama._bindings.AddonSampler(mm);
greedy.applyConfig({ temperature: 0 });
const promptToks = [mm.tokenBos(), ...mm.tokenize(prompt, false)];
if (promptToks.length + nTok > nCtx) { process.stderr.write(`prompt ${promptToks.length} + ${nTok} tokens > context ${nCtx}\n`); process.exit(2); }

async function decode(toks, pos) {
  ctx.initBatch(toks.length);
  const [bi] = ctx.addToBatch(0, pos, Uint32Array.from(toks), Uint32Array.from([toks.length - 1]));
  await ctx.decodeBatch();
  return ctx.sampleToken(bi, greedy);
}
const decodeTimes = [], prefillTimes = [];
let firstTokens = null;
for (let r = 0; r < rounds + 1; r++) { // round 0 warms up
  ctx.removeTokenCellsFromSequence(0, 0, -1);
  const a = now();
  let tok = await decode(promptToks, 0);
  const b = now();
  const out = [tok];
  let pos = promptToks.length;
  for (let i = 1; i < nTok; i++) { tok = await decode([tok], pos++); out.push(tok); }
  // nTok steps: the first token comes from the prefill's logits; count N-1 decode steps + the prefill argmax
  const c = now();
  if (r > 0) { prefillTimes.push(b - a); decodeTimes.push((c - b) / (nTok - 1)); }
  firstTokens ??= out.slice(0, 8);
}
const secPerTok = median(decodeTimes);

let text;
if (tokFile) text = readFileSync(tokFile, "utf8");
else {
  const words = ["Once", "upon", "a", "time", ",", "there", "was", "little", "girl", "named", "Lily", ".", "She", "loved",
    "to", "play", "outside", "in", "the", "park", "1234", "56", "!", "?", "\n", "héllo", "naïve", "日本語", "Ω", "🙂", "don't", "#"];
  let s = "", x = 0x12345678n;
  while (Buffer.byteLength(s) < tokBytes) { x = (x * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn; s += words[Number(x >> 59n) % words.length] + " "; }
  text = s;
}
const bytes = Buffer.byteLength(text);
const tokTimes = [];
let nTokens = 0;
for (let r = 0; r < rounds + 1; r++) {
  const a = now();
  nTokens = mm.tokenize(text, false).length;
  if (r > 0) tokTimes.push(now() - a);
}
const tTok = median(tokTimes);

const res = {
  impl: "llama.cpp via node-llama-cpp 3.22.1 (prebuilt CPU)", model, threads, kv_cache: kv,
  backend_start_s: +tBackend.toFixed(3), load_s: +tLoad.toFixed(3),
  prompt_tokens: promptToks.length, decode_tokens: nTok, rounds,
  prefill_ms_median: +(median(prefillTimes) * 1e3).toFixed(3),
  decode_ms_per_token_median: +(secPerTok * 1e3).toFixed(4), decode_tok_s: +(1 / secPerTok).toFixed(2),
  first_tokens: firstTokens,
  tokenize_bytes: bytes, tokenize_tokens: nTokens, tokenize_ms_median: +(tTok * 1e3).toFixed(3),
  tokenize_mb_s: +(bytes / tTok / 1e6).toFixed(2), tokenize_tok_s: Math.round(nTokens / tTok),
};
if (json) console.log(JSON.stringify(res));
else {
  console.log(`llama.cpp ${model}: decode ${res.decode_tok_s} tok/s (${res.decode_ms_per_token_median} ms/token, median of ${rounds} x ${nTok - 1} steps, ${threads} thread(s), KV ${kv}); prefill ${res.prompt_tokens} tokens ${res.prefill_ms_median} ms`);
  console.log(`llama.cpp tokenize: ${res.tokenize_mb_s} MB/s, ${res.tokenize_tok_s} tokens/s (${bytes} bytes -> ${nTokens} tokens, median ${res.tokenize_ms_median} ms)`);
}
await context.dispose(); await m.dispose();
process.exit(0);
