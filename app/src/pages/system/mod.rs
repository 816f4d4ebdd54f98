//! System menu pages.

pub mod company;
pub mod users;
