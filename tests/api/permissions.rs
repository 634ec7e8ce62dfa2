//! Who may do what (R14): roles decide, one account never reaches another's data, and the
//! platform operator manages accounts.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Engine, TestApp, id_of};

both_engines!(
    an_agent_cannot_see_users,
    a_supervisor_can_look_but_not_change,
    rights_come_from_groups_and_direct_permissions,
    another_accounts_users_are_not_found,
    only_platform_operators_manage_accounts,
);

async fn an_agent_cannot_see_users(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (agent_id, agent) = app.user_with_role("agent-al", "agent").await;
    let users = app.acct("users");
    app.get_as(&agent, &users).await.problem(403);
    app.get_as(&agent, &app.user_path(app.admin_id)).await.problem(403);
    app.get_as(&agent, &app.user_path(agent_id)).await.problem(403);
    app.post_as(&agent, &users, json!({ "login": "by-agent" })).await.problem(403);
    app.post_as(&agent, &app.acct("users/bulk"), json!({ "action": "activate", "target": "all" })).await.problem(403);
    app.get_as(&agent, &app.acct("activity")).await.problem(403);
    app.post_as(&agent, &app.acct("desks"), json!({ "name": "Mine" })).await.problem(403);
    // The agent still knows who they are.
    app.session(&agent).await.expect(200);
    assert!(!app.logins("limit=500").await.contains(&"by-agent".to_string()));
}

async fn a_supervisor_can_look_but_not_change(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let target = id_of(&app.new_user(json!({ "login": "watched" })).await);
    let (sup_id, sup) = app.user_with_role("sup-sue", "supervisor").await;
    // The built-in Supervisor reaches the users of their desks (D8).
    app.same_desk(&[target, sup_id]).await;

    let list = app.get_as(&sup, &app.acct("users")).await.json(200);
    assert!(list["items"].as_array().unwrap().iter().any(|u| u["login"] == "watched"));
    let read = app.get_as(&sup, &app.user_path(target)).await;
    let etag = read.etag();
    read.expect(200);
    app.get_as(&sup, &app.acct("activity")).await.expect(200);
    app.get_as(&sup, &app.acct("roles")).await.expect(200);

    app.post_as(&sup, &app.acct("users"), json!({ "login": "by-sup" })).await.problem(403);
    let patch = app.req_as(&sup, Method::PATCH, &app.user_path(target)).header("if-match", &etag);
    app.send(patch.json(&json!({ "first_name": "Nope" }))).await.problem(403);
    app.send(app.req_as(&sup, Method::DELETE, &app.user_path(target))).await.problem(403);
    let pw = app.req_as(&sup, Method::PUT, &app.acct(&format!("users/{target}/password")));
    app.send(pw.json(&json!({ "password": "sup-set-this-1" }))).await.problem(403);
    let bulk = json!({ "action": "deactivate", "target": { "ids": [target] } });
    app.post_as(&sup, &app.acct("users/bulk"), bulk).await.problem(403);
    app.post_as(&sup, &app.acct("roles"), json!({ "name": "Mine", "permissions": ["users.edit"] })).await.problem(403);

    let after = app.get_user(target).await;
    assert_eq!(after.etag(), etag, "nothing the supervisor tried changed the user");
    assert!(!app.logins("limit=500").await.contains(&"by-sup".to_string()));
}

async fn rights_come_from_groups_and_direct_permissions(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    // A custom role given through a group (R13).
    let viewer = app
        .create_named("roles", json!({ "name": "Viewer", "description": "Sees users", "permissions": ["users.view"] }))
        .await;
    let group = app.create_named("groups", json!({ "name": "Viewers", "roles": [viewer] })).await;
    app.user_with_password("via-group", "puorg-aivq-pass-1", json!({ "groups": [group] })).await;
    let token = app.sign_in("via-group", "puorg-aivq-pass-1").await;
    app.get_as(&token, &app.acct("users")).await.expect(200);
    app.post_as(&token, &app.acct("users"), json!({ "login": "nope" })).await.problem(403);

    // A direct permission.
    let direct = app
        .user_with_password("direct", "tceridq-pass-12", json!({ "permissions": ["users.view", "users.create"] }))
        .await;
    let token = app.sign_in("direct", "tceridq-pass-12").await;
    app.post_as(&token, &app.acct("users"), json!({ "login": "made-by-direct" })).await.expect(201);
    let s = app.session(&token).await.json(200);
    assert!(s["permissions"].as_array().unwrap().iter().any(|p| p == "users.create"), "{s}");

    // Taking the permission away takes effect on the next request.
    app.update_user(direct, json!({ "permissions": ["users.view"] })).await;
    app.post_as(&token, &app.acct("users"), json!({ "login": "made-again" })).await.problem(403);
    // A platform permission cannot be granted inside an account.
    app.create_user(json!({ "login": "op", "permissions": ["accounts.manage"] })).await.problem_on(422, "permissions");
    app.create_user(json!({ "login": "op", "permissions": ["users.fly"] })).await.problem_on(422, "permissions");
}

