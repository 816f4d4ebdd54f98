// Tenants end to end: the platform operator creates a company and its first
// administrator under System › Companies, renames it; the login page then asks for the
// company code (filled in from ?company=); the tenant's administrator does not see
// the page; a disabled company's administrator is refused by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { useServerAndBrowser, signIn, artifacts, ADMIN_PASSWORD } from './harness.mjs';

const env = useServerAndBrowser();

async function signInTo(page, url, code, login, password) {
  await page.goto(`${url}/login?company=${code}&lang=en`);
  assert.equal(await page.inputValue('input[name=company_code]'), code);
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
}

test('the platform operator creates, renames and disables a company with its first administrator', async () => {
  const ctx = await env.browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const url = env.server.url;

  // One company: the login page asks for no code.
  await page.goto(`${url}/login`);
  assert.equal(await page.$('input[name=company_code]'), null, 'no code asked with one company');
  await signIn(page, url, 'admin', ADMIN_PASSWORD);
  await page.selectOption('[data-testid=lang-switch]', 'en');
  await page.click('[data-testid=menu-companies]');
  await page.waitForSelector('[data-testid=companies-table] tr[data-code=default]');

  // A new company, then its first administrator.
  await page.click('[data-testid=new-company]');
  await page.fill('[data-testid=company-editor] input[name=code]', 'acme');
  await page.fill('[data-testid=company-editor] input[name=name]', 'ACME Ltd');
  await page.click('[data-testid=save-company]');
  await page.waitForSelector('[data-testid=first-admin-editor]');
  await page.fill('[data-testid=first-admin-editor] input[name=display_name]', 'ACME Boss');
  await page.fill('[data-testid=first-admin-editor] input[name=password]', 'short');
  await page.click('[data-testid=save-first-admin]');
  await page.waitForSelector('[data-testid=first-admin-editor] .error');
  await page.fill('[data-testid=first-admin-editor] input[name=password]', 'acme-password-1');
  await page.screenshot({ path: join(artifacts, 'companies-first-admin-1440.png'), fullPage: true });
  await page.click('[data-testid=save-first-admin]');
  await page.waitForSelector('[data-testid=first-admin-editor]', { state: 'detached' });
  await page.waitForFunction(() =>
    document.querySelector('[data-testid=companies-table] tr[data-code=acme] td:nth-child(3)')?.textContent === '1');

  // Rename.
  await page.click('[data-testid=companies-table] tr[data-code=acme] button:has-text("Rename")');
  await page.fill('[data-testid=rename-company] input[name=name]', 'ACME Group');
  await page.click('[data-testid=save-rename]');
  await page.waitForSelector('[data-testid=companies-table] tr[data-code=acme]:has-text("ACME Group")');
  await page.screenshot({ path: join(artifacts, 'companies-1440.png'), fullPage: true });

  // Two companies: the login page asks for the code; the tenant's admin signs in with it.
  await page.click('[data-testid=logout]');
  await page.waitForSelector('[data-testid=login-form] input[name=company_code]');
  await page.goto(`${url}/login?lang=en`);
  assert.notEqual(await page.$('input[name=company_code]'), null, 'the code is asked');
  await signInTo(page, url, 'acme', 'admin', 'acme-password-1');
  await page.waitForSelector('body[data-hydrated]');
  await page.waitForFunction(() => document.querySelector('[data-testid=current-user]')?.textContent === 'ACME Boss');
  assert.equal(await page.$('[data-testid=menu-companies]'), null, 'no Companies menu for a tenant');
  await page.goto(`${url}/system/companies`);
  await page.waitForSelector('[data-testid=forbidden]');
  await page.click('[data-testid=logout]');
  await page.waitForSelector('[data-testid=login-form]');

  // The operator disables it; its administrator is refused by name.
  await signInTo(page, url, 'default', 'admin', ADMIN_PASSWORD);
  await page.waitForSelector('body[data-hydrated]');
  await page.goto(`${url}/system/companies`);
  await page.click('[data-testid=companies-table] tr[data-code=acme] [data-testid=toggle-company]');
  await page.waitForSelector('[data-testid=companies-table] tr[data-code=acme]:has-text("Disabled")');
  assert.equal(
    await page.$('[data-testid=companies-table] tr[data-code=default] [data-testid=toggle-company]'),
    null,
    'the operator\'s own company offers no Disable',
  );
  await page.click('[data-testid=logout]');
  await page.waitForSelector('[data-testid=login-form]');
  await signInTo(page, url, 'acme', 'admin', 'acme-password-1');
  const refusal = await page.textContent('[data-testid=login-error]');
  assert.match(refusal, /acme/);
  assert.match(refusal, /disabled/);
  await page.screenshot({ path: join(artifacts, 'login-company-disabled-1440.png') });
  assert.deepEqual(errors, [], 'no errors in the page');
  await ctx.close();
});
