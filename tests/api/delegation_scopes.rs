//! Delegation with scopes (D1, D2, D8): a permission is held *with* a scope, so holding it
//! within one's desks or company gives neither the right to hand it out more widely nor to
//! change someone who holds it more widely. Each test is an attack found by a review of the
//! first version, refused now, with nothing changed.

use reqwest::Method;
use serde_json::{Value, json};

use crate::delegation::{logins_as, patch_as};
use crate::helpers::{Engine, TestApp, list_items};

both_engines!(
    a_company_supervisor_cannot_widen_a_users_reach_through_flags_or_company,
    a_desk_lead_cannot_make_a_puppet_that_reaches_further,
    roles_manage_within_desks_cannot_widen_a_role,
    a_desk_lead_cannot_take_over_an_account_wide_user,
    a_rule_kept_while_inherited_is_not_brought_back_without_settings_manage,
    a_role_held_by_users_out_of_reach_is_not_changed,
    a_scoped_creator_learns_nothing_of_users_out_of_scope,
    own_security_settings_and_lockout_are_not_loosened_through_admin_routes,
    tokens_follow_their_makers_scope_and_reach,
    deleting_in_bulk_is_bound_by_the_delete_permissions_scope,
    ones_desks_stay_when_any_permission_is_held_within_desks,
    an_admin_narrowed_by_the_end_user_flag_does_not_keep_an_account,
    a_desk_lead_neither_hands_users_to_other_desks_nor_deletes_them,
    a_token_does_not_change_its_maker_through_a_role,
    scoped_managers_do_not_hand_users_to_other_scopes,
    a_locked_session_guesses_no_more_and_own_login_stays,
);

const PW: &str = "correct-horse-9";

async fn a_company_supervisor_cannot_widen_a_users_reach_through_flags_or_company(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let viewer =
        app.create_named("roles", json!({ "name": "Viewer", "permissions": ["users.view", "users.edit"] })).await;
    let boss_body = json!({ "roles": [viewer], "company": "Acme", "is_end_user": true, "is_company_supervisor": true });
    app.user_with_password("acme-boss", PW, boss_body.clone()).await;
    let deputy = app.user_with_password("acme-deputy", PW, boss_body).await;
    let client = app
        .user_with_password("acme-client", PW, json!({ "roles": [viewer], "company": "Acme", "is_end_user": true }))
        .await;
    let boss = app.sign_in("acme-boss", PW).await;
    let before = app.get_user(client).await.json(200);

    // Lifting the end-user flag would let the client's role reach the whole account.
    patch_as(&app, &boss, client, json!({ "is_end_user": false, "email": "boss-owns@example.com" })).await.problem(403);
    let after = app.get_user(client).await.json(200);
    assert_eq!(
        (after["is_end_user"].clone(), after["email"].clone()),
        (before["is_end_user"].clone(), before["email"].clone())
    );
    // Moving a fellow company supervisor to another company would reach that company.
    patch_as(&app, &boss, deputy, json!({ "company": "Globex" })).await.problem(403);
    assert_eq!(app.get_user(deputy).await.json(200)["company"], "Acme");
    // What stays within the boss's reach is fine.
    patch_as(&app, &boss, client, json!({ "first_name": "Cli" })).await.expect(200);
}

