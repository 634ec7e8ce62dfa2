//! A fresh PostgreSQL database per test, dropped when the test ends.

use std::time::Duration;

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

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
    let url = std::env::var("ROSTER_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string());
    let mut conn = match tokio::time::timeout(Duration::from_secs(10), sqlx::PgConnection::connect(&url)).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => panic!(
            "PostgreSQL at {url} is unreachable ({e}). The PostgreSQL tests never skip: start PostgreSQL \
             or set ROSTER_TEST_POSTGRES_URL."
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
