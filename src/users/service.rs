//! The rules for users: create, edit, delete, list, passwords, avatars, each bounded by the
//! principal's reach (D1–D9). No SQL here (that is the store's). The views returned are the
//! API's JSON shapes, and a list pages by an opaque cursor (`http::encode_cursor`), so that
//! the API and the console page the same way.

use std::sync::Arc;

use secrecy::SecretString;
use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

use crate::access::principal::{self, Principal};
use crate::access::{Permission, Scope};
use crate::activity::activation::Activation;
use crate::activity::{self, Changes, Target as EventTarget};
use crate::clock::{Timestamp, now_ms, to_rfc3339};
use crate::domain::Login;
use crate::error::{Error, Issues, Result};
use crate::http::{CursorOf, Page};
use crate::ids::{AccountId, UserId};
use crate::model::lifecycle::{ActivationCause, ActivationChange};
use crate::model::settings::SecuritySettings;
use crate::model::user::{Assignments, TwoFactorMethod, UserFields, UserFlags, UserRecord, UserStatus};
use crate::model::user_filter::UserFilter;
use crate::passwords::change::{self, Holder};
use crate::passwords::hashing as password;
use crate::secrets::Secrets;
use crate::state::AppState;
use crate::store::user_index::{AccountCatalog, IndexPage, Listed};
use crate::store::users::{self as store, Link};
use crate::store::{Affects, Conn, accounts, grants, named, password_history};
use crate::users::input::UserInput;
use crate::users::seats;

/// A user as the API and console show them. Secrets are never part of it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    pub id: UserId,
    pub login: String,
    pub display_name: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub extension: Option<String>,
    pub sip_username: Option<String>,
    pub phone_topology: Option<String>,
    pub company: Option<String>,
    pub related_contact: Option<String>,
    pub external_id: Option<String>,
    pub time_zone: Option<String>,
    pub date_format: Option<String>,
    pub time_format: Option<String>,
    #[serde(flatten)]
    pub flags: UserFlags,
    pub status: UserStatus,
    pub two_factor_method: crate::model::user::TwoFactorMethod,
    pub two_factor_mode: crate::model::user::TwoFactorMode,
    /// Whether the authenticator app is set up (R29); until then a user whose method uses it
    /// sets it up at their next sign-in.
    pub totp_enrolled: bool,
    pub must_change_password: bool,
    /// Until when sign-in is locked after too many failures; `null` when it is not.
    pub locked_until: Option<String>,
    pub password_changed_at: Option<String>,
    /// When the password expires (R24); `null` when it never does.
    pub password_expires_at: Option<String>,
    /// Overrides of the account's settings; `null` follows the account (R24, R34).
    pub password_expiry_months: Option<i64>,
    pub console_idle_minutes: Option<i64>,
    pub phone_idle_minutes: Option<i64>,
    /// R31: every sign-in asks this user for a CAPTCHA.
    pub captcha_required: bool,
    /// Whether their password signs them in: `account` (as the account says), `off` (single
    /// sign-on only) or `kept` (always: a break-glass admin).
    pub password_sign_in: crate::model::user::PasswordSignIn,
    pub has_avatar: bool,
    /// Whether a SIP password is set; the password itself is read only through `…/sip-credentials`.
    pub has_sip_password: bool,
    /// The current or next deactivation period (R18); `null` when none is open. Its details
    /// and the user's other periods are under `…/users/{id}/deactivations`.
    pub deactivation: Option<DeactivationShown>,
    /// For an invited user (R19): when the link last sent ends (it may have passed: then it
    /// can be resent); `null` when it was saved and not sent yet. Details are under
    /// `…/invitations`.
    pub invitation_expires_at: Option<String>,
    #[serde(flatten)]
    pub assignments: Assignments,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip)]
    pub version: i64,
}

/// A deactivation period as a user shows it: out from `from`, back at `until` (`null`: not by
/// itself).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeactivationShown {
    pub from: String,
    pub until: Option<String>,
}

impl UserView {
    fn new(r: UserRecord, assignments: Assignments, settings: &SecuritySettings) -> Self {
        let now = Timestamp::now();
        UserView {
            locked_until: r.locked_until.filter(|&t| t > now).map(Timestamp::to_rfc3339),
            password_changed_at: r.password_changed_at.map(Timestamp::to_rfc3339),
            password_expires_at: crate::passwords::change::expires_at(
                settings,
                r.password_changed_at,
                r.password_expiry_months,
            )
            .map(Timestamp::to_rfc3339),
            password_expiry_months: r.password_expiry_months,
            console_idle_minutes: r.console_idle_minutes,
            phone_idle_minutes: r.phone_idle_minutes,
            captcha_required: r.captcha_required,
            password_sign_in: r.password_sign_in,
            id: r.id,
            display_name: r.display_name(),
            flags: r.flags(),
            status: r.status,
            two_factor_method: r.two_factor_method,
            two_factor_mode: r.two_factor_mode,
            totp_enrolled: r.totp_confirmed_at.is_some(),
            must_change_password: r.must_change_password,
            has_avatar: r.avatar_at.is_some(),
            has_sip_password: r.sip_password.is_some(),
            invitation_expires_at: r
                .invitation_expires_at
                .filter(|_| r.status == UserStatus::Invited)
                .map(Timestamp::to_rfc3339),
            deactivation: r.deactivation_from.map(|from| DeactivationShown {
                from: from.to_rfc3339(),
                until: r.deactivation_until.map(Timestamp::to_rfc3339),
            }),
            created_at: to_rfc3339(r.created_at),
            updated_at: to_rfc3339(r.updated_at),
            version: r.version,
            login: r.login,
            email: r.email,
            first_name: r.first_name,
            last_name: r.last_name,
            phone: r.phone,
            mobile: r.mobile,
            extension: r.extension,
            sip_username: r.sip_username,
            phone_topology: r.phone_topology,
            company: r.company,
            related_contact: r.related_contact,
            external_id: r.external_id,
            time_zone: r.time_zone,
            date_format: r.date_format,
            time_format: r.time_format,
            assignments,
        }
    }
}

async fn view(conn: &mut Conn, account: AccountId, id: UserId) -> Result<UserView> {
    let record = store::get(conn, account, id).await?.ok_or(Error::NotFound("user"))?;
    let mut assignments = store::assignments(conn, &[id]).await?;
    let settings = accounts::by_id(conn, account).await?.map(|a| a.security).unwrap_or_default();
    Ok(UserView::new(record, assignments.remove(&id).unwrap_or_default(), &settings))
}

/// One user the principal sees (D8); others are 404.
pub async fn get(state: &AppState, principal: &Principal, id: UserId) -> Result<UserView> {
    let mut conn = state.store.read().await?;
    principal::seen_user(&mut conn, principal, id).await?;
    view(&mut conn, principal.account(), id).await
}

/// The login key a users cursor holds: one that cannot be a login is a cursor this server never gave.
fn login_cursor(cursor: &str) -> Result<String> {
    let key = crate::http::decode_cursor(CursorOf::Users, cursor)?;
    match Login::parse(&key) {
        Ok(login) if login.key() == key => Ok(key),
        _ => Err(crate::http::bad_cursor()),
    }
}

