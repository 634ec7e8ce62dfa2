//! D5 and D6 of the delegated-administration rules: wrong second-factor codes are counted per
//! user and per address across sign-ins (only a completed sign-in clears them), and lock as
//! wrong passwords do; an admin with an authenticator is always asked for it, never for an
//! emailed code.

use std::net::{IpAddr, Ipv4Addr};

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::helpers::{
    Engine as Db, STRONG, TestApp, assert_near, hidden_fields, id_of, now_step, parse_time, totp_code,
};

both_engines!(
    guessing_codes_across_sign_ins_locks_the_user,
    wrong_email_recovery_and_set_up_codes_count_the_same_way,
    wrong_codes_count_per_address,
    a_completed_sign_in_clears_the_count,
    an_admin_with_an_authenticator_never_signs_in_by_email,
    an_admin_is_asked_for_the_authenticator_even_from_a_known_device,
    the_console_offers_admins_no_emailed_code,
    an_admin_hears_of_a_changed_factor_at_the_old_address,
    a_reset_link_does_not_buy_more_guesses_at_the_authenticator,
);

async fn lockout(app: &TestApp, max_failures: u32, address_max_failures: u32) {
    app.set_security(|s| {
        s["lockout"]["max_failures"] = json!(max_failures);
        s["lockout"]["window_minutes"] = json!(15);
        s["lockout"]["lock_minutes"] = json!(20);
        s["lockout"]["address_max_failures"] = json!(address_max_failures);
    })
    .await;
}

fn challenge(step: &Value) -> String {
    step["challenge"].as_str().unwrap_or_else(|| panic!("no challenge in {step}")).to_string()
}

/// A six-digit code that none of the steps near now gives for this key.
fn wrong_totp(secret: &str) -> String {
    let now = now_step();
    let accepted: Vec<String> = (now - 2..=now + 2).map(|s| totp_code(secret, s)).collect();
    (1..=9).map(|d| format!("{d}").repeat(6)).find(|c| !accepted.contains(c)).expect("a wrong code")
}

/// A six-digit code other than `code`.
fn other_than(code: &str) -> String {
    if code == "000000" { "111111".into() } else { "000000".into() }
}

/// The six-digit code in a sign-in mail.
fn code_in(text: &str) -> String {
    text.split_whitespace()
        .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no code in {text:?}"))
        .to_string()
}

/// The code of the next sign-in-code mail to `to` (other mail to that address, such as a
/// notice of a changed method, is passed over).
async fn mailed_code(app: &TestApp, to: &str) -> String {
    loop {
        let mail = app.mailbox.wait_for(to).await;
        if mail.subject == "Your sign-in code" {
            return code_in(&mail.text);
        }
    }
}

async fn failures_of(app: &TestApp, id: i64) -> i64 {
    app.sql_text(&format!("SELECT CAST(failed_sign_ins AS TEXT) FROM users WHERE id = {id}")).await.parse().unwrap()
}

/// Signs in with the right password and asserts the second-factor step; returns its answer.
async fn code_step(app: &TestApp, login: &str) -> Value {
    let step = app.login(login, STRONG).await.json(200);
    assert_eq!(step["step"], "second_factor", "{login}: {step}");
    step
}

/// A user with an authenticator set up (by a first, completed sign-in).
async fn user_with_authenticator(app: &TestApp, login: &str, extra: Value) -> i64 {
    let mut body = json!({ "two_factor_method": "totp" });
    crate::helpers::merge(&mut body, extra);
    let id = app.user_with_password(login, STRONG, body).await;
    app.sign_in_with_second_factor(login, STRONG).await;
    assert!(app.authenticators.get(login).is_some(), "{login} set up an authenticator");
    id
}

async fn admin_with_authenticator(app: &TestApp, login: &str) -> i64 {
    let admin = app.builtin_role("admin").await;
    user_with_authenticator(app, login, json!({ "email": format!("{login}@example.com"), "roles": [admin] })).await
}

