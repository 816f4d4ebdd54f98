//! Configuration: defaults, overridden by an optional TOML file, overridden by
//! environment variables (`LWAMS_*`, `DATABASE_URL`).

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("{var}: {message}")]
    Invalid { var: &'static str, message: String },
    #[error("cannot create or read the secret key file {path}: {source}")]
    KeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Server settings. `Debug` hides the secret key.
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server listens on (`LWAMS_LISTEN`).
    pub listen: SocketAddr,
    /// `sqlite:PATH` or `postgres://…` (`DATABASE_URL`). Default: SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// Where the SQLite file and the generated secret key live (`LWAMS_DATA_DIR`).
    pub data_dir: PathBuf,
    /// Base64 of 32 bytes encrypting secrets at rest (`LWAMS_SECRET_KEY`). When unset a
    /// key is generated once into `data_dir/secret.key` (mode 0600).
    pub secret_key: Option<String>,
    /// Where the built site (wasm, css, assets) is (`LWAMS_SITE_ROOT`).
    pub site_root: PathBuf,
    /// Sign-in session lifetime in hours (`LWAMS_SESSION_HOURS`).
    pub session_hours: u64,
    /// Mark the session cookie `Secure` (`LWAMS_COOKIE_SECURE`); set behind HTTPS.
    pub cookie_secure: bool,
    /// `text` or `json` (`LWAMS_LOG_FORMAT`).
    pub log_format: String,
    /// This server's name as the owner of the jobs it runs (`LWAMS_ENGINE_NODE`);
    /// default `hostname:port`. Jobs it held before a restart are recovered at once.
    pub engine_node: Option<String>,
    /// Steps run at the same time (`LWAMS_ENGINE_SLOTS`).
    pub engine_slots: usize,
    /// The most runs one multi-instance activity may make (`LWAMS_MULTI_INSTANCE_MAX`):
    /// a larger list fails the activity, naming it, before any run starts.
    pub multi_instance_max: usize,
    /// Codes of the companies trusted with the server's own machine and network
    /// (`LWAMS_TRUSTED_COMPANIES`, comma-separated; `*` every company): their flows may
    /// run commands, scripts, file operations and SQL on files on the server, and what
    /// the server connects to for them is not limited to public addresses. Unset: only
    /// the company created at first start (the platform operator's).
    pub trusted_companies: Option<Vec<String>>,
    /// Addresses (`10.1.2.3`, CIDR `10.0.0.0/8`, a host name) that untrusted companies'
    /// in-cloud HTTP/SQL, connection tests and mail may reach although they are private,
    /// loopback or link-local (`LWAMS_EGRESS_ALLOW`, comma-separated).
    pub egress_allow: Vec<String>,
    /// Refuse Sub Managers whose line is plaintext (`ws://`) from another machine
    /// (`LWAMS_AGENT_REQUIRE_TLS`); the server behind a TLS proxy sees
    /// `X-Forwarded-Proto: https` on encrypted lines.
    pub agent_require_tls: bool,
    /// The Sub Manager binary put into download packages (`LWAMS_AGENT_BIN`); unset:
    /// `sub-manager` beside the server binary.
    pub agent_bin: Option<PathBuf>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url),
            )
            .field("data_dir", &self.data_dir)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "<set>"))
            .field("site_root", &self.site_root)
            .field("session_hours", &self.session_hours)
            .field("cookie_secure", &self.cookie_secure)
            .field("log_format", &self.log_format)
            .field("engine_node", &self.engine_node)
            .field("engine_slots", &self.engine_slots)
            .field("multi_instance_max", &self.multi_instance_max)
            .field("trusted_companies", &self.trusted_companies)
            .field("egress_allow", &self.egress_allow)
            .field("agent_require_tls", &self.agent_require_tls)
            .field("agent_bin", &self.agent_bin)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            database_url: None,
            data_dir: PathBuf::from("data"),
            secret_key: None,
            site_root: PathBuf::from("target/site"),
            session_hours: 12,
            cookie_secure: false,
            log_format: "text".into(),
            engine_node: None,
            engine_slots: 16,
            multi_instance_max: DEFAULT_MULTI_INSTANCE_MAX,
            trusted_companies: None,
            egress_allow: Vec::new(),
            agent_require_tls: false,
            agent_bin: None,
        }
    }
}

/// Default of [`Config::multi_instance_max`].
pub const DEFAULT_MULTI_INSTANCE_MAX: usize = 10_000;

/// Hides the password of a database URL for logs (`shared::redact`).
pub fn redact_url(url: &str) -> String {
    shared::redact::text(url)
}

