//! Flows (deployed BPMN versions) and their instances, as the API shows them.

use super::{Id, Millis};
use serde::{Deserialize, Serialize};

/// Deploy a BPMN file: every executable process becomes a new version of its key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeployFlow {
    pub xml: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlowVersion {
    pub id: Id,
    pub key: String,
    pub name: String,
    pub version: i64,
    pub created_by: Option<Id>,
    pub created_at: Millis,
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
    pub status: String,
    pub start_way: String,
    pub created_by: Option<Id>,
    pub started_at: Millis,
    pub ended_at: Option<Millis>,
}

/// One run of one node: what went in, what came out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeRun {
    pub node_id: String,
    pub attempt: i64,
    pub status: String,
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
}

/// Filters of the instance list (`?q=&status=&offset=&limit=`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams, utoipa::ToSchema))]
pub struct InstanceQuery {
    /// Flow key contains.
    pub q: Option<String>,
    /// running, paused, failed, completed or terminated.
    pub status: Option<String>,
    pub offset: Option<i64>,
    pub limit: Option<i64>,
}
