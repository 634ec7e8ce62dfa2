//! Signing in through an account's identity provider (R39): the request sent to the provider,
//! and what comes back, matched to a user and carried on through Roster's own sign-in rules
//! (access rules, the second factor, one session per user, the session itself).
//!
//! Matching: the provider's `(issuer, subject)` finds the user it was linked to. The first time,
//! the verified email finds the account's user with that address and links them; an email
//! changed at the provider later reaches no one else. With no such user, the account may have
//! the user made there and then.

use std::collections::HashSet;

use crate::access::{Permission, Principal, Scope};
use crate::activity::{self, Actor, Changes, Target};
use crate::clock::{Timestamp, now_ms};
use crate::domain::Email;
use crate::error::{Error, Result};
use crate::ids::{AccountId, IdentityProviderId};
use crate::model::user::{UserRecord, UserStatus};
use crate::model::{AccountRecord, ClientInfo, SessionKind, SignInMethod};
use crate::oidc::{Identity, ProviderSettings};
use crate::secrets::token;
use crate::sign_in::service::{self as sign_in, Outcome, Passed, Progress};
use crate::sso::providers::{Settings, settings_of};
use crate::state::AppState;
use crate::store::sso::{self as store, NewLink, NewSsoSignIn, ProviderRecord};
use crate::store::{Affects, Conn, accounts, users};
use crate::users::input::UserInput;
use crate::users::service::{NewUser, insert_checked};

/// How long a sign-in may stay at the provider.
const AT_PROVIDER_MS: i64 = 10 * 60_000;

/// The `amr` values (RFC 8176) that name a factor besides a password: with the account's
/// consent, such a sign-in is not asked for Roster's own second factor.
const SECOND_FACTORS: &[&str] =
    &["otp", "hwk", "swk", "sms", "tel", "sc", "pop", "fpt", "face", "iris", "retina", "vbm"];

/// Whether the provider's `amr` says the person passed more than one factor: `mfa`, or two
/// different methods of which one is a second factor (`otp` alone may be a passwordless first
/// factor).
fn names_a_second_factor(methods: &[String]) -> bool {
    let distinct: HashSet<&str> = methods.iter().map(String::as_str).collect();
    distinct.contains("mfa") || (distinct.len() >= 2 && distinct.iter().any(|m| SECOND_FACTORS.contains(m)))
}

/// Why a single sign-on was refused: the activity log's reason and what the person is told.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub reason: &'static str,
    pub message: String,
    /// The account's slug, when known (the page offers its sign-in again).
    pub account: Option<String>,
    /// The provider may be asked again with `take_over` (R33: signed in elsewhere).
    pub may_take_over: Option<(String, IdentityProviderId)>,
}

impl Refusal {
    fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Refusal { reason, message: message.into(), account: None, may_take_over: None }
    }

    /// A refusal in the named account.
    pub fn new_in(reason: &'static str, message: &str, account: &str) -> Self {
        Refusal::new(reason, message).in_account(account)
    }

    /// A provider (or account) that does not exist.
    pub fn unknown(account: &str) -> Self {
        Refusal::new("unknown_provider", "This sign-in option does not exist (any more).").in_account(account)
    }

    /// Roster itself failed (logged); the person may try again.
    pub fn unavailable() -> Self {
        Refusal::new("unavailable", "Sign-in is not available right now; try again shortly.")
    }

    fn in_account(mut self, slug: &str) -> Self {
        self.account = Some(slug.to_string());
        self
    }
}

/// A sign-in on its way to the provider: the browser goes to `url`, keeping `browser` in a
/// cookie that the way back must bring.
pub struct Started {
    pub url: String,
    pub browser: String,
}

/// What the provider sent back to `/sso/callback`.
#[derive(Debug, Default)]
pub struct Callback<'a> {
    pub code: Option<&'a str>,
    pub state: Option<&'a str>,
    pub error: Option<&'a str>,
    pub error_description: Option<&'a str>,
    /// RFC 9207: the issuer that answers (against mix-ups between providers).
    pub iss: Option<&'a str>,
}

/// The redirect URI every provider is given: one per Roster, whatever the account.
pub fn redirect_uri(state: &AppState) -> String {
    state.mail.link("/sso/callback")
}

