//! `roster users import`: two passes over the file. The first checks every row (the field
//! rules, names that must exist, duplicates within the file, clashes with existing users)
//! and collects every problem; if there is any, nothing is written. The second reads the
//! file again and writes every user, their links and their activity events in one
//! transaction: all of them or none. Rows are never all held in memory.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::{StreamExt, TryStreamExt};
use secrecy::SecretString;

use super::rows::{self, Pos};
use super::{Format, PASSWORD, PASSWORD_HASH};
use crate::access::principal::{self, Principal};
use crate::access::{Permission, Scope};
use crate::activity::activation::Activation;
use crate::activity::{self, Actor, Changes, Target};
use crate::clock::{Timestamp, now_ms};
use crate::domain::{Email, EntityName, Extension, Login};
use crate::error::{Error, FieldIssue, Issues, Result};
use crate::model::AccountRecord;
use crate::model::lifecycle::{ActivationCause, ActivationChange};
use crate::model::settings::PasswordPolicy;
use crate::model::user::{UserFields, UserStatus};
use crate::passwords::hashing as password;
use crate::passwords::legacy_hash;
use crate::store::accounts;
use crate::store::batch::{self, NewUser};
use crate::store::users::{self as store, Link, Unique};
use crate::store::{Conn, Store, named};
use crate::users::input::UserInput;

pub struct ImportOptions {
    pub file: PathBuf,
    pub account: String,
    pub format: Format,
    pub dry_run: bool,
    /// Import with this user's rights (D1, D8), as they would create the users in the console;
    /// `None`: with the database's, for whoever operates the machine.
    pub acting_as: Option<String>,
}

/// A row that cannot be imported, with every reason.
#[derive(Debug)]
pub struct BadRow {
    pub pos: Pos,
    pub issues: Vec<FieldIssue>,
}

#[derive(Debug)]
pub struct ImportReport {
    pub rows: u64,
    /// Empty unless the file was refused (then nothing was written).
    pub bad: Vec<BadRow>,
    pub imported: u64,
    pub without_password: u64,
}

/// What a row says about the user's password.
enum Credential {
    /// No password: the user cannot sign in until an admin sets one.
    None,
    /// A plain password, checked against the account's policy, hashed with argon2id before writing.
    Plain(SecretString),
    /// A hash from another system (`password_hash` column): checked for shape, stored as it
    /// is, and upgraded to argon2id at the user's next sign-in.
    Hash(String),
}

impl Credential {
    fn take(input: &mut UserInput, hash: Option<String>, policy: &PasswordPolicy, issues: &mut Issues) -> Credential {
        let hash = hash.filter(|h| !h.trim().is_empty());
        match (input.password.take(), hash) {
            (Some(_), Some(_)) => {
                issues.add(PASSWORD_HASH, "both", "give either a password or a password hash, not both");
                Credential::None
            }
            (Some(p), None) => {
                use secrecy::ExposeSecret;
                let login = input.login.as_deref().unwrap_or_default();
                let email = input.email.as_ref().and_then(|e| e.as_deref());
                if let Err(refusals) = policy.check(p.expose_secret(), login, email) {
                    refusals.into_iter().for_each(|r| issues.add(PASSWORD, r.rule, r.message));
                }
                Credential::Plain(p)
            }
            (None, Some(h)) => match legacy_hash::classify(h.trim()) {
                Ok(_) => Credential::Hash(h.trim().to_string()),
                Err(invalid) => {
                    issues.check::<()>(PASSWORD_HASH, Err(invalid));
                    Credential::None
                }
            },
            (None, None) => Credential::None,
        }
    }
}

/// Rows checked against existing users, or written, at a time.
const BATCH: usize = 1000;

/// Looked-up roles, groups, desks and skills: `(kind, name key)` → `(id, name)` if it exists.
type Names = HashMap<(Link, String), Option<(i64, String)>>;

/// One row ready to write or to check: its fields, the links' ids and names, its password.
struct Row {
    fields: UserFields,
    must_change_password: bool,
    links: Vec<(Link, Vec<(i64, String)>)>,
    permissions: Vec<String>,
    credential: Credential,
}

