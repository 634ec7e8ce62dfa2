//! An account as stored.

use crate::ids::AccountId;
use crate::model::settings::SecuritySettings;

/// The account every installation starts with.
pub const DEFAULT_ACCOUNT: &str = "default";
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountRecord {
    pub id: AccountId,
    pub slug: String,
    pub name: String,
    #[sqlx(try_from = "crate::model::Flag")]
    pub enabled: bool,
    pub seat_limit: Option<i64>,
    /// Whether the account's billing.manage holders may change `seat_limit` (R20); else only a
    /// platform operator does.
    #[sqlx(try_from = "crate::model::Flag")]
    pub seats_self_service: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
    #[sqlx(try_from = "String")]
    pub security: SecuritySettings,
    /// How the console shows times to the account's users who chose none (R7).
    pub time_zone: Option<String>,
    pub date_format: Option<String>,
    pub time_format: Option<String>,
    /// The SIP domain the account's phones register in, and their digest realm (issue 14);
    /// unique across accounts, the slug until changed.
    pub sip_realm: String,
    /// Whether its people sign in with a password (those whose own setting follows the
    /// account); off, they sign in through its identity provider (issue 15).
    #[sqlx(try_from = "crate::model::Flag")]
    pub password_sign_in: bool,
}

impl AccountRecord {
    pub fn time_display(&self) -> crate::model::settings::TimeDisplay {
        crate::model::settings::TimeDisplay::from_stored(
            self.time_zone.as_deref(),
            self.date_format.as_deref(),
            self.time_format.as_deref(),
        )
    }
}

#[cfg(test)]
impl AccountRecord {
    /// An enabled account `acme` (realm `acme`) for unit tests.
    pub fn sample() -> AccountRecord {
        AccountRecord {
            id: AccountId(1),
            slug: "acme".into(),
            name: "Acme".into(),
            enabled: true,
            seat_limit: None,
            seats_self_service: false,
            created_at: 0,
            updated_at: 0,
            version: 1,
            security: SecuritySettings::default(),
            time_zone: None,
            date_format: None,
            time_format: None,
            sip_realm: "acme".into(),
            password_sign_in: true,
        }
    }
}
