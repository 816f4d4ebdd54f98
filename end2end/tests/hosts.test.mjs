// System › Hosts with a real Sub Manager and a real sshd: add a host, download its
// package, start the agent from it and see the host turn green with its facts; add the
// test sshd as a terminal with an account, test the connection, then run a flow that
// runs `uname -a` there and read the output in the monitor. Then draw a flow with a
// step on that terminal and a user task in the designer, deploy it and run it; and
// run an RPA robot on the agent's machine and download the file it left.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useServerAndBrowser, signIn, selectOnCanvas, artifacts, ADMIN_PASSWORD } from './harness.mjs';
import { startSshd, SSH_USER, SSH_PASSWORD } from './sshd.mjs';

const env = useServerAndBrowser();
const stops = [];
after(() => stops.forEach((stop) => stop()));

// A drawn flow start → one step (`task`, a serviceTask element with id `step`) → end.
function oneStepFlow(key, name, step, task) {
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
    xmlns:lwams="http://lwams.io/schema/bpmn/1.0" id="d" targetNamespace="http://lwams.io/e2e">
  <bpmn:process id="${key}" name="${name}" isExecutable="true">
    <bpmn:startEvent id="start"/>
    ${task}
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="${step}"/>
    <bpmn:sequenceFlow id="f2" sourceRef="${step}" targetRef="end"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="dia">
    <bpmndi:BPMNPlane id="plane" bpmnElement="${key}">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="100" y="100" width="36" height="36"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="${step}_di" bpmnElement="${step}"><dc:Bounds x="200" y="78" width="100" height="80"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_di" bpmnElement="end"><dc:Bounds x="360" y="100" width="36" height="36"/></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1"><di:waypoint x="136" y="118"/><di:waypoint x="200" y="118"/></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f2_di" bpmnElement="f2"><di:waypoint x="300" y="118"/><di:waypoint x="360" y="118"/></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>`;
}

const FLOW = oneStepFlow('uname-on-edge', 'uname on the edge terminal', 'uname',
  `<bpmn:serviceTask id="uname" name="uname -a" lwams:kind="remoteCommand" lwams:host="edge-1"
        lwams:terminal="sshd" lwams:terminalUser="${SSH_USER}" lwams:command="uname -a" lwams:timeout="30"/>`);

const RPA_FLOW = oneStepFlow('robot-on-edge', 'robot on the edge host', 'robot',
  '<bpmn:serviceTask id="robot" name="robot" lwams:kind="rpa" lwams:host="edge-1" lwams:script="robot" lwams:timeout="60"/>');

