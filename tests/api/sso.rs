//! Single sign-on (issue 15, R39) against a real OpenID Connect provider: panva's
//! `oidc-provider` (helpers/oidc.rs), driven as a browser without JavaScript would. Each refusal
//! is a page that names its reason, and an `auth.sso_refused` record.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::oidc::{CLIENT_ID, CLIENT_SECRET, TestProvider, browser, location, to_callback};
use crate::helpers::{Engine, TestApp, id_of, merge};

both_engines!(
    a_person_signs_in_through_the_provider_and_stays_linked,
    the_providers_answer_is_verified_in_full,
    whom_the_provider_vouches_for_must_be_an_active_user_here,
    a_user_is_made_at_the_first_sign_in_when_the_provider_allows,
    admins_take_rosters_second_factor_unless_the_provider_is_trusted,
    providers_are_managed_by_admins_and_keep_their_secret,
    password_sign_in_is_turned_off_keeping_a_break_glass_admin,
    one_session_lockout_and_access_rules_hold_for_single_sign_on,
);

pub(crate) struct Sso {
    pub provider: TestProvider,
    pub id: i64,
}

pub(crate) fn person(email: &str) -> Value {
    json!({ "email": email, "email_verified": true, "given_name": "Alice", "family_name": "Liddell" })
}

/// A provider process that knows `users`, added to the first account with `extra` settings.
pub(crate) async fn provider(app: &TestApp, users: Value, extra: Value) -> Sso {
    let provider = TestProvider::start(&app.url("/sso/callback"), users).await;
    let mut body = json!({
        "label": "Acme ID", "issuer": provider.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
    });
    merge(&mut body, extra);
    let made = app.post(&app.acct("identity-providers"), body).await.json(201);
    Sso { id: id_of(&made), provider }
}

/// What Roster answered at the end of a sign-in through the provider.
struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
    browser: reqwest::Client,
}

impl Answer {
    /// Refused: the page names the reason.
    fn refused(&self, reason: &str) {
        assert!(
            matches!(self.status, 403 | 404 | 409 | 502),
            "expected a refusal ({reason}), got {} {}",
            self.status,
            self.body
        );
        assert!(self.body.contains(&format!("<code>{reason}</code>")), "expected {reason}: {}", self.body);
    }

    /// Signed in: off to the console with a session.
    async fn signed_in(&self, app: &TestApp) -> String {
        assert_eq!(
            (self.status, self.location.as_deref()),
            (303, Some(app.url("/console/users").as_str())),
            "{}",
            self.body
        );
        let me = self.browser.get(app.url("/console/me")).send().await.unwrap();
        assert_eq!(me.status().as_u16(), 200);
        me.text().await.unwrap()
    }
}

async fn answer(browser: reqwest::Client, app: &TestApp, url: &str) -> Answer {
    let r = browser.get(url).send().await.expect("Roster's callback");
    let status = r.status().as_u16();
    let location = location(&r, &app.base);
    let body = r.text().await.unwrap_or_default();
    Answer { status, location, body, browser }
}

/// A whole sign-in through the provider as `subject`, in a new browser.
async fn sign_in(app: &TestApp, sso: &Sso, subject: &str) -> Answer {
    let b = browser();
    let start = format!("/sso/{}/{}", app.account, sso.id);
    let callback = to_callback(&b, &app.base, &start, &sso.provider, subject).await;
    answer(b, app, &callback).await
}

async fn last_refusal(app: &TestApp) -> Value {
    app.activity("action=auth.sso_refused").await.into_iter().next().expect("an auth.sso_refused record")
}

