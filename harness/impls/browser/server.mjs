// server.mjs — the small static server of the browser host, on 127.0.0.1 only.
//
//   node harness/impls/browser/server.mjs build/wasm/ggufref.wasm [PORT]
//     then open the printed address: the page (index.html) with its Worker.
//
// Serves harness/impls/ (the page and ../wasm/core.mjs) and the module at /ggufref.wasm as
// application/wasm. Every answer is cross-origin isolated (COOP same-origin, COEP
// require-corp, CORP same-origin): the page needs SharedArrayBuffer for the ring its Worker
// polls between two tokens (channel.mjs). With a token (bridge mode, bridge.mjs) it also
// answers /fs?token&cwd&path with a file of this machine, so the acceptance suite's
// load-model paths reach the Worker; without the token that route does not exist.
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { resolve, extname, sep, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TYPES = {
  '.html': 'text/html; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.wasm': 'application/wasm', '.gguf': 'application/octet-stream',
};
const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

function sendFile(res, path, type, req) {
  let st;
  try {
    st = statSync(path);
  } catch {
    st = null;
  }
  if (st === null || !st.isFile()) {
    res.writeHead(404, { ...ISOLATION, 'Content-Type': 'text/plain' });
    res.end('not found\n');
    return;
  }
  res.writeHead(200, { ...ISOLATION, 'Content-Type': type, 'Content-Length': st.size });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(path).on('error', () => res.destroy()).pipe(res);
}

// Start serving; resolves to {url, close()}. extra: {'/name': absolute file path}.
export function startServer({ wasmPath, fsToken = null, port = 0, extra = {} }) {
  const files = { '/ggufref.wasm': resolve(wasmPath), ...extra };
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, ISOLATION);
      res.end();
      return;
    }
    if (url.pathname === '/') {
      res.writeHead(302, { ...ISOLATION, Location: '/browser/index.html' });
      res.end();
      return;
    }
    if (url.pathname === '/favicon.ico') { // none: 204 keeps the page's console clean
      res.writeHead(204, ISOLATION);
      res.end();
      return;
    }
    if (url.pathname === '/fs') {
      const q = url.searchParams;
      if (fsToken === null || q.get('token') !== fsToken) {
        res.writeHead(403, ISOLATION);
        res.end();
        return;
      }
      // No such regular file: 204, not 404 (which the page's console would report as an
      // error); the Worker treats anything but 200 as unreadable.
      const path = resolve(q.get('cwd') || '/', q.get('path') || '');
      let st = null;
      try {
        st = statSync(path);
      } catch {
        st = null;
      }
      if (st === null || !st.isFile()) {
        res.writeHead(204, ISOLATION);
        res.end();
        return;
      }
      sendFile(res, path, 'application/octet-stream', req);
      return;
    }
    const named = files[url.pathname];
    if (named !== undefined) {
      sendFile(res, named, TYPES[extname(named)] || 'application/octet-stream', req);
      return;
    }
    const path = resolve(ROOT, `.${decodeURIComponent(url.pathname)}`);
    if (!path.startsWith(ROOT + sep) || TYPES[extname(path)] === undefined) {
      res.writeHead(404, { ...ISOLATION, 'Content-Type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    sendFile(res, path, TYPES[extname(path)], req);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => {
      ok({
        url: `http://127.0.0.1:${server.address().port}`,
        close: () => new Promise((done) => { server.closeAllConnections(); server.close(done); }),
      });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [wasmPath, port] = process.argv.slice(2);
  if (!wasmPath) {
    process.stderr.write('usage: node server.mjs GGUFREF_WASM [PORT]\n');
    process.exit(2);
  }
  const s = await startServer({ wasmPath, port: Number(port || 0) });
  process.stdout.write(`ggufref page: ${s.url}/browser/index.html\n`);
}
