//! Mass actions (R37): one action on the selected users, on those matching the filters,
//! or on all; all or nothing, each touched user's activity recorded in the same transaction.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::principal::{self, Principal};
use crate::access::{Permission, Scope};
use crate::activity::activation::Activation;
use crate::activity::{self, Changes, Target as EventTarget};
use crate::clock::{Timestamp, now_ms};
use crate::error::{Error, Issues, Result};
use crate::model::lifecycle::{ActivationCause, ActivationChange};
use crate::state::AppState;

use crate::store::bulk as store;
use crate::store::grants::Seen;
use crate::store::named;
use crate::store::sql::Sql;

use crate::model::user::UserStatus;
use crate::model::user_filter::Target;
use crate::store::users::{self as users_store, Link};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BulkAction {
    Activate,
    Deactivate,
    /// Deactivate for a time (`from`, `until`, either open; R18).
    ScheduleDeactivation,
    /// Send the invited users' invitations again (R19; not those sent within the minute).
    ResendInvitation,
    /// Revoke the invited users' invitations: they are removed.
    RevokeInvitation,
    Delete,
    AssignDesks,
    UnassignDesks,
    AssignRoles,
    UnassignRoles,
    AssignSkills,
    UnassignSkills,
    AssignGroups,
    UnassignGroups,
    /// Add agents to queues (R16): automatic join, position 1, no time group. Only agents are
    /// added: named users who are not are refused, others matched are counted in `not_agents`.
    AddToQueues,
    RemoveFromQueues,
    /// Set or reset call settings (R38): `call_settings` names each, `null` returning it to the
    /// account's default.
    SetCallSettings,
}

