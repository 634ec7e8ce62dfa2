//! One user's actions besides editing: change the password (R23), delete (R22).
//! (The activity page is in `console/activity.rs`.)

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use secrecy::{ExposeSecret, SecretString};

use crate::access::Permission;
use crate::console::extract::{ConsoleUser, Failure, OrFail, go};
use crate::console::ui::{self, Field, Nav};
use crate::console::{Pairs, first};
use crate::error::{Error, FieldIssue};
use crate::ids::UserId;
use crate::model::AccountRecord;
use crate::state::AppState;
use crate::users::service::{self, UserView};

pub(in crate::console) fn breadcrumbs(u: &UserView, current: &str) -> Markup {
    html! {
        nav.breadcrumbs aria-label="Breadcrumb" {
            a href="/console/users" { "Users" } " / "
            a href=(format!("/console/users/{}/edit", u.id.0)) { (u.login) } " / "
            span aria-current="page" { (current) }
        }
    }
}

fn who(u: &UserView) -> String {
    if u.display_name == u.login { u.login.clone() } else { format!("{} ({})", u.display_name, u.login) }
}

pub(in crate::console) async fn password_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersPasswords).await?;
    let principal = user.principal(&account, Permission::UsersPasswords);
    // A user out of reach (D2) is refused here as the change would be: 403, with the reason.
    let view = crate::users::reach::changeable(&state, &principal, UserId(id)).await.or_fail(&user)?;
    if view.id == user.caller.user {
        return Ok(own_elsewhere(&user, &view, "Change password", "your password", "/console/me", "My account"));
    }
    let body = html! {
        (breadcrumbs(&view, "Change password"))
        (ui::page_head("Change password", Some(&format!("For {}", who(&view))), html! {}))
        @if view.locked_until.is_some() {
            div.alert.alert-info role="status" {
                (view.login) " is locked out after too many failed sign-ins. "
                a href=(format!("/console/users/{id}/sessions")) { "Unlock them" } " to let them sign in again."
            }
        }
        (password_form(&view, &policy_hint(&account), true, true, &[]))
    };
    Ok(user.page(Nav::Users, "Change password", body))
}

/// The account's password policy in one line, for the hint under a password field.
pub(in crate::console) fn policy_hint(account: &AccountRecord) -> String {
    ui::sentence(&account.security.password_policy.describe())
}

fn password_form(u: &UserView, hint: &str, generate: bool, must_change: bool, issues: &[FieldIssue]) -> Markup {
    let id = u.id.0;
    html! {
        form #password-form .panel.narrow hx-post=(format!("/console/users/{id}/password")) hx-target="this" hx-swap="outerHTML" novalidate {
            @if !issues.is_empty() {
                div.alert.alert-error role="alert" tabindex="-1" data-focus { "The password was not changed: see the messages below." }
            }
            p.muted { "A new password ends all of " (u.login) "'s sessions at once." }
            fieldset.password-choice {
                legend { "New password" }
                div.check {
                    input #pw-generate type="radio" name="password_mode" value="generate" checked[generate];
                    label for="pw-generate" { "Generate a strong password (shown once, to copy)" }
                }
                div.check {
                    input #pw-set type="radio" name="password_mode" value="set" checked[!generate];
                    label for="pw-set" { "Set a password" }
                }
                div.password-fields {
                    (Field::new("password", "New password", "").kind("password").autocomplete("new-password")
                        .hint(hint).render(issues))
                    (Field::new("password_confirm", "Confirm the new password", "").kind("password")
                        .autocomplete("new-password").render(issues))
                }
            }
            (ui::checkbox("must_change_password", "on", "Require a new password at next sign-in", must_change, "f-must_change_password"))
            div.form-actions {
                button.button.primary type="submit" { "Change password" }
                a.button.subtle href="/console/users" { "Cancel" }
            }
        }
    }
}

