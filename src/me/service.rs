//! My Account: what a signed-in user changes for themself, proving it with their password.

use secrecy::SecretString;

use crate::access::Permission;
use crate::activity::{self, Changes, Target};
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::model::{Caller, ClientInfo};
use crate::passwords::change::{self, Holder};
use crate::passwords::hashing as password;
use crate::passwords::lockout::{count_user_failure, refuse_while_locked};
use crate::state::AppState;
use crate::store::{Affects, users};

/// Self-service: change my password, knowing the current one. My other sessions end; this
/// one goes on.
pub async fn change_own_password(
    state: &AppState,
    caller: &Caller,
    client: &ClientInfo,
    current: SecretString,
    new_password: SecretString,
) -> Result<u64> {
    if caller.api_token.is_some() {
        return Err(Error::Forbidden("an API token cannot change its creator's password".into()));
    }
    let user = check_current_password(state, caller, client, current, "user.password_change_failed").await?;
    let settings = &caller.home_account.security;
    let holder = Holder { id: Some(user.id), login: &user.login, email: user.email.as_deref() };
    change::vet(state, settings, &holder, &new_password, "new_password").await?;
    let hash = password::hash(new_password).await?;
    let now = now_ms();
    let actor = caller.actor(client);
    let mut tx = state.store.begin().await?;
    change::save(tx.conn(), settings, user.id, &hash, false, now).await?;
    let ended = crate::sessions::service::end_all_of_user(
        tx.conn(),
        &actor,
        user.id,
        &user.login,
        Some(caller.session),
        "password_changed",
    )
    .await?;
    let mut changes = Changes::new();
    changes.set("by", "self").set("sessions_ended", ended);
    activity::service::record(tx.conn(), &actor, "user.password_changed", Target::user(user.id, &user.login), &changes)
        .await?;
    tx.affects(Affects::Users(vec![user.id]));
    tx.commit().await?;
    state.sessions.forget_user(user.id);
    Ok(ended)
}

/// My Account's proof that the person at the keyboard is the user: their current password.
/// A session left open must not become a way to guess it without limit: wrong guesses count
/// toward the lockout as failed sign-ins do, recorded as `failed_event`.
pub async fn check_current_password(
    state: &AppState,
    caller: &Caller,
    client: &ClientInfo,
    current: SecretString,
    failed_event: &str,
) -> Result<crate::model::user::UserRecord> {
    if caller.api_token.is_some() {
        return Err(Error::Forbidden("an API token cannot use its creator's own routes".into()));
    }
    let mut conn = state.store.read().await?;
    let user = users::get(&mut conn, caller.account, caller.user).await?.ok_or(Error::NotFound("user"))?;
    let hash = users::password_hash(&mut conn, caller.user).await?;
    drop(conn);
    refuse_while_locked(&user)?;
    if !password::verify(current, hash).await?.ok {
        let actor = caller.actor(client);
        let mut tx = state.store.begin().await?;
        tx.affects(Affects::Nothing);
        let mut changes = Changes::new();
        changes.set("reason", "wrong_current_password");
        activity::service::record(tx.conn(), &actor, failed_event, Target::user(user.id, &user.login), &changes)
            .await?;
        count_user_failure(&mut tx, &actor, &user, &caller.home_account.security.lockout, now_ms()).await?;
        tx.commit().await?;
        return Err(Error::invalid("current_password", "incorrect", "is not your current password"));
    }
    Ok(user)
}

/// Self-service: change my email, knowing my password (D3).
pub async fn change_own_email(
    state: &AppState,
    caller: &Caller,
    client: &ClientInfo,
    current: SecretString,
    email: Option<String>,
) -> Result<crate::users::service::UserView> {
    check_current_password(state, caller, client, current, "user.email_change_failed").await?;
    let me = caller.principal(caller.account, Permission::UsersView, client);
    let view = crate::users::service::change_own_email(state, &me, email).await?;
    state.mail.wake();
    Ok(view)
}
