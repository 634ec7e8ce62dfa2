//! Call settings (R38): the three telephony catalogs (dial rule sets, music on hold, intercept
//! groups), the account's defaults and users' own values.

use sqlx::Row;

use super::sql::Sql;
use super::{Conn, Engine};
use crate::ids::{AccountId, UserId};
use crate::model::Flag;

/// One of the telephony catalogs; they share one shape (a dial rule set also has rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallCatalog {
    DialRules,
    MusicOnHold,
    InterceptGroups,
}

impl CallCatalog {
    pub fn table(self) -> &'static str {
        match self {
            CallCatalog::DialRules => "dial_rule_sets",
            CallCatalog::MusicOnHold => "music_on_hold",
            CallCatalog::InterceptGroups => "intercept_groups",
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CatalogRecord {
    pub id: i64,
    pub name: String,
    pub name_key: String,
    pub description: String,
    pub rules: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

fn select(kind: CallCatalog) -> String {
    format!(
        "SELECT t.id, t.name, t.name_key, t.description, t.rules, t.created_at, t.updated_at, t.version FROM {} t",
        kind.table()
    )
}

pub async fn page(
    conn: &mut Conn,
    kind: CallCatalog,
    account: AccountId,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<CatalogRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{} WHERE t.account_id = $1 AND ($2 IS NULL OR t.name_key > $2) ORDER BY t.name_key LIMIT $3",
        select(kind)
    ))
    .bind(account.0)
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
}

pub async fn get(
    conn: &mut Conn,
    kind: CallCatalog,
    account: AccountId,
    id: i64,
) -> Result<Option<CatalogRecord>, sqlx::Error> {
    sqlx::query_as(&format!("{} WHERE t.account_id = $1 AND t.id = $2", select(kind)))
        .bind(account.0)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
}

/// `(id, name)` of those of `ids` in the account.
pub async fn names(
    conn: &mut Conn,
    kind: CallCatalog,
    account: AccountId,
    ids: &[i64],
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(format!("SELECT id, name FROM {} WHERE account_id = ", kind.table()));
    sql.bind(account.0).push(" AND id IN (").bind_list(ids).push(") ORDER BY name_key");
    sql.query().fetch_all(&mut *conn).await?.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

pub async fn insert(
    conn: &mut Conn,
    kind: CallCatalog,
    account: AccountId,
    name: &str,
    description: &str,
    rules: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(&format!(
        "INSERT INTO {} (account_id, name, name_key, description, rules, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $6, 1) RETURNING id",
        kind.table()
    ))
    .bind(account.0)
    .bind(name)
    .bind(name.to_lowercase())
    .bind(description)
    .bind(rules)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    row.try_get(0)
}

#[allow(clippy::too_many_arguments)]
pub async fn update(
    conn: &mut Conn,
    kind: CallCatalog,
    account: AccountId,
    id: i64,
    name: &str,
    description: &str,
    rules: &str,
    expected_version: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(&format!(
        "UPDATE {} SET name = $1, name_key = $2, description = $3, rules = $4, updated_at = $5, \
         version = version + 1 WHERE account_id = $6 AND id = $7 AND version = $8",
        kind.table()
    ))
    .bind(name)
    .bind(name.to_lowercase())
    .bind(description)
    .bind(rules)
    .bind(now)
    .bind(account.0)
    .bind(id)
    .bind(expected_version)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete(conn: &mut Conn, kind: CallCatalog, account: AccountId, id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(&format!("DELETE FROM {} WHERE account_id = $1 AND id = $2", kind.table()))
        .bind(account.0)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Who uses a catalog item: whether the account's defaults do, and how many users' own values.
pub async fn uses(conn: &mut Conn, kind: CallCatalog, account: AccountId, id: i64) -> Result<(bool, i64), sqlx::Error> {
    let (column, users) = match kind {
        CallCatalog::DialRules => ("dial_rules_id", "SELECT COUNT(*) FROM user_call_settings WHERE dial_rules_id = $1"),
        CallCatalog::MusicOnHold => {
            ("music_on_hold_id", "SELECT COUNT(*) FROM user_call_settings WHERE music_on_hold_id = $1")
        }
        CallCatalog::InterceptGroups => {
            let row = sqlx::query(
                "SELECT COALESCE(SUM(CASE WHEN user_id IS NULL THEN 1 ELSE 0 END), 0), \
                 COUNT(DISTINCT user_id) FROM intercept_links WHERE group_id = $1",
            )
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
            let account_uses: i64 = row.try_get(0)?;
            return Ok((account_uses > 0, row.try_get(1)?));
        }
    };
    let account_uses =
        sqlx::query(&format!("SELECT 1 FROM account_call_settings WHERE account_id = $1 AND {column} = $2"))
            .bind(account.0)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .is_some();
    let count: i64 = sqlx::query(users).bind(id).fetch_one(&mut *conn).await?.try_get(0)?;
    Ok((account_uses, count))
}

/// The stored values of the account's defaults or of a user's own (every column optional: a
/// user's NULL is "the account's"; the account's are filled in by `AccountValues`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredValues {
    pub dial_rules: Option<i64>,
    pub max_calls: Option<i64>,
    pub music_on_hold: Option<i64>,
    pub call_waiting: Option<bool>,
    pub record_calls: Option<bool>,
    pub mask_number: Option<String>,
    pub caller_id: Option<String>,
    pub no_answer_timeout: Option<i64>,
    /// JSON list of extensions.
    pub blf: Option<String>,
    /// Users only: their intercept groups are their own.
    pub intercept_own: bool,
    pub version: i64,
}

const VALUES: &str = "dial_rules_id, max_calls, music_on_hold_id, call_waiting, record_calls, mask_number, \
     caller_id, no_answer_timeout, blf";

fn values_of(row: &sqlx::any::AnyRow, intercept_own: bool) -> Result<StoredValues, sqlx::Error> {
    values_at(row, "", intercept_own)
}

/// The values of columns named with `prefix` (a row that holds two sets of them).
fn values_at(row: &sqlx::any::AnyRow, prefix: &str, intercept_own: bool) -> Result<StoredValues, sqlx::Error> {
    let c = |name: &str| format!("{prefix}{name}");
    Ok(StoredValues {
        dial_rules: row.try_get(c("dial_rules_id").as_str())?,
        max_calls: row.try_get(c("max_calls").as_str())?,
        music_on_hold: row.try_get(c("music_on_hold_id").as_str())?,
        call_waiting: row.try_get::<Option<Flag>, _>(c("call_waiting").as_str())?.map(|f| f.0),
        record_calls: row.try_get::<Option<Flag>, _>(c("record_calls").as_str())?.map(|f| f.0),
        mask_number: row.try_get(c("mask_number").as_str())?,
        caller_id: row.try_get(c("caller_id").as_str())?,
        no_answer_timeout: row.try_get(c("no_answer_timeout").as_str())?,
        blf: row.try_get(c("blf").as_str())?,
        intercept_own,
        version: row.try_get(c("version").as_str())?,
    })
}

/// The names of the dial rule set and the music a set of values names, if they do.
#[derive(Debug, Clone, Default)]
pub struct CatalogNames {
    pub dial_rules: Option<String>,
    pub music_on_hold: Option<String>,
}

/// The account's defaults or a user's own values as stored (`None` when never stored), with the
/// names they refer to and their intercept groups as `(id, name, mode)` in name order.
#[derive(Debug, Clone, Default)]
pub struct SettingsPart {
    pub values: Option<(StoredValues, CatalogNames)>,
    pub intercepts: Vec<(i64, String, String)>,
}

/// What a user's effective settings are made of, read at once.
#[derive(Debug, Clone, Default)]
pub struct EffectiveParts {
    pub account: SettingsPart,
    pub user: SettingsPart,
}

/// A column holding, as a JSON array of `[id, name, mode, name_key]`, the intercept links that
/// `condition` (on `intercept_links l`) picks: the one function the engines spell differently.
fn intercepts_column(engine: Engine, condition: &str) -> String {
    let from = format!("FROM intercept_links l JOIN intercept_groups g ON g.id = l.group_id WHERE {condition}");
    match engine {
        Engine::Sqlite => format!("(SELECT json_group_array(json_array(g.id, g.name, l.mode, g.name_key)) {from})"),
        Engine::Postgres => {
            format!(
                "(SELECT json_agg(json_build_array(g.id, g.name, l.mode, g.name_key) ORDER BY g.name_key, l.mode)::text {from})"
            )
        }
    }
}

/// The links of an `intercepts_column`, in name order, then mode, as `ORDER BY` puts them:
/// PostgreSQL's aggregate orders them in its collation; SQLite's compares bytes (`BINARY`),
/// which is what sorting them here does.
fn intercepts_of(engine: Engine, json: Option<String>) -> Result<Vec<(i64, String, String)>, sqlx::Error> {
    let Some(json) = json else { return Ok(Vec::new()) };
    let mut links: Vec<(i64, String, String, String)> =
        serde_json::from_str(&json).map_err(|e| sqlx::Error::Decode(format!("intercept links: {e}").into()))?;
    if engine == Engine::Sqlite {
        links.sort_by(|a, b| (&a.3, &a.2).cmp(&(&b.3, &b.2)));
    }
    Ok(links.into_iter().map(|(id, name, mode, _)| (id, name, mode)).collect())
}

/// The parts of `user`'s effective settings in one statement (the PBX reads them per call: a
/// statement a part cost PostgreSQL up to eight round trips a read). `None` when there is no such user
/// in the account.
pub async fn effective_parts(
    conn: &mut Conn,
    account: AccountId,
    user: UserId,
) -> Result<Option<EffectiveParts>, sqlx::Error> {
    let engine = Engine::of(conn);
    let columns = |table: &str| -> String {
        VALUES.split(", ").map(|c| format!("{table}.{c} AS {table}_{c}")).collect::<Vec<_>>().join(", ")
    };
    let sql = format!(
        "SELECT {}, a.version AS a_version, {}, s.intercept_own AS s_intercept_own, s.version AS s_version, \
         ad.name AS a_dial_rules_name, am.name AS a_music_name, sd.name AS s_dial_rules_name, \
         sm.name AS s_music_name, {} AS a_intercepts, {} AS s_intercepts \
         FROM users u \
         LEFT JOIN account_call_settings a ON a.account_id = u.account_id \
         LEFT JOIN user_call_settings s ON s.user_id = u.id \
         LEFT JOIN dial_rule_sets ad ON ad.id = a.dial_rules_id AND ad.account_id = u.account_id \
         LEFT JOIN music_on_hold am ON am.id = a.music_on_hold_id AND am.account_id = u.account_id \
         LEFT JOIN dial_rule_sets sd ON sd.id = s.dial_rules_id AND sd.account_id = u.account_id \
         LEFT JOIN music_on_hold sm ON sm.id = s.music_on_hold_id AND sm.account_id = u.account_id \
         WHERE u.id = $1 AND u.account_id = $2",
        columns("a"),
        columns("s"),
        // The account's by the unique index's own terms, a user's by their id alone (see
        // `intercept_links`).
        intercepts_column(engine, "l.account_id = u.account_id AND COALESCE(l.user_id, 0) = 0"),
        intercepts_column(engine, "l.user_id = u.id"),
    );
    let Some(row) = sqlx::query(&sql).bind(user.0).bind(account.0).fetch_optional(&mut *conn).await? else {
        return Ok(None);
    };
    let names = |prefix: &str| -> Result<CatalogNames, sqlx::Error> {
        Ok(CatalogNames {
            dial_rules: row.try_get(format!("{prefix}_dial_rules_name").as_str())?,
            music_on_hold: row.try_get(format!("{prefix}_music_name").as_str())?,
        })
    };
    let account_values = match row.try_get::<Option<i64>, _>("a_version")? {
        Some(_) => Some((values_at(&row, "a_", false)?, names("a")?)),
        None => None,
    };
    let user_values = match row.try_get::<Option<i64>, _>("s_version")? {
        Some(_) => {
            let own: Flag = row.try_get("s_intercept_own")?;
            Some((values_at(&row, "s_", own.0)?, names("s")?))
        }
        None => None,
    };
    Ok(Some(EffectiveParts {
        account: SettingsPart {
            values: account_values,
            intercepts: intercepts_of(engine, row.try_get("a_intercepts")?)?,
        },
        user: SettingsPart { values: user_values, intercepts: intercepts_of(engine, row.try_get("s_intercepts")?)? },
    }))
}

/// The account's defaults as stored; `None` when it never set any.
pub async fn account_values(conn: &mut Conn, account: AccountId) -> Result<Option<StoredValues>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {VALUES}, version FROM account_call_settings WHERE account_id = $1"))
        .bind(account.0)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| values_of(&r, false)).transpose()
}

/// A user's own values; `None` when they have none.
pub async fn user_values(conn: &mut Conn, user: UserId) -> Result<Option<StoredValues>, sqlx::Error> {
    let row =
        sqlx::query(&format!("SELECT {VALUES}, intercept_own, version FROM user_call_settings WHERE user_id = $1"))
            .bind(user.0)
            .fetch_optional(&mut *conn)
            .await?;
    row.map(|r| {
        let own: Flag = r.try_get("intercept_own")?;
        values_of(&r, own.0)
    })
    .transpose()
}

fn bind_values<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    v: &'q StoredValues,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    query
        .bind(v.dial_rules)
        .bind(v.max_calls)
        .bind(v.music_on_hold)
        .bind(v.call_waiting)
        .bind(v.record_calls)
        .bind(v.mask_number.as_deref())
        .bind(v.caller_id.as_deref())
        .bind(v.no_answer_timeout)
        .bind(v.blf.as_deref())
}

