//! Authentication as extractors. A handler names what it needs in its signature:
//! `Authorized<perm::UsersEdit>` resolves the caller, the account in the path, and refuses
//! unless the caller holds that permission there. This is the one central check.

use std::marker::PhantomData;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum_extra::extract::CookieJar;

use crate::access::{Permission, RequiredPermission};
use crate::error::{Error, Result};
use crate::ids::AccountId;
use crate::model::{AccountRecord, Caller, ClientInfo};
use crate::state::AppState;
use crate::store::accounts;

pub const SESSION_COOKIE: &str = "roster_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = std::convert::Infallible;

    /// The address is the TCP peer's, or behind trusted proxies the one they forwarded.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let address = crate::access::gate::client_ip(parts, state).map(|ip| ip.to_string());
        let user_agent =
            parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|s| s.chars().take(300).collect());
        Ok(ClientInfo { address, user_agent })
    }
}

/// How the request presented its session.
pub(crate) enum Credential {
    Bearer(String),
    Cookie(String),
}

pub(crate) fn credential(parts: &Parts) -> Option<Credential> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, token) = value.split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then(|| Credential::Bearer(token.trim().to_string()));
    }
    let jar = CookieJar::from_headers(&parts.headers);
    jar.get(SESSION_COOKIE).map(|c| Credential::Cookie(c.value().to_string()))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let credential = credential(parts).ok_or(Error::Unauthenticated)?;
        let (token, via_cookie) = match &credential {
            Credential::Bearer(t) => (t.as_str(), false),
            Credential::Cookie(t) => (t.as_str(), true),
        };
        let mut caller = crate::auth::resolve(state, token).await?.ok_or(Error::Unauthenticated)?;
        // The request's log span (`startup`) names who is calling.
        tracing::Span::current().record("account", caller.account_slug.as_str()).record("user_id", caller.user.0);
        if via_cookie {
            let csrf = crate::secrets::token::csrf_for(token);
            // A browser sends the cookie on any site's request; only our own pages know this token.
            if !is_safe(&parts.method) {
                let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
                if !constant_time_eq(sent, &csrf) {
                    return Err(Error::Forbidden("missing or wrong CSRF token (X-CSRF-Token header)".into()));
                }
            }
            caller.csrf = Some(csrf);
        }
        crate::access::gate::check_request(state, parts, &caller)?;
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

pub(crate) fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A caller allowed to do `P` in the account named by the path's `{account}`.
pub struct Authorized<P: RequiredPermission> {
    pub caller: Caller,
    pub account: AccountRecord,
    _permission: PhantomData<P>,
}

impl<P: RequiredPermission> Authorized<P> {
    pub fn account_id(&self) -> AccountId {
        self.account.id
    }

    /// Who acts, with the scope of this route's permission: what every service decides from.
    pub fn principal(&self, client: &ClientInfo) -> crate::access::Principal {
        self.caller.principal(self.account.id, P::PERMISSION, client)
    }
}

impl<P: RequiredPermission> FromRequestParts<AppState> for Authorized<P> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| Error::Internal(anyhow::anyhow!("route without path parameters uses Authorized")))?;
        let slug = params
            .iter()
            .find(|(k, _)| *k == "account")
            .map(|(_, v)| v.to_string())
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("route without {{account}} uses Authorized")))?;
        let account = authorize(state, &caller, &slug, P::PERMISSION).await?;
        Ok(Authorized { caller, account, _permission: PhantomData })
    }
}

/// The central check: the account exists and the caller may enter it (else 404, so other
/// tenants' names do not leak), and the caller holds `permission` (else 403).
pub async fn authorize(state: &AppState, caller: &Caller, slug: &str, permission: Permission) -> Result<AccountRecord> {
    let account = if slug == caller.account_slug {
        Some((*caller.home_account).clone())
    } else {
        let mut conn = state.store.read().await?;
        accounts::by_slug(&mut conn, slug).await?
    };
    let account = account.filter(|a| caller.may_enter(a.id)).ok_or(Error::NotFound("account"))?;
    if !caller.has(permission) {
        return Err(Error::Forbidden(format!("this needs the permission {}", permission.as_str())));
    }
    Ok(account)
}
