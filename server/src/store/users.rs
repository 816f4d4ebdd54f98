//! Users of a company. Every query is scoped by `company_id`.

use super::{like_pattern, now_millis, Conn, StoreError, StoreResult};
use shared::dto::{Id, ListQuery};
use shared::Locale;
use sqlx::Row;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: Id,
    pub company_id: Id,
    pub login: String,
    pub display_name: String,
    pub password_hash: String,
    pub email: String,
    pub phone: String,
    pub mobile: String,
    pub enabled: bool,
    pub may_login_agent: bool,
    pub wechat_openid: Option<String>,
    pub locale: Locale,
    pub failed_logins: i64,
    pub locked_until: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The fields an administrator edits.
#[derive(Debug, Clone)]
pub struct UserFields<'a> {
    pub display_name: &'a str,
    pub email: &'a str,
    pub phone: &'a str,
    pub mobile: &'a str,
    pub enabled: bool,
    pub may_login_agent: bool,
}

const COLUMNS: &str = "id, company_id, login, display_name, password_hash, email, phone, \
    mobile, enabled, may_login_agent, wechat_openid, locale, failed_logins, locked_until, \
    created_at, updated_at";

fn from_row(r: &sqlx::any::AnyRow) -> StoreResult<UserRow> {
    let locale: String = r.try_get("locale")?;
    Ok(UserRow {
        id: r.try_get("id")?,
        company_id: r.try_get("company_id")?,
        login: r.try_get("login")?,
        display_name: r.try_get("display_name")?,
        password_hash: r.try_get("password_hash")?,
        email: r.try_get("email")?,
        phone: r.try_get("phone")?,
        mobile: r.try_get("mobile")?,
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        may_login_agent: r.try_get::<i64, _>("may_login_agent")? != 0,
        wechat_openid: r.try_get("wechat_openid")?,
        locale: Locale::from_tag(&locale)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown locale {locale:?}")))?,
        failed_logins: r.try_get("failed_logins")?,
        locked_until: r.try_get("locked_until")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub async fn insert(
    c: &mut Conn,
    company_id: Id,
    login: &str,
    password_hash: &str,
    locale: Locale,
    f: &UserFields<'_>,
) -> StoreResult<Id> {
    let now = now_millis();
    let row = sqlx::query(
        "INSERT INTO users (company_id, login, display_name, password_hash, email, phone, \
         mobile, enabled, may_login_agent, locale, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id",
    )
    .bind(company_id)
    .bind(login)
    .bind(f.display_name)
    .bind(password_hash)
    .bind(f.email)
    .bind(f.phone)
    .bind(f.mobile)
    .bind(i64::from(f.enabled))
    .bind(i64::from(f.may_login_agent))
    .bind(locale.tag())
    .bind(now)
    .fetch_one(&mut *c)
    .await?;
    Ok(row.try_get("id")?)
}

pub async fn get(c: &mut Conn, company_id: Id, id: Id) -> StoreResult<Option<UserRow>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM users WHERE company_id = $1 AND id = $2"
    ))
    .bind(company_id)
    .bind(id)
    .fetch_optional(&mut *c)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn by_login(c: &mut Conn, company_id: Id, login: &str) -> StoreResult<Option<UserRow>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM users WHERE company_id = $1 AND login = $2"
    ))
    .bind(company_id)
    .bind(login)
    .fetch_optional(&mut *c)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// A page of users matching the filter (login, display name or e-mail), by login.
pub async fn list(c: &mut Conn, company_id: Id, q: &ListQuery) -> StoreResult<(Vec<UserRow>, i64)> {
    let pattern = like_pattern(q.filter().unwrap_or(""));
    let filter = "company_id = $1 AND (LOWER(login) LIKE $2 ESCAPE '\\' \
                  OR LOWER(display_name) LIKE $2 ESCAPE '\\' OR LOWER(email) LIKE $2 ESCAPE '\\')";
    let total: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM users WHERE {filter}"))
        .bind(company_id)
        .bind(&pattern)
        .fetch_one(&mut *c)
        .await?
        .try_get("n")?;
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM users WHERE {filter} ORDER BY login LIMIT $3 OFFSET $4"
    ))
    .bind(company_id)
    .bind(&pattern)
    .bind(q.limit())
    .bind(q.offset())
    .fetch_all(&mut *c)
    .await?;
    Ok((
        rows.iter().map(from_row).collect::<StoreResult<_>>()?,
        total,
    ))
}

