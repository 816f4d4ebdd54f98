//! The BPMN model LWAMS reads from a file: processes with their flow nodes and
//! sequence flows, collaborations, lanes and the diagram. It is extracted from the XML
//! tree by namespace (any prefix, or none), so files from any modelling tool load; the
//! tree itself keeps everything else for writing back.

use super::refs::{BrokenRef, Resolver};
use super::xml::{local_name, Element};
use std::collections::{BTreeMap, BTreeSet};

pub const BPMN_MODEL_NS: &str = "http://www.omg.org/spec/BPMN/20100524/MODEL";
pub const BPMN_DI_NS: &str = "http://www.omg.org/spec/BPMN/20100524/DI";
pub const DC_NS: &str = "http://www.omg.org/spec/DD/20100524/DC";
pub const DI_NS: &str = "http://www.omg.org/spec/DD/20100524/DI";
/// The namespace of LWAMS node properties (`lwams:kind="remoteCommand"`, …).
pub const LWAMS_NS: &str = "http://lwams.io/schema/bpmn/1.0";

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Definitions {
    pub id: Option<String>,
    pub name: Option<String>,
    pub processes: Vec<Process>,
    pub collaborations: Vec<Collaboration>,
    pub diagrams: Vec<Diagram>,
    /// `<error id errorCode name>` declarations, referenced by error events.
    pub errors: Vec<ErrorDecl>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ErrorDecl {
    pub id: String,
    pub name: Option<String>,
    pub code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Process {
    pub id: String,
    pub name: Option<String>,
    pub is_executable: bool,
    pub nodes: Vec<FlowNode>,
    pub flows: Vec<SequenceFlow>,
    pub lanes: Vec<Lane>,
    /// Data objects, stores, annotations, associations and groups: (id, element name).
    pub artifacts: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    StartEvent,
    EndEvent,
    IntermediateCatchEvent,
    IntermediateThrowEvent,
    BoundaryEvent,
    Task,
    UserTask,
    ServiceTask,
    ScriptTask,
    SendTask,
    ReceiveTask,
    ManualTask,
    BusinessRuleTask,
    CallActivity,
    SubProcess,
    Transaction,
    AdHocSubProcess,
    ExclusiveGateway,
    InclusiveGateway,
    ParallelGateway,
    EventBasedGateway,
    ComplexGateway,
}

impl NodeKind {
    pub fn from_local(name: &str) -> Option<NodeKind> {
        use NodeKind::*;
        Some(match name {
            "startEvent" => StartEvent,
            "endEvent" => EndEvent,
            "intermediateCatchEvent" => IntermediateCatchEvent,
            "intermediateThrowEvent" => IntermediateThrowEvent,
            "boundaryEvent" => BoundaryEvent,
            "task" => Task,
            "userTask" => UserTask,
            "serviceTask" => ServiceTask,
            "scriptTask" => ScriptTask,
            "sendTask" => SendTask,
            "receiveTask" => ReceiveTask,
            "manualTask" => ManualTask,
            "businessRuleTask" => BusinessRuleTask,
            "callActivity" => CallActivity,
            "subProcess" => SubProcess,
            "transaction" => Transaction,
            "adHocSubProcess" => AdHocSubProcess,
            "exclusiveGateway" => ExclusiveGateway,
            "inclusiveGateway" => InclusiveGateway,
            "parallelGateway" => ParallelGateway,
            "eventBasedGateway" => EventBasedGateway,
            "complexGateway" => ComplexGateway,
            _ => return None,
        })
    }

    pub fn is_gateway(self) -> bool {
        matches!(
            self,
            NodeKind::ExclusiveGateway
                | NodeKind::InclusiveGateway
                | NodeKind::ParallelGateway
                | NodeKind::EventBasedGateway
                | NodeKind::ComplexGateway
        )
    }

    pub fn is_container(self) -> bool {
        matches!(
            self,
            NodeKind::SubProcess | NodeKind::Transaction | NodeKind::AdHocSubProcess
        )
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum TimerDef {
    Date(String),
    Duration(String),
    Cycle(String),
    /// A timer event definition without an expression.
    Missing,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EventDef {
    Timer(TimerDef),
    Error { error_ref: Option<String> },
    Terminate,
    Message,
    Signal,
    Conditional,
    Escalation,
    Compensate,
    Link,
    Cancel,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MultiInstance {
    pub sequential: bool,
    /// `lwams:collection` — the variable holding the list to iterate over.
    pub collection: Option<String>,
    pub cardinality: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FlowNode {
    pub id: String,
    pub name: Option<String>,
    pub kind: NodeKind,
    /// The enclosing sub-process, if any.
    pub parent: Option<String>,
    pub events: Vec<EventDef>,
    pub attached_to: Option<String>,
    pub cancel_activity: bool,
    pub default_flow: Option<String>,
    pub called_element: Option<String>,
    pub triggered_by_event: bool,
    pub multi_instance: Option<MultiInstance>,
    /// LWAMS properties: attributes in the `lwams:` namespace, by local name.
    pub lwams: BTreeMap<String, String>,
}

impl FlowNode {
    /// The LWAMS node kind (`lwams:kind`), e.g. `remoteCommand`.
    pub fn lwams_kind(&self) -> Option<&str> {
        self.lwams.get("kind").map(String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SequenceFlow {
    pub id: String,
    pub name: Option<String>,
    pub source: String,
    pub target: String,
    pub condition: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    pub id: String,
    pub name: Option<String>,
    pub nodes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Collaboration {
    pub id: String,
    pub participants: Vec<Participant>,
    pub message_flows: Vec<(String, String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Participant {
    pub id: String,
    pub name: Option<String>,
    pub process: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Diagram {
    pub id: Option<String>,
    pub shapes: Vec<Shape>,
    pub edges: Vec<Edge>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bounds {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    pub id: Option<String>,
    pub element: Option<String>,
    pub bounds: Option<Bounds>,
    pub expanded: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub id: Option<String>,
    pub element: Option<String>,
    pub waypoints: Vec<(f64, f64)>,
}

/// Prefix → namespace bindings in scope while walking the tree.
#[derive(Clone, Default)]
pub(crate) struct Scope(Vec<(String, String)>);

impl Scope {
    pub(crate) fn enter(&self, e: &Element) -> Scope {
        let mut s = self.clone();
        for (k, v) in &e.attrs {
            if k == "xmlns" {
                s.0.push((String::new(), v.clone()));
            } else if let Some(p) = k.strip_prefix("xmlns:") {
                s.0.push((p.to_string(), v.clone()));
            }
        }
        s
    }

    pub(crate) fn uri(&self, prefix: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, u)| u.as_str())
    }

    /// The namespace of an element (its prefix, or the default namespace).
    pub(crate) fn ns_of(&self, e: &Element) -> Option<&str> {
        self.uri(e.prefix().unwrap_or(""))
    }

    /// The namespace of an attribute name (unprefixed attributes have none).
    fn attr_ns(&self, name: &str) -> Option<&str> {
        name.split_once(':')
            .and_then(|(p, _)| if p == "xmlns" { None } else { self.uri(p) })
    }
}

/// Where each element id was found (line numbers, for messages).
pub type Lines = BTreeMap<String, u32>;

/// What reading a file yields besides its model.
pub(crate) struct Extracted {
    pub model: Definitions,
    pub lines: Lines,
    /// Every id declared by a BPMN element, with its line, in document order.
    pub ids: Vec<(String, u32)>,
    pub broken: Vec<BrokenRef>,
}

/// Extracts the model from the root element; `None` when it is not BPMN definitions.
pub(crate) fn extract(root: &Element) -> Option<Extracted> {
    let scope = Scope::default().enter(root);
    if scope.ns_of(root) != Some(BPMN_MODEL_NS) || root.local() != "definitions" {
        return None;
    }
    let mut ids = Vec::new();
    let mut skip = BTreeSet::new();
    collect_ids(root, &scope, &mut ids, &mut BTreeSet::new(), &mut skip);
    let mut r = Reader {
        lines: Lines::new(),
        refs: Resolver::new(root, &scope, &ids),
        broken: Vec::new(),
        skip,
    };
    let mut d = Definitions {
        id: attr(root, "id"),
        name: attr(root, "name"),
        ..Default::default()
    };
    for (e, s) in r.bpmn_children(root, &scope) {
        match e.local() {
            "process" => {
                let p = r.process(e, &s);
                d.processes.push(p);
            }
            "collaboration" => {
                let c = r.collaboration(e, &s);
                d.collaborations.push(c);
            }
            "error" => d.errors.push(ErrorDecl {
                id: attr(e, "id").unwrap_or_default(),
                name: attr(e, "name"),
                code: attr(e, "errorCode"),
            }),
            _ => {}
        }
    }
    for e in root.elements() {
        let s = scope.enter(e);
        if s.ns_of(e) == Some(BPMN_DI_NS) && e.local() == "BPMNDiagram" {
            let diagram = r.diagram(e, &s);
            d.diagrams.push(diagram);
        }
    }
    Some(Extracted {
        model: d,
        lines: r.lines,
        ids,
        broken: r.broken,
    })
}

/// Every id of a BPMN element in document order; a later element repeating an id goes
/// into `skip` (left out of the model, as bpmn-moddle leaves it out).
fn collect_ids(
    e: &Element,
    scope: &Scope,
    ids: &mut Vec<(String, u32)>,
    seen: &mut BTreeSet<String>,
    skip: &mut BTreeSet<usize>,
) {
    for c in e.elements() {
        let s = scope.enter(c);
        if s.ns_of(c) == Some(BPMN_MODEL_NS) {
            if let Some(id) = c.attr("id") {
                ids.push((id.to_string(), c.line));
                if !seen.insert(id.to_string()) {
                    skip.insert(address(c));
                }
            }
        }
        collect_ids(c, &s, ids, seen, skip);
    }
}

fn address(e: &Element) -> usize {
    e as *const Element as usize
}

fn attr(e: &Element, name: &str) -> Option<String> {
    e.attr(name).map(str::to_string)
}

/// The model being read: lines of ids, references resolved or reported broken.
struct Reader {
    lines: Lines,
    refs: Resolver,
    broken: Vec<BrokenRef>,
    /// Elements repeating an earlier element's id (by address in the tree).
    skip: BTreeSet<usize>,
}

impl Reader {
    /// The BPMN children of `e`, without those repeating an id.
    fn bpmn_children<'e>(&self, e: &'e Element, scope: &Scope) -> Vec<(&'e Element, Scope)> {
        e.elements()
            .filter_map(|c| {
                let s = scope.enter(c);
                (s.ns_of(c) == Some(BPMN_MODEL_NS) && !self.skip.contains(&address(c)))
                    .then_some((c, s))
            })
            .collect()
    }

    /// The id a reference attribute reaches; a broken one is recorded and kept as
    /// written.
    fn reference(&mut self, e: &Element, scope: &Scope, attribute: &str) -> Option<String> {
        let raw = e.attr(attribute)?;
        Some(self.resolve(e, scope, attribute, raw))
    }

    fn resolve(&mut self, e: &Element, scope: &Scope, attribute: &str, raw: &str) -> String {
        match self.refs.resolve(raw, scope) {
            Ok(id) => id,
            Err(why) => {
                self.broken.push(BrokenRef {
                    element_id: attr(e, "id"),
                    element: e.local().to_string(),
                    line: e.line,
                    attribute: attribute.to_string(),
                    value: raw.to_string(),
                    why,
                });
                raw.trim().to_string()
            }
        }
    }

    fn process(&mut self, e: &Element, scope: &Scope) -> Process {
        let mut p = Process {
            id: attr(e, "id").unwrap_or_default(),
            name: attr(e, "name"),
            is_executable: e.attr("isExecutable") == Some("true"),
            ..Default::default()
        };
        self.lines.insert(p.id.clone(), e.line);
        self.flow_elements(e, scope, None, &mut p);
        p
    }

    fn flow_elements(&mut self, e: &Element, scope: &Scope, parent: Option<&str>, p: &mut Process) {
        let children = self.bpmn_children(e, scope);
        for (c, s) in children {
            let id = attr(c, "id").unwrap_or_default();
            self.lines.insert(id.clone(), c.line);
            if let Some(kind) = NodeKind::from_local(c.local()) {
                let node = self.flow_node(c, &s, kind, parent);
                p.nodes.push(node);
                if kind.is_container() {
                    self.flow_elements(c, &s, Some(&id), p);
                }
                continue;
            }
            match c.local() {
                "sequenceFlow" => {
                    let source = self.reference(c, &s, "sourceRef");
                    let target = self.reference(c, &s, "targetRef");
                    let condition = self
                        .bpmn_children(c, &s)
                        .into_iter()
                        .find(|(x, _)| x.local() == "conditionExpression")
                        .map(|(x, _)| x.text().trim().to_string())
                        .filter(|t| !t.is_empty());
                    let flow = SequenceFlow {
                        id,
                        name: attr(c, "name"),
                        source: source.unwrap_or_else(|| self.missing(c, "sourceRef")),
                        target: target.unwrap_or_else(|| self.missing(c, "targetRef")),
                        condition,
                    };
                    p.flows.push(flow);
                }
                "laneSet" => self.lanes(c, &s, &mut p.lanes),
                "dataObject"
                | "dataObjectReference"
                | "dataStoreReference"
                | "textAnnotation"
                | "association"
                | "group" => p.artifacts.push((id, c.local().to_string())),
                _ => {}
            }
        }
    }

    /// A required reference that is not written at all: reported as empty.
    fn missing(&mut self, e: &Element, attribute: &str) -> String {
        self.resolve(e, &Scope::default(), attribute, "")
    }

    fn lanes(&mut self, set: &Element, scope: &Scope, out: &mut Vec<Lane>) {
        let lanes: Vec<_> = self
            .bpmn_children(set, scope)
            .into_iter()
            .filter(|(c, _)| c.local() == "lane")
            .collect();
        for (lane, s) in lanes {
            let refs: Vec<_> = self
                .bpmn_children(lane, &s)
                .into_iter()
                .filter(|(c, _)| c.local() == "flowNodeRef")
                .map(|(c, s2)| (c.text(), s2))
                .collect();
            let nodes = refs
                .into_iter()
                .map(|(text, s2)| self.resolve(lane, &s2, "flowNodeRef", &text))
                .collect();
            out.push(Lane {
                id: attr(lane, "id").unwrap_or_default(),
                name: attr(lane, "name"),
                nodes,
            });
            let child_sets: Vec<_> = self
                .bpmn_children(lane, &s)
                .into_iter()
                .filter(|(c, _)| c.local() == "childLaneSet")
                .collect();
            for (child_set, s2) in child_sets {
                self.lanes(child_set, &s2, out);
            }
        }
    }

    fn flow_node(
        &mut self,
        e: &Element,
        scope: &Scope,
        kind: NodeKind,
        parent: Option<&str>,
    ) -> FlowNode {
        let mut events = Vec::new();
        let mut multi_instance = None;
        let lwams: BTreeMap<String, String> = e
            .attrs
            .iter()
            .filter(|(k, _)| scope.attr_ns(k) == Some(LWAMS_NS))
            .map(|(k, v)| (local_name(k).to_string(), v.clone()))
            .collect();
        let children = self.bpmn_children(e, scope);
        for (c, s) in children {
            let def = match c.local() {
                "timerEventDefinition" => {
                    let t = self
                        .bpmn_children(c, &s)
                        .into_iter()
                        .find_map(|(x, _)| {
                            let text = x.text().trim().to_string();
                            match x.local() {
                                "timeDate" => Some(TimerDef::Date(text)),
                                "timeDuration" => Some(TimerDef::Duration(text)),
                                "timeCycle" => Some(TimerDef::Cycle(text)),
                                _ => None,
                            }
                        })
                        .unwrap_or(TimerDef::Missing);
                    Some(EventDef::Timer(t))
                }
                "errorEventDefinition" => Some(EventDef::Error {
                    error_ref: self.reference(c, &s, "errorRef"),
                }),
                "terminateEventDefinition" => Some(EventDef::Terminate),
                "messageEventDefinition" => Some(EventDef::Message),
                "signalEventDefinition" => Some(EventDef::Signal),
                "conditionalEventDefinition" => Some(EventDef::Conditional),
                "escalationEventDefinition" => Some(EventDef::Escalation),
                "compensateEventDefinition" => Some(EventDef::Compensate),
                "linkEventDefinition" => Some(EventDef::Link),
                "cancelEventDefinition" => Some(EventDef::Cancel),
                "multiInstanceLoopCharacteristics" => {
                    multi_instance = Some(MultiInstance {
                        sequential: c.attr("isSequential") == Some("true"),
                        collection: c
                            .attrs
                            .iter()
                            .find(|(k, _)| {
                                s.attr_ns(k) == Some(LWAMS_NS) && local_name(k) == "collection"
                            })
                            .map(|(_, v)| v.clone()),
                        cardinality: self
                            .bpmn_children(c, &s)
                            .into_iter()
                            .find(|(x, _)| x.local() == "loopCardinality")
                            .map(|(x, _)| x.text().trim().to_string()),
                    });
                    None
                }
                _ => None,
            };
            events.extend(def);
        }
        FlowNode {
            id: attr(e, "id").unwrap_or_default(),
            name: attr(e, "name"),
            kind,
            parent: parent.map(str::to_string),
            events,
            attached_to: self.reference(e, scope, "attachedToRef"),
            cancel_activity: e.attr("cancelActivity") != Some("false"),
            default_flow: self.reference(e, scope, "default"),
            called_element: e
                .attr("calledElement")
                .map(|v| self.refs.resolve_or_keep(v, scope)),
            triggered_by_event: e.attr("triggeredByEvent") == Some("true"),
            multi_instance,
            lwams,
        }
    }

    fn collaboration(&mut self, e: &Element, scope: &Scope) -> Collaboration {
        let mut c = Collaboration {
            id: attr(e, "id").unwrap_or_default(),
            participants: vec![],
            message_flows: vec![],
        };
        let children = self.bpmn_children(e, scope);
        for (x, s) in children {
            match x.local() {
                "participant" => {
                    let process = self.reference(x, &s, "processRef");
                    c.participants.push(Participant {
                        id: attr(x, "id").unwrap_or_default(),
                        name: attr(x, "name"),
                        process,
                    })
                }
                "messageFlow" => {
                    let source = self.reference(x, &s, "sourceRef");
                    let target = self.reference(x, &s, "targetRef");
                    c.message_flows.push((
                        attr(x, "id").unwrap_or_default(),
                        source.unwrap_or_else(|| self.missing(x, "sourceRef")),
                        target.unwrap_or_else(|| self.missing(x, "targetRef")),
                    ))
                }
                _ => {}
            }
        }
        c
    }
}

fn num(e: &Element, name: &str) -> Option<f64> {
    e.attr(name).and_then(|v| v.trim().parse().ok())
}

impl Reader {
    fn diagram(&mut self, e: &Element, scope: &Scope) -> Diagram {
        let mut d = Diagram {
            id: attr(e, "id"),
            ..Default::default()
        };
        for plane in e.elements().filter(|p| p.local() == "BPMNPlane") {
            let ps = scope.enter(plane);
            for x in plane.elements() {
                let s = ps.enter(x);
                if s.ns_of(x) != Some(BPMN_DI_NS) {
                    continue;
                }
                let element = self.reference(x, &s, "bpmnElement");
                match x.local() {
                    "BPMNShape" => d.shapes.push(Shape {
                        id: attr(x, "id"),
                        element,
                        bounds: x
                            .elements()
                            .find(|b| b.local() == "Bounds")
                            .map(|b| Bounds {
                                x: num(b, "x").unwrap_or(0.0),
                                y: num(b, "y").unwrap_or(0.0),
                                width: num(b, "width").unwrap_or(0.0),
                                height: num(b, "height").unwrap_or(0.0),
                            }),
                        expanded: x.attr("isExpanded").map(|v| v == "true"),
                    }),
                    "BPMNEdge" => d.edges.push(Edge {
                        id: attr(x, "id"),
                        element,
                        waypoints: x
                            .elements()
                            .filter(|w| w.local() == "waypoint")
                            .map(|w| (num(w, "x").unwrap_or(0.0), num(w, "y").unwrap_or(0.0)))
                            .collect(),
                    }),
                    _ => {}
                }
            }
        }
        d
    }
}
