//! Copies of a SQLite database: `roster backup` while Roster runs on it and writes, `roster
//! restore` to put one back. PostgreSQL has its own tools for both (`pg_dump`, `pg_restore`).
//!
//! A copy is a new file written by SQLite itself (`VACUUM INTO`) inside one read transaction: it
//! is the database as it was at one moment, and writers go on meanwhile (WAL lets a reader and
//! the writer work side by side). It is written under a temporary name next to its destination
//! and renamed only once it has passed SQLite's integrity check, so a file under the final name
//! is always complete.

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};

use super::Engine;

/// What a copy (or a restored database) holds.
#[derive(Debug, Clone)]
pub struct Contents {
    pub path: PathBuf,
    pub bytes: u64,
    pub accounts: i64,
    pub users: i64,
    /// The newest migration applied to it.
    pub migration: i64,
}

/// What `restore` did.
#[derive(Debug, Clone)]
pub struct Restored {
    pub database: Contents,
    /// The newest migration this binary knows: `roster serve` (or `roster migrate`) brings a
    /// restored database that is behind up to it.
    pub current_migration: i64,
    /// Where the database it replaced was kept (a hard link, so no space is taken twice).
    pub replaced_kept_as: Option<PathBuf>,
}

/// Copies the SQLite database at `database_url` to `output`, while servers may be writing to
/// it. An existing `output` is refused unless `replace`.
pub async fn backup(database_url: &str, output: &Path, replace: bool) -> anyhow::Result<Contents> {
    let source = sqlite_file(database_url)?;
    if !source.is_file() {
        bail!("there is no database at {}", source.display());
    }
    if output.is_dir() {
        bail!("{} is a folder: name the file to write", output.display());
    }
    if output.exists() && !replace {
        bail!("{} already exists: pass --force to replace it", output.display());
    }
    if same_file(&source, output) {
        bail!("{} is the database itself: name another file", output.display());
    }
    let partial = Partial::create(output)?;
    let mut conn = open(&source, Mode::ReadWrite).await?;
    vacuum_into(&mut conn, &partial.path).await.with_context(|| format!("copying {}", source.display()))?;
    conn.close().await?;
    let mut copy = open(&partial.path, Mode::ReadOnly).await?;
    let contents = check(&mut copy, &partial.path).await?;
    copy.close().await?;
    partial.finish(output)?;
    Ok(Contents { path: output.to_path_buf(), ..contents })
}

/// Puts the copy `input` in place of the SQLite database at `database_url`. The file must be a
/// sound Roster database whose migrations this binary knows (an older one is upgraded when
/// Roster next starts). An existing database is replaced only when `replace`, and only while no
/// one has it open; it is kept beside the restored one.
pub async fn restore(input: &Path, database_url: &str, replace: bool) -> anyhow::Result<Restored> {
    let target = sqlite_file(database_url)?;
    if !input.is_file() {
        bail!("there is no file at {}", input.display());
    }
    if same_file(input, &target) {
        bail!("{} is the database itself: name a backup", input.display());
    }
    let exists = target.exists();
    if exists && !replace {
        bail!(
            "there is already a database at {}: pass --force to replace it (after stopping every Roster using it)",
            target.display()
        );
    }
    // Everything about the input is checked before the database is touched.
    let mut source = open(input, Mode::ReadOnly).await?;
    check(&mut source, input).await?;
    // Held until the new file is in place: nobody opens the old one meanwhile.
    let lock = if exists { lock_unused(&target).await? } else { None };
    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let partial = Partial::create(&target)?;
    // A fresh file from SQLite rather than a byte copy: a live database's `-wal` file, if the
    // input has one, is read in, and the result stands alone.
    vacuum_into(&mut source, &partial.path).await.with_context(|| format!("copying {}", input.display()))?;
    source.close().await?;
    let mut copy = open(&partial.path, Mode::ReadOnly).await?;
    let contents = check(&mut copy, &partial.path).await?;
    copy.close().await?;

    // The old database's journal files would be replayed into the new one: they go first
    // (`lock_unused` has just written back what they held, and nobody else has them open).
    for suffix in ["-wal", "-shm", "-journal"] {
        remove_if_present(&with_suffix(&target, suffix))?;
    }
    if exists {
        same_owner_and_mode(&target, &partial.path)?;
    }
    let replaced_kept_as = if exists { Some(keep_aside(&target)?) } else { None };
    partial.finish(&target)?;
    if let Some(lock) = lock {
        // The lock was on the old file, now only under its kept name.
        let _ = lock.close().await;
    }
    Ok(Restored {
        database: Contents { path: target, ..contents },
        current_migration: newest_known_migration(),
        replaced_kept_as,
    })
}

