//! The queue catalog (R16): an account's call queues, with a name, a number dialled like an
//! extension (never one of a user's) and a description; `queues.manage` changes them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::principal::Principal;
use crate::activity::{self, Changes, Target};
use crate::clock::{now_ms, to_rfc3339};
use crate::domain::{Description, EntityName, Extension};
use crate::error::{Error, Issues, Result};
use crate::http::{CursorOf, Page};
use crate::ids::{AccountId, QueueId};
use crate::state::AppState;
use crate::store::Conn;
use crate::store::queues::{self as store, QueueFields, QueueRecord};

#[derive(Debug, Default, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueInput {
    /// 1–80 characters, unique in the account (case-insensitive).
    #[schema(max_length = 80, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$")]
    pub name: Option<String>,
    #[schema(max_length = 500, pattern = r"^[^\x00-\x09\x0b-\x1f\x7f-\x9f]*$")]
    pub description: Option<String>,
    /// The number callers dial: digits as an extension is written, unique among the account's
    /// queues and users' extensions; `null` clears it.
    #[serde(default, deserialize_with = "crate::domain::present")]
    #[schema(value_type = Option<String>, pattern = r"^\s*[0-9]{1,16}\s*$")]
    pub extension: Option<Option<String>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueView {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub extension: Option<String>,
    /// Agents configured as members (whatever their time groups say now).
    pub member_count: i64,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip)]
    pub version: i64,
}

impl From<QueueRecord> for QueueView {
    fn from(r: QueueRecord) -> Self {
        QueueView {
            id: r.id,
            name: r.name,
            description: r.description,
            extension: r.extension,
            member_count: r.member_count,
            created_at: to_rfc3339(r.created_at),
            updated_at: to_rfc3339(r.updated_at),
            version: r.version,
        }
    }
}

/// One page of queues in name order, `q` matching the name or number.
pub async fn page(
    state: &AppState,
    account: AccountId,
    q: Option<&str>,
    cursor: Option<&str>,
    limit: i64,
) -> Result<Page<QueueView>> {
    let after =
        cursor.filter(|c| !c.is_empty()).map(|c| crate::http::decode_cursor(CursorOf::Queues, c)).transpose()?;
    let search = q.map(str::trim).filter(|q| !q.is_empty()).map(str::to_lowercase);
    if search.as_ref().is_some_and(|q| q.chars().count() > 200 || q.chars().any(char::is_control)) {
        return Err(Error::InvalidParameter(crate::error::FieldIssue::new(
            "q",
            "invalid",
            "search text is at most 200 characters, without control characters",
        )));
    }
    let mut conn = state.store.read().await?;
    let rows = store::page(&mut conn, account, search.as_deref(), after.as_deref(), limit + 1).await?;
    let page = Page::of(rows, limit, |r| crate::http::encode_cursor(CursorOf::Queues, &r.name_key));
    Ok(Page { items: page.items.into_iter().map(QueueView::from).collect(), next_cursor: page.next_cursor })
}

pub async fn get(state: &AppState, account: AccountId, id: QueueId) -> Result<QueueView> {
    let mut conn = state.store.read().await?;
    Ok(store::get(&mut conn, account, id).await?.ok_or(Error::NotFound("queue"))?.into())
}

struct Parsed {
    name: String,
    description: String,
    extension: Option<String>,
}

fn parse(input: &QueueInput, current: Option<&QueueRecord>) -> Result<Parsed> {
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
    let extension = match (&input.extension, current) {
        (Some(Some(e)), _) => issues.check("extension", Extension::parse(e)).map(|e| Some(e.as_str().to_string())),
        (Some(None), _) => Some(None),
        (None, Some(c)) => Some(c.extension.clone()),
        (None, None) => Some(None),
    };
    issues.into_result()?;
    match (name, description, extension) {
        (Some(name), Some(description), Some(extension)) => Ok(Parsed { name, description, extension }),
        _ => Err(Error::invalid("request", "invalid", "the queue is not valid")),
    }
}

