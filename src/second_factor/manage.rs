//! Managing a second factor outside sign-in: my own (status, a new authenticator, new recovery
//! codes, method and mode) and an admin's "Reset OTP authenticator secret" (R29).

use secrecy::SecretString;
use serde::Serialize;
use utoipa::ToSchema;

use super::authenticator::{self, SetupDetails};
use super::recovery;
use super::totp::TotpSecret;
use crate::activity::{self, Changes, Target};
use crate::auth::{Caller, ClientInfo};
use crate::clock::{now_ms, to_rfc3339};
use crate::error::{Error, Result};
use crate::ids::{AccountId, UserId};
use crate::model::settings::RequiredFor;
use crate::model::user::{TwoFactorMethod, TwoFactorMode, UserRecord};
use crate::passwords::hashing as password;
use crate::state::AppState;
use crate::store::second_factor as store;
use crate::store::{Affects, users};

/// My second factor, as My Account shows it.
#[derive(Serialize, ToSchema)]
pub struct SecondFactorStatus {
    pub method: TwoFactorMethod,
    pub mode: TwoFactorMode,
    /// Whether an authenticator app is set up, and since when.
    pub totp_enrolled: bool,
    pub totp_enrolled_at: Option<String>,
    pub recovery_codes_left: i64,
    /// Whether a second factor is mandatory for me (R27 for admins, or the account's policy):
    /// then `disabled` cannot be chosen.
    pub required: bool,
    pub has_email: bool,
}

async fn load(state: &AppState, account: AccountId, user: UserId) -> Result<(UserRecord, bool, i64)> {
    let mut conn = state.store.read().await?;
    let record = users::get(&mut conn, account, user).await?.ok_or(Error::NotFound("user"))?;
    let is_admin = store::is_admin(&mut conn, user).await?;
    let left = store::unused_recovery_codes(&mut conn, user).await?;
    Ok((record, is_admin, left))
}

fn required(caller_settings: &crate::model::settings::SecuritySettings, is_admin: bool) -> bool {
    is_admin || caller_settings.second_factor.required_for == RequiredFor::Everyone
}

pub async fn status(state: &AppState, caller: &Caller) -> Result<SecondFactorStatus> {
    let (user, is_admin, left) = load(state, caller.account, caller.user).await?;
    Ok(SecondFactorStatus {
        method: user.two_factor_method,
        mode: user.two_factor_mode,
        totp_enrolled: user.totp_confirmed_at.is_some(),
        totp_enrolled_at: user.totp_confirmed_at.map(to_rfc3339),
        recovery_codes_left: left,
        required: required(&caller.home_account.security, is_admin),
        has_email: user.email.is_some(),
    })
}

/// Sensitive changes ask for the password again: a session left open must not be enough.
async fn recheck_password(state: &AppState, caller: &Caller, client: &ClientInfo, current: SecretString) -> Result<()> {
    let mut conn = state.store.read().await?;
    let hash = users::password_hash(&mut conn, caller.user).await?;
    let user = users::get(&mut conn, caller.account, caller.user).await?.ok_or(Error::NotFound("user"))?;
    drop(conn);
    crate::passwords::lockout::refuse_while_locked(&user)?;
    if password::verify(current, hash).await?.ok {
        return Ok(());
    }
    let actor = caller.actor(client);
    let mut tx = state.store.begin().await?;
    tx.affects(Affects::Nothing);
    crate::passwords::lockout::count_user_failure(
        &mut tx,
        &actor,
        &user,
        &caller.home_account.security.lockout,
        now_ms(),
    )
    .await?;
    tx.commit().await?;
    Err(Error::invalid("current_password", "incorrect", "is not your current password"))
}

fn person(caller: &Caller) -> Result<()> {
    match caller.api_token {
        Some(_) => Err(Error::Forbidden("an API token cannot change its creator's second factor".into())),
        None => Ok(()),
    }
}

/// Starts setting up a (new) authenticator from My Account: a pending secret that replaces the
/// current one only when a code from it is confirmed (R29's "regenerate, with a warning": the
/// old one keeps working until then).
pub async fn start_enrolment(
    state: &AppState,
    caller: &Caller,
    client: &ClientInfo,
    current: SecretString,
) -> Result<SetupDetails> {
    person(caller)?;
    recheck_password(state, caller, client, current).await?;
    let secret = TotpSecret::generate();
    let (user, _, _) = load(state, caller.account, caller.user).await?;
    let mut tx = state.store.begin().await?;
    tx.affects(Affects::Nothing);
    let sealed = state.secrets.seal(crate::secrets::Owner::totp_secret(caller.user), secret.base32());
    store::set_pending_totp(tx.conn(), caller.user, Some(&sealed), now_ms()).await?;
    let actor = caller.actor(client);
    activity::service::record(
        tx.conn(),
        &actor,
        "user.second_factor_setup_started",
        Target::user(user.id, &user.login),
        &Changes::new(),
    )
    .await?;
    tx.commit().await?;
    authenticator::details(&secret, &caller.home_account, &user)
}

