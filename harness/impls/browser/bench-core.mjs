// bench-core.mjs — decode throughput of the reference's wasm module, the same code in Node and
// in a browser Worker (bench.mjs drives both): load a model through the owned-bytes exports
// (R-RT-017), greedy generate N tokens and time them in the token callback.
//   decode tok/s = (N - 1) / (time of token N - time of token 1): the prompt's forward pass and
//   the first token (prefill) are left out; best of `repeats` runs.
export function benchDecode({ wasmModule, wasi, now, bytes, tokens, repeats }) {
  let stamps = [];
  const instance = new WebAssembly.Instance(wasmModule, {
    wasi_snapshot_preview1: wasi.wasiImport,
    ggufref_host: { token: () => stamps.push(now()) },
  });
  wasi.initialize(instance);
  const x = instance.exports;
  const memBefore = x.memory.buffer.byteLength;
  const h = x.gr_wasm_model_bytes(bytes.length);
  if (h === 0) throw new Error('no room for the model in wasm memory');
  new Uint8Array(x.memory.buffer, x.gr_wasm_model_bytes_data(h), bytes.length).set(bytes);
  const st = x.gr_wasm_load_model_owned(h);
  if (st !== 0) throw new Error(`load failed: status ${st}`);
  const memLoaded = x.memory.buffer.byteLength;
  const prompt = new TextEncoder().encode('Once upon a time');
  const p = x.gr_wasm_alloc(prompt.length);
  new Uint8Array(x.memory.buffer, p, prompt.length).set(prompt);
  if (x.gr_wasm_configure_sampling(0, 0, 1, 0, 1, 64, 0, 0, tokens, 0) !== 0) {
    throw new Error('configure failed');
  }
  let best = 0;
  for (let r = 0; r < repeats; r++) {
    stamps = [];
    const gst = x.gr_wasm_generate(p, prompt.length);
    if (gst !== 0) throw new Error(`generate failed: status ${gst}`);
    const tps = (stamps.length - 1) / ((stamps[stamps.length - 1] - stamps[0]) / 1000);
    best = Math.max(best, tps);
  }
  return { decode: best, memBefore, memLoaded, memAfter: x.memory.buffer.byteLength };
}
