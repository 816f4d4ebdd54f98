//! What the Sub Manager can run: one module per executor, each with its timeout and
//! output cap. The server runs the same code for steps "in cloud".

pub mod file_op;
pub mod http;
pub mod local;
pub mod ntlm;
pub mod scp;
pub mod script;
pub mod sftp;
pub mod sql;
pub mod ssh;
pub mod task;
pub mod transfer;
pub mod winrm;
pub mod winrm_sealing;
