//! The test harness: `TestApp` starts Roster on a random port over a fresh SQLite file or a
//! fresh PostgreSQL database, signs in as the first admin, and offers typed helpers for the
//! API. `Resp` (in `response`) keeps status, headers and body of a response and prints them
//! when an assertion about it fails.

mod auth_flows;
mod browser;
mod cli;
mod console_client;
mod database;
mod direct;
pub mod mmdb;
pub mod oidc;
mod png;
mod raw;
mod response;
mod restart;
mod second_factor;
mod smtp;
mod smtp_tls;

use std::time::Duration;

use reqwest::header;
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

use roster::config::Config;
use roster::startup::Application;

pub use auth_flows::*;
pub use browser::Browser;
pub use console_client::{Console, settings_form};
pub use png::png;
pub use response::Resp;
pub use second_factor::{
    Authenticator, Authenticators, hidden_fields, now_step, recovery_codes_in, text_by_id, token_without_steps,
    totp_code,
};
#[allow(unused_imports)]
pub use smtp::{Mailbox, ReceivedMail, SMTP_PASSWORD, SMTP_USER};
pub use smtp_tls::SmtpTls;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    #[allow(dead_code)]
    pub engine: Engine,
    pub base: String,
    pub http: reqwest::Client,
    /// The slug of the first account.
    pub account: String,
    pub admin_login: String,
    pub admin_password: String,
    pub admin_id: i64,
    /// The first admin's bearer token; the helpers without `_as` use it.
    pub token: String,
    /// The database the server runs on, for running the `roster` binary against it.
    pub database_url: String,
    /// The authenticator apps of the users this test set up (see `second_factor`).
    pub authenticators: Authenticators,
    /// The test SMTP server this app sends its mail to (`smtp_url`), with AUTH.
    pub mailbox: Mailbox,
    /// The time the deactivation schedules follow: it stands still until the test moves it
    /// (`clock.advance(ms)` returns once the server's job has caught up).
    pub clock: roster::clock::Clock,
    server: tokio::task::JoinHandle<()>,
    /// Stops the server gracefully (`stop`); the configuration starts it again (`start_again`).
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    config: Config,
    _pg: Option<database::PgDatabase>,
    _dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestApp {
    pub async fn spawn(engine: Engine) -> TestApp {
        TestApp::spawn_with(engine, |_| {}).await
    }

    /// Starts Roster with a configuration the test adjusts first (SMTP, GeoIP file, proxies…).
    pub async fn spawn_with(engine: Engine, adjust: impl FnOnce(&mut Config)) -> TestApp {
        TestApp::spawn_with_mailbox(engine, Mailbox::start().await, adjust).await
    }

    /// Like `spawn_with`, with this test SMTP server (e.g. `Mailbox::start_tls`) as `smtp_url`.
    pub async fn spawn_with_mailbox(engine: Engine, mailbox: Mailbox, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let (url, pg) = match engine {
            Engine::Sqlite => (format!("sqlite://{}", dir.path().join("roster.db").display()), None),
            Engine::Postgres => {
                let (url, db) = database::fresh_postgres_database().await;
                (url, Some(db))
            }
        };
        let mut config = Config::for_database(&url, dir.path());
        config.smtp_url = Some(mailbox.url().into());
        config.clock = roster::clock::Clock::manual(roster::clock::Timestamp::now());
        // The single sign-on tests' provider listens on http://127.0.0.1.
        config.sso_http_loopback = true;
        adjust(&mut config);
        let app =
            Application::build(config.clone()).await.unwrap_or_else(|e| panic!("starting Roster on {url}: {e:?}"));
        let (admin_login, admin_password) =
            app.initial_admin().expect("a first start creates the first admin and reveals its password");
        let port = app.port();
        let (shutdown, server) = restart::run(app);
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client");
        let mut app = TestApp {
            engine,
            base: format!("http://127.0.0.1:{port}"),
            http,
            account: "default".to_string(),
            admin_login,
            admin_password,
            admin_id: 0,
            token: String::new(),
            database_url: url,
            authenticators: Authenticators::default(),
            mailbox,
            clock: config.clock.clone(),
            server,
            shutdown: Some(shutdown),
            config,
            _pg: pg,
            _dir: dir,
        };
        // The first admin must have a second factor (R27): this first sign-in sets up the
        // authenticator, and every later sign-in of the admin asks for its code.
        app.token = app.sign_in_with_second_factor(&app.admin_login.clone(), &app.admin_password.clone()).await;
        app.admin_id = app.session(&app.token).await.json(200)["user"]["id"].as_i64().expect("session user id");
        app
    }

    /// Starts Roster with an adjusted configuration that must fail to start; returns the error.
    pub async fn start_fails(engine: Engine, adjust: impl FnOnce(&mut Config)) -> String {
        let dir = tempfile::tempdir().expect("tempdir");
        let (url, _pg) = match engine {
            Engine::Sqlite => (format!("sqlite://{}", dir.path().join("roster.db").display()), None),
            Engine::Postgres => {
                let (url, db) = database::fresh_postgres_database().await;
                (url, Some(db))
            }
        };
        let mut config = Config::for_database(&url, dir.path());
        adjust(&mut config);
        match Application::build(config).await {
            Ok(_) => panic!("Roster started on {url}, but it should have refused"),
            Err(e) => format!("{e:#}"),
        }
    }

    // ---- raw requests -------------------------------------------------------------------

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request without credentials.
    pub fn anon(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path))
    }

    /// A request with `token` as bearer.
    pub fn req_as(&self, token: &str, method: Method, path: &str) -> RequestBuilder {
        self.anon(method, path).bearer_auth(token)
    }

    /// A request as the first admin.
    pub fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.req_as(&self.token, method, path)
    }

    pub async fn send(&self, request: RequestBuilder) -> Resp {
        let request = request.build().expect("request builds");
        let what = format!("{} {}", request.method(), request.url().path());
        let response = self.http.execute(request).await.unwrap_or_else(|e| panic!("{what}: {e}"));
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap_or_else(|e| panic!("{what}: reading body: {e}")).to_vec();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp { what, status, headers, bytes, body }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(self.req(Method::GET, path)).await
    }

    pub async fn get_as(&self, token: &str, path: &str) -> Resp {
        self.send(self.req_as(token, Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(self.req(Method::POST, path).json(&body)).await
    }

    pub async fn post_as(&self, token: &str, path: &str, body: Value) -> Resp {
        self.send(self.req_as(token, Method::POST, path).json(&body)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.send(self.req(Method::DELETE, path)).await
    }

    // ---- paths --------------------------------------------------------------------------

    /// `/api/v1/accounts/{account}/{rest}` for the first account.
    pub fn acct(&self, rest: &str) -> String {
        format!("/api/v1/accounts/{}/{rest}", self.account)
    }

    pub fn user_path(&self, id: i64) -> String {
        self.acct(&format!("users/{id}"))
    }

    // ---- auth ---------------------------------------------------------------------------

    pub async fn login_in(&self, account: &str, login: &str, password: &str) -> Resp {
        let body = json!({ "account": account, "login": login, "password": password });
        self.send(self.anon(Method::POST, "/api/v1/auth/login").json(&body)).await
    }

    pub async fn login(&self, login: &str, password: &str) -> Resp {
        self.login_in(&self.account, login, password).await
    }

    /// Signs in to the first account and returns the bearer token. The sign-in must give a
    /// token at once: a second-factor step (or any other) fails the test, naming the step. For a
    /// user with a second factor (every admin: R27) say so with `sign_in_with_second_factor`.
    pub async fn sign_in(&self, login: &str, password: &str) -> String {
        let body = self.login(login, password).await.json(200);
        token_without_steps(login, &body)
    }

    /// Signs in to the first account as a user who has a second factor: the sign-in must ask for
    /// it, and the test's authenticator answers (setting the app up when asked). Returns the token.
    pub async fn sign_in_with_second_factor(&self, login: &str, password: &str) -> String {
        let body = self.login(login, password).await.json(200);
        let body = self.complete_sign_in(login, body).await;
        body["token"].as_str().expect("token").to_string()
    }

    /// Signs in to another account and returns the bearer token; no step may be asked (see `sign_in`).
    #[allow(dead_code)]
    pub async fn sign_in_to(&self, account: &str, login: &str, password: &str) -> String {
        let body = self.login_in(account, login, password).await.json(200);
        token_without_steps(login, &body)
    }

    /// Signs in to another account as a user who has a second factor (see `sign_in_with_second_factor`).
    pub async fn sign_in_to_with_second_factor(&self, account: &str, login: &str, password: &str) -> String {
        let body = self.login_in(account, login, password).await.json(200);
        let body = self.complete_sign_in(login, body).await;
        body["token"].as_str().expect("token").to_string()
    }

    pub async fn session(&self, token: &str) -> Resp {
        self.get_as(token, "/api/v1/session").await
    }

    // ---- users --------------------------------------------------------------------------

    pub async fn create_user(&self, body: Value) -> Resp {
        self.post(&self.acct("users"), body).await
    }

    /// Creates a user and returns it (asserting 201).
    pub async fn new_user(&self, body: Value) -> Value {
        self.create_user(body).await.json(201)
    }

    /// Creates a user with a known password and the given extra fields; returns its id.
    pub async fn user_with_password(&self, login: &str, password: &str, extra: Value) -> i64 {
        let mut body = json!({ "login": login, "password": password });
        merge(&mut body, extra);
        id_of(&self.new_user(body).await)
    }

    /// A user holding the built-in role `role_key` (supervisor, agent, financial), signed in;
    /// returns (id, token). Admins must have a second factor (R27): `admin_with_second_factor`.
    pub async fn user_with_role(&self, login: &str, role_key: &str) -> (i64, String) {
        let role = self.builtin_role(role_key).await;
        let id = self.user_with_password(login, "correct-horse-9", json!({ "roles": [role] })).await;
        (id, self.sign_in(login, "correct-horse-9").await)
    }

    /// A user holding the built-in Admin role, signed in: the sign-in sets up their
    /// authenticator, as R27 asks of every admin. Returns (id, token).
    pub async fn admin_with_second_factor(&self, login: &str) -> (i64, String) {
        let role = self.builtin_role("admin").await;
        let id = self.user_with_password(login, "correct-horse-9", json!({ "roles": [role] })).await;
        (id, self.sign_in_with_second_factor(login, "correct-horse-9").await)
    }

    pub async fn get_user(&self, id: i64) -> Resp {
        self.get(&self.user_path(id)).await
    }

    pub async fn patch_user(&self, id: i64, etag: Option<&str>, body: Value) -> Resp {
        let mut request = self.req(Method::PATCH, &self.user_path(id)).json(&body);
        if let Some(etag) = etag {
            request = request.header(header::IF_MATCH, etag);
        }
        self.send(request).await
    }

    /// Reads the user's ETag and patches with it; asserts 200 and returns the new user.
    pub async fn update_user(&self, id: i64, body: Value) -> Value {
        let etag = self.get_user(id).await.expect(200).etag();
        self.patch_user(id, Some(&etag), body).await.json(200)
    }

    pub async fn delete_user(&self, id: i64) -> Resp {
        self.delete(&self.user_path(id)).await
    }

    pub async fn set_password(&self, id: i64, body: Value) -> Resp {
        self.send(self.req(Method::PUT, &self.acct(&format!("users/{id}/password"))).json(&body)).await
    }

    /// `GET …/users?{query}`.
    pub async fn list_users(&self, query: &str) -> Resp {
        self.get(&format!("{}?{query}", self.acct("users"))).await
    }

    /// Every page of `GET …/users?{query}`, following `next_cursor`.
    pub async fn list_all(&self, query: &str) -> Vec<Value> {
        self.list_all_as(&self.token, query).await
    }

    /// The logins `GET …/users?{query}` returns, on all pages.
    pub async fn logins(&self, query: &str) -> Vec<String> {
        self.list_all(query).await.iter().map(|u| u["login"].as_str().expect("login").to_string()).collect()
    }

    pub async fn bulk(&self, body: Value) -> Resp {
        self.post(&self.acct("users/bulk"), body).await
    }

    // ---- catalog ------------------------------------------------------------------------

    /// Creates a role, group, desk or skill (`kind` is the plural path segment); returns its id.
    pub async fn create_named(&self, kind: &str, body: Value) -> i64 {
        id_of(&self.post(&self.acct(kind), body).await.json(201))
    }

    pub async fn desk(&self, name: &str) -> i64 {
        self.create_named("desks", json!({ "name": name })).await
    }

    /// Puts the users at one new desk, so that a desk-scoped supervisor among them sees the others (D8).
    pub async fn same_desk(&self, ids: &[i64]) -> i64 {
        let desk = self.desk(&format!("Shared {}", ids.iter().map(i64::to_string).collect::<Vec<_>>().join("-"))).await;
        let body = json!({ "action": "assign_desks", "target": { "ids": ids }, "values": [desk] });
        self.bulk(body).await.expect(200);
        desk
    }

    pub async fn skill(&self, name: &str) -> i64 {
        self.create_named("skills", json!({ "name": name })).await
    }

    pub async fn group(&self, name: &str) -> i64 {
        self.create_named("groups", json!({ "name": name })).await
    }

    /// The id of a built-in role of the first account by key (`admin`, `supervisor`, …).
    pub async fn builtin_role(&self, key: &str) -> i64 {
        self.builtin_role_in(&self.token, &self.account, key).await
    }

    pub async fn builtin_role_in(&self, token: &str, account: &str, key: &str) -> i64 {
        let roles = self.get_as(token, &format!("/api/v1/accounts/{account}/roles")).await.json(200);
        let role = list_items(&roles)
            .into_iter()
            .find(|r| r["builtin"] == json!(key))
            .unwrap_or_else(|| panic!("no built-in role {key:?} in {roles}"));
        id_of(&role)
    }

    // ---- activity -----------------------------------------------------------------------

    /// `GET …/activity?{query}`, asserting 200; returns the items.
    pub async fn activity(&self, query: &str) -> Vec<Value> {
        let page = self.get(&format!("{}?{query}", self.acct("activity"))).await.json(200);
        page["items"].as_array().expect("activity items").clone()
    }
}

/// The items of one page of a list (every list pages: `{ "items": […], "next_cursor": … }`).
#[track_caller]
pub fn list_items(v: &Value) -> Vec<Value> {
    v["items"].as_array().cloned().unwrap_or_else(|| panic!("a list page has items: {v}"))
}

#[track_caller]
pub fn id_of(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

/// The `name`s of the references in `user[field]` (roles, desks, …), sorted.
pub fn names(user: &Value, field: &str) -> Vec<String> {
    let mut v: Vec<String> = user[field]
        .as_array()
        .unwrap_or_else(|| panic!("no {field} array in {user}"))
        .iter()
        .map(|r| r["name"].as_str().expect("name").to_string())
        .collect();
    v.sort();
    v
}

/// Shallow merge of two JSON objects.
pub fn merge(base: &mut Value, extra: Value) {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        for (k, v) in e {
            b.insert(k, v);
        }
    }
}

pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Now, in the milliseconds since the epoch that Roster stores.
pub fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

pub fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).expect("formats")
}
