//! The user list from memory. Every PBX component and every console page lists users; at a
//! million users a page read from the database walks indexes and probes link tables for each
//! user it passes (4–5 ms of server time, issue 11). Here each account's users are kept in
//! login order with what the list filters on (status, lock, links, search text, company), and
//! the users already shown keep their record, so a page is a walk in memory and, for users not
//! shown before, one read by id.
//!
//! Nothing is trusted without asking the database first: every committed change that can alter
//! the list leaves a row in `user_changes`, written by triggers (migration 0008), and each page
//! starts by reading the rows not applied yet (one indexed read, usually empty, shared by the
//! requests that arrive together: see `sync`), then re-reads the users they name. A change
//! committed before a request began is therefore in that request's page, on this instance and
//! on any other sharing the database. Queue member lists and users' call settings are kept on
//! the same terms (`QueueStamp`, `UserStamp`).

mod catalog;
mod journal;
mod journal_connection;
mod members;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use serde_json::value::RawValue;
use sqlx::Row;

use super::grants::Seen;
use super::sql::Sql;
use super::users::{COLUMNS, Link, assignments};
use super::{Conn, Engine};
use crate::ids::{AccountId, UserId};
use crate::model::settings::SecuritySettings;
use crate::model::user::{Assignments, UserRecord, UserStatus};
use crate::model::user_filter::UserFilter;
pub use catalog::AccountCatalog;
pub use journal::prune_changes;
use journal::{Mark, current_mark, read_changes};
pub use journal_connection::JournalConnection;
use members::{MemberRow, Members, Stamp};
pub use members::{Moment, QueueStamp, UserStamp};

/// More changed users than this (and a quarter of the account) are read again as a whole
/// account, which is cheaper than reading them by id.
const REBUILD_ABOVE: usize = 5_000;

/// Ids per `IN (…)` list when re-reading users by id.
const CHUNK: usize = 500;

/// A user the list shows, as read from the database; shared by every page that shows them
/// until they change.
pub struct Listed {
    pub record: UserRecord,
    pub assignments: Assignments,
    /// The user's JSON as the API lists it, made once by the users service from the two fields
    /// above and the page's `settings` (it depends on nothing else that can change without a
    /// `user_changes` row, except a lock's end, which the service does not keep).
    pub rendered: OnceLock<Box<RawValue>>,
    /// Other texts made from the two fields above on the same terms as `rendered`, each under a
    /// key for whatever else it depends on (the console keeps its users table's rows here, one
    /// for each set of actions a viewer is offered).
    pub renderings: Renderings,
}

impl Listed {
    pub fn new(record: UserRecord, assignments: Assignments) -> Listed {
        Listed { record, assignments, rendered: OnceLock::new(), renderings: Renderings::default() }
    }

    /// Whether the user shows a lock at `now`. A lock ends with time, not with a `user_changes`
    /// row: what is made from such a record is made each time, not kept.
    pub fn shows_a_lock(&self, now: crate::clock::Timestamp) -> bool {
        self.record.locked_until.is_some_and(|t| t > now)
    }
}

/// Texts made from a kept record for a few different readers, each under its key. Only the
/// first `Renderings::MOST` keys are kept, for as long as the record is (first come, never
/// replaced): most pages are seen by viewers offered the same actions, and a kept record must
/// not grow without bound.
#[derive(Default)]
pub struct Renderings {
    kept: Mutex<Vec<(u32, Arc<str>)>>,
}

impl Renderings {
    const MOST: usize = 2;

