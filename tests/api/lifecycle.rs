//! Deactivation for a time (R18): periods saved on a user, begun and ended by the job that
//! follows the test's clock, edited and cancelled; the activation log; mass scheduling; seats
//! (R20); and a disabled account (R17). Time moves only when a test moves it.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Engine, STRONG, TestApp, list_items};

both_engines!(
    a_period_deactivates_and_reactivates_by_the_clock,
    a_period_that_begins_now_ends_sessions_and_a_manual_reactivation_ends_it,
    periods_are_edited_and_cancelled,
    refusals_change_nothing,
    the_job_never_deactivates_the_last_admin_nor_reactivates_against_a_later_decision,
    a_period_that_fell_due_while_no_instance_ran_is_applied_at_the_next_start,
    mass_actions_schedule_and_log_all_or_nothing,
    seats_limit_members_not_end_users,
    a_disabled_account_ends_its_sessions_and_is_logged,
    back_to_back_periods_hand_over_and_a_date_of_return_takes_a_seat,
    an_import_past_the_seats_is_refused_whole,
);

const HOUR: i64 = 3_600_000;

/// The test clock's now plus `ms`, as the API takes times.
fn at(app: &TestApp, ms: i64) -> String {
    app.clock.now().plus_ms(ms).to_rfc3339()
}

fn periods_path(app: &TestApp, user: i64) -> String {
    format!("{}/deactivations", app.user_path(user))
}

async fn schedule(app: &TestApp, user: i64, body: Value) -> Value {
    app.post(&periods_path(app, user), body).await.json(201)
}

async fn user(app: &TestApp, id: i64) -> Value {
    app.get_user(id).await.json(200)
}

async fn log(app: &TestApp, query: &str) -> Vec<Value> {
    list_items(&app.get(&format!("{}?{query}", app.acct("activation-log"))).await.json(200))
}

/// The log's lines about one user, oldest first, as `(change, trigger)`.
async fn log_of(app: &TestApp, user: i64) -> Vec<(String, String)> {
    let mut lines: Vec<(String, String)> = log(app, &format!("user={user}&limit=500"))
        .await
        .iter()
        .map(|l| (l["change"].as_str().unwrap().to_string(), l["trigger"].as_str().unwrap().to_string()))
        .collect();
    lines.reverse();
    lines
}

fn pair(change: &str, trigger: &str) -> (String, String) {
    (change.to_string(), trigger.to_string())
}

async fn a_period_deactivates_and_reactivates_by_the_clock(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let dora = app.user_with_password("dora", STRONG, json!({})).await;
    let token = app.sign_in("dora", STRONG).await;
    let (from, until) = (at(&app, HOUR), at(&app, 3 * HOUR));
    let period = schedule(&app, dora, json!({ "from": from, "until": until, "reason": "vacation" })).await;
    assert_eq!(period["state"], "pending", "{period}");
    assert_eq!(period["reason"], "vacation");

    // Saved, not begun: she is active and shows what is coming, on her page and in the list.
    let shown = user(&app, dora).await;
    assert_eq!(shown["status"], "active");
    assert_eq!(shown["deactivation"], json!({ "from": from, "until": until }), "{shown}");
    let row = app.list_all("q=dora").await.into_iter().find(|u| u["login"] == "dora").unwrap();
    assert_eq!(row["deactivation"]["from"], from.as_str(), "the list shows it too: {row}");
    app.session(&token).await.expect(200);

    // Not yet: a minute before it begins nothing happens.
    app.clock.advance(HOUR - 60_000).await;
    assert_eq!(user(&app, dora).await["status"], "active");

    app.clock.advance(60_000).await;
    let out = user(&app, dora).await;
    assert_eq!(out["status"], "disabled", "{out}");
    app.session(&token).await.expect(401);
    app.login("dora", STRONG).await.expect(401);
    let lines = log(&app, &format!("user={dora}")).await;
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert_eq!(lines[0]["change"], "deactivated");
    assert_eq!(lines[0]["trigger"], "scheduled");
    assert_eq!(lines[0]["reason"], "vacation");
    assert_eq!(lines[0]["period_id"], period["id"]);
    assert_eq!(lines[0]["at"], from.as_str(), "logged at the clock's time");
    let periods = app.get(&periods_path(&app, dora)).await.json(200);
    assert_eq!(periods[0]["state"], "in_effect", "{periods}");

    app.clock.advance(2 * HOUR).await;
    let back = user(&app, dora).await;
    assert_eq!(back["status"], "active", "{back}");
    assert_eq!(back["deactivation"], Value::Null, "nothing open any more");
    app.sign_in("dora", STRONG).await;
    assert_eq!(log_of(&app, dora).await, vec![pair("deactivated", "scheduled"), pair("reactivated", "scheduled")]);
    let periods = app.get(&periods_path(&app, dora)).await.json(200);
    assert_eq!(periods[0]["state"], "ended", "{periods}");
    // The activity log names the schedule as the one who acted.
    let events = app.activity(&format!("user={dora}&action=user.updated")).await;
    assert_eq!(events.len(), 2, "{events:#?}");
    assert!(events.iter().all(|e| e["actor_label"] == "deactivation schedule"), "{events:#?}");
}

