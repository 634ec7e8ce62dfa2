//! SIP credentials (R5, R6): write-only in a user, sealed at rest, read back only through
//! `…/sip-credentials` by those allowed, and every read recorded.

use serde_json::json;
use sqlx::Row;

use crate::helpers::{Engine, TestApp, id_of};

both_engines!(
    a_sip_password_is_sealed_and_read_back_only_by_the_provisioning_route,
    sip_credentials_need_an_extension_and_a_decent_password,
    a_sealed_password_copied_to_another_user_does_not_open,
    passwords_sealed_before_owners_were_bound_open_and_are_sealed_again_at_start,
);

async fn a_sip_password_is_sealed_and_read_back_only_by_the_provisioning_route(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let user = app
        .new_user(json!({ "login": "desk-phone", "extension": "4711", "sip_username": "sip4711", "sip_password": "Reg1ster-Me!" }))
        .await;
    let id = id_of(&user);
    assert_eq!(user["has_sip_password"], true);
    assert!(!user.to_string().contains("Reg1ster-Me!"), "{user}");
    assert!(!app.get_user(id).await.text().contains("Reg1ster-Me!"));

    // At rest it is sealed, not stored as typed.
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&app.database_url).await.unwrap();
    let stored: String = sqlx::query("SELECT sip_password FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert!(stored.starts_with("v2.") && !stored.contains("Reg1ster"), "sealed with its owner: {stored}");

    let creds = app.get(&app.acct(&format!("users/{id}/sip-credentials"))).await.json(200);
    assert_eq!(creds["extension"], "4711");
    assert_eq!(creds["sip_username"], "sip4711");
    assert_eq!(creds["sip_password"], "Reg1ster-Me!");
    let reads = app.activity(&format!("user={id}&action=user.sip_credentials_read")).await;
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert!(!serde_json::to_string(&app.activity(&format!("user={id}")).await).unwrap().contains("Reg1ster"));

    // An agent may not read it.
    let (_, agent) = app.user_with_role("agent-ann", "agent").await;
    app.get_as(&agent, &app.acct(&format!("users/{id}/sip-credentials"))).await.problem(403);

    // Clearing it.
    let cleared = app.update_user(id, json!({ "sip_password": null })).await;
    assert_eq!(cleared["has_sip_password"], false);
    let creds = app.get(&app.acct(&format!("users/{id}/sip-credentials"))).await.json(200);
    assert_eq!(creds["sip_password"], serde_json::Value::Null);
}

async fn sip_credentials_need_an_extension_and_a_decent_password(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.create_user(json!({ "login": "no-ext", "sip_password": "Reg1ster-Me!" })).await.problem_on(422, "extension");
    app.create_user(json!({ "login": "short", "extension": "12", "sip_password": "abc" }))
        .await
        .problem_on(422, "sip_password");
    app.create_user(json!({ "login": "spacey", "extension": "13", "sip_password": "has a space" }))
        .await
        .problem_on(422, "sip_password");
    assert!(!app.logins("limit=500").await.iter().any(|l| ["no-ext", "short", "spacey"].contains(&l.as_str())));

    // A user without an extension cannot register a phone: there is nothing to provision.
    let plain = id_of(&app.new_user(json!({ "login": "plain" })).await);
    app.get(&app.acct(&format!("users/{plain}/sip-credentials"))).await.problem_on(409, "extension");
    // Removing the extension of a user with SIP credentials is refused too.
    let phone =
        id_of(&app.new_user(json!({ "login": "phone", "extension": "14", "sip_password": "Reg1ster-Me!" })).await);
    let etag = app.get_user(phone).await.header("etag");
    app.patch_user(phone, etag.as_deref(), json!({ "extension": null })).await.problem_on(422, "extension");
}

/// D9: a sealed value is bound to its user. Someone who can write the database but has not the
/// key cannot move a SIP password onto a row whose credentials they may read.
async fn a_sealed_password_copied_to_another_user_does_not_open(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ann =
        id_of(&app.new_user(json!({ "login": "ann", "extension": "21", "sip_password": "Anns-Sip-Pass1" })).await);
    let bob =
        id_of(&app.new_user(json!({ "login": "bob", "extension": "22", "sip_password": "Bobs-Sip-Pass1" })).await);
    app.sql(&format!(
        "UPDATE users SET sip_password = (SELECT sip_password FROM users WHERE id = {ann}) WHERE id = {bob}"
    ))
    .await;
    let copied = app.get(&app.acct(&format!("users/{bob}/sip-credentials"))).await;
    copied.problem(500);
    assert!(!copied.text().contains("Anns-Sip-Pass1"), "{}", copied.text());
    let own = app.get(&app.acct(&format!("users/{ann}/sip-credentials"))).await.json(200);
    assert_eq!(own["sip_password"], "Anns-Sip-Pass1");
}

/// As the previous version sealed: XChaCha20-Poly1305 without associated data, `v1.` + base64.
fn seal_the_old_way(key_file: &std::path::Path, plaintext: &str) -> String {
    use base64::Engine as _;
    use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(std::fs::read_to_string(key_file).unwrap().trim()).unwrap();
    let cipher = chacha20poly1305::XChaCha20Poly1305::new_from_slice(&key).unwrap();
    let nonce = chacha20poly1305::XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let mut bytes = nonce.to_vec();
    bytes.extend(cipher.encrypt(&nonce, plaintext.as_bytes()).unwrap());
    format!("v1.{}", b64.encode(bytes))
}

async fn passwords_sealed_before_owners_were_bound_open_and_are_sealed_again_at_start(engine: Engine) {
    let mut app = TestApp::spawn(engine).await;
    let id = id_of(&app.new_user(json!({ "login": "old-phone", "extension": "31" })).await);
    let legacy = seal_the_old_way(&app.data_dir().join("secret.key"), "Old-Sealed-Pass1");
    app.sql(&format!("UPDATE users SET sip_password = '{legacy}' WHERE id = {id}")).await;
    let creds = app.get(&app.acct(&format!("users/{id}/sip-credentials"))).await.json(200);
    assert_eq!(creds["sip_password"], "Old-Sealed-Pass1", "a value sealed the old way still opens");

    app.stop().await;
    app.start_again().await;
    let stored = app.sql_text(&format!("SELECT sip_password FROM users WHERE id = {id}")).await;
    assert!(stored.starts_with("v2.") && stored != legacy, "sealed again with its owner at start: {stored}");
    let creds = app.get(&app.acct(&format!("users/{id}/sip-credentials"))).await.json(200);
    assert_eq!(creds["sip_password"], "Old-Sealed-Pass1");
}
