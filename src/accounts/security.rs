//! An account's security settings (R10, R24, R27, R33, R34): password policy, sign-in lockout,
//! session timeouts and who must have a second factor. Stored as one JSON document with the account and edited as a whole.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::Issues;
use crate::passwords::PasswordPolicy;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SecuritySettings {
    pub password_policy: PasswordPolicy,
    pub lockout: LockoutPolicy,
    pub sessions: SessionPolicy,
    pub second_factor: crate::second_factor::SecondFactorPolicy,
    /// When sign-in asks for a CAPTCHA (R31).
    pub captcha: crate::captcha::CaptchaPolicy,
}

/// Brute-force protection: a login is locked for `lock_minutes` after `max_failures` failed
/// sign-ins within `window_minutes`; an address is refused (429) for as long after
/// `address_max_failures` failures, whatever logins it tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LockoutPolicy {
    pub max_failures: u32,
    pub window_minutes: u32,
    pub lock_minutes: u32,
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
    pub console_idle_minutes: u32,
    pub phone_idle_minutes: u32,
    pub absolute_hours: u32,
    pub one_session_per_user: bool,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy { console_idle_minutes: 30, phone_idle_minutes: 7 * 24 * 60, absolute_hours: 12, one_session_per_user: false }
    }
}

pub const IDLE_MINUTES: std::ops::RangeInclusive<u32> = 5..=30 * 24 * 60;
pub const ABSOLUTE_HOURS: std::ops::RangeInclusive<u32> = 1..=90 * 24;

impl SecuritySettings {
    /// Every problem, with the field's path in the document (`lockout.max_failures`).
    pub fn validate(&self) -> Issues {
        let mut issues = Issues::new();
        if let Err(problems) = self.password_policy.validate() {
            for (field, code, message) in problems {
                issues.add(&format!("password_policy.{field}"), code, message);
            }
        }
        let mut range = |field: &str, value: u32, allowed: std::ops::RangeInclusive<u32>| {
            if !allowed.contains(&value) {
                issues.add(field, "out_of_range", format!("must be between {} and {}", allowed.start(), allowed.end()));
            }
        };
        range("lockout.max_failures", self.lockout.max_failures, 1..=100);
        range("lockout.window_minutes", self.lockout.window_minutes, 1..=24 * 60);
        range("lockout.lock_minutes", self.lockout.lock_minutes, 1..=24 * 60);
        range("lockout.address_max_failures", self.lockout.address_max_failures, 5..=10_000);
        range("sessions.console_idle_minutes", self.sessions.console_idle_minutes, IDLE_MINUTES);
        range("sessions.phone_idle_minutes", self.sessions.phone_idle_minutes, IDLE_MINUTES);
        range("sessions.absolute_hours", self.sessions.absolute_hours, ABSOLUTE_HOURS);
        range("second_factor.email_code_minutes", self.second_factor.email_code_minutes, crate::second_factor::EMAIL_CODE_MINUTES);
        self.captcha.validate(&self.lockout, &mut issues);
        issues
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("settings serialize")
    }
}

/// Read from the `accounts.security` column; `{}` (a new account) means every default.
impl TryFrom<String> for SecuritySettings {
    type Error = serde_json::Error;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        serde_json::from_str(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_document_is_every_default_and_valid() {
        let s = SecuritySettings::try_from("{}".to_string()).unwrap();
        assert_eq!(s, SecuritySettings::default());
        assert!(s.validate().is_empty());
        assert_eq!(SecuritySettings::try_from(s.to_json()).unwrap(), s);
    }

    #[test]
    fn out_of_range_values_are_named_by_path() {
        let mut s = SecuritySettings::default();
        s.lockout.max_failures = 0;
        s.sessions.absolute_hours = 100_000;
        let fields: Vec<String> = s.validate().into_result().unwrap_err().field_issues().into_iter().map(|i| i.field).collect();
        assert_eq!(fields, ["lockout.max_failures", "sessions.absolute_hours"]);
    }
}
