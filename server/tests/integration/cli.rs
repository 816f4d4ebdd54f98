//! The `lwams` binary as an operator runs it: `--help`, `admin create-user`, and
//! `serve` answering /healthz with the first admin able to sign in.

use crate::support::{free_port, lwams};
use std::process::Command;

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
    let port = free_port();
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

#[tokio::test]
async fn rotate_secret_key_reseals_every_secret_and_replaces_the_key_file() {
    use lwams_server::crypto::SecretBox;
    use lwams_server::store::{hosts, sealed, terminals, Store};
    use shared::dto::host::TerminalAuth;
    let dir = tempfile::tempdir().unwrap();
    let admin = lwams()
        .env("LWAMS_DATA_DIR", dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("LWAMS_SECRET_KEY")
        .args([
            "admin",
            "create-user",
            "--login",
            "root",
            "--password",
            "root-password-1",
            "--admin",
        ])
        .output()
        .unwrap();
    assert!(
        admin.status.success(),
        "{}",
        String::from_utf8_lossy(&admin.stderr)
    );
    let key_file = dir.path().join("secret.key");
    // The key file the server makes on its first start.
    let old_key = lwams_server::config::Config {
        data_dir: dir.path().into(),
        ..Default::default()
    }
    .secret_key()
    .unwrap();
    let old = SecretBox::from_base64(&old_key).unwrap();
    let url = format!("sqlite:{}", dir.path().join("lwams.db").display());
    let store = Store::open(&url).await.unwrap();
    {
        let mut c = store.conn().await.unwrap();
        let h = hosts::insert_host(&mut c, 1, "h", None, "", "hash")
            .await
            .unwrap();
        hosts::set_credential(
            &mut c,
            1,
            h,
            "hash",
            &old.seal(&sealed::HOST_CREDENTIAL.at(1, h), "h1.cred"),
        )
        .await
        .unwrap();
        let t = terminals::insert_terminal(
            &mut c,
            1,
            &terminals::TerminalFields {
                host_id: h,
                host_name: "t",
                host_address: "10.0.0.1",
                port: 22,
                connection_type: shared::dto::host::ConnectionType::Ssh,
                os_name: "",
                os_version: "",
                comments: "",
                allow_basic_http: false,
            },
        )
        .await
        .unwrap();
        let account = terminals::SealedAccount {
            username: "ops".into(),
            auth: TerminalAuth::Password,
            comments: String::new(),
            // Of the old form (v1:, before associated data): rotated all the same.
            secret: Some(old.seal_v1_for_tests("pw-1")),
            passphrase: None,
        };
        terminals::insert_user(&mut c, 1, t, &account)
            .await
            .unwrap();
    }
    store.close().await;

    let out = lwams()
        .env("LWAMS_DATA_DIR", dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("LWAMS_SECRET_KEY")
        .args(["admin", "rotate-secret-key"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 secrets re-encrypted"));
    let new_key = std::fs::read_to_string(&key_file).unwrap();
    assert_ne!(new_key, old_key);
    let new = SecretBox::from_base64(&new_key).unwrap();
    let store = Store::open(&url).await.unwrap();
    let mut c = store.conn().await.unwrap();
    let mut plain: Vec<String> = sealed::all(&mut c)
        .await
        .unwrap()
        .iter()
        .map(|s| {
            assert!(s.value.starts_with("v2:"), "{s:?}");
            assert!(
                old.open(&s.at(), &s.value).is_err(),
                "the old key no longer opens it"
            );
            new.open(&s.at(), &s.value).unwrap()
        })
        .collect();
    plain.sort();
    assert_eq!(plain, vec!["h1.cred", "pw-1"]);

    // A bad new key changes nothing.
    let out = lwams()
        .env("LWAMS_DATA_DIR", dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("LWAMS_SECRET_KEY")
        .args(["admin", "rotate-secret-key", "--new-key", "short"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--new-key"));
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), new_key);
}

#[tokio::test]
async fn create_company_makes_a_tenant_with_an_administrators_group_and_its_first_admin() {
    use lwams_server::store::{companies, groups, users, Store};
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], password: Option<&str>| {
        let mut cmd = lwams();
        cmd.env("LWAMS_DATA_DIR", dir.path())
            .env_remove("DATABASE_URL")
            .env_remove("LWAMS_ADMIN_PASSWORD")
            .args(["admin", "create-company"])
            .args(args);
        if let Some(pw) = password {
            cmd.env("LWAMS_ADMIN_PASSWORD", pw);
        }
        let out = cmd.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    // The first company of the database is the platform operator's.
    let (ok, out, err) = run(
        &["--code", "ops", "--name", "Operations", "--admin", "root"],
        Some("root-password-1"),
    );
    assert!(ok, "{err}");
    assert!(out.contains("platform operator"), "{out}");
    assert!(
        out.contains("LWAMS_ADMIN_PASSWORD") && !out.contains("root-password-1"),
        "{out}"
    );
    // A tenant with a generated password, printed once.
    let (ok, out, err) = run(
        &["--code", "acme-1", "--name", "ACME Ltd", "--admin", "boss"],
        None,
    );
    assert!(ok, "{err}");
    assert!(!out.contains("platform operator"), "{out}");
    let generated = out
        .split("password: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no password printed: {out}"))
        .to_string();
    assert_eq!(generated.len(), 16, "{out}");
    // A tenant without an administrator yet.
    let (ok, out, err) = run(&["--code", "empty_co", "--name", "Empty"], None);
    assert!(ok, "{err}");
    assert!(out.contains("no administrator yet"), "{out}");
    // Refusals: a taken code (named), bad codes, a weak password — nothing created.
    let (ok, _, err) = run(&["--code", "acme-1", "--name", "Again"], None);
    assert!(!ok);
    assert!(
        err.contains("\"acme-1\"") && err.contains("already exists"),
        "{err}"
    );
    for bad in ["a.b", "a b", &"x".repeat(33), ""] {
        let (ok, _, err) = run(&["--code", bad, "--name", "Bad"], None);
        assert!(!ok, "{bad:?} accepted");
        assert!(err.contains("--code"), "{bad:?}: {err}");
    }
    let (ok, _, err) = run(
        &["--code", "weak", "--name", "Weak", "--admin", "w"],
        Some("short"),
    );
    assert!(!ok);
    assert!(err.contains("LWAMS_ADMIN_PASSWORD"), "{err}");
    let (ok, _, err) = run(
        &["--code", "badlogin", "--name", "X", "--admin", "no body"],
        None,
    );
    assert!(!ok);
    assert!(err.contains("--admin"), "{err}");

    let store = Store::open(&format!("sqlite:{}", dir.path().join("lwams.db").display()))
        .await
        .unwrap();
    let mut c = store.conn().await.unwrap();
    let all = companies::list(&mut c).await.unwrap();
    let codes: Vec<_> = all
        .iter()
        .map(|co| (co.code.as_str(), co.platform_operator))
        .collect();
    assert_eq!(
        codes,
        vec![("ops", true), ("acme-1", false), ("empty_co", false)]
    );
    let acme = &all[1];
    assert_eq!(acme.name, "ACME Ltd");
    // The administrator signs in with the printed password and holds every right.
    let boss = lwams_server::auth::login::check_password(&store, Some(acme.id), "boss", &generated)
        .await
        .expect("the printed password signs in");
    assert_eq!(
        groups::user_permissions(&mut c, boss.id).await.unwrap(),
        shared::PermissionMatrix::full()
    );
    let root = users::by_login(&mut c, all[0].id, "root")
        .await
        .unwrap()
        .unwrap();
    lwams_server::auth::login::check_password(&store, Some(all[0].id), "root", "root-password-1")
        .await
        .expect("the password from LWAMS_ADMIN_PASSWORD");
    assert_eq!(root.company_id, all[0].id);
    // Every company has its Administrators group with every right; the empty one no user.
    for co in &all {
        let (g, _) = groups::list(&mut c, co.id, &Default::default())
            .await
            .unwrap();
        assert_eq!(g.len(), 1, "{}", co.code);
        assert_eq!(g[0].name, "Administrators");
        let perms = groups::permissions(&mut c, co.id).await.unwrap();
        assert_eq!(perms.get(&g[0].id), Some(&shared::PermissionMatrix::full()));
    }
    let (empty_users, n) = users::list(&mut c, all[2].id, &Default::default())
        .await
        .unwrap();
    assert!(empty_users.is_empty() && n == 0);
}
