//! An account's identity providers (R39): OpenID Connect providers its people sign in with.
//!
//! A provider signs people in as the account's users, any of them, admins included: saving one
//! is as strong as being an admin. So, beyond `settings.manage`, only the account's admins (and
//! platform operators) add, change or delete them (docs/delegation.md), and the roles and desks
//! it gives users made at their first sign-in are ones the admin may give (D1).

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::Principal;
use crate::activity::{self, Changes, Target};
use crate::clock::{now_ms, to_rfc3339};
use crate::domain::{Email, EntityName, SipRealm};
use crate::error::{Error, FieldIssue, Issues, Result};
use crate::ids::{AccountId, DeskId, IdentityProviderId, RoleId};
use crate::secrets::Owner;
use crate::state::AppState;
use crate::store::sso::{self as store, ProviderFields, ProviderRecord};
use crate::store::users::Link;
use crate::store::{Affects, Conn};

/// Asked when none are given; `openid` and `email` are always asked.
const DEFAULT_SCOPES: [&str; 3] = ["openid", "email", "profile"];

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderInput {
    /// The button's text, "Sign in with …": 1–80 characters, unique in the account.
    #[schema(max_length = 80)]
    pub label: Option<String>,
    /// The provider's issuer URL (`https://accounts.google.com`,
    /// `https://login.microsoftonline.com/{tenant}/v2.0`, `https://keycloak.example.com/realms/staff`).
    /// Its configuration is read from `/.well-known/openid-configuration` when the provider is saved.
    pub issuer: Option<String>,
    /// The client id Roster was registered with at the provider.
    pub client_id: Option<String>,
    /// The client secret: required when adding a provider, sealed at rest, never shown again.
    #[schema(value_type = Option<String>, format = Password)]
    pub client_secret: Option<SecretString>,
    /// Scopes asked for; `openid` and `email` are always asked. Default `openid email profile`.
    pub scopes: Option<Vec<String>>,
    /// Email domains whose people may sign in (`example.com`); empty: every domain.
    pub allowed_domains: Option<Vec<String>>,
    /// Whether an email the provider has not verified may find a user. Off by default: an
    /// unverified address may belong to someone else.
    pub allow_unverified_email: Option<bool>,
    /// Trust the provider's own second factor: a sign-in whose `amr` names one (`mfa`, `otp`,
    /// `hwk`…) is not asked for Roster's. Off by default; a risk: Roster then relies on how
    /// the provider is run.
    pub trust_second_factor: Option<bool>,
    /// Make a user at the first sign-in of someone whose email no user has. Off by default.
    pub create_users: Option<bool>,
    /// Roles given to users made at their first sign-in (ones you may give).
    pub new_user_roles: Option<Vec<RoleId>>,
    /// Desks given to users made at their first sign-in.
    pub new_user_desks: Option<Vec<DeskId>>,
    /// Whether the login page offers it. Default on.
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProviderView {
    pub id: IdentityProviderId,
    pub label: String,
    pub issuer: String,
    pub client_id: String,
    /// Always true: the secret is kept sealed and never shown.
    pub client_secret_set: bool,
    pub scopes: Vec<String>,
    pub allowed_domains: Vec<String>,
    pub allow_unverified_email: bool,
    pub trust_second_factor: bool,
    pub create_users: bool,
    pub new_user_roles: Vec<RoleId>,
    pub new_user_desks: Vec<DeskId>,
    pub enabled: bool,
    /// Users linked to a person at this provider.
    pub linked_users: i64,
    /// What to register at the provider as the redirect (callback) URI.
    pub redirect_uri: String,
    /// Where the login page's button leads.
    pub sign_in_url: String,
    /// The risks this provider's settings take, in words.
    pub risks: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip)]
    pub version: i64,
}

/// A provider's settings as a sign-in uses them, its secret opened.
pub struct Settings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub scopes: Vec<String>,
    pub allowed_domains: Vec<String>,
    pub allow_unverified_email: bool,
    pub create_users: bool,
    pub new_user_roles: Vec<RoleId>,
    pub new_user_desks: Vec<DeskId>,
}

