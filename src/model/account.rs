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
