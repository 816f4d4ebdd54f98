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
    /// The Sub Managers connected to this process.
    pub agents: crate::agents::hub::AgentHub,
    /// Which companies may use the server's own machine and network.
    pub trust: crate::security::Trust,
    /// Where the server connects for untrusted companies.
    pub egress: crate::security::EgressPolicy,
    /// How steps on the server are confined.
    pub confinement: crate::security::Confinement,
    pub leptos_options: LeptosOptions,
}

impl AppState {
    /// What remote steps and connection tests need.
    pub fn reach(&self) -> crate::agents::reach::Reach {
        crate::agents::reach::Reach {
            store: self.store.clone(),
            secrets: self.secrets.clone(),
            hub: self.agents.clone(),
            trust: self.trust.clone(),
            egress: self.egress.clone(),
            confinement: self.confinement.clone(),
        }
    }
}
