//! The delivery worker: one per instance, started with the server and stopped at shutdown.
//! It claims due messages, sends them, and records each outcome; it wakes when mail is queued
//! here (`Mailer::wake`), when the next retry falls due, and every few seconds to find mail
//! queued by other instances or left behind by one that stopped.

use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::clock::now_ms;
use crate::error::Result;
use crate::mail::transport::{Outgoing, Sent};
use crate::mail::{MAX_ATTEMPTS, RETRY_WINDOW_MS, backoff_ms};
use crate::state::AppState;
use crate::store::Affects;
use crate::store::mail::{self as store, Claimed};

const POLL: Duration = Duration::from_secs(3);
const MIN_WAIT: Duration = Duration::from_millis(50);
const BATCH: i64 = 20;
/// Messages sent at once by one worker.
const PARALLEL: usize = 4;
/// A claim outlives any one SMTP conversation (timeout 20 s) by far; after it, another
/// worker may take the message (its instance is taken to have stopped mid-send).
const CLAIM_MS: i64 = 2 * 60_000;
const ERASE_EVERY: Duration = Duration::from_secs(600);

/// Runs until `Mailer::stop` (or the task is aborted); failures are logged and tried again
/// on the next round.
pub async fn run(state: AppState) {
    tracing::info!("mail is delivered to {}", state.mail.describe());
    let mut stop = state.mail.stop.subscribe();
    let mut erased_at: Option<Instant> = None;
    while !*stop.borrow_and_update() {
        let started = Instant::now();
        let delivered = deliver_due(&state).await;
        crate::observability::metrics::job_ran("mail_delivery", started, delivered.is_ok());
        if let Err(e) = delivered {
            tracing::warn!(error = ?e, "delivering mail");
        }
        if erased_at.is_none_or(|at| at.elapsed() >= ERASE_EVERY) {
            erased_at = Some(Instant::now());
            if let Err(e) = erase_old_failures(&state).await {
                tracing::warn!(error = ?e, "erasing the text of failed mail");
            }
        }
        let wait = match next_due(&state).await {
            // Not less than a moment: a due message another instance is claiming right now must not
            // make this loop spin.
            Ok(Some(at)) => Duration::from_millis(u64::try_from(at - now_ms()).unwrap_or(0)).clamp(MIN_WAIT, POLL),
            Ok(None) => POLL,
            Err(e) => {
                tracing::warn!(error = ?e, "reading the mail queue");
                POLL
            }
        };
        tokio::select! {
            _ = state.mail.wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Claims and sends due mail until none is left.
pub async fn deliver_due(state: &AppState) -> Result<()> {
    while !*state.mail.stop.borrow() {
        let now = now_ms();
        let mut tx = state.store.begin().await?;
        tx.affects(Affects::Nothing);
        let batch = store::claim(tx.conn(), &state.mail.instance, now, now + CLAIM_MS, BATCH).await?;
        tx.commit().await?;
        if batch.is_empty() {
            return Ok(());
        }
        futures::stream::iter(batch)
            .for_each_concurrent(PARALLEL, |mail| async move {
                let id = mail.id;
                if let Err(e) = deliver(state, mail).await {
                    // The claim runs out and the message is tried again.
                    tracing::warn!(error = ?e, id, "recording a mail delivery");
                }
            })
            .await;
    }
    Ok(())
}

async fn deliver(state: &AppState, mail: Claimed) -> Result<()> {
    let mailer = &state.mail;
    let outcome = match mail.body.as_deref() {
        Some(text) => {
            let outgoing = Outgoing { id: mail.id, to: &mail.recipient, subject: &mail.subject, text };
            mailer.transport.send(&mailer.from, &outgoing).await
        }
        None => Sent::Permanent("the text of this message is gone".into()),
    };
    let now = now_ms();
    let mut tx = state.store.begin().await?;
    tx.affects(Affects::Nothing);
    let worker = mailer.instance.as_str();
    let result = match &outcome {
        Sent::Done(_) => "sent",
        Sent::Transient(_) if mail.attempts >= MAX_ATTEMPTS => "failed",
        Sent::Transient(_) => "retry",
        Sent::Permanent(_) => "failed",
    };
    match &outcome {
        Sent::Done(note) => {
            store::mark_sent(tx.conn(), mail.id, worker, now, note.as_deref()).await?;
        }
        Sent::Transient(error) if mail.attempts >= MAX_ATTEMPTS => {
            let error = format!("{error} (gave up after {} attempts)", mail.attempts);
            tracing::warn!(id = mail.id, kind = mail.kind, error, "mail failed");
            store::mark_failed(tx.conn(), mail.id, worker, now, &error).await?;
        }
        Sent::Transient(error) => {
            let at = now + backoff_ms(mailer.retry_base_ms, mail.attempts);
            tracing::info!(
                id = mail.id,
                kind = mail.kind,
                attempts = mail.attempts,
                error,
                "mail not sent yet; will retry"
            );
            store::mark_retry(tx.conn(), mail.id, worker, at, error).await?;
        }
        Sent::Permanent(error) => {
            tracing::warn!(id = mail.id, kind = mail.kind, error, "mail refused for good");
            store::mark_failed(tx.conn(), mail.id, worker, now, error).await?;
        }
    }
    tx.commit().await?;
    metrics::counter!("roster_mail_deliveries_total", "result" => result).increment(1);
    Ok(())
}

/// At shutdown, when the worker did not stop in time: what it still holds goes back to the
/// queue now rather than when the claim runs out.
pub async fn release(state: &AppState) -> Result<()> {
    let mut tx = state.store.begin().await?;
    tx.affects(Affects::Nothing);
    store::release_claims(tx.conn(), &state.mail.instance, now_ms()).await?;
    tx.commit().await?;
    Ok(())
}

async fn next_due(state: &AppState) -> Result<Option<i64>> {
    let mut conn = state.store.read().await?;
    Ok(store::next_due(&mut conn).await?)
}

async fn erase_old_failures(state: &AppState) -> Result<()> {
    let mut tx = state.store.begin().await?;
    tx.affects(Affects::Nothing);
    store::erase_failed_bodies(tx.conn(), now_ms() - RETRY_WINDOW_MS).await?;
    tx.commit().await?;
    Ok(())
}
