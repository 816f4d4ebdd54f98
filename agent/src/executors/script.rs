//! Scripts of the library: the body (its placeholders already made references to
//! variables by the server, `shared::vars::data`) is saved as a file named after the
//! script with its language's extension, run by that language's interpreter with the
//! step's values in its environment (`LWAMS_V_1`, …), and removed. On a terminal the
//! file goes into a private `mktemp -d` directory, fed through the command's standard
//! input after the values (no size limit of a command line, nothing of the body or the
//! values in `ps`; sshd would refuse environment variables outside its `AcceptEnv`); on
//! a Windows terminal over WinRM the same way, by a PowerShell launcher that reads the
//! values and the body (base64) from standard input into a fresh directory under the
//! user's `%TEMP%` (how Ansible feeds its modules); on the agent's own machine it is
//! written by the agent and the values go in the interpreter's environment. Inline
//! commands with values take the same launchers over SSH and WinRM.

use super::local::{self, LocalCommand, LocalCommandError, OnOutput};
use super::ssh::{SshError, SshPool, SshTarget};
use super::winrm::{self, WinrmError, WinrmTarget};
use base64::Engine;
use shared::agent::{Artifact, CommandResult, ARTIFACT_LIMITS};
use shared::dto::script::ScriptKind;
use shared::vars::data::env_of;
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

/// The values as [`POSIX_VALUES_READER`] reads them from standard input: their count on
/// a line, then each value on a line of its own (`\` written `\\`, a line break `\n`).
pub fn posix_values(values: &[String]) -> Vec<u8> {
    let mut out = format!("{}\n", values.len());
    for v in values {
        out.push_str(&v.replace('\\', "\\\\").replace('\n', "\\n"));
        out.push('\n');
    }
    out.into_bytes()
}

/// `sh` that reads the values ([`posix_values`]) from standard input and exports them
/// as `LWAMS_V_1`, … (`printf %b` undoes the escaping; the `x` keeps trailing line
/// breaks from `$(…)`).
pub const POSIX_VALUES_READER: &str = "IFS= read -r lwams_n || exit 125\n\
    lwams_i=0\n\
    while [ \"$lwams_i\" -lt \"$lwams_n\" ]; do\n\
    \x20 lwams_i=$((lwams_i + 1))\n\
    \x20 IFS= read -r lwams_v || exit 125\n\
    \x20 lwams_v=$(printf '%bx' \"$lwams_v\")\n\
    \x20 export \"LWAMS_V_$lwams_i=${lwams_v%x}\"\n\
    done\n\
    unset lwams_n lwams_i lwams_v\n";

/// The `sh` command that reads the values from standard input, saves the rest as the
/// script in a private temporary directory, runs it (in `work_dir` when given) with the
/// values in its environment and removes it, keeping its exit code.
pub fn posix_launcher(
    kind: ScriptKind,
    name: &str,
    work_dir: Option<&str>,
) -> Result<String, ScriptError> {
    let run = interpreter(kind, "\"$f\"", false)?;
    Ok(format!(
        "{POSIX_VALUES_READER}\
         d=$(mktemp -d \"${{TMPDIR:-/tmp}}/lwams-script.XXXXXX\") || exit 125\n\
         f=\"$d\"/{file}\n\
         cat > \"$f\" || {{ rm -rf \"$d\"; exit 125; }}\n\
         ({cd}{run})\n\
         rc=$?; rm -rf \"$d\"; exit $rc\n",
        file = sh_quote(&file_name(kind, name)),
        cd = cd_into(work_dir),
    ))
}

fn cd_into(work_dir: Option<&str>) -> String {
    match work_dir.filter(|d| !d.trim().is_empty()) {
        Some(d) => format!("cd {} && ", sh_quote(d)),
        None => String::new(),
    }
}

/// The `sh` command that runs an inline command reading values: the values from
/// standard input, exported, then the command (in `work_dir` when given).
pub fn posix_command(command: &str, work_dir: Option<&str>) -> String {
    format!("{POSIX_VALUES_READER}{}{command}", cd_into(work_dir))
}

/// Runs an inline command with values on a terminal over SSH: the values go through
/// standard input ([`posix_command`]), never into the command line.
#[allow(clippy::too_many_arguments)]
pub async fn run_ssh_command(
    pool: &SshPool,
    t: &SshTarget,
    command: &str,
    values: &[String],
    work_dir: Option<&str>,
    timeout: Duration,
    cancel: impl std::future::Future<Output = ()>,
    on_output: OnOutput<'_>,
) -> Result<CommandResult, ScriptError> {
    Ok(pool
        .run_fed(
            t,
            &posix_command(command, work_dir),
            &posix_values(values),
            timeout,
            cancel,
            on_output,
        )
        .await?)
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
    values: &[String],
    work_dir: Option<&str>,
    timeout: Duration,
    cancel: impl std::future::Future<Output = ()>,
    on_output: OnOutput<'_>,
) -> Result<CommandResult, ScriptError> {
    let command = posix_launcher(kind, name, work_dir)?;
    let mut input = posix_values(values);
    input.extend(saved_body(kind, body, false));
    Ok(pool
        .run_fed(t, &command, &input, timeout, cancel, on_output)
        .await?)
}

