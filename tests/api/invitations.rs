//! Invitations (R19, R2, R20): invite one or many, send now or later, the link's page, accept
//! with a login and password and be signed in (with the authenticator's set-up where required),
//! resend (not within the minute), readdress, revoke, expire by the clock, mass actions, and
//! every refusal — all or nothing.

use reqwest::Method;
use reqwest::redirect::Policy;
use serde_json::{Value, json};

use crate::helpers::{Console, Engine, STRONG, TestApp, list_items};

both_engines!(
    an_invited_person_accepts_and_is_signed_in,
    links_that_no_longer_work_say_why,
    resend_readdress_and_revoke,
    saved_invitations_and_mass_actions,
    refusals_invite_nobody,
    an_invited_admin_sets_up_the_authenticator_first,
    the_console_invites_and_manages_invitations,
    a_desk_lead_invites_within_their_reach,
    an_invited_user_is_edited_deleted_and_guarded,
);

const DAY: i64 = 24 * 3_600_000;

async fn invite(app: &TestApp, body: Value) -> Vec<Value> {
    app.post(&app.acct("invitations"), body).await.json(201).as_array().unwrap().clone()
}

/// The token of the newest invitation mail to `to`.
async fn link_to(app: &TestApp, to: &str) -> String {
    let mail = app.mailbox.wait_for(to).await;
    let link = mail.link();
    assert!(link.starts_with(&format!("{}/invite/", app.base)), "{link}");
    link.rsplit('/').next().unwrap().to_string()
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(Policy::none()).build().unwrap()
}

async fn accept(
    app: &TestApp,
    client: &reqwest::Client,
    token: &str,
    form: &[(&str, &str)],
) -> (u16, String, Option<String>) {
    let r = client.post(app.url(&format!("/invite/{token}"))).form(form).send().await.unwrap();
    let status = r.status().as_u16();
    let location = r.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_string);
    (status, r.text().await.unwrap(), location)
}

async fn an_invited_person_accepts_and_is_signed_in(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let agent = app.builtin_role("agent").await;
    let desk = app.desk("Sales").await;
    let made = invite(
        &app,
        json!({ "invitees": [{ "email": "Ann.Smith@Example.com", "first_name": "Ann" }],
        "roles": [agent], "desks": [desk] }),
    )
    .await;
    assert_eq!(made[0]["state"], "sent", "{made:?}");
    assert_eq!(made[0]["login"], "Ann.Smith", "made from the address");
    let user_id = made[0]["user_id"].as_i64().unwrap();
    let user = app.get_user(user_id).await.json(200);
    assert_eq!(user["status"], "invited");
    assert!(user["invitation_expires_at"].is_string(), "{user}");
    assert_eq!(app.logins("status=invited").await, vec!["Ann.Smith"]);
    assert!(!app.logins("status=active").await.contains(&"Ann.Smith".to_string()));

    // The mail names the account, who invited and the role, and holds the link.
    let mail = app.mailbox.wait_for("Ann.Smith@Example.com").await;
    assert!(mail.subject.contains("Default"), "{}", mail.subject);
    assert!(
        mail.text.contains(&app.admin_login) && mail.text.contains("Agent") && mail.text.contains("7 days"),
        "{}",
        mail.text
    );
    let token = mail.link().rsplit('/').next().unwrap().to_string();

    let page = reqwest::get(app.url(&format!("/invite/{token}"))).await.unwrap();
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap();
    assert!(body.contains("Join Default") && body.contains("Agent") && body.contains("value=\"Ann.Smith\""), "{body}");

    // Bad choices are named and change nothing.
    let client = browser();
    let (status, body, _) =
        accept(&app, &client, &token, &[("login", "ann smith"), ("password", STRONG), ("password_confirm", STRONG)])
            .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("f-login-error"), "{body}");
    let (status, body, _) =
        accept(&app, &client, &token, &[("login", "ann"), ("password", "short"), ("password_confirm", "short")]).await;
    assert_eq!(status, 422);
    assert!(body.contains("f-password-error"), "{body}");
    let (status, _, _) =
        accept(&app, &client, &token, &[("login", "ann"), ("password", STRONG), ("password_confirm", "other")]).await;
    assert_eq!(status, 422);
    app.user_with_password("taken", STRONG, json!({})).await;
    let (status, body, _) =
        accept(&app, &client, &token, &[("login", "TAKEN"), ("password", STRONG), ("password_confirm", STRONG)]).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(app.get_user(user_id).await.json(200)["status"], "invited");

    // Accepted: signed in at once, in the console.
    let (status, _, location) =
        accept(&app, &client, &token, &[("login", "ann"), ("password", STRONG), ("password_confirm", STRONG)]).await;
    assert_eq!((status, location.as_deref()), (303, Some("/console/users")));
    let console = client.get(app.url("/console/me")).send().await.unwrap();
    assert_eq!(console.status(), 200);
    let user = app.get_user(user_id).await.json(200);
    assert_eq!(user["status"], "active");
    assert_eq!(user["login"], "ann");
    assert_eq!(user["desks"][0]["name"], "Sales");
    app.sign_in("ann", STRONG).await;
    let invitation = app.get(&format!("{}/{}", app.acct("invitations"), made[0]["id"])).await.json(200);
    assert_eq!(invitation["state"], "accepted");
    let events: Vec<String> = app
        .activity(&format!("user={user_id}"))
        .await
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    for action in ["user.created", "user.invitation_sent", "user.invitation_accepted"] {
        assert!(events.contains(&action.to_string()), "{action} in {events:?}");
    }

    // The link works once.
    let again = reqwest::get(app.url(&format!("/invite/{token}"))).await.unwrap();
    assert_eq!(again.status(), 410);
    assert!(again.text().await.unwrap().contains("accepted already"));
}

