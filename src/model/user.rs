//! What a user is (R1–R8, R11, R17), as stored and as shown.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clock::Timestamp;
use crate::domain::{
    DateFormat, E164Phone, Email, Extension, Login, PersonName, PhoneTopology, ShortText, SipUsername, TimeFormat,
    TimeZoneName,
};
use crate::ids::{AccountId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    Active,
    Disabled,
    /// Invited (R19, the seeds' "Pending"): made by an invitation, not accepted yet. Cannot sign
    /// in; occupies a seat.
    Invited,
}

impl UserStatus {
    pub const ALL: [UserStatus; 3] = [UserStatus::Active, UserStatus::Disabled, UserStatus::Invited];

    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Disabled => "disabled",
            UserStatus::Invited => "invited",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        UserStatus::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

super::stored_as_text!(UserStatus, "user status");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TwoFactorMethod {
    Disabled,
    Email,
    Totp,
    /// The user picks email or authenticator at each sign-in (R30 "both").
    Either,
}

impl TwoFactorMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            TwoFactorMethod::Disabled => "disabled",
            TwoFactorMethod::Email => "email",
            TwoFactorMethod::Totp => "totp",
            TwoFactorMethod::Either => "either",
        }
    }

    pub const ALL: [TwoFactorMethod; 4] =
        [TwoFactorMethod::Disabled, TwoFactorMethod::Email, TwoFactorMethod::Totp, TwoFactorMethod::Either];

    pub fn parse(s: &str) -> Option<Self> {
        TwoFactorMethod::ALL.into_iter().find(|v| v.as_str() == s)
    }

    pub fn uses_email(self) -> bool {
        matches!(self, TwoFactorMethod::Email | TwoFactorMethod::Either)
    }

    pub fn uses_totp(self) -> bool {
        matches!(self, TwoFactorMethod::Totp | TwoFactorMethod::Either)
    }

    pub fn label(self) -> &'static str {
        match self {
            TwoFactorMethod::Disabled => "Disabled",
            TwoFactorMethod::Email => "Email Code",
            TwoFactorMethod::Totp => "OTP Authenticator",
            TwoFactorMethod::Either => "Email or Authenticator",
        }
    }
}

super::stored_as_text!(TwoFactorMethod, "second-factor method");

/// When the second factor is asked for (R30).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TwoFactorMode {
    /// At every sign-in.
    Always,
    /// Only when the sign-in comes from an address, device or country the user has not signed in from.
    Suspicious,
}

impl TwoFactorMode {
    pub const ALL: [TwoFactorMode; 2] = [TwoFactorMode::Always, TwoFactorMode::Suspicious];

    pub fn as_str(self) -> &'static str {
        match self {
            TwoFactorMode::Always => "always",
            TwoFactorMode::Suspicious => "suspicious",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        TwoFactorMode::ALL.into_iter().find(|v| v.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            TwoFactorMode::Always => "At every sign-in",
            TwoFactorMode::Suspicious => "Only for suspicious sign-ins",
        }
    }
}

super::stored_as_text!(TwoFactorMode, "second-factor mode");

/// The boolean flags of R11.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UserFlags {
    pub receive_email: bool,
    pub receive_sms: bool,
    pub is_agent: bool,
    pub is_supervisor: bool,
    /// Platform operator: manages every account. Only a platform operator may grant it.
    pub is_superuser: bool,
    pub is_end_user: bool,
    pub is_company_supervisor: bool,
}

/// Every editable field of a user, each already parsed by its rule. Serialised, its keys are the
/// field names every place that handles a user field uses (flags flattened); a unit test in
/// `users::service` checks each place against them.
#[derive(Debug, Clone, Serialize)]
pub struct UserFields {
    pub login: Login,
    pub email: Option<Email>,
    pub first_name: Option<PersonName>,
    pub last_name: Option<PersonName>,
    pub phone: Option<E164Phone>,
    pub mobile: Option<E164Phone>,
    pub extension: Option<Extension>,
    pub sip_username: Option<SipUsername>,
    pub phone_topology: Option<PhoneTopology>,
    pub company: Option<ShortText>,
    pub related_contact: Option<ShortText>,
    pub external_id: Option<ShortText>,
    pub time_zone: Option<TimeZoneName>,
    pub date_format: Option<DateFormat>,
    pub time_format: Option<TimeFormat>,
    #[serde(flatten)]
    pub flags: UserFlags,
    pub status: UserStatus,
    pub two_factor_method: TwoFactorMethod,
    pub two_factor_mode: TwoFactorMode,
}

