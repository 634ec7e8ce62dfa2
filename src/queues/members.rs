//! Queue memberships (R16, R11): only agents are members; each membership has a join option,
//! a position and, optionally, a time group. A membership is part of the user, so changing one
//! needs `users.edit` and the user within the principal's reach (D2, D8), as a desk does.
//! The PBX asks who is a member now: active agents whose time group (in its zone) holds.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::Permission;
use crate::access::principal::{self, Principal};
use crate::activity::{self, Changes, Target};
use crate::clock::{Timestamp, now_ms, to_rfc3339};
use crate::error::{Error, FieldIssue, Issues, Result};
use crate::ids::{AccountId, QueueId, TimeGroupId, UserId};
use crate::model::user::UserStatus;
use crate::state::AppState;
use crate::store::Conn;
use crate::store::grants::Seen;
use crate::store::queues::{self as store, MemberFields, MemberRecord, QueueRecord};
use crate::time_groups::schedule::Rules;

use super::member_lists::{self, MemberList};

/// The kind of the notice an agent gets when added to a queue (one at a time; a mass action
/// sends none), if they receive email (R11).
pub const JOINED_NOTICE: &str = "queue_joined";

/// Positions run from 1 (offered calls first) to this; several members may share one, and the
/// queue's strategy chooses among them.
pub const LAST_POSITION: i64 = 999;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JoinMode {
    /// Logged in to the queue whenever the agent is available.
    Automatic,
    /// The agent joins and leaves the queue themself.
    Manual,
}

impl JoinMode {
    pub const ALL: [JoinMode; 2] = [JoinMode::Automatic, JoinMode::Manual];

    pub fn as_str(self) -> &'static str {
        match self {
            JoinMode::Automatic => "automatic",
            JoinMode::Manual => "manual",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            JoinMode::Automatic => "Automatic",
            JoinMode::Manual => "Manual",
        }
    }

    pub fn parse(s: &str) -> Option<JoinMode> {
        JoinMode::ALL.into_iter().find(|j| j.as_str() == s.trim())
    }
}

