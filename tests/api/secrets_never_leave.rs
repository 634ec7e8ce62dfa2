//! A user's secrets never leave the server: a user with a SIP password, an enrolled
//! authenticator and recovery codes is read through every view that shows users (the API's
//! user, list, PATCH and mass-action answers, both export formats, the console's pages), and
//! none of those bodies holds the SIP password, the authenticator's key in any usual encoding,
//! a recovery code, or the stored (sealed or hashed) form of any of them.
//! (How they are stored: `secrets_at_rest.rs`, `sip.rs`.)

use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};
use totp_rs::Secret;

use crate::helpers::{Console, Engine, STRONG, TestApp};

both_engines!(
    the_api_shows_no_secret_of_a_user,
    the_exports_show_no_secret_of_a_user,
    the_console_shows_no_secret_of_a_user,
);

const LOGIN: &str = "phoebe";
const SIP_PASSWORD: &str = "Sip-Reg1ster-7q";

/// The user and every form of their secrets that must not be shown.
struct Secrets {
    id: i64,
    /// (what it is, the text) for every form that must not appear.
    forbidden: Vec<(String, String)>,
}

impl Secrets {
    /// What of the secrets `body` holds.
    fn found_in(&self, body: &str) -> Vec<&str> {
        self.forbidden
            .iter()
            .filter(|(_, secret)| body.contains(secret.as_str()))
            .map(|(what, _)| what.as_str())
            .collect()
    }

    /// Asserts that `body` (what `view` answered) holds none of the secrets.
    #[track_caller]
    fn absent_from(&self, view: &str, body: &str) {
        assert!(!body.is_empty(), "{view}: an empty body proves nothing");
        let found = self.found_in(body);
        assert!(found.is_empty(), "{view} shows {found:?}:\n{body}");
    }
}

/// A user with an extension and a SIP password, whose first sign-in set up an authenticator
/// (TOTP) and received ten recovery codes.
async fn user_with_secrets(app: &TestApp) -> Secrets {
    let id = app
        .user_with_password(
            LOGIN,
            STRONG,
            json!({ "email": "phoebe@example.com", "first_name": "Phoebe", "extension": "4711", "sip_username": "sip4711",
                "sip_password": SIP_PASSWORD, "two_factor_method": "totp" }),
        )
        .await;
    // The first sign-in asks to set up the authenticator, and hands out the recovery codes.
    app.sign_in_with_second_factor(LOGIN, STRONG).await;
    let phone = app.authenticators.get(LOGIN).expect("the authenticator was set up");
    assert_eq!(phone.recovery_codes.len(), 10, "ten recovery codes");
    let user = app.get_user(id).await.json(200);
    assert_eq!(
        (user["totp_enrolled"].as_bool(), user["has_sip_password"].as_bool()),
        (Some(true), Some(true)),
        "{user}"
    );

    let mut forbidden = vec![("the SIP password".to_string(), SIP_PASSWORD.to_string())];
    // The authenticator's key: base32 as the app shows it (upper and lower case, grouped in
    // fours as the set-up page prints it), and its raw bytes in hex and base64.
    let key = phone.secret.trim_end_matches('=').to_string();
    let raw = Secret::Encoded(phone.secret.clone()).to_bytes().expect("a base32 key");
    let grouped: String =
        key.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join(" ");
    let b64 = base64::engine::general_purpose::STANDARD;
    let b64_url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    for (what, text) in [
        ("the authenticator key (base32)", key.clone()),
        ("the authenticator key (base32, lower case)", key.to_lowercase()),
        ("the authenticator key (base32, grouped)", grouped),
        ("the authenticator key (hex)", hex::encode(&raw)),
        ("the authenticator key (hex, upper case)", hex::encode_upper(&raw)),
        ("the authenticator key (base64)", b64.encode(&raw).trim_end_matches('=').to_string()),
        ("the authenticator key (base64url)", b64_url.encode(&raw)),
    ] {
        forbidden.push((what.to_string(), text));
    }
    // Its first half alone would be a leak too (a key cut for display, say).
    forbidden.push(("half of the authenticator key".to_string(), key[..key.len() / 2].to_string()));
    for code in &phone.recovery_codes {
        let bare: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        forbidden.push(("a recovery code".to_string(), code.clone()));
        forbidden.push(("a recovery code (without its dash)".to_string(), bare.clone()));
        forbidden.push(("a recovery code (lower case)".to_string(), bare.to_lowercase()));
    }
    // What the database holds for them: the sealed SIP password and key, the codes' hashes, the
    // password hash. None of it is for showing either.
    for (what, column) in [
        ("the sealed SIP password", "sip_password"),
        ("the sealed authenticator key", "totp_secret"),
        ("the password hash", "password_hash"),
    ] {
        let stored = app.sql_text(&format!("SELECT {column} FROM users WHERE id = {id}")).await;
        assert!(stored.len() > 20, "{column} is stored: {stored:?}");
        forbidden.push((what.to_string(), stored));
    }
    for hash in code_hashes(app, id).await {
        forbidden.push(("a stored recovery-code hash".to_string(), hash));
    }
    Secrets { id, forbidden }
}

