//! The user list is answered from memory (`store::user_index`), brought up to date from the
//! `user_changes` rows that triggers write with every change. These tests change users behind
//! the API's back, from another instance, and in a transaction that commits late, and expect
//! the very next page to show it. They filter by login prefix on the client: a text search
//! (`q`) reads the database, not the memory under test.

use serde_json::{Value, json};

use crate::helpers::{Engine, TestApp, names};

both_engines!(
    changes_made_outside_the_api_show_in_the_next_page,
    another_instance_shows_a_change_at_once,
    a_transaction_that_commits_late_is_not_missed,
    changes_pruned_before_they_were_read_are_not_missed,
    scoped_and_filtered_pages_agree_with_a_walk_of_everyone,
);

/// The logins starting with `prefix` on every page of `GET …/users?{query}` (pages of 3, so that
/// cursors are crossed too).
async fn logins_of(app: &TestApp, prefix: &str, query: &str) -> Vec<String> {
    app.logins(&format!("{query}&limit=3")).await.into_iter().filter(|l| l.starts_with(prefix)).collect()
}

/// The user `login` as the list shows them (from pages without a text search).
async fn listed(app: &TestApp, login: &str) -> Value {
    app.list_all("limit=500")
        .await
        .into_iter()
        .find(|u| u["login"] == login)
        .unwrap_or_else(|| panic!("{login} is not listed"))
}

async fn changes_made_outside_the_api_show_in_the_next_page(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let north = app.desk("North").await;
    let agent = app.builtin_role("agent").await;
    app.new_user(json!({ "login": "m-amy", "desks": [north], "roles": [agent] })).await;
    let ben = app.new_user(json!({ "login": "m-ben" })).await;
    let ben = ben["id"].as_i64().unwrap();
    assert_eq!(logins_of(&app, "m-", "").await, ["m-amy", "m-ben"]);

    // Status, straight in the database.
    app.sql("UPDATE users SET status = 'disabled' WHERE login = 'm-amy'").await;
    assert_eq!(logins_of(&app, "m-", "status=disabled").await, ["m-amy"]);
    assert_eq!(logins_of(&app, "m-", "status=active").await, ["m-ben"]);

    // Links, added and removed.
    app.sql(&format!("INSERT INTO user_desks (user_id, desk_id) VALUES ({ben}, {north})")).await;
    assert_eq!(logins_of(&app, "m-", &format!("desk={north}")).await, ["m-amy", "m-ben"]);
    app.sql(&format!("DELETE FROM user_desks WHERE user_id = {ben}")).await;
    assert_eq!(logins_of(&app, "m-", &format!("desk={north}")).await, ["m-amy"]);

    // A role's new name shows on everyone who has it.
    assert_eq!(names(&listed(&app, "m-amy").await, "roles"), ["Agent"]);
    app.sql(&format!("UPDATE roles SET name = 'Phone agent' WHERE id = {agent}")).await;
    assert_eq!(names(&listed(&app, "m-amy").await, "roles"), ["Phone agent"]);

    // The account's settings: a password's expiry date follows them.
    assert!(listed(&app, "m-amy").await["password_expires_at"].is_null());
    app.set_security(|s| s["password_policy"]["expiry_months"] = json!(3)).await;
    assert!(listed(&app, "m-amy").await["password_expires_at"].is_string());

    // A lock shows while it lasts, and not after.
    let soon = crate::helpers::now_ms() + 60_000;
    app.sql(&format!("UPDATE users SET locked_until = {soon} WHERE id = {ben}")).await;
    assert_eq!(logins_of(&app, "m-", "locked=true").await, ["m-ben"]);
    assert!(listed(&app, "m-ben").await["locked_until"].is_string());
    app.sql(&format!("UPDATE users SET locked_until = {} WHERE id = {ben}", soon - 120_000)).await;
    assert!(logins_of(&app, "m-", "locked=true").await.is_empty());
    assert!(listed(&app, "m-ben").await["locked_until"].is_null());

    // A rename moves the user in login order; a delete removes them.
    app.sql(&format!(
        "UPDATE users SET login = 'm-aaron', login_key = 'm-aaron', search_text = 'm-aaron' WHERE id = {ben}"
    ))
    .await;
    assert_eq!(logins_of(&app, "m-", "").await, ["m-aaron", "m-amy"]);
    app.sql(&format!("DELETE FROM users WHERE id = {ben}")).await;
    assert_eq!(logins_of(&app, "m-", "").await, ["m-amy"]);
    app.get_user(ben).await.expect(404);
}

