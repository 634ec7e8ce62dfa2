//! The account's security settings (R10, R24, R33, R34): password policy, sign-in lockout,
//! session timeouts and the one-session policy. Read-only with settings.view, editable with
//! settings.manage; saved with the account's version, so a concurrent change is reported.

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::extract::{ConsoleUser, Failure, OrFail, go};
use super::ui::{self, Nav};
use super::users::security::{number_field, select_field};
use super::{Pairs, first};
use crate::access::Permission;
use crate::error::{Error, FieldIssue};
use crate::model::settings::RequiredFor;
use crate::model::settings::SecuritySettings;
use crate::state::AppState;

/// The whole-number settings: (path, label, hint).
const NUMBERS: [(&str, &str, &str); 12] = [
    ("password_policy.min_length", "Minimum length", "Characters; 6 to 64. NIST recommends at least 8."),
    ("password_policy.max_length", "Maximum length", "Characters; 64 to 256, and at least the minimum."),
    (
        "password_policy.history",
        "Remembered passwords",
        "A new password may not be one of this many previous ones; 0 to 24 (0 allows any).",
    ),
    ("lockout.max_failures", "Failed sign-ins before a lockout", "1 to 100."),
    ("lockout.window_minutes", "Counted within (minutes)", "Failures older than this are forgotten; 1 to 1440."),
    ("lockout.lock_minutes", "Lockout duration (minutes)", "1 to 1440. An admin can unlock a user sooner."),
    (
        "lockout.address_max_failures",
        "Failed sign-ins per address before it is refused",
        "Whatever logins it tries; 5 to 10000.",
    ),
    ("sessions.console_idle_minutes", "Console inactivity timeout (minutes)", "5 to 43200. Users may have their own."),
    ("sessions.phone_idle_minutes", "Phone inactivity timeout (minutes)", "5 to 43200. Users may have their own."),
    ("sessions.absolute_hours", "Longest session (hours)", "Any session ends this long after sign-in; 1 to 2160."),
    (
        "second_factor.email_code_minutes",
        "Emailed codes last (minutes)",
        "How long a code sent by email works; 2 to 60.",
    ),
    ("invitations.valid_days", "Invitation links last (days)", "After each sending; 1 to 90."),
];

/// The yes/no settings: (path, label).
const FLAGS: [(&str, &str); 7] = [
    ("password_policy.require_lowercase", "Require a lowercase letter"),
    ("password_policy.require_uppercase", "Require an uppercase letter"),
    ("password_policy.require_digit", "Require a digit"),
    ("password_policy.require_symbol", "Require a symbol (not a letter or digit)"),
    ("password_policy.forbid_login", "Refuse passwords containing the login or the email's name"),
    ("password_policy.forbid_common", "Refuse the 100,000 most common passwords"),
    (
        "sessions.one_session_per_user",
        "One session per user: a second sign-in must end the first (it is asked to take over)",
    ),
];

/// Fields chosen from a list (their messages appear next to them).
const SELECTS: [&str; 2] = ["password_policy.expiry_months", "second_factor.required_for"];

fn get_number(s: &SecuritySettings, path: &str) -> u32 {
    let (p, l, x) = (&s.password_policy, &s.lockout, &s.sessions);
    match path {
        "password_policy.min_length" => p.min_length,
        "password_policy.max_length" => p.max_length,
        "password_policy.history" => p.history,
        "lockout.max_failures" => l.max_failures,
        "lockout.window_minutes" => l.window_minutes,
        "lockout.lock_minutes" => l.lock_minutes,
        "lockout.address_max_failures" => l.address_max_failures,
        "sessions.console_idle_minutes" => x.console_idle_minutes,
        "sessions.phone_idle_minutes" => x.phone_idle_minutes,
        "sessions.absolute_hours" => x.absolute_hours,
        "second_factor.email_code_minutes" => s.second_factor.email_code_minutes,
        "invitations.valid_days" => s.invitations.valid_days,
        _ => 0,
    }
}

fn number_mut<'a>(s: &'a mut SecuritySettings, path: &str) -> Option<&'a mut u32> {
    Some(match path {
        "password_policy.min_length" => &mut s.password_policy.min_length,
        "password_policy.max_length" => &mut s.password_policy.max_length,
        "password_policy.history" => &mut s.password_policy.history,
        "lockout.max_failures" => &mut s.lockout.max_failures,
        "lockout.window_minutes" => &mut s.lockout.window_minutes,
        "lockout.lock_minutes" => &mut s.lockout.lock_minutes,
        "lockout.address_max_failures" => &mut s.lockout.address_max_failures,
        "sessions.console_idle_minutes" => &mut s.sessions.console_idle_minutes,
        "sessions.phone_idle_minutes" => &mut s.sessions.phone_idle_minutes,
        "sessions.absolute_hours" => &mut s.sessions.absolute_hours,
        "second_factor.email_code_minutes" => &mut s.second_factor.email_code_minutes,
        "invitations.valid_days" => &mut s.invitations.valid_days,
        _ => return None,
    })
}

