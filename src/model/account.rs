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
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
    #[sqlx(try_from = "String")]
    pub security: SecuritySettings,
}