async fn a_period_that_begins_now_ends_sessions_and_a_manual_reactivation_ends_it(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let dora = app.user_with_password("dora", STRONG, json!({})).await;
    let token = app.sign_in("dora", STRONG).await;
    let period = schedule(&app, dora, json!({ "until": at(&app, 24 * HOUR), "reason": "suspended" })).await;
    assert_eq!(period["state"], "in_effect");
    assert_eq!(user(&app, dora).await["status"], "disabled");
    app.session(&token).await.expect(401);
    let lines = log(&app, &format!("user={dora}")).await;
    assert_eq!(lines[0]["trigger"], "manual");
    assert_eq!(lines[0]["actor_id"], app.admin_id);
    assert_eq!(lines[0]["reason"], "suspended");

    // Back early by hand, with a reason: the period ends and the clock has nothing left to do.
    let etag = app.get_user(dora).await.etag();
    let back = app.patch_user(dora, Some(&etag), json!({ "status": "active", "status_reason": "appeal upheld" })).await;
    assert_eq!(back.json(200)["deactivation"], Value::Null);
    let periods = app.get(&periods_path(&app, dora)).await.json(200);
    assert_eq!(periods[0]["state"], "ended");
    app.clock.advance(25 * HOUR).await;
    assert_eq!(user(&app, dora).await["status"], "active");
    assert_eq!(log_of(&app, dora).await, vec![pair("deactivated", "manual"), pair("reactivated", "manual")]);
    assert_eq!(log(&app, &format!("user={dora}")).await[0]["reason"], "appeal upheld");

    // A plain deactivation by edit is logged too, and with no period it stays.
    let etag = app.get_user(dora).await.etag();
    app.patch_user(dora, Some(&etag), json!({ "status": "disabled" })).await.expect(200);
    app.clock.advance(HOUR).await;
    assert_eq!(user(&app, dora).await["status"], "disabled");
    assert_eq!(log_of(&app, dora).await.len(), 3);
}

