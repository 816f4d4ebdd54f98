//! The trust boundaries of the server (see ARCHITECTURE.md, "Security model"): which
//! companies may use the server's own machine and network.

pub mod trust;

pub use trust::Trust;
