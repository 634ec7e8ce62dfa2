//! Bad requests get a clear 4xx as RFC 9457 problem+json, never a 500, and write nothing.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Engine, TestApp};

both_engines!(
    malformed_and_unknown_json_is_a_400,
    oversize_bodies_are_a_413,
    wrong_content_type_and_bad_paths_are_4xx_problems,
);

async fn malformed_and_unknown_json_is_a_400(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let users = app.acct("users");
    let raw = |body: &'static str| app.req(Method::POST, &users).header("content-type", "application/json").body(body);

    for body in ["{", "{\"login\": }", "[1, 2", "not json at all", ""] {
        let r = app.send(raw(body)).await;
        r.problem(400);
        assert!(!r.body["detail"].as_str().unwrap().is_empty(), "{body:?}: {}", r.text());
    }
    // Unknown fields are refused, not ignored: a typo must not pass silently.
    let r = app.create_user(json!({ "login": "typo", "emial": "typo@example.com" })).await;
    r.problem(400);
    assert!(r.text().contains("emial"), "the detail names the unknown field: {}", r.text());
    // Wrong JSON types.
    app.create_user(json!({ "login": 42 })).await.problem(400);
    app.create_user(json!({ "login": "types", "roles": "admin" })).await.problem(400);
    app.create_user(json!({ "login": "types", "receive_email": "yes" })).await.problem(400);
    app.create_user(json!([{ "login": "array" }])).await.problem(400);
    // Sign-in and mass actions parse the same way.
    let login = json!({ "account": "default", "login": "admin", "password": "x", "remember": true });
    app.send(app.anon(Method::POST, "/api/v1/auth/login").json(&login)).await.problem(400);
    app.send(app.req(Method::POST, &app.acct("users/bulk")).header("content-type", "application/json").body("{"))
        .await
        .problem(400);
    let logins = app.logins("limit=500").await;
    assert_eq!(logins, vec![app.admin_login.clone()], "nothing was written");
}

async fn oversize_bodies_are_a_413(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    // Bodies far beyond any request's size: refused without being read.
    for len in [3 * 1024 * 1024, 64 * 1024 * 1024] {
        app.send_oversize("POST", &app.acct("users"), "application/json", len).await.problem(413);
        app.send_oversize("POST", &app.acct("users/bulk"), "application/json", len).await.problem(413);
        app.send_oversize("POST", "/api/v1/auth/login", "application/json", len).await.problem(413);
    }
    // And when sent in full: a 3 MB user, a mass action naming 400,000 ids.
    let body = json!({ "login": "big", "company": "x".repeat(3 * 1024 * 1024) });
    app.create_user(body).await.problem(413);
    let bulk = json!({ "action": "activate", "target": { "ids": (1..400_000).collect::<Vec<i64>>() } });
    app.bulk(bulk).await.problem(413);
    // An over-long field in a small body is a 422 naming it.
    app.create_user(json!({ "login": "long", "company": "x".repeat(10_000) })).await.problem_on(422, "company");
    assert!(!app.logins("limit=500").await.iter().any(|l| l == "big" || l == "long"));
}

async fn wrong_content_type_and_bad_paths_are_4xx_problems(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let users = app.acct("users");
    let r =
        app.send(app.req(Method::POST, &users).header("content-type", "text/plain").body("{\"login\":\"x\"}")).await;
    r.problem(415);
    let r = app.send(app.req(Method::POST, &users).body("{\"login\":\"x\"}")).await;
    r.problem(415);
    // A path id that is not a number (or too large for one) names no user: a 404 problem.
    for bad in ["users/abc", "users/99999999999999999999999", "users/1.5", "desks/x"] {
        app.get(&app.acct(bad)).await.problem(404);
    }
    let r = app.patch_user(0, Some("\"1\""), json!({})).await;
    r.problem(404);
    // Unknown API routes are problems too.
    app.get("/api/v1/no-such-thing").await.problem(404);
    let r = app.send(app.req(Method::PUT, &users).json(&json!({}))).await;
    assert_eq!(r.status.as_u16(), 405, "{}", r.text());
    // Unknown users and accounts.
    app.get_user(123_456).await.problem(404);
    app.get("/api/v1/accounts/ghost-town/users").await.problem(404);
}
