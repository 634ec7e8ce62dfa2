//! Sign-in, the session, sign-out; refused sign-ins look alike; R17 and R25 (sessions end on
//! deactivation, deletion and password change).

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Engine, TestApp};

both_engines!(
    sign_in_shows_the_session_and_sign_out_ends_it,
    refused_sign_ins_look_the_same,
    a_disabled_user_cannot_sign_in,
    deactivation_ends_the_users_sessions,
    bulk_deactivation_and_deletion_end_sessions,
    requests_without_a_valid_token_get_401,
    a_disabled_account_cannot_sign_in,
);

async fn sign_in_shows_the_session_and_sign_out_ends_it(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    // The first admin has an authenticator (R27): the sign-in asks for its code.
    let step = app.login(&app.admin_login, &app.admin_password).await.json(200);
    assert_eq!(step["step"], "second_factor", "{step}");
    let login = app.complete_sign_in(&app.admin_login, step).await;
    assert!(login["token"].as_str().is_some_and(|t| t.len() >= 20), "{login}");
    assert!(login["expires_at"].as_str().is_some_and(|t| t.contains('T')), "expires_at is RFC 3339: {login}");
    let token = login["token"].as_str().unwrap();

    let session = app.session(token).await.json(200);
    assert_eq!(session["user"]["login"], app.admin_login.as_str());
    assert_eq!(session["user"]["id"], app.admin_id);
    assert_eq!(session["account"]["slug"], "default");
    assert_eq!(session["platform_operator"], true);
    assert!(session["roles"].as_array().unwrap().iter().any(|r| r == "Admin"), "{session}");
    let permissions = session["permissions"].as_array().unwrap();
    for p in ["users.view", "users.create", "users.edit", "users.delete"] {
        assert!(permissions.iter().any(|x| x == p), "{p} missing: {session}");
    }

    // The login is case-insensitive, as its uniqueness is.
    app.sign_in_with_second_factor(&app.admin_login.to_uppercase(), &app.admin_password).await;

    // An agent's session shows the agent's rights only.
    let (_, agent) = app.user_with_role("agent1", "agent").await;
    let s = app.session(&agent).await.json(200);
    assert_eq!(s["platform_operator"], false);
    assert_eq!(s["roles"], json!(["Agent"]));
    assert!(!s["permissions"].as_array().unwrap().iter().any(|p| p == "users.view"), "{s}");

    app.send(app.req_as(token, Method::POST, "/api/v1/auth/logout")).await.expect(204);
    app.session(token).await.problem(401);
    // Other sessions of the same user live on.
    app.session(&app.token).await.expect(200);
}

async fn refused_sign_ins_look_the_same(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.user_with_password("gus", "thgirq-password-1", json!({})).await;
    app.user_with_password("hal", "thgirq-password-1", json!({ "status": "disabled" })).await;

    let attempts = [
        ("default", "gus", "gnorwq-password-1", "wrong password"),
        ("default", "nobody", "thgirq-password-1", "unknown login"),
        ("default", "hal", "thgirq-password-1", "disabled user"),
        ("no-such-account", "gus", "thgirq-password-1", "unknown account"),
        ("default", "gus", "", "empty password"),
        // Text no account or login can hold (PostgreSQL refuses the NUL character outright).
        ("def\u{0}ault", "gus", "thgirq-password-1", "account with a NUL character"),
        ("default", "g\u{0}us", "thgirq-password-1", "login with a NUL character"),
    ];
    let mut bodies = Vec::new();
    for (account, login, password, why) in attempts {
        let r = app.login_in(account, login, password).await;
        assert_eq!(r.status.as_u16(), 401, "{why}: {}", r.text());
        r.problem(401);
        assert!(r.body.get("token").is_none());
        bodies.push((why, r.body.clone()));
    }
    for (why, body) in &bodies[1..] {
        assert_eq!(body, &bodies[0].1, "the answer to a {why} differs from a wrong password's");
    }
    // The right password still works afterwards.
    app.sign_in("gus", "thgirq-password-1").await;
}

async fn a_disabled_user_cannot_sign_in(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = app.user_with_password("ivy", "yviq-password-1", json!({ "status": "disabled" })).await;
    app.login("ivy", "yviq-password-1").await.problem(401);
    app.update_user(id, json!({ "status": "active" })).await;
    app.sign_in("ivy", "yviq-password-1").await;
    app.update_user(id, json!({ "status": "disabled" })).await;
    app.login("ivy", "yviq-password-1").await.problem(401);
}

