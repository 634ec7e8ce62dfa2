//! Invitations (R19, R2): a person invited by email appears as an `invited` user (occupying a
//! seat, R20) and receives a one-time link — random, stored hashed, valid for the account's
//! `invitations.valid_days` after each sending — with which they choose their login and
//! password, set up a second factor where required (R27), and are signed in. An invitation may
//! be saved and sent later, resent (not more than once a minute), readdressed or revoked (the
//! invited user goes with it).

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::principal::{self, Principal};
use crate::activity::{self, Changes, Target as EventTarget};
use crate::clock::Timestamp;
use crate::domain::{Email, Login};
use crate::error::{Error, FieldIssue, Issues, Result};
use crate::ids::{AccountId, DeskId, GroupId, InvitationId, RoleId, UserId};
use crate::model::invitation::{InvitationRecord, InvitationState};
use crate::model::user::UserStatus;
use crate::model::{AccountRecord, ClientInfo};
use crate::secrets::token;
use crate::state::AppState;
use crate::store::invitations::{self as store, NewInvitation};
use crate::store::users::{self as users_store, Unique};
use crate::store::{Conn, accounts};
use crate::users::input::UserInput;
use crate::users::service::{NewUser, insert_checked};

/// Sending again sooner than this after the last sending is refused (429).
const RESEND_AFTER_MS: i64 = 60_000;
/// One invitation is sent at most this many times.
const MOST_SENDS: i64 = 20;
/// At most this many people in one request.
pub const MOST_AT_ONCE: usize = 10_000;

/// One person to invite.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Invitee {
    #[schema(format = Email, min_length = 3)]
    pub email: String,
    /// Prefilled on the accept page; by default made from the address (R1), unique in the account.
    pub login: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub extension: Option<String>,
}

/// `POST …/invitations`: one or many people, with the same roles, desks and groups.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    /// 1–10,000 people; all are invited or none.
    #[schema(min_items = 1, max_items = 10000)]
    pub invitees: Vec<Invitee>,
    #[serde(default)]
    pub roles: Vec<RoleId>,
    #[serde(default)]
    pub desks: Vec<DeskId>,
    #[serde(default)]
    pub groups: Vec<GroupId>,
    /// Send the mail now (default), or save the invitations to send later.
    #[serde(default = "yes")]
    pub send: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvitationView {
    pub id: InvitationId,
    /// `null` once revoked (the invited user was removed with it).
    pub user_id: Option<i64>,
    pub login: String,
    pub email: String,
    /// `saved` (not sent yet), `sent`, `accepted` or `revoked`.
    pub state: InvitationState,
    /// Sent, and the link's time is up: it can be resent.
    pub expired: bool,
    pub invited_by: Option<i64>,
    pub invited_by_label: String,
    pub created_at: String,
    pub sent_at: Option<String>,
    pub sends: i64,
    pub expires_at: Option<String>,
    pub ended_at: Option<String>,
}

impl InvitationView {
    fn of(r: InvitationRecord, now: Timestamp) -> InvitationView {
        InvitationView {
            expired: r.expired(now),
            id: r.id,
            user_id: r.user_id,
            login: r.user_label,
            email: r.email,
            state: r.state,
            invited_by: r.invited_by,
            invited_by_label: r.invited_by_label,
            created_at: crate::clock::to_rfc3339(r.created_at),
            sent_at: r.sent_at.map(Timestamp::to_rfc3339),
            sends: r.sends,
            expires_at: r.expires_at.map(Timestamp::to_rfc3339),
            ended_at: r.ended_at.map(Timestamp::to_rfc3339),
        }
    }
}

/// A login made from an address's local part that no user of the account has, nor any in
/// `taken` (lower-cased; the login found is added to it).
pub(crate) async fn free_login(
    conn: &mut Conn,
    account: AccountId,
    email: &Email,
    taken: &mut std::collections::HashSet<String>,
) -> Result<String> {
    // A number added to the address's name may be taken as well: asked until free.
    let mut candidate = login_from(email, taken);
    while !users_store::taken_values(conn, account, Unique::Login, &[candidate.to_ascii_lowercase()]).await?.is_empty()
    {
        taken.insert(candidate.to_ascii_lowercase());
        candidate = login_from(email, taken);
    }
    Ok(candidate)
}

