//! Sign-in (R10, R24–R31, R33, R35): password check with throttling and lockout, the steps a
//! sign-in may still need (CAPTCHA before it; the second factor or its set-up, then a forced or
//! expired password change after it), and the session it opens. Failures are counted in `passwords::lockout`.
//!
//! Every refusal that is about the account (unknown, wrong password, disabled, locked) gets
//! the same answer after the same work (an argon2 verification); only the activity log says
//! which it was. A refused address gets 429: it says nothing about any account.

use secrecy::SecretString;

use crate::activity::{self, Actor, Changes, Target};
use crate::clock::{Timestamp, now_ms};
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::model::Caller;
use crate::model::ClientInfo;
use crate::model::user::{UserRecord, UserStatus};
use crate::model::{AccountRecord, SignInMethod, SignInStep};
use crate::passwords::change::{self, Holder};
use crate::passwords::hashing as password;
use crate::passwords::lockout::record_failure;
use crate::secrets::token;
use crate::sessions::{self, SessionKind};
use crate::state::AppState;
use crate::store::{Affects, accounts, challenges, sessions as session_store, sign_in_failures, users};

/// How long a sign-in may wait at a step (time to choose a new password).
const CHALLENGE_MS: i64 = 10 * 60_000;

pub struct SignInRequest<'a> {
    pub account: &'a str,
    pub login: &'a str,
    pub password: SecretString,
    pub kind: SessionKind,
    pub take_over: bool,
    /// The device token a client got from an earlier sign-in (R30: a known device).
    pub device: Option<&'a str>,
    /// The answer to a CAPTCHA this sign-in was asked for (R31).
    pub captcha: Option<crate::captcha::service::CaptchaAnswer>,
}

pub struct SignedIn {
    pub token: String,
    pub expires_at: i64,
    pub user: UserId,
    pub account_slug: String,
    /// A new device token for the client to keep and present next time (users whose second
    /// factor is asked only for suspicious sign-ins).
    pub device: Option<String>,
    /// Recovery codes, shown once, when this sign-in set up the authenticator.
    pub recovery_codes: Option<Vec<String>>,
}

/// A sign-in that passed the password and must do something more first.
pub struct Pending {
    pub step: SignInStep,
    pub reason: String,
    pub challenge: String,
    pub expires_at: i64,
    /// For the second-factor step: the methods the user may answer with.
    pub methods: Vec<&'static str>,
    /// Where an emailed code went (masked), when one was sent.
    pub email_sent_to: Option<String>,
    /// Recovery codes issued by a step just completed (the set-up), shown once.
    pub recovery_codes: Option<Vec<String>>,
}

/// What a sign-in in progress knows about itself, from the password check to the session.
pub(crate) struct Progress<'a> {
    pub actor: Actor,
    pub account: &'a AccountRecord,
    pub user: &'a UserRecord,
    pub kind: SessionKind,
    pub take_over: bool,
    pub client: &'a ClientInfo,
    pub now: i64,
    /// The hash of the device token presented at sign-in, if any.
    pub device_hash: Option<String>,
    /// The address the password came from (a later step may come from elsewhere): what a
    /// suspicious-mode user's sign-in remembers.
    pub origin: Option<String>,
    /// How the sign-in proved who it is: a password change is asked only after a password.
    pub method: SignInMethod,
    /// The identity provider vouched for a second factor the account trusts (its `amr`): Roster
    /// asks for none of its own.
    pub provider_second_factor: bool,
}

/// How far a sign-in has come.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Passed {
    /// The password, or the identity provider's answer.
    FirstFactor,
    SecondFactor,
}

pub enum Outcome {
    SignedIn(SignedIn),
    Step(Pending),
    /// A CAPTCHA to answer before the password is even checked (R31).
    Captcha(crate::captcha::service::Step),
}

/// The one answer a refused sign-in gets, whatever the reason.
fn refused() -> Error {
    Error::Unauthenticated
}

