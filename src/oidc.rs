//! The OpenID Connect client Roster signs people in through (single sign-on, `sso`), over the
//! `openidconnect` crate: discovery (kept an hour, fetched again at once when a token names a key
//! the provider did not publish, which is how a provider rotates its keys), the authorization
//! request with PKCE, `state` and `nonce`, and the code exchanged for an ID token that is verified
//! in full: signature against the provider's keys, issuer, audience, expiry (a minute of clock
//! skew) and nonce.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenResponse,
};
use secrecy::{ExposeSecret, SecretString};

/// How long a provider's configuration and keys are used before they are fetched again.
const KEEP_DISCOVERY: Duration = Duration::from_secs(3600);
/// The clock difference allowed between Roster and the provider.
const CLOCK_SKEW: chrono::TimeDelta = chrono::TimeDelta::seconds(60);
/// How long a request to a provider may take.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// What a provider said about someone, from an ID token verified in full.
#[derive(Debug, Clone)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// The `amr` claim: how the provider authenticated them (RFC 8176).
    pub methods: Vec<String>,
}

/// Why a provider's answer was not accepted. The reason goes to the activity log; the person
/// sees a short explanation.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("the provider could not be reached or its configuration is not valid: {0}")]
    Discovery(String),
    #[error("the code was not exchanged at the provider: {0}")]
    Exchange(String),
    #[error("the provider's answer held no ID token")]
    NoIdToken,
    #[error("the ID token is not valid: {0}")]
    IdToken(String),
}

impl Refused {
    /// The activity log's reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Refused::Discovery(_) => "provider_unreachable",
            Refused::Exchange(_) => "code_refused",
            Refused::NoIdToken => "no_id_token",
            Refused::IdToken(_) => "id_token_invalid",
        }
    }
}

/// The provider's settings a request needs.
pub struct ProviderSettings<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a SecretString,
    pub scopes: &'a [String],
    pub redirect_uri: &'a str,
}

/// A sign-in about to be sent to the provider: where to send the browser, and what to keep
/// until it comes back.
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

struct Discovered {
    metadata: CoreProviderMetadata,
    fetched: Instant,
}

/// Discovered provider configurations, by issuer, and the HTTP client that fetches them.
pub struct Providers {
    http: openidconnect::reqwest::Client,
    discovered: Mutex<HashMap<String, Arc<Discovered>>>,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Providers(…)")
    }
}

impl Default for Providers {
    fn default() -> Self {
        Self::new()
    }
}

impl Providers {
    pub fn new() -> Self {
        // No redirects: a provider's endpoints answer themselves (and a redirect could send
        // Roster's requests somewhere else).
        let http = openidconnect::reqwest::ClientBuilder::new()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(PROVIDER_TIMEOUT)
            .build()
            .expect("an HTTP client with a timeout and no redirects");
        Providers { http, discovered: Mutex::new(HashMap::new()) }
    }

    /// The provider's configuration and keys: kept, or fetched when older than an hour or when
    /// `fresh`. (A fresh fetch is asked only for an ID token that Roster itself got from the
    /// provider's token endpoint, in exchange for a code: no one else can make Roster fetch.)
    async fn discover(&self, issuer: &str, fresh: bool) -> Result<Arc<Discovered>, Refused> {
        let kept = self.discovered.lock().unwrap_or_else(|p| p.into_inner()).get(issuer).cloned();
        if let Some(kept) = &kept
            && !fresh
            && kept.fetched.elapsed() < KEEP_DISCOVERY
        {
            return Ok(kept.clone());
        }
        let issuer_url = IssuerUrl::new(issuer.to_string()).map_err(|e| Refused::Discovery(e.to_string()))?;
        let metadata = CoreProviderMetadata::discover_async(issuer_url, &self.http)
            .await
            .map_err(|e| Refused::Discovery(error_chain(&e)))?;
        let discovered = Arc::new(Discovered { metadata, fetched: Instant::now() });
        self.discovered.lock().unwrap_or_else(|p| p.into_inner()).insert(issuer.to_string(), discovered.clone());
        Ok(discovered)
    }

    /// Checks that the issuer publishes a usable configuration (when a provider is saved).
    pub async fn check(&self, issuer: &str) -> Result<(), Refused> {
        self.discover(issuer, true).await.map(|_| ())
    }

