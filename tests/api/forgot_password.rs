//! Forgot-password by email link (issue 4): the link arrives by mail (read from the test SMTP
//! server), works once, expires, is replaced by a newer one; the request never says whether
//! anyone matched; the new password meets the policy; sessions end and a lockout is lifted.
//! And the console's pages for it, and the outbox page.

use reqwest::{Method, header};
use serde_json::{Value, json};

use crate::helpers::{Engine, STRONG, STRONG_2, STRONG_3, TestApp, assert_refused};
use crate::mail::{outbox, outbox_until};

both_engines!(
    a_reset_link_works_once_ends_sessions_and_lifts_a_lockout,
    an_unknown_login_or_address_gets_the_same_answer_and_no_mail,
    replaced_expired_and_unknown_links_are_refused,
    the_new_password_must_meet_the_policy,
    requests_are_throttled_silently,
    the_console_forgot_and_reset_pages_work,
    the_console_outbox_page_lists_mail_and_retries,
    any_password_change_ends_outstanding_links,
);

async fn forgot(app: &TestApp, account: &str, login_or_email: &str) -> Value {
    let body = json!({ "account": account, "login_or_email": login_or_email });
    app.send(app.anon(Method::POST, "/api/v1/auth/forgot-password").json(&body)).await.json(202)
}

async fn reset(app: &TestApp, token: &str, new_password: &str) -> crate::helpers::Resp {
    let body = json!({ "token": token, "new_password": new_password });
    app.send(app.anon(Method::POST, "/api/v1/auth/reset-password").json(&body)).await
}

/// Asks for a link for `login_or_email` and reads the token from the mail to `to`.
async fn link_token(app: &TestApp, login_or_email: &str, to: &str) -> String {
    forgot(app, &app.account, login_or_email).await;
    let mail = app.mailbox.wait_for(to).await;
    let link = mail.link();
    let token = link.rsplit('/').next().unwrap().to_string();
    assert_eq!(link, format!("{}/reset-password/{token}", app.base), "the link points at this server");
    assert_eq!(token.len(), 43, "256 random bits: {token}");
    token
}

async fn a_reset_link_works_once_ends_sessions_and_lifts_a_lockout(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = app.user_with_password("nora", STRONG, json!({ "email": "Nora@Example.com" })).await;
    let session = app.sign_in("nora", STRONG).await;
    app.set_security(|s| s["lockout"]["max_failures"] = json!(3)).await;
    for _ in 0..3 {
        app.login("nora", "Wrong-Password-1").await.expect(401);
    }
    app.login("nora", STRONG).await.expect(401);

    // By email address, in any case.
    let token = link_token(&app, "nora@example.COM", "Nora@Example.com").await;
    let mail_text = app.mailbox.all()[0].text.clone();
    assert!(mail_text.contains("nora") && mail_text.contains("30 minutes"), "{mail_text}");
    reset(&app, &token, STRONG_2).await.expect(204);

    app.session(&session).await.expect(401);
    app.login("nora", STRONG).await.expect(401);
    app.sign_in("nora", STRONG_2).await;
    let used = reset(&app, &token, STRONG_3).await;
    assert_refused(&used, "token", "used");

    let changed = app.activity(&format!("user={id}&action=user.password_changed")).await;
    assert_eq!(changed[0]["changes"]["by"], "reset_link", "{changed:?}");
    assert_eq!(changed[0]["changes"]["unlocked"], true, "{changed:?}");
    let requested = app.activity(&format!("user={id}&action=auth.password_reset_requested")).await;
    assert_eq!(requested.len(), 1);
    assert!(!requested[0].to_string().contains(&token), "the log never holds the token");
}

async fn an_unknown_login_or_address_gets_the_same_answer_and_no_mail(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.user_with_password("olga", STRONG, json!({ "email": "olga@example.com" })).await;
    app.user_with_password("pia", STRONG, json!({})).await; // no email: nothing to send to
    let disabled = app.user_with_password("quin", STRONG, json!({ "email": "quin@example.com" })).await;
    app.update_user(disabled, json!({ "status": "disabled" })).await;

    let known = forgot(&app, "default", "olga").await;
    for (account, who) in [
        ("default", "nobody"),
        ("default", "nobody@example.com"),
        ("no-such-account", "olga"),
        ("default", "pia"),
        ("default", "quin"),
        // Text no account or user can have (PostgreSQL refuses the NUL character outright).
        ("def\u{0}ault", "olga"),
        ("default", "ol\u{0}ga"),
        ("\u{0}", "\u{0}"),
    ] {
        assert_eq!(forgot(&app, account, who).await, known, "{account}/{who}");
    }
    app.mailbox.wait_for("olga@example.com").await;
    let queued = outbox(&app, "limit=500").await;
    assert_eq!(queued.len(), 1, "one mail, to olga: {queued:?}");
    assert_eq!(queued[0]["to"], "olga@example.com");

    let empty = app
        .send(
            app.anon(Method::POST, "/api/v1/auth/forgot-password")
                .json(&json!({ "account": "default", "login_or_email": " " })),
        )
        .await;
    assert_refused(&empty, "login_or_email", "required");
}

