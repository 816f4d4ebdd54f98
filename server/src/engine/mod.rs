//! The BPMN engine: `compile` turns a parsed process into an executable graph once, at
//! deploy; `core` is the pure state machine (state + event → new state + commands).
//! Persistence, the job queue and the executors (issue 3, in progress) carry the
//! commands out.

pub mod builtins;
pub mod compile;
pub mod conditions;
pub mod core;
pub mod duration;
pub mod runner;

#[cfg(test)]
mod tests;