impl UserFields {
    /// A new user with only a login: active (R8), receiving email, every other field empty.
    pub fn new(login: Login) -> Self {
        UserFields {
            login,
            email: None,
            first_name: None,
            last_name: None,
            phone: None,
            mobile: None,
            extension: None,
            sip_username: None,
            phone_topology: None,
            company: None,
            related_contact: None,
            external_id: None,
            time_zone: None,
            date_format: None,
            time_format: None,
            flags: UserFlags { receive_email: true, ..Default::default() },
            status: UserStatus::Active,
            two_factor_method: TwoFactorMethod::Disabled,
            two_factor_mode: TwoFactorMode::Always,
        }
    }

    /// What the search box matches, lowercased in Rust so both engines compare alike.
    pub fn search_text(&self) -> String {
        let parts = [
            Some(self.login.as_str()),
            self.email.as_ref().map(|e| e.as_str()),
            self.first_name.as_ref().map(|n| n.as_str()),
            self.last_name.as_ref().map(|n| n.as_str()),
            self.extension.as_ref().map(|e| e.as_str()),
            self.external_id.as_ref().map(|e| e.as_str()),
            self.company.as_ref().map(|e| e.as_str()),
        ];
        parts.into_iter().flatten().collect::<Vec<_>>().join(" ").to_lowercase()
    }
}

/// Whether a user signs in with a password (issue 15): as their account says, never (through
/// the account's identity provider only), or always (a break-glass admin, whatever the account says).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PasswordSignIn {
    #[default]
    Account,
    Off,
    Kept,
}

impl PasswordSignIn {
    pub const ALL: [PasswordSignIn; 3] = [PasswordSignIn::Account, PasswordSignIn::Off, PasswordSignIn::Kept];

    pub fn as_str(self) -> &'static str {
        match self {
            PasswordSignIn::Account => "account",
            PasswordSignIn::Off => "off",
            PasswordSignIn::Kept => "kept",
        }
    }

    /// Whether the password signs this user in, given whether their account allows passwords.
    pub fn allowed(self, account_allows: bool) -> bool {
        match self {
            PasswordSignIn::Account => account_allows,
            PasswordSignIn::Off => false,
            PasswordSignIn::Kept => true,
        }
    }
}

super::stored_as_text!(PasswordSignIn, "password sign-in");

/// A user row as stored (values were validated when written).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRecord {
    pub id: UserId,
    pub account_id: AccountId,
    pub login: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub extension: Option<String>,
    pub sip_username: Option<String>,
    pub sip_password: Option<String>,
    pub phone_topology: Option<String>,
    pub company: Option<String>,
    pub related_contact: Option<String>,
    pub external_id: Option<String>,
    pub time_zone: Option<String>,
    pub date_format: Option<String>,
    pub time_format: Option<String>,
    #[sqlx(try_from = "crate::model::Flag")]
    pub receive_email: bool,
    #[sqlx(try_from = "crate::model::Flag")]
    pub receive_sms: bool,
    #[sqlx(try_from = "crate::model::Flag")]
    pub is_agent: bool,
    #[sqlx(try_from = "crate::model::Flag")]
    pub is_supervisor: bool,
    #[sqlx(try_from = "crate::model::Flag")]
    pub is_superuser: bool,
    #[sqlx(try_from = "crate::model::Flag")]
    pub is_end_user: bool,
    #[sqlx(try_from = "crate::model::Flag")]
    pub is_company_supervisor: bool,
    pub status: UserStatus,
    pub two_factor_method: TwoFactorMethod,
    pub two_factor_mode: TwoFactorMode,
    /// When the authenticator was set up (confirmed by a code); `None` until then.
    pub totp_confirmed_at: Option<i64>,
    #[sqlx(try_from = "crate::model::Flag")]
    pub must_change_password: bool,
    pub password_changed_at: Option<Timestamp>,
    pub avatar_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
    /// Until when sign-in is locked after too many failures (it may have passed); `None` when
    /// it never was or was cleared.
    pub locked_until: Option<Timestamp>,
    /// Failed sign-ins in the current window (see `accounts::security::LockoutPolicy`).
    pub failed_sign_ins: i64,
    /// Per-user overrides of the account's security settings; `None` inherits (R24, R34).
    pub password_expiry_months: Option<i64>,
    pub console_idle_minutes: Option<i64>,
    pub phone_idle_minutes: Option<i64>,
    /// R31: every sign-in with this login answers a CAPTCHA first.
    #[sqlx(try_from = "crate::model::Flag")]
    pub captcha_required: bool,
    /// Whether the password signs them in (single sign-on, issue 15).
    pub password_sign_in: PasswordSignIn,
    /// The user's current or next open deactivation period (R18): out from `deactivation_from`,
    /// back at `deactivation_until` (never when `None`).
    pub deactivation_from: Option<Timestamp>,
    pub deactivation_until: Option<Timestamp>,
    /// An invited user's open invitation ends then (R19); `None` when none was sent.
    pub invitation_expires_at: Option<Timestamp>,
}

