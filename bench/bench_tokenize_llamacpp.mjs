// bench_tokenize_llamacpp.mjs — llama.cpp's tokenizer on the same vocabulary and text as
// bench_tokenize (byte-level BPE, SPEC 5.2), through node-llama-cpp (harness/impls/llamacpp,
// installed by tools/deps.sh): vocab-only load time (median of R loads) and llama_tokenize of
// FILE without BOS and without parsing special tokens (median of R rounds after one warm-up),
// timed around the native call (the JS array of ids is built inside it: counted against llama.cpp).
//
// usage: node bench/bench_tokenize_llamacpp.mjs VOCAB.gguf FILE [ROUNDS]   (writes FILE.llamacpp.ids)
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const { getLlama, LlamaLogLevel } = await import(join(here, "../harness/impls/llamacpp/node_modules/node-llama-cpp/dist/index.js"));
const [vocab, file, roundsArg] = process.argv.slice(2);
if (!vocab || !file) {
  process.stderr.write("usage: bench_tokenize_llamacpp.mjs VOCAB.gguf FILE [ROUNDS]\n");
  process.exit(2);
}
const rounds = Number(roundsArg ?? 7);
const now = () => Number(process.hrtime.bigint()) / 1e9;
const median = (a) => { const s = [...a].sort((x, y) => x - y); const n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };
const llama = await getLlama({ gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true,
  progressLogs: false, logLevel: LlamaLogLevel.error });
const loads = [], cpus = [];
let model = null;
for (let r = 0; r < rounds; r++) {
  if (model) await model.dispose();
  const a = now(), c = process.cpuUsage();
  model = await llama.loadModel({ modelPath: vocab, gpuLayers: 0, vocabOnly: true, useMmap: false });
  loads.push(now() - a);
  const d = process.cpuUsage(c);
  cpus.push((d.user + d.system) / 1e6); // process CPU: llama.cpp loads on one thread
}
const text = readFileSync(file, "utf8");
const bytes = Buffer.byteLength(text);
const mm = model._model;
const times = [];
let n = 0, ids = null;
for (let r = 0; r < rounds + 1; r++) {
  const a = now();
  ids = mm.tokenize(text, false);
  if (r > 0) times.push(now() - a);
  n = ids.length;
}
writeFileSync(file + ".llamacpp.ids", Array.from(ids).join("\n") + "\n"); // for the comparison
const t = median(times);
console.log(`llama.cpp  load (vocab only, median of ${rounds}): ${(median(loads) * 1e3).toFixed(2)} ms (process CPU ${(median(cpus) * 1e3).toFixed(2)} ms)`);
console.log(`llama.cpp  mixed ${bytes} bytes ${n} tokens ${(t * 1e3).toFixed(2)} ms ${Math.round(n / t)} tokens/s ${(bytes / t / 1048576).toFixed(2)} MiB/s`);
