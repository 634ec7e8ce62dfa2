//! Access rules (R35): addresses, ranges, CIDR blocks and countries to allow or deny, for the
//! account and per user (inherit, extend, overwrite), enforced at sign-in and on every
//! request. Client addresses are simulated with `X-Forwarded-For` from a trusted proxy
//! (the test client at 127.0.0.1); countries come from a small MaxMind DB made here.

use reqwest::Method;
use roster::config::Config;
use serde_json::{Value, json};

use crate::helpers::{Engine, Resp, TestApp, mmdb};

both_engines!(
    address_range_and_cidr_rules_allow_and_deny_sign_in,
    a_forged_forwarded_address_from_an_untrusted_peer_is_ignored,
    malformed_rules_are_refused_by_index_and_change_nothing,
    overlapping_and_duplicate_rules_are_refused,
    country_rules_use_the_geoip_database,
    country_rules_need_a_geoip_database,
    a_missing_or_invalid_geoip_file_stops_the_start,
    users_inherit_extend_or_overwrite_the_account_rules,
    a_session_from_a_denied_address_is_refused_and_works_again_from_an_allowed_one,
    an_api_token_from_a_denied_address_is_refused,
    rules_that_would_lock_you_out_are_refused,
    stale_writes_are_refused,
    access_rules_need_their_permissions,
);

pub(crate) const PW: &str = "correct-horse-9";

fn proxied(config: &mut Config) {
    config.trusted_proxies = "127.0.0.1/32".parse().unwrap();
}

fn rule(action: &str, value: &str) -> Value {
    json!({ "action": action, "value": value })
}

/// A GeoIP database for the tests: 81.2.69.0/24 is in GB, 2001:db8::/32 in DE, 192.0.2.0/24 in FR.
fn geoip_file(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let path = dir.path().join("countries.mmdb");
    let db = mmdb::country_database(&[("81.2.69.0/24", "GB"), ("2001:db8::/32", "DE"), ("192.0.2.0/24", "FR")]);
    std::fs::write(&path, db).unwrap();
    path
}

async fn put_account_rules_as(app: &TestApp, token: &str, rules: Value) -> Resp {
    let etag = app.get(&app.acct("access-rules")).await.expect(200).etag();
    let request = app.req_as(token, Method::PUT, &app.acct("access-rules")).header("if-match", etag);
    app.send(request.json(&json!({ "rules": rules }))).await
}

async fn put_account_rules(app: &TestApp, rules: Value) -> Resp {
    put_account_rules_as(app, &app.token, rules).await
}

pub(crate) fn user_rules_path(app: &TestApp, id: i64) -> String {
    app.acct(&format!("users/{id}/access-rules"))
}

async fn put_user_rules(app: &TestApp, id: i64, mode: &str, rules: Value) -> Resp {
    let etag = app.get(&user_rules_path(app, id)).await.expect(200).etag();
    let request = app.req(Method::PUT, &user_rules_path(app, id)).header("if-match", etag);
    app.send(request.json(&json!({ "mode": mode, "rules": rules }))).await
}

async fn login_from(app: &TestApp, address: &str, login: &str) -> Resp {
    let body = json!({ "account": app.account, "login": login, "password": PW });
    let request = app.anon(Method::POST, "/api/v1/auth/login").header("x-forwarded-for", address);
    app.send(request.json(&body)).await
}

async fn session_from(app: &TestApp, token: &str, address: &str) -> Resp {
    app.send(app.req_as(token, Method::GET, "/api/v1/session").header("x-forwarded-for", address)).await
}

#[track_caller]
fn assert_denied(resp: &Resp) {
    let problem = resp.problem(403);
    assert_eq!(problem["code"], json!("address_denied"), "{problem}");
}

#[track_caller]
fn assert_issue(resp: &Resp, field: &str, code: &str) -> String {
    let problem = resp.problem_on(422, field);
    let issue = problem["errors"].as_array().unwrap().iter().find(|e| e["field"] == json!(field)).unwrap().clone();
    assert_eq!(issue["code"], json!(code), "{problem}");
    issue["message"].as_str().unwrap().to_string()
}

