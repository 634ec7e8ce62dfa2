//! Directory entries and realms kept in memory (`store::kept`). An entry is kept under its
//! user's stamp from the user list's memory, which every change to the user's row, links or
//! call settings moves, and every change for the whole account (its realm, its defaults) too;
//! so a kept entry is used only while a read would find the same, on this instance and after
//! another's writes. Two keys lead to one entry: the name the phone authenticates with, and the
//! extension; each is unique in the account, so an entry still stamped current is still the
//! one user answering to it.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use super::service::Entry;
use crate::ids::AccountId;
use crate::store::directory::DirectoryKey;
use crate::store::kept::{Kept, KeptKey, KeptStamp};
use crate::store::user_index::{UserIndex, UserStamp};

fn hash_of(value: &impl Hash) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// The entry kept for `key`, if its user's stamp is still the one it was read under (the
/// account brought up to date just before).
pub fn entry(kept: &Kept, index: &UserIndex, account: AccountId, key: &DirectoryKey) -> Option<Arc<Entry>> {
    let (stamp, entry) = kept.peek::<Entry>(KeptKey::DirectoryName(account, hash_of(key)))?;
    if !entry.answers_to(key) {
        return None;
    }
    let now = index.stamp_now(account, entry.user)?;
    (stamp == KeptStamp::User(now)).then_some(entry)
}

/// Keeps `entry`, read after `stamp` was taken, under each key that leads to it.
pub fn keep(kept: &Kept, account: AccountId, stamp: UserStamp, entry: &Arc<Entry>) {
    let keys = entry.keys();
    // One entry under two keys weighs once, shared between them.
    let weight = entry.weight() / keys.len().max(1);
    for key in keys {
        kept.keep(KeptKey::DirectoryName(account, hash_of(&key)), KeptStamp::User(stamp), weight, entry.clone());
    }
}

/// The account that had `realm` when it was last read (to be checked against the account as
/// of now: realms move).
pub fn realm(kept: &Kept, realm: &str) -> Option<AccountId> {
    let (_, found) = kept.peek::<(String, AccountId)>(KeptKey::Realm(hash_of(&realm)))?;
    (found.0 == realm).then_some(found.1)
}

pub fn keep_realm(kept: &Kept, realm: &str, account: AccountId) {
    kept.keep(
        KeptKey::Realm(hash_of(&realm)),
        KeptStamp::Epoch(0),
        64 + realm.len(),
        Arc::new((realm.to_string(), account)),
    );
}