async fn a_desk_lead_cannot_make_a_puppet_that_reaches_further(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (north, south) = (app.desk("North").await, app.desk("South").await);
    let lead_role = app
        .create_named(
            "roles",
            json!({ "name": "Desk lead", "scope": "desks",
        "permissions": ["users.view", "users.create", "users.edit"] }),
        )
        .await;
    let company_role =
        app.create_named("roles", json!({ "name": "Co", "scope": "company", "permissions": ["users.view"] })).await;
    let agent_role = app.builtin_role("agent").await;
    app.user_with_password("lead", PW, json!({ "roles": [lead_role], "desks": [north] })).await;
    let lead = app.sign_in("lead", PW).await;
    let make = |body: Value| {
        let (app, lead) = (&app, lead.clone());
        async move { app.post_as(&lead, &app.acct("users"), body).await }
    };
    // A role that reaches others, on more desks than the lead's…
    make(json!({ "login": "p1", "password": PW, "desks": [north, south], "roles": [lead_role] })).await.problem(403);
    // …or even on the lead's own desk: a desk lead hands out only what reaches its holder alone.
    make(json!({ "login": "p2", "password": PW, "desks": [north], "roles": [lead_role] })).await.problem(403);
    // A company-scoped role, which desks do not bound.
    make(json!({ "login": "p3", "password": PW, "desks": [north], "company": "Globex", "roles": [company_role] }))
        .await
        .problem(403);
    // A direct permission, which reaches the whole account.
    make(json!({ "login": "p4", "password": PW, "desks": [north], "permissions": ["users.view"] })).await.problem(403);
    let logins = app.logins("limit=500").await;
    assert!(!logins.iter().any(|l| l.starts_with('p')), "{logins:?}");
    // A role that reaches only its holder is the lead's to give, if they hold its permissions.
    make(json!({ "login": "agent", "password": PW, "desks": [north], "roles": [agent_role] })).await.problem(403);
    let mine =
        app.create_named("roles", json!({ "name": "Own view", "scope": "self", "permissions": ["users.view"] })).await;
    make(json!({ "login": "helper", "password": PW, "desks": [north], "roles": [mine] })).await.expect(201);
    assert!(app.logins("limit=500").await.contains(&"helper".to_string()));
    // And bulk assign_roles is bound alike.
    let bulk = json!({ "action": "assign_roles", "target": "all", "values": [lead_role] });
    app.post_as(&lead, &app.acct("users/bulk"), bulk).await.problem(403);
}

async fn roles_manage_within_desks_cannot_widen_a_role(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let north = app.desk("North").await;
    let lead_role = app
        .create_named("roles", json!({ "name": "Lead", "scope": "desks", "permissions": ["users.view", "users.edit"] }))
        .await;
    let catalog_role =
        app.create_named("roles", json!({ "name": "Catalog", "scope": "account", "permissions": ["roles.view", "roles.manage", "groups.view", "groups.manage"] })).await;
    app.user_with_password("lead", PW, json!({ "roles": [lead_role, catalog_role], "desks": [north] })).await;
    app.user_with_password("far", PW, json!({})).await;
    let lead = app.sign_in("lead", PW).await;
    let path = app.acct(&format!("roles/{lead_role}"));
    let etag = app.get(&path).await.expect(200).etag();
    let widen = app.req_as(&lead, Method::PATCH, &path).header("if-match", &etag).json(&json!({ "scope": "account" }));
    app.send(widen).await.problem(403);
    assert_eq!(app.get(&path).await.json(200)["scope"], "desks");
    assert_eq!(logins_as(&app, &lead).await, vec!["lead"]);
    // Nor a new account-wide role with permissions held only within the desks.
    let wide = json!({ "name": "Wide", "scope": "account", "permissions": ["users.view"] });
    app.post_as(&lead, &app.acct("roles"), wide).await.problem(403);
    let group = json!({ "name": "Everyone", "roles": [lead_role] });
    app.post_as(&lead, &app.acct("groups"), group).await.problem(403);
}

async fn a_desk_lead_cannot_take_over_an_account_wide_user(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let north = app.desk("North").await;
    let lead_role = app
        .create_named(
            "roles",
            json!({ "name": "Lead", "scope": "desks",
        "permissions": ["users.view", "users.edit", "users.passwords"] }),
        )
        .await;
    let help_role = app
        .create_named("roles", json!({ "name": "Helpdesk", "scope": "account", "permissions": ["users.view"] }))
        .await;
    let own_role =
        app.create_named("roles", json!({ "name": "Own", "scope": "self", "permissions": ["users.view"] })).await;
    app.user_with_password("lead", PW, json!({ "roles": [lead_role], "desks": [north] })).await;
    let helper = app.user_with_password("helper", PW, json!({ "roles": [help_role], "desks": [north] })).await;
    let plain = app.user_with_password("plain", PW, json!({ "roles": [own_role], "desks": [north] })).await;
    let lead = app.sign_in("lead", PW).await;
    let before = app.get_user(helper).await.etag();
    let set = app
        .req_as(&lead, Method::PUT, &app.acct(&format!("users/{helper}/password")))
        .json(&json!({ "password": "Taken-Over-98765" }));
    app.send(set).await.problem(403);
    patch_as(&app, &lead, helper, json!({ "email": "lead@example.com" })).await.problem(403);
    assert_eq!(app.get_user(helper).await.etag(), before);
    app.login("helper", "Taken-Over-98765").await.problem(401);
    // A user whose rights reach only themself is the lead's to manage.
    let set = app
        .req_as(&lead, Method::PUT, &app.acct(&format!("users/{plain}/password")))
        .json(&json!({ "password": "Fresh-Start-98765" }));
    app.send(set).await.expect(200);
    // Another desk lead at the same desks (and no other) is within reach; one with a desk more is not.
    let south = app.desk("South").await;
    let peer = app.user_with_password("peer-lead", PW, json!({ "roles": [lead_role], "desks": [north] })).await;
    patch_as(&app, &lead, peer, json!({ "first_name": "Peer" })).await.expect(200);
    app.update_user(peer, json!({ "desks": [north, south] })).await;
    patch_as(&app, &lead, peer, json!({ "first_name": "Peer again" })).await.problem(403);
}

