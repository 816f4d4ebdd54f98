//! LWAMS node kinds (`lwams:kind`, `StepKind`): the parameters each requires and
//! offers, the `${…}` names it exposes, its label and whether it can run (SPEC §5.1);
//! every `lwams:` attribute and the bpmn-js moddle descriptor built from them.

use super::model::NodeKind;

/// A kind of LWAMS step (`lwams:kind`). Serialised in camelCase, as the attribute
/// writes it, so compiled processes stored before this type existed keep reading.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum StepKind {
    RemoteCommand,
    LocalCommand,
    Sql,
    Http,
    FileDistribution,
    FileOperation,
    Report,
    Rpa,
    Email,
    UserTask,
    CallActivity,
    /// A placeholder step that does nothing and succeeds (drafts, tests).
    Noop,
}

/// A `lwams:kind` value that names no kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown LWAMS node kind {0:?}")]
pub struct UnknownKind(pub String);

/// Whether a kind can run today, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runnable {
    /// The server has an executor for it.
    Yes,
    /// Part of the product, but its executor comes in a later issue.
    NotYet,
    /// A BPMN element type (user task, call activity): drawn as that element, not as
    /// a step with this `lwams:kind`.
    AsElement,
}

impl StepKind {
    /// Every kind, in the order the designer offers them.
    pub const ALL: [StepKind; 12] = [
        StepKind::RemoteCommand,
        StepKind::LocalCommand,
        StepKind::Sql,
        StepKind::Http,
        StepKind::FileDistribution,
        StepKind::FileOperation,
        StepKind::Report,
        StepKind::Rpa,
        StepKind::Email,
        StepKind::UserTask,
        StepKind::CallActivity,
        StepKind::Noop,
    ];

    /// The `lwams:kind` value.
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::RemoteCommand => "remoteCommand",
            StepKind::LocalCommand => "localCommand",
            StepKind::Sql => "sql",
            StepKind::Http => "http",
            StepKind::FileDistribution => "fileDistribution",
            StepKind::FileOperation => "fileOperation",
            StepKind::Report => "report",
            StepKind::Rpa => "rpa",
            StepKind::Email => "email",
            StepKind::UserTask => "userTask",
            StepKind::CallActivity => "callActivity",
            StepKind::Noop => "noop",
        }
    }

    /// The kind a `lwams:kind` value names.
    pub fn parse(s: &str) -> Result<StepKind, UnknownKind> {
        StepKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownKind(s.to_string()))
    }

    /// The Fluent message id of its label (`kind-remoteCommand`): the designer's
    /// palette and kind picker show it translated.
    pub fn label_key(self) -> &'static str {
        match self {
            StepKind::RemoteCommand => "kind-remoteCommand",
            StepKind::LocalCommand => "kind-localCommand",
            StepKind::Sql => "kind-sql",
            StepKind::Http => "kind-http",
            StepKind::FileDistribution => "kind-fileDistribution",
            StepKind::FileOperation => "kind-fileOperation",
            StepKind::Report => "kind-report",
            StepKind::Rpa => "kind-rpa",
            StepKind::Email => "kind-email",
            StepKind::UserTask => "kind-userTask",
            StepKind::CallActivity => "kind-callActivity",
            StepKind::Noop => "kind-noop",
        }
    }

    /// What the server's own messages call it (validation problems are English).
    pub fn noun(self) -> &'static str {
        match self {
            StepKind::RemoteCommand => "remote command",
            StepKind::LocalCommand => "local command",
            StepKind::Sql => "SQL",
            StepKind::Http => "HTTP request",
            StepKind::FileDistribution => "file distribution",
            StepKind::FileOperation => "file operation",
            StepKind::Report => "report",
            StepKind::Rpa => "RPA",
            StepKind::Email => "e-mail",
            StepKind::UserTask => "user task",
            StepKind::CallActivity => "call activity",
            StepKind::Noop => "no-op (placeholder)",
        }
    }

    /// Its required `lwams:` attributes. An entry `"a|b"` means one of `a` or `b`.
    pub fn required(self) -> &'static [&'static str] {
        match self {
            StepKind::RemoteCommand => &["host", "terminal", "command|script"],
            StepKind::LocalCommand => &["command|script"],
            StepKind::Sql => &["dataSource", "sql|script"],
            StepKind::Http => &["url", "method"],
            StepKind::FileDistribution => {
                &["host", "terminal", "direction", "localFile", "remoteFile"]
            }
            StepKind::FileOperation => &["tool", "filename"],
            StepKind::Report => &["template"],
            StepKind::Rpa => &["host", "script"],
            StepKind::Email => &["to"],
            StepKind::UserTask | StepKind::CallActivity | StepKind::Noop => &[],
        }
    }

    /// Its optional parameters (shown after the required ones).
    pub fn optional(self) -> &'static [&'static str] {
        match self {
            StepKind::RemoteCommand => &["terminalUser", "connectionType", "workDir"],
            StepKind::LocalCommand => &["workDir", "host"],
            StepKind::Sql => &["query", "host", "inCloud"],
            StepKind::Http => &["headers", "body", "tls", "host", "inCloud"],
            StepKind::FileOperation => &["newFilename", "body", "host", "inCloud"],
            StepKind::Email => &["cc", "subject", "body"],
            StepKind::CallActivity => &["process", "version", "param", "out"],
            StepKind::UserTask => &["assignee", "candidates", "form", "due"],
            StepKind::FileDistribution | StepKind::Report | StepKind::Rpa | StepKind::Noop => &[],
        }
    }

    /// The parameters a node of this kind adds to `${nodeId.…}` (SPEC §8.2), `result`
    /// last.
    pub fn exposes(self) -> Vec<&'static str> {
        let own: &[&str] = match self {
            StepKind::RemoteCommand | StepKind::LocalCommand => {
                &["workDir", "command", "values", "connectionType"]
            }
            StepKind::CallActivity => &["process.key", "process.name", "process.version"],
            StepKind::FileDistribution => &["command", "connectionType", "localFile", "remoteFile"],
            StepKind::FileOperation => &["tool", "filename", "newFilename"],
            StepKind::Http => &["url", "method", "inCloud"],
            StepKind::Report => &["report.id", "report.name", "report.comments"],
            StepKind::Sql => &[
                "sql",
                "values",
                "query",
                "inCloud",
                "dataSource.id",
                "dataSource.name",
                "dataSource.url",
                "dataSource.comments",
            ],
            StepKind::Rpa => &["script.name", "script.kind"],
            StepKind::Email | StepKind::UserTask | StepKind::Noop => &[],
        };
        let mut out = own.to_vec();
        if matches!(self, StepKind::RemoteCommand | StepKind::FileDistribution) {
            out.extend(TERMINAL_PARAMETERS);
        }
        if matches!(
            self,
            StepKind::RemoteCommand
                | StepKind::LocalCommand
                | StepKind::FileDistribution
                | StepKind::Rpa
                | StepKind::Sql
                | StepKind::Http
        ) {
            out.extend(HOST_PARAMETERS);
        }
        out.push("result");
        out
    }

    /// Whether a step of this kind can run on this server (deploy refuses the others,
    /// naming the node).
    pub fn runnable(self) -> Runnable {
        match self {
            StepKind::RemoteCommand
            | StepKind::LocalCommand
            | StepKind::Sql
            | StepKind::Http
            | StepKind::FileDistribution
            | StepKind::FileOperation
            | StepKind::Rpa
            | StepKind::Noop => Runnable::Yes,
            StepKind::Report | StepKind::Email => Runnable::NotYet,
            StepKind::UserTask | StepKind::CallActivity => Runnable::AsElement,
        }
    }

    /// Whether the designer's palette offers it (not the no-op placeholder).
    pub fn in_palette(self) -> bool {
        self != StepKind::Noop
    }
}

