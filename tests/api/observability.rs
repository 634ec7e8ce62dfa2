//! `/metrics`: the figures move with what happens (sign-ins and their failures, lockouts,
//! wrong second-factor codes, mail, requests by route template), the optional token guards
//! them, `--metrics-bind` moves them to an address of their own, and the Grafana dashboard in
//! docs/ asks only for metrics the server shows.
//!
//! Each application has its own metrics (`observability::metrics`), so the figures of one
//! test's server are not moved by the tests running beside it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Engine, STRONG, TestApp, now_step, totp_code};

both_engines!(
    sign_ins_lockouts_and_wrong_codes_move_the_metrics,
    requests_are_counted_by_route_template_and_status,
    a_metrics_token_guards_the_metrics,
    metrics_can_have_an_address_of_their_own,
    the_dashboard_asks_only_for_metrics_the_server_shows,
);

const METRICS_TOKEN: &str = "metrics-Token-5521";

/// One sample of a scrape: name, labels, value.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Parses Prometheus' text format (what the exporter writes: no escaped quotes in our labels).
pub fn parse(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("a sample line: {line}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("a sample value: {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').unwrap_or_else(|| panic!("labels end with }}: {line}"));
                let labels = body
                    .split("\",")
                    .filter(|p| !p.is_empty())
                    .map(|pair| {
                        let (k, v) = pair.split_once('=').unwrap_or_else(|| panic!("a label: {pair} in {line}"));
                        (k.to_string(), v.trim_matches('"').to_string())
                    })
                    .collect();
                (name.to_string(), labels)
            }
            None => (series.to_string(), BTreeMap::new()),
        };
        samples.push(Sample { name, labels, value });
    }
    samples
}

/// The sum of the samples named `name` whose labels include `labels`.
pub fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v)))
        .map(|s| s.value)
        .sum()
}

pub async fn scrape(app: &TestApp) -> Vec<Sample> {
    let r = app.send(app.anon(Method::GET, "/metrics")).await;
    r.expect(200);
    assert!(r.content_type().starts_with("text/plain"), "{}", r.content_type());
    parse(&r.text())
}

/// A code the admin's authenticator does not show now, nor a step either side.
fn wrong_code(app: &TestApp) -> String {
    let secret = app.authenticators.get(&app.admin_login).expect("the admin's authenticator").secret;
    let step = now_step();
    let near: Vec<String> = (step - 2..=step + 2).map(|s| totp_code(&secret, s)).collect();
    (0..).map(|i| totp_code(&secret, step + 1000 + i)).find(|c| !near.contains(c)).expect("some code differs")
}

/// What moves the sign-in figures, once each: a success, wrong passwords up to a lockout, a
/// sign-in that stops at the second factor and a wrong code there, and a forgotten-password
/// mail. Returns the user's id.
async fn sign_in_activity(app: &TestApp) -> i64 {
    app.set_security(|s| {
        s["lockout"]["max_failures"] = json!(3);
        s["lockout"]["window_minutes"] = json!(15);
    })
    .await;
    let id = app.user_with_password("mia", STRONG, json!({ "email": "mia@example.com" })).await;
    app.sign_in("mia", STRONG).await;
    for _ in 0..3 {
        app.login("mia", "Wrong-Password-77").await.problem(401);
    }
    let step = app.login(&app.admin_login, &app.admin_password).await.json(200);
    let challenge = step["challenge"].as_str().unwrap_or_else(|| panic!("a second-factor step: {step}"));
    app.second_factor(challenge, &wrong_code(app), Some("totp")).await.problem_field(422, "code", "wrong_code");
    let body = json!({ "account": app.account, "login_or_email": "mia" });
    app.send(app.anon(Method::POST, "/api/v1/auth/forgot-password").json(&body)).await.expect(202);
    app.mailbox.wait_for("mia@example.com").await;
    id
}

