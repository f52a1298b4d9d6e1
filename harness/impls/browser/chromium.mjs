// chromium.mjs — Debian's chromium (never a downloaded browser), headless, driven by
// playwright-core; and the local server beside it. Shared by with-browser.mjs, bridge.mjs and
// the tests.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { startServer } from './server.mjs';

export const CHROMIUM = process.env.GGUFREF_CHROMIUM || '/usr/bin/chromium';
// playwright-core gives every launch a fresh temporary --user-data-dir (and removes it after).
export const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync'];

function checkChromium() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (tools/deps.sh) or ` +
      'set GGUFREF_CHROMIUM');
  }
}

export async function launchBrowser() {
  checkChromium();
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
}

export async function launchBrowserServer() {
  checkChromium();
  return chromium.launchServer({ executablePath: CHROMIUM, args: FLAGS, headless: true });
}

export function connectBrowser(wsEndpoint) {
  return chromium.connect(wsEndpoint);
}

// The local server with a fresh token for /fs (bridge mode).
export async function startBridgeServer(wasmPath, extra = {}) {
  const token = randomBytes(16).toString('hex');
  const server = await startServer({ wasmPath, fsToken: token, extra });
  return { ...server, token };
}
