//! Which companies the server trusts with its own machine and network.
//!
//! The product is multi-tenant, and the server process holds every company's secrets
//! (the secret key, the database). A company is *trusted* when it is named in
//! `trusted_companies` (`LWAMS_TRUSTED_COMPANIES`, `*` for all) or, when that is unset,
//! when it is the company created at first start (the platform operator's own, so a
//! newcomer's first flow still runs without an agent). Only trusted companies' flows
//! may run steps on the server itself (commands, scripts, file operations, SQL on
//! `sqlite:` files), and only for them does the server connect to loopback, private
//! and link-local addresses (see `egress`).

use crate::config::Config;
use crate::store::{Store, StoreError};
use shared::dto::Id;
use std::sync::{Arc, OnceLock};

#[derive(Clone)]
pub struct Trust {
    store: Store,
    /// `None`: only the first company.
    companies: Option<Arc<Vec<String>>>,
    /// The first company's id, once looked up (ids are never reused).
    first: Arc<OnceLock<Id>>,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trust")
            .field("companies", &self.companies)
            .finish()
    }
}

impl Trust {
    pub fn new(store: Store, config: &Config) -> Trust {
        Trust {
            store,
            companies: config.trusted_companies.clone().map(Arc::new),
            first: Arc::new(OnceLock::new()),
        }
    }

    /// Whether `company_id`'s flows may use the server's own machine and network.
    /// Asks the database only when it must (the first company is looked up once).
    pub async fn is_trusted(&self, company_id: Id) -> Result<bool, StoreError> {
        match &self.companies {
            Some(codes) if codes.iter().any(|c| c == "*") => Ok(true),
            Some(codes) => {
                let mut c = self.store.conn().await?;
                Ok(crate::store::companies::get(&mut c, company_id)
                    .await?
                    .is_some_and(|row| codes.contains(&row.code)))
            }
            None => {
                if let Some(first) = self.first.get() {
                    return Ok(*first == company_id);
                }
                let mut c = self.store.conn().await?;
                match crate::store::companies::first_id(&mut c).await? {
                    Some(first) => Ok(*self.first.get_or_init(|| first) == company_id),
                    None => Ok(false),
                }
            }
        }
    }
}

/// Why a company's step may not run on the server.
pub fn not_on_server(what: &str) -> String {
    format!(
        "{what} would run on the LWAMS server itself, which only the platform operator's \
         company may use: name a host (lwams:host) whose Sub Manager runs it"
    )
}
