//! Mail (issue 4): a durable outbox in the database and a worker that delivers it.
//!
//! Other capabilities queue a message inside their own transaction with [`enqueue`], so it is
//! sent only if their change commits, and call `state.mail.wake()` after the commit so the
//! worker starts at once. The worker (one per instance) also polls, for retries that fall due
//! and for messages queued by other instances. Each message is claimed by one worker at a time
//! (see `store::mail`), so it is sent once even with several instances.

pub mod api;
pub mod transport;
pub mod worker;

use serde::Serialize;
use tokio::sync::Notify;
use utoipa::ToSchema;

use crate::activity::{self, Actor, Changes, Target};
use crate::clock::{now_ms, to_rfc3339};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::ids::AccountId;
use crate::state::AppState;
use crate::store::mail::{self as store, MailRecord, NewMail};
use crate::store::{Affects, Conn};

pub use transport::Transport;

/// A message to queue. `kind` names what it is for (`password_reset`, `second_factor_code`,
/// `totp_enrolment`, …); the outbox view shows it.
pub struct Message<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub kind: &'a str,
}

/// Queues a message inside the caller's transaction: it is sent only if that transaction commits.
pub async fn enqueue(conn: &mut Conn, account: AccountId, message: &Message<'_>) -> Result<i64> {
    let mail = NewMail {
        account,
        to: message.to,
        subject: message.subject,
        body: message.text,
        kind: message.kind,
        now: now_ms(),
    };
    Ok(store::insert(conn, &mail).await?)
}

/// The instance's side of mail: how it sends, and the bell that wakes its worker.
pub struct Mailer {
    transport: Transport,
    from: lettre::message::Mailbox,
    wake: Notify,
    /// Set at shutdown: the worker finishes what it holds and stops.
    stop: tokio::sync::watch::Sender<bool>,
    /// Who holds a claim: unique per process, so a restarted instance is someone new.
    instance: String,
    retry_base_ms: i64,
    link_base: String,
}

impl Mailer {
    /// `link_base`: where people reach this server (`public_url`, else the bound address).
    pub fn new(config: &Config, link_base: String) -> anyhow::Result<Mailer> {
        let transport = Transport::from_config(config.smtp_url.as_ref(), config.smtp_ca_file.as_deref(), &config.data_dir)?;
        let from = transport::parse_from(&config.mail_from)?;
        Ok(Mailer {
            transport,
            from,
            wake: Notify::new(),
            stop: tokio::sync::watch::Sender::new(false),
            instance: format!("{}-{}", std::process::id(), crate::auth::token::new_token().get(..8).unwrap_or("x")),
            retry_base_ms: i64::try_from(config.mail_retry_base_ms.max(1)).unwrap_or(i64::MAX),
            link_base: link_base.trim_end_matches('/').to_string(),
        })
    }

    /// Starts delivery now (call after the transaction that queued mail committed).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Asks the worker to stop once the messages it holds are recorded.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// An absolute link to a path of this server, for mail.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.link_base)
    }

    pub fn describe(&self) -> String {
        self.transport.describe()
    }
}

/// How long to wait after the `attempts`-th failed attempt: with the default base of 30 s,
/// 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h.
pub fn backoff_ms(base_ms: i64, attempts: i64) -> i64 {
    const FACTORS: [i64; 7] = [1, 4, 20, 60, 120, 240, 480];
    let i = usize::try_from(attempts.max(1) - 1).unwrap_or(0).min(FACTORS.len() - 1);
    base_ms.saturating_mul(FACTORS[i])
}

/// After this many attempts a message is failed.
pub const MAX_ATTEMPTS: i64 = 8;

/// A failed message keeps its text this long, so that an admin can retry it; then it is
/// failed for good and the text (codes, links) is erased.
pub const RETRY_WINDOW_MS: i64 = 24 * 3_600_000;

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
            retryable: m.state == "failed" && m.has_body,
            next_attempt_at: (m.state == "queued").then(|| to_rfc3339(m.next_attempt_at)),
            id: m.id,
            to: m.recipient,
            subject: m.subject,
            kind: m.kind,
            state: m.state,
            attempts: m.attempts,
            last_error: m.last_error,
            created_at: to_rfc3339(m.created_at),
            sent_at: m.sent_at.map(to_rfc3339),
            failed_at: m.failed_at.map(to_rfc3339),
        }
    }
}

pub const STATES: [&str; 4] = ["queued", "sending", "sent", "failed"];

/// The account's outbox, newest first, and the id to continue before.
pub async fn list(state: &AppState, account: AccountId, states: &[String], before: Option<i64>, limit: i64) -> Result<(Vec<OutboxItem>, Option<i64>)> {
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
pub async fn retry(state: &AppState, actor: &Actor, account: AccountId, id: i64) -> Result<OutboxItem> {
    let mut tx = state.store.begin().await?;
    tx.affects(Affects::Nothing);
    let record = store::get(tx.conn(), account, id).await?.ok_or(Error::NotFound("message"))?;
    if record.state != "failed" {
        return Err(Error::Conflict { field: "state", message: format!("only a failed message can be retried; this one is {}", record.state) });
    }
    if !record.has_body {
        return Err(Error::Conflict {
            field: "state",
            message: "this message failed too long ago: its text was erased, so it cannot be sent again".into(),
        });
    }
    store::requeue_failed(tx.conn(), account, id, now_ms()).await?;
    let mut changes = Changes::new();
    changes.set("to", &record.recipient).set("kind", &record.kind).set("last_error", &record.last_error);
    activity::record(tx.conn(), actor, "mail.retried", Target { kind: "mail", id: Some(id), label: &record.subject }, &changes).await?;
    let fresh = store::get(tx.conn(), account, id).await?.ok_or(Error::NotFound("message"))?;
    tx.commit().await?;
    state.mail.wake();
    Ok(fresh.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_then_stays() {
        let base = 30_000;
        let waits: Vec<i64> = (1..=9).map(|n| backoff_ms(base, n)).collect();
        assert_eq!(&waits[..5], &[30_000, 120_000, 600_000, 1_800_000, 3_600_000]);
        assert!(waits.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(waits[8], waits[7], "the last step repeats");
        assert_eq!(backoff_ms(base, 0), 30_000);
    }
}
