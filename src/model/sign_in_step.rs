//! The step a sign-in that passed the password still has to take, as its challenge stores it.

/// What a pending sign-in waits for (the login answer's `step`, but for the CAPTCHA, which comes
/// before the password and has no challenge of this kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInStep {
    /// A code: from the authenticator, by email, or a recovery code (R26–R30).
    SecondFactor,
    /// The authenticator's set-up, confirmed by a code (R27, R29).
    TotpSetup,
    /// A new password, required by an admin or because the old one expired (R24).
    PasswordChange,
}

impl SignInStep {
    pub const ALL: [SignInStep; 3] = [SignInStep::SecondFactor, SignInStep::TotpSetup, SignInStep::PasswordChange];

    pub fn as_str(self) -> &'static str {
        match self {
            SignInStep::SecondFactor => "second_factor",
            SignInStep::TotpSetup => "totp_setup",
            SignInStep::PasswordChange => "password_change",
        }
    }
}

super::stored_as_text!(SignInStep, "sign-in step");

/// How a sign-in proved who it is, as its challenge stores it: the later steps differ (a
/// password change is asked only of a sign-in that used the password).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInMethod {
    Password,
    /// An account's OpenID Connect provider (single sign-on).
    IdentityProvider,
}

impl SignInMethod {
    pub const ALL: [SignInMethod; 2] = [SignInMethod::Password, SignInMethod::IdentityProvider];

    pub fn as_str(self) -> &'static str {
        match self {
            SignInMethod::Password => "password",
            SignInMethod::IdentityProvider => "sso",
        }
    }
}

super::stored_as_text!(SignInMethod, "sign-in method");
