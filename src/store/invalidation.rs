//! What a committed write made stale in the caches that sit in front of the store (the session
//! check's cache). Writers say what they touched when they commit; readers stamp what they load
//! and ask, before trusting it, whether anything touched it since.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::ids::UserId;

/// What a transaction changed, as far as cached sign-in state goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Affects {
    /// Roles, groups, permissions, account settings, or not known: every cached caller.
    Everyone,
    /// Only these users' own state (status, password, sessions, direct roles).
    Users(Vec<UserId>),
    /// Nothing a cached caller depends on (a new session, a failed sign-in, last-seen times).
    Nothing,
}

#[derive(Default)]
pub struct Invalidations {
    state: Mutex<Stamps>,
}

#[derive(Default)]
struct Stamps {
    clock: u64,
    everyone_at: u64,
    user_at: HashMap<UserId, u64>,
}

impl Invalidations {
    /// Taken before a cached value is read from the database.
    pub fn stamp(&self) -> u64 {
        self.lock().clock
    }

    /// Whether a value about `user`, read after `stamp`, is still current.
    pub fn is_current(&self, stamp: u64, user: UserId) -> bool {
        let s = self.lock();
        stamp >= s.everyone_at && s.user_at.get(&user).is_none_or(|&at| stamp >= at)
    }

    pub fn record(&self, affects: &Affects) {
        let mut s = self.lock();
        match affects {
            Affects::Nothing => {}
            Affects::Everyone => {
                s.clock += 1;
                s.everyone_at = s.clock;
                // Older per-user marks are covered by this one.
                s.user_at.clear();
            }
            Affects::Users(users) => {
                s.clock += 1;
                let at = s.clock;
                for u in users {
                    s.user_at.insert(*u, at);
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Stamps> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_makes_earlier_reads_stale_and_later_ones_current() {
        let inv = Invalidations::default();
        let before = inv.stamp();
        assert!(inv.is_current(before, UserId(1)));
        inv.record(&Affects::Users(vec![UserId(1)]));
        assert!(!inv.is_current(before, UserId(1)));
        assert!(inv.is_current(before, UserId(2)), "other users stay cached");
        let after = inv.stamp();
        assert!(inv.is_current(after, UserId(1)));
        inv.record(&Affects::Everyone);
        assert!(!inv.is_current(after, UserId(2)));
        inv.record(&Affects::Nothing);
        assert!(inv.is_current(inv.stamp(), UserId(2)));
    }
}
