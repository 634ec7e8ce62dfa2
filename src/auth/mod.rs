//! Sign-in, the caller behind a request, and the one permission check every route goes
//! through (R14, R17). Sessions themselves (listing, ending, timeouts, the per-request check)
//! are in `sessions`.

pub mod api;
pub mod argon2_memory;
pub mod extract;
pub mod failures;
pub mod legacy_hash;
pub mod me;
pub mod password;
pub mod reset;
pub mod reset_api;
pub mod sign_in;
pub mod token;

use secrecy::SecretString;

pub use extract::{Authorized, Caller, ClientInfo};
pub use sign_in::{Outcome, SignInRequest, SignedIn, sign_in};

use crate::access::Permission;
use crate::activity::{self, Actor, Changes, Target};
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::ids::AccountId;
use crate::passwords::change::{self, Holder};
use crate::state::AppState;
use crate::store::{Affects, sessions as session_store, users};

pub use crate::sessions::resolve;

pub async fn sign_out(state: &AppState, caller: &Caller, client: &ClientInfo) -> Result<()> {
    if caller.api_token.is_some() {
        return Err(Error::BadRequest("an API token is not signed out; revoke it instead".into()));
    }
    let mut tx = state.store.begin().await?;
    session_store::delete(tx.conn(), caller.account, caller.session, Some(caller.user)).await?;
    let actor = caller.actor(client);
    activity::record(tx.conn(), &actor, "auth.sign_out", Target::user(caller.user, &caller.login), &Changes::new())
        .await?;
    tx.affects(Affects::Users(vec![caller.user]));
    tx.commit().await?;
    state.sessions.forget_user(caller.user);
    Ok(())
}

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
    change::vet(&state.store, settings, &holder, &new_password, "new_password").await?;
    let hash = password::hash(new_password).await?;
    let now = now_ms();
    let actor = caller.actor(client);
    let mut tx = state.store.begin().await?;
    change::save(tx.conn(), settings, user.id, &hash, false, now).await?;
    let ended =
        crate::sessions::end_all_of_user(tx.conn(), &actor, user.id, &user.login, Some(caller.session), "password_changed").await?;
    let mut changes = Changes::new();
    changes.set("by", "self").set("sessions_ended", ended);
    activity::record(tx.conn(), &actor, "user.password_changed", Target::user(user.id, &user.login), &changes).await?;
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
) -> Result<crate::users::model::UserRecord> {
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
        activity::record(tx.conn(), &actor, failed_event, Target::user(user.id, &user.login), &changes).await?;
        sign_in::count_user_failure(tx.conn(), &actor, &user, &caller.home_account.security.lockout, now_ms()).await?;
        tx.commit().await?;
        return Err(Error::invalid("current_password", "incorrect", "is not your current password"));
    }
    Ok(user)
}

/// While a lockout runs, no password is checked, not even through a session: otherwise a stolen
/// session could keep guessing after the guesses locked the account.
pub fn refuse_while_locked(user: &crate::users::model::UserRecord) -> Result<()> {
    match user.locked_until {
        Some(until) if until > now_ms() => Err(Error::invalid(
            "current_password",
            "locked",
            format!("too many wrong passwords: try again after {}", crate::clock::to_rfc3339(until)),
        )),
        _ => Ok(()),
    }
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
    let view = crate::users::service::change_own_email(&state.store, &me, email).await?;
    state.mail.wake();
    Ok(view)
}

impl Caller {
    pub fn actor(&self, client: &ClientInfo) -> Actor {
        Actor {
            account: self.account,
            user: Some(self.user),
            label: match self.api_token {
                Some(_) => self.display_name.clone(),
                None => self.login.clone(),
            },
            address: client.address.clone(),
        }
    }

    pub fn has(&self, permission: Permission) -> bool {
        self.platform_operator || (!permission.is_platform() && self.permissions.contains(&permission))
    }

    /// The scope the caller holds `permission` with (D8); a platform operator's is every account.
    pub fn scope_for(&self, permission: Permission) -> crate::access::Scope {
        match self.platform_operator {
            true => crate::access::Scope::Account,
            false => self.scopes.get(&permission).copied().unwrap_or(crate::access::Scope::Own),
        }
    }

    /// The caller acting in `account` under `permission`: what the services decide from.
    pub fn principal(&self, account: AccountId, permission: Permission, client: &ClientInfo) -> crate::access::Principal {
        crate::access::Principal {
            actor: self.actor(client).in_account(account),
            api_token: self.api_token,
            permissions: self.permissions.clone(),
            scopes: self.scopes.clone(),
            platform_operator: self.platform_operator,
            admin: self.admin || self.platform_operator,
            scope: self.scope_for(permission),
            company: self.company.as_deref().map(str::to_string),
        }
    }

    /// Whether the caller may act in `account` at all.
    pub fn may_enter(&self, account: AccountId) -> bool {
        self.platform_operator || self.account == account
    }
}
