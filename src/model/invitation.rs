//! Invitations (R19), as stored.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clock::Timestamp;
use crate::ids::{AccountId, InvitationId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvitationState {
    /// Saved to be sent later ("save and send later"): no link has gone out.
    Saved,
    /// Sent: the newest link works until `expires_at`.
    Sent,
    Accepted,
    Revoked,
}

impl InvitationState {
    pub const ALL: [InvitationState; 4] =
        [InvitationState::Saved, InvitationState::Sent, InvitationState::Accepted, InvitationState::Revoked];

    pub fn as_str(self) -> &'static str {
        match self {
            InvitationState::Saved => "saved",
            InvitationState::Sent => "sent",
            InvitationState::Accepted => "accepted",
            InvitationState::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<InvitationState> {
        InvitationState::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Not accepted nor revoked: it may be sent, resent, readdressed or revoked.
    pub fn is_open(self) -> bool {
        matches!(self, InvitationState::Saved | InvitationState::Sent)
    }
}

super::stored_as_text!(InvitationState, "invitation state");

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvitationRecord {
    pub id: InvitationId,
    pub account_id: AccountId,
    pub user_id: Option<i64>,
    pub user_label: String,
    pub email: String,
    pub state: InvitationState,
    pub invited_by: Option<i64>,
    pub invited_by_label: String,
    pub created_at: i64,
    pub sent_at: Option<Timestamp>,
    pub sends: i64,
    pub expires_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    pub version: i64,
}

impl InvitationRecord {
    /// Sent, and its link's time is up at `now`.
    pub fn expired(&self, now: Timestamp) -> bool {
        self.state == InvitationState::Sent && self.expires_at.is_some_and(|e| e <= now)
    }
}