/// Sends a sign-in to the account's provider.
pub async fn start(
    state: &AppState,
    account_slug: &str,
    provider: IdentityProviderId,
    take_over: bool,
) -> Result<std::result::Result<Started, Refusal>> {
    let unknown = || Refusal::unknown(account_slug);
    let mut conn = state.store.read().await?;
    let Some(account) = accounts::by_slug(&mut conn, account_slug).await? else { return Ok(Err(unknown())) };
    let Some(record) = store::provider(&mut conn, account.id, provider).await?.filter(|p| p.enabled) else {
        return Ok(Err(Refusal::unknown(&account.slug)));
    };
    drop(conn);
    if !account.enabled {
        return Ok(Err(Refusal::new("account_disabled", DISABLED).in_account(&account.slug)));
    }
    let settings = settings_of(state, &record)?;
    let redirect = redirect_uri(state);
    let authorization = match state.identity_providers.authorize(&provider_settings(&settings, &redirect)).await {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(provider = provider.0, error = %e, "an identity provider is not reachable");
            return Ok(Err(Refusal::new(e.reason(), UNREACHABLE).in_account(&account.slug)));
        }
    };
    let browser = token::new_token();
    let now = now_ms();
    let mut tx = state.store.begin().await?;
    tx.affects(Affects::Nothing);
    store::insert_sign_in(
        tx.conn(),
        &NewSsoSignIn {
            state_hash: &token::hash(&authorization.state),
            account: account.id,
            provider,
            browser_hash: &token::hash(&browser),
            nonce: &authorization.nonce,
            pkce_verifier: &authorization.pkce_verifier,
            take_over,
            now,
            expires_at: now + AT_PROVIDER_MS,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(Started { url: authorization.url, browser }))
}

const DISABLED: &str = "This account is disabled. Ask your PBX provider.";
const UNREACHABLE: &str = "Your organisation's sign-in service did not answer as it should. Try again shortly, or sign in with your password.";
const NO_USER: &str = "Your organisation's sign-in worked, but no user of this account has your email address. \
     Ask your administrator to add you.";