async fn periods_are_edited_and_cancelled(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let dora = app.user_with_password("dora", STRONG, json!({})).await;
    let period = schedule(&app, dora, json!({ "from": at(&app, 2 * HOUR), "until": at(&app, 4 * HOUR) })).await;
    let path = format!("{}/{}", periods_path(&app, dora), period["id"]);

    // A pending period's times and reason change; a stale If-Match is refused.
    let edit = app.req(Method::PATCH, &path).header("if-match", "\"1\"");
    let edited = app.send(edit.json(&json!({ "from": at(&app, HOUR), "reason": "training" }))).await;
    let etag = edited.etag();
    let edited = edited.json(200);
    assert_eq!(edited["from"], at(&app, HOUR).as_str());
    assert_eq!(edited["until"], period["until"], "kept");
    assert_eq!(edited["reason"], "training");
    let stale = app.req(Method::PATCH, &path).header("if-match", "\"1\"");
    app.send(stale.json(&json!({ "reason": "x" }))).await.problem(412);
    assert_eq!(user(&app, dora).await["deactivation"]["from"], at(&app, HOUR).as_str());

    // Moving its start to now begins it at once.
    let begin = app.req(Method::PATCH, &path).header("if-match", &etag);
    assert_eq!(app.send(begin.json(&json!({ "from": at(&app, 0) }))).await.json(200)["state"], "in_effect");
    assert_eq!(user(&app, dora).await["status"], "disabled");
    // Once begun, its start no longer moves, but its end does (to no end at all, too).
    let moved = app.send(app.req(Method::PATCH, &path).json(&json!({ "from": at(&app, 5 * HOUR) }))).await;
    moved.problem_field(422, "from", "begun");
    let open = app.send(app.req(Method::PATCH, &path).json(&json!({ "until": null }))).await.json(200);
    assert_eq!(open["until"], Value::Null);
    app.clock.advance(5 * HOUR).await;
    assert_eq!(user(&app, dora).await["status"], "disabled", "no end: still out");

    // Cancelling one in effect reactivates now; an ended one no longer changes.
    let ended = app.delete(&path).await.json(200);
    assert_eq!(ended["state"], "ended");
    assert_eq!(user(&app, dora).await["status"], "active");
    app.delete(&path).await.problem_field(409, "state", "over");
    app.send(app.req(Method::PATCH, &path).json(&json!({ "reason": "late" })))
        .await
        .problem_field(409, "state", "over");

    // Cancelling a pending one withdraws it: the clock passes and nothing happens.
    let later = schedule(&app, dora, json!({ "from": at(&app, HOUR), "until": at(&app, 2 * HOUR) })).await;
    let later_path = format!("{}/{}", periods_path(&app, dora), later["id"]);
    assert_eq!(app.delete(&later_path).await.json(200)["state"], "cancelled");
    assert_eq!(user(&app, dora).await["deactivation"], Value::Null);
    app.clock.advance(3 * HOUR).await;
    assert_eq!(user(&app, dora).await["status"], "active");
    let actions: Vec<String> =
        app.activity(&format!("user={dora}")).await.iter().map(|e| e["action"].as_str().unwrap().to_string()).collect();
    for action in ["user.deactivation_scheduled", "user.deactivation_changed", "user.deactivation_cancelled"] {
        assert!(actions.iter().any(|a| a == action), "{action} in {actions:?}");
    }
}

async fn refusals_change_nothing(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let dora = app.user_with_password("dora", STRONG, json!({})).await;
    let path = periods_path(&app, dora);
    schedule(&app, dora, json!({ "from": at(&app, HOUR), "until": at(&app, 3 * HOUR) })).await;

    // Overlaps, open ends included; back to back is fine.
    let clash = app.post(&path, json!({ "from": at(&app, 2 * HOUR), "until": at(&app, 4 * HOUR) })).await;
    clash.problem_field(409, "from", "overlaps");
    app.post(&path, json!({ "from": at(&app, 0), "until": at(&app, 90 * 60_000) }))
        .await
        .problem_field(409, "from", "overlaps");
    schedule(&app, dora, json!({ "from": at(&app, 3 * HOUR), "until": at(&app, 4 * HOUR) })).await;
    schedule(&app, dora, json!({ "from": at(&app, 10 * HOUR) })).await;
    app.post(&path, json!({ "from": at(&app, 20 * HOUR), "until": at(&app, 21 * HOUR) }))
        .await
        .problem_field(409, "from", "overlaps");

    // Bad times and reasons, each named.
    let bad = app.post(&path, json!({ "from": at(&app, 30 * HOUR), "until": at(&app, 29 * HOUR) })).await;
    bad.problem_field(422, "until", "not_after_from");
    app.post(&path, json!({ "from": "next monday" })).await.problem_field(422, "from", "invalid_time");
    app.post(&path, json!({ "until": at(&app, -HOUR) })).await.problem_field(422, "until", "not_after_from");
    app.post(&path, json!({ "reason": "x".repeat(501) })).await.problem_on(422, "reason");
    app.post(&path, json!({ "when": "now" })).await.expect(400);
    assert_eq!(app.get(&path).await.json(200).as_array().unwrap().len(), 3, "nothing saved");

    // Not oneself (D3), not someone deactivated already, not a deleted user.
    let own = periods_path(&app, app.admin_id);
    app.post(&own, json!({ "until": at(&app, HOUR) })).await.problem_field(422, "user", "self");
    let bob = app.user_with_password("bob", STRONG, json!({ "status": "disabled" })).await;
    app.post(&periods_path(&app, bob), json!({ "until": at(&app, HOUR) })).await.problem_field(
        409,
        "status",
        "deactivated",
    );
    app.delete_user(bob).await.expect(204);
    app.post(&periods_path(&app, bob), json!({ "from": at(&app, HOUR) })).await.problem(404);
    app.patch_user(bob, Some("\"1\""), json!({ "status": "active" })).await.problem(404);
    app.get(&periods_path(&app, bob)).await.problem(404);

    // Out of reach (D2): an agent-desk lead cannot schedule an admin.
    let (_, _, lead) = app.user_with_permissions("lead", &["users.view", "users.edit"]).await;
    let admin_periods = periods_path(&app, app.admin_id);
    let refused = app.post_as(&lead, &admin_periods, json!({ "from": at(&app, HOUR) })).await;
    assert!(matches!(refused.status.as_u16(), 403 | 404), "{}", refused.text());
    assert_eq!(user(&app, app.admin_id).await["deactivation"], Value::Null);
}

