//! What makes a password acceptable (R10): the account's policy and the common-password list.
//! Pure functions only; hashing and sign-in are in `auth`.

pub mod change;
pub mod common;
pub mod policy;

pub use common::is_common;
pub use policy::{PasswordPolicy, PolicyError, Refusal};
