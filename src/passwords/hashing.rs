//! Password hashing: argon2id (OWASP's parameters unless configured otherwise), always off
//! the async threads. Hashes imported from other systems are verified as they are and
//! replaced by argon2id at the next successful sign-in.

use std::sync::{LazyLock, OnceLock};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::Rng;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};

use super::legacy_hash;
use crate::config::HashParams;
use crate::error::{Error, Result};

impl HashParams {
    pub fn check(&self) -> anyhow::Result<()> {
        Params::new(self.memory_kib, self.iterations, self.parallelism, None).map_err(|e| {
            anyhow::anyhow!(
                "argon2 parameters m={}, t={}, p={}: {e}",
                self.memory_kib,
                self.iterations,
                self.parallelism
            )
        })?;
        if self.memory_kib < 8_192 || self.iterations < 1 {
            anyhow::bail!("argon2 memory must be at least 8192 KiB (OWASP's floor), not {}", self.memory_kib);
        }
        Ok(())
    }
}

/// The deployment's hashing cost, set once at start (`Application::build`). Process-wide
/// like `HASHING` below: it is a property of the machine the process runs on.
static PARAMS: OnceLock<HashParams> = OnceLock::new();

/// Sets the hashing cost for this process; the first setting wins.
pub fn configure(params: HashParams) -> anyhow::Result<()> {
    params.check()?;
    if PARAMS.get_or_init(|| params) != &params {
        tracing::warn!(?params, "argon2 parameters were already set for this process; keeping the first ones");
    }
    Ok(())
}

pub fn params() -> HashParams {
    PARAMS.get().copied().unwrap_or_default()
}

fn hasher() -> Argon2<'static> {
    let p = params();
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(p.memory_kib, p.iterations, p.parallelism, None).expect("checked at configure"),
    )
}

/// Password hashing runs on its own threads, one per core: each hash takes 19 MiB and a core
/// for ~15 ms, so more at a time would only add memory (sixteen concurrent sign-ins once
/// peaked at 330 MB) and contention. Work waits in a queue that the threads take from
/// directly, so a core goes from one hash to the next without a hand-off through the async
/// runtime (which left 8% of the cores idle under load). Process-wide by nature: it guards
/// this process's cores and memory.
static HASHERS: LazyLock<std::sync::mpsc::Sender<Job>> = LazyLock::new(start_hashers);

type Job = Box<dyn FnOnce() + Send>;

/// A hashing thread lets its argon2 memory go after this long without work.
const IDLE: std::time::Duration = std::time::Duration::from_secs(60);

fn start_hashers() -> std::sync::mpsc::Sender<Job> {
    let (tx, rx) = std::sync::mpsc::channel::<Job>();
    let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    for i in 0..threads {
        let rx = rx.clone();
        std::thread::Builder::new()
            .name(format!("roster-hash-{i}"))
            .spawn(move || {
                loop {
                    let next = rx.lock().unwrap_or_else(|p| p.into_inner()).recv_timeout(IDLE);
                    match next {
                        // A panicking job loses its answer (the caller gets an internal error), not the thread.
                        Ok(job) => drop(std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))),
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => super::argon2_memory::release(),
                        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
                    }
                }
            })
            .expect("starting a password hashing thread");
    }
    tx
}

/// Runs one hashing computation on the hashing threads and waits for its result.
async fn run_limited<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let (done, result) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = done.send(work());
    });
    HASHERS.send(job).map_err(|_| Error::Internal(anyhow::anyhow!("the password hashing threads stopped")))?;
    result.await.map_err(|_| Error::Internal(anyhow::anyhow!("a password hashing job was lost")))
}

/// Verified against when the login is unknown, so that the answer takes as long as for a real user.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| hash_blocking("roster-dummy-password-for-timing"));

fn hash_blocking(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    let hasher = hasher();
    let params = hasher.params().clone();
    let mut raw_salt = [0u8; 64];
    let raw_salt = salt.decode_b64(&mut raw_salt).expect("a generated salt decodes");
    let mut output = [0u8; 32];
    super::argon2_memory::with_blocks(params.block_count(), |memory| {
        hasher.hash_password_into_with_memory(password.as_bytes(), raw_salt, &mut output, memory)
    })
    .expect("argon2 hashing cannot fail with valid parameters");
    PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).expect("parameters format"),
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&output).expect("32 bytes is a valid output")),
    }
    .to_string()
}

