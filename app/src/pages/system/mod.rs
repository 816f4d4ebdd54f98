//! System menu pages.

pub mod companies;
pub mod company;
pub mod hosts;
pub mod users;
