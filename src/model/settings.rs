//! An account's security settings (R10, R24, R27, R31, R33, R34) as stored: password policy,
//! sign-in lockout, session timeouts, who must have a second factor, when to ask for a CAPTCHA.
//! One JSON document with the account, edited as a whole. The rules that check them live with
//! their capability (`accounts::security`, `passwords::policy`, `captcha::policy`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SecuritySettings {
    pub password_policy: PasswordPolicy,
    pub lockout: LockoutPolicy,
    pub sessions: SessionPolicy,
    pub second_factor: SecondFactorPolicy,
    /// When sign-in asks for a CAPTCHA (R31).
    pub captcha: CaptchaPolicy,
    /// How long an invitation's link works (R19).
    pub invitations: InvitationPolicy,
}

/// R19: an invitation's link works this many days after it was last sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct InvitationPolicy {
    #[schema(minimum = 1, maximum = 90)]
    pub valid_days: u32,
}

impl Default for InvitationPolicy {
    fn default() -> Self {
        InvitationPolicy { valid_days: 7 }
    }
}

pub const INVITATION_DAYS: std::ops::RangeInclusive<u32> = 1..=90;

/// Brute-force protection: a login is locked for `lock_minutes` after `max_failures` failed
/// sign-ins within `window_minutes`; an address is refused (429) for as long after
/// `address_max_failures` failures, whatever logins it tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LockoutPolicy {
    #[schema(minimum = 1, maximum = 100)]
    pub max_failures: u32,
    #[schema(minimum = 1, maximum = 1440)]
    pub window_minutes: u32,
    #[schema(minimum = 1, maximum = 1440)]
    pub lock_minutes: u32,
    #[schema(minimum = 5, maximum = 10000)]
    pub address_max_failures: u32,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        // NIST SP 800-63B 5.2.2 allows at most 100 consecutive failures; ten is the common choice.
        LockoutPolicy { max_failures: 10, window_minutes: 15, lock_minutes: 15, address_max_failures: 50 }
    }
}

/// How long sessions live: ended after inactivity (console and phone, R34) and in any case
/// `absolute_hours` after sign-in; with `one_session_per_user`, a second sign-in is refused
/// unless it takes over (R33).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SessionPolicy {
    #[schema(minimum = 5, maximum = 43200)]
    pub console_idle_minutes: u32,
    #[schema(minimum = 5, maximum = 43200)]
    pub phone_idle_minutes: u32,
    #[schema(minimum = 1, maximum = 2160)]
    pub absolute_hours: u32,
    pub one_session_per_user: bool,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            console_idle_minutes: 30,
            phone_idle_minutes: 7 * 24 * 60,
            absolute_hours: 12,
            one_session_per_user: false,
        }
    }
}

pub const IDLE_MINUTES: std::ops::RangeInclusive<u32> = 5..=30 * 24 * 60;
pub const ABSOLUTE_HOURS: std::ops::RangeInclusive<u32> = 1..=90 * 24;

/// Read from the `accounts.security` column; `{}` (a new account) means every default.
impl TryFrom<String> for SecuritySettings {
    type Error = serde_json::Error;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        serde_json::from_str(&text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordPolicy {
    /// Fewest characters (Unicode characters, not bytes).
    #[schema(minimum = 6, maximum = 64, default = 8)]
    pub min_length: u32,
    /// Most characters; at least 64 and at least `min_length`.
    #[schema(minimum = 64, maximum = 256, default = 128)]
    pub max_length: u32,
    pub require_lowercase: bool,
    pub require_uppercase: bool,
    /// Any Unicode digit or number counts.
    pub require_digit: bool,
    /// Anything that is not a letter or a number counts, space included.
    pub require_symbol: bool,
    /// Refuse passwords containing the login or the email's local part (case-insensitive;
    /// only when that is at least 3 characters long).
    #[schema(default = true)]
    pub forbid_login: bool,
    /// Refuse the 100,000 most common passwords.
    #[schema(default = true)]
    pub forbid_common: bool,
    /// How many previous passwords may not be reused; 0 allows any.
    #[schema(minimum = 0, maximum = 24, default = 5)]
    pub history: u32,
    /// Months after which a password must be changed (R24); none = never.
    #[schema(minimum = 1, maximum = 12)]
    pub expiry_months: Option<u32>,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 8,
            max_length: 128,
            require_lowercase: false,
            require_uppercase: false,
            require_digit: false,
            require_symbol: false,
            forbid_login: true,
            forbid_common: true,
            history: 5,
            expiry_months: None,
        }
    }
}

/// When a sign-in must answer a CAPTCHA before its password is checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CaptchaPolicy {
    /// Every sign-in to the account.
    pub always: bool,
    /// Sign-ins from an address with this many failed sign-ins within the lockout window
    /// (`lockout.window_minutes`); 0 = never. Below `lockout.address_max_failures`, where the
    /// address is refused altogether.
    pub after_address_failures: u32,
}

/// The account's second-factor policy (part of its security settings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SecondFactorPolicy {
    /// `admins` (R27, the minimum) or `everyone`: who must have a second factor. Someone who
    /// must and has none sets up the authenticator at their next sign-in.
    pub required_for: RequiredFor,
    /// How long an emailed code is good for.
    #[schema(minimum = 2, maximum = 60)]
    pub email_code_minutes: u32,
}

impl Default for SecondFactorPolicy {
    fn default() -> Self {
        SecondFactorPolicy { required_for: RequiredFor::Admins, email_code_minutes: 10 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequiredFor {
    Admins,
    Everyone,
}

pub const EMAIL_CODE_MINUTES: std::ops::RangeInclusive<u32> = 2..=60;

/// How times are shown in the console (R7): a user's own choice, else their account's default,
/// else UTC, YYYY/MM/DD and 24 h. Each `None` follows the next level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeDisplay {
    pub time_zone: Option<crate::domain::TimeZoneName>,
    pub date_format: Option<crate::domain::DateFormat>,
    pub time_format: Option<crate::domain::TimeFormat>,
}

impl TimeDisplay {
    /// From stored text (values were checked when written; one that no longer parses follows
    /// the next level rather than fail a page).
    pub fn from_stored(time_zone: Option<&str>, date_format: Option<&str>, time_format: Option<&str>) -> Self {
        TimeDisplay {
            time_zone: time_zone.and_then(|t| crate::domain::TimeZoneName::parse(t).ok()),
            date_format: date_format.and_then(|d| crate::domain::DateFormat::parse(d).ok()),
            time_format: time_format.and_then(|t| crate::domain::TimeFormat::parse(t).ok()),
        }
    }

    /// Each part of this one, else `fallback`'s.
    pub fn or(self, fallback: TimeDisplay) -> TimeDisplay {
        TimeDisplay {
            time_zone: self.time_zone.or(fallback.time_zone),
            date_format: self.date_format.or(fallback.date_format),
            time_format: self.time_format.or(fallback.time_format),
        }
    }
}
