//! Building and running the server: `Application::build(config)` binds (port 0 in tests),
//! migrates, bootstraps the first account, and serves until stopped.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::config::Config;
use crate::error::Error;
use crate::state::AppState;
use crate::store::Store;

mod api_doc;

/// Request bodies larger than this are refused with 413 (avatars are at most 1 MiB).
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// An oversize body up to this size is read and discarded before the 413 is sent, so the
/// client, still sending, reliably gets the answer instead of a reset connection.
const DRAIN_BYTES: u64 = 16 * 1024 * 1024;
/// How long shutdown waits for the mail worker to finish the messages it is sending.
const MAIL_STOP_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    store: Store,
    initial_admin: Option<(String, SecretString)>,
    /// Metrics, probes and the request layer (`observability`).
    ops: crate::observability::Ops,
    /// `--metrics-bind`: `/metrics` on an address of its own.
    metrics_listener: Option<TcpListener>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let secrets = Arc::new(config.secrets()?);
        let geoip = Arc::new(match &config.geoip_database {
            Some(path) => crate::http::geoip::GeoIp::open(path)?,
            None => crate::http::geoip::GeoIp::none(),
        });
        crate::passwords::hashing::configure(config.argon2)?;
        let store = Store::connect(&config.database_url, 16).await?;
        store.migrate().await?;
        crate::secrets::reseal_legacy(&store, &secrets)
            .await
            .context("sealing SIP passwords and TOTP keys with their owners")?;
        let initial_admin =
            crate::accounts::service::bootstrap(&store).await.map_err(|e| anyhow::anyhow!("first start: {e:?}"))?;
        crate::passwords::hashing::warm_up();
        let listener = TcpListener::bind(config.bind).await.with_context(|| format!("binding {}", config.bind))?;
        let link_base = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", listener.local_addr().unwrap_or(config.bind)));
        let mail = Arc::new(crate::mail::Mailer::new(&config, link_base)?);
        let state = AppState::new(crate::state::Shared {
            store: store.clone(),
            config: Arc::new(config),
            secrets,
            sessions: Arc::default(),
            mail,
            geoip,
            identity_providers: Arc::default(),
        });
        let ops = crate::observability::Ops::new(state.clone())?;
        let metrics_listener = match state.config.metrics_bind {
            Some(addr) => Some(TcpListener::bind(addr).await.with_context(|| format!("binding {addr} for /metrics"))?),
            None => None,
        };
        let router = router(state.clone(), &ops);
        Ok(Application { listener, router, state, store, initial_admin, ops, metrics_listener })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Where `/metrics` is served when it has an address of its own (`--metrics-bind`).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The database this application runs on (tests stop it under a running server).
    pub fn store(&self) -> Store {
        self.store.clone()
    }

    /// The first admin's login and generated password, when this start created them.
    pub fn initial_admin(&self) -> Option<(String, String)> {
        self.initial_admin.as_ref().map(|(l, p)| (l.clone(), p.expose_secret().to_string()))
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_with_shutdown(std::future::pending()).await
    }

    pub async fn run_with_shutdown(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let service = self.router.into_make_service_with_connect_info::<SocketAddr>();
        let metrics = &self.ops.metrics;
        let upkeep = tokio::spawn(metrics.scope(crate::sessions::upkeep::run(self.state.clone())));
        let mail = tokio::spawn(metrics.scope(crate::outbox::worker::run(self.state.clone())));
        let schedules = tokio::spawn(metrics.scope(crate::lifecycle::job::run(self.state.clone())));
        let metrics_server = self.metrics_listener.map(|listener| {
            let router = crate::observability::metrics_router(&self.ops);
            tokio::spawn(async move { axum::serve(listener, router).await })
        });
        // Once asked to stop: not ready at once, then (`--drain-seconds`) still serving while
        // load balancers notice, then no new connections and the open ones finished.
        let ops = self.ops.clone();
        let drain = std::time::Duration::from_secs(self.state.config.drain_seconds);
        let shutdown = async move {
            shutdown.await;
            ops.start_draining();
            tracing::info!(seconds = drain.as_secs(), "draining: /health/ready answers 503");
            tokio::time::sleep(drain).await;
        };
        let result = axum::serve(self.listener, service).with_graceful_shutdown(shutdown).await;
        upkeep.abort();
        schedules.abort();
        if let Some(server) = metrics_server {
            server.abort();
        }
        // The worker records what it is sending, then stops; one stuck on a slow server is
        // stopped and its messages go back to the queue for the next start (or another instance).
        self.state.mail.stop();
        let mut mail = mail;
        if tokio::time::timeout(MAIL_STOP_WAIT, &mut mail).await.is_err() {
            mail.abort();
            let _ = mail.await;
            if let Err(e) = crate::outbox::worker::release(&self.state).await {
                tracing::warn!(error = ?e, "returning unsent mail to the queue at shutdown");
            }
        }
        if let Err(e) = crate::sessions::upkeep::flush_last_seen(&self.state).await {
            tracing::warn!(error = ?e, "writing last-seen times at shutdown");
        }
        self.store.close().await;
        result
    }
}