async fn code_hashes(app: &TestApp, user: i64) -> Vec<String> {
    let hashes = app.recovery_code_hashes(user).await;
    assert_eq!(hashes.len(), 10, "ten codes are stored");
    hashes
}

async fn the_api_shows_no_secret_of_a_user(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let secrets = user_with_secrets(&app).await;
    let id = secrets.id;
    let desk = app.desk("Front desk").await;

    // The user, and the lists that hold them (all of them, a search, a filter).
    // The check finds a secret where one is rightly shown: the provisioning route (R6).
    let provisioning = app.get(&app.acct(&format!("users/{id}/sip-credentials"))).await;
    assert_eq!(secrets.found_in(&provisioning.json(200).to_string()), vec!["the SIP password"]);

    let user = app.get_user(id).await;
    user.expect(200);
    secrets.absent_from("GET the user", &user.text());
    for query in ["limit=500", "q=phoebe", "status=active&limit=500"] {
        let list = app.list_users(query).await;
        assert!(
            list.json(200)["items"].as_array().unwrap().iter().any(|u| u["id"] == id),
            "{query}: the user is listed"
        );
        secrets.absent_from(&format!("GET users?{query}"), &list.text());
    }
    // A PATCH answers with the user.
    let etag = user.etag();
    let patched = app.patch_user(id, Some(&etag), json!({ "first_name": "Phoebe Jo" })).await;
    assert_eq!(patched.json(200)["first_name"], "Phoebe Jo");
    secrets.absent_from("PATCH the user", &patched.text());
    // A mass action's result, its dry run and what it applied.
    for dry_run in [true, false] {
        let body = json!({ "action": "assign_desks", "target": { "ids": [id] }, "values": [desk], "dry_run": dry_run });
        let result = app.bulk(body).await;
        assert_eq!(result.json(200)["changed"], 1, "{}", result.text());
        secrets.absent_from(&format!("a mass action (dry run: {dry_run})"), &result.text());
    }
    // The user's security overrides, sessions and activity (what was set is recorded, not its value).
    let security = app.get(&format!("{}/security", app.user_path(id))).await;
    security.expect(200);
    secrets.absent_from("GET the user's security", &security.text());
    let sessions = app.get(&app.acct(&format!("users/{id}/sessions"))).await;
    sessions.expect(200);
    secrets.absent_from("GET the user's sessions", &sessions.text());
    let activity = app.get(&format!("{}?user={id}&limit=500", app.acct("activity"))).await;
    assert!(!activity.json(200)["items"].as_array().unwrap().is_empty(), "the user's events are listed");
    secrets.absent_from("GET the user's activity", &activity.text());
    let everything = app.get(&format!("{}?limit=500", app.acct("activity"))).await;
    everything.expect(200);
    secrets.absent_from("GET the account's activity", &everything.text());

    // What the user reads about themselves.
    let token = app.sign_in_with_second_factor(LOGIN, STRONG).await;
    for path in ["/api/v1/session", "/api/v1/me/second-factor", "/api/v1/me/sessions"] {
        let mine = app.get_as(&token, path).await;
        mine.expect(200);
        secrets.absent_from(&format!("GET {path} as the user"), &mine.text());
    }
    assert_eq!(app.get_as(&token, "/api/v1/me/second-factor").await.json(200)["recovery_codes_left"], 10);
}

