//! Steps that run on the LWAMS server itself: commands and library scripts without
//! `lwams:host`, and file operations "in cloud". Only trusted companies may run them
//! (checked here again when the step runs: a `${…}` host can resolve to nothing); they
//! run through the one confined child-process runner (`security::confined`) in the
//! instance's working directory, and their paths stay inside it.

use crate::agents::reach::Reach;
use crate::security::confined::ConfinedRunError;
use crate::security::trust::not_on_server;
use agent::executors::local::{CommandResult, LocalCommand, LocalCommandError, OnOutput};
use agent::executors::script;
use shared::agent::FileTool;
use shared::dto::script::ScriptKind;
use shared::dto::Id;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

/// Where a step runs.
#[derive(Debug, Clone, Copy)]
pub struct StepAt {
    pub company_id: Id,
    pub instance_id: Id,
    /// When the step runs (milliseconds since the epoch).
    pub now: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerStepError {
    #[error("{0}")]
    Refused(String),
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    Failed(String),
}

impl From<ConfinedRunError> for ServerStepError {
    fn from(e: ConfinedRunError) -> Self {
        match e {
            ConfinedRunError::Run(LocalCommandError::Cancelled) => ServerStepError::Cancelled,
            other => ServerStepError::Failed(other.to_string()),
        }
    }
}

/// The instance's working directory, once the company may run `what` on the server.
async fn instance_dir(reach: &Reach, at: &StepAt, what: &str) -> Result<PathBuf, ServerStepError> {
    let trusted = reach
        .trust
        .is_trusted(at.company_id)
        .await
        .map_err(|e| ServerStepError::Failed(e.to_string()))?;
    if !trusted {
        return Err(ServerStepError::Refused(not_on_server(what)));
    }
    reach
        .confinement
        .work_dir(at.company_id, at.instance_id)
        .map_err(|e| ServerStepError::Failed(e.to_string()))
}

/// `path` (a step's parameter) inside `base`: relative, without `..` or NUL; an
/// absolute path only when the node allows it (`lwams:anyPath="true"`; the step's
/// confinement still decides what it can reach).
pub fn inside(base: &Path, field: &str, path: &str, any_path: bool) -> Result<PathBuf, String> {
    if path.contains('\0') {
        return Err(format!("{field}: a path cannot hold a NUL character"));
    }
    let p = Path::new(path.trim());
    if p.components().any(|c| c == Component::ParentDir) {
        return Err(format!(
            "{field}: {path:?} leaves the step's directory (`..`); give a path inside it"
        ));
    }
    if p.is_absolute() {
        if any_path {
            return Ok(p.to_path_buf());
        }
        return Err(format!(
            "{field}: {path:?} is absolute; steps on the server work inside their instance's \
             directory (give a relative path, or set anyPath on the node)"
        ));
    }
    Ok(base.join(p))
}

/// How many `..` components `path` has (`/` or `\` separated: a path for any machine).
pub fn climbs(path: &str) -> usize {
    path.split(['/', '\\']).filter(|c| c.trim() == "..").count()
}

/// Whether the node allows any path (`lwams:anyPath="true"`).
pub fn any_path(n: &super::compile::ExecNode) -> bool {
    n.lwams
        .get("anyPath")
        .is_some_and(|v| matches!(v.trim(), "true" | "1" | "yes"))
}

/// A command (`lwams:command`, its values in `req.env`, never in its text) on the
/// server.
pub async fn command(
    reach: &Reach,
    at: &StepAt,
    n: &super::compile::ExecNode,
    req: &LocalCommand,
    cancel: impl std::future::Future<Output = ()>,
    on_output: OnOutput<'_>,
) -> Result<CommandResult, ServerStepError> {
    let base = instance_dir(reach, at, "this command").await?;
    let dir = step_dir(&base, n, req.work_dir.as_deref())?;
    Ok(reach
        .confinement
        .run(&req.command, &dir, &req.env, req.timeout, cancel, on_output)
        .await?)
}

/// `lwams:workDir` inside the instance's directory (created when missing).
fn step_dir(
    base: &Path,
    n: &super::compile::ExecNode,
    work_dir: Option<&str>,
) -> Result<PathBuf, ServerStepError> {
    match work_dir.filter(|d| !d.trim().is_empty()) {
        None => Ok(base.to_path_buf()),
        Some(d) => {
            let dir = inside(base, "workDir", d, any_path(n)).map_err(ServerStepError::Refused)?;
            if dir.starts_with(base) {
                std::fs::create_dir_all(&dir)
                    .map_err(|e| ServerStepError::Failed(format!("workDir {d}: {e}")))?;
            }
            Ok(dir)
        }
    }
}

/// A library script on the server: saved in a fresh directory inside the instance's,
/// run by its interpreter with its values in the environment (`env`), removed.
#[allow(clippy::too_many_arguments)]
pub async fn script(
    reach: &Reach,
    at: &StepAt,
    n: &super::compile::ExecNode,
    kind: ScriptKind,
    name: &str,
    body: &str,
    env: &[(String, String)],
    work_dir: Option<&str>,
    timeout: Duration,
    cancel: impl std::future::Future<Output = ()>,
    on_output: OnOutput<'_>,
) -> Result<CommandResult, ServerStepError> {
    let base = instance_dir(reach, at, "this script").await?;
    let dir = step_dir(&base, n, work_dir)?;
    // Saved inside the step's working directory: the one directory a confined step may
    // read (Landlock), whatever its `workDir`.
    let saved = script::save_local(kind, name, body, Some(&dir))
        .map_err(|e| ServerStepError::Failed(e.to_string()))?;
    let ran = async {
        for p in [&saved.dir, &saved.path] {
            reach.confinement.give(p).map_err(|e| {
                ServerStepError::Failed(format!("cannot hand the script over: {e}"))
            })?;
        }
        Ok::<_, ServerStepError>(
            reach
                .confinement
                .run(&saved.command, &dir, env, timeout, cancel, on_output)
                .await?,
        )
    }
    .await;
    let _ = tokio::fs::remove_dir_all(&saved.dir).await;
    ran
}

/// A file operation "in cloud": carried out by a confined `sh` with the paths (and the
/// content to write, through a file) passed as environment values, never as code.
#[allow(clippy::too_many_arguments)]
pub async fn file_op(
    reach: &Reach,
    at: &StepAt,
    n: &super::compile::ExecNode,
    tool: FileTool,
    filename: &str,
    new_filename: Option<&str>,
    content: Option<&str>,
    timeout: Duration,
    cancel: impl std::future::Future<Output = ()>,
) -> Result<CommandResult, ServerStepError> {
    let base = instance_dir(reach, at, "this file operation").await?;
    let any = any_path(n);
    let file = inside(&base, "filename", filename, any).map_err(ServerStepError::Refused)?;
    let mut env = vec![
        (
            "LWAMS_FILE".to_string(),
            file.to_string_lossy().into_owned(),
        ),
        ("LWAMS_SHOWN".to_string(), filename.to_string()),
    ];
    // The content goes through a file the server writes in a fresh directory of its
    // own making (no symbolic link of the step's can redirect it).
    let mut staged = None;
    let script = match tool {
        FileTool::Read => "cat -- \"$LWAMS_FILE\"",
        FileTool::Write => {
            let (dir, path) = stage(&base, content.unwrap_or(""))
                .map_err(|e| ServerStepError::Failed(format!("cannot stage the content: {e}")))?;
            staged = Some(dir.clone());
            for p in [&dir, &path] {
                reach
                    .confinement
                    .give(p)
                    .map_err(|e| ServerStepError::Failed(e.to_string()))?;
            }
            env.push(("LWAMS_CONTENT".into(), path.to_string_lossy().into_owned()));
            "cat -- \"$LWAMS_CONTENT\" > \"$LWAMS_FILE\" && \
             printf 'wrote %s bytes to %s\\n' \"$(wc -c < \"$LWAMS_FILE\" | tr -d ' ')\" \"$LWAMS_SHOWN\""
        }
        FileTool::Rename => {
            let to = new_filename
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    ServerStepError::Refused(format!("newFilename: where to rename {filename} to"))
                })?;
            let target = inside(&base, "newFilename", to, any).map_err(ServerStepError::Refused)?;
            env.push(("LWAMS_TARGET".into(), target.to_string_lossy().into_owned()));
            env.push(("LWAMS_TARGET_SHOWN".into(), to.to_string()));
            "mv -- \"$LWAMS_FILE\" \"$LWAMS_TARGET\" && \
             printf 'renamed %s to %s\\n' \"$LWAMS_SHOWN\" \"$LWAMS_TARGET_SHOWN\""
        }
        FileTool::Delete => "rm -- \"$LWAMS_FILE\" && printf 'deleted %s\\n' \"$LWAMS_SHOWN\"",
    };
    let ran = reach
        .confinement
        .run(
            script,
            &base,
            &env,
            timeout,
            cancel,
            &agent::executors::local::ignore_output,
        )
        .await;
    if let Some(dir) = staged {
        let _ = tokio::fs::remove_dir_all(dir).await;
    }
    Ok(ran?)
}