pub(in crate::console) async fn set_password(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    Form(form): Form<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersPasswords).await?;
    let principal = user.principal(&account, Permission::UsersPasswords);
    let view = service::get(&state, &principal, UserId(id)).await.or_fail(&user)?;
    let generate = first(&form, "password_mode") != Some("set");
    let must_change = first(&form, "must_change_password").is_some();
    let password = first(&form, "password").unwrap_or_default();
    let mut issues = Vec::new();
    if !generate {
        if password.is_empty() {
            issues.push(FieldIssue::new("password", "required", "enter a password, or choose to generate one"));
        } else if first(&form, "password_confirm") != Some(password) {
            issues.push(FieldIssue::new("password_confirm", "mismatch", "does not match the password"));
        }
    }
    if !issues.is_empty() {
        let form = password_form(&view, &policy_hint(&account), generate, must_change, &issues);
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, form).into_response());
    }
    let new_password = (!generate).then(|| SecretString::from(password.to_string()));
    match service::set_password(&state, &principal, UserId(id), new_password, must_change).await {
        Ok(generated) => Ok(password_changed(&view, generated.as_ref(), must_change).into_response()),
        Err(Error::Validation(issues)) => {
            let form = password_form(&view, &policy_hint(&account), generate, must_change, &issues);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, form).into_response())
        }
        Err(err) => Err(user.fail(err)),
    }
}

fn password_changed(u: &UserView, generated: Option<&SecretString>, must_change: bool) -> Markup {
    html! {
        section #password-form .panel.narrow.success-panel aria-labelledby="pw-done" {
            h2 #pw-done tabindex="-1" data-focus { "Password changed" }
            @if let Some(p) = generated {
                p { "Copy the new password for " (who(u)) " now: it will not be shown again." }
                (ui::secret_box("new-password", "New password", p.expose_secret()))
            } @else {
                p { (who(u)) " can now sign in with the password you set." }
            }
            p { "Their sessions were ended."
                @if must_change { " They will be asked to choose a new password at their next sign-in." } }
            div.button-row { a.button.primary href="/console/users" { "Back to users" } }
        }
    }
}

/// The page for what one changes about oneself only under My Account (D3), in place of a form.
pub(in crate::console) fn own_elsewhere(
    user: &ConsoleUser,
    view: &UserView,
    current: &str,
    what: &str,
    href: &str,
    place: &str,
) -> Response {
    let body = html! {
        (breadcrumbs(view, current))
        (ui::page_head(current, Some(&format!("For {}", who(view))), html! {}))
        section #own-user-note .panel.narrow aria-labelledby="own-title" {
            h2 #own-title { "This is you" }
            p { "You change " (what) " under " a href=(href) { (place) } ", which asks for your current password." }
        }
    };
    user.page(Nav::Users, current, body)
}

pub(in crate::console) async fn delete_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersDelete).await?;
    let principal = user.principal(&account, Permission::UsersDelete);
    // A user out of reach (D2) is refused here as deleting would be: 403, with the reason.
    let view = crate::users::reach::changeable(&state, &principal, UserId(id)).await.or_fail(&user)?;
    let myself = view.id == user.caller.user;
    let title = format!("Delete {}", view.login);
    let body = html! {
        (breadcrumbs(&view, "Delete"))
        section.panel.narrow.danger-zone aria-labelledby="delete-title" {
            h1 #delete-title { "Delete " (who(&view)) "?" }
            @if myself {
                (ui::alert("error", "You cannot delete yourself. Ask another admin to do it."))
            } @else {
                p {
                    "This removes the user with their role, group, desk and skill assignments, and ends their sessions. "
                    strong { "It cannot be undone." }
                }
                @if user.can(Permission::UsersEdit) {
                    p.muted {
                        "To keep them for later, "
                        a href=(format!("/console/users/{id}/edit")) { "disable the user" }
                        " instead."
                    }
                }
                form hx-post=(format!("/console/users/{id}/delete")) {
                    div.form-actions {
                        button.button.danger type="submit" { "Delete " (view.login) }
                        a.button.subtle href="/console/users" { "Cancel" }
                    }
                }
            }
        }
    };
    Ok(user.page(Nav::Users, &title, body))
}

pub(in crate::console) async fn delete(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersDelete).await?;
    let principal = user.principal(&account, Permission::UsersDelete);
    service::delete(&state, &principal, UserId(id)).await.or_fail(&user)?;
    Ok(go(user.htmx, "/console/users?notice=deleted"))
}
