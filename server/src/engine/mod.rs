//! The BPMN engine: `compile` turns a parsed process into an executable graph once, at
//! deploy; `core` is the pure state machine (state + event → new state + commands);
//! `runtime` carries the commands out durably (jobs with leases, timers, child flows,
//! recovery after a crash) and `steps` runs each step through its executor.

pub mod builtins;
pub mod call;
pub mod compile;
pub mod conditions;
pub mod core;
pub mod deploy;
pub mod duration;
pub mod placement;
pub mod runner;
pub mod runtime;
pub mod server_steps;
pub mod steps;
pub mod timers;

#[cfg(test)]
mod tests;
