//! Password hashes imported from other systems, so that migrated users keep their passwords:
//! argon2 (any variant, any parameters), bcrypt, and Django's pbkdf2_sha256 and argon2.
//! After a successful sign-in the caller replaces such a hash with Roster's own argon2id
//! (see [`needs_upgrade`]), so each imported hash is verified at most until its user's next
//! sign-in.

use argon2::password_hash::PasswordHash;
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::domain::Invalid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashKind {
    /// A PHC string: `$argon2id$`, `$argon2i$` or `$argon2d$`.
    Argon2,
    /// `$2a$`, `$2b$`, `$2y$` or `$2x$`.
    Bcrypt,
    /// `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`.
    DjangoPbkdf2Sha256,
    /// `argon2` followed by a PHC string: `argon2$argon2id$v=19$m=..,t=..,p=..$salt$hash`.
    DjangoArgon2,
}

// A stored hash sets the work of every sign-in attempt for its login, and anyone who knows
// the login can ask for that work (and, until the user's first sign-in upgrades it, tell an
// imported login from an unknown one by the time it takes); so imported hashes costlier than
// these are refused. Each allows its scheme's usual defaults with a little room (bcrypt 10-12,
// Django 2025's pbkdf2 1,000,000 iterations and argon2 m=100 MiB, t=2, p=8).
const MAX_BCRYPT_COST: u32 = 14;
const MAX_PBKDF2_ITERATIONS: u32 = 2_000_000;
const MAX_ARGON2_M_KIB: u32 = 128 * 1024;
const MAX_ARGON2_T: u32 = 8;
const MAX_ARGON2_P: u32 = 16;

const DJANGO_PBKDF2_PREFIX: &str = "pbkdf2_sha256$";
const DJANGO_ARGON2_PREFIX: &str = "argon2$argon2";
const DJANGO_PBKDF2_KEY_LEN: usize = 32;

/// A stored hash taken apart, ready to verify.
enum Parsed<'a> {
    Argon2(PasswordHash<'a>),
    Bcrypt,
    DjangoPbkdf2 { iterations: u32, salt: &'a str, key: Vec<u8> },
    DjangoArgon2(PasswordHash<'a>),
}

impl Parsed<'_> {
    fn kind(&self) -> HashKind {
        match self {
            Parsed::Argon2(_) => HashKind::Argon2,
            Parsed::Bcrypt => HashKind::Bcrypt,
            Parsed::DjangoPbkdf2 { .. } => HashKind::DjangoPbkdf2Sha256,
            Parsed::DjangoArgon2(_) => HashKind::DjangoArgon2,
        }
    }
}

/// Which scheme `stored` uses, once it is known to be well formed and within the cost limits.
pub fn classify(stored: &str) -> Result<HashKind, Invalid> {
    parse(stored).map(|p| p.kind())
}

/// Whether `password` matches `stored`; false for any hash [`classify`] refuses. Blocking (a
/// hash takes tens of milliseconds to seconds): the caller runs it in `spawn_blocking`.
pub fn verify(stored: &str, password: &str) -> bool {
    match parse(stored) {
        Ok(Parsed::Argon2(hash)) | Ok(Parsed::DjangoArgon2(hash)) => verify_argon2(&hash, password),
        // bcrypt computes and compares in constant time itself; it truncates passwords at 72
        // bytes as the systems that made these hashes did.
        Ok(Parsed::Bcrypt) => bcrypt::verify(password, stored).unwrap_or(false),
        Ok(Parsed::DjangoPbkdf2 { iterations, salt, key }) => {
            let mut derived = [0u8; DJANGO_PBKDF2_KEY_LEN];
            pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt.as_bytes(), iterations, &mut derived);
            derived.ct_eq(key.as_slice()).into()
        }
        Err(_) => false,
    }
}

