//! Plain records: users, accounts and their settings, session kinds, permissions and scopes,
//! the caller behind a request, what the activity log records. This module depends only on
//! `clock`, `domain` and `ids`; `store` reads and writes these, the capabilities decide with them.
//!
//! A state stored as text (a user's status, a session's kind, a sign-in's step…) is an enum
//! here, read from the database once: `stored_as_text!` gives it `TryFrom<String>`, the one
//! parse, and a sqlx `Decode` for the Any driver that calls it, so that a record's field of the
//! enum's type (or an `Option` of it) is decoded with the row and a value Roster does not know
//! is a decode error, never a silent default. It is written back with `as_str()`.

/// A state stored as text: `TryFrom<String>` (by `as_str()` over `ALL`) and sqlx's `Type` and
/// `Decode` for the Any driver through it. The type needs `ALL` and `as_str()`.
macro_rules! stored_as_text {
    ($ty:ty, $what:literal) => {
        impl TryFrom<String> for $ty {
            type Error = $crate::model::UnknownValue;

            fn try_from(text: String) -> Result<Self, Self::Error> {
                <$ty>::ALL
                    .into_iter()
                    .find(|v| v.as_str() == text)
                    .ok_or($crate::model::UnknownValue { what: $what, value: text })
            }
        }

        impl sqlx::Type<sqlx::Any> for $ty {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <String as sqlx::Type<sqlx::Any>>::type_info()
            }

            fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
                <String as sqlx::Type<sqlx::Any>>::compatible(ty)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Any> for $ty {
            fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                Ok(<$ty>::try_from(<String as sqlx::Decode<sqlx::Any>>::decode(value)?)?)
            }
        }
    };
}
pub(crate) use stored_as_text;

pub mod access_policy;
pub mod account;
pub mod activity;
pub mod caller;
pub mod invitation;
pub mod lifecycle;
pub mod mail;
pub mod password_reset;
pub mod permission;
pub mod scope;
pub mod session_kind;
pub mod settings;
pub mod sign_in_step;
pub mod user;
pub mod user_filter;

pub use account::AccountRecord;
pub use caller::{Caller, ClientInfo};
pub use permission::{BuiltinRole, Permission, RequiredPermission, perm};
pub use scope::Scope;
pub use session_kind::{CallerKind, SessionKind};
pub use sign_in_step::{SignInMethod, SignInStep};

use sqlx::Any;

/// A stored state that is none of the values Roster knows (a newer version wrote it, or a hand
/// edit): reading its row fails rather than guess.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
}

impl std::fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} is not a known {}", self.value, self.what)
    }
}

impl std::error::Error for UnknownValue {}

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
    /// By the value's kind: trying `bool` first and falling back on the error cost an error
    /// (a formatted message) for every flag of every SQLite row — 5 % of a user-list page.
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        use sqlx::ValueRef;
        match value.type_info().kind() {
            sqlx::any::AnyTypeInfoKind::Bool => Ok(Flag(<bool as sqlx::Decode<Any>>::decode(value)?)),
            _ => Ok(Flag(<i64 as sqlx::Decode<Any>>::decode(value)? != 0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Debug;

    use super::mail::MailState;
    use super::password_reset::ResetLinkEnd;
    use super::user::{TwoFactorMethod, TwoFactorMode, UserStatus};
    use super::{Scope, SessionKind, SignInStep, UnknownValue};

    /// Every value reads back from its stored text, and other text is an error naming it.
    fn round_trips<T>(all: &[T], as_str: fn(T) -> &'static str)
    where
        T: TryFrom<String, Error = UnknownValue> + Copy + PartialEq + Debug,
    {
        for &v in all {
            assert_eq!(T::try_from(as_str(v).to_string()), Ok(v));
        }
        let err = T::try_from("Active ".to_string()).expect_err("not a stored value");
        assert_eq!(err.value, "Active ");
        assert!(err.to_string().contains("\"Active \" is not a known"), "{err}");
    }

    /// The API shows these by serde; the database stores them by `as_str`: the same names.
    fn serde_names_are_stored_names<T: serde::Serialize + Copy>(all: &[T], as_str: fn(T) -> &'static str) {
        for &v in all {
            assert_eq!(serde_json::to_value(v).expect("serialises"), serde_json::json!(as_str(v)));
        }
    }

    #[test]
    fn stored_states_round_trip_and_reject_unknown_text() {
        round_trips(&UserStatus::ALL, UserStatus::as_str);
        round_trips(&TwoFactorMethod::ALL, TwoFactorMethod::as_str);
        round_trips(&TwoFactorMode::ALL, TwoFactorMode::as_str);
        round_trips(&SessionKind::ALL, SessionKind::as_str);
        round_trips(&SignInStep::ALL, SignInStep::as_str);
        round_trips(&MailState::ALL, MailState::as_str);
        round_trips(&Scope::ALL, Scope::as_str);
        round_trips(&ResetLinkEnd::ALL, ResetLinkEnd::as_str);
        serde_names_are_stored_names(&UserStatus::ALL, UserStatus::as_str);
        serde_names_are_stored_names(&TwoFactorMethod::ALL, TwoFactorMethod::as_str);
        serde_names_are_stored_names(&TwoFactorMode::ALL, TwoFactorMode::as_str);
        serde_names_are_stored_names(&Scope::ALL, Scope::as_str);
    }
}
