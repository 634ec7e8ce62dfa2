//! SIP credentials (R5, R6): write-only in a user, sealed at rest, read back only through
//! `…/sip-credentials` by those allowed, and every read recorded.

use serde_json::json;
use sqlx::Row;

use crate::helpers::{Engine, TestApp, id_of};

both_engines!(
    a_sip_password_is_sealed_and_read_back_only_by_the_provisioning_route,
    sip_credentials_need_an_extension_and_a_decent_password,
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
    assert!(stored.starts_with("v1.") && !stored.contains("Reg1ster"), "{stored}");

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
    app.create_user(json!({ "login": "short", "extension": "12", "sip_password": "abc" })).await.problem_on(422, "sip_password");
    app.create_user(json!({ "login": "spacey", "extension": "13", "sip_password": "has a space" }))
        .await
        .problem_on(422, "sip_password");
    assert!(!app.logins("limit=500").await.iter().any(|l| ["no-ext", "short", "spacey"].contains(&l.as_str())));

    // A user without an extension cannot register a phone: there is nothing to provision.
    let plain = id_of(&app.new_user(json!({ "login": "plain" })).await);
    app.get(&app.acct(&format!("users/{plain}/sip-credentials"))).await.problem_on(409, "extension");
    // Removing the extension of a user with SIP credentials is refused too.
    let phone = id_of(&app.new_user(json!({ "login": "phone", "extension": "14", "sip_password": "Reg1ster-Me!" })).await);
    let etag = app.get_user(phone).await.header("etag");
    app.patch_user(phone, etag.as_deref(), json!({ "extension": null })).await.problem_on(422, "extension");
}
