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

use sqlx::any::AnyConnectOptions;
use sqlx::{Connection, Executor};
use tokio::sync::{Mutex, MutexGuard};

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
    /// Locked by the read that uses it. `None` before the first read, and after a read failed or
    /// was abandoned midway: the connection is taken out while a read runs and put back only when
    /// it succeeded, since what the server still had to send a dropped read would be read as the
    /// next read's answer.
    conn: Mutex<Option<Conn>>,
}

/// A read's hold on the journal's connection.
pub(super) struct Held<'a> {
    conn: MutexGuard<'a, Option<Conn>>,
    options: &'a AnyConnectOptions,
}

impl JournalConnection {
    pub fn new(options: AnyConnectOptions) -> JournalConnection {
        JournalConnection { options, conn: Mutex::new(None) }
    }

    /// The connection, unless another read holds it.
    pub(super) fn try_hold(&self) -> Option<Held<'_>> {
        let conn = self.conn.try_lock().ok()?;
        Some(Held { conn, options: &self.options })
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
        let mut reused = self.conn.is_some();
        loop {
            let mut conn = match self.conn.take() {
                Some(conn) => conn,
                None => {
                    let mut conn = Conn::connect_with(self.options).await?;
                    conn.execute(SESSION).await?;
                    conn
                }
            };
            match read_changes(&mut conn, account, mark, limit).await {
                Ok(changes) => {
                    *self.conn = Some(conn);
                    return Ok(changes);
                }
                Err(error) if reused => {
                    tracing::debug!(%error, "the journal's connection failed; reading on a new one");
                    reused = false;
                }
                Err(error) => return Err(error),
            }
        }
    }
}
