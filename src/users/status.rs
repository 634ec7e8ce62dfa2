//! What follows a user's deactivation or reactivation (R17, R18, R25), whatever made it happen —
//! an edit, a mass action, an import, a schedule — in the transaction of the change: sessions
//! end on deactivation; on reactivation a period in effect ends (reactivated by hand before its
//! end); the period the user shows is brought up to date; the activation log records it.

use crate::activity::Actor;
use crate::activity::activation::{self, Activation};
use crate::error::Result;
use crate::ids::UserId;
use crate::model::lifecycle::ActivationChange;
use crate::store::Conn;
use crate::store::lifecycle as periods;
use crate::store::sql::Sql;

/// One user went from active to disabled (`how.change` is `Deactivated`) or back.
pub async fn changed(conn: &mut Conn, actor: &Actor, user: UserId, login: &str, how: Activation<'_>) -> Result<()> {
    match how.change {
        ActivationChange::Deactivated => {
            crate::sessions::service::end_all_of_user(conn, actor, user, login, None, "deactivated").await?;
        }
        ActivationChange::Reactivated => {
            let one = periods::one_user(user);
            periods::end_in_effect(conn, &one, how.at.as_ms()).await?;
            periods::show_on_users(conn, &one).await?;
        }
    }
    activation::record(conn, actor, user, login, how).await
}

/// Before a statement changes the status of the users matched by `changing` (a condition on
/// `users u` that it no longer matches afterwards): their lines in the activation log.
pub async fn changing_many(conn: &mut Conn, actor: &Actor, how: Activation<'_>, changing: &Sql) -> Result<u64> {
    activation::record_per_user(conn, actor, how, changing).await
}

/// After such a statement, for the users it may have changed (`selected`, a condition on
/// `users u`): deactivated users' sessions end; reactivated users' periods in effect end.
pub async fn changed_many(conn: &mut Conn, actor: &Actor, how: Activation<'_>, selected: &Sql) -> Result<()> {
    match how.change {
        ActivationChange::Deactivated => {
            crate::sessions::service::end_all_of_inactive_users(conn, actor, "deactivated").await?;
        }
        ActivationChange::Reactivated => {
            let mut back = selected.clone();
            back.push(" AND u.status = 'active' AND u.deactivation_from IS NOT NULL");
            periods::end_in_effect(conn, &back, how.at.as_ms()).await?;
            periods::show_on_users(conn, &back).await?;
        }
    }
    Ok(())
}
