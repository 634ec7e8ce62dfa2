//! Call settings (R38): the telephony catalogs (dial rule sets with checked patterns, music on
//! hold, intercept groups), the account's defaults, users' own values with the source of each,
//! returning a setting to the default, validation, concurrency and who may.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Engine, Resp, TestApp, id_of, list_items};

both_engines!(
    catalogs_round_trip_and_patterns_are_checked,
    users_take_the_account_defaults_until_they_have_their_own,
    bad_settings_are_refused_field_by_field_and_change_nothing,
    call_settings_are_seen_and_changed_only_as_permitted,
    mass_actions_set_and_reset_call_settings,
);

const PW: &str = "correct-horse-9";

async fn patch(app: &TestApp, path: &str, body: Value) -> Resp {
    let etag = app.get(path).await.etag();
    app.send(app.req(Method::PATCH, path).header("if-match", etag).json(&body)).await
}

fn user_settings(app: &TestApp, id: i64) -> String {
    app.acct(&format!("users/{id}/call-settings"))
}

async fn catalogs_round_trip_and_patterns_are_checked(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    // A bad pattern is named by its place, with why; nothing is saved.
    let bad = app
        .post(
            &app.acct("dial-rules"),
            json!({ "name": "National", "rules": [
                { "pattern": "_0[1-9]X.", "action": "allow" }, { "pattern": "_0Q.", "action": "allow" } ] }),
        )
        .await
        .problem_on(422, "rules[1].pattern");
    assert!(bad.to_string().contains("\\\"_0Q.\\\""), "{bad}");
    assert!(list_items(&app.get(&app.acct("dial-rules")).await.json(200)).is_empty());
    let national = app
        .post(
            &app.acct("dial-rules"),
            json!({ "name": "National", "description": "No abroad, no premium", "rules": [
                { "pattern": "_0900X.", "action": "deny" }, { "pattern": "_0[1-9]X.", "action": "allow" },
                { "pattern": "_1XX", "action": "allow" } ] }),
        )
        .await
        .json(201);
    assert_eq!(national["rules"][0], json!({ "pattern": "_0900X.", "action": "deny" }));
    app.post(&app.acct("dial-rules"), json!({ "name": "national" })).await.problem_on(409, "name");
    let path = app.acct(&format!("dial-rules/{}", id_of(&national)));
    let renamed = patch(&app, &path, json!({ "name": "Domestic" })).await.json(200);
    assert_eq!(renamed["rules"].as_array().unwrap().len(), 3, "rules kept");

    // Music on hold and intercept groups are plain named catalogs.
    let jazz = app.post(&app.acct("music-on-hold"), json!({ "name": "Jazz" })).await.json(201);
    assert!(jazz.get("rules").is_none(), "{jazz}");
    app.post(&app.acct("music-on-hold"), json!({ "name": "Rock", "rules": [] })).await.problem_on(422, "rules");
    let floor = app.post(&app.acct("intercept-groups"), json!({ "name": "Floor 1" })).await.json(201);

    // In use: a dial rule set or a class is not deleted (409 naming who); an intercept group is,
    // and its links go with it.
    let agent = app.user_with_password("ann", PW, json!({ "extension": "101" })).await;
    let body = json!({ "dial_rules": id_of(&national), "music_on_hold": id_of(&jazz),
        "intercept": { "member_of": [id_of(&floor)], "picks_up": [id_of(&floor)] } });
    patch(&app, &user_settings(&app, agent), body).await.expect(200);
    let refused = app.delete(&path).await.problem_on(409, "id");
    assert!(refused.to_string().contains("1 user"), "{refused}");
    app.delete(&app.acct(&format!("music-on-hold/{}", id_of(&jazz)))).await.problem_on(409, "id");
    let etag_before = app.get(&user_settings(&app, agent)).await.etag();
    app.delete(&app.acct(&format!("intercept-groups/{}", id_of(&floor)))).await.expect(204);
    let after = app.get(&user_settings(&app, agent)).await;
    assert_ne!(after.etag(), etag_before, "her intercept groups changed");
    assert_eq!(after.json(200)["intercept"]["value"], json!({ "member_of": [], "picks_up": [] }));
    let told = app.activity(&format!("user={agent}&action=user.call_settings_changed")).await;
    assert_eq!(told[0]["changes"]["intercept_group_deleted"], "Floor 1", "{told:?}");
    patch(&app, &user_settings(&app, agent), json!({ "dial_rules": null, "music_on_hold": null })).await.expect(200);
    app.delete(&path).await.expect(204);

    let log = app.activity("limit=100").await;
    let actions: Vec<&str> = log.iter().map(|e| e["action"].as_str().unwrap()).collect();
    for want in [
        "dial_rules.created",
        "dial_rules.updated",
        "dial_rules.deleted",
        "music_on_hold.created",
        "intercept_group.deleted",
    ] {
        assert!(actions.contains(&want), "no {want} in {actions:?}");
    }
}

