//! An account's SIP realm: the SIP domain its phones register in and the realm of their digest
//! authentication.

use super::{Invalid, check_len};

const MAX: usize = 253;
const MOST_PER_LABEL: usize = 63;

/// A SIP realm: a host name (RFC 1123 labels of letters, digits and '-', joined by '.'), at most
/// 253 characters. Trimmed and lower-cased, as domain names compare without case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SipRealm(String);

impl SipRealm {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let s = input.trim().to_ascii_lowercase();
        check_len(&s, MAX)?;
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.');
        if !s.chars().all(allowed) {
            return Err(Invalid::chars("may contain only Latin letters, digits, '-' and '.' (a host name)"));
        }
        for label in s.split('.') {
            if label.is_empty() {
                return Err(Invalid::format("must not start or end with '.', nor have two in a row"));
            }
            if label.len() > MOST_PER_LABEL {
                return Err(Invalid::format("must have at most 63 characters between dots"));
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err(Invalid::format("must not start or end a part with '-'"));
            }
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_newtype!(SipRealm);

#[cfg(test)]
mod tests {
    use super::*;

    fn code(input: &str) -> &'static str {
        SipRealm::parse(input).unwrap_err().code
    }

    #[test]
    fn accepts_host_names_and_lower_cases_them() {
        for (input, stored) in [
            ("acme", "acme"),
            ("sip.acme.example", "sip.acme.example"),
            (" PBX.Acme-1.Example ", "pbx.acme-1.example"),
            ("10.0.0.5", "10.0.0.5"),
        ] {
            assert_eq!(SipRealm::parse(input).unwrap().as_str(), stored);
        }
        let longest = [&"a".repeat(63)[..], &"b".repeat(63), &"c".repeat(63), &"d".repeat(61)].join(".");
        assert_eq!(SipRealm::parse(&longest).unwrap().as_str().len(), 253);
    }

    #[test]
    fn refuses_what_is_not_a_host_name() {
        assert_eq!(code(""), "required");
        assert_eq!(code("   "), "required");
        assert_eq!(code(&"a".repeat(254)), "too_long");
        assert_eq!(code(&"a".repeat(64)), "invalid_format");
        for bad in ["acme example", "acme_pbx", "acme@example", "a:5060", "ächt.example", "[::1]"] {
            assert_eq!(code(bad), "invalid_chars", "{bad:?}");
        }
        for bad in [".acme", "acme.", "acme..example", "-acme", "acme-.example"] {
            assert_eq!(code(bad), "invalid_format", "{bad:?}");
        }
    }
}
