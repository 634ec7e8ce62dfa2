//! Deactivation periods (R18): saved on a user, edited or cancelled while open; one that
//! begins now deactivates the user at once, a later one is begun and ended by `job`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::principal::{self, Principal};
use crate::activity::activation::Activation;
use crate::activity::{self, Actor, Changes, Target as EventTarget};
use crate::clock::Timestamp;
use crate::error::{Error, FieldIssue, Issues, Result};
use crate::ids::{PeriodId, UserId};
use crate::model::lifecycle::{ActivationCause, ActivationChange, PeriodRecord, PeriodState};
use crate::model::user::{UserRecord, UserStatus};
use crate::state::AppState;
use crate::store::Conn;
use crate::store::lifecycle::{self as store, NewPeriod};
use crate::store::users as users_store;

/// `POST …/users/{id}/deactivations` and `PATCH …/deactivations/{period}`. In a PATCH an absent
/// field keeps its value and `null` clears it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeriodInput {
    /// RFC 3339. Absent or past: now — the user is deactivated at once. A period that has begun
    /// keeps its start.
    pub from: Option<String>,
    /// RFC 3339, later than `from` and than now: the user is reactivated by themself then.
    /// Absent or `null`: not by themself.
    #[serde(default, deserialize_with = "crate::domain::present")]
    #[schema(value_type = Option<String>)]
    pub until: Option<Option<String>>,
    /// Why, up to 500 characters; kept in the activation log.
    #[serde(default, deserialize_with = "crate::domain::present")]
    #[schema(value_type = Option<String>)]
    pub reason: Option<Option<String>>,
}

/// A user's period out.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PeriodView {
    pub id: PeriodId,
    pub user_id: UserId,
    pub from: String,
    /// `null`: the user is not reactivated by themself.
    pub until: Option<String>,
    pub reason: Option<String>,
    /// `pending` (not begun), `in_effect`, `ended` (reactivated) or `cancelled`.
    pub state: PeriodState,
    pub created_by: Option<i64>,
    pub created_by_label: String,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip)]
    pub version: i64,
}

impl From<PeriodRecord> for PeriodView {
    fn from(p: PeriodRecord) -> Self {
        PeriodView {
            id: p.id,
            user_id: p.user_id,
            from: p.starts_at.to_rfc3339(),
            until: p.ends_at.map(Timestamp::to_rfc3339),
            reason: p.reason,
            state: p.state,
            created_by: p.created_by,
            created_by_label: p.created_by_label,
            created_at: crate::clock::to_rfc3339(p.created_at),
            updated_at: crate::clock::to_rfc3339(p.updated_at),
            version: p.version,
        }
    }
}

/// The user's periods, latest first.
pub async fn list(state: &AppState, principal: &Principal, user: UserId) -> Result<Vec<PeriodView>> {
    let mut conn = state.store.read().await?;
    principal::seen_user(&mut conn, principal, user).await?;
    let periods = store::periods_of(&mut conn, principal.account(), user, false).await?;
    Ok(periods.into_iter().map(Into::into).collect())
}

pub async fn create(state: &AppState, principal: &Principal, user: UserId, input: PeriodInput) -> Result<PeriodView> {
    let now = state.config.clock.now();
    let mut issues = Issues::new();
    let (from, until) =
        crate::domain::period::range(&mut issues, input.from.as_deref(), input.until.clone().flatten().as_deref(), now);
    let reason = crate::domain::period::reason(&mut issues, "reason", input.reason.clone().flatten().as_deref());
    issues.into_result()?;
    principal.refuse_self(user, "user", "status")?;
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let target = principal::reachable_user(conn, principal, user).await?;
    if target.record.status == UserStatus::Invited {
        return Err(Error::StateConflict(FieldIssue::new(
            "status",
            "invited",
            "the user has not accepted their invitation yet: revoke it rather than deactivate them",
        )));
    }
    let begins_now = from <= now;
    if begins_now && target.record.status != UserStatus::Active {
        return Err(already_deactivated());
    }
    store::lock_user(conn, user).await?;
    refuse_overlap(conn, principal, user, None, from, until).await?;
    let admins_before = last_admin_guard(conn, principal, &target).await?;
    let state_now = if begins_now { PeriodState::InEffect } else { PeriodState::Pending };
    let new = NewPeriod {
        starts_at: from,
        ends_at: until,
        reason: reason.as_deref(),
        state: state_now,
        created_by: principal.actor.user,
        created_by_label: &principal.actor.label,
        now: now.as_ms(),
    };
    let id = store::insert_period(conn, principal.account(), user, &new).await?;
    let mut changes = period_changes(from, until, reason.as_deref());
    if begins_now {
        begin_now(conn, principal, &target, id, reason.as_deref(), admins_before, now).await?;
        changes.diff("status", UserStatus::Active, UserStatus::Disabled);
    }
    store::show_on_users(conn, &store::one_user(user)).await?;
    activity::record(
        conn,
        &principal.actor,
        "user.deactivation_scheduled",
        EventTarget::user(user, &target.record.login),
        &changes,
    )
    .await?;
    let saved = read_back(conn, principal, id).await?;
    tx.commit().await?;
    Ok(saved)
}

