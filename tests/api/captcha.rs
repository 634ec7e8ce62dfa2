//! CAPTCHA at sign-in (R31): asked for by a user's flag or the account's policy, answered
//! before the password is checked, single use, ten minutes, with a question in words as the
//! accessible alternative (which these tests answer, as a screen-reader user would).

use reqwest::Method;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::helpers::{Engine, Resp, STRONG, TestApp, assert_near, parse_time, token_without_steps};

both_engines!(
    a_flagged_user_gets_the_step_and_others_do_not,
    the_policy_asks_after_failures_from_an_address,
    always_asks_every_sign_in_even_unknown_logins,
    the_picture_is_a_real_png_served_without_caching,
    the_right_answer_and_password_sign_in,
    a_wrong_answer_gets_a_fresh_step_and_uses_the_challenge_up,
    a_used_challenge_is_refused,
    an_expired_challenge_is_refused,
    no_password_is_checked_without_the_captcha,
    captcha_settings_are_validated,
    a_take_over_goes_with_the_captcha,
    the_console_login_shows_the_picture_and_the_question,
);

/// The answer to "What is seven plus four?", worked out from the words.
fn solve(question: &str) -> u32 {
    const WORDS: [&str; 11] = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];
    let number = |w: &str| {
        WORDS.iter().position(|x| *x == w).unwrap_or_else(|| panic!("not a number word: {w} in {question}")) as u32
    };
    let words: Vec<&str> =
        question.strip_prefix("What is ").and_then(|q| q.strip_suffix('?')).expect(question).split(' ').collect();
    let (a, b) = (number(words[0]), number(words[2]));
    match words[1] {
        "plus" => a + b,
        "minus" => a - b,
        "times" => a * b,
        other => panic!("unknown operation {other} in {question}"),
    }
}

/// Asserts a `captcha` step with `reason`; returns the login answer.
#[track_caller]
fn captcha_step(r: &Resp, reason: &str) -> Value {
    let body = r.json(200);
    assert_eq!(body["step"], "captcha", "{body}");
    assert_eq!(body["reason"], reason, "{body}");
    assert!(body.get("token").is_none(), "a token without a CAPTCHA: {body}");
    let challenge =
        body["challenge"].as_str().filter(|c| c.len() >= 40).unwrap_or_else(|| panic!("no challenge in {body}"));
    assert_eq!(body["image"], format!("/api/v1/auth/captcha/{challenge}.png"), "{body}");
    assert!(body["question"].as_str().is_some_and(|q| q.starts_with("What is ")), "{body}");
    assert_near(
        parse_time(&body["expires_at"]),
        OffsetDateTime::now_utc() + Duration::minutes(10),
        Duration::minutes(2),
        "expires_at",
    );
    body
}

async fn login_answering(app: &TestApp, login: &str, password: &str, step: &Value, answer: &str) -> Resp {
    let captcha = json!({ "challenge": step["challenge"], "answer": answer });
    app.login_with(json!({ "login": login, "password": password, "captcha": captcha })).await
}

/// Signs in answering the step's question in digits; asserts a token (no further step).
async fn solved(app: &TestApp, login: &str, password: &str, step: &Value) -> String {
    let answer = solve(step["question"].as_str().unwrap()).to_string();
    let body = login_answering(app, login, password, step, &answer).await.json(200);
    token_without_steps(login, &body)
}

/// Like `solved`, for an admin: their second factor (R27) follows the CAPTCHA.
async fn solved_with_second_factor(app: &TestApp, login: &str, password: &str, step: &Value) -> String {
    let answer = solve(step["question"].as_str().unwrap()).to_string();
    let body = login_answering(app, login, password, step, &answer).await.json(200);
    assert_eq!(body["step"], "second_factor", "the CAPTCHA answered, the second factor follows: {body}");
    let body = app.complete_sign_in(login, body).await;
    body["token"].as_str().unwrap_or_else(|| panic!("no token in {body}")).to_string()
}

