//! The second-factor steps of a sign-in (R26–R30): asking for a code or for the authenticator's
//! set-up once the password is right, sending emailed codes, checking what comes back, and
//! remembering where a user signs in from.

use rand::Rng;
use sha2::{Digest, Sha256};

use crate::activity::{self, Changes, Target};
use crate::auth::ClientInfo;
use crate::clock::{Timestamp, now_ms};
use crate::error::{Error, Result};
use crate::model::user::{TwoFactorMethod, TwoFactorMode, UserRecord, UserStatus};
use crate::model::{AccountRecord, SignInStep};
use crate::second_factor::authenticator::{SetupDetails, details, open};
use crate::second_factor::recovery;
use crate::second_factor::service::{
    EMAIL_RESEND_MS, MAX_EMAIL_CODES, MAX_WRONG_CODES, Need, accepted_methods, mask_email,
};
use crate::second_factor::totp::{self, TotpSecret};
use crate::secrets::token;
use crate::sign_in::service::{self as sign_in, Outcome, Passed, Pending, Progress};
use crate::state::AppState;
use crate::store::challenges::{self, ChallengeRecord};
use crate::store::second_factor::{self as store, ChallengeFactor};
use crate::store::{Affects, Tx, accounts, sign_in_failures, users};

/// Called once the password is right: the step the sign-in must take for its second factor, if any.
pub(crate) async fn begin(state: &AppState, tx: &mut Tx, p: &Progress<'_>) -> Result<Option<Pending>> {
    let user = p.user;
    let conn = tx.conn();
    let is_admin = store::is_admin(conn, user.id).await?;
    let method = user.two_factor_method;
    let (has_codes, familiarity) = match method {
        TwoFactorMethod::Disabled => (false, None),
        _ => {
            let has_codes = store::unused_recovery_codes(conn, user.id).await? > 0;
            let familiarity = match user.two_factor_mode {
                TwoFactorMode::Suspicious => {
                    let country = country_of(state, p.client);
                    Some(
                        store::familiarity(
                            conn,
                            user.id,
                            p.client.address.as_deref(),
                            country.as_deref(),
                            p.device_hash.as_deref(),
                        )
                        .await?,
                    )
                }
                TwoFactorMode::Always => None,
            };
            (has_codes, familiarity)
        }
    };
    let need = crate::second_factor::service::need(
        &p.account.security.second_factor,
        user,
        is_admin,
        has_codes,
        familiarity.as_ref(),
    );
    let (step, reason, methods) = match need {
        Need::Nothing => return Ok(None),
        Need::Setup(reason) => (SignInStep::TotpSetup, reason.to_string(), vec!["totp"]),
        Need::Code { methods, reason } => (SignInStep::SecondFactor, reason, methods),
    };
    let (challenge, id, expires_at) = sign_in::new_challenge(tx, p, step, &reason).await?;
    let mut email_sent_to = None;
    if step == SignInStep::TotpSetup {
        let secret = TotpSecret::generate();
        let sealed = state.secrets.seal(crate::secrets::Owner::totp_secret(user.id), secret.base32());
        store::set_challenge_setup(tx.conn(), id, &sealed, p.device_hash.as_deref()).await?;
    } else if methods.contains(&"email") && !methods.contains(&"totp") {
        // Email is the only way (besides recovery codes): send the code without being asked.
        email_sent_to = Some(send_code(tx, p.account, user, id, p.now).await?);
    }
    let mut changes = Changes::new();
    changes.set("step", step.as_str()).set("reason", &reason);
    activity::service::record(tx.conn(), &p.actor, "auth.sign_in_step", Target::user(user.id, &user.login), &changes)
        .await?;
    Ok(Some(Pending { step, reason, challenge, expires_at, methods, email_sent_to, recovery_codes: None }))
}

/// After a completed sign-in of a user whose second factor is asked only for suspicious
/// sign-ins: remembers the address and the device. Returns a new device token when the client
/// presented none that the user is known to use.
pub(crate) async fn remember_sign_in(state: &AppState, tx: &mut Tx, p: &Progress<'_>) -> Result<Option<String>> {
    if p.user.two_factor_method == TwoFactorMethod::Disabled || p.user.two_factor_mode != TwoFactorMode::Suspicious {
        return Ok(None);
    }
    if let Some(address) = p.origin.as_deref() {
        let country = address.parse().ok().and_then(|ip| state.geoip.country(ip));
        store::remember_address(tx.conn(), p.user.id, address, country.as_deref(), p.now).await?;
    }
    if let Some(hash) = p.device_hash.as_deref()
        && store::touch_device(tx.conn(), p.user.id, hash, p.now).await?
    {
        return Ok(None);
    }
    let device = token::new_token();
    store::add_device(tx.conn(), p.user.id, &token::hash(&device), p.now).await?;
    Ok(Some(device))
}