/// The file behind a `sqlite:` URL; an error naming pg_dump for PostgreSQL.
pub fn sqlite_file(database_url: &str) -> anyhow::Result<PathBuf> {
    if Engine::from_url(database_url)? != Engine::Sqlite {
        bail!("not a SQLite database URL");
    }
    if database_url.contains(":memory:") || database_url.contains("mode=memory") {
        bail!("an in-memory database has no file to copy");
    }
    let options = SqliteConnectOptions::from_str(database_url).context("parsing the database URL")?;
    Ok(options.get_filename().to_path_buf())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    ReadOnly,
    ReadWrite,
}

async fn open(path: &Path, mode: Mode) -> anyhow::Result<SqliteConnection> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(mode == Mode::ReadOnly)
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(10));
    SqliteConnection::connect_with(&options).await.map_err(|e| explain_open(e, path))
}

fn explain_open(e: sqlx::Error, path: &Path) -> anyhow::Error {
    match sqlite_code(&e) {
        Some(SQLITE_NOTADB) => anyhow::anyhow!("{} is not a SQLite database", path.display()),
        _ => anyhow::Error::new(e).context(format!("opening {}", path.display())),
    }
}

async fn vacuum_into(conn: &mut SqliteConnection, file: &Path) -> anyhow::Result<()> {
    let Some(name) = file.to_str() else { bail!("{} is not a UTF-8 path", file.display()) };
    sqlx::query("VACUUM INTO $1").bind(name).execute(&mut *conn).await?;
    Ok(())
}

/// Checks that the database on `conn` (the file `path`) is sound and a Roster database this
/// binary can run on, and says what it holds.
async fn check(conn: &mut SqliteConnection, path: &Path) -> anyhow::Result<Contents> {
    let shown = path.display();
    let problems: Vec<String> = match sqlx::query_scalar("PRAGMA integrity_check").fetch_all(&mut *conn).await {
        Ok(rows) => rows,
        Err(e) => return Err(explain_open(e, path)),
    };
    if problems != ["ok"] {
        let first: Vec<_> = problems.iter().take(5).map(String::as_str).collect();
        bail!("{shown} fails SQLite's integrity check: {}", first.join("; "));
    }
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('_sqlx_migrations', 'accounts', 'users')",
    )
    .fetch_all(&mut *conn)
    .await?;
    if tables.len() != 3 {
        bail!("{shown} is a SQLite database but not Roster's (no accounts, users and migrations tables)");
    }
    let applied: Vec<(i64, Vec<u8>, bool)> =
        sqlx::query_as("SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut *conn)
            .await?;
    let migration = check_migrations(&applied).with_context(|| format!("{shown} cannot be used"))?;
    let accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts").fetch_one(&mut *conn).await?;
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&mut *conn).await?;
    let bytes = std::fs::metadata(path).with_context(|| format!("reading {shown}"))?.len();
    Ok(Contents { path: path.to_path_buf(), bytes, accounts, users, migration })
}

