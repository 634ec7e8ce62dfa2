//! Helpers for issue 3: sign-in with a kind or a password-change step, own password changes,
//! sessions, the account's security settings and API tokens.

use reqwest::{Method, header};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::{Resp, TestApp, id_of, list_items, merge, token_without_steps};

/// A password that passes the default policy and `strict_policy` (12+, every class, no login).
pub const STRONG: &str = "Quartz-Lantern-42!";
/// Another one, for the next change.
pub const STRONG_2: &str = "Velvet-Harbor-73?";
/// And another.
pub const STRONG_3: &str = "Copper-Meadow-58#";

/// Another `roster serve` on the same database, as behind a load balancer.
pub struct SecondInstance {
    pub base: String,
    server: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Drop for SecondInstance {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestApp {
    /// Starts a second server on this app's database (PostgreSQL: several instances share one).
    pub async fn second_instance(&self) -> SecondInstance {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = roster::config::Config::for_database(&self.database_url, dir.path());
        // Instances of one deployment share the key that seals TOTP secrets and SIP passwords.
        config.secret_key_file = Some(self.data_dir().join("secret.key"));
        config.smtp_url = Some(self.mailbox.url().into());
        // One deployment, one time: both instances' schedule jobs follow the test's clock.
        config.clock = self.clock.clone();
        config.sso_http_loopback = true;
        let app = roster::startup::Application::build(config).await.expect("starting a second instance");
        assert!(app.initial_admin().is_none(), "the second instance finds the first one's account");
        let base = format!("http://127.0.0.1:{}", app.port());
        let server = tokio::spawn(async move {
            let _ = app.run_until_stopped().await;
        });
        SecondInstance { base, server, _dir: dir }
    }

    /// Runs one statement straight on the server's database: for what the API rightly
    /// offers no way to do, such as making a password months old.
    pub async fn sql(&self, statement: &str) {
        sqlx::any::install_default_drivers();
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&self.database_url)
            .await
            .expect("connecting to the test database");
        sqlx::query(statement).execute(&mut conn).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
    }

    /// The stored hashes of a user's recovery codes, oldest first.
    pub async fn recovery_code_hashes(&self, user: i64) -> Vec<String> {
        sqlx::any::install_default_drivers();
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&self.database_url)
            .await
            .expect("connecting to the test database");
        sqlx::query_scalar(&format!("SELECT code_hash FROM recovery_codes WHERE user_id = {user} ORDER BY id"))
            .fetch_all(&mut conn)
            .await
            .expect("reading the recovery codes")
    }

