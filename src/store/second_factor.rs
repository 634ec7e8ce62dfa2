//! Second factor (R26–R30): the sealed TOTP secret and its last accepted step, recovery codes,
//! what a user has signed in from, and the second-factor fields of a sign-in challenge.

use sqlx::Row;

use super::Conn;
use crate::ids::{AccountId, UserId};
use crate::model::user::TwoFactorMethod;

/// The stored authenticator of a user: the sealed secret, and the last step whose code was used.
pub struct TotpRecord {
    pub sealed_secret: Option<String>,
    pub confirmed_at: Option<i64>,
    pub last_step: Option<i64>,
    pub sealed_pending: Option<String>,
    pub pending_at: Option<i64>,
}

pub async fn totp(conn: &mut Conn, user: UserId) -> Result<Option<TotpRecord>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT totp_secret, totp_confirmed_at, totp_last_step, totp_pending_secret, totp_pending_at FROM users WHERE id = $1",
    )
        .bind(user.0)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| {
        Ok(TotpRecord {
            sealed_secret: r.try_get(0)?,
            confirmed_at: r.try_get(1)?,
            last_step: r.try_get(2)?,
            sealed_pending: r.try_get(3)?,
            pending_at: r.try_get(4)?,
        })
    })
    .transpose()
}

/// Records that the code of `step` was used, unless that step (or a later one) already was:
/// `false` means the code is a replay. One statement, so two racing uses cannot both pass.
pub async fn use_totp_step(conn: &mut Conn, user: UserId, step: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
    )
    .bind(step)
    .bind(user.0)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Makes `sealed` the user's authenticator, confirmed now at `step`; with `method`, also sets the
/// user's method (a forced set-up turns a disabled method into `totp`).
pub async fn confirm_totp(
    conn: &mut Conn,
    user: UserId,
    sealed: &str,
    step: i64,
    method: Option<TwoFactorMethod>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET totp_secret = $1, totp_confirmed_at = $2, totp_last_step = $3, totp_pending_secret = NULL, \
         totp_pending_at = NULL, two_factor_method = COALESCE($4, two_factor_method), updated_at = $2, version = version + 1 \
         WHERE id = $5",
    )
    .bind(sealed)
    .bind(now)
    .bind(step)
    .bind(method.map(TwoFactorMethod::as_str))
    .bind(user.0)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn set_pending_totp(
    conn: &mut Conn,
    user: UserId,
    sealed: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET totp_pending_secret = $1, totp_pending_at = $2 WHERE id = $3")
        .bind(sealed)
        .bind(sealed.map(|_| now))
        .bind(user.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Forgets the authenticator and the recovery codes: the user sets up again (R29).
pub async fn reset_totp(conn: &mut Conn, account: AccountId, user: UserId, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE users SET totp_secret = NULL, totp_confirmed_at = NULL, totp_last_step = NULL, totp_pending_secret = NULL, \
         totp_pending_at = NULL, updated_at = $1, version = version + 1 WHERE account_id = $2 AND id = $3",
    )
    .bind(now)
    .bind(account.0)
    .bind(user.0)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user.0).execute(&mut *conn).await?;
    // Devices trusted with the old authenticator are strangers again.
    sqlx::query("DELETE FROM known_devices WHERE user_id = $1").bind(user.0).execute(&mut *conn).await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces the user's recovery codes with these (hashes).
pub async fn replace_recovery_codes(
    conn: &mut Conn,
    user: UserId,
    hashes: &[String],
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user.0).execute(&mut *conn).await?;
    for hash in hashes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)")
            .bind(user.0)
            .bind(hash)
            .bind(now)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Uses a recovery code once: `false` when it is not one of the user's unused codes. `hashes`
/// are the forms the code may be stored in (keyed, and the old plain hash); one row is used.
pub async fn use_recovery_code(
    conn: &mut Conn,
    user: UserId,
    hashes: &[&str; 2],
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE recovery_codes SET used_at = $1 WHERE id = (SELECT id FROM recovery_codes \
         WHERE user_id = $2 AND code_hash IN ($3, $4) AND used_at IS NULL ORDER BY id LIMIT 1) AND used_at IS NULL",
    )
    .bind(now)
    .bind(user.0)
    .bind(hashes[0])
    .bind(hashes[1])
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn unused_recovery_codes(conn: &mut Conn, user: UserId) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
        .bind(user.0)
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)
}

