//! Resource menu pages.

pub mod data_sources;
pub mod scripts;
