//! The store: every SQL statement of Roster lives below this module. SQLite and PostgreSQL
//! share one code path through sqlx's `Any` driver; SQL is written in their common dialect
//! (`$n` placeholders, `RETURNING`, BIGINT milliseconds for time). Where the engines truly
//! differ (migrations, connection set-up, write serialisation) the branch is here and only here.

pub mod access_rules;
pub mod accounts;
pub mod activity;
pub mod api_tokens;
pub mod backup;
pub mod batch;
pub mod bulk;
pub mod calls;
pub mod captcha;
pub mod challenges;
pub mod directory;
pub mod grants;
pub mod invalidation;
pub mod invitations;
pub mod kept;
pub mod lifecycle;
pub mod mail;
pub mod named;
pub mod observe;
pub mod password_history;
pub mod password_resets;
pub mod queues;
pub mod reach;
pub mod sealed;
pub mod second_factor;
pub mod session_cache;
pub mod sessions;
pub mod sign_in_failures;
pub mod sql;
pub mod sso;
pub mod user_index;
pub mod users;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Connection, Executor};
use tokio::sync::{Mutex, OwnedMutexGuard};

pub use invalidation::{Affects, Invalidations};

pub use sqlx::AnyConnection as Conn;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// The engine behind a connection, so that a store function that must write SQL for one
    /// engine (a locking read, a claim) needs nothing from its caller.
    pub(crate) fn of(conn: &Conn) -> Engine {
        match conn.backend_name() {
            "PostgreSQL" => Engine::Postgres,
            "SQLite" => Engine::Sqlite,
            // `Store::connect` installs and accepts these two drivers only.
            other => unreachable!("a connection to an engine Roster does not support: {other}"),
        }
    }

    /// What makes a `SELECT` lock the rows it reads until the transaction ends. SQLite needs
    /// nothing: a write transaction holds the one write lock (`Store::begin`).
    pub(crate) fn row_lock(self) -> &'static str {
        match self {
            Engine::Postgres => " FOR UPDATE",
            Engine::Sqlite => "",
        }
    }

    pub fn from_url(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Engine::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Engine::Postgres)
        } else {
            anyhow::bail!("unsupported database URL {url:?}: use sqlite://PATH or postgres://…")
        }
    }
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    engine: Engine,
    /// SQLite allows one writer; taking this lock before a write transaction turns
    /// "database is locked" races into an orderly queue. PostgreSQL needs none.
    write_lock: Option<Arc<Mutex<()>>>,
    invalidations: Arc<Invalidations>,
    /// The user list's memory (see `user_index`), shared by every clone of the store.
    user_index: Arc<user_index::UserIndex>,
    /// Reads kept in front of the store under the user list's stamps (see `kept`).
    kept: Arc<kept::Kept>,
    /// Each API token's directory lookups not written yet (see `directory`).
    directory_usage: Arc<directory::DirectoryUsage>,
}

/// A write transaction. Dropping it without `commit` rolls everything back.
pub struct Tx {
    inner: sqlx::Transaction<'static, Any>,
    _write_guard: Option<OwnedMutexGuard<()>>,
    affects: Affects,
    invalidations: Arc<Invalidations>,
    timer: Held,
    /// What to do once the transaction has committed (and never if it does not): counting a
    /// figure about the change, so that a rolled-back change is not counted.
    after_commit: Vec<Box<dyn FnOnce() + Send>>,
}

/// A read connection; it derefs to the connection the store's functions take.
pub struct Read {
    conn: PoolConnection<Any>,
    _timer: Held,
}

impl std::ops::Deref for Read {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.conn
    }
}

impl std::ops::DerefMut for Read {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.conn
    }
}

/// How long a connection was held — a read, or a write transaction until commit or rollback —
/// recorded when it is given back (`roster_db_hold_seconds`): the store's statements grouped
/// by the unit of work they run in, measured where every one of them passes.
struct Held {
    since: Instant,
    kind: &'static str,
    committed: bool,
}

impl Held {
    fn start(kind: &'static str, acquire_started: Instant) -> Held {
        let since = Instant::now();
        metrics::histogram!("roster_db_acquire_seconds").record(since.duration_since(acquire_started).as_secs_f64());
        Held { since, kind, committed: false }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let outcome = match (self.kind, self.committed) {
            ("read", _) => "done",
            (_, true) => "commit",
            (_, false) => "rollback",
        };
        metrics::histogram!("roster_db_hold_seconds", "kind" => self.kind, "outcome" => outcome)
            .record(self.since.elapsed().as_secs_f64());
    }
}

impl Tx {
    pub fn conn(&mut self) -> &mut Conn {
        &mut self.inner
    }

    /// Narrows what this transaction makes stale in caches (by default: everything).
    pub fn affects(&mut self, affects: Affects) {
        self.affects = affects;
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        let mut timer = self.timer;
        self.inner.commit().await?;
        timer.committed = true;
        self.invalidations.record(&self.affects);
        for then in self.after_commit {
            then();
        }
        Ok(())
    }

