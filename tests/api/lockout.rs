//! Lockout after repeated failures (per user) and the address throttle; every refused sign-in
//! looks the same, whatever the reason, and the reason is in the activity log only.

use std::net::{IpAddr, Ipv4Addr};

use reqwest::Method;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::helpers::{Engine, Resp, STRONG, STRONG_2, TestApp, assert_near, parse_time, user_ids};

both_engines!(
    wrong_current_passwords_count_toward_the_lockout,
    repeated_failures_lock_the_user_until_an_admin_unlocks,
    refusals_are_byte_identical_whatever_the_reason,
    lockout_is_per_user,
    unlocking_needs_the_passwords_permission,
    the_address_throttle_answers_429_with_retry_after,
);

async fn lock_settings(app: &TestApp, max_failures: u32, lock_minutes: u32) {
    app.set_security(|s| {
        s["lockout"]["max_failures"] = json!(max_failures);
        s["lockout"]["window_minutes"] = json!(15);
        s["lockout"]["lock_minutes"] = json!(lock_minutes);
    })
    .await;
}

#[track_caller]
fn same_refusal(r: &Resp, reference: &Resp, why: &str) {
    r.problem(401);
    assert_eq!(r.status, reference.status, "{why}");
    assert_eq!(r.text(), reference.text(), "{why}: the refusal differs from a wrong password's");
    assert_eq!(r.bytes, reference.bytes, "{why}: not byte-identical");
    assert_eq!(r.content_type(), reference.content_type(), "{why}");
    assert!(r.body.get("token").is_none() && r.body.get("challenge").is_none(), "{why}: {}", r.text());
}

async fn repeated_failures_lock_the_user_until_an_admin_unlocks(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    lock_settings(&app, 3, 20).await;
    let id = app.user_with_password("dora", STRONG, json!({})).await;
    let otto = app.user_with_password("otto", STRONG, json!({})).await;

    let wrong = app.login("dora", "wrong-password-1").await;
    wrong.problem(401);
    for _ in 1..3 {
        same_refusal(&app.login("dora", "wrong-password-1").await, &wrong, "a further wrong password");
    }
    let locked_at = OffsetDateTime::now_utc();
    // Locked: the right password is refused too, exactly like a wrong one; any kind.
    same_refusal(&app.login("dora", STRONG).await, &wrong, "the right password of a locked user");
    same_refusal(&app.login_kind("dora", STRONG, "phone").await, &wrong, "a locked user's phone sign-in");
    same_refusal(&app.login("nobody-at-all", STRONG).await, &wrong, "an unknown login");

    let user = app.get_user(id).await.json(200);
    assert_near(
        parse_time(&user["locked_until"]),
        locked_at + Duration::minutes(20),
        Duration::minutes(2),
        "locked_until",
    );
    assert_eq!(app.get_user(otto).await.json(200)["locked_until"], Value::Null);
    let locked = app.list_all("locked=true").await;
    assert_eq!(user_ids(&locked), vec![id], "users?locked=true: {locked:#?}");
    assert_eq!(locked[0]["locked_until"], user["locked_until"]);
    // Other users sign in as before.
    app.sign_in("otto", STRONG).await;

    // Activity: the failures with their reasons, and the lock.
    let failed = app.events(id, "auth.sign_in_failed").await;
    let reasons: Vec<&str> = failed.iter().filter_map(|e| e["changes"]["reason"].as_str()).collect();
    assert_eq!(reasons.iter().filter(|r| **r == "wrong_password").count(), 3, "{failed:#?}");
    assert!(reasons.iter().filter(|r| **r == "locked").count() >= 2, "the locked attempts: {failed:#?}");
    let all = app.activity(&format!("user={id}&limit=500")).await;
    let lock_events: Vec<&Value> = all
        .iter()
        .filter(|e| {
            let a = e["action"].as_str().unwrap_or_default();
            a.contains("lock") && a != "user.unlocked" && a != "auth.sign_in_failed"
        })
        .collect();
    assert_eq!(lock_events.len(), 1, "one lockout event for dora: {all:#?}");
    assert_eq!(lock_events[0]["target_id"], id);
    assert!(!serde_json::to_string(&all).unwrap().contains(STRONG), "a password in the log");

    // Unlock: 204, the lock is gone, the user signs in; recorded.
    let unlock = app.unlock_as(&app.token, id).await;
    unlock.expect(204);
    let user = app.get_user(id).await.json(200);
    assert_eq!(user["locked_until"], Value::Null, "{user}");
    assert!(app.list_all("locked=true").await.is_empty());
    // The count starts afresh: one more failure does not lock again.
    app.login("dora", "wrong-password-1").await.problem(401);
    app.sign_in("dora", STRONG).await;
    let unlocked = app.events(id, "user.unlocked").await;
    assert_eq!(unlocked.len(), 1, "{unlocked:#?}");
    assert_eq!(unlocked[0]["actor_id"], app.admin_id);
    assert_eq!(unlocked[0]["target_id"], id);

    // Unlocking an unlocked user is harmless (and records nothing); an unknown user is 404.
    app.unlock_as(&app.token, id).await.expect(204);
    assert_eq!(app.events(id, "user.unlocked").await.len(), 1);
    app.unlock_as(&app.token, 999_999).await.problem(404);
}

