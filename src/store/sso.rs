//! Single sign-on's rows: an account's identity providers, the identities linked to its users,
//! and the sign-ins sent to a provider and not back yet.

use sqlx::Row;

use super::Conn;
use crate::ids::{AccountId, IdentityProviderId, LinkedIdentityId, UserId};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProviderRecord {
    pub id: IdentityProviderId,
    pub account_id: AccountId,
    pub label: String,
    pub issuer: String,
    pub client_id: String,
    /// Sealed for the provider (`secrets::Owner::client_secret`).
    pub client_secret: String,
    /// Space-separated, `openid` first.
    pub scopes: String,
    /// A JSON array of domains (lower case); empty: every domain.
    pub allowed_domains: String,
    #[sqlx(try_from = "crate::model::Flag")]
    pub allow_unverified_email: bool,
    #[sqlx(try_from = "crate::model::Flag")]
    pub trust_second_factor: bool,
    #[sqlx(try_from = "crate::model::Flag")]
    pub create_users: bool,
    /// JSON arrays of role and desk ids given to users created at their first sign-in.
    pub new_user_roles: String,
    pub new_user_desks: String,
    #[sqlx(try_from = "crate::model::Flag")]
    pub enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

/// What is written for a provider; the secret already sealed.
pub struct ProviderFields<'a> {
    pub label: &'a str,
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub scopes: &'a str,
    pub allowed_domains: &'a str,
    pub allow_unverified_email: bool,
    pub trust_second_factor: bool,
    pub create_users: bool,
    pub new_user_roles: &'a str,
    pub new_user_desks: &'a str,
    pub enabled: bool,
}

const PROVIDER: &str = "SELECT id, account_id, label, issuer, client_id, client_secret, scopes, allowed_domains, \
     allow_unverified_email, trust_second_factor, create_users, new_user_roles, new_user_desks, enabled, \
     created_at, updated_at, version FROM identity_providers";

/// The account's providers, by label.
pub async fn providers(conn: &mut Conn, account: AccountId) -> Result<Vec<ProviderRecord>, sqlx::Error> {
    sqlx::query_as(&format!("{PROVIDER} WHERE account_id = $1 ORDER BY label_key, id"))
        .bind(account.0)
        .fetch_all(&mut *conn)
        .await
}

pub async fn provider(
    conn: &mut Conn,
    account: AccountId,
    id: IdentityProviderId,
) -> Result<Option<ProviderRecord>, sqlx::Error> {
    sqlx::query_as(&format!("{PROVIDER} WHERE account_id = $1 AND id = $2"))
        .bind(account.0)
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await
}

/// A new provider's id, taken before it is written: its secret is sealed for that id.
pub async fn insert_provider(
    conn: &mut Conn,
    account: AccountId,
    f: &ProviderFields<'_>,
    now: i64,
) -> Result<IdentityProviderId, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO identity_providers (account_id, label, label_key, issuer, client_id, client_secret, scopes, \
         allowed_domains, allow_unverified_email, trust_second_factor, create_users, new_user_roles, new_user_desks, \
         enabled, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, 1) RETURNING id",
    )
    .bind(account.0)
    .bind(f.label)
    .bind(f.label.to_lowercase())
    .bind(f.issuer)
    .bind(f.client_id)
    .bind(f.client_secret)
    .bind(f.scopes)
    .bind(f.allowed_domains)
    .bind(f.allow_unverified_email)
    .bind(f.trust_second_factor)
    .bind(f.create_users)
    .bind(f.new_user_roles)
    .bind(f.new_user_desks)
    .bind(f.enabled)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(IdentityProviderId(row.try_get(0)?))
}