/// A login made from an address's local part (R1: letters, digits, `-`, `_`, `.`), not taken
/// in `taken` (lower-cased keys), with a number added when it is.
fn login_from(email: &Email, taken: &std::collections::HashSet<String>) -> String {
    let local = email.as_str().split('@').next().unwrap_or_default();
    let mut base: String =
        local.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).take(56).collect();
    if base.is_empty() {
        base = "user".into();
    }
    let mut candidate = base.clone();
    let mut n = 2;
    while taken.contains(&candidate.to_ascii_lowercase()) || Login::parse(&candidate).is_err() {
        candidate = format!("{base}{n}");
        n += 1;
    }
    candidate
}

/// Invites everyone in the request, or no one: each is a user created by every rule of creation
/// (D1, D8, seats, uniqueness) with status `invited`; mail goes out now or is saved for later.
pub async fn invite(state: &AppState, principal: &Principal, req: InviteRequest) -> Result<Vec<InvitationView>> {
    let mut tx = state.store.begin().await?;
    let made = invite_in(state, tx.conn(), principal, &req).await?;
    tx.commit().await?;
    if req.send {
        state.mail.wake();
    }
    Ok(made)
}

/// `invite` in the caller's transaction (a new account's first admin is invited in the
/// transaction that makes the account). The caller wakes the mail worker after committing.
pub(crate) async fn invite_in(
    state: &AppState,
    conn: &mut Conn,
    principal: &Principal,
    req: &InviteRequest,
) -> Result<Vec<InvitationView>> {
    let account = principal.account();
    let mut issues = Issues::new();
    if req.invitees.is_empty() {
        issues.add("invitees", "required", "name at least one person to invite");
    }
    if req.invitees.len() > MOST_AT_ONCE {
        issues.add("invitees", "too_many", format!("at most {MOST_AT_ONCE} people at once"));
    }
    let mut emails = Vec::new();
    let mut seen_emails = std::collections::HashMap::new();
    for (i, person) in req.invitees.iter().enumerate() {
        let field = format!("invitees[{i}].email");
        match Email::parse(&person.email) {
            Ok(e) => {
                if let Some(first) = seen_emails.insert(e.key(), i) {
                    issues.add(&field, "duplicate", format!("the same address as invitees[{first}]"));
                }
                emails.push(Some(e));
            }
            Err(invalid) => {
                issues.push(FieldIssue::from_invalid(field, invalid));
                emails.push(None);
            }
        }
    }
    issues.into_result()?;
    let emails: Vec<Email> = emails.into_iter().flatten().collect();
    let now = state.config.clock.now();
    let account_record = accounts::by_id(conn, account).await?.ok_or(Error::NotFound("account"))?;
    // Logins made from the addresses must not clash with the account's nor with each other's.
    let wanted: Vec<String> = emails.iter().map(|e| login_from(e, &Default::default()).to_ascii_lowercase()).collect();
    let mut taken: std::collections::HashSet<String> =
        users_store::taken_values(conn, account, Unique::Login, &wanted).await?.into_iter().collect();
    let role_names = crate::store::named::names(
        conn,
        crate::store::users::Link::Roles,
        account,
        &req.roles.iter().map(|r| r.0).collect::<Vec<_>>(),
    )
    .await?
    .into_iter()
    .map(|(_, n)| n)
    .collect::<Vec<_>>();
    // R20: each invited member takes a seat; counted once for all of them.
    crate::users::seats::make_room(conn, account, emails.len() as i64).await?;
    let mut out = Vec::with_capacity(emails.len());
    let mut to_send = Vec::new();
    for (i, (person, email)) in req.invitees.iter().zip(&emails).enumerate() {
        let login = match &person.login {
            Some(l) => l.clone(),
            None => free_login(conn, account, email, &mut taken).await?,
        };
        taken.insert(login.to_ascii_lowercase());
        let input = UserInput {
            login: Some(login),
            email: Some(Some(email.as_str().to_string())),
            first_name: person.first_name.clone().map(Some),
            last_name: person.last_name.clone().map(Some),
            extension: person.extension.clone().map(Some),
            roles: (!req.roles.is_empty()).then(|| req.roles.clone()),
            desks: (!req.desks.is_empty()).then(|| req.desks.clone()),
            groups: (!req.groups.is_empty()).then(|| req.groups.clone()),
            ..Default::default()
        };
        let at = |e: Error| numbered(e, i);
        let mut fields = input.to_fields(None).map_err(at)?;
        fields.status = UserStatus::Invited;
        let login = fields.login.as_str().to_string();
        let new = NewUser { input: &input, fields, password: None, invitation: true, seat_taken: true };
        let user = insert_checked(conn, state, principal, new, now.as_ms()).await.map_err(at)?;
        let secret = token::new_token();
        let new = NewInvitation {
            user,
            login: &login,
            email: email.as_str(),
            token_hash: &token::hash(&secret),
            invited_by: principal.actor.user,
            invited_by_label: &principal.actor.label,
            now: now.as_ms(),
        };
        let id = store::insert(conn, account, &new).await?;
        let record = store::by_id(conn, account, id).await?.ok_or(Error::NotFound("invitation"))?;
        if req.send {
            to_send.push(record);
        } else {
            out.push(InvitationView::of(record, now));
        }
    }
    for record in to_send {
        let sending = Sending { account: &account_record, email: &record.email, role_names: &role_names, now };
        let sent = send(state, conn, principal, &record, sending).await?;
        out.push(InvitationView::of(sent, now));
    }
    let mut summary = Changes::new();
    summary.set("count", emails.len()).set("sent", req.send).set("roles", &role_names);
    let label = format!("{} invitations", emails.len());
    activity::record(
        conn,
        &principal.actor,
        "users.invited",
        EventTarget { kind: "users", id: None, label: &label },
        &summary,
    )
    .await?;
    Ok(out)
}

