//! Authentication benchmark (issue 3): the per-request session check and sign-in throughput,
//! on each engine.
//!
//!     cargo bench --bench auth
//!     ROSTER_BENCH_ENGINES=sqlite ROSTER_BENCH_CONCURRENCY=64 cargo bench --bench auth
//!
//! It runs the release `roster` binary as a separate process, as in production, and measures:
//!
//! 1. `GET /api/v1/session` with `Authorization: Bearer …`, each request with a token drawn at
//!    random from N live API sessions (100,000 by default), over C concurrent keep-alive
//!    connections (each setting of ROSTER_BENCH_CONCURRENCY, default 16,32,64): a warm-up, then
//!    ROSTER_BENCH_SECONDS (10) of load; requests/s, p50/p90/p99/p99.9, errors (anything but 200),
//!    the server's CPU time (and PostgreSQL's) and the load generator's own. Target: ≥ 20,000
//!    requests/s with p99 ≤ 5 ms.
//!    The users come from `roster users generate`; their sessions are inserted straight into the
//!    `sessions` table with tokens made here (the table keeps the SHA-256 hex of the token).
//!    Before each measured run every session's `last_seen_at` is spread evenly over the last
//!    minute, as in a steady state where each session is used at least once a minute: the server
//!    then writes `last_seen_at` once per session and minute (its 60 s granularity), and the
//!    number of those writes during the run is printed.
//! 2. Raw argon2id verification on this machine (m = 19456 KiB, t = 2, p = 1, one thread per
//!    core, ROSTER_BENCH_SECONDS), then `POST /api/v1/auth/login` with correct passwords of
//!    users made through the API (ROSTER_BENCH_LOGIN_CONCURRENCY clients, default 8), and the
//!    ratio of the two. Target: ≥ 90 %.
//!
//! Other settings: ROSTER_BENCH_SESSIONS (100000), ROSTER_BENCH_LOGIN_USERS (32). Each measurement
//! first waits (up to ROSTER_BENCH_QUIET_WAIT seconds, default 60) for the machine to be idle, and
//! every figure comes with the CPU that everything else on the machine used meanwhile, flagged
//! when it is enough to disturb the figures.
//!
//! The load generator is one tokio current-thread runtime on its own thread, one hyper HTTP/1
//! connection per task, so it takes as little as possible of the cores it shares with the server.
//! PostgreSQL comes from ROSTER_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres);
//! the benchmark creates and drops a database `roster_bench_auth` there.

// Test and benchmark code may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::Row;

const BIN: &str = env!("CARGO_BIN_EXE_roster");
const SESSION_RPS_TARGET: f64 = 20_000.0;
const SESSION_P99_TARGET_MS: f64 = 5.0;
const SIGN_IN_RATIO_TARGET: f64 = 0.90;
const WARM_UP: Duration = Duration::from_secs(3);

#[path = "support/server.rs"]
mod server;
use server::start_server;

// ---------------------------------------------------------------------------------------------
// Process figures from /proc

// The benchmark's one unsafe call (the product's is the allocator tuning in src/main.rs).
#[allow(unsafe_code)]
fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// User + system CPU seconds of a process (all its threads), and its command name.
fn cpu_seconds_and_name(pid: &str) -> Option<(f64, String)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat[open + 1..close].to_string();
    let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
    // After the name: state is field 3, utime field 14, stime field 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some(((utime + stime) / clock_ticks(), name))
}

fn cpu_seconds(pid: u32) -> f64 {
    cpu_seconds_and_name(&pid.to_string()).map(|(s, _)| s).unwrap_or(f64::NAN)
}

fn own_cpu_seconds() -> f64 {
    cpu_seconds_and_name("self").map(|(s, _)| s).unwrap_or(f64::NAN)
}

/// CPU seconds of every `postgres` process on the machine (the server and its backends). Backends
/// that end between two readings take their time with them, so this undercounts a little.
fn postgres_cpu_seconds() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else { return f64::NAN };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().filter(|n| n.bytes().all(|b| b.is_ascii_digit())).map(str::to_string))
        .filter_map(|pid| cpu_seconds_and_name(&pid))
        .filter(|(_, name)| name == "postgres")
        .map(|(s, _)| s)
        .sum()
}