async fn a_rule_kept_while_inherited_is_not_brought_back_without_settings_manage(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (_, _, token) = app.user_with_permissions("editor", &["users.view", "users.edit"]).await;
    let other = app.user_with_password("other", PW, json!({})).await;
    let path = app.acct(&format!("users/{other}/access-rules"));
    let put = |token: Option<String>, body: Value| {
        let (app, path) = (&app, path.clone());
        async move {
            let etag = app.get(&path).await.expect(200).etag();
            let request = match token {
                Some(t) => app.req_as(&t, Method::PUT, &path),
                None => app.req(Method::PUT, &path),
            };
            app.send(request.header("if-match", etag).json(&body)).await
        }
    };
    let allow = json!([{ "action": "allow", "value": "203.0.113.7" }]);
    put(None, json!({ "mode": "extend", "rules": allow })).await.expect(200);
    put(None, json!({ "mode": "inherit", "rules": allow })).await.expect(200);
    put(Some(token), json!({ "mode": "extend", "rules": allow })).await.problem(403);
    assert_eq!(app.get(&path).await.json(200)["mode"], "inherit");
}

async fn a_role_held_by_users_out_of_reach_is_not_changed(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (_, _, ed) = app.user_with_permissions("ed", &["users.view", "roles.view", "roles.manage"]).await;
    let viewers = app.create_named("roles", json!({ "name": "Viewers", "permissions": ["users.view"] })).await;
    let deleter = app.create_named("roles", json!({ "name": "Deleter", "permissions": ["users.delete"] })).await;
    let strong = app.user_with_password("strong", PW, json!({ "roles": [viewers, deleter] })).await;
    app.send(app.req_as(&ed, Method::DELETE, &app.acct(&format!("roles/{viewers}")))).await.problem(403);
    let path = app.acct(&format!("roles/{viewers}"));
    let etag = app.get(&path).await.etag();
    let strip = app.req_as(&ed, Method::PATCH, &path).header("if-match", &etag).json(&json!({ "permissions": [] }));
    app.send(strip).await.problem(403);
    assert_eq!(app.get_user(strong).await.json(200)["roles"].as_array().unwrap().len(), 2);
    assert_eq!(app.get(&path).await.json(200)["permissions"], json!(["users.view"]));
    // A role whose holders are all within reach may be changed (here: renamed).
    let mine = app.create_named("roles", json!({ "name": "Mine", "permissions": ["users.view"] })).await;
    app.user_with_password("weak", PW, json!({ "roles": [mine] })).await;
    let path = app.acct(&format!("roles/{mine}"));
    let etag = app.get(&path).await.etag();
    app.send(app.req_as(&ed, Method::PATCH, &path).header("if-match", &etag).json(&json!({ "permissions": [] })))
        .await
        .expect(200);
}

async fn a_scoped_creator_learns_nothing_of_users_out_of_scope(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let north = app.desk("North").await;
    let lead_role = app
        .create_named(
            "roles",
            json!({ "name": "Desk lead", "scope": "desks",
        "permissions": ["users.view", "users.create", "users.edit"] }),
        )
        .await;
    app.user_with_password("lead", PW, json!({ "roles": [lead_role], "desks": [north] })).await;
    app.user_with_password("far", PW, json!({ "email": "far@example.com" })).await;
    let lead = app.sign_in("lead", PW).await;
    let taken = app.post_as(&lead, &app.acct("users"), json!({ "login": "x1", "email": "far@example.com" })).await;
    let free = app.post_as(&lead, &app.acct("users"), json!({ "login": "x2", "email": "nobody@example.com" })).await;
    assert_eq!((taken.status, taken.body["detail"].clone()), (free.status, free.body["detail"].clone()));
    taken.problem(403);
    // At the lead's desk, a taken address is named as such.
    let at_desk = app
        .post_as(&lead, &app.acct("users"), json!({ "login": "x3", "email": "far@example.com", "desks": [north] }))
        .await;
    at_desk.problem_on(409, "email");
}

