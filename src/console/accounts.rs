//! Accounts, for platform operators (R17, R20): every account with its users and seats; a new
//! account with its first admin (invited, or with a generated password shown once); rename,
//! enable or disable, seats; and acting inside any account (a switcher kept in a cookie, which
//! every console page follows through `ConsoleUser::allow`).

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use maud::{Markup, html};

use super::extract::{ACTING_COOKIE, ConsoleUser, Failure, OrFail, go};
use super::ui::{self, Field, Nav};
use super::users::security::select_field;
use super::{Pairs, first};
use crate::accounts::service::{self as accounts, AccountEdit, FirstAdmin};
use crate::error::{Error, FieldIssue};
use crate::state::AppState;

const PAGE: i64 = 50;

fn operator_only(user: &ConsoleUser) -> Result<(), Failure> {
    match user.caller.platform_operator {
        true => Ok(()),
        false => Err(user.fail(Error::Forbidden("the Accounts page is for platform operators".into()))),
    }
}

#[derive(Default)]
struct NewValues {
    slug: String,
    name: String,
    seats: String,
    admin: String,
    how: String,
}

/// `GET /console/accounts`.
pub(super) async fn list(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    operator_only(&user)?;
    let body = page_body(
        &state,
        &user,
        first(&q, "cursor"),
        &NewValues { how: "invite".into(), ..Default::default() },
        &[],
        None,
    )
    .await?;
    Ok(user.page(Nav::Accounts, "Accounts", body))
}

