//! One account's users in memory, as the list filters them, in about 70 bytes a user (a million
//! users fit in ~70 MB): each user has a slot; login keys live in one arena; who has which role,
//! group, desk or skill, and who is disabled, are compressed bitmaps of slots; the few locked
//! users and end users with a company are small maps. A page combines the bitmaps of its filters
//! and scope, then either walks the login order testing each slot or, when the combination is
//! small, sorts just its members.

use std::collections::HashMap;
use std::sync::Arc;

use roaring::RoaringBitmap;

use super::{AccountCatalog, Listed, Mark};
use crate::ids::UserId;
use crate::model::settings::SecuritySettings;
use crate::model::user::UserStatus;
use crate::model::user_filter::UserFilter;
use crate::store::grants::Seen;

/// Past this many users whose record is kept, an account's records start afresh (the filter
/// data stays): far more than the pages a busy console and the PBX read, and ~40 MB at most.
const MAX_KEPT_RECORDS: usize = 20_000;

/// The position of the desks among the link kinds (`Link::LISTED`: roles, groups, desks, skills,
/// queues).
pub(super) const DESKS: usize = 2;

/// The position of the queues among the link kinds.
const QUEUES: usize = 4;

/// A user's row as the filters need it.
pub(super) struct MemberRow {
    pub id: UserId,
    pub login_key: String,
    pub status: UserStatus,
    pub locked_until: Option<i64>,
    /// The company, ASCII-lower-cased as SQL's `LOWER` and `company_key` do, of an end user
    /// (R40); `None` for everyone else.
    pub end_user_company: Option<String>,
    /// The ids the user is linked to, per kind in `Link::LISTED` order.
    pub links: [Vec<i64>; 5],
    pub is_agent: bool,
    pub is_supervisor: bool,
}

pub(super) struct Members {
    ids: Vec<UserId>,
    keys: Keys,
    /// Changes each time the slot's user is read again, so that a record read before is not kept.
    generation: Vec<u32>,
    listed: Vec<Option<Arc<Listed>>>,
    slot_of: HashMap<UserId, u32>,
    free: Vec<u32>,
    /// Slots in use.
    live: RoaringBitmap,
    disabled: RoaringBitmap,
    invited: RoaringBitmap,
    locked_until: HashMap<u32, i64>,
    end_user_company: HashMap<u32, Box<str>>,
    /// Per link kind: the slots linked to each role, group, desk, skill, queue.
    linked: [HashMap<i64, RoaringBitmap>; 5],
    /// R11's flags the list filters on.
    agents: RoaringBitmap,
    supervisors: RoaringBitmap,
    /// Slots in use, in login-key order.
    order: Vec<u32>,
    pub mark: Mark,
    kept_records: usize,
    next_generation: u32,
    /// Changes each time every kept record is dropped, so that one read before is not kept.
    epoch: u64,
    /// The account's security settings as of `mark` (a password's expiry date follows them).
    pub settings: Arc<SecuritySettings>,
    /// The account itself as of `mark` (its realm and whether it is enabled, for the PBX
    /// directory); `None` when it is gone.
    pub account: Option<Arc<crate::model::AccountRecord>>,
    /// The account's catalog, once a page asked for it; dropped with the records.
    pub catalog: Option<Arc<AccountCatalog>>,
    /// Per queue, how many times a user who is or was among its members was read again: with
    /// the epoch, what a member list read from the database must still find to be used.
    queue_changes: HashMap<i64, u64>,
}

/// What a queue's member list read after it was taken must still find to be used: no user
/// who is or was a member read again since, and no record of the account dropped (a change for
/// everyone: a queue renamed or renumbered, a time group changed, the settings).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStamp {
    epoch: u64,
    changes: u64,
}

/// What a record read for a page must still match to be kept: the user's generation and the
/// records' epoch when the page chose them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stamp {
    generation: u32,
    epoch: u64,
}

/// What something read about one user (their call settings) after it was taken must still
/// find to be used: the user not read again since (their row, their links, or anything that
/// leaves a `user_changes` row for them), and no record of the account dropped (a change for
/// everyone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserStamp {
    epoch: u64,
    generation: u32,
}

impl UserStamp {
    /// The part that moves with changes for everyone in the account.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }
}

/// Where an account's changes stood when it was taken: no user read again and no record
/// dropped since, while both parts are unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moment {
    epoch: u64,
    generation: u32,
}

