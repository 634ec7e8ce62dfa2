//! The console's side of issue 12: deactivation periods on a user's page and in the mass-action
//! bar, the activation log page, the Seats panel, and times shown in each viewer's zone and
//! formats (their own, else the account's, else UTC). Also the seats API and its self-service.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Console, Engine, STRONG, TestApp};

both_engines!(
    the_console_schedules_and_cancels_in_the_viewers_zone,
    times_follow_the_viewer_then_the_account_then_utc,
    the_mass_action_bar_schedules_a_deactivation,
    the_activation_log_page_filters,
    seats_panel_and_self_service,
);

async fn admin_console(app: &TestApp) -> Console {
    Console::sign_in_with_second_factor(app, &app.admin_login, &app.admin_password).await
}

async fn set_own_display(app: &TestApp, zone: &str, date: &str, time: &str) {
    let etag = app.get_user(app.admin_id).await.etag();
    let body = json!({ "time_zone": zone, "date_format": date, "time_format": time });
    app.patch_user(app.admin_id, Some(&etag), body).await.expect(200);
}

async fn periods(app: &TestApp, user: i64) -> Value {
    app.get(&format!("{}/deactivations", app.user_path(user))).await.json(200)
}

async fn the_console_schedules_and_cancels_in_the_viewers_zone(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    set_own_display(&app, "Europe/Berlin", "DD/MM/YYYY", "12h").await;
    let console = admin_console(&app).await;
    let dora = app.user_with_password("dora", STRONG, json!({})).await;
    let page_path = format!("/console/users/{dora}/deactivation");
    console.get(&page_path).await.expect(200).has("In Europe/Berlin").has("No deactivation periods.");

    // Refused: the end before the start. Nothing is saved and the field says why.
    let bad = [("from", "2027-01-20T09:00"), ("until", "2027-01-15T09:00"), ("reason", "")];
    console.post(&page_path, &bad).await.expect(422).has("f-until-error");
    assert_eq!(periods(&app, dora).await, json!([]));

    // Berlin in January is UTC+1: 09:00 there is 08:00 UTC.
    let form = [("from", "2027-01-15T09:00"), ("until", "2027-01-20T18:00"), ("reason", "vacation")];
    console.post(&page_path, &form).await.redirects_to(&format!("{page_path}?notice=saved"));
    let saved = periods(&app, dora).await;
    assert_eq!(saved[0]["from"], "2027-01-15T08:00:00Z", "{saved}");
    assert_eq!(saved[0]["until"], "2027-01-20T17:00:00Z");
    assert_eq!(saved[0]["reason"], "vacation");
    console.get(&page_path).await.expect(200).has("15/01/2027 09:00:00 AM CET").has("Scheduled").has("vacation");

    // The Users list shows it, linked to the page, in the viewer's zone.
    let list = console.get("/console/users?q=dora").await;
    list.expect(200).has("status-scheduled").has("20/01/2027 06:00:00 PM CET").has(&page_path);
    // The edit page offers the way there.
    console.get(&format!("/console/users/{dora}/edit")).await.has(&page_path);

    // An overlapping one is refused with the reason, in the form.
    let clash = [("from", "2027-01-18T09:00"), ("until", ""), ("reason", "")];
    console.post(&page_path, &clash).await.expect(409).has("already has a deactivation period");

    let id = saved[0]["id"].as_i64().unwrap();
    console.post(&format!("{page_path}/{id}/cancel"), &[]).await.redirects_to(&format!("{page_path}?notice=cancelled"));
    assert_eq!(periods(&app, dora).await[0]["state"], "cancelled");
    console.post(&format!("{page_path}/{id}/cancel"), &[]).await.expect(409).has("no longer changes");

    // Now, with no end: the user is deactivated at once; "Reactivate now" ends it.
    console.post(&page_path, &[("from", ""), ("until", ""), ("reason", "audit")]).await.expect(200);
    assert_eq!(app.get_user(dora).await.json(200)["status"], "disabled");
    let all = periods(&app, dora).await;
    let now_id = all.as_array().unwrap().iter().find(|p| p["state"] == "in_effect").unwrap()["id"].as_i64().unwrap();
    console.get(&page_path).await.has("Reactivate now").has("audit");
    console.post(&format!("{page_path}/{now_id}/cancel"), &[]).await.redirects_to(&format!("{page_path}?notice=ended"));
    assert_eq!(app.get_user(dora).await.json(200)["status"], "active");
    // Not one's own page, and not without users.edit.
    console.get(&format!("/console/users/{}/deactivation", app.admin_id)).await.expect(422);
    let (_, _, viewer) = app.user_with_permissions("viewer", &["users.view"]).await;
    drop(viewer);
    let viewer = Console::sign_in(&app, "viewer", STRONG).await;
    viewer.get(&page_path).await.expect(403);
}

