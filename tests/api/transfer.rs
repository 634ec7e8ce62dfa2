//! `roster users export` and `roster users import`, run as the real binary against the test
//! server's database while the server runs; results are checked over HTTP.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::helpers::{Engine, TestApp, id_of, names};

both_engines!(
    export_names_links_and_holds_no_secret,
    import_creates_users_with_links_and_activity,
    import_as_a_user_gives_and_reaches_only_what_they_may,
    bad_rows_are_reported_by_line_and_nothing_is_written,
    export_then_import_into_another_account_gives_equal_users,
    dry_run_checks_and_writes_nothing,
    imported_hashes_sign_in_and_are_upgraded,
    import_refuses_bad_hashes_and_weak_passwords,
);

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("writing the test file");
    path
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The user with this login among `users`.
#[track_caller]
fn user<'a>(users: &'a [Value], login: &str) -> &'a Value {
    users.iter().find(|u| u["login"] == login).unwrap_or_else(|| panic!("no user {login} in {users:#?}"))
}

/// CSV text as one map per row, by header.
fn csv_rows(text: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().expect("a header row").clone();
    reader
        .records()
        .map(|r| headers.iter().map(String::from).zip(r.expect("a CSV record").iter().map(String::from)).collect())
        .collect()
}

async fn export_names_links_and_holds_no_secret(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (desk, skill, group) = (app.desk("Billing").await, app.skill("French").await, app.group("Night shift").await);
    let agent = app.builtin_role("agent").await;
    app.new_user(json!({ "login": "mia", "email": "mia@example.com", "first_name": "Mia", "extension": "201",
        "password": "aimq-secret-123", "roles": [agent], "desks": [desk], "skills": [skill], "groups": [group],
        "permissions": ["activity.view"], "is_agent": true, "time_zone": "Europe/Berlin" }))
        .await;

    let csv = app.roster_ok(&["users", "export"]).await.stdout;
    let rows = csv_rows(&csv);
    assert_eq!(rows.len(), 2, "the admin and mia: {csv}");
    let mia = rows.iter().find(|r| r["login"] == "mia").expect("mia is exported");
    assert_eq!(mia["email"], "mia@example.com");
    assert_eq!(mia["extension"], "201");
    assert_eq!(mia["time_zone"], "Europe/Berlin");
    assert_eq!(mia["is_agent"], "true");
    assert_eq!(mia["status"], "active");
    assert_eq!(mia["roles"], "Agent");
    assert_eq!(mia["desks"], "Billing");
    assert_eq!(mia["skills"], "French");
    assert_eq!(mia["groups"], "Night shift");
    assert_eq!(mia["permissions"], "activity.view");
    let admin = rows.iter().find(|r| r["login"] == app.admin_login).expect("the admin is exported");
    assert_eq!(admin["roles"], "Admin");
    assert!(!mia.contains_key("password") && !mia.contains_key("sip_password"), "{mia:?}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.json");
    let run = app.roster_ok(&["users", "export", "--output", s(&file)]).await;
    assert!(run.stderr.contains("Exported 2 users"), "{}", run.stderr);
    let text = std::fs::read_to_string(&file).unwrap();
    let users: Vec<Value> =
        serde_json::from_str(&text).expect("the export is a JSON array (format from the extension)");
    let mia = user(&users, "mia");
    assert_eq!(mia["roles"], json!(["Agent"]));
    assert_eq!(mia["desks"], json!(["Billing"]));
    assert_eq!(mia["skills"], json!(["French"]));
    assert_eq!(mia["groups"], json!(["Night shift"]));
    assert_eq!(mia["permissions"], json!(["activity.view"]));
    assert_eq!(mia["is_agent"], true);
    assert_eq!(mia["phone"], Value::Null);

    for text in [&csv, &text] {
        assert!(!text.contains("aimq-secret-123") && !text.contains("$argon2"), "a secret in the export: {text}");
        assert!(!text.contains("password_hash") && !text.contains("sip_password"), "{text}");
    }
}

