//! Several `roster serve` instances on one PostgreSQL (DESIGN: nothing that changes behaviour
//! lives only in one instance's memory). What one instance does, the other honours: an ended
//! session, a changed permission, a lockout. SQLite is one process's file, so this is
//! PostgreSQL only.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Engine, STRONG, TestApp};

/// Asks `probe` until it answers `want`, for at most five seconds (the other instance
/// follows the activity log once a second); returns how long it took.
async fn until_status(what: &str, want: StatusCode, mut probe: impl AsyncFnMut() -> StatusCode) -> Duration {
    let started = Instant::now();
    loop {
        let got = probe().await;
        if got == want {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{what}: still {got} after 5 s, expected {want}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_instance_honours_ended_sessions_changed_rights_and_lockouts() {
    let a = TestApp::spawn(Engine::Postgres).await;
    let b = a.second_instance().await;
    let dora = a.user_with_password("dora", STRONG, json!({})).await;
    let token = a.sign_in("dora", STRONG).await;

    // B knows the session (and now caches it).
    let on_b = |path: &'static str| {
        let (http, url, token) = (a.http.clone(), format!("{}{path}", b.base), token.clone());
        async move || http.get(&url).bearer_auth(&token).send().await.unwrap().status()
    };
    let mut session_on_b = on_b("/api/v1/session");
    assert_eq!(session_on_b().await, StatusCode::OK);

    // Rights given on A reach B: dora gets the Supervisor role, which may list users.
    let mut users_on_b = on_b("/api/v1/accounts/default/users");
    assert_eq!(users_on_b().await, StatusCode::FORBIDDEN);
    let supervisor = a.builtin_role("supervisor").await;
    a.update_user(dora, json!({ "roles": [supervisor] })).await;
    until_status("a role given on A, seen by B", StatusCode::OK, &mut users_on_b).await;

    // Ending her sessions on A ends them on B.
    a.delete(&format!("{}/sessions", a.user_path(dora))).await.expect(200);
    a.session(&token).await.expect(401);
    let took = until_status("a session ended on A, used on B", StatusCode::UNAUTHORIZED, &mut session_on_b).await;
    assert!(took < Duration::from_secs(3), "B took {took:?}");

    // Failures counted on B lock her out on A.
    a.set_security(|s| s["lockout"]["max_failures"] = json!(3)).await;
    for _ in 0..3 {
        let r = a
            .http
            .post(format!("{}/api/v1/auth/login", b.base))
            .json(&json!({ "account": "default", "login": "dora", "password": "Not-Her-Password-1" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    a.login("dora", STRONG).await.expect(401);
    let locked = a.list_users("locked=true").await.json(200);
    assert_eq!(locked["items"][0]["login"], "dora", "{locked}");
}

/// R18 with two instances on one PostgreSQL following one clock: a due reactivation is applied
/// once — one line in the activation log, one event — however the two jobs race for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_deactivation_period_is_applied_once_by_two_instances() {
    let a = TestApp::spawn(Engine::Postgres).await;
    let b = a.second_instance().await;
    let mut users = Vec::new();
    for i in 0..20 {
        users.push(a.user_with_password(&format!("agent{i:02}"), STRONG, json!({})).await);
    }
    let until = a.clock.now().plus_ms(3_600_000).to_rfc3339();
    let body =
        json!({ "action": "schedule_deactivation", "target": { "ids": users }, "until": until, "reason": "strike" });
    assert_eq!(a.bulk(body).await.json(200)["changed"], 20);
    // Both instances' jobs wake at the new time and race for the same twenty periods.
    a.clock.advance(3_600_000).await;
    for id in &users {
        assert_eq!(a.get_user(*id).await.json(200)["status"], "active");
    }
    let page = a.get(&format!("{}?trigger=scheduled&limit=500", a.acct("activation-log"))).await.json(200);
    let lines = page["items"].as_array().unwrap();
    assert_eq!(lines.len(), 20, "one reactivation each: {lines:#?}");
    let events = a.activity("action=user.updated&limit=500").await;
    assert_eq!(events.len(), 20, "one event each: {events:#?}");
    drop(b);
}
