//! Reads kept in memory in front of the store for what the PBX asks on every call: a queue's
//! member list (`queues::member_lists`), the account's call defaults and a user's own call
//! settings (`calls::kept`), a user's directory entry and which account a SIP realm names
//! (`directory::kept`). Each is kept under a stamp from the user list's memory
//! (`user_index`), taken before it was read, and used only while the stamp taken now is the
//! same: every committed change it shows moves that stamp (triggers, migrations 0008–0014).
//!
//! The values are the services' own types, held here without this module knowing them, so that
//! the store can carry them for every handler.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::user_index::{QueueStamp, UserStamp};
use crate::ids::{AccountId, QueueId, UserId};

/// About this many bytes are kept at most (what each value weighs is its keeper's estimate);
/// past it everything starts afresh.
const MOST_BYTES: usize = 128 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeptKey {
    MemberList(AccountId, QueueId),
    CallDefaults(AccountId),
    OwnCallSettings(AccountId, UserId),
    /// A directory entry under a hash of how it was asked for (the value holds the name, so a
    /// hash shared by two names finds neither's entry for the other).
    DirectoryName(AccountId, u64),
    /// The account a SIP realm named, under a hash of the realm.
    Realm(u64),
}

/// What a kept value was read under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeptStamp {
    Queue(QueueStamp),
    User(UserStamp),
    /// The part of the user list's stamps that moves with changes for everyone.
    Epoch(u64),
}

#[derive(Default)]
pub struct Kept {
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    values: HashMap<KeptKey, Entry>,
    bytes: usize,
}

struct Entry {
    stamp: KeptStamp,
    bytes: usize,
    value: Arc<dyn Any + Send + Sync>,
}

impl Kept {
    /// The value kept under `key` if it was read under `stamp` (the stamp taken now).
    pub fn get<T: Any + Send + Sync>(&self, key: KeptKey, stamp: KeptStamp) -> Option<Arc<T>> {
        let entries = self.lock();
        let entry = entries.values.get(&key).filter(|e| e.stamp == stamp)?;
        entry.value.clone().downcast::<T>().ok()
    }

    /// The value kept under `key` and the stamp it was read under, for a reader who learns
    /// from the value which stamp to compare (a directory entry names its user).
    pub fn peek<T: Any + Send + Sync>(&self, key: KeptKey) -> Option<(KeptStamp, Arc<T>)> {
        let entries = self.lock();
        let entry = entries.values.get(&key)?;
        Some((entry.stamp, entry.value.clone().downcast::<T>().ok()?))
    }

    /// Keeps `value`, read after `stamp` was taken and weighing about `bytes`, in place of what
    /// was kept under `key`.
    pub fn keep<T: Any + Send + Sync>(&self, key: KeptKey, stamp: KeptStamp, bytes: usize, value: Arc<T>) {
        let mut entries = self.lock();
        if entries.bytes + bytes > MOST_BYTES {
            entries.values.clear();
            entries.bytes = 0;
        }
        entries.bytes += bytes;
        if let Some(old) = entries.values.insert(key, Entry { stamp, bytes, value }) {
            entries.bytes -= old.bytes;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_found_under_its_key_and_stamp_and_type_only() {
        let kept = Kept::default();
        let key = KeptKey::CallDefaults(AccountId(1));
        kept.keep(key, KeptStamp::Epoch(4), 10, Arc::new(String::from("defaults")));
        assert_eq!(kept.get::<String>(key, KeptStamp::Epoch(4)).as_deref().map(String::as_str), Some("defaults"));
        assert!(kept.get::<String>(key, KeptStamp::Epoch(5)).is_none(), "another stamp");
        assert!(kept.get::<u32>(key, KeptStamp::Epoch(4)).is_none(), "another type");
        assert!(kept.get::<String>(KeptKey::CallDefaults(AccountId(2)), KeptStamp::Epoch(4)).is_none());
        // Kept again under a newer stamp, the older one no longer finds it.
        kept.keep(key, KeptStamp::Epoch(5), 10, Arc::new(String::from("newer")));
        assert!(kept.get::<String>(key, KeptStamp::Epoch(4)).is_none());
        assert_eq!(kept.lock().bytes, 10);
    }

    #[test]
    fn past_the_bound_everything_starts_afresh() {
        let kept = Kept::default();
        let a = KeptKey::CallDefaults(AccountId(1));
        let b = KeptKey::CallDefaults(AccountId(2));
        kept.keep(a, KeptStamp::Epoch(1), MOST_BYTES - 5, Arc::new(1u8));
        kept.keep(b, KeptStamp::Epoch(1), 10, Arc::new(2u8));
        assert!(kept.get::<u8>(a, KeptStamp::Epoch(1)).is_none());
        assert_eq!(kept.get::<u8>(b, KeptStamp::Epoch(1)).as_deref(), Some(&2));
        assert_eq!(kept.lock().bytes, 10);
    }
}