    /// Runs `then` once this transaction has committed; never if it is rolled back.
    pub fn after_commit(&mut self, then: impl FnOnce() + Send + 'static) {
        self.after_commit.push(Box::new(then));
    }
}

/// Whether text typed by a caller can equal a stored value at all. PostgreSQL refuses text with
/// the NUL character as an error (SQLite would store it), and nothing Roster stores holds one:
/// a lookup by such text finds nothing, on both engines, without asking.
pub(crate) fn may_be_stored(text: &str) -> bool {
    !text.contains('\0')
}

/// A pooled connection idle this long is checked before it is handed out.
const CHECK_CONNECTIONS_IDLE_FOR: Duration = Duration::from_secs(1);

impl Store {
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let engine = Engine::from_url(url)?;
        let url = match engine {
            Engine::Sqlite => prepare_sqlite_url(url)?,
            Engine::Postgres => url.to_string(),
        };
        let options: AnyConnectOptions = url.parse().with_context(|| "parsing the database URL")?;
        // SQLite has one writer and every connection keeps its own page cache: a few
        // connections serve its readers as well as many, in far less memory.
        let max_connections = match engine {
            Engine::Sqlite => max_connections.min(6),
            Engine::Postgres => max_connections,
        };
        let pool_options = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            // sqlx checks every connection it hands out by default (a round trip to PostgreSQL,
            // a hop to SQLite's worker thread): a page paid for one per statement group. Only a
            // connection idle for a while is checked (one the database dropped is then replaced
            // rather than failing a request); sqlx still checks each on its way back.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= CHECK_CONNECTIONS_IDLE_FOR {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    match engine {
                        Engine::Sqlite => {
                            conn.execute("PRAGMA foreign_keys = ON").await?;
                            conn.execute("PRAGMA busy_timeout = 10000").await?;
                            conn.execute("PRAGMA synchronous = NORMAL").await?;
                            conn.execute("PRAGMA cache_size = -8000").await?;
                        }
                        // Statements whose plan depends on their values are built with `Sql`,
                        // which does not keep them prepared (see there); the fixed ones keep
                        // their cached plans, which the sign-in and session paths rely on.
                        Engine::Postgres => {}
                    }
                    Ok(())
                })
            });
        // PostgreSQL reads the user list's journal on a connection of its own (one more than
        // `max_connections`): see `user_index::JournalConnection`.
        let journal = (engine == Engine::Postgres).then(|| user_index::JournalConnection::new(options.clone()));
        let pool =
            pool_options.connect_with(options).await.with_context(|| format!("connecting to {}", redact_url(&url)))?;
        if engine == Engine::Sqlite {
            // WAL lets readers go on while one writer writes; the mode is stored in the file.
            sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await?;
        }
        if engine == Engine::Sqlite {
            // A statistics file of an earlier `ANALYZE` (by hand, or another version) may hold
            // value samples; drop them before any pooled connection loads them.
            let mut conn = pool.acquire().await?;
            forget_value_samples(&mut conn).await?;
            conn.detach().close().await?;
        }
        let write_lock = (engine == Engine::Sqlite).then(|| Arc::new(Mutex::new(())));
        Ok(Store {
            pool,
            engine,
            write_lock,
            invalidations: Arc::default(),
            user_index: Arc::new(user_index::UserIndex::new(journal)),
            kept: Arc::default(),
            directory_usage: Arc::default(),
        })
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        migrator(self.engine).run(&self.pool).await.context("running database migrations")?;
        Ok(())
    }

    /// Refreshes the planner's statistics; run after loading many rows at once, so that
    /// queries are planned for the table as it now is.
    pub async fn analyze(&self) -> Result<(), sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        sqlx::query("ANALYZE").execute(&mut *conn).await?;
        if self.engine == Engine::Sqlite {
            forget_value_samples(&mut conn).await?;
            // This connection loaded the samples with the statistics: it is not reused.
            conn.detach().close().await?;
        }
        Ok(())
    }

    /// What committed writes made stale; the session check's cache asks it.
    pub fn invalidations(&self) -> &Arc<Invalidations> {
        &self.invalidations
    }

    /// The user list's memory: pages of users answered from it, kept up to date by the
    /// `user_changes` rows every write leaves.
    pub fn user_index(&self) -> &user_index::UserIndex {
        &self.user_index
    }

    pub fn kept(&self) -> &kept::Kept {
        &self.kept
    }

    pub fn directory_usage(&self) -> &directory::DirectoryUsage {
        &self.directory_usage
    }

    /// Whether other instances may write to this database: PostgreSQL can be shared; SQLite is
    /// one process's file, so there is no one else to watch for.
    pub fn shared_with_other_instances(&self) -> bool {
        self.engine == Engine::Postgres
    }

    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        let asked = Instant::now();
        let guard = match &self.write_lock {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        };
        // SQLite: the write lock is taken at BEGIN, not at the first write. A deferred
        // transaction that reads first and writes later fails at once ("database is locked",
        // no busy wait) when anything else wrote after its read began, which happened under
        // load (a mass action answering 500).
        let inner = match self.engine {
            Engine::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Engine::Postgres => self.pool.begin().await?,
        };
        Ok(Tx {
            inner,
            _write_guard: guard,
            affects: Affects::Everyone,
            invalidations: self.invalidations.clone(),
            timer: Held::start("write", asked),
            after_commit: Vec::new(),
        })
    }

    /// A write transaction whose reads all see one snapshot (mass actions: what is counted,
    /// recorded and changed is the same set of users). PostgreSQL refuses such a transaction
    /// with a serialization failure if another one changed those rows meanwhile (mapped to 409).
    pub async fn begin_snapshot(&self) -> Result<Tx, sqlx::Error> {
        let mut tx = self.begin().await?;
        if self.engine == Engine::Postgres {
            tx.conn().execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ").await?;
        }
        Ok(tx)
    }

    /// A connection for reads.
    pub async fn read(&self) -> Result<Read, sqlx::Error> {
        let asked = Instant::now();
        let conn = self.pool.acquire().await?;
        Ok(Read { conn, _timer: Held::start("read", asked) })
    }

    /// Connections open in the pool, how many of them are idle, and the pool's limit.
    pub fn pool_connections(&self) -> (u32, usize, u32) {
        (self.pool.size(), self.pool.num_idle(), self.pool.options().get_max_connections())
    }

    /// The versions of the migrations this build embeds for its engine.
    pub fn embedded_migrations(&self) -> Vec<i64> {
        migrator(self.engine).iter().filter(|m| m.migration_type.is_up_migration()).map(|m| m.version).collect()
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        conn.ping().await
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// SQLite keeps the table-wide statistics (`sqlite_stat1`) and drops the value samples
/// (`sqlite_stat4`). With samples, SQLite re-plans a prepared statement every time a value
/// bound against an indexed column changes (`sqlite3Reprepare`): nearly every statement Roster
/// keeps prepared, so parsing was two thirds of the database time of a console page at 10,000
/// users (issue 11). The averages of `sqlite_stat1` choose the same indexes for Roster's
/// statements, whose values are ids and keys rather than skewed flags.
async fn forget_value_samples(conn: &mut Conn) -> Result<(), sqlx::Error> {
    let samples: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat4'")
            .fetch_one(&mut *conn)
            .await?;
    if samples > 0 {
        sqlx::query("DELETE FROM sqlite_stat4").execute(&mut *conn).await?;
    }
    Ok(())
}

/// The migrations this binary carries for an engine (`backup` checks a file against them too).
fn migrator(engine: Engine) -> sqlx::migrate::Migrator {
    match engine {
        Engine::Sqlite => sqlx::migrate!("migrations/sqlite"),
        Engine::Postgres => sqlx::migrate!("migrations/postgres"),
    }
}

fn prepare_sqlite_url(url: &str) -> anyhow::Result<String> {
    let rest = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = rest.split('?').next().unwrap_or_default();
    if path != ":memory:"
        && !path.is_empty()
        && let Some(parent) = Path::new(path).parent().filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    Ok(if url.contains("mode=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    })
}

fn redact_url(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://…@{}", &url[..scheme], &url[at + 1..]),
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn sample_rows(db: &Store) -> (i64, i64) {
        let mut conn = db.read().await.expect("a connection");
        let count = |table: &'static str| format!("SELECT COUNT(*) FROM {table}");
        let stat1: i64 = sqlx::query_scalar(&count("sqlite_stat1")).fetch_one(&mut *conn).await.expect("stat1");
        let stat4: i64 = sqlx::query_scalar(&count("sqlite_stat4")).fetch_one(&mut *conn).await.expect("stat4");
        (stat1, stat4)
    }

    /// SQLite keeps its table statistics but no value samples, whether Roster analyses the
    /// file itself or finds samples left by an `ANALYZE` run by hand.
    #[tokio::test]
    async fn sqlite_statistics_keep_no_value_samples() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("stats.db").display());
        let db = Store::connect(&url, 2).await.expect("a database");
        db.migrate().await.expect("migrations");
        let mut tx = db.begin().await.expect("a transaction");
        for i in 0..200 {
            sqlx::query("INSERT INTO user_changes (account_id, user_id, at) VALUES ($1, $2, 0)")
                .bind(i % 7)
                .bind(i)
                .execute(tx.conn())
                .await
                .expect("a row");
        }
        tx.commit().await.expect("commit");

        db.analyze().await.expect("analyze");
        let (stat1, stat4) = sample_rows(&db).await;
        assert!(stat1 > 0, "the table statistics are kept");
        assert_eq!(stat4, 0, "no value samples after Roster's ANALYZE");

        // An ANALYZE run by hand leaves samples; the next start drops them.
        sqlx::query("ANALYZE").execute(&db.pool).await.expect("analyze by hand");
        assert!(sample_rows(&db).await.1 > 0, "samples written by a plain ANALYZE");
        db.close().await;
        let db = Store::connect(&url, 2).await.expect("the database again");
        let (stat1, stat4) = sample_rows(&db).await;
        assert!(stat1 > 0);
        assert_eq!(stat4, 0, "no value samples after a start");
    }
}
