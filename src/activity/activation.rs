//! The activation log (R18): every deactivation and reactivation of a user — by hand, by a
//! schedule, by a mass action or an import — and every disabling or enabling of the whole
//! account, with who, when, why and what triggered it. Written in the transaction of the change.

use crate::access::{Permission, Principal};
use crate::clock::Timestamp;
use crate::error::Result;
use crate::ids::{PeriodId, UserId};
use crate::model::activity::Actor;
use crate::model::lifecycle::{ActivationCause, ActivationChange, ActivationRecord};
use crate::state::AppState;
use crate::store::Conn;
use crate::store::lifecycle::{self as store, ActivationFilter, NewActivation};
use crate::store::sql::Sql;

/// What happened, apart from to whom.
#[derive(Debug, Clone, Copy)]
pub struct Activation<'a> {
    pub change: ActivationChange,
    pub cause: ActivationCause,
    pub at: Timestamp,
    pub reason: Option<&'a str>,
    pub period: Option<PeriodId>,
}

impl<'a> Activation<'a> {
    pub fn new(change: ActivationChange, cause: ActivationCause, at: Timestamp, reason: Option<&'a str>) -> Self {
        Activation { change, cause, at, reason, period: None }
    }

    fn entry(&self, actor: &'a Actor) -> NewActivation<'a> {
        NewActivation {
            account: actor.account,
            at: self.at,
            change: self.change,
            cause: self.cause,
            actor: actor.user,
            actor_label: &actor.label,
            reason: self.reason.map(str::trim).filter(|r| !r.is_empty()),
            period: self.period,
        }
    }
}

pub async fn record(conn: &mut Conn, actor: &Actor, user: UserId, login: &str, what: Activation<'_>) -> Result<()> {
    store::insert_activation(conn, &what.entry(actor), Some((user, login))).await?;
    Ok(())
}

/// One line per user matched by `users_where` (a condition on `users u`).
pub async fn record_per_user(conn: &mut Conn, actor: &Actor, what: Activation<'_>, users_where: &Sql) -> Result<u64> {
    Ok(store::insert_activation_per_user(conn, &what.entry(actor), users_where).await?)
}

/// The whole account was disabled or enabled.
pub async fn record_account(conn: &mut Conn, actor: &Actor, what: Activation<'_>) -> Result<()> {
    store::insert_activation(conn, &what.entry(actor), None).await?;
    Ok(())
}

/// The lines the principal may read, newest first: about the users they see (D8), and the
/// account's own.
pub async fn list(
    state: &AppState,
    principal: &Principal,
    mut filter: ActivationFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<ActivationRecord>> {
    filter.seen = principal.seen_for(Permission::UsersView);
    let mut conn = state.store.read().await?;
    Ok(store::activation_page(&mut conn, principal.account(), &filter, before, limit).await?)
}