async fn import_creates_users_with_links_and_activity(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.desk("Sales").await;
    app.skill("English").await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "people.csv",
        "login,email,first_name,roles,desks,skills,extension,is_agent,status,password\n\
         ann,ann@example.com,Ann,Agent;supervisor,sales,English,301,true,,nnaq-secret-123\n\
         bob,bob@example.com,Bob,agent,SALES,,302,yes,disabled,\n\
         cy,,,,,,,,,\n",
    );
    let run = app.roster_ok(&["users", "import", s(&file)]).await;
    assert!(run.stdout.contains("Imported 3 users into default."), "{}", run.stdout);
    assert!(run.stdout.contains("2 of them have no password"), "{}", run.stdout);

    let users = app.list_all("limit=100").await;
    assert_eq!(users.len(), 4, "the admin and three imported: {users:#?}");
    let ann = user(&users, "ann");
    assert_eq!(names(ann, "roles"), vec!["Agent", "Supervisor"]);
    assert_eq!(names(ann, "desks"), vec!["Sales"]);
    assert_eq!(names(ann, "skills"), vec!["English"]);
    assert_eq!(ann["email"], "ann@example.com");
    assert_eq!(ann["extension"], "301");
    assert_eq!(ann["is_agent"], true);
    assert_eq!(ann["status"], "active");
    let bob = user(&users, "bob");
    assert_eq!(bob["status"], "disabled");
    assert_eq!(names(bob, "desks"), vec!["Sales"]);
    assert_eq!(bob["is_agent"], true);
    let cy = user(&users, "cy");
    assert_eq!(cy["status"], "active", "new users are active (R8)");
    assert_eq!(cy["receive_email"], true);

    app.login("ann", "nnaq-secret-123").await.expect(200);
    app.login("bob", "ynaq-password-1").await.expect(401);

    let created = app.activity("action=user.created").await;
    let mut imported: Vec<&str> =
        created.iter().filter(|e| e["actor_label"] == "import").map(|e| e["target_label"].as_str().unwrap()).collect();
    imported.sort();
    assert_eq!(imported, vec!["ann", "bob", "cy"], "{created:#?}");
    let ann_event = created.iter().find(|e| e["target_label"] == "ann").unwrap();
    assert_eq!(ann_event["target_id"], id_of(ann));
    assert_eq!(ann_event["actor_id"], Value::Null, "the system acts: {ann_event}");
    assert_eq!(ann_event["changes"]["desks"], json!(["Sales"]), "{ann_event}");
    assert_eq!(ann_event["changes"]["password"], "set", "{ann_event}");
    let summary = app.activity("action=users.imported").await;
    assert_eq!(summary.len(), 1, "{summary:#?}");
    assert_eq!(summary[0]["changes"]["count"], 3, "{}", summary[0]);
    assert_eq!(summary[0]["changes"]["without_password"], 2, "{}", summary[0]);
    let everything = app.activity("limit=100").await;
    assert!(!json!(everything).to_string().contains("nnaq-secret-123"), "a password in the log");
}

async fn bad_rows_are_reported_by_line_and_nothing_is_written(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.desk("Sales").await;
    app.new_user(json!({ "login": "taken", "extension": "500" })).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "bad.csv",
        "login,email,desks,extension\n\
         good,good@example.com,Sales,\n\
         badmail,not-an-email,,\n\
         nodesk,,Nowhere,\n\
         GOOD,,,\n\
         taken,,,\n\
         ext,,,500\n",
    );
    let run = app.roster(&["users", "import", s(&file)]).await;
    assert!(!run.ok, "a file with bad rows must fail: {}", run.stdout);
    for expected in [
        "line 3: email: ",
        "line 4: desks: no desk named \"Nowhere\"",
        "line 5: login: \"good\" is on line 2 already",
        "line 6: login: \"taken\" is already taken",
        "line 7: extension: \"500\" is already taken",
        "5 of 6 rows are not valid; nothing was imported",
    ] {
        assert!(run.stderr.contains(expected), "{expected:?} is not in:\n{}", run.stderr);
    }
    assert!(!run.stderr.contains("line 2:"), "the good row is not reported:\n{}", run.stderr);

    let json_file = write(
        dir.path(),
        "bad.json",
        r#"[{"login": "fine"}, {"login": "x", "email": "nope"}, {"login": "y", "nickname": "z", "is_agent": "maybe"}]"#,
    );
    let run = app.roster(&["users", "import", s(&json_file)]).await;
    assert!(!run.ok);
    for expected in
        ["item 2: email: ", "item 3: nickname: is not a known column", "item 3: is_agent: must be true or false"]
    {
        assert!(run.stderr.contains(expected), "{expected:?} is not in:\n{}", run.stderr);
    }

    let mut logins = app.logins("limit=100").await;
    logins.sort();
    assert_eq!(logins, vec![app.admin_login.clone(), "taken".to_string()], "nothing was written");
    assert!(app.activity("action=users.imported").await.is_empty());
}

