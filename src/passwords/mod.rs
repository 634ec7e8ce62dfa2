//! Passwords (R9, R10, R23, R24): what makes one acceptable (the account's policy, the
//! common-password list, history), hashing them (argon2id off the async threads, and the
//! legacy hashes imports bring), changing them, forgotten-password links (the `api` routes), and
//! the lockout that counts wrong guesses. The sign-in steps that use them are `sign_in`'s.

pub mod api;
pub mod argon2_memory;
pub mod change;
pub mod common;
pub mod hashing;
pub mod legacy_hash;
pub mod lockout;
pub mod policy;
pub mod reset;

pub use crate::model::settings::PasswordPolicy;
pub use common::is_common;
pub use policy::{PolicyError, Refusal};
