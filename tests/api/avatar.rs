//! Avatars (R7): type and size checked, stored, served.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Engine, TestApp, id_of, png};

both_engines!(an_avatar_is_stored_and_served, wrong_or_oversize_avatars_are_refused);

/// The largest avatar taken: 1 MiB (`AVATAR_MAX_BYTES`).
const AVATAR_LIMIT: usize = 1024 * 1024;

async fn put_avatar(app: &TestApp, id: i64, bytes: Vec<u8>, content_type: &str) -> crate::helpers::Resp {
    let request = app.req(Method::PUT, &app.acct(&format!("users/{id}/avatar"))).header("content-type", content_type);
    app.send(request.body(bytes)).await
}

async fn an_avatar_is_stored_and_served(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = id_of(&app.new_user(json!({ "login": "pic" })).await);
    let avatar = app.acct(&format!("users/{id}/avatar"));
    app.get(&avatar).await.problem(404);
    assert_eq!(app.get_user(id).await.json(200)["has_avatar"], false);

    let image = png(3, 2, [10, 200, 30]);
    put_avatar(&app, id, image.clone(), "image/png").await.expect(204);
    let got = app.get(&avatar).await;
    got.expect(200);
    assert_eq!(got.content_type(), "image/png");
    assert_eq!(got.bytes, image, "the same bytes come back");
    assert_eq!(app.get_user(id).await.json(200)["has_avatar"], true);

    // Replacing it serves the new one; the type comes from the bytes, not the header.
    let bigger = png(16, 16, [0, 0, 255]);
    put_avatar(&app, id, bigger.clone(), "application/octet-stream").await.expect(204);
    let got = app.get(&avatar).await;
    assert_eq!((got.content_type(), got.bytes.clone()), ("image/png".to_string(), bigger));

    // Others who may view users see it; an agent may not.
    let (sup_id, sup) = app.user_with_role("pic-sup", "supervisor").await;
    app.same_desk(&[id, sup_id]).await;
    app.get_as(&sup, &avatar).await.expect(200);
    let (_, agent) = app.user_with_role("pic-agent", "agent").await;
    app.get_as(&agent, &avatar).await.problem(403);
    let r = app
        .send(app.req_as(&sup, Method::PUT, &avatar).header("content-type", "image/png").body(png(1, 1, [0; 3])))
        .await;
    r.problem(403);

    let changed = app.activity(&format!("user={id}")).await;
    assert!(changed.iter().any(|e| e["action"].as_str().is_some_and(|a| a.contains("avatar"))), "{changed:#?}");

    app.delete(&avatar).await.expect(204);
    app.get(&avatar).await.problem(404);
    assert_eq!(app.get_user(id).await.json(200)["has_avatar"], false);
    app.get(&app.acct("users/987654/avatar")).await.problem(404);
    put_avatar(&app, 987_654, png(1, 1, [1, 2, 3]), "image/png").await.problem(404);
}

async fn wrong_or_oversize_avatars_are_refused(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = id_of(&app.new_user(json!({ "login": "nopic" })).await);
    let avatar = app.acct(&format!("users/{id}/avatar"));

    put_avatar(&app, id, b"hello, I am text".to_vec(), "image/png").await.problem(415);
    put_avatar(&app, id, b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec(), "image/svg+xml").await.problem(415);
    put_avatar(&app, id, b"%PDF-1.7\n".to_vec(), "application/pdf").await.problem(415);
    // A PNG signature and nothing behind it: a PNG whose size cannot be read.
    let truncated = png(2, 2, [0; 3])[..12].to_vec();
    put_avatar(&app, id, truncated, "image/png").await.problem_field(422, "avatar", "unreadable");
    app.get(&avatar).await.problem(404);
    assert_eq!(app.get_user(id).await.json(200)["has_avatar"], false);

    // The limit is 1 MiB (1,048,576 bytes): one byte more, starting like a PNG, is refused
    // whatever it is…
    let mut over = png(1, 1, [0; 3]);
    over.resize(AVATAR_LIMIT + 1, 0);
    let r = put_avatar(&app, id, over, "image/png").await;
    assert!(r.problem(413)["detail"].as_str().unwrap().contains("1024 KiB"), "{}", r.text());
    app.get(&avatar).await.problem(404);
    // …and a PNG of exactly the limit is taken, and served as it came.
    let mut at_limit = png(1, 1, [0; 3]);
    at_limit.resize(AVATAR_LIMIT, 0);
    put_avatar(&app, id, at_limit.clone(), "image/png").await.expect(204);
    let got = app.get(&avatar).await;
    got.expect(200);
    assert_eq!(got.bytes.len(), AVATAR_LIMIT);
    assert!(got.bytes == at_limit, "the same bytes come back");
    app.delete(&avatar).await.expect(204);
    // Far larger than any body the API takes.
    app.send_oversize("PUT", &avatar, "image/png", 12 * 1024 * 1024).await.problem(413);

    app.get(&avatar).await.problem(404);
    assert_eq!(app.get_user(id).await.json(200)["has_avatar"], false);
}