#[derive(Debug, Default, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MembershipInput {
    /// `automatic` (default for a new member) or `manual`.
    #[schema(value_type = Option<JoinMode>)]
    pub join: Option<String>,
    /// 1–999, 1 first (default 1 for a new member); members may share a position.
    #[schema(minimum = 1, maximum = 999)]
    pub position: Option<i64>,
    /// The id of the time group during which the agent is a member; `null`: always.
    #[serde(default, deserialize_with = "crate::domain::present")]
    #[schema(value_type = Option<i64>)]
    pub time_group: Option<Option<i64>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberUser {
    pub id: i64,
    pub login: String,
    pub display_name: String,
    pub extension: Option<String>,
    pub status: UserStatus,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueRef {
    pub id: i64,
    pub name: String,
    pub extension: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimeGroupRef {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MembershipView {
    pub queue: QueueRef,
    pub user: MemberUser,
    pub join: JoinMode,
    pub position: i64,
    pub time_group: Option<TimeGroupRef>,
    /// Whether the agent is a member at the instant asked about: active, and within the time
    /// group (in its zone) if there is one.
    pub member_now: bool,
    /// Why not, when not: `disabled`, `invited`, `outside_time_group`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_now_because: Option<&'static str>,
    pub added_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueMembers {
    pub queue: QueueRef,
    /// The instant `member_now` is about (RFC 3339).
    pub at: String,
    /// How many are members at that instant.
    pub members_now: usize,
    /// In position order, then login. With `current=true`, only those who are members now.
    pub members: Vec<MembershipView>,
    #[serde(skip)]
    pub members_version: i64,
}

/// Time groups by id, parsed once per read (or once per kept member list).
pub struct TimeGroups(HashMap<i64, Rules>);

impl TimeGroups {
    async fn of(conn: &mut Conn, account: AccountId, records: &[MemberRecord]) -> Result<TimeGroups> {
        let mut ids: Vec<i64> = records.iter().filter_map(|r| r.time_group_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut out = HashMap::new();
        for r in store::time_groups_by_id(conn, account, &ids).await? {
            out.insert(r.id, crate::time_groups::service::rules_of(&r)?);
        }
        Ok(TimeGroups(out))
    }

    /// Why `r` is not a member at `at`; `None` when they are.
    pub(super) fn not_now(&self, r: &MemberRecord, at: Timestamp) -> Option<NotNow> {
        match UserStatus::parse(&r.status).unwrap_or(UserStatus::Disabled) {
            UserStatus::Disabled => Some(NotNow::Disabled),
            UserStatus::Invited => Some(NotNow::Invited),
            UserStatus::Active => match r.time_group_id {
                Some(t) if !self.0.get(&t).is_some_and(|rules| rules.in_effect(at.as_ms())) => {
                    Some(NotNow::OutsideTimeGroup)
                }
                _ => None,
            },
        }
    }

    fn view(&self, r: &MemberRecord, at: Timestamp) -> MembershipView {
        view_as(r, self.not_now(r, at))
    }
}

/// Why a member is not one at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotNow {
    Disabled,
    Invited,
    OutsideTimeGroup,
}

impl NotNow {
    pub fn as_str(self) -> &'static str {
        match self {
            NotNow::Disabled => "disabled",
            NotNow::Invited => "invited",
            NotNow::OutsideTimeGroup => "outside_time_group",
        }
    }
}

/// A membership as shown, given whether it holds (`not_now`: why not).
pub(super) fn view_as(r: &MemberRecord, not_now: Option<NotNow>) -> MembershipView {
    let status = UserStatus::parse(&r.status).unwrap_or(UserStatus::Disabled);
    let not_now_because = not_now.map(NotNow::as_str);
    MembershipView {
        queue: QueueRef { id: r.queue_id, name: r.queue_name.clone(), extension: r.queue_extension.clone() },
        user: MemberUser {
            id: r.user_id,
            display_name: crate::model::user::display_name(r.first_name.as_deref(), r.last_name.as_deref(), &r.login),
            login: r.login.clone(),
            extension: r.extension.clone(),
            status,
        },
        join: JoinMode::parse(&r.join_mode).unwrap_or(JoinMode::Automatic),
        position: r.position,
        time_group: r
            .time_group_id
            .zip(r.time_group_name.as_ref())
            .map(|(id, name)| TimeGroupRef { id, name: name.clone() }),
        member_now: not_now_because.is_none(),
        not_now_because,
        added_at: to_rfc3339(r.created_at),
    }
}

/// Whose memberships a reader sees (D8): those within their `queues.view`, and within their
/// `users.view` too when they hold it (a PBX token with `queues.view` alone sees the members'
/// login, name, extension and status, as it must to offer them calls).
fn members_seen(principal: &Principal) -> Seen {
    let queues = principal.seen_for(Permission::QueuesView);
    if !principal.has(Permission::UsersView) {
        return queues;
    }
    match (queues, principal.seen_for(Permission::UsersView)) {
        (Seen::All, users) => users,
        (queues, Seen::All) => queues,
        (queues, users) if queues == users => queues,
        (queues, users) => Seen::Both(Box::new(queues), Box::new(users)),
    }
}

/// The rows of a queue's kept list that a reader sees, each with why it is not a membership at
/// the instant asked about (`None`: it is).
struct SeenRows {
    list: Arc<MemberList>,
    rows: Vec<(usize, Option<NotNow>)>,
    members_now: usize,
}

/// A queue's members as `principal` sees them (D8: those of their users they see), at `at`;
/// `current`: only those who are members then. The list comes from memory while a read would
/// find the same (`member_lists`).
async fn seen_rows(
    state: &AppState,
    principal: &Principal,
    queue: QueueId,
    at: Timestamp,
    current: bool,
) -> Result<SeenRows> {
    let account = principal.account();
    let index = state.store.user_index();
    let mut conn = state.store.read().await?;
    let stamp = index.queue_stamp(&mut conn, account, queue.0).await?;
    let list = match member_lists::kept(state.store.kept(), account, queue, stamp) {
        Some(list) => list,
        None => {
            let q = store::get(&mut conn, account, queue).await?.ok_or(Error::NotFound("queue"))?;
            let records = store::members(&mut conn, account, queue, &Seen::All).await?;
            let groups = TimeGroups::of(&mut conn, account, &records).await?;
            let list = Arc::new(MemberList::new(stamp, q, records, groups));
            member_lists::keep(state.store.kept(), account, list.clone());
            list
        }
    };
    drop(conn);
    // D8 from the user list as just brought up to date, as the list itself was.
    let covered = match members_seen(principal) {
        Seen::All => None,
        seen => {
            let ids: Vec<UserId> = list.records.iter().map(|r| UserId(r.user_id)).collect();
            index.covers(account, std::slice::from_ref(&seen), &ids).pop()
        }
    };
    let mut members_now = 0;
    let mut rows = Vec::with_capacity(list.records.len());
    for (i, r) in list.records.iter().enumerate() {
        if covered.as_ref().is_some_and(|c| !c[i]) {
            continue;
        }
        let not_now = list.groups.not_now(r, at);
        members_now += usize::from(not_now.is_none());
        if not_now.is_none() || !current {
            rows.push((i, not_now));
        }
    }
    Ok(SeenRows { list, rows, members_now })
}

fn queue_ref(q: &QueueRecord) -> QueueRef {
    QueueRef { id: q.id, name: q.name.clone(), extension: q.extension.clone() }
}

/// A queue's members as `principal` sees them (D8: those of their users they see), each with
/// whether they are a member at `at`; `current`: only those who are.
pub async fn of_queue(
    state: &AppState,
    principal: &Principal,
    queue: QueueId,
    at: Timestamp,
    current: bool,
) -> Result<QueueMembers> {
    let seen = seen_rows(state, principal, queue, at, current).await?;
    let records = &seen.list.records;
    Ok(QueueMembers {
        queue: queue_ref(&seen.list.queue),
        at: at.to_rfc3339(),
        members_now: seen.members_now,
        members: seen.rows.iter().map(|(i, not_now)| view_as(&records[*i], *not_now)).collect(),
        members_version: seen.list.queue.members_version,
    })
}

/// The same as `of_queue`, as the same JSON, its rows as the kept list rendered them once (the
/// PBX's read: rendering a hundred rows was most of its cost).
pub async fn of_queue_rendered(
    state: &AppState,
    principal: &Principal,
    queue: QueueId,
    at: Timestamp,
    current: bool,
) -> Result<RenderedMembers> {
    let seen = seen_rows(state, principal, queue, at, current).await?;
    for (i, not_now) in &seen.rows {
        let record = &seen.list.records[*i];
        seen.list.rendered(*i, *not_now, || {
            serde_json::value::to_raw_value(&view_as(record, *not_now)).map_err(|e| Error::Internal(e.into()))
        })?;
    }
    Ok(RenderedMembers { at: at.to_rfc3339(), seen })
}

/// `QueueMembers` as JSON, its rows made before (`of_queue_rendered`).
pub struct RenderedMembers {
    at: String,
    seen: SeenRows,
}

impl RenderedMembers {
    pub fn members_version(&self) -> i64 {
        self.seen.list.queue.members_version
    }
}

impl Serialize for RenderedMembers {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeStruct};
        let list = &self.seen.list;
        let rows: Vec<&serde_json::value::RawValue> = self
            .seen
            .rows
            .iter()
            .map(|(i, not_now)| list.made(*i, *not_now).ok_or_else(|| S::Error::custom("a row not rendered")))
            .collect::<std::result::Result<_, _>>()?;
        // The fields of `QueueMembers`, in its order.
        let mut s = serializer.serialize_struct("QueueMembers", 4)?;
        s.serialize_field("queue", &queue_ref(&list.queue))?;
        s.serialize_field("at", &self.at)?;
        s.serialize_field("members_now", &self.seen.members_now)?;
        s.serialize_field("members", &rows)?;
        s.end()
    }
}

/// One membership, if the principal sees the member (D8) and they are one.
pub async fn one(state: &AppState, principal: &Principal, queue: QueueId, user: UserId) -> Result<MembershipView> {
    let account = principal.account();
    let mut conn = state.store.read().await?;
    store::get(&mut conn, account, queue).await?.ok_or(Error::NotFound("queue"))?;
    let record = store::membership(&mut conn, queue, user).await?.ok_or(Error::NotFound("membership"))?;
    let seen = members_seen(principal);
    if seen != Seen::All && !crate::store::grants::covers(&mut conn, account, &seen, user).await? {
        return Err(Error::NotFound("membership"));
    }
    let groups = TimeGroups::of(&mut conn, account, std::slice::from_ref(&record)).await?;
    Ok(groups.view(&record, state.config.clock.now()))
}

/// A user's memberships, in queue name order (the user's Queues tab).
pub async fn of_user(state: &AppState, principal: &Principal, user: UserId) -> Result<Vec<MembershipView>> {
    let mut conn = state.store.read().await?;
    principal::seen_user(&mut conn, principal, user).await?;
    let records = store::memberships(&mut conn, user).await?;
    let groups = TimeGroups::of(&mut conn, principal.account(), &records).await?;
    let at = state.config.clock.now();
    Ok(records.iter().map(|r| groups.view(r, at)).collect())
}

struct Checked {
    join: Option<JoinMode>,
    position: Option<i64>,
    time_group: Option<Option<TimeGroupId>>,
}

fn check(input: &MembershipInput) -> Result<Checked> {
    let mut issues = Issues::new();
    let join = input.join.as_deref().and_then(|j| {
        let parsed = JoinMode::parse(j);
        if parsed.is_none() {
            issues.add("join", "unknown_join", format!("{j:?} is not a join option: use automatic or manual"));
        }
        parsed
    });
    let position = input.position.filter(|p| {
        let ok = (1..=LAST_POSITION).contains(p);
        if !ok {
            issues.add("position", "out_of_range", format!("a position is from 1 (first) to {LAST_POSITION}"));
        }
        ok
    });
    issues.into_result()?;
    Ok(Checked { join, position, time_group: input.time_group.map(|t| t.map(TimeGroupId)) })
}

/// The member list's version did not move: stale when the caller sent one, else the queue is
/// gone (deleted since it was read in this transaction).
fn version_conflict(expected: Option<i64>) -> Error {
    match expected {
        Some(_) => Error::PreconditionFailed,
        None => Error::NotFound("queue"),
    }
}

/// The agent `user`, within the principal's reach, in this transaction.
async fn reachable_agent(
    conn: &mut Conn,
    principal: &Principal,
    user: UserId,
) -> Result<crate::model::user::UserRecord> {
    let target = principal::reachable_user(conn, principal, user).await?;
    if !target.record.is_agent {
        return Err(Error::StateConflict(FieldIssue::new(
            "user",
            "not_an_agent",
            format!("only agents are queue members: make {} an agent first", target.record.login),
        )));
    }
    Ok(target.record)
}

/// Whether a write may change an existing membership or only add one (the console's Add forms:
/// a stale page or a second click must not reset a member's settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    AddOrChange,
    AddOnly,
}

