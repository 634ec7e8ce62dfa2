//! The account's CAPTCHA policy (R31), a section of its security settings. A user's own flag
//! (`captcha_required`, set in `…/users/{id}/security`) asks for it whatever this says.

use crate::error::Issues;
use crate::model::settings::CaptchaPolicy;
use crate::model::settings::LockoutPolicy;

impl CaptchaPolicy {
    pub fn validate(&self, lockout: &LockoutPolicy, issues: &mut Issues) {
        let n = self.after_address_failures;
        if n != 0 && n >= lockout.address_max_failures {
            issues.add(
                "captcha.after_address_failures",
                "out_of_range",
                format!(
                    "must be 0 (never) or below lockout.address_max_failures ({}), where the address is refused altogether",
                    lockout.address_max_failures
                ),
            );
        }
    }

    /// Whether the policy asks a sign-in from an address with `address_failures` recent failures.
    pub fn applies(&self, address_failures: i64) -> bool {
        self.always || (self.after_address_failures > 0 && address_failures >= i64::from(self.after_address_failures))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_by_default_and_on_at_the_threshold() {
        let p = CaptchaPolicy::default();
        assert!(!p.applies(1_000));
        let p = CaptchaPolicy { after_address_failures: 3, ..Default::default() };
        assert!(!p.applies(2));
        assert!(p.applies(3));
        assert!(CaptchaPolicy { always: true, after_address_failures: 0 }.applies(0));
    }

    #[test]
    fn a_threshold_at_or_above_the_address_block_is_refused() {
        let lockout = LockoutPolicy::default();
        let mut issues = Issues::new();
        CaptchaPolicy { after_address_failures: lockout.address_max_failures - 1, ..Default::default() }
            .validate(&lockout, &mut issues);
        assert!(issues.is_empty());
        CaptchaPolicy { after_address_failures: lockout.address_max_failures, ..Default::default() }
            .validate(&lockout, &mut issues);
        let fields: Vec<String> =
            issues.into_result().unwrap_err().field_issues().into_iter().map(|i| i.field).collect();
        assert_eq!(fields, ["captcha.after_address_failures"]);
    }
}
