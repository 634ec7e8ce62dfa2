//! Call queues (R16): the catalog, time groups, agents' memberships with join option, position
//! and time group, who is a member at an instant, the agent flag that gates membership (R11),
//! the list's queue and flag filters, mass actions, and who may do what.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Engine, TestApp, id_of, list_items};

both_engines!(
    queues_and_time_groups_round_trip_and_refuse_bad_input,
    only_agents_are_members_and_stay_agents_while_queued,
    members_now_follow_status_time_groups_and_the_clock,
    positions_are_reordered_against_the_list_read,
    mass_actions_add_agents_to_queues_and_remove_them,
    queues_are_seen_and_changed_only_with_their_permissions,
    an_agent_hears_of_a_new_queue_only_if_they_receive_email,
);

const PW: &str = "correct-horse-9";
const HOUR: i64 = 3_600_000;

async fn put_member(app: &TestApp, queue: i64, user: i64, body: Value) -> crate::helpers::Resp {
    let path = app.acct(&format!("queues/{queue}/members/{user}"));
    app.send(app.req(Method::PUT, &path).json(&body)).await
}

async fn members(app: &TestApp, queue: i64, query: &str) -> Value {
    app.get(&format!("{}?{query}", app.acct(&format!("queues/{queue}/members")))).await.json(200)
}

fn logins(members: &Value) -> Vec<&str> {
    members["members"].as_array().unwrap().iter().map(|m| m["user"]["login"].as_str().unwrap()).collect()
}

