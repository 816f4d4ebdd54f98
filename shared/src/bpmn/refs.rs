//! References between the elements of a BPMN file, read the way bpmn-js (bpmn-moddle,
//! moddle-xml) reads them — the file still loads when they are broken, with a warning
//! naming the element and line — and checked for deploy, which refuses them.
//!
//! - Ids: the first element with an id is the one references reach; a later element
//!   with the same id is left out of the model (moddle-xml: "duplicate ID", the element
//!   skipped) and reported.
//! - QNames: a reference written `p:id` (BPMN's `xsd:QName`) reaches the element `id`
//!   when `p` is bound to the file's `targetNamespace` (or the file declares none) and
//!   `p:id` is not itself an id; a prefix bound to the namespace of an `<import>` names
//!   an element of another file, an undeclared prefix nothing.
//! - Broken: an empty reference, an id no element has, a sequence flow whose end is a
//!   node of another process or no flow node at all, a boundary event attached to
//!   something that is not an activity of its process.

use super::model::{NodeKind, Process, Scope, BPMN_MODEL_NS};
use super::validate::{Problem, ProblemClass};
use super::xml::Element;
use super::Document;
use std::collections::{BTreeMap, BTreeSet};

/// Why a reference reaches nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Broken {
    Empty,
    /// No element has this id.
    NoSuchId,
    /// `p:id` with `p` bound to no namespace.
    UndeclaredPrefix(String),
    /// `p:id` with `p` bound to the namespace of an imported file.
    OtherFile {
        prefix: String,
        namespace: String,
    },
}

/// A reference that reaches nothing: which element, which attribute, what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenRef {
    /// The id of the element holding the reference (if it has one).
    pub element_id: Option<String>,
    /// The element's name (`sequenceFlow`, `BPMNShape`), for elements without an id.
    pub element: String,
    pub line: u32,
    pub attribute: String,
    pub value: String,
    pub why: Broken,
}

impl BrokenRef {
    pub fn message(&self) -> String {
        let (a, v) = (&self.attribute, &self.value);
        let what = match &self.why {
            Broken::Empty => format!("{a} is empty"),
            Broken::NoSuchId => format!("{a} {v:?} names no element of this file"),
            Broken::UndeclaredPrefix(p) => {
                format!("{a} {v:?}: the prefix {p:?} is not declared (no xmlns:{p})")
            }
            Broken::OtherFile { prefix, namespace } => format!(
                "{a} {v:?}: the prefix {prefix:?} is the namespace {namespace} of an imported file; only elements of this file can be referenced"
            ),
        };
        if self.element_id.is_some() {
            what
        } else {
            format!("<{}>: {what}", self.element)
        }
    }
}

/// What reference attributes are resolved against: the ids of the file and its
/// namespaces.
pub(crate) struct Resolver {
    ids: BTreeSet<String>,
    target_namespace: Option<String>,
    imported: BTreeSet<String>,
}

impl Resolver {
    pub(crate) fn new(root: &Element, scope: &Scope, ids: &[(String, u32)]) -> Resolver {
        let imported = root
            .elements()
            .filter(|e| scope.enter(e).ns_of(e) == Some(BPMN_MODEL_NS) && e.local() == "import")
            .filter_map(|e| e.attr("namespace"))
            .map(str::to_string)
            .collect();
        Resolver {
            ids: ids.iter().map(|(id, _)| id.clone()).collect(),
            target_namespace: root.attr("targetNamespace").map(str::to_string),
            imported,
        }
    }

    /// The id a reference reaches, or why it reaches nothing.
    pub(crate) fn resolve(&self, value: &str, scope: &Scope) -> Result<String, Broken> {
        let value = value.trim();
        if value.is_empty() {
            return Err(Broken::Empty);
        }
        if self.ids.contains(value) {
            return Ok(value.to_string());
        }
        let Some((prefix, local)) = value.split_once(':') else {
            return Err(Broken::NoSuchId);
        };
        let Some(namespace) = scope.uri(prefix) else {
            return Err(Broken::UndeclaredPrefix(prefix.to_string()));
        };
        let this_file = match &self.target_namespace {
            Some(t) => t == namespace || !self.imported.contains(namespace),
            None => !self.imported.contains(namespace),
        };
        if !this_file {
            return Err(Broken::OtherFile {
                prefix: prefix.to_string(),
                namespace: namespace.to_string(),
            });
        }
        if self.ids.contains(local) {
            Ok(local.to_string())
        } else {
            Err(Broken::NoSuchId)
        }
    }

    /// A name that may point outside the file (`calledElement`): resolved when it
    /// reaches an element of this file, else kept as written.
    pub(crate) fn resolve_or_keep(&self, value: &str, scope: &Scope) -> String {
        self.resolve(value, scope)
            .unwrap_or_else(|_| value.trim().to_string())
    }
}

