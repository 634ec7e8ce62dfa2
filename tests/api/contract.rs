//! The API contract (issue 11): what a client generator relies on. Lists page the same way,
//! a created resource can be read back at its `Location`, a wrong method is a 405 problem, and
//! the published document declares each of these answers.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Engine, TestApp, list_items};

both_engines!(
    created_resources_are_read_back_at_their_location,
    catalog_tokens_and_accounts_page_like_users,
    a_wrong_method_is_a_problem_with_allow,
    state_conflicts_are_409_naming_the_field,
    the_document_declares_what_the_routes_answer,
    the_server_keeps_the_published_contract_under_fuzzing,
);

/// Every POST that answers 201 sends `Location`, and a GET there returns the same resource.
async fn created_resources_are_read_back_at_their_location(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let creations = [
        (app.acct("users"), json!({ "login": "located", "first_name": "Lo" })),
        (app.acct("roles"), json!({ "name": "Located role", "permissions": ["users.view"] })),
        (app.acct("groups"), json!({ "name": "Located group" })),
        (app.acct("desks"), json!({ "name": "Located desk" })),
        (app.acct("skills"), json!({ "name": "Located skill" })),
        (app.acct("tokens"), json!({ "name": "Located token", "permissions": ["users.view"] })),
        ("/api/v1/accounts".to_string(), json!({ "slug": "located", "name": "Located" })),
    ];
    for (collection, body) in creations {
        let created = app.post(&collection, body).await;
        let made = created.json(201);
        let location = created.header("location").unwrap_or_else(|| panic!("{collection}: 201 without Location"));
        assert!(location.starts_with("/api/v1/accounts/"), "{collection}: {location}");
        let read = app.get(&location).await.json(200);
        assert_eq!(read["id"], made["id"], "{collection}: {location} reads back what was made");
        if let Some(etag) = created.header("etag") {
            assert_eq!(app.get(&location).await.etag(), etag, "{collection}: the same version");
        }
    }
}

/// Follows `next_cursor` from the first page to the last, `limit` at a time.
async fn all_pages(app: &TestApp, collection: &str, limit: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut url = format!("{collection}?limit={limit}");
    loop {
        let page = app.get(&url).await.json(200);
        let these = list_items(&page);
        assert!(these.len() <= limit, "{url}: {} items", these.len());
        items.extend(these);
        match page["next_cursor"].as_str() {
            Some(cursor) => url = format!("{collection}?limit={limit}&cursor={cursor}"),
            None => break,
        }
    }
    items
}

async fn catalog_tokens_and_accounts_page_like_users(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    // Names given out of order, some differing only in case: the list is in name order.
    for name in ["desk-e", "Desk-B", "desk-a", "desk-d", "Desk-C", "desk-f", "desk-g"] {
        app.desk(name).await;
    }
    let desks = all_pages(&app, &app.acct("desks"), 3).await;
    let names: Vec<&str> = desks.iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["desk-a", "Desk-B", "Desk-C", "desk-d", "desk-e", "desk-f", "desk-g"]);

    let roles = all_pages(&app, &app.acct("roles"), 2).await;
    let everything = list_items(&app.get(&format!("{}?limit=500", app.acct("roles"))).await.json(200));
    assert_eq!(roles, everything, "paging two at a time gives the whole list, once each, in order");
    assert!(roles.len() >= 4, "the built-in roles are listed");

    for i in 0..5 {
        app.post(&app.acct("tokens"), json!({ "name": format!("t{i}"), "permissions": ["users.view"] }))
            .await
            .expect(201);
    }
    let tokens = all_pages(&app, &app.acct("tokens"), 2).await;
    let names: Vec<&str> = tokens.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["t4", "t3", "t2", "t1", "t0"], "tokens newest first");

    for slug in ["acme", "zeta", "beta"] {
        app.post("/api/v1/accounts", json!({ "slug": slug, "name": slug })).await.expect(201);
    }
    let accounts = all_pages(&app, "/api/v1/accounts", 1).await;
    let slugs: Vec<&str> = accounts.iter().map(|a| a["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, ["acme", "beta", "default", "zeta"]);

    // Bounds and cursors as on the users list: a cursor of another list is refused by name.
    app.get(&format!("{}?limit=0", app.acct("desks"))).await.problem_on(422, "limit");
    app.get(&format!("{}?limit=501", app.acct("tokens"))).await.problem_on(422, "limit");
    let desks_cursor = app.get(&format!("{}?limit=1", app.acct("desks"))).await.json(200)["next_cursor"].clone();
    let desks_cursor = desks_cursor.as_str().unwrap();
    for list in ["roles", "skills", "tokens", "users", "sessions", "activity", "outbox"] {
        let refused = app.get(&format!("{}?cursor={desks_cursor}", app.acct(list))).await;
        refused.problem_field(400, "cursor", "invalid_cursor");
    }
    app.get(&format!("/api/v1/accounts?cursor={desks_cursor}")).await.problem_field(400, "cursor", "invalid_cursor");
    app.get(&format!("{}?colour=blue", app.acct("desks"))).await.problem(400);
}

async fn a_wrong_method_is_a_problem_with_allow(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let cases = [
        (Method::PUT, app.acct("users")),
        (Method::POST, app.acct("users/1")),
        (Method::DELETE, app.acct("roles")),
        (Method::PATCH, "/api/v1/permissions".to_string()),
        (Method::POST, "/api/v1/openapi.json".to_string()),
        (Method::POST, "/health/ready".to_string()),
        (Method::DELETE, "/metrics".to_string()),
    ];
    for (method, path) in cases {
        let response = app.send(app.req(method.clone(), &path)).await;
        let problem = response.problem(405);
        assert_eq!(problem["status"], 405, "{method} {path}");
        let allow = response.header("allow").unwrap_or_else(|| panic!("{method} {path}: no Allow"));
        assert!(allow.contains("GET"), "{method} {path}: Allow {allow}");
        assert!(!allow.contains(method.as_str()), "{method} {path}: Allow {allow}");
    }
}

/// A request the resource's state refuses is a 409 that names the field, and changes nothing.
async fn state_conflicts_are_409_naming_the_field(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let token = app.api_token("pbx", &["users.view"]).await["token"].as_str().unwrap().to_string();
    app.send(app.req_as(&token, Method::POST, "/api/v1/auth/logout")).await.problem_field(
        409,
        "authorization",
        "api_token",
    );
    app.session(&token).await.expect(200);
    let admin = app.builtin_role("admin").await;
    let path = app.acct(&format!("roles/{admin}"));
    app.send(app.req(Method::DELETE, &path)).await.problem_field(409, "id", "builtin");
    let etag = app.get(&path).await.etag();
    let renamed =
        app.send(app.req(Method::PATCH, &path).header("If-Match", &etag).json(&json!({ "name": "Boss" }))).await;
    renamed.problem_field(409, "name", "builtin");
    assert_eq!(app.get(&path).await.json(200)["name"], "Admin");
}

/// The statuses the shared extractors return are in the document for every route they apply to,
/// errors are declared as problem+json, and each 201 declares `Location`.
async fn the_document_declares_what_the_routes_answer(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let doc = app.get("/api/v1/openapi.json").await.json(200);
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            if !["get", "put", "post", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            operations += 1;
            let responses = op["responses"].as_object().unwrap();
            let has = |status: &str| responses.contains_key(status);
            let what = format!("{method} {path}");
            if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                assert!(has("401") && has("403"), "{what}: 401 and 403");
            }
            if path.contains('{') {
                assert!(has("404"), "{what}: 404");
            }
            if !op["requestBody"].is_null() {
                for status in ["400", "413", "415", "422"] {
                    assert!(has(status), "{what}: {status}");
                }
            }
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            if params.iter().any(|p| p["name"] == "If-Match") {
                for status in ["412", "428"] {
                    assert!(has(status), "{what}: {status}");
                }
            }
            for (status, response) in responses {
                if status.as_str() >= "400" {
                    let content = response["content"].as_object().unwrap_or_else(|| panic!("{what} {status}"));
                    assert_eq!(content.keys().collect::<Vec<_>>(), ["application/problem+json"], "{what} {status}");
                }
                if status == "201" {
                    assert!(!response["headers"]["Location"].is_null(), "{what}: 201 declares Location");
                }
            }
        }
    }
    assert!(operations > 50, "{operations} operations");
}

