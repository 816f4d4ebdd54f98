//! The server's side of the Sub Managers: the `/agent` gateway they dial into, the
//! hub that hands them tasks and waits for outcomes, the reach that turns a step's
//! host/terminal/account into a task, and the download package.

pub mod credential;
pub mod gateway;
pub mod hub;
pub mod package;
pub mod reach;
