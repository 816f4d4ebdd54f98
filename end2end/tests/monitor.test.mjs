// Flow › Monitor: an instance run by `lwams flow run` against the server's database
// shows up in the list with its status, and its node runs open below it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { useServerAndBrowser, signIn, artifacts, root, ADMIN_PASSWORD } from './harness.mjs';

const env = useServerAndBrowser();

test('a finished run is listed in the monitor and shows its node runs', async () => {
  const out = execFileSync(env.server.bin, ['flow', 'run', join(root, 'docs', 'examples', 'system-info.bpmn'), '--var', 'greeting=from-e2e'], {
    env: { ...process.env, LWAMS_DATA_DIR: env.server.dataDir, DATABASE_URL: '' },
  }).toString();
  assert.match(out, /Completed/);

  const ctx = await env.browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await ctx.newPage();
  await signIn(page, env.server.url, 'admin', ADMIN_PASSWORD);
  await page.click('[data-function=flow_monitor]');
  await page.waitForSelector('[data-testid=instances-table] tr[data-instance]');
  const row = await page.textContent('[data-testid=instances-table] tr[data-instance]');
  assert.match(row, /system-info v1/);
  assert.match(row, /已完成|Completed/);
  assert.ok(await page.isDisabled('[data-testid=next-page]'), 'one page only');
  assert.ok(await page.isDisabled('[data-testid=prev-page]'));
  await page.click('[data-testid=instances-table] tr[data-instance]');
  await page.waitForSelector('[data-testid=instance-detail] tr[data-node=collect]');
  assert.match(await page.textContent('[data-testid=instance-detail] tr[data-node=collect]'), /from-e2e/);
  await page.screenshot({ path: join(artifacts, 'monitor-1440.png'), fullPage: true });
  await page.selectOption('[data-testid=status-filter]', 'failed');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=instances-table] tr[data-instance]').length === 0);
  await ctx.close();
});