/// The attack D5 closes: with a stolen password, sign in, try five codes, sign in again, try five
/// more… Before, the right password cleared the count each time and this never locked.
async fn guessing_codes_across_sign_ins_locks_the_user(engine: Db) {
    let app = TestApp::spawn(engine).await;
    lockout(&app, 10, 1000).await;
    let id = user_with_authenticator(&app, "bob", json!({})).await;
    let secret = app.authenticators.get("bob").unwrap().secret;
    let wrong = wrong_totp(&secret);
    let reference = app.login("nobody-here", "wrong-password-1").await;
    reference.problem(401);

    // Round 1: five wrong codes use up the challenge.
    let step = code_step(&app, "bob").await;
    for _ in 0..4 {
        app.second_factor(&challenge(&step), &wrong, Some("totp")).await.problem_field(422, "code", "wrong_code");
    }
    app.second_factor(&challenge(&step), &wrong, Some("totp")).await.problem(401);
    assert_eq!(failures_of(&app, id).await, 5);

    // Round 2: the right password does not clear the count; the tenth wrong code locks.
    let step = code_step(&app, "bob").await;
    assert_eq!(failures_of(&app, id).await, 5, "a right password alone clears nothing (D5)");
    for left in (2..=4).rev() {
        let r =
            app.second_factor(&challenge(&step), &wrong, Some("totp")).await.problem_field(422, "code", "wrong_code");
        assert!(r.to_string().contains(&format!("{left} attempts left")), "{r}");
    }
    let wrong_again = app.second_factor(&challenge(&step), &wrong, Some("totp")).await;
    assert_eq!(wrong_again.status, 422, "the ninth: {}", wrong_again.text());
    let locked_at = OffsetDateTime::now_utc();
    let locking = app.second_factor(&challenge(&step), &wrong, Some("totp")).await;
    locking.problem(401);

    let user = app.get_user(id).await.json(200);
    assert_near(
        parse_time(&user["locked_until"]),
        locked_at + Duration::minutes(20),
        Duration::minutes(2),
        "locked_until",
    );
    let locked = app.events(id, "user.locked").await;
    assert_eq!(locked.len(), 1, "one lock, recorded as for wrong passwords: {locked:#?}");
    assert_eq!(locked[0]["changes"]["failures"], json!(10), "{locked:#?}");
    assert_eq!(app.events(id, "auth.second_factor_failed").await.len(), 10);

    // Rounds 3 to 5: the right password gets the refusal a wrong one gets, and the right code
    // cannot use the last challenge either.
    for _ in 0..3 {
        let r = app.login("bob", STRONG).await;
        r.problem(401);
        assert_eq!(r.bytes, reference.bytes, "a locked user's refusal is a wrong password's: {}", r.text());
    }
    let (code, method) = app.next_code("bob");
    app.second_factor(&challenge(&step), &code, Some(method)).await.problem(401);
    let reasons: Vec<Value> =
        app.events(id, "auth.sign_in_failed").await.iter().map(|e| e["changes"]["reason"].clone()).collect();
    assert_eq!(reasons, vec![json!("locked"); 3], "the refused sign-ins say why, in the log only");

    // A pending challenge does not outlive a lock that comes while it waits: lock carl by wrong
    // passwords after he reached the code step.
    user_with_authenticator(&app, "carl", json!({})).await;
    let pending = code_step(&app, "carl").await;
    for _ in 0..10 {
        app.login("carl", "wrong-password-1").await.problem(401);
    }
    let (code, method) = app.next_code("carl");
    app.second_factor(&challenge(&pending), &code, Some(method)).await.problem(401);

    // An admin's unlock lets bob in again with the right password and code.
    app.unlock_as(&app.token, id).await.expect(204);
    let done = app.complete_sign_in("bob", code_step(&app, "bob").await).await;
    assert!(done["token"].is_string(), "{done}");
}

