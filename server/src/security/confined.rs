//! The one child-process runner for steps that run on the LWAMS server itself
//! (commands, library scripts and file operations of trusted companies; durable steps
//! later use it too). The server process holds every company's secrets, so a step
//! never runs inside it nor with its rights:
//!
//! - a separate child process with a **cleared environment** (no `LWAMS_*`, no
//!   `DATABASE_URL`, nothing of the server's): `PATH`, `LANG`, `HOME`/`TMPDIR` (its
//!   working directory) and the step's own values only;
//! - its **working directory per instance** under `<data dir>/steps/<company>/<instance>`;
//! - when the server runs as root, the child **drops to the unprivileged `nobody`
//!   user** (no supplementary groups), so the secret key (0600) and the SQLite
//!   database (made 0600 at start) are unreadable to it;
//! - where the kernel has **Landlock** (Linux ≥ 5.13), the child may read and execute
//!   only the system directories (`/usr`, `/bin`, `/sbin`, `/lib*`, `/etc`, `/proc`,
//!   `/dev`, `/run`) and read and write only its working directory — not the data
//!   directory, not `/tmp`, not `/home` — whoever the server runs as;
//! - `no_new_privs`: set-uid programs cannot regain rights.
//!
//! Not provided (documented in docs/security.md): network isolation (a step on the
//! server shares its network, which is why only trusted companies get one), limits on
//! CPU and memory, and protection of a data directory placed inside one of the
//! readable system directories.

use agent::executors::local::{self, CommandResult, LocalCommandError, OnOutput};
use std::path::{Path, PathBuf};
use tokio::process::Command;

/// The search path a step on the server gets.
pub const PATH: &str = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";

/// Directories a confined step may read and execute (when they exist).
const READABLE: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/proc", "/dev",
    "/run", "/sys",
];

