//! BPMN 2.0: read a file into a model, validate it, and write it back unchanged.
//!
//! `Document::parse` reads the XML (see `xml.rs` for what is refused), extracts the
//! typed model (`model.rs`) by namespace, and keeps the tree so that `Document::write`
//! returns every element and attribute LWAMS does not execute as it came in.

pub mod diff;
pub mod lwams;
pub mod model;
pub mod refs;
pub mod scope;
pub mod validate;
pub mod xml;

pub use model::{Definitions, FlowNode, NodeKind, Process, SequenceFlow};
pub use validate::{validate, Problem, ProblemClass};

/// Why a file could not be read as BPMN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BpmnError {
    #[error(transparent)]
    Xml(#[from] xml::XmlError),
    #[error(
        "line {line}: the root element is <{found}>, not BPMN <definitions> in namespace {}",
        model::BPMN_MODEL_NS
    )]
    NotBpmn { line: u32, found: String },
}

/// A BPMN file: its XML tree and the model read from it.
#[derive(Debug, Clone)]
pub struct Document {
    pub root: xml::Element,
    pub model: Definitions,
    /// The line of each element id (for messages).
    pub lines: model::Lines,
    /// Every id declared by a BPMN element, with its line, in document order (a later
    /// element repeating an id is left out of the model, as bpmn-js leaves it out).
    pub ids: Vec<(String, u32)>,
    /// References that reach nothing (see `refs.rs`); the model keeps them as written.
    pub broken: Vec<refs::BrokenRef>,
}

impl Document {
    pub fn parse(text: &str) -> Result<Document, BpmnError> {
        let root = xml::parse(text)?;
        let read = model::extract(&root).ok_or_else(|| BpmnError::NotBpmn {
            line: root.line,
            found: root.name.clone(),
        })?;
        Ok(Document {
            root,
            model: read.model,
            lines: read.lines,
            ids: read.ids,
            broken: read.broken,
        })
    }

    /// Reads the bytes of a UTF-8 file. Other encodings are decoded by the server
    /// (`server::bpmn_decode`, every WHATWG encoding), which hands over the text.
    pub fn parse_bytes(bytes: &[u8]) -> Result<Document, BpmnError> {
        Document::parse(&xml::decode(bytes)?)
    }

    pub fn write(&self) -> String {
        xml::write(&self.root)
    }

    pub fn line_of(&self, id: &str) -> u32 {
        self.lines.get(id).copied().unwrap_or(0)
    }
}

/// The MIWG round-trip test for one file: parse → write → parse, and both the model and
/// the tree must be the same. Returns the written text.
pub fn round_trip(doc: &Document) -> Result<String, String> {
    let written = doc.write();
    let again =
        Document::parse(&written).map_err(|e| format!("the written file does not parse: {e}"))?;
    if again.model != doc.model {
        return Err("the model read back differs from the original".into());
    }
    if !again.root.same_content(&doc.root) {
        return Err("the XML written back differs from the original".into());
    }
    Ok(written)
}
