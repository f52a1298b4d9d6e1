// poolcheck.mjs — the pooled WebAssembly host's own machinery (SPEC R-POOL-050), driven
// through the protocol as a client would (the suite's harness/test_sessions.py checks the
// capability itself; this checks what only this host has):
//   - compile once, instantiate per controller: one "compiled" line on standard error for the
//     whole process, one "controller instantiated" line per controller made;
//   - reuse: open, use, close, open again makes no second instance, and the idle one is
//     scrubbed: state digest and deterministic diagnostics equal to a fresh session's;
//   - a REAL trap (fault point `wasm.trap`: `unreachable` after the next token) ends that
//     command with 13, state POISONED, closed; the session's queued command is answered
//     closed; the other session's tokens and logits are unchanged; the next open gets a fresh
//     instance of the same compiled module (one more instantiated line, still one compile);
//   - a C panic point (R-FAULT-003) poisons one controller only, the same way;
//   - a malformed ceiling in the environment stops the start (R-POOL-040).
//
//   node poolcheck.mjs build/wasm/ggufref-fi.wasm MODEL.gguf   (a --fault-injection build)
// Exit status 0 when every check holds; each failure is printed.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const [wasmPath, model] = process.argv.slice(2);
const host = fileURLToPath(new URL('./pool-host.mjs', import.meta.url));
let failed = 0;
const check = (what, ok, detail) => {
  if (!ok) {
    failed++;
    console.log(`FAIL ${what}${detail !== undefined ? `: ${JSON.stringify(detail)}` : ''}`);
  }
};

