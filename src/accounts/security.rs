//! An account's security settings (R10, R24, R27, R33, R34): password policy, sign-in lockout,
//! session timeouts and who must have a second factor. Stored as one JSON document with the account and edited as a whole.

use crate::error::Issues;
use crate::model::settings::{ABSOLUTE_HOURS, IDLE_MINUTES, SecuritySettings};

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
        range(
            "second_factor.email_code_minutes",
            self.second_factor.email_code_minutes,
            crate::model::settings::EMAIL_CODE_MINUTES,
        );
        range("invitations.valid_days", self.invitations.valid_days, crate::model::settings::INVITATION_DAYS);
        self.captcha.validate(&self.lockout, &mut issues);
        issues
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("settings serialize")
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
        let fields: Vec<String> =
            s.validate().into_result().unwrap_err().field_issues().into_iter().map(|i| i.field).collect();
        assert_eq!(fields, ["lockout.max_failures", "sessions.absolute_hours"]);
    }
}