async fn own_security_settings_and_lockout_are_not_loosened_through_admin_routes(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (me, _, token) = app.user_with_permissions("loose", &["users.view", "users.edit", "users.passwords"]).await;
    let path = app.acct(&format!("users/{me}/security"));
    let etag = app.get(&path).await.expect(200).etag();
    let body = json!({ "password_expiry_months": 0, "console_idle_minutes": 1440, "captcha_required": false });
    let request = app.req_as(&token, Method::PUT, &path).header("if-match", &etag).json(&body);
    app.send(request).await.problem_field(422, "password_expiry_months", "self");
    assert_eq!(app.get(&path).await.etag(), etag);
    app.post_as(&token, &app.acct(&format!("users/{me}/unlock")), json!({})).await.problem_field(422, "id", "self");
}

async fn tokens_follow_their_makers_scope_and_reach(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let north = app.desk("North").await;
    // An admin's token, and a desk lead who may see and revoke tokens within their desks.
    let (_, admin) = app.admin_with_second_factor("token-admin").await;
    let made = app.create_token_as(&admin, json!({ "name": "pbx", "permissions": ["users.view"] })).await.json(201);
    let lead_role = app
        .create_named(
            "roles",
            json!({ "name": "Lead", "scope": "desks",
        "permissions": ["users.view", "tokens.view", "tokens.manage"] }),
        )
        .await;
    app.user_with_password("lead", PW, json!({ "roles": [lead_role], "desks": [north] })).await;
    let lead = app.sign_in("lead", PW).await;
    let listed = app.get_as(&lead, &app.acct("tokens")).await.json(200);
    assert!(list_items(&listed).is_empty(), "the admin is not at the lead's desk: {listed}");
    let revoke = app.acct(&format!("tokens/{}", made["id"]));
    app.get_as(&lead, &revoke).await.problem(404);
    app.send(app.req_as(&lead, Method::DELETE, &revoke)).await.problem(404);
    // At the lead's desk, the admin's token is seen but not theirs to revoke.
    let admin_id = app.get_as(&admin, "/api/v1/session").await.json(200)["user"]["id"].as_i64().unwrap();
    app.update_user(admin_id, json!({ "desks": [north] })).await;
    assert_eq!(app.get_as(&lead, &revoke).await.json(200)["name"], "pbx");
    assert!(app.get_as(&lead, &revoke).await.json(200).get("token").is_none(), "the token itself is never shown again");
    app.send(app.req_as(&lead, Method::DELETE, &revoke)).await.problem(403);
    let token = made["token"].as_str().unwrap();
    app.session(token).await.expect(200);
}

async fn deleting_in_bulk_is_bound_by_the_delete_permissions_scope(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let north = app.desk("North").await;
    let editor =
        app.create_named("roles", json!({ "name": "Editor", "permissions": ["users.view", "users.edit"] })).await;
    let deleter = app
        .create_named("roles", json!({ "name": "Desk deleter", "scope": "desks", "permissions": ["users.delete"] }))
        .await;
    app.user_with_password("mixed", PW, json!({ "roles": [editor, deleter], "desks": [north] })).await;
    let near = app.user_with_password("near", PW, json!({ "desks": [north] })).await;
    let far = app.user_with_password("far", PW, json!({})).await;
    let token = app.sign_in("mixed", PW).await;
    app.send(app.req_as(&token, Method::DELETE, &app.user_path(far))).await.problem(404);
    let by_id = json!({ "action": "delete", "target": { "ids": [far] } });
    app.post_as(&token, &app.acct("users/bulk"), by_id).await.problem_field(422, "target.ids", "unknown_id");
    let all =
        app.post_as(&token, &app.acct("users/bulk"), json!({ "action": "delete", "target": "all" })).await.json(200);
    assert_eq!(all["changed"], 1, "only the desk's user: {all}");
    app.get_user(far).await.expect(200);
    app.get_user(near).await.problem(404);
}

