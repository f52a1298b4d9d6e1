// pool.mjs — the pool of the pooled WebAssembly host (SPEC chapter 12, R-POOL-050): seeds
// 003/004's runtime in JavaScript, one compiled WebAssembly.Module and one instance per
// controller (pool-host.mjs puts each in its own Worker).
//
//   ControllerPool (one per model file)       controllers (Workers, one instance each)
//   ├── permits      max_sessions - checked out    ┌─ idle: kept for reuse, scrubbed, no permit
//   ├── queue        opens waiting, FIFO, deadline ├─ held: a session's
//   └── idle, live   live = idle + held + building └─ dropped after a trap: never reused
//
// Acquire takes a permit BEFORE it looks at the idle controllers (a controller never goes out
// without one); a permit given back goes straight to the longest waiter (no barging,
// R-POOL-014). The memory ceiling counts every live controller as model + session bytes: a
// wasm instance cannot share another's linear memory, so each holds its own copy of the model
// (R-POOL-050). No platform calls in here: spawn() makes a controller, drop() ends one.
//
// Also here: the stream table (cancel across instances through shared memory, R-PROTO-074)
// and SessionServer, the protocol core (core.mjs) driving a controller's session exports.
import { Server, idCopy } from './core.mjs';

export const STATUS = { OK: 0, INVALID_ARGUMENT: 1, OUT_OF_MEMORY: 2, GENERATION_FAILED: 13,
  LIMIT_EXCEEDED: 17, DEADLINE_EXCEEDED: 23 };

// One pool per model file. spawn(pool) -> Promise<{ok, ctl} | {ok: false, status, message}>;
// drop(ctl) ends a controller. Grants are callbacks: grant(ctl) or fail(status, message).
export class ControllerPool {
  constructor(limits, perController, spawn, drop) {
    this.limits = limits;          // combined ceilings (R-POOL-024)
    this.per = perController;      // accounted bytes of one controller (R-POOL-020)
    this.spawn = spawn;
    this.dropFn = drop;
    this.permits = limits.max_sessions;
    this.queue = [];               // waiters: {grant, fail, timer}
    this.idle = [];                // controllers kept for reuse, lowest slot first
    this.live = 0;                 // idle + held + building
    this.slots = new Array(limits.max_sessions).fill(false);
    this.stats = { created: 0, reused: 0, dropped: 0, timeouts: 0, longestWaitMs: 0 };
  }

  accounted(n) { return n * this.per; }

  // A controller that exists already (the one that validated the model) joins as idle.
  adopt(ctl) {
    ctl.slot = this.slots.indexOf(false);
    this.slots[ctl.slot] = true;
    this.live++;
    this.stats.created++;
    this.addIdle(ctl);
  }

  addIdle(ctl) {
    this.idle.push(ctl);
    this.idle.sort((a, b) => a.slot - b.slot);
  }

  // R-POOL-010, R-POOL-014: a permit now, or a place in the queue until waitMs.
  acquire(waitMs, grant, fail) {
    if (this.permits > 0 && this.queue.length === 0) {
      this.permits--;
      this.checkout(grant, fail);
      return;
    }
    if (waitMs === 0) {
      this.stats.timeouts++;
      fail(STATUS.DEADLINE_EXCEEDED, 'no session became free before wait_ms ran out ' +
        `(max_sessions ${this.limits.max_sessions})`);
      return;
    }
    const w = { grant, fail, since: Date.now(), timer: null };
    w.timer = setTimeout(() => {
      this.queue.splice(this.queue.indexOf(w), 1);
      this.stats.timeouts++;
      fail(STATUS.DEADLINE_EXCEEDED, 'no session became free before wait_ms ran out ' +
        `(max_sessions ${this.limits.max_sessions})`);
    }, waitMs);
    this.queue.push(w);
  }

  // With a permit: the lowest idle controller, else a new one within the memory ceiling.
  checkout(grant, fail) {
    if (this.idle.length > 0) {
      this.stats.reused++;
      grant(this.idle.shift());
      return;
    }
    const max = this.limits.max_memory;
    if (max !== 0 && this.accounted(this.live + 1) > max) {
      this.permitGive();
      fail(STATUS.LIMIT_EXCEEDED, 'a new session would pass the memory ceiling max_memory ' +
        `(${max} bytes; ${this.per} bytes per controller: model + session)`);
      return;
    }
    const slot = this.slots.indexOf(false);
    this.slots[slot] = true;
    this.live++;
    this.spawn(this).then((r) => {
      if (!r.ok) {
        this.slots[slot] = false;
        this.live--;
        this.permitGive();
        fail(r.status, r.message);
        return;
      }
      r.ctl.slot = slot;
      this.stats.created++;
      grant(r.ctl);
    });
  }

  // A permit back: to the longest waiter if any (handed over, no barging), else to the pool.
  permitGive() {
    const w = this.queue.shift();
    if (w === undefined) {
      this.permits++;
      return;
    }
    clearTimeout(w.timer);
    this.stats.longestWaitMs = Math.max(this.stats.longestWaitMs, Date.now() - w.since);
    this.checkout(w.grant, w.fail);
  }

