// A real OpenSSH sshd on a loopback port for the end-to-end tests: its own host key
// and config in a temporary folder and a test account with a known password (the
// same set-up as server/tests/common/sshd.rs).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer } from 'node:net';

export const SSH_USER = 'lwams-ssh-test';
export const SSH_PASSWORD = 'Ssh-test-pw-1';

export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => ok(p)); });
    s.on('error', fail);
  });
}

function listening(port) {
  return new Promise((ok) => {
    const c = connect(port, '127.0.0.1', () => { c.destroy(); ok(true); });
    c.on('error', () => ok(false));
  });
}

export async function startSshd() {
  if (!existsSync('/usr/sbin/sshd')) throw new Error('sshd missing: scripts/setup.sh --test installs openssh-server');
  const dir = mkdtempSync(join(tmpdir(), 'lwams-sshd-'));
  try { execFileSync('id', [SSH_USER], { stdio: 'ignore' }); } catch {
    execFileSync('useradd', ['--create-home', '--shell', '/bin/sh', SSH_USER]);
  }
  execFileSync('chpasswd', { input: `${SSH_USER}:${SSH_PASSWORD}\n` });
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
  mkdirSync('/run/sshd', { recursive: true });
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  writeFileSync(config, [
    `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host_key')}`,
    `PidFile ${join(dir, 'sshd.pid')}`, 'PasswordAuthentication yes', 'KbdInteractiveAuthentication no',
    'UsePAM no', 'StrictModes no', 'PermitRootLogin no', `AllowUsers ${SSH_USER}`, 'LogLevel ERROR', '',
  ].join('\n'));
  const proc = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !(await listening(port)); i++) await new Promise((r) => setTimeout(r, 100));
  return { port, stop: () => proc.kill('SIGTERM') };
}