/// What a membership write answers: the membership, whether it was added, and the member
/// list's new version (the `ETag` for the next write).
pub struct Written {
    pub view: MembershipView,
    pub added: bool,
    pub members_version: i64,
}

/// Adds `user` to the queue or changes their membership. `expected` is the version of the
/// queue's members the caller last read (`If-Match`), if they sent one.
pub async fn put(
    state: &AppState,
    principal: &Principal,
    queue: QueueId,
    user: UserId,
    expected: Option<i64>,
    input: MembershipInput,
    mode: Put,
) -> Result<Written> {
    let account = principal.account();
    let checked = check(&input)?;
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let q = store::get(conn, account, queue).await?.ok_or(Error::NotFound("queue"))?;
    let record = reachable_agent(conn, principal, user).await?;
    if let Some(Some(group)) = checked.time_group
        && store::time_group(conn, account, group).await?.is_none()
    {
        return Err(Error::invalid("time_group", "unknown_id", format!("no such time group in this account: {group}")));
    }
    if !store::take_members(conn, queue, expected).await? {
        return Err(version_conflict(expected));
    }
    let before = store::membership(conn, queue, user).await?;
    if let (Put::AddOnly, Some(_)) = (mode, &before) {
        return Err(Error::state_conflict(
            "user",
            "already_a_member",
            format!("{} is a member of this queue already: change their membership in the queue's list", record.login),
        ));
    }
    let fields = MemberFields {
        join_mode: checked
            .join
            .or(before.as_ref().and_then(|b| JoinMode::parse(&b.join_mode)))
            .unwrap_or(JoinMode::Automatic)
            .as_str(),
        position: checked.position.or(before.as_ref().map(|b| b.position)).unwrap_or(1),
        time_group: match checked.time_group {
            Some(t) => t,
            None => before.as_ref().and_then(|b| b.time_group_id).map(TimeGroupId),
        },
    };
    let added = store::put_member(conn, queue, user, &fields, now_ms()).await?;
    let after = store::membership(conn, queue, user).await?.ok_or(Error::NotFound("membership"))?;
    let mut changes = Changes::new();
    changes.set("queue", &q.name);
    let group_name = |r: &Option<MemberRecord>| r.as_ref().and_then(|r| r.time_group_name.clone());
    match &before {
        None => {
            changes
                .set("join", &after.join_mode)
                .set("position", after.position)
                .set("time_group", &after.time_group_name);
        }
        Some(b) => {
            changes.diff("join", &b.join_mode, &after.join_mode).diff("position", b.position, after.position).diff(
                "time_group",
                group_name(&before),
                after.time_group_name.clone(),
            );
        }
    }
    let action = if added { "user.queue_joined" } else { "user.queue_membership_changed" };
    activity::record(conn, &principal.actor, action, Target::user(user, &record.login), &changes).await?;
    let notified = match added {
        true => notify_joined(conn, &record, &q.name, &after).await?,
        false => false,
    };
    let groups = TimeGroups::of(conn, account, std::slice::from_ref(&after)).await?;
    let view = groups.view(&after, state.config.clock.now());
    let members_version = store::get(conn, account, queue).await?.map_or(0, |q| q.members_version);
    tx.commit().await?;
    if notified {
        state.mail.wake();
    }
    Ok(Written { view, added, members_version })
}

