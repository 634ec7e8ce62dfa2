//! The web console: server-rendered pages (maud) for the people who manage users.
//!
//! Pages parse the request, authorize through `auth::extract::authorize`, call a service and
//! render. Every change is an htmx request that carries the `X-CSRF-Token` header (set for
//! every htmx request by `assets/console.js` from the page's `csrf-token` meta tag), which
//! `auth::Caller` checks; plain form posts are never accepted for changes. All assets are
//! compiled into the binary: no CDN.

// Shared plumbing: who is calling and how failures show, the layout and widgets.
mod extract;
mod ui;

// One page (or set of pages) per capability, named as in `src/`.
mod access_rules;
mod accounts;
mod activity;
mod calls;
mod captcha;
mod catalog;
mod display;
mod lifecycle;
mod me;
mod outbox;
mod passwords;
pub(crate) mod queues;
mod seats;
mod sessions;
mod settings;
mod sign_in;
mod sip_domain;
mod sso;
mod sso_settings;
mod time;
mod time_groups;
mod tokens;
pub(crate) mod users;

use std::sync::LazyLock;

use axum::Router;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use sha2::{Digest, Sha256};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::Result;
use crate::ids::AccountId;
use crate::state::AppState;
use crate::store::named::NamedRecord;
use crate::store::users::Link;