async fn users_take_the_account_defaults_until_they_have_their_own(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ann = app.user_with_password("ann", PW, json!({ "extension": "101" })).await;
    app.user_with_password("bob", PW, json!({ "extension": "102" })).await;
    // Built-in defaults, all from the account.
    let fresh = app.get(&user_settings(&app, ann)).await.json(200);
    assert_eq!(fresh["max_calls"], json!({ "value": 2, "source": "account", "default": 2 }));
    assert_eq!(fresh["record_calls"]["value"], false);
    assert_eq!(fresh["mask_number"]["value"], "none");
    assert_eq!(fresh["no_answer_timeout"]["value"], 30);
    assert_eq!(fresh["dial_rules"]["value"], Value::Null);

    // The account's defaults change what everyone without their own has.
    let rules = app
        .post(
            &app.acct("dial-rules"),
            json!({ "name": "Internal", "rules": [{ "pattern": "_1XX", "action": "allow" }] }),
        )
        .await
        .json(201);
    let group = app.post(&app.acct("intercept-groups"), json!({ "name": "Sales floor" })).await.json(201);
    let account = patch(
        &app,
        &app.acct("call-settings"),
        json!({ "max_calls": 4, "record_calls": true, "dial_rules": id_of(&rules), "caller_id": "+4930123456",
            "blf": ["102"], "intercept": { "member_of": [id_of(&group)], "picks_up": [] } }),
    )
    .await
    .json(200);
    assert_eq!(account["max_calls"], 4);
    assert_eq!(account["dial_rules"]["name"], "Internal");
    let inherited = app.get(&user_settings(&app, ann)).await.json(200);
    assert_eq!(inherited["max_calls"], json!({ "value": 4, "source": "account", "default": 4 }));
    assert_eq!(inherited["record_calls"]["value"], true);
    assert_eq!(inherited["caller_id"]["value"], "+4930123456");
    assert_eq!(inherited["blf"]["value"], json!(["102"]));
    assert_eq!(inherited["intercept"]["value"]["member_of"][0]["name"], "Sales floor");

    // Her own values win, each saying so; the defaults are still shown beside them.
    let own = patch(
        &app,
        &user_settings(&app, ann),
        json!({ "max_calls": 1, "record_calls": false, "mask_number": "outbound", "blf": [],
            "intercept": { "member_of": [], "picks_up": [id_of(&group)] } }),
    )
    .await
    .json(200);
    assert_eq!(own["max_calls"], json!({ "value": 1, "source": "user", "default": 4 }));
    assert_eq!(own["record_calls"], json!({ "value": false, "source": "user", "default": true }));
    assert_eq!(own["mask_number"]["source"], "user");
    assert_eq!(own["blf"], json!({ "value": [], "source": "user", "default": ["102"] }));
    assert_eq!(own["intercept"]["value"]["picks_up"][0]["name"], "Sales floor");
    assert_eq!(own["caller_id"]["source"], "account", "untouched fields stay the account's");
    // A later change of the account's default does not reach her own value, but reaches the rest.
    patch(&app, &app.acct("call-settings"), json!({ "max_calls": 6, "no_answer_timeout": 45 })).await.expect(200);
    let later = app.get(&user_settings(&app, ann)).await.json(200);
    assert_eq!((later["max_calls"]["value"].clone(), later["max_calls"]["default"].clone()), (json!(1), json!(6)));
    assert_eq!(later["no_answer_timeout"], json!({ "value": 45, "source": "account", "default": 45 }));

    // `null` returns a setting to the default.
    let back = patch(&app, &user_settings(&app, ann), json!({ "max_calls": null, "intercept": null })).await.json(200);
    assert_eq!(back["max_calls"], json!({ "value": 6, "source": "account", "default": 6 }));
    assert_eq!(back["intercept"]["source"], "account");
    assert_eq!(back["record_calls"]["source"], "user", "the rest stays hers");

    // Each change is recorded, saying what came from where.
    let history = app.activity(&format!("user={ann}&action=user.call_settings_changed")).await;
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(history[0]["changes"]["max_calls"], json!({ "from": 1, "to": 6 }));
    assert_eq!(history[0]["changes"]["max_calls_source"], "account");
    assert!(!app.activity("action=account.call_settings_changed").await.is_empty());
}

