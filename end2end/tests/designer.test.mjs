// Flow › Editor › design: the bpmn-js modeler with the LWAMS properties panel. Edit a
// step's command (undo/redo), see a missing parameter marked, deploy a new version with
// Ctrl+S and its basic data (group, comment), reload and find the property back, open an older version read-only, export
// the .bpmn, and have a stale deploy from a second window refused with who and when.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useServerAndBrowser, signIn, selectOnCanvas, artifacts, root, ADMIN_PASSWORD } from './harness.mjs';

const env = useServerAndBrowser();

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
  await selectOnCanvas(page, 'clean');
  assert.match(await page.inputValue('[data-testid=prop-command]'), /echo cleaned/);
  await page.fill('[data-testid=prop-command]', 'echo designed ${usage}');
  await page.press('[data-testid=prop-command]', 'Tab');
  await page.waitForSelector('[data-testid=unsaved]');
  // Leaving for another page of the app with unsaved changes asks first; "no" stays.
  let asked = '';
  page.once('dialog', (d) => { asked = d.message(); d.dismiss(); });
  await page.click('.designer-toolbar a[href="/flow/editor"]');
  assert.ok(asked.length > 0, 'asked before leaving');
  assert.match(page.url(), /\/flow\/design/);
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

  // Ctrl+S asks for the basic data (the key is fixed once deployed), Enter deploys v2.
  await page.keyboard.press('Control+s');
  await page.waitForSelector('[data-testid=basic-data]');
  assert.equal(await page.inputValue('[data-testid=basic-data] input[name=key]'), 'disk-cleanup');
  assert.ok(await page.$('[data-testid=basic-data] input[name=key][readonly]'), 'the key of a deployed flow is fixed');
  assert.ok(await page.$('[data-testid=basic-data] [data-testid=schedule-slot]'), 'the place for a schedule');
  await page.fill('[data-testid=basic-data] input[name=group]', 'Housekeeping');
  await page.fill('[data-testid=basic-data] input[name=comments]', 'the command says designed');
  await page.press('[data-testid=basic-data] input[name=comments]', 'Enter');
  await page.waitForSelector('[data-testid=designer-message]:has-text("disk-cleanup v2")');
  assert.equal(await page.$('[data-testid=basic-data]'), null);
  await page.screenshot({ path: join(artifacts, 'designer-1440.png'), fullPage: true });

  // Reloaded, the property is there; version 1 opens read-only.
  await page.reload();
  await page.waitForSelector('[data-testid=modeler] .djs-element[data-element-id=clean]');
  await selectOnCanvas(page, 'clean');
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
  // The group stays what it was; the comment is the version's own.
  assert.equal(await page.inputValue('[data-testid=basic-data] input[name=group]'), 'Housekeeping');
  assert.equal(await page.inputValue('[data-testid=basic-data] input[name=comments]'), '');
  await page.click('[data-testid=confirm-deploy]');
  await page.waitForSelector('[data-testid=designer-message]:has-text("disk-cleanup v3")');
  await other.click('[data-testid=deploy]');
  await other.click('[data-testid=confirm-deploy]');
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
  await selectOnCanvas(draft, 'clean');
  await draft.fill('[data-testid=prop-command]', 'echo drafted ${usage}');
  await draft.press('[data-testid=prop-command]', 'Tab');
  await draft.click('[data-testid=save-draft]');
  await draft.waitForSelector('[data-testid=designer-message]:has-text("raft"), [data-testid=designer-message]:has-text("草稿")');
  await draft.reload();
  await draft.waitForSelector('[data-testid=draft-banner]');
  assert.match(await draft.textContent('[data-testid=draft-banner]'), /Administrator/);
  await draft.click('[data-testid=open-draft]');
  await draft.waitForFunction(() => !document.querySelector('[data-testid=draft-banner]'));
  await selectOnCanvas(draft, 'clean');
  assert.equal(await draft.inputValue('[data-testid=prop-command]'), 'echo drafted ${usage}');
  await draft.click('[data-testid=deploy]');
  await draft.click('[data-testid=confirm-deploy]');
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
  const generated = await page.textContent('[data-testid=prop-id]');
  // Its id is editable: a taken or malformed id is refused and named, a good one is an
  // undoable rename that the panel follows.
  for (const [bad, why] of [['start', /already the id/], ['1st step', /must start with a letter/]]) {
    await page.fill('[data-testid=prop-id-input]', bad);
    await page.press('[data-testid=prop-id-input]', 'Tab');
    assert.match(await page.textContent('[data-testid=prop-id-problem]'), why);
    assert.equal(await page.textContent('[data-testid=prop-id]'), generated);
  }
  await page.fill('[data-testid=prop-id-input]', 'uname_step');
  await page.press('[data-testid=prop-id-input]', 'Tab');
  await page.waitForSelector('[data-testid=prop-id]:has-text("uname_step")');
  await page.waitForSelector('[data-testid=modeler] .djs-element[data-element-id="uname_step"]');
  await page.click('button:has-text("撤销"), button:has-text("Undo")');
  await page.waitForSelector(`[data-testid=prop-id]:has-text("${generated}")`);
  await page.click('button:has-text("重做"), button:has-text("Redo")');
  await page.waitForSelector('[data-testid=prop-id]:has-text("uname_step")');
  const id = 'uname_step';
  await page.waitForSelector(`[data-testid=modeler] .djs-element.lw-invalid[data-element-id="${id}"]`);
  assert.match(await page.textContent('[data-testid=missing-parameters]'), /host, terminal, command or script/);
  for (const [field, value] of [['host', 'web1'], ['terminal', 'web1-ssh'], ['command', 'uname -a']]) {
    await page.fill(`[data-testid=prop-${field}]`, value);
    await page.press(`[data-testid=prop-${field}]`, 'Tab');
  }
  await page.waitForFunction(() => !document.querySelector('[data-testid=missing-parameters]'));
  // Not connected to anything: the deploy is refused with the element named. A new
  // flow's key may be chosen, and must be usable as one.
  await page.click('[data-testid=deploy]');
  assert.equal(await page.inputValue('[data-testid=basic-data] input[name=key]'), 'new-flow');
  await page.fill('[data-testid=basic-data] input[name=key]', 'not a key');
  await page.click('[data-testid=confirm-deploy]');
  await page.waitForSelector('[data-testid=basic-data] .error');
  await page.fill('[data-testid=basic-data] input[name=key]', 'unconnected');
  await page.click('[data-testid=confirm-deploy]');
  await page.waitForSelector('[data-testid=deploy-problems]');
  assert.match(await page.textContent('[data-testid=deploy-problems]'), new RegExp(id));
  await page.screenshot({ path: join(artifacts, 'designer-new-1440.png'), fullPage: true });
  // Saved as a draft instead: listed in Flow › Editor though never deployed, and opened
  // from there.
  await page.click('[data-testid=save-draft]');
  await page.waitForSelector('[data-testid=designer-message]:has-text("raft"), [data-testid=designer-message]:has-text("草稿")');
  await page.click('[data-function=flow_editor]');
  await page.waitForSelector('[data-testid=flows-table] tr[data-flow=unconnected][data-draft-only=true]');
  // Deployed flows say how they start until schedules exist.
  assert.match(await page.textContent('[data-testid=flows-table] [data-testid=schedule]'), /manual|手动/);
  await page.click('[data-testid=flows-table] tr[data-flow=unconnected] [data-testid=design]');
  await page.waitForSelector(`[data-testid=modeler] .djs-element[data-element-id="${id}"]`);
  await ctx.close();
});

