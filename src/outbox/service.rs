//! The outbox (R32): what mail is queued, sent or failed, and an admin's retry.

use serde::Serialize;
use utoipa::ToSchema;

use crate::access::Principal;
use crate::activity::{self, Changes, Target};
use crate::clock::{now_ms, to_rfc3339};
use crate::error::{Error, Result};
use crate::ids::AccountId;
use crate::model::mail::MailState;
use crate::state::AppState;
use crate::store::Affects;
use crate::store::mail::{self as store, MailRecord};

/// One message as the outbox view shows it: never its text.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxItem {
    pub id: i64,
    pub to: String,
    pub subject: String,
    pub kind: String,
    /// `queued`, `sending`, `sent` or `failed`.
    pub state: String,
    pub attempts: i64,
    /// The last failure (or, for mail written to a file, where it went).
    pub last_error: Option<String>,
    pub created_at: String,
    /// When the next attempt is due (queued mail only).
    pub next_attempt_at: Option<String>,
    pub sent_at: Option<String>,
    pub failed_at: Option<String>,
    /// A failed message can be sent again while its text is kept.
    pub retryable: bool,
}

impl From<MailRecord> for OutboxItem {
    fn from(m: MailRecord) -> Self {
        OutboxItem {
            retryable: m.state == MailState::Failed && m.has_body,
            next_attempt_at: (m.state == MailState::Queued).then(|| to_rfc3339(m.next_attempt_at)),
            id: m.id,
            to: m.recipient,
            subject: m.subject,
            kind: m.kind,
            state: m.state.as_str().to_string(),
            attempts: m.attempts,
            last_error: m.last_error,
            created_at: to_rfc3339(m.created_at),
            sent_at: m.sent_at.map(to_rfc3339),
            failed_at: m.failed_at.map(to_rfc3339),
        }
    }
}

/// The states a listing may filter by: every `MailState`.
pub const STATES: [&str; 4] =
    [MailState::Queued.as_str(), MailState::Sending.as_str(), MailState::Sent.as_str(), MailState::Failed.as_str()];

/// The account's outbox, newest first, and the id to continue before.
pub async fn list(
    state: &AppState,
    account: AccountId,
    states: &[String],
    before: Option<i64>,
    limit: i64,
) -> Result<(Vec<OutboxItem>, Option<i64>)> {
    let mut conn = state.store.read().await?;
    let mut rows = store::list(&mut conn, account, states, before, limit + 1).await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.id)
    } else {
        None
    };
    Ok((rows.into_iter().map(Into::into).collect(), next))
}

/// Sends a failed message again (after, say, the SMTP settings were fixed).
pub async fn retry(state: &AppState, principal: &Principal, id: i64) -> Result<OutboxItem> {
    let account = principal.account();
    let mut tx = state.store.begin().await?;
    tx.affects(Affects::Nothing);
    let record = store::get(tx.conn(), account, id).await?.ok_or(Error::NotFound("message"))?;
    if record.state != MailState::Failed {
        let message = format!("only a failed message can be retried; this one is {}", record.state.as_str());
        return Err(Error::state_conflict("state", "not_failed", message));
    }
    if !record.has_body {
        return Err(Error::state_conflict(
            "state",
            "erased",
            "this message failed too long ago: its text was erased, so it cannot be sent again",
        ));
    }
    store::requeue_failed(tx.conn(), account, id, now_ms()).await?;
    let mut changes = Changes::new();
    changes.set("to", &record.recipient).set("kind", &record.kind).set("last_error", &record.last_error);
    activity::service::record(
        tx.conn(),
        &principal.actor,
        "mail.retried",
        Target { kind: "mail", id: Some(id), label: &record.subject },
        &changes,
    )
    .await?;
    let fresh = store::get(tx.conn(), account, id).await?.ok_or(Error::NotFound("message"))?;
    tx.commit().await?;
    state.mail.wake();
    Ok(fresh.into())
}
