//! Remote commands over SSH (russh): password or private-key sign-in, the terminal's
//! host key checked — against the fingerprint the server trusts for the terminal when
//! it sends one, else against an OpenSSH `known_hosts` file (first key seen for a
//! host:port is learnt) — a changed key refuses the connection naming both
//! fingerprints; the key seen is reported with the task. One connection per terminal
//! account reused across commands, timeouts and output caps.

use super::local::OnOutput;
use russh::client::{self, Handle};
use russh::keys::{self, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh::ChannelMsg;
use shared::agent::{CommandResult, FailureCode, HostKeySeen, SshAuth, Stream, OUTPUT_CAP};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where and as whom.
#[derive(Debug, Clone, PartialEq)]
pub struct SshTarget {
    pub address: String,
    pub port: u16,
    pub username: String,
    pub auth: SshAuth,
    /// The host key fingerprint the server trusts (`SHA256:…`); `None`: `known_hosts`,
    /// learning the first key seen.
    pub host_key: Option<String>,
}

/// A key's fingerprint as OpenSSH prints it (`SHA256:` + unpadded base64).
pub fn fingerprint(key: &keys::PublicKey) -> String {
    key.fingerprint(keys::HashAlg::Sha256).to_string()
}

#[derive(Debug, thiserror::Error)]
pub enum SshError {
    #[error("cannot reach {0}: {1}")]
    Unreachable(String, String),
    #[error("{0} refused the sign-in of {1}")]
    AuthFailed(String, String),
    #[error("the private key cannot be read: {0}")]
    BadKey(String),
    #[error(
        "the host key of {place} changed: {trusted} is trusted ({by}), the terminal now \
         shows {shown}; refusing to connect. If the terminal's key was really replaced, \
         accept the new key on System › Hosts (the terminal's row)"
    )]
    KeyChanged {
        place: String,
        /// The fingerprint trusted.
        trusted: String,
        /// Who trusts it: the server, or `known_hosts` line N.
        by: String,
        /// The fingerprint the terminal showed.
        shown: String,
    },
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("cancelled")]
    Cancelled,
    #[error("ssh: {0}")]
    Protocol(String),
}

impl SshError {
    pub fn code(&self) -> FailureCode {
        match self {
            SshError::Unreachable(..) | SshError::KeyChanged { .. } => FailureCode::Unreachable,
            SshError::AuthFailed(..) | SshError::BadKey(_) => FailureCode::AuthFailed,
            SshError::Timeout(_) => FailureCode::Timeout,
            SshError::Cancelled => FailureCode::Cancelled,
            SshError::Protocol(_) => FailureCode::Other,
        }
    }
}

/// Checks the server's key: against the fingerprint the server trusts when there is
/// one, else against the known-hosts file (learning it the first time).
pub(crate) struct HostKeyCheck {
    host: String,
    port: u16,
    known_hosts: PathBuf,
    expected: Option<String>,
    /// The key presented and how it was judged, for the task's report.
    seen: Arc<Mutex<Option<HostKeySeen>>>,
    /// Why the key was refused, for the error message.
    refused: Arc<Mutex<Option<SshError>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn io_error(e: impl std::fmt::Display) -> russh::Error {
    russh::Error::IO(std::io::Error::other(e.to_string()))
}

impl HostKeyCheck {
    /// Whether `key` may be trusted, and the fingerprint expected when it may not
    /// (with who expects it).
    fn judge(&self, key: &keys::PublicKey) -> Result<Option<(String, String)>, russh::Error> {
        if let Some(expected) = &self.expected {
            return Ok((fingerprint(key) != *expected)
                .then(|| (expected.clone(), "by the LWAMS server".to_string())));
        }
        match keys::check_known_hosts_path(&self.host, self.port, key, &self.known_hosts) {
            Ok(true) => Ok(None),
            Ok(false) => {
                // Not known yet: trust on first use, and remember it.
                keys::known_hosts::learn_known_hosts_path(
                    &self.host,
                    self.port,
                    key,
                    &self.known_hosts,
                )
                .map_err(io_error)?;
                Ok(None)
            }
            Err(keys::Error::KeyChanged { line }) => {
                let known = keys::known_hosts::known_host_keys_path(
                    &self.host,
                    self.port,
                    &self.known_hosts,
                )
                .map_err(io_error)?;
                let trusted = known
                    .iter()
                    .find(|(l, _)| *l == line)
                    .map(|(_, k)| fingerprint(k))
                    .unwrap_or_else(|| "another key".into());
                Ok(Some((
                    trusted,
                    format!("{} line {line}", self.known_hosts.display()),
                )))
            }
            Err(e) => Err(io_error(e)),
        }
    }
}

impl client::Handler for HostKeyCheck {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key = key.public_key();
        let refused = self.judge(&key)?;
        let shown = fingerprint(&key);
        *lock(&self.seen) = Some(HostKeySeen {
            address: self.host.clone(),
            port: self.port,
            fingerprint: shown.clone(),
            algorithm: key.algorithm().to_string(),
            expected: refused.as_ref().map(|(t, _)| t.clone()),
        });
        match refused {
            None => Ok(true),
            Some((trusted, by)) => {
                *lock(&self.refused) = Some(SshError::KeyChanged {
                    place: format!("{}:{}", self.host, self.port),
                    trusted,
                    by,
                    shown,
                });
                Ok(false)
            }
        }
    }
}

