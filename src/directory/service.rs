//! Looking a phone's user up: which account the realm names, which user answers to the name,
//! and whether they may register now; with the digest hashes and call settings the SIP server
//! applies.

use std::sync::{Arc, OnceLock};

use axum::body::Bytes;
use secrecy::ExposeSecret;

use super::digest::Ha1;
use crate::access::Permission;
use crate::auth::Caller;
use crate::calls::settings::CallValues;
use crate::clock::Timestamp;
use crate::domain::{Extension, SipRealm, SipUsername};
use crate::error::{Error, Issues, Result};
use crate::ids::{AccountId, UserId};
use crate::model::AccountRecord;
use crate::model::user::{UserRecord, UserStatus};
use crate::state::AppState;
use crate::store::Conn;
use crate::store::directory::{self as store, Answered, DirectoryKey};
use crate::store::user_index::Moment;

/// Why a known user may not register or call now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    AccountDisabled,
    Deleted,
    Disabled,
    /// Deactivated for a time range (R18) that has begun.
    ScheduledOut,
    /// Invited, not accepted yet (R19).
    Invited,
    /// R5: without an extension, no SIP phone.
    NoExtension,
    /// No SIP password set: there is no digest to check a phone against.
    NoSipPassword,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::AccountDisabled => "account_disabled",
            Refusal::Deleted => "deleted",
            Refusal::Disabled => "disabled",
            Refusal::ScheduledOut => "scheduled_out",
            Refusal::Invited => "invited",
            Refusal::NoExtension => "no_extension",
            Refusal::NoSipPassword => "no_sip_password",
        }
    }
}

/// A user as the directory answers for them, read at one moment; shared by every lookup while
/// it is current (`kept`). Whether they may register is worked out per lookup: a period out
/// begins with time, not with a change.
pub struct Entry {
    pub account: AccountId,
    pub account_slug: String,
    pub realm: String,
    pub user: UserId,
    pub login: String,
    pub display_name: String,
    /// The name the phone authenticates with: the SIP user name, else the extension.
    pub sip_name: Option<String>,
    pub extension: Option<String>,
    /// A platform operator (R11): reached by platform operators' tokens only (D2).
    platform_operator: bool,
    status: UserStatus,
    deactivation_from: Option<Timestamp>,
    deactivation_until: Option<Timestamp>,
    /// `None` without a SIP password or a name to hash it with.
    pub ha1: Option<Ha1>,
    pub settings: CallValues,
    /// The answers made from this entry while it may register, made once.
    pub rendered: Rendered,
}

/// Texts made from an entry once, for every lookup that finds it allowed; as `Bytes`, so that
/// each answer shares them rather than copying.
#[derive(Default)]
pub struct Rendered {
    pub json: OnceLock<Bytes>,
    pub freeswitch: OnceLock<Bytes>,
}

impl Entry {
    fn of(account: &AccountRecord, user: UserRecord, ha1: Option<Ha1>, settings: CallValues) -> Entry {
        Entry {
            account: account.id,
            account_slug: account.slug.clone(),
            realm: account.sip_realm.clone(),
            user: user.id,
            display_name: user.display_name(),
            login: user.login,
            sip_name: user.sip_username.or_else(|| user.extension.clone()),
            extension: user.extension,
            platform_operator: user.is_superuser,
            status: user.status,
            deactivation_from: user.deactivation_from,
            deactivation_until: user.deactivation_until,
            ha1,
            settings,
            rendered: Rendered::default(),
        }
    }

    /// Why the user may not register at `now`; `None`: they may.
    pub fn refusal(&self, now: Timestamp) -> Option<Refusal> {
        let out_now = self.deactivation_from.is_some_and(|from| from <= now)
            && self.deactivation_until.is_none_or(|until| now < until);
        match self.status {
            UserStatus::Invited => return Some(Refusal::Invited),
            UserStatus::Disabled if out_now => return Some(Refusal::ScheduledOut),
            UserStatus::Disabled => return Some(Refusal::Disabled),
            // The period began and the job that deactivates has not run yet.
            UserStatus::Active if out_now => return Some(Refusal::ScheduledOut),
            UserStatus::Active => {}
        }
        if self.extension.is_none() {
            return Some(Refusal::NoExtension);
        }
        if self.ha1.is_none() {
            return Some(Refusal::NoSipPassword);
        }
        None
    }

    pub fn answers_to(&self, key: &DirectoryKey) -> bool {
        match key {
            DirectoryKey::SipName(name) => self.sip_name.as_deref() == Some(name),
            DirectoryKey::Extension(ext) => self.extension.as_deref() == Some(ext),
        }
    }

