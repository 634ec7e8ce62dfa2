//! Single sign-on in a real headless Chromium (issue 15): the login page's button, the
//! provider's own sign-in page (a real oidc-provider), and back in the console as the user the
//! provider vouched for; then a person no user has yet, made a user at that first sign-in.

use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use serde_json::json;

use crate::helpers::{Browser, Engine, TestApp};
use crate::sso::{person, provider};

both_engines!(the_sso_button_signs_the_matched_user_in, a_new_person_is_made_a_user_at_their_first_sign_in);

async fn in_browser<F: std::future::Future<Output = ()>>(engine: Engine, name: &str, b: &Browser, run: F) {
    if let Err(panic) = AssertUnwindSafe(run).catch_unwind().await {
        b.capture(&format!("roster-{name}-{}-{}", format!("{engine:?}").to_lowercase(), std::process::id())).await;
        std::panic::resume_unwind(panic);
    }
}

/// From the login page through the provider's page as `subject`, back to the console.
async fn through_the_provider(b: &Browser, subject: &str) {
    b.goto("/login?account=default").await;
    b.wait_text("a.sso-button", "Sign in with Acme ID").await;
    b.click("a.sso-button").await;
    // The provider's own page, on its own origin.
    b.wait_css("#subject").await;
    b.fill("#subject", subject).await;
    b.click("#sign-in").await;
    b.wait_url("/console/").await;
}

async fn the_sso_button_signs_the_matched_user_in(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.user_with_password("alice", "correct-horse-9", json!({ "email": "alice@example.com", "first_name": "Alice" }))
        .await;
    let sso = provider(&app, json!({ "a-1": person("alice@example.com") }), json!({})).await;
    let b = Browser::launch(&app.base).await;
    in_browser(engine, "sso", &b, async {
        through_the_provider(&b, "a-1").await;
        b.goto("/console/me").await;
        b.wait_text("main", "alice").await;
        // The link is on her user, as the admin sees it.
        let alice = app.list_all("q=alice").await[0]["id"].as_i64().unwrap();
        let links = app.get(&app.acct(&format!("users/{alice}/identities"))).await.json(200);
        assert_eq!(links[0]["provider_id"].as_i64(), Some(sso.id), "{links}");
    })
    .await;
    b.close().await;
}

async fn a_new_person_is_made_a_user_at_their_first_sign_in(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let agent = app.builtin_role("agent").await;
    let desk = app.desk("Front desk").await;
    let extra = json!({
        "create_users": true, "new_user_roles": [agent], "new_user_desks": [desk], "allowed_domains": ["example.com"],
    });
    let _sso = provider(&app, json!({ "n-1": person("newcomer@example.com") }), extra).await;
    let b = Browser::launch(&app.base).await;
    in_browser(engine, "sso-new-user", &b, async {
        through_the_provider(&b, "n-1").await;
        b.goto("/console/me").await;
        b.wait_text("main", "newcomer").await;
        let made = app.list_all("q=newcomer").await;
        assert_eq!(made.len(), 1, "{made:?}");
        assert_eq!(made[0]["email"], "newcomer@example.com");
        assert_eq!(made[0]["roles"][0]["id"].as_i64(), Some(agent), "{}", made[0]);
        assert_eq!(made[0]["desks"][0]["id"].as_i64(), Some(desk), "{}", made[0]);
    })
    .await;
    b.close().await;
}
