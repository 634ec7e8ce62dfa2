//! The test harness: `TestApp` starts Roster on a random port over a fresh SQLite file or a
//! fresh PostgreSQL database, signs in as the first admin, and offers typed helpers for the
//! API. `Resp` keeps status, headers and body of a response and prints them when an
//! assertion about it fails.

use std::time::Duration;

use reqwest::header::{self, HeaderMap};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};

use roster::config::Config;
use roster::startup::Application;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// One response, read completely.
#[derive(Debug)]
pub struct Resp {
    pub what: String,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
    /// The body as JSON, or `Value::Null` when it is not JSON.
    pub body: Value,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// Panics, showing the request and the whole response, unless the status is `expected`.
    #[track_caller]
    pub fn expect(&self, expected: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            expected,
            "{} answered {} (expected {expected}): {}",
            self.what,
            self.status,
            self.text()
        );
        self
    }

    /// Asserts the status and returns the JSON body.
    #[track_caller]
    pub fn json(&self, expected: u16) -> Value {
        self.expect(expected);
        self.body.clone()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
    }

    pub fn content_type(&self) -> String {
        self.header("content-type").unwrap_or_default()
    }

    #[track_caller]
    pub fn etag(&self) -> String {
        self.header("etag").unwrap_or_else(|| panic!("{} returned no ETag: {:?}", self.what, self.headers))
    }

    /// Asserts an RFC 9457 problem with this status and returns it.
    #[track_caller]
    pub fn problem(&self, expected: u16) -> Value {
        self.expect(expected);
        assert!(
            self.content_type().starts_with("application/problem+json"),
            "{} answered {} with content type {:?}, not application/problem+json: {}",
            self.what,
            self.status,
            self.content_type(),
            self.text()
        );
        for key in ["type", "title", "detail"] {
            assert!(self.body[key].is_string(), "problem without {key:?}: {}", self.text());
        }
        assert_eq!(self.body["status"], json!(expected), "problem's status member: {}", self.text());
        self.body.clone()
    }

    /// The fields named in the problem's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["field"].as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    }

    /// Asserts a problem with this status whose `errors` name `field`.
    #[track_caller]
    pub fn problem_on(&self, expected: u16, field: &str) -> Value {
        let problem = self.problem(expected);
        assert!(
            self.error_fields().iter().any(|f| f == field),
            "{} answered {expected} but did not name the field {field:?}: {}",
            self.what,
            self.text()
        );
        problem
    }
}

/// A database created for one test on the shared PostgreSQL server, dropped when the test ends.
struct PgDatabase {
    server_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (url, name) = (self.server_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime; a thread with its own runtime may block.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                use sqlx::{Connection, Executor};
                if let Ok(mut c) = sqlx::PgConnection::connect(&url).await {
                    let _ = c.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await;
                }
            })
        })
        .join();
    }
}