// A host process with a client: send(cmd) -> id; events(id) resolves with the request's
// events once its final event is there.
function start(env) {
  const p = spawn('node', ['--no-warnings', host, '--fault-injection', wasmPath], {
    env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let buf = '';
  let err = '';
  const byId = new Map();
  const waiters = new Map();
  p.stdout.on('data', (d) => {
    buf += d;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const ev = JSON.parse(buf.slice(0, nl));
      if (process.env.POOLCHECK_DEBUG) console.log(buf.slice(0, nl).slice(0, 200));
      buf = buf.slice(nl + 1);
      if (!byId.has(ev.id)) byId.set(ev.id, []);
      byId.get(ev.id).push(ev);
      if (ev.event !== 'token' && waiters.has(ev.id)) waiters.get(ev.id)();
    }
  });
  p.stderr.on('data', (d) => { err += d; });
  let next = 1;
  const c = {
    send(cmd, fields = {}) {
      const id = next++;
      p.stdin.write(JSON.stringify({ id, cmd, ...fields }) + '\n');
      return id;
    },
    events(id) {
      const done = () => (byId.get(id) ?? []).some((e) => e.event !== 'token');
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no final event for ${id}; stderr: ${err}`)), 30000);
        const finish = () => { clearTimeout(t); resolve(byId.get(id)); };
        if (done()) finish();
        else waiters.set(id, finish);
      });
    },
    async request(cmd, fields) {
      const evs = await c.events(c.send(cmd, fields));
      return evs[evs.length - 1];
    },
    stderr: () => err,
    async close() {
      p.stdin.end();
      const code = await new Promise((r) => p.on('exit', r));
      return code;
    },
  };
  return c;
}

const count = (s, what) => s.split('\n').filter((l) => l.includes(what)).length;
const SAMPLING = { temperature: 0.8, top_k: 20, seed: 4242, max_tokens: 12, stop_at_eos: false };
const stream = (evs) => evs.filter((e) => e.event === 'token').map((e) => [e.token, e.digest]);

async function opened(c) {
  const r = await c.request('open-session', { path: model, wait_ms: 0 });
  check('open-session', r.event === 'result' && r.session >= 1, r);
  await c.request('configure-sampling', { session: r.session, ...SAMPLING });
  return r.session;
}

async function trapCase(point) {
  const c = start({ GGUFREF_POOL_SIZE: '2' });
  const a = await opened(c);
  const b = await opened(c);
  const before = stream(await c.events(c.send('generate', { session: b, prompt: 'Hi', logits: 2 })));
  check(`${point}: b generates`, before.length === 12, before);
  await c.request('fault-panic', { point });
  const g = c.send('generate', { session: a, prompt: 'Hi' });
  const q = c.send('diagnostics', { session: a }); // queued behind the trap
  const ge = await c.events(g);
  const fin = ge[ge.length - 1];
  check(`${point}: the trapped generate ends with 13, POISONED, closed`,
    fin.event === 'error' && fin.error.code === 13 && fin.state === 'POISONED' &&
    fin.closed === true && fin.session === a, fin);
  const qe = (await c.events(q)).at(-1);
  check(`${point}: the queued command is answered closed`,
    qe.event === 'error' && qe.error.code === 1 && qe.session === a, qe);
  const st = await c.request('fault-status');
  check(`${point}: fault-status says fired`, st.panic_fired === true, st);
  const after = stream(await c.events(c.send('generate', { session: b, prompt: 'Hi', logits: 2 })));
  check(`${point}: the other session is untouched`, JSON.stringify(after) === JSON.stringify(before));
  const n = await opened(c); // the dropped controller's permit is back: a fresh instance
  const fresh = stream(await c.events(c.send('generate', { session: n, prompt: 'Hi', logits: 2 })));
  check(`${point}: the fresh controller generates as the others`,
    JSON.stringify(fresh) === JSON.stringify(before));
  const code = await c.close();
  const err = c.stderr();
  check(`${point}: exit 0`, code === 0, code);
  check(`${point}: compiled once`, count(err, 'module compiled once') === 1, err);
  check(`${point}: three instances (two, then a fresh one after the drop)`,
    count(err, 'controller instantiated') === 3, err);
}

async function reuseCase() {
  const c = start({ GGUFREF_POOL_SIZE: '2' });
  let fresh = null;
  for (let i = 0; i < 3; i++) {
    const o = await c.request('open-session', { path: model, wait_ms: 0 });
    const s = o.session;
    // R-POOL-011: the reused instance's session looks brand new: state digest and
    // deterministic diagnostics (all but `nondeterministic`) equal to the fresh one's
    const d = await c.request('diagnostics', { session: s });
    const look = d.impl === undefined ? null :
      JSON.stringify([d.impl.digest, { ...d.impl.runtime, nondeterministic: null }, d.tokens, d.sampling]);
    if (fresh === null) fresh = look;
    check(`open ${i}: a scrubbed session equals a fresh one`, look !== null && look === fresh,
      [look, fresh]);
    await c.request('configure-sampling', { session: s, ...SAMPLING });
    await c.request('generate', { session: s, prompt: `round ${i}` });
    const r = await c.request('close-session', { session: s });
    check('close-session', r.event === 'result', r);
  }
  const code = await c.close();
  check('reuse: exit 0', code === 0, code);
  check('reuse: three opens in turn use one instance',
    count(c.stderr(), 'controller instantiated') === 1, c.stderr());
}

// R-POOL-040: a malformed ceiling stops the start: one line naming it, status 2, no event.
async function envCase(name, value) {
  const p = spawn('node', ['--no-warnings', host, wasmPath], {
    env: { ...process.env, [name]: value }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d) => { stdout += d; });
  p.stderr.on('data', (d) => { stderr += d; });
  p.stdin.end('{"id":1,"cmd":"boot"}\n');
  const code = await new Promise((r) => p.on('exit', r));
  check(`${name}=${value}: refused at start`, code === 2 && stdout === '' &&
    stderr.trim().split('\n').length === 1 && stderr.includes(name), { code, stdout, stderr });
}

await envCase('GGUFREF_POOL_SIZE', '0');
await envCase('GGUFREF_MAX_MEMORY', '-1');
await envCase('GGUFREF_MAX_STEPS', '12x');
await reuseCase();
await trapCase('wasm.trap');
await trapCase('generate.after_token');
if (failed > 0) {
  console.log(`poolcheck: ${failed} failed`);
  process.exit(1);
}
console.log('poolcheck: compile once, reuse, real trap and panic drop: all checks hold');
