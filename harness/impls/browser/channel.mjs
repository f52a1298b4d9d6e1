// channel.mjs — protocol lines from the page to its Worker through a SharedArrayBuffer ring, so
// the Worker can take what has arrived between two tokens without returning to its event loop
// (R-PROTO-041: the poll of core.mjs). One writer (the page), one reader (the Worker).
//
//   header (Int32 x 4): [0] bytes written, [1] bytes read (both count up, wrapping at 2^32),
//                       [2] the last model number the page announced (see worker.mjs)
//   ring (CAPACITY bytes): records [u32 LE length][bytes]; length DISCARDED is a line longer
//                       than the 1 MiB limit (no bytes), EOF the end of input
// Needs a cross-origin-isolated page (COOP same-origin + COEP require-corp) for the buffer.
export const CAPACITY = 1 << 23;  // 8 MiB, a power of two: positions wrap with the counters
const HEADER = 16;
const DISCARDED = 0xffffffff;
const EOF = 0xfffffffe;

export function createRing() {
  return new SharedArrayBuffer(HEADER + CAPACITY);
}

function views(sab) {
  return { head: new Int32Array(sab, 0, 4), data: new Uint8Array(sab, HEADER, CAPACITY) };
}

export class RingWriter {
  constructor(sab) {
    Object.assign(this, views(sab));
  }

  // Write the item ({line: Uint8Array} | {line: null} | {eof: true}); false if it does not fit
  // now (the caller keeps it and tries again after the reader has taken some).
  tryWrite(item) {
    const w = Atomics.load(this.head, 0) >>> 0;
    const r = Atomics.load(this.head, 1) >>> 0;
    const bytes = item.line ? item.line : null;
    const need = 4 + (bytes ? bytes.length : 0);
    if (CAPACITY - ((w - r) >>> 0) < need) return false;
    const len = item.eof ? EOF : bytes === null ? DISCARDED : bytes.length;
    let at = w;
    for (let k = 0; k < 4; k++) this.data[(at++) & (CAPACITY - 1)] = (len >>> (8 * k)) & 0xff;
    if (bytes) {
      const start = at & (CAPACITY - 1);
      const first = Math.min(bytes.length, CAPACITY - start);
      this.data.set(bytes.subarray(0, first), start);
      if (first < bytes.length) this.data.set(bytes.subarray(first), 0);
    }
    Atomics.store(this.head, 0, (w + need) | 0); // publish after the bytes
    return true;
  }

  announceModel(n) { Atomics.store(this.head, 2, n); }
}

export class RingReader {
  constructor(sab) {
    Object.assign(this, views(sab));
  }

  // Every item written so far, without waiting.
  take() {
    const items = [];
    const w = Atomics.load(this.head, 0) >>> 0;
    let r = Atomics.load(this.head, 1) >>> 0;
    while (r !== w) {
      let len = 0;
      for (let k = 0; k < 4; k++) len |= this.data[(r + k) & (CAPACITY - 1)] << (8 * k);
      len >>>= 0;
      r = (r + 4) >>> 0;
      if (len === EOF) items.push({ eof: true });
      else if (len === DISCARDED) items.push({ line: null });
      else {
        const line = new Uint8Array(len);
        const start = r & (CAPACITY - 1);
        const first = Math.min(len, CAPACITY - start);
        line.set(this.data.subarray(start, start + first));
        if (first < len) line.set(this.data.subarray(0, len - first), first);
        items.push({ line });
        r = (r + len) >>> 0;
      }
    }
    Atomics.store(this.head, 1, r | 0);
    return items;
  }

  announcedModel() { return Atomics.load(this.head, 2); }
}
