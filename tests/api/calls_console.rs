//! The console's call settings (R38): the telephony catalogs' page (dial rule sets written a
//! rule a line, music on hold, intercept groups) and the account's defaults; refused input shown
//! with its reason and nothing saved.

use serde_json::json;

use crate::helpers::{Console, Engine, TestApp, list_items};

both_engines!(the_telephony_pages_keep_catalogs_and_the_account_defaults);

async fn the_telephony_pages_keep_catalogs_and_the_account_defaults(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let console = Console::sign_in_with_second_factor(&app, &app.admin_login, &app.admin_password).await;
    console.get("/console/settings/security").await.expect(200).has("/console/settings/calls");
    console.get("/console/settings/telephony").await.expect(200).has("Dial rule sets").has("Intercept groups");

    // A rule set: a bad pattern is named and nothing is saved; then a good one.
    let bad = [("name", "Internal"), ("description", ""), ("rules", "allow _1XX\ndeny _0Q")];
    console
        .post("/console/settings/telephony/dial-rules", &bad)
        .await
        .expect(422)
        .has("is not a dial pattern")
        .has("_0Q");
    assert!(list_items(&app.get(&app.acct("dial-rules")).await.json(200)).is_empty());
    let good = [("name", "Internal"), ("description", "Extensions only"), ("rules", "allow _1XX\ndeny _0900X.")];
    console
        .post("/console/settings/telephony/dial-rules", &good)
        .await
        .redirects_to("/console/settings/telephony?notice=saved");
    let rules = list_items(&app.get(&app.acct("dial-rules")).await.json(200));
    assert_eq!(
        rules[0]["rules"],
        json!([{ "pattern": "_1XX", "action": "allow" }, { "pattern": "_0900X.", "action": "deny" }])
    );
    console.get("/console/settings/telephony").await.expect(200).has("allow _1XX\ndeny _0900X.");
    let music = [("name", "Jazz"), ("description", "")];
    console
        .post("/console/settings/telephony/music-on-hold", &music)
        .await
        .redirects_to("/console/settings/telephony?notice=saved");
    let jazz = list_items(&app.get(&app.acct("music-on-hold")).await.json(200))[0]["id"].as_i64().unwrap().to_string();
    let group = [("name", "Floor"), ("description", "")];
    console
        .post("/console/settings/telephony/intercept-groups", &group)
        .await
        .redirects_to("/console/settings/telephony?notice=saved");
    let floor =
        list_items(&app.get(&app.acct("intercept-groups")).await.json(200))[0]["id"].as_i64().unwrap().to_string();
    let rule_set = rules[0]["id"].as_i64().unwrap().to_string();

    // The account's defaults.
    console.get("/console/settings/calls").await.expect(200).has("Maximum simultaneous calls");
    let version = app.get(&app.acct("call-settings")).await.etag().trim_matches('"').to_string();
    let mut form = vec![
        ("version", version.as_str()),
        ("dial_rules", rule_set.as_str()),
        ("max_calls", "30"),
        ("music_on_hold", jazz.as_str()),
        ("call_waiting", "off"),
        ("record_calls", "on"),
        ("mask_number", "outbound"),
        ("caller_id", "+4930123456"),
        ("no_answer_timeout", "45"),
        ("blf", ""),
        ("member_of", floor.as_str()),
    ];
    console.post("/console/settings/calls", &form).await.expect(422).has("f-max_calls-error");
    form[2] = ("max_calls", "3");
    console.post("/console/settings/calls", &form).await.redirects_to("/console/settings/calls?notice=saved");
    let saved = app.get(&app.acct("call-settings")).await.json(200);
    assert_eq!(
        (saved["max_calls"].clone(), saved["record_calls"].clone(), saved["call_waiting"].clone()),
        (json!(3), json!(true), json!(false))
    );
    assert_eq!(
        (saved["dial_rules"]["name"].clone(), saved["music_on_hold"]["name"].clone()),
        (json!("Internal"), json!("Jazz"))
    );
    assert_eq!(saved["intercept"]["member_of"][0]["name"], "Floor");
    // In use by the defaults, the music class is not deleted, and the page says why.
    console
        .post(&format!("/console/settings/telephony/music-on-hold/{jazz}/delete"), &[])
        .await
        .expect(409)
        .has("account");
}