async fn refusals_are_byte_identical_whatever_the_reason(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    lock_settings(&app, 2, 15).await;
    app.user_with_password("gus", STRONG, json!({})).await;
    app.user_with_password("hal", STRONG, json!({ "status": "disabled" })).await;
    let forced = app.user_with_password("ida", STRONG, json!({})).await;
    app.set_password(forced, json!({ "password": STRONG_2, "must_change_password": true })).await.expect(200);
    app.user_with_password("locky", STRONG, json!({})).await;

    let wrong = app.login("gus", "wrong-password-1").await;
    wrong.problem(401);
    same_refusal(&app.login("nobody", STRONG).await, &wrong, "unknown login");
    same_refusal(&app.login("nobody", "").await, &wrong, "unknown login, empty password");
    same_refusal(&app.login_in("no-such-account", "gus", STRONG).await, &wrong, "unknown account");
    same_refusal(&app.login("hal", STRONG).await, &wrong, "disabled user, right password");
    same_refusal(&app.login("ida", "wrong-password-1").await, &wrong, "must-change user, wrong password");
    same_refusal(&app.login_kind("gus", "wrong-password-1", "phone").await, &wrong, "wrong password, phone");
    same_refusal(&app.login_kind("nobody", STRONG, "phone").await, &wrong, "unknown login, phone");
    let take_over = app.login_with(json!({ "login": "gus", "password": "wrong-password-1", "take_over": true })).await;
    same_refusal(&take_over, &wrong, "wrong password with take_over");
    for _ in 0..2 {
        app.login("locky", "wrong-password-1").await.problem(401);
    }
    same_refusal(&app.login("locky", STRONG).await, &wrong, "locked user, right password");
    same_refusal(&app.login("locky", "wrong-password-1").await, &wrong, "locked user, wrong password");

    // The reasons are in the log.
    let failed = app.activity("action=auth.sign_in_failed&limit=500").await;
    let reasons: Vec<&str> = failed.iter().filter_map(|e| e["changes"]["reason"].as_str()).collect();
    for reason in ["wrong_password", "unknown_login", "user_disabled", "locked"] {
        assert!(reasons.contains(&reason), "no failure with reason {reason}: {reasons:?}");
    }
    // Failures of every kind count: gus (api, phone, take-over) is locked as well.
    let gus = app.list_all("locked=true").await;
    let logins: Vec<&str> = gus.iter().filter_map(|u| u["login"].as_str()).collect();
    assert!(logins.contains(&"gus") && logins.contains(&"locky"), "{logins:?}");
    assert!(!logins.contains(&"hal") && !logins.contains(&"ida"), "{logins:?}");
}

async fn lockout_is_per_user(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    lock_settings(&app, 3, 15).await;
    let dora = app.user_with_password("dora", STRONG, json!({})).await;
    app.user_with_password("otto", STRONG, json!({})).await;
    // Failures spread over two users: neither reaches 3.
    for login in ["dora", "otto", "dora", "otto"] {
        app.login(login, "wrong-password-1").await.problem(401);
    }
    let dora_token = app.sign_in("dora", STRONG).await;
    app.sign_in("otto", STRONG).await;
    assert!(app.list_all("locked=true").await.is_empty());
    // Unknown logins lock nobody.
    for _ in 0..4 {
        app.login("dora-not", "wrong-password-1").await.problem(401);
    }
    assert!(app.list_all("locked=true").await.is_empty());

    // A higher limit is read at once.
    lock_settings(&app, 5, 15).await;
    app.user_with_password("pia", STRONG, json!({})).await;
    for _ in 0..4 {
        app.login("pia", "wrong-password-1").await.problem(401);
    }
    app.sign_in("pia", STRONG).await;
    assert!(app.list_all("locked=true").await.is_empty());
    // A locked user's open sessions are not a way around: sign-in stays refused.
    for _ in 0..5 {
        app.login("dora", "wrong-password-1").await.problem(401);
    }
    app.login("dora", STRONG).await.problem(401);
    assert_eq!(user_ids(&app.list_all("locked=true").await), vec![dora]);
    app.session(&dora_token).await.expect(200);
}