/// Parses and checks one row by the field rules and resolves its names; `issues` gets the
/// problems. Returns the unique values the row claims, and the row if it has no problem.
async fn check_row(
    conn: &mut Conn,
    account: &AccountRecord,
    acting: Option<&Principal>,
    names: &mut Names,
    raw: rows::RawRow,
    issues: &mut Issues,
) -> Result<(Vec<(Unique, String)>, Option<Row>)> {
    let mut parsed = rows::parse(raw, issues);
    let claims = claimed(&parsed.input);
    let fields = match parsed.input.to_fields(None) {
        Ok(f) => Some(f),
        Err(Error::Validation(found)) => {
            found.into_iter().for_each(|i| issues.push(i));
            None
        }
        Err(other) => return Err(other),
    };
    let mut links = Vec::new();
    for (link, wanted) in parsed.names {
        let kind = link.field().trim_end_matches('s');
        let mut found: Vec<(i64, String)> = Vec::new();
        for name in wanted {
            let Some(valid) = issues.check(link.field(), EntityName::parse(&name)) else { continue };
            let key = (link, valid.key());
            if !names.contains_key(&key) {
                let id = named::find_by_name(conn, link, account.id, &key.1).await?;
                let stored = match id {
                    Some(id) => named::names(conn, link, account.id, &[id]).await?.pop(),
                    None => None,
                };
                names.insert(key.clone(), stored);
            }
            match &names[&key] {
                Some(hit) if !found.contains(hit) => found.push(hit.clone()),
                Some(_) => {}
                None => issues.add(
                    link.field(),
                    "unknown_name",
                    format!("no {kind} named {name:?} in account {}", account.slug),
                ),
            }
        }
        links.push((link, found));
    }
    let must_change_password = parsed.input.must_change_password.unwrap_or(false);
    let permissions = parsed.input.permissions.take().map(|mut p| {
        p.sort();
        p.dedup();
        p
    });
    let credential =
        Credential::take(&mut parsed.input, parsed.password_hash.take(), &account.security.password_policy, issues);
    if let (Some(principal), Some(fields)) = (acting, &fields) {
        may_create(conn, principal, fields, &links, permissions.as_deref(), issues).await?;
    }
    let row = fields.filter(|_| issues.is_empty()).map(|fields| Row {
        fields,
        must_change_password,
        links,
        permissions: permissions.unwrap_or_default(),
        credential,
    });
    Ok((claims, row))
}

/// What `principal` may not do in this row, as the user service would refuse it: give what they
/// do not hold (D1), make a user out of their scope or at a desk they are not at (D8), make a
/// platform operator.
async fn may_create(
    conn: &mut Conn,
    principal: &Principal,
    fields: &UserFields,
    links: &[(Link, Vec<(i64, String)>)],
    permissions: Option<&[String]>,
    issues: &mut Issues,
) -> Result<()> {
    let ids = |link: Link| {
        links.iter().find(|(l, _)| *l == link).map(|(_, v)| v.iter().map(|(id, _)| *id).collect::<Vec<i64>>())
    };
    if fields.flags.is_superuser && !principal.platform_operator {
        issues.add("is_superuser", "not_permitted", "only a platform operator can make a platform operator");
    }
    if !principal.has(Permission::UsersCreate) {
        issues.add("login", "not_permitted", "creating users needs the permission users.create");
    }
    let gives = ids(Link::Roles).is_some_and(|v| !v.is_empty())
        || ids(Link::Groups).is_some_and(|v| !v.is_empty())
        || permissions.is_some_and(|p| !p.is_empty());
    if gives && !principal.has(Permission::UsersEdit) {
        issues.add("roles", "not_permitted", "assigning roles, groups or permissions needs users.edit");
    }
    for (field, result) in [
        ("roles", principal::may_assign(conn, principal, ids(Link::Roles).as_deref(), None, None).await),
        ("groups", principal::may_assign(conn, principal, None, ids(Link::Groups).as_deref(), None).await),
        ("permissions", principal::may_assign(conn, principal, None, None, permissions).await),
    ] {
        match result {
            Ok(()) => {}
            Err(Error::Forbidden(why)) => issues.add(field, "not_permitted", why),
            Err(other) => return Err(other),
        }
    }
    let desks = ids(Link::Desks).unwrap_or_default();
    let company = fields.company.as_ref().map(|c| c.as_str());
    if !principal::would_see(conn, principal, &desks, fields.flags.is_end_user, company).await? {
        issues.add(
            "desks",
            "outside_scope",
            format!("the user would be outside the users you manage ({})", principal.scope.as_str()),
        );
    } else if principal.scope != Scope::Account && !principal.platform_operator {
        let mine = principal::standing(conn, principal).await?.desks;
        if desks.iter().any(|d| !mine.contains(d)) {
            issues.add("desks", "not_permitted", "you may only add users to desks you are at yourself");
        }
        let key = principal::company_key(company);
        if key.is_some() && key != principal::company_key(principal.company.as_deref()) {
            issues.add("company", "not_permitted", "you may only place users in your own company");
        }
    }
    Ok(())
}