    /// The authorization request for a new sign-in.
    pub async fn authorize(&self, p: &ProviderSettings<'_>) -> Result<Authorization, Refused> {
        let discovered = self.discover(p.issuer, false).await?;
        let client = client(&discovered.metadata, p)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request =
            client.authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random);
        for scope in p.scopes.iter().filter(|s| s.as_str() != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        Ok(Authorization {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges the code for tokens and verifies the ID token against `nonce`.
    pub async fn finish(
        &self,
        p: &ProviderSettings<'_>,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<Identity, Refused> {
        let discovered = self.discover(p.issuer, false).await?;
        let first = client(&discovered.metadata, p)?;
        let response = first
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| Refused::Exchange(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string()))
            .request_async(&self.http)
            .await
            .map_err(|e| Refused::Exchange(error_chain(&e)))?;
        let id_token = response.id_token().ok_or(Refused::NoIdToken)?;
        let nonce = Nonce::new(nonce.to_string());
        let verified = match id_token.claims(&verifier(&first), &nonce) {
            Ok(claims) => identity(claims),
            // A key the provider did not publish when its keys were fetched: it may have rotated
            // them since. Fetch them again (once) and verify again.
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(
                openidconnect::SignatureVerificationError::NoMatchingKey,
            )) => {
                let discovered = self.discover(p.issuer, true).await?;
                let again = client(&discovered.metadata, p)?;
                id_token.claims(&verifier(&again), &nonce).map(identity).map_err(|e| Refused::IdToken(e.to_string()))?
            }
            Err(e) => return Err(Refused::IdToken(e.to_string())),
        };
        let mut verified = verified;
        if !verified.email_verified {
            verified.email_verified = domain_owner_verified(&id_token.to_string());
        }
        Ok(verified)
    }
}

type Client = openidconnect::core::CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

fn client(metadata: &CoreProviderMetadata, p: &ProviderSettings<'_>) -> Result<Client, Refused> {
    let redirect = RedirectUrl::new(p.redirect_uri.to_string()).map_err(|e| Refused::Discovery(e.to_string()))?;
    Ok(CoreClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new(p.client_id.to_string()),
        Some(ClientSecret::new(p.client_secret.expose_secret().to_string())),
    )
    .set_redirect_uri(redirect))
}

/// The ID token's verifier: the client's (signature, issuer, audience), with a minute of clock
/// skew on expiry and on the time it was issued.
fn verifier(client: &Client) -> openidconnect::core::CoreIdTokenVerifier<'_> {
    client.id_token_verifier().set_time_fn(|| chrono::Utc::now() - CLOCK_SKEW).set_issue_time_verifier_fn(|issued| {
        match issued <= chrono::Utc::now() + CLOCK_SKEW {
            true => Ok(()),
            false => Err(format!("ID token issued in the future ({issued})")),
        }
    })
}

fn identity(claims: &CoreIdTokenClaims) -> Identity {
    let given_name = claims.given_name().and_then(|n| n.get(None)).map(|n| n.to_string());
    let family_name = claims.family_name().and_then(|n| n.get(None)).map(|n| n.to_string());
    Identity {
        issuer: claims.issuer().to_string(),
        subject: claims.subject().to_string(),
        email: claims.email().map(|e| e.to_string()),
        email_verified: claims.email_verified().unwrap_or(false),
        given_name,
        family_name,
        methods: claims.auth_method_refs().map(|amr| amr.iter().map(|m| m.to_string()).collect()).unwrap_or_default(),
    }
}

/// Microsoft Entra ID sends no `email_verified`; its optional claim `xms_edov` ("email domain
/// owner verified") says the address is in a domain the tenant has verified. Read from the token
/// whose signature and claims were just verified.
fn domain_owner_verified(token: &str) -> bool {
    use base64::Engine;
    let Some(payload) = token.split('.').nth(1) else { return false };
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload) else { return false };
    let Ok(claims) = serde_json::from_slice::<serde_json::Value>(&bytes) else { return false };
    match claims.get("xms_edov") {
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) => s == "1" || s.eq_ignore_ascii_case("true"),
        Some(serde_json::Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    }
}

/// An error and its causes, on one line (reqwest's top-level message alone says little).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
