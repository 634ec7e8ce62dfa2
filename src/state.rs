//! What every request handler can reach.

use std::sync::Arc;

use crate::config::Config;
use crate::secrets::Secrets;
use crate::store::Store;
use crate::store::session_cache::SessionCache;

#[derive(Clone)]
pub struct AppState {
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
