//! The password policy (R22–R24) over every way a password is set: an admin's reset
//! (`PUT …/users/{id}/password`), one's own change (`POST /api/v1/me/password`) and the
//! password-change step of a sign-in; history; forced change; expiry as reported.

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::helpers::{Engine, STRONG, STRONG_2, STRONG_3, TestApp, assert_near, assert_refused, parse_time};

both_engines!(
    an_admin_reset_refuses_each_breach_of_the_default_policy,
    an_admin_reset_refuses_each_breach_of_a_strict_policy,
    a_generated_password_obeys_the_policy,
    own_change_refuses_each_breach_and_a_wrong_current_password,
    own_change_ends_the_other_sessions_only,
    the_password_change_step_refuses_each_breach,
    a_forced_change_comes_before_the_token,
    recent_passwords_cannot_be_reused,
    password_expiry_is_reported_per_account_and_per_user,
    an_expired_password_signs_in_only_to_change_it,
    a_reset_voids_a_pending_password_change,
);

const LOGIN: &str = "dora.tester";

/// Passwords that break exactly one rule of the default policy (min 8, max 128, no login,
/// no common password), with that rule's code.
fn default_breaches() -> Vec<(String, &'static str)> {
    vec![
        ("Xk4-pq9".to_string(), "too_short"),
        ("Aa1!".repeat(33), "too_long"),
        ("Xy7!dora.tester".to_string(), "contains_login"),
        ("Xy7!DORA.Tester".to_string(), "contains_login"),
        ("password1".to_string(), "common"),
        ("qwerty123".to_string(), "common"),
    ]
}

/// Passwords that break exactly one rule of `strict_policy` (min 12, every class).
fn strict_breaches() -> Vec<(String, &'static str)> {
    vec![
        ("Qz-Lan-42!x".to_string(), "too_short"),
        ("QUARTZ-LANTERN-42!".to_string(), "missing_lowercase"),
        ("quartz-lantern-42!".to_string(), "missing_uppercase"),
        ("Quartz-Lantern-xy!".to_string(), "missing_digit"),
        ("QuartzLantern42xy".to_string(), "missing_symbol"),
        ("Xy7!dora.tester".to_string(), "contains_login"),
    ]
}

async fn dora(app: &TestApp) -> i64 {
    app.user_with_password(LOGIN, STRONG, json!({})).await
}

/// Asserts `password` is (still) dora's: it signs in.
async fn still_signs_in(app: &TestApp, password: &str, why: &str) {
    let r = app.login(LOGIN, password).await;
    assert_eq!(r.status, 200, "{why}: the old password no longer signs in: {}", r.text());
    assert!(r.body["token"].is_string(), "{why}: {}", r.text());
}

