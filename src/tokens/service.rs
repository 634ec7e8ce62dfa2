//! API tokens (R32): created for oneself, listed and revoked within reach (D2).

use serde::Serialize;
use utoipa::ToSchema;

use crate::access::Permission;
use crate::activity::{self, Actor, Changes, Target};
use crate::auth::Caller;
use crate::clock::{Timestamp, now_ms, to_rfc3339};
use crate::error::{Error, Issues, Result};
use crate::http::{CursorOf, Page, decode_id_cursor, encode_id_cursor};
use crate::ids::AccountId;
use crate::secrets::token;
use crate::state::AppState;
use crate::store::api_tokens::{self as store, ApiTokenRecord, NewApiToken};

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    pub permissions: Vec<String>,
    pub created_at: String,
    /// `null`: does not expire.
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    pub created_by: Creator,
    /// What the token asked of the PBX directory, from every instance (counted in memory and
    /// added up every few seconds): for tokens holding `directory.read`, else `null`.
    pub directory: Option<DirectoryUse>,
    /// The token itself: in the answer to its creation only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DirectoryUse {
    /// Lookups answered, all told.
    pub lookups: i64,
    /// Of those, users who may not register (disabled, deleted, …).
    pub not_allowed: i64,
    /// Of those, names or realms nobody answers to.
    pub unknown: i64,
    pub last_lookup_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Creator {
    pub id: i64,
    pub login: String,
}

impl From<ApiTokenRecord> for TokenView {
    fn from(t: ApiTokenRecord) -> Self {
        TokenView {
            id: t.id,
            name: t.name,
            permissions: t.permissions.split(',').filter(|p| !p.is_empty()).map(str::to_string).collect(),
            created_at: to_rfc3339(t.created_at),
            expires_at: t.expires_at.map(Timestamp::to_rfc3339),
            last_used_at: t.last_used_at.map(Timestamp::to_rfc3339),
            revoked_at: t.revoked_at.map(to_rfc3339),
            created_by: Creator { id: t.user_id.0, login: t.creator_login },
            directory: (t.permissions.split(',').any(|p| p == Permission::DirectoryRead.as_str())
                || t.directory_lookups > 0)
                .then(|| DirectoryUse {
                    lookups: t.directory_lookups,
                    not_allowed: t.directory_not_allowed,
                    unknown: t.directory_unknown,
                    last_lookup_at: t.directory_last_at.map(Timestamp::to_rfc3339),
                }),
            token: None,
        }
    }
}

pub struct NewToken {
    pub name: String,
    pub permissions: Vec<String>,
    pub expires_at: Option<String>,
}

/// Makes a token. Its permissions must be ones the creator holds in this account: a token
/// never reaches further than the admin who made it.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    actor: &Actor,
    account: AccountId,
    new: NewToken,
) -> Result<TokenView> {
    if caller.api_token.is_some() {
        return Err(Error::Forbidden("an API token cannot make other tokens".into()));
    }
    if caller.account != account {
        // A token acts for its creator, who must be a user of the account it works in.
        return Err(Error::Forbidden("API tokens are made by a user of the account they serve".into()));
    }
    let now = now_ms();
    let mut issues = Issues::new();
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        issues.add("name", "length", "must be 1 to 100 characters");
    }
    let mut permissions = Vec::new();
    if new.permissions.is_empty() {
        issues.add("permissions", "required", "give the token at least one permission");
    }
    for p in &new.permissions {
        match Permission::parse(p) {
            None => issues.add("permissions", "unknown", format!("{p:?} is not a permission")),
            Some(perm) if !caller.may_give_token(perm) => match perm.tokens_only() {
                true => issues.add("permissions", "not_held", format!("{p} is given by the account's admins only")),
                false => {
                    issues.add("permissions", "not_held", format!("you do not hold {p}, so a token of yours cannot"))
                }
            },
            Some(perm) => permissions.push(perm.as_str()),
        }
    }
    permissions.sort_unstable();
    permissions.dedup();
    let expires_at = match new.expires_at.as_deref() {
        None => None,
        Some(text) => match crate::clock::parse_rfc3339(text) {
            Some(at) if at > now => Some(at),
            Some(_) => {
                issues.add("expires_at", "in_the_past", "must be in the future");
                None
            }
            None => {
                issues.add("expires_at", "invalid", "must be an RFC 3339 time such as 2027-01-31T00:00:00Z");
                None
            }
        },
    };
    issues.into_result()?;
    let secret = token::new_api_token();
    let joined = permissions.join(",");
    let mut tx = state.store.begin().await?;
    tx.affects(crate::store::Affects::Nothing);
    let id = store::insert(
        tx.conn(),
        &NewApiToken {
            account,
            user: caller.user,
            name,
            token_hash: &token::hash(&secret),
            permissions: &joined,
            now,
            expires_at,
        },
    )
    .await?;
    let mut changes = Changes::new();
    changes.set("permissions", &permissions).set("expires_at", expires_at.map(to_rfc3339));
    activity::service::record(
        tx.conn(),
        actor,
        "token.created",
        Target { kind: "api_token", id: Some(id), label: name },
        &changes,
    )
    .await?;
    let record = store::get(tx.conn(), account, id).await?.ok_or(Error::NotFound("token"))?;
    tx.commit().await?;
    let mut view = TokenView::from(record);
    view.token = Some(secret);
    Ok(view)
}

