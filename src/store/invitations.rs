//! Invitations (migration 0011).

use crate::clock::Timestamp;
use crate::ids::{AccountId, InvitationId, UserId};
use crate::model::invitation::{InvitationRecord, InvitationState};
use crate::store::Conn;
use crate::store::sql::Sql;

const COLUMNS: &str = "id, account_id, user_id, user_label, email, state, invited_by, invited_by_label, created_at, \
    sent_at, sends, expires_at, ended_at, version";

pub struct NewInvitation<'a> {
    pub user: UserId,
    pub login: &'a str,
    pub email: &'a str,
    pub token_hash: &'a str,
    pub invited_by: Option<UserId>,
    pub invited_by_label: &'a str,
    pub now: i64,
}

pub async fn insert(conn: &mut Conn, account: AccountId, new: &NewInvitation<'_>) -> Result<InvitationId, sqlx::Error> {
    let row: (i64,) = sqlx::query_as(
        "INSERT INTO invitations (account_id, user_id, user_label, email, token_hash, state, invited_by, \
         invited_by_label, created_at) VALUES ($1, $2, $3, $4, $5, 'saved', $6, $7, $8) RETURNING id",
    )
    .bind(account.0)
    .bind(new.user.0)
    .bind(new.login)
    .bind(new.email)
    .bind(new.token_hash)
    .bind(new.invited_by.map(|u| u.0))
    .bind(new.invited_by_label)
    .bind(new.now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(InvitationId(row.0))
}

pub async fn by_id(
    conn: &mut Conn,
    account: AccountId,
    id: InvitationId,
) -> Result<Option<InvitationRecord>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM invitations WHERE account_id = $1 AND id = $2"))
        .bind(account.0)
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await
}

/// The invitation a link's token (hashed) belongs to, in any account.
pub async fn by_token_hash(conn: &mut Conn, hash: &str) -> Result<Option<InvitationRecord>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM invitations WHERE token_hash = $1"))
        .bind(hash)
        .fetch_optional(&mut *conn)
        .await
}

/// The user's open invitation.
pub async fn open_of(
    conn: &mut Conn,
    account: AccountId,
    user: UserId,
) -> Result<Option<InvitationRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM invitations WHERE account_id = $1 AND user_id = $2 AND state IN ('saved', 'sent')"
    ))
    .bind(account.0)
    .bind(user.0)
    .fetch_optional(&mut *conn)
    .await
}

/// The open invitations of the users matched by `users_where` (a condition on `users u`).
pub async fn open_of_users(conn: &mut Conn, users_where: &Sql) -> Result<Vec<InvitationRecord>, sqlx::Error> {
    let mut sql = Sql::new(format!(
        "SELECT {COLUMNS} FROM invitations WHERE state IN ('saved', 'sent') AND user_id IN (SELECT u.id FROM users u WHERE "
    ));
    sql.append(users_where).push(") ORDER BY id");
    sql.query_as().fetch_all(&mut *conn).await
}

/// The account's invitations, newest first, before `before`, in `states` (all when empty).
pub async fn page(
    conn: &mut Conn,
    account: AccountId,
    seen: &super::grants::Seen,
    states: &[InvitationState],
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<InvitationRecord>, sqlx::Error> {
    let mut sql = Sql::new(format!("SELECT {COLUMNS} FROM invitations WHERE account_id = "));
    sql.bind(account.0);
    // D8: those of users the reader sees (a revoked one, whose user is gone, only to readers of
    // the whole account).
    if *seen != super::grants::Seen::All {
        sql.push(" AND user_id IN (SELECT u.id FROM users u WHERE u.account_id = ")
            .bind(account.0)
            .append(&seen.users_sql())
            .push(")");
    }
    if !states.is_empty() {
        let names: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
        sql.push(" AND state IN (").bind_list(&names).push(")");
    }
    if let Some(before) = before {
        sql.push(" AND id < ").bind(before);
    }
    sql.push(" ORDER BY id DESC LIMIT ").bind(limit);
    sql.query_as().fetch_all(&mut *conn).await
}

/// A new link sent now (to `email`), valid until `expires_at`; the older link stops working.
/// Only from the version read: false when someone else changed it first.
pub async fn sent(
    conn: &mut Conn,
    invitation: &InvitationRecord,
    email: &str,
    token_hash: &str,
    now: i64,
    expires_at: Timestamp,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE invitations SET state = 'sent', email = $1, token_hash = $2, sent_at = $3, sends = sends + 1, \
         expires_at = $4, version = version + 1 WHERE id = $5 AND version = $6 AND state IN ('saved', 'sent')",
    )
    .bind(email)
    .bind(token_hash)
    .bind(now)
    .bind(expires_at)
    .bind(invitation.id.0)
    .bind(invitation.version)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A new address while saved (no link out yet): the token is replaced too.
pub async fn readdressed(
    conn: &mut Conn,
    invitation: &InvitationRecord,
    email: &str,
    token_hash: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE invitations SET email = $1, token_hash = $2, version = version + 1 \
         WHERE id = $3 AND version = $4 AND state IN ('saved', 'sent')",
    )
    .bind(email)
    .bind(token_hash)
    .bind(invitation.id.0)
    .bind(invitation.version)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Accepted through the link `token_hash`, if it is still that invitation's newest and has not
/// expired at `now`: a link replaced or expired since it was checked accepts nothing.
pub async fn accepted_by_link(
    conn: &mut Conn,
    invitation: &InvitationRecord,
    token_hash: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE invitations SET state = 'accepted', ended_at = $1, version = version + 1 \
         WHERE id = $2 AND token_hash = $3 AND state = 'sent' AND expires_at > $1",
    )
    .bind(now)
    .bind(invitation.id.0)
    .bind(token_hash)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends the open invitations of the users matched by `users_where` (a condition on `users u`),
/// who are being deleted: their links then say "withdrawn".
pub async fn revoke_for_users(conn: &mut Conn, users_where: &Sql, now: i64) -> Result<u64, sqlx::Error> {
    let mut sql = Sql::new("UPDATE invitations SET state = 'revoked', ended_at = ");
    sql.bind(now)
        .push(
            ", version = version + 1 WHERE state IN ('saved', 'sent') AND user_id IN (SELECT u.id FROM users u WHERE ",
        )
        .append(users_where)
        .push(")");
    Ok(sql.query().execute(&mut *conn).await?.rows_affected())
}

/// Accepted or revoked: the end of an open invitation, once.
pub async fn end(
    conn: &mut Conn,
    invitation: &InvitationRecord,
    to: InvitationState,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE invitations SET state = $1, ended_at = $2, version = version + 1 \
         WHERE id = $3 AND state IN ('saved', 'sent')",
    )
    .bind(to.as_str())
    .bind(now)
    .bind(invitation.id.0)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The invited user's row shows when the link ends (the list's "expired" badge).
pub async fn show_on_user(conn: &mut Conn, user: UserId, expires_at: Option<Timestamp>) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET invitation_expires_at = $1 WHERE id = $2")
        .bind(expires_at)
        .bind(user.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The invited user accepts: their login and password, active at last.
pub async fn accept_user(
    conn: &mut Conn,
    user: UserId,
    login: &crate::domain::Login,
    password_hash: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE users SET login = $1, login_key = $2, password_hash = $3, password_changed_at = $4, status = 'active', \
         invitation_expires_at = NULL, updated_at = $4, version = version + 1 WHERE id = $5 AND status = 'invited'",
    )
    .bind(login.as_str())
    .bind(login.key())
    .bind(password_hash)
    .bind(now)
    .bind(user.0)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
