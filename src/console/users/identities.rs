//! A user's identities at the account's providers (single sign-on, R39), shown on their page
//! with a button to unlink each: the person's next sign-in through that provider matches by
//! email again (and may find another user, or none).

use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};

use crate::access::{Permission, Principal};
use crate::console::extract::{ConsoleUser, Failure, OrFail, go};
use crate::console::ui;
use crate::ids::{LinkedIdentityId, UserId};
use crate::sso::identities;
use crate::state::AppState;

/// The "Linked identities" section of the user's page; `notice` is the page's `?notice=`.
pub(in crate::console) async fn section(
    state: &AppState,
    user: &ConsoleUser,
    principal: &Principal,
    id: UserId,
    notice: Option<&str>,
) -> Result<Markup, Failure> {
    let links = identities::list(state, principal, id).await.or_fail(user)?;
    Ok(html! {
        section.panel #linked-identities aria-labelledby="linked-identities-title" {
            h2 #linked-identities-title { "Linked identities" }
            p.muted {
                "People at the account's identity providers who sign in as this user. Unlinking one makes its next "
                "sign-in through that provider find a user by email again."
            }
            @if notice == Some("unlinked") { (ui::alert("success", "The identity was unlinked.")) }
            div.table-wrap {
                table.data {
                    caption.visually-hidden { "Linked identities" }
                    thead { tr {
                        th scope="col" { "Provider" }
                        th scope="col" { "Subject" }
                        th scope="col" { "Email" }
                        th scope="col" { "Linked" }
                        th scope="col" { "Last used" }
                        th scope="col" { span.visually-hidden { "Actions" } }
                    } }
                    tbody {
                        @if links.is_empty() { tr { td.empty colspan="6" { "No identity at a provider is linked to this user." } } }
                        @for l in &links {
                            tr data-link=(l.id.0) {
                                td { (l.provider) br; span.muted { (l.issuer) } }
                                td { code { (l.subject) } }
                                td { @match &l.email { Some(e) => (e), None => span.muted { "—" } } }
                                td { (ui::time_text(Some(&l.linked_at))) }
                                td { (ui::time_text(l.last_used_at.as_deref())) }
                                td.actions.nowrap {
                                    button.button.subtle.small.danger-text type="button"
                                        hx-post=(format!("/console/users/{}/identities/{}/unlink", id.0, l.id.0))
                                        hx-confirm=(format!("Unlink the identity {} at {}?", l.subject, l.provider)) {
                                        "Unlink" span.visually-hidden { " " (l.subject) " at " (l.provider) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    })
}

/// `POST /console/users/{id}/identities/{link}/unlink`.
pub(in crate::console) async fn unlink(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((id, link)): Path<(i64, i64)>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersEdit).await?;
    let principal = user.principal(&account, Permission::UsersEdit);
    identities::unlink(&state, &principal, UserId(id), LinkedIdentityId(link)).await.or_fail(&user)?;
    Ok(go(user.htmx, &format!("/console/users/{id}/edit?notice=unlinked")))
}