/// The pending authenticator's details again (the console's QR download).
pub async fn pending_details(state: &AppState, caller: &Caller) -> Result<SetupDetails> {
    person(caller)?;
    let mut conn = state.store.read().await?;
    let record = store::totp(&mut conn, caller.user).await?.ok_or(Error::NotFound("user"))?;
    let user = users::get(&mut conn, caller.account, caller.user).await?.ok_or(Error::NotFound("user"))?;
    drop(conn);
    let sealed = live_pending(&record, now_ms()).ok_or(Error::NotFound("authenticator being set up"))?;
    authenticator::details(&authenticator::open(state, caller.user, &sealed)?, &caller.home_account, &user)
}

/// How long a new authenticator waits for its first code: the key it shows again to the signed-in
/// user must not outlive the moment they asked for it with their password.
const PENDING_MS: i64 = 10 * 60_000;

fn live_pending(record: &store::TotpRecord, now: i64) -> Option<String> {
    record.sealed_pending.clone().filter(|_| record.pending_at.is_some_and(|at| at + PENDING_MS > now))
}

/// Confirms the pending authenticator with a code from it; returns new recovery codes (shown once).
pub async fn confirm_enrolment(
    state: &AppState,
    caller: &Caller,
    client: &ClientInfo,
    code: &str,
) -> Result<Vec<String>> {
    person(caller)?;
    let now = now_ms();
    let mut conn = state.store.read().await?;
    let record = store::totp(&mut conn, caller.user).await?.ok_or(Error::NotFound("user"))?;
    let user = users::get(&mut conn, caller.account, caller.user).await?.ok_or(Error::NotFound("user"))?;
    drop(conn);
    let sealed = live_pending(&record, now).ok_or_else(|| {
        Error::invalid(
            "code",
            "nothing_to_confirm",
            "start setting up an authenticator first (it is good for ten minutes)",
        )
    })?;
    let secret = authenticator::open(state, user.id, &sealed)?;
    let step = secret
        .matching_step(code, now)?
        .ok_or_else(|| Error::invalid("code", "wrong_code", "is not the code your new authenticator shows"))?;
    let method = match user.two_factor_method {
        TwoFactorMethod::Disabled => Some(TwoFactorMethod::Totp),
        TwoFactorMethod::Email => Some(TwoFactorMethod::Either),
        _ => None,
    };
    let codes = recovery::generate();
    let actor = caller.actor(client);
    let mut tx = state.store.begin().await?;
    store::confirm_totp(tx.conn(), user.id, &sealed, step, method, now).await?;
    store::replace_recovery_codes(tx.conn(), user.id, &recovery::hashes(&state.secrets, user.id, &codes), now).await?;
    let mut changes = Changes::new();
    changes.set("by", "self").set("replaced", record.sealed_secret.is_some());
    if let Some(m) = method {
        changes.diff("two_factor_method", user.two_factor_method, m);
    }
    activity::service::record(
        tx.conn(),
        &actor,
        "user.second_factor_set_up",
        Target::user(user.id, &user.login),
        &changes,
    )
    .await?;
    tell_an_admin(tx.conn(), caller, &user, "authenticator app").await?;
    tx.affects(Affects::Users(vec![user.id]));
    tx.commit().await?;
    state.mail.wake();
    Ok(codes)
}

/// New recovery codes; the old ones stop working.
pub async fn regenerate_recovery_codes(
    state: &AppState,
    caller: &Caller,
    client: &ClientInfo,
    current: SecretString,
) -> Result<Vec<String>> {
    person(caller)?;
    recheck_password(state, caller, client, current).await?;
    let (user, _, _) = load(state, caller.account, caller.user).await?;
    if user.totp_confirmed_at.is_none() {
        return Err(Error::invalid(
            "method",
            "not_set_up",
            "recovery codes come with an authenticator: set one up first",
        ));
    }
    let codes = recovery::generate();
    let now = now_ms();
    let actor = caller.actor(client);
    let mut tx = state.store.begin().await?;
    tx.affects(Affects::Nothing);
    store::replace_recovery_codes(tx.conn(), user.id, &recovery::hashes(&state.secrets, user.id, &codes), now).await?;
    activity::service::record(
        tx.conn(),
        &actor,
        "user.recovery_codes_regenerated",
        Target::user(user.id, &user.login),
        &Changes::new(),
    )
    .await?;
    tx.commit().await?;
    Ok(codes)
}

