//! The console's Queues page (R16): the catalog, time groups, a queue's Members tab (add an agent
//! by login, set join option, position and time group, remove, refused edits shown with their
//! reason) and a user's Queues tab; who sees which buttons.

use serde_json::{Value, json};

use crate::helpers::{Console, Engine, STRONG, TestApp, id_of, list_items};

both_engines!(the_queues_pages_manage_queues_time_groups_and_members, the_queues_pages_follow_permissions);

async fn admin_console(app: &TestApp) -> Console {
    Console::sign_in_with_second_factor(app, &app.admin_login, &app.admin_password).await
}

async fn members(app: &TestApp, queue: i64) -> Value {
    app.get(&app.acct(&format!("queues/{queue}/members"))).await.json(200)
}

async fn the_queues_pages_manage_queues_time_groups_and_members(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let console = admin_console(&app).await;
    console.get("/console/users").await.expect(200).has(r#"href="/console/queues""#);

    // A queue: refused input stays in the form with its reason; a good one is saved.
    console.get("/console/queues").await.expect(200).has("No queues.");
    let bad = [("name", ""), ("extension", "12a"), ("description", "")];
    console.post("/console/queues/new", &bad).await.expect(422).has("The queue was not saved").has("f-extension-error");
    let good = [("name", "Sales"), ("extension", "600"), ("description", "Inbound")];
    console.post("/console/queues/new", &good).await.redirects_to("/console/queues?notice=saved");
    let queues = list_items(&app.get(&app.acct("queues")).await.json(200));
    let queue = id_of(&queues[0]);
    console.get("/console/queues?q=600").await.expect(200).has("Sales").has("Inbound");

    // A time group: a day's line of ranges, a bad range named under its day.
    let mut form =
        vec![("name", "Evenings"), ("description", ""), ("time_zone", "Europe/Berlin"), ("holidays", "2026-12-25")];
    form.extend([("monday", "18:00-22:00"), ("tuesday", "25:00-26:00"), ("wednesday", ""), ("thursday", "")]);
    form.extend([("friday", "22:00-06:00"), ("saturday", ""), ("sunday", "")]);
    console.post("/console/time-groups/new", &form).await.expect(422).has("f-tuesday-error");
    form[5] = ("tuesday", "");
    console.post("/console/time-groups/new", &form).await.redirects_to("/console/time-groups?notice=saved");
    let groups = list_items(&app.get(&app.acct("time-groups")).await.json(200));
    assert_eq!(groups[0]["days"]["friday"], json!([{ "from": "22:00", "to": "06:00" }]));
    let group = id_of(&groups[0]);
    console
        .get("/console/time-groups")
        .await
        .expect(200)
        .has("Evenings")
        .has("Mon 18:00-22:00; Fri 22:00-06:00 · 1 holiday");
    console.get(&format!("/console/time-groups/{group}/edit")).await.expect(200).has(r#"value="22:00-06:00""#);

    // Members: a non-agent is refused with the reason; an agent is added by login.
    let plain = app.user_with_password("plain", STRONG, json!({})).await;
    let ann = app.user_with_password("ann", STRONG, json!({ "is_agent": true })).await;
    let page = format!("/console/queues/{queue}");
    console.get(&page).await.expect(200).has("No members yet.").has("Add an agent");
    let add = |login: &'static str| vec![("login", login), ("join", "manual"), ("position", "2"), ("time_group", "")];
    console.post(&format!("{page}/members"), &add("plain")).await.expect(422).has("Only agents are queue members");
    console.post(&format!("{page}/members"), &add("nobody")).await.expect(422).has("No user with the login");
    console.post(&format!("{page}/members"), &add("ann")).await.redirects_to(&format!("{page}?notice=added"));
    let list = members(&app, queue).await;
    assert_eq!(list["members"][0]["user"]["id"], ann);
    assert_eq!(
        (list["members"][0]["join"].clone(), list["members"][0]["position"].clone()),
        (json!("manual"), json!(2))
    );
    assert_eq!(list["members"].as_array().unwrap().len(), 1, "{plain} was not added");
    console.get(&page).await.expect(200).has("ann").has("Member now").has("1 of 1 members take calls now");

    // A row saved with a time group; a stale row (the list changed since) is refused.
    let etag = app.get(&app.acct(&format!("queues/{queue}/members"))).await.etag();
    let version = etag.trim_matches('"').to_string();
    let group_text = group.to_string();
    let row =
        [("version", version.as_str()), ("join", "automatic"), ("position", "5"), ("time_group", group_text.as_str())];
    console.post(&format!("{page}/members/{ann}"), &row).await.redirects_to(&format!("{page}?notice=saved"));
    let saved = members(&app, queue).await;
    assert_eq!(
        (saved["members"][0]["position"].clone(), saved["members"][0]["time_group"]["id"].clone()),
        (json!(5), json!(group))
    );
    console.post(&format!("{page}/members/{ann}"), &row).await.expect(422).has("Someone else changed this queue");
    let bad_row = [("join", "automatic"), ("position", "0"), ("time_group", "")];
    console.post(&format!("{page}/members/{ann}"), &bad_row).await.expect(422).has("position is from 1");

    // The user's Queues tab shows the membership; removing there takes it away.
    let tab = format!("/console/users/{ann}/queues");
    console.get(&format!("/console/users/{ann}/edit")).await.expect(200).has(&tab);
    console.get(&tab).await.expect(200).has("Sales").has("Evenings").has("Remove");
    console.post(&format!("{tab}/{queue}/remove"), &[]).await.redirects_to(&format!("{tab}?notice=removed"));
    assert!(members(&app, queue).await["members"].as_array().unwrap().is_empty());
    // Added back from the user's side.
    let queue_text = queue.to_string();
    let back = [("queue", queue_text.as_str()), ("join", "automatic"), ("position", "1"), ("time_group", "")];
    console.post(&tab, &back).await.redirects_to(&format!("{tab}?notice=added"));
    assert_eq!(members(&app, queue).await["members"][0]["user"]["login"], "ann");
    console.get(&format!("/console/users/{plain}/queues")).await.expect(200).has("Only agents are queue members");

    // The Users list filters by queue and by the agent flag.
    console.get(&format!("/console/users?queue={queue}")).await.expect(200).has("ann").lacks(">plain<");
    console.get("/console/users?agent=false").await.expect(200).has("plain");

    // Deleting the queue, after its page says what it takes.
    console.get(&format!("/console/queues/{queue}/delete")).await.expect(200).has("1 agent is a member");
    console.post(&format!("/console/queues/{queue}/delete"), &[]).await.redirects_to("/console/queues?notice=deleted");
    console
        .post(&format!("/console/time-groups/{group}/delete"), &[])
        .await
        .redirects_to("/console/time-groups?notice=deleted");
}

async fn the_queues_pages_follow_permissions(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let queue = id_of(&app.post(&app.acct("queues"), json!({ "name": "Hotline" })).await.json(201));
    // A supervisor sees queues and members, and no button that changes them.
    let sup_role = app.builtin_role("supervisor").await;
    app.user_with_password("sup", STRONG, json!({ "roles": [sup_role] })).await;
    let sup = Console::sign_in(&app, "sup", STRONG).await;
    sup.get("/console/queues").await.expect(200).has("Hotline").lacks("New queue").lacks("/edit");
    sup.get(&format!("/console/queues/{queue}")).await.expect(200).lacks("Add an agent");
    sup.get("/console/queues/new").await.expect(403);
    sup.post("/console/queues/new", &[("name", "Mine")]).await.expect(403);
    // An agent has no Queues page.
    let agent_role = app.builtin_role("agent").await;
    app.user_with_password("caller", STRONG, json!({ "roles": [agent_role] })).await;
    let caller = Console::sign_in(&app, "caller", STRONG).await;
    caller.get("/console/queues").await.expect(403);
    assert_eq!(list_items(&app.get(&app.acct("queues")).await.json(200)).len(), 1);
}