/// The country of the client's address, when a GeoIP database is configured.
fn country_of(state: &AppState, client: &ClientInfo) -> Option<String> {
    let ip = client.address.as_deref()?.parse().ok()?;
    state.geoip.country(ip)
}

/// A six-digit code, bound to its challenge, mailed to the user.
async fn send_code(
    tx: &mut Tx,
    account: &AccountRecord,
    user: &UserRecord,
    challenge_id: i64,
    now: i64,
) -> Result<String> {
    let email = user
        .email
        .as_deref()
        .ok_or_else(|| Error::invalid("method", "no_email", "you have no email address for codes"))?;
    let code = format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000));
    let minutes = account.security.second_factor.email_code_minutes;
    let expires_at = now + i64::from(minutes) * 60_000;
    let sent = store::set_challenge_code(
        tx.conn(),
        challenge_id,
        &code_hash(challenge_id, &code),
        expires_at,
        now,
        MAX_EMAIL_CODES,
        now - EMAIL_RESEND_MS,
    )
    .await?;
    if !sent {
        return Err(Error::TooManyAttempts((EMAIL_RESEND_MS / 1000) as u64));
    }
    let text = format!(
        "Your Roster sign-in code for {account} is\n\n    {code}\n\nIt is good for {minutes} minutes. \
         If you did not just sign in, someone knows your password: change it now.\n",
        account = account.name
    );
    let message =
        crate::mail::Message { to: email, subject: "Your sign-in code", text: &text, kind: "second_factor_code" };
    crate::mail::enqueue(tx.conn(), account.id, &message).await?;
    Ok(mask_email(email))
}

fn code_hash(challenge_id: i64, code: &str) -> String {
    hex::encode(Sha256::digest(format!("roster-email-code:{challenge_id}:{code}").as_bytes()))
}

/// A live challenge of the given step, with its account and user, both still able to sign in.
struct Live {
    record: ChallengeRecord,
    factor: ChallengeFactor,
    account: AccountRecord,
    user: UserRecord,
}

async fn live(state: &AppState, challenge: &str, step: SignInStep, now: i64) -> Result<Live> {
    let refused = || Error::Unauthenticated;
    let mut conn = state.store.read().await?;
    let record = challenges::peek(&mut conn, &token::hash(challenge), now)
        .await?
        .filter(|c| c.step == step)
        .ok_or_else(refused)?;
    let factor = store::challenge_factor(&mut conn, record.id).await?.ok_or_else(refused)?;
    let account = accounts::by_id(&mut conn, record.account_id).await?.ok_or_else(refused)?;
    let user = users::get(&mut conn, account.id, record.user_id).await?.ok_or_else(refused)?;
    if user.status != UserStatus::Active
        || !account.enabled
        || user.locked_until.is_some_and(|t| t > Timestamp::from_ms(now))
    {
        return Err(refused());
    }
    Ok(Live { record, factor, account, user })
}

fn progress<'a>(live: &'a Live, client: &'a ClientInfo, now: i64) -> Progress<'a> {
    Progress {
        actor: crate::activity::Actor {
            account: live.account.id,
            user: Some(live.user.id),
            label: live.user.login.clone(),
            address: client.address.clone(),
        },
        account: &live.account,
        user: &live.user,
        kind: live.record.session_kind,
        take_over: live.record.take_over,
        client,
        now,
        device_hash: live.factor.device_hash.clone(),
        origin: live.record.address.clone(),
        method: live.record.method,
        provider_second_factor: false,
    }
}

/// The address throttle (D5): an address refused for too many failures continues no sign-in,
/// as it starts none; the same 429 with `Retry-After` as at the password.
pub async fn address_open(state: &AppState, client: &ClientInfo, now: i64) -> Result<()> {
    let Some(address) = client.address.as_deref() else { return Ok(()) };
    let mut conn = state.store.read().await?;
    match sign_in_failures::address_blocked_until(&mut conn, address, now).await? {
        Some(until) => Err(Error::TooManyAttempts(u64::try_from((until - now) / 1000).unwrap_or(0).max(1))),
        None => Ok(()),
    }
}

