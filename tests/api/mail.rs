//! Mail (issue 4): the outbox and its worker, delivering to the test SMTP server over TCP
//! (with AUTH), retrying after a 4xx, failing at once on a 5xx, waiting while the server is
//! down and across a restart, writing files when no SMTP server is configured, and sending
//! each message once with two instances on one PostgreSQL; over STARTTLS and implicit TLS with a
//! private CA (`smtp_ca_file`), and not at all when that CA is not trusted.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{Engine, Mailbox, STRONG, SmtpTls, TestApp, list_items};

both_engines!(
    mail_is_delivered_over_smtp_with_auth_and_its_text_is_erased,
    a_transient_rejection_is_retried_and_then_delivered,
    a_permanent_rejection_fails_at_once_with_the_reason_and_can_be_retried,
    mail_waits_while_the_server_is_down,
    queued_mail_survives_a_restart,
    without_smtp_mail_is_written_under_the_data_folder,
    the_outbox_needs_permissions_and_checks_its_query,
    mail_goes_over_starttls_and_auth_waits_for_it,
    mail_goes_over_implicit_tls,
    an_untrusted_certificate_is_refused_and_the_mail_waits,
);

/// Retries come quickly in these tests (first after 200 ms).
fn quick_retries(config: &mut roster::config::Config) {
    config.mail_retry_base_ms = 200;
}

/// A user with an email address; asks for a reset link for them (which queues one mail).
/// A user with an email address asks for a reset link (one mail); returns the address.
pub async fn queue_mail_for(app: &TestApp, login: &str) -> String {
    let email = format!("{login}@example.com");
    app.user_with_password(login, STRONG, json!({ "email": email })).await;
    request_reset(app, login).await;
    email
}

async fn request_reset(app: &TestApp, login_or_email: &str) {
    let body = json!({ "account": app.account, "login_or_email": login_or_email });
    app.send(app.anon(reqwest::Method::POST, "/api/v1/auth/forgot-password").json(&body)).await.expect(202);
}

pub async fn outbox(app: &TestApp, query: &str) -> Vec<Value> {
    list_items(&app.get(&format!("{}?{query}", app.acct("outbox"))).await.json(200))
}

