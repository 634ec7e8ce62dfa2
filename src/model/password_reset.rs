//! Why a forgot-password link stopped working, as its row stores it.

/// The end of a reset link (`password_resets.end_reason`); a live link has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetLinkEnd {
    /// It set a new password.
    Used,
    /// A newer link was sent.
    Replaced,
    /// The password was changed some other way.
    PasswordChanged,
    /// The address it was sent to is no longer the user's.
    EmailChanged,
}

impl ResetLinkEnd {
    pub const ALL: [ResetLinkEnd; 4] =
        [ResetLinkEnd::Used, ResetLinkEnd::Replaced, ResetLinkEnd::PasswordChanged, ResetLinkEnd::EmailChanged];

    pub fn as_str(self) -> &'static str {
        match self {
            ResetLinkEnd::Used => "used",
            ResetLinkEnd::Replaced => "replaced",
            ResetLinkEnd::PasswordChanged => "password_changed",
            ResetLinkEnd::EmailChanged => "email_changed",
        }
    }
}

super::stored_as_text!(ResetLinkEnd, "reset link end");
