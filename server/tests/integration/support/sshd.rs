//! A real OpenSSH `sshd` (Debian's openssh-server) on a loopback port for one test:
//! its own host key and config in a temporary folder, a test account with a
//! password, and a key pair whose public half is authorised for that account.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The account the tests sign in as (created once, password set each run).
pub const USER: &str = "lwams-ssh-test";
pub const PASSWORD: &str = "Ssh-test-pw-1";

pub struct Sshd {
    pub port: u16,
    /// The fingerprint of its host key (`SHA256:…`, as `ssh-keygen -l` prints it).
    #[allow(dead_code)] // the tests use it, the benchmark does not
    pub host_fingerprint: String,
    /// The private key (OpenSSH form) authorised for [`USER`].
    pub private_key: String,
    /// One sshd per 16 addresses (sshd listens on at most 16 sockets).
    children: Vec<Child>,
    _dir: tempfile::TempDir,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Sshd {
    #[allow(dead_code)] // the tests use it, the benchmark does not
    pub fn start() -> Sshd {
        Sshd::start_on(&["127.0.0.1".to_string()])
    }

    /// Listening on each of these loopback addresses (one "machine" each, for
    /// benchmarks over many terminals), the same port on all.
    pub fn start_on(addresses: &[String]) -> Sshd {
        let sshd = "/usr/sbin/sshd";
        assert!(
            std::path::Path::new(sshd).exists(),
            "OpenSSH sshd is needed (Debian package openssh-server; scripts/setup.sh --test installs it)"
        );
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // The test account: a home, a shell, a known password.
        if Command::new("id")
            .arg(USER)
            .output()
            .map(|o| !o.status.success())
            .unwrap_or(true)
        {
            run(Command::new("useradd").args(["--create-home", "--shell", "/bin/sh", USER]));
        }
        let mut chpasswd = Command::new("chpasswd")
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        {
            use std::io::Write;
            let mut stdin = chpasswd.stdin.take().unwrap();
            writeln!(stdin, "{USER}:{PASSWORD}").unwrap();
        }
        assert!(chpasswd.wait().unwrap().success(), "chpasswd");
        let keygen = |path: &std::path::Path| {
            run(Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(path));
        };
        keygen(&d.join("host_key"));
        keygen(&d.join("user_key"));
        std::fs::copy(d.join("user_key.pub"), d.join("authorized_keys")).unwrap();
        std::fs::create_dir_all("/run/sshd").unwrap();
        let port = free_port();
        let mut children = Vec::new();
        for (n, chunk) in addresses.chunks(16).enumerate() {
            let config = d.join(format!("sshd_config.{n}"));
            std::fs::write(
                &config,
                format!(
                    "Port {port}\n{}HostKey {}\nPidFile {}\n\
                     AuthorizedKeysFile {}\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\n\
                     UsePAM no\nStrictModes no\nPermitRootLogin no\nAllowUsers {USER}\n\
                     Subsystem sftp internal-sftp\nLogLevel ERROR\nMaxStartups 1000\nMaxSessions 100\n",
                    chunk
                        .iter()
                        .map(|a| format!("ListenAddress {a}\n"))
                        .collect::<String>(),
                    d.join("host_key").display(),
                    d.join(format!("sshd.{n}.pid")).display(),
                    d.join("authorized_keys").display(),
                ),
            )
            .unwrap();
            children.push(
                Command::new(sshd)
                    .args(["-D", "-e", "-f"])
                    .arg(&config)
                    .stdout(Stdio::null())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .unwrap(),
            );
        }
        let t = Instant::now();
        for a in addresses.iter().step_by(16) {
            while std::net::TcpStream::connect((a.as_str(), port)).is_err() {
                assert!(
                    t.elapsed() < Duration::from_secs(10),
                    "sshd listens on {a}:{port}"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let listed = Command::new("ssh-keygen")
            .arg("-lf")
            .arg(d.join("host_key.pub"))
            .output()
            .unwrap();
        let host_fingerprint = String::from_utf8_lossy(&listed.stdout)
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string();
        assert!(
            host_fingerprint.starts_with("SHA256:"),
            "{host_fingerprint}"
        );
        Sshd {
            port,
            host_fingerprint,
            private_key: std::fs::read_to_string(d.join("user_key")).unwrap(),
            children,
            _dir: dir,
        }
    }
}
