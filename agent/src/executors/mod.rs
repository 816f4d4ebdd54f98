//! What the Sub Manager can run: one module per executor, each with its timeout and
//! output cap. The server runs the same code for steps "in cloud".

pub mod local;
pub mod sftp;
pub mod ssh;
pub mod task;
