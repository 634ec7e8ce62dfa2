//! A real OpenID Connect provider for the single sign-on tests: panva's `oidc-provider` from
//! npm (pinned by tests/oidc/package-lock.json, installed by `.ci/run`), run by Node with the
//! configuration each test gives it (tests/oidc/provider.mjs says what it can be asked).
//!
//! Node and the installed package are required: without them a test fails, it never skips.

use std::path::PathBuf;
use std::process::Stdio;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The client Roster is registered as at the test provider.
pub const CLIENT_ID: &str = "roster";
pub const CLIENT_SECRET: &str = "test-client-secret-0123456789";

/// One provider process; dropping it ends it.
pub struct TestProvider {
    pub issuer: String,
    child: Child,
    http: reqwest::Client,
    _config: tempfile::TempDir,
}

impl Drop for TestProvider {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

fn provider_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc")
}

impl TestProvider {
    /// Starts a provider that knows Roster (redirecting to `redirect_uri`) and these `users`
    /// (`{"subject": {"email": …, "email_verified": true, …}}`).
    pub async fn start(redirect_uri: &str, users: Value) -> TestProvider {
        let dir = provider_dir();
        assert!(
            dir.join("node_modules/oidc-provider").is_dir(),
            "the test identity provider is not installed: run `npm ci --prefix tests/oidc` (as .ci/run does); \
             the single sign-on tests never skip"
        );
        let config = tempfile::tempdir().expect("tempdir for the provider's configuration");
        let path = config.path().join("provider.json");
        let body = json!({
            "clients": [{ "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [redirect_uri] }],
            "users": users,
        });
        std::fs::write(&path, body.to_string()).expect("writing the provider's configuration");
        let mut child = Command::new("node")
            .arg(dir.join("provider.mjs"))
            .arg(&path)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("starting node (Node.js is required for the single sign-on tests)");
        let stdout = child.stdout.take().expect("the provider's stdout");
        let mut lines = BufReader::new(stdout).lines();
        let issuer = tokio::time::timeout(std::time::Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.expect("reading the provider's output") {
                if let Some(issuer) = line.strip_prefix("issuer ") {
                    return issuer.trim().to_string();
                }
            }
            panic!("the test identity provider ended before it listened");
        })
        .await
        .expect("the test identity provider did not start within 30 s");
        // Whatever it prints later is not read; keep the pipe drained so it never blocks.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        TestProvider { issuer, child, http: reqwest::Client::new(), _config: config }
    }

    async fn post(&self, path: &str, body: Value) {
        let r = self.http.post(format!("{}{path}", self.issuer)).json(&body).send().await.expect("the test provider");
        assert_eq!(r.status().as_u16(), 204, "test provider {path}");
    }

    pub async fn add_users(&self, users: Value) {
        self.post("/__test/users", users).await;
    }

    /// The next ID token is changed and signed again (`expired`, `wrong_key`, `wrong_nonce`,
    /// `wrong_audience`, `wrong_issuer`, `replay`).
    pub async fn spoil_next_token(&self, mode: &str) {
        self.post("/__test/next-token", json!({ "mode": mode })).await;
    }

    /// The provider publishes and signs with a new key from now on.
    pub async fn rotate_keys(&self) {
        self.post("/__test/rotate-keys", json!({})).await;
    }
}

/// A browser without JavaScript: keeps cookies, follows no redirect by itself.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

/// Where a response redirects to, made absolute against `base`.
pub fn location(response: &reqwest::Response, base: &str) -> Option<String> {
    let to = response.headers().get("location")?.to_str().ok()?;
    Some(match to.starts_with('/') {
        true => format!("{base}{to}"),
        false => to.to_string(),
    })
}

/// Follows a sign-in from Roster's button to the provider, signs in there as `subject`, and
/// stops at the redirect back to Roster: the callback URL (not yet requested).
pub async fn to_callback(
    browser: &reqwest::Client,
    roster: &str,
    start: &str,
    provider: &TestProvider,
    subject: &str,
) -> String {
    // A path of Roster's, or where Roster already sent the browser.
    let mut url = match start.starts_with("http") {
        true => start.to_string(),
        false => format!("{roster}{start}"),
    };
    for _ in 0..12 {
        if url.starts_with(&format!("{roster}/sso/callback")) {
            return url;
        }
        let r = browser.get(&url).send().await.expect("following the sign-in");
        let status = r.status().as_u16();
        let base = if url.starts_with(roster) { roster.to_string() } else { provider.issuer.clone() };
        if let Some(next) = location(&r, &base) {
            url = next;
            continue;
        }
        assert_eq!(status, 200, "{url} answered {status}: {}", r.text().await.unwrap_or_default());
        // The provider's sign-in page: post the subject to its form.
        let page = r.text().await.expect("the provider's page");
        assert!(page.contains("Test identity provider"), "not the provider's sign-in page at {url}: {page}");
        let action = page.split("action=\"").nth(1).and_then(|s| s.split('"').next()).expect("the form's action");
        let posted = browser
            .post(format!("{}{action}", provider.issuer))
            .form(&[("subject", subject)])
            .send()
            .await
            .expect("signing in at the provider");
        url = location(&posted, &provider.issuer)
            .unwrap_or_else(|| panic!("the provider's sign-in did not redirect: {}", posted.status()));
    }
    panic!("the sign-in did not come back to Roster");
}
