//! Closed sets of choices, serialized as their exact wire strings.

use super::Invalid;

/// Defines a fieldless enum whose variants map one-to-one to wire strings, with
/// `ALL`, `as_str`, `parse`, `Display`, `FromStr` and serde renames.
macro_rules! choice_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $($variant:ident => $wire:literal),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant,)+
        }

        impl $name {
            /// Every choice, in display order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The exact wire string.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)+
                }
            }

            /// Accepts exactly one of the wire strings (surrounding whitespace is ignored).
            pub fn parse(input: &str) -> Result<Self, Invalid> {
                let s = input.trim();
                Self::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    if s.is_empty() {
                        Invalid::required()
                    } else {
                        Invalid::new(
                            "unknown_choice",
                            format!("must be one of: {}", [$($wire),+].join(", ")),
                        )
                    }
                })
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = Invalid;
            fn from_str(s: &str) -> Result<Self, Invalid> {
                Self::parse(s)
            }
        }

        impl ::std::convert::AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }
    };
}

choice_enum! {
    /// How dates are shown to a user.
    DateFormat {
        MonthDayYear => "MM/DD/YYYY",
        DayMonthYear => "DD/MM/YYYY",
        YearMonthDay => "YYYY/MM/DD",
    }
}

choice_enum! {
    /// How times of day are shown to a user.
    TimeFormat {
        H12 => "12h",
        H24 => "24h",
    }
}

choice_enum! {
    /// How a user's calls reach them.
    PhoneTopology {
        ExternalPhone => "external_phone",
        WebPhone => "web_phone",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_strings_round_trip() {
        for &f in DateFormat::ALL {
            assert_eq!(DateFormat::parse(f.as_str()), Ok(f));
            assert_eq!(serde_json::to_string(&f).unwrap(), format!("\"{f}\""));
            assert_eq!(serde_json::from_str::<DateFormat>(&format!("\"{f}\"")).unwrap(), f);
        }
        for &f in TimeFormat::ALL {
            assert_eq!(TimeFormat::parse(f.as_str()), Ok(f));
            assert_eq!(serde_json::to_string(&f).unwrap(), format!("\"{f}\""));
        }
        for &f in PhoneTopology::ALL {
            assert_eq!(PhoneTopology::parse(f.as_str()), Ok(f));
            assert_eq!(serde_json::to_string(&f).unwrap(), format!("\"{f}\""));
        }
    }

    #[test]
    fn exact_strings() {
        assert_eq!(DateFormat::ALL.len(), 3);
        assert_eq!(DateFormat::parse("YYYY/MM/DD"), Ok(DateFormat::YearMonthDay));
        assert_eq!(DateFormat::DayMonthYear.as_str(), "DD/MM/YYYY");
        assert_eq!(TimeFormat::parse(" 24h "), Ok(TimeFormat::H24));
        assert_eq!(TimeFormat::H12.to_string(), "12h");
        assert_eq!(PhoneTopology::parse("web_phone"), Ok(PhoneTopology::WebPhone));
        assert_eq!(PhoneTopology::ExternalPhone.as_str(), "external_phone");
    }

    #[test]
    fn refuses_other_strings() {
        assert_eq!(DateFormat::parse("").unwrap_err().code, "required");
        let e = DateFormat::parse("mm/dd/yyyy").unwrap_err();
        assert_eq!(e.code, "unknown_choice");
        assert_eq!(e.message, "must be one of: MM/DD/YYYY, DD/MM/YYYY, YYYY/MM/DD");
        assert_eq!(TimeFormat::parse("24").unwrap_err().code, "unknown_choice");
        assert_eq!(PhoneTopology::parse("WebPhone").unwrap_err().code, "unknown_choice");
        assert!(serde_json::from_str::<TimeFormat>("\"13h\"").is_err());
    }
}
