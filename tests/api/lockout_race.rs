//! Lockout under a burst of parallel guesses (R10): however many wrong passwords arrive at
//! once, the user is locked once, the count follows the rules of `auth::failures` (only a
//! wrong password against an unlocked user counts; the lock starts the count afresh at 0),
//! and the right password is refused while the lock lasts.

use std::collections::BTreeMap;

use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::helpers::{Engine, STRONG, TestApp, assert_near, parse_time};

both_engines!(parallel_wrong_passwords_lock_the_user_exactly_once);

const GUESSES: usize = 50;
const MAX_FAILURES: u32 = 3;
const LOCK_MINUTES: i64 = 20;

async fn parallel_wrong_passwords_lock_the_user_exactly_once(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.set_security(|s| {
        s["lockout"]["max_failures"] = json!(MAX_FAILURES);
        s["lockout"]["window_minutes"] = json!(15);
        s["lockout"]["lock_minutes"] = json!(LOCK_MINUTES);
        // The burst comes from one address: keep the address throttle (429) out of the way.
        s["lockout"]["address_max_failures"] = json!(10_000);
    })
    .await;
    let id = app.user_with_password("dora", STRONG, json!({})).await;

    let started = OffsetDateTime::now_utc();
    let guesses = (0..GUESSES).map(|i| {
        let app = &app;
        async move { app.login("dora", &format!("wrong-password-{i}")).await }
    });
    let answers = futures::future::join_all(guesses).await;
    for r in &answers {
        r.problem(401);
    }

    // The reasons the log gives, to explain a failure below.
    let failed = app.events(id, "auth.sign_in_failed").await;
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    for e in &failed {
        *tally.entry(e["changes"]["reason"].as_str().unwrap_or("?").to_string()).or_default() += 1;
    }

    // Locked once: one lock event, whatever the number of guesses. The lock starts the count
    // afresh (`lock_user`), and guesses against a locked user do not count (`record_failure`):
    // nothing is left to count. And the right password is refused while the lock lasts.
    let locks = app.events(id, "user.locked").await;
    let count = app.sql_text(&format!("SELECT CAST(failed_sign_ins AS TEXT) FROM users WHERE id = {id}")).await;
    let right_password = app.login("dora", STRONG).await;
    assert_eq!(
        (locks.len(), count.as_str(), right_password.status.as_u16()),
        (1, "0", 401),
        "{GUESSES} parallel wrong passwords with max_failures = {MAX_FAILURES}: (lock events, stored failure count, \
         status of the right password); sign-in failures by reason: {tally:?}"
    );
    right_password.problem(401);
    assert_eq!(locks[0]["target_id"], id);
    let user = app.get_user(id).await.json(200);
    assert_near(
        parse_time(&user["locked_until"]),
        started + Duration::minutes(LOCK_MINUTES),
        Duration::minutes(1),
        "locked_until",
    );
}
