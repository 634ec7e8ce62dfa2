//! Synthetic users for trying Roster at scale and for the benchmarks: `roster users generate`.
//!
//! The data is deterministic for a given count, so figures are comparable between runs:
//! user `i` is in desk `i % desks`, holds the Agent role (every 10th a Supervisor, every 20th
//! Financial), has skill `i % skills` and every 21st is disabled. Synthetic users have no
//! password: nobody can sign in as one until an admin sets it.

use std::time::Instant;

use crate::activity::{self, Actor, Changes, Target};
use crate::clock::now_ms;
use crate::domain::EntityName;
use crate::domain::{Email, Login, PersonName};
use crate::error::{Error, Result};
use crate::ids::AccountId;
use crate::model::user::{UserFields, UserStatus};
use crate::store::batch::{self, NewUser};
use crate::store::users::Link;
use crate::store::{Store, accounts, named};

const FIRST_NAMES: [&str; 12] =
    ["Ana", "Ben", "Chloé", "Dmitri", "Emma", "Farid", "Grace", "Hiro", "Inès", "Jonas", "Kofi", "Lena"];
const LAST_NAMES: [&str; 10] =
    ["Silva", "Müller", "Okafor", "Novak", "Tanaka", "Haddad", "Larsen", "Moreau", "Kowalski", "Reyes"];

/// Users built and linked per step.
const STEP: usize = 1000;

/// Users committed per transaction: a crash loses at most this many, and the write-ahead log stays small.
const USERS_PER_TRANSACTION: usize = 50_000;

pub struct Options {
    pub count: usize,
    pub desks: usize,
    pub skills: usize,
    /// Logins are `{prefix}{n:07}`.
    pub prefix: String,
}

pub struct Report {
    pub created: usize,
    pub seconds: f64,
}

impl Report {
    pub fn per_second(&self) -> f64 {
        self.created as f64 / self.seconds.max(f64::EPSILON)
    }
}

fn synthetic_user(prefix: &str, i: usize) -> UserFields {
    let login = format!("{prefix}{i:07}");
    let mut user = UserFields::new(Login::parse(&login).expect("the prefix was checked in generate"));
    user.email = Email::parse(&format!("{login}@example.com")).ok();
    user.first_name = PersonName::parse(FIRST_NAMES[i % FIRST_NAMES.len()]).ok();
    user.last_name = PersonName::parse(LAST_NAMES[i % LAST_NAMES.len()]).ok();
    user.flags.is_agent = !i.is_multiple_of(10);
    user.flags.is_supervisor = i.is_multiple_of(10);
    if i.is_multiple_of(21) {
        user.status = UserStatus::Disabled;
    }
    user
}

/// Ids of the named things `Desk 01…` (or skills), created when missing.
async fn ensure_named(db: &Store, account: AccountId, link: Link, noun: &str, count: usize) -> Result<Vec<i64>> {
    let mut tx = db.begin().await?;
    let mut ids = Vec::with_capacity(count);
    for n in 1..=count {
        let name = EntityName::parse(&format!("{noun} {n:02}")).expect("valid name");
        let id = match named::find_by_name(tx.conn(), link, account, &name.key()).await? {
            Some(id) => id,
            None => named::insert(tx.conn(), link, account, name.as_str(), &name.key(), "", now_ms()).await?,
        };
        ids.push(id);
    }
    tx.commit().await?;
    Ok(ids)
}

pub async fn generate(
    db: &Store,
    account_slug: &str,
    opts: &Options,
    mut progress: impl FnMut(usize),
) -> Result<Report> {
    if opts.count == 0 || opts.desks == 0 || opts.skills == 0 {
        return Err(Error::invalid("count", "out_of_range", "count, desks and skills must be at least 1"));
    }
    if let Err(invalid) = Login::parse(&format!("{}{:07}", opts.prefix, opts.count)) {
        return Err(Error::invalid("prefix", invalid.code, format!("gives logins that {}", invalid.message)));
    }
    let account = {
        let mut conn = db.read().await?;
        accounts::by_slug(&mut conn, account_slug).await?.ok_or(Error::NotFound("account"))?
    };
    let desks = ensure_named(db, account.id, Link::Desks, "Desk", opts.desks).await?;
    let skills = ensure_named(db, account.id, Link::Skills, "Skill", opts.skills).await?;
    let role = |key: &str| {
        let db = db.clone();
        let key = key.to_string();
        async move {
            let mut conn = db.read().await?;
            named::find_by_name(&mut conn, Link::Roles, account.id, &key).await?.ok_or(Error::NotFound("built-in role"))
        }
    };
    let (agent, supervisor, financial) = (role("agent").await?, role("supervisor").await?, role("financial").await?);

    let started = Instant::now();
    let mut created = 0;
    while created < opts.count {
        let tx_end = (created + USERS_PER_TRANSACTION).min(opts.count);
        let mut tx = db.begin().await?;
        let now = now_ms();
        for start in (created..tx_end).step_by(STEP) {
            let end = (start + STEP).min(tx_end);
            let fields: Vec<UserFields> = (start..end).map(|i| synthetic_user(&opts.prefix, i)).collect();
            let users: Vec<NewUser<'_>> = fields
                .iter()
                .map(|f| NewUser { fields: f, password_hash: None, must_change_password: false })
                .collect();
            let ids: Vec<i64> =
                batch::insert_users(tx.conn(), account.id, &users, now).await?.into_iter().map(|id| id.0).collect();
            let pairs = |f: &dyn Fn(usize) -> i64| -> Vec<(i64, i64)> {
                ids.iter().enumerate().map(|(k, id)| (*id, f(start + k))).collect()
            };
            batch::insert_links(tx.conn(), Link::Desks, &pairs(&|i| desks[i % desks.len()])).await?;
            batch::insert_links(tx.conn(), Link::Skills, &pairs(&|i| skills[i % skills.len()])).await?;
            let roles = pairs(&|i| match (i % 10, i % 20) {
                (0, _) => supervisor,
                (_, 5) => financial,
                _ => agent,
            });
            batch::insert_links(tx.conn(), Link::Roles, &roles).await?;
        }
        let mut changes = Changes::new();
        changes.set("count", tx_end - created).set("first", format!("{}{created:07}", opts.prefix));
        let actor = Actor::system(account.id, "synthetic loader");
        let label = format!("{} users", tx_end - created);
        activity::service::record(
            tx.conn(),
            &actor,
            "users.generated",
            Target { kind: "users", id: None, label: &label },
            &changes,
        )
        .await?;
        tx.commit().await?;
        created = tx_end;
        progress(created);
    }
    db.analyze().await?;
    Ok(Report { created, seconds: started.elapsed().as_secs_f64() })
}
