//! The console's Accounts page for platform operators (issue 12): the list with users and
//! seats, a new account with its first admin (generated password shown once, or invited),
//! rename / enable / seats, and acting inside another account.

use serde_json::json;

use crate::helpers::{Console, Engine, STRONG, TestApp};

both_engines!(platform_operators_run_accounts_from_the_console);

async fn platform_operators_run_accounts_from_the_console(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let op = Console::sign_in_with_second_factor(&app, &app.admin_login, &app.admin_password).await;
    op.get("/console/users").await.has("href=\"/console/accounts\"");
    op.get("/console/accounts").await.expect(200).has("data-account=\"default\"");

    // Not for account admins who are not operators.
    let admin_role = app.builtin_role("admin").await;
    app.user_with_password("local", STRONG, json!({ "roles": [admin_role] })).await;
    let local = Console::sign_in_with_second_factor(&app, "local", STRONG).await;
    local.get("/console/accounts").await.expect(403);
    local.get("/console/users").await.lacks("href=\"/console/accounts\"");
    local.post("/console/accounts/default/act", &[]).await.expect(403);

    // A new account whose admin gets a generated password, shown once.
    let made = op
        .post(
            "/console/accounts",
            &[("slug", "acme"), ("name", "Acme"), ("seats", "3"), ("how", "password"), ("admin", "boss")],
        )
        .await;
    made.expect(200).has("id=\"account-created\"");
    let password = made.text_of("generated-password");
    assert!(password.len() >= 12, "{password}");
    app.login_in("acme", "boss", &password).await.expect(200);
    // One invited by email.
    op.post(
        "/console/accounts",
        &[("slug", "beta"), ("name", "Beta"), ("seats", ""), ("how", "invite"), ("admin", "chief@beta.example")],
    )
    .await
    .expect(200)
    .has("The invitation was sent to chief@beta.example");
    let mail = app.mailbox.wait_for("chief@beta.example").await;
    assert!(mail.text.contains("Beta") && mail.text.contains("Admin"), "{}", mail.text);
    let beta = app.get("/api/v1/accounts/beta/users?status=invited").await.json(200);
    assert_eq!(beta["items"][0]["email"], "chief@beta.example");
    // Refusals, named, and nothing made.
    op.post(
        "/console/accounts",
        &[("slug", "acme"), ("name", "Again"), ("seats", ""), ("how", "password"), ("admin", "x")],
    )
    .await
    .expect(409)
    .has("f-slug-error");
    op.post(
        "/console/accounts",
        &[("slug", "gamma"), ("name", "Gamma"), ("seats", ""), ("how", "invite"), ("admin", "not-an-address")],
    )
    .await
    .expect(422)
    .has("f-admin-error");
    app.get("/api/v1/accounts/gamma").await.problem(404);

    // Rename, seats, disable — and the list shows users and seats.
    let page = op.get("/console/accounts/acme").await;
    let version = page.value_of("version");
    let saved = op
        .post(
            "/console/accounts/acme",
            &[("version", version.as_str()), ("name", "Acme Corp"), ("seats", "2"), ("enabled", "on")],
        )
        .await;
    saved.redirects_to("/console/accounts/acme?notice=saved");
    let acme = app.get("/api/v1/accounts/acme").await.json(200);
    assert_eq!(
        (acme["name"].as_str(), acme["seat_limit"].as_i64(), acme["enabled"].as_bool()),
        (Some("Acme Corp"), Some(2), Some(true))
    );
    let list = op.get("/console/accounts").await;
    list.has("Acme Corp").has("1 of 2");

    // Acting in Acme: every page works there, until back home.
    op.post("/console/accounts/acme/act", &[]).await.redirects_to("/console/users");
    let users = op.get("/console/users").await;
    users.expect(200).has("Acting in Acme Corp").has(">boss<");
    op.get("/console/seats/summary").await.has("1 of 2 seats used");
    op.get("/console/seats").await.expect(200).has(">boss<").lacks(&format!("/console/users/{}/edit", app.admin_id));
    op.post("/console/accounts/home", &[]).await.redirects_to("/console/users");
    op.get("/console/users").await.lacks("Acting in").has(&app.admin_login);
}