impl Settings {
    pub fn domain_allowed(&self, email: &Email) -> bool {
        let domain = email.as_str().rsplit('@').next().unwrap_or_default().to_ascii_lowercase();
        self.allowed_domains.is_empty() || self.allowed_domains.contains(&domain)
    }
}

pub fn settings_of(state: &AppState, r: &ProviderRecord) -> Result<Settings> {
    Ok(Settings {
        issuer: r.issuer.clone(),
        client_id: r.client_id.clone(),
        client_secret: state.secrets.open(Owner::client_secret(r.id), &r.client_secret).map_err(Error::Internal)?,
        scopes: r.scopes.split(' ').filter(|s| !s.is_empty()).map(str::to_string).collect(),
        allowed_domains: json_list(&r.allowed_domains),
        allow_unverified_email: r.allow_unverified_email,
        create_users: r.create_users,
        new_user_roles: json_list::<i64>(&r.new_user_roles).into_iter().map(RoleId).collect(),
        new_user_desks: json_list::<i64>(&r.new_user_desks).into_iter().map(DeskId).collect(),
    })
}

fn json_list<T: serde::de::DeserializeOwned>(text: &str) -> Vec<T> {
    serde_json::from_str(text).unwrap_or_default()
}

fn risks(r: &ProviderRecord) -> Vec<String> {
    let mut risks = Vec::new();
    if r.trust_second_factor {
        risks.push(
            "Admins and everyone else are not asked for Roster's second factor when the provider says it asked for \
             one: the account relies on how the provider is run."
                .to_string(),
        );
    }
    if r.allow_unverified_email {
        risks.push(
            "An email address the provider has not verified finds a user: someone who types another person's \
             address at the provider could sign in as them."
                .to_string(),
        );
    }
    if r.create_users && r.allowed_domains == "[]" {
        risks.push("Anyone the provider signs in becomes a user of the account: limit the email domains.".to_string());
    }
    risks
}

fn view(state: &AppState, r: ProviderRecord, account_slug: &str, linked_users: i64) -> ProviderView {
    let risks = risks(&r);
    ProviderView {
        sign_in_url: state.mail.link(&format!("/sso/{}/{}", crate::http::path_segment(account_slug), r.id.0)),
        redirect_uri: crate::sso::sign_in::redirect_uri(state),
        id: r.id,
        label: r.label,
        issuer: r.issuer,
        client_id: r.client_id,
        client_secret_set: true,
        scopes: r.scopes.split(' ').filter(|s| !s.is_empty()).map(str::to_string).collect(),
        allowed_domains: json_list(&r.allowed_domains),
        allow_unverified_email: r.allow_unverified_email,
        trust_second_factor: r.trust_second_factor,
        create_users: r.create_users,
        new_user_roles: json_list::<i64>(&r.new_user_roles).into_iter().map(RoleId).collect(),
        new_user_desks: json_list::<i64>(&r.new_user_desks).into_iter().map(DeskId).collect(),
        enabled: r.enabled,
        linked_users,
        risks,
        created_at: to_rfc3339(r.created_at),
        updated_at: to_rfc3339(r.updated_at),
        version: r.version,
    }
}

/// The login page's buttons for an account: its enabled providers' ids and labels.
pub async fn buttons(state: &AppState, account_slug: &str) -> Result<Vec<(IdentityProviderId, String)>> {
    let mut conn = state.store.read().await?;
    let Some(account) = crate::store::accounts::by_slug(&mut conn, account_slug).await? else { return Ok(Vec::new()) };
    let providers = store::providers(&mut conn, account.id).await?;
    Ok(providers.into_iter().filter(|p| p.enabled).map(|p| (p.id, p.label)).collect())
}

pub async fn list(state: &AppState, account: AccountId, account_slug: &str) -> Result<Vec<ProviderView>> {
    let mut conn = state.store.read().await?;
    let providers = store::providers(&mut conn, account).await?;
    let counts = store::link_counts(&mut conn, account).await?;
    let linked = |id| counts.iter().find(|(p, _)| *p == id).map_or(0, |(_, n)| *n);
    Ok(providers
        .into_iter()
        .map(|p| {
            let n = linked(p.id);
            view(state, p, account_slug, n)
        })
        .collect())
}

