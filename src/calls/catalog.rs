//! The telephony catalogs (R38): dial rule sets, music-on-hold classes and intercept groups,
//! each named in the account; a dial rule set also holds its ordered rules. One in use by the
//! account's defaults or by users' own values is not deleted (intercept groups: their links go
//! with them, recorded).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dial_plan::{DialRule, RuleSet};
use crate::access::principal::Principal;
use crate::activity::{self, Changes, Target};
use crate::clock::{now_ms, to_rfc3339};
use crate::domain::{Description, EntityName};
use crate::error::{Error, FieldIssue, Issues, Result};
use crate::http::{CursorOf, Page};
use crate::ids::AccountId;
use crate::state::AppState;
use crate::store::calls::{self as store, CallCatalog, CatalogRecord};

impl CallCatalog {
    pub fn noun(self) -> &'static str {
        match self {
            CallCatalog::DialRules => "dial rule set",
            CallCatalog::MusicOnHold => "music on hold class",
            CallCatalog::InterceptGroups => "intercept group",
        }
    }

    fn activity(self) -> &'static str {
        match self {
            CallCatalog::DialRules => "dial_rules",
            CallCatalog::MusicOnHold => "music_on_hold",
            CallCatalog::InterceptGroups => "intercept_group",
        }
    }

    fn cursor(self) -> CursorOf {
        match self {
            CallCatalog::DialRules => CursorOf::DialRules,
            CallCatalog::MusicOnHold => CursorOf::MusicOnHold,
            CallCatalog::InterceptGroups => CursorOf::InterceptGroups,
        }
    }
}

#[derive(Debug, Default, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallCatalogInput {
    /// 1–80 characters, unique in the account (case-insensitive).
    #[schema(max_length = 80, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$")]
    pub name: Option<String>,
    #[schema(max_length = 500, pattern = r"^[^\x00-\x09\x0b-\x1f\x7f-\x9f]*$")]
    pub description: Option<String>,
    /// Dial rule sets only: up to 100 rules, the first that matches a number decides, a number
    /// none matches is denied. Replaces the list when given.
    pub rules: Option<Vec<DialRule>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CallCatalogItem {
    pub id: i64,
    pub name: String,
    pub description: String,
    /// Dial rule sets only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<DialRule>>,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip)]
    pub version: i64,
}

fn item(kind: CallCatalog, r: CatalogRecord) -> CallCatalogItem {
    let rules = (kind == CallCatalog::DialRules).then(|| serde_json::from_str(&r.rules).unwrap_or_default());
    CallCatalogItem {
        id: r.id,
        name: r.name,
        description: r.description,
        rules,
        created_at: to_rfc3339(r.created_at),
        updated_at: to_rfc3339(r.updated_at),
        version: r.version,
    }
}

pub async fn page(
    state: &AppState,
    kind: CallCatalog,
    account: AccountId,
    cursor: Option<&str>,
    limit: i64,
) -> Result<Page<CallCatalogItem>> {
    let after = cursor.filter(|c| !c.is_empty()).map(|c| crate::http::decode_cursor(kind.cursor(), c)).transpose()?;
    let mut conn = state.store.read().await?;
    let rows = store::page(&mut conn, kind, account, after.as_deref(), limit + 1).await?;
    let page = Page::of(rows, limit, |r| crate::http::encode_cursor(kind.cursor(), &r.name_key));
    Ok(Page { items: page.items.into_iter().map(|r| item(kind, r)).collect(), next_cursor: page.next_cursor })
}

pub async fn get(state: &AppState, kind: CallCatalog, account: AccountId, id: i64) -> Result<CallCatalogItem> {
    let mut conn = state.store.read().await?;
    Ok(item(kind, store::get(&mut conn, kind, account, id).await?.ok_or(Error::NotFound(kind.noun()))?))
}

struct Parsed {
    name: String,
    description: String,
    rules: String,
}

fn parse(kind: CallCatalog, input: &CallCatalogInput, current: Option<&CatalogRecord>) -> Result<Parsed> {
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
    let rules = match (&input.rules, kind, current) {
        (Some(_), CallCatalog::MusicOnHold | CallCatalog::InterceptGroups, _) => {
            issues.add("rules", "not_allowed", format!("a {} has no rules; dial rule sets do", kind.noun()));
            None
        }
        (Some(list), CallCatalog::DialRules, _) => RuleSet::parse(&mut issues, list)
            .map(|set| serde_json::to_string(&set.rules()).unwrap_or_else(|_| "[]".into())),
        (None, _, Some(c)) => Some(c.rules.clone()),
        (None, _, None) => Some("[]".to_string()),
    };
    issues.into_result()?;
    match (name, description, rules) {
        (Some(name), Some(description), Some(rules)) => Ok(Parsed { name, description, rules }),
        _ => Err(Error::invalid("request", "invalid", format!("the {} is not valid", kind.noun()))),
    }
}

