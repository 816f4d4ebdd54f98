//! File distribution over SFTP on the pooled SSH connection of a terminal account:
//! GET copies the terminal's file to the agent's machine, PUT the other way. Files are
//! streamed in chunks; a partial download is removed.

use super::ssh::{SshError, SshPool, SshTarget};
use russh_sftp::client::SftpSession;
use shared::agent::{CommandResult, Direction};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error(transparent)]
    Ssh(#[from] SshError),
    #[error("sftp: {0}")]
    Sftp(String),
    #[error("{path}: {source}")]
    Local {
        path: String,
        source: std::io::Error,
    },
    #[error("remote {path}: {message}")]
    Remote { path: String, message: String },
}

fn remote(path: &str) -> impl Fn(russh_sftp::client::error::Error) -> TransferError + '_ {
    move |e| TransferError::Remote {
        path: path.to_string(),
        message: e.to_string(),
    }
}

fn local(path: &str) -> impl Fn(std::io::Error) -> TransferError + '_ {
    move |source| TransferError::Local {
        path: path.to_string(),
        source,
    }
}

/// Copies one file; the result says what moved (`stdout`) with exit code 0.
pub async fn transfer(
    pool: &SshPool,
    t: &SshTarget,
    direction: Direction,
    local_file: &str,
    remote_file: &str,
    timeout: Duration,
    cancel: impl std::future::Future<Output = ()>,
) -> Result<CommandResult, TransferError> {
    let started = Instant::now();
    let work = async {
        let channel = pool.channel(t).await?;
        channel
            .request_subsystem(true, "sftp")
            .await
            .map_err(|e| TransferError::Sftp(e.to_string()))?;
        let sftp = SftpSession::new(channel.into_stream())
            .await
            .map_err(|e| TransferError::Sftp(e.to_string()))?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut bytes = 0u64;
        match direction {
            Direction::Put => {
                let mut from = tokio::fs::File::open(local_file)
                    .await
                    .map_err(local(local_file))?;
                let mut to = sftp
                    .create(remote_file)
                    .await
                    .map_err(remote(remote_file))?;
                loop {
                    let n = from.read(&mut buf).await.map_err(local(local_file))?;
                    if n == 0 {
                        break;
                    }
                    to.write_all(&buf[..n])
                        .await
                        .map_err(|e| TransferError::Remote {
                            path: remote_file.to_string(),
                            message: e.to_string(),
                        })?;
                    bytes += n as u64;
                }
                to.shutdown().await.map_err(|e| TransferError::Remote {
                    path: remote_file.to_string(),
                    message: e.to_string(),
                })?;
            }
            Direction::Get => {
                let mut from = sftp.open(remote_file).await.map_err(remote(remote_file))?;
                let mut to = tokio::fs::File::create(local_file)
                    .await
                    .map_err(local(local_file))?;
                let copied = async {
                    loop {
                        let n = from
                            .read(&mut buf)
                            .await
                            .map_err(|e| TransferError::Remote {
                                path: remote_file.to_string(),
                                message: e.to_string(),
                            })?;
                        if n == 0 {
                            break;
                        }
                        to.write_all(&buf[..n]).await.map_err(local(local_file))?;
                        bytes += n as u64;
                    }
                    to.flush().await.map_err(local(local_file))
                }
                .await;
                if let Err(e) = copied {
                    let _ = tokio::fs::remove_file(local_file).await;
                    return Err(e);
                }
            }
        }
        let _ = sftp.close().await;
        Ok(bytes)
    };
    let bytes = tokio::select! {
        r = tokio::time::timeout(timeout, work) => r.map_err(|_| TransferError::Ssh(SshError::Timeout(timeout)))??,
        _ = cancel => return Err(TransferError::Ssh(SshError::Cancelled)),
    };
    let (what, from, to) = match direction {
        Direction::Get => ("GET", remote_file, local_file),
        Direction::Put => ("PUT", local_file, remote_file),
    };
    Ok(CommandResult {
        exit_code: Some(0),
        stdout: format!("{what} {from} → {to}: {bytes} bytes\n"),
        stderr: String::new(),
        truncated: false,
        duration_ms: started.elapsed().as_millis() as u64,
    })
}
