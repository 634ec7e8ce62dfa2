//! Mass actions on the Users Manager (R37): one action on the selected users, on those
//! matching the filters, or on all; previewed (a dry run) before it is applied.

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::list::{ListParams, PAGE_SIZE, rows};
use super::offers::Acting;
use crate::access::{Permission, Scope};
use crate::console::extract::{ConsoleUser, Failure, OrFail};
use crate::console::ui;
use crate::console::{Catalog, Pairs, all, first, link_names};
use crate::error::Error;
use crate::ids::UserId;
use crate::model::user_filter::Target;
use crate::state::AppState;
use crate::store::named::NamedRecord;
use crate::store::users::Link;
use crate::users::bulk::{self, BulkAction, BulkRequest, BulkResult};
use crate::users::service;

pub(in crate::console) fn bulk_bar(user: &ConsoleUser, params: &ListParams) -> Markup {
    let allowed = |a: BulkAction| match a {
        BulkAction::Delete | BulkAction::RevokeInvitation => user.can(Permission::UsersDelete),
        BulkAction::ResendInvitation => user.can(Permission::UsersEdit) && user.can(Permission::UsersCreate),
        _ => user.can(Permission::UsersEdit),
    };
    // D8: "all" is all the users the viewer manages, which a scoped viewer is told.
    let acting = if user.can(Permission::UsersEdit) { Permission::UsersEdit } else { Permission::UsersDelete };
    let all_users = match user.caller.scope_for(acting) {
        Scope::Account => "All users",
        Scope::Desks => "All users in your desks",
        Scope::Company => "All end users of your company",
        Scope::Own => "Only yourself",
    };
    html! {
        (params.hidden())
        div.bulkbar role="group" aria-labelledby="bulk-title" {
            h2 #bulk-title { "Mass action" }
            div.field {
                label for="bulk-action" { "Action" }
                select #bulk-action name="action" hx-get="/console/users/bulk/values" hx-trigger="change"
                    hx-target="#bulk-values" hx-swap="innerHTML" {
                    option value="" { "Choose an action…" }
                    @for a in BulkAction::ALL.into_iter().filter(|a| allowed(*a)) {
                        option value=(a.as_str()) { (a.label()) }
                    }
                }
            }
            div #bulk-values {}
            div.field {
                label for="bulk-scope" { "Apply to" }
                select #bulk-scope name="scope" {
                    option value="selected" { "Selected users" }
                    option value="filter" { "Users matching the filters" }
                    option value="all" { (all_users) }
                }
            }
            div.bulk-buttons {
                button.button type="submit" name="mode" value="preview" { "Preview" }
                button.button.primary type="button" name="mode" value="apply" hx-post="/console/users/bulk"
                    hx-confirm="Apply this mass action now? It changes every chosen user at once." { "Apply" }
            }
        }
    }
}

/// The kind of thing an assign/unassign action takes as values.
fn action_link(action: BulkAction) -> Option<Link> {
    match action {
        BulkAction::AddToQueues | BulkAction::RemoveFromQueues => return Some(Link::Queues),
        _ => {}
    }
    let name = action.as_str();
    [Link::Desks, Link::Roles, Link::Skills, Link::Groups]
        .into_iter()
        .find(|l| name.ends_with(l.field()) && (name.starts_with("assign_") || name.starts_with("unassign_")))
}

/// `GET /console/users/bulk/values?action=…`: the values select for an assign/unassign action.
pub(in crate::console) async fn values(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersView).await?;
    let action = first(&q, "action").and_then(BulkAction::parse);
    if let Some(fields) = action.and_then(status_fields) {
        return Ok(fields.into_response());
    }
    if action == Some(BulkAction::SetCallSettings) {
        let account = user.allow(&state, Permission::UsersEdit).await?;
        let choices = crate::console::calls::choices(&state, account.id).await.or_fail(&user)?;
        return Ok(crate::console::calls::bulk_fields(&choices).into_response());
    }
    let Some(link) = action.and_then(action_link) else {
        return Ok(html! {}.into_response());
    };
    // Only roles and groups the viewer may give are offered (D1).
    let principal = user.principal(&account, Permission::UsersEdit);
    let catalog = Catalog::load(&state, account.id)
        .await
        .or_fail(&user)?
        .only_grantable(&state, &principal, &[], &[])
        .await
        .or_fail(&user)?;
    Ok(values_select(link, catalog.of(link)).into_response())
}