fn now_logins(members: &Value) -> Vec<&str> {
    members["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["member_now"] == true)
        .map(|m| m["user"]["login"].as_str().unwrap())
        .collect()
}

async fn agent(app: &TestApp, login: &str, extra: Value) -> i64 {
    let mut body = json!({ "is_agent": true });
    crate::helpers::merge(&mut body, extra);
    app.user_with_password(login, PW, body).await
}

async fn queues_and_time_groups_round_trip_and_refuse_bad_input(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    // Time groups: each fault named by its field, nothing saved.
    let bad = app
        .post(
            &app.acct("time-groups"),
            json!({ "name": "Bad", "time_zone": "Mars/Olympus", "days": {
                "funday": [], "monday": [{ "from": "09:00", "to": "12:00" }, { "from": "11:00", "to": "13:00" }],
                "tuesday": [{ "from": "25:00", "to": "26:00" }] }, "holidays": ["2026-02-30"] }),
        )
        .await
        .json(422);
    let fields: Vec<&str> = bad["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["time_zone"], "the zone is checked first: {bad}");
    let bad = app
        .post(
            &app.acct("time-groups"),
            json!({ "name": "Bad", "time_zone": "UTC", "days": {
                "funday": [], "monday": [{ "from": "09:00", "to": "12:00" }, { "from": "11:00", "to": "13:00" }],
                "tuesday": [{ "from": "25:00", "to": "26:00" }] }, "holidays": ["2026-02-30"] }),
        )
        .await
        .json(422);
    let fields: Vec<&str> = bad["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(
        fields,
        ["days.funday", "days.monday", "days.tuesday[0].from", "days.tuesday[0].to", "holidays[0]"],
        "{bad}"
    );
    assert!(list_items(&app.get(&app.acct("time-groups")).await.json(200)).is_empty());

    let created = app
        .post(
            &app.acct("time-groups"),
            json!({ "name": "Office hours", "time_zone": "Europe/Berlin",
                "days": { "monday": [{ "from": "09:00", "to": "17:00" }], "friday": [{ "from": "22:00", "to": "06:00" }] },
                "holidays": ["2026-12-25"] }),
        )
        .await;
    let etag = created.etag();
    let group = created.json(201);
    assert_eq!(group["days"]["monday"], json!([{ "from": "09:00", "to": "17:00" }]));
    assert_eq!(group["days"]["sunday"], json!([]), "every weekday is shown");
    assert_eq!(group["holidays"], json!(["2026-12-25"]));
    let group_id = id_of(&group);
    app.post(&app.acct("time-groups"), json!({ "name": "office HOURS" })).await.problem_on(409, "name");
    // A time group without a zone takes the account's (UTC when it has none).
    let plain = app.post(&app.acct("time-groups"), json!({ "name": "Always" })).await.json(201);
    assert_eq!(plain["time_zone"], "UTC");

    let group_path = app.acct(&format!("time-groups/{group_id}"));
    let patch =
        |etag: &str, body: Value| app.send(app.req(Method::PATCH, &group_path).header("if-match", etag).json(&body));
    let changed = patch(&etag, json!({ "holidays": ["2026-12-25", "2026-12-26"] })).await.json(200);
    assert_eq!(changed["days"]["monday"], json!([{ "from": "09:00", "to": "17:00" }]), "days kept");
    patch(&etag, json!({ "holidays": [] })).await.problem(412);

    // Queues: a number is a user's extension or a queue's, never both.
    app.new_user(json!({ "login": "owner", "extension": "500" })).await;
    app.post(&app.acct("queues"), json!({ "name": "Sales", "extension": "500" })).await.problem_on(409, "extension");
    app.post(&app.acct("queues"), json!({ "name": "Sales", "extension": "5x" })).await.problem_on(422, "extension");
    app.post(&app.acct("queues"), json!({ "name": "" })).await.problem_on(422, "name");
    let created = app
        .post(&app.acct("queues"), json!({ "name": "Sales", "extension": "600", "description": "Inbound sales" }))
        .await;
    let queue_etag = created.etag();
    let sales = created.json(201);
    assert_eq!((sales["extension"].clone(), sales["member_count"].clone()), (json!("600"), json!(0)));
    app.post(&app.acct("queues"), json!({ "name": "Support", "extension": "600" })).await.problem_on(409, "extension");
    app.create_user(json!({ "login": "clash", "extension": "600" })).await.problem_on(409, "extension");
    let support = app.post(&app.acct("queues"), json!({ "name": "Support" })).await.json(201);

    // Search by name or number; renaming with If-Match.
    let found = list_items(&app.get(&format!("{}?q=60", app.acct("queues"))).await.json(200));
    assert_eq!(found.iter().map(|q| q["name"].as_str().unwrap()).collect::<Vec<_>>(), ["Sales"]);
    let found = list_items(&app.get(&format!("{}?q=SUPP", app.acct("queues"))).await.json(200));
    assert_eq!(found.len(), 1);
    let sales_path = app.acct(&format!("queues/{}", id_of(&sales)));
    let renamed = app
        .send(app.req(Method::PATCH, &sales_path).header("if-match", &queue_etag).json(&json!({ "name": "Sales EU" })))
        .await
        .json(200);
    assert_eq!((renamed["name"].clone(), renamed["extension"].clone()), (json!("Sales EU"), json!("600")));
    app.send(app.req(Method::PATCH, &sales_path).header("if-match", &queue_etag).json(&json!({ "name": "Again" })))
        .await
        .problem(412);

    // A time group in use is not deleted: the answer names the queue.
    let a = agent(&app, "ann", json!({})).await;
    put_member(&app, id_of(&support), a, json!({ "time_group": group_id })).await.expect(201);
    let refused = app.delete(&group_path).await.problem_on(409, "id");
    assert!(refused.to_string().contains("Support (1)"), "{refused}");
    put_member(&app, id_of(&support), a, json!({ "time_group": null })).await.expect(200);
    app.delete(&group_path).await.expect(204);

    // Deleting a queue takes its memberships, each recorded on the user.
    app.delete(&app.acct(&format!("queues/{}", id_of(&support)))).await.expect(204);
    assert_eq!(app.get(&app.acct(&format!("users/{a}/queues"))).await.json(200), json!([]));
    let log = list_items(&app.get(&format!("{}?limit=100", app.acct("activity"))).await.json(200));
    let actions: Vec<&str> = log.iter().map(|e| e["action"].as_str().unwrap()).collect();
    for want in [
        "time_group.created",
        "time_group.updated",
        "time_group.deleted",
        "queue.created",
        "queue.updated",
        "queue.deleted",
        "user.queue_joined",
        "user.queue_membership_changed",
        "user.queue_left",
    ] {
        assert!(actions.contains(&want), "no {want} in {actions:?}");
    }
}

async fn only_agents_are_members_and_stay_agents_while_queued(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let queue = id_of(&app.post(&app.acct("queues"), json!({ "name": "Support", "extension": "700" })).await.json(201));
    let plain = app.user_with_password("plain", PW, json!({})).await;
    put_member(&app, queue, plain, json!({})).await.problem_on(409, "user");

    let ann = agent(&app, "ann", json!({ "is_supervisor": true })).await;
    let joined = put_member(&app, queue, ann, json!({})).await.json(201);
    assert_eq!((joined["join"].clone(), joined["position"].clone()), (json!("automatic"), json!(1)));
    assert_eq!(joined["time_group"], Value::Null);
    let changed = put_member(&app, queue, ann, json!({ "join": "manual", "position": 3 })).await.json(200);
    assert_eq!((changed["join"].clone(), changed["position"].clone()), (json!("manual"), json!(3)));
    put_member(&app, queue, ann, json!({ "join": "sometimes" })).await.problem_on(422, "join");
    put_member(&app, queue, ann, json!({ "position": 0 })).await.problem_on(422, "position");
    put_member(&app, queue, ann, json!({ "position": 1000 })).await.problem_on(422, "position");
    put_member(&app, queue, ann, json!({ "time_group": 999999 })).await.problem_on(422, "time_group");
    put_member(&app, 999999, ann, json!({})).await.problem(404);
    let after = app.get(&app.acct(&format!("users/{ann}/queues"))).await.json(200);
    assert_eq!(after[0]["position"], 3, "refused changes changed nothing: {after}");
    let one = app.get(&app.acct(&format!("queues/{queue}/members/{ann}"))).await.json(200);
    assert_eq!((one["position"].clone(), one["join"].clone()), (json!(3), json!("manual")));
    app.get(&app.acct(&format!("queues/{queue}/members/{plain}"))).await.problem(404);

    // The user shows the queue; the flag stays while they are a member, naming the queue.
    let user = app.get_user(ann).await.json(200);
    assert_eq!(user["queues"], json!([{ "id": queue, "name": "Support" }]));
    let refused = app.patch_user(ann, Some(&app.get_user(ann).await.etag()), json!({ "is_agent": false })).await;
    let body = refused.problem_on(409, "is_agent");
    assert!(body.to_string().contains("Support"), "{body}");
    assert_eq!(app.get_user(ann).await.json(200)["is_agent"], true);

    // The list filters by queue and by the flags.
    agent(&app, "bob", json!({})).await;
    assert_eq!(app.logins(&format!("queue={queue}")).await, ["ann"]);
    assert_eq!(app.logins("agent=true").await, ["ann", "bob"]);
    assert!(!app.logins("agent=false").await.contains(&"ann".to_string()));
    assert_eq!(app.logins("supervisor=true").await, ["ann"]);
    app.list_users("agent=perhaps").await.problem_on(422, "agent");

    // Removing the membership frees the flag.
    app.delete(&app.acct(&format!("queues/{queue}/members/{ann}"))).await.expect(204);
    app.delete(&app.acct(&format!("queues/{queue}/members/{ann}"))).await.problem(404);
    assert!(app.logins(&format!("queue={queue}")).await.is_empty());
    app.update_user(ann, json!({ "is_agent": false })).await;
}

async fn members_now_follow_status_time_groups_and_the_clock(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let night = app
        .post(
            &app.acct("time-groups"),
            json!({ "name": "Night", "time_zone": "UTC", "days": { "friday": [{ "from": "22:00", "to": "06:00" }] },
                "holidays": ["2027-01-01"] }),
        )
        .await
        .json(201);
    let berlin = app
        .post(
            &app.acct("time-groups"),
            json!({ "name": "Berlin days", "time_zone": "Europe/Berlin",
                "days": { "friday": [{ "from": "09:00", "to": "17:00" }], "monday": [{ "from": "09:00", "to": "17:00" }] } }),
        )
        .await
        .json(201);
    let queue = id_of(&app.post(&app.acct("queues"), json!({ "name": "Hotline" })).await.json(201));
    let always = agent(&app, "always", json!({})).await;
    let nights = agent(&app, "nights", json!({})).await;
    let days = agent(&app, "days", json!({})).await;
    let away = agent(&app, "away", json!({})).await;
    put_member(&app, queue, always, json!({ "position": 2 })).await.expect(201);
    put_member(&app, queue, nights, json!({ "position": 1, "time_group": id_of(&night) })).await.expect(201);
    put_member(&app, queue, days, json!({ "position": 1, "time_group": id_of(&berlin) })).await.expect(201);
    put_member(&app, queue, away, json!({ "position": 1 })).await.expect(201);
    app.update_user(away, json!({ "status": "disabled" })).await;

    // The configured list in position order, then login.
    let all = members(&app, queue, "at=2026-12-04T23:00:00Z").await;
    assert_eq!(logins(&all), ["away", "days", "nights", "always"]);
    // Friday 23:00 UTC: the night shift holds; Saturday 05:59 still, 06:00 no more.
    assert_eq!(now_logins(&all), ["nights", "always"]);
    assert_eq!(all["members_now"], 2);
    let away_row = all["members"].as_array().unwrap().iter().find(|m| m["user"]["login"] == "away").unwrap();
    assert_eq!(away_row["not_now_because"], "disabled");
    assert_eq!(now_logins(&members(&app, queue, "at=2026-12-05T05:59:00Z").await), ["nights", "always"]);
    let morning = members(&app, queue, "at=2026-12-05T06:00:00Z&current=true").await;
    assert_eq!(logins(&morning), ["always"], "current=true lists only members now");
    // A holiday closes the night that starts on it.
    assert_eq!(now_logins(&members(&app, queue, "at=2027-01-01T23:00:00Z").await), ["always"]);
    // Daylight saving: 09:00 in Berlin is 08:00 UTC in winter (Friday 26 March 2027) and 07:00
    // UTC in summer (Monday 29 March 2027, after the clocks went forward on the 28th).
    assert_eq!(now_logins(&members(&app, queue, "at=2027-03-26T07:30:00Z").await), ["always"]);
    assert_eq!(now_logins(&members(&app, queue, "at=2027-03-26T08:30:00Z").await), ["days", "always"]);
    assert_eq!(now_logins(&members(&app, queue, "at=2027-03-29T07:30:00Z").await), ["days", "always"]);
    assert_eq!(now_logins(&members(&app, queue, "at=2027-03-29T06:30:00Z").await), ["always"]);
    app.get(&format!("{}?at=yesterday", app.acct(&format!("queues/{queue}/members")))).await.problem(400);

    // Without `at`, the server's clock decides: a group for the next hour (UTC) holds once the
    // test clock reaches it.
    let now = app.clock.now().as_ms();
    let next_hour = (now / HOUR + 1) * HOUR;
    let weekday = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
        [((next_hour / (24 * HOUR) + 3) % 7) as usize];
    let hour = (next_hour % (24 * HOUR)) / HOUR;
    let range = json!([{ "from": format!("{hour:02}:00"), "to": format!("{:02}:30", hour) }]);
    let soon = app
        .post(&app.acct("time-groups"), json!({ "name": "Soon", "time_zone": "UTC", "days": { weekday: range } }))
        .await
        .json(201);
    assert_eq!(soon["in_effect_now"], false);
    let later = agent(&app, "later", json!({})).await;
    put_member(&app, queue, later, json!({ "time_group": id_of(&soon) })).await.expect(201);
    assert!(!now_logins(&members(&app, queue, "").await).contains(&"later"));
    app.clock.advance(next_hour + 60_000 - now).await;
    assert!(now_logins(&members(&app, queue, "").await).contains(&"later"));
    let mine = app.get(&app.acct(&format!("users/{later}/queues"))).await.json(200);
    assert_eq!((mine[0]["member_now"].clone(), mine[0]["time_group"]["name"].clone()), (json!(true), json!("Soon")));
    app.clock.advance(30 * 60_000).await;
    assert!(!now_logins(&members(&app, queue, "").await).contains(&"later"));
}

async fn positions_are_reordered_against_the_list_read(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let queue = id_of(&app.post(&app.acct("queues"), json!({ "name": "Hotline" })).await.json(201));
    let a = agent(&app, "a-agent", json!({})).await;
    let b = agent(&app, "b-agent", json!({})).await;
    let c = agent(&app, "c-agent", json!({})).await;
    for (user, position) in [(a, 1), (b, 2), (c, 3)] {
        put_member(&app, queue, user, json!({ "position": position })).await.expect(201);
    }
    let path = app.acct(&format!("queues/{queue}/members"));
    let read = app.get(&path).await;
    let etag = read.etag();
    let positions = app.acct(&format!("queues/{queue}/positions"));
    let body = json!({ "positions": [{ "user": c, "position": 1 }, { "user": a, "position": 3 }] });
    app.send(app.req(Method::PUT, &positions).json(&body)).await.problem(428);
    // Someone changes a member meanwhile: the reordering of the list as it was is refused.
    put_member(&app, queue, b, json!({ "join": "manual" })).await.expect(200);
    app.send(app.req(Method::PUT, &positions).header("if-match", &etag).json(&body)).await.problem(412);
    let fresh = app.get(&path).await.etag();
    let bad = json!({ "positions": [{ "user": c, "position": 0 }, { "user": c, "position": 2 }] });
    app.send(app.req(Method::PUT, &positions).header("if-match", &fresh).json(&bad)).await.json(422);
    let stranger = app.user_with_password("stranger", PW, json!({})).await;
    let bad = json!({ "positions": [{ "user": c, "position": 1 }, { "user": stranger, "position": 2 }] });
    app.send(app.req(Method::PUT, &positions).header("if-match", &fresh).json(&bad))
        .await
        .problem_on(422, "positions[1].user");
    assert_eq!(logins(&app.get(&path).await.json(200)), ["a-agent", "b-agent", "c-agent"], "all or nothing");
    let fresh = app.get(&path).await.etag();
    let done = app.send(app.req(Method::PUT, &positions).header("if-match", &fresh).json(&body)).await.json(200);
    assert_eq!(logins(&done), ["c-agent", "b-agent", "a-agent"]);
    // A membership change with a stale If-Match is refused too.
    let stale = app
        .send(
            app.req(Method::PUT, &app.acct(&format!("queues/{queue}/members/{a}")))
                .header("if-match", &fresh)
                .json(&json!({})),
        )
        .await;
    stale.problem(412);
}

async fn mass_actions_add_agents_to_queues_and_remove_them(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let queue = id_of(&app.post(&app.acct("queues"), json!({ "name": "Hotline" })).await.json(201));
    let desk = app.desk("Floor").await;
    let a = agent(&app, "a-agent", json!({ "desks": [desk] })).await;
    let b = agent(&app, "b-agent", json!({ "desks": [desk] })).await;
    let plain = app.user_with_password("plain", PW, json!({ "desks": [desk] })).await;

    // Named users who are not agents refuse the whole action.
    let refused =
        app.bulk(json!({ "action": "add_to_queues", "target": { "ids": [a, plain] }, "values": [queue] })).await;
    let body = refused.problem_on(409, "target.ids");
    assert!(body.to_string().contains(&plain.to_string()), "{body}");
    assert!(members(&app, queue, "").await["members"].as_array().unwrap().is_empty());

    // Chosen by a filter, they are left out and counted.
    let target = json!({ "filter": { "desk": [desk] } });
    let preview = app
        .bulk(json!({ "action": "add_to_queues", "target": target, "values": [queue], "dry_run": true }))
        .await
        .json(200);
    assert_eq!(
        (preview["matched"].clone(), preview["changed"].clone(), preview["not_agents"].clone()),
        (json!(3), json!(2), json!(1))
    );
    let done = app.bulk(json!({ "action": "add_to_queues", "target": target, "values": [queue] })).await.json(200);
    assert_eq!(done["changed"], 2);
    let list = members(&app, queue, "").await;
    assert_eq!(logins(&list), ["a-agent", "b-agent"]);
    assert_eq!(list["members"][0]["join"], "automatic");
    assert!(list["members"][0]["added_at"].as_str().unwrap().starts_with("20"), "{list}");
    assert_eq!(app.logins(&format!("queue={queue}")).await, ["a-agent", "b-agent"]);
    let again = app.bulk(json!({ "action": "add_to_queues", "target": target, "values": [queue] })).await.json(200);
    assert_eq!(again["changed"], 0, "members already");
    app.bulk(json!({ "action": "add_to_queues", "target": "all", "values": [999999] })).await.problem_on(422, "values");

    let removed = app
        .bulk(json!({ "action": "remove_from_queues", "target": { "ids": [b] }, "values": [queue] }))
        .await
        .json(200);
    assert_eq!(removed["changed"], 1);
    assert_eq!(app.logins(&format!("queue={queue}")).await, ["a-agent"]);
    let history = list_items(&app.get(&format!("{}?user={b}", app.acct("activity"))).await.json(200));
    assert!(history.iter().any(|e| e["changes"]["queues"]["removed"] == json!(["Hotline"])), "{history:?}");
}

async fn queues_are_seen_and_changed_only_with_their_permissions(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let queue = id_of(&app.post(&app.acct("queues"), json!({ "name": "Hotline" })).await.json(201));
    let floor = app.desk("Floor").await;
    let other = app.desk("Other").await;
    let mine = agent(&app, "mine", json!({ "desks": [floor] })).await;
    let theirs = agent(&app, "theirs", json!({ "desks": [other] })).await;
    put_member(&app, queue, mine, json!({})).await.expect(201);
    put_member(&app, queue, theirs, json!({})).await.expect(201);

    // The built-in Supervisor sees queues and, of their members, those at their desks (D8).
    let (sup, sup_token) = app.user_with_role("sup", "supervisor").await;
    app.update_user(sup, json!({ "desks": [floor] })).await;
    let seen = app.get_as(&sup_token, &app.acct(&format!("queues/{queue}/members"))).await.json(200);
    assert_eq!(logins(&seen), ["mine"]);
    app.get_as(&sup_token, &app.acct(&format!("queues/{queue}/members/{mine}"))).await.expect(200);
    app.get_as(&sup_token, &app.acct(&format!("queues/{queue}/members/{theirs}"))).await.problem(404);
    app.get_as(&sup_token, &app.acct("time-groups")).await.expect(200);
    app.post_as(&sup_token, &app.acct("queues"), json!({ "name": "Mine" })).await.problem(403);
    app.post_as(&sup_token, &app.acct("time-groups"), json!({ "name": "Mine" })).await.problem(403);
    let path = app.acct(&format!("queues/{queue}/members/{mine}"));
    app.send(app.req_as(&sup_token, Method::PUT, &path).json(&json!({}))).await.problem(403);

    // An agent sees no queues at all.
    let (_, agent_token) = app.user_with_role("caller", "agent").await;
    app.get_as(&agent_token, &app.acct("queues")).await.problem(403);

    // queues.manage without users.edit: the catalog, not its members.
    let role = app
        .create_named("roles", json!({ "name": "Queue keeper", "permissions": ["queues.view", "queues.manage"] }))
        .await;
    app.user_with_password("keeper", PW, json!({ "roles": [role] })).await;
    let keeper = app.sign_in("keeper", PW).await;
    app.post_as(&keeper, &app.acct("queues"), json!({ "name": "Kept" })).await.expect(201);
    app.send(app.req_as(&keeper, Method::PUT, &path).json(&json!({ "position": 5 }))).await.problem(403);

    // Another account's queue is not found.
    app.post("/api/v1/accounts", json!({ "slug": "elsewhere", "name": "Elsewhere" })).await.expect(201);
    app.get(&format!("/api/v1/accounts/elsewhere/queues/{queue}")).await.problem(404);
    app.get(&format!("/api/v1/accounts/elsewhere/queues/{queue}/members")).await.problem(404);

    // The built-in roles carry the new permissions.
    let roles = list_items(&app.get(&app.acct("roles")).await.json(200));
    let of = |key: &str| roles.iter().find(|r| r["builtin"] == key).unwrap()["permissions"].clone();
    for p in ["queues.view", "queues.manage", "time_groups.view", "time_groups.manage"] {
        assert!(of("admin").as_array().unwrap().iter().any(|x| x == p), "admin lacks {p}");
    }
    assert!(of("supervisor").as_array().unwrap().iter().any(|x| x == "queues.view"));
    assert!(!of("supervisor").as_array().unwrap().iter().any(|x| x == "queues.manage"));
}

async fn an_agent_hears_of_a_new_queue_only_if_they_receive_email(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let queue = id_of(&app.post(&app.acct("queues"), json!({ "name": "Hotline" })).await.json(201));
    let ann = agent(&app, "ann", json!({ "email": "ann@example.com" })).await;
    let bob = agent(&app, "bob", json!({ "email": "bob@example.com", "receive_email": false })).await;
    put_member(&app, queue, ann, json!({ "position": 2, "join": "manual" })).await.expect(201);
    let mail = app.mailbox.wait_for("ann@example.com").await;
    assert_eq!(mail.subject, "You now answer the queue Hotline");
    assert!(mail.text.contains("position 2") && mail.text.contains("join and leave it yourself"), "{}", mail.text);
    // A change of the membership is no news; Bob receives no notices (R11).
    put_member(&app, queue, ann, json!({ "position": 3 })).await.expect(200);
    put_member(&app, queue, bob, json!({})).await.expect(201);
    let outbox = list_items(&app.get(&format!("{}?limit=500", app.acct("outbox"))).await.json(200));
    let notices: Vec<String> = outbox.iter().filter(|m| m["kind"] == "queue_joined").map(|m| m.to_string()).collect();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0].contains("ann@example.com"));
    // Mail about access still reaches him: the flag holds back notices only.
    let body = json!({ "account": "default", "login_or_email": "bob" });
    app.send(app.anon(Method::POST, "/api/v1/auth/forgot-password").json(&body)).await.expect(202);
    assert!(app.mailbox.wait_for("bob@example.com").await.subject.contains("password"));
}
