//! The session check's memory. Every request of every PBX component asks "whose token is
//! this and what may they do"; answering from memory is what keeps that under a millisecond.
//! An entry is trusted only while no committed write touched its user or everyone since it
//! was read (`store::Invalidations`), and while the session has not timed out.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::clock::Timestamp;
use crate::ids::{SessionId, UserId};
use crate::model::Caller;

/// Enough for every live session of a large platform; past it the cache starts afresh
/// rather than grow without bound.
const MAX_ENTRIES: usize = 500_000;

#[derive(Clone)]
pub struct Entry {
    pub caller: Caller,
    /// `Invalidations::stamp()` taken before the entry was read from the database.
    pub stamp: u64,
    /// The latest end, whatever the use; `None` for an API token that never expires.
    pub absolute_expiry: Option<Timestamp>,
    /// How long the session may stay unused; `None` when it has no idle limit.
    pub idle_ms: Option<i64>,
    pub last_seen_at: Timestamp,
    /// When last-seen was last written to the database; `None` when it never was (an API token
    /// not used before).
    pub persisted_at: Option<Timestamp>,
}

impl Entry {
    /// When the entry stops being good: the earlier of its absolute end and its idle limit
    /// from the last use; `None` when neither applies.
    pub fn expires_at(&self) -> Option<Timestamp> {
        ends_at(self.absolute_expiry, self.idle_ms, self.last_seen_at)
    }

    /// Whether last-seen is due to be written to the database.
    pub fn due_for_touch(&self, now: Timestamp) -> bool {
        due_for_touch(self.persisted_at, now)
    }

    pub fn user(&self) -> UserId {
        self.caller.user
    }
}

fn ends_at(absolute: Option<Timestamp>, idle_ms: Option<i64>, last_seen_at: Timestamp) -> Option<Timestamp> {
    let idle_end = idle_ms.map(|idle| last_seen_at.plus_ms(idle));
    match (absolute, idle_end) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn due_for_touch(persisted_at: Option<Timestamp>, now: Timestamp) -> bool {
    persisted_at.is_none_or(|at| now.ms_since(at) >= TOUCH_EVERY_MS)
}

// A hit is handed out once per request by value; boxing it would allocate on the hot path.
#[allow(clippy::large_enum_variant)]
pub enum Lookup {
    Hit(Caller),
    Miss { last_seen_at: Option<Timestamp> },
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
    pub fn hit(&self, token_hash: &str, now: Timestamp, is_current: impl Fn(&Entry) -> bool) -> Lookup {
        let lookup = self.lookup(token_hash, now, is_current);
        let result = if matches!(lookup, Lookup::Hit(_)) { "hit" } else { "miss" };
        metrics::counter!("roster_session_cache_lookups_total", "result" => result).increment(1);
        lookup
    }

    fn lookup(&self, token_hash: &str, now: Timestamp, is_current: impl Fn(&Entry) -> bool) -> Lookup {
        let mut entries = lock(&self.entries);
        let Some(entry) = entries.get_mut(token_hash) else { return Lookup::Miss { last_seen_at: None } };
        if entry.expires_at().is_some_and(|end| now >= end) {
            entries.remove(token_hash);
            return Lookup::Miss { last_seen_at: None };
        }
        if !is_current(entry) {
            let last_seen_at = Some(entry.last_seen_at);
            entries.remove(token_hash);
            return Lookup::Miss { last_seen_at };
        }
        entry.last_seen_at = now;
        if entry.due_for_touch(now) {
            entry.persisted_at = Some(now);
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

#[cfg(test)]
mod tests {
    use super::{TOUCH_EVERY_MS, due_for_touch, ends_at};
    use crate::clock::Timestamp;

    #[test]
    fn an_entry_ends_at_the_earlier_of_its_limits_or_never() {
        let at = Timestamp::from_ms;
        assert_eq!(ends_at(Some(at(10_000)), Some(1_000), at(5_000)), Some(at(6_000)), "idle first");
        assert_eq!(ends_at(Some(at(10_000)), Some(9_000), at(5_000)), Some(at(10_000)), "absolute first");
        assert_eq!(ends_at(Some(at(10_000)), None, at(5_000)), Some(at(10_000)), "no idle limit (API)");
        assert_eq!(ends_at(None, None, at(5_000)), None, "a token that never expires");
    }

    #[test]
    fn last_seen_is_written_once_a_minute_and_at_first_use() {
        let now = Timestamp::from_ms(1_000_000);
        assert!(due_for_touch(None, now), "never written");
        assert!(!due_for_touch(Some(now.plus_ms(1 - TOUCH_EVERY_MS)), now));
        assert!(due_for_touch(Some(now.plus_ms(-TOUCH_EVERY_MS)), now));
    }
}
