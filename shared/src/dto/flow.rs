//! Flows (deployed BPMN versions) and their instances, as the API shows them.

pub use super::status::{InstanceStatus, NodeState, RunStatus};
use super::{Id, Millis};
use serde::{Deserialize, Serialize};

/// The answer to `POST /flows/import` (a file's bytes): the versions deployed, and
/// what the reader had to guess about the file's encoding (a wrong declaration), one
/// line each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportedFlows {
    pub versions: Vec<FlowVersion>,
    pub warnings: Vec<String>,
}

/// Deploy a BPMN file: every executable process becomes a new version of its key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeployFlow {
    pub xml: String,
    /// The version the designer opened: the deploy is refused (409, naming who changed
    /// it and when) if the flow has moved on since. `version` 0: a new flow.
    #[serde(default)]
    pub base: Option<DeployBase>,
    /// The "basic data" asked for on deploy (group, comments); empty when imported.
    #[serde(default)]
    pub about: FlowAbout,
}

/// A flow's group (flows are sorted and searched by it) and the comment of a version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlowAbout {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub comments: String,
}

impl FlowAbout {
    /// Trimmed; a group or comment that is too long or holds control characters is
    /// refused, naming the field.
    pub fn checked(&self) -> Result<FlowAbout, crate::validate::FieldError> {
        Ok(FlowAbout {
            group: crate::validate::optional_text("group", &self.group, 100)?,
            comments: crate::validate::optional_text("comments", &self.comments, 2000)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeployBase {
    pub key: String,
    pub version: i64,
}

/// A designer's draft of a flow: saved, not deployed (one per flow, shared).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlowDraft {
    pub key: String,
    pub xml: String,
    /// The version the draft was started from (0: a flow never deployed).
    pub base_version: i64,
    /// Who saved it last (display name; empty when unknown).
    pub updated_by: String,
    pub updated_at: Millis,
}

/// Saving a draft (`PUT /flows/{key}/draft`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SaveDraft {
    pub xml: String,
    #[serde(default)]
    pub base_version: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlowVersion {
    pub id: Id,
    pub key: String,
    pub name: String,
    pub version: i64,
    pub created_by: Option<Id>,
    /// Who deployed it (display name; empty when unknown).
    #[serde(default)]
    pub created_by_name: String,
    pub created_at: Millis,
    #[serde(default)]
    pub about: FlowAbout,
}

/// A flow that has a draft: for the Flow › Editor list (draft-only flows included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DraftSummary {
    pub key: String,
    /// The process name in the draft (its key when it has none).
    pub name: String,
    /// The version it was started from (0: never deployed).
    pub base_version: i64,
    pub updated_by: String,
    pub updated_at: Millis,
}

/// A problem that stops a deploy, with the element and line it is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlowProblem {
    pub element_id: Option<String>,
    pub line: u32,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Instance {
    pub id: Id,
    pub flow_key: String,
    pub flow_version: i64,
    pub status: InstanceStatus,
    /// How it was started: `manual` (Start in the app), `api`, `call`, `timer`.
    pub start_way: String,
    /// Who started it (a timer start: who deployed the flow; a call: its caller's).
    pub created_by: Option<Id>,
    /// The creator's display name.
    #[serde(default)]
    pub created_by_name: Option<String>,
    pub started_at: Millis,
    pub ended_at: Option<Millis>,
}

/// A file an RPA step brought back (Flow › Monitor lists it; download by id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArtifactInfo {
    pub id: Id,
    pub node_id: String,
    /// The node instance (`ni`) and its attempt.
    pub ni: i64,
    pub attempt: i64,
    /// Path inside the script's directory (`shots/login.png`).
    pub name: String,
    pub size: i64,
    /// Whether the content was kept (files over the limits are only listed).
    pub stored: bool,
    pub created_at: Millis,
}

/// One run of one node: what went in, what came out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeRun {
    pub node_id: String,
    pub attempt: i64,
    pub status: RunStatus,
    pub started_at: Millis,
    pub ended_at: Option<Millis>,
    pub output: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InstanceDetail {
    pub instance: Instance,
    pub runs: Vec<NodeRun>,
    /// Every node instance's state (the diagram's colours).
    pub nodes: Vec<NodeStatus>,
    pub actions: Vec<InstanceAction>,
    /// The calling instance, for a flow started by a call activity.
    pub parent_instance: Option<Id>,
    pub root_instance: Id,
}

/// Filters of the instance list (`?q=&status=&offset=&limit=`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams, utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct InstanceQuery {
    /// Flow key contains.
    pub q: Option<String>,
    /// running, paused, failed, completed or terminated.
    pub status: Option<String>,
    pub offset: Option<i64>,
    pub limit: Option<i64>,
}

/// The state of one node instance, as the monitor colours it (SPEC §5.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeStatus {
    /// The node instance (a node runs more than once in loops and multi-instance).
    pub ni: u64,
    pub node_id: String,
    pub state: NodeState,
    pub attempt: u32,
    pub error: Option<String>,
    /// A user task (completed by a person).
    #[serde(default)]
    pub user_task: bool,
}

/// An operator's action on an instance: who did what, when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InstanceAction {
    pub action: String,
    pub node_id: Option<String>,
    pub user_id: Option<Id>,
    pub user_name: String,
    pub at: Millis,
}

/// Sent over `/ws` whenever an instance changes: its status and every node's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LiveUpdate {
    pub instance_id: Id,
    pub root_instance: Id,
    pub flow_key: String,
    pub status: InstanceStatus,
    pub nodes: Vec<NodeStatus>,
    pub at: Millis,
}

/// Start an instance of a flow (its latest version unless one is named).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StartInstance {
    pub key: String,
    pub version: Option<i64>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub variables: serde_json::Map<String, serde_json::Value>,
    /// A person pressed Start in the app (it sends `true`): recorded as start way
    /// `manual`; any other client's start is recorded as `api`.
    #[serde(default)]
    pub manual: bool,
}

/// An operator's control on an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ControlAction {
    Pause,
    Resume,
    Terminate,
    /// Run a failed step again (needs `node_instance`).
    Retry,
    /// Go on past a failed or active node (needs `node_instance`).
    Skip,
    /// Complete a user task (needs `node_instance`).
    Complete,
}

impl ControlAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ControlAction::Pause => "pause",
            ControlAction::Resume => "resume",
            ControlAction::Terminate => "terminate",
            ControlAction::Retry => "retry",
            ControlAction::Skip => "skip",
            ControlAction::Complete => "complete",
        }
    }

    pub fn needs_node(self) -> bool {
        matches!(
            self,
            ControlAction::Retry | ControlAction::Skip | ControlAction::Complete
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InstanceControl {
    pub action: ControlAction,
    pub node_instance: Option<u64>,
}

/// A piece of a running step's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveOutput {
    pub instance_id: Id,
    /// The node instance whose step printed it.
    pub ni: u64,
    pub stream: crate::agent::Stream,
    pub text: String,
}

/// What the server sends over `/ws`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveMessage {
    /// An instance changed.
    Update(LiveUpdate),
    /// Output of a running step as it arrives (its node run holds all of it at the end).
    Output(LiveOutput),
    /// Updates were dropped (a slow client): fetch what is shown again.
    Resync,
}
