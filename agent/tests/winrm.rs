//! The WinRM executor against a WinRM server on loopback that speaks the real protocol
//! (`support/fake_winrm.rs`; no Windows machine can run here). The fake is first proven
//! faithful by driving it with pywinrm, a real WinRM client (installed from PyPI by
//! `scripts/setup.sh --test`), then LWAMS's own client runs commands through it.

#[path = "support/fake_winrm.rs"]
#[allow(dead_code)]
mod fake_winrm;

use agent::executors::local::ignore_output;
use agent::executors::script::{self, ScriptError};
use agent::executors::winrm::{self, WinrmError, WinrmTarget};
use base64::Engine;
use shared::agent::{CommandResult, FailureCode};
use shared::dto::script::ScriptKind;
use std::time::Duration;

const USER: &str = "ops";
const PASSWORD: &str = "Winrm-pass-1";

/// pywinrm's own session API and its low-level protocol: commands, exit codes, stderr,
/// PowerShell (encoded), a working directory, a Receive that times out on the server
/// (the client asks again), standard input sent in two pieces and closed, closing the
/// shell (RelatesTo checked), a wrong password.
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
cmd = p.run_command(shell, 'tr a-z A-Z', console_mode_stdin=False)
p.send_command_input(shell, cmd, b'fed ')
p.send_command_input(shell, cmd, b'stdin\n', end=True)
out, err, code = p.get_command_output(shell, cmd)
assert (out, code) == (b'FED STDIN\n', 0), (out, err, code)
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
cmd = p.run_command(shell, 'cat', console_mode_stdin=False)
p.send_command_input(shell, cmd, b'sealed input', end=True)
out, err, code = p.get_command_output(shell, cmd)
assert (out, code) == (b'sealed input', 0), (out, err, code)
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

/// A target on the fake; the Basic fake is plain HTTP, so these tests of the protocol
/// allow Basic over HTTP explicitly (what a terminal's flag does).
fn target(endpoint: &str, username: &str, password: &str) -> WinrmTarget {
    WinrmTarget {
        endpoint: endpoint.to_string(),
        username: username.into(),
        password: password.into(),
        verify_tls: true,
        allow_basic_http: true,
    }
}

#[tokio::test]
async fn a_terminal_offering_only_basic_over_plain_http_never_gets_the_password_unless_allowed() {
    let fake = fake_winrm::start(USER, PASSWORD).await;
    assert!(fake.endpoint.starts_with("http://"));
    let t = WinrmTarget {
        allow_basic_http: false,
        ..target(&fake.endpoint, USER, PASSWORD)
    };
    let e = run(&t, "echo x", None, 10).await.unwrap_err();
    assert!(matches!(e, WinrmError::BasicOverHttp(_)), "{e}");
    let message = e.to_string();
    assert!(
        message.contains("only Basic") && message.contains("allow Basic over HTTP"),
        "{message}"
    );
    assert_eq!(e.code(), FailureCode::Other);
    assert_eq!(
        fake.basic_credentials_seen(),
        0,
        "the password never went out"
    );
    assert_eq!(fake.shells_created(), 0);
    // Allowed on the terminal: it runs.
    let r = run(&target(&fake.endpoint, USER, PASSWORD), "echo x", None, 10)
        .await
        .unwrap();
    assert_eq!(r.stdout, "x\n");
    assert!(fake.basic_credentials_seen() > 0);
}

/// Runs a command fed `input` with LWAMS's client.
async fn fed(t: &WinrmTarget, command: &str, input: &[u8]) -> CommandResult {
    winrm::run_fed(
        t,
        command,
        Some(input),
        None,
        Duration::from_secs(20),
        std::future::pending(),
        &ignore_output,
    )
    .await
    .unwrap()
}

/// Every type of library script that runs as a command (all but SQL).
fn command_kinds() -> impl Iterator<Item = ScriptKind> {
    ScriptKind::ALL
        .into_iter()
        .filter(|k| *k != ScriptKind::Sql)
}

/// Runs a library script on the terminal.
async fn script_on(
    t: &WinrmTarget,
    kind: ScriptKind,
    name: &str,
    body: &str,
    work_dir: Option<&str>,
) -> Result<CommandResult, ScriptError> {
    script_with(t, kind, name, body, &[], work_dir).await
}

