//! The LWAMS server library: configuration, store, authentication, the REST API and
//! the web application. `main.rs` is a thin command-line front end over it.

pub mod agents;
pub mod api;
pub mod auth;
pub mod bootstrap;
pub mod bpmn_check;
pub mod bpmn_decode;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod engine;
pub mod error;
pub mod executors;
pub mod live;
pub mod login_form;
pub mod security;
pub mod state;
pub mod store;
pub mod web;

use config::Config;
use leptos::config::LeptosOptions;
use state::AppState;
use std::sync::Arc;

/// Why the server's state could not be built at start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("secret key: {0}")]
    SecretKey(#[from] crypto::SecretError),
    #[error("database: {0}")]
    Store(#[from] store::StoreError),
}

/// Builds the shared state: opens (and migrates) the store, loads the secret key.
pub async fn build_state(config: Config) -> Result<AppState, StartError> {
    let secrets = crypto::SecretBox::from_base64(&config.secret_key()?)?;
    let store = store::Store::open(&config.database_url()).await?;
    reseal_v1_secrets(&store, &secrets).await?;
    let leptos_options = LeptosOptions::builder()
        .output_name("lwams")
        .site_root(config.site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(config.listen)
        .build();
    let runtime =
        engine::runtime::Runtime::new(store.clone(), config.engine_node(), config.engine_slots);
    runtime.set_multi_instance_max(config.multi_instance_max);
    let agents = agents::hub::AgentHub::default();
    let trust = security::Trust::new(store.clone(), &config);
    let egress = security::EgressPolicy::new(&config)?;
    // Steps on the server may not read the database file or the key.
    security::confined::protect_data_files(&config.data_dir);
    let confinement = security::Confinement::new(&config.data_dir);
    runtime.attach_agents(agents::reach::Reach {
        store: store.clone(),
        secrets: secrets.clone(),
        hub: agents.clone(),
        trust: trust.clone(),
        egress: egress.clone(),
        confinement: confinement.clone(),
    });
    Ok(AppState {
        runtime,
        agents,
        trust,
        egress,
        confinement,
        store,
        secrets,
        config: Arc::new(config),
        leptos_options,
    })
}

/// Re-seals secrets of the old form (`v1:`, without associated data) as `v2:`, bound to
/// their table, column, company and row — once, at the first start of a version that
/// knows associated data (`store::sealed::upgrade`), in one transaction.
pub async fn reseal_v1_secrets(
    store: &store::Store,
    secrets: &crypto::SecretBox,
) -> Result<store::sealed::Upgraded, store::StoreError> {
    let mut tx = store.begin().await?;
    let done = store::sealed::upgrade(&mut tx, secrets).await?;
    tx.commit().await?;
    if done.resealed > 0 {
        tracing::info!(
            count = done.resealed,
            "secrets re-sealed with associated data (v2)"
        );
    }
    for which in &done.unreadable {
        tracing::warn!(secret = %which, "a stored secret does not open with this key; left as it is");
    }
    Ok(done)
}