    /// One text value straight from the server's database.
    pub async fn sql_text(&self, query: &str) -> String {
        sqlx::any::install_default_drivers();
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&self.database_url)
            .await
            .expect("connecting to the test database");
        let row = sqlx::query(query).fetch_one(&mut conn).await.unwrap_or_else(|e| panic!("{query}: {e}"));
        sqlx::Row::try_get(&row, 0).expect("a text column")
    }

    /// `PUT …/users/{id}/security` (per-user password expiry and idle timeouts).
    pub async fn put_user_security(&self, id: i64, etag: Option<&str>, body: Value) -> Resp {
        let mut request = self.req(Method::PUT, &format!("{}/security", self.user_path(id))).json(&body);
        if let Some(etag) = etag {
            request = request.header(header::IF_MATCH, etag);
        }
        self.send(request).await
    }

    /// Changes some of a user's overrides (the others kept), asserting 200; returns the user.
    pub async fn update_user_security(&self, id: i64, changes: Value) -> Value {
        let current = self.get(&format!("{}/security", self.user_path(id))).await;
        let current = current.expect(200);
        let etag = current.etag();
        let mut body = current.body.clone();
        merge(&mut body, changes);
        self.put_user_security(id, Some(&etag), body).await.expect(200);
        self.get_user(id).await.json(200)
    }

    // ---- plain verbs ----------------------------------------------------------------------

    pub async fn delete_as(&self, token: &str, path: &str) -> Resp {
        self.send(self.req_as(token, Method::DELETE, path)).await
    }

    // ---- sign-in ---------------------------------------------------------------------------

    /// `POST /api/v1/auth/login` with `body` on top of `{account: <first account>}`.
    pub async fn login_with(&self, body: Value) -> Resp {
        let mut full = json!({ "account": self.account });
        merge(&mut full, body);
        self.send(self.anon(Method::POST, "/api/v1/auth/login").json(&full)).await
    }

    /// Sign-in of a given kind (`api`, `phone`).
    pub async fn login_kind(&self, login: &str, password: &str, kind: &str) -> Resp {
        self.login_with(json!({ "login": login, "password": password, "kind": kind })).await
    }

    /// Signs in with the given kind, asserting a token at once (no step: see `sign_in`); returns it.
    pub async fn sign_in_kind(&self, login: &str, password: &str, kind: &str) -> String {
        let body = self.login_kind(login, password, kind).await.json(200);
        token_without_steps(login, &body)
    }

    /// Signs in expecting the password-change step; asserts its shape and returns the challenge.
    pub async fn challenge_for(&self, login: &str, password: &str, reason: &str) -> String {
        let body = self.login(login, password).await.json(200);
        assert_eq!(body["step"], "password_change", "{body}");
        assert_eq!(body["reason"], reason, "{body}");
        assert!(body.get("token").is_none_or(Value::is_null), "a token before the password change: {body}");
        assert!(parse_time(&body["expires_at"]) > OffsetDateTime::now_utc(), "{body}");
        body["challenge"]
            .as_str()
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| panic!("no challenge in {body}"))
            .to_string()
    }

    /// `POST /api/v1/auth/password-change`.
    pub async fn password_change(&self, challenge: &str, new_password: &str) -> Resp {
        let body = json!({ "challenge": challenge, "new_password": new_password });
        self.send(self.anon(Method::POST, "/api/v1/auth/password-change").json(&body)).await
    }

    /// Console sign-in through the login form; returns a cookie-keeping client. The form must
    /// sign in at once: a second-factor step (or any other page) fails the test, naming it. For
    /// a user with a second factor (every admin: R27) use `console_sign_in_with_second_factor`.
    pub async fn console_sign_in(&self, login: &str, password: &str) -> reqwest::Client {
        let (browser, signed_in) = self.console_login_form(login, password).await;
        if !signed_in.status().is_redirection() {
            let status = signed_in.status();
            let body = signed_in.text().await.expect("body");
            let step = ["/login/totp-setup", "/login/second-factor", "/login/continue", "/login/password"]
                .into_iter()
                .find(|action| body.contains(&format!("action=\"{action}\"")));
            match step {
                Some(action @ ("/login/totp-setup" | "/login/second-factor")) => panic!(
                    "console sign-in of {login} asked for the second-factor step {action}, which this test did not \
                     expect; a test whose user has a second factor uses console_sign_in_with_second_factor:\n{body}"
                ),
                Some(action) => panic!(
                    "console sign-in of {login} stopped at the step {action}, which this test did not expect:\n{body}"
                ),
                None => panic!("console sign-in of {login} answered {status}, not a redirect to the console:\n{body}"),
            }
        }
        browser
    }

    /// Console sign-in of a user who has a second factor: the form must ask for it, and the
    /// test's authenticator answers through the forms. Returns a cookie-keeping client.
    pub async fn console_sign_in_with_second_factor(&self, login: &str, password: &str) -> reqwest::Client {
        let (browser, signed_in) = self.console_login_form(login, password).await;
        self.console_steps(&browser, login, signed_in).await;
        browser
    }

    /// Posts the console's login form with a fresh cookie-keeping client (redirects not followed).
    async fn console_login_form(&self, login: &str, password: &str) -> (reqwest::Client, reqwest::Response) {
        let browser =
            reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let answer = browser
            .post(self.url("/login"))
            .form(&[("account", self.account.as_str()), ("login", login), ("password", password)])
            .send()
            .await
            .unwrap();
        (browser, answer)
    }

    // ---- own password and sessions ---------------------------------------------------------

    /// `POST /api/v1/me/password` with `token`.
    pub async fn change_own_password(&self, token: &str, body: Value) -> Resp {
        self.post_as(token, "/api/v1/me/password", body).await
    }

    /// `GET /api/v1/me/sessions` with `token`, asserting 200; returns the items.
    pub async fn my_sessions(&self, token: &str) -> Vec<Value> {
        list_items(&self.get_as(token, "/api/v1/me/sessions").await.json(200))
    }

    /// The id of the session `token` belongs to, from `GET /api/v1/session`.
    pub async fn session_id(&self, token: &str) -> String {
        let s = self.session(token).await.json(200);
        key(&s["session_id"])
    }

    /// `GET …/users/{id}/sessions` as the first admin; returns the items.
    pub async fn user_sessions(&self, id: i64) -> Vec<Value> {
        list_items(&self.get(&self.acct(&format!("users/{id}/sessions"))).await.json(200))
    }

    /// `GET …/sessions?{query}` as the first admin.
    pub async fn account_sessions(&self, query: &str) -> Resp {
        self.get(&format!("{}?{query}", self.acct("sessions"))).await
    }

    // ---- security settings -----------------------------------------------------------------

    pub fn security_path(&self) -> String {
        self.acct("settings/security")
    }

    /// `GET …/settings/security` as the first admin; returns (document, ETag).
    pub async fn security(&self) -> (Value, String) {
        let r = self.get(&self.security_path()).await;
        let etag = r.etag();
        (r.json(200), etag)
    }

    pub async fn put_security(&self, etag: Option<&str>, body: Value) -> Resp {
        let mut request = self.req(Method::PUT, &self.security_path()).json(&body);
        if let Some(etag) = etag {
            request = request.header(header::IF_MATCH, etag);
        }
        self.send(request).await
    }

    /// Reads the settings, applies `edit`, writes them back with the ETag (asserting success)
    /// and returns what a fresh read shows.
    pub async fn set_security(&self, edit: impl FnOnce(&mut Value)) -> Value {
        let (mut doc, etag) = self.security().await;
        edit(&mut doc);
        let r = self.put_security(Some(&etag), doc.clone()).await;
        assert_eq!(r.json(200), doc, "PUT settings/security answers the document written");
        let (now, _) = self.security().await;
        assert_eq!(now, doc, "the settings read back differ from those written");
        now
    }

    /// Sets a strict password policy: at least 12 characters and every class.
    pub async fn strict_policy(&self) -> Value {
        self.set_security(|s| {
            let p = &mut s["password_policy"];
            p["min_length"] = json!(12);
            p["require_lowercase"] = json!(true);
            p["require_uppercase"] = json!(true);
            p["require_digit"] = json!(true);
            p["require_symbol"] = json!(true);
        })
        .await
    }

    // ---- users, roles ----------------------------------------------------------------------

    /// `POST …/users/{id}/unlock` with `token`.
    pub async fn unlock_as(&self, token: &str, id: i64) -> Resp {
        self.post_as(token, &self.acct(&format!("users/{id}/unlock")), json!({})).await
    }

    /// A user holding a new custom role with exactly `permissions`, signed in; returns (id, token).
    pub async fn user_with_permissions(&self, login: &str, permissions: &[&str]) -> (i64, i64, String) {
        let role =
            self.create_named("roles", json!({ "name": format!("Role of {login}"), "permissions": permissions })).await;
        let id = self.user_with_password(login, STRONG, json!({ "roles": [role] })).await;
        (id, role, self.sign_in(login, STRONG).await)
    }

    // ---- API tokens ------------------------------------------------------------------------

    pub async fn create_token_as(&self, token: &str, body: Value) -> Resp {
        self.post_as(token, &self.acct("tokens"), body).await
    }

    /// Creates an API token as the first admin with `permissions`; returns the 201 body.
    pub async fn api_token(&self, name: &str, permissions: &[&str]) -> Value {
        self.create_token_as(&self.token, json!({ "name": name, "permissions": permissions })).await.json(201)
    }

    /// An API token with `permissions`, made by a new admin of `account` (an account's own
    /// token, where the first admin's is a platform operator's): the token itself.
    pub async fn account_admin_token(&self, account: &str, permissions: &[&str]) -> String {
        let admin_role = self.builtin_role_in(&self.token, account, "admin").await;
        let body = json!({ "login": "account-admin", "password": STRONG, "roles": [admin_role] });
        self.post(&format!("/api/v1/accounts/{account}/users"), body).await.expect(201);
        let admin = self.sign_in_to_with_second_factor(account, "account-admin", STRONG).await;
        let body = json!({ "name": format!("{account} token"), "permissions": permissions });
        let made = self.post_as(&admin, &format!("/api/v1/accounts/{account}/tokens"), body).await.json(201);
        made["token"].as_str().expect("the new token").to_string()
    }

    /// `GET …/tokens` as the first admin; returns the items.
    pub async fn list_tokens(&self) -> Vec<Value> {
        list_items(&self.get(&self.acct("tokens")).await.json(200))
    }

    // ---- activity --------------------------------------------------------------------------

    /// The events of `action` about user `id`.
    pub async fn events(&self, id: i64, action: &str) -> Vec<Value> {
        self.activity(&format!("user={id}&action={action}&limit=500")).await
    }
}