/// A queue's number is not a user's extension, nor another queue's (409 naming whose it is).
async fn check_number(conn: &mut Conn, account: AccountId, extension: Option<&str>, me: Option<QueueId>) -> Result<()> {
    let Some(extension) = extension else { return Ok(()) };
    // Users' edits that take a new extension take the same guard (`users::service`).
    crate::store::accounts::guard(conn, account).await?;
    if let Some(login) = store::user_with_extension(conn, account, extension).await? {
        return Err(Error::Conflict {
            field: "extension",
            message: format!("{extension} is the extension of the user {login}"),
        });
    }
    if let Some((_, name)) = store::with_extension(conn, account, extension, me).await? {
        return Err(Error::Conflict {
            field: "extension",
            message: format!("{extension} is the number of the queue {name}"),
        });
    }
    Ok(())
}

fn fields(p: &Parsed) -> QueueFields<'_> {
    QueueFields { name: &p.name, description: &p.description, extension: p.extension.as_deref() }
}

pub async fn create(state: &AppState, principal: &Principal, input: QueueInput) -> Result<QueueView> {
    let account = principal.account();
    let p = parse(&input, None)?;
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    check_number(conn, account, p.extension.as_deref(), None).await?;
    let id = store::insert(conn, account, &fields(&p), now_ms()).await?;
    let mut changes = Changes::new();
    changes.set("name", &p.name).set("description", &p.description).set("extension", &p.extension);
    let target = Target { kind: "queue", id: Some(id.0), label: &p.name };
    activity::record(conn, &principal.actor, "queue.created", target, &changes).await?;
    let r = store::get(conn, account, id).await?.ok_or(Error::NotFound("queue"))?;
    tx.commit().await?;
    Ok(r.into())
}

pub async fn update(
    state: &AppState,
    principal: &Principal,
    id: QueueId,
    expected_version: i64,
    input: QueueInput,
) -> Result<QueueView> {
    let account = principal.account();
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let current = store::get(conn, account, id).await?.ok_or(Error::NotFound("queue"))?;
    if current.version != expected_version {
        return Err(Error::PreconditionFailed);
    }
    let p = parse(&input, Some(&current))?;
    if p.extension != current.extension {
        check_number(conn, account, p.extension.as_deref(), Some(id)).await?;
    }
    if !store::update(conn, account, id, &fields(&p), expected_version, now_ms()).await? {
        return Err(Error::PreconditionFailed);
    }
    let mut changes = Changes::new();
    changes.diff("name", &current.name, &p.name).diff("description", &current.description, &p.description).diff(
        "extension",
        &current.extension,
        &p.extension,
    );
    let target = Target { kind: "queue", id: Some(id.0), label: &p.name };
    activity::record(conn, &principal.actor, "queue.updated", target, &changes).await?;
    let r = store::get(conn, account, id).await?.ok_or(Error::NotFound("queue"))?;
    tx.commit().await?;
    Ok(r.into())
}

/// Deletes a queue and its memberships (each member's record says so).
pub async fn delete(state: &AppState, principal: &Principal, id: QueueId) -> Result<()> {
    let account = principal.account();
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let current = store::get(conn, account, id).await?.ok_or(Error::NotFound("queue"))?;
    // Taken first, so that no membership added meanwhile goes with the queue unrecorded.
    if !store::take_members(conn, id, None).await? {
        return Err(Error::NotFound("queue"));
    }
    let members = crate::store::queues::members(conn, account, id, &crate::store::grants::Seen::All).await?;
    let mut member_change = Changes::new();
    member_change.set("queue", &current.name).set("queue_deleted", true);
    for m in &members {
        let target = Target::user(crate::ids::UserId(m.user_id), &m.login);
        activity::record(conn, &principal.actor, "user.queue_left", target, &member_change).await?;
    }
    store::delete(conn, account, id).await?;
    let mut changes = Changes::new();
    changes.set("name", &current.name).set("members", members.len());
    let target = Target { kind: "queue", id: Some(id.0), label: &current.name };
    activity::record(conn, &principal.actor, "queue.deleted", target, &changes).await?;
    tx.commit().await?;
    Ok(())
}