/// Scrapes until `ready` holds (mail is counted once its delivery is recorded, just after the
/// SMTP server has it).
async fn scrape_until(app: &TestApp, ready: impl Fn(&[Sample]) -> bool) -> Vec<Sample> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let samples = scrape(app).await;
        if ready(&samples) || tokio::time::Instant::now() > deadline {
            return samples;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn sign_ins_lockouts_and_wrong_codes_move_the_metrics(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let before = scrape(&app).await;
    let mails_before = app.mailbox.all().len();
    sign_in_activity(&app).await;
    // Mail is counted once its delivery is recorded, just after the SMTP server has it, and the
    // worker's run when it has sent what was due; a scrape reads the queue before it renders
    // the counters, so wait until the three agree.
    let mailed = (app.mailbox.all().len() - mails_before) as f64;
    let sent = |s: &[Sample]| value(s, "roster_mail_deliveries_total", &[("result", "sent")]);
    let after = scrape_until(&app, |s| {
        sent(s) - sent(&before) >= mailed
            && value(s, "roster_outbox_depth", &[]) == 0.0
            && value(s, "roster_jobs_runs_total", &[("job", "mail_delivery"), ("outcome", "ok")]) >= 2.0
    })
    .await;
    let delta = |name: &str, labels: &[(&str, &str)]| value(&after, name, labels) - value(&before, name, labels);

    assert_eq!(delta("roster_sign_ins_total", &[("outcome", "success")]), 1.0, "mia's sign-in");
    assert_eq!(delta("roster_sign_ins_total", &[("outcome", "refused")]), 3.0, "three wrong passwords");
    assert_eq!(delta("roster_sign_ins_total", &[("outcome", "next_step")]), 1.0, "the admin's second-factor step");
    assert_eq!(delta("roster_sign_in_failures_total", &[("reason", "wrong_password")]), 3.0);
    assert_eq!(delta("roster_lockouts_total", &[("of", "user")]), 1.0, "the third failure locks mia");
    assert_eq!(delta("roster_lockouts_total", &[("of", "address")]), 0.0, "the address limit is higher");
    assert_eq!(
        delta("roster_second_factor_failures_total", &[("method", "totp"), ("reason", "wrong_code")]),
        1.0,
        "the wrong code"
    );
    assert!(mailed >= 1.0, "the reset mail was sent");
    assert_eq!(delta("roster_mail_deliveries_total", &[("result", "sent")]), mailed, "each mail the server got");
    assert_eq!(delta("roster_mail_deliveries_total", &[("result", "failed")]), 0.0);

    // Gauges read at scrape time: the admin's and mia's sessions are open (the API's kind).
    assert!(value(&after, "roster_sessions_live", &[("kind", "api")]) >= 2.0, "{after:?}");
    assert_eq!(value(&after, "roster_sessions_live", &[("kind", "phone")]), 0.0);
    assert_eq!(value(&after, "roster_outbox_depth", &[]), 0.0, "the mail went out");
    assert!(value(&after, "roster_session_cache_entries", &[]) >= 1.0);
    assert!(value(&after, "roster_session_cache_lookups_total", &[("result", "hit")]) >= 1.0);
    assert!(value(&after, "roster_db_connections_max", &[]) >= 1.0);
    assert!(value(&after, "roster_db_connections", &[("state", "idle")]) >= 1.0, "between requests: idle");
    assert!(value(&after, "roster_db_hold_seconds_count", &[("kind", "write"), ("outcome", "commit")]) >= 5.0);
    assert!(value(&after, "roster_db_acquire_seconds_count", &[]) >= 5.0);
    assert!(value(&after, "process_resident_memory_bytes", &[]) > 1_000_000.0);
    // The background jobs ran when the server started (and the mail worker again for the mail).
    assert!(value(&after, "roster_jobs_runs_total", &[("job", "mail_delivery"), ("outcome", "ok")]) >= 2.0);
    assert!(value(&after, "roster_jobs_runs_total", &[("job", "flush_last_seen")]) >= 1.0);
    assert!(value(&after, "roster_jobs_last_run_timestamp_seconds", &[("job", "clean_up")]) > 1.7e9);
}

async fn requests_are_counted_by_route_template_and_status(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let id = app.user_with_password("noah", STRONG, json!({})).await;
    let before = scrape(&app).await;
    for _ in 0..2 {
        app.get(&app.user_path(id)).await.expect(200);
    }
    app.get(&app.user_path(id + 1000)).await.expect(404);
    app.send(app.anon(Method::GET, "/reset-password/SomeEmailedToken123")).await;
    app.send(app.anon(Method::GET, "/no/such/page/4711")).await.expect(404);
    let after = scrape(&app).await;
    let route = "/api/v1/accounts/{account}/users/{id}";
    let delta = |labels: &[(&str, &str)]| {
        value(&after, "roster_http_requests_total", labels) - value(&before, "roster_http_requests_total", labels)
    };
    assert_eq!(delta(&[("route", route), ("method", "GET"), ("status", "200")]), 2.0, "{after:?}");
    assert_eq!(delta(&[("route", route), ("method", "GET"), ("status", "404")]), 1.0);
    assert_eq!(delta(&[("route", "unmatched"), ("status", "404")]), 1.0, "a path no route has");
    let latency = |s: &[Sample]| value(s, "roster_http_request_duration_seconds_count", &[("route", route)]);
    assert_eq!(latency(&after) - latency(&before), 3.0, "each request timed");
    let bucketed = after.iter().any(|s| {
        s.name == "roster_http_request_duration_seconds_bucket" && s.labels.get("route").is_some_and(|r| r == route)
    });
    assert!(bucketed, "latency is a histogram with buckets");
    // Labels hold templates, never a raw path with ids or emailed tokens.
    for s in &after {
        let labels = format!("{:?}", s.labels);
        assert!(!labels.contains(&format!("/users/{id}")), "a raw id in {s:?}");
        assert!(!labels.contains("SomeEmailedToken123") && !labels.contains("4711"), "a raw path in {s:?}");
    }
}

async fn a_metrics_token_guards_the_metrics(engine: Engine) {
    let app = TestApp::spawn_with(engine, |c| c.metrics_token = Some(METRICS_TOKEN.to_string().into())).await;
    app.send(app.anon(Method::GET, "/metrics")).await.problem(401);
    app.send(app.req_as("metrics-Token-5520", Method::GET, "/metrics")).await.problem(401);
    // The admin's own bearer token is not the metrics token either.
    app.get("/metrics").await.problem(401);
    let r = app.send(app.req_as(METRICS_TOKEN, Method::GET, "/metrics")).await;
    r.expect(200);
    let samples = parse(&r.text());
    assert!(value(&samples, "roster_http_requests_total", &[]) >= 1.0, "{}", r.text());
    // The probes stay open: a load balancer has no token.
    app.send(app.anon(Method::GET, "/health/ready")).await.expect(200);
}

async fn metrics_can_have_an_address_of_their_own(engine: Engine) {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let app = TestApp::spawn_with(engine, |c| c.metrics_bind = Some(([127, 0, 0, 1], port).into())).await;
    app.send(app.anon(Method::GET, "/metrics")).await.problem(404);
    app.get("/api/v1/session").await.expect(200);
    let r = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await.unwrap();
    assert_eq!(r.status(), 200);
    let samples = parse(&r.text().await.unwrap());
    assert!(
        value(&samples, "roster_http_requests_total", &[("route", "/api/v1/session"), ("status", "200")]) >= 1.0,
        "the main port's requests are counted: {samples:?}"
    );
    let other = reqwest::get(format!("http://127.0.0.1:{port}/api/v1/session")).await.unwrap();
    assert_eq!(other.status(), 404, "only /metrics is served there");
}

/// The metric names a PromQL expression uses.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = expr;
    while let Some(i) = rest.find(|c: char| c.is_ascii_alphabetic() || c == '_') {
        let tail = &rest[i..];
        let end = tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')).unwrap_or(tail.len());
        let word = &tail[..end];
        // Inside `{…}` words are label names and values; `by (…)` lists labels: metrics are
        // Roster's or the process's, which is what the dashboard asks for.
        if word.starts_with("roster_") || word.starts_with("process_") {
            names.insert(word.to_string());
        }
        rest = &tail[end..];
    }
    names
}