/// A user as the API shows it, without what differs between accounts (ids, times).
fn comparable(u: &Value) -> Value {
    let mut u = u.clone();
    let map = u.as_object_mut().unwrap();
    // Times of the copy, and the password's: an export carries no password, so imported
    // users have none until they are given one.
    // Nor an authenticator's key: an imported user with `totp` sets it up at first sign-in.
    for key in ["id", "created_at", "updated_at", "password_changed_at", "totp_enrolled"] {
        map.remove(key);
    }
    for key in ["roles", "groups", "desks", "skills"] {
        map.insert(key.into(), json!(names(&Value::Object(map.clone()), key)));
    }
    u
}

async fn users_of(app: &TestApp, account: &str) -> Vec<Value> {
    let page = app.get(&format!("/api/v1/accounts/{account}/users?limit=100")).await.json(200);
    let mut users: Vec<Value> = page["items"].as_array().unwrap().iter().map(comparable).collect();
    users.sort_by_key(|u| u["login"].as_str().unwrap().to_string());
    users
}

async fn export_then_import_into_another_account_gives_equal_users(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let auditor = json!({ "name": "Auditor", "description": "Reads the log", "permissions": ["activity.view"] });
    let (sales, support) = (app.desk("Sales").await, app.desk("Support; Tier 2").await);
    let (skill, group) = (app.skill("English").await, app.group("Night").await);
    let role = app.create_named("roles", auditor.clone()).await;
    let supervisor = app.builtin_role("supervisor").await;
    app.new_user(json!({ "login": "Ann", "email": "ann@example.com", "first_name": "Ann", "last_name": "Lee",
        "phone": "+4915112345678", "mobile": "+4915112345679", "extension": "301", "sip_username": "ann301",
        "phone_topology": "web_phone", "company": "Acme", "related_contact": "Bob", "external_id": "E-1",
        "time_zone": "Asia/Tokyo", "date_format": "DD/MM/YYYY", "time_format": "24h", "receive_sms": true,
        "is_agent": true, "two_factor_method": "email", "roles": [role, supervisor], "desks": [sales, support],
        "skills": [skill], "groups": [group], "permissions": ["users.view", "calls.make"] }))
        .await;
    app.new_user(json!({ "login": "bob", "status": "disabled", "receive_email": false })).await;
    app.new_user(json!({ "login": "cy", "is_end_user": true, "is_company_supervisor": true, "company": "Initech" }))
        .await;
    // Values a spreadsheet would run as formulas (D9): neutralised in CSV, and back as they were.
    let overflow = app.desk("+Overflow").await;
    let hyperlink = "=HYPERLINK(\"http://evil.example/?x\",\"Open\")";
    app.new_user(json!({ "login": "dee", "first_name": "=1+2", "last_name": "'=quoted", "company": hyperlink,
        "related_contact": "@SUM(A1:A9)", "external_id": "-42", "desks": [overflow] }))
        .await;

    let dir = tempfile::tempdir().unwrap();
    for (format, slug) in [("csv", "branch"), ("json", "branch-two")] {
        app.post("/api/v1/accounts", json!({ "slug": slug, "name": slug })).await.json(201);
        for (kind, name) in [
            ("desks", "sales"),
            ("desks", "Support; Tier 2"),
            ("desks", "+Overflow"),
            ("skills", "English"),
            ("groups", "Night"),
        ] {
            app.post(&format!("/api/v1/accounts/{slug}/{kind}"), json!({ "name": name })).await.json(201);
        }
        app.post(&format!("/api/v1/accounts/{slug}/roles"), auditor.clone()).await.json(201);

        let file = dir.path().join(format!("default.{format}"));
        app.roster_ok(&["users", "export", "--output", s(&file)]).await;
        let text = std::fs::read_to_string(&file).unwrap();
        if format == "csv" {
            let rows = csv_rows(&text);
            for cell in rows.iter().flat_map(|r| r.values()) {
                assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "a cell that runs as a formula: {cell:?}");
            }
            let dee = rows.iter().find(|r| r["login"] == "dee").expect("dee is exported");
            assert_eq!(dee["company"], format!("'{hyperlink}"));
            assert_eq!((dee["first_name"].as_str(), dee["last_name"].as_str()), ("'=1+2", "''=quoted"));
            assert_eq!((dee["related_contact"].as_str(), dee["external_id"].as_str()), ("'@SUM(A1:A9)", "'-42"));
            assert_eq!(dee["desks"], "'+Overflow");
            let ann = rows.iter().find(|r| r["login"] == "Ann").expect("Ann is exported");
            assert_eq!(ann["phone"], "'+4915112345678");
        } else {
            let users: Vec<Value> = serde_json::from_str(&text).unwrap();
            assert_eq!(user(&users, "dee")["company"], hyperlink, "JSON is left as it is");
            assert_eq!(user(&users, "Ann")["phone"], "+4915112345678");
        }
        let run = app.roster_ok(&["users", "import", s(&file), "--account", slug]).await;
        assert!(run.stdout.contains(&format!("Imported 5 users into {slug}.")), "{}", run.stdout);

        let (from, to) = (users_of(&app, "default").await, users_of(&app, slug).await);
        let mut expected = from.clone();
        // Names resolve case-insensitively to the target account's own spelling.
        user_mut(&mut expected, "Ann")["desks"] = json!(["Support; Tier 2", "sales"]);
        assert_eq!(to, expected, "{format}: the imported users equal the exported ones");
    }
}

