//! Call settings (R38, seed 003's "overrides"): the account's defaults and each user's own
//! values. A user's setting is either the account's default or their own; every read shows the
//! effective value, where it comes from and the default.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::principal::{self, Principal};
use crate::activity::{self, Changes, Target};
use crate::domain::{E164Phone, Extension};
use crate::error::{Error, Issues, Result};
use crate::ids::{AccountId, UserId};
use crate::model::user::Ref;
use crate::state::AppState;
use crate::store::Conn;
use crate::store::calls::{self as store, CallCatalog, StoredValues};

pub const MOST_CALLS: i64 = 20;
pub const TIMEOUT_RANGE: std::ops::RangeInclusive<i64> = 5..=300;
const MOST_BLF: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MaskNumber {
    /// Callers and callees see the number.
    None,
    /// Hidden from the people who call this user.
    Inbound,
    /// Hidden from the people this user calls.
    Outbound,
    All,
}

impl MaskNumber {
    pub const ALL: [MaskNumber; 4] = [MaskNumber::None, MaskNumber::Inbound, MaskNumber::Outbound, MaskNumber::All];

    pub fn as_str(self) -> &'static str {
        match self {
            MaskNumber::None => "none",
            MaskNumber::Inbound => "inbound",
            MaskNumber::Outbound => "outbound",
            MaskNumber::All => "all",
        }
    }

    pub fn parse(s: &str) -> Option<MaskNumber> {
        MaskNumber::ALL.into_iter().find(|m| m.as_str() == s.trim())
    }
}

/// Intercept (call pickup) groups: `member_of`, whose pickers may answer this user's ringing
/// calls; `picks_up`, whose members' ringing calls this user may answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Intercept {
    pub member_of: Vec<Ref>,
    pub picks_up: Vec<Ref>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InterceptInput {
    #[serde(default)]
    pub member_of: Vec<i64>,
    #[serde(default)]
    pub picks_up: Vec<i64>,
}

/// The values in effect for the account (its defaults) or a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CallValues {
    /// `null`: no rule set (the PBX's own dialling rules).
    pub dial_rules: Option<Ref>,
    pub max_calls: i64,
    /// `null`: the PBX's default music.
    pub music_on_hold: Option<Ref>,
    pub call_waiting: bool,
    pub record_calls: bool,
    pub mask_number: MaskNumber,
    /// E.164; `null`: the trunk's number.
    pub caller_id: Option<String>,
    /// Seconds a call rings before it is treated as unanswered.
    pub no_answer_timeout: i64,
    /// Extensions whose busy lamp the user's phone shows.
    pub blf: Vec<String>,
    pub intercept: Intercept,
}

#[cfg(test)]
impl CallValues {
    /// The built-in defaults, for unit tests.
    pub fn sample() -> CallValues {
        account_values(&builtin(), &store::CatalogNames::default(), Intercept::default())
    }
}

/// The account's defaults, with their version (the `ETag`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountCallSettings {
    #[serde(flatten)]
    pub values: CallValues,
    #[serde(skip)]
    pub version: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    User,
    Account,
}

/// One setting of a user: what is in effect, where it comes from, and the account's default.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Setting<T> {
    pub value: T,
    pub source: Source,
    pub default: T,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserCallSettings {
    pub dial_rules: Setting<Option<Ref>>,
    pub max_calls: Setting<i64>,
    pub music_on_hold: Setting<Option<Ref>>,
    pub call_waiting: Setting<bool>,
    pub record_calls: Setting<bool>,
    pub mask_number: Setting<MaskNumber>,
    pub caller_id: Setting<Option<String>>,
    pub no_answer_timeout: Setting<i64>,
    pub blf: Setting<Vec<String>>,
    pub intercept: Setting<Intercept>,
    #[serde(skip)]
    pub version: i64,
}

