// session.mjs — one page of the browser host serving one protocol session: a warm page (its
// Worker booted, waiting) and the relay that feeds it a byte stream of command lines and hands
// its event lines to a sink. Used by bridge.mjs (alone) and with-browser.mjs (a pool).
//
// stdin bytes are split into lines here (core.mjs LineSplitter: the 1 MiB limit); the lines of
// one read go to the page in one call, which writes them into the Worker's ring at once, so a
// cancel written with its generate is there after the first token (R-PROTO-041).
import { LineSplitter } from '../wasm/core.mjs';

// A fresh context and page, booted as far as the Worker's module: ready to serve.
export async function warmPage(browser, url, token, log) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const s = { context, page, sink: null, early: [] };
  await page.exposeFunction('__ggufrefOut', (text) => {
    if (s.sink) s.sink.write(text);
    else s.early.push(text);
  });
  await page.exposeFunction('__ggufrefDone', () => s.sink?.done());
  await page.exposeFunction('__ggufrefError', (msg) => s.sink?.fail(msg));
  page.on('pageerror', (e) => log(`page error: ${e}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') log(`console: ${m.text()}`);
  });
  page.on('crash', () => s.sink?.fail('the page crashed'));
  // GGUFREF_BROWSER_RING=0: the Worker without the shared ring (generate in one-token slices).
  const q = { bridge: '1', fs: token };
  if (process.env.GGUFREF_BROWSER_RING === '0') q.ring = '0';
  // GGUFREF_BROWSER_PAGE: another page with the same bridge interface (harness/impls/wllama).
  const path = process.env.GGUFREF_BROWSER_PAGE || '/browser/index.html';
  await page.goto(`${url}${path}?${new URLSearchParams(q)}`);
  await page.waitForFunction(() => window.__ggufrefReady === true);
  return s;
}

// Serve one session on a warm page: input (a readable byte stream) to the Worker, events to
// sink {write(text), done(), fail(msg)}; load-model paths relative to cwd.
export async function serve(s, { cwd, input, sink }) {
  s.sink = sink;
  for (const t of s.early) sink.write(t);
  s.early = [];
  await s.page.evaluate((c) => window.__ggufrefCwd(c), cwd);
  let chain = Promise.resolve();
  const lines = new LineSplitter((batch) => {
    const items = batch.map((it) => (it.eof ? { e: 1 } :
      it.line === null ? { d: 1 } : { l: Buffer.from(it.line).toString('base64') }));
    chain = chain.then(() => s.page.evaluate((b) => window.__ggufrefFeed(b), items))
      .catch((e) => sink.fail(`cannot reach the page: ${e.message}`));
  });
  input.on('data', (chunk) => lines.push(chunk));
  input.on('end', () => lines.end());
}
