//! Mass actions (R37): on ids, on a filter, on all; dry runs; all or nothing; deletion removes
//! assignments (R22) and records one event per user.

use serde_json::{Value, json};

use crate::helpers::{Engine, TestApp, id_of, names};

both_engines!(
    bulk_on_ids_with_a_dry_run_first,
    bulk_on_a_filter_and_on_all,
    bulk_assigns_and_unassigns,
    a_bulk_with_one_bad_id_changes_nothing,
    bulk_delete_removes_assignments_and_records_each_user,
    bad_bulk_requests_are_refused,
);

async fn status_of(app: &TestApp, id: i64) -> String {
    app.get_user(id).await.json(200)["status"].as_str().unwrap().to_string()
}

async fn bulk_on_ids_with_a_dry_run_first(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let a = id_of(&app.new_user(json!({ "login": "b-a" })).await);
    let b = id_of(&app.new_user(json!({ "login": "b-b" })).await);
    let c = id_of(&app.new_user(json!({ "login": "b-c" })).await);
    let events_before = app.activity("limit=500").await.len();
    let etag_before = app.get_user(a).await.etag();

    let dry = app.bulk(json!({ "action": "deactivate", "target": { "ids": [a, b] }, "dry_run": true })).await.json(200);
    assert_eq!(
        dry,
        json!({ "action": "deactivate", "matched": 2, "changed": 2, "out_of_reach": 0, "yourself_left_out": false, "not_agents": 0, "dry_run": true })
    );
    for id in [a, b, c] {
        assert_eq!(status_of(&app, id).await, "active", "a dry run changes nothing");
    }
    assert_eq!(app.get_user(a).await.etag(), etag_before);
    assert_eq!(app.activity("limit=500").await.len(), events_before, "a dry run records nothing");

    let done = app.bulk(json!({ "action": "deactivate", "target": { "ids": [a, b] } })).await.json(200);
    assert_eq!(
        done,
        json!({ "action": "deactivate", "matched": 2, "changed": 2, "out_of_reach": 0, "yourself_left_out": false, "not_agents": 0, "dry_run": false })
    );
    assert_eq!(status_of(&app, a).await, "disabled");
    assert_eq!(status_of(&app, b).await, "disabled");
    assert_eq!(status_of(&app, c).await, "active");
    assert_ne!(app.get_user(a).await.etag(), etag_before, "a mass action changes the version (no lost update)");

    // Again: both match, none changes.
    let again = app.bulk(json!({ "action": "deactivate", "target": { "ids": [a, b] } })).await.json(200);
    assert_eq!((again["matched"].clone(), again["changed"].clone()), (json!(2), json!(0)));
    let back = app.bulk(json!({ "action": "activate", "target": { "ids": [a, b, c] } })).await.json(200);
    assert_eq!((back["matched"].clone(), back["changed"].clone()), (json!(3), json!(2)));
    assert_eq!(status_of(&app, a).await, "active");
}

async fn bulk_on_a_filter_and_on_all(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let desk = app.desk("Support").await;
    let on_desk: Vec<i64> = {
        let mut v = Vec::new();
        for login in ["s-1", "s-2"] {
            v.push(id_of(&app.new_user(json!({ "login": login, "desks": [desk] })).await));
        }
        v
    };
    let off_desk = id_of(&app.new_user(json!({ "login": "o-1" })).await);
    let disabled = id_of(&app.new_user(json!({ "login": "o-2", "status": "disabled" })).await);

    let target = json!({ "filter": { "desk": [desk] } });
    let dry = app.bulk(json!({ "action": "deactivate", "target": target, "dry_run": true })).await.json(200);
    assert_eq!((dry["matched"].clone(), dry["changed"].clone()), (json!(2), json!(2)));
    let done = app.bulk(json!({ "action": "deactivate", "target": target })).await.json(200);
    assert_eq!(done["changed"], 2);
    for id in &on_desk {
        assert_eq!(status_of(&app, *id).await, "disabled");
    }
    assert_eq!(status_of(&app, off_desk).await, "active");

    // Filters combine like the list's: status and text.
    let f = json!({ "filter": { "status": ["disabled"], "q": "o-" } });
    let r = app.bulk(json!({ "action": "activate", "target": f, "dry_run": true })).await.json(200);
    assert_eq!(
        (r["matched"].clone(), r["changed"].clone()),
        (json!(1), json!(1)),
        "only o-2 is disabled and matches o-"
    );

    // "all": every user of the account; the acting admin is never deactivated by it.
    let total = app.list_all("limit=500").await.len() as i64;
    assert_eq!(total, 5);
    let all = app.bulk(json!({ "action": "activate", "target": "all" })).await.json(200);
    assert_eq!((all["matched"].clone(), all["changed"].clone()), (json!(total), json!(3)));
    assert_eq!(status_of(&app, disabled).await, "active");
    let off = app.bulk(json!({ "action": "deactivate", "target": "all" })).await.json(200);
    assert_eq!(off["matched"], total);
    assert_eq!(off["changed"], total - 1, "everyone but the acting admin: {off}");
    assert_eq!(status_of(&app, app.admin_id).await, "active");
    app.session(&app.token).await.expect(200);
    assert_eq!(app.logins("status=disabled").await.len() as i64, total - 1);
}

