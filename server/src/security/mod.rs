//! The trust boundaries of the server (see ARCHITECTURE.md, "Security model"): which
//! companies may use the server's own machine and network.

pub mod confined;
pub mod egress;
pub mod headers;
pub mod trust;

pub use confined::Confinement;
pub use egress::EgressPolicy;
pub use trust::Trust;
