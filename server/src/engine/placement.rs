//! Where a step runs: on a host's Sub Manager, or on the LWAMS server itself. Steps on
//! the server (commands and scripts without `lwams:host`, file operations and SQL "in
//! cloud") are only for trusted companies (`security::Trust`): deploy refuses them for
//! the others, naming the node, and the step is refused again when it runs (a
//! `${…}` host can resolve to nothing).

use super::compile::{Behaviour, ExecNode, Executable};
use shared::bpmn::lwams::StepKind;

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
    match kind {
        StepKind::LocalCommand if !named("host") => Some(if named("command") {
            "this command"
        } else {
            "this script"
        }),
        StepKind::FileOperation if in_cloud || !named("host") => Some("this file operation"),
        StepKind::LocalCommand
        | StepKind::FileOperation
        | StepKind::RemoteCommand
        | StepKind::Sql
        | StepKind::Http
        | StepKind::FileDistribution
        | StepKind::Report
        | StepKind::Rpa
        | StepKind::Email
        | StepKind::UserTask
        | StepKind::CallActivity
        | StepKind::Noop => None,
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

    fn node(kind: StepKind, attrs: &[(&str, &str)]) -> ExecNode {
        ExecNode::job("n", kind, attrs)
    }

    #[test]
    fn commands_scripts_and_file_operations_without_a_host_run_on_the_server() {
        assert_eq!(
            on_server(&node(StepKind::LocalCommand, &[("command", "env")])),
            Some("this command")
        );
        assert_eq!(
            on_server(&node(
                StepKind::LocalCommand,
                &[("script", "s"), ("host", " ")]
            )),
            Some("this script")
        );
        assert_eq!(
            on_server(&node(
                StepKind::LocalCommand,
                &[("command", "env"), ("host", "h1")]
            )),
            None
        );
        assert_eq!(
            on_server(&node(
                StepKind::FileOperation,
                &[("host", "h1"), ("inCloud", "true")]
            )),
            Some("this file operation")
        );
        assert_eq!(
            on_server(&node(StepKind::FileOperation, &[("host", "h1")])),
            None
        );
        // HTTP and SQL in cloud are governed by the address policy, not refused here.
        assert_eq!(
            on_server(&node(StepKind::Http, &[("url", "http://x")])),
            None
        );
        assert_eq!(
            on_server(&node(StepKind::RemoteCommand, &[("command", "id")])),
            None
        );
    }
}
