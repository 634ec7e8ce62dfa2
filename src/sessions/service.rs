//! Listing and ending sessions (R25, R33, R34) within reach, and how long one lives.

use serde::Serialize;
use utoipa::ToSchema;

use crate::access::Principal;
use crate::activity::{self, Actor, Changes, Target};
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::ids::{SessionId, UserId};
use crate::model::SessionKind;
use crate::model::settings::SecuritySettings;
use crate::state::AppState;
use crate::store::sessions::{Liveness, SessionFilter, SessionRow};
use crate::store::{Affects, Conn, sessions};

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: i64,
    pub user: SessionUserRef,
    /// `console`, `api` or `phone`.
    pub kind: String,
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
    pub address: Option<String>,
    pub user_agent: Option<String>,
    /// The session this request was made with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionUserRef {
    pub id: i64,
    pub login: String,
    pub display_name: String,
}

pub fn liveness(settings: &SecuritySettings, now: i64) -> Liveness {
    Liveness {
        now,
        console_idle_ms: i64::from(settings.sessions.console_idle_minutes) * 60_000,
        phone_idle_ms: i64::from(settings.sessions.phone_idle_minutes) * 60_000,
        lifetime_ms: i64::from(settings.sessions.absolute_hours) * 3_600_000,
    }
}

fn view(row: SessionRow, live: &Liveness, current: Option<SessionId>) -> SessionView {
    let s = &row.session;
    let idle_ms = match s.kind {
        SessionKind::Console => Some(row.console_idle_minutes.map_or(live.console_idle_ms, |m| m * 60_000)),
        SessionKind::Phone => Some(row.phone_idle_minutes.map_or(live.phone_idle_ms, |m| m * 60_000)),
        SessionKind::Api => None,
    };
    let absolute = s.expires_at.min(s.created_at.plus_ms(live.lifetime_ms));
    let expires_at = idle_ms.map_or(absolute, |idle| absolute.min(s.last_seen_at.plus_ms(idle)));
    let display_name = match (&row.first_name, &row.last_name) {
        (None, None) => row.login.clone(),
        (first, last) => [first.as_deref(), last.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" "),
    };
    SessionView {
        id: s.id.0,
        user: SessionUserRef { id: s.user_id.0, login: row.login.clone(), display_name },
        kind: s.kind.as_str().to_string(),
        created_at: s.created_at.to_rfc3339(),
        last_seen_at: s.last_seen_at.to_rfc3339(),
        expires_at: expires_at.to_rfc3339(),
        address: s.address.clone(),
        user_agent: s.user_agent.clone(),
        current: current.map(|c| c == s.id),
    }
}

/// Live sessions of an account, newest first, and the cursor of the next page.
/// Only sessions of users the principal sees (D8).
pub async fn list(
    state: &AppState,
    principal: &Principal,
    settings: &SecuritySettings,
    filter: &SessionFilter,
    limit: i64,
    current: Option<SessionId>,
) -> Result<(Vec<SessionView>, Option<i64>)> {
    let live = liveness(settings, now_ms());
    let filter = SessionFilter { seen: principal.seen(), ..filter.clone() };
    let mut conn = state.store.read().await?;
    let mut rows = sessions::list(&mut conn, principal.account(), &filter, &live, limit + 1).await?;
    let next = (rows.len() as i64 > limit).then(|| {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.session.id.0)
    });
    Ok((rows.into_iter().map(|r| view(r, &live, current)).collect(), next.flatten()))
}

/// Ends one session of the account (R32), if its user is one the principal sees and may
/// change (D2, D8); others' sessions are not found.
pub async fn end(state: &AppState, principal: &Principal, id: SessionId, only_of: Option<UserId>) -> Result<()> {
    let (actor, account) = (&principal.actor, principal.account());
    let mut tx = state.store.begin().await?;
    let user = sessions::delete(tx.conn(), account, id, only_of).await?.ok_or(Error::NotFound("session"))?;
    crate::access::principal::reachable_user(tx.conn(), principal, user).await.map_err(|e| match e {
        Error::NotFound(_) => Error::NotFound("session"),
        other => other,
    })?;
    let mut changes = Changes::new();
    changes.set("session", id.0);
    activity::service::record(
        tx.conn(),
        actor,
        "session.ended",
        Target { kind: "user", id: Some(user.0), label: "" },
        &changes,
    )
    .await?;
    tx.affects(Affects::Users(vec![user]));
    tx.commit().await?;
    state.sessions.forget_user(user);
    Ok(())
}