impl std::fmt::Display for StepKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for StepKind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<StepKind, UnknownKind> {
        StepKind::parse(s)
    }
}

/// Whether an element of this BPMN type with a `lwams:kind` runs as a step through an
/// executor (tasks; user tasks and call activities are their own behaviour).
pub fn runs_as_step(kind: NodeKind) -> bool {
    matches!(
        kind,
        NodeKind::ServiceTask
            | NodeKind::ScriptTask
            | NodeKind::SendTask
            | NodeKind::BusinessRuleTask
            | NodeKind::Task
    )
}

/// Why a step of `kind` cannot run, if it cannot: deploy refuses it with this message
/// naming the node.
pub fn not_runnable(kind: StepKind) -> Option<String> {
    match kind.runnable() {
        Runnable::Yes => None,
        Runnable::NotYet => Some(format!(
            "{} steps (lwams:kind=\"{kind}\") cannot run yet: this server has no executor for them",
            kind.noun()
        )),
        Runnable::AsElement => Some(format!(
            "lwams:kind=\"{kind}\" is not a step: draw a BPMN {} instead",
            kind.noun()
        )),
    }
}

/// The `${nodeId.…}` values of the terminal a step ran on.
const TERMINAL_PARAMETERS: &[&str] = &[
    "terminal.hostName",
    "terminal.hostAddress",
    "terminal.port",
    "terminal.osName",
    "terminal.osVersion",
    "terminal.comments",
    "terminalUser.username",
    "terminalUser.comments",
];

/// The `${nodeId.…}` values of the host whose Sub Manager ran a step.
const HOST_PARAMETERS: &[&str] = &[
    "host.id",
    "host.name",
    "host.comments",
    "host.hostName",
    "host.hostAddress",
    "host.osName",
    "host.osVersion",
    "host.osArch",
    "host.cpuName",
    "host.logicalProcessorCount",
    "host.memoryTotal",
    "host.memoryFree",
    "host.userDir",
];

/// The namespace of LWAMS properties.
pub use super::model::LWAMS_NS as NAMESPACE;