/// The ids of later elements that repeat an earlier element's id, with both lines.
pub(crate) fn duplicates(ids: &[(String, u32)]) -> Vec<(String, u32, u32)> {
    let mut first: BTreeMap<&str, u32> = BTreeMap::new();
    let mut out = Vec::new();
    for (id, line) in ids {
        match first.get(id.as_str()) {
            Some(f) => out.push((id.clone(), *line, *f)),
            None => {
                first.insert(id, *line);
            }
        }
    }
    out
}

/// The structural problems of a file: duplicate ids, broken references, sequence
/// flows leaving their process, boundary events on something that is no activity.
/// bpmn-js imports such a file with warnings; LWAMS's check warns, deploy refuses.
pub(crate) fn problems(doc: &Document) -> Vec<Problem> {
    let mut out = Vec::new();
    for (id, line, first) in duplicates(&doc.ids) {
        out.push(Problem {
            class: ProblemClass::Structure,
            element_id: Some(id),
            line,
            message: format!("duplicate id (first used on line {first})"),
        });
    }
    for b in &doc.broken {
        out.push(Problem {
            class: ProblemClass::Structure,
            element_id: b.element_id.clone(),
            line: b.line,
            message: b.message(),
        });
    }
    let owner: BTreeMap<&str, &Process> = doc
        .model
        .processes
        .iter()
        .flat_map(|p| p.nodes.iter().map(move |n| (n.id.as_str(), p)))
        .collect();
    let broken = |id: &str, attribute: &str| {
        doc.broken
            .iter()
            .any(|b| b.element_id.as_deref() == Some(id) && b.attribute == attribute)
    };
    for p in &doc.model.processes {
        for f in &p.flows {
            for (end, id) in [("sourceRef", &f.source), ("targetRef", &f.target)] {
                if broken(&f.id, end) {
                    continue;
                }
                let message = match owner.get(id.as_str()) {
                    Some(q) if q.id == p.id => continue,
                    Some(q) => format!(
                        "{end} {id:?} is a flow node of process {}, not of process {} where the flow is: a sequence flow stays inside its process (between pools, draw a message flow)",
                        q.id, p.id
                    ),
                    None => format!("{end} {id:?} is not a flow node of process {}", p.id),
                };
                out.push(problem(doc, &f.id, message));
            }
        }
        for n in &p.nodes {
            let Some(host) = &n.attached_to else { continue };
            if broken(&n.id, "attachedToRef") {
                continue;
            }
            let activity = p.nodes.iter().any(|h| &h.id == host && is_activity(h.kind));
            if !activity {
                out.push(problem(
                    doc,
                    &n.id,
                    format!(
                        "attachedToRef {host:?} is not an activity of process {}",
                        p.id
                    ),
                ));
            }
        }
    }
    out
}

fn is_activity(kind: NodeKind) -> bool {
    use NodeKind::*;
    !kind.is_gateway()
        && !matches!(
            kind,
            StartEvent | EndEvent | IntermediateCatchEvent | IntermediateThrowEvent | BoundaryEvent
        )
}

fn problem(doc: &Document, id: &str, message: String) -> Problem {
    Problem {
        class: ProblemClass::Structure,
        element_id: Some(id.to_string()),
        line: doc.line_of(id),
        message,
    }
}

#[cfg(test)]
mod tests {
    use crate::bpmn::{validate, Document, ProblemClass};

    const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
    xmlns:tns="urn:this" xmlns:o="urn:other" targetNamespace="urn:this" id="d">
  <import namespace="urn:other" location="other.bpmn" importType="http://www.omg.org/spec/BPMN/20100524/MODEL"/>
"#;

    fn doc(body: &str) -> Document {
        Document::parse(&format!("{HEAD}{body}</definitions>")).unwrap()
    }

    fn structure(d: &Document) -> Vec<String> {
        validate(d)
            .into_iter()
            .filter(|p| p.class == ProblemClass::Structure)
            .map(|p| p.to_string())
            .collect()
    }