const BRANCHES = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:lwams="http://lwams.io/schema/bpmn/1.0"
    id="d" targetNamespace="http://lwams.io/e2e">
  <bpmn:process id="branches" name="Branches" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:serviceTask id="check" name="check" lwams:kind="localCommand" lwams:command="df -h" lwams:resultVariable="usage"/>
    <bpmn:exclusiveGateway id="gw"/>
    <bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition id="wait_def"/></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="done"/>
    <bpmn:endEvent id="full"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check"/>
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="gw"/>
    <bpmn:sequenceFlow id="yes" sourceRef="gw" targetRef="wait"/>
    <bpmn:sequenceFlow id="no" sourceRef="gw" targetRef="full"/>
    <bpmn:sequenceFlow id="f3" sourceRef="wait" targetRef="done"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="dia">
    <bpmndi:BPMNPlane id="plane" bpmnElement="branches">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="100" y="100" width="36" height="36"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="check_di" bpmnElement="check"><dc:Bounds x="190" y="78" width="100" height="80"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="gw_di" bpmnElement="gw" isMarkerVisible="true"><dc:Bounds x="345" y="93" width="50" height="50"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="wait_di" bpmnElement="wait"><dc:Bounds x="452" y="100" width="36" height="36"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="done_di" bpmnElement="done"><dc:Bounds x="552" y="100" width="36" height="36"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="full_di" bpmnElement="full"><dc:Bounds x="452" y="220" width="36" height="36"/></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1"><di:waypoint x="136" y="118"/><di:waypoint x="190" y="118"/></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f2_di" bpmnElement="f2"><di:waypoint x="290" y="118"/><di:waypoint x="345" y="118"/></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="yes_di" bpmnElement="yes"><di:waypoint x="395" y="118"/><di:waypoint x="452" y="118"/></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="no_di" bpmnElement="no"><di:waypoint x="370" y="143"/><di:waypoint x="370" y="238"/><di:waypoint x="452" y="238"/></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f3_di" bpmnElement="f3"><di:waypoint x="488" y="118"/><di:waypoint x="552" y="118"/></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>`;