pub async fn sign_in(state: &AppState, req: SignInRequest<'_>, client: &ClientInfo) -> Result<Outcome> {
    let now = now_ms();
    let mut conn = state.store.read().await?;
    if let Some(address) = &client.address
        && let Some(until) = sign_in_failures::address_blocked_until(&mut conn, address, now).await?
    {
        metrics::counter!("roster_sign_ins_total", "outcome" => "throttled").increment(1);
        return Err(Error::TooManyAttempts(((until - now) / 1000).max(1) as u64));
    }
    let account = accounts::by_slug(&mut conn, req.account).await?;
    let found = match &account {
        Some(a) => users::get_for_sign_in(&mut conn, a.id, &req.login.to_ascii_lowercase()).await?,
        None => None,
    };
    drop(conn);
    let access = crate::sign_in::gate::before_password(
        state,
        account.as_ref(),
        found.as_ref().map(|f| &f.0),
        req.login,
        req.kind,
        client,
    )
    .await?;
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), hash),
        None => (None, None),
    };
    // R31: before any password work, so a sign-in without its CAPTCHA costs no argon2 and
    // counts no failure.
    if let Some(step) = crate::captcha::service::check(
        state,
        account.as_ref(),
        user.as_ref(),
        req.captcha.as_ref(),
        req.login,
        client,
        now,
    )
    .await?
    {
        metrics::counter!("roster_sign_ins_total", "outcome" => "captcha").increment(1);
        return Ok(Outcome::Captcha(step));
    }
    // Always verify, against a dummy hash when there is no user, so timing reveals nothing.
    let verified_hash = hash.clone();
    let checked = password::verify(req.password.clone(), hash).await?;

    let settings = account.as_ref().map(|a| a.security.clone()).unwrap_or_default();
    let reason = match (&account, &user) {
        (None, _) => Some("unknown_account"),
        (_, None) => Some("unknown_login"),
        (_, Some(u)) if u.locked_until.is_some_and(|t| t > Timestamp::from_ms(now)) => Some("locked"),
        (_, Some(u)) if u.status != UserStatus::Active => Some("user_disabled"),
        (_, Some(_)) if !checked.ok => Some("wrong_password"),
        (Some(a), _) if !a.enabled => Some("account_disabled"),
        _ => None,
    };
    if let Some(reason) = reason {
        record_failure(state, account.as_ref(), user.as_ref(), &settings, req.login, reason, req.kind, client, now)
            .await?;
        return Err(refused());
    }
    let (account, user) = (account.expect("checked"), user.expect("checked"));
    // Who is signing in, on the request's log span (`startup`), once the password is right.
    tracing::Span::current().record("account", account.slug.as_str()).record("user_id", user.id.0);
    access.after_password(state, &account, &user, req.kind, client).await?;
    if !user.password_sign_in.allowed(account.password_sign_in) {
        return Err(password_sign_in_off(state, &account, &user, req.kind, client).await?);
    }
    if !req.take_over {
        refuse_second_session(state, &account, &user, req.kind, client, now).await?;
    }
    let upgraded = match checked.upgrade {
        true => Some(password::hash(req.password.clone()).await?),
        false => None,
    };
    let actor =
        Actor { account: account.id, user: Some(user.id), label: user.login.clone(), address: client.address.clone() };
    let mut tx = state.store.begin().await?;
    tx.affects(Affects::Nothing);
    // Hashing took a while: another request may since have locked the user (a burst of
    // guesses), disabled them, changed the password, or blocked the address. Read again,
    // with the row locked, and refuse as any failure would.
    let fresh = users::sign_in_state(tx.conn(), user.id).await?;
    let blocked = match &client.address {
        Some(address) => sign_in_failures::address_blocked_until(tx.conn(), address, now).await?.is_some(),
        None => false,
    };
    let late_reason = match &fresh {
        None => Some("unknown_login"),
        Some(_) if blocked => Some("address_blocked"),
        Some(f) if f.locked_until.is_some_and(|t| t > Timestamp::from_ms(now)) => Some("locked"),
        Some(f) if f.status != UserStatus::Active => Some("user_disabled"),
        Some(f) if f.password_hash != verified_hash => Some("password_changed"),
        Some(_) => None,
    };
    if let Some(reason) = late_reason {
        drop(tx);
        record_failure(state, Some(&account), Some(&user), &settings, req.login, reason, req.kind, client, now).await?;
        return Err(refused());
    }
    // D5: a right password does not clear the failure count: wrong second-factor codes keep
    // counting across sign-ins. Only the session at the end of the sign-in (`proceed`) clears it.
    if let (Some(hash), Some(old)) = (&upgraded, &verified_hash) {
        users::upgrade_password_hash(tx.conn(), user.id, old, hash).await?;
    }
    let progress = Progress {
        actor,
        account: &account,
        user: &user,
        kind: req.kind,
        take_over: req.take_over,
        client,
        now,
        device_hash: req.device.map(token::hash),
        origin: client.address.clone(),
        method: SignInMethod::Password,
        provider_second_factor: false,
    };
    let outcome = proceed(state, &mut tx, &progress, Passed::FirstFactor).await?;
    finish(state, tx, &progress, outcome).await
}