/// The unique values a row claims, each parsed by its own rule, so that duplicates and clashes
/// are reported even on rows with other problems.
fn claimed(input: &UserInput) -> Vec<(Unique, String)> {
    let text = |v: &Option<Option<String>>| v.clone().flatten().filter(|s| !s.trim().is_empty());
    let mut out = Vec::new();
    if let Some(login) = input.login.as_deref().and_then(|l| Login::parse(l).ok()) {
        out.push((Unique::Login, login.key()));
    }
    if let Some(email) = text(&input.email).and_then(|e| Email::parse(&e).ok()) {
        out.push((Unique::Email, email.key()));
    }
    if let Some(ext) = text(&input.extension).and_then(|e| Extension::parse(&e).ok()) {
        out.push((Unique::Extension, ext.as_str().to_string()));
    }
    out
}

/// Rows checked by the field rules, waiting for the batched check against existing users.
struct Pending {
    pos: Pos,
    issues: Issues,
    claims: Vec<(Unique, String)>,
}

/// The first pass's findings.
struct Checked {
    rows: u64,
    bad: Vec<BadRow>,
    names: Names,
    /// Plain passwords by row number (from 1), to hash before the write.
    passwords: Vec<(u64, SecretString)>,
    /// Rows whose users will occupy a seat (R20): active members.
    seats: i64,
}

async fn flush(
    conn: &mut Conn,
    account: &AccountRecord,
    pending: &mut Vec<Pending>,
    bad: &mut Vec<BadRow>,
) -> Result<()> {
    for field in Unique::ALL {
        let values: Vec<String> =
            pending.iter().flat_map(|p| p.claims.iter().filter(|(f, _)| *f == field).map(|(_, v)| v.clone())).collect();
        let taken = store::taken_values(conn, account.id, field, &values).await?;
        for p in pending.iter_mut() {
            if let Some((_, v)) = p.claims.iter().find(|(f, v)| *f == field && taken.contains(v)) {
                let message = match field {
                    Unique::Extension => {
                        format!("{v:?} is already taken by a user or a queue of account {}", account.slug)
                    }
                    _ => format!("{v:?} is already taken by a user of account {}", account.slug),
                };
                p.issues.add(field.field(), "taken", message);
            }
        }
    }
    for p in pending.drain(..) {
        if let Err(Error::Validation(issues)) = p.issues.into_result() {
            bad.push(BadRow { pos: p.pos, issues });
        }
    }
    Ok(())
}

async fn check_file(
    db: &Store,
    account: &AccountRecord,
    acting: Option<&Principal>,
    opts: &ImportOptions,
    size: u64,
) -> Result<Checked> {
    let read = Arc::new(AtomicU64::new(0));
    let bar = super::progress(size, "checking  {wide_bar} {bytes}/{total_bytes} {msg}");
    let mut conn = db.read().await?;
    let mut rx = rows::spawn_reader(opts.file.clone(), opts.format, read.clone());
    let mut out = Checked { rows: 0, bad: Vec::new(), names: Names::new(), passwords: Vec::new(), seats: 0 };
    let mut seen: HashMap<(Unique, String), Pos> = HashMap::new();
    let mut pending = Vec::new();
    while let Some(item) = rx.recv().await {
        let raw = item.map_err(Error::BadRequest)?;
        out.rows += 1;
        let pos = raw.pos;
        let mut issues = Issues::new();
        let (claims, row) = check_row(&mut conn, account, acting, &mut out.names, raw, &mut issues).await?;
        for (field, value) in &claims {
            match seen.get(&(*field, value.clone())) {
                Some(first) => issues.add(field.field(), "duplicate", format!("{value:?} is on {first} already")),
                None => {
                    seen.insert((*field, value.clone()), pos);
                }
            }
        }
        if let Some(r) = &row
            && !r.fields.flags.is_end_user
            && r.fields.status == UserStatus::Active
        {
            out.seats += 1;
        }
        if issues.is_empty()
            && let Some(Row { credential: Credential::Plain(p), .. }) = row
        {
            out.passwords.push((out.rows, p));
        }
        pending.push(Pending { pos, issues, claims });
        if pending.len() >= BATCH {
            flush(&mut conn, account, &mut pending, &mut out.bad).await?;
        }
        bar.set_position(read.load(Ordering::Relaxed));
        bar.set_message(format!("{} rows", out.rows));
    }
    flush(&mut conn, account, &mut pending, &mut out.bad).await?;
    bar.finish_and_clear();
    Ok(out)
}