/// A change to call settings: a field left out is unchanged. For a user, `null` returns the
/// setting to the account's default; for the account, `null` clears the three that may be
/// empty (`dial_rules`, `music_on_hold`, `caller_id`).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallSettingsInput {
    /// A dial rule set's id.
    #[serde(default, deserialize_with = "crate::domain::present")]
    #[schema(value_type = Option<i64>)]
    pub dial_rules: Option<Option<i64>>,
    /// 1–20.
    #[serde(default, deserialize_with = "crate::domain::present")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 20)]
    pub max_calls: Option<Option<i64>>,
    /// A music-on-hold class's id.
    #[serde(default, deserialize_with = "crate::domain::present")]
    #[schema(value_type = Option<i64>)]
    pub music_on_hold: Option<Option<i64>>,
    #[serde(default, deserialize_with = "crate::domain::present")]
    #[schema(value_type = Option<bool>)]
    pub call_waiting: Option<Option<bool>>,
    #[serde(default, deserialize_with = "crate::domain::present")]
    #[schema(value_type = Option<bool>)]
    pub record_calls: Option<Option<bool>>,
    #[serde(default, deserialize_with = "crate::domain::present")]
    #[schema(value_type = Option<MaskNumber>)]
    pub mask_number: Option<Option<String>>,
    /// E.164, such as `+4930123456`.
    #[serde(default, deserialize_with = "crate::domain::present")]
    #[schema(value_type = Option<String>, pattern = r"^\s*\+[1-9][0-9]{6,14}\s*$")]
    pub caller_id: Option<Option<String>>,
    /// 5–300 seconds.
    #[serde(default, deserialize_with = "crate::domain::present")]
    #[schema(value_type = Option<i64>, minimum = 5, maximum = 300)]
    pub no_answer_timeout: Option<Option<i64>>,
    /// Up to 50 extensions of the account's users.
    #[serde(default, deserialize_with = "crate::domain::present")]
    #[schema(value_type = Option<Vec<String>>)]
    pub blf: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "crate::domain::present")]
    #[schema(value_type = Option<InterceptInput>)]
    pub intercept: Option<Option<InterceptInput>>,
}

impl CallSettingsInput {
    pub fn is_empty(&self) -> bool {
        self.dial_rules.is_none()
            && self.max_calls.is_none()
            && self.music_on_hold.is_none()
            && self.call_waiting.is_none()
            && self.record_calls.is_none()
            && self.mask_number.is_none()
            && self.caller_id.is_none()
            && self.no_answer_timeout.is_none()
            && self.blf.is_none()
            && self.intercept.is_none()
    }
}

/// The built-in defaults, where the account stored none.
fn builtin() -> StoredValues {
    StoredValues {
        max_calls: Some(2),
        call_waiting: Some(true),
        record_calls: Some(false),
        mask_number: Some("none".into()),
        no_answer_timeout: Some(30),
        blf: Some("[]".into()),
        ..Default::default()
    }
}

fn blf_list(text: Option<&str>) -> Vec<String> {
    text.and_then(|t| serde_json::from_str(t).ok()).unwrap_or_default()
}

async fn name_of(conn: &mut Conn, kind: CallCatalog, account: AccountId, id: Option<i64>) -> Result<Option<Ref>> {
    let Some(id) = id else { return Ok(None) };
    let found = store::names(conn, kind, account, &[id]).await?;
    Ok(found.into_iter().next().map(|(id, name)| Ref { id, name, description: None }))
}

async fn intercept_of(conn: &mut Conn, account: AccountId, user: Option<UserId>) -> Result<Intercept> {
    Ok(intercept_from(&store::intercept_links(conn, account, user).await?))
}

/// Intercept links as `(id, name, mode)`, sorted into the two lists.
fn intercept_from(links: &[(i64, String, String)]) -> Intercept {
    let mut out = Intercept::default();
    for (id, name, mode) in links {
        let r = Ref { id: *id, name: name.clone(), description: None };
        match mode.as_str() {
            "pickup" => out.picks_up.push(r),
            _ => out.member_of.push(r),
        }
    }
    out
}

/// The account's defaults as stored (or built in), with their version (0: none stored).
async fn account_stored(conn: &mut Conn, account: AccountId) -> Result<StoredValues> {
    Ok(store::account_values(conn, account).await?.unwrap_or_else(|| StoredValues { version: 0, ..builtin() }))
}

async fn account_view(conn: &mut Conn, account: AccountId, v: &StoredValues) -> Result<CallValues> {
    let names = store::CatalogNames {
        dial_rules: name_of(conn, CallCatalog::DialRules, account, v.dial_rules).await?.map(|r| r.name),
        music_on_hold: name_of(conn, CallCatalog::MusicOnHold, account, v.music_on_hold).await?.map(|r| r.name),
    };
    Ok(account_values(v, &names, intercept_of(conn, account, None).await?))
}

