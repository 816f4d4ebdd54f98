//! From a step's `lwams:host` / `lwams:terminal` / `lwams:terminalUser` to a task for
//! the right agent: the host, terminal and account are looked up in the step's
//! company, the account's secret unsealed only into the task sent to that agent.

use super::hub::{AgentHub, OutputSink};
use crate::crypto::SecretBox;
use crate::store::data_sources::{self, DataSourceRow};
use crate::store::hosts;
use crate::store::scripts;
use crate::store::sealed;
use crate::store::terminals::{self, TerminalRow, TerminalUserRow};
use crate::store::{Store, StoreError};
use serde_json::{json, Map, Value};
use shared::agent::{HostKeySeen, SqlConnect, SshAuth, Target, TaskOutcome, TaskSpec};
use shared::dto::data_source::DataSourceKind;
use shared::dto::host::{ConnectionType, Host, TerminalAuth};
use shared::dto::script::Script;
use shared::dto::Id;

#[derive(Debug, thiserror::Error)]
pub enum ReachError {
    #[error("host {0:?} not found")]
    NoHost(String),
    #[error("host {host}: terminal {terminal:?} not found")]
    NoTerminal { host: String, terminal: String },
    #[error("terminal {0}: no account {1:?}")]
    NoUser(String, String),
    /// A terminal stored with a connection type no longer offered (rexec).
    #[error(
        "terminal {0}: {1} connections are no longer offered (they send the password in \
         clear on the network): switch the terminal to SSH or WinRM on System › Hosts"
    )]
    Unsupported(String, &'static str),
    #[error("terminal {0}: the account's secret cannot be unsealed (was the secret key changed?)")]
    Secret(String),
    #[error(
        "terminal {0}: account {1} has no password or key stored (cleared when the \
         terminal's address, port or host changed): enter it again on System › Hosts"
    )]
    NoSecret(String, String),
    #[error("data source {0:?} not found")]
    NoDataSource(String),
    #[error("data source {0}: its password cannot be unsealed (was the secret key changed?)")]
    DataSourceSecret(String),
    #[error(
        "data source {source_name} may not be used on host {host}: it is usable only on \
         the hosts it names (Resource › Data sources)"
    )]
    DataSourceHost { source_name: String, host: String },
    #[error(
        "data source {0} may not be used in cloud (on the LWAMS server): run the step on \
         one of its hosts (lwams:host) or allow it in cloud (Resource › Data sources)"
    )]
    DataSourceInCloud(String),
    #[error(transparent)]
    Egress(#[from] crate::security::egress::EgressError),
    #[error("terminal {0}: WinRM accounts sign in with a password")]
    WinrmPassword(String),
    #[error("script {0:?} is not in the script library")]
    NoScript(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a step names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RemoteRef {
    pub host: String,
    /// `None`: the agent's own machine.
    pub terminal: Option<String>,
    /// `None`: the terminal's first account.
    pub user: Option<String>,
}

/// A resolved target: the host, and the terminal with its account when there is one.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub host: Host,
    pub terminal: Option<(TerminalRow, TerminalUserRow)>,
    pub target: Target,
}

impl Resolved {
    /// `${nodeId.host.*}`, `${nodeId.terminal.*}`, `${nodeId.terminalUser.*}` (SPEC §8.2).
    pub fn node_params(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("host".into(), host_params(&self.host));
        if let Some((t, u)) = &self.terminal {
            m.insert(
                "terminal".into(),
                json!({
                    "hostName": t.host_name, "hostAddress": t.host_address, "port": t.port,
                    "osName": t.os_name, "osVersion": t.os_version, "comments": t.comments,
                }),
            );
            m.insert(
                "terminalUser".into(),
                json!({ "username": u.username, "comments": u.comments }),
            );
            m.insert("connectionType".into(), json!(t.connection_type.as_str()));
        } else {
            m.insert("connectionType".into(), json!("local"));
        }
        m
    }
}

/// The WS-Management endpoint of a Windows terminal: HTTPS on 5986 (WinRM's HTTPS
/// port, certificate checked), HTTP elsewhere.
pub fn winrm_endpoint(address: &str, port: u16) -> String {
    let scheme = if port == 5986 { "https" } else { "http" };
    let host = if address.contains(':') && !address.starts_with('[') {
        format!("[{address}]")
    } else {
        address.to_string()
    };
    format!("{scheme}://{host}:{port}/wsman")
}

/// `${nodeId.host.*}` (SPEC §8.2): the host's id, name, comments and reported facts.
pub fn host_params(host: &Host) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(host.id));
    m.insert("name".into(), json!(host.name));
    m.insert("comments".into(), json!(host.comments));
    for (k, v) in &host.facts {
        m.insert(k.clone(), json!(v));
    }
    Value::Object(m)
}