/// An error about one invitee, named by their place in the request.
fn numbered(err: Error, i: usize) -> Error {
    let rename = |f: &str| format!("invitees[{i}].{f}");
    match err {
        Error::Validation(issues) => Error::Validation(
            issues.into_iter().map(|x| FieldIssue::new(rename(&x.field), x.code, x.message)).collect(),
        ),
        Error::Conflict { field, message } => {
            Error::StateConflict(FieldIssue::new(rename(field), "taken", format!("{message} (invitees[{i}])")))
        }
        other => other,
    }
}

/// One sending of an invitation: to which address, from which account, naming which roles.
struct Sending<'a> {
    account: &'a AccountRecord,
    email: &'a str,
    role_names: &'a [String],
    now: Timestamp,
}

/// A new link for `record`, mailed to the sending's address (the invitation's, or a new one),
/// valid for the account's days; the older link stops working. In the caller's transaction.
async fn send(
    state: &AppState,
    conn: &mut Conn,
    principal: &Principal,
    record: &InvitationRecord,
    sending: Sending<'_>,
) -> Result<InvitationRecord> {
    let Sending { account, email, role_names, now } = sending;
    let secret = token::new_token();
    let days = i64::from(account.security.invitations.valid_days);
    let expires_at = now.plus_ms(days * 24 * 3_600_000);
    if !store::sent(conn, record, email, &token::hash(&secret), now.as_ms(), expires_at).await? {
        return Err(Error::PreconditionFailed);
    }
    if let Some(user) = record.user_id {
        store::show_on_user(conn, UserId(user), Some(expires_at)).await?;
    }
    let link = state.mail.link(&format!("/invite/{secret}"));
    let roles = if role_names.is_empty() { "a member".to_string() } else { role_names.join(", ") };
    let text = format!(
        "Hello,\n\n\
         {inviter} invited you to join {account} on Roster, as {roles}.\n\
         To accept, open this link within {days} days, choose your login and password, and sign in:\n\n\
         {link}\n\n\
         The link works once. If you did not expect this invitation, ignore this mail.\n",
        inviter = principal.actor.label,
        account = account.name,
    );
    let subject = format!("You are invited to {}", account.name);
    let message = crate::mail::Message { to: email, subject: &subject, text: &text, kind: "invitation" };
    crate::mail::enqueue(conn, account.id, &message).await?;
    let mut changes = Changes::new();
    changes.set("email", email).set("expires_at", expires_at.to_rfc3339()).set("sends", record.sends + 1);
    let user = record.user_id.map(UserId).unwrap_or(UserId(0));
    activity::record(
        conn,
        &principal.actor,
        "user.invitation_sent",
        EventTarget::user(user, &record.user_label),
        &changes,
    )
    .await?;
    store::by_id(conn, account.id, record.id).await?.ok_or(Error::NotFound("invitation"))
}