/// Emailed codes, recovery codes and the code confirming a new authenticator at sign-in count
/// as TOTP codes do: across sign-ins, up to the lock.
async fn wrong_email_recovery_and_set_up_codes_count_the_same_way(engine: Db) {
    let app = TestApp::spawn(engine).await;
    lockout(&app, 6, 1000).await;

    // Emailed codes.
    let eve = app
        .user_with_password("eve", STRONG, json!({ "email": "eve@example.com", "two_factor_method": "email" }))
        .await;
    for round in 0..2 {
        let step = code_step(&app, "eve").await;
        assert_eq!(step["methods"], json!(["email"]), "{step}");
        let wrong = other_than(&mailed_code(&app, "eve@example.com").await);
        for n in 0..3 {
            let r = app.second_factor(&challenge(&step), &wrong, Some("email")).await;
            match (round, n) {
                (1, 2) => r.problem(401),
                _ => r.problem_field(422, "code", "wrong_code"),
            };
        }
    }
    assert!(
        !app.get_user(eve).await.json(200)["locked_until"].is_null(),
        "six wrong emailed codes over two sign-ins lock"
    );
    assert_eq!(app.events(eve, "user.locked").await.len(), 1);
    app.login("eve", STRONG).await.problem(401);

    // Recovery codes.
    let rita = user_with_authenticator(&app, "rita", json!({})).await;
    for round in 0..2 {
        let step = code_step(&app, "rita").await;
        for n in 0..3 {
            let r = app.second_factor(&challenge(&step), "AAAAA-BBBBB", Some("recovery_code")).await;
            match (round, n) {
                (1, 2) => r.problem(401),
                _ => r.problem_field(422, "code", "wrong_code"),
            };
        }
    }
    assert!(!app.get_user(rita).await.json(200)["locked_until"].is_null(), "six wrong recovery codes lock");
    assert_eq!(app.events(rita, "user.locked").await.len(), 1);
    // Locked: even a good recovery code does not get past the password.
    app.login("rita", STRONG).await.problem(401);

    // The code confirming a new authenticator in the sign-in's set-up step.
    let sam = app.user_with_password("sam", STRONG, json!({ "two_factor_method": "totp" })).await;
    for round in 0..2 {
        let step = app.login("sam", STRONG).await.json(200);
        assert_eq!(step["step"], "totp_setup", "{step}");
        let c = challenge(&step);
        let secret = app.post("/api/v1/auth/totp-setup", json!({ "challenge": c })).await.json(200)["secret"]
            .as_str()
            .unwrap()
            .to_string();
        for n in 0..3 {
            let r = app
                .post("/api/v1/auth/totp-setup/confirm", json!({ "challenge": c, "code": wrong_totp(&secret) }))
                .await;
            match (round, n) {
                (1, 2) => r.problem(401),
                _ => r.problem_field(422, "code", "wrong_code"),
            };
        }
    }
    assert!(!app.get_user(sam).await.json(200)["locked_until"].is_null(), "six wrong set-up codes lock");
    assert_eq!(app.events(sam, "user.locked").await.len(), 1);
    assert_eq!(app.get_user(sam).await.json(200)["totp_enrolled"], false);
}

/// Wrong codes count for the address too, whoever's codes they are: spread over three users
/// (none near their own lock), they get the address refused with the password path's 429.
async fn wrong_codes_count_per_address(engine: Db) {
    let app = TestApp::spawn(engine).await;
    lockout(&app, 100, 5).await;
    let mut ids = Vec::new();
    for login in ["ann", "ben", "cat", "dan"] {
        ids.push(user_with_authenticator(&app, login, json!({})).await);
    }
    // dan's sign-in waits at the code step while the others' codes fail.
    let dan = code_step(&app, "dan").await;
    let mut failures = 0;
    for (login, guesses) in [("ann", 2), ("ben", 2), ("cat", 1)] {
        let step = code_step(&app, login).await;
        let wrong = wrong_totp(&app.authenticators.get(login).unwrap().secret);
        for _ in 0..guesses {
            failures += 1;
            let r = app.second_factor(&challenge(&step), &wrong, Some("totp")).await;
            if failures < 5 {
                r.problem_field(422, "code", "wrong_code");
            } else {
                // The fifth failure from this address: refused as the password path refuses it.
                r.problem(429);
                let seconds: u64 = r.header("retry-after").expect("Retry-After").parse().unwrap();
                assert!((60..=20 * 60).contains(&seconds), "Retry-After {seconds}");
            }
        }
    }
    // The address starts no sign-in and continues none, even with the right password and code.
    let r = app.login("ann", STRONG).await;
    r.problem(429);
    assert!(r.header("retry-after").is_some());
    let (code, method) = app.next_code("dan");
    app.second_factor(&challenge(&dan), &code, Some(method)).await.problem(429);
    // Nobody is locked: the count was the address's.
    assert!(app.list_all("locked=true").await.is_empty());
    for id in &ids {
        assert!(failures_of(&app, *id).await <= 2, "{id}");
    }
    // Another address is not refused.
    let other = reqwest::Client::builder().local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))).build().unwrap();
    let body = json!({ "account": app.account, "login": "dan", "password": STRONG });
    let r = other.post(app.url("/api/v1/auth/login")).json(&body).send().await.expect("from 127.0.0.2");
    assert_eq!(r.status(), 200, "from another address: {}", r.text().await.unwrap_or_default());
}