pub async fn get(
    state: &AppState,
    account: AccountId,
    account_slug: &str,
    id: IdentityProviderId,
) -> Result<ProviderView> {
    let mut conn = state.store.read().await?;
    let record = store::provider(&mut conn, account, id).await?.ok_or(Error::NotFound("identity provider"))?;
    let linked = store::link_count(&mut conn, account, id).await?;
    Ok(view(state, record, account_slug, linked))
}

/// D1/D2: a provider signs people in as any user of the account, admins included.
fn may_manage(principal: &Principal) -> Result<()> {
    match principal.admin || principal.platform_operator {
        true => Ok(()),
        false => Err(Error::Forbidden(
            "identity providers are managed by the account's admins: a provider signs people in as any user, \
             admins included"
                .into(),
        )),
    }
}

/// What a request sets, checked; absent parts are taken from `current` (or defaults).
struct Parsed {
    label: String,
    issuer: String,
    client_id: String,
    /// A new secret, when one was given.
    client_secret: Option<SecretString>,
    scopes: String,
    allowed_domains: Vec<String>,
    allow_unverified_email: bool,
    trust_second_factor: bool,
    create_users: bool,
    new_user_roles: Vec<i64>,
    new_user_desks: Vec<i64>,
    enabled: bool,
}

async fn parse(
    conn: &mut Conn,
    http_loopback: bool,
    principal: &Principal,
    input: &ProviderInput,
    current: Option<&ProviderRecord>,
) -> Result<Parsed> {
    let account = principal.account();
    let mut issues = Issues::new();
    let label = match (&input.label, current) {
        (Some(l), _) => issues.check("label", EntityName::parse(l)).map(|n| n.as_str().to_string()),
        (None, Some(c)) => Some(c.label.clone()),
        (None, None) => {
            issues.add("label", "required", "is required");
            None
        }
    };
    let issuer = match (&input.issuer, current) {
        (Some(i), _) => match parse_issuer(i, http_loopback) {
            Ok(i) => Some(i),
            Err(message) => {
                issues.add("issuer", "invalid", message);
                None
            }
        },
        (None, Some(c)) => Some(c.issuer.clone()),
        (None, None) => {
            issues.add("issuer", "required", "is required");
            None
        }
    };
    let client_id = match (&input.client_id, current) {
        (Some(id), _) => {
            let id = id.trim();
            if id.is_empty() || id.len() > 255 || id.chars().any(|c| c.is_control() || c == ' ') {
                issues.add("client_id", "invalid", "must be 1–255 characters without spaces");
                None
            } else {
                Some(id.to_string())
            }
        }
        (None, Some(c)) => Some(c.client_id.clone()),
        (None, None) => {
            issues.add("client_id", "required", "is required");
            None
        }
    };
    let issuer_changes = current.is_some_and(|c| issuer.as_deref().is_some_and(|i| i != c.issuer));
    if issuer_changes && input.client_secret.is_none() {
        // The old secret is not sent to another provider.
        issues.add("client_secret", "required", "is required when the issuer changes");
    }
    let client_secret = match &input.client_secret {
        Some(secret) => {
            let s = secret.expose_secret();
            if s.is_empty() || s.len() > 1024 || s.chars().any(char::is_control) {
                issues.add("client_secret", "invalid", "must be 1–1024 characters without control characters");
            }
            Some(secret.clone())
        }
        None if current.is_none() => {
            issues.add("client_secret", "required", "is required when adding a provider");
            None
        }
        None => None,
    };
    let scopes = match (&input.scopes, current) {
        (Some(list), _) => {
            let mut scopes: Vec<String> = vec!["openid".into(), "email".into()];
            for scope in list {
                let scope = scope.trim();
                if scope.is_empty()
                    || scope.len() > 100
                    || !scope.chars().all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
                {
                    issues.add(
                        "scopes",
                        "invalid",
                        format!("{scope:?} is not a scope (printable characters, no spaces)"),
                    );
                } else if !scopes.iter().any(|s| s == scope) {
                    scopes.push(scope.to_string());
                }
            }
            if scopes.len() > 20 {
                issues.add("scopes", "too_many", "at most 20 scopes");
            }
            scopes.join(" ")
        }
        (None, Some(c)) => c.scopes.clone(),
        (None, None) => DEFAULT_SCOPES.join(" "),
    };
    let allowed_domains = match (&input.allowed_domains, current) {
        (Some(list), _) => {
            let mut domains = Vec::new();
            for d in list {
                match SipRealm::parse(d) {
                    Ok(d) if !domains.contains(&d.as_str().to_string()) => domains.push(d.as_str().to_string()),
                    Ok(_) => {}
                    Err(e) => issues.add("allowed_domains", "invalid", format!("{d:?} {}", e.message)),
                }
            }
            if domains.len() > 100 {
                issues.add("allowed_domains", "too_many", "at most 100 domains");
            }
            domains
        }
        (None, Some(c)) => json_list(&c.allowed_domains),
        (None, None) => Vec::new(),
    };
    let flag = |given: Option<bool>, current: Option<bool>, default: bool| given.or(current).unwrap_or(default);
    let new_user_roles: Vec<i64> = match (&input.new_user_roles, current) {
        (Some(roles), _) => roles.iter().map(|r| r.0).collect(),
        (None, Some(c)) => json_list(&c.new_user_roles),
        (None, None) => Vec::new(),
    };
    let new_user_desks: Vec<i64> = match (&input.new_user_desks, current) {
        (Some(desks), _) => desks.iter().map(|d| d.0).collect(),
        (None, Some(c)) => json_list(&c.new_user_desks),
        (None, None) => Vec::new(),
    };
    for (field, link, ids) in
        [("new_user_roles", Link::Roles, &new_user_roles), ("new_user_desks", Link::Desks, &new_user_desks)]
    {
        let found = crate::store::named::names(conn, link, account, ids).await?;
        if let Some(missing) = ids.iter().find(|id| !found.iter().any(|(f, _)| f == *id)) {
            issues.add(field, "unknown", format!("{missing} is not one of the account's"));
        }
    }
    issues.into_result()?;
    if input.new_user_roles.is_some() {
        // D1: what users made at their first sign-in get is what the admin saving it may give.
        crate::access::principal::may_assign(conn, principal, Some(&new_user_roles), None, None).await?;
    }
    let (Some(label), Some(issuer), Some(client_id)) = (label, issuer, client_id) else {
        return Err(Error::invalid("request", "invalid", "the identity provider is not valid"));
    };
    Ok(Parsed {
        label,
        issuer,
        client_id,
        client_secret,
        scopes,
        allowed_domains,
        allow_unverified_email: flag(input.allow_unverified_email, current.map(|c| c.allow_unverified_email), false),
        trust_second_factor: flag(input.trust_second_factor, current.map(|c| c.trust_second_factor), false),
        create_users: flag(input.create_users, current.map(|c| c.create_users), false),
        new_user_roles,
        new_user_desks,
        enabled: flag(input.enabled, current.map(|c| c.enabled), true),
    })
}