/// Every `lwams:` attribute a flow element may carry (the moddle descriptor of the
/// designer declares exactly these, so they survive load and save).
pub const ATTRIBUTES: &[&str] = &[
    "kind",
    "command",
    "script",
    "host",
    "terminal",
    "terminalUser",
    "connectionType",
    "workDir",
    "timeout",
    "retries",
    "retryDelay",
    "idempotent",
    "resultVariable",
    "dataSource",
    "sql",
    "query",
    "inCloud",
    "url",
    "method",
    "headers",
    "body",
    "tls",
    "direction",
    "localFile",
    "remoteFile",
    "tool",
    "filename",
    "newFilename",
    "template",
    "to",
    "cc",
    "subject",
    "param",
    "out",
    "process",
    "version",
    "collection",
    "elementVariable",
    "assignee",
    "candidates",
    "form",
    "due",
];

/// Parameters every step kind offers besides its required ones.
pub const COMMON_STEP_PARAMETERS: &[&str] = &[
    "timeout",
    "retries",
    "retryDelay",
    "idempotent",
    "resultVariable",
];

/// The BPMN types the `lwams:` attributes are declared on: flow elements (steps, events,
/// gateways, flows) and loop characteristics (`lwams:collection`). Not `bpmn:BaseElement`:
/// that would put `lwams:body` on `bpmn:Expression` too, whose own `body` (a condition's
/// or a timer's text) moddle then refuses to define — conditions and timer expressions
/// could not be created in the designer.
pub const EXTENDED_TYPES: [&str; 2] = ["bpmn:FlowElement", "bpmn:LoopCharacteristics"];

/// The moddle extension (bpmn-js `moddleExtensions.lwams`) declaring `ATTRIBUTES` on
/// `EXTENDED_TYPES`.
pub fn moddle_descriptor() -> serde_json::Value {
    let properties: Vec<serde_json::Value> = ATTRIBUTES
        .iter()
        .map(|a| serde_json::json!({ "name": a, "isAttr": true, "type": "String" }))
        .collect();
    serde_json::json!({
        "name": "LWAMS",
        "uri": NAMESPACE,
        "prefix": "lwams",
        "xml": { "tagAlias": "lowerCase" },
        "types": [{
            "name": "Properties",
            "extends": EXTENDED_TYPES,
            "properties": properties,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_moddle_descriptor_declares_every_parameter_of_every_kind() {
        for k in StepKind::ALL {
            for r in k.required() {
                for a in r.split('|') {
                    assert!(ATTRIBUTES.contains(&a), "{k}: {a}");
                }
            }
            for a in k.optional() {
                assert!(ATTRIBUTES.contains(a), "{k}: {a}");
            }
        }
        for a in COMMON_STEP_PARAMETERS {
            assert!(ATTRIBUTES.contains(a));
        }
        let d = moddle_descriptor();
        assert_eq!(d["prefix"], "lwams");
        assert_eq!(d["uri"], NAMESPACE);
        let props = d["types"][0]["properties"].as_array().unwrap();
        assert_eq!(props.len(), ATTRIBUTES.len());
        assert!(props.iter().all(|p| p["isAttr"] == true));
        assert_eq!(
            d["types"][0]["extends"],
            serde_json::json!(["bpmn:FlowElement", "bpmn:LoopCharacteristics"])
        );
        // Never on expressions, whose `body` an `lwams:body` would clash with.
        assert!(!EXTENDED_TYPES.iter().any(|t| matches!(
            *t,
            "bpmn:BaseElement" | "bpmn:Expression" | "bpmn:FormalExpression"
        )));
        let mut seen = std::collections::BTreeSet::new();
        assert!(
            ATTRIBUTES.iter().all(|a| seen.insert(a)),
            "no attribute twice"
        );
    }

    #[test]
    fn a_kind_reads_and_writes_as_its_lwams_kind_value() {
        for k in StepKind::ALL {
            assert_eq!(StepKind::parse(k.as_str()), Ok(k));
            assert_eq!(
                serde_json::to_value(k).unwrap(),
                serde_json::json!(k.as_str())
            );
            assert_eq!(k.label_key(), format!("kind-{}", k.as_str()));
        }
        // The compiled JSON stored before the enum: `{"Job":{"kind":"localCommand"}}`.
        let stored: StepKind = serde_json::from_str("\"fileDistribution\"").unwrap();
        assert_eq!(stored, StepKind::FileDistribution);
        assert_eq!(
            StepKind::parse("ftp"),
            Err(UnknownKind("ftp".into())),
            "an unknown kind is named"
        );
        assert_eq!(
            UnknownKind("ftp".into()).to_string(),
            "unknown LWAMS node kind \"ftp\""
        );
    }

    #[test]
    fn report_and_email_are_kinds_without_an_executor_yet() {
        assert_eq!(StepKind::Report.runnable(), Runnable::NotYet);
        assert_eq!(StepKind::Email.runnable(), Runnable::NotYet);
        assert_eq!(StepKind::UserTask.runnable(), Runnable::AsElement);
        assert_eq!(StepKind::Sql.runnable(), Runnable::Yes);
        assert!(!StepKind::Noop.in_palette());
    }
}