/// Whether the user is an admin with an authenticator (D6), who never signs in by email.
async fn admin_uses_authenticator(state: &AppState, user: &UserRecord) -> Result<bool> {
    if user.totp_confirmed_at.is_none() {
        return Ok(false);
    }
    let mut conn = state.store.read().await?;
    Ok(crate::second_factor::service::admin_uses_authenticator(user, store::is_admin(&mut conn, user.id).await?))
}

/// D6: the refusal of an emailed code to an admin who has an authenticator.
fn authenticator_required(field: &str) -> Error {
    Error::invalid(
        field,
        "authenticator_required",
        "admins sign in with their authenticator app (or a recovery code), never with an emailed code",
    )
}

/// `POST /api/v1/auth/second-factor/email`: sends (again) an emailed code for the sign-in.
pub async fn send_email_code(state: &AppState, challenge: &str, client: &ClientInfo) -> Result<(String, i64)> {
    let now = now_ms();
    address_open(state, client, now).await?;
    let live = live(state, challenge, SignInStep::SecondFactor, now).await?;
    if admin_uses_authenticator(state, &live.user).await? {
        return Err(authenticator_required("challenge"));
    }
    if !live.user.two_factor_method.uses_email() || live.user.email.is_none() {
        return Err(Error::invalid("challenge", "email_not_offered", "this sign-in does not offer email codes"));
    }
    if live.factor.codes_sent >= MAX_EMAIL_CODES {
        return Err(Error::TooManyAttempts(((live.record.expires_at - now) / 1000).max(1) as u64));
    }
    if let Some(sent) = live.factor.code_sent_at
        && sent + EMAIL_RESEND_MS > now
    {
        return Err(Error::TooManyAttempts(((sent + EMAIL_RESEND_MS - now) / 1000).max(1) as u64));
    }
    let mut tx = state.store.begin().await?;
    tx.affects(Affects::Nothing);
    let to = send_code(&mut tx, &live.account, &live.user, live.record.id, now).await?;
    tx.commit().await?;
    state.mail.wake();
    Ok((to, now + i64::from(live.account.security.second_factor.email_code_minutes) * 60_000))
}