/// The store, the key and the hub: everything a remote step needs.
#[derive(Clone)]
pub struct Reach {
    pub store: Store,
    pub secrets: SecretBox,
    pub hub: AgentHub,
    pub trust: crate::security::Trust,
    /// Where in-cloud work of untrusted companies may connect.
    pub egress: crate::security::EgressPolicy,
    pub confinement: crate::security::Confinement,
}

impl Reach {
    pub async fn resolve(&self, company_id: Id, r: &RemoteRef) -> Result<Resolved, ReachError> {
        let mut c = self.store.conn().await?;
        let host = hosts::find_host(&mut c, company_id, &r.host)
            .await?
            .ok_or_else(|| ReachError::NoHost(r.host.clone()))?;
        let Some(terminal_ref) = r.terminal.as_deref().filter(|t| !t.trim().is_empty()) else {
            return Ok(Resolved {
                host,
                terminal: None,
                target: Target::Local,
            });
        };
        let terminal = terminals::find_terminal(&mut c, company_id, host.id, terminal_ref)
            .await?
            .ok_or_else(|| ReachError::NoTerminal {
                host: host.name.clone(),
                terminal: terminal_ref.to_string(),
            })?;
        let user = terminals::find_user(&mut c, company_id, terminal.id, r.user.as_deref())
            .await?
            .ok_or_else(|| {
                ReachError::NoUser(
                    terminal.host_name.clone(),
                    r.user.clone().unwrap_or_default(),
                )
            })?;
        let target = self.target(&terminal, &user)?;
        Ok(Resolved {
            host,
            terminal: Some((terminal, user)),
            target,
        })
    }

    /// A data source by name or id, with its password unsealed into the connection for
    /// use on the host named `on` (by name or id; `None`: in cloud) — refused when the
    /// data source may not be used there.
    pub async fn database(
        &self,
        company_id: Id,
        reference: &str,
        on: Option<&str>,
    ) -> Result<(DataSourceRow, SqlConnect), ReachError> {
        let (row, host) = {
            let mut c = self.store.conn().await?;
            let row = data_sources::find(&mut c, company_id, reference)
                .await?
                .ok_or_else(|| ReachError::NoDataSource(reference.to_string()))?;
            let host = match on {
                Some(h) => Some(
                    hosts::find_host(&mut c, company_id, h)
                        .await?
                        .ok_or_else(|| ReachError::NoHost(h.to_string()))?,
                ),
                None => None,
            };
            (row, host)
        };
        let connect = self.connect_on(company_id, &row, host.as_ref()).await?;
        Ok((row, connect))
    }

    /// The connection to a data source for use on `host` (`None`: in cloud), its
    /// password unsealed only once the data source may be used there: on a host it
    /// names (when it names any), in cloud when allowed — and, for a company the server
    /// does not trust, not on a file of the server.
    pub async fn connect_on(
        &self,
        company_id: Id,
        row: &DataSourceRow,
        host: Option<&Host>,
    ) -> Result<SqlConnect, ReachError> {
        let ds = &row.source;
        match host {
            Some(h) if !ds.allowed_hosts.is_empty() && !ds.allowed_hosts.contains(&h.id) => {
                return Err(ReachError::DataSourceHost {
                    source_name: ds.name.clone(),
                    host: h.name.clone(),
                })
            }
            Some(_) => {}
            None if !ds.in_cloud_allowed => {
                return Err(ReachError::DataSourceInCloud(ds.name.clone()))
            }
            None => {
                if ds.kind == DataSourceKind::Sqlite && !self.trust.is_trusted(company_id).await? {
                    return Err(
                        crate::security::egress::EgressError::ServerFile(ds.name.clone()).into(),
                    );
                }
            }
        }
        self.connect(company_id, row)
    }

