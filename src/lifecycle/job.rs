//! The job that begins and ends deactivation periods when they fall due. Every instance runs
//! it; each period is claimed in the transaction that applies it (`store::lifecycle::move_period`),
//! so with several instances on one PostgreSQL each change happens once. A change that fell due
//! while no instance ran is applied at the next start. It follows `Config::clock`, which tests
//! move by hand.

use std::time::{Duration, Instant};

use crate::activity::activation::Activation;
use crate::activity::{self, Actor, Changes, Target as EventTarget};
use crate::clock::Timestamp;
use crate::error::Result;
use crate::model::lifecycle::{ActivationCause, ActivationChange, PeriodRecord, PeriodState};
use crate::model::user::UserStatus;
use crate::state::AppState;
use crate::store::lifecycle as store;
use crate::store::users as users_store;

/// A period is applied at most this long after it falls due (also how often periods saved by
/// other instances are looked for).
const POLL: Duration = Duration::from_secs(5);
const MIN_WAIT: Duration = Duration::from_millis(50);
const BATCH: i64 = 200;
/// How the job signs what it does in the activity and activation logs.
pub const ACTOR_LABEL: &str = "deactivation schedule";

/// Runs until the task is aborted; failures are logged and tried again on the next round.
pub async fn run(state: AppState) {
    let clock = state.config.clock.clone();
    let mut ticks = clock.ticks();
    loop {
        let now = clock.now();
        let started = Instant::now();
        let applied = apply_due(&state, now).await;
        crate::observability::metrics::job_ran("deactivation_schedules", started, applied.is_ok());
        if let Err(e) = &applied {
            tracing::warn!(error = ?e, "applying due deactivation periods");
        }
        ticks.caught_up(now);
        let wait = match next_due(&state).await {
            Ok(Some(at)) => {
                Duration::from_millis(u64::try_from(at.ms_since(clock.now())).unwrap_or(0)).clamp(MIN_WAIT, POLL)
            }
            _ => POLL,
        };
        tokio::select! {
            _ = ticks.moved() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

async fn next_due(state: &AppState) -> Result<Option<Timestamp>> {
    let mut conn = state.store.read().await?;
    Ok(store::next_due(&mut conn).await?)
}

/// Applies every period due at `now`; returns how many changes this instance made.
pub async fn apply_due(state: &AppState, now: Timestamp) -> Result<u64> {
    let mut applied = 0;
    loop {
        let due = {
            let mut conn = state.store.read().await?;
            store::due(&mut conn, now, BATCH).await?
        };
        let mut progressed = false;
        for period in &due {
            match apply(state, period, now).await {
                Ok(true) => {
                    applied += 1;
                    progressed = true;
                }
                // Another instance took it first (or is applying it now).
                Ok(false) => {}
                Err(e) => tracing::warn!(error = ?e, period = period.id.0, "applying a deactivation period"),
            }
        }
        if (due.len() as i64) < BATCH || !progressed {
            return Ok(applied);
        }
    }
}

/// Begins or ends one period, in one transaction with what follows from it; false when another
/// instance had claimed it.
async fn apply(state: &AppState, period: &PeriodRecord, now: Timestamp) -> Result<bool> {
    let actor = Actor::system(period.account_id, ACTOR_LABEL);
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let Some(user) = users_store::get(conn, period.account_id, period.user_id).await? else { return Ok(false) };
    let target = EventTarget::user(user.id, &user.login);
    let mut changes = Changes::new();
    changes.set("period", period.id.0);
    match period.state {
        PeriodState::Pending => {
            // Not over a user someone deactivated meanwhile (its end would reactivate them
            // against that decision), nor over the account's last admin.
            let skip = match user.status == UserStatus::Active {
                false => Some("the user was deactivated already"),
                true => {
                    // D4, counted under the account's guard: no concurrent change removes an
                    // admin meanwhile.
                    crate::store::accounts::guard(conn, period.account_id).await?;
                    crate::access::principal::is_last_admin(conn, period.account_id, user.id)
                        .await?
                        .then_some("the user is the account's last admin")
                }
            };
            if let Some(why) = skip {
                if !claim(conn, period, PeriodState::Cancelled, now).await? {
                    return Ok(false);
                }
                changes.set("skipped", why);
                store::show_on_users(conn, &store::one_user(user.id)).await?;
                activity::record(conn, &actor, "user.deactivation_skipped", target, &changes).await?;
            } else {
                // Not committed (so rolled back) unless both hold: the next round sees why not.
                if !claim(conn, period, PeriodState::InEffect, now).await?
                    || !super::service::deactivate(
                        conn,
                        &actor,
                        &user,
                        period.id,
                        period.reason.as_deref(),
                        ActivationCause::Scheduled,
                        now,
                    )
                    .await?
                {
                    return Ok(false);
                }
                changes.diff("status", UserStatus::Active, UserStatus::Disabled);
                activity::record(conn, &actor, "user.updated", target, &changes).await?;
            }
        }
        PeriodState::InEffect => {
            if !claim(conn, period, PeriodState::Ended, now).await? {
                return Ok(false);
            }
            if users_store::move_status(
                conn,
                period.account_id,
                user.id,
                UserStatus::Disabled,
                UserStatus::Active,
                now.as_ms(),
            )
            .await?
            {
                let how = Activation {
                    change: ActivationChange::Reactivated,
                    cause: ActivationCause::Scheduled,
                    at: now,
                    reason: period.reason.as_deref(),
                    period: Some(period.id),
                };
                crate::users::status::changed(conn, &actor, user.id, &user.login, how).await?;
                changes.diff("status", UserStatus::Disabled, UserStatus::Active);
                activity::record(conn, &actor, "user.updated", target, &changes).await?;
            } else {
                store::show_on_users(conn, &store::one_user(user.id)).await?;
            }
        }
        PeriodState::Ended | PeriodState::Cancelled => return Ok(false),
    }
    tx.commit().await?;
    Ok(true)
}

/// Moves the period on if it is still as this instance read it: the claim.
async fn claim(conn: &mut crate::store::Conn, period: &PeriodRecord, to: PeriodState, now: Timestamp) -> Result<bool> {
    Ok(store::move_period(conn, period, Some(period.version), &store::Moved::to(period, to), now.as_ms()).await?)
}
