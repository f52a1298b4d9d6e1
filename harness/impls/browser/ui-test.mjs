// ui-test.mjs — the page as a person uses it, in headless Debian chromium (playwright-core):
// load a model from the file input (its ArrayBuffer transferred: detached in the page), set
// sampling, generate and watch tokens stream, cancel mid-stream (CANCELLED,
// CONTINUATION_READY, fewer tokens than asked), reset, read diagnostics, load a malformed file
// and see the runtime's error, free, load the File read by the Worker in chunks. A screenshot of
// each state goes to OUT_DIR.
//
//   node ui-test.mjs GGUFREF_WASM MODEL.gguf OUT_DIR
// MODEL should take a few seconds for 200 tokens (the build's stories15m-q8_0.gguf) so the
// cancel lands mid-stream. Exit status 0 when every check holds; each failure is printed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, basename } from 'node:path';
import { launchBrowser } from './chromium.mjs';
import { startServer } from './server.mjs';

const [wasmPath, modelPath, outDir] = process.argv.slice(2);
if (!outDir) {
  process.stderr.write('usage: node ui-test.mjs GGUFREF_WASM MODEL.gguf OUT_DIR\n');
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
const malformed = join(outDir, 'malformed.gguf');
writeFileSync(malformed, Buffer.from('GGUX\x03\x00\x00\x00 not a GGUF file'));

let failed = 0;
function check(what, ok, detail = '') {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? `: ${detail}` : ''}`);
  if (!ok) failed++;
}

const server = await startServer({ wasmPath });
const browser = await launchBrowser();
const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
page.on('pageerror', (e) => check('no page error', false, String(e)));
let shot = 0;
const screenshot = async (name) => {
  const file = join(outDir, `${String(++shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`     screenshot ${file}`);
};
const text = (sel) => page.locator(sel).textContent();
const waitState = (s, timeout = 30000) => page.waitForFunction(
  (want) => document.getElementById('state').textContent === want, s, { timeout });

try {
  await page.goto(`${server.url}/browser/index.html`);
  await waitState('INITIALIZED');
  check('page is cross-origin isolated', await page.evaluate(() => crossOriginIsolated));
  check('boot advertises cancel', (await text('#isolation')).includes('cancel'));
  await screenshot('booted');

  await page.setInputFiles('#model-file', modelPath);
  await page.click('#load');
  await waitState('READY', 60000);
  check('model loaded', (await text('#output')).includes(`loaded ${basename(modelPath)}`));
  const transfer = await page.evaluate(() => window.__lastTransfer);
  check('the model ArrayBuffer was transferred (detached in the page)', transfer?.detached === true,
    JSON.stringify(transfer));
  await screenshot('loaded');

  await page.fill('#max_tokens', '200');
  await page.fill('#prompt', 'Once upon a time');
  await page.click('#generate');
  await page.waitForFunction(() => /^([3-9]|\d\d+) tokens/.test(
    document.getElementById('count').textContent), null, { timeout: 60000 });
  await screenshot('streaming');
  check('cancel is enabled while streaming', !(await page.locator('#cancel').isDisabled()));
  await page.click('#cancel');
  await page.waitForFunction(() => document.getElementById('error').textContent !== '', null,
    { timeout: 60000 });
  const err = await text('#error');
  check('cancel stops the generate with CANCELLED', err.startsWith('CANCELLED (21)'), err);
  check('state after cancel is CONTINUATION_READY', await text('#state') === 'CONTINUATION_READY');
  const count = await text('#count');
  const n = Number(count.split(' ')[0]);
  check('cancelled mid-stream (3 <= tokens < 200)', n >= 3 && n < 200, count);
  check('streamed text shown', (await text('#output')).length > 0);
  await screenshot('cancelled');

  await page.click('#reset');
  await waitState('READY');
  await page.fill('#max_tokens', '8');
  await page.click('#generate');
  await waitState('CONTINUATION_READY', 60000);
  await page.waitForFunction(() => / in /.test(document.getElementById('count').textContent));
  check('a short generate completes without error', await text('#error') === '',
    await text('#count'));

  await page.$eval('#diag', (el) => { el.textContent = ''; });
  await page.click('#diagnostics');
  // the Worker answers asynchronously: wait for the rendered answer, not the click
  await page.waitForFunction(() => {
    try {
      return JSON.parse(document.getElementById('diag').textContent).event === 'result';
    } catch {
      return false;
    }
  }, null, { timeout: 30000 });
  const diag = JSON.parse(await text('#diag'));
  check('diagnostics: result with a model and the wasm memory size',
    diag.event === 'result' && diag.model === true && diag.impl.wasm_memory > 0,
    `wasm_memory ${diag.impl?.wasm_memory}`);
  await screenshot('diagnostics');

  await page.setInputFiles('#model-file', malformed);
  await page.click('#load');
  await page.waitForFunction(() => document.getElementById('error').textContent !== '', null,
    { timeout: 30000 });
  const bad = await text('#error');
  check('a malformed file gives the runtime\'s error', bad.startsWith('BAD_MAGIC (5): load-model:'),
    bad);
  check('state after the failed load is RECOVERABLE_ERROR',
    await text('#state') === 'RECOVERABLE_ERROR');
  await screenshot('malformed');

  await page.click('#free');
  await waitState('FREED');
  check('free-model ends in FREED', true);
  await screenshot('freed');

  // The File itself to the Worker, read there in chunks straight into wasm memory.
  await page.check('#chunked');
  await page.setInputFiles('#model-file', modelPath);
  await page.click('#load');
  await waitState('READY', 60000);
  check('a model read by the Worker in chunks loads', (await text('#output')).includes('loaded'));
  await page.click('#generate');
  await waitState('CONTINUATION_READY', 60000);
  await page.waitForFunction(() => / in /.test(document.getElementById('count').textContent));
  check('... and generates', await text('#error') === '', await text('#count'));
} catch (e) {
  check('the UI test ran to the end', false, e.stack || String(e));
  await screenshot('failure').catch(() => {});
}
await browser.close();
await server.close();
console.log(failed === 0 ? 'ui-test: ok' : `ui-test: ${failed} failure(s)`);
process.exit(failed === 0 ? 0 : 1);