/// `put` for the agent whose login is `login` (the console's Members tab adds by login); an
/// unknown login is refused naming the field.
pub async fn put_by_login(
    state: &AppState,
    principal: &Principal,
    queue: QueueId,
    login: &str,
    expected: Option<i64>,
    input: MembershipInput,
    mode: Put,
) -> Result<Written> {
    let unknown = || Error::invalid("login", "unknown_login", format!("no user with the login {:?}", login.trim()));
    let found = match login.trim() {
        "" => None,
        login => {
            let mut conn = state.store.read().await?;
            crate::store::users::find_id_by_login(&mut conn, principal.account(), &login.to_lowercase()).await?
        }
    };
    let Some(user) = found else { return Err(unknown()) };
    // A user outside the principal's scope is unknown to them (D8), as one who does not exist.
    match put(state, principal, queue, user, expected, input, mode).await {
        Err(Error::NotFound("user")) => Err(unknown()),
        other => other,
    }
}

/// Tells an agent they now answer a queue's calls, if they receive email (R11).
async fn notify_joined(
    conn: &mut Conn,
    user: &crate::model::user::UserRecord,
    queue: &str,
    membership: &MemberRecord,
) -> Result<bool> {
    let join = match JoinMode::parse(&membership.join_mode) {
        Some(JoinMode::Manual) => "You join and leave it yourself from your phone.",
        _ => "You are logged in to it whenever you are available.",
    };
    let when = match &membership.time_group_name {
        Some(group) => format!("You are a member during the hours of the time group {group}."),
        None => "You are a member at all times.".to_string(),
    };
    let subject = format!("You now answer the queue {queue}");
    let text = format!(
        "Hello {},\n\nyou were added to the call queue {queue}, at position {} (1 is offered calls first).\n{join}\n{when}\n\nThis is a notice; your account's settings say whether you receive such mail.\n",
        user.display_name(),
        membership.position
    );
    crate::mail::notify(conn, user, &subject, &text, JOINED_NOTICE).await
}

