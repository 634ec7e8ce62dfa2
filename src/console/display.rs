//! Settings → Time display (R7): how the console shows times to the account's users who chose
//! none of their own (their settings come first; without either, UTC, YYYY/MM/DD and 24 h).

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::extract::{ConsoleUser, Failure, OrFail, go};
use super::ui::{self, Field, Nav};
use super::users::security::select_field;
use super::{Pairs, first};
use crate::access::Permission;
use crate::accounts::service::AccountEdit;
use crate::domain::{DateFormat, TimeFormat};
use crate::error::{Error, FieldIssue};
use crate::model::AccountRecord;
use crate::state::AppState;

struct Values {
    time_zone: String,
    date_format: String,
    time_format: String,
    version: i64,
}

impl Values {
    fn of(a: &AccountRecord) -> Values {
        Values {
            time_zone: a.time_zone.clone().unwrap_or_default(),
            date_format: a.date_format.clone().unwrap_or_default(),
            time_format: a.time_format.clone().unwrap_or_default(),
            version: a.version,
        }
    }

    fn from_form(form: &Pairs) -> Values {
        let text = |k: &str| first(form, k).unwrap_or_default().trim().to_string();
        Values {
            time_zone: text("time_zone"),
            date_format: text("date_format"),
            time_format: text("time_format"),
            version: first(form, "version").and_then(|v| v.parse().ok()).unwrap_or(0),
        }
    }
}

/// `GET /console/settings/display`.
pub(super) async fn page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::SettingsView).await?;
    let account = crate::accounts::service::by_id(&state, account.id).await.or_fail(&user)?.unwrap_or(account);
    let editable = user.can(Permission::SettingsManage);
    let body = html! {
        nav.breadcrumbs aria-label="Breadcrumb" { a href="/console/settings/security" { "Settings" } " / " span aria-current="page" { "Time display" } }
        (ui::page_head("Time display", Some("How the console shows times to this account's users who have not chosen their own (their own settings come first)."), html! {}))
        @if first(&q, "notice") == Some("saved") { (ui::alert("success", "The time display was saved.")) }
        @if !editable { (ui::alert("info", "You can see these settings; changing them needs the permission settings.manage.")) }
        (form(&Values::of(&account), editable, &[], None))
    };
    Ok(user.page(Nav::Settings, "Time display", body))
}

fn form(v: &Values, editable: bool, issues: &[FieldIssue], top: Option<Markup>) -> Markup {
    let dates: Vec<(String, String)> = std::iter::once((String::new(), "Not set (YYYY/MM/DD)".to_string()))
        .chain(DateFormat::ALL.iter().map(|d| (d.as_str().to_string(), d.as_str().to_string())))
        .collect();
    let times: Vec<(String, String)> = std::iter::once((String::new(), "Not set (24 h)".to_string()))
        .chain(TimeFormat::ALL.iter().map(|t| {
            (t.as_str().to_string(), if *t == TimeFormat::H12 { "12 h (2:05 PM)" } else { "24 h (14:05)" }.to_string())
        }))
        .collect();
    html! {
        form #display-form .panel.narrow hx-post="/console/settings/display" hx-target="this" hx-swap="outerHTML" novalidate {
            @if let Some(t) = top { (t) }
            input type="hidden" name="version" value=(v.version);
            fieldset disabled[!editable] {
                (Field::new("time_zone", "Time zone", &v.time_zone).list("tz-list").autocomplete("off")
                    .hint("An IANA name such as Europe/Berlin; empty: UTC.").render(issues))
                datalist #tz-list { @for tz in chrono_tz::TZ_VARIANTS.iter() { option value=(tz.name()) {} } }
                (select_field("date_format", "Date format", &v.date_format, &dates, "How dates are written.", issues))
                (select_field("time_format", "Time format", &v.time_format, &times, "How times of day are written.", issues))
                div.form-actions { button.button.primary type="submit" { "Save" } }
            }
        }
    }
}

/// `POST /console/settings/display`.
pub(super) async fn save(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::SettingsManage).await?;
    let principal = user.principal(&account, Permission::SettingsManage);
    let v = Values::from_form(&form);
    let optional = |s: &str| Some(Some(s.to_string()).filter(|s| !s.is_empty()));
    let (zone, date, time) = (optional(&v.time_zone), optional(&v.date_format), optional(&v.time_format));
    let edit = AccountEdit {
        time_zone: zone.as_ref().map(|z| z.as_deref()),
        date_format: date.as_ref().map(|d| d.as_deref()),
        time_format: time.as_ref().map(|t| t.as_deref()),
        ..Default::default()
    };
    match crate::accounts::service::update(&state, &principal, account.id, v.version, edit).await {
        Ok(_) => Ok(go(user.htmx, "/console/settings/display?notice=saved")),
        Err(Error::Validation(issues)) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, self::form(&v, true, &issues, None)).into_response())
        }
        Err(Error::PreconditionFailed) => {
            let stale = ui::alert("error", ui::STALE_ACCOUNT_SETTINGS);
            Ok((StatusCode::PRECONDITION_FAILED, self::form(&v, true, &[], Some(stale))).into_response())
        }
        Err(err) => Err(user.fail(err)),
    }
}
