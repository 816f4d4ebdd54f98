//! File operation steps (SPEC §5.1): read, write, rename/move or delete a file on the
//! agent's machine (or the server's, "in cloud"). `read` returns the content (at most
//! [`OUTPUT_CAP`]) as the step's output; the others say what they did.

use shared::agent::{CommandResult, FileTool, OUTPUT_CAP};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

#[derive(Debug, thiserror::Error)]
pub enum FileOpError {
    #[error("filename: which file")]
    NoFile,
    #[error("newFilename: where to rename {0} to")]
    NoTarget(String),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("cancelled")]
    Cancelled,
}

/// Carries out `tool` on `filename` until it ends, `timeout` passes or `cancel` completes.
pub async fn run(
    tool: FileTool,
    filename: &str,
    new_filename: Option<&str>,
    content: Option<&str>,
    timeout: Duration,
    cancel: impl std::future::Future<Output = ()>,
) -> Result<CommandResult, FileOpError> {
    let started = Instant::now();
    let work = async {
        let file = filename.trim();
        if file.is_empty() {
            return Err(FileOpError::NoFile);
        }
        let io = |e| FileOpError::Io(file.to_string(), e);
        let mut result = CommandResult {
            exit_code: Some(0),
            ..CommandResult::default()
        };
        match tool {
            FileTool::Read => {
                let f = tokio::fs::File::open(file).await.map_err(io)?;
                let mut kept = Vec::new();
                f.take(OUTPUT_CAP as u64 + 1)
                    .read_to_end(&mut kept)
                    .await
                    .map_err(io)?;
                result.truncated = kept.len() > OUTPUT_CAP;
                kept.truncate(OUTPUT_CAP);
                result.stdout = String::from_utf8_lossy(&kept).into_owned();
            }
            FileTool::Write => {
                let text = content.unwrap_or("");
                tokio::fs::write(file, text).await.map_err(io)?;
                result.stdout = format!("wrote {} bytes to {file}\n", text.len());
            }
            FileTool::Rename => {
                let to = new_filename
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| FileOpError::NoTarget(file.to_string()))?;
                if tokio::fs::rename(file, to).await.is_err() {
                    // Across file systems: copy, then remove the original.
                    tokio::fs::copy(file, to).await.map_err(io)?;
                    tokio::fs::remove_file(file).await.map_err(io)?;
                }
                result.stdout = format!("renamed {file} to {to}\n");
            }
            FileTool::Delete => {
                tokio::fs::remove_file(file).await.map_err(io)?;
                result.stdout = format!("deleted {file}\n");
            }
        }
        result.duration_ms = started.elapsed().as_millis() as u64;
        Ok(result)
    };
    tokio::select! {
        r = tokio::time::timeout(timeout, work) => r.unwrap_or(Err(FileOpError::Timeout(timeout))),
        _ = cancel => Err(FileOpError::Cancelled),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn write_read_rename_and_delete_a_file_and_name_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.txt");
        let b = dir.path().join("b.txt");
        let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
        let t = Duration::from_secs(5);
        let never = || std::future::pending::<()>();
        run(FileTool::Write, a, None, Some("héllo\n"), t, never())
            .await
            .unwrap();
        let r = run(FileTool::Read, a, None, None, t, never())
            .await
            .unwrap();
        assert_eq!(r.stdout, "héllo\n");
        run(FileTool::Rename, a, Some(b), None, t, never())
            .await
            .unwrap();
        assert!(!std::path::Path::new(a).exists());
        assert_eq!(std::fs::read_to_string(b).unwrap(), "héllo\n");
        run(FileTool::Delete, b, None, None, t, never())
            .await
            .unwrap();
        assert!(!std::path::Path::new(b).exists());
        let e = run(FileTool::Read, b, None, None, t, never())
            .await
            .unwrap_err();
        assert!(e.to_string().starts_with(b), "{e}");
        let e = run(FileTool::Rename, a, None, None, t, never())
            .await
            .unwrap_err();
        assert!(e.to_string().starts_with("newFilename"), "{e}");
    }
}