async fn deactivation_ends_the_users_sessions(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = app.user_with_password("jay", "yajq-password-1", json!({})).await;
    let first = app.sign_in("jay", "yajq-password-1").await;
    let second = app.sign_in("jay", "yajq-password-1").await;
    app.session(&first).await.expect(200);

    app.update_user(id, json!({ "status": "disabled" })).await;
    app.session(&first).await.problem(401);
    app.session(&second).await.problem(401);
    // Reactivation does not bring the old sessions back (R25: they ended).
    app.update_user(id, json!({ "status": "active" })).await;
    app.session(&first).await.problem(401);
    app.session(&second).await.problem(401);
    let third = app.sign_in("jay", "yajq-password-1").await;

    // Deletion ends them too.
    app.delete_user(id).await.expect(204);
    app.session(&third).await.problem(401);
    app.login("jay", "yajq-password-1").await.problem(401);
}

async fn bulk_deactivation_and_deletion_end_sessions(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let kim = app.user_with_password("kim", "mikq-password-1", json!({})).await;
    let lou = app.user_with_password("lou", "uolq-password-1", json!({})).await;
    let kim_token = app.sign_in("kim", "mikq-password-1").await;
    let lou_token = app.sign_in("lou", "uolq-password-1").await;

    app.bulk(json!({ "action": "deactivate", "target": { "ids": [kim] } })).await.expect(200);
    app.session(&kim_token).await.problem(401);
    app.session(&lou_token).await.expect(200);
    app.bulk(json!({ "action": "activate", "target": { "ids": [kim] } })).await.expect(200);
    app.session(&kim_token).await.problem(401);

    app.bulk(json!({ "action": "delete", "target": { "ids": [lou] } })).await.expect(200);
    app.session(&lou_token).await.problem(401);
    // The admin who ran them is still signed in.
    app.session(&app.token).await.expect(200);
}

async fn requests_without_a_valid_token_get_401(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let users = app.acct("users");
    let none = app.send(app.anon(Method::GET, &users)).await;
    none.problem(401);
    assert!(none.header("www-authenticate").is_some_and(|v| v.starts_with("Bearer")), "{:?}", none.headers);
    app.send(app.req_as("not-a-token", Method::GET, &users)).await.problem(401);
    app.send(app.anon(Method::GET, &users).header("authorization", "Basic YWRtaW46YWRtaW4=")).await.problem(401);
    app.send(app.anon(Method::GET, "/api/v1/session")).await.problem(401);
    app.send(app.anon(Method::POST, &users).json(&json!({ "login": "sneaky" }))).await.problem(401);
    assert!(!app.logins("limit=500").await.contains(&"sneaky".to_string()));
    // Logout without a session is 401 too.
    app.send(app.anon(Method::POST, "/api/v1/auth/logout")).await.problem(401);
}

async fn a_disabled_account_cannot_sign_in(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.post("/api/v1/accounts", json!({ "slug": "initech", "name": "Initech", "seat_limit": 2 })).await.json(201);
    let admin_role = app.builtin_role_in(&app.token, "initech", "admin").await;
    let body = json!({ "login": "peter", "password": "retepq-password-1", "roles": [admin_role] });
    app.post("/api/v1/accounts/initech/users", body).await.json(201);
    let token = app.sign_in_to_with_second_factor("initech", "peter", "retepq-password-1").await;
    app.get_as(&token, "/api/v1/accounts/initech/users").await.expect(200);

    // R20: the account's seats are a limit.
    app.post_as(&token, "/api/v1/accounts/initech/users", json!({ "login": "milton" })).await.expect(201);
    let full = app.post_as(&token, "/api/v1/accounts/initech/users", json!({ "login": "bob" })).await;
    full.problem_field(409, "seats", "seats_full");

    // R17: disabling the account stops its users at once; enabling lets them sign in again.
    let etag = app.get("/api/v1/accounts/initech").await.etag();
    let patch = app.req(Method::PATCH, "/api/v1/accounts/initech").header("if-match", &etag);
    let disabled = app.send(patch.json(&json!({ "enabled": false }))).await;
    let etag = disabled.etag();
    assert_eq!(disabled.json(200)["enabled"], false);
    app.get_as(&token, "/api/v1/accounts/initech/users").await.problem(401);
    app.login_in("initech", "peter", "retepq-password-1").await.problem(401);
    // The default account is untouched.
    app.session(&app.token).await.expect(200);
    let patch = app.req(Method::PATCH, "/api/v1/accounts/initech").header("if-match", &etag);
    app.send(patch.json(&json!({ "enabled": true }))).await.expect(200);
    app.sign_in_to_with_second_factor("initech", "peter", "retepq-password-1").await;
}