fn user_mut<'a>(users: &'a mut [Value], login: &str) -> &'a mut Value {
    users.iter_mut().find(|u| u["login"] == login).unwrap()
}

async fn dry_run_checks_and_writes_nothing(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let dir = tempfile::tempdir().unwrap();
    let good =
        write(dir.path(), "good.csv", "login,email,password\ndee,dee@example.com,Quartz-Lantern-Meadow-42!\neve,,\n");
    let run = app.roster_ok(&["users", "import", s(&good), "--dry-run"]).await;
    assert!(run.stdout.contains("All 2 rows are valid. Nothing was written"), "{}", run.stdout);
    assert!(run.stdout.contains("1 of them have no password"), "{}", run.stdout);

    let bad = write(dir.path(), "bad.csv", "login,time_zone\nfay,Mars/Base\n");
    let run = app.roster(&["users", "import", s(&bad), "--dry-run"]).await;
    assert!(!run.ok && run.stderr.contains("line 2: time_zone: "), "{}", run.stderr);

    assert_eq!(app.logins("limit=100").await, vec![app.admin_login.clone()], "a dry run writes nothing");
    assert!(app.activity("action=user.created").await.iter().all(|e| e["actor_label"] != "import"));
    assert!(app.activity("action=users.imported").await.is_empty());
}

/// Made by Python's bcrypt, argon2-cffi and Django for "correct horse battery staple" (the
/// same fixtures as `auth::legacy_hash`'s unit tests).
const LEGACY_PASSWORD: &str = "correct horse battery staple";
const BCRYPT: &str = "$2b$05$I9ZbZhZZQoXSF.29txc6muZTR1o5fRzLPf/wNDjffxU6sqhp8Tr.i";
const ARGON2ID_CHEAP: &str =
    "$argon2id$v=19$m=64,t=1,p=1$SFQ86vFnvDnnqNsNIwGsPQ$VrkFIJY1c5zZcZ7WrPyfgcM4vpaU+nlvwTnpqIA6Pjk";
const DJANGO_ARGON2: &str =
    "argon2$argon2id$v=19$m=102400,t=2,p=8$Y25qdFZLMXVxSFc5OFFmaUtvUWsxcA$8XYLjlDPOOdiVMproWNssDxrS8u+SR4mI7zfAp2eNHQ";

