//! An account's password policy (R10, R24), with NIST SP 800-63B's defaults: a length floor,
//! a generous ceiling, a blocklist of common passwords, no composition rules unless an admin
//! asks for them (they push people to "Password1!" rather than to stronger passwords).

use super::common;
use crate::model::settings::PasswordPolicy;

/// Allowed values, shared by `validate` and the API schema.
const MIN_LENGTH: (u32, u32) = (6, 64);
/// NIST: verifiers should permit at least 64 characters.
const MAX_LENGTH_FLOOR: u32 = 64;
const MAX_LENGTH_CEILING: u32 = 256;
const HISTORY_MAX: u32 = 24;
const EXPIRY_MONTHS: (u32, u32) = (1, 12);
/// Shorter logins (or email local parts) would forbid too much: "al" is in many passwords.
const LOGIN_MIN_CHARS: usize = 3;

/// One rule a candidate password broke: a stable code and a sentence that can follow the
/// field's label ("Password must be at least 8 characters").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub rule: &'static str,
    pub message: String,
}

impl Refusal {
    fn new(rule: &'static str, message: impl Into<String>) -> Self {
        Self { rule, message: message.into() }
    }
}

impl From<Refusal> for crate::domain::Invalid {
    fn from(r: Refusal) -> Self {
        crate::domain::Invalid::new(r.rule, r.message)
    }
}

/// A field of a policy that is out of its range: (field, code, message).
pub type PolicyError = (&'static str, &'static str, String);

impl PasswordPolicy {
    /// Sanity of an admin-entered policy; every bad field is reported, each with the code
    /// `out_of_range`.
    pub fn validate(&self) -> Result<(), Vec<PolicyError>> {
        let mut errors = Vec::new();
        let mut range = |field: &'static str, value: u32, (lo, hi): (u32, u32)| {
            if !(lo..=hi).contains(&value) {
                errors.push((field, "out_of_range", format!("must be between {lo} and {hi}")));
            }
        };
        range("min_length", self.min_length, MIN_LENGTH);
        range("max_length", self.max_length, (self.min_length.max(MAX_LENGTH_FLOOR), MAX_LENGTH_CEILING));
        range("history", self.history, (0, HISTORY_MAX));
        if let Some(months) = self.expiry_months {
            range("expiry_months", months, EXPIRY_MONTHS);
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }

    /// Checks a candidate password; returns every rule that failed, in the order the rules
    /// are listed (length, composition, login, common), so a form can show them all at once.
    /// Password history is checked by the caller, which has the previous hashes.
    pub fn check(&self, password: &str, login: &str, email: Option<&str>) -> Result<(), Vec<Refusal>> {
        let mut refusals = Vec::new();
        let length = password.chars().count();
        if length < self.min_length as usize {
            refusals.push(Refusal::new("too_short", format!("must be at least {} characters", self.min_length)));
        }
        if length > self.max_length as usize {
            refusals.push(Refusal::new("too_long", format!("must be at most {} characters", self.max_length)));
        }
        let has = |class: fn(char) -> bool| password.chars().any(class);
        if self.require_lowercase && !has(char::is_lowercase) {
            refusals.push(Refusal::new("missing_lowercase", "must contain a lowercase letter"));
        }
        if self.require_uppercase && !has(char::is_uppercase) {
            refusals.push(Refusal::new("missing_uppercase", "must contain an uppercase letter"));
        }
        if self.require_digit && !has(char::is_numeric) {
            refusals.push(Refusal::new("missing_digit", "must contain a digit"));
        }
        if self.require_symbol && !has(is_symbol) {
            refusals.push(Refusal::new(
                "missing_symbol",
                "must contain a symbol (a character other than a letter or digit)",
            ));
        }
        if self.forbid_login && contains_identity(password, login, email) {
            refusals
                .push(Refusal::new("contains_login", "must not contain your login or the name in your email address"));
        }
        if self.forbid_common && common::is_common(password) {
            refusals.push(Refusal::new("common", "is one of the 100,000 most common passwords"));
        }
        if refusals.is_empty() { Ok(()) } else { Err(refusals) }
    }

