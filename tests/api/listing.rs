//! Listing users: filters (R21: status — several at once —, role, desk, group, skill, text)
//! and keyset pagination.

use serde_json::json;

use crate::helpers::{Engine, TestApp, id_of, sorted};

both_engines!(filters_combine_and_match, keyset_pagination_visits_every_user_once, bad_list_parameters_are_refused,);

async fn filters_combine_and_match(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let north = app.desk("North").await;
    let south = app.desk("South").await;
    let french = app.skill("French").await;
    let spanish = app.skill("Spanish").await;
    let night = app.group("Night shift").await;
    let agent = app.builtin_role("agent").await;
    let supervisor = app.builtin_role("supervisor").await;

    app.new_user(json!({ "login": "f-amy", "desks": [north], "roles": [agent], "skills": [french],
        "email": "amy@north.example" }))
        .await;
    app.new_user(json!({ "login": "f-ben", "status": "disabled", "desks": [south], "roles": [supervisor],
        "groups": [night] }))
        .await;
    app.new_user(json!({ "login": "f-cat", "first_name": "Zelda", "desks": [north, south],
        "roles": [agent, supervisor], "skills": [spanish], "company": "Globex" }))
        .await;
    app.new_user(json!({ "login": "f-dan", "status": "disabled", "extension": "4711", "external_id": "EMP-99" })).await;

    let cases: Vec<(String, Vec<&str>)> = vec![
        ("q=f-".into(), vec!["f-amy", "f-ben", "f-cat", "f-dan"]),
        ("q=f-&status=active".into(), vec!["f-amy", "f-cat"]),
        ("q=f-&status=disabled".into(), vec!["f-ben", "f-dan"]),
        ("q=f-&status=active,disabled".into(), vec!["f-amy", "f-ben", "f-cat", "f-dan"]),
        (format!("role={agent}"), vec!["f-amy", "f-cat"]),
        (format!("role={supervisor}"), vec!["f-ben", "f-cat"]),
        (format!("role={agent},{supervisor}"), vec!["f-amy", "f-ben", "f-cat"]),
        (format!("desk={north}"), vec!["f-amy", "f-cat"]),
        (format!("desk={north},{south}"), vec!["f-amy", "f-ben", "f-cat"]),
        (format!("desk={north}&status=disabled"), vec![]),
        (format!("desk={south}&status=disabled"), vec!["f-ben"]),
        (format!("desk={north}&role={supervisor}"), vec!["f-cat"]),
        (format!("skill={french}"), vec!["f-amy"]),
        (format!("skill={french},{spanish}"), vec!["f-amy", "f-cat"]),
        (format!("group={night}"), vec!["f-ben"]),
        (format!("group={night}&status=active"), vec![]),
        ("q=zelda".into(), vec!["f-cat"]),
        ("q=ZELDA".into(), vec!["f-cat"]),
        ("q=north.example".into(), vec!["f-amy"]),
        ("q=4711".into(), vec!["f-dan"]),
        ("q=emp-99".into(), vec!["f-dan"]),
        ("q=globex".into(), vec!["f-cat"]),
        ("q=nobody-matches-this".into(), vec![]),
        // Text with SQL LIKE wildcards matches literally.
        ("q=%25".into(), vec![]),
        ("q=f_a".into(), vec![]),
    ];
    for (query, expected) in cases {
        let got = app.logins(&query).await;
        assert_eq!(sorted(got.clone()), expected, "GET users?{query} returned {got:?}");
    }
    // A list item shows what the table needs.
    let amy = &app.list_users("q=f-amy").await.json(200)["items"][0];
    assert_eq!(amy["roles"][0]["name"], "Agent");
    assert!(amy["roles"][0]["description"].as_str().is_some_and(|d| !d.is_empty()), "R12: role description: {amy}");
    assert_eq!(amy["desks"][0]["name"], "North");
    assert_eq!(amy["two_factor_method"], "disabled");
    // The admin matches no assignment filter but the status filter.
    assert!(app.logins("status=active").await.contains(&app.admin_login));
}