test('a condition with variable completion, a default flow and a timer are set in the panel and undone', async () => {
  const ctx = await env.browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
  const page = await ctx.newPage();
  await signIn(page, env.server.url, 'admin', ADMIN_PASSWORD);
  await page.goto(`${env.server.url}/flow/design`);
  await page.waitForSelector('[data-testid=modeler] .djs-element[data-element-id=start]');
  const dir = mkdtempSync(join(tmpdir(), 'lwams-e2e-branches-'));
  writeFileSync(join(dir, 'branches.bpmn'), BRANCHES);
  await page.setInputFiles('[data-testid=designer-import]', join(dir, 'branches.bpmn'));
  await page.waitForSelector('[data-testid=modeler] .djs-element[data-element-id=gw]');

  // The flow leaving the gateway takes a condition; `${` offers the variables in scope:
  // the result variable of the step before, its parameters, the built-ins.
  await selectOnCanvas(page, 'yes');
  await page.click('[data-testid=prop-condition]');
  await page.keyboard.type('${che');
  await page.waitForSelector('[data-testid=complete-condition] li');
  const offered = await page.$$eval('[data-testid=complete-condition] li', (ls) => ls.map((l) => l.textContent));
  assert.ok(offered.includes('${check.result}'), offered.join(' '));
  await page.keyboard.type('ck.res');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('[data-testid=prop-condition]')?.value === '${check.result}');
  await page.click('[data-testid=prop-condition]');
  await page.keyboard.press('End');
  await page.keyboard.type(' != null');
  await page.press('[data-testid=prop-condition]', 'Tab');
  await selectOnCanvas(page, 'check');
  await page.fill('[data-testid=prop-command]', 'echo ${');
  await page.waitForSelector('[data-testid=complete-command] li');
  assert.match(await page.textContent('[data-testid=complete-command]'), /LWAMS_INITIATOR_NAME/);
  assert.doesNotMatch(await page.textContent('[data-testid=complete-command]'), /check\./, 'a step is not in its own scope');
  await page.keyboard.press('Escape');

  // The gateway's default flow, chosen among its outgoing flows.
  await selectOnCanvas(page, 'gw');
  await page.selectOption('[data-testid=prop-default]', 'no');
  // A timer without its expression is marked missing; the panel offers its kinds.
  await page.waitForSelector('[data-testid=modeler] .djs-element.lw-invalid[data-element-id=wait]');
  await selectOnCanvas(page, 'wait');
  assert.deepEqual(
    await page.$$eval('[data-testid=prop-timer-kind] option', (os) => os.map((o) => o.value)),
    ['timeDuration', 'timeCycle', 'timeDate'],
  );
  await page.selectOption('[data-testid=prop-timer-kind]', 'timeDuration');
  await page.fill('[data-testid=prop-timer]', 'PT5M');
  await page.press('[data-testid=prop-timer]', 'Tab');
  await page.waitForFunction(() => !document.querySelector('[data-testid=modeler] .djs-element.lw-invalid[data-element-id=wait]'));
  await page.screenshot({ path: join(artifacts, 'designer-branches-1440.png'), fullPage: true });

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-bpmn]')]);
  const xml = readFileSync(await download.path(), 'utf8');
  assert.match(xml, /<bpmn:sequenceFlow id="yes"[^>]*>\s*<bpmn:conditionExpression[^>]*>\$\{check\.result\} != null<\/bpmn:conditionExpression>/);
  assert.match(xml, /<bpmn:exclusiveGateway id="gw" default="no"/);
  assert.match(xml, /<bpmn:timeDuration[^>]*>PT5M<\/bpmn:timeDuration>/);
  // Renaming a step whose result a condition reads says which fields still use the old
  // id; the rename is undone like any edit.
  await selectOnCanvas(page, 'check');
  await page.fill('[data-testid=prop-id-input]', 'check_disk');
  await page.press('[data-testid=prop-id-input]', 'Tab');
  await page.waitForSelector('[data-testid=prop-id]:has-text("check_disk")');
  assert.match(await page.textContent('[data-testid=designer-message]'), /\$\{check…\}: yes/);
  await page.click('button:has-text("撤销"), button:has-text("Undo")');
  await page.waitForSelector('[data-testid=modeler] .djs-element[data-element-id=check]');
  // Undo takes the timer's expression back off, then the default flow.
  await page.click('button:has-text("撤销"), button:has-text("Undo")');
  await page.waitForSelector('[data-testid=modeler] .djs-element.lw-invalid[data-element-id=wait]');
  for (let i = 0; i < 2; i++) await page.click('button:has-text("撤销"), button:has-text("Undo")');
  await selectOnCanvas(page, 'gw');
  assert.equal(await page.inputValue('[data-testid=prop-default]'), '');
  await ctx.close();
});

