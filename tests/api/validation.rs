//! Every field rule of R1–R7 and R11 over the API: a bad value is a 422 problem naming the
//! field, nothing is written, and the good values next to the edge are accepted.

use serde_json::{Value, json};

use crate::helpers::{Engine, TestApp, id_of};

both_engines!(
    each_invalid_field_is_refused_with_its_name,
    every_bad_field_is_reported_at_once,
    values_at_the_edge_of_the_rules_are_accepted,
    an_invalid_edit_changes_nothing,
);

/// (field, bad value, why)
fn bad_values() -> Vec<(&'static str, Value, &'static str)> {
    vec![
        ("login", json!("ann@example.com"), "R1: no @"),
        ("login", json!("ann lee"), "R1: no space"),
        ("login", json!("a".repeat(65)), "R1: at most 64 characters"),
        ("login", json!(""), "R1: required"),
        ("login", json!("anné"), "R1: Latin letters only"),
        ("login", json!("ann/lee"), "R1: no other punctuation"),
        ("email", json!("not-an-email"), "R2: an address"),
        ("email", json!("ann@"), "R2: an address"),
        ("phone", json!("0151 12345678"), "R4: E.164"),
        ("phone", json!("+49 151 12a45"), "R4: digits only"),
        ("phone", json!("+12345"), "R4: at least 7 digits"),
        ("mobile", json!("12345"), "R4: E.164 starts with +"),
        ("mobile", json!("+0123456"), "R4: no country code 0"),
        ("extension", json!("10a1"), "R5: digits"),
        ("extension", json!("+1001"), "R5: digits"),
        ("time_zone", json!("Mars/Olympus_Mons"), "R7: IANA zone"),
        ("time_zone", json!("GMT+25"), "R7: IANA zone"),
        ("date_format", json!("DD-MM-YY"), "R7: three formats"),
        ("date_format", json!("dd/mm/yyyy"), "R7: exact format"),
        ("time_format", json!("25h"), "R7: 12 h or 24 h"),
        ("phone_topology", json!("carrier_pigeon"), "R6: external or web phone"),
        ("status", json!("asleep"), "R17: active or disabled"),
        ("two_factor_method", json!("sms"), "R26: disabled, email or totp"),
    ]
}

async fn each_invalid_field_is_refused_with_its_name(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let before = app.logins("limit=500").await;
    for (i, (field, value, why)) in bad_values().into_iter().enumerate() {
        let mut body = json!({ "login": format!("valid{i}") });
        body[field] = value.clone();
        let response = app.create_user(body).await;
        let status = response.status.as_u16();
        assert_eq!(status, 422, "{field} = {value} ({why}) answered {status}: {}", response.text());
        response.problem_on(422, field);
        let issue = response.body["errors"].as_array().unwrap().iter().find(|e| e["field"] == field).unwrap().clone();
        assert!(issue["code"].is_string() && issue["message"].as_str().is_some_and(|m| !m.is_empty()), "{issue}");
    }
    assert_eq!(app.logins("limit=500").await, before, "a refused user was written");
}

async fn every_bad_field_is_reported_at_once(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let response = app
        .create_user(json!({
            "login": "bad login",
            "email": "nope",
            "phone": "12",
            "extension": "x",
            "time_zone": "Nowhere/City",
            "date_format": "YY",
        }))
        .await;
    response.problem(422);
    let fields = response.error_fields();
    for f in ["login", "email", "phone", "extension", "time_zone", "date_format"] {
        assert!(fields.contains(&f.to_string()), "{f} missing from {fields:?}");
    }
    // Without a login, the login is named as required.
    app.create_user(json!({ "email": "x@example.com" })).await.problem_on(422, "login");
}

async fn values_at_the_edge_of_the_rules_are_accepted(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let long = "a".repeat(64);
    for (i, login) in [long.as_str(), "a", "A.b-c_d.9", "0"].into_iter().enumerate() {
        let user = app.new_user(json!({ "login": login, "extension": format!("{}", 300 + i) })).await;
        assert_eq!(user["login"], login);
    }
    for (i, format) in ["MM/DD/YYYY", "DD/MM/YYYY", "YYYY/MM/DD"].into_iter().enumerate() {
        let user = app.new_user(json!({ "login": format!("df{i}"), "date_format": format })).await;
        assert_eq!(user["date_format"], format);
    }
    for (i, format) in ["12h", "24h"].into_iter().enumerate() {
        app.new_user(json!({ "login": format!("tf{i}"), "time_format": format })).await;
    }
    for (i, zone) in ["America/Argentina/Buenos_Aires", "Asia/Kolkata", "UTC"].into_iter().enumerate() {
        let user = app.new_user(json!({ "login": format!("tz{i}"), "time_zone": zone })).await;
        assert_eq!(user["time_zone"], zone);
    }
    let user = app
        .new_user(json!({
            "login": "edge",
            "email": "first.last+tag@sub.example.co.uk",
            "phone": "+442071838750",
            "mobile": "+8613800138000",
            "phone_topology": "external_phone",
            "is_end_user": true,
            "is_company_supervisor": true,
        }))
        .await;
    assert_eq!(user["phone"], "+442071838750");
    assert_eq!(user["is_company_supervisor"], true);
    // R40/R11: only an end user can be a company supervisor.
    app.create_user(json!({ "login": "cs", "is_company_supervisor": true, "is_end_user": false }))
        .await
        .problem_on(422, "is_company_supervisor");
}

async fn an_invalid_edit_changes_nothing(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let created = app.create_user(json!({ "login": "fay", "email": "fay@example.com", "first_name": "Fay" })).await;
    let etag = created.etag();
    let id = id_of(&created.json(201));
    let response = app
        .patch_user(id, Some(&etag), json!({ "first_name": "Faye", "email": "broken", "time_zone": "Europe/Berlin" }))
        .await;
    response.problem_on(422, "email");
    assert!(!response.error_fields().contains(&"first_name".to_string()));
    let after = app.get_user(id).await;
    assert_eq!(after.etag(), etag, "a refused edit must not change the version");
    let after = after.json(200);
    assert_eq!(after["first_name"], "Fay");
    assert_eq!(after["time_zone"], Value::Null);
    for (field, value, _) in bad_values() {
        let r = app.patch_user(id, Some(&etag), json!({ field: value })).await;
        assert_eq!(r.status.as_u16(), 422, "PATCH {field} = {value}: {}", r.text());
    }
    assert_eq!(app.get_user(id).await.etag(), etag);
}