impl Config {
    /// Defaults ← `file` (if given) ← environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut cfg = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.into(),
                    source,
                })?;
                toml::from_str(&text).map_err(|source| ConfigError::Parse {
                    path: path.into(),
                    source,
                })?
            }
            None => Config::default(),
        };
        cfg.apply_env(|k| std::env::var(k).ok())?;
        Ok(cfg)
    }

    fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = get("LWAMS_LISTEN") {
            self.listen = v.parse().map_err(|e| ConfigError::Invalid {
                var: "LWAMS_LISTEN",
                message: format!("{v:?} is not an address like 127.0.0.1:3000 ({e})"),
            })?;
        }
        if let Some(v) = get("DATABASE_URL").filter(|v| !v.is_empty()) {
            self.database_url = Some(v);
        }
        if let Some(v) = get("LWAMS_DATA_DIR") {
            self.data_dir = v.into();
        }
        if let Some(v) = get("LWAMS_SECRET_KEY").filter(|v| !v.is_empty()) {
            self.secret_key = Some(v);
        }
        if let Some(v) = get("LWAMS_SITE_ROOT").or_else(|| get("LEPTOS_SITE_ROOT")) {
            self.site_root = v.into();
        }
        if let Some(v) = get("LWAMS_SESSION_HOURS") {
            self.session_hours = v
                .parse()
                .ok()
                .filter(|h| *h > 0)
                .ok_or(ConfigError::Invalid {
                    var: "LWAMS_SESSION_HOURS",
                    message: format!("{v:?} is not a positive number of hours"),
                })?;
        }
        if let Some(v) = get("LWAMS_COOKIE_SECURE") {
            self.cookie_secure = matches!(v.as_str(), "1" | "true" | "yes");
        }
        if let Some(v) = get("LWAMS_LOG_FORMAT") {
            if v != "text" && v != "json" {
                return Err(ConfigError::Invalid {
                    var: "LWAMS_LOG_FORMAT",
                    message: format!("{v:?} must be text or json"),
                });
            }
            self.log_format = v;
        }
        if let Some(v) = get("LWAMS_ENGINE_NODE").filter(|v| !v.is_empty()) {
            self.engine_node = Some(v);
        }
        if let Some(v) = get("LWAMS_ENGINE_SLOTS") {
            self.engine_slots =
                v.parse()
                    .ok()
                    .filter(|n| (1..=1024).contains(n))
                    .ok_or(ConfigError::Invalid {
                        var: "LWAMS_ENGINE_SLOTS",
                        message: format!("{v:?} is not a number from 1 to 1024"),
                    })?;
        }
        if let Some(v) = get("LWAMS_MULTI_INSTANCE_MAX") {
            self.multi_instance_max =
                v.parse()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or(ConfigError::Invalid {
                        var: "LWAMS_MULTI_INSTANCE_MAX",
                        message: format!("{v:?} is not a positive number of runs"),
                    })?;
        }
        if let Some(v) = get("LWAMS_TRUSTED_COMPANIES") {
            self.trusted_companies = Some(comma_list(&v));
        }
        if let Some(v) = get("LWAMS_AGENT_REQUIRE_TLS") {
            self.agent_require_tls = matches!(v.as_str(), "1" | "true" | "yes");
        }
        if let Some(v) = get("LWAMS_EGRESS_ALLOW") {
            self.egress_allow = comma_list(&v);
        }
        if let Some(v) = get("LWAMS_AGENT_BIN").filter(|v| !v.is_empty()) {
            self.agent_bin = Some(v.into());
        }
        Ok(())
    }

    /// The name this server leases jobs under.
    pub fn engine_node(&self) -> String {
        self.engine_node.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "lwams".into());
            format!("{host}:{}", self.listen.port())
        })
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite:{}", self.data_dir.join("lwams.db").display()))
    }

    /// The secret key in effect: configured, or read from / generated into the data dir.
    pub fn secret_key(&self) -> Result<String, ConfigError> {
        if let Some(k) = &self.secret_key {
            return Ok(k.clone());
        }
        let path = self.data_dir.join("secret.key");
        let io = |source| ConfigError::KeyFile {
            path: path.clone(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(k) => Ok(k.trim().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(&self.data_dir).map_err(io)?;
                let key = crate::crypto::SecretBox::generate_key();
                write_private(&path, &key).map_err(io)?;
                Ok(key)
            }
            Err(e) => Err(io(e)),
        }
    }
}

