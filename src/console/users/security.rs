//! A user's own security settings (R24, R34): password expiry (never, 1–12 months, or the
//! account's period) and the console and phone inactivity timeouts (or the account's).
//! Saved with the user's version, so a concurrent change is reported, never overwritten.

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use crate::access::Permission;
use crate::console::extract::{ConsoleUser, Failure, OrFail, go};
use crate::console::ui::{self, Nav};
use crate::console::{Pairs, first};
use crate::error::{Error, FieldIssue};
use crate::ids::UserId;
use crate::model::AccountRecord;
use crate::model::settings::IDLE_MINUTES;
use crate::model::user::PasswordSignIn;
use crate::state::AppState;
use crate::users::service::{self, SecurityOverrides, UserView};

/// What the form shows: as stored, or as submitted.
struct Values {
    expiry: String,
    console: String,
    phone: String,
    captcha_required: bool,
    password_sign_in: String,
    version: i64,
}

impl Values {
    fn from_view(u: &UserView) -> Self {
        let text = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
        Values {
            expiry: u.password_expiry_months.map_or_else(|| "default".to_string(), |m| m.to_string()),
            console: text(u.console_idle_minutes),
            phone: text(u.phone_idle_minutes),
            captcha_required: u.captcha_required,
            password_sign_in: u.password_sign_in.as_str().to_string(),
            version: u.version,
        }
    }

    fn from_form(form: &Pairs) -> Self {
        let text = |k: &str| first(form, k).unwrap_or_default().trim().to_string();
        Values {
            expiry: first(form, "password_expiry_months").unwrap_or("default").to_string(),
            console: text("console_idle_minutes"),
            phone: text("phone_idle_minutes"),
            captcha_required: first(form, "captcha_required").is_some(),
            password_sign_in: first(form, "password_sign_in").unwrap_or("account").to_string(),
            version: first(form, "version").and_then(|v| v.parse().ok()).unwrap_or(0),
        }
    }

    /// The overrides, or the fields that are not numbers.
    fn parse(&self) -> Result<SecurityOverrides, Vec<FieldIssue>> {
        let mut issues = Vec::new();
        let expiry = match self.expiry.as_str() {
            "default" | "" => None,
            m => match m.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    issues.push(FieldIssue::new("password_expiry_months", "invalid", "choose a period from the list"));
                    None
                }
            },
        };
        let mut minutes = |field: &str, text: &str| -> Option<i64> {
            if text.is_empty() {
                return None;
            }
            match text.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    issues.push(FieldIssue::new(
                        field,
                        "invalid",
                        "must be a whole number of minutes, or blank for the account's default",
                    ));
                    None
                }
            }
        };
        let console = minutes("console_idle_minutes", &self.console);
        let phone = minutes("phone_idle_minutes", &self.phone);
        let password_sign_in = PasswordSignIn::try_from(self.password_sign_in.clone()).unwrap_or_else(|_| {
            issues.push(FieldIssue::new("password_sign_in", "invalid", "choose one from the list"));
            PasswordSignIn::Account
        });
        if issues.is_empty() {
            Ok(SecurityOverrides {
                password_expiry_months: expiry,
                console_idle_minutes: console,
                phone_idle_minutes: phone,
                captcha_required: self.captcha_required,
                password_sign_in,
            })
        } else {
            Err(issues)
        }
    }
}

/// `GET /console/users/{id}/security`.
pub(in crate::console) async fn page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersEdit).await?;
    let principal = user.principal(&account, Permission::UsersEdit);
    // A user out of reach (D2) is refused here as saving would be: 403, with the reason.
    let view = crate::users::reach::changeable(&state, &principal, UserId(id)).await.or_fail(&user)?;
    let offers =
        super::offers::Acting::load(&state, &user, &account, &[view.id]).await.or_fail(&user)?.offers(view.id, false);
    let saved = first(&q, "notice") == Some("saved");
    let title = format!("Security of {}", view.login);
    let body = html! {
        (super::actions::breadcrumbs(&view, "Security"))
        (ui::page_head(&title, Some("Password expiry and inactivity timeouts for this user; blank follows the account's settings."),
            html! { @if offers.access_rules { a.button.subtle href=(format!("/console/users/{id}/access-rules")) { "Access rules" } } }))
        @if saved { (ui::alert("success", "The user's security settings were saved.")) }
        (form(&view, &account, &Values::from_view(&view), &[], None))
    };
    Ok(user.page(Nav::Users, &title, body))
}