/// Runs a library script reading `values` on the terminal.
async fn script_with(
    t: &WinrmTarget,
    kind: ScriptKind,
    name: &str,
    body: &str,
    values: &[String],
    work_dir: Option<&str>,
) -> Result<CommandResult, ScriptError> {
    script::run_winrm(
        t,
        kind,
        name,
        body,
        values,
        work_dir,
        Duration::from_secs(20),
        std::future::pending(),
        &ignore_output,
    )
    .await
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

#[tokio::test]
async fn standard_input_is_sent_in_pieces_and_closed() {
    let fake = fake_winrm::start(USER, PASSWORD).await;
    let t = target(&fake.endpoint, USER, PASSWORD);
    // 200,000 bytes: five Sends, the last one ending the stream.
    let big: Vec<u8> = (0..200_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let r = fed(&t, "wc -c", &big).await;
    assert_eq!((r.exit_code, r.stdout.trim()), (Some(0), "200000"), "{r:?}");
    let r = fed(&t, "cat", "ünï\r\n<&>".as_bytes()).await;
    assert_eq!(r.stdout, "ünï\r\n<&>");
    let r = fed(&t, "wc -c", b"").await;
    assert_eq!(r.stdout.trim(), "0", "an empty input is closed at once");

    let seen = fake.commands_seen();
    assert_eq!(seen[0].stdin, big);
    assert!(seen.iter().all(|c| c.stdin_closed && !c.console_mode_stdin));
    run(&t, "echo plain", None, 20).await.unwrap();
    let plain = fake.commands_seen().pop().unwrap();
    assert!(plain.console_mode_stdin && plain.stdin.is_empty() && !plain.stdin_closed);
    assert_eq!(fake.open_shells(), 0);
}

#[tokio::test]
async fn standard_input_is_sealed_over_ntlm() {
    let fake = fake_winrm::start_negotiate(DOMAIN_USER, PASSWORD).await;
    let t = target(&fake.endpoint, DOMAIN_USER, PASSWORD);
    let r = fed(&t, "tr a-z A-Z", b"sealed stdin").await;
    assert_eq!(r.stdout, "SEALED STDIN");
    // Create, Command, Send, Receive…, Signal, Delete.
    assert!(fake.sealed_messages() >= 6, "{}", fake.sealed_messages());
}

/// What a Windows machine is asked to run for a library script: the launcher as
/// `powershell -EncodedCommand`, and the body, base64, on standard input — exactly the
/// bytes the script's interpreter should find in its file. (The fake cannot run
/// PowerShell: it emulates the launcher's effect, whose text is checked in `script.rs`
/// and its syntax below.)
#[tokio::test]
async fn library_scripts_of_every_type_reach_windows_as_the_launcher_and_their_body() {
    let fake = fake_winrm::start(USER, PASSWORD).await;
    let t = target(&fake.endpoint, USER, PASSWORD);
    let body = "@echo off\necho ünï & exit /b 3";
    let b64 = base64::engine::general_purpose::STANDARD;
    for kind in command_kinds() {
        script_on(&t, kind, "nightly report", body, Some("/tmp"))
            .await
            .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        let seen = fake.commands_seen().pop().unwrap();
        assert_eq!(
            seen.script,
            script::windows_launcher(kind, "nightly report").unwrap(),
            "{kind:?}"
        );
        assert!(seen.stdin_closed && !seen.console_mode_stdin, "{kind:?}");
        // Standard input: no values (a count of 0), then the body.
        let stdin = String::from_utf8(seen.stdin).unwrap();
        let (count, body_b64) = stdin.split_once('\n').unwrap();
        assert_eq!(count, "0", "{kind:?}");
        let text: String = body_b64.split_whitespace().collect();
        let saved = b64.decode(text).unwrap();
        let expected: Vec<u8> = match kind {
            ScriptKind::Bat => "@echo off\r\necho ünï & exit /b 3\r\n".into(),
            ScriptKind::Vbs => [0xFF, 0xFE]
                .into_iter()
                .chain(
                    "@echo off\r\necho ünï & exit /b 3\r\n"
                        .encode_utf16()
                        .flat_map(u16::to_le_bytes),
                )
                .collect(),
            ScriptKind::Powershell => "\u{feff}@echo off\necho ünï & exit /b 3\n".into(),
            _ => "@echo off\necho ünï & exit /b 3\n".into(),
        };
        assert_eq!(saved, expected, "{kind:?}");
    }
    // The fake emulates the launcher's effect (the saved file run by sh): output, exit
    // code and the shell's working directory come back.
    let dir = tempfile::tempdir().unwrap();
    let r = script_on(
        &t,
        ScriptKind::Powershell,
        "probe",
        "echo ünï; pwd; exit 3",
        Some(&dir.path().to_string_lossy()),
    )
    .await
    .unwrap();
    assert_eq!(r.exit_code, Some(3), "{r:?}");
    assert_eq!(
        r.stdout,
        format!("ünï\n{}\n", dir.path().display()),
        "{r:?}"
    );
    assert_eq!(fake.open_shells(), 0);

    let e = script_on(&t, ScriptKind::Sql, "q", "select 1", None)
        .await
        .unwrap_err();
    assert!(matches!(e, ScriptError::NotACommand(_)), "{e}");
    assert_eq!(fake.shells_created(), 8, "nothing is sent for a SQL script");
}

/// Values reach a Windows terminal through the launcher's standard input (base64, one
/// a line, before the body) and the program's environment — never the command line,
/// which carries only the launcher. The fake runs the script by sh, and an inline
/// command with cmd's delayed expansion emulated (`!LWAMS_V_1!` read as data).
#[tokio::test]
async fn values_reach_windows_through_standard_input_never_the_command_line() {
    let fake = fake_winrm::start_negotiate(DOMAIN_USER, PASSWORD).await;
    let t = target(&fake.endpoint, DOMAIN_USER, PASSWORD);
    let values: Vec<String> = vec![
        "$(id) `id` '; id; ' \" & calc & \" %PATH% $env:PATH !PATH!".into(),
        "line\nbreak\n".into(),
        String::new(),
        "中文 ünï 😀".into(),
        "x".repeat(10 * 1024),
    ];
    let expected: String = values.iter().map(|v| format!("{v}\u{1f}")).collect();
    let printf = (1..=values.len())
        .map(|i| format!("\"$LWAMS_V_{i}\""))
        .collect::<Vec<_>>()
        .join(" ");
    let r = script_with(
        &t,
        ScriptKind::Powershell,
        "values",
        &format!("printf '%s\\037' {printf}"),
        &values,
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        (r.exit_code, r.stdout.as_str()),
        (Some(0), expected.as_str()),
        "{r:?}"
    );
    let cmd_refs = (1..=values.len())
        .map(|i| format!("!LWAMS_V_{i}!"))
        .collect::<Vec<_>>()
        .join(" ");
    let r = script::run_winrm_command(
        &t,
        &format!("printf '%s\\037' {cmd_refs}"),
        &values,
        None,
        Duration::from_secs(20),
        std::future::pending(),
        &ignore_output,
    )
    .await
    .unwrap();
    assert_eq!(
        (r.exit_code, r.stdout.as_str()),
        (Some(0), expected.as_str()),
        "{r:?}"
    );
    let b64 = base64::engine::general_purpose::STANDARD;
    for seen in fake.commands_seen() {
        assert!(!seen.script.contains("calc"), "{}", seen.script);
        let stdin = String::from_utf8(seen.stdin).unwrap();
        let lines: Vec<&str> = stdin.lines().collect();
        assert_eq!(lines[0], values.len().to_string());
        for (i, v) in values.iter().enumerate() {
            assert_eq!(b64.decode(lines[i + 1]).unwrap(), v.as_bytes());
        }
    }
    assert!(fake.commands_seen()[1]
        .script
        .contains("'/d /s /v:on /c \"' + [Text.Encoding]::UTF8.GetString($b) + '\"'"));
    assert_eq!(fake.open_shells(), 0);
}

/// Parses each file given as PowerShell (tree-sitter's grammar) and prints `syntax-ok`
/// or where the first error is.
const POWERSHELL_SYNTAX_CHECK: &str = r#"
import sys, tree_sitter, tree_sitter_powershell as grammar
parser = tree_sitter.Parser(tree_sitter.Language(grammar.language()))
def first_error(node):
    if node.type == 'ERROR' or node.is_missing:
        return node
    for child in node.children:
        found = first_error(child)
        if found:
            return found
for path in sys.argv[1:]:
    text = open(path, 'rb').read()
    bad = first_error(parser.parse(text).root_node)
    if bad:
        raise SystemExit(f'{path}: line {bad.start_point[0] + 1}: {text[bad.start_byte:bad.end_byte][:60]!r}')
print('syntax-ok')
"#;

/// No PowerShell runs here, so the launcher's syntax is checked by a PowerShell parser
/// (and the check is shown to catch a broken script).
#[test]
fn the_windows_launcher_is_valid_powershell_for_every_type() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for kind in command_kinds() {
        let path = dir.path().join(format!("{kind:?}.ps1"));
        std::fs::write(
            &path,
            script::windows_launcher(kind, "nightly report").unwrap(),
        )
        .unwrap();
        files.push(path);
    }
    let path = dir.path().join("command.ps1");
    std::fs::write(&path, script::windows_command_launcher()).unwrap();
    files.push(path);
    let check = |files: &[std::path::PathBuf]| {
        std::process::Command::new("python3")
            .arg("-c")
            .arg(POWERSHELL_SYNTAX_CHECK)
            .args(files)
            .output()
            .expect("python3 runs (scripts/setup.sh --test installs tree-sitter-powershell)")
    };
    let out = check(&files);
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("syntax-ok"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let broken = dir.path().join("broken.ps1");
    let launcher = script::windows_launcher(ScriptKind::Bat, "x").unwrap();
    std::fs::write(&broken, launcher.replace("} finally {", "} finally")).unwrap();
    let out = check(&[broken]);
    assert!(!out.status.success(), "a broken script is caught");
}

/// Prints, for each file given, how many `variable` nodes a PowerShell parser
/// (tree-sitter's grammar) finds whose text is `${env:LWAMS_V_1}`, and whether the file
/// parsed without error.
const POWERSHELL_VARIABLES: &str = r#"
import sys, tree_sitter, tree_sitter_powershell as grammar
parser = tree_sitter.Parser(tree_sitter.Language(grammar.language()))
def walk(node, text):
    n = 1 if node.type == 'variable' and text[node.start_byte:node.end_byte] == b'${env:LWAMS_V_1}' else 0
    bad = node.type == 'ERROR' or node.is_missing
    for child in node.children:
        m, b = walk(child, text)
        n, bad = n + m, bad or b
    return n, bad
for path in sys.argv[1:]:
    text = open(path, 'rb').read()
    n, bad = walk(parser.parse(text).root_node, text)
    print(n, 'error' if bad else 'ok')
"#;

/// PowerShell cannot run here: the code `shared::vars::data` writes is read by a
/// PowerShell parser, where each reference must be a variable (in code, in "…", in a
/// subexpression, in an expandable here-string) — never text the value could end.
#[test]
fn powershell_references_are_variables_for_a_powershell_parser() {
    use shared::vars::data::{bind, Lang};
    let dir = tempfile::tempdir().unwrap();
    let templates = [
        "Write-Output ${v}",
        "Write-Output \"a ${v} b\" ${v}",
        "$x = \"$(${v}.Length) ${v}x\"",
        "$h = @\"\nit's ${v}\n\"@\nWrite-Output $h",
        "if (${v} -eq 'x') { Write-Output 'it''s' ${v} }",
    ];
    let mut files = Vec::new();
    let mut counts = Vec::new();
    for (i, t) in templates.iter().enumerate() {
        let b = bind(t, Lang::Powershell, |_| Some("'; calc; \"$(calc)".into())).unwrap();
        assert!(!b.text.contains("calc"), "{}", b.text);
        let path = dir.path().join(format!("{i}.ps1"));
        std::fs::write(&path, &b.text).unwrap();
        files.push(path);
        counts.push(t.matches("${v}").count());
    }
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(POWERSHELL_VARIABLES)
        .args(&files)
        .output()
        .expect("python3 runs (scripts/setup.sh --test installs tree-sitter-powershell)");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        templates.len(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for ((line, n), t) in lines.iter().zip(counts).zip(templates) {
        assert_eq!(*line, format!("{n} ok"), "{t}");
    }
}
