//! R5: PBX extension number.

use super::{Invalid, check_len};

const MAX: usize = 16;

/// A PBX extension: trimmed, 1–16 ASCII digits (no letters, '*' or '#').
/// Leading zeros are significant and kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Extension(String);

impl Extension {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let s = input.trim();
        check_len(s, MAX)?;
        if !s.chars().all(|c| c.is_ascii_digit()) {
            return Err(Invalid::chars("must contain only digits (0-9)"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_newtype!(Extension);

#[cfg(test)]
mod tests {
    use super::*;

    fn code(input: &str) -> &'static str {
        Extension::parse(input).unwrap_err().code
    }

    #[test]
    fn accepts_digits_and_trims() {
        assert_eq!(Extension::parse("101").unwrap().as_str(), "101");
        assert_eq!(Extension::parse(" 0042 ").unwrap().to_string(), "0042");
        assert!(Extension::parse(&"9".repeat(16)).is_ok());
    }

    #[test]
    fn refuses_empty_and_too_long() {
        assert_eq!(code(""), "required");
        assert_eq!(code("  "), "required");
        assert_eq!(code(&"1".repeat(17)), "too_long");
    }

    #[test]
    fn refuses_non_digits() {
        for bad in ["10a", "*72", "101#", "1 01", "+101", "-1", "１０１"] {
            assert_eq!(code(bad), "invalid_chars", "{bad:?}");
        }
    }

    #[test]
    fn serde_is_plain_string() {
        let e = Extension::parse("0042").unwrap();
        assert_eq!(serde_json::to_string(&e).unwrap(), "\"0042\"");
        assert!(serde_json::from_str::<Extension>("\"*1\"").is_err());
    }
}