pub async fn edit(
    state: &AppState,
    principal: &Principal,
    user: UserId,
    id: PeriodId,
    expected_version: Option<i64>,
    input: PeriodInput,
) -> Result<PeriodView> {
    let now = state.config.clock.now();
    principal.refuse_self(user, "user", "status")?;
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let target = principal::reachable_user(conn, principal, user).await?;
    store::lock_user(conn, user).await?;
    let period = open_period(conn, principal, user, id).await?;
    if expected_version.is_some_and(|v| v != period.version) {
        return Err(Error::PreconditionFailed);
    }
    let begun = period.state == PeriodState::InEffect;
    let mut issues = Issues::new();
    let from_text = match (&input.from, begun) {
        (Some(f), true) => {
            let same = crate::clock::parse_rfc3339(f.trim()) == Some(period.starts_at.as_ms());
            if !same {
                issues.add("from", "begun", "the period has begun: only its end and reason can change");
            }
            None
        }
        (Some(f), false) => Some(f.clone()),
        (None, _) => Some(period.starts_at.to_rfc3339()),
    };
    let until_text = match &input.until {
        Some(u) => u.clone(),
        None => period.ends_at.map(Timestamp::to_rfc3339),
    };
    let (mut from, until) = crate::domain::period::range(&mut issues, from_text.as_deref(), until_text.as_deref(), now);
    if begun {
        from = period.starts_at;
    }
    let reason = match &input.reason {
        Some(r) => crate::domain::period::reason(&mut issues, "reason", r.as_deref()),
        None => period.reason.clone(),
    };
    issues.into_result()?;
    refuse_overlap(conn, principal, user, Some(id), from, until).await?;
    let begins_now = !begun && from <= now;
    if begins_now && target.record.status != UserStatus::Active {
        return Err(already_deactivated());
    }
    let admins_before = match begins_now {
        true => last_admin_guard(conn, principal, &target).await?,
        false => 0,
    };
    // R20: a member out for good holds no seat; given a date of return, they take one again.
    if begun
        && period.ends_at.is_none()
        && until.is_some()
        && target.record.status == UserStatus::Disabled
        && !target.record.is_end_user
    {
        crate::users::seats::make_room(conn, principal.account(), 1).await?;
    }
    let to = if begun || begins_now { PeriodState::InEffect } else { PeriodState::Pending };
    let moved = store::Moved { state: to, starts_at: from, ends_at: until, reason: reason.as_deref() };
    if !store::move_period(conn, &period, Some(period.version), &moved, now.as_ms()).await? {
        return Err(Error::PreconditionFailed);
    }
    let mut changes = Changes::new();
    changes
        .diff("from", period.starts_at.to_rfc3339(), from.to_rfc3339())
        .diff("until", period.ends_at.map(Timestamp::to_rfc3339), until.map(Timestamp::to_rfc3339))
        .diff("reason", period.reason.clone(), reason.clone());
    if begins_now {
        begin_now(conn, principal, &target, id, reason.as_deref(), admins_before, now).await?;
        changes.diff("status", UserStatus::Active, UserStatus::Disabled);
    }
    store::show_on_users(conn, &store::one_user(user)).await?;
    if !changes.is_empty() {
        changes.set("period", id.0);
        activity::record(
            conn,
            &principal.actor,
            "user.deactivation_changed",
            EventTarget::user(user, &target.record.login),
            &changes,
        )
        .await?;
    }
    let saved = read_back(conn, principal, id).await?;
    tx.commit().await?;
    Ok(saved)
}

/// Withdraws a period that has not begun; one in effect ends now and the user is reactivated.
pub async fn cancel(state: &AppState, principal: &Principal, user: UserId, id: PeriodId) -> Result<PeriodView> {
    let now = state.config.clock.now();
    principal.refuse_self(user, "user", "status")?;
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let target = principal::reachable_user(conn, principal, user).await?;
    let period = open_period(conn, principal, user, id).await?;
    let mut changes = Changes::new();
    changes.set("period", id.0);
    let to = if period.state == PeriodState::Pending { PeriodState::Cancelled } else { PeriodState::Ended };
    // Moved only as it was read: the job may have begun or ended it meanwhile.
    if !store::move_period(conn, &period, Some(period.version), &store::Moved::to(&period, to), now.as_ms()).await? {
        return Err(Error::PreconditionFailed);
    }
    if to == PeriodState::Ended && target.record.status == UserStatus::Disabled {
        // Back for good: a seat is needed unless the period kept one (it had a date of return).
        if period.ends_at.is_none() && !target.record.is_end_user {
            crate::users::seats::make_room(conn, principal.account(), 1).await?;
        }
        let how = Activation {
            change: ActivationChange::Reactivated,
            cause: ActivationCause::Manual,
            at: now,
            reason: None,
            period: Some(id),
        };
        if users_store::move_status(
            conn,
            principal.account(),
            user,
            UserStatus::Disabled,
            UserStatus::Active,
            now.as_ms(),
        )
        .await?
        {
            crate::users::status::changed(conn, &principal.actor, user, &target.record.login, how).await?;
            changes.diff("status", UserStatus::Disabled, UserStatus::Active);
        }
    }
    store::show_on_users(conn, &store::one_user(user)).await?;
    activity::record(
        conn,
        &principal.actor,
        "user.deactivation_cancelled",
        EventTarget::user(user, &target.record.login),
        &changes,
    )
    .await?;
    let saved = read_back(conn, principal, id).await?;
    tx.commit().await?;
    Ok(saved)
}