/// Hashes the passwords on a bounded number of blocking threads (argon2id takes ~50 ms each).
async fn hash_passwords(passwords: Vec<(u64, SecretString)>) -> Result<HashMap<u64, String>> {
    let bar = super::progress(passwords.len() as u64, "hashing   {wide_bar} {pos}/{len} passwords, {eta} left");
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let hashes = futures::stream::iter(passwords)
        .map(|(row, pw)| async move { password::hash(pw).await.map(|h| (row, h)) })
        .buffer_unordered(workers)
        .inspect_ok(|_| bar.inc(1))
        .try_collect()
        .await?;
    bar.finish_and_clear();
    Ok(hashes)
}

fn changed() -> Error {
    Error::BadRequest("the file changed while it was being imported; nothing was imported".into())
}

async fn write_batch(
    conn: &mut Conn,
    account: &AccountRecord,
    actor: &Actor,
    batch: &mut Vec<(Row, Option<String>)>,
    now: i64,
) -> Result<()> {
    let new: Vec<NewUser<'_>> = batch
        .iter()
        .map(|(r, hash)| NewUser {
            fields: &r.fields,
            password_hash: hash.as_deref(),
            must_change_password: r.must_change_password,
        })
        .collect();
    let ids = batch::insert_users(conn, account.id, &new, now).await?;
    for link in Link::ALL {
        let pairs: Vec<(i64, i64)> = ids
            .iter()
            .zip(batch.iter())
            .flat_map(|(id, (r, _))| {
                r.links.iter().filter(|(l, _)| *l == link).flat_map(|(_, v)| v.iter().map(|(t, _)| (id.0, *t)))
            })
            .collect();
        batch::insert_links(conn, link, &pairs).await?;
    }
    let permissions: Vec<_> =
        ids.iter().zip(batch.iter()).flat_map(|(id, (r, _))| r.permissions.iter().map(|p| (*id, p.as_str()))).collect();
    batch::insert_permissions(conn, &permissions).await?;
    for (id, (r, hash)) in ids.iter().zip(batch.iter()) {
        let f = &r.fields;
        let mut changes = Changes::new();
        changes.set("login", f.login.as_str()).set("status", f.status.as_str());
        let optional = [
            ("email", f.email.as_ref().map(|v| v.as_str())),
            ("first_name", f.first_name.as_ref().map(|v| v.as_str())),
            ("last_name", f.last_name.as_ref().map(|v| v.as_str())),
            ("extension", f.extension.as_ref().map(|v| v.as_str())),
            ("external_id", f.external_id.as_ref().map(|v| v.as_str())),
        ];
        for (name, value) in optional.into_iter().filter_map(|(n, v)| v.map(|v| (n, v))) {
            changes.set(name, value);
        }
        for (link, refs) in r.links.iter().filter(|(_, v)| !v.is_empty()) {
            changes.set(link.field(), refs.iter().map(|(_, n)| n).collect::<Vec<_>>());
        }
        if !r.permissions.is_empty() {
            changes.set("permissions", &r.permissions);
        }
        changes.set("password", if hash.is_some() { "set" } else { "none" });
        activity::service::record(conn, actor, "user.created", Target::user(*id, f.login.as_str()), &changes).await?;
        if f.status == UserStatus::Disabled {
            // R18: the activation log shows how they came to be deactivated.
            let how =
                Activation::new(ActivationChange::Deactivated, ActivationCause::Import, Timestamp::from_ms(now), None);
            crate::activity::activation::record(conn, actor, *id, f.login.as_str(), how).await?;
        }
    }
    batch.clear();
    Ok(())
}

