//! `lwams bpmn check FILE…`: reads, validates and round-trips BPMN files, one line per
//! file, for operators and CI pipelines.
//!
//! A file fails when it cannot be read (not XML, not BPMN, hostile) or does not survive
//! the round trip. Everything bpmn-js also opens with warnings — a wrong encoding
//! declaration, broken references, duplicate ids, flows leaving their process — is a
//! warning printed under the file's line: such a file reads, but deploy refuses it.

use crate::bpmn_decode;
use shared::bpmn::{round_trip, validate, Document, ProblemClass};
use std::path::Path;

/// The verdict on one file.
pub struct FileReport {
    pub ok: bool,
    pub line: String,
    /// The warnings about reading the file (encoding, structure): always printed.
    pub warnings: Vec<String>,
    /// Every execution problem found, for `--verbose`.
    pub details: Vec<String>,
}

fn failed(line: String, warnings: Vec<String>) -> FileReport {
    FileReport {
        ok: false,
        line,
        warnings,
        details: vec![],
    }
}

pub fn check_file(path: &Path) -> FileReport {
    let name = path.display();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return failed(format!("FAIL {name}: {e}"), vec![]),
    };
    let decoded = match bpmn_decode::decode(&bytes) {
        Ok(d) => d,
        Err(e) => return failed(format!("FAIL {name}: {e}"), vec![]),
    };
    let mut warnings: Vec<String> = decoded
        .warnings
        .iter()
        .map(|w| format!("  encoding: {w}"))
        .collect();
    let doc = match Document::parse(&decoded.text) {
        Ok(d) => d,
        Err(e) => return failed(format!("FAIL {name}: {e}"), warnings),
    };
    let problems = validate(&doc);
    let structure = problems
        .iter()
        .filter(|p| p.class == ProblemClass::Structure)
        .count();
    warnings.extend(
        problems
            .iter()
            .filter(|p| p.class == ProblemClass::Structure)
            .map(|p| format!("  structure: {p}")),
    );
    let details: Vec<String> = problems
        .iter()
        .filter(|p| p.class == ProblemClass::Execution)
        .map(|p| format!("  execution: {p}"))
        .collect();
    if let Err(e) = round_trip(&doc) {
        return FileReport {
            ok: false,
            line: format!("FAIL {name}: round trip: {e}"),
            warnings,
            details,
        };
    }
    let nodes: usize = doc.model.processes.iter().map(|p| p.nodes.len()).sum();
    let mut notes = vec![
        format!("{} process(es)", doc.model.processes.len()),
        format!("{nodes} node(s)"),
    ];
    if decoded.encoding != "UTF-8" {
        notes.push(format!("read as {}", decoded.encoding));
    }
    if !decoded.warnings.is_empty() {
        notes.push(format!("{} encoding warning(s)", decoded.warnings.len()));
    }
    if structure > 0 {
        notes.push(format!(
            "{structure} structure warning(s): deploy refuses the file"
        ));
    }
    if !details.is_empty() {
        notes.push(format!("{} execution warning(s)", details.len()));
    }
    FileReport {
        ok: true,
        line: format!("ok   {name} ({})", notes.join(", ")),
        warnings,
        details,
    }
}