async fn replaced_expired_and_unknown_links_are_refused(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.user_with_password("rita", STRONG, json!({ "email": "rita@example.com" })).await;
    let first = link_token(&app, "rita", "rita@example.com").await;
    let second = link_token(&app, "rita", "rita@example.com").await;
    assert_refused(&reset(&app, &first, STRONG_2).await, "token", "replaced");
    app.sql("UPDATE password_resets SET expires_at = 0 WHERE ended_at IS NULL").await;
    assert_refused(&reset(&app, &second, STRONG_2).await, "token", "expired");
    assert_refused(&reset(&app, "not-a-token", STRONG_2).await, "token", "unknown");
    app.sign_in("rita", STRONG).await;
}

/// D9: a link mailed before a password change must not work after it, whoever changed it (an
/// admin, the user, the forced change at sign-in): the mailbox may not be the user's any more.
async fn any_password_change_ends_outstanding_links(engine: Engine) {
    const FOURTH: &str = "Marble-Orchard-61%";
    const FIFTH: &str = "Saffron-Glacier-29&";
    let app = TestApp::spawn(engine).await;
    let id = app.user_with_password("wren", STRONG, json!({ "email": "wren@example.com" })).await;

    // An admin sets the password.
    let token = link_token(&app, "wren", "wren@example.com").await;
    app.set_password(id, json!({ "password": STRONG_2 })).await.expect(200);
    let refused = reset(&app, &token, STRONG_3).await;
    assert_refused(&refused, "token", "ended");
    assert!(refused.text().contains("the password was changed since"), "{}", refused.text());
    app.login("wren", STRONG_3).await.expect(401);

    // The user changes it themself.
    let token = link_token(&app, "wren", "wren@example.com").await;
    let session = app.sign_in("wren", STRONG_2).await;
    app.change_own_password(&session, json!({ "current_password": STRONG_2, "new_password": STRONG_3 }))
        .await
        .expect(204);
    assert_refused(&reset(&app, &token, FOURTH).await, "token", "ended");

    // The change at sign-in that an admin asked for.
    app.set_password(id, json!({ "password": FOURTH, "must_change_password": true })).await.expect(200);
    let token = link_token(&app, "wren", "wren@example.com").await;
    let step = app.login("wren", FOURTH).await.json(200);
    assert_eq!(step["step"], "password_change", "{step}");
    let body = json!({ "challenge": step["challenge"], "new_password": FIFTH });
    app.post("/api/v1/auth/password-change", body).await.json(200);
    assert_refused(&reset(&app, &token, STRONG).await, "token", "ended");
    app.sign_in("wren", FIFTH).await;
}

async fn the_new_password_must_meet_the_policy(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.user_with_password("sara", STRONG, json!({ "email": "sara@example.com" })).await;
    let token = link_token(&app, "sara", "sara@example.com").await;
    assert_refused(&reset(&app, &token, "short").await, "new_password", "too_short");
    assert_refused(&reset(&app, &token, STRONG).await, "new_password", "reused");
    app.sign_in("sara", STRONG).await;
    reset(&app, &token, STRONG_2).await.expect(204);
    app.sign_in("sara", STRONG_2).await;
}

