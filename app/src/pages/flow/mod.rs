//! Flow menu pages.

pub mod editor;
pub mod monitor;
