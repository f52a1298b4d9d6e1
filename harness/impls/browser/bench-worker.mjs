// bench-worker.mjs — bench-core.mjs inside a dedicated Worker of bench.html (bench.mjs).
import { benchDecode } from './bench-core.mjs';
import { BrowserWasi } from './wasi.mjs';

onmessage = async (e) => {
  const { wasmUrl, modelUrl, tokens, repeats } = e.data;
  try {
    const wasmModule = await WebAssembly.compileStreaming(fetch(wasmUrl));
    const bytes = new Uint8Array(await (await fetch(modelUrl)).arrayBuffer());
    postMessage({ ok: benchDecode({ wasmModule, wasi: new BrowserWasi(), now: () => performance.now(),
      bytes, tokens, repeats }) });
  } catch (err) {
    postMessage({ error: String(err) });
  }
};
