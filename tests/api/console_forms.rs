//! Console requests that the browser test does not make, over plain HTTP with the session
//! cookie and the CSRF header, as htmx sends them.

use reqwest::multipart::{Form, Part};
use serde_json::json;

use crate::helpers::{Engine, TestApp, id_of, png};

both_engines!(an_admin_uploads_and_removes_an_avatar_in_the_console);

async fn an_admin_uploads_and_removes_an_avatar_in_the_console(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = id_of(&app.new_user(json!({ "login": "pictured" })).await);
    let browser = app.console_sign_in_with_second_factor(&app.admin_login, &app.admin_password).await;
    let page = browser.get(app.url(&format!("/console/users/{id}/avatar"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("No avatar yet"), "{page}");
    let csrf =
        page.split("name=\"csrf-token\" content=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_string();

    let image = png(3, 2, [200, 10, 10]);
    let upload = |token: Option<&str>, bytes: Vec<u8>| {
        let form = Form::new().part("avatar", Part::bytes(bytes).file_name("me.png").mime_str("image/png").unwrap());
        let mut req =
            browser.post(app.url(&format!("/console/users/{id}/avatar"))).header("HX-Request", "true").multipart(form);
        if let Some(t) = token {
            req = req.header("X-CSRF-Token", t);
        }
        req.send()
    };
    // Without the CSRF token nothing happens.
    assert_eq!(upload(None, image.clone()).await.unwrap().status(), 403);
    assert_eq!(app.get_user(id).await.json(200)["has_avatar"], false);
    // Not an image: refused with a message, nothing stored.
    let refused = upload(Some(&csrf), b"plain text".to_vec()).await.unwrap();
    assert_eq!(refused.status(), 415);
    assert_eq!(app.get_user(id).await.json(200)["has_avatar"], false);

    // Done, htmx is sent back to the avatar page.
    let done = upload(Some(&csrf), image.clone()).await.unwrap();
    assert_eq!(done.status(), 200);
    assert_eq!(
        done.headers().get("hx-redirect").and_then(|v| v.to_str().ok()),
        Some(format!("/console/users/{id}/avatar").as_str())
    );
    let stored = app.get(&app.acct(&format!("users/{id}/avatar"))).await;
    assert_eq!(stored.status, 200, "{}", stored.text());
    assert_eq!(stored.bytes, image);
    let page = browser.get(app.url(&format!("/console/users/{id}/avatar"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"avatar-image\""), "{page}");

    let removed = browser
        .post(app.url(&format!("/console/users/{id}/avatar/remove")))
        .header("HX-Request", "true")
        .header("X-CSRF-Token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 200);
    assert_eq!(
        removed.headers().get("hx-redirect").and_then(|v| v.to_str().ok()),
        Some(format!("/console/users/{id}/avatar").as_str())
    );
    assert_eq!(app.get_user(id).await.json(200)["has_avatar"], false);
    assert_eq!(app.activity(&format!("user={id}&action=user.avatar_changed")).await.len(), 2);
}
