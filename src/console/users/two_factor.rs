//! The users table's Two-Factor column (R28): a drop-down per user to change the method or
//! reset the authenticator, each through a confirmation page (plain links, so the choice
//! works without scripts; the change itself is an htmx post like every console change).

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::actions::breadcrumbs;
use crate::access::Permission;
use crate::console::extract::{ConsoleUser, Failure, OrFail, go};
use crate::console::ui::{self, Nav};
use crate::console::{Pairs, first};
use crate::error::{Error, FieldIssue};
use crate::ids::UserId;
use crate::model::user::TwoFactorMethod;
use crate::state::AppState;
use crate::users::input::UserInput;
use crate::users::service::{self, UserView};

const RESET: &str = "reset";

/// What the drop-down offers: a method, or resetting the authenticator.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    Method(TwoFactorMethod),
    Reset,
}

impl Change {
    fn parse(s: &str) -> Option<Change> {
        match s {
            RESET => Some(Change::Reset),
            m => TwoFactorMethod::parse(m).map(Change::Method),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Change::Method(m) => m.as_str(),
            Change::Reset => RESET,
        }
    }
}

fn label(m: TwoFactorMethod) -> &'static str {
    match m {
        TwoFactorMethod::Either => "Either",
        other => other.label(),
    }
}

/// The cell: the method, whether the authenticator is set up, and the drop-down when the viewer
/// may change this user's second factor (`editable`: users.edit, in reach, not oneself).
pub(in crate::console) fn cell(u: &UserView, editable: bool) -> Markup {
    let id = u.id.0;
    let current = u.two_factor_method;
    let link = |c: Change| format!("/console/users/{id}/two-factor?change={}", c.as_str());
    html! {
        div.two-factor {
            @if editable {
                details.menu {
                    summary.button.subtle.small {
                        (label(current)) span.visually-hidden { ": change the two-factor method of " (u.login) }
                    }
                    ul.menu-list {
                        @for m in TwoFactorMethod::ALL {
                            @if m != current { li { a href=(link(Change::Method(m))) { (label(m)) } } }
                        }
                        @if u.totp_enrolled { li { a.danger href=(link(Change::Reset)) { "Reset OTP authenticator secret" } } }
                    }
                }
            } @else {
                span { (label(current)) }
            }
            @if current.uses_totp() || u.totp_enrolled {
                div.muted.small {
                    @if u.totp_enrolled { "Authenticator set up" } @else { "Authenticator not set up yet" }
                }
            }
        }
    }
}

/// `GET /console/users/{id}/two-factor?change=…`: the confirmation.
pub(in crate::console) async fn confirm_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersEdit).await?;
    let principal = user.principal(&account, Permission::UsersEdit);
    // A user out of reach (D2) is refused here as the change would be: 403, with the reason.
    let view = crate::users::reach::changeable(&state, &principal, UserId(id)).await.or_fail(&user)?;
    if view.id == user.caller.user {
        let page = super::actions::own_elsewhere(
            &user,
            &view,
            "Two-factor",
            "your second factor",
            "/console/me/second-factor",
            "My account → Two-factor",
        );
        return Ok(page);
    }
    let change = first(&q, "change").and_then(Change::parse).ok_or_else(|| {
        user.fail(Error::invalid("change", "unknown_choice", "must be disabled, email, totp, either or reset"))
    })?;
    let body = html! {
        (breadcrumbs(&view, "Two-factor"))
        (ui::page_head("Change the second factor", Some(&format!("For {}", view.login)), html! {}))
        (form(&view, change, None))
    };
    Ok(user.page(Nav::Users, "Change the second factor", body))
}

fn explain(u: &UserView, change: Change) -> String {
    let who = &u.login;
    match change {
        Change::Reset => format!(
            "Reset {who}'s authenticator? The app on their phone stops working now; at their next sign-in they set up a new one \
             and get new recovery codes."
        ),
        Change::Method(TwoFactorMethod::Disabled) => {
            format!("Turn off {who}'s second factor? They will sign in with their password alone.")
        }
        Change::Method(m) => {
            let mut s = format!(
                "Change {who}'s two-factor method from {} to {}? They use the new method at their next sign-in.",
                label(u.two_factor_method),
                label(m)
            );
            if m.uses_totp() && !u.totp_enrolled {
                s.push_str(" They will set up an authenticator app then.");
            }
            if m.uses_email() {
                s.push_str(" Codes go to their email address.");
            }
            s
        }
    }
}

fn form(u: &UserView, change: Change, issues: Option<&[FieldIssue]>) -> Markup {
    let id = u.id.0;
    let danger = matches!(change, Change::Reset | Change::Method(TwoFactorMethod::Disabled));
    html! {
        form #two-factor-form .panel.narrow hx-post=(format!("/console/users/{id}/two-factor")) hx-target="this" hx-swap="outerHTML" {
            @if let Some(issues) = issues {
                div.alert.alert-error role="alert" tabindex="-1" data-focus {
                    p { "Nothing was changed." }
                    ul { @for i in issues { li #(format!("two-factor-error-{}", i.code)) { (ui::sentence(&i.message)) } } }
                }
            }
            p.lead { (explain(u, change)) }
            input type="hidden" name="change" value=(change.as_str());
            input type="hidden" name="version" value=(u.version);
            div.form-actions {
                button.button.primary.danger[danger] type="submit" {
                    @match change { Change::Reset => "Reset the authenticator", Change::Method(_) => "Change the method" }
                }
                a.button.subtle href="/console/users" { "Cancel" }
            }
        }
    }
}

/// `POST /console/users/{id}/two-factor`.
pub(in crate::console) async fn apply(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    Form(form_data): Form<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersEdit).await?;
    let principal = user.principal(&account, Permission::UsersEdit);
    let view = service::get(&state, &principal, UserId(id)).await.or_fail(&user)?;
    let change = first(&form_data, "change").and_then(Change::parse).ok_or_else(|| {
        user.fail(Error::invalid("change", "unknown_choice", "must be disabled, email, totp, either or reset"))
    })?;
    let result = match change {
        Change::Reset => {
            crate::second_factor::manage::reset_authenticator(&state, &principal, UserId(id)).await.map(|_| ())
        }
        Change::Method(m) => {
            // The version the page was shown at: a change made since is not overwritten.
            let version = first(&form_data, "version").and_then(|v| v.parse().ok()).unwrap_or(view.version);
            let input = UserInput { two_factor_method: Some(m.as_str().to_string()), ..Default::default() };
            service::update(&state, &principal, UserId(id), version, input).await.map(|_| ())
        }
    };
    match result {
        Ok(()) => {
            state.mail.wake();
            let notice = if change == Change::Reset { "totp_reset" } else { "two_factor" };
            Ok(go(user.htmx, &format!("/console/users?notice={notice}")))
        }
        Err(err @ (Error::Validation(_) | Error::Conflict { .. })) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, form(&view, change, Some(&err.field_issues()))).into_response())
        }
        Err(Error::PreconditionFailed) => {
            let stale = [FieldIssue::new(
                "version",
                "stale",
                "someone else changed this user since this page was opened: go back and try again",
            )];
            Ok((StatusCode::PRECONDITION_FAILED, form(&view, change, Some(&stale))).into_response())
        }
        Err(err) => Err(user.fail(err)),
    }
}
