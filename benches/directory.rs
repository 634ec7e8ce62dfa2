//! Issue 14's figures: the PBX directory, asked on every REGISTER and INVITE, against the
//! release binary in its own process:
//!
//!     ROSTER_BENCH_ENGINES=sqlite,postgres cargo bench --bench directory
//!
//! ROSTER_BENCH_PHONES (100,000) users with an extension and a SIP password; then, at
//! ROSTER_BENCH_CLIENTS (16) connections for ROSTER_BENCH_SECONDS (20) each, with a directory
//! token (`directory.read`):
//! 1. the JSON lookup of a random phone (`GET /api/v1/directory/lookup?realm=…&user=…`);
//! 2. FreeSWITCH's lookup of a random phone (`POST /api/v1/directory/freeswitch`, the form its
//!    documentation shows);
//!
//! each after a pass that asks for every phone once, in turn (a SIP server asks about the same
//! phones again and again; after a restart, each once first), whose figures are printed too.
//!
//! PostgreSQL comes from ROSTER_BENCH_POSTGRES_URL (default the machine's server); the benchmark
//! creates and drops a database `roster_bench_directory` there.

// Benchmark code may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::Request;
use hyper::body::Bytes;
use md5::{Digest as _, Md5};
use serde_json::{Value, json};

#[path = "support/load.rs"]
mod load;
#[path = "support/server.rs"]
mod server;

use load::{CpuMark, MakeRequest, commit_description, cores, cpu_between, env_or, next_random, psql, run_load};
use server::start_server;

/// A request about the phone of one extension.
type RequestFor = Arc<dyn Fn(&str) -> Request<Full<Bytes>> + Send + Sync>;

/// The first generated user's id (the first admin is 1).
const FIRST_USER: u64 = 2;

fn extension_of(id: u64) -> String {
    format!("{}", 100_000 + id)
}

fn password_of(id: u64) -> String {
    format!("Phone-{id}-pw")
}

