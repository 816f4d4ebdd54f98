// System › Hosts with a real Sub Manager and a real sshd: add a host, download its
// package, start the agent from it and see the host turn green with its facts; add the
// test sshd as a terminal with an account, test the connection, then run a flow that
// runs `uname -a` there and read the output in the monitor.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useServerAndBrowser, signIn, artifacts, ADMIN_PASSWORD } from './harness.mjs';
import { startSshd, SSH_USER, SSH_PASSWORD } from './sshd.mjs';

const env = useServerAndBrowser();
const stops = [];
after(() => stops.forEach((stop) => stop()));

const FLOW = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
    xmlns:lwams="http://lwams.io/schema/bpmn/1.0" id="d" targetNamespace="http://lwams.io/e2e">
  <bpmn:process id="uname-on-edge" name="uname on the edge terminal" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:serviceTask id="uname" name="uname -a" lwams:kind="remoteCommand" lwams:host="edge-1"
        lwams:terminal="sshd" lwams:terminalUser="${SSH_USER}" lwams:command="uname -a" lwams:timeout="30"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="uname"/>
    <bpmn:sequenceFlow id="f2" sourceRef="uname" targetRef="end"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="dia">
    <bpmndi:BPMNPlane id="plane" bpmnElement="uname-on-edge">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="100" y="100" width="36" height="36"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="uname_di" bpmnElement="uname"><dc:Bounds x="200" y="78" width="100" height="80"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_di" bpmnElement="end"><dc:Bounds x="360" y="100" width="36" height="36"/></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1"><di:waypoint x="136" y="118"/><di:waypoint x="200" y="118"/></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f2_di" bpmnElement="f2"><di:waypoint x="300" y="118"/><di:waypoint x="360" y="118"/></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>`;

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

  const phone = await ctx.newPage();
  await phone.setViewportSize({ width: 375, height: 800 });
  await phone.goto(`${env.server.url}/system/hosts`);
  await phone.waitForSelector('[data-testid=hosts-table] tr[data-host=edge-1] [data-state=connected]');
  await phone.click('[data-testid=hosts-table] tr[data-host=edge-1]');
  await phone.waitForSelector('[data-testid=host-facts]');
  await phone.screenshot({ path: join(artifacts, 'hosts-375.png'), fullPage: true });
  await ctx.close();
});
