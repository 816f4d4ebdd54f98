// Issue 2 end to end: the admin creates a group with a partial permission matrix and a
// user in it; that user sees only the permitted menus, switches to English, and the
// layout holds at 1440 px and 375 px (screenshots saved in end2end/artifacts/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { useServerAndBrowser, signIn, artifacts, ADMIN_PASSWORD } from './harness.mjs';

const env = useServerAndBrowser();

async function menuFunctions(page) {
  return page.$$eval('[data-testid=sidebar] a[data-function]', (as) => as.map((a) => a.dataset.function));
}

test('admin creates a group and a user; the user sees only the permitted menus, in English', async () => {
  const ctx = await env.browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));

  await signIn(page, env.server.url, 'admin', ADMIN_PASSWORD);
  assert.equal((await menuFunctions(page)).length, 15, 'the admin sees all 15 functions');
  await page.screenshot({ path: join(artifacts, 'home-admin-1440.png') });

  // Create a group with a partial matrix.
  await page.click('[data-function=system_users]');
  await page.click('[data-testid=tab-groups]');
  await page.click('[data-testid=new-group]');
  await page.fill('[data-testid=group-editor] input[name=name]', 'operators');
  await page.check('input[name=perm-flow_monitor][value=view]');
  await page.check('input[name=perm-flow_tasks][value=manage]');
  await page.check('input[name=perm-system_company][value=view]');
  await page.screenshot({ path: join(artifacts, 'group-editor-1440.png'), fullPage: true });
  await page.click('[data-testid=save-group]');
  await page.waitForSelector('[data-testid=groups-table] tr[data-group=operators]');

  // Create a user in that group.
  await page.click('[data-testid=tab-users]');
  await page.click('[data-testid=new-user]');
  await page.fill('[data-testid=user-editor] input[name=login]', 'operator1');
  await page.fill('[data-testid=user-editor] input[name=display_name]', 'Operator One');
  await page.fill('[data-testid=user-editor] input[name=password]', 'operator-password');
  await page.check('[data-testid=user-editor] input[data-group=operators]');
  await page.click('[data-testid=save-user]');
  await page.waitForSelector('[data-testid=users-table] tr[data-login=operator1]');
  const row = await page.textContent('[data-testid=users-table] tr[data-login=operator1]');
  assert.match(row, /operators/);
  await page.screenshot({ path: join(artifacts, 'users-1440.png'), fullPage: true });

  // Sign out, sign in as the new user.
  await page.click('[data-testid=logout]');
  await page.waitForSelector('[data-testid=login-form]');
  await signIn(page, env.server.url, 'operator1', 'operator-password');
  const fns = (await menuFunctions(page)).sort();
  assert.deepEqual(fns, ['flow_monitor', 'flow_tasks', 'system_company']);
  const menus = await page.$$eval('[data-testid=sidebar] [data-menu]', (s) => s.map((x) => x.dataset.menu));
  assert.deepEqual(menus, ['flow', 'system']);

  // A page the user may not see, typed into the address bar: refused.
  await page.goto(`${env.server.url}/system/users`);
  await page.waitForSelector('[data-testid=forbidden]');

  // Switch to English: labels change, and the choice sticks after a reload.
  await page.goto(`${env.server.url}/`);
  await page.waitForSelector('[data-testid=current-user]');
  await page.selectOption('[data-testid=lang-switch]', 'en');
  await page.waitForFunction(() => document.querySelector('[data-menu=flow] .menu-title')?.textContent === 'Flow');
  await page.reload();
  await page.waitForFunction(() => document.querySelector('[data-menu=flow] .menu-title')?.textContent === 'Flow');
  assert.equal(await page.textContent('[data-function=flow_monitor]'), 'Monitor');
  await page.screenshot({ path: join(artifacts, 'operator-en-1440.png') });

  // The company page is read-only for a viewer.
  await page.click('[data-function=system_company]');
  await page.waitForSelector('[data-testid=company-form] fieldset[disabled]');
  assert.deepEqual(errors, [], 'no errors in the page');
  await ctx.close();
});

test('on a 375 px phone the menu collapses into a drawer', async () => {
  const ctx = await env.browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
  const page = await ctx.newPage();
  await page.goto(`${env.server.url}/login`);
  await page.screenshot({ path: join(artifacts, 'login-375.png') });
  await signIn(page, env.server.url, 'admin', ADMIN_PASSWORD);
  const sidebar = page.locator('[data-testid=sidebar]');
  const box = await sidebar.boundingBox();
  assert.ok(!box || box.x + box.width <= 0, `the drawer is closed: ${JSON.stringify(box)}`);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `no horizontal scrolling (${width})`);
  await page.screenshot({ path: join(artifacts, 'home-375.png') });
  await page.click('[data-testid=menu-toggle]');
  await page.waitForFunction(() => {
    const r = document.querySelector('[data-testid=sidebar]').getBoundingClientRect();
    return r.x >= 0;
  });
  await page.screenshot({ path: join(artifacts, 'drawer-375.png') });
  await page.click('[data-function=system_users]');
  await page.waitForSelector('[data-testid=users-table]');
  await page.waitForFunction(() => document.querySelector('[data-testid=sidebar]').getBoundingClientRect().right <= 0);
  await page.screenshot({ path: join(artifacts, 'users-375.png') });
  await ctx.close();
});

test('the login page loads no wasm; a wrong password shows a clear message in the chosen language', async () => {
  const ctx = await env.browser.newContext();
  const page = await ctx.newPage();
  const requested = [];
  page.on('request', (r) => requested.push(new URL(r.url()).pathname));
  await page.goto(`${env.server.url}/login`);
  assert.ok(!requested.some((p) => p.endsWith('.wasm') || p.endsWith('.js')), `no script loaded: ${requested}`);
  await page.click('a[hreflang=en]');
  await page.waitForSelector('text=Sign in');
  await page.fill('input[name=login]', 'admin');
  await page.fill('input[name=password]', 'not-the-password');
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  assert.match(await page.textContent('[data-testid=login-error]'), /Wrong company code, login name or password/);
  assert.equal(await page.inputValue('input[name=login]'), 'admin', 'the login name is kept');
  await page.screenshot({ path: join(artifacts, 'login-error-en-1440.png') });
  await ctx.close();
});
