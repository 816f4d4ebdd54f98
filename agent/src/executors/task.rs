//! Runs one task the server handed over ([`TaskSpec`]) with the right executor and
//! turns what happened into a [`TaskOutcome`].

use super::file_op::{self, FileOpError};
use super::http::{self, HttpError};
use super::local::{self, LocalCommand, LocalCommandError, OnOutput};
use super::script::{self, ScriptError};
use super::sql::{self, SqlError};
use super::ssh::{SshError, SshPool, SshTarget};
use super::transfer::{self, TransferError};
use super::winrm::{self, WinrmTarget};
use shared::agent::{
    Direction, FailureCode, HostKeySeen, Target, TaskOutcome, TaskSpec, TransferProtocol,
};
use shared::vars::data::env_of;
use std::time::Duration;

/// What `TestConnection` runs on the terminal.
pub const PROBE_COMMAND: &str = "uname -a";
/// What `TestConnection` runs on a Windows terminal (WinRM).
pub const WINDOWS_PROBE_COMMAND: &str = "hostname";

/// [`run`], and the host key an SSH terminal showed for it (learnt, matched or
/// refused), which the agent reports with the outcome.
pub async fn run_reporting(
    pool: &SshPool,
    spec: &TaskSpec,
    cancel: impl std::future::Future<Output = ()>,
    on_output: OnOutput<'_>,
) -> (TaskOutcome, Option<HostKeySeen>) {
    let started = std::time::Instant::now();
    let outcome = run(pool, spec, cancel, on_output).await;
    let host_key = match spec {
        TaskSpec::Command { target, .. }
        | TaskSpec::TestConnection { target, .. }
        | TaskSpec::Transfer { target, .. }
        | TaskSpec::Script { target, .. } => match target {
            Target::Ssh { address, port, .. } => pool.host_key_seen(address, *port, started),
            _ => None,
        },
        _ => None,
    };
    (outcome, host_key)
}

