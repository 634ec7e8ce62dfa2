//! A member's periods out and the activation log (R18).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clock::Timestamp;
use crate::ids::{AccountId, PeriodId, UserId};

/// Where a deactivation period stands (see migration 0010).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PeriodState {
    /// Saved, not begun: the user is active until `from`.
    Pending,
    /// Begun: the user is deactivated, and reactivated by itself at `until` when there is one.
    InEffect,
    /// Over: the user was reactivated (at `until`, or earlier by hand).
    Ended,
    /// Withdrawn before it began, or it found the user already deactivated when it began.
    Cancelled,
}

impl PeriodState {
    pub const ALL: [PeriodState; 4] =
        [PeriodState::Pending, PeriodState::InEffect, PeriodState::Ended, PeriodState::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            PeriodState::Pending => "pending",
            PeriodState::InEffect => "in_effect",
            PeriodState::Ended => "ended",
            PeriodState::Cancelled => "cancelled",
        }
    }

    /// Still to do something: it may be edited or cancelled, and new periods may not overlap it.
    pub fn is_open(self) -> bool {
        matches!(self, PeriodState::Pending | PeriodState::InEffect)
    }
}

super::stored_as_text!(PeriodState, "deactivation period state");

/// A user's period out: deactivated from `starts_at`, reactivated at `ends_at` (open when `None`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PeriodRecord {
    pub id: PeriodId,
    pub account_id: AccountId,
    pub user_id: UserId,
    pub starts_at: Timestamp,
    pub ends_at: Option<Timestamp>,
    pub reason: Option<String>,
    pub state: PeriodState,
    pub due_at: Option<Timestamp>,
    pub created_by: Option<i64>,
    pub created_by_label: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

impl PeriodRecord {
    /// Whether `[from, until)` shares a moment with this period (an open end runs for ever).
    pub fn overlaps(&self, from: Timestamp, until: Option<Timestamp>) -> bool {
        let starts_before_other_ends = until.is_none_or(|u| self.starts_at < u);
        let other_starts_before_this_ends = self.ends_at.is_none_or(|e| from < e);
        starts_before_other_ends && other_starts_before_this_ends
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivationChange {
    Deactivated,
    Reactivated,
}

impl ActivationChange {
    pub const ALL: [ActivationChange; 2] = [ActivationChange::Deactivated, ActivationChange::Reactivated];

    pub fn as_str(self) -> &'static str {
        match self {
            ActivationChange::Deactivated => "deactivated",
            ActivationChange::Reactivated => "reactivated",
        }
    }
}

super::stored_as_text!(ActivationChange, "activation change");

/// What made a deactivation or reactivation happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivationCause {
    /// Someone changed the one user (their page, the API).
    Manual,
    /// A deactivation period began or ended.
    Scheduled,
    /// A mass action.
    Bulk,
    /// A CSV import.
    Import,
    /// The whole account was disabled or enabled (`user_id` is `null`).
    Account,
}

impl ActivationCause {
    pub const ALL: [ActivationCause; 5] = [
        ActivationCause::Manual,
        ActivationCause::Scheduled,
        ActivationCause::Bulk,
        ActivationCause::Import,
        ActivationCause::Account,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActivationCause::Manual => "manual",
            ActivationCause::Scheduled => "scheduled",
            ActivationCause::Bulk => "bulk",
            ActivationCause::Import => "import",
            ActivationCause::Account => "account",
        }
    }

    pub fn parse(s: &str) -> Option<ActivationCause> {
        ActivationCause::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

super::stored_as_text!(ActivationCause, "activation cause");

/// One line of the activation log.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActivationRecord {
    pub id: i64,
    pub account_id: AccountId,
    pub user_id: Option<i64>,
    pub user_label: String,
    pub at: Timestamp,
    pub change: ActivationChange,
    pub cause: ActivationCause,
    pub actor_id: Option<i64>,
    pub actor_label: String,
    pub reason: Option<String>,
    pub period_id: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(from: i64, until: Option<i64>) -> PeriodRecord {
        PeriodRecord {
            id: PeriodId(1),
            account_id: AccountId(1),
            user_id: UserId(1),
            starts_at: Timestamp::from_ms(from),
            ends_at: until.map(Timestamp::from_ms),
            reason: None,
            state: PeriodState::Pending,
            due_at: None,
            created_by: None,
            created_by_label: String::new(),
            created_at: 0,
            updated_at: 0,
            version: 1,
        }
    }

    #[test]
    fn periods_overlap_when_they_share_a_moment() {
        let t = Timestamp::from_ms;
        let p = period(100, Some(200));
        assert!(p.overlaps(t(150), Some(t(250))));
        assert!(p.overlaps(t(50), None), "an open end runs on");
        assert!(!p.overlaps(t(200), Some(t(300))), "back to back is not an overlap");
        assert!(!p.overlaps(t(0), Some(t(100))));
        let open = period(100, None);
        assert!(open.overlaps(t(10_000), Some(t(20_000))));
        assert!(!open.overlaps(t(0), Some(t(100))));
    }
}