async fn flagged_user(app: &TestApp, login: &str) -> i64 {
    let id = app.user_with_password(login, STRONG, json!({})).await;
    let user = app.update_user_security(id, json!({ "captcha_required": true })).await;
    assert_eq!(user["captcha_required"], true, "{user}");
    id
}

async fn a_flagged_user_gets_the_step_and_others_do_not(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = flagged_user(&app, "flagged").await;
    app.user_with_password("plain", STRONG, json!({})).await;
    let security = app.get(&format!("{}/security", app.user_path(id))).await.json(200);
    assert_eq!(security["captcha_required"], true, "{security}");
    let changed = app.events(id, "user.security_changed").await;
    assert_eq!(changed[0]["changes"]["captcha_required"], json!({ "from": false, "to": true }), "{changed:#?}");

    captcha_step(&app.login("flagged", STRONG).await, "required");
    let token = app.sign_in("plain", STRONG).await;
    app.session(&token).await.expect(200);

    // The flag off again: no step.
    app.update_user_security(id, json!({ "captcha_required": false })).await;
    app.sign_in("flagged", STRONG).await;
}

async fn the_policy_asks_after_failures_from_an_address(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.set_security(|s| s["captcha"]["after_address_failures"] = json!(3)).await;
    app.user_with_password("ann", STRONG, json!({})).await;
    app.sign_in("ann", STRONG).await;
    for _ in 0..3 {
        app.login("ann", "not-the-password").await.problem(401);
    }
    // Three failures from this address: every sign-in from it now answers a CAPTCHA first,
    // the right password and unknown logins alike.
    let step = captcha_step(&app.login("ann", STRONG).await, "required");
    captcha_step(&app.login("nobody-here", STRONG).await, "required");
    solved(&app, "ann", STRONG, &step).await;
}

async fn always_asks_every_sign_in_even_unknown_logins(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let settings = app.set_security(|s| s["captcha"]["always"] = json!(true)).await;
    assert_eq!(settings["captcha"], json!({ "always": true, "after_address_failures": 0 }));
    let step = captcha_step(&app.login(&app.admin_login, &app.admin_password).await, "required");
    captcha_step(&app.login("nobody-here", STRONG).await, "required");
    solved_with_second_factor(&app, &app.admin_login.clone(), &app.admin_password.clone(), &step).await;
}

async fn the_picture_is_a_real_png_served_without_caching(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    flagged_user(&app, "flagged").await;
    let step = captcha_step(&app.login("flagged", STRONG).await, "required");
    let image = app.send(app.anon(Method::GET, step["image"].as_str().unwrap())).await;
    image.expect(200);
    assert_eq!(image.content_type(), "image/png");
    assert_eq!(image.header("cache-control").as_deref(), Some("no-store"));
    let size = imagesize::blob_size(&image.bytes).expect("an image");
    assert_eq!(imagesize::image_type(&image.bytes).unwrap(), imagesize::ImageType::Png);
    assert_eq!((size.width, size.height), (220, 80));
    // Decoded in full (every chunk's CRC and the data's checksum): a picture, not one colour.
    let mut reader = png::Decoder::new(std::io::Cursor::new(image.bytes.clone())).read_info().expect("a PNG header");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a sane size")];
    reader.next_frame(&mut pixels).expect("the PNG's data");
    let colours: std::collections::HashSet<&[u8]> = pixels.chunks(3).collect();
    assert!(colours.len() > 50, "{} colours", colours.len());

    // Two challenges, two pictures; an unknown one and a malformed name are not found.
    let other = captcha_step(&app.login("flagged", STRONG).await, "required");
    let other_image = app.send(app.anon(Method::GET, other["image"].as_str().unwrap())).await;
    assert_ne!(other_image.bytes, image.bytes);
    app.send(app.anon(Method::GET, "/api/v1/auth/captcha/not-a-challenge.png")).await.problem(404);
    let no_suffix = format!("/api/v1/auth/captcha/{}", step["challenge"].as_str().unwrap());
    app.send(app.anon(Method::GET, &no_suffix)).await.problem(404);
    // Once answered, the picture is gone.
    solved(&app, "flagged", STRONG, &step).await;
    app.send(app.anon(Method::GET, step["image"].as_str().unwrap())).await.problem(404);
}