fn form(u: &UserView, account: &AccountRecord, v: &Values, issues: &[FieldIssue], top: Option<Markup>) -> Markup {
    let settings = &account.security;
    let id = u.id.0;
    let account_passwords = match account.password_sign_in {
        true => "Account default (with a password, or the organisation's sign-in)",
        false => "Account default (the organisation's sign-in only)",
    };
    let password_options = [
        ("account".to_string(), account_passwords.to_string()),
        ("off".to_string(), "Only through the organisation's sign-in (single sign-on)".to_string()),
        ("kept".to_string(), "Always with a password too (a break-glass admin)".to_string()),
    ];
    let account_expiry = match settings.password_policy.expiry_months {
        None => "never".to_string(),
        Some(1) => "1 month".to_string(),
        Some(m) => format!("{m} months"),
    };
    let sessions = &settings.sessions;
    html! {
        form #user-security .panel.narrow hx-post=(format!("/console/users/{id}/security")) hx-target="this" hx-swap="outerHTML" novalidate {
            @if let Some(top) = top { (top) }
            @if !issues.is_empty() {
                div.alert.alert-error role="alert" tabindex="-1" data-focus { "The settings were not saved: see the messages below." }
            }
            input type="hidden" name="version" value=(v.version);
            dl.facts {
                dt { "Password changed" } dd { (ui::time_text(u.password_changed_at.as_deref())) }
                dt { "Password expires" } dd { @match u.password_expires_at.as_deref() { Some(at) => (ui::time_text(Some(at))), None => "Never" } }
            }
            (select_field("password_expiry_months", "Password expiry", &v.expiry, &expiry_options(&account_expiry),
                "How long a password lasts before the user must choose a new one at sign-in.", issues))
            (minutes_field("console_idle_minutes", "Console inactivity timeout (minutes)", &v.console,
                &format!("Blank: the account's {} minutes. Between {} and {}.", sessions.console_idle_minutes, IDLE_MINUTES.start(), IDLE_MINUTES.end()), issues))
            (minutes_field("phone_idle_minutes", "Phone inactivity timeout (minutes)", &v.phone,
                &format!("Blank: the account's {} minutes. Between {} and {}.", sessions.phone_idle_minutes, IDLE_MINUTES.start(), IDLE_MINUTES.end()), issues))
            (crate::console::captcha::user_flag(v.captcha_required))
            (select_field("password_sign_in", "Password sign-in", &v.password_sign_in, &password_options,
                "Whether this user may sign in with a password besides the account's identity provider. Keep one admin's password for when the provider is down.", issues))
            div.form-actions {
                button.button.primary type="submit" { "Save" }
                a.button.subtle href=(format!("/console/users/{id}/edit")) { "Cancel" }
            }
        }
    }
}

fn expiry_options(account_expiry: &str) -> Vec<(String, String)> {
    let mut options = vec![
        ("default".to_string(), format!("Account default ({account_expiry})")),
        ("0".to_string(), "Never".to_string()),
    ];
    options
        .extend((1..=12).map(|m| (m.to_string(), if m == 1 { "1 month".to_string() } else { format!("{m} months") })));
    options
}

pub(in crate::console) fn select_field(
    name: &str,
    label: &str,
    value: &str,
    options: &[(String, String)],
    hint: &str,
    issues: &[FieldIssue],
) -> Markup {
    let id = format!("f-{}", name.replace('.', "-"));
    let errors: Vec<&FieldIssue> = issues.iter().filter(|i| i.field == name).collect();
    let err_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described = if errors.is_empty() { hint_id.clone() } else { format!("{hint_id} {err_id}") };
    html! {
        div.field.has-error[!errors.is_empty()] {
            label for=(id) { (label) }
            select id=(id) name=(name) aria-describedby=(described) aria-invalid=[(!errors.is_empty()).then_some("true")] {
                @for (v, text) in options { option value=(v) selected[v == value] { (text) } }
            }
            p.hint id=(hint_id) { (hint) }
            (ui::field_errors(&err_id, &errors))
        }
    }
}

/// A whole-number input (`inputmode=numeric`, so a bad value reaches the server's message).
pub(in crate::console) fn number_field(
    name: &str,
    label: &str,
    value: &str,
    hint: &str,
    required: bool,
    issues: &[FieldIssue],
) -> Markup {
    let id = format!("f-{}", name.replace('.', "-"));
    let errors: Vec<&FieldIssue> = issues.iter().filter(|i| i.field == name).collect();
    let err_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described = if errors.is_empty() { hint_id.clone() } else { format!("{hint_id} {err_id}") };
    html! {
        div.field.has-error[!errors.is_empty()] {
            label for=(id) { (label) @if required { span.required aria-hidden="true" { " *" } } }
            input.number id=(id) name=(name) type="text" inputmode="numeric" pattern="[0-9]*" value=(value) required[required]
                aria-describedby=(described) aria-invalid=[(!errors.is_empty()).then_some("true")];
            p.hint id=(hint_id) { (hint) }
            (ui::field_errors(&err_id, &errors))
        }
    }
}

fn minutes_field(name: &str, label: &str, value: &str, hint: &str, issues: &[FieldIssue]) -> Markup {
    number_field(name, label, value, hint, false, issues)
}

/// `POST /console/users/{id}/security`.
pub(in crate::console) async fn save(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    Form(form): Form<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersEdit).await?;
    let principal = user.principal(&account, Permission::UsersEdit);
    let view = service::get(&state, &principal, UserId(id)).await.or_fail(&user)?;
    let values = Values::from_form(&form);
    let overrides = match values.parse() {
        Ok(o) => o,
        Err(issues) => {
            return Ok(
                (StatusCode::UNPROCESSABLE_ENTITY, self::form(&view, &account, &values, &issues, None)).into_response()
            );
        }
    };
    match service::set_security_overrides(&state, &principal, UserId(id), overrides, values.version).await {
        Ok(_) => Ok(go(user.htmx, &format!("/console/users/{id}/security?notice=saved"))),
        Err(Error::Validation(issues)) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, self::form(&view, &account, &values, &issues, None)).into_response())
        }
        Err(Error::PreconditionFailed) => {
            let stale = html! {
                div.alert.alert-error role="alert" tabindex="-1" data-focus {
                    "Someone else changed this user since you opened this page, so nothing was saved. "
                    a href=(format!("/console/users/{id}/security")) { "Reload the page" }
                    " to see their changes, then make yours again."
                }
            };
            Ok((StatusCode::PRECONDITION_FAILED, self::form(&view, &account, &values, &[], Some(stale)))
                .into_response())
        }
        Err(err) => Err(user.fail(err)),
    }
}
