//! The layer around every request on the main port: it gives the request its id
//! (`X-Request-Id`, on the response too, and in the log's request span), makes this
//! application's metrics the current ones while the request runs, and counts and times it by
//! route template — never by the raw path, which holds ids and emailed tokens.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;

use super::Ops;
use crate::http::client_address::TrustedProxies;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// A proxy's id longer than this is not taken (a log line should stay a line).
const MAX_ID_LEN: usize = 128;

/// The request's id, in its extensions for the log span.
#[derive(Debug, Clone)]
pub struct RequestId(pub HeaderValue);

impl RequestId {
    pub fn as_str(&self) -> &str {
        self.0.to_str().unwrap_or_default()
    }
}

pub async fn observe(State(ops): State<Ops>, mut request: Request, next: Next) -> Response {
    let id = request_id(&ops.app.config.trusted_proxies, &request);
    request.headers_mut().insert(REQUEST_ID, id.clone());
    request.extensions_mut().insert(RequestId(id.clone()));
    let method = method_label(request.method());
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_string();
    let started = Instant::now();
    let mut response = ops.metrics.scope(next.run(request)).await;
    let elapsed = started.elapsed().as_secs_f64();
    let status = response.status().as_u16().to_string();
    ops.metrics.sync(|| {
        metrics::counter!("roster_http_requests_total", "method" => method, "route" => route.clone(), "status" => status)
            .increment(1);
        metrics::histogram!("roster_http_request_duration_seconds", "method" => method, "route" => route)
            .record(elapsed);
    });
    response.headers_mut().insert(REQUEST_ID, id);
    response
}

/// The id a trusted proxy sent, when it is a reasonable one; otherwise a new random one.
fn request_id(trusted: &TrustedProxies, request: &Request) -> HeaderValue {
    let from_trusted_peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(peer)| trusted.trusts(peer.ip()));
    if from_trusted_peer
        && let Some(sent) = request.headers().get(REQUEST_ID)
        && acceptable(sent.as_bytes())
    {
        return sent.clone();
    }
    new_id()
}

/// Visible ASCII only (no spaces or control characters that could forge log lines), bounded.
fn acceptable(id: &[u8]) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_LEN && id.iter().all(|b| (0x21..=0x7e).contains(b))
}

/// A random UUID (version 4), as the id of a request that came without a trusted one.
fn new_id() -> HeaderValue {
    let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    HeaderValue::from_str(id.hyphenated().encode_lower(&mut text)).unwrap_or_else(|_| HeaderValue::from_static("-"))
}

/// Methods as labels: the standard ones by name, anything else as one value, so that a client
/// inventing methods cannot grow the metrics without bound.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bounded_visible_ascii_ids_are_taken() {
        assert!(acceptable(b"abc-123_XYZ:/."));
        assert!(!acceptable(b""));
        assert!(!acceptable(b"two words"));
        assert!(!acceptable(b"line\nbreak"));
        assert!(!acceptable("é".as_bytes()));
        assert!(!acceptable(&[b'a'; MAX_ID_LEN + 1]));
        assert!(acceptable(&[b'a'; MAX_ID_LEN]));
    }

    #[test]
    fn new_ids_are_uuid_v4() {
        let id = new_id();
        let text = id.to_str().unwrap();
        assert_eq!(text.len(), 36);
        assert_eq!(&text[14..15], "4");
        assert!(matches!(&text[19..20], "8" | "9" | "a" | "b"), "the RFC 4122 variant");
        let groups: Vec<usize> = text.split('-').map(str::len).collect();
        assert_eq!(groups, vec![8, 4, 4, 4, 12]);
        assert!(text.bytes().all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_ne!(new_id(), id);
    }
}