/// The newest of the migrations `applied` (version, checksum, success), when each of them is one
/// of this binary's, unchanged and complete.
fn check_migrations(applied: &[(i64, Vec<u8>, bool)]) -> anyhow::Result<i64> {
    let migrator = super::migrator(Engine::Sqlite);
    let known: Vec<_> = migrator.iter().filter(|m| m.migration_type.is_up_migration()).collect();
    let newest_known = newest_known_migration();
    let Some(&(newest, _, _)) = applied.last() else { bail!("no migration was ever applied to it") };
    for (version, checksum, success) in applied {
        match known.iter().find(|m| m.version == *version) {
            None if *version > newest_known => bail!(
                "it was made by a newer Roster (migration {version}; this one knows up to {newest_known}): \
                 restore it with that version"
            ),
            None => bail!("its migration {version} is not one of this Roster's"),
            Some(m) if m.checksum.as_ref() != checksum.as_slice() => {
                bail!("its migration {version} differs from this Roster's")
            }
            Some(_) if !success => bail!("its migration {version} stopped halfway"),
            Some(_) => {}
        }
    }
    Ok(newest)
}

fn newest_known_migration() -> i64 {
    super::migrator(Engine::Sqlite).iter().map(|m| m.version).max().unwrap_or(0)
}

/// Makes sure no connection is open on the database at `path` and keeps others out until the
/// returned connection closes. `None` when the file is no database at all (nothing can be using
/// it, and replacing it is what the operator asked for).
async fn lock_unused(path: &Path) -> anyhow::Result<Option<SqliteConnection>> {
    let in_use = || {
        anyhow::anyhow!(
            "the database {} is in use: stop every Roster running on it, then restore again",
            path.display()
        )
    };
    // No waiting: a running server holds its connections open for good.
    let options = SqliteConnectOptions::new().filename(path).create_if_missing(false).busy_timeout(Duration::ZERO);
    let mut conn = match SqliteConnection::connect_with(&options).await {
        Ok(conn) => conn,
        Err(e) if sqlite_code(&e) == Some(SQLITE_NOTADB) => return Ok(None),
        Err(e) if is_busy(&e) => return Err(in_use()),
        Err(e) => return Err(anyhow::Error::new(e).context(format!("opening {}", path.display()))),
    };
    // Leaving WAL mode takes every other connection's absence: SQLite refuses it while any is
    // open (in this process or another). It also writes the WAL's content into the file.
    let mode: String = match sqlx::query_scalar("PRAGMA journal_mode = DELETE").fetch_one(&mut conn).await {
        Ok(mode) => mode,
        Err(e) if sqlite_code(&e) == Some(SQLITE_NOTADB) => return Ok(None),
        Err(e) if is_busy(&e) => return Err(in_use()),
        Err(e) => return Err(e.into()),
    };
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(in_use());
    }
    match sqlx::query("BEGIN EXCLUSIVE").execute(&mut conn).await {
        Ok(_) => Ok(Some(conn)),
        Err(e) if is_busy(&e) => Err(in_use()),
        Err(e) => Err(e.into()),
    }
}

/// Gives the restored file the owner and mode of the database it replaces: restore may run as
/// root for a server that runs as its own user, which must still be able to open it.
fn same_owner_and_mode(replaced: &Path, restored: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let old = std::fs::metadata(replaced).with_context(|| format!("reading {}", replaced.display()))?;
        let new = std::fs::metadata(restored).with_context(|| format!("reading {}", restored.display()))?;
        if (old.uid(), old.gid()) != (new.uid(), new.gid()) {
            std::os::unix::fs::chown(restored, Some(old.uid()), Some(old.gid())).with_context(|| {
                format!(
                    "giving the restored database to the owner of {} (uid {}, gid {}): run restore as that user or as root",
                    replaced.display(),
                    old.uid(),
                    old.gid()
                )
            })?;
        }
        std::fs::set_permissions(restored, old.permissions())
            .with_context(|| format!("setting the mode of {}", restored.display()))?;
    }
    Ok(())
}

/// Keeps the database being replaced under `<name>.replaced-<UTC time>` (a second name for the
/// same file, so the rename that follows leaves it in place).
fn keep_aside(target: &Path) -> anyhow::Result<PathBuf> {
    let stamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!("[year][month][day]T[hour][minute][second]Z"))
        .context("formatting the time")?;
    let mut kept = with_suffix(target, &format!(".replaced-{stamp}"));
    let mut n = 1;
    while kept.exists() {
        n += 1;
        kept = with_suffix(target, &format!(".replaced-{stamp}-{n}"));
    }
    std::fs::hard_link(target, &kept).with_context(|| format!("keeping {} as {}", target.display(), kept.display()))?;
    Ok(kept)
}

