//! R3 and free-text fields: trimmed, length-limited, no control characters.

use super::{Invalid, check_len};

fn no_control(s: &str) -> Result<(), Invalid> {
    if s.chars().any(char::is_control) {
        return Err(Invalid::chars("must not contain control characters"));
    }
    Ok(())
}

/// Trims, then requires 1..=`max` characters and no control characters.
fn single_line(input: &str, max: usize) -> Result<String, Invalid> {
    let s = input.trim();
    check_len(s, max)?;
    no_control(s)?;
    Ok(s.to_owned())
}

/// A first or last name (R3): trimmed, 1–100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        single_line(input, 100).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_newtype!(PersonName);

/// Short free text (company, related contact, external id): trimmed, 1–200 characters,
/// no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ShortText(String);

impl ShortText {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        single_line(input, 200).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_newtype!(ShortText);

/// The name of a role, group, desk or skill: trimmed, 1–80 characters, no control
/// characters. Uniqueness is case-insensitive via [`EntityName::key`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntityName(String);

impl EntityName {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        single_line(input, 80).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Unicode-lowercased form, for case-insensitive uniqueness.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

string_newtype!(EntityName);

/// A free-text description: trimmed, 0–500 characters, may be empty, may contain line
/// breaks but no other control characters. CRLF line breaks (as browsers submit them)
/// are normalized to '\n' first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Description(String);

impl Description {
    const MAX: usize = 500;

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let s = input.trim().replace("\r\n", "\n");
        if s.chars().count() > Self::MAX {
            return Err(Invalid::too_long(Self::MAX));
        }
        if s.chars().any(|c| c.is_control() && c != '\n') {
            return Err(Invalid::chars("must not contain control characters other than line breaks"));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

string_newtype!(Description);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn person_name() {
        assert_eq!(PersonName::parse("  Zoë ").unwrap().as_str(), "Zoë");
        assert_eq!(PersonName::parse("O'Brien-Smith").unwrap().to_string(), "O'Brien-Smith");
        assert!(PersonName::parse(&"é".repeat(100)).is_ok());
        assert_eq!(PersonName::parse(&"é".repeat(101)).unwrap_err().code, "too_long");
        assert_eq!(PersonName::parse("").unwrap_err().code, "required");
        assert_eq!(PersonName::parse(" \t ").unwrap_err().code, "required");
        assert_eq!(PersonName::parse("Bo\nb").unwrap_err().code, "invalid_chars");
        assert_eq!(PersonName::parse("Bo\u{7f}b").unwrap_err().code, "invalid_chars");
    }

    #[test]
    fn short_text() {
        assert_eq!(ShortText::parse(" ACME Corp. ").unwrap().as_str(), "ACME Corp.");
        assert!(ShortText::parse(&"x".repeat(200)).is_ok());
        assert_eq!(ShortText::parse(&"x".repeat(201)).unwrap_err().code, "too_long");
        assert_eq!(ShortText::parse("").unwrap_err().code, "required");
        assert_eq!(ShortText::parse("a\tb").unwrap_err().code, "invalid_chars");
    }

    #[test]
    fn entity_name() {
        let n = EntityName::parse(" Sales Team ÄÖ ").unwrap();
        assert_eq!(n.as_str(), "Sales Team ÄÖ");
        assert_eq!(n.key(), "sales team äö");
        assert!(EntityName::parse(&"x".repeat(80)).is_ok());
        assert_eq!(EntityName::parse(&"x".repeat(81)).unwrap_err().code, "too_long");
        assert_eq!(EntityName::parse("").unwrap_err().code, "required");
        assert_eq!(EntityName::parse("a\0b").unwrap_err().code, "invalid_chars");
    }

    #[test]
    fn description() {
        assert!(Description::parse("").unwrap().is_empty());
        assert!(Description::parse("  \n ").unwrap().is_empty());
        assert_eq!(Description::default().as_str(), "");
        assert_eq!(Description::parse(" line 1\r\nline 2\n").unwrap().as_str(), "line 1\nline 2");
        assert!(Description::parse(&"x".repeat(500)).is_ok());
        assert_eq!(Description::parse(&"x".repeat(501)).unwrap_err().code, "too_long");
        assert_eq!(Description::parse("a\tb").unwrap_err().code, "invalid_chars");
        assert_eq!(Description::parse("a\rb").unwrap_err().code, "invalid_chars");
    }

    #[test]
    fn serde_is_plain_string() {
        let n = PersonName::parse("Zoë").unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"Zoë\"");
        assert_eq!(serde_json::from_str::<PersonName>("\" Zoë \"").unwrap(), n);
        assert!(serde_json::from_str::<EntityName>("\"\"").is_err());
        assert_eq!(serde_json::from_str::<Description>("\"\"").unwrap(), Description::default());
    }
}
