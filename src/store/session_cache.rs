//! The session check's memory. Every request of every PBX component asks "whose token is
//! this and what may they do"; answering from memory is what keeps that under a millisecond.
//! An entry is trusted only while no committed write touched its user or everyone since it
//! was read (`store::Invalidations`), and while the session has not timed out.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::model::Caller;
use crate::ids::{SessionId, UserId};

/// Enough for every live session of a large platform; past it the cache starts afresh
/// rather than grow without bound.
const MAX_ENTRIES: usize = 500_000;

#[derive(Clone)]
pub struct Entry {
    pub caller: Caller,
    /// `Invalidations::stamp()` taken before the entry was read from the database.
    pub stamp: u64,
    pub absolute_expiry: i64,
    pub idle_ms: Option<i64>,
    pub last_seen_at: i64,
    /// When last-seen was last written to the database.
    pub persisted_at: i64,
}

impl Entry {
    pub fn expires_at(&self) -> i64 {
        match self.idle_ms {
            Some(idle) => self.absolute_expiry.min(self.last_seen_at + idle),
            None => self.absolute_expiry,
        }
    }

    pub fn user(&self) -> UserId {
        self.caller.user
    }
}

// A hit is handed out once per request by value; boxing it would allocate on the hot path.
#[allow(clippy::large_enum_variant)]
pub enum Lookup {
    Hit(Caller),
    Miss { last_seen_at: Option<i64> },
}

/// What to write back to the database in the next flush.
#[derive(Default)]
pub struct Pending {
    pub sessions: Vec<SessionId>,
    pub api_tokens: Vec<i64>,
}

#[derive(Default)]
pub struct SessionCache {
    entries: Mutex<HashMap<String, Entry>>,
    pending: Mutex<Pending>,
}

/// Last-seen is kept to the minute: writing it on every request would make reads into writes.
pub const TOUCH_EVERY_MS: i64 = 60_000;

impl SessionCache {
    /// The caller of a token hash, marked as seen now, with its current expiry. An entry that
    /// timed out or that `is_current` rejects is dropped; for the latter, the miss carries when
    /// the session was last used, which the database may not know yet (it is written to the
    /// minute), so that a reload does not time it out early.
    pub fn hit(&self, token_hash: &str, now: i64, is_current: impl Fn(&Entry) -> bool) -> Lookup {
        let mut entries = lock(&self.entries);
        let Some(entry) = entries.get_mut(token_hash) else { return Lookup::Miss { last_seen_at: None } };
        if now >= entry.expires_at() {
            entries.remove(token_hash);
            return Lookup::Miss { last_seen_at: None };
        }
        if !is_current(entry) {
            let last_seen_at = Some(entry.last_seen_at);
            entries.remove(token_hash);
            return Lookup::Miss { last_seen_at };
        }
        entry.last_seen_at = now;
        if now - entry.persisted_at >= TOUCH_EVERY_MS {
            entry.persisted_at = now;
            let mut pending = lock(&self.pending);
            match entry.caller.api_token {
                Some(id) => pending.api_tokens.push(id),
                None => pending.sessions.push(entry.caller.session),
            }
        }
        let mut caller = entry.caller.clone();
        caller.session_expires_at = entry.expires_at();
        Lookup::Hit(caller)
    }

    pub fn insert(&self, token_hash: String, entry: Entry) {
        let mut entries = lock(&self.entries);
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(token_hash, entry);
    }

    /// Drops a user's entries at once (their sessions ended on this instance).
    pub fn forget_user(&self, user: UserId) {
        lock(&self.entries).retain(|_, e| e.user() != user);
    }

    pub fn take_pending(&self) -> Pending {
        std::mem::take(&mut *lock(&self.pending))
    }

    pub fn len(&self) -> usize {
        lock(&self.entries).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
