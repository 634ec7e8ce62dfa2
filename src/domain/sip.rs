//! SIP account user name.

use super::{Invalid, check_len};

const MAX: usize = 64;

/// A SIP user name: 1–64 ASCII letters, digits, '.', '_', '-' or '+'. Not trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SipUsername(String);

impl SipUsername {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        check_len(input, MAX)?;
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+');
        if !input.chars().all(allowed) {
            return Err(Invalid::chars("may contain only Latin letters, digits, '.', '_', '-' and '+'"));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_newtype!(SipUsername);

#[cfg(test)]
mod tests {
    use super::*;

    fn code(input: &str) -> &'static str {
        SipUsername::parse(input).unwrap_err().code
    }

    #[test]
    fn accepts_valid_names() {
        for ok in ["1001", "alice", "Alice.B_c-d", "+4930123456", &"x".repeat(64)] {
            assert_eq!(SipUsername::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn refuses_bad_names() {
        assert_eq!(code(""), "required");
        assert_eq!(code(&"x".repeat(65)), "too_long");
        for bad in ["alice@pbx", " alice", "al ice", "al:ice", "alïce", "a;b"] {
            assert_eq!(code(bad), "invalid_chars", "{bad:?}");
        }
    }

    #[test]
    fn serde_is_plain_string() {
        let s = SipUsername::parse("alice").unwrap();
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"alice\"");
        assert_eq!(serde_json::from_str::<SipUsername>("\"alice\"").unwrap(), s);
    }
}
