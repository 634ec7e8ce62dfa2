//! Second-factor helpers: the test plays the user's authenticator app. Only the helpers that
//! say so take second-factor steps (`sign_in_with_second_factor`, `complete_sign_in`,
//! `console_sign_in_with_second_factor`, `admin_with_second_factor`), the way a person would:
//! set up the app when asked, type its code. The plain sign-in helpers fail on such a step,
//! naming it, so that a test never passes a second factor it did not expect.

use std::collections::HashMap;
use std::sync::Mutex;

use reqwest::Method;
use serde_json::{Value, json};
use totp_rs::{Algorithm, Secret, TOTP};

use super::{Resp, TestApp};

/// What the test's "phone" knows of a user: the authenticator's key, the last step whose code
/// it typed (a code works once), and the recovery codes it was given.
#[derive(Debug, Clone, Default)]
pub struct Authenticator {
    pub secret: String,
    pub last_step: i64,
    pub recovery_codes: Vec<String>,
}

#[derive(Default)]
pub struct Authenticators(Mutex<HashMap<String, Authenticator>>);

/// Keyed by the login in lowercase: logins are case-insensitive at sign-in.
impl Authenticators {
    /// Logins are case-insensitive (R1), so the phone is found however the login is typed.
    pub fn get(&self, login: &str) -> Option<Authenticator> {
        self.0.lock().unwrap().get(&login.to_lowercase()).cloned()
    }

    pub fn put(&self, login: &str, a: Authenticator) {
        self.0.lock().unwrap().insert(login.to_lowercase(), a);
    }
}

pub fn now_step() -> i64 {
    (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() / 30) as i64
}

/// The code of a step for a base32 key (totp-rs; tests against other implementations use oathtool).
pub fn totp_code(secret: &str, step: i64) -> String {
    let bytes = Secret::Encoded(secret.to_string()).to_bytes().expect("base32 key");
    TOTP::new_unchecked(Algorithm::SHA1, 6, 1, 30, bytes, None, String::new()).generate(step as u64 * 30)
}

/// The token of a sign-in answer that must have asked for no step. A second-factor step (or
/// any other) that the test did not ask for fails here, naming it.
#[track_caller]
pub fn token_without_steps(login: &str, body: &Value) -> String {
    if let Some(step) = body["step"].as_str() {
        let reason = body["reason"].as_str().unwrap_or("none given");
        match step {
            "totp_setup" | "second_factor" => panic!(
                "{login}: the sign-in asked for the second-factor step {step:?} (reason {reason:?}), which this test did \
                 not expect; a test whose user has a second factor uses sign_in_with_second_factor or complete_sign_in: {body}"
            ),
            other => panic!(
                "{login}: the sign-in asked for the step {other:?} (reason {reason:?}), which this test did not expect: {body}"
            ),
        }
    }
    body["token"].as_str().unwrap_or_else(|| panic!("{login}: no token in the sign-in's answer: {body}")).to_string()
}

impl TestApp {
    /// Takes the second-factor steps a sign-in answered with (the answer must ask for one:
    /// `totp_setup` or `second_factor`) until it has a token; returns the final answer.
    pub async fn complete_sign_in(&self, login: &str, mut body: Value) -> Value {
        assert!(
            matches!(body["step"].as_str(), Some("totp_setup" | "second_factor")),
            "{login}: complete_sign_in answers a second-factor step, but the sign-in asked for none: {body}"
        );
        for _ in 0..4 {
            match body["step"].as_str() {
                None => return body,
                Some("totp_setup") => body = self.set_up_authenticator(login, &body).await.json(200),
                Some("second_factor") => body = self.answer_second_factor(login, &body).await.json(200),
                Some(other) => panic!("{login}: sign-in stopped at step {other}: {body}"),
            }
        }
        panic!("{login}: too many sign-in steps: {body}")
    }

    /// Sets up the authenticator asked for by a `totp_setup` step, as the user's phone.
    pub async fn set_up_authenticator(&self, login: &str, step: &Value) -> Resp {
        let challenge = step["challenge"].as_str().expect("challenge");
        let setup = self
            .send(self.anon(Method::POST, "/api/v1/auth/totp-setup").json(&json!({ "challenge": challenge })))
            .await;
        let secret = setup.json(200)["secret"].as_str().expect("secret").to_string();
        let step_now = now_step();
        let code = totp_code(&secret, step_now);
        let body = json!({ "challenge": challenge, "code": code });
        let resp = self.send(self.anon(Method::POST, "/api/v1/auth/totp-setup/confirm").json(&body)).await;
        if resp.status == 200 {
            let codes = resp.body["recovery_codes"]
                .as_array()
                .map(|a| a.iter().map(|c| c.as_str().unwrap().to_string()).collect());
            self.authenticators
                .put(login, Authenticator { secret, last_step: step_now, recovery_codes: codes.unwrap_or_default() });
        }
        resp
    }

