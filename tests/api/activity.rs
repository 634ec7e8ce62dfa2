//! The activity log (R36): who did what to whom, what changed, from where, and its filters.

use serde_json::{Value, json};

use crate::helpers::{Engine, TestApp, id_of, rfc3339};

both_engines!(
    create_edit_delete_are_recorded_with_their_changes,
    sign_ins_and_refusals_are_recorded,
    activity_filters_by_user_actor_action_and_time,
    control_characters_in_text_filters_are_refused,
);

/// PostgreSQL cannot hold a NUL in text: such a filter was a 500 there (found by the contract run).
async fn control_characters_in_text_filters_are_refused(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    for (query, field) in [("action=%00x", "action"), ("q=a%00b", "q")] {
        app.get(&format!("{}?{query}", app.acct("activity"))).await.problem_field(422, field, "invalid_chars");
    }
    app.list_users("q=a%00b").await.problem_field(422, "q", "invalid_chars");
    app.list_users("q=a%1Fb").await.problem_field(422, "q", "invalid_chars");
}

fn only<'a>(events: &'a [Value], action: &str) -> &'a Value {
    let found: Vec<&Value> = events.iter().filter(|e| e["action"] == action).collect();
    assert_eq!(found.len(), 1, "expected one {action} event in {events:#?}");
    found[0]
}

async fn create_edit_delete_are_recorded_with_their_changes(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let desk = app.desk("Billing").await;
    let created = app
        .new_user(json!({ "login": "mia", "email": "mia@example.com", "first_name": "Mia", "desks": [desk],
            "password": "aimq-secret-123" }))
        .await;
    let id = id_of(&created);
    app.update_user(id, json!({ "email": "mia@corp.example", "first_name": "Mia", "time_zone": "Asia/Tokyo" })).await;
    app.delete_user(id).await.expect(204);

    let events = app.activity(&format!("user={id}")).await;
    let actions: Vec<&str> = events.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["user.deleted", "user.updated", "user.created"], "newest first");
    for e in &events {
        assert_eq!(e["actor_id"], app.admin_id, "{e}");
        assert_eq!(e["actor_label"], app.admin_login.as_str(), "{e}");
        assert_eq!(e["target_type"], "user");
        assert_eq!(e["target_id"], id);
        assert_eq!(e["target_label"], "mia");
        assert_eq!(e["address"], "127.0.0.1", "the address is recorded: {e}");
        assert!(
            e["at"].as_str().is_some_and(|t| time::OffsetDateTime::parse(
                t,
                &time::format_description::well_known::Rfc3339
            )
            .is_ok()),
            "{e}"
        );
        assert!(!e.to_string().contains("aimq-secret-123"), "a secret in the log: {e}");
    }

    let created = &only(&events, "user.created")["changes"];
    assert_eq!(created["login"], "mia", "{created}");
    assert_eq!(created["email"], "mia@example.com", "{created}");
    assert_eq!(created["desks"], json!(["Billing"]), "{created}");

    let updated = &only(&events, "user.updated")["changes"];
    assert_eq!(updated["email"], json!({ "from": "mia@example.com", "to": "mia@corp.example" }), "{updated}");
    assert_eq!(updated["time_zone"], json!({ "from": null, "to": "Asia/Tokyo" }), "{updated}");
    assert!(updated.get("first_name").is_none(), "an unchanged field is not recorded: {updated}");
    assert!(updated.get("login").is_none(), "{updated}");

    let deleted = &only(&events, "user.deleted")["changes"];
    assert_eq!(
        (deleted["login"].as_str(), deleted["email"].as_str()),
        (Some("mia"), Some("mia@corp.example")),
        "{deleted}"
    );

    // An edit that changes nothing records nothing.
    let other = id_of(&app.new_user(json!({ "login": "ned", "first_name": "Ned" })).await);
    app.update_user(other, json!({ "first_name": "Ned" })).await;
    let ned = app.activity(&format!("user={other}")).await;
    assert_eq!(ned.iter().filter(|e| e["action"] == "user.updated").count(), 0, "{ned:#?}");

    // A password change is recorded without the password.
    app.set_password(other, json!({ "password": "wen-dnarbq-pass-7" })).await.expect(200);
    let ned = app.activity(&format!("user={other}")).await;
    assert!(ned.iter().any(|e| e["action"].as_str().is_some_and(|a| a.contains("password"))), "{ned:#?}");
    assert!(!serde_json::to_string(&ned).unwrap().contains("wen-dnarbq-pass-7"));
}