/// Stores a new provider's sealed secret (sealed for its id, known once the row is written).
pub async fn set_client_secret(conn: &mut Conn, id: IdentityProviderId, sealed: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE identity_providers SET client_secret = $1 WHERE id = $2")
        .bind(sealed)
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Writes a provider whole if it is still at `expected_version`; whether it was.
pub async fn update_provider(
    conn: &mut Conn,
    account: AccountId,
    id: IdentityProviderId,
    f: &ProviderFields<'_>,
    expected_version: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE identity_providers SET label = $1, label_key = $2, issuer = $3, client_id = $4, client_secret = $5, \
         scopes = $6, allowed_domains = $7, allow_unverified_email = $8, trust_second_factor = $9, create_users = $10, \
         new_user_roles = $11, new_user_desks = $12, enabled = $13, updated_at = $14, version = version + 1 \
         WHERE account_id = $15 AND id = $16 AND version = $17",
    )
    .bind(f.label)
    .bind(f.label.to_lowercase())
    .bind(f.issuer)
    .bind(f.client_id)
    .bind(f.client_secret)
    .bind(f.scopes)
    .bind(f.allowed_domains)
    .bind(f.allow_unverified_email)
    .bind(f.trust_second_factor)
    .bind(f.create_users)
    .bind(f.new_user_roles)
    .bind(f.new_user_desks)
    .bind(f.enabled)
    .bind(now)
    .bind(account.0)
    .bind(id.0)
    .bind(expected_version)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a provider, its links and its sign-ins under way; how many links went with it.
pub async fn delete_provider(conn: &mut Conn, account: AccountId, id: IdentityProviderId) -> Result<u64, sqlx::Error> {
    let links = sqlx::query("DELETE FROM linked_identities WHERE account_id = $1 AND provider_id = $2")
        .bind(account.0)
        .bind(id.0)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    sqlx::query("DELETE FROM sso_sign_ins WHERE account_id = $1 AND provider_id = $2")
        .bind(account.0)
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM identity_providers WHERE account_id = $1 AND id = $2")
        .bind(account.0)
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    Ok(links)
}

/// How many users one provider links.
pub async fn link_count(conn: &mut Conn, account: AccountId, provider: IdentityProviderId) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM linked_identities WHERE account_id = $1 AND provider_id = $2")
        .bind(account.0)
        .bind(provider.0)
        .fetch_one(&mut *conn)
        .await
}

/// How many users each provider links (for the list).
pub async fn link_counts(conn: &mut Conn, account: AccountId) -> Result<Vec<(IdentityProviderId, i64)>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT provider_id, COUNT(*) FROM linked_identities WHERE account_id = $1 GROUP BY provider_id")
            .bind(account.0)
            .fetch_all(&mut *conn)
            .await?;
    rows.iter().map(|r| Ok((IdentityProviderId(r.try_get(0)?), r.try_get(1)?))).collect()
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkRecord {
    pub id: LinkedIdentityId,
    pub user_id: UserId,
    pub provider_id: IdentityProviderId,
    /// The provider's label (its row may have been renamed since).
    pub provider_label: String,
    pub issuer: String,
    pub subject: String,
    /// The email the provider gave when the link was made.
    pub email: Option<String>,
    pub linked_at: i64,
    pub last_used_at: Option<i64>,
}

const LINK: &str = "SELECT l.id, l.user_id, l.provider_id, p.label AS provider_label, l.issuer, l.subject, l.email, \
     l.linked_at, l.last_used_at FROM linked_identities l JOIN identity_providers p ON p.id = l.provider_id";

/// The user linked to a provider's subject in the account, if any.
pub async fn link_of_subject(
    conn: &mut Conn,
    account: AccountId,
    issuer: &str,
    subject: &str,
) -> Result<Option<LinkRecord>, sqlx::Error> {
    sqlx::query_as(&format!("{LINK} WHERE l.account_id = $1 AND l.issuer = $2 AND l.subject = $3"))
        .bind(account.0)
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&mut *conn)
        .await
}

