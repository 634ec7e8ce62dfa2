//! Users' effective call settings from memory. The PBX reads a user's settings for every call
//! they make or take; on PostgreSQL the read (one statement joining the account's defaults, the
//! user's values, the names they refer to and both sets of intercept groups) cost about as much
//! database time as the rest of the request together (issue 13).
//!
//! The account's defaults and each user's own values are kept apart (`store::kept`; the
//! defaults once per account, not once per user), each under a stamp from the user list's memory
//! (`store::user_index`), which every read first brings up to date from `user_changes`. A user's
//! values, call settings and intercept groups leave a row for them; the account's defaults, its
//! intercept groups and a rule set, music class or intercept group renamed or removed leave one
//! for everyone (triggers, migration 0014). So kept settings are used only while a read would
//! find the same, also after an operator's SQL or a write on another instance.

use std::sync::Arc;

use crate::ids::{AccountId, UserId};
use crate::store::calls::{EffectiveParts, SettingsPart};
use crate::store::kept::{Kept, KeptKey, KeptStamp};
use crate::store::user_index::UserStamp;

/// The account's defaults and the user's own values, if both are kept under `stamp` (the user's
/// stamp taken now).
pub fn kept(
    kept: &Kept,
    account: AccountId,
    user: UserId,
    stamp: UserStamp,
) -> Option<(Arc<SettingsPart>, Arc<SettingsPart>)> {
    let own = kept.get(KeptKey::OwnCallSettings(account, user), KeptStamp::User(stamp))?;
    let defaults = kept.get(KeptKey::CallDefaults(account), KeptStamp::Epoch(stamp.epoch()))?;
    Some((defaults, own))
}

/// Keeps what was read after `stamp` was taken, and hands it back as `kept` would.
pub fn keep(
    kept: &Kept,
    account: AccountId,
    user: UserId,
    stamp: UserStamp,
    parts: EffectiveParts,
) -> (Arc<SettingsPart>, Arc<SettingsPart>) {
    let defaults = Arc::new(parts.account);
    let own = Arc::new(parts.user);
    kept.keep(KeptKey::CallDefaults(account), KeptStamp::Epoch(stamp.epoch()), bytes(&defaults), defaults.clone());
    kept.keep(KeptKey::OwnCallSettings(account, user), KeptStamp::User(stamp), bytes(&own), own.clone());
    (defaults, own)
}

/// About what a part weighs: a user without values of their own little more than the key.
fn bytes(part: &SettingsPart) -> usize {
    let values = if part.values.is_some() { 300 } else { 0 };
    100 + values + 100 * part.intercepts.len()
}
