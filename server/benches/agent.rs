//! `cargo bench -p server --bench agent` (the `lwams-bench ssh` figures of issue 5): a
//! real `sub-manager` process connected to an in-process server, a real OpenSSH sshd
//! listening on N loopback addresses (one "terminal" each; N = LWAMS_BENCH_HOSTS,
//! default 200):
//! 1. the bare cost: a command on a pooled russh connection, p50/p99;
//! 2. a command through the whole path (hub → WebSocket → agent → SSH), p50/p99;
//! 3. one command on N terminals at once through one agent: cold (connections opened)
//!    and warm (pooled), wall time and hosts per second;
//! 4. the same N hosts with ansible-core ad hoc (`-m command -a true -f 50`) when
//!    `ansible` is on PATH (`pip install ansible-core`), for comparison;
//! 5. the agent's RSS idle and after the N-host run, and its binary size.

#[path = "../tests/integration/support/sshd.rs"]
mod sshd;

use agent::executors::local::ignore_output;
use agent::executors::ssh::{SshPool, SshTarget};
use lwams_server::agents::credential;
use lwams_server::store::hosts;
use shared::agent::{SshAuth, Target, TaskOutcome, TaskSpec};
use std::time::{Duration, Instant};

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn address(i: usize) -> String {
    format!("127.0.{}.{}", 1 + i / 250, 1 + i % 250)
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("LWAMS_BENCH_HOSTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let addresses: Vec<String> = (0..n).map(address).collect();
    let sshd = sshd::Sshd::start_on(&addresses);
    let dir = tempfile::tempdir().expect("tmp");
    let auth = SshAuth::Key {
        private_key: sshd.private_key.clone(),
        passphrase: None,
    };
    let target = |i: usize| SshTarget {
        address: address(i),
        port: sshd.port,
        username: sshd::USER.into(),
        auth: auth.clone(),
        host_key: None,
    };

    // 1. Bare pooled russh.
    let pool = SshPool::new(dir.path().join("known_hosts"));
    let t0 = target(0);
    pool.run(
        &t0,
        "true",
        Duration::from_secs(10),
        std::future::pending(),
        &ignore_output,
    )
    .await
    .expect("first command");
    let mut bare = Vec::new();
    for _ in 0..300 {
        let t = Instant::now();
        pool.run(
            &t0,
            "true",
            Duration::from_secs(10),
            std::future::pending(),
            &ignore_output,
        )
        .await
        .expect("command");
        bare.push(t.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "pooled russh connection, `true`: p50 {:.2} ms, p99 {:.2} ms (300 commands)",
        pct(&mut bare, 0.5),
        pct(&mut bare, 0.99)
    );

    // The server and a real agent process.
    let data = tempfile::tempdir().expect("tmp");
    let config = lwams_server::config::Config {
        database_url: Some(format!("sqlite:{}", data.path().join("b.db").display())),
        data_dir: data.path().into(),
        secret_key: Some(lwams_server::crypto::SecretBox::generate_key()),
        ..Default::default()
    };
    let state = lwams_server::build_state(config).await.expect("state");
    lwams_server::bootstrap::ensure_first_admin(&state.store, "admin", Some("bench-password-1"))
        .await
        .expect("admin");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let app = lwams_server::web::app(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let host = {
        let mut c = state.store.conn().await.expect("conn");
        let h = hosts::insert_host(&mut c, 1, "bench", None, "", &credential::unusable())
            .await
            .expect("host");
        let cred = credential::issue(h);
        hosts::set_credential(
            &mut c,
            1,
            h,
            &credential::hash(&cred),
            &state.secrets.seal(
                &lwams_server::store::sealed::HOST_CREDENTIAL.at(1, h),
                &cred,
            ),
        )
        .await
        .expect("credential");
        std::fs::write(
            dir.path().join("sub-manager.json"),
            format!(r#"{{"companyCode":"default","serverHost":"127.0.0.1","serverPort":{port},"credential":"{cred}"}}"#),
        )
        .expect("config");
        h
    };
    let mut agent = std::process::Command::new(env!("CARGO_BIN_EXE_sub-manager"))
        .arg("--config")
        .arg(dir.path().join("sub-manager.json"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("agent");
    let t = Instant::now();
    while !state.agents.is_connected(1, host) {
        assert!(t.elapsed() < Duration::from_secs(20), "the agent connects");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = rss_kb(agent.id());

    // 2. Through the whole path.
    let spec = |i: usize| TaskSpec::Command {
        target: Target::Ssh {
            address: address(i),
            port: sshd.port,
            username: sshd::USER.into(),
            auth: auth.clone(),
            host_key: None,
        },
        command: "true".into(),
        work_dir: None,
        timeout_secs: 60,
        values: vec![],
    };
    let run = |i: usize| {
        let hub = state.agents.clone();
        let spec = spec(i);
        async move {
            let t = Instant::now();
            match hub.run(1, host, spec, None, std::future::pending()).await {
                TaskOutcome::Ran { result } if result.exit_code == Some(0) => {}
                other => panic!("terminal {i}: {other:?}"),
            }
            t.elapsed().as_secs_f64() * 1e3
        }
    };
    run(0).await;
    let mut full = Vec::new();
    for _ in 0..300 {
        full.push(run(0).await);
    }
    println!(
        "through server → agent → SSH, `true`: p50 {:.2} ms, p99 {:.2} ms (300 commands)",
        pct(&mut full, 0.5),
        pct(&mut full, 0.99)
    );

    // 3. N terminals at once through one agent.
    for round in ["cold (connect + sign in)", "warm (pooled)"] {
        let t = Instant::now();
        let mut each: Vec<f64> = futures_util::future::join_all((0..n).map(run)).await;
        let wall = t.elapsed().as_secs_f64();
        println!(
            "{n} terminals at once, {round}: {:.2} s wall, {:.0} hosts/s, per host p50 {:.1} ms p99 {:.1} ms",
            wall,
            n as f64 / wall,
            pct(&mut each, 0.5),
            pct(&mut each, 0.99)
        );
    }
    let after = rss_kb(agent.id());
    let size = std::fs::metadata(env!("CARGO_BIN_EXE_sub-manager"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "agent RSS: idle {:.1} MB, after {n} terminals {:.1} MB; binary {:.1} MB (bench profile, not stripped)",
        idle as f64 / 1024.0,
        after as f64 / 1024.0,
        size as f64 / 1_048_576.0
    );
    let _ = agent.kill();
    let _ = agent.wait();

    // 4. Ansible on the same hosts, when installed.
    let key = dir.path().join("id");
    std::fs::write(&key, &sshd.private_key).expect("key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600));
    }
    let inventory = dir.path().join("inventory.ini");
    std::fs::write(
        &inventory,
        format!(
            "[t]\n{}\n[t:vars]\nansible_port={}\nansible_user={}\nansible_ssh_private_key_file={}\nansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'\nansible_python_interpreter=/usr/bin/python3\n",
            addresses.join("\n"),
            sshd.port,
            sshd::USER,
            key.display()
        ),
    )
    .expect("inventory");
    let t = Instant::now();
    match std::process::Command::new("ansible")
        .args(["t", "-i"])
        .arg(&inventory)
        .args(["-m", "command", "-a", "true", "-f", "50", "-o"])
        .env("ANSIBLE_HOST_KEY_CHECKING", "False")
        .output()
    {
        Ok(out) => {
            let wall = t.elapsed().as_secs_f64();
            let ok = String::from_utf8_lossy(&out.stdout)
                .matches("| CHANGED")
                .count();
            println!(
                "ansible-core ad hoc, {n} hosts, forks 50: {:.2} s wall, {:.1} hosts/s ({ok} changed)",
                wall,
                n as f64 / wall
            );
        }
        Err(_) => {
            println!("ansible-core: not installed (pip install ansible-core) — comparison skipped")
        }
    }
}
