//! Issue 12 in a real headless Chromium: an invited admin accepts the invitation, chooses a
//! login and password and sets up the authenticator before landing signed in; and a manager
//! deactivates users for a time from the Users page's mass-action bar.

use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use serde_json::json;

use crate::helpers::{Authenticator, Browser, Engine, STRONG, TestApp, id_of, now_step, totp_code};

both_engines!(
    an_invited_admin_accepts_in_a_real_browser,
    a_deactivation_is_scheduled_from_the_mass_action_bar_in_a_real_browser
);

async fn in_browser<F: std::future::Future<Output = ()>>(engine: Engine, name: &str, b: &Browser, run: F) {
    if let Err(panic) = AssertUnwindSafe(run).catch_unwind().await {
        b.capture(&format!("roster-{name}-{}-{}", format!("{engine:?}").to_lowercase(), std::process::id())).await;
        std::panic::resume_unwind(panic);
    }
}

async fn an_invited_admin_accepts_in_a_real_browser(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.builtin_role("admin").await;
    let made = app
        .post(&app.acct("invitations"), json!({ "invitees": [{ "email": "chief@example.com" }], "roles": [admin] }))
        .await;
    let user = made.json(201)[0]["user_id"].as_i64().unwrap();
    let link = app.mailbox.wait_for("chief@example.com").await.link();
    let path = link.strip_prefix(&app.base).unwrap().to_string();
    let b = Browser::launch(&app.base).await;
    in_browser(engine, "invite", &b, async {
        b.goto(&path).await;
        b.wait_text("#invite-who", "invited you to").await;
        assert_eq!(b.prop("#f-login", "value").await, "chief", "prefilled from the address");
        b.fill("#f-login", "the.chief").await;
        b.fill("#f-password", STRONG).await;
        b.fill("#f-password_confirm", STRONG).await;
        b.click("form button[type=submit]").await;
        // R27: an admin sets up the authenticator before landing.
        b.wait_css("#totp-qr").await;
        let key: String =
            b.find("#totp-key").await.text().await.expect("key").chars().filter(|c| !c.is_whitespace()).collect();
        let step = now_step();
        b.fill("#f-code", &totp_code(&key, step)).await;
        b.click("form[action='/login/totp-setup'] button[type=submit]").await;
        let codes = b.wait_css("#recovery-codes").await.text().await.expect("codes");
        let codes: Vec<String> = codes.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect();
        app.authenticators.put("the.chief", Authenticator { secret: key, last_step: step, recovery_codes: codes });
        b.click("#f-saved").await;
        b.click("form[action='/login/continue'] button[type=submit]").await;
        b.wait_css("tbody#user-rows").await;
        assert_eq!(b.path().await, "/console/users");
        b.wait_text(".whoami", "the.chief").await;
        // The link has done its work.
        b.goto(&path).await;
        b.wait_text("main", "accepted already").await;
    })
    .await;
    b.close().await;
    let shown = app.get_user(user).await.json(200);
    assert_eq!((shown["status"].as_str(), shown["login"].as_str()), (Some("active"), Some("the.chief")));
    assert_eq!(shown["two_factor_method"], "totp");
}

async fn a_deactivation_is_scheduled_from_the_mass_action_bar_in_a_real_browser(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let role =
        app.create_named("roles", json!({ "name": "Manager", "permissions": ["users.view", "users.edit"] })).await;
    app.new_user(json!({ "login": "manager", "password": STRONG, "roles": [role], "time_zone": "Europe/Berlin" }))
        .await;
    let ann = id_of(&app.new_user(json!({ "login": "ann" })).await);
    let bob = id_of(&app.new_user(json!({ "login": "bob" })).await);
    let b = Browser::launch(&app.base).await;
    in_browser(engine, "schedule", &b, async {
        b.goto("/login").await;
        b.wait_css("#f-password").await;
        b.fill("#f-login", "manager").await;
        b.fill("#f-password", STRONG).await;
        b.click("form[action='/login'] button[type=submit]").await;
        b.wait_css("tbody#user-rows").await;
        b.click(&format!("input[name=ids][value='{ann}']")).await;
        b.click(&format!("input[name=ids][value='{bob}']")).await;
        b.select("#bulk-action", "schedule_deactivation").await;
        b.wait_text("#bulk-values", "Times in Europe/Berlin").await;
        // datetime-local takes what a user types; set as the browser stores it.
        b.js("document.querySelector('#bulk-from').value = '2027-06-01T09:00'; document.querySelector('#bulk-until').value = '2027-06-15T18:00';", vec![]).await;
        b.fill("#bulk-reason", "summer training").await;
        b.click("#bulk-form button[value=preview]").await;
        b.wait_text("#bulk-result", "Preview: 2 of the 2 users").await;
        let clicked = b.find("#bulk-form button[value=apply]").await.click().await;
        b.accept_confirm().await;
        if let Err(e) = clicked {
            eprintln!("clicking Apply reported {e} (a confirm dialog was open)");
        }
        b.wait_text("#bulk-result", "2 users given the deactivation period").await;
        // The refreshed table shows the schedule on both.
        b.wait_for("both rows scheduled", async || {
            let n = b.js("return document.querySelectorAll('tbody#user-rows .status-scheduled').length;", vec![]).await;
            (n == json!(2)).then_some(())
        })
        .await;
    })
    .await;
    b.close().await;
    for id in [ann, bob] {
        let periods = app.get(&format!("{}/deactivations", app.user_path(id))).await.json(200);
        assert_eq!(periods[0]["from"], "2027-06-01T07:00:00Z", "Berlin is UTC+2 in June: {periods}");
        assert_eq!(periods[0]["until"], "2027-06-15T16:00:00Z");
        assert_eq!(periods[0]["reason"], "summer training");
    }
}
