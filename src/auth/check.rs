//! The session check every authenticated request makes (the PBX's hot path): from a bearer
//! token or session cookie to a `Caller`, from memory when nothing changed since it was read.

use std::collections::BTreeSet;

use crate::access::principal::Grants;
use crate::access::{Permission, Scope};
use crate::auth::Caller;
use crate::clock::Timestamp;
use crate::error::Result;
use crate::ids::SessionId;
use crate::model::CallerKind;
use crate::model::user::{UserRecord, UserStatus};
use crate::secrets::token;
use crate::state::AppState;
use crate::store::session_cache::{Entry, Lookup};
use crate::store::{Affects, Conn, accounts, api_tokens, named, sessions, users};

/// Who a token belongs to, or `None` when it is unknown, expired, timed out, revoked, or its
/// user or account can no longer sign in.
pub async fn resolve(state: &AppState, bearer: &str) -> Result<Option<Caller>> {
    let now = Timestamp::now();
    let token_hash = token::hash(bearer);
    let invalidations = state.store.invalidations();
    let seen_here = match state.sessions.hit(&token_hash, now, |e| invalidations.is_current(e.stamp, e.user())) {
        Lookup::Hit(caller) => return Ok(Some(caller)),
        Lookup::Miss { last_seen_at } => last_seen_at,
    };
    let stamp = invalidations.stamp();
    let mut conn = state.store.read().await?;
    // A session token can start with the API tokens' prefix too (once in 16 million).
    let loaded = match token::is_api_token(bearer) {
        true => match load_api_token(&mut conn, &token_hash, now).await? {
            Some(entry) => Some(entry),
            None => load_session(&mut conn, &token_hash, now, seen_here).await?,
        },
        false => load_session(&mut conn, &token_hash, now, seen_here).await?,
    };
    drop(conn);
    let Some(mut entry) = loaded else { return Ok(None) };
    entry.stamp = stamp;
    if entry.due_for_touch(now) {
        let mut tx = state.store.begin().await?;
        tx.affects(Affects::Nothing);
        match entry.caller.api_token {
            Some(id) => api_tokens::mark_used(tx.conn(), &[id], now.as_ms()).await?,
            None => sessions::touch_many(tx.conn(), &[entry.caller.session], now.as_ms()).await?,
        }
        tx.commit().await?;
        entry.persisted_at = Some(now);
    }
    entry.last_seen_at = now;
    let mut caller = entry.caller.clone();
    caller.session_expires_at = entry.expires_at();
    state.sessions.insert(token_hash, entry);
    Ok(Some(caller))
}

/// `seen_here`: when this instance last saw the session used, if it had it cached.
async fn load_session(
    conn: &mut Conn,
    token_hash: &str,
    now: Timestamp,
    seen_here: Option<Timestamp>,
) -> Result<Option<Entry>> {
    let Some(mut session) = sessions::find(conn, token_hash, now.as_ms()).await? else { return Ok(None) };
    let Some((account, user)) = signed_in_user(conn, session.account_id, session.user_id).await? else {
        return Ok(None);
    };
    // The account's lifetime as it is now: lowering it reaches sessions already open.
    let lifetime_ms = i64::from(account.security.sessions.absolute_hours) * 3_600_000;
    session.expires_at = session.expires_at.min(session.created_at.plus_ms(lifetime_ms));
    if now >= session.expires_at {
        return Ok(None);
    }
    let kind = session.kind;
    let idle_ms = kind.idle_limit_ms(&account.security, &user);
    let persisted = session.last_seen_at;
    if let Some(seen) = seen_here {
        session.last_seen_at = session.last_seen_at.max(seen);
    }
    if idle_ms.is_some_and(|idle| now.ms_since(session.last_seen_at) >= idle) {
        return Ok(None);
    }
    let (roles, grants) = grants(conn, &user).await?;
    let access_policy = crate::access::gate::load_policy(conn, account.id, user.id).await?;
    Ok(Some(Entry {
        caller: Caller {
            session: session.id,
            session_kind: CallerKind::Session(kind),
            api_token: None,
            session_expires_at: Some(session.expires_at),
            user: user.id,
            login: user.login.clone(),
            display_name: user.display_name(),
            account: account.id,
            account_slug: account.slug.clone(),
            time_display: user_time_display(&user).or(account.time_display()),
            home_account: std::sync::Arc::new(account),
            platform_operator: user.is_superuser,
            operator_token: false,
            roles: roles.into(),
            permissions: std::sync::Arc::new(grants.permissions),
            scopes: std::sync::Arc::new(grants.scopes),
            admin: grants.admin || user.is_superuser,
            company: user.company.as_deref().map(std::sync::Arc::from),
            csrf: None,
            access_policy,
        },
        stamp: 0,
        absolute_expiry: Some(session.expires_at),
        idle_ms,
        last_seen_at: session.last_seen_at,
        persisted_at: Some(persisted),
    }))
}

