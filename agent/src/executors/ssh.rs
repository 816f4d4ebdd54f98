//! Remote commands over SSH (russh): password or private-key sign-in, the server's
//! host key checked against an OpenSSH `known_hosts` file (first key seen for a
//! host:port is learnt, a changed key refuses the connection), one connection per
//! terminal account reused across commands, timeouts and output caps.

use super::local::OnOutput;
use russh::client::{self, Handle};
use russh::keys::{self, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh::ChannelMsg;
use shared::agent::{CommandResult, FailureCode, SshAuth, Stream, OUTPUT_CAP};
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
}

#[derive(Debug, thiserror::Error)]
pub enum SshError {
    #[error("cannot reach {0}: {1}")]
    Unreachable(String, String),
    #[error("{0} refused the sign-in of {1}")]
    AuthFailed(String, String),
    #[error("the private key cannot be read: {0}")]
    BadKey(String),
    #[error("host key of {0} does not match known_hosts line {1}: refusing to connect")]
    KeyChanged(String, usize),
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
            SshError::Unreachable(..) | SshError::KeyChanged(..) => FailureCode::Unreachable,
            SshError::AuthFailed(..) | SshError::BadKey(_) => FailureCode::AuthFailed,
            SshError::Timeout(_) => FailureCode::Timeout,
            SshError::Cancelled => FailureCode::Cancelled,
            SshError::Protocol(_) => FailureCode::Other,
        }
    }
}

/// Checks the server's key against the known-hosts file; learns it the first time.
pub(crate) struct HostKeyCheck {
    host: String,
    port: u16,
    known_hosts: PathBuf,
    /// Why the key was refused, for the error message.
    refused: Arc<Mutex<Option<SshError>>>,
}

impl client::Handler for HostKeyCheck {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key = key.public_key();
        match keys::check_known_hosts_path(&self.host, self.port, &key, &self.known_hosts) {
            Ok(true) => Ok(true),
            Ok(false) => {
                // Not known yet: trust on first use, and remember it.
                keys::known_hosts::learn_known_hosts_path(
                    &self.host,
                    self.port,
                    &key,
                    &self.known_hosts,
                )
                .map_err(|e| russh::Error::IO(std::io::Error::other(e.to_string())))?;
                Ok(true)
            }
            Err(keys::Error::KeyChanged { line }) => {
                *self.refused.lock().unwrap_or_else(|e| e.into_inner()) = Some(
                    SshError::KeyChanged(format!("{}:{}", self.host, self.port), line),
                );
                Ok(false)
            }
            Err(e) => Err(russh::Error::IO(std::io::Error::other(e.to_string()))),
        }
    }
}

pub(crate) type Conn = Arc<Handle<HostKeyCheck>>;

/// Connections by terminal account; a broken one is replaced on next use.
pub struct SshPool {
    known_hosts: PathBuf,
    connect_timeout: Duration,
    conns: tokio::sync::Mutex<HashMap<String, Conn>>,
}

impl SshPool {
    pub fn new(known_hosts: PathBuf) -> SshPool {
        SshPool {
            known_hosts,
            connect_timeout: Duration::from_secs(15),
            conns: Default::default(),
        }
    }

    fn key(t: &SshTarget) -> String {
        // The secret is part of the key so that a changed password opens a new
        // connection; only a hash of it is kept.
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        format!("{:?}", t.auth).hash(&mut h);
        format!("{}@{}:{}#{:x}", t.username, t.address, t.port, h.finish())
    }

    async fn connect(&self, t: &SshTarget) -> Result<Conn, SshError> {
        let place = format!("{}:{}", t.address, t.port);
        let refused = Arc::new(Mutex::new(None));
        let check = HostKeyCheck {
            host: t.address.clone(),
            port: t.port,
            known_hosts: self.known_hosts.clone(),
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
        let mut handle = match tokio::time::timeout(self.connect_timeout, connecting).await {
            Err(_) => return Err(SshError::Unreachable(place, "connect timed out".into())),
            Ok(Err(e)) => {
                if let Some(why) = refused.lock().unwrap_or_else(|e| e.into_inner()).take() {
                    return Err(why);
                }
                return Err(SshError::Unreachable(place, e.to_string()));
            }
            Ok(Ok(h)) => h,
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
        Ok(Arc::new(handle))
    }

    /// A pooled connection for the account, opening one when needed.
    pub(crate) async fn get(&self, t: &SshTarget) -> Result<Conn, SshError> {
        let key = Self::key(t);
        if let Some(c) = self.conns.lock().await.get(&key).filter(|c| !c.is_closed()) {
            return Ok(c.clone());
        }
        let c = self.connect(t).await?;
        self.conns.lock().await.insert(key, c.clone());
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