async fn the_job_never_deactivates_the_last_admin_nor_reactivates_against_a_later_decision(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    // Two admins of one account, both scheduled out for the same hour by a platform operator:
    // the first to begin leaves one admin, and the job will not deactivate that last one.
    app.post("/api/v1/accounts", json!({ "slug": "acme", "name": "Acme" })).await.json(201);
    let admin_role = app.builtin_role_in(&app.token, "acme", "admin").await;
    let mut admins = Vec::new();
    for login in ["xena", "yuri"] {
        let body = json!({ "login": login, "password": STRONG, "roles": [admin_role] });
        admins.push(app.post("/api/v1/accounts/acme/users", body).await.json(201)["id"].as_i64().unwrap());
    }
    for id in &admins {
        let path = format!("/api/v1/accounts/acme/users/{id}/deactivations");
        app.post(&path, json!({ "from": at(&app, HOUR) })).await.json(201);
    }
    app.clock.advance(HOUR).await;
    let mut statuses = Vec::new();
    for id in &admins {
        statuses.push(app.get(&format!("/api/v1/accounts/acme/users/{id}")).await.json(200)["status"].clone());
    }
    assert_eq!(statuses, [json!("disabled"), json!("active")], "the last admin stays");
    let skipped =
        list_items(&app.get("/api/v1/accounts/acme/activity?action=user.deactivation_skipped").await.json(200));
    assert_eq!(skipped.len(), 1, "{skipped:#?}");
    assert_eq!(skipped[0]["changes"]["skipped"], "the user is the account's last admin");
    assert_eq!(skipped[0]["target_id"], admins[1]);

    // A period that begins after someone deactivated the user by hand does nothing, so its
    // end cannot undo that decision.
    let dora = app.user_with_password("dora", STRONG, json!({})).await;
    let period = schedule(&app, dora, json!({ "from": at(&app, HOUR), "until": at(&app, 2 * HOUR) })).await;
    let etag = app.get_user(dora).await.etag();
    app.patch_user(dora, Some(&etag), json!({ "status": "disabled", "status_reason": "left" })).await.expect(200);
    app.clock.advance(3 * HOUR).await;
    assert_eq!(user(&app, dora).await["status"], "disabled");
    let periods = app.get(&periods_path(&app, dora)).await.json(200);
    assert_eq!(periods[0]["id"], period["id"]);
    assert_eq!(periods[0]["state"], "cancelled");
    assert_eq!(log_of(&app, dora).await, vec![pair("deactivated", "manual")]);
}

async fn a_period_that_fell_due_while_no_instance_ran_is_applied_at_the_next_start(engine: Engine) {
    let mut app = TestApp::spawn(engine).await;
    let dora = app.user_with_password("dora", STRONG, json!({})).await;
    schedule(&app, dora, json!({ "from": at(&app, HOUR), "until": at(&app, 2 * HOUR) })).await;
    let erin = app.user_with_password("erin", STRONG, json!({})).await;
    schedule(&app, erin, json!({ "from": at(&app, HOUR) })).await;
    app.stop().await;
    app.clock.move_forward(90 * 60_000);
    app.start_again().await;
    // The job's first round, at start, applies both.
    app.clock.advance(0).await;
    assert_eq!(user(&app, dora).await["status"], "disabled");
    assert_eq!(user(&app, erin).await["status"], "disabled");
    app.clock.advance(HOUR).await;
    assert_eq!(user(&app, dora).await["status"], "active");
    assert_eq!(user(&app, erin).await["status"], "disabled", "no end");
}

