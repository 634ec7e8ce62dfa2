//! Delegated administration in the console (DESIGN D2, D3, D8): what a viewer may not do is not
//! offered (users out of reach are shown read-only, one's own identity and access are changed
//! elsewhere), the service's refusal stands when the form is posted anyway, scoped supervisors
//! see and count only their users, and My Account changes one's own email with the password.

use serde_json::{Value, json};

use crate::helpers::{Console, Engine, STRONG, TestApp};

both_engines!(
    an_editor_is_offered_nothing_on_an_admin_and_is_refused_anyway,
    a_desk_supervisor_sees_and_counts_only_their_desk,
    my_account_changes_my_email_with_my_password,
    my_own_user_form_locks_what_only_my_account_or_others_change,
    roles_show_whom_they_reach,
    the_users_page_follows_catalog_changes_made_anywhere,
    a_kept_row_shows_each_viewer_their_own_actions,
);

const PW: &str = "correct-horse-9";

/// The `<tr>` of a table whose name cell reads `name`.
#[track_caller]
fn row_of<'a>(body: &'a str, name: &str) -> &'a str {
    let found: Vec<&str> = body
        .split("<tr")
        .skip(1)
        .map(|r| r.split("</tr>").next().unwrap())
        .filter(|r| r.contains(&format!(">{name}<")))
        .collect();
    assert_eq!(found.len(), 1, "one row for {name} in:\n{body}");
    found[0]
}

/// The opening tag of the element with this id.
#[track_caller]
fn tag_of<'a>(body: &'a str, id: &str) -> &'a str {
    let at = body.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in:\n{body}"));
    let start = body[..at].rfind('<').unwrap();
    let end = at + body[at..].find('>').unwrap();
    &body[start..=end]
}

/// The logins the users table lists, in order.
fn listed(body: &str) -> Vec<String> {
    body.split("class=\"user-login\"")
        .skip(1)
        .map(|rest| rest.split('>').nth(1).unwrap().split('<').next().unwrap().to_string())
        .collect()
}

/// The version the console's forms carry, from the API's ETag (`"7"`).
async fn version_of(app: &TestApp, id: i64) -> String {
    app.get_user(id).await.expect(200).etag().trim_matches('"').to_string()
}

/// The value a locked field sends back unchanged (its hidden twin).
#[track_caller]
fn hidden_value(body: &str, name: &str) -> String {
    let needle = format!("<input type=\"hidden\" name=\"{name}\" value=\"");
    let at = body.find(&needle).unwrap_or_else(|| panic!("no hidden {name} in:\n{body}")) + needle.len();
    body[at..].split('"').next().unwrap().to_string()
}

