//! LWAMS node kinds (`lwams:kind`) and the parameters each requires (SPEC §5.1).

/// A kind of LWAMS step and its required `lwams:` attributes. An entry `"a|b"` means
/// one of `a` or `b`.
pub struct KindSpec {
    pub kind: &'static str,
    pub label: &'static str,
    pub required: &'static [&'static str],
}

pub const KINDS: &[KindSpec] = &[
    KindSpec {
        kind: "remoteCommand",
        label: "remote command",
        required: &["host", "terminal", "command|script"],
    },
    KindSpec {
        kind: "localCommand",
        label: "local command",
        required: &["command|script"],
    },
    KindSpec {
        kind: "sql",
        label: "SQL",
        required: &["dataSource", "sql|script"],
    },
    KindSpec {
        kind: "http",
        label: "HTTP request",
        required: &["url", "method"],
    },
    KindSpec {
        kind: "fileDistribution",
        label: "file distribution",
        required: &["host", "terminal", "direction", "localFile", "remoteFile"],
    },
    KindSpec {
        kind: "fileOperation",
        label: "file operation",
        required: &["tool", "filename"],
    },
    KindSpec {
        kind: "report",
        label: "report",
        required: &["template"],
    },
    KindSpec {
        kind: "rpa",
        label: "RPA",
        required: &["host", "script"],
    },
    KindSpec {
        kind: "email",
        label: "e-mail",
        required: &["to"],
    },
    KindSpec {
        kind: "userTask",
        label: "user task",
        required: &[],
    },
    KindSpec {
        kind: "callActivity",
        label: "call activity",
        required: &[],
    },
    KindSpec {
        kind: "noop",
        label: "no-op (placeholder)",
        required: &[],
    },
];

pub fn spec(kind: &str) -> Option<&'static KindSpec> {
    KINDS.iter().find(|k| k.kind == kind)
}

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

/// Optional parameters per kind (shown after the required ones).
pub fn optional(kind: &str) -> &'static [&'static str] {
    match kind {
        "remoteCommand" => &["terminalUser", "connectionType", "workDir"],
        "localCommand" => &["workDir", "host"],
        "sql" => &["query", "host", "inCloud"],
        "http" => &["headers", "body", "tls", "host", "inCloud"],
        "fileOperation" => &["newFilename", "body", "host", "inCloud"],
        "email" => &["cc", "subject", "body"],
        "callActivity" => &["process", "version", "param", "out"],
        "userTask" => &["assignee", "candidates", "form", "due"],
        _ => &[],
    }
}

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
        for k in KINDS {
            for r in k.required {
                for a in r.split('|') {
                    assert!(ATTRIBUTES.contains(&a), "{}: {a}", k.kind);
                }
            }
            for a in optional(k.kind) {
                assert!(ATTRIBUTES.contains(a), "{}: {a}", k.kind);
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
}
