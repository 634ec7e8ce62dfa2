//! Single sign-on in the console (issue 15, R39): Settings → Single sign-on, where admins add,
//! change and delete the account's identity providers (against a real provider, so that
//! discovery succeeds) and everyone with settings.view reads them; and a user's linked
//! identities on their page, unlinked from there. The client secret appears in no page.

use serde_json::{Value, json};

use crate::helpers::oidc::{CLIENT_ID, CLIENT_SECRET, TestProvider, browser, to_callback};
use crate::helpers::{Console, Engine, STRONG, TestApp, id_of};

both_engines!(
    admins_manage_identity_providers_in_the_console,
    a_users_linked_identity_is_shown_and_unlinked_on_their_page,
    password_sign_in_is_turned_off_on_the_single_sign_on_page,
);

const LIST: &str = "/console/settings/sso";
/// A secret given on edit, which must not show either.
const NEW_SECRET: &str = "replacement-client-secret-9876";

async fn the_only_provider(app: &TestApp) -> Value {
    let list = app.get(&app.acct("identity-providers")).await.json(200);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    list[0].clone()
}

async fn admins_manage_identity_providers_in_the_console(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let provider = TestProvider::start(&app.url("/sso/callback"), json!({})).await;
    let agent = app.builtin_role("agent").await.to_string();
    let desk = app.desk("Front desk").await.to_string();
    let admin_role = app.builtin_role("admin").await;
    app.user_with_password("local", STRONG, json!({ "roles": [admin_role] })).await;
    let admin = Console::sign_in_with_second_factor(&app, "local", STRONG).await;
    let redirect_uri = app.url("/sso/callback");
    let mut pages = Vec::new();

    // The settings header leads there; no provider yet, and the redirect URI to register.
    admin.get("/console/settings/security").await.expect(200).has("href=\"/console/settings/sso\"");
    let empty = admin.get(LIST).await;
    empty.expect(200).has("No identity providers").has(&format!("href=\"{LIST}/new\""));
    assert_eq!(empty.text_of("redirect-uri"), redirect_uri);
    let new = admin.get(&format!("{LIST}/new")).await;
    new.expect(200)
        .has("type=\"password\"")
        .has(&format!("name=\"new_user_roles\" value=\"{agent}\""))
        .has(&format!("name=\"new_user_desks\" value=\"{desk}\""));
    assert_eq!(new.text_of("redirect-uri"), redirect_uri);

    // Refusals come back in the form, each next to its field: the secret is required when adding.
    let missing = admin
        .post(
            &format!("{LIST}/new"),
            &[("label", "Acme ID"), ("issuer", &provider.issuer), ("client_id", CLIENT_ID), ("client_secret", "")],
        )
        .await;
    missing.expect(422).has("id=\"f-client_secret-error\"");
    let bad = admin
        .post(
            &format!("{LIST}/new"),
            &[("label", ""), ("issuer", "ftp://example.com"), ("client_id", "a b"), ("client_secret", CLIENT_SECRET)],
        )
        .await;
    bad.expect(422).has("id=\"f-label-error\"").has("id=\"f-issuer-error\"").has("id=\"f-client_id-error\"");
    bad.lacks(CLIENT_SECRET);
    pages.push(bad.body.clone());

    // Added: discovered from the real provider, with what the form chose.
    // As a browser posts the form: checked boxes as `on`, one pair per chosen role or desk.
    let form: Vec<(&str, &str)> = vec![
        ("label", "Acme ID"),
        ("issuer", &provider.issuer),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("scopes", "openid email profile groups"),
        ("allowed_domains", "example.com, example.org"),
        ("create_users", "on"),
        ("enabled", "on"),
        ("new_user_roles", &agent),
        ("new_user_desks", &desk),
    ];
    admin.post(&format!("{LIST}/new"), &form).await.redirects_to(&format!("{LIST}?notice=saved"));
    let made = the_only_provider(&app).await;
    let id = id_of(&made);
    assert_eq!(made["label"], "Acme ID");
    assert_eq!(made["issuer"], provider.issuer.as_str());
    assert_eq!(made["scopes"], json!(["openid", "email", "profile", "groups"]));
    assert_eq!(made["allowed_domains"], json!(["example.com", "example.org"]));
    assert_eq!((made["create_users"].as_bool(), made["enabled"].as_bool()), (Some(true), Some(true)));
    assert_eq!(made["new_user_roles"][0].to_string(), agent);
    assert_eq!(made["new_user_desks"][0].to_string(), desk);

    // Listed, with the redirect URI, and a link to edit it.
    let list = admin.get(&format!("{LIST}?notice=saved")).await;
    list.expect(200)
        .has("The identity provider was saved.")
        .has("Acme ID")
        .has(&provider.issuer)
        .has(&format!("href=\"{LIST}/{id}\""))
        .lacks("alert-warning");
    assert_eq!(list.text_of("redirect-uri"), redirect_uri);
    pages.push(list.body.clone());

    // The form shows the settings, never the secret.
    let edit = admin.get(&format!("{LIST}/{id}")).await;
    edit.expect(200).has(&format!("hx-post=\"{LIST}/{id}/delete\""));
    assert_eq!(edit.value_of("label"), "Acme ID");
    assert_eq!(edit.value_of("allowed_domains"), "example.com, example.org");
    assert_eq!(edit.value_of("client_secret"), "");
    let version = edit.value_of("version");
    pages.push(edit.body.clone());

    // Changed: renamed, a second factor trusted (a risk, said on the list), the secret kept.
    let edited = |version: &str, label: &'static str, issuer: &str, secret: &'static str| {
        vec![
            ("version".to_string(), version.to_string()),
            ("label".into(), label.into()),
            ("issuer".into(), issuer.to_string()),
            ("client_id".into(), CLIENT_ID.into()),
            ("client_secret".into(), secret.into()),
            ("scopes".into(), "openid email profile".into()),
            ("allowed_domains".into(), "example.com".into()),
            ("create_users".into(), "on".into()),
            ("trust_second_factor".into(), "on".into()),
            ("enabled".into(), "on".into()),
            ("new_user_desks".into(), desk.clone()),
        ]
    };
    let post = |form: Vec<(String, String)>| {
        let admin = &admin;
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            admin.post(&format!("{LIST}/{id}"), &pairs).await
        }
    };
    post(edited(&version, "Acme SSO", &provider.issuer, "")).await.redirects_to(&format!("{LIST}?notice=saved"));
    let changed = the_only_provider(&app).await;
    assert_eq!((changed["label"].as_str(), changed["trust_second_factor"].as_bool()), (Some("Acme SSO"), Some(true)));
    assert_eq!(changed["new_user_roles"], json!([]), "an unchecked list is emptied: {changed}");
    let updated = app.activity("action=identity_provider.updated").await;
    assert!(updated[0]["changes"].get("client_secret").is_none(), "an empty secret keeps it: {}", updated[0]);
    let list = admin.get(LIST).await;
    list.has("Acme SSO").has("alert-warning").has("second factor");
    pages.push(list.body.clone());

    // The form of a version someone else changed since is refused, and says so.
    let stale = post(edited(&version, "Lost", &provider.issuer, "")).await;
    stale.expect(412).has("Someone else changed this identity provider");
    assert_eq!(the_only_provider(&app).await["label"], "Acme SSO");
    // A bad issuer, or one without a configuration, is named.
    let version = admin.get(&format!("{LIST}/{id}")).await.value_of("version");
    post(edited(&version, "Acme SSO", "ftp://example.com", "")).await.expect(422).has("id=\"f-issuer-error\"");
    let nowhere = post(edited(&version, "Acme SSO", "http://127.0.0.1:9/realms/x", NEW_SECRET)).await;
    nowhere.expect(422).has("id=\"f-issuer-error\"").lacks(NEW_SECRET);
    pages.push(nowhere.body.clone());
    // A new secret is taken, and shown nowhere either.
    post(edited(&version, "Acme SSO", &provider.issuer, NEW_SECRET))
        .await
        .redirects_to(&format!("{LIST}?notice=saved"));
    assert_eq!(app.activity("action=identity_provider.updated").await[0]["changes"]["client_secret"], "changed");
    pages.push(admin.get(&format!("{LIST}/{id}")).await.body);

    // settings.view and settings.manage without being an admin: the list and the provider's
    // settings, read-only, and every change refused.
    app.user_with_permissions("manager", &["settings.view", "settings.manage"]).await;
    let manager = Console::sign_in(&app, "manager", STRONG).await;
    let read = manager.get(LIST).await;
    read.expect(200).has("Acme SSO").has("Only the account").lacks(&format!("href=\"{LIST}/new\""));
    assert_eq!(read.text_of("redirect-uri"), redirect_uri);
    pages.push(read.body.clone());
    let view = manager.get(&format!("{LIST}/{id}")).await;
    view.expect(200).has("fieldset class=\"settings-fieldset\" disabled").lacks(&format!("{LIST}/{id}/delete"));
    pages.push(view.body.clone());
    manager.get(&format!("{LIST}/new")).await.expect(403);
    manager.post(&format!("{LIST}/new"), &form).await.expect(403).has("managed by the account");
    let version = view.value_of("version");
    let refused: Vec<(String, String)> = edited(&version, "Mine", &provider.issuer, "");
    let pairs: Vec<(&str, &str)> = refused.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    manager.post(&format!("{LIST}/{id}"), &pairs).await.expect(403);
    manager.post(&format!("{LIST}/{id}/delete"), &[]).await.expect(403);
    assert_eq!(the_only_provider(&app).await["label"], "Acme SSO");
    // Without settings.view, not even the list.
    app.user_with_permissions("agent", &["users.view"]).await;
    Console::sign_in(&app, "agent", STRONG).await.get(LIST).await.expect(403);

    for page in &pages {
        assert!(!page.contains(CLIENT_SECRET) && !page.contains(NEW_SECRET), "a secret shown:\n{page}");
    }

    // Deleted: gone from the list and the API.
    admin.post(&format!("{LIST}/{id}/delete"), &[]).await.redirects_to(&format!("{LIST}?notice=deleted"));
    admin.get(&format!("{LIST}?notice=deleted")).await.has("was deleted").lacks("Acme SSO");
    assert_eq!(app.get(&app.acct("identity-providers")).await.json(200), json!([]));
    admin.get(&format!("{LIST}/{id}")).await.expect(404);
}

