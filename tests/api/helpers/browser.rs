//! A real headless Chromium for the console tests: Debian's `chromium` driven over WebDriver
//! (`chromedriver`, started here on a free port) with fantoccini.
//!
//! Both programs are required: without them a test fails, it never skips (`.ci/run` installs
//! them). Waits poll for what the page should show, up to a timeout; no fixed sleeps.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long a page may take to show what a test waits for.
const TIMEOUT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(50);

/// A chromedriver we started, in its own process group with the Chromium it starts; dropping
/// it ends the whole group, also when a test panics before the session is closed.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One headless Chromium with a fresh profile, pointed at the Roster under test.
pub struct Browser {
    pub client: Client,
    /// Roster's base URL; `goto` takes paths below it.
    base: String,
    // Dropped in this order: the session, then chromedriver and Chromium, then the profile.
    _driver: Driver,
    driver_log: PathBuf,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and Chromium for the Roster at `base` (`http://127.0.0.1:port`).
    pub async fn launch(base: &str) -> Browser {
        for program in [CHROMEDRIVER, CHROMIUM] {
            assert!(
                Path::new(program).exists(),
                "{program} is missing: the console tests need Debian's chromium and chromium-driver \
                 (`apt-get install chromium chromium-driver`, as .ci/run does); they never skip"
            );
        }
        let profile = tempfile::tempdir().expect("tempdir for the Chromium profile");
        let driver_log = profile.path().join("chromedriver.log");
        let mut last_error = String::new();
        // A port found free may be taken before chromedriver binds it: then try another.
        for _ in 0..3 {
            let port =
                std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
            let log = std::fs::File::create(&driver_log).expect("chromedriver log file");
            let mut command = Command::new(CHROMEDRIVER);
            command
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log"))
                .stderr(log);
            std::os::unix::process::CommandExt::process_group(&mut command, 0);
            let mut driver = Driver(command.spawn().unwrap_or_else(|e| panic!("starting {CHROMEDRIVER}: {e}")));
            if let Err(e) = wait_until_ready(&mut driver, port, &driver_log).await {
                last_error = e;
                continue;
            }
            match connect(port, profile.path()).await {
                Ok(client) => {
                    return Browser { client, base: base.to_string(), _driver: driver, driver_log, _profile: profile };
                }
                Err(e) => last_error = format!("{e}\nchromedriver log:\n{}", read_log(&driver_log)),
            }
        }
        panic!("could not start headless Chromium through chromedriver: {last_error}");
    }

    /// Ends the WebDriver session (Chromium quits); chromedriver is ended on drop.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }

    pub async fn goto(&self, path: &str) {
        let url = format!("{}{path}", self.base);
        self.client.goto(&url).await.unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    /// The current URL's path and query, e.g. `/console/users?desk=3`.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current URL");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// The element matching `css` now (no waiting).
    pub async fn find(&self, css: &str) -> Element {
        match self.client.find(Locator::Css(css)).await {
            Ok(e) => e,
            Err(e) => panic!("no element {css} on {}: {e}", self.path().await),
        }
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    }

    /// Replaces the text of the input `css` with `text`.
    pub async fn fill(&self, css: &str, text: &str) {
        let input = self.find(css).await;
        input.clear().await.unwrap_or_else(|e| panic!("clearing {css}: {e}"));
        input.send_keys(text).await.unwrap_or_else(|e| panic!("typing into {css}: {e}"));
    }

    /// Chooses the option with `value` in the select `css` (toggles it in a multiple select).
    pub async fn select(&self, css: &str, value: &str) {
        self.find(css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("choosing {value:?} in {css}: {e}"));
    }

    /// A property of the element `css` (`value`, `checked`, …) as text.
    pub async fn prop(&self, css: &str, name: &str) -> String {
        self.find(css).await.prop(name).await.unwrap_or_else(|e| panic!("{name} of {css}: {e}")).unwrap_or_default()
    }

    /// Runs `script` in the page (a function body; `arguments` are `args`).
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client.execute(script, args).await.unwrap_or_else(|e| panic!("running script {script:?}: {e}"))
    }

