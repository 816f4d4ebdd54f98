//! System menu pages.

pub mod company;
pub mod hosts;
pub mod users;
