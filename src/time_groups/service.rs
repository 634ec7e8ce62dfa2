//! Time groups (R16): named weekly schedules in a time zone, created, changed and deleted with
//! `time_groups.manage`; one in use by a queue membership is not deleted.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::schedule::{DaysText, RangeText, Rules};
use crate::access::principal::Principal;
use crate::activity::{self, Changes, Target};
use crate::clock::{now_ms, to_rfc3339};
use crate::domain::{Description, EntityName, TimeZoneName};
use crate::error::{Error, FieldIssue, Issues, Result};
use crate::http::{CursorOf, Page};
use crate::ids::{AccountId, TimeGroupId};
use crate::state::AppState;
use crate::store::queues::{self as store, TimeGroupFields, TimeGroupRecord};
use crate::store::{Conn, accounts};

#[derive(Debug, Default, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeGroupInput {
    /// 1–80 characters, unique in the account (case-insensitive).
    #[schema(max_length = 80, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$")]
    pub name: Option<String>,
    #[schema(max_length = 500, pattern = r"^[^\x00-\x09\x0b-\x1f\x7f-\x9f]*$")]
    pub description: Option<String>,
    /// IANA name; when creating, the account's time zone (or UTC) if absent. Hours are the
    /// zone's wall-clock hours, daylight saving included.
    pub time_zone: Option<String>,
    /// Per weekday (`monday` … `sunday`), up to 12 ranges `{"from": "09:00", "to": "17:00"}`
    /// that do not overlap; `to` may be `24:00`; a `to` not after `from` runs past midnight.
    /// A day left out has none. Replaces all days when given.
    #[schema(value_type = Option<std::collections::BTreeMap<String, Vec<RangeText>>>)]
    pub days: Option<DaysText>,
    /// Dates (`YYYY-MM-DD`, in the zone) closed all day. Replaces the list when given.
    pub holidays: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimeGroupView {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub time_zone: String,
    /// Every weekday, Monday first, with its ranges.
    #[schema(value_type = std::collections::BTreeMap<String, Vec<RangeText>>)]
    pub days: serde_json::Map<String, serde_json::Value>,
    pub holidays: Vec<String>,
    /// Queue memberships that use it (it cannot be deleted while any do).
    pub in_use: i64,
    /// Whether it is in effect now.
    pub in_effect_now: bool,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip)]
    pub version: i64,
}

pub fn rules_of(r: &TimeGroupRecord) -> Result<Rules> {
    Rules::from_stored(&r.time_zone, &r.days, &r.holidays)
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("time group {} holds rules that do not parse", r.id)))
}

fn view(r: TimeGroupRecord, now: i64) -> Result<TimeGroupView> {
    let rules = rules_of(&r)?;
    let days = rules
        .days_text()
        .into_iter()
        .map(|(d, ranges)| (d.to_string(), serde_json::to_value(ranges).unwrap_or_default()))
        .collect();
    Ok(TimeGroupView {
        id: r.id,
        name: r.name,
        description: r.description,
        time_zone: r.time_zone,
        days,
        holidays: rules.holidays_text(),
        in_use: r.in_use,
        in_effect_now: rules.in_effect(now),
        created_at: to_rfc3339(r.created_at),
        updated_at: to_rfc3339(r.updated_at),
        version: r.version,
    })
}

pub async fn page(
    state: &AppState,
    account: AccountId,
    cursor: Option<&str>,
    limit: i64,
) -> Result<Page<TimeGroupView>> {
    let after =
        cursor.filter(|c| !c.is_empty()).map(|c| crate::http::decode_cursor(CursorOf::TimeGroups, c)).transpose()?;
    let mut conn = state.store.read().await?;
    let rows = store::time_groups_page(&mut conn, account, after.as_deref(), limit + 1).await?;
    let page = Page::of(rows, limit, |r| crate::http::encode_cursor(CursorOf::TimeGroups, &r.name_key));
    let now = state.config.clock.now().as_ms();
    let items = page.items.into_iter().map(|r| view(r, now)).collect::<Result<_>>()?;
    Ok(Page { items, next_cursor: page.next_cursor })
}

pub async fn get(state: &AppState, account: AccountId, id: TimeGroupId) -> Result<TimeGroupView> {
    let mut conn = state.store.read().await?;
    let r = store::time_group(&mut conn, account, id).await?.ok_or(Error::NotFound("time group"))?;
    view(r, state.config.clock.now().as_ms())
}

/// What a request sets, checked; absent parts are taken from `current` (or defaults).
struct Parsed {
    name: String,
    description: String,
    rules: Rules,
}

