//! Recording an event, in the same transaction as the change it describes.

use crate::access::Principal;
use crate::error::Result;
use crate::model::activity::{Actor, Changes, Target};
use crate::state::AppState;
use crate::store::activity::{self as events, EventFilter, EventRecord, NewEvent};
use crate::store::{Conn, sql::Sql};

pub async fn record(conn: &mut Conn, actor: &Actor, action: &str, target: Target<'_>, changes: &Changes) -> Result<()> {
    events::insert(
        conn,
        &NewEvent {
            account: actor.account,
            at: crate::clock::now_ms(),
            actor: actor.user,
            actor_label: &actor.label,
            action,
            target_type: target.kind,
            target_id: target.id,
            target_label: target.label,
            changes: changes.to_json(),
            address: actor.address.as_deref(),
        },
    )
    .await?;
    Ok(())
}

/// One event per user matched by `users_where`, in one statement (mass actions).
pub(crate) async fn record_per_user(
    conn: &mut Conn,
    actor: &Actor,
    action: &str,
    changes: &Changes,
    users_where: &Sql,
) -> Result<u64> {
    Ok(events::insert_per_user(
        conn,
        &NewEvent {
            account: actor.account,
            at: crate::clock::now_ms(),
            actor: actor.user,
            actor_label: &actor.label,
            action,
            target_type: "user",
            target_id: None,
            target_label: "",
            changes: changes.to_json(),
            address: actor.address.as_deref(),
        },
        users_where,
    )
    .await?)
}

/// The events the principal may read, newest first, before the event id `before`: those of the
/// principal's account that match `filter` and, for a scoped reader, are about a user they see (D8).
pub async fn list(
    state: &AppState,
    principal: &Principal,
    mut filter: EventFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<EventRecord>> {
    filter.seen = principal.seen();
    let mut conn = state.store.read().await?;
    Ok(events::list(&mut conn, principal.account(), &filter, before, limit).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_real_differences_are_recorded() {
        let mut c = Changes::new();
        c.diff("email", Some("a@x.io"), Some("a@x.io")).diff("status", "active", "disabled");
        assert_eq!(c.to_json().unwrap(), r#"{"status":{"from":"active","to":"disabled"}}"#);
        assert_eq!(Changes::new().to_json(), None);
    }
}
