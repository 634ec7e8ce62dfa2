//! API tokens for the PBX's other parts: the list, a form to make one (with some of my own
//! permissions and an optional expiry), the new token shown once to copy (R9), and revoking.

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::extract::{ConsoleUser, Failure, OrFail, go};
use super::ui::{self, Field, Nav};
use super::{Pairs, all, first};
use crate::access::Permission;
use crate::error::{Error, FieldIssue};
use crate::state::AppState;
use crate::tokens;
use crate::tokens::service::{NewToken, TokenView};

/// What the create form shows.
#[derive(Default)]
struct Values {
    name: String,
    permissions: Vec<String>,
    expires: String,
}

/// `GET /console/tokens`.
pub(super) async fn page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::TokensView).await?;
    let items =
        tokens::service::list(&state, &user.principal(&account, Permission::TokensView), false).await.or_fail(&user)?;
    let notice = (first(&q, "notice") == Some("revoked")).then_some("The token was revoked: it no longer works.");
    let body = html! {
        (ui::page_head("API tokens", Some("Credentials for the PBX's other parts (dialer, web phone, reports) to use the API."), html! {}))
        @if let Some(n) = notice { (ui::alert("success", n)) }
        (token_table(&user, &items, false))
        @if user.can(Permission::TokensManage) {
            (create_form(&user, &Values::default(), &[]))
        }
    };
    Ok(user.page(Nav::Tokens, "API tokens", body))
}

