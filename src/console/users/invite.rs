//! Users → Invite (R19): one address or many (one per line, or CSV with an `email` header and
//! optional `first_name`, `last_name`, `extension`, `login` columns), with roles, desks and
//! groups; sent now or saved to send later. And an invited user's Invitation page: resend,
//! change the address, revoke.

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use crate::access::Permission;
use crate::console::extract::{ConsoleUser, Failure, OrFail, go};
use crate::console::ui::{self, Nav};
use crate::console::{Catalog, Pairs, all, first};
use crate::error::{Error, FieldIssue};
use crate::ids::{DeskId, GroupId, InvitationId, RoleId, UserId};
use crate::users::invitations::{self, InviteRequest, Invitee};

#[derive(Default)]
struct Values {
    addresses: String,
    roles: Vec<i64>,
    desks: Vec<i64>,
    groups: Vec<i64>,
}

/// The people in the text: CSV when the first line names an `email` column, else addresses
/// one per line (or separated by commas or semicolons).
fn invitees(text: &str) -> Result<Vec<Invitee>, FieldIssue> {
    let first_line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or_default();
    let header: Vec<String> = first_line.split(',').map(|c| c.trim().to_ascii_lowercase()).collect();
    if header.iter().any(|c| c == "email") {
        let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.trim().as_bytes());
        let columns: Vec<String> = reader
            .headers()
            .map_err(|e| FieldIssue::new("addresses", "csv", format!("the CSV header cannot be read: {e}")))?
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        if let Some(unknown) =
            columns.iter().find(|c| !["email", "first_name", "last_name", "extension", "login"].contains(&c.as_str()))
        {
            return Err(FieldIssue::new(
                "addresses",
                "csv",
                format!("unknown column {unknown:?}: use email, first_name, last_name, extension, login"),
            ));
        }
        let mut out = Vec::new();
        for (n, record) in reader.records().enumerate() {
            let record = record
                .map_err(|e| FieldIssue::new("addresses", "csv", format!("line {} cannot be read: {e}", n + 2)))?;
            let get = |name: &str| {
                columns
                    .iter()
                    .position(|c| c == name)
                    .and_then(|i| record.get(i))
                    .map(str::to_string)
                    .filter(|v| !v.is_empty())
            };
            out.push(Invitee {
                email: get("email").unwrap_or_default(),
                login: get("login"),
                first_name: get("first_name"),
                last_name: get("last_name"),
                extension: get("extension"),
            });
        }
        return Ok(out);
    }
    Ok(text
        .split(['\n', ',', ';'])
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| Invitee { email: a.to_string(), ..Default::default() })
        .collect())
}

/// `GET /console/users/invite`.
pub(in crate::console) async fn page(State(state): State<AppState>, user: ConsoleUser) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersCreate).await?;
    let catalog = grantable(&state, &user, &account).await?;
    Ok(user.page(Nav::Users, "Invite users", body(&user, &catalog, &Values::default(), &[])))
}

async fn grantable(
    state: &AppState,
    user: &ConsoleUser,
    account: &crate::model::AccountRecord,
) -> Result<Catalog, Failure> {
    let principal = user.principal(account, Permission::UsersCreate);
    let catalog = Catalog::load(state, account.id).await.or_fail(user)?;
    match user.can(Permission::UsersEdit) {
        true => catalog.only_grantable(state, &principal, &[], &[]).await.or_fail(user),
        // Without users.edit one gives no roles or groups (D1): desks only.
        false => Ok(Catalog { roles: Vec::new(), groups: Vec::new(), ..catalog }),
    }
}

use crate::state::AppState;

fn body(user: &ConsoleUser, catalog: &Catalog, v: &Values, issues: &[FieldIssue]) -> Markup {
    html! {
        nav.breadcrumbs aria-label="Breadcrumb" { a href="/console/users" { "Users" } " / " span aria-current="page" { "Invite" } }
        (ui::page_head("Invite users", Some("Each person gets an email with a link to choose their login and password; until then they are listed as Invited and occupy a seat."), html! {}))
        (form(user, catalog, v, issues))
    }
}

