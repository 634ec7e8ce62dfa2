//! What makes a password acceptable (R10): the account's policy and the common-password list.
//! Pure functions only; hashing and sign-in are in `auth`.

pub mod api;
pub mod argon2_memory;
pub mod change;
pub mod hashing;
pub mod legacy_hash;
pub mod lockout;
pub mod reset;
pub mod common;
pub mod policy;

pub use common::is_common;
pub use crate::model::settings::PasswordPolicy;
pub use policy::{PolicyError, Refusal};
