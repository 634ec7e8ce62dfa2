//! Settings → SIP domain (issue 14): the realm the account's phones register in, which the PBX
//! directory names the account by and hashes their digests with.

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::extract::{ConsoleUser, Failure, OrFail, go};
use super::ui::{self, Field, Nav};
use super::{Pairs, first};
use crate::access::Permission;
use crate::accounts::service::AccountEdit;
use crate::error::{Error, FieldIssue};
use crate::state::AppState;

/// `GET /console/settings/sip`.
pub(super) async fn page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::SettingsView).await?;
    let account = crate::accounts::service::by_id(&state, account.id).await.or_fail(&user)?.unwrap_or(account);
    let editable = user.can(Permission::SettingsManage);
    let body = html! {
        nav.breadcrumbs aria-label="Breadcrumb" { a href="/console/settings/security" { "Settings" } " / " span aria-current="page" { "SIP domain" } }
        (ui::page_head("SIP domain", Some("The domain this account's phones register in. The SIP server asks Roster's directory by it, and it is the realm of the phones' digest authentication."), html! {}))
        @if first(&q, "notice") == Some("saved") { (ui::alert("success", "The SIP domain was saved. Phones register again with it.")) }
        @if !editable { (ui::alert("info", "You can see this setting; changing it needs the permission settings.manage.")) }
        (form(&account.sip_realm, account.version, editable, &[], None))
    };
    Ok(user.page(Nav::Settings, "SIP domain", body))
}

fn form(realm: &str, version: i64, editable: bool, issues: &[FieldIssue], top: Option<Markup>) -> Markup {
    html! {
        form #sip-domain-form .panel.narrow hx-post="/console/settings/sip" hx-target="this" hx-swap="outerHTML" novalidate {
            @if let Some(t) = top { (t) }
            input type="hidden" name="version" value=(version);
            fieldset disabled[!editable] {
                (Field::new("sip_realm", "SIP domain (realm)", realm).required().maxlength(253).autocomplete("off")
                    .hint("A host name such as sip.example.com, used by no other account. Phones' digest hashes are made with it: after a change they register with the new one.")
                    .render(issues))
                div.form-actions { button.button.primary type="submit" { "Save" } }
            }
        }
    }
}

/// `POST /console/settings/sip`.
pub(super) async fn save(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::SettingsManage).await?;
    let principal = user.principal(&account, Permission::SettingsManage);
    let realm = first(&form, "sip_realm").unwrap_or_default().trim().to_string();
    let version = first(&form, "version").and_then(|v| v.parse().ok()).unwrap_or(0);
    let edit = AccountEdit { sip_realm: Some(&realm), ..Default::default() };
    match crate::accounts::service::update(&state, &principal, account.id, version, edit).await {
        Ok(_) => Ok(go(user.htmx, "/console/settings/sip?notice=saved")),
        Err(err @ (Error::Validation(_) | Error::Conflict { .. })) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, self::form(&realm, version, true, &err.field_issues(), None))
                .into_response())
        }
        Err(Error::PreconditionFailed) => {
            let stale = ui::alert("error", ui::STALE_ACCOUNT_SETTINGS);
            Ok((StatusCode::PRECONDITION_FAILED, self::form(&realm, version, true, &[], Some(stale))).into_response())
        }
        Err(err) => Err(user.fail(err)),
    }
}