async fn a_users_linked_identity_is_shown_and_unlinked_on_their_page(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let alice = app.user_with_password("alice", STRONG, json!({ "email": "alice@example.com" })).await;
    let people = json!({ "a-1": { "email": "alice@example.com", "email_verified": true } });
    let provider = TestProvider::start(&app.url("/sso/callback"), people).await;
    let body = json!({ "label": "Acme ID", "issuer": provider.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET });
    let sso = id_of(&app.post(&app.acct("identity-providers"), body).await.json(201));

    // Alice signs in through the provider once: her identity there is linked to her.
    let b = browser();
    let callback = to_callback(&b, &app.base, &format!("/sso/{}/{sso}", app.account), &provider, "a-1").await;
    let signed_in = b.get(&callback).send().await.unwrap();
    assert_eq!(signed_in.status().as_u16(), 303, "{}", signed_in.text().await.unwrap_or_default());
    let links = app.get(&app.acct(&format!("users/{alice}/identities"))).await.json(200);
    let link = id_of(&links[0]);

    // Her page lists it, with a button to unlink it.
    let admin = Console::sign_in_with_second_factor(&app, &app.admin_login, &app.admin_password).await;
    let unlink = format!("/console/users/{alice}/identities/{link}/unlink");
    let page = admin.get(&format!("/console/users/{alice}/edit")).await;
    page.expect(200)
        .has("Linked identities")
        .has("Acme ID")
        .has("<code>a-1</code>")
        .has("alice@example.com")
        .has(&format!("hx-post=\"{unlink}\""))
        .lacks(CLIENT_SECRET);

    // Someone who may only see users cannot unlink it.
    app.user_with_permissions("viewer", &["users.view"]).await;
    Console::sign_in(&app, "viewer", STRONG).await.post(&unlink, &[]).await.expect(403);
    assert_eq!(app.get(&app.acct(&format!("users/{alice}/identities"))).await.json(200), links);

    // Unlinked from her page: back there with a notice, the link gone, the change recorded.
    let back = format!("/console/users/{alice}/edit?notice=unlinked");
    admin.post(&unlink, &[]).await.redirects_to(&back);
    admin
        .get(&back)
        .await
        .has("The identity was unlinked.")
        .has("No identity at a provider is linked")
        .lacks("<code>a-1</code>");
    assert_eq!(app.get(&app.acct(&format!("users/{alice}/identities"))).await.json(200), json!([]));
    assert_eq!(app.activity("action=auth.sso_unlinked").await[0]["changes"]["subject"], "a-1");
    // Gone already: nothing to unlink.
    admin.post(&unlink, &[]).await.expect(404);
}