/// An API token acts for the admin who made it, with only the permissions it was given and
/// never more than that admin still holds.
async fn load_api_token(conn: &mut Conn, token_hash: &str, now: Timestamp) -> Result<Option<Entry>> {
    let Some(record) = api_tokens::find_usable(conn, token_hash, now.as_ms()).await? else { return Ok(None) };
    let Some((account, user)) = signed_in_user(conn, record.account_id, record.user_id).await? else {
        return Ok(None);
    };
    let (roles, held) = grants(conn, &user).await?;
    let admin = (held.admin || user.is_superuser)
        && Permission::people_permissions().all(|p| record.permissions.split(',').any(|t| t == p.as_str()));
    let access_policy = crate::access::gate::load_policy(conn, account.id, user.id).await?;
    // A tokens-only permission lasts while its maker is an admin (`Permission::tokens_only`).
    let holds = |p: Permission| if p.tokens_only() { held.admin } else { held.permissions.contains(&p) };
    let permissions: BTreeSet<Permission> = record
        .permissions
        .split(',')
        .filter_map(Permission::parse)
        .filter(|p| user.is_superuser && !p.is_platform() || holds(*p))
        .collect();
    // `None`: a token without an expiry never ends.
    let absolute_expiry = record.expires_at;
    Ok(Some(Entry {
        caller: Caller {
            session: SessionId(0),
            session_kind: CallerKind::ApiToken,
            api_token: Some(record.id),
            session_expires_at: absolute_expiry,
            user: user.id,
            login: user.login.clone(),
            display_name: format!("{} (token {})", user.display_name(), record.name),
            account: account.id,
            account_slug: account.slug.clone(),
            time_display: user_time_display(&user).or(account.time_display()),
            home_account: std::sync::Arc::new(account),
            platform_operator: false,
            operator_token: user.is_superuser,
            roles: roles.into(),
            permissions: std::sync::Arc::new(permissions),
            // A platform operator's token reaches the account with what it was given, roles or none.
            scopes: std::sync::Arc::new(match user.is_superuser {
                true => Permission::account_permissions().map(|p| (p, Scope::Account)).collect(),
                false => held.scopes,
            }),
            admin,
            company: user.company.as_deref().map(std::sync::Arc::from),
            csrf: None,
            access_policy,
        },
        stamp: 0,
        absolute_expiry,
        idle_ms: None,
        // Set to now once resolved; until then, the last use on record.
        last_seen_at: record.last_used_at.unwrap_or(now),
        persisted_at: record.last_used_at,
    }))
}

async fn signed_in_user(
    conn: &mut Conn,
    account: crate::ids::AccountId,
    user: crate::ids::UserId,
) -> Result<Option<(crate::model::AccountRecord, UserRecord)>> {
    let Some(account) = accounts::by_id(conn, account).await? else { return Ok(None) };
    let Some(user) = users::get(conn, account.id, user).await? else { return Ok(None) };
    if user.status != UserStatus::Active || !account.enabled {
        return Ok(None);
    }
    Ok(Some((account, user)))
}

async fn grants(conn: &mut Conn, user: &UserRecord) -> Result<(Vec<String>, Grants)> {
    let rows = crate::store::grants::effective_grants(conn, user.id).await?;
    let mut grants = Grants::from_rows(&rows, Scope::cap_for(user.is_end_user, user.is_company_supervisor));
    grants.admin = crate::store::grants::holds_admin_role(conn, user.id).await?;
    let roles = named::effective_roles(conn, user.id).await?;
    Ok((roles, grants))
}

/// A user's own choice of how times are shown (R7).
fn user_time_display(user: &crate::model::user::UserRecord) -> crate::model::settings::TimeDisplay {
    crate::model::settings::TimeDisplay::from_stored(
        user.time_zone.as_deref(),
        user.date_format.as_deref(),
        user.time_format.as_deref(),
    )
}