async fn ones_desks_stay_when_any_permission_is_held_within_desks(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (north, south) = (app.desk("North").await, app.desk("South").await);
    let own = app
        .create_named(
            "roles",
            json!({ "name": "Own profile", "scope": "self", "permissions": ["users.view", "users.edit"] }),
        )
        .await;
    let help = app
        .create_named(
            "roles",
            json!({ "name": "Desk helpdesk", "scope": "desks", "permissions": ["users.view", "users.passwords"] }),
        )
        .await;
    let me = app.user_with_password("helpdesk", PW, json!({ "roles": [own, help], "desks": [north] })).await;
    let far = app.user_with_password("far", PW, json!({ "desks": [south] })).await;
    let token = app.sign_in("helpdesk", PW).await;
    patch_as(&app, &token, me, json!({ "desks": [north, south] })).await.problem_field(422, "desks", "self");
    let bulk = json!({ "action": "assign_desks", "target": { "ids": [me] }, "values": [south] });
    app.post_as(&token, &app.acct("users/bulk"), bulk).await.problem_field(422, "target.ids", "self");
    let set = app
        .req_as(&token, Method::PUT, &app.acct(&format!("users/{far}/password")))
        .json(&json!({ "password": "Taken-Over-98765" }));
    app.send(set).await.problem(404);
    assert_eq!(app.get_user(me).await.json(200)["desks"].as_array().unwrap().len(), 1);
}

async fn an_admin_narrowed_by_the_end_user_flag_does_not_keep_an_account(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.post("/api/v1/accounts", json!({ "slug": "acme", "name": "Acme" })).await.expect(201);
    let admin_role = app.builtin_role_in(&app.token, "acme", "admin").await;
    let group =
        app.post("/api/v1/accounts/acme/groups", json!({ "name": "Admins", "roles": [admin_role] })).await.json(201);
    let group = crate::helpers::id_of(&group);
    let users = "/api/v1/accounts/acme/users";
    app.post(users, json!({ "login": "a", "password": PW, "groups": [group] })).await.expect(201);
    let b = crate::helpers::id_of(
        &app.post(users, json!({ "login": "b", "password": PW, "roles": [admin_role] })).await.json(201),
    );
    let b_path = format!("{users}/{b}");
    let etag = app.get(&b_path).await.etag();
    app.send(app.req(Method::PATCH, &b_path).header("if-match", &etag).json(&json!({ "is_end_user": true })))
        .await
        .expect(200);
    // b's admin rights now stop at b: with the group stripped, nobody could manage the account.
    let group_path = format!("/api/v1/accounts/acme/groups/{group}");
    let etag = app.get(&group_path).await.etag();
    let strip = app.req(Method::PATCH, &group_path).header("if-match", &etag).json(&json!({ "roles": [] }));
    assert_eq!(app.send(strip).await.problem(409)["code"], "last_admin");
}

async fn a_desk_lead_neither_hands_users_to_other_desks_nor_deletes_them(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (north, south) = (app.desk("North").await, app.desk("South").await);
    let lead_role = app
        .create_named(
            "roles",
            json!({ "name": "Lead", "scope": "desks",
        "permissions": ["users.view", "users.create", "users.edit", "desks.view", "desks.manage"] }),
        )
        .await;
    app.user_with_password("lead", PW, json!({ "roles": [lead_role], "desks": [north] })).await;
    app.user_with_password("south-user", PW, json!({ "desks": [south] })).await;
    let lead = app.sign_in("lead", PW).await;
    let made = app.post_as(&lead, &app.acct("users"), json!({ "login": "newbie", "desks": [north] })).await.json(201);
    let newbie = crate::helpers::id_of(&made);
    patch_as(&app, &lead, newbie, json!({ "desks": [south] })).await.problem(403);
    let bulk = json!({ "action": "assign_desks", "target": { "ids": [newbie] }, "values": [south] });
    app.post_as(&lead, &app.acct("users/bulk"), bulk).await.problem(403);
    // Releasing a user from one's own desk is allowed.
    patch_as(&app, &lead, newbie, json!({ "desks": [] })).await.expect(200);
    // Deleting a desk whose users are not the lead's is refused.
    app.send(app.req_as(&lead, Method::DELETE, &app.acct(&format!("desks/{south}")))).await.problem(403);
    app.get(&app.acct(&format!("desks/{south}"))).await.expect(200);
}

async fn a_token_does_not_change_its_maker_through_a_role(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let catalog = app
        .create_named(
            "roles",
            json!({ "name": "Catalog",
        "permissions": ["users.view", "roles.view", "roles.manage", "tokens.view", "tokens.manage"] }),
        )
        .await;
    let extra = app.create_named("roles", json!({ "name": "Extra", "permissions": ["users.view"] })).await;
    app.user_with_password("maker", PW, json!({ "roles": [catalog, extra] })).await;
    let session = app.sign_in("maker", PW).await;
    let body = json!({ "name": "ci", "permissions": ["users.view", "roles.view", "roles.manage"] });
    let token = app.create_token_as(&session, body).await.json(201)["token"].as_str().unwrap().to_string();
    app.send(app.req_as(&token, Method::DELETE, &app.acct(&format!("roles/{extra}")))).await.problem(403);
    app.get(&app.acct(&format!("roles/{extra}"))).await.expect(200);
    // The maker, signed in, may: the role is theirs and nobody else's.
    app.send(app.req_as(&session, Method::DELETE, &app.acct(&format!("roles/{extra}")))).await.expect(204);
}