impl UserRecord {
    pub fn flags(&self) -> UserFlags {
        UserFlags {
            receive_email: self.receive_email,
            receive_sms: self.receive_sms,
            is_agent: self.is_agent,
            is_supervisor: self.is_supervisor,
            is_superuser: self.is_superuser,
            is_end_user: self.is_end_user,
            is_company_supervisor: self.is_company_supervisor,
        }
    }

    /// R3: the display name falls back to the login.
    pub fn display_name(&self) -> String {
        display_name(self.first_name.as_deref(), self.last_name.as_deref(), &self.login)
    }
}

#[cfg(test)]
impl UserRecord {
    /// A plain active user `ann` for unit tests.
    pub fn sample() -> UserRecord {
        UserRecord {
            id: crate::ids::UserId(1),
            account_id: crate::ids::AccountId(1),
            login: "ann".into(),
            email: None,
            first_name: None,
            last_name: None,
            phone: None,
            mobile: None,
            extension: None,
            sip_username: None,
            sip_password: None,
            phone_topology: None,
            company: None,
            related_contact: None,
            external_id: None,
            time_zone: None,
            date_format: None,
            time_format: None,
            receive_email: true,
            receive_sms: false,
            is_agent: false,
            is_supervisor: false,
            is_superuser: false,
            is_end_user: false,
            is_company_supervisor: false,
            status: UserStatus::Active,
            two_factor_method: TwoFactorMethod::Disabled,
            two_factor_mode: TwoFactorMode::Always,
            totp_confirmed_at: None,
            must_change_password: false,
            password_changed_at: None,
            avatar_at: None,
            created_at: 0,
            updated_at: 0,
            version: 1,
            locked_until: None,
            failed_sign_ins: 0,
            password_expiry_months: None,
            console_idle_minutes: None,
            phone_idle_minutes: None,
            captcha_required: false,
            password_sign_in: PasswordSignIn::Account,
            deactivation_from: None,
            deactivation_until: None,
            invitation_expires_at: None,
        }
    }
}

pub fn display_name(first: Option<&str>, last: Option<&str>, login: &str) -> String {
    let full = [first, last].into_iter().flatten().collect::<Vec<_>>().join(" ");
    if full.trim().is_empty() { login.to_string() } else { full }
}

/// A reference to a role, desk, skill or group as shown with a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Ref {
    pub id: i64,
    pub name: String,
    /// Shown on hover (roles).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// What a user is assigned to.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Assignments {
    pub roles: Vec<Ref>,
    pub groups: Vec<Ref>,
    pub desks: Vec<Ref>,
    pub skills: Vec<Ref>,
    /// The queues the user is a member of (R16); how and when is under `…/users/{id}/queues`.
    pub queues: Vec<Ref>,
    /// Direct permissions, beyond those of roles (R13): "special permissions".
    pub permissions: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_name_falls_back_to_login() {
        assert_eq!(display_name(None, None, "jdoe"), "jdoe");
        assert_eq!(display_name(Some("Jane"), None, "jdoe"), "Jane");
        assert_eq!(display_name(Some("Jane"), Some("Doe"), "jdoe"), "Jane Doe");
    }
}