/// Only a session issued clears the count: a right password does not, a right code does.
async fn a_completed_sign_in_clears_the_count(engine: Db) {
    let app = TestApp::spawn(engine).await;
    lockout(&app, 10, 1000).await;
    let id = user_with_authenticator(&app, "bob", json!({})).await;
    let wrong = wrong_totp(&app.authenticators.get("bob").unwrap().secret);
    app.login("bob", "wrong-password-1").await.problem(401);
    let step = code_step(&app, "bob").await;
    for _ in 0..4 {
        app.second_factor(&challenge(&step), &wrong, Some("totp")).await.problem_field(422, "code", "wrong_code");
    }
    assert_eq!(failures_of(&app, id).await, 5, "a wrong password and four wrong codes");
    let step = code_step(&app, "bob").await;
    assert_eq!(failures_of(&app, id).await, 5, "the right password clears nothing");
    let done = app.answer_second_factor("bob", &step).await.json(200);
    assert!(done["token"].is_string(), "{done}");
    assert_eq!(failures_of(&app, id).await, 0, "the completed sign-in cleared the count");
    // Nine more wrong codes over two sign-ins stay below the limit of ten. A sign-in takes five
    // codes: the fifth wrong one ends it (401) instead of leaving a sixth try.
    for guesses in [5, 4] {
        let step = code_step(&app, "bob").await;
        for n in 1..=guesses {
            let r = app.second_factor(&challenge(&step), &wrong, Some("totp")).await;
            match n {
                5 => r.problem(401),
                _ => r.problem_field(422, "code", "wrong_code"),
            };
        }
    }
    assert_eq!(failures_of(&app, id).await, 9);
    assert_eq!(app.get_user(id).await.json(200)["locked_until"], Value::Null);
    app.complete_sign_in("bob", code_step(&app, "bob").await).await;
    assert_eq!(failures_of(&app, id).await, 0);
}

async fn email_codes_queued_for(app: &TestApp, to: &str) -> i64 {
    let q = format!(
        "SELECT CAST(COUNT(*) AS TEXT) FROM mail_outbox WHERE kind = 'second_factor_code' AND recipient = '{to}'"
    );
    app.sql_text(&q).await.parse().unwrap()
}

