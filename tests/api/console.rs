//! The web console in a real headless Chromium (Debian's chromium and chromedriver): a
//! manager signs in, creates a user through the form (a bad email first, refused next to the
//! field), filters the users list, and runs mass actions with a preview and a confirmed apply.
//! What the browser shows is checked against the HTTP API.
//!
//! It runs on both engines: the browser part takes a few seconds, and the console's queries
//! (filters, mass actions) are engine-specific code worth seeing through the browser on each.

use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::helpers::{Browser, Engine, TestApp, id_of, names, sorted};

both_engines!(a_manager_works_the_console_in_a_real_browser);

async fn a_manager_works_the_console_in_a_real_browser(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let browser = Browser::launch(&app.base).await;
    if let Err(panic) = AssertUnwindSafe(scenario(&app, &browser)).catch_unwind().await {
        let name = format!("roster-console-{}-{}", format!("{engine:?}").to_lowercase(), std::process::id());
        browser.capture(&name).await;
        std::panic::resume_unwind(panic);
    }
    browser.close().await;
}

/// One row of the users table as the browser shows it.
#[derive(Debug, Deserialize, PartialEq)]
struct Row {
    id: String,
    login: String,
    status: String,
    desks: Vec<String>,
    /// (name, description shown on hover)
    roles: Vec<(String, String)>,
}

const READ_ROWS: &str = r#"
    return Array.from(document.querySelectorAll('tbody#user-rows tr'))
        .filter(tr => tr.querySelector('.user-login'))
        .map(tr => ({
            id: (tr.querySelector('input[name=ids]') || {}).value || '',
            login: tr.querySelector('.user-login').textContent.trim(),
            status: tr.querySelector('.status').textContent.trim(),
            desks: Array.from(tr.querySelectorAll('.tag')).map(t => t.textContent.trim()),
            roles: Array.from(tr.querySelectorAll('.badge.role')).map(b => [b.textContent.trim(), b.title]),
        }));
"#;

async fn rows(b: &Browser) -> Vec<Row> {
    let value = b.js(READ_ROWS, vec![]).await;
    serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("reading the users table {value}: {e}"))
}

/// Waits until the table shows exactly `logins` (in any order) and `ready` holds for its rows.
async fn wait_rows(b: &Browser, logins: &[&str], what: &str, ready: impl Fn(&[Row]) -> bool) -> Vec<Row> {
    let want = sorted(logins.iter().map(|l| l.to_string()).collect());
    b.wait_for(&format!("the users table to show {want:?} ({what})"), async || {
        let rows = rows(b).await;
        let shown = sorted(rows.iter().map(|r| r.login.clone()).collect());
        (shown == want && ready(&rows)).then_some(rows)
    })
    .await
}

fn row<'a>(rows: &'a [Row], login: &str) -> &'a Row {
    rows.iter().find(|r| r.login == login).unwrap_or_else(|| panic!("no row for {login} in {rows:?}"))
}

/// Every user through the API: login → (status, desk names).
async fn api_users(app: &TestApp) -> Vec<(String, String, Vec<String>)> {
    let mut users: Vec<_> = app
        .list_all("limit=100")
        .await
        .iter()
        .map(|u| {
            (u["login"].as_str().unwrap().to_string(), u["status"].as_str().unwrap().to_string(), names(u, "desks"))
        })
        .collect();
    users.sort();
    users
}

fn user(login: &str, status: &str, desks: &[&str]) -> (String, String, Vec<String>) {
    (login.to_string(), status.to_string(), desks.iter().map(|d| d.to_string()).collect())
}

/// Presses the mass action's Apply, accepts its `confirm()` and returns the dialog's text.
async fn apply_and_confirm(b: &Browser) -> String {
    // The click may report the dialog it opened as an error; the dialog is what counts.
    let clicked = b.find("#bulk-form button[value=apply]").await.click().await;
    let text = b.accept_confirm().await;
    if let Err(e) = clicked {
        eprintln!("clicking Apply reported {e} (a confirm dialog was open)");
    }
    text
}