/// Commits a sign-in's step and, when it opened a session that took over another, drops the
/// other from the cache.
pub(crate) async fn finish(
    state: &AppState,
    mut tx: crate::store::Tx,
    p: &Progress<'_>,
    outcome: Outcome,
) -> Result<Outcome> {
    let took_over = matches!(outcome, Outcome::SignedIn(_)) && p.take_over;
    if took_over {
        tx.affects(Affects::Users(vec![p.user.id]));
    }
    tx.commit().await?;
    let counted = match &outcome {
        Outcome::SignedIn(_) => "success",
        Outcome::Step(_) => "next_step",
        Outcome::Captcha(_) => "captcha",
    };
    metrics::counter!("roster_sign_ins_total", "outcome" => counted).increment(1);
    if took_over {
        state.sessions.forget_user(p.user.id);
    }
    if let Outcome::Step(pending) = &outcome
        && pending.email_sent_to.is_some()
    {
        state.mail.wake();
    }
    Ok(outcome)
}

/// The rest of a sign-in once it has passed `passed`: the second factor (R26–R30), then a
/// forced or expired password change (R24), then the session.
pub(crate) async fn proceed(
    state: &AppState,
    tx: &mut crate::store::Tx,
    p: &Progress<'_>,
    passed: Passed,
) -> Result<Outcome> {
    if passed == Passed::FirstFactor
        && !p.provider_second_factor
        && let Some(step) = crate::sign_in::second_factor::begin(state, tx, p).await?
    {
        return Ok(Outcome::Step(step));
    }
    let settings = &p.account.security;
    let step_reason = if p.method != SignInMethod::Password {
        // Signed in through the identity provider: their Roster password is not in play.
        None
    } else if p.user.must_change_password {
        Some("required")
    } else if change::expires_at(settings, p.user.password_changed_at, p.user.password_expiry_months)
        .is_some_and(|at| at <= Timestamp::from_ms(p.now))
    {
        Some("expired")
    } else {
        None
    };
    if let Some(reason) = step_reason {
        let step = SignInStep::PasswordChange;
        let (challenge, _, expires_at) = new_challenge(tx, p, step, reason).await?;
        let mut changes = Changes::new();
        changes.set("step", step.as_str()).set("reason", reason);
        activity::service::record(
            tx.conn(),
            &p.actor,
            "auth.sign_in_step",
            Target::user(p.user.id, &p.user.login),
            &changes,
        )
        .await?;
        return Ok(Outcome::Step(Pending {
            step,
            reason: reason.to_string(),
            challenge,
            expires_at,
            methods: Vec::new(),
            email_sent_to: None,
            recovery_codes: None,
        }));
    }
    // A completed sign-in starts the count afresh (D5); most sign-ins have nothing to clear.
    if p.user.failed_sign_ins > 0 || p.user.locked_until.is_some() {
        sign_in_failures::clear_after_sign_in(tx.conn(), p.user.id, p.now).await?;
    }
    let mut signed_in =
        open_session(tx, &p.actor, p.account, p.user, (p.kind, p.method), p.take_over, p.client, p.now).await?;
    signed_in.device = crate::sign_in::second_factor::remember_sign_in(state, tx, p).await?;
    Ok(Outcome::SignedIn(signed_in))
}