    #[test]
    fn qname_references_to_this_files_namespace_reach_their_element() {
        let d = doc(r#"<process id="p" isExecutable="true">
    <laneSet id="ls"><lane id="l"><flowNodeRef>tns:s</flowNodeRef></lane></laneSet>
    <startEvent id="s"/>
    <task id="a"/>
    <boundaryEvent id="b" attachedToRef="tns:a"/>
    <exclusiveGateway id="g" default="tns:f2"/>
    <endEvent id="e"/>
    <sequenceFlow id="f1" sourceRef="tns:s" targetRef="tns:a"/>
    <sequenceFlow id="f3" sourceRef="a" targetRef="tns:g"/>
    <sequenceFlow id="f2" sourceRef="tns:g" targetRef="e"/>
    <sequenceFlow id="f4" sourceRef="b" targetRef="e"/>
  </process>
  <bpmndi:BPMNDiagram id="di"><bpmndi:BPMNPlane id="pl" bpmnElement="tns:p">
    <bpmndi:BPMNShape id="a_di" bpmnElement="tns:a"/>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
"#);
        assert!(d.broken.is_empty(), "{:?}", d.broken);
        let p = &d.model.processes[0];
        assert_eq!(
            (p.flows[0].source.as_str(), p.flows[0].target.as_str()),
            ("s", "a")
        );
        let node = |id: &str| p.nodes.iter().find(|n| n.id == id).unwrap();
        assert_eq!(node("b").attached_to.as_deref(), Some("a"));
        assert_eq!(node("g").default_flow.as_deref(), Some("f2"));
        assert_eq!(p.lanes[0].nodes, ["s"]);
        assert_eq!(d.model.diagrams[0].shapes[0].element.as_deref(), Some("a"));
        assert_eq!(structure(&d), Vec::<String>::new());
    }

    #[test]
    fn a_prefixed_id_written_as_such_is_reached_as_in_bpmn_moddle() {
        let d = doc(r#"<process id="p"><task id="tns:a"/><task id="b"/>
    <sequenceFlow id="f" sourceRef="tns:a" targetRef="b"/></process>"#);
        assert!(d.broken.is_empty());
        assert_eq!(d.model.processes[0].flows[0].source, "tns:a");
    }

    #[test]
    fn qnames_into_other_files_or_undeclared_prefixes_are_broken_naming_element_and_line() {
        let d = doc(r#"<process id="p">
    <task id="a"/>
    <boundaryEvent id="b" attachedToRef="o:a"/>
    <sequenceFlow id="f" sourceRef="x:a" targetRef="tns:nothing"/>
  </process>"#);
        let s = structure(&d);
        assert!(
            s.iter().any(|m| m.starts_with("line 8: b: attachedToRef \"o:a\": the prefix \"o\" is the namespace urn:other of an imported file")),
            "{s:#?}"
        );
        assert!(
            s.iter()
                .any(|m| m
                    .starts_with("line 9: f: sourceRef \"x:a\": the prefix \"x\" is not declared")),
            "{s:#?}"
        );
        assert!(
            s.contains(
                &"line 9: f: targetRef \"tns:nothing\" names no element of this file".to_string()
            ),
            "{s:#?}"
        );
        assert_eq!(s.len(), 3, "each broken reference once: {s:#?}");
    }

    #[test]
    fn a_later_element_repeating_an_id_is_left_out_and_reported_with_both_lines() {
        let d = doc(r#"<process id="p">
    <task id="t" name="first"/>
    <task id="t" name="second"><incoming>x</incoming></task>
    <endEvent id="e"/>
    <sequenceFlow id="f" sourceRef="t" targetRef="e"/>
  </process>"#);
        let p = &d.model.processes[0];
        let ts: Vec<_> = p.nodes.iter().filter(|n| n.id == "t").collect();
        assert_eq!(ts.len(), 1);
        assert_eq!(ts[0].name.as_deref(), Some("first"));
        assert_eq!(d.line_of("t"), 7);
        assert_eq!(
            structure(&d),
            ["line 8: t: duplicate id (first used on line 7)"]
        );
        // The file still round-trips with both elements.
        let written = crate::bpmn::round_trip(&d).unwrap();
        assert_eq!(written.matches("id=\"t\"").count(), 2);
    }

    #[test]
    fn flows_into_another_process_or_with_empty_ends_are_reported() {
        let d = doc(r#"<process id="p1">
    <task id="a"/>
    <sequenceFlow id="across" sourceRef="a" targetRef="b"/>
    <sequenceFlow id="empty" sourceRef="" targetRef="a"/>
    <sequenceFlow id="none" sourceRef="a"/>
    <sequenceFlow id="lane" sourceRef="a" targetRef="l"/>
    <laneSet id="ls"><lane id="l"/></laneSet>
  </process>
  <process id="p2"><task id="b"/><boundaryEvent id="be" attachedToRef="a"/></process>"#);
        let s = structure(&d);
        let expected = [
            "line 9: empty: sourceRef is empty",
            "line 10: none: targetRef is empty",
            "line 8: across: targetRef \"b\" is a flow node of process p2, not of process p1 where the flow is: a sequence flow stays inside its process (between pools, draw a message flow)",
            "line 11: lane: targetRef \"l\" is not a flow node of process p1",
            "line 14: be: attachedToRef \"a\" is not an activity of process p2",
        ];
        assert_eq!(s, expected, "{s:#?}");
    }
}