    /// The connection to a data source, its password unsealed (where it is used is the
    /// caller's to check: see [`Reach::connect_on`]).
    fn connect(&self, company_id: Id, row: &DataSourceRow) -> Result<SqlConnect, ReachError> {
        let password = if row.sealed_password.is_empty() {
            String::new()
        } else {
            self.secrets
                .open(
                    &sealed::DATA_SOURCE_PASSWORD.at(company_id, row.source.id),
                    &row.sealed_password,
                )
                .map_err(|_| ReachError::DataSourceSecret(row.source.name.clone()))?
        };
        Ok(SqlConnect {
            kind: row.source.kind,
            url: row.source.url.clone(),
            username: row.source.username.clone(),
            password,
        })
    }

    /// A script of the company's library, by name.
    pub async fn script(&self, company_id: Id, name: &str) -> Result<Script, ReachError> {
        let mut c = self.store.conn().await?;
        scripts::find(&mut c, company_id, name)
            .await?
            .ok_or_else(|| ReachError::NoScript(name.to_string()))
    }

    /// A host of the company, by name or id, as a step names it.
    pub async fn host(&self, company_id: Id, reference: &str) -> Result<Host, ReachError> {
        let mut c = self.store.conn().await?;
        hosts::find_host(&mut c, company_id, reference)
            .await?
            .ok_or_else(|| ReachError::NoHost(reference.to_string()))
    }

    /// Runs an HTTP, SQL or file operation task here on the server (`host` `None`:
    /// "in cloud") or on that host's Sub Manager. In cloud, a company the server does not
    /// trust connects only where the egress policy allows (`security::egress`).
    pub async fn run_service(
        &self,
        company_id: Id,
        host: Option<&Host>,
        spec: TaskSpec,
        cancel: impl std::future::Future<Output = ()>,
    ) -> TaskOutcome {
        self.run_service_masked(
            company_id,
            host,
            spec,
            &shared::redact::Masker::new(),
            cancel,
        )
        .await
    }

    /// [`Reach::run_service`]; on a host, its recent tasks also mask what `secrets` knows.
    pub async fn run_service_masked(
        &self,
        company_id: Id,
        host: Option<&Host>,
        spec: TaskSpec,
        secrets: &shared::redact::Masker,
        cancel: impl std::future::Future<Output = ()>,
    ) -> TaskOutcome {
        if let Some(h) = host {
            return self
                .hub
                .run_masked(company_id, h.id, spec, secrets, None, cancel)
                .await;
        }
        match self.untrusted_code(company_id).await {
            Ok(None) => agent::executors::task::run_service(&spec, cancel).await,
            Ok(Some(code)) => self.egress.run_service(&code, &spec, cancel).await,
            Err(e) => TaskOutcome::Failed {
                error: e.to_string(),
                code: shared::agent::FailureCode::Other,
            },
        }
    }

    /// `None` for a trusted company, else its code (for messages).
    async fn untrusted_code(&self, company_id: Id) -> Result<Option<String>, StoreError> {
        if self.trust.is_trusted(company_id).await? {
            return Ok(None);
        }
        let mut c = self.store.conn().await?;
        Ok(Some(
            crate::store::companies::get(&mut c, company_id)
                .await?
                .map(|row| row.code)
                .unwrap_or_else(|| company_id.to_string()),
        ))
    }