/// The invitation `id` of the principal's account, whose user they may change (D2, D8).
async fn reachable(conn: &mut Conn, principal: &Principal, id: InvitationId) -> Result<InvitationRecord> {
    let record = store::by_id(conn, principal.account(), id).await?.ok_or(Error::NotFound("invitation"))?;
    match record.user_id {
        Some(user) => {
            principal::reachable_user(conn, principal, UserId(user)).await?;
        }
        // A revoked one: the user is gone; only readers of the whole account see it.
        None if principal.seen() != crate::store::grants::Seen::All => return Err(Error::NotFound("invitation")),
        None => {}
    }
    Ok(record)
}

fn still_open(record: &InvitationRecord) -> Result<()> {
    if !record.state.is_open() {
        return Err(Error::StateConflict(FieldIssue::new(
            "state",
            "over",
            format!("this invitation was {}: it no longer changes", record.state.as_str()),
        )));
    }
    Ok(())
}

async fn roles_of(conn: &mut Conn, record: &InvitationRecord) -> Result<Vec<String>> {
    let Some(user) = record.user_id else { return Ok(Vec::new()) };
    let assignments = users_store::assignments(conn, &[UserId(user)]).await?.remove(&UserId(user)).unwrap_or_default();
    Ok(assignments.roles.into_iter().map(|r| r.name).collect())
}

/// Sends a saved invitation, or sends an open one again with a new link (the old one stops).
pub async fn resend(state: &AppState, principal: &Principal, id: InvitationId) -> Result<InvitationView> {
    let now = state.config.clock.now();
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let record = reachable(conn, principal, id).await?;
    still_open(&record)?;
    refuse_too_soon(&record, now)?;
    let account = accounts::by_id(conn, principal.account()).await?.ok_or(Error::NotFound("account"))?;
    let roles = roles_of(conn, &record).await?;
    let sending = Sending { account: &account, email: &record.email, role_names: &roles, now };
    let sent = send(state, conn, principal, &record, sending).await?;
    tx.commit().await?;
    state.mail.wake();
    Ok(InvitationView::of(sent, now))
}

fn at_or_zero(record: &InvitationRecord) -> Timestamp {
    record.sent_at.unwrap_or(Timestamp::from_ms(0))
}

/// Not again within a minute of the last sending (429, with when to try again), nor without end.
fn refuse_too_soon(record: &InvitationRecord, now: Timestamp) -> Result<()> {
    if record.sent_at.is_some_and(|at| now.ms_since(at) < RESEND_AFTER_MS) {
        let wait = (RESEND_AFTER_MS - now.ms_since(at_or_zero(record))).max(1_000) / 1_000;
        return Err(Error::TooSoon(
            u64::try_from(wait).unwrap_or(60),
            "this invitation was sent less than a minute ago".into(),
        ));
    }
    if record.sends >= MOST_SENDS {
        return Err(Error::StateConflict(FieldIssue::new(
            "sends",
            "too_many",
            format!("this invitation was sent {MOST_SENDS} times: revoke it and invite again"),
        )));
    }
    Ok(())
}

/// A new address: the user's email changes with it (R2: unique in the account); a link already
/// out stops working, and one sent before goes again to the new address.
pub async fn readdress(
    state: &AppState,
    principal: &Principal,
    id: InvitationId,
    email: &str,
) -> Result<InvitationView> {
    let now = state.config.clock.now();
    let email = Email::parse(email).map_err(|e| Error::Validation(vec![FieldIssue::from_invalid("email", e)]))?;
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let record = reachable(conn, principal, id).await?;
    still_open(&record)?;
    // A sent one goes again to the new address: the same limits as a resend.
    if record.state == InvitationState::Sent {
        refuse_too_soon(&record, now)?;
    }
    let user = UserId(record.user_id.ok_or(Error::NotFound("invitation"))?);
    let current = users_store::get(conn, principal.account(), user).await?.ok_or(Error::NotFound("user"))?;
    let input = UserInput { email: Some(Some(email.as_str().to_string())), ..Default::default() };
    let fields = input.to_fields(Some(&current))?;
    if !users_store::taken_fields(conn, principal.account(), Some(user), &fields).await?.is_empty() {
        return Err(Error::Conflict { field: "email", message: "this email is already taken in the account".into() });
    }
    if !users_store::update(conn, principal.account(), user, &fields, current.version, now.as_ms()).await? {
        return Err(Error::PreconditionFailed);
    }
    let mut changes = Changes::new();
    changes.diff("email", record.email.as_str(), email.as_str());
    activity::record(
        conn,
        &principal.actor,
        "user.invitation_readdressed",
        EventTarget::user(user, &current.login),
        &changes,
    )
    .await?;
    let updated = match record.state {
        InvitationState::Sent => {
            let account = accounts::by_id(conn, principal.account()).await?.ok_or(Error::NotFound("account"))?;
            let roles = roles_of(conn, &record).await?;
            let sending = Sending { account: &account, email: email.as_str(), role_names: &roles, now };
            send(state, conn, principal, &record, sending).await?
        }
        _ => {
            if !store::readdressed(conn, &record, email.as_str(), &token::hash(&token::new_token())).await? {
                return Err(Error::PreconditionFailed);
            }
            store::by_id(conn, principal.account(), id).await?.ok_or(Error::NotFound("invitation"))?
        }
    };
    tx.commit().await?;
    state.mail.wake();
    Ok(InvitationView::of(updated, now))
}

