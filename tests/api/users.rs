//! Users over the API: the create/read/edit/delete round trip, uniqueness (R1, R2, R5),
//! defaults (R8), generated passwords (R9, R23) and concurrent edits (ETag / If-Match).

use serde_json::{Value, json};

use crate::helpers::{Engine, TestApp, id_of};

both_engines!(
    create_read_edit_delete_round_trip,
    new_users_are_active_by_default,
    logins_are_unique_ignoring_case,
    emails_and_extensions_are_unique,
    a_generated_password_is_shown_once_and_works,
    an_admin_sets_a_password_with_confirmation,
    stale_and_missing_if_match_are_refused,
    concurrent_edits_of_one_version_let_exactly_one_win,
);

fn full_user() -> Value {
    json!({
        "login": "ann.lee",
        "email": "ann.lee@example.com",
        "first_name": "Ann",
        "last_name": "Lee",
        "phone": "+4915112345678",
        "mobile": "+14155550123",
        "extension": "1001",
        "sip_username": "ann1001",
        "phone_topology": "web_phone",
        "company": "Acme GmbH",
        "related_contact": "Bob (manager)",
        "external_id": "HR-42",
        "time_zone": "Europe/Berlin",
        "date_format": "DD/MM/YYYY",
        "time_format": "24h",
        "receive_email": false,
        "receive_sms": true,
        "is_agent": true,
        "is_supervisor": false,
        "is_end_user": false,
        "password": "s3cret-enough",
    })
}

async fn create_read_edit_delete_round_trip(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let desk = app.desk("Sales").await;
    let skill = app.skill("German").await;
    let agent = app.builtin_role("agent").await;
    let mut input = full_user();
    input["desks"] = json!([desk]);
    input["skills"] = json!([skill]);
    input["roles"] = json!([agent]);

    let created = app.create_user(input.clone()).await;
    let etag = created.etag();
    let user = created.json(201);
    let id = id_of(&user);
    for (field, value) in input.as_object().unwrap() {
        if matches!(field.as_str(), "password" | "desks" | "skills" | "roles") {
            continue;
        }
        assert_eq!(&user[field], value, "field {field} of the created user: {user}");
    }
    assert_eq!(user["display_name"], "Ann Lee");
    assert_eq!(user["status"], "active");
    assert!(user.get("password").is_none() && user.get("password_hash").is_none(), "secrets shown: {user}");
    assert!(user.get("generated_password").is_none(), "a chosen password is never echoed: {user}");
    assert_eq!(crate::helpers::names(&user, "desks"), vec!["Sales"]);
    assert_eq!(crate::helpers::names(&user, "skills"), vec!["German"]);
    assert_eq!(crate::helpers::names(&user, "roles"), vec!["Agent"]);

    let read = app.get_user(id).await;
    assert_eq!(read.etag(), etag, "GET shows the ETag POST returned");
    let read = read.json(200);
    assert_eq!(read["email"], "ann.lee@example.com");
    assert_eq!(read["time_zone"], "Europe/Berlin");

    // PATCH: absent fields keep their value, null clears.
    let patched = app.patch_user(id, Some(&etag), json!({ "first_name": "Anna", "phone": null, "desks": [] })).await;
    let new_etag = patched.etag();
    assert_ne!(new_etag, etag, "an edit changes the ETag");
    let patched = patched.json(200);
    assert_eq!(patched["first_name"], "Anna");
    assert_eq!(patched["display_name"], "Anna Lee");
    assert_eq!(patched["phone"], Value::Null);
    assert_eq!(patched["mobile"], "+14155550123");
    assert_eq!(patched["email"], "ann.lee@example.com");
    assert!(patched["desks"].as_array().unwrap().is_empty());
    assert_eq!(crate::helpers::names(&patched, "skills"), vec!["German"]);
    let again = app.get_user(id).await;
    assert_eq!(again.etag(), new_etag);
    assert_eq!(again.body["first_name"], "Anna");
    assert_eq!(again.body["phone"], Value::Null);

    // R3: without names the display name is the login.
    let bare = app.new_user(json!({ "login": "nonames" })).await;
    assert_eq!(bare["display_name"], "nonames");

    app.delete_user(id).await.expect(204);
    app.get_user(id).await.problem(404);
    app.delete_user(id).await.problem(404);
    let logins = app.logins("limit=500").await;
    assert!(!logins.contains(&"ann.lee".to_string()), "deleted user still listed: {logins:?}");
}

