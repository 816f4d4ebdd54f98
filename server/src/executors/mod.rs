//! Executors: one module per kind of step. Each takes a typed request, enforces its
//! timeout and output cap, and returns a typed result.

pub mod local_command;
