//! Flow menu pages.

pub mod basic_data;
pub mod designer;
pub mod editor;
pub mod monitor;
pub mod properties;
