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
use crate::error::{Error, Result};
use crate::ids::AccountId;
use crate::store::batch::{self, BatchUser, ROWS_PER_STATEMENT};
use crate::store::users::Link;
use crate::store::{Store, accounts, named};

const FIRST_NAMES: [&str; 12] = ["Ana", "Ben", "Chloé", "Dmitri", "Emma", "Farid", "Grace", "Hiro", "Inès", "Jonas", "Kofi", "Lena"];
const LAST_NAMES: [&str; 10] = ["Silva", "Müller", "Okafor", "Novak", "Tanaka", "Haddad", "Larsen", "Moreau", "Kowalski", "Reyes"];

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

pub async fn generate(db: &Store, account_slug: &str, opts: &Options, mut progress: impl FnMut(usize)) -> Result<Report> {
    if opts.count == 0 || opts.desks == 0 || opts.skills == 0 {
        return Err(Error::invalid("count", "out_of_range", "count, desks and skills must be at least 1"));
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
        for start in (created..tx_end).step_by(ROWS_PER_STATEMENT) {
            let end = (start + ROWS_PER_STATEMENT).min(tx_end);
            let users: Vec<BatchUser> = (start..end)
                .map(|i| BatchUser {
                    login: format!("{}{i:07}", opts.prefix),
                    email: Some(format!("{}{i:07}@example.com", opts.prefix)),
                    first_name: Some(FIRST_NAMES[i % FIRST_NAMES.len()].to_string()),
                    last_name: Some(LAST_NAMES[i % LAST_NAMES.len()].to_string()),
                    extension: None,
                    status: if i % 21 == 0 { "disabled" } else { "active" },
                    is_agent: i % 10 != 0,
                    is_supervisor: i % 10 == 0,
                })
                .collect();
            let ids = batch::insert_users(tx.conn(), account.id, &users, now).await?;
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
        activity::record(tx.conn(), &actor, "users.generated", Target { kind: "users", id: None, label: &label }, &changes).await?;
        tx.commit().await?;
        created = tx_end;
        progress(created);
    }
    db.analyze().await?;
    Ok(Report { created, seconds: started.elapsed().as_secs_f64() })
}