    /// One line a form shows under the password field, e.g. "8 to 128 characters, with a
    /// digit, not a common password, not your login, not one of your last 5 passwords".
    pub fn describe(&self) -> String {
        let mut parts = vec![format!("{} to {} characters", self.min_length, self.max_length)];
        let classes: Vec<&str> = [
            (self.require_lowercase, "a lowercase letter"),
            (self.require_uppercase, "an uppercase letter"),
            (self.require_digit, "a digit"),
            (self.require_symbol, "a symbol"),
        ]
        .into_iter()
        .filter_map(|(on, what)| on.then_some(what))
        .collect();
        if !classes.is_empty() {
            parts.push(format!("with {}", and_list(&classes)));
        }
        if self.forbid_common {
            parts.push("not a common password".into());
        }
        if self.forbid_login {
            parts.push("not your login".into());
        }
        match self.history {
            0 => {}
            1 => parts.push("not your last password".into()),
            n => parts.push(format!("not one of your last {n} passwords")),
        }
        parts.join(", ")
    }
}

fn is_symbol(c: char) -> bool {
    !c.is_alphanumeric()
}

/// Whether the password contains the login or the email's local part, ignoring case.
fn contains_identity(password: &str, login: &str, email: Option<&str>) -> bool {
    let password = password.to_lowercase();
    let local_part = email.and_then(|e| e.rsplit_once('@')).map(|(local, _)| local);
    [Some(login), local_part].into_iter().flatten().any(|name| {
        let name = name.trim().to_lowercase();
        name.chars().count() >= LOGIN_MIN_CHARS && password.contains(&name)
    })
}