async fn new_users_are_active_by_default(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let user = app.new_user(json!({ "login": "fresh" })).await;
    assert_eq!(user["status"], "active", "R8: {user}");
    let id = id_of(&user);
    assert_eq!(app.get_user(id).await.json(200)["status"], "active");
    let disabled = app.new_user(json!({ "login": "parked", "status": "disabled" })).await;
    assert_eq!(disabled["status"], "disabled", "an explicit status is kept");
    assert_eq!(app.logins("status=active&q=fresh").await, vec!["fresh"]);
}

async fn logins_are_unique_ignoring_case(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.new_user(json!({ "login": "Bob.Smith" })).await;
    for taken in ["bob.smith", "BOB.SMITH", "Bob.Smith"] {
        app.create_user(json!({ "login": taken })).await.problem_on(409, "login");
    }
    // The first admin's login is taken too, whatever the case.
    app.create_user(json!({ "login": app.admin_login.to_uppercase() })).await.problem_on(409, "login");
    // Renaming another user onto a taken login is refused as well.
    let other = id_of(&app.new_user(json!({ "login": "carol" })).await);
    let etag = app.get_user(other).await.etag();
    app.patch_user(other, Some(&etag), json!({ "login": "BOB.smith" })).await.problem_on(409, "login");
    assert_eq!(app.get_user(other).await.json(200)["login"], "carol");
    // Changing only the case of one's own login is not a conflict.
    let bob = app.list_users("q=bob.smith").await.json(200)["items"][0]["id"].as_i64().unwrap();
    assert_eq!(app.update_user(bob, json!({ "login": "bob.SMITH" })).await["login"], "bob.SMITH");
}

async fn emails_and_extensions_are_unique(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.new_user(json!({ "login": "ann", "email": "ann@example.com", "extension": "200" })).await;

    let dup_email = app.create_user(json!({ "login": "ann2", "email": "ann@example.com" })).await;
    assert_eq!(dup_email.problem_on(409, "email")["errors"][0]["field"], "email");
    let dup_email_case = app.create_user(json!({ "login": "ann3", "email": "ANN@Example.com" })).await;
    dup_email_case.problem_on(409, "email");
    let dup_ext = app.create_user(json!({ "login": "ann4", "extension": "200" })).await;
    assert_eq!(dup_ext.problem_on(409, "extension")["errors"][0]["field"], "extension");

    // Nothing of the refused users was written.
    let logins = app.logins("q=ann").await;
    assert_eq!(logins, vec!["ann"]);

    // Edits are checked too.
    let bo = id_of(&app.new_user(json!({ "login": "bo", "email": "bo@example.com", "extension": "201" })).await);
    let etag = app.get_user(bo).await.etag();
    app.patch_user(bo, Some(&etag), json!({ "extension": "200" })).await.problem_on(409, "extension");
    app.patch_user(bo, Some(&etag), json!({ "email": "ann@example.com" })).await.problem_on(409, "email");
    let unchanged = app.get_user(bo).await.json(200);
    assert_eq!((unchanged["email"].clone(), unchanged["extension"].clone()), (json!("bo@example.com"), json!("201")));

    // Without extensions and emails, many users coexist.
    app.new_user(json!({ "login": "noext1" })).await;
    app.new_user(json!({ "login": "noext2" })).await;
}

async fn a_generated_password_is_shown_once_and_works(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let created = app.new_user(json!({ "login": "gen" })).await;
    let password = created["generated_password"].as_str().expect("R9: a generated password is returned").to_string();
    assert!(password.len() >= 12, "a generated password is strong: {password:?}");
    let id = id_of(&created);

    let token = app.sign_in("gen", &password).await;
    assert_eq!(app.session(&token).await.json(200)["user"]["login"], "gen");

    // Never shown again: not on reads, not in lists, not in the activity log.
    let read = app.get_user(id).await;
    assert!(!read.text().contains(&password), "the password is shown again: {}", read.text());
    assert!(read.body.get("generated_password").is_none());
    let list = app.list_users("q=gen").await;
    assert!(!list.text().contains(&password));
    let activity = app.get(&format!("{}?user={id}", app.acct("activity"))).await;
    assert!(!activity.text().contains(&password), "the activity log shows the password");

    // R23: a reset to a generated password returns a new one once; the old one stops working.
    let reset = app.set_password(id, json!({ "must_change_password": true })).await.json(200);
    let second = reset["generated_password"].as_str().expect("a reset returns the generated password").to_string();
    assert_ne!(second, password);
    app.login("gen", &password).await.problem(401);
    let after = app.get_user(id).await.json(200);
    assert_eq!(after["must_change_password"], true, "{after}");
}

