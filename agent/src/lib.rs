//! The LWAMS Sub Manager: the on-premise agent that dials home to the server, reports
//! its host's facts and runs the steps the engine hands it (commands on its own
//! machine and on terminals over SSH). The server reuses its executors for steps that
//! run "in cloud".

pub mod cli;
pub mod config;
pub mod executors;
pub mod facts;
pub mod journal;
pub mod link;
pub mod page;
