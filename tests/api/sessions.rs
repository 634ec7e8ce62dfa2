//! Sessions: one's own list and ending them, an admin's view of a user's and the account's
//! live sessions, R25 (reset, deactivation, deletion end sessions at once), the one-session
//! policy with take-over, and idle timeouts as shown in `expires_at`.

use reqwest::{Method, header};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::helpers::{
    Engine, STRONG, STRONG_2, STRONG_3, TestApp, assert_near, assert_newest_first, key_of, keys, list_items, parse_time,
};

both_engines!(
    a_shorter_lifetime_reaches_open_sessions,
    my_sessions_show_each_sign_in_and_mark_the_current_one,
    i_end_my_own_sessions,
    admins_list_a_users_and_the_accounts_sessions,
    admins_end_sessions,
    sessions_of_another_account_are_out_of_reach,
    reset_deactivation_and_deletion_end_every_session_at_once,
    one_session_per_user_refuses_a_second_unless_taking_over,
    idle_timeouts_show_in_expires_at,
    per_user_idle_overrides_show_in_expires_at,
);

/// Signs in with a chosen User-Agent; returns the token.
async fn sign_in_with_agent(app: &TestApp, login: &str, kind: &str, agent: &str) -> String {
    let body = json!({ "account": app.account, "login": login, "password": STRONG, "kind": kind });
    let request = app.anon(Method::POST, "/api/v1/auth/login").header(header::USER_AGENT, agent).json(&body);
    let body = app.send(request).await.json(200);
    body["token"].as_str().unwrap().to_string()
}

#[track_caller]
fn by_id<'a>(items: &'a [Value], id: &str) -> &'a Value {
    items.iter().find(|s| key_of(s) == id).unwrap_or_else(|| panic!("no session {id} in {items:#?}"))
}

fn kinds(items: &[Value]) -> Vec<String> {
    let mut k: Vec<String> = items.iter().map(|s| s["kind"].as_str().unwrap_or("?").to_string()).collect();
    k.sort();
    k
}

async fn my_sessions_show_each_sign_in_and_mark_the_current_one(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let start = OffsetDateTime::now_utc();
    let id = app.user_with_password("dora", STRONG, json!({ "first_name": "Dora", "last_name": "Tester" })).await;
    let api = sign_in_with_agent(&app, "dora", "api", "RosterTest/1.0").await;
    let phone = sign_in_with_agent(&app, "dora", "phone", "DeskPhone/7").await;
    let _console = app.console_sign_in("dora", STRONG).await;
    app.user_with_role("bystander", "agent").await;

    let api_id = app.session_id(&api).await;
    let phone_id = app.session_id(&phone).await;
    assert_ne!(api_id, phone_id);
    let session = app.session(&api).await.json(200);
    assert_eq!(session["kind"], "api", "{session}");
    assert_eq!(app.session(&phone).await.json(200)["kind"], "phone");

    let items = app.my_sessions(&api).await;
    assert_eq!(kinds(&items), vec!["api", "console", "phone"], "{items:#?}");
    assert_newest_first(&items);
    let current: Vec<&Value> = items.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1, "exactly one current session: {items:#?}");
    assert_eq!(key_of(current[0]), api_id);
    for s in &items {
        assert_eq!(s["user"]["id"], id, "{s}");
        assert_eq!(s["user"]["login"], "dora", "{s}");
        assert_eq!(s["user"]["display_name"], "Dora Tester", "{s}");
        assert_near(parse_time(&s["created_at"]), start, Duration::minutes(2), "created_at");
        assert_near(parse_time(&s["last_seen_at"]), start, Duration::minutes(2), "last_seen_at");
        assert!(parse_time(&s["expires_at"]) > OffsetDateTime::now_utc(), "{s}");
        assert_eq!(s["address"], "127.0.0.1", "{s}");
        if key_of(s) != api_id {
            assert_ne!(s["current"], true, "{s}");
        }
    }
    assert_eq!(by_id(&items, &api_id)["user_agent"], "RosterTest/1.0");
    assert_eq!(by_id(&items, &phone_id)["user_agent"], "DeskPhone/7");
    assert_eq!(by_id(&items, &phone_id)["kind"], "phone");
    let text = serde_json::to_string(&items).unwrap();
    assert!(!text.contains(&api) && !text.contains(&phone), "a session token is listed: {text}");

    // From the phone session, that one is current.
    let items = app.my_sessions(&phone).await;
    let current: Vec<String> = items.iter().filter(|s| s["current"] == true).map(key_of).collect();
    assert_eq!(current, vec![phone_id]);
    // Without a session: 401. An agent sees only their own.
    app.send(app.anon(Method::GET, "/api/v1/me/sessions")).await.problem(401);
    let (_, agent) = app.user_with_role("agent2", "agent").await;
    let mine = app.my_sessions(&agent).await;
    assert_eq!(mine.len(), 1, "{mine:#?}");
    assert_eq!(mine[0]["user"]["login"], "agent2");
}

