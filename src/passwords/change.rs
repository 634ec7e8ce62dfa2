//! Setting a user's password, whoever does it (admin, the user, the forced change at sign-in,
//! a reset link): the account's policy and history are checked (R10), the hash is remembered
//! for the history, the expiry (R24) follows from when it was set, and half-done sign-ins and
//! outstanding reset links end ([`save`], which every change goes through).

use secrecy::{ExposeSecret, SecretString};

use crate::clock::Timestamp;
use crate::error::{Error, FieldIssue, Result};
use crate::ids::UserId;
use crate::model::settings::SecuritySettings;
use crate::passwords::hashing as password;
use crate::state::AppState;
use crate::store::{Conn, challenges, password_history, users};

/// A month of password expiry, in milliseconds: 30 days, so that "3 months" is the same
/// length whenever it starts.
const MONTH_MS: i64 = 30 * 24 * 3_600_000;

/// Who the password is for, as the policy needs it.
pub struct Holder<'a> {
    pub id: Option<UserId>,
    pub login: &'a str,
    pub email: Option<&'a str>,
}

/// Refuses a password that breaks the account's policy or was used recently, naming every
/// rule that failed under `field`.
pub async fn vet(
    state: &AppState,
    settings: &SecuritySettings,
    holder: &Holder<'_>,
    password: &SecretString,
    field: &str,
) -> Result<()> {
    let policy = &settings.password_policy;
    if let Err(refusals) = policy.check(password.expose_secret(), holder.login, holder.email) {
        return Err(Error::Validation(
            refusals.into_iter().map(|r| FieldIssue::new(field, r.rule, r.message)).collect(),
        ));
    }
    if let (Some(id), n) = (holder.id, policy.history)
        && n > 0
    {
        let mut conn = state.store.read().await?;
        let mut hashes = password_history::recent(&mut conn, id, n).await?;
        if let Some(current) = users::password_hash(&mut conn, id).await?
            && !hashes.contains(&current)
        {
            hashes.push(current);
        }
        drop(conn);
        if password::matches_any(password.clone(), hashes).await? {
            let message = if n == 1 {
                "must differ from the current password".to_string()
            } else {
                format!("must differ from the last {n} passwords")
            };
            return Err(Error::invalid(field, "reused", message));
        }
    }
    Ok(())
}

/// Stores a new hash and remembers it for the history.
pub async fn save(
    conn: &mut Conn,
    settings: &SecuritySettings,
    user: UserId,
    hash: &str,
    must_change: bool,
    now: i64,
) -> Result<()> {
    users::set_password(conn, user, hash, must_change, now).await?;
    password_history::push(conn, user, hash, now, settings.password_policy.history).await?;
    // A sign-in half done with the old password must not finish after the change.
    challenges::delete_for_user(conn, user).await?;
    // Nor may a forgot-password link sent before it (D9): whoever changed it, it is changed.
    crate::passwords::reset::void_reset_links(conn, user, crate::passwords::reset::LinksEnd::PasswordChanged).await?;
    Ok(())
}

/// When the user's password expires (R24): their own period if set (0 = never), else the
/// account's; `None` when it never does.
pub fn expires_at(
    settings: &SecuritySettings,
    changed_at: Option<Timestamp>,
    user_months: Option<i64>,
) -> Option<Timestamp> {
    let months = match user_months {
        Some(0) => return None,
        Some(m) => m,
        None => i64::from(settings.password_policy.expiry_months?),
    };
    changed_at.map(|at| at.plus_ms(months * MONTH_MS))
}

/// The password to set: the one given, or a generated one that meets the policy, to show
/// once (R9).
pub fn given_or_generated(
    given: Option<SecretString>,
    settings: &SecuritySettings,
    login: &str,
) -> (SecretString, Option<SecretString>) {
    match given {
        Some(p) => (p, None),
        None => {
            let p = password::generate_for(&settings.password_policy, login);
            (p.clone(), Some(p))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_follows_the_user_override_then_the_account() {
        let mut settings = SecuritySettings::default();
        let at = |ms| Some(Timestamp::from_ms(ms));
        assert_eq!(expires_at(&settings, at(0), None), None, "the default is never");
        settings.password_policy.expiry_months = Some(3);
        assert_eq!(expires_at(&settings, at(1_000), None), at(1_000 + 3 * MONTH_MS));
        assert_eq!(expires_at(&settings, at(1_000), Some(1)), at(1_000 + MONTH_MS));
        assert_eq!(expires_at(&settings, at(1_000), Some(0)), None, "0 months is never, whatever the account says");
        assert_eq!(expires_at(&settings, None, None), None, "no password, nothing to expire");
    }
}
