//! File distribution (SPEC §5.1) on the pooled SSH connection of a terminal account:
//! GET copies the terminal's file to the agent's machine, PUT the other way, over SFTP
//! (`sftp.rs`) or SCP (`scp.rs`), with a timeout and cancellation.

use super::ssh::{SshError, SshPool, SshTarget};
use super::{scp, sftp};
use shared::agent::{CommandResult, Direction, TransferProtocol};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error(transparent)]
    Ssh(#[from] SshError),
    #[error("sftp: {0}")]
    Sftp(String),
    #[error("scp: {0}")]
    Scp(String),
    #[error("{path}: {source}")]
    Local {
        path: String,
        source: std::io::Error,
    },
    #[error("remote {path}: {message}")]
    Remote { path: String, message: String },
}

/// An error of the agent's own file.
pub(super) fn local(path: &str) -> impl Fn(std::io::Error) -> TransferError + '_ {
    move |source| TransferError::Local {
        path: path.to_string(),
        source,
    }
}

/// Copies one file; the result says what moved (`stdout`) with exit code 0.
#[allow(clippy::too_many_arguments)]
pub async fn transfer(
    pool: &SshPool,
    t: &SshTarget,
    protocol: TransferProtocol,
    direction: Direction,
    local_file: &str,
    remote_file: &str,
    timeout: Duration,
    cancel: impl std::future::Future<Output = ()>,
) -> Result<CommandResult, TransferError> {
    let started = Instant::now();
    let work = async {
        match protocol {
            TransferProtocol::Sftp => sftp::copy(pool, t, direction, local_file, remote_file).await,
            TransferProtocol::Scp => scp::copy(pool, t, direction, local_file, remote_file).await,
        }
    };
    let bytes = tokio::select! {
        r = tokio::time::timeout(timeout, work) => r.map_err(|_| TransferError::Ssh(SshError::Timeout(timeout)))??,
        _ = cancel => return Err(TransferError::Ssh(SshError::Cancelled)),
    };
    let (from, to) = match direction {
        Direction::Get => (remote_file, local_file),
        Direction::Put => (local_file, remote_file),
    };
    Ok(CommandResult {
        exit_code: Some(0),
        stdout: format!(
            "{} {} {from} → {to}: {bytes} bytes\n",
            protocol.as_str(),
            direction.as_str()
        ),
        stderr: String::new(),
        truncated: false,
        duration_ms: started.elapsed().as_millis() as u64,
    })
}