/// Writes `content` into a new directory of the server's making inside `base`
/// (`create_dir` and `create_new` never follow a link the step may have left).
fn stage(base: &Path, content: &str) -> std::io::Result<(PathBuf, PathBuf)> {
    let dir = base.join(format!(".lwams-content-{:016x}", rand::random::<u64>()));
    std::fs::create_dir(&dir)?;
    let path = dir.join("content");
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, content.as_bytes()));
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(e);
    }
    Ok((dir, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_steps_directory_unless_the_node_allows_any() {
        let base = Path::new("/data/steps/1/7");
        assert_eq!(
            inside(base, "filename", "out/report.txt", false).unwrap(),
            base.join("out/report.txt")
        );
        for bad in ["../../secret.key", "a/../../b", "/etc/passwd", "a\0b"] {
            let e = inside(base, "filename", bad, false).unwrap_err();
            assert!(e.starts_with("filename: "), "{e}");
        }
        assert_eq!(
            inside(base, "filename", "/tmp/x", true).unwrap(),
            Path::new("/tmp/x")
        );
        assert!(
            inside(base, "filename", "../x", true).is_err(),
            "`..` never"
        );
        assert_eq!(climbs("a/../b\\..\\c/.../ .. "), 3);
        assert_eq!(climbs("/srv/app/log.txt"), 0);
    }
}
