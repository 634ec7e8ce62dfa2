//! A fresh PostgreSQL database per test, dropped when the test ends, on the server the tests of
//! this process share:
//!
//! - `ROSTER_TEST_POSTGRES_URL` when it is set (if it does not answer, the tests fail: they never skip);
//! - else the machine's server at the default URL, when it lets the tests in;
//! - else a private server this process starts from the installed PostgreSQL binaries (`initdb`
//!   into a temporary folder, `pg_ctl` on a free loopback port), stopped and deleted when the
//!   process ends, however it ends.
//!
//! `ROSTER_TEST_POSTGRES=private` always takes the private server (to test that path, or to keep
//! the tests off the machine's server).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The server every test of this process makes its databases on, chosen (and started) once.
static SERVER: tokio::sync::OnceCell<Result<String, String>> = tokio::sync::OnceCell::const_new();

/// A database created for one test on the shared PostgreSQL server, dropped when the test ends.
pub(super) struct PgDatabase {
    server_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (url, name) = (self.server_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime; a thread with its own runtime may block.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                use sqlx::{Connection, Executor};
                if let Ok(mut c) = sqlx::PgConnection::connect(&url).await {
                    let _ = c.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await;
                }
            })
        })
        .join();
    }
}

/// `postgres://u@h:p/db?x` → (`postgres://u@h:p`, `?x`)
fn split_postgres_url(url: &str) -> (String, String) {
    let (before_query, query) = match url.split_once('?') {
        Some((a, q)) => (a, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = before_query.find("://").map(|i| i + 3).unwrap_or(0);
    let server = match before_query[scheme_end..].find('/') {
        Some(slash) => &before_query[..scheme_end + slash],
        None => before_query,
    };
    (server.to_string(), query)
}

pub(super) async fn fresh_postgres_database() -> (String, PgDatabase) {
    use sqlx::{Connection, Executor};
    let url = match SERVER.get_or_init(choose_server).await {
        Ok(url) => url.clone(),
        Err(why) => panic!("{why}"),
    };
    let mut conn = match tokio::time::timeout(Duration::from_secs(10), sqlx::PgConnection::connect(&url)).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => panic!(
            "PostgreSQL at {url} is unreachable ({e}). The PostgreSQL tests never skip: start that server, or \
             unset ROSTER_TEST_POSTGRES_URL to let the tests find one or start their own."
        ),
        Err(_) => panic!("PostgreSQL at {url} did not answer within 10 s. The PostgreSQL tests never skip."),
    };
    let name = format!("roster_test_{:016x}", rand::random::<u64>());
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap_or_else(|e| panic!("creating database {name} on {url}: {e}"));
    let _ = conn.close().await;
    let (server, query) = split_postgres_url(&url);
    let db_url = format!("{server}/{name}{query}");
    (db_url, PgDatabase { server_url: url, name })
}

async fn choose_server() -> Result<String, String> {
    match std::env::var("ROSTER_TEST_POSTGRES").unwrap_or_default().as_str() {
        "" => {}
        "private" => return start_private_server().await,
        other => return Err(format!("ROSTER_TEST_POSTGRES={other:?}: the one value it takes is `private`")),
    }
    // Named explicitly: used as it is, and a server that does not answer fails the tests.
    if let Ok(url) = std::env::var("ROSTER_TEST_POSTGRES_URL").map(|u| u.trim().to_string())
        && !url.is_empty()
    {
        return Ok(url);
    }
    match try_connect(DEFAULT_POSTGRES_URL).await {
        Ok(()) => Ok(DEFAULT_POSTGRES_URL.to_string()),
        Err(why) => {
            eprintln!("PostgreSQL at {DEFAULT_POSTGRES_URL}: {why}; these tests start their own server");
            start_private_server().await
        }
    }
}

async fn try_connect(url: &str) -> Result<(), String> {
    use sqlx::Connection;
    match tokio::time::timeout(Duration::from_secs(3), sqlx::PgConnection::connect(url)).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            Ok(())
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer within 3 s".to_string()),
    }
}

async fn start_private_server() -> Result<String, String> {
    let started = tokio::task::spawn_blocking(private::start).await.map_err(|e| e.to_string())?;
    started.map_err(|why| {
        format!(
            "the PostgreSQL tests need a server and none could be started: {why}. Install PostgreSQL's server \
             (Debian: apt-get install postgresql), or set ROSTER_TEST_POSTGRES_URL to one."
        )
    })
}

mod private {
    //! The private server: a cluster in a temporary folder, owned by an unprivileged user (initdb
    //! refuses root), listening on loopback only with trust authentication. A watchdog process,
    //! started before the server, stops it and deletes the folder once this process is gone: the
    //! test binary has no teardown hook, and may end by a panic, a signal or a kill.

    use super::*;

