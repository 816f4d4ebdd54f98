//! Runs one task the server handed over ([`TaskSpec`]) with the right executor and
//! turns what happened into a [`TaskOutcome`].

use super::local::{self, LocalCommand, LocalCommandError, OnOutput};
use super::sftp::{self, TransferError};
use super::ssh::{SshError, SshPool, SshTarget};
use shared::agent::{Direction, FailureCode, Target, TaskOutcome, TaskSpec};
use std::time::Duration;

/// What `TestConnection` runs on the terminal.
pub const PROBE_COMMAND: &str = "uname -a";

/// Carries out `spec` until it ends or `cancel` completes.
pub async fn run(
    pool: &SshPool,
    spec: &TaskSpec,
    cancel: impl std::future::Future<Output = ()>,
    on_output: OnOutput<'_>,
) -> TaskOutcome {
    let (target, command, work_dir, timeout) = match spec {
        TaskSpec::Transfer {
            target,
            direction,
            local_file,
            remote_file,
            timeout_secs,
        } => {
            return transfer(
                pool,
                target,
                *direction,
                local_file,
                remote_file,
                Duration::from_secs((*timeout_secs).max(1)),
                cancel,
            )
            .await
        }
        TaskSpec::Command {
            target,
            command,
            work_dir,
            timeout_secs,
        } => (target, command.as_str(), work_dir.clone(), *timeout_secs),
        TaskSpec::TestConnection {
            target,
            timeout_secs,
        } => (target, PROBE_COMMAND, None, *timeout_secs),
    };
    let timeout = Duration::from_secs(timeout.max(1));
    match target {
        Target::Local => {
            let req = LocalCommand {
                command: command.to_string(),
                work_dir,
                timeout,
            };
            match local::run_until(&req, cancel, on_output).await {
                Ok(result) => TaskOutcome::Ran { result },
                Err(e) => failed(
                    &e,
                    match e {
                        LocalCommandError::Timeout(_) => FailureCode::Timeout,
                        LocalCommandError::Cancelled => FailureCode::Cancelled,
                        _ => FailureCode::Other,
                    },
                ),
            }
        }
        Target::Ssh {
            address,
            port,
            username,
            auth,
        } => {
            let t = ssh_target(address, *port, username, auth);
            let command = match &work_dir {
                Some(dir) if !dir.is_empty() => {
                    format!("cd {} && {command}", shared::vars::sh_quote(dir))
                }
                _ => command.to_string(),
            };
            match pool.run(&t, &command, timeout, cancel, on_output).await {
                Ok(result) => TaskOutcome::Ran { result },
                Err(e) => failed(&e, SshError::code(&e)),
            }
        }
    }
}

fn ssh_target(
    address: &str,
    port: u16,
    username: &str,
    auth: &shared::agent::SshAuth,
) -> SshTarget {
    SshTarget {
        address: address.to_string(),
        port,
        username: username.to_string(),
        auth: auth.clone(),
    }
}

async fn transfer(
    pool: &SshPool,
    target: &Target,
    direction: Direction,
    local_file: &str,
    remote_file: &str,
    timeout: Duration,
    cancel: impl std::future::Future<Output = ()>,
) -> TaskOutcome {
    let Target::Ssh {
        address,
        port,
        username,
        auth,
    } = target
    else {
        return failed(&"file distribution needs a terminal", FailureCode::Other);
    };
    let t = ssh_target(address, *port, username, auth);
    match sftp::transfer(
        pool,
        &t,
        direction,
        local_file,
        remote_file,
        timeout,
        cancel,
    )
    .await
    {
        Ok(result) => TaskOutcome::Ran { result },
        Err(TransferError::Ssh(e)) => failed(&e, e.code()),
        Err(e) => failed(&e, FailureCode::Other),
    }
}

fn failed(e: &impl std::fmt::Display, code: FailureCode) -> TaskOutcome {
    TaskOutcome::Failed {
        error: e.to_string(),
        code,
    }
}