async fn page_body(
    state: &AppState,
    user: &ConsoleUser,
    cursor: Option<&str>,
    v: &NewValues,
    issues: &[FieldIssue],
    created: Option<Markup>,
) -> Result<Markup, Failure> {
    let (rows, next) = accounts::overview(state, cursor, PAGE).await.or_fail(user)?;
    Ok(html! {
        (ui::page_head("Accounts", Some("Every account on this Roster: its users and seats. Act in one to manage it as its admins do."), html! {}))
        @if let Some(c) = created { (c) }
        div.table-wrap {
            table.data #accounts {
                caption.visually-hidden { "Accounts" }
                thead { tr {
                    th scope="col" { "Account" } th scope="col" { "Name" } th scope="col" { "State" }
                    th scope="col" { "Users" } th scope="col" { "Seats" } th scope="col" { span.visually-hidden { "Actions" } }
                } }
                tbody {
                    @for r in &rows {
                        tr data-account=(r.account.slug) {
                            td { a href=(format!("/console/accounts/{}", r.account.slug)) { (r.account.slug) } }
                            td { (r.account.name) }
                            td { @if r.account.enabled { "Enabled" } @else { span.status.status-disabled { "Disabled" } } }
                            td { (r.users) }
                            td { (r.seats_used) " of " @match r.account.seat_limit { Some(t) => (t), None => "no limit" } }
                            td {
                                @if r.account.slug != user.caller.account_slug {
                                    button.button.subtle type="button" hx-post=(format!("/console/accounts/{}/act", r.account.slug)) { "Act in it" }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(next) = next {
            nav.pager aria-label="Pages" { a.button href=(format!("/console/accounts?{}", ui::query_string(&[("cursor", &next)]))) rel="next" { "Next" } }
        }
        h2 { "New account" }
        (new_form(v, issues))
    })
}

fn new_form(v: &NewValues, issues: &[FieldIssue]) -> Markup {
    let ways = [
        ("invite".to_string(), "Invite them by email".to_string()),
        ("password".to_string(), "Make them now with a generated password".to_string()),
    ];
    html! {
        form #new-account .panel.narrow hx-post="/console/accounts" hx-target="body" novalidate {
            @if !issues.is_empty() { div.alert.alert-error role="alert" tabindex="-1" data-focus { "The account was not created: see the messages below." } }
            (Field::new("slug", "Account id", &v.slug).required().maxlength(63).hint("Lower-case letters, digits and “-”; in sign-in and in the API's paths.").render(issues))
            (Field::new("name", "Name", &v.name).required().maxlength(80).render(issues))
            (Field::new("seats", "Seats", &v.seats).hint("Empty: no limit.").render(issues))
            (select_field("how", "First admin", &v.how, &ways, "Invited, they choose their login and password and set up a second factor.", issues))
            (Field::new("admin", "Admin's email (invite) or login (generated password)", &v.admin).required().render(issues))
            div.form-actions { button.button.primary type="submit" { "Create the account" } }
        }
    }
}

/// `POST /console/accounts`.
pub(super) async fn create(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<Pairs>,
) -> Result<Response, Failure> {
    operator_only(&user)?;
    let text = |k: &str| first(&form, k).unwrap_or_default().trim().to_string();
    let v = NewValues {
        slug: text("slug"),
        name: text("name"),
        seats: text("seats"),
        admin: text("admin"),
        how: text("how"),
    };
    let seats = match v.seats.as_str() {
        "" => None,
        s => match s.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                let issue = FieldIssue::new("seats", "not_a_number", "must be a whole number");
                let body = page_body(&state, &user, None, &v, &[issue], None).await?;
                return Ok(
                    (StatusCode::UNPROCESSABLE_ENTITY, user.page(Nav::Accounts, "Accounts", body)).into_response()
                );
            }
        },
    };
    let first_admin = match v.how.as_str() {
        "password" => FirstAdmin::Password { login: &v.admin },
        _ => FirstAdmin::Invite { email: &v.admin },
    };
    let principal = user.caller.principal(user.caller.account, crate::access::Permission::AccountsManage, &user.client);
    let rename = |i: FieldIssue| match i.field.as_str() {
        "admin_email" | "admin_login" => FieldIssue::new("admin", i.code, i.message),
        "seat_limit" => FieldIssue::new("seats", i.code, i.message),
        _ => i,
    };
    match accounts::create_with_admin(&state, &principal, &v.slug, &v.name, seats, first_admin).await {
        Ok((account, password)) => {
            let created = html! {
                div.alert.alert-success role="status" #account-created {
                    "The account " strong { (account.slug) } " was created. "
                    @match &password {
                        Some(pw) => {
                            "Its admin " strong { (v.admin) } " signs in with this password, shown only now: "
                            code #generated-password { (secrecy::ExposeSecret::expose_secret(pw)) }
                        },
                        None => { "The invitation was sent to " (v.admin) "." },
                    }
                }
            };
            let body = page_body(
                &state,
                &user,
                None,
                &NewValues { how: "invite".into(), ..Default::default() },
                &[],
                Some(created),
            )
            .await?;
            Ok(user.page(Nav::Accounts, "Accounts", body))
        }
        Err(Error::Validation(issues)) => {
            let issues: Vec<FieldIssue> = issues.into_iter().map(rename).collect();
            let body = page_body(&state, &user, None, &v, &issues, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, user.page(Nav::Accounts, "Accounts", body)).into_response())
        }
        Err(err @ (Error::Conflict { .. } | Error::StateConflict(_))) => {
            let field = match &err {
                Error::Conflict { field, .. } => field.to_string(),
                Error::StateConflict(i) => i.field.clone(),
                _ => String::new(),
            };
            let issue = rename(FieldIssue::new(field, "taken", ui::error_sentence(&err)));
            let body = page_body(&state, &user, None, &v, &[issue], None).await?;
            Ok((StatusCode::CONFLICT, user.page(Nav::Accounts, "Accounts", body)).into_response())
        }
        Err(err) => Err(user.fail(err)),
    }
}

/// `GET /console/accounts/{slug}`.
pub(super) async fn edit_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(slug): Path<String>,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    operator_only(&user)?;
    let account =
        accounts::by_slug(&state, &slug).await.or_fail(&user)?.ok_or_else(|| user.fail(Error::NotFound("account")))?;
    let saved = first(&q, "notice") == Some("saved");
    Ok(user.page(Nav::Accounts, &format!("Account {slug}"), edit_body(&account, saved, &[])))
}

