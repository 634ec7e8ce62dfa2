//! API tokens: created with a subset of the creator's permissions, shown once, listed without
//! the secret, usable as a bearer with only those permissions, revoked at once.

use reqwest::Method;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::helpers::{
    Engine, STRONG, STRONG_2, TestApp, assert_near, assert_refused, id_of, key_of, parse_time, rfc3339,
};

both_engines!(
    a_token_is_shown_once_and_acts_with_its_permissions_only,
    a_token_never_holds_more_than_its_creator,
    tokens_are_listed_without_their_secret_and_show_last_use,
    a_revoked_token_stops_at_once,
    token_expiry,
    token_permissions_are_needed_to_see_and_manage_tokens,
    a_token_cannot_take_over_its_creator,
);

fn secret(created: &Value) -> String {
    created["token"].as_str().unwrap_or_else(|| panic!("no token in {created}")).to_string()
}

fn sorted_strings(v: &Value) -> Vec<String> {
    let mut s: Vec<String> = v
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    s.sort();
    s
}

async fn a_token_is_shown_once_and_acts_with_its_permissions_only(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let start = OffsetDateTime::now_utc();
    let created = app
        .create_token_as(&app.token, json!({ "name": "CI import", "permissions": ["users.view", "users.create"] }))
        .await;
    let created = created.json(201);
    let token = secret(&created);
    assert!(token.starts_with("rst_") && token.len() >= 24, "{created}");
    assert_eq!(created["name"], "CI import");
    assert_eq!(sorted_strings(&created["permissions"]), vec!["users.create", "users.view"]);
    assert_near(parse_time(&created["created_at"]), start, Duration::minutes(2), "created_at");
    assert_eq!(created["expires_at"], Value::Null, "{created}");
    assert_eq!(created["last_used_at"], Value::Null, "{created}");
    assert_eq!(created["created_by"]["id"], app.admin_id, "{created}");
    assert_eq!(created["created_by"]["login"], app.admin_login.as_str(), "{created}");
    assert!(!key_of(&created).is_empty());

    // What it may do.
    app.get_as(&token, &app.acct("users")).await.expect(200);
    let made = app.post_as(&token, &app.acct("users"), json!({ "login": "made.by.token" })).await.json(201);
    // What it may not, though its creator may.
    app.delete_as(&token, &app.user_path(id_of(&made))).await.problem(403);
    app.get_as(&token, &app.acct("roles")).await.problem(403);
    app.get_as(&token, &app.acct("activity")).await.problem(403);
    app.get_as(&token, &app.security_path()).await.problem(403);
    app.get_as(&token, &app.acct("sessions")).await.problem(403);
    app.create_token_as(&token, json!({ "name": "child", "permissions": ["users.view"] })).await.problem(403);
    app.get_as(&token, &app.acct("tokens")).await.problem(403);
    // A platform operator's token is no platform operator.
    app.post_as(&token, "/api/v1/accounts", json!({ "slug": "sneaky", "name": "Sneaky" })).await.problem(403);
    let user = app.get_user(id_of(&made)).await;
    user.expect(200);

    // The session it reports.
    let session = app.session(&token).await.json(200);
    assert_eq!(session["kind"], "api_token", "{session}");
    assert_eq!(session["user"]["id"], app.admin_id, "{session}");
    assert_eq!(session["account"]["slug"], "default");
    assert_eq!(sorted_strings(&session["permissions"]), vec!["users.create", "users.view"], "{session}");
    assert_ne!(session["platform_operator"], true, "{session}");

    // The secret is never shown again.
    let listed = app.get(&app.acct("tokens")).await;
    assert!(!listed.text().contains(&token), "the secret is listed: {}", listed.text());
    let activity = serde_json::to_string(&app.activity("limit=500").await).unwrap();
    assert!(!activity.contains(&token), "the secret is in the log");
}

