//! Access rules in the console (R35): the account's list (`/console/settings/access-rules`)
//! and a user's mode and own list (`/console/users/{id}/access-rules`). Each list is a table
//! of rows (action, value, description) with a "remove" box per row and blank rows to add;
//! saving replaces the list, and each error shows next to its row.

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::extract::{ConsoleUser, Failure, OrFail, go};
use super::ui::{self, Nav};
use super::{Pairs, all, first};
use crate::access::Permission;
use crate::access_rules::service::{self, AccountRulesInput, Saving, UserRulesInput};
use crate::domain::access_rules::{RuleInput, RuleView};
use crate::error::{Error, FieldIssue};
use crate::ids::UserId;
use crate::state::AppState;

/// Blank rows offered for new rules.
const BLANK_ROWS: usize = 3;

/// A row as shown: as stored, or as submitted.
#[derive(Clone, Default)]
struct Row {
    action: String,
    value: String,
    description: String,
}

impl From<&RuleView> for Row {
    fn from(r: &RuleView) -> Self {
        Row { action: r.action.as_str().to_string(), value: r.value.clone(), description: r.description.clone() }
    }
}

/// The submitted rows (blank and removed ones dropped) and the rules they send. The form
/// shown back lists the same rows in the same order, so rule `k` is row `k`.
fn rows_from_form(form: &Pairs) -> (Vec<Row>, Vec<RuleInput>) {
    let actions: Vec<&str> = all(form, "action").collect();
    let values: Vec<&str> = all(form, "value").collect();
    let descriptions: Vec<&str> = all(form, "description").collect();
    let removed: Vec<usize> = all(form, "remove").filter_map(|v| v.parse().ok()).collect();
    let mut rows = Vec::new();
    let mut inputs = Vec::new();
    for (i, value) in values.iter().enumerate() {
        let row = Row {
            action: actions.get(i).unwrap_or(&"deny").to_string(),
            value: value.to_string(),
            description: descriptions.get(i).unwrap_or(&"").to_string(),
        };
        if value.trim().is_empty() && row.description.trim().is_empty() || removed.contains(&i) {
            continue;
        }
        inputs.push(RuleInput {
            action: row.action.clone(),
            value: row.value.clone(),
            description: Some(row.description.clone()),
        });
        rows.push(row);
    }
    (rows, inputs)
}

/// Issues as the form names them: `rules[k].x` becomes `row[k].x`.
fn row_issues(issues: &[FieldIssue]) -> Vec<FieldIssue> {
    issues
        .iter()
        .map(|i| {
            let renamed = i.field.strip_prefix("rules[").map(|rest| format!("row[{rest}"));
            FieldIssue { field: renamed.unwrap_or_else(|| i.field.clone()), ..i.clone() }
        })
        .collect()
}

fn rows_table(rows: &[Row], editable: bool, issues: &[FieldIssue]) -> Markup {
    let blank = if editable { BLANK_ROWS } else { 0 };
    let all_rows: Vec<Row> = rows.iter().cloned().chain(std::iter::repeat_n(Row::default(), blank)).collect();
    let errors_of = |i: usize| -> Vec<&FieldIssue> {
        issues.iter().filter(|x| x.field.starts_with(&format!("row[{i}]."))).collect()
    };
    html! {
        table.data.access-rules {
            thead { tr { th { "Action" } th { "Address, range, CIDR block or country" } th { "Description" } @if editable { th.sel { "Remove" } } } }
            tbody {
                @for (i, row) in all_rows.iter().enumerate() {
                    @let errors = errors_of(i);
                    tr.has-error[!errors.is_empty()] {
                        td {
                            select name="action" aria-label=(format!("Action of rule {}", i + 1)) disabled[!editable] {
                                option value="deny" selected[row.action != "allow"] { "Deny" }
                                option value="allow" selected[row.action == "allow"] { "Allow" }
                            }
                        }
                        td {
                            input name="value" type="text" value=(row.value) placeholder=(if i >= rows.len() { "e.g. 192.0.2.0/24 or GB" } else { "" })
                                aria-label=(format!("Value of rule {}", i + 1)) aria-invalid=[(!errors.is_empty()).then_some("true")] disabled[!editable];
                            (ui::field_errors(&format!("row-{i}-error"), &errors))
                        }
                        td { input name="description" type="text" maxlength="200" value=(row.description)
                            aria-label=(format!("Description of rule {}", i + 1)) disabled[!editable]; }
                        @if editable { td.sel { input type="checkbox" name="remove" value=(i) aria-label=(format!("Remove rule {}", i + 1)); } }
                    }
                }
            }
        }
    }
}

