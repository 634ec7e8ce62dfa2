//! R1: user login name.

use super::{Invalid, check_len};

const MAX: usize = 64;

/// A login: 1–64 ASCII Latin letters, digits, '-', '_' or '.'. Not trimmed: surrounding
/// spaces are refused, not silently removed. Case is preserved; uniqueness is
/// case-insensitive via [`Login::key`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Login(String);

impl Login {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        check_len(input, MAX)?;
        if input.contains('@') {
            return Err(Invalid::chars("must not contain '@'"));
        }
        if input.chars().any(char::is_whitespace) {
            return Err(Invalid::chars("must not contain spaces"));
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if !input.chars().all(allowed) {
            return Err(Invalid::chars("may contain only Latin letters (a-z, A-Z), digits, '-', '_' and '.'"));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// ASCII-lowercased form, for case-insensitive uniqueness.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

string_newtype!(Login);

#[cfg(test)]
mod tests {
    use super::*;

    fn code(input: &str) -> &'static str {
        Login::parse(input).unwrap_err().code
    }

    #[test]
    fn accepts_valid_logins() {
        for ok in ["bob", "Bob.Smith", "a", "j_doe-2", "A1.b2_c3-", &"x".repeat(64)] {
            let login = Login::parse(ok).unwrap();
            assert_eq!(login.as_str(), ok);
            assert_eq!(login.to_string(), ok);
        }
    }

    #[test]
    fn key_is_ascii_lowercase() {
        assert_eq!(Login::parse("Bob.SMITH").unwrap().key(), "bob.smith");
    }

    #[test]
    fn refuses_empty_and_too_long() {
        assert_eq!(code(""), "required");
        assert_eq!(code(&"x".repeat(65)), "too_long");
    }

    #[test]
    fn refuses_at_sign_with_specific_message() {
        let err = Login::parse("bob@example.com").unwrap_err();
        assert_eq!(err.code, "invalid_chars");
        assert_eq!(err.message, "must not contain '@'");
    }

    #[test]
    fn refuses_spaces_without_trimming() {
        for bad in [" bob", "bob ", "bo b", "bob\t"] {
            let err = Login::parse(bad).unwrap_err();
            assert_eq!(err.code, "invalid_chars", "{bad:?}");
            assert_eq!(err.message, "must not contain spaces");
        }
    }

    #[test]
    fn refuses_other_characters() {
        for bad in ["bøb", "bob!", "bob/x", "bob+1", "бob", "bob\0"] {
            assert_eq!(code(bad), "invalid_chars", "{bad:?}");
        }
    }

    #[test]
    fn serde_round_trip_goes_through_parse() {
        let login = Login::parse("Bob").unwrap();
        assert_eq!(serde_json::to_string(&login).unwrap(), "\"Bob\"");
        let back: Login = serde_json::from_str("\"Bob\"").unwrap();
        assert_eq!(back, login);
        assert!(serde_json::from_str::<Login>("\"b@b\"").is_err());
    }
}