async fn a_person_signs_in_through_the_provider_and_stays_linked(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let alice = app.user_with_password("alice", "correct-horse-9", json!({ "email": "Alice@Example.com" })).await;
    app.user_with_password("bob", "correct-horse-9", json!({ "email": "bob@example.com" })).await;
    let sso = provider(&app, json!({ "a-1": person("alice@example.com") }), json!({})).await;

    // The login page offers the account's provider.
    let page = app.anon(Method::GET, "/login?account=default").send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains(&format!("href=\"/sso/default/{}\"", sso.id)) && page.contains("Sign in with Acme ID"),
        "{page}"
    );

    // The first sign-in finds Alice by her verified email (case aside) and links her.
    let me = sign_in(&app, &sso, "a-1").await.signed_in(&app).await;
    assert!(me.contains("alice"), "{me}");
    let linked = app.activity("action=auth.sso_linked").await;
    assert_eq!((linked.len(), linked[0]["target_id"].as_i64()), (1, Some(alice)), "{linked:?}");
    let signed = app.activity("action=auth.sign_in").await;
    assert_eq!(signed[0]["changes"]["method"], "sso", "{}", signed[0]);
    let links = app.get(&app.acct(&format!("users/{alice}/identities"))).await.json(200);
    assert_eq!(links[0]["subject"], "a-1");
    assert_eq!(links[0]["issuer"], sso.provider.issuer.as_str());
    assert_eq!(links[0]["provider"], "Acme ID");

    // Her email changes at the provider to Bob's: the link still says Alice.
    sso.provider.add_users(json!({ "a-1": person("bob@example.com") })).await;
    let me = sign_in(&app, &sso, "a-1").await.signed_in(&app).await;
    assert!(me.contains("alice") && !me.contains(">bob<"), "{me}");

    // Unlinked by an admin (recorded), the next sign-in matches by email again: now Bob, who
    // has no link at this provider.
    let link = links[0]["id"].as_i64().unwrap();
    app.delete(&app.acct(&format!("users/{alice}/identities/{link}"))).await.expect(204);
    assert_eq!(app.activity("action=auth.sso_unlinked").await[0]["changes"]["subject"], "a-1");
    assert_eq!(app.get(&app.acct(&format!("users/{alice}/identities"))).await.json(200), json!([]));
    let me = sign_in(&app, &sso, "a-1").await.signed_in(&app).await;
    assert!(me.contains("bob"), "{me}");
}

async fn the_providers_answer_is_verified_in_full(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.user_with_password("alice", "correct-horse-9", json!({ "email": "alice@example.com" })).await;
    let sso = provider(&app, json!({ "a-1": person("alice@example.com") }), json!({})).await;
    let start = format!("/sso/{}/{}", app.account, sso.id);

    // A tampered state finds no sign-in; the real one still works once, never twice.
    let b = browser();
    let callback = to_callback(&b, &app.base, &start, &sso.provider, "a-1").await;
    let tampered = callback.replace("state=", "state=x");
    answer(b.clone(), &app, &tampered).await.refused("state_invalid");
    answer(b.clone(), &app, &callback).await.signed_in(&app).await;
    answer(b, &app, &callback).await.refused("state_invalid");

    // Another browser cannot finish a sign-in this one started (login CSRF).
    let b = browser();
    let callback = to_callback(&b, &app.base, &start, &sso.provider, "a-1").await;
    answer(browser(), &app, &callback).await.refused("other_browser");

    // ID tokens changed after the provider signed them, or signed by another key.
    for (mode, reason) in [
        ("wrong_nonce", "id_token_invalid"),
        ("replay", "id_token_invalid"),
        ("expired", "id_token_invalid"),
        ("wrong_key", "id_token_invalid"),
        ("wrong_audience", "id_token_invalid"),
        ("wrong_issuer", "id_token_invalid"),
    ] {
        sso.provider.spoil_next_token(mode).await;
        sign_in(&app, &sso, "a-1").await.refused(reason);
        let record = last_refusal(&app).await;
        assert_eq!(record["changes"]["reason"], reason, "{mode}: {record}");
    }

    // The provider rotates its keys: Roster fetches the new ones and goes on.
    sso.provider.rotate_keys().await;
    sign_in(&app, &sso, "a-1").await.signed_in(&app).await;
    // The provider refuses: its error is shown.
    let b = browser();
    let callback = to_callback(&b, &app.base, &start, &sso.provider, "a-1").await;
    let state = callback.split("state=").nth(1).unwrap().split('&').next().unwrap().to_string();
    let denied = format!("{}?error=access_denied&error_description=Not+today&state={state}", app.url("/sso/callback"));
    let a = answer(b, &app, &denied).await;
    a.refused("provider_error");
    assert!(a.body.contains("Not today"), "{}", a.body);
}

