// bridge.mjs — the wire protocol (SPEC chapter 9) on stdin/stdout, served by the browser
// page's Worker: what the acceptance suite starts with --impl.
//
//   node bridge.mjs                   inside a with-browser.mjs run (GGUFREF_BROWSER_ENDPOINT,
//                                     a local socket): a warm page of the running chromium
//                                     serves this session; this process only relays bytes
//   node bridge.mjs GGUFREF_WASM      alone: launches its own chromium and server (seconds)
//
// load-model paths are read by the Worker from the local server's /fs (token-protected),
// relative to this process's working directory. Exit status 0 once the end of input has been
// handled (R-PROTO-002).
import { connect } from 'node:net';

const log = (msg) => process.stderr.write(`ggufref-browser: ${msg}\n`);
const endpoint = process.env.GGUFREF_BROWSER_ENDPOINT;

if (endpoint) {
  // First line: the session's settings; then stdin's bytes as they come. The other side
  // writes the event lines and ends the stream when the session is over.
  const sock = connect(endpoint);
  sock.write(`${JSON.stringify({ cwd: process.cwd() })}\n`);
  process.stdin.pipe(sock);
  sock.on('data', (d) => process.stdout.write(d));
  sock.on('end', () => process.exit(0));
  sock.on('error', (e) => {
    log(`lost the browser session (${endpoint}): ${e.message}`);
    process.exit(1);
  });
} else {
  if (!process.argv[2]) {
    log('usage: node bridge.mjs [GGUFREF_WASM] (or GGUFREF_BROWSER_ENDPOINT)');
    process.exit(2);
  }
  // Only here: playwright-core takes a while to import, and a session must answer at once.
  const { launchBrowser, startBridgeServer } = await import('./chromium.mjs');
  const { serve, warmPage } = await import('./session.mjs');
  const server = await startBridgeServer(process.argv[2]);
  const browser = await launchBrowser();
  const s = await warmPage(browser, server.url, server.token, log);
  const finish = async (status) => {
    await browser.close().catch(() => {});
    await server.close();
    process.exit(status);
  };
  await serve(s, {
    cwd: process.cwd(),
    input: process.stdin,
    sink: {
      write: (t) => process.stdout.write(t),
      done: () => finish(0),
      fail: (msg) => {
        log(msg);
        finish(1);
      },
    },
  });
}
