//! Scale benchmark (issues 2 and 11): one account with N users (1,000,000 by default) on each engine.
//!
//!     cargo bench --bench scale
//!     ROSTER_BENCH_USERS=10000 ROSTER_BENCH_ENGINES=sqlite cargo bench --bench scale
//!
//! It runs the release `roster` binary as a separate process, as in production, and prints:
//! 1. the synthetic load rate (`roster users generate`);
//! 2. one client, one warm URL (the issue-2 figures, kept for comparison): the first page and a
//!    deep page (page 1,001) of a desk + role + status filtered user list;
//! 3. the concurrency sweep (issue 11): the filtered list at each of ROSTER_BENCH_CONCURRENCY
//!    (default 1,16,64) keep-alive connections for ROSTER_BENCH_SECONDS (10) after a warm-up,
//!    each request drawn at random from many callers' tokens (admins, desk leads and supervisors,
//!    the last two seeing only the users of their desks), filters (desks, roles, statuses, one or
//!    two statuses) and cursors (first pages and deep pages reached by following `next_cursor`):
//!    requests/s, p50/p95/p99, and the CPU time of the server, PostgreSQL and the load generator
//!    per request. Target: ≥ 2,000 requests/s with p99 ≤ 25 ms at 16 connections;
//! 4. the console's Users page (cookie sessions, the same callers, filters and cursors) at
//!    ROSTER_BENCH_CONSOLE_CONCURRENCY (16) connections;
//! 5. a mass deactivation of one desk (100,000 users at 1M) by filter, with its activity records,
//!    ROSTER_BENCH_BULK_RUNS times (3; each on a desk of its own), and the median;
//! 6. the server's peak memory.
//!
//! Callers' sessions are inserted straight into `sessions` with tokens made here, as the auth
//! benchmark does. ROSTER_BENCH_BIN runs another build of `roster` (to measure two trees back to
//! back with the same benchmark). PostgreSQL comes from ROSTER_BENCH_POSTGRES_URL (default
//! postgres://postgres@127.0.0.1:5432/postgres); the benchmark creates and drops a database
//! `roster_bench` there.

// Test and benchmark code may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{AUTHORIZATION, COOKIE, HOST, HeaderValue};
use hyper::{Request, Uri};
use serde_json::{Value, json};
use sqlx::Row;

#[path = "support/server.rs"]
mod server;
use server::{memory_mb, peak_memory_mb, start_server};

#[path = "support/load.rs"]
mod load;
use load::*;

const LIST_RPS_TARGET: f64 = 2_000.0;
const LIST_P99_TARGET_MS: f64 = 25.0;
const WARM_UP: Duration = Duration::from_secs(2);

struct Settings {
    users: usize,
    concurrency: Vec<usize>,
    console_concurrency: usize,
    seconds: u64,
    quiet_wait: Duration,
    /// How many `limit=500` pages to follow per caller and filter for deep cursors.
    walk: usize,
    bulk_runs: usize,
}

struct Single {
    p50: f64,
    p99: f64,
    rps: f64,
}

fn summarize(mut samples: Vec<Duration>, total: Duration) -> Single {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)].as_secs_f64() * 1000.0;
    Single { p50: at(0.50), p99: at(0.99), rps: samples.len() as f64 / total.as_secs_f64() }
}