/// Every login key in one buffer: a key per user costs its bytes and six more, not a heap
/// allocation. Replaced keys leave garbage, compacted when it outgrows the live keys.
#[derive(Default)]
struct Keys {
    bytes: Vec<u8>,
    spans: Vec<(u32, u16)>,
    garbage: usize,
}

impl Keys {
    /// The key's bytes: compared as bytes (the same order as `str`), without checking UTF-8
    /// on every comparison of a sort or a search.
    fn get(&self, slot: u32) -> &[u8] {
        let (start, len) = self.spans[slot as usize];
        &self.bytes[start as usize..start as usize + len as usize]
    }

    fn set(&mut self, slot: u32, key: &str) {
        let slot = slot as usize;
        if self.spans.len() <= slot {
            self.spans.resize(slot + 1, (0, 0));
        }
        self.garbage += self.spans[slot].1 as usize;
        // Logins are far shorter than 64 KiB (the API caps them); a longer one is cut at a
        // character boundary rather than wrap.
        let mut len = key.len().min(u16::MAX as usize);
        while !key.is_char_boundary(len) {
            len -= 1;
        }
        self.spans[slot] = (self.bytes.len() as u32, len as u16);
        self.bytes.extend_from_slice(&key.as_bytes()[..len]);
        if self.garbage > self.bytes.len() / 2 && self.garbage > 1 << 20 {
            self.compact();
        }
    }

    fn clear(&mut self, slot: u32) {
        if let Some(span) = self.spans.get_mut(slot as usize) {
            self.garbage += span.1 as usize;
            *span = (0, 0);
        }
    }

    fn compact(&mut self) {
        let mut bytes = Vec::with_capacity(self.bytes.len() - self.garbage);
        for span in &mut self.spans {
            let (start, len) = *span;
            *span = (bytes.len() as u32, len);
            bytes.extend_from_slice(&self.bytes[start as usize..start as usize + len as usize]);
        }
        self.bytes = bytes;
        self.garbage = 0;
    }
}