/// How a code was checked.
enum Checked {
    /// Right, by this method; for TOTP, the step to record as used.
    Right(&'static str, Option<i64>),
    Wrong(&'static str, &'static str),
}

/// Takes one of the challenge's attempts (committed at once) before its code is checked; the
/// count it reached.
async fn reserve_attempt(state: &AppState, live: &Live, now: i64) -> Result<i64> {
    let mut tx = state.store.begin().await?;
    tx.affects(Affects::Nothing);
    let attempt = store::reserve_attempt(tx.conn(), live.record.id, MAX_WRONG_CODES, now).await?;
    tx.commit().await?;
    attempt.ok_or(Error::Unauthenticated)
}

/// Inside the transaction that opens the session: the user may have been locked, disabled or
/// given a new password while the code was checked.
async fn still_able(tx: &mut Tx, live: &Live, now: i64) -> Result<()> {
    let fresh = users::sign_in_state(tx.conn(), live.user.id).await?.ok_or(Error::Unauthenticated)?;
    let able = fresh.status == UserStatus::Active && fresh.locked_until.is_none_or(|t| t <= Timestamp::from_ms(now));
    if able { Ok(()) } else { Err(Error::Unauthenticated) }
}

/// `POST /api/v1/auth/second-factor`: the code of the second-factor step.
pub async fn verify(
    state: &AppState,
    challenge: &str,
    code: &str,
    method: Option<&str>,
    client: &ClientInfo,
) -> Result<Outcome> {
    let now = now_ms();
    address_open(state, client, now).await?;
    let live = live(state, challenge, SignInStep::SecondFactor, now).await?;
    let user = &live.user;
    // What this step accepts, as `begin` offered it (D6: an admin's authenticator, not email).
    let admin_factor = admin_uses_authenticator(state, user).await?;
    let accepted = accepted_methods(&live.account.security.second_factor, user, admin_factor);
    let method = match method {
        Some(m @ ("totp" | "email" | "recovery_code")) => m,
        Some(_) => return Err(Error::invalid("method", "unknown_choice", "must be totp, email or recovery_code")),
        None if recovery::looks_like(code) => "recovery_code",
        None if accepted.contains(&"totp") => "totp",
        None => "email",
    };
    if method == "email" && admin_factor {
        return Err(authenticator_required("method"));
    }
    if !accepted.contains(&method) {
        return Err(Error::invalid("method", "not_offered", "this sign-in does not offer that method"));
    }
    let attempt = reserve_attempt(state, &live, now).await?;
    let checked = match method {
        "totp" => {
            let secret = stored_secret(state, user).await?;
            match secret.matching_step(code, now)? {
                Some(step) => Checked::Right("totp", Some(step)),
                None => Checked::Wrong("totp", "wrong_code"),
            }
        }
        "email" => match (&live.factor.code_hash, live.factor.code_expires_at) {
            (Some(hash), Some(until)) if until > now => {
                let given = code_hash(live.record.id, &totp::normalize(code));
                if bool::from(subtle::ConstantTimeEq::ct_eq(given.as_bytes(), hash.as_bytes())) {
                    Checked::Right("email", None)
                } else {
                    Checked::Wrong("email", "wrong_code")
                }
            }
            (Some(_), _) => Checked::Wrong("email", "expired"),
            (None, _) => return Err(Error::invalid("code", "no_code_sent", "ask for an emailed code first")),
        },
        _ => Checked::Right("recovery_code", None),
    };
    let p = progress(&live, client, now);
    let mut tx = state.store.begin().await?;
    let outcome = match checked {
        Checked::Right("recovery_code", _) => {
            if recovery::redeem(tx.conn(), &state.secrets, user.id, code, now).await? {
                Ok("recovery_code")
            } else {
                Err(("recovery_code", "wrong_code"))
            }
        }
        Checked::Right("totp", Some(step)) => {
            if store::use_totp_step(tx.conn(), user.id, step).await? {
                Ok("totp")
            } else {
                Err(("totp", "already_used"))
            }
        }
        Checked::Right(m, _) => Ok(m),
        Checked::Wrong(m, why) => Err((m, why)),
    };
    match outcome {
        Ok(method) => {
            // Taken inside the transaction: of two racing requests, one gets it.
            challenges::take(tx.conn(), &token::hash(challenge), now).await?.ok_or(Error::Unauthenticated)?;
            still_able(&mut tx, &live, now).await?;
            let mut changes = Changes::new();
            changes.set("method", method);
            activity::service::record(
                tx.conn(),
                &p.actor,
                "auth.second_factor_passed",
                Target::user(user.id, &user.login),
                &changes,
            )
            .await?;
            let outcome = sign_in::proceed(state, &mut tx, &p, Passed::SecondFactor).await?;
            sign_in::finish(state, tx, &p, outcome).await
        }
        Err((method, why)) => {
            drop(tx);
            Err(wrong_code(state, &live, &p, attempt, method, why).await)
        }
    }
}

/// Records a wrong code (its attempt was taken before the check) and counts it, as a wrong
/// password is counted (D5), for the user (across sign-ins: only a completed sign-in clears the
/// count) and for the client's address; the answer to give. A code that locks the user ends
/// the sign-in with the 401 a locked user's sign-in gets; one that gets the address refused,
/// with the address's 429.
async fn wrong_code(
    state: &AppState,
    live: &Live,
    p: &Progress<'_>,
    attempt: i64,
    method: &str,
    why: &'static str,
) -> Error {
    let result: Result<Error> = async {
        let mut tx = state.store.begin().await?;
        tx.affects(Affects::Nothing);
        let wrong = attempt;
        let mut changes = Changes::new();
        changes.set("method", method).set("reason", why).set("step", live.record.step.as_str());
        activity::service::record(
            tx.conn(),
            &p.actor,
            "auth.second_factor_failed",
            Target::user(live.user.id, &live.user.login),
            &changes,
        )
        .await?;
        let counted = method.to_string();
        tx.after_commit(move || {
            metrics::counter!("roster_second_factor_failures_total", "method" => counted, "reason" => why).increment(1);
        });
        let lockout = &live.account.security.lockout;
        // The address first, then the user, in the same order as a wrong password
        // (`passwords::lockout::record_failure`), so that the two cannot deadlock on PostgreSQL.
        let blocked = match p.client.address.as_deref() {
            Some(address) => crate::passwords::lockout::count_address_failure(&mut tx, address, lockout, p.now).await?,
            None => false,
        };
        // A lock also ends the user's pending sign-ins, this one among them.
        let locked = crate::passwords::lockout::count_user_failure(&mut tx, &p.actor, &live.user, lockout, p.now)
            .await?
            >= i64::from(lockout.max_failures);
        let left = MAX_WRONG_CODES - wrong;
        if left <= 0 || blocked {
            store::delete_challenge(tx.conn(), live.record.id).await?;
        }
        tx.commit().await?;
        Ok(match (left, why) {
            _ if blocked => Error::TooManyAttempts(u64::from(lockout.lock_minutes) * 60),
            _ if locked => Error::Unauthenticated,
            (..=0, _) => Error::Unauthenticated,
            (_, "already_used") => {
                Error::invalid("code", "already_used", "this code was used already: wait for the next one")
            }
            (_, "expired") => Error::invalid("code", "expired", "this code has expired: ask for a new one"),
            _ => Error::invalid("code", "wrong_code", format!("is not the right code ({left} attempts left)")),
        })
    }
    .await;
    result.unwrap_or_else(|e| e)
}

async fn stored_secret(state: &AppState, user: &UserRecord) -> Result<TotpSecret> {
    let mut conn = state.store.read().await?;
    let record = store::totp(&mut conn, user.id).await?.ok_or(Error::Unauthenticated)?;
    let sealed = record.sealed_secret.ok_or(Error::Unauthenticated)?;
    open(state, user.id, &sealed)
}

/// `POST /api/v1/auth/totp-setup`: the authenticator being set up by this sign-in (the same
/// secret each time it is asked while the challenge lives).
pub async fn setup_details(state: &AppState, challenge: &str) -> Result<SetupDetails> {
    let live = live(state, challenge, SignInStep::TotpSetup, now_ms()).await?;
    let sealed = live.factor.pending_secret.as_deref().ok_or(Error::Unauthenticated)?;
    details(&open(state, live.user.id, sealed)?, &live.account, &live.user)
}

/// `POST /api/v1/auth/totp-setup/confirm`: a code from the new authenticator completes its
/// set-up; recovery codes are issued and the sign-in goes on.
pub async fn confirm_setup(state: &AppState, challenge: &str, code: &str, client: &ClientInfo) -> Result<Outcome> {
    let now = now_ms();
    address_open(state, client, now).await?;
    let live = live(state, challenge, SignInStep::TotpSetup, now).await?;
    let attempt = reserve_attempt(state, &live, now).await?;
    let sealed = live.factor.pending_secret.clone().ok_or(Error::Unauthenticated)?;
    let secret = open(state, live.user.id, &sealed)?;
    let p = progress(&live, client, now);
    let Some(step) = secret.matching_step(code, now)? else {
        return Err(wrong_code(state, &live, &p, attempt, "totp", "wrong_code").await);
    };
    let codes = recovery::generate();
    let hashes = recovery::hashes(&state.secrets, live.user.id, &codes);
    let user = &live.user;
    let mut tx = state.store.begin().await?;
    challenges::take(tx.conn(), &token::hash(challenge), now).await?.ok_or(Error::Unauthenticated)?;
    still_able(&mut tx, &live, now).await?;
    // Set up elsewhere since this sign-in began (My Account, another sign-in): do not replace it.
    let current = store::totp(tx.conn(), user.id).await?.ok_or(Error::Unauthenticated)?;
    if current.confirmed_at != user.totp_confirmed_at {
        return Err(Error::Unauthenticated);
    }
    let method = match user.two_factor_method {
        TwoFactorMethod::Disabled => Some(TwoFactorMethod::Totp),
        _ => None,
    };
    store::confirm_totp(tx.conn(), user.id, &sealed, step, method, now).await?;
    store::replace_recovery_codes(tx.conn(), user.id, &hashes, now).await?;
    let mut changes = Changes::new();
    changes.set("method", method.unwrap_or(user.two_factor_method).as_str()).set("recovery_codes", codes.len());
    activity::service::record(
        tx.conn(),
        &p.actor,
        "user.second_factor_set_up",
        Target::user(user.id, &user.login),
        &changes,
    )
    .await?;
    // The user now has an authenticator (R29): the rest of the sign-in sees them as such.
    let set_up = UserRecord {
        two_factor_method: method.unwrap_or(user.two_factor_method),
        totp_confirmed_at: Some(now),
        ..user.clone()
    };
    let p = Progress { user: &set_up, ..p };
    let outcome = match sign_in::proceed(state, &mut tx, &p, Passed::SecondFactor).await? {
        Outcome::SignedIn(s) => Outcome::SignedIn(sign_in::SignedIn { recovery_codes: Some(codes), ..s }),
        Outcome::Step(s) => Outcome::Step(Pending { recovery_codes: Some(codes), ..s }),
        Outcome::Captcha(_) => return Err(Error::Internal(anyhow::anyhow!("a CAPTCHA after the second factor"))),
    };
    tx.affects(Affects::Users(vec![user.id]));
    sign_in::finish(state, tx, &p, outcome).await
}
