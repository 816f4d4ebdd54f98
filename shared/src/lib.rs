//! Types that cross every LWAMS boundary: API DTOs, the permission model, locales and
//! field validation rules. Compiles to wasm32 — serde-level dependencies only.

pub mod agent;
pub mod bpmn;
pub mod datetime;
pub mod dto;
pub mod locale;
pub mod permission;
pub mod redact;
pub mod sql;
pub mod validate;
pub mod vars;

pub use locale::Locale;
pub use permission::{Function, Level, PermissionMatrix};