impl Config {
    /// Replaces `<data dir>/secret.key` (atomically: a new file renamed over it).
    pub fn replace_key_file(&self, key: &str) -> Result<(), ConfigError> {
        let path = self.data_dir.join("secret.key");
        let tmp = self.data_dir.join("secret.key.new");
        let io = |source| ConfigError::KeyFile {
            path: path.clone(),
            source,
        };
        let _ = std::fs::remove_file(&tmp);
        write_private(&tmp, key).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)
    }
}

/// `a, b,,c` → `["a", "b", "c"]`.
fn comma_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(content.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_file_and_defaults() {
        let mut c = Config::default();
        let env = |k: &str| match k {
            "LWAMS_LISTEN" => Some("0.0.0.0:8088".to_string()),
            "DATABASE_URL" => Some("postgres://u:pw@db/lwams".to_string()),
            _ => None,
        };
        c.apply_env(env).unwrap();
        assert_eq!(c.listen.port(), 8088);
        assert_eq!(c.database_url(), "postgres://u:pw@db/lwams");
        assert!(
            !format!("{c:?}").contains("pw@"),
            "Debug hides the database password"
        );
    }

    #[test]
    fn trusted_companies_and_the_egress_allow_list_come_from_comma_lists() {
        let mut c = Config::default();
        assert_eq!(c.trusted_companies, None, "default: the first company only");
        c.apply_env(|k| match k {
            "LWAMS_TRUSTED_COMPANIES" => Some("ops, acme,".to_string()),
            "LWAMS_EGRESS_ALLOW" => Some("10.0.0.0/8,db.internal".to_string()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.trusted_companies, Some(vec!["ops".into(), "acme".into()]));
        assert_eq!(c.egress_allow, vec!["10.0.0.0/8", "db.internal"]);
        c.apply_env(|k| (k == "LWAMS_TRUSTED_COMPANIES").then(String::new))
            .unwrap();
        assert_eq!(c.trusted_companies, Some(vec![]), "empty: no company");
    }

    #[test]
    fn multi_instance_max_defaults_to_ten_thousand_and_must_be_a_positive_number() {
        let mut c = Config::default();
        assert_eq!(c.multi_instance_max, 10_000);
        c.apply_env(|k| (k == "LWAMS_MULTI_INSTANCE_MAX").then(|| "500".to_string()))
            .unwrap();
        assert_eq!(c.multi_instance_max, 500);
        for bad in ["0", "-1", "lots"] {
            let e = c
                .apply_env(|k| (k == "LWAMS_MULTI_INSTANCE_MAX").then(|| bad.to_string()))
                .unwrap_err();
            assert!(e.to_string().starts_with("LWAMS_MULTI_INSTANCE_MAX"), "{e}");
        }
        let c: Config = toml::from_str("multi_instance_max = 20").unwrap();
        assert_eq!(c.multi_instance_max, 20);
        assert_eq!(redact_url("postgres://u:pw@db/x"), "postgres://u:•••@db/x");
    }

    #[test]
    fn the_agent_binary_for_packages_comes_from_lwams_agent_bin_or_the_file() {
        let mut c = Config::default();
        assert_eq!(c.agent_bin, None, "unset: beside the server binary");
        c.apply_env(|k| (k == "LWAMS_AGENT_BIN").then(|| "/opt/sm".to_string()))
            .unwrap();
        assert_eq!(c.agent_bin, Some(PathBuf::from("/opt/sm")));
        let c: Config = toml::from_str("agent_bin = \"/srv/sub-manager\"").unwrap();
        assert_eq!(c.agent_bin, Some(PathBuf::from("/srv/sub-manager")));
    }

    #[test]
    fn bad_values_name_the_variable() {
        let mut c = Config::default();
        let e = c
            .apply_env(|k| (k == "LWAMS_LISTEN").then(|| "nope".to_string()))
            .unwrap_err();
        assert!(e.to_string().starts_with("LWAMS_LISTEN"));
    }

    #[test]
    fn toml_file_is_read_and_unknown_keys_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lwams.toml");
        std::fs::write(&p, "listen = \"127.0.0.1:4000\"\nsession_hours = 2\n").unwrap();
        let c: Config = toml::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        assert_eq!(c.listen.port(), 4000);
        assert_eq!(c.session_hours, 2);
        assert!(toml::from_str::<Config>("lisen = 1").is_err());
    }

    #[test]
    fn a_secret_key_is_generated_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config {
            data_dir: dir.path().into(),
            ..Config::default()
        };
        let k1 = c.secret_key().unwrap();
        let k2 = c.secret_key().unwrap();
        assert_eq!(k1, k2);
        assert!(crate::crypto::SecretBox::from_base64(&k1).is_ok());
    }
}
