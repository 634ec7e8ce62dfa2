//! What the PBX reads per call, answered from memory: queue member lists
//! (`queues::member_lists`) and users' call settings (`calls::kept`). Every change they show is
//! in the next read, whether made through the API, by SQL or on another instance; scope follows
//! the reader's desks as they are now; and a member list's ETag moves exactly when its
//! memberships do, whoever changes them.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Engine, TestApp, id_of};

both_engines!(
    a_kept_list_shows_every_change_at_once,
    another_instance_and_sql_changes_are_in_the_next_read,
    a_kept_list_is_scoped_as_the_reader_is_now,
    the_lists_version_moves_only_with_its_memberships,
    kept_call_settings_show_every_change_at_once,
);

const PW: &str = "correct-horse-9";
/// A Friday at noon (UTC).
const FRIDAY_NOON: &str = "at=2026-12-04T12:00:00Z";

async fn agent(app: &TestApp, login: &str, extra: Value) -> i64 {
    let mut body = json!({ "is_agent": true, "first_name": login });
    crate::helpers::merge(&mut body, extra);
    app.user_with_password(login, PW, body).await
}

async fn join(app: &TestApp, queue: i64, user: i64, body: Value) {
    let path = app.acct(&format!("queues/{queue}/members/{user}"));
    app.send(app.req(Method::PUT, &path).json(&body)).await.expect(201);
}

fn list_path(app: &TestApp, queue: i64, query: &str) -> String {
    format!("{}?{query}", app.acct(&format!("queues/{queue}/members")))
}

/// Read twice: the second read is the one the kept list answers.
async fn read(app: &TestApp, queue: i64) -> Value {
    let path = list_path(app, queue, FRIDAY_NOON);
    let first = app.get(&path).await.json(200);
    assert_eq!(app.get(&path).await.json(200), first, "a second read finds the same");
    first
}

fn row<'a>(list: &'a Value, login: &str) -> &'a Value {
    list["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"]["login"] == login)
        .unwrap_or_else(|| panic!("{login} is not listed: {list}"))
}

fn logins(list: &Value) -> Vec<&str> {
    list["members"].as_array().unwrap().iter().map(|m| m["user"]["login"].as_str().unwrap()).collect()
}

async fn a_kept_list_shows_every_change_at_once(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let days = app
        .post(
            &app.acct("time-groups"),
            json!({ "name": "Fridays", "time_zone": "UTC", "days": { "friday": [{ "from": "09:00", "to": "17:00" }] } }),
        )
        .await
        .json(201);
    let queue = id_of(&app.post(&app.acct("queues"), json!({ "name": "Hotline", "extension": "700" })).await.json(201));
    let ann = agent(&app, "ann", json!({ "extension": "201" })).await;
    let bob = agent(&app, "bob", json!({})).await;
    join(&app, queue, ann, json!({ "time_group": id_of(&days) })).await;
    join(&app, queue, bob, json!({ "position": 2 })).await;
    let list = read(&app, queue).await;
    assert_eq!(logins(&list), ["ann", "bob"]);
    assert_eq!(list["members_now"], 2);

    // The members' own rows.
    app.update_user(ann, json!({ "first_name": "Annie", "extension": "202" })).await;
    app.update_user(bob, json!({ "status": "disabled" })).await;
    let list = read(&app, queue).await;
    assert_eq!(
        (row(&list, "ann")["user"]["display_name"].clone(), row(&list, "ann")["user"]["extension"].clone()),
        (json!("Annie"), json!("202"))
    );
    assert_eq!(row(&list, "bob")["not_now_because"], "disabled");
    assert_eq!(list["members_now"], 1);

    // The queue's name and number.
    app.patch_named("queues", queue, json!({ "name": "Help line", "extension": "701" })).await;
    let list = read(&app, queue).await;
    assert_eq!((list["queue"]["name"].clone(), list["queue"]["extension"].clone()), (json!("Help line"), json!("701")));
    assert_eq!(row(&list, "ann")["queue"]["name"], "Help line");

    // The time group's hours and name.
    app.patch_named(
        "time-groups",
        id_of(&days),
        json!({ "name": "Mornings", "days": { "friday": [{ "from": "06:00", "to": "11:00" }] } }),
    )
    .await;
    let list = read(&app, queue).await;
    assert_eq!(row(&list, "ann")["time_group"]["name"], "Mornings");
    assert_eq!(row(&list, "ann")["not_now_because"], "outside_time_group");

    // Memberships: changed, added, removed, and gone with their user.
    let path = app.acct(&format!("queues/{queue}/members/{ann}"));
    app.send(app.req(Method::PUT, &path).json(&json!({ "time_group": null, "position": 3 }))).await.expect(200);
    let cid = agent(&app, "cid", json!({})).await;
    join(&app, queue, cid, json!({ "position": 1 })).await;
    let list = read(&app, queue).await;
    assert_eq!(logins(&list), ["cid", "bob", "ann"]);
    assert_eq!(row(&list, "ann")["member_now"], true);
    app.delete(&app.acct(&format!("queues/{queue}/members/{bob}"))).await.expect(204);
    app.delete_user(cid).await.expect(204);
    assert_eq!(logins(&read(&app, queue).await), ["ann"]);

    // The queue itself goes.
    app.delete(&app.acct(&format!("queues/{queue}"))).await.expect(204);
    app.get(&list_path(&app, queue, "")).await.problem(404);
}