/// One page of the users the principal sees (D8) that match `filter` (R21), in login order, each
/// as the JSON the API sends. A user's JSON is made once and kept with their record until they
/// change; making it was a sixth of a page's work.
pub async fn list_json(
    state: &AppState,
    principal: &Principal,
    filter: &UserFilter,
    cursor: Option<&str>,
    limit: i64,
) -> Result<Page<ListedJson>> {
    let (page, next_cursor) = listed(state, principal, filter, cursor, limit).await?;
    let settings = &page.settings;
    let now = Timestamp::now();
    let items = page
        .users
        .into_iter()
        .map(|l| {
            let render = || {
                let view = UserView::new(l.record.clone(), l.assignments.clone(), settings);
                serde_json::value::to_raw_value(&view).map_err(|e| Error::Internal(e.into()))
            };
            if l.shows_a_lock(now) {
                return Ok(ListedJson::Fresh(render()?));
            }
            if l.rendered.get().is_none() {
                let _ = l.rendered.set(render()?);
            }
            Ok(ListedJson::Kept(l))
        })
        .collect::<Result<_>>()?;
    Ok(Page { items, next_cursor })
}

/// One user of a listed page, as JSON (see `list_json`).
pub enum ListedJson {
    Kept(Arc<Listed>),
    Fresh(Box<RawValue>),
}

impl Serialize for ListedJson {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            ListedJson::Kept(l) => l.rendered.get().expect("rendered by list_json").serialize(serializer),
            ListedJson::Fresh(raw) => raw.serialize(serializer),
        }
    }
}

/// A page of users as kept in memory, with the account's catalog as of the same moment: what
/// the console's users table is made from (its pickers, and each row's reach, D2).
pub struct KeptPage {
    pub users: Vec<Arc<Listed>>,
    pub settings: Arc<SecuritySettings>,
    pub catalog: Arc<AccountCatalog>,
    pub next_cursor: Option<String>,
    /// How many users the principal sees that match the filter, when asked for.
    pub count: Option<i64>,
}

impl KeptPage {
    pub fn view(&self, listed: &Listed) -> UserView {
        UserView::new(listed.record.clone(), listed.assignments.clone(), &self.settings)
    }
}

/// The same page as `list_json`, its users as kept, and the catalog as of the page, and with
/// `count` how many users match: one read of what changed serves them all.
pub async fn list_kept(
    state: &AppState,
    principal: &Principal,
    filter: &UserFilter,
    cursor: Option<&str>,
    limit: i64,
    count: bool,
) -> Result<KeptPage> {
    let mut conn = state.store.read().await?;
    let (page, next_cursor) = listed_on(&mut conn, state, principal, filter, cursor, limit).await?;
    let index = state.store.user_index();
    let catalog = index.catalog_as_listed(&mut conn, principal.account()).await?;
    let count = match count {
        true => Some(index.count_as_listed(&mut conn, principal.account(), &principal.seen(), filter).await?),
        false => None,
    };
    Ok(KeptPage { users: page.users, settings: page.settings, catalog, next_cursor, count })
}

/// The page's users, from the user list's memory (`store::user_index`), and the next cursor.
async fn listed(
    state: &AppState,
    principal: &Principal,
    filter: &UserFilter,
    cursor: Option<&str>,
    limit: i64,
) -> Result<(IndexPage, Option<String>)> {
    let mut conn = state.store.read().await?;
    listed_on(&mut conn, state, principal, filter, cursor, limit).await
}

async fn listed_on(
    conn: &mut Conn,
    state: &AppState,
    principal: &Principal,
    filter: &UserFilter,
    cursor: Option<&str>,
    limit: i64,
) -> Result<(IndexPage, Option<String>)> {
    let after = cursor.filter(|c| !c.is_empty()).map(login_cursor).transpose()?;
    let limit = usize::try_from(limit).unwrap_or(0);
    let page = state
        .store
        .user_index()
        .page(conn, principal.account(), &principal.seen(), filter, after.as_deref(), limit)
        .await?;
    let next_cursor = match page.more {
        true => {
            page.users.last().map(|l| crate::http::encode_cursor(CursorOf::Users, &l.record.login.to_ascii_lowercase()))
        }
        false => None,
    };
    Ok((page, next_cursor))
}

/// The new user, and the generated password when none was given (shown once, R9).
/// The sealed form of the SIP password the input sets: `None` keeps it, `Some(None)` clears it.
/// The name a phone authenticates with is the SIP user name, or the extension without one: a
/// clash of that name (migration 0015's unique index) is the extension's when there is no SIP
/// user name.
fn sip_name_taken(err: Error, fields: &UserFields) -> Error {
    match err {
        Error::Conflict { field: "sip_username", .. } if fields.sip_username.is_none() => Error::Conflict {
            field: "extension",
            message: "another user of the account authenticates with this as their SIP user name".into(),
        },
        other => other,
    }
}

fn seal_sip_password(secrets: &Secrets, id: UserId, input: &UserInput) -> Option<Option<String>> {
    use secrecy::ExposeSecret;
    let owner = crate::secrets::Owner::sip_password(id);
    input.sip_password.as_ref().map(|p| p.as_ref().map(|p| secrets.seal(owner, p.expose_secret())))
}

pub async fn create(
    state: &AppState,
    principal: &Principal,
    input: UserInput,
) -> Result<(UserView, Option<SecretString>)> {
    let account = principal.account();
    let fields = input.to_fields(None)?;
    let settings = account_settings(state, account).await?;
    let (password, generated) = change::given_or_generated(input.password.clone(), &settings, fields.login.as_str());
    if generated.is_none() {
        let holder =
            Holder { id: None, login: fields.login.as_str(), email: fields.email.as_ref().map(|e| e.as_str()) };
        change::vet(state, &settings, &holder, &password, "password").await?;
    }
    let hash = password::hash(password).await?;
    let now = now_ms();
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let new = NewUser {
        input: &input,
        fields,
        password: Some(NewPassword {
            hash: &hash,
            generated: generated.is_some(),
            history: settings.password_policy.history,
        }),
        invitation: false,
        seat_taken: false,
    };
    let id = insert_checked(conn, state, principal, new, now).await?;
    let view = view(conn, account, id).await?;
    tx.commit().await?;
    Ok((view, generated))
}

/// A user about to be created: what was asked, parsed, and how they will sign in.
pub(crate) struct NewUser<'a> {
    pub input: &'a UserInput,
    pub fields: UserFields,
    /// `None`: none yet (an invited user chooses theirs when accepting).
    pub password: Option<NewPassword<'a>>,
    /// Made by an invitation (recorded so in the activity log).
    pub invitation: bool,
    /// The caller made room for this user already (R20: a batch counts seats once).
    pub seat_taken: bool,
}

pub(crate) struct NewPassword<'a> {
    pub hash: &'a str,
    pub generated: bool,
    pub history: u32,
}

