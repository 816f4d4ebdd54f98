//! Temporary bridge for a test file not yet in the one integration binary: the helpers
//! now live in `tests/integration/support`.
#[path = "../integration/support/mod.rs"]
mod support;
#[allow(unused_imports)]
pub use support::*;