/// The account's defaults from their stored values, the names these refer to and the account's
/// intercept groups.
fn account_values(v: &StoredValues, names: &store::CatalogNames, intercept: Intercept) -> CallValues {
    let b = builtin();
    CallValues {
        dial_rules: named(v.dial_rules, &names.dial_rules),
        max_calls: v.max_calls.or(b.max_calls).unwrap_or(2),
        music_on_hold: named(v.music_on_hold, &names.music_on_hold),
        call_waiting: v.call_waiting.unwrap_or(true),
        record_calls: v.record_calls.unwrap_or(false),
        mask_number: v.mask_number.as_deref().and_then(MaskNumber::parse).unwrap_or(MaskNumber::None),
        caller_id: v.caller_id.clone(),
        no_answer_timeout: v.no_answer_timeout.or(b.no_answer_timeout).unwrap_or(30),
        blf: blf_list(v.blf.as_deref()),
        intercept,
    }
}

/// A catalog entry by id with its name, when both are there (an id whose entry is gone names
/// nothing).
fn named(id: Option<i64>, name: &Option<String>) -> Option<Ref> {
    id.zip(name.clone()).map(|(id, name)| Ref { id, name, description: None })
}

pub async fn account_settings(state: &AppState, account: AccountId) -> Result<AccountCallSettings> {
    let mut conn = state.store.read().await?;
    let stored = account_stored(&mut conn, account).await?;
    Ok(AccountCallSettings { values: account_view(&mut conn, account, &stored).await?, version: stored.version })
}

fn setting<T: Clone>(own: Option<T>, default: T) -> Setting<T> {
    match own {
        Some(value) => Setting { value, source: Source::User, default },
        None => Setting { value: default.clone(), source: Source::Account, default },
    }
}

/// A user's settings in effect, read in `conn`.
pub async fn effective(conn: &mut Conn, account: AccountId, user: UserId) -> Result<UserCallSettings> {
    let parts = store::effective_parts(conn, account, user).await?.ok_or(Error::NotFound("user"))?;
    Ok(effective_of(&parts.account, &parts.user))
}

/// A user's settings from the account's defaults and the user's own values.
pub fn effective_of(account: &store::SettingsPart, user: &store::SettingsPart) -> UserCallSettings {
    let built_in;
    let (stored, names) = match &account.values {
        Some((stored, names)) => (stored, names),
        None => {
            built_in = (StoredValues { version: 0, ..builtin() }, store::CatalogNames::default());
            (&built_in.0, &built_in.1)
        }
    };
    let d = account_values(stored, names, intercept_from(&account.intercepts));
    let (own, own_names) = user.values.clone().unwrap_or_default();
    let dial_rules = own.dial_rules.map(|id| named(Some(id), &own_names.dial_rules));
    let music = own.music_on_hold.map(|id| named(Some(id), &own_names.music_on_hold));
    let intercept = own.intercept_own.then(|| intercept_from(&user.intercepts));
    UserCallSettings {
        dial_rules: setting(dial_rules, d.dial_rules),
        max_calls: setting(own.max_calls, d.max_calls),
        music_on_hold: setting(music, d.music_on_hold),
        call_waiting: setting(own.call_waiting, d.call_waiting),
        record_calls: setting(own.record_calls, d.record_calls),
        mask_number: setting(own.mask_number.as_deref().and_then(MaskNumber::parse), d.mask_number),
        caller_id: setting(own.caller_id.map(Some), d.caller_id),
        no_answer_timeout: setting(own.no_answer_timeout, d.no_answer_timeout),
        blf: setting(own.blf.as_deref().map(|b| blf_list(Some(b))), d.blf),
        intercept: setting(intercept, d.intercept),
        version: own.version,
    }
}

/// A user's settings, for whoever sees the user (D8), from memory while a read would find the
/// same (`kept`).
pub async fn user_settings(state: &AppState, principal: &Principal, user: UserId) -> Result<UserCallSettings> {
    let account = principal.account();
    let index = state.store.user_index();
    let mut conn = state.store.read().await?;
    let stamp = index.user_stamp(&mut conn, account, user).await?.ok_or(Error::NotFound("user"))?;
    // D8 from the user list as just brought up to date.
    let seen = principal.seen();
    if seen != crate::store::grants::Seen::All && !index.covers(account, &[seen], &[user])[0][0] {
        return Err(Error::NotFound("user"));
    }
    kept_or_read(state, &mut conn, account, user, Some(stamp)).await
}