/// Every rule of creating a user, checked and written in the caller's transaction — a creation
/// or an invitation: D1 (what is given), D8 (whom one may make), seats (R20), uniqueness, the
/// links, and the activity record.
pub(crate) async fn insert_checked(
    conn: &mut Conn,
    state: &AppState,
    principal: &Principal,
    new: NewUser<'_>,
    now: i64,
) -> Result<UserId> {
    let account = principal.account();
    let NewUser { input, fields, password, invitation, seat_taken } = new;
    // Giving access is editing access: roles, groups and direct permissions need users.edit too.
    if (input.roles.is_some() || input.groups.is_some() || input.permissions.is_some())
        && !principal.has(Permission::UsersEdit)
    {
        return Err(Error::Forbidden("assigning roles, groups or permissions needs users.edit".into()));
    }
    guard_superuser(principal, None, &fields)?;
    let standing = principal::standing(conn, principal).await?;
    let links = resolve_links(conn, account, input).await?;
    keep_within_scope(principal, &standing, None, &fields, &links)?;
    // D8: nobody makes a user they would not see (a desk lead's new user is at one of their
    // desks), decided before uniqueness so that a 409 says nothing of users out of scope.
    let desks = ids(&links, Link::Desks).unwrap_or_default();
    if !principal::would_see(
        conn,
        principal,
        desks,
        fields.flags.is_end_user,
        fields.company.as_ref().map(|c| c.as_str()),
    )
    .await?
    {
        return Err(outside_scope(principal));
    }
    principal::may_assign(
        conn,
        principal,
        ids(&links, Link::Roles),
        ids(&links, Link::Groups),
        input.permissions.as_deref(),
    )
    .await?;
    if occupies_a_seat(&fields, false) && !seat_taken {
        seats::make_room(conn, account, 1).await?;
    }
    check_unique(conn, account, None, None, &fields).await?;
    let must_change = input.must_change_password.unwrap_or(false);
    let id = store::insert(conn, account, &fields, password.as_ref().map(|p| p.hash), must_change, now)
        .await
        .map_err(|e| sip_name_taken(e.into(), &fields))?;
    if let Some(p) = &password {
        password_history::push(conn, id, p.hash, now, p.history).await?;
    }
    let mut changes = created_changes(&fields);
    if let Some(Some(sealed)) = seal_sip_password(&state.secrets, id, input) {
        store::set_sip_password(conn, id, Some(&sealed)).await?;
        changes.set("sip_password", "set");
    }
    for (link, ids) in &links {
        store::set_links(conn, id, *link, ids).await?;
        let names: Vec<String> = named::names(conn, *link, account, ids).await?.into_iter().map(|(_, n)| n).collect();
        if !names.is_empty() {
            changes.set(link.field(), names);
        }
    }
    if let Some(perms) = &input.permissions {
        store::set_permissions(conn, id, perms).await?;
        if !perms.is_empty() {
            changes.set("permissions", perms);
        }
    }
    if password.as_ref().is_some_and(|p| p.generated) {
        changes.set("password", "generated");
    }
    if invitation {
        changes.set("invitation", true);
    }
    principal::seen_user(conn, principal, id).await.map_err(|_| outside_scope(principal))?;
    principal::still_reachable(conn, principal, id, &standing).await?;
    activity::service::record(
        conn,
        &principal.actor,
        "user.created",
        EventTarget::user(id, fields.login.as_str()),
        &changes,
    )
    .await?;
    Ok(id)
}

pub async fn update(
    state: &AppState,
    principal: &Principal,
    id: UserId,
    expected_version: i64,
    input: UserInput,
) -> Result<UserView> {
    let account = principal.account();
    let now = now_ms();
    let status_reason = input.status_reason()?;
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let target = principal::reachable_user(conn, principal, id).await?;
    let standing = principal::standing(conn, principal).await?;
    let current = target.record;
    if current.version != expected_version {
        return Err(Error::PreconditionFailed);
    }
    let fields = input.to_fields(Some(&current))?;
    if current.status == UserStatus::Invited && current.email.as_deref() != fields.email.as_ref().map(|e| e.as_str()) {
        return Err(Error::invalid(
            "email",
            "invited",
            "an invited user's address changes on their invitation, which sends a new link (PATCH …/invitations/{id})",
        ));
    }
    guard_superuser(principal, Some(&current), &fields)?;
    let links = resolve_links(conn, account, &input).await?;
    let before = store::assignments(conn, &[id]).await?.remove(&id).unwrap_or_default();
    if principal.is(id)
        && let Err(refused) =
            refuse_own_access_changes(principal, &current, &fields, &links, &before, input.permissions.as_deref())
    {
        // The last admin giving up their own rights hears D4's answer, the one that matters more.
        if gives_up_admin(conn, account, &current, &fields, &links, &before).await?
            && principal::is_last_admin(conn, account, id).await?
        {
            return Err(principal::last_admin());
        }
        return Err(refused);
    }
    keep_within_scope(principal, &standing, Some((&current, &before)), &fields, &links)?;
    check_unique(conn, account, Some(id), current.extension.as_deref(), &fields).await?;
    // R20: reactivated, or no longer an end user, they need a seat — unless they kept theirs.
    let returning = out_with_a_return(&current, state.config.clock.now());
    if occupies_a_seat(&fields, returning) && !occupies_a_seat_now(&current, returning) {
        seats::make_room(conn, account, 1).await?;
    }
    // D1 for what the change adds: what the user holds already was given by someone who could.
    let added = |link: Link, had: &[crate::model::user::Ref]| {
        ids(&links, link)
            .map(|new| new.iter().copied().filter(|id| !had.iter().any(|r| r.id == *id)).collect::<Vec<i64>>())
    };
    let (new_roles, new_groups) = (added(Link::Roles, &before.roles), added(Link::Groups, &before.groups));
    let new_permissions: Option<Vec<String>> =
        input.permissions.as_ref().map(|p| p.iter().filter(|p| !before.permissions.contains(p)).cloned().collect());
    principal::may_assign(conn, principal, new_roles.as_deref(), new_groups.as_deref(), new_permissions.as_deref())
        .await?;
    // D4: only an admin's edit can leave the account without one; other edits take no lock.
    let admins_before = match target.holds.admin {
        true => principal::admins_before(conn, account).await?,
        false => 0,
    };
    if !store::update(conn, account, id, &fields, expected_version, now)
        .await
        .map_err(|e| sip_name_taken(e.into(), &fields))?
    {
        return Err(Error::PreconditionFailed);
    }
    // After the write, which holds the user's row: a membership being added meanwhile has
    // either committed (and is seen here) or waits, and then finds no agent.
    keep_agent_while_queued(conn, &current, &fields).await?;
    let mut changes = diff(&current, &fields);
    if let Some(sealed) = seal_sip_password(&state.secrets, id, &input) {
        store::set_sip_password(conn, id, sealed.as_deref()).await?;
        changes.set("sip_password", if sealed.is_some() { "set" } else { "cleared" });
    }
    for (link, ids) in &links {
        store::set_links(conn, id, *link, ids).await?;
        let to: Vec<String> = named::names(conn, *link, account, ids).await?.into_iter().map(|(_, n)| n).collect();
        let from: Vec<String> = match link {
            Link::Roles => &before.roles,
            Link::Groups => &before.groups,
            Link::Desks => &before.desks,
            Link::Skills => &before.skills,
            Link::Queues => &before.queues,
        }
        .iter()
        .map(|r| r.name.clone())
        .collect();
        changes.diff(link.field(), from, to);
    }
    if let Some(perms) = &input.permissions {
        let mut sorted = perms.clone();
        sorted.sort();
        sorted.dedup();
        store::set_permissions(conn, id, &sorted).await?;
        changes.diff("permissions", before.permissions.clone(), sorted);
    }
    let second_factor_changes =
        fields.two_factor_method != current.two_factor_method || fields.two_factor_mode != current.two_factor_mode;
    // One's own second factor changes under My Account, which asks for the password: a session
    // or API token alone must not turn it off (D3).
    if second_factor_changes && principal.is(id) {
        return Err(Error::invalid("two_factor_method", "self", "change your own second factor under My Account"));
    }
    // R27 (and an account that requires it of everyone): a second factor is kept. Checked after
    // the roles above are applied.
    if fields.two_factor_method == TwoFactorMethod::Disabled && current.two_factor_method != TwoFactorMethod::Disabled {
        let is_admin = crate::store::second_factor::is_admin(conn, id).await?;
        let everyone = accounts::by_id(conn, account)
            .await?
            .is_some_and(|a| a.security.second_factor.required_for == crate::model::settings::RequiredFor::Everyone);
        if is_admin || everyone {
            return Err(crate::second_factor::manage::refuse_disabling(is_admin));
        }
    }
    // R25, R18: a user who can no longer sign in is signed out at once; either way the
    // activation log keeps it.
    let change = match (current.status, fields.status) {
        (UserStatus::Disabled, UserStatus::Active) => Some(ActivationChange::Reactivated),
        (UserStatus::Active, UserStatus::Disabled) => Some(ActivationChange::Deactivated),
        // An invited user's status changes only through their invitation (`to_fields`).
        _ => None,
    };
    if let Some(change) = change {
        let how = Activation::new(
            change,
            ActivationCause::Manual,
            state.config.clock.now(),
            status_reason.as_ref().map(|r| r.as_str()),
        );
        crate::users::status::changed(conn, &principal.actor, id, fields.login.as_str(), how).await?;
    }
    if current.email.as_deref() != fields.email.as_ref().map(|e| e.as_str()) {
        email_changed(conn, principal, &current, target.holds.admin).await?;
    }
    if second_factor_changes && target.holds.admin {
        tell_old_address(conn, principal, &current, "second-factor method").await?;
    }
    principal::still_reachable(conn, principal, id, &standing).await?;
    principal::keep_an_admin(conn, account, admins_before).await?;
    if !changes.is_empty() {
        activity::service::record(
            conn,
            &principal.actor,
            "user.updated",
            EventTarget::user(id, fields.login.as_str()),
            &changes,
        )
        .await?;
    }
    let view = view(conn, account, id).await?;
    tx.commit().await?;
    Ok(view)
}