/// Carries out `spec` until it ends or `cancel` completes.
pub async fn run(
    pool: &SshPool,
    spec: &TaskSpec,
    cancel: impl std::future::Future<Output = ()>,
    on_output: OnOutput<'_>,
) -> TaskOutcome {
    let no_values: &[String] = &[];
    let (target, command, work_dir, timeout, values) = match spec {
        TaskSpec::Http { .. } | TaskSpec::Sql { .. } | TaskSpec::FileOp { .. } => {
            return run_service(spec, cancel).await
        }
        TaskSpec::Transfer {
            target,
            protocol,
            direction,
            local_file,
            remote_file,
            timeout_secs,
        } => {
            return transfer(
                pool,
                target,
                *protocol,
                *direction,
                local_file,
                remote_file,
                Duration::from_secs((*timeout_secs).max(1)),
                cancel,
            )
            .await
        }
        TaskSpec::Script {
            target,
            language,
            name,
            body,
            work_dir,
            timeout_secs,
            collect_artifacts,
            values,
        } => {
            let timeout = Duration::from_secs((*timeout_secs).max(1));
            if *collect_artifacts {
                if *target != Target::Local {
                    return failed(
                        &"RPA scripts run on the agent's own machine",
                        FailureCode::Other,
                    );
                }
                return match script::run_rpa(
                    *language, name, body, values, timeout, cancel, on_output,
                )
                .await
                {
                    Ok((result, artifacts)) => TaskOutcome::Rpa { result, artifacts },
                    Err(ScriptError::Local(e)) => failed(&e, local_code(&e)),
                    Err(e) => failed(&e, FailureCode::Other),
                };
            }
            let ran = match target {
                Target::Local => {
                    script::run_local(
                        *language,
                        name,
                        body,
                        values,
                        work_dir.clone(),
                        timeout,
                        cancel,
                        on_output,
                    )
                    .await
                }
                Target::Ssh {
                    address,
                    port,
                    username,
                    auth,
                    host_key,
                } => {
                    let t = ssh_target(address, *port, username, auth, host_key);
                    script::run_ssh(
                        pool,
                        &t,
                        *language,
                        name,
                        body,
                        values,
                        work_dir.as_deref(),
                        timeout,
                        cancel,
                        on_output,
                    )
                    .await
                }
                Target::Winrm {
                    endpoint,
                    username,
                    password,
                    verify_tls,
                    allow_basic_http,
                } => {
                    let t =
                        winrm_target(endpoint, username, password, *verify_tls, *allow_basic_http);
                    script::run_winrm(
                        &t,
                        *language,
                        name,
                        body,
                        values,
                        work_dir.as_deref(),
                        timeout,
                        cancel,
                        on_output,
                    )
                    .await
                }
            };
            return script_outcome(ran);
        }
        TaskSpec::Command {
            target,
            command,
            work_dir,
            timeout_secs,
            values,
        } => (
            target,
            command.as_str(),
            work_dir.clone(),
            *timeout_secs,
            values.as_slice(),
        ),
        TaskSpec::TestConnection {
            target: target @ Target::Winrm { .. },
            timeout_secs,
        } => (
            target,
            WINDOWS_PROBE_COMMAND,
            None,
            *timeout_secs,
            no_values,
        ),
        TaskSpec::TestConnection {
            target,
            timeout_secs,
        } => (target, PROBE_COMMAND, None, *timeout_secs, no_values),
    };
    let timeout = Duration::from_secs(timeout.max(1));
    match target {
        Target::Local => {
            let req = LocalCommand {
                command: command.to_string(),
                work_dir,
                timeout,
                env: env_of(values),
            };
            match local::run_until(&req, cancel, on_output).await {
                Ok(result) => TaskOutcome::Ran { result },
                Err(e) => failed(&e, local_code(&e)),
            }
        }
        Target::Ssh {
            address,
            port,
            username,
            auth,
            host_key,
        } => {
            let t = ssh_target(address, *port, username, auth, host_key);
            if !values.is_empty() {
                // sshd passes no environment of ours: the values go through standard
                // input to the launcher, which exports them before the command.
                let ran = script::run_ssh_command(
                    pool,
                    &t,
                    command,
                    values,
                    work_dir.as_deref(),
                    timeout,
                    cancel,
                    on_output,
                )
                .await;
                return script_outcome(ran);
            }
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
        Target::Winrm {
            endpoint,
            username,
            password,
            verify_tls,
            allow_basic_http,
        } => {
            let t = winrm_target(endpoint, username, password, *verify_tls, *allow_basic_http);
            if !values.is_empty() {
                // The values go through standard input to the launcher, which starts
                // `cmd.exe /v:on` with them in its environment.
                let ran = script::run_winrm_command(
                    &t,
                    command,
                    values,
                    work_dir.as_deref(),
                    timeout,
                    cancel,
                    on_output,
                )
                .await;
                return script_outcome(ran);
            }
            match winrm::run(&t, command, work_dir.as_deref(), timeout, cancel, on_output).await {
                Ok(result) => TaskOutcome::Ran { result },
                Err(e) => failed(&e, e.code()),
            }
        }
    }
}

/// The outcome of a script (or a command run through a script launcher).
fn script_outcome(ran: Result<shared::agent::CommandResult, ScriptError>) -> TaskOutcome {
    match ran {
        Ok(result) => TaskOutcome::Ran { result },
        Err(ScriptError::Local(e)) => failed(&e, local_code(&e)),
        Err(ScriptError::Ssh(e)) => failed(&e, e.code()),
        Err(ScriptError::Winrm(e)) => failed(&e, e.code()),
        Err(e) => failed(&e, FailureCode::Other),
    }
}

fn winrm_target(
    endpoint: &str,
    username: &str,
    password: &str,
    verify_tls: bool,
    allow_basic_http: bool,
) -> WinrmTarget {
    WinrmTarget {
        endpoint: endpoint.to_string(),
        username: username.to_string(),
        password: password.to_string(),
        verify_tls,
        allow_basic_http,
    }
}

/// Runs an HTTP, SQL or file operation task (they need no terminal: the server runs
/// them itself for steps "in cloud").
pub async fn run_service(
    spec: &TaskSpec,
    cancel: impl std::future::Future<Output = ()>,
) -> TaskOutcome {
    run_service_pinned(spec, None, cancel).await
}

/// [`run_service`], a SQL task connecting to `pin` (see [`sql::run_pinned`]).
pub async fn run_service_pinned(
    spec: &TaskSpec,
    pin: Option<std::net::IpAddr>,
    cancel: impl std::future::Future<Output = ()>,
) -> TaskOutcome {
    match spec {
        TaskSpec::Http {
            request,
            timeout_secs,
        } => {
            let timeout = Duration::from_secs((*timeout_secs).max(1));
            http_outcome(http::run(request, timeout, cancel).await)
        }
        TaskSpec::Sql {
            database,
            statements: statement,
            timeout_secs,
        } => {
            let timeout = Duration::from_secs((*timeout_secs).max(1));
            sql_outcome(sql::run_pinned(database, pin, statement, timeout, cancel).await)
        }
        TaskSpec::FileOp {
            tool,
            filename,
            new_filename,
            content,
            timeout_secs,
        } => {
            let timeout = Duration::from_secs((*timeout_secs).max(1));
            match file_op::run(
                *tool,
                filename,
                new_filename.as_deref(),
                content.as_deref(),
                timeout,
                cancel,
            )
            .await
            {
                Ok(result) => TaskOutcome::Ran { result },
                Err(e) => {
                    let code = match e {
                        FileOpError::Timeout(_) => FailureCode::Timeout,
                        FileOpError::Cancelled => FailureCode::Cancelled,
                        _ => FailureCode::Other,
                    };
                    failed(&e, code)
                }
            }
        }
        other => failed(
            &format!("{} needs a Sub Manager", other.describe()),
            FailureCode::Other,
        ),
    }
}

/// An HTTP task's outcome.
pub fn http_outcome(r: Result<shared::agent::HttpResult, HttpError>) -> TaskOutcome {
    match r {
        Ok(result) => TaskOutcome::Http { result },
        Err(e) => {
            let code = match e {
                HttpError::Timeout(..) => FailureCode::Timeout,
                HttpError::Cancelled => FailureCode::Cancelled,
                HttpError::Unreachable(..) => FailureCode::Unreachable,
                _ => FailureCode::Other,
            };
            failed(&e, code)
        }
    }
}

/// A SQL task's outcome.
pub fn sql_outcome(r: Result<shared::agent::SqlResult, SqlError>) -> TaskOutcome {
    match r {
        Ok(result) => TaskOutcome::Sql { result },
        Err(e) => {
            let code = match e {
                SqlError::Timeout(_) => FailureCode::Timeout,
                SqlError::Cancelled => FailureCode::Cancelled,
                SqlError::Unreachable(_) => FailureCode::Unreachable,
                SqlError::Refused(_) => FailureCode::AuthFailed,
                SqlError::Statement(_) => FailureCode::Sql,
                SqlError::Url(_) => FailureCode::Other,
            };
            failed(&e, code)
        }
    }
}

fn local_code(e: &LocalCommandError) -> FailureCode {
    match e {
        LocalCommandError::Timeout(_) => FailureCode::Timeout,
        LocalCommandError::Cancelled => FailureCode::Cancelled,
        _ => FailureCode::Other,
    }
}

fn ssh_target(
    address: &str,
    port: u16,
    username: &str,
    auth: &shared::agent::SshAuth,
    host_key: &Option<String>,
) -> SshTarget {
    SshTarget {
        address: address.to_string(),
        port,
        username: username.to_string(),
        auth: auth.clone(),
        host_key: host_key.clone(),
    }
}

#[allow(clippy::too_many_arguments)]
async fn transfer(
    pool: &SshPool,
    target: &Target,
    protocol: TransferProtocol,
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
        host_key,
    } = target
    else {
        return failed(
            &"file distribution needs a terminal reached over SSH (SFTP or SCP)",
            FailureCode::Other,
        );
    };
    let t = ssh_target(address, *port, username, auth, host_key);
    match transfer::transfer(
        pool,
        &t,
        protocol,
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