pub(crate) type Conn = Arc<Handle<HostKeyCheck>>;

/// A pooled connection and the host key it was made with.
struct Pooled {
    conn: Conn,
    key: HostKeySeen,
}

/// Connections by terminal account; a broken one is replaced on next use.
pub struct SshPool {
    known_hosts: PathBuf,
    connect_timeout: Duration,
    conns: tokio::sync::Mutex<HashMap<String, Pooled>>,
    /// The last host key seen per `address:port`, and when (for the task's report).
    seen: Mutex<HashMap<String, (Instant, HostKeySeen)>>,
}

impl SshPool {
    pub fn new(known_hosts: PathBuf) -> SshPool {
        SshPool {
            known_hosts,
            connect_timeout: Duration::from_secs(15),
            conns: Default::default(),
            seen: Default::default(),
        }
    }

    fn saw(&self, key: &HostKeySeen) {
        lock(&self.seen).insert(
            format!("{}:{}", key.address, key.port),
            (Instant::now(), key.clone()),
        );
    }

    /// The host key `address:port` showed since `since` (a connection made or reused
    /// for a task started then), if any.
    pub fn host_key_seen(&self, address: &str, port: u16, since: Instant) -> Option<HostKeySeen> {
        lock(&self.seen)
            .get(&format!("{address}:{port}"))
            .filter(|(at, _)| *at >= since)
            .map(|(_, k)| k.clone())
    }

    fn key(t: &SshTarget) -> String {
        // The secret is part of the key so that a changed password opens a new
        // connection; only a hash of it is kept.
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        format!("{:?}", t.auth).hash(&mut h);
        format!("{}@{}:{}#{:x}", t.username, t.address, t.port, h.finish())
    }

    async fn connect(&self, t: &SshTarget) -> Result<Pooled, SshError> {
        let place = format!("{}:{}", t.address, t.port);
        let refused = Arc::new(Mutex::new(None));
        let seen = Arc::new(Mutex::new(None));
        let check = HostKeyCheck {
            host: t.address.clone(),
            port: t.port,
            known_hosts: self.known_hosts.clone(),
            expected: t.host_key.clone(),
            seen: seen.clone(),
            refused: refused.clone(),
        };
        let config = Arc::new(client::Config {
            inactivity_timeout: Some(Duration::from_secs(600)),
            // Small request/response packets: without this, Nagle + delayed ACK add
            // ~40 ms to every command.
            nodelay: true,
            keepalive_interval: Some(Duration::from_secs(30)),
            ..Default::default()
        });
        let connecting = client::connect(config, (t.address.as_str(), t.port), check);
        let connected = tokio::time::timeout(self.connect_timeout, connecting).await;
        let key = lock(&seen).take();
        if let Some(k) = &key {
            self.saw(k);
        }
        let mut handle = match connected {
            Err(_) => return Err(SshError::Unreachable(place, "connect timed out".into())),
            Ok(Err(e)) => {
                if let Some(why) = lock(&refused).take() {
                    return Err(why);
                }
                return Err(SshError::Unreachable(place, e.to_string()));
            }
            Ok(Ok(h)) => h,
        };
        let Some(key) = key else {
            return Err(SshError::Protocol(format!(
                "{place}: no host key was checked"
            )));
        };
        let who = t.username.clone();
        let auth = match &t.auth {
            SshAuth::Password { password } => handle
                .authenticate_password(who.clone(), password.clone())
                .await
                .map_err(|e| SshError::Protocol(e.to_string()))?,
            SshAuth::Key {
                private_key,
                passphrase,
            } => {
                let key = keys::decode_secret_key(private_key, passphrase.as_deref())
                    .map_err(|e| SshError::BadKey(e.to_string()))?;
                let hash = handle
                    .best_supported_rsa_hash()
                    .await
                    .map_err(|e| SshError::Protocol(e.to_string()))?
                    .flatten();
                handle
                    .authenticate_publickey(
                        who.clone(),
                        PrivateKeyWithHashAlg::new(Arc::new(key), hash),
                    )
                    .await
                    .map_err(|e| SshError::Protocol(e.to_string()))?
            }
        };
        if !auth.success() {
            return Err(SshError::AuthFailed(place, who));
        }
        Ok(Pooled {
            conn: Arc::new(handle),
            key,
        })
    }

