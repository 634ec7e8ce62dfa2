//! Reading `user_changes`: which rows an instance has not applied yet, on each engine, and
//! pruning old rows without taking one that a reader still needs.

use std::collections::HashSet;

use sqlx::Row;

use super::super::sql::Sql;
use super::super::{Conn, Engine};
use crate::ids::{AccountId, UserId};

/// How long `user_changes` rows are kept once every transaction that wrote them has ended.
pub const KEEP_CHANGES_SECONDS: i64 = 3600;

/// How far `user_changes` has been read.
#[derive(Debug, Clone)]
pub(super) enum Mark {
    /// SQLite writes one transaction at a time, so rows appear in `seq` order: every row up to
    /// `seq` was read.
    Sqlite { seq: i64 },
    /// PostgreSQL shows rows at commit, not in `seq` order. The snapshot of the last read: every
    /// transaction before `xmax` had ended, except those `running`; what they wrote was read
    /// then. So the next read asks for rows of transactions from `xmax` on and of those running.
    Postgres { xmax: i64, running: Vec<i64> },
}

impl Mark {
    /// Whether pruning (which records below what it deleted) took rows this mark has not read.
    fn lost_rows(&self, pruned_below: i64) -> bool {
        match self {
            Mark::Sqlite { seq } => pruned_below > seq + 1,
            Mark::Postgres { xmax, running } => pruned_below > running.iter().copied().fold(*xmax, i64::min),
        }
    }
}

/// The rows of `user_changes` not read yet.
pub(super) struct Changes {
    pub users: HashSet<UserId>,
    /// A row named no user: what every user shows changed (a role's name, the settings).
    pub everyone: bool,
    /// More rows than were asked for, or rows pruned before they were read: read the account
    /// whole instead.
    pub read_whole: bool,
    pub mark: Mark,
}

/// The mark of "now", taken before an account is read whole: whatever commits while it is read
/// is read again from the journal next time.
pub(super) async fn current_mark(conn: &mut Conn) -> Result<Mark, sqlx::Error> {
    Ok(match Engine::of(conn) {
        Engine::Sqlite => Mark::Sqlite {
            seq: sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM user_changes").fetch_one(&mut *conn).await?,
        },
        Engine::Postgres => {
            let row = sqlx::query(&format!("SELECT {SNAPSHOT}")).fetch_one(&mut *conn).await?;
            postgres_mark(&row)?
        }
    })
}

/// The current snapshot's `xmax` and the transactions it saw running, as `xmax, running`.
const SNAPSHOT: &str = "pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xmax, \
     COALESCE((SELECT string_agg(x::text, ',') FROM pg_snapshot_xip(pg_current_snapshot()) x), '') AS running";

fn postgres_mark(row: &sqlx::any::AnyRow) -> Result<Mark, sqlx::Error> {
    let xmax: i64 = row.try_get("xmax")?;
    let running: String = row.try_get("running")?;
    let running = running
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| sqlx::Error::Decode(format!("a transaction id {s:?}").into())))
        .collect::<Result<_, _>>()?;
    Ok(Mark::Postgres { xmax, running })
}