async fn address_range_and_cidr_rules_allow_and_deny_sign_in(engine: Engine) {
    let app = TestApp::spawn_with(engine, proxied).await;
    app.user_with_password("ana", PW, json!({})).await;
    let saved = put_account_rules(
        &app,
        json!([
            { "action": "deny", "value": "203.0.113.0/24", "description": "abuse network" },
            rule("deny", "198.51.100.10-198.51.100.20"),
            rule("deny", "2001:db8:ffff::1"),
            rule("deny", "2001:db8:eeee::/48"),
        ]),
    )
    .await
    .json(200);
    assert_eq!(
        saved["rules"][0],
        json!({ "action": "deny", "kind": "network", "value": "203.0.113.0/24", "description": "abuse network" })
    );
    assert_eq!(saved["rules"][1]["kind"], json!("range"));
    assert_eq!(saved["rules"][2]["kind"], json!("address"));
    for denied in ["203.0.113.77", "198.51.100.10", "198.51.100.20", "2001:db8:ffff::1", "2001:db8:eeee:1::5"] {
        assert_denied(&login_from(&app, denied, "ana").await);
    }
    for allowed in ["203.0.114.1", "198.51.100.21", "2001:db8:ffff::2", "192.0.2.1"] {
        login_from(&app, allowed, "ana").await.expect(200);
    }
    // The refusal is recorded with its reason and the forwarded address.
    let failed = app.activity("action=auth.sign_in_failed").await;
    let event =
        failed.iter().find(|e| e["changes"]["reason"] == json!("address_denied")).expect("an address_denied event");
    assert_eq!(event["target_label"], json!("ana"));
    assert!(failed.iter().any(|e| e["address"] == json!("2001:db8:eeee:1::5")), "{failed:?}");
    // The change itself is recorded with before and after.
    let changed = app.activity("action=settings.access_rules_changed").await;
    assert_eq!(changed[0]["changes"]["rules"]["from"], json!([]));
    assert_eq!(changed[0]["changes"]["rules"]["to"][0], json!("deny 203.0.113.0/24 (abuse network)"));

    // Allow rules make a list of the only places allowed (the admin keeps 127.0.0.1).
    put_account_rules(
        &app,
        json!([rule("allow", "192.0.2.0/24"), rule("allow", "2001:db8:1::/48"), rule("allow", "127.0.0.1")]),
    )
    .await
    .expect(200);
    login_from(&app, "192.0.2.200", "ana").await.expect(200);
    login_from(&app, "2001:db8:1::9", "ana").await.expect(200);
    assert_denied(&login_from(&app, "198.51.100.1", "ana").await);
    assert_denied(&login_from(&app, "2001:db8:2::1", "ana").await);
    // An unknown login from a denied address gets the same refusal: it reveals no user.
    assert_denied(&login_from(&app, "198.51.100.1", "nobody").await);
}

async fn a_forged_forwarded_address_from_an_untrusted_peer_is_ignored(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.user_with_password("ana", PW, json!({})).await;
    put_account_rules(&app, json!([rule("deny", "192.0.2.0/24")])).await.expect(200);
    // No trusted proxies: the header is the client's own claim, and the peer (127.0.0.1) counts.
    login_from(&app, "192.0.2.1", "ana").await.expect(200);
    let events = app.activity("action=auth.sign_in").await;
    assert_eq!(events[0]["address"], json!("127.0.0.1"));
    // Neither can a header claim an allowed address: the admin is still at 127.0.0.1.
    let etag = app.get(&app.acct("access-rules")).await.etag();
    let claim = app
        .req(Method::PUT, &app.acct("access-rules"))
        .header("if-match", etag)
        .header("x-forwarded-for", "192.0.2.5")
        .json(&json!({ "rules": [rule("allow", "192.0.2.0/24")] }));
    assert_issue(&app.send(claim).await, "rules", "would_lock_you_out");
}