async fn measure(client: &reqwest::Client, url: &str, token: &str, n: usize) -> Single {
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

async fn catalog(client: &reqwest::Client, base: &str, token: &str, kind: &str) -> Vec<(String, i64)> {
    let items: Value = client
        .get(format!("{base}/api/v1/accounts/default/{kind}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // A catalog list is an array, or (once catalogs page like users) a page with `items`.
    let items = items.get("items").unwrap_or(&items).as_array().unwrap().clone();
    items.iter().map(|i| (i["name"].as_str().unwrap().to_string(), i["id"].as_i64().unwrap())).collect()
}

fn id_of(items: &[(String, i64)], name: &str) -> i64 {
    items.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no {name}")).1
}

/// Who calls in the sweep.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// Holds the Admin role: sees the whole account.
    Admin,
    /// A synthetic agent given the Supervisor role (scope: desks) at one desk.
    DeskLead,
    /// A synthetic supervisor (scope: desks).
    Supervisor,
}

struct Caller {
    kind: Kind,
    desk: i64,
    bearer: HeaderValue,
    cookie: HeaderValue,
}

/// Gives 12 synthetic agents the Admin role, 12 others (spread over the desks) the Supervisor
/// role, takes 8 synthetic supervisors as they are, and opens an API and a console session for
/// each (32 callers).
async fn seed_callers(pool: &sqlx::AnyPool) -> Vec<Caller> {
    let account: i64 =
        sqlx::query("SELECT id FROM accounts WHERE slug = 'default'").fetch_one(pool).await.unwrap().get(0);
    let role = |builtin: &'static str| async move {
        let row = sqlx::query("SELECT id FROM roles WHERE account_id = $1 AND builtin = $2")
            .bind(account)
            .bind(builtin)
            .fetch_one(pool)
            .await
            .unwrap();
        row.get::<i64, _>(0)
    };
    let (admin_role, supervisor_role, agent_role) =
        (role("admin").await, role("supervisor").await, role("agent").await);
    let rows = sqlx::query(
        "SELECT u.id, d.desk_id, r.role_id FROM users u JOIN user_desks d ON d.user_id = u.id \
         JOIN user_roles r ON r.user_id = u.id \
         WHERE u.account_id = $1 AND u.status = 'active' AND u.password_hash IS NULL ORDER BY u.id LIMIT 2000",
    )
    .bind(account)
    .fetch_all(pool)
    .await
    .unwrap();
    let candidates: Vec<(i64, i64, i64)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    let mut chosen: Vec<(Kind, i64, i64)> = Vec::new();
    let taken = |chosen: &Vec<(Kind, i64, i64)>, id: i64| chosen.iter().any(|c| c.1 == id);
    for &(id, desk, role) in &candidates {
        if role == supervisor_role && chosen.iter().filter(|c| c.0 == Kind::Supervisor).count() < 8 {
            chosen.push((Kind::Supervisor, id, desk));
        }
    }
    let mut desks_led: Vec<i64> = Vec::new();
    for &(id, desk, role) in &candidates {
        let leads = chosen.iter().filter(|c| c.0 == Kind::DeskLead).count();
        // Candidates come in id order, which cycles through the desks: at most two leads a desk
        // (Desk 01 has only supervisors, so the 12 leads sit at the other nine).
        if role == agent_role
            && leads < 12
            && !taken(&chosen, id)
            && desks_led.iter().filter(|d| **d == desk).count() < 2
        {
            desks_led.push(desk);
            chosen.push((Kind::DeskLead, id, desk));
        }
    }
    for &(id, desk, role) in &candidates {
        if role == agent_role && !taken(&chosen, id) && chosen.iter().filter(|c| c.0 == Kind::Admin).count() < 12 {
            chosen.push((Kind::Admin, id, desk));
        }
    }
    assert_eq!(chosen.len(), 32, "not enough synthetic users for the callers");
    let now = now_ms();
    let expires = now + 10 * 365 * 24 * 3_600_000;
    let mut callers = Vec::new();
    let mut tx = pool.begin().await.unwrap();
    for (kind, id, desk) in chosen {
        let extra_role = match kind {
            Kind::Admin => Some(admin_role),
            Kind::DeskLead => Some(supervisor_role),
            Kind::Supervisor => None,
        };
        if let Some(r) = extra_role {
            sqlx::query("INSERT INTO user_roles (user_id, role_id) VALUES ($1, $2)")
                .bind(id)
                .bind(r)
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        let mut tokens = Vec::new();
        for session_kind in ["api", "console"] {
            let token = new_token();
            sqlx::query(
                "INSERT INTO sessions (account_id, user_id, token_hash, kind, created_at, last_seen_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $5, $6)",
            )
            .bind(account)
            .bind(id)
            .bind(token_hash(&token))
            .bind(session_kind)
            .bind(now)
            .bind(expires)
            .execute(&mut *tx)
            .await
            .unwrap();
            tokens.push(token);
        }
        callers.push(Caller {
            kind,
            desk,
            bearer: HeaderValue::from_str(&format!("Bearer {}", tokens[0])).unwrap(),
            cookie: HeaderValue::from_str(&format!("roster_session={}", tokens[1])).unwrap(),
        });
    }
    tx.commit().await.unwrap();
    callers
}

/// One request of the sweep: whose session, which list URL (API path and console path).
struct Planned {
    caller: usize,
    api: Uri,
    console: Uri,
}

/// The filters each caller lists with: scoped callers at their own desk (a filter outside their
/// scope would match nobody and walk the whole login index to say so), admins at any desk.
fn filters_for(
    c: &Caller,
    i: usize,
    desks: &[(String, i64)],
    roles: &[(String, i64)],
) -> Vec<Vec<(&'static str, String)>> {
    let agent = id_of(roles, "Agent");
    let supervisor = id_of(roles, "Supervisor");
    let financial = id_of(roles, "Financial");
    let desk = match c.kind {
        Kind::Admin => desks[i % desks.len()].1,
        _ => c.desk,
    };
    let mut filters = vec![
        vec![("desk", desk.to_string()), ("role", agent.to_string()), ("status", "active".into())],
        vec![("desk", desk.to_string()), ("status", "disabled".into())],
        vec![("desk", desk.to_string()), ("status", "active".into()), ("status", "disabled".into())],
    ];
    if c.kind == Kind::Admin {
        // The supervisors (all at Desk 01) and the financial users (all at Desk 06), account-wide.
        filters.push(vec![("role", supervisor.to_string()), ("status", "active".into())]);
        filters.push(vec![("role", financial.to_string()), ("status", "active".into())]);
    }
    filters
}

fn query_string(filter: &[(&'static str, String)], api: bool) -> String {
    let mut pairs: Vec<String> = Vec::new();
    let statuses: Vec<&str> = filter.iter().filter(|(k, _)| *k == "status").map(|(_, v)| v.as_str()).collect();
    for (k, v) in filter {
        if *k != "status" {
            pairs.push(format!("{k}={v}"));
        }
    }
    match api {
        // The API takes a comma list; the console's form sends the key once per value.
        true if !statuses.is_empty() => pairs.push(format!("status={}", statuses.join(","))),
        true => {}
        false => pairs.extend(statuses.iter().map(|s| format!("status={s}"))),
    }
    pairs.join("&")
}

/// For every caller and filter: the first page and the deep pages found by following
/// `next_cursor` (in steps of 500 rows, up to `walk` steps).
async fn plan(
    client: &reqwest::Client,
    base: &str,
    callers: &[Caller],
    desks: &[(String, i64)],
    roles: &[(String, i64)],
    walk: usize,
) -> Vec<Planned> {
    let mut planned = Vec::new();
    for (i, c) in callers.iter().enumerate() {
        for filter in filters_for(c, i, desks, roles) {
            let (api_q, console_q) = (query_string(&filter, true), query_string(&filter, false));
            let mut cursors: Vec<Option<String>> = vec![None];
            let mut cursor: Option<String> = None;
            for _ in 0..walk {
                let mut url = format!("{base}/api/v1/accounts/default/users?{api_q}&limit=500");
                if let Some(cur) = &cursor {
                    url += &format!("&cursor={cur}");
                }
                let r = client.get(&url).header(AUTHORIZATION, c.bearer.clone()).send().await.unwrap();
                assert!(r.status().is_success(), "{url}: {}", r.status());
                let page: Value = r.json().await.unwrap();
                match page["next_cursor"].as_str() {
                    Some(next) => {
                        cursor = Some(next.to_string());
                        cursors.push(cursor.clone());
                    }
                    None => break,
                }
            }
            for cursor in cursors {
                let tail = cursor.map(|c| format!("&cursor={c}")).unwrap_or_default();
                planned.push(Planned {
                    caller: i,
                    api: format!("/api/v1/accounts/default/users?{api_q}&limit=50{tail}").parse().unwrap(),
                    console: format!("/console/users?{console_q}{tail}").parse().unwrap(),
                });
            }
        }
    }
    planned
}

/// Where the server's memory stands after a phase: what it holds now and its peak so far.
fn memory_after(pid: u32, phase: &str) {
    println!(
        "server memory after {phase}: {:.1} MB resident, peak so far {:.1} MB",
        memory_mb(pid, "VmRSS:"),
        peak_memory_mb(pid)
    );
}

async fn run(engine: &str, database_url: &str, psql_url: Option<&str>, s: &Settings) {
    let data_dir = tempfile::tempdir().unwrap();
    let data = data_dir.path().to_str().unwrap();
    let server = start_server(database_url, data);
    let pid = server.child.id();
    let with_pg = psql_url.is_some();

    let started = Instant::now();
    let out = Command::new(server::roster_bin())
        .args([
            "--database-url",
            database_url,
            "--data-dir",
            data,
            "users",
            "generate",
            "--count",
            &s.users.to_string(),
        ])
        .env("ROSTER_LOG", "warn")
        .output()
        .expect("run roster users generate");
    assert!(out.status.success(), "generate failed: {}", String::from_utf8_lossy(&out.stderr));
    let load_seconds = started.elapsed().as_secs_f64();
    println!("\n## {engine}, {} users", s.users);
    println!("load (roster users generate): {load_seconds:.1} s, {:.0} users/s", s.users as f64 / load_seconds);

    let client = reqwest::Client::new();
    let token = server.admin_token(&client).await;
    let desks = catalog(&client, &server.base, &token, "desks").await;
    let roles = catalog(&client, &server.base, &token, "roles").await;
    let (desk, role) = (id_of(&desks, "Desk 04"), id_of(&roles, "Agent"));
    let list = format!("{}/api/v1/accounts/default/users?desk={desk}&role={role}&status=active&limit=50", server.base);

    // -- One client, one warm URL (issue 2) -----------------------------------------------------
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
    println!("\n### One client, one URL (desk+role+status filter, limit 50, 300 requests after 20 warm-up)");
    println!("first page: p50 {:.2} ms, p99 {:.2} ms, {:.0} requests/s", first.p50, first.p99, first.rps);
    println!(
        "deep page (page {}): p50 {:.2} ms, p99 {:.2} ms, {:.0} requests/s",
        depth + 1,
        deep.p50,
        deep.p99,
        deep.rps
    );
    memory_after(pid, "reading the account (the first page) and the single-client pages");

    // -- The sweep (issue 11) -------------------------------------------------------------------
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new().max_connections(2).connect(database_url).await.unwrap();
    let callers = seed_callers(&pool).await;
    pool.close().await;
    let started = Instant::now();
    let planned = plan(&client, &server.base, &callers, &desks, &roles, s.walk).await;
    let firsts = planned.iter().filter(|p| !p.api.query().unwrap_or_default().contains("cursor=")).count();
    println!(
        "\n### Concurrency sweep: {} callers ({} admins, {} desk leads, {} supervisors), {} list URLs \
         ({} first pages, {} deeper pages by next_cursor), planned in {:.1} s",
        callers.len(),
        callers.iter().filter(|c| c.kind == Kind::Admin).count(),
        callers.iter().filter(|c| c.kind == Kind::DeskLead).count(),
        callers.iter().filter(|c| c.kind == Kind::Supervisor).count(),
        planned.len(),
        firsts,
        planned.len() - firsts,
        started.elapsed().as_secs_f64()
    );
    memory_after(pid, "planning (following each filter's cursors, 500 users a page)");
    let planned = Arc::new(planned);
    let bearers: Arc<Vec<HeaderValue>> = Arc::new(callers.iter().map(|c| c.bearer.clone()).collect());
    let cookies: Arc<Vec<HeaderValue>> = Arc::new(callers.iter().map(|c| c.cookie.clone()).collect());
    let host = HeaderValue::from_str(&server.addr.to_string()).unwrap();
    let make_api: MakeRequest = {
        let (planned, host) = (planned.clone(), host.clone());
        Arc::new(move |r| {
            let p = &planned[(r % planned.len() as u64) as usize];
            let mut req = Request::new(Full::new(Bytes::new()));
            *req.uri_mut() = p.api.clone();
            req.headers_mut().insert(HOST, host.clone());
            req.headers_mut().insert(AUTHORIZATION, bearers[p.caller].clone());
            req
        })
    };
    let make_console: MakeRequest = {
        let (planned, host) = (planned.clone(), host.clone());
        Arc::new(move |r| {
            let p = &planned[(r % planned.len() as u64) as usize];
            let mut req = Request::new(Full::new(Bytes::new()));
            *req.uri_mut() = p.console.clone();
            req.headers_mut().insert(HOST, host.clone());
            req.headers_mut().insert(COOKIE, cookies[p.caller].clone());
            req
        })
    };
    let measure_for = Duration::from_secs(s.seconds);
    let sweep = |what: &str, make: MakeRequest, c: usize| {
        let warm = run_load(server.addr, make.clone(), c, WARM_UP);
        assert_eq!(warm.errors, 0, "{what} warm-up errors, first: {:?}", warm.first_error);
        wait_for_quiet(s.quiet_wait);
        let before = CpuMark::now(pid, with_pg);
        let result = run_load(server.addr, make, c, measure_for);
        let cpu = cpu_between(&before, &CpuMark::now(pid, with_pg));
        println!(
            "{what} C={c:<3} {:>7.0} req/s  p50 {:>6.2} ms  p95 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms  ok {}  errors {}",
            result.rps(),
            result.at(0.50),
            result.at(0.95),
            result.at(0.99),
            result.latencies.last().map(|&l| l as f64 / 1000.0).unwrap_or(f64::NAN),
            result.ok,
            result.errors
        );
        println!("       {}", cpu.describe(result.ok + result.errors, with_pg));
        if let Some(e) = &result.first_error {
            println!("       first error: {e}");
        }
        result
    };
    let mut at16 = None;
    for &c in &s.concurrency {
        let r = sweep("API list    ", make_api.clone(), c);
        if c == 16 {
            at16 = Some(r);
        }
    }
    memory_after(pid, "the API list sweep");
    let console = sweep("console page", make_console, s.console_concurrency);
    memory_after(pid, "the console sweep");
    if let Some(r) = at16 {
        let met = r.rps() >= LIST_RPS_TARGET && r.at(0.99) <= LIST_P99_TARGET_MS && r.errors == 0;
        println!(
            "API list at C=16: {:.0} req/s, p99 {:.2} ms -> target >= {LIST_RPS_TARGET:.0} req/s with p99 <= \
             {LIST_P99_TARGET_MS} ms: {}",
            r.rps(),
            r.at(0.99),
            if met { "MET" } else { "MISSED" }
        );
    }
    let met = console.rps() >= LIST_RPS_TARGET && console.at(0.99) <= LIST_P99_TARGET_MS && console.errors == 0;
    println!(
        "console Users page at C={}: {:.0} req/s, p99 {:.2} ms -> same target: {}",
        s.console_concurrency,
        console.rps(),
        console.at(0.99),
        if met { "MET" } else { "MISSED" }
    );

    // -- Bulk: one desk each run (the list above has been measured before any of them) ----------
    let mut runs = Vec::new();
    for run in 0..s.bulk_runs {
        let desk = desks[(2 + run) % desks.len()].1;
        let started = Instant::now();
        let response = client
            .post(format!("{}/api/v1/accounts/default/users/bulk", server.base))
            .bearer_auth(&token)
            .json(&json!({"action": "deactivate", "target": {"filter": {"desk": [desk]}}}))
            .timeout(Duration::from_secs(600))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let result: Value = response.json().await.unwrap();
        let seconds = started.elapsed().as_secs_f64();
        assert!(status.is_success(), "bulk run {} answered {status}: {result}", run + 1);
        println!(
            "bulk deactivate by desk filter, run {}: matched {}, changed {}, {seconds:.2} s (with one activity record per user)",
            run + 1,
            result["matched"],
            result["changed"]
        );
        runs.push(seconds);
    }
    if !runs.is_empty() {
        runs.sort_by(f64::total_cmp);
        println!(
            "bulk deactivate: median of {} runs {:.2} s (each on a desk of its own)",
            runs.len(),
            runs[runs.len() / 2]
        );
    }
    println!("server peak memory (VmHWM): {:.1} MB", peak_memory_mb(pid));
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; a filter argument, if any, is ignored.
    let settings = Settings {
        users: env_or("ROSTER_BENCH_USERS", 1_000_000),
        concurrency: std::env::var("ROSTER_BENCH_CONCURRENCY")
            .unwrap_or_else(|_| "1,16,64".into())
            .split(',')
            .map(|c| c.trim().parse().expect("ROSTER_BENCH_CONCURRENCY: numbers separated by commas"))
            .collect(),
        console_concurrency: env_or("ROSTER_BENCH_CONSOLE_CONCURRENCY", 16),
        seconds: env_or("ROSTER_BENCH_SECONDS", 10),
        quiet_wait: Duration::from_secs(env_or("ROSTER_BENCH_QUIET_WAIT", 30)),
        walk: env_or("ROSTER_BENCH_WALK", 10),
        bulk_runs: env_or("ROSTER_BENCH_BULK_RUNS", 3),
    };
    let engines = std::env::var("ROSTER_BENCH_ENGINES").unwrap_or_else(|_| "sqlite,postgres".into());
    let mut vars: Vec<String> =
        std::env::vars().filter(|(k, _)| k.starts_with("ROSTER_BENCH_")).map(|(k, v)| format!("{k}={v}")).collect();
    vars.sort();
    println!("# Roster scale benchmark (issues 2 and 11)");
    println!("command: {}cargo bench --bench scale", vars.iter().map(|v| format!("{v} ")).collect::<String>());
    println!(
        "commit {}; binary {}; {} cores; engines {engines}; {} users; list concurrency {:?}; {} s per measurement",
        commit_description(),
        server::roster_bin(),
        cores(),
        settings.users,
        settings.concurrency,
        settings.seconds
    );
    for engine in engines.split(',').map(str::trim) {
        match engine {
            "sqlite" => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}/bench.db", dir.path().display());
                run("SQLite", &url, None, &settings).await;
            }
            "postgres" => {
                let admin = std::env::var("ROSTER_BENCH_POSTGRES_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
                psql(&admin, "DROP DATABASE IF EXISTS roster_bench");
                psql(&admin, "CREATE DATABASE roster_bench");
                let url = match admin.rsplit_once('/') {
                    Some((base, _)) => format!("{base}/roster_bench"),
                    None => panic!("ROSTER_BENCH_POSTGRES_URL needs a database path"),
                };
                run("PostgreSQL", &url, Some(&url), &settings).await;
                psql(&admin, "DROP DATABASE IF EXISTS roster_bench");
            }
            other => panic!("unknown engine {other:?}: use sqlite and/or postgres"),
        }
    }
}
