//! File distribution over SFTP on the pooled SSH connection of a terminal account.
//! Files are streamed in 64 KB chunks; a partial download is removed.

use super::ssh::{SshPool, SshTarget};
use super::transfer::{local, TransferError};
use russh_sftp::client::SftpSession;
use shared::agent::Direction;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn remote(path: &str) -> impl Fn(russh_sftp::client::error::Error) -> TransferError + '_ {
    move |e| TransferError::Remote {
        path: path.to_string(),
        message: e.to_string(),
    }
}

/// Copies one file; the number of bytes copied.
pub async fn copy(
    pool: &SshPool,
    t: &SshTarget,
    direction: Direction,
    local_file: &str,
    remote_file: &str,
) -> Result<u64, TransferError> {
    {
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
    }
}
