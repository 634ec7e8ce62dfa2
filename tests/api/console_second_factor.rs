//! Issue 4 in the console: the second-factor steps of a sign-in (over plain HTTP and in a real
//! headless Chromium), the users table's Two-Factor drop-down with its confirmation, My
//! account → Two-factor, and the second-factor section of the security settings.

use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use reqwest::header;
use serde_json::json;

use crate::helpers::{
    Authenticator, Browser, Console, Engine, STRONG, TestApp, hidden_fields, id_of, now_step, recovery_codes_in,
    settings_form, text_by_id, totp_code,
};

both_engines!(
    a_new_admin_sets_up_the_authenticator_in_a_real_browser,
    the_code_step_shows_errors_and_starts_again_after_too_many,
    the_two_factor_drop_down_changes_the_method_after_confirmation,
    disabling_an_admins_second_factor_is_refused_in_the_console,
    an_admin_resets_a_users_authenticator_in_the_console,
    my_account_changes_mode_and_shows_new_recovery_codes_once,
    my_account_sets_up_a_new_authenticator,
    the_security_settings_page_saves_the_second_factor_section,
    a_known_device_cookie_spares_the_code_for_suspicious_mode,
    emailed_codes_show_where_they_went_and_are_throttled,
);

/// A six-digit code that is none of the codes accepted now.
fn wrong_code(secret: &str) -> String {
    let now = now_step();
    let accepted: Vec<String> = (now - 2..=now + 2).map(|s| totp_code(secret, s)).collect();
    ["000000", "111111", "222222", "333333", "444444", "555555"]
        .into_iter()
        .find(|c| !accepted.iter().any(|a| a == c))
        .unwrap()
        .to_string()
}

async fn a_new_admin_sets_up_the_authenticator_in_a_real_browser(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin_role = app.builtin_role("admin").await;
    let id = app.user_with_password("boss", STRONG, json!({ "roles": [admin_role] })).await;
    let browser = Browser::launch(&app.base).await;
    if let Err(panic) = AssertUnwindSafe(first_and_second_sign_in(&app, &browser)).catch_unwind().await {
        let name = format!("roster-console-2fa-{}-{}", format!("{engine:?}").to_lowercase(), std::process::id());
        browser.capture(&name).await;
        std::panic::resume_unwind(panic);
    }
    browser.close().await;
    assert_eq!(app.events(id, "user.second_factor_set_up").await.len(), 1);
    assert_eq!(app.events(id, "auth.second_factor_failed").await.len(), 1);
    let user = app.get_user(id).await.json(200);
    assert_eq!(user["two_factor_method"], "totp", "{user}");
}

async fn sign_in_form(b: &Browser, login: &str) {
    b.goto("/login").await;
    b.wait_css("#f-password").await;
    b.fill("#f-login", login).await;
    b.fill("#f-password", STRONG).await;
    b.click("form[action='/login'] button[type=submit]").await;
}

async fn first_and_second_sign_in(app: &TestApp, b: &Browser) {
    // First sign-in: the set-up page, why, the QR code and the key.
    sign_in_form(b, "boss").await;
    b.wait_css("#totp-qr").await;
    b.wait_text("main", "Admins must use a second factor").await;
    let src = b.prop("#totp-qr", "src").await;
    assert!(src.starts_with("data:image/png;base64,"), "the QR code is an inline PNG: {}", &src[..40.min(src.len())]);
    let loaded =
        b.js("const i = document.querySelector('#totp-qr'); return i.complete && i.naturalWidth > 0;", vec![]).await;
    assert_eq!(loaded, json!(true), "the QR image loads (the CSP allows data: images)");
    let key: String =
        b.find("#totp-key").await.text().await.expect("key").chars().filter(|c| !c.is_whitespace()).collect();
    assert!(key.len() >= 26, "a base32 key: {key}");
    let cookies = b.client.get_all_cookies().await.expect("cookies");
    assert!(cookies.iter().all(|c| c.name() != "roster_session"), "signed in before the second factor: {cookies:?}");

    // A wrong code: the message next to the field.
    b.fill("#f-code", &wrong_code(&key)).await;
    b.click("form[action='/login/totp-setup'] button[type=submit]").await;
    b.wait_text("#f-code-error", "not the right code").await;

    // The right one: ten recovery codes, shown once; continuing needs the box ticked.
    let step = now_step();
    b.fill("#f-code", &totp_code(&key, step)).await;
    b.click("form[action='/login/totp-setup'] button[type=submit]").await;
    let codes = b.wait_css("#recovery-codes").await.text().await.expect("codes");
    let codes: Vec<String> = codes.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect();
    assert_eq!(codes.len(), 10, "{codes:?}");
    app.authenticators.put("boss", Authenticator { secret: key.clone(), last_step: step, recovery_codes: codes });
    let download = b.prop("a[download='roster-recovery-codes.txt']", "href").await;
    assert!(download.starts_with("data:text/plain"), "{download}");
    b.click("#f-saved").await;
    b.click("form[action='/login/continue'] button[type=submit]").await;
    b.wait_css("tbody#user-rows").await;
    assert_eq!(b.path().await, "/console/users");
    b.wait_text(".whoami", "boss").await;

    // Signed out, and in again: now the code page.
    b.click("button[hx-post='/logout']").await;
    b.wait_css("#f-password").await;
    sign_in_form(b, "boss").await;
    b.wait_css("#f-code").await;
    assert_eq!(b.prop("#f-code", "autocomplete").await, "one-time-code");
    let (code, method) = app.next_code("boss");
    if method != "totp" {
        b.click(&format!("#f-method-{method}")).await;
    }
    b.fill("#f-code", &code).await;
    b.click("form[action='/login/second-factor'] button[type=submit]").await;
    b.wait_css("tbody#user-rows").await;
    b.wait_text(".whoami", "boss").await;
}

