//! The `roster serve` process both benchmarks run against: the release binary as its own
//! process, as in production. Included with `#[path]` by each bench (benches share no crate),
//! and each uses part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `roster` binary to run: this build's, or ROSTER_BENCH_BIN (another build of the same
/// program, to measure two trees back to back with the same benchmark).
pub fn roster_bin() -> String {
    std::env::var("ROSTER_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_roster").to_string())
}

pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub base: String,
    /// The first admin's password, printed at first start.
    pub password: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `roster serve` on a free port over `database_url` and waits until it accepts.
pub fn start_server(database_url: &str, data_dir: &str) -> Server {
    let port = free_port();
    let mut child = Command::new(roster_bin())
        .args(["--database-url", database_url, "--data-dir", data_dir, "serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("ROSTER_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start roster serve");
    let stdout = child.stdout.take().unwrap();
    let mut password = String::new();
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(p) = line.trim().strip_prefix("password:") {
            password = p.trim().to_string();
            break;
        }
    }
    // Keep reading, so the server never writes into a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    assert!(!password.is_empty(), "the server printed no first-start password");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    // The password is printed before the listener may accept: wait until it does.
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "the server does not accept connections");
        std::thread::sleep(Duration::from_millis(20));
    }
    Server { child, addr, base: format!("http://{addr}"), password }
}

/// The process's peak resident memory (`VmHWM`), in MB.
pub fn peak_memory_mb(pid: u32) -> f64 {
    memory_mb(pid, "VmHWM:")
}

/// One of the process's memory figures in `/proc/<pid>/status` (`VmHWM:`, `VmRSS:`), in MB.
pub fn memory_mb(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

impl Server {
    /// Signs in as the first admin and returns the bearer token.
    pub async fn admin_token(&self, client: &reqwest::Client) -> String {
        let post = |path: &str, body: serde_json::Value| {
            let request = client.post(format!("{}{path}", self.base)).json(&body);
            async move { request.send().await.unwrap().json::<serde_json::Value>().await.unwrap() }
        };
        let login = post(
            "/api/v1/auth/login",
            serde_json::json!({"account": "default", "login": "admin", "password": self.password}),
        )
        .await;
        if login["token"].is_string() {
            return login["token"].as_str().unwrap().to_string();
        }
        // A fresh server's first admin sets up an authenticator at first sign-in (R27): play the app.
        assert_eq!(login["step"], "totp_setup", "the first admin's first sign-in: {login}");
        let challenge = login["challenge"].clone();
        let setup = post("/api/v1/auth/totp-setup", serde_json::json!({"challenge": challenge})).await;
        let key = totp_rs::Secret::Encoded(setup["secret"].as_str().unwrap().to_string()).to_bytes().unwrap();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let code =
            totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, 30, key, None, String::new()).generate(now);
        let done =
            post("/api/v1/auth/totp-setup/confirm", serde_json::json!({"challenge": challenge, "code": code})).await;
        done["token"].as_str().unwrap_or_else(|| panic!("the first admin signs in: {done}")).to_string()
    }
}
