//! Where a step runs: on a host's Sub Manager, or on the LWAMS server itself. Steps on
//! the server (commands and scripts without `lwams:host`, file operations and SQL "in
//! cloud") are only for trusted companies (`security::Trust`): deploy refuses them for
//! the others, naming the node, and the step is refused again when it runs (a
//! `${…}` host can resolve to nothing).

use super::compile::{Behaviour, ExecNode, Executable};

/// What of the step would run on the server's own machine, if anything.
pub fn on_server(n: &ExecNode) -> Option<&'static str> {
    let Behaviour::Job { kind } = &n.behaviour else {
        return None;
    };
    let named = |k: &str| n.lwams.get(k).is_some_and(|v| !v.trim().is_empty());
    let in_cloud = n
        .lwams
        .get("inCloud")
        .is_some_and(|v| matches!(v.trim(), "true" | "1" | "yes"));
    match kind.as_str() {
        "localCommand" if !named("host") => Some(if named("command") {
            "this command"
        } else {
            "this script"
        }),
        "fileOperation" if in_cloud || !named("host") => Some("this file operation"),
        _ => None,
    }
}

/// The nodes of `ex` that would run on the server: (element id, what).
pub fn server_steps(ex: &Executable) -> Vec<(String, &'static str)> {
    ex.nodes
        .iter()
        .filter_map(|n| on_server(n).map(|what| (n.id.clone(), what)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(kind: &str, attrs: &[(&str, &str)]) -> ExecNode {
        ExecNode::job("n", kind, attrs)
    }

    #[test]
    fn commands_scripts_and_file_operations_without_a_host_run_on_the_server() {
        assert_eq!(
            on_server(&node("localCommand", &[("command", "env")])),
            Some("this command")
        );
        assert_eq!(
            on_server(&node("localCommand", &[("script", "s"), ("host", " ")])),
            Some("this script")
        );
        assert_eq!(
            on_server(&node("localCommand", &[("command", "env"), ("host", "h1")])),
            None
        );
        assert_eq!(
            on_server(&node(
                "fileOperation",
                &[("host", "h1"), ("inCloud", "true")]
            )),
            Some("this file operation")
        );
        assert_eq!(on_server(&node("fileOperation", &[("host", "h1")])), None);
        // HTTP and SQL in cloud are governed by the address policy, not refused here.
        assert_eq!(on_server(&node("http", &[("url", "http://x")])), None);
        assert_eq!(
            on_server(&node("remoteCommand", &[("command", "id")])),
            None
        );
    }
}
