//! Queue member lists from memory. The PBX asks who is a member of a queue now for every call it
//! queues; reading a hundred memberships with their users and time groups cost 1–2 ms of server
//! time a read (issue 13). Each queue's list, as read for everyone, is kept (`store::kept`) with
//! its time groups parsed and its rows' JSON once made, under the user list's `QueueStamp` taken
//! before it was read.
//!
//! Nothing is trusted without asking the database first: every read brings the account's user
//! list up to date (one indexed read of `user_changes`, usually empty), and the stamp moves
//! whenever a user who is or was a member changes, a membership changes (its triggers name the
//! user), or something every user shows changes (a queue renamed or renumbered, a time group
//! changed: migrations 0012, 0014). So a kept list is used only while a read from the
//! database would find the same, on this instance and on any other sharing the database.
//!
//! The list's ETag is the queue's `members_version`, which triggers move with every membership
//! written (migration 0014), so a kept list and its ETag change together.

use std::sync::{Arc, OnceLock};

use serde_json::value::RawValue;

use super::members::{NotNow, TimeGroups};
use crate::error::Result;
use crate::ids::{AccountId, QueueId};
use crate::store::kept::{Kept, KeptKey, KeptStamp};
use crate::store::queues::{MemberRecord, QueueRecord};
use crate::store::user_index::QueueStamp;

/// One queue's members as read for everyone, in position order, then login.
pub struct MemberList {
    pub stamp: QueueStamp,
    pub queue: QueueRecord,
    pub records: Vec<MemberRecord>,
    pub groups: TimeGroups,
    /// Each row's JSON as the API sends it, per answer to "member now?" (yes, or why not):
    /// made the first time a read needs it.
    rendered: Vec<[OnceLock<Box<RawValue>>; 4]>,
}

impl MemberList {
    pub fn new(stamp: QueueStamp, queue: QueueRecord, records: Vec<MemberRecord>, groups: TimeGroups) -> MemberList {
        let rendered = records.iter().map(|_| Default::default()).collect();
        MemberList { stamp, queue, records, groups, rendered }
    }

    /// Row `i`'s JSON when `not_now` is why it is not a membership (`None`: it is), made by
    /// `make` the first time.
    pub fn rendered(
        &self,
        i: usize,
        not_now: Option<NotNow>,
        make: impl FnOnce() -> Result<Box<RawValue>>,
    ) -> Result<&RawValue> {
        let slot = &self.rendered[i][rendering(not_now)];
        if let Some(json) = slot.get() {
            return Ok(json);
        }
        // Made outside the cell: another reader may make the same meanwhile; the first is kept.
        let json = make()?;
        Ok(slot.get_or_init(|| json))
    }

    /// Row `i`'s JSON as made by `rendered` before.
    pub fn made(&self, i: usize, not_now: Option<NotNow>) -> Option<&RawValue> {
        self.rendered[i][rendering(not_now)].get().map(|b| &**b)
    }
}

fn rendering(not_now: Option<NotNow>) -> usize {
    match not_now {
        None => 0,
        Some(NotNow::Disabled) => 1,
        Some(NotNow::Invited) => 2,
        Some(NotNow::OutsideTimeGroup) => 3,
    }
}

/// The list of `queue` if one is kept under `stamp` (the stamp taken now).
pub fn kept(kept: &Kept, account: AccountId, queue: QueueId, stamp: QueueStamp) -> Option<Arc<MemberList>> {
    kept.get(KeptKey::MemberList(account, queue), KeptStamp::Queue(stamp))
}

/// Keeps a list read after its stamp was taken, in place of an older one.
pub fn keep(kept: &Kept, account: AccountId, list: Arc<MemberList>) {
    // About 250 bytes a membership, and 350 for each of its renderings (most have one or two: a
    // member now, or not for one reason).
    let bytes = 1_000 * list.records.len() + 500;
    kept.keep(KeptKey::MemberList(account, QueueId(list.queue.id)), KeptStamp::Queue(list.stamp), bytes, list);
}