fn edit_body(a: &crate::model::AccountRecord, saved: bool, issues: &[FieldIssue]) -> Markup {
    let seats = a.seat_limit.map(|s| s.to_string()).unwrap_or_default();
    html! {
        nav.breadcrumbs aria-label="Breadcrumb" { a href="/console/accounts" { "Accounts" } " / " span aria-current="page" { (a.slug) } }
        (ui::page_head(&a.name, Some("Rename, enable or disable, and size the account."), html! {
            button.button type="button" hx-post=(format!("/console/accounts/{}/act", a.slug)) { "Act in it" }
        }))
        @if saved { (ui::alert("success", "The account was saved.")) }
        form #account-form .panel.narrow hx-post=(format!("/console/accounts/{}", a.slug)) hx-target="body" novalidate {
            @if !issues.is_empty() { div.alert.alert-error role="alert" { "Not saved: see the messages below." } }
            input type="hidden" name="version" value=(a.version);
            (Field::new("name", "Name", &a.name).required().maxlength(80).render(issues))
            (Field::new("seats", "Seats", &seats).hint("Empty: no limit.").render(issues))
            fieldset.checks {
                legend { "State" }
                (ui::checkbox("enabled", "on", "Enabled: its users can sign in (disabling ends their sessions)", a.enabled, "f-enabled"))
                (ui::checkbox("seats_self_service", "on", "Its Financial role (billing.manage) may change the seats", a.seats_self_service, "f-seats-self-service"))
            }
            div.form-actions { button.button.primary type="submit" { "Save" } }
        }
    }
}

/// `POST /console/accounts/{slug}`.
pub(super) async fn save(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(slug): Path<String>,
    Form(form): Form<Pairs>,
) -> Result<Response, Failure> {
    operator_only(&user)?;
    let account =
        accounts::by_slug(&state, &slug).await.or_fail(&user)?.ok_or_else(|| user.fail(Error::NotFound("account")))?;
    let seats_text = first(&form, "seats").unwrap_or_default().trim().to_string();
    let seats = match seats_text.as_str() {
        "" => None,
        s => match s.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                let issue = FieldIssue::new("seats", "not_a_number", "must be a whole number");
                return Ok((
                    StatusCode::UNPROCESSABLE_ENTITY,
                    user.page(Nav::Accounts, &slug, edit_body(&account, false, &[issue])),
                )
                    .into_response());
            }
        },
    };
    let version = first(&form, "version").and_then(|v| v.parse().ok()).unwrap_or(0);
    let edit = AccountEdit {
        name: first(&form, "name"),
        enabled: Some(first(&form, "enabled").is_some()),
        seat_limit: Some(seats),
        seats_self_service: Some(first(&form, "seats_self_service").is_some()),
        ..Default::default()
    };
    let principal = user.caller.principal(account.id, crate::access::Permission::AccountsManage, &user.client);
    match accounts::update(&state, &principal, account.id, version, edit).await {
        Ok(_) => Ok(go(user.htmx, &format!("/console/accounts/{slug}?notice=saved"))),
        Err(Error::Validation(issues)) => {
            let issues: Vec<FieldIssue> = issues
                .into_iter()
                .map(|i| if i.field == "seat_limit" { FieldIssue::new("seats", i.code, i.message) } else { i })
                .collect();
            Ok((StatusCode::UNPROCESSABLE_ENTITY, user.page(Nav::Accounts, &slug, edit_body(&account, false, &issues)))
                .into_response())
        }
        Err(Error::PreconditionFailed) => {
            let issue =
                FieldIssue::new("version", "stale", "someone else changed this account meanwhile: reload the page");
            Ok((StatusCode::PRECONDITION_FAILED, user.page(Nav::Accounts, &slug, edit_body(&account, false, &[issue])))
                .into_response())
        }
        Err(err) => Err(user.fail(err)),
    }
}

fn acting_cookie(value: String, secure: bool) -> Cookie<'static> {
    let mut cookie = Cookie::new(ACTING_COOKIE, value);
    cookie.set_path("/");
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Strict);
    cookie.set_secure(secure);
    cookie
}

/// `POST /console/accounts/{slug}/act`: from now on the console works in that account.
pub(super) async fn act(
    State(state): State<AppState>,
    user: ConsoleUser,
    jar: CookieJar,
    Path(slug): Path<String>,
) -> Result<Response, Failure> {
    operator_only(&user)?;
    let account =
        accounts::by_slug(&state, &slug).await.or_fail(&user)?.ok_or_else(|| user.fail(Error::NotFound("account")))?;
    let jar = jar.add(acting_cookie(account.slug, state.config.secure_cookies()));
    Ok((jar, go(user.htmx, "/console/users")).into_response())
}

/// `POST /console/accounts/home`: back to one's own account.
pub(super) async fn home(State(state): State<AppState>, user: ConsoleUser, jar: CookieJar) -> Response {
    let mut gone = acting_cookie(String::new(), state.config.secure_cookies());
    gone.make_removal();
    (jar.add(gone), go(user.htmx, "/console/users")).into_response()
}