/// Finishes a sign-in the provider sent back: the sign-in's next step or its session, or why not.
pub async fn finish(
    state: &AppState,
    back: &Callback<'_>,
    browser: Option<&str>,
    client: &ClientInfo,
) -> Result<std::result::Result<(Outcome, String), Refusal>> {
    let now = now_ms();
    let not_valid = || {
        Refusal::new(
            "state_invalid",
            "This sign-in is not valid or was already used. Start it again from the sign-in page.",
        )
    };
    let Some(state_param) = back.state.filter(|s| !s.is_empty()) else { return Ok(Err(not_valid())) };
    let mut tx = state.store.begin().await?;
    tx.affects(Affects::Nothing);
    // Taken, and so used up, whatever comes next: a second try with the same answer fails.
    let pending = store::take_sign_in(tx.conn(), &token::hash(state_param)).await?;
    tx.commit().await?;
    let Some(pending) = pending else { return Ok(Err(not_valid())) };
    let mut conn = state.store.read().await?;
    let account = accounts::by_id(&mut conn, pending.account_id).await?;
    let record = store::provider(&mut conn, pending.account_id, pending.provider_id).await?;
    drop(conn);
    let (Some(account), Some(record)) = (account, record) else { return Ok(Err(not_valid())) };
    let refuse = |reason: &'static str, message: &str| Refusal::new(reason, message).in_account(&account.slug);
    let mut attempt = Attempt { state, account: &account, provider: &record, client, identity: None, user: None };
    // The browser that comes back must be the one that left (login CSRF: another site's
    // provider answer pasted into this browser signs no one in).
    let same_browser = browser.is_some_and(|b| token::hash(b) == pending.browser_hash);
    let early = if pending.expires_at <= now {
        Some(refuse("expired", "This sign-in took too long. Start it again."))
    } else if !same_browser {
        Some(refuse("other_browser", "This sign-in was started in another browser. Start it again here."))
    } else if !record.enabled {
        Some(refuse("provider_disabled", "This sign-in option is turned off. Sign in with your password."))
    } else if let Some(error) = back.error {
        let said = back.error_description.unwrap_or(error);
        Some(refuse("provider_error", &format!("Your organisation's sign-in service refused: {said}")))
    } else if back.iss.is_some_and(|iss| iss != record.issuer) {
        Some(refuse("issuer_mismatch", "The answer came from another sign-in service than the one asked."))
    } else if back.code.is_none_or(str::is_empty) {
        Some(refuse("code_missing", "Your organisation's sign-in service sent no answer. Start again."))
    } else {
        None
    };
    if let Some(refusal) = early {
        return attempt.refused(refusal).await;
    }
    let settings = settings_of(state, &record)?;
    let redirect = redirect_uri(state);
    let identity = match state
        .identity_providers
        .finish(
            &provider_settings(&settings, &redirect),
            back.code.unwrap_or_default(),
            &pending.pkce_verifier,
            &pending.nonce,
        )
        .await
    {
        Ok(identity) => identity,
        Err(e) => {
            tracing::warn!(provider = record.id.0, error = %e, "an identity provider's answer was refused");
            return attempt
                .refused(refuse(e.reason(), "Your organisation's sign-in could not be verified. Start again."))
                .await;
        }
    };
    attempt.identity = Some(identity.clone());
    if let Some(address) = &client.address {
        let mut conn = state.store.read().await?;
        let blocked = crate::store::sign_in_failures::address_blocked_until(&mut conn, address, now).await?;
        drop(conn);
        if blocked.is_some() {
            let message = "Too many failed sign-ins from your address. Try again later.";
            return attempt.refused(refuse("address_blocked", message)).await;
        }
    }
    if !account.enabled {
        return attempt.refused(refuse("account_disabled", DISABLED)).await;
    }
    let mut conn = state.store.read().await?;
    let link = store::link_of_subject(&mut conn, account.id, &identity.issuer, &identity.subject).await?;
    let matched = match &link {
        Some(link) => Match::Linked(users::get(&mut conn, account.id, link.user_id).await?),
        None => match by_email(&mut conn, &account, &settings, &identity).await? {
            Ok(m) => m,
            Err(refusal) => {
                drop(conn);
                return attempt.refused(refusal.in_account(&account.slug)).await;
            }
        },
    };
    drop(conn);
    let user = match matched {
        Match::Linked(Some(user)) | Match::ToLink(user) => Some(user),
        // A link outlives nothing: deleting a user deletes their links.
        Match::Linked(None) => return attempt.refused(refuse("no_user", NO_USER)).await,
        Match::ToCreate => None,
    };
    if let Some(user) = &user {
        attempt.user = Some(user.clone());
        if user.locked_until.is_some_and(|t| t > Timestamp::from_ms(now)) {
            return attempt
                .refused(refuse("locked", "Your user is locked after failed sign-ins. Try again later."))
                .await;
        }
        if user.status != UserStatus::Active {
            return attempt.refused(refuse("user_disabled", "Your user is not active in this account.")).await;
        }
        // R35: the account's and the user's access rules (a refusal is recorded there).
        let gate = crate::sign_in::gate::before_password(
            state,
            Some(&account),
            Some(user),
            &user.login,
            SessionKind::Console,
            client,
        )
        .await;
        let gate = match gate {
            Ok(gate) => gate.after_password(state, &account, user, SessionKind::Console, client).await,
            Err(e) => Err(e),
        };
        if let Err(e) = gate {
            return match e {
                Error::AddressDenied(message) => Ok(Err(refuse("address_denied", &message))),
                other => Err(other),
            };
        }
        if !pending.take_over {
            match sign_in::refuse_second_session(state, &account, user, SessionKind::Console, client, now).await {
                Ok(()) => {}
                Err(Error::SessionActive(message)) => {
                    let mut refusal = refuse("session_active", &message);
                    refusal.may_take_over = Some((account.slug.clone(), record.id));
                    return Ok(Err(refusal));
                }
                Err(e) => return Err(e),
            }
        }
    }
    if user.is_none() {
        // R35: someone made a user at this sign-in comes from where the account's rules allow
        // (a new user has no rules of their own yet).
        let label = identity.email.clone().unwrap_or_else(|| identity.subject.clone());
        let gate =
            crate::sign_in::gate::before_password(state, Some(&account), None, &label, SessionKind::Console, client)
                .await;
        match gate {
            Ok(_) => {}
            Err(Error::AddressDenied(message)) => return Ok(Err(refuse("address_denied", &message))),
            Err(e) => return Err(e),
        }
    }
    let mut tx = state.store.begin().await?;
    tx.affects(Affects::Nothing);
    let user = match user {
        Some(user) => {
            // Read again with the row locked: an admin may have disabled or locked the user
            // since the checks above.
            let fresh = users::sign_in_state(tx.conn(), user.id).await?;
            let late = match &fresh {
                None => Some(("no_user", NO_USER)),
                Some(f) if f.status != UserStatus::Active => {
                    Some(("user_disabled", "Your user is not active in this account."))
                }
                Some(f) if f.locked_until.is_some_and(|t| t > Timestamp::from_ms(now)) => {
                    Some(("locked", "Your user is locked after failed sign-ins. Try again later."))
                }
                Some(_) => None,
            };
            if let Some((reason, message)) = late {
                drop(tx);
                return attempt.refused(refuse(reason, message)).await;
            }
            match &link {
                Some(link) => store::touch_link(tx.conn(), link.id, now).await?,
                None => {
                    if let Err(refusal) = self::link(tx.conn(), &attempt, &user, now).await? {
                        drop(tx);
                        return attempt.refused(refusal.in_account(&account.slug)).await;
                    }
                }
            }
            user
        }
        None => match create(tx.conn(), &attempt, &settings, now).await? {
            Ok(user) => {
                tx.affects(Affects::Users(vec![user.id]));
                user
            }
            Err(refusal) => {
                drop(tx);
                return attempt.refused(refusal.in_account(&account.slug)).await;
            }
        },
    };
    let trusted = record.trust_second_factor && names_a_second_factor(&identity.methods);
    let progress = Progress {
        actor: Actor {
            account: account.id,
            user: Some(user.id),
            label: user.login.clone(),
            address: client.address.clone(),
        },
        account: &account,
        user: &user,
        kind: SessionKind::Console,
        take_over: pending.take_over,
        client,
        now,
        device_hash: None,
        origin: client.address.clone(),
        method: SignInMethod::IdentityProvider,
        provider_second_factor: trusted,
    };
    let outcome = sign_in::proceed(state, &mut tx, &progress, Passed::FirstFactor).await?;
    let outcome = sign_in::finish(state, tx, &progress, outcome).await?;
    Ok(Ok((outcome, account.slug.clone())))
}