async fn times_follow_the_viewer_then_the_account_then_utc(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let dora = app.user_with_password("dora", STRONG, json!({})).await;
    let body = json!({ "from": "2027-07-01T12:00:00Z", "until": "2027-07-02T12:00:00Z" });
    app.post(&format!("{}/deactivations", app.user_path(dora)), body).await.json(201);
    app.user_with_permissions("vic", &["users.view", "users.edit"]).await;
    let vic = Console::sign_in(&app, "vic", STRONG).await;
    let page_path = format!("/console/users/{dora}/deactivation");
    vic.get(&page_path).await.has("2027/07/01 12:00:00 UTC").has("In UTC");

    // The account's default, for those who chose none.
    let etag = app.get("/api/v1/accounts/default").await.etag();
    let patch = app.req(Method::PATCH, "/api/v1/accounts/default").header("if-match", &etag);
    let body = json!({ "time_zone": "America/New_York", "date_format": "MM/DD/YYYY", "time_format": "12h" });
    let account = app.send(patch.json(&body)).await.json(200);
    assert_eq!(account["time_zone"], "America/New_York");
    vic.get(&page_path).await.has("07/01/2027 08:00:00 AM EDT");

    // Their own choice comes first, part by part.
    let vic_id = app.list_all("q=vic").await[0]["id"].as_i64().unwrap();
    let etag = app.get_user(vic_id).await.etag();
    app.patch_user(vic_id, Some(&etag), json!({ "time_zone": "Asia/Tokyo", "time_format": "24h" })).await.expect(200);
    vic.get(&page_path).await.has("07/01/2027 21:00:00 JST");

    // The API stays in RFC 3339 UTC whoever asks.
    let token = app.sign_in("vic", STRONG).await;
    let seen = app.get_as(&token, &format!("{}/deactivations", app.user_path(dora))).await.json(200);
    assert_eq!(seen[0]["from"], "2027-07-01T12:00:00Z");

    // Settings → Time display: checked, named, saved.
    let admin = admin_console(&app).await;
    let page = admin.get("/console/settings/display").await;
    page.expect(200).has("America/New_York");
    let version = page.value_of("version");
    let bad = [("version", version.as_str()), ("time_zone", "Mars/Olympus"), ("date_format", ""), ("time_format", "")];
    admin.post("/console/settings/display", &bad).await.expect(422).has("f-time_zone-error");
    let good = [("version", version.as_str()), ("time_zone", "Europe/Paris"), ("date_format", ""), ("time_format", "")];
    admin.post("/console/settings/display", &good).await.redirects_to("/console/settings/display?notice=saved");
    let account = app.get("/api/v1/accounts/default").await.json(200);
    assert_eq!(account["time_zone"], "Europe/Paris");
    assert_eq!(account["date_format"], Value::Null, "cleared");
    let events = app.activity("action=account.updated").await;
    assert!(events.iter().any(|e| e["changes"]["time_zone"]["to"] == "Europe/Paris"), "{events:#?}");
    let bad = json!({ "time_zone": "Nowhere/Land" });
    let etag = app.get("/api/v1/accounts/default").await.etag();
    let patch = app.req(Method::PATCH, "/api/v1/accounts/default").header("if-match", &etag);
    app.send(patch.json(&bad)).await.problem_field(422, "time_zone", "unknown_timezone");
}

async fn the_mass_action_bar_schedules_a_deactivation(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    set_own_display(&app, "Europe/Berlin", "YYYY/MM/DD", "24h").await;
    let console = admin_console(&app).await;
    let a = app.user_with_password("ann", STRONG, json!({})).await;
    let b = app.user_with_password("bob", STRONG, json!({})).await;
    let fields = console.get("/console/users/bulk/values?action=schedule_deactivation").await;
    fields.expect(200).has("datetime-local").has("Times in Europe/Berlin");
    let (a_id, b_id) = (a.to_string(), b.to_string());
    let form = [
        ("action", "schedule_deactivation"),
        ("scope", "selected"),
        ("ids", a_id.as_str()),
        ("ids", b_id.as_str()),
        ("from", "2027-03-01T08:00"),
        ("until", "2027-03-08T08:00"),
        ("reason", "training"),
        ("mode", "preview"),
    ];
    console.post("/console/users/bulk", &form).await.expect(200).has("Preview: 2 of the 2 users");
    assert_eq!(periods(&app, a).await, json!([]));
    let mut apply = form.to_vec();
    apply.retain(|(k, _)| *k != "mode");
    apply.push(("mode", "apply"));
    console.post("/console/users/bulk", &apply).await.expect(200).has("2 users given the deactivation period");
    for id in [a, b] {
        let p = periods(&app, id).await;
        assert_eq!(p[0]["from"], "2027-03-01T07:00:00Z", "Berlin is UTC+1 in March: {p}");
        assert_eq!(p[0]["reason"], "training");
    }
    let bad = [
        ("action", "schedule_deactivation"),
        ("scope", "selected"),
        ("ids", a_id.as_str()),
        ("until", "2020-01-01T00:00"),
        ("mode", "apply"),
    ];
    console.post("/console/users/bulk", &bad).await.expect(422);
}

