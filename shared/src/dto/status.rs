//! The statuses of the engine's records: an instance's, a node instance's (the
//! diagram's colours), a node run's and a queued job's. The API and the monitor use
//! these types; the store keeps them as text (`as_str` / `parse`, at the store
//! boundary only).
//!
//! Serialised in lower case as the API always showed them; an instance's and a node's
//! status also read in the capitalised form the engine stored in its state JSON before
//! these types were shared (`"Running"`, `"Active"`).

use serde::{Deserialize, Serialize};

/// A stored or sent status that names no status of its kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}")]
pub struct UnknownStatus {
    pub what: &'static str,
    pub value: String,
}

macro_rules! status_enum {
    (
        $(#[$doc:meta])*
        $name:ident, $what:literal {
            $( $(#[$vdoc:meta])* $variant:ident = $text:literal | $old:literal ),+ $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name {
            $(
                $(#[$vdoc])*
                #[serde(rename = $text, alias = $old)]
                $variant,
            )+
        }

        impl $name {
            /// Every status of this kind.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Its name in the API and in the database.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The status a stored or sent name stands for.
            pub fn parse(s: &str) -> Result<$name, UnknownStatus> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownStatus { what: $what, value: s.to_string() }),
                }
            }

            /// The Fluent message id of its label (`status-running`).
            pub fn label_key(self) -> &'static str {
                match self {
                    $($name::$variant => concat!("status-", $text),)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// Compares with the name, as tests and scripts read the API's JSON.
        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownStatus;
            fn from_str(s: &str) -> Result<$name, UnknownStatus> {
                $name::parse(s)
            }
        }
    };
}

status_enum! {
    /// Where a flow instance stands.
    InstanceStatus, "instance status" {
        Running = "running" | "Running",
        Paused = "paused" | "Paused",
        /// A step failed without a handler: waiting for an operator to retry or skip it.
        Failed = "failed" | "Failed",
        Completed = "completed" | "Completed",
        Terminated = "terminated" | "Terminated",
    }
}

status_enum! {
    /// Where a node instance stands (SPEC §5.2: the monitor colours the diagram by it).
    NodeState, "node state" {
        Active = "active" | "Active",
        Completed = "completed" | "Completed",
        Failed = "failed" | "Failed",
        Skipped = "skipped" | "Skipped",
        Terminated = "terminated" | "Terminated",
    }
}

status_enum! {
    /// How one run (attempt) of a node went.
    RunStatus, "node run status" {
        Running = "running" | "Running",
        Completed = "completed" | "Completed",
        Failed = "failed" | "Failed",
        /// Stopped by an operator (skip, terminate) or because the node moved on.
        Cancelled = "cancelled" | "Cancelled",
        /// Its process or agent went away before it ended (recovery).
        Interrupted = "interrupted" | "Interrupted",
    }
}

status_enum! {
    /// Where a job of the runtime's queue stands.
    JobStatus, "job status" {
        Queued = "queued" | "Queued",
        /// Queued but not to be claimed (a paused instance's steps, a paused schedule).
        Held = "held" | "Held",
        Running = "running" | "Running",
        Done = "done" | "Done",
        Cancelled = "cancelled" | "Cancelled",
    }
}

impl InstanceStatus {
    /// Completed or terminated: nothing more happens to it.
    pub fn ended(self) -> bool {
        matches!(self, InstanceStatus::Completed | InstanceStatus::Terminated)
    }
}

impl NodeState {
    /// The status whose label and badge the monitor shows for a node in this state
    /// (an active node reads as running).
    pub fn shown_as(self) -> &'static str {
        match self {
            NodeState::Active => InstanceStatus::Running.as_str(),
            other => other.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_and_write_as_the_api_and_the_database_name_them() {
        for s in InstanceStatus::ALL {
            assert_eq!(InstanceStatus::parse(s.as_str()), Ok(*s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in NodeState::ALL {
            assert_eq!(NodeState::parse(s.as_str()), Ok(*s));
        }
        for s in RunStatus::ALL {
            assert_eq!(RunStatus::parse(s.as_str()), Ok(*s));
        }
        for s in JobStatus::ALL {
            assert_eq!(JobStatus::parse(s.as_str()), Ok(*s));
        }
        assert_eq!(InstanceStatus::Paused.label_key(), "status-paused");
        assert_eq!(NodeState::Active.shown_as(), "running");
    }

    #[test]
    fn engine_state_stored_with_capitalised_names_still_reads() {
        let old: (InstanceStatus, NodeState) =
            serde_json::from_str(r#"["Running","Skipped"]"#).unwrap();
        assert_eq!(old, (InstanceStatus::Running, NodeState::Skipped));
    }

    #[test]
    fn an_unknown_status_is_refused_naming_it() {
        let e = InstanceStatus::parse("sleeping").unwrap_err();
        assert_eq!(e.to_string(), "unknown instance status \"sleeping\"");
        assert!(serde_json::from_str::<JobStatus>(r#""lost""#).is_err());
    }
}
