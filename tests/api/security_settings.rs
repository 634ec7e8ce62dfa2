//! The account's security settings document: defaults, ETag / If-Match, validation by field
//! path, permissions, and that each account has its own.

use reqwest::{Method, header};
use serde_json::{Value, json};

use crate::helpers::{Engine, STRONG, TestApp};

both_engines!(
    defaults_are_as_documented,
    a_change_needs_the_current_etag,
    bad_values_are_named_by_their_path,
    settings_need_their_permissions,
    each_account_has_its_own_settings,
);

fn defaults() -> Value {
    json!({
        "password_policy": { "min_length": 8, "max_length": 128, "require_lowercase": false,
            "require_uppercase": false, "require_digit": false, "require_symbol": false, "forbid_login": true,
            "forbid_common": true, "history": 5, "expiry_months": null },
        "lockout": { "max_failures": 10, "window_minutes": 15, "lock_minutes": 15, "address_max_failures": 50 },
        "sessions": { "console_idle_minutes": 30, "phone_idle_minutes": 10080, "absolute_hours": 12,
            "one_session_per_user": false },
        "second_factor": { "required_for": "admins", "email_code_minutes": 10 },
        "captcha": { "always": false, "after_address_failures": 0 },
        "invitations": { "valid_days": 7 }
    })
}

async fn defaults_are_as_documented(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let r = app.get(&app.security_path()).await;
    let etag = r.etag();
    assert!(!etag.is_empty());
    assert!(r.content_type().starts_with("application/json"), "{:?}", r.content_type());
    assert_eq!(r.json(200), defaults());
    // The same ETag on a second read.
    assert_eq!(app.get(&app.security_path()).await.etag(), etag);
    // If-None-Match is not used by the API: the document again, never an error.
    let again = app.send(app.req(Method::GET, &app.security_path()).header(header::IF_NONE_MATCH, &etag)).await;
    assert_eq!(again.json(200), defaults());
    assert_eq!(again.etag(), etag);
}

async fn a_change_needs_the_current_etag(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (doc, etag) = app.security().await;
    let mut changed = doc.clone();
    changed["password_policy"]["min_length"] = json!(10);
    changed["lockout"]["max_failures"] = json!(4);
    changed["sessions"]["one_session_per_user"] = json!(true);

    app.put_security(None, changed.clone()).await.problem(428);
    app.put_security(Some("\"not-the-etag\""), changed.clone()).await.problem(412);
    let (unchanged, same) = app.security().await;
    assert_eq!(unchanged, doc, "a refused PUT changed something");
    assert_eq!(same, etag);

    let r = app.put_security(Some(&etag), changed.clone()).await;
    assert_eq!(r.json(200), changed, "PUT answers the stored document");
    assert!(r.header("etag").is_some_and(|e| e != etag), "PUT answers the new ETag: {:?}", r.headers);
    let (now, new_etag) = app.security().await;
    assert_eq!(now, changed);
    assert_ne!(new_etag, etag, "a change makes a new ETag");
    // The old ETag is stale now.
    let mut later = changed.clone();
    later["password_policy"]["min_length"] = json!(9);
    app.put_security(Some(&etag), later.clone()).await.problem(412);
    assert_eq!(app.security().await.0, changed);
    // Writing the same document back is fine.
    assert_eq!(app.put_security(Some(&new_etag), changed.clone()).await.json(200), changed);

    // The change takes effect: 10 characters are needed now.
    let id = app.user_with_password("dora", STRONG, json!({})).await;
    let short = app.set_password(id, json!({ "password": "Violet-17" })).await;
    crate::helpers::assert_refused(&short, "password", "too_short");
}