async fn another_accounts_users_are_not_found(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let local = id_of(&app.new_user(json!({ "login": "local-lou", "first_name": "Lou" })).await);
    app.post("/api/v1/accounts", json!({ "slug": "acme", "name": "Acme Inc." })).await.json(201);
    let acme_admin_role = app.builtin_role_in(&app.token, "acme", "admin").await;
    let body = json!({ "login": "acme-admin", "password": "emcaq-password-1", "roles": [acme_admin_role] });
    let acme_admin = id_of(&app.post("/api/v1/accounts/acme/users", body).await.json(201));
    let acme = app.sign_in_to_with_second_factor("acme", "acme-admin", "emcaq-password-1").await;

    // Acme's admin cannot enter the default account, nor see its users through Acme.
    app.get_as(&acme, &app.acct("users")).await.problem(404);
    app.get_as(&acme, &app.user_path(local)).await.problem(404);
    app.get_as(&acme, &format!("/api/v1/accounts/acme/users/{local}")).await.problem(404);
    let etag = app.get_user(local).await.etag();
    let patch =
        app.req_as(&acme, Method::PATCH, &format!("/api/v1/accounts/acme/users/{local}")).header("if-match", &etag);
    app.send(patch.json(&json!({ "first_name": "Hijacked" }))).await.problem(404);
    app.send(app.req_as(&acme, Method::DELETE, &format!("/api/v1/accounts/acme/users/{local}"))).await.problem(404);
    let pw = app.req_as(&acme, Method::PUT, &format!("/api/v1/accounts/acme/users/{local}/password"));
    app.send(pw.json(&json!({ "password": "dekcajihq-pass-1" }))).await.problem(404);
    let bulk = json!({ "action": "deactivate", "target": { "ids": [local] } });
    let r = app.post_as(&acme, "/api/v1/accounts/acme/users/bulk", bulk).await;
    r.problem_field(422, "target.ids", "unknown_id");
    // Nor assign the default account's desks to its own users.
    let desk = app.desk("Default desk").await;
    let r = app.post_as(&acme, "/api/v1/accounts/acme/users", json!({ "login": "x", "desks": [desk] })).await;
    r.problem_field(422, "desks", "unknown_id");
    // Acme's list holds only Acme's users.
    assert_eq!(app.get_as(&acme, "/api/v1/accounts/acme/users").await.json(200)["items"].as_array().unwrap().len(), 1);
    let after = app.get_user(local).await.json(200);
    assert_eq!((after["first_name"].clone(), after["status"].clone()), (json!("Lou"), json!("active")));
    // Logins belong to their account: Acme's admin cannot sign in to the default account.
    app.login_in("default", "acme-admin", "emcaq-password-1").await.problem(401);
    app.get(&format!("/api/v1/accounts/acme/users/{acme_admin}")).await.expect(200);
}

async fn only_platform_operators_manage_accounts(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let created = app.post("/api/v1/accounts", json!({ "slug": "globex", "name": "Globex", "seat_limit": 3 })).await;
    let account = created.json(201);
    assert_eq!(account["slug"], "globex");
    assert_eq!(account["seat_limit"], 3);
    let listed = app.get("/api/v1/accounts").await.json(200);
    let slugs: Vec<String> =
        crate::helpers::list_items(&listed).iter().map(|a| a["slug"].as_str().unwrap().to_string()).collect();
    assert!(slugs.contains(&"globex".into()) && slugs.contains(&"default".into()), "{listed}");
    app.post("/api/v1/accounts", json!({ "slug": "globex", "name": "Again" })).await.problem_on(409, "slug");
    app.post("/api/v1/accounts", json!({ "slug": "Not A Slug!", "name": "Bad" })).await.problem_on(422, "slug");

    // The operator reaches the new account's users, roles and activity.
    let made = app.post("/api/v1/accounts/globex/users", json!({ "login": "g-1" })).await.json(201);
    let users = app.get("/api/v1/accounts/globex/users").await.json(200);
    assert_eq!(users["items"][0]["login"], "g-1");
    app.get(&format!("/api/v1/accounts/globex/users/{}", id_of(&made))).await.expect(200);
    // A Globex user id is not a default-account user.
    app.get_user(id_of(&made)).await.problem(404);
    let roles = app.get("/api/v1/accounts/globex/roles").await.json(200);
    let mut builtins: Vec<String> =
        crate::helpers::list_items(&roles).iter().filter_map(|r| r["name"].as_str().map(str::to_string)).collect();
    builtins.sort();
    assert_eq!(builtins, vec!["Admin", "Agent", "Financial", "Supervisor"]);
    assert!(!app.get("/api/v1/accounts/globex/activity").await.json(200)["items"].as_array().unwrap().is_empty());
    app.get("/api/v1/accounts/nowhere/users").await.problem(404);

    // An account admin who is not a platform operator may not.
    let (_, admin) = app.admin_with_second_factor("plain-admin").await;
    app.get_as(&admin, "/api/v1/accounts").await.problem(403);
    app.post_as(&admin, "/api/v1/accounts", json!({ "slug": "mine", "name": "Mine" })).await.problem(403);
    app.get_as(&admin, "/api/v1/accounts/globex/users").await.problem(404);
    app.post_as(&admin, &app.acct("users"), json!({ "login": "op2", "is_superuser": true })).await.problem(403);
    // Nor change a platform operator.
    let etag = app.get_user(app.admin_id).await.etag();
    let patch = app.req_as(&admin, Method::PATCH, &app.user_path(app.admin_id)).header("if-match", &etag);
    app.send(patch.json(&json!({ "is_superuser": false }))).await.problem(403);
    app.session(&app.token).await.json(200)["platform_operator"].as_bool().filter(|b| *b).expect("still an operator");
}
