//! Roles (R12), groups (R13), desks and skills (R15), the permission catalog, and the API's
//! own description (OpenAPI 3.1 and the browsable reference).

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Engine, TestApp, id_of, list_items};

both_engines!(
    built_in_roles_exist_and_cannot_be_deleted,
    desks_skills_groups_and_roles_round_trip,
    the_permission_catalog_lists_account_permissions,
    the_openapi_document_describes_the_users_api,
    the_api_reference_is_served_by_the_binary,
);

async fn built_in_roles_exist_and_cannot_be_deleted(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let roles = list_items(&app.get(&app.acct("roles")).await.json(200));
    for (key, name) in
        [("admin", "Admin"), ("supervisor", "Supervisor"), ("agent", "Agent"), ("financial", "Financial")]
    {
        let role = roles.iter().find(|r| r["builtin"] == key).unwrap_or_else(|| panic!("no {key} in {roles:?}"));
        assert_eq!(role["name"], name);
        assert!(role["description"].as_str().is_some_and(|d| !d.is_empty()), "R12: {role}");
        let id = id_of(role);
        let r = app.delete(&app.acct(&format!("roles/{id}"))).await;
        r.problem_field(409, "id", "builtin");
        app.get(&app.acct(&format!("roles/{id}"))).await.expect(200);
    }
    let admin = roles.iter().find(|r| r["builtin"] == "admin").unwrap();
    let perms = admin["permissions"].as_array().unwrap();
    assert!(perms.iter().any(|p| p == "users.delete"));
    assert!(!perms.iter().any(|p| p == "accounts.manage"), "a platform permission in an account role");
    let sup = roles.iter().find(|r| r["builtin"] == "supervisor").unwrap();
    assert!(sup["permissions"].as_array().unwrap().iter().any(|p| p == "users.view"));
    assert!(!sup["permissions"].as_array().unwrap().iter().any(|p| p == "users.edit"));
    assert_eq!(admin["member_count"], 1, "the first admin holds Admin: {admin}");
}