async fn scoped_managers_do_not_hand_users_to_other_scopes(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (north, south) = (app.desk("North").await, app.desk("South").await);
    let viewer =
        app.create_named("roles", json!({ "name": "Viewer", "permissions": ["users.view", "users.edit"] })).await;
    app.user_with_password(
        "boss",
        PW,
        json!({ "roles": [viewer], "company": "Acme", "is_end_user": true, "is_company_supervisor": true }),
    )
    .await;
    let client = app.user_with_password("client", PW, json!({ "company": "Acme", "is_end_user": true })).await;
    let boss = app.sign_in("boss", PW).await;
    // A company supervisor puts nobody at a desk (a desk's lead would then reach them).
    patch_as(&app, &boss, client, json!({ "desks": [south] })).await.problem(403);
    let bulk = json!({ "action": "assign_desks", "target": { "ids": [client] }, "values": [south] });
    app.post_as(&boss, &app.acct("users/bulk"), bulk).await.problem(403);
    app.post_as(
        &boss,
        &app.acct("users"),
        json!({ "login": "c2", "company": "Acme", "is_end_user": true, "desks": [south] }),
    )
    .await
    .problem(403);
    // A desk lead moves nobody into a company.
    let lead_role = app
        .create_named(
            "roles",
            json!({ "name": "Lead", "scope": "desks", "permissions": ["users.view", "users.create", "users.edit"] }),
        )
        .await;
    app.user_with_password("lead", PW, json!({ "roles": [lead_role], "desks": [north] })).await;
    let member = app.user_with_password("member", PW, json!({ "desks": [north] })).await;
    let lead = app.sign_in("lead", PW).await;
    patch_as(&app, &lead, member, json!({ "company": "Globex", "is_end_user": true })).await.problem(403);
    app.post_as(&lead, &app.acct("users"), json!({ "login": "m2", "desks": [north], "company": "Globex" }))
        .await
        .problem(403);
    assert_eq!(app.get_user(member).await.json(200)["company"], Value::Null);
    assert_eq!(app.get_user(client).await.json(200)["desks"], json!([]));
    // An end user does not leave their company's oversight by themself.
    let self_role = app
        .create_named("roles", json!({ "name": "Me", "scope": "self", "permissions": ["users.view", "users.edit"] }))
        .await;
    let leaver = app
        .user_with_password("leaver", PW, json!({ "roles": [self_role], "company": "Acme", "is_end_user": true }))
        .await;
    let leaver_token = app.sign_in("leaver", PW).await;
    patch_as(&app, &leaver_token, leaver, json!({ "company": "Elsewhere" }))
        .await
        .problem_field(422, "company", "self");
}

async fn a_locked_session_guesses_no_more_and_own_login_stays(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.set_security(|s| s["lockout"]["max_failures"] = json!(3)).await;
    let (me, _, token) = app.user_with_permissions("guesser", &["users.view", "users.edit"]).await;
    patch_as(&app, &token, me, json!({ "login": "renamed" })).await.problem_field(422, "login", "self");
    for _ in 0..3 {
        let body = json!({ "current_password": "wrong-guess-123", "new_password": "Saffron-Glacier-29&" });
        app.post_as(&token, "/api/v1/me/password", body).await.problem(422);
    }
    // Locked: not even the right password is checked now.
    let body = json!({ "current_password": PW, "new_password": "Saffron-Glacier-29&" });
    app.post_as(&token, "/api/v1/me/password", body).await.problem_field(422, "current_password", "locked");
    app.login("guesser", "Saffron-Glacier-29&").await.problem(401);
    // The last admin adding a role to themself hears D3, not D4: nothing is given up.
    let agent = app.builtin_role("agent").await;
    let own = app
        .req(Method::PATCH, &app.user_path(app.admin_id))
        .header("if-match", app.get_user(app.admin_id).await.etag());
    app.send(own.json(&json!({ "roles": [app.builtin_role("admin").await, agent] })))
        .await
        .problem_field(422, "roles", "self");
}
