//! Accounts (R17): creating and changing them, the first start's bootstrap and first admin,
//! and the security settings' edits.

use secrecy::SecretString;
use serde::Serialize;
use utoipa::ToSchema;

use crate::access::{BuiltinRole, Principal};
use crate::activity::activation::Activation;
use crate::activity::{self, Actor, Changes, Target};
use crate::clock::{now_ms, to_rfc3339};
use crate::domain::{EntityName, Login, Slug};
use crate::error::{Error, Issues, Result};
use crate::http::{CursorOf, Page, decode_cursor, encode_cursor};
use crate::ids::{AccountId, UserId};
use crate::model::AccountRecord;
use crate::model::account::DEFAULT_ACCOUNT;
use crate::model::lifecycle::{ActivationCause, ActivationChange};
use crate::model::user::UserFields;
use crate::passwords::hashing as password;
use crate::state::AppState;
use crate::store::accounts as store;
use crate::store::users::Link;
use crate::store::{Conn, Store, named, users};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountView {
    pub id: AccountId,
    pub slug: String,
    pub name: String,
    pub enabled: bool,
    /// Paid seats (R20); `null` for no limit.
    pub seat_limit: Option<i64>,
    /// Whether the account's billing.manage holders may change `seat_limit`; set by a platform
    /// operator, off by default.
    pub seats_self_service: bool,
    /// How the console shows times to the account's users who chose none (R7); `null`: UTC,
    /// `YYYY/MM/DD`, `24h`.
    pub time_zone: Option<String>,
    pub date_format: Option<String>,
    pub time_format: Option<String>,
    /// The SIP domain the account's phones register in and the realm of their digest
    /// authentication (the PBX directory); unique across accounts, the slug until changed.
    pub sip_realm: String,
    /// Whether people sign in with a password (those whose own setting follows the account);
    /// off, they use the account's identity provider, and only users marked `kept` (break-glass
    /// admins) still use a password.
    pub password_sign_in: bool,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip)]
    pub version: i64,
}

impl From<AccountRecord> for AccountView {
    fn from(a: AccountRecord) -> Self {
        AccountView {
            id: a.id,
            slug: a.slug,
            name: a.name,
            enabled: a.enabled,
            seat_limit: a.seat_limit,
            seats_self_service: a.seats_self_service,
            time_zone: a.time_zone,
            date_format: a.date_format,
            time_format: a.time_format,
            sip_realm: a.sip_realm,
            password_sign_in: a.password_sign_in,
            created_at: to_rfc3339(a.created_at),
            updated_at: to_rfc3339(a.updated_at),
            version: a.version,
        }
    }
}

fn check_seat_limit(issues: &mut Issues, seat_limit: Option<i64>) {
    if seat_limit.is_some_and(|s| !(0..=10_000_000).contains(&s)) {
        issues.add("seat_limit", "out_of_range", "must be between 0 and 10,000,000");
    }
}

/// Creates an account with its built-in roles; returns it and the Admin role's id.
async fn insert_account(conn: &mut Conn, slug: &Slug, name: &str, seat_limit: Option<i64>) -> Result<(AccountId, i64)> {
    // The new account's realm is its slug, which another account may have taken as its realm.
    if store::by_sip_realm(conn, slug.as_str()).await?.is_some() {
        return Err(Error::Conflict {
            field: "slug",
            message: format!("another account's SIP realm is {slug}, which a new account's realm would be"),
        });
    }
    let now = now_ms();
    let id = store::insert(conn, slug.as_str(), name, seat_limit, now).await?;
    let mut admin_role = 0;
    for role in BuiltinRole::ALL {
        let role_id = named::insert_builtin_role(
            conn,
            id,
            role.key(),
            role.name(),
            role.description(),
            role.scope().as_str(),
            now,
        )
        .await?;
        let perms: Vec<&str> = role.permissions().iter().map(|p| p.as_str()).collect();
        named::set_role_permissions(conn, role_id, &perms).await?;
        if role == BuiltinRole::Admin {
            admin_role = role_id;
        }
    }
    Ok((id, admin_role))
}

