//! Reading and replacing access rules: the account's list and each user's mode and list.
//! A list is checked whole (each value, conflicts, countries without a GeoIP database, and
//! whether the person saving would lock themselves out) before anything is written.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::access::Permission;
use crate::access::gate::{UserRules, to_rules, user_rules};
use crate::access::principal::{self, Principal};
use crate::activity::{self, Actor, Changes, Target};
use crate::auth::Caller;
use crate::clock::now_ms;
use crate::domain::access_rules::{self as rules, Action, Labelled, Mode, Rule, RuleInput, RuleView, Value};
use crate::error::{Error, FieldIssue, Result};
use crate::ids::UserId;
use crate::model::AccountRecord;
use crate::model::access_policy::Policy;
use crate::state::AppState;
use crate::store::access_rules::{self as store, NewRule};
use crate::store::accounts as accounts_store;
use crate::store::{Affects, users as users_store};

/// The account's rules.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountRules {
    pub rules: Vec<RuleView>,
    /// Whether a GeoIP database is configured (country rules need one).
    pub geoip_configured: bool,
    #[serde(skip)]
    pub version: i64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountRulesInput {
    pub rules: Vec<RuleInput>,
}

/// A user's mode and own rules.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserRulesView {
    pub mode: Mode,
    pub rules: Vec<RuleView>,
    /// The account's rules, which `inherit` and `extend` apply.
    pub account_rules: Vec<RuleView>,
    #[serde(skip)]
    pub version: i64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserRulesInput {
    /// `inherit` (the account's rules), `extend` (the account's and these), `overwrite` (these only).
    pub mode: String,
    #[serde(default)]
    pub rules: Vec<RuleInput>,
}

/// Who is saving, from where: to refuse a change that would shut them out.
pub struct Saving<'a> {
    pub caller: &'a Caller,
    pub actor: &'a Actor,
    pub ip: Option<IpAddr>,
}

pub async fn account_rules(state: &AppState, account: &AccountRecord) -> Result<AccountRules> {
    let mut conn = state.store.read().await?;
    let rows = store::list(&mut conn, account.id, None).await?;
    Ok(AccountRules {
        rules: views(&to_rules(&rows)),
        geoip_configured: state.geoip.is_configured(),
        version: account.version,
    })
}

pub async fn set_account_rules(
    state: &AppState,
    saving: &Saving<'_>,
    account: &AccountRecord,
    input: AccountRulesInput,
    expected_version: i64,
) -> Result<AccountRules> {
    let rules = parse(state, "rules", &input.rules)?;
    let labelled = label("rules", &rules);
    refuse(rules::conflicts(&labelled, |_| true))?;
    let mut conn = state.store.read().await?;
    let before = to_rules(&store::list(&mut conn, account.id, None).await?);
    // Would the person saving still get in? Their own mode and rules with the new account list.
    let own = match saving.caller.account == account.id {
        true => user_rules(&mut conn, account.id, saving.caller.user).await?,
        false => None,
    };
    drop(conn);
    if let Some(own) = own {
        refuse_lock_out(state, saving.ip, Policy::effective(own.mode, &rules, &own.own))?;
    }
    let now = now_ms();
    let mut tx = state.store.begin().await?;
    if !store::bump_account_version(tx.conn(), account.id, expected_version, now).await? {
        return Err(Error::PreconditionFailed);
    }
    store::replace(tx.conn(), account.id, None, &new_rules(&rules), now).await?;
    let mut changes = Changes::new();
    changes.diff("rules", texts(&before), texts(&rules));
    let target = Target { kind: "account", id: Some(account.id.0), label: &account.slug };
    activity::service::record(tx.conn(), saving.actor, "settings.access_rules_changed", target, &changes).await?;
    let version = accounts_store::by_id(tx.conn(), account.id).await?.ok_or(Error::NotFound("account"))?.version;
    // Every user of the account may be affected: the default, `Affects::Everyone`.
    tx.commit().await?;
    Ok(AccountRules { rules: views(&rules), geoip_configured: state.geoip.is_configured(), version })
}

pub async fn get_user_rules(state: &AppState, principal: &Principal, user: UserId) -> Result<UserRulesView> {
    let mut conn = state.store.read().await?;
    let record = principal::seen_user(&mut conn, principal, user).await?;
    let rules = user_rules(&mut conn, principal.account(), user).await?.ok_or(Error::NotFound("user"))?;
    Ok(UserRulesView {
        mode: rules.mode,
        rules: views(&rules.own),
        account_rules: views(&rules.account),
        version: record.version,
    })
}