async fn the_code_step_shows_errors_and_starts_again_after_too_many(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let http =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let login = || {
        http.post(app.url("/login"))
            .form(&[
                ("account", "default"),
                ("login", app.admin_login.as_str()),
                ("password", app.admin_password.as_str()),
            ])
            .send()
    };
    let page = login().await.unwrap();
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap();
    assert!(body.contains("autocomplete=\"one-time-code\"") && body.contains("inputmode=\"numeric\""), "{body}");
    assert!(body.contains("Recovery code"), "recovery codes are offered: {body}");
    let mut form = hidden_fields(&body, "/login/second-factor");
    let secret = app.authenticators.get(&app.admin_login).unwrap().secret;
    form.retain(|(k, _)| k != "method");
    form.push(("method".into(), "totp".into()));
    form.push(("code".into(), wrong_code(&secret)));
    for left in (1..=4).rev() {
        let wrong = http.post(app.url("/login/second-factor")).form(&form).send().await.unwrap();
        assert_eq!(wrong.status(), 422);
        let body = wrong.text().await.unwrap();
        let message = text_by_id(&body, "f-code-error");
        assert_eq!(message, format!("Is not the right code ({left} attempts left)."), "{body}");
    }
    // The fifth wrong code ends this sign-in: back to the login page with a message.
    let last = http.post(app.url("/login/second-factor")).form(&form).send().await.unwrap();
    assert_eq!(last.status(), 401);
    assert!(last.text().await.unwrap().contains("Too many wrong codes"));
    // The right code cannot rescue it; a new sign-in works.
    let (code, _) = app.next_code(&app.admin_login);
    let mut late = form.clone();
    late.retain(|(k, _)| k != "code");
    late.push(("code".into(), code));
    assert_eq!(http.post(app.url("/login/second-factor")).form(&late).send().await.unwrap().status(), 401);
    let again = login().await.unwrap();
    app.console_steps(&http, &app.admin_login, again).await;
    let users = http.get(app.url("/console/users")).send().await.unwrap();
    assert_eq!(users.status(), 200);
}