/// Who the answer is about, before any check of the user.
enum Match {
    /// Linked earlier (the user, if they still exist).
    Linked(Option<UserRecord>),
    /// Found by email: linked by this sign-in.
    ToLink(UserRecord),
    /// No one: made by this sign-in (the provider allows it).
    ToCreate,
}

/// The first sign-in of this person: their verified email, in an allowed domain, names the user.
async fn by_email(
    conn: &mut Conn,
    account: &AccountRecord,
    settings: &Settings,
    identity: &Identity,
) -> Result<std::result::Result<Match, Refusal>> {
    let Some(email) = identity.email.as_deref() else {
        return Ok(Err(Refusal::new(
            "no_email",
            "Your organisation's sign-in service gave no email address, which Roster needs to find your user.",
        )));
    };
    if !identity.email_verified && !settings.allow_unverified_email {
        return Ok(Err(Refusal::new(
            "email_unverified",
            "Your organisation's sign-in service has not verified your email address. Verify it there first.",
        )));
    }
    let Ok(email) = Email::parse(email) else {
        return Ok(Err(Refusal::new("email_invalid", "The email address your sign-in service gave is not valid.")));
    };
    if !settings.domain_allowed(&email) {
        return Ok(Err(Refusal::new(
            "domain_not_allowed",
            "Your email address's domain may not sign in to this account through this service.",
        )));
    }
    match users::by_email_key(conn, account.id, &email.key()).await? {
        Some(user) => {
            // A user linked to someone else at this provider is not linked to a second person
            // by email: an admin unlinks the first one if it is the same person.
            let links = store::links_of_user(conn, account.id, user.id).await?;
            if links.iter().any(|l| l.issuer == settings.issuer) {
                return Ok(Err(Refusal::new(
                    "already_linked",
                    "The user with your email address is linked to another identity at this sign-in service. \
                     Ask your administrator.",
                )));
            }
            Ok(Ok(Match::ToLink(user)))
        }
        None if settings.create_users => Ok(Ok(Match::ToCreate)),
        None => Ok(Err(Refusal::new("no_user", NO_USER))),
    }
}

