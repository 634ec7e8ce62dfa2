//! Who must show a second factor, which methods they are offered, and when a sign-in is
//! suspicious (R26–R28).

use crate::model::settings::{RequiredFor, SecondFactorPolicy};
use crate::model::user::{TwoFactorMethod, TwoFactorMode, UserRecord};
use crate::store::second_factor::Familiarity;

/// Wrong codes one sign-in may try before it has to start again with the password.
pub const MAX_WRONG_CODES: i64 = 5;
/// Emailed codes one sign-in may ask for, and the pause between two.
pub const MAX_EMAIL_CODES: i64 = 5;
pub const EMAIL_RESEND_MS: i64 = 30_000;

/// What a sign-in that passed the password still needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    Nothing,
    /// Set up the authenticator now (R29), for this reason.
    Setup(&'static str),
    /// Show a second factor by one of these methods; the reason is `always` or what was new.
    Code {
        methods: Vec<&'static str>,
        reason: String,
    },
}

/// Why a sign-in is suspicious (R30): what about it is new. Empty when nothing is.
pub fn suspicious_reasons(f: &Familiarity) -> Vec<&'static str> {
    let mut reasons = Vec::new();
    if !f.known_device {
        reasons.push("new_device");
    }
    if !f.known_address {
        reasons.push("new_address");
    }
    if f.known_country == Some(false) {
        reasons.push("new_country");
    }
    reasons
}

/// Decides the second-factor step of a sign-in. `familiarity` is only looked up (and passed)
/// for a user in the suspicious mode.
pub fn need(
    policy: &SecondFactorPolicy,
    user: &UserRecord,
    is_admin: bool,
    has_recovery_codes: bool,
    familiarity: Option<&Familiarity>,
) -> Need {
    let enrolled = user.totp_confirmed_at.is_some();
    let required = is_admin || policy.required_for == RequiredFor::Everyone;
    let method = match user.two_factor_method {
        // D6: an admin with an authenticator is asked for it, whatever their method: emailed
        // codes alone never sign an admin in.
        _ if admin_uses_authenticator(user, is_admin) => TwoFactorMethod::Totp,
        // An authenticator still set up is asked for: turning the method off and on again must
        // not let a password alone set up a new one.
        TwoFactorMethod::Disabled if required && enrolled => TwoFactorMethod::Totp,
        TwoFactorMethod::Disabled if required => {
            return Need::Setup(if is_admin { "admin_required" } else { "account_required" });
        }
        TwoFactorMethod::Disabled => return Need::Nothing,
        TwoFactorMethod::Totp if !enrolled => return Need::Setup("not_set_up"),
        // Email is a second factor already: the authenticator is set up from My Account.
        TwoFactorMethod::Either if !enrolled && user.email.is_some() => TwoFactorMethod::Email,
        TwoFactorMethod::Either if !enrolled => return Need::Setup("not_set_up"),
        m => m,
    };
    // R27: an admin's second factor is asked at every sign-in.
    let mode = if is_admin { TwoFactorMode::Always } else { user.two_factor_mode };
    let reason = match (mode, familiarity) {
        (TwoFactorMode::Suspicious, Some(f)) => {
            let reasons = suspicious_reasons(f);
            if reasons.is_empty() {
                return Need::Nothing;
            }
            reasons.join(",")
        }
        _ => "always".to_string(),
    };
    let mut methods = Vec::new();
    if method.uses_totp() {
        methods.push("totp");
    }
    if method.uses_email() {
        methods.push("email");
    }
    if has_recovery_codes {
        methods.push("recovery_code");
    }
    Need::Code { methods, reason }
}

/// D6: an admin (R27's sense) who has an authenticator set up signs in with it (or a recovery
/// code), never with an emailed code, whatever their method and mode.
pub fn admin_uses_authenticator(user: &UserRecord, is_admin: bool) -> bool {
    is_admin && user.totp_confirmed_at.is_some()
}

/// The methods a second-factor step of this user accepts now: what `need` offers them, in any
/// mode (a step was asked for already). Recovery codes are always among them (a code is checked
/// against the user's unused ones); they are all that is left when the user has no other code
/// to show any more (their authenticator was reset since the step began, say).
pub fn accepted_methods(policy: &SecondFactorPolicy, user: &UserRecord, is_admin: bool) -> Vec<&'static str> {
    match need(policy, user, is_admin, true, None) {
        Need::Code { methods, .. } => methods,
        Need::Nothing | Need::Setup(_) => vec!["recovery_code"],
    }
}

