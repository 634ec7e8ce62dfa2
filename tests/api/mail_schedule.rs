//! The mail outbox's schedule (`mail::backoff_ms`, `MAX_ATTEMPTS`, `RETRY_WINDOW_MS`), with the
//! default retry base of 30 s: after each failed attempt the next one moves out as documented
//! (30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h), the eighth attempt is the last, and a failed
//! message's text is erased once it failed 24 hours ago.
//!
//! Rather than wait, the tests age the row in SQL (times are BIGINT milliseconds in both
//! engines): a `next_attempt_at` moved to now is found by the worker at its next poll (3 s at
//! most, `mail::worker::POLL`), or at once when mail is queued (see `due_now`). The text of old
//! failures is erased by the worker when it starts and every 10 minutes after (`ERASE_EVERY`),
//! so that test restarts the server (`helpers::restart`).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{Engine, TestApp, list_items, now_ms};

both_engines!(
    each_retry_moves_out_as_the_backoff_schedule_says,
    a_message_fails_after_its_last_attempt,
    a_failed_messages_text_is_erased_when_its_retry_window_is_over,
);

const SECOND_MS: i64 = 1_000;
const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;

/// The documented waits after attempts 1 to 7 with the default base of 30 s.
const BACKOFF_MS: [i64; 7] =
    [30 * SECOND_MS, 2 * MINUTE_MS, 10 * MINUTE_MS, 30 * MINUTE_MS, HOUR_MS, 2 * HOUR_MS, 4 * HOUR_MS];
const MAX_ATTEMPTS: i64 = 8;

/// A user with an email address asks for a reset link (one mail); returns the mail's id.
async fn queue_mail_for(app: &TestApp, login: &str) -> i64 {
    let email = super::mail::queue_mail_for(app, login).await;
    let id = app.sql_text(&format!("SELECT CAST(id AS TEXT) FROM mail_outbox WHERE recipient = '{email}'")).await;
    id.parse().expect("the queued mail's id")
}

/// The row as the worker left it.
#[derive(Debug, PartialEq)]
struct Row {
    state: String,
    attempts: i64,
    next_attempt_at: i64,
    has_body: bool,
    last_error: String,
}

async fn row(app: &TestApp, id: i64) -> Row {
    let text = app
        .sql_text(&format!(
            "SELECT state || '|' || CAST(attempts AS TEXT) || '|' || CAST(next_attempt_at AS TEXT) || '|' || \
             CASE WHEN body IS NULL THEN 'erased' ELSE 'kept' END || '|' || COALESCE(last_error, '') \
             FROM mail_outbox WHERE id = {id}"
        ))
        .await;
    let parts: Vec<&str> = text.splitn(5, '|').collect();
    Row {
        state: parts[0].to_string(),
        attempts: parts[1].parse().expect("attempts"),
        next_attempt_at: parts[2].parse().expect("next_attempt_at"),
        has_body: parts[3] == "kept",
        last_error: parts[4].to_string(),
    }
}

