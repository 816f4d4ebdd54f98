//! One module per page, grouped by menu.

pub mod coming;
pub mod flow;
pub mod home;
pub mod login;
pub mod not_found;
pub mod password;
pub mod resource;
pub mod system;
