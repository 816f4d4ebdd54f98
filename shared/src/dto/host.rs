//! Hosts (Sub Manager agents), host groups, terminals and terminal users
//! (SPEC §2.3, §2.4). Secrets are write-only: inputs carry them, outputs only say
//! whether one is set.

use super::{Id, Millis};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A named group of hosts; `parent_id` makes the groups a tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostGroup {
    pub id: Id,
    pub name: String,
    pub parent_id: Option<Id>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostGroupInput {
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::name))]
    pub name: String,
    #[serde(default)]
    pub parent_id: Option<Id>,
}

/// Where a host's agent stands (SPEC §2.3 colours: pink, green, grey).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HostState {
    /// The agent has never connected.
    Uninitialised,
    Connected,
    Offline,
}

impl HostState {
    pub fn as_str(self) -> &'static str {
        match self {
            HostState::Uninitialised => "uninitialised",
            HostState::Connected => "connected",
            HostState::Offline => "offline",
        }
    }

    pub fn parse(s: &str) -> HostState {
        match s {
            "connected" => HostState::Connected,
            "offline" => HostState::Offline,
            _ => HostState::Uninitialised,
        }
    }
}

/// What an agent reports about its machine; keys are the `${id.host.*}` names of
/// SPEC §8.2 (hostName, osName, osVersion, osArch, cpuModel, memoryTotal, …).
pub type HostFacts = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Host {
    pub id: Id,
    pub name: String,
    pub group_id: Option<Id>,
    pub comments: String,
    pub state: HostState,
    pub last_seen: Option<Millis>,
    pub agent_version: String,
    pub facts: HostFacts,
    /// When the current agent credential was issued (rotating revokes the old one).
    pub credential_issued_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostInput {
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::name))]
    pub name: String,
    #[serde(default)]
    pub group_id: Option<Id>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::text))]
    pub comments: String,
}

/// How a terminal is reached from its host's agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ConnectionType {
    Ssh,
    Winrm,
    /// Read only: terminals stored by older versions. Not offered for new or edited
    /// terminals (rexec sends the password in clear on the network) and refused when a
    /// step or test would use it.
    Rexec,
}

impl ConnectionType {
    /// The connection types a terminal may be created or saved with.
    pub const OFFERED: [ConnectionType; 2] = [ConnectionType::Ssh, ConnectionType::Winrm];

    /// Whether a terminal may be saved with this type (rexec may not).
    pub fn offered(self) -> bool {
        Self::OFFERED.contains(&self)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionType::Ssh => "ssh",
            ConnectionType::Winrm => "winrm",
            ConnectionType::Rexec => "rexec",
        }
    }

    pub fn parse(s: &str) -> Option<ConnectionType> {
        match s.to_ascii_lowercase().as_str() {
            "ssh" => Some(ConnectionType::Ssh),
            "winrm" => Some(ConnectionType::Winrm),
            "rexec" => Some(ConnectionType::Rexec),
            _ => None,
        }
    }

    /// SSH 22, WinRM 5985, rexec 512.
    pub fn default_port(self) -> u16 {
        match self {
            ConnectionType::Ssh => 22,
            ConnectionType::Winrm => 5985,
            ConnectionType::Rexec => 512,
        }
    }
}

/// A managed machine reached through a host's agent (SPEC §2.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Terminal {
    pub id: Id,
    pub host_id: Id,
    pub host_name: String,
    pub host_address: String,
    pub port: u16,
    pub connection_type: ConnectionType,
    pub os_name: String,
    pub os_version: String,
    pub comments: String,
    pub users: Vec<TerminalUser>,
    /// SSH: the fingerprint (`SHA256:…`) of the host key trusted for this terminal,
    /// learnt on first use; empty: none yet. The Sub Manager connects only to a
    /// terminal showing it.
    #[serde(default)]
    pub host_key: String,
    /// SSH: a different key the terminal showed (the connection was refused), waiting
    /// for an operator to accept it; empty: none.
    #[serde(default)]
    pub host_key_pending: String,
    /// When the trusted key was learnt or accepted.
    #[serde(default)]
    pub host_key_at: Option<Millis>,
    /// WinRM: Basic authentication over plain HTTP (the password readable on the
    /// network) is allowed when the terminal offers nothing else. Default off.
    #[serde(default)]
    pub allow_basic_http: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TerminalInput {
    pub host_id: Id,
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::name))]
    pub host_name: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::host_address))]
    pub host_address: String,
    /// The connection type's default port when omitted.
    #[serde(default)]
    pub port: Option<u16>,
    pub connection_type: ConnectionType,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::short_text))]
    pub os_name: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::short_text))]
    pub os_version: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::text))]
    pub comments: String,
    /// WinRM: allow Basic authentication over plain HTTP (see [`Terminal`]).
    #[serde(default)]
    pub allow_basic_http: bool,
    /// Secrets given again for the terminal's accounts. Moving a terminal (another
    /// address, port or host) clears every account's stored password, key and
    /// passphrase — they were given for the old address — except for the accounts
    /// listed here, which get these values.
    #[serde(default)]
    pub account_secrets: Vec<AccountSecret>,
}

