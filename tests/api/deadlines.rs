//! Deadlines are enforced, not only shown: rows are aged in SQL (times are BIGINT milliseconds
//! since the epoch in both engines) and the next request must be refused, or let through.
//!
//! The session check answers from memory (`sessions::cache`): a cached session or API token
//! keeps its expiry and last use in the entry, and the entry is read again from the database
//! only when it times out by those in-memory times or when a committed write touched its user
//! or everyone (`store::Invalidations`; on PostgreSQL also any change the activity log shows,
//! `sessions::upkeep::Watcher`). Such a reload sees an aged lifetime or token expiry, but not an
//! aged last use: it keeps the last use this process saw (`seen_here`). So these tests age the
//! rows while the server is stopped and start it again (`helpers::restart`): a new process with
//! an empty cache reads every time from the database, as after a deployment.
//!
//! The lock and the failure window have no cache: sign-in reads the user row every time.

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::helpers::{Engine, Resp, STRONG, TestApp, now_ms, rfc3339};

both_engines!(
    an_idle_console_session_is_refused,
    an_idle_phone_session_is_refused,
    a_session_past_its_lifetime_is_refused_though_just_used,
    an_expired_api_token_is_refused,
    a_lock_lifts_after_its_minutes,
    failures_outside_the_window_do_not_count_toward_the_lockout,
);

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;

/// An integer column (or `null`) straight from the database, as text.
async fn column(app: &TestApp, column: &str, table: &str, id: i64) -> String {
    app.sql_text(&format!("SELECT COALESCE(CAST({column} AS TEXT), 'null') FROM {table} WHERE id = {id}")).await
}

/// Stops the server, runs `statements` on its database, and starts it again (an empty session cache).
async fn age_while_stopped(app: &mut TestApp, statements: &[String]) {
    app.stop().await;
    for statement in statements {
        app.sql(statement).await;
    }
    app.start_again().await;
}

/// The refusal of a request whose credentials no longer hold.
#[track_caller]
fn unauthenticated(r: &Resp) {
    let problem = r.problem(401);
    assert_eq!(problem["type"], "https://roster.dev/problems/unauthenticated", "{}", r.text());
    assert_eq!(r.header("www-authenticate").as_deref(), Some("Bearer"), "{:?}", r.headers);
    assert!(r.body.get("user").is_none(), "{}", r.text());
}

/// A response of the cookie-keeping console client, read completely.
async fn read(what: &str, response: reqwest::Response) -> Resp {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body").to_vec();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Resp { what: what.to_string(), status, headers, bytes, body }
}

/// The only session of `user`: its id.
async fn session_of(app: &TestApp, user: i64) -> i64 {
    let id = app.sql_text(&format!("SELECT CAST(id AS TEXT) FROM sessions WHERE user_id = {user}")).await;
    id.parse().expect("a session id")
}

async fn an_idle_console_session_is_refused(engine: Engine) {
    let mut app = TestApp::spawn(engine).await;
    app.set_security(|s| s["sessions"]["console_idle_minutes"] = json!(30)).await;
    let dora = app.user_with_password("dora", STRONG, json!({})).await;
    let browser = app.console_sign_in("dora", STRONG).await;
    let before = read("GET /api/v1/session", browser.get(app.url("/api/v1/session")).send().await.unwrap()).await;
    assert_eq!(before.json(200)["kind"], "console");
    let session = session_of(&app, dora).await;

    // Last used 31 minutes ago: one minute past the console's 30.
    let idle = now_ms() - 31 * MINUTE_MS;
    age_while_stopped(&mut app, &[format!("UPDATE sessions SET last_seen_at = {idle} WHERE id = {session}")]).await;

    let page = browser.get(app.url("/console/me")).send().await.unwrap();
    assert_eq!(page.status(), 303, "the console sends an idle session to sign in again");
    assert_eq!(page.headers().get("location").and_then(|v| v.to_str().ok()), Some("/login"));
    let api = read("GET /api/v1/session", browser.get(app.url("/api/v1/session")).send().await.unwrap()).await;
    unauthenticated(&api);
}

async fn an_idle_phone_session_is_refused(engine: Engine) {
    let mut app = TestApp::spawn(engine).await;
    app.set_security(|s| s["sessions"]["phone_idle_minutes"] = json!(60)).await;
    let dora = app.user_with_password("dora", STRONG, json!({})).await;
    let phone = app.sign_in_kind("dora", STRONG, "phone").await;
    assert_eq!(app.session(&phone).await.json(200)["kind"], "phone");
    let session = session_of(&app, dora).await;

    // Last used 61 minutes ago, well within the 12-hour lifetime.
    let idle = now_ms() - 61 * MINUTE_MS;
    age_while_stopped(&mut app, &[format!("UPDATE sessions SET last_seen_at = {idle} WHERE id = {session}")]).await;

    unauthenticated(&app.session(&phone).await);
}

