// with-browser.mjs — runs a command while one headless chromium, the local server and a pool of
// warm wllama pages are up (harness/impls/browser/with-browser.mjs with this folder's page), so
// every bridge.mjs the command starts is served at once.
//
//   node harness/impls/wllama/with-browser.mjs -- /usr/bin/python3 -m pytest harness \
//       --impl "node harness/impls/wllama/bridge.mjs" \
//       --expected-failures harness/impls/wllama/expected_failures.tsv
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
process.env.GGUFREF_BROWSER_PAGE ??= '/wllama/index.html';
if (process.argv[2] !== '--') {
  process.stderr.write('usage: node with-browser.mjs -- COMMAND [ARGS...]\n');
  process.exit(2);
}
// browser/with-browser.mjs takes a module first (its server's /ggufref.wasm, unused here).
process.argv.splice(2, 0, join(here, 'node_modules/@wllama/wllama/esm/single-thread/wllama.wasm'));
await import('../browser/with-browser.mjs');
