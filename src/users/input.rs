//! The body of `POST …/users` and `PATCH …/users/{id}`, parsed into `UserFields`.
//! In a PATCH an absent field keeps its value and `null` clears it.

use secrecy::SecretString;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::domain::{
    DateFormat, E164Phone, Email, Extension, Invalid, Login, PersonName, PhoneTopology, ShortText, SipUsername,
    TimeFormat, TimeZoneName,
};
use crate::error::{Issues, Result};
use crate::ids::{DeskId, GroupId, RoleId, SkillId};
use crate::model::user::{TwoFactorMethod, TwoFactorMode, UserFields, UserFlags, UserRecord, UserStatus};

use crate::domain::present;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    /// R1: Latin letters, digits, `-`, `_`, `.`; 1–64; unique in the account, case-insensitively.
    pub login: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub last_name: Option<Option<String>>,
    /// E.164, e.g. `+4915112345678`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub mobile: Option<Option<String>>,
    /// Digits; unique in the account. Without one the user cannot register a SIP phone.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub extension: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub sip_username: Option<Option<String>>,
    /// The SIP password for phone registration (R6): 8–128 printable ASCII characters, sealed
    /// at rest and never shown in a user; `null` clears it. Needs an extension (R5).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Password)]
    pub sip_password: Option<Option<SecretString>>,
    /// `external_phone` or `web_phone`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub phone_topology: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub company: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub related_contact: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub external_id: Option<Option<String>>,
    /// IANA name, e.g. `Europe/Berlin`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub time_zone: Option<Option<String>>,
    /// `MM/DD/YYYY`, `DD/MM/YYYY` or `YYYY/MM/DD`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub date_format: Option<Option<String>>,
    /// `12h` or `24h`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub time_format: Option<Option<String>>,
    pub receive_email: Option<bool>,
    pub receive_sms: Option<bool>,
    pub is_agent: Option<bool>,
    pub is_supervisor: Option<bool>,
    /// Platform operator; only a platform operator may set it.
    pub is_superuser: Option<bool>,
    pub is_end_user: Option<bool>,
    pub is_company_supervisor: Option<bool>,
    /// `active` or `disabled` (R17).
    #[schema(value_type = Option<UserStatus>)]
    pub status: Option<String>,
    /// Why the status changes, up to 500 characters: kept in the activation log (R18) with the
    /// change. Ignored when the status does not change.
    pub status_reason: Option<String>,
    /// `disabled`, `email`, `totp` or `either` (the user picks at sign-in). An admin's cannot be
    /// disabled (R27); `email` and `either` need an email address.
    #[schema(value_type = Option<TwoFactorMethod>)]
    pub two_factor_method: Option<String>,
    /// `always` or `suspicious` (only for a sign-in from a new address, device or country).
    #[schema(value_type = Option<TwoFactorMode>)]
    pub two_factor_mode: Option<String>,
    /// Creation only. Omit it to have a strong one generated and returned once.
    #[schema(value_type = Option<String>, format = Password)]
    pub password: Option<SecretString>,
    /// Creation only: the user must choose a new password at first sign-in.
    pub must_change_password: Option<bool>,
    pub roles: Option<Vec<RoleId>>,
    pub groups: Option<Vec<GroupId>>,
    pub desks: Option<Vec<DeskId>>,
    pub skills: Option<Vec<SkillId>>,
    /// Direct permissions beyond the roles' (R13).
    pub permissions: Option<Vec<String>>,
}

/// Merges a text field: absent keeps `current`, null or blank clears, a value is parsed.
fn merge<T>(
    issues: &mut Issues,
    field: &str,
    input: &Option<Option<String>>,
    current: Option<&str>,
    parse: fn(&str) -> Result<T, Invalid>,
) -> Option<T> {
    let value = match input {
        None => current.map(str::to_string),
        Some(v) => v.clone().filter(|s| !s.trim().is_empty()),
    };
    match value {
        None => None,
        Some(v) => issues.check(field, parse(&v)),
    }
}

impl UserInput {
    /// The complete fields after applying this input to `current` (or to a new user's
    /// defaults), with every invalid field reported at once.
    /// The reason given for a change of status, checked.
    pub fn status_reason(&self) -> Result<Option<crate::domain::Description>> {
        let Some(reason) = self.status_reason.as_deref().filter(|r| !r.trim().is_empty()) else { return Ok(None) };
        let mut issues = Issues::new();
        let parsed = issues.check("status_reason", crate::domain::Description::parse(reason));
        issues.into_result()?;
        Ok(parsed)
    }