/// Gives every generated user an extension and a SIP password, sealed with the server's key
/// as Roster seals them (so that the server opens them), straight into the database.
async fn seed_phones(database_url: &str, data_dir: &str, phones: u64) {
    let secrets = roster::secrets::Secrets::load(None, None, std::path::Path::new(data_dir)).unwrap();
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(database_url).await.unwrap();
    let started = Instant::now();
    let mut tx = pool.begin().await.unwrap();
    for id in FIRST_USER..FIRST_USER + phones {
        let owner = roster::secrets::Owner::sip_password(roster::ids::UserId(id as i64));
        sqlx::query("UPDATE users SET extension = $1, sip_password = $2 WHERE id = $3")
            .bind(extension_of(id))
            .bind(secrets.seal(owner, &password_of(id)))
            .bind(id as i64)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    pool.close().await;
    println!("seeded: {phones} phones (extension and sealed SIP password) in {:.1} s", started.elapsed().as_secs_f64());
}

fn get(token: &str, path: String) -> Request<Full<Bytes>> {
    Request::get(path)
        .header("host", "127.0.0.1")
        .header("authorization", format!("Bearer {token}"))
        .body(Full::new(Bytes::new()))
        .unwrap()
}

/// FreeSWITCH's directory request for `extension` (the fields of its documented example).
fn freeswitch(token: &str, extension: &str) -> Request<Full<Bytes>> {
    let body = format!(
        "hostname=fs1&section=directory&tag_name=domain&key_name=name&key_value=default&Event-Name=REQUEST_PARAMS\
         &Core-UUID=c5c8cbf4-60c3-45a2-b110-933da620cfd2&FreeSWITCH-Hostname=fs1&FreeSWITCH-IPv4=192.168.1.10\
         &Event-Calling-File=sofia_reg.c&Event-Calling-Function=sofia_reg_parse_auth&action=sip_auth\
         &sip_profile=internal&sip_user_agent=bench&sip_auth_username={extension}&sip_auth_realm=default\
         &sip_auth_nonce=533c5264-12cb-4f8b-bcdb-5ecabe5e540f&sip_auth_uri=sip%3Adefault%3A5060\
         &sip_auth_qop=auth&sip_auth_cnonce=hSVnPb32nA/OtkY&sip_auth_nc=00000001\
         &sip_auth_response=6e4e611d7593d52e02451b70900071d8&sip_auth_method=REGISTER&key=id&user={extension}\
         &domain=default&ip=192.168.1.100"
    );
    Request::post("/api/v1/directory/freeswitch")
        .header("host", "127.0.0.1")
        // What mod_xml_curl sends: HTTP Basic with the token as the password.
        .header("authorization", format!("Basic {}", base64_of(&format!("freeswitch:{token}"))))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

fn base64_of(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

async fn run(engine: &str, database_url: &str, phones: u64, clients: usize, seconds: u64) {
    let with_postgres = database_url.starts_with("postgres");
    let data_dir = tempfile::tempdir().unwrap();
    let data = data_dir.path().to_str().unwrap();
    let server = start_server(database_url, data);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(600)).build().unwrap();
    let admin = server.admin_token(&client).await;
    let out = Command::new(server::roster_bin())
        .args(["--database-url", database_url, "--data-dir", data, "users", "generate", "--count", &phones.to_string()])
        .env("ROSTER_LOG", "warn")
        .output()
        .expect("run roster users generate");
    assert!(out.status.success(), "generate failed: {}", String::from_utf8_lossy(&out.stderr));
    seed_phones(database_url, data, phones).await;
    println!("\n## {engine}");
    // A platform operator's directory token, as the SIP proxy of the platform holds.
    let made: Value = client
        .post(format!("{}/api/v1/accounts/default/tokens", server.base))
        .bearer_auth(&admin)
        .json(&json!({ "name": "kamailio", "permissions": ["directory.read"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = made["token"].as_str().unwrap().to_string();
    // One answer checked against the password the seed set (one generated user in 21 is
    // disabled; the one checked is not).
    let id = FIRST_USER + 1;
    let sample: Value = client
        .get(format!("{}/api/v1/directory/lookup?realm=default&user={}", server.base, extension_of(id)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ha1 = hex::encode(Md5::digest(format!("{}:default:{}", extension_of(id), password_of(id)).as_bytes()));
    assert_eq!(sample["ha1"], ha1, "{sample}");

    let last = FIRST_USER + phones;
    let random = move |r: u64| {
        let mut r = r;
        extension_of(FIRST_USER + next_random(&mut r) % (last - FIRST_USER))
    };
    let lookups: MakeRequest = {
        let token = token.clone();
        Arc::new(move |r: u64| get(&token, format!("/api/v1/directory/lookup?realm=default&user={}", random(r))))
    };
    let freeswitch_lookups: MakeRequest = {
        let token = token.clone();
        Arc::new(move |r: u64| freeswitch(&token, &random(r)))
    };
    let in_turn = |make: RequestFor| -> MakeRequest {
        let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
        Arc::new(move |_| {
            let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            make(&extension_of(FIRST_USER + n % (last - FIRST_USER)))
        })
    };
    let each_json = {
        let token = token.clone();
        in_turn(Arc::new(move |ext| get(&token, format!("/api/v1/directory/lookup?realm=default&user={ext}"))))
    };
    let each_freeswitch = {
        let token = token.clone();
        in_turn(Arc::new(move |ext| freeswitch(&token, ext)))
    };
    for (what, cold, hot) in [
        ("JSON lookup of a phone", each_json, lookups),
        ("FreeSWITCH lookup of a phone", each_freeswitch, freeswitch_lookups),
    ] {
        // In parts, each as long as what is left takes at 10,000 a second, until each phone
        // was asked for once.
        let mut asked = 0;
        while asked < phones {
            let part = Duration::from_secs_f64(((phones - asked) as f64 / 10_000.0).max(2.0));
            let pass = run_load(server.addr, cold.clone(), clients, part);
            assert_eq!(pass.errors, 0, "{what}: {:?}", pass.first_error);
            asked += pass.ok;
            println!("cold pass, {what}s in turn ({:.0} s): {}", part.as_secs_f64(), pass.describe());
        }
        let warm = run_load(server.addr, hot.clone(), clients, Duration::from_secs(3));
        assert_eq!(warm.errors, 0, "{what}: {:?}", warm.first_error);
        let before = CpuMark::now(server.child.id(), with_postgres);
        let result = run_load(server.addr, hot, clients, Duration::from_secs(seconds));
        let cpu = cpu_between(&before, &CpuMark::now(server.child.id(), with_postgres));
        assert_eq!(result.errors, 0, "{what}: {:?}", result.first_error);
        println!("{what:<30} {clients} clients: {}", result.describe());
        println!("{:<30} {}", "", cpu.describe(result.ok, with_postgres));
    }
}

#[tokio::main]
async fn main() {
    let phones: u64 = env_or("ROSTER_BENCH_PHONES", 100_000);
    let clients: usize = env_or("ROSTER_BENCH_CLIENTS", 16);
    let seconds: u64 = env_or("ROSTER_BENCH_SECONDS", 20);
    let engines = std::env::var("ROSTER_BENCH_ENGINES").unwrap_or_else(|_| "sqlite,postgres".into());
    println!(
        "commit {}; {} cores; engines {engines}; {phones} phones; {clients} clients for {seconds} s",
        commit_description(),
        cores()
    );
    for engine in engines.split(',').map(str::trim) {
        match engine {
            "sqlite" => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}/bench.db", dir.path().display());
                run("SQLite", &url, phones, clients, seconds).await;
            }
            "postgres" => {
                let admin = std::env::var("ROSTER_BENCH_POSTGRES_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
                psql(&admin, "DROP DATABASE IF EXISTS roster_bench_directory");
                psql(&admin, "CREATE DATABASE roster_bench_directory");
                let url = match admin.rsplit_once('/') {
                    Some((base, _)) => format!("{base}/roster_bench_directory"),
                    None => panic!("ROSTER_BENCH_POSTGRES_URL needs a database path"),
                };
                run("PostgreSQL", &url, phones, clients, seconds).await;
                psql(&admin, "DROP DATABASE IF EXISTS roster_bench_directory");
            }
            other => panic!("unknown engine {other:?}: use sqlite and/or postgres"),
        }
    }
}
