//! Second factor over HTTP (R26–R30): authenticator set-up at sign-in, codes that work once,
//! recovery codes, an admin's reset, R27 for admins, the suspicious mode, the account's policy.
//! Codes come from `oathtool` (an independent RFC 6238 implementation) where it matters, and
//! from the test's own authenticator otherwise.

use base64::Engine;
use serde_json::{Value, json};

use crate::helpers::{Authenticator, Engine as Db, STRONG, TestApp, now_step, totp_code};

both_engines!(
    an_admin_sets_up_the_authenticator_at_first_sign_in,
    codes_from_oathtool_are_accepted_once,
    recovery_codes_work_once_and_can_be_renewed,
    wrong_codes_run_out_and_count_toward_the_lockout,
    a_second_factor_cannot_be_disabled_for_an_admin,
    an_admin_resets_a_users_authenticator,
    the_suspicious_mode_asks_only_for_new_devices,
    a_new_address_or_country_is_suspicious,
    the_account_can_require_a_second_factor_of_everyone,
    my_account_sets_up_a_new_authenticator,
    bad_input_is_refused_with_the_field,
    parallel_guesses_cannot_pass_the_attempt_limit,
    only_someone_as_trusted_may_reset_an_authenticator,
    a_kept_authenticator_is_asked_for_not_replaced,
);