async fn an_editor_is_offered_nothing_on_an_admin_and_is_refused_anyway(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (me, _, _) =
        app.user_with_permissions("editor", &["users.view", "users.edit", "users.passwords", "users.delete"]).await;
    let (admin, _) = app.admin_with_second_factor("second-admin").await;
    let peer = app.user_with_password("peer", PW, json!({ "email": "peer@example.com" })).await;
    let console = Console::sign_in(&app, "editor", STRONG).await;

    let users = console.get("/console/users").await;
    users.expect(200);
    // A peer holding nothing beyond the editor: every action is offered.
    let peer_row = row_of(&users.body, "peer");
    for action in ["edit", "password", "delete", "security", "two-factor?change="] {
        let href = format!("/console/users/{peer}/{action}");
        assert!(peer_row.contains(&href), "{href} missing for the peer:\n{peer_row}");
    }
    assert!(!peer_row.contains("Out of your reach"), "{peer_row}");
    assert!(peer_row.contains(&format!("name=\"ids\" value=\"{peer}\"")), "the peer is selectable: {peer_row}");
    // An admin (and the platform operator): read-only, said in words, not selectable.
    for (login, id) in [("second-admin", admin), (app.admin_login.as_str(), app.admin_id)] {
        let row = row_of(&users.body, login);
        for action in ["edit", "password", "delete", "security", "access-rules", "avatar", "two-factor"] {
            let href = format!("/console/users/{id}/{action}");
            assert!(!row.contains(&href), "{href} offered on {login}:\n{row}");
        }
        assert!(row.contains("Out of your reach"), "{row}");
        assert!(!row.contains("name=\"ids\""), "{login} is not selectable: {row}");
    }
    // Oneself: edit (limited), but no delete, password or two-factor here (D3).
    let own = row_of(&users.body, "editor");
    assert!(own.contains(&format!("/console/users/{me}/edit")), "{own}");
    for action in ["delete", "password", "two-factor"] {
        assert!(!own.contains(&format!("/console/users/{me}/{action}")), "{action} offered on oneself:\n{own}");
    }
    assert!(own.contains("href=\"/console/me\""), "{own}");

    // The pages themselves are refused by the service, with its reason.
    for path in ["edit", "password", "delete", "security", "access-rules", "avatar", "two-factor?change=email"] {
        let page = console.get(&format!("/console/users/{admin}/{path}")).await;
        page.expect(403).has("Not permitted").has("only an account admin can change an account admin");
    }
    // The peer's edit page offers the peer's actions; the editor's own page does not offer delete.
    console.get(&format!("/console/users/{peer}/edit")).await.expect(200).has(&format!("/console/users/{peer}/delete"));
    console.get(&format!("/console/users/{me}/edit")).await.expect(200).lacks(&format!("/console/users/{me}/delete"));

    // Posting the edit form for the admin anyway: 403, nothing changed.
    let etag = app.get_user(admin).await.etag();
    let version = version_of(&app, admin).await;
    let form = [
        ("version", version.as_str()),
        ("login", "second-admin"),
        ("email", "attacker@example.com"),
        ("status", "disabled"),
        ("two_factor_method", "disabled"),
    ];
    let refused = console.post(&format!("/console/users/{admin}/edit"), &form).await;
    refused.expect(403).has("only an account admin can change an account admin");
    assert_eq!(app.get_user(admin).await.etag(), etag, "the admin is unchanged");
    // The same post for the peer goes through.
    let version = version_of(&app, peer).await;
    let form = [("version", version.as_str()), ("login", "peer"), ("email", "peer@example.org"), ("status", "active")];
    console.post(&format!("/console/users/{peer}/edit"), &form).await.redirects_to("/console/users?notice=saved");
    assert_eq!(app.get_user(peer).await.json(200)["email"], "peer@example.org");
}

async fn a_desk_supervisor_sees_and_counts_only_their_desk(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (north, south) = (app.desk("North").await, app.desk("South").await);
    let sup_role = app.builtin_role("supervisor").await;
    app.user_with_password("sup", PW, json!({ "roles": [sup_role], "desks": [north] })).await;
    let near = app.user_with_password("near", PW, json!({ "desks": [north, south] })).await;
    let far = app.user_with_password("far", PW, json!({ "desks": [south] })).await;
    let console = Console::sign_in(&app, "sup", PW).await;

    let users = console.get("/console/users").await;
    users.expect(200);
    assert_eq!(listed(&users.body), vec!["near", "sup"]);
    assert_eq!(
        users.text_of("user-count"),
        "2 users in your desks (you and everyone sharing a desk with you). You see and manage no one else."
    );
    // A filter narrows within the desks, never widens them.
    let filtered = console.get(&format!("/console/users?desk={south}")).await;
    filtered.expect(200);
    assert_eq!(listed(&filtered.body), vec!["near"]);
    assert_eq!(
        filtered.text_of("user-count"),
        "1 user matches these filters among the users in your desks (you and everyone sharing a desk with you)."
    );
    // A viewer makes no changes: no mass actions, no per-user change, and no "out of reach" noise.
    users.lacks("id=\"bulk-action\"").lacks(&format!("/console/users/{near}/edit")).lacks("Out of your reach");
    // Outside the desks a user is not found, as in another account.
    console.get(&format!("/console/users/{far}/sessions")).await.expect(404);
    console.get(&format!("/console/users/{far}/activity")).await.expect(404);
    console.get(&format!("/console/users/{near}/sessions")).await.expect(200);

    // A desk lead who may edit: the mass action's "all" says whom it means, and counts follow the desks.
    let lead_role = app
        .create_named(
            "roles",
            json!({ "name": "Desk lead", "scope": "desks",
        "permissions": ["users.view", "users.edit"] }),
        )
        .await;
    app.user_with_password("lead", PW, json!({ "roles": [lead_role], "desks": [south] })).await;
    let lead = Console::sign_in(&app, "lead", PW).await;
    let page = lead.get("/console/users").await;
    page.expect(200).has("All users in your desks");
    assert_eq!(listed(&page.body), vec!["far", "lead", "near"]);
    assert!(page.text_of("user-count").starts_with("3 users in your desks"), "{}", page.text_of("user-count"));
}