/// Whether the user holds the built-in Admin role, directly or through a group, or is a
/// platform operator: the people R27 makes a second factor mandatory for.
pub async fn is_admin(conn: &mut Conn, user: UserId) -> Result<bool, sqlx::Error> {
    let operator = sqlx::query("SELECT 1 FROM users WHERE id = $1 AND is_superuser = $2")
        .bind(user.0)
        .bind(true)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(operator.is_some() || super::grants::holds_admin_role(conn, user).await?)
}

// ---- where a user has signed in from (R30's "suspicious") -----------------------------------

pub struct Familiarity {
    pub known_address: bool,
    pub known_device: bool,
    /// Whether the user has signed in from this country before; `None` when either country is unknown.
    pub known_country: Option<bool>,
    /// Whether the user has any history at all.
    pub any_history: bool,
}

pub async fn familiarity(
    conn: &mut Conn,
    user: UserId,
    address: Option<&str>,
    country: Option<&str>,
    device_hash: Option<&str>,
) -> Result<Familiarity, sqlx::Error> {
    let known_address = match address {
        Some(a) => sqlx::query("SELECT 1 FROM known_addresses WHERE user_id = $1 AND address = $2")
            .bind(user.0)
            .bind(a)
            .fetch_optional(&mut *conn)
            .await?
            .is_some(),
        None => false,
    };
    let known_device = match device_hash {
        Some(d) => sqlx::query("SELECT 1 FROM known_devices WHERE user_id = $1 AND token_hash = $2")
            .bind(user.0)
            .bind(d)
            .fetch_optional(&mut *conn)
            .await?
            .is_some(),
        None => false,
    };
    let known_country = match country {
        Some(c) => Some(
            sqlx::query("SELECT 1 FROM known_addresses WHERE user_id = $1 AND country = $2")
                .bind(user.0)
                .bind(c)
                .fetch_optional(&mut *conn)
                .await?
                .is_some(),
        ),
        None => None,
    };
    let any_history = sqlx::query(
        "SELECT 1 FROM known_addresses WHERE user_id = $1 UNION SELECT 1 FROM known_devices WHERE user_id = $1",
    )
    .bind(user.0)
    .fetch_optional(&mut *conn)
    .await?
    .is_some();
    Ok(Familiarity { known_address, known_device, known_country, any_history })
}

/// Remembers the address (with its country) of a completed sign-in.
pub async fn remember_address(
    conn: &mut Conn,
    user: UserId,
    address: &str,
    country: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    // One statement: two sign-ins from a new address finishing together must not collide.
    sqlx::query(
        "INSERT INTO known_addresses (user_id, address, country, first_seen, last_seen) VALUES ($1, $2, $3, $4, $4) \
         ON CONFLICT (user_id, address) DO UPDATE SET last_seen = excluded.last_seen, \
         country = COALESCE(excluded.country, known_addresses.country)",
    )
    .bind(user.0)
    .bind(address)
    .bind(country)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Marks a known device as seen; `false` when the user has no such device.
pub async fn touch_device(conn: &mut Conn, user: UserId, token_hash: &str, now: i64) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query("UPDATE known_devices SET last_seen = $1 WHERE user_id = $2 AND token_hash = $3")
        .bind(now)
        .bind(user.0)
        .bind(token_hash)
        .execute(&mut *conn)
        .await?;
    Ok(updated.rows_affected() == 1)
}