impl Members {
    /// `first_epoch`: unlike any epoch of the account's earlier `Members`, so that something
    /// read from them is not kept in these (a page racing a rebuild).
    pub fn new(mark: Mark, settings: SecuritySettings, first_epoch: u64) -> Members {
        Members {
            ids: Vec::new(),
            keys: Keys::default(),
            generation: Vec::new(),
            listed: Vec::new(),
            slot_of: HashMap::new(),
            free: Vec::new(),
            live: RoaringBitmap::new(),
            disabled: RoaringBitmap::new(),
            invited: RoaringBitmap::new(),
            locked_until: HashMap::new(),
            end_user_company: HashMap::new(),
            linked: Default::default(),
            agents: RoaringBitmap::new(),
            supervisors: RoaringBitmap::new(),
            order: Vec::new(),
            mark,
            kept_records: 0,
            next_generation: 0,
            epoch: first_epoch,
            settings: Arc::new(settings),
            account: None,
            catalog: None,
            queue_changes: HashMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.slot_of.len()
    }

    /// A user of an account being read whole (`sort` when all are in).
    pub fn add(&mut self, row: MemberRow) {
        let slot = self.place(row);
        self.order.push(slot);
    }

    /// Puts the login order right once every user of a whole account is in.
    pub fn sort(&mut self) {
        let keys = &self.keys;
        self.order.sort_unstable_by(|a, b| keys.get(*a).cmp(keys.get(*b)));
    }

    /// Users read again after a change: `rows` are those still there, `gone` those deleted.
    pub fn update(&mut self, rows: Vec<MemberRow>, gone: &[UserId]) {
        let mut moved: Vec<u32> = Vec::new();
        for id in gone {
            if let Some(slot) = self.slot_of.get(id).copied() {
                moved.push(slot);
            }
        }
        // Slots whose login may change leave the order and come back in place.
        for row in &rows {
            if let Some(slot) = self.slot_of.get(&row.id).copied() {
                moved.push(slot);
            }
        }
        self.leave_order(&moved);
        for id in gone {
            self.remove(*id);
        }
        let mut placed: Vec<u32> = rows.into_iter().map(|row| self.place(row)).collect();
        let keys = &self.keys;
        placed.sort_unstable_by(|a, b| keys.get(*a).cmp(keys.get(*b)));
        self.join_order(placed);
    }

    /// Puts a user in a slot (theirs, or a free one) with everything the filters read, except
    /// the login order (`load` and `update` see to it).
    fn place(&mut self, row: MemberRow) -> u32 {
        let slot = match self.slot_of.get(&row.id) {
            Some(slot) => {
                let slot = *slot;
                self.unlink(slot);
                slot
            }
            None => {
                let slot = self.free.pop().unwrap_or(self.ids.len() as u32);
                if slot as usize == self.ids.len() {
                    self.ids.push(row.id);
                    self.generation.push(0);
                    self.listed.push(None);
                }
                self.ids[slot as usize] = row.id;
                self.slot_of.insert(row.id, slot);
                self.live.insert(slot);
                slot
            }
        };
        self.next_generation = self.next_generation.wrapping_add(1);
        self.generation[slot as usize] = self.next_generation;
        self.forget(slot);
        self.keys.set(slot, &row.login_key);
        match row.status {
            UserStatus::Disabled => {
                self.disabled.insert(slot);
            }
            UserStatus::Invited => {
                self.invited.insert(slot);
            }
            UserStatus::Active => {}
        }
        if let Some(until) = row.locked_until {
            self.locked_until.insert(slot, until);
        }
        if let Some(company) = row.end_user_company {
            self.end_user_company.insert(slot, company.into());
        }
        for (k, ids) in row.links.iter().enumerate() {
            for id in ids {
                self.linked[k].entry(*id).or_default().insert(slot);
            }
        }
        for queue in &row.links[QUEUES] {
            *self.queue_changes.entry(*queue).or_default() += 1;
        }
        if row.is_agent {
            self.agents.insert(slot);
        }
        if row.is_supervisor {
            self.supervisors.insert(slot);
        }
        slot
    }

    /// Clears what a slot's user was: status, lock, company, links.
    fn unlink(&mut self, slot: u32) {
        self.disabled.remove(slot);
        self.invited.remove(slot);
        self.agents.remove(slot);
        self.supervisors.remove(slot);
        self.locked_until.remove(&slot);
        self.end_user_company.remove(&slot);
        for (k, kind) in self.linked.iter_mut().enumerate() {
            kind.retain(|id, slots| {
                if slots.remove(slot) && k == QUEUES {
                    *self.queue_changes.entry(*id).or_default() += 1;
                }
                !slots.is_empty()
            });
        }
    }

    fn remove(&mut self, id: UserId) {
        let Some(slot) = self.slot_of.remove(&id) else { return };
        self.unlink(slot);
        self.forget(slot);
        self.keys.clear(slot);
        self.live.remove(slot);
        self.ids[slot as usize] = UserId(0);
        self.free.push(slot);
    }

    fn leave_order(&mut self, slots: &[u32]) {
        match slots.len() {
            0 => {}
            // One or two: find them by key (the order is sorted) rather than scan it all.
            1..=2 => {
                for slot in slots {
                    let key = self.keys.get(*slot);
                    let start = self.order.partition_point(|s| self.keys.get(*s) < key);
                    if let Some(i) = self.order[start..].iter().position(|s| s == slot) {
                        self.order.remove(start + i);
                    }
                }
            }
            _ => {
                let leaving: std::collections::HashSet<u32> = slots.iter().copied().collect();
                self.order.retain(|s| !leaving.contains(s));
            }
        }
    }

    /// Merges slots sorted by key into the order.
    fn join_order(&mut self, placed: Vec<u32>) {
        if placed.len() <= 2 {
            for slot in placed {
                let key = self.keys.get(slot);
                let at = self.order.partition_point(|s| self.keys.get(*s) < key);
                self.order.insert(at, slot);
            }
            return;
        }
        let old = std::mem::take(&mut self.order);
        let mut merged = Vec::with_capacity(old.len() + placed.len());
        let (mut a, mut b) = (old.into_iter().peekable(), placed.into_iter().peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) => {
                    if self.keys.get(*x) <= self.keys.get(*y) {
                        a.next()
                    } else {
                        b.next()
                    }
                }
                (Some(_), None) => a.next(),
                (None, Some(_)) => b.next(),
                (None, None) => break,
            };
            merged.extend(next);
        }
        self.order = merged;
    }

    fn forget(&mut self, slot: u32) {
        if self.listed[slot as usize].take().is_some() {
            self.kept_records -= 1;
        }
    }

    /// Drops every kept record (what every user shows changed: a role's name, the settings).
    pub fn forget_records(&mut self) {
        self.listed.iter_mut().for_each(|l| *l = None);
        self.kept_records = 0;
        self.epoch = self.epoch.wrapping_add(1);
        self.catalog = None;
    }

    /// The epoch of the kept records (and catalog): what something read now must still find to
    /// be kept.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Where the account's changes stand: whatever is read after it was taken, about any user,
    /// may be kept under that user's stamp as of then (see `UserIndex::stamp_as_of`).
    pub fn moment(&self) -> Moment {
        Moment { epoch: self.epoch, generation: self.next_generation }
    }

    /// What something read now about `id` must still find to be used; `None`: no such user.
    pub fn user_stamp(&self, id: UserId) -> Option<UserStamp> {
        let slot = self.slot(id)?;
        Some(UserStamp { epoch: self.epoch, generation: self.generation[slot as usize] })
    }

    /// What a member list of `queue` read now must still find to be used.
    pub fn queue_stamp(&self, queue: i64) -> QueueStamp {
        QueueStamp { epoch: self.epoch, changes: self.queue_changes.get(&queue).copied().unwrap_or(0) }
    }

    /// The kept record of `id`, or the stamp a record read now must carry to be kept.
    pub fn record(&self, id: UserId) -> Result<Arc<Listed>, Stamp> {
        let slot = self.slot_of[&id] as usize;
        self.listed[slot].clone().ok_or(Stamp { generation: self.generation[slot], epoch: self.epoch })
    }

    /// Keeps a record read for a page, unless the user changed, or every record was dropped
    /// (a role renamed, the settings changed), since the page chose them.
    pub fn keep(&mut self, id: UserId, stamp: Stamp, listed: &Arc<Listed>) {
        if self.kept_records >= MAX_KEPT_RECORDS {
            self.forget_records();
        }
        if let Some(slot) = self.slot_of.get(&id).map(|s| *s as usize)
            && self.generation[slot] == stamp.generation
            && self.epoch == stamp.epoch
            && self.listed[slot].is_none()
        {
            self.listed[slot] = Some(listed.clone());
            self.kept_records += 1;
        }
    }

    /// The ids of one page, and whether more match after it. `filter.q` is not looked at (a
    /// text search is the database's, see `UserIndex::page`).
    pub fn select(
        &self,
        seen: &Seen,
        filter: &UserFilter,
        after: Option<&str>,
        limit: usize,
        now: i64,
    ) -> (Vec<UserId>, bool) {
        let plan = Plan::new(self, seen, filter, now);
        let mut slots: Vec<u32> = Vec::with_capacity(limit + 1);
        match plan.candidates.as_ref().filter(|c| gather_is_cheaper(c.len(), self.live.len(), limit)) {
            // Few candidates: sort them rather than walk everyone to find them.
            Some(candidates) => {
                let mut matched: Vec<(&[u8], u32)> = candidates
                    .iter()
                    .map(|slot| (self.keys.get(slot), slot))
                    .filter(|(key, slot)| after.is_none_or(|a| *key > a.as_bytes()) && plan.passes_rest(self, *slot))
                    .collect();
                matched.sort_unstable();
                slots.extend(matched.into_iter().take(limit + 1).map(|(_, slot)| slot));
            }
            None => {
                let start = match after {
                    Some(a) => self.order.partition_point(|s| self.keys.get(*s) <= a.as_bytes()),
                    None => 0,
                };
                for slot in &self.order[start..] {
                    if plan.passes(self, *slot) {
                        slots.push(*slot);
                        if slots.len() > limit {
                            break;
                        }
                    }
                }
            }
        }
        let more = slots.len() > limit;
        slots.truncate(limit);
        (slots.into_iter().map(|s| self.ids[s as usize]).collect(), more)
    }

    /// How many users `seen` covers and `filter` matches (`filter.q` aside, as for `select`).
    pub fn count(&self, seen: &Seen, filter: &UserFilter, now: i64) -> u64 {
        let plan = Plan::new(self, seen, filter, now);
        match &plan.candidates {
            Some(c) if plan.rest.is_empty() && plan.locked_after.is_none() => c.len(),
            Some(c) => c.iter().filter(|slot| plan.passes_rest(self, *slot)).count() as u64,
            None => self.live.iter().filter(|slot| plan.passes(self, *slot)).count() as u64,
        }
    }

    /// For each of `ids`, whether `seen` covers them (D8); users not in the account are not.
    pub fn covers(&self, seen: &Seen, ids: &[UserId]) -> Vec<bool> {
        let plan = Plan::new(self, seen, &UserFilter::default(), 0);
        ids.iter().map(|id| self.slot(*id).is_some_and(|slot| plan.passes(self, slot))).collect()
    }

    fn slot(&self, id: UserId) -> Option<u32> {
        self.slot_of.get(&id).copied()
    }
}

