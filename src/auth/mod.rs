//! Sign-in, sessions and the one permission check every route goes through (R14, R17).

pub mod api;
pub mod extract;
pub mod password;
pub mod token;

use std::collections::BTreeSet;

use secrecy::SecretString;

pub use extract::{Authorized, Caller, ClientInfo};

use crate::access::Permission;
use crate::activity::{self, Actor, Changes, Target};
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::ids::{AccountId, UserId};
use crate::state::AppState;
use crate::store::{accounts, named, sessions, users};
use crate::users::model::UserStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    Console,
    Api,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Console => "console",
            SessionKind::Api => "api",
        }
    }
}

pub struct SignedIn {
    pub token: String,
    pub expires_at: i64,
    pub user: UserId,
    pub account_slug: String,
}

/// The one answer a failed sign-in gets, whatever the reason (unknown account or login,
/// wrong password, disabled user or account): the reason goes to the activity log only.
fn refused() -> Error {
    Error::Unauthenticated
}

pub async fn sign_in(
    state: &AppState,
    account_slug: &str,
    login: &str,
    password: SecretString,
    kind: SessionKind,
    client: &ClientInfo,
) -> Result<SignedIn> {
    let mut conn = state.store.read().await?;
    let account = accounts::by_slug(&mut conn, account_slug).await?;
    let found = match &account {
        Some(a) => users::get_for_sign_in(&mut conn, a.id, &login.to_ascii_lowercase()).await?,
        None => None,
    };
    drop(conn);
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), hash),
        None => (None, None),
    };
    // Always verify, against a dummy hash when there is no user, so timing reveals nothing.
    let password_ok = password::verify(password, hash).await?;

    let Some(account) = account else {
        tracing::info!(account = account_slug, "sign-in refused: unknown account");
        return Err(refused());
    };
    let reason = match &user {
        None => Some("unknown_login"),
        Some(_) if !password_ok => Some("wrong_password"),
        Some(u) if u.status() != UserStatus::Active => Some("user_disabled"),
        Some(_) if !account.enabled => Some("account_disabled"),
        Some(_) => None,
    };
    let actor = Actor {
        account: account.id,
        user: user.as_ref().map(|u| u.id),
        label: user.as_ref().map(|u| u.login.clone()).unwrap_or_else(|| login.chars().take(64).collect()),
        address: client.address.clone(),
    };
    let mut tx = state.store.begin().await?;
    if let Some(reason) = reason {
        let mut changes = Changes::new();
        changes.set("reason", reason).set("kind", kind.as_str());
        let target = match &user {
            Some(u) => Target::user(u.id, &u.login),
            None => Target { kind: "user", id: None, label: &actor.label },
        };
        activity::record(tx.conn(), &actor, "auth.sign_in_failed", target, &changes).await?;
        tx.commit().await?;
        return Err(refused());
    }
    let user = user.expect("checked above");
    let token = token::new_token();
    let now = now_ms();
    let expires_at = now + i64::from(state.config.session_hours) * 3_600_000;
    sessions::insert(
        tx.conn(),
        &sessions::NewSession {
            account: account.id,
            user: user.id,
            token_hash: &token::hash(&token),
            kind: kind.as_str(),
            now,
            expires_at,
            address: client.address.as_deref(),
            user_agent: client.user_agent.as_deref(),
        },
    )
    .await?;
    let mut changes = Changes::new();
    changes.set("kind", kind.as_str());
    activity::record(tx.conn(), &actor, "auth.sign_in", Target::user(user.id, &user.login), &changes).await?;
    tx.commit().await?;
    Ok(SignedIn { token, expires_at, user: user.id, account_slug: account.slug })
}

/// Who a session token belongs to, or `None` when it is unknown, expired, or its user or
/// account can no longer sign in.
pub async fn resolve(state: &AppState, token: &str) -> Result<Option<Caller>> {
    let now = now_ms();
    let mut conn = state.store.read().await?;
    let Some(session) = sessions::find_live(&mut conn, &token::hash(token), now).await? else {
        return Ok(None);
    };
    let Some(account) = accounts::by_id(&mut conn, session.account_id).await? else {
        return Ok(None);
    };
    let Some(user) = users::get(&mut conn, account.id, session.user_id).await? else {
        return Ok(None);
    };
    if user.status() != UserStatus::Active || !account.enabled {
        return Ok(None);
    }
    let permissions: BTreeSet<Permission> = named::effective_permissions(&mut conn, user.id)
        .await?
        .iter()
        .filter_map(|p| Permission::parse(p))
        .collect();
    let roles = named::effective_roles(&mut conn, user.id).await?;
    drop(conn);
    // Last-seen is kept to the minute: writing it on every request would make reads into writes.
    if now - session.last_seen_at > 60_000 {
        let mut tx = state.store.begin().await?;
        sessions::touch(tx.conn(), session.id, now).await?;
        tx.commit().await?;
    }
    Ok(Some(Caller {
        session: session.id,
        session_expires_at: session.expires_at,
        user: user.id,
        login: user.login.clone(),
        display_name: user.display_name(),
        account: account.id,
        account_slug: account.slug.clone(),
        home_account: account,
        platform_operator: user.is_superuser,
        roles,
        permissions,
        csrf: None,
    }))
}

pub async fn sign_out(state: &AppState, caller: &Caller, client: &ClientInfo) -> Result<()> {
    let mut tx = state.store.begin().await?;
    sessions::delete(tx.conn(), caller.session).await?;
    let actor = caller.actor(client);
    activity::record(tx.conn(), &actor, "auth.sign_out", Target::user(caller.user, &caller.login), &Changes::new())
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Ends every session of a user (deactivation, deletion, password reset: R25).
pub(crate) async fn end_sessions_of(conn: &mut crate::store::Conn, user: UserId) -> Result<u64> {
    Ok(sessions::delete_for_user(conn, user).await?)
}

impl Caller {
    pub fn actor(&self, client: &ClientInfo) -> Actor {
        Actor {
            account: self.account,
            user: Some(self.user),
            label: self.login.clone(),
            address: client.address.clone(),
        }
    }

    pub fn has(&self, permission: Permission) -> bool {
        self.platform_operator || (!permission.is_platform() && self.permissions.contains(&permission))
    }

    /// Whether the caller may act in `account` at all.
    pub fn may_enter(&self, account: AccountId) -> bool {
        self.platform_operator || self.account == account
    }
}

