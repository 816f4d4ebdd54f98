//! Shared state handed to every handler.

use crate::config::Config;
use crate::crypto::SecretBox;
use crate::store::Store;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub store: Store,
    pub secrets: SecretBox,
    pub config: Arc<Config>,
    pub runtime: crate::engine::runtime::Runtime,
    pub leptos_options: LeptosOptions,
}