/// D3: one's own email, changed under My Account once the password was checked (by the caller).
/// Outstanding reset links end; an admin's old address is told.
pub async fn change_own_email(state: &AppState, me: &Principal, email: Option<String>) -> Result<UserView> {
    let account = me.account();
    let id = me.user().ok_or(Error::Forbidden("only a signed-in user has an email of their own".into()))?;
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let current = store::get(conn, account, id).await?.ok_or(Error::NotFound("user"))?;
    let input = UserInput { email: Some(email), ..Default::default() };
    let fields = input.to_fields(Some(&current))?;
    check_unique(conn, account, Some(id), current.extension.as_deref(), &fields).await?;
    if !store::update(conn, account, id, &fields, current.version, now_ms()).await? {
        return Err(Error::PreconditionFailed);
    }
    let mut changes = diff(&current, &fields);
    if !changes.is_empty() {
        changes.set("by", "self");
        let admin = grants::holds_admin_role(conn, id).await?;
        email_changed(conn, me, &current, admin).await?;
        activity::service::record(
            conn,
            &me.actor,
            "user.updated",
            EventTarget::user(id, fields.login.as_str()),
            &changes,
        )
        .await?;
    }
    let view = view(conn, account, id).await?;
    tx.commit().await?;
    Ok(view)
}

/// What follows a change of a user's email, in its transaction: reset links sent to the old
/// address end (D9), and an admin's old address is told (D6).
async fn email_changed(conn: &mut Conn, principal: &Principal, before: &UserRecord, admin: bool) -> Result<()> {
    crate::passwords::reset::void_reset_links(conn, before.id, crate::passwords::reset::LinksEnd::EmailChanged).await?;
    if admin {
        tell_old_address(conn, principal, before, "email").await?;
    }
    Ok(())
}

/// D6: an admin hears at their old address of a change to how they sign in.
async fn tell_old_address(conn: &mut Conn, principal: &Principal, user: &UserRecord, what: &str) -> Result<()> {
    let Some(old) = user.email.as_deref().filter(|e| !e.trim().is_empty()) else { return Ok(()) };
    crate::second_factor::notices::admin_factor_changed(
        conn,
        principal.account(),
        user.id,
        &user.login,
        old,
        what,
        &principal.actor.label,
    )
    .await
}

/// R22: deleting a user removes their assignments and sessions with them.
pub async fn delete(state: &AppState, principal: &Principal, id: UserId) -> Result<()> {
    let account = principal.account();
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    if principal.is(id) {
        if principal::is_last_admin(conn, account, id).await? {
            return Err(principal::last_admin());
        }
        return Err(Error::invalid("id", "self", "you cannot delete yourself"));
    }
    let target = principal::reachable_user(conn, principal, id).await?;
    let current = target.record;
    let admins_before = match target.holds.admin {
        true => principal::admins_before(conn, account).await?,
        false => 0,
    };
    let mut changes = Changes::new();
    changes.set("login", &current.login).set("email", &current.email);
    activity::service::record(conn, &principal.actor, "user.deleted", EventTarget::user(id, &current.login), &changes)
        .await?;
    crate::store::invitations::revoke_for_users(conn, &crate::store::lifecycle::one_user(id), now_ms()).await?;
    store::delete(conn, account, id).await?;
    principal::keep_an_admin(conn, account, admins_before).await?;
    tx.commit().await?;
    Ok(())
}

/// R23: an admin sets a password, or has one generated (returned once). The account's policy
/// applies to a given one; the user's sessions end (R25).
pub async fn set_password(
    state: &AppState,
    principal: &Principal,
    id: UserId,
    new_password: Option<SecretString>,
    must_change: bool,
) -> Result<Option<SecretString>> {
    let account = principal.account();
    let settings = account_settings(state, account).await?;
    let mut conn = state.store.read().await?;
    let current = principal::reachable_user(&mut conn, principal, id).await?.record;
    drop(conn);
    principal.refuse_self(id, "password", "password")?;
    let (password, generated) = change::given_or_generated(new_password, &settings, &current.login);
    if generated.is_none() {
        let holder = Holder { id: Some(id), login: &current.login, email: current.email.as_deref() };
        change::vet(state, &settings, &holder, &password, "password").await?;
    }
    let hash = password::hash(password).await?;
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    // Again in the transaction that writes: the user may have gained rights while hashing.
    principal::reachable_user(conn, principal, id).await?;
    change::save(conn, &settings, id, &hash, must_change, now_ms()).await?;
    let why = if generated.is_some() { "password_reset" } else { "password_changed" };
    let ended =
        crate::sessions::service::end_all_of_user(conn, &principal.actor, id, &current.login, None, why).await?;
    let mut changes = Changes::new();
    changes
        .set("password", if generated.is_some() { "reset to a generated password" } else { "set" })
        .set("must_change_password", must_change)
        .set("sessions_ended", ended);
    activity::service::record(
        conn,
        &principal.actor,
        "user.password_changed",
        EventTarget::user(id, &current.login),
        &changes,
    )
    .await?;
    tx.affects(Affects::Users(vec![id]));
    tx.commit().await?;
    Ok(generated)
}