async fn malformed_rules_are_refused_by_index_and_change_nothing(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let before = app.get(&app.acct("access-rules")).await.expect(200).etag();
    let cases = [
        ("10.0.0.1/33", "invalid_cidr"),
        ("10.1.2.3/8", "host_bits_set"),
        ("10.0.0.9-10.0.0.1", "reversed_range"),
        ("10.0.0.1-2001:db8::1", "mixed_families"),
        ("XX", "invalid_country"),
        ("10.0.0", "invalid_value"),
        ("", "required"),
    ];
    for (value, code) in cases {
        let resp = put_account_rules(&app, json!([rule("allow", "127.0.0.1"), rule("deny", value)])).await;
        let message = assert_issue(&resp, "rules[1].value", code);
        if code == "host_bits_set" {
            assert!(message.contains("10.0.0.0/8"), "the message gives the block: {message}");
        }
    }
    let resp = put_account_rules(&app, json!([{ "action": "block", "value": "10.0.0.1" }])).await;
    assert_issue(&resp, "rules[0].action", "invalid_action");
    let resp =
        put_account_rules(&app, json!([{ "action": "deny", "value": "10.0.0.1", "description": "x".repeat(201) }]))
            .await;
    assert_issue(&resp, "rules[0].description", "too_long");
    let resp = put_account_rules(&app, json!([rule("deny", "10.0.0.1/99"), rule("deny", "::1-1.2.3.4")])).await;
    assert_eq!(resp.error_fields(), ["rules[0].value", "rules[1].value"], "every bad rule is reported at once");
    // Malformed JSON shapes are a 400, not a 500.
    let etag = app.get(&app.acct("access-rules")).await.etag();
    let bad =
        app.req(Method::PUT, &app.acct("access-rules")).header("if-match", &etag).json(&json!({ "rules": "10.0.0.1" }));
    app.send(bad).await.problem(400);

    let after = app.get(&app.acct("access-rules")).await.json(200);
    assert_eq!(after["rules"], json!([]));
    assert_eq!(app.get(&app.acct("access-rules")).await.etag(), before, "nothing changed");
}

async fn overlapping_and_duplicate_rules_are_refused(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let geo = geoip_file(&dir);
    let app = TestApp::spawn_with(engine, |c| c.geoip_database = Some(geo.clone())).await;
    let resp = put_account_rules(&app, json!([rule("allow", "10.0.0.0/8"), rule("deny", "10.1.2.3")])).await;
    let message = assert_issue(&resp, "rules[1].value", "overlapping_rules");
    assert!(
        message.contains("rules[0]") && message.contains("10.0.0.0/8") && message.contains("10.1.2.3"),
        "{message}"
    );
    let resp =
        put_account_rules(&app, json!([rule("deny", "2001:db8::/32"), rule("allow", "2001:db8::1-2001:db8::9")])).await;
    assert_issue(&resp, "rules[1].value", "overlapping_rules");
    let resp = put_account_rules(&app, json!([rule("allow", "GB"), rule("deny", "gb")])).await;
    assert_issue(&resp, "rules[1].value", "overlapping_rules");
    let resp = put_account_rules(&app, json!([rule("deny", "192.0.2.0/24"), rule("deny", "192.0.2.0/24")])).await;
    assert_issue(&resp, "rules[1].value", "duplicate_rule");
    // Two allows that overlap, and IPv4 next to IPv6, are fine.
    put_account_rules(&app, json!([rule("allow", "0.0.0.0/0"), rule("allow", "127.0.0.0/8"), rule("deny", "::/0")]))
        .await
        .expect(200);
}

