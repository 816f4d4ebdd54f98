// Flow › Editor › design: the bpmn-js modeler with the LWAMS properties panel. Edit a
// step's command (undo/redo), see a missing parameter marked, deploy a new version with
// Ctrl+S, reload and find the property back, open an older version read-only, export
// the .bpmn, and have a stale deploy from a second window refused with who and when.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useServerAndBrowser, signIn, artifacts, root, ADMIN_PASSWORD } from './harness.mjs';

const env = useServerAndBrowser();

async function selectElement(page, id) {
  await page.click(`[data-testid=modeler] .djs-element[data-element-id=${id}]`);
  await page.waitForSelector(`[data-testid=prop-id]:has-text("${id}")`);
}

test('the designer edits, validates, deploys, reopens, exports and refuses a stale deploy', async () => {
  const ctx = await env.browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
  const page = await ctx.newPage();
  await signIn(page, env.server.url, 'admin', ADMIN_PASSWORD);
  await page.click('[data-function=flow_editor]');
  await page.setInputFiles('[data-testid=import-bpmn]', join(root, 'docs', 'examples', 'approval.bpmn'));
  await page.waitForSelector('[data-testid=deployed]');
  await page.click('[data-testid=flows-table] tr[data-flow=disk-cleanup] [data-testid=design]');
  await page.waitForSelector('[data-testid=modeler] .djs-element[data-element-id=clean]');

  // Edit the command; undo and redo are bpmn-js commands.
  await selectElement(page, 'clean');
  assert.match(await page.inputValue('[data-testid=prop-command]'), /echo cleaned/);
  await page.fill('[data-testid=prop-command]', 'echo designed ${usage}');
  await page.press('[data-testid=prop-command]', 'Tab');
  await page.waitForSelector('[data-testid=unsaved]');
  await page.click('button:has-text("撤销"), button:has-text("Undo")');
  await page.waitForFunction(() => document.querySelector('[data-testid=prop-command]')?.value.startsWith('echo cleaned'));
  await page.click('button:has-text("重做"), button:has-text("Redo")');
  await page.waitForFunction(() => document.querySelector('[data-testid=prop-command]')?.value === 'echo designed ${usage}');

  // A required parameter left empty: marked on the diagram and listed.
  await page.fill('[data-testid=prop-command]', '');
  await page.press('[data-testid=prop-command]', 'Tab');
  await page.waitForSelector('[data-testid=modeler] .djs-element.lw-invalid[data-element-id=clean]');
  assert.match(await page.textContent('[data-testid=missing-parameters]'), /clean: command or script/);
  await page.fill('[data-testid=prop-command]', 'echo designed ${usage}');
  await page.press('[data-testid=prop-command]', 'Tab');
  await page.waitForFunction(() => !document.querySelector('[data-testid=missing-parameters]'));

  // Ctrl+S deploys version 2.
  await page.keyboard.press('Control+s');
  await page.waitForSelector('[data-testid=designer-message]:has-text("disk-cleanup v2")');
  await page.screenshot({ path: join(artifacts, 'designer-1440.png'), fullPage: true });

  // Reloaded, the property is there; version 1 opens read-only.
  await page.reload();
  await page.waitForSelector('[data-testid=modeler] .djs-element[data-element-id=clean]');
  await selectElement(page, 'clean');
  assert.equal(await page.inputValue('[data-testid=prop-command]'), 'echo designed ${usage}');
  await page.selectOption('[data-testid=version-select]', '1');
  await page.waitForSelector('[data-testid=read-only]');
  assert.ok(await page.isDisabled('[data-testid=deploy]'));
  await page.selectOption('[data-testid=version-select]', '2');
  await page.waitForFunction(() => !document.querySelector('[data-testid=read-only]'));

  // What changed from v1 to v2: the command, before and after.
  await page.selectOption('[data-testid=compare-select]', '1');
  await page.waitForSelector('[data-testid=diff] li');
  assert.match(await page.textContent('[data-testid=diff]'), /clean · lwams:command: echo cleaned after \$\{usage\} → echo designed \$\{usage\}/);

  // Export .bpmn carries the LWAMS properties.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-bpmn]')]);
  const exported = readFileSync(await download.path(), 'utf8');
  assert.match(exported, /lwams:command="echo designed \$\{usage\}"/);
  assert.match(exported, /xmlns:lwams="http:\/\/lwams.io\/schema\/bpmn\/1.0"/);
  // The versions say who deployed them; the diagram exports as a PNG picture.
  assert.match(await page.textContent('[data-testid=version-select]'), /v2 · .* · Administrator/);
  const [png] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-png]')]);
  assert.match(png.suggestedFilename(), /\.png$/);
  const picture = readFileSync(await png.path());
  assert.deepEqual([...picture.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG file');
  assert.ok(picture.length > 2000, `a picture of the diagram (${picture.length} bytes)`);

  // Two windows on version 2: the second deploy is refused, naming who and when.
  const other = await ctx.newPage();
  await other.goto(page.url());
  await other.waitForSelector('[data-testid=modeler] .djs-element[data-element-id=clean]');
  await page.click('[data-testid=deploy]');
  await page.waitForSelector('[data-testid=designer-message]:has-text("disk-cleanup v3")');
  await other.click('[data-testid=deploy]');
  await other.waitForSelector('.error:has-text("Administrator")');
  assert.match(await other.textContent('.error'), /disk-cleanup/);

  // A broken file is refused with bpmn-js's message; the diagram stays.
  const dir = mkdtempSync(join(tmpdir(), 'lwams-e2e-designer-'));
  writeFileSync(join(dir, 'broken.bpmn'), '<definitions><process id="x"></definitions>');
  await page.setInputFiles('[data-testid=designer-import]', join(dir, 'broken.bpmn'));
  await page.waitForSelector('[data-testid=designer-error]');
  assert.ok(await page.$('[data-testid=modeler] .djs-element[data-element-id=clean]'), 'the diagram stayed');

  // A draft: saved without deploying (steps may be unfinished), offered on the next visit.
  const draft = await ctx.newPage();
  await draft.goto(`${env.server.url}/flow/design?key=disk-cleanup`);
  await draft.waitForSelector('[data-testid=modeler] .djs-element[data-element-id=clean]');
  await selectElement(draft, 'clean');
  await draft.fill('[data-testid=prop-command]', 'echo drafted ${usage}');
  await draft.press('[data-testid=prop-command]', 'Tab');
  await draft.click('[data-testid=save-draft]');
  await draft.waitForSelector('[data-testid=designer-message]:has-text("raft"), [data-testid=designer-message]:has-text("草稿")');
  await draft.reload();
  await draft.waitForSelector('[data-testid=draft-banner]');
  assert.match(await draft.textContent('[data-testid=draft-banner]'), /Administrator/);
  await draft.click('[data-testid=open-draft]');
  await draft.waitForFunction(() => !document.querySelector('[data-testid=draft-banner]'));
  await selectElement(draft, 'clean');
  assert.equal(await draft.inputValue('[data-testid=prop-command]'), 'echo drafted ${usage}');
  await draft.click('[data-testid=deploy]');
  await draft.waitForSelector('[data-testid=designer-message]:has-text("disk-cleanup v4")');
  await draft.reload();
  await draft.waitForSelector('[data-testid=modeler] .djs-element[data-element-id=clean]');
  assert.equal(await draft.$('[data-testid=draft-banner]'), null, 'deploying used up the draft');

  const phone = await ctx.newPage();
  await phone.setViewportSize({ width: 375, height: 800 });
  await phone.goto(page.url());
  await phone.waitForSelector('[data-testid=modeler] .djs-element[data-element-id=clean]');
  await phone.screenshot({ path: join(artifacts, 'designer-375.png'), fullPage: true });
  await ctx.close();
});

test('a new flow: an LWAMS step from the palette, its parameters, and a deploy refused with the problems', async () => {
  const ctx = await env.browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await ctx.newPage();
  await signIn(page, env.server.url, 'admin', ADMIN_PASSWORD);
  await page.goto(`${env.server.url}/flow/design`);
  await page.waitForSelector('[data-testid=modeler] .djs-element[data-element-id=start]');
  // Our palette: one entry per LWAMS kind with its own icon.
  const entries = await page.$$eval('.djs-palette .entry[data-action^="lwams-create."]', (es) => es.map((e) => e.getAttribute('data-action')));
  for (const kind of ['remoteCommand', 'localCommand', 'sql', 'http', 'fileDistribution', 'fileOperation', 'report', 'rpa', 'email', 'userTask', 'callActivity']) {
    assert.ok(entries.includes(`lwams-create.${kind}`), `${kind} in ${entries}`);
  }
  // Click the entry, then the canvas: a remote command step, selected.
  await page.click('.djs-palette .entry[data-action="lwams-create.remoteCommand"]');
  const box = await page.locator('[data-testid=modeler]').boundingBox();
  await page.mouse.move(box.x + 500, box.y + 300);
  await page.mouse.click(box.x + 500, box.y + 300);
  await page.waitForSelector('[data-testid=prop-kind]');
  assert.equal(await page.inputValue('[data-testid=prop-kind]'), 'remoteCommand');
  const id = await page.textContent('[data-testid=prop-id]');
  await page.waitForSelector(`[data-testid=modeler] .djs-element.lw-invalid[data-element-id="${id}"]`);
  assert.match(await page.textContent('[data-testid=missing-parameters]'), /host, terminal, command or script/);
  for (const [field, value] of [['host', 'web1'], ['terminal', 'web1-ssh'], ['command', 'uname -a']]) {
    await page.fill(`[data-testid=prop-${field}]`, value);
    await page.press(`[data-testid=prop-${field}]`, 'Tab');
  }
  await page.waitForFunction(() => !document.querySelector('[data-testid=missing-parameters]'));
  // Not connected to anything: the deploy is refused with the element named.
  await page.click('[data-testid=deploy]');
  await page.waitForSelector('[data-testid=deploy-problems]');
  assert.match(await page.textContent('[data-testid=deploy-problems]'), new RegExp(id));
  await page.screenshot({ path: join(artifacts, 'designer-new-1440.png'), fullPage: true });
  await ctx.close();
});
