//! Phones register because Roster says so (issue 14): a real Kamailio, configured with
//! docs/pbx-directory/kamailio.cfg as published (its three placeholders filled in), asks Roster's
//! directory on every REGISTER; SIPp registers with digest authentication (tests/sip/). Needs the
//! Debian packages kamailio, kamailio-utils-modules, kamailio-json-modules and sip-tester, which
//! .ci/run installs.

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Engine, TestApp, id_of};

both_engines!(phones_register_because_roster_says_so);

const CONFIG: &str = include_str!("../../docs/pbx-directory/kamailio.cfg");

/// Kamailios of concurrent tests one at a time: each stops its own processes only, but a
/// stopping Kamailio signals what runs as its user, and the tests' ones share `nobody`.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A Kamailio on a loopback port, run as `nobody` in a session of its own (as its Debian
/// service runs it), stopped when dropped.
struct Kamailio {
    port: u16,
    pid: i32,
    dir: tempfile::TempDir,
}

impl Kamailio {
    async fn start(roster: &str, token: &str) -> Kamailio {
        let dir = tempfile::tempdir().expect("tempdir");
        // Kamailio drops to nobody, who writes its pid file and logs here.
        std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o777)).expect("chmod");
        let port = free_udp_port();
        let config = CONFIG
            .replace("@ROSTER_URL@", roster)
            .replace("@ROSTER_TOKEN@", token)
            .replace("@LISTEN_PORT@", &port.to_string());
        let file = dir.path().join("kamailio.cfg");
        std::fs::write(&file, config).expect("writing the configuration");
        let check = tokio::process::Command::new("kamailio")
            .arg("-c")
            .arg("-f")
            .arg(&file)
            .process_group(0)
            .output()
            .await
            .expect("kamailio is installed (.ci/run installs the Debian package)");
        assert!(check.status.success(), "the configuration checks: {}", String::from_utf8_lossy(&check.stderr));
        let log = std::fs::File::create(dir.path().join("kamailio.log")).expect("log file");
        let pid_file = dir.path().join("kamailio.pid");
        let daemonized = tokio::process::Command::new("kamailio")
            .arg("-f")
            .arg(&file)
            .arg("-P")
            .arg(&pid_file)
            .arg("-w")
            .arg(dir.path())
            .arg("-Y")
            .arg(dir.path())
            .args(["-u", "nobody", "-g", "nogroup", "-E"])
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .process_group(0)
            .status()
            .await
            .expect("starting kamailio");
        let read_log = || std::fs::read_to_string(dir.path().join("kamailio.log")).unwrap_or_default();
        assert!(daemonized.success(), "kamailio starts: {}", read_log());
        let pid = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("kamailio's pid file: {}", read_log()));
        let kamailio = Kamailio { port, pid, dir };
        let started = Instant::now();
        while !kamailio.sipp("options.xml", None).await {
            assert!(started.elapsed() < Duration::from_secs(15), "kamailio not ready: {}", kamailio.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        kamailio
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("kamailio.log")).unwrap_or_default()
    }

    /// Runs a SIPp scenario of tests/sip once; whether it ended as the scenario expects.
    async fn sipp(&self, scenario: &str, users: Option<&Path>) -> bool {
        let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sip").join(scenario);
        let mut command = tokio::process::Command::new("sipp");
        command
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("-sf")
            .arg(scenario)
            .args(["-m", "1", "-i", "127.0.0.1", "-nostdin", "-timeout", "10", "-timeout_error"])
            .args(["-recv_timeout", "5000"])
            .current_dir(self.dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true);
        if let Some(users) = users {
            command.arg("-inf").arg(users);
        }
        command.status().await.expect("sipp is installed (.ci/run installs sip-tester)").success()
    }

    /// A phone of `user@domain` registers, authenticating as `auth_user` with `password`:
    /// whether it got 200 (else it must have been refused with 401 or 403, not left unanswered).
    async fn registers(&self, user: &str, domain: &str, auth_user: &str, password: &str) -> bool {
        let csv = self.dir.path().join(format!("{user}-{domain}-{}.csv", rand_suffix()));
        std::fs::write(
            &csv,
            format!("SEQUENTIAL\n{user};{domain};[authentication username={auth_user} password={password}];\n"),
        )
        .expect("writing the users file");
        if self.sipp("register.xml", Some(&csv)).await {
            return true;
        }
        assert!(
            self.sipp("register_refused.xml", Some(&csv)).await,
            "{user}@{domain} was neither registered nor refused: {}",
            self.log()
        );
        false
    }
}