/// A sign-in's answer and what it found, for the activity log.
struct Attempt<'a> {
    state: &'a AppState,
    account: &'a AccountRecord,
    provider: &'a ProviderRecord,
    client: &'a ClientInfo,
    identity: Option<Identity>,
    user: Option<UserRecord>,
}

impl Attempt<'_> {
    fn actor(&self) -> Actor {
        let label = match (&self.user, &self.identity) {
            (Some(u), _) => u.login.clone(),
            (None, Some(i)) => i.email.clone().unwrap_or_else(|| i.subject.clone()),
            (None, None) => format!("sso: {}", self.provider.label),
        };
        let label: String = label.chars().take(128).collect();
        Actor {
            account: self.account.id,
            user: self.user.as_ref().map(|u| u.id),
            label,
            address: self.client.address.clone(),
        }
    }

    /// What every record of this sign-in says: the provider, and who the provider said it was.
    fn changes(&self) -> Changes {
        let mut changes = Changes::new();
        changes.set("provider", &self.provider.label).set("provider_id", self.provider.id.0);
        if let Some(identity) = &self.identity {
            changes.set("subject", &identity.subject);
            if let Some(email) = &identity.email {
                changes.set("email", email);
            }
        }
        changes
    }

    /// Records `auth.sso_refused` and gives the refusal back.
    async fn refused(&self, refusal: Refusal) -> Result<std::result::Result<(Outcome, String), Refusal>> {
        metrics::counter!("roster_sign_ins_total", "outcome" => "sso_refused").increment(1);
        let mut changes = self.changes();
        changes.set("reason", refusal.reason);
        let actor = self.actor();
        let target = match &self.user {
            Some(u) => Target::user(u.id, &u.login),
            None => Target { kind: "identity_provider", id: Some(self.provider.id.0), label: &self.provider.label },
        };
        let mut tx = self.state.store.begin().await?;
        tx.affects(Affects::Nothing);
        activity::service::record(tx.conn(), &actor, "auth.sso_refused", target, &changes).await?;
        tx.commit().await?;
        Ok(Err(refusal))
    }
}

/// Links the provider's person to the user found by email (`auth.sso_linked`). Two sign-ins
/// racing to link (the same person twice, or two people to one user) meet the unique indexes:
/// the second is refused as `already_linked`.
async fn link(
    conn: &mut Conn,
    attempt: &Attempt<'_>,
    user: &UserRecord,
    now: i64,
) -> Result<std::result::Result<(), Refusal>> {
    let identity = attempt.identity.as_ref().expect("verified before linking");
    let inserted = store::insert_link(
        conn,
        &NewLink {
            account: attempt.account.id,
            user: user.id,
            provider: attempt.provider.id,
            issuer: &identity.issuer,
            subject: &identity.subject,
            email: identity.email.as_deref(),
            now,
        },
    )
    .await;
    match inserted {
        Ok(_) => {}
        Err(e) if e.as_database_error().is_some_and(|d| d.is_unique_violation()) => {
            return Ok(Err(Refusal::new(
                "already_linked",
                "The user with your email address was just linked to an identity at this sign-in service. \
                 Try again, or ask your administrator.",
            )));
        }
        Err(e) => return Err(e.into()),
    }
    let actor = Actor { user: Some(user.id), label: user.login.clone(), ..attempt.actor() };
    activity::service::record(conn, &actor, "auth.sso_linked", Target::user(user.id, &user.login), &attempt.changes())
        .await?;
    Ok(Ok(()))
}

