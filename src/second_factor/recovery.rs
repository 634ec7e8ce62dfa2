//! Recovery codes (R29): ten single-use codes shown once when the authenticator is set up (and
//! when the user asks for new ones), stored only as SHA-256 hashes.

use rand::Rng;
use sha2::{Digest, Sha256};

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

/// The stored form of a code as typed: case, spaces and dashes do not matter.
pub fn hash(code: &str) -> String {
    let normalized: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect();
    hex::encode(Sha256::digest(format!("roster-recovery:{normalized}").as_bytes()))
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
}
