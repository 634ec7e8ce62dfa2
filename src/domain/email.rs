//! R2: e-mail address.

use email_address::{EmailAddress, Options};

use super::Invalid;

const MAX: usize = 254;

/// An e-mail address, trimmed, at most 254 characters, syntactically valid per the
/// `email_address` crate (bare `local@domain` form; a display name such as
/// `Bob <bob@example.com>` is refused). Single-label domains (`a@localhost`) are accepted.
/// Case is preserved; uniqueness is case-insensitive via [`Email::key`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let s = input.trim();
        super::check_len(s, MAX)?;
        let bare_address = Options::default().without_display_text();
        let has_both_parts = s.rsplit_once('@').is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty());
        if !has_both_parts || EmailAddress::parse_with_options(s, bare_address).is_err() {
            return Err(Invalid::format("must be a valid email address, such as name@example.com"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Lowercased form, for case-insensitive uniqueness.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

string_newtype!(Email);

#[cfg(test)]
mod tests {
    use super::*;

    fn code(input: &str) -> &'static str {
        Email::parse(input).unwrap_err().code
    }

    #[test]
    fn accepts_valid_addresses_and_trims() {
        assert_eq!(Email::parse("bob@example.com").unwrap().as_str(), "bob@example.com");
        assert_eq!(Email::parse("  Bob@Example.com \n").unwrap().as_str(), "Bob@Example.com");
        assert_eq!(
            Email::parse("first.last+tag@sub.example.org").unwrap().to_string(),
            "first.last+tag@sub.example.org"
        );
        assert!(Email::parse("a@localhost").is_ok());
    }

    #[test]
    fn key_is_lowercase() {
        assert_eq!(Email::parse("Bob@Example.COM").unwrap().key(), "bob@example.com");
    }

    #[test]
    fn refuses_empty_and_too_long() {
        assert_eq!(code(""), "required");
        assert_eq!(code("   "), "required");
        let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(200));
        assert_eq!(code(&long), "too_long");
    }

    #[test]
    fn refuses_malformed_addresses() {
        for bad in [
            "bob",
            "@example.com",
            "bob@",
            "bob@@example.com",
            "bob @example.com",
            "bob@exa mple.com",
            "Bob <bob@example.com>",
            "bob@example..com",
        ] {
            assert_eq!(code(bad), "invalid_format", "{bad:?}");
        }
    }

    #[test]
    fn serde_is_plain_string() {
        let e = Email::parse("bob@example.com").unwrap();
        assert_eq!(serde_json::to_string(&e).unwrap(), "\"bob@example.com\"");
        assert_eq!(serde_json::from_str::<Email>("\" bob@example.com\"").unwrap(), e);
        assert!(serde_json::from_str::<Email>("\"nope\"").is_err());
    }
}
