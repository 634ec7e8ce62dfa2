//! Recovery codes (R29): ten single-use codes shown once when the authenticator is set up (and
//! when the user asks for new ones), stored only as keyed hashes: HMAC-SHA256 under a sub-key of
//! the server key, over the user's id and the code (D9). A database dump alone cannot be
//! searched for the codes (49 bits would fall to a plain hash), and a code's row copied to
//! another user does not match there.
//!
//! Codes stored before (plain SHA-256 with a fixed prefix, 64 hex digits) are still accepted,
//! once each as always, until they are used or replaced: see docs/decisions.md.

use hmac::Mac;
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::ids::UserId;
use crate::secrets::Secrets;
use crate::store::Conn;
use crate::store::second_factor as store;

pub const COUNT: usize = 10;
/// Without 0/O, 1/I/L, so a code copied by hand survives: 31 symbols, 10 of them ≈ 49.5 bits.
const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const LENGTH: usize = 10;

/// Ten fresh codes, formatted `XXXXX-XXXXX`.
pub fn generate() -> Vec<String> {
    let mut rng = rand::rngs::OsRng;
    (0..COUNT)
        .map(|_| {
            let raw: String = (0..LENGTH).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect();
            format!("{}-{}", &raw[..LENGTH / 2], &raw[LENGTH / 2..])
        })
        .collect()
}

/// Stored hashes start with this; the old plain hashes are bare hex.
const KEYED: &str = "hmac1:";

/// A code as typed, without case, spaces or dashes.
fn normalize(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect()
}

/// The stored form of `user`'s code as typed: case, spaces and dashes do not matter.
pub fn hash(secrets: &Secrets, user: UserId, code: &str) -> String {
    let mut mac = secrets.recovery_code_mac();
    // The id is digits and the code alphanumeric: the `:` keeps the two apart.
    mac.update(format!("{}:{}", user.0, normalize(code)).as_bytes());
    format!("{KEYED}{}", hex::encode(mac.finalize().into_bytes()))
}

/// The stored forms of new codes.
pub fn hashes(secrets: &Secrets, user: UserId, codes: &[String]) -> Vec<String> {
    codes.iter().map(|c| hash(secrets, user, c)).collect()
}

/// How codes were stored before they were keyed (accepted until used or replaced).
fn legacy_hash(code: &str) -> String {
    hex::encode(Sha256::digest(format!("roster-recovery:{}", normalize(code)).as_bytes()))
}

/// Uses `user`'s code once: `false` when it is not one of their unused codes. A code stored
/// the old way is accepted too (it can be used once, like any code).
pub async fn redeem(
    conn: &mut Conn,
    secrets: &Secrets,
    user: UserId,
    code: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    store::use_recovery_code(conn, user, &[&hash(secrets, user, code), &legacy_hash(code)], now).await
}

/// Whether the text could be a recovery code at all (so a TOTP code is not taken for one).
pub fn looks_like(code: &str) -> bool {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).count() == LENGTH
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_distinct_codes_that_hash_alike_however_typed() {
        let secrets = Secrets::from_key(&[3; 32]);
        let hash = |c: &str| hash(&secrets, UserId(7), c);
        let codes = generate();
        assert_eq!(codes.len(), 10);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        let c = &codes[0];
        assert_eq!(c.len(), 11);
        assert!(looks_like(c));
        assert_eq!(hash(c), hash(&c.to_lowercase().replace('-', " ")));
        assert_ne!(hash(c), hash(&codes[1]));
        assert!(!looks_like("123456"));
    }

    #[test]
    fn hashes_are_keyed_and_bound_to_the_user() {
        let secrets = Secrets::from_key(&[3; 32]);
        let code = "ABCDE-FGHJK";
        let stored = hash(&secrets, UserId(7), code);
        assert!(stored.starts_with("hmac1:") && stored.len() == 6 + 64, "{stored}");
        assert_eq!(stored, hashes(&secrets, UserId(7), &[code.to_string()])[0]);
        assert_ne!(stored, hash(&secrets, UserId(8), code), "another user's code does not match");
        assert_ne!(stored, hash(&Secrets::from_key(&[4; 32]), UserId(7), code), "another key, another hash");
        // Not the old unkeyed hash, nor a plain SHA-256 of anything a dump reveals.
        assert!(!stored.contains(&legacy_hash(code)));
        assert_ne!(&stored[6..], hex::encode(Sha256::digest(b"7:ABCDEFGHJK")));
        // The user id and code are kept apart: (1, "2…") is not (12, "…").
        assert_ne!(hash(&secrets, UserId(1), "2BCDE-FGHJK"), hash(&secrets, UserId(12), "BCDE-FGHJK"));
    }

    #[test]
    fn the_legacy_hash_is_what_was_stored_before() {
        // The form the previous version wrote, for a code it handed out.
        let before = hex::encode(Sha256::digest(b"roster-recovery:ABCDEFGHJK"));
        assert_eq!(legacy_hash("abcde fghjk"), before);
        assert_eq!(before.len(), 64);
        assert!(!before.starts_with(KEYED));
    }
}
