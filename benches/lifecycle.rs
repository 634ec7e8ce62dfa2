//! Issue 12's figures, against the release binary in its own process:
//!
//!     ROSTER_BENCH_ENGINES=sqlite,postgres cargo bench --bench lifecycle
//!
//! 1. A mass invitation of ROSTER_BENCH_INVITES (10,000) addresses in one request: the time,
//!    and the invitation mail rows it queued (read back from the outbox).
//! 2. The deactivation job with ROSTER_BENCH_SCHEDULES (100,000) pending periods: a mass action
//!    schedules every generated user from 60 s ahead; while they wait, the job's rounds (its
//!    `roster_jobs_last_duration_seconds`) and the server's CPU; then, once they fall due, how
//!    long the job takes to begin them all (periods per second).
//!
//! PostgreSQL comes from ROSTER_BENCH_POSTGRES_URL (default the machine's server); the
//! benchmark creates and drops a database `roster_bench_lifecycle` there.

// Benchmark code may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[path = "support/load.rs"]
mod load;
#[path = "support/server.rs"]
mod server;

use load::{commit_description, cores, cpu_seconds, env_or, psql};
use server::start_server;

const WAIT_AHEAD_S: i64 = 60;

async fn get(client: &reqwest::Client, url: &str, token: &str) -> Value {
    client.get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap()
}