/// A JSON id (number or string) as the text that goes into a path.
#[track_caller]
pub fn key(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) if !s.is_empty() => s.clone(),
        other => panic!("not an id: {other}"),
    }
}

/// The id of a listed session, token, … as path text.
#[track_caller]
pub fn key_of(v: &Value) -> String {
    key(&v["id"])
}

/// Parses an RFC 3339 time, panicking with the value otherwise.
#[track_caller]
pub fn parse_time(v: &Value) -> OffsetDateTime {
    let s = v.as_str().unwrap_or_else(|| panic!("not an RFC 3339 time: {v}"));
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("not an RFC 3339 time: {s:?}: {e}"))
}

/// Asserts that `actual` lies within `slack` of `expected`.
#[track_caller]
pub fn assert_near(actual: OffsetDateTime, expected: OffsetDateTime, slack: Duration, what: &str) {
    let off = (actual - expected).abs();
    assert!(off <= slack, "{what}: {actual} is {off} away from the expected {expected} (allowed {slack})");
}

/// Asserts a 422 problem with an error on `field` whose code is `code`.
#[track_caller]
pub fn assert_refused(r: &Resp, field: &str, code: &str) {
    r.problem_on(422, field);
    let errors = r.body["errors"].as_array().cloned().unwrap_or_default();
    assert!(
        errors.iter().any(|e| e["field"] == field && e["code"] == code),
        "{} answered 422 but not with code {code:?} on {field:?}: {}",
        r.what,
        r.text()
    );
}

/// Asserts that `items` is sorted newest first by `created_at`.
#[track_caller]
pub fn assert_newest_first(items: &[Value]) {
    let times: Vec<OffsetDateTime> = items.iter().map(|i| parse_time(&i["created_at"])).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "not newest first: {items:#?}");
}

/// The ids of listed items, as path text.
pub fn keys(items: &[Value]) -> Vec<String> {
    items.iter().map(key_of).collect()
}

/// The ids of users in a list.
pub fn user_ids(items: &[Value]) -> Vec<i64> {
    items.iter().map(id_of).collect()
}