/// My method and mode. An authenticator must be set up before it is chosen; a required second
/// factor cannot be turned off (R27).
pub async fn set_own(
    state: &AppState,
    caller: &Caller,
    client: &ClientInfo,
    method: TwoFactorMethod,
    mode: TwoFactorMode,
    current: SecretString,
) -> Result<SecondFactorStatus> {
    person(caller)?;
    recheck_password(state, caller, client, current).await?;
    let (user, is_admin, _) = load(state, caller.account, caller.user).await?;
    if method == TwoFactorMethod::Disabled && required(&caller.home_account.security, is_admin) {
        return Err(refuse_disabling(is_admin));
    }
    if method.uses_totp() && user.totp_confirmed_at.is_none() {
        return Err(Error::invalid("method", "not_set_up", "set up an authenticator app first"));
    }
    if method.uses_email() && user.email.is_none() {
        return Err(Error::invalid("method", "requires_email", "email codes need an email address"));
    }
    let actor = caller.actor(client);
    let mut tx = state.store.begin().await?;
    users::set_two_factor(tx.conn(), user.id, method, mode, now_ms()).await?;
    let mut changes = Changes::new();
    changes.set("by", "self").diff("two_factor_method", user.two_factor_method, method).diff(
        "two_factor_mode",
        user.two_factor_mode,
        mode,
    );
    activity::service::record(tx.conn(), &actor, "user.updated", Target::user(user.id, &user.login), &changes).await?;
    if user.two_factor_method != method || user.two_factor_mode != mode {
        tell_an_admin(tx.conn(), caller, &user, "second-factor method").await?;
    }
    tx.affects(Affects::Users(vec![user.id]));
    tx.commit().await?;
    state.mail.wake();
    status(state, caller).await
}

/// D6: an admin hears at their address of every change to how they sign in, their own too (a
/// stolen session with the password is how an attacker would make one).
async fn tell_an_admin(
    conn: &mut crate::store::Conn,
    caller: &Caller,
    user: &crate::model::user::UserRecord,
    what: &str,
) -> Result<()> {
    let Some(email) = user.email.as_deref().filter(|e| !e.trim().is_empty()) else { return Ok(()) };
    if !store::is_admin(conn, user.id).await? {
        return Ok(());
    }
    super::notices::admin_factor_changed(conn, caller.account, user.id, &user.login, email, what, &user.login).await
}

/// R27's refusal, naming the rule.
pub fn refuse_disabling(is_admin: bool) -> Error {
    let why = if is_admin {
        "a second factor is mandatory for admins (R27): it cannot be disabled while the user holds the Admin role"
    } else {
        "this account requires a second factor of everyone: it cannot be disabled"
    };
    Error::invalid("two_factor_method", "required_for_admins", why)
}

/// Admin: "Reset OTP authenticator secret" (R29). The user sets up a new authenticator at their
/// next sign-in and gets new recovery codes; a user with an email address is sent a one-time
/// enrolment link (never the key). Returns where the link went (masked).
///
/// Setting up again needs only the password, so only someone at least as trusted as the user may
/// reset: not the user themselves (My Account asks for their password), an admin's only by an
/// admin, a platform operator's only by a platform operator.
pub async fn reset_authenticator(
    state: &AppState,
    principal: &crate::access::Principal,
    id: UserId,
) -> Result<Option<String>> {
    let (actor, account) = (&principal.actor, principal.account());
    let now = now_ms();
    if principal.is(id) {
        return Err(Error::Forbidden("set up your own authenticator again under My Account".into()));
    }
    let mut tx = state.store.begin().await?;
    // D2, D8: someone the principal sees and who holds nothing the principal does not.
    let user = crate::access::principal::reachable_user(tx.conn(), principal, id).await?.record;
    if !user.two_factor_method.uses_totp() && user.totp_confirmed_at.is_none() {
        return Err(Error::invalid("two_factor_method", "no_authenticator", "this user has no authenticator to reset"));
    }
    store::reset_totp(tx.conn(), account, id, now).await?;
    // A sign-in waiting at a step with the old authenticator must start again, and what the old
    // one let in (sessions; devices, forgotten by the store) is ended: it may have been lost or stolen.
    crate::store::challenges::delete_for_user(tx.conn(), id).await?;
    crate::sessions::service::end_all_of_user(tx.conn(), actor, id, &user.login, None, "authenticator_reset").await?;
    let record = crate::store::accounts::by_id(tx.conn(), account).await?.ok_or(Error::NotFound("account"))?;
    let sent_to = super::enrolment::queue(state, tx.conn(), &record, &user, now).await?;
    let mut changes = Changes::new();
    changes.set("enrolment_link", sent_to.is_some());
    activity::service::record(tx.conn(), actor, "user.totp_reset", Target::user(id, &user.login), &changes).await?;
    tx.affects(Affects::Users(vec![id]));
    tx.commit().await?;
    state.mail.wake();
    Ok(sent_to)
}