async fn whom_the_provider_vouches_for_must_be_an_active_user_here(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.user_with_password("alice", "correct-horse-9", json!({ "email": "alice@example.com" })).await;
    let hal = app.user_with_password("hal", "correct-horse-9", json!({ "email": "hal@example.com" })).await;
    app.post("/api/v1/accounts", json!({ "slug": "initech", "name": "Initech" })).await.expect(201);
    app.post("/api/v1/accounts/initech/users", json!({ "login": "milton", "email": "milton@initech.com" }))
        .await
        .expect(201);
    let users = json!({
        "unverified": { "email": "alice@example.com", "email_verified": false },
        "entra-unverified": { "email": "alice@example.com", "xms_edov": false },
        "milton": person("milton@initech.com"),
        "outsider": person("alice@elsewhere.org"),
        "hal": person("hal@example.com"),
        "alice": person("alice@example.com"),
    });
    let sso = provider(&app, users, json!({ "allowed_domains": ["example.com", "initech.com"] })).await;

    sign_in(&app, &sso, "unverified").await.refused("email_unverified");
    sign_in(&app, &sso, "entra-unverified").await.refused("email_unverified");
    // Another account's user is no one here (and this provider makes no users).
    sign_in(&app, &sso, "milton").await.refused("no_user");
    sign_in(&app, &sso, "outsider").await.refused("domain_not_allowed");
    app.update_user(hal, json!({ "status": "disabled" })).await;
    sign_in(&app, &sso, "hal").await.refused("user_disabled");
    let record = last_refusal(&app).await;
    assert_eq!(
        (record["target_id"].as_i64(), record["changes"]["email"].as_str()),
        (Some(hal), Some("hal@example.com"))
    );

    // Entra ID's way of saying the address is verified (`xms_edov`, no `email_verified`).
    sso.provider.add_users(json!({ "entra": { "email": "alice@example.com", "xms_edov": true } })).await;
    sign_in(&app, &sso, "entra").await.signed_in(&app).await;

    // A disabled account signs no one in, linked or not (tried on a second account: the first
    // holds the platform operator).
    let initech = TestProvider::start(&app.url("/sso/callback"), json!({ "m": person("milton@initech.com") })).await;
    let body = json!({ "label": "Initech ID", "issuer": initech.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET });
    let made = app.post("/api/v1/accounts/initech/identity-providers", body).await.json(201);
    let initech = Sso { id: id_of(&made), provider: initech };
    let b = browser();
    let callback = to_callback(&b, &app.base, &format!("/sso/initech/{}", initech.id), &initech.provider, "m").await;
    answer(b, &app, &callback).await.signed_in(&app).await;
    let etag = app.get("/api/v1/accounts/initech").await.etag();
    let disable = app.req(Method::PATCH, "/api/v1/accounts/initech").header("if-match", etag);
    app.send(disable.json(&json!({ "enabled": false }))).await.expect(200);
    let b = browser();
    let r = b.get(app.url(&format!("/sso/initech/{}", initech.id))).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(r.text().await.unwrap().contains("<code>account_disabled</code>"));
}

async fn a_user_is_made_at_the_first_sign_in_when_the_provider_allows(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.post("/api/v1/accounts", json!({ "slug": "initech", "name": "Initech", "seat_limit": 2 })).await.expect(201);
    let agent = app.builtin_role_in(&app.token, "initech", "agent").await;
    let desk = id_of(&app.post("/api/v1/accounts/initech/desks", json!({ "name": "Front desk" })).await.json(201));
    let users = json!({ "n-1": person("new.person@initech.com"), "n-2": person("second@initech.com"), "n-3": person("third@initech.com") });
    let provider_process = TestProvider::start(&app.url("/sso/callback"), users).await;
    let body = json!({
        "label": "Initech ID", "issuer": provider_process.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "create_users": true, "new_user_roles": [agent], "new_user_desks": [desk], "allowed_domains": ["initech.com"],
    });
    let made = app.post("/api/v1/accounts/initech/identity-providers", body).await.json(201);
    let sso = Sso { id: id_of(&made), provider: provider_process };
    let through = |subject: &'static str| {
        let (app, sso) = (&app, &sso);
        async move {
            let b = browser();
            let callback =
                to_callback(&b, &app.base, &format!("/sso/initech/{}", sso.id), &sso.provider, subject).await;
            answer(b, app, &callback).await
        }
    };

    let me = through("n-1").await.signed_in(&app).await;
    assert!(me.contains("new.person"), "{me}");
    let list = app.get("/api/v1/accounts/initech/users?q=new.person").await.json(200);
    let made = &list["items"][0];
    assert_eq!((made["login"].as_str(), made["email"].as_str()), (Some("new.person"), Some("new.person@initech.com")));
    assert_eq!((made["first_name"].as_str(), made["last_name"].as_str()), (Some("Alice"), Some("Liddell")));
    assert_eq!(made["roles"][0]["id"].as_i64(), Some(agent), "{made}");
    assert_eq!(made["desks"][0]["id"].as_i64(), Some(desk), "{made}");
    let created = app.get("/api/v1/accounts/initech/activity?action=auth.sso_user_created").await.json(200);
    assert_eq!(created["items"][0]["actor_label"], "new.person", "{created}");
    let recorded = app.get("/api/v1/accounts/initech/activity?action=user.created").await.json(200);
    assert_eq!(recorded["items"][0]["actor_label"], "sso: Initech ID", "{recorded}");

    // R20: the account's seats bound it as any creation.
    through("n-2").await.signed_in(&app).await;
    through("n-3").await.refused("seat_limit");
    let users = app.get("/api/v1/accounts/initech/users").await.json(200);
    assert_eq!(users["items"].as_array().unwrap().len(), 2, "{users}");
}