/// A user's settings from memory if kept under `stamp` (the user's stamp taken before this
/// read), else read and kept under it; read and not kept without a stamp.
pub async fn kept_or_read(
    state: &AppState,
    conn: &mut Conn,
    account: AccountId,
    user: UserId,
    stamp: Option<crate::store::user_index::UserStamp>,
) -> Result<UserCallSettings> {
    let kept = state.store.kept();
    if let Some((defaults, own)) = stamp.and_then(|stamp| super::kept::kept(kept, account, user, stamp)) {
        return Ok(effective_of(&defaults, &own));
    }
    let parts = store::effective_parts(conn, account, user).await?.ok_or(Error::NotFound("user"))?;
    Ok(match stamp {
        Some(stamp) => {
            let (defaults, own) = super::kept::keep(kept, account, user, stamp, parts);
            effective_of(&defaults, &own)
        }
        None => effective_of(&parts.account, &parts.user),
    })
}

impl UserCallSettings {
    /// The values in effect, without where each comes from (what the PBX applies).
    pub fn values(&self) -> CallValues {
        CallValues {
            dial_rules: self.dial_rules.value.clone(),
            max_calls: self.max_calls.value,
            music_on_hold: self.music_on_hold.value.clone(),
            call_waiting: self.call_waiting.value,
            record_calls: self.record_calls.value,
            mask_number: self.mask_number.value,
            caller_id: self.caller_id.value.clone(),
            no_answer_timeout: self.no_answer_timeout.value,
            blf: self.blf.value.clone(),
            intercept: self.intercept.value.clone(),
        }
    }
}

/// Checks `input` and applies it to `v` (a user's own values when `for_user`, else the account's);
/// returns the intercept groups to set, if the input sets them (`Some(None)`: back to the account's).
async fn apply(
    conn: &mut Conn,
    account: AccountId,
    input: &CallSettingsInput,
    v: &mut StoredValues,
    for_user: bool,
) -> Result<Option<Option<Vec<(i64, &'static str)>>>> {
    let mut issues = Issues::new();
    let b = builtin();
    // For the account, `null` is "none" where a value may be empty, else the built-in default.
    let reset = |own: Option<i64>| if for_user { None } else { own };
    if let Some(value) = input.dial_rules {
        if let Some(id) = value
            && store::names(conn, CallCatalog::DialRules, account, &[id]).await?.is_empty()
        {
            issues.add("dial_rules", "unknown_id", format!("no such dial rule set in this account: {id}"));
        }
        v.dial_rules = value;
    }
    if let Some(value) = input.music_on_hold {
        if let Some(id) = value
            && store::names(conn, CallCatalog::MusicOnHold, account, &[id]).await?.is_empty()
        {
            issues.add("music_on_hold", "unknown_id", format!("no such music on hold class in this account: {id}"));
        }
        v.music_on_hold = value;
    }
    if let Some(value) = input.max_calls {
        if value.is_some_and(|n| !(1..=MOST_CALLS).contains(&n)) {
            issues.add("max_calls", "out_of_range", format!("from 1 to {MOST_CALLS} simultaneous calls"));
        }
        v.max_calls = value.or(reset(b.max_calls));
    }
    if let Some(value) = input.no_answer_timeout {
        if value.is_some_and(|n| !TIMEOUT_RANGE.contains(&n)) {
            issues.add(
                "no_answer_timeout",
                "out_of_range",
                format!("from {} to {} seconds", TIMEOUT_RANGE.start(), TIMEOUT_RANGE.end()),
            );
        }
        v.no_answer_timeout = value.or(reset(b.no_answer_timeout));
    }
    if let Some(value) = input.call_waiting {
        v.call_waiting = value.or(if for_user { None } else { b.call_waiting });
    }
    if let Some(value) = input.record_calls {
        v.record_calls = value.or(if for_user { None } else { b.record_calls });
    }
    if let Some(value) = &input.mask_number {
        v.mask_number = match value {
            Some(text) => match MaskNumber::parse(text) {
                Some(m) => Some(m.as_str().to_string()),
                None => {
                    issues.add("mask_number", "unknown_value", "use none, inbound, outbound or all");
                    None
                }
            },
            None if for_user => None,
            None => b.mask_number.clone(),
        };
    }
    if let Some(value) = &input.caller_id {
        v.caller_id = match value {
            Some(text) => issues.check("caller_id", E164Phone::parse(text)).map(|p| p.as_str().to_string()),
            None => None,
        };
    }
    if let Some(value) = &input.blf {
        v.blf = match value {
            Some(list) => {
                let mut out: Vec<String> = Vec::new();
                if list.len() > MOST_BLF {
                    issues.add("blf", "too_many", format!("at most {MOST_BLF} extensions"));
                }
                for (i, text) in list.iter().enumerate().take(MOST_BLF) {
                    if let Some(e) = issues.check(&format!("blf[{i}]"), Extension::parse(text))
                        && !out.contains(&e.as_str().to_string())
                    {
                        out.push(e.as_str().to_string());
                    }
                }
                for unknown in store::unknown_extensions(conn, account, &out).await? {
                    let i = list.iter().position(|t| t.trim() == unknown).unwrap_or(0);
                    issues.add(
                        &format!("blf[{i}]"),
                        "unknown_extension",
                        format!("no user of this account has the extension {unknown}"),
                    );
                }
                Some(serde_json::to_string(&out).unwrap_or_else(|_| "[]".into()))
            }
            None if for_user => None,
            None => Some("[]".into()),
        };
    }
    let intercept = match &input.intercept {
        None => None,
        Some(None) => Some(None),
        Some(Some(groups)) => {
            let mut links = Vec::new();
            for (field, ids, mode) in [
                ("intercept.member_of", &groups.member_of, "member"),
                ("intercept.picks_up", &groups.picks_up, "pickup"),
            ] {
                let mut ids = ids.clone();
                ids.sort_unstable();
                ids.dedup();
                let found = store::names(conn, CallCatalog::InterceptGroups, account, &ids).await?;
                let missing: Vec<String> =
                    ids.iter().filter(|i| !found.iter().any(|(f, _)| f == *i)).map(|i| i.to_string()).collect();
                if !missing.is_empty() {
                    issues.add(
                        field,
                        "unknown_id",
                        format!("no such intercept groups in this account: {}", missing.join(", ")),
                    );
                }
                links.extend(ids.into_iter().map(|id| (id, mode)));
            }
            Some(Some(links))
        }
    };
    issues.into_result()?;
    Ok(intercept)
}