/// For a change of status: why (kept in the activation log) and, for a period, when — in the
/// viewer's time zone, which the form names.
fn status_fields(action: BulkAction) -> Option<Markup> {
    let period = match action {
        BulkAction::ScheduleDeactivation => true,
        BulkAction::Activate | BulkAction::Deactivate => false,
        _ => return None,
    };
    let zone = ui::viewer_time().zone_name();
    Some(html! {
        @if period {
            div.field {
                label for="bulk-from" { "From" }
                input #bulk-from type="datetime-local" name="from" aria-describedby="bulk-when-hint";
            }
            div.field {
                label for="bulk-until" { "Until" }
                input #bulk-until type="datetime-local" name="until" aria-describedby="bulk-when-hint";
            }
            p.hint #bulk-when-hint { "Times in " (zone) ". An empty From starts now; an empty Until keeps them deactivated until someone reactivates them." }
        }
        div.field {
            label for="bulk-reason" { "Reason" }
            input #bulk-reason type="text" name="reason" maxlength="500" aria-describedby="bulk-reason-hint";
            p.hint #bulk-reason-hint { "Kept in the activation log." }
        }
    })
}

fn values_select(link: Link, items: &[NamedRecord]) -> Markup {
    let (_, plural) = link_names(link);
    html! {
        div.field {
            @if items.is_empty() {
                span.label { (plural) }
                p.muted { "There are no " (plural.to_lowercase()) " in this account yet." }
            } @else {
                label for="bulk-values-select" { (plural) }
                select #bulk-values-select name="values" multiple size="3" required aria-describedby="bulk-values-hint" {
                    @for item in items { option value=(item.id) title=(item.description) { (item.name) } }
                }
                p.hint #bulk-values-hint { "Hold Ctrl (⌘ on a Mac) to choose several." }
            }
        }
    }
}

/// `POST /console/users/bulk`: preview (dry run) or apply a mass action.
pub(in crate::console) async fn run(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<Pairs>,
) -> Result<Response, Failure> {
    let Some(action) = first(&form, "action").and_then(BulkAction::parse) else {
        return Ok(result_alert("Choose a mass action first."));
    };
    let needed = match action {
        BulkAction::Delete | BulkAction::RevokeInvitation => Permission::UsersDelete,
        _ => Permission::UsersEdit,
    };
    let account = user.allow(&state, needed).await?;
    let principal = user.principal(&account, needed);
    let params = ListParams::from_pairs(&form, "f_");
    let target = match first(&form, "scope") {
        Some("all") => Target::All,
        Some("filter") => Target::Filter(params.filter().or_fail(&user)?),
        _ => {
            let ids: Vec<UserId> = all(&form, "ids").filter_map(|v| v.parse().ok()).map(UserId).collect();
            if ids.is_empty() {
                return Ok(result_alert(
                    "Select at least one user in the table, or apply to the users matching the filters.",
                ));
            }
            Target::Ids(ids)
        }
    };
    // Values left over from a previously chosen assign action are not this action's.
    let values: Vec<i64> = match action_link(action) {
        Some(_) => all(&form, "values").filter_map(|v| v.parse().ok()).collect(),
        None => Vec::new(),
    };
    let dry_run = first(&form, "mode") != Some("apply");
    // Times come in the viewer's zone (`datetime-local`), the service takes RFC 3339.
    let viewer = ui::viewer_time();
    let when =
        |field: &str| first(&form, field).filter(|v| !v.trim().is_empty()).map(|v| viewer.local_input_to_rfc3339(v));
    let takes_reason =
        matches!(action, BulkAction::Activate | BulkAction::Deactivate | BulkAction::ScheduleDeactivation);
    let request = BulkRequest {
        action,
        target,
        values: values.clone(),
        from: if action == BulkAction::ScheduleDeactivation { when("from") } else { None },
        until: if action == BulkAction::ScheduleDeactivation { when("until") } else { None },
        reason: first(&form, "reason").filter(|r| takes_reason && !r.trim().is_empty()).map(str::to_string),
        call_settings: (action == BulkAction::SetCallSettings).then(|| crate::console::calls::bulk_input(&form)),
        dry_run,
    };
    let result = match bulk::run(&state, &principal, request).await {
        Ok(r) => r,
        Err(err @ (Error::Validation(_) | Error::Conflict { .. } | Error::StateConflict(_))) => {
            return Ok(result_alert(&ui::error_sentence(&err)));
        }
        Err(err) => return Err(user.fail(err)),
    };
    let catalog = Catalog::load(&state, account.id).await.or_fail(&user)?;
    let message = result_message(&result, &value_names(action, &values, &catalog));
    if dry_run {
        return Ok(ui::alert("info", &message).into_response());
    }
    // Applied: show the result and refresh the table in place.
    let filter = params.filter().or_fail(&user)?;
    let cursor = (!params.cursor.is_empty()).then_some(params.cursor.as_str());
    // The table as the Users page shows it (the viewer's scope to see users, not the action's).
    let viewing = user.principal(&account, Permission::UsersView);
    let page = service::list_kept(&state, &viewing, &filter, cursor, PAGE_SIZE, false).await.or_fail(&user)?;
    let acting = Acting::for_page(&state, &user, &account, &page);
    let selectable = user.can(Permission::UsersEdit) || user.can(Permission::UsersDelete);
    let rows = rows(&page, &acting, selectable, &params, true);
    // A <template> lets a <tbody> travel outside its table (htmx's out-of-band swap).
    Ok(html! {
        (ui::alert("success", &message))
        template { (rows) }
    }
    .into_response())
}