/// `roster_jobs_last_duration_seconds{job="deactivation_schedules"}` and the runs so far.
async fn job_figures(client: &reqwest::Client, base: &str) -> (f64, f64) {
    let text = client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    let pick = |prefix: &str| {
        text.lines()
            .filter(|l| l.starts_with(prefix) && l.contains("job=\"deactivation_schedules\""))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    (pick("roster_jobs_last_duration_seconds"), pick("roster_jobs_runs_total"))
}

async fn run(engine: &str, database_url: &str, invites: usize, schedules: usize) {
    let data_dir = tempfile::tempdir().unwrap();
    let data = data_dir.path().to_str().unwrap();
    let server = start_server(database_url, data);
    let pid = server.child.id();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(1800)).build().unwrap();
    let token = server.admin_token(&client).await;
    let api = format!("{}/api/v1/accounts/default", server.base);
    println!("\n## {engine}");

    // -- 1. A mass invitation ---------------------------------------------------------------------
    let invitees: Vec<Value> =
        (0..invites).map(|i| json!({ "email": format!("person{i:05}@bench.example") })).collect();
    let started = Instant::now();
    let r = client
        .post(format!("{api}/invitations"))
        .bearer_auth(&token)
        .json(&json!({ "invitees": invitees, "send": true }))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let made: Value = r.json().await.unwrap();
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(status, 201, "the mass invitation: {made}");
    assert_eq!(made.as_array().map(Vec::len), Some(invites));
    let mut queued = 0usize;
    let mut cursor = String::new();
    loop {
        let page = get(&client, &format!("{api}/outbox?limit=500&cursor={cursor}"), &token).await;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        queued += items.iter().filter(|m| m["kind"] == "invitation").count();
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    println!(
        "mass invitation: {invites} addresses in {seconds:.2} s ({:.0} invitations/s); {queued} invitation mails in the outbox",
        invites as f64 / seconds
    );

    // -- 2. The job with many pending periods ------------------------------------------------------
    let out = Command::new(server::roster_bin())
        .args([
            "--database-url",
            database_url,
            "--data-dir",
            data,
            "users",
            "generate",
            "--count",
            &schedules.to_string(),
        ])
        .env("ROSTER_LOG", "warn")
        .output()
        .expect("run roster users generate");
    assert!(out.status.success(), "generate failed: {}", String::from_utf8_lossy(&out.stderr));
    // Let the index and the mail worker settle.
    tokio::time::sleep(Duration::from_secs(15)).await;
    let from_ms = load::now_ms() + WAIT_AHEAD_S * 1000;
    let from = time::OffsetDateTime::from_unix_timestamp(from_ms / 1000)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let until = time::OffsetDateTime::from_unix_timestamp(from_ms / 1000 + 7 * 86_400)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let started = Instant::now();
    let body = json!({ "action": "schedule_deactivation", "target": { "filter": { "status": ["active"] } },
        "from": from, "until": until, "reason": "bench" });
    let done: Value = client
        .post(format!("{api}/users/bulk"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let scheduled = done["changed"].as_i64().unwrap_or_else(|| panic!("the mass schedule: {done}"));
    println!("scheduling: {scheduled} periods by one mass action in {:.2} s", started.elapsed().as_secs_f64());

    // While they wait: the job's rounds and the server's CPU.
    let cpu_before = cpu_seconds(pid);
    let (_, runs_before) = job_figures(&client, &server.base).await;
    let mut rounds = Vec::new();
    let watch = Instant::now();
    while watch.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(5_100)).await;
        rounds.push(job_figures(&client, &server.base).await.0 * 1000.0);
    }
    let (_, runs_after) = job_figures(&client, &server.base).await;
    let cpu = cpu_seconds(pid) - cpu_before;
    rounds.sort_by(f64::total_cmp);
    println!(
        "waiting with {scheduled} pending periods: {} job rounds in {:.0} s, each {:.2}–{:.2} ms; server CPU {:.1}% of one core",
        runs_after - runs_before,
        watch.elapsed().as_secs_f64(),
        rounds.first().copied().unwrap_or(f64::NAN),
        rounds.last().copied().unwrap_or(f64::NAN),
        100.0 * cpu / watch.elapsed().as_secs_f64()
    );

    // Due: how long until every period has begun.
    let wait = (from_ms - load::now_ms()).max(0) as u64;
    tokio::time::sleep(Duration::from_millis(wait)).await;
    let due_at = Instant::now();
    loop {
        let page = get(&client, &format!("{api}/users?status=active&limit=1&q=user"), &token).await;
        let left = page["items"].as_array().map_or(0, Vec::len);
        if left == 0 {
            break;
        }
        assert!(due_at.elapsed() < Duration::from_secs(1800), "the periods did not all begin within 30 min");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let took = due_at.elapsed().as_secs_f64();
    println!(
        "applying: {scheduled} periods begun {took:.1} s after they fell due ({:.0} periods/s, each in its own transaction)",
        scheduled as f64 / took
    );
}

#[tokio::main]
async fn main() {
    let invites: usize = env_or("ROSTER_BENCH_INVITES", 10_000);
    let schedules: usize = env_or("ROSTER_BENCH_SCHEDULES", 100_000);
    let engines = std::env::var("ROSTER_BENCH_ENGINES").unwrap_or_else(|_| "sqlite,postgres".into());
    println!(
        "commit {}; {} cores; engines {engines}; {invites} invitations; {schedules} schedules",
        commit_description(),
        cores()
    );
    for engine in engines.split(',').map(str::trim) {
        match engine {
            "sqlite" => {
                let dir = tempfile::tempdir().unwrap();
                run("SQLite", &format!("sqlite://{}/bench.db", dir.path().display()), invites, schedules).await;
            }
            "postgres" => {
                let admin = std::env::var("ROSTER_BENCH_POSTGRES_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
                psql(&admin, "DROP DATABASE IF EXISTS roster_bench_lifecycle");
                psql(&admin, "CREATE DATABASE roster_bench_lifecycle");
                let url = match admin.rsplit_once('/') {
                    Some((base, _)) => format!("{base}/roster_bench_lifecycle"),
                    None => panic!("ROSTER_BENCH_POSTGRES_URL needs a database path"),
                };
                run("PostgreSQL", &url, invites, schedules).await;
                psql(&admin, "DROP DATABASE IF EXISTS roster_bench_lifecycle");
            }
            other => panic!("unknown engine {other:?}: use sqlite and/or postgres"),
        }
    }
}
