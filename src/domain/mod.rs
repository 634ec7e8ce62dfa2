//! Input-parsing newtypes ("parse, don't validate").
//!
//! Every type here can only be built through `parse`, so holding a value is proof that the
//! input satisfied the corresponding rule. Refusals are reported as [`Invalid`]: a stable
//! machine code plus a human sentence naming the rule (phrased so it can follow a field
//! label, e.g. "Login must not contain '@'").

/// Implements the string-like plumbing shared by the newtypes, given that the type has
/// `fn parse(&str) -> Result<Self, Invalid>` and `fn as_str(&self) -> &str`:
/// `Display`, `AsRef<str>`, `FromStr`, `TryFrom<String>`, `TryFrom<&str>`,
/// `From<T> for String`, and serde as the plain string (deserializing through `parse`).
macro_rules! string_newtype {
    ($ty:ident) => {
        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::convert::AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl ::std::str::FromStr for $ty {
            type Err = $crate::domain::Invalid;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl ::std::convert::TryFrom<String> for $ty {
            type Error = $crate::domain::Invalid;
            fn try_from(s: String) -> ::std::result::Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl ::std::convert::TryFrom<&str> for $ty {
            type Error = $crate::domain::Invalid;
            fn try_from(s: &str) -> ::std::result::Result<Self, Self::Error> {
                Self::parse(s)
            }
        }

        impl ::std::convert::From<$ty> for String {
            fn from(v: $ty) -> String {
                v.as_str().to_owned()
            }
        }

        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                let s = <String as ::serde::Deserialize>::deserialize(deserializer)?;
                Self::parse(&s).map_err(<D::Error as ::serde::de::Error>::custom)
            }
        }
    };
}

pub mod access_rules;
mod countries;
mod email;
mod extension;
mod formats;
pub mod issues;
mod login;
pub mod period;
mod phone;
mod realm;
mod sip;
mod slug;
mod text;
mod timezone;

pub use email::Email;
pub use extension::Extension;
pub use formats::{DateFormat, PhoneTopology, TimeFormat};
pub use login::Login;
pub use phone::E164Phone;
pub use realm::SipRealm;
pub use sip::SipUsername;
pub use slug::Slug;
pub use text::{Description, EntityName, PersonName, ShortText};
pub use timezone::TimeZoneName;

/// For a field of a change that may be left out or sent as `null`: `Some(None)` for an explicit
/// `null`, `None` (with `#[serde(default)]`) for an absent field.
pub(crate) fn present<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    use serde::Deserialize;
    Option::<T>::deserialize(d).map(Some)
}

/// Why a value was refused: a stable machine code (snake_case, e.g. "too_long",
/// "invalid_chars") and a human sentence naming the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    pub code: &'static str,
    pub message: String,
}

impl Invalid {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    /// `required`: the value is empty (after trimming, where the type trims).
    pub(crate) fn required() -> Self {
        Self::new("required", "is required")
    }

    /// `too_long`: more than `max` characters.
    pub(crate) fn too_long(max: usize) -> Self {
        Self::new("too_long", format!("must be at most {max} characters"))
    }

    /// `invalid_chars`: a character outside the allowed set.
    pub(crate) fn chars(message: impl Into<String>) -> Self {
        Self::new("invalid_chars", message)
    }

    /// `invalid_format`: the characters are allowed but the shape is wrong.
    pub(crate) fn format(message: impl Into<String>) -> Self {
        Self::new("invalid_format", message)
    }
}

/// Refuses empty input and input longer than `max` characters (counted as `char`s).
fn check_len(s: &str, max: usize) -> Result<(), Invalid> {
    if s.is_empty() {
        return Err(Invalid::required());
    }
    if s.chars().count() > max {
        return Err(Invalid::too_long(max));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_displays_its_message() {
        let e = Invalid::new("too_long", "must be at most 3 characters");
        assert_eq!(e.to_string(), "must be at most 3 characters");
        assert_eq!(e.code, "too_long");
    }

    #[test]
    fn check_len_counts_chars_not_bytes() {
        assert!(check_len("ééé", 3).is_ok());
        assert_eq!(check_len("éééé", 3).unwrap_err().code, "too_long");
        assert_eq!(check_len("", 3).unwrap_err().code, "required");
    }
}
