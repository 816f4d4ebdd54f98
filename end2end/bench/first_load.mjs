// Measures (1) the login page's first load in Chromium — bytes over the wire, gzip as
// served — and (2) how long `lwams serve` takes to answer /healthz on an existing
// database. Run after `cargo leptos build --release`:
//   node end2end/bench/first_load.mjs
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, root } from '../tests/harness.mjs';

const bin = process.env.LWAMS_BIN || join(root, 'target', 'release', 'lwams');
const siteRoot = process.env.LWAMS_SITE_ROOT || join(root, 'target', 'site');
const dataDir = mkdtempSync(join(tmpdir(), 'lwams-bench-'));
const port = 3950 + Math.floor(Math.random() * 40);
const url = `http://127.0.0.1:${port}`;

async function startAndTime() {
  const t0 = performance.now();
  const proc = spawn(bin, ['serve'], {
    env: { ...process.env, LWAMS_LISTEN: `127.0.0.1:${port}`, LWAMS_DATA_DIR: dataDir, LWAMS_SITE_ROOT: siteRoot,
      LWAMS_ADMIN_PASSWORD: 'bench-password', DATABASE_URL: '' },
    stdio: 'ignore',
  });
  for (;;) {
    try { if ((await fetch(`${url}/healthz`)).ok) break; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 2));
  }
  return { proc, ms: performance.now() - t0 };
}

const first = await startAndTime();           // creates the database
first.proc.kill('SIGTERM');
await new Promise((r) => first.proc.on('exit', r));
const readies = [];
let server;
for (let i = 0; i < 5; i++) {
  server = await startAndTime();
  readies.push(server.ms);
  if (i < 4) { server.proc.kill('SIGTERM'); await new Promise((r) => server.proc.on('exit', r)); }
}
readies.sort((a, b) => a - b);
console.log(`lwams serve ready (healthz 200) on an existing SQLite database: median ${readies[2].toFixed(0)} ms, max ${readies[4].toFixed(0)} ms (5 starts)`);

const browser = await launchBrowser();
const page = await browser.newPage();
const cdp = await page.context().newCDPSession(page);
await cdp.send('Network.enable');
let total = 0;
const byUrl = new Map();
cdp.on('Network.loadingFinished', (e) => { total += e.encodedDataLength; byUrl.set(e.requestId, e.encodedDataLength); });
const names = new Map();
cdp.on('Network.responseReceived', (e) => names.set(e.requestId, `${e.response.url.replace(url, '')} (${e.response.headers['content-encoding'] || 'identity'})`));
function report(title) {
  for (const [id, bytes] of byUrl) console.log(`  ${String((bytes / 1024).toFixed(1)).padStart(7)} KB  ${names.get(id) || id}`);
  console.log(`${title}: ${(total / 1024).toFixed(1)} KB over the wire`);
  const bpmn = [...names.values()].some((n) => n.includes('bpmn'));
  console.log(`  bpmn-js loaded: ${bpmn ? 'YES (bad)' : 'no'}`);
  total = 0; byUrl.clear(); names.clear();
}
await page.goto(`${url}/login`, { waitUntil: 'networkidle' });
report('login page first load (target ≤ 300 KB gzip)');
await page.fill('input[name=login]', 'admin');
await page.fill('input[name=password]', 'bench-password');
await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
await page.waitForSelector('body[data-hydrated]');
await page.waitForTimeout(300);
report('first app page after signing in (cold cache; the wasm is cached afterwards)');
await browser.close();
server.proc.kill('SIGTERM');