/// Withdraws an open invitation: its link stops working and the invited user is removed (their
/// seat is free again).
pub async fn revoke(state: &AppState, principal: &Principal, id: InvitationId) -> Result<InvitationView> {
    let now = state.config.clock.now();
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let record = reachable(conn, principal, id).await?;
    still_open(&record)?;
    revoke_in(conn, principal, &record, now).await?;
    let updated = store::by_id(conn, principal.account(), id).await?.ok_or(Error::NotFound("invitation"))?;
    tx.commit().await?;
    Ok(InvitationView::of(updated, now))
}

async fn revoke_in(conn: &mut Conn, principal: &Principal, record: &InvitationRecord, now: Timestamp) -> Result<()> {
    if !store::end(conn, record, InvitationState::Revoked, now.as_ms()).await? {
        return Err(Error::PreconditionFailed);
    }
    let mut changes = Changes::new();
    changes.set("email", &record.email);
    let user = record.user_id.map(UserId).unwrap_or(UserId(0));
    activity::record(
        conn,
        &principal.actor,
        "user.invitation_revoked",
        EventTarget::user(user, &record.user_label),
        &changes,
    )
    .await?;
    if let Some(user) = record.user_id {
        users_store::delete(conn, principal.account(), UserId(user)).await?;
    }
    Ok(())
}

/// Mass actions (R37): resend or revoke the open invitations of the invited users that
/// `users_where` (a condition on `users u`, the action's selection within reach) matches.
/// Resending skips those sent less than a minute ago. Returns how many changed.
pub(crate) async fn resend_or_revoke_many(
    state: &AppState,
    conn: &mut Conn,
    principal: &Principal,
    users_where: &crate::store::sql::Sql,
    revoking: bool,
) -> Result<u64> {
    let now = state.config.clock.now();
    let account = accounts::by_id(conn, principal.account()).await?.ok_or(Error::NotFound("account"))?;
    let records = store::open_of_users(conn, users_where).await?;
    let mut changed = 0;
    for record in records {
        if revoking {
            revoke_in(conn, principal, &record, now).await?;
        } else {
            if refuse_too_soon(&record, now).is_err() {
                continue;
            }
            let roles = roles_of(conn, &record).await?;
            let sending = Sending { account: &account, email: &record.email, role_names: &roles, now };
            send(state, conn, principal, &record, sending).await?;
        }
        changed += 1;
    }
    Ok(changed)
}