/// Whether a stored hash should be replaced after a successful sign-in: anything that is not
/// a plain argon2id PHC string (version 19) with exactly these parameters.
pub fn needs_upgrade(stored: &str, m_kib: u32, t: u32, p: u32) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else {
        return true;
    };
    let current = hash.algorithm == Algorithm::Argon2id.ident()
        && hash.version == Some(Version::V0x13.into())
        && Params::try_from(&hash).is_ok_and(|have| (have.m_cost(), have.t_cost(), have.p_cost()) == (m_kib, t, p));
    !current
}

fn parse(stored: &str) -> Result<Parsed<'_>, Invalid> {
    if stored.starts_with("$argon2") {
        parse_argon2(stored).map(Parsed::Argon2)
    } else if stored.starts_with("$2") {
        check_bcrypt(stored).map(|()| Parsed::Bcrypt)
    } else if let Some(rest) = stored.strip_prefix(DJANGO_PBKDF2_PREFIX) {
        parse_django_pbkdf2(rest)
    } else if stored.starts_with(DJANGO_ARGON2_PREFIX) {
        // Django writes "argon2" in front of argon2-cffi's PHC string.
        parse_argon2(&stored["argon2".len()..]).map(Parsed::DjangoArgon2)
    } else {
        Err(Invalid::new(
            "unsupported_hash",
            "is not a supported password hash: expected argon2 ($argon2id$…), bcrypt ($2b$…), \
             or Django's pbkdf2_sha256$… or argon2$argon2id$…",
        ))
    }
}

fn malformed(scheme: &str, detail: impl std::fmt::Display) -> Invalid {
    Invalid::new("malformed_hash", format!("is not a valid {scheme} hash: {detail}"))
}

fn too_costly(scheme: &str, what: &str, max: u32) -> Invalid {
    Invalid::new("hash_too_costly", format!("is a {scheme} hash with {what} above the supported {max}"))
}

fn parse_argon2(phc: &str) -> Result<PasswordHash<'_>, Invalid> {
    let hash = PasswordHash::new(phc).map_err(|e| malformed("argon2", e))?;
    Algorithm::try_from(hash.algorithm).map_err(|e| malformed("argon2", e))?;
    if let Some(v) = hash.version {
        Version::try_from(v).map_err(|e| malformed("argon2", e))?;
    }
    let params = Params::try_from(&hash).map_err(|e| malformed("argon2", e))?;
    if hash.salt.is_none() || hash.hash.is_none() {
        return Err(malformed("argon2", "the salt or the hash is missing"));
    }
    if params.m_cost() > MAX_ARGON2_M_KIB {
        return Err(too_costly("argon2", "memory (m, KiB)", MAX_ARGON2_M_KIB));
    }
    if params.t_cost() > MAX_ARGON2_T {
        return Err(too_costly("argon2", "iterations (t)", MAX_ARGON2_T));
    }
    if params.p_cost() > MAX_ARGON2_P {
        return Err(too_costly("argon2", "parallelism (p)", MAX_ARGON2_P));
    }
    Ok(hash)
}

/// Recomputes the hash with the algorithm, version and parameters the string names. Done by
/// hand rather than through `PasswordVerifier` because a PHC string without `v=` means
/// version 0x10 (as argon2's reference code and Django before 1.10.1 read it), where the
/// crate would assume 0x13 and refuse the right password.
fn verify_argon2(hash: &PasswordHash<'_>, password: &str) -> bool {
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let version = match hash.version {
        None => Ok(Version::V0x10),
        Some(v) => Version::try_from(v),
    };
    let (Ok(algorithm), Ok(version), Ok(params)) =
        (Algorithm::try_from(hash.algorithm), version, Params::try_from(hash))
    else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut derived = vec![0u8; expected.len()];
    let blocks = params.block_count();
    let hasher = Argon2::new(algorithm, version, params);
    let computed = super::argon2_memory::with_blocks(blocks, |memory| {
        hasher.hash_password_into_with_memory(password.as_bytes(), salt, &mut derived, memory)
    });
    if computed.is_err() {
        return false;
    }
    derived.ct_eq(expected.as_bytes()).into()
}

