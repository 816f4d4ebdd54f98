//! The rule that keeps a company administrable: after any change to users, groups or
//! memberships, the acting user still manages users and at least one enabled user
//! does. Checked inside the change's transaction, so a refused change changes nothing.

use crate::error::{AppError, AppResult};
use crate::store::{groups, users, Conn};
use shared::dto::Id;
use shared::{Function, Level};

pub async fn ensure_admins_remain(c: &mut Conn, company_id: Id, actor: Id) -> AppResult<()> {
    let mine = groups::user_permissions(c, actor).await?;
    let actor_enabled = users::get(c, company_id, actor)
        .await?
        .map(|u| u.enabled)
        .unwrap_or(false);
    if !actor_enabled || !mine.allows(Function::SystemUsers, Level::Manage) {
        return Err(AppError::NotAllowed(
            "this change would remove your own manage right on users".into(),
        ));
    }
    if users::count_user_admins(c, company_id).await? == 0 {
        return Err(AppError::NotAllowed(
            "the company must keep at least one enabled user who manages users".into(),
        ));
    }
    Ok(())
}
