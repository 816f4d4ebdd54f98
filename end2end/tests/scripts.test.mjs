// Resource › Scripts: write a script (Tab indents in the code area), see a malformed
// placeholder refused with its line, see its variables listed, edit it, search; the
// list at 1440 px and 375 px.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { useServerAndBrowser, signIn, artifacts, ADMIN_PASSWORD } from './harness.mjs';

const env = useServerAndBrowser();

test('a script is written, refused with its bad line, saved with its variables and edited', async () => {
  const ctx = await env.browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await ctx.newPage();
  await signIn(page, env.server.url, 'admin', ADMIN_PASSWORD);
  await page.click('[data-function=resource_scripts]');
  await page.waitForSelector('[data-testid=scripts-table]');

  const editor = '[data-testid=script-editor]';
  await page.click('[data-testid=new-script]');
  await page.fill(`${editor} input[name=name]`, 'list home');
  await page.selectOption(`${editor} select[name=kind]`, 'bash');
  const code = `${editor} textarea[name=body]`;
  await page.click(code);
  await page.keyboard.type('for f in ${dir}/*; do');
  await page.keyboard.press('Enter');
  await page.keyboard.press('Tab');
  await page.keyboard.type('echo "$f"');
  await page.keyboard.press('Enter');
  await page.keyboard.type('done; echo ${raw:opts');
  assert.match(await page.inputValue(code), /\n {4}echo "\$f"/, 'Tab indents inside the code');
  await page.click('[data-testid=save-script]');
  const refusal = await page.waitForSelector(`${editor} [role=alert]`);
  assert.match(await refusal.textContent(), /line 3/);

  await page.fill(code, 'for f in ${dir}/*; do\n    echo "$f"\ndone\nls ${raw:opts} ${dir}');
  await page.waitForFunction(
    (sel) => document.querySelector(sel)?.textContent.includes('${opts}'),
    '[data-testid=script-variables]',
  );
  assert.match(await page.textContent('[data-testid=script-variables]'), /\$\{dir\} \$\{opts\}/);
  await page.fill(`${editor} input[name=comments]`, 'what is in a directory');
  await page.click('[data-testid=save-script]');
  await page.waitForSelector('tr[data-script="list home"]');
  assert.equal(await page.$(editor), null, 'the editor closes after saving');
  assert.match(await page.textContent('tr[data-script="list home"]'), /bash/);
  assert.match(await page.textContent('tr[data-script="list home"]'), /\$\{dir\} \$\{opts\}/);

  // A second script, then search narrows the list.
  await page.click('[data-testid=new-script]');
  await page.fill(`${editor} input[name=name]`, 'servers');
  await page.selectOption(`${editor} select[name=kind]`, 'sql');
  await page.fill(code, 'SELECT * FROM servers WHERE name = ${server}');
  await page.click('[data-testid=save-script]');
  await page.waitForSelector('tr[data-script=servers]');
  await page.screenshot({ path: join(artifacts, 'scripts-1440.png'), fullPage: true });
  await page.fill('[data-testid=scripts-search]', 'servers');
  await page.press('[data-testid=scripts-search]', 'Enter');
  await page.waitForFunction(() => !document.querySelector('tr[data-script="list home"]'));
  assert.ok(await page.$('tr[data-script=servers]'));
  await page.fill('[data-testid=scripts-search]', '');
  await page.press('[data-testid=scripts-search]', 'Enter');
  await page.waitForSelector('tr[data-script="list home"]');

  // Edit: the code comes back as saved; the language can change.
  await page.click('tr[data-script="list home"] [data-testid=edit-script]');
  assert.match(await page.inputValue(code), /^for f in \$\{dir\}/);
  await page.selectOption(`${editor} select[name=kind]`, 'sh');
  await page.click('[data-testid=save-script]');
  await page.waitForFunction(() => /\bsh\b/.test(document.querySelector('tr[data-script="list home"] td:nth-child(2)')?.textContent ?? ''));

  const phone = await env.browser.newContext({ viewport: { width: 375, height: 740 } });
  const p2 = await phone.newPage();
  await signIn(p2, env.server.url, 'admin', ADMIN_PASSWORD);
  await p2.goto(`${env.server.url}/resource/scripts`);
  await p2.waitForSelector('body[data-hydrated]');
  await p2.waitForSelector('tr[data-script="list home"]');
  const overflow = await p2.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no sideways scrolling on a phone (${overflow} px too wide)`);
  await p2.click('tr[data-script="list home"] [data-testid=edit-script]');
  await p2.waitForSelector('[data-testid=script-editor]');
  const wide = await p2.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(wide <= 0, `the editor fits a phone (${wide} px too wide)`);
  await p2.screenshot({ path: join(artifacts, 'scripts-375.png'), fullPage: true });
  await phone.close();
  await ctx.close();
});