/// An issuer URL: `https://…` (or `http://` on this machine's loopback address, for a provider
/// running beside Roster, when the server allows it: `--sso-http-loopback`), without query,
/// fragment or credentials. Kept as written: the provider must report exactly this issuer.
fn parse_issuer(input: &str, http_loopback: bool) -> std::result::Result<String, String> {
    let text = input.trim();
    let url = url::Url::parse(text).map_err(|e| format!("is not a URL ({e})"))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
    match url.scheme() {
        "https" => {}
        "http" if loopback && http_loopback => {}
        _ => return Err("must be an https:// URL".into()),
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err("must not have a query, a fragment or credentials".into());
    }
    if text.len() > 500 {
        return Err("must be at most 500 characters".into());
    }
    Ok(text.to_string())
}

fn changes_of(p: &Parsed, before: Option<&ProviderRecord>) -> Changes {
    let mut changes = Changes::new();
    let domains = serde_json::to_string(&p.allowed_domains).unwrap_or_default();
    let roles = serde_json::to_string(&p.new_user_roles).unwrap_or_default();
    let desks = serde_json::to_string(&p.new_user_desks).unwrap_or_default();
    match before {
        None => {
            changes
                .set("label", &p.label)
                .set("issuer", &p.issuer)
                .set("client_id", &p.client_id)
                .set("scopes", &p.scopes)
                .set("allowed_domains", &p.allowed_domains)
                .set("allow_unverified_email", p.allow_unverified_email)
                .set("trust_second_factor", p.trust_second_factor)
                .set("create_users", p.create_users)
                .set("new_user_roles", &p.new_user_roles)
                .set("new_user_desks", &p.new_user_desks)
                .set("enabled", p.enabled);
        }
        Some(b) => {
            changes
                .diff("label", &b.label, &p.label)
                .diff("issuer", &b.issuer, &p.issuer)
                .diff("client_id", &b.client_id, &p.client_id)
                .diff("scopes", &b.scopes, &p.scopes)
                .diff("allowed_domains", &b.allowed_domains, &domains)
                .diff("allow_unverified_email", b.allow_unverified_email, p.allow_unverified_email)
                .diff("trust_second_factor", b.trust_second_factor, p.trust_second_factor)
                .diff("create_users", b.create_users, p.create_users)
                .diff("new_user_roles", &b.new_user_roles, &roles)
                .diff("new_user_desks", &b.new_user_desks, &desks)
                .diff("enabled", b.enabled, p.enabled);
        }
    }
    // Never the secret itself: only that it changed.
    if p.client_secret.is_some() && before.is_some() {
        changes.set("client_secret", "changed");
    }
    changes
}

