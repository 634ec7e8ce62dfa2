//! Scale benchmark (issue 2): one account with N users (1,000,000 by default) on each engine.
//!
//!     cargo bench --bench scale
//!     ROSTER_BENCH_USERS=200000 ROSTER_BENCH_ENGINES=sqlite cargo bench --bench scale
//!
//! It runs the release `roster` binary as a separate process, as in production, and prints:
//! the synthetic load rate; the first page and a deep page of a desk + role + status filtered
//! user list over HTTP (p50, p99, requests/s, one client); a mass deactivation of one desk
//! (100,000 users at 1M) by filter, with its activity records; and the server's peak memory.
//! PostgreSQL comes from ROSTER_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres);
//! the benchmark creates and drops a database `roster_bench` there.

// Test and benchmark code may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_roster");

#[path = "support/server.rs"]
mod server;
use server::{peak_memory_mb, start_server};

struct Latency {
    p50: f64,
    p99: f64,
    rps: f64,
}

fn summarize(mut samples: Vec<Duration>, total: Duration) -> Latency {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)].as_secs_f64() * 1000.0;
    Latency { p50: at(0.50), p99: at(0.99), rps: samples.len() as f64 / total.as_secs_f64() }
}

async fn measure(client: &reqwest::Client, url: &str, token: &str, n: usize) -> Latency {
    for _ in 0..20 {
        client.get(url).bearer_auth(token).send().await.unwrap().bytes().await.unwrap();
    }
    let mut samples = Vec::with_capacity(n);
    let started = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        let r = client.get(url).bearer_auth(token).send().await.unwrap();
        assert!(r.status().is_success(), "{url}: {}", r.status());
        r.bytes().await.unwrap();
        samples.push(t.elapsed());
    }
    summarize(samples, started.elapsed())
}

async fn find_id(client: &reqwest::Client, base: &str, token: &str, kind: &str, name: &str) -> i64 {
    let items: Value = client
        .get(format!("{base}/api/v1/accounts/default/{kind}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    items.as_array().unwrap().iter().find(|i| i["name"] == name).unwrap_or_else(|| panic!("no {kind} {name}"))["id"]
        .as_i64()
        .unwrap()
}

async fn run(engine: &str, database_url: &str, users: usize) {
    let data_dir = tempfile::tempdir().unwrap();
    let data = data_dir.path().to_str().unwrap();
    let server = start_server(database_url, data);

    let started = Instant::now();
    let out = Command::new(BIN)
        .args(["--database-url", database_url, "--data-dir", data, "users", "generate", "--count", &users.to_string()])
        .env("ROSTER_LOG", "warn")
        .output()
        .expect("run roster users generate");
    assert!(out.status.success(), "generate failed: {}", String::from_utf8_lossy(&out.stderr));
    let load_seconds = started.elapsed().as_secs_f64();

    let client = reqwest::Client::new();
    let token = server.admin_token(&client).await;
    let desk = find_id(&client, &server.base, &token, "desks", "Desk 04").await;
    let role = find_id(&client, &server.base, &token, "roles", "Agent").await;
    let list = format!("{}/api/v1/accounts/default/users?desk={desk}&role={role}&status=active&limit=50", server.base);

    let first = measure(&client, &list, &token, 300).await;

    // Walk to page 1,000 (or the last page) and measure that page.
    let mut cursor = None::<String>;
    let mut depth = 0;
    while depth < 1000 {
        let url = match &cursor {
            Some(c) => format!("{list}&cursor={c}"),
            None => list.clone(),
        };
        let page: Value = client.get(&url).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
        depth += 1;
    }
    let deep_url = format!("{list}&cursor={}", cursor.clone().unwrap_or_default());
    let deep = measure(&client, &deep_url, &token, 300).await;

    let bulk_desk = find_id(&client, &server.base, &token, "desks", "Desk 03").await;
    let started = Instant::now();
    let result: Value = client
        .post(format!("{}/api/v1/accounts/default/users/bulk", server.base))
        .bearer_auth(&token)
        .json(&json!({"action": "deactivate", "target": {"filter": {"desk": [bulk_desk]}}}))
        .timeout(Duration::from_secs(600))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bulk_seconds = started.elapsed().as_secs_f64();
    let peak = peak_memory_mb(server.child.id());

    println!("\n## {engine}, {users} users");
    println!("load (roster users generate): {load_seconds:.1} s, {:.0} users/s", users as f64 / load_seconds);
    println!(
        "first page, desk+role+status filter: p50 {:.2} ms, p99 {:.2} ms, {:.0} requests/s",
        first.p50, first.p99, first.rps
    );
    println!(
        "deep page (page {}), same filter: p50 {:.2} ms, p99 {:.2} ms, {:.0} requests/s",
        depth + 1,
        deep.p50,
        deep.p99,
        deep.rps
    );
    println!(
        "bulk deactivate by desk filter: matched {}, changed {}, {bulk_seconds:.2} s (with one activity record per user)",
        result["matched"], result["changed"]
    );
    println!("server peak memory (VmHWM): {peak:.1} MB");
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; a filter argument, if any, is ignored.
    let users: usize = std::env::var("ROSTER_BENCH_USERS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let engines = std::env::var("ROSTER_BENCH_ENGINES").unwrap_or_else(|_| "sqlite,postgres".into());
    for engine in engines.split(',').map(str::trim) {
        match engine {
            "sqlite" => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}/bench.db", dir.path().display());
                run("SQLite", &url, users).await;
            }
            "postgres" => {
                let admin = std::env::var("ROSTER_BENCH_POSTGRES_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
                let psql = |sql: &str| {
                    let ok = Command::new("psql").args([admin.as_str(), "-qc", sql]).status().map(|s| s.success());
                    assert!(matches!(ok, Ok(true)), "psql {sql:?} failed");
                };
                psql("DROP DATABASE IF EXISTS roster_bench");
                psql("CREATE DATABASE roster_bench");
                let url = match admin.rsplit_once('/') {
                    Some((base, _)) => format!("{base}/roster_bench"),
                    None => panic!("ROSTER_BENCH_POSTGRES_URL needs a database path"),
                };
                run("PostgreSQL", &url, users).await;
                psql("DROP DATABASE IF EXISTS roster_bench");
            }
            other => panic!("unknown engine {other:?}: use sqlite and/or postgres"),
        }
    }
}