async fn links_that_no_longer_work_say_why(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    invite(&app, json!({ "invitees": [{ "email": "late@example.com" }] })).await;
    let token = link_to(&app, "late@example.com").await;
    let open = |t: String| {
        let url = app.url(&format!("/invite/{t}"));
        async move {
            let r = reqwest::get(url).await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    assert_eq!(open(token.clone()).await.0, 200);
    // The account's 7 days pass on the clock.
    app.clock.advance(7 * DAY + 1).await;
    let (status, body) = open(token.clone()).await;
    assert_eq!(status, 410);
    assert!(body.contains("expired"), "{body}");
    let listed = list_items(&app.get(&app.acct("invitations")).await.json(200));
    assert_eq!(listed[0]["expired"], true);
    // Posting to it does nothing either.
    let (status, _, _) =
        accept(&app, &browser(), &token, &[("login", "late"), ("password", STRONG), ("password_confirm", STRONG)])
            .await;
    assert_eq!(status, 410);
    assert_eq!(app.logins("status=invited").await, vec!["late"]);
    let (status, body) = open("not-a-token".into()).await;
    assert_eq!(status, 410);
    assert!(body.contains("not valid"), "{body}");
}

async fn resend_readdress_and_revoke(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.post("/api/v1/accounts", json!({ "slug": "acme", "name": "Acme", "seat_limit": 1 })).await.json(201);
    let made = app
        .post("/api/v1/accounts/acme/invitations", json!({ "invitees": [{ "email": "bo@example.com" }] }))
        .await
        .json(201);
    let id = made[0]["id"].as_i64().unwrap();
    let path = format!("/api/v1/accounts/acme/invitations/{id}");
    let first = link_to(&app, "bo@example.com").await;

    // Not again within the minute.
    let soon = app.post(&format!("{path}/send"), json!({})).await;
    soon.problem(429);
    assert!(soon.headers.get("retry-after").is_some());
    app.clock.advance(61_000).await;
    let again = app.post(&format!("{path}/send"), json!({})).await.json(200);
    assert_eq!(again["sends"], 2);
    let second = link_to(&app, "bo@example.com").await;
    assert_ne!(first, second);
    let dead = reqwest::get(app.url(&format!("/invite/{first}"))).await.unwrap();
    assert_eq!(dead.status(), 410, "the older link stops working");

    // A new address: the user's email follows, the link so far stops, a new one goes there
    // (a sending like a resend: not within the minute).
    app.send(app.req(Method::PATCH, &path).json(&json!({ "email": "bo@elsewhere.org" }))).await.problem(429);
    app.clock.advance(61_000).await;
    let moved = app.send(app.req(Method::PATCH, &path).json(&json!({ "email": "bo@elsewhere.org" }))).await.json(200);
    assert_eq!(moved["email"], "bo@elsewhere.org");
    let third = link_to(&app, "bo@elsewhere.org").await;
    assert_eq!(reqwest::get(app.url(&format!("/invite/{second}"))).await.unwrap().status(), 410);
    assert_eq!(reqwest::get(app.url(&format!("/invite/{third}"))).await.unwrap().status(), 200);
    let user = moved["user_id"].as_i64().unwrap();
    assert_eq!(app.get(&format!("/api/v1/accounts/acme/users/{user}")).await.json(200)["email"], "bo@elsewhere.org");
    app.send(app.req(Method::PATCH, &path).json(&json!({ "email": "nope" }))).await.problem_on(422, "email");

    // The seat is taken (1 of 1): nobody else is invited; revoking frees it.
    let full =
        app.post("/api/v1/accounts/acme/invitations", json!({ "invitees": [{ "email": "cy@example.com" }] })).await;
    full.problem_field(409, "seats", "seats_full");
    let revoked = app.delete(&path).await.json(200);
    assert_eq!(revoked["state"], "revoked");
    app.get(&format!("/api/v1/accounts/acme/users/{user}")).await.problem(404);
    let page = reqwest::get(app.url(&format!("/invite/{third}"))).await.unwrap();
    assert_eq!(page.status(), 410);
    assert!(page.text().await.unwrap().contains("withdrawn"));
    app.delete(&path).await.problem_field(409, "state", "over");
    app.post(&format!("{path}/send"), json!({})).await.problem_field(409, "state", "over");
    app.post("/api/v1/accounts/acme/invitations", json!({ "invitees": [{ "email": "cy@example.com" }] }))
        .await
        .json(201);
}

async fn saved_invitations_and_mass_actions(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let made = invite(
        &app,
        json!({ "invitees": [{ "email": "a@example.com" }, { "email": "b@example.com" },
        { "email": "c@example.com", "login": "cee", "extension": "301" }], "send": false }),
    )
    .await;
    assert!(made.iter().all(|i| i["state"] == "saved"), "{made:?}");
    assert_eq!(made[2]["login"], "cee");
    assert!(app.mailbox.all().iter().all(|m| !m.to.ends_with("@example.com")), "nothing sent yet");
    assert_eq!(
        app.get(&format!("{}?state=saved", app.acct("invitations"))).await.json(200)["items"].as_array().unwrap().len(),
        3
    );

    let filter = json!({ "filter": { "status": ["invited"] } });
    let preview = app.bulk(json!({ "action": "resend_invitation", "target": filter, "dry_run": true })).await.json(200);
    assert_eq!(preview["changed"], 3);
    let sent = app.bulk(json!({ "action": "resend_invitation", "target": filter })).await.json(200);
    assert_eq!(sent["changed"], 3);
    for to in ["a@example.com", "b@example.com", "c@example.com"] {
        link_to(&app, to).await;
    }
    // Within the minute, a mass resend leaves them alone.
    assert_eq!(app.bulk(json!({ "action": "resend_invitation", "target": filter })).await.json(200)["changed"], 0);
    let a = made[0]["user_id"].as_i64().unwrap();
    let revoked = app.bulk(json!({ "action": "revoke_invitation", "target": { "ids": [a] } })).await.json(200);
    assert_eq!(revoked["changed"], 1);
    app.get_user(a).await.problem(404);
    assert_eq!(app.logins("status=invited").await.len(), 2);
    // Mass activation never reaches invited users: their way in is their invitation.
    let activated = app.bulk(json!({ "action": "activate", "target": "all" })).await.json(200);
    assert_eq!(activated["changed"], 0);
    let events = app.activity("action=users.bulk_revoke_invitation").await;
    assert_eq!(events.len(), 1);
}

async fn refusals_invite_nobody(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.user_with_password("bob", STRONG, json!({ "email": "bob@example.com" })).await;
    let path = app.acct("invitations");
    app.post(&path, json!({ "invitees": [] })).await.problem_field(422, "invitees", "required");
    app.post(&path, json!({ "invitees": [{ "email": "ok@example.com" }, { "email": "not an address" }] }))
        .await
        .problem_on(422, "invitees[1].email");
    app.post(&path, json!({ "invitees": [{ "email": "x@example.com" }, { "email": "X@example.com" }] }))
        .await
        .problem_field(422, "invitees[1].email", "duplicate");
    // Taken by someone already in the account: named by place, nobody invited.
    app.post(&path, json!({ "invitees": [{ "email": "new@example.com" }, { "email": "BOB@example.com" }] }))
        .await
        .problem_on(409, "invitees[1].email");
    app.post(&path, json!({ "invitees": [{ "email": "n2@example.com", "login": "bad login" }] }))
        .await
        .problem_on(422, "invitees[0].login");
    app.post(&path, json!({ "invitees": [{ "email": "n3@example.com" }], "roles": [999999] }))
        .await
        .problem_on(422, "invitees[0].roles");
    assert!(app.logins("status=invited").await.is_empty(), "all or nothing");
    // An invited user's status is not edited, and nobody is made invited by an edit.
    let made = invite(&app, json!({ "invitees": [{ "email": "eve@example.com" }] })).await;
    let eve = made[0]["user_id"].as_i64().unwrap();
    let etag = app.get_user(eve).await.etag();
    app.patch_user(eve, Some(&etag), json!({ "status": "active" })).await.problem_field(422, "status", "invited");
    app.create_user(json!({ "login": "zed", "status": "invited" })).await.problem_field(422, "status", "by_invitation");
    app.login("eve", STRONG).await.expect(401);
    // Without users.create, no invitations.
    let (_, _, viewer) = app.user_with_permissions("viewer", &["users.view"]).await;
    app.post_as(&viewer, &path, json!({ "invitees": [{ "email": "v@example.com" }] })).await.problem(403);
}

async fn an_invited_admin_sets_up_the_authenticator_first(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.builtin_role("admin").await;
    invite(&app, json!({ "invitees": [{ "email": "chief@example.com" }], "roles": [admin] })).await;
    let token = link_to(&app, "chief@example.com").await;
    let (status, body, location) =
        accept(&app, &browser(), &token, &[("login", "chief"), ("password", STRONG), ("password_confirm", STRONG)])
            .await;
    assert_eq!(location, None, "not signed in yet");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("action=\"/login/totp-setup\""), "R27: an admin sets up the authenticator first:\n{body}");
}

async fn the_console_invites_and_manages_invitations(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let console = Console::sign_in_with_second_factor(&app, &app.admin_login, &app.admin_password).await;
    let agent = app.builtin_role("agent").await.to_string();
    console.get("/console/users").await.has("/console/users/invite");
    console.get("/console/users/invite").await.expect(200).has("Email addresses").has("Save and send later");
    // A bad address among good ones: nobody is invited, the form says which.
    let bad = [("addresses", "one@example.com\nnot-an-address"), ("roles", agent.as_str()), ("send", "now")];
    console.post("/console/users/invite", &bad).await.expect(422).has("invitees[1]");
    assert!(app.logins("status=invited").await.is_empty());
    let good = [("addresses", "one@example.com, two@example.com"), ("roles", agent.as_str()), ("send", "now")];
    let done = console.post("/console/users/invite", &good).await;
    assert!(done.redirect.as_deref().unwrap_or_default().starts_with("/console/users?status=invited"), "{done:?}");
    link_to(&app, "one@example.com").await;
    // CSV with names, saved for later.
    let csv = [("addresses", "email,first_name,extension\nxena@example.com,Xena,401"), ("send", "later")];
    console.post("/console/users/invite", &csv).await.redirect.expect("saved");
    let xena = app.list_all("q=xena").await;
    assert_eq!((xena[0]["first_name"].as_str(), xena[0]["extension"].as_str()), (Some("Xena"), Some("401")));
    let list = console.get("/console/users?status=invited").await;
    list.expect(200).has("Invited").has("Pending").has("Not sent");

    let one = app.list_all("q=one").await[0]["id"].as_i64().unwrap();
    let page = console.get(&format!("/console/users/{one}/invitation")).await;
    page.expect(200).has("one@example.com").has("Send again").has("Revoke");
    console.post(&format!("/console/users/{one}/invitation/send"), &[]).await.expect(409).has("less than a minute ago");
    app.clock.advance(61_000).await;
    console
        .post(&format!("/console/users/{one}/invitation/send"), &[])
        .await
        .expect(200)
        .has("The invitation was sent.");
    app.clock.advance(61_000).await;
    console
        .post(&format!("/console/users/{one}/invitation/address"), &[("email", "uno@example.com")])
        .await
        .expect(200)
        .has("the old link no longer works");
    link_to(&app, "uno@example.com").await;
    console
        .post(&format!("/console/users/{one}/invitation/revoke"), &[])
        .await
        .redirects_to("/console/users?notice=revoked");
    app.get_user(one).await.problem(404);
}

async fn a_desk_lead_invites_within_their_reach(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (sales, support) = (app.desk("Sales").await, app.desk("Support").await);
    let lead_role = app
        .create_named(
            "roles",
            json!({ "name": "Lead", "scope": "desks",
                "permissions": ["users.view", "users.create", "users.edit", "users.delete"] }),
        )
        .await;
    app.user_with_password("lead", STRONG, json!({ "roles": [lead_role], "desks": [sales] })).await;
    let lead = app.sign_in("lead", STRONG).await;
    let path = app.acct("invitations");
    // D8: into their own desk only; D1: nothing they do not hold.
    app.post_as(&lead, &path, json!({ "invitees": [{ "email": "s@example.com" }], "desks": [sales] })).await.json(201);
    let elsewhere =
        app.post_as(&lead, &path, json!({ "invitees": [{ "email": "t@example.com" }], "desks": [support] })).await;
    assert!(matches!(elsewhere.status.as_u16(), 403 | 404), "{}", elsewhere.text());
    let admin = app.builtin_role("admin").await;
    let too_much = app
        .post_as(
            &lead,
            &path,
            json!({ "invitees": [{ "email": "u@example.com" }], "desks": [sales], "roles": [admin] }),
        )
        .await;
    too_much.problem(403);
    // Someone else's invitation, out of their desks, is not theirs to see or revoke.
    let other =
        app.post(&path, json!({ "invitees": [{ "email": "v@example.com" }], "desks": [support] })).await.json(201);
    let other_path = format!("{path}/{}", other[0]["id"]);
    app.get_as(&lead, &other_path).await.problem(404);
    app.delete_as(&lead, &other_path).await.problem(404);
    let listed = app.get_as(&lead, &path).await.json(200);
    let emails: Vec<&str> = listed["items"].as_array().unwrap().iter().map(|i| i["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["s@example.com"], "only those they see");
}

async fn an_invited_user_is_edited_deleted_and_guarded(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    // A generated login avoids one taken with a number already: "sam", "sam2" exist.
    app.user_with_password("sam", STRONG, json!({})).await;
    app.user_with_password("sam2", STRONG, json!({})).await;
    let made = invite(&app, json!({ "invitees": [{ "email": "sam@example.com" }] })).await;
    assert_eq!(made[0]["login"], "sam3");
    let id = made[0]["user_id"].as_i64().unwrap();
    let path = format!("{}/{}", app.acct("invitations"), made[0]["id"]);
    // Edited like anyone, but not their status or address (the invitation's).
    let etag = app.get_user(id).await.etag();
    app.patch_user(id, Some(&etag), json!({ "first_name": "Sam" })).await.expect(200);
    let etag = app.get_user(id).await.etag();
    app.patch_user(id, Some(&etag), json!({ "email": "other@example.com" }))
        .await
        .problem_field(422, "email", "invited");
    let console = Console::sign_in_with_second_factor(&app, &app.admin_login, &app.admin_password).await;
    let form = console.get(&format!("/console/users/{id}/edit")).await;
    form.expect(200).has("They become active by accepting their invitation");
    // Not readdressed within the minute of a sending either; no deactivation periods.
    app.send(app.req(Method::PATCH, &path).json(&json!({ "email": "x@example.com" }))).await.problem(429);
    app.post(
        &format!("{}/deactivations", app.user_path(id)),
        json!({ "from": app.clock.now().plus_ms(3_600_000).to_rfc3339() }),
    )
    .await
    .problem_field(409, "status", "invited");
    // Revoking removes the user: it needs users.delete.
    let (_, _, editor) = app.user_with_permissions("editor", &["users.view", "users.edit", "users.create"]).await;
    app.delete_as(&editor, &path).await.problem(403);
    let revoke = json!({ "action": "revoke_invitation", "target": { "ids": [id] } });
    app.post_as(&editor, &app.acct("users/bulk"), revoke).await.problem(403);
    // Deleting the invited user ends the invitation: its link says withdrawn.
    let token = link_to(&app, "sam@example.com").await;
    app.delete_user(id).await.expect(204);
    assert_eq!(app.get(&path).await.json(200)["state"], "revoked");
    let page = reqwest::get(app.url(&format!("/invite/{token}"))).await.unwrap();
    assert_eq!(page.status(), 410);
    assert!(page.text().await.unwrap().contains("withdrawn"));
}
