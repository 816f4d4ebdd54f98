// A newcomer's first steps: an empty Monitor says how to start an instance and links to
// Flow › Editor; an empty flow list offers "New flow", "Import .bpmn" and the examples,
// each of which really works; "Start now" is recorded as a manual start with its creator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { useServerAndBrowser, signIn, artifacts, ADMIN_PASSWORD } from './harness.mjs';

const env = useServerAndBrowser();

test('empty lists guide a newcomer and every button of the guide works', async () => {
  const ctx = await env.browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await ctx.newPage();
  await signIn(page, env.server.url, 'admin', ADMIN_PASSWORD);

  await page.click('[data-function=flow_monitor]');
  await page.waitForSelector('[data-testid=no-instances]');
  assert.match(await page.textContent('[data-testid=no-instances]'), /POST \/api\/v1\/instances/);
  await page.screenshot({ path: join(artifacts, 'monitor-empty-1440.png'), fullPage: true });
  await page.click('[data-testid=to-editor]');

  await page.waitForSelector('[data-testid=no-flows]');
  await page.screenshot({ path: join(artifacts, 'editor-empty-1440.png'), fullPage: true });
  assert.equal(await page.getAttribute('[data-testid=empty-new-flow]', 'href'), '/flow/design');
  assert.equal(await page.locator('[data-testid=empty-import-bpmn]').count(), 1);

  // An example deploys at once; the guide gives way to the list.
  await page.click('[data-testid=deploy-example][data-example="system-info.bpmn"]');
  await page.waitForSelector('[data-testid=deployed]');
  assert.match(await page.textContent('[data-testid=deployed]'), /system-info v1/);
  await page.waitForSelector('[data-testid=flows-table] tr[data-flow=system-info]');
  await page.waitForSelector('[data-testid=no-flows]', { state: 'detached' });

  // "Start now" is a manual start (labelled in the signed-in language), shown with its creator.
  await page.click('tr[data-flow=system-info] [data-testid=start-now]');
  await page.waitForSelector('[data-testid=instances-table] tr[data-instance]');
  const row = page.locator('[data-testid=instances-table] tr[data-instance]').first();
  assert.match(await row.textContent(), /manual|手动/);
  assert.ok((await row.locator('[data-testid=creator]').textContent()).trim().length > 0);

  // The new-flow button opens the designer.
  await page.goto(`${env.server.url}/flow/design`);
  await page.waitForSelector('body[data-hydrated]');
  assert.match(page.url(), /\/flow\/design/);
  await ctx.close();
});