fn target(kind: CallCatalog, id: i64, name: &str) -> Target<'_> {
    Target { kind: kind.activity(), id: Some(id), label: name }
}

fn rules_json(rules: &str) -> serde_json::Value {
    serde_json::from_str(rules).unwrap_or_default()
}

pub async fn create(
    state: &AppState,
    principal: &Principal,
    kind: CallCatalog,
    input: CallCatalogInput,
) -> Result<CallCatalogItem> {
    let account = principal.account();
    let p = parse(kind, &input, None)?;
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let id = store::insert(conn, kind, account, &p.name, &p.description, &p.rules, now_ms()).await?;
    let mut changes = Changes::new();
    changes.set("name", &p.name).set("description", &p.description);
    if kind == CallCatalog::DialRules {
        changes.set("rules", rules_json(&p.rules));
    }
    let action = format!("{}.created", kind.activity());
    activity::record(conn, &principal.actor, &action, target(kind, id, &p.name), &changes).await?;
    let r = store::get(conn, kind, account, id).await?.ok_or(Error::NotFound(kind.noun()))?;
    tx.commit().await?;
    Ok(item(kind, r))
}

pub async fn update(
    state: &AppState,
    principal: &Principal,
    kind: CallCatalog,
    id: i64,
    expected_version: i64,
    input: CallCatalogInput,
) -> Result<CallCatalogItem> {
    let account = principal.account();
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let current = store::get(conn, kind, account, id).await?.ok_or(Error::NotFound(kind.noun()))?;
    if current.version != expected_version {
        return Err(Error::PreconditionFailed);
    }
    let p = parse(kind, &input, Some(&current))?;
    if !store::update(conn, kind, account, id, &p.name, &p.description, &p.rules, expected_version, now_ms()).await? {
        return Err(Error::PreconditionFailed);
    }
    let mut changes = Changes::new();
    changes.diff("name", &current.name, &p.name).diff("description", &current.description, &p.description);
    if current.rules != p.rules {
        changes.diff("rules", rules_json(&current.rules), rules_json(&p.rules));
    }
    let action = format!("{}.updated", kind.activity());
    activity::record(conn, &principal.actor, &action, target(kind, id, &p.name), &changes).await?;
    let r = store::get(conn, kind, account, id).await?.ok_or(Error::NotFound(kind.noun()))?;
    tx.commit().await?;
    Ok(item(kind, r))
}

/// Deletes an item nobody's settings use; a dial rule set or music class in use is refused
/// (409 naming who uses it). An intercept group takes its links with it.
pub async fn delete(state: &AppState, principal: &Principal, kind: CallCatalog, id: i64) -> Result<()> {
    let account = principal.account();
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let current = store::get(conn, kind, account, id).await?.ok_or(Error::NotFound(kind.noun()))?;
    let (account_uses, users) = store::uses(conn, kind, account, id).await?;
    if kind != CallCatalog::InterceptGroups && (account_uses || users > 0) {
        let mut who = Vec::new();
        if account_uses {
            who.push("the account's defaults".to_string());
        }
        if users > 0 {
            who.push(if users == 1 { "1 user".to_string() } else { format!("{users} users") });
        }
        return Err(Error::StateConflict(FieldIssue::new(
            "id",
            "in_use",
            format!("{} use this {}: choose another for them first", who.join(" and "), kind.noun()),
        )));
    }
    if kind == CallCatalog::InterceptGroups {
        // Its links go with it: each user who had it is told in their record.
        let mut change = Changes::new();
        change.set("intercept_group_deleted", &current.name);
        for (user, login) in store::intercept_group_going(conn, account, id).await? {
            let target = Target::user(crate::ids::UserId(user), &login);
            activity::record(conn, &principal.actor, "user.call_settings_changed", target, &change).await?;
        }
    }
    store::delete(conn, kind, account, id).await?;
    let mut changes = Changes::new();
    changes.set("name", &current.name);
    if kind == CallCatalog::InterceptGroups {
        changes.set("account_default", account_uses).set("users", users);
    }
    let action = format!("{}.deleted", kind.activity());
    activity::record(conn, &principal.actor, &action, target(kind, id, &current.name), &changes).await?;
    tx.commit().await?;
    Ok(())
}