  // R-POOL-011: a scrubbed controller back for reuse (it holds no permit while idle).
  release(ctl) {
    this.addIdle(ctl);
    this.permitGive();
  }

  // R-POOL-012: after a trap the controller (instance and Worker) is ended, never reused; a
  // later acquire makes a fresh one. held: it was checked out (its permit comes back).
  drop(ctl, held) {
    const i = this.idle.indexOf(ctl);
    if (i >= 0) this.idle.splice(i, 1);
    this.slots[ctl.slot] = false;
    this.live--;
    this.stats.dropped++;
    this.dropFn(ctl);
    if (held) this.permitGive();
  }

  busy() { return this.queue.length > 0 || this.live > this.idle.length; }
}

// ---- the stream table: which id each controller is streaming, in shared memory -------------
//
// slot k: Int32 [seq, cancelSeq, len] + ID_BYTES bytes (the id as canonical JSON). seq is odd
// while the controller streams the request whose id is in the bytes (written while seq is
// even, then published by the increment); a reader that sees the same odd seq before and after
// reading the bytes read them whole (a seqlock) and asks for the cancel by storing that seq in
// cancelSeq; the controller honours it between two tokens (R-PROTO-074).
const ID_BYTES = 2048;
const SLOT_BYTES = 12 + ID_BYTES;
export const STREAM_SLOTS = 64;
const enc = new TextEncoder();

export function streamTableBuffer() { return new SharedArrayBuffer(STREAM_SLOTS * SLOT_BYTES); }

export function idKey(id) { return enc.encode(JSON.stringify(idCopy(id))); }

export class StreamTable {
  constructor(sab) { this.sab = sab; }
  head(k) { return new Int32Array(this.sab, k * SLOT_BYTES, 3); }
  bytes(k) { return new Uint8Array(this.sab, k * SLOT_BYTES + 12, ID_BYTES); }

  // The controller of slot k: streaming the request with this id. Returns the seq.
  begin(k, id) {
    const h = this.head(k);
    const key = idKey(id);
    this.bytes(k).set(key.subarray(0, ID_BYTES));
    Atomics.store(h, 2, key.length);
    return Atomics.add(h, 0, 1) + 1; // odd: published
  }

  end(k) { Atomics.add(this.head(k), 0, 1); }

  // The controller, between two tokens: is a cancel asked for stream seq?
  cancelAsked(k, seq) { return Atomics.load(this.head(k), 1) === seq; }

  // Anyone: ask every slot streaming `target` to cancel. true if one was.
  cancel(target) {
    const key = idKey(target);
    let hit = false;
    for (let k = 0; k < STREAM_SLOTS; k++) {
      const h = this.head(k);
      const s1 = Atomics.load(h, 0);
      if ((s1 & 1) === 0 || Atomics.load(h, 2) !== key.length) continue;
      const b = this.bytes(k);
      let same = true;
      for (let i = 0; i < key.length && same; i++) same = b[i] === key[i];
      if (same && Atomics.load(h, 0) === s1) {
        Atomics.store(h, 1, s1);
        hit = true;
      }
    }
    return hit;
  }
}

// The session exports under the export layer's names, so core.mjs's commands run on the
// controller's session (wasm_pool.c: gr_wasm_s_X is gr_wasm_X on the session).
export function sessionExports(x) {
  const a = {};
  for (const k of Object.keys(x)) a[k] = x[k];
  for (const k of Object.keys(x)) {
    if (k.startsWith('gr_wasm_s_')) a['gr_wasm_' + k.slice('gr_wasm_s_'.length)] = x[k];
  }
  return a;
}

// The protocol core on one checked-out session: every event carries `session` (R-PROTO-073);
// an error that leaves the runtime POISONED carries `closed` (R-PROTO-076); the step and time
// ceilings name themselves (R-PROTO-075).
export class SessionServer extends Server {
  constructor(x, platform, sessionId, limits) {
    super(sessionExports(x), platform);
    this.raw = x;
    this.sessionId = sessionId;
    this.limits = limits;
    this.modelLoaded = true;
  }

  emit(ev) {
    ev.session = this.sessionId;
    if (ev.event === 'error' && ev.state === 'POISONED') ev.closed = true;
    this.platform.post({ out: JSON.stringify(ev) + '\n', final: ev.event !== 'token',
      poisoned: ev.state === 'POISONED' });
  }

  streamBegin(r) {
    super.streamBegin(r);
    this.platform.streamBegin(r.id);
  }

  streamEnd() {
    this.platform.streamEnd();
    super.streamEnd();
  }

  runtimeError(id, status, op) {
    if (op === 'generate' && status === STATUS.LIMIT_EXCEEDED && this.limits.max_steps !== 0) {
      this.error(id, status, true, `generate: the step ceiling max_steps = ${this.limits.max_steps}` +
        ' positions (prompt and generated tokens) is reached');
    } else if (op === 'generate' && status === STATUS.DEADLINE_EXCEEDED) {
      this.error(id, status, true,
        `generate: the time ceiling max_exec_ms = ${this.limits.max_exec_ms} ms is reached`);
    } else {
      super.runtimeError(id, status, op);
    }
  }
}