async fn bad_values_are_named_by_their_path(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (doc, etag) = app.security().await;
    let cases: Vec<(&str, &str, Value)> = vec![
        ("password_policy", "min_length", json!(0)),
        ("password_policy", "expiry_months", json!(13)),
        ("lockout", "max_failures", json!(0)),
        ("lockout", "window_minutes", json!(0)),
        ("lockout", "lock_minutes", json!(0)),
        ("lockout", "address_max_failures", json!(0)),
        ("sessions", "console_idle_minutes", json!(0)),
        ("sessions", "phone_idle_minutes", json!(0)),
        ("sessions", "absolute_hours", json!(0)),
    ];
    for (section, field, value) in &cases {
        let mut bad = doc.clone();
        bad[section][field] = value.clone();
        let r = app.put_security(Some(&etag), bad).await;
        let path = format!("{section}.{field}");
        assert_eq!(r.status, 422, "{path} = {value}: {}", r.text());
        let problem = r.problem_on(422, &path);
        let issue = problem["errors"].as_array().unwrap().iter().find(|e| e["field"] == path.as_str()).unwrap().clone();
        assert!(issue["code"].is_string() && issue["message"].as_str().is_some_and(|m| !m.is_empty()), "{issue}");
    }
    // Minimum above maximum: one of the two is named.
    let mut crossed = doc.clone();
    crossed["password_policy"]["min_length"] = json!(40);
    crossed["password_policy"]["max_length"] = json!(20);
    let r = app.put_security(Some(&etag), crossed).await;
    r.problem(422);
    let fields = r.error_fields();
    assert!(
        fields.iter().any(|f| f == "password_policy.min_length" || f == "password_policy.max_length"),
        "{fields:?}"
    );
    // Every bad field at once.
    let mut many = doc.clone();
    many["password_policy"]["min_length"] = json!(0);
    many["lockout"]["max_failures"] = json!(0);
    many["sessions"]["absolute_hours"] = json!(0);
    let r = app.put_security(Some(&etag), many).await;
    r.problem(422);
    for path in ["password_policy.min_length", "lockout.max_failures", "sessions.absolute_hours"] {
        assert!(r.error_fields().iter().any(|f| f == path), "{path} not named: {}", r.text());
    }
    // Nothing was written.
    let (after, after_etag) = app.security().await;
    assert_eq!(after, doc);
    assert_eq!(after_etag, etag);
}

async fn settings_need_their_permissions(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (doc, etag) = app.security().await;
    let path = app.security_path();
    let put_as = |token: &str| app.req_as(token, Method::PUT, &path).header(header::IF_MATCH, &etag).json(&doc);

    let (_, agent) = app.user_with_role("agent1", "agent").await;
    let (_, supervisor) = app.user_with_role("sup1", "supervisor").await;
    for token in [&agent, &supervisor] {
        app.get_as(token, &path).await.problem(403);
        app.send(put_as(token)).await.problem(403);
    }
    let (_, _, viewer) = app.user_with_permissions("viewer", &["settings.view"]).await;
    let seen = app.get_as(&viewer, &path).await;
    assert_eq!(seen.etag(), etag);
    assert_eq!(seen.json(200), doc);
    app.send(put_as(&viewer)).await.problem(403);
    let (_, _, manager) = app.user_with_permissions("manager", &["settings.view", "settings.manage"]).await;
    assert_eq!(app.send(put_as(&manager)).await.json(200), doc);
    let (_, admin) = app.admin_with_second_factor("second.admin").await;
    app.get_as(&admin, &path).await.expect(200);
    app.send(app.anon(Method::GET, &path)).await.problem(401);
    app.send(app.anon(Method::PUT, &path).header(header::IF_MATCH, &etag).json(&doc)).await.problem(401);
}

async fn each_account_has_its_own_settings(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.post("/api/v1/accounts", json!({ "slug": "initech", "name": "Initech" })).await.json(201);
    app.set_security(|s| s["password_policy"]["min_length"] = json!(20)).await;
    let theirs = app.get("/api/v1/accounts/initech/settings/security").await.json(200);
    assert_eq!(theirs, defaults(), "another account's settings changed");

    // The policy applies in its own account only.
    let admin_role = app.builtin_role_in(&app.token, "initech", "admin").await;
    let body = json!({ "login": "peter", "password": STRONG, "roles": [admin_role] });
    let peter = app.post("/api/v1/accounts/initech/users", body).await.json(201);
    let peter_id = crate::helpers::id_of(&peter);
    let put = app.req(Method::PUT, &format!("/api/v1/accounts/initech/users/{peter_id}/password"));
    app.send(put.json(&json!({ "password": "Violet-Harbor-17" }))).await.expect(200);
    let dora = app.user_with_password("dora", "Quartz-Lantern-Meadow-42!", json!({})).await;
    let short = app.set_password(dora, json!({ "password": "Violet-Harbor-17" })).await;
    crate::helpers::assert_refused(&short, "password", "too_short");

    // Initech's admin cannot see the default account's settings.
    let peter_token = app.sign_in_to_with_second_factor("initech", "peter", "Violet-Harbor-17").await;
    app.get_as(&peter_token, &app.security_path()).await.problem(404);
    app.get_as(&peter_token, "/api/v1/accounts/initech/settings/security").await.expect(200);
}
