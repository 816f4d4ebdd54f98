// Flow › Editor list: importing a .bpmn file deploys it as a new version; a broken
// file is refused with its problems, each with its line, and nothing is deployed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useServerAndBrowser, signIn, artifacts, root, ADMIN_PASSWORD } from './harness.mjs';

const env = useServerAndBrowser();

test('importing a .bpmn file deploys versions; a broken file is refused with lines', async () => {
  const ctx = await env.browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await ctx.newPage();
  await signIn(page, env.server.url, 'admin', ADMIN_PASSWORD);
  await page.click('[data-function=flow_editor]');
  await page.waitForSelector('[data-testid=flows-table]');

  const example = join(root, 'docs', 'examples', 'system-info.bpmn');
  await page.setInputFiles('[data-testid=import-bpmn]', example);
  await page.waitForSelector('[data-testid=deployed]');
  assert.match(await page.textContent('[data-testid=deployed]'), /system-info v1/);
  await page.setInputFiles('[data-testid=import-bpmn]', example);
  await page.waitForFunction(() => document.querySelector('[data-testid=deployed]')?.textContent.includes('system-info v2'));
  await page.waitForSelector('[data-testid=flows-table] tr[data-flow=system-info]');
  assert.match(await page.textContent('[data-testid=flows-table] tr[data-flow=system-info]'), /v2/);

  const dir = mkdtempSync(join(tmpdir(), 'lwams-e2e-bpmn-'));
  const broken = join(dir, 'broken.bpmn');
  writeFileSync(broken, readFileSync(example, 'utf8').replace('lwams:command="ls -d /tmp"', ''));
  await page.setInputFiles('[data-testid=import-bpmn]', broken);
  await page.waitForSelector('[data-testid=deploy-problems]');
  const problems = await page.textContent('[data-testid=deploy-problems]');
  assert.match(problems, /line \d+: .*list: local command step: command or script is required/);
  await page.screenshot({ path: join(artifacts, 'editor-list-1440.png'), fullPage: true });
  assert.match(await page.textContent('[data-testid=flows-table] tr[data-flow=system-info]'), /v2/, 'nothing new deployed');
  await ctx.close();
});