fn form(_user: &ConsoleUser, catalog: &Catalog, v: &Values, issues: &[FieldIssue]) -> Markup {
    let errors: Vec<&FieldIssue> = issues.iter().collect();
    let select = |name: &str, label: &str, items: &[crate::store::named::NamedRecord], chosen: &[i64]| {
        html! {
            @if !items.is_empty() {
                div.field {
                    label for=(format!("f-{name}")) { (label) }
                    select id=(format!("f-{name}")) name=(name) multiple size="4" {
                        @for i in items { option value=(i.id) selected[chosen.contains(&i.id)] { (i.name) } }
                    }
                }
            }
        }
    };
    html! {
        form #invite-form .panel hx-post="/console/users/invite" hx-target="this" hx-swap="outerHTML" novalidate {
            @if !errors.is_empty() {
                div.alert.alert-error role="alert" tabindex="-1" data-focus {
                    "Nobody was invited: "
                    @for e in &errors { (e.field.replace('_', " ")) ": " (ui::sentence(&e.message)) " " }
                }
            }
            div.field {
                label for="f-addresses" { "Email addresses" span.required aria-hidden="true" { " *" } }
                textarea #f-addresses name="addresses" rows="8" required aria-describedby="f-addresses-hint" { (v.addresses) }
                p.hint #f-addresses-hint { "One per line, or paste CSV with a header line naming email and, if you like, first_name, last_name, extension, login." }
            }
            (select("roles", "Roles", &catalog.roles, &v.roles))
            (select("desks", "Desks", &catalog.desks, &v.desks))
            (select("groups", "Groups", &catalog.groups, &v.groups))
            div.form-actions {
                button.button.primary type="submit" name="send" value="now" { "Send invitations" }
                button.button type="submit" name="send" value="later" { "Save and send later" }
                a.button.subtle href="/console/users" { "Cancel" }
            }
        }
    }
}

/// `POST /console/users/invite`.
pub(in crate::console) async fn create(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form_data): Form<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersCreate).await?;
    let principal = user.principal(&account, Permission::UsersCreate);
    let ids = |k: &str| all(&form_data, k).filter_map(|v| v.parse().ok()).collect::<Vec<i64>>();
    let v = Values {
        addresses: first(&form_data, "addresses").unwrap_or_default().to_string(),
        roles: ids("roles"),
        desks: ids("desks"),
        groups: ids("groups"),
    };
    let catalog = grantable(&state, &user, &account).await?;
    let people = match invitees(&v.addresses) {
        Ok(p) => p,
        Err(issue) => {
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, form(&user, &catalog, &v, &[issue])).into_response());
        }
    };
    let send = first(&form_data, "send") != Some("later");
    let req = InviteRequest {
        invitees: people,
        roles: v.roles.iter().copied().map(RoleId).collect(),
        desks: v.desks.iter().copied().map(DeskId).collect(),
        groups: v.groups.iter().copied().map(GroupId).collect(),
        send,
    };
    match invitations::invite(&state, &principal, req).await {
        Ok(made) => {
            let notice = if send { "invited" } else { "invitations_saved" };
            Ok(go(user.htmx, &format!("/console/users?status=invited&notice={notice}&count={}", made.len())))
        }
        Err(Error::Validation(issues)) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, form(&user, &catalog, &v, &issues)).into_response())
        }
        Err(Error::StateConflict(issue)) => {
            Ok((StatusCode::CONFLICT, form(&user, &catalog, &v, &[issue])).into_response())
        }
        Err(err @ Error::Conflict { .. }) => {
            let issue = FieldIssue::new("addresses", "taken", ui::error_sentence(&err));
            Ok((StatusCode::CONFLICT, form(&user, &catalog, &v, &[issue])).into_response())
        }
        Err(err) => Err(user.fail(err)),
    }
}

/// `GET /console/users/{id}/invitation`: an invited user's invitation, and what may be done.
pub(in crate::console) async fn invitation_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
) -> Result<Response, Failure> {
    render(&state, &user, id, None, &[]).await
}

