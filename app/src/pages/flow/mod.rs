//! Flow menu pages.

pub mod designer;
pub mod editor;
pub mod monitor;