async fn the_right_answer_and_password_sign_in(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = flagged_user(&app, "flagged").await;
    let step = captcha_step(&app.login("flagged", STRONG).await, "required");
    let token = solved(&app, "flagged", STRONG, &step).await;
    let session = app.session(&token).await.json(200);
    assert_eq!(session["user"]["id"], id);
    // Answers are compared without case or spaces; words count as digits.
    let step = captcha_step(&app.login("flagged", STRONG).await, "required");
    let words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];
    let answer = solve(step["question"].as_str().unwrap());
    let spoken = match words.get(answer as usize) {
        Some(w) => format!("  {} ", w.to_uppercase()),
        None => format!(" {answer} "),
    };
    login_answering(&app, "flagged", STRONG, &step, &spoken).await.json(200)["token"].as_str().expect("a token");
    // A right answer still needs the right password: the sign-in fails as any other.
    let step = captcha_step(&app.login("flagged", STRONG).await, "required");
    let answer = solve(step["question"].as_str().unwrap()).to_string();
    login_answering(&app, "flagged", "wrong-password-1", &step, &answer).await.problem(401);
    assert_eq!(app.events(id, "auth.sign_in_failed").await.len(), 1);
    assert!(app.events(id, "auth.captcha_failed").await.is_empty());
}

async fn a_wrong_answer_gets_a_fresh_step_and_uses_the_challenge_up(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = flagged_user(&app, "flagged").await;
    let first = captcha_step(&app.login("flagged", STRONG).await, "required");
    let wrong = (solve(first["question"].as_str().unwrap()) + 1).to_string();
    let fresh = captcha_step(&login_answering(&app, "flagged", STRONG, &first, &wrong).await, "wrong_answer");
    assert_ne!(fresh["challenge"], first["challenge"]);
    let failed = app.events(id, "auth.captcha_failed").await;
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!(failed[0]["changes"]["reason"], "wrong_answer");
    // The first challenge was used by the wrong attempt: its right answer no longer counts.
    let right = solve(first["question"].as_str().unwrap()).to_string();
    captcha_step(&login_answering(&app, "flagged", STRONG, &first, &right).await, "expired");
    // No password was checked for any of this.
    assert!(app.events(id, "auth.sign_in_failed").await.is_empty());
    solved(&app, "flagged", STRONG, &fresh).await;
}

async fn a_used_challenge_is_refused(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = flagged_user(&app, "flagged").await;
    let step = captcha_step(&app.login("flagged", STRONG).await, "required");
    solved(&app, "flagged", STRONG, &step).await;
    let answer = solve(step["question"].as_str().unwrap()).to_string();
    captcha_step(&login_answering(&app, "flagged", STRONG, &step, &answer).await, "expired");
    let failed = app.events(id, "auth.captcha_failed").await;
    assert_eq!(failed[0]["changes"]["reason"], "expired", "{failed:#?}");
}

async fn an_expired_challenge_is_refused(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    flagged_user(&app, "flagged").await;
    let step = captcha_step(&app.login("flagged", STRONG).await, "required");
    let stored = app.sql_text("SELECT answer_hashes FROM captcha_challenges").await;
    let answer = solve(step["question"].as_str().unwrap()).to_string();
    let hashes: Vec<&str> = stored.split(' ').collect();
    assert_eq!(hashes.len(), 2, "the picture's answer and the question's: {stored}");
    assert!(
        hashes.iter().all(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit())),
        "answers are stored hashed: {stored}"
    );
    app.sql("UPDATE captcha_challenges SET expires_at = created_at - 1").await;
    app.send(app.anon(Method::GET, step["image"].as_str().unwrap())).await.problem(404);
    captcha_step(&login_answering(&app, "flagged", STRONG, &step, &answer).await, "expired");
}

