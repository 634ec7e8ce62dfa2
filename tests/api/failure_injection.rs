//! A failure injected in the middle of a large write: a database trigger raises an error on
//! the 500th of 600 rows. A mass action (a status change, a role assignment) and an import are
//! all or nothing (R37, `users import`): the request fails, no user is changed or created, and
//! no activity event of the attempt is left. Without the trigger the same write succeeds, so
//! the trigger was the only thing in the way.

use std::path::Path;

use serde_json::{Value, json};

use crate::helpers::{Engine, TestApp, id_of};

both_engines!(
    a_status_change_that_fails_midway_changes_nobody,
    a_role_assignment_that_fails_midway_gives_nobody_the_role,
    an_import_that_fails_on_a_user_creates_nobody,
    an_import_that_fails_on_an_event_creates_nobody,
);

const USERS: usize = 600;
/// The row the trigger refuses: the 500th.
const FAILING: usize = 500;

fn login(prefix: &str, n: usize) -> String {
    format!("{prefix}{n:04}")
}

/// A trigger that raises an error for the rows of `event` on `table` matching `condition`
/// (an SQL condition on `NEW`), written for the app's engine.
async fn inject_failure(app: &TestApp, name: &str, event: &str, table: &str, condition: &str) {
    match app.engine {
        Engine::Sqlite => {
            app.sql(&format!(
                "CREATE TRIGGER {name} BEFORE {event} ON {table} FOR EACH ROW WHEN {condition} \
                 BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
            ))
            .await;
        }
        Engine::Postgres => {
            app.sql(
                "CREATE OR REPLACE FUNCTION injected_failure() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$",
            )
            .await;
            app.sql(&format!(
                "CREATE TRIGGER {name} BEFORE {event} ON {table} FOR EACH ROW WHEN ({condition}) EXECUTE FUNCTION injected_failure()"
            ))
            .await;
        }
    }
}

async fn remove_failure(app: &TestApp, name: &str, table: &str) {
    match app.engine {
        Engine::Sqlite => app.sql(&format!("DROP TRIGGER {name}")).await,
        Engine::Postgres => app.sql(&format!("DROP TRIGGER {name} ON {table}")).await,
    }
}

/// A number straight from the database.
async fn count(app: &TestApp, query: &str) -> i64 {
    let select = query.replacen("SELECT ", "SELECT CAST((", 1);
    let select = match select.find(" FROM ") {
        Some(at) => format!("{}) AS TEXT){}", &select[..at], &select[at..]),
        None => panic!("not a SELECT … FROM: {query}"),
    };
    app.sql_text(&select).await.parse().unwrap_or_else(|e| panic!("{query}: {e}"))
}

/// What the database holds that a failed write must leave as it was: every user's row (status,
/// version, time of change), their links, and the activity log.
async fn state(app: &TestApp) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for (what, query) in [
        ("users", "SELECT COUNT(*) FROM users"),
        ("active users", "SELECT COUNT(*) FROM users WHERE status = 'active'"),
        ("sum of user versions", "SELECT SUM(version) FROM users"),
        ("latest change of a user", "SELECT MAX(updated_at) FROM users"),
        ("role assignments", "SELECT COUNT(*) FROM user_roles"),
        ("desk assignments", "SELECT COUNT(*) FROM user_desks"),
        ("activity events", "SELECT COUNT(*) FROM activity"),
        ("last activity event", "SELECT MAX(id) FROM activity"),
    ] {
        out.push((what, count(app, query).await));
    }
    out
}

/// Every user as the API shows them, by login.
async fn users(app: &TestApp) -> Vec<Value> {
    let mut all = app.list_all("limit=500").await;
    all.sort_by_key(|u| u["login"].as_str().unwrap().to_string());
    all
}

fn csv(prefix: &str, desk: &str) -> String {
    let mut text = String::from("login,email,desks\n");
    for n in 1..=USERS {
        let l = login(prefix, n);
        text.push_str(&format!("{l},{l}@example.com,{desk}\n"));
    }
    text
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("writing the test file");
    path.to_str().expect("utf-8 path").to_string()
}

/// 600 users (u0001…u0600) made by one import; returns their ids in login order.
async fn six_hundred_users(app: &TestApp) -> Vec<i64> {
    app.desk("Sales").await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "users.csv", &csv("u", "Sales"));
    let run = app.roster_ok(&["users", "import", &file]).await;
    assert!(run.stdout.contains(&format!("Imported {USERS} users")), "{}", run.stdout);
    let ids: Vec<i64> =
        users(app).await.iter().filter(|u| u["login"].as_str().unwrap().starts_with('u')).map(id_of).collect();
    assert_eq!(ids.len(), USERS);
    ids
}

/// Asserts that a mass action answered the problem of a failed write, changed nothing and
/// recorded nothing.
async fn refused_and_nothing_changed(
    app: &TestApp,
    r: &crate::helpers::Resp,
    users_before: &[Value],
    state_before: &[(&str, i64)],
    summary: &str,
) {
    let problem = r.problem(500);
    assert!(problem["type"].as_str().unwrap().ends_with("/internal"), "{problem}");
    assert!(!r.text().contains("injected"), "the database's message stays in the log: {}", r.text());
    assert_eq!(state(app).await, state_before, "the failed mass action left something in the database");
    assert_eq!(users(app).await, users_before, "the failed mass action changed a user");
    assert!(app.activity(&format!("action={summary}")).await.is_empty(), "no summary of the failed action");
    assert!(app.activity("action=user.updated&limit=500").await.is_empty(), "no per-user event of the failed action");
}