test('a MIWG reference file opens in the designer and exports with every element', async () => {
  const fixtures = process.env.LWAMS_FIXTURES ?? join(root, '..', 'shared', 'fixtures');
  const file = join(fixtures, 'bpmn-miwg', 'reference', 'C.1.0.bpmn');
  const original = readFileSync(file, 'utf8');
  const ids = [...original.matchAll(/<(?:task|userTask|serviceTask|startEvent|endEvent|exclusiveGateway|parallelGateway|sequenceFlow|subProcess|intermediateCatchEvent|boundaryEvent)\b[^>]*\bid="([^"]+)"/g)].map((m) => m[1]);
  assert.ok(ids.length > 20, `the file has elements (${ids.length})`);
  const ctx = await env.browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
  const page = await ctx.newPage();
  await signIn(page, env.server.url, 'admin', ADMIN_PASSWORD);
  await page.goto(`${env.server.url}/flow/design`);
  await page.waitForSelector('[data-testid=modeler] .djs-element[data-element-id=start]');
  await page.setInputFiles('[data-testid=designer-import]', file);
  await page.waitForSelector(`[data-testid=modeler] .djs-element[data-element-id="${ids[0]}"]`);
  await page.waitForSelector('[data-testid=unsaved]');
  await page.screenshot({ path: join(artifacts, 'designer-miwg-1440.png'), fullPage: true });
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-bpmn]')]);
  const exported = readFileSync(await download.path(), 'utf8');
  for (const id of ids) {
    assert.ok(exported.includes(`id="${id}"`), `${id} exported`);
  }
  assert.match(exported, /<(?:\w+:)?process id="bpmn-miwg-test-case-c\.1\.0"/);
  await ctx.close();
});
