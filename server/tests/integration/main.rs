//! The server's integration tests, one binary: each module is one area, all share the
//! helpers of [`support`] (fresh databases, an app with a signed-in client, the app
//! served with its engine working, waiting for an instance, a node's output, XML
//! attribute text). Filter by module: `cargo test -p server --test integration agents::`.
//!
//! Every test runs in this one process on several threads: a test changes no
//! process-wide state (no `std::env::set_var`, no current directory); what the server
//! needs from the environment it gets through its `Config`.

mod support;

mod agents;
mod api;
mod bpmn_interchange;
mod cli;
mod egress;
mod flow_run;
mod loose_ends;
mod queue_invariants;
mod runtime;
mod security;
mod services;
mod store;
