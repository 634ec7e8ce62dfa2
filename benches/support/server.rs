//! The `roster serve` process both benchmarks run against: the release binary as its own
//! process, as in production. Included with `#[path]` by each bench (benches share no crate),
//! and each uses part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_roster");

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
    let mut child = Command::new(BIN)
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
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

impl Server {
    /// Signs in as the first admin and returns the bearer token.
    pub async fn admin_token(&self, client: &reqwest::Client) -> String {
        let login: serde_json::Value = client
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&serde_json::json!({"account": "default", "login": "admin", "password": self.password}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        login["token"].as_str().expect("the first admin signs in").to_string()
    }
}