async fn bad_settings_are_refused_field_by_field_and_change_nothing(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ann = app.user_with_password("ann", PW, json!({ "extension": "101" })).await;
    let path = user_settings(&app, ann);
    let before = app.get(&path).await.json(200);
    let refused = patch(
        &app,
        &path,
        json!({ "max_calls": 0, "no_answer_timeout": 1000, "mask_number": "sometimes", "caller_id": "030 123",
            "blf": ["101", "555", "12a"], "dial_rules": 999999, "intercept": { "member_of": [999999] } }),
    )
    .await;
    refused.problem(422);
    let mut fields = refused.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            "blf[1]",
            "blf[2]",
            "caller_id",
            "dial_rules",
            "intercept.member_of",
            "mask_number",
            "max_calls",
            "no_answer_timeout"
        ],
        "{}",
        refused.text()
    );
    assert_eq!(app.get(&path).await.json(200), before, "nothing changed");
    // Unknown fields and a missing or stale If-Match.
    let etag = app.get(&path).await.etag();
    app.send(app.req(Method::PATCH, &path).header("if-match", &etag).json(&json!({ "volume": 11 }))).await.problem(400);
    app.send(app.req(Method::PATCH, &path).json(&json!({ "max_calls": 3 }))).await.problem(428);
    app.send(app.req(Method::PATCH, &path).header("if-match", &etag).json(&json!({}))).await.problem_on(422, "request");
    app.send(app.req(Method::PATCH, &path).header("if-match", &etag).json(&json!({ "max_calls": 3 })))
        .await
        .expect(200);
    app.send(app.req(Method::PATCH, &path).header("if-match", &etag).json(&json!({ "max_calls": 4 })))
        .await
        .problem(412);
    assert_eq!(app.get(&path).await.json(200)["max_calls"]["value"], 3);
    // The account's defaults are checked the same way.
    patch(&app, &app.acct("call-settings"), json!({ "max_calls": 21 })).await.problem_on(422, "max_calls");
    app.get(&app.acct("users/999999/call-settings")).await.problem(404);
}

async fn call_settings_are_seen_and_changed_only_as_permitted(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let floor = app.desk("Floor").await;
    let other = app.desk("Other").await;
    let mine = app.user_with_password("mine", PW, json!({ "desks": [floor] })).await;
    let theirs = app.user_with_password("theirs", PW, json!({ "desks": [other] })).await;
    let (sup, sup_token) = app.user_with_role("sup", "supervisor").await;
    app.update_user(sup, json!({ "desks": [floor] })).await;
    // A supervisor reads the settings of their desks' users and the catalogs, and changes none.
    app.get_as(&sup_token, &user_settings(&app, mine)).await.expect(200);
    app.get_as(&sup_token, &user_settings(&app, theirs)).await.problem(404);
    app.get_as(&sup_token, &app.acct("dial-rules")).await.expect(200);
    app.post_as(&sup_token, &app.acct("dial-rules"), json!({ "name": "Mine" })).await.problem(403);
    let etag = app.get(&user_settings(&app, mine)).await.etag();
    let change = app.req_as(&sup_token, Method::PATCH, &user_settings(&app, mine)).header("if-match", &etag);
    app.send(change.json(&json!({ "max_calls": 5 }))).await.problem(403);
    // Nor does an agent; and an admin is reached only by admins (D2).
    let (_, agent_token) = app.user_with_role("caller", "agent").await;
    app.get_as(&agent_token, &app.acct("music-on-hold")).await.problem(403);
    let role =
        app.create_named("roles", json!({ "name": "Editor", "permissions": ["users.view", "users.edit"] })).await;
    app.user_with_password("editor", PW, json!({ "roles": [role] })).await;
    let editor = app.sign_in("editor", PW).await;
    let admin_path = user_settings(&app, app.admin_id);
    let etag = app.get(&admin_path).await.etag();
    let change = app.req_as(&editor, Method::PATCH, &admin_path).header("if-match", &etag);
    app.send(change.json(&json!({ "max_calls": 5 }))).await.problem(403);
    let etag = app.get(&user_settings(&app, mine)).await.etag();
    let change = app.req_as(&editor, Method::PATCH, &user_settings(&app, mine)).header("if-match", &etag);
    assert_eq!(app.send(change.json(&json!({ "max_calls": 5 }))).await.json(200)["max_calls"]["value"], 5);
    // Where a user may dial is chosen only by who manages dial rules (a toll-fraud control, as D7).
    let rules = app
        .post(&app.acct("dial-rules"), json!({ "name": "Anywhere", "rules": [{ "pattern": "_!", "action": "allow" }] }))
        .await
        .json(201);
    let etag = app.get(&user_settings(&app, mine)).await.etag();
    let change = app.req_as(&editor, Method::PATCH, &user_settings(&app, mine)).header("if-match", &etag);
    app.send(change.json(&json!({ "dial_rules": id_of(&rules) }))).await.problem(403);
    let bulk = json!({ "action": "set_call_settings", "target": { "ids": [mine] }, "call_settings": { "dial_rules": id_of(&rules) } });
    app.send(app.req_as(&editor, Method::POST, &app.acct("users/bulk")).json(&bulk)).await.problem(403);
    // A mass action over everyone leaves out the users beyond the editor's reach (the admin, D2).
    let all = json!({ "action": "set_call_settings", "target": "all", "call_settings": { "max_calls": 6 } });
    let done = app.send(app.req_as(&editor, Method::POST, &app.acct("users/bulk")).json(&all)).await.json(200);
    assert!(done["out_of_reach"].as_i64().unwrap() >= 1, "{done}");
    assert_eq!(app.get(&admin_path).await.json(200)["max_calls"]["source"], "account");
    assert_eq!(app.get(&user_settings(&app, theirs)).await.json(200)["max_calls"]["value"], 6);
    // Sending the value it has already is no choice.
    let etag = app.get(&user_settings(&app, mine)).await.etag();
    let change = app.req_as(&editor, Method::PATCH, &user_settings(&app, mine)).header("if-match", &etag);
    app.send(change.json(&json!({ "dial_rules": null, "max_calls": 4 }))).await.expect(200);
    // The account's defaults need settings.manage.
    let etag = app.get(&app.acct("call-settings")).await.etag();
    let change = app.req_as(&editor, Method::PATCH, &app.acct("call-settings")).header("if-match", &etag);
    app.send(change.json(&json!({ "max_calls": 5 }))).await.problem(403);
}