async fn admins_take_rosters_second_factor_unless_the_provider_is_trusted(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (admin, _) = app.admin_with_second_factor("ada").await;
    app.update_user(admin, json!({ "email": "ada@example.com" })).await;
    let users = json!({ "ada": { "email": "ada@example.com", "email_verified": true, "amr": ["pwd", "mfa"] } });
    let sso = provider(&app, users, json!({})).await;

    // Roster's own second factor, as after a password: the code page, no session yet.
    let a = sign_in(&app, &sso, "ada").await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("name=\"challenge\"") && a.body.contains("code"), "{}", a.body);
    assert!(a.browser.get(app.url("/console/me")).send().await.unwrap().status().as_u16() != 200);

    // The account trusts the provider's second factor (a risk, said so): signed in at once.
    let path = app.acct(&format!("identity-providers/{}", sso.id));
    let etag = app.get(&path).await.etag();
    let trusted = app
        .send(app.req(Method::PATCH, &path).header("if-match", etag).json(&json!({ "trust_second_factor": true })))
        .await
        .json(200);
    assert!(trusted["risks"][0].as_str().unwrap().contains("second factor"), "{trusted}");
    sign_in(&app, &sso, "ada").await.signed_in(&app).await;
    // Without a second factor in `amr`, trust changes nothing.
    sso.provider
        .add_users(json!({ "ada": { "email": "ada@example.com", "email_verified": true, "amr": ["pwd"] } }))
        .await;
    let a = sign_in(&app, &sso, "ada").await;
    assert_eq!(a.status, 200, "{}", a.body);
}

