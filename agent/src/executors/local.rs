//! Local commands: run with `sh -c` on this machine (the agent's host, or the server
//! for steps "in cloud"; `cmd /d /s /c "…"` on Windows) with a timeout and a cap on
//! captured output; stdout, stderr and the exit code come back, and output is handed on
//! as it arrives. A step's values come as environment variables (`LWAMS_V_1`, …), never
//! inside the command's text (`shared::vars::data`); on Windows the command then runs
//! with delayed expansion (`/v:on`), how cmd reads them (`!LWAMS_V_1!`).

use shared::agent::Stream;
pub use shared::agent::{CommandResult, OUTPUT_CAP};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::process::Command;

#[derive(Debug, Clone)]
pub struct LocalCommand {
    pub command: String,
    pub work_dir: Option<String>,
    pub timeout: Duration,
    /// Values the command reads from its environment (`LWAMS_V_1=…`), besides the
    /// environment it inherits.
    pub env: Vec<(String, String)>,
}

/// Receives output as it arrives (for live logs); the whole output still comes back in
/// the result.
pub type OnOutput<'a> = &'a (dyn Fn(Stream, &str) + Send + Sync);

/// Drops output.
pub fn ignore_output(_: Stream, _: &str) {}

#[derive(Debug, thiserror::Error)]
pub enum LocalCommandError {
    #[error("cannot start sh: {0}")]
    Spawn(std::io::Error),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("cancelled")]
    Cancelled,
    #[error("work dir {0}: {1}")]
    WorkDir(String, std::io::Error),
}

/// Reads a stream to its end, keeping up to [`OUTPUT_CAP`] bytes.
pub async fn read_capped(
    mut r: impl tokio::io::AsyncRead + Unpin,
    stream: Stream,
    on_output: OnOutput<'_>,
) -> (Vec<u8>, bool) {
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    let mut truncated = false;
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                on_output(stream, &String::from_utf8_lossy(&buf[..n]));
                let room = OUTPUT_CAP.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
                truncated |= n > room;
            }
        }
    }
    (kept, truncated)
}

pub async fn run(req: &LocalCommand) -> Result<CommandResult, LocalCommandError> {
    run_until(req, std::future::pending(), &ignore_output).await
}

/// As `run`, stopping the command (and its process group) when `cancel` completes.
pub async fn run_until(
    req: &LocalCommand,
    cancel: impl std::future::Future<Output = ()>,
    on_output: OnOutput<'_>,
) -> Result<CommandResult, LocalCommandError> {
    run_command(command_for(req)?, req.timeout, cancel, on_output).await
}

/// The `sh -c` (on Windows `cmd /d /s /c "…"`) command for `req`, in its work dir,
/// with its values in the environment, not started.
pub fn command_for(req: &LocalCommand) -> Result<Command, LocalCommandError> {
    #[cfg(unix)]
    let mut cmd = {
        let mut c = Command::new("sh");
        c.arg("-c").arg(&req.command);
        c
    };
    #[cfg(windows)]
    let mut cmd = {
        let mut c = Command::new("cmd");
        c.raw_arg(windows_command_line(&req.command, !req.env.is_empty()));
        c
    };
    cmd.envs(req.env.iter().map(|(k, v)| (k, v)));
    if let Some(dir) = req.work_dir.as_deref().filter(|d| !d.is_empty()) {
        std::fs::metadata(dir).map_err(|e| LocalCommandError::WorkDir(dir.to_string(), e))?;
        cmd.current_dir(dir);
    }
    Ok(cmd)
}

/// The arguments of `cmd.exe` that run `command` as written: `/s /c "…"` strips exactly
/// the outer quotes whatever the command holds; `/d` skips AutoRun; `/v:on` (when the
/// command reads values) turns delayed expansion on, how cmd reads `!LWAMS_V_1!`.
pub fn windows_command_line(command: &str, values: bool) -> String {
    let delayed = if values { "/v:on " } else { "" };
    format!("/d /s {delayed}/c \"{command}\"")
}

/// Runs a command built by the caller (its program, arguments, environment, work dir
/// and any confinement are the caller's): without standard input, output captured and
/// handed on, in its own process group, the whole group
/// killed on timeout or when `cancel` completes.
pub async fn run_command(
    mut cmd: Command,
    timeout: Duration,
    cancel: impl std::future::Future<Output = ()>,
    on_output: OnOutput<'_>,
) -> Result<CommandResult, LocalCommandError> {
    let started = Instant::now();
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = cmd.spawn().map_err(LocalCommandError::Spawn)?;
    let out = child
        .stdout
        .take()
        .map(|o| read_capped(o, Stream::Stdout, on_output));
    let err = child
        .stderr
        .take()
        .map(|e| read_capped(e, Stream::Stderr, on_output));
    let pid = child.id();
    let work = async {
        let (o, e) = tokio::join!(
            async {
                match out {
                    Some(f) => f.await,
                    None => (vec![], false),
                }
            },
            async {
                match err {
                    Some(f) => f.await,
                    None => (vec![], false),
                }
            }
        );
        let status = child.wait().await;
        (o, e, status)
    };
    let outcome = tokio::select! {
        r = tokio::time::timeout(timeout, work) => r.map_err(|_| LocalCommandError::Timeout(timeout)),
        _ = cancel => Err(LocalCommandError::Cancelled),
    };
    match outcome {
        Ok(((o, ot), (e, et), status)) => Ok(CommandResult {
            exit_code: status.ok().and_then(|s| s.code()),
            stdout: String::from_utf8_lossy(&o).into_owned(),
            stderr: String::from_utf8_lossy(&e).into_owned(),
            truncated: ot || et,
            duration_ms: started.elapsed().as_millis() as u64,
        }),
        Err(e) => {
            kill_group(pid);
            Err(e)
        }
    }
}