/// The schemathesis release the contract run uses (`.ci/run` installs the same), installed into
/// the build's temporary folder from PyPI on first use unless `ROSTER_SCHEMATHESIS` names one.
const SCHEMATHESIS: &str = include_str!("../contract/requirements.txt");
/// How long the fuzzer runs against each engine.
const FUZZ_SECONDS: &str = "75";

fn schemathesis() -> PathBuf {
    static INSTALL: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut installed = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = installed.as_ref() {
        return path.clone();
    }
    let path = match std::env::var_os("ROSTER_SCHEMATHESIS") {
        Some(path) => PathBuf::from(path),
        None => {
            let release = SCHEMATHESIS.trim();
            let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(release.replace("==", "-"));
            let bin = venv.join("bin/schemathesis");
            if !bin.exists() {
                run(Command::new("python3").arg("-m").arg("venv").arg(&venv));
                run(Command::new(venv.join("bin/pip")).args(["install", "--quiet", release]));
            }
            bin
        }
    };
    *installed = Some(path.clone());
    path
}

#[track_caller]
fn run(command: &mut Command) {
    let status = command.status().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(status.success(), "{command:?}: {status}");
}

/// The published document, fuzzed against a live server (tests/contract/): no 5xx, no status or
/// content type the document does not declare, responses as their schemas say, no schema-valid
/// request refused, and what was created can be read back.
async fn the_server_keeps_the_published_contract_under_fuzzing(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let every_permission: Vec<String> = app
        .get("/api/v1/permissions")
        .await
        .json(200)
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    let mut tokens = vec![app.token.clone()];
    for i in 0..10 {
        let made = app
            .post(&app.acct("tokens"), json!({ "name": format!("contract {i}"), "permissions": every_permission }))
            .await;
        tokens.push(made.json(201)["token"].as_str().unwrap().to_string());
    }
    let program = schemathesis();
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/contract");
    let url = app.url("/api/v1/openapi.json");
    let scratch = tempfile::tempdir().unwrap();
    let used_file = scratch.path().join("credentials-used");
    let used_path = used_file.clone();
    let credentials = tokens.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(program)
            .current_dir(&folder)
            .env("PYTHONPATH", &folder)
            .env("SCHEMATHESIS_HOOKS", "hooks")
            .env("ROSTER_CONTRACT_TOKENS", credentials.join(","))
            .env("ROSTER_CONTRACT_USED", &used_path)
            .args(["--config-file", "schemathesis.toml", "run", &url, "--max-time", FUZZ_SECONDS, "--no-color"])
            .output()
            .expect("running schemathesis")
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the contract run failed ({engine:?}):\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("passed"), "the run tested something: {report}");
    // The run acted as someone to the end: had the fuzzer ended every credential, the later
    // requests would all have been 401s, which every check accepts.
    let used: usize = std::fs::read_to_string(&used_file).map_or(0, |n| n.trim().parse().unwrap());
    assert!(used < tokens.len(), "the run used up its {} credentials", tokens.len());
    app.session(&tokens[used]).await.expect(200);
}