fn result_alert(message: &str) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, ui::alert("error", message)).into_response()
}

fn value_names(action: BulkAction, values: &[i64], catalog: &Catalog) -> String {
    let Some(link) = action_link(action) else { return String::new() };
    let names: Vec<&str> =
        catalog.of(link).iter().filter(|n| values.contains(&n.id)).map(|n| n.name.as_str()).collect();
    let (singular, plural) = link_names(link);
    let kind = if names.len() == 1 { singular } else { plural };
    format!("{} {}", kind.to_lowercase(), names.join(", "))
}

fn users(n: i64) -> String {
    if n == 1 { "1 user".into() } else { format!("{n} users") }
}

/// "12 users deactivated." / "Preview: 12 of 15 chosen users would be deactivated."
fn result_message(r: &BulkResult, names: &str) -> String {
    let done = match r.action {
        BulkAction::Activate => "activated".to_string(),
        BulkAction::Deactivate => "deactivated".to_string(),
        BulkAction::ScheduleDeactivation => "given the deactivation period".to_string(),
        BulkAction::ResendInvitation => "sent their invitation again".to_string(),
        BulkAction::RevokeInvitation => "uninvited".to_string(),
        BulkAction::Delete => "deleted".to_string(),
        BulkAction::AssignDesks | BulkAction::AssignGroups | BulkAction::AddToQueues => format!("added to {names}"),
        BulkAction::UnassignDesks | BulkAction::UnassignGroups | BulkAction::RemoveFromQueues => {
            format!("removed from {names}")
        }
        BulkAction::AssignRoles | BulkAction::AssignSkills => format!("given {names}"),
        BulkAction::UnassignRoles | BulkAction::UnassignSkills => format!("no longer holding {names}"),
        BulkAction::SetCallSettings => "given the call settings".to_string(),
    };
    // Nobody is skipped silently (D2, D3): who is left out, and why.
    let mut left_out = String::new();
    if r.out_of_reach > 0 {
        left_out.push_str(&format!(
            " {} left alone: they hold rights you do not, or are admins or platform operators.",
            users(r.out_of_reach)
        ));
    }
    if r.yourself_left_out {
        left_out.push_str(" You are left out: change yourself under My account.");
    }
    if r.not_agents > 0 {
        left_out.push_str(&format!(" {} left out: only agents are queue members.", users(r.not_agents)));
    }
    if r.dry_run {
        let mut s = format!(
            "Preview: {} of the {} chosen would be {done}.{left_out} Nothing has changed yet; press Apply to do it.",
            r.changed,
            users(r.matched)
        );
        if r.action == BulkAction::Delete && r.changed > 0 {
            s.push_str(" Deleting cannot be undone.");
        }
        s
    } else {
        format!("{} {done}.{left_out}", users(r.changed))
    }
}