    /// Starts the server; returns its URL.
    pub(super) fn start() -> Result<String, String> {
        let bin = server_binaries()?;
        let user = unprivileged_user()?;
        let dir = tempfile::Builder::new()
            .prefix("roster-test-pg-")
            .tempdir()
            .map_err(|e| format!("creating a temporary folder: {e}"))?
            .keep();
        if let Some(user) = &user {
            std::os::unix::fs::chown(&dir, Some(user.uid), Some(user.gid))
                .map_err(|e| format!("giving {} to {}: {e}", dir.display(), user.name))?;
        }
        start_watchdog(&bin, &dir, user.as_ref())?;
        let data = dir.join("data");
        run(
            user.as_ref(),
            Command::new(bin.join("initdb")).arg("-D").arg(&data).args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ]),
        )?;
        // A port found free may be taken before the server binds it: try a few.
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port()?;
            // Tuned for tests: durability off (the folder is thrown away), room for every test's pool.
            let options = format!(
                "-k {} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
                 -c full_page_writes=off -c max_connections=300 -c shared_buffers=64MB",
                dir.display()
            );
            let started = run(
                user.as_ref(),
                Command::new(bin.join("pg_ctl"))
                    .arg("-D")
                    .arg(&data)
                    .arg("-l")
                    .arg(dir.join("server.log"))
                    .args(["-w", "-t", "60", "-o", &options, "start"]),
            );
            match started {
                Ok(()) => return Ok(format!("postgres://postgres@127.0.0.1:{port}/postgres")),
                Err(why) => last = why,
            }
        }
        let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
        Err(format!("{last}\n{log}"))
    }

    /// The folder of `initdb` and `pg_ctl`: on the PATH, else Debian's newest installed version.
    fn server_binaries() -> Result<PathBuf, String> {
        let on_path =
            std::env::var_os("PATH").map(|path| std::env::split_paths(&path).collect::<Vec<_>>()).unwrap_or_default();
        if let Some(dir) = on_path.into_iter().find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file()) {
            return Ok(dir);
        }
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let version = e.file_name().to_str()?.parse::<u32>().ok()?;
                let bin = e.path().join("bin");
                (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((version, bin))
            })
            .collect();
        versions.sort();
        versions
            .pop()
            .map(|(_, bin)| bin)
            .ok_or_else(|| "no initdb and pg_ctl on the PATH or under /usr/lib/postgresql/*/bin".to_string())
    }

    pub(super) struct User {
        name: String,
        uid: u32,
        gid: u32,
    }

    /// Who runs the server: this process's user, unless that is root (which initdb refuses);
    /// then `postgres` (the server package's user), else `nobody`.
    fn unprivileged_user() -> Result<Option<User>, String> {
        if id(&["-u"])? != 0 {
            return Ok(None);
        }
        for name in ["postgres", "nobody"] {
            if let (Ok(uid), Ok(gid)) = (id(&["-u", name]), id(&["-g", name])) {
                return Ok(Some(User { name: name.to_string(), uid, gid }));
            }
        }
        Err("running as root, and there is no `postgres` or `nobody` user to run PostgreSQL as".to_string())
    }

    fn id(args: &[&str]) -> Result<u32, String> {
        let out = Command::new("id").args(args).output().map_err(|e| format!("running id: {e}"))?;
        String::from_utf8_lossy(&out.stdout).trim().parse().map_err(|_| format!("id {args:?} failed"))
    }

    /// Runs a server command as `user` (through `runuser`) or as this process's user.
    fn run(user: Option<&User>, command: &mut Command) -> Result<(), String> {
        let mut command = match user {
            Some(user) => {
                let mut wrapped = Command::new("runuser");
                wrapped.args(["-u", &user.name, "--"]).arg(command.get_program()).args(command.get_args());
                wrapped
            }
            None => std::mem::replace(command, Command::new("true")),
        };
        let shown = format!("{command:?}");
        // The server's own output goes to its log (pg_ctl -l); these are the tools' messages.
        let out = command.stdin(Stdio::null()).output().map_err(|e| format!("{shown}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{shown} failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// A process, in its own process group (so a Ctrl-C at the terminal does not stop it before
    /// its work is done), that waits for this process to end, then stops the server and deletes
    /// its folder.
    fn start_watchdog(bin: &Path, dir: &Path, user: Option<&User>) -> Result<(), String> {
        use std::os::unix::process::CommandExt;
        const SCRIPT: &str = r#"
            pid=$1 dir=$2; shift 2
            while kill -0 "$pid" 2>/dev/null; do sleep 1; done
            "$@" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 \
              || { sleep 3; "$@" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1; }
            rm -rf "$dir"
        "#;
        let mut command = Command::new("sh");
        command.args(["-c", SCRIPT, "roster-test-pg-watchdog"]).arg(std::process::id().to_string()).arg(dir);
        if let Some(user) = user {
            command.args(["runuser", "-u", &user.name, "--"]);
        }
        command
            .arg(bin.join("pg_ctl"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("starting the watchdog: {e}"))?;
        Ok(())
    }

    fn free_port() -> Result<u16, String> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("finding a free port: {e}"))?;
        listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
    }
}

#[test]
fn postgres_urls_are_split_into_server_and_options() {
    assert_eq!(
        split_postgres_url("postgres://postgres@127.0.0.1:5432/postgres"),
        ("postgres://postgres@127.0.0.1:5432".into(), "".into())
    );
    assert_eq!(
        split_postgres_url("postgres://u:p@h/db?sslmode=disable"),
        ("postgres://u:p@h".into(), "?sslmode=disable".into())
    );
    assert_eq!(split_postgres_url("postgres://h:5432"), ("postgres://h:5432".into(), "".into()));
}