async fn i_end_my_own_sessions(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = app.user_with_password("dora", STRONG, json!({})).await;
    let a = app.sign_in("dora", STRONG).await;
    let b = app.sign_in("dora", STRONG).await;
    let c = app.sign_in_kind("dora", STRONG, "phone").await;
    let d = app.sign_in("dora", STRONG).await;
    let (_, bob) = app.user_with_role("bob", "agent").await;
    let b_id = app.session_id(&b).await;
    let bob_id = app.session_id(&bob).await;

    let path = |sid: &str| format!("/api/v1/me/sessions/{sid}");
    app.delete_as(&a, &path(&b_id)).await.expect(204);
    app.session(&b).await.problem(401);
    app.session(&a).await.expect(200);
    app.session(&c).await.expect(200);
    app.delete_as(&a, &path(&b_id)).await.problem(404);
    // Someone else's session is not mine: 404, and it lives on.
    app.delete_as(&a, &path(&bob_id)).await.problem(404);
    app.session(&bob).await.expect(200);
    app.delete_as(&a, &path("999999")).await.problem(404);

    // End the others: the current one stays.
    let ended = app.post_as(&a, "/api/v1/me/sessions/end-others", json!({})).await.json(200);
    assert_eq!(ended["ended"], 2, "c and d: {ended}");
    app.session(&c).await.problem(401);
    app.session(&d).await.problem(401);
    app.session(&a).await.expect(200);
    app.session(&bob).await.expect(200);
    let left = app.my_sessions(&a).await;
    assert_eq!(keys(&left), vec![app.session_id(&a).await]);
    let again = app.post_as(&a, "/api/v1/me/sessions/end-others", json!({})).await.json(200);
    assert_eq!(again["ended"], 0);

    // Ending the current one is signing out.
    let a_id = app.session_id(&a).await;
    app.delete_as(&a, &path(&a_id)).await.expect(204);
    app.session(&a).await.problem(401);
    assert!(app.user_sessions(id).await.is_empty());
}

