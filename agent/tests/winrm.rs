//! The WinRM executor against a WinRM server on loopback that speaks the real protocol
//! (`support/fake_winrm.rs`; no Windows machine can run here). The fake is first proven
//! faithful by driving it with pywinrm, a real WinRM client (installed from PyPI by
//! `scripts/setup.sh --test`), then LWAMS's own client runs commands through it.

#[path = "support/fake_winrm.rs"]
#[allow(dead_code)]
mod fake_winrm;

use agent::executors::local::ignore_output;
use agent::executors::winrm::{self, WinrmError, WinrmTarget};
use shared::agent::CommandResult;
use std::time::Duration;

const USER: &str = "ops";
const PASSWORD: &str = "Winrm-pass-1";

/// pywinrm's own session API and its low-level protocol: commands, exit codes, stderr,
/// PowerShell (encoded), a working directory, a Receive that times out on the server
/// (the client asks again), closing the shell (RelatesTo checked), a wrong password.
const PYWINRM_CHECK: &str = r#"
import sys, winrm
from winrm.exceptions import InvalidCredentialsError
url, user, password = sys.argv[1:4]
s = winrm.Session(url, auth=(user, password), transport='basic')
r = s.run_cmd('echo', ['hello', 'world'])
assert r.status_code == 0 and r.std_out == b'hello world\n', r
r = s.run_cmd('echo oops >&2; exit 3')
assert r.status_code == 3 and r.std_err == b'oops\n', r
r = s.run_ps('echo ps-ok')
assert r.status_code == 0 and r.std_out == b'ps-ok\n', r
p = winrm.Protocol(endpoint=url, transport='basic', username=user, password=password,
                   operation_timeout_sec=1, read_timeout_sec=5)
shell = p.open_shell(working_directory='/tmp')
cmd = p.run_command(shell, 'sleep 2; pwd')
out, err, code = p.get_command_output(shell, cmd)
assert (out, code) == (b'/tmp\n', 0), (out, err, code)
p.cleanup_command(shell, cmd)
p.close_shell(shell)
try:
    winrm.Session(url, auth=(user, 'wrong'), transport='basic').run_cmd('echo')
    raise SystemExit('a wrong password was accepted')
except InvalidCredentialsError:
    pass
print('pywinrm-ok')
"#;

#[tokio::test]
async fn the_fake_winrm_server_satisfies_pywinrm() {
    let fake = fake_winrm::start(USER, PASSWORD).await;
    pywinrm_passes(PYWINRM_CHECK, "pywinrm-ok", &fake, USER).await;
    assert!(fake.shells_created() >= 4);
}

const DOMAIN_USER: &str = r"CORP\ops";

/// pywinrm over NTLM (requests-ntlm, pyspnego) with message encryption, as against a
/// Windows server with its default WinRM set-up: commands, PowerShell, a wrong
/// password refused, and unencrypted envelopes refused.
const PYWINRM_NTLM_CHECK: &str = r#"
import sys, winrm
from winrm.exceptions import InvalidCredentialsError, WinRMTransportError
url, user, password = sys.argv[1:4]
s = winrm.Session(url, auth=(user, password), transport='ntlm', message_encryption='always')
r = s.run_cmd('echo', ['sealed', 'hello'])
assert r.status_code == 0 and r.std_out == b'sealed hello\n', r
r = s.run_cmd('echo oops >&2; exit 4')
assert r.status_code == 4 and r.std_err == b'oops\n', r
r = s.run_ps('echo ps-sealed')
assert r.std_out == b'ps-sealed\n', r
p = winrm.Protocol(endpoint=url, transport='ntlm', username=user, password=password,
                   message_encryption='always', operation_timeout_sec=1, read_timeout_sec=5)
shell = p.open_shell()
cmd = p.run_command(shell, 'sleep 2; echo after-timeout')
out, err, code = p.get_command_output(shell, cmd)
assert (out, code) == (b'after-timeout\n', 0), (out, err, code)
p.cleanup_command(shell, cmd)
p.close_shell(shell)
try:
    winrm.Session(url, auth=(user, 'wrong'), transport='ntlm', message_encryption='always').run_cmd('echo')
    raise SystemExit('a wrong password was accepted')
except InvalidCredentialsError:
    pass
try:
    winrm.Session(url, auth=(user, password), transport='ntlm', message_encryption='never').run_cmd('echo')
    raise SystemExit('an unencrypted envelope was accepted')
except WinRMTransportError as e:
    assert e.code == 400, e
print('pywinrm-ntlm-ok')
"#;

/// Runs a pywinrm script against the fake as `user` and checks it printed `passed` and
/// left no shell open.
async fn pywinrm_passes(script: &str, passed: &str, fake: &fake_winrm::FakeWinrm, user: &str) {
    let out = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&fake.endpoint)
        .arg(user)
        .arg(PASSWORD)
        .output()
        .await
        .expect("python3 runs (scripts/setup.sh --test installs pywinrm)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains(passed),
        "pywinrm against the fake: {stdout}\n{stderr}"
    );
    assert_eq!(
        fake.open_shells(),
        0,
        "pywinrm closed every shell it opened"
    );
}

#[tokio::test]
async fn the_fake_negotiate_server_satisfies_pywinrm_over_sealed_ntlm() {
    let fake = fake_winrm::start_negotiate(DOMAIN_USER, PASSWORD).await;
    pywinrm_passes(PYWINRM_NTLM_CHECK, "pywinrm-ntlm-ok", &fake, DOMAIN_USER).await;
    assert!(fake.sealed_messages() >= 12, "{}", fake.sealed_messages());
}