test('a downloaded Sub Manager connects, reaches sshd and runs a flow step there', async () => {
  const sshd = await startSshd();
  stops.push(sshd.stop);
  const ctx = await env.browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
  const page = await ctx.newPage();
  await signIn(page, env.server.url, 'admin', ADMIN_PASSWORD);
  await page.click('[data-function=system_hosts]');
  await page.waitForSelector('[data-testid=hosts-table]');

  await page.click('[data-testid=new-host]');
  await page.fill('[data-testid=host-editor] input[name=name]', 'edge-1');
  await page.fill('[data-testid=host-editor] input[name=comments]', 'e2e');
  await page.click('[data-testid=save-host]');
  await page.waitForSelector('[data-testid=host-state][data-state=uninitialised]');

  // Download the package the way an operator does, unpack it and start the agent.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=download-package]')]);
  const dir = mkdtempSync(join(tmpdir(), 'lwams-agent-'));
  const archive = join(dir, 'package.tar.gz');
  await download.saveAs(archive);
  execFileSync('tar', ['-xzf', archive, '-C', dir]);
  const agent = spawn(join(dir, 'sub-manager', 'sub-manager'), ['--config', join(dir, 'sub-manager', 'sub-manager.json')], { stdio: 'ignore' });
  stops.push(() => agent.kill('SIGTERM'));
  await page.waitForSelector('[data-testid=host-state][data-state=connected]', { timeout: 20000 });
  await page.waitForSelector('[data-testid=host-facts] dd[data-fact=hostName]');
  assert.ok((await page.textContent('[data-testid=host-facts] dd[data-fact=memoryTotal]')).length > 0);
  await page.waitForSelector('[data-testid=hosts-table] tr[data-host=edge-1] [data-state=connected]');

  // The test sshd as a terminal with a password account; test the connection.
  await page.click('[data-testid=new-terminal]');
  await page.fill('[data-testid=terminal-editor] input[name=host_name]', 'sshd');
  await page.fill('[data-testid=terminal-editor] input[name=host_address]', '127.0.0.1');
  await page.fill('[data-testid=terminal-editor] input[name=port]', String(sshd.port));
  await page.click('[data-testid=save-terminal]');
  await page.waitForSelector('[data-terminal=sshd]');
  await page.click('[data-terminal=sshd] [data-testid=new-terminal-user]');
  await page.fill('[data-testid=account-editor] input[name=username]', SSH_USER);
  await page.fill('[data-testid=account-editor] input[name=secret]', SSH_PASSWORD);
  await page.click('[data-testid=save-account]');
  await page.waitForSelector(`[data-account=${SSH_USER}]`);
  await page.click(`[data-account=${SSH_USER}] [data-testid=test-connection]`);
  await page.waitForSelector(`[data-account=${SSH_USER}] [data-testid=test-result][data-ok=true]`, { timeout: 20000 });
  assert.match(await page.textContent(`[data-account=${SSH_USER}] [data-testid=test-result]`), /Linux/);
  // The SSH host key learnt on that first connection shows on the terminal's row.
  await page.waitForSelector('[data-terminal=sshd] [data-testid=host-key-fingerprint]', { timeout: 15000 });
  assert.match(await page.textContent('[data-terminal=sshd] [data-testid=host-key-fingerprint]'), /^SHA256:/);
  // Editing the terminal's address says, before saving, that its secrets are cleared
  // (and asks for them again); cancelled here.
  await page.click('[data-terminal=sshd] [data-testid=edit-terminal]');
  const termEditor = '[data-terminal=sshd] [data-testid=terminal-editor]';
  await page.waitForSelector(termEditor);
  assert.equal(await page.$('[data-testid=move-warning]'), null, 'no warning before a change');
  await page.fill(`${termEditor} input[name=host_address]`, '127.0.0.2');
  await page.waitForSelector('[data-testid=move-warning]');
  assert.ok(await page.$(`${termEditor} input[name=secret_again]`), 'the password can be given again');
  await page.click(`${termEditor} button[type=button]`);
  await page.waitForSelector(termEditor, { state: 'detached' });
  await page.screenshot({ path: join(artifacts, 'hosts-1440.png'), fullPage: true });

  // A flow with a remote command on that terminal: started from the editor, its output
  // is in the monitor.
  const file = join(dir, 'uname-on-edge.bpmn');
  writeFileSync(file, FLOW);
  await page.click('[data-function=flow_editor]');
  await page.waitForSelector('[data-testid=flows-table]');
  await page.setInputFiles('[data-testid=import-bpmn]', file);
  await page.waitForSelector('[data-testid=deployed]');
  await page.click('[data-testid=flows-table] tr[data-flow=uname-on-edge] [data-testid=start-now]');
  await page.waitForSelector('[data-testid=instance-detail][data-status=completed]', { timeout: 20000 });
  await page.click('[data-testid=instance-detail] .all-runs summary');
  await page.waitForSelector('[data-testid=instance-detail] tr[data-node=uname]');
  assert.match(await page.textContent('[data-testid=instance-detail] tr[data-node=uname]'), /Linux/);
  await page.screenshot({ path: join(artifacts, 'hosts-flow-1440.png'), fullPage: true });

  // In the designer the step offers the host's terminals and that terminal's accounts.
  await page.click('[data-function=flow_editor]');
  await page.click('[data-testid=flows-table] tr[data-flow=uname-on-edge] [data-testid=design]');
  await page.click('[data-testid=modeler] .djs-element[data-element-id=uname]');
  await page.waitForSelector('[data-testid=prop-id]:has-text("uname")');
  await page.waitForSelector('[data-testid=suggest-host] option[value=edge-1]', { state: 'attached' });
  await page.waitForSelector('[data-testid=suggest-terminal] option[value=sshd]', { state: 'attached' });
  await page.waitForSelector(`[data-testid=suggest-terminalUser] option[value=${SSH_USER}]`, { state: 'attached' });

  // Draw a flow from nothing: start → remote command (palette) → user task (context
  // pad) → end; fill the step's properties, save a draft, reload and find them back,
  // deploy it with its basic data, start it and watch it wait at the user task.
  await page.goto(`${env.server.url}/flow/design`);
  await page.waitForSelector('[data-testid=modeler] .djs-element[data-element-id=start]');
  const box = await page.locator('[data-testid=modeler]').boundingBox();
  const startBox = await page.locator('[data-testid=modeler] .djs-element[data-element-id=start]').boundingBox();
  await page.click('.djs-palette .entry[data-action="lwams-create.remoteCommand"]');
  const at = { x: startBox.x + 220, y: startBox.y + startBox.height / 2 };
  await page.mouse.move(at.x, at.y);
  await page.mouse.click(at.x, at.y);
  await page.waitForSelector('[data-testid=prop-kind]');
  const step = await page.textContent('[data-testid=prop-id]');
  for (const [field, value] of [['host', 'edge-1'], ['terminal', 'sshd'], ['terminalUser', SSH_USER], ['resultVariable', 'drawn']]) {
    await page.fill(`[data-testid=prop-${field}]`, value);
    await page.press(`[data-testid=prop-${field}]`, 'Tab');
  }
  // The command, with a built-in variable taken from the completion list.
  await page.click('[data-testid=prop-command]');
  await page.keyboard.type('echo drawn by ${LWAMS_INITIATOR_NA');
  await page.waitForSelector('[data-testid=complete-command] li');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('[data-testid=prop-command]')?.value === 'echo drawn by ${LWAMS_INITIATOR_NAME}');
  // Connect the start event to the step: the palette's connect tool, dragged from one
  // to the other.
  const stepBox = await page.locator(`[data-testid=modeler] .djs-element[data-element-id="${step}"]`).boundingBox();
  await page.click('.djs-palette .entry[data-action=global-connect-tool]');
  await page.mouse.move(startBox.x + startBox.width / 2, startBox.y + startBox.height / 2);
  await page.mouse.down();
  await page.mouse.move(stepBox.x + stepBox.width / 2, stepBox.y + stepBox.height / 2, { steps: 12 });
  await page.mouse.up();
  await page.waitForSelector('[data-testid=modeler] .djs-connection', { state: 'attached' });
  // Append a user task from the step's context pad (LWAMS kinds, searchable), then an end.
  await selectOnCanvas(page, step);
  await page.click('.djs-context-pad .entry[data-action=lwams-append]');
  await page.waitForSelector('.djs-popup [data-id="lwams-append.userTask"]');
  await page.click('.djs-popup [data-id="lwams-append.userTask"]');
  await page.waitForFunction((s) => {
    const id = document.querySelector('[data-testid=prop-id]')?.textContent;
    return id && id !== s;
  }, step);
  const approve = await page.textContent('[data-testid=prop-id]');
  await page.fill('[data-testid=prop-name]', 'Approve');
  await page.press('[data-testid=prop-name]', 'Tab');
  await selectOnCanvas(page, approve);
  await page.click('.djs-context-pad .entry[data-action="append.end-event"]');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=modeler] .djs-connection').length >= 3);
  await page.waitForFunction(() => !document.querySelector('[data-testid=missing-parameters]'));
  await page.screenshot({ path: join(artifacts, 'designer-drawn-1440.png'), fullPage: true });

  // Deploy: the basic data names the new flow; then its draft is gone and it is listed.
  await page.click('[data-testid=deploy]');
  await page.fill('[data-testid=basic-data] input[name=key]', 'drawn-flow');
  await page.fill('[data-testid=basic-data] input[name=name]', 'Drawn flow');
  await page.fill('[data-testid=basic-data] input[name=group]', 'e2e');
  await page.click('[data-testid=confirm-deploy]');
  await page.waitForSelector('[data-testid=designer-message]:has-text("drawn-flow v1")');
  await page.waitForURL(/key=drawn-flow/);

  // A draft of it, reloaded: the properties are back.
  await page.waitForSelector(`[data-testid=modeler] .djs-element[data-element-id="${step}"]`);
  await page.click(`[data-testid=modeler] .djs-element[data-element-id="${step}"]`);
  await page.waitForSelector(`[data-testid=prop-id]:has-text("${step}")`);
  await page.fill('[data-testid=prop-workDir]', '/tmp');
  await page.press('[data-testid=prop-workDir]', 'Tab');
  await page.click('[data-testid=save-draft]');
  await page.waitForSelector('[data-testid=designer-message]:has-text("raft"), [data-testid=designer-message]:has-text("草稿")');
  await page.reload();
  await page.click('[data-testid=open-draft]');
  await page.click(`[data-testid=modeler] .djs-element[data-element-id="${step}"]`);
  await page.waitForSelector(`[data-testid=prop-id]:has-text("${step}")`);
  assert.equal(await page.inputValue('[data-testid=prop-workDir]'), '/tmp');
  assert.equal(await page.inputValue('[data-testid=prop-command]'), 'echo drawn by ${LWAMS_INITIATOR_NAME}');
  assert.equal(await page.inputValue('[data-testid=prop-terminalUser]'), SSH_USER);

  // The list shows its group and the waiting draft; started from there, it runs the
  // step on the terminal and waits for the approval. (The opened draft counts as
  // unsaved: leaving asks, and "yes" leaves.)
  page.once('dialog', (d) => d.accept());
  await page.click('[data-function=flow_editor]');
  await page.waitForSelector('[data-testid=flows-table] tr[data-flow=drawn-flow] [data-testid=draft-badge]');
  assert.match(await page.textContent('[data-testid=flows-table] tr[data-flow=drawn-flow]'), /e2e/);
  await page.click('[data-testid=flows-table] tr[data-flow=drawn-flow] [data-testid=start-now]');
  await page.waitForSelector(`[data-testid=diagram] .djs-element.lw-node-active[data-element-id="${approve}"]`, { timeout: 20000 });
  await page.screenshot({ path: join(artifacts, 'designer-drawn-monitor-1440.png'), fullPage: true });
  await page.click(`[data-testid=diagram] [data-element-id="${step}"]`);
  await page.waitForSelector('[data-testid=node-panel] [data-testid=stdout]:has-text("drawn by Administrator")', { timeout: 20000 });

  // RPA: a Python robot from the script library runs on the agent's machine; the files
  // it leaves come back, listed in the step's panel with download links.
  await page.click('[data-function=resource_scripts]');
  await page.click('[data-testid=new-script]');
  const editor = '[data-testid=script-editor]';
  await page.fill(`${editor} input[name=name]`, 'robot');
  await page.selectOption(`${editor} select[name=kind]`, 'python');
  await page.fill(`${editor} textarea[name=body]`, "import os\nos.makedirs('shots', exist_ok=True)\nopen('shots/report.txt', 'w').write('checked by robot')\nprint('robot done')");
  await page.click('[data-testid=save-script]');
  await page.waitForSelector('tr[data-script=robot]');
  writeFileSync(join(dir, 'robot.bpmn'), RPA_FLOW);
  await page.click('[data-function=flow_editor]');
  await page.setInputFiles('[data-testid=import-bpmn]', join(dir, 'robot.bpmn'));
  await page.waitForSelector('[data-testid=deployed]');
  await page.click('[data-testid=flows-table] tr[data-flow=robot-on-edge] [data-testid=start-now]');
  await page.waitForSelector('[data-testid=instance-detail][data-status=completed]', { timeout: 30000 });
  await page.click('[data-testid=diagram] [data-element-id=robot]');
  await page.waitForSelector('[data-testid=node-artifacts] li[data-artifact="shots/report.txt"] a');
  const [report] = await Promise.all([
    page.waitForEvent('download'),
    page.click('[data-testid=node-artifacts] li[data-artifact="shots/report.txt"] a'),
  ]);
  assert.equal(readFileSync(await report.path(), 'utf8'), 'checked by robot');
  await page.screenshot({ path: join(artifacts, 'rpa-monitor-1440.png'), fullPage: true });

  const phone = await ctx.newPage();
  await phone.setViewportSize({ width: 375, height: 800 });
  await phone.goto(`${env.server.url}/system/hosts`);
  await phone.waitForSelector('[data-testid=hosts-table] tr[data-host=edge-1] [data-state=connected]');
  await phone.click('[data-testid=hosts-table] tr[data-host=edge-1]');
  await phone.waitForSelector('[data-testid=host-facts]');
  await phone.screenshot({ path: join(artifacts, 'hosts-375.png'), fullPage: true });
  await ctx.close();
});
