//! The probes: `/health/live` says the process answers; `/health/ready` that this instance can
//! serve — the database answers a query, every migration this build embeds is applied, and it
//! is not shutting down. A refusal is 503 problem+json saying why.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::Ops;
use crate::store::{Store, observe};

/// A database that takes longer than this to answer counts as down.
const READY_WAIT: Duration = Duration::from_secs(3);

pub async fn live() -> Response {
    Json(json!({ "status": "live" })).into_response()
}

pub async fn ready(State(ops): State<Ops>) -> Response {
    if ops.draining() {
        return not_ready("this instance is shutting down");
    }
    match tokio::time::timeout(READY_WAIT, check(&ops.app.store)).await {
        Ok(Ok(())) => Json(json!({ "status": "ready" })).into_response(),
        Ok(Err(why)) => not_ready(&why),
        Err(_) => not_ready("the database did not answer in time"),
    }
}

async fn check(store: &Store) -> Result<(), String> {
    let mut conn = store.read().await.map_err(|e| {
        tracing::debug!(error = %e, "readiness: no database connection");
        "the database does not answer".to_string()
    })?;
    let applied = observe::applied_migrations(&mut conn).await.map_err(|e| {
        tracing::debug!(error = %e, "readiness: reading the applied migrations");
        "the database does not answer".to_string()
    })?;
    let missing: Vec<String> =
        store.embedded_migrations().into_iter().filter(|v| !applied.contains(v)).map(|v| v.to_string()).collect();
    match missing.is_empty() {
        true => Ok(()),
        false => Err(format!("migrations not applied: {} (run `roster migrate`)", missing.join(", "))),
    }
}

fn not_ready(detail: &str) -> Response {
    let body = json!({
        "type": "https://roster.dev/problems/not-ready",
        "title": "Not ready",
        "status": 503,
        "detail": detail,
    });
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/problem+json"));
    response
}