/// A user's mode and rules. Nobody sets their own (D3); someone who may not change the
/// account's rules (`settings.manage`) may only add deny rules, never exempt a user (D7).
pub async fn set_user_rules(
    state: &AppState,
    principal: &Principal,
    user: UserId,
    input: UserRulesInput,
    expected_version: i64,
) -> Result<UserRulesView> {
    let account = principal.account();
    principal.refuse_self(user, "mode", "access rules")?;
    let mut conn = state.store.read().await?;
    let record = principal::reachable_user(&mut conn, principal, user).await?.record;
    let current = user_rules(&mut conn, account, user).await?.ok_or(Error::NotFound("user"))?;
    drop(conn);
    let mode =
        Mode::parse(input.mode.trim()).map_err(|i| Error::Validation(vec![FieldIssue::from_invalid("mode", i)]))?;
    let rules = parse(state, "rules", &input.rules)?;
    if !principal.has(Permission::SettingsManage) {
        only_adds_deny_rules(&current, mode, &rules)?;
    }
    // In `extend` the account's rules apply too: the user's must not contradict them.
    let mut labelled = label("rules", &rules);
    if mode == Mode::Extend {
        labelled.extend(
            current.account.iter().enumerate().map(|(i, r)| Labelled { label: format!("account rules[{i}]"), rule: r }),
        );
    }
    refuse(rules::conflicts(&labelled, |l| l.label.starts_with("rules[")))?;
    let now = now_ms();
    let mut tx = state.store.begin().await?;
    // Again in the transaction that writes: the user may have gained rights since.
    principal::reachable_user(tx.conn(), principal, user).await?;
    if !store::set_user_mode(tx.conn(), account, user, mode.as_str(), expected_version, now).await? {
        return Err(Error::PreconditionFailed);
    }
    store::replace(tx.conn(), account, Some(user), &new_rules(&rules), now).await?;
    let mut changes = Changes::new();
    changes.diff("mode", current.mode.as_str(), mode.as_str()).diff("rules", texts(&current.own), texts(&rules));
    activity::service::record(
        tx.conn(),
        &principal.actor,
        "user.access_rules_changed",
        Target::user(user, &record.login),
        &changes,
    )
    .await?;
    let version = users_store::get(tx.conn(), account, user).await?.ok_or(Error::NotFound("user"))?.version;
    tx.affects(Affects::Users(vec![user]));
    tx.commit().await?;
    Ok(UserRulesView { mode, rules: views(&rules), account_rules: views(&current.account), version })
}

/// D7: without the right to change the account's rules, a change may only add deny rules:
/// the mode stays (or goes from `inherit` to `extend`), `overwrite` is not chosen, every rule
/// kept, and every new one a deny.
fn only_adds_deny_rules(current: &UserRules, mode: Mode, rules: &[Rule]) -> Result<()> {
    let refuse = |field: &str, why: &str| {
        Err(Error::Forbidden(format!(
            "{field}: {why}; exempting a user from the account's rules needs settings.manage (users.edit may only add deny rules)"
        )))
    };
    if mode == Mode::Overwrite && current.mode != Mode::Overwrite {
        return refuse("mode", "overwrite replaces the account's rules");
    }
    if mode != current.mode && !(current.mode == Mode::Inherit && mode == Mode::Extend) {
        return refuse("mode", "this change of mode can loosen the rules");
    }
    let same = |a: &Rule, b: &Rule| a.action == b.action && a.value == b.value;
    // Rules kept while the mode ignores them (inherit) are not in force: bringing one back is
    // adding it.
    let had = |r: &Rule| current.mode.uses_user() && current.own.iter().any(|o| same(o, r));
    if rules.iter().any(|r| r.action == Action::Allow && !had(r)) {
        return refuse("rules", "allow rules widen where the user may sign in from");
    }
    if current.mode.uses_user() && current.own.iter().any(|o| !rules.iter().any(|r| same(o, r))) {
        return refuse("rules", "removing a rule can loosen where the user may sign in from");
    }
    Ok(())
}

/// Parses a list and refuses country rules when there is no database to place addresses.
fn parse(state: &AppState, field: &str, inputs: &[RuleInput]) -> Result<Vec<Rule>> {
    let rules = rules::parse_list(field, inputs).map_err(Error::Validation)?;
    if !state.geoip.is_configured() {
        let issues: Vec<_> = rules
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r.value, Value::Country(_)))
            .map(|(i, _)| {
                FieldIssue::new(
                    format!("{field}[{i}].value"),
                    "geoip_not_configured",
                    "country rules need a GeoIP database (--geoip-database), and none is configured",
                )
            })
            .collect();
        refuse(issues)?;
    }
    Ok(rules)
}

fn refuse(issues: Vec<FieldIssue>) -> Result<()> {
    if issues.is_empty() { Ok(()) } else { Err(Error::Validation(issues)) }
}

fn refuse_lock_out(state: &AppState, ip: Option<IpAddr>, policy: Option<std::sync::Arc<Policy>>) -> Result<()> {
    let (Some(policy), Some(ip)) = (policy, ip) else { return Ok(()) };
    if policy.permits(ip, |ip| state.geoip.country(ip)) {
        return Ok(());
    }
    Err(Error::invalid(
        "rules",
        "would_lock_you_out",
        format!(
            "these rules would refuse your own address ({ip}); allow it first, or save them from an allowed address"
        ),
    ))
}

fn label<'a>(field: &str, rules: &'a [Rule]) -> Vec<Labelled<'a>> {
    rules.iter().enumerate().map(|(i, rule)| Labelled { label: format!("{field}[{i}]"), rule }).collect()
}

fn new_rules(rules: &[Rule]) -> Vec<NewRule<'_>> {
    rules
        .iter()
        .map(|r| NewRule {
            action: r.action.as_str(),
            kind: r.value.kind(),
            value: r.value.text(),
            description: &r.description,
        })
        .collect()
}

fn views(rules: &[Rule]) -> Vec<RuleView> {
    rules.iter().map(Rule::view).collect()
}

/// How a list shows in the activity log: `allow 10.0.0.0/8 (office)`.
fn texts(rules: &[Rule]) -> Vec<String> {
    rules
        .iter()
        .map(|r| match r.description.is_empty() {
            true => format!("{} {}", r.action.as_str(), r.value.text()),
            false => format!("{} {} ({})", r.action.as_str(), r.value.text(), r.description),
        })
        .collect()
}