async fn parse(
    conn: &mut Conn,
    account: AccountId,
    input: &TimeGroupInput,
    current: Option<&TimeGroupRecord>,
) -> Result<Parsed> {
    let mut issues = Issues::new();
    let name = match (&input.name, current) {
        (Some(n), _) => issues.check("name", EntityName::parse(n)).map(|n| n.as_str().to_string()),
        (None, Some(c)) => Some(c.name.clone()),
        (None, None) => {
            issues.add("name", "required", "is required");
            None
        }
    };
    let description = match (&input.description, current) {
        (Some(d), _) => issues.check("description", Description::parse(d)).map(|d| d.as_str().to_string()),
        (None, Some(c)) => Some(c.description.clone()),
        (None, None) => Some(String::new()),
    };
    let zone = match (&input.time_zone, current) {
        (Some(z), _) => issues.check("time_zone", TimeZoneName::parse(z)),
        (None, Some(c)) => TimeZoneName::parse(&c.time_zone).ok(),
        (None, None) => {
            let record = accounts::by_id(conn, account).await?.ok_or(Error::NotFound("account"))?;
            Some(record.time_display().time_zone.unwrap_or(TimeZoneName::from(chrono_tz::UTC)))
        }
    };
    let stored = current.map(rules_of).transpose()?;
    let days: DaysText = match (&input.days, &stored) {
        (Some(d), _) => d.clone(),
        (None, Some(s)) => s.days_text().into_iter().map(|(d, r)| (d.to_string(), r)).collect(),
        (None, None) => DaysText::new(),
    };
    let holidays = match (&input.holidays, &stored) {
        (Some(h), _) => h.clone(),
        (None, Some(s)) => s.holidays_text(),
        (None, None) => Vec::new(),
    };
    let rules = zone.and_then(|z| Rules::parse(&mut issues, z, &days, &holidays));
    issues.into_result()?;
    match (name, description, rules) {
        (Some(name), Some(description), Some(rules)) => Ok(Parsed { name, description, rules }),
        _ => Err(Error::invalid("request", "invalid", "the time group is not valid")),
    }
}

fn changes_of(p: &Parsed, before: Option<&TimeGroupRecord>) -> Changes {
    let mut changes = Changes::new();
    let (days, holidays) = (p.rules.days_json(), p.rules.holidays_json());
    match before {
        None => {
            changes
                .set("name", &p.name)
                .set("description", &p.description)
                .set("time_zone", p.rules.zone.name())
                .set("days", serde_json::from_str::<serde_json::Value>(&days).unwrap_or_default())
                .set("holidays", p.rules.holidays_text());
        }
        Some(b) => {
            changes.diff("name", &b.name, &p.name).diff("description", &b.description, &p.description).diff(
                "time_zone",
                b.time_zone.as_str(),
                p.rules.zone.name(),
            );
            if b.days != days {
                changes.diff(
                    "days",
                    serde_json::from_str::<serde_json::Value>(&b.days).unwrap_or_default(),
                    serde_json::from_str::<serde_json::Value>(&days).unwrap_or_default(),
                );
            }
            if b.holidays != holidays {
                changes.diff(
                    "holidays",
                    serde_json::from_str::<Vec<String>>(&b.holidays).unwrap_or_default(),
                    p.rules.holidays_text(),
                );
            }
        }
    }
    changes
}

pub async fn create(state: &AppState, principal: &Principal, input: TimeGroupInput) -> Result<TimeGroupView> {
    let account = principal.account();
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let p = parse(conn, account, &input, None).await?;
    let (days, holidays) = (p.rules.days_json(), p.rules.holidays_json());
    let fields = TimeGroupFields {
        name: &p.name,
        description: &p.description,
        time_zone: p.rules.zone.name(),
        days: &days,
        holidays: &holidays,
    };
    let id = store::insert_time_group(conn, account, &fields, now_ms()).await?;
    let target = Target { kind: "time_group", id: Some(id.0), label: &p.name };
    activity::record(conn, &principal.actor, "time_group.created", target, &changes_of(&p, None)).await?;
    let r = store::time_group(conn, account, id).await?.ok_or(Error::NotFound("time group"))?;
    tx.commit().await?;
    view(r, state.config.clock.now().as_ms())
}

pub async fn update(
    state: &AppState,
    principal: &Principal,
    id: TimeGroupId,
    expected_version: i64,
    input: TimeGroupInput,
) -> Result<TimeGroupView> {
    let account = principal.account();
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let current = store::time_group(conn, account, id).await?.ok_or(Error::NotFound("time group"))?;
    if current.version != expected_version {
        return Err(Error::PreconditionFailed);
    }
    let p = parse(conn, account, &input, Some(&current)).await?;
    let (days, holidays) = (p.rules.days_json(), p.rules.holidays_json());
    let fields = TimeGroupFields {
        name: &p.name,
        description: &p.description,
        time_zone: p.rules.zone.name(),
        days: &days,
        holidays: &holidays,
    };
    if !store::update_time_group(conn, account, id, &fields, expected_version, now_ms()).await? {
        return Err(Error::PreconditionFailed);
    }
    let changes = changes_of(&p, Some(&current));
    let target = Target { kind: "time_group", id: Some(id.0), label: &p.name };
    activity::record(conn, &principal.actor, "time_group.updated", target, &changes).await?;
    let r = store::time_group(conn, account, id).await?.ok_or(Error::NotFound("time group"))?;
    tx.commit().await?;
    view(r, state.config.clock.now().as_ms())
}

/// Deletes a time group no membership uses; one in use is refused, naming its queues.
pub async fn delete(state: &AppState, principal: &Principal, id: TimeGroupId) -> Result<()> {
    let account = principal.account();
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let current = store::time_group(conn, account, id).await?.ok_or(Error::NotFound("time group"))?;
    let using = store::queues_using(conn, id).await?;
    if !using.is_empty() {
        let list: Vec<String> = using.iter().map(|(q, n)| format!("{q} ({n})")).collect();
        return Err(Error::StateConflict(FieldIssue::new(
            "id",
            "in_use",
            format!(
                "memberships of these queues use this time group: {}; give them another time group or none first",
                list.join(", ")
            ),
        )));
    }
    store::delete_time_group(conn, account, id).await?;
    let mut changes = Changes::new();
    changes.set("name", &current.name);
    let target = Target { kind: "time_group", id: Some(id.0), label: &current.name };
    activity::record(conn, &principal.actor, "time_group.deleted", target, &changes).await?;
    tx.commit().await?;
    Ok(())
}