/// How the Windows launcher runs the script, in PowerShell: saved as `$f` from the
/// body's bytes `$b`, its interpreter started by `$s` (a `ProcessStartInfo`): the
/// program and its command line as written, no quoting of PowerShell's in between.
fn windows_runner(kind: ScriptKind, name: &str) -> Result<String, ScriptError> {
    let quoted = "'\"' + $f + '\"'";
    let (program, arguments) = match kind {
        ScriptKind::Sql => return Err(ScriptError::NotACommand(kind.label())),
        // `/s /c ""…""`: cmd strips exactly the outer quotes, whatever the path holds.
        ScriptKind::Bat => ("cmd.exe", "'/d /s /c \"\"' + $f + '\"\"'".to_string()),
        ScriptKind::Vbs => ("cscript.exe", "'//Nologo \"' + $f + '\"'".to_string()),
        ScriptKind::Python => ("python", quoted.to_string()),
        ScriptKind::Java => ("java", quoted.to_string()),
        ScriptKind::Sh => ("sh", quoted.to_string()),
        ScriptKind::Bash => ("bash", quoted.to_string()),
        ScriptKind::Powershell => (
            "powershell.exe",
            "'-NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -File \"' + $f + '\"'"
                .to_string(),
        ),
    };
    // `file_name` keeps only ASCII letters, digits, `-`, `_` and the extension: safe
    // inside single quotes.
    Ok(format!(
        "$f = Join-Path $d '{}'\n    [IO.File]::WriteAllBytes($f, $b)\n    \
         $s.FileName = '{program}'\n    $s.Arguments = {arguments}",
        file_name(kind, name)
    ))
}

/// How the Windows launcher runs an inline command (the body, UTF-8): `cmd.exe` with
/// delayed expansion (`!LWAMS_V_1!`), `/s /c "…"` stripping exactly the outer quotes.
const WINDOWS_COMMAND_RUNNER: &str = "$s.FileName = 'cmd.exe'\n    \
     $s.Arguments = '/d /s /v:on /c \"' + [Text.Encoding]::UTF8.GetString($b) + '\"'";

/// The PowerShell script that reads its standard input — the number of values, each
/// value (base64 of UTF-8) on a line, then the body (base64) — into a fresh directory
/// under `%TEMP%`, starts the program `@RUN@` sets up with the values in its
/// environment (a `ProcessStartInfo`: exact command line, every value defined even when
/// empty, the output's bytes copied as they come), removes the directory and exits with
/// the program's exit code (9009, cmd's code for a missing program, when it cannot
/// start — never 0).
const WINDOWS_LAUNCHER: &str = r#"$ErrorActionPreference = 'Stop'
$l = @($input | ForEach-Object { "$_".Trim() })
$n = [int]$l[0]
$d = Join-Path ([IO.Path]::GetTempPath()) ('lwams-script-' + [Guid]::NewGuid().ToString('N'))
$null = New-Item -ItemType Directory -Path $d
$rc = 125
try {
    $b = [Convert]::FromBase64String((@($l | Select-Object -Skip (1 + $n)) -join ''))
    $s = New-Object Diagnostics.ProcessStartInfo
    $s.UseShellExecute = $false
    $s.RedirectStandardOutput = $true
    $s.RedirectStandardError = $true
    $s.WorkingDirectory = (Get-Location).ProviderPath
    for ($i = 1; $i -le $n; $i++) {
        $s.EnvironmentVariables['LWAMS_V_' + $i] = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($l[$i]))
    }
    @RUN@
    $p = $null
    try { $p = [Diagnostics.Process]::Start($s) } catch { [Console]::Error.WriteLine($_.Exception.Message); $rc = 9009 }
    if ($null -ne $p) {
        $e = $p.StandardError.BaseStream.CopyToAsync([Console]::OpenStandardError())
        $p.StandardOutput.BaseStream.CopyTo([Console]::OpenStandardOutput())
        $e.Wait()
        $p.WaitForExit()
        $rc = $p.ExitCode
    }
} finally {
    Remove-Item -LiteralPath $d -Recurse -Force -ErrorAction SilentlyContinue
}
exit $rc
"#;

/// [`WINDOWS_LAUNCHER`] for a script of `kind` named `name`.
pub fn windows_launcher(kind: ScriptKind, name: &str) -> Result<String, ScriptError> {
    Ok(WINDOWS_LAUNCHER.replace("@RUN@", &windows_runner(kind, name)?))
}