async fn my_account_changes_my_email_with_my_password(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let me = app.user_with_password("mia", PW, json!({ "email": "mia@example.com" })).await;
    app.user_with_password("other", PW, json!({ "email": "other@example.com" })).await;
    let console = Console::sign_in(&app, "mia", PW).await;
    let page = console.get("/console/me").await;
    page.expect(200).has("id=\"me-email\"").has("mia@example.com");

    // A wrong password: refused next to the password, nothing changed.
    let wrong = console
        .post("/console/me/email", &[("email", "mia@new.example.com"), ("current_password", "not-my-password-1")])
        .await;
    wrong.expect(422).has("id=\"f-current_password-error\"").has("Is not your current password.");
    assert_eq!(wrong.value_of("email"), "mia@new.example.com", "what was typed stays");
    assert_eq!(app.get_user(me).await.json(200)["email"], "mia@example.com");
    // Someone else's address, or no address at all: refused next to the email.
    let taken = console.post("/console/me/email", &[("email", "other@example.com"), ("current_password", PW)]).await;
    taken.expect(422).has("id=\"f-email-error\"").has("already taken");
    let invalid = console.post("/console/me/email", &[("email", "not an address"), ("current_password", PW)]).await;
    invalid.expect(422).has("id=\"f-email-error\"");
    assert_eq!(app.get_user(me).await.json(200)["email"], "mia@example.com");

    // The right password: changed, and the page says so.
    let done = console.post("/console/me/email", &[("email", "mia@new.example.com"), ("current_password", PW)]).await;
    done.redirects_to("/console/me?notice=email");
    assert_eq!(app.get_user(me).await.json(200)["email"], "mia@new.example.com");
    console
        .get("/console/me?notice=email")
        .await
        .expect(200)
        .has("Your email address was changed.")
        .has("mia@new.example.com");
    let events = app.activity(&format!("user={me}&action=user.updated")).await;
    assert!(events.iter().any(|e: &Value| e["changes"]["by"] == "self"), "{events:?}");
}

async fn my_own_user_form_locks_what_only_my_account_or_others_change(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let north = app.desk("North").await;
    let lead_role = app
        .create_named(
            "roles",
            json!({ "name": "Desk lead", "scope": "desks",
        "permissions": ["users.view", "users.edit", "users.passwords"] }),
        )
        .await;
    let me = app
        .user_with_password("lead", PW, json!({ "roles": [lead_role], "desks": [north], "email": "lead@example.com" }))
        .await;
    let peer = app.user_with_password("mate", PW, json!({ "desks": [north] })).await;
    let console = Console::sign_in(&app, "lead", PW).await;

    let form = console.get(&format!("/console/users/{me}/edit")).await;
    form.expect(200).has("id=\"own-user-note\"").has("href=\"/console/me\"");
    for id in [
        "f-email",
        "f-status",
        "f-two_factor_method",
        "f-is_end_user",
        "f-is_company_supervisor",
        &format!("f-roles-{lead_role}"),
        &format!("f-desks-{north}"),
    ] {
        assert!(tag_of(&form.body, id).contains("disabled"), "#{id} is not disabled: {}", tag_of(&form.body, id));
    }
    assert!(!tag_of(&form.body, "f-first_name").contains("disabled"), "{}", tag_of(&form.body, "f-first_name"));
    // Saved as shown, with a change the lead may make: the locked values go back unchanged.
    let version = form.value_of("version");
    let mut post: Vec<(&str, String)> =
        vec![("version", version), ("login", "lead".into()), ("first_name", "Lea".into())];
    for name in ["email", "status", "two_factor_method", "two_factor_mode"] {
        post.push((name, hidden_value(&form.body, name)));
    }
    post.push(("roles", lead_role.to_string()));
    post.push(("desks", north.to_string()));
    let post: Vec<(&str, &str)> = post.iter().map(|(k, v)| (*k, v.as_str())).collect();
    console.post(&format!("/console/users/{me}/edit"), &post).await.redirects_to("/console/users?notice=saved");
    let after = app.get_user(me).await.json(200);
    assert_eq!((after["first_name"].clone(), after["email"].clone()), (json!("Lea"), json!("lead@example.com")));
    // A crafted post changing the own email is still the service's to refuse.
    let version = version_of(&app, me).await;
    let crafted = [
        ("version", version.as_str()),
        ("login", "lead"),
        ("email", "lead@evil.example.com"),
        ("status", "active"),
        ("roles", &lead_role.to_string()),
        ("desks", &north.to_string()),
    ];
    console.post(&format!("/console/users/{me}/edit"), &crafted).await.expect(422).has("My Account");
    assert_eq!(app.get_user(me).await.json(200)["email"], "lead@example.com");

    // Someone else's form is not locked; one's own password page points to My Account.
    let other = console.get(&format!("/console/users/{peer}/edit")).await;
    other.expect(200).lacks("id=\"own-user-note\"");
    assert!(!tag_of(&other.body, "f-email").contains("disabled"), "{}", tag_of(&other.body, "f-email"));
    console
        .get(&format!("/console/users/{me}/password"))
        .await
        .expect(200)
        .has("id=\"own-user-note\"")
        .lacks("id=\"password-form\"");
    console.get(&format!("/console/users/{peer}/password")).await.expect(200).has("id=\"password-form\"");
}