    /// A pooled connection for the account, opening one when needed. A pooled one made
    /// with another host key than the one the server now trusts is not reused.
    pub(crate) async fn get(&self, t: &SshTarget) -> Result<Conn, SshError> {
        let key = Self::key(t);
        if let Some(p) = self.conns.lock().await.get(&key).filter(|p| {
            !p.conn.is_closed()
                && t.host_key
                    .as_ref()
                    .is_none_or(|expected| *expected == p.key.fingerprint)
        }) {
            self.saw(&p.key);
            return Ok(p.conn.clone());
        }
        let p = self.connect(t).await?;
        let c = p.conn.clone();
        self.conns.lock().await.insert(key, p);
        Ok(c)
    }

    pub(crate) async fn forget(&self, t: &SshTarget) {
        self.conns.lock().await.remove(&Self::key(t));
    }

    /// A new session channel on the account's pooled connection (a stale connection is
    /// replaced once).
    pub(crate) async fn channel(
        &self,
        t: &SshTarget,
    ) -> Result<russh::Channel<client::Msg>, SshError> {
        match self.get(t).await?.channel_open_session().await {
            Ok(ch) => Ok(ch),
            Err(_) => {
                self.forget(t).await;
                self.get(t)
                    .await?
                    .channel_open_session()
                    .await
                    .map_err(|e| SshError::Protocol(e.to_string()))
            }
        }
    }

    /// Runs `command` on the target until it ends, `timeout` passes or `cancel`
    /// completes; output is handed to `on_output` as it arrives.
    pub async fn run(
        &self,
        t: &SshTarget,
        command: &str,
        timeout: Duration,
        cancel: impl std::future::Future<Output = ()>,
        on_output: OnOutput<'_>,
    ) -> Result<CommandResult, SshError> {
        self.run_fed(t, command, &[], timeout, cancel, on_output)
            .await
    }

    /// As `run`, writing `input` to the command's standard input first (then its end),
    /// when not empty.
    pub async fn run_fed(
        &self,
        t: &SshTarget,
        command: &str,
        input: &[u8],
        timeout: Duration,
        cancel: impl std::future::Future<Output = ()>,
        on_output: OnOutput<'_>,
    ) -> Result<CommandResult, SshError> {
        let started = Instant::now();
        let work = async {
            let channel = self.channel(t).await?;
            run_on_channel(channel, command, input, on_output).await
        };
        let outcome = tokio::select! {
            r = tokio::time::timeout(timeout, work) => r.map_err(|_| SshError::Timeout(timeout))?,
            _ = cancel => Err(SshError::Cancelled),
        };
        outcome.map(|(exit_code, o, e, truncated)| CommandResult {
            exit_code,
            stdout: o,
            stderr: e,
            truncated,
            duration_ms: started.elapsed().as_millis() as u64,
        })
    }
}

async fn run_on_channel(
    mut channel: russh::Channel<client::Msg>,
    command: &str,
    input: &[u8],
    on_output: OnOutput<'_>,
) -> Result<(Option<i32>, String, String, bool), SshError> {
    channel
        .exec(true, command)
        .await
        .map_err(|e| SshError::Protocol(e.to_string()))?;
    if !input.is_empty() {
        channel
            .data(input)
            .await
            .map_err(|e| SshError::Protocol(e.to_string()))?;
        channel
            .eof()
            .await
            .map_err(|e| SshError::Protocol(e.to_string()))?;
    }
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut truncated = false;
    let mut code = None;
    let mut keep = |buf: &mut Vec<u8>, data: &[u8], stream: Stream| {
        on_output(stream, &String::from_utf8_lossy(data));
        let room = OUTPUT_CAP.saturating_sub(buf.len());
        buf.extend_from_slice(&data[..data.len().min(room)]);
        truncated |= data.len() > room;
    };
    while let Some(msg) = channel.wait().await {
        match msg {
            ChannelMsg::Data { data } => keep(&mut out, &data, Stream::Stdout),
            ChannelMsg::ExtendedData { data, ext: 1 } => keep(&mut err, &data, Stream::Stderr),
            ChannelMsg::ExitStatus { exit_status } => code = Some(exit_status as i32),
            ChannelMsg::ExitSignal { signal_name, .. } => {
                keep(
                    &mut err,
                    format!("killed by signal {signal_name:?}\n").as_bytes(),
                    Stream::Stderr,
                );
            }
            _ => {}
        }
    }
    Ok((
        code,
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
        truncated,
    ))
}