    /// The task target for a terminal account, its secret unsealed.
    pub fn target(&self, t: &TerminalRow, u: &TerminalUserRow) -> Result<Target, ReachError> {
        if t.connection_type == ConnectionType::Rexec {
            return Err(ReachError::Unsupported(
                t.host_name.clone(),
                t.connection_type.as_str(),
            ));
        }
        let open = |column: sealed::Column, stored: &str| -> Result<Option<String>, ReachError> {
            if stored.is_empty() {
                return Ok(None);
            }
            self.secrets
                .open(&column.at(u.company_id, u.id), stored)
                .map(Some)
                .map_err(|_| ReachError::Secret(t.host_name.clone()))
        };
        // Nothing stored (cleared when the terminal moved): nothing is sent.
        let secret = open(sealed::TERMINAL_SECRET, &u.sealed_secret)?
            .ok_or_else(|| ReachError::NoSecret(t.host_name.clone(), u.username.clone()))?;
        if t.connection_type == ConnectionType::Winrm {
            if u.auth != TerminalAuth::Password {
                return Err(ReachError::WinrmPassword(t.host_name.clone()));
            }
            return Ok(Target::Winrm {
                endpoint: winrm_endpoint(&t.host_address, t.port),
                username: u.username.clone(),
                password: secret,
                verify_tls: true,
                allow_basic_http: t.allow_basic_http,
            });
        }
        let auth = match u.auth {
            TerminalAuth::Password => SshAuth::Password { password: secret },
            TerminalAuth::PrivateKey => SshAuth::Key {
                private_key: secret,
                passphrase: open(sealed::TERMINAL_PASSPHRASE, &u.sealed_passphrase)?,
            },
        };
        Ok(Target::Ssh {
            address: t.host_address.clone(),
            port: t.port,
            username: u.username.clone(),
            auth,
            host_key: Some(t.host_key.clone()).filter(|k| !k.is_empty()),
        })
    }

    /// Runs a task on a terminal (or the host's own machine) through the host's agent
    /// and records on the terminal the SSH host key it showed: learnt on first use, or
    /// — refused as changed — kept pending for an operator to accept. `secrets`: values
    /// to mask in the host's recent tasks besides the task's own.
    #[allow(clippy::too_many_arguments)]
    pub async fn run_on(
        &self,
        company_id: Id,
        host_id: Id,
        terminal: Option<&TerminalRow>,
        spec: TaskSpec,
        secrets: &shared::redact::Masker,
        output: Option<OutputSink>,
        cancel: impl std::future::Future<Output = ()>,
    ) -> TaskOutcome {
        let (outcome, seen) = self
            .hub
            .run_reporting(company_id, host_id, spec, secrets, output, cancel)
            .await;
        if let (Some(t), Some(seen)) = (terminal, seen) {
            if let Err(e) = self.record_host_key(company_id, t, &seen).await {
                tracing::warn!(terminal = t.id, error = %e, "the host key seen could not be recorded");
            }
        }
        outcome
    }

    /// Records a host key an SSH terminal showed (see [`Reach::run_on`]).
    async fn record_host_key(
        &self,
        company_id: Id,
        t: &TerminalRow,
        seen: &HostKeySeen,
    ) -> Result<(), StoreError> {
        let here = seen.address.eq_ignore_ascii_case(&t.host_address) && seen.port == t.port;
        let refused = seen.expected.is_some();
        // A key matching the one trusted changes nothing (no write per task).
        if t.connection_type != ConnectionType::Ssh || !here || (!refused && !t.host_key.is_empty())
        {
            return Ok(());
        }
        let mut c = self.store.conn().await?;
        let changed = terminals::record_host_key(
            &mut c,
            company_id,
            t.id,
            &t.host_address,
            t.port,
            &seen.fingerprint,
            refused,
        )
        .await?;
        if changed {
            let line = match &seen.expected {
                None => format!(
                    "terminal {}: host key {} ({}) learnt on first use",
                    t.host_name, seen.fingerprint, seen.algorithm
                ),
                Some(trusted) => format!(
                    "terminal {}: the host key changed — {trusted} is trusted, {} ({}) was \
                     shown and refused; accept it on the terminal's row if it is right",
                    t.host_name, seen.fingerprint, seen.algorithm
                ),
            };
            let level = if refused { "warn" } else { "info" };
            self.hub.log(t.host_id, level, &line);
        }
        Ok(())
    }
}