async fn the_activation_log_page_filters(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let console = admin_console(&app).await;
    let dora = app.user_with_password("dora", STRONG, json!({})).await;
    let erin = app.user_with_password("erin", STRONG, json!({})).await;
    let etag = app.get_user(dora).await.etag();
    app.patch_user(dora, Some(&etag), json!({ "status": "disabled", "status_reason": "left the team" }))
        .await
        .expect(200);
    app.bulk(json!({ "action": "deactivate", "target": { "ids": [erin] }, "reason": "audit" })).await.json(200);
    let page = console.get("/console/activation-log").await;
    page.expect(200).has("left the team").has("audit").has("By hand").has("Mass action");
    console.get("/console/activation-log?trigger=bulk").await.expect(200).has("audit").lacks("left the team");
    console.get(&format!("/console/activation-log?user={dora}")).await.has("left the team").lacks("audit");
    console
        .get("/console/activation-log?from=2999-01-01T00:00")
        .await
        .expect(200)
        .has("No deactivations or reactivations.");
    console.get("/console/activation-log?from=someday").await.expect(422).has("f-from-error");
    console.get("/console/activity").await.has("/console/activation-log");
    // On the user's page, their own lines.
    console.get(&format!("/console/users/{dora}/deactivation")).await.has("left the team").lacks("audit");
}

async fn seats_panel_and_self_service(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let console = admin_console(&app).await;
    let agent = app.builtin_role("agent").await;
    app.user_with_password("ann", STRONG, json!({ "roles": [agent] })).await;
    app.user_with_password("client", STRONG, json!({ "is_end_user": true })).await;
    let seats = app.get(&app.acct("seats")).await.json(200);
    assert_eq!(seats["used"], 2, "the admin and ann, not the end user: {seats}");
    assert_eq!(seats["total"], Value::Null);
    let agents = seats["by_role"].as_array().unwrap().iter().find(|r| r["name"] == "Agent").cloned();
    assert_eq!(agents.unwrap()["count"], 1, "{seats}");
    let holders: Vec<&str> =
        seats["holders"].as_array().unwrap().iter().map(|h| h["login"].as_str().unwrap()).collect();
    assert!(holders.contains(&"ann") && !holders.contains(&"client"), "{holders:?}");
    console.get("/console/seats").await.expect(200).has("seat-holders").has("ann").lacks(">client<");
    console.get("/console/seats/summary").await.expect(200).has("2 seats used (no limit)");
    console.get("/console/users").await.has("/console/seats/summary");

    // A Financial user sees the seats but may change them only where the operator allows it.
    let (_, financial) = app.user_with_role("fin", "financial").await;
    app.get_as(&financial, &app.acct("seats")).await.expect(200);
    let put = |token: &str, total: Value| {
        app.send(app.req_as(token, Method::PUT, &app.acct("seats")).json(&json!({ "total": total })))
    };
    put(&financial, json!(10)).await.problem(403);
    let etag = app.get("/api/v1/accounts/default").await.etag();
    let patch = app.req(Method::PATCH, "/api/v1/accounts/default").header("if-match", &etag);
    app.send(patch.json(&json!({ "seats_self_service": true }))).await.json(200);
    assert_eq!(put(&financial, json!(10)).await.json(200)["seat_limit"], 10);
    console.get("/console/seats/summary").await.has("3 of 10 seats used");
    put(&financial, json!(-1)).await.problem_on(422, "seat_limit");
    // An account admin (not an operator) may not turn self-service on for themselves.
    let (_, agent_token) = app.user_with_role("agent2", "agent").await;
    app.get_as(&agent_token, &app.acct("seats")).await.problem(403);
    let events = app.activity("action=account.updated").await;
    assert!(events.iter().any(|e| e["changes"]["seat_limit"]["to"] == 10), "{events:#?}");
}