async fn mass_actions_schedule_and_log_all_or_nothing(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let a = app.user_with_password("ann", STRONG, json!({})).await;
    let b = app.user_with_password("bob", STRONG, json!({})).await;
    let c = app.user_with_password("cy", STRONG, json!({})).await;
    let (from, until) = (at(&app, HOUR), at(&app, 2 * HOUR));
    let body = |ids: Vec<i64>, dry_run: bool| {
        json!({ "action": "schedule_deactivation", "target": { "ids": ids }, "from": from, "until": until,
                "reason": "training", "dry_run": dry_run })
    };
    let preview = app.bulk(body(vec![a, b], true)).await.json(200);
    assert_eq!(preview["changed"], 2, "{preview}");
    assert_eq!(user(&app, a).await["deactivation"], Value::Null, "a dry run changes nothing");

    // C has a period already at that time: the whole action is refused, nobody gets one.
    schedule(&app, c, json!({ "from": at(&app, 90 * 60_000) })).await;
    app.bulk(body(vec![a, b, c], false)).await.problem_field(409, "from", "overlaps");
    assert_eq!(user(&app, a).await["deactivation"], Value::Null);

    let done = app.bulk(body(vec![a, b], false)).await.json(200);
    assert_eq!(done["changed"], 2);
    assert_eq!(user(&app, b).await["deactivation"]["until"], until.as_str());
    app.clock.advance(HOUR).await;
    assert_eq!(user(&app, a).await["status"], "disabled");
    assert_eq!(user(&app, b).await["status"], "disabled");
    app.clock.advance(HOUR).await;
    assert_eq!(user(&app, a).await["status"], "active");

    // Times and reasons are for the actions that change a status, and checked.
    let wrong = json!({ "action": "assign_desks", "target": { "ids": [a] }, "values": [1], "from": from });
    app.bulk(wrong).await.problem_field(422, "from", "not_allowed");
    let bad = json!({ "action": "schedule_deactivation", "target": { "ids": [a] }, "until": "soon" });
    app.bulk(bad).await.problem_field(422, "until", "invalid_time");

    // Plain mass deactivation and activation, with a reason, begin now and are logged as bulk.
    let since = at(&app, 0);
    app.bulk(json!({ "action": "deactivate", "target": { "ids": [a, b] }, "reason": "audit" })).await.json(200);
    app.bulk(json!({ "action": "activate", "target": { "ids": [a, b] } })).await.json(200);
    let bulk = log(&app, &format!("trigger=bulk&from={since}")).await;
    assert_eq!(bulk.len(), 4, "{bulk:#?}");
    assert!(bulk.iter().filter(|l| l["change"] == "deactivated").all(|l| l["reason"] == "audit"), "{bulk:#?}");
    assert_eq!(
        log_of(&app, a).await,
        vec![
            pair("deactivated", "scheduled"),
            pair("reactivated", "scheduled"),
            pair("deactivated", "bulk"),
            pair("reactivated", "bulk")
        ]
    );
    // The time range filter: nothing before the first period began.
    assert!(log(&app, &format!("to={from}")).await.is_empty());
    app.get(&format!("{}?from=yesterday", app.acct("activation-log"))).await.problem_field(422, "from", "invalid_time");
    app.get(&format!("{}?trigger=whim", app.acct("activation-log"))).await.expect(422);
}