fn top_errors(issues: &[FieldIssue]) -> Markup {
    let general: Vec<&FieldIssue> = issues.iter().filter(|i| !i.field.starts_with("row[")).collect();
    html! {
        @if !issues.is_empty() {
            div.alert.alert-error role="alert" tabindex="-1" data-focus {
                "The rules were not saved: see the messages below."
                @if !general.is_empty() { ul { @for i in &general { li { (ui::sentence(&i.message)) } } } }
            }
        }
    }
}

fn geoip_status(state: &AppState) -> Markup {
    html! {
        p.hint.geoip-status {
            @match state.geoip.describe() {
                Some(db) => { "Country rules use the GeoIP database " (db) "." }
                None => { "No GeoIP database is configured (--geoip-database), so country rules cannot be used." }
            }
        }
    }
}

fn stale(href: &str) -> Markup {
    html! {
        div.alert.alert-error role="alert" tabindex="-1" data-focus {
            "Someone else changed these rules since you opened this page, so nothing was saved. "
            a href=(href) { "Reload the page" } " to see their changes, then make yours again."
        }
    }
}

fn account_form(
    state: &AppState,
    rows: &[Row],
    version: i64,
    editable: bool,
    issues: &[FieldIssue],
    top: Option<Markup>,
) -> Markup {
    html! {
        form #access-rules hx-post="/console/settings/access-rules" hx-target="this" hx-swap="outerHTML" novalidate {
            @if let Some(top) = top { (top) }
            (top_errors(issues))
            input type="hidden" name="version" value=(version);
            (geoip_status(state))
            (rows_table(rows, editable, issues))
            @if editable {
                div.form-actions {
                    button.button.primary type="submit" { "Save rules" }
                    a.button.subtle href="/console/settings/access-rules" { "Discard changes" }
                }
            }
        }
    }
}

const ACCOUNT_HELP: &str = "A deny rule refuses an address; if there are allow rules, an address must match one. \
    Checked at sign-in and on every request. Users may extend or replace these rules.";

/// `GET /console/settings/access-rules`.
pub(super) async fn account_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::SettingsView).await?;
    let rules = service::account_rules(&state, &account).await.or_fail(&user)?;
    let editable = user.can(Permission::SettingsManage);
    let rows: Vec<Row> = rules.rules.iter().map(Row::from).collect();
    let body = html! {
        (ui::page_head("Access rules", Some(ACCOUNT_HELP), html! { a.button.subtle href="/console/settings/security" { "Security settings" } }))
        @if first(&q, "notice") == Some("saved") { (ui::alert("success", "The access rules were saved.")) }
        @if !editable { (ui::alert("info", "You can see these rules; changing them needs the permission settings.manage.")) }
        (account_form(&state, &rows, rules.version, editable, &[], None))
    };
    Ok(user.page(Nav::Settings, "Access rules", body))
}

/// `POST /console/settings/access-rules`.
pub(super) async fn account_save(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::SettingsManage).await?;
    let (rows, inputs) = rows_from_form(&form);
    let version = first(&form, "version").and_then(|v| v.parse().ok()).unwrap_or(0);
    let actor = user.actor(&account);
    let saving =
        Saving { caller: &user.caller, actor: &actor, ip: user.client.address.as_deref().and_then(|a| a.parse().ok()) };
    match service::set_account_rules(&state, &saving, &account, AccountRulesInput { rules: inputs }, version).await {
        Ok(_) => Ok(go(user.htmx, "/console/settings/access-rules?notice=saved")),
        Err(Error::Validation(issues)) => {
            let form = account_form(&state, &rows, version, true, &row_issues(&issues), None);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, form).into_response())
        }
        Err(Error::PreconditionFailed) => {
            let form = account_form(&state, &rows, version, true, &[], Some(stale("/console/settings/access-rules")));
            Ok((StatusCode::PRECONDITION_FAILED, form).into_response())
        }
        Err(err) => Err(user.fail(err)),
    }
}

struct UserForm<'a> {
    id: i64,
    mode: &'a str,
    rows: &'a [Row],
    account_rules: &'a [RuleView],
    version: i64,
    /// False for one's own rules (D3): shown, not changed here.
    editable: bool,
}

