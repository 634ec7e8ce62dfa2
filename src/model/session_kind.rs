//! What a session is for: the web console, a program using the API, or a phone (R34 gives
//! console and phone sessions their own inactivity timeouts).

use crate::model::settings::SecuritySettings;
use crate::model::user::UserRecord;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    Console,
    Api,
    Phone,
}

impl SessionKind {
    pub const ALL: [SessionKind; 3] = [SessionKind::Console, SessionKind::Api, SessionKind::Phone];

    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Console => "console",
            SessionKind::Api => "api",
            SessionKind::Phone => "phone",
        }
    }

    pub fn parse(text: &str) -> Option<SessionKind> {
        SessionKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// How long such a session may stay unused: the user's override, else the account's
    /// default. API sessions have none (programs poll at their own pace); their absolute
    /// lifetime still applies.
    pub fn idle_limit_ms(self, settings: &SecuritySettings, user: &UserRecord) -> Option<i64> {
        let minutes = match self {
            SessionKind::Console => {
                user.console_idle_minutes.unwrap_or(i64::from(settings.sessions.console_idle_minutes))
            }
            SessionKind::Phone => user.phone_idle_minutes.unwrap_or(i64::from(settings.sessions.phone_idle_minutes)),
            SessionKind::Api => return None,
        };
        Some(minutes * 60_000)
    }
}

super::stored_as_text!(SessionKind, "session kind");

/// What a request was signed in with: a session of some kind, or an API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerKind {
    Session(SessionKind),
    ApiToken,
}

impl CallerKind {
    /// `console`, `api`, `phone` or `api_token`.
    pub fn as_str(self) -> &'static str {
        match self {
            CallerKind::Session(kind) => kind.as_str(),
            CallerKind::ApiToken => "api_token",
        }
    }
}