async fn roles_show_whom_they_reach(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.create_named("roles", json!({ "name": "Company lead", "scope": "company", "permissions": ["users.view"] }))
        .await;
    let (_, _, _) = app.user_with_permissions("role-reader", &["roles.view", "roles.manage", "users.view"]).await;
    let console = Console::sign_in(&app, "role-reader", STRONG).await;
    let roles = console.get("/console/roles").await;
    roles.expect(200).has(">Reaches<");
    assert!(
        row_of(&roles.body, "Supervisor").contains("Users of their desks"),
        "{}",
        row_of(&roles.body, "Supervisor")
    );
    assert!(
        row_of(&roles.body, "Company lead").contains("End users of their company"),
        "{}",
        row_of(&roles.body, "Company lead")
    );
    assert!(row_of(&roles.body, "Admin").contains("The whole account"), "{}", row_of(&roles.body, "Admin"));
    // The form offers scopes no wider than the viewer's own reach, each labelled.
    let form = console.get("/console/roles/new").await;
    form.expect(200).has("<label for=\"f-scope\">Reaches</label>").has("value=\"desks\"").has("value=\"self\"");
}

/// The Users page takes its pickers and what decides reach (D2) from memory: a change to the
/// catalog made behind the services' back, straight in the database, shows on the next page.
async fn the_users_page_follows_catalog_changes_made_anywhere(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.user_with_permissions("editor", &["users.view", "users.edit", "users.passwords", "users.delete"]).await;
    let ops = app.create_named("groups", json!({ "name": "Ops" })).await;
    let helper = app.create_named("roles", json!({ "name": "Helper", "permissions": ["users.view"] })).await;
    let member = app.user_with_password("member", PW, json!({ "groups": [ops] })).await;
    let holder = app.user_with_password("holder", PW, json!({ "roles": [helper] })).await;
    let console = Console::sign_in(&app, "editor", STRONG).await;
    let in_reach = |body: &str, login: &str, id: i64| {
        let row = row_of(body, login).to_string();
        let edit = row.contains(&format!("/console/users/{id}/edit"));
        assert_eq!(edit, !row.contains("Out of your reach"), "{row}");
        edit
    };
    let page = console.get("/console/users").await;
    page.expect(200);
    assert!(in_reach(&page.body, "member", member) && in_reach(&page.body, "holder", holder));
    let picker = |body: &str| body.contains(">Annex Two<");
    assert!(!picker(&page.body));

    // The group now carries the Admin role; the role now grants what the editor lacks; a desk
    // appears under another name than it was created with.
    let annex = app.desk("Annex").await;
    let mut tx = app.open_transaction().await;
    tx.execute(&format!(
        "INSERT INTO group_roles (group_id, role_id) SELECT {ops}, r.id FROM roles r \
         JOIN groups g ON g.account_id = r.account_id WHERE g.id = {ops} AND r.builtin = 'admin'"
    ))
    .await;
    tx.execute(&format!("INSERT INTO role_permissions (role_id, permission) VALUES ({helper}, 'settings.manage')"))
        .await;
    tx.execute(&format!("UPDATE desks SET name = 'Annex Two', name_key = 'annex two' WHERE id = {annex}")).await;
    tx.commit().await;
    let page = console.get("/console/users").await;
    page.expect(200);
    assert!(!in_reach(&page.body, "member", member), "a member of a group carrying Admin is out of reach");
    assert!(!in_reach(&page.body, "holder", holder), "a holder of a role granting more is out of reach");
    assert!(picker(&page.body), "the renamed desk is offered");

    // Undone the same way: both back in reach, the desk gone from the pickers.
    let mut tx = app.open_transaction().await;
    tx.execute(&format!("DELETE FROM group_roles WHERE group_id = {ops}")).await;
    tx.execute(&format!("DELETE FROM role_permissions WHERE role_id = {helper} AND permission = 'settings.manage'"))
        .await;
    tx.execute(&format!("DELETE FROM desks WHERE id = {annex}")).await;
    tx.commit().await;
    let page = console.get("/console/users").await;
    page.expect(200);
    assert!(in_reach(&page.body, "member", member) && in_reach(&page.body, "holder", holder));
    assert!(!picker(&page.body));
}