/// D6: whatever the admin's method, an authenticator they have is what they sign in with (or a
/// recovery code); emailed codes are neither offered, sent nor accepted. An admin without one
/// keeps the emailed code until they set one up; a user who is no admin keeps the choice.
async fn an_admin_with_an_authenticator_never_signs_in_by_email(engine: Db) {
    let app = TestApp::spawn(engine).await;
    let ada = admin_with_authenticator(&app, "ada").await;
    for method in ["either", "email"] {
        app.update_user(ada, json!({ "two_factor_method": method })).await;
        let step = code_step(&app, "ada").await;
        assert_eq!(step["methods"], json!(["totp", "recovery_code"]), "{method}: {step}");
        assert!(step.get("email_sent_to").is_none_or(Value::is_null), "{method}: no code mailed: {step}");
        let asked = app.post("/api/v1/auth/second-factor/email", json!({ "challenge": challenge(&step) })).await;
        let problem = asked.problem_field(422, "challenge", "authenticator_required");
        assert!(problem.to_string().contains("authenticator app"), "{problem}");
        app.second_factor(&challenge(&step), "123456", Some("email")).await.problem_field(
            422,
            "method",
            "authenticator_required",
        );
        assert_eq!(email_codes_queued_for(&app, "ada@example.com").await, 0, "{method}: no code was queued");
        // The authenticator's code works, without naming the method too (the phone has a fresh
        // step for the first sign-in here; later ones may take a recovery code).
        let (code, kind) = app.next_code("ada");
        assert!(method != "either" || kind == "totp", "{kind}");
        assert!(app.second_factor(&challenge(&step), &code, None).await.json(200)["token"].is_string());
    }
    // A recovery code works as well.
    let step = code_step(&app, "ada").await;
    let spare = app.authenticators.get("ada").unwrap().recovery_codes[0].clone();
    assert!(app.second_factor(&challenge(&step), &spare, Some("recovery_code")).await.json(200)["token"].is_string());

    // Admin through a group: the same.
    let admin = app.builtin_role("admin").await;
    let group = id_of(&app.post(&app.acct("groups"), json!({ "name": "Admins", "roles": [admin] })).await.json(201));
    let gus = user_with_authenticator(&app, "gus", json!({ "email": "gus@example.com", "groups": [group] })).await;
    app.update_user(gus, json!({ "two_factor_method": "either" })).await;
    let step = code_step(&app, "gus").await;
    assert_eq!(step["methods"], json!(["totp", "recovery_code"]), "{step}");
    app.post("/api/v1/auth/second-factor/email", json!({ "challenge": challenge(&step) })).await.problem_field(
        422,
        "challenge",
        "authenticator_required",
    );

    // No longer an admin: "either" offers the emailed code again, which signs in.
    app.update_user(ada, json!({ "roles": [], "two_factor_method": "either" })).await;
    let step = code_step(&app, "ada").await;
    assert_eq!(step["methods"], json!(["totp", "email", "recovery_code"]), "{step}");
    app.post("/api/v1/auth/second-factor/email", json!({ "challenge": challenge(&step) })).await.json(202);
    let code = mailed_code(&app, "ada@example.com").await;
    assert!(app.second_factor(&challenge(&step), &code, Some("email")).await.json(200)["token"].is_string());

    // An admin without an authenticator keeps the emailed code (R27: set one up from My Account).
    app.user_with_password(
        "eva",
        STRONG,
        json!({ "email": "eva@example.com", "two_factor_method": "email", "roles": [admin] }),
    )
    .await;
    let step = code_step(&app, "eva").await;
    assert_eq!(step["methods"], json!(["email"]), "{step}");
    let code = mailed_code(&app, "eva@example.com").await;
    assert!(app.second_factor(&challenge(&step), &code, None).await.json(200)["token"].is_string());
}

/// D6 (and R27): an admin with an authenticator is asked for it at every sign-in, whatever
/// their mode: from a device the suspicious mode knows too.
async fn an_admin_is_asked_for_the_authenticator_even_from_a_known_device(engine: Db) {
    let app = TestApp::spawn(engine).await;
    let admin = app.builtin_role("admin").await;
    let ada = app
        .user_with_password(
            "ada",
            STRONG,
            json!({ "email": "ada@example.com", "roles": [admin], "two_factor_mode": "suspicious" }),
        )
        .await;
    let first = app.complete_sign_in("ada", app.login("ada", STRONG).await.json(200)).await;
    let device = first["device"].as_str().expect("a device token in the suspicious mode").to_string();
    let from_device = || app.login_with(json!({ "login": "ada", "password": STRONG, "device": device }));
    for method in ["email", "either", "totp"] {
        app.update_user(ada, json!({ "two_factor_method": method })).await;
        let step = from_device().await.json(200);
        assert_eq!(
            (step["step"].as_str(), step["reason"].as_str(), step["methods"].clone()),
            (Some("second_factor"), Some("always"), json!(["totp", "recovery_code"])),
            "{method}: {step}"
        );
        assert!(app.answer_second_factor("ada", &step).await.json(200)["token"].is_string());
    }
    // The device and address are known: without the Admin role, the password alone signs in.
    app.update_user(ada, json!({ "roles": [] })).await;
    let known = from_device().await.json(200);
    assert!(known["token"].is_string(), "a known device spares the code of a user who is no admin: {known}");
}

