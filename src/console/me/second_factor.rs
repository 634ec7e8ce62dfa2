//! My account → Two-factor (R26–R30): my method and mode, a new authenticator app, new
//! recovery codes. Every change asks for my password again (a session left open must not be
//! enough); what is secret (the key, the codes) is shown once, in the answer that made it.

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use secrecy::SecretString;

use crate::console::extract::{ConsoleUser, Failure, OrFail, go};
use crate::console::sign_in::steps::{authenticator_details, codes_box};
use crate::console::ui::{self, Field, Nav};
use crate::console::{Pairs, first};
use crate::error::{Error, FieldIssue};
use crate::model::user::{TwoFactorMethod, TwoFactorMode};
use crate::second_factor::manage::{self, SecondFactorStatus};
use crate::state::AppState;

/// `GET /console/me/second-factor`.
pub(in crate::console) async fn page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    let status = manage::status(&state, &user.caller).await.or_fail(&user)?;
    let notice = match first(&q, "notice") {
        Some("saved") => Some("Your two-factor settings were saved."),
        Some("totp") => Some("Your new authenticator app is set up; the old one no longer works."),
        Some("codes") => Some("Your new recovery codes are in use; the old ones no longer work."),
        _ => None,
    };
    let body = html! {
        nav.breadcrumbs aria-label="Breadcrumb" { a href="/console/me" { "My account" } " / " span aria-current="page" { "Two-factor" } }
        (ui::page_head("Two-factor", Some("The second factor you show at sign-in besides your password."), html! {}))
        @if let Some(n) = notice { (ui::alert("success", n)) }
        div.me-grid {
            (summary(&status))
            (method_form(&status, None, None, &[]))
            (enrol_form(&status, &[]))
            (codes_form(&status, &[]))
        }
    };
    Ok(user.page(Nav::Me, "Two-factor", body))
}

fn summary(s: &SecondFactorStatus) -> Markup {
    html! {
        section.panel aria-labelledby="sf-status" {
            h2 #sf-status { "Status" }
            dl.facts {
                dt { "Method" } dd #sf-method { (s.method.label()) }
                dt { "Asked" } dd #sf-mode { (s.mode.label()) }
                dt { "Authenticator app" } dd {
                    @if s.totp_enrolled { "Set up since " (ui::time_text(s.totp_enrolled_at.as_deref())) } @else { "Not set up" }
                }
                dt { "Recovery codes left" } dd #sf-codes-left { (s.recovery_codes_left) }
                dt { "Required" } dd {
                    @if s.required { "Yes: a second factor is mandatory for you and cannot be turned off." } @else { "No" }
                }
            }
        }
    }
}

fn options<T: Copy + PartialEq>(
    all: &[T],
    current: T,
    value: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
) -> Markup {
    html! { @for o in all { option value=(value(*o)) selected[*o == current] { (label(*o)) } } }
}

fn select(name: &str, label: &str, body: Markup, issues: &[FieldIssue]) -> Markup {
    let id = format!("f-{name}");
    let errors: Vec<&FieldIssue> = issues.iter().filter(|i| i.field == name).collect();
    html! {
        div.field.has-error[!errors.is_empty()] {
            label for=(id) { (label) }
            select id=(id) name=(name) aria-invalid=[(!errors.is_empty()).then_some("true")] { (body) }
            (ui::field_errors(&format!("{id}-error"), &errors))
        }
    }
}

fn password(issues: &[FieldIssue]) -> Markup {
    Field::new("current_password", "Current password", "")
        .kind("password")
        .required()
        .autocomplete("current-password")
        .render(issues)
}

fn not_changed(issues: &[FieldIssue]) -> Markup {
    html! {
        @if !issues.is_empty() {
            div.alert.alert-error role="alert" tabindex="-1" data-focus { "Nothing was changed: see the messages below." }
        }
    }
}

