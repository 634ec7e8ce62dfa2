//! Issue 3 in the console: My account (own password, own sessions), an admin's password reset
//! and unlock, the live sessions page, a user's security overrides, the account's security
//! settings and API tokens, over HTTP with the session cookie and the CSRF header as htmx sends
//! them; and the forced password change at sign-in in a real headless Chromium.

use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use serde_json::json;

use crate::helpers::{Browser, Console, Engine, STRONG, STRONG_2, TestApp, key, settings_form};

both_engines!(
    my_account_changes_my_password_and_ends_my_other_sessions,
    an_admin_resets_a_password_to_a_generated_one_shown_once,
    ending_a_session_on_the_live_sessions_page_signs_it_out,
    security_settings_are_saved_and_a_stale_form_is_refused,
    a_users_security_overrides_are_saved_with_their_version,
    a_new_api_token_is_shown_once_and_works,
    a_locked_user_is_listed_and_unlocked,
    a_forced_password_change_at_sign_in_in_a_real_browser,
);

async fn my_account_changes_my_password_and_ends_my_other_sessions(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = app.user_with_password("mia", STRONG, json!({ "email": "mia@example.com" })).await;
    let phone = app.sign_in_kind("mia", STRONG, "phone").await;
    let console = Console::sign_in(&app, "mia", STRONG).await;

    // The page: details, the policy under the new password, both sessions, this one marked.
    let page = console.get("/console/me").await;
    page.expect(200).has("My account").has("mia@example.com").has("8 to 128 characters").has("This session");
    assert!(page.body.contains("id=\"f-new_password-hint\""), "the policy is the new password's hint");
    let phone_session = app.session_id(&phone).await;
    page.has(&format!("id=\"session-{phone_session}\"")).has("End all my other sessions");

    // Refusals, each next to its field and naming the rule.
    let refused = console
        .post(
            "/console/me/password",
            &[("current_password", STRONG), ("new_password", "Zq7#vw"), ("new_password_confirmation", "Zq7#vw")],
        )
        .await;
    refused.expect(422);
    assert_eq!(refused.text_of("f-new_password-error"), "Must be at least 8 characters.");
    let refused = console
        .post(
            "/console/me/password",
            &[
                ("current_password", STRONG),
                ("new_password", "password123"),
                ("new_password_confirmation", "password123"),
            ],
        )
        .await;
    refused.expect(422);
    assert_eq!(refused.text_of("f-new_password-error"), "Is one of the 100,000 most common passwords.");
    let refused = console
        .post(
            "/console/me/password",
            &[
                ("current_password", "not-it-at-all"),
                ("new_password", STRONG_2),
                ("new_password_confirmation", STRONG_2),
            ],
        )
        .await;
    refused.expect(422);
    assert_eq!(refused.text_of("f-current_password-error"), "Is not your current password.");
    let refused = console
        .post(
            "/console/me/password",
            &[
                ("current_password", STRONG),
                ("new_password", STRONG_2),
                ("new_password_confirmation", "Velvet-Harbor-74?"),
            ],
        )
        .await;
    refused.expect(422);
    assert_eq!(refused.text_of("f-new_password_confirmation-error"), "Does not match the new password.");
    app.session(&phone).await.expect(200);
    app.login("mia", STRONG).await.expect(200);

    // Success: my other session ends, this one goes on.
    console
        .post(
            "/console/me/password",
            &[("current_password", STRONG), ("new_password", STRONG_2), ("new_password_confirmation", STRONG_2)],
        )
        .await
        .expect(200)
        .redirects_to("/console/me?notice=password&ended=2");
    app.session(&phone).await.expect(401);
    console
        .get("/console/me?notice=password&ended=2")
        .await
        .expect(200)
        .has("Your password was changed. Your 2 other sessions were ended.");
    app.login("mia", STRONG).await.expect(401);
    let api = app.sign_in("mia", STRONG_2).await;
    assert_eq!(app.events(id, "user.password_changed").await.len(), 1);

    // One of my sessions ended from the table, then all the others.
    let api_session = app.session_id(&api).await;
    console
        .post(&format!("/console/me/sessions/{api_session}/end"), &[])
        .await
        .expect(200)
        .has("The session was ended");
    app.session(&api).await.expect(401);
    let other = app.sign_in_kind("mia", STRONG_2, "phone").await;
    console
        .post("/console/me/sessions/end-others", &[])
        .await
        .expect(200)
        .redirects_to("/console/me?notice=ended_others&ended=1");
    app.session(&other).await.expect(401);
    console.get("/console/me").await.expect(200).lacks("End all my other sessions");
    // Another user's session is not mine to end.
    let admin_session = app.session_id(&app.token).await;
    console.post(&format!("/console/me/sessions/{admin_session}/end"), &[]).await.expect(404);
    app.session(&app.token).await.expect(200);
}