/// The account's invitations, newest first.
pub async fn list(
    state: &AppState,
    principal: &Principal,
    states: &[InvitationState],
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<InvitationView>> {
    let now = state.config.clock.now();
    let mut conn = state.store.read().await?;
    let seen = principal.seen_for(crate::access::Permission::UsersView);
    let rows = store::page(&mut conn, principal.account(), &seen, states, before, limit).await?;
    Ok(rows.into_iter().map(|r| InvitationView::of(r, now)).collect())
}

pub async fn get(state: &AppState, principal: &Principal, id: InvitationId) -> Result<InvitationView> {
    let now = state.config.clock.now();
    let mut conn = state.store.read().await?;
    let record = store::by_id(&mut conn, principal.account(), id).await?.ok_or(Error::NotFound("invitation"))?;
    if let Some(user) = record.user_id {
        principal::seen_user(&mut conn, principal, UserId(user)).await?;
    } else if principal.seen() != crate::store::grants::Seen::All {
        return Err(Error::NotFound("invitation"));
    }
    Ok(InvitationView::of(record, now))
}

/// The user's open invitation, for their page.
pub async fn open_of(state: &AppState, principal: &Principal, user: UserId) -> Result<Option<InvitationView>> {
    let now = state.config.clock.now();
    let mut conn = state.store.read().await?;
    principal::seen_user(&mut conn, principal, user).await?;
    Ok(store::open_of(&mut conn, principal.account(), user).await?.map(|r| InvitationView::of(r, now)))
}

/// What an invitation link opens: the invitation, its account and who invited, and the roles.
pub struct LiveInvitation {
    pub invitation: InvitationRecord,
    pub account: AccountRecord,
    pub user: crate::model::user::UserRecord,
    pub roles: Vec<String>,
}

/// A link that works; a used, revoked, replaced or expired one is refused with the reason.
pub async fn check_link(state: &AppState, secret: &str) -> Result<LiveInvitation> {
    let invalid = |code: &str, message: &str| Error::invalid("token", code, message);
    let unknown = || invalid("unknown", "this invitation link is not valid (a newer one may have been sent since)");
    if !crate::store::may_be_stored(secret) {
        return Err(unknown());
    }
    let now = state.config.clock.now();
    let mut conn = state.store.read().await?;
    let record = store::by_token_hash(&mut conn, &token::hash(secret)).await?.ok_or_else(unknown)?;
    match record.state {
        InvitationState::Accepted => return Err(invalid("used", "this invitation was accepted already: sign in")),
        InvitationState::Revoked => return Err(invalid("revoked", "this invitation was withdrawn")),
        InvitationState::Saved => return Err(unknown()),
        InvitationState::Sent if record.expired(now) => {
            return Err(invalid("expired", "this invitation has expired: ask whoever invited you to send it again"));
        }
        InvitationState::Sent => {}
    }
    let account = accounts::by_id(&mut conn, record.account_id).await?.filter(|a| a.enabled).ok_or_else(unknown)?;
    let user_id = record.user_id.ok_or_else(unknown)?;
    let user = users_store::get(&mut conn, account.id, UserId(user_id))
        .await?
        .filter(|u| u.status == UserStatus::Invited)
        .ok_or_else(unknown)?;
    let roles = roles_of(&mut conn, &record).await?;
    Ok(LiveInvitation { invitation: record, account, user, roles })
}

/// The invited person accepts: their login (R1, unique) and password (the account's policy,
/// R10); they become active. The caller then signs them in with that password.
pub async fn accept(
    state: &AppState,
    secret: &str,
    login: &str,
    password: SecretString,
    client: &ClientInfo,
) -> Result<LiveInvitation> {
    let live = check_link(state, secret).await?;
    let login = Login::parse(login).map_err(|e| Error::Validation(vec![FieldIssue::from_invalid("login", e)]))?;
    let settings = &live.account.security;
    let holder = crate::passwords::change::Holder {
        id: Some(live.user.id),
        login: login.as_str(),
        email: live.user.email.as_deref(),
    };
    crate::passwords::change::vet(state, settings, &holder, &password, "password").await?;
    let hash = crate::passwords::hashing::hash(password).await?;
    let now = state.config.clock.now();
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let taken = users_store::taken_values(conn, live.account.id, Unique::Login, &[login.key()]).await?;
    if !taken.is_empty() && login.key() != live.user.login.to_ascii_lowercase() {
        return Err(Error::Conflict { field: "login", message: "this login is already taken in the account".into() });
    }
    if !store::accepted_by_link(conn, &live.invitation, &token::hash(secret), now.as_ms()).await? {
        return Err(Error::invalid(
            "token",
            "changed",
            "this invitation link no longer works (it was accepted, replaced or withdrawn meanwhile)",
        ));
    }
    if !store::accept_user(conn, live.user.id, &login, &hash, now.as_ms()).await? {
        return Err(Error::invalid("token", "unknown", "this invitation link is not valid"));
    }
    crate::store::password_history::push(conn, live.user.id, &hash, now.as_ms(), settings.password_policy.history)
        .await?;
    let actor = crate::activity::Actor {
        account: live.account.id,
        user: Some(live.user.id),
        label: login.as_str().to_string(),
        address: client.address.clone(),
    };
    let mut changes = Changes::new();
    changes.diff("login", live.user.login.as_str(), login.as_str()).diff(
        "status",
        UserStatus::Invited,
        UserStatus::Active,
    );
    activity::record(
        conn,
        &actor,
        "user.invitation_accepted",
        EventTarget::user(live.user.id, login.as_str()),
        &changes,
    )
    .await?;
    tx.commit().await?;
    Ok(live)
}