impl Drop for Kamailio {
    /// Stops the main process, which stops its workers, and waits until it has.
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill").arg("-TERM").arg(self.pid.to_string()).status();
        let started = Instant::now();
        while running(self.pid) && started.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Whether the process is there and not a zombie.
fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')))
}

fn free_udp_port() -> u16 {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("a free UDP port");
    socket.local_addr().expect("its address").port()
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

async fn patch(app: &TestApp, path: &str, body: Value) {
    let etag = app.get(path).await.etag();
    app.send(app.req(Method::PATCH, path).header("if-match", etag).json(&body)).await.expect(200);
}

async fn phones_register_because_roster_says_so(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    patch(&app, "/api/v1/accounts/default", json!({ "sip_realm": "acme.test" })).await;
    app.post("/api/v1/accounts", json!({ "slug": "beta", "name": "Beta" })).await.expect(201);
    patch(&app, "/api/v1/accounts/beta", json!({ "sip_realm": "beta.test" })).await;
    let ann = id_of(&app.new_user(json!({ "login": "ann", "extension": "1001", "sip_password": "Ann-Phone-1" })).await);
    let body = json!({ "login": "milton", "extension": "1001", "sip_password": "Milton-Phone-2" });
    app.post("/api/v1/accounts/beta/users", body).await.expect(201);
    // The platform's SIP proxy: a platform operator's token reaches every account's realm.
    let token = app.api_token("kamailio", &["directory.read"]).await["token"].as_str().unwrap().to_string();
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    let kamailio = Kamailio::start(&app.base, &token).await;

    // The right password registers; a wrong one is refused; a name nobody has too.
    assert!(kamailio.registers("1001", "acme.test", "1001", "Ann-Phone-1").await);
    assert!(!kamailio.registers("1001", "acme.test", "1001", "Ann-Phone-X").await);
    assert!(!kamailio.registers("1099", "acme.test", "1099", "Ann-Phone-1").await);
    // Another user's name in the digest than the phone's own: refused.
    app.new_user(json!({ "login": "bob", "extension": "1002", "sip_password": "Bob-Phone-3" })).await;
    assert!(!kamailio.registers("1001", "acme.test", "1002", "Bob-Phone-3").await);

    // Disabled in Roster: refused at the next REGISTER; enabled again: registers.
    app.update_user(ann, json!({ "status": "disabled" })).await;
    assert!(!kamailio.registers("1001", "acme.test", "1001", "Ann-Phone-1").await);
    app.update_user(ann, json!({ "status": "active" })).await;
    assert!(kamailio.registers("1001", "acme.test", "1001", "Ann-Phone-1").await);

    // A new password: the old one is refused, the new one registers.
    app.update_user(ann, json!({ "sip_password": "Ann-Phone-New-4" })).await;
    assert!(!kamailio.registers("1001", "acme.test", "1001", "Ann-Phone-1").await);
    assert!(kamailio.registers("1001", "acme.test", "1001", "Ann-Phone-New-4").await);

    // The same extension in another account: kept apart by realm.
    assert!(kamailio.registers("1001", "beta.test", "1001", "Milton-Phone-2").await);
    assert!(!kamailio.registers("1001", "beta.test", "1001", "Ann-Phone-New-4").await);
    assert!(!kamailio.registers("1001", "acme.test", "1001", "Milton-Phone-2").await);

    // A SIP proxy holding one account's token serves that account's realm only.
    let theirs = app.account_admin_token("beta", &["directory.read"]).await;
    let beta_proxy = Kamailio::start(&app.base, &theirs).await;
    assert!(beta_proxy.registers("1001", "beta.test", "1001", "Milton-Phone-2").await);
    assert!(!beta_proxy.registers("1001", "acme.test", "1001", "Ann-Phone-New-4").await);

    // Deleted: refused.
    app.delete_user(ann).await.expect(204);
    assert!(!kamailio.registers("1001", "acme.test", "1001", "Ann-Phone-New-4").await);
}

/// The page operators copy from shows the configurations the tests run, as they are.
#[test]
fn the_directory_page_shows_the_configurations_the_tests_run() {
    let page = include_str!("../../docs/pbx-directory.md");
    assert!(page.contains(CONFIG), "docs/pbx-directory.md shows docs/pbx-directory/kamailio.cfg in full");
    let freeswitch = include_str!("../../docs/pbx-directory/xml_curl.conf.xml");
    assert!(page.contains(freeswitch), "docs/pbx-directory.md shows docs/pbx-directory/xml_curl.conf.xml in full");
    assert!(freeswitch.contains("/api/v1/directory/freeswitch") && freeswitch.contains("auth-scheme\" value=\"basic"));
}
