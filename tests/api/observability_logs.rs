//! `--log-format json`: the `roster` binary, logging at debug, writes one JSON object a line
//! with the request's id, account and user, while sign-ins (right and wrong) and a
//! forgotten-password reset run through it — and no line holds a password, token or link.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::helpers::{Engine, SMTP_PASSWORD, STRONG, STRONG_2, TestApp};

both_engines!(json_logs_carry_the_request_and_no_secret);

const WRONG: &str = "Wrong-Horse-Battery-9";

struct Server {
    child: tokio::process::Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: tokio::task::JoinHandle<()>,
    base: String,
}

/// `roster serve` on the test app's database and data folder (its secret key), logging JSON
/// at debug to stderr, which is collected line by line.
async fn serve_json(app: &TestApp) -> Server {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .arg("--database-url")
        .arg(&app.database_url)
        .arg("--data-dir")
        .arg(app.data_dir())
        .args(["--log-format", "json", "serve", "--bind", "127.0.0.1:0", "--smtp-url"])
        .arg(app.mailbox.url())
        .env_remove("ROSTER_CONFIG")
        .env("ROSTER_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("running roster serve");
    let lines = Arc::new(Mutex::new(Vec::new()));
    let stderr = child.stderr.take().unwrap();
    let (addr_tx, addr_rx) = tokio::sync::oneshot::channel::<String>();
    let reader = {
        let lines = lines.clone();
        tokio::spawn(async move {
            let mut addr_tx = Some(addr_tx);
            let mut reader = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && v["message"].as_str().is_some_and(|m| m.starts_with("Roster is listening"))
                    && let Some(tx) = addr_tx.take()
                {
                    let _ = tx.send(v["addr"].as_str().unwrap_or_default().to_string());
                }
                lines.lock().unwrap().push(line);
            }
        })
    };
    let addr = match tokio::time::timeout(Duration::from_secs(60), addr_rx).await {
        Ok(Ok(addr)) => addr,
        _ => panic!("roster serve did not say where it listens:\n{}", lines.lock().unwrap().join("\n")),
    };
    Server { child, lines, reader, base: format!("http://{addr}") }
}

async fn json_logs_carry_the_request_and_no_secret(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let lea = app.user_with_password("lea", STRONG, json!({ "email": "lea@example.com" })).await;
    let mut server = serve_json(&app).await;
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", server.base);
    let login = |password: &str| {
        http.post(url("/api/v1/auth/login"))
            .json(&json!({ "account": "default", "login": "lea", "password": password }))
    };
    let request_id = |r: &reqwest::Response| r.headers()["x-request-id"].to_str().unwrap().to_string();

    let wrong = login(WRONG).send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let wrong_id = request_id(&wrong);
    let signed_in = login(STRONG).send().await.unwrap();
    let sign_in_id = request_id(&signed_in);
    let first: Value = signed_in.json().await.unwrap();
    let first_token = first["token"].as_str().unwrap_or_else(|| panic!("a token: {first}")).to_string();
    let session = http.get(url("/api/v1/session")).bearer_auth(&first_token).send().await.unwrap();
    assert_eq!(session.status(), 200);
    let session_id = request_id(&session);

    // A forgotten password, reset through the emailed link's token.
    let forgot = json!({ "account": "default", "login_or_email": "lea" });
    assert_eq!(http.post(url("/api/v1/auth/forgot-password")).json(&forgot).send().await.unwrap().status(), 202);
    let link = app.mailbox.wait_for("lea@example.com").await.link();
    let reset_token = link.rsplit('/').next().unwrap().to_string();
    let reset = json!({ "token": reset_token, "new_password": STRONG_2 });
    assert_eq!(http.post(url("/api/v1/auth/reset-password")).json(&reset).send().await.unwrap().status(), 204);
    // The link's page, as a browser opens it (its path holds the token).
    http.get(url(&format!("/reset-password/{reset_token}"))).send().await.unwrap();
    let second: Value = login(STRONG_2).send().await.unwrap().json().await.unwrap();
    let second_token = second["token"].as_str().unwrap_or_else(|| panic!("a token: {second}")).to_string();
    let users = http.get(url("/api/v1/accounts/default/users")).bearer_auth(&app.token).send().await.unwrap();
    assert_eq!(users.status(), 200);

    tokio::time::sleep(Duration::from_millis(300)).await;
    server.child.kill().await.unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(10), &mut server.reader).await;
    let lines = server.lines.lock().unwrap().clone();
    assert!(lines.len() > 20, "a debug log has many lines: {lines:?}");

    let mut parsed = Vec::new();
    for line in &lines {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not one JSON object ({e}): {line}"));
        for key in ["time", "level", "target"] {
            assert!(v[key].is_string(), "no {key}: {line}");
        }
        parsed.push(v);
    }
    // The request's id, account and user are on what it logs.
    let of = |id: &str| parsed.iter().filter(|v| v["request_id"] == id).collect::<Vec<_>>();
    let session_lines = of(&session_id);
    assert!(!session_lines.is_empty(), "nothing logged with request id {session_id}:\n{}", lines.join("\n"));
    assert!(
        session_lines.iter().any(|v| v["user_id"] == lea && v["account"] == "default"),
        "the caller is named: {session_lines:?}"
    );
    assert!(!of(&wrong_id).is_empty(), "the refused sign-in is logged with its id");
    assert!(of(&sign_in_id).iter().any(|v| v["user_id"] == lea), "a sign-in names the user once the password is right");

    let admin = app.authenticators.get(&app.admin_login).unwrap();
    let admin_secret = admin.secret.clone();
    for code in &admin.recovery_codes {
        assert!(lines.iter().all(|l| !l.contains(code.as_str())), "a recovery code in the log");
    }
    let secrets = [
        STRONG,
        STRONG_2,
        WRONG,
        &first_token,
        &second_token,
        &app.token,
        &reset_token,
        &app.admin_password,
        SMTP_PASSWORD,
        &admin_secret,
    ];
    for line in &lines {
        for secret in secrets {
            assert!(!line.contains(secret), "a secret ({secret}) in the log: {line}");
        }
    }

    // A format the binary does not know is refused, naming the ones it does.
    let bad = app.roster(&["--log-format", "yaml", "migrate"]).await;
    assert!(!bad.ok && bad.stderr.contains("yaml") && bad.stderr.contains("json"), "{}", bad.stderr);
}