/// R24, R34: a user's own password expiry and inactivity timeouts; `None` follows the account.
pub async fn set_security_overrides(
    state: &AppState,
    principal: &Principal,
    id: UserId,
    overrides: SecurityOverrides,
    expected_version: i64,
) -> Result<UserView> {
    let mut issues = crate::error::Issues::new();
    if overrides.password_expiry_months.is_some_and(|m| !(0..=12).contains(&m)) {
        issues.add("password_expiry_months", "out_of_range", "must be 0 (never) or between 1 and 12 months");
    }
    let idle = crate::model::settings::IDLE_MINUTES;
    let idle = i64::from(*idle.start())..=i64::from(*idle.end());
    for (field, value) in
        [("console_idle_minutes", overrides.console_idle_minutes), ("phone_idle_minutes", overrides.phone_idle_minutes)]
    {
        if value.is_some_and(|m| !idle.contains(&m)) {
            issues.add(field, "out_of_range", format!("must be between {} and {} minutes", idle.start(), idle.end()));
        }
    }
    issues.into_result()?;
    let account = principal.account();
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let current = principal::reachable_user(conn, principal, id).await?.record;
    // Loosening one's own expiry, timeouts or CAPTCHA is loosening one's own security (D3).
    principal.refuse_self(id, "password_expiry_months", "security settings")?;
    if current.version != expected_version {
        return Err(Error::PreconditionFailed);
    }
    let password_sign_in_changes = overrides.password_sign_in != current.password_sign_in;
    if password_sign_in_changes && !principal.admin {
        // Exempting someone from the identity provider (or holding them to it) is the
        // providers' business: admins only (docs/delegation.md).
        return Err(Error::Forbidden("only the account's admins change how a user signs in (password_sign_in)".into()));
    }
    let admins = match password_sign_in_changes {
        true => principal::admins_before(conn, account).await?,
        false => 0,
    };
    store::set_security_overrides(
        conn,
        account,
        id,
        &store::SecurityFields {
            password_expiry_months: overrides.password_expiry_months,
            console_idle_minutes: overrides.console_idle_minutes,
            phone_idle_minutes: overrides.phone_idle_minutes,
            password_sign_in: overrides.password_sign_in,
        },
        now_ms(),
    )
    .await?;
    if password_sign_in_changes {
        // D4: the account keeps an admin whose password signs them in (its break-glass way in).
        principal::keep_an_admin(conn, account, admins).await?;
    }
    crate::store::captcha::set_required(conn, account, id, overrides.captcha_required).await?;
    let mut changes = Changes::new();
    changes
        .diff("captcha_required", current.captcha_required, overrides.captcha_required)
        .diff("password_expiry_months", current.password_expiry_months, overrides.password_expiry_months)
        .diff("console_idle_minutes", current.console_idle_minutes, overrides.console_idle_minutes)
        .diff("phone_idle_minutes", current.phone_idle_minutes, overrides.phone_idle_minutes)
        .diff("password_sign_in", current.password_sign_in.as_str(), overrides.password_sign_in.as_str());
    if !changes.is_empty() {
        activity::service::record(
            conn,
            &principal.actor,
            "user.security_changed",
            EventTarget::user(id, &current.login),
            &changes,
        )
        .await?;
    }
    let view = view(conn, account, id).await?;
    tx.affects(Affects::Users(vec![id]));
    tx.commit().await?;
    Ok(view)
}

/// Lifts a lockout after too many failed sign-ins.
pub async fn unlock(state: &AppState, principal: &Principal, id: UserId) -> Result<bool> {
    let account = principal.account();
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let current = principal::reachable_user(conn, principal, id).await?.record;
    principal.refuse_self(id, "id", "lockout")?;
    let was_locked = crate::store::sign_in_failures::clear_user(conn, account, id, now_ms()).await?;
    if was_locked {
        activity::service::record(
            conn,
            &principal.actor,
            "user.unlocked",
            EventTarget::user(id, &current.login),
            &Changes::new(),
        )
        .await?;
    }
    tx.affects(Affects::Nothing);
    tx.commit().await?;
    Ok(was_locked)
}

/// The per-user overrides of the account's security settings.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityOverrides {
    /// 0 = never, 1..12; `null` = the account's period.
    #[schema(minimum = 0, maximum = 12)]
    pub password_expiry_months: Option<i64>,
    /// 5–43,200 minutes; `null` = the account's timeout.
    #[schema(minimum = 5, maximum = 43200)]
    pub console_idle_minutes: Option<i64>,
    /// 5–43,200 minutes; `null` = the account's timeout.
    #[schema(minimum = 5, maximum = 43200)]
    pub phone_idle_minutes: Option<i64>,
    /// R31: ask for a CAPTCHA at every sign-in (whatever the account's policy); absent = no.
    #[serde(default)]
    pub captcha_required: bool,
    /// Whether their password signs them in (single sign-on): `account` (absent: as the account
    /// says), `off` (only through the account's identity provider) or `kept` (always: a
    /// break-glass admin). The account keeps an admin whose password signs them in (D4).
    #[serde(default)]
    pub password_sign_in: crate::model::user::PasswordSignIn,
}

async fn account_settings(state: &AppState, account: AccountId) -> Result<crate::model::settings::SecuritySettings> {
    let mut conn = state.store.read().await?;
    let record = crate::store::accounts::by_id(&mut conn, account).await?.ok_or(Error::NotFound("account"))?;
    Ok(record.security)
}

fn guard_superuser(principal: &Principal, current: Option<&UserRecord>, fields: &UserFields) -> Result<()> {
    let was = current.is_some_and(|c| c.is_superuser);
    if (was || fields.flags.is_superuser) && !principal.platform_operator {
        return Err(Error::Forbidden(
            "only a platform operator can grant, change or remove platform-operator rights".into(),
        ));
    }
    Ok(())
}

/// R20 for a user as an edit or creation leaves them (`returning`: deactivated with a date of
/// return), and as they are.
fn occupies_a_seat(fields: &UserFields, returning: bool) -> bool {
    !fields.flags.is_end_user && (fields.status != UserStatus::Disabled || returning)
}

fn occupies_a_seat_now(user: &UserRecord, returning: bool) -> bool {
    !user.is_end_user && (user.status != UserStatus::Disabled || returning)
}

/// Deactivated by a period in effect that has an end: their seat is kept for them (R20).
fn out_with_a_return(user: &UserRecord, now: Timestamp) -> bool {
    user.status == UserStatus::Disabled
        && user.deactivation_until.is_some()
        && user.deactivation_from.is_some_and(|from| from <= now)
}

/// Names the exact field that is taken (the unique indexes stay the last word under races).
/// Login, email and extension free in the account (R1, R2, R5); an extension that is new to the
/// user (`current`: what they have now) is not a queue's number either (R16).
async fn check_unique(
    conn: &mut Conn,
    account: AccountId,
    me: Option<UserId>,
    current: Option<&str>,
    f: &UserFields,
) -> Result<()> {
    let taken = store::taken_fields(conn, account, me, f).await?;
    if let Some(field) = taken.first() {
        return Err(Error::Conflict { field, message: format!("this {field} is already taken in the account") });
    }
    // A number is a user's or a queue's (R5, R16). The account's guard keeps a queue from
    // taking the number between this check and the write (the queues' service takes it too).
    let new_extension = f.extension.as_ref().filter(|e| Some(e.as_str()) != current);
    if new_extension.is_some() {
        crate::store::accounts::guard(conn, account).await?;
    }
    if let Some(extension) = new_extension
        && let Some((_, queue)) = crate::store::queues::with_extension(conn, account, extension.as_str(), None).await?
    {
        return Err(Error::Conflict {
            field: "extension",
            message: format!("{extension} is the number of the queue {queue}"),
        });
    }
    Ok(())
}

/// R11, R16: only agents are queue members, so the flag is not cleared while the user is one.
async fn keep_agent_while_queued(conn: &mut Conn, current: &UserRecord, fields: &UserFields) -> Result<()> {
    if !current.is_agent || fields.flags.is_agent {
        return Ok(());
    }
    let queues = crate::store::queues::queue_names_of(conn, current.id).await?;
    if queues.is_empty() {
        return Ok(());
    }
    Err(Error::state_conflict(
        "is_agent",
        "queue_member",
        format!(
            "{} is a member of the queues {}: remove them from those queues before they stop being an agent",
            current.login,
            queues.join(", ")
        ),
    ))
}

/// The links the input sets, each id checked to exist in the account.
async fn resolve_links(conn: &mut Conn, account: AccountId, input: &UserInput) -> Result<Vec<(Link, Vec<i64>)>> {
    let mut issues = Issues::new();
    let mut out = Vec::new();
    let requested = [
        (Link::Roles, input.roles.as_ref().map(|v| v.iter().map(|i| i.0).collect::<Vec<_>>())),
        (Link::Groups, input.groups.as_ref().map(|v| v.iter().map(|i| i.0).collect())),
        (Link::Desks, input.desks.as_ref().map(|v| v.iter().map(|i| i.0).collect())),
        (Link::Skills, input.skills.as_ref().map(|v| v.iter().map(|i| i.0).collect())),
    ];
    for (link, ids) in requested {
        let Some(mut ids) = ids else { continue };
        ids.sort_unstable();
        ids.dedup();
        let found: Vec<i64> = named::names(conn, link, account, &ids).await?.into_iter().map(|(id, _)| id).collect();
        let missing: Vec<String> = ids.iter().filter(|i| !found.contains(i)).map(|i| i.to_string()).collect();
        if !missing.is_empty() {
            issues.add(
                link.field(),
                "unknown_id",
                format!("no such {} in this account: {}", link.field(), missing.join(", ")),
            );
        }
        out.push((link, ids));
    }
    issues.into_result()?;
    Ok(out)
}