fn exprs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("expr", Value::String(e)) => out.push(e.clone()),
                    _ => exprs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| exprs(i, out)),
        _ => {}
    }
}

async fn the_dashboard_asks_only_for_metrics_the_server_shows(engine: Engine) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/grafana-dashboard.json");
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).expect("the dashboard is JSON");
    let mut queries = Vec::new();
    exprs(&dashboard, &mut queries);
    let asked: BTreeSet<String> = queries.iter().flat_map(|q| metric_names(q)).collect();
    assert!(asked.len() >= 15, "the dashboard covers the metrics: {asked:?}");

    let app = TestApp::spawn(engine).await;
    sign_in_activity(&app).await;
    let samples = scrape_until(&app, |s| value(s, "roster_mail_deliveries_total", &[]) >= 1.0).await;
    let shown: BTreeSet<String> = samples.iter().map(|s| s.name.clone()).collect();
    let unknown: Vec<&String> = asked.difference(&shown).collect();
    assert!(
        unknown.is_empty(),
        "the dashboard asks for metrics the server does not show: {unknown:?}\nshown: {shown:?}"
    );
    // And the other way round: every family the server shows has a panel.
    let family = |name: &str| {
        ["_bucket", "_sum", "_count"].iter().fold(name.to_string(), |n, s| n.strip_suffix(s).unwrap_or(&n).to_string())
    };
    let asked_families: BTreeSet<String> = asked.iter().map(|n| family(n)).collect();
    let unshown: Vec<String> =
        shown.iter().map(|n| family(n)).filter(|f| !asked_families.contains(f) && f != "roster_build_info").collect();
    assert!(unshown.is_empty(), "metrics without a panel: {unshown:?}");
}

#[test]
fn the_parser_reads_labels_and_the_name_finder_skips_labels() {
    let samples = parse("# HELP x y\nroster_a_total{route=\"/a/{id}\",status=\"200\"} 3\nprocess_b 1.5e6\n");
    assert_eq!(samples.len(), 2);
    assert_eq!(samples[0].labels["route"], "/a/{id}");
    assert_eq!(value(&samples, "roster_a_total", &[("status", "200")]), 3.0);
    assert_eq!(value(&samples, "process_b", &[]), 1.5e6);
    let names =
        metric_names("sum by (route) (rate(roster_x_bucket{job=\"roster\",route=~\"/api.*\"}[5m])) / process_y");
    assert_eq!(names.into_iter().collect::<Vec<_>>(), ["process_y", "roster_x_bucket"]);
}