fn method_form(
    s: &SecondFactorStatus,
    method: Option<TwoFactorMethod>,
    mode: Option<TwoFactorMode>,
    issues: &[FieldIssue],
) -> Markup {
    let methods =
        options(&TwoFactorMethod::ALL, method.unwrap_or(s.method), TwoFactorMethod::as_str, TwoFactorMethod::label);
    let modes = options(&TwoFactorMode::ALL, mode.unwrap_or(s.mode), TwoFactorMode::as_str, TwoFactorMode::label);
    html! {
        form #sf-method-form .panel hx-post="/console/me/second-factor" hx-target="this" hx-swap="outerHTML" novalidate {
            h2 { "Method and when it is asked" }
            (not_changed(issues))
            (select("method", "Method", methods, issues))
            (select("mode", "Ask for it", modes, issues))
            (password(issues))
            div.form-actions { button.button.primary type="submit" { "Save" } }
        }
    }
}

fn enrol_form(s: &SecondFactorStatus, issues: &[FieldIssue]) -> Markup {
    html! {
        form #sf-totp-form .panel hx-post="/console/me/second-factor/totp" hx-target="this" hx-swap="outerHTML" novalidate {
            h2 { @if s.totp_enrolled { "Set up a new authenticator" } @else { "Set up an authenticator app" } }
            @if s.totp_enrolled {
                p.muted { "Your current app keeps working until you confirm a code from the new one; then it stops working, and you get new recovery codes." }
            }
            (not_changed(issues))
            (password(issues))
            div.form-actions { button.button.primary type="submit" { "Set up a new authenticator" } }
        }
    }
}

fn codes_form(s: &SecondFactorStatus, issues: &[FieldIssue]) -> Markup {
    html! {
        form #sf-codes-form .panel hx-post="/console/me/second-factor/recovery-codes" hx-target="this" hx-swap="outerHTML" novalidate {
            h2 { "New recovery codes" }
            p.muted { "Ten new codes, shown once. Your old codes stop working." }
            @if !s.totp_enrolled { p.muted { "Recovery codes come with an authenticator app: set one up first." } }
            (not_changed(issues))
            (password(issues))
            div.form-actions { button.button type="submit" { "Make new recovery codes" } }
        }
    }
}

fn secret(form: &Pairs) -> Option<SecretString> {
    first(form, "current_password").filter(|p| !p.is_empty()).map(|p| SecretString::from(p.to_string()))
}

fn password_required() -> Vec<FieldIssue> {
    vec![FieldIssue::new("current_password", "required", "enter your current password")]
}

fn refused(markup: Markup) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, markup).into_response()
}

/// `POST /console/me/second-factor`: method and mode.
pub(in crate::console) async fn save(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<Pairs>,
) -> Result<Response, Failure> {
    let status = manage::status(&state, &user.caller).await.or_fail(&user)?;
    let method = first(&form, "method").and_then(TwoFactorMethod::parse);
    let mode = first(&form, "mode").and_then(TwoFactorMode::parse);
    let mut issues = Vec::new();
    if method.is_none() {
        issues.push(FieldIssue::new("method", "unknown_choice", "choose a method from the list"));
    }
    if mode.is_none() {
        issues.push(FieldIssue::new("mode", "unknown_choice", "choose when it is asked from the list"));
    }
    let current = secret(&form);
    if current.is_none() {
        issues.extend(password_required());
    }
    let (Some(m), Some(d), Some(current), true) = (method, mode, current, issues.is_empty()) else {
        return Ok(refused(method_form(&status, method, mode, &issues)));
    };
    match manage::set_own(&state, &user.caller, &user.client, m, d, current).await {
        Ok(_) => Ok(go(user.htmx, "/console/me/second-factor?notice=saved")),
        Err(Error::Validation(mut issues)) => {
            // R27's refusal names the user's field; here it is the one called `method`.
            for i in &mut issues {
                if i.field == "two_factor_method" {
                    i.field = "method".into();
                }
            }
            Ok(refused(method_form(&status, method, mode, &issues)))
        }
        Err(err) => Err(user.fail(err)),
    }
}