/// Removes `user` from the queue.
pub async fn remove(
    state: &AppState,
    principal: &Principal,
    queue: QueueId,
    user: UserId,
    expected: Option<i64>,
) -> Result<()> {
    let account = principal.account();
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let q = store::get(conn, account, queue).await?.ok_or(Error::NotFound("queue"))?;
    let target = principal::reachable_user(conn, principal, user).await?;
    if !store::take_members(conn, queue, expected).await? {
        return Err(version_conflict(expected));
    }
    if !store::remove_member(conn, queue, user).await? {
        return Err(Error::NotFound("membership"));
    }
    let mut changes = Changes::new();
    changes.set("queue", &q.name);
    activity::record(conn, &principal.actor, "user.queue_left", Target::user(user, &target.record.login), &changes)
        .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PositionsInput {
    /// New positions of members, by user id; members not named keep theirs.
    pub positions: Vec<PositionOf>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PositionOf {
    pub user: i64,
    #[schema(minimum = 1, maximum = 999)]
    pub position: i64,
}

/// Sets many members' positions at once (a reordering), all or none; `expected` is the version
/// of the members the caller reordered (required: a reordering is of the list as it was read).
pub async fn set_positions(
    state: &AppState,
    principal: &Principal,
    queue: QueueId,
    expected: i64,
    input: PositionsInput,
) -> Result<QueueMembers> {
    let account = principal.account();
    let mut issues = Issues::new();
    let mut seen_users = std::collections::HashSet::new();
    for (i, p) in input.positions.iter().enumerate() {
        if !(1..=LAST_POSITION).contains(&p.position) {
            issues.add(
                &format!("positions[{i}].position"),
                "out_of_range",
                format!("a position is from 1 (first) to {LAST_POSITION}"),
            );
        }
        if !seen_users.insert(p.user) {
            issues.add(&format!("positions[{i}].user"), "duplicate", format!("user {} is named twice", p.user));
        }
    }
    if input.positions.len() > 1_000 {
        issues.add("positions", "too_many", "at most 1,000 positions at once");
    }
    issues.into_result()?;
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let q = store::get(conn, account, queue).await?.ok_or(Error::NotFound("queue"))?;
    if !store::take_members(conn, queue, Some(expected)).await? {
        return Err(Error::PreconditionFailed);
    }
    // Members the principal does not see are not members to them (D8), in the same words.
    let seen = principal.seen_for(Permission::UsersEdit);
    let current: HashMap<i64, MemberRecord> =
        store::members(conn, account, queue, &seen).await?.into_iter().map(|m| (m.user_id, m)).collect();
    let mut targets = Vec::new();
    for (i, p) in input.positions.iter().enumerate() {
        let Some(before) = current.get(&p.user) else {
            return Err(Error::invalid(
                format!("positions[{i}].user"),
                "not_a_member",
                format!("user {} is not a member of this queue", p.user),
            ));
        };
        // D2 for every user named, moved or not: a reordering is all or nothing.
        targets.push((p, before, principal::reachable_user(conn, principal, UserId(p.user)).await?));
    }
    targets.retain(|(p, before, _)| before.position != p.position);
    if targets.is_empty() {
        // Nothing moves: nothing is written.
        drop(tx);
        return of_queue(state, principal, queue, state.config.clock.now(), false).await;
    }
    for (p, before, target) in targets {
        store::set_position(conn, queue, UserId(p.user), p.position).await?;
        let mut changes = Changes::new();
        changes.set("queue", &q.name).diff("position", before.position, p.position);
        activity::record(
            conn,
            &principal.actor,
            "user.queue_membership_changed",
            Target::user(UserId(p.user), &target.record.login),
            &changes,
        )
        .await?;
    }
    tx.commit().await?;
    of_queue(state, principal, queue, state.config.clock.now(), false).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::user_index::QueueStamp;

    fn record(user_id: i64, status: &str, time_group_id: Option<i64>) -> MemberRecord {
        MemberRecord {
            queue_id: 3,
            queue_name: "Hotline \"A\"".into(),
            queue_extension: Some("700".into()),
            user_id,
            login: format!("agent-{user_id}"),
            first_name: Some("Zoë".into()),
            last_name: None,
            extension: None,
            status: status.into(),
            join_mode: "manual".into(),
            position: user_id,
            time_group_id,
            time_group_name: time_group_id.map(|_| "Nights".into()),
            created_at: 1_700_000_000_000,
        }
    }

    #[test]
    fn rendered_rows_are_the_typed_rows_as_json() {
        let queue = QueueRecord {
            id: 3,
            name: "Hotline \"A\"".into(),
            name_key: "hotline \"a\"".into(),
            description: String::new(),
            extension: Some("700".into()),
            member_count: 4,
            created_at: 0,
            updated_at: 0,
            version: 1,
            members_version: 9,
        };
        // No rules for time group 7: its member is outside it whenever asked.
        let records = vec![record(1, "active", None), record(2, "disabled", None), record(3, "invited", None)];
        let records = [records, vec![record(4, "active", Some(7))]].concat();
        let list = Arc::new(MemberList::new(QueueStamp::default(), queue, records, TimeGroups(HashMap::new())));
        let at = Timestamp::from_ms(1_800_000_000_000);
        let rows: Vec<(usize, Option<NotNow>)> =
            list.records.iter().enumerate().map(|(i, r)| (i, list.groups.not_now(r, at))).collect();
        assert_eq!(
            rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            [None, Some(NotNow::Disabled), Some(NotNow::Invited), Some(NotNow::OutsideTimeGroup)]
        );
        for (i, not_now) in &rows {
            let view = view_as(&list.records[*i], *not_now);
            list.rendered(*i, *not_now, || Ok(serde_json::value::to_raw_value(&view).unwrap())).unwrap();
        }
        let typed = QueueMembers {
            queue: queue_ref(&list.queue),
            at: at.to_rfc3339(),
            members_now: 1,
            members: rows.iter().map(|(i, not_now)| view_as(&list.records[*i], *not_now)).collect(),
            members_version: 9,
        };
        let seen = SeenRows { list: list.clone(), rows, members_now: 1 };
        let rendered = RenderedMembers { at: at.to_rfc3339(), seen };
        assert_eq!(rendered.members_version(), 9);
        assert_eq!(serde_json::to_string(&rendered).unwrap(), serde_json::to_string(&typed).unwrap());

        // A row asked for in a way not rendered before is refused, not sent wrong.
        let unrendered = SeenRows { list, rows: vec![(0, Some(NotNow::Disabled))], members_now: 0 };
        assert!(serde_json::to_string(&RenderedMembers { at: String::new(), seen: unrendered }).is_err());
    }
}