async fn keyset_pagination_visits_every_user_once(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let mut expected = Vec::new();
    // Created out of order, mixed case: the list is in case-insensitive login order.
    for i in [7, 3, 11, 0, 5, 9, 1, 12, 4, 8, 2, 10, 6] {
        let login = if i % 2 == 0 { format!("p-{i:02}") } else { format!("P-{i:02}") };
        app.new_user(json!({ "login": login })).await;
        expected.push(login);
    }
    expected.sort_by_key(|l| l.to_lowercase());

    let all = app.logins("q=p-&limit=4").await;
    assert_eq!(all, expected, "pages of 4 visit every user once, in order");
    let one_page = app.list_users("q=p-&limit=500").await.json(200);
    assert_eq!(one_page["items"].as_array().unwrap().len(), 13);
    assert!(one_page["next_cursor"].is_null(), "the last page has no cursor: {}", one_page["next_cursor"]);
    let exact = app.list_users("q=p-&limit=13").await.json(200);
    assert_eq!(exact["items"].as_array().unwrap().len(), 13);

    // Keyset, not offset: deleting a user already seen does not make the next page skip one,
    // and a user created behind the cursor does not appear twice.
    let first = app.list_users("q=p-&limit=4").await.json(200);
    let first_logins: Vec<String> =
        first["items"].as_array().unwrap().iter().map(|u| u["login"].as_str().unwrap().to_string()).collect();
    assert_eq!(first_logins, expected[..4]);
    app.delete_user(id_of(&first["items"][0])).await.expect(204);
    app.delete_user(id_of(&first["items"][1])).await.expect(204);
    app.new_user(json!({ "login": "p-00a" })).await;
    let cursor = first["next_cursor"].as_str().expect("more pages");
    let second = app.list_users(&format!("q=p-&limit=4&cursor={cursor}")).await.json(200);
    let second_logins: Vec<String> =
        second["items"].as_array().unwrap().iter().map(|u| u["login"].as_str().unwrap().to_string()).collect();
    assert_eq!(second_logins, expected[4..8], "the page after the cursor");

    // Paging with a filter: the cursor keeps the filter's order.
    let desk = app.desk("Paged").await;
    let ids: Vec<i64> = app.list_all("q=p-&limit=500").await.iter().map(id_of).collect();
    app.bulk(json!({ "action": "assign_desks", "target": { "ids": ids }, "values": [desk] })).await.expect(200);
    let mut via_desk = app.logins(&format!("desk={desk}&limit=3")).await;
    assert_eq!(via_desk.len(), 12);
    let before = via_desk.clone();
    via_desk.dedup();
    assert_eq!(via_desk, before, "no duplicates");
}

async fn bad_list_parameters_are_refused(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.list_users("limit=0").await.problem_on(422, "limit");
    app.list_users("limit=501").await.problem_on(422, "limit");
    app.list_users("limit=500").await.expect(200);
    app.list_users("status=asleep").await.problem_on(422, "status");
    app.list_users("status=active,asleep").await.problem_on(422, "status");
    app.list_users("role=admin").await.problem_on(422, "role");
    app.list_users("desk=1;DROP").await.problem_on(422, "desk");
    // A cursor the server did not give out makes the request unreadable (400, naming it): one that
    // is not base64, one that decodes to no position ("abc"), one of another list (a roles
    // cursor), and one that holds no login. So does a parameter the list does not know.
    app.list_users("cursor=%%%").await.problem_field(400, "cursor", "invalid_cursor");
    app.list_users("cursor=YWJj").await.problem_field(400, "cursor", "invalid_cursor");
    let roles_cursor = app.get(&format!("{}?limit=1", app.acct("roles"))).await.json(200)["next_cursor"].clone();
    app.list_users(&format!("cursor={}", roles_cursor.as_str().unwrap())).await.problem_field(
        400,
        "cursor",
        "invalid_cursor",
    );
    // "u:a b" — a users cursor whose position cannot be a login.
    app.list_users("cursor=dTphIGI").await.problem_field(400, "cursor", "invalid_cursor");
    let unknown = app.list_users("colour=blue").await.problem(400);
    assert!(unknown["detail"].as_str().unwrap().contains("colour"), "{unknown}");
    // Ids of no desk simply match nobody.
    assert!(app.logins("desk=999999").await.is_empty());
}