/// Writes the account's defaults if their version is still `expected` (0: none stored yet).
pub async fn save_account_values(
    conn: &mut Conn,
    account: AccountId,
    v: &StoredValues,
    expected: i64,
) -> Result<bool, sqlx::Error> {
    if expected == 0 {
        let inserted = bind_values(
            sqlx::query(&format!(
                "INSERT INTO account_call_settings (account_id, {VALUES}, version) \
                 VALUES ($10, $1, $2, $3, $4, $5, $6, $7, $8, $9, 1) ON CONFLICT (account_id) DO NOTHING"
            )),
            v,
        )
        .bind(account.0)
        .execute(&mut *conn)
        .await?;
        return Ok(inserted.rows_affected() == 1);
    }
    let done = bind_values(
        sqlx::query(
            "UPDATE account_call_settings SET dial_rules_id = $1, max_calls = $2, music_on_hold_id = $3, \
             call_waiting = $4, record_calls = $5, mask_number = $6, caller_id = $7, no_answer_timeout = $8, \
             blf = $9, version = version + 1 WHERE account_id = $10 AND version = $11",
        ),
        v,
    )
    .bind(account.0)
    .bind(expected)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Writes a user's own values if their version is still `expected` (0: none stored yet).
pub async fn save_user_values(
    conn: &mut Conn,
    user: UserId,
    v: &StoredValues,
    expected: i64,
) -> Result<bool, sqlx::Error> {
    if expected == 0 {
        let inserted = bind_values(
            sqlx::query(&format!(
                "INSERT INTO user_call_settings (user_id, {VALUES}, intercept_own, version) \
                 VALUES ($10, $1, $2, $3, $4, $5, $6, $7, $8, $9, $11, 1) ON CONFLICT (user_id) DO NOTHING"
            )),
            v,
        )
        .bind(user.0)
        .bind(v.intercept_own)
        .execute(&mut *conn)
        .await?;
        return Ok(inserted.rows_affected() == 1);
    }
    let done = bind_values(
        sqlx::query(
            "UPDATE user_call_settings SET dial_rules_id = $1, max_calls = $2, music_on_hold_id = $3, \
             call_waiting = $4, record_calls = $5, mask_number = $6, caller_id = $7, no_answer_timeout = $8, \
             blf = $9, intercept_own = $11, version = version + 1 WHERE user_id = $10 AND version = $12",
        ),
        v,
    )
    .bind(user.0)
    .bind(v.intercept_own)
    .bind(expected)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The intercept groups of a user (`Some`) or of the account's defaults (`None`): `(group id,
/// name, mode)`, in name order.
pub async fn intercept_links(
    conn: &mut Conn,
    account: AccountId,
    user: Option<UserId>,
) -> Result<Vec<(i64, String, String)>, sqlx::Error> {
    // A user's by their id alone, the account's by the unique index's own terms: with the
    // account's id beside a user's, the planners walked every link of the account (a third of
    // 100,000 users).
    let mut sql = Sql::new(
        "SELECT g.id, g.name, l.mode FROM intercept_links l JOIN intercept_groups g ON g.id = l.group_id WHERE ",
    );
    match user {
        Some(u) => sql.push("l.user_id = ").bind(u.0),
        None => sql.push("l.account_id = ").bind(account.0).push(" AND COALESCE(l.user_id, 0) = 0"),
    };
    sql.push(" ORDER BY g.name_key, l.mode");
    sql.query().fetch_all(&mut *conn).await?.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
}

/// Replaces the intercept groups of a user (`Some`) or of the account's defaults (`None`).
pub async fn set_intercept_links(
    conn: &mut Conn,
    account: AccountId,
    user: Option<UserId>,
    links: &[(i64, &str)],
) -> Result<(), sqlx::Error> {
    let mut clear = Sql::new("DELETE FROM intercept_links WHERE ");
    match user {
        Some(u) => clear.push("user_id = ").bind(u.0),
        None => clear.push("account_id = ").bind(account.0).push(" AND COALESCE(user_id, 0) = 0"),
    };
    clear.query().execute(&mut *conn).await?;
    for (group, mode) in links {
        sqlx::query("INSERT INTO intercept_links (account_id, user_id, group_id, mode) VALUES ($1, $2, $3, $4)")
            .bind(account.0)
            .bind(user.map(|u| u.0))
            .bind(*group)
            .bind(*mode)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The extensions of `candidates` that no user of the account has.
pub async fn unknown_extensions(
    conn: &mut Conn,
    account: AccountId,
    candidates: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new("SELECT extension FROM users WHERE account_id = ");
    sql.bind(account.0).push(" AND extension IN (").bind_list(candidates).push(")");
    let found: Vec<String> =
        sql.query().fetch_all(&mut *conn).await?.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?;
    Ok(candidates.iter().filter(|c| !found.contains(c)).cloned().collect())
}

/// Sets `columns` of the call settings of every user `users_where` selects (a condition on
/// `users u`), creating their row first; `intercept_own` too when given. Returns how many users.
pub async fn set_many(
    conn: &mut Conn,
    users_where: &Sql,
    columns: &[(&'static str, super::sql::Arg)],
    intercept_own: Option<bool>,
) -> Result<u64, sqlx::Error> {
    let mut create = Sql::new("INSERT INTO user_call_settings (user_id) SELECT u.id FROM users u WHERE ");
    create.append(users_where).push(" ON CONFLICT (user_id) DO NOTHING");
    create.query().execute(&mut *conn).await?;
    let mut update = Sql::new("UPDATE user_call_settings SET version = version + 1");
    for (column, value) in columns {
        update.push(&format!(", {column} = ")).bind(value.clone());
    }
    if let Some(own) = intercept_own {
        update.push(", intercept_own = ").bind(own);
    }
    update.push(" WHERE user_id IN (SELECT u.id FROM users u WHERE ").append(users_where).push(")");
    Ok(update.query().execute(&mut *conn).await?.rows_affected())
}

/// Replaces the intercept groups of every user `users_where` selects.
pub async fn set_intercept_many(
    conn: &mut Conn,
    account: AccountId,
    users_where: &Sql,
    links: &[(i64, &str)],
) -> Result<(), sqlx::Error> {
    let mut clear = Sql::new("DELETE FROM intercept_links WHERE user_id IN (SELECT u.id FROM users u WHERE ");
    clear.append(users_where).push(")");
    clear.query().execute(&mut *conn).await?;
    for (group, mode) in links {
        let mut add = Sql::new("INSERT INTO intercept_links (account_id, user_id, group_id, mode) SELECT ");
        add.bind(account.0).push(", u.id, ").bind(*group).push(", ").bind(*mode).push(" FROM users u WHERE ");
        add.append(users_where);
        add.query().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Before intercept group `group` is deleted: moves the version of every user's and the
/// account's call settings that name it (their intercept groups change with it), and returns
/// those users, `(id, login)`, for their activity records.
pub async fn intercept_group_going(
    conn: &mut Conn,
    account: AccountId,
    group: i64,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query(
        "UPDATE user_call_settings SET version = version + 1 \
         WHERE user_id IN (SELECT user_id FROM intercept_links WHERE group_id = $1)",
    )
    .bind(group)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE account_call_settings SET version = version + 1 WHERE account_id = $1 \
         AND EXISTS (SELECT 1 FROM intercept_links WHERE group_id = $2 AND user_id IS NULL)",
    )
    .bind(account.0)
    .bind(group)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "SELECT DISTINCT u.id, u.login FROM intercept_links l JOIN users u ON u.id = l.user_id \
         WHERE l.group_id = $1 ORDER BY u.id",
    )
    .bind(group)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect()
}