/// A new challenge for the sign-in's next step: the client's token, its id, and when it expires.
pub(crate) async fn new_challenge(
    tx: &mut crate::store::Tx,
    p: &Progress<'_>,
    step: SignInStep,
    reason: &str,
) -> Result<(String, i64, i64)> {
    let challenge = token::new_token();
    let expires_at = p.now + CHALLENGE_MS;
    let id = challenges::insert(
        tx.conn(),
        &challenges::NewChallenge {
            token_hash: &token::hash(&challenge),
            account: p.account.id,
            user: p.user.id,
            step,
            reason,
            session_kind: p.kind,
            take_over: p.take_over,
            address: p.client.address.as_deref(),
            user_agent: p.client.user_agent.as_deref(),
            now: p.now,
            expires_at,
            method: p.method,
        },
    )
    .await?;
    crate::store::second_factor::set_challenge_device(tx.conn(), id, p.device_hash.as_deref()).await?;
    Ok((challenge, id, expires_at))
}

/// Issue 15: this user signs in through the account's identity provider only. Said once the
/// password was right (it reveals nothing a wrong guess could learn), and recorded.
async fn password_sign_in_off(
    state: &AppState,
    account: &AccountRecord,
    user: &UserRecord,
    kind: SessionKind,
    client: &ClientInfo,
) -> Result<Error> {
    let actor =
        Actor { account: account.id, user: Some(user.id), label: user.login.clone(), address: client.address.clone() };
    let mut tx = state.store.begin().await?;
    tx.affects(Affects::Nothing);
    let mut changes = Changes::new();
    changes.set("reason", "password_sign_in_off").set("kind", kind.as_str());
    activity::service::record(tx.conn(), &actor, "auth.sign_in_refused", Target::user(user.id, &user.login), &changes)
        .await?;
    tx.commit().await?;
    metrics::counter!("roster_sign_ins_total", "outcome" => "password_sign_in_off").increment(1);
    Ok(Error::Forbidden(
        "password sign-in is turned off for you: sign in with your organisation's account (single sign-on)".into(),
    ))
}

/// R33: with one session per user, a second sign-in is refused unless it takes over; the
/// refusal is recorded, as the take-over is.
pub(crate) async fn refuse_second_session(
    state: &AppState,
    account: &AccountRecord,
    user: &UserRecord,
    kind: SessionKind,
    client: &ClientInfo,
    now: i64,
) -> Result<()> {
    if !account.security.sessions.one_session_per_user {
        return Ok(());
    }
    let mut conn = state.store.read().await?;
    let live =
        session_store::count_live_for_user(&mut conn, user.id, &sessions::service::liveness(&account.security, now))
            .await?;
    drop(conn);
    if live == 0 {
        return Ok(());
    }
    let actor =
        Actor { account: account.id, user: Some(user.id), label: user.login.clone(), address: client.address.clone() };
    let mut tx = state.store.begin().await?;
    tx.affects(Affects::Nothing);
    let mut changes = Changes::new();
    changes.set("reason", "session_active").set("kind", kind.as_str()).set("live_sessions", live);
    activity::service::record(tx.conn(), &actor, "auth.sign_in_refused", Target::user(user.id, &user.login), &changes)
        .await?;
    tx.commit().await?;
    Err(Error::SessionActive(
        "you are already signed in elsewhere and this account allows one session per user; \
         sign in again with take_over to end the other session"
            .into(),
    ))
}

#[allow(clippy::too_many_arguments)]
async fn open_session(
    tx: &mut crate::store::Tx,
    actor: &Actor,
    account: &AccountRecord,
    user: &UserRecord,
    (kind, method): (SessionKind, SignInMethod),
    take_over: bool,
    client: &ClientInfo,
    now: i64,
) -> Result<SignedIn> {
    if take_over && account.security.sessions.one_session_per_user {
        let ended = session_store::delete_for_user(tx.conn(), user.id, None).await?;
        if ended > 0 {
            let mut changes = Changes::new();
            changes.set("ended", ended).set("kind", kind.as_str());
            activity::service::record(
                tx.conn(),
                actor,
                "auth.session_taken_over",
                Target::user(user.id, &user.login),
                &changes,
            )
            .await?;
        }
    }
    let token = token::new_token();
    let absolute = now + i64::from(account.security.sessions.absolute_hours) * 3_600_000;
    session_store::insert(
        tx.conn(),
        &session_store::NewSession {
            account: account.id,
            user: user.id,
            token_hash: &token::hash(&token),
            kind,
            now,
            expires_at: absolute,
            address: client.address.as_deref(),
            user_agent: client.user_agent.as_deref(),
        },
    )
    .await?;
    let mut changes = Changes::new();
    changes.set("kind", kind.as_str());
    if method != SignInMethod::Password {
        changes.set("method", method.as_str());
    }
    activity::service::record(tx.conn(), actor, "auth.sign_in", Target::user(user.id, &user.login), &changes).await?;
    let expires_at = kind.idle_limit_ms(&account.security, user).map_or(absolute, |idle| absolute.min(now + idle));
    Ok(SignedIn {
        token,
        expires_at,
        user: user.id,
        account_slug: account.slug.clone(),
        device: None,
        recovery_codes: None,
    })
}