pub async fn update(c: &mut Conn, company_id: Id, id: Id, f: &UserFields<'_>) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE users SET display_name = $1, email = $2, phone = $3, mobile = $4, enabled = $5, \
         may_login_agent = $6, updated_at = $7 WHERE company_id = $8 AND id = $9",
    )
    .bind(f.display_name)
    .bind(f.email)
    .bind(f.phone)
    .bind(f.mobile)
    .bind(i64::from(f.enabled))
    .bind(i64::from(f.may_login_agent))
    .bind(now_millis())
    .bind(company_id)
    .bind(id)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_password(c: &mut Conn, company_id: Id, id: Id, hash: &str) -> StoreResult<()> {
    sqlx::query(
        "UPDATE users SET password_hash = $1, failed_logins = 0, locked_until = 0, updated_at = $2 \
         WHERE company_id = $3 AND id = $4",
    )
    .bind(hash)
    .bind(now_millis())
    .bind(company_id)
    .bind(id)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub async fn set_locale(c: &mut Conn, company_id: Id, id: Id, locale: Locale) -> StoreResult<()> {
    sqlx::query("UPDATE users SET locale = $1 WHERE company_id = $2 AND id = $3")
        .bind(locale.tag())
        .bind(company_id)
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Records a failed sign-in: counts it, or locks the account until `lock_until`
/// (and restarts the count) when the caller decided the limit is reached.
/// Counts a sign-in attempt *before* its password is checked, atomically: the attempt
/// that reaches `max` failures locks the account until `lock_until` (and starts the
/// count again). `false`: the account is locked now, so the attempt is not checked at
/// all — concurrent guesses can never get more than `max` verifications.
pub async fn claim_login_attempt(
    c: &mut Conn,
    id: Id,
    now: i64,
    max: i64,
    lock_until: i64,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE users SET \
           failed_logins = CASE WHEN failed_logins + 1 >= $1 THEN 0 ELSE failed_logins + 1 END, \
           locked_until = CASE WHEN failed_logins + 1 >= $1 THEN $2 ELSE locked_until END \
         WHERE id = $3 AND locked_until <= $4",
    )
    .bind(max)
    .bind(lock_until)
    .bind(id)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn reset_failed_logins(c: &mut Conn, id: Id) -> StoreResult<()> {
    sqlx::query("UPDATE users SET failed_logins = 0, locked_until = 0 WHERE id = $1")
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(())
}

pub async fn delete(c: &mut Conn, company_id: Id, id: Id) -> StoreResult<bool> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND company_id = $2")
        .bind(id)
        .bind(company_id)
        .execute(&mut *c)
        .await?;
    sqlx::query(
        "DELETE FROM group_members WHERE user_id = $1 AND group_id IN \
                 (SELECT id FROM user_groups WHERE company_id = $2)",
    )
    .bind(id)
    .bind(company_id)
    .execute(&mut *c)
    .await?;
    let done = sqlx::query("DELETE FROM users WHERE company_id = $1 AND id = $2")
        .bind(company_id)
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces the user's group memberships. Callers check the groups' company first.
pub async fn set_groups(c: &mut Conn, user_id: Id, group_ids: &[Id]) -> StoreResult<()> {
    sqlx::query("DELETE FROM group_members WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *c)
        .await?;
    for g in group_ids {
        sqlx::query("INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)")
            .bind(*g)
            .bind(user_id)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

/// Group ids per user, for the given company's users.
pub async fn group_ids(c: &mut Conn, company_id: Id) -> StoreResult<HashMap<Id, Vec<Id>>> {
    let rows = sqlx::query(
        "SELECT m.user_id, m.group_id FROM group_members m JOIN user_groups g ON g.id = m.group_id \
         WHERE g.company_id = $1 ORDER BY m.group_id",
    )
    .bind(company_id)
    .fetch_all(&mut *c)
    .await?;
    let mut out: HashMap<Id, Vec<Id>> = HashMap::new();
    for r in rows {
        out.entry(r.try_get("user_id")?)
            .or_default()
            .push(r.try_get("group_id")?);
    }
    Ok(out)
}

/// Enabled users who hold `manage` on user administration.
pub async fn count_user_admins(c: &mut Conn, company_id: Id) -> StoreResult<i64> {
    let n: i64 = sqlx::query(
        "SELECT COUNT(DISTINCT u.id) AS n FROM users u \
         JOIN group_members m ON m.user_id = u.id \
         JOIN group_permissions p ON p.group_id = m.group_id \
         WHERE u.company_id = $1 AND u.enabled = $2 AND p.function = $3 AND p.level = $4",
    )
    .bind(company_id)
    .bind(1_i64)
    .bind(shared::Function::SystemUsers.key())
    .bind(shared::Level::Manage.as_str())
    .fetch_one(&mut *c)
    .await?
    .try_get("n")?;
    Ok(n)
}