pub async fn create(
    state: &AppState,
    principal: &Principal,
    slug: &str,
    name: &str,
    seat_limit: Option<i64>,
) -> Result<AccountView> {
    let mut issues = Issues::new();
    let slug = issues.check("slug", Slug::parse(slug));
    let name = issues.check("name", EntityName::parse(name));
    check_seat_limit(&mut issues, seat_limit);
    issues.into_result()?;
    let (slug, name) = (slug.expect("checked"), name.expect("checked"));
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    if store::by_slug(conn, slug.as_str()).await?.is_some() {
        return Err(Error::Conflict { field: "slug", message: format!("an account {slug} exists already") });
    }
    let (id, _) = insert_account(conn, &slug, name.as_str(), seat_limit).await?;
    let mut changes = Changes::new();
    changes.set("slug", slug.as_str()).set("name", name.as_str()).set("seat_limit", seat_limit);
    // Recorded in the operator's account, and in the new one, so each log is complete.
    activity::service::record(
        conn,
        &principal.actor,
        "account.created",
        Target { kind: "account", id: Some(id.0), label: slug.as_str() },
        &changes,
    )
    .await?;
    activity::service::record(
        conn,
        &principal.actor.in_account(id),
        "account.created",
        Target { kind: "account", id: Some(id.0), label: slug.as_str() },
        &changes,
    )
    .await?;
    let view = store::by_id(conn, id).await?.ok_or(Error::NotFound("account"))?.into();
    tx.commit().await?;
    Ok(view)
}

/// A change to an account: each `None` keeps the value. Who may make which is the route's to
/// decide (a platform operator enables, disables and sizes accounts).
#[derive(Debug, Default)]
pub struct AccountEdit<'a> {
    pub name: Option<&'a str>,
    pub enabled: Option<bool>,
    pub seat_limit: Option<Option<i64>>,
    pub seats_self_service: Option<bool>,
    /// The console's time display for users who chose none (R7); `Some(None)` clears.
    pub time_zone: Option<Option<&'a str>>,
    pub date_format: Option<Option<&'a str>>,
    pub time_format: Option<Option<&'a str>>,
    pub sip_realm: Option<&'a str>,
    pub password_sign_in: Option<bool>,
}

/// Password sign-in is turned off for the account only when its people have another way in (an
/// enabled identity provider) and an admin keeps a password (D4: a break-glass admin, for when
/// the provider is down). Checked after the change, in its transaction.
async fn passwords_may_go(conn: &mut Conn, account: AccountId) -> Result<()> {
    // The account's guard, as every D4 check takes it: a user's own password sign-in changed
    // meanwhile waits for this transaction, and counts after it.
    crate::store::grants::lock_account(conn, account).await?;
    let providers = crate::store::sso::providers(conn, account).await?;
    if !providers.iter().any(|p| p.enabled) {
        return Err(Error::state_conflict(
            "password_sign_in",
            "no_identity_provider",
            "the account has no enabled identity provider: add one before turning password sign-in off",
        ));
    }
    let breakglass = crate::store::grants::count_admins_keeping_passwords(conn, account).await?;
    if breakglass == 0 {
        return Err(Error::LastAdmin(
            "no active admin would keep a password: set one admin's password sign-in to `kept` (a break-glass \
             admin) before turning it off for the account"
                .into(),
        ));
    }
    Ok(())
}

