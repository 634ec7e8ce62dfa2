//! The PBX directory's reads: a user by the name their phone authenticates with or by their
//! extension, the names deleted users answered to, and what each API token asked of the
//! directory (counted in memory, written in batches).

use std::collections::HashMap;
use std::sync::Mutex;

use super::Conn;
use super::users::COLUMNS;
use crate::ids::AccountId;
use crate::model::user::UserRecord;

/// How the directory is asked for a user.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DirectoryKey {
    /// The name the phone authenticates with: the SIP user name, or the extension when the user
    /// has none (`users.sip_name`, unique in the account).
    SipName(String),
    Extension(String),
}

impl DirectoryKey {
    fn column(&self) -> &'static str {
        match self {
            DirectoryKey::SipName(_) => "sip_name",
            DirectoryKey::Extension(_) => "extension",
        }
    }

    pub fn name(&self) -> &str {
        match self {
            DirectoryKey::SipName(n) | DirectoryKey::Extension(n) => n,
        }
    }
}

/// The account's user answering to `key`.
pub async fn find(conn: &mut Conn, account: AccountId, key: &DirectoryKey) -> Result<Option<UserRecord>, sqlx::Error> {
    if !super::may_be_stored(key.name()) {
        return Ok(None);
    }
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users u WHERE u.account_id = $1 AND u.{} = $2", key.column()))
        .bind(account.0)
        .bind(key.name())
        .fetch_optional(&mut *conn)
        .await
}

/// Whether a deleted user of the account answered to `key` (migration 0015's trigger keeps
/// their names).
pub async fn departed(conn: &mut Conn, account: AccountId, key: &DirectoryKey) -> Result<bool, sqlx::Error> {
    if !super::may_be_stored(key.name()) {
        return Ok(false);
    }
    let id: Option<i64> =
        sqlx::query_scalar("SELECT user_id FROM departed_sip_names WHERE account_id = $1 AND kind = $2 AND name = $3")
            .bind(account.0)
            .bind(key.column())
            .bind(key.name())
            .fetch_optional(&mut *conn)
            .await?;
    Ok(id.is_some())
}

/// How a lookup was answered, as a token's counts keep it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    Allowed,
    NotAllowed,
    Unknown,
}

/// One token's lookups not written yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub lookups: i64,
    pub not_allowed: i64,
    pub unknown: i64,
    pub last_at: i64,
}

/// Each token's lookups since they were last written: the directory is asked on every REGISTER
/// and INVITE, so a lookup adds to a count in memory, not a row.
#[derive(Default)]
pub struct DirectoryUsage {
    pending: Mutex<HashMap<i64, Counts>>,
}

impl DirectoryUsage {
    pub fn count(&self, token: i64, answered: Answered, now: i64) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let counts = pending.entry(token).or_default();
        counts.lookups += 1;
        match answered {
            Answered::Allowed => {}
            Answered::NotAllowed => counts.not_allowed += 1,
            Answered::Unknown => counts.unknown += 1,
        }
        counts.last_at = counts.last_at.max(now);
    }

    pub fn take(&self) -> HashMap<i64, Counts> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Puts counts back whose writing failed, so that they are written next time.
    pub fn restore(&self, counts: HashMap<i64, Counts>) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        for (token, c) in counts {
            let kept = pending.entry(token).or_default();
            kept.lookups += c.lookups;
            kept.not_allowed += c.not_allowed;
            kept.unknown += c.unknown;
            kept.last_at = kept.last_at.max(c.last_at);
        }
    }
}

/// Adds the lookups counted on this instance since the last time to the tokens' totals (every
/// few seconds, at shutdown, and before tokens are shown); counts whose writing fails are kept
/// for the next time.
pub async fn write_usage(store: &super::Store) -> Result<(), sqlx::Error> {
    let usage = store.directory_usage();
    let counts = usage.take();
    if counts.is_empty() {
        return Ok(());
    }
    let written = async {
        let mut tx = store.begin().await?;
        tx.affects(super::Affects::Nothing);
        add_usage(tx.conn(), &counts).await?;
        tx.commit().await
    }
    .await;
    if written.is_err() {
        usage.restore(counts);
    }
    written
}

/// Adds counts to the tokens' totals.
async fn add_usage(conn: &mut Conn, counts: &HashMap<i64, Counts>) -> Result<(), sqlx::Error> {
    let mut tokens: Vec<(&i64, &Counts)> = counts.iter().collect();
    // In one order on every instance, so that two flushes never wait on each other's rows.
    tokens.sort_unstable_by_key(|(id, _)| **id);
    for (token, c) in tokens {
        sqlx::query(
            "UPDATE api_tokens SET directory_lookups = directory_lookups + $1, \
             directory_not_allowed = directory_not_allowed + $2, directory_unknown = directory_unknown + $3, \
             directory_last_at = CASE WHEN directory_last_at IS NULL OR directory_last_at < $4 THEN $4 \
             ELSE directory_last_at END WHERE id = $5",
        )
        .bind(c.lookups)
        .bind(c.not_allowed)
        .bind(c.unknown)
        .bind(c.last_at)
        .bind(*token)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_per_token_and_come_back_after_a_failed_write() {
        let usage = DirectoryUsage::default();
        usage.count(7, Answered::Allowed, 10);
        usage.count(7, Answered::NotAllowed, 30);
        usage.count(7, Answered::Unknown, 20);
        usage.count(8, Answered::Allowed, 5);
        let taken = usage.take();
        assert_eq!(taken[&7], Counts { lookups: 3, not_allowed: 1, unknown: 1, last_at: 30 });
        assert_eq!(taken[&8], Counts { lookups: 1, not_allowed: 0, unknown: 0, last_at: 5 });
        assert!(usage.take().is_empty(), "taken once");
        usage.count(8, Answered::Unknown, 50);
        usage.restore(taken);
        let again = usage.take();
        assert_eq!(again[&8], Counts { lookups: 2, not_allowed: 0, unknown: 1, last_at: 50 });
        assert_eq!(again[&7].lookups, 3);
    }
}