async fn another_instance_and_sql_changes_are_in_the_next_read(engine: Engine) {
    let a = TestApp::spawn(engine).await;
    let b = a.second_instance().await;
    let queue = id_of(&a.post(&a.acct("queues"), json!({ "name": "Hotline" })).await.json(201));
    let ann = agent(&a, "ann", json!({})).await;
    join(&a, queue, ann, json!({})).await;
    let on_b = || {
        let url = format!("{}{}", b.base, list_path(&a, queue, FRIDAY_NOON));
        let (http, token) = (a.http.clone(), a.token.clone());
        async move {
            let r = http.get(url).bearer_auth(token).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    assert_eq!(logins(&on_b().await), ["ann"], "B keeps the list");
    assert_eq!(logins(&on_b().await), ["ann"]);

    // Changes made on A are in B's next read, no waiting.
    let bob = agent(&a, "bob", json!({})).await;
    join(&a, queue, bob, json!({ "position": 2 })).await;
    assert_eq!(logins(&on_b().await), ["ann", "bob"]);
    a.update_user(bob, json!({ "first_name": "Robert" })).await;
    assert_eq!(row(&on_b().await, "bob")["user"]["display_name"], "Robert");

    // And so are an operator's SQL changes, on either instance.
    a.sql(&format!("UPDATE queue_members SET position = 9 WHERE user_id = {ann}")).await;
    assert_eq!(logins(&on_b().await), ["bob", "ann"]);
    assert_eq!(logins(&read(&a, queue).await), ["bob", "ann"]);
    a.sql(&format!("UPDATE users SET extension = '555' WHERE id = {bob}")).await;
    assert_eq!(row(&on_b().await, "bob")["user"]["extension"], "555");
    a.sql(&format!("UPDATE queues SET extension = '800' WHERE id = {queue}")).await;
    assert_eq!(on_b().await["queue"]["extension"], "800");
    assert_eq!(read(&a, queue).await["queue"]["extension"], "800");
    a.sql(&format!("DELETE FROM queue_members WHERE user_id = {bob}")).await;
    assert_eq!(logins(&on_b().await), ["ann"]);
    assert_eq!(logins(&read(&a, queue).await), ["ann"]);
}

async fn a_kept_list_is_scoped_as_the_reader_is_now(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let queue = id_of(&app.post(&app.acct("queues"), json!({ "name": "Hotline" })).await.json(201));
    let floor = app.desk("Floor").await;
    let other = app.desk("Other").await;
    let mine = agent(&app, "mine", json!({ "desks": [floor] })).await;
    let theirs = agent(&app, "theirs", json!({ "desks": [other] })).await;
    join(&app, queue, mine, json!({})).await;
    join(&app, queue, theirs, json!({})).await;
    // The whole list is read (and kept) for an admin first.
    assert_eq!(logins(&read(&app, queue).await), ["mine", "theirs"]);

    let (sup, sup_token) = app.user_with_role("sup", "supervisor").await;
    app.update_user(sup, json!({ "desks": [floor] })).await;
    let as_sup = || async { app.get_as(&sup_token, &list_path(&app, queue, "")).await.json(200) };
    let seen = as_sup().await;
    assert_eq!(logins(&seen), ["mine"]);
    assert_eq!(seen["members_now"], 1, "counted among those seen only");

    // Moved to the supervisor's desk, the other agent is seen; the supervisor moved away, neither.
    app.update_user(theirs, json!({ "desks": [floor] })).await;
    assert_eq!(logins(&as_sup().await), ["mine", "theirs"]);
    app.update_user(sup, json!({ "desks": [other] })).await;
    assert!(logins(&as_sup().await).is_empty());
    assert_eq!(logins(&read(&app, queue).await), ["mine", "theirs"], "the admin still sees all");
}

async fn the_lists_version_moves_only_with_its_memberships(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let queue = id_of(&app.post(&app.acct("queues"), json!({ "name": "Hotline" })).await.json(201));
    let elsewhere = id_of(&app.post(&app.acct("queues"), json!({ "name": "Elsewhere" })).await.json(201));
    let ann = agent(&app, "ann", json!({})).await;
    let bob = agent(&app, "bob", json!({})).await;
    let cid = agent(&app, "cid", json!({})).await;
    join(&app, queue, ann, json!({ "position": 1 })).await;
    join(&app, queue, bob, json!({ "position": 2 })).await;
    join(&app, elsewhere, cid, json!({})).await;
    let etag = || async { app.get(&list_path(&app, queue, "")).await.expect(200).etag() };
    let positions = app.acct(&format!("queues/{queue}/positions"));
    let reorder = |tag: String, body: Value| {
        let request = app.req(Method::PUT, &positions).header("if-match", tag).json(&body);
        app.send(request)
    };
    let before = etag().await;

    // A reordering that moves nobody changes nothing, its version included.
    let same = json!({ "positions": [{ "user": ann, "position": 1 }, { "user": bob, "position": 2 }] });
    let answer = reorder(before.clone(), same).await;
    assert_eq!(answer.etag(), before);
    answer.json(200);
    assert_eq!(etag().await, before);

    // Mass actions that change none of this queue's memberships leave its version too.
    let none = app
        .bulk(json!({ "action": "remove_from_queues", "target": { "ids": [cid] }, "values": [queue, elsewhere] }))
        .await
        .json(200);
    assert_eq!(none["changed"], 1, "cid left the other queue");
    let again = app.bulk(json!({ "action": "add_to_queues", "target": { "ids": [ann] }, "values": [queue] })).await;
    again.json(200);
    assert_eq!(etag().await, before);

    // The version read is the one a reordering is checked against.
    let swap = json!({ "positions": [{ "user": ann, "position": 2 }, { "user": bob, "position": 1 }] });
    let done = reorder(etag().await, swap).await;
    let after = done.etag();
    assert_eq!(logins(&done.json(200)), ["bob", "ann"]);
    assert_ne!(after, before);
    assert_eq!(etag().await, after);

    // A mass action that adds a member moves it.
    app.bulk(json!({ "action": "add_to_queues", "target": { "ids": [cid] }, "values": [queue] })).await.json(200);
    let added = etag().await;
    assert_ne!(added, after);
    let back = json!({ "positions": [{ "user": cid, "position": 3 }] });
    reorder(after, back.clone()).await.problem(412);
    reorder(added, back).await.json(200);

    // So does a member's deletion, which takes their membership with it.
    let before_deletion = etag().await;
    app.delete_user(cid).await.expect(204);
    let gone = etag().await;
    assert_ne!(gone, before_deletion);
    let last = json!({ "positions": [{ "user": ann, "position": 1 }] });
    reorder(before_deletion, last.clone()).await.problem(412);
    reorder(gone, last).await.json(200);
}

async fn patch(app: &TestApp, path: &str, body: Value) -> Value {
    let etag = app.get(path).await.expect(200).etag();
    app.send(app.req(Method::PATCH, path).header("if-match", etag).json(&body)).await.json(200)
}

/// A user's call settings, read twice: the second read is the one kept settings answer.
async fn settings_twice(app: &TestApp, user: i64) -> Value {
    let path = app.acct(&format!("users/{user}/call-settings"));
    let first = app.get(&path).await.json(200);
    assert_eq!(app.get(&path).await.json(200), first, "a second read finds the same");
    first
}

/// A user's call settings as the instance at `base` answers them.
async fn settings_on(app: &TestApp, base: &str, user: i64) -> Value {
    let url = format!("{base}{}", app.acct(&format!("users/{user}/call-settings")));
    let r = app.http.get(url).bearer_auth(&app.token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()
}

async fn kept_call_settings_show_every_change_at_once(engine: Engine) {
    let a = TestApp::spawn(engine).await;
    let b = a.second_instance().await;
    let floor = a.desk("Floor").await;
    let other = a.desk("Other").await;
    let ann = a.user_with_password("ann", PW, json!({ "desks": [floor] })).await;
    let bob = a.user_with_password("bob", PW, json!({ "desks": [other] })).await;
    let rules = a
        .post(&a.acct("dial-rules"), json!({ "name": "National", "rules": [{ "pattern": "_0X.", "action": "allow" }] }))
        .await
        .json(201);
    let group = a.post(&a.acct("intercept-groups"), json!({ "name": "Floor" })).await.json(201);
    patch(
        &a,
        &a.acct("call-settings"),
        json!({ "dial_rules": id_of(&rules), "max_calls": 3, "intercept": { "member_of": [id_of(&group)], "picks_up": [] } }),
    )
    .await;
    let path = |user: i64| a.acct(&format!("users/{user}/call-settings"));
    let read = |user: i64| settings_twice(&a, user);
    let on_b = |user: i64| settings_on(&a, &b.base, user);
    let first = read(bob).await;
    assert_eq!(first["dial_rules"]["value"]["name"], "National");
    assert_eq!(on_b(bob).await["max_calls"]["value"], 3);

    // The catalogs' names and the account's defaults, through the API, on either instance.
    a.patch_named("dial-rules", id_of(&rules), json!({ "name": "Domestic" })).await;
    a.patch_named("intercept-groups", id_of(&group), json!({ "name": "Floor 2" })).await;
    let renamed = read(bob).await;
    assert_eq!(renamed["dial_rules"]["value"]["name"], "Domestic");
    assert_eq!(renamed["intercept"]["value"]["member_of"][0]["name"], "Floor 2");
    assert_eq!(on_b(bob).await["dial_rules"]["value"]["name"], "Domestic");
    patch(&a, &a.acct("call-settings"), json!({ "max_calls": 5 })).await;
    assert_eq!(read(bob).await["max_calls"]["value"], 5);
    assert_eq!(on_b(bob).await["max_calls"]["value"], 5);

    // A user's own values.
    read(ann).await;
    patch(&a, &path(ann), json!({ "max_calls": 1 })).await;
    assert_eq!(read(ann).await["max_calls"], json!({ "value": 1, "source": "user", "default": 5 }));
    assert_eq!(on_b(ann).await["max_calls"]["value"], 1);

    // An operator's SQL, read on both instances.
    a.sql(&format!("UPDATE user_call_settings SET max_calls = 7 WHERE user_id = {ann}")).await;
    assert_eq!(read(ann).await["max_calls"]["value"], 7);
    assert_eq!(on_b(ann).await["max_calls"]["value"], 7);
    a.sql("UPDATE account_call_settings SET call_waiting = FALSE").await;
    assert_eq!(read(bob).await["call_waiting"]["value"], false);
    assert_eq!(on_b(bob).await["call_waiting"]["value"], false);
    a.sql("DELETE FROM intercept_links WHERE user_id IS NULL").await;
    assert_eq!(read(bob).await["intercept"]["value"]["member_of"], json!([]));
    a.sql(&format!(
        "INSERT INTO intercept_links (account_id, user_id, group_id, mode) VALUES (1, {ann}, {}, 'pickup')",
        id_of(&group)
    ))
    .await;
    a.sql(&format!("UPDATE user_call_settings SET intercept_own = TRUE WHERE user_id = {ann}")).await;
    assert_eq!(on_b(ann).await["intercept"]["value"]["picks_up"][0]["name"], "Floor 2");

    // Scope as the reader is now (D8): a desk supervisor sees the users at their desk.
    let (sup, sup_token) = a.user_with_role("sup", "supervisor").await;
    a.update_user(sup, json!({ "desks": [floor] })).await;
    a.get_as(&sup_token, &path(ann)).await.expect(200);
    a.get_as(&sup_token, &path(bob)).await.problem(404);
    a.update_user(bob, json!({ "desks": [floor] })).await;
    assert_eq!(a.get_as(&sup_token, &path(bob)).await.json(200)["max_calls"]["value"], 5);

    // A deleted user has none.
    a.delete_user(bob).await.expect(204);
    a.get(&path(bob)).await.problem(404);
    a.get(&path(999_999)).await.problem(404);
}