/// A page's question, prepared once: the users the filters' and the scope's sets allow, as one
/// bitmap (their intersection, a few bitmap operations even at a million users), and what each
/// of them is still tested for (a lock, a company, or not being disabled when no set narrows).
struct Plan<'a> {
    candidates: Option<RoaringBitmap>,
    rest: Vec<Condition<'a>>,
    locked_after: Option<i64>,
}

enum Condition<'a> {
    /// In one of these sets, or this slot (a link filter with several ids; a desk lead's desks
    /// and themself).
    AnyOf { sets: Vec<&'a RoaringBitmap>, also: Option<u32> },
    /// Not in this set (active: not disabled).
    NoneOf(&'a RoaringBitmap),
    /// The user themself, or an end user of this company (lower-cased, R40).
    Company { me: Option<u32>, company: String },
}

impl<'a> Condition<'a> {
    fn holds(&self, members: &Members, slot: u32) -> bool {
        match self {
            Condition::AnyOf { sets, also } => *also == Some(slot) || sets.iter().any(|s| s.contains(slot)),
            Condition::NoneOf(set) => !set.contains(slot),
            Condition::Company { me, company } => {
                *me == Some(slot) || members.end_user_company.get(&slot).is_some_and(|c| **c == **company)
            }
        }
    }

    /// At most how many slots meet it, when it is a list of sets.
    fn bound(&self) -> u64 {
        match self {
            Condition::AnyOf { sets, also } => sets.iter().map(|s| s.len()).sum::<u64>() + u64::from(also.is_some()),
            Condition::NoneOf(_) | Condition::Company { .. } => u64::MAX,
        }
    }

    /// The slots that may meet it, as one bitmap (for `AnyOf`; empty for the others).
    fn union(&self) -> RoaringBitmap {
        let Condition::AnyOf { sets, also } = self else { return RoaringBitmap::new() };
        let mut union = match sets.split_first() {
            Some((first, more)) => more.iter().fold((*first).clone(), |acc, s| acc | *s),
            None => RoaringBitmap::new(),
        };
        union.extend(*also);
        union
    }
}

impl<'a> Plan<'a> {
    fn new(members: &'a Members, seen: &Seen, filter: &UserFilter, now: i64) -> Plan<'a> {
        let mut conditions = Vec::new();
        for (k, ids) in filter_links(filter).iter().enumerate() {
            if !ids.is_empty() {
                let sets = ids.iter().filter_map(|id| members.linked[k].get(id)).collect();
                conditions.push(Condition::AnyOf { sets, also: None });
            }
        }
        // Active is neither disabled nor invited: a set of statuses is what it leaves out, or
        // (without active) what it is in.
        let wanted = |s: UserStatus| filter.status.contains(&s);
        let sets = [(UserStatus::Disabled, &members.disabled), (UserStatus::Invited, &members.invited)];
        if !filter.status.is_empty() && !UserStatus::ALL.iter().all(|s| wanted(*s)) {
            if wanted(UserStatus::Active) {
                for (status, set) in sets {
                    if !wanted(status) {
                        conditions.push(Condition::NoneOf(set));
                    }
                }
            } else {
                let sets = sets.iter().filter(|(s, _)| wanted(*s)).map(|(_, set)| *set).collect();
                conditions.push(Condition::AnyOf { sets, also: None });
            }
        }
        for (wanted, set) in [(filter.agent, &members.agents), (filter.supervisor, &members.supervisors)] {
            match wanted {
                Some(true) => conditions.push(Condition::AnyOf { sets: vec![set], also: None }),
                Some(false) => conditions.push(Condition::NoneOf(set)),
                None => {}
            }
        }
        scope_conditions(members, seen, &mut conditions);
        // Smallest set first, so that each intersection is as cheap as it can be.
        conditions.sort_by_key(Condition::bound);
        let mut candidates: Option<RoaringBitmap> = None;
        let mut rest = Vec::new();
        for condition in conditions {
            candidates = match (candidates, &condition) {
                (None, Condition::AnyOf { .. }) => Some(condition.union()),
                (Some(mut c), Condition::AnyOf { sets, also: None }) if sets.len() == 1 => {
                    c &= sets[0];
                    Some(c)
                }
                (Some(c), Condition::AnyOf { .. }) => Some(c & condition.union()),
                (Some(mut c), Condition::NoneOf(set)) => {
                    c -= *set;
                    Some(c)
                }
                (c, _) => {
                    rest.push(condition);
                    c
                }
            };
        }
        Plan { candidates, rest, locked_after: filter.locked.then_some(now) }
    }

    fn passes(&self, members: &Members, slot: u32) -> bool {
        self.candidates.as_ref().is_none_or(|c| c.contains(slot)) && self.passes_rest(members, slot)
    }

    /// What the candidates' bitmap does not say.
    fn passes_rest(&self, members: &Members, slot: u32) -> bool {
        self.rest.iter().all(|c| c.holds(members, slot))
            && self.locked_after.is_none_or(|now| members.locked_until.get(&slot).is_some_and(|t| *t > now))
    }
}

/// D8: what `seen` adds to a page's conditions.
fn scope_conditions<'a>(members: &'a Members, seen: &Seen, out: &mut Vec<Condition<'a>>) {
    match seen {
        Seen::All => {}
        Seen::SharingDesksWith(me) => {
            let me = members.slot(*me);
            let sets = match me {
                Some(me) => members.linked[DESKS].values().filter(|d| d.contains(me)).collect(),
                None => Vec::new(),
            };
            out.push(Condition::AnyOf { sets, also: me });
        }
        Seen::Only(me) => out.push(Condition::AnyOf { sets: Vec::new(), also: members.slot(*me) }),
        Seen::CompanyOf { me, company } => {
            out.push(Condition::Company { me: members.slot(*me), company: company.to_ascii_lowercase() })
        }
        Seen::Both(a, b) => {
            scope_conditions(members, a, out);
            scope_conditions(members, b, out);
        }
    }
}

/// Sorting `n` candidates against walking the login order until a page of them turns up
/// (about `total / n` users walked per match, each a bitmap probe).
fn gather_is_cheaper(n: u64, total: u64, limit: usize) -> bool {
    let n = n.max(1);
    let walk = total.min((limit as u64 + 1).saturating_mul(total) / n);
    // A sorted candidate costs a comparison per level of the sort, a walked one a probe.
    let gather = n.saturating_mul(u64::from(64 - n.leading_zeros()) + 4);
    gather < walk
}

fn filter_links(filter: &UserFilter) -> [Vec<i64>; 5] {
    [
        filter.role.iter().map(|i| i.0).collect(),
        filter.group.iter().map(|i| i.0).collect(),
        filter.desk.iter().map(|i| i.0).collect(),
        filter.skill.iter().map(|i| i.0).collect(),
        filter.queue.iter().map(|i| i.0).collect(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{DeskId, RoleId};
    use crate::model::user::{Assignments, UserRecord};

    fn row(id: i64, login_key: &str, status: UserStatus, desks: Vec<i64>, roles: Vec<i64>) -> MemberRow {
        MemberRow {
            id: UserId(id),
            login_key: login_key.into(),
            status,
            locked_until: None,
            end_user_company: None,
            links: [roles, vec![], desks, vec![], vec![]],
            is_agent: false,
            is_supervisor: false,
        }
    }

    /// 400 users with links spread so that some filters gather few candidates and others walk.
    fn members() -> Members {
        let mut m = Members::new(Mark::Sqlite { seq: 0 }, SecuritySettings::default(), 0);
        let mut seed: u64 = 7;
        let mut next = |n: u64| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        for i in 0..400i64 {
            let status = match next(7) {
                0 => UserStatus::Disabled,
                1 => UserStatus::Invited,
                _ => UserStatus::Active,
            };
            // Desk 1 is large, desks 2 and 3 small; role 9 rare.
            let desks = match next(20) {
                0 => vec![2],
                1 => vec![3, 1],
                _ => vec![1],
            };
            let roles = if next(30) == 0 { vec![9] } else { vec![8] };
            let mut r = row(1000 - i, &format!("user-{:03}-{i}", next(1000)), status, desks, roles);
            r.locked_until = (next(10) == 0).then_some(500);
            r.end_user_company = (next(4) == 0).then(|| ["acme", "globex"][next(2) as usize].to_string());
            m.add(r);
        }
        m.sort();
        m
    }

    /// Every user, in login order, with what a check of one user at a time needs.
    fn each(m: &Members) -> Vec<(u32, String)> {
        let mut all: Vec<(u32, String)> =
            m.slot_of.values().map(|s| (*s, String::from_utf8(m.keys.get(*s).to_vec()).unwrap())).collect();
        all.sort_by(|a, b| a.1.cmp(&b.1));
        all
    }

    fn desks_of(m: &Members, slot: u32) -> Vec<i64> {
        m.linked[DESKS].iter().filter(|(_, s)| s.contains(slot)).map(|(d, _)| *d).collect()
    }

    /// What a page must be: every user checked on their own, in login order.
    fn brute(m: &Members, seen: &Seen, f: &UserFilter, after: Option<&str>, limit: usize) -> (Vec<UserId>, bool) {
        fn covers(m: &Members, seen: &Seen, slot: u32) -> bool {
            let id = m.ids[slot as usize];
            match seen {
                Seen::All => true,
                Seen::Only(me) => id == *me,
                Seen::SharingDesksWith(me) => {
                    let mine = m.slot(*me).map(|s| desks_of(m, s)).unwrap_or_default();
                    id == *me || desks_of(m, slot).iter().any(|d| mine.contains(d))
                }
                Seen::CompanyOf { me, company } => {
                    id == *me || m.end_user_company.get(&slot).is_some_and(|c| **c == company.to_ascii_lowercase())
                }
                Seen::Both(a, b) => covers(m, a, slot) && covers(m, b, slot),
            }
        }
        let has = |slot: u32, k: usize, want: &[i64]| {
            want.is_empty() || want.iter().any(|id| m.linked[k].get(id).is_some_and(|s| s.contains(slot)))
        };
        let links = filter_links(f);
        let all: Vec<UserId> = each(m)
            .into_iter()
            .filter(|(_, key)| after.is_none_or(|a| key.as_str() > a))
            .filter(|(slot, _)| {
                let status = if m.disabled.contains(*slot) {
                    UserStatus::Disabled
                } else if m.invited.contains(*slot) {
                    UserStatus::Invited
                } else {
                    UserStatus::Active
                };
                (f.status.is_empty() || f.status.contains(&status))
                    && (!f.locked || m.locked_until.get(slot).is_some_and(|t| *t > 100))
                    && (0..5).all(|k| has(*slot, k, &links[k]))
                    && f.agent.is_none_or(|a| a == m.agents.contains(*slot))
                    && f.supervisor.is_none_or(|a| a == m.supervisors.contains(*slot))
                    && covers(m, seen, *slot)
            })
            .map(|(slot, _)| m.ids[slot as usize])
            .collect();
        (all.iter().take(limit).copied().collect(), all.len() > limit)
    }

    fn check_every_page(m: &Members) {
        let lead = m.ids[m.linked[DESKS][&2].iter().next().unwrap() as usize];
        let filters = [
            UserFilter::default(),
            UserFilter { desk: vec![DeskId(1)], ..Default::default() },
            UserFilter { desk: vec![DeskId(2), DeskId(3)], status: vec![UserStatus::Active], ..Default::default() },
            UserFilter { role: vec![RoleId(9)], ..Default::default() },
            UserFilter {
                role: vec![RoleId(8)],
                status: vec![UserStatus::Disabled],
                locked: true,
                ..Default::default()
            },
            UserFilter { status: vec![UserStatus::Active, UserStatus::Disabled], ..Default::default() },
            UserFilter { status: vec![UserStatus::Invited], ..Default::default() },
            UserFilter {
                desk: vec![DeskId(1)],
                status: vec![UserStatus::Active, UserStatus::Invited],
                ..Default::default()
            },
            UserFilter { status: vec![UserStatus::Disabled, UserStatus::Invited], ..Default::default() },
            UserFilter { status: UserStatus::ALL.to_vec(), ..Default::default() },
            UserFilter { desk: vec![DeskId(404)], ..Default::default() },
        ];
        let scopes = [
            Seen::All,
            Seen::SharingDesksWith(lead),
            Seen::Only(lead),
            Seen::CompanyOf { me: lead, company: "ACME".into() },
            Seen::Both(
                Box::new(Seen::SharingDesksWith(lead)),
                Box::new(Seen::CompanyOf { me: lead, company: "acme".into() }),
            ),
        ];
        for seen in &scopes {
            for filter in &filters {
                for limit in [1, 7, 50] {
                    // Follow the pages to the end, as a client would.
                    let mut after: Option<String> = None;
                    loop {
                        if after.is_none() {
                            let everyone = brute(m, seen, filter, None, usize::MAX >> 1).0.len() as u64;
                            assert_eq!(m.count(seen, filter, 100), everyone, "count {seen:?} {filter:?}");
                        }
                        let got = m.select(seen, filter, after.as_deref(), limit, 100);
                        let want = brute(m, seen, filter, after.as_deref(), limit);
                        assert_eq!(got, want, "{seen:?} {filter:?} limit {limit} after {after:?}");
                        if !got.1 {
                            break;
                        }
                        after = Some(String::from_utf8(m.keys.get(m.slot_of[got.0.last().unwrap()]).to_vec()).unwrap());
                    }
                }
            }
        }
    }

    #[test]
    fn every_page_matches_a_check_of_every_user() {
        check_every_page(&members());
    }

    #[test]
    fn pages_stay_right_after_users_change_move_and_go() {
        let mut m = members();
        let ids: Vec<UserId> = m.slot_of.keys().copied().collect();
        // One user renamed to the end, one moved to desk 2, then many at once, some deleted.
        let first = ids[0];
        m.update(vec![row(first.0, "zz-last", UserStatus::Active, vec![2], vec![9])], &[]);
        check_every_page(&m);
        let changed: Vec<MemberRow> = ids[1..60]
            .iter()
            .enumerate()
            .map(|(i, id)| row(id.0, &format!("moved-{i:02}"), UserStatus::Disabled, vec![3], vec![8]))
            .collect();
        m.update(changed, &ids[60..90]);
        assert_eq!(m.len(), 370);
        assert_eq!(m.order.len(), 370);
        check_every_page(&m);
        // New users take the freed slots.
        m.update(
            (0..30).map(|i| row(5000 + i, &format!("new-{i}"), UserStatus::Active, vec![1], vec![8])).collect(),
            &[],
        );
        assert_eq!(m.ids.len(), 400, "slots reused");
        check_every_page(&m);
    }

    #[test]
    fn the_key_arena_compacts_and_keeps_every_key() {
        let mut keys = Keys::default();
        let mut written = 0;
        for round in 0..40 {
            for slot in 0..2000u32 {
                let key = format!("user-{slot}-{round}-{}", "x".repeat(20));
                written += key.len();
                keys.set(slot, &key);
            }
        }
        // Garbage is dropped once it passes 1 MiB and half the buffer.
        assert!(keys.bytes.len() < (1 << 20) + written / 40 * 2, "{} of {written} bytes kept", keys.bytes.len());
        assert_eq!(keys.get(1234), format!("user-1234-39-{}", "x".repeat(20)).as_bytes());
    }

    #[test]
    fn a_record_read_before_a_change_is_not_kept() {
        let mut m = members();
        let id = m.ids[m.order[0] as usize];
        let stamp = m.record(id).err().unwrap();
        let record = UserRecord { id, ..UserRecord::sample() };
        let listed = Arc::new(Listed::new(record, Assignments::default()));
        let key = String::from_utf8(m.keys.get(m.slot_of[&id]).to_vec()).unwrap();
        m.update(vec![row(id.0, &key, UserStatus::Disabled, vec![], vec![])], &[]);
        m.keep(id, stamp, &listed);
        assert!(m.record(id).is_err(), "read before the change");
        // Read after the change, but before every record was dropped (a role renamed).
        let stamp = m.record(id).err().unwrap();
        m.forget_records();
        m.keep(id, stamp, &listed);
        assert!(m.record(id).is_err(), "read before the rename");
        m.keep(id, m.record(id).err().unwrap(), &listed);
        assert!(m.record(id).is_ok());
        assert_eq!(m.kept_records, 1);
    }
}