async fn no_password_is_checked_without_the_captcha(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.set_security(|s| s["lockout"]["max_failures"] = json!(3)).await;
    let id = flagged_user(&app, "flagged").await;
    // Wrong passwords without a CAPTCHA each get the step: no failure is counted, nothing locks.
    for _ in 0..5 {
        captcha_step(&app.login("flagged", "wrong-password-1").await, "required");
    }
    let user = app.get_user(id).await.json(200);
    assert_eq!(user["locked_until"], Value::Null, "{user}");
    assert!(app.events(id, "auth.sign_in_failed").await.is_empty());
    let step = captcha_step(&app.login("flagged", STRONG).await, "required");
    solved(&app, "flagged", STRONG, &step).await;
}

async fn captcha_settings_are_validated(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (doc, etag) = app.security().await;
    assert_eq!(doc["captcha"], json!({ "always": false, "after_address_failures": 0 }), "the defaults: {doc}");
    // At or above the address block the threshold could never be reached.
    let mut bad = doc.clone();
    bad["captcha"]["after_address_failures"] = json!(50);
    app.put_security(Some(&etag), bad).await.problem_on(422, "captcha.after_address_failures");
    // A document that does not parse (a negative count, an unknown member, a string for a
    // flag) is a 400 naming the member.
    for (field, value) in [("after_address_failures", json!(-1)), ("sometimes", json!(true)), ("always", json!("yes"))]
    {
        let mut bad = doc.clone();
        bad["captcha"][field] = value;
        let r = app.put_security(Some(&etag), bad).await.problem(400);
        assert!(r["detail"].as_str().unwrap().contains(&format!("captcha.{field}")), "{r}");
    }
    // Nothing changed on refusal.
    let (now, now_etag) = app.security().await;
    assert_eq!((now, now_etag), (doc, etag));
    // The per-user flag takes a boolean only.
    let id = app.user_with_password("ann", STRONG, json!({})).await;
    let current = app.get(&format!("{}/security", app.user_path(id))).await;
    let r = app.put_user_security(id, Some(&current.etag()), json!({ "captcha_required": "yes" })).await.problem(400);
    assert!(r["detail"].as_str().unwrap().contains("captcha_required"), "{r}");
    assert_eq!(app.get_user(id).await.json(200)["captcha_required"], false);
}

async fn a_take_over_goes_with_the_captcha(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.set_security(|s| s["sessions"]["one_session_per_user"] = json!(true)).await;
    flagged_user(&app, "flagged").await;
    let step = captcha_step(&app.login("flagged", STRONG).await, "required");
    let first = solved(&app, "flagged", STRONG, &step).await;
    // The CAPTCHA comes first, then the password, then the one-session policy.
    let step = captcha_step(&app.login("flagged", STRONG).await, "required");
    let answer = solve(step["question"].as_str().unwrap()).to_string();
    let refused = login_answering(&app, "flagged", STRONG, &step, &answer).await;
    assert_eq!(refused.problem(409)["code"], "session_active");
    let step = captcha_step(
        &app.login_with(json!({ "login": "flagged", "password": STRONG, "take_over": true })).await,
        "required",
    );
    let answer = solve(step["question"].as_str().unwrap()).to_string();
    let captcha = json!({ "challenge": step["challenge"], "answer": answer });
    let body = app
        .login_with(json!({ "login": "flagged", "password": STRONG, "take_over": true, "captcha": captcha }))
        .await
        .json(200);
    let second = body["token"].as_str().unwrap_or_else(|| panic!("no token in {body}"));
    app.session(&first).await.problem(401);
    app.session(second).await.expect(200);
}