async fn another_instance_shows_a_change_at_once(engine: Engine) {
    let a = TestApp::spawn(engine).await;
    let b = a.second_instance().await;
    let on_b = |query: &str| {
        let url = format!("{}{}?{query}", b.base, a.acct("users"));
        let http = a.http.clone();
        let token = a.token.clone();
        async move {
            let r = http.get(url).bearer_auth(token).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    let logins = |page: Value| -> Vec<String> {
        let items = page["items"].as_array().unwrap().iter();
        items.map(|u| u["login"].as_str().unwrap().to_string()).filter(|l| l.starts_with("i-")).collect()
    };
    assert!(logins(on_b("limit=500").await).is_empty(), "B has read the account");

    // No waiting: each page asks the database what changed first.
    let desk = a.desk("East").await;
    let cid = a.new_user(json!({ "login": "i-cid" })).await["id"].as_i64().unwrap();
    assert_eq!(logins(on_b("limit=500").await), ["i-cid"]);
    a.update_user(cid, json!({ "desks": [desk] })).await;
    assert_eq!(logins(on_b(&format!("desk={desk}")).await), ["i-cid"]);
    a.patch_named("desks", desk, json!({ "name": "East wing" })).await;
    let page = on_b(&format!("desk={desk}")).await;
    assert_eq!(names(&page["items"][0], "desks"), ["East wing"]);
    a.delete_user(cid).await.expect(204);
    assert!(logins(on_b("limit=500").await).is_empty());
}

async fn a_transaction_that_commits_late_is_not_missed(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let early = app.new_user(json!({ "login": "t-early" })).await["id"].as_i64().unwrap();
    let later = app.new_user(json!({ "login": "t-later" })).await["id"].as_i64().unwrap();
    assert_eq!(logins_of(&app, "t-", "status=disabled").await, Vec::<String>::new());

    // A transaction begins and changes a user, but does not commit yet.
    let mut open = app.open_transaction().await;
    open.execute(&format!("UPDATE users SET status = 'disabled' WHERE id = {early}")).await;
    if engine == Engine::Postgres {
        // Another change commits after it began (on SQLite the open one holds the only write lock).
        app.sql(&format!("UPDATE users SET status = 'disabled' WHERE id = {later}")).await;
        assert_eq!(logins_of(&app, "t-", "status=disabled").await, ["t-later"]);
    } else {
        assert!(logins_of(&app, "t-", "status=disabled").await.is_empty());
    }
    // It commits after a page was read: the next page has it.
    open.commit().await;
    let want: Vec<&str> = match engine {
        Engine::Postgres => vec!["t-early", "t-later"],
        Engine::Sqlite => vec!["t-early"],
    };
    assert_eq!(logins_of(&app, "t-", "status=disabled").await, want);
}

async fn changes_pruned_before_they_were_read_are_not_missed(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.new_user(json!({ "login": "p-pat" })).await;
    assert!(logins_of(&app, "p-", "status=disabled").await.is_empty());
    // A change, and its row pruned (with the mark pruning leaves) before any page read it.
    app.sql("UPDATE users SET status = 'disabled' WHERE login = 'p-pat'").await;
    app.sql("DELETE FROM user_changes").await;
    app.sql("UPDATE user_changes_pruned SET below = 9000000000000000000 WHERE id = 1").await;
    assert_eq!(logins_of(&app, "p-", "status=disabled").await, ["p-pat"]);
}

/// Filters and a desk lead's scope answered from memory, against the same question asked of
/// each user as they were created (paged by 7, so that cursors cross the gathered and walked
/// forms alike).
async fn scoped_and_filtered_pages_agree_with_a_walk_of_everyone(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let desks = [app.desk("D1").await, app.desk("D2").await, app.desk("D3").await];
    let agent = app.builtin_role("agent").await;
    let supervisor = app.builtin_role("supervisor").await;
    let mut everyone = Vec::new();
    for i in 0..40 {
        let mut body = json!({ "login": format!("w-{i:02}"), "roles": [if i % 3 == 0 { supervisor } else { agent }],
            "desks": [desks[i % 3]] });
        if i % 4 == 0 {
            body["status"] = json!("disabled");
        }
        if i % 5 == 0 {
            body["desks"] = json!([desks[i % 3], desks[(i + 1) % 3]]);
        }
        everyone.push(app.new_user(body).await);
    }
    let expect = |pred: &dyn Fn(&Value) -> bool| -> Vec<String> {
        everyone.iter().filter(|u| pred(u)).map(|u| u["login"].as_str().unwrap().to_string()).collect()
    };
    let has = |u: &Value, field: &str, id: i64| u[field].as_array().unwrap().iter().any(|r| r["id"] == id);

    let all_pages = async |query: &str| -> Vec<String> {
        let items = app.list_all(&format!("{query}&limit=7")).await;
        items.iter().map(|u| u["login"].as_str().unwrap().to_string()).filter(|l| l.starts_with("w-")).collect()
    };
    assert_eq!(all_pages("status=active,disabled").await, expect(&|_| true));
    assert_eq!(
        all_pages(&format!("desk={}&status=active", desks[0])).await,
        expect(&|u| has(u, "desks", desks[0]) && u["status"] == "active")
    );
    assert_eq!(
        all_pages(&format!("desk={},{}&role={supervisor}", desks[1], desks[2])).await,
        expect(&|u| (has(u, "desks", desks[1]) || has(u, "desks", desks[2])) && has(u, "roles", supervisor))
    );

    // A desk lead (scope: desks) sees themself and who shares a desk with them.
    let lead = &everyone[3]; // w-03: supervisor, desk D1
    let lead_id = lead["id"].as_i64().unwrap();
    app.set_password(lead_id, json!({ "password": crate::helpers::STRONG })).await.expect(200);
    app.update_user(lead_id, json!({ "status": "active" })).await;
    let token = app.sign_in("w-03", crate::helpers::STRONG).await;
    let seen: Vec<String> = app
        .list_all_as(&token, "limit=5")
        .await
        .iter()
        .map(|u| u["login"].as_str().unwrap().to_string())
        .filter(|l| l.starts_with("w-"))
        .collect();
    let lead_desks: Vec<i64> = lead["desks"].as_array().unwrap().iter().map(|d| d["id"].as_i64().unwrap()).collect();
    assert_eq!(seen, expect(&|u| u["id"] == lead_id || lead_desks.iter().any(|d| has(u, "desks", *d))));
}