/// Kills the whole process group `sh` leads (its children too), and only it.
fn kill_group(pid: Option<u32>) {
    #[cfg(unix)]
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()).filter(|p| *p > 1) {
        // SAFETY: plain syscalls on a pid we spawned; killpg only when that process
        // leads its own group (process_group(0) above). Never shell out to `kill` with
        // a negative id: procps' kill took that as "every process".
        unsafe {
            if libc::getpgid(pid) == pid {
                libc::killpg(pid, libc::SIGKILL);
            }
        }
    }
    #[cfg(not(unix))]
    let _ = pid;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(c: &str, secs: u64) -> LocalCommand {
        LocalCommand {
            command: c.into(),
            work_dir: None,
            timeout: Duration::from_secs(secs),
            env: Vec::new(),
        }
    }

    #[tokio::test]
    async fn values_reach_the_command_as_environment_variables_never_as_code() {
        let mut c = cmd("printf '%s|%s' \"$LWAMS_V_1\" \"$LWAMS_V_2\"", 5);
        c.env = vec![
            ("LWAMS_V_1".into(), "$(id) `id` '; id; '".into()),
            ("LWAMS_V_2".into(), String::new()),
        ];
        let r = run(&c).await.unwrap();
        assert_eq!(r.stdout, "$(id) `id` '; id; '|", "{r:?}");
        assert_eq!(
            windows_command_line("echo \"a\" & b", true),
            "/d /s /v:on /c \"echo \"a\" & b\""
        );
        assert_eq!(windows_command_line("ver", false), "/d /s /c \"ver\"");
    }

    #[tokio::test]
    async fn captures_stdout_stderr_and_the_exit_code() {
        let r = run(&cmd("echo out; echo err >&2; exit 3", 5))
            .await
            .unwrap();
        assert_eq!(r.stdout, "out\n");
        assert_eq!(r.stderr, "err\n");
        assert_eq!(r.exit_code, Some(3));
        assert!(!r.truncated);
    }

    #[tokio::test]
    async fn output_is_capped_and_time_is_limited() {
        let r = run(&cmd("head -c 3000000 /dev/zero | tr '\\0' x", 20))
            .await
            .unwrap();
        assert_eq!(r.stdout.len(), OUTPUT_CAP);
        assert!(r.truncated);
        let t = Instant::now();
        let e = run(&cmd("sleep 30", 1)).await.unwrap_err();
        assert!(matches!(e, LocalCommandError::Timeout(_)));
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn output_is_handed_on_as_it_arrives() {
        let seen = std::sync::Mutex::new(Vec::new());
        let on = |s: Stream, t: &str| seen.lock().unwrap().push((s, t.to_string()));
        run_until(
            &cmd("echo one; echo two >&2", 5),
            std::future::pending(),
            &on,
        )
        .await
        .unwrap();
        let seen = seen.into_inner().unwrap();
        assert!(seen.contains(&(Stream::Stdout, "one\n".into())), "{seen:?}");
        assert!(seen.contains(&(Stream::Stderr, "two\n".into())), "{seen:?}");
    }

    #[tokio::test]
    async fn work_dir_is_used_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = cmd("pwd", 5);
        c.work_dir = Some(dir.path().display().to_string());
        let r = run(&c).await.unwrap();
        assert_eq!(
            r.stdout.trim(),
            dir.path().canonicalize().unwrap().display().to_string()
        );
        c.work_dir = Some("/no/such/dir".into());
        assert!(matches!(
            run(&c).await.unwrap_err(),
            LocalCommandError::WorkDir(..)
        ));
    }

    #[tokio::test]
    async fn a_cancelled_command_is_killed_with_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("late");
        let c = cmd(&format!("sleep 2 && touch {}", marker.display()), 30);
        let e = run_until(
            &c,
            tokio::time::sleep(Duration::from_millis(200)),
            &ignore_output,
        )
        .await
        .unwrap_err();
        assert!(matches!(e, LocalCommandError::Cancelled));
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(
            !marker.exists(),
            "the command's child ran on after the cancel"
        );
    }
}