/// Makes the user the provider vouched for (the provider allows it), with its roles and desks,
/// through every rule of creating a user (seats, uniqueness, the record), and links them.
async fn create(
    conn: &mut Conn,
    attempt: &Attempt<'_>,
    settings: &Settings,
    now: i64,
) -> Result<std::result::Result<UserRecord, Refusal>> {
    let identity = attempt.identity.as_ref().expect("verified before creating");
    let email = Email::parse(identity.email.as_deref().unwrap_or_default())
        .map_err(|_| Error::Internal(anyhow::anyhow!("an email checked before no longer parses")))?;
    let account = attempt.account.id;
    let login = crate::users::invitations::free_login(conn, account, &email, &mut HashSet::new()).await?;
    let clean = |name: &Option<String>| -> Option<Option<String>> {
        name.as_deref().map(|n| n.chars().take(64).collect::<String>()).filter(|n| !n.trim().is_empty()).map(Some)
    };
    let input = UserInput {
        login: Some(login),
        email: Some(Some(email.as_str().to_string())),
        first_name: clean(&identity.given_name),
        last_name: clean(&identity.family_name),
        roles: (!settings.new_user_roles.is_empty()).then(|| settings.new_user_roles.clone()),
        desks: (!settings.new_user_desks.is_empty()).then(|| settings.new_user_desks.clone()),
        ..Default::default()
    };
    let fields = match input.to_fields(None) {
        Ok(fields) => fields,
        Err(e) => return Ok(Err(not_created(&e))),
    };
    let principal = creator(account, &attempt.provider.label);
    let new = NewUser { input: &input, fields, password: None, invitation: false, seat_taken: false };
    let id = match insert_checked(conn, attempt.state, &principal, new, now).await {
        Ok(id) => id,
        Err(e @ (Error::Validation(_) | Error::StateConflict(_) | Error::Forbidden(_) | Error::NotFound(_))) => {
            return Ok(Err(not_created(&e)));
        }
        Err(e) => return Err(e),
    };
    let user = users::get(conn, account, id).await?.ok_or(Error::NotFound("user"))?;
    let created = Attempt { user: Some(user.clone()), identity: Some(identity.clone()), ..*attempt };
    let mut changes = created.changes();
    changes.set("roles", &settings.new_user_roles).set("desks", &settings.new_user_desks);
    activity::service::record(
        conn,
        &created.actor(),
        "auth.sso_user_created",
        Target::user(user.id, &user.login),
        &changes,
    )
    .await?;
    if let Err(refusal) = link(conn, &created, &user, now).await? {
        return Ok(Err(refusal));
    }
    Ok(Ok(user))
}

/// Why a user was not made, in words the person can pass on to their administrator.
fn not_created(e: &Error) -> Refusal {
    let seats = e.field_issues().iter().any(|i| i.code == "seat_limit" || i.field == "seats");
    match seats {
        true => Refusal::new(
            "seat_limit",
            "Your organisation's sign-in worked, but this account has no free seat for a new user. \
             Ask your administrator.",
        ),
        false => {
            let detail: Vec<String> = e.field_issues().iter().map(|i| format!("{}: {}", i.field, i.message)).collect();
            Refusal::new("user_not_created", format!("Your user could not be made: {}.", detail.join("; ")))
        }
    }
}

/// Who makes users at their first sign-in: the provider's configuration, which an admin saved
/// (and whose roles and desks that admin could give, D1); recorded as `sso: <label>`.
fn creator(account: AccountId, label: &str) -> Principal {
    let permissions: std::collections::BTreeSet<Permission> = Permission::account_permissions().collect();
    let scopes = permissions.iter().map(|p| (*p, Scope::Account)).collect();
    Principal {
        actor: Actor::system(account, &format!("sso: {label}")),
        api_token: None,
        permissions: std::sync::Arc::new(permissions),
        scopes: std::sync::Arc::new(scopes),
        platform_operator: false,
        admin: true,
        scope: Scope::Account,
        company: None,
    }
}

fn provider_settings<'a>(settings: &'a Settings, redirect_uri: &'a str) -> ProviderSettings<'a> {
    ProviderSettings {
        issuer: &settings.issuer,
        client_id: &settings.client_id,
        client_secret: &settings.client_secret,
        scopes: &settings.scopes,
        redirect_uri,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn methods(m: &[&str]) -> Vec<String> {
        m.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn only_more_than_one_factor_counts_as_a_second_factor() {
        assert!(names_a_second_factor(&methods(&["pwd", "mfa"])));
        assert!(names_a_second_factor(&methods(&["mfa"])));
        assert!(names_a_second_factor(&methods(&["pwd", "otp"])));
        assert!(names_a_second_factor(&methods(&["hwk", "pin"])));
        assert!(!names_a_second_factor(&methods(&["otp"])), "a one-time code alone may be the only factor");
        assert!(!names_a_second_factor(&methods(&["pwd"])));
        assert!(!names_a_second_factor(&methods(&["pwd", "pwd"])));
        assert!(!names_a_second_factor(&methods(&[])));
    }
}