async fn providers_are_managed_by_admins_and_keep_their_secret(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let sso = provider(&app, json!({}), json!({ "scopes": ["profile", "groups"] })).await;
    let path = app.acct(&format!("identity-providers/{}", sso.id));
    let got = app.get(&path).await;
    let view = got.json(200);
    assert_eq!(view["scopes"], json!(["openid", "email", "profile", "groups"]));
    assert_eq!(view["redirect_uri"], app.url("/sso/callback"));
    assert_eq!(view["client_secret_set"], true);
    assert!(!view.to_string().contains(CLIENT_SECRET), "the secret is never shown: {view}");
    let created = app.activity("action=identity_provider.created").await;
    assert!(!created[0].to_string().contains(CLIENT_SECRET), "nor recorded: {}", created[0]);

    // Settings.manage alone is not enough: a provider signs in as anyone, admins included.
    let (_, _, manager) = app.user_with_permissions("manager", &["settings.manage", "settings.view"]).await;
    let body = json!({ "label": "Mine", "issuer": sso.provider.issuer, "client_id": "x", "client_secret": "y" });
    app.post_as(&manager, &app.acct("identity-providers"), body).await.problem(403);
    app.get_as(&manager, &path).await.expect(200);
    let etag = app.get(&path).await.etag();
    let patch = app.req_as(&manager, Method::PATCH, &path).header("if-match", &etag);
    app.send(patch.json(&json!({ "allow_unverified_email": true }))).await.problem(403);

    // Bad input: each field named; an issuer without a configuration is told at once.
    let bad =
        json!({ "label": "", "issuer": "ftp://example.com", "client_id": "a b", "allowed_domains": ["not a domain"] });
    let problem = app.post(&app.acct("identity-providers"), bad).await.problem(422);
    for field in ["label", "issuer", "client_id", "client_secret", "allowed_domains"] {
        assert!(problem.to_string().contains(&format!("\"{field}\"")), "{field}: {problem}");
    }
    let nowhere =
        json!({ "label": "Nowhere", "issuer": "http://127.0.0.1:9/realms/x", "client_id": "x", "client_secret": "y" });
    app.post(&app.acct("identity-providers"), nowhere).await.problem_field(422, "issuer", "discovery_failed");
    // A label taken in the account: 409 naming it.
    let twin = json!({ "label": "acme id", "issuer": sso.provider.issuer, "client_id": "x", "client_secret": "y" });
    app.post(&app.acct("identity-providers"), twin).await.problem_field(409, "label", "taken");
    let unknown_role = json!({ "new_user_roles": [987654] });
    let patch = app.req(Method::PATCH, &path).header("if-match", &etag);
    app.send(patch.json(&unknown_role)).await.problem_field(422, "new_user_roles", "unknown");

    // A stale version is refused; a new secret is taken and still never shown.
    let patch = app.req(Method::PATCH, &path).header("if-match", &etag);
    let renamed = app.send(patch.json(&json!({ "label": "Acme SSO", "client_secret": "another-secret" }))).await;
    let new_etag = renamed.etag();
    assert_eq!(renamed.json(200)["label"], "Acme SSO");
    let stale = app.req(Method::PATCH, &path).header("if-match", &etag);
    app.send(stale.json(&json!({ "label": "Lost" }))).await.problem(412);
    let updated = app.activity("action=identity_provider.updated").await;
    assert_eq!(updated[0]["changes"]["client_secret"], "changed");
    assert!(!updated[0].to_string().contains("another-secret"));
    assert_ne!(new_etag, etag);

    // Deleted: gone from the login page.
    app.delete(&path).await.expect(204);
    let page = app.anon(Method::GET, "/login?account=default").send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("Sign in with"), "{page}");
    app.get(&path).await.problem(404);
}

async fn security(app: &TestApp, id: i64, body: Value) -> crate::helpers::Resp {
    let path = format!("{}/security", app.user_path(id));
    let etag = app.get(&path).await.etag();
    app.send(app.req(Method::PUT, &path).header("if-match", etag).json(&body)).await
}

async fn account_password_sign_in(app: &TestApp, on: bool) -> crate::helpers::Resp {
    let path = format!("/api/v1/accounts/{}", app.account);
    let etag = app.get(&path).await.etag();
    app.send(app.req(Method::PATCH, &path).header("if-match", etag).json(&json!({ "password_sign_in": on }))).await
}