pub fn api_router() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, openapi) = OpenApiRouter::with_openapi(api_doc::ApiDoc::openapi())
        .merge(crate::sign_in::api::router())
        .merge(crate::captcha::api::router())
        .merge(crate::me::api::router())
        .merge(crate::second_factor::api::router())
        .merge(crate::passwords::api::router())
        .merge(crate::outbox::api::router())
        .merge(crate::sessions::api::router())
        .merge(crate::tokens::api::router())
        .merge(crate::access_rules::api::router())
        .merge(crate::accounts::api::router())
        .merge(crate::users::api::router())
        .merge(crate::users::invitations_api::router())
        .merge(crate::lifecycle::api::router())
        .merge(crate::catalog::api::router())
        .merge(crate::queues::api::router())
        .merge(crate::time_groups::api::router())
        .merge(crate::calls::api::router())
        .merge(crate::directory::api::router())
        .merge(crate::sso::api::router())
        .merge(crate::activity::api::router())
        .split_for_parts();
    (router, api_doc::complete(openapi))
}

fn router(state: AppState, ops: &crate::observability::Ops) -> Router {
    let (api, openapi) = api_router();
    Router::new()
        .merge(api)
        .merge(utoipa_swagger_ui::SwaggerUi::new("/api/docs").url("/api/v1/openapi.json", openapi))
        .merge(crate::console::router())
        // The first probe (a database ping), kept for monitors that use it; `/health/live` and
        // `/health/ready` (`observability::health`) are the probes to use.
        .route("/health", get(health))
        .fallback(|| async { Error::NotFound("page") })
        .with_state(state)
        .merge(crate::observability::routes(ops))
        // After every route is in: it applies to the routes the router holds when it is set.
        .method_not_allowed_fallback(|| async { Error::MethodNotAllowed })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(refuse_oversize))
        .layer(CatchPanicLayer::custom(|_| {
            Error::Internal(anyhow::anyhow!("a request handler panicked")).into_response_ext()
        }))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::extract::Request| {
            // At info, so that what a request logs carries its id, account and user (`auth`
            // records the last two once it knows the caller).
            let id = request.extensions().get::<crate::observability::request::RequestId>();
            tracing::info_span!(
                "request",
                method = %request.method(),
                uri = %loggable_uri(request.uri()),
                version = ?request.version(),
                request_id = id.map_or("", |id| id.as_str()),
                account = tracing::field::Empty,
                user_id = tracing::field::Empty,
            )
        }))
        .layer(axum::middleware::from_fn_with_state(ops.clone(), crate::observability::request::observe))
}

/// Paths whose next segment is a secret (a link's token from a mail).
const TOKEN_PATHS: [&str; 3] = ["/reset-password/", "/enrol/", "/invite/"];

/// The request's URI as the log may show it (D9): the token of an emailed link is replaced by
/// `…`, so that a debug log never holds a usable link.
fn loggable_uri(uri: &axum::http::Uri) -> String {
    let text = uri.to_string();
    for prefix in TOKEN_PATHS {
        if let Some(rest) = uri.path().strip_prefix(prefix) {
            let tail = rest.find('/').map_or("", |i| &rest[i..]);
            let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
            return format!("{prefix}…{tail}{query}");
        }
    }
    text
}

/// Refuses a body whose declared length is over the limit before any handler runs.
async fn refuse_oversize(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use futures::StreamExt;
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(len) if len > MAX_BODY_BYTES as u64 => {
            if len <= DRAIN_BYTES {
                let mut body = request.into_body().into_data_stream();
                while let Some(Ok(_)) = body.next().await {}
            }
            let limit = MAX_BODY_BYTES / 1024;
            Error::PayloadTooLarge(format!("the request body is {len} bytes; at most {limit} KiB is accepted"))
                .into_response_ext()
        }
        _ => next.run(request).await,
    }
}

async fn health(axum::extract::State(state): axum::extract::State<AppState>) -> StatusCode {
    match state.store.ping().await {
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl Error {
    fn into_response_ext(self) -> axum::response::Response {
        axum::response::IntoResponse::into_response(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emailed_tokens_are_not_logged_with_the_request() {
        let uri = |s: &str| loggable_uri(&s.parse().unwrap());
        assert_eq!(uri("/reset-password/AbC123-_xyz"), "/reset-password/…");
        assert_eq!(uri("/enrol/AbC123?x=1"), "/enrol/…?x=1");
        assert_eq!(uri("/enrol/AbC123/more"), "/enrol/…/more");
        assert_eq!(uri("/invite/AbC123"), "/invite/…");
        assert_eq!(uri("/api/v1/accounts/default/users?limit=5"), "/api/v1/accounts/default/users?limit=5");
        assert_eq!(uri("/login?account=default"), "/login?account=default");
    }
}