async fn the_two_factor_drop_down_changes_the_method_after_confirmation(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ann = id_of(&app.new_user(json!({ "login": "ann", "email": "ann@example.com" })).await);
    let bob = id_of(&app.new_user(json!({ "login": "bob" })).await);
    // Another admin, who sets up an authenticator at her first sign-in.
    let admin_role = app.builtin_role("admin").await;
    let ada = app.user_with_password("ada", STRONG, json!({ "roles": [admin_role] })).await;
    app.sign_in_with_second_factor("ada", STRONG).await;
    let admin = Console::sign_in_with_second_factor(&app, &app.admin_login, &app.admin_password).await;
    let list = admin.get("/console/users").await;
    list.expect(200).has(&format!("/console/users/{ann}/two-factor?change=email")).has("Authenticator set up");
    list.has(&format!("/console/users/{ada}/two-factor?change=reset")).has("Reset OTP authenticator secret");
    // One's own second factor changes under My Account (D3): no drop-down on one's own row.
    list.lacks(&format!("/console/users/{}/two-factor", app.admin_id));

    let confirm = admin.get(&format!("/console/users/{ann}/two-factor?change=email")).await;
    confirm.expect(200).has("Change ann's two-factor method from Disabled to Email Code?");
    let version =
        confirm.body.split("name=\"version\" value=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_string();
    // Nothing changes by looking at the confirmation.
    assert_eq!(app.get_user(ann).await.json(200)["two_factor_method"], "disabled");

    admin
        .post(&format!("/console/users/{ann}/two-factor"), &[("change", "email"), ("version", &version)])
        .await
        .expect(200)
        .redirects_to("/console/users?notice=two_factor");
    assert_eq!(app.get_user(ann).await.json(200)["two_factor_method"], "email");
    let events = app.events(ann, "user.updated").await;
    assert!(events.iter().any(|e| e.to_string().contains("two_factor_method")), "{events:?}");
    admin.get("/console/users?notice=two_factor").await.expect(200).has("The two-factor method was changed.");

    // The same form again, at the old version: refused, nothing lost.
    admin
        .post(&format!("/console/users/{ann}/two-factor"), &[("change", "either"), ("version", &version)])
        .await
        .expect(412);
    assert_eq!(app.get_user(ann).await.json(200)["two_factor_method"], "email");

    // Email codes need an email address: the refusal is shown, nothing changes.
    let bob_version = app.get_user(bob).await.json(200)["version"].to_string();
    let refused = admin
        .post(&format!("/console/users/{bob}/two-factor"), &[("change", "email"), ("version", &bob_version)])
        .await;
    refused.expect(422).has("Nothing was changed").has("email");
    assert_eq!(app.get_user(bob).await.json(200)["two_factor_method"], "disabled");
}

async fn disabling_an_admins_second_factor_is_refused_in_the_console(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = Console::sign_in_with_second_factor(&app, &app.admin_login, &app.admin_password).await;
    // Another admin, with an authenticator.
    let admin_role = app.builtin_role("admin").await;
    let id = app.user_with_password("ada", STRONG, json!({ "roles": [admin_role] })).await;
    app.sign_in_with_second_factor("ada", STRONG).await;
    let version = app.get_user(id).await.json(200)["version"].to_string();
    admin.get(&format!("/console/users/{id}/two-factor?change=disabled")).await.expect(200).has("Turn off");
    let refused =
        admin.post(&format!("/console/users/{id}/two-factor"), &[("change", "disabled"), ("version", &version)]).await;
    refused.expect(422).has("second factor is mandatory for admins").has("two-factor-error-required_for_admins");
    assert_eq!(app.get_user(id).await.json(200)["two_factor_method"], "totp");
    // One's own is changed under My Account, which asks for the password.
    let me = app.admin_id;
    let version = app.get_user(me).await.json(200)["version"].to_string();
    let own =
        admin.post(&format!("/console/users/{me}/two-factor"), &[("change", "disabled"), ("version", &version)]).await;
    own.expect(422).has("under My Account");
    // The user form's select says the same next to the field.
    let edit = admin.get(&format!("/console/users/{id}/edit")).await;
    edit.expect(200).has("name=\"two_factor_mode\"").has("Only for suspicious sign-ins").has("value=\"either\"");
}

async fn an_admin_resets_a_users_authenticator_in_the_console(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = app.user_with_password("tess", STRONG, json!({ "two_factor_method": "totp" })).await;
    app.sign_in_with_second_factor("tess", STRONG).await; // sets up her authenticator
    assert_eq!(app.get_user(id).await.json(200)["totp_enrolled"], true);
    let admin = Console::sign_in_with_second_factor(&app, &app.admin_login, &app.admin_password).await;
    admin.get(&format!("/console/users/{id}/two-factor?change=reset")).await.expect(200).has("stops working now");
    admin
        .post(&format!("/console/users/{id}/two-factor"), &[("change", "reset"), ("version", "0")])
        .await
        .expect(200)
        .redirects_to("/console/users?notice=totp_reset");
    assert_eq!(app.events(id, "user.totp_reset").await.len(), 1);
    assert_eq!(app.get_user(id).await.json(200)["totp_enrolled"], false);
    let next = app.login("tess", STRONG).await.json(200);
    assert_eq!(next["step"], "totp_setup", "{next}");
    // Someone without an authenticator: nothing to reset, the refusal is shown.
    let bob = id_of(&app.new_user(json!({ "login": "bob" })).await);
    let refused =
        admin.post(&format!("/console/users/{bob}/two-factor"), &[("change", "reset"), ("version", "0")]).await;
    refused.expect(422).has("Nothing was changed").has("has no authenticator to reset");
}

async fn my_account_changes_mode_and_shows_new_recovery_codes_once(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = Console::sign_in_with_second_factor(&app, &app.admin_login, &app.admin_password).await;
    let me = admin.get("/console/me").await;
    me.expect(200).has("/console/me/second-factor");
    let page = admin.get("/console/me/second-factor").await;
    page.expect(200).has("OTP Authenticator").has("At every sign-in").has("mandatory for you");
    let password = app.admin_password.as_str();

    // A wrong password or R27: refused next to the field, nothing changes.
    let wrong = admin
        .post("/console/me/second-factor", &[("method", "totp"), ("mode", "suspicious"), ("current_password", "nope")])
        .await;
    wrong.expect(422).has("Is not your current password.");
    let off = admin
        .post(
            "/console/me/second-factor",
            &[("method", "disabled"), ("mode", "always"), ("current_password", password)],
        )
        .await;
    off.expect(422).has("second factor is mandatory for admins");
    assert_eq!(app.get_user(app.admin_id).await.json(200)["two_factor_mode"], "always");

    let saved = admin
        .post(
            "/console/me/second-factor",
            &[("method", "totp"), ("mode", "suspicious"), ("current_password", password)],
        )
        .await;
    saved.expect(200).redirects_to("/console/me/second-factor?notice=saved");
    assert_eq!(app.get_user(app.admin_id).await.json(200)["two_factor_mode"], "suspicious");

    // New recovery codes: ten, shown in the answer only.
    let codes = admin.post("/console/me/second-factor/recovery-codes", &[("current_password", password)]).await;
    codes.expect(200).has("Your old recovery codes no longer work.");
    let shown = recovery_codes_in(&codes.body);
    assert_eq!(shown.len(), 10, "{shown:?}");
    let later = admin.get("/console/me/second-factor?notice=codes").await;
    later.expect(200).lacks(&shown[0]).lacks("id=\"recovery-codes\"");
    assert_eq!(text_by_id(&later.body, "sf-codes-left"), "10");
    assert_eq!(app.events(app.admin_id, "user.recovery_codes_regenerated").await.len(), 1);
    // One of them signs in (through the API) in place of the app: an admin is asked for the
    // second factor at every sign-in, whatever the mode (R27).
    let step = app.login(&app.admin_login, password).await.json(200);
    assert_eq!((step["step"].as_str(), step["reason"].as_str()), (Some("second_factor"), Some("always")), "{step}");
    let r = app.second_factor(step["challenge"].as_str().unwrap(), &shown[0], Some("recovery_code")).await;
    assert!(r.json(200)["token"].is_string());
    let codes_left = app
        .sql_text(&format!(
            "SELECT CAST(COUNT(*) AS TEXT) FROM recovery_codes WHERE user_id = {} AND used_at IS NULL",
            app.admin_id
        ))
        .await;
    assert_eq!(codes_left, "9", "the code is spent");
}

async fn my_account_sets_up_a_new_authenticator(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = Console::sign_in_with_second_factor(&app, &app.admin_login, &app.admin_password).await;
    let password = app.admin_password.as_str();
    admin
        .post("/console/me/second-factor/totp", &[("current_password", "nope")])
        .await
        .expect(422)
        .has("Is not your current password.");
    let started = admin.post("/console/me/second-factor/totp", &[("current_password", password)]).await;
    started.expect(200).has("the old app stops working").has("data:image/png;base64,").has("otpauth://totp/");
    let key: String = text_by_id(&started.body, "totp-key").chars().filter(|c| !c.is_whitespace()).collect();
    let old = app.authenticators.get(&app.admin_login).unwrap().secret;
    assert_ne!(key, old);

    let wrong = admin.post("/console/me/second-factor/totp/confirm", &[("code", &wrong_code(&key))]).await;
    wrong.expect(422).has("f-code-error").has(&key[..4]);
    let step = now_step();
    let done = admin.post("/console/me/second-factor/totp/confirm", &[("code", &totp_code(&key, step))]).await;
    done.expect(200).has("Your new authenticator app is set up.");
    let codes = recovery_codes_in(&done.body);
    assert_eq!(codes.len(), 10);
    app.authenticators.put(&app.admin_login, Authenticator { secret: key, last_step: step, recovery_codes: codes });
    assert!(app.events(app.admin_id, "user.second_factor_set_up").await.len() >= 2);
    // The new app's code signs in.
    Console::sign_in_with_second_factor(&app, &app.admin_login, password).await;
}

async fn the_security_settings_page_saves_the_second_factor_section(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = Console::sign_in_with_second_factor(&app, &app.admin_login, &app.admin_password).await;
    let page = admin.get("/console/settings/security").await;
    page.expect(200)
        .has("Second factor")
        .has("name=\"second_factor.required_for\"")
        .has("name=\"second_factor.email_code_minutes\"");
    let version =
        page.body.split("name=\"version\" value=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_string();
    let (mut doc, _) = app.security().await;
    let pairs = |form: &[(String, String)]| form.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>();

    doc["second_factor"]["email_code_minutes"] = json!(1);
    let form = pairs(&settings_form(&doc, &version));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    admin.post("/console/settings/security", &form).await.expect(422).has("f-second_factor-email_code_minutes-error");
    assert_eq!(app.security().await.0["second_factor"]["email_code_minutes"], 10);

    doc["second_factor"]["email_code_minutes"] = json!(15);
    doc["second_factor"]["required_for"] = json!("everyone");
    let form = pairs(&settings_form(&doc, &version));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    admin
        .post("/console/settings/security", &form)
        .await
        .expect(200)
        .redirects_to("/console/settings/security?notice=saved");
    let (now, _) = app.security().await;
    assert_eq!(now, doc);
    admin.get("/console/settings/security").await.expect(200).has("<option value=\"everyone\" selected>");
}

async fn a_known_device_cookie_spares_the_code_for_suspicious_mode(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.user_with_password("sam", STRONG, json!({ "two_factor_method": "totp", "two_factor_mode": "suspicious" }))
        .await;
    app.sign_in_with_second_factor("sam", STRONG).await; // sets up the authenticator (through the API, no device kept)
    let client =
        || reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let login = |http: &reqwest::Client| {
        http.post(app.url("/login")).form(&[("account", "default"), ("login", "sam"), ("password", STRONG)]).send()
    };
    // A browser Roster has not seen: the code is asked; answering it sets the device cookie.
    let http = client();
    let page = login(&http).await.unwrap();
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap();
    assert!(body.contains("not used before"), "{body}");
    let mut form = hidden_fields(&body, "/login/second-factor");
    let (code, method) = app.next_code("sam");
    form.retain(|(k, _)| k != "method");
    form.push(("code".into(), code));
    form.push(("method".into(), method.into()));
    let done = http.post(app.url("/login/second-factor")).form(&form).send().await.unwrap();
    assert!(done.status().is_redirection(), "{}", done.status());
    let device = done
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("roster_device="))
        .expect("a device cookie")
        .to_string();
    assert!(device.contains("HttpOnly") && device.contains("SameSite=Lax") && device.contains("Max-Age="), "{device}");
    // The same browser again: a known device and address, no code.
    let again = login(&http).await.unwrap();
    assert!(again.status().is_redirection(), "the known device was asked again: {}", again.status());
    // Another browser: asked.
    assert_eq!(login(&client()).await.unwrap().status(), 200);
}

async fn emailed_codes_show_where_they_went_and_are_throttled(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.user_with_password("eve", STRONG, json!({ "email": "eve@example.com", "two_factor_method": "email" })).await;
    let http =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = http
        .post(app.url("/login"))
        .form(&[("account", "default"), ("login", "eve"), ("password", STRONG)])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap();
    // Email is her only way: the code went without asking, and where it went is shown, masked.
    assert!(body.contains("We sent a code to e•••@example.com") && body.contains("Send again"), "{body}");
    assert!(!body.contains("eve@example.com"), "the address is masked: {body}");
    let form = hidden_fields(&body, "/login/second-factor/email");
    let again = http.post(app.url("/login/second-factor/email")).form(&form).send().await.unwrap();
    assert_eq!(again.status(), 429);
    let body = again.text().await.unwrap();
    assert!(body.contains("before asking again"), "{body}");
    let mut answer = hidden_fields(&body, "/login/second-factor");
    answer.push(("code".into(), "000000".into()));
    let wrong = http.post(app.url("/login/second-factor")).form(&answer).send().await.unwrap();
    assert_eq!(wrong.status(), 422);
    let body = wrong.text().await.unwrap();
    assert!(text_by_id(&body, "f-code-error").contains("attempts left"), "{body}");
}