/// What a change did, field by field, for the activity log: `"default"` stands for the account's.
fn changes_between(before: &CallValues, after: &CallValues) -> Changes {
    let mut changes = Changes::new();
    let name = |r: &Option<Ref>| r.as_ref().map(|r| r.name.clone());
    let names = |l: &[Ref]| l.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
    changes
        .diff("dial_rules", name(&before.dial_rules), name(&after.dial_rules))
        .diff("max_calls", before.max_calls, after.max_calls)
        .diff("music_on_hold", name(&before.music_on_hold), name(&after.music_on_hold))
        .diff("call_waiting", before.call_waiting, after.call_waiting)
        .diff("record_calls", before.record_calls, after.record_calls)
        .diff("mask_number", before.mask_number, after.mask_number)
        .diff("caller_id", &before.caller_id, &after.caller_id)
        .diff("no_answer_timeout", before.no_answer_timeout, after.no_answer_timeout)
        .diff("blf", &before.blf, &after.blf)
        .diff("intercept_member_of", names(&before.intercept.member_of), names(&after.intercept.member_of))
        .diff("intercept_picks_up", names(&before.intercept.picks_up), names(&after.intercept.picks_up));
    changes
}

/// Changes the account's defaults (`settings.manage`), against their version.
pub async fn set_account(
    state: &AppState,
    principal: &Principal,
    expected: i64,
    input: CallSettingsInput,
) -> Result<AccountCallSettings> {
    let account = principal.account();
    refuse_empty(&input, "request")?;
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let mut v = account_stored(conn, account).await?;
    if v.version != expected {
        return Err(Error::PreconditionFailed);
    }
    let before = account_view(conn, account, &v).await?;
    let intercept = apply(conn, account, &input, &mut v, false).await?;
    if !store::save_account_values(conn, account, &v, expected).await? {
        return Err(Error::PreconditionFailed);
    }
    if let Some(links) = intercept {
        store::set_intercept_links(conn, account, None, &links.unwrap_or_default()).await?;
    }
    let stored = account_stored(conn, account).await?;
    let after = account_view(conn, account, &stored).await?;
    let changes = changes_between(&before, &after);
    let target = Target { kind: "account", id: Some(account.0), label: "call settings" };
    activity::record(conn, &principal.actor, "account.call_settings_changed", target, &changes).await?;
    tx.commit().await?;
    Ok(AccountCallSettings { values: after, version: stored.version })
}