fn flag_mut<'a>(s: &'a mut SecuritySettings, path: &str) -> Option<&'a mut bool> {
    Some(match path {
        "password_policy.require_lowercase" => &mut s.password_policy.require_lowercase,
        "password_policy.require_uppercase" => &mut s.password_policy.require_uppercase,
        "password_policy.require_digit" => &mut s.password_policy.require_digit,
        "password_policy.require_symbol" => &mut s.password_policy.require_symbol,
        "password_policy.forbid_login" => &mut s.password_policy.forbid_login,
        "password_policy.forbid_common" => &mut s.password_policy.forbid_common,
        "sessions.one_session_per_user" => &mut s.sessions.one_session_per_user,
        _ => return None,
    })
}

/// What the form shows: the text of each number as typed (a bad one is shown back as it was).
struct Values {
    settings: SecuritySettings,
    numbers: Vec<(&'static str, String)>,
    version: i64,
}

impl Values {
    fn from_settings(settings: &SecuritySettings, version: i64) -> Self {
        Values {
            numbers: NUMBERS
                .iter()
                .map(|(path, ..)| (*path, get_number(settings, path).to_string()))
                .chain([(super::captcha::AFTER_FAILURES.0, settings.captcha.after_address_failures.to_string())])
                .collect(),
            settings: settings.clone(),
            version,
        }
    }

    /// The submitted form; numbers that do not parse are reported by path.
    fn from_form(form: &Pairs) -> (Self, Vec<FieldIssue>) {
        let mut settings = SecuritySettings::default();
        let mut issues = Vec::new();
        let mut numbers = Vec::new();
        for (path, ..) in NUMBERS {
            let text = first(form, path).unwrap_or_default().trim().to_string();
            match text.parse::<u32>() {
                Ok(n) => *number_mut(&mut settings, path).expect("known path") = n,
                Err(_) => issues.push(FieldIssue::new(path, "invalid", "must be a whole number")),
            }
            numbers.push((path, text));
        }
        for (path, _) in FLAGS {
            *flag_mut(&mut settings, path).expect("known path") = first(form, path).is_some();
        }
        settings.password_policy.expiry_months = match first(form, "password_policy.expiry_months").unwrap_or("never") {
            "never" | "" => None,
            m => match m.parse::<u32>() {
                Ok(n) => Some(n),
                Err(_) => {
                    issues.push(FieldIssue::new(
                        "password_policy.expiry_months",
                        "invalid",
                        "choose a period from the list",
                    ));
                    None
                }
            },
        };
        numbers.push((
            super::captcha::AFTER_FAILURES.0,
            super::captcha::settings_from_form(form, &mut settings, &mut issues),
        ));
        settings.second_factor.required_for = match first(form, "second_factor.required_for").unwrap_or("admins") {
            "everyone" => RequiredFor::Everyone,
            "admins" | "" => RequiredFor::Admins,
            _ => {
                issues.push(FieldIssue::new(
                    "second_factor.required_for",
                    "unknown_choice",
                    "choose who must use a second factor",
                ));
                RequiredFor::Admins
            }
        };
        let version = first(form, "version").and_then(|v| v.parse().ok()).unwrap_or(0);
        (Values { settings, numbers, version }, issues)
    }

    fn number(&self, path: &str) -> &str {
        self.numbers.iter().find(|(p, _)| *p == path).map(|(_, v)| v.as_str()).unwrap_or_default()
    }
}

/// `GET /console/settings/security`.
pub(super) async fn page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::SettingsView).await?;
    // Read afresh: the version must be the one in the database.
    let account = crate::accounts::service::by_id(&state, account.id).await.or_fail(&user)?.unwrap_or(account);
    let saved = first(&q, "notice") == Some("saved");
    let editable = user.can(Permission::SettingsManage);
    let body = html! {
        (ui::page_head("Security settings", Some("Password policy, sign-in lockout and session timeouts for everyone in this account."),
            html! {
                a.button.subtle href="/console/settings/access-rules" { "Access rules" }
                a.button.subtle href="/console/settings/display" { "Time display" }
                a.button.subtle href="/console/settings/calls" { "Call settings" }
                a.button.subtle href="/console/settings/sip" { "SIP domain" }
                a.button.subtle href="/console/settings/sso" { "Single sign-on" }
            }))
        @if saved { (ui::alert("success", "The security settings were saved.")) }
        @if !editable {
            (ui::alert("info", "You can see these settings; changing them needs the permission settings.manage."))
        }
        (form(&Values::from_settings(&account.security, account.version), editable, &[], None))
    };
    Ok(user.page(Nav::Settings, "Security settings", body))
}