async fn country_rules_use_the_geoip_database(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let geo = geoip_file(&dir);
    // The file is a real MaxMind DB: Roster's reader (the `maxminddb` crate) places addresses.
    let reader = roster::http::geoip::GeoIp::open(&geo).unwrap();
    assert_eq!(reader.country("81.2.69.160".parse().unwrap()).as_deref(), Some("GB"));
    assert_eq!(reader.country("2001:db8::1".parse().unwrap()).as_deref(), Some("DE"));
    assert_eq!(reader.country("198.51.100.1".parse().unwrap()), None);

    let app = TestApp::spawn_with(engine, |c| {
        proxied(c);
        c.geoip_database = Some(geo.clone());
    })
    .await;
    app.user_with_password("ana", PW, json!({})).await;
    let saved = put_account_rules(&app, json!([rule("deny", "GB")])).await.json(200);
    assert_eq!(saved["rules"][0]["kind"], json!("country"));
    assert_eq!(saved["geoip_configured"], json!(true));
    assert_denied(&login_from(&app, "81.2.69.160", "ana").await);
    login_from(&app, "2001:db8::1", "ana").await.expect(200);
    login_from(&app, "198.51.100.1", "ana").await.expect(200);

    // Allowed countries: the address must be in one (or match an allowed network).
    put_account_rules(&app, json!([rule("allow", "DE"), rule("allow", "127.0.0.1")])).await.expect(200);
    login_from(&app, "2001:db8:5::5", "ana").await.expect(200);
    assert_denied(&login_from(&app, "81.2.69.160", "ana").await);
    assert_denied(&login_from(&app, "192.0.2.1", "ana").await);
    assert_denied(&login_from(&app, "198.51.100.1", "ana").await); // unknown country: not an allowed one
}

async fn country_rules_need_a_geoip_database(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let rules = app.get(&app.acct("access-rules")).await.json(200);
    assert_eq!(rules["geoip_configured"], json!(false));
    let resp = put_account_rules(&app, json!([rule("deny", "192.0.2.1"), rule("deny", "GB")])).await;
    assert_issue(&resp, "rules[1].value", "geoip_not_configured");
}

async fn a_missing_or_invalid_geoip_file_stops_the_start(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("GeoLite2-Country.mmdb");
    let err = TestApp::start_fails(engine, |c| c.geoip_database = Some(missing.clone())).await;
    assert!(err.contains("GeoLite2-Country.mmdb"), "the error names the file: {err}");
    let junk = dir.path().join("junk.mmdb");
    std::fs::write(&junk, b"this is not a MaxMind database").unwrap();
    let err = TestApp::start_fails(engine, |c| c.geoip_database = Some(junk.clone())).await;
    assert!(err.contains("junk.mmdb") && err.contains("not a MaxMind DB"), "{err}");
}

async fn users_inherit_extend_or_overwrite_the_account_rules(engine: Engine) {
    let app = TestApp::spawn_with(engine, proxied).await;
    let ana = app.user_with_password("ana", PW, json!({})).await;
    put_account_rules(&app, json!([rule("deny", "198.51.100.0/24")])).await.expect(200);

    let view = app.get(&user_rules_path(&app, ana)).await.json(200);
    assert_eq!(view["mode"], json!("inherit"));
    assert_eq!(view["account_rules"][0]["value"], json!("198.51.100.0/24"));
    assert_denied(&login_from(&app, "198.51.100.1", "ana").await);
    login_from(&app, "192.0.2.9", "ana").await.expect(200);

    // Extend: the account's rules and the user's; the user's may not contradict the account's.
    let resp = put_user_rules(&app, ana, "extend", json!([rule("allow", "198.51.100.5")])).await;
    let message = assert_issue(&resp, "rules[0].value", "overlapping_rules");
    assert!(message.contains("account rules[0]"), "{message}");
    let saved = put_user_rules(&app, ana, "extend", json!([rule("deny", "192.0.2.9")])).await.json(200);
    assert_eq!((saved["mode"].clone(), saved["rules"][0]["value"].clone()), (json!("extend"), json!("192.0.2.9")));
    assert_denied(&login_from(&app, "198.51.100.1", "ana").await);
    assert_denied(&login_from(&app, "192.0.2.9", "ana").await);
    login_from(&app, "192.0.2.10", "ana").await.expect(200);

    // Overwrite: the user's rules only (an allow the account would deny is fine here).
    put_user_rules(&app, ana, "overwrite", json!([rule("deny", "192.0.2.9"), rule("allow", "198.51.100.5")]))
        .await
        .expect(200);
    login_from(&app, "198.51.100.5", "ana").await.expect(200);
    assert_denied(&login_from(&app, "198.51.100.6", "ana").await);
    assert_denied(&login_from(&app, "192.0.2.9", "ana").await);

    // Inherit again: the user's rules are kept but not applied.
    let view = put_user_rules(&app, ana, "inherit", json!([rule("deny", "192.0.2.9")])).await.json(200);
    assert_eq!(view["rules"].as_array().unwrap().len(), 1);
    login_from(&app, "192.0.2.9", "ana").await.expect(200);
    assert_denied(&login_from(&app, "198.51.100.5", "ana").await);

    let resp = put_user_rules(&app, ana, "sometimes", json!([])).await;
    assert_issue(&resp, "mode", "invalid_mode");
    let events = app.activity("action=user.access_rules_changed").await;
    assert_eq!(events[0]["changes"]["mode"], json!({ "from": "overwrite", "to": "inherit" }));
}