async fn an_admin_resets_a_password_to_a_generated_one_shown_once(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = app.user_with_password("rex", STRONG, json!({})).await;
    let rex = app.sign_in("rex", STRONG).await;
    let admin = Console::sign_in_with_second_factor(&app, &app.admin_login, &app.admin_password).await;
    let path = format!("/console/users/{id}/password");
    admin.get(&path).await.expect(200).has("8 to 128 characters").has("Require a new password at next sign-in");

    // Set a password: confirmation and policy are checked, next to the fields.
    let refused =
        admin.post(&path, &[("password_mode", "set"), ("password", STRONG_2), ("password_confirm", "other")]).await;
    refused.expect(422);
    assert_eq!(refused.text_of("f-password_confirm-error"), "Does not match the password.");
    let refused = admin
        .post(&path, &[("password_mode", "set"), ("password", "rex-rex-rex"), ("password_confirm", "rex-rex-rex")])
        .await;
    refused.expect(422);
    assert_eq!(refused.text_of("f-password-error"), "Must not contain your login or the name in your email address.");
    app.session(&rex).await.expect(200);

    // Reset to a generated one, shown once, without the change at next sign-in.
    let done = admin.post(&path, &[("password_mode", "generate")]).await;
    done.expect(200).has("Password changed").has("data-copy=\"new-password\"");
    let generated = done.text_of("new-password");
    assert!(generated.len() >= 12, "{generated:?}");
    app.session(&rex).await.expect(401);
    let token = app.sign_in("rex", &generated).await;
    app.session(&token).await.expect(200);
    admin.get(&path).await.expect(200).lacks(&generated);
    admin.get(&format!("/console/users/{id}/activity")).await.expect(200).lacks(&generated);

    // With "require a new password at next sign-in": the sign-in asks for one.
    let done = admin.post(&path, &[("password_mode", "generate"), ("must_change_password", "on")]).await;
    done.expect(200).has("They will be asked to choose a new password");
    let generated = done.text_of("new-password");
    app.challenge_for("rex", &generated, "required").await;
}