async fn bulk_assigns_and_unassigns(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (d1, d2) = (app.desk("D1").await, app.desk("D2").await);
    let s1 = app.skill("S1").await;
    let g1 = app.group("G1").await;
    let agent = app.builtin_role("agent").await;
    let a = id_of(&app.new_user(json!({ "login": "x-a", "desks": [d1] })).await);
    let b = id_of(&app.new_user(json!({ "login": "x-b" })).await);
    let ids = json!({ "ids": [a, b] });

    let r = app.bulk(json!({ "action": "assign_desks", "target": ids, "values": [d1, d2] })).await.json(200);
    assert_eq!((r["matched"].clone(), r["changed"].clone()), (json!(2), json!(2)));
    for id in [a, b] {
        assert_eq!(names(&app.get_user(id).await.json(200), "desks"), vec!["D1", "D2"]);
    }
    let r = app.bulk(json!({ "action": "unassign_desks", "target": ids, "values": [d1] })).await.json(200);
    assert_eq!(r["changed"], 2);
    assert_eq!(names(&app.get_user(a).await.json(200), "desks"), vec!["D2"]);
    // Nothing left to unassign: nobody changes.
    let r = app.bulk(json!({ "action": "unassign_desks", "target": ids, "values": [d1] })).await.json(200);
    assert_eq!(r["changed"], 0);

    for (action, value, field, name) in [
        ("assign_skills", s1, "skills", "S1"),
        ("assign_groups", g1, "groups", "G1"),
        ("assign_roles", agent, "roles", "Agent"),
    ] {
        app.bulk(json!({ "action": action, "target": ids, "values": [value] })).await.expect(200);
        assert_eq!(names(&app.get_user(b).await.json(200), field), vec![name], "{action}");
        assert_eq!(app.logins(&format!("{}={value}", &field[..field.len() - 1])).await, vec!["x-a", "x-b"]);
        let un = action.replace("assign", "unassign");
        app.bulk(json!({ "action": un, "target": ids, "values": [value] })).await.expect(200);
        assert!(names(&app.get_user(b).await.json(200), field).is_empty(), "{un}");
    }
}

async fn a_bulk_with_one_bad_id_changes_nothing(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let desk = app.desk("Ops").await;
    let a = id_of(&app.new_user(json!({ "login": "t-a" })).await);
    let b = id_of(&app.new_user(json!({ "login": "t-b" })).await);
    let events_before = app.activity("limit=500").await;

    let r = app.bulk(json!({ "action": "deactivate", "target": { "ids": [a, 99_999_999, b] } })).await;
    r.problem_field(422, "target.ids", "unknown_id");
    assert_eq!(status_of(&app, a).await, "active");
    assert_eq!(status_of(&app, b).await, "active");

    let r = app.bulk(json!({ "action": "assign_desks", "target": { "ids": [a, b] }, "values": [desk, 424_242] })).await;
    r.problem_on(422, "values");
    assert!(app.get_user(a).await.json(200)["desks"].as_array().unwrap().is_empty());
    let r = app.bulk(json!({ "action": "delete", "target": { "ids": [a, -1] } })).await;
    r.problem_field(422, "target.ids", "unknown_id");
    app.get_user(a).await.expect(200);
    assert_eq!(app.activity("limit=500").await, events_before, "refused mass actions record nothing");
}

