//! Delegated administration (DESIGN D1–D4, D7, D8): the attacks a holder of a small role tried
//! against earlier builds, each refused now with nothing changed, and scopes that bound what
//! supervisors, company supervisors and end users see.

use reqwest::Method;
use roster::config::Config;
use serde_json::{Value, json};

use crate::helpers::{Engine, Resp, TestApp, id_of, list_items, sorted};

both_engines!(
    a_small_role_cannot_make_itself_or_others_admin,
    roles_manage_cannot_grow_a_role_beyond_its_holder,
    users_edit_cannot_take_over_an_admins_address_or_factor,
    users_edit_cannot_exempt_anyone_from_the_account_rules,
    nobody_but_an_operator_bulk_changes_a_platform_operator,
    an_admin_sets_their_own_password_only_with_the_current_one,
    the_last_admin_of_an_account_stays,
    bulk_actions_leave_out_and_count_users_out_of_reach,
    a_desk_supervisor_sees_only_their_desks,
    company_supervisors_and_end_users_see_only_their_scope,
    a_role_reaches_no_wider_than_its_maker,
    an_admins_old_address_hears_of_changes_and_old_links_end,
    a_second_admin_changes_neither_own_status_nor_groups_and_lesser_actors_reach_no_admin,
);

const PW: &str = "correct-horse-9";

/// `PATCH` a user as `token`, with the user's current ETag.
pub(crate) async fn patch_as(app: &TestApp, token: &str, id: i64, body: Value) -> Resp {
    let etag = app.get_user(id).await.expect(200).etag();
    let request = app.req_as(token, Method::PATCH, &app.user_path(id)).header("if-match", etag);
    app.send(request.json(&body)).await
}

