//! Flow menu pages.

pub mod monitor;