pub async fn update(
    state: &AppState,
    principal: &Principal,
    account: AccountId,
    expected_version: i64,
    edit: AccountEdit<'_>,
) -> Result<AccountView> {
    let mut issues = Issues::new();
    let name = edit.name.and_then(|n| issues.check("name", EntityName::parse(n)));
    if let Some(limit) = edit.seat_limit {
        check_seat_limit(&mut issues, limit);
    }
    let time_zone = edit.time_zone.map(|z| {
        z.filter(|z| !z.trim().is_empty())
            .and_then(|z| issues.check("time_zone", crate::domain::TimeZoneName::parse(z)))
            .map(|z| z.as_str().to_string())
    });
    let date_format = edit.date_format.map(|d| {
        d.filter(|d| !d.trim().is_empty())
            .and_then(|d| issues.check("date_format", crate::domain::DateFormat::parse(d)))
            .map(|d| d.as_str().to_string())
    });
    let time_format = edit.time_format.map(|t| {
        t.filter(|t| !t.trim().is_empty())
            .and_then(|t| issues.check("time_format", crate::domain::TimeFormat::parse(t)))
            .map(|t| t.as_str().to_string())
    });
    let sip_realm = edit.sip_realm.and_then(|r| issues.check("sip_realm", crate::domain::SipRealm::parse(r)));
    issues.into_result()?;
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let current = store::by_id(conn, account).await?.ok_or(Error::NotFound("account"))?;
    if let Some(realm) = &sip_realm
        && store::by_sip_realm(conn, realm.as_str()).await?.is_some_and(|other| other.id != account)
    {
        return Err(Error::Conflict { field: "sip_realm", message: format!("another account's SIP realm is {realm}") });
    }
    if current.version != expected_version {
        return Err(Error::PreconditionFailed);
    }
    let mut to = current.clone();
    if let Some(n) = name {
        to.name = n.as_str().to_string();
    }
    to.enabled = edit.enabled.unwrap_or(current.enabled);
    to.seat_limit = edit.seat_limit.unwrap_or(current.seat_limit);
    to.seats_self_service = edit.seats_self_service.unwrap_or(current.seats_self_service);
    to.time_zone = time_zone.unwrap_or_else(|| current.time_zone.clone());
    to.date_format = date_format.unwrap_or_else(|| current.date_format.clone());
    to.time_format = time_format.unwrap_or_else(|| current.time_format.clone());
    if let Some(realm) = sip_realm {
        to.sip_realm = realm.as_str().to_string();
    }
    to.password_sign_in = edit.password_sign_in.unwrap_or(current.password_sign_in);
    if to.password_sign_in != current.password_sign_in && !principal.admin {
        // Who signs in how is the identity providers' business: admins only (docs/delegation.md).
        return Err(Error::Forbidden("only the account's admins turn password sign-in on or off".into()));
    }
    if current.password_sign_in && !to.password_sign_in {
        passwords_may_go(conn, account).await?;
    }
    let (new_name, new_enabled, new_limit) = (to.name.clone(), to.enabled, to.seat_limit);
    if !store::update(conn, account, &to, expected_version, now_ms()).await? {
        return Err(Error::PreconditionFailed);
    }
    let mut changes = Changes::new();
    changes
        .diff("name", &current.name, &new_name)
        .diff("enabled", current.enabled, new_enabled)
        .diff("seat_limit", current.seat_limit, new_limit)
        .diff("seats_self_service", current.seats_self_service, to.seats_self_service)
        .diff("time_zone", &current.time_zone, &to.time_zone)
        .diff("date_format", &current.date_format, &to.date_format)
        .diff("time_format", &current.time_format, &to.time_format)
        .diff("sip_realm", &current.sip_realm, &to.sip_realm)
        .diff("password_sign_in", current.password_sign_in, to.password_sign_in);
    if current.enabled != new_enabled {
        // R17: a disabled account signs nobody in, and its sessions end; the activation log
        // keeps both ways, for the whole account.
        let actor = principal.actor.in_account(account);
        if !new_enabled {
            let ended = crate::store::sessions::delete_of_account(conn, account).await?;
            changes.set("sessions_ended", ended);
        }
        let change = if new_enabled { ActivationChange::Reactivated } else { ActivationChange::Deactivated };
        let how = Activation::new(change, ActivationCause::Account, state.config.clock.now(), None);
        crate::activity::activation::record_account(conn, &actor, how).await?;
    }
    if !changes.is_empty() {
        activity::service::record(
            conn,
            &principal.actor.in_account(account),
            "account.updated",
            Target { kind: "account", id: Some(account.0), label: &current.slug },
            &changes,
        )
        .await?;
    }
    let view = store::by_id(conn, account).await?.ok_or(Error::NotFound("account"))?.into();
    tx.commit().await?;
    Ok(view)
}