pub fn router() -> Router<AppState> {
    let pages = Router::new()
        .route("/", get(sign_in::page::root))
        .route("/login", get(sign_in::page::login_page).post(sign_in::page::login))
        .route("/login/password", post(sign_in::page::password_change))
        .route("/login/forgot", get(passwords::forgot_page).post(passwords::forgot))
        .route("/reset-password/{token}", get(passwords::reset_page).post(passwords::reset))
        .route("/enrol/{token}", get(sign_in::enrolment_link::page).post(sign_in::enrolment_link::sign_in))
        .route("/invite/{token}", get(sign_in::invitation::page).post(sign_in::invitation::accept))
        .route("/login/second-factor", post(sign_in::steps::verify))
        .route("/login/second-factor/email", post(sign_in::steps::send_email))
        .route("/login/totp-setup", post(sign_in::steps::confirm_setup))
        .route("/login/continue", post(sign_in::steps::continue_after_codes))
        .route("/logout", post(sign_in::page::logout))
        .route("/sso/callback", get(sso::callback))
        .route("/sso/{account}/{provider}", get(sso::start).post(sso::start_taking_over))
        .route("/console", get(|| async { Redirect::to("/console/users") }))
        .route("/console/users", get(users::list::list))
        .route("/console/users/bulk", post(users::bulk::run))
        .route("/console/users/bulk/values", get(users::bulk::values))
        .route("/console/users/new", get(users::form::new_page).post(users::form::create))
        .route("/console/users/invite", get(users::invite::page).post(users::invite::create))
        .route("/console/users/{id}/invitation", get(users::invite::invitation_page))
        .route("/console/users/{id}/invitation/send", post(users::invite::send))
        .route("/console/users/{id}/invitation/address", post(users::invite::readdress))
        .route("/console/users/{id}/invitation/revoke", post(users::invite::revoke))
        .route(
            "/console/users/{id}",
            get(|Path(id): Path<i64>| async move { Redirect::to(&format!("/console/users/{id}/edit")) }),
        )
        .route("/console/users/{id}/edit", get(users::form::edit_page).post(users::form::update))
        .route("/console/users/{id}/password", get(users::actions::password_page).post(users::actions::set_password))
        .route("/console/users/{id}/delete", get(users::actions::delete_page).post(users::actions::delete))
        .route("/console/users/{id}/activity", get(activity::user_activity))
        .route("/console/users/{id}/avatar", get(users::avatar::page).post(users::avatar::upload))
        .route("/console/users/{id}/avatar/remove", post(users::avatar::remove))
        .route("/console/users/{id}/two-factor", get(users::two_factor::confirm_page).post(users::two_factor::apply))
        .route("/console/users/{id}/security", get(users::security::page).post(users::security::save))
        .route("/console/users/{id}/identities/{link}/unlink", post(users::identities::unlink))
        .route("/console/users/{id}/sessions", get(sessions::user_sessions))
        .route("/console/users/{id}/sessions/end-all", post(sessions::end_all))
        .route("/console/users/{id}/sessions/{session}/end", post(sessions::end_user_session))
        .route("/console/users/{id}/unlock", post(sessions::unlock))
        .route("/console/users/{id}/deactivation", get(lifecycle::page).post(lifecycle::save))
        .route("/console/users/{id}/deactivation/{period}/cancel", post(lifecycle::cancel))
        .route("/console/activation-log", get(lifecycle::activation_log))
        .route("/console/users/{id}/queues", get(users::queues::page).post(users::queues::add))
        .route("/console/users/{id}/queues/{queue}/remove", post(users::queues::remove))
        .route("/console/queues", get(queues::list))
        .route("/console/queues/new", get(queues::new_page).post(queues::save))
        .route("/console/queues/{id}", get(queues::members_page))
        .route("/console/queues/{id}/edit", get(queues::edit_page).post(queues::save))
        .route("/console/queues/{id}/delete", get(queues::delete_page).post(queues::delete))
        .route("/console/queues/{id}/members", post(queues::add))
        .route("/console/queues/{id}/members/{user}", post(queues::save_member))
        .route("/console/queues/{id}/members/{user}/remove", post(queues::remove))
        .route("/console/users/{id}/calls", get(calls::user_page).post(calls::user_save))
        .route("/console/settings/calls", get(calls::account_page).post(calls::account_save))
        .route("/console/settings/telephony", get(calls::telephony_page))
        .route("/console/settings/telephony/{kind}", post(calls::telephony_add))
        .route("/console/settings/telephony/{kind}/{id}", post(calls::telephony_update))
        .route("/console/settings/telephony/{kind}/{id}/delete", post(calls::telephony_delete))
        .route("/console/time-groups", get(time_groups::list))
        .route("/console/time-groups/new", get(time_groups::new_page).post(time_groups::save))
        .route("/console/time-groups/{id}/edit", get(time_groups::edit_page).post(time_groups::save))
        .route("/console/time-groups/{id}/delete", post(time_groups::delete))
        .route("/console/accounts", get(accounts::list).post(accounts::create))
        .route("/console/accounts/home", post(accounts::home))
        .route("/console/accounts/{slug}", get(accounts::edit_page).post(accounts::save))
        .route("/console/accounts/{slug}/act", post(accounts::act))
        .route("/console/seats", get(seats::page))
        .route("/console/seats/summary", get(seats::summary))
        .route("/console/activity", get(activity::account_activity))
        .route("/console/me", get(me::page::page))
        .route("/console/me/password", post(me::page::change_password))
        .route("/console/me/email", post(me::page::change_email))
        .route("/console/me/second-factor", get(me::second_factor::page).post(me::second_factor::save))
        .route("/console/me/second-factor/totp", post(me::second_factor::start_enrolment))
        .route("/console/me/second-factor/totp/confirm", post(me::second_factor::confirm_enrolment))
        .route("/console/me/second-factor/recovery-codes", post(me::second_factor::regenerate_codes))
        .route("/console/me/sessions/end-others", post(me::page::end_others))
        .route("/console/me/sessions/{id}/end", post(me::page::end_session))
        .route("/console/sessions", get(sessions::list))
        .route("/console/sessions/{id}/end", post(sessions::end))
        .route("/console/settings/security", get(settings::page).post(settings::save))
        .route("/console/settings/display", get(display::page).post(display::save))
        .route("/console/settings/sip", get(sip_domain::page).post(sip_domain::save))
        .route("/console/settings/sso", get(sso_settings::list))
        .route("/console/settings/sso/new", get(sso_settings::new_page).post(sso_settings::create))
        .route("/console/settings/sso/password-sign-in", post(sso_settings::save_password_sign_in))
        .route("/console/settings/sso/{id}", get(sso_settings::edit_page).post(sso_settings::update))
        .route("/console/settings/sso/{id}/delete", post(sso_settings::delete))
        .route("/console/settings/access-rules", get(access_rules::account_page).post(access_rules::account_save))
        .route("/console/users/{id}/access-rules", get(access_rules::user_page).post(access_rules::user_save))
        .route("/console/tokens", get(tokens::page).post(tokens::create))
        .route("/console/tokens/{id}/revoke", post(tokens::revoke))
        .route("/console/outbox", get(outbox::page))
        .route("/console/outbox/{id}/retry", post(outbox::retry));
    let pages = catalog::KINDS.iter().fold(pages, |router, (slug, _)| {
        router
            .route(&format!("/console/{slug}"), get(catalog::list))
            .route(&format!("/console/{slug}/new"), get(catalog::new_page).post(catalog::save))
            .route(&format!("/console/{slug}/{{id}}/edit"), get(catalog::edit_page).post(catalog::save))
            .route(&format!("/console/{slug}/{{id}}/delete"), get(catalog::delete_page).post(catalog::delete))
    });
    let pages = pages
        // A slot for the viewer's time zone and formats, which `ConsoleUser` fills (`time`).
        .layer(axum::middleware::from_fn(time::scope))
        // Pages hold personal data and one-time secrets: never cached, never framed.
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ));
    pages.route("/assets/{name}", get(asset))
}