/// An account's secret given again when its terminal moves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountSecret {
    pub user_id: Id,
    /// The password, or the private key (OpenSSH/PEM form).
    pub secret: String,
    /// The private key's passphrase.
    #[serde(default)]
    pub passphrase: Option<String>,
}

/// Accepting the new host key an SSH terminal showed: the fingerprint the operator
/// saw (it must be the one waiting, so a key that arrived meanwhile is not accepted
/// unseen).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AcceptHostKey {
    pub fingerprint: String,
}

/// How a terminal user signs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TerminalAuth {
    Password,
    PrivateKey,
}

/// An account on a terminal; the secret itself never leaves the server except to the
/// agent that runs a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TerminalUser {
    pub id: Id,
    pub terminal_id: Id,
    pub username: String,
    pub auth: TerminalAuth,
    pub has_secret: bool,
    pub comments: String,
}

/// Creating or changing a terminal user. `secret` (the password, or the private key
/// in OpenSSH/PEM form) is write-only; `None` on an update keeps the stored one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TerminalUserInput {
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::required_username))]
    pub username: String,
    pub auth: TerminalAuth,
    #[serde(default)]
    pub secret: Option<String>,
    /// Passphrase of an encrypted private key (write-only).
    #[serde(default)]
    pub passphrase: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::text))]
    pub comments: String,
}

/// A newly issued agent credential: shown once, also written into the download.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssuedCredential {
    pub host_id: Id,
    pub credential: String,
    pub issued_at: Millis,
}

/// "Test connection": what the agent saw when it reached the terminal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectionTest {
    pub ok: bool,
    /// What the terminal answered (`uname -a` / `ver`), or the error.
    pub message: String,
    pub millis: u64,
}

/// A line of an agent's own log, as the host detail shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentLogLine {
    pub at: Millis,
    pub level: String,
    pub message: String,
}

/// A task the host's agent ran lately (kept in memory by the server that sent it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentTaskRecord {
    pub at: Millis,
    /// What ran, and where (secrets never appear here).
    pub what: String,
    pub ok: bool,
    /// Exit code or error.
    pub detail: String,
    pub millis: u64,
}

/// Host detail: the host, its terminals, the agent's recent tasks and log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostDetail {
    pub host: Host,
    pub terminals: Vec<Terminal>,
    pub recent_tasks: Vec<AgentTaskRecord>,
    pub log: Vec<AgentLogLine>,
    /// The Sub Manager processes seen on this host's credential lately (more than one:
    /// a copied package or a second start — the page says so).
    #[serde(default)]
    pub processes: Vec<AgentProcess>,
}

/// A Sub Manager process that connected with a host's credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentProcess {
    /// The process's id on the line (random per start).
    pub process: String,
    pub version: String,
    pub first_seen: Millis,
    pub last_seen: Millis,
    /// It holds the host's line now.
    pub current: bool,
}

#[cfg(test)]
mod connection_type_tests {
    use super::ConnectionType;

    #[test]
    fn rexec_still_reads_but_is_not_offered() {
        assert_eq!(ConnectionType::parse("rexec"), Some(ConnectionType::Rexec));
        assert!(!ConnectionType::Rexec.offered());
        assert!(ConnectionType::Ssh.offered() && ConnectionType::Winrm.offered());
    }
}
