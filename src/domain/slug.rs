//! An account's slug, used in URLs.

use super::{Invalid, check_len};

const MAX: usize = 63;

/// A URL slug: 1–63 lowercase ASCII letters, digits and '-', starting with a letter or
/// digit and not ending with '-'. Not trimmed or lowercased: such input is refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slug(String);

impl Slug {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        check_len(input, MAX)?;
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        if !input.chars().all(allowed) {
            return Err(Invalid::chars("may contain only lowercase letters (a-z), digits and '-'"));
        }
        if input.starts_with('-') {
            return Err(Invalid::format("must start with a letter or digit"));
        }
        if input.ends_with('-') {
            return Err(Invalid::format("must not end with '-'"));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_newtype!(Slug);

#[cfg(test)]
mod tests {
    use super::*;

    fn code(input: &str) -> &'static str {
        Slug::parse(input).unwrap_err().code
    }

    #[test]
    fn accepts_valid_slugs() {
        for ok in ["acme", "a", "7", "acme-corp", "9lives", "a--b", &"a".repeat(63)] {
            assert_eq!(Slug::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn refuses_bad_slugs() {
        assert_eq!(code(""), "required");
        assert_eq!(code(&"a".repeat(64)), "too_long");
        for bad in ["Acme", "acme corp", " acme", "acme_corp", "acme.io", "café"] {
            assert_eq!(code(bad), "invalid_chars", "{bad:?}");
        }
        assert_eq!(code("-acme"), "invalid_format");
        assert_eq!(code("-"), "invalid_format");
        assert_eq!(code("acme-"), "invalid_format");
    }

    #[test]
    fn serde_is_plain_string() {
        let s = Slug::parse("acme").unwrap();
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"acme\"");
        assert!(serde_json::from_str::<Slug>("\"ACME\"").is_err());
    }
}