async fn permissions_of(app: &TestApp, token: &str) -> Vec<String> {
    let session = app.session(token).await.json(200);
    sorted(session["permissions"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect())
}

fn role_ids(user: &Value) -> Vec<i64> {
    user["roles"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect()
}

async fn a_small_role_cannot_make_itself_or_others_admin(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin_role = app.builtin_role("admin").await;
    let (me, _, token) = app.user_with_permissions("small", &["users.view", "users.edit"]).await;
    let peer = app.user_with_password("peer", PW, json!({})).await;
    let before = app.get_user(me).await.etag();

    // Oneself: roles, direct permissions and bulk role changes are refused (D3).
    patch_as(&app, &token, me, json!({ "roles": [admin_role] })).await.problem_field(422, "roles", "self");
    patch_as(&app, &token, me, json!({ "permissions": ["tokens.manage", "settings.manage"] })).await.problem_field(
        422,
        "permissions",
        "self",
    );
    let bulk = json!({ "action": "assign_roles", "target": { "ids": [me] }, "values": [admin_role] });
    app.post_as(&token, &app.acct("users/bulk"), bulk).await.problem_field(422, "target.ids", "self");
    assert_eq!(app.get_user(me).await.etag(), before, "nothing changed");
    assert_eq!(permissions_of(&app, &token).await, vec!["users.edit", "users.view"]);

    // Others: no role or permission the holder lacks (D1).
    patch_as(&app, &token, peer, json!({ "roles": [admin_role] })).await.problem(403);
    patch_as(&app, &token, peer, json!({ "permissions": ["tokens.manage"] })).await.problem(403);
    let bulk = json!({ "action": "assign_roles", "target": { "ids": [peer] }, "values": [admin_role] });
    app.post_as(&token, &app.acct("users/bulk"), bulk).await.problem(403);
    let all = json!({ "action": "assign_roles", "target": "all", "values": [admin_role] });
    app.post_as(&token, &app.acct("users/bulk"), all).await.problem(403);
    let group = app.create_named("groups", json!({ "name": "Admins", "roles": [admin_role] })).await;
    patch_as(&app, &token, peer, json!({ "groups": [group] })).await.problem(403);
    let created = app.post_as(&token, &app.acct("users"), json!({ "login": "sneaky", "roles": [admin_role] })).await;
    created.problem(403);
    assert!(role_ids(&app.get_user(peer).await.json(200)).is_empty());
    assert!(app.get_user(peer).await.json(200)["permissions"].as_array().unwrap().is_empty());
    // What the holder has, they may give.
    patch_as(&app, &token, peer, json!({ "permissions": ["users.view"] })).await.expect(200);
}

async fn roles_manage_cannot_grow_a_role_beyond_its_holder(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (_, role, token) = app.user_with_permissions("role-maker", &["roles.view", "roles.manage"]).await;
    let path = app.acct(&format!("roles/{role}"));
    let etag = app.get(&path).await.expect(200).etag();
    let every: Vec<&str> =
        vec!["users.view", "users.edit", "users.delete", "tokens.manage", "settings.manage", "roles.manage"];
    let grow =
        app.req_as(&token, Method::PATCH, &path).header("if-match", &etag).json(&json!({ "permissions": every }));
    app.send(grow).await.problem(403);
    assert_eq!(app.get(&path).await.etag(), etag, "the role is unchanged");
    assert_eq!(permissions_of(&app, &token).await, vec!["roles.manage", "roles.view"]);

    app.post_as(&token, &app.acct("roles"), json!({ "name": "Deleter", "permissions": ["users.delete"] }))
        .await
        .problem(403);
    app.post_as(&token, &app.acct("roles"), json!({ "name": "Reader", "permissions": ["roles.view"] }))
        .await
        .expect(201);
    // A role that grants more than the holder cannot be edited or deleted by them either.
    let big = app.create_named("roles", json!({ "name": "Big", "permissions": ["users.delete"] })).await;
    let big_path = app.acct(&format!("roles/{big}"));
    let big_etag = app.get(&big_path).await.expect(200).etag();
    let rename =
        app.req_as(&token, Method::PATCH, &big_path).header("if-match", &big_etag).json(&json!({ "name": "Mine" }));
    app.send(rename).await.problem(403);
    app.send(app.req_as(&token, Method::DELETE, &big_path)).await.problem(403);
    app.get(&big_path).await.expect(200);
}

async fn users_edit_cannot_take_over_an_admins_address_or_factor(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (_, _, token) = app.user_with_permissions("editor", &["users.view", "users.edit"]).await;
    let (admin, _) = app.admin_with_second_factor("second-admin").await;
    let before = app.get_user(admin).await;
    let etag = before.etag();
    let before = before.json(200);
    patch_as(&app, &token, admin, json!({ "email": "attacker@example.com" })).await.problem(403);
    patch_as(&app, &token, admin, json!({ "two_factor_method": "email" })).await.problem(403);
    let reset = app.acct(&format!("users/{admin}/second-factor/reset-totp"));
    app.post_as(&token, &reset, json!({})).await.problem(403);
    let after = app.get_user(admin).await;
    assert_eq!(after.etag(), etag);
    assert_eq!(after.json(200)["email"], before["email"]);
}

async fn users_edit_cannot_exempt_anyone_from_the_account_rules(engine: Engine) {
    let app = TestApp::spawn_with(engine, |c: &mut Config| c.trusted_proxies = "127.0.0.1/32".parse().unwrap()).await;
    let (me, _, token) = app.user_with_permissions("exempt-me", &["users.view", "users.edit"]).await;
    let other = app.user_with_password("other", PW, json!({})).await;
    // The account denies 203.0.113.0/24.
    let etag = app.get(&app.acct("access-rules")).await.expect(200).etag();
    let deny = json!({ "rules": [{ "action": "deny", "value": "203.0.113.0/24" }] });
    app.send(app.req(Method::PUT, &app.acct("access-rules")).header("if-match", etag).json(&deny)).await.expect(200);

    let put = |id: i64, body: Value| {
        let app = &app;
        let token = token.clone();
        async move {
            let path = app.acct(&format!("users/{id}/access-rules"));
            let etag = app.get(&path).await.expect(200).etag();
            app.send(app.req_as(&token, Method::PUT, &path).header("if-match", etag).json(&body)).await
        }
    };
    // Oneself: never (D3).
    put(me, json!({ "mode": "overwrite", "rules": [] })).await.problem_field(422, "mode", "self");
    // Others: no exemption without settings.manage (D7)…
    put(other, json!({ "mode": "overwrite", "rules": [] })).await.problem(403);
    put(other, json!({ "mode": "extend", "rules": [{ "action": "allow", "value": "203.0.113.7" }] }))
        .await
        .problem(403);
    // …but a deny rule may be added, and not taken away again.
    put(other, json!({ "mode": "extend", "rules": [{ "action": "deny", "value": "198.51.100.9" }] })).await.expect(200);
    put(other, json!({ "mode": "extend", "rules": [] })).await.problem(403);
    put(other, json!({ "mode": "inherit", "rules": [] })).await.problem(403);
    let rules = app.get(&app.acct(&format!("users/{other}/access-rules"))).await.json(200);
    assert_eq!(rules["mode"], "extend");
    assert_eq!(rules["rules"].as_array().unwrap().len(), 1);

    // Signing in from the denied address still fails for the would-be exempt user.
    let body = json!({ "account": app.account, "login": "exempt-me", "password": PW });
    let login = app.anon(Method::POST, "/api/v1/auth/login").header("x-forwarded-for", "203.0.113.5").json(&body);
    assert_eq!(app.send(login).await.problem(403)["code"], "address_denied");
}

async fn nobody_but_an_operator_bulk_changes_a_platform_operator(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (_, admin) = app.admin_with_second_factor("tenant-admin").await;
    let operator = app.admin_id;
    let by_ids = json!({ "action": "deactivate", "target": { "ids": [operator] } });
    app.post_as(&admin, &app.acct("users/bulk"), by_ids).await.problem(403);
    let all = app
        .post_as(&admin, &app.acct("users/bulk"), json!({ "action": "deactivate", "target": "all", "dry_run": true }))
        .await
        .json(200);
    assert_eq!(all["out_of_reach"], 1, "the operator is counted as out of reach: {all}");
    let done = app
        .post_as(&admin, &app.acct("users/bulk"), json!({ "action": "deactivate", "target": "all" }))
        .await
        .json(200);
    assert_eq!(done["out_of_reach"], 1, "{done}");
    assert_eq!(app.get_user(operator).await.json(200)["status"], "active");
    app.session(&app.token).await.expect(200);
    // Nor one by one.
    patch_as(&app, &admin, operator, json!({ "status": "disabled" })).await.problem(403);
    app.send(app.req_as(&admin, Method::DELETE, &app.user_path(operator))).await.problem(403);
    let pw = app.req_as(&admin, Method::PUT, &app.acct(&format!("users/{operator}/password")));
    app.send(pw.json(&json!({ "password": "taken-over-9876" }))).await.problem(403);
}

async fn an_admin_sets_their_own_password_only_with_the_current_one(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (me, admin) = app.admin_with_second_factor("self-admin").await;
    let path = app.acct(&format!("users/{me}/password"));
    let request = app.req_as(&admin, Method::PUT, &path).json(&json!({ "password": "a-new-long-secret-1" }));
    app.send(request).await.problem_field(422, "password", "self");
    app.login("self-admin", "a-new-long-secret-1").await.problem(401);
    // My Account does it, with the current password.
    let body = json!({ "current_password": PW, "new_password": "a-new-long-secret-1" });
    app.post_as(&admin, "/api/v1/me/password", body).await.expect(204);
    // And the email likewise.
    let email = json!({ "current_password": "wrong-one-123", "email": "me@example.com" });
    let req = app.req_as(&admin, Method::PUT, "/api/v1/me/email").json(&email);
    app.send(req).await.problem_field(422, "current_password", "incorrect");
    patch_as(&app, &admin, me, json!({ "email": "me@example.com" })).await.problem_field(422, "email", "self");
    let email = json!({ "current_password": "a-new-long-secret-1", "email": "me@example.com" });
    let changed = app.send(app.req_as(&admin, Method::PUT, "/api/v1/me/email").json(&email)).await.json(200);
    assert_eq!(changed["email"], "me@example.com");
}

async fn the_last_admin_of_an_account_stays(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    // A second account whose only admin the platform operator (another account's user) manages.
    app.post("/api/v1/accounts", json!({ "slug": "acme", "name": "Acme" })).await.expect(201);
    let admin_role = app.builtin_role_in(&app.token, "acme", "admin").await;
    let made = app
        .post("/api/v1/accounts/acme/users", json!({ "login": "only", "password": PW, "roles": [admin_role] }))
        .await;
    let only = id_of(&made.json(201));
    let path = format!("/api/v1/accounts/acme/users/{only}");
    let etag = app.get(&path).await.expect(200).etag();
    for body in [json!({ "roles": [] }), json!({ "status": "disabled" })] {
        let request = app.req(Method::PATCH, &path).header("if-match", &etag).json(&body);
        assert_eq!(app.send(request).await.problem(409)["code"], "last_admin");
    }
    app.send(app.req(Method::DELETE, &path)).await.problem(409);
    let bulk = json!({ "action": "deactivate", "target": "all" });
    app.post("/api/v1/accounts/acme/users/bulk", bulk).await.problem(409);
    let bulk = json!({ "action": "unassign_roles", "target": { "ids": [only] }, "values": [admin_role] });
    app.post("/api/v1/accounts/acme/users/bulk", bulk).await.problem(409);
    assert_eq!(app.get(&path).await.etag(), etag, "nothing changed");

    // An admin through a group: taking the Admin role from the group, or the group, is refused too.
    let group =
        app.post("/api/v1/accounts/acme/groups", json!({ "name": "Leads", "roles": [admin_role] })).await.json(201);
    let group = id_of(&group);
    let etag = app.get(&path).await.etag();
    app.send(app.req(Method::PATCH, &path).header("if-match", &etag).json(&json!({ "groups": [group] })))
        .await
        .expect(200);
    let etag = app.get(&path).await.etag();
    app.send(app.req(Method::PATCH, &path).header("if-match", &etag).json(&json!({ "roles": [] }))).await.expect(200);
    let group_path = format!("/api/v1/accounts/acme/groups/{group}");
    let group_etag = app.get(&group_path).await.etag();
    let strip = app.req(Method::PATCH, &group_path).header("if-match", &group_etag).json(&json!({ "roles": [] }));
    app.send(strip).await.problem(409);
    app.send(app.req(Method::DELETE, &group_path)).await.problem(409);

    // The default account's only admin removing their own Admin role, deactivating or deleting
    // themself: D4's answer (a second admin would get D3's: not through the admin routes).
    let own = app
        .req(Method::PATCH, &app.user_path(app.admin_id))
        .header("if-match", app.get_user(app.admin_id).await.etag())
        .json(&json!({ "roles": [] }));
    assert_eq!(app.send(own).await.problem(409)["code"], "last_admin");
    assert_eq!(app.delete_user(app.admin_id).await.problem(409)["code"], "last_admin");
    let bulk = json!({ "action": "deactivate", "target": { "ids": [app.admin_id] } });
    assert_eq!(app.bulk(bulk).await.problem(409)["code"], "last_admin");
    assert!(!role_ids(&app.get_user(app.admin_id).await.json(200)).is_empty());
    let (second, _) = app.admin_with_second_factor("second").await;
    let own = app
        .req(Method::PATCH, &app.user_path(app.admin_id))
        .header("if-match", app.get_user(app.admin_id).await.etag())
        .json(&json!({ "roles": [] }));
    app.send(own).await.problem_field(422, "roles", "self");
    assert!(second > 0);
}

async fn bulk_actions_leave_out_and_count_users_out_of_reach(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (_, _, token) = app.user_with_permissions("bulk-editor", &["users.view", "users.edit"]).await;
    let plain = app.user_with_password("plain", PW, json!({})).await;
    let (strong, _, _) = app.user_with_permissions("strong", &["users.view", "users.edit", "users.delete"]).await;
    let desk = app.desk("Front").await;
    let dry = json!({ "action": "assign_desks", "target": "all", "values": [desk], "dry_run": true });
    let result = app.post_as(&token, &app.acct("users/bulk"), dry).await.json(200);
    // Out of reach: the operator-admin and `strong` (holds users.delete).
    assert_eq!(result["out_of_reach"], 2, "{result}");
    let run = json!({ "action": "assign_desks", "target": "all", "values": [desk] });
    let done = app.post_as(&token, &app.acct("users/bulk"), run).await.json(200);
    assert_eq!(done["out_of_reach"], 2, "{done}");
    assert_eq!(done["changed"], 2, "plain and the editor themself: {done}");
    let desks_of = |v: Value| v["desks"].as_array().unwrap().len();
    assert_eq!(desks_of(app.get_user(plain).await.json(200)), 1);
    assert_eq!(desks_of(app.get_user(strong).await.json(200)), 0);
    // Named by id, a user out of reach refuses the whole action.
    let ids = json!({ "action": "unassign_desks", "target": { "ids": [plain, strong] }, "values": [desk] });
    app.post_as(&token, &app.acct("users/bulk"), ids).await.problem(403);
    assert_eq!(desks_of(app.get_user(plain).await.json(200)), 1);
}

/// Lists the logins `token` sees.
pub(crate) async fn logins_as(app: &TestApp, token: &str) -> Vec<String> {
    let page = app.get_as(token, &format!("{}?limit=500", app.acct("users"))).await.json(200);
    sorted(list_items(&page).iter().map(|u| u["login"].as_str().unwrap().to_string()).collect())
}

async fn a_desk_supervisor_sees_only_their_desks(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (north, south) = (app.desk("North").await, app.desk("South").await);
    let sup_role = app.builtin_role("supervisor").await;
    app.user_with_password("sup", PW, json!({ "roles": [sup_role], "desks": [north] })).await;
    let near = app.user_with_password("near", PW, json!({ "desks": [north, south] })).await;
    let far = app.user_with_password("far", PW, json!({ "desks": [south] })).await;
    let token = app.sign_in("sup", PW).await;

    assert_eq!(logins_as(&app, &token).await, vec!["near", "sup"]);
    app.get_as(&token, &app.user_path(near)).await.expect(200);
    app.get_as(&token, &app.user_path(far)).await.problem(404);
    let filtered = app.get_as(&token, &format!("{}?desk={south}", app.acct("users"))).await.json(200);
    let logins: Vec<Value> = list_items(&filtered).iter().map(|u| u["login"].clone()).collect();
    assert_eq!(logins, vec![json!("near")], "a filter never widens the scope");
    // Activity about users outside the desks is not shown.
    app.update_user(far, json!({ "first_name": "Far" })).await;
    app.update_user(near, json!({ "first_name": "Near" })).await;
    let events = list_items(&app.get_as(&token, &format!("{}?limit=500", app.acct("activity"))).await.json(200));
    assert!(events.iter().any(|e| e["target_id"] == near), "{events:?}");
    assert!(!events.iter().any(|e| e["target_id"] == far), "{events:?}");
    app.get_as(&token, &app.acct(&format!("users/{far}/sessions"))).await.problem(404);

    // A desk lead who may edit changes only their desks' users, and bulk `all` means all in scope.
    let lead_role = app
        .create_named(
            "roles",
            json!({ "name": "Desk lead", "scope": "desks",
        "permissions": ["users.view", "users.create", "users.edit"] }),
        )
        .await;
    let lead = app.user_with_password("lead", PW, json!({ "roles": [lead_role], "desks": [north] })).await;
    let lead_token = app.sign_in("lead", PW).await;
    patch_as(&app, &lead_token, near, json!({ "last_name": "Nearby" })).await.expect(200);
    patch_as(&app, &lead_token, far, json!({ "last_name": "Faraway" })).await.problem(404);
    let skill = app.skill("French").await;
    let all = json!({ "action": "assign_skills", "target": "all", "values": [skill] });
    let done = app.post_as(&lead_token, &app.acct("users/bulk"), all).await.json(200);
    // sup holds supervisor permissions the lead lacks (activity.view…): out of reach.
    assert_eq!(
        (done["matched"].clone(), done["changed"].clone(), done["out_of_reach"].clone()),
        (json!(3), json!(2), json!(1)),
        "{done}"
    );
    assert_eq!(app.get_user(far).await.json(200)["skills"].as_array().unwrap().len(), 0);
    assert_eq!(app.get_user(near).await.json(200)["skills"].as_array().unwrap().len(), 1);
    // The lead cannot move themself to another desk to widen their reach.
    patch_as(&app, &lead_token, lead, json!({ "desks": [north, south] })).await.problem_field(422, "desks", "self");
    // A user the lead makes must be in the lead's desks.
    app.post_as(&lead_token, &app.acct("users"), json!({ "login": "elsewhere" })).await.problem(403);
    app.post_as(&lead_token, &app.acct("users"), json!({ "login": "newcomer", "desks": [north] })).await.expect(201);
    assert!(!app.logins("limit=500").await.contains(&"elsewhere".to_string()));
}

async fn company_supervisors_and_end_users_see_only_their_scope(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let viewer =
        app.create_named("roles", json!({ "name": "Viewer", "permissions": ["users.view", "users.edit"] })).await;
    let boss = app
        .user_with_password(
            "acme-boss",
            PW,
            json!({ "roles": [viewer], "company": "Acme", "is_end_user": true, "is_company_supervisor": true }),
        )
        .await;
    let client = app
        .user_with_password("acme-client", PW, json!({ "roles": [viewer], "company": "ACME", "is_end_user": true }))
        .await;
    let other = app.user_with_password("globex-client", PW, json!({ "company": "Globex", "is_end_user": true })).await;
    let staff = app.user_with_password("acme-staff", PW, json!({ "company": "Acme" })).await;
    let boss_token = app.sign_in("acme-boss", PW).await;
    let client_token = app.sign_in("acme-client", PW).await;

    assert_eq!(logins_as(&app, &boss_token).await, vec!["acme-boss", "acme-client"]);
    app.get_as(&boss_token, &app.user_path(other)).await.problem(404);
    app.get_as(&boss_token, &app.user_path(staff)).await.problem(404);
    patch_as(&app, &boss_token, client, json!({ "first_name": "Cli" })).await.expect(200);
    // The company supervisor cannot move to another company to widen their reach.
    patch_as(&app, &boss_token, boss, json!({ "company": "Globex" })).await.problem_field(422, "company", "self");

    assert_eq!(logins_as(&app, &client_token).await, vec!["acme-client"]);
    app.get_as(&client_token, &app.user_path(boss)).await.problem(404);
    // Nor can an end user lift their own end-user flag.
    patch_as(&app, &client_token, client, json!({ "is_end_user": false })).await.problem_field(
        422,
        "is_end_user",
        "self",
    );
}

async fn a_role_reaches_no_wider_than_its_maker(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let north = app.desk("North").await;
    let lead_role = app
        .create_named(
            "roles",
            json!({ "name": "Lead", "scope": "desks",
        "permissions": ["users.view", "users.edit", "roles.view", "roles.manage"] }),
        )
        .await;
    app.user_with_password("lead", PW, json!({ "roles": [lead_role], "desks": [north] })).await;
    let token = app.sign_in("lead", PW).await;
    let wide = json!({ "name": "Wide", "scope": "account", "permissions": ["users.view"] });
    app.post_as(&token, &app.acct("roles"), wide).await.problem(403);
    // A role that reaches others needs its permissions held account-wide; one that reaches
    // only its holder, just held.
    let desks = json!({ "name": "Desks too", "scope": "desks", "permissions": ["users.view"] });
    app.post_as(&token, &app.acct("roles"), desks).await.problem(403);
    let narrow = app
        .post_as(
            &token,
            &app.acct("roles"),
            json!({ "name": "Narrow", "scope": "self", "permissions": ["users.view"] }),
        )
        .await;
    assert_eq!(narrow.json(201)["scope"], "self");
    app.post_as(&token, &app.acct("roles"), json!({ "name": "Odd", "scope": "planet" })).await.problem_field(
        422,
        "scope",
        "unknown_scope",
    );
    let supervisor = app.get(&app.acct(&format!("roles/{}", app.builtin_role("supervisor").await))).await.json(200);
    assert_eq!(supervisor["scope"], "desks");
}

async fn an_admins_old_address_hears_of_changes_and_old_links_end(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin_role = app.builtin_role("admin").await;
    let ada = app.user_with_password("ada", PW, json!({ "roles": [admin_role], "email": "ada@example.com" })).await;
    // A reset link mailed to the old address…
    let body = json!({ "account": app.account, "login_or_email": "ada" });
    app.send(app.anon(Method::POST, "/api/v1/auth/forgot-password").json(&body)).await.expect(202);
    let link = app.mailbox.wait_for("ada@example.com").await.link();
    let token = link.rsplit('/').next().unwrap().to_string();

    // …ends when another admin changes the address, and the old address is told (D6, D9).
    app.update_user(ada, json!({ "email": "ada@new.example.com" })).await;
    let notice = app.mailbox.wait_for("ada@example.com").await;
    assert_eq!(notice.subject, "Your email was changed");
    assert!(notice.text.contains(&format!("changed by {}", app.admin_login)), "{}", notice.text);
    assert!(!notice.text.contains("ada@new.example.com"), "the notice does not name the new address: {}", notice.text);
    let reset = json!({ "token": token, "new_password": "Saffron-Glacier-29&" });
    let refused = app.send(app.anon(Method::POST, "/api/v1/auth/reset-password").json(&reset)).await;
    let problem = refused.problem(422);
    assert!(problem["errors"].as_array().unwrap().iter().any(|e| e["code"] == "ended"), "{problem}");

    // A change of method is told to the address the admin has.
    app.update_user(ada, json!({ "two_factor_method": "either" })).await;
    let notice = app.mailbox.wait_for("ada@new.example.com").await;
    assert_eq!(notice.subject, "Your second-factor method was changed");
    // A user who is not an admin gets no such notice; their old links end all the same.
    let bo = app.user_with_password("bo", PW, json!({ "email": "bo@example.com" })).await;
    app.update_user(bo, json!({ "email": "bo@new.example.com" })).await;
    let outbox = app.get(&format!("{}?limit=500", app.acct("outbox"))).await.json(200);
    assert!(!outbox.to_string().contains("bo@example.com"), "{outbox}");
}

async fn a_second_admin_changes_neither_own_status_nor_groups_and_lesser_actors_reach_no_admin(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (me, admin) = app.admin_with_second_factor("admin-two").await;
    let group = app.group("Helpers").await;
    patch_as(&app, &admin, me, json!({ "status": "disabled" })).await.problem_field(422, "status", "self");
    patch_as(&app, &admin, me, json!({ "groups": [group] })).await.problem_field(422, "groups", "self");
    // My Account: an admin's own change of method is told at their address (D6).
    app.update_user(me, json!({ "email": "two@example.com" })).await;
    let body = json!({ "method": "either", "current_password": PW });
    app.send(app.req_as(&admin, Method::PUT, "/api/v1/me/second-factor").json(&body)).await.expect(200);
    let notice = loop {
        let mail = app.mailbox.wait_for("two@example.com").await;
        if mail.subject.contains("second-factor method") {
            break mail;
        }
    };
    assert!(notice.text.contains("changed by admin-two"), "{}", notice.text);

    // Reading a SIP password, removing an avatar, ending one session: none on an admin by a lesser role.
    let (_, _, lesser) = app
        .user_with_permissions(
            "lesser",
            &["users.view", "users.edit", "users.sip_credentials", "sessions.view", "sessions.manage"],
        )
        .await;
    app.get_as(&lesser, &app.acct(&format!("users/{me}/sip-credentials"))).await.problem(403);
    app.send(app.req_as(&lesser, Method::DELETE, &app.acct(&format!("users/{me}/avatar")))).await.problem(403);
    let sessions = app.get(&app.acct(&format!("users/{me}/sessions"))).await.json(200);
    let session = list_items(&sessions)[0]["id"].clone();
    let path = app.acct(&format!(
        "sessions/{}",
        session.as_i64().map(|i| i.to_string()).unwrap_or_else(|| session.as_str().unwrap().to_string())
    ));
    app.send(app.req_as(&lesser, Method::DELETE, &path)).await.problem(403);
    app.session(&admin).await.expect(200);
}