async fn bulk_delete_removes_assignments_and_records_each_user(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let desk = app.desk("Gone").await;
    let skill = app.skill("Gone skill").await;
    let group = app.group("Gone group").await;
    let agent = app.builtin_role("agent").await;
    let assigned = json!({ "desks": [desk], "skills": [skill], "groups": [group], "roles": [agent] });
    let mut ids = Vec::new();
    for login in ["del-1", "del-2"] {
        let mut body =
            json!({ "login": login, "email": format!("{login}@example.com"), "extension": format!("9{}", ids.len()) });
        crate::helpers::merge(&mut body, assigned.clone());
        ids.push(id_of(&app.new_user(body).await));
    }
    let keeper = id_of(&app.new_user(json!({ "login": "keep", "desks": [desk] })).await);

    let r = app.bulk(json!({ "action": "delete", "target": { "ids": ids } })).await.json(200);
    assert_eq!((r["matched"].clone(), r["changed"].clone()), (json!(2), json!(2)));
    for id in &ids {
        app.get_user(*id).await.problem(404);
    }
    // R22: their assignments are gone with them.
    for (kind, id, left) in [("desks", desk, 1), ("skills", skill, 0), ("groups", group, 0)] {
        let item = app.get(&app.acct(&format!("{kind}/{id}"))).await.json(200);
        assert_eq!(item["member_count"], left, "{kind} {item}");
    }
    assert_eq!(app.logins(&format!("desk={desk}")).await, vec!["keep"]);
    assert_eq!(app.logins(&format!("role={agent}")).await, Vec::<String>::new());
    assert_eq!(names(&app.get_user(keeper).await.json(200), "desks"), vec!["Gone"]);
    // Their login, email and extension are free again.
    app.new_user(json!({ "login": "del-1", "email": "del-1@example.com", "extension": "90" })).await;

    // One user.deleted event per user, naming the user, plus the mass action's summary.
    let deleted = app.activity("action=user.deleted").await;
    let mut targets: Vec<i64> = deleted.iter().map(|e| e["target_id"].as_i64().expect("target_id")).collect();
    targets.sort();
    assert_eq!(targets, ids, "{deleted:?}");
    for e in &deleted {
        assert_eq!(e["actor_id"], app.admin_id);
        assert!(e["target_label"].as_str().is_some_and(|l| l.starts_with("del-")), "the label names the user: {e}");
    }
    let summary = app.activity("action=users.bulk_delete").await;
    assert_eq!(summary.len(), 1, "{summary:?}");
}

async fn bad_bulk_requests_are_refused(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let a = id_of(&app.new_user(json!({ "login": "r-a" })).await);
    let cases: Vec<(Value, u16)> = vec![
        (json!({ "action": "explode", "target": { "ids": [a] } }), 400),
        (json!({ "action": "deactivate", "target": { "ids": [] } }), 422),
        (json!({ "action": "assign_desks", "target": { "ids": [a] } }), 422),
        (json!({ "action": "activate", "target": { "ids": [a] }, "values": [1] }), 422),
        (json!({ "action": "activate", "target": "everyone" }), 400),
        (json!({ "action": "activate" }), 400),
        (json!({ "action": "activate", "target": "all", "force": true }), 400),
    ];
    // A body that does not parse (an unknown action or target, a missing or unknown member) is
    // a 400; a well-formed request with bad values is a 422.
    for (body, status) in cases {
        let r = app.bulk(body.clone()).await;
        assert_eq!(r.status.as_u16(), status, "{body}: {}", r.text());
        r.problem(status);
    }
    // The acting admin cannot delete themselves, alone or among others: as the account's only
    // admin, the answer says the account would be left without one (D4).
    for ids in [json!([app.admin_id]), json!([a, app.admin_id])] {
        let r = app.bulk(json!({ "action": "delete", "target": { "ids": ids } })).await;
        assert_eq!(r.problem(409)["code"], "last_admin", "{ids}: {}", r.text());
    }
    let own = app.delete_user(app.admin_id).await;
    assert_eq!(own.problem(409)["code"], "last_admin", "{}", own.text());
    app.session(&app.token).await.expect(200);
    app.get_user(app.admin_id).await.expect(200);
    app.get_user(a).await.expect(200);
    // With another admin, it is plainly refused as a change of oneself (D3).
    app.admin_with_second_factor("other-admin").await;
    let r = app.bulk(json!({ "action": "delete", "target": { "ids": [a, app.admin_id] } })).await;
    r.problem_field(422, "target.ids", "self");
    app.delete_user(app.admin_id).await.problem_field(422, "id", "self");
    app.get_user(app.admin_id).await.expect(200);
    app.get_user(a).await.expect(200);
}