async fn ending_a_session_on_the_live_sessions_page_signs_it_out(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let sam = app.user_with_password("sam", STRONG, json!({})).await;
    let api = app.sign_in("sam", STRONG).await;
    let phone = app.sign_in_kind("sam", STRONG, "phone").await;
    let (api_id, phone_id) = (app.session_id(&api).await, app.session_id(&phone).await);
    let admin = Console::sign_in_with_second_factor(&app, &app.admin_login, &app.admin_password).await;

    let page = admin.get("/console/sessions").await;
    page.expect(200)
        .has("Live sessions")
        .has(&format!("id=\"session-{api_id}\""))
        .has(&format!("id=\"session-{phone_id}\""));
    page.has("This session").has(&format!("hx-post=\"/console/sessions/{phone_id}/end\""));
    // Filters: kind and user.
    let phones = admin.get("/console/sessions?kind=phone").await;
    phones.expect(200).has(&format!("id=\"session-{phone_id}\"")).lacks(&format!("id=\"session-{api_id}\""));
    let of_admin = admin.get(&format!("/console/sessions?login={}", app.admin_login)).await;
    of_admin.expect(200).lacks(&format!("id=\"session-{phone_id}\"")).has("This session");
    admin.get("/console/sessions?login=nobody-here").await.expect(200).has("No user has the login");

    // End one: that token stops working at once, the other goes on.
    admin.post(&format!("/console/sessions/{phone_id}/end"), &[]).await.expect(200).has("The session was ended");
    app.session(&phone).await.expect(401);
    app.session(&api).await.expect(200);
    admin.post(&format!("/console/sessions/{phone_id}/end"), &[]).await.expect(404);

    // The user's own page: their sessions, "End all sessions".
    let page = admin.get(&format!("/console/users/{sam}/sessions")).await;
    page.expect(200).has("Sessions of sam").has(&format!("id=\"session-{api_id}\"")).has("End all sessions");
    let again = app.sign_in_kind("sam", STRONG, "phone").await;
    admin
        .post(&format!("/console/users/{sam}/sessions/end-all"), &[])
        .await
        .expect(200)
        .redirects_to(&format!("/console/users/{sam}/sessions?notice=ended&count=2"));
    app.session(&api).await.expect(401);
    app.session(&again).await.expect(401);
    admin.get(&format!("/console/users/{sam}/sessions")).await.expect(200).has("not signed in anywhere");

    // Without sessions.manage: no End buttons, and ending is refused.
    app.user_with_permissions("viewer", &["sessions.view", "users.view"]).await;
    let viewer = Console::sign_in(&app, "viewer", STRONG).await;
    let other = app.sign_in("sam", STRONG).await;
    let other_id = app.session_id(&other).await;
    viewer.get("/console/sessions").await.expect(200).has(&format!("id=\"session-{other_id}\"")).lacks("/end\"");
    viewer.post(&format!("/console/sessions/{other_id}/end"), &[]).await.expect(403);
    app.session(&other).await.expect(200);
    // Without the CSRF header nothing is ended.
    let forged = admin
        .http
        .post(format!("{}/console/sessions/{other_id}/end", app.base))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    app.session(&other).await.expect(200);
}