/// With password sign-in off for the account, its people sign in through its providers: the
/// last enabled one is not disabled or deleted (checked after the change, in its transaction).
async fn keep_a_way_in(conn: &mut Conn, account: AccountId) -> Result<()> {
    let record = crate::store::accounts::by_id(conn, account).await?.ok_or(Error::NotFound("account"))?;
    if record.password_sign_in || store::providers(conn, account).await?.iter().any(|p| p.enabled) {
        return Ok(());
    }
    Err(Error::state_conflict(
        "enabled",
        "password_sign_in_off",
        "password sign-in is off for the account, and this is its last enabled identity provider: turn password \
         sign-in on first",
    ))
}

/// The provider's configuration must be discoverable before it is saved: a typo in the issuer
/// is told now, not at someone's first sign-in.
async fn check_discovery(state: &AppState, issuer: &str) -> Result<()> {
    state
        .identity_providers
        .check(issuer)
        .await
        .map_err(|e| Error::Validation(vec![FieldIssue::new("issuer", "discovery_failed", e.to_string())]))
}

pub async fn create(
    state: &AppState,
    principal: &Principal,
    account_slug: &str,
    input: ProviderInput,
) -> Result<ProviderView> {
    may_manage(principal)?;
    let account = principal.account();
    let mut conn = state.store.read().await?;
    let p = parse(&mut conn, state.config.sso_http_loopback, principal, &input, None).await?;
    drop(conn);
    check_discovery(state, &p.issuer).await?;
    let secret = p.client_secret.as_ref().expect("required when adding");
    let mut tx = state.store.begin().await?;
    tx.affects(Affects::Nothing);
    let conn = tx.conn();
    let (domains, roles, desks) = lists(&p);
    // The secret is sealed for the provider's id, known once the row is written.
    let id = store::insert_provider(conn, account, &fields(&p, "", &domains, &roles, &desks), now_ms()).await?;
    let sealed = state.secrets.seal(Owner::client_secret(id), secret.expose_secret());
    store::set_client_secret(conn, id, &sealed).await?;
    let target = Target { kind: "identity_provider", id: Some(id.0), label: &p.label };
    activity::record(conn, &principal.actor, "identity_provider.created", target, &changes_of(&p, None)).await?;
    let record = store::provider(conn, account, id).await?.ok_or(Error::NotFound("identity provider"))?;
    tx.commit().await?;
    Ok(view(state, record, account_slug, 0))
}

fn lists(p: &Parsed) -> (String, String, String) {
    (
        serde_json::to_string(&p.allowed_domains).unwrap_or_else(|_| "[]".into()),
        serde_json::to_string(&p.new_user_roles).unwrap_or_else(|_| "[]".into()),
        serde_json::to_string(&p.new_user_desks).unwrap_or_else(|_| "[]".into()),
    )
}