/// Asks the outbox until `check` holds for the message to `to` (at most 15 s); returns it.
pub async fn outbox_until(app: &TestApp, to: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let items = outbox(app, "limit=500").await;
        if let Some(m) = items.iter().find(|m| m["to"] == to && check(m)) {
            return m.clone();
        }
        assert!(started.elapsed() < Duration::from_secs(15), "the mail to {to} is not {what} after 15 s: {items:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn mail_is_delivered_over_smtp_with_auth_and_its_text_is_erased(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let to = queue_mail_for(&app, "ana").await;
    let mail = app.mailbox.wait_for(&to).await;
    assert_eq!(mail.subject, "Reset your Roster password");
    assert_eq!(mail.auth_user.as_deref(), Some(crate::helpers::SMTP_USER), "sent after AUTH");
    assert_eq!(mail.from, "roster@localhost");
    assert!(mail.link().starts_with(&format!("{}/reset-password/", app.base)), "{}", mail.text);

    let sent = outbox_until(&app, &to, "sent", |m| m["state"] == "sent").await;
    assert_eq!(sent["kind"], "password_reset");
    assert_eq!(sent["attempts"], 1);
    assert!(sent["sent_at"].is_string() && sent["last_error"].is_null(), "{sent}");
    assert!(!sent.to_string().contains(mail.link().rsplit('/').next().unwrap()), "the outbox shows no text: {sent}");
    let body =
        app.sql_text(&format!("SELECT COALESCE(body, 'erased') FROM mail_outbox WHERE id = {}", sent["id"])).await;
    assert_eq!(body, "erased", "a sent message's text (with its link) is not kept");
}

async fn a_transient_rejection_is_retried_and_then_delivered(engine: Engine) {
    let app = TestApp::spawn_with(engine, quick_retries).await;
    app.mailbox.reject_next(451, 1000);
    let to = queue_mail_for(&app, "ben").await;
    let waiting =
        outbox_until(&app, &to, "waiting after a 451", |m| m["state"] == "queued" && m["attempts"].as_i64() >= Some(1))
            .await;
    assert!(waiting["last_error"].as_str().unwrap_or_default().contains("451"), "{waiting}");
    assert!(waiting["next_attempt_at"].is_string(), "{waiting}");
    app.mailbox.reject_next(451, 0);
    app.mailbox.wait_for(&to).await;
    let sent = outbox_until(&app, &to, "sent", |m| m["state"] == "sent").await;
    assert!(sent["attempts"].as_i64().unwrap() >= 2, "{sent}");
}

async fn a_permanent_rejection_fails_at_once_with_the_reason_and_can_be_retried(engine: Engine) {
    let app = TestApp::spawn_with(engine, quick_retries).await;
    app.mailbox.reject_next(550, 1);
    let to = queue_mail_for(&app, "cleo").await;
    let failed = outbox_until(&app, &to, "failed", |m| m["state"] == "failed").await;
    assert_eq!(failed["attempts"], 1, "a 5xx is not retried: {failed}");
    assert!(failed["last_error"].as_str().unwrap_or_default().contains("550"), "{failed}");
    assert_eq!(failed["retryable"], true);
    assert!(app.mailbox.all().is_empty());

    // An admin retries it (after fixing whatever was wrong): it is sent, and the retry recorded.
    let id = failed["id"].as_i64().unwrap();
    let retried = app.post(&app.acct(&format!("outbox/{id}/retry")), json!({})).await.json(200);
    assert_eq!(retried["state"], "queued");
    app.mailbox.wait_for(&to).await;
    outbox_until(&app, &to, "sent", |m| m["state"] == "sent").await;
    let events = app.activity("action=mail.retried").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["target_id"], id);

    // Only failed messages are retried; an unknown one is 404.
    let again = app.post(&app.acct(&format!("outbox/{id}/retry")), json!({})).await;
    again.expect(409);
    app.post(&app.acct("outbox/999999/retry"), json!({})).await.expect(404);
}

async fn mail_waits_while_the_server_is_down(engine: Engine) {
    let app = TestApp::spawn_with(engine, quick_retries).await;
    app.mailbox.down().await;
    let to = queue_mail_for(&app, "dan").await;
    let waiting = outbox_until(&app, &to, "waiting", |m| m["state"] == "queued" && m["last_error"].is_string()).await;
    assert!(waiting["attempts"].as_i64() >= Some(1), "{waiting}");
    app.mailbox.up().await;
    let mail = app.mailbox.wait_for(&to).await;
    assert_eq!(mail.subject, "Reset your Roster password");
    outbox_until(&app, &to, "sent", |m| m["state"] == "sent").await;
}

async fn queued_mail_survives_a_restart(engine: Engine) {
    let mut app = TestApp::spawn_with(engine, quick_retries).await;
    app.mailbox.down().await;
    let to = queue_mail_for(&app, "eve").await;
    outbox_until(&app, &to, "tried once", |m| m["state"] == "queued" && m["last_error"].is_string()).await;
    app.stop().await;
    app.mailbox.up().await;
    app.start_again().await;
    let mail = app.mailbox.wait_for(&to).await;
    assert!(mail.link().starts_with("http://127.0.0.1:"), "{}", mail.text);
    outbox_until(&app, &to, "sent", |m| m["state"] == "sent").await;
    assert_eq!(app.mailbox.all().len(), 1, "sent once");
}

