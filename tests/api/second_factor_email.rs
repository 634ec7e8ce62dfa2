//! Emailed second-factor codes (R26): sent through the outbox to the test's SMTP server, read from
//! what arrived; they expire, work once, and resending is throttled.

use serde_json::{Value, json};

use crate::helpers::{Engine as Db, STRONG, TestApp};

both_engines!(
    an_emailed_code_signs_in_once,
    resending_is_throttled_and_old_codes_expire,
    either_method_sends_a_code_only_when_asked,
    an_enrolment_link_leads_to_the_set_up_once,
);

/// The six-digit code in a sign-in mail.
fn code_in(text: &str) -> String {
    text.split_whitespace()
        .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no code in {text:?}"))
        .to_string()
}

fn challenge(step: &Value) -> String {
    step["challenge"].as_str().unwrap_or_else(|| panic!("no challenge in {step}")).to_string()
}

async fn an_emailed_code_signs_in_once(engine: Db) {
    let app = TestApp::spawn(engine).await;
    let id = app
        .user_with_password("bob", STRONG, json!({ "email": "bob@example.com", "two_factor_method": "email" }))
        .await;
    let step = app.login("bob", STRONG).await.json(200);
    assert_eq!(step["step"], "second_factor", "{step}");
    assert_eq!(step["methods"], json!(["email"]));
    assert_eq!(step["email_sent_to"], "b•••@example.com");
    let mail = app.mailbox.wait_for("bob@example.com").await;
    assert_eq!(mail.subject, "Your sign-in code");
    let code = code_in(&mail.text);

    let wrong = if code == "000000" { "111111" } else { "000000" };
    app.second_factor(&challenge(&step), wrong, None).await.problem_field(422, "code", "wrong_code");
    let done = app.second_factor(&challenge(&step), &code, None).await.json(200);
    let token = done["token"].as_str().expect("signed in");
    assert_eq!(app.session(token).await.json(200)["user"]["id"], id);
    // The challenge is spent; a new sign-in gets a new code, and the old one does not work there.
    app.second_factor(&challenge(&step), &code, None).await.problem(401);
    let step = app.login("bob", STRONG).await.json(200);
    let new_code = code_in(&app.mailbox.wait_for("bob@example.com").await.text);
    if new_code != code {
        app.second_factor(&challenge(&step), &code, None).await.problem_field(422, "code", "wrong_code");
    }
    app.second_factor(&challenge(&step), &new_code, None).await.json(200);
    // The outbox shows the messages, never their content.
    let outbox = app.get(&app.acct("outbox")).await.json(200);
    let text = outbox.to_string();
    assert!(text.contains("second_factor_code") && !text.contains(&new_code), "{outbox}");
}

async fn resending_is_throttled_and_old_codes_expire(engine: Db) {
    let app = TestApp::spawn(engine).await;
    app.user_with_password("bob", STRONG, json!({ "email": "bob@example.com", "two_factor_method": "email" })).await;
    let step = app.login("bob", STRONG).await.json(200);
    let code = code_in(&app.mailbox.wait_for("bob@example.com").await.text);
    let resend = app.post("/api/v1/auth/second-factor/email", json!({ "challenge": challenge(&step) })).await;
    resend.problem(429);
    let wait: u64 = resend.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=30).contains(&wait), "{wait}");

    // An emailed code expires (made old in the database: the API has no clock to turn).
    app.sql("UPDATE sign_in_challenges SET code_expires_at = 1000, code_sent_at = 1000").await;
    app.second_factor(&challenge(&step), &code, Some("email")).await.problem_field(422, "code", "expired");
    // Asking again now sends a fresh one, which works.
    let sent = app.post("/api/v1/auth/second-factor/email", json!({ "challenge": challenge(&step) })).await.json(202);
    assert_eq!(sent["sent_to"], "b•••@example.com");
    let fresh = code_in(&app.mailbox.wait_for("bob@example.com").await.text);
    app.second_factor(&challenge(&step), &fresh, Some("email")).await.json(200);
}