async fn seats_limit_members_not_end_users(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.post("/api/v1/accounts", json!({ "slug": "acme", "name": "Acme", "seat_limit": 3 })).await.json(201);
    let users = "/api/v1/accounts/acme/users";
    let admin_role = app.builtin_role_in(&app.token, "acme", "admin").await;
    app.post(users, json!({ "login": "boss", "password": STRONG, "roles": [admin_role] })).await.json(201);
    let ann = app.post(users, json!({ "login": "ann" })).await.json(201)["id"].as_i64().unwrap();
    // End users and members created deactivated take no seat.
    app.post(users, json!({ "login": "client", "is_end_user": true })).await.json(201);
    let off = app.post(users, json!({ "login": "off", "status": "disabled" })).await.json(201)["id"].as_i64().unwrap();
    let bob = app.post(users, json!({ "login": "bob" })).await.json(201)["id"].as_i64().unwrap();

    // Full: 3 of 3. A new member, a reactivation and a mass activation are refused, naming both.
    let full = app.post(users, json!({ "login": "cy" })).await;
    let problem = full.problem_field(409, "seats", "seats_full");
    assert!(problem.to_string().contains("uses 3 of 3 seats"), "{problem}");
    let off_path = format!("{users}/{off}");
    let etag = app.get(&off_path).await.etag();
    let patch = app.req(Method::PATCH, &off_path).header("if-match", &etag);
    app.send(patch.json(&json!({ "status": "active" }))).await.problem_field(409, "seats", "seats_full");
    let mass = json!({ "action": "activate", "target": "all" });
    app.post(&format!("{users}/bulk"), mass.clone()).await.problem_field(409, "seats", "seats_full");
    assert_eq!(app.get(&off_path).await.json(200)["status"], "disabled");

    // Out for a time with a date of return: the seat is kept for them.
    let periods = format!("{users}/{bob}/deactivations");
    app.post(&periods, json!({ "until": at(&app, HOUR) })).await.json(201);
    app.post(users, json!({ "login": "cy" })).await.problem_field(409, "seats", "seats_full");
    // Out for good: the seat is free.
    let etag = app.get(&format!("{users}/{ann}")).await.etag();
    let patch = app.req(Method::PATCH, &format!("{users}/{ann}")).header("if-match", &etag);
    app.send(patch.json(&json!({ "status": "disabled" }))).await.json(200);
    app.post(users, json!({ "login": "cy" })).await.json(201);
    // Bob comes back by himself into the seat he kept.
    app.clock.advance(HOUR).await;
    assert_eq!(app.get(&format!("{users}/{bob}")).await.json(200)["status"], "active");
    app.post(users, json!({ "login": "dan" })).await.problem_field(409, "seats", "seats_full");

    // A platform operator adds seats; the change is recorded.
    let etag = app.get("/api/v1/accounts/acme").await.etag();
    let patch = app.req(Method::PATCH, "/api/v1/accounts/acme").header("if-match", &etag);
    app.send(patch.json(&json!({ "seat_limit": 6 }))).await.json(200);
    app.post(users, json!({ "login": "dan" })).await.json(201);
    // Ann and Off need two more: 6 of 6.
    app.post(&format!("{users}/bulk"), mass).await.json(200);
    assert_eq!(app.get(&off_path).await.json(200)["status"], "active");
    app.post(users, json!({ "login": "eve" })).await.problem_field(409, "seats", "seats_full");
}

async fn a_disabled_account_ends_its_sessions_and_is_logged(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.post("/api/v1/accounts", json!({ "slug": "initech", "name": "Initech" })).await.json(201);
    let body = json!({ "login": "peter", "password": STRONG });
    app.post("/api/v1/accounts/initech/users", body).await.json(201);
    let token = app.sign_in_to("initech", "peter", STRONG).await;
    app.session(&token).await.expect(200);

    let etag = app.get("/api/v1/accounts/initech").await.etag();
    let patch = app.req(Method::PATCH, "/api/v1/accounts/initech").header("if-match", &etag);
    let etag = app.send(patch.json(&json!({ "enabled": false }))).await.etag();
    app.session(&token).await.expect(401);
    let patch = app.req(Method::PATCH, "/api/v1/accounts/initech").header("if-match", &etag);
    app.send(patch.json(&json!({ "enabled": true }))).await.expect(200);
    // Enabled again, the old session stays ended: it was removed, not suspended.
    app.session(&token).await.expect(401);
    app.sign_in_to("initech", "peter", STRONG).await;

    let page = app.get("/api/v1/accounts/initech/activation-log").await.json(200);
    let lines = list_items(&page);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(lines.iter().all(|l| l["trigger"] == "account" && l["user_id"].is_null()), "{lines:#?}");
    assert_eq!(lines[0]["change"], "reactivated");
    assert_eq!(lines[1]["change"], "deactivated");
    assert!(log(&app, "").await.is_empty(), "the default account's log is its own");
}