async fn a_session_from_a_denied_address_is_refused_and_works_again_from_an_allowed_one(engine: Engine) {
    let app = TestApp::spawn_with(engine, proxied).await;
    let ana = app.user_with_password("ana", PW, json!({})).await;
    let token = login_from(&app, "192.0.2.1", "ana").await.json(200)["token"].as_str().unwrap().to_string();
    session_from(&app, &token, "198.51.100.7").await.expect(200);

    put_account_rules(&app, json!([rule("deny", "198.51.100.0/24")])).await.expect(200);
    assert_denied(&session_from(&app, &token, "198.51.100.7").await);
    session_from(&app, &token, "192.0.2.1").await.expect(200); // the session was not ended

    // A user's own rule reaches their open session at once too.
    put_user_rules(&app, ana, "extend", json!([rule("deny", "192.0.2.1")])).await.expect(200);
    assert_denied(&session_from(&app, &token, "192.0.2.1").await);
    put_user_rules(&app, ana, "inherit", json!([])).await.expect(200);
    session_from(&app, &token, "192.0.2.1").await.expect(200);

    put_account_rules(&app, json!([])).await.expect(200);
    session_from(&app, &token, "198.51.100.7").await.expect(200);
}

async fn an_api_token_from_a_denied_address_is_refused(engine: Engine) {
    let app = TestApp::spawn_with(engine, proxied).await;
    let created = app.api_token("PBX dialer", &["users.view"]).await;
    let token = created["token"].as_str().unwrap().to_string();
    session_from(&app, &token, "198.51.100.3").await.expect(200);
    put_account_rules(&app, json!([rule("deny", "198.51.100.0/24")])).await.expect(200);
    let list =
        app.send(app.req_as(&token, Method::GET, &app.acct("users")).header("x-forwarded-for", "198.51.100.3")).await;
    assert_denied(&list);
    app.send(app.req_as(&token, Method::GET, &app.acct("users")).header("x-forwarded-for", "192.0.2.3"))
        .await
        .expect(200);
}

