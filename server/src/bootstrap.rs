//! First start: a company, an administrators' group with every right, and the first
//! admin account — so a newcomer can sign in right after `lwams serve`. The same
//! functions create every later company (`create_company`, `add_administrator`).

use crate::auth::password;
use crate::store::{companies, groups, users, Conn, Store, StoreError};
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
    let company = create_company(&mut tx, "default", "Default company").await?;
    let admin = add_administrator(
        &mut tx,
        company.id,
        company.admin_group,
        login,
        "Administrator",
        &hash,
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(
        company_id = company.id,
        user_id = admin,
        "created the first company and admin"
    );
    Ok(FirstAdmin::Created {
        login: login.to_string(),
        generated_password: generated,
    })
}

/// A company just created by [`create_company`].
#[derive(Debug, Clone, Copy)]
pub struct NewCompany {
    pub id: Id,
    /// Its Administrators group (every right).
    pub admin_group: Id,
    /// It is the platform operator's (it is the database's first company).
    pub platform_operator: bool,
}

/// Creates a company with its Administrators group holding every right — the one way
/// a company comes to be (first start, `lwams admin create-company`, the platform
/// operator's API). The database's first company becomes the platform operator's.
/// A taken code is a unique violation (`StoreError::is_unique_violation`).
pub async fn create_company(
    c: &mut Conn,
    code: &str,
    name: &str,
) -> Result<NewCompany, StoreError> {
    let first = companies::count(c).await? == 0;
    let id = companies::insert(c, code, name).await?;
    if first {
        companies::mark_platform_operator(c, id).await?;
    }
    let admin_group = create_admin_group(c, id).await?;
    Ok(NewCompany {
        id,
        admin_group,
        platform_operator: first,
    })
}

async fn create_admin_group(c: &mut Conn, company: Id) -> Result<Id, StoreError> {
    let group = groups::insert(c, company, ADMIN_GROUP, "Every right on every function").await?;
    groups::set_permissions(c, group, &PermissionMatrix::full()).await?;
    Ok(group)
}

/// The company's Administrators group, created with every right when it is missing.
pub async fn admin_group(c: &mut Conn, company: Id) -> Result<Id, StoreError> {
    let (list, _) = groups::list(
        c,
        company,
        &shared::dto::ListQuery {
            q: Some(ADMIN_GROUP.into()),
            ..Default::default()
        },
    )
    .await?;
    match list.into_iter().find(|g| g.name == ADMIN_GROUP) {
        Some(g) => Ok(g.id),
        None => create_admin_group(c, company).await,
    }
}

/// Adds an administrator to a company: an enabled user (who may also sign in to the
/// Sub Manager's page) in the company's Administrators group. `hash` is the
/// password's argon2 hash. A taken login is a unique violation.
pub async fn add_administrator(
    c: &mut Conn,
    company: Id,
    admin_group: Id,
    login: &str,
    display_name: &str,
    hash: &str,
) -> Result<Id, StoreError> {
    let fields = users::UserFields {
        display_name,
        email: "",
        phone: "",
        mobile: "",
        enabled: true,
        may_login_agent: true,
    };
    let user = users::insert(c, company, login, hash, Locale::ZhCn, &fields).await?;
    groups::add_members(c, admin_group, &[user]).await?;
    Ok(user)
}

/// A random 16-character password without look-alike characters (printed once).
pub fn generate_password() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..16)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}
