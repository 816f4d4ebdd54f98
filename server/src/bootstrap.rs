//! First start: a company, an administrators' group with every right, and the first
//! admin account — so a newcomer can sign in right after `lwams serve`.

use crate::auth::password;
use crate::store::{companies, groups, users, Store, StoreError};
use shared::dto::Id;
use shared::{Locale, PermissionMatrix};

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Password(#[from] password::PasswordError),
    #[error("{0}")]
    Invalid(String),
}

/// What `ensure_first_admin` did.
#[derive(Debug)]
pub enum FirstAdmin {
    /// The database already had a company; nothing was created.
    Existing,
    /// Created; `generated_password` is set when none was given (print it once).
    Created {
        login: String,
        generated_password: Option<String>,
    },
}

pub const ADMIN_GROUP: &str = "Administrators";

/// Creates the default company, the administrators' group and the first admin when
/// the database has no company yet.
pub async fn ensure_first_admin(
    store: &Store,
    login: &str,
    password: Option<&str>,
) -> Result<FirstAdmin, BootstrapError> {
    let mut c = store.conn().await?;
    if !companies::list(&mut c).await?.is_empty() {
        return Ok(FirstAdmin::Existing);
    }
    drop(c);
    let generated = password.is_none().then(generate_password);
    let pw = password
        .map(str::to_string)
        .or_else(|| generated.clone())
        .unwrap_or_default();
    shared::validate::password("LWAMS_ADMIN_PASSWORD", &pw)
        .map_err(|e| BootstrapError::Invalid(e.to_string()))?;
    let hash = password::hash(&pw).await?;
    let mut tx = store.begin().await?;
    let company = companies::insert(&mut tx, "default", "Default company").await?;
    let admin = create_user_with_group(&mut tx, company, login, "Administrator", &hash).await?;
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(
        company_id = company,
        user_id = admin,
        "created the first company and admin"
    );
    Ok(FirstAdmin::Created {
        login: login.to_string(),
        generated_password: generated,
    })
}

async fn create_user_with_group(
    c: &mut crate::store::Conn,
    company: Id,
    login: &str,
    display_name: &str,
    hash: &str,
) -> Result<Id, StoreError> {
    let group = groups::insert(c, company, ADMIN_GROUP, "Every right on every function").await?;
    groups::set_permissions(c, group, &PermissionMatrix::full()).await?;
    let fields = users::UserFields {
        display_name,
        email: "",
        phone: "",
        mobile: "",
        enabled: true,
        may_login_agent: true,
    };
    let user = users::insert(c, company, login, hash, Locale::ZhCn, &fields).await?;
    groups::add_members(c, group, &[user]).await?;
    Ok(user)
}

fn generate_password() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..16)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}