async fn imported_hashes_sign_in_and_are_upgraded(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let dir = tempfile::tempdir().unwrap();
    // argon2's parameters hold commas, so those cells are quoted, as any CSV writer does.
    let text = format!("login,password_hash\nbea,{BCRYPT}\ncal,\"{ARGON2ID_CHEAP}\"\ndee,\"{DJANGO_ARGON2}\"\n");
    let file = write(dir.path(), "from-old-pbx.csv", &text);
    let run = app.roster_ok(&["users", "import", s(&file)]).await;
    assert!(run.stdout.contains("Imported 3 users"), "{}", run.stdout);
    for (login, imported) in [("bea", BCRYPT), ("cal", ARGON2ID_CHEAP), ("dee", DJANGO_ARGON2)] {
        let query = format!("SELECT password_hash FROM users WHERE login = '{login}'");

        assert_eq!(app.sql_text(&query).await, imported, "{login}: kept as it came");
        app.login(login, "not the password").await.expect(401);
        assert_eq!(app.sql_text(&query).await, imported, "{login}: a failed sign-in changes nothing");
        let token = app.login(login, LEGACY_PASSWORD).await.json(200)["token"].as_str().unwrap().to_string();
        app.session(&token).await.expect(200);
        let upgraded = app.sql_text(&query).await;
        assert!(
            upgraded.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{login}: upgraded to Roster's argon2id: {upgraded}"
        );
        app.login(login, LEGACY_PASSWORD).await.expect(200);
        assert_eq!(app.sql_text(&query).await, upgraded, "{login}: an up-to-date hash is left alone");
    }
}

async fn import_refuses_bad_hashes_and_weak_passwords(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let dir = tempfile::tempdir().unwrap();
    let text = "login,password,password_hash\n\
        eve,,md5$abc$def\n\
        fay,fay-is-my-password,\n\
        gus,password1,\n\
        hal,Quartz-Lantern-Meadow-42!,$2b$05$I9ZbZhZZQoXSF.29txc6muZTR1o5fRzLPf/wNDjffxU6sqhp8Tr.i\n";
    let file = write(dir.path(), "bad.csv", text);
    let run = app.roster(&["users", "import", s(&file)]).await;
    assert!(!run.ok, "a file with bad rows imports nothing: {}", run.stdout);
    let report = format!("{}{}", run.stdout, run.stderr);
    for expected in [
        "line 2: password_hash: is not a supported password hash",
        "line 3: password: must not contain your login",
        "line 4: password: is one of the 100,000 most common",
        "line 5: password_hash: give either a password or a password hash",
    ] {
        assert!(report.contains(expected), "the report names {expected:?}:\n{report}");
    }
    assert!(
        app.logins("").await.iter().all(|l| !["eve", "fay", "gus", "hal"].contains(&l.as_str())),
        "nothing imported"
    );
}

/// `--as LOGIN` (D1, D8): the import is what that user could do in the console, row by row.
async fn import_as_a_user_gives_and_reaches_only_what_they_may(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let north = app.desk("North").await;
    app.desk("South").await;
    let lead_role = app
        .create_named("roles", serde_json::json!({ "name": "Lead", "scope": "desks", "permissions": ["users.view", "users.create", "users.edit"] }))
        .await;
    app.user_with_password("lead", "correct-horse-9", serde_json::json!({ "roles": [lead_role], "desks": [north] }))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "team.csv",
        "login,roles,desks,permissions,is_superuser\n\
         t-ok,,North,,\n\
         t-admin,Admin,North,,\n\
         t-nowhere,,,,\n\
         t-south,,North;South,,\n\
         t-perm,,North,users.view,\n\
         t-op,,North,,true\n",
    );
    let run = app.roster(&["users", "import", s(&file), "--as", "lead"]).await;
    assert!(!run.ok, "{}", run.stdout);
    for expected in
        ["line 3: roles:", "line 4: desks:", "line 5: desks:", "line 6: permissions:", "line 7: is_superuser:"]
    {
        assert!(run.stderr.contains(expected), "{expected:?} in:\n{}", run.stderr);
    }
    assert!(!run.stderr.contains("line 2:"), "{}", run.stderr);
    assert!(!app.logins("limit=500").await.iter().any(|l| l.starts_with("t-")), "nothing was imported");

    let good = write(dir.path(), "good.csv", "login,desks\nt-ok,North\n");
    app.roster_ok(&["users", "import", s(&good), "--as", "lead"]).await;
    let created = app.activity("action=user.created&limit=500").await;
    let by: Vec<&str> =
        created.iter().filter(|e| e["target_label"] == "t-ok").map(|e| e["actor_label"].as_str().unwrap()).collect();
    assert_eq!(by, vec!["lead"], "recorded as the lead's: {created:#?}");
    let unknown = app.roster(&["users", "import", s(&good), "--as", "nobody"]).await;
    assert!(!unknown.ok && unknown.stderr.contains("nobody"), "{}", unknown.stderr);
}