async fn the_console_login_shows_the_picture_and_the_question(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = flagged_user(&app, "flagged").await;
    // The settings page has the CAPTCHA section, the user's security page the flag.
    let admin = app.console_sign_in_with_second_factor(&app.admin_login, &app.admin_password).await;
    let settings = admin.get(app.url("/console/settings/security")).send().await.unwrap().text().await.unwrap();
    assert!(
        settings.contains("CAPTCHA at sign-in") && settings.contains("name=\"captcha.after_address_failures\""),
        "{settings}"
    );
    assert!(settings.contains("name=\"captcha.always\""), "{settings}");
    let user_page =
        admin.get(app.url(&format!("/console/users/{id}/security"))).send().await.unwrap().text().await.unwrap();
    assert!(user_page.contains("name=\"captcha_required\" value=\"on\" checked"), "{user_page}");
    let browser =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let post = |form: Vec<(&'static str, String)>| {
        let request = browser.post(app.url("/login")).form(&form);
        async move {
            let r = request.send().await.unwrap();
            (
                r.status().as_u16(),
                r.headers().get("location").map(|v| v.to_str().unwrap().to_string()),
                r.text().await.unwrap(),
            )
        }
    };
    let account = app.account.clone();
    let (status, _, page) =
        post(vec![("account", account.clone()), ("login", "flagged".into()), ("password", STRONG.into())]).await;
    assert_eq!(status, 200, "{page}");
    let between = |page: &str, start: &str, end: &str| -> String {
        let from = page.find(start).unwrap_or_else(|| panic!("no {start:?} in:\n{page}")) + start.len();
        page[from..].split(end).next().unwrap().to_string()
    };
    let image = between(&page, "src=\"/api/v1/auth/captcha/", "\"");
    assert!(image.ends_with(".png"), "{image}");
    assert!(page.contains("alt=\"Distorted letters"), "{page}");
    let question = between(&page, "<span id=\"captcha-question\">", "</span>");
    assert!(question.starts_with("What is "), "{question}");
    assert!(page.contains("for=\"f-captcha\"") && page.contains("name=\"captcha_answer\""), "{page}");
    let challenge = between(&page, "name=\"captcha_challenge\" value=\"", "\"");
    assert_eq!(format!("{challenge}.png"), image);
    let picture = browser.get(app.url(&format!("/api/v1/auth/captcha/{image}"))).send().await.unwrap();
    assert_eq!(picture.status(), 200);
    assert_eq!(picture.bytes().await.unwrap()[..8], *b"\x89PNG\r\n\x1a\n");

    // "New challenge" gives another one.
    let again = between(&page, "href=\"/login?", "\"").replace("&amp;", "&");
    let fresh = browser.get(app.url(&format!("/login?{again}"))).send().await.unwrap().text().await.unwrap();
    let fresh_challenge = between(&fresh, "name=\"captcha_challenge\" value=\"", "\"");
    assert_ne!(fresh_challenge, challenge);

    // A wrong answer shows a new check; the right one with the password signs in.
    let wrong = (solve(&question) + 1).to_string();
    let form = |challenge: &str, answer: String| {
        vec![
            ("account", account.clone()),
            ("login", "flagged".to_string()),
            ("password", STRONG.to_string()),
            ("captcha_challenge", challenge.to_string()),
            ("captcha_answer", answer),
        ]
    };
    let (status, _, page) = post(form(&challenge, wrong)).await;
    assert_eq!(status, 200);
    assert!(page.contains("That answer was not right"), "{page}");
    let question = between(&page, "<span id=\"captcha-question\">", "</span>");
    let challenge = between(&page, "name=\"captcha_challenge\" value=\"", "\"");
    let (status, location, page) = post(form(&challenge, solve(&question).to_string())).await;
    assert_eq!((status, location.as_deref()), (303, Some("/console/users")), "{page}");
}