async fn password_sign_in_is_turned_off_on_the_single_sign_on_page(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin_role = app.builtin_role("admin").await;
    let local = app.user_with_password("local", STRONG, json!({ "roles": [admin_role] })).await;
    let admin = Console::sign_in_with_second_factor(&app, "local", STRONG).await;
    let version = |body: &str| {
        let form = body.split("id=\"password-sign-in-form\"").nth(1).unwrap().to_string();
        form.split("name=\"version\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string()
    };

    // No provider yet: refused, saying what is missing; nothing changes.
    let page = admin.get(LIST).await;
    page.expect(200).has("Password sign-in");
    let refused = admin
        .post(&format!("{LIST}/password-sign-in"), &[("version", &version(&page.body)), ("password_sign_in", "off")])
        .await;
    refused.expect(409).has("no enabled identity provider");
    let account = app.get(&format!("/api/v1/accounts/{}", app.account)).await.json(200);
    assert_eq!(account["password_sign_in"], true);

    // With a provider and a break-glass admin (their own Security page), it is turned off.
    let provider = TestProvider::start(&app.url("/sso/callback"), json!({})).await;
    let body = json!({ "label": "Acme ID", "issuer": provider.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET });
    app.post(&app.acct("identity-providers"), body).await.expect(201);
    let page = admin.get(LIST).await;
    let refused = admin
        .post(&format!("{LIST}/password-sign-in"), &[("version", &version(&page.body)), ("password_sign_in", "off")])
        .await;
    refused.expect(409).has("break-glass");
    let security = format!("{}/security", app.user_path(local));
    let etag = app.get(&security).await.etag();
    let kept =
        app.req(reqwest::Method::PUT, &security).header("if-match", etag).json(&json!({ "password_sign_in": "kept" }));
    app.send(kept).await.expect(200);
    let page = admin.get(LIST).await;
    let saved = admin
        .post(&format!("{LIST}/password-sign-in"), &[("version", &version(&page.body)), ("password_sign_in", "off")])
        .await;
    saved.redirects_to(&format!("{LIST}?notice=password_sign_in"));
    let account = app.get(&format!("/api/v1/accounts/{}", app.account)).await.json(200);
    assert_eq!(account["password_sign_in"], false);
    admin
        .get(LIST)
        .await
        .expect(200)
        .has("id=\"f-password-sign-in-off\" type=\"radio\" name=\"password_sign_in\" value=\"off\" checked");
}