/// [`WINDOWS_LAUNCHER`] for an inline command (`cmd.exe /v:on`).
pub fn windows_command_launcher() -> String {
    WINDOWS_LAUNCHER.replace("@RUN@", WINDOWS_COMMAND_RUNNER)
}

/// What [`WINDOWS_LAUNCHER`] reads from standard input: the number of values, each
/// value's UTF-8 in base64 on a line, then `body` in base64.
pub fn windows_input(values: &[String], body: &[u8]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = format!("{}\n", values.len());
    for v in values {
        out.push_str(&b64.encode(v.as_bytes()));
        out.push('\n');
    }
    out.push_str(&b64.encode(body));
    out.into_bytes()
}

/// Runs the script on a Windows terminal over WinRM: `powershell -EncodedCommand` with
/// [`windows_launcher`], the values and the body fed as base64 through standard input
/// (no command-line limit on their size).
#[allow(clippy::too_many_arguments)]
pub async fn run_winrm(
    t: &WinrmTarget,
    kind: ScriptKind,
    name: &str,
    body: &str,
    values: &[String],
    work_dir: Option<&str>,
    timeout: Duration,
    cancel: impl std::future::Future<Output = ()>,
    on_output: OnOutput<'_>,
) -> Result<CommandResult, ScriptError> {
    let command = winrm::powershell_command(&windows_launcher(kind, name)?);
    let stdin = windows_input(values, &saved_body(kind, body, true));
    Ok(winrm::run_fed(
        t,
        &command,
        Some(&stdin),
        work_dir,
        timeout,
        cancel,
        on_output,
    )
    .await?)
}

/// Runs an inline command with values on a Windows terminal over WinRM: the launcher
/// ([`windows_command_launcher`]) reads the values and the command from standard input
/// and runs it with `cmd.exe /v:on`.
#[allow(clippy::too_many_arguments)]
pub async fn run_winrm_command(
    t: &WinrmTarget,
    command: &str,
    values: &[String],
    work_dir: Option<&str>,
    timeout: Duration,
    cancel: impl std::future::Future<Output = ()>,
    on_output: OnOutput<'_>,
) -> Result<CommandResult, ScriptError> {
    let line = winrm::powershell_command(&windows_command_launcher());
    let stdin = windows_input(values, command.as_bytes());
    Ok(winrm::run_fed(t, &line, Some(&stdin), work_dir, timeout, cancel, on_output).await?)
}

