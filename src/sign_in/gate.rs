//! Access rules at sign-in (R35): the account's rules before the password, the user's after.

use std::net::IpAddr;
use std::sync::Arc;

use crate::access::gate::{UserRules, denied, to_rules, user_rules};
use crate::activity::{self, Actor, Changes, Target, typed_login_label};
use crate::domain::access_rules::Mode;
use crate::error::Result;
use crate::model::access_policy::Policy;
use crate::model::user::UserRecord;
use crate::model::{AccountRecord, ClientInfo, SessionKind};
use crate::state::AppState;
use crate::store::Affects;
use crate::store::access_rules as store;

/// What sign-in learned before the password, to finish the check after it.
pub struct SignInGate {
    policy: Option<Arc<Policy>>,
    ip: Option<IpAddr>,
}

/// Before the password: the account's rules, which say nothing about any user, unless the
/// user's own rules replace them (`overwrite`, checked after the password).
pub async fn before_password(
    state: &AppState,
    account: Option<&AccountRecord>,
    user: Option<&UserRecord>,
    login: &str,
    kind: SessionKind,
    client: &ClientInfo,
) -> Result<SignInGate> {
    let ip = client.address.as_deref().and_then(|a| a.parse::<IpAddr>().ok());
    let (Some(account), Some(ip_addr)) = (account, ip) else { return Ok(SignInGate { policy: None, ip }) };
    let mut conn = state.store.read().await?;
    let rules = match user {
        Some(u) => user_rules(&mut conn, account.id, u.id).await?,
        None => None,
    };
    let rules = match rules {
        Some(r) => r,
        None => UserRules {
            mode: Mode::Inherit,
            account: to_rules(&store::list(&mut conn, account.id, None).await?),
            own: Vec::new(),
        },
    };
    drop(conn);
    if rules.mode.uses_account()
        && let Some(account_policy) = Policy::effective(Mode::Inherit, &rules.account, &[])
        && !account_policy.permits(ip_addr, |ip| state.geoip.country(ip))
    {
        record_refusal(state, account, user, login, kind, client).await?;
        return Err(denied());
    }
    Ok(SignInGate { policy: rules.policy(), ip })
}

impl SignInGate {
    /// After the password: the user's effective rules.
    pub async fn after_password(
        &self,
        state: &AppState,
        account: &AccountRecord,
        user: &UserRecord,
        kind: SessionKind,
        client: &ClientInfo,
    ) -> Result<()> {
        let (Some(policy), Some(ip)) = (&self.policy, self.ip) else { return Ok(()) };
        if policy.permits(ip, |ip| state.geoip.country(ip)) {
            return Ok(());
        }
        record_refusal(state, account, Some(user), &user.login, kind, client).await?;
        Err(denied())
    }
}

/// `auth.sign_in_failed` with `reason: address_denied`. Not counted toward lockout or the
/// address's throttle: it is not a guess, and the rules already refuse the address.
async fn record_refusal(
    state: &AppState,
    account: &AccountRecord,
    user: Option<&UserRecord>,
    login: &str,
    kind: SessionKind,
    client: &ClientInfo,
) -> Result<()> {
    let label: String = user.map_or_else(|| typed_login_label(login), |u| u.login.clone());
    let actor =
        Actor { account: account.id, user: user.map(|u| u.id), label: label.clone(), address: client.address.clone() };
    let target = match user {
        Some(u) => Target::user(u.id, &u.login),
        None => Target { kind: "user", id: None, label: &label },
    };
    let mut changes = Changes::new();
    changes.set("reason", "address_denied").set("kind", kind.as_str());
    let mut tx = state.store.begin().await?;
    tx.affects(Affects::Nothing);
    activity::service::record(tx.conn(), &actor, "auth.sign_in_failed", target, &changes).await?;
    tx.commit().await?;
    Ok(())
}