async fn without_smtp_mail_is_written_under_the_data_folder(engine: Engine) {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::spawn_with(engine, |c| {
        c.smtp_url = None;
        // A mail folder left open to everyone (an earlier version, a loose umask): narrowed (D9).
        let dir = c.data_dir.join("mail");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    })
    .await;
    let to = queue_mail_for(&app, "finn").await;
    let sent = outbox_until(&app, &to, "written", |m| m["state"] == "sent").await;
    let note = sent["last_error"].as_str().unwrap_or_default();
    assert!(note.starts_with("written to ") && note.ends_with(".eml"), "{sent}");
    let dir = app.data_dir().join("mail");
    let files: Vec<_> = std::fs::read_dir(&dir).expect("data/mail exists").map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let eml = std::fs::read_to_string(&files[0]).unwrap();
    assert!(eml.contains("Subject: Reset your Roster password"), "{eml}");
    assert!(eml.contains(&format!("To: {to}")), "{eml}");
    assert!(eml.contains("/reset-password/"), "the link is there to follow: {eml}");
    assert!(app.mailbox.all().is_empty(), "nothing went over SMTP");
    // Links and codes are for the recipient only: the file is the owner's, in a folder that is too.
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&files[0]), 0o600, "the message file");
    assert_eq!(mode(&dir), 0o700, "the mail folder");
}

async fn the_outbox_needs_permissions_and_checks_its_query(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (_, agent) = app.user_with_role("agent1", "agent").await;
    app.get_as(&agent, &app.acct("outbox")).await.expect(403);
    app.send(app.req_as(&agent, reqwest::Method::POST, &app.acct("outbox/1/retry"))).await.expect(403);
    app.get(&format!("{}?state=lost", app.acct("outbox"))).await.expect(422);
    app.get(&format!("{}?cursor=%25%25", app.acct("outbox"))).await.problem_on(400, "cursor");

    // Filters and pages.
    for login in ["gus", "hal", "ida"] {
        let to = queue_mail_for(&app, login).await;
        app.mailbox.wait_for(&to).await;
        outbox_until(&app, &to, "sent", |m| m["state"] == "sent").await;
    }
    assert_eq!(outbox(&app, "state=sent").await.len(), 3);
    assert!(outbox(&app, "state=failed,queued").await.is_empty());
    let first = app.get(&format!("{}?limit=2", app.acct("outbox"))).await.json(200);
    assert_eq!(list_items(&first).len(), 2);
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let rest = outbox(&app, &format!("limit=2&cursor={cursor}")).await;
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0]["to"], "gus@example.com", "newest first");
}