fn pairs(form: &[(String, String)]) -> Vec<(&str, &str)> {
    form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

async fn security_settings_are_saved_and_a_stale_form_is_refused(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = Console::sign_in_with_second_factor(&app, &app.admin_login, &app.admin_password).await;
    let page = admin.get("/console/settings/security").await;
    page.expect(200).has("Password policy").has("Sign-in lockout").has("Save settings");
    let version = page.value_of("version");
    assert_eq!(page.value_of("password_policy.min_length"), "8");
    let (mut doc, _) = app.security().await;

    // A value out of range is refused next to its field; nothing changes.
    doc["password_policy"]["min_length"] = json!(3);
    let refused = admin.post("/console/settings/security", &pairs(&settings_form(&doc, &version))).await;
    refused.expect(422);
    assert_eq!(refused.text_of("f-password_policy-min_length-error"), "Must be between 6 and 64.");
    let mut form = settings_form(&doc, &version);
    form.iter_mut().find(|(k, _)| k == "lockout.max_failures").unwrap().1 = "ten".into();
    let refused = admin.post("/console/settings/security", &pairs(&form)).await;
    refused.expect(422);
    assert_eq!(refused.text_of("f-lockout-max_failures-error"), "Must be a whole number.");
    assert_eq!(app.security().await.0["password_policy"]["min_length"], 8);

    // Someone with settings.view only, signed in before the one-session policy is turned on.
    let role =
        app.create_named("roles", json!({ "name": "Auditor", "permissions": ["settings.view", "users.view"] })).await;
    app.user_with_password("auditor", STRONG, json!({ "roles": [role] })).await;
    let auditor = Console::sign_in(&app, "auditor", STRONG).await;

    // Saved.
    doc["password_policy"]["min_length"] = json!(12);
    doc["password_policy"]["require_digit"] = json!(true);
    doc["password_policy"]["expiry_months"] = json!(6);
    doc["lockout"]["max_failures"] = json!(5);
    doc["sessions"]["one_session_per_user"] = json!(true);
    admin
        .post("/console/settings/security", &pairs(&settings_form(&doc, &version)))
        .await
        .expect(200)
        .redirects_to("/console/settings/security?notice=saved");
    let (now, _) = app.security().await;
    assert_eq!(now, doc);
    let page = admin.get("/console/settings/security?notice=saved").await;
    page.expect(200).has("The security settings were saved.").has("12 to 128 characters, with a digit");
    assert_ne!(page.value_of("version"), version);

    // The same form again, with the version it was read at: refused, nothing lost.
    doc["password_policy"]["min_length"] = json!(10);
    let stale = admin.post("/console/settings/security", &pairs(&settings_form(&doc, &version))).await;
    stale.expect(412).has("Someone else changed the security settings");
    assert_eq!(app.security().await.0["password_policy"]["min_length"], 12);
    let changed = app.activity("action=settings.security_changed").await;
    assert_eq!(changed.len(), 1, "{changed:?}");

    // settings.view alone: read-only, and a save is refused.
    let page = auditor.get("/console/settings/security").await;
    page.expect(200)
        .has("<fieldset class=\"settings-fieldset\" disabled")
        .lacks("Save settings")
        .has("settings.manage");
    let version = page.value_of("version");
    auditor.post("/console/settings/security", &pairs(&settings_form(&doc, &version))).await.expect(403);
    // Without settings.view: not permitted, and no menu entry.
    let role = app.create_named("roles", json!({ "name": "Clerk", "permissions": ["users.view"] })).await;
    app.user_with_password("clerk", STRONG, json!({ "roles": [role] })).await;
    let clerk = Console::sign_in(&app, "clerk", STRONG).await;
    clerk.get("/console/settings/security").await.expect(403);
    clerk.get("/console/users").await.expect(200).lacks("href=\"/console/settings/security\"");
}

async fn a_users_security_overrides_are_saved_with_their_version(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = app.user_with_password("ola", STRONG, json!({})).await;
    let admin = Console::sign_in_with_second_factor(&app, &app.admin_login, &app.admin_password).await;
    let path = format!("/console/users/{id}/security");
    let page = admin.get(&path).await;
    page.expect(200).has("Account default (never)").has("30 minutes.");
    let version = page.value_of("version");

    let refused = admin
        .post(
            &path,
            &[
                ("version", &version),
                ("password_expiry_months", "3"),
                ("console_idle_minutes", "1"),
                ("phone_idle_minutes", ""),
            ],
        )
        .await;
    refused.expect(422);
    assert_eq!(refused.text_of("f-console_idle_minutes-error"), "Must be between 5 and 43200 minutes.");

    admin
        .post(
            &path,
            &[
                ("version", &version),
                ("password_expiry_months", "3"),
                ("console_idle_minutes", "15"),
                ("phone_idle_minutes", ""),
            ],
        )
        .await
        .expect(200)
        .redirects_to(&format!("{path}?notice=saved"));
    let user = app.get_user(id).await.json(200);
    assert_eq!(
        (
            user["password_expiry_months"].clone(),
            user["console_idle_minutes"].clone(),
            user["phone_idle_minutes"].clone()
        ),
        (json!(3), json!(15), json!(null))
    );
    assert!(user["password_expires_at"].is_string(), "{user}");
    // Stale: the form's version is behind.
    let stale = admin
        .post(
            &path,
            &[
                ("version", &version),
                ("password_expiry_months", "0"),
                ("console_idle_minutes", ""),
                ("phone_idle_minutes", ""),
            ],
        )
        .await;
    stale.expect(412).has("Someone else changed this user");
    assert_eq!(app.get_user(id).await.json(200)["password_expiry_months"], 3);
    // Back to the account's defaults.
    let version = admin.get(&path).await.value_of("version");
    admin
        .post(
            &path,
            &[
                ("version", &version),
                ("password_expiry_months", "default"),
                ("console_idle_minutes", ""),
                ("phone_idle_minutes", ""),
            ],
        )
        .await
        .expect(200);
    let user = app.get_user(id).await.json(200);
    assert_eq!(
        (user["password_expiry_months"].clone(), user["console_idle_minutes"].clone()),
        (json!(null), json!(null))
    );
}

async fn a_new_api_token_is_shown_once_and_works(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = Console::sign_in_with_second_factor(&app, &app.admin_login, &app.admin_password).await;
    let page = admin.get("/console/tokens").await;
    page.expect(200).has("No API tokens yet.").has("Create token").has("value=\"users.view\"");

    // Refusals next to their fields.
    let refused = admin.post("/console/tokens", &[("name", ""), ("expires_at", "")]).await;
    refused.expect(422);
    assert_eq!(refused.text_of("f-name-error"), "Must be 1 to 100 characters.");
    assert_eq!(refused.text_of("f-permissions-error"), "Give the token at least one permission.");
    let refused = admin
        .post("/console/tokens", &[("name", "Old"), ("permissions", "users.view"), ("expires_at", "2001-01-01")])
        .await;
    refused.expect(422);
    assert_eq!(refused.text_of("f-expires_at-error"), "Must be in the future.");

    let created = admin
        .post(
            "/console/tokens",
            &[
                ("name", "IVR server"),
                ("permissions", "users.view"),
                ("permissions", "sessions.view"),
                ("expires_at", "2099-12-31"),
            ],
        )
        .await;
    created
        .expect(200)
        .has("Token “IVR server” created")
        .has("it will not be shown again")
        .has("data-copy=\"new-token\"");
    let token = created.text_of("new-token");
    assert!(token.starts_with("rst_"), "{token}");
    // The list came along (swapped out of band).
    created.has("hx-swap-oob=\"true\"").has("IVR server");
    let session = app.session(&token).await.json(200);
    assert_eq!(session["kind"], "api_token");
    app.get_as(&token, &app.acct("users")).await.expect(200);
    app.get_as(&token, &app.acct("tokens")).await.expect(403);

    // Listed without the token, with its permissions and expiry.
    let page = admin.get("/console/tokens").await;
    page.expect(200).has("IVR server").has("sessions.view").has("2099/12/31 23:59:59 UTC").lacks(&token);
    let id =
        app.list_tokens().await.iter().find(|t| t["name"] == "IVR server").map(|t| key(&t["id"])).expect("the token");
    page.has(&format!("hx-post=\"/console/tokens/{id}/revoke\""));

    // Only permissions the admin holds are offered; another one is refused.
    app.user_with_permissions("maker", &["tokens.view", "tokens.manage", "users.view"]).await;
    let maker = Console::sign_in(&app, "maker", STRONG).await;
    maker.get("/console/tokens").await.expect(200).has("value=\"users.view\"").lacks("value=\"users.edit\"");
    let refused = maker.post("/console/tokens", &[("name", "Sneaky"), ("permissions", "users.edit")]).await;
    refused.expect(422);
    assert!(refused.text_of("f-permissions-error").contains("do not hold users.edit"), "{}", refused.body);

    // Revoked: it stops working at once.
    admin
        .post(&format!("/console/tokens/{id}/revoke"), &[])
        .await
        .expect(200)
        .redirects_to("/console/tokens?notice=revoked");
    app.session(&token).await.expect(401);
    admin
        .get("/console/tokens?notice=revoked")
        .await
        .expect(200)
        .has("The token was revoked")
        .has("No API tokens yet.");
    assert_eq!(app.activity("action=token.created").await.len(), 1);
    assert_eq!(app.activity("action=token.revoked").await.len(), 1);
}

async fn a_locked_user_is_listed_and_unlocked(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.set_security(|s| s["lockout"]["max_failures"] = json!(3)).await;
    let lou = app.user_with_password("lou", STRONG, json!({})).await;
    app.user_with_password("kim", STRONG, json!({})).await;
    for _ in 0..3 {
        app.login("lou", "wrong-password-1").await.expect(401);
    }
    app.login("lou", STRONG).await.expect(401);
    let admin = Console::sign_in_with_second_factor(&app, &app.admin_login, &app.admin_password).await;

    // The list: a lock badge, and the "Locked only" filter.
    let all = admin.get("/console/users").await;
    all.expect(200).has("status-locked").has("id=\"filter-locked\"");
    let locked = admin.get("/console/users?locked=1").await;
    locked.expect(200).has(">lou<").lacks(">kim<").has(&format!("href=\"/console/users/{lou}/sessions\""));
    assert!(
        locked.body.contains("id=\"filter-locked\" name=\"locked\" value=\"1\" checked"),
        "the filter stays ticked"
    );

    // The user's page offers Unlock; after it, lou signs in.
    let page = admin.get(&format!("/console/users/{lou}/sessions")).await;
    page.expect(200).has("Sign-in is locked").has(&format!("hx-post=\"/console/users/{lou}/unlock\""));
    admin
        .post(&format!("/console/users/{lou}/unlock"), &[])
        .await
        .expect(200)
        .redirects_to(&format!("/console/users/{lou}/sessions?notice=unlocked"));
    app.sign_in("lou", STRONG).await;
    admin
        .get(&format!("/console/users/{lou}/sessions?notice=unlocked"))
        .await
        .expect(200)
        .has("The user was unlocked")
        .lacks("Sign-in is locked");
    admin.get("/console/users?locked=1").await.expect(200).lacks(">lou<");
    assert_eq!(app.events(lou, "user.unlocked").await.len(), 1);

    // Unlocking needs users.passwords.
    app.user_with_permissions("helper", &["users.view", "sessions.view"]).await;
    let helper = Console::sign_in(&app, "helper", STRONG).await;
    helper.post(&format!("/console/users/{lou}/unlock"), &[]).await.expect(403);
}

async fn a_forced_password_change_at_sign_in_in_a_real_browser(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let supervisor = app.builtin_role("supervisor").await;
    let id = app.user_with_password("newbie", STRONG, json!({ "roles": [supervisor] })).await;
    app.set_password(id, json!({ "password": STRONG_2, "must_change_password": true })).await.json(200);
    let browser = Browser::launch(&app.base).await;
    if let Err(panic) = AssertUnwindSafe(forced_change(&browser)).catch_unwind().await {
        let name = format!("roster-console-security-{}-{}", format!("{engine:?}").to_lowercase(), std::process::id());
        browser.capture(&name).await;
        std::panic::resume_unwind(panic);
    }
    browser.close().await;
    app.login("newbie", STRONG_2).await.expect(401);
    let body = app.login("newbie", "Amber-Falcon-19%").await.json(200);
    assert!(body["token"].is_string(), "no further step: {body}");
    assert_eq!(app.events(id, "user.password_changed").await.len(), 2);
}

async fn forced_change(b: &Browser) {
    b.goto("/login").await;
    b.wait_css("#f-password").await;
    b.fill("#f-login", "newbie").await;
    b.fill("#f-password", STRONG_2).await;
    b.click("form[action='/login'] button[type=submit]").await;

    // The new-password step, with the policy under the field.
    b.wait_css("#f-new_password").await;
    b.wait_text("#pw-title", "Choose a new password").await;
    b.wait_text("main", "You must choose a new password").await;
    let hint = b.find("#f-new_password-hint").await.text().await.expect("hint");
    assert_eq!(hint, "8 to 128 characters, not a common password, not your login, not one of your last 5 passwords.");
    // Not signed in yet: no session cookie was set.
    let cookies = b.client.get_all_cookies().await.expect("cookies");
    assert!(cookies.iter().all(|c| c.name() != "roster_session"), "signed in before the new password: {cookies:?}");

    // A common password: refused next to the field.
    b.fill("#f-new_password", "password1").await;
    b.fill("#f-new_password_confirmation", "password1").await;
    b.click("form[action='/login/password'] button[type=submit]").await;
    let message = b.wait_text("#f-new_password-error", "common").await;
    assert_eq!(message, "Is one of the 100,000 most common passwords.");

    // A good one: signed in, on the users page.
    b.fill("#f-new_password", "Amber-Falcon-19%").await;
    b.fill("#f-new_password_confirmation", "Amber-Falcon-19%").await;
    b.click("form[action='/login/password'] button[type=submit]").await;
    b.wait_css("tbody#user-rows").await;
    assert_eq!(b.path().await, "/console/users");
    b.wait_text(".whoami", "newbie").await;
}