pub async fn hash(password: SecretString) -> Result<String> {
    run_limited(move || hash_blocking(password.expose_secret())).await
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    pub ok: bool,
    /// The hash is of another kind or cost than this deployment's: re-hash the password.
    pub upgrade: bool,
}

/// Checks `password` against `stored` (argon2, or an imported bcrypt or Django hash), or
/// against a dummy hash when there is none.
pub async fn verify(password: SecretString, stored: Option<String>) -> Result<Checked> {
    run_limited(move || {
        let (hash, real) = match &stored {
            Some(h) => (h.as_str(), true),
            None => (DUMMY_HASH.as_str(), false),
        };
        let ok = legacy_hash::verify(hash, password.expose_secret()) && real;
        let p = params();
        let upgrade = ok && legacy_hash::needs_upgrade(hash, p.memory_kib, p.iterations, p.parallelism);
        Checked { ok, upgrade }
    })
    .await
}

/// Whether `password` is any of `hashes` (password history); one hashing slot for all.
pub async fn matches_any(password: SecretString, hashes: Vec<String>) -> Result<bool> {
    if hashes.is_empty() {
        return Ok(false);
    }
    run_limited(move || hashes.iter().any(|h| legacy_hash::verify(h, password.expose_secret()))).await
}

/// Warms the dummy hash so the first unknown-login attempt is not faster than later ones.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

/// A strong random password for "generate" and "reset" (R9, R23): 20 characters from an
/// alphabet without look-alikes, always with a lower, an upper letter and a digit.
pub fn generate() -> SecretString {
    generate_for(&crate::model::settings::PasswordPolicy::default(), "")
}

/// A generated password that meets `policy` for the user `login`: at least 20 characters
/// (more if the policy's minimum is higher), every character class the policy requires.
pub fn generate_for(policy: &crate::model::settings::PasswordPolicy, login: &str) -> SecretString {
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGITS: &[u8] = b"23456789";
    // Symbols that survive copying from a page and pasting into a phone's settings.
    const SYMBOLS: &[u8] = b"-_.!@#%+=?";
    let mut classes: Vec<&[u8]> = vec![LOWER, UPPER, DIGITS];
    if policy.require_symbol {
        classes.push(SYMBOLS);
    }
    let all: Vec<u8> = classes.concat();
    let length = (policy.min_length.max(20) as usize).min(policy.max_length as usize).max(classes.len());
    let mut rng = OsRng;
    loop {
        let pw: String = (0..length).map(|_| all[rng.gen_range(0..all.len())] as char).collect();
        let has = |set: &[u8]| pw.bytes().any(|b| set.contains(&b));
        if classes.iter().all(|c| has(c)) && policy.check(&pw, login, None).is_ok() {
            return SecretString::from(pw);
        }
    }
}

/// What any password must be, whatever the account's policy (`passwords::PasswordPolicy`,
/// applied where the account is known): not empty, and not absurdly long to hash.
pub fn check_basic(password: &str) -> std::result::Result<(), crate::domain::Invalid> {
    let n = password.chars().count();
    if n == 0 {
        return Err(crate::domain::Invalid::new("too_short", "must not be empty"));
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
        assert_eq!(
            verify(SecretString::from("correct horse"), Some(h.clone())).await.unwrap(),
            Checked { ok: true, upgrade: false }
        );
        assert!(!verify(SecretString::from("wrong horse"), Some(h)).await.unwrap().ok);
    }

    #[tokio::test]
    async fn no_hash_never_verifies() {
        assert!(!verify(SecretString::from("roster-dummy-password-for-timing"), None).await.unwrap().ok);
    }

    #[test]
    fn generated_passwords_are_strong_and_differ() {
        let a = generate();
        let b = generate();
        assert_eq!(a.expose_secret().len(), 20);
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert!(check_basic(a.expose_secret()).is_ok());
    }

    #[test]
    fn generated_passwords_meet_a_strict_policy() {
        let policy = crate::model::settings::PasswordPolicy {
            min_length: 32,
            require_lowercase: true,
            require_uppercase: true,
            require_digit: true,
            require_symbol: true,
            ..Default::default()
        };
        for _ in 0..20 {
            let p = generate_for(&policy, "dora");
            assert_eq!(p.expose_secret().chars().count(), 32);
            assert_eq!(policy.check(p.expose_secret(), "dora", None), Ok(()), "{}", p.expose_secret());
        }
    }
}