fn refuse_empty(input: &CallSettingsInput, field: &str) -> Result<()> {
    match input.is_empty() {
        true => Err(Error::invalid(field, "empty", "name at least one setting to set or reset")),
        false => Ok(()),
    }
}

/// Where a user may dial is a toll-fraud control, as access rules are a security one (D7):
/// choosing a user's dial rules needs the right to manage rule sets, not only `users.edit`.
pub fn may_choose_dial_rules(principal: &Principal, input: &CallSettingsInput) -> Result<()> {
    if input.dial_rules.is_some() && !principal.has(crate::access::Permission::DialRulesManage) {
        return Err(Error::Forbidden("choosing a user's dial rules needs the permission dial_rules.manage".into()));
    }
    Ok(())
}

/// The values in effect for a user, as one `CallValues` (for the activity log's diff).
fn values_of(s: &UserCallSettings) -> CallValues {
    CallValues {
        dial_rules: s.dial_rules.value.clone(),
        max_calls: s.max_calls.value,
        music_on_hold: s.music_on_hold.value.clone(),
        call_waiting: s.call_waiting.value,
        record_calls: s.record_calls.value,
        mask_number: s.mask_number.value,
        caller_id: s.caller_id.value.clone(),
        no_answer_timeout: s.no_answer_timeout.value,
        blf: s.blf.value.clone(),
        intercept: s.intercept.value.clone(),
    }
}

/// Where each setting comes from, for the log: a setting returned to the default says so.
fn sources_between(before: &UserCallSettings, after: &UserCallSettings) -> Vec<(&'static str, Source, Source)> {
    [
        ("dial_rules", before.dial_rules.source, after.dial_rules.source),
        ("max_calls", before.max_calls.source, after.max_calls.source),
        ("music_on_hold", before.music_on_hold.source, after.music_on_hold.source),
        ("call_waiting", before.call_waiting.source, after.call_waiting.source),
        ("record_calls", before.record_calls.source, after.record_calls.source),
        ("mask_number", before.mask_number.source, after.mask_number.source),
        ("caller_id", before.caller_id.source, after.caller_id.source),
        ("no_answer_timeout", before.no_answer_timeout.source, after.no_answer_timeout.source),
        ("blf", before.blf.source, after.blf.source),
        ("intercept", before.intercept.source, after.intercept.source),
    ]
    .into_iter()
    .filter(|(_, a, b)| a != b)
    .collect()
}

