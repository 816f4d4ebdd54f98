//! Scripts of the library: the body (values already substituted by the server) is saved
//! as a file named after the script with its language's extension, run by that
//! language's interpreter, and removed. On a terminal the file goes into a private
//! `mktemp -d` directory, fed through the command's standard input (no size limit of a
//! command line, nothing of the body in `ps`); on a Windows terminal over WinRM the same
//! way, by a PowerShell launcher that reads the body (base64) from standard input into a
//! fresh directory under the user's `%TEMP%` (how Ansible feeds its modules); on the
//! agent's own machine it is written by the agent.

use super::local::{self, LocalCommand, LocalCommandError, OnOutput};
use super::ssh::{SshError, SshPool, SshTarget};
use super::winrm::{self, WinrmError, WinrmTarget};
use base64::Engine;
use shared::agent::{Artifact, CommandResult, ARTIFACT_LIMITS};
use shared::dto::script::ScriptKind;
use shared::vars::sh_quote;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("{0} scripts run in SQL steps, not as commands")]
    NotACommand(&'static str),
    #[error("{0} scripts run only on Windows machines")]
    WindowsOnly(&'static str),
    #[error("cannot save the script: {0}")]
    Save(std::io::Error),
    #[error(transparent)]
    Local(#[from] LocalCommandError),
    #[error(transparent)]
    Ssh(#[from] SshError),
    #[error(transparent)]
    Winrm(#[from] WinrmError),
}

/// The file name a script is saved as: its library name made safe, and the extension.
pub fn file_name(kind: ScriptKind, name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    let stem = if stem.trim_matches('_').is_empty() {
        "script".to_string()
    } else {
        stem
    };
    format!("{stem}.{}", kind.extension())
}

/// The command that runs the saved script at `path` (already quoted for the shell that
/// runs the command: `sh` on POSIX, `cmd` on Windows).
pub fn interpreter(kind: ScriptKind, path: &str, windows: bool) -> Result<String, ScriptError> {
    Ok(match (kind, windows) {
        (ScriptKind::Sql, _) => return Err(ScriptError::NotACommand(kind.label())),
        (ScriptKind::Sh, _) => format!("sh {path}"),
        (ScriptKind::Bash, _) => format!("bash {path}"),
        (ScriptKind::Java, _) => format!("java {path}"),
        (ScriptKind::Python, true) => format!("python {path}"),
        (ScriptKind::Python, false) => format!(
            "py=$(command -v python3 || command -v python) || \
             {{ echo 'python3 is not installed' >&2; exit 127; }}; \"$py\" {path}"
        ),
        (ScriptKind::Powershell, true) => format!(
            "powershell -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -File {path}"
        ),
        (ScriptKind::Powershell, false) => {
            format!("pwsh -NoLogo -NoProfile -NonInteractive -File {path}")
        }
        (ScriptKind::Bat, true) => format!("call {path}"),
        (ScriptKind::Vbs, true) => format!("cscript //Nologo {path}"),
        (ScriptKind::Bat | ScriptKind::Vbs, false) => {
            return Err(ScriptError::WindowsOnly(kind.label()))
        }
    })
}

/// The `sh` command that saves standard input as the script in a private temporary
/// directory, runs it (in `work_dir` when given) and removes it, keeping its exit code.
pub fn posix_launcher(
    kind: ScriptKind,
    name: &str,
    work_dir: Option<&str>,
) -> Result<String, ScriptError> {
    let run = interpreter(kind, "\"$f\"", false)?;
    let cd = match work_dir.filter(|d| !d.trim().is_empty()) {
        Some(d) => format!("cd {} && ", sh_quote(d)),
        None => String::new(),
    };
    Ok(format!(
        "d=$(mktemp -d \"${{TMPDIR:-/tmp}}/lwams-script.XXXXXX\") || exit 125\n\
         f=\"$d\"/{file}\n\
         cat > \"$f\" || {{ rm -rf \"$d\"; exit 125; }}\n\
         ({cd}{run})\n\
         rc=$?; rm -rf \"$d\"; exit $rc\n",
        file = sh_quote(&file_name(kind, name)),
    ))
}

/// The body as saved: with a final line break (cmd and some interpreters ignore an
/// unterminated last line); on Windows as its interpreter reads it best: batch files
/// with CRLF line ends (cmd mis-jumps to labels in LF-only files), VBScript in UTF-16
/// with a byte-order mark (WSH reads UTF-8 as the ANSI code page), PowerShell in UTF-8
/// with a byte-order mark (Windows PowerShell 5 reads it as ANSI otherwise).
fn saved_body(kind: ScriptKind, body: &str, windows: bool) -> Vec<u8> {
    let mut text = body.replace('\0', "");
    if !text.ends_with('\n') {
        text.push('\n');
    }
    if !windows {
        return text.into_bytes();
    }
    let crlf = || text.replace("\r\n", "\n").replace('\n', "\r\n");
    match kind {
        ScriptKind::Bat => crlf().into_bytes(),
        ScriptKind::Vbs => [0xFF, 0xFE]
            .into_iter()
            .chain(crlf().encode_utf16().flat_map(u16::to_le_bytes))
            .collect(),
        ScriptKind::Powershell => [0xEF, 0xBB, 0xBF]
            .into_iter()
            .chain(text.into_bytes())
            .collect(),
        _ => text.into_bytes(),
    }
}

/// Runs the script on a terminal over SSH.
#[allow(clippy::too_many_arguments)]
pub async fn run_ssh(
    pool: &SshPool,
    t: &SshTarget,
    kind: ScriptKind,
    name: &str,
    body: &str,
    work_dir: Option<&str>,
    timeout: Duration,
    cancel: impl std::future::Future<Output = ()>,
    on_output: OnOutput<'_>,
) -> Result<CommandResult, ScriptError> {
    let command = posix_launcher(kind, name, work_dir)?;
    Ok(pool
        .run_fed(
            t,
            &command,
            &saved_body(kind, body, false),
            timeout,
            cancel,
            on_output,
        )
        .await?)
}

/// How the Windows launcher runs the saved script `$f`, in PowerShell: the interpreter
/// of [`interpreter`], called directly (no path passes through cmd's quoting); batch
/// files by `cmd` (`call` is cmd's own).
fn windows_runner(kind: ScriptKind) -> Result<String, ScriptError> {
    Ok(match kind {
        ScriptKind::Bat => "& cmd.exe /d /c $f".to_string(),
        _ => format!("& {}", interpreter(kind, "$f", true)?),
    })
}

/// The PowerShell script that saves its standard input (the body, base64) as the script
/// `@FILE@` in a fresh directory under `%TEMP%`, runs it (`@RUN@`) in the shell's
/// working directory, removes the directory and exits with the script's exit code
/// (9009 when the interpreter is missing, never 0).
const WINDOWS_LAUNCHER: &str = r#"$ErrorActionPreference = 'Stop'
try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding } catch { }
$d = Join-Path ([IO.Path]::GetTempPath()) ('lwams-script-' + [Guid]::NewGuid().ToString('N'))
$null = New-Item -ItemType Directory -Path $d
$rc = 125
try {
    $f = Join-Path $d '@FILE@'
    $b64 = ($input | Out-String) -replace '\s', ''
    [IO.File]::WriteAllBytes($f, [Convert]::FromBase64String($b64))
    $ErrorActionPreference = 'Continue'
    @RUN@
    # No exit code: the interpreter was not found (PowerShell said so on stderr); 9009
    # is cmd's code for that.
    $rc = if ($null -ne $LASTEXITCODE) { $LASTEXITCODE } else { 9009 }
} finally {
    Remove-Item -LiteralPath $d -Recurse -Force -ErrorAction SilentlyContinue
}
exit $rc
"#;

/// [`WINDOWS_LAUNCHER`] for a script of `kind` named `name`.
pub fn windows_launcher(kind: ScriptKind, name: &str) -> Result<String, ScriptError> {
    let run = windows_runner(kind)?;
    // `file_name` keeps only ASCII letters, digits, `-`, `_` and the extension: safe
    // inside single quotes.
    Ok(WINDOWS_LAUNCHER
        .replace("@FILE@", &file_name(kind, name))
        .replace("@RUN@", &run))
}

/// Runs the script on a Windows terminal over WinRM: `powershell -EncodedCommand` with
/// [`windows_launcher`], the body fed as base64 through standard input (no
/// command-line limit on its size).
#[allow(clippy::too_many_arguments)]
pub async fn run_winrm(
    t: &WinrmTarget,
    kind: ScriptKind,
    name: &str,
    body: &str,
    work_dir: Option<&str>,
    timeout: Duration,
    cancel: impl std::future::Future<Output = ()>,
    on_output: OnOutput<'_>,
) -> Result<CommandResult, ScriptError> {
    let command = winrm::powershell_command(&windows_launcher(kind, name)?);
    let stdin = base64::engine::general_purpose::STANDARD.encode(saved_body(kind, body, true));
    Ok(winrm::run_fed(
        t,
        &command,
        Some(stdin.as_bytes()),
        work_dir,
        timeout,
        cancel,
        on_output,
    )
    .await?)
}

/// A fresh private directory for one script run on this machine, under `parent` or
/// the temp directory.
fn private_dir(parent: Option<&Path>) -> Result<PathBuf, std::io::Error> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = parent.map(Path::to_path_buf).unwrap_or_else(std::env::temp_dir).join(format!(
        "lwams-script-{}-{nanos:x}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let mut b = std::fs::DirBuilder::new();
    // Private to the agent's user where the platform has modes (Windows: the user's
    // own temp directory already is).
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    #[cfg(not(unix))]
    let _ = &mut b;
    b.create(&dir)?;
    Ok(dir)
}

fn quoted_path(path: &Path, windows: bool) -> String {
    let p = path.to_string_lossy();
    if windows {
        format!("\"{p}\"")
    } else {
        sh_quote(&p)
    }
}

/// A script saved on this machine to be run: its private directory (remove it after)
/// and the command that runs it.
#[derive(Debug)]
pub struct SavedScript {
    pub dir: PathBuf,
    pub path: PathBuf,
    pub command: String,
}

/// Saves `body` in a fresh private directory under `parent` (default: the temp
/// directory) as its interpreter reads it; refused before anything is written when the
/// language cannot run here.
pub fn save_local(
    kind: ScriptKind,
    name: &str,
    body: &str,
    parent: Option<&Path>,
) -> Result<SavedScript, ScriptError> {
    let windows = cfg!(windows);
    interpreter(kind, "", windows)?;
    let dir = private_dir(parent).map_err(ScriptError::Save)?;
    let path = dir.join(file_name(kind, name));
    let saved = std::fs::write(&path, saved_body(kind, body, windows))
        .map_err(ScriptError::Save)
        .and_then(|_| interpreter(kind, &quoted_path(&path, windows), windows));
    match saved {
        Ok(command) => Ok(SavedScript { dir, path, command }),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            Err(e)
        }
    }
}

/// Runs the script on this machine (the agent's host).
pub async fn run_local(
    kind: ScriptKind,
    name: &str,
    body: &str,
    work_dir: Option<String>,
    timeout: Duration,
    cancel: impl std::future::Future<Output = ()>,
    on_output: OnOutput<'_>,
) -> Result<CommandResult, ScriptError> {
    let saved = save_local(kind, name, body, None)?;
    let req = LocalCommand {
        command: saved.command.clone(),
        work_dir,
        timeout,
    };
    let ran = local::run_until(&req, cancel, on_output).await;
    let _ = tokio::fs::remove_dir_all(&saved.dir).await;
    Ok(ran?)
}

/// Runs an RPA script on this machine in a fresh directory (its working directory),
/// then brings back the files it left there and removes the directory.
pub async fn run_rpa(
    kind: ScriptKind,
    name: &str,
    body: &str,
    timeout: Duration,
    cancel: impl std::future::Future<Output = ()>,
    on_output: OnOutput<'_>,
) -> Result<(CommandResult, Vec<Artifact>), ScriptError> {
    let dir = private_dir(None).map_err(ScriptError::Save)?;
    let ran = run_local(
        kind,
        name,
        body,
        Some(dir.to_string_lossy().into_owned()),
        timeout,
        cancel,
        on_output,
    )
    .await;
    let artifacts = match &ran {
        Ok(_) => collect(&dir),
        Err(_) => Vec::new(),
    };
    let _ = tokio::fs::remove_dir_all(&dir).await;
    Ok((ran?, artifacts))
}

/// The files under `dir` (sorted by path, `/`-separated), with their content within
/// [`ARTIFACT_LIMITS`].
pub fn collect(dir: &Path) -> Vec<Artifact> {
    let (max_files, max_file, max_total) = ARTIFACT_LIMITS;
    let mut files = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), 0usize)];
    while let Some((d, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(kind) = e.file_type() else { continue };
            if kind.is_dir() && depth < 8 {
                stack.push((e.path(), depth + 1));
            } else if kind.is_file() {
                let size = e.metadata().map(|m| m.len()).unwrap_or(0);
                files.push((e.path(), size));
            }
        }
    }
    files.sort();
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut total = 0u64;
    files
        .into_iter()
        .enumerate()
        .map(|(i, (path, size))| {
            let name = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let fits = i < max_files && size <= max_file && total + size <= max_total;
            let content = fits
                .then(|| std::fs::read(&path).ok())
                .flatten()
                .map(|bytes| {
                    total += bytes.len() as u64;
                    b64.encode(bytes)
                });
            Artifact {
                name,
                size,
                content,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use local::ignore_output;

    #[test]
    fn file_names_are_safe_and_keep_the_extension() {
        assert_eq!(
            file_name(ScriptKind::Python, "sys info/../x"),
            "sys_info____x.py"
        );
        assert_eq!(file_name(ScriptKind::Powershell, "系统"), "script.ps1");
        assert_eq!(file_name(ScriptKind::Java, "Hello"), "Hello.java");
    }

    #[test]
    fn windows_only_and_sql_scripts_are_refused_where_they_cannot_run() {
        assert!(matches!(
            interpreter(ScriptKind::Bat, "x", false),
            Err(ScriptError::WindowsOnly(_))
        ));
        assert!(matches!(
            interpreter(ScriptKind::Sql, "x", true),
            Err(ScriptError::NotACommand(_))
        ));
        assert_eq!(
            interpreter(ScriptKind::Vbs, "\"C:\\t\\a.vbs\"", true).unwrap(),
            "cscript //Nologo \"C:\\t\\a.vbs\""
        );
    }

    #[test]
    fn the_windows_launcher_saves_the_script_under_its_name_and_runs_its_interpreter() {
        for (kind, file, run) in [
            (ScriptKind::Bat, "'nightly_report.bat'", "& cmd.exe /d /c $f\n"),
            (ScriptKind::Vbs, "'nightly_report.vbs'", "& cscript //Nologo $f\n"),
            (ScriptKind::Python, "'nightly_report.py'", "& python $f\n"),
            (ScriptKind::Java, "'nightly_report.java'", "& java $f\n"),
            (
                ScriptKind::Powershell,
                "'nightly_report.ps1'",
                "& powershell -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -File $f\n",
            ),
        ] {
            let l = windows_launcher(kind, "nightly report").unwrap();
            assert!(l.contains(&format!("$f = Join-Path $d {file}\n")), "{l}");
            assert!(l.contains(&format!("    {run}")), "{l}");
            assert!(l.contains("($input | Out-String)"), "{l}");
            assert!(!l.contains('@'), "every placeholder is filled: {l}");
            // One `-EncodedCommand` fits cmd's command line with room to spare.
            let line = winrm::powershell_command(&l);
            assert!(line.len() < winrm::COMMAND_LINE_MAX / 2, "{}", line.len());
        }
        assert!(matches!(
            windows_launcher(ScriptKind::Sql, "q"),
            Err(ScriptError::NotACommand(_))
        ));
    }

    #[test]
    fn scripts_are_saved_as_their_windows_interpreters_read_them() {
        assert_eq!(saved_body(ScriptKind::Bat, "a\nb", false), b"a\nb\n");
        assert_eq!(
            saved_body(ScriptKind::Bat, "@echo off\r\n:top\necho ü", true),
            "@echo off\r\n:top\r\necho ü\r\n".as_bytes()
        );
        let vbs = saved_body(ScriptKind::Vbs, "WScript.Echo \"ü\"\n", true);
        assert_eq!(&vbs[..2], &[0xFF, 0xFE]);
        let units: Vec<u16> = vbs[2..]
            .chunks(2)
            .map(|p| u16::from_le_bytes([p[0], p[1]]))
            .collect();
        assert_eq!(
            String::from_utf16(&units).unwrap(),
            "WScript.Echo \"ü\"\r\n"
        );
        assert_eq!(
            saved_body(ScriptKind::Powershell, "Write-Output 'ü'", true),
            "\u{feff}Write-Output 'ü'\n".as_bytes()
        );
        assert_eq!(
            saved_body(ScriptKind::Python, "print(1)\0", true),
            b"print(1)\n"
        );
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn local_scripts_run_by_their_interpreter_in_the_work_dir_and_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let body = "echo \"$0\"\npwd\necho 'it'\"'\"'s' >&2\nexit 3";
        let r = run_local(
            ScriptKind::Sh,
            "probe",
            body,
            Some(dir.path().to_string_lossy().into_owned()),
            Duration::from_secs(20),
            std::future::pending(),
            &ignore_output,
        )
        .await
        .unwrap();
        assert_eq!(r.exit_code, Some(3), "{r:?}");
        let mut lines = r.stdout.lines();
        let script_path = lines.next().unwrap().to_string();
        assert!(script_path.ends_with("/probe.sh"), "{script_path}");
        assert!(lines
            .next()
            .unwrap()
            .ends_with(dir.path().file_name().unwrap().to_str().unwrap()));
        assert_eq!(r.stderr.trim(), "it's");
        assert!(
            !Path::new(&script_path).exists(),
            "the script file is removed"
        );

        let r = run_local(
            ScriptKind::Python,
            "py",
            "import sys\nprint(sys.version_info[0] >= 3, \"ünï\")",
            None,
            Duration::from_secs(20),
            std::future::pending(),
            &ignore_output,
        )
        .await
        .unwrap();
        assert_eq!(r.stdout.trim(), "True ünï", "{r:?}");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn rpa_scripts_bring_back_the_files_they_leave_and_their_directory_goes() {
        let (r, artifacts) = run_rpa(
            ScriptKind::Sh,
            "robot",
            "mkdir -p shots && printf 'step 1 ok' > report.txt && head -c 3000 /dev/zero > shots/a.png && pwd",
            Duration::from_secs(20),
            std::future::pending(),
            &ignore_output,
        )
        .await
        .unwrap();
        assert_eq!(r.exit_code, Some(0), "{r:?}");
        let names: Vec<&str> = artifacts.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["report.txt", "shots/a.png"]);
        let b64 = base64::engine::general_purpose::STANDARD;
        assert_eq!(
            b64.decode(artifacts[0].content.as_ref().unwrap()).unwrap(),
            b"step 1 ok"
        );
        assert_eq!(artifacts[1].size, 3000);
        assert!(
            !Path::new(r.stdout.trim()).exists(),
            "the directory is removed"
        );
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_posix_launcher_saves_stdin_runs_it_and_keeps_the_exit_code() {
        let dir = tempfile::tempdir().unwrap();
        let launcher =
            posix_launcher(ScriptKind::Bash, "x y", Some(&dir.path().to_string_lossy())).unwrap();
        let mut child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(&launcher)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        tokio::io::AsyncWriteExt::write_all(
            &mut stdin,
            b"echo \"$BASH_VERSION\" | cut -c1; basename \"$0\"; pwd; exit 7\n",
        )
        .await
        .unwrap();
        drop(stdin);
        let out = child.wait_with_output().await.unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(out.status.code(), Some(7), "{text}");
        assert!(!lines[0].is_empty(), "ran by bash: {text}");
        assert_eq!(lines[1], "x_y.sh");
        assert!(lines[2].ends_with(dir.path().file_name().unwrap().to_str().unwrap()));
    }
}