/// `POST /console/me/second-factor/totp`: the password, then the new app's QR code and key.
pub(in crate::console) async fn start_enrolment(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<Pairs>,
) -> Result<Response, Failure> {
    let status = manage::status(&state, &user.caller).await.or_fail(&user)?;
    let Some(current) = secret(&form) else { return Ok(refused(enrol_form(&status, &password_required()))) };
    match manage::start_enrolment(&state, &user.caller, &user.client, current).await {
        Ok(details) => Ok(confirm_form(&status, &authenticator_details(&details), &[]).into_response()),
        Err(Error::Validation(issues)) => Ok(refused(enrol_form(&status, &issues))),
        Err(err) => Err(user.fail(err)),
    }
}

fn confirm_form(s: &SecondFactorStatus, details: &Markup, issues: &[FieldIssue]) -> Markup {
    html! {
        form #sf-totp-form .panel hx-post="/console/me/second-factor/totp/confirm" hx-target="this" hx-swap="outerHTML" novalidate {
            h2 { "Scan this with your new authenticator app" }
            @if s.totp_enrolled {
                (ui::alert("warning", "Once you confirm a code from the new app, the old app stops working."))
            }
            (details)
            (Field::new("code", "Code from the new app", "").required().autocomplete("one-time-code").render(issues))
            div.form-actions {
                button.button.primary type="submit" { "Confirm" }
                a.button.subtle href="/console/me/second-factor" { "Cancel" }
            }
        }
    }
}

/// `POST /console/me/second-factor/totp/confirm`: a code from the new app; new recovery codes.
pub(in crate::console) async fn confirm_enrolment(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<Pairs>,
) -> Result<Response, Failure> {
    let code = first(&form, "code").map(str::trim).unwrap_or_default();
    let result = if code.is_empty() {
        Err(Error::invalid("code", "required", "enter the code the new app shows"))
    } else {
        manage::confirm_enrolment(&state, &user.caller, &user.client, code).await
    };
    match result {
        Ok(codes) => Ok(codes_shown(&codes, "Your new authenticator app is set up.", "totp").into_response()),
        Err(Error::Validation(issues)) => {
            let status = manage::status(&state, &user.caller).await.or_fail(&user)?;
            let details = manage::pending_details(&state, &user.caller).await.or_fail(&user)?;
            Ok(refused(confirm_form(&status, &authenticator_details(&details), &issues)))
        }
        Err(err) => Err(user.fail(err)),
    }
}

/// `POST /console/me/second-factor/recovery-codes`.
pub(in crate::console) async fn regenerate_codes(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<Pairs>,
) -> Result<Response, Failure> {
    let status = manage::status(&state, &user.caller).await.or_fail(&user)?;
    let Some(current) = secret(&form) else { return Ok(refused(codes_form(&status, &password_required()))) };
    match manage::regenerate_recovery_codes(&state, &user.caller, &user.client, current).await {
        Ok(codes) => Ok(codes_shown(&codes, "Your old recovery codes no longer work.", "codes").into_response()),
        Err(Error::Validation(issues)) => Ok(refused(codes_form(&status, &issues))),
        Err(err) => Err(user.fail(err)),
    }
}

fn codes_shown(codes: &[String], headline: &str, notice: &str) -> Markup {
    html! {
        section.panel #sf-codes-shown aria-labelledby="sf-codes-title" {
            h2 #sf-codes-title { "Your new recovery codes" }
            (ui::alert("success", headline))
            (ui::alert("warning", "These codes are shown only now. Each signs you in once if you lose your phone: keep them somewhere safe."))
            (codes_box(codes))
            p { a.button.primary href=(format!("/console/me/second-factor?notice={notice}")) { "I have saved these codes" } }
        }
    }
}