async fn render(
    state: &AppState,
    user: &ConsoleUser,
    id: i64,
    notice: Option<&str>,
    issues: &[FieldIssue],
) -> Result<Response, Failure> {
    let account = user.allow(state, Permission::UsersView).await?;
    let principal = user.principal(&account, Permission::UsersView);
    let view = crate::users::service::get(state, &principal, UserId(id)).await.or_fail(user)?;
    let invitation = invitations::open_of(state, &principal, UserId(id)).await.or_fail(user)?;
    let title = format!("Invitation of {}", view.login);
    let may_send = user.can(Permission::UsersCreate);
    let may_change = user.can(Permission::UsersEdit);
    let may_revoke = user.can(Permission::UsersDelete);
    let body = html! {
        (super::actions::breadcrumbs(&view, "Invitation"))
        (ui::page_head(&title, None, html! {}))
        @if let Some(n) = notice { (ui::alert("success", n)) }
        @if !issues.is_empty() { div.alert.alert-error role="alert" { @for i in issues { (ui::sentence(&i.message)) " " } } }
        @match &invitation {
            None => p { "This user has no open invitation." },
            Some(inv) => {
                dl.facts #invitation-facts {
                    dt { "Address" } dd { (inv.email) }
                    dt { "State" } dd {
                        @if inv.expired { span.status.status-locked { "Expired" } }
                        @else if inv.state == crate::model::invitation::InvitationState::Saved { "Saved, not sent yet" }
                        @else { "Sent" }
                    }
                    dt { "Invited by" } dd { (inv.invited_by_label) }
                    @if let Some(at) = &inv.sent_at { dt { "Last sent" } dd { (ui::time_text(Some(at))) } }
                    @if let Some(at) = &inv.expires_at { dt { "Link works until" } dd { (ui::time_text(Some(at))) } }
                    dt { "Times sent" } dd { (inv.sends) }
                }
                div.form-actions {
                    @if may_send {
                        button.button.primary type="button" hx-post=(format!("/console/users/{id}/invitation/send")) hx-target="body" {
                            @if inv.sends == 0 { "Send now" } @else { "Send again" }
                        }
                    }
                    @if may_revoke {
                        button.button.danger type="button" hx-post=(format!("/console/users/{id}/invitation/revoke")) hx-target="body"
                            hx-confirm="Revoke this invitation? The link stops working and the invited user is removed." { "Revoke" }
                    }
                }
                @if may_change {
                    form.panel.narrow hx-post=(format!("/console/users/{id}/invitation/address")) hx-target="body" {
                        (ui::Field::new("email", "Send to another address", "").kind("email").render(issues))
                        button.button type="submit" { "Change the address" }
                    }
                }
            }
        }
    };
    let status = if issues.is_empty() { StatusCode::OK } else { StatusCode::CONFLICT };
    Ok((status, user.page(Nav::Users, &title, body)).into_response())
}

async fn open_id(state: &AppState, user: &ConsoleUser, id: i64) -> Result<InvitationId, Failure> {
    let account = user.allow(state, Permission::UsersView).await?;
    let principal = user.principal(&account, Permission::UsersView);
    let open = invitations::open_of(state, &principal, UserId(id)).await.or_fail(user)?;
    open.map(|i| i.id).ok_or_else(|| user.fail(Error::NotFound("invitation")))
}

/// `POST /console/users/{id}/invitation/send`.
pub(in crate::console) async fn send(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersCreate).await?;
    let invitation = open_id(&state, &user, id).await?;
    match invitations::resend(&state, &user.principal(&account, Permission::UsersCreate), invitation).await {
        Ok(_) => render(&state, &user, id, Some("The invitation was sent."), &[]).await,
        Err(err @ (Error::TooSoon(..) | Error::StateConflict(_))) => {
            render(&state, &user, id, None, &[FieldIssue::new("send", "refused", ui::error_sentence(&err))]).await
        }
        Err(err) => Err(user.fail(err)),
    }
}

/// `POST /console/users/{id}/invitation/address`.
pub(in crate::console) async fn readdress(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    Form(form_data): Form<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersEdit).await?;
    let invitation = open_id(&state, &user, id).await?;
    let email = first(&form_data, "email").unwrap_or_default();
    match invitations::readdress(&state, &user.principal(&account, Permission::UsersEdit), invitation, email).await {
        Ok(_) => render(&state, &user, id, Some("The address was changed; the old link no longer works."), &[]).await,
        Err(Error::Validation(issues)) => render(&state, &user, id, None, &issues).await,
        Err(err @ (Error::Conflict { .. } | Error::StateConflict(_))) => {
            render(&state, &user, id, None, &[FieldIssue::new("email", "refused", ui::error_sentence(&err))]).await
        }
        Err(err) => Err(user.fail(err)),
    }
}

/// `POST /console/users/{id}/invitation/revoke`.
pub(in crate::console) async fn revoke(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersDelete).await?;
    let invitation = open_id(&state, &user, id).await?;
    invitations::revoke(&state, &user.principal(&account, Permission::UsersDelete), invitation).await.or_fail(&user)?;
    Ok(go(user.htmx, "/console/users?notice=revoked"))
}