async fn password_sign_in_is_turned_off_keeping_a_break_glass_admin(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (ada, _) = app.admin_with_second_factor("ada").await;
    let alice = app.user_with_password("alice", "correct-horse-9", json!({ "email": "alice@example.com" })).await;
    let bob = app.user_with_password("bob", "correct-horse-9", json!({})).await;

    // Not without another way in: an identity provider, and an admin who keeps a password.
    account_password_sign_in(&app, false).await.problem_field(409, "password_sign_in", "no_identity_provider");
    let sso = provider(&app, json!({ "a-1": person("alice@example.com") }), json!({})).await;
    account_password_sign_in(&app, false).await.problem(409);
    security(&app, ada, json!({ "password_sign_in": "kept" })).await.expect(200);
    let account = account_password_sign_in(&app, false).await.json(200);
    assert_eq!(account["password_sign_in"], false);

    // Alice signs in through the provider only; the break-glass admin still has her password.
    let refused = app.login("alice", "correct-horse-9").await.problem(403);
    assert!(refused["detail"].as_str().unwrap().contains("single sign-on"), "{refused}");
    let record = app.activity("action=auth.sign_in_refused").await;
    assert_eq!(
        (record[0]["target_id"].as_i64(), record[0]["changes"]["reason"].as_str()),
        (Some(alice), Some("password_sign_in_off"))
    );
    // A wrong password is refused as any wrong password: nothing is said about the setting.
    let wrong = app.login("alice", "not-her-password").await.problem(401);
    assert!(!wrong.to_string().contains("single sign-on"), "{wrong}");
    app.sign_in_with_second_factor("ada", "correct-horse-9").await;
    sign_in(&app, &sso, "a-1").await.signed_in(&app).await;
    // The console's sign-in says where to go instead, with the provider's button.
    let form = [("account", "default"), ("login", "alice"), ("password", "correct-horse-9")];
    let page = app.anon(Method::POST, "/login").form(&form).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 403);
    let page = page.text().await.unwrap();
    assert!(page.contains("single sign-on") && page.contains("Sign in with Acme ID"), "{page}");

    // D4: the last admin keeping a password keeps it.
    security(&app, ada, json!({ "password_sign_in": "account" })).await.problem(409);

    // Per user: the account allows passwords again, Bob alone must use the provider.
    account_password_sign_in(&app, true).await.expect(200);
    security(&app, bob, json!({ "password_sign_in": "off" })).await.expect(200);
    app.login("bob", "correct-horse-9").await.problem(403);
    app.sign_in("alice", "correct-horse-9").await;
    let changed = app.activity("action=user.security_changed").await;
    assert_eq!(changed[0]["changes"]["password_sign_in"], json!({ "from": "account", "to": "off" }), "{}", changed[0]);
}

async fn one_session_lockout_and_access_rules_hold_for_single_sign_on(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let alice = app.user_with_password("alice", "correct-horse-9", json!({ "email": "alice@example.com" })).await;
    let sso = provider(&app, json!({ "a-1": person("alice@example.com") }), json!({})).await;

    // R33: one session per user. A second sign-in is refused with an offer to take over, which
    // ends the first session.
    app.set_security(|s| s["sessions"]["one_session_per_user"] = json!(true)).await;
    let first = sign_in(&app, &sso, "a-1").await;
    first.signed_in(&app).await;
    let second = sign_in(&app, &sso, "a-1").await;
    second.refused("session_active");
    let take_over = format!("/sso/{}/{}", app.account, sso.id);
    assert!(second.body.contains(&format!("action=\"{take_over}\"")), "{}", second.body);
    // A form of Roster's page only: a post from another site is refused.
    let elsewhere =
        second.browser.post(app.url(&take_over)).header("origin", "https://evil.example").form(&[("take_over", "1")]);
    let refused = elsewhere.send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    assert!(refused.text().await.unwrap().contains("<code>cross_site</code>"));
    let posted = second.browser.post(app.url(&take_over)).form(&[("take_over", "1")]).send().await.unwrap();
    let at_provider = location(&posted, &app.base).expect("off to the provider");
    let callback = to_callback(&second.browser, &app.base, &at_provider, &sso.provider, "a-1").await;
    answer(second.browser.clone(), &app, &callback).await.signed_in(&app).await;
    let old = first.browser.get(app.url("/console/me")).send().await.unwrap();
    assert_ne!(old.status().as_u16(), 200, "the first session ended");
    assert_eq!(app.activity("action=auth.session_taken_over").await.len(), 1);
    app.set_security(|s| s["sessions"]["one_session_per_user"] = json!(false)).await;

    // A user locked after failed passwords is not let in by the provider either.
    app.set_security(|s| s["lockout"]["max_failures"] = json!(3)).await;
    for _ in 0..3 {
        app.login("alice", "wrong-password-1").await.problem(401);
    }
    sign_in(&app, &sso, "a-1").await.refused("locked");
    app.post(&format!("{}/unlock", app.user_path(alice)), json!({})).await.expect(204);

    // R35: the user's own access rules, as at a password sign-in (recorded there).
    let path = format!("{}/access-rules", app.user_path(alice));
    let etag = app.get(&path).await.etag();
    let rules = json!({ "mode": "extend", "rules": [{ "action": "deny", "value": "127.0.0.1" }] });
    app.send(app.req(Method::PUT, &path).header("if-match", etag).json(&rules)).await.expect(200);
    sign_in(&app, &sso, "a-1").await.refused("address_denied");
    let failed = app.activity("action=auth.sign_in_failed").await;
    assert_eq!(failed[0]["changes"]["reason"], "address_denied", "{}", failed[0]);
}