#[derive(Debug, thiserror::Error)]
pub enum ConfinedError {
    #[error("cannot prepare the step's working directory {0}: {1}")]
    WorkDir(PathBuf, std::io::Error),
    #[error("cannot confine the step: {0}")]
    Confine(std::io::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum ConfinedRunError {
    #[error(transparent)]
    Confined(#[from] ConfinedError),
    #[error(transparent)]
    Run(#[from] LocalCommandError),
}

/// How steps on this server are confined (decided once at start).
#[derive(Debug, Clone)]
pub struct Confinement {
    /// `<data dir>/steps`, absolute.
    root: PathBuf,
    /// The user and group a step runs as when the server runs as root.
    run_as: Option<(u32, u32)>,
    /// The kernel's Landlock ABI version (0: none).
    landlock_abi: i32,
}

impl Confinement {
    /// Confinement for steps under `data_dir`: drops to `nobody` when running as root,
    /// uses Landlock when the kernel has it. Says at start what it can and cannot do.
    pub fn new(data_dir: &Path) -> Confinement {
        let data_dir = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
        let landlock_abi = landlock::abi();
        // `nobody` must be able to pass through the data directory's parents (a data
        // directory under `/root` is not); where it cannot but Landlock confines the
        // step, the step keeps the server's user rather than failing to start.
        let reachable = passable_by_others(&data_dir);
        let run_as = (running_as_root() && (reachable || landlock_abi == 0)).then(nobody);
        if running_as_root() && !reachable {
            if landlock_abi > 0 {
                tracing::info!(data_dir = %data_dir.display(), "nobody cannot reach the data directory: steps on the server keep root's user, confined by Landlock");
            } else {
                tracing::error!(data_dir = %data_dir.display(), "nobody cannot reach the data directory and there is no Landlock: steps on the server cannot start — give its parent directories o+x or move it");
            }
        }
        let c = Confinement {
            root: data_dir.join("steps"),
            run_as,
            landlock_abi,
        };
        match (c.run_as.is_some(), c.landlock_abi > 0) {
            (_, true) => tracing::info!(
                landlock = c.landlock_abi,
                drop_to_nobody = c.run_as.is_some(),
                "steps on the server run confined to their working directory"
            ),
            (true, false) => tracing::warn!(
                "no Landlock in this kernel: steps on the server run as nobody with a cleared \
                 environment, but can read world-readable files"
            ),
            (false, false) => tracing::warn!(
                "no Landlock in this kernel and not running as root: steps on the server run \
                 with a cleared environment but with this server's file rights; only trusted \
                 companies can run them"
            ),
        }
        if c.landlock_abi > 0
            && READABLE
                .iter()
                .any(|r| data_dir.starts_with(r) && Path::new(r).exists())
        {
            tracing::warn!(data_dir = %data_dir.display(), "the data directory is inside a system directory steps may read");
        }
        c
    }

    /// Whether children are kept from the data directory by the kernel (Landlock) or
    /// by running as another user.
    pub fn isolates_files(&self) -> bool {
        self.landlock_abi > 0 || self.run_as.is_some()
    }

    /// The instance's working directory, created (private to the step's user).
    pub fn work_dir(&self, company_id: i64, instance_id: i64) -> Result<PathBuf, ConfinedError> {
        let company = self.root.join(company_id.to_string());
        let dir = company.join(instance_id.to_string());
        let err = |e| ConfinedError::WorkDir(dir.clone(), e);
        // The way down may be passed through (x) but not listed by the step's user.
        for d in [
            self.root.parent().unwrap_or(&self.root),
            &self.root,
            &company,
        ] {
            std::fs::create_dir_all(d).map_err(err)?;
            if self.run_as.is_some() {
                set_mode(d, 0o711).map_err(err)?;
            }
        }
        std::fs::create_dir_all(&dir).map_err(err)?;
        set_mode(&dir, 0o700).map_err(err)?;
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).map_err(err)?;
        }
        Ok(dir)
    }

    /// Hands a file or directory the server created in a working directory to the
    /// step's user (scripts saved for it to run).
    pub fn give(&self, path: &Path) -> std::io::Result<()> {
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(path, Some(uid), Some(gid))?;
        }
        Ok(())
    }

    /// Runs `sh -c script` in `work_dir`, confined, with only `env` besides the basics;
    /// output captured and handed on, the process group killed on timeout or cancel.
    pub async fn run(
        &self,
        script: &str,
        work_dir: &Path,
        env: &[(String, String)],
        timeout: std::time::Duration,
        cancel: impl std::future::Future<Output = ()>,
        on_output: OnOutput<'_>,
    ) -> Result<CommandResult, ConfinedRunError> {
        // The ruleset's descriptor lives until the child is spawned (it is
        // close-on-exec: the step never holds it).
        let (cmd, _ruleset) = self.command(script, work_dir, env)?;
        Ok(local::run_command(cmd, timeout, cancel, on_output).await?)
    }

    fn command(
        &self,
        script: &str,
        work_dir: &Path,
        env: &[(String, String)],
    ) -> Result<(Command, Option<std::os::fd::OwnedFd>), ConfinedError> {
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c").arg(script);
        cmd.env_clear()
            .env("PATH", PATH)
            .env("LANG", "C.UTF-8")
            .env("HOME", work_dir)
            .env("TMPDIR", work_dir)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(work_dir);
        let ruleset = if self.landlock_abi > 0 {
            Some(
                landlock::ruleset(self.landlock_abi, READABLE, work_dir)
                    .map_err(ConfinedError::Confine)?,
            )
        } else {
            None
        };
        let run_as = self.run_as;
        let fd = ruleset.as_ref().map(std::os::fd::AsRawFd::as_raw_fd);
        // SAFETY: between fork and exec only async-signal-safe system calls are made
        // (setgroups, setgid, setuid, prctl, landlock_restrict_self), no allocation.
        unsafe {
            cmd.pre_exec(move || {
                if let Some((uid, gid)) = run_as {
                    if libc::setgroups(0, std::ptr::null()) != 0
                        || libc::setgid(gid) != 0
                        || libc::setuid(uid) != 0
                    {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if let Some(fd) = fd {
                    landlock::restrict_self(fd)?;
                }
                Ok(())
            });
        }
        Ok((cmd, ruleset))
    }
}

fn set_mode(p: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
}

/// Whether every parent of `dir` may be passed through by other users (o+x).
fn passable_by_others(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    dir.ancestors()
        .skip(1)
        .all(|p| std::fs::metadata(p).map_or(true, |m| m.permissions().mode() & 0o001 != 0))
}

impl Confinement {
    /// Whether steps are started as `nobody` (the server runs as root).
    pub fn drops_to_nobody(&self) -> bool {
        self.run_as.is_some()
    }
}

fn running_as_root() -> bool {
    // SAFETY: a plain system call without arguments.
    unsafe { libc::geteuid() == 0 }
}

/// `nobody`'s user and group (65534 when the password database does not say).
fn nobody() -> (u32, u32) {
    // SAFETY: getpwnam returns a pointer into static storage or null; read at once.
    unsafe {
        let pw = libc::getpwnam(c"nobody".as_ptr());
        if pw.is_null() {
            (65534, 65534)
        } else {
            ((*pw).pw_uid, (*pw).pw_gid)
        }
    }
}

/// Makes the database file and the secret key readable by the server's user only
/// (SQLite creates its `-wal`/`-shm` files with the database's mode).
pub fn protect_data_files(data_dir: &Path) {
    for name in ["lwams.db", "lwams.db-wal", "lwams.db-shm", "secret.key"] {
        let p = data_dir.join(name);
        if p.exists() {
            if let Err(e) = set_mode(&p, 0o600) {
                tracing::warn!(file = %p.display(), error = %e, "cannot make a data file private");
            }
        }
    }
}

/// Linux Landlock through its three system calls (no crate: the child side must not
/// allocate between fork and exec).
mod landlock {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::path::Path;

    const CREATE_RULESET_VERSION: u32 = 1;
    const RULE_PATH_BENEATH: u32 = 1;

    const EXECUTE: u64 = 1 << 0;
    const WRITE_FILE: u64 = 1 << 1;
    const READ_FILE: u64 = 1 << 2;
    const READ_DIR: u64 = 1 << 3;
    /// Every file-system right of ABI 1 (bits 0–12).
    const ALL_V1: u64 = (1 << 13) - 1;
    const REFER: u64 = 1 << 13;
    const TRUNCATE: u64 = 1 << 14;
    const IOCTL_DEV: u64 = 1 << 15;

    #[repr(C)]
    struct RulesetAttr {
        handled_access_fs: u64,
    }

    #[repr(C, packed)]
    struct PathBeneath {
        allowed_access: u64,
        parent_fd: i32,
    }

    /// The kernel's Landlock ABI version, 0 when it has none (or it is disabled).
    pub fn abi() -> i32 {
        // SAFETY: the documented version query: null attribute, size 0, flag 1.
        let v = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                std::ptr::null::<RulesetAttr>(),
                0usize,
                CREATE_RULESET_VERSION,
            )
        };
        i32::try_from(v).unwrap_or(0).max(0)
    }

    fn handled(abi: i32) -> u64 {
        let mut h = ALL_V1;
        if abi >= 2 {
            h |= REFER;
        }
        if abi >= 3 {
            h |= TRUNCATE;
        }
        if abi >= 5 {
            h |= IOCTL_DEV;
        }
        h
    }

    /// A ruleset: `readable` directories read and execute (and `/dev` written, for
    /// `/dev/null`), `work_dir` everything.
    pub fn ruleset(abi: i32, readable: &[&str], work_dir: &Path) -> std::io::Result<OwnedFd> {
        let handled = handled(abi);
        let attr = RulesetAttr {
            handled_access_fs: handled,
        };
        // SAFETY: a valid attribute of the size given; the result is a new descriptor.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                &attr as *const RulesetAttr,
                std::mem::size_of::<RulesetAttr>(),
                0u32,
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: the kernel just gave us this descriptor (close-on-exec).
        let ruleset = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        for dir in readable {
            let mut access = EXECUTE | READ_FILE | READ_DIR;
            if *dir == "/dev" {
                access |= WRITE_FILE | (handled & IOCTL_DEV) | (handled & TRUNCATE);
            }
            add(&ruleset, Path::new(dir), access)?;
        }
        add(&ruleset, work_dir, handled)?;
        Ok(ruleset)
    }

    fn add(ruleset: &OwnedFd, path: &Path, access: u64) -> std::io::Result<()> {
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        // Rights that only apply to directories may not be granted on a file.
        let is_dir = file.metadata().map(|m| m.is_dir()).unwrap_or(false);
        let access = if is_dir {
            access
        } else {
            access & (EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV)
        };
        let rule = PathBeneath {
            allowed_access: access,
            parent_fd: file.as_raw_fd(),
        };
        // SAFETY: a valid rule for a live descriptor.
        let r = unsafe {
            libc::syscall(
                libc::SYS_landlock_add_rule,
                ruleset.as_raw_fd(),
                RULE_PATH_BENEATH,
                &rule as *const PathBeneath,
                0u32,
            )
        };
        if r < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// In the child, after `no_new_privs`: only system calls.
    pub fn restrict_self(ruleset: i32) -> std::io::Result<()> {
        // SAFETY: a plain system call on a descriptor inherited from the parent.
        if unsafe { libc::syscall(libc::SYS_landlock_restrict_self, ruleset, 0u32) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_directory_nobody_cannot_reach_keeps_steps_confined_by_landlock_instead() {
        use std::os::unix::fs::PermissionsExt;
        let top = tempfile::tempdir().unwrap();
        let private = top.path().join("private");
        std::fs::create_dir(&private).unwrap();
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
        let open = top.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(top.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(!passable_by_others(&private.join("data")));
        assert!(passable_by_others(&open.join("data")));
        if running_as_root() && landlock::abi() > 0 {
            assert!(!Confinement::new(&private.join("data")).drops_to_nobody());
            assert!(Confinement::new(&open.join("data")).drops_to_nobody());
        }
    }
}
