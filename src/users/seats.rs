//! Seats (R20): an account may have a number of paid seats. Every member who is active occupies
//! one, and so does one deactivated for a time with a date of return (the seat is kept for their
//! return); end users and members deactivated for good do not. Creating, importing or
//! reactivating members past the limit is refused, naming what is used and the total.

use crate::error::{Error, FieldIssue, Result};
use crate::ids::AccountId;
use crate::store::sql::Sql;
use crate::store::{Conn, accounts};

/// How many seats the account uses, of how many (`None`: no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatCount {
    pub used: i64,
    pub total: Option<i64>,
}

impl SeatCount {
    pub fn free(&self) -> Option<i64> {
        self.total.map(|t| (t - self.used).max(0))
    }
}

pub async fn count(conn: &mut Conn, account: AccountId) -> Result<SeatCount> {
    let record = accounts::by_id(conn, account).await?.ok_or(Error::NotFound("account"))?;
    Ok(SeatCount { used: accounts::seats_used(conn, account).await?, total: record.seat_limit })
}

/// Refuses with 409 when `adding` more members would pass the account's limit. It takes the
/// account's guard first, so two requests that each take the last seat cannot both pass.
pub async fn make_room(conn: &mut Conn, account: AccountId, adding: i64) -> Result<()> {
    if adding <= 0 {
        return Ok(());
    }
    accounts::guard(conn, account).await?;
    let record = accounts::by_id(conn, account).await?.ok_or(Error::NotFound("account"))?;
    let Some(total) = record.seat_limit else { return Ok(()) };
    let used = accounts::seats_used(conn, account).await?;
    if used + adding > total {
        return Err(full(used, total, adding));
    }
    Ok(())
}

/// `make_room` for the users a statement is about to activate (a condition on `users u`).
pub async fn make_room_for(conn: &mut Conn, account: AccountId, users_where: &Sql) -> Result<()> {
    let adding = accounts::seats_needed(conn, users_where).await?;
    make_room(conn, account, adding).await
}

pub fn full(used: i64, total: i64, adding: i64) -> Error {
    let free = (total - used).max(0);
    let asked = if adding == 1 { "1 more member".to_string() } else { format!("{adding} more members") };
    Error::StateConflict(FieldIssue::new(
        "seats",
        "seats_full",
        format!(
            "the account uses {used} of {total} seats ({free} free); {asked} would pass the limit: free seats or add some"
        ),
    ))
}

/// The account's seats as the Seats panel and `GET …/seats` show them.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SeatsView {
    pub used: i64,
    /// `null`: no limit.
    pub total: Option<i64>,
    pub free: Option<i64>,
    /// Seats per role held directly (a member with two roles counts under both); `role_id`
    /// `null`: members with no role.
    pub by_role: Vec<SeatsOfRole>,
    /// Who occupies them, by login (the first `limit`): for readers who may see users
    /// (`users.view`), those they see; empty for the others.
    pub holders: Vec<SeatHolder>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SeatsOfRole {
    pub role_id: Option<i64>,
    pub name: Option<String>,
    pub count: i64,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SeatHolder {
    pub id: i64,
    pub login: String,
    /// `active`, or `disabled` for a member out for a time who keeps their seat.
    pub status: String,
    /// When such a member comes back.
    pub returns_at: Option<String>,
}

/// The counts for whoever holds `billing.view`; the holders only for those who may see users
/// (`users.view`), and only those they see (D8).
pub async fn report(
    state: &crate::state::AppState,
    principal: &crate::access::Principal,
    cursor: Option<&str>,
    limit: i64,
) -> Result<SeatsView> {
    let account = principal.account();
    use crate::http::{CursorOf, decode_cursor, encode_cursor};
    let after = cursor.filter(|c| !c.is_empty()).map(|c| decode_cursor(CursorOf::Users, c)).transpose()?;
    let mut conn = state.store.read().await?;
    let seats = count(&mut conn, account).await?;
    let by_role = accounts::seats_by_role(&mut conn, account)
        .await?
        .into_iter()
        .map(|(id, name, count)| SeatsOfRole {
            role_id: (id != 0).then_some(id),
            name: (id != 0).then_some(name),
            count,
        })
        .collect();
    let mut rows = match principal.has(crate::access::Permission::UsersView) {
        true => {
            let seen = principal.seen_for(crate::access::Permission::UsersView);
            accounts::seat_holders(&mut conn, account, &seen, after.as_deref(), limit + 1).await?
        }
        false => Vec::new(),
    };
    let next_cursor = match rows.len() as i64 > limit {
        true => {
            rows.truncate(limit as usize);
            rows.last().map(|r| encode_cursor(CursorOf::Users, &r.2))
        }
        false => None,
    };
    let holders = rows
        .into_iter()
        .map(|(id, login, _, status, until)| SeatHolder {
            id,
            login,
            status,
            returns_at: until.map(crate::clock::to_rfc3339),
        })
        .collect();
    Ok(SeatsView { used: seats.used, total: seats.total, free: seats.free(), by_role, holders, next_cursor })
}