async fn write_file(
    db: &Store,
    account: &AccountRecord,
    acting: Option<&Principal>,
    opts: &ImportOptions,
    checked: &Checked,
    mut hashes: HashMap<u64, String>,
) -> Result<u64> {
    let actor = match acting {
        Some(p) => p.actor.clone(),
        None => Actor::system(account.id, "import"),
    };
    let bar = super::progress(checked.rows, "importing {wide_bar} {pos}/{len} users, {eta} left");
    let now = now_ms();
    let mut tx = db.begin().await?;
    crate::users::seats::make_room(tx.conn(), account.id, checked.seats).await?;
    let mut rx = rows::spawn_reader(opts.file.clone(), opts.format, Arc::new(AtomicU64::new(0)));
    let mut names = checked.names.clone();
    let mut batch = Vec::with_capacity(BATCH);
    let (mut n, mut with_password) = (0, 0);
    while let Some(item) = rx.recv().await {
        let raw = item.map_err(|_| changed())?;
        n += 1;
        let mut issues = Issues::new();
        // Names were all found in the first pass, so this asks the database nothing.
        let row = check_row(tx.conn(), account, acting, &mut names, raw, &mut issues).await?.1.ok_or_else(changed)?;
        let hash = match &row.credential {
            Credential::None => None,
            Credential::Plain(_) => Some(hashes.remove(&n).ok_or_else(changed)?),
            Credential::Hash(h) => Some(h.clone()),
        };
        with_password += u64::from(hash.is_some());
        batch.push((row, hash));
        if batch.len() == BATCH {
            write_batch(tx.conn(), account, &actor, &mut batch, now).await?;
            bar.set_position(n);
        }
    }
    write_batch(tx.conn(), account, &actor, &mut batch, now).await?;
    if n != checked.rows {
        return Err(changed());
    }
    let mut changes = Changes::new();
    let file = opts.file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    changes
        .set("count", n)
        .set("file", file)
        .set("with_password", with_password)
        .set("without_password", n - with_password);
    let label = format!("{n} users");
    let target = Target { kind: "users", id: None, label: &label };
    activity::service::record(tx.conn(), &actor, "users.imported", target, &changes).await?;
    tx.commit().await?;
    bar.finish_and_clear();
    Ok(n)
}

/// Checks the whole file, then (unless it has bad rows or this is a dry run) imports it.
pub async fn import(db: &Store, opts: &ImportOptions) -> Result<ImportReport> {
    let account = {
        let mut conn = db.read().await?;
        accounts::by_slug(&mut conn, &opts.account).await?.ok_or(Error::NotFound("account"))?
    };
    let size = std::fs::metadata(&opts.file)
        .map_err(|e| Error::BadRequest(format!("cannot read {}: {e}", opts.file.display())))?
        .len();
    let acting = match &opts.acting_as {
        Some(login) => {
            let mut conn = db.read().await?;
            Some(principal::of_user(&mut conn, account.id, login, Permission::UsersCreate).await?)
        }
        None => None,
    };
    let mut checked = check_file(db, &account, acting.as_ref(), opts, size).await?;
    let without_password = checked.rows - checked.passwords.len() as u64;
    if !checked.bad.is_empty() {
        checked.bad.sort_by_key(|b| b.pos);
        return Ok(ImportReport { rows: checked.rows, bad: checked.bad, imported: 0, without_password });
    }
    // R20, told before any password is hashed; checked again under lock as the rows are written.
    {
        let mut conn = db.read().await?;
        let seats = crate::users::seats::count(&mut conn, account.id).await?;
        if let Some(total) = seats.total
            && seats.used + checked.seats > total
        {
            return Err(crate::users::seats::full(seats.used, total, checked.seats));
        }
    }
    if opts.dry_run {
        return Ok(ImportReport { rows: checked.rows, bad: Vec::new(), imported: 0, without_password });
    }
    let hashes = hash_passwords(std::mem::take(&mut checked.passwords)).await?;
    let imported = write_file(db, &account, acting.as_ref(), opts, &checked, hashes).await?;
    Ok(ImportReport { rows: checked.rows, bad: Vec::new(), imported, without_password })
}