/// Two instances on one PostgreSQL, each running the worker: every message is sent once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_deliver_each_message_once() {
    let app = TestApp::spawn(Engine::Postgres).await;
    let b = app.second_instance().await;
    // Mail queued through both instances, and a batch queued straight in the table that only
    // the workers' polling finds (so both go for the same rows).
    let mut expected = Vec::new();
    for i in 0..8 {
        let login = format!("user{i}");
        let email = format!("{login}@example.com");
        app.user_with_password(&login, STRONG, json!({ "email": email })).await;
        let base = if i % 2 == 0 { &app.base } else { &b.base };
        let r = app
            .http
            .post(format!("{base}/api/v1/auth/forgot-password"))
            .json(&json!({ "account": "default", "login_or_email": login }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        expected.push(email);
    }
    app.sql(
        "INSERT INTO mail_outbox (account_id, recipient, subject, body, kind, state, attempts, next_attempt_at, created_at) \
         SELECT a.id, 'bulk' || g || '@example.com', 'Bulk ' || g, 'Hello', 'test', 'queued', 0, 0, 0 \
         FROM accounts a CROSS JOIN generate_series(1, 40) g WHERE a.slug = 'default'",
    )
    .await;
    expected.extend((1..=40).map(|g| format!("bulk{g}@example.com")));

    let started = Instant::now();
    loop {
        let items = outbox(&app, "limit=500").await;
        if items.len() == expected.len() && items.iter().all(|m| m["state"] == "sent") {
            assert!(items.iter().all(|m| m["attempts"] == 1), "each claimed once: {items:?}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "not all sent after 30 s: {items:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut arrived: Vec<String> = app.mailbox.all().into_iter().map(|m| m.to).collect();
    arrived.sort();
    expected.sort();
    assert_eq!(arrived, expected, "every message arrived exactly once");
}

/// A TestApp whose SMTP server speaks TLS (`mode`), trusting its CA when `trust_ca`.
async fn spawn_tls(engine: Engine, mode: SmtpTls, trust_ca: bool) -> TestApp {
    let mailbox = Mailbox::start_tls(mode).await;
    let (url, ca) = (mailbox.url(), mailbox.ca_file());
    TestApp::spawn_with_mailbox(engine, mailbox, |c| {
        c.smtp_url = Some(url.into());
        c.smtp_ca_file = trust_ca.then_some(ca);
    })
    .await
}

/// Where `what` first happened in the SMTP session that brought `mail`.
fn step(mail: &crate::helpers::ReceivedMail, what: &str) -> usize {
    mail.session.iter().position(|s| s == what).unwrap_or_else(|| panic!("no {what} in {:?}", mail.session))
}

async fn mail_goes_over_starttls_and_auth_waits_for_it(engine: Engine) {
    let app = spawn_tls(engine, SmtpTls::StartTls, true).await;
    assert!(app.mailbox.url().ends_with("?tls=required"), "{}", app.mailbox.url());
    let to = queue_mail_for(&app, "tess").await;
    let mail = app.mailbox.wait_for(&to).await;
    assert_eq!(mail.subject, "Reset your Roster password");
    assert_eq!(mail.auth_user.as_deref(), Some(crate::helpers::SMTP_USER), "sent after AUTH");
    assert_eq!(mail.session[..2], ["EHLO", "STARTTLS"], "{:?}", mail.session);
    assert!(
        step(&mail, "STARTTLS") < step(&mail, "TLS") && step(&mail, "TLS") < step(&mail, "AUTH"),
        "{:?}",
        mail.session
    );
    assert!(step(&mail, "TLS") < step(&mail, "MAIL"), "{:?}", mail.session);
    let sent = outbox_until(&app, &to, "sent", |m| m["state"] == "sent").await;
    assert_eq!(sent["attempts"], 1, "{sent}");
}

async fn mail_goes_over_implicit_tls(engine: Engine) {
    let app = spawn_tls(engine, SmtpTls::Implicit, true).await;
    assert!(app.mailbox.url().starts_with("smtps://"), "{}", app.mailbox.url());
    let to = queue_mail_for(&app, "ivo").await;
    let mail = app.mailbox.wait_for(&to).await;
    assert_eq!(mail.subject, "Reset your Roster password");
    assert_eq!(mail.auth_user.as_deref(), Some(crate::helpers::SMTP_USER), "sent after AUTH");
    assert_eq!(mail.session[0], "TLS", "TLS from the first byte: {:?}", mail.session);
    assert!(!mail.session.iter().any(|s| s == "STARTTLS"), "{:?}", mail.session);
    assert!(step(&mail, "TLS") < step(&mail, "AUTH"), "{:?}", mail.session);
    outbox_until(&app, &to, "sent", |m| m["state"] == "sent").await;
}

async fn an_untrusted_certificate_is_refused_and_the_mail_waits(engine: Engine) {
    // No smtp_ca_file: the server's certificate comes from a CA nobody trusts.
    let app = spawn_tls(engine, SmtpTls::StartTls, false).await;
    let to = queue_mail_for(&app, "uma").await;
    let waiting = outbox_until(&app, &to, "tried", |m| m["last_error"].is_string()).await;
    assert!(["queued", "failed"].contains(&waiting["state"].as_str().unwrap_or_default()), "{waiting}");
    assert_eq!(waiting["sent_at"], Value::Null, "{waiting}");
    let reason = waiting["last_error"].as_str().unwrap().to_lowercase();
    assert!(reason.contains("certificate"), "the reason names the certificate: {waiting}");
    assert!(!reason.contains(crate::helpers::SMTP_PASSWORD), "{waiting}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.mailbox.all().is_empty(), "nothing arrived: {:?}", app.mailbox.all());
}
