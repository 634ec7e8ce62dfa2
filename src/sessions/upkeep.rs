//! Background work for sessions, driven by timers: writing last-seen times collected in
//! memory, forgetting timed-out sessions and old failure counts, and (with several instances
//! on one PostgreSQL) noticing changes made by the other instances; and keeping every account's
//! user list in memory current (`store::user_index`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::clock::now_ms;
use crate::error::Result;
use crate::ids::UserId;
use crate::model::settings::IDLE_MINUTES;
use crate::state::AppState;
use crate::store::{Affects, activity, api_tokens, sessions, sign_in_failures, user_index};

const FLUSH_EVERY: Duration = Duration::from_secs(10);
const CLEAN_EVERY: Duration = Duration::from_secs(300);
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// Runs until the task is aborted; each job logs its own failures and carries on.
pub async fn run(state: AppState) {
    // Reading a large account's users (seconds at a million) must not hold up the timers.
    tokio::join!(timers(&state), keep_user_lists_current(&state));
}

async fn timers(state: &AppState) {
    let state = state.clone();
    let mut flush = tokio::time::interval(FLUSH_EVERY);
    let mut clean = tokio::time::interval(CLEAN_EVERY);
    let mut watch = tokio::time::interval(WATCH_EVERY);
    watch.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Another instance's writes reach this one only through the database.
    let mut watcher = match state.store.shared_with_other_instances() {
        true => Some(Watcher::start(&state).await),
        false => None,
    };
    loop {
        tokio::select! {
            _ = flush.tick() => {
                let started = Instant::now();
                log(flush_last_seen(&state).await, "flush_last_seen", started, "writing last-seen times");
            }
            _ = clean.tick() => {
                let started = Instant::now();
                log(clean_up(&state).await, "clean_up", started, "removing expired sessions");
            }
            _ = watch.tick(), if watcher.is_some() => {
                if let Some(w) = watcher.as_mut() {
                    let started = Instant::now();
                    log(w.poll(&state).await, "watch_instances", started, "watching for other instances' changes");
                }
            }
        }
    }
}

/// Every account's users in memory from the start, so that the first page of a large account
/// does not wait for them to be read (pages asked for meanwhile wait for it); then brought up
/// to date every few minutes even when no one lists them, so that the rows they need are read
/// before they are pruned.
async fn keep_user_lists_current(state: &AppState) {
    let mut every = tokio::time::interval(CLEAN_EVERY);
    loop {
        every.tick().await;
        let started = Instant::now();
        log(bring_user_lists_up_to_date(state).await, "user_lists", started, "bringing the user lists up to date");
    }
}

async fn bring_user_lists_up_to_date(state: &AppState) -> Result<()> {
    let mut conn = state.store.read().await?;
    state.store.user_index().warm(&mut conn).await?;
    Ok(())
}

fn log(result: Result<()>, job: &'static str, started: Instant, what: &str) {
    crate::observability::metrics::job_ran(job, started, result.is_ok());
    if let Err(e) = result {
        tracing::warn!(error = ?e, "{what}");
    }
}

/// Writes the last-seen times the session check collected (also called at shutdown).
pub async fn flush_last_seen(state: &AppState) -> Result<()> {
    let pending = state.sessions.take_pending();
    if !(pending.sessions.is_empty() && pending.api_tokens.is_empty()) {
        let now = now_ms();
        let mut tx = state.store.begin().await?;
        tx.affects(Affects::Nothing);
        sessions::touch_many(tx.conn(), &pending.sessions, now).await?;
        api_tokens::mark_used(tx.conn(), &pending.api_tokens, now).await?;
        tx.commit().await?;
    }
    Ok(crate::store::directory::write_usage(&state.store).await?)
}

async fn clean_up(state: &AppState) -> Result<()> {
    let now = now_ms();
    let mut tx = state.store.begin().await?;
    tx.affects(Affects::Nothing);
    let max_idle_ms = i64::from(*IDLE_MINUTES.end()) * 60_000;
    let ended = sessions::delete_expired(tx.conn(), now, max_idle_ms).await?;
    sign_in_failures::prune(tx.conn(), now - 24 * 3_600_000, now).await?;
    user_index::prune_changes(tx.conn(), now / 1000).await?;
    tx.commit().await?;
    if ended > 0 {
        tracing::debug!(ended, "expired sessions removed");
    }
    Ok(())
}

/// Follows the activity log, which every change writes with the change, and drops cached
/// callers that another instance's change made stale.
///
/// PostgreSQL hands out ids at insert and shows rows at commit, so a lower id can appear after
/// a higher one. An id skipped over is remembered as a gap and looked for again; if it has not
/// appeared after `GAP_PATIENCE` (a long transaction, or one rolled back), everyone's cached
/// state is dropped, since what it changed cannot be known.
struct Watcher {
    last_id: i64,
    gaps: HashMap<i64, Instant>,
}

const GAP_PATIENCE: Duration = Duration::from_secs(30);
/// More missing ids than this at once: drop everything rather than track them.
const MAX_GAPS: i64 = 1_000;
const BATCH: i64 = 5_000;

impl Watcher {
    async fn start(state: &AppState) -> Watcher {
        let last_id = match state.store.read().await {
            Ok(mut conn) => activity::max_id(&mut conn).await.unwrap_or(0),
            Err(_) => 0,
        };
        Watcher { last_id, gaps: HashMap::new() }
    }

    async fn poll(&mut self, state: &AppState) -> Result<()> {
        let mut conn = state.store.read().await?;
        let mut events = activity::since(&mut conn, self.last_id, BATCH).await?;
        let gaps: Vec<i64> = self.gaps.keys().copied().collect();
        let filled = if gaps.is_empty() { Vec::new() } else { activity::with_ids(&mut conn, &gaps).await? };
        drop(conn);
        let mut everyone = events.len() as i64 == BATCH;
        let now = Instant::now();
        let mut expected = self.last_id + 1;
        for (id, ..) in &events {
            if id - expected > MAX_GAPS {
                everyone = true;
            } else {
                for missing in expected..*id {
                    self.gaps.insert(missing, now);
                }
            }
            expected = id + 1;
        }
        if let Some(last) = events.last() {
            self.last_id = last.0;
        }
        for event in &filled {
            self.gaps.remove(&event.0);
        }
        events.extend(filled);
        let before = self.gaps.len();
        self.gaps.retain(|_, seen| now.duration_since(*seen) < GAP_PATIENCE);
        everyone |= self.gaps.len() < before;
        let mut users = Vec::new();
        for (_, action, target_type, target_id) in &events {
            if action.starts_with("auth.sign_in") {
                continue;
            }
            match (target_type.as_str(), target_id) {
                ("user", Some(id)) => users.push(UserId(*id)),
                _ => everyone = true,
            }
        }
        let invalidations = state.store.invalidations();
        if everyone {
            invalidations.record(&Affects::Everyone);
        } else if !users.is_empty() {
            invalidations.record(&Affects::Users(users));
        }
        Ok(())
    }
}
