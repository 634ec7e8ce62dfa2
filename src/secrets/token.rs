//! Random bearer tokens. Only their SHA-256 hash is stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};

/// 256 random bits, URL-safe.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// API tokens carry a prefix, so that the session check knows where to look, and secret
/// scanners can recognise a leaked one.
pub const API_TOKEN_PREFIX: &str = "rst_";

pub fn new_api_token() -> String {
    format!("{API_TOKEN_PREFIX}{}", new_token())
}

pub fn is_api_token(token: &str) -> bool {
    token.starts_with(API_TOKEN_PREFIX)
}

pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The console's CSRF token: derived from the session token, so it needs no storage, and
/// unknowable to a page that cannot read the HttpOnly session cookie.
pub fn csrf_for(session_token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"roster-csrf:");
    h.update(session_token.as_bytes());
    URL_SAFE_NO_PAD.encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hash_stably() {
        let a = new_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, new_token());
        assert_eq!(hash(&a), hash(&a));
        assert_eq!(hash(&a).len(), 64);
        assert_ne!(csrf_for(&a), hash(&a));
    }
}
