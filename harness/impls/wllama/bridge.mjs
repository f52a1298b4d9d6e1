// bridge.mjs — the wire protocol (SPEC chapter 9) on stdin/stdout, served by wllama in a page of
// headless chromium (page.mjs): what the acceptance suite starts with --impl.
//
//   node harness/impls/wllama/bridge.mjs   inside a with-browser.mjs run: a warm page of the
//                                          running chromium serves this session (fast)
//   the same command alone: launches its own chromium and server (seconds per session)
//
// The browser host's launcher and relay (harness/impls/browser/bridge.mjs, session.mjs) with
// this folder's page (GGUFREF_BROWSER_PAGE). load-model paths reach the page through the local
// server's /fs route, relative to this process's working directory.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
process.env.GGUFREF_BROWSER_PAGE ??= '/wllama/index.html';
// Alone, browser/bridge.mjs wants a module for its server's /ggufref.wasm route, which this page
// does not use: wllama's own module stands in.
if (!process.env.GGUFREF_BROWSER_ENDPOINT && !process.argv[2]) {
  process.argv[2] = join(here, 'node_modules/@wllama/wllama/esm/single-thread/wllama.wasm');
}
await import('../browser/bridge.mjs');