/// The console's code page offers an admin with an authenticator no "send me a code", and
/// refuses one asked for anyway, saying why.
async fn the_console_offers_admins_no_emailed_code(engine: Db) {
    let app = TestApp::spawn(engine).await;
    let ada = admin_with_authenticator(&app, "ada").await;
    app.update_user(ada, json!({ "two_factor_method": "either" })).await;
    let http =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = http
        .post(app.url("/login"))
        .form(&[("account", "default"), ("login", "ada"), ("password", STRONG)])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap();
    assert!(body.contains("action=\"/login/second-factor\""), "the code step: {body}");
    assert!(
        !body.contains("/login/second-factor/email") && !body.contains("Send me a code"),
        "no emailed code offered: {body}"
    );
    assert!(!body.contains("Emailed code") && body.contains("Authenticator app"), "{body}");
    // Asked for anyway (a made-up form): refused with the reason.
    let mut form = hidden_fields(&body, "/login/second-factor");
    form.retain(|(k, _)| k != "method" && k != "code");
    let asked = http.post(app.url("/login/second-factor/email")).form(&form).send().await.unwrap();
    assert_eq!(asked.status(), 422);
    let text = asked.text().await.unwrap();
    assert!(text.contains("Admins sign in with their authenticator app"), "{text}");
    assert_eq!(email_codes_queued_for(&app, "ada@example.com").await, 0);
    // Not an admin: the same method offers the emailed code.
    app.update_user(ada, json!({ "roles": [] })).await;
    let page = http
        .post(app.url("/login"))
        .form(&[("account", "default"), ("login", "ada"), ("password", STRONG)])
        .send()
        .await
        .unwrap();
    let body = page.text().await.unwrap();
    assert!(body.contains("action=\"/login/second-factor/email\""), "{body}");
}

/// D6's notice, queued as the user-update service will queue it: to the old address, saying
/// what changed, by whom and when, with nothing secret in it.
async fn an_admin_hears_of_a_changed_factor_at_the_old_address(engine: Db) {
    let app = TestApp::spawn(engine).await;
    let ada = admin_with_authenticator(&app, "ada").await;
    let account: i64 =
        app.sql_text("SELECT CAST(id AS TEXT) FROM accounts WHERE slug = 'default'").await.parse().unwrap();
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&app.database_url).await.unwrap();
    roster::second_factor::notices::admin_factor_changed(
        &mut conn,
        roster::ids::AccountId(account),
        roster::ids::UserId(ada),
        "ada",
        "ada@example.com",
        "email",
        &app.admin_login,
    )
    .await
    .expect("queued");
    let mail = loop {
        let mail = app.mailbox.wait_for("ada@example.com").await;
        if mail.subject == "Your email was changed" {
            break mail;
        }
    };
    assert!(mail.text.contains("Hello ada,"), "{}", mail.text);
    assert!(mail.text.contains(&format!("was changed by {} on ", app.admin_login)), "{}", mail.text);
    assert!(mail.text.contains("contact another admin"), "{}", mail.text);
    assert!(!mail.text.contains("http") && !mail.text.contains(STRONG), "no link, no secret: {}", mail.text);
    let outbox = app.get(&app.acct("outbox")).await.json(200);
    assert!(outbox.to_string().contains("admin_factor_changed"), "{outbox}");
}

/// The mailbox and the password together are not the authenticator: a reset link ends the
/// password's story, not the count of wrong codes, nor the lock they led to.
async fn a_reset_link_does_not_buy_more_guesses_at_the_authenticator(engine: Db) {
    let app = TestApp::spawn(engine).await;
    lockout(&app, 10, 1000).await;
    let id = user_with_authenticator(&app, "rita", json!({ "email": "rita@example.com" })).await;
    let wrong = wrong_totp(&app.authenticators.get("rita").unwrap().secret);
    let step = code_step(&app, "rita").await;
    for _ in 0..4 {
        app.second_factor(&challenge(&step), &wrong, Some("totp")).await.problem_field(422, "code", "wrong_code");
    }
    assert_eq!(failures_of(&app, id).await, 4);
    let body = json!({ "account": app.account, "login_or_email": "rita" });
    app.send(app.anon(reqwest::Method::POST, "/api/v1/auth/forgot-password").json(&body)).await.expect(202);
    let link = loop {
        let mail = app.mailbox.wait_for("rita@example.com").await;
        if mail.text.contains("/reset-password/") {
            break mail.link();
        }
    };
    let token = link.rsplit('/').next().unwrap().to_string();
    let reset = json!({ "token": token, "new_password": "Saffron-Glacier-29&" });
    app.send(app.anon(reqwest::Method::POST, "/api/v1/auth/reset-password").json(&reset)).await.expect(204);
    assert_eq!(failures_of(&app, id).await, 4, "the reset cleared nothing");
}
