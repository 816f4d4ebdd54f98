//! File distribution over SCP (the classic `scp -t` / `scp -f` protocol that OpenSSH's
//! remote side still speaks) on the pooled SSH connection, for terminals without an
//! SFTP subsystem. One regular file per transfer; a partial download is removed.

use super::ssh::{SshPool, SshTarget};
use super::transfer::{local, TransferError};
use shared::agent::Direction;
use shared::vars::sh_quote;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

/// The largest control line the remote side may send.
const LINE_MAX: usize = 4096;

fn scp_error(m: impl Into<String>) -> TransferError {
    TransferError::Scp(m.into())
}

/// Reads one acknowledgement: 0 is fine; 1 (warning) and 2 (error) carry a message.
async fn ack(r: &mut (impl AsyncBufReadExt + Unpin), path: &str) -> Result<(), TransferError> {
    let code = r
        .read_u8()
        .await
        .map_err(|e| scp_error(format!("the remote side closed: {e}")))?;
    if code == 0 {
        return Ok(());
    }
    let line = read_line(r).await?;
    Err(TransferError::Remote {
        path: path.to_string(),
        message: line.trim_start_matches("scp: ").to_string(),
    })
}

async fn read_line(r: &mut (impl AsyncBufReadExt + Unpin)) -> Result<String, TransferError> {
    let mut line = Vec::new();
    let mut limited = r.take(LINE_MAX as u64);
    limited
        .read_until(b'\n', &mut line)
        .await
        .map_err(|e| scp_error(e.to_string()))?;
    if line.last() != Some(&b'\n') {
        return Err(scp_error("the remote side sent no complete control line"));
    }
    line.pop();
    Ok(String::from_utf8_lossy(&line).into_owned())
}

/// Copies one file; the number of bytes copied.
pub async fn copy(
    pool: &SshPool,
    t: &SshTarget,
    direction: Direction,
    local_file: &str,
    remote_file: &str,
) -> Result<u64, TransferError> {
    let channel = pool.channel(t).await?;
    let command = match direction {
        Direction::Put => format!("scp -t -- {}", sh_quote(remote_file)),
        Direction::Get => format!("scp -f -- {}", sh_quote(remote_file)),
    };
    channel
        .exec(true, command)
        .await
        .map_err(|e| scp_error(e.to_string()))?;
    let stream = channel.into_stream();
    let (read, write) = tokio::io::split(stream);
    let mut read = BufReader::new(read);
    match direction {
        Direction::Put => put(&mut read, write, local_file, remote_file).await,
        Direction::Get => {
            let r = get(&mut read, write, local_file, remote_file).await;
            if r.is_err() {
                let _ = tokio::fs::remove_file(local_file).await;
            }
            r
        }
    }
}

async fn put(
    read: &mut (impl AsyncBufReadExt + Unpin),
    mut write: impl AsyncWrite + Unpin,
    local_file: &str,
    remote_file: &str,
) -> Result<u64, TransferError> {
    let mut from = tokio::fs::File::open(local_file)
        .await
        .map_err(local(local_file))?;
    let size = from.metadata().await.map_err(local(local_file))?.len();
    let name = std::path::Path::new(remote_file)
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.contains('\n'))
        .ok_or_else(|| scp_error(format!("{remote_file}: not a file name")))?
        .to_string();
    let io = |e: std::io::Error| scp_error(e.to_string());
    ack(read, remote_file).await?;
    write
        .write_all(format!("C0644 {size} {name}\n").as_bytes())
        .await
        .map_err(io)?;
    ack(read, remote_file).await?;
    let copied = tokio::io::copy(&mut (&mut from).take(size), &mut write)
        .await
        .map_err(local(local_file))?;
    if copied != size {
        return Err(scp_error(format!("{local_file} changed while it was sent")));
    }
    write.write_all(&[0]).await.map_err(io)?;
    write.flush().await.map_err(io)?;
    ack(read, remote_file).await?;
    let _ = write.shutdown().await;
    Ok(size)
}

async fn get(
    read: &mut (impl AsyncBufReadExt + AsyncRead + Unpin),
    mut write: impl AsyncWrite + Unpin,
    local_file: &str,
    remote_file: &str,
) -> Result<u64, TransferError> {
    let io = |e: std::io::Error| scp_error(e.to_string());
    write.write_all(&[0]).await.map_err(io)?;
    write.flush().await.map_err(io)?;
    let code = read
        .read_u8()
        .await
        .map_err(|e| scp_error(format!("the remote side closed: {e}")))?;
    let line = read_line(read).await?;
    if code != b'C' {
        let message = line.trim_start_matches("scp: ").to_string();
        return Err(TransferError::Remote {
            path: remote_file.to_string(),
            message: if code == 1 || code == 2 {
                message
            } else {
                format!("not a regular file ({}{message})", code as char)
            },
        });
    }
    // "C<mode> <size> <name>"
    let size: u64 = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| scp_error(format!("unreadable file header {line:?}")))?;
    write.write_all(&[0]).await.map_err(io)?;
    write.flush().await.map_err(io)?;
    let mut to = tokio::fs::File::create(local_file)
        .await
        .map_err(local(local_file))?;
    let copied = tokio::io::copy(&mut (&mut *read).take(size), &mut to)
        .await
        .map_err(|e| TransferError::Remote {
            path: remote_file.to_string(),
            message: e.to_string(),
        })?;
    to.flush().await.map_err(local(local_file))?;
    if copied != size {
        return Err(TransferError::Remote {
            path: remote_file.to_string(),
            message: format!("the connection ended after {copied} of {size} bytes"),
        });
    }
    ack(read, remote_file).await?;
    write.write_all(&[0]).await.map_err(io)?;
    let _ = write.shutdown().await;
    Ok(size)
}
