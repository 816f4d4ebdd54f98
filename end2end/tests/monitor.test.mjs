// Flow › Monitor: an instance run by `lwams flow run` against the server's database
// shows up in the list with its status, and its node runs open below it; a flow
// started from the editor runs live: its nodes turn green on the diagram while the
// page is open, and its user task is completed from the node panel.
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
  assert.match(out, /completed/);

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
  await page.click('[data-testid=instance-detail] .all-runs summary');
  await page.waitForSelector('[data-testid=instance-detail] tr[data-node=collect]');
  assert.match(await page.textContent('[data-testid=instance-detail] tr[data-node=collect]'), /from-e2e/);
  await page.screenshot({ path: join(artifacts, 'monitor-1440.png'), fullPage: true });
  await page.selectOption('[data-testid=status-filter]', 'failed');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=instances-table] tr[data-instance]').length === 0);
  await ctx.close();
});

test('a flow started from the editor turns green node by node in the open monitor', async () => {
  const ctx = await env.browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await ctx.newPage();
  await signIn(page, env.server.url, 'admin', ADMIN_PASSWORD);
  await page.click('[data-function=flow_editor]');
  await page.waitForSelector('[data-testid=flows-table]');
  await page.setInputFiles('[data-testid=import-bpmn]', join(root, 'docs', 'examples', 'approval.bpmn'));
  await page.waitForSelector('[data-testid=deployed]');
  await page.click('[data-testid=flows-table] tr[data-flow=disk-cleanup] [data-testid=start-now]');
  // The monitor opens on the new instance; the diagram is drawn and coloured live.
  await page.waitForSelector('[data-testid=instance-detail][data-status=running]');
  await page.waitForSelector('[data-testid=live][data-state=open]');
  const node = (id, cls) => `[data-testid=diagram] .djs-element.${cls}[data-element-id=${id}]`;
  await page.waitForSelector(node('check', 'lw-node-active'), { timeout: 10000 });
  await page.waitForSelector(node('check', 'lw-node-completed'), { timeout: 10000 });
  await page.waitForSelector(node('approve', 'lw-node-active'), { timeout: 10000 });
  assert.ok(await page.$(node('start', 'lw-node-completed')), 'the start event is green');
  assert.equal(await page.$(node('clean', 'lw-node-completed')), null, 'not reached yet');
  await page.screenshot({ path: join(artifacts, 'monitor-live-1440.png'), fullPage: true });

  // The check step's output, from the node panel.
  await page.click(`[data-testid=diagram] [data-element-id=check]`);
  await page.waitForSelector('[data-testid=node-panel] [data-testid=stdout]');
  assert.match(await page.textContent('[data-testid=node-panel] [data-testid=stdout]'), /%|\//);

  // Complete the user task: the rest runs and the instance completes.
  await page.click(`[data-testid=diagram] [data-element-id=approve]`);
  await page.click('[data-testid=node-panel] [data-testid=complete]');
  await page.waitForSelector(node('finish', 'lw-node-completed'), { timeout: 10000 });
  await page.waitForSelector('[data-testid=instance-detail][data-status=completed]');
  await page.click('[data-testid=instance-detail] .history summary');
  assert.match(await page.textContent('[data-testid=instance-detail] .history'), /(完成了任务|completed the task) · approve/);
  await page.screenshot({ path: join(artifacts, 'monitor-completed-1440.png'), fullPage: true });

  const phone = await ctx.newPage();
  await phone.setViewportSize({ width: 375, height: 800 });
  await phone.goto(page.url());
  await phone.waitForSelector(node('finish', 'lw-node-completed'), { timeout: 10000 });
  await phone.screenshot({ path: join(artifacts, 'monitor-375.png'), fullPage: true });
  await ctx.close();
});