async fn a_status_change_that_fails_midway_changes_nobody(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ids = six_hundred_users(&app).await;
    inject_failure(
        &app,
        "fail_on_500",
        "UPDATE",
        "users",
        &format!("NEW.login = '{}' AND NEW.status = 'disabled'", login("u", FAILING)),
    )
    .await;
    let (users_before, state_before) = (users(&app).await, state(&app).await);

    let body = json!({ "action": "deactivate", "target": { "ids": ids } });
    let r = app.bulk(body.clone()).await;
    refused_and_nothing_changed(&app, &r, &users_before, &state_before, "users.bulk_deactivate").await;
    assert!(users_before.iter().all(|u| u["status"] == "active"));

    // Without the trigger the same request deactivates all 600, with an event each.
    remove_failure(&app, "fail_on_500", "users").await;
    let done = app.bulk(body).await.json(200);
    assert_eq!(
        (done["matched"].as_i64(), done["changed"].as_i64()),
        (Some(USERS as i64), Some(USERS as i64)),
        "{done}"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM users WHERE status = 'disabled'").await, USERS as i64);
    assert_eq!(app.activity("action=user.updated&limit=500").await.len(), 500, "a full page of per-user events");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM activity WHERE action = 'user.updated'").await, USERS as i64);
    assert_eq!(app.activity("action=users.bulk_deactivate").await.len(), 1);
}

async fn a_role_assignment_that_fails_midway_gives_nobody_the_role(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ids = six_hundred_users(&app).await;
    let agent = app.builtin_role("agent").await;
    let failing = ids[FAILING - 1];
    inject_failure(&app, "fail_on_500", "INSERT", "user_roles", &format!("NEW.user_id = {failing}")).await;
    let (users_before, state_before) = (users(&app).await, state(&app).await);

    let body = json!({ "action": "assign_roles", "target": { "ids": ids }, "values": [agent] });
    let r = app.bulk(body.clone()).await;
    refused_and_nothing_changed(&app, &r, &users_before, &state_before, "users.bulk_assign_roles").await;
    assert!(app.logins(&format!("role={agent}&limit=500")).await.is_empty(), "nobody holds the role");

    remove_failure(&app, "fail_on_500", "user_roles").await;
    let done = app.bulk(body).await.json(200);
    assert_eq!(done["changed"], USERS as i64, "{done}");
    assert_eq!(app.logins(&format!("role={agent}&limit=500")).await.len(), USERS, "every user holds the role");
    assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM user_roles WHERE role_id = {agent}")).await, USERS as i64);
}

/// Runs an import of 600 users (v0001…v0600) that the trigger makes fail; asserts that it
/// failed with the database's error and left nothing; then imports the same file without it.
async fn failed_import_leaves_nothing(app: &TestApp, trigger: &str, table: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "new-users.csv", &csv("v", "Sales"));
    let (users_before, state_before) = (users(app).await, state(app).await);

    let run = app.roster(&["users", "import", &file]).await;
    assert!(!run.ok, "the import must fail:\n{}", run.stdout);
    assert!(run.stderr.contains("something went wrong on our side"), "the failure is reported:\n{}", run.stderr);
    assert!(run.stderr.contains("injected failure"), "with the database's reason:\n{}", run.stderr);
    assert!(!run.stdout.contains("Imported"), "{}", run.stdout);
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM users WHERE login LIKE 'v%'").await,
        0,
        "no user of the file was created"
    );
    assert_eq!(state(app).await, state_before, "the failed import left something in the database");
    assert_eq!(users(app).await, users_before);
    assert!(app.activity("action=users.imported").await.is_empty(), "no summary of the failed import");
    let created = app.activity("action=user.created&limit=500").await;
    assert!(
        created.iter().all(|e| !e["target_label"].as_str().unwrap().starts_with('v')),
        "no event of the failed import"
    );

    remove_failure(app, trigger, table).await;
    let run = app.roster_ok(&["users", "import", &file]).await;
    assert!(run.stdout.contains(&format!("Imported {USERS} users")), "{}", run.stdout);
    assert_eq!(count(app, "SELECT COUNT(*) FROM users WHERE login LIKE 'v%'").await, USERS as i64);
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM activity WHERE action = 'user.created' AND target_label LIKE 'v%'").await,
        USERS as i64
    );
}

/// The 500th user's row is refused as it is inserted.
async fn an_import_that_fails_on_a_user_creates_nobody(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.desk("Sales").await;
    inject_failure(&app, "fail_on_500", "INSERT", "users", &format!("NEW.login = '{}'", login("v", FAILING))).await;
    failed_import_leaves_nothing(&app, "fail_on_500", "users").await;
}

/// Later in the write: every user, their desks and 499 events are written when the 500th
/// user's event is refused.
async fn an_import_that_fails_on_an_event_creates_nobody(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.desk("Sales").await;
    let condition = format!("NEW.action = 'user.created' AND NEW.target_label = '{}'", login("v", FAILING));
    inject_failure(&app, "fail_on_500", "INSERT", "activity", &condition).await;
    failed_import_leaves_nothing(&app, "fail_on_500", "activity").await;
}
