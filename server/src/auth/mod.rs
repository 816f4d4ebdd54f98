//! Authentication and authorisation: password hashes, sessions, the CSRF check and
//! the one permission guard every endpoint goes through.

pub mod guard;
pub mod login;
pub mod password;
pub mod session;
pub mod throttle;

pub use guard::{PlatformOperator, Principal};
