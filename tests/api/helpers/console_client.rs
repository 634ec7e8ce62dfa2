//! A console session over plain HTTP, as htmx drives the console: the session cookie, the
//! CSRF token the pages carry, and the answers' status, `HX-Redirect` and body.

use reqwest::header;

use super::TestApp;

/// A console session over plain HTTP: the cookie, and the CSRF token its pages carry.
pub struct Console {
    pub http: reqwest::Client,
    pub base: String,
    pub csrf: String,
}

/// A console answer: status, the `HX-Redirect` header and the body.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub redirect: Option<String>,
    pub body: String,
}

impl Page {
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "answered {} (redirect {:?}):\n{}", self.status, self.redirect, self.body);
        self
    }

    #[track_caller]
    pub fn has(&self, needle: &str) -> &Self {
        assert!(self.body.contains(needle), "no {needle:?} in the page:\n{}", self.body);
        self
    }

    #[track_caller]
    pub fn lacks(&self, needle: &str) -> &Self {
        assert!(!self.body.contains(needle), "{needle:?} should not be in the page:\n{}", self.body);
        self
    }

    #[track_caller]
    pub fn redirects_to(&self, to: &str) -> &Self {
        assert_eq!(self.redirect.as_deref(), Some(to), "answered {}:\n{}", self.status, self.body);
        self
    }

    /// The text of the element with this id (its first text run, tags removed).
    #[track_caller]
    pub fn text_of(&self, id: &str) -> String {
        let start = self.body.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in:\n{}", self.body));
        let rest = &self.body[start..];
        let open = rest.find('>').expect("tag end") + 1;
        let close = rest[open..].find("</").expect("closing tag");
        rest[open..open + close].trim().to_string()
    }

    /// The `value` of the input named `name`.
    #[track_caller]
    pub fn value_of(&self, name: &str) -> String {
        let at =
            self.body.find(&format!("name=\"{name}\"")).unwrap_or_else(|| panic!("no input {name} in:\n{}", self.body));
        let tag_start = self.body[..at].rfind('<').expect("tag start");
        let tag_end = at + self.body[at..].find('>').expect("tag end");
        let tag = &self.body[tag_start..tag_end];
        tag.split("value=\"")
            .nth(1)
            .and_then(|v| v.split('"').next())
            .unwrap_or_else(|| panic!("no value in {tag}"))
            .to_string()
    }
}

impl Console {
    /// A console session of a user whose sign-in asks for no step (see `TestApp::console_sign_in`).
    pub async fn sign_in(app: &TestApp, login: &str, password: &str) -> Console {
        Console::with(app, app.console_sign_in(login, password).await).await
    }

    /// A console session of a user who has a second factor (every admin: R27): the test's
    /// authenticator answers the sign-in's second-factor steps.
    pub async fn sign_in_with_second_factor(app: &TestApp, login: &str, password: &str) -> Console {
        Console::with(app, app.console_sign_in_with_second_factor(login, password).await).await
    }

    async fn with(app: &TestApp, http: reqwest::Client) -> Console {
        let mut console = Console { http, base: app.base.clone(), csrf: String::new() };
        let page = console.get("/console/me").await;
        page.expect(200);
        console.csrf = page
            .body
            .split("name=\"csrf-token\" content=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("the page's CSRF token")
            .to_string();
        console
    }

    pub async fn answer(response: reqwest::Response) -> Page {
        let status = response.status().as_u16();
        let redirect = response
            .headers()
            .get("hx-redirect")
            .or_else(|| response.headers().get(header::LOCATION))
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Page { status, redirect, body: response.text().await.expect("body") }
    }

    pub async fn get(&self, path: &str) -> Page {
        Self::answer(self.http.get(format!("{}{path}", self.base)).send().await.expect("GET")).await
    }

    /// A form post as htmx sends it (with the CSRF header).
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("HX-Request", "true")
            .header("X-CSRF-Token", &self.csrf)
            .form(form)
            .send()
            .await
            .expect("POST");
        Self::answer(response).await
    }
}

/// Every field of the account security settings form, from a settings document (as a browser
/// would post the form: checked boxes as `on`, "never" for no expiry).
pub fn settings_form(doc: &serde_json::Value, version: &str) -> Vec<(String, String)> {
    let mut form = vec![("version".to_string(), version.to_string())];
    for (section, fields) in doc.as_object().unwrap() {
        for (field, value) in fields.as_object().unwrap() {
            let name = format!("{section}.{field}");
            match value {
                serde_json::Value::Bool(true) => form.push((name, "on".into())),
                serde_json::Value::Bool(false) => {}
                serde_json::Value::Null => form.push((name, "never".into())),
                serde_json::Value::String(s) => form.push((name, s.clone())),
                other => form.push((name, other.to_string())),
            }
        }
    }
    form
}