/// A user's row is made once for each set of actions offered and kept with their record: each
/// viewer still sees only their own actions, in any order and however often, and a change to the
/// user shows to every viewer on their next page.
async fn a_kept_row_shows_each_viewer_their_own_actions(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    for (login, permissions) in [
        ("reader", &["users.view"][..]),
        ("editor", &["users.view", "users.edit"][..]),
        ("remover", &["users.view", "users.delete"][..]),
    ] {
        app.user_with_permissions(login, permissions).await;
    }
    let peer = app.user_with_password("peer", PW, json!({ "email": "peer@example.com" })).await;
    let admin = Console::sign_in_with_second_factor(&app, &app.admin_login, &app.admin_password).await;
    let reader = Console::sign_in(&app, "reader", STRONG).await;
    let editor = Console::sign_in(&app, "editor", STRONG).await;
    let remover = Console::sign_in(&app, "remover", STRONG).await;
    let edit = format!("/console/users/{peer}/edit");
    let delete = format!("/console/users/{peer}/delete");
    let select = format!("name=\"ids\" value=\"{peer}\"");
    // (viewer, their login, offered edit, offered delete, may select): more viewers than rows
    // kept per user.
    let viewers = [
        (&admin, app.admin_login.as_str(), true, true, true),
        (&reader, "reader", false, false, false),
        (&editor, "editor", true, false, true),
        (&remover, "remover", false, true, true),
    ];
    let you = "class=\"badge you\"";
    for round in 0..3 {
        for i in 0..viewers.len() {
            // Each round starts with another viewer, so that each is both first and not.
            let (console, login, may_edit, may_delete, may_select) = viewers[(i + round) % viewers.len()];
            let page = console.get("/console/users").await;
            page.expect(200);
            let row = row_of(&page.body, "peer");
            assert_eq!(row.contains(&edit), may_edit, "round {round}, edit:\n{row}");
            assert_eq!(row.contains(&delete), may_delete, "round {round}, delete:\n{row}");
            assert_eq!(row.contains(&select), may_select, "round {round}, selectable:\n{row}");
            assert!(row.contains("peer@example.com"), "{row}");
            // "You" on one's own row only, though every viewer is shown every viewer's row.
            for (_, other, ..) in viewers {
                let row = row_of(&page.body, other);
                assert_eq!(row.contains(you), other == login, "{login} viewing {other}:\n{row}");
            }
        }
    }

    // A change to the user: every viewer's next page shows it.
    app.update_user(peer, json!({ "email": "peer@example.org" })).await;
    for (console, ..) in viewers {
        let page = console.get("/console/users").await;
        let row = row_of(&page.body, "peer");
        assert!(row.contains("peer@example.org") && !row.contains("peer@example.com"), "{row}");
        assert!(!row.contains("status-locked"), "{row}");
    }
    // Locked out by failed sign-ins: every viewer's next page shows the lock.
    app.set_security(|s| s["lockout"]["max_failures"] = json!(3)).await;
    for _ in 0..3 {
        app.login("peer", "wrong-password-1").await.expect(401);
    }
    for (console, ..) in viewers {
        let page = console.get("/console/users").await;
        let row = row_of(&page.body, "peer");
        assert!(row.contains("status-locked"), "{row}");
    }
}