pub async fn links_of_user(conn: &mut Conn, account: AccountId, user: UserId) -> Result<Vec<LinkRecord>, sqlx::Error> {
    sqlx::query_as(&format!("{LINK} WHERE l.account_id = $1 AND l.user_id = $2 ORDER BY l.linked_at, l.id"))
        .bind(account.0)
        .bind(user.0)
        .fetch_all(&mut *conn)
        .await
}

pub struct NewLink<'a> {
    pub account: AccountId,
    pub user: UserId,
    pub provider: IdentityProviderId,
    pub issuer: &'a str,
    pub subject: &'a str,
    pub email: Option<&'a str>,
    pub now: i64,
}

pub async fn insert_link(conn: &mut Conn, l: &NewLink<'_>) -> Result<LinkedIdentityId, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO linked_identities (account_id, user_id, provider_id, issuer, subject, email, linked_at, last_used_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(l.account.0)
    .bind(l.user.0)
    .bind(l.provider.0)
    .bind(l.issuer)
    .bind(l.subject)
    .bind(l.email)
    .bind(l.now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(LinkedIdentityId(row.try_get(0)?))
}

pub async fn touch_link(conn: &mut Conn, id: LinkedIdentityId, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE linked_identities SET last_used_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Removes one of a user's links; the removed link, if it was there.
pub async fn delete_link(
    conn: &mut Conn,
    account: AccountId,
    user: UserId,
    id: LinkedIdentityId,
) -> Result<Option<LinkRecord>, sqlx::Error> {
    let found: Option<LinkRecord> =
        sqlx::query_as(&format!("{LINK} WHERE l.account_id = $1 AND l.user_id = $2 AND l.id = $3"))
            .bind(account.0)
            .bind(user.0)
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await?;
    if found.is_some() {
        sqlx::query("DELETE FROM linked_identities WHERE id = $1").bind(id.0).execute(&mut *conn).await?;
    }
    Ok(found)
}

/// A sign-in sent to a provider.
pub struct NewSsoSignIn<'a> {
    pub state_hash: &'a str,
    pub account: AccountId,
    pub provider: IdentityProviderId,
    pub browser_hash: &'a str,
    pub nonce: &'a str,
    pub pkce_verifier: &'a str,
    /// R33: the sign-in ends the user's other session.
    pub take_over: bool,
    pub now: i64,
    pub expires_at: i64,
}

pub async fn insert_sign_in(conn: &mut Conn, s: &NewSsoSignIn<'_>) -> Result<(), sqlx::Error> {
    // Sign-ins never finished are cleared as new ones begin.
    sqlx::query("DELETE FROM sso_sign_ins WHERE expires_at < $1").bind(s.now).execute(&mut *conn).await?;
    sqlx::query(
        "INSERT INTO sso_sign_ins (state_hash, account_id, provider_id, browser_hash, nonce, pkce_verifier, take_over, \
         created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(s.state_hash)
    .bind(s.account.0)
    .bind(s.provider.0)
    .bind(s.browser_hash)
    .bind(s.nonce)
    .bind(s.pkce_verifier)
    .bind(s.take_over)
    .bind(s.now)
    .bind(s.expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SsoSignInRecord {
    pub account_id: AccountId,
    pub provider_id: IdentityProviderId,
    pub browser_hash: String,
    pub nonce: String,
    pub pkce_verifier: String,
    #[sqlx(try_from = "crate::model::Flag")]
    pub take_over: bool,
    pub expires_at: i64,
}

/// Takes a sign-in by its state: found and deleted in one statement, so that it serves once
/// even when two requests race. An expired one is taken too (and refused by the caller).
pub async fn take_sign_in(conn: &mut Conn, state_hash: &str) -> Result<Option<SsoSignInRecord>, sqlx::Error> {
    sqlx::query_as(
        "DELETE FROM sso_sign_ins WHERE state_hash = $1 \
         RETURNING account_id, provider_id, browser_hash, nonce, pkce_verifier, take_over, expires_at",
    )
    .bind(state_hash)
    .fetch_optional(&mut *conn)
    .await
}