impl BulkAction {
    pub const ALL: [BulkAction; 17] = [
        BulkAction::Activate,
        BulkAction::Deactivate,
        BulkAction::ScheduleDeactivation,
        BulkAction::ResendInvitation,
        BulkAction::RevokeInvitation,
        BulkAction::Delete,
        BulkAction::AssignDesks,
        BulkAction::UnassignDesks,
        BulkAction::AssignRoles,
        BulkAction::UnassignRoles,
        BulkAction::AssignSkills,
        BulkAction::UnassignSkills,
        BulkAction::AssignGroups,
        BulkAction::UnassignGroups,
        BulkAction::AddToQueues,
        BulkAction::RemoveFromQueues,
        BulkAction::SetCallSettings,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BulkAction::Activate => "activate",
            BulkAction::Deactivate => "deactivate",
            BulkAction::ScheduleDeactivation => "schedule_deactivation",
            BulkAction::ResendInvitation => "resend_invitation",
            BulkAction::RevokeInvitation => "revoke_invitation",
            BulkAction::Delete => "delete",
            BulkAction::AssignDesks => "assign_desks",
            BulkAction::UnassignDesks => "unassign_desks",
            BulkAction::AssignRoles => "assign_roles",
            BulkAction::UnassignRoles => "unassign_roles",
            BulkAction::AssignSkills => "assign_skills",
            BulkAction::UnassignSkills => "unassign_skills",
            BulkAction::AssignGroups => "assign_groups",
            BulkAction::UnassignGroups => "unassign_groups",
            BulkAction::AddToQueues => "add_to_queues",
            BulkAction::RemoveFromQueues => "remove_from_queues",
            BulkAction::SetCallSettings => "set_call_settings",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            BulkAction::Activate => "Activate",
            BulkAction::Deactivate => "Deactivate",
            BulkAction::ScheduleDeactivation => "Deactivate for a time",
            BulkAction::ResendInvitation => "Resend invitation",
            BulkAction::RevokeInvitation => "Revoke invitation",
            BulkAction::Delete => "Delete",
            BulkAction::AssignDesks => "Assign desks",
            BulkAction::UnassignDesks => "Unassign desks",
            BulkAction::AssignRoles => "Assign roles",
            BulkAction::UnassignRoles => "Unassign roles",
            BulkAction::AssignSkills => "Assign skills",
            BulkAction::UnassignSkills => "Unassign skills",
            BulkAction::AssignGroups => "Add to groups",
            BulkAction::UnassignGroups => "Remove from groups",
            BulkAction::AddToQueues => "Add to queues",
            BulkAction::RemoveFromQueues => "Remove from queues",
            BulkAction::SetCallSettings => "Set call settings",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        BulkAction::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The link and whether it is added, for the assign/unassign actions.
    fn link(self) -> Option<(Link, bool)> {
        match self {
            BulkAction::AssignDesks => Some((Link::Desks, true)),
            BulkAction::UnassignDesks => Some((Link::Desks, false)),
            BulkAction::AssignRoles => Some((Link::Roles, true)),
            BulkAction::UnassignRoles => Some((Link::Roles, false)),
            BulkAction::AssignSkills => Some((Link::Skills, true)),
            BulkAction::UnassignSkills => Some((Link::Skills, false)),
            BulkAction::AssignGroups => Some((Link::Groups, true)),
            BulkAction::UnassignGroups => Some((Link::Groups, false)),
            BulkAction::AddToQueues => Some((Link::Queues, true)),
            BulkAction::RemoveFromQueues => Some((Link::Queues, false)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    pub action: BulkAction,
    /// `{"ids": [1, 2]}`, `{"filter": {"status": ["active"], "desk": [3]}}` or `"all"`.
    pub target: Target,
    /// For the assign/unassign actions: the ids of the desks, roles, skills, groups or queues.
    #[serde(default)]
    pub values: Vec<i64>,
    /// For `schedule_deactivation`: RFC 3339; absent or past: now.
    #[serde(default)]
    pub from: Option<String>,
    /// For `schedule_deactivation`: RFC 3339, after `from` and in the future; absent: no
    /// reactivation by itself.
    #[serde(default)]
    pub until: Option<String>,
    /// For `activate`, `deactivate` and `schedule_deactivation`: why, up to 500 characters,
    /// kept in the activation log.
    #[serde(default)]
    pub reason: Option<String>,
    /// For `set_call_settings`: the settings to set (a value) or return to the account's
    /// default (`null`), as `PATCH …/users/{id}/call-settings` takes them.
    #[serde(default)]
    pub call_settings: Option<crate::calls::settings::CallSettingsInput>,
    /// Count what would change, change nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// The times and reason a request gives for a change of status, checked.
struct StatusChange {
    from: Timestamp,
    until: Option<Timestamp>,
    reason: Option<String>,
    now: Timestamp,
}

impl StatusChange {
    fn of(req: &BulkRequest, now: Timestamp) -> Result<StatusChange> {
        let schedules = req.action == BulkAction::ScheduleDeactivation;
        let takes_reason = schedules || matches!(req.action, BulkAction::Activate | BulkAction::Deactivate);
        let mut issues = Issues::new();
        for (field, given) in [("from", &req.from), ("until", &req.until)] {
            if given.is_some() && !schedules {
                issues.add(field, "not_allowed", format!("{} takes no {field}", req.action.as_str()));
            }
        }
        if req.reason.is_some() && !takes_reason {
            issues.add("reason", "not_allowed", format!("{} takes no reason", req.action.as_str()));
        }
        let (from, until) = match schedules {
            true => crate::domain::period::range(&mut issues, req.from.as_deref(), req.until.as_deref(), now),
            false => (now, None),
        };
        let reason = crate::domain::period::reason(&mut issues, "reason", req.reason.as_deref());
        issues.into_result()?;
        Ok(StatusChange { from, until, reason, now })
    }

    /// What the activation log records for the users the plan changes, if it changes their status.
    fn activation(&self, plan: &store::Plan) -> Option<Activation<'_>> {
        let change = match plan {
            store::Plan::SetStatus { to: UserStatus::Active, .. } => ActivationChange::Reactivated,
            store::Plan::SetStatus { to: UserStatus::Disabled, .. } => ActivationChange::Deactivated,
            store::Plan::Schedule { period, .. } if period.begins_now => ActivationChange::Deactivated,
            _ => return None,
        };
        Some(Activation::new(change, ActivationCause::Bulk, self.now, self.reason.as_deref()))
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BulkResult {
    pub action: BulkAction,
    /// Users the target selects among those you see (D8). A filter or `all` never changes
    /// yourself by deactivate, delete or a role or group change (D3): you are left out of `changed`.
    pub matched: i64,
    /// Users the action changes (or would change, in a dry run).
    pub changed: i64,
    /// Users the filter or `all` selects but the action leaves alone, because they hold
    /// permissions you do not (or are admins or platform operators you cannot change: D2).
    /// Named by id, such users refuse the whole action (403).
    pub out_of_reach: i64,
    /// You are among the users the filter or `all` selects, and this action is not one you
    /// may apply to yourself (D3): you are left out.
    pub yourself_left_out: bool,
    /// `add_to_queues`: users the filter or `all` selects who are not agents, left out (R11).
    pub not_agents: i64,
    pub dry_run: bool,
}

impl BulkAction {
    /// Actions one may not apply to oneself (D3): they change one's status or access.
    fn refused_on_self(self, principal: &Principal) -> bool {
        match self {
            BulkAction::Deactivate
            | BulkAction::ScheduleDeactivation
            | BulkAction::Delete
            | BulkAction::AssignRoles
            | BulkAction::UnassignRoles
            | BulkAction::AssignGroups
            | BulkAction::UnassignGroups => true,
            // One's desks bound one's reach wherever a permission is held within desks.
            BulkAction::AssignDesks | BulkAction::UnassignDesks => principal.holds_any_with(Scope::Desks),
            _ => false,
        }
    }
}

pub async fn run(state: &AppState, principal: &Principal, req: BulkRequest) -> Result<BulkResult> {
    let account = principal.account();
    // A mass action edits users: it needs users.edit whatever the action, and deleting users.delete too.
    if !principal.has(Permission::UsersEdit) {
        return Err(Error::Forbidden("a mass action needs the permission users.edit".into()));
    }
    // Revoking an invitation removes the invited user: as deleting does, it needs users.delete;
    // sending one needs users.create, as inviting does.
    if matches!(req.action, BulkAction::Delete | BulkAction::RevokeInvitation)
        && !principal.has(Permission::UsersDelete)
    {
        return Err(Error::Forbidden("this needs the permission users.delete".into()));
    }
    if req.action == BulkAction::ResendInvitation && !principal.has(Permission::UsersCreate) {
        return Err(Error::Forbidden("this needs the permission users.create".into()));
    }
    if let Target::Ids(ids) = &req.target {
        if ids.is_empty() {
            return Err(Error::invalid("target.ids", "empty", "select at least one user"));
        }
        if ids.len() > 10_000 {
            return Err(Error::invalid("target.ids", "too_many", "at most 10,000 ids; use a filter for more"));
        }
    }
    let (link, values) = match req.action.link() {
        Some((link, add)) => {
            if req.values.is_empty() {
                return Err(Error::invalid(
                    "values",
                    "required",
                    format!("name the {} to {}", link.field(), if add { "assign" } else { "unassign" }),
                ));
            }
            let mut v = req.values.clone();
            v.sort_unstable();
            v.dedup();
            (Some((link, add)), v)
        }
        None if !req.values.is_empty() => {
            return Err(Error::invalid("values", "not_allowed", format!("{} takes no values", req.action.as_str())));
        }
        None => (None, Vec::new()),
    };
    let now = state.config.clock.now();
    let status_change = StatusChange::of(&req, now)?;
    let me = principal.user();
    let refused_on_self = req.action.refused_on_self(principal);
    if let (Target::Ids(ids), Some(me)) = (&req.target, me)
        && refused_on_self
        && ids.contains(&me)
    {
        let mut conn = state.store.read().await?;
        let admin = crate::store::grants::admin_role(&mut conn, account).await?.unwrap_or(0);
        let demoting = match req.action {
            BulkAction::Deactivate | BulkAction::ScheduleDeactivation | BulkAction::Delete => true,
            BulkAction::UnassignRoles => req.values.contains(&admin),
            BulkAction::UnassignGroups => {
                crate::store::grants::roles_of_groups(&mut conn, account, &req.values).await?.contains(&admin)
            }
            _ => false,
        };
        if demoting && principal::is_last_admin(&mut conn, account, me).await? {
            return Err(principal::last_admin());
        }
        drop(conn);
        return Err(Error::invalid(
            "target.ids",
            "self",
            format!("you cannot {} yourself; ask another admin, or use My Account", req.action.label().to_lowercase()),
        ));
    }

    // Deleting needs users.delete too: its scope bounds the target as well (D8).
    let seen =
        match (req.action, principal.seen_for(Permission::UsersEdit), principal.seen_for(Permission::UsersDelete)) {
            (BulkAction::Delete | BulkAction::RevokeInvitation, edit, delete) if edit != delete => {
                Seen::Both(Box::new(edit), Box::new(delete))
            }
            (_, edit, _) => edit,
        };
    let mut tx = state.store.begin_snapshot().await?;
    let conn = tx.conn();
    if let Target::Ids(ids) = &req.target {
        let missing = users_store::missing_ids(conn, account, &seen, ids).await?;
        if !missing.is_empty() {
            let list: Vec<String> = missing.iter().map(|i| i.to_string()).collect();
            return Err(Error::invalid(
                "target.ids",
                "unknown_id",
                format!("no such users in this account: {}", list.join(", ")),
            ));
        }
    }
    let mut names = Vec::new();
    if let Some((link, add)) = link {
        let found = named::names(conn, link, account, &values).await?;
        let missing: Vec<String> =
            values.iter().filter(|v| !found.iter().any(|(id, _)| id == *v)).map(|v| v.to_string()).collect();
        if !missing.is_empty() {
            return Err(Error::invalid(
                "values",
                "unknown_id",
                format!("no such {} in this account: {}", link.field(), missing.join(", ")),
            ));
        }
        names = found.into_iter().map(|(_, n)| n).collect();
        // D8: a desk lead adds users only to desks they are at.
        if (link, add) == (Link::Desks, true) && principal.scope_of(Permission::UsersEdit) != Scope::Account {
            let standing = principal::standing(conn, principal).await?;
            if values.iter().any(|d| !standing.desks.contains(d)) {
                return Err(Error::Forbidden(
                    "values: you may only add users to desks you are at yourself; ask someone who manages the whole account".into(),
                ));
            }
        }
        // D1: adding a role or a group gives its permissions.
        match (link, add) {
            (Link::Roles, true) => principal::may_assign(conn, principal, Some(&values), None, None).await?,
            (Link::Groups, true) => principal::may_assign(conn, principal, None, Some(&values), None).await?,
            _ => {}
        }
    }

    // D2: users who hold more than the principal are not changed by them.
    let beyond = principal::beyond_reach_sql(conn, principal, users_store::Reading::Set).await?;
    let mut out_of_reach_where = users_store::target_sql(account, &seen, &req.target);
    out_of_reach_where.push(" AND ").append(&beyond);
    let out_of_reach = store::count_where(conn, &out_of_reach_where).await?;
    if out_of_reach > 0
        && let Target::Ids(_) = &req.target
    {
        let ids = store::ids_where(conn, &out_of_reach_where, 20).await?;
        let list: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        return Err(Error::Forbidden(format!(
            "these users hold permissions you do not, or are admins or platform operators you cannot change: {}",
            list.join(", ")
        )));
    }
    let mut exclude = Sql::new(" AND NOT ");
    exclude.append(&beyond);
    if let (true, Some(me)) = (refused_on_self, me) {
        exclude.push(" AND u.id <> ").bind(me.0);
    }
    let selected = store::selected(account, &seen, &req.target, &exclude);

    let matched = users_store::count(conn, account, &seen, &req.target).await?;
    let yourself_left_out = match (refused_on_self, me) {
        (true, Some(me)) => {
            let mut mine = users_store::target_sql(account, &seen, &req.target);
            mine.push(" AND u.id = ").bind(me.0);
            store::count_where(conn, &mine).await? > 0
        }
        _ => false,
    };
    // R11: only agents join queues; named users who are not refuse the action, others are left out.
    let not_agents = match req.action {
        BulkAction::AddToQueues => {
            let mut not_agents_where = selected.clone();
            not_agents_where.push(" AND u.is_agent = ").bind(false);
            let count = store::count_where(conn, &not_agents_where).await?;
            if count > 0
                && let Target::Ids(_) = &req.target
            {
                let ids: Vec<String> =
                    store::ids_where(conn, &not_agents_where, 20).await?.iter().map(|i| i.to_string()).collect();
                return Err(Error::state_conflict(
                    "target.ids",
                    "not_an_agent",
                    format!("only agents are queue members; these users are not agents: {}", ids.join(", ")),
                ));
            }
            count
        }
        _ => 0,
    };
    if req.action == BulkAction::SetCallSettings {
        let input = req
            .call_settings
            .as_ref()
            .ok_or_else(|| Error::invalid("call_settings", "required", "name the call settings to set or reset"))?;
        crate::calls::settings::may_choose_dial_rules(principal, input)?;
        let many = crate::calls::settings::for_many(conn, account, input).await?;
        let changed = match req.dry_run {
            true => store::count_where(conn, &selected).await?,
            false => {
                activity::service::record_per_user(
                    conn,
                    &principal.actor,
                    "user.call_settings_changed",
                    &many.changes,
                    &selected,
                )
                .await?;
                let changed = crate::calls::settings::write_many(conn, account, &selected, &many).await? as i64;
                let mut summary = Changes::new();
                summary.set("target", &req.target).set("matched", matched).set("changed", changed);
                activity::service::record(
                    conn,
                    &principal.actor,
                    "users.bulk_set_call_settings",
                    EventTarget { kind: "users", id: None, label: &format!("{changed} users") },
                    &summary,
                )
                .await?;
                tx.commit().await?;
                changed
            }
        };
        return Ok(BulkResult {
            action: req.action,
            matched,
            changed,
            out_of_reach,
            yourself_left_out,
            not_agents,
            dry_run: req.dry_run,
        });
    }
    if req.call_settings.is_some() {
        return Err(Error::invalid(
            "call_settings",
            "not_allowed",
            format!("{} takes no call settings", req.action.as_str()),
        ));
    }
    if matches!(req.action, BulkAction::ResendInvitation | BulkAction::RevokeInvitation) {
        let revoking = req.action == BulkAction::RevokeInvitation;
        let mut invited = selected.clone();
        invited.push(" AND u.status = ").bind(UserStatus::Invited.as_str());
        if req.dry_run {
            let changed = store::count_where(conn, &invited).await?;
            return Ok(BulkResult {
                action: req.action,
                matched,
                changed,
                out_of_reach,
                yourself_left_out,
                not_agents: 0,
                dry_run: true,
            });
        }
        let changed =
            crate::users::invitations::resend_or_revoke_many(state, conn, principal, &invited, revoking).await?;
        let mut summary = Changes::new();
        summary.set("target", &req.target).set("matched", matched).set("changed", changed);
        let label = format!("{changed} invitations");
        let action = format!("users.bulk_{}", req.action.as_str());
        activity::service::record(
            conn,
            &principal.actor,
            &action,
            EventTarget { kind: "users", id: None, label: &label },
            &summary,
        )
        .await?;
        tx.commit().await?;
        state.mail.wake();
        return Ok(BulkResult {
            action: req.action,
            matched,
            changed: changed as i64,
            out_of_reach,
            yourself_left_out,
            not_agents: 0,
            dry_run: false,
        });
    }
    let plan = match (req.action, link) {
        (BulkAction::Activate, _) => store::Plan::SetStatus { to: UserStatus::Active, exclude: None },
        (BulkAction::Deactivate, _) => store::Plan::SetStatus { to: UserStatus::Disabled, exclude: me },
        (BulkAction::ScheduleDeactivation, _) => store::Plan::Schedule {
            period: store::OwnedPeriod {
                starts_at: status_change.from,
                ends_at: status_change.until,
                reason: status_change.reason.clone(),
                begins_now: status_change.from <= now,
                created_by: principal.actor.user,
                created_by_label: principal.actor.label.clone(),
            },
            exclude: me,
        },
        (BulkAction::Delete, _) => store::Plan::Delete { exclude: me, keep_superusers: !principal.platform_operator },
        (_, Some((link, add))) => store::Plan::Link { link, add, values: values.clone() },
        (BulkAction::ResendInvitation | BulkAction::RevokeInvitation, _) | (_, None) => {
            unreachable!("invitations are answered above; every other action has a link")
        }
    };
    // The users this action changes; evaluated before anything is written.
    let changing = store::changing_where(&selected, &plan);
    if req.dry_run {
        let changed = store::count_where(conn, &changing).await?;
        return Ok(BulkResult {
            action: req.action,
            matched,
            changed,
            out_of_reach,
            yourself_left_out,
            not_agents,
            dry_run: true,
        });
    }

    if let store::Plan::Schedule { period, .. } = &plan {
        let mut clashing = changing.clone();
        clashing.push(" AND ").append(&crate::store::lifecycle::overlapping(period.starts_at, period.ends_at));
        let clashes = store::count_where(conn, &clashing).await?;
        if clashes > 0 {
            let ids: Vec<String> = store::ids_where(conn, &clashing, 20).await?.iter().map(|i| i.to_string()).collect();
            return Err(Error::StateConflict(crate::error::FieldIssue::new(
                "from",
                "overlaps",
                format!(
                    "{clashes} of the users already have a deactivation period at that time (ids {}): change or cancel it first",
                    ids.join(", ")
                ),
            )));
        }
    }
    if req.action == BulkAction::Activate {
        crate::users::seats::make_room_for(conn, account, &changing).await?;
    }
    let admins_before = principal::admins_before(conn, account).await?;
    let mut changes = Changes::new();
    match &plan {
        store::Plan::SetStatus { to, .. } => {
            changes.diff("status", store::status_before(*to), *to);
        }
        store::Plan::Schedule { period, .. } => {
            changes.set(
                "deactivation",
                serde_json::json!({
                    "from": period.starts_at.to_rfc3339(),
                    "until": period.ends_at.map(|t| t.to_rfc3339()),
                }),
            );
            if period.begins_now {
                changes.diff("status", UserStatus::Active, UserStatus::Disabled);
            }
        }
        store::Plan::Delete { .. } => {}
        store::Plan::Link { link, add, .. } => {
            changes.set(link.field(), serde_json::json!({ if *add { "added" } else { "removed" }: names }));
        }
    }
    changes.set("mass_action", req.action.as_str());
    if let Some(reason) = &status_change.reason {
        changes.set("reason", reason);
    }
    let per_user_action = match req.action {
        BulkAction::Delete => "user.deleted",
        BulkAction::ScheduleDeactivation => "user.deactivation_scheduled",
        BulkAction::AddToQueues => "user.queue_joined",
        BulkAction::RemoveFromQueues => "user.queue_left",
        _ => "user.updated",
    };
    // Records first: for a deletion the rows are gone afterwards, and a change of status
    // leaves `changing` matching nobody.
    let recorded =
        activity::service::record_per_user(conn, &principal.actor, per_user_action, &changes, &changing).await?;
    let activation = status_change.activation(&plan);
    if let Some(how) = activation {
        crate::users::status::changing_many(conn, &principal.actor, how, &changing).await?;
    }
    if let store::Plan::Delete { .. } = &plan {
        // An invited user deleted takes their open invitation with them: its link says "withdrawn".
        crate::store::invitations::revoke_for_users(conn, &changing, now_ms()).await?;
    }
    let applied = store::apply(conn, &selected, &plan, &changing, now_ms()).await?;
    debug_assert_eq!(recorded, applied);
    if let Some(how) = activation {
        crate::users::status::changed_many(conn, &principal.actor, how, &selected).await?;
    }
    principal::keep_an_admin(conn, account, admins_before).await?;
    let mut summary = Changes::new();
    summary
        .set("target", &req.target)
        .set("matched", matched)
        .set("changed", applied)
        .set("out_of_reach", out_of_reach)
        .set("values", &names);
    activity::service::record(
        conn,
        &principal.actor,
        &format!("users.bulk_{}", req.action.as_str()),
        EventTarget { kind: "users", id: None, label: &format!("{applied} users") },
        &summary,
    )
    .await?;
    tx.commit().await?;
    Ok(BulkResult {
        action: req.action,
        matched,
        changed: applied as i64,
        out_of_reach,
        yourself_left_out,
        not_agents,
        dry_run: false,
    })
}