async fn either_method_sends_a_code_only_when_asked(engine: Db) {
    let app = TestApp::spawn(engine).await;
    let bob = app
        .user_with_password("bob", STRONG, json!({ "email": "bob@example.com", "two_factor_method": "either" }))
        .await;
    // Without an authenticator, "either" signs in by email (the app is set up from My Account).
    let step = app.login("bob", STRONG).await.json(200);
    assert_eq!(
        (step["methods"].clone(), step["email_sent_to"].as_str()),
        (json!(["email"]), Some("b•••@example.com")),
        "{step}"
    );
    let code = code_in(&app.mailbox.wait_for("bob@example.com").await.text);
    app.second_factor(&challenge(&step), &code, None).await.json(200);
    // With one (set up here through the authenticator-only method), both are offered.
    app.update_user(bob, json!({ "two_factor_method": "totp" })).await;
    app.sign_in_with_second_factor("bob", STRONG).await;
    app.update_user(bob, json!({ "two_factor_method": "either" })).await;
    let step = app.login("bob", STRONG).await.json(200);
    assert_eq!(step["methods"], json!(["totp", "email", "recovery_code"]), "{step}");
    assert!(step.get("email_sent_to").is_none(), "no mail until the user picks email: {step}");
    app.post("/api/v1/auth/second-factor/email", json!({ "challenge": challenge(&step) })).await.json(202);
    let code = code_in(&app.mailbox.wait_for("bob@example.com").await.text);
    app.second_factor(&challenge(&step), &code, Some("email")).await.json(200);
    // A user whose method has no email cannot ask for one.
    app.user_with_password("carl", STRONG, json!({ "two_factor_method": "totp" })).await;
    app.sign_in_with_second_factor("carl", STRONG).await;
    let step = app.login("carl", STRONG).await.json(200);
    app.post("/api/v1/auth/second-factor/email", json!({ "challenge": challenge(&step) })).await.problem_field(
        422,
        "challenge",
        "email_not_offered",
    );
}

/// Seed 002 emails the QR code; Roster emails a one-time link instead, never the key.
async fn an_enrolment_link_leads_to_the_set_up_once(engine: Db) {
    let app = TestApp::spawn(engine).await;
    let id =
        app.user_with_password("bob", STRONG, json!({ "email": "bob@example.com", "two_factor_method": "totp" })).await;
    app.sign_in_with_second_factor("bob", STRONG).await; // sets up an authenticator
    let path = format!("{}/second-factor/enrolment-link", app.user_path(id));
    app.post(&path, json!({})).await.problem_field(422, "two_factor_method", "already_set_up");

    // The admin resets it: the link goes out by mail.
    let reset = app.post(&format!("{}/second-factor/reset-totp", app.user_path(id)), json!({})).await.json(200);
    assert_eq!(reset["enrolment_link_sent_to"], "b•••@example.com");
    let mail = app.mailbox.wait_for("bob@example.com").await;
    assert_eq!(mail.subject, "Set up your authenticator app");
    assert!(
        !mail.text.contains("otpauth") && !mail.text.to_lowercase().contains("secret="),
        "no key in mail: {}",
        mail.text
    );
    let link = mail.link();
    assert!(link.starts_with(&format!("{}/enrol/", app.base)), "{link}");

    let browser =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = browser.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("bob"), "the page names who signs in");
    let post = |password: &'static str| {
        browser.post(&link).header("origin", app.base.clone()).form(&[("password", password)]).send()
    };
    let wrong = post("not-the-password").await.unwrap();
    assert_eq!(wrong.status(), 401, "a wrong password is refused and the link stays good");
    let right = post(STRONG).await.unwrap();
    assert_eq!(right.status(), 200);
    let html = right.text().await.unwrap();
    assert!(html.contains("data:image/png;base64,") && html.contains("totp"), "the set-up page with its QR code");
    // Used once: it no longer works, and a new one replaces older ones.
    assert_eq!(browser.get(&link).send().await.unwrap().status(), 410);
    app.post(&path, json!({})).await.expect(202);
    let second = app.mailbox.wait_for("bob@example.com").await.link();
    assert_ne!(second, link);
    app.post(&path, json!({})).await.expect(202);
    let third = app.mailbox.wait_for("bob@example.com").await.link();
    assert_eq!(browser.get(&second).send().await.unwrap().status(), 410, "a newer link voids the older");
    assert_eq!(browser.get(&third).send().await.unwrap().status(), 200);
    assert_eq!(app.events(id, "user.totp_enrolment_sent").await.len(), 2);

    // No email address, no link.
    let carl = app.user_with_password("carl", STRONG, json!({ "two_factor_method": "totp" })).await;
    app.post(&format!("{}/second-factor/enrolment-link", app.user_path(carl)), json!({}))
        .await
        .problem_field(422, "email", "required");
}