/// `a•••@example.com`: enough for the user to know where to look, not a way to learn addresses.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(method: &str, mode: &str, enrolled: bool) -> UserRecord {
        let mut u = UserRecord::sample();
        u.two_factor_method = TwoFactorMethod::parse(method).expect("a method");
        u.two_factor_mode = TwoFactorMode::parse(mode).expect("a mode");
        u.totp_confirmed_at = enrolled.then_some(1);
        u
    }

    fn familiar(address: bool, device: bool, country: Option<bool>) -> Familiarity {
        Familiarity { known_address: address, known_device: device, known_country: country, any_history: true }
    }

    #[test]
    fn admins_and_required_accounts_must_set_up_the_authenticator() {
        let p = SecondFactorPolicy::default();
        assert_eq!(need(&p, &user("disabled", "always", false), true, false, None), Need::Setup("admin_required"));
        assert_eq!(need(&p, &user("disabled", "always", false), false, false, None), Need::Nothing);
        let everyone = SecondFactorPolicy { required_for: RequiredFor::Everyone, ..p.clone() };
        assert_eq!(
            need(&everyone, &user("disabled", "always", false), false, false, None),
            Need::Setup("account_required")
        );
        assert_eq!(need(&p, &user("totp", "always", false), false, false, None), Need::Setup("not_set_up"));
        assert_eq!(need(&p, &user("either", "suspicious", false), false, false, None), Need::Setup("not_set_up"));
        // Turned off and on again with the authenticator kept: its code is asked, not a new set-up.
        match need(&p, &user("disabled", "always", true), true, false, None) {
            Need::Code { methods, .. } => assert_eq!(methods, vec!["totp"]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn methods_offered_follow_the_user_s_method() {
        let p = SecondFactorPolicy::default();
        let code = |u: &UserRecord, rc| match need(&p, u, false, rc, None) {
            Need::Code { methods, reason } => (methods, reason),
            other => panic!("{other:?}"),
        };
        assert_eq!(code(&user("totp", "always", true), true), (vec!["totp", "recovery_code"], "always".into()));
        assert_eq!(code(&user("email", "always", false), false), (vec!["email"], "always".into()));
        assert_eq!(code(&user("either", "always", true), true).0, vec!["totp", "email", "recovery_code"]);
    }

    #[test]
    fn the_suspicious_mode_asks_only_when_something_is_new() {
        let p = SecondFactorPolicy::default();
        let u = user("totp", "suspicious", true);
        assert_eq!(need(&p, &u, false, false, Some(&familiar(true, true, Some(true)))), Need::Nothing);
        assert_eq!(need(&p, &u, false, false, Some(&familiar(true, true, None))), Need::Nothing);
        match need(&p, &u, false, false, Some(&familiar(false, true, Some(false)))) {
            Need::Code { reason, .. } => assert_eq!(reason, "new_address,new_country"),
            other => panic!("{other:?}"),
        }
        match need(&p, &u, false, false, Some(&familiar(true, false, Some(true)))) {
            Need::Code { reason, .. } => assert_eq!(reason, "new_device"),
            other => panic!("{other:?}"),
        }
        // R27: not for an admin, whatever their mode.
        assert!(matches!(need(&p, &u, true, false, Some(&familiar(true, true, Some(true)))), Need::Code { .. }));
    }

    #[test]
    fn an_admin_with_an_authenticator_is_asked_for_it_whatever_the_method_and_mode() {
        let p = SecondFactorPolicy::default();
        let unknown_device = familiar(false, false, Some(false));
        let known_device = familiar(true, true, Some(true));
        for method in ["email", "either", "totp", "disabled"] {
            for mode in ["always", "suspicious"] {
                let u = user(method, mode, true);
                for f in [None, Some(&known_device), Some(&unknown_device)] {
                    match need(&p, &u, true, true, f) {
                        Need::Code { methods, reason } => {
                            assert_eq!(methods, vec!["totp", "recovery_code"], "{method}/{mode}");
                            assert_eq!(reason, "always", "{method}/{mode}");
                        }
                        other => panic!("{method}/{mode}: {other:?}"),
                    }
                }
                assert_eq!(accepted_methods(&p, &u, true), vec!["totp", "recovery_code"], "{method}/{mode}");
            }
        }
        // Not an admin: "either" and "email" keep the emailed code.
        assert_eq!(
            accepted_methods(&p, &user("either", "always", true), false),
            vec!["totp", "email", "recovery_code"]
        );
        assert_eq!(accepted_methods(&p, &user("email", "suspicious", true), false), vec!["email", "recovery_code"]);
        // An admin without an authenticator keeps today's way (R27: email until they set one up).
        assert_eq!(accepted_methods(&p, &user("email", "always", false), true), vec!["email", "recovery_code"]);
        let with_email = UserRecord { email: Some("ann@example.com".into()), ..user("either", "always", false) };
        assert_eq!(
            need(&p, &with_email, true, false, None),
            Need::Code { methods: vec!["email"], reason: "always".into() }
        );
        assert_eq!(accepted_methods(&p, &user("disabled", "always", false), true), vec!["recovery_code"]);
    }

    #[test]
    fn emails_are_masked() {
        assert_eq!(mask_email("ann@example.com"), "a•••@example.com");
    }
}
