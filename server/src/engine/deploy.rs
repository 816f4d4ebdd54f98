//! Deploy: a BPMN file is parsed, validated and compiled once; every executable process
//! becomes a new immutable version with its compiled form, and timer start events are
//! scheduled. A refused file changes nothing and names every problem (element, line).

use super::compile::compile_document;
use super::runtime::{Runtime, RuntimeError};
use crate::store::{flows, StoreError};
use shared::bpmn::{validate, BpmnError, Document};
use shared::dto::flow::{FlowAbout, FlowProblem};
use shared::dto::Id;

/// Largest BPMN file accepted.
pub const MAX_XML_BYTES: usize = 10 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("{}", problems_text(.0))]
    Refused(Vec<FlowProblem>),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// The flow moved on since the designer opened `base` (optimistic check).
    #[error("flow {key} was changed meanwhile: it is at version {latest}")]
    Stale {
        key: String,
        latest: i64,
        by: Option<Id>,
        at: i64,
    },
}

fn problems_text(p: &[FlowProblem]) -> String {
    p.iter()
        .map(|p| match &p.element_id {
            Some(id) => format!("line {}: {id}: {}", p.line, p.message),
            None => format!("line {}: {}", p.line, p.message),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn refused(line: u32, element_id: Option<String>, message: String) -> DeployError {
    DeployError::Refused(vec![FlowProblem {
        element_id,
        line,
        message,
    }])
}

/// `line 3: msg` → `msg` (the line travels in its own field).
fn without_line(m: &str) -> String {
    match m.strip_prefix("line ").and_then(|r| r.split_once(": ")) {
        Some((n, rest)) if n.chars().all(|c| c.is_ascii_digit()) => rest.to_string(),
        _ => m.to_string(),
    }
}

/// A deployed version: definition id, key, version.
#[derive(Debug, Clone)]
pub struct Deployed {
    pub id: Id,
    pub key: String,
    pub version: i64,
}

/// Which processes of a file to deploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Those marked `isExecutable="true"` (at least one).
    Executable,
    /// The executable ones, else the first process (a headless run of any file).
    ExecutableOrFirst,
}

pub async fn deploy(
    runtime: &Runtime,
    company_id: Id,
    xml: &str,
    which: Which,
    by: Option<Id>,
    base: Option<&shared::dto::flow::DeployBase>,
    about: &FlowAbout,
) -> Result<(Document, Vec<Deployed>), DeployError> {
    if xml.len() > MAX_XML_BYTES {
        return Err(refused(
            0,
            None,
            format!("the file is larger than {} MB", MAX_XML_BYTES / 1024 / 1024),
        ));
    }
    let doc = Document::parse(xml).map_err(|e| {
        let line = match &e {
            BpmnError::Xml(x) => x.line,
            BpmnError::NotBpmn { line, .. } => *line,
        };
        refused(line, None, without_line(&e.to_string()))
    })?;
    let problems: Vec<FlowProblem> = validate(&doc)
        .into_iter()
        .map(|p| FlowProblem {
            element_id: p.element_id.clone(),
            line: p.line,
            message: p.message.clone(),
        })
        .collect();
    if !problems.is_empty() {
        return Err(DeployError::Refused(problems));
    }
    let mut chosen: Vec<_> = doc
        .model
        .processes
        .iter()
        .filter(|p| p.is_executable)
        .collect();
    if chosen.is_empty() && which == Which::ExecutableOrFirst {
        chosen.extend(doc.model.processes.first());
    }
    if chosen.is_empty() {
        return Err(refused(
            0,
            None,
            "no process is marked executable (isExecutable=\"true\")".into(),
        ));
    }
    for p in &chosen {
        if shared::validate::identifier("key", &p.id, 100).is_err() {
            return Err(refused(
                doc.line_of(&p.id),
                Some(p.id.clone()),
                "the process id is not usable as a flow key (letters, digits, _ . -)".into(),
            ));
        }
    }
    let compiled = compile_document(&doc).map_err(|e| match e {
        super::compile::CompileError::Element(id, m) => {
            let line = doc.line_of(&id);
            refused(line, Some(id), m)
        }
        other => refused(0, None, other.to_string()),
    })?;
    if let Some(trust) = runtime.trust() {
        if !trust.is_trusted(company_id).await? {
            let problems: Vec<FlowProblem> = compiled
                .iter()
                .filter(|ex| chosen.iter().any(|p| p.id == ex.process_id))
                .flat_map(super::placement::server_steps)
                .map(|(id, what)| FlowProblem {
                    line: doc.line_of(&id),
                    element_id: Some(id),
                    message: crate::security::trust::not_on_server(what),
                })
                .collect();
            if !problems.is_empty() {
                return Err(DeployError::Refused(problems));
            }
        }
    }
    let compiled_json = serde_json::to_string(&compiled)
        .map_err(|e| refused(0, None, format!("cannot store the compiled flow: {e}")))?;
    let mut tx = runtime.store().begin().await?;
    if let Some(base) = base {
        // Checked in the deploy's transaction: no one can slip a version in between.
        let latest = flows::latest(&mut tx, company_id, &base.key).await?;
        let (version, by, at) = latest
            .map(|l| (l.version, l.created_by, l.created_at))
            .unwrap_or((0, None, 0));
        if version != base.version {
            return Err(DeployError::Stale {
                key: base.key.clone(),
                latest: version,
                by,
                at,
            });
        }
    }
    let mut out = Vec::new();
    for p in chosen {
        let name = p.name.clone().unwrap_or_else(|| p.id.clone());
        // A version deployed without a group (an imported file) stays in the flow's group.
        let mut about = about.clone();
        if about.group.is_empty() {
            if let Some(prev) = flows::latest(&mut tx, company_id, &p.id).await? {
                about.group = prev.about.group;
            }
        }
        let def = flows::NewDefinition {
            key: &p.id,
            name: &name,
            xml,
            compiled: &compiled_json,
            by,
            about: &about,
        };
        let (id, version) = flows::insert_definition(&mut tx, company_id, &def).await?;
        if let Some(ex) = compiled.iter().find(|e| e.process_id == p.id) {
            runtime
                .schedule_starts(&mut tx, company_id, id, ex, by)
                .await
                .map_err(|e| match e {
                    RuntimeError::Refused(m) => refused(doc.line_of(&p.id), Some(p.id.clone()), m),
                    other => DeployError::Runtime(other),
                })?;
        }
        out.push(Deployed {
            id,
            key: p.id.clone(),
            version,
        });
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok((doc, out))
}