/// The password-change step: a valid challenge and a new password that meets the policy
/// open the session the sign-in asked for.
pub async fn complete_password_change(
    state: &AppState,
    challenge: &str,
    new_password: SecretString,
    client: &ClientInfo,
) -> Result<SignedIn> {
    let now = now_ms();
    let challenge_hash = token::hash(challenge);
    let mut conn = state.store.read().await?;
    let pending =
        challenges::peek(&mut conn, &challenge_hash, now).await?.filter(|c| c.step == SignInStep::PasswordChange);
    let Some(pending) = pending else { return Err(refused()) };
    let account = accounts::by_id(&mut conn, pending.account_id).await?.ok_or_else(refused)?;
    let user = users::get(&mut conn, account.id, pending.user_id).await?.ok_or_else(refused)?;
    drop(conn);
    // A lock (D5: wrong codes count too) ends the sign-ins in progress.
    if user.status != UserStatus::Active
        || !account.enabled
        || user.locked_until.is_some_and(|t| t > Timestamp::from_ms(now))
    {
        return Err(refused());
    }
    let holder = Holder { id: Some(user.id), login: &user.login, email: user.email.as_deref() };
    change::vet(state, &account.security, &holder, &new_password, "new_password").await?;
    let hash = password::hash(new_password).await?;
    let actor =
        Actor { account: account.id, user: Some(user.id), label: user.login.clone(), address: client.address.clone() };
    let mut tx = state.store.begin().await?;
    // Taken inside the transaction: of two racing requests, one gets it.
    challenges::take(tx.conn(), &challenge_hash, now).await?.ok_or_else(refused)?;
    change::save(tx.conn(), &account.security, user.id, &hash, false, now).await?;
    sessions::service::end_all_of_user(tx.conn(), &actor, user.id, &user.login, None, "password_changed").await?;
    let mut changes = Changes::new();
    changes.set("reason", &pending.reason);
    activity::service::record(tx.conn(), &actor, "user.password_changed", Target::user(user.id, &user.login), &changes)
        .await?;
    // The second factor, if any, was shown before this step; what is left is the session.
    let changed =
        UserRecord { must_change_password: false, password_changed_at: Some(Timestamp::from_ms(now)), ..user.clone() };
    let progress = Progress {
        actor,
        account: &account,
        user: &changed,
        kind: pending.session_kind,
        take_over: pending.take_over,
        client,
        now,
        device_hash: pending.device_hash.clone(),
        origin: pending.address.clone(),
        method: pending.method,
        provider_second_factor: false,
    };
    let Outcome::SignedIn(signed_in) = proceed(state, &mut tx, &progress, Passed::SecondFactor).await? else {
        return Err(Error::Internal(anyhow::anyhow!("a completed password change asked for another step")));
    };
    tx.affects(Affects::Users(vec![user.id]));
    tx.commit().await?;
    state.sessions.forget_user(user.id);
    Ok(signed_in)
}

pub async fn sign_out(state: &AppState, caller: &Caller, client: &ClientInfo) -> Result<()> {
    if caller.api_token.is_some() {
        return Err(Error::state_conflict(
            "authorization",
            "api_token",
            "an API token is not signed out; revoke it instead",
        ));
    }
    let mut tx = state.store.begin().await?;
    session_store::delete(tx.conn(), caller.account, caller.session, Some(caller.user)).await?;
    let actor = caller.actor(client);
    activity::service::record(
        tx.conn(),
        &actor,
        "auth.sign_out",
        Target::user(caller.user, &caller.login),
        &Changes::new(),
    )
    .await?;
    tx.affects(Affects::Users(vec![caller.user]));
    tx.commit().await?;
    state.sessions.forget_user(caller.user);
    Ok(())
}