async fn back_to_back_periods_hand_over_and_a_date_of_return_takes_a_seat(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.post("/api/v1/accounts", json!({ "slug": "acme", "name": "Acme", "seat_limit": 2 })).await.json(201);
    let users = "/api/v1/accounts/acme/users";
    let admin_role = app.builtin_role_in(&app.token, "acme", "admin").await;
    app.post(users, json!({ "login": "boss", "roles": [admin_role] })).await.json(201);
    let ann = app.post(users, json!({ "login": "ann" })).await.json(201)["id"].as_i64().unwrap();
    let periods = format!("{users}/{ann}/deactivations");
    let log_of_ann = || async {
        let page = app.get(&format!("/api/v1/accounts/acme/activation-log?user={ann}")).await.json(200);
        let mut lines: Vec<String> =
            list_items(&page).iter().map(|l| l["change"].as_str().unwrap().to_string()).collect();
        lines.reverse();
        lines
    };
    // The later one saved first: at the hour they meet, the first ends before the second begins.
    app.post(&periods, json!({ "from": at(&app, 2 * HOUR), "until": at(&app, 3 * HOUR) })).await.json(201);
    app.post(&periods, json!({ "from": at(&app, HOUR), "until": at(&app, 2 * HOUR) })).await.json(201);
    app.clock.advance(HOUR).await;
    let status = || async { app.get(&format!("{users}/{ann}")).await.json(200)["status"].clone() };
    assert_eq!(status().await, "disabled");
    app.clock.advance(HOUR).await;
    assert_eq!(status().await, "disabled", "the second period took over");
    let states: Vec<Value> =
        app.get(&periods).await.json(200).as_array().unwrap().iter().map(|p| p["state"].clone()).collect();
    assert_eq!(states, [json!("in_effect"), json!("ended")]);
    assert_eq!(log_of_ann().await, ["deactivated", "reactivated", "deactivated"]);
    app.clock.advance(HOUR).await;
    assert_eq!(status().await, "active");

    // Out for good, Ann frees her seat; given a date of return, she needs one again.
    let open = app.post(&periods, json!({ "reason": "left" })).await.json(201);
    app.post(users, json!({ "login": "cy" })).await.json(201);
    let path = format!("{periods}/{}", open["id"]);
    let back = app.send(app.req(Method::PATCH, &path).json(&json!({ "until": at(&app, HOUR) }))).await;
    back.problem_field(409, "seats", "seats_full");
    assert_eq!(app.get(&periods).await.json(200)[0]["until"], Value::Null, "nothing changed");
}

async fn an_import_past_the_seats_is_refused_whole(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.post("/api/v1/accounts", json!({ "slug": "acme", "name": "Acme", "seat_limit": 2 })).await.json(201);
    app.post("/api/v1/accounts/acme/users", json!({ "login": "boss" })).await.json(201);
    let dir = tempfile::tempdir().unwrap();
    // Two members need two seats (one is free); the end user and the disabled member need none.
    let file = dir.path().join("people.csv");
    std::fs::write(&file, "login,is_end_user,status\nann,,\nbob,,\nclient,true,\noff,,disabled\n").unwrap();
    let run = app.roster(&["users", "import", "--account", "acme", file.to_str().unwrap()]).await;
    assert!(!run.ok, "{}", run.stdout);
    assert!(run.stderr.contains("uses 1 of 2 seats"), "{}", run.stderr);
    let users = app.get("/api/v1/accounts/acme/users?limit=100").await.json(200);
    assert_eq!(users["items"].as_array().unwrap().len(), 1, "all or nothing");
    // Without Bob it fits: 2 of 2.
    std::fs::write(&file, "login,is_end_user,status\nann,,\nclient,true,\noff,,disabled\n").unwrap();
    app.roster_ok(&["users", "import", "--account", "acme", file.to_str().unwrap()]).await;
    let seats = app.get("/api/v1/accounts/acme/seats").await.json(200);
    assert_eq!((seats["used"].as_i64(), seats["total"].as_i64()), (Some(2), Some(2)));
    let log = app.get("/api/v1/accounts/acme/activation-log?trigger=import").await.json(200);
    assert_eq!(log["items"][0]["user_label"], "off", "imported disabled: {log}");
}