fn fields<'a>(p: &'a Parsed, secret: &'a str, domains: &'a str, roles: &'a str, desks: &'a str) -> ProviderFields<'a> {
    ProviderFields {
        label: &p.label,
        issuer: &p.issuer,
        client_id: &p.client_id,
        client_secret: secret,
        scopes: &p.scopes,
        allowed_domains: domains,
        allow_unverified_email: p.allow_unverified_email,
        trust_second_factor: p.trust_second_factor,
        create_users: p.create_users,
        new_user_roles: roles,
        new_user_desks: desks,
        enabled: p.enabled,
    }
}

pub async fn update(
    state: &AppState,
    principal: &Principal,
    account_slug: &str,
    id: IdentityProviderId,
    expected_version: i64,
    input: ProviderInput,
) -> Result<ProviderView> {
    may_manage(principal)?;
    let account = principal.account();
    let mut conn = state.store.read().await?;
    let current = store::provider(&mut conn, account, id).await?.ok_or(Error::NotFound("identity provider"))?;
    let p = parse(&mut conn, state.config.sso_http_loopback, principal, &input, Some(&current)).await?;
    drop(conn);
    if p.issuer != current.issuer {
        check_discovery(state, &p.issuer).await?;
    }
    let sealed = match &p.client_secret {
        Some(secret) => state.secrets.seal(Owner::client_secret(id), secret.expose_secret()),
        None => current.client_secret.clone(),
    };
    let mut tx = state.store.begin().await?;
    tx.affects(Affects::Nothing);
    let conn = tx.conn();
    let (domains, roles, desks) = lists(&p);
    let fields = fields(&p, &sealed, &domains, &roles, &desks);
    if !store::update_provider(conn, account, id, &fields, expected_version, now_ms()).await? {
        return match store::provider(conn, account, id).await? {
            Some(_) => Err(Error::PreconditionFailed),
            None => Err(Error::NotFound("identity provider")),
        };
    }
    keep_a_way_in(conn, account).await?;
    let target = Target { kind: "identity_provider", id: Some(id.0), label: &p.label };
    activity::record(conn, &principal.actor, "identity_provider.updated", target, &changes_of(&p, Some(&current)))
        .await?;
    let record = store::provider(conn, account, id).await?.ok_or(Error::NotFound("identity provider"))?;
    let linked = store::link_count(conn, account, id).await?;
    tx.commit().await?;
    Ok(view(state, record, account_slug, linked))
}

/// Deletes a provider and every link to it: its people no longer sign in through it.
pub async fn delete(state: &AppState, principal: &Principal, id: IdentityProviderId) -> Result<()> {
    may_manage(principal)?;
    let account = principal.account();
    let mut tx = state.store.begin().await?;
    tx.affects(Affects::Nothing);
    let conn = tx.conn();
    let current = store::provider(conn, account, id).await?.ok_or(Error::NotFound("identity provider"))?;
    let links = store::delete_provider(conn, account, id).await?;
    keep_a_way_in(conn, account).await?;
    let mut changes = Changes::new();
    changes.set("label", &current.label).set("issuer", &current.issuer).set("links_removed", links);
    let target = Target { kind: "identity_provider", id: Some(id.0), label: &current.label };
    activity::record(conn, &principal.actor, "identity_provider.deleted", target, &changes).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_issuer;

    #[test]
    fn an_issuer_is_https_or_an_allowed_loopback_http() {
        assert_eq!(parse_issuer(" https://accounts.google.com ", false).as_deref(), Ok("https://accounts.google.com"));
        assert!(parse_issuer("https://login.microsoftonline.com/tenant/v2.0", false).is_ok());
        assert!(parse_issuer("http://127.0.0.1:8080", false).is_err(), "http only when the server allows it");
        assert!(parse_issuer("http://127.0.0.1:8080", true).is_ok());
        assert!(parse_issuer("http://idp.example.com", true).is_err(), "never http beyond the loopback");
        assert!(parse_issuer("ftp://example.com", true).is_err());
        assert!(parse_issuer("https://example.com/?tenant=1", false).is_err());
        assert!(parse_issuer("https://user:pw@example.com", false).is_err());
        assert!(parse_issuer("not a url", false).is_err());
    }
}