/// Whether an edit takes a user's admin rights away: the Admin role (directly or through a
/// group), active status, or a flag that narrows them.
async fn gives_up_admin(
    conn: &mut Conn,
    account: AccountId,
    current: &UserRecord,
    fields: &UserFields,
    links: &[(Link, Vec<i64>)],
    before: &Assignments,
) -> Result<bool> {
    if fields.status != UserStatus::Active && current.status == UserStatus::Active {
        return Ok(true);
    }
    if (fields.flags.is_end_user && !current.is_end_user)
        || (fields.flags.is_company_supervisor && !current.is_company_supervisor)
    {
        return Ok(true);
    }
    let Some(admin) = grants::admin_role(conn, account).await? else { return Ok(false) };
    if let Some(roles) = ids(links, Link::Roles)
        && before.roles.iter().any(|r| r.id == admin)
        && !roles.contains(&admin)
    {
        return Ok(true);
    }
    if let Some(groups) = ids(links, Link::Groups) {
        let dropped: Vec<i64> = before.groups.iter().map(|g| g.id).filter(|g| !groups.contains(g)).collect();
        if grants::roles_of_groups(conn, account, &dropped).await?.contains(&admin) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// D8: a scoped principal keeps users within what scopes are made of: a desk lead adds only
/// desks they are at (else they would hand users to other desks), a company supervisor sets only
/// their own company, and only someone who reaches the whole account changes the R40 flags.
/// `current` is the user before an edit, with their assignments (`None` when creating).
fn keep_within_scope(
    principal: &Principal,
    standing: &principal::Standing,
    current: Option<(&UserRecord, &Assignments)>,
    fields: &UserFields,
    links: &[(Link, Vec<i64>)],
) -> Result<()> {
    let refuse = |field: &str, why: String| {
        Err(Error::Forbidden(format!("{field}: {why}; ask someone who manages the whole account")))
    };
    if principal.platform_operator || principal.scope == Scope::Account {
        return Ok(());
    }
    // Anyone short of the whole account: desks and companies decide others' scopes.
    if let Some(desks) = ids(links, Link::Desks) {
        let had: Vec<i64> = current.map(|(_, a)| a.desks.iter().map(|d| d.id).collect()).unwrap_or_default();
        if desks.iter().any(|d| !had.contains(d) && !standing.desks.contains(d)) {
            return refuse("desks", "you may only add users to desks you are at yourself".into());
        }
    }
    let company = fields.company.as_ref().map(|c| c.as_str());
    let company_changes = current.is_none_or(|(c, _)| c.company.as_deref() != company);
    if company_changes
        && principal::company_key(company).is_some()
        && principal::company_key(company) != principal::company_key(principal.company.as_deref())
    {
        return refuse("company", "you may only place users in your own company".into());
    }
    if let Some((c, _)) = current {
        let flags = c.flags();
        if fields.flags.is_end_user != flags.is_end_user
            || fields.flags.is_company_supervisor != flags.is_company_supervisor
        {
            return refuse(
                "is_end_user",
                format!(
                    "the end-user and company-supervisor flags bound what a user reaches, and you reach {}",
                    principal.scope.label().to_lowercase()
                ),
            );
        }
    }
    Ok(())
}

fn outside_scope(principal: &Principal) -> Error {
    Error::Forbidden(format!(
        "the new user would be outside the users you manage ({}): {}",
        principal.scope.as_str(),
        principal.scope.label().to_lowercase()
    ))
}

/// The ids the input sets for `link`, if it sets them.
fn ids(links: &[(Link, Vec<i64>)], link: Link) -> Option<&[i64]> {
    links.iter().find(|(l, _)| *l == link).map(|(_, ids)| ids.as_slice())
}

/// D3: what decides one's own access or identity is not changed through the admin routes
/// (email, status, roles, groups, permissions, the R40 flags, and what bounds one's scope).
fn refuse_own_access_changes(
    principal: &Principal,
    current: &UserRecord,
    fields: &UserFields,
    links: &[(Link, Vec<i64>)],
    before: &Assignments,
    permissions: Option<&[String]>,
) -> Result<()> {
    let me = current.id;
    if current.login != fields.login.as_str() {
        principal.refuse_self(me, "login", "login (you sign in with it)")?;
    }
    if current.email.as_deref() != fields.email.as_ref().map(|e| e.as_str()) {
        principal.refuse_self(me, "email", "email address")?;
    }
    if fields.status != current.status {
        principal.refuse_self(me, "status", "status")?;
    }
    let flags = current.flags();
    if fields.flags.is_end_user != flags.is_end_user
        || fields.flags.is_company_supervisor != flags.is_company_supervisor
    {
        principal.refuse_self(me, "is_end_user", "end-user or company-supervisor flags")?;
    }
    if (principal.holds_any_with(Scope::Company) || current.is_end_user)
        && current.company.as_deref() != fields.company.as_ref().map(|c| c.as_str())
    {
        principal.refuse_self(me, "company", "company (it bounds whom you manage)")?;
    }
    for (link, ids) in links {
        let held: &[crate::model::user::Ref] = match link {
            Link::Roles => &before.roles,
            Link::Groups => &before.groups,
            Link::Desks if principal.holds_any_with(Scope::Desks) => &before.desks,
            _ => continue,
        };
        let mut had: Vec<i64> = held.iter().map(|r| r.id).collect();
        had.sort_unstable();
        if had != *ids {
            let what = match link {
                Link::Desks => "desks (they bound whom you manage)",
                other => other.field(),
            };
            principal.refuse_self(me, link.field(), what)?;
        }
    }
    if let Some(perms) = permissions {
        let mut asked: Vec<&str> = perms.iter().map(String::as_str).collect();
        asked.sort_unstable();
        asked.dedup();
        let had: Vec<&str> = before.permissions.iter().map(String::as_str).collect();
        if asked != had {
            principal.refuse_self(me, "permissions", "permissions")?;
        }
    }
    Ok(())
}

fn created_changes(f: &UserFields) -> Changes {
    let mut c = Changes::new();
    c.set("login", f.login.as_str()).set("status", f.status.as_str());
    let optional: [(&str, Option<&str>); 8] = [
        ("email", f.email.as_ref().map(|v| v.as_str())),
        ("first_name", f.first_name.as_ref().map(|v| v.as_str())),
        ("last_name", f.last_name.as_ref().map(|v| v.as_str())),
        ("phone", f.phone.as_ref().map(|v| v.as_str())),
        ("mobile", f.mobile.as_ref().map(|v| v.as_str())),
        ("extension", f.extension.as_ref().map(|v| v.as_str())),
        ("company", f.company.as_ref().map(|v| v.as_str())),
        ("external_id", f.external_id.as_ref().map(|v| v.as_str())),
    ];
    for (name, value) in optional {
        if let Some(v) = value {
            c.set(name, v);
        }
    }
    c
}

fn diff(r: &UserRecord, f: &UserFields) -> Changes {
    fn s<T: AsRef<str>>(v: &Option<T>) -> Option<String> {
        v.as_ref().map(|x| x.as_ref().to_string())
    }
    let mut c = Changes::new();
    c.diff("login", r.login.clone(), f.login.as_str().to_string())
        .diff("email", r.email.clone(), s(&f.email))
        .diff("first_name", r.first_name.clone(), s(&f.first_name))
        .diff("last_name", r.last_name.clone(), s(&f.last_name))
        .diff("phone", r.phone.clone(), s(&f.phone))
        .diff("mobile", r.mobile.clone(), s(&f.mobile))
        .diff("extension", r.extension.clone(), s(&f.extension))
        .diff("sip_username", r.sip_username.clone(), s(&f.sip_username))
        .diff("phone_topology", r.phone_topology.clone(), f.phone_topology.map(|v| v.as_str().to_string()))
        .diff("company", r.company.clone(), s(&f.company))
        .diff("related_contact", r.related_contact.clone(), s(&f.related_contact))
        .diff("external_id", r.external_id.clone(), s(&f.external_id))
        .diff("time_zone", r.time_zone.clone(), f.time_zone.as_ref().map(|v| v.as_str().to_string()))
        .diff("date_format", r.date_format.clone(), f.date_format.map(|v| v.as_str().to_string()))
        .diff("time_format", r.time_format.clone(), f.time_format.map(|v| v.as_str().to_string()))
        .diff("status", r.status, f.status)
        .diff("two_factor_method", r.two_factor_method, f.two_factor_method)
        .diff("two_factor_mode", r.two_factor_mode, f.two_factor_mode);
    let (a, b) = (r.flags(), f.flags);
    c.diff("receive_email", a.receive_email, b.receive_email)
        .diff("receive_sms", a.receive_sms, b.receive_sms)
        .diff("is_agent", a.is_agent, b.is_agent)
        .diff("is_supervisor", a.is_supervisor, b.is_supervisor)
        .diff("is_superuser", a.is_superuser, b.is_superuser)
        .diff("is_end_user", a.is_end_user, b.is_end_user)
        .diff("is_company_supervisor", a.is_company_supervisor, b.is_company_supervisor);
    c
}

/// What a phone needs to register (R5, R6).
#[derive(Debug, Serialize, ToSchema)]
pub struct SipCredentials {
    pub extension: String,
    pub sip_username: Option<String>,
    pub sip_password: Option<String>,
    pub phone_topology: Option<String>,
}

/// Reads a user's SIP credentials back for phone provisioning; every read is recorded.
pub async fn sip_credentials(state: &AppState, principal: &Principal, id: UserId) -> Result<SipCredentials> {
    use secrecy::ExposeSecret;
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    // A SIP password lets its reader register as the user's phone: only for users one reaches.
    let user = principal::reachable_user(conn, principal, id).await?.record;
    let extension = user.extension.clone().ok_or_else(|| Error::Conflict {
        field: "extension",
        message: "this user has no extension, so cannot register a SIP phone".into(),
    })?;
    let sip_password = match &user.sip_password {
        Some(sealed) => {
            let owner = crate::secrets::Owner::sip_password(id);
            Some(state.secrets.open(owner, sealed).map_err(Error::Internal)?.expose_secret().to_string())
        }
        None => None,
    };
    let mut changes = Changes::new();
    changes.set("sip_password", if sip_password.is_some() { "read" } else { "none set" });
    activity::service::record(
        conn,
        &principal.actor,
        "user.sip_credentials_read",
        EventTarget::user(id, &user.login),
        &changes,
    )
    .await?;
    tx.commit().await?;
    Ok(SipCredentials { extension, sip_username: user.sip_username, sip_password, phone_topology: user.phone_topology })
}

pub const AVATAR_MAX_BYTES: usize = 1024 * 1024;

/// Stores an avatar after checking that the bytes are a PNG, JPEG, GIF or WebP image of sane size.
pub async fn put_avatar(state: &AppState, principal: &Principal, id: UserId, bytes: &[u8]) -> Result<()> {
    if bytes.len() > AVATAR_MAX_BYTES {
        return Err(Error::PayloadTooLarge(format!("an avatar may be at most {} KiB", AVATAR_MAX_BYTES / 1024)));
    }
    let content_type = match imagesize::image_type(bytes) {
        Ok(imagesize::ImageType::Png) => "image/png",
        Ok(imagesize::ImageType::Jpeg) => "image/jpeg",
        Ok(imagesize::ImageType::Gif) => "image/gif",
        Ok(imagesize::ImageType::Webp) => "image/webp",
        _ => return Err(Error::UnsupportedMediaType("an avatar must be a PNG, JPEG, GIF or WebP image".into())),
    };
    let size = imagesize::blob_size(bytes)
        .map_err(|_| Error::invalid("avatar", "unreadable", "the image could not be read"))?;
    if size.width == 0 || size.height == 0 || size.width > 4096 || size.height > 4096 {
        return Err(Error::invalid("avatar", "dimensions", "an avatar must be between 1×1 and 4096×4096 pixels"));
    }
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let current = principal::reachable_user(conn, principal, id).await?.record;
    store::put_avatar(conn, id, content_type, bytes, now_ms()).await?;
    let mut changes = Changes::new();
    changes.set("avatar", format!("{content_type}, {}×{}, {} bytes", size.width, size.height, bytes.len()));
    activity::service::record(
        conn,
        &principal.actor,
        "user.avatar_changed",
        EventTarget::user(id, &current.login),
        &changes,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn get_avatar(state: &AppState, principal: &Principal, id: UserId) -> Result<store::Avatar> {
    let mut conn = state.store.read().await?;
    principal::seen_user(&mut conn, principal, id).await?;
    store::get_avatar(&mut conn, principal.account(), id).await?.ok_or(Error::NotFound("avatar"))
}

pub async fn delete_avatar(state: &AppState, principal: &Principal, id: UserId) -> Result<()> {
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let current = principal::reachable_user(conn, principal, id).await?.record;
    if !store::delete_avatar(conn, id, now_ms()).await? {
        return Err(Error::NotFound("avatar"));
    }
    let mut changes = Changes::new();
    changes.set("avatar", "removed");
    activity::service::record(
        conn,
        &principal.actor,
        "user.avatar_changed",
        EventTarget::user(id, &current.login),
        &changes,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Adding a user field must not silently miss a place. The fields are `UserFields`' keys
    //! as serialised; two samples give each a value, different in each, and every place that
    //! handles a user field is checked to carry every one of them: the input, the statements,
    //! the record read back and the view, the activity log's diff, the export and import, the
    //! console form. A failure names the field and the place.

    use std::collections::BTreeSet;

    use serde_json::{Value, json};

    use super::{UserView, created_changes, diff};
    use crate::model::settings::SecuritySettings;
    use crate::model::user::{Assignments, UserFields, UserRecord};
    use crate::store::{Store, accounts, batch, users as store};
    use crate::users::input::UserInput;

    /// A user with every field set.
    fn sample_a() -> Value {
        json!({
            "login": "ann.archer", "email": "ann@example.com", "first_name": "Ann", "last_name": "Archer",
            "phone": "+4915112345678", "mobile": "+4917612345678", "extension": "101", "sip_username": "ann-sip",
            "phone_topology": "external_phone", "company": "Acme", "related_contact": "Carol", "external_id": "E-1",
            "time_zone": "Europe/Berlin", "date_format": "DD/MM/YYYY", "time_format": "24h",
            "receive_email": true, "receive_sms": true, "is_agent": true, "is_supervisor": true, "is_superuser": true,
            "is_end_user": true, "is_company_supervisor": true,
            "status": "disabled", "two_factor_method": "email", "two_factor_mode": "suspicious",
        })
    }

    /// Another, different from the first in every field.
    fn sample_b() -> Value {
        json!({
            "login": "bob.baker", "email": "bob@example.org", "first_name": "Bob", "last_name": "Baker",
            "phone": "+4930123456789", "mobile": "+4917699999999", "extension": "202", "sip_username": "bob-sip",
            "phone_topology": "web_phone", "company": "Globex", "related_contact": "Dave", "external_id": "E-2",
            "time_zone": "America/New_York", "date_format": "YYYY/MM/DD", "time_format": "12h",
            "receive_email": false, "receive_sms": false, "is_agent": false, "is_supervisor": false, "is_superuser": false,
            "is_end_user": false, "is_company_supervisor": false,
            "status": "active", "two_factor_method": "totp", "two_factor_mode": "always",
        })
    }

    /// Created users record these fields in the activity log; the others are left out on purpose.
    /// A new field goes in `created_changes` or here.
    const NOT_RECORDED_AT_CREATION: [&str; 15] = [
        "sip_username",
        "phone_topology",
        "related_contact",
        "time_zone",
        "date_format",
        "time_format",
        "receive_email",
        "receive_sms",
        "is_agent",
        "is_supervisor",
        "is_superuser",
        "is_end_user",
        "is_company_supervisor",
        "two_factor_method",
        "two_factor_mode",
    ];

    fn fields_of(input: &Value) -> UserFields {
        let input: UserInput = serde_json::from_value(input.clone()).expect("the sample is a valid UserInput");
        input.to_fields(None).expect("the sample's values are valid")
    }

    fn object(value: impl serde::Serialize) -> serde_json::Map<String, Value> {
        match serde_json::to_value(value).expect("serialises") {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    /// Every field of `UserFields`, by name.
    fn field_names() -> Vec<String> {
        object(fields_of(&sample_a())).keys().cloned().collect()
    }

    /// The column names a statement lists (its words, as identifiers).
    fn words(sql: &str) -> BTreeSet<&str> {
        sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect()
    }

    /// Each field whose value in `got` is not the one in `want`, as "field `x`: <place> …".
    fn compare(
        problems: &mut Vec<String>,
        place: &str,
        want: &serde_json::Map<String, Value>,
        got: &serde_json::Map<String, Value>,
    ) {
        for name in field_names() {
            let (want, got) = (want.get(&name), got.get(&name));
            if want != got {
                problems.push(format!("field `{name}`: {place} gives {got:?}, expected {want:?}"));
            }
        }
    }

    #[test]
    fn every_user_field_is_named_wherever_user_fields_are_listed() {
        let mut problems = Vec::new();
        let (a, b) = (sample_a(), sample_b());
        let (fa, fb) = (object(fields_of(&a)), object(fields_of(&b)));
        let insert_columns = words(store::INSERT.split("VALUES").next().unwrap_or_default());
        let batch_columns = words(batch::INSERT_MANY);
        let columns = store::COLUMNS.split(',').map(str::trim).collect::<BTreeSet<_>>();
        let created = object(
            serde_json::from_str::<Value>(&created_changes(&fields_of(&a)).to_json().unwrap_or_default())
                .unwrap_or_default(),
        );
        let console: BTreeSet<&str> = crate::console::users::form_fields::FORM_FIELDS
            .into_iter()
            .chain(crate::console::users::form::FLAGS.map(|(name, _)| name))
            .collect();
        for name in field_names() {
            let mut missing = |place: &str| problems.push(format!("field `{name}`: missing from {place}"));
            if a.get(&name).is_none() || b.get(&name).is_none() {
                missing("the samples in this test (sample_a and sample_b): give it a value in each");
            } else if fa.get(&name) == fb.get(&name) {
                missing("the samples in this test: give it different values in sample_a and sample_b");
            }
            if fa.get(&name) != a.get(&name) {
                missing("UserInput or UserInput::to_fields (users/input.rs)");
            }
            if !columns.contains(format!("u.{name}").as_str()) {
                missing("COLUMNS (store/users.rs)");
            }
            if !insert_columns.contains(name.as_str()) {
                missing("INSERT (store/users.rs)");
            }
            if !store::UPDATE.contains(&format!(" {name} = $")) {
                missing("UPDATE (store/users.rs)");
            }
            if !batch_columns.contains(name.as_str()) {
                missing("INSERT_MANY (store/batch.rs)");
            }
            if !crate::users::transfer::COLUMNS.contains(&name.as_str()) {
                missing("the export and import columns (users/transfer/mod.rs COLUMNS)");
            }
            if !console.contains(name.as_str()) {
                missing(
                    "the console's user form (FORM_FIELDS in console/users/form_fields.rs or FLAGS in console/users/form.rs)",
                );
            }
            match (created.contains_key(&name), NOT_RECORDED_AT_CREATION.contains(&name.as_str())) {
                (false, false) => {
                    missing("created_changes (users/service.rs), or NOT_RECORDED_AT_CREATION in its test")
                }
                (true, true) => problems
                    .push(format!("field `{name}`: recorded by created_changes, yet in NOT_RECORDED_AT_CREATION")),
                _ => {}
            }
        }
        assert!(problems.is_empty(), "user fields missed:\n{}", problems.join("\n"));
    }

    /// Written by each statement, read back, shown, diffed and exported: every field survives.
    #[tokio::test]
    async fn every_user_field_is_written_read_back_diffed_and_exported() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("fields.db").display());
        let db = Store::connect(&url, 1).await.expect("a database");
        db.migrate().await.expect("migrations");
        let (a, b) = (fields_of(&sample_a()), fields_of(&sample_b()));
        let (want_a, want_b) = (object(&a), object(&b));
        let settings = SecuritySettings::default();
        let shown = |r: &UserRecord| object(UserView::new(r.clone(), Assignments::default(), &settings));
        let mut problems = Vec::new();

        let mut tx = db.begin().await.expect("a transaction");
        let conn = tx.conn();
        let account = accounts::insert(conn, "fields", "Fields", None, 1).await.expect("an account");
        let id = store::insert(conn, account, &a, None, false, 1).await.expect("insert");
        let inserted = store::get(conn, account, id).await.expect("read").expect("the user");
        compare(
            &mut problems,
            "insert (store/users.rs), read back and shown (COLUMNS, UserRecord, UserView)",
            &want_a,
            &shown(&inserted),
        );

        let changed = object(
            serde_json::from_str::<Value>(&diff(&inserted, &b).to_json().unwrap_or_default()).unwrap_or_default(),
        );
        for name in field_names() {
            if !changed.contains_key(&name) {
                problems.push(format!("field `{name}`: missing from diff (users/service.rs)"));
            }
        }

        let imported = crate::users::transfer::exported_then_imported(inserted.clone())
            .and_then(|input| input.to_fields(None))
            .expect("an exported user imports");
        compare(
            &mut problems,
            "export then import (users/transfer: ExportUser, rows::parse)",
            &want_a,
            &object(imported),
        );

        assert!(
            store::update(conn, account, id, &b, inserted.version, 2).await.expect("update"),
            "the version matched"
        );
        let updated = store::get(conn, account, id).await.expect("read").expect("the user");
        compare(&mut problems, "update (store/users.rs), read back and shown", &want_b, &shown(&updated));

        let other = accounts::insert(conn, "fields-batch", "Fields, in a batch", None, 1).await.expect("an account");
        let new = batch::NewUser { fields: &a, password_hash: None, must_change_password: false };
        let ids = batch::insert_users(conn, other, &[new], 3).await.expect("insert_users");
        let loaded = store::get(conn, other, ids[0]).await.expect("read").expect("the user");
        compare(&mut problems, "insert_users (store/batch.rs), read back and shown", &want_a, &shown(&loaded));
        drop(tx);

        assert!(problems.is_empty(), "user fields lost:\n{}", problems.join("\n"));
    }
}