async fn admins_list_a_users_and_the_accounts_sessions(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let dora = app.user_with_password("dora", STRONG, json!({})).await;
    let otto = app.user_with_password("otto", STRONG, json!({})).await;
    let dora_api = app.sign_in("dora", STRONG).await;
    let dora_phone = app.sign_in_kind("dora", STRONG, "phone").await;
    let otto_phone = app.sign_in_kind("otto", STRONG, "phone").await;
    let _otto_console = app.console_sign_in("otto", STRONG).await;
    // An ended session is not live.
    let gone = app.sign_in("otto", STRONG).await;
    let gone_id = app.session_id(&gone).await;
    app.send(app.req_as(&gone, Method::POST, "/api/v1/auth/logout")).await.expect(204);

    let of_dora = app.user_sessions(dora).await;
    assert_eq!(kinds(&of_dora), vec!["api", "phone"], "{of_dora:#?}");
    assert!(of_dora.iter().all(|s| s["user"]["id"] == dora && s["current"] != true), "{of_dora:#?}");
    let mut expected = vec![app.session_id(&dora_api).await, app.session_id(&dora_phone).await];
    expected.sort();
    let mut got = keys(&of_dora);
    got.sort();
    assert_eq!(got, expected);
    app.get(&app.acct("users/999999/sessions")).await.problem(404);

    let all = app.account_sessions("limit=500").await.json(200);
    let items = list_items(&all);
    assert!(all["next_cursor"].is_null(), "{all}");
    assert_newest_first(&items);
    // The admin's own, dora's two, otto's two.
    assert_eq!(items.len(), 5, "{items:#?}");
    assert!(!keys(&items).contains(&gone_id), "an ended session is listed: {items:#?}");
    let phones = list_items(&app.account_sessions("kind=phone").await.json(200));
    let mut phone_ids = keys(&phones);
    phone_ids.sort();
    let mut want = vec![app.session_id(&dora_phone).await, app.session_id(&otto_phone).await];
    want.sort();
    assert_eq!(phone_ids, want);
    let two_kinds = list_items(&app.account_sessions("kind=console,phone").await.json(200));
    assert_eq!(kinds(&two_kinds), vec!["console", "phone", "phone"], "{two_kinds:#?}");
    let of_otto = list_items(&app.account_sessions(&format!("user={otto}")).await.json(200));
    assert_eq!(kinds(&of_otto), vec!["console", "phone"], "{of_otto:#?}");
    let dora_phone_only = list_items(&app.account_sessions(&format!("user={dora}&kind=phone")).await.json(200));
    assert_eq!(keys(&dora_phone_only), vec![app.session_id(&dora_phone).await]);
    app.account_sessions("kind=teleport").await.problem_on(422, "kind");

    // Pages of 2: every session once, in the same order.
    let mut paged = Vec::new();
    let mut cursor = String::new();
    for _ in 0..10 {
        let page = app.account_sessions(&format!("limit=2{cursor}")).await.json(200);
        let page_items = list_items(&page);
        assert!(page_items.len() <= 2);
        paged.extend(keys(&page_items));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(paged, keys(&items));
    // A cursor this server did not give out ("abc" in the cursors' base64) is refused by name.
    app.account_sessions("cursor=YWJj").await.problem_on(400, "cursor");
    app.account_sessions("cursor=!!").await.problem_on(400, "cursor");

    // Who may look: a supervisor (sessions.view) yes, an agent no.
    let (supervisor_id, supervisor) = app.user_with_role("sup", "supervisor").await;
    app.same_desk(&[dora, supervisor_id]).await;
    app.get_as(&supervisor, &app.acct("sessions")).await.expect(200);
    app.get_as(&supervisor, &app.acct(&format!("users/{dora}/sessions"))).await.expect(200);
    let (_, agent) = app.user_with_role("agent1", "agent").await;
    app.get_as(&agent, &app.acct("sessions")).await.problem(403);
    app.get_as(&agent, &app.acct(&format!("users/{dora}/sessions"))).await.problem(403);
}

async fn admins_end_sessions(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let dora = app.user_with_password("dora", STRONG, json!({})).await;
    let otto = app.user_with_password("otto", STRONG, json!({})).await;
    let dora_api = app.sign_in("dora", STRONG).await;
    let dora_phone = app.sign_in_kind("dora", STRONG, "phone").await;
    let otto_a = app.sign_in("otto", STRONG).await;
    let otto_b = app.sign_in_kind("otto", STRONG, "phone").await;
    let otto_console = app.console_sign_in("otto", STRONG).await;
    let phone_id = app.session_id(&dora_phone).await;

    // A supervisor may look but not end.
    let (_, supervisor) = app.user_with_role("sup", "supervisor").await;
    app.delete_as(&supervisor, &app.acct(&format!("sessions/{phone_id}"))).await.problem(403);
    app.delete_as(&supervisor, &app.acct(&format!("users/{otto}/sessions"))).await.problem(403);
    app.session(&dora_phone).await.expect(200);

    // One session.
    app.delete(&app.acct(&format!("sessions/{phone_id}"))).await.expect(204);
    app.session(&dora_phone).await.problem(401);
    app.session(&dora_api).await.expect(200);
    app.delete(&app.acct(&format!("sessions/{phone_id}"))).await.problem(404);
    let ended = app.events(dora, "session.ended").await;
    assert_eq!(ended.len(), 1, "{ended:#?}");
    assert_eq!(ended[0]["actor_id"], app.admin_id);
    assert_eq!(ended[0]["target_id"], dora);

    // All of a user's.
    let r = app.send(app.req(Method::DELETE, &app.acct(&format!("users/{otto}/sessions")))).await.json(200);
    assert_eq!(r["ended"], 3, "{r}");
    app.session(&otto_a).await.problem(401);
    app.session(&otto_b).await.problem(401);
    let console = otto_console.get(app.url("/api/v1/session")).send().await.unwrap();
    assert_eq!(console.status(), 401, "the console session ended too");
    assert!(app.user_sessions(otto).await.is_empty());
    app.session(&dora_api).await.expect(200);
    app.session(&app.token).await.expect(200);
    // Recorded (the spec names `session.ended` for one session; ending all may be one event).
    let events = app.activity(&format!("user={otto}&limit=500")).await;
    assert!(
        events
            .iter()
            .any(|e| e["action"].as_str().is_some_and(|a| a.starts_with("session")) && e["actor_id"] == app.admin_id),
        "ending otto's sessions is not recorded: {events:#?}"
    );
    // The user may sign in again.
    app.sign_in("otto", STRONG).await;
    let none = app.send(app.req(Method::DELETE, &app.acct("users/999999/sessions"))).await;
    none.problem(404);
}

async fn sessions_of_another_account_are_out_of_reach(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.post("/api/v1/accounts", json!({ "slug": "initech", "name": "Initech" })).await.json(201);
    let admin_role = app.builtin_role_in(&app.token, "initech", "admin").await;
    let body = json!({ "login": "peter", "password": STRONG, "roles": [admin_role] });
    app.post("/api/v1/accounts/initech/users", body).await.json(201);
    let peter = app.sign_in_to_with_second_factor("initech", "peter", STRONG).await;
    let peter_sid = app.session_id(&peter).await;
    let (_, local_admin) = app.admin_with_second_factor("local.admin").await;

    let ours = list_items(&app.get_as(&local_admin, &app.acct("sessions")).await.json(200));
    assert!(!keys(&ours).contains(&peter_sid), "another account's session listed: {ours:#?}");
    app.delete_as(&local_admin, &app.acct(&format!("sessions/{peter_sid}"))).await.problem(404);
    app.delete_as(&local_admin, &format!("/api/v1/me/sessions/{peter_sid}")).await.problem(404);
    app.session(&peter).await.expect(200);
    // Initech's admin sees Initech's sessions only.
    let theirs = list_items(&app.get_as(&peter, "/api/v1/accounts/initech/sessions").await.json(200));
    assert_eq!(keys(&theirs), vec![peter_sid]);
    app.get_as(&peter, &app.acct("sessions")).await.problem(404);
}

async fn reset_deactivation_and_deletion_end_every_session_at_once(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = app.user_with_password("dora", STRONG, json!({})).await;
    let (_, otto) = app.user_with_role("otto", "agent").await;

    let open = async |app: &TestApp, password: &str| {
        let api = app.sign_in("dora", password).await;
        let phone = app.sign_in_kind("dora", password, "phone").await;
        let console = app.console_sign_in("dora", password).await;
        (api, phone, console)
    };
    let all_refused = async |app: &TestApp, s: &(String, String, reqwest::Client), why: &str| {
        app.session(&s.0).await.problem(401);
        app.session(&s.1).await.problem(401);
        let c = s.2.get(app.url("/api/v1/session")).send().await.unwrap();
        assert_eq!(c.status(), 401, "{why}: the console session lives on");
        assert!(app.user_sessions(id).await.is_empty(), "{why}: sessions still listed");
    };

    // Password reset by an admin.
    let s = open(&app, STRONG).await;
    app.set_password(id, json!({ "password": STRONG_2 })).await.expect(200);
    all_refused(&app, &s, "reset").await;
    // Own change from one session ends the others (that one stays).
    let s = open(&app, STRONG_2).await;
    app.change_own_password(&s.0, json!({ "current_password": STRONG_2, "new_password": STRONG_3 })).await.expect(204);
    app.session(&s.0).await.expect(200);
    app.session(&s.1).await.problem(401);
    let c = s.2.get(app.url("/api/v1/session")).send().await.unwrap();
    assert_eq!(c.status(), 401, "own change: the console session lives on");

    // Deactivation.
    let s = open(&app, STRONG_3).await;
    app.update_user(id, json!({ "status": "disabled" })).await;
    all_refused(&app, &s, "deactivation").await;
    app.update_user(id, json!({ "status": "active" })).await;
    app.session(&s.0).await.problem(401);

    // Deletion.
    let s = open(&app, STRONG_3).await;
    app.delete_user(id).await.expect(204);
    app.session(&s.0).await.problem(401);
    app.session(&s.1).await.problem(401);
    let c = s.2.get(app.url("/api/v1/session")).send().await.unwrap();
    assert_eq!(c.status(), 401, "deletion: the console session lives on");

    // Nobody else was signed out.
    app.session(&otto).await.expect(200);
    app.session(&app.token).await.expect(200);
}

async fn one_session_per_user_refuses_a_second_unless_taking_over(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = app.user_with_password("dora", STRONG, json!({})).await;
    app.user_with_password("otto", STRONG, json!({})).await;
    app.set_security(|s| s["sessions"]["one_session_per_user"] = json!(true)).await;

    let first = app.sign_in("dora", STRONG).await;
    let second = app.login("dora", STRONG).await;
    let problem = second.problem(409);
    assert_eq!(problem["code"], "session_active", "{problem}");
    assert!(problem.get("token").is_none(), "{problem}");
    // The same for a phone: any live session counts.
    assert_eq!(app.login_kind("dora", STRONG, "phone").await.problem(409)["code"], "session_active");
    let refusals = app.events(id, "auth.sign_in_refused").await;
    assert!(
        !refusals.is_empty() && refusals.iter().all(|e| e["changes"]["reason"] == "session_active"),
        "{refusals:#?}"
    );
    // Only a right password learns of the other session.
    app.login("dora", "wrong-password-1").await.problem(401);
    app.session(&first).await.expect(200);
    // Other users are not affected.
    let otto = app.sign_in("otto", STRONG).await;
    app.session(&otto).await.expect(200);

    // Taking over: the other sessions end at once.
    let taken = app.login_with(json!({ "login": "dora", "password": STRONG, "take_over": true })).await.json(200);
    let second = taken["token"].as_str().unwrap_or_else(|| panic!("{taken}")).to_string();
    app.session(&first).await.problem(401);
    app.session(&second).await.expect(200);
    assert_eq!(app.user_sessions(id).await.len(), 1);
    let events = app.events(id, "auth.session_taken_over").await;
    assert_eq!(events.len(), 1, "{events:#?}");
    app.session(&otto).await.expect(200);

    // Take-over with a wrong password is a plain refusal and ends nothing.
    let wrong = app.login_with(json!({ "login": "dora", "password": "wrong-password-1", "take_over": true })).await;
    wrong.problem(401);
    app.session(&second).await.expect(200);

    // After signing out, a sign-in needs no take-over.
    app.send(app.req_as(&second, Method::POST, "/api/v1/auth/logout")).await.expect(204);
    let third = app.sign_in_kind("dora", STRONG, "phone").await;
    // take_over with nothing to take over is fine too.
    app.send(app.req_as(&third, Method::POST, "/api/v1/auth/logout")).await.expect(204);
    let r = app.login_with(json!({ "login": "dora", "password": STRONG, "take_over": true })).await.json(200);
    assert!(r["token"].is_string());

    // With the policy off again, a second session is allowed.
    app.set_security(|s| s["sessions"]["one_session_per_user"] = json!(false)).await;
    app.sign_in("dora", STRONG).await;
    assert_eq!(app.user_sessions(id).await.len(), 2);
}

async fn idle_timeouts_show_in_expires_at(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.user_with_password("dora", STRONG, json!({})).await;
    app.set_security(|s| {
        s["sessions"]["console_idle_minutes"] = json!(30);
        s["sessions"]["phone_idle_minutes"] = json!(60);
        s["sessions"]["absolute_hours"] = json!(12);
    })
    .await;
    let slack = Duration::minutes(2);

    let now = OffsetDateTime::now_utc();
    let login = app.login_kind("dora", STRONG, "phone").await.json(200);
    assert_near(parse_time(&login["expires_at"]), now + Duration::minutes(60), slack, "phone sign-in's expires_at");
    let phone = login["token"].as_str().unwrap().to_string();
    let session = app.session(&phone).await.json(200);
    assert_eq!(session["kind"], "phone");
    assert_near(parse_time(&session["expires_at"]), now + Duration::minutes(60), slack, "GET /session of a phone");
    let listed = app.my_sessions(&phone).await;
    let me = listed.iter().find(|s| s["current"] == true).unwrap();
    assert_near(parse_time(&me["expires_at"]), now + Duration::minutes(60), slack, "listed phone session");

    // A console session idles out after the console's minutes.
    let now = OffsetDateTime::now_utc();
    app.console_sign_in("dora", STRONG).await;
    let consoles = list_items(&app.account_sessions("kind=console").await.json(200));
    let console = consoles.iter().find(|s| s["user"]["login"] == "dora").expect("dora's console session");
    assert_near(parse_time(&console["expires_at"]), now + Duration::minutes(30), slack, "console session");

    // The absolute limit caps the idle one: a week of phone idleness, but 2 hours in all.
    app.set_security(|s| {
        s["sessions"]["phone_idle_minutes"] = json!(10080);
        s["sessions"]["absolute_hours"] = json!(2);
    })
    .await;
    let now = OffsetDateTime::now_utc();
    let phone = app.sign_in_kind("dora", STRONG, "phone").await;
    let session = app.session(&phone).await.json(200);
    assert_near(parse_time(&session["expires_at"]), now + Duration::hours(2), slack, "phone capped by absolute_hours");
    // Use does not push the expiry past the absolute limit.
    let again = app.session(&phone).await.json(200);
    assert!(parse_time(&again["expires_at"]) <= now + Duration::hours(2) + slack, "{again}");

    // Without the cap, a week.
    app.set_security(|s| s["sessions"]["absolute_hours"] = json!(24 * 30)).await;
    let now = OffsetDateTime::now_utc();
    let phone = app.sign_in_kind("dora", STRONG, "phone").await;
    let session = app.session(&phone).await.json(200);
    assert_near(parse_time(&session["expires_at"]), now + Duration::minutes(10080), slack, "a week of phone idleness");
}

async fn per_user_idle_overrides_show_in_expires_at(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = app.user_with_password("dora", STRONG, json!({})).await;
    app.user_with_password("otto", STRONG, json!({})).await;
    app.set_security(|s| {
        s["sessions"]["console_idle_minutes"] = json!(30);
        s["sessions"]["phone_idle_minutes"] = json!(60);
        s["sessions"]["absolute_hours"] = json!(12);
    })
    .await;
    let slack = Duration::minutes(2);
    let user = app.get_user(id).await.json(200);
    assert_eq!(user["phone_idle_minutes"], Value::Null, "{user}");
    assert_eq!(user["console_idle_minutes"], Value::Null, "{user}");

    let user = app.update_user_security(id, json!({ "phone_idle_minutes": 15, "console_idle_minutes": 10 })).await;
    assert_eq!(user["phone_idle_minutes"], 15);
    assert_eq!(user["console_idle_minutes"], 10);
    let now = OffsetDateTime::now_utc();
    let phone = app.sign_in_kind("dora", STRONG, "phone").await;
    let s = app.session(&phone).await.json(200);
    assert_near(parse_time(&s["expires_at"]), now + Duration::minutes(15), slack, "dora's phone override");
    app.console_sign_in("dora", STRONG).await;
    let consoles = list_items(&app.account_sessions(&format!("kind=console&user={id}")).await.json(200));
    assert_eq!(consoles.len(), 1, "{consoles:#?}");
    assert_near(parse_time(&consoles[0]["expires_at"]), now + Duration::minutes(10), slack, "dora's console override");
    // Otto keeps the account's.
    let otto = app.sign_in_kind("otto", STRONG, "phone").await;
    let s = app.session(&otto).await.json(200);
    assert_near(parse_time(&s["expires_at"]), now + Duration::minutes(60), slack, "otto follows the account");

    // Back to the account's with null.
    let user = app.update_user_security(id, json!({ "phone_idle_minutes": null })).await;
    assert_eq!(user["phone_idle_minutes"], Value::Null);
    let now = OffsetDateTime::now_utc();
    let phone = app.sign_in_kind("dora", STRONG, "phone").await;
    let s = app.session(&phone).await.json(200);
    assert_near(parse_time(&s["expires_at"]), now + Duration::minutes(60), slack, "dora back on the account's");

    // Out of range is refused by name.
    for (field, bad) in [("phone_idle_minutes", json!(0)), ("console_idle_minutes", json!(0))] {
        let etag = app.get(&format!("{}/security", app.user_path(id))).await.etag();
        let r = app.put_user_security(id, Some(&etag), json!({ field: bad })).await;
        assert_eq!(r.status, 422, "{field} = {bad}: {}", r.text());
        r.problem_on(422, field);
    }
}

async fn a_shorter_lifetime_reaches_open_sessions(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.user_with_password("dora", STRONG, json!({})).await;
    let token = app.sign_in("dora", STRONG).await;
    let now = OffsetDateTime::now_utc();
    let before = app.session(&token).await.json(200);
    assert_near(
        parse_time(&before["expires_at"]),
        now + Duration::hours(12),
        Duration::minutes(2),
        "the default lifetime",
    );
    app.set_security(|s| s["sessions"]["absolute_hours"] = json!(1)).await;
    let after = app.session(&token).await.json(200);
    assert_near(
        parse_time(&after["expires_at"]),
        now + Duration::hours(1),
        Duration::minutes(2),
        "the lowered lifetime",
    );
    let listed = list_items(&app.account_sessions("kind=api").await.json(200));
    let mine = listed.iter().find(|s| s["user"]["login"] == "dora").expect("dora's session is listed");
    assert_near(parse_time(&mine["expires_at"]), now + Duration::hours(1), Duration::minutes(2), "as listed");
}
