//! `lwams bpmn check FILE…`: reads, validates and round-trips BPMN files, one line per
//! file, for operators and CI pipelines.

use shared::bpmn::{round_trip, validate, Document, ProblemClass};
use std::path::Path;

/// The verdict on one file.
pub struct FileReport {
    pub ok: bool,
    pub line: String,
    /// Every problem found, for `--verbose`.
    pub details: Vec<String>,
}

pub fn check_file(path: &Path) -> FileReport {
    let name = path.display();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            return FileReport {
                ok: false,
                line: format!("FAIL {name}: {e}"),
                details: vec![],
            }
        }
    };
    let doc = match Document::parse_bytes(&bytes) {
        Ok(d) => d,
        Err(e) => {
            return FileReport {
                ok: false,
                line: format!("FAIL {name}: {e}"),
                details: vec![],
            }
        }
    };
    let problems = validate(&doc);
    let details: Vec<String> = problems
        .iter()
        .map(|p| {
            let class = match p.class {
                ProblemClass::Structure => "error",
                ProblemClass::Execution => "warning",
            };
            format!("  {class}: {p}")
        })
        .collect();
    if let Some(p) = problems.iter().find(|p| p.class == ProblemClass::Structure) {
        return FileReport {
            ok: false,
            line: format!("FAIL {name}: {p}"),
            details,
        };
    }
    if let Err(e) = round_trip(&doc) {
        return FileReport {
            ok: false,
            line: format!("FAIL {name}: round trip: {e}"),
            details,
        };
    }
    let nodes: usize = doc.model.processes.iter().map(|p| p.nodes.len()).sum();
    let warnings = problems.len();
    FileReport {
        ok: true,
        line: format!(
            "ok   {name} ({} process(es), {nodes} node(s){})",
            doc.model.processes.len(),
            if warnings > 0 {
                format!(", {warnings} execution warning(s)")
            } else {
                String::new()
            }
        ),
        details,
    }
}