/// `$2?$NN$` + 22 characters of salt + 31 of hash, in bcrypt's base64 alphabet.
fn check_bcrypt(stored: &str) -> Result<(), Invalid> {
    let b = stored.as_bytes();
    if !matches!(b.get(..4), Some(b"$2a$" | b"$2b$" | b"$2y$" | b"$2x$")) {
        return Err(malformed("bcrypt", "the prefix must be $2a$, $2b$, $2y$ or $2x$"));
    }
    if b.len() != 60 || b[6] != b'$' {
        return Err(malformed("bcrypt", "expected $2b$<cost>$ and 53 characters of salt and hash"));
    }
    let cost: u32 = stored[4..6].parse().map_err(|_| malformed("bcrypt", "the cost must be two digits"))?;
    if !(4..=31).contains(&cost) {
        return Err(malformed("bcrypt", "the cost must be between 04 and 31"));
    }
    if cost > MAX_BCRYPT_COST {
        return Err(too_costly("bcrypt", "cost", MAX_BCRYPT_COST));
    }
    if !b[7..].iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'/')) {
        return Err(malformed("bcrypt", "the salt and hash must be bcrypt base64 (./A-Za-z0-9)"));
    }
    Ok(())
}

/// `<iterations>$<salt>$<base64 hash>`, after the `pbkdf2_sha256$` prefix.
fn parse_django_pbkdf2(rest: &str) -> Result<Parsed<'_>, Invalid> {
    const SCHEME: &str = "Django pbkdf2_sha256";
    let mut fields = rest.split('$');
    let (Some(iterations), Some(salt), Some(key), None) = (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(malformed(SCHEME, "expected pbkdf2_sha256$<iterations>$<salt>$<hash>"));
    };
    let iterations: u32 = match iterations.parse() {
        Ok(n) if n >= 1 && iterations.bytes().all(|c| c.is_ascii_digit()) => n,
        _ => return Err(malformed(SCHEME, "the iterations must be a positive number")),
    };
    if iterations > MAX_PBKDF2_ITERATIONS {
        return Err(too_costly(SCHEME, "iterations", MAX_PBKDF2_ITERATIONS));
    }
    if salt.is_empty() {
        return Err(malformed(SCHEME, "the salt is empty"));
    }
    let key = STANDARD.decode(key).map_err(|_| malformed(SCHEME, "the hash is not base64"))?;
    if key.len() != DJANGO_PBKDF2_KEY_LEN {
        return Err(malformed(SCHEME, "the hash must be 32 bytes"));
    }
    Ok(Parsed::DjangoPbkdf2 { iterations, salt, key })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Fixtures made with Django 5.2.19 (make_password, PBKDF2PasswordHasher().encode),
    // argon2-cffi 25.1.0 and Python bcrypt 5.0.0.
    const PASSWORD: &str = "correct horse battery staple";
    const DJANGO_PBKDF2: &str =
        "pbkdf2_sha256$1000000$Hv9jqsTcOROL7vhmbDOuuU$EWUmUnPTdADA3zyQfNYuN/kfvT2S8yUjkF51sjro03c=";
    /// Password "Pässwörd-ünïcode", salt "f3SaltSaltSalt", 1000 iterations: UTF-8 bytes as Django.
    const DJANGO_PBKDF2_UNICODE: &str =
        "pbkdf2_sha256$1000$f3SaltSaltSalt$czJnK58n56BiBJzFWKOaUAqiSrcOzTl3JQ8bzCkphN0=";
    /// Django's defaults: m=102400, t=2, p=8.
    const DJANGO_ARGON2: &str = "argon2$argon2id$v=19$m=102400,t=2,p=8$Y25qdFZLMXVxSFc5OFFmaUtvUWsxcA$8XYLjlDPOOdiVMproWNssDxrS8u+SR4mI7zfAp2eNHQ";
    const ARGON2I: &str =
        "$argon2i$v=19$m=64,t=1,p=1$bb34dGRSOGY6xfET36oy4Q$Pa89kU9cDvqtDuaeFyLYhMAPkggyKxKFVRwruB8RU3Q";
    const ARGON2D: &str =
        "$argon2d$v=19$m=64,t=1,p=1$MtDp28E6K5oxNccmdOgUnQ$5gaaWS6Faxj55pJlXKpAbTCl0R3ltbYSmtazCpDh1x0";
    const ARGON2ID: &str =
        "$argon2id$v=19$m=64,t=1,p=1$SFQ86vFnvDnnqNsNIwGsPQ$VrkFIJY1c5zZcZ7WrPyfgcM4vpaU+nlvwTnpqIA6Pjk";
    /// Roster's own parameters (OWASP: m=19456, t=2, p=1).
    const ARGON2ID_ROSTER: &str =
        "$argon2id$v=19$m=19456,t=2,p=1$RRtBydsYxuPM/5vJWHOH5g$AwsMaknvIF59f3icjMnNT4nXwb5aYyFMykLPTT19INE";
    const BCRYPT_2B: &str = "$2b$05$I9ZbZhZZQoXSF.29txc6muZTR1o5fRzLPf/wNDjffxU6sqhp8Tr.i";
    const BCRYPT_2A: &str = "$2a$05$OM/c158fV9hEF5lwOTySp.nIC9rZ5XEp8p.QKQNfnU4MITxt/Hv..";
    /// Password "Pässwörd".
    const BCRYPT_UNICODE: &str = "$2b$04$jPttLGAzPvutOQCt3wRft.uO8rsfG5okt4o8cuH2Lrt0QyVPT3VQm";
    /// Hash of 72 "x": bcrypt reads no further, so 80 "x" match too.
    const BCRYPT_72X: &str = "$2b$04$XAhxr44BsA0o.VR0yoZjpe15VmDC0ManP4rGzCsu.vXfE8KAlXCNe";

    fn with_prefix(hash: &str, prefix: &str) -> String {
        format!("{prefix}{}", &hash[4..])
    }

    #[test]
    fn classify_names_each_scheme() {
        assert_eq!(classify(DJANGO_PBKDF2), Ok(HashKind::DjangoPbkdf2Sha256));
        assert_eq!(classify(DJANGO_ARGON2), Ok(HashKind::DjangoArgon2));
        for h in [ARGON2I, ARGON2D, ARGON2ID, ARGON2ID_ROSTER] {
            assert_eq!(classify(h), Ok(HashKind::Argon2), "{h}");
        }
        for h in [BCRYPT_2B, BCRYPT_2A, &with_prefix(BCRYPT_2B, "$2y$"), &with_prefix(BCRYPT_2B, "$2x$")] {
            assert_eq!(classify(h), Ok(HashKind::Bcrypt), "{h}");
        }
    }

    #[test]
    fn django_pbkdf2_verifies_only_its_password() {
        // Django's default 1,000,000 iterations take seconds in a debug build: one call only.
        assert!(verify(DJANGO_PBKDF2, PASSWORD));
        assert!(verify(DJANGO_PBKDF2_UNICODE, "Pässwörd-ünïcode"));
        assert!(!verify(DJANGO_PBKDF2_UNICODE, "Passwörd-ünïcode"));
    }

    #[test]
    fn django_argon2_verifies_only_its_password() {
        assert!(verify(DJANGO_ARGON2, PASSWORD));
        assert!(!verify(DJANGO_ARGON2, "Correct horse battery staple"));
    }

    #[test]
    fn every_argon2_variant_verifies_only_its_password() {
        for h in [ARGON2I, ARGON2D, ARGON2ID, ARGON2ID_ROSTER] {
            assert!(verify(h, PASSWORD), "{h}");
            assert!(!verify(h, ""), "{h}");
            assert!(!verify(h, "correct horse battery"), "{h}");
        }
    }

    /// argon2's reference test vector for version 0x10 (no `v=` in the string); the crate's
    /// own verifier would assume 0x13 here.
    #[test]
    fn argon2_without_a_version_is_version_0x10() {
        let v10 = "$argon2i$m=65536,t=2,p=1$c29tZXNhbHQ$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ";
        assert_eq!(classify(v10), Ok(HashKind::Argon2));
        assert!(verify(v10, "password"));
        assert!(!verify(v10, "passwore"));
    }

    #[test]
    fn bcrypt_verifies_only_its_password() {
        for h in [BCRYPT_2B, BCRYPT_2A, &with_prefix(BCRYPT_2B, "$2y$"), &with_prefix(BCRYPT_2A, "$2x$")] {
            assert!(verify(h, PASSWORD), "{h}");
            assert!(!verify(h, "correct horse battery stapl"), "{h}");
        }
        assert!(verify(BCRYPT_UNICODE, "Pässwörd"));
        assert!(!verify(BCRYPT_UNICODE, "Passwörd"));
        assert!(verify(BCRYPT_72X, &"x".repeat(72)));
        assert!(verify(BCRYPT_72X, &"x".repeat(80)));
        assert!(!verify(BCRYPT_72X, &"x".repeat(71)));
    }

    #[test]
    fn classify_refuses_unknown_and_malformed_hashes() {
        let code = |s: &str| classify(s).unwrap_err().code;
        for s in ["", "plaintext", "md5$abc$def", "sha1$salt$hash", "{SSHA}abcd", "$1$salt$hash", "$6$salt$hash"] {
            assert_eq!(code(s), "unsupported_hash", "{s:?}");
        }
        let malformed = [
            "$argon2id$v=19$m=64,t=1,p=1$SFQ86vFnvDnnqNsNIwGsPQ",      // no hash
            "$argon2id$v=18$m=64,t=1,p=1$SFQ86vFnvDnnqNsNIwGsPQ$VrkF", // unknown version
            "$argon2x$v=19$m=64,t=1,p=1$SFQ86vFnvDnnqNsNIwGsPQ$VrkFIJY1c5zZcZ7WrPyfgcM4vpaU+nlvwTnpqIA6Pjk",
            "$argon2id$v=19$m=64,t=0,p=1$SFQ86vFnvDnnqNsNIwGsPQ$VrkFIJY1c5zZcZ7WrPyfgcM4vpaU+nlvwTnpqIA6Pjk",
            "$2b$05$I9ZbZhZZQoXSF.29txc6muZTR1o5fRzLPf/wNDjffxU6sqhp8Tr.", // one short
            "$2c$05$I9ZbZhZZQoXSF.29txc6muZTR1o5fRzLPf/wNDjffxU6sqhp8Tr.i", // no such variant
            "$2b$03$I9ZbZhZZQoXSF.29txc6muZTR1o5fRzLPf/wNDjffxU6sqhp8Tr.i", // cost below 4
            "$2b$05$I9ZbZhZZQoXSF.29txc6muZTR1o5fRzLPf/wNDjffxU6sqhp8Tr+i", // not bcrypt base64
            "pbkdf2_sha256$1000$f3SaltSaltSalt",                           // no hash
            "pbkdf2_sha256$0$f3SaltSaltSalt$czJnK58n56BiBJzFWKOaUAqiSrcOzTl3JQ8bzCkphN0=",
            "pbkdf2_sha256$-5$f3SaltSaltSalt$czJnK58n56BiBJzFWKOaUAqiSrcOzTl3JQ8bzCkphN0=",
            "pbkdf2_sha256$1000$$czJnK58n56BiBJzFWKOaUAqiSrcOzTl3JQ8bzCkphN0=",
            "pbkdf2_sha256$1000$f3SaltSaltSalt$not base64!",
            "pbkdf2_sha256$1000$f3SaltSaltSalt$czJnK58n56BiBJzFWKOaUA==", // 16 bytes
            "pbkdf2_sha256$1000$salt$czJnK58n56BiBJzFWKOaUAqiSrcOzTl3JQ8bzCkphN0=$extra",
            "argon2$argon2id$v=19$m=102400,t=2,p=8$Y25qdFZLMXVxSFc5OFFmaUtvUWsxcA",
        ];
        for s in malformed {
            assert_eq!(code(s), "malformed_hash", "{s}");
            assert!(!verify(s, PASSWORD), "{s}");
        }
        let err = classify("$2b$05$I9ZbZhZZQoXSF.29txc6muZTR1o5fRzLPf/wNDjffxU6sqhp8Tr+i").unwrap_err();
        assert!(err.message.starts_with("is not a valid bcrypt hash"), "{}", err.message);
    }

    #[test]
    fn classify_refuses_hashes_too_costly_to_verify() {
        let code = |s: &str| classify(s).unwrap_err().code;
        assert_eq!(code("$2b$17$I9ZbZhZZQoXSF.29txc6muZTR1o5fRzLPf/wNDjffxU6sqhp8Tr.i"), "hash_too_costly");
        assert_eq!(
            code("pbkdf2_sha256$10000001$f3SaltSaltSalt$czJnK58n56BiBJzFWKOaUAqiSrcOzTl3JQ8bzCkphN0="),
            "hash_too_costly"
        );
        let salt_hash = "$SFQ86vFnvDnnqNsNIwGsPQ$VrkFIJY1c5zZcZ7WrPyfgcM4vpaU+nlvwTnpqIA6Pjk";
        for params in ["m=262145,t=1,p=1", "m=64,t=17,p=1", "m=1024,t=1,p=17"] {
            let s = format!("$argon2id$v=19${params}{salt_hash}");
            assert_eq!(code(&s), "hash_too_costly", "{s}");
            assert!(!verify(&s, PASSWORD));
        }
    }

    #[test]
    fn only_roster_argon2id_with_the_same_parameters_needs_no_upgrade() {
        assert!(!needs_upgrade(ARGON2ID_ROSTER, 19_456, 2, 1));
        assert!(needs_upgrade(ARGON2ID_ROSTER, 19_456, 3, 1));
        assert!(needs_upgrade(ARGON2ID_ROSTER, 65_536, 2, 1));
        assert!(needs_upgrade(ARGON2ID_ROSTER, 19_456, 2, 2));
        assert!(!needs_upgrade(ARGON2ID, 64, 1, 1));
        for h in [ARGON2I, ARGON2D] {
            assert!(needs_upgrade(h, 64, 1, 1), "{h}");
        }
        // Same parameters, but Django's wrapping or an old version: rewrite it.
        assert!(needs_upgrade(DJANGO_ARGON2, 102_400, 2, 8));
        assert!(needs_upgrade(
            "$argon2id$v=16$m=64,t=1,p=1$SFQ86vFnvDnnqNsNIwGsPQ$VrkFIJY1c5zZcZ7WrPyfgcM4vpaU+nlvwTnpqIA6Pjk",
            64,
            1,
            1
        ));
        for h in [DJANGO_PBKDF2, BCRYPT_2B, "", "garbage"] {
            assert!(needs_upgrade(h, 19_456, 2, 1), "{h}");
        }
    }

    /// Roster's own hashes verify here too, so a caller may route every stored hash through
    /// this module.
    #[tokio::test]
    async fn roster_hashes_verify() {
        let h = crate::passwords::hashing::hash(secrecy::SecretString::from(PASSWORD)).await.unwrap();
        assert_eq!(classify(&h), Ok(HashKind::Argon2));
        assert!(verify(&h, PASSWORD));
        assert!(!needs_upgrade(&h, 19_456, 2, 1));
    }
}
