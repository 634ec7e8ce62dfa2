//! Plain records: users, accounts and their settings, session kinds, permissions and scopes,
//! the caller behind a request, what the activity log records. This module depends only on
//! `domain` and `ids`; `store` reads and writes these, the capabilities decide with them.

pub mod access_policy;
pub mod account;
pub mod activity;
pub mod caller;
pub mod permission;
pub mod scope;
pub mod session_kind;
pub mod settings;
pub mod user;
pub mod user_filter;

pub use account::AccountRecord;
pub use caller::{Caller, ClientInfo};
pub use permission::{BuiltinRole, Permission, RequiredPermission, perm};
pub use scope::Scope;
pub use session_kind::SessionKind;

use sqlx::Any;

/// A boolean column: BOOLEAN in PostgreSQL, INTEGER 0/1 in SQLite. Read records with
/// `#[sqlx(try_from = "Flag")]` on `bool` fields.
#[derive(Debug, Clone, Copy)]
pub struct Flag(pub bool);

impl From<Flag> for bool {
    fn from(f: Flag) -> bool {
        f.0
    }
}

impl sqlx::Type<Any> for Flag {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <bool as sqlx::Type<Any>>::type_info()
    }

    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <bool as sqlx::Type<Any>>::compatible(ty) || <i64 as sqlx::Type<Any>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, Any> for Flag {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        match <bool as sqlx::Decode<Any>>::decode(value.clone()) {
            Ok(b) => Ok(Flag(b)),
            Err(_) => Ok(Flag(<i64 as sqlx::Decode<Any>>::decode(value)? != 0)),
        }
    }
}
