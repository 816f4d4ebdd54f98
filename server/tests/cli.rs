//! The `lwams` binary as an operator runs it: `--help`, `admin create-user`, and
//! `serve` answering /healthz with the first admin able to sign in.

use std::process::Command;

fn lwams() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lwams"))
}

#[test]
fn help_lists_the_commands() {
    let out = lwams().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("serve") && text.contains("admin"), "{text}");
}

#[test]
fn create_user_bootstraps_an_empty_database_then_adds_users() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        lwams()
            .env("LWAMS_DATA_DIR", dir.path())
            .env_remove("DATABASE_URL")
            .args(["admin", "create-user"])
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["--login", "ops", "--password", "ops-password-1"]);
    assert!(!out.status.success(), "a non-admin first user is refused");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--admin"));
    let out = run(&[
        "--login",
        "root-ops",
        "--password",
        "ops-password-1",
        "--admin",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["--login", "ops", "--password", "ops-password-1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["--login", "ops", "--password", "ops-password-1"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    let out = run(&["--login", "weak", "--password", "short"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("password"));
}

#[test]
fn serve_prints_the_generated_admin_password_once_and_answers_healthz() {
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let start = || {
        lwams()
            .env("LWAMS_DATA_DIR", dir.path())
            .env("LWAMS_LISTEN", format!("127.0.0.1:{port}"))
            .env_remove("DATABASE_URL")
            .env_remove("LWAMS_ADMIN_PASSWORD")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let wait_healthy = || {
        for _ in 0..200 {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                use std::io::{Read, Write};
                let _ = s.write_all(b"GET /healthz HTTP/1.0\r\n\r\n");
                let mut buf = String::new();
                let _ = s.read_to_string(&mut buf);
                if buf.starts_with("HTTP/1.0 200") || buf.starts_with("HTTP/1.1 200") {
                    return true;
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        false
    };
    let stop = |child: std::process::Child| -> String {
        unsafe_kill(child.id());
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let child = start();
    assert!(wait_healthy(), "healthz answers");
    let first = stop(child);
    assert!(
        first.contains("sign in as 'admin' with password: "),
        "{first}"
    );
    let child = start();
    assert!(wait_healthy());
    let second = stop(child);
    assert!(!second.contains("password"), "printed only once: {second}");
}

fn unsafe_kill(pid: u32) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
}

#[test]
fn bpmn_check_passes_every_miwg_file_and_fails_a_broken_one() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/bpmn-miwg");
    let mut files: Vec<_> = ["reference", "bpmn-io-18.6.1"]
        .iter()
        .flat_map(|d| {
            std::fs::read_dir(root.join(d))
                .unwrap()
                .map(|e| e.unwrap().path())
        })
        .filter(|p| p.extension().is_some_and(|e| e == "bpmn"))
        .collect();
    files.sort();
    let out = lwams()
        .args(["bpmn", "check"])
        .args(&files)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        text.lines().filter(|l| l.starts_with("ok   ")).count(),
        files.len(),
        "{text}"
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.bpmn");
    std::fs::write(&bad, "<definitions xmlns=\"http://www.omg.org/spec/BPMN/20100524/MODEL\">\n<process id=\"p\">\n<task id=\"a\">\n</process></definitions>").unwrap();
    let out = lwams()
        .args(["bpmn", "check"])
        .arg(&bad)
        .arg(&files[0])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with("FAIL") && first.contains("line"),
        "{text}"
    );
    assert!(
        text.lines().nth(1).unwrap().starts_with("ok   "),
        "the other file is still checked: {text}"
    );
}