/// A fresh private directory for one script run on this machine, under `parent` or
/// the temp directory.
fn private_dir(parent: Option<&Path>) -> Result<PathBuf, std::io::Error> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = parent
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir)
        .join(format!(
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

/// Runs the script on this machine (the agent's host), its values in the interpreter's
/// environment.
#[allow(clippy::too_many_arguments)]
pub async fn run_local(
    kind: ScriptKind,
    name: &str,
    body: &str,
    values: &[String],
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
        env: env_of(values),
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
    values: &[String],
    timeout: Duration,
    cancel: impl std::future::Future<Output = ()>,
    on_output: OnOutput<'_>,
) -> Result<(CommandResult, Vec<Artifact>), ScriptError> {
    let dir = private_dir(None).map_err(ScriptError::Save)?;
    let ran = run_local(
        kind,
        name,
        body,
        values,
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
    fn the_windows_launcher_saves_the_script_under_its_name_and_starts_its_interpreter() {
        for (kind, file, program, arguments) in [
            (
                ScriptKind::Bat,
                "'nightly_report.bat'",
                "cmd.exe",
                "'/d /s /c \"\"' + $f + '\"\"'",
            ),
            (
                ScriptKind::Vbs,
                "'nightly_report.vbs'",
                "cscript.exe",
                "'//Nologo \"' + $f + '\"'",
            ),
            (
                ScriptKind::Python,
                "'nightly_report.py'",
                "python",
                "'\"' + $f + '\"'",
            ),
            (
                ScriptKind::Java,
                "'nightly_report.java'",
                "java",
                "'\"' + $f + '\"'",
            ),
            (
                ScriptKind::Powershell,
                "'nightly_report.ps1'",
                "powershell.exe",
                "'-NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -File \"' + $f + '\"'",
            ),
        ] {
            let l = windows_launcher(kind, "nightly report").unwrap();
            assert!(
                l.contains(&format!("    $f = Join-Path $d {file}\n")),
                "{l}"
            );
            assert!(
                l.contains(&format!("    $s.FileName = '{program}'\n")),
                "{l}"
            );
            assert!(
                l.contains(&format!("    $s.Arguments = {arguments}\n")),
                "{l}"
            );
            assert!(l.contains("$l = @($input"), "{l}");
            assert!(
                l.contains("$s.EnvironmentVariables['LWAMS_V_' + $i]"),
                "the values go in the program's environment: {l}"
            );
            assert!(!l.contains("@RUN@"), "filled: {l}");
            // One `-EncodedCommand` fits cmd's command line with room to spare.
            let line = winrm::powershell_command(&l);
            assert!(line.len() < winrm::COMMAND_LINE_MAX / 2, "{}", line.len());
        }
        let c = windows_command_launcher();
        assert!(
            c.contains(
                "$s.Arguments = '/d /s /v:on /c \"' + [Text.Encoding]::UTF8.GetString($b) + '\"'"
            ),
            "{c}"
        );
        assert!(
            !c.contains("Join-Path $d '"),
            "an inline command is no file: {c}"
        );
        assert!(matches!(
            windows_launcher(ScriptKind::Sql, "q"),
            Err(ScriptError::NotACommand(_))
        ));
        // The launcher's standard input: the count, each value, then the body.
        let b64 = base64::engine::general_purpose::STANDARD;
        let input = windows_input(&["a\nb".into(), String::new()], b"echo x");
        let text = String::from_utf8(input).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "2");
        assert_eq!(b64.decode(lines[1]).unwrap(), b"a\nb");
        assert_eq!(lines[2], "");
        assert_eq!(b64.decode(lines[3]).unwrap(), b"echo x");
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
            &[],
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
            "import os, sys\nprint(sys.version_info[0] >= 3, \"ünï\", os.environ[\"LWAMS_V_1\"])",
            &["$(id) ü".to_string()],
            None,
            Duration::from_secs(20),
            std::future::pending(),
            &ignore_output,
        )
        .await
        .unwrap();
        assert_eq!(r.stdout.trim(), "True ünï $(id) ü", "{r:?}");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn rpa_scripts_bring_back_the_files_they_leave_and_their_directory_goes() {
        let (r, artifacts) = run_rpa(
            ScriptKind::Sh,
            "robot",
            "mkdir -p shots && printf 'step 1 %s' \"$LWAMS_V_1\" > report.txt && head -c 3000 /dev/zero > shots/a.png && pwd",
            &["ok".to_string()],
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
        let mut input = posix_values(&[]);
        input
            .extend_from_slice(b"echo \"$BASH_VERSION\" | cut -c1; basename \"$0\"; pwd; exit 7\n");
        tokio::io::AsyncWriteExt::write_all(&mut stdin, &input)
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

    /// Runs `sh -c command` fed `input`, as sshd would run the launcher.
    #[cfg(unix)]
    async fn sh_fed(command: &str, input: &[u8]) -> std::process::Output {
        let mut child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .env_remove("LWAMS_V_1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut stdin, input)
            .await
            .unwrap();
        drop(stdin);
        child.wait_with_output().await.unwrap()
    }

    fn hostile_values() -> Vec<String> {
        vec![
            "$(id) `id` '; id; ' \" & calc & \" %PATH% $env:PATH".to_string(),
            "\n".to_string(),
            "back\\slash\\n \\\\ \\0101 \\c end\n\n".to_string(),
            String::new(),
            "中文 ünï 😀".to_string(),
            "ab'\"$`\\\n".repeat(1024),
        ]
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_posix_launcher_exports_the_values_it_reads_first_byte_for_byte() {
        let values = hostile_values();
        let script = (1..=values.len())
            .map(|i| format!("printf '%s\\037' \"$LWAMS_V_{i}\""))
            .collect::<Vec<_>>()
            .join("\n");
        let launcher = posix_launcher(ScriptKind::Sh, "values", None).unwrap();
        let mut input = posix_values(&values);
        input.extend(saved_body(ScriptKind::Sh, &script, false));
        let out = sh_fed(&launcher, &input).await;
        let expected: Vec<u8> = values
            .iter()
            .flat_map(|v| format!("{v}\u{1f}").into_bytes())
            .collect();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&expected),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, expected);
        assert_eq!(out.status.code(), Some(0));

        // An inline command over SSH: the same reader, then the command in the work dir.
        let dir = tempfile::tempdir().unwrap();
        let command = format!("{script}; pwd");
        let out = sh_fed(
            &posix_command(&command, Some(&dir.path().to_string_lossy())),
            &posix_values(&values),
        )
        .await;
        let mut with_dir = expected.clone();
        with_dir.extend(format!("{}\n", dir.path().display()).into_bytes());
        assert_eq!(
            out.stdout,
            with_dir,
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Missing input is a launcher failure (125), never a run without values.
        let out = sh_fed(&posix_command("echo ran", None), b"").await;
        assert_eq!(out.status.code(), Some(125));
        assert!(out.stdout.is_empty());
    }
}