/// Reads the row until `attempts` attempts are recorded and it is in `state` (at most 10 s).
async fn after_attempt(app: &TestApp, id: i64, attempts: i64, state: &str) -> Row {
    let started = Instant::now();
    loop {
        let r = row(app, id).await;
        if r.attempts == attempts && r.state == state {
            return r;
        }
        assert!(
            r.attempts <= attempts && started.elapsed() < Duration::from_secs(10),
            "waiting for attempt {attempts} to leave the mail {state}: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Makes the queued mail due now, as if its wait were over, and rings the worker's bell.
///
/// The worker sleeps until the next message is due, but 3 s at most (`POLL`); it wakes at once
/// when mail is queued on this instance (`Mailer::wake`). So another message is queued (to a
/// new user each time: reset links are limited to 3 an hour per user), which saves the test
/// 3 s a step; without the bell the poll would find the aged row all the same.
async fn due_now(app: &TestApp, id: i64, attempts: i64) {
    app.sql(&format!(
        "UPDATE mail_outbox SET next_attempt_at = {} WHERE id = {id} AND state = 'queued' AND attempts = {attempts}",
        now_ms()
    ))
    .await;
    queue_mail_for(app, &format!("bell{id}x{attempts}")).await;
}

async fn each_retry_moves_out_as_the_backoff_schedule_says(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    // Every attempt is answered "451 try again later".
    app.mailbox.reject_next(451, 1_000);
    let mut before = now_ms();
    let id = queue_mail_for(&app, "ana").await;
    for (i, wait) in BACKOFF_MS.iter().enumerate() {
        let attempt = i as i64 + 1;
        let r = after_attempt(&app, id, attempt, "queued").await;
        let after = now_ms();
        // The worker read its clock between `before` and `after`; a second either side for rounding.
        let (earliest, latest) = (before + wait - SECOND_MS, after + wait + SECOND_MS);
        assert!(
            (earliest..=latest).contains(&r.next_attempt_at),
            "after attempt {attempt} the next is due {} ms after the attempt (allowed {}..={} ms), not {wait} ms: {r:?}",
            r.next_attempt_at - after,
            before - after + wait - SECOND_MS,
            wait + SECOND_MS,
        );
        assert!(r.last_error.contains("451"), "the reason is kept: {r:?}");
        assert!(r.has_body, "{r:?}");
        before = now_ms();
        if attempt < BACKOFF_MS.len() as i64 {
            due_now(&app, id, attempt).await;
        }
    }
    assert!(app.mailbox.all().is_empty(), "nothing was delivered: {:?}", app.mailbox.all());
}

async fn a_message_fails_after_its_last_attempt(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    // Nothing listens on the SMTP port: every attempt fails to connect.
    app.mailbox.down().await;
    let id = queue_mail_for(&app, "ben").await;
    for attempt in 1..MAX_ATTEMPTS {
        after_attempt(&app, id, attempt, "queued").await;
        due_now(&app, id, attempt).await;
    }
    let failed = after_attempt(&app, id, MAX_ATTEMPTS, "failed").await;
    assert!(failed.last_error.contains("gave up after 8 attempts"), "{failed:?}");
    assert!(failed.has_body, "a failed message keeps its text for a retry: {failed:?}");

    let items = list_items(&app.get(&format!("{}?limit=500", app.acct("outbox"))).await.json(200));
    let listed = items.iter().find(|m| m["id"] == id).unwrap_or_else(|| panic!("mail {id} in {items:?}"));
    assert_eq!(listed["state"], "failed", "{listed}");
    assert_eq!(listed["attempts"], MAX_ATTEMPTS, "{listed}");
    assert!(listed["failed_at"].is_string(), "{listed}");
    assert_eq!(listed["next_attempt_at"], Value::Null, "{listed}");
    assert_eq!(listed["retryable"], true, "{listed}");
}

async fn a_failed_messages_text_is_erased_when_its_retry_window_is_over(engine: Engine) {
    let mut app = TestApp::spawn(engine).await;
    // Both messages are refused for good ("550"): failed at the first attempt, text kept.
    app.mailbox.reject_next(550, 2);
    let old = queue_mail_for(&app, "cleo").await;
    let recent = queue_mail_for(&app, "dan").await;
    for id in [old, recent] {
        let r = after_attempt(&app, id, 1, "failed").await;
        assert!(r.has_body, "{r:?}");
    }

    // One failed 24 hours and a minute ago, the other 23 hours ago; the worker erases when it starts.
    app.stop().await;
    app.sql(&format!("UPDATE mail_outbox SET failed_at = failed_at - {} WHERE id = {old}", 24 * HOUR_MS + MINUTE_MS))
        .await;
    app.sql(&format!("UPDATE mail_outbox SET failed_at = failed_at - {} WHERE id = {recent}", 23 * HOUR_MS)).await;
    app.start_again().await;

    let started = Instant::now();
    while row(&app, old).await.has_body {
        assert!(started.elapsed() < Duration::from_secs(5), "the text of a failure 24 h old is still there after 5 s");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let kept = row(&app, recent).await;
    assert!(kept.has_body, "a failure 23 h old keeps its text: {kept:?}");
    let erased = row(&app, old).await;
    assert_eq!((erased.state.as_str(), erased.attempts), ("failed", 1), "{erased:?}");

    // The erased one cannot be sent again; the other still can.
    let items = list_items(&app.get(&format!("{}?limit=500", app.acct("outbox"))).await.json(200));
    let retryable = |id: i64| items.iter().find(|m| m["id"] == id).map(|m| m["retryable"].clone());
    assert_eq!(retryable(old), Some(json!(false)), "{items:?}");
    assert_eq!(retryable(recent), Some(json!(true)), "{items:?}");
    app.post(&app.acct(&format!("outbox/{old}/retry")), json!({})).await.problem(409);
}
