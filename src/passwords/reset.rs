//! Forgot-password by email link (R2): a request never says whether the address exists; the
//! link (256 random bits, only its SHA-256 stored) lasts 30 minutes, serves once, and a newer
//! request replaces it. Requests per user are throttled silently. Using the link sets a
//! password that meets the policy, ends the user's sessions (R25) and lifts a lockout.

use secrecy::SecretString;

use super::hashing as password;
use crate::activity::{self, Actor, Changes, Target};
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::mail::{self, Message};
use crate::model::AccountRecord;
use crate::model::ClientInfo;
use crate::model::password_reset::ResetLinkEnd;
use crate::model::user::{UserRecord, UserStatus};
use crate::passwords::change::{self, Holder};
use crate::secrets::token;
use crate::state::AppState;
use crate::store::accounts;
use crate::store::password_resets::{self as store, ResetRecord};
use crate::store::{Affects, Conn, sign_in_failures, users};

/// How long a link works.
pub const LINK_MS: i64 = 30 * 60_000;
/// At most this many links per user per hour; further requests are ignored, silently.
pub const MAX_PER_HOUR: i64 = 3;

/// `login_or_email` checked for shape only: whether it matches anyone is never said.
fn parse_key(login_or_email: &str) -> Result<String> {
    let key = login_or_email.trim();
    if key.is_empty() {
        return Err(Error::invalid("login_or_email", "required", "enter your login or email address"));
    }
    if key.chars().count() > 320 {
        return Err(Error::invalid("login_or_email", "too_long", "must be at most 320 characters"));
    }
    Ok(key.to_lowercase())
}

/// Handles a forgot-password request. The answer is the same whatever happened; only the
/// activity log (for a known user) and the outbox say what did.
pub async fn request(state: &AppState, account_slug: &str, login_or_email: &str, client: &ClientInfo) -> Result<()> {
    let key = parse_key(login_or_email)?;
    let now = now_ms();
    let mut conn = state.store.read().await?;
    let Some(account) = accounts::by_slug(&mut conn, account_slug.trim()).await?.filter(|a| a.enabled) else {
        return Ok(());
    };
    let Some(id) = store::find_user(&mut conn, account.id, &key).await? else { return Ok(()) };
    let Some(user) = users::get(&mut conn, account.id, id).await? else { return Ok(()) };
    drop(conn);
    let actor =
        Actor { account: account.id, user: Some(user.id), label: user.login.clone(), address: client.address.clone() };
    let mut tx = state.store.begin().await?;
    tx.affects(Affects::Nothing);
    // Counted with the user's row locked, so that requests at the same moment are counted
    // one after the other (SQLite's writers are one at a time anyway).
    users::sign_in_state(tx.conn(), user.id).await?;
    let recent = store::count_since(tx.conn(), user.id, now - 3_600_000).await?;
    let refusal = match &user.email {
        _ if user.status != UserStatus::Active => Some("user_disabled"),
        None => Some("no_email"),
        Some(_) if recent >= MAX_PER_HOUR => Some("throttled"),
        Some(_) => None,
    };
    let mut changes = Changes::new();
    if let Some(reason) = refusal {
        changes.set("mail", "not_sent").set("reason", reason);
    } else {
        let email = user.email.as_deref().unwrap_or_default();
        store::end_for_user(tx.conn(), user.id, now, ResetLinkEnd::Replaced).await?;
        let secret = token::new_token();
        store::insert(tx.conn(), &token::hash(&secret), account.id, user.id, now, now + LINK_MS).await?;
        let text = reset_text(&user, &account, &state.mail.link(&format!("/reset-password/{secret}")));
        let message = Message { to: email, subject: "Reset your Roster password", text: &text, kind: "password_reset" };
        let id = mail::enqueue(tx.conn(), account.id, &message).await?;
        changes.set("mail", id);
    }
    activity::service::record(
        tx.conn(),
        &actor,
        "auth.password_reset_requested",
        Target::user(user.id, &user.login),
        &changes,
    )
    .await?;
    tx.commit().await?;
    if refusal.is_none() {
        state.mail.wake();
    }
    Ok(())
}

fn reset_text(user: &UserRecord, account: &AccountRecord, link: &str) -> String {
    format!(
        "Hello {name},\n\n\
         Someone (we hope you) asked to reset the password of the login \"{login}\" in the account \"{slug}\".\n\
         To choose a new password, open this link within 30 minutes:\n\n\
         {link}\n\n\
         The link works once. If you did not ask for it, ignore this mail: your password stays as it is.\n",
        name = user.display_name(),
        login = user.login,
        slug = account.slug,
    )
}

/// Why a user's outstanding reset links end (recorded on the link, shown when it is used).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinksEnd {
    /// Any password change: by an admin, by the user, at sign-in, or through a link.
    PasswordChanged,
    /// The address the links were sent to is no longer the user's.
    EmailChanged,
}

