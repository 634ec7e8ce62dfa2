//! Issue 13's figures, against the release binary in its own process:
//!
//!     ROSTER_BENCH_ENGINES=sqlite,postgres cargo bench --bench telephony
//!
//! ROSTER_BENCH_QUEUES (1,000) queues and ROSTER_BENCH_AGENTS (100,000) agents, each a member of
//! one queue (a third of them within a weekday time group, in a zone), a third with call settings
//! of their own and intercept groups; then, at ROSTER_BENCH_CLIENTS (16) connections for
//! ROSTER_BENCH_SECONDS (20) each, over HTTP with an API token:
//! 1. "who is a member of this queue now" (`GET …/queues/{id}/members?current=true`, a random queue);
//! 2. "the call settings of this user" (`GET …/users/{id}/call-settings`, a random user).
//!
//! Each after a pass that asks for every queue or user once, in turn (a PBX asks about the same
//! ones again and again), whose figures are printed too.
//!
//! PostgreSQL comes from ROSTER_BENCH_POSTGRES_URL (default the machine's server); the benchmark
//! creates and drops a database `roster_bench_telephony` there.

// Benchmark code may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::Request;
use hyper::body::Bytes;
use serde_json::{Value, json};

#[path = "support/load.rs"]
mod load;
#[path = "support/server.rs"]
mod server;

use load::{MakeRequest, commit_description, cores, env_or, next_random, psql, run_load};
use server::start_server;