fn status_kb(pid: u32, key: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .unwrap_or(f64::NAN)
}

/// Busy and stolen CPU seconds of the whole machine, from /proc/stat.
fn machine_cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else { return (f64::NAN, f64::NAN) };
    let v: Vec<f64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    let get = |i: usize| v.get(i).copied().unwrap_or(0.0);
    // user nice system idle iowait irq softirq steal
    let busy = get(0) + get(1) + get(2) + get(5) + get(6);
    (busy / clock_ticks(), get(7) / clock_ticks())
}

/// Waits (up to `max`) until the machine has been idle for a second: other work on the two cores
/// would be counted against the server. Returns the busy cores of the last sample.
fn wait_for_quiet(max: Duration) -> f64 {
    let started = Instant::now();
    loop {
        let (a, _) = machine_cpu_seconds();
        std::thread::sleep(Duration::from_secs(1));
        let (b, _) = machine_cpu_seconds();
        let busy = b - a;
        if busy < 0.2 {
            return busy;
        }
        if started.elapsed() >= max {
            println!(
                "  (the machine is still busy with other work, {busy:.2} cores, after waiting {} s: measuring anyway)",
                max.as_secs()
            );
            return busy;
        }
    }
}

struct CpuMark {
    at: Instant,
    server: f64,
    postgres: f64,
    client: f64,
    machine: f64,
    steal: f64,
}

impl CpuMark {
    fn now(server_pid: u32, with_postgres: bool) -> CpuMark {
        CpuMark {
            at: Instant::now(),
            server: cpu_seconds(server_pid),
            postgres: if with_postgres { postgres_cpu_seconds() } else { 0.0 },
            client: own_cpu_seconds(),
            machine: machine_cpu_seconds().0,
            steal: machine_cpu_seconds().1,
        }
    }
}

struct CpuUse {
    wall: f64,
    server: f64,
    postgres: f64,
    client: f64,
    /// Busy time of everything else on the machine: other processes disturb the figures.
    others: f64,
    steal: f64,
}

fn cpu_between(a: &CpuMark, b: &CpuMark) -> CpuUse {
    CpuUse {
        wall: (b.at - a.at).as_secs_f64(),
        server: b.server - a.server,
        postgres: b.postgres - a.postgres,
        client: b.client - a.client,
        others: ((b.machine - a.machine) - (b.server - a.server) - (b.postgres - a.postgres) - (b.client - a.client))
            .max(0.0),
        steal: b.steal - a.steal,
    }
}