fn user_form(state: &AppState, f: &UserForm<'_>, issues: &[FieldIssue], top: Option<Markup>) -> Markup {
    let modes = [
        ("inherit", "Inherit: the account's rules only"),
        ("extend", "Extend: the account's rules and these"),
        ("overwrite", "Overwrite: these rules only, instead of the account's"),
    ];
    let mode_errors: Vec<&FieldIssue> = issues.iter().filter(|i| i.field == "mode").collect();
    html! {
        form #user-access-rules hx-post=(format!("/console/users/{}/access-rules", f.id)) hx-target="this" hx-swap="outerHTML" novalidate {
            @if let Some(top) = top { (top) }
            (top_errors(issues))
            input type="hidden" name="version" value=(f.version);
            fieldset.checks {
                legend { "Mode" }
                @for (value, label) in modes {
                    div.check {
                        input type="radio" id=(format!("mode-{value}")) name="mode" value=(value) checked[f.mode == value] disabled[!f.editable];
                        label for=(format!("mode-{value}")) { (label) }
                    }
                }
                (ui::field_errors("mode-error", &mode_errors))
            }
            h2 { "The account's rules" }
            @if f.account_rules.is_empty() { p.muted { "None." } }
            ul { @for r in f.account_rules { li { (r.action.as_str()) " " (r.value) @if !r.description.is_empty() { " — " (r.description) } } } }
            h2 { "This user's rules" }
            (geoip_status(state))
            (rows_table(f.rows, f.editable, issues))
            @if f.editable {
                div.form-actions {
                    button.button.primary type="submit" { "Save" }
                    a.button.subtle href=(format!("/console/users/{}/security", f.id)) { "Cancel" }
                }
            }
        }
    }
}

/// `GET /console/users/{id}/access-rules`.
pub(super) async fn user_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersEdit).await?;
    let principal = user.principal(&account, Permission::UsersEdit);
    // A user out of reach (D2) is refused here as saving would be: 403, with the reason.
    let target = crate::users::reach::changeable(&state, &principal, UserId(id)).await.or_fail(&user)?;
    let rules = service::get_user_rules(&state, &principal, UserId(id)).await.or_fail(&user)?;
    let rows: Vec<Row> = rules.rules.iter().map(Row::from).collect();
    let title = format!("Access rules of {}", target.login);
    // D3: one's own rules are shown, not changed here.
    let myself = target.id == user.caller.user;
    let form = UserForm {
        id,
        mode: rules.mode.as_str(),
        rows: &rows,
        account_rules: &rules.account_rules,
        version: rules.version,
        editable: !myself,
    };
    let body = html! {
        (super::users::actions::breadcrumbs(&target, "Access rules"))
        (ui::page_head(&title, Some("Where this user may sign in and work from."), html! {}))
        @if first(&q, "notice") == Some("saved") { (ui::alert("success", "The user's access rules were saved.")) }
        @if myself {
            div #own-user-note .alert.alert-info role="note" {
                "These are your own access rules: only another admin can change them."
            }
        }
        (user_form(&state, &form, &[], None))
    };
    Ok(user.page(Nav::Users, &title, body))
}

/// `POST /console/users/{id}/access-rules`.
pub(super) async fn user_save(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    Form(form): Form<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersEdit).await?;
    let principal = user.principal(&account, Permission::UsersEdit);
    let current = service::get_user_rules(&state, &principal, UserId(id)).await.or_fail(&user)?;
    let (rows, inputs) = rows_from_form(&form);
    let version = first(&form, "version").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mode = first(&form, "mode").unwrap_or("inherit").to_string();
    let input = UserRulesInput { mode: mode.clone(), rules: inputs };
    let shown =
        UserForm { id, mode: &mode, rows: &rows, account_rules: &current.account_rules, version, editable: true };
    match service::set_user_rules(&state, &principal, UserId(id), input, version).await {
        Ok(_) => Ok(go(user.htmx, &format!("/console/users/{id}/access-rules?notice=saved"))),
        Err(Error::Validation(issues)) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, user_form(&state, &shown, &row_issues(&issues), None))
                .into_response())
        }
        Err(Error::PreconditionFailed) => {
            let top = stale(&format!("/console/users/{id}/access-rules"));
            Ok((StatusCode::PRECONDITION_FAILED, user_form(&state, &shown, &[], Some(top))).into_response())
        }
        Err(err) => Err(user.fail(err)),
    }
}