async fn seed(database_url: &str, first_queue: i64, queues: i64, time_group: i64, intercept_group: i64) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(database_url).await.unwrap();
    let started = Instant::now();
    // Each agent joins one queue (spread by id), a third of them within the time group; positions 1–5.
    let joined = sqlx::query(
        "INSERT INTO queue_members (user_id, queue_id, join_mode, position, time_group_id, created_at) \
         SELECT u.id, $1 + (u.id % $2), 'automatic', 1 + (u.id % 5), \
                CASE WHEN u.id % 3 = 0 THEN $3 ELSE NULL END, 0 \
         FROM users u WHERE u.account_id = 1 AND u.is_agent = $4",
    )
    .bind(first_queue)
    .bind(queues)
    .bind(time_group)
    .bind(true)
    .execute(&pool)
    .await
    .unwrap()
    .rows_affected();
    // A third of them with call settings of their own, and intercept groups.
    let own = sqlx::query(
        "INSERT INTO user_call_settings (user_id, max_calls, record_calls, blf, intercept_own, version) \
         SELECT u.id, 3, $1, '[\"100\"]', $1, 1 FROM users u WHERE u.account_id = 1 AND u.is_agent = $1 AND u.id % 3 = 1",
    )
    .bind(true)
    .execute(&pool)
    .await
    .unwrap()
    .rows_affected();
    sqlx::query(
        "INSERT INTO intercept_links (account_id, user_id, group_id, mode) \
         SELECT 1, user_id, $1, 'pickup' FROM user_call_settings",
    )
    .bind(intercept_group)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    println!(
        "seeded: {joined} memberships of {queues} queues, {own} users with their own call settings, in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

fn get(token: &str, path: String) -> Request<Full<Bytes>> {
    Request::get(path)
        .header("host", "127.0.0.1")
        .header("authorization", format!("Bearer {token}"))
        .body(Full::new(Bytes::new()))
        .unwrap()
}

async fn run(engine: &str, database_url: &str, queues: i64, agents: usize, clients: usize, seconds: u64) {
    let data_dir = tempfile::tempdir().unwrap();
    let data = data_dir.path().to_str().unwrap();
    let server = start_server(database_url, data);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(600)).build().unwrap();
    let admin = server.admin_token(&client).await;
    // Generated while the server runs (it made the account and its first admin).
    // 90 % of generated users are agents.
    let count = agents * 10 / 9 + 1;
    let out = Command::new(server::roster_bin())
        .args(["--database-url", database_url, "--data-dir", data, "users", "generate", "--count", &count.to_string()])
        .env("ROSTER_LOG", "warn")
        .output()
        .expect("run roster users generate");
    assert!(out.status.success(), "generate failed: {}", String::from_utf8_lossy(&out.stderr));
    let api = format!("{}/api/v1/accounts/default", server.base);
    println!("\n## {engine}");
    let post = |path: &str, body: Value| {
        let request = client.post(format!("{api}/{path}")).bearer_auth(&admin).json(&body);
        async move {
            let r = request.send().await.unwrap();
            let status = r.status();
            let body: Value = r.json().await.unwrap();
            assert!(status.is_success(), "{status}: {body}");
            body
        }
    };
    let group = post(
        "time-groups",
        json!({ "name": "Weekdays", "time_zone": "Europe/Berlin",
            "days": { "monday": [{ "from": "08:00", "to": "18:00" }], "tuesday": [{ "from": "08:00", "to": "18:00" }],
                "wednesday": [{ "from": "08:00", "to": "18:00" }], "thursday": [{ "from": "08:00", "to": "18:00" }],
                "friday": [{ "from": "08:00", "to": "16:00" }] }, "holidays": ["2026-12-25", "2027-01-01"] }),
    )
    .await;
    let intercept = post("intercept-groups", json!({ "name": "Floor" })).await;
    let rules = post(
        "dial-rules",
        json!({ "name": "National", "rules": [
        { "pattern": "_0900X.", "action": "deny" }, { "pattern": "_0[1-9]X.", "action": "allow" } ] }),
    )
    .await;
    let music = post("music-on-hold", json!({ "name": "Jazz" })).await;
    let etag = client.get(format!("{api}/call-settings")).bearer_auth(&admin).send().await.unwrap();
    let etag = etag.headers()["etag"].to_str().unwrap().to_string();
    let r = client
        .patch(format!("{api}/call-settings"))
        .bearer_auth(&admin)
        .header("if-match", etag)
        .json(&json!({ "dial_rules": rules["id"], "music_on_hold": music["id"], "max_calls": 2,
            "intercept": { "member_of": [intercept["id"]], "picks_up": [] } }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "account call settings: {}", r.text().await.unwrap());
    let mut queue_ids = Vec::new();
    for n in 0..queues {
        queue_ids.push(
            post("queues", json!({ "name": format!("Queue {n:04}"), "extension": format!("7{n:04}") })).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    seed(database_url, queue_ids[0], queues, group["id"].as_i64().unwrap(), intercept["id"].as_i64().unwrap()).await;
    // An API token for the load, as a PBX component would hold.
    let token = post("tokens", json!({ "name": "pbx", "permissions": ["queues.view", "users.view"] })).await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let sample: Value = client
        .get(format!("{api}/queues/{}/members", queue_ids[0]))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    println!(
        "a queue: {} members configured, {} now",
        sample["members"].as_array().map_or(0, Vec::len),
        sample["members_now"]
    );
    let first_user = 2; // the first admin is 1; generated users follow
    let last_user = count as u64 + 1;

    let queue_ids = Arc::new(queue_ids);
    let members: MakeRequest = {
        let token = token.clone();
        let queue_ids = queue_ids.clone();
        Arc::new(move |r: u64| {
            let q = queue_ids[(r % queue_ids.len() as u64) as usize];
            get(&token, format!("/api/v1/accounts/default/queues/{q}/members?current=true"))
        })
    };
    let settings: MakeRequest = {
        let token = token.clone();
        Arc::new(move |r: u64| {
            let mut r = r;
            let id = first_user + next_random(&mut r) % (last_user - first_user);
            get(&token, format!("/api/v1/accounts/default/users/{id}/call-settings"))
        })
    };
    // Steady state: the PBX asks about the same queues and users again and again, so each is
    // asked for once, in turn, before measuring (a cold cache is the first minute after a
    // restart). That pass is reported too.
    let in_turn = |path: Arc<dyn Fn(u64) -> String + Send + Sync>| -> MakeRequest {
        let token = token.clone();
        let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
        Arc::new(move |_| get(&token, path(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))))
    };
    let each_queue = {
        let queue_ids = queue_ids.clone();
        in_turn(Arc::new(move |n| {
            let q = queue_ids[(n % queue_ids.len() as u64) as usize];
            format!("/api/v1/accounts/default/queues/{q}/members?current=true")
        }))
    };
    let each_user = in_turn(Arc::new(move |n| {
        let id = first_user + n % (last_user - first_user);
        format!("/api/v1/accounts/default/users/{id}/call-settings")
    }));
    for (what, make, how_many) in
        [("each queue's members", each_queue, queue_ids.len()), ("each user's settings", each_user, count)]
    {
        // In parts, each as long as what is left takes at 10,000 a second, until each was asked
        // for (a part asks for some again once all were).
        let mut asked = 0;
        while asked < how_many {
            let part = Duration::from_secs_f64(((how_many - asked) as f64 / 10_000.0).max(2.0));
            let cold = run_load(server.addr, make.clone(), clients, part);
            assert_eq!(cold.errors, 0, "{what}: {:?}", cold.first_error);
            asked += cold.ok as usize;
            println!("cold pass, {what} in turn ({:.0} s): {}", part.as_secs_f64(), cold.describe());
        }
    }
    for (what, make) in [("members of a queue now", members), ("call settings of a user", settings)] {
        let warm = run_load(server.addr, make.clone(), clients, Duration::from_secs(3));
        assert_eq!(warm.errors, 0, "{what}: {:?}", warm.first_error);
        let result = run_load(server.addr, make, clients, Duration::from_secs(seconds));
        assert_eq!(result.errors, 0, "{what}: {:?}", result.first_error);
        println!("{what:<26} {clients} clients: {}", result.describe());
    }
}

#[tokio::main]
async fn main() {
    let queues: i64 = env_or("ROSTER_BENCH_QUEUES", 1_000);
    let agents: usize = env_or("ROSTER_BENCH_AGENTS", 100_000);
    let clients: usize = env_or("ROSTER_BENCH_CLIENTS", 16);
    let seconds: u64 = env_or("ROSTER_BENCH_SECONDS", 20);
    let engines = std::env::var("ROSTER_BENCH_ENGINES").unwrap_or_else(|_| "sqlite,postgres".into());
    println!(
        "commit {}; {} cores; engines {engines}; {queues} queues; {agents} agents; {clients} clients for {seconds} s",
        commit_description(),
        cores()
    );
    for engine in engines.split(',').map(str::trim) {
        match engine {
            "sqlite" => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}/bench.db", dir.path().display());
                run("SQLite", &url, queues, agents, clients, seconds).await;
            }
            "postgres" => {
                let admin = std::env::var("ROSTER_BENCH_POSTGRES_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
                psql(&admin, "DROP DATABASE IF EXISTS roster_bench_telephony");
                psql(&admin, "CREATE DATABASE roster_bench_telephony");
                let url = match admin.rsplit_once('/') {
                    Some((base, _)) => format!("{base}/roster_bench_telephony"),
                    None => panic!("ROSTER_BENCH_POSTGRES_URL needs a database path"),
                };
                run("PostgreSQL", &url, queues, agents, clients, seconds).await;
                psql(&admin, "DROP DATABASE IF EXISTS roster_bench_telephony");
            }
            other => panic!("unknown engine {other:?}: use sqlite and/or postgres"),
        }
    }
}
