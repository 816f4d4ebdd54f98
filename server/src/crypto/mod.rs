//! Secrets at rest: AES-256-GCM with a key from configuration.

pub mod secret_box;
pub use secret_box::{SealedAt, SecretBox, SecretError};