fn form(v: &Values, editable: bool, issues: &[FieldIssue], top: Option<Markup>) -> Markup {
    let number = |path: &str| {
        let (_, label, hint) = NUMBERS.iter().find(|(p, ..)| *p == path).expect("known setting");
        number_field(path, label, v.number(path), hint, true, issues)
    };
    let flag = |path: &str| {
        let (_, label) = FLAGS.iter().find(|(p, _)| *p == path).expect("known setting");
        let mut s = v.settings.clone();
        let on = *flag_mut(&mut s, path).expect("known setting");
        ui::checkbox(path, "on", label, on, &format!("f-{}", path.replace('.', "-")))
    };
    let expiry: Vec<(String, String)> = std::iter::once(("never".to_string(), "Never".to_string()))
        .chain((1..=12).map(|m| (m.to_string(), if m == 1 { "1 month".to_string() } else { format!("{m} months") })))
        .collect();
    let expiry_value = v.settings.password_policy.expiry_months.map_or_else(|| "never".to_string(), |m| m.to_string());
    let other_issues: Vec<&FieldIssue> = issues
        .iter()
        .filter(|i| !NUMBERS.iter().any(|(p, ..)| *p == i.field) && !SELECTS.contains(&i.field.as_str()))
        .filter(|i| i.field != super::captcha::AFTER_FAILURES.0)
        .collect();
    let required_for = match v.settings.second_factor.required_for {
        RequiredFor::Everyone => "everyone",
        RequiredFor::Admins => "admins",
    };
    let who: Vec<(String, String)> =
        vec![("admins".into(), "Admins (R27: always)".into()), ("everyone".into(), "Everyone".into())];
    html! {
        form #security-settings hx-post="/console/settings/security" hx-target="this" hx-swap="outerHTML" novalidate {
            @if let Some(top) = top { (top) }
            @if !issues.is_empty() {
                div.alert.alert-error role="alert" tabindex="-1" data-focus {
                    "The settings were not saved: see the messages below."
                    @if !other_issues.is_empty() {
                        ul { @for i in &other_issues { li { (i.field) ": " (ui::sentence(&i.message)) } } }
                    }
                }
            }
            input type="hidden" name="version" value=(v.version);
            fieldset.settings-fieldset disabled[!editable] {
                legend.visually-hidden { "Security settings" }
                div.form-grid {
                    fieldset.card {
                        legend { "Password policy" }
                        p.hint.policy-summary { "In short: " (v.settings.password_policy.describe()) "." }
                        (number("password_policy.min_length"))
                        (number("password_policy.max_length"))
                        fieldset.checks {
                            legend { "Rules" }
                            @for (path, _) in &FLAGS[..6] { (flag(path)) }
                        }
                        (number("password_policy.history"))
                        (select_field("password_policy.expiry_months", "Password expiry", &expiry_value, &expiry,
                            "After this long a password must be changed at the next sign-in. Users may have their own.", issues))
                    }
                    fieldset.card {
                        legend { "Sign-in lockout" }
                        p.hint { "Protects against password guessing. Lockouts are recorded in the activity log." }
                        (number("lockout.max_failures"))
                        (number("lockout.window_minutes"))
                        (number("lockout.lock_minutes"))
                        (number("lockout.address_max_failures"))
                    }
                    fieldset.card {
                        legend { "Second factor" }
                        (select_field("second_factor.required_for", "Who must use a second factor", required_for, &who,
                            "Whoever must and has none sets up an authenticator app at their next sign-in.", issues))
                        (number("second_factor.email_code_minutes"))
                    }
                    fieldset.card {
                        legend { "Sessions" }
                        (number("sessions.console_idle_minutes"))
                        (number("sessions.phone_idle_minutes"))
                        (number("sessions.absolute_hours"))
                        fieldset.checks {
                            legend { "Policy" }
                            (flag("sessions.one_session_per_user"))
                        }
                    }
                    (super::captcha::settings_fieldset(&v.settings, v.number(super::captcha::AFTER_FAILURES.0), issues))
                    fieldset.card {
                        legend { "Invitations" }
                        (number("invitations.valid_days"))
                    }
                }
            }
            @if editable {
                div.form-actions {
                    button.button.primary type="submit" { "Save settings" }
                    a.button.subtle href="/console/settings/security" { "Discard changes" }
                }
            }
        }
    }
}

/// `POST /console/settings/security`.
pub(super) async fn save(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::SettingsManage).await?;
    let (values, issues) = Values::from_form(&form);
    if !issues.is_empty() {
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, self::form(&values, true, &issues, None)).into_response());
    }
    let principal = user.principal(&account, Permission::SettingsManage);
    match crate::accounts::service::update_security(
        &state,
        &principal,
        &account,
        values.settings.clone(),
        values.version,
    )
    .await
    {
        Ok(_) => Ok(go(user.htmx, "/console/settings/security?notice=saved")),
        Err(Error::Validation(issues)) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, self::form(&values, true, &issues, None)).into_response())
        }
        Err(Error::PreconditionFailed) => {
            let stale = html! {
                div.alert.alert-error role="alert" tabindex="-1" data-focus {
                    "Someone else changed the security settings since you opened this page, so nothing was saved. "
                    a href="/console/settings/security" { "Reload the settings" }
                    " to see their changes, then make yours again."
                }
            };
            Ok((StatusCode::PRECONDITION_FAILED, self::form(&values, true, &[], Some(stale))).into_response())
        }
        Err(err) => Err(user.fail(err)),
    }
}
