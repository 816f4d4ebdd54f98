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