async fn a_token_never_holds_more_than_its_creator(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (tina, role, tina_token) =
        app.user_with_permissions("tina", &["tokens.view", "tokens.manage", "users.view", "users.edit"]).await;
    let created = app.create_token_as(&tina_token, json!({ "name": "mine", "permissions": ["users.view"] })).await;
    let token = secret(&created.json(201));
    assert_eq!(created.body["created_by"]["id"], tina);

    for permissions in [json!(["users.delete"]), json!(["users.view", "users.delete"]), json!(["settings.manage"])] {
        let r = app.create_token_as(&tina_token, json!({ "name": "more", "permissions": permissions })).await;
        assert_refused(&r, "permissions", "not_held");
    }
    let r = app.create_token_as(&tina_token, json!({ "name": "odd", "permissions": ["users.fly"] })).await;
    assert_refused(&r, "permissions", "unknown");
    let r = app.create_token_as(&app.token, json!({ "name": "odd", "permissions": ["users.view", "nope"] })).await;
    assert_refused(&r, "permissions", "unknown");
    let names: Vec<Value> = app.list_tokens().await.iter().map(|t| t["name"].clone()).collect();
    assert_eq!(names, vec![json!("mine")], "a refused token was made");

    app.get_as(&token, &app.acct("users")).await.expect(200);
    // Tina loses users.view: so does her token, at once.
    let path = app.acct(&format!("roles/{role}"));
    let etag = app.get(&path).await.etag();
    let patch = app.req(Method::PATCH, &path).header("if-match", etag);
    app.send(patch.json(&json!({ "permissions": ["tokens.view", "tokens.manage", "users.edit"] }))).await.expect(200);
    app.get_as(&token, &app.acct("users")).await.problem(403);
    let session = app.session(&token).await.json(200);
    assert!(sorted_strings(&session["permissions"]).is_empty(), "{session}");
    // Gaining it back gives it back (the token keeps what it was made with).
    let etag = app.get(&path).await.etag();
    let patch = app.req(Method::PATCH, &path).header("if-match", etag);
    app.send(patch.json(&json!({ "permissions": ["tokens.view", "tokens.manage", "users.view"] }))).await.expect(200);
    app.get_as(&token, &app.acct("users")).await.expect(200);

    // A disabled creator's tokens do nothing.
    app.update_user(tina, json!({ "status": "disabled" })).await;
    app.get_as(&token, &app.acct("users")).await.problem(401);
    app.update_user(tina, json!({ "status": "active" })).await;
    // A deleted creator's tokens are gone.
    app.delete_user(tina).await.expect(204);
    app.get_as(&token, &app.acct("users")).await.problem(401);
}

async fn tokens_are_listed_without_their_secret_and_show_last_use(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let one = app.api_token("one", &["users.view"]).await;
    let two = app.api_token("two", &["roles.view"]).await;
    let (one_secret, two_secret) = (secret(&one), secret(&two));

    let listed = app.list_tokens().await;
    assert_eq!(listed.len(), 2, "{listed:#?}");
    for t in &listed {
        assert!(t.get("token").is_none(), "a listed token shows its secret: {t}");
        assert_eq!(t["last_used_at"], Value::Null, "{t}");
        for field in ["id", "name", "permissions", "created_at", "expires_at", "created_by"] {
            assert!(t.get(field).is_some(), "no {field} in {t}");
        }
    }
    let text = serde_json::to_string(&listed).unwrap();
    assert!(!text.contains(&one_secret) && !text.contains(&two_secret), "{text}");
    let of = |items: &[Value], id: &str| items.iter().find(|t| key_of(t) == id).cloned().unwrap();
    assert_eq!(of(&listed, &key_of(&one))["name"], "one");
    assert_eq!(sorted_strings(&of(&listed, &key_of(&two))["permissions"]), vec!["roles.view"]);

    let used = OffsetDateTime::now_utc();
    app.get_as(&one_secret, &app.acct("users")).await.expect(200);
    let listed = app.list_tokens().await;
    let t1 = of(&listed, &key_of(&one));
    assert_near(parse_time(&t1["last_used_at"]), used, Duration::minutes(2), "last_used_at after use");
    assert_eq!(of(&listed, &key_of(&two))["last_used_at"], Value::Null);
    // Tokens are not sessions: they are not among the account's sessions.
    let sessions = app.account_sessions("limit=500").await.json(200);
    assert!(!sessions.to_string().contains("api_token"), "{sessions}");
}

async fn a_revoked_token_stops_at_once(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let created = app.api_token("short-lived", &["users.view"]).await;
    let token = secret(&created);
    let other = secret(&app.api_token("other", &["users.view"]).await);
    app.get_as(&token, &app.acct("users")).await.expect(200);
    let path = app.acct(&format!("tokens/{}", key_of(&created)));

    app.delete(&path).await.expect(204);
    app.get_as(&token, &app.acct("users")).await.problem(401);
    app.session(&token).await.problem(401);
    app.get_as(&other, &app.acct("users")).await.expect(200);
    app.delete(&path).await.problem(404);
    assert!(!app.list_tokens().await.iter().any(|t| key_of(t) == key_of(&created)), "a revoked token is listed");
    app.delete(&app.acct("tokens/999999")).await.problem(404);
    // A made-up token that looks like one is refused too.
    app.get_as("rst_0000000000000000000000000000000000", &app.acct("users")).await.problem(401);
}

