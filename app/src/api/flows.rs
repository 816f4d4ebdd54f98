//! `/api/v1/flows`: deployed flow versions, deploys and imports.

use super::{list_path, post_bytes, send_json, ApiResult, Method};
use shared::dto::flow::{DeployFlow, FlowVersion, ImportedFlows};
use shared::dto::{ListQuery, Page};

/// One page of flows (each flow's latest version) whose key or name contains the search.
pub async fn list(q: ListQuery) -> ApiResult<Page<FlowVersion>> {
    super::get(&list_path("/flows", &q, "")).await
}

/// Deploys every executable process of the file as a new version.
pub async fn deploy(body: &DeployFlow) -> ApiResult<Vec<FlowVersion>> {
    send_json(Method::Post, "/flows", body).await
}

/// Imports a `.bpmn` file from its bytes in whatever encoding it is written; the server
/// decodes it and says what it had to guess.
pub async fn import(bytes: Vec<u8>) -> ApiResult<ImportedFlows> {
    post_bytes("/flows/import", bytes).await
}