/// `postgres://u@h:p/db?x` → (`postgres://u@h:p`, `?x`)
fn split_postgres_url(url: &str) -> (String, String) {
    let (before_query, query) = match url.split_once('?') {
        Some((a, q)) => (a, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = before_query.find("://").map(|i| i + 3).unwrap_or(0);
    let server = match before_query[scheme_end..].find('/') {
        Some(slash) => &before_query[..scheme_end + slash],
        None => before_query,
    };
    (server.to_string(), query)
}

async fn fresh_postgres_database() -> (String, PgDatabase) {
    use sqlx::{Connection, Executor};
    let url = std::env::var("ROSTER_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string());
    let mut conn = match tokio::time::timeout(Duration::from_secs(10), sqlx::PgConnection::connect(&url)).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => panic!(
            "PostgreSQL at {url} is unreachable ({e}). The PostgreSQL tests never skip: start PostgreSQL \
             or set ROSTER_TEST_POSTGRES_URL."
        ),
        Err(_) => panic!("PostgreSQL at {url} did not answer within 10 s. The PostgreSQL tests never skip."),
    };
    let name = format!("roster_test_{:016x}", rand::random::<u64>());
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap_or_else(|e| panic!("creating database {name} on {url}: {e}"));
    let _ = conn.close().await;
    let (server, query) = split_postgres_url(&url);
    let db_url = format!("{server}/{name}{query}");
    (db_url, PgDatabase { server_url: url, name })
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
    server: tokio::task::JoinHandle<()>,
    _pg: Option<PgDatabase>,
    _dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestApp {
    pub async fn spawn(engine: Engine) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let (url, pg) = match engine {
            Engine::Sqlite => (format!("sqlite://{}", dir.path().join("roster.db").display()), None),
            Engine::Postgres => {
                let (url, db) = fresh_postgres_database().await;
                (url, Some(db))
            }
        };
        let config = Config::for_database(&url, dir.path());
        let app = Application::build(config).await.unwrap_or_else(|e| panic!("starting Roster on {url}: {e:?}"));
        let (admin_login, admin_password) =
            app.initial_admin().expect("a first start creates the first admin and reveals its password");
        let port = app.port();
        let server = tokio::spawn(async move {
            let _ = app.run_until_stopped().await;
        });
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
            server,
            _pg: pg,
            _dir: dir,
        };
        app.token = app.sign_in(&app.admin_login.clone(), &app.admin_password.clone()).await;
        app.admin_id = app.session(&app.token).await.json(200)["user"]["id"].as_i64().expect("session user id");
        app
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

    /// Sends a request announcing a `len`-byte body over a plain socket, as the first admin, and
    /// reads the answer before sending the body (a server refuses an oversize body without
    /// reading it, and may close the connection while a client is still writing).
    pub async fn send_oversize(&self, method: &str, path: &str, content_type: &str, len: usize) -> Resp {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let what = format!("{method} {path} ({len} bytes)");
        let addr = self.base.trim_start_matches("http://").to_string();
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap_or_else(|e| panic!("{what}: {e}"));
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nContent-Type: {content_type}\r\n\
             Content-Length: {len}\r\nConnection: close\r\n\r\n",
            self.token
        );
        stream.write_all(head.as_bytes()).await.unwrap_or_else(|e| panic!("{what}: {e}"));
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        // The answer to the head alone, or, if the server reads on, to the whole body.
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(3), stream.read(&mut chunk)).await {
            buf.extend_from_slice(&chunk[..n]);
        } else {
            let body = vec![b'x'; len];
            let _ = stream.write_all(&body).await;
        }
        while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk)).await {
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let text = String::from_utf8_lossy(&buf).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("{what}: no HTTP answer: {text:?}"));
        let mut lines = head.lines();
        let status_line = lines.next().unwrap_or_default();
        let code: u16 = status_line.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("{what}: {status_line:?}"));
        let mut headers = HeaderMap::new();
        for line in lines {
            if let Some((k, v)) = line.split_once(':') {
                if let (Ok(k), Ok(v)) = (header::HeaderName::from_bytes(k.trim().as_bytes()), header::HeaderValue::from_str(v.trim())) {
                    headers.append(k, v);
                }
            }
        }
        let chunked = headers.get("transfer-encoding").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"));
        let body = if chunked { dechunk(body) } else { body.to_string() };
        Resp {
            what,
            status: StatusCode::from_u16(code).expect("status"),
            headers,
            body: serde_json::from_str(&body).unwrap_or(Value::Null),
            bytes: body.into_bytes(),
        }
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

    /// Signs in to the first account and returns the bearer token.
    pub async fn sign_in(&self, login: &str, password: &str) -> String {
        let body = self.login(login, password).await.json(200);
        body["token"].as_str().expect("token").to_string()
    }

    /// Signs in to another account and returns the bearer token.
    pub async fn sign_in_to(&self, account: &str, login: &str, password: &str) -> String {
        let body = self.login_in(account, login, password).await.json(200);
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

    /// A user holding the built-in role `role_key` (admin, supervisor, agent, financial),
    /// signed in; returns (id, token).
    pub async fn user_with_role(&self, login: &str, role_key: &str) -> (i64, String) {
        let role = self.builtin_role(role_key).await;
        let id = self.user_with_password(login, "correct-horse-9", json!({ "roles": [role] })).await;
        (id, self.sign_in(login, "correct-horse-9").await)
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
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..1000 {
            let q = match &cursor {
                Some(c) => format!("{query}&cursor={c}"),
                None => query.to_string(),
            };
            let page = self.list_users(&q).await.json(200);
            items.extend(page["items"].as_array().expect("items").iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return items,
            }
        }
        panic!("more than 1000 pages for {query}");
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

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else { break };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// The items of a list response: the array itself, or its `items`.
pub fn list_items(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        other => other["items"].as_array().cloned().unwrap_or_default(),
    }
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

pub fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).expect("formats")
}

// ---- images ---------------------------------------------------------------------------

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in bytes {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    out.extend_from_slice(&crc_input);
    out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
}

/// A valid `width`×`height` RGB PNG of one colour (zlib with stored blocks; small sizes only).
pub fn png(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    let mut raw = Vec::new();
    for _ in 0..height {
        raw.push(0); // filter: none
        for _ in 0..width {
            raw.extend_from_slice(&rgb);
        }
    }
    assert!(raw.len() < 65_535, "png() writes one stored deflate block");
    let mut z = vec![0x78, 0x01, 0x01];
    z.extend_from_slice(&(raw.len() as u16).to_le_bytes());
    z.extend_from_slice(&(!(raw.len() as u16)).to_le_bytes());
    z.extend_from_slice(&raw);
    z.extend_from_slice(&adler32(&raw).to_be_bytes());

    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit, truecolour, deflate, no filter, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &z);
    chunk(&mut out, b"IEND", &[]);
    out
}

#[test]
fn the_png_builder_matches_known_crcs() {
    // The IEND chunk's CRC is fixed by the format.
    assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    let p = png(2, 2, [255, 0, 0]);
    assert_eq!(&p[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&p[p.len() - 8..], &[b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82]);
}

#[test]
fn postgres_urls_are_split_into_server_and_options() {
    assert_eq!(split_postgres_url("postgres://postgres@127.0.0.1:5432/postgres"), ("postgres://postgres@127.0.0.1:5432".into(), "".into()));
    assert_eq!(split_postgres_url("postgres://u:p@h/db?sslmode=disable"), ("postgres://u:p@h".into(), "?sslmode=disable".into()));
    assert_eq!(split_postgres_url("postgres://h:5432"), ("postgres://h:5432".into(), "".into()));
}
