//! `roster backup` and `roster restore`, run as the real binary against the test server's SQLite
//! database while the server runs and writes; the copy is checked by starting a server on it.
//! (PostgreSQL is backed up with pg_dump, which the binary points to.)

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use sqlx::{Connection, SqliteConnection};

use crate::helpers::{Engine, TestApp};

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn sqlite_url(p: &Path) -> String {
    format!("sqlite://{}", p.display())
}

/// Runs `roster --database-url URL ARGS…` (`TestApp::roster` runs it on the app's database).
async fn roster_on(database_url: &str, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .arg("--database-url")
        .arg(database_url)
        .args(args)
        .env_remove("ROSTER_CONFIG")
        .env("ROSTER_LOG", "warn")
        // anyhow would add a backtrace to the message.
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .output()
        .await
        .expect("running the roster binary")
}

async fn open_read_only(file: &Path) -> SqliteConnection {
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(file).read_only(true);
    SqliteConnection::connect_with(&options).await.unwrap_or_else(|e| panic!("opening {}: {e}", file.display()))
}

async fn integrity(file: &Path) -> Vec<String> {
    let mut conn = open_read_only(file).await;
    let rows = sqlx::query_scalar("PRAGMA integrity_check").fetch_all(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    rows
}

async fn logins_in_file(file: &Path) -> BTreeSet<String> {
    let mut conn = open_read_only(file).await;
    let logins: Vec<String> = sqlx::query_scalar("SELECT login FROM users").fetch_all(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    logins.into_iter().collect()
}

/// A user created over the API: when the request was sent, and when its 201 came back (it was
/// committed by then).
#[derive(Clone)]
struct Created {
    login: String,
    sent: Instant,
    done: Instant,
}

type Log = Arc<Mutex<Vec<Created>>>;

/// A writer creating users one after another until `stop` is set.
fn writer(app: &Arc<TestApp>, n: usize, created: &Log, stop: &Arc<AtomicBool>) -> tokio::task::JoinHandle<()> {
    let (app, created, stop) = (app.clone(), created.clone(), stop.clone());
    tokio::spawn(async move {
        let mut i = 0;
        while !stop.load(Ordering::SeqCst) {
            let login = format!("load-{n}-{i:05}");
            let body = json!({ "login": login, "email": format!("{login}@example.com"), "first_name": "Load" });
            let sent = Instant::now();
            app.create_user(body).await.expect(201);
            created.lock().unwrap().push(Created { login, sent, done: Instant::now() });
            i += 1;
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_write_load_serves_every_user_committed_before_it() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    // Enough rows that the copy takes a while, so that writes land while it is made.
    app.roster_ok(&["users", "generate", "--count", "3000", "--prefix", "bulk"]).await;
    let out = tempfile::tempdir().unwrap();
    let copy = out.path().join("roster-backup.db");

    let app = Arc::new(app);
    let created: Log = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..3).map(|n| writer(&app, n, &created, &stop)).collect();
    while created.lock().unwrap().len() < 30 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let started = Instant::now();
    let run = app.roster_ok(&["--data-dir", s(app.data_dir()), "backup", "--output", s(&copy)]).await;
    let finished = Instant::now();
    // Writers go on a little after the copy, so that "after" is not empty either.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.await.unwrap();
    }
    let created = created.lock().unwrap().clone();
    let logins = |pick: &dyn Fn(&Created) -> bool| -> BTreeSet<String> {
        created.iter().filter(|c| pick(c)).map(|c| c.login.clone()).collect()
    };
    let committed_before = logins(&|c| c.done < started);
    let sent_after = logins(&|c| c.sent > finished);
    let during = created.iter().filter(|c| (started..finished).contains(&c.done)).count();
    assert!(
        during > 0,
        "no user was created while the backup ran ({:?}): no load to prove anything",
        finished - started
    );
    assert!(!sent_after.is_empty(), "users were created after the backup too");

    // What it says it wrote.
    let size = std::fs::metadata(&copy).unwrap().len();
    assert!(run.stdout.contains(s(&copy)) && run.stdout.contains(&format!("{size} bytes")), "{}", run.stdout);
    let in_copy = logins_in_file(&copy).await;
    assert!(run.stdout.contains(&format!("{} users", in_copy.len())), "{}", run.stdout);
    let key = app.data_dir().join("secret.key");
    assert!(run.stdout.contains(&format!("key file {}", key.display())), "the key reminder: {}", run.stdout);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "a copy holds password hashes: owner-only");
    }
    let leftovers: Vec<_> =
        std::fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(leftovers, ["roster-backup.db"], "no temporary file remains");
    assert_eq!(integrity(&copy).await, ["ok"]);

    let mut app = Arc::try_unwrap(app).ok().expect("the writers are done");
    // The copy runs: a server on it (with the same data folder, so the same secret key).
    app.start_on(&sqlite_url(&copy)).await;
    app.send(app.anon(Method::GET, "/api/v1/openapi.json")).await.expect(200);
    let token = app.sign_in_with_second_factor(&app.admin_login.clone(), &app.admin_password.clone()).await;
    app.token = token;
    let listed: BTreeSet<String> = app.logins("limit=500&q=load-").await.into_iter().collect();
    let missing: Vec<_> = committed_before.difference(&listed).collect();
    assert!(missing.is_empty(), "committed before the backup started but not in the copy: {missing:?}");
    let all = logins(&|_| true);
    let phantom: Vec<_> = listed.difference(&all).collect();
    assert!(phantom.is_empty(), "in the copy but never created: {phantom:?}");
    let late: Vec<_> = listed.intersection(&sent_after).collect();
    assert!(late.is_empty(), "in the copy though created after the backup ended: {late:?}");
    // A user written on the copy stays there.
    app.new_user(json!({ "login": "on-the-copy" })).await;
    assert!(logins_in_file(&copy).await.contains("on-the-copy"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_puts_a_backup_back_once_the_server_is_stopped() {
    let mut app = TestApp::spawn(Engine::Sqlite).await;
    app.new_user(json!({ "login": "kept" })).await;
    let out = tempfile::tempdir().unwrap();
    let copy = out.path().join("copy.db");
    app.roster_ok(&["backup", "--output", s(&copy)]).await;
    app.new_user(json!({ "login": "after" })).await;

    // Not under a running server.
    let run = app.roster(&["restore", "--input", s(&copy), "--force"]).await;
    assert!(!run.ok && run.stderr.contains("is in use"), "{}", run.stderr);
    assert!(app.logins("").await.contains(&"after".to_string()), "the refused restore changed nothing");

    app.stop().await;
    let run = app.roster(&["restore", "--input", s(&copy)]).await;
    assert!(!run.ok && run.stderr.contains("pass --force"), "{}", run.stderr);
    let run = app.roster_ok(&["restore", "--input", s(&copy), "--force"]).await;
    assert!(run.stdout.contains("Restored") && run.stdout.contains("2 users"), "{}", run.stdout);
    let kept = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("The database it replaced is kept as "))
        .and_then(|l| l.strip_suffix('.'))
        .unwrap_or_else(|| panic!("where the old database went: {}", run.stdout))
        .to_string();
    assert!(logins_in_file(Path::new(&kept)).await.contains("after"), "the replaced database is whole");
    let db = app.data_dir().join("roster.db");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode();
        assert_eq!(mode(&db), mode(Path::new(&kept)), "the restored file keeps the replaced one's mode");
    }
    for suffix in ["-wal", "-shm"] {
        let stale = format!("{}{suffix}", db.display());
        assert!(!Path::new(&stale).exists(), "{stale}: the old database's journal would be replayed into the new");
    }

    app.start_again().await;
    app.token = app.sign_in_with_second_factor(&app.admin_login.clone(), &app.admin_password.clone()).await;
    let logins = app.logins("").await;
    assert!(logins.contains(&"kept".to_string()) && !logins.contains(&"after".to_string()), "{logins:?}");
    app.new_user(json!({ "login": "after-restore" })).await;
    app.stop().await;
    assert_eq!(integrity(&db).await, ["ok"]);

    // Into a place where there is no database yet: no --force needed, the folder is made.
    let fresh = out.path().join("new-home/roster.db");
    let run = roster_on(&sqlite_url(&fresh), &["restore", "--input", s(&copy)]).await;
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(!String::from_utf8_lossy(&run.stdout).contains("kept as"));
    assert_eq!(logins_in_file(&fresh).await, logins_in_file(&copy).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_refuses_to_overwrite_and_points_postgres_to_pg_dump() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let out = tempfile::tempdir().unwrap();
    let existing = out.path().join("existing.db");
    std::fs::write(&existing, "precious").unwrap();
    let run = app.roster(&["backup", "--output", s(&existing)]).await;
    assert!(!run.ok && run.stderr.contains("already exists") && run.stderr.contains("--force"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "precious");
    app.roster_ok(&["backup", "--output", s(&existing), "--force"]).await;
    assert!(logins_in_file(&existing).await.contains(&app.admin_login));

    let run = app.roster(&["backup", "--output", s(&out.path().join("no/such/folder/x.db"))]).await;
    assert!(!run.ok && run.stderr.contains("does not exist"), "{}", run.stderr);

    // PostgreSQL: one sentence naming the tool, before any connection is tried.
    let target = out.path().join("pg.db");
    let pg = roster_on("postgres://nobody@127.0.0.1:1/none", &["backup", "--output", s(&target)]).await;
    let stderr = String::from_utf8_lossy(&pg.stderr);
    assert!(!pg.status.success(), "{stderr}");
    assert!(stderr.contains("pg_dump -Fc") && stderr.contains("pg_restore") && !stderr.contains("connect"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one sentence: {stderr}");
    assert!(!target.exists());
    let pg = roster_on("postgres://nobody@127.0.0.1:1/none", &["restore", "--input", s(&existing)]).await;
    let stderr = String::from_utf8_lossy(&pg.stderr);
    assert!(!pg.status.success() && stderr.contains("pg_restore") && stderr.trim().lines().count() == 1, "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_files_that_are_not_this_rosters_database() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let out = tempfile::tempdir().unwrap();
    macro_rules! refused {
        ($run:expr, $why:expr) => {{
            let run = $run;
            assert!(!run.ok && run.stderr.contains($why), "expected {:?}: {}", $why, run.stderr);
        }};
    }

    let text = out.path().join("notes.txt");
    std::fs::write(&text, "not a database, but long enough to look like a file header\n".repeat(200)).unwrap();
    refused!(app.roster(&["restore", "--input", s(&text), "--force"]).await, "is not a SQLite database");

    let other = out.path().join("other.db");
    {
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&other).create_if_missing(true);
        let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
        sqlx::query("CREATE TABLE invoices (id INTEGER PRIMARY KEY)").execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }
    refused!(app.roster(&["restore", "--input", s(&other), "--force"]).await, "not Roster's");

    let newer = out.path().join("newer.db");
    app.roster_ok(&["backup", "--output", s(&newer)]).await;
    {
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&newer);
        let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (99990101000000, 'from the future', TRUE, x'00', 1)",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
    }
    refused!(app.roster(&["restore", "--input", s(&newer), "--force"]).await, "newer Roster");

    refused!(app.roster(&["restore", "--input", s(&out.path().join("missing.db")), "--force"]).await, "no file");
    // Nothing was touched: the server still runs on its database.
    assert!(app.logins("").await.contains(&app.admin_login));
}
