//! Executors: one module per kind of step. Each takes a typed request, enforces its
//! timeout and output cap, and returns a typed result. Command executors are the
//! Sub Manager's own (crate `agent`), so a step "in cloud" runs the same code as on
//! an agent.

pub use agent::executors::local as local_command;
