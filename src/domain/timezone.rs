//! R7: time zone.

use chrono_tz::Tz;

use super::Invalid;

/// An IANA time zone name known to `chrono_tz` (e.g. "Europe/Berlin", "UTC"), trimmed.
/// Names are case-sensitive; the canonical `Tz::name()` spelling is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeZoneName(Tz);

impl TimeZoneName {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let s = input.trim();
        if s.is_empty() {
            return Err(Invalid::required());
        }
        s.parse::<Tz>().map(Self).map_err(|_| {
            Invalid::new("unknown_timezone", "must be an IANA time zone name, such as Europe/Berlin or UTC")
        })
    }

    /// The canonical IANA name.
    pub fn as_str(&self) -> &'static str {
        self.0.name()
    }

    pub fn tz(&self) -> Tz {
        self.0
    }
}

impl From<Tz> for TimeZoneName {
    fn from(tz: Tz) -> Self {
        Self(tz)
    }
}

string_newtype!(TimeZoneName);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_iana_names() {
        for name in ["Europe/Berlin", "UTC", "America/New_York", "Asia/Kolkata"] {
            let tz = TimeZoneName::parse(name).unwrap();
            assert_eq!(tz.as_str(), name);
            assert_eq!(tz.to_string(), name);
        }
        let tz = TimeZoneName::parse(" Europe/Berlin ").unwrap();
        assert_eq!(tz.tz(), Tz::Europe__Berlin);
    }

    #[test]
    fn refuses_unknown_names() {
        assert_eq!(TimeZoneName::parse("").unwrap_err().code, "required");
        for bad in ["Mars/Olympus", "Europe/Berlinn", "GMT+25", "europe berlin"] {
            assert_eq!(TimeZoneName::parse(bad).unwrap_err().code, "unknown_timezone", "{bad:?}");
        }
    }

    #[test]
    fn serde_is_plain_string() {
        let tz = TimeZoneName::parse("Europe/Berlin").unwrap();
        assert_eq!(serde_json::to_string(&tz).unwrap(), "\"Europe/Berlin\"");
        assert_eq!(serde_json::from_str::<TimeZoneName>("\"Europe/Berlin\"").unwrap(), tz);
        assert!(serde_json::from_str::<TimeZoneName>("\"Nowhere\"").is_err());
    }
}
