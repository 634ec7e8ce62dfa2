//! Access rules in the console: the account's list and a user's mode and list, edited as
//! htmx posts them (session cookie and CSRF header), with errors next to their rows.

use serde_json::json;

use crate::access_rules::{PW, user_rules_path};
use crate::helpers::{Engine, TestApp};

both_engines!(the_console_pages_edit_account_and_user_rules);

/// A console form post as htmx sends it; returns (status, HX-Redirect, body).
async fn console_post(
    app: &TestApp,
    http: &reqwest::Client,
    csrf: &str,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, Option<String>, String) {
    let response = http
        .post(app.url(path))
        .header("HX-Request", "true")
        .header("X-CSRF-Token", csrf)
        .form(form)
        .send()
        .await
        .expect("POST");
    let status = response.status().as_u16();
    let redirect = response.headers().get("hx-redirect").and_then(|v| v.to_str().ok()).map(str::to_string);
    (status, redirect, response.text().await.unwrap())
}

async fn the_console_pages_edit_account_and_user_rules(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ana = app.user_with_password("ana", PW, json!({})).await;
    let http = app.console_sign_in_with_second_factor(&app.admin_login, &app.admin_password).await;
    let page = http.get(app.url("/console/settings/access-rules")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Access rules") && page.contains("No GeoIP database is configured"), "{page}");
    let csrf =
        page.split("name=\"csrf-token\" content=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_string();
    let version = page.split("name=\"version\" value=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_string();
    let security = http.get(app.url("/console/settings/security")).send().await.unwrap().text().await.unwrap();
    assert!(security.contains("href=\"/console/settings/access-rules\""), "linked from the security settings");

    // A bad row is refused next to itself, with the canonical block; blank rows are ignored.
    let rows = |second: &str| {
        vec![
            ("version", version.clone()),
            ("action", "deny".into()),
            ("value", "192.0.2.0/24".into()),
            ("description", "lab".into()),
            ("action", "deny".into()),
            ("value", second.to_string()),
            ("description", "".into()),
            ("action", "allow".into()),
            ("value", "".into()),
            ("description", "".into()),
        ]
    };
    let form = rows("10.1.2.3/8");
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, body) = console_post(&app, &http, &csrf, "/console/settings/access-rules", &form).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("id=\"row-1-error\"") && body.contains("10.0.0.0/8"), "{body}");
    assert_eq!(app.get(&app.acct("access-rules")).await.json(200)["rules"], json!([]));

    let form = rows("10.0.0.0/8");
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, redirect, body) = console_post(&app, &http, &csrf, "/console/settings/access-rules", &form).await;
    assert_eq!((status, redirect.as_deref()), (200, Some("/console/settings/access-rules?notice=saved")), "{body}");
    let saved = app.get(&app.acct("access-rules")).await.json(200);
    assert_eq!(
        saved["rules"][0],
        json!({ "action": "deny", "kind": "network", "value": "192.0.2.0/24", "description": "lab" })
    );
    assert_eq!(saved["rules"].as_array().unwrap().len(), 2);
    // The same form again is stale now.
    let (status, _, body) = console_post(&app, &http, &csrf, "/console/settings/access-rules", &form).await;
    assert_eq!(status, 412, "{body}");
    assert!(body.contains("Someone else changed these rules"));

    // The user's page: linked from their security page; mode and rules saved.
    let security =
        http.get(app.url(&format!("/console/users/{ana}/security"))).send().await.unwrap().text().await.unwrap();
    assert!(
        security.contains(&format!("href=\"/console/users/{ana}/access-rules\"")),
        "linked from the user's security page"
    );
    let page =
        http.get(app.url(&format!("/console/users/{ana}/access-rules"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Inherit") && page.contains("192.0.2.0/24"), "{page}");
    let user_version =
        page.split("name=\"version\" value=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_string();
    let form = [
        ("version", user_version.as_str()),
        ("mode", "overwrite"),
        ("action", "deny"),
        ("value", "198.51.100.1"),
        ("description", ""),
    ];
    let path = format!("/console/users/{ana}/access-rules");
    let (status, redirect, body) = console_post(&app, &http, &csrf, &path, &form).await;
    assert_eq!((status, redirect), (200, Some(format!("{path}?notice=saved"))), "{body}");
    let view = app.get(&user_rules_path(&app, ana)).await.json(200);
    assert_eq!((view["mode"].clone(), view["rules"][0]["value"].clone()), (json!("overwrite"), json!("198.51.100.1")));
}