async fn token_expiry(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let later = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() + Duration::days(2);
    let created = app
        .create_token_as(
            &app.token,
            json!({ "name": "two days", "permissions": ["users.view"], "expires_at": rfc3339(later) }),
        )
        .await
        .json(201);
    assert_eq!(parse_time(&created["expires_at"]), later, "{created}");
    let token = secret(&created);
    let session = app.session(&token).await.json(200);
    assert_eq!(session["kind"], "api_token");
    assert_eq!(parse_time(&session["expires_at"]), later, "the session shows the token's expiry: {session}");
    app.get_as(&token, &app.acct("users")).await.expect(200);

    // An expiry in the past makes a token that could never work: refused.
    let past = rfc3339(OffsetDateTime::now_utc() - Duration::hours(1));
    let r = app
        .create_token_as(&app.token, json!({ "name": "stale", "permissions": ["users.view"], "expires_at": past }))
        .await;
    r.problem_on(422, "expires_at");
    // Not a time.
    let r = app
        .create_token_as(&app.token, json!({ "name": "odd", "permissions": ["users.view"], "expires_at": "tomorrow" }))
        .await;
    r.problem_field(422, "expires_at", "invalid");
    // No name.
    let r = app.create_token_as(&app.token, json!({ "name": "", "permissions": ["users.view"] })).await;
    r.problem_on(422, "name");
    // null: never expires.
    let forever = app
        .create_token_as(&app.token, json!({ "name": "forever", "permissions": ["users.view"], "expires_at": null }))
        .await
        .json(201);
    assert_eq!(forever["expires_at"], Value::Null);
    let names: Vec<String> = app.list_tokens().await.iter().map(|t| t["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(names.len(), 2, "refused tokens were made: {names:?}");
}

async fn token_permissions_are_needed_to_see_and_manage_tokens(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let made = app.api_token("ops", &["users.view"]).await;
    let (_, agent) = app.user_with_role("agent1", "agent").await;
    let (_, supervisor) = app.user_with_role("sup1", "supervisor").await;
    for token in [&agent, &supervisor] {
        app.get_as(token, &app.acct("tokens")).await.problem(403);
        app.create_token_as(token, json!({ "name": "x", "permissions": [] })).await.problem(403);
        app.delete_as(token, &app.acct(&format!("tokens/{}", key_of(&made)))).await.problem(403);
    }
    // tokens.view sees, but does not make or revoke.
    let (_, _, viewer) = app.user_with_permissions("viewer", &["tokens.view", "users.view"]).await;
    let listed = app.get_as(&viewer, &app.acct("tokens")).await.json(200);
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1), "{listed}");
    app.create_token_as(&viewer, json!({ "name": "x", "permissions": ["users.view"] })).await.problem(403);
    app.delete_as(&viewer, &app.acct(&format!("tokens/{}", key_of(&made)))).await.problem(403);
    app.get_as(&secret(&made), &app.acct("users")).await.expect(200);
    // The Admin role has both.
    let (_, admin) = app.admin_with_second_factor("second.admin").await;
    app.get_as(&admin, &app.acct("tokens")).await.expect(200);
    let own = app.create_token_as(&admin, json!({ "name": "theirs", "permissions": ["users.view"] })).await.json(201);
    app.delete_as(&admin, &app.acct(&format!("tokens/{}", key_of(&own)))).await.expect(204);
    // Without a session: 401.
    app.send(app.anon(Method::GET, &app.acct("tokens"))).await.problem(401);
}

async fn a_token_cannot_take_over_its_creator(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let created = app
        .create_token_as(
            &app.token,
            json!({ "name": "Password desk", "permissions": ["users.passwords", "users.view"] }),
        )
        .await;
    let token = secret(&created.json(201));
    let other = app.user_with_password("otto", STRONG, json!({})).await;
    // Its permission works on others…
    app.send(
        app.req_as(&token, Method::PUT, &format!("{}/password", app.user_path(other)))
            .json(&json!({ "password": STRONG_2 })),
    )
    .await
    .expect(200);
    // …but setting the password of the admin who made it would hand it all of the admin's rights.
    let refused = app
        .send(app.req_as(&token, Method::PUT, &format!("{}/password", app.user_path(app.admin_id))).json(&json!({})))
        .await;
    refused.problem(403);
    app.login(&app.admin_login, &app.admin_password).await.expect(200);
    // Nor its own route to its creator's password, nor tokens of its own.
    app.post_as(
        &token,
        "/api/v1/me/password",
        json!({ "current_password": app.admin_password, "new_password": STRONG }),
    )
    .await
    .problem(403);
    app.create_token_as(&token, json!({ "name": "child", "permissions": ["users.view"] })).await.problem(403);
}