impl LinksEnd {
    fn stored(self) -> ResetLinkEnd {
        match self {
            LinksEnd::PasswordChanged => ResetLinkEnd::PasswordChanged,
            LinksEnd::EmailChanged => ResetLinkEnd::EmailChanged,
        }
    }
}

/// Ends every outstanding forgot-password link of `user`, in the caller's transaction: a link
/// then answers 422 `ended`. Every password change does this (`passwords::change::save`); call
/// it too when a user's email address changes.
pub async fn void_reset_links(conn: &mut Conn, user: UserId, why: LinksEnd) -> Result<()> {
    store::end_for_user(conn, user, now_ms(), why.stored()).await?;
    Ok(())
}

/// A live link, with its account and user; a dead one is refused with the reason.
pub struct LiveLink {
    pub link: ResetRecord,
    pub account: AccountRecord,
    pub user: UserRecord,
}

pub async fn check_link(state: &AppState, secret: &str) -> Result<LiveLink> {
    let invalid = |code: &str, message: &str| Error::invalid("token", code, message);
    let unknown = || invalid("unknown", "this reset link is not valid; ask for a new one");
    let now = now_ms();
    let mut conn = state.store.read().await?;
    let link = store::find(&mut conn, &token::hash(secret)).await?.ok_or_else(unknown)?;
    match link.end_reason {
        Some(ResetLinkEnd::Used) => {
            return Err(invalid("used", "this reset link was already used; ask for a new one if you need to"));
        }
        Some(ResetLinkEnd::Replaced) => {
            return Err(invalid("replaced", "a newer reset link was sent after this one; use the newest"));
        }
        Some(ResetLinkEnd::EmailChanged) => {
            return Err(invalid("ended", "this reset link no longer works: the email address was changed since"));
        }
        Some(ResetLinkEnd::PasswordChanged) => {
            return Err(invalid("ended", "this reset link no longer works: the password was changed since"));
        }
        None if link.expires_at <= now => {
            return Err(invalid(
                "expired",
                "this reset link has expired (links work for 30 minutes); ask for a new one",
            ));
        }
        None => {}
    }
    let account = accounts::by_id(&mut conn, link.account_id).await?.filter(|a| a.enabled).ok_or_else(unknown)?;
    let user = users::get(&mut conn, account.id, link.user_id)
        .await?
        .filter(|u| u.status == UserStatus::Active)
        .ok_or_else(unknown)?;
    Ok(LiveLink { link, account, user })
}

/// Sets a new password through a link.
pub async fn reset(state: &AppState, secret: &str, new_password: SecretString, client: &ClientInfo) -> Result<()> {
    let LiveLink { link, account, user } = check_link(state, secret).await?;
    let holder = Holder { id: Some(user.id), login: &user.login, email: user.email.as_deref() };
    change::vet(state, &account.security, &holder, &new_password, "new_password").await?;
    let hash = password::hash(new_password).await?;
    let now = now_ms();
    let actor =
        Actor { account: account.id, user: Some(user.id), label: user.login.clone(), address: client.address.clone() };
    let mut tx = state.store.begin().await?;
    // Taken inside the transaction: of two racing requests, one gets it.
    if !store::take(tx.conn(), link.id, now).await? {
        return Err(Error::invalid(
            "token",
            "used",
            "this reset link was already used; ask for a new one if you need to",
        ));
    }
    // Also ends the user's other links.
    change::save(tx.conn(), &account.security, user.id, &hash, false, now).await?;
    // A link proves the mailbox, not an authenticator: for a user who has one, wrong codes and
    // the lock they led to stay until a completed sign-in or the lock's end (D5), so that the
    // password and the mailbox together cannot buy unlimited guesses at the codes.
    let unlocked = match user.totp_confirmed_at {
        Some(_) => false,
        None => sign_in_failures::clear_user(tx.conn(), account.id, user.id, now).await?,
    };
    let ended =
        crate::sessions::service::end_all_of_user(tx.conn(), &actor, user.id, &user.login, None, "password_reset")
            .await?;
    let mut changes = Changes::new();
    changes.set("by", "reset_link").set("sessions_ended", ended).set("unlocked", unlocked);
    activity::service::record(tx.conn(), &actor, "user.password_changed", Target::user(user.id, &user.login), &changes)
        .await?;
    tx.affects(Affects::Users(vec![user.id]));
    tx.commit().await?;
    state.sessions.forget_user(user.id);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_trimmed_lowercased_and_bounded() {
        assert_eq!(parse_key("  Bob@Example.com ").unwrap(), "bob@example.com");
        assert!(parse_key("   ").is_err());
        assert!(parse_key(&"a".repeat(321)).is_err());
    }
}