async fn a_session_past_its_lifetime_is_refused_though_just_used(engine: Engine) {
    let mut app = TestApp::spawn(engine).await;
    app.set_security(|s| s["sessions"]["absolute_hours"] = json!(12)).await;
    let dora = app.user_with_password("dora", STRONG, json!({})).await;
    let phone = app.sign_in_kind("dora", STRONG, "phone").await;
    app.session(&phone).await.expect(200);
    let session = session_of(&app, dora).await;

    // Opened 12 hours and a minute ago; used a second ago (a phone may idle for a week).
    let shift = 12 * HOUR_MS + MINUTE_MS;
    let just_now = now_ms() - 1_000;
    age_while_stopped(
        &mut app,
        &[format!(
            "UPDATE sessions SET created_at = created_at - {shift}, expires_at = expires_at - {shift}, \
             last_seen_at = {just_now} WHERE id = {session}"
        )],
    )
    .await;

    unauthenticated(&app.session(&phone).await);
}

async fn an_expired_api_token_is_refused(engine: Engine) {
    let mut app = TestApp::spawn(engine).await;
    let later = OffsetDateTime::now_utc() + Duration::days(2);
    let body = json!({ "name": "two days", "permissions": ["users.view"], "expires_at": rfc3339(later) });
    let created = app.create_token_as(&app.token, body).await.json(201);
    let token = created["token"].as_str().expect("the token, shown once").to_string();
    let id = created["id"].as_i64().expect("the token's id");
    app.get_as(&token, &app.acct("users")).await.expect(200);

    // It expired a minute ago.
    let expired = now_ms() - MINUTE_MS;
    age_while_stopped(&mut app, &[format!("UPDATE api_tokens SET expires_at = {expired} WHERE id = {id}")]).await;

    unauthenticated(&app.get_as(&token, &app.acct("users")).await);
}

async fn lockout(app: &TestApp, max_failures: u32, window_minutes: u32, lock_minutes: u32) {
    app.set_security(|s| {
        s["lockout"]["max_failures"] = json!(max_failures);
        s["lockout"]["window_minutes"] = json!(window_minutes);
        s["lockout"]["lock_minutes"] = json!(lock_minutes);
    })
    .await;
}

async fn a_lock_lifts_after_its_minutes(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    lockout(&app, 3, 15, 20).await;
    let dora = app.user_with_password("dora", STRONG, json!({})).await;
    for _ in 0..3 {
        app.login("dora", "wrong-password-1").await.problem(401);
    }
    app.login("dora", STRONG).await.problem(401);
    assert_ne!(column(&app, "locked_until", "users", dora).await, "null", "three failures lock dora");

    // The 20 minutes of the lock are over a second ago.
    app.sql(&format!("UPDATE users SET locked_until = {} WHERE id = {dora}", now_ms() - 1_000)).await;

    let signed_in = app.login("dora", STRONG).await.json(200);
    assert!(signed_in["token"].as_str().is_some_and(|t| !t.is_empty()), "{signed_in}");
    assert_eq!(column(&app, "locked_until", "users", dora).await, "null", "the sign-in clears the lock that is over");
}

async fn failures_outside_the_window_do_not_count_toward_the_lockout(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    lockout(&app, 3, 15, 20).await;
    let dora = app.user_with_password("dora", STRONG, json!({})).await;
    for _ in 0..2 {
        app.login("dora", "wrong-password-1").await.problem(401);
    }
    assert_eq!(column(&app, "failed_sign_ins", "users", dora).await, "2");

    // The window (15 minutes from the first failure) began 16 minutes ago.
    app.sql(&format!("UPDATE users SET failures_since = failures_since - {} WHERE id = {dora}", 16 * MINUTE_MS)).await;

    // Two more: four in all, but only two in the current window; three would lock.
    for _ in 0..2 {
        app.login("dora", "wrong-password-1").await.problem(401);
    }
    assert_eq!(column(&app, "failed_sign_ins", "users", dora).await, "2", "the count starts afresh in a new window");
    assert_eq!(column(&app, "locked_until", "users", dora).await, "null");
    assert!(app.events(dora, "user.locked").await.is_empty());
    let signed_in = app.login("dora", STRONG).await.json(200);
    assert!(signed_in["token"].as_str().is_some_and(|t| !t.is_empty()), "{signed_in}");
}