async fn an_admin_sets_a_password_with_confirmation(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = app.user_with_password("dan", "tsrifq-password-1", json!({})).await;
    let token = app.sign_in("dan", "tsrifq-password-1").await;

    let mismatch = app
        .set_password(id, json!({ "password": "dnocesq-password-2", "password_confirmation": "opytq-password-2" }))
        .await;
    mismatch.problem_on(422, "password_confirmation");
    app.set_password(id, json!({ "password": "short" })).await.problem_on(422, "password");
    // Neither refused request changed anything or ended the session.
    app.session(&token).await.expect(200);
    app.sign_in("dan", "tsrifq-password-1").await;

    let done = app
        .set_password(id, json!({ "password": "dnocesq-password-2", "password_confirmation": "dnocesq-password-2" }))
        .await
        .json(200);
    assert!(done.get("generated_password").is_none(), "only a generated password is in the answer: {done}");
    // R25: a password change ends the user's sessions at once.
    app.session(&token).await.problem(401);
    app.login("dan", "tsrifq-password-1").await.problem(401);
    app.sign_in("dan", "dnocesq-password-2").await;
    // The password cannot be set through PATCH.
    let etag = app.get_user(id).await.etag();
    app.patch_user(id, Some(&etag), json!({ "password": "drihtq-password-3" })).await.problem_on(422, "password");
}

async fn stale_and_missing_if_match_are_refused(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let created = app.create_user(json!({ "login": "eve", "first_name": "Eve" })).await;
    let first = created.etag();
    let id = id_of(&created.json(201));

    let missing = app.patch_user(id, None, json!({ "first_name": "Evil" })).await;
    missing.problem(428);
    let second = app.patch_user(id, Some(&first), json!({ "first_name": "Eva" })).await;
    let second_etag = second.etag();
    second.expect(200);
    // Another writer still holding the first version loses, and loses nothing of Eva.
    app.patch_user(id, Some(&first), json!({ "last_name": "Stale" })).await.problem(412);
    let now = app.get_user(id).await.json(200);
    assert_eq!((now["first_name"].clone(), now["last_name"].clone()), (json!("Eva"), Value::Null));
    // Garbage in If-Match is stale too; a weak form of the current tag is accepted.
    app.patch_user(id, Some("\"not-a-version\""), json!({ "last_name": "X" })).await.problem(412);
    let weak = format!("W/{second_etag}");
    assert_eq!(app.patch_user(id, Some(&weak), json!({ "last_name": "Adams" })).await.json(200)["last_name"], "Adams");
    // An unknown user is 404, not 412.
    app.patch_user(987_654, Some(&second_etag), json!({ "last_name": "X" })).await.problem(404);
}

async fn concurrent_edits_of_one_version_let_exactly_one_win(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let created = app.create_user(json!({ "login": "race" })).await;
    let etag = created.etag();
    let id = id_of(&created.json(201));
    let attempts = (0..6).map(|i| app.patch_user(id, Some(&etag), json!({ "company": format!("Writer {i}") })));
    let results = futures::future::join_all(attempts).await;
    let winners: Vec<&crate::helpers::Resp> = results.iter().filter(|r| r.status == 200).collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one writer of version {etag} wins: {:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in results.iter().filter(|r| r.status != 200) {
        r.problem(412);
    }
    let now = app.get_user(id).await.json(200);
    assert_eq!(now["company"], winners[0].body["company"], "the winner's write is the one kept");
    let updates = app.activity(&format!("user={id}&action=user.updated")).await;
    assert_eq!(updates.len(), 1, "one change, one record: {updates:#?}");
}
