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
    // The mass-action bar sets some settings for the chosen users and returns others to the default.
    let ann = app.user_with_password("ann", "correct-horse-9", json!({})).await;
    let bob = app.user_with_password("bob", "correct-horse-9", json!({})).await;
    console
        .get("/console/users/bulk/values?action=set_call_settings")
        .await
        .expect(200)
        .has("Leave as it is")
        .has("Jazz");
    let (ann_id, bob_id) = (ann.to_string(), bob.to_string());
    let bulk = [
        ("action", "set_call_settings"),
        ("scope", "selected"),
        ("ids", ann_id.as_str()),
        ("ids", bob_id.as_str()),
        ("cs_max_calls", "5"),
        ("cs_record_calls", "default"),
        ("cs_mask_number", "all"),
        ("mode", "apply"),
    ];
    console.post("/console/users/bulk", &bulk).await.expect(200).has("2 users given the call settings");
    let s = app.get(&app.acct(&format!("users/{bob}/call-settings"))).await.json(200);
    assert_eq!(s["max_calls"], json!({ "value": 5, "source": "user", "default": 3 }));
    assert_eq!(s["mask_number"]["value"], "all");
    assert_eq!(
        (s["record_calls"]["source"].clone(), s["call_waiting"]["source"].clone()),
        (json!("account"), json!("account"))
    );
    let nothing = [("action", "set_call_settings"), ("scope", "selected"), ("ids", ann_id.as_str()), ("mode", "apply")];
    console.post("/console/users/bulk", &nothing).await.has("at least one setting");

    // In use by the defaults, the music class is not deleted, and the page says why.
    console
        .post(&format!("/console/settings/telephony/music-on-hold/{jazz}/delete"), &[])
        .await
        .expect(409)
        .has("account");
}
