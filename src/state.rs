//! What every request handler can reach.

use std::sync::Arc;

use crate::config::Config;
use crate::secrets::Secrets;
use crate::store::Store;
use crate::store::session_cache::SessionCache;

/// Cloned for every request (and by several extractors within one), so one pointer: cloning
/// the parts one by one was a dozen reference counts up and down per clone, on the PBX's hot
/// path.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub store: Store,
    pub config: Arc<Config>,
    pub secrets: Arc<Secrets>,
    /// The session check's memory (see `store::session_cache`).
    pub sessions: Arc<SessionCache>,
    /// Mail delivery: `mail.wake()` after a transaction that queued mail commits.
    pub mail: Arc<crate::mail::Mailer>,
    /// Countries of addresses (`geoip.country(ip)`), for access rules and anyone else.
    pub geoip: Arc<crate::http::geoip::GeoIp>,
    /// Identity providers' discovered configurations and keys (single sign-on).
    pub identity_providers: Arc<crate::oidc::Providers>,
}

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}