async fn sign_ins_and_refusals_are_recorded(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = app.user_with_password("nia", "ainq-password-1", json!({})).await;
    app.sign_in("nia", "ainq-password-1").await;
    app.login("nia", "gnorwq-password-x").await.problem(401);
    app.login("ghost", "revetahwq-pass-1").await.problem(401);

    let ok = app.activity(&format!("user={id}&action=auth.sign_in")).await;
    assert_eq!(ok.len(), 1, "{ok:#?}");
    assert_eq!(ok[0]["actor_id"], id, "the user signed themselves in: {}", ok[0]);
    assert_eq!(ok[0]["target_id"], id);
    assert_eq!(ok[0]["address"], "127.0.0.1");

    let failed = app.activity("action=auth.sign_in_failed").await;
    assert_eq!(failed.len(), 2, "{failed:#?}");
    let wrong = failed.iter().find(|e| e["target_id"] == id).expect("the wrong password names its user");
    assert_eq!(wrong["target_label"], "nia");
    let ghost = failed.iter().find(|e| e["target_id"].is_null()).expect("the unknown login is recorded");
    assert!(ghost.to_string().contains("ghost"), "the attempted login is kept: {ghost}");
    let all = serde_json::to_string(&failed).unwrap();
    assert!(
        !all.contains("gnorwq-password-x") && !all.contains("revetahwq-pass-1"),
        "attempted passwords logged: {all}"
    );
    // The admin's own sign-in at start-up is there too.
    assert!(!app.activity(&format!("user={}&action=auth.sign_in", app.admin_id)).await.is_empty());
}

async fn activity_filters_by_user_actor_action_and_time(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let start = time::OffsetDateTime::now_utc() - time::Duration::seconds(1);
    let (ola, ola_token) = app.admin_with_second_factor("ola").await;
    let pat = app.post_as(&ola_token, &app.acct("users"), json!({ "login": "pat" })).await.json(201);
    let pat = id_of(&pat);
    let quinn = id_of(&app.new_user(json!({ "login": "quinn" })).await);

    // By actor: ola created pat, the first admin created ola and quinn.
    let by_ola = app.activity(&format!("actor={ola}&action=user.created")).await;
    assert_eq!(by_ola.iter().map(|e| e["target_id"].as_i64().unwrap()).collect::<Vec<_>>(), vec![pat]);
    let by_admin = app.activity(&format!("actor={}&action=user.created", app.admin_id)).await;
    let mut targets: Vec<i64> = by_admin.iter().map(|e| e["target_id"].as_i64().unwrap()).collect();
    targets.sort();
    assert_eq!(targets, vec![ola, quinn]);

    // By action, several at once.
    let mixed = app.activity("action=user.created,auth.sign_in").await;
    assert!(mixed.iter().all(|e| e["action"] == "user.created" || e["action"] == "auth.sign_in"));
    assert!(mixed.iter().any(|e| e["action"] == "auth.sign_in") && mixed.iter().any(|e| e["action"] == "user.created"));
    assert!(app.activity("action=no.such.action").await.is_empty());

    // By text.
    let q = app.activity("q=quinn").await;
    assert!(!q.is_empty() && q.iter().all(|e| e.to_string().contains("quinn")), "{q:#?}");

    // By time: from is inclusive, to exclusive; an event's own `at` splits the log there.
    let quinn_created = app.activity(&format!("user={quinn}&action=user.created")).await;
    let at = quinn_created[0]["at"].as_str().unwrap().replace('+', "%2B");
    let from_at = app.activity(&format!("user={quinn}&from={at}")).await;
    assert_eq!(from_at.len(), 1, "from={at} includes the event: {from_at:#?}");
    let to_at = app.activity(&format!("user={quinn}&to={at}")).await;
    assert!(to_at.is_empty(), "to={at} excludes the event: {to_at:#?}");
    let future = rfc3339(time::OffsetDateTime::now_utc() + time::Duration::hours(1));
    assert!(app.activity(&format!("from={future}")).await.is_empty());
    let past = rfc3339(start - time::Duration::days(1));
    assert!(app.activity(&format!("to={past}")).await.is_empty());
    let window = app.activity(&format!("from={}&to={future}", rfc3339(start))).await;
    assert!(window.len() >= 4, "{window:#?}");
    let bad = app.get(&format!("{}?from=yesterday", app.acct("activity"))).await;
    bad.problem_on(422, "from");

    // Pages: newest first, no event twice, none missing.
    let everything = app.activity("limit=500").await;
    let mut paged = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app.get(&format!("{}?limit=2{cursor}", app.acct("activity"))).await.json(200);
        paged.extend(page["items"].as_array().unwrap().iter().map(id_of));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    let all_ids: Vec<i64> = everything.iter().map(id_of).collect();
    assert_eq!(paged, all_ids);
    let mut sorted_desc = all_ids.clone();
    sorted_desc.sort_by(|a, b| b.cmp(a));
    assert_eq!(all_ids, sorted_desc, "newest first");
}