async fn unlocking_needs_the_passwords_permission(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    lock_settings(&app, 2, 15).await;
    let id = app.user_with_password("dora", STRONG, json!({})).await;
    for _ in 0..2 {
        app.login("dora", "wrong-password-1").await.problem(401);
    }
    let (_, agent) = app.user_with_role("agent1", "agent").await;
    let (supervisor_id, supervisor) = app.user_with_role("super1", "supervisor").await;
    app.same_desk(&[id, supervisor_id]).await;
    app.unlock_as(&agent, id).await.problem(403);
    app.unlock_as(&supervisor, id).await.problem(403);
    app.send(app.anon(Method::POST, &app.acct(&format!("users/{id}/unlock")))).await.problem(401);
    app.login("dora", STRONG).await.problem(401);
    // The supervisor sees who is locked (users.view) without being able to unlock.
    let listed = app.get_as(&supervisor, &format!("{}?locked=true", app.acct("users"))).await.json(200);
    assert_eq!(user_ids(listed["items"].as_array().unwrap()), vec![id]);

    let (_, _, keeper_token) = app.user_with_permissions("keeper", &["users.view", "users.passwords"]).await;
    app.unlock_as(&keeper_token, id).await.expect(204);
    app.sign_in("dora", STRONG).await;
}

async fn the_address_throttle_answers_429_with_retry_after(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.set_security(|s| {
        s["lockout"]["max_failures"] = json!(100);
        s["lockout"]["window_minutes"] = json!(15);
        s["lockout"]["address_max_failures"] = json!(5);
    })
    .await;
    app.user_with_password("dora", STRONG, json!({})).await;
    // Five failures from this address, on different logins so no user lock plays a part.
    for i in 0..5 {
        let r = app.login(&format!("ghost{i}"), "wrong-password-1").await;
        assert_eq!(r.status, 401, "failure {i} of 5 is still a plain refusal: {}", r.text());
    }
    // Then the address is throttled, for right passwords too.
    for (login, password) in [("dora", STRONG), ("ghost9", "wrong-password-1")] {
        let r = app.login(login, password).await;
        r.problem(429);
        assert!(r.body.get("token").is_none(), "{}", r.text());
        let retry = r.header("retry-after").unwrap_or_else(|| panic!("429 without Retry-After: {:?}", r.headers));
        let seconds: u64 = retry.parse().unwrap_or_else(|_| panic!("Retry-After is not seconds: {retry:?}"));
        assert!((1..=15 * 60).contains(&seconds), "Retry-After {seconds} s outside the 15-minute window");
    }
    let r = app.login_kind("dora", STRONG, "phone").await;
    r.problem(429);
    // Sessions already open work as before.
    app.session(&app.token).await.expect(200);

    // Another address is not throttled.
    let other = reqwest::Client::builder().local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))).build().unwrap();
    let body = json!({ "account": app.account, "login": "dora", "password": STRONG });
    let r = other.post(app.url("/api/v1/auth/login")).json(&body).send().await.expect("from 127.0.0.2");
    assert_eq!(r.status(), 200, "sign-in from another address: {}", r.text().await.unwrap_or_default());
}

async fn wrong_current_passwords_count_toward_the_lockout(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    lock_settings(&app, 3, 20).await;
    let id = app.user_with_password("dora", STRONG, json!({})).await;
    let session = app.sign_in("dora", STRONG).await;
    // Someone at an unattended console guesses at the current password.
    for _ in 0..3 {
        let r = app
            .post_as(
                &session,
                "/api/v1/me/password",
                json!({ "current_password": "guess-Number-1", "new_password": STRONG_2 }),
            )
            .await;
        r.problem_on(422, "current_password");
    }
    let user = app.get_user(id).await.json(200);
    assert!(!user["locked_until"].is_null(), "three wrong guesses lock, as three failed sign-ins do: {user}");
    app.login("dora", STRONG).await.problem(401);
    let events = app.events(id, "user.password_change_failed").await;
    assert_eq!(events.len(), 3, "{events:#?}");
}
