//! The probes and the request id: `/health/live` answers while the process runs;
//! `/health/ready` only while the database answers, every migration is applied and the server
//! is not draining at shutdown; every response carries `X-Request-Id`, a trusted proxy's when
//! it sent a reasonable one.

use std::time::Duration;

use reqwest::Method;
use roster::config::Config;
use roster::startup::Application;

use crate::helpers::{Engine, TestApp};

both_engines!(
    ready_needs_the_database_and_every_migration,
    ready_answers_503_while_draining,
    every_response_carries_a_request_id,
);

/// A database of its own for a server the test starts itself (it needs the server's store).
struct Database {
    url: String,
    /// PostgreSQL: the server and the database to drop at the end.
    drop: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Database {
    async fn new(engine: Engine) -> Database {
        use sqlx::{Connection, Executor};
        let dir = tempfile::tempdir().unwrap();
        match engine {
            Engine::Sqlite => {
                Database { url: format!("sqlite://{}", dir.path().join("roster.db").display()), drop: None, _dir: dir }
            }
            Engine::Postgres => {
                let server = std::env::var("ROSTER_TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
                let name = format!("roster_test_{:016x}", rand::random::<u64>());
                let mut conn = sqlx::PgConnection::connect(&server).await.expect("PostgreSQL answers");
                conn.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
                let (base, query) = match server.split_once('?') {
                    Some((b, q)) => (b.to_string(), format!("?{q}")),
                    None => (server.clone(), String::new()),
                };
                let host = &base[..base.rfind('/').unwrap()];
                Database { url: format!("{host}/{name}{query}"), drop: Some((server, name)), _dir: dir }
            }
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let Some((server, name)) = self.drop.take() else { return };
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                use sqlx::{Connection, Executor};
                if let Ok(mut c) = sqlx::PgConnection::connect(&server).await {
                    let _ = c.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await;
                }
            })
        })
        .join();
    }
}

async fn get(url: &str) -> (u16, String, String) {
    // A new connection each time, as a probe makes.
    let r = reqwest::Client::new().get(url).send().await.unwrap();
    let status = r.status().as_u16();
    let content_type = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, content_type, r.text().await.unwrap())
}

#[track_caller]
fn not_ready(answer: &(u16, String, String), why: &str) {
    assert_eq!(answer.0, 503, "{answer:?}");
    assert_eq!(answer.1, "application/problem+json", "{answer:?}");
    let problem: serde_json::Value = serde_json::from_str(&answer.2).unwrap();
    assert_eq!(problem["status"], 503);
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains(why), "{detail:?} should say {why:?}");
}

async fn ready_needs_the_database_and_every_migration(engine: Engine) {
    let db = Database::new(engine).await;
    let app = Application::build(Config::for_database(&db.url, db._dir.path())).await.unwrap();
    let store = app.store();
    let base = format!("http://127.0.0.1:{}", app.port());
    let server = tokio::spawn(app.run_until_stopped());

    let (status, _, body) = get(&format!("{base}/health/ready")).await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ready"}"#));
    assert_eq!(get(&format!("{base}/health/live")).await.0, 200);
    assert_eq!(get(&format!("{base}/health")).await.0, 200, "the first probe stays");

    // A migration this build has and the database lacks: not ready (the server would work
    // on a schema it does not expect).
    {
        let mut conn = store.read().await.unwrap();
        sqlx::query("DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)")
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    not_ready(&get(&format!("{base}/health/ready")).await, "migrations not applied");

    // The database gone: not ready; the process still lives.
    store.close().await;
    not_ready(&get(&format!("{base}/health/ready")).await, "the database does not answer");
    assert_eq!(get(&format!("{base}/health/live")).await.0, 200);
    server.abort();
}

async fn ready_answers_503_while_draining(engine: Engine) {
    let mut app = TestApp::spawn_with(engine, |c| c.drain_seconds = 10).await;
    assert_eq!(get(&app.url("/health/ready")).await.0, 200);
    app.begin_stop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    not_ready(&get(&app.url("/health/ready")).await, "shutting down");
    // Still serving while load balancers take it out of rotation.
    assert_eq!(get(&app.url("/health/live")).await.0, 200);
    app.get("/api/v1/session").await.expect(200);
    // Then it stops.
    tokio::time::timeout(Duration::from_secs(40), app.stop()).await.expect("the server stops after draining");
    assert!(reqwest::Client::new().get(app.url("/health/live")).send().await.is_err(), "nothing answers any more");
}

async fn every_response_carries_a_request_id(engine: Engine) {
    let app = TestApp::spawn_with(engine, |c| c.trusted_proxies = "127.0.0.1".parse().unwrap()).await;
    let id_of = |r: &crate::helpers::Resp| r.header("x-request-id").unwrap_or_else(|| panic!("no X-Request-Id: {r:?}"));
    let first = id_of(app.get("/api/v1/session").await.expect(200));
    let second = id_of(app.send(app.anon(Method::GET, "/no/such/page")).await.expect(404));
    // A refused body too (whatever the refusal).
    let refused = app.send(app.anon(Method::POST, "/api/v1/auth/login").body("{")).await;
    assert!(refused.status.is_client_error(), "{refused:?}");
    let third = id_of(&refused);
    for id in [&first, &second, &third] {
        assert_eq!(id.len(), 36, "a UUID: {id}");
        assert_eq!(id.as_bytes()[14], b'4', "version 4: {id}");
    }
    assert!(first != second && second != third, "each request its own id");

    // From a trusted proxy (here, the test itself): its id is kept, when it is reasonable.
    let sent = |id: &str| app.anon(Method::GET, "/health/live").header("x-request-id", id.to_string());
    assert_eq!(id_of(&app.send(sent("lb-7f3a:42")).await), "lb-7f3a:42");
    for bad in ["two words", &"x".repeat(129)] {
        let got = id_of(&app.send(sent(bad)).await);
        assert!(got != bad && got.len() == 36, "{bad:?} is replaced, got {got}");
    }
}

async fn untrusted_ids_are_replaced(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let r = app.send(app.anon(Method::GET, "/health/live").header("x-request-id", "forged-by-client")).await;
    let got = r.header("x-request-id").unwrap();
    assert_ne!(got, "forged-by-client", "a client that is not a trusted proxy cannot choose the id");
    assert_eq!(got.len(), 36);
}

both_engines!(untrusted_ids_are_replaced);