impl CpuUse {
    fn describe(&self, requests: u64, with_postgres: bool) -> String {
        let per = |s: f64| if requests > 0 { s * 1e6 / requests as f64 } else { f64::NAN };
        let mut out = format!(
            "server CPU {:.1} s ({:.2} cores, {:.0} µs/request)",
            self.server,
            self.server / self.wall,
            per(self.server)
        );
        if with_postgres {
            out += &format!(
                ", PostgreSQL CPU {:.1} s ({:.2} cores, {:.0} µs/request)",
                self.postgres,
                self.postgres / self.wall,
                per(self.postgres)
            );
        }
        out += &format!(
            ", load generator CPU {:.1} s ({:.2} cores, {:.0} µs/request)",
            self.client,
            self.client / self.wall,
            per(self.client)
        );
        out += &format!(", everything else {:.2} cores", self.others / self.wall);
        if self.steal / self.wall > 0.05 {
            out += &format!(", stolen by the hypervisor {:.2} cores", self.steal / self.wall);
        }
        if self.others / self.wall > 0.15 {
            out += "  ** WARNING: the machine was busy with other work; figures are disturbed **";
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// The load generator: one current-thread tokio runtime on its own thread, one hyper HTTP/1
// keep-alive connection per task.

type MakeRequest = Arc<dyn Fn(u64) -> Request<Full<Bytes>> + Send + Sync>;

#[derive(Default)]
struct LoadResult {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    /// Microseconds, one per completed request (errors included).
    latencies: Vec<u32>,
    elapsed: Duration,
}

impl LoadResult {
    fn rps(&self) -> f64 {
        (self.ok + self.errors) as f64 / self.elapsed.as_secs_f64()
    }

    /// Milliseconds at quantile `q`.
    fn at(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies.len() as f64 * q) as usize).min(self.latencies.len() - 1);
        self.latencies[i] as f64 / 1000.0
    }

    fn describe(&self) -> String {
        format!(
            "{:>8.0} req/s  p50 {:>6.2} ms  p90 {:>6.2} ms  p99 {:>6.2} ms  p99.9 {:>6.2} ms  max {:>7.2} ms  ok {}  errors {}",
            self.rps(),
            self.at(0.50),
            self.at(0.90),
            self.at(0.99),
            self.at(0.999),
            self.latencies.last().map(|&l| l as f64 / 1000.0).unwrap_or(f64::NAN),
            self.ok,
            self.errors
        )
    }
}

/// xorshift64*: a cheap per-task random stream for picking tokens.
fn next_random(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    x.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

async fn connect(addr: SocketAddr) -> Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>, String> {
    let stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

async fn worker(addr: SocketAddr, make: MakeRequest, seed: u64, until: Instant) -> LoadResult {
    let mut result = LoadResult { latencies: Vec::with_capacity(1 << 16), ..LoadResult::default() };
    let mut rng = seed | 1;
    let mut sender = None;
    while Instant::now() < until {
        let mut s = match sender.take() {
            Some(s) => s,
            None => match connect(addr).await {
                Ok(s) => s,
                Err(e) => {
                    result.errors += 1;
                    result.first_error.get_or_insert(e);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let request = make(next_random(&mut rng));
        let started = Instant::now();
        if s.ready().await.is_err() {
            continue; // The server closed the connection: open another one.
        }
        let outcome = match s.send_request(request).await {
            Ok(response) => {
                let status = response.status();
                match response.into_body().collect().await {
                    Ok(_) if status == StatusCode::OK => Ok(()),
                    Ok(body) => Err(format!("{status}: {}", String::from_utf8_lossy(&body.to_bytes()))),
                    Err(e) => Err(format!("body: {e}")),
                }
            }
            Err(e) => Err(format!("request: {e}")),
        };
        result.latencies.push(started.elapsed().as_micros().min(u32::MAX as u128) as u32);
        match outcome {
            Ok(()) => {
                result.ok += 1;
                sender = Some(s);
            }
            Err(e) => {
                result.errors += 1;
                result.first_error.get_or_insert(e);
            }
        }
    }
    result
}

/// Runs `concurrency` connections for `duration` on a runtime with one thread of its own.
fn run_load(addr: SocketAddr, make: MakeRequest, concurrency: usize, duration: Duration) -> LoadResult {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let started = Instant::now();
            let until = started + duration;
            let tasks: Vec<_> = (0..concurrency)
                .map(|i| {
                    tokio::spawn(worker(addr, make.clone(), 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(i as u64 + 1), until))
                })
                .collect();
            let mut total = LoadResult::default();
            for t in tasks {
                let r = t.await.unwrap();
                total.ok += r.ok;
                total.errors += r.errors;
                if total.first_error.is_none() {
                    total.first_error = r.first_error;
                }
                total.latencies.extend(r.latencies);
            }
            total.elapsed = started.elapsed();
            total.latencies.sort_unstable();
            total
        })
    })
    .join()
    .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Seeding

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Inserts one live API session for each of the first `n` active synthetic users (no password),
/// in multi-row INSERTs of literal values (they are all numbers and hex made here), and returns
/// the tokens.
async fn seed_sessions(pool: &sqlx::AnyPool, n: usize) -> Vec<String> {
    let rows = sqlx::query(
        "SELECT u.id, u.account_id FROM users u JOIN accounts a ON a.id = u.account_id \
         WHERE a.slug = 'default' AND u.status = 'active' AND u.password_hash IS NULL ORDER BY u.id LIMIT $1",
    )
    .bind(n as i64)
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), n, "not enough active synthetic users for {n} sessions");
    let now = now_ms();
    let expires = now + 10 * 365 * 24 * 3_600_000;
    let mut tokens = Vec::with_capacity(n);
    let mut tx = pool.begin().await.unwrap();
    for chunk in rows.chunks(1000) {
        let mut sql = String::with_capacity(chunk.len() * 150);
        sql.push_str(
            "INSERT INTO sessions (account_id, user_id, token_hash, kind, created_at, last_seen_at, expires_at) VALUES ",
        );
        for (i, row) in chunk.iter().enumerate() {
            let user: i64 = row.try_get(0).unwrap();
            let account: i64 = row.try_get(1).unwrap();
            let token = new_token();
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("({account},{user},'{}','api',{now},{now},{expires})", token_hash(&token)));
            tokens.push(token);
        }
        sqlx::query(&sql).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    tokens
}

/// Spreads every session's last use evenly over the last minute (see the module comment).
async fn spread_last_seen(pool: &sqlx::AnyPool, psql_url: Option<&str>) {
    let now = now_ms();
    sqlx::query(&format!("UPDATE sessions SET last_seen_at = {now} - (id * 7919) % 60000"))
        .execute(pool)
        .await
        .unwrap();
    if let Some(url) = psql_url {
        // Leave no dead row versions behind for the lookups to step over.
        psql(url, "VACUUM (ANALYZE) sessions");
    }
}

async fn count_touched_since(pool: &sqlx::AnyPool, since: i64) -> i64 {
    sqlx::query(&format!("SELECT COUNT(*) FROM sessions WHERE last_seen_at >= {since}"))
        .fetch_one(pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

fn psql(url: &str, sql: &str) {
    let ok = Command::new("psql").args([url, "-qc", sql]).status().map(|s| s.success());
    assert!(matches!(ok, Ok(true)), "psql {sql:?} failed");
}

// ---------------------------------------------------------------------------------------------
// Argon2id

fn argon2id() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(19_456, 2, 1, None).unwrap())
}

/// Verifications per second with one thread per core, each parsing and verifying a correct
/// password as the server does.
fn raw_argon2_rate(duration: Duration) -> (f64, usize, u64) {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let phc = argon2id().hash_password(b"Bench-password-7q", &salt).unwrap().to_string();
    let started = Instant::now();
    let until = started + duration;
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let phc = phc.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                while Instant::now() < until {
                    let parsed = PasswordHash::new(&phc).unwrap();
                    assert!(argon2id().verify_password(b"Bench-password-7q", &parsed).is_ok());
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    (total as f64 / started.elapsed().as_secs_f64(), threads, total)
}

// ---------------------------------------------------------------------------------------------

struct Settings {
    sessions: usize,
    concurrency: Vec<usize>,
    seconds: u64,
    login_concurrency: usize,
    login_users: usize,
    quiet_wait: Duration,
}

fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
}

fn verdict(met: bool) -> &'static str {
    if met { "MET" } else { "MISSED" }
}