/// "a", "a and b", "a, b and c".
fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(result: Result<(), Vec<Refusal>>) -> Vec<&'static str> {
        result.err().unwrap_or_default().into_iter().map(|r| r.rule).collect()
    }

    fn strict() -> PasswordPolicy {
        PasswordPolicy {
            require_lowercase: true,
            require_uppercase: true,
            require_digit: true,
            require_symbol: true,
            ..PasswordPolicy::default()
        }
    }

    #[test]
    fn defaults_follow_nist() {
        let p = PasswordPolicy::default();
        assert_eq!((p.min_length, p.max_length, p.history, p.expiry_months), (8, 128, 5, None));
        assert!(p.forbid_login && p.forbid_common);
        assert!(!(p.require_lowercase || p.require_uppercase || p.require_digit || p.require_symbol));
        assert_eq!(p.validate(), Ok(()));
    }

    #[test]
    fn a_long_uncommon_password_passes_the_defaults() {
        assert_eq!(PasswordPolicy::default().check("correct horse battery staple", "alice", None), Ok(()));
    }

    #[test]
    fn length_is_counted_in_characters() {
        let p = PasswordPolicy::default();
        // 6 characters but 12 bytes: short.
        assert_eq!(rules(p.check("жёлтый", "alice", None)), ["too_short"]);
        assert_eq!(p.check("жёлтыйкот", "alice", None), Ok(()));
        assert_eq!(rules(p.check("zq9!xw", "alice", None)), ["too_short"]);
        let long: String = "é".repeat(129);
        assert_eq!(rules(p.check(&long, "alice", None)), ["too_long"]);
        assert_eq!(p.check(&"é".repeat(128), "alice", None), Ok(()));
    }

    #[test]
    fn messages_name_the_limits() {
        let p = PasswordPolicy { min_length: 12, ..PasswordPolicy::default() };
        let refusals = p.check("zq9!xwv", "alice", None).unwrap_err();
        assert_eq!(refusals, [Refusal::new("too_short", "must be at least 12 characters")]);
        let refusals = p.check(&"k".repeat(129), "alice", None).unwrap_err();
        assert_eq!(refusals[0].message, "must be at most 128 characters");
    }

    #[test]
    fn composition_rules_apply_only_when_asked() {
        assert_eq!(
            rules(strict().check("zzzzzzzzzzzz", "alice", None)),
            ["missing_uppercase", "missing_digit", "missing_symbol"]
        );
        assert_eq!(
            rules(strict().check("ZZZZZZZZZZZZ", "alice", None)),
            ["missing_lowercase", "missing_digit", "missing_symbol"]
        );
        assert_eq!(strict().check("Zebra-crossing-9", "alice", None), Ok(()));
        // A space is a symbol; non-ASCII letters are letters.
        assert_eq!(strict().check("Ünïcode zebra 9", "alice", None), Ok(()));
    }

    #[test]
    fn every_failed_rule_is_reported_in_order() {
        let p = PasswordPolicy { min_length: 20, ..strict() };
        assert_eq!(
            rules(p.check("password", "password", None)),
            ["too_short", "missing_uppercase", "missing_digit", "missing_symbol", "contains_login", "common"]
        );
    }

    #[test]
    fn the_login_and_email_name_are_forbidden_ignoring_case() {
        let p = PasswordPolicy::default();
        assert_eq!(rules(p.check("my-Alice-rocks", "alice", None)), ["contains_login"]);
        assert_eq!(rules(p.check("xx-BOB.SMITH-xx", "admin", Some("Bob.Smith@example.com"))), ["contains_login"]);
        // Too short to forbid.
        assert_eq!(p.check("i-am-al-zzzz", "al", Some("al@example.com")), Ok(()));
        let allowed = PasswordPolicy { forbid_login: false, ..PasswordPolicy::default() };
        assert_eq!(allowed.check("my-Alice-rocks", "alice", None), Ok(()));
    }

    #[test]
    fn common_passwords_are_refused_unless_allowed() {
        let p = PasswordPolicy::default();
        let refusals = p.check("Password1", "alice", None).unwrap_err();
        assert_eq!(refusals, [Refusal::new("common", "is one of the 100,000 most common passwords")]);
        let allowed = PasswordPolicy { forbid_common: false, ..PasswordPolicy::default() };
        assert_eq!(allowed.check("Password1", "alice", None), Ok(()));
    }

    #[test]
    fn validate_reports_every_field_out_of_range() {
        let p = PasswordPolicy {
            min_length: 5,
            max_length: 300,
            history: 25,
            expiry_months: Some(0),
            ..Default::default()
        };
        let fields: Vec<_> = p.validate().unwrap_err().into_iter().map(|(f, code, _)| (f, code)).collect();
        assert_eq!(
            fields,
            [
                ("min_length", "out_of_range"),
                ("max_length", "out_of_range"),
                ("history", "out_of_range"),
                ("expiry_months", "out_of_range")
            ]
        );
        let p = PasswordPolicy { expiry_months: Some(13), ..Default::default() };
        assert_eq!(p.validate().unwrap_err()[0].2, "must be between 1 and 12");
    }

    #[test]
    fn validate_bounds() {
        let ok = |p: PasswordPolicy| p.validate().is_ok();
        let d = PasswordPolicy::default;
        assert!(ok(PasswordPolicy { min_length: 6, max_length: 64, history: 0, expiry_months: Some(1), ..d() }));
        assert!(ok(PasswordPolicy { min_length: 64, max_length: 256, history: 24, expiry_months: Some(12), ..d() }));
        // NIST: allow at least 64 characters.
        assert!(!ok(PasswordPolicy { max_length: 63, ..d() }));
        assert!(!ok(PasswordPolicy { min_length: 65, max_length: 256, ..d() }));
        let err = PasswordPolicy { max_length: 10, ..d() }.validate().unwrap_err();
        assert_eq!(err, [("max_length", "out_of_range", "must be between 64 and 256".to_owned())]);
    }

    #[test]
    fn describe_lists_what_applies() {
        assert_eq!(
            PasswordPolicy::default().describe(),
            "8 to 128 characters, not a common password, not your login, not one of your last 5 passwords"
        );
        let p = PasswordPolicy { history: 0, forbid_login: false, forbid_common: false, ..strict() };
        assert_eq!(
            p.describe(),
            "8 to 128 characters, with a lowercase letter, an uppercase letter, a digit and a symbol"
        );
        let p = PasswordPolicy { require_digit: true, history: 1, forbid_common: false, ..Default::default() };
        assert_eq!(p.describe(), "8 to 128 characters, with a digit, not your login, not your last password");
    }

    #[test]
    fn serde_fills_defaults_and_refuses_unknown_fields() {
        let p: PasswordPolicy = serde_json::from_str(r#"{"min_length": 10, "expiry_months": 3}"#).unwrap();
        assert_eq!(p, PasswordPolicy { min_length: 10, expiry_months: Some(3), ..Default::default() });
        assert!(serde_json::from_str::<PasswordPolicy>(r#"{"min_lenght": 10}"#).is_err());
        let back: PasswordPolicy = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }
}