async fn the_exports_show_no_secret_of_a_user(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let secrets = user_with_secrets(&app).await;

    let csv = app.roster_ok(&["users", "export"]).await.stdout;
    assert!(csv.lines().any(|l| l.starts_with("phoebe,phoebe@example.com,")), "the user is exported as CSV:\n{csv}");
    secrets.absent_from("the CSV export", &csv);

    let json_out = app.roster_ok(&["users", "export", "--format", "json"]).await.stdout;
    let users: Vec<Value> = serde_json::from_str(&json_out).expect("a JSON array");
    let phoebe = users.iter().find(|u| u["login"] == LOGIN).expect("the user is exported as JSON");
    assert_eq!(
        (phoebe["extension"].as_str(), phoebe["two_factor_method"].as_str()),
        (Some("4711"), Some("totp")),
        "{phoebe}"
    );
    secrets.absent_from("the JSON export", &json_out);

    // The same written to files, the format taken from the extension.
    let dir = tempfile::tempdir().unwrap();
    for name in ["users.csv", "users.json"] {
        let file = dir.path().join(name);
        app.roster_ok(&["users", "export", "--output", file.to_str().unwrap()]).await;
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains("phoebe@example.com"), "{name}: the user is exported:\n{text}");
        secrets.absent_from(&format!("the export to {name}"), &text);
    }
}

async fn the_console_shows_no_secret_of_a_user(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let secrets = user_with_secrets(&app).await;
    let id = secrets.id;
    let desk = app.desk("Front desk").await;
    let admin = Console::sign_in_with_second_factor(&app, &app.admin_login, &app.admin_password).await;

    // The Users Manager (the list, a search), and every page of the user.
    for path in [
        "/console/users".to_string(),
        "/console/users?q=phoebe".to_string(),
        format!("/console/users/{id}/edit"),
        format!("/console/users/{id}/security"),
        format!("/console/users/{id}/two-factor?change=reset"),
        format!("/console/users/{id}/password"),
        format!("/console/users/{id}/sessions"),
        format!("/console/users/{id}/activity"),
        format!("/console/users/{id}/access-rules"),
        format!("/console/users/{id}/avatar"),
        format!("/console/users/{id}/delete"),
        "/console/activity".to_string(),
    ] {
        let page = admin.get(&path).await;
        page.expect(200);
        page.has("phoebe");
        secrets.absent_from(&path, &page.body);
    }
    // The edit form shows that a SIP password is set, not what it is.
    admin.get(&format!("/console/users/{id}/edit")).await.has("name=\"has_sip_password\"").lacks(SIP_PASSWORD);
    // A mass action in the console: its preview, and the table it sends back once applied.
    for mode in ["preview", "apply"] {
        let (id, desk) = (id.to_string(), desk.to_string());
        let form = [
            ("action", "assign_desks"),
            ("scope", "selected"),
            ("ids", id.as_str()),
            ("values", desk.as_str()),
            ("mode", mode),
        ];
        let page = admin.post("/console/users/bulk", &form).await;
        page.expect(200);
        if mode == "apply" {
            page.has("1 user added to desk Front desk.").has("phoebe");
        }
        secrets.absent_from(&format!("the console's mass action ({mode})"), &page.body);
    }

    // The user's own pages (My Account, its second factor) show the key and the codes only
    // when they are made, never afterwards.
    let own = Console::sign_in_with_second_factor(&app, LOGIN, STRONG).await;
    for path in ["/console/me", "/console/me/second-factor"] {
        let page = own.get(path).await;
        page.expect(200);
        secrets.absent_from(&format!("{path} as the user"), &page.body);
    }
    // A page the user may not see shows nothing of theirs either.
    let refused = app.send(app.anon(Method::GET, &format!("/console/users/{id}/edit"))).await;
    secrets.absent_from("the user page without a session", &refused.text());
}