fn run(engine: &str, database_url: &str, psql_url: Option<&str>, settings: &Settings) {
    let setup = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let data = data_dir.path().to_str().unwrap();
    let server = start_server(database_url, data);
    let pid = server.child.id();
    let with_pg = psql_url.is_some();
    let measure = Duration::from_secs(settings.seconds);

    println!("\n## {engine}, {} live sessions", settings.sessions);

    // Synthetic users: every 21st is disabled, so make enough to have `sessions` active ones.
    let users = settings.sessions + settings.sessions / 20 + 100;
    let started = Instant::now();
    let out = Command::new(BIN)
        .args(["--database-url", database_url, "--data-dir", data, "users", "generate", "--count", &users.to_string()])
        .env("ROSTER_LOG", "warn")
        .output()
        .expect("run roster users generate");
    assert!(out.status.success(), "generate failed: {}", String::from_utf8_lossy(&out.stderr));
    let generate_s = started.elapsed().as_secs_f64();

    sqlx::any::install_default_drivers();
    let pool = setup.block_on(sqlx::any::AnyPoolOptions::new().max_connections(2).connect(database_url)).unwrap();
    let started = Instant::now();
    let tokens = setup.block_on(seed_sessions(&pool, settings.sessions));
    if let Some(url) = psql_url {
        psql(url, "ANALYZE sessions");
    }
    println!(
        "seed: {users} users with `roster users generate` in {generate_s:.1} s; {} sessions inserted in {:.1} s",
        tokens.len(),
        started.elapsed().as_secs_f64()
    );

    // -- 1. Session check ----------------------------------------------------------------------
    let host = HeaderValue::from_str(&server.addr.to_string()).unwrap();
    let bearers: Arc<Vec<HeaderValue>> =
        Arc::new(tokens.iter().map(|t| HeaderValue::from_str(&format!("Bearer {t}")).unwrap()).collect());
    let make_session: MakeRequest = {
        let host = host.clone();
        let uri: hyper::Uri = "/api/v1/session".parse().unwrap();
        Arc::new(move |r| {
            let mut req = Request::new(Full::new(Bytes::new()));
            *req.uri_mut() = uri.clone();
            let h = req.headers_mut();
            h.insert(HOST, host.clone());
            h.insert(AUTHORIZATION, bearers[(r % bearers.len() as u64) as usize].clone());
            req
        })
    };

    println!(
        "\n### 1. GET /api/v1/session, random token of {} (warm-up {} s, then {} s per setting)",
        tokens.len(),
        WARM_UP.as_secs(),
        settings.seconds
    );
    // Steady state: the PBX's components validate the same live tokens again and again, so
    // every token is asked for once (in order) before measuring; a cold cache is the first
    // minute after a restart, not the normal case. The cold pass is reported too.
    let prime: MakeRequest = {
        let host = host.clone();
        let uri: hyper::Uri = "/api/v1/session".parse().unwrap();
        let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let bearers: Vec<HeaderValue> =
            tokens.iter().map(|t| HeaderValue::from_str(&format!("Bearer {t}")).unwrap()).collect();
        Arc::new(move |_| {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) as usize % bearers.len();
            let mut req = Request::new(Full::new(Bytes::new()));
            *req.uri_mut() = uri.clone();
            let h = req.headers_mut();
            h.insert(HOST, host.clone());
            h.insert(AUTHORIZATION, bearers[i].clone());
            req
        })
    };
    let prime_for = Duration::from_secs_f64((tokens.len() as f64 / 2_000.0).max(2.0));
    let cold = run_load(server.addr, prime, 16, prime_for);
    assert_eq!(cold.errors, 0, "priming errors, first: {:?}", cold.first_error);
    println!("cold pass (each token in turn, C=16, {:.0} s): {}", prime_for.as_secs_f64(), cold.describe());
    let mut best: Option<(usize, LoadResult)> = None;
    for &c in &settings.concurrency {
        let warm = run_load(server.addr, make_session.clone(), c, WARM_UP);
        assert_eq!(warm.errors, 0, "warm-up errors, first: {:?}", warm.first_error);
        wait_for_quiet(settings.quiet_wait);
        setup.block_on(spread_last_seen(&pool, psql_url));
        let since = now_ms();
        let before = CpuMark::now(pid, with_pg);
        let result = run_load(server.addr, make_session.clone(), c, measure);
        let after = CpuMark::now(pid, with_pg);
        let touched = setup.block_on(count_touched_since(&pool, since));
        let cpu = cpu_between(&before, &after);
        println!("C={c:<4} {}", result.describe());
        println!("       {}", cpu.describe(result.ok + result.errors, with_pg));
        println!("       last_seen_at writes during the run: {touched}");
        let per_request = (cpu.server + cpu.postgres) / (result.ok + result.errors).max(1) as f64;
        println!(
            "       CPU-bound ceiling of the server{} on {} cores, with no load generator: {:.0} requests/s",
            if with_pg { " + PostgreSQL" } else { "" },
            cores(),
            cores() as f64 / per_request
        );
        if let Some(e) = &result.first_error {
            println!("       first error: {e}");
        }
        if best.as_ref().is_none_or(|(_, b)| result.rps() > b.rps()) {
            best = Some((c, result));
        }
    }
    let (best_c, best) = best.expect("at least one concurrency setting");
    let met = best.rps() >= SESSION_RPS_TARGET && best.at(0.99) <= SESSION_P99_TARGET_MS && best.errors == 0;
    println!(
        "best: C={best_c}: {:.0} requests/s, p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, errors {}  \
         -> target >= {SESSION_RPS_TARGET:.0} req/s with p99 <= {SESSION_P99_TARGET_MS} ms: {}",
        best.rps(),
        best.at(0.50),
        best.at(0.90),
        best.at(0.99),
        best.at(0.999),
        best.errors,
        verdict(met)
    );
    println!(
        "server memory after the session runs: peak (VmHWM) {:.1} MB, resident (VmRSS) {:.1} MB",
        status_kb(pid, "VmHWM:") / 1024.0,
        status_kb(pid, "VmRSS:") / 1024.0
    );

    // -- 2. Sign-in vs raw argon2id ------------------------------------------------------------
    println!("\n### 2. Sign-in throughput vs raw argon2id ({} s each)", settings.seconds);
    let client = reqwest::Client::new();
    let admin_token = setup.block_on(server.admin_token(&client));
    let password = "Bench-password-7q";
    let started = Instant::now();
    let logins: Vec<String> = setup.block_on(async {
        let mut logins = Vec::new();
        for i in 0..settings.login_users {
            let login = format!("signin{i:03}");
            let r = client
                .post(format!("{}/api/v1/accounts/default/users", server.base))
                .bearer_auth(&admin_token)
                .json(&json!({"login": login, "password": password, "must_change_password": false}))
                .send()
                .await
                .unwrap();
            let status = r.status();
            assert!(status.is_success(), "create {login}: {status} {}", r.text().await.unwrap_or_default());
            logins.push(login);
        }
        logins
    });
    println!(
        "{} users with argon2id passwords made through the API in {:.1} s",
        logins.len(),
        started.elapsed().as_secs_f64()
    );

    wait_for_quiet(settings.quiet_wait);
    let before = CpuMark::now(pid, with_pg);
    let (raw_rate, threads, raw_count) = raw_argon2_rate(measure);
    let cpu = cpu_between(&before, &CpuMark::now(pid, with_pg));
    println!(
        "raw argon2id verify (m=19456 KiB, t=2, p=1), {threads} threads in this process: {raw_rate:.1} verifications/s ({:.1} ms each per core)",
        threads as f64 * 1000.0 / raw_rate
    );
    let raw_cpu_ms = cpu.client * 1000.0 / raw_count.max(1) as f64;
    let mut disturbed = cpu.others / cpu.wall > 0.15;
    println!(
        "       this process {:.2} cores, {raw_cpu_ms:.1} ms CPU per verification; everything else {:.2} cores{}",
        cpu.client / cpu.wall,
        cpu.others / cpu.wall,
        if cpu.others / cpu.wall > 0.15 {
            "  ** WARNING: the machine was busy with other work; figures are disturbed **"
        } else {
            ""
        }
    );

    let bodies: Arc<Vec<Bytes>> = Arc::new(
        logins
            .iter()
            .map(|l| Bytes::from(json!({"account": "default", "login": l, "password": password}).to_string()))
            .collect(),
    );
    let make_login: MakeRequest = {
        let host = host.clone();
        Arc::new(move |r| {
            let mut req = Request::new(Full::new(bodies[(r % bodies.len() as u64) as usize].clone()));
            *req.method_mut() = Method::POST;
            *req.uri_mut() = "/api/v1/auth/login".parse().unwrap();
            let h = req.headers_mut();
            h.insert(HOST, host.clone());
            h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            req
        })
    };
    let warm = run_load(server.addr, make_login.clone(), settings.login_concurrency, Duration::from_secs(2));
    assert_eq!(warm.errors, 0, "sign-in warm-up errors, first: {:?}", warm.first_error);
    wait_for_quiet(settings.quiet_wait);
    let before = CpuMark::now(pid, with_pg);
    let signins = run_load(server.addr, make_login, settings.login_concurrency, measure);
    let after = CpuMark::now(pid, with_pg);
    let cpu = cpu_between(&before, &after);
    println!("sign-in, C={}: {}", settings.login_concurrency, signins.describe());
    println!("       {}", cpu.describe(signins.ok + signins.errors, with_pg));
    if let Some(e) = &signins.first_error {
        println!("       first error: {e}");
    }
    let ratio = signins.ok as f64 / signins.elapsed.as_secs_f64() / raw_rate;
    disturbed |= cpu.others / cpu.wall > 0.15;
    // The same comparison by CPU time, which holds up better when other work shares the cores.
    let signin_cpu_ms = (cpu.server + cpu.postgres) * 1000.0 / signins.ok.max(1) as f64;
    println!(
        "by CPU time: raw argon2id {raw_cpu_ms:.1} ms per verification vs {signin_cpu_ms:.1} ms server{} CPU per sign-in = {:.1} %",
        if with_pg { " + PostgreSQL" } else { "" },
        raw_cpu_ms / signin_cpu_ms * 100.0
    );
    println!(
        "sign-ins/s {:.1} vs raw argon2id {raw_rate:.1}/s = {:.1} %  -> target >= {:.0} %: {}{}",
        signins.ok as f64 / signins.elapsed.as_secs_f64(),
        ratio * 100.0,
        SIGN_IN_RATIO_TARGET * 100.0,
        verdict(ratio >= SIGN_IN_RATIO_TARGET && signins.errors == 0),
        if disturbed {
            " (unreliable: other work took the cores unevenly between the two runs; the CPU-time ratio above holds)"
        } else {
            ""
        }
    );
    println!(
        "server peak memory over the whole run (VmHWM): {:.1} MB; resident now (VmRSS) {:.1} MB",
        status_kb(pid, "VmHWM:") / 1024.0,
        status_kb(pid, "VmRSS:") / 1024.0
    );
    setup.block_on(pool.close());
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument, if any, is ignored.
    let settings = Settings {
        sessions: env_or("ROSTER_BENCH_SESSIONS", 100_000),
        concurrency: std::env::var("ROSTER_BENCH_CONCURRENCY")
            .unwrap_or_else(|_| "16,32,64".into())
            .split(',')
            .map(|c| c.trim().parse().expect("ROSTER_BENCH_CONCURRENCY: numbers separated by commas"))
            .collect(),
        seconds: env_or("ROSTER_BENCH_SECONDS", 10),
        login_concurrency: env_or("ROSTER_BENCH_LOGIN_CONCURRENCY", 8),
        login_users: env_or("ROSTER_BENCH_LOGIN_USERS", 32),
        quiet_wait: Duration::from_secs(env_or("ROSTER_BENCH_QUIET_WAIT", 60)),
    };
    let engines = std::env::var("ROSTER_BENCH_ENGINES").unwrap_or_else(|_| "sqlite,postgres".into());

    let mut vars: Vec<String> =
        std::env::vars().filter(|(k, _)| k.starts_with("ROSTER_BENCH_")).map(|(k, v)| format!("{k}={v}")).collect();
    vars.sort();
    let commit = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown (not a git checkout)".into());
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--", "src", "migrations"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().count())
        .unwrap_or(0);
    let commit =
        if dirty > 0 { format!("{commit} with {dirty} uncommitted changes in src/ and migrations/") } else { commit };
    println!("# Roster auth benchmark (issue 3)");
    println!("command: {}cargo bench --bench auth", vars.iter().map(|v| format!("{v} ")).collect::<String>());
    println!(
        "commit {commit}; {} cores; engines {engines}; {} sessions; session concurrency {:?}; {} s per measurement; \
         sign-in concurrency {} over {} users",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        settings.sessions,
        settings.concurrency,
        settings.seconds,
        settings.login_concurrency,
        settings.login_users
    );

    for engine in engines.split(',').map(str::trim) {
        match engine {
            "sqlite" => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}/bench.db", dir.path().display());
                run("SQLite", &url, None, &settings);
            }
            "postgres" => {
                let admin = std::env::var("ROSTER_BENCH_POSTGRES_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
                psql(&admin, "DROP DATABASE IF EXISTS roster_bench_auth");
                psql(&admin, "CREATE DATABASE roster_bench_auth");
                let url = match admin.rsplit_once('/') {
                    Some((base, _)) => format!("{base}/roster_bench_auth"),
                    None => panic!("ROSTER_BENCH_POSTGRES_URL needs a database path"),
                };
                run("PostgreSQL", &url, Some(&url), &settings);
                psql(&admin, "DROP DATABASE IF EXISTS roster_bench_auth");
            }
            other => panic!("unknown engine {other:?}: use sqlite and/or postgres"),
        }
    }
}
