//! R4: phone number in E.164 form.

use super::Invalid;

/// A phone number normalized to E.164: '+' followed by 7–15 digits, the first 1–9.
/// Human input may contain spaces, '-', '.', '(' and ')', which are removed:
/// `"+49 (151) 123-45678"` becomes `"+4915112345678"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct E164Phone(String);

impl E164Phone {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let s: String = input.chars().filter(|&c| !(c.is_whitespace() || matches!(c, '-' | '.' | '(' | ')'))).collect();
        if s.is_empty() {
            return Err(Invalid::required());
        }
        let Some(digits) = s.strip_prefix('+') else {
            return Err(Invalid::format("must start with '+' and the country code"));
        };
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(Invalid::chars(
                "may contain only '+' followed by digits (spaces, '-', '.', '(' and ')' are ignored)",
            ));
        }
        if !(7..=15).contains(&digits.len()) {
            return Err(Invalid::new("invalid_length", "must have 7 to 15 digits"));
        }
        if digits.starts_with('0') {
            return Err(Invalid::format("country code must not start with 0"));
        }
        Ok(Self(s))
    }

    /// The normalized form, e.g. `"+4915112345678"`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_newtype!(E164Phone);

#[cfg(test)]
mod tests {
    use super::*;

    fn err(input: &str) -> Invalid {
        E164Phone::parse(input).unwrap_err()
    }

    #[test]
    fn accepts_and_normalizes_human_input() {
        for (input, normalized) in [
            ("+4915112345678", "+4915112345678"),
            ("+49 151 1234 5678", "+4915112345678"),
            (" +49 (151) 123-456.78 ", "+4915112345678"),
            ("+1 (555) 010-9999", "+15550109999"),
            ("+1234567", "+1234567"),
            ("+123456789012345", "+123456789012345"),
        ] {
            let p = E164Phone::parse(input).unwrap();
            assert_eq!(p.as_str(), normalized);
            assert_eq!(p.to_string(), normalized);
        }
    }

    #[test]
    fn refuses_empty() {
        assert_eq!(err("").code, "required");
        assert_eq!(err(" ( ) - ").code, "required");
    }

    #[test]
    fn refuses_missing_plus() {
        for bad in ["4915112345678", "004915112345678", "0151 12345678"] {
            let e = err(bad);
            assert_eq!(e.code, "invalid_format", "{bad:?}");
            assert_eq!(e.message, "must start with '+' and the country code");
        }
    }

    #[test]
    fn refuses_wrong_digit_count() {
        for bad in ["+123456", "+1234567890123456", "+"] {
            let e = err(bad);
            assert_eq!(e.code, "invalid_length", "{bad:?}");
            assert_eq!(e.message, "must have 7 to 15 digits");
        }
    }

    #[test]
    fn refuses_leading_zero_and_other_chars() {
        assert_eq!(err("+0491511234567").code, "invalid_format");
        for bad in ["+49151abc5678", "++4915112345678", "+49/151/12345678", "+49151１２３４５６"] {
            assert_eq!(err(bad).code, "invalid_chars", "{bad:?}");
        }
    }

    #[test]
    fn serde_is_normalized_string() {
        let p = E164Phone::parse("+49 151 12345678").unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"+4915112345678\"");
        assert_eq!(serde_json::from_str::<E164Phone>("\"+49 151 12345678\"").unwrap(), p);
    }
}
