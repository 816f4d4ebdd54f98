// Starts a real LWAMS server (the binary `cargo test` built, or LWAMS_BIN) on a free port with a fresh SQLite
// database, and a headless Debian Chromium driven by playwright-core.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { before, after } from 'node:test';

const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, '..', '..');
export const artifacts = resolve(here, '..', 'artifacts');
mkdirSync(artifacts, { recursive: true });

export const ADMIN_PASSWORD = 'e2e-admin-password';

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => ok(p)); });
    s.on('error', fail);
  });
}

export async function startServer() {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'lwams-e2e-'));
  const bin = process.env.LWAMS_BIN || join(root, 'target', 'debug', 'lwams');
  const proc = spawn(bin, ['serve'], {
    env: {
      ...process.env,
      LWAMS_LISTEN: `127.0.0.1:${port}`,
      LWAMS_DATA_DIR: dataDir,
      LWAMS_SITE_ROOT: process.env.LWAMS_SITE_ROOT || join(root, 'target', 'site'),
      LWAMS_ADMIN_PASSWORD: ADMIN_PASSWORD,
      DATABASE_URL: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  proc.stdout.on('data', (d) => { log += d; });
  proc.stderr.on('data', (d) => { log += d; });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) return { url, proc, dataDir, bin, log: () => log, stop: () => proc.kill('SIGTERM') };
    } catch { /* not yet */ }
    if (proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill('SIGKILL');
  throw new Error(`server did not become healthy:\n${log}`);
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** Signs in through the (plain HTML) login form; waits until the app is interactive. */
export async function signIn(page, url, login, password) {
  await page.goto(`${url}/login`);
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  await page.waitForSelector('body[data-hydrated]');
  await page.waitForSelector('[data-testid=welcome]');
  await page.waitForFunction(() => document.querySelector('[data-testid=current-user]') !== null);
}

/**
 * Starts a server and a browser for the test file and stops both after it; the
 * returned object's `server` and `browser` are set once `before` has run.
 */
export function useServerAndBrowser() {
  const env = { server: null, browser: null };
  before(async () => {
    env.server = await startServer();
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close();
    env.server?.stop();
  });
  return env;
}

// Selects an element on the designer's canvas (its properties panel shows it). The click
// goes to a visible point of the element's box (a straight sequence flow's box has no
// height, which Playwright's own click counts as not visible); bpmn-js may swallow a
// click — the one after a drag, one landing while the panel redraws — so it is repeated
// until the panel names the element.
export async function selectOnCanvas(page, id) {
  for (let i = 0; i < 5; i++) {
    // A point of the element not covered by anything (the context pad of the element
    // selected before may lie over part of it).
    const at = await page.evaluate((id) => {
      const g = document.querySelector(`[data-testid=modeler] .djs-element[data-element-id="${id}"]`);
      const r = g.getBoundingClientRect();
      for (const [fx, fy] of [[0.5, 0.5], [0.8, 0.5], [0.5, 0.8], [0.2, 0.5], [0.5, 0.2], [0.9, 0.5], [0.8, 0.8]]) {
        const x = r.x + r.width * fx;
        const y = r.y + r.height * fy;
        const hit = document.elementFromPoint(x, y);
        if (hit && g.contains(hit)) return { x, y };
      }
      return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
    }, id);
    await page.mouse.click(at.x, at.y);
    const shown = await page.waitForSelector(`[data-testid=prop-id]:has-text("${id}")`, { timeout: 1000 }).catch(() => null);
    if (shown) return;
  }
  throw new Error(`${id} could not be selected on the canvas`);
}