/// The tokens of the users the principal sees (D8), newest first: the first thousand (the console).
pub async fn list(
    state: &AppState,
    principal: &crate::access::Principal,
    include_revoked: bool,
) -> Result<Vec<TokenView>> {
    crate::store::directory::write_usage(&state.store).await?;
    let mut conn = state.store.read().await?;
    let records = store::list(&mut conn, principal.account(), &principal.seen(), include_revoked, None, 1000).await?;
    Ok(records.into_iter().map(Into::into).collect())
}

/// One page of the tokens of the users the principal sees (D8), newest first (the API's list).
pub async fn page(
    state: &AppState,
    principal: &crate::access::Principal,
    include_revoked: bool,
    cursor: Option<&str>,
    limit: i64,
) -> Result<Page<TokenView>> {
    let before = cursor.filter(|c| !c.is_empty()).map(|c| decode_id_cursor(CursorOf::Tokens, c)).transpose()?;
    crate::store::directory::write_usage(&state.store).await?;
    let mut conn = state.store.read().await?;
    let records =
        store::list(&mut conn, principal.account(), &principal.seen(), include_revoked, before, limit + 1).await?;
    Ok(Page::of(records, limit, |r| encode_id_cursor(CursorOf::Tokens, r.id)).map(Into::into))
}

/// One token (never the token itself), if its maker is one the principal sees (D8).
pub async fn get(state: &AppState, principal: &crate::access::Principal, id: i64) -> Result<TokenView> {
    crate::store::directory::write_usage(&state.store).await?;
    let mut conn = state.store.read().await?;
    let record = store::get(&mut conn, principal.account(), id).await?.ok_or(Error::NotFound("token"))?;
    crate::access::principal::seen_user(&mut conn, principal, record.user_id).await.map_err(|e| match e {
        Error::NotFound(_) => Error::NotFound("token"),
        other => other,
    })?;
    Ok(record.into())
}

/// Revokes a token: it stops working at once, on every instance. Someone else's token only if
/// its maker is one the principal may change (D2); a maker out of scope's is not found (D8).
pub async fn revoke(state: &AppState, principal: &crate::access::Principal, id: i64) -> Result<()> {
    let (actor, account) = (&principal.actor, principal.account());
    let mut tx = state.store.begin().await?;
    let record = store::get(tx.conn(), account, id).await?.ok_or(Error::NotFound("token"))?;
    crate::access::principal::reachable_user(tx.conn(), principal, record.user_id).await.map_err(|e| match e {
        Error::NotFound(_) => Error::NotFound("token"),
        other => other,
    })?;
    if !store::revoke(tx.conn(), account, id, now_ms()).await? {
        return Err(Error::NotFound("token"));
    }
    activity::service::record(
        tx.conn(),
        actor,
        "token.revoked",
        Target { kind: "api_token", id: Some(id), label: &record.name },
        &Changes::new(),
    )
    .await?;
    tx.affects(crate::store::Affects::Users(vec![record.user_id]));
    tx.commit().await?;
    state.sessions.forget_user(record.user_id);
    Ok(())
}
