//! The PBX directory (issue 14): a SIP server asks, per REGISTER and INVITE, whether a phone's
//! user may register, with which digest and call settings. Answered to API tokens holding
//! `directory.read` only; a user who may not register is told apart from a name nobody answers
//! to only to such a token; every change is in the next lookup, on this instance and another;
//! lookups are counted per token, never logged one by one. The FreeSWITCH format is tried with
//! the request its documentation shows (tests/fixtures/freeswitch/).

use md5::{Digest as _, Md5};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{Engine, Resp, TestApp, id_of, list_items};

both_engines!(
    a_phone_is_answered_with_its_digest_and_call_settings,
    who_may_not_register_is_told_apart_from_unknown,
    only_directory_tokens_are_answered,
    every_change_is_in_the_next_lookup_here_and_on_another_instance,
    directory_read_is_given_to_tokens_by_holders_of_sip_credentials,
    each_realm_names_one_account_and_each_sip_name_one_user,
    freeswitch_is_answered_its_documented_request,
    lookups_are_counted_per_token_and_never_logged,
    the_console_sets_the_sip_domain_and_shows_token_use,
);

const PW: &str = "correct-horse-9";
const SIP_PW: &str = "Reg1ster-Me!";

fn md5_hex(text: &str) -> String {
    hex::encode(Md5::digest(text.as_bytes()))
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A token of the first admin (a platform operator) holding `directory.read`.
async fn directory_token(app: &TestApp) -> (i64, String) {
    let made = app.api_token("kamailio", &["directory.read"]).await;
    (id_of(&made), made["token"].as_str().unwrap().to_string())
}

fn lookup_path(query: &str) -> String {
    format!("/api/v1/directory/lookup?{query}")
}

async fn lookup(app: &TestApp, token: &str, query: &str) -> Resp {
    app.get_as(token, &lookup_path(query)).await
}

/// A lookup that must answer 200: the entry.
async fn entry(app: &TestApp, token: &str, query: &str) -> Value {
    let r = lookup(app, token, query).await;
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"), "{}", r.what);
    r.json(200)
}

async fn phone_user(app: &TestApp, login: &str, extra: Value) -> i64 {
    let mut body = json!({ "login": login, "first_name": login, "extension": "1001", "sip_password": SIP_PW });
    crate::helpers::merge(&mut body, extra);
    id_of(&app.new_user(body).await)
}

async fn patch(app: &TestApp, path: &str, body: Value) -> Resp {
    let etag = app.get(path).await.etag();
    app.send(app.req(Method::PATCH, path).header("if-match", etag).json(&body)).await
}

async fn a_phone_is_answered_with_its_digest_and_call_settings(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (_, token) = directory_token(&app).await;
    phone_user(&app, "bob", json!({ "extension": "1002", "sip_password": null })).await;
    let ann = phone_user(&app, "ann", json!({ "last_name": "Smith" })).await;
    let settings = app.acct(&format!("users/{ann}/call-settings"));
    let body = json!({ "max_calls": 3, "blf": ["1002"], "caller_id": "+4930123456", "record_calls": true });
    patch(&app, &settings, body).await.expect(200);

    let found = entry(&app, &token, "realm=default&user=1001").await;
    assert_eq!(found["allowed"], true, "{found}");
    assert!(found.get("reason").is_none(), "{found}");
    assert_eq!((found["account"].clone(), found["realm"].clone()), (json!("default"), json!("default")));
    assert_eq!(found["user"], json!({ "id": ann, "login": "ann", "display_name": "ann Smith" }));
    assert_eq!((found["sip_username"].clone(), found["extension"].clone()), (json!("1001"), json!("1001")));
    // HA1 as RFC 2617 and RFC 8760 make it, from the password the test set; never the password.
    assert_eq!(found["ha1"], md5_hex(&format!("1001:default:{SIP_PW}")));
    assert_eq!(found["ha1_sha256"], sha256_hex(&format!("1001:default:{SIP_PW}")));
    assert!(!found.to_string().contains(SIP_PW), "{found}");
    let calls = &found["call_settings"];
    assert_eq!((calls["max_calls"].clone(), calls["blf"].clone()), (json!(3), json!(["1002"])));
    assert_eq!((calls["caller_id"].clone(), calls["record_calls"].clone()), (json!("+4930123456"), json!(true)));
    assert_eq!(calls["call_waiting"], true, "the account's default");
    // Asked again (from memory), and by extension: the same answer.
    assert_eq!(entry(&app, &token, "realm=default&user=1001").await, found);
    assert_eq!(entry(&app, &token, "realm=DEFAULT&extension=1001").await, found, "realms compare without case");

    // With a SIP user name of its own, the phone authenticates with that name.
    app.update_user(ann, json!({ "sip_username": "ann-sip" })).await;
    let named = entry(&app, &token, "realm=default&user=ann-sip").await;
    assert_eq!(named["ha1"], md5_hex(&format!("ann-sip:default:{SIP_PW}")));
    assert_eq!((named["sip_username"].clone(), named["extension"].clone()), (json!("ann-sip"), json!("1001")));
    assert_eq!(entry(&app, &token, "realm=default&extension=1001").await, named);
    lookup(&app, &token, "realm=default&user=1001").await.problem(404);
}

async fn who_may_not_register_is_told_apart_from_unknown(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (_, token) = directory_token(&app).await;
    let refused = |v: &Value| -> String {
        assert_eq!(v["allowed"], false, "{v}");
        for hidden in ["ha1", "ha1_sha256", "call_settings"] {
            assert!(v.get(hidden).is_none(), "{hidden} is not given when not allowed: {v}");
        }
        v["reason"].as_str().unwrap().to_string()
    };

    let dis = phone_user(&app, "dis", json!({ "extension": "2001", "status": "disabled" })).await;
    assert_eq!(refused(&entry(&app, &token, "realm=default&user=2001").await), "disabled");
    app.update_user(dis, json!({ "status": "active" })).await;
    assert_eq!(entry(&app, &token, "realm=default&user=2001").await["allowed"], true);

    phone_user(&app, "nopw", json!({ "extension": "2002", "sip_password": null })).await;
    assert_eq!(refused(&entry(&app, &token, "realm=default&user=2002").await), "no_sip_password");
    // R5: without an extension, no phone. The API keeps SIP credentials to users with one; an
    // operator's SQL may not.
    let noext = phone_user(&app, "noext", json!({ "extension": "2006", "sip_username": "noext-sip" })).await;
    assert_eq!(entry(&app, &token, "realm=default&user=noext-sip").await["allowed"], true);
    app.sql(&format!("UPDATE users SET extension = NULL WHERE id = {noext}")).await;
    assert_eq!(refused(&entry(&app, &token, "realm=default&user=noext-sip").await), "no_extension");

    // Invited, not accepted yet (R19).
    let made = app.post(&app.acct("invitations"), json!({ "invitees": [{ "email": "new@example.com" }] })).await;
    let invited = made.json(201)[0]["user_id"].as_i64().unwrap();
    app.update_user(invited, json!({ "extension": "2003", "sip_password": SIP_PW })).await;
    assert_eq!(refused(&entry(&app, &token, "realm=default&user=2003").await), "invited");

    // Out for a time (R18): refused from the moment the period begins.
    let out = phone_user(&app, "out", json!({ "extension": "2004" })).await;
    let from = app.clock.now().plus_ms(3_600_000).to_rfc3339();
    let until = app.clock.now().plus_ms(7_200_000).to_rfc3339();
    let periods = format!("{}/deactivations", app.user_path(out));
    app.post(&periods, json!({ "from": from, "until": until })).await.expect(201);
    assert_eq!(entry(&app, &token, "realm=default&user=2004").await["allowed"], true, "not begun yet");
    app.clock.advance(3_600_000 + 1_000).await;
    assert_eq!(refused(&entry(&app, &token, "realm=default&user=2004").await), "scheduled_out");
    app.clock.advance(3_600_000).await;
    assert_eq!(entry(&app, &token, "realm=default&user=2004").await["allowed"], true, "back by itself");

    // Deleted: "not allowed", not unknown; a new user with the number is the one answered.
    let gone = phone_user(&app, "gone", json!({ "extension": "2005" })).await;
    app.delete_user(gone).await.expect(204);
    let deleted = entry(&app, &token, "realm=default&extension=2005").await;
    assert_eq!((refused(&deleted), deleted["user"].clone()), ("deleted".to_string(), Value::Null));
    assert_eq!(refused(&entry(&app, &token, "realm=default&user=2005").await), "deleted");
    let again = phone_user(&app, "again", json!({ "extension": "2005" })).await;
    let found = entry(&app, &token, "realm=default&user=2005").await;
    assert_eq!((found["allowed"].clone(), found["user"]["id"].clone()), (json!(true), json!(again)));

    // Unknown: a name nobody ever answered to, a realm no account has.
    let unknown = lookup(&app, &token, "realm=default&user=9999").await.problem(404);
    assert!(unknown["detail"].as_str().unwrap().contains("user"), "{unknown}");
    let no_realm = lookup(&app, &token, "realm=nowhere.example&user=2001").await.problem(404);
    assert!(no_realm["detail"].as_str().unwrap().contains("realm"), "{no_realm}");

    // A disabled account: its users are not allowed, to the operator's token and its own.
    app.post("/api/v1/accounts", json!({ "slug": "initech", "name": "Initech" })).await.expect(201);
    let body = json!({ "login": "milton", "extension": "1001", "sip_password": SIP_PW });
    app.post("/api/v1/accounts/initech/users", body).await.expect(201);
    let theirs = app.account_admin_token("initech", &["directory.read"]).await;
    assert_eq!(entry(&app, &theirs, "realm=initech&user=1001").await["allowed"], true);
    let etag = app.get("/api/v1/accounts/initech").await.etag();
    let disable = app.req(Method::PATCH, "/api/v1/accounts/initech").header("if-match", etag);
    app.send(disable.json(&json!({ "enabled": false }))).await.expect(200);
    for asker in [&token, &theirs] {
        let v = entry(&app, asker, "realm=initech&user=1001").await;
        assert_eq!((refused(&v), v["account"].clone()), ("account_disabled".to_string(), json!("initech")));
    }
    // The disabled account's token reaches nothing else.
    lookup(&app, &theirs, "realm=default&user=2001").await.problem(401);
}

async fn only_directory_tokens_are_answered(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    phone_user(&app, "ann", json!({})).await;
    phone_user(&app, "dis", json!({ "extension": "2001", "status": "disabled" })).await;
    let (_, token) = directory_token(&app).await;
    let viewer =
        app.api_token("viewer", &["users.view", "users.sip_credentials"]).await["token"].as_str().unwrap().to_string();
    app.post("/api/v1/accounts", json!({ "slug": "initech", "name": "Initech" })).await.expect(201);
    let other = app.account_admin_token("initech", &["directory.read"]).await;

    for query in ["realm=default&user=1001", "realm=default&user=2001", "realm=default&user=9999"] {
        // Without a token, with a session (even the operator's), with a token lacking the
        // permission, with another account's: the same refusal whether the user exists, may
        // register or not.
        app.send(app.anon(Method::GET, &lookup_path(query))).await.problem(401);
        app.get_as(&app.token, &lookup_path(query)).await.problem(403);
        app.get_as(&viewer, &lookup_path(query)).await.problem(403);
        let foreign = lookup(&app, &other, query).await.problem(404);
        assert!(foreign["detail"].as_str().unwrap().contains("realm"), "{foreign}");
        app.send(app.anon(Method::GET, &lookup_path(query)).basic_auth("kamailio", Some("not-a-token")))
            .await
            .problem(401);
    }
    // To the directory's token: allowed, not allowed, unknown; as bearer or Basic password.
    assert_eq!(entry(&app, &token, "realm=default&user=1001").await["allowed"], true);
    assert_eq!(entry(&app, &token, "realm=default&user=2001").await["reason"], "disabled");
    lookup(&app, &token, "realm=default&user=9999").await.problem(404);
    let basic = app.anon(Method::GET, &lookup_path("realm=default&user=1001")).basic_auth("anything", Some(&token));
    assert_eq!(app.send(basic).await.json(200)["allowed"], true);

    // Bad questions: a clear 4xx naming the field.
    lookup(&app, &token, "user=1001").await.problem_field(422, "realm", "required");
    lookup(&app, &token, "realm=default").await.problem_field(422, "user", "one_of");
    lookup(&app, &token, "realm=default&user=1001&extension=1001").await.problem_field(422, "user", "one_of");
    lookup(&app, &token, "realm=bad_realm&user=1001").await.problem_field(422, "realm", "invalid_chars");
    lookup(&app, &token, "realm=default&user=a%20b").await.problem_field(422, "user", "invalid_chars");
    lookup(&app, &token, "realm=default&extension=12a").await.problem_field(422, "extension", "invalid_chars");
    lookup(&app, &token, "realm=default&user=1001&password=x").await.problem(400);
}

async fn every_change_is_in_the_next_lookup_here_and_on_another_instance(engine: Engine) {
    let a = TestApp::spawn(engine).await;
    let b = a.second_instance().await;
    let (_, token) = directory_token(&a).await;
    let ann = phone_user(&a, "ann", json!({})).await;
    let on_b = |query: &'static str| {
        let (http, url, token) = (a.http.clone(), format!("{}{}", b.base, lookup_path(query)), token.clone());
        async move {
            let r = http.get(url).bearer_auth(token).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let ha1 = |pw: &str| md5_hex(&format!("1001:default:{pw}"));
    for _ in 0..2 {
        assert_eq!(entry(&a, &token, "realm=default&user=1001").await["ha1"], ha1(SIP_PW));
        assert_eq!(on_b("realm=default&user=1001").await.1["ha1"], ha1(SIP_PW));
    }

    // A new password, set on A: the next lookup on either has the new digest.
    a.update_user(ann, json!({ "sip_password": "N3w-Passw0rd!" })).await;
    assert_eq!(entry(&a, &token, "realm=default&user=1001").await["ha1"], ha1("N3w-Passw0rd!"));
    assert_eq!(on_b("realm=default&user=1001").await.1["ha1"], ha1("N3w-Passw0rd!"));

    // Disabled on B: refused on both at once.
    let url = format!("{}{}", b.base, a.user_path(ann));
    let etag = a.http.get(&url).bearer_auth(&a.token).send().await.unwrap().headers()["etag"].clone();
    let r = a.http.patch(&url).bearer_auth(&a.token).header("if-match", etag).json(&json!({ "status": "disabled" }));
    assert_eq!(r.send().await.unwrap().status(), 200);
    assert_eq!(entry(&a, &token, "realm=default&user=1001").await["reason"], "disabled");
    assert_eq!(on_b("realm=default&user=1001").await.1["reason"], "disabled");

    // By an operator's SQL: seen too.
    a.sql(&format!("UPDATE users SET status = 'active' WHERE id = {ann}")).await;
    assert_eq!(entry(&a, &token, "realm=default&user=1001").await["allowed"], true);
    assert_eq!(on_b("realm=default&user=1001").await.1["allowed"], true);

    // Call settings, the account's defaults, the realm.
    let settings = a.acct(&format!("users/{ann}/call-settings"));
    patch(&a, &settings, json!({ "max_calls": 5 })).await.expect(200);
    assert_eq!(on_b("realm=default&user=1001").await.1["call_settings"]["max_calls"], 5);
    patch(&a, &a.acct("call-settings"), json!({ "call_waiting": false })).await.expect(200);
    assert_eq!(on_b("realm=default&user=1001").await.1["call_settings"]["call_waiting"], false);
    patch(&a, "/api/v1/accounts/default", json!({ "sip_realm": "pbx.acme.example" })).await.expect(200);
    assert_eq!(on_b("realm=default&user=1001").await.0, 404, "the old realm names no account now");
    let moved = on_b("realm=pbx.acme.example&user=1001").await.1;
    assert_eq!(moved["ha1"], md5_hex("1001:pbx.acme.example:N3w-Passw0rd!"), "{moved}");
    assert_eq!(entry(&a, &token, "realm=pbx.acme.example&user=1001").await, moved);

    if engine == Engine::Postgres {
        // Each instance reads `user_changes` on a connection of its own. Closed by the server
        // (a restart, an idle timeout), the next lookups read on a new one, and are current.
        const JOURNAL: &str = "FROM pg_stat_activity WHERE application_name = 'roster: user changes' \
             AND datname = current_database()";
        assert_eq!(a.sql_text(&format!("SELECT count(*)::text {JOURNAL}")).await, "2", "one an instance");
        a.sql(&format!("SELECT pg_terminate_backend(pid) {JOURNAL}")).await;
        a.update_user(ann, json!({ "sip_password": "Th1rd-Passw0rd!" })).await;
        let third = md5_hex("1001:pbx.acme.example:Th1rd-Passw0rd!");
        assert_eq!(on_b("realm=pbx.acme.example&user=1001").await.1["ha1"], third);
        assert_eq!(entry(&a, &token, "realm=pbx.acme.example&user=1001").await["ha1"], third);
    }

    // Deleted on A: "deleted" on B at once.
    a.delete_user(ann).await.expect(204);
    assert_eq!(on_b("realm=pbx.acme.example&user=1001").await.1["reason"], "deleted");
    assert_eq!(entry(&a, &token, "realm=pbx.acme.example&user=1001").await["reason"], "deleted");
}

async fn directory_read_is_given_to_tokens_by_holders_of_sip_credentials(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    phone_user(&app, "ann", json!({})).await;
    // Catalogued as a tokens-only permission; no built-in role holds it, and no person can.
    let catalog = app.get("/api/v1/permissions").await.json(200);
    let info = catalog.as_array().unwrap().iter().find(|p| p["name"] == "directory.read").expect("catalogued").clone();
    assert_eq!(info["tokens_only"], true);
    let admin = app.get(&app.acct(&format!("roles/{}", app.builtin_role("admin").await))).await.json(200);
    assert!(!admin["permissions"].as_array().unwrap().iter().any(|p| p == "directory.read"), "{admin}");
    app.post(&app.acct("roles"), json!({ "name": "Phones", "permissions": ["directory.read"] })).await.problem_field(
        422,
        "permissions",
        "tokens_only",
    );
    app.create_user(json!({ "login": "pbx-person", "permissions": ["directory.read"] })).await.problem_field(
        422,
        "permissions",
        "tokens_only",
    );

    // Given by the account's admins (and platform operators) only, however much others hold:
    // the directory gives every phone's digest in the account.
    let body = json!({ "name": "pbx", "permissions": ["directory.read"] });
    let (_, _, narrow) = app.user_with_permissions("viewer", &["users.view", "tokens.manage"]).await;
    app.create_token_as(&narrow, body.clone()).await.problem_field(422, "permissions", "not_held");
    let (_, _, provisioner) =
        app.user_with_permissions("provisioner", &["users.view", "users.sip_credentials", "tokens.manage"]).await;
    app.create_token_as(&provisioner, body.clone()).await.problem_field(422, "permissions", "not_held");
    let (second, second_session) = app.admin_with_second_factor("second-admin").await;
    let made = app.create_token_as(&second_session, body).await.json(201);
    assert_eq!(made["permissions"], json!(["directory.read"]));
    let token = made["token"].as_str().unwrap().to_string();
    assert_eq!(entry(&app, &token, "realm=default&user=1001").await["allowed"], true);

    // D2: an admin's token does not reach the account's platform operators; an operator's does.
    phone_user(&app, "operator-phone", json!({ "extension": "1003", "is_superuser": true })).await;
    lookup(&app, &token, "realm=default&user=1003").await.problem(404);
    let (_, operators) = directory_token(&app).await;
    assert_eq!(entry(&app, &operators, "realm=default&user=1003").await["allowed"], true);

    // It lasts while its maker is an admin.
    let admin_role = app.builtin_role("admin").await;
    app.update_user(second, json!({ "roles": [] })).await;
    lookup(&app, &token, "realm=default&user=1001").await.problem(403);
    app.update_user(second, json!({ "roles": [admin_role] })).await;
    assert_eq!(entry(&app, &token, "realm=default&user=1001").await["allowed"], true);
    app.update_user(second, json!({ "status": "disabled" })).await;
    lookup(&app, &token, "realm=default&user=1001").await.problem(401);
}

async fn each_realm_names_one_account_and_each_sip_name_one_user(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (_, token) = directory_token(&app).await;
    let account = app.get("/api/v1/accounts/default").await.json(200);
    assert_eq!(account["sip_realm"], "default", "the slug until changed");
    app.post("/api/v1/accounts", json!({ "slug": "initech", "name": "Initech" })).await.expect(201);

    // The same extension in two accounts: apart by realm, each with its own digest.
    phone_user(&app, "ann", json!({})).await;
    let body = json!({ "login": "milton", "extension": "1001", "sip_password": "Stapl3r-Red!" });
    app.post("/api/v1/accounts/initech/users", body).await.expect(201);
    let here = entry(&app, &token, "realm=default&user=1001").await;
    let there = entry(&app, &token, "realm=initech&user=1001").await;
    assert_eq!((here["user"]["login"].clone(), there["user"]["login"].clone()), (json!("ann"), json!("milton")));
    assert_eq!(there["ha1"], md5_hex("1001:initech:Stapl3r-Red!"));

    // A realm is one account's: taken, refused naming the field; checked as a host name.
    patch(&app, "/api/v1/accounts/initech", json!({ "sip_realm": "Default" })).await.problem_on(409, "sip_realm");
    patch(&app, "/api/v1/accounts/initech", json!({ "sip_realm": "no spaces" })).await.problem_field(
        422,
        "sip_realm",
        "invalid_chars",
    );
    let changed =
        patch(&app, "/api/v1/accounts/initech", json!({ "sip_realm": " SIP.Initech.Example " })).await.json(200);
    assert_eq!(changed["sip_realm"], "sip.initech.example");
    let logged = app.get("/api/v1/accounts/initech/activity?action=account.updated").await.json(200);
    assert!(logged.to_string().contains("sip.initech.example"), "{logged}");
    // A new account whose slug is another's realm would have that realm: refused.
    patch(&app, "/api/v1/accounts/initech", json!({ "sip_realm": "globex" })).await.expect(200);
    app.post("/api/v1/accounts", json!({ "slug": "globex", "name": "Globex" })).await.problem_on(409, "slug");

    // The name a phone authenticates with names one user of the account: a SIP user name may
    // not be another user's SIP user name or extension, nor an extension another's SIP user name.
    let bob = phone_user(&app, "bob", json!({ "extension": "1002", "sip_password": null })).await;
    app.create_user(json!({ "login": "cid", "extension": "1003", "sip_username": "1002" }))
        .await
        .problem_on(409, "sip_username");
    app.update_user(bob, json!({ "sip_username": "bob-sip" })).await;
    app.create_user(json!({ "login": "cid", "extension": "1003", "sip_username": "1002" }))
        .await
        .problem_on(409, "sip_username");
    app.create_user(json!({ "login": "dan", "extension": "1004", "sip_username": "bob-sip" }))
        .await
        .problem_on(409, "sip_username");
    app.new_user(json!({ "login": "cid", "extension": "1003", "sip_username": "3003" })).await;
    app.create_user(json!({ "login": "eve", "extension": "3003" })).await.problem_on(409, "extension");
    let etag = app.get_user(bob).await.header("etag");
    app.patch_user(bob, etag.as_deref(), json!({ "extension": "3003" })).await.problem_on(409, "extension");
    assert_eq!(app.get_user(bob).await.json(200)["extension"], "1002", "nothing changed");
}

fn freeswitch_request() -> String {
    include_str!("../fixtures/freeswitch/directory_sip_auth.txt").trim().to_string()
}

async fn freeswitch(app: &TestApp, token: Option<&str>, body: String) -> Resp {
    let mut request = app
        .anon(Method::POST, "/api/v1/directory/freeswitch")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(token) = token {
        // What mod_xml_curl sends with `gateway-credentials` and `auth-scheme` basic.
        request = request.basic_auth("freeswitch", Some(token));
    }
    app.send(request).await
}

/// The user element's lines, or the empty domain, as FreeSWITCH reads them.
fn xml(r: &Resp) -> String {
    r.expect(200);
    assert!(r.content_type().starts_with("text/xml"), "{}", r.content_type());
    let text = r.text();
    assert!(text.lines().next().unwrap().starts_with("<?xml"), "the declaration alone on the first line: {text}");
    assert!(text.contains("<document type=\"freeswitch/xml\">"), "{text}");
    text
}

async fn freeswitch_is_answered_its_documented_request(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (_, token) = directory_token(&app).await;
    let realm = "domain1.awesomevoipdomain.faketld";
    patch(&app, "/api/v1/accounts/default", json!({ "sip_realm": realm })).await.expect(200);
    let user = phone_user(
        &app,
        "ann",
        json!({ "extension": "1004", "sip_password": "some_password", "last_name": "O'Neil & Co" }),
    )
    .await;
    let mut music = json!({ "name": "Jazz" });
    music = app.post(&app.acct("music-on-hold"), music).await.json(201);
    let pickup = app.post(&app.acct("intercept-groups"), json!({ "name": "sales" })).await.json(201);
    let body = json!({ "music_on_hold": id_of(&music), "max_calls": 4, "intercept": { "member_of": [id_of(&pickup)], "picks_up": [] } });
    patch(&app, &app.acct(&format!("users/{user}/call-settings")), body).await.expect(200);

    let text = xml(&freeswitch(&app, Some(&token), freeswitch_request()).await);
    assert!(text.contains(&format!("<domain name=\"{realm}\">")), "{text}");
    assert!(text.contains("<user id=\"1004\">"), "{text}");
    // The docs' user 1004 with the docs' password: md5("1004:domain1.awesomevoipdomain.faketld:some_password").
    assert!(text.contains("<param name=\"a1-hash\" value=\"5ec284cfe10e41435d42f609b1cfbef2\"/>"), "{text}");
    assert!(text.contains("<param name=\"allow-empty-password\" value=\"false\"/>"), "{text}");
    assert!(text.contains("<param name=\"dial-string\""), "{text}");
    for line in [
        "<variable name=\"effective_caller_id_name\" value=\"ann O&apos;Neil &amp; Co\"/>",
        "<variable name=\"effective_caller_id_number\" value=\"1004\"/>",
        "<variable name=\"hold_music\" value=\"local_stream://Jazz\"/>",
        "<variable name=\"callgroup\" value=\"sales\"/>",
        "<variable name=\"roster_max_calls\" value=\"4\"/>",
        "<variable name=\"roster_call_waiting\" value=\"true\"/>",
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
    assert!(!text.contains("some_password"), "{text}");
    // A phone that answered with SHA-256 (RFC 8760) gets that HA1 (FreeSWITCH uses it as is).
    let sha = freeswitch_request().replace(
        "sip_auth_response=6e4e611d7593d52e02451b70900071d8",
        &format!("sip_auth_response={}", "a".repeat(64)),
    );
    let text = xml(&freeswitch(&app, Some(&token), sha).await);
    let sha_ha1 = sha256_hex(&format!("1004:{realm}:some_password"));
    assert_eq!(sha_ha1, "50a5182398da877e80f0e8c09f5f6909da9b941749c356f15e1f73b8bc44cfa3");
    assert!(text.contains(&format!("<param name=\"a1-hash\" value=\"{sha_ha1}\"/>")), "{text}");

    // A user who may not register, and a name nobody answers to: the domain without users,
    // which FreeSWITCH refuses without falling back to its own files.
    app.update_user(user, json!({ "status": "disabled" })).await;
    let text = xml(&freeswitch(&app, Some(&token), freeswitch_request()).await);
    assert!(text.contains(&format!("<domain name=\"{realm}\">")) && !text.contains("<user "), "{text}");
    assert!(!text.contains("a1-hash") && text.contains("disabled"), "{text}");
    let unknown = freeswitch_request().replace("user=1004", "user=1099");
    let text = xml(&freeswitch(&app, Some(&token), unknown).await);
    assert!(text.contains(&format!("<domain name=\"{realm}\">")) && !text.contains("<user "), "{text}");
    app.update_user(user, json!({ "status": "active" })).await;

    // Not Roster's to answer: FreeSWITCH's documented "not found".
    let not_found = "<result status=\"not found\"/>";
    let elsewhere = freeswitch_request().replace(&format!("domain={realm}"), "domain=other.example");
    assert!(xml(&freeswitch(&app, Some(&token), elsewhere).await).contains(not_found));
    let gateways = "hostname=fs&section=directory&tag_name=&key_name=&key_value=&Event-Name=REQUEST_PARAMS&purpose=gateways&profile=internal";
    assert!(xml(&freeswitch(&app, Some(&token), gateways.to_string()).await).contains(not_found));
    let dialplan = freeswitch_request().replace("section=directory", "section=dialplan");
    assert!(xml(&freeswitch(&app, Some(&token), dialplan).await).contains(not_found));

    // A call bridged to user/1004@…, when the user's SIP name differs: found by extension.
    app.update_user(user, json!({ "sip_username": "ann-desk" })).await;
    let call = format!(
        "section=directory&tag_name=domain&key_name=name&key_value={realm}&action=user_call&key=id&user=1004&domain={realm}"
    );
    let text = xml(&freeswitch(&app, Some(&token), call).await);
    assert!(text.contains("<user id=\"1004\" number-alias=\"ann&#45;desk\">"), "{text}");
    assert!(text.contains(&md5_hex(&format!("ann-desk:{realm}:some_password"))), "{text}");

    // Refusals: no token, a token without directory.read, another account's token.
    freeswitch(&app, None, freeswitch_request()).await.problem(401);
    let viewer = app.api_token("viewer", &["users.view"]).await["token"].as_str().unwrap().to_string();
    freeswitch(&app, Some(&viewer), freeswitch_request()).await.problem(403);
    app.post("/api/v1/accounts", json!({ "slug": "initech", "name": "Initech" })).await.expect(201);
    let other = app.account_admin_token("initech", &["directory.read"]).await;
    let foreign = xml(&freeswitch(&app, Some(&other), freeswitch_request()).await);
    assert!(foreign.contains(not_found) && !foreign.contains("a1-hash") && !foreign.contains("<domain"), "{foreign}");
}

async fn lookups_are_counted_per_token_and_never_logged(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (id, token) = directory_token(&app).await;
    let (other_id, other) = {
        let made = app.api_token("freeswitch", &["directory.read"]).await;
        (id_of(&made), made["token"].as_str().unwrap().to_string())
    };
    phone_user(&app, "ann", json!({})).await;
    phone_user(&app, "dis", json!({ "extension": "2001", "status": "disabled" })).await;
    let plain = app.api_token("plain", &["users.view"]).await;
    let logged_before = list_items(&app.get(&app.acct("activity?limit=500")).await.json(200)).len();
    for _ in 0..5 {
        entry(&app, &token, "realm=default&user=1001").await;
    }
    entry(&app, &token, "realm=default&user=2001").await;
    lookup(&app, &token, "realm=default&user=9999").await.problem(404);
    entry(&app, &other, "realm=default&extension=1001").await;

    let tokens = app.list_tokens().await;
    let used = |id: i64| tokens.iter().find(|t| t["id"] == id).unwrap()["directory"].clone();
    let mine = used(id);
    assert_eq!(
        (mine["lookups"].clone(), mine["not_allowed"].clone(), mine["unknown"].clone()),
        (json!(7), json!(1), json!(1))
    );
    assert!(mine["last_lookup_at"].is_string(), "{mine}");
    assert_eq!(used(other_id)["lookups"], 1);
    assert_eq!(app.get(&app.acct(&format!("tokens/{}", id_of(&plain)))).await.json(200)["directory"], Value::Null);
    assert!(tokens.iter().find(|t| t["id"] == id).unwrap()["last_used_at"].is_string());

    let samples = crate::observability::scrape(&app).await;
    let counted = |token: i64, result: &str| {
        crate::observability::value(
            &samples,
            "roster_directory_lookups_total",
            &[("token", &token.to_string()), ("result", result)],
        )
    };
    assert_eq!((counted(id, "allowed"), counted(id, "not_allowed"), counted(id, "unknown")), (5.0, 1.0, 1.0));
    assert_eq!(counted(other_id, "allowed"), 1.0);

    // The activity log has the tokens' creation, not one row per lookup.
    let logged = list_items(&app.get(&app.acct("activity?limit=500")).await.json(200));
    assert_eq!(logged.len(), logged_before, "{:?}", &logged[..logged.len().min(3)]);
}

async fn the_console_sets_the_sip_domain_and_shows_token_use(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (_, token) = directory_token(&app).await;
    phone_user(&app, "ann", json!({})).await;
    entry(&app, &token, "realm=default&user=1001").await;
    app.post("/api/v1/accounts", json!({ "slug": "initech", "name": "Initech" })).await.expect(201);

    let console =
        crate::helpers::Console::sign_in_with_second_factor(&app, &app.admin_login, &app.admin_password).await;
    let page = console.get("/console/settings/sip").await;
    page.expect(200).has("SIP domain");
    assert_eq!(page.value_of("sip_realm"), "default");
    let version = page.value_of("version");
    console
        .post("/console/settings/sip", &[("sip_realm", "initech"), ("version", &version)])
        .await
        .expect(422)
        .has("SIP realm is initech");
    console.post("/console/settings/sip", &[("sip_realm", "bad realm"), ("version", &version)]).await.expect(422);
    console.post("/console/settings/sip", &[("sip_realm", "pbx.acme.example"), ("version", &version)]).await;
    assert_eq!(app.get("/api/v1/accounts/default").await.json(200)["sip_realm"], "pbx.acme.example");
    assert_eq!(entry(&app, &token, "realm=pbx.acme.example&user=1001").await["allowed"], true);

    // An agent neither sees nor sets it.
    app.user_with_password("agent-ann", PW, json!({ "roles": [app.builtin_role("agent").await] })).await;
    let agent = crate::helpers::Console::sign_in(&app, "agent-ann", PW).await;
    agent.get("/console/settings/sip").await.expect(403);
    agent.post("/console/settings/sip", &[("sip_realm", "mine.example"), ("version", "1")]).await.expect(403);
    assert_eq!(app.get("/api/v1/accounts/default").await.json(200)["sip_realm"], "pbx.acme.example");

    // The tokens page shows what the directory token was used for.
    console.get("/console/tokens").await.expect(200).has("Directory: 2 lookups");
}