async fn requests_are_throttled_silently(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = app.user_with_password("tess", STRONG, json!({ "email": "tess@example.com" })).await;
    let answers: Vec<Value> = futures::future::join_all((0..4).map(|_| forgot(&app, "default", "tess"))).await;
    assert!(answers.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(outbox(&app, "limit=500").await.len(), 3, "at most 3 mails an hour, also when asked at once");
    forgot(&app, "default", "tess").await;
    assert_eq!(outbox(&app, "limit=500").await.len(), 3);
    let events = app.activity(&format!("user={id}&action=auth.password_reset_requested")).await;
    assert!(events.iter().any(|e| e["changes"]["reason"] == "throttled"), "{events:?}");
}

async fn the_console_forgot_and_reset_pages_work(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.user_with_password("uma", STRONG, json!({ "email": "uma@example.com" })).await;
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = |path: &str| {
        let (browser, url) = (browser.clone(), app.url(path));
        async move {
            let r = browser.get(url).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, login) = page("/login").await;
    assert_eq!(status, 200);
    assert!(login.contains("href=\"/login/forgot?account=default\""), "{login}");
    let (status, form) = page("/login/forgot?account=default").await;
    assert_eq!(status, 200);
    assert!(form.contains("name=\"login_or_email\""), "{form}");

    let post = |path: &str, form: Vec<(&'static str, String)>| {
        let (browser, url) = (browser.clone(), app.url(path));
        async move {
            let r = browser.post(url).form(&form).send().await.unwrap();
            let location = r.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_string());
            (r.status().as_u16(), location, r.text().await.unwrap())
        }
    };
    let (status, _, sent) =
        post("/login/forgot", vec![("account", "default".into()), ("login_or_email", "uma".into())]).await;
    assert_eq!(status, 200);
    assert!(sent.contains("If an account matches, we sent a link"), "{sent}");
    let (_, _, same) =
        post("/login/forgot", vec![("account", "default".into()), ("login_or_email", "nobody".into())]).await;
    assert_eq!(same, sent, "the same page whatever matched");

    let link = app.mailbox.wait_for("uma@example.com").await.link();
    let path = link.trim_start_matches(&app.base).to_string();
    let (status, form) = page(&path).await;
    assert_eq!(status, 200);
    assert!(form.contains("Choose a new password") && form.contains("8 to 128 characters"), "{form}");

    let (status, _, refused) =
        post(&path, vec![("new_password", "short".into()), ("new_password_confirmation", "short".into())]).await;
    assert_eq!(status, 422);
    assert!(
        refused.contains("f-new_password-error") && refused.contains("at least 8"),
        "the error is by the field: {refused}"
    );
    let (status, _, mismatch) =
        post(&path, vec![("new_password", STRONG_2.into()), ("new_password_confirmation", STRONG_3.into())]).await;
    assert_eq!(status, 422);
    assert!(mismatch.contains("Does not match the new password"), "{mismatch}");
    let (status, location, _) =
        post(&path, vec![("new_password", STRONG_2.into()), ("new_password_confirmation", STRONG_2.into())]).await;
    assert_eq!(status, 303);
    assert_eq!(location.as_deref(), Some("/login?account=default&reset=1"));
    let (_, notice) = page("/login?account=default&reset=1").await;
    assert!(notice.contains("Your password was changed"), "{notice}");
    app.sign_in("uma", STRONG_2).await;

    let (status, used) = page(&path).await;
    assert_eq!(status, 410);
    assert!(used.contains("already used"), "{used}");
}

async fn the_console_outbox_page_lists_mail_and_retries(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.user_with_password("vic", STRONG, json!({ "email": "vic@example.com" })).await;
    app.mailbox.reject_next(550, 1);
    forgot(&app, "default", "vic").await;
    let failed = outbox_until(&app, "vic@example.com", "failed", |m| m["state"] == "failed").await;

    let console = app.console_sign_in_with_second_factor(&app.admin_login, &app.admin_password).await;
    let get = |path: &str| {
        let (console, url) = (console.clone(), app.url(path));
        async move {
            let r = console.get(url).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, page) = get("/console/outbox").await;
    assert_eq!(status, 200);
    for needle in ["href=\"/console/outbox\"", "vic@example.com", "password_reset", "failed", "550", "Retry"] {
        assert!(page.contains(needle), "no {needle:?} in:\n{page}");
    }
    let (_, sent_only) = get("/console/outbox?state=sent").await;
    assert!(!sent_only.contains("vic@example.com"), "the state filter applies");

    let csrf = page
        .split("name=\"csrf-token\" content=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("csrf")
        .to_string();
    let retried = console
        .post(app.url(&format!("/console/outbox/{}/retry", failed["id"])))
        .header("HX-Request", "true")
        .header("X-CSRF-Token", csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), 200);
    assert_eq!(retried.headers().get("hx-redirect").unwrap(), "/console/outbox?notice=retried");
    app.mailbox.wait_for("vic@example.com").await;

    let (_, agent) = app.user_with_role("agent2", "agent").await;
    drop(agent);
    let agent_console = app.console_sign_in("agent2", "correct-horse-9").await;
    let r = agent_console.get(app.url("/console/outbox")).send().await.unwrap();
    assert_eq!(r.status(), 403);
}
