//! Single sign-on (R39): an account's OpenID Connect providers (`providers`), the sign-in
//! through them (`sign_in`, over the OpenID Connect client in `crate::oidc`), and the identities linked to users (`identities`).
//! `api` serves the providers and links; the browser's way to the provider and back is the
//! console's (`console::sso`).

pub mod api;
pub mod identities;
pub mod providers;
pub mod sign_in;