#[tokio::test]
async fn commands_run_over_ntlm_with_every_message_sealed() {
    let fake = fake_winrm::start_negotiate(DOMAIN_USER, PASSWORD).await;
    let t = target(&fake.endpoint, DOMAIN_USER, PASSWORD);
    let r = run(&t, "echo sealed; echo err >&2; exit 6", None, 20)
        .await
        .unwrap();
    assert_eq!(
        (r.exit_code, r.stdout.as_str(), r.stderr.as_str()),
        (Some(6), "sealed\n", "err\n")
    );
    // Create, Command, Receive…, Signal, Delete: all sealed.
    assert!(fake.sealed_messages() >= 5, "{}", fake.sealed_messages());

    // Timed out mid-Receive: the dropped connection is authenticated again to clean up.
    let e = run(&t, "sleep 30", None, 1).await.unwrap_err();
    assert!(matches!(e, WinrmError::Timeout(_)), "{e}");
    assert_eq!(
        fake.open_shells(),
        0,
        "the timed-out command's shell is deleted"
    );

    let wrong = target(&fake.endpoint, DOMAIN_USER, "wrong");
    let e = run(&wrong, "echo x", None, 10).await.unwrap_err();
    assert!(matches!(e, WinrmError::AuthFailed(_)), "{e}");
    let other_domain = target(&fake.endpoint, r"ELSEWHERE\ops", PASSWORD);
    let e = run(&other_domain, "echo x", None, 10).await.unwrap_err();
    assert!(matches!(e, WinrmError::AuthFailed(_)), "{e}");
    assert_eq!(fake.shells_created(), 2);
}

/// Runs a command with LWAMS's client until it ends or `secs` pass.
async fn run(
    t: &WinrmTarget,
    command: &str,
    work_dir: Option<&str>,
    secs: u64,
) -> Result<CommandResult, WinrmError> {
    winrm::run(
        t,
        command,
        work_dir,
        Duration::from_secs(secs),
        std::future::pending(),
        &ignore_output,
    )
    .await
}

fn target(endpoint: &str, username: &str, password: &str) -> WinrmTarget {
    WinrmTarget {
        endpoint: endpoint.to_string(),
        username: username.into(),
        password: password.into(),
        verify_tls: true,
    }
}

#[tokio::test]
async fn commands_run_over_winrm_with_output_exit_code_and_work_dir() {
    let fake = fake_winrm::start(USER, PASSWORD).await;
    let t = target(&fake.endpoint, USER, PASSWORD);
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        &t,
        "echo out; echo err >&2; pwd; exit 5",
        Some(&dir.path().to_string_lossy()),
        20,
    )
    .await
    .unwrap();
    assert_eq!(r.exit_code, Some(5), "{r:?}");
    let mut lines = r.stdout.lines();
    assert_eq!(lines.next(), Some("out"));
    assert_eq!(lines.next(), Some(dir.path().to_str().unwrap()));
    assert_eq!(r.stderr, "err\n");

    // PowerShell goes as -EncodedCommand (the fake runs the decoded script).
    let r = run(
        &t,
        &winrm::powershell_command("echo 'ünïcode & <xml>'"),
        None,
        20,
    )
    .await
    .unwrap();
    assert_eq!(r.stdout, "ünïcode & <xml>\n", "{r:?}");

    // Output that comes after a Receive timed out on the server still arrives.
    let r = run(&t, "sleep 6; echo late", None, 30).await.unwrap();
    assert_eq!(r.stdout, "late\n");
    assert_eq!(fake.open_shells(), 0, "every shell is deleted");
}

#[tokio::test]
async fn winrm_failures_are_named_and_leave_no_shell() {
    let fake = fake_winrm::start(USER, PASSWORD).await;
    let e = run(&target(&fake.endpoint, USER, "wrong"), "echo x", None, 10)
        .await
        .unwrap_err();
    assert!(matches!(e, WinrmError::AuthFailed(_)), "{e}");

    let started = std::time::Instant::now();
    let e = run(&target(&fake.endpoint, USER, PASSWORD), "sleep 30", None, 1)
        .await
        .unwrap_err();
    assert!(matches!(e, WinrmError::Timeout(_)), "{e}");
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(
        fake.open_shells(),
        0,
        "the timed-out command's shell is deleted"
    );

    let e = winrm::run(
        &target(&fake.endpoint, USER, PASSWORD),
        "sleep 30",
        None,
        Duration::from_secs(30),
        tokio::time::sleep(Duration::from_millis(300)),
        &ignore_output,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, WinrmError::Cancelled), "{e}");
    assert_eq!(fake.open_shells(), 0);

    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = run(
        &target(&format!("http://127.0.0.1:{closed}/wsman"), USER, PASSWORD),
        "echo x",
        None,
        10,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, WinrmError::Unreachable(..)), "{e}");

    let long = "x".repeat(9000);
    let e = run(&target(&fake.endpoint, USER, PASSWORD), &long, None, 10)
        .await
        .unwrap_err();
    assert!(matches!(e, WinrmError::TooLong(9000)), "{e}");
    assert_eq!(
        fake.shells_created(),
        2,
        "the timed-out and the cancelled command"
    );
}
