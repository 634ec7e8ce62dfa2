//! Password hashing: argon2id with OWASP's parameters, always off the async threads.

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::Rng;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};

/// OWASP: m = 19 MiB, t = 2, p = 1.
fn hasher() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(19_456, 2, 1, None).expect("valid argon2 parameters"))
}

/// Hashes at once: one per core. Each takes 19 MiB and a core for ~50 ms, so more at a time
/// only add memory (sixteen concurrent sign-ins peaked at 330 MB); the rest wait their turn.
/// Process-wide by nature: it guards this process's cores and memory.
static HASHING: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| {
    tokio::sync::Semaphore::new(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2))
});

/// Runs one argon2 computation on the blocking pool, within the limit above.
async fn run_limited<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let _permit = HASHING.acquire().await.map_err(|e| Error::Internal(e.into()))?;
    tokio::task::spawn_blocking(work).await.map_err(|e| Error::Internal(e.into()))
}

/// Verified against when the login is unknown, so that the answer takes as long as for a real user.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| hash_blocking("roster-dummy-password-for-timing"));

fn hash_blocking(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    hasher().hash_password(password.as_bytes(), &salt).expect("argon2 hashing cannot fail with valid parameters").to_string()
}

pub async fn hash(password: SecretString) -> Result<String> {
    run_limited(move || hash_blocking(password.expose_secret())).await
}

/// Checks `password` against `stored`, or against a dummy hash when there is none.
pub async fn verify(password: SecretString, stored: Option<String>) -> Result<bool> {
    run_limited(move || {
        let (phc, real) = match &stored {
            Some(h) => (h.as_str(), true),
            None => (DUMMY_HASH.as_str(), false),
        };
        let ok = match PasswordHash::new(phc) {
            Ok(parsed) => hasher().verify_password(password.expose_secret().as_bytes(), &parsed).is_ok(),
            Err(_) => false,
        };
        ok && real
    })
    .await
}

/// Warms the dummy hash so the first unknown-login attempt is not faster than later ones.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

/// A strong random password for "generate" and "reset" (R9, R23): 20 characters from an
/// alphabet without look-alikes, always with a lower, an upper letter and a digit.
pub fn generate() -> SecretString {
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGITS: &[u8] = b"23456789";
    let mut rng = OsRng;
    loop {
        let all: Vec<u8> = [LOWER, UPPER, DIGITS].concat();
        let pw: String = (0..20).map(|_| all[rng.gen_range(0..all.len())] as char).collect();
        let has = |set: &[u8]| pw.bytes().any(|b| set.contains(&b));
        if has(LOWER) && has(UPPER) && has(DIGITS) {
            return SecretString::from(pw);
        }
    }
}

/// The minimum the foundation enforces; the account's full policy (R10, R24) builds on it.
pub fn check_basic(password: &str) -> std::result::Result<(), crate::domain::Invalid> {
    let n = password.chars().count();
    if n < 8 {
        return Err(crate::domain::Invalid::new("too_short", "must be at least 8 characters"));
    }
    if n > 256 {
        return Err(crate::domain::Invalid::new("too_long", "must be at most 256 characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_only_its_password() {
        let h = hash(SecretString::from("correct horse")).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify(SecretString::from("correct horse"), Some(h.clone())).await.unwrap());
        assert!(!verify(SecretString::from("wrong horse"), Some(h)).await.unwrap());
    }

    #[tokio::test]
    async fn no_hash_never_verifies() {
        assert!(!verify(SecretString::from("roster-dummy-password-for-timing"), None).await.unwrap());
    }

    #[test]
    fn generated_passwords_are_strong_and_differ() {
        let a = generate();
        let b = generate();
        assert_eq!(a.expose_secret().len(), 20);
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert!(check_basic(a.expose_secret()).is_ok());
    }
}