/// Ends every session of a user, but `keep` (R25, R32); records why. Part of the caller's
/// transaction, so that a password change and the end of the sessions it implies commit together.
pub async fn end_all_of_user(
    conn: &mut Conn,
    actor: &Actor,
    user: UserId,
    login: &str,
    keep: Option<SessionId>,
    why: &str,
) -> Result<u64> {
    let ended = sessions::delete_for_user(conn, user, keep).await?;
    if ended > 0 {
        let mut changes = Changes::new();
        changes.set("ended", ended).set("reason", why);
        activity::service::record(conn, actor, "sessions.ended", Target::user(user, login), &changes).await?;
    }
    Ok(ended)
}

/// R25 after a mass deactivation: every session of the account's users who are no longer active
/// ends in the same transaction, recorded as one event (the per-user events are the mass
/// action's). The commit invalidates the whole session cache (the transaction affects everyone).
pub async fn end_all_of_inactive_users(conn: &mut Conn, actor: &Actor, why: &str) -> Result<u64> {
    let ended = sessions::delete_of_inactive_users(conn, actor.account).await?;
    if ended > 0 {
        let mut changes = Changes::new();
        changes.set("ended", ended).set("reason", why);
        let label = format!("{ended} sessions");
        activity::service::record(
            conn,
            actor,
            "sessions.ended",
            Target { kind: "users", id: None, label: &label },
            &changes,
        )
        .await?;
    }
    Ok(ended)
}

/// Ends all sessions of a user the principal sees and may change (R32, D2, D8).
pub async fn end_all_of_reachable(
    state: &crate::state::AppState,
    principal: &Principal,
    user: UserId,
    why: &str,
) -> Result<u64> {
    let mut tx = state.store.begin().await?;
    let target = crate::access::principal::reachable_user(tx.conn(), principal, user).await?;
    let ended = end_all_of_user(tx.conn(), &principal.actor, user, &target.record.login, None, why).await?;
    tx.affects(Affects::Users(vec![user]));
    tx.commit().await?;
    state.sessions.forget_user(user);
    Ok(ended)
}

/// Ends a user's sessions but `keep`, in a transaction of its own (R32).
pub async fn end_all_for(
    state: &crate::state::AppState,
    actor: &Actor,
    user: UserId,
    login: &str,
    keep: Option<SessionId>,
    why: &str,
) -> Result<u64> {
    let mut tx = state.store.begin().await?;
    let ended = end_all_of_user(tx.conn(), actor, user, login, keep, why).await?;
    tx.affects(Affects::Users(vec![user]));
    tx.commit().await?;
    state.sessions.forget_user(user);
    Ok(ended)
}

/// The live sessions of one user the principal sees (D8), newest first; another user is not found.
pub async fn list_of_user(
    state: &AppState,
    principal: &Principal,
    settings: &SecuritySettings,
    user: UserId,
    current: Option<SessionId>,
) -> Result<Vec<SessionView>> {
    let user = {
        let mut conn = state.store.read().await?;
        crate::access::principal::seen_user(&mut conn, principal, user).await?.id
    };
    let filter = SessionFilter { user: Some(user), ..Default::default() };
    Ok(list(state, principal, settings, &filter, 500, current).await?.0)
}

/// The user with `login` in the principal's account, if the principal sees them (D8): a login out
/// of their scope is as unknown as one that does not exist (the sessions page's filter).
pub async fn seen_user_by_login(state: &AppState, principal: &Principal, login: &str) -> Result<Option<UserId>> {
    let mut conn = state.store.read().await?;
    let found = crate::store::users::find_id_by_login(&mut conn, principal.account(), &login.to_lowercase()).await?;
    Ok(match found {
        Some(id) => crate::access::principal::seen_user(&mut conn, principal, id).await.ok().map(|u| u.id),
        None => None,
    })
}