/// The current code of a base32 key, from Debian's oathtool.
fn oathtool(secret: &str, at_step: i64) -> String {
    let out = std::process::Command::new("oathtool")
        .args(["--totp", "-b", "-N", &format!("@{}", at_step * 30), secret])
        .output()
        .expect("oathtool is installed (apt-get install oathtool, as .ci/run does)");
    assert!(out.status.success(), "oathtool: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

async fn admin_user(app: &TestApp, login: &str) -> i64 {
    let admin = app.builtin_role("admin").await;
    app.user_with_password(login, STRONG, json!({ "email": format!("{login}@example.com"), "roles": [admin] })).await
}

fn challenge(step: &Value) -> String {
    step["challenge"].as_str().unwrap_or_else(|| panic!("no challenge in {step}")).to_string()
}

async fn an_admin_sets_up_the_authenticator_at_first_sign_in(engine: Db) {
    let app = TestApp::spawn(engine).await;
    let id = admin_user(&app, "ada").await;
    let step = app.login("ada", STRONG).await.json(200);
    assert_eq!(step["step"], "totp_setup", "{step}");
    assert_eq!(step["reason"], "admin_required", "{step}");
    assert!(step.get("token").is_none(), "no session before the second factor: {step}");
    let c = challenge(&step);

    let setup = app.post("/api/v1/auth/totp-setup", json!({ "challenge": c })).await.json(200);
    let secret = setup["secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 32, "160 bits in base32: {setup}");
    let uri = setup["uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/") && uri.contains(&secret) && uri.contains("ada%40example.com"), "{uri}");
    assert!(setup["qr_svg"].as_str().unwrap().contains("<svg"), "SVG QR code");
    let qr = base64::engine::general_purpose::STANDARD.decode(setup["qr_png"].as_str().unwrap()).unwrap();
    assert_eq!(&qr[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let (w, h) =
        (u32::from_be_bytes(qr[16..20].try_into().unwrap()), u32::from_be_bytes(qr[20..24].try_into().unwrap()));
    assert!(w >= 240 && w == h, "a square QR code of at least 240 px: {w}x{h}");
    // Asking again while the challenge lives gives the same key (the page may be reloaded).
    assert_eq!(
        app.post("/api/v1/auth/totp-setup", json!({ "challenge": c })).await.json(200)["secret"],
        secret.as_str()
    );

    let wrong = app.post("/api/v1/auth/totp-setup/confirm", json!({ "challenge": c, "code": "000000" })).await;
    if oathtool(&secret, now_step()) != "000000" {
        wrong.problem_field(422, "code", "wrong_code");
    }
    let done = app
        .post("/api/v1/auth/totp-setup/confirm", json!({ "challenge": c, "code": oathtool(&secret, now_step()) }))
        .await;
    let done = done.json(200);
    let token = done["token"].as_str().expect("signed in after the set-up");
    let codes: Vec<String> =
        done["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
    assert_eq!(codes.len(), 10, "{done}");
    assert_eq!(app.session(token).await.json(200)["user"]["id"], id);

    let user = app.get_user(id).await.json(200);
    assert_eq!(user["two_factor_method"], "totp", "a forced set-up turns the method on: {user}");
    assert_eq!(user["totp_enrolled"], true);
    assert_eq!(app.events(id, "user.second_factor_set_up").await.len(), 1);
    // The challenge is spent.
    app.post("/api/v1/auth/totp-setup", json!({ "challenge": c })).await.problem(401);
}

async fn codes_from_oathtool_are_accepted_once(engine: Db) {
    let app = TestApp::spawn(engine).await;
    admin_user(&app, "ada").await;
    app.sign_in_with_second_factor("ada", STRONG).await; // sets up the authenticator
    let secret = app.authenticators.get("ada").unwrap().secret;
    let used = app.authenticators.get("ada").unwrap().last_step;

    let step = app.login("ada", STRONG).await.json(200);
    assert_eq!(step["step"], "second_factor", "{step}");
    assert_eq!(step["reason"], "always");
    assert_eq!(step["methods"], json!(["totp", "recovery_code"]));
    // The code confirmed at set-up was used: it does not sign in again.
    app.second_factor(&challenge(&step), &oathtool(&secret, used), Some("totp")).await.problem_field(
        422,
        "code",
        "already_used",
    );
    let next = used + 1;
    let signed_in = app.second_factor(&challenge(&step), &oathtool(&secret, next), Some("totp")).await.json(200);
    assert!(signed_in["token"].as_str().is_some(), "{signed_in}");
    // Replay of that code in a new sign-in: refused.
    let step = app.login("ada", STRONG).await.json(200);
    app.second_factor(&challenge(&step), &oathtool(&secret, next), None).await.problem_field(
        422,
        "code",
        "already_used",
    );
    // A code two steps away is outside the drift.
    let far = oathtool(&secret, now_step() + 3);
    let r = app.second_factor(&challenge(&step), &far, None).await;
    if ![now_step() - 1, now_step(), now_step() + 1].iter().any(|s| totp_code(&secret, *s) == far) {
        r.problem_field(422, "code", "wrong_code");
    }
    let events = app.activity("action=auth.second_factor_failed&limit=50").await;
    assert!(events.len() >= 2, "failed codes are recorded: {events:?}");
}

async fn recovery_codes_work_once_and_can_be_renewed(engine: Db) {
    let app = TestApp::spawn(engine).await;
    admin_user(&app, "ada").await;
    let token = app.sign_in_with_second_factor("ada", STRONG).await;
    let codes = app.authenticators.get("ada").unwrap().recovery_codes;
    let step = app.login("ada", STRONG).await.json(200);
    // Typed in lower case with spaces: still the code.
    let typed = codes[0].to_lowercase().replace('-', " ");
    app.second_factor(&challenge(&step), &typed, None).await.json(200);
    let step = app.login("ada", STRONG).await.json(200);
    app.second_factor(&challenge(&step), &codes[0], None).await.problem_field(422, "code", "wrong_code");
    let status = app.get_as(&token, "/api/v1/me/second-factor").await.json(200);
    assert_eq!(status["recovery_codes_left"], 9, "{status}");

    app.post_as(&token, "/api/v1/me/second-factor/recovery-codes", json!({ "current_password": "wrong" }))
        .await
        .problem_field(422, "current_password", "incorrect");
    let fresh = app
        .post_as(&token, "/api/v1/me/second-factor/recovery-codes", json!({ "current_password": STRONG }))
        .await
        .json(200);
    let fresh: Vec<&str> = fresh["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert_eq!(fresh.len(), 10);
    app.second_factor(&challenge(&step), &codes[1], Some("recovery_code")).await.problem_field(
        422,
        "code",
        "wrong_code",
    );
    app.second_factor(&challenge(&step), fresh[0], Some("recovery_code")).await.json(200);
}

async fn wrong_codes_run_out_and_count_toward_the_lockout(engine: Db) {
    let app = TestApp::spawn(engine).await;
    let id = admin_user(&app, "ada").await;
    app.sign_in_with_second_factor("ada", STRONG).await;
    let secret = app.authenticators.get("ada").unwrap().secret;
    let step = app.login("ada", STRONG).await.json(200);
    let c = challenge(&step);
    let good: Vec<String> = (now_step() - 1..=now_step() + 2).map(|s| totp_code(&secret, s)).collect();
    let wrong = (0..).map(|n| format!("{:06}", 111_111 * (n % 9 + 1))).find(|c| !good.contains(c)).unwrap();
    for left in (1..=4).rev() {
        let r = app.second_factor(&c, &wrong, Some("totp")).await.problem_field(422, "code", "wrong_code");
        assert!(r["errors"][0]["message"].as_str().unwrap().contains(&format!("{left} attempts left")), "{r}");
    }
    app.second_factor(&c, &wrong, Some("totp")).await.problem(401);
    // The challenge is gone: even the right code cannot use it now.
    app.second_factor(&c, &totp_code(&secret, now_step() + 1), Some("totp")).await.problem(401);
    let failures: i64 = app
        .sql_text(&format!("SELECT CAST(failed_sign_ins AS TEXT) FROM users WHERE id = {id}"))
        .await
        .parse()
        .unwrap();
    assert_eq!(failures, 5, "wrong codes count toward the lockout");
}

async fn a_second_factor_cannot_be_disabled_for_an_admin(engine: Db) {
    let app = TestApp::spawn(engine).await;
    let id = admin_user(&app, "ada").await;
    app.sign_in_with_second_factor("ada", STRONG).await;
    let etag = app.get_user(id).await.expect(200).etag();
    let r = app.patch_user(id, Some(&etag), json!({ "two_factor_method": "disabled" })).await;
    let body = r.problem_field(422, "two_factor_method", "required_for_admins");
    assert!(body.to_string().contains("R27"), "the refusal names the rule: {body}");
    assert_eq!(app.get_user(id).await.json(200)["two_factor_method"], "totp", "nothing changed");
    // My Account refuses it too.
    let token = app.sign_in_with_second_factor("ada", STRONG).await;
    app.send(
        app.req_as(&token, reqwest::Method::PUT, "/api/v1/me/second-factor")
            .json(&json!({ "method": "disabled", "current_password": STRONG })),
    )
    .await
    .problem_field(422, "two_factor_method", "required_for_admins");

    // A user who is not an admin may turn it off; given the Admin role later, they set it up
    // at their next sign-in.
    let bob = app.user_with_password("bob", STRONG, json!({ "two_factor_method": "totp" })).await;
    let step = app.login("bob", STRONG).await.json(200);
    assert_eq!(step["step"], "totp_setup");
    assert_eq!(step["reason"], "not_set_up");
    app.update_user(bob, json!({ "two_factor_method": "disabled" })).await;
    assert!(app.login("bob", STRONG).await.json(200)["token"].is_string());
    let admin = app.builtin_role("admin").await;
    app.update_user(bob, json!({ "roles": [admin] })).await;
    let step = app.login("bob", STRONG).await.json(200);
    assert_eq!(
        (step["step"].as_str(), step["reason"].as_str()),
        (Some("totp_setup"), Some("admin_required")),
        "{step}"
    );
}

async fn an_admin_resets_a_users_authenticator(engine: Db) {
    let app = TestApp::spawn(engine).await;
    let id = app.user_with_password("bob", STRONG, json!({ "two_factor_method": "totp" })).await;
    app.sign_in_with_second_factor("bob", STRONG).await;
    let old = app.authenticators.get("bob").unwrap();
    let path = format!("{}/second-factor/reset-totp", app.user_path(id));
    let reset = app.post(&path, json!({})).await.json(200);
    assert_eq!(reset["enrolment_link_sent_to"], Value::Null, "bob has no email: {reset}");
    assert_eq!(app.events(id, "user.totp_reset").await.len(), 1);
    let user = app.get_user(id).await.json(200);
    assert_eq!(
        (user["two_factor_method"].as_str(), user["totp_enrolled"].as_bool()),
        (Some("totp"), Some(false)),
        "{user}"
    );
    let step = app.login("bob", STRONG).await.json(200);
    assert_eq!(step["step"], "totp_setup", "the user sets up again: {step}");
    let setup = app.post("/api/v1/auth/totp-setup", json!({ "challenge": challenge(&step) })).await.json(200);
    assert_ne!(setup["secret"], old.secret.as_str(), "a new key");
    // Old recovery codes were voided with the old authenticator.
    app.authenticators.put("bob", Authenticator::default());
    let confirmed = app.set_up_authenticator("bob", &step).await.json(200);
    assert_eq!(confirmed["recovery_codes"].as_array().unwrap().len(), 10);
    let step = app.login("bob", STRONG).await.json(200);
    app.second_factor(&challenge(&step), &old.recovery_codes[0], None).await.problem_field(422, "code", "wrong_code");

    // Only someone who may edit users can reset; and a user without an authenticator has none to reset.
    let carl = app.user_with_password("carl", STRONG, json!({})).await;
    let carl_token = app.sign_in("carl", STRONG).await;
    app.post_as(&carl_token, &path, json!({})).await.problem(403);
    app.post(&format!("{}/second-factor/reset-totp", app.user_path(carl)), json!({})).await.problem_field(
        422,
        "two_factor_method",
        "no_authenticator",
    );
}

async fn the_suspicious_mode_asks_only_for_new_devices(engine: Db) {
    let app = TestApp::spawn(engine).await;
    app.user_with_password("bob", STRONG, json!({ "two_factor_method": "totp", "two_factor_mode": "suspicious" }))
        .await;
    // The first sign-in sets up the authenticator and hands out a device token.
    let first = app.complete_sign_in("bob", app.login("bob", STRONG).await.json(200)).await;
    let device = first["device"].as_str().expect("a device token for the next sign-in").to_string();
    // The same device from the same address: no code asked.
    let again = app.login_with(json!({ "login": "bob", "password": STRONG, "device": device })).await.json(200);
    assert!(again["token"].is_string(), "a known device signs in with the password: {again}");
    assert!(again.get("device").is_none(), "the device keeps its token: {again}");
    // Without the device token (another browser), or with one that is not the user's: a code.
    let step = app.login("bob", STRONG).await.json(200);
    assert_eq!((step["step"].as_str(), step["reason"].as_str()), (Some("second_factor"), Some("new_device")), "{step}");
    let step = app.login_with(json!({ "login": "bob", "password": STRONG, "device": "made-up" })).await.json(200);
    assert_eq!(step["reason"], "new_device");
    let done = app.answer_second_factor("bob", &step).await.json(200);
    let second_device = done["device"].as_str().expect("a new device token");
    assert_ne!(second_device, device);
    let known = app.login_with(json!({ "login": "bob", "password": STRONG, "device": second_device })).await.json(200);
    assert!(known["token"].is_string(), "{known}");
}

/// Behind a trusted proxy (the test), `X-Forwarded-For` gives the client's address; the GeoIP
/// file made for the tests puts 81.2.69.0/24 in GB and 192.0.2.0/24 in FR.
async fn a_new_address_or_country_is_suspicious(engine: Db) {
    let dir = tempfile::tempdir().unwrap();
    let geo = dir.path().join("countries.mmdb");
    std::fs::write(&geo, crate::helpers::mmdb::country_database(&[("81.2.69.0/24", "GB"), ("192.0.2.0/24", "FR")]))
        .unwrap();
    let app = TestApp::spawn_with(engine, |c| {
        c.trusted_proxies = "127.0.0.1/32".parse().unwrap();
        c.geoip_database = Some(geo.clone());
    })
    .await;
    app.user_with_password("bob", STRONG, json!({ "two_factor_method": "totp", "two_factor_mode": "suspicious" }))
        .await;
    let login_from = |address: &'static str, device: Option<String>| {
        let body = json!({ "account": app.account, "login": "bob", "password": STRONG, "device": device });
        app.send(app.anon(reqwest::Method::POST, "/api/v1/auth/login").header("x-forwarded-for", address).json(&body))
    };
    let first = app.complete_sign_in("bob", login_from("81.2.69.10", None).await.json(200)).await;
    let device = first["device"].as_str().unwrap().to_string();
    assert!(
        login_from("81.2.69.10", Some(device.clone())).await.json(200)["token"].is_string(),
        "known device and address"
    );
    // Same country, new address.
    let step = login_from("81.2.69.20", Some(device.clone())).await.json(200);
    assert_eq!(step["reason"], "new_address", "{step}");
    app.answer_second_factor("bob", &step).await.json(200);
    assert!(login_from("81.2.69.20", Some(device.clone())).await.json(200)["token"].is_string(), "now known");
    // Another country.
    let step = login_from("192.0.2.7", Some(device.clone())).await.json(200);
    assert_eq!(step["reason"], "new_address,new_country", "{step}");
}

async fn the_account_can_require_a_second_factor_of_everyone(engine: Db) {
    let app = TestApp::spawn(engine).await;
    let id = app.user_with_password("bob", STRONG, json!({})).await;
    assert!(app.login("bob", STRONG).await.json(200)["token"].is_string());
    app.set_security(|s| s["second_factor"]["required_for"] = json!("everyone")).await;
    let step = app.login("bob", STRONG).await.json(200);
    assert_eq!(
        (step["step"].as_str(), step["reason"].as_str()),
        (Some("totp_setup"), Some("account_required")),
        "{step}"
    );
    app.complete_sign_in("bob", step).await;
    assert_eq!(app.get_user(id).await.json(200)["two_factor_method"], "totp");
}

async fn my_account_sets_up_a_new_authenticator(engine: Db) {
    let app = TestApp::spawn(engine).await;
    app.user_with_password("bob", STRONG, json!({ "email": "bob@example.com" })).await;
    let token = app.sign_in("bob", STRONG).await;
    let status = app.get_as(&token, "/api/v1/me/second-factor").await.json(200);
    assert_eq!(
        status,
        json!({ "method": "disabled", "mode": "always", "totp_enrolled": false, "totp_enrolled_at": null,
        "recovery_codes_left": 0, "required": false, "has_email": true })
    );
    // Choosing the authenticator before it is set up is refused.
    let put = |body: Value| app.send(app.req_as(&token, reqwest::Method::PUT, "/api/v1/me/second-factor").json(&body));
    put(json!({ "method": "totp", "current_password": STRONG })).await.problem_field(422, "method", "not_set_up");

    let setup =
        app.post_as(&token, "/api/v1/me/second-factor/totp", json!({ "current_password": STRONG })).await.json(200);
    let secret = setup["secret"].as_str().unwrap().to_string();
    app.post_as(&token, "/api/v1/me/second-factor/totp/confirm", json!({ "code": "12345" })).await.problem_field(
        422,
        "code",
        "wrong_code",
    );
    let step = now_step();
    let codes = app
        .post_as(&token, "/api/v1/me/second-factor/totp/confirm", json!({ "code": oathtool(&secret, step) }))
        .await
        .json(200);
    assert_eq!(codes["recovery_codes"].as_array().unwrap().len(), 10);
    let status = app.get_as(&token, "/api/v1/me/second-factor").await.json(200);
    assert_eq!((status["method"].as_str(), status["totp_enrolled"].as_bool()), (Some("totp"), Some(true)), "{status}");

    // The mode, then the method, changed with the password.
    let changed = put(json!({ "method": "either", "mode": "suspicious", "current_password": STRONG })).await.json(200);
    assert_eq!((changed["method"].as_str(), changed["mode"].as_str()), (Some("either"), Some("suspicious")));
    app.authenticators.put("bob", Authenticator { secret, last_step: step, recovery_codes: vec![] });
    let step = app.login("bob", STRONG).await.json(200);
    assert_eq!(step["methods"], json!(["totp", "email", "recovery_code"]), "{step}");
    // An API token may not change its creator's second factor.
    let api = app.post(&app.acct("tokens"), json!({ "name": "pbx", "permissions": ["users.view"] })).await.json(201);
    app.send(
        app.req_as(api["token"].as_str().unwrap(), reqwest::Method::PUT, "/api/v1/me/second-factor")
            .json(&json!({ "method": "totp", "current_password": STRONG })),
    )
    .await
    .problem(403);
}

async fn bad_input_is_refused_with_the_field(engine: Db) {
    let app = TestApp::spawn(engine).await;
    app.create_user(json!({ "login": "x", "two_factor_method": "sms" })).await.problem_field(
        422,
        "two_factor_method",
        "unknown_choice",
    );
    app.create_user(json!({ "login": "x", "two_factor_mode": "sometimes" })).await.problem_field(
        422,
        "two_factor_mode",
        "unknown_choice",
    );
    app.create_user(json!({ "login": "x", "two_factor_method": "email" })).await.problem_field(
        422,
        "two_factor_method",
        "requires_email",
    );
    let (doc, etag) = app.security().await;
    let mut bad = doc.clone();
    bad["second_factor"]["email_code_minutes"] = json!(0);
    bad["second_factor"]["required_for"] = json!("admins");
    app.put_security(Some(&etag), bad).await.problem_field(422, "second_factor.email_code_minutes", "out_of_range");
    let mut bad = doc.clone();
    bad["second_factor"]["required_for"] = json!("nobody");
    let r = app.put_security(Some(&etag), bad).await.problem(400);
    assert!(r["detail"].as_str().unwrap().contains("second_factor.required_for"), "{r}");
    // Steps with a challenge that is not one.
    app.post("/api/v1/auth/second-factor", json!({ "challenge": "nope", "code": "123456" })).await.problem(401);
    app.post("/api/v1/auth/totp-setup", json!({ "challenge": "nope" })).await.problem(401);
    let r = app.post("/api/v1/auth/second-factor", json!({ "challenge": "nope" })).await.problem(400);
    assert!(r["detail"].as_str().unwrap().contains("code"), "{r}");
}

async fn parallel_guesses_cannot_pass_the_attempt_limit(engine: Db) {
    let app = TestApp::spawn(engine).await;
    let id = admin_user(&app, "ada").await;
    app.sign_in_with_second_factor("ada", STRONG).await;
    let secret = app.authenticators.get("ada").unwrap().secret;
    let step = app.login("ada", STRONG).await.json(200);
    let c = challenge(&step);
    let good: Vec<String> = (now_step() - 1..=now_step() + 2).map(|s| totp_code(&secret, s)).collect();
    let guesses: Vec<String> =
        (0..40).map(|n| format!("{:06}", 100_000 + n)).filter(|g| !good.contains(g)).take(30).collect();
    let answers = futures::future::join_all(guesses.iter().map(|g| app.second_factor(&c, g, Some("totp")))).await;
    // Five attempts per sign-in, each taken before its code is checked: four wrong codes are
    // told so (422), the fifth ends the sign-in (401), and every other guess finds no attempt
    // left (401). Which guesses got the attempts is a matter of timing; how many is not.
    let told_wrong = answers.iter().filter(|r| r.status == 422).count();
    let refused = answers.iter().filter(|r| r.status == 401).count();
    assert_eq!(
        (told_wrong, refused),
        (4, guesses.len() - 4),
        "{:?}",
        answers.iter().map(|r| r.status.as_u16()).collect::<Vec<_>>()
    );
    let checked = app.activity("action=auth.second_factor_failed&limit=50").await;
    assert_eq!(checked.len(), 5, "five guesses were checked: {checked:?}");
    let failures: i64 = app
        .sql_text(&format!("SELECT CAST(failed_sign_ins AS TEXT) FROM users WHERE id = {id}"))
        .await
        .parse()
        .unwrap();
    assert_eq!(failures, 5, "the five checked guesses count toward the lockout, no more");
}

async fn only_someone_as_trusted_may_reset_an_authenticator(engine: Db) {
    let app = TestApp::spawn(engine).await;
    let ada = admin_user(&app, "ada").await;
    let ada_token = app.sign_in_with_second_factor("ada", STRONG).await;
    let editor =
        app.create_named("roles", json!({ "name": "Editor", "permissions": ["users.view", "users.edit"] })).await;
    app.user_with_password("ed", STRONG, json!({ "roles": [editor] })).await;
    let ed = app.sign_in("ed", STRONG).await;
    let reset = |id: i64| format!("{}/second-factor/reset-totp", app.user_path(id));
    // Setting up again needs only the password: an editor may not do it to an admin.
    app.post_as(&ed, &reset(ada), json!({})).await.problem(403);
    // Nor may anyone to themselves (My Account asks for the password).
    app.post_as(&ada_token, &reset(ada), json!({})).await.problem(403);
    // An editor may reset a plain user; an admin may reset an admin, and their sessions end.
    let bob = app.user_with_password("bob", STRONG, json!({ "two_factor_method": "totp" })).await;
    app.sign_in_with_second_factor("bob", STRONG).await;
    app.post_as(&ed, &reset(bob), json!({})).await.json(200);
    app.post(&reset(ada), json!({})).await.json(200);
    app.session(&ada_token).await.problem(401);
    assert_eq!(app.get_user(ada).await.json(200)["totp_enrolled"], false);
}

async fn a_kept_authenticator_is_asked_for_not_replaced(engine: Db) {
    let app = TestApp::spawn(engine).await;
    let admin = app.builtin_role("admin").await;
    let bob = app.user_with_password("bob", STRONG, json!({ "roles": [admin], "two_factor_mode": "suspicious" })).await;
    let first = app.complete_sign_in("bob", app.login("bob", STRONG).await.json(200)).await;
    let bob_token = first["token"].as_str().unwrap().to_string();
    // R27: an admin is asked at every sign-in, even from a known device in the suspicious mode.
    let device = first["device"].as_str().map(str::to_string);
    let step = app.login_with(json!({ "login": "bob", "password": STRONG, "device": device })).await.json(200);
    assert_eq!((step["step"].as_str(), step["reason"].as_str()), (Some("second_factor"), Some("always")), "{step}");
    app.answer_second_factor("bob", &step).await.json(200);

    // One's own second factor is not changed through the user API: My Account asks for the password.
    let etag = app.get_user(bob).await.expect(200).etag();
    let own = app.req_as(&bob_token, reqwest::Method::PATCH, &app.user_path(bob)).header("if-match", etag);
    app.send(own.json(&json!({ "two_factor_mode": "always" }))).await.problem_field(422, "two_factor_method", "self");

    // The Admin role taken away, the method turned off, the role given back: the authenticator
    // bob still has is asked for; a password alone does not set up a new one.
    app.update_user(bob, json!({ "roles": [] })).await;
    app.update_user(bob, json!({ "two_factor_method": "disabled" })).await;
    app.update_user(bob, json!({ "roles": [admin] })).await;
    let step = app.login("bob", STRONG).await.json(200);
    assert_eq!((step["step"].as_str(), step["methods"][0].as_str()), (Some("second_factor"), Some("totp")), "{step}");
    app.answer_second_factor("bob", &step).await.json(200);
}
