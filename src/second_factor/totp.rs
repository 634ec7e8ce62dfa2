//! TOTP (RFC 6238) as authenticator apps speak it: HMAC-SHA-1, 6 digits, 30-second steps, one
//! step of drift either way. A code is accepted once: the step it belongs to is remembered, and
//! that step and every earlier one are refused afterwards (see `store::second_factor::use_totp_step`).

use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::error::{Error, Result};

pub const DIGITS: usize = 6;
pub const STEP_SECONDS: u64 = 30;
/// Steps either side of now whose codes are still accepted (clocks of phones drift).
pub const DRIFT_STEPS: i64 = 1;
/// 160 bits, as RFC 4226 recommends.
const SECRET_BYTES: usize = 20;

/// A TOTP secret in base32 (the form apps and `oathtool -b` take).
pub struct TotpSecret(SecretString);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(…)")
    }
}

impl TotpSecret {
    pub fn generate() -> Self {
        use rand::RngCore;
        let mut bytes = [0u8; SECRET_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        TotpSecret(SecretString::from(Secret::Raw(bytes.to_vec()).to_encoded().to_string()))
    }

    /// From the base32 text kept sealed in the database.
    pub fn from_base32(text: SecretString) -> Self {
        TotpSecret(text)
    }

    pub fn base32(&self) -> &str {
        self.0.expose_secret()
    }

    fn totp(&self, issuer: &str, label: &str) -> Result<TOTP> {
        let bytes = Secret::Encoded(self.base32().to_string())
            .to_bytes()
            .map_err(|e| Error::Internal(anyhow::anyhow!("a stored TOTP secret is not base32: {e:?}")))?;
        // `new` checks the secret's length and that neither issuer nor label holds a ':'.
        let issuer = issuer.replace(':', " ");
        let label = label.replace(':', " ");
        TOTP::new(Algorithm::SHA1, DIGITS, DRIFT_STEPS as u8, STEP_SECONDS, bytes, Some(issuer), label)
            .map_err(|e| Error::Internal(anyhow::anyhow!("building a TOTP: {e:?}")))
    }

    /// The `otpauth://totp/…` URI an app scans from the QR code.
    pub fn uri(&self, issuer: &str, label: &str) -> Result<String> {
        Ok(self.totp(issuer, label)?.get_url())
    }

    /// The code of a given step.
    pub fn code_at_step(&self, step: i64) -> Result<String> {
        Ok(self.totp("Roster", "user")?.generate(step.max(0) as u64 * STEP_SECONDS))
    }

    /// The step whose code `code` is, within the drift around `now_ms`, if any. The caller
    /// still has to check that step was not used before.
    pub fn matching_step(&self, code: &str, now_ms: i64) -> Result<Option<i64>> {
        let code = normalize(code);
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(None);
        }
        let now_step = current_step(now_ms);
        let mut found = None;
        // Every candidate is computed and compared in constant time, so timing says nothing
        // about which step matched.
        for step in now_step - DRIFT_STEPS..=now_step + DRIFT_STEPS {
            let expected = self.code_at_step(step)?;
            if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
                found = Some(step);
            }
        }
        Ok(found)
    }
}

pub fn current_step(now_ms: i64) -> i64 {
    now_ms / 1000 / STEP_SECONDS as i64
}

/// Codes are typed with spaces ("123 456") or pasted with them.
pub fn normalize(code: &str) -> String {
    code.chars().filter(|c| !c.is_whitespace() && *c != '-').collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows: the 20-byte ASCII key "12345678901234567890", 8 digits.
    #[test]
    fn rfc_6238_test_vectors() {
        let key = b"12345678901234567890".to_vec();
        let totp = TOTP::new_unchecked(Algorithm::SHA1, 8, 0, 30, key, None, String::new());
        for (time, code) in [
            (59, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
            (20000000000, "65353130"),
        ] {
            assert_eq!(totp.generate(time), code, "T = {time}");
        }
    }

    #[test]
    fn our_six_digit_codes_are_the_last_six_of_the_rfc_values() {
        // With the same key, a 6-digit code is the 8-digit value modulo 10^6.
        let secret =
            TotpSecret(SecretString::from(Secret::Raw(b"12345678901234567890".to_vec()).to_encoded().to_string()));
        assert_eq!(secret.base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(secret.code_at_step(59 / 30).unwrap(), "287082");
        assert_eq!(secret.code_at_step(1111111109 / 30).unwrap(), "081804");
        assert_eq!(secret.code_at_step(20000000000 / 30).unwrap(), "353130");
    }

    #[test]
    fn a_code_matches_its_step_within_one_step_of_drift() {
        let secret = TotpSecret::generate();
        assert_eq!(secret.base32().len(), 32, "160 bits in base32");
        let now = 1_700_000_000_000;
        let step = current_step(now);
        for offset in [-1, 0, 1] {
            let code = secret.code_at_step(step + offset).unwrap();
            assert_eq!(secret.matching_step(&code, now).unwrap(), Some(step + offset));
        }
        for offset in [-3, -2, 2, 3] {
            let code = secret.code_at_step(step + offset).unwrap();
            // Another step's code can collide with an accepted one by chance (1 in 10^6).
            let got = secret.matching_step(&code, now).unwrap();
            assert!(got.is_none() || secret.code_at_step(got.unwrap()).unwrap() == code);
        }
        let spaced = secret.code_at_step(step).unwrap();
        let spaced = format!("{} {}", &spaced[..3], &spaced[3..]);
        assert_eq!(secret.matching_step(&spaced, now).unwrap(), Some(step));
        assert_eq!(secret.matching_step("12345", now).unwrap(), None);
        assert_eq!(secret.matching_step("abcdef", now).unwrap(), None);
    }

    #[test]
    fn the_uri_names_issuer_and_account_and_carries_the_secret() {
        let secret = TotpSecret::generate();
        let uri = secret.uri("Roster (default)", "ann@example.com").unwrap();
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(uri.contains(&format!("secret={}", secret.base32())), "{uri}");
        assert!(uri.contains("issuer=Roster"), "{uri}");
        assert!(format!("{secret:?}").find(secret.base32()).is_none());
    }
}