async fn rules_that_would_lock_you_out_are_refused(engine: Engine) {
    let app = TestApp::spawn_with(engine, proxied).await;
    // The admin works from 127.0.0.1 (no forwarded address).
    let resp = put_account_rules(&app, json!([rule("deny", "127.0.0.0/8")])).await;
    assert_issue(&resp, "rules", "would_lock_you_out");
    let resp = put_account_rules(&app, json!([rule("allow", "192.0.2.0/24")])).await;
    let message = assert_issue(&resp, "rules", "would_lock_you_out");
    assert!(message.contains("127.0.0.1"), "{message}");
    assert_eq!(app.get(&app.acct("access-rules")).await.json(200)["rules"], json!([]));
    put_account_rules(&app, json!([rule("allow", "192.0.2.0/24"), rule("allow", "127.0.0.1")])).await.expect(200);

    // One's own user rules are not set through the admin routes at all (D3); another user's
    // may deny the admin's address.
    let resp = put_user_rules(&app, app.admin_id, "overwrite", json!([rule("allow", "192.0.2.0/24")])).await;
    assert_issue(&resp, "mode", "self");
    let ana = app.user_with_password("ana", PW, json!({})).await;
    put_user_rules(&app, ana, "overwrite", json!([rule("deny", "127.0.0.1")])).await.expect(200);

    // The check uses the address the request comes from (here, forwarded).
    let etag = app.get(&app.acct("access-rules")).await.etag();
    let from_lan = app
        .req(Method::PUT, &app.acct("access-rules"))
        .header("if-match", etag)
        .header("x-forwarded-for", "192.0.2.50")
        .json(&json!({ "rules": [rule("allow", "192.0.2.0/24")] }));
    app.send(from_lan).await.expect(200);
    assert_denied(&app.get(&app.acct("access-rules")).await);
}

async fn stale_writes_are_refused(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let path = app.acct("access-rules");
    let old = app.get(&path).await.expect(200).etag();
    let body = json!({ "rules": [rule("deny", "192.0.2.1")] });
    app.send(app.req(Method::PUT, &path).header("if-match", &old).json(&body)).await.expect(200);
    app.send(app.req(Method::PUT, &path).header("if-match", &old).json(&body)).await.problem(412);
    app.send(app.req(Method::PUT, &path).json(&body)).await.problem(428);

    let ana = app.user_with_password("ana", PW, json!({})).await;
    let user_path = user_rules_path(&app, ana);
    let old = app.get(&user_path).await.expect(200).etag();
    let body = json!({ "mode": "extend", "rules": [rule("deny", "198.51.100.1")] });
    let saved = app.send(app.req(Method::PUT, &user_path).header("if-match", &old).json(&body)).await;
    saved.expect(200);
    assert_ne!(saved.etag(), old);
    app.send(app.req(Method::PUT, &user_path).header("if-match", &old).json(&body)).await.problem(412);
    assert_eq!(app.get(&user_path).await.json(200)["mode"], json!("extend"));
}

async fn access_rules_need_their_permissions(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (agent, agent_token) = app.user_with_role("agent1", "agent").await;
    let (supervisor, supervisor_token) = app.user_with_role("super1", "supervisor").await;
    // A supervisor sees the users of their desks (D8).
    let desk = app.desk("Floor").await;
    for id in [agent, supervisor] {
        app.update_user(id, json!({ "desks": [desk] })).await;
    }
    app.get_as(&agent_token, &app.acct("access-rules")).await.problem(403);
    let etag = app.get(&app.acct("access-rules")).await.etag();
    let put = |token: &str| {
        app.req_as(token, Method::PUT, &app.acct("access-rules"))
            .header("if-match", etag.clone())
            .json(&json!({ "rules": [] }))
    };
    app.send(put(&agent_token)).await.problem(403);
    app.send(put(&supervisor_token)).await.problem(403);
    app.get_as(&agent_token, &user_rules_path(&app, agent)).await.problem(403);
    // A supervisor sees users (and their rules) but does not edit them.
    app.get_as(&supervisor_token, &user_rules_path(&app, agent)).await.expect(200);
    let user_etag = app.get(&user_rules_path(&app, agent)).await.etag();
    let put_user = app
        .req_as(&supervisor_token, Method::PUT, &user_rules_path(&app, agent))
        .header("if-match", user_etag)
        .json(&json!({ "mode": "overwrite", "rules": [] }));
    app.send(put_user).await.problem(403);
    app.get(&user_rules_path(&app, 999_999)).await.problem(404);
}
