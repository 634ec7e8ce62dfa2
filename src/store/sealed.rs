//! Sealed values that predate owner binding (`v1.`, no associated data), found to be sealed
//! again with their owner (`secrets::reseal_legacy`).

use sqlx::Row;

use super::Conn;
use crate::ids::UserId;

/// The columns of `users` that hold sealed values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedColumn {
    SipPassword,
    TotpSecret,
    TotpPendingSecret,
}

impl SealedColumn {
    pub const ALL: [SealedColumn; 3] =
        [SealedColumn::SipPassword, SealedColumn::TotpSecret, SealedColumn::TotpPendingSecret];

    fn name(self) -> &'static str {
        match self {
            SealedColumn::SipPassword => "sip_password",
            SealedColumn::TotpSecret => "totp_secret",
            SealedColumn::TotpPendingSecret => "totp_pending_secret",
        }
    }
}

/// Users' values in `column` sealed the old way.
pub async fn legacy(conn: &mut Conn, column: SealedColumn) -> Result<Vec<(UserId, String)>, sqlx::Error> {
    let c = column.name();
    let sql = format!("SELECT id, {c} FROM users WHERE {c} LIKE 'v1.%' ORDER BY id");
    sqlx::query(&sql)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| Ok((UserId(r.try_get(0)?), r.try_get(1)?)))
        .collect()
}

/// Replaces `old` with `new`, unless the value changed meanwhile (then the new value stands).
pub async fn replace(
    conn: &mut Conn,
    column: SealedColumn,
    user: UserId,
    old: &str,
    new: &str,
) -> Result<bool, sqlx::Error> {
    let c = column.name();
    let sql = format!("UPDATE users SET {c} = $1 WHERE id = $2 AND {c} = $3");
    Ok(sqlx::query(&sql).bind(new).bind(user.0).bind(old).execute(&mut *conn).await?.rows_affected() == 1)
}