    pub fn to_fields(&self, current: Option<&UserRecord>) -> Result<UserFields> {
        let mut issues = Issues::new();
        let login = match (&self.login, current) {
            (Some(l), _) => issues.check("login", Login::parse(l)),
            (None, Some(c)) => Login::parse(&c.login).ok(),
            (None, None) => {
                issues.add("login", "required", "is required");
                None
            }
        };
        let c = current;
        let email = merge(&mut issues, "email", &self.email, c.and_then(|c| c.email.as_deref()), Email::parse);
        let first_name = merge(
            &mut issues,
            "first_name",
            &self.first_name,
            c.and_then(|c| c.first_name.as_deref()),
            PersonName::parse,
        );
        let last_name =
            merge(&mut issues, "last_name", &self.last_name, c.and_then(|c| c.last_name.as_deref()), PersonName::parse);
        let phone = merge(&mut issues, "phone", &self.phone, c.and_then(|c| c.phone.as_deref()), E164Phone::parse);
        let mobile = merge(&mut issues, "mobile", &self.mobile, c.and_then(|c| c.mobile.as_deref()), E164Phone::parse);
        let extension =
            merge(&mut issues, "extension", &self.extension, c.and_then(|c| c.extension.as_deref()), Extension::parse);
        let sip_username = merge(
            &mut issues,
            "sip_username",
            &self.sip_username,
            c.and_then(|c| c.sip_username.as_deref()),
            SipUsername::parse,
        );
        let phone_topology = merge(
            &mut issues,
            "phone_topology",
            &self.phone_topology,
            c.and_then(|c| c.phone_topology.as_deref()),
            PhoneTopology::parse,
        );
        let company =
            merge(&mut issues, "company", &self.company, c.and_then(|c| c.company.as_deref()), ShortText::parse);
        let related_contact = merge(
            &mut issues,
            "related_contact",
            &self.related_contact,
            c.and_then(|c| c.related_contact.as_deref()),
            ShortText::parse,
        );
        let external_id = merge(
            &mut issues,
            "external_id",
            &self.external_id,
            c.and_then(|c| c.external_id.as_deref()),
            ShortText::parse,
        );
        let time_zone = merge(
            &mut issues,
            "time_zone",
            &self.time_zone,
            c.and_then(|c| c.time_zone.as_deref()),
            TimeZoneName::parse,
        );
        let date_format = merge(
            &mut issues,
            "date_format",
            &self.date_format,
            c.and_then(|c| c.date_format.as_deref()),
            DateFormat::parse,
        );
        let time_format = merge(
            &mut issues,
            "time_format",
            &self.time_format,
            c.and_then(|c| c.time_format.as_deref()),
            TimeFormat::parse,
        );

        let base = c.map(|c| c.flags()).unwrap_or(UserFlags { receive_email: true, ..Default::default() });
        let flags = UserFlags {
            receive_email: self.receive_email.unwrap_or(base.receive_email),
            receive_sms: self.receive_sms.unwrap_or(base.receive_sms),
            is_agent: self.is_agent.unwrap_or(base.is_agent),
            is_supervisor: self.is_supervisor.unwrap_or(base.is_supervisor),
            is_superuser: self.is_superuser.unwrap_or(base.is_superuser),
            is_end_user: self.is_end_user.unwrap_or(base.is_end_user),
            is_company_supervisor: self.is_company_supervisor.unwrap_or(base.is_company_supervisor),
        };
        if flags.is_company_supervisor && !flags.is_end_user {
            issues.add("is_company_supervisor", "requires_end_user", "only an end user can be a company supervisor");
        }
        let status = self.status.as_deref().and_then(|v| match UserStatus::parse(v) {
            Some(s) => Some(s),
            None => {
                issues.add("status", "unknown_choice", "must be active or disabled");
                None
            }
        });
        // R19: a user becomes invited through an invitation, and leaves that status by
        // accepting it (or it is revoked), never by an edit.
        match (current.map(|c| c.status), status) {
            (Some(UserStatus::Invited), Some(s)) if s != UserStatus::Invited => issues.add(
                "status",
                "invited",
                "the user has not accepted their invitation yet: resend it, or revoke it",
            ),
            (c, Some(UserStatus::Invited)) if c != Some(UserStatus::Invited) => issues.add(
                "status",
                "by_invitation",
                "a user becomes invited through an invitation (POST …/invitations)",
            ),
            _ => {}
        }
        let two_factor_method = self.two_factor_method.as_deref().and_then(|v| match TwoFactorMethod::parse(v) {
            Some(m) => Some(m),
            None => {
                issues.add("two_factor_method", "unknown_choice", "must be disabled, email, totp or either");
                None
            }
        });
        let two_factor_mode = self.two_factor_mode.as_deref().and_then(|v| match TwoFactorMode::parse(v) {
            Some(m) => Some(m),
            None => {
                issues.add("two_factor_mode", "unknown_choice", "must be always or suspicious");
                None
            }
        });
        let resulting_method =
            two_factor_method.or(c.map(|c| c.two_factor_method)).unwrap_or(TwoFactorMethod::Disabled);
        if resulting_method.uses_email() && email.is_none() && !issues.has("email") {
            issues.add("two_factor_method", "requires_email", "email codes need an email address: set one first");
        }
        if current.is_some() && (self.password.is_some() || self.must_change_password.is_some()) {
            issues.add("password", "not_here", "change passwords with PUT …/users/{id}/password");
        }
        if let Some(Some(p)) = &self.sip_password {
            use secrecy::ExposeSecret;
            let p = p.expose_secret();
            if !(8..=128).contains(&p.chars().count()) {
                issues.add("sip_password", "length", "must be 8 to 128 characters");
            } else if !p.chars().all(|c| c.is_ascii_graphic()) {
                issues.add("sip_password", "invalid_chars", "may hold only printable ASCII characters, no spaces");
            }
        }
        let keeps_sip_password = match &self.sip_password {
            Some(v) => v.is_some(),
            None => c.is_some_and(|c| c.sip_password.is_some()),
        };
        if extension.is_none() && (sip_username.is_some() || keeps_sip_password) {
            issues.add(
                "extension",
                "required_for_sip",
                "is needed for SIP credentials: a user without an extension cannot register a SIP phone",
            );
        }
        if let Some(p) = &self.password {
            use secrecy::ExposeSecret;
            issues.check("password", crate::passwords::hashing::check_basic(p.expose_secret()));
            // The account's full policy is applied by the service, which knows the account.
        }
        if let Some(perms) = &self.permissions {
            for p in perms {
                match crate::access::Permission::parse(p) {
                    Some(perm) if perm.tokens_only() => issues.add(
                        "permissions",
                        "tokens_only",
                        format!("{p} is held by API tokens only, not by people"),
                    ),
                    Some(perm) if !perm.is_platform() => {}
                    Some(_) => {
                        issues.add("permissions", "platform_only", format!("{p} cannot be granted in an account"))
                    }
                    None => issues.add("permissions", "unknown_permission", format!("unknown permission {p:?}")),
                }
            }
        }
        issues.into_result()?;
        Ok(UserFields {
            login: login.expect("no issue means the login parsed"),
            email,
            first_name,
            last_name,
            phone,
            mobile,
            extension,
            sip_username,
            phone_topology,
            company,
            related_contact,
            external_id,
            time_zone,
            date_format,
            time_format,
            flags,
            // R8: new users are enabled by default.
            status: status.or(c.map(|c| c.status)).unwrap_or(UserStatus::Active),
            two_factor_method: resulting_method,
            two_factor_mode: two_factor_mode.or(c.map(|c| c.two_factor_mode)).unwrap_or(TwoFactorMode::Always),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: &str) -> UserInput {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_new_user_is_active_and_receives_email() {
        let f = input(r#"{"login":"ann"}"#).to_fields(None).unwrap();
        assert_eq!(f.status, UserStatus::Active);
        assert!(f.flags.receive_email);
        assert_eq!(f.email, None);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let err = input(r#"{"login":"a@b","email":"nope","phone":"12","time_zone":"Mars/Base"}"#)
            .to_fields(None)
            .unwrap_err();
        let fields: Vec<_> = err.field_issues().into_iter().map(|i| i.field).collect();
        assert_eq!(fields, vec!["login", "email", "phone", "time_zone"]);
    }

    #[test]
    fn null_clears_absent_keeps() {
        assert!(input(r#"{"email":null}"#).email == Some(None));
        assert!(input(r#"{}"#).email.is_none());
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(serde_json::from_str::<UserInput>(r#"{"login":"a","nickname":"x"}"#).is_err());
    }
}