async fn mass_actions_set_and_reset_call_settings(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let desk = app.desk("Floor").await;
    let a = app.user_with_password("a-user", PW, json!({ "desks": [desk], "extension": "101" })).await;
    let b = app.user_with_password("b-user", PW, json!({ "desks": [desk], "extension": "102" })).await;
    let c = app.user_with_password("c-user", PW, json!({})).await;
    let group = app.post(&app.acct("intercept-groups"), json!({ "name": "Floor" })).await.json(201);
    let target = json!({ "filter": { "desk": [desk] } });
    // Checked once, before anything: a bad value refuses the whole action.
    let bad = json!({ "action": "set_call_settings", "target": target, "call_settings": { "max_calls": 99 } });
    app.bulk(bad).await.problem_on(422, "call_settings.max_calls");
    app.bulk(json!({ "action": "set_call_settings", "target": target })).await.problem_on(422, "call_settings");
    app.bulk(json!({ "action": "activate", "target": target, "call_settings": {} }))
        .await
        .problem_on(422, "call_settings");

    let settings = json!({ "max_calls": 3, "record_calls": true, "blf": ["101", "102"],
        "intercept": { "member_of": [id_of(&group)], "picks_up": [id_of(&group)] } });
    let preview = app
        .bulk(json!({ "action": "set_call_settings", "target": target, "call_settings": settings, "dry_run": true }))
        .await
        .json(200);
    assert_eq!(preview["changed"], 2);
    assert_eq!(
        app.get(&user_settings(&app, a)).await.json(200)["max_calls"]["source"],
        "account",
        "a preview changes nothing"
    );
    let done =
        app.bulk(json!({ "action": "set_call_settings", "target": target, "call_settings": settings })).await.json(200);
    assert_eq!(done["changed"], 2);
    for id in [a, b] {
        let s = app.get(&user_settings(&app, id)).await.json(200);
        assert_eq!(s["max_calls"], json!({ "value": 3, "source": "user", "default": 2 }));
        assert_eq!(s["record_calls"]["value"], true);
        assert_eq!(s["blf"]["value"], json!(["101", "102"]));
        assert_eq!(s["intercept"]["value"]["picks_up"][0]["name"], "Floor");
        assert_eq!(s["caller_id"]["source"], "account", "settings not named are left alone");
    }
    assert_eq!(
        app.get(&user_settings(&app, c)).await.json(200)["max_calls"]["source"],
        "account",
        "outside the filter"
    );
    // Reset: null returns a setting to the default, for all of them.
    let reset = json!({ "action": "set_call_settings", "target": { "ids": [a, b] }, "call_settings": { "max_calls": null, "intercept": null } });
    app.bulk(reset).await.expect(200);
    let s = app.get(&user_settings(&app, b)).await.json(200);
    assert_eq!(
        (s["max_calls"]["source"].clone(), s["intercept"]["source"].clone()),
        (json!("account"), json!("account"))
    );
    assert_eq!(s["record_calls"]["source"], "user");
    let history = app.activity(&format!("user={b}&action=user.call_settings_changed")).await;
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(history[0]["changes"]["max_calls"], "default");
}
