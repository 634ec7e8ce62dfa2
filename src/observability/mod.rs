//! What operators watch and probe: `/metrics` (Prometheus), `/health/live` and
//! `/health/ready`, the request id every response carries, and the log format (text or one
//! JSON object a line). docs/operations.md describes them for operators.
//!
//! It sits in the infrastructure, above `state`: capabilities record their own figures through
//! the `metrics` facade (`metrics::counter!`), which needs nothing from here; the gauges that
//! read the database are read at scrape time through `store::observe`.

pub mod health;
pub mod logging;
pub mod metrics;
pub mod request;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::clock::now_ms;
use crate::error::Error;
use crate::model::SessionKind;
use crate::state::AppState;
use crate::store::observe;

pub use metrics::Metrics;

/// How long a scrape waits for the database's gauges before showing the previous values.
const SCRAPE_DB_WAIT: Duration = Duration::from_secs(2);

/// One application's observability: its metrics, and whether it is shutting down.
#[derive(Clone)]
pub struct Ops {
    pub app: AppState,
    pub metrics: Arc<Metrics>,
    draining: Arc<AtomicBool>,
}

impl Ops {
    pub fn new(app: AppState) -> anyhow::Result<Ops> {
        Ok(Ops { app, metrics: Arc::new(Metrics::new()?), draining: Arc::default() })
    }

    /// From now on `/health/ready` answers 503, so that load balancers stop sending requests.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

/// The routes served on the main port: the health probes, and `/metrics` unless it has an
/// address of its own (`--metrics-bind`).
pub fn routes(ops: &Ops) -> Router {
    let router = Router::new().route("/health/live", get(health::live)).route("/health/ready", get(health::ready));
    let router = match ops.app.config.metrics_bind {
        Some(_) => router,
        None => router.route("/metrics", get(scrape)),
    };
    router.with_state(ops.clone())
}

/// What `--metrics-bind` serves: `/metrics` alone.
pub fn metrics_router(ops: &Ops) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .fallback(|| async { Error::NotFound("page") })
        .method_not_allowed_fallback(|| async { Error::MethodNotAllowed })
        .with_state(ops.clone())
}

async fn scrape(State(ops): State<Ops>, headers: HeaderMap) -> Response {
    if let Some(expected) = &ops.app.config.metrics_token {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        let matches = sent.is_some_and(|s| bool::from(s.as_bytes().ct_eq(expected.expose_secret().as_bytes())));
        if !matches {
            return Error::Unauthenticated.into_response();
        }
    }
    ops.metrics.scope(refresh(&ops)).await;
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], ops.metrics.render()).into_response()
}

/// Sets the gauges that are read rather than counted: from memory, then two aggregates from
/// the database (bounded in time; on failure the previous values stay).
async fn refresh(ops: &Ops) {
    let store = &ops.app.store;
    let (open, idle, max) = store.pool_connections();
    ::metrics::gauge!("roster_db_connections", "state" => "in_use").set(open.saturating_sub(idle as u32) as f64);
    ::metrics::gauge!("roster_db_connections", "state" => "idle").set(idle as f64);
    ::metrics::gauge!("roster_db_connections_max").set(f64::from(max));
    ::metrics::gauge!("roster_session_cache_entries").set(ops.app.sessions.len() as f64);
    if let Some(bytes) = metrics::resident_bytes() {
        ::metrics::gauge!("process_resident_memory_bytes").set(bytes as f64);
    }
    ::metrics::gauge!("roster_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    let now = now_ms();
    let read = async {
        let mut conn = store.read().await?;
        let sessions = observe::live_sessions(&mut conn, now).await?;
        let outbox = observe::outbox_depth(&mut conn).await?;
        Ok::<_, sqlx::Error>((sessions, outbox))
    };
    match tokio::time::timeout(SCRAPE_DB_WAIT, read).await {
        Ok(Ok((sessions, (depth, oldest)))) => {
            for kind in SessionKind::ALL {
                let live = sessions.iter().find(|(k, _)| k == kind.as_str()).map_or(0, |(_, n)| *n);
                ::metrics::gauge!("roster_sessions_live", "kind" => kind.as_str()).set(live as f64);
            }
            ::metrics::gauge!("roster_outbox_depth").set(depth as f64);
            let age = oldest.map_or(0.0, |at| (now - at).max(0) as f64 / 1000.0);
            ::metrics::gauge!("roster_outbox_oldest_age_seconds").set(age);
        }
        Ok(Err(e)) => tracing::debug!(error = %e, "reading the gauges for /metrics"),
        Err(_) => tracing::debug!("reading the gauges for /metrics took too long"),
    }
}