/// Changes a user's own values (`users.edit`, the user within reach: D2, D8), against their
/// version; `null` returns a setting to the account's default.
pub async fn set_user(
    state: &AppState,
    principal: &Principal,
    user: UserId,
    expected: i64,
    input: CallSettingsInput,
) -> Result<UserCallSettings> {
    let account = principal.account();
    refuse_empty(&input, "request")?;
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let target = principal::reachable_user(conn, principal, user).await?;
    let before = effective(conn, account, user).await?;
    let own_rules = match before.dial_rules.source {
        Source::User => before.dial_rules.value.as_ref().map(|r| r.id),
        Source::Account => None,
    };
    if input.dial_rules.is_some_and(|asked| asked != own_rules) {
        may_choose_dial_rules(principal, &input)?;
    }
    if before.version != expected {
        return Err(Error::PreconditionFailed);
    }
    let after = write_user(conn, account, user, expected, &input).await?;
    let mut changes = changes_between(&values_of(&before), &values_of(&after));
    for (field, _, to) in sources_between(&before, &after) {
        changes.set(&format!("{field}_source"), to);
    }
    activity::record(
        conn,
        &principal.actor,
        "user.call_settings_changed",
        Target::user(user, &target.record.login),
        &changes,
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Applies `input` to the user's stored values in `conn` (the caller has checked who may),
/// returning the settings in effect afterwards.
pub async fn write_user(
    conn: &mut Conn,
    account: AccountId,
    user: UserId,
    expected: i64,
    input: &CallSettingsInput,
) -> Result<UserCallSettings> {
    let mut v = store::user_values(conn, user).await?.unwrap_or_default();
    let intercept = apply(conn, account, input, &mut v, true).await?;
    if let Some(links) = &intercept {
        v.intercept_own = links.is_some();
    }
    if !store::save_user_values(conn, user, &v, expected).await? {
        return Err(Error::PreconditionFailed);
    }
    if let Some(links) = intercept {
        store::set_intercept_links(conn, account, Some(user), &links.unwrap_or_default()).await?;
    }
    effective(conn, account, user).await
}

/// What a mass action sets on many users: the checked values as columns (a `null` in the input
/// returns the setting to the account's default), and the intercept groups if it sets them.
pub struct ManyUsers {
    columns: Vec<(&'static str, crate::store::sql::Arg)>,
    intercept: Option<Option<Vec<(i64, &'static str)>>>,
    /// For each user's activity record: each field set, with its value or `"default"`.
    pub changes: Changes,
}

/// Checks a mass action's settings once, for every user it will reach (R37, R38).
pub async fn for_many(conn: &mut Conn, account: AccountId, input: &CallSettingsInput) -> Result<ManyUsers> {
    use crate::store::sql::Arg;
    refuse_empty(input, "call_settings")?;
    let mut v = StoredValues::default();
    // Named as the mass action's body names them.
    let intercept = apply(conn, account, input, &mut v, true).await.map_err(|e| match e {
        Error::Validation(issues) => Error::Validation(
            issues
                .into_iter()
                .map(|mut i| {
                    i.field = format!("call_settings.{}", i.field);
                    i
                })
                .collect(),
        ),
        other => other,
    })?;
    let mut columns: Vec<(&'static str, Arg)> = Vec::new();
    let mut changes = Changes::new();
    let shown = |set: bool, value: serde_json::Value| if set { value } else { serde_json::json!("default") };
    if input.dial_rules.is_some() {
        columns.push(("dial_rules_id", Arg::MaybeInt(v.dial_rules)));
        changes.set("dial_rules", shown(v.dial_rules.is_some(), serde_json::json!(v.dial_rules)));
    }
    if input.max_calls.is_some() {
        columns.push(("max_calls", Arg::MaybeInt(v.max_calls)));
        changes.set("max_calls", shown(v.max_calls.is_some(), serde_json::json!(v.max_calls)));
    }
    if input.music_on_hold.is_some() {
        columns.push(("music_on_hold_id", Arg::MaybeInt(v.music_on_hold)));
        changes.set("music_on_hold", shown(v.music_on_hold.is_some(), serde_json::json!(v.music_on_hold)));
    }
    for (column, given, value) in [
        ("call_waiting", input.call_waiting.is_some(), v.call_waiting),
        ("record_calls", input.record_calls.is_some(), v.record_calls),
    ] {
        if given {
            columns.push((column, Arg::MaybeBool(value)));
            changes.set(column, shown(value.is_some(), serde_json::json!(value)));
        }
    }
    for (column, given, value) in [
        ("mask_number", input.mask_number.is_some(), &v.mask_number),
        ("caller_id", input.caller_id.is_some(), &v.caller_id),
        ("blf", input.blf.is_some(), &v.blf),
    ] {
        if given {
            columns.push((column, Arg::MaybeText(value.clone())));
            changes.set(column, shown(value.is_some(), serde_json::json!(value)));
        }
    }
    if input.no_answer_timeout.is_some() {
        columns.push(("no_answer_timeout", Arg::MaybeInt(v.no_answer_timeout)));
        changes.set("no_answer_timeout", shown(v.no_answer_timeout.is_some(), serde_json::json!(v.no_answer_timeout)));
    }
    if let Some(links) = &intercept {
        changes.set("intercept", shown(links.is_some(), serde_json::json!(links)));
    }
    Ok(ManyUsers { columns, intercept, changes })
}

/// Applies a mass action's settings to the users `users_where` selects; returns how many.
pub async fn write_many(
    conn: &mut Conn,
    account: AccountId,
    users_where: &crate::store::sql::Sql,
    many: &ManyUsers,
) -> Result<u64> {
    let own = many.intercept.as_ref().map(Option::is_some);
    let changed = store::set_many(conn, users_where, &many.columns, own).await?;
    if let Some(links) = &many.intercept {
        store::set_intercept_many(conn, account, users_where, links.as_deref().unwrap_or_default()).await?;
    }
    Ok(changed)
}