/// A period saved to begin now deactivates the user at once (by hand), and D4 holds after it.
async fn begin_now(
    conn: &mut Conn,
    principal: &Principal,
    target: &principal::Target,
    id: PeriodId,
    reason: Option<&str>,
    admins_before: i64,
    now: Timestamp,
) -> Result<()> {
    if !deactivate(conn, &principal.actor, &target.record, id, reason, ActivationCause::Manual, now).await? {
        return Err(already_deactivated());
    }
    principal::keep_an_admin(conn, principal.account(), admins_before).await
}

/// The period as saved, for the answer.
async fn read_back(conn: &mut Conn, principal: &Principal, id: PeriodId) -> Result<PeriodView> {
    Ok(store::period(conn, principal.account(), id).await?.ok_or(Error::NotFound("deactivation period"))?.into())
}

/// D4 for a period that deactivates an admin: the account's guard taken and its admins
/// counted (to check with `keep_an_admin` once the user is deactivated); the last one is refused
/// at once, even for a period that begins later.
async fn last_admin_guard(conn: &mut Conn, principal: &Principal, target: &principal::Target) -> Result<i64> {
    if !target.holds.admin {
        return Ok(0);
    }
    let before = principal::admins_before(conn, principal.account()).await?;
    if principal::is_last_admin(conn, principal.account(), target.record.id).await? {
        return Err(principal::last_admin());
    }
    Ok(before)
}

/// The user's period `id` while it is open; 404 when it is not theirs, 409 once it is over.
async fn open_period(conn: &mut Conn, principal: &Principal, user: UserId, id: PeriodId) -> Result<PeriodRecord> {
    let period = store::period(conn, principal.account(), id)
        .await?
        .filter(|p| p.user_id == user)
        .ok_or(Error::NotFound("deactivation period"))?;
    if !period.state.is_open() {
        return Err(Error::StateConflict(FieldIssue::new(
            "state",
            "over",
            format!("this period is {}: it no longer changes", period.state.as_str().replace('_', " ")),
        )));
    }
    Ok(period)
}

/// Periods of one user never overlap: which one is in force would be ambiguous.
async fn refuse_overlap(
    conn: &mut Conn,
    principal: &Principal,
    user: UserId,
    except: Option<PeriodId>,
    from: Timestamp,
    until: Option<Timestamp>,
) -> Result<()> {
    let open = store::periods_of(conn, principal.account(), user, true).await?;
    if let Some(other) = open.iter().find(|p| Some(p.id) != except && p.overlaps(from, until)) {
        return Err(Error::StateConflict(FieldIssue::new(
            "from",
            "overlaps",
            format!(
                "the user already has a deactivation period from {} {}: change or cancel it first",
                other.starts_at.to_rfc3339(),
                other.ends_at.map_or("with no end".to_string(), |e| format!("until {}", e.to_rfc3339()))
            ),
        )));
    }
    Ok(())
}

fn already_deactivated() -> Error {
    Error::StateConflict(FieldIssue::new(
        "status",
        "deactivated",
        "the user is deactivated already: reactivate them first, or give the period a later start",
    ))
}

fn period_changes(from: Timestamp, until: Option<Timestamp>, reason: Option<&str>) -> Changes {
    let mut changes = Changes::new();
    changes.set("from", from.to_rfc3339()).set("until", until.map(Timestamp::to_rfc3339));
    if let Some(reason) = reason {
        changes.set("reason", reason);
    }
    changes
}

/// An active user deactivated by a period beginning (by hand or by the job), in its transaction.
pub(crate) async fn deactivate(
    conn: &mut Conn,
    actor: &Actor,
    user: &UserRecord,
    period: PeriodId,
    reason: Option<&str>,
    cause: ActivationCause,
    now: Timestamp,
) -> Result<bool> {
    if !users_store::move_status(conn, user.account_id, user.id, UserStatus::Active, UserStatus::Disabled, now.as_ms())
        .await?
    {
        return Ok(false);
    }
    let how = Activation { change: ActivationChange::Deactivated, cause, at: now, reason, period: Some(period) };
    crate::users::status::changed(conn, actor, user.id, &user.login, how).await?;
    Ok(true)
}