async fn reset_refuses(app: &TestApp, id: i64, breaches: Vec<(String, &'static str)>) {
    let token = app.sign_in(LOGIN, STRONG).await;
    let before = app.get_user(id).await.json(200)["password_changed_at"].clone();
    for (password, code) in breaches {
        let r = app.set_password(id, json!({ "password": password, "password_confirmation": password })).await;
        assert_refused(&r, "password", code);
        assert!(!r.text().contains(&password), "the refused password is echoed: {}", r.text());
        still_signs_in(app, STRONG, code).await;
        app.login(LOGIN, &password).await.problem(401);
        // A refused reset ends no session (R25 is for a reset that happened).
        app.session(&token).await.expect(200);
    }
    assert_eq!(app.get_user(id).await.json(200)["password_changed_at"], before, "a refusal changed the password");
}

async fn an_admin_reset_refuses_each_breach_of_the_default_policy(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = dora(&app).await;
    reset_refuses(&app, id, default_breaches()).await;

    // Confirmation mismatch.
    let r = app.set_password(id, json!({ "password": STRONG_2, "password_confirmation": STRONG_3 })).await;
    assert_refused(&r, "password_confirmation", "mismatch");
    still_signs_in(&app, STRONG, "mismatch").await;
    app.login(LOGIN, STRONG_2).await.problem(401);

    // A good one is taken and ends dora's sessions (R25).
    let token = app.sign_in(LOGIN, STRONG).await;
    app.set_password(id, json!({ "password": STRONG_2, "password_confirmation": STRONG_2 })).await.expect(200);
    app.session(&token).await.problem(401);
    app.login(LOGIN, STRONG).await.problem(401);
    app.sign_in(LOGIN, STRONG_2).await;
}

async fn an_admin_reset_refuses_each_breach_of_a_strict_policy(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = dora(&app).await;
    app.strict_policy().await;
    reset_refuses(&app, id, strict_breaches()).await;
    // Edges: exactly 12 characters with every class is fine.
    let twelve = "Zq9!Zq9!Zq9!";
    app.set_password(id, json!({ "password": twelve })).await.expect(200);
    app.sign_in(LOGIN, twelve).await;

    // A looser policy takes effect at once: 8 characters and no classes.
    app.set_security(|s| {
        s["password_policy"] = json!({ "min_length": 8, "max_length": 64, "require_lowercase": false,
            "require_uppercase": false, "require_digit": false, "require_symbol": false, "forbid_login": false,
            "forbid_common": false, "history": 5, "expiry_months": null });
    })
    .await;
    let r = app.set_password(id, json!({ "password": "a".repeat(65) })).await;
    assert_refused(&r, "password", "too_long");
    // With forbid_login and forbid_common off, those are accepted.
    app.set_password(id, json!({ "password": "xdora.tester" })).await.expect(200);
    app.sign_in(LOGIN, "xdora.tester").await;
    app.set_password(id, json!({ "password": "password1" })).await.expect(200);
    app.sign_in(LOGIN, "password1").await;
}

async fn a_generated_password_obeys_the_policy(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = dora(&app).await;
    app.set_security(|s| {
        let p = &mut s["password_policy"];
        p["min_length"] = json!(20);
        p["require_lowercase"] = json!(true);
        p["require_uppercase"] = json!(true);
        p["require_digit"] = json!(true);
        p["require_symbol"] = json!(true);
    })
    .await;
    for _ in 0..3 {
        let body = app.set_password(id, json!({})).await.json(200);
        let generated = body["generated_password"].as_str().unwrap_or_else(|| panic!("{body}")).to_string();
        assert!(generated.chars().count() >= 20, "{generated:?} is shorter than the policy's 20");
        assert!(generated.chars().any(|c| c.is_ascii_lowercase()), "{generated:?}");
        assert!(generated.chars().any(|c| c.is_ascii_uppercase()), "{generated:?}");
        assert!(generated.chars().any(|c| c.is_ascii_digit()), "{generated:?}");
        assert!(generated.chars().any(|c| !c.is_ascii_alphanumeric()), "{generated:?} has no symbol");
        app.sign_in(LOGIN, &generated).await;
    }
}

async fn own_change_refuses_each_breach_and_a_wrong_current_password(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = dora(&app).await;
    let token = app.sign_in(LOGIN, STRONG).await;
    let before = app.get_user(id).await.json(200)["password_changed_at"].clone();

    // The current password is required and checked.
    let r = app
        .change_own_password(&token, json!({ "current_password": "not-my-password-1", "new_password": STRONG_2 }))
        .await;
    assert_refused(&r, "current_password", "incorrect");
    // Without it: a body without a required member is a 400 that names it.
    let r = app.change_own_password(&token, json!({ "new_password": STRONG_2 })).await;
    let problem = r.problem(400);
    assert!(problem["detail"].as_str().unwrap().contains("current_password"), "no current password: {problem}");
    still_signs_in(&app, STRONG, "wrong current password").await;
    app.session(&token).await.expect(200);

    let mut breaches = default_breaches();
    breaches.push((STRONG.to_string(), "reused"));
    for (password, code) in breaches {
        let body =
            json!({ "current_password": STRONG, "new_password": password, "new_password_confirmation": password });
        let r = app.change_own_password(&token, body).await;
        assert_refused(&r, "new_password", code);
        still_signs_in(&app, STRONG, code).await;
        app.session(&token).await.expect(200);
    }
    app.strict_policy().await;
    for (password, code) in strict_breaches() {
        let body = json!({ "current_password": STRONG, "new_password": password });
        assert_refused(&app.change_own_password(&token, body).await, "new_password", code);
        still_signs_in(&app, STRONG, code).await;
    }
    let body = json!({ "current_password": STRONG, "new_password": STRONG_2, "new_password_confirmation": STRONG_3 });
    assert_refused(&app.change_own_password(&token, body).await, "new_password_confirmation", "mismatch");
    still_signs_in(&app, STRONG, "mismatch").await;
    assert_eq!(app.get_user(id).await.json(200)["password_changed_at"], before, "a refusal changed the password");

    // A good one: 204, the new password works and the old one does not.
    let body = json!({ "current_password": STRONG, "new_password": STRONG_2, "new_password_confirmation": STRONG_2 });
    app.change_own_password(&token, body).await.expect(204);
    app.login(LOGIN, STRONG).await.problem(401);
    app.sign_in(LOGIN, STRONG_2).await;
    let after = app.get_user(id).await.json(200);
    assert!(parse_time(&after["password_changed_at"]) >= parse_time(&before), "{after}");
    assert_ne!(after["password_changed_at"], before);
    // Without a confirmation it is taken as well (the confirmation is optional).
    app.change_own_password(&token, json!({ "current_password": STRONG_2, "new_password": STRONG_3 }))
        .await
        .expect(204);
    app.sign_in(LOGIN, STRONG_3).await;
    // Anonymous: 401.
    let anon = app.anon(reqwest::Method::POST, "/api/v1/me/password");
    app.send(anon.json(&json!({ "current_password": STRONG_3, "new_password": STRONG }))).await.problem(401);
    // The change is recorded, without the passwords.
    let events = app.activity(&format!("user={id}&limit=500")).await;
    let text = serde_json::to_string(&events).unwrap();
    assert!(
        events.iter().any(|e| e["action"].as_str().is_some_and(|a| a.contains("password")) && e["actor_id"] == id),
        "no password event by dora: {events:#?}"
    );
    for p in [STRONG, STRONG_2, STRONG_3] {
        assert!(!text.contains(p), "a password in the log: {text}");
    }
}

async fn own_change_ends_the_other_sessions_only(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = dora(&app).await;
    let mine = app.sign_in(LOGIN, STRONG).await;
    let other = app.sign_in(LOGIN, STRONG).await;
    let phone = app.sign_in_kind(LOGIN, STRONG, "phone").await;
    let (_, bystander) = app.user_with_role("bystander", "agent").await;
    assert_eq!(app.my_sessions(&mine).await.len(), 3);

    app.change_own_password(&mine, json!({ "current_password": STRONG, "new_password": STRONG_2 })).await.expect(204);
    app.session(&mine).await.expect(200);
    app.session(&other).await.problem(401);
    app.session(&phone).await.problem(401);
    app.session(&bystander).await.expect(200);
    app.session(&app.token).await.expect(200);
    let left = app.my_sessions(&mine).await;
    assert_eq!(left.len(), 1, "{left:#?}");
    assert_eq!(left[0]["current"], true);
    assert_eq!(app.user_sessions(id).await.len(), 1);
}

/// A user who must change the password at next sign-in; returns the id.
async fn forced(app: &TestApp) -> i64 {
    let id = dora(app).await;
    app.set_password(id, json!({ "password": STRONG_2, "must_change_password": true })).await.expect(200);
    id
}

async fn the_password_change_step_refuses_each_breach(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    forced(&app).await;
    let mut breaches = default_breaches();
    // The password the admin set is the current one: choosing it again is reuse.
    breaches.push((STRONG_2.to_string(), "reused"));
    for (password, code) in breaches {
        let challenge = app.challenge_for(LOGIN, STRONG_2, "required").await;
        assert_refused(&app.password_change(&challenge, &password).await, "new_password", code);
        // Nothing changed: the old password still leads to the step.
        app.challenge_for(LOGIN, STRONG_2, "required").await;
        if password != STRONG_2 {
            app.login(LOGIN, &password).await.problem(401);
        }
    }
    app.strict_policy().await;
    for (password, code) in strict_breaches() {
        let challenge = app.challenge_for(LOGIN, STRONG_2, "required").await;
        assert_refused(&app.password_change(&challenge, &password).await, "new_password", code);
        app.challenge_for(LOGIN, STRONG_2, "required").await;
    }
    let challenge = app.challenge_for(LOGIN, STRONG_2, "required").await;
    let done = app.password_change(&challenge, STRONG_3).await.json(200);
    assert!(done["token"].is_string(), "{done}");
}

async fn a_forced_change_comes_before_the_token(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = forced(&app).await;

    // A wrong password gets the plain refusal, not the step.
    let wrong = app.login(LOGIN, "not-the-password-9").await;
    wrong.problem(401);
    assert!(wrong.body.get("challenge").is_none(), "{}", wrong.text());
    // Unknown challenges are refused.
    app.password_change("no-such-challenge", STRONG_3).await.problem(401);
    app.password_change("", STRONG_3).await.problem(401);

    let challenge = app.challenge_for(LOGIN, STRONG_2, "required").await;
    // The challenge is no bearer token.
    app.session(&challenge).await.problem(401);
    app.get_as(&challenge, "/api/v1/me/sessions").await.problem(401);
    // Another sign-in meanwhile gets the step too, not a token; its challenge replaces the
    // older one (one pending challenge per user).
    let newer = app.challenge_for(LOGIN, STRONG_2, "required").await;
    assert_ne!(newer, challenge);
    assert!(app.user_sessions(id).await.is_empty(), "the step made a session");
    app.password_change(&challenge, STRONG_3).await.problem(401);
    let challenge = newer;

    // A refused new password does not use the challenge up.
    assert_refused(&app.password_change(&challenge, "password1").await, "new_password", "common");
    let done = app.password_change(&challenge, STRONG_3).await.json(200);
    let token = done["token"].as_str().unwrap_or_else(|| panic!("{done}")).to_string();
    assert!(parse_time(&done["expires_at"]) > OffsetDateTime::now_utc(), "{done}");
    let session = app.session(&token).await.json(200);
    assert_eq!(session["user"]["id"], id);
    // Used once, never again.
    app.password_change(&challenge, "Another-Fine-Pass-8!").await.problem(401);
    app.login(LOGIN, "Another-Fine-Pass-8!").await.problem(401);

    // From now on the new password signs in directly; the old one not at all.
    let next = app.login(LOGIN, STRONG_3).await.json(200);
    assert!(next["token"].is_string() && next.get("step").is_none_or(Value::is_null), "{next}");
    app.login(LOGIN, STRONG_2).await.problem(401);
    let user = app.get_user(id).await.json(200);
    assert_ne!(user["must_change_password"], true, "the flag stays after the change: {user}");

    // The step's sign-in is recorded as a sign-in of dora.
    assert!(!app.events(id, "auth.sign_in").await.is_empty());

    // An admin reset without the flag signs in directly.
    app.set_password(id, json!({ "password": "Fresh-Start-Pass-5!", "must_change_password": false })).await.expect(200);
    app.sign_in(LOGIN, "Fresh-Start-Pass-5!").await;
}

async fn recent_passwords_cannot_be_reused(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.set_security(|s| s["password_policy"]["history"] = json!(2)).await;
    let id = dora(&app).await; // STRONG
    let p2 = "Second-Password-22!";
    let p3 = "Third-Password-33!";
    let p4 = "Fourth-Password-44!";
    app.set_password(id, json!({ "password": p2 })).await.expect(200);
    app.set_password(id, json!({ "password": p3 })).await.expect(200);
    // The current and the previous one are refused.
    assert_refused(&app.set_password(id, json!({ "password": p3 })).await, "password", "reused");
    assert_refused(&app.set_password(id, json!({ "password": p2 })).await, "password", "reused");
    app.sign_in(LOGIN, p3).await;
    // Own change: the same.
    let token = app.sign_in(LOGIN, p3).await;
    let r = app.change_own_password(&token, json!({ "current_password": p3, "new_password": p2 })).await;
    assert_refused(&r, "new_password", "reused");
    app.change_own_password(&token, json!({ "current_password": p3, "new_password": p4 })).await.expect(204);
    // STRONG is three changes back, beyond a history of 2: allowed again.
    app.set_password(id, json!({ "password": STRONG })).await.expect(200);
    app.sign_in(LOGIN, STRONG).await;

    // History is per user: another user may pick dora's old password.
    let other = app.user_with_password("otto", "Other-Start-11!", json!({})).await;
    app.set_password(other, json!({ "password": p4 })).await.expect(200);
}

async fn password_expiry_is_reported_per_account_and_per_user(engine: Engine) {
    // A password cannot be made months old over the API, so the sign-in step with reason
    // "expired" is not reached here; what is checked is the expiry each user is told.
    let app = TestApp::spawn(engine).await;
    let start = OffsetDateTime::now_utc();
    let id = dora(&app).await;
    let user = app.get_user(id).await.json(200);
    let changed = parse_time(&user["password_changed_at"]);
    assert_near(changed, start, Duration::minutes(2), "password_changed_at of a new user");
    assert_eq!(user["password_expires_at"], Value::Null, "no expiry by default: {user}");
    assert_eq!(user["password_expiry_months"], Value::Null, "{user}");
    assert!(user["locked_until"].is_null(), "{user}");

    let months = |user: &Value, n: i64| {
        let expires = parse_time(&user["password_expires_at"]);
        let lo = changed + Duration::days(28 * n);
        let hi = changed + Duration::days(31 * n + 1);
        assert!(expires >= lo && expires <= hi, "{n} months after {changed} is not {expires}: {user}");
    };

    app.set_security(|s| s["password_policy"]["expiry_months"] = json!(3)).await;
    months(&app.get_user(id).await.json(200), 3);
    // A user without own setting follows the account; one listed shows it too.
    let listed = app.list_users("q=dora.tester").await.json(200)["items"][0].clone();
    months(&listed, 3);

    // Per-user overrides: 0 = never, 1..12 = months, null = the account's.
    let u = app.update_user_security(id, json!({ "password_expiry_months": 0 })).await;
    assert_eq!(u["password_expiry_months"], 0);
    assert_eq!(u["password_expires_at"], Value::Null, "{u}");
    let u = app.update_user_security(id, json!({ "password_expiry_months": 1 })).await;
    months(&u, 1);
    let u = app.update_user_security(id, json!({ "password_expiry_months": 12 })).await;
    months(&u, 12);
    let u = app.update_user_security(id, json!({ "password_expiry_months": null })).await;
    assert_eq!(u["password_expiry_months"], Value::Null);
    months(&u, 3);
    for bad in [json!(13), json!(-1)] {
        let etag = app.get(&format!("{}/security", app.user_path(id))).await.etag();
        let r = app.put_user_security(id, Some(&etag), json!({ "password_expiry_months": bad })).await;
        assert_eq!(r.status, 422, "password_expiry_months = {bad}: {}", r.text());
        r.problem_on(422, "password_expiry_months");
    }
    // The account policy's own range.
    let (mut doc, etag) = app.security().await;
    doc["password_policy"]["expiry_months"] = json!(13);
    app.put_security(Some(&etag), doc).await.problem_on(422, "password_policy.expiry_months");

    // A new password moves the expiry on.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    app.set_password(id, json!({ "password": STRONG_2 })).await.expect(200);
    let u = app.get_user(id).await.json(200);
    assert!(parse_time(&u["password_changed_at"]) > changed, "{u}");
    assert!(parse_time(&u["password_expires_at"]) > changed + Duration::days(28 * 3), "{u}");
    // With the account's expiry off, the user's password does not expire.
    app.set_security(|s| s["password_policy"]["expiry_months"] = Value::Null).await;
    assert_eq!(app.get_user(id).await.json(200)["password_expires_at"], Value::Null);
    // A password that is not expired signs in straight away.
    app.sign_in(LOGIN, STRONG_2).await;
}

async fn an_expired_password_signs_in_only_to_change_it(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = app.user_with_password(LOGIN, STRONG, json!({})).await;
    app.set_security(|s| s["password_policy"]["expiry_months"] = json!(1)).await;
    // Not expired yet: a token.
    assert!(app.login(LOGIN, STRONG).await.json(200)["token"].is_string());
    // Forty days ago, as far as the server knows.
    let long_ago = OffsetDateTime::now_utc() - Duration::days(40);
    let ms = long_ago.unix_timestamp() * 1000;
    app.sql(&format!("UPDATE users SET password_changed_at = {ms} WHERE id = {id}")).await;
    let user = app.get_user(id).await.json(200);
    assert!(parse_time(&user["password_expires_at"]) < OffsetDateTime::now_utc(), "{user}");

    let step = app.login(LOGIN, STRONG).await.json(200);
    assert_eq!(step["step"], "password_change", "{step}");
    assert_eq!(step["reason"], "expired", "{step}");
    assert!(step.get("token").is_none(), "no token before the change: {step}");
    // The wrong password still gets the plain refusal, not the step.
    app.login(LOGIN, "Not-The-Password-9").await.expect(401);

    let challenge = step["challenge"].as_str().unwrap();
    let refused =
        app.post("/api/v1/auth/password-change", json!({ "challenge": challenge, "new_password": STRONG })).await;
    assert_refused(&refused, "new_password", "reused");
    let done = app
        .post("/api/v1/auth/password-change", json!({ "challenge": challenge, "new_password": STRONG_2 }))
        .await
        .json(200);
    let token = done["token"].as_str().unwrap();
    app.session(token).await.expect(200);
    let user = app.get_user(id).await.json(200);
    assert!(parse_time(&user["password_expires_at"]) > OffsetDateTime::now_utc() + Duration::days(25), "{user}");
    assert!(app.login(LOGIN, STRONG_2).await.json(200)["token"].is_string(), "the new password signs in directly");
    let log = app.get(&format!("/api/v1/accounts/default/activity?user={id}&action=auth.sign_in_step")).await.json(200);
    assert_eq!(log["items"][0]["changes"]["reason"], "expired", "{log}");
}

async fn a_reset_voids_a_pending_password_change(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = app.user_with_password(LOGIN, STRONG, json!({ "must_change_password": true })).await;
    // Someone with the old password reaches the password-change step…
    let step = app.login(LOGIN, STRONG).await.json(200);
    let challenge = step["challenge"].as_str().unwrap().to_string();
    // …and the admin resets the password meanwhile: the half-done sign-in cannot finish.
    app.set_password(id, json!({ "password": STRONG_2 })).await.expect(200);
    app.post("/api/v1/auth/password-change", json!({ "challenge": challenge, "new_password": STRONG_3 }))
        .await
        .problem(401);
    app.login(LOGIN, STRONG_3).await.problem(401);
    assert!(app.login(LOGIN, STRONG_2).await.json(200)["token"].is_string());
}
