//! What both benchmarks measure with: CPU time from /proc (the server's, PostgreSQL's, the load
//! generator's own and everything else's), a quiet-machine wait, and the load generator — one
//! tokio current-thread runtime on its own thread, one hyper HTTP/1 keep-alive connection per
//! task, so that it takes as little as possible of the cores it shares with the server.
//! Included with `#[path]` by each bench (benches share no crate), and each uses part of it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use rand::RngCore;
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------------------------------------
// Process figures from /proc

// The benchmark's one unsafe call (the product's is the allocator tuning in src/main.rs).
#[allow(unsafe_code)]
pub fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// User + system CPU seconds of a process (all its threads), and its command name.
pub fn cpu_seconds_and_name(pid: &str) -> Option<(f64, String)> {
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

pub fn cpu_seconds(pid: u32) -> f64 {
    cpu_seconds_and_name(&pid.to_string()).map(|(s, _)| s).unwrap_or(f64::NAN)
}

pub fn own_cpu_seconds() -> f64 {
    cpu_seconds_and_name("self").map(|(s, _)| s).unwrap_or(f64::NAN)
}

/// CPU seconds of every `postgres` process on the machine (the server and its backends). Backends
/// that end between two readings take their time with them, so this undercounts a little.
pub fn postgres_cpu_seconds() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else { return f64::NAN };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().filter(|n| n.bytes().all(|b| b.is_ascii_digit())).map(str::to_string))
        .filter_map(|pid| cpu_seconds_and_name(&pid))
        .filter(|(_, name)| name == "postgres")
        .map(|(s, _)| s)
        .sum()
}

pub fn status_kb(pid: u32, key: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .unwrap_or(f64::NAN)
}

/// Busy and stolen CPU seconds of the whole machine, from /proc/stat.
pub fn machine_cpu_seconds() -> (f64, f64) {
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
pub fn wait_for_quiet(max: Duration) -> f64 {
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

pub struct CpuMark {
    pub at: Instant,
    pub server: f64,
    pub postgres: f64,
    pub client: f64,
    pub machine: f64,
    pub steal: f64,
}

impl CpuMark {
    pub fn now(server_pid: u32, with_postgres: bool) -> CpuMark {
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

pub struct CpuUse {
    pub wall: f64,
    pub server: f64,
    pub postgres: f64,
    pub client: f64,
    /// Busy time of everything else on the machine: other processes disturb the figures.
    pub others: f64,
    pub steal: f64,
}

pub fn cpu_between(a: &CpuMark, b: &CpuMark) -> CpuUse {
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
    pub fn describe(&self, requests: u64, with_postgres: bool) -> String {
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

pub type MakeRequest = Arc<dyn Fn(u64) -> Request<Full<Bytes>> + Send + Sync>;

#[derive(Default)]
pub struct LoadResult {
    pub ok: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    /// Microseconds, one per completed request (errors included).
    pub latencies: Vec<u32>,
    pub elapsed: Duration,
}

impl LoadResult {
    pub fn rps(&self) -> f64 {
        (self.ok + self.errors) as f64 / self.elapsed.as_secs_f64()
    }

    /// Milliseconds at quantile `q`.
    pub fn at(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies.len() as f64 * q) as usize).min(self.latencies.len() - 1);
        self.latencies[i] as f64 / 1000.0
    }

    pub fn describe(&self) -> String {
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
pub fn next_random(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    x.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

pub async fn connect(addr: SocketAddr) -> Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>, String> {
    let stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

pub async fn worker(addr: SocketAddr, make: MakeRequest, seed: u64, until: Instant) -> LoadResult {
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
pub fn run_load(addr: SocketAddr, make: MakeRequest, concurrency: usize, duration: Duration) -> LoadResult {
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
// Small helpers

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn psql(url: &str, sql: &str) {
    let ok = Command::new("psql").args([url, "-qc", sql]).status().map(|s| s.success());
    assert!(matches!(ok, Ok(true)), "psql {sql:?} failed");
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
}

pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The commit measured, and whether src/ or migrations/ had changes not committed.
pub fn commit_description() -> String {
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
    if dirty > 0 { format!("{commit} with {dirty} uncommitted changes in src/ and migrations/") } else { commit }
}