fn token_table(user: &ConsoleUser, items: &[TokenView], oob: bool) -> Markup {
    let manage = user.can(Permission::TokensManage);
    let columns = if manage { 7 } else { 6 };
    html! {
        div.table-wrap #token-table hx-swap-oob=[oob.then_some("true")] {
            table.data.tokens {
                caption.visually-hidden { "API tokens" }
                thead { tr {
                    th scope="col" { "Name" }
                    th scope="col" { "Permissions" }
                    th scope="col" { "Created by" }
                    th scope="col" { "Created" }
                    th scope="col" { "Expires" }
                    th scope="col" { "Last used" }
                    @if manage { th scope="col" { span.visually-hidden { "Actions" } } }
                } }
                tbody #token-rows {
                    @if items.is_empty() { tr { td.empty colspan=(columns) { "No API tokens yet." } } }
                    @for t in items {
                        tr id=(format!("token-{}", t.id)) {
                            td { span.token-name { (t.name) } }
                            td { div.badges { @for p in &t.permissions {
                                span.badge.permission title=[Permission::parse(p).map(|p| p.description())] { (p) }
                            } } }
                            td { (t.created_by.login) }
                            td.nowrap { (ui::time_text(Some(&t.created_at))) }
                            td.nowrap { @match t.expires_at.as_deref() { Some(at) => (ui::time_text(Some(at))), None => "Never" } }
                            td.nowrap {
                                @match t.last_used_at.as_deref() { Some(at) => (ui::time_text(Some(at))), None => span.muted { "Never used" } }
                                @if let Some(d) = &t.directory {
                                    div.muted.directory-use {
                                        (format!("Directory: {} lookup{}", d.lookups, if d.lookups == 1 { "" } else { "s" }))
                                        @if d.not_allowed > 0 || d.unknown > 0 {
                                            (format!(" ({} not allowed, {} unknown)", d.not_allowed, d.unknown))
                                        }
                                    }
                                }
                            }
                            @if manage {
                                td.actions {
                                    button.button.small.danger-text type="button" hx-post=(format!("/console/tokens/{}/revoke", t.id))
                                        hx-confirm=(format!("Revoke the token “{}”? Whatever uses it stops working at once. This cannot be undone.", t.name)) {
                                        "Revoke" span.visually-hidden { " " (t.name) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn create_form(user: &ConsoleUser, v: &Values, issues: &[FieldIssue]) -> Markup {
    let held: Vec<Permission> = Permission::account_permissions().filter(|p| user.caller.may_give_token(*p)).collect();
    let perm_errors: Vec<&FieldIssue> = issues.iter().filter(|i| i.field == "permissions").collect();
    let exp_errors: Vec<&FieldIssue> = issues.iter().filter(|i| i.field == "expires_at").collect();
    let today = time::OffsetDateTime::now_utc().date();
    let min = (today + time::Duration::days(1)).to_string();
    html! {
        form #token-create .panel hx-post="/console/tokens" hx-target="this" hx-swap="outerHTML" novalidate aria-labelledby="token-create-title" {
            h2 #token-create-title { "Create a token" }
            @if !issues.is_empty() {
                div.alert.alert-error role="alert" tabindex="-1" data-focus { "The token was not created: see the messages below." }
            }
            div.narrow-fields {
                (Field::new("name", "Name", &v.name).required().maxlength(100).hint("What uses it, e.g. “IVR server”.").render(issues))
            }
            fieldset.checklist.field.has-error[!perm_errors.is_empty()] aria-describedby="f-permissions-hint" {
                legend { "Permissions" span.required aria-hidden="true" { " *" } }
                p.hint #f-permissions-hint { "Only permissions you hold yourself; the token never reaches further than you." }
                div.checklist-items.permissions {
                    @for p in &held {
                        div.check {
                            input type="checkbox" id=(format!("f-permissions-{}", p.as_str().replace('.', "-"))) name="permissions" value=(p.as_str())
                                checked[v.permissions.iter().any(|x| x == p.as_str())];
                            label for=(format!("f-permissions-{}", p.as_str().replace('.', "-"))) {
                                code { (p.as_str()) } span.desc { (p.description()) }
                            }
                        }
                    }
                }
                (ui::field_errors("f-permissions-error", &perm_errors))
            }
            div.field.narrow-fields.has-error[!exp_errors.is_empty()] {
                label for="f-expires_at" { "Expires on (optional)" }
                input #f-expires_at type="date" name="expires_at" value=(v.expires) min=(min)
                    aria-describedby=(if exp_errors.is_empty() { "f-expires_at-hint" } else { "f-expires_at-hint f-expires_at-error" })
                    aria-invalid=[(!exp_errors.is_empty()).then_some("true")];
                p.hint #f-expires_at-hint { "The token stops working at the end of this day (UTC). Blank: it does not expire." }
                (ui::field_errors("f-expires_at-error", &exp_errors))
            }
            div.form-actions { button.button.primary type="submit" { "Create token" } }
        }
    }
}

/// `2027-01-31` as the end of that day in UTC, RFC 3339; `None` for blank.
fn expiry(text: &str) -> Result<Option<String>, FieldIssue> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(text, &format) {
        Ok(date) => Ok(Some(format!("{date}T23:59:59Z"))),
        Err(_) => Err(FieldIssue::new("expires_at", "invalid", "must be a date such as 2027-01-31")),
    }
}

/// `POST /console/tokens`.
pub(super) async fn create(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::TokensManage).await?;
    let values = Values {
        name: first(&form, "name").unwrap_or_default().to_string(),
        permissions: all(&form, "permissions").map(str::to_string).collect(),
        expires: first(&form, "expires_at").unwrap_or_default().to_string(),
    };
    let expires_at = match expiry(&values.expires) {
        Ok(e) => e,
        Err(issue) => {
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, create_form(&user, &values, &[issue])).into_response());
        }
    };
    let actor = user.actor(&account);
    let new = NewToken { name: values.name.clone(), permissions: values.permissions.clone(), expires_at };
    match tokens::service::create(&state, &user.caller, &actor, account.id, new).await {
        Ok(view) => {
            let items = tokens::service::list(&state, &user.principal(&account, Permission::TokensView), false)
                .await
                .or_fail(&user)?;
            Ok(html! { (created(&view)) (token_table(&user, &items, true)) }.into_response())
        }
        Err(Error::Validation(issues)) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, create_form(&user, &values, &issues)).into_response())
        }
        Err(err) => Err(user.fail(err)),
    }
}

/// Replaces the form once the token exists: the token itself, shown this once.
fn created(view: &TokenView) -> Markup {
    html! {
        section #token-create .panel.success-panel aria-labelledby="token-created-title" {
            h2 #token-created-title tabindex="-1" data-focus { "Token “" (view.name) "” created" }
            p { "Copy the token now and store it where the program that uses it reads it: " strong { "it will not be shown again." } }
            (ui::secret_box("new-token", "Token", view.token.as_deref().unwrap_or_default()))
            p.muted { "Programs send it as " code { "Authorization: Bearer …" } "." }
            div.button-row { a.button href="/console/tokens" { "Done" } }
        }
    }
}

/// `POST /console/tokens/{id}/revoke`.
pub(super) async fn revoke(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::TokensManage).await?;
    tokens::service::revoke(&state, &user.principal(&account, Permission::TokensManage), id).await.or_fail(&user)?;
    Ok(go(user.htmx, "/console/tokens?notice=revoked"))
}