async fn desks_skills_groups_and_roles_round_trip(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    for kind in ["desks", "skills", "groups", "roles"] {
        let path = app.acct(kind);
        let created = app.post(&path, json!({ "name": "Team A", "description": "First" })).await;
        let etag = created.etag();
        let item = created.json(201);
        let id = id_of(&item);
        assert_eq!((item["name"].clone(), item["description"].clone()), (json!("Team A"), json!("First")));
        let item_path = app.acct(&format!("{kind}/{id}"));
        assert_eq!(app.get(&item_path).await.etag(), etag);
        assert!(list_items(&app.get(&path).await.json(200)).iter().any(|i| i["id"] == id), "{kind} list");

        // Unique names, ignoring case; names are required.
        app.post(&path, json!({ "name": "team a" })).await.problem_on(409, "name");
        app.post(&path, json!({ "name": "" })).await.problem_on(422, "name");
        app.post(&path, json!({ "description": "no name" })).await.problem_on(422, "name");

        let patch = |etag: Option<String>, body: serde_json::Value| {
            let mut r = app.req(Method::PATCH, &item_path).json(&body);
            if let Some(e) = etag {
                r = r.header("if-match", e);
            }
            app.send(r)
        };
        patch(None, json!({ "name": "Team B" })).await.problem(428);
        let renamed = patch(Some(etag.clone()), json!({ "name": "Team B" })).await.json(200);
        assert_eq!(renamed["name"], "Team B");
        assert_eq!(renamed["description"], "First", "absent description kept");
        patch(Some(etag.clone()), json!({ "description": "stale" })).await.problem(412);

        app.delete(&item_path).await.expect(204);
        app.get(&item_path).await.problem(404);
        app.get(&app.acct(&format!("{kind}/999999"))).await.problem(404);
    }

    // A custom role carries permissions, and a group carries roles.
    let role = app
        .post(&app.acct("roles"), json!({ "name": "Auditor", "description": "Reads the log", "permissions": ["activity.view", "users.view"] }))
        .await
        .json(201);
    let mut perms: Vec<String> =
        role["permissions"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect();
    perms.sort();
    assert_eq!(perms, vec!["activity.view", "users.view"]);
    app.post(&app.acct("roles"), json!({ "name": "Bad", "permissions": ["users.fly"] }))
        .await
        .problem_on(422, "permissions");
    app.post(&app.acct("roles"), json!({ "name": "Op", "permissions": ["accounts.manage"] }))
        .await
        .problem_on(422, "permissions");
    let group = app.post(&app.acct("groups"), json!({ "name": "Audit team", "roles": [id_of(&role)] })).await.json(201);
    assert_eq!(group["roles"][0]["name"], "Auditor", "{group}");
    // A group naming a role that does not exist is refused on the field, and not made.
    let r = app.post(&app.acct("groups"), json!({ "name": "Ghosts", "roles": [999_999] })).await;
    r.problem_field(422, "roles", "unknown_id");
    let groups = list_items(&app.get(&app.acct("groups")).await.json(200));
    assert!(groups.iter().all(|g| g["name"] != "Ghosts"), "{groups:?}");

    // A desk in use: deleting it unassigns its users, who stay.
    let desk = app.desk("Busy").await;
    let user = id_of(&app.new_user(json!({ "login": "busy-bee", "desks": [desk] })).await);
    assert_eq!(app.get(&app.acct(&format!("desks/{desk}"))).await.json(200)["member_count"], 1);
    app.delete(&app.acct(&format!("desks/{desk}"))).await.expect(204);
    app.get(&app.acct(&format!("desks/{desk}"))).await.problem(404);
    assert!(app.get_user(user).await.json(200)["desks"].as_array().unwrap().is_empty());
}

async fn the_permission_catalog_lists_account_permissions(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let catalog =
        app.get("/api/v1/permissions").await.json(200).as_array().expect("the permission catalog is one array").clone();
    let names: Vec<&str> = catalog.iter().filter_map(|p| p["name"].as_str()).collect();
    for p in ["users.view", "users.create", "users.edit", "users.delete", "roles.manage", "activity.view"] {
        assert!(names.contains(&p), "{p} missing from {names:?}");
    }
    assert!(!names.contains(&"accounts.manage"), "platform permissions are not grantable in accounts");
    assert!(catalog.iter().all(|p| p["description"].as_str().is_some_and(|d| !d.is_empty())));
    app.send(app.anon(Method::GET, "/api/v1/permissions")).await.problem(401);
}

async fn the_openapi_document_describes_the_users_api(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let r = app.send(app.anon(Method::GET, "/api/v1/openapi.json")).await;
    let doc = r.json(200);
    assert!(r.content_type().starts_with("application/json"), "{}", r.content_type());
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "openapi = {}", doc["openapi"]);
    let paths = doc["paths"].as_object().expect("paths");
    let expected = [
        ("/api/v1/auth/login", "post"),
        ("/api/v1/session", "get"),
        ("/api/v1/accounts/{account}/users", "get"),
        ("/api/v1/accounts/{account}/users", "post"),
        ("/api/v1/accounts/{account}/users/{id}", "get"),
        ("/api/v1/accounts/{account}/users/{id}", "patch"),
        ("/api/v1/accounts/{account}/users/{id}", "delete"),
        ("/api/v1/accounts/{account}/users/bulk", "post"),
        ("/api/v1/accounts/{account}/users/{id}/password", "put"),
        ("/api/v1/accounts/{account}/users/{id}/avatar", "put"),
        ("/api/v1/accounts/{account}/roles", "get"),
        ("/api/v1/accounts/{account}/groups", "post"),
        ("/api/v1/accounts/{account}/desks/{id}", "delete"),
        ("/api/v1/accounts/{account}/skills", "get"),
        ("/api/v1/accounts/{account}/activity", "get"),
        ("/api/v1/accounts", "post"),
        ("/api/v1/permissions", "get"),
    ];
    for (path, method) in expected {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} is not in the document");
    }
    // The user schema describes the fields; bearer auth is declared.
    let text = doc.to_string();
    for word in ["UserInput", "extension", "time_zone", "If-Match"] {
        assert!(text.contains(word), "{word} missing from the OpenAPI document");
    }
    assert!(doc["components"]["securitySchemes"].as_object().is_some_and(|s| !s.is_empty()), "no security scheme");
}

async fn the_api_reference_is_served_by_the_binary(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    // The test client follows redirects: `/api/docs` ends at the page.
    let r = app.send(app.anon(Method::GET, "/api/docs")).await;
    r.expect(200);
    assert!(r.content_type().starts_with("text/html"), "{}", r.content_type());
    let html = r.text().to_lowercase();
    assert!(html.contains("<!doctype html>") && html.contains("<html"), "{html}");
    for cdn in ["unpkg.com", "cdn.jsdelivr", "cdnjs", "googleapis.com"] {
        assert!(!html.contains(cdn), "the reference loads assets from a CDN ({cdn})");
    }
    // Its scripts and styles are served by the binary too.
    let assets: Vec<String> = html
        .split(['"', '\''])
        .filter(|s| (s.ends_with(".js") || s.ends_with(".css")) && !s.starts_with("http"))
        .map(str::to_string)
        .collect();
    for asset in assets.iter().take(5) {
        let path = if asset.starts_with('/') {
            asset.clone()
        } else {
            format!("/api/docs/{}", asset.trim_start_matches("./"))
        };
        app.send(app.anon(Method::GET, &path)).await.expect(200);
    }
}