    /// Polls `probe` until it returns `Some`, and returns that; panics after the timeout with
    /// `what`, the page's path and what the flash area (htmx errors) shows.
    pub async fn wait_for<T>(&self, what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
        let start = Instant::now();
        loop {
            if let Some(found) = probe().await {
                return found;
            }
            if start.elapsed() > TIMEOUT {
                let flash = self.client.find(Locator::Css("#flash")).await.ok();
                let flash = match flash {
                    Some(f) => f.text().await.unwrap_or_default(),
                    None => String::new(),
                };
                panic!("waited {TIMEOUT:?} for {what} on {}; flash area: {flash:?}", self.path().await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until an element matches `css`.
    pub async fn wait_css(&self, css: &str) -> Element {
        self.wait_for(&format!("an element {css}"), async || self.client.find(Locator::Css(css)).await.ok()).await
    }

    /// Waits until the element `css` shows `needle`; returns its whole text.
    pub async fn wait_text(&self, css: &str, needle: &str) -> String {
        self.wait_for(&format!("{css} to show {needle:?}"), async || {
            let text = self.client.find(Locator::Css(css)).await.ok()?.text().await.ok()?;
            text.contains(needle).then_some(text)
        })
        .await
    }

    /// Waits until the page's path and query (as `path` gives them) contain `part`.
    pub async fn wait_url(&self, part: &str) {
        self.wait_for(&format!("a URL with {part:?}"), async || self.path().await.contains(part).then_some(())).await
    }

    /// Waits for a `confirm()` dialog, accepts it and returns its message.
    pub async fn accept_confirm(&self) -> String {
        let text = self.wait_for("a confirm dialog", async || self.client.get_alert_text().await.ok()).await;
        self.client.accept_alert().await.unwrap_or_else(|e| panic!("accepting the dialog {text:?}: {e}"));
        text
    }

    /// Saves a screenshot and the page's HTML as /tmp/{name}.png and .html (after a failure).
    pub async fn capture(&self, name: &str) {
        // An open dialog blocks screenshots; dismissing it changes nothing.
        let _ = self.client.dismiss_alert().await;
        let png = PathBuf::from(format!("/tmp/{name}.png"));
        match self.client.screenshot().await {
            Ok(bytes) => match std::fs::write(&png, bytes) {
                Ok(()) => eprintln!("screenshot: {}", png.display()),
                Err(e) => eprintln!("no screenshot: writing {}: {e}", png.display()),
            },
            Err(e) => eprintln!("no screenshot: {e}"),
        }
        if let Ok(html) = self.client.source().await {
            let path = png.with_extension("html");
            if std::fs::write(&path, html).is_ok() {
                eprintln!("page source: {}", path.display());
            }
        }
        eprintln!(
            "chromedriver log: {}",
            read_log(&self.driver_log).lines().rev().take(20).collect::<Vec<_>>().join("\n")
        );
    }
}

/// Waits until chromedriver answers `/status` as ready.
async fn wait_until_ready(driver: &mut Driver, port: u16, log: &Path) -> Result<(), String> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().expect("client");
    let start = Instant::now();
    while start.elapsed() < TIMEOUT {
        if let Ok(Some(status)) = driver.0.try_wait() {
            return Err(format!("chromedriver exited ({status}):\n{}", read_log(log)));
        }
        if let Ok(response) = http.get(format!("http://127.0.0.1:{port}/status")).send().await {
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if body["value"]["ready"] == json!(true) {
                return Ok(());
            }
        }
        tokio::time::sleep(POLL).await;
    }
    Err(format!("chromedriver did not answer on port {port} within {TIMEOUT:?}:\n{}", read_log(log)))
}

/// A WebDriver session with a headless Chromium using a fresh profile under `profile`.
async fn connect(port: u16, profile: &Path) -> Result<Client, String> {
    let args = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
    ]
    .map(String::from)
    .into_iter()
    .chain([format!("--user-data-dir={}", profile.join("chromium").display())])
    .collect::<Vec<_>>();
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
    });
    let Value::Object(capabilities) = capabilities else { unreachable!() };
    let url = format!("http://127.0.0.1:{port}");
    let mut builder = ClientBuilder::native();
    builder.capabilities(capabilities);
    match tokio::time::timeout(Duration::from_secs(60), builder.connect(&url)).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(e)) => Err(format!("starting {CHROMIUM}: {e}")),
        Err(_) => Err(format!("{CHROMIUM} did not start within 60 s")),
    }
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}