    /// The text kept under `key`, or `make`'s (kept if there is room).
    pub fn get_or_make(&self, key: u32, make: impl FnOnce() -> String) -> Arc<str> {
        if let Some((_, text)) = self.lock().iter().find(|(k, _)| *k == key) {
            return text.clone();
        }
        // Made outside the lock: another reader may make the same text meanwhile, and only the
        // first is kept.
        let text: Arc<str> = make().into();
        let mut kept = self.lock();
        if kept.len() < Self::MOST && !kept.iter().any(|(k, _)| *k == key) {
            kept.push((key, text.clone()));
        }
        text
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(u32, Arc<str>)>> {
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One page: the users in login order, whether more match after them, and the account's
/// security settings as of the same moment (what a password's expiry date is shown from).
pub struct IndexPage {
    pub users: Vec<Arc<Listed>>,
    pub more: bool,
    pub settings: Arc<SecuritySettings>,
}

#[derive(Default)]
pub struct UserIndex {
    accounts: Mutex<HashMap<AccountId, Arc<Slot>>>,
    /// PostgreSQL's connection for the journal's reads (see `journal_connection`).
    journal: Option<JournalConnection>,
}

#[derive(Default)]
struct Slot {
    /// One request at a time reads and applies changes (see `sync`).
    sync: tokio::sync::Mutex<()>,
    members: RwLock<Option<Members>>,
    /// How many times the account was read whole: each build's epochs start past the last's.
    builds: AtomicU64,
    /// Reads of `user_changes` begun, and the number of the last one that ended well: a request
    /// is up to date once one that began after it arrived has ended.
    checks_begun: AtomicU64,
    checks_ended: AtomicU64,
    /// Rung each time a read ends (well or not): the requests waiting for it all wake at once,
    /// rather than one after another through the lock.
    read_ended: tokio::sync::watch::Sender<()>,
}

impl UserIndex {
    /// `journal`: the connection to read `user_changes` on when no other read holds it (on
    /// PostgreSQL); without it, every read is made on the request's or a pooled connection.
    pub fn new(journal: Option<JournalConnection>) -> UserIndex {
        UserIndex { accounts: Mutex::default(), journal }
    }

    /// One page of the account's users that `seen` covers and `filter` matches, in login order
    /// after the login key `after`, `limit` at most.
    pub async fn page(
        &self,
        conn: &mut Conn,
        account: AccountId,
        seen: &Seen,
        filter: &UserFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<IndexPage, sqlx::Error> {
        let slot = self.slot(account);
        // Up to date first, searched or not: what else the request asks of the index
        // (`covers`, `catalog_as_listed`) is answered as of this.
        self.sync(conn, account, &slot).await?;
        // A text search reads the database (a scan either way; the search text is not kept).
        if filter.search().is_some() {
            let mut records = super::users::list(conn, account, seen, filter, after, limit as i64 + 1).await?;
            let more = records.len() > limit;
            records.truncate(limit);
            let ids: Vec<UserId> = records.iter().map(|r| r.id).collect();
            let mut links = assignments(conn, &ids).await?;
            let users = records
                .into_iter()
                .map(|record| {
                    let assignments = links.remove(&record.id).unwrap_or_default();
                    Arc::new(Listed::new(record, assignments))
                })
                .collect();
            let settings =
                slot.members.read().unwrap_or_else(|p| p.into_inner()).as_ref().expect("synced above").settings.clone();
            return Ok(IndexPage { users, more, settings });
        }
        let now = crate::clock::now_ms();
        let (ids, more, mut found, stamps, settings) = {
            let guard = slot.members.read().unwrap_or_else(|p| p.into_inner());
            let members = guard.as_ref().expect("synced above");
            let (ids, more) = members.select(seen, filter, after, limit, now);
            let mut found: HashMap<UserId, Arc<Listed>> = HashMap::new();
            let mut stamps: HashMap<UserId, Stamp> = HashMap::new();
            for id in &ids {
                match members.record(*id) {
                    Ok(listed) => {
                        found.insert(*id, listed);
                    }
                    Err(stamp) => {
                        stamps.insert(*id, stamp);
                    }
                }
            }
            (ids, more, found, stamps, members.settings.clone())
        };
        if !stamps.is_empty() {
            let missing: Vec<UserId> = stamps.keys().copied().collect();
            let read = read_listed(conn, account, &missing).await?;
            let mut guard = slot.members.write().unwrap_or_else(|p| p.into_inner());
            let members = guard.as_mut().expect("synced above");
            for listed in read {
                let id = listed.record.id;
                let listed = Arc::new(listed);
                members.keep(id, stamps[&id], &listed);
                found.insert(id, listed);
            }
        }
        // A user deleted between the walk and the read is left out.
        let users = ids.iter().filter_map(|id| found.remove(id)).collect();
        Ok(IndexPage { users, more, settings })
    }

    /// How many of the account's users `seen` covers and `filter` matches, as of the account's
    /// last update, without asking the database what changed: for a request that has just
    /// listed a page (`page` brought the account up to date).
    pub async fn count_as_listed(
        &self,
        conn: &mut Conn,
        account: AccountId,
        seen: &Seen,
        filter: &UserFilter,
    ) -> Result<i64, sqlx::Error> {
        if filter.search().is_some() {
            let target = crate::model::user_filter::Target::Filter(filter.clone());
            return super::users::count(conn, account, seen, &target).await;
        }
        let slot = self.slot(account);
        let read = || slot.members.read().unwrap_or_else(|p| p.into_inner());
        // Defensive: `page` built the account; nothing unbuilds one.
        if read().is_none() {
            self.sync(conn, account, &slot).await?;
        }
        let guard = read();
        let members = guard.as_ref().expect("synced above");
        Ok(i64::try_from(members.count(seen, filter, crate::clock::now_ms())).unwrap_or(i64::MAX))
    }

    /// The account's catalog (pickers' names, role grants, group roles) as of now: kept with the
    /// users, read again after any change to it.
    pub async fn catalog(&self, conn: &mut Conn, account: AccountId) -> Result<Arc<AccountCatalog>, sqlx::Error> {
        self.sync(conn, account, &self.slot(account)).await?;
        self.catalog_as_listed(conn, account).await
    }

    /// The same as of the account's last update, without asking the database what changed:
    /// for a request that has just listed a page (`page` brought the account up to date), whose
    /// pickers and reach then match its users. Read from the database only if not kept.
    pub async fn catalog_as_listed(
        &self,
        conn: &mut Conn,
        account: AccountId,
    ) -> Result<Arc<AccountCatalog>, sqlx::Error> {
        let slot = self.slot(account);
        let epoch = {
            let guard = slot.members.read().unwrap_or_else(|p| p.into_inner());
            match guard.as_ref() {
                Some(members) => match &members.catalog {
                    Some(catalog) => return Ok(catalog.clone()),
                    None => Some(members.epoch()),
                },
                None => None,
            }
        };
        let catalog = Arc::new(AccountCatalog::read(conn, account).await?);
        let mut guard = slot.members.write().unwrap_or_else(|p| p.into_inner());
        // Not kept if a change to the catalog was applied meanwhile (it may predate it).
        if let Some(members) = guard.as_mut().filter(|m| Some(m.epoch()) == epoch) {
            members.catalog = Some(catalog.clone());
        }
        Ok(catalog)
    }

    /// For each of `seens`, whether it covers each of `ids` (D8), as of the account's last
    /// update: for the users of a page just listed (`page` brought it up to date).
    pub fn covers(&self, account: AccountId, seens: &[Seen], ids: &[UserId]) -> Vec<Vec<bool>> {
        let slot = self.slot(account);
        let guard = slot.members.read().unwrap_or_else(|p| p.into_inner());
        match guard.as_ref() {
            Some(members) => seens.iter().map(|seen| members.covers(seen, ids)).collect(),
            None => seens.iter().map(|_| vec![false; ids.len()]).collect(),
        }
    }

    /// Brings the account up to date, then tells what a member list of `queue` read from the
    /// database from now on must still find to be used: a list kept under an earlier stamp that
    /// equals this one is as current as a read would be.
    pub async fn queue_stamp(
        &self,
        conn: &mut Conn,
        account: AccountId,
        queue: i64,
    ) -> Result<QueueStamp, sqlx::Error> {
        self.synced(conn, account, |members| members.queue_stamp(queue)).await
    }

    /// Brings the account up to date, then tells what something read from the database about
    /// `user` from now on must still find to be used; `None` when there is no such user in the
    /// account.
    pub async fn user_stamp(
        &self,
        conn: &mut Conn,
        account: AccountId,
        user: UserId,
    ) -> Result<Option<UserStamp>, sqlx::Error> {
        self.synced(conn, account, |members| members.user_stamp(user)).await
    }

    /// Brings the account up to date, then tells the account as of then (`None`: there is no
    /// such account) and where its changes stand (`stamp_as_of`).
    ///
    /// The database is read through `store` only if this request is the one to read it: a
    /// request answered from memory (the PBX directory's, on every REGISTER) then takes no
    /// connection at all.
    pub async fn account(
        &self,
        store: &super::Store,
        account: AccountId,
    ) -> Result<(Option<Arc<crate::model::AccountRecord>>, Moment), sqlx::Error> {
        let slot = self.slot(account);
        self.sync_via(Via::Store(store), account, &slot).await?;
        let guard = slot.members.read().unwrap_or_else(|p| p.into_inner());
        let members = guard.as_ref().expect("synced above");
        Ok((members.account.clone(), members.moment()))
    }

    /// The stamp of `user` as of the account's last update, without asking the database what
    /// changed: for a request that has just brought the account up to date.
    pub fn stamp_now(&self, account: AccountId, user: UserId) -> Option<UserStamp> {
        let slot = self.slot(account);
        let guard = slot.members.read().unwrap_or_else(|p| p.into_inner());
        guard.as_ref().and_then(|members| members.user_stamp(user))
    }

    /// The stamp of `user` as it was at `moment`, if nothing was applied to the account since:
    /// what was read about them after `moment` may be kept under it. `None`: something was
    /// applied (keep nothing; the next request reads again), or there is no such user.
    pub fn stamp_as_of(&self, account: AccountId, moment: Moment, user: UserId) -> Option<UserStamp> {
        let slot = self.slot(account);
        let guard = slot.members.read().unwrap_or_else(|p| p.into_inner());
        guard.as_ref().filter(|m| m.moment() == moment).and_then(|members| members.user_stamp(user))
    }

    /// `answer` from the account's users once brought up to date.
    async fn synced<T>(
        &self,
        conn: &mut Conn,
        account: AccountId,
        answer: impl FnOnce(&Members) -> T,
    ) -> Result<T, sqlx::Error> {
        let slot = self.slot(account);
        self.sync(conn, account, &slot).await?;
        let guard = slot.members.read().unwrap_or_else(|p| p.into_inner());
        Ok(answer(guard.as_ref().expect("synced above")))
    }

    /// Brings every account that has users into memory, or up to date; returns how many.
    pub async fn warm(&self, conn: &mut Conn) -> Result<usize, sqlx::Error> {
        let accounts: Vec<i64> = sqlx::query_scalar(
            "SELECT a.id FROM accounts a WHERE EXISTS (SELECT 1 FROM users u WHERE u.account_id = a.id)",
        )
        .fetch_all(&mut *conn)
        .await?;
        for account in &accounts {
            let slot = self.slot(AccountId(*account));
            self.sync(conn, AccountId(*account), &slot).await?;
        }
        Ok(accounts.len())
    }

    fn slot(&self, account: AccountId) -> Arc<Slot> {
        let mut accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        accounts.entry(account).or_default().clone()
    }
}

impl UserIndex {
    /// Brings the account up to date: afterwards every change committed before the call began
    /// is applied. Requests that arrive together share one read of `user_changes`: each waits
    /// for a read that began after it arrived, and makes it itself if none has. Under load (the
    /// PBX asks for every call) one read then answers many requests instead of one each, and a
    /// request still never misses a change committed before it began.
    async fn sync(&self, conn: &mut Conn, account: AccountId, slot: &Slot) -> Result<(), sqlx::Error> {
        self.sync_via(Via::Conn(conn), account, slot).await
    }

    async fn sync_via(&self, via: Via<'_>, account: AccountId, slot: &Slot) -> Result<(), sqlx::Error> {
        // Subscribed first: a read that ends from here on wakes this request.
        let mut ended = slot.read_ended.subscribe();
        // Any read numbered from `need` on begins after this point.
        let need = slot.checks_begun.load(Ordering::SeqCst) + 1;
        loop {
            if slot.checks_ended.load(Ordering::SeqCst) >= need {
                return Ok(());
            }
            // Nobody reading: this request reads, for itself and whoever arrives meanwhile.
            if let Ok(lock) = slot.sync.try_lock() {
                // Ends the read however it ends (a request dropped midway included): the lock
                // freed first, then the waiting requests woken to look again.
                let _reading = Reading { lock: Some(lock), ended: &slot.read_ended };
                if slot.checks_ended.load(Ordering::SeqCst) >= need {
                    return Ok(());
                }
                // Let the requests already under way reach this point first: those that arrive
                // before the read is numbered are answered by it too, so under load one read
                // serves more of them (no timer: only tasks ready to run go first).
                for _ in 0..4 {
                    tokio::task::yield_now().await;
                }
                let number = slot.checks_begun.fetch_add(1, Ordering::SeqCst) + 1;
                let read = apply_changes(self.journal.as_ref(), via, account, slot).await;
                if read.is_ok() {
                    slot.checks_ended.store(number, Ordering::SeqCst);
                }
                // Well or not, the waiting requests look again (after a failed read, one of them
                // reads in its turn).
                return read;
            }
            // Someone is reading: wait for that read to end, then look again. (A read that
            // began before this request arrived does not do; the next one will.) The sender
            // lives in the slot this call borrows, so the wait cannot fail.
            let _ = ended.changed().await;
        }
    }
}

/// Where a read of the account gets its connection: the request's, or one taken from the store
/// only when this request is the one to read (under load most share another's read and need
/// none), and only once the journal's own connection could not answer alone.
enum Via<'a> {
    Conn(&'a mut Conn),
    Store(&'a super::Store),
    Pooled(super::Read),
}

impl Via<'_> {
    async fn conn(&mut self) -> Result<&mut Conn, sqlx::Error> {
        if let Via::Store(store) = self {
            let store = *store;
            *self = Via::Pooled(store.read().await?);
        }
        Ok(match self {
            Via::Conn(conn) => conn,
            Via::Pooled(read) => read,
            Via::Store(_) => unreachable!("replaced by a pooled connection above"),
        })
    }
}

/// One request's read of `user_changes` for its account, under the slot's lock.
struct Reading<'a> {
    lock: Option<tokio::sync::MutexGuard<'a, ()>>,
    ended: &'a tokio::sync::watch::Sender<()>,
}

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        self.lock.take();
        self.ended.send_replace(());
    }
}

/// Applies what changed since the account was last brought up to date, or reads it whole. One
/// caller at a time (an older re-read applied after a newer one would undo it). The journal is
/// read on `journal` when it is free; whatever else must be read, on `via`.
async fn apply_changes(
    journal: Option<&JournalConnection>,
    mut via: Via<'_>,
    account: AccountId,
    slot: &Slot,
) -> Result<(), sqlx::Error> {
    let current = {
        let guard = slot.members.read().unwrap_or_else(|p| p.into_inner());
        guard.as_ref().map(|m| (m.mark.clone(), m.len()))
    };
    let Some((mark, size)) = current else {
        let members = build(via.conn().await?, account, slot).await?;
        *slot.members.write().unwrap_or_else(|p| p.into_inner()) = Some(members);
        return Ok(());
    };
    let changes = match journal.and_then(JournalConnection::try_hold) {
        Some(held) => held.read_changes(account, &mark, read_limit(size)).await?,
        None => read_changes(via.conn().await?, account, &mark, read_limit(size)).await?,
    };
    if changes.users.is_empty() && !changes.everyone && !changes.read_whole {
        // On PostgreSQL the snapshot moves on even when no row came: keep the newer one, so
        // that the next read starts later and pruning never passes it.
        if let Some(members) = slot.members.write().unwrap_or_else(|p| p.into_inner()).as_mut() {
            members.mark = changes.mark;
        }
        return Ok(());
    }
    let conn = via.conn().await?;
    if changes.read_whole || changes.users.len() > most_changed(size) {
        let members = build(conn, account, slot).await?;
        *slot.members.write().unwrap_or_else(|p| p.into_inner()) = Some(members);
        return Ok(());
    }
    let ids: Vec<UserId> = changes.users.iter().copied().collect();
    let mut rows = Vec::with_capacity(ids.len());
    read_members(conn, account, Some(&ids), |row| rows.push(row)).await?;
    let found: HashSet<UserId> = rows.iter().map(|r| r.id).collect();
    let gone: Vec<UserId> = ids.into_iter().filter(|id| !found.contains(id)).collect();
    let record = match changes.everyone {
        true => Some(read_account(conn, account).await?),
        false => None,
    };
    let mut guard = slot.members.write().unwrap_or_else(|p| p.into_inner());
    let members = guard.as_mut().expect("read above");
    if let Some(record) = record {
        members.forget_records();
        members.settings = Arc::new(record.as_ref().map(|a| a.security.clone()).unwrap_or_default());
        members.account = record.map(Arc::new);
    }
    members.update(rows, &gone);
    members.mark = changes.mark;
    Ok(())
}

/// More changed users than this means a mass change (an import, a bulk action on most of the
/// account): reading the account whole is cheaper than reading them by id.
fn most_changed(size: usize) -> usize {
    (size / 4).max(REBUILD_ABOVE)
}

/// How many `user_changes` rows to read at most before reading the account whole instead.
fn read_limit(size: usize) -> i64 {
    most_changed(size) as i64 * 2
}

async fn build(conn: &mut Conn, account: AccountId, slot: &Slot) -> Result<Members, sqlx::Error> {
    // The mark first: whatever commits while the users are read is applied again next time.
    let mark = current_mark(conn).await?;
    let record = read_account(conn, account).await?;
    let settings = record.as_ref().map(|a| a.security.clone()).unwrap_or_default();
    let first_epoch = (slot.builds.fetch_add(1, Ordering::Relaxed) + 1) << 32;
    let mut members = Members::new(mark, settings, first_epoch);
    members.account = record.map(Arc::new);
    read_members(conn, account, None, |row| members.add(row)).await?;
    members.sort();
    Ok(members)
}

async fn read_account(conn: &mut Conn, account: AccountId) -> Result<Option<crate::model::AccountRecord>, sqlx::Error> {
    super::accounts::by_id(conn, account).await
}

/// The filter data of the account's users (all of them, or those among `ids`), handed to `each`
/// row by row as it is read: a million users are never all held as rows at once. Each row
/// carries its links as comma lists, so a user is one row, not one per link.
async fn read_members(
    conn: &mut Conn,
    account: AccountId,
    ids: Option<&[UserId]>,
    mut each: impl FnMut(MemberRow),
) -> Result<(), sqlx::Error> {
    use futures::TryStreamExt;
    let chunks: Vec<Option<&[UserId]>> = match ids {
        None => vec![None],
        Some([]) => vec![],
        Some(ids) => ids.chunks(CHUNK).map(Some).collect(),
    };
    let engine = Engine::of(conn);
    for chunk in chunks {
        let mut sql = Sql::new(
            "SELECT u.id, u.login_key, u.status, u.locked_until, u.is_end_user, u.company, u.is_agent, u.is_supervisor",
        );
        for link in Link::LISTED {
            let column = format!("j.{}", link.column());
            // The one function the engines spell differently.
            let list = match engine {
                Engine::Sqlite => format!("group_concat({column})"),
                Engine::Postgres => format!("string_agg({column}::text, ',')"),
            };
            sql.push(&format!(", (SELECT {list} FROM {} j WHERE j.user_id = u.id)", link.join_table()));
        }
        sql.push(" FROM users u WHERE u.account_id = ").bind(account.0);
        restrict_to(&mut sql, "u.id", chunk);
        let mut rows = sql.query().fetch(&mut *conn);
        while let Some(row) = rows.try_next().await? {
            let status: String = row.try_get(2)?;
            let end_user: crate::model::Flag = row.try_get(4)?;
            let company: Option<String> = row.try_get(5)?;
            let is_agent: crate::model::Flag = row.try_get(6)?;
            let is_supervisor: crate::model::Flag = row.try_get(7)?;
            let mut links: [Vec<i64>; 5] = Default::default();
            for (k, list) in links.iter_mut().enumerate() {
                let text: Option<String> = row.try_get(8 + k)?;
                for id in text.as_deref().unwrap_or_default().split(',').filter(|s| !s.is_empty()) {
                    list.push(id.parse().map_err(|_| sqlx::Error::Decode(format!("a link id {id:?}").into()))?);
                }
            }
            each(MemberRow {
                id: UserId(row.try_get(0)?),
                login_key: row.try_get(1)?,
                status: UserStatus::parse(&status)
                    .ok_or_else(|| sqlx::Error::Decode(format!("unknown user status {status:?}").into()))?,
                locked_until: row.try_get(3)?,
                end_user_company: company.filter(|_| end_user.0).map(|c| c.to_ascii_lowercase()),
                links,
                is_agent: is_agent.0,
                is_supervisor: is_supervisor.0,
            });
        }
    }
    Ok(())
}

fn restrict_to(sql: &mut Sql, column: &str, ids: Option<&[UserId]>) {
    if let Some(ids) = ids {
        let ids: Vec<i64> = ids.iter().map(|i| i.0).collect();
        sql.push(&format!(" AND {column} IN (")).bind_list(&ids).push(")");
    }
}

/// The records and assignments of users about to be shown for the first time since they changed.
async fn read_listed(conn: &mut Conn, account: AccountId, ids: &[UserId]) -> Result<Vec<Listed>, sqlx::Error> {
    let mut sql = Sql::new(format!("SELECT {COLUMNS} FROM users u WHERE u.account_id = "));
    sql.bind(account.0);
    restrict_to(&mut sql, "u.id", Some(ids));
    let records: Vec<UserRecord> = sql.query_as().fetch_all(&mut *conn).await?;
    let mut links = assignments(conn, ids).await?;
    Ok(records
        .into_iter()
        .map(|record| {
            let assignments = links.remove(&record.id).unwrap_or_default();
            Listed::new(record, assignments)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::Renderings;

    #[test]
    fn renderings_keep_the_first_keys_and_make_the_rest_each_time() {
        let kept = Renderings::default();
        let made = std::cell::Cell::new(0);
        let text = |key: u32| {
            kept.get_or_make(key, || {
                made.set(made.get() + 1);
                format!("row {key}")
            })
        };
        for _ in 0..3 {
            assert_eq!(&*text(1), "row 1");
            assert_eq!(&*text(2), "row 2");
        }
        assert_eq!(made.get(), 2, "the first two keys are made once");
        for _ in 0..3 {
            assert_eq!(&*text(3), "row 3");
        }
        assert_eq!(made.get(), 5, "a third key is made each time, not kept");
    }
}
