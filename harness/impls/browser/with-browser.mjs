// with-browser.mjs — runs a command while one headless chromium, the local server and a pool of
// warm pages are up, so that every bridge.mjs the command starts (the acceptance suite starts
// one per test process) is served at once by a page whose Worker has already booted, instead of
// launching a browser of its own.
//
//   node with-browser.mjs build/wasm/ggufref.wasm -- python3 -m pytest harness --impl \
//       "node harness/impls/browser/bridge.mjs"
//
// The command gets GGUFREF_BROWSER_ENDPOINT, a local socket: each connection is one session on
// one fresh page (browser context), closed when the session ends. Exit status: the command's.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, startBridgeServer } from './chromium.mjs';
import { serve, warmPage } from './session.mjs';

const POOL = 3;
const args = process.argv.slice(2);
if (args.indexOf('--') !== 1 || args.length < 3) {
  process.stderr.write('usage: node with-browser.mjs GGUFREF_WASM -- COMMAND [ARGS...]\n');
  process.exit(2);
}
const log = (msg) => process.stderr.write(`ggufref-browser: ${msg}\n`);
const t0 = performance.now();
const debug = process.env.GGUFREF_BROWSER_DEBUG ?
  (msg) => log(`${(performance.now() - t0).toFixed(0)} ms: ${msg}`) : () => {};
const http = await startBridgeServer(args[0]);
const browser = await launchBrowser();

// Warm pages, refilled as they are taken.
const pool = [];
let closing = false;
const fill = () => {
  while (pool.length < POOL) {
    const p = warmPage(browser, http.url, http.token, log);
    p.catch((e) => { if (!closing) log(`cannot open a page: ${e.message}`); });
    pool.push(p);
  }
};
fill();
await pool[0]; // the command's first session finds a page ready

const dir = mkdtempSync(join(tmpdir(), 'ggufref-browser-'));
const endpoint = join(dir, 'sessions.sock');
const sessions = createServer({ allowHalfOpen: true }, (sock) => {
  const taken = pool.shift();
  fill();
  // Everything the bridge sends is kept from the first moment (its end too), then handed over.
  const chunks = [];
  let ended = false;
  let onData = null;
  let onEnd = null;
  sock.on('data', (d) => (onData ? onData(d) : chunks.push(d)));
  sock.on('end', () => (onEnd ? onEnd() : (ended = true)));
  let closed = false;
  let page = null;
  const close = () => {
    if (closed) return;
    closed = true;
    if (page) page.context.close().catch(() => {});
  };
  sock.on('error', close);
  sock.on('close', close);
  const input = {
    on(ev, fn) {
      if (ev === 'data') {
        onData = fn;
        for (const c of chunks.splice(0)) fn(c);
      } else if (ev === 'end') {
        onEnd = fn;
        if (ended) fn();
      }
    },
  };
  const start = async () => {
    const all = Buffer.concat(chunks.splice(0));
    const nl = all.indexOf(10);
    if (nl < 0) {
      chunks.push(all);
      if (!ended) setTimeout(start, 1);
      return;
    }
    const { cwd } = JSON.parse(all.subarray(0, nl).toString());
    if (nl + 1 < all.length) chunks.push(all.subarray(nl + 1));
    debug('session: header read');
    try {
      page = await taken;
      debug('session: page ready');
    } catch (e) {
      log(`no page for a session: ${e.message}`);
      sock.destroy();
      return;
    }
    if (closed) {
      close();
      return;
    }
    await serve(page, {
      cwd,
      input,
      sink: {
        write: (t) => { if (!closed) sock.write(t); },
        done: () => { debug('session: done'); sock.end(); close(); },
        fail: (msg) => { log(msg); sock.destroy(); close(); },
      },
    });
  };
  setTimeout(start, 1);
});
await new Promise((ok) => sessions.listen(endpoint, ok));

const child = spawn(args[2], args.slice(3), {
  stdio: 'inherit', env: { ...process.env, GGUFREF_BROWSER_ENDPOINT: endpoint },
});
const status = await new Promise((done) => {
  child.on('exit', (code, signal) => done(code ?? (signal ? 128 : 1)));
  child.on('error', (e) => {
    log(`${e.message}`);
    done(127);
  });
});
closing = true;
sessions.close();
await browser.close();
await http.close();
rmSync(dir, { recursive: true, force: true });
process.exit(status);
