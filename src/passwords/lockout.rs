//! Failed sign-ins (R10): counted once per attempt for the user and the address, in the
//! database so every instance sees them, locking the user or blocking the address at the limit.

use crate::activity::{self, Actor, Changes, Target, typed_login_label};
use crate::clock::Timestamp;
use crate::error::Error;
use crate::error::Result;
use crate::model::AccountRecord;
use crate::model::ClientInfo;
use crate::model::SessionKind;
use crate::model::settings::{LockoutPolicy, SecuritySettings};
use crate::model::user::UserRecord;
use crate::state::AppState;
use crate::store::{Affects, challenges, sign_in_failures};

/// Counts a failure once for the user (wrong password only: a locked or disabled user's
/// count does not grow) and once for the address, locks or blocks at the limit, and records
/// the reason.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn record_failure(
    state: &AppState,
    account: Option<&AccountRecord>,
    user: Option<&UserRecord>,
    settings: &SecuritySettings,
    login: &str,
    reason: &str,
    kind: SessionKind,
    client: &ClientInfo,
    now: i64,
) -> Result<()> {
    let lockout = &settings.lockout;
    let mut tx = state.store.begin().await?;
    tx.affects(Affects::Nothing);
    if let Some(address) = &client.address {
        count_address_failure(&mut tx, address, lockout, now).await?;
    }
    match account {
        Some(account) => {
            let actor = Actor {
                account: account.id,
                user: user.map(|u| u.id),
                label: user.map_or_else(|| typed_login_label(login), |u| u.login.clone()),
                address: client.address.clone(),
            };
            let target = match user {
                Some(u) => Target::user(u.id, &u.login),
                None => Target { kind: "user", id: None, label: &actor.label },
            };
            let mut changes = Changes::new();
            changes.set("reason", reason).set("kind", kind.as_str());
            activity::service::record(tx.conn(), &actor, "auth.sign_in_failed", target, &changes).await?;
            if let (Some(u), "wrong_password") = (user, reason) {
                count_user_failure(&mut tx, &actor, u, lockout, now).await?;
            }
        }
        None => tracing::info!("sign-in refused: unknown account"),
    }
    tx.commit().await?;
    metrics::counter!("roster_sign_ins_total", "outcome" => "refused").increment(1);
    metrics::counter!("roster_sign_in_failures_total", "reason" => reason.to_string()).increment(1);
    Ok(())
}

/// Counts one failure from a client's address (a wrong password, or a wrong second-factor code,
/// D5) and refuses the address for a while at the limit. Returns whether it is now refused.
pub(crate) async fn count_address_failure(
    tx: &mut crate::store::Tx,
    address: &str,
    lockout: &LockoutPolicy,
    now: i64,
) -> Result<bool> {
    let window_ms = i64::from(lockout.window_minutes) * 60_000;
    let failures = sign_in_failures::count_address_failure(tx.conn(), address, now, window_ms).await?;
    if failures < i64::from(lockout.address_max_failures) {
        return Ok(false);
    }
    sign_in_failures::block_address(tx.conn(), address, now + i64::from(lockout.lock_minutes) * 60_000).await?;
    tx.after_commit(|| metrics::counter!("roster_lockouts_total", "of" => "address").increment(1));
    tracing::warn!(address, failures, "sign-in refused from this address for a while: too many failures");
    Ok(true)
}

/// Counts one failure against a user (a wrong password at sign-in or when changing it, or a
/// wrong second-factor code, D5) and locks them at the limit, recording the lock; a lock also
/// ends the user's pending sign-in steps. Returns the count in the window (at or above
/// `lockout.max_failures` when the user is locked, by this failure or before it: a failure
/// while locked is not counted).
pub(crate) async fn count_user_failure(
    tx: &mut crate::store::Tx,
    actor: &Actor,
    user: &UserRecord,
    lockout: &LockoutPolicy,
    now: i64,
) -> Result<i64> {
    let window_ms = i64::from(lockout.window_minutes) * 60_000;
    let Some(failures) = sign_in_failures::count_user_failure(tx.conn(), user.id, now, window_ms).await? else {
        return Ok(i64::from(lockout.max_failures));
    };
    if failures >= i64::from(lockout.max_failures) {
        sign_in_failures::lock_user(tx.conn(), user.id, now + i64::from(lockout.lock_minutes) * 60_000).await?;
        challenges::delete_for_user(tx.conn(), user.id).await?;
        tx.after_commit(|| metrics::counter!("roster_lockouts_total", "of" => "user").increment(1));
        let mut changes = Changes::new();
        changes.set("failures", lockout.max_failures).set("minutes", lockout.lock_minutes);
        activity::service::record(tx.conn(), actor, "user.locked", Target::user(user.id, &user.login), &changes)
            .await?;
    }
    Ok(failures)
}

/// While a lockout runs, no password is checked, not even through a session: otherwise a stolen
/// session could keep guessing after the guesses locked the account.
pub fn refuse_while_locked(user: &crate::model::user::UserRecord) -> Result<()> {
    match user.locked_until {
        Some(until) if until > Timestamp::now() => Err(Error::invalid(
            "current_password",
            "locked",
            format!("too many wrong passwords: try again after {}", until.to_rfc3339()),
        )),
        _ => Ok(()),
    }
}