/// Only our own scripts and styles; no inline code, no eval.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/htmx.min.js"),
    },
    Asset {
        name: "console.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/console.js"),
    },
    Asset {
        name: "console.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../assets/console.css"),
    },
    Asset { name: "favicon.svg", content_type: "image/svg+xml", bytes: include_bytes!("../../assets/favicon.svg") },
];

/// A short content hash per asset: pages link `/assets/x?v=HASH`, which may be cached for good.
static VERSIONS: LazyLock<Vec<String>> =
    LazyLock::new(|| ASSETS.iter().map(|a| hex::encode(&Sha256::digest(a.bytes)[..6])).collect());

fn asset_version(name: &str) -> Option<(&'static Asset, &'static str)> {
    let i = ASSETS.iter().position(|a| a.name == name)?;
    Some((&ASSETS[i], VERSIONS[i].as_str()))
}

pub(crate) fn asset_url(name: &str) -> String {
    match asset_version(name) {
        Some((_, v)) => format!("/assets/{name}?v={v}"),
        None => format!("/assets/{name}"),
    }
}

async fn asset(Path(name): Path<String>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let Some((asset, version)) = asset_version(&name) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let etag = format!("\"{version}\"");
    // The versioned URL never changes content; an unversioned one is revalidated soon.
    let cache = if query.as_deref() == Some(&format!("v={version}")) {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    let common = [
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        (header::ETAG, HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""))),
        (HeaderName::from_static("x-content-type-options"), HeaderValue::from_static("nosniff")),
    ];
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (common, [(header::CONTENT_TYPE, asset.content_type)], asset.bytes).into_response()
}

/// The roles, groups, desks, skills and queues of an account, for filters, forms and mass actions.
pub(crate) struct Catalog {
    pub roles: Vec<NamedRecord>,
    pub groups: Vec<NamedRecord>,
    pub desks: Vec<NamedRecord>,
    pub skills: Vec<NamedRecord>,
    pub queues: Vec<NamedRecord>,
}

impl Catalog {
    pub async fn load(state: &AppState, account: AccountId) -> Result<Catalog> {
        let kept = crate::catalog::service::kept(state, account).await?;
        Ok(Catalog::from_kept(&kept))
    }

    /// The pickers of a page that also decides reach from the same kept catalog.
    pub fn from_kept(kept: &crate::store::user_index::AccountCatalog) -> Catalog {
        let crate::catalog::service::Names { roles, groups, desks, skills, queues } =
            crate::catalog::service::Names::of(kept);
        Catalog { roles, groups, desks, skills, queues }
    }

    /// Keeps the roles and groups the principal may give (D1), and those in `keep` (what the
    /// user being edited holds already, so that saving the form does not drop them).
    pub async fn only_grantable(
        mut self,
        state: &AppState,
        principal: &crate::access::Principal,
        keep: &[i64],
        keep_groups: &[i64],
    ) -> Result<Catalog> {
        (self.roles, self.groups) =
            crate::catalog::service::grantable(state, principal, self.roles, self.groups, keep, keep_groups).await?;
        Ok(self)
    }

    pub fn of(&self, link: Link) -> &[NamedRecord] {
        match link {
            Link::Roles => &self.roles,
            Link::Groups => &self.groups,
            Link::Desks => &self.desks,
            Link::Skills => &self.skills,
            Link::Queues => &self.queues,
        }
    }
}

/// The display name of each kind of link, singular and plural.
pub(crate) fn link_names(link: Link) -> (&'static str, &'static str) {
    match link {
        Link::Roles => ("Role", "Roles"),
        Link::Groups => ("Group", "Groups"),
        Link::Desks => ("Desk", "Desks"),
        Link::Skills => ("Skill", "Skills"),
        Link::Queues => ("Queue", "Queues"),
    }
}

/// The query of a form or URL as ordered pairs (repeated keys such as `status` kept).
pub(crate) type Pairs = Vec<(String, String)>;

pub(crate) fn first<'a>(pairs: &'a Pairs, key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

pub(crate) fn all<'a>(pairs: &'a Pairs, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    pairs.iter().filter(move |(k, _)| k == key).map(|(_, v)| v.as_str())
}
