//! Issue 13 in a real headless Chromium: a manager builds a queue and its members on the Queues
//! page, and sets a user's call settings on the Calls tab, then returns one to the default.

use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use serde_json::json;

use crate::helpers::{Browser, Engine, STRONG, TestApp, id_of, list_items};

both_engines!(a_queue_and_its_members_are_built_in_a_real_browser, call_settings_are_set_and_reset_in_a_real_browser);

async fn in_browser<F: std::future::Future<Output = ()>>(engine: Engine, name: &str, b: &Browser, run: F) {
    if let Err(panic) = AssertUnwindSafe(run).catch_unwind().await {
        b.capture(&format!("roster-{name}-{}-{}", format!("{engine:?}").to_lowercase(), std::process::id())).await;
        std::panic::resume_unwind(panic);
    }
}

async fn sign_in(b: &Browser, login: &str) {
    b.goto("/login").await;
    b.wait_css("#f-password").await;
    b.fill("#f-login", login).await;
    b.fill("#f-password", STRONG).await;
    b.click("form[action='/login'] button[type=submit]").await;
    b.wait_css("tbody#user-rows").await;
}

async fn manager(app: &TestApp, permissions: serde_json::Value) {
    let role = app.create_named("roles", json!({ "name": "Manager", "permissions": permissions })).await;
    app.new_user(json!({ "login": "manager", "password": STRONG, "roles": [role] })).await;
}

async fn a_queue_and_its_members_are_built_in_a_real_browser(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    manager(
        &app,
        json!(["users.view", "users.edit", "queues.view", "queues.manage", "time_groups.view", "time_groups.manage"]),
    )
    .await;
    let ann = id_of(&app.new_user(json!({ "login": "ann", "is_agent": true })).await);
    let bob = id_of(&app.new_user(json!({ "login": "bob", "is_agent": true })).await);
    let b = Browser::launch(&app.base).await;
    in_browser(engine, "queues", &b, async {
        sign_in(&b, "manager").await;
        b.click("a[href='/console/queues']").await;
        b.wait_text("main", "No queues.").await;
        b.click("a[href='/console/queues/new']").await;
        b.wait_css("#queue-form").await;
        b.fill("#f-name", "Hotline").await;
        b.fill("#f-extension", "700").await;
        b.click("#queue-form button[type=submit]").await;
        b.wait_text("#queues", "Hotline").await;
        b.click("#queues a.user-login").await;
        b.wait_text("main", "No members yet.").await;
        for login in ["ann", "bob"] {
            b.fill("#f-login", login).await;
            b.click("#add-member button[type=submit]").await;
            b.wait_text("#queue-members", login).await;
        }
        // Bob first: position 1 for him, 2 for Ann.
        b.fill(&format!("#pos-{ann}"), "2").await;
        b.click(&format!("#member-{ann} button[type=submit]")).await;
        b.wait_text("main", "The membership was saved.").await;
        b.wait_for("bob listed first", async || {
            let first =
                b.js("return document.querySelector('#queue-members tbody tr .user-login').textContent;", vec![]).await;
            (first == json!("bob")).then_some(())
        })
        .await;
        b.wait_text("#members-now", "2 of 2 members take calls now").await;
    })
    .await;
    b.close().await;
    let queues = list_items(&app.get(&app.acct("queues")).await.json(200));
    assert_eq!(queues[0]["extension"], "700");
    let members = app.get(&app.acct(&format!("queues/{}/members", id_of(&queues[0])))).await.json(200);
    let order: Vec<(i64, i64)> = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["user"]["id"].as_i64().unwrap(), m["position"].as_i64().unwrap()))
        .collect();
    assert_eq!(order, [(bob, 1), (ann, 2)]);
}

async fn call_settings_are_set_and_reset_in_a_real_browser(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    manager(
        &app,
        json!(["users.view", "users.edit", "dial_rules.view", "music_on_hold.view", "intercept_groups.view"]),
    )
    .await;
    let ann = id_of(&app.new_user(json!({ "login": "ann", "extension": "101" })).await);
    app.new_user(json!({ "login": "bob", "extension": "102" })).await;
    let b = Browser::launch(&app.base).await;
    in_browser(engine, "calls", &b, async {
        sign_in(&b, "manager").await;
        b.goto(&format!("/console/users/{ann}/edit")).await;
        b.click(&format!("a[href='/console/users/{ann}/calls']")).await;
        b.wait_text("#setting-max_calls", "Account default: 2").await;
        b.fill("#f-max_calls", "5").await;
        b.select("#f-record_calls", "on").await;
        b.select("#f-blf_mode", "own").await;
        b.fill("#f-blf", "102, 555").await;
        b.click("#call-settings-form button[type=submit]").await;
        // 555 is nobody's extension: refused at its field, nothing saved.
        b.wait_text("#setting-blf", "has the extension 555").await;
        b.fill("#f-blf", "102").await;
        b.click("#call-settings-form button[type=submit]").await;
        b.wait_text("main", "The call settings were saved.").await;
        b.wait_text("#setting-max_calls", "Own value").await;
        // Back to the account's default.
        b.fill("#f-max_calls", "").await;
        b.click("#call-settings-form button[type=submit]").await;
        b.wait_for("max calls back to the default", async || {
            let tag = b.js("return document.querySelector('#setting-max_calls .tag').textContent;", vec![]).await;
            (tag == json!("Account default")).then_some(())
        })
        .await;
    })
    .await;
    b.close().await;
    let s = app.get(&app.acct(&format!("users/{ann}/call-settings"))).await.json(200);
    assert_eq!(s["max_calls"], json!({ "value": 2, "source": "account", "default": 2 }));
    assert_eq!(s["record_calls"], json!({ "value": true, "source": "user", "default": false }));
    assert_eq!(s["blf"]["value"], json!(["102"]));
}