/// How a new account gets its first admin.
#[derive(Debug, Clone)]
pub enum FirstAdmin<'a> {
    /// Invited by email (R19): they choose their login and password, then set up their second factor.
    Invite { email: &'a str },
    /// Made now with a generated password, returned once.
    Password { login: &'a str },
}

/// An account with its built-in roles and its first admin, in one transaction (platform
/// operators). Returns the account and, for `FirstAdmin::Password`, the password (shown once).
pub async fn create_with_admin(
    state: &AppState,
    principal: &Principal,
    slug: &str,
    name: &str,
    seat_limit: Option<i64>,
    first: FirstAdmin<'_>,
) -> Result<(AccountView, Option<SecretString>)> {
    if !principal.platform_operator {
        return Err(Error::Forbidden("only a platform operator creates accounts".into()));
    }
    let mut issues = Issues::new();
    let slug = issues.check("slug", Slug::parse(slug));
    let name = issues.check("name", EntityName::parse(name));
    check_seat_limit(&mut issues, seat_limit);
    match first {
        FirstAdmin::Invite { email } => {
            issues.check("admin_email", crate::domain::Email::parse(email));
        }
        FirstAdmin::Password { login } => {
            issues.check("admin_login", Login::parse(login));
        }
    }
    issues.into_result()?;
    let (slug, name) = (slug.expect("checked"), name.expect("checked"));
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    if store::by_slug(conn, slug.as_str()).await?.is_some() {
        return Err(Error::Conflict { field: "slug", message: format!("an account {slug} exists already") });
    }
    let (id, admin_role) = insert_account(conn, &slug, name.as_str(), seat_limit).await?;
    let mut changes = Changes::new();
    changes.set("slug", slug.as_str()).set("name", name.as_str()).set("seat_limit", seat_limit);
    for actor in [principal.actor.clone(), principal.actor.in_account(id)] {
        let target = Target { kind: "account", id: Some(id.0), label: slug.as_str() };
        activity::service::record(conn, &actor, "account.created", target, &changes).await?;
    }
    let password = match first {
        FirstAdmin::Password { login } => {
            let login = Login::parse(login)
                .map_err(|i| Error::Validation(vec![crate::error::FieldIssue::from_invalid("admin_login", i)]))?;
            let (_, pw) = insert_admin(conn, id, admin_role, &login, false, &principal.actor.label).await?;
            Some(pw)
        }
        FirstAdmin::Invite { email } => {
            // The operator invites, acting in the new account (and the seats allow the one).
            let inviter = Principal { actor: principal.actor.in_account(id), ..principal.clone() };
            let request = crate::users::invitations::InviteRequest {
                invitees: vec![crate::users::invitations::Invitee { email: email.to_string(), ..Default::default() }],
                roles: vec![crate::ids::RoleId(admin_role)],
                send: true,
                ..Default::default()
            };
            crate::users::invitations::invite_in(state, conn, &inviter, &request).await.map_err(|e| match e {
                Error::Validation(issues) => Error::Validation(
                    issues
                        .into_iter()
                        .map(|i| crate::error::FieldIssue::new("admin_email", i.code, i.message))
                        .collect(),
                ),
                other => other,
            })?;
            None
        }
    };
    let view = store::by_id(conn, id).await?.ok_or(Error::NotFound("account"))?.into();
    tx.commit().await?;
    state.mail.wake();
    Ok((view, password))
}

/// Every account with how many users it has and how many seats they take (the console's
/// Accounts page), one page in slug order.
pub async fn overview(
    state: &AppState,
    cursor: Option<&str>,
    limit: i64,
) -> Result<(Vec<AccountOverview>, Option<String>)> {
    let page = list(state, cursor, limit).await?;
    let mut conn = state.store.read().await?;
    let mut out = Vec::with_capacity(page.items.len());
    for account in page.items {
        let users = users::count_in_account(&mut conn, account.id).await?;
        let seats_used = store::seats_used(&mut conn, account.id).await?;
        out.push(AccountOverview { account, users, seats_used });
    }
    Ok((out, page.next_cursor))
}

pub struct AccountOverview {
    pub account: AccountView,
    pub users: i64,
    pub seats_used: i64,
}

/// R20: the number of seats, changed by a platform operator, or by the account's own
/// billing.manage holders where the operator allows it (`seats_self_service`).
pub async fn set_seats(
    state: &AppState,
    principal: &Principal,
    account: AccountId,
    total: Option<i64>,
) -> Result<AccountView> {
    let current = {
        let mut conn = state.store.read().await?;
        store::by_id(&mut conn, account).await?.ok_or(Error::NotFound("account"))?
    };
    if !principal.platform_operator && !current.seats_self_service {
        return Err(Error::Forbidden("the platform operator manages this account's seats".into()));
    }
    let edit = AccountEdit { seat_limit: Some(total), ..Default::default() };
    update(state, principal, account, current.version, edit).await
}

/// One page of every account, in slug order (platform operators).
pub async fn list(state: &AppState, cursor: Option<&str>, limit: i64) -> Result<Page<AccountView>> {
    let after = cursor.filter(|c| !c.is_empty()).map(|c| decode_cursor(CursorOf::Accounts, c)).transpose()?;
    let mut conn = state.store.read().await?;
    let rows = store::list(&mut conn, after.as_deref(), limit + 1).await?;
    Ok(Page::of(rows, limit, |a| encode_cursor(CursorOf::Accounts, &a.slug)).map(Into::into))
}

/// An admin of `account` with a generated password (returned once), made by the system.
async fn insert_admin(
    conn: &mut Conn,
    account: AccountId,
    admin_role: i64,
    login: &Login,
    platform_operator: bool,
    actor_label: &str,
) -> Result<(UserId, SecretString)> {
    let pw = password::generate();
    let hash = password::hash(pw.clone()).await?;
    let mut fields = UserFields::new(login.clone());
    fields.flags.is_superuser = platform_operator;
    if users::find_id_by_login(conn, account, &login.key()).await?.is_some() {
        return Err(Error::Conflict { field: "login", message: format!("{login} exists already in this account") });
    }
    let id = users::insert(conn, account, &fields, Some(&hash), false, now_ms()).await?;
    users::set_links(conn, id, Link::Roles, &[admin_role]).await?;
    let mut changes = Changes::new();
    changes
        .set("login", login.as_str())
        .set("roles", ["Admin"])
        .set("is_superuser", platform_operator)
        .set("password", "generated");
    activity::service::record(
        conn,
        &Actor::system(account, actor_label),
        "user.created",
        Target::user(id, login.as_str()),
        &changes,
    )
    .await?;
    Ok((id, pw))
}

/// On the very first start: the `default` account and its first admin, a platform operator.
/// Returns the admin's login and generated password, to be shown once.
pub async fn bootstrap(db: &Store) -> Result<Option<(String, SecretString)>> {
    let mut tx = db.begin().await?;
    let conn = tx.conn();
    if store::count(conn).await? > 0 {
        sync_builtin_roles(conn).await?;
        tx.commit().await?;
        return Ok(None);
    }
    let slug = Slug::parse(DEFAULT_ACCOUNT).expect("valid slug");
    let (account, admin_role) = insert_account(conn, &slug, "Default", None).await?;
    let login = Login::parse("admin").expect("valid login");
    let (_, pw) = insert_admin(conn, account, admin_role, &login, true, "first start").await?;
    tx.commit().await?;
    Ok(Some((login.as_str().to_string(), pw)))
}

/// Built-in roles keep their fixed permissions (R12) as the catalog grows: a permission added
/// by a newer version reaches the roles of accounts made before it.
async fn sync_builtin_roles(conn: &mut Conn) -> Result<()> {
    for role in BuiltinRole::ALL {
        for permission in role.permissions() {
            let added = named::grant_to_builtin(conn, role.key(), permission.as_str()).await?;
            if added > 0 {
                tracing::info!(
                    role = role.key(),
                    permission = permission.as_str(),
                    roles = added,
                    "built-in role gained a new permission"
                );
            }
        }
    }
    Ok(())
}

/// `roster admin create`: a new admin in an existing account.
pub async fn create_admin(
    db: &Store,
    account_slug: &str,
    login: &str,
    platform_operator: bool,
) -> Result<SecretString> {
    let login =
        Login::parse(login).map_err(|i| Error::Validation(vec![crate::error::FieldIssue::from_invalid("login", i)]))?;
    let mut tx = db.begin().await?;
    let conn = tx.conn();
    let account = store::by_slug(conn, account_slug).await?.ok_or(Error::NotFound("account"))?;
    let admin_role =
        named::find_by_name(conn, Link::Roles, account.id, "admin").await?.ok_or(Error::NotFound("Admin role"))?;
    let (_, pw) = insert_admin(conn, account.id, admin_role, &login, platform_operator, "command line").await?;
    tx.commit().await?;
    Ok(pw)
}

/// Replaces an account's security settings if it is still at `expected_version`; records
/// each changed setting.
pub async fn update_security(
    state: &crate::state::AppState,
    principal: &Principal,
    account: &AccountRecord,
    settings: crate::model::settings::SecuritySettings,
    expected_version: i64,
) -> Result<AccountRecord> {
    settings.validate().into_result()?;
    let before = serde_json::to_value(&account.security).unwrap_or_default();
    let after = serde_json::to_value(&settings).unwrap_or_default();
    let mut tx = state.store.begin().await?;
    if !store::set_security(tx.conn(), account.id, &settings, expected_version, now_ms()).await? {
        return Err(Error::PreconditionFailed);
    }
    let mut changes = Changes::new();
    for section in ["password_policy", "lockout", "sessions"] {
        let (Some(b), Some(a)) =
            (before.get(section).and_then(|v| v.as_object()), after.get(section).and_then(|v| v.as_object()))
        else {
            continue;
        };
        for (key, value) in a {
            if b.get(key) != Some(value) {
                changes.diff(&format!("{section}.{key}"), b.get(key).cloned(), Some(value.clone()));
            }
        }
    }
    let target = Target { kind: "account", id: Some(account.id.0), label: &account.slug };
    activity::service::record(tx.conn(), &principal.actor, "settings.security_changed", target, &changes).await?;
    let updated = store::by_id(tx.conn(), account.id).await?.ok_or(Error::NotFound("account"))?;
    tx.commit().await?;
    Ok(updated)
}

/// The account with `slug`, if there is one (the sign-in pages, before anyone is signed in).
pub async fn by_slug(state: &AppState, slug: &str) -> Result<Option<AccountRecord>> {
    let mut conn = state.store.read().await?;
    Ok(store::by_slug(&mut conn, slug).await?)
}

/// The account `id` as it is in the database now (its current version, for an edit form).
pub async fn by_id(state: &AppState, id: AccountId) -> Result<Option<AccountRecord>> {
    let mut conn = state.store.read().await?;
    Ok(store::by_id(&mut conn, id).await?)
}