    /// The next code the phone would give: a step not used yet within the accepted drift, or a
    /// recovery code when the test signed in more often than the steps allow.
    pub fn next_code(&self, login: &str) -> (String, &'static str) {
        let mut a =
            self.authenticators.get(login).unwrap_or_else(|| panic!("{login} has no authenticator in this test"));
        let now = now_step();
        let code = match (now - 1..=now + 1).find(|s| *s > a.last_step) {
            Some(step) => {
                a.last_step = step;
                (totp_code(&a.secret, step), "totp")
            }
            None => (a.recovery_codes.pop().expect("a recovery code left"), "recovery_code"),
        };
        self.authenticators.put(login, a);
        code
    }

    pub async fn answer_second_factor(&self, login: &str, step: &Value) -> Resp {
        let (code, method) = self.next_code(login);
        let body = json!({ "challenge": step["challenge"], "code": code, "method": method });
        self.send(self.anon(Method::POST, "/api/v1/auth/second-factor").json(&body)).await
    }

    /// `POST /api/v1/auth/second-factor` with the given code.
    pub async fn second_factor(&self, challenge: &str, code: &str, method: Option<&str>) -> Resp {
        let mut body = json!({ "challenge": challenge, "code": code });
        if let Some(m) = method {
            body["method"] = json!(m);
        }
        self.send(self.anon(Method::POST, "/api/v1/auth/second-factor").json(&body)).await
    }
}

impl TestApp {
    /// Takes a console sign-in's second-factor steps through its forms, as a person would, from
    /// the answer to `POST /login` (which must ask for one) until the session's redirect: sets up
    /// the authenticator (reading the key from the page), types the next code, and ticks "I have
    /// saved these codes".
    pub async fn console_steps(&self, browser: &reqwest::Client, login: &str, mut resp: reqwest::Response) {
        assert!(
            !resp.status().is_redirection(),
            "console sign-in of {login}: a second-factor step was expected, but the sign-in went straight to {:?}",
            resp.headers().get("location")
        );
        for _ in 0..5 {
            if resp.status().is_redirection() {
                return;
            }
            let status = resp.status();
            let body = resp.text().await.expect("body");
            assert_eq!(status, 200, "console sign-in of {login} answered {status}:\n{body}");
            let (action, mut form) = if body.contains("action=\"/login/totp-setup\"") {
                let secret: String = text_by_id(&body, "totp-key").chars().filter(|c| !c.is_whitespace()).collect();
                let step = now_step();
                self.authenticators
                    .put(login, Authenticator { secret: secret.clone(), last_step: step, recovery_codes: Vec::new() });
                let mut form = hidden_fields(&body, "/login/totp-setup");
                form.push(("code".into(), totp_code(&secret, step)));
                ("/login/totp-setup", form)
            } else if body.contains("action=\"/login/second-factor\"") {
                let (code, method) = self.next_code(login);
                let mut form = hidden_fields(&body, "/login/second-factor");
                form.retain(|(k, _)| k != "method");
                form.push(("code".into(), code));
                form.push(("method".into(), method.into()));
                ("/login/second-factor", form)
            } else if body.contains("action=\"/login/continue\"") {
                let codes = recovery_codes_in(&body);
                if let Some(mut a) = self.authenticators.get(login) {
                    a.recovery_codes = codes;
                    self.authenticators.put(login, a);
                }
                let mut form = hidden_fields(&body, "/login/continue");
                form.push(("saved".into(), "on".into()));
                ("/login/continue", form)
            } else {
                panic!("console sign-in of {login} stopped at:\n{body}");
            };
            form.retain(|(k, _)| !k.is_empty());
            resp = browser.post(self.url(action)).form(&form).send().await.expect("POST");
        }
        panic!("console sign-in of {login}: too many steps");
    }
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// The text inside the element with this id (up to its first child tag or its end).
#[track_caller]
pub fn text_by_id(body: &str, id: &str) -> String {
    let start = body.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in:\n{body}"));
    let rest = &body[start..];
    let open = rest.find('>').expect("tag end") + 1;
    let close = rest[open..].find('<').expect("closing tag");
    unescape(rest[open..open + close].trim())
}

/// The recovery codes a page shows (`#recovery-codes`, one a line).
pub fn recovery_codes_in(body: &str) -> Vec<String> {
    text_by_id(body, "recovery-codes").lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
}

/// The hidden fields of the form posting to `action`.
#[track_caller]
pub fn hidden_fields(body: &str, action: &str) -> Vec<(String, String)> {
    let start =
        body.find(&format!("action=\"{action}\"")).unwrap_or_else(|| panic!("no form for {action} in:\n{body}"));
    let form = &body[start..start + body[start..].find("</form>").expect("form end")];
    form.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|rest| {
            let name = rest.split('"').next().unwrap_or_default().to_string();
            let value = rest.split("value=\"").nth(1).and_then(|v| v.split('"').next()).unwrap_or_default();
            (name, unescape(value))
        })
        .collect()
}