/// The rows after `mark`, at most `limit` (past it, `read_whole`). No order: they are applied as
/// a set of users.
pub(super) async fn read_changes(
    conn: &mut Conn,
    account: AccountId,
    mark: &Mark,
    limit: i64,
) -> Result<Changes, sqlx::Error> {
    const PRUNED: &str = "(SELECT COALESCE((SELECT below FROM user_changes_pruned WHERE id = 1), 0) AS below) p";
    let mut sql = match mark {
        Mark::Sqlite { seq } => {
            let mut sql = Sql::new(format!(
                "SELECT p.below, c.seq, c.user_id FROM {PRUNED} LEFT JOIN user_changes c ON c.account_id = "
            ));
            sql.bind(account.0).push(" AND c.seq > ").bind(*seq);
            sql
        }
        // The snapshot comes from the statement that reads the rows, so "every transaction
        // before xmax had ended, but those running" holds for exactly what this read saw.
        Mark::Postgres { xmax, running } => {
            let mut sql = Sql::new(format!(
                "SELECT p.below, c.seq, c.user_id, {SNAPSHOT} FROM {PRUNED} \
                 LEFT JOIN user_changes c ON c.account_id = "
            ));
            sql.bind(account.0).push(" AND (c.xid >= ").bind(*xmax);
            if !running.is_empty() {
                sql.push(" OR c.xid IN (").bind_list(running).push(")");
            }
            sql.push(")");
            sql
        }
    };
    sql.push(" LIMIT ").bind(limit);
    // Every page asks this: kept prepared on both engines (its plan is one index range whatever
    // the values; its text varies only with the number of transactions running).
    let rows = sql.query().persistent(true).fetch_all(&mut *conn).await?;
    let mut changes = Changes { users: HashSet::new(), everyone: false, read_whole: false, mark: mark.clone() };
    let mut last_seq = match mark {
        Mark::Sqlite { seq } => *seq,
        Mark::Postgres { .. } => 0,
    };
    for row in &rows {
        let below: i64 = row.try_get(0)?;
        changes.read_whole |= mark.lost_rows(below);
        let Some(seq) = row.try_get::<Option<i64>, _>(1)? else { continue };
        last_seq = last_seq.max(seq);
        match row.try_get::<Option<i64>, _>(2)? {
            Some(user) => {
                changes.users.insert(UserId(user));
            }
            None => changes.everyone = true,
        }
    }
    changes.read_whole |= rows.len() as i64 >= limit;
    changes.mark = match mark {
        Mark::Sqlite { .. } => Mark::Sqlite { seq: last_seq },
        Mark::Postgres { .. } => match rows.first() {
            Some(row) => postgres_mark(row)?,
            None => mark.clone(),
        },
    };
    Ok(changes)
}

/// Deletes the rows older than `KEEP_CHANGES_SECONDS` whose transactions have all ended, and
/// records below what it deleted, so that a reader that had not read them yet reads its account
/// whole instead of missing them. Returns how many rows went.
pub async fn prune_changes(conn: &mut Conn, now_seconds: i64) -> Result<u64, sqlx::Error> {
    let cutoff = now_seconds - KEEP_CHANGES_SECONDS;
    // The first position still kept: by `seq` on SQLite, by transaction id on PostgreSQL, never
    // past a transaction still running (its rows may not even be visible yet).
    let (below, column): (i64, &str) = match Engine::of(conn) {
        Engine::Sqlite => (
            sqlx::query_scalar(
                "SELECT COALESCE((SELECT MIN(seq) FROM user_changes WHERE at >= $1), \
                 (SELECT COALESCE(MAX(seq), 0) + 1 FROM user_changes))",
            )
            .bind(cutoff)
            .fetch_one(&mut *conn)
            .await?,
            "seq",
        ),
        Engine::Postgres => (
            sqlx::query_scalar(
                "SELECT LEAST(pg_snapshot_xmin(pg_current_snapshot())::text::bigint, \
                 COALESCE((SELECT MIN(xid) FROM user_changes WHERE at >= $1), \
                 pg_snapshot_xmin(pg_current_snapshot())::text::bigint))",
            )
            .bind(cutoff)
            .fetch_one(&mut *conn)
            .await?,
            "xid",
        ),
    };
    // The last row stays: on SQLite `seq` is the rowid, which would start again from an empty table.
    let done = sqlx::query(&format!(
        "DELETE FROM user_changes WHERE {column} < $1 AND seq < (SELECT MAX(seq) FROM user_changes)"
    ))
    .bind(below)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE user_changes_pruned SET below = $1 WHERE id = 1 AND below < $1")
        .bind(below)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_lost_rows_when_pruning_passed_what_it_had_not_read() {
        let sqlite = Mark::Sqlite { seq: 10 };
        assert!(!sqlite.lost_rows(0));
        assert!(!sqlite.lost_rows(11), "every row up to 10 was read; 11 is the next");
        assert!(sqlite.lost_rows(12));
        // Transactions 90 and 95 were running at the last read; 100 and later had not begun.
        let postgres = Mark::Postgres { xmax: 100, running: vec![95, 90] };
        assert!(!postgres.lost_rows(90));
        assert!(postgres.lost_rows(91), "a row of transaction 90 may be gone");
        assert!(Mark::Postgres { xmax: 100, running: vec![] }.lost_rows(101));
        assert!(!Mark::Postgres { xmax: 100, running: vec![] }.lost_rows(100));
    }
}