async fn scenario(app: &TestApp, b: &Browser) {
    // The catalog and three users, through the API.
    let sales = app.desk("Sales").await;
    let support = app.desk("Support").await;
    let lead = app
        .create_named(
            "roles",
            json!({ "name": "Team lead", "description": "Leads a desk's agents", "permissions": ["users.view"] }),
        )
        .await;
    let ann = id_of(&app.new_user(json!({ "login": "ann", "email": "ann@example.com", "desks": [sales] })).await);
    app.new_user(json!({ "login": "bob", "email": "bob@example.com", "desks": [sales, support] })).await;
    app.new_user(json!({ "login": "cid", "email": "cid@example.com", "desks": [support] })).await;
    let admin = app.admin_login.as_str();

    // ---- Sign in ----------------------------------------------------------------------------
    b.goto("/console/users").await;
    b.wait_css("#f-password").await;
    assert!(
        b.path().await.starts_with("/login"),
        "not signed in: the console sends us to /login, not {}",
        b.path().await
    );
    assert_eq!(b.prop("#f-account", "value").await, "default");
    b.fill("#f-login", admin).await;
    b.fill("#f-password", &app.admin_password).await;
    b.click("form[action='/login'] button[type=submit]").await;
    // R27: the admin's second factor, typed from the test's "phone".
    b.wait_css("#f-code").await;
    let (code, method) = app.next_code(admin);
    if method != "totp" {
        b.click(&format!("#f-method-{method}")).await;
    }
    b.fill("#f-code", &code).await;
    b.click("form[action='/login/second-factor'] button[type=submit]").await;
    b.wait_css("tbody#user-rows").await;
    assert_eq!(b.path().await, "/console/users");
    wait_rows(b, &[admin, "ann", "bob", "cid"], "after sign-in", |_| true).await;

    // ---- Create a user: a bad email first ----------------------------------------------------
    b.click("a[href='/console/users/new']").await;
    b.wait_css("#user-form #f-email").await;
    b.fill("#f-login", "dan").await;
    b.fill("#f-email", "dan-at-example.com").await;
    b.click(&format!("#f-desks-{sales}")).await;
    b.click(&format!("#f-roles-{lead}")).await;
    b.click("#user-form button[type=submit]").await;
    let message = b.wait_text("#f-email-error", "email address").await;
    assert_eq!(message, "Must be a valid email address, such as name@example.com.");
    // The message sits in the email field's own block, which is marked and linked to it.
    let beside = b
        .js(
            "const f = document.querySelector('#f-email'); const e = f.closest('.field').querySelector('.field-error');
             return [e && e.id, f.closest('.field').classList.contains('has-error'), f.getAttribute('aria-invalid'),
                     f.getAttribute('aria-describedby'), document.querySelectorAll('#user-form .field-error').length];",
            vec![],
        )
        .await;
    assert_eq!(
        beside,
        json!(["f-email-error", true, "true", "f-email-hint f-email-error", 1]),
        "the error is next to the email field only"
    );
    b.wait_text("#user-form .alert-error", "The user was not saved.").await;
    assert!(!api_users(app).await.iter().any(|(login, ..)| login == "dan"), "a refused form creates nobody");
    // What was typed and ticked is kept.
    assert_eq!(b.prop("#f-login", "value").await, "dan");
    assert_eq!(b.prop("#f-email", "value").await, "dan-at-example.com");
    assert_eq!(b.prop(&format!("#f-desks-{sales}"), "checked").await, "true");
    assert_eq!(b.prop(&format!("#f-roles-{lead}"), "checked").await, "true");

    // ---- … then fixed ------------------------------------------------------------------------
    b.fill("#f-email", "dan@example.com").await;
    b.click("#user-form button[type=submit]").await;
    let title = b.wait_text("#created-title", "created").await;
    assert_eq!(title, "User dan created");
    let password = b.find("#new-password").await.text().await.expect("the generated password");
    assert!(
        password.len() >= 12 && !password.contains(char::is_whitespace),
        "a strong generated password: {password:?}"
    );
    let created = app.list_all("q=dan%40example.com").await;
    assert_eq!(created.len(), 1, "{created:?}");
    let dan_user = &created[0];
    let dan = id_of(dan_user);
    assert_eq!((dan_user["login"].clone(), dan_user["email"].clone()), (json!("dan"), json!("dan@example.com")));
    assert_eq!(names(dan_user, "desks"), vec!["Sales"]);
    assert_eq!(names(dan_user, "roles"), vec!["Team lead"]);
    app.login("dan", &password).await.expect(200);

    // ---- Filter the list by desk --------------------------------------------------------------
    b.click("#user-form a[href='/console/users']").await;
    b.wait_css("#filter-desk").await;
    b.select("#filter-desk", &sales.to_string()).await;
    b.click("form.filters button[type=submit]").await;
    b.wait_url(&format!("desk={sales}")).await;
    let shown = wait_rows(b, &["ann", "bob", "dan"], "desk Sales", |_| true).await;
    assert_eq!(b.prop("#filter-desk", "value").await, sales.to_string(), "the filter stays chosen");
    let dan_row = row(&shown, "dan");
    assert_eq!((dan_row.id.as_str(), dan_row.desks.clone()), (dan.to_string().as_str(), vec!["Sales".to_string()]));
    assert_eq!(
        dan_row.roles,
        vec![("Team lead".to_string(), "Leads a desk's agents".to_string())],
        "role description on hover"
    );
    assert_eq!(row(&shown, "bob").desks, vec!["Sales", "Support"]);

    // ---- Mass action on the selected users: deactivate ann and dan -----------------------------
    b.click(&format!("input[name=ids][value='{ann}']")).await;
    b.click(&format!("input[name=ids][value='{dan}']")).await;
    b.select("#bulk-action", "deactivate").await;
    assert_eq!(b.prop("#bulk-scope", "value").await, "selected");
    b.click("#bulk-form button[value=preview]").await;
    let preview = b.wait_text("#bulk-result", "Preview:").await;
    assert_eq!(
        preview,
        "Preview: 2 of the 2 users chosen would be deactivated. Nothing has changed yet; press Apply to do it."
    );
    let before = vec![
        user(admin, "active", &[]),
        user("ann", "active", &["Sales"]),
        user("bob", "active", &["Sales", "Support"]),
        user("cid", "active", &["Support"]),
        user("dan", "active", &["Sales"]),
    ];
    assert_eq!(api_users(app).await, sorted_users(before), "a preview changes nothing");

    let confirm = apply_and_confirm(b).await;
    assert_eq!(confirm, "Apply this mass action now? It changes every chosen user at once.");
    // (Polling for the full message: the preview it replaces says "would be deactivated".)
    let done = b.wait_text("#bulk-result", "2 users deactivated.").await;
    assert_eq!(done, "2 users deactivated.");
    // The table is refreshed in place, still filtered.
    wait_rows(b, &["ann", "bob", "dan"], "ann and dan disabled", |rows| {
        row(rows, "ann").status == "Disabled"
            && row(rows, "dan").status == "Disabled"
            && row(rows, "bob").status == "Active"
    })
    .await;
    let after_deactivate = vec![
        user(admin, "active", &[]),
        user("ann", "disabled", &["Sales"]),
        user("bob", "active", &["Sales", "Support"]),
        user("cid", "active", &["Support"]),
        user("dan", "disabled", &["Sales"]),
    ];
    assert_eq!(api_users(app).await, sorted_users(after_deactivate), "exactly the selected users were deactivated");

    // ---- Mass action on the filter: add everyone on desk Sales to desk Support -----------------
    b.select("#bulk-action", "assign_desks").await;
    b.wait_css("#bulk-values-select").await;
    b.select("#bulk-values-select", &support.to_string()).await;
    b.select("#bulk-scope", "filter").await;
    b.click("#bulk-form button[value=preview]").await;
    let preview = b.wait_text("#bulk-result", "Preview:").await;
    assert_eq!(
        preview,
        "Preview: 2 of the 3 users chosen would be added to desk Support. Nothing has changed yet; press Apply to do it.",
        "bob is on Support already"
    );
    apply_and_confirm(b).await;
    let done = b.wait_text("#bulk-result", "2 users added to desk Support.").await;
    assert_eq!(done, "2 users added to desk Support.");
    wait_rows(b, &["ann", "bob", "dan"], "all on Support", |rows| rows.iter().all(|r| r.desks == ["Sales", "Support"]))
        .await;
    let after_assign = vec![
        user(admin, "active", &[]),
        user("ann", "disabled", &["Sales", "Support"]),
        user("bob", "active", &["Sales", "Support"]),
        user("cid", "active", &["Support"]),
        user("dan", "disabled", &["Sales", "Support"]),
    ];
    assert_eq!(
        api_users(app).await,
        sorted_users(after_assign),
        "exactly the users on desk Sales were added to Support"
    );

    // ---- Filter by status too ------------------------------------------------------------------
    b.click("#filter-status-disabled").await;
    b.click("form.filters button[type=submit]").await;
    b.wait_url("status=disabled").await;
    wait_rows(b, &["ann", "dan"], "desk Sales, disabled", |_| true).await;
    b.fill("#filter-q", "dan").await;
    b.click("form.filters button[type=submit]").await;
    b.wait_url("q=dan").await;
    wait_rows(b, &["dan"], "desk Sales, disabled, “dan”", |_| true).await;

    let flash: Value = b.js("return document.querySelector('#flash').textContent.trim()", vec![]).await;
    assert_eq!(flash, json!(""), "no error was shown");
}

fn sorted_users(mut users: Vec<(String, String, Vec<String>)>) -> Vec<(String, String, Vec<String>)> {
    users.sort();
    users
}