const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;
const SQLITE_NOTADB: i64 = 26;

/// SQLite's primary result code behind an error (the extended code's low byte).
fn sqlite_code(e: &sqlx::Error) -> Option<i64> {
    let code = e.as_database_error()?.code()?;
    code.parse::<i64>().ok().map(|c| c & 0xff)
}

fn is_busy(e: &sqlx::Error) -> bool {
    matches!(sqlite_code(e), Some(SQLITE_BUSY | SQLITE_LOCKED))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_if_present(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(e).with_context(|| format!("removing {}", path.display())),
        _ => Ok(()),
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// A file being written next to its destination under a name that says so; removed unless it
/// is finished (checked and renamed into place).
struct Partial {
    path: PathBuf,
    finished: bool,
}

impl Partial {
    /// An empty file that only its owner may read: a copy holds password hashes and sealed
    /// secrets. (`VACUUM INTO` writes into an empty file, keeping its mode.)
    fn create(destination: &Path) -> anyhow::Result<Partial> {
        let Some(name) = destination.file_name() else { bail!("{} names no file", destination.display()) };
        let dir = destination.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        if !dir.is_dir() {
            bail!("the folder {} does not exist", dir.display());
        }
        let mut partial_name = std::ffi::OsString::from(".");
        partial_name.push(name);
        partial_name.push(format!(".partial-{}", std::process::id()));
        let path = dir.join(partial_name);
        remove_if_present(&path)?;
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Partial { path, finished: false })
    }

    /// Flushes the file to disk and gives it its final name (replacing what had it).
    fn finish(mut self, destination: &Path) -> anyhow::Result<()> {
        File::open(&self.path)
            .and_then(|f| f.sync_all())
            .with_context(|| format!("writing {}", self.path.display()))?;
        std::fs::rename(&self.path, destination)
            .with_context(|| format!("renaming {} to {}", self.path.display(), destination.display()))?;
        self.finished = true;
        // The rename itself is durable once the folder is.
        if let Some(dir) = destination.parent().filter(|p| !p.as_os_str().is_empty()) {
            let _ = File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(())
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_file(&self.path);
            let _ = std::fs::remove_file(with_suffix(&self.path, "-journal"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_comes_from_the_url() {
        assert_eq!(sqlite_file("sqlite://data/roster.db").unwrap(), Path::new("data/roster.db"));
        assert_eq!(sqlite_file("sqlite:///var/lib/roster/r.db?mode=rwc").unwrap(), Path::new("/var/lib/roster/r.db"));
        assert_eq!(sqlite_file("sqlite:a%20b.db").unwrap(), Path::new("a b.db"));
        assert!(sqlite_file("sqlite::memory:").is_err());
        assert!(sqlite_file("postgres://u@h/db").is_err());
    }

    #[test]
    fn migrations_must_be_this_binarys() {
        let migrator = super::super::migrator(Engine::Sqlite);
        let mine: Vec<(i64, Vec<u8>, bool)> = migrator.iter().map(|m| (m.version, m.checksum.to_vec(), true)).collect();
        assert_eq!(check_migrations(&mine).unwrap(), newest_known_migration());
        assert_eq!(check_migrations(&mine[..1]).unwrap(), mine[0].0, "an older database is upgraded later");

        let mut newer = mine.clone();
        newer.push((newest_known_migration() + 1, vec![0; 48], true));
        let err = check_migrations(&newer).unwrap_err().to_string();
        assert!(err.contains("newer Roster"), "{err}");

        let mut changed = mine.clone();
        changed[0].1[0] ^= 1;
        assert!(check_migrations(&changed).unwrap_err().to_string().contains("differs"));

        let mut failed = mine.clone();
        failed[0].2 = false;
        assert!(check_migrations(&failed).unwrap_err().to_string().contains("halfway"));

        assert!(check_migrations(&[]).is_err());
    }
}