pub async fn add_device(conn: &mut Conn, user: UserId, token_hash: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO known_devices (user_id, token_hash, first_seen, last_seen) VALUES ($1, $2, $3, $3) ON CONFLICT (token_hash) DO NOTHING")
        .bind(user.0)
        .bind(token_hash)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

// ---- the second-factor fields of a sign-in challenge ----------------------------------------

pub struct ChallengeFactor {
    pub pending_secret: Option<String>,
    pub code_hash: Option<String>,
    pub code_expires_at: Option<i64>,
    pub code_sent_at: Option<i64>,
    pub codes_sent: i64,
    pub wrong_codes: i64,
    pub device_hash: Option<String>,
}

pub async fn challenge_factor(conn: &mut Conn, challenge_id: i64) -> Result<Option<ChallengeFactor>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT pending_secret, code_hash, code_expires_at, code_sent_at, codes_sent, wrong_codes, device_hash \
         FROM sign_in_challenges WHERE id = $1",
    )
    .bind(challenge_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(ChallengeFactor {
            pending_secret: r.try_get(0)?,
            code_hash: r.try_get(1)?,
            code_expires_at: r.try_get(2)?,
            code_sent_at: r.try_get(3)?,
            codes_sent: r.try_get(4)?,
            wrong_codes: r.try_get(5)?,
            device_hash: r.try_get(6)?,
        })
    })
    .transpose()
}

pub async fn set_challenge_setup(
    conn: &mut Conn,
    challenge_id: i64,
    sealed_secret: &str,
    device_hash: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sign_in_challenges SET pending_secret = $1, device_hash = $2 WHERE id = $3")
        .bind(sealed_secret)
        .bind(device_hash)
        .bind(challenge_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn set_challenge_device(
    conn: &mut Conn,
    challenge_id: i64,
    device_hash: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sign_in_challenges SET device_hash = $1 WHERE id = $2")
        .bind(device_hash)
        .bind(challenge_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A new emailed code replaces the one before it, unless `max` were sent or the last one went
/// out after `not_after` (one statement, so parallel requests cannot pass the limits together).
pub async fn set_challenge_code(
    conn: &mut Conn,
    challenge_id: i64,
    code_hash: &str,
    expires_at: i64,
    now: i64,
    max: i64,
    not_after: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE sign_in_challenges SET code_hash = $1, code_expires_at = $2, code_sent_at = $3, codes_sent = codes_sent + 1 \
         WHERE id = $4 AND codes_sent < $5 AND (code_sent_at IS NULL OR code_sent_at <= $6)",
    )
    .bind(code_hash)
    .bind(expires_at)
    .bind(now)
    .bind(challenge_id)
    .bind(max)
    .bind(not_after)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes one of a challenge's attempts before its code is checked: the count it reached, or
/// `None` when none are left (or the challenge is gone). One statement, committed on its own,
/// so parallel guesses cannot all be checked before any is counted.
pub async fn reserve_attempt(
    conn: &mut Conn,
    challenge_id: i64,
    max: i64,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query(
        "UPDATE sign_in_challenges SET wrong_codes = wrong_codes + 1 \
         WHERE id = $1 AND wrong_codes < $2 AND expires_at > $3 RETURNING wrong_codes",
    )
    .bind(challenge_id)
    .bind(max)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| r.try_get(0))
    .transpose()
}

pub async fn delete_challenge(conn: &mut Conn, challenge_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sign_in_challenges WHERE id = $1").bind(challenge_id).execute(&mut *conn).await?;
    Ok(())
}

// ---- one-time enrolment links ---------------------------------------------------------------

/// A new link voids the user's earlier ones.
pub async fn insert_enrolment_link(
    conn: &mut Conn,
    user: UserId,
    token_hash: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM enrolment_links WHERE user_id = $1 OR expires_at < $2")
        .bind(user.0)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO enrolment_links (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_hash)
        .bind(user.0)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The user a live, unused link belongs to.
pub async fn enrolment_link_user(conn: &mut Conn, token_hash: &str, now: i64) -> Result<Option<UserId>, sqlx::Error> {
    sqlx::query("SELECT user_id FROM enrolment_links WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2")
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get(0).map(UserId))
        .transpose()
}

/// Uses a link once: `false` when it was used (or expired) meanwhile.
pub async fn use_enrolment_link(conn: &mut Conn, token_hash: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE enrolment_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(token_hash)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
