//! D9, secrets at rest in the second factor: recovery codes stored as keyed hashes bound to
//! their user (codes stored the old way still work, once), and authenticator keys sealed for
//! their user, so that rows copied between users in the database open nothing.
//! (SIP passwords: `sip.rs`; mail files: `mail.rs`; reset links: `forgot_password.rs`.)

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::helpers::{Engine, STRONG, TestApp, now_step, totp_code};

both_engines!(
    recovery_codes_are_stored_keyed_and_bound_to_their_user,
    recovery_codes_stored_the_old_way_work_once,
    an_authenticator_key_copied_to_another_user_does_not_open,
);

async fn admin_user(app: &TestApp, login: &str) -> i64 {
    let admin = app.builtin_role("admin").await;
    app.user_with_password(login, STRONG, json!({ "email": format!("{login}@example.com"), "roles": [admin] })).await
}

/// How the previous version stored a code: SHA-256 of a fixed prefix and the code, in hex.
fn plain_hash(code: &str) -> String {
    let normalized: String =
        code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect();
    hex::encode(Sha256::digest(format!("roster-recovery:{normalized}").as_bytes()))
}

/// The challenge of a new sign-in that stops at the second factor.
async fn second_factor_step(app: &TestApp, login: &str) -> String {
    let step = app.login(login, STRONG).await.json(200);
    assert_eq!(step["step"], "second_factor", "{step}");
    step["challenge"].as_str().unwrap().to_string()
}

async fn recovery_codes_are_stored_keyed_and_bound_to_their_user(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (ada, bob) = (admin_user(&app, "ada").await, admin_user(&app, "bob").await);
    app.sign_in_with_second_factor("ada", STRONG).await; // sets up the authenticator, with ten codes
    app.sign_in_with_second_factor("bob", STRONG).await;
    let codes = app.authenticators.get("ada").unwrap().recovery_codes;
    assert_eq!(codes.len(), 10);

    let stored = app.recovery_code_hashes(ada).await;
    assert_eq!(stored.len(), 10);
    for (hash, code) in stored.iter().zip(&codes) {
        assert!(hash.starts_with("hmac1:") && hash.len() == 6 + 64, "a keyed hash: {hash}");
        assert!(!stored.contains(&plain_hash(code)), "a plain SHA-256 of {code} is stored");
        assert!(!hash.contains(&code.replace('-', "")), "{hash}");
    }

    // Ada's rows copied to Bob (someone who can write the database): her codes do not sign him in.
    app.sql(&format!(
        "INSERT INTO recovery_codes (user_id, code_hash, created_at) SELECT {bob}, code_hash, created_at FROM recovery_codes WHERE user_id = {ada}"
    ))
    .await;
    let challenge = second_factor_step(&app, "bob").await;
    app.second_factor(&challenge, &codes[0], Some("recovery_code")).await.problem_field(422, "code", "wrong_code");
    // They still sign Ada in, once.
    let challenge = second_factor_step(&app, "ada").await;
    app.second_factor(&challenge, &codes[0], Some("recovery_code")).await.json(200);
    let challenge = second_factor_step(&app, "ada").await;
    app.second_factor(&challenge, &codes[0], Some("recovery_code")).await.problem_field(422, "code", "wrong_code");
}

/// Codes stored before they were keyed keep working until used (once) or replaced: nobody who
/// printed them is locked out by the upgrade.
async fn recovery_codes_stored_the_old_way_work_once(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ada = admin_user(&app, "ada").await;
    app.sign_in_with_second_factor("ada", STRONG).await;
    let old = "ABCDE-FGHJK";
    app.sql(&format!(
        "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ({ada}, '{}', 0)",
        plain_hash(old)
    ))
    .await;

    let challenge = second_factor_step(&app, "ada").await;
    let signed_in = app.second_factor(&challenge, "abcde fghjk", None).await.json(200);
    assert!(signed_in["token"].as_str().is_some(), "{signed_in}");
    let challenge = second_factor_step(&app, "ada").await;
    app.second_factor(&challenge, old, None).await.problem_field(422, "code", "wrong_code");
    let left = app
        .sql_text(&format!(
            "SELECT CAST(COUNT(*) AS TEXT) FROM recovery_codes WHERE user_id = {ada} AND used_at IS NULL"
        ))
        .await;
    assert_eq!(left, "10", "the old code is spent, the ten new ones are not");
}

async fn an_authenticator_key_copied_to_another_user_does_not_open(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (ada, bob) = (admin_user(&app, "ada").await, admin_user(&app, "bob").await);
    app.sign_in_with_second_factor("ada", STRONG).await;
    app.sign_in_with_second_factor("bob", STRONG).await;
    let stored = app.sql_text(&format!("SELECT totp_secret FROM users WHERE id = {ada}")).await;
    assert!(stored.starts_with("v2."), "sealed with its owner: {stored}");

    // Ada knows her own key; she puts its sealed form on Bob's row and tries to pass as him.
    app.sql(&format!(
        "UPDATE users SET totp_secret = (SELECT totp_secret FROM users WHERE id = {ada}) WHERE id = {bob}"
    ))
    .await;
    let secret = app.authenticators.get("ada").unwrap().secret;
    let challenge = second_factor_step(&app, "bob").await;
    let code = totp_code(&secret, now_step() + 1);
    let r = app.second_factor(&challenge, &code, Some("totp")).await;
    r.problem(500);
    assert!(r.body.get("token").is_none(), "{}", r.text());
    // Her own sign-in is unaffected.
    let challenge = second_factor_step(&app, "ada").await;
    app.second_factor(&challenge, &code, Some("totp")).await.json(200);
}