    pub fn keys(&self) -> Vec<DirectoryKey> {
        let mut keys = Vec::with_capacity(2);
        keys.extend(self.sip_name.clone().map(DirectoryKey::SipName));
        keys.extend(self.extension.clone().map(DirectoryKey::Extension));
        keys
    }

    /// About what it weighs in memory.
    pub fn weight(&self) -> usize {
        600 + 100 * (self.settings.blf.len() + self.settings.intercept.member_of.len())
    }
}

/// What the directory answered.
pub enum Answer {
    /// A user answers to the name: allowed unless `refusal`.
    Found { entry: Arc<Entry>, refusal: Option<Refusal> },
    /// Not allowed without an entry to show: the account is disabled, or the user was deleted.
    Refused { account_slug: String, realm: String, refusal: Refusal, key: DirectoryKey },
    /// No such realm (for this token) or no such user in it.
    Unknown(&'static str),
}

impl Answer {
    fn counted_as(&self) -> Answered {
        match self {
            Answer::Found { refusal: None, .. } => Answered::Allowed,
            Answer::Found { .. } | Answer::Refused { .. } => Answered::NotAllowed,
            Answer::Unknown(_) => Answered::Unknown,
        }
    }
}

/// The question, parsed: the realm and how the user is named.
pub fn parse_question(
    realm: Option<&str>,
    user: Option<&str>,
    extension: Option<&str>,
) -> Result<(SipRealm, DirectoryKey)> {
    let mut issues = Issues::new();
    let realm = match realm {
        Some(r) => issues.check("realm", SipRealm::parse(r)),
        None => {
            issues.add("realm", "required", "name the SIP realm (domain) the phone registers in");
            None
        }
    };
    let key = match (user, extension) {
        (Some(user), None) => issues.check("user", SipUsername::parse(user)).map(|u| DirectoryKey::SipName(u.into())),
        (None, Some(ext)) => {
            issues.check("extension", Extension::parse(ext)).map(|e| DirectoryKey::Extension(e.into()))
        }
        _ => {
            issues.add(
                "user",
                "one_of",
                "name the user by `user` (their SIP user name) or by `extension`, one of the two",
            );
            None
        }
    };
    issues.into_result()?;
    Ok((realm.expect("checked"), key.expect("checked")))
}

/// Whether `caller` may ask the directory: an API token holding `directory.read`.
pub fn may_ask(caller: &Caller) -> Result<()> {
    match caller.api_token.is_some() && caller.has(Permission::DirectoryRead) {
        true => Ok(()),
        false => Err(Error::Forbidden("the directory answers API tokens holding directory.read".into())),
    }
}

/// Looks up the user of `realm` named by `key`, for `caller` (checked with `may_ask`), and
/// counts the lookup for the caller's token.
pub async fn lookup(state: &AppState, caller: &Caller, realm: &SipRealm, key: DirectoryKey) -> Result<Answer> {
    may_ask(caller)?;
    let answer = find(state, caller, realm, key).await?;
    count(state, caller, &answer);
    Ok(answer)
}

/// Looks up the user whose SIP name is `name`, or, when nobody's is, whose extension it is
/// (FreeSWITCH's `user/1001@realm` names a user by either); counted as one lookup.
pub async fn lookup_name_or_extension(
    state: &AppState,
    caller: &Caller,
    realm: &SipRealm,
    name: &str,
) -> Result<Answer> {
    may_ask(caller)?;
    let mut answer = find(state, caller, realm, DirectoryKey::SipName(name.to_string())).await?;
    if matches!(answer, Answer::Unknown("user"))
        && let Ok(extension) = Extension::parse(name)
    {
        answer = find(state, caller, realm, DirectoryKey::Extension(extension.into())).await?;
    }
    count(state, caller, &answer);
    Ok(answer)
}

fn count(state: &AppState, caller: &Caller, answer: &Answer) {
    let Some(token) = caller.api_token else { return };
    let answered = answer.counted_as();
    state.store.directory_usage().count(token, answered, crate::clock::now_ms());
    let result = match answered {
        Answered::Allowed => "allowed",
        Answered::NotAllowed => "not_allowed",
        Answered::Unknown => "unknown",
    };
    metrics::counter!("roster_directory_lookups_total", "token" => token.to_string(), "result" => result).increment(1);
}

async fn find(state: &AppState, caller: &Caller, realm: &SipRealm, key: DirectoryKey) -> Result<Answer> {
    // No connection is taken until something must be read: most lookups are answered from
    // memory once the account is up to date.
    let Some((account, moment)) = account_of_realm(state, caller, realm).await? else {
        return Ok(Answer::Unknown("realm"));
    };
    if !account.enabled {
        let (account_slug, realm) = (account.slug.clone(), account.sip_realm.clone());
        return Ok(Answer::Refused { account_slug, realm, refusal: Refusal::AccountDisabled, key });
    }
    let now = state.config.clock.now();
    let index = state.store.user_index();
    // D2: an account's admins do not reach its platform operators, nor do their tokens.
    let found = |entry: Arc<Entry>| match entry.platform_operator && !caller.operator_token {
        true => Answer::Unknown("user"),
        false => Answer::Found { refusal: entry.refusal(now), entry },
    };
    if let Some(entry) = super::kept::entry(state.store.kept(), index, account.id, &key) {
        return Ok(found(entry));
    }
    let mut conn = state.store.read().await?;
    match read_entry(state, &mut conn, &account, moment, &key).await? {
        Some(entry) => Ok(found(entry)),
        None => match store::departed(&mut conn, account.id, &key).await? {
            true => Ok(Answer::Refused {
                account_slug: account.slug.clone(),
                realm: account.sip_realm.clone(),
                refusal: Refusal::Deleted,
                key,
            }),
            false => Ok(Answer::Unknown("user")),
        },
    }
}

/// The account whose realm `realm` is, brought up to date, if the caller may ask about it: a
/// token's own account, or any for a platform operator's token.
async fn account_of_realm(
    state: &AppState,
    caller: &Caller,
    realm: &SipRealm,
) -> Result<Option<(Arc<AccountRecord>, Moment)>> {
    let (store, index) = (&state.store, state.store.user_index());
    let matches = |found: (Option<Arc<AccountRecord>>, Moment)| match found {
        (Some(account), moment) if account.sip_realm == realm.as_str() => Some((account, moment)),
        _ => None,
    };
    if !caller.operator_token {
        return Ok(matches(index.account(store, caller.account).await?));
    }
    let kept = state.store.kept();
    if let Some(account) = super::kept::realm(kept, realm.as_str())
        && let Some(found) = matches(index.account(store, account).await?)
    {
        return Ok(Some(found));
    }
    // Not kept, or the realm moved to another account since.
    let record = crate::store::accounts::by_sip_realm(&mut *store.read().await?, realm.as_str()).await?;
    let Some(record) = record else { return Ok(None) };
    super::kept::keep_realm(kept, realm.as_str(), record.id);
    Ok(matches(index.account(store, record.id).await?))
}

/// Reads the entry of the user answering to `key`, and keeps it when nothing changed in the
/// account since `moment` (taken when it was brought up to date, before this read).
async fn read_entry(
    state: &AppState,
    conn: &mut Conn,
    account: &AccountRecord,
    moment: Moment,
    key: &DirectoryKey,
) -> Result<Option<Arc<Entry>>> {
    let Some(user) = store::find(conn, account.id, key).await? else { return Ok(None) };
    let index = state.store.user_index();
    let stamp = index.stamp_as_of(account.id, moment, user.id);
    let settings = match crate::calls::settings::kept_or_read(state, conn, account.id, user.id, stamp).await {
        Ok(settings) => settings.values(),
        // Deleted between the two reads.
        Err(Error::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let name = user.sip_username.as_deref().or(user.extension.as_deref());
    let ha1 = match (&user.sip_password, name) {
        (Some(sealed), Some(name)) => {
            let password =
                state.secrets.open(crate::secrets::Owner::sip_password(user.id), sealed).map_err(Error::Internal)?;
            Some(Ha1::of(name, &account.sip_realm, password.expose_secret()))
        }
        _ => None,
    };
    let entry = Arc::new(Entry::of(account, user, ha1, settings));
    if let Some(stamp) = stamp {
        super::kept::keep(state.store.kept(), account.id, stamp, &entry);
    }
    Ok(Some(entry))
}

/// A token refused only because its account is disabled, asked about that account's realm:
/// the directory answers "not allowed" (the account is disabled) rather than "who are you".
pub async fn disabled_account_of(state: &AppState, bearer: &str, realm: &SipRealm) -> Result<Option<AccountRecord>> {
    let now = crate::clock::now_ms();
    let mut conn = state.store.read().await?;
    let hash = crate::secrets::token::hash(bearer);
    let Some(token) = crate::store::api_tokens::find_usable(&mut conn, &hash, now).await? else { return Ok(None) };
    if !token.permissions.split(',').any(|p| p == Permission::DirectoryRead.as_str()) {
        return Ok(None);
    }
    let Some(account) = crate::store::accounts::by_id(&mut conn, token.account_id).await? else { return Ok(None) };
    let maker = crate::store::users::get(&mut conn, account.id, token.user_id).await?;
    let maker_active = maker.is_some_and(|m| m.status == UserStatus::Active);
    Ok((!account.enabled && maker_active && account.sip_realm == realm.as_str()).then_some(account))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(status: UserStatus, from: Option<i64>, until: Option<i64>, extension: bool, ha1: bool) -> Entry {
        let mut user = UserRecord::sample();
        user.status = status;
        user.deactivation_from = from.map(Timestamp::from_ms);
        user.deactivation_until = until.map(Timestamp::from_ms);
        user.extension = extension.then(|| "1001".to_string());
        let account = crate::model::AccountRecord::sample();
        let settings = CallValues::sample();
        Entry::of(&account, user, ha1.then(|| Ha1::of("1001", "acme", "pw")), settings)
    }

    #[test]
    fn who_may_register_now() {
        let now = Timestamp::from_ms(1_000);
        let cases = [
            (entry(UserStatus::Active, None, None, true, true), None),
            (entry(UserStatus::Active, Some(2_000), None, true, true), None),
            (entry(UserStatus::Active, Some(500), Some(900), true, true), None),
            (entry(UserStatus::Active, Some(500), None, true, true), Some(Refusal::ScheduledOut)),
            (entry(UserStatus::Active, Some(500), Some(1_500), true, true), Some(Refusal::ScheduledOut)),
            (entry(UserStatus::Disabled, Some(500), Some(1_500), true, true), Some(Refusal::ScheduledOut)),
            (entry(UserStatus::Disabled, Some(2_000), None, true, true), Some(Refusal::Disabled)),
            (entry(UserStatus::Disabled, None, None, true, true), Some(Refusal::Disabled)),
            (entry(UserStatus::Invited, None, None, true, true), Some(Refusal::Invited)),
            (entry(UserStatus::Active, None, None, false, true), Some(Refusal::NoExtension)),
            (entry(UserStatus::Active, None, None, true, false), Some(Refusal::NoSipPassword)),
        ];
        for (i, (entry, refusal)) in cases.iter().enumerate() {
            assert_eq!(entry.refusal(now), *refusal, "case {i}");
        }
    }

    #[test]
    fn an_entry_answers_to_its_name_and_extension_only() {
        let mut e = entry(UserStatus::Active, None, None, true, true);
        assert!(
            e.answers_to(&DirectoryKey::SipName("1001".into())),
            "the extension is the name without a SIP user name"
        );
        e.sip_name = Some("ann-sip".into());
        assert!(e.answers_to(&DirectoryKey::SipName("ann-sip".into())));
        assert!(!e.answers_to(&DirectoryKey::SipName("1001".into())));
        assert!(e.answers_to(&DirectoryKey::Extension("1001".into())));
        assert!(!e.answers_to(&DirectoryKey::Extension("ann-sip".into())));
        assert_eq!(e.keys(), vec![DirectoryKey::SipName("ann-sip".into()), DirectoryKey::Extension("1001".into())]);
    }

    #[test]
    fn a_question_names_a_realm_and_one_user() {
        let (realm, key) = parse_question(Some("Acme.Example"), Some("1001"), None).expect("valid");
        assert_eq!((realm.as_str(), key), ("acme.example", DirectoryKey::SipName("1001".into())));
        let (_, key) = parse_question(Some("acme"), None, Some("0042")).expect("valid");
        assert_eq!(key, DirectoryKey::Extension("0042".into()));
        let fields = |r: Result<(SipRealm, DirectoryKey)>| match r {
            Err(Error::Validation(issues)) => {
                issues.into_iter().map(|i| format!("{}:{}", i.field, i.code)).collect::<Vec<_>>()
            }
            _ => panic!("refused"),
        };
        assert_eq!(fields(parse_question(None, Some("1001"), None)), vec!["realm:required"]);
        assert_eq!(fields(parse_question(Some("acme"), None, None)), vec!["user:one_of"]);
        assert_eq!(fields(parse_question(Some("acme"), Some("1"), Some("1"))), vec!["user:one_of"]);
        assert_eq!(fields(parse_question(Some("acme"), Some("a b"), None)), vec!["user:invalid_chars"]);
        assert_eq!(fields(parse_question(Some("ac me"), None, Some("x"))).len(), 2);
    }
}
