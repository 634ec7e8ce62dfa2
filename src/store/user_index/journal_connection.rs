//! PostgreSQL's own connection for reading `user_changes`, outside the pool.
//!
//! Every request that must be current reads the journal first (shared by the requests that
//! arrive together), so under load it is the most frequent statement by far: the PBX directory
//! asks it for every REGISTER and INVITE. On a pooled connection it cost more than it needed:
//! - PostgreSQL planned it afresh at every execution. The values decide its best plan (the
//!   rows past a transaction id are few; a generic plan assumes a third of the table), so the
//!   plan cache kept choosing custom plans, and planning was over half of PostgreSQL's CPU per
//!   directory lookup. Here the session uses the generic plan, with index scans only, which
//!   walk the (account, xid) index from the mark: the same few rows whatever the values.
//! - sqlx pings every connection given back to the pool, one more round trip per read.
//!
//! One read at a time holds it; a read that finds it taken (another account's) uses a pooled
//! connection as before. SQLite has none: its reads are calls into the same process.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::any::AnyConnectOptions;
use sqlx::{Connection, Executor};

use super::super::Conn;
use super::journal::{Changes, Mark, read_changes};
use crate::ids::AccountId;

/// The session settings of the journal's connection: the generic plan (planned once, then
/// executed), reached through indexes whatever the table's statistics say; and a name, for
/// `pg_stat_activity`.
const SESSION: &str = "SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off; \
     SET application_name = 'roster: user changes'";

pub struct JournalConnection {
    options: AnyConnectOptions,
    /// The connection while no read holds it; `None` before the first read, while one holds it,
    /// and after a read failed or was abandoned midway (the next read connects afresh).
    idle: Mutex<Option<Conn>>,
    busy: AtomicBool,
}

/// A read's hold on the journal's connection; lets it go however the read ends.
pub(super) struct Held<'a> {
    owner: &'a JournalConnection,
    conn: Option<Conn>,
    /// Whether `conn` served an earlier read (it may have been dropped by the server since).
    reused: bool,
}

impl JournalConnection {
    pub fn new(options: AnyConnectOptions) -> JournalConnection {
        JournalConnection { options, idle: Mutex::new(None), busy: AtomicBool::new(false) }
    }

    /// The connection, unless another read holds it.
    pub(super) fn try_hold(&self) -> Option<Held<'_>> {
        if self.busy.swap(true, Ordering::AcqRel) {
            return None;
        }
        let conn = self.idle.lock().unwrap_or_else(|p| p.into_inner()).take();
        Some(Held { owner: self, reused: conn.is_some(), conn })
    }
}

impl Held<'_> {
    /// The rows of `account`'s journal past `mark` (see `journal::read_changes`), read on the
    /// connection (opened first if need be). A read that fails on a connection kept from before
    /// is tried once more on a new one: the server may have closed the old one while it was
    /// idle (a restart, an idle timeout), which is no reason to fail a request. Kept for the
    /// next read only if this one succeeded.
    pub(super) async fn read_changes(
        mut self,
        account: AccountId,
        mark: &Mark,
        limit: i64,
    ) -> Result<Changes, sqlx::Error> {
        loop {
            let mut conn = match self.conn.take() {
                Some(conn) => conn,
                None => {
                    let mut conn = Conn::connect_with(&self.owner.options).await?;
                    conn.execute(SESSION).await?;
                    conn
                }
            };
            match read_changes(&mut conn, account, mark, limit).await {
                Ok(changes) => {
                    self.conn = Some(conn);
                    return Ok(changes);
                }
                Err(error) if self.reused => {
                    tracing::debug!(%error, "the journal's connection failed; reading on a new one");
                    self.reused = false;
                }
                Err(error) => return Err(error),
            }
        }
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        // A connection left midway (the read's request was dropped) is not given back: what the
        // server still has to send would be read as the next read's answer.
        if let Some(conn) = self.conn.take() {
            *self.owner.idle.lock().unwrap_or_else(|p| p.into_inner()) = Some(conn);
        }
        self.owner.busy.store(false, Ordering::Release);
    }
}
