//! `/api/v1/directory/…`: the PBX directory for SIP servers, answered to API tokens holding
//! `directory.read` (sent as a bearer token, or as the password of HTTP Basic authentication
//! for servers that send only that, as FreeSWITCH's `mod_xml_curl` does).

use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self, Answer, Entry, Refusal};
use crate::auth::Caller;
use crate::calls::settings::CallValues;
use crate::domain::SipRealm;
use crate::error::{Error, Result};
use crate::http::ApiQuery;
use crate::ids::UserId;
use crate::state::AppState;
use crate::store::directory::DirectoryKey;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(lookup)).routes(routes!(super::freeswitch::directory))
}

/// Who asks the directory: the API token a request presents, resolved; or, when it resolves
/// to no one, the token itself, which may belong to a disabled account (answered "not allowed"
/// for that account's realm).
pub struct Asker {
    pub caller: Option<Caller>,
    token: String,
}

impl FromRequestParts<AppState> for Asker {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = presented_token(parts).ok_or(Error::Unauthenticated)?;
        let caller = crate::auth::resolve(state, &token).await?;
        if let Some(caller) = &caller {
            crate::access::gate::check_request(state, parts, caller)?;
        }
        Ok(Asker { caller, token })
    }
}

impl Asker {
    /// The caller, checked to be one the directory answers; or, for a token whose account is
    /// disabled, that account's "not allowed" for its own realm.
    pub async fn resolve(
        &self,
        state: &AppState,
        realm: &SipRealm,
        key: &DirectoryKey,
    ) -> Result<Result<&Caller, Answer>> {
        match &self.caller {
            Some(caller) => {
                service::may_ask(caller)?;
                Ok(Ok(caller))
            }
            None => match service::disabled_account_of(state, &self.token, realm).await? {
                Some(account) => Ok(Err(Answer::Refused {
                    account_slug: account.slug,
                    realm: account.sip_realm,
                    refusal: Refusal::AccountDisabled,
                    key: key.clone(),
                })),
                None => Err(Error::Unauthenticated),
            },
        }
    }
}

/// The bearer token, or the password of HTTP Basic authentication.
fn presented_token(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.to_string());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD.decode(rest).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (_, password) = text.split_once(':')?;
        return Some(password.to_string());
    }
    None
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LookupQuery {
    /// The SIP realm (domain) the phone registers in; it names the account.
    realm: Option<String>,
    /// The name the phone authenticates with: the user's SIP user name, or their extension
    /// when they have none.
    user: Option<String>,
    /// Or the user's extension (instead of `user`).
    extension: Option<String>,
}

/// A user as the directory answers for them.
#[derive(Debug, Serialize, ToSchema)]
pub struct DirectoryEntry {
    /// Whether the phone may register and call now.
    pub allowed: bool,
    /// Why not, when not allowed: `account_disabled`, `deleted`, `disabled`, `scheduled_out`
    /// (deactivated for a time range), `invited` (not accepted yet), `no_extension`,
    /// `no_sip_password`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// The account's slug.
    pub account: String,
    pub realm: String,
    /// `null` for a deleted user or a disabled account.
    pub user: Option<DirectoryUser>,
    /// The name the phone authenticates with (the SIP user name, else the extension).
    pub sip_username: Option<String>,
    pub extension: Option<String>,
    /// MD5(sip_username:realm:password) in hex (RFC 2617's HA1), when allowed. The password
    /// itself is never given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ha1: Option<String>,
    /// SHA-256(sip_username:realm:password) in hex (RFC 8760), when allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ha1_sha256: Option<String>,
    /// The user's call settings in effect (R38), when allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_settings: Option<CallValues>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DirectoryUser {
    pub id: UserId,
    pub login: String,
    pub display_name: String,
}

impl DirectoryEntry {
    fn of(entry: &Entry, refusal: Option<Refusal>) -> DirectoryEntry {
        let allowed = refusal.is_none();
        DirectoryEntry {
            allowed,
            reason: refusal.map(Refusal::as_str),
            account: entry.account_slug.clone(),
            realm: entry.realm.clone(),
            user: Some(DirectoryUser {
                id: entry.user,
                login: entry.login.clone(),
                display_name: entry.display_name.clone(),
            }),
            sip_username: entry.sip_name.clone(),
            extension: entry.extension.clone(),
            ha1: entry.ha1.as_ref().filter(|_| allowed).map(|h| h.md5.clone()),
            ha1_sha256: entry.ha1.as_ref().filter(|_| allowed).map(|h| h.sha256.clone()),
            call_settings: allowed.then(|| entry.settings.clone()),
        }
    }
}

/// Look a phone's user up: whether they may register, their digest HA1 and call settings.
///
/// For SIP servers, on every REGISTER and INVITE: answered to API tokens holding
/// `directory.read` (a platform operator's token reaches every account's realm, an account's
/// token its own). A user who may not register now is answered `allowed: false` with the
/// reason; a name nobody answers to, 404.
#[utoipa::path(get, path = "/api/v1/directory/lookup", tag = "directory", params(LookupQuery),
    security(("bearer" = [])),
    responses((status = 200, body = DirectoryEntry), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
async fn lookup(State(state): State<AppState>, asker: Asker, ApiQuery(q): ApiQuery<LookupQuery>) -> Result<Response> {
    let (realm, key) = service::parse_question(q.realm.as_deref(), q.user.as_deref(), q.extension.as_deref())?;
    let answer = match asker.resolve(&state, &realm, &key).await? {
        Ok(caller) => service::lookup(&state, caller, &realm, key).await?,
        Err(refused) => refused,
    };
    let body = match &answer {
        Answer::Found { entry, refusal: None } => {
            entry.rendered.json.get_or_init(|| json(&DirectoryEntry::of(entry, None)).into()).clone()
        }
        Answer::Found { entry, refusal } => json(&DirectoryEntry::of(entry, *refusal)).into(),
        Answer::Refused { account_slug, realm, refusal, key } => {
            json(&refused(account_slug, realm, *refusal, key)).into()
        }
        Answer::Unknown(what) => return Err(Error::NotFound(what)),
    };
    Ok(no_store(StatusCode::OK, "application/json", body))
}

/// A "not allowed" without a user to show: a deleted one, or a disabled account.
fn refused(account: &str, realm: &str, refusal: Refusal, key: &DirectoryKey) -> DirectoryEntry {
    DirectoryEntry {
        allowed: false,
        reason: Some(refusal.as_str()),
        account: account.to_string(),
        realm: realm.to_string(),
        user: None,
        sip_username: match key {
            DirectoryKey::SipName(n) => Some(n.clone()),
            DirectoryKey::Extension(_) => None,
        },
        extension: match key {
            DirectoryKey::Extension(e) => Some(e.clone()),
            DirectoryKey::SipName(_) => None,
        },
        ha1: None,
        ha1_sha256: None,
        call_settings: None,
    }
}

fn json(entry: &DirectoryEntry) -> String {
    serde_json::to_string(entry).unwrap_or_default()
}

/// A directory answer: never stored by caches in between (it changes the moment a user does).
pub fn no_store(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response {
    let body: Bytes = body.into();
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
