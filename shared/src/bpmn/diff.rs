//! What changed between two versions of a flow: elements added, removed, and for the
//! ones in both, which properties differ (name, type, `lwams:` parameters, conditions,
//! ends of sequence flows). Layout (the diagram) is not compared.

use super::model::{FlowNode, Process, SequenceFlow};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One difference, about one element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Change {
    pub element_id: String,
    /// added, removed or changed.
    pub change: String,
    /// For `changed`: the property (`name`, `type`, `lwams:command`, `condition`, …).
    pub property: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
}

fn node_props(n: &FlowNode) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert("type".into(), format!("{:?}", n.kind));
    if let Some(name) = &n.name {
        m.insert("name".into(), name.clone());
    }
    if let Some(d) = &n.default_flow {
        m.insert("default".into(), d.clone());
    }
    if let Some(c) = &n.called_element {
        m.insert("calledElement".into(), c.clone());
    }
    for (k, v) in &n.lwams {
        m.insert(format!("lwams:{k}"), v.clone());
    }
    m
}

fn flow_props(f: &SequenceFlow) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert("type".into(), "SequenceFlow".into());
    m.insert("source".into(), f.source.clone());
    m.insert("target".into(), f.target.clone());
    if let Some(name) = &f.name {
        m.insert("name".into(), name.clone());
    }
    if let Some(c) = &f.condition {
        m.insert("condition".into(), c.clone());
    }
    m
}

fn elements(p: Option<&Process>) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut m = BTreeMap::new();
    if let Some(p) = p {
        for n in &p.nodes {
            m.insert(n.id.clone(), node_props(n));
        }
        for f in &p.flows {
            m.insert(f.id.clone(), flow_props(f));
        }
    }
    m
}

/// The differences from `before` to `after`, by element id.
pub fn diff(before: Option<&Process>, after: Option<&Process>) -> Vec<Change> {
    let (a, b) = (elements(before), elements(after));
    let mut out = Vec::new();
    for (id, pa) in &a {
        match b.get(id) {
            None => out.push(Change {
                element_id: id.clone(),
                change: "removed".into(),
                property: None,
                before: pa.get("type").cloned(),
                after: None,
            }),
            Some(pb) => {
                let keys: std::collections::BTreeSet<&String> =
                    pa.keys().chain(pb.keys()).collect();
                for k in keys {
                    if pa.get(k) != pb.get(k) {
                        out.push(Change {
                            element_id: id.clone(),
                            change: "changed".into(),
                            property: Some(k.clone()),
                            before: pa.get(k).cloned(),
                            after: pb.get(k).cloned(),
                        });
                    }
                }
            }
        }
    }
    for (id, pb) in &b {
        if !a.contains_key(id) {
            out.push(Change {
                element_id: id.clone(),
                change: "added".into(),
                property: None,
                before: None,
                after: pb.get("type").cloned(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpmn::Document;

    fn process(body: &str) -> Document {
        Document::parse(&format!(
            r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:lwams="http://lwams.io/schema/bpmn/1.0"><process id="p" isExecutable="true">{body}</process></definitions>"#
        ))
        .unwrap()
    }

    #[test]
    fn added_removed_and_changed_properties_are_listed_by_element() {
        let a = process(
            r#"<startEvent id="s"/><serviceTask id="t" name="old" lwams:kind="localCommand" lwams:command="echo a"/><endEvent id="e"/><sequenceFlow id="f1" sourceRef="s" targetRef="t"/><sequenceFlow id="f2" sourceRef="t" targetRef="e"/>"#,
        );
        let b = process(
            r#"<startEvent id="s"/><serviceTask id="t" name="new" lwams:kind="localCommand" lwams:command="echo b" lwams:timeout="5"/><userTask id="u"/><endEvent id="e"/><sequenceFlow id="f1" sourceRef="s" targetRef="t"/><sequenceFlow id="f3" sourceRef="t" targetRef="u"/><sequenceFlow id="f4" sourceRef="u" targetRef="e"/>"#,
        );
        let d = diff(a.model.processes.first(), b.model.processes.first());
        let short: Vec<(String, String, Option<String>)> = d
            .iter()
            .map(|c| (c.element_id.clone(), c.change.clone(), c.property.clone()))
            .collect();
        let s = |x: &str| x.to_string();
        assert_eq!(
            short,
            [
                (s("f2"), s("removed"), None),
                (s("t"), s("changed"), Some(s("lwams:command"))),
                (s("t"), s("changed"), Some(s("lwams:timeout"))),
                (s("t"), s("changed"), Some(s("name"))),
                (s("f3"), s("added"), None),
                (s("f4"), s("added"), None),
                (s("u"), s("added"), None),
            ]
        );
        let cmd = &d[1];
        assert_eq!(cmd.before.as_deref(), Some("echo a"));
        assert_eq!(cmd.after.as_deref(), Some("echo b"));
        assert!(diff(a.model.processes.first(), a.model.processes.first()).is_empty());
    }
}
